"""Checks that `mlflow run` and `oxflow project run` record the same project run.

Usage: check_project.py TRACKING_URI EXPERIMENT PROJECT_DIR

The experiment holds one run made by `mlflow run` and one by `oxflow project run --file
mlproject` of the same MLproject entry point with the same -P values, and one run of the
oxflow.ron entry point. MLflow's client must see the same source tags and parameters on the
first two; then `mlflow.projects.run` reproduces oxflow's run from its recorded source
information alone.
"""
import sys

import mlflow
from mlflow.tracking import MlflowClient

uri, experiment, project_dir = sys.argv[1:4]
mlflow.set_tracking_uri(uri)
client = MlflowClient()
exp = client.get_experiment_by_name(experiment)
assert exp is not None, f"no experiment {experiment}"
runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])
ours = [r for r in runs if r.data.tags.get("oxflow.project.file") == "MLproject"]
theirs = [r for r in runs if "oxflow.project.file" not in r.data.tags]
ron = [r for r in runs if r.data.tags.get("oxflow.project.file") == "oxflow.ron"]
assert len(ours) == 1 and len(theirs) == 1 and len(ron) == 1, [r.data.tags for r in runs]
ours, theirs, ron = ours[0], theirs[0], ron[0]

SOURCE_TAGS = [
    "mlflow.source.type",
    "mlflow.source.name",
    "mlflow.source.git.commit",
    "mlflow.source.git.repoURL",
    "mlflow.source.git.branch",
    "mlflow.project.entryPoint",
    "mlflow.project.backend",
    "mlflow.user",
]
for key in SOURCE_TAGS:
    a, b = theirs.data.tags.get(key), ours.data.tags.get(key)
    assert a == b, f"{key}: mlflow run recorded {a!r}, oxflow {b!r}"
    print(f"same {key}: {a!r}")
assert theirs.data.tags["mlflow.source.type"] == "PROJECT"
assert theirs.data.tags["mlflow.source.git.commit"], "no commit recorded"
# MLflow sets mlflow.project.env only when it creates an environment; oxflow always names it.
assert ours.data.tags["mlflow.project.env"] == "local"
assert theirs.data.params == ours.data.params, (theirs.data.params, ours.data.params)
print(f"same params: {ours.data.params}")
# The Rust entry point logged into the run each runner created: same metrics, both finished.
for r in (theirs, ours, ron):
    assert r.info.status == "FINISHED", r.info
    assert "rmse" in r.data.metrics, r.data.metrics
assert theirs.data.metrics["rmse"] == ours.data.metrics["rmse"]
print(f"same rmse: {ours.data.metrics['rmse']}")
assert ron.data.tags["mlflow.source.type"] == "PROJECT"
assert ron.data.tags["mlflow.project.entryPoint"] == "main"
assert ron.data.params["alpha"] == "0.25", ron.data.params

# mlflow.projects reruns oxflow's run from what oxflow recorded.
tags = ours.data.tags
declared = {"alpha": ours.data.params["alpha"], "l1_ratio": ours.data.params["l1_ratio"]}
submitted = mlflow.projects.run(
    uri=tags["mlflow.source.name"],
    entry_point=tags["mlflow.project.entryPoint"],
    version=tags["mlflow.source.git.commit"],
    parameters=declared,
    env_manager="local",
    experiment_id=exp.experiment_id,
)
again = client.get_run(submitted.run_id)
assert again.info.status == "FINISHED", again.info
assert again.data.tags["mlflow.source.git.commit"] == tags["mlflow.source.git.commit"]
assert again.data.params == ours.data.params, (again.data.params, ours.data.params)
assert again.data.metrics["rmse"] == ours.data.metrics["rmse"]
print("mlflow.projects reran oxflow's run from its recorded source: same commit, params, rmse")
