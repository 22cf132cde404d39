#!/usr/bin/env bash
# Side-by-side benchmark of `oxflow serve` against `mlflow models serve -w 1` (3.17.2) on the
# same scikit-learn LogisticRegression (iris, 4 float columns): MLflow serves the sklearn model,
# oxflow the same coefficients as a Rust `#[model]` (examples/iris_serve.rs). Both are checked
# to predict the same classes on 100 rows first. Then, with wrk (one thread, closed loop, on the
# same two cores as the server) for DUR seconds each: 1-row and 100-row requests at 1 and 16
# connections; and, per server: time from launch to the first 200 on /ping (median of 3) and
# resident memory after the load. Prints a table with the ratios (targets: 50x the throughput
# at 16 connections, p99 under 1 ms for 1-row requests at 16 connections, ready in under
# 100 ms, under 50 MiB resident).
# Then the same model converted to ONNX by skl2onnx and logged with `mlflow.onnx.log_model`:
# `oxflow serve` (the `oxflow` binary built with the `onnx` feature, tract) against
# `mlflow models serve` (onnxruntime), both checked to predict the same labels first, same
# cells. ONNX=0 skips that part.
# MLflow runs with `-w 1` (one uvicorn process), oxflow once with `-w 1` (one async thread, the
# same worker count) and once with its default, a worker per core (OX_WORKERS lists the counts,
# 0 for the default; "1 0" unless set). wrk runs on the same two cores: with one server worker
# it mostly has a core of its own; with a worker per core the server's threads and wrk take
# turns, which shows in the latency tail, while a request that parses and predicts 100 rows
# has the second core to use.
# Run from anywhere. DUR=10 by default. Needs wrk (apt-get install -y wrk, done here if
# missing) and .ci/venv-mlflow with mlflow 3.17.2 and scikit-learn (created if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DUR="${DUR:-10}"
OX_WORKERS="${OX_WORKERS:-1 0}"
# The first count is the one timed at start-up and checked for predictions.
W="${OX_WORKERS%% *}"
OTHER_WORKERS="${OX_WORKERS#"$W"}"
source tests/interop/lib/mlflow.bash
WORK="$(mktemp -d /tmp/oxflow-serve-bench.XXXXXX)"
OX_PID=""
cleanup() {
    [ -n "$OX_PID" ] && kill -TERM "$OX_PID" 2>/dev/null || true
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT

ensure_mlflow_venv
ONNX="${ONNX:-1}"
"$PY" -c 'import sklearn' 2>/dev/null || "$VENV/bin/pip" install --quiet scikit-learn
if [ "$ONNX" = 1 ] && ! "$PY" -c 'import onnxruntime, skl2onnx' 2>/dev/null; then
    # The versions tests/interop/mlflow_onnx.sh checks against.
    "$VENV/bin/pip" install --quiet onnxruntime==1.32.0 skl2onnx==1.20.0 scikit-learn==1.9.1 onnx==1.23.2
fi
if ! command -v wrk >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

echo "== training (scikit-learn) and building (release)"
TRACKING="sqlite:///$WORK/mlflow.db"
(cd "$WORK" && "$PY" "$ROOT/bench/serving_train.py" "$TRACKING" "$WORK" 2>/dev/null)
cargo build --quiet --release --example iris_serve
OXBIN="$ROOT/target/release/examples/iris_serve"
if [ "$ONNX" = 1 ]; then
    cargo build --quiet --release --features onnx --bin oxflow
    # Copied: a later build of the root binary without the feature would replace it.
    cp "$ROOT/target/release/oxflow" "$WORK/oxflow-onnx"
fi
(cd "$WORK" && MLFLOW_TRACKING_URI="$TRACKING" "$OXBIN" import coef.json)

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
wait_ping() { # url -> prints ms since $2
    for _ in $(seq 1 60000); do
        curl -sf -o /dev/null "$1/ping" && { ms_since "$2"; return 0; }
        sleep 0.001
    done
    return 1
}
start_oxflow() { # [binary model-uri]: the Rust #[model] by default, with $W workers
    local bin=${1:-$OXBIN} uri=${2:-models:/iris@champion}
    local workers=(); [ "$W" = 0 ] || workers=(--workers "$W")
    local port; port=$(free_port); OX="http://127.0.0.1:$port"
    local t0; t0=$(date +%s%N)
    (cd "$WORK" && MLFLOW_TRACKING_URI="$TRACKING" exec "$bin" serve "$uri" \
        --port "$port" --no-access-log "${workers[@]}") >"$WORK/ox.log" 2>&1 &
    OX_PID=$!
    READY=$(wait_ping "$OX" "$t0")
}
stop_oxflow() { kill -TERM "$OX_PID"; wait "$OX_PID" || true; OX_PID=""; }
start_mlflow() { # [model-uri file]
    local uri_file=${1:-$WORK/model_uri.txt}
    local port; port=$(free_port); ML="http://127.0.0.1:$port"
    local t0; t0=$(date +%s%N)
    (cd "$WORK" && PATH="$VENV/bin:$PATH" MLFLOW_TRACKING_URI="$TRACKING" exec setsid "$VENV/bin/mlflow" \
        models serve -m "$(cat "$uri_file")" --env-manager local -h 127.0.0.1 -p "$port" -w 1 \
        >"$WORK/ml.log" 2>&1) &
    SERVER_PID=$!
    READY=$(wait_ping "$ML" "$t0")
}
# Resident memory in MiB: of one process (oxflow), or of a whole session (mlflow's CLI,
# uvicorn and its worker).
rss_mib() { ps -o rss= -p "$1" | awk '{s+=$1} END {print int(s/1024)}'; }
rss_session_mib() { ps -o rss= --sid "$1" | awk '{s+=$1} END {print int(s/1024)}'; }

echo "== startup (median of 3)"
declare -A READY_MS
for server in oxflow mlflow; do
    times=()
    for _ in 1 2 3; do
        if [ $server = oxflow ]; then start_oxflow; stop_oxflow; else start_mlflow; stop_server; fi
        times+=("$READY")
    done
    READY_MS[$server]=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
    echo "$server: ${times[*]} ms"
done

start_oxflow
start_mlflow
echo "== same predictions on 100 rows"
"$PY" - "$OX" "$ML" "$WORK" <<'PYEOF'
import json, sys, requests
ox, ml, work = sys.argv[1:4]
body = open(f"{work}/body_100.json").read()
expected = json.load(open(f"{work}/expected_100.json"))
h = {"Content-Type": "application/json"}
a = [r["prediction"] for r in requests.post(f"{ox}/invocations", data=body, headers=h).json()["predictions"]]
b = requests.post(f"{ml}/invocations", data=body, headers=h).json()["predictions"]
assert a == b == expected, (a, b, expected)
print(f"oxflow, mlflow and scikit-learn agree on {len(a)} rows")
PYEOF

RESULTS="$WORK/results.jsonl"
# load <tag> <url>: the four cells against one server, appended to $RESULTS.
load() {
    local tag=$1 url=$2
    for rows in 1 100; do
        BODY_FILE="$WORK/body_$rows.json" wrk -t1 -c16 -d1s -s bench/wrk_post.lua "$url/invocations" >/dev/null
        for conns in 1 16; do
            BODY_FILE="$WORK/body_$rows.json" WRK_TAG="$tag $rows $conns" \
                wrk -t1 -c"$conns" -d"${DUR}s" --timeout 10s --latency -s bench/wrk_post.lua "$url/invocations" \
                | grep '^WRK_RESULT' | sed 's/^WRK_RESULT //' >>"$RESULTS"
        done
    done
}
echo "== load (wrk, ${DUR}s per cell, 1 s warm-up)"
load "oxflow-w$W" "$OX"
OX_RSS=$(rss_mib "$OX_PID")
stop_oxflow
FIRST_W=$W
for W in $OTHER_WORKERS; do start_oxflow; load "oxflow-w$W" "$OX"; stop_oxflow; done
W=$FIRST_W
load mlflow "$ML"
ML_RSS=$(rss_session_mib "$SERVER_PID")
stop_server

ONNX_READY="0 0"
if [ "$ONNX" = 1 ]; then
    echo "== ONNX: oxflow serve (tract) and mlflow models serve (onnxruntime) on the same file"
    start_oxflow "$WORK/oxflow-onnx" "$(cat "$WORK/onnx_model_uri.txt")"
    OX_ONNX_READY=$READY
    start_mlflow "$WORK/onnx_model_uri.txt"
    ONNX_READY="$OX_ONNX_READY $READY"
    "$PY" - "$OX" "$ML" "$WORK" <<'PYEOF'
import json, sys, requests
ox, ml, work = sys.argv[1:4]
body = open(f"{work}/body_100.json").read()
expected = json.load(open(f"{work}/expected_100.json"))
h = {"Content-Type": "application/json"}
a = requests.post(f"{ox}/invocations", data=body, headers=h).json()["predictions"]
b = requests.post(f"{ml}/invocations", data=body, headers=h).json()["predictions"]
labels = lambda p: [r["output_label"] for r in p]
assert labels(a) == labels(b) == expected, (a[:2], b[:2], expected)
print(f"ONNX: oxflow, mlflow and scikit-learn agree on {len(a)} labels")
PYEOF
    load "oxflow-onnx-w$W" "$OX"
    stop_oxflow
    for W in $OTHER_WORKERS; do
        start_oxflow "$WORK/oxflow-onnx" "$(cat "$WORK/onnx_model_uri.txt")"
        load "oxflow-onnx-w$W" "$OX"
        stop_oxflow
    done
    W=$FIRST_W
    load mlflow-onnx "$ML"
fi

echo
echo "== results ($(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores;" \
    "mlflow -w 1; oxflow -w N, or -w cores for one per core)"
OX_WORKERS="$OX_WORKERS" "$PY" - "$RESULTS" "${READY_MS[oxflow]}" "${READY_MS[mlflow]}" "$OX_RSS" "$ML_RSS" $ONNX_READY <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
r = {tuple(x["tag"].split()): x for x in rows}
print(f"{'model':22} {'request':10} {'conns':>5} | {'oxflow req/s':>12} {'p50 ms':>7} {'p99 ms':>7} | {'mlflow req/s':>12} {'p50 ms':>7} {'p99 ms':>7} | {'ratio':>7}")
# The issue's comparison is the last block: what a user moving from `mlflow models serve` of
# the scikit-learn model gets from serving its ONNX conversion with oxflow.
import os
blocks = [(f"{model} -w {w if w != '0' else 'cores'}", f"{ox}-w{w}", ml)
          for model, ox, ml in (("Rust #[model]", "oxflow", "mlflow"), ("ONNX", "oxflow-onnx", "mlflow-onnx"),
                                ("ONNX/sklearn", "oxflow-onnx", "mlflow"))
          for w in os.environ["OX_WORKERS"].split()]
for model, ox, ml in blocks:
  if (ox, "1", "1") not in r:
    continue
  for rows_ in ("1", "100"):
    for c in ("1", "16"):
        o, m = r[(ox, rows_, c)], r[(ml, rows_, c)]
        errs = sum(o[k] for k in ("err_connect", "err_read", "err_write", "err_status", "err_timeout"))
        print(f"{model:22} {rows_ + ' row(s)':10} {c:>5} | {o['rps']:>12.0f} {o['lat_p50_ms']:>7.3f} {o['lat_p99_ms']:>7.3f} | "
              f"{m['rps']:>12.0f} {m['lat_p50_ms']:>7.2f} {m['lat_p99_ms']:>7.2f} | {o['rps'] / m['rps']:>6.0f}x"
              + (f"  ({errs} oxflow errors)" if errs else ""))
ox_ready, ml_ready, ox_rss, ml_rss, ox_onnx_ready, ml_onnx_ready = map(int, sys.argv[2:8])
print(f"ready (launch to first /ping 200): oxflow {ox_ready} ms, mlflow {ml_ready} ms ({ml_ready / max(ox_ready, 1):.0f}x)")
print(f"resident memory after the load:    oxflow {ox_rss} MiB, mlflow {ml_rss} MiB")
if ox_onnx_ready:
    print(f"ONNX ready (one launch each):       oxflow {ox_onnx_ready} ms, mlflow {ml_onnx_ready} ms")
PYEOF
