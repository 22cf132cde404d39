#!/usr/bin/env bash
# Interop check for the `onnx` flavor (cargo feature `onnx`), against MLflow 3.17.2 with
# onnxruntime 1.32.0:
#  0. the flavor's Rust tests (`cargo test --features onnx`): tract against onnxruntime's
#     outputs for the fixtures in tests/fixtures/onnx, bad files, the saved layout;
#  1. models that Python's `mlflow.onnx.log_model` logged are scored by oxflow
#     (examples/onnx_predict.rs) as `mlflow models serve` scores them, to 1e-5;
#  2. models that oxflow logged are loaded by `mlflow.pyfunc.load_model` (onnxruntime) and
#     score as oxflow scores them, to 1e-5;
# both on MLflow's SQLite store and through a local `mlflow server` (REST) on 127.0.0.1.
# Run from the repository root. Creates .ci/venv-mlflow on first use and adds the ONNX packages.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib/mlflow.bash
WORK="$(mktemp -d /tmp/oxflow-onnx.XXXXXX)"
FIXTURES="$ROOT/tests/fixtures/onnx"

cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT

ensure_mlflow_venv
if ! "$PY" -c 'import onnxruntime, skl2onnx, sklearn, onnx, sys; sys.exit(not (onnxruntime.__version__ == "1.32.0" and skl2onnx.__version__ == "1.20.0" and sklearn.__version__ == "1.9.1" and onnx.__version__ == "1.23.2"))' 2>/dev/null; then
    echo "== installing onnxruntime 1.32.0, skl2onnx 1.20.0, scikit-learn 1.9.1, onnx 1.23.2 into $VENV"
    "$VENV/bin/pip" install --quiet onnxruntime==1.32.0 skl2onnx==1.20.0 scikit-learn==1.9.1 onnx==1.23.2
fi

echo "== cargo test --features onnx (the onnx flavor's tests)"
run_check "cargo test -p oxflow-runtime --features onnx model::" \
    cargo test --quiet -p oxflow-runtime --features onnx model::
echo "== building examples/onnx_predict.rs"
cargo build --quiet --features onnx --example onnx_predict
OXFLOW="$ROOT/target/debug/examples/onnx_predict"
CHECK="$ROOT/tests/interop/check_onnx.py"

# python_logs <dir> <uri> <fixture> <tensor|columns>: Python logs, MLflow and oxflow both score.
python_logs() {
    local dir=$1 uri=$2 fixture=$3 kind=$4 id
    local tag="$fixture-$kind"
    # The last line is the model id (against a server, MLflow prints links to the run first).
    id=$(env -C "$dir" "$PY" "$CHECK" log "$uri" "$FIXTURES/$fixture.onnx" "$kind" "$dir/$tag.request.json" | tail -n 1) || return 1
    env -C "$dir" "$PY" "$CHECK" score "$uri" "models:/$id" "$dir/$tag.request.json" "$dir/$tag.mlflow.json" || return 1
    env -C "$dir" MLFLOW_TRACKING_URI="$uri" "$OXFLOW" predict "models:/$id" "$dir/$tag.request.json" >"$dir/$tag.oxflow.json" || return 1
    "$PY" "$CHECK" compare "mlflow-logged $tag" "$dir/$tag.mlflow.json" "$dir/$tag.oxflow.json"
}

# oxflow_logs <dir> <uri> <fixture> <tensor|columns:...> <request>: oxflow logs, both score.
oxflow_logs() {
    local dir=$1 uri=$2 fixture=$3 sig=$4 request=$5 id
    local tag="$fixture-${sig%%:*}-oxflow"
    echo "$request" >"$dir/$tag.request.json"
    id=$(env -C "$dir" MLFLOW_TRACKING_URI="$uri" "$OXFLOW" log "$FIXTURES/$fixture.onnx" "$sig") || return 1
    env -C "$dir" MLFLOW_TRACKING_URI="$uri" "$OXFLOW" predict "models:/$id" "$dir/$tag.request.json" >"$dir/$tag.oxflow.json" || return 1
    env -C "$dir" "$PY" "$CHECK" score "$uri" "models:/$id" "$dir/$tag.request.json" "$dir/$tag.mlflow.json" || return 1
    "$PY" "$CHECK" compare "oxflow-logged $tag" "$dir/$tag.mlflow.json" "$dir/$tag.oxflow.json"
}

ROWS='[[5.1, 3.5, 1.4, 0.2], [7.0, 3.2, 4.7, 1.4], [6.3, 3.3, 6.0, 2.5], [6.3, 2.8, 5.1, 1.5], [6.0, 2.9, 4.8, 1.7]]'
TENSOR_REQUEST="{\"inputs\": $ROWS}"
SPLIT_REQUEST="{\"dataframe_split\": {\"columns\": [\"sl\", \"sw\", \"pl\", \"pw\"], \"data\": $ROWS}}"

both_directions() { # label, dir, uri
    local label=$1 dir=$2 uri=$3
    mkdir -p "$dir"
    run_check "mlflow.onnx.log_model -> oxflow: scaler_lr, tensor ($label)" python_logs "$dir" "$uri" scaler_lr tensor
    run_check "mlflow.onnx.log_model -> oxflow: rf_binary, tensor ($label)" python_logs "$dir" "$uri" rf_binary tensor
    run_check "mlflow.onnx.log_model -> oxflow: lr_multiclass_zipmap, columns ($label)" python_logs "$dir" "$uri" lr_multiclass_zipmap columns
    run_check "oxflow log_onnx_model -> mlflow.pyfunc: gb_binary, tensor ($label)" oxflow_logs "$dir" "$uri" gb_binary tensor "$TENSOR_REQUEST"
    run_check "oxflow log_onnx_model -> mlflow.pyfunc: lr_binary_zipmap, columns ($label)" oxflow_logs "$dir" "$uri" lr_binary_zipmap columns:sl,sw,pl,pw "$SPLIT_REQUEST"
}

echo "== (a) MLflow's SQLite store"
both_directions sqlite "$WORK/sqlite" "sqlite:///$WORK/sqlite/mlflow.db"

echo "== (b) a local mlflow server, through its REST API"
mkdir -p "$WORK/server"
if start_server "$WORK/server.log" --backend-store-uri "sqlite:///$WORK/server/mlflow.db" \
        --artifacts-destination "$WORK/server/artifacts"; then
    both_directions rest "$WORK/rest" "$URL"
else
    results+=("FAIL mlflow server did not start"); status=1
fi

printf '%s\n' "${results[@]}"
exit $status
