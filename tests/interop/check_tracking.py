"""Reads a tracking store written by oxflow with the real MLflow client and compares it with
what oxflow says it wrote (expected.json). Exit status 1 on any mismatch.

usage: check_tracking.py <tracking uri> <expected.json> <label>
"""

import json
import math
import sys
import tempfile

from mlflow.tracking import MlflowClient

uri, expected_path, label = sys.argv[1], sys.argv[2], sys.argv[3]
expected = json.load(open(expected_path))
client = MlflowClient(tracking_uri=uri)
failures = []
checks = 0


def check(what, got, want):
    global checks
    checks += 1
    if got != want:
        failures.append(f"{what}: got {got!r}, want {want!r}")


exp = client.get_experiment_by_name(expected["experiment_name"])
check("experiment found", exp is not None, True)
names = sorted(e.name for e in client.search_experiments())
check("experiments", expected["experiment_name"] in names, True)
if uri.startswith("file:") or "://" not in uri:
    check("experiment id", exp.experiment_id, expected["experiment_id"])
check("experiment description", exp.tags.get("mlflow.note.content"), "written by oxflow")
eid = exp.experiment_id

runs = client.search_runs([eid], max_results=1000)
check("active run count", len(runs), expected["active_runs"])
by_name = {r.info.run_name: r for r in runs}

p = expected["parent"]
parent = client.get_run(p["run_id"])
check("parent status", parent.info.status, "FINISHED")
check("parent params", parent.data.params, p["params"])
for k, v in p["tags"].items():
    check(f"parent tag {k}", parent.data.tags.get(k), v)
m = parent.data.metrics
check("latest loss", m.get("loss"), 0.0625)
check("train/acc", m.get("train/acc"), 0.75)
check("nan metric is nan", math.isnan(m.get("nan_metric", 0.0)), True)
# The SQL store clamps infinities to the largest double (research/mlflow.md §3.10).
big = math.inf if label == "file" else 1.7976931348623157e308
check("inf metric", m.get("inf_metric"), big)
check("-inf metric", m.get("ninf_metric"), -big)
hist = client.get_metric_history(p["run_id"], "loss")
check("loss history", sorted([h.step, h.value] for h in hist), p["loss_history"])
hist = client.get_metric_history(p["run_id"], "train/acc")
check("history of a key with /", [h.value for h in hist], [0.75])

child = client.get_run(expected["child_id"])
check("child parent tag", child.data.tags.get("mlflow.parentRunId"), p["run_id"])
kids = client.search_runs([eid], filter_string=f"tags.mlflow.parentRunId = '{p['run_id']}'")
check("nested runs via search", [r.info.run_id for r in kids], [expected["child_id"]])

hits = client.search_runs(
    [eid],
    filter_string="metrics.acc > 0.5 and params.opt = 'adam'",
    order_by=["metrics.acc DESC"],
)
check("search_runs filter + order", [r.info.run_id for r in hits], expected["search_hits"])
# A run with no params, metrics or artifacts must still be a valid run directory for get_run.
failed = client.get_run(expected["failed_id"])
check("run without params or metrics", (failed.data.params, failed.data.metrics), ({}, {}))
hits = client.search_runs([eid], filter_string="attributes.status = 'FAILED'")
check("search by status", [r.info.run_id for r in hits], [expected["failed_id"]])

from mlflow.entities import ViewType

deleted = client.search_runs([eid], run_view_type=ViewType.DELETED_ONLY)
check("deleted runs", [r.info.run_id for r in deleted], [expected["deleted_id"]])

arts = sorted((a.path, a.is_dir) for a in client.list_artifacts(p["run_id"]))
check("artifact listing", arts, [("config.json", False), ("hello.txt", False), ("notes", True)])
check("run without artifacts", client.list_artifacts(expected["failed_id"]), [])
sub = [a.path for a in client.list_artifacts(p["run_id"], "notes")]
check("nested artifact listing", sub, ["notes/readme.txt"])
with tempfile.TemporaryDirectory() as d:
    for rel, content in p["artifacts"].items():
        local = client.download_artifacts(p["run_id"], rel, d)
        check(f"artifact {rel}", open(local).read(), content)
    local = client.download_artifacts(p["run_id"], "config.json", d)
    check("json artifact", json.load(open(local)), {"lr": 0.01, "layers": [64, 32]})

# Extra runs (RestStore check) are described under "rest" when present.
for r in expected.get("extra_runs", []):
    got = client.get_run(r["run_id"])
    check(f"{r['run_id']} params", got.data.params, r["params"])
    for k, v in r["metrics"].items():
        check(f"{r['run_id']} metric {k}", got.data.metrics.get(k), v)
    for k, v in r["tags"].items():
        check(f"{r['run_id']} tag {k}", got.data.tags.get(k), v)

for f in failures:
    print(f"[{label}] MISMATCH {f}")
print(f"[{label}] {checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
