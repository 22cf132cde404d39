#!/usr/bin/env bash
# Side-by-side models benchmark: oxflow (cargo bench --bench models, MLflow's SQLite schema)
# against the MLflow 3.17.2 Python client on its default SQLite store, in one go:
#   log a small model with signature and input example + register it, 100 times;
#   load the registered model by alias and predict one row, LOADS times (default 1000).
# Prints both and the ratios (target: 50x on both). Stores under BENCH_DIR (default /tmp).
# Uses (and creates if missing) .ci/venv-mlflow with mlflow 3.17.2 and scikit-learn.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/interop/lib/mlflow.bash
LOADS="${LOADS:-1000}"
OUT="$(mktemp -d "${BENCH_DIR:-/tmp}/oxflow-models-bench.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT
ensure_mlflow_venv
"$PY" -c 'import sklearn' 2>/dev/null || "$VENV/bin/pip" install --quiet scikit-learn

echo "== oxflow (release build)"
cargo bench --quiet --bench models -- --loads "$LOADS" --json "$OUT/oxflow.json"
echo "== mlflow $("$PY" -c 'import mlflow; print(mlflow.__version__)') (Python client, SQLite store)"
mkdir -p "$OUT/ml"
"$PY" bench/models.py "$OUT/ml" "$OUT/mlflow.json" "$LOADS"

echo
echo "== comparison ($(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg))"
"$PY" - "$OUT/oxflow.json" "$OUT/mlflow.json" <<'PYEOF'
import json, sys
ox, ml = (json.load(open(p)) for p in sys.argv[1:3])
n = ox["loads"]
print(f"{'workload':44} {'mlflow':>10} {'oxflow':>10} {'ratio':>8}")
for key, label in (("log_register_100_s", "log + register a model, 100 times"),
                   ("load_predict_s", f"load by alias + predict 1 row, {n} times")):
    print(f"{label:44} {ml[key]:>9.2f}s {ox[key]:>9.3f}s {ml[key] / ox[key]:>7.0f}x")
PYEOF
