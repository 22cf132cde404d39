#!/usr/bin/env bash
# Drift benchmark: oxflow (in memory and the CLI on two CSV files), scipy and Evidently 0.7 on
# the same fixed-seed data (tests/interop/drift_gen_data.py), 25 columns (20 numerical,
# 5 categorical). Prints wall time, peak memory and ratios.
#
# usage: bench/drift.sh [ROWS] [EVIDENTLY_ROWS]    (defaults 1000000 and ROWS)
# Evidently needs ~4 minutes at 1M rows; pass a smaller EVIDENTLY_ROWS to measure it at that
# size (its ratio is then against oxflow at the same size, which this script also measures).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
EV_ROWS=${2:-$ROWS}
VENV=.ci/venv-drift
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "numpy==2.4.6" "scipy==1.17.1" "evidently==0.7.23" "pandas==2.3.3"
fi
cargo build --quiet --release --bin oxflow
cargo bench --quiet --bench drift --no-run 2>/dev/null
BENCH=$(ls -t target/release/deps/drift-* | grep -v '\.d$' | head -n1)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
OUT="$TMP/results.jsonl"

# run NAME CMD...: runs under /usr/bin/time -v, appends {"name", "json" (last stdout line), wall, rss}
run() {
  local name=$1; shift
  local line
  line=$( { /usr/bin/time -v "$@" 2> "$TMP/time"; } | tail -n1 )
  python3 - "$name" "$line" "$TMP/time" >> "$OUT" <<'PY'
import json, sys
name, line, tf = sys.argv[1], sys.argv[2], sys.argv[3]
t = open(tf).read()
get = lambda k: next(l.split(": ", 1)[1] for l in t.splitlines() if k in l)
m, s = get("Elapsed (wall clock)").rsplit(":", 1)
wall = float(m.split(":")[-1]) * 60 + float(s) + (float(m.split(":")[0]) * 3600 if m.count(":") else 0)
try: j = json.loads(line)
except Exception: j = {}
print(json.dumps({"name": name, "result": j, "process_wall_s": wall, "user_s": float(get("User time")),
                  "peak_rss_mb": int(get("Maximum resident set size")) / 1024}))
PY
  tail -n1 "$OUT"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); cores: $(nproc)"
run oxflow "$BENCH" "$ROWS"
[ "$EV_ROWS" != "$ROWS" ] && run oxflow_ev_size "$BENCH" "$EV_ROWS"
run scipy "$VENV/bin/python" bench/drift_scipy.py "$ROWS"
"$BENCH" "$ROWS" --write-csv "$TMP" 2>/dev/null
echo "CSV sizes: $(du -h "$TMP/reference.csv" | cut -f1) + $(du -h "$TMP/current.csv" | cut -f1)"
run cli target/release/oxflow drift --reference "$TMP/reference.csv" --current "$TMP/current.csv" --json "$TMP/cli.json"
run evidently "$VENV/bin/python" bench/drift_evidently.py "$EV_ROWS"

python3 - "$OUT" "$ROWS" "$EV_ROWS" <<'PY'
import json, sys
rows = {}
for l in open(sys.argv[1]):
    d = json.loads(l); rows[d["name"]] = d
n, nev = int(sys.argv[2]), int(sys.argv[3])
ox = rows["oxflow"]; r = ox["result"]
t_ox = r["detect_s_median"]
print()
print(f"== {n:,} rows x 25 columns (20 numerical, 5 categorical), reference vs current ==")
print(f"oxflow detect (default report, no HTML): {t_ox:.3f} s wall median of 3 {[round(x, 3) for x in r['detect_s_runs']]}, "
      f"CPU {r.get('detect_cpu_s_runs')} s, "
      f"{r['drifted_count']} drifted columns, peak RSS {r['peak_rss_bytes']/2**20:.0f} MiB = "
      f"{r['peak_over_data']:.2f}x the two datasets ({r['data_bytes']/2**20:.0f} MiB)")
sc = rows["scipy"]["result"]
print(f"scipy ks_2samp x20 + chisquare x5: {sc['ks_chi_s']:.2f} s; Wasserstein + JS (Evidently's defaults): "
      f"{sc['evidently_defaults_s']:.2f} s; peak RSS {rows['scipy']['peak_rss_mb']:.0f} MiB")
print(f"  ratio scipy KS+chi-square / oxflow = {sc['ks_chi_s']/t_ox:.1f}x ; scipy Evidently-defaults / oxflow = {sc['evidently_defaults_s']/t_ox:.1f}x")
cli = rows["cli"]
print(f"oxflow CLI on two {n:,}-row CSV files: {cli['process_wall_s']:.2f} s wall, {cli['user_s']:.2f} s CPU, peak RSS {cli['peak_rss_mb']:.0f} MiB")
ev = rows["evidently"]; evr = ev["result"]
t_ox_ev = t_ox if nev == n else rows["oxflow_ev_size"]["result"]["detect_s_median"]
print(f"Evidently {evr.get('version')} DataDriftPreset run() at {nev:,} rows: {evr['report_run_s']:.1f} s, "
      f"{evr['drifted_count']} drifted columns, peak RSS {ev['peak_rss_mb']:.0f} MiB")
print(f"  ratio Evidently / oxflow at {nev:,} rows = {evr['report_run_s']/t_ox_ev:.0f}x")
PY
