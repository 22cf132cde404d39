#!/usr/bin/env bash
# Side-by-side benchmark of oxflow's default tracking store (MLflow's SQLite schema) against the
# MLflow Python client on its default store (SQLite) and on its file store, on the workloads of
# bench/bench_mlflow.py: start+end 100 runs; 10,000 single metric calls; 100,000 metrics by
# batch; 1,000 params; search_runs over 1,000 runs with a filter. Prints the medians and the
# speed-ups against each MLflow store (targets: 100x MLflow's SQLite on the first four, 20x on
# search, 50x MLflow's file store on all five). STORE=file measures oxflow's file store instead. Run from anywhere; REPS=3 by default; stores go under
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

STORE="${STORE:-sqlite}"
echo "== oxflow, $STORE store (cargo bench --bench tracking, release build)"
cargo bench --quiet --bench tracking -- --store "$STORE" --reps "$REPS" --json "$OUT/oxflow.json"
echo "== mlflow $("$VENV/bin/python" -c 'import mlflow; print(mlflow.__version__)') (Python client, SQLite and file store)"
"$VENV/bin/python" bench/bench_mlflow.py --reps "$REPS" --backends sqlite,file --only a,b,c,d,g --json "$OUT/mlflow.json"

echo
echo "== comparison (median of $REPS, stores in ${BENCH_DIR:-/tmp}, load average $(cut -d' ' -f1-3 /proc/loadavg))"
"$VENV/bin/python" - "$OUT/oxflow.json" "$OUT/mlflow.json" "$STORE" <<'PYEOF'
import json, sys
ox = {r["bench"]: r for r in json.load(open(sys.argv[1]))["results"]}
ml = {(r["bench"], r["backend"]): r for r in json.load(open(sys.argv[2]))["results"]}
rows = [("a", "start+end 100 runs", 100), ("b", "10,000 single metric calls", 100),
        ("c", "100,000 metrics by batch", 100), ("d", "1,000 params", 100),
        ("g", "search_runs over 1,000 runs, filter", 20)]
print(f"oxflow store: {sys.argv[3]}")
print(f"{'workload':38} {'mlflow sqlite':>13} {'mlflow file':>12} {'oxflow':>10} {'vs sqlite':>10} {'vs file':>8}")
for key, label, target in rows:
    s, f, o = ml[(key, "sqlite")]["median_s"], ml[(key, "file")]["median_s"], ox[key]["median_s"]
    mark = lambda r, t: f"{r:7.0f}x{'' if r >= t else ' (<' + str(t) + 'x)'}"
    print(f"{label:38} {s:12.3f}s {f:11.3f}s {o:9.4f}s {mark(s / o, target):>10} {mark(f / o, 50):>8}")
g = ox.get("gfresh")
if g:
    s = ml[("g", "sqlite")]["median_s"]
    print(f"{'  the same, from a fresh oxflow handle':38} {'':>13} {'':>12} {g['median_s']:9.4f}s {s / g['median_s']:7.0f}x")
t = ox.get("task")
if t:
    print(f"{'executor task (run, 7 tags, artifact, end)':38} {'':>13} {'':>12} {t['median_s'] * 1e6:8.0f}us")
PYEOF
