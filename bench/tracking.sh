#!/usr/bin/env bash
# Side-by-side benchmark of oxflow's tracking file store and the MLflow Python client (file
# store), on the workloads of bench/bench_mlflow.py: start+end 100 runs; 10,000 single metric
# calls; 100,000 metrics by batch; 1,000 params; search_runs over 1,000 runs with a filter.
# Prints both medians and the speed-up. Run from anywhere; REPS=3 by default; stores go under
# BENCH_DIR (default /tmp; BENCH_DIR=/dev/shm compares CPU costs without the disk).
# Uses (and creates if missing) the venv .ci/venv-mlflow with mlflow 3.17.2.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${REPS:-3}"
VENV="$PWD/.ci/venv-mlflow"
OUT="$(mktemp -d /tmp/oxflow-bench.XXXXXX)"
trap 'rm -rf "$OUT"' EXIT

if ! "$VENV/bin/python" -c 'import mlflow, sys; sys.exit(mlflow.__version__ != "3.17.2")' 2>/dev/null; then
    echo "== creating $VENV with mlflow 3.17.2"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet mlflow==3.17.2
fi

echo "== oxflow (cargo bench --bench tracking, release build)"
cargo bench --quiet --bench tracking -- --reps "$REPS" --json "$OUT/oxflow.json"
echo "== mlflow $("$VENV/bin/python" -c 'import mlflow; print(mlflow.__version__)') (Python client, file store)"
"$VENV/bin/python" bench/bench_mlflow.py --reps "$REPS" --backends file --only a,b,c,d,g --json "$OUT/mlflow.json"

echo
echo "== comparison (median of $REPS, stores in ${BENCH_DIR:-/tmp}, load average $(cut -d' ' -f1-3 /proc/loadavg))"
"$VENV/bin/python" - "$OUT/oxflow.json" "$OUT/mlflow.json" <<'PYEOF'
import json, sys
ox = {r["bench"]: r for r in json.load(open(sys.argv[1]))["results"]}
ml = {r["bench"]: r for r in json.load(open(sys.argv[2]))["results"]}
rows = [("a", "start+end 100 runs"), ("b", "10,000 single metric calls"),
        ("c", "100,000 metrics by batch"), ("d", "1,000 params"),
        ("g", "search_runs over 1,000 runs, filter")]
print(f"{'workload':38} {'mlflow':>10} {'oxflow':>10} {'speed-up':>9}")
for key, label in rows:
    m, o = ml[key]["median_s"], ox[key]["median_s"]
    print(f"{label:38} {m:9.3f}s {o:9.4f}s {m / o:8.0f}x")
t = ox.get("task")
if t:
    print(f"{'executor task (run, 7 tags, artifact, end)':38} {'':>10} {t['median_s'] * 1e6:8.0f}us")
PYEOF
