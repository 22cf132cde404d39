#!/usr/bin/env bash
# Interop check: the real MLflow client (3.17.2) reads DAG runs recorded by oxflow: the DAG run as
# a run in the experiment named after the DAG, its nested task runs with their states, try
# numbers, metrics, params, tags and stored outputs. Twice: (a) recorded in a file store, (b)
# sent to a real `mlflow server` (SQLite, loopback) with `--tracking-uri http://...`.
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

echo "== (a) a quickstart run recorded in a file store"
RUN_ID=$(run_quickstart "$WORK/file")
echo "   dag run $RUN_ID"
(cd "$WORK/file" && MLFLOW_ALLOW_FILE_STORE=true "$PY" "$ROOT/tests/interop/check_dag.py" "file://$WORK/file/mlruns" "$RUN_ID") || status=1

echo "== (b) a quickstart run sent to a local mlflow server"
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
