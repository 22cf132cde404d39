#!/usr/bin/env bash
# Interop check: models that oxflow logs, registers and promotes are read by MLflow (3.17.2):
# `mlflow.models.get_model_info("models:/house-prices@champion")` parses the signature back
# equal, `mlflow.artifacts.download_artifacts` fetches the files by `models:/` URI, and the
# LoggedModel, its run link and the registry versions are MLflow's own.
# examples/train_register.rs runs three times (a model, a worse one, a better one) on
#  (a) MLflow's default SQLite store, (b) the file store, (c) a local `mlflow server` (REST).
# Run from the repository root. Creates .ci/venv-mlflow on first use (pip, ~90 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib/mlflow.bash
WORK="$(mktemp -d /tmp/oxflow-models.XXXXXX)"

cleanup() {
    stop_server
    rm -rf "$WORK"
}

trap cleanup EXIT

ensure_mlflow_venv

echo "== building the example"
cargo build --quiet --example train_register
TRAIN="$ROOT/target/debug/examples/train_register"

train_three() { # directory, tracking uri (empty: MLflow's default in that directory)
    local dir=$1 uri=$2
    mkdir -p "$dir"
    for noise in 0.05 0.6 0.01; do
        env -C "$dir" ${uri:+MLFLOW_TRACKING_URI="$uri"} "$TRAIN" "$noise" || return 1
    done
}

echo "== (a) MLflow's default store (sqlite:///mlflow.db)"
run_check "train, register, promote (sqlite)" train_three "$WORK/sqlite" ""
run_check "models read by mlflow (sqlite)" env -C "$WORK/sqlite" \
    "$PY" "$ROOT/tests/interop/check_models.py" "sqlite:///$WORK/sqlite/mlflow.db" 3 3

echo "== (b) the file store"
run_check "train, register, promote (file)" train_three "$WORK/file" "$WORK/file/mlruns"
run_check "models read by mlflow (file)" env -C "$WORK/file" MLFLOW_ALLOW_FILE_STORE=true \
    "$PY" "$ROOT/tests/interop/check_models.py" "$WORK/file/mlruns" 3 3

echo "== (c) a local mlflow server, through its REST API"
mkdir -p "$WORK/server"
if start_server "$WORK/server.log" --backend-store-uri "sqlite:///$WORK/server/mlflow.db" \
        --artifacts-destination "$WORK/server/artifacts"; then
    run_check "train, register, promote (rest)" train_three "$WORK/rest" "$URL"
    run_check "models read by mlflow (rest)" env -C "$WORK" \
        "$PY" "$ROOT/tests/interop/check_models.py" "$URL" 3 3
else
    results+=("FAIL mlflow server did not start"); status=1
fi

printf '%s\n' "${results[@]}"
exit $status
