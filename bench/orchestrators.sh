#!/usr/bin/env bash
# Side by side, in one go: oxflow's executor and Prefect 3 on Prefect's benchmark shapes
# (a 100-task chain; 1,000 tasks fanned out then fanned in), trivial tasks.
#
# Prefect runs with its default temporary local API (SQLite), which records every task run, so
# the like-for-like figure is oxflow's "sqlite" mode (its default store, in $TMPDIR); oxflow "in
# memory" is shown too. Prefect's flow time excludes its server start-up (a warm-up flow runs
# first), as in ../shared/research/orchestration.md §5.
#
# usage: bench/orchestrators.sh        (creates bench/.venv-prefect on first use, ~2 min)
#        TMPDIR=/dev/shm bench/orchestrators.sh   both stores in memory: the software alone, not the disk
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=bench/.venv-prefect
PREFECT_SCRIPT=${PREFECT_SCRIPT:-../shared/research/bench_orchestrators/prefect_bench.py}
[ -f "$PREFECT_SCRIPT" ] || { echo "Prefect's benchmark script not found at $PREFECT_SCRIPT (set PREFECT_SCRIPT)"; exit 1; }
if ! "$VENV/bin/python" -c 'import prefect' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "prefect>=3,<4"
fi
cargo bench --quiet --bench executor --no-run 2>/dev/null
BENCH=$(ls -t target/release/deps/executor-* | grep -v '\.d$' | head -n1)
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); cores: $(nproc)"
OXFLOW_BENCH_FAN=1000 OXFLOW_BENCH_CHAIN=100 OXFLOW_BENCH_JSON=1 "$BENCH" | tee -a "$OUT" | grep -v '^{'
for mode in chain fanout; do
    home=$(mktemp -d -t prefect-home.XXXX)
    PREFECT_HOME=$home PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=180 \
        PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_LOGGING_LEVEL=WARNING \
        "$VENV/bin/python" "$PREFECT_SCRIPT" "$mode" 2>"$home/stderr.log" | tail -n1 | tee -a "$OUT"
    rm -rf "$home"
done
python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ox = {(r["shape"], r["mode"]): r for r in rows if r["tool"] == "oxflow"}
print("\nper-task overhead, same run:")
for r in (r for r in rows if r["tool"] == "prefect"):
    shape = "fanout" if r["mode"] == "fanout" else "chain"
    tasks = r["n"] + (1 if shape == "fanout" else 0)
    prefect_us = r["flow_s"] * 1e6 / tasks
    for mode in ("sqlite", "in memory"):
        o = ox[(shape, mode)]
        print(f"  {shape:<7} Prefect {prefect_us:>10.1f} µs/task   oxflow {mode:<9} {o['per_task_us']:>8.2f} µs/task   ratio {prefect_us / o['per_task_us']:>8.0f}x")
PY
