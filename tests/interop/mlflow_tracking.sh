#!/usr/bin/env bash
# Interop check: the real MLflow (3.17.2) reads what oxflow's tracking writes.
#  (a) the Python client reads a file store written by oxflow (experiments, search_runs with
#      filter and order, metric history with steps, NaN and inf, params, tags, nested runs,
#      artifacts);
#  (b) `mlflow migrate-filestore` copies it into SQLite and the values survive;
#  (c) a local `mlflow server` (SQLite, 127.0.0.1) receives runs from oxflow's RestStore and the
#      Python client reads them back.
# Run from the repository root. Creates .ci/venv-mlflow on first use (pip, ~90 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib/mlflow.bash
WORK="$(mktemp -d /tmp/oxflow-interop.XXXXXX)"

cleanup() {
    stop_server
    rm -rf "$WORK"
}

trap cleanup EXIT

ensure_mlflow_venv

echo "== building the writer"
cargo build --quiet --example tracking_interop
WRITER="$ROOT/target/debug/examples/tracking_interop"

echo "== (a) file store written by oxflow, read by the MLflow client"
"$WRITER" "$WORK/mlruns" "$WORK/expected.json"
run_check "file store read by mlflow" env -C "$WORK" MLFLOW_ALLOW_FILE_STORE=true \
    "$PY" "$ROOT/tests/interop/check_tracking.py" "file://$WORK/mlruns" "$WORK/expected.json" file

echo "== (b) mlflow migrate-filestore into SQLite"
if (cd "$WORK" && MLFLOW_ALLOW_FILE_STORE=true "$VENV/bin/mlflow" migrate-filestore \
        --source "$WORK/mlruns" --target "sqlite:///$WORK/migrated.db" >"$WORK/migrate.log" 2>&1); then
    run_check "migrated SQLite store" env -C "$WORK" \
        "$PY" "$ROOT/tests/interop/check_tracking.py" "sqlite:///$WORK/migrated.db" "$WORK/expected.json" sqlite
else
    tail -20 "$WORK/migrate.log"
    results+=("FAIL mlflow migrate-filestore"); status=1
fi

echo "== (c) a local mlflow server receives runs from oxflow's RestStore"
mkdir -p "$WORK/server"
if start_server "$WORK/server.log" --backend-store-uri "sqlite:///$WORK/server/mlflow.db" \
        --artifacts-destination "$WORK/server/artifacts"; then
    if "$WRITER" "$URL" "$WORK/expected-rest.json"; then
        run_check "runs logged over REST, read back by mlflow" env -C "$WORK" \
            "$PY" "$ROOT/tests/interop/check_tracking.py" "$URL" "$WORK/expected-rest.json" rest
    else
        results+=("FAIL logging over REST"); status=1
    fi
else
    results+=("FAIL mlflow server (SQLite) did not start"); status=1
fi
stop_server

echo "== (d) an mlflow server over oxflow's file store answers the UI's REST calls"
if MLFLOW_ALLOW_FILE_STORE=true start_server "$WORK/ui.log" --backend-store-uri "file://$WORK/mlruns"; then
    run_check "UI REST calls over the file store" "$PY" - "$URL" "$WORK/expected.json" <<'PYEOF'
import json, sys, urllib.request
url, expected = sys.argv[1], json.load(open(sys.argv[2]))
def call(path, body=None):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
exps = call("/ajax-api/2.0/mlflow/experiments/search", {"max_results": 100})["experiments"]
ok = any(e["experiment_id"] == expected["experiment_id"] and e["name"] == "interop" for e in exps)
runs = call("/ajax-api/2.0/mlflow/runs/search", {"experiment_ids": [expected["experiment_id"]], "max_results": 100})["runs"]
ok = ok and len(runs) == expected["active_runs"]
run = call("/ajax-api/2.0/mlflow/runs/get?run_id=" + expected["parent"]["run_id"])["run"]
ok = ok and {p["key"]: p["value"] for p in run["data"]["params"]} == expected["parent"]["params"]
print(f"[ui] experiments={len(exps)} runs={len(runs)} ok={ok}")
sys.exit(0 if ok else 1)
PYEOF
else
    results+=("FAIL mlflow server over the file store did not start"); status=1
fi
stop_server

echo "== (e) kill -9 in the middle of heavy logging; mlflow still reads the store"
"$WRITER" --heavy "$WORK/crash" >"$WORK/heavy.out" &
HEAVY=$!
sleep 3
kill -KILL "$HEAVY"
wait "$HEAVY" 2>/dev/null || true
run_check "store read by mlflow after kill -9" env -C "$WORK" MLFLOW_ALLOW_FILE_STORE=true "$PY" - "file://$WORK/crash" "$(head -1 "$WORK/heavy.out")" <<'PYEOF'
import sys
from mlflow.tracking import MlflowClient
c = MlflowClient(tracking_uri=sys.argv[1])
run = c.get_run(sys.argv[2])
hist = c.get_metric_history(sys.argv[2], "loss")
steps = [m.step for m in hist]
ok = run.info.status == "RUNNING" and steps == list(range(len(steps))) and len(steps) > 0
ok = ok and len(run.data.params) >= 1 and len(c.list_artifacts(sys.argv[2], "chunks")) >= 1
exp = c.get_experiment_by_name("crash")
ok = ok and len(c.search_runs([exp.experiment_id])) == 1
print(f"[crash] {len(steps)} metric values, {len(run.data.params)} params, ok={ok}")
sys.exit(0 if ok else 1)
PYEOF

echo
echo "== summary"
printf '%s\n' "${results[@]}"
passed=$(printf '%s\n' "${results[@]}" | grep -c '^PASS' || true)
failed=$(printf '%s\n' "${results[@]}" | grep -c '^FAIL' || true)
echo "mlflow interop: $passed passed, $failed failed"
exit $status
