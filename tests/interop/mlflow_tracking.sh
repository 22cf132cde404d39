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
ROOT=$PWD
VENV="$ROOT/.ci/venv-mlflow"
PY="$VENV/bin/python"
SERVER_PID=""
WORK="$(mktemp -d /tmp/oxflow-interop.XXXXXX)"

cleanup() {
    if [ -n "$SERVER_PID" ]; then
        # The server runs in its own process group; stop the whole group.
        kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
        sleep 1
        kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if ! "$PY" -c 'import mlflow, sys; sys.exit(mlflow.__version__ != "3.17.2")' 2>/dev/null; then
    echo "== creating $VENV with mlflow 3.17.2"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet mlflow==3.17.2
fi

echo "== building the writer"
cargo build --quiet --example tracking_interop
WRITER="$ROOT/target/debug/examples/tracking_interop"

results=()
status=0
run_check() { # label, command...
    local label=$1
    shift
    if "$@"; then results+=("PASS $label"); else results+=("FAIL $label"); status=1; fi
}

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

echo
echo "== summary"
printf '%s\n' "${results[@]}"
passed=$(printf '%s\n' "${results[@]}" | grep -c '^PASS' || true)
failed=$(printf '%s\n' "${results[@]}" | grep -c '^FAIL' || true)
echo "mlflow interop: $passed passed, $failed failed"
exit $status
