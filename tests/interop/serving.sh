#!/usr/bin/env bash
# Interop check: `oxflow serve` answers MLflow's scoring clients as `mlflow models serve` does.
#  (a) examples/train_register.rs trains and registers house-prices; its binary serves
#      models:/house-prices@champion; time from launch to the first 200 on /ping;
#  (b) the model's own serving_input_example.json (downloaded by models:/ URI) and MLflow's
#      ScoringServerClient are answered; every well-formed request shape is accepted and every
#      malformed one refused with the same status, error_code, error_class and sqlstate as a real
#      `mlflow models serve` (3.17.2) on a scikit-learn model with the same columns;
#  (c) `promtool check metrics` accepts /metrics, and it counts what was sent;
#  (d) SIGTERM stops the server with status 0.
# Run from the repository root. Creates .ci/venv-mlflow on first use; installs prometheus
# (for promtool) with apt-get if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib/mlflow.bash
WORK="$(mktemp -d /tmp/oxflow-serving.XXXXXX)"
OX_PID=""

cleanup() {
    [ -n "$OX_PID" ] && kill -TERM "$OX_PID" 2>/dev/null || true
    stop_server
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

ensure_mlflow_venv
if ! command -v promtool >/dev/null; then
    echo "== installing prometheus for promtool (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

results=()
status=0
check() { # label, command...
    local label=$1
    shift
    if "$@"; then results+=("PASS $label"); else results+=("FAIL $label"); status=1; fi
}
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

echo "== building the example"
cargo build --quiet --example train_register
TRAIN="$ROOT/target/debug/examples/train_register"

echo "== (a) train, register, serve"
mkdir -p "$WORK/ox"
(cd "$WORK/ox" && "$TRAIN" >/dev/null)
port=$(free_port)
OX="http://127.0.0.1:$port"
start=$(date +%s%N)
(cd "$WORK/ox" && exec "$TRAIN" serve models:/house-prices@champion --port "$port") >"$WORK/ox.log" 2>&1 &
OX_PID=$!
ready=""
for _ in $(seq 1 2000); do
    if curl -sf -o /dev/null "$OX/ping"; then ready=$(( ($(date +%s%N) - start) / 1000000 )); break; fi
    sleep 0.002
done
check "oxflow serve answers /ping (ready in ${ready:-never} ms, debug build)" test -n "$ready"

echo "== (b) mlflow models serve on the reference model"
MLFLOW_URI="sqlite:///$WORK/ml/mlflow.db"
mkdir -p "$WORK/ml"
ref=$(cd "$WORK/ml" && "$PY" "$ROOT/tests/interop/serving_sklearn_model.py" "$MLFLOW_URI" 2>/dev/null | tail -1)
mport=$(free_port)
ML="http://127.0.0.1:$mport"
(cd "$WORK/ml" && PATH="$VENV/bin:$PATH" MLFLOW_TRACKING_URI="$MLFLOW_URI" exec setsid "$VENV/bin/mlflow" \
    models serve -m "$ref" --env-manager local -h 127.0.0.1 -p "$mport" -w 1 >"$WORK/ml.log" 2>&1) &
SERVER_PID=$!
for _ in $(seq 1 240); do curl -sf -o /dev/null "$ML/ping" && break; sleep 0.5; done
check "mlflow models serve started" curl -sf -o /dev/null "$ML/ping"
check "MLflow's clients and mlflow models serve agree with oxflow serve" \
    env -C "$WORK/ox" "$PY" "$ROOT/tests/interop/check_serving.py" "$OX" "$ML" "sqlite:///$WORK/ox/mlflow.db"

echo "== (c) /metrics"
curl -sf "$OX/metrics" >"$WORK/metrics.txt"
check "promtool check metrics accepts /metrics" promtool check metrics <"$WORK/metrics.txt"
check "/metrics counts scored rows and schema errors by column" bash -c "
    grep -q '^oxflow_serve_rows_scored_total{.*model=\"house-prices\"} [1-9]' '$WORK/metrics.txt' &&
    grep -q '^oxflow_serve_schema_errors_total{.*column=\"rooms\"} [1-9]' '$WORK/metrics.txt' &&
    grep -q '^oxflow_model_info{.*model=\"house-prices\",version=\"1\",alias=\"champion\"} 1' '$WORK/metrics.txt'"

echo "== (d) SIGTERM"
kill -TERM "$OX_PID"
rc=0
wait "$OX_PID" || rc=$?
OX_PID=""
check "SIGTERM stops oxflow serve with status 0 (got $rc)" test "$rc" = 0

echo
printf '%s\n' "${results[@]}"
exit $status
