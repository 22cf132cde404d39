"""Reads a quickstart DAG run recorded by oxflow with the real MLflow client and checks what a
user of MLflow would look at. Exit status 1 on any mismatch.

usage: check_dag.py <tracking uri> <dag run id>
"""

import json
import sys
import tempfile

from mlflow.tracking import MlflowClient

uri, dag_run_id = sys.argv[1], sys.argv[2]
client = MlflowClient(tracking_uri=uri)
failures = []
checks = 0


def check(what, got, want):
    global checks
    checks += 1
    if got != want:
        failures.append(f"{what}: got {got!r}, want {want!r}")


exp = client.get_experiment_by_name("quickstart")
check("experiment named after the DAG", exp is not None, True)
eid = exp.experiment_id

parent = client.get_run(dag_run_id)
check("dag run status", parent.info.status, "FINISHED")
check("dag run tag oxflow.dag", parent.data.tags.get("oxflow.dag"), "quickstart")
check("dag run tag oxflow.dag_run_id", parent.data.tags.get("oxflow.dag_run_id"), dag_run_id)
check("dag run state", parent.data.tags.get("oxflow.state"), "success")
check("dag run params", parent.data.params, {"rows": "500", "noise": "0.5", "test_fraction": "0.2"})
check("dag run is not nested", "mlflow.parentRunId" in parent.data.tags, False)

children = client.search_runs(
    [eid],
    filter_string=f"tags.mlflow.parentRunId = '{dag_run_id}'",
    order_by=["attributes.start_time ASC"],
    max_results=100,
)
tasks = {r.data.tags.get("oxflow.task_id"): r for r in children}
expected_tasks = {
    "generate", "fetch_labels", "split", "fit_linear", "fit_mean", "fit_median",
    "pick_best", "report", "archive",
}
check("task runs", set(tasks), expected_tasks)
for name, r in tasks.items():
    check(f"{name} status", r.info.status, "FINISHED")
    check(f"{name} state", r.data.tags.get("oxflow.state"), "success")
    check(f"{name} run name", r.info.run_name, name)
check("flaky task took three tries", tasks["fetch_labels"].data.tags.get("oxflow.try_number"), "3")
# A task that failed, then succeeded, loses the error of its failed tries (Airflow shows none).
check("a task that succeeded on retry has no stale error", "oxflow.error" in tasks["fetch_labels"].data.tags, False)
check("a task's logged metric", "train_rmse" in tasks["fit_linear"].data.metrics, True)
check(
    "fan-in logged three metrics",
    sorted(k for k in tasks["pick_best"].data.metrics),
    ["test_rmse_linear", "test_rmse_mean", "test_rmse_median"],
)

# Task outputs are artifacts the MLflow client lists and downloads.
arts = [a.path for a in client.list_artifacts(tasks["report"].info.run_id, "xcom")]
check("report output artifact", arts, ["xcom/return_value.json"])
with tempfile.TemporaryDirectory() as d:
    path = client.download_artifacts(tasks["report"].info.run_id, "xcom/return_value.json", d)
    summary = json.load(open(path))
check("report output content", summary.startswith("best model: linear"), True)

# Searching by task state across runs works with MLflow's grammar.
ok = client.search_runs([eid], filter_string="tags.`oxflow.state` = 'success' and tags.`oxflow.task_id` = 'split'")
check("search by task tags", len(ok) >= 1, True)

print(f"dag interop: {checks - len(failures)} passed, {len(failures)} failed")
for f in failures:
    print("  FAIL", f)
sys.exit(1 if failures else 0)
