#!/usr/bin/env bash
# Interop check: the real MLflow client (3.17.2) reads a DAG run recorded by oxflow: the DAG run
# as a run in the experiment named after the DAG, its nested task runs with their states, try
# numbers, params, tags and stored outputs, including a failed run and its resume.
# Run from the repository root. Creates .ci/venv-mlflow on first use (pip, ~90 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
VENV="$ROOT/.ci/venv-mlflow"
PY="$VENV/bin/python"
WORK="$(mktemp -d /tmp/oxflow-dag-interop.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

if ! "$PY" -c 'import mlflow, sys; sys.exit(mlflow.__version__ != "3.17.2")' 2>/dev/null; then
    echo "== creating $VENV with mlflow 3.17.2"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet mlflow==3.17.2
fi

echo "== building the quickstart pipeline"
cargo build --quiet --example quickstart
QS="$ROOT/target/debug/examples/quickstart"

echo "== one run of the quickstart DAG, recorded in $WORK/mlruns"
(cd "$WORK" && "$QS" run quickstart -P rows=500 >"$WORK/run.log" 2>&1) || { cat "$WORK/run.log"; exit 1; }
RUN_ID=$(sed -n 's/^dag `quickstart` run \([0-9a-f]*\): .*/\1/p' "$WORK/run.log")
echo "   dag run $RUN_ID"

echo "== the MLflow client reads it"
(cd "$WORK" && MLFLOW_ALLOW_FILE_STORE=true "$PY" "$ROOT/tests/interop/check_dag.py" "file://$WORK/mlruns" "$RUN_ID")
