"""Reads with MLflow's client the registry that examples/registry_interop.rs wrote.

usage: check_registry.py <tracking/registry URI> <expected.json>
"""
import json
import sys
import warnings

from mlflow.tracking import MlflowClient

warnings.filterwarnings("ignore", category=FutureWarning)

uri, expected_path = sys.argv[1], sys.argv[2]
exp = json.load(open(expected_path))
client = MlflowClient(tracking_uri=uri, registry_uri=uri)
name = exp["name"]
failures = []


def check(label, got, want):
    if got != want:
        failures.append(f"{label}: got {got!r}, want {want!r}")


m = client.get_registered_model(name)
check("description", m.description, "made by oxflow, twice")
check("model tags", m.tags, {"owner": "ml-team"})
check("aliases", dict(m.aliases), {"champion": "1", "challenger": "2"})
check(
    "latest versions",
    sorted((v.current_stage, int(v.version)) for v in m.latest_versions),
    [("Production", 1), ("Staging", 2)],
)
v1 = client.get_model_version(name, "1")
check("v1 stage", v1.current_stage, "Production")
check("v1 description", v1.description, "first")
check("v1 tags", v1.tags, {"validated": "yes"})
check("v1 source", v1.source, exp["source"])
check("v1 run", v1.run_id, exp["run_id"])
check("v1 status", v1.status, "READY")
v2 = client.get_model_version_by_alias(name, "challenger")
check("challenger", int(v2.version), 2)
check("v2 description", v2.description, "second")
check("v2 tags", v2.tags, {"kind": "candidate"})
found = client.search_model_versions(f"name = '{name}'")
check("versions", sorted(int(v.version) for v in found), [1, 2])
names = [rm.name for rm in client.search_registered_models()]
check("models", names, [name])
# And MLflow can go on where oxflow left off.
v3 = client.create_model_version(name, exp["source"], run_id=exp["run_id"])
check("next version", int(v3.version), 3)

if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"MLflow read registered model {name!r} with versions 1, 2 and added 3")
