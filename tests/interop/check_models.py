"""Reads models that examples/train_register.rs logged and registered, with the real MLflow
client, and checks what an MLflow user would look at. Exit status 1 on any mismatch.

usage: check_models.py <tracking uri> <number of versions expected> <champion version>
"""

import os
import sys
import tempfile

import mlflow
from mlflow.models.signature import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types.schema import ColSpec, Schema

uri, n_versions, champion = sys.argv[1], int(sys.argv[2]), sys.argv[3]
mlflow.set_tracking_uri(uri)
client = MlflowClient(tracking_uri=uri)
failures = []
checks = 0


def check(what, got, want):
    global checks
    checks += 1
    if got != want:
        failures.append(f"{what}: got {got!r}, want {want!r}")


expected = ModelSignature(
    inputs=Schema([ColSpec("double", "area"), ColSpec("long", "rooms"), ColSpec("double", "age (years)")]),
    outputs=Schema([ColSpec("double", "price")]),
)
info = mlflow.models.get_model_info("models:/house-prices@champion")
check("signature parsed back equal", info.signature, expected)
check("flavors", list(info.flavors), ["oxflow"])
check("flavor names the Rust type", info.flavors["oxflow"]["type_path"], "train_register::HousePrices")

versions = client.search_model_versions("name = 'house-prices'")
check("versions", sorted(int(v.version) for v in versions), list(range(1, n_versions + 1)))
mv = client.get_model_version_by_alias("house-prices", "champion")
check("champion version", str(mv.version), champion)
check("source is a LoggedModel", mv.source.startswith("models:/m-"), True)
model_id = mv.source.split("/")[-1]
check("info names the model", info.model_id, model_id)

lm = client.get_logged_model(model_id)
check("logged model status", str(lm.status), "READY")
check("logged model name", lm.name, "house_prices")
check("logged model run", lm.source_run_id, mv.run_id)
check("params copied from the run", sorted(lm.params), ["noise", "train_rows"])
check("metrics copied from the run", [(m.key, m.run_id) for m in lm.metrics], [("test_rmse", mv.run_id)])
check("mlflow.modelVersions tag", lm.tags.get("mlflow.modelVersions"),
      f'[{{"name": "house-prices", "version": {champion}}}]')
run = client.get_run(mv.run_id)
check("run metric", "test_rmse" in run.data.metrics, True)
outputs = run.outputs.model_outputs if run.outputs is not None else []
check("run output links the model", [o.model_id for o in outputs][-1:], [model_id])

dst = tempfile.mkdtemp()
local = mlflow.artifacts.download_artifacts("models:/house-prices@champion", dst_path=dst)
files = sorted(f for f in os.listdir(local) if f != "registered_model_meta")
check("artifacts downloaded by models:/ URI", files,
      ["MLmodel", "input_example.json", "model.json", "reference_profile.json", "serving_input_example.json"])
loaded = mlflow.models.Model.load(os.path.join(local, "MLmodel"))
check("downloaded MLmodel signature", loaded.signature, expected)
example = loaded.load_input_example(local)
check("input example columns", list(example.columns), ["area", "rooms", "age (years)"])

if failures:
    print("\n".join(failures))
    print(f"check_models: {len(failures)} of {checks} checks failed")
    sys.exit(1)
print(f"check_models: {checks} checks passed")
