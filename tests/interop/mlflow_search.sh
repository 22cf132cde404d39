#!/usr/bin/env bash
# Interop check: oxflow's search_runs returns what MLflow 3.17.2's own search returns, on each
# store, and dataset inputs travel both ways.
#  (a) MLflow's client writes ~20 runs (params; metrics with NaN, inf and missing values; tags;
#      statuses; a deleted run; dataset inputs) into a SQLite database and runs ~140 search
#      cases (filters, order_by, rejected ones) through its search_runs; oxflow runs the same
#      cases on the same database and must accept and reject the same ones and return the same
#      run ids in the same order;
#  (b) the same on MLflow's file store;
#  (c) the same through `mlflow server` on (a)'s database (oxflow's REST store);
#  (d) oxflow logs dataset inputs (SQLite, file store, server) and MLflow's client reads them
#      back as run.inputs.dataset_inputs, field by field.
# Run from the repository root. Creates .ci/venv-mlflow on first use (pip, ~90 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib/mlflow.bash
WORK="$(mktemp -d /tmp/oxflow-search-interop.XXXXXX)"
# MLflow 3.17 opens a file store only when asked to.
export MLFLOW_ALLOW_FILE_STORE=true

cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT

ensure_mlflow_venv

echo "== building the oxflow side"
cargo build --quiet --example search_interop
OX="$ROOT/target/debug/examples/search_interop"
CASES="$ROOT/tests/interop/search_cases.py"

mlflow_py() { (cd "$WORK" && "$PY" "$CASES" "$@" 2>"$WORK/py.log") || { tail -20 "$WORK/py.log"; return 1; }; }

echo "== (a) SQLite: MLflow's search as the reference"
mlflow_py write "sqlite:///$WORK/mlflow.db" "$WORK/sqlite.json"
run_check "search on SQLite agrees with MLflow" "$OX" compare "sqlite:///$WORK/mlflow.db" "$WORK/sqlite.json"

echo "== (b) file store: MLflow's search as the reference"
mlflow_py write "file://$WORK/mlruns" "$WORK/file.json"
run_check "search on the file store agrees with MLflow" "$OX" compare "$WORK/mlruns" "$WORK/file.json"

echo "== (c) mlflow server: oxflow's REST store"
if start_server "$WORK/server.log" --backend-store-uri "sqlite:///$WORK/mlflow.db" \
    --default-artifact-root "$WORK/server-artifacts"; then
    run_check "search through mlflow server agrees with MLflow" "$OX" compare "$URL" "$WORK/sqlite.json"
    "$OX" write-inputs "$URL" "$WORK/rest-inputs.json"
    stop_server
    run_check "inputs oxflow logged through the server, read by mlflow" \
        mlflow_py read-inputs "sqlite:///$WORK/mlflow.db" "$WORK/rest-inputs.json"
else
    results+=("FAIL mlflow server did not start")
    status=1
fi

echo "== (d) dataset inputs written by oxflow, read by MLflow's client"
"$OX" write-inputs "sqlite:///$WORK/ox.db" "$WORK/sqlite-inputs.json"
run_check "inputs oxflow logged to SQLite, read by mlflow" \
    mlflow_py read-inputs "sqlite:///$WORK/ox.db" "$WORK/sqlite-inputs.json"
"$OX" write-inputs "$WORK/oxruns" "$WORK/file-inputs.json"
run_check "inputs oxflow logged to the file store, read by mlflow" \
    mlflow_py read-inputs "file://$WORK/oxruns" "$WORK/file-inputs.json"

echo
printf '%s\n' "${results[@]}"
exit $status
