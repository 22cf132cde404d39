#!/usr/bin/env bash
# Interop check: the real MLflow client (3.17.2) reads DAG runs recorded by oxflow: the DAG run as
# a run in the experiment named after the DAG, its nested task runs with their states, try
# numbers, metrics, params, tags and stored outputs. Each way a user records: (a) the default
# store with no flags (MLflow's SQLite schema in ./mlflow.db, artifacts in ./mlruns), read by a
# plain `mlflow ui` started in the same folder and by the client on the database itself, then
# `mlflow db upgrade` must change nothing; (b) a file store (`--tracking-uri <dir>`, MLflow 2.x
# teams); (c) sent to a real `mlflow server` (SQLite, loopback) with `--tracking-uri http://...`.
# Run from the repository root. Creates .ci/venv-mlflow on first use (pip, ~90 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib/mlflow.bash
WORK="$(mktemp -d /tmp/oxflow-dag-interop.XXXXXX)"
trap 'stop_server; rm -rf "$WORK"' EXIT

ensure_mlflow_venv

echo "== building the quickstart pipeline"
cargo build --quiet --example quickstart
QS="$ROOT/target/debug/examples/quickstart"
status=0

# run_quickstart <dir> [args...]: one run in <dir>; prints the DAG run id.
run_quickstart() {
    local dir=$1
    shift
    mkdir -p "$dir"
    (cd "$dir" && "$QS" "$@" run quickstart -P rows=500 >"$dir/run.log" 2>&1) || { cat "$dir/run.log" >&2; return 1; }
    sed -n 's/^dag `quickstart` run \([0-9a-f]*\): .*/\1/p' "$dir/run.log"
}

echo "== (a) a quickstart run in the default store, read by a plain \`mlflow ui\` in the same folder"
RUN_ID=$(run_quickstart "$WORK/default")
echo "   dag run $RUN_ID"
[ -f "$WORK/default/mlflow.db" ] || { echo "FAIL: no mlflow.db in the working directory"; status=1; }
grep -q "see it in MLflow's UI: mlflow ui\$" "$WORK/default/run.log" \
    || { echo "FAIL: the end-of-run line does not say \`mlflow ui\`"; tail -3 "$WORK/default/run.log"; status=1; }
if MLFLOW_COMMAND=ui MLFLOW_CWD="$WORK/default" start_server "$WORK/ui.log"; then
    (cd "$WORK/default" && "$PY" "$ROOT/tests/interop/check_dag.py" "$URL" "$RUN_ID") || status=1
    # The calls behind the UI's pages: the experiment list, the runs table, a chart, artifacts.
    "$PY" - "$URL" "$RUN_ID" <<'PYEOF' || status=1
import json, sys, urllib.request
url, run_id = sys.argv[1], sys.argv[2]
def call(method, path, body=None):
    req = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r) if r.headers.get_content_type() == "application/json" else r.read()
exps = call("POST", "/ajax-api/2.0/mlflow/experiments/search", {"max_results": 100})["experiments"]
exp = next(e for e in exps if e["name"] == "quickstart")
runs = call("POST", "/ajax-api/2.0/mlflow/runs/search", {"experiment_ids": [exp["experiment_id"]], "max_results": 100})["runs"]
assert any(r["info"]["run_id"] == run_id for r in runs), "the DAG run is not in the runs table"
children = [r for r in runs if any(t["key"] == "mlflow.parentRunId" and t["value"] == run_id for t in r["data"].get("tags", []))]
assert len(children) == 9, f"expected 9 task runs in the table, got {len(children)}"
with_metrics = [r for r in children if r["data"].get("metrics")]
assert with_metrics, "no task run shows metrics"
child, key = with_metrics[0], with_metrics[0]["data"]["metrics"][0]["key"]
hist = call("GET", f"/ajax-api/2.0/mlflow/metrics/get-history?run_id={child['info']['run_id']}&metric_key={key}")
assert hist["metrics"], "empty metric history"
stored = next(r for r in children if any(t["key"] == "oxflow.output_type" for t in r["data"].get("tags", [])))
files = call("GET", f"/ajax-api/2.0/mlflow/artifacts/list?run_uuid={stored['info']['run_id']}&path=xcom")
assert any(f["path"] == "xcom/return_value.json" for f in files.get("files", [])), files
body = call("GET", f"/get-artifact?path=xcom/return_value.json&run_uuid={stored['info']['run_id']}")
json.loads(body)
print(f"ok   mlflow ui (no flags): experiment, runs table with 9 task runs, metric history, artifacts")
PYEOF
else
    echo "FAIL: \`mlflow ui\` did not start"; status=1
fi
stop_server
cp "$WORK/default/mlflow.db" "$WORK/before-upgrade.db"
if "$VENV/bin/mlflow" db upgrade "sqlite:///$WORK/default/mlflow.db" >"$WORK/upgrade.log" 2>&1; then
    cmp -s "$WORK/default/mlflow.db" "$WORK/before-upgrade.db" \
        && echo "ok   mlflow db upgrade on our database changes nothing" \
        || { echo "FAIL: mlflow db upgrade changed our database"; status=1; }
else
    cat "$WORK/upgrade.log"; echo "FAIL: mlflow db upgrade failed on our database"; status=1
fi

echo "== (b) a quickstart run recorded in a file store"
RUN_ID=$(run_quickstart "$WORK/file" --tracking-uri "$WORK/file/mlruns")
echo "   dag run $RUN_ID"
(cd "$WORK/file" && MLFLOW_ALLOW_FILE_STORE=true "$PY" "$ROOT/tests/interop/check_dag.py" "file://$WORK/file/mlruns" "$RUN_ID") || status=1

echo "== (c) a quickstart run sent to a local mlflow server"
mkdir -p "$WORK/server"
if start_server "$WORK/server.log" --backend-store-uri "sqlite:///$WORK/server/mlflow.db" \
        --artifacts-destination "$WORK/server/artifacts"; then
    RUN_ID=$(run_quickstart "$WORK/rest" --tracking-uri "$URL")
    echo "   dag run $RUN_ID"
    (cd "$WORK/rest" && "$PY" "$ROOT/tests/interop/check_dag.py" "$URL" "$RUN_ID") || status=1
    (cd "$WORK/rest" && "$QS" --tracking-uri "$URL" runs quickstart | grep -q "fetch_labels: success (try 3)") \
        || { echo "FAIL: \`runs quickstart\` over the server"; status=1; }
else
    echo "FAIL: mlflow server did not start"
    status=1
fi
stop_server
exit $status
