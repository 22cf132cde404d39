#!/usr/bin/env bash
# Interop check: MLflow (3.17.2) and oxflow share a model registry.
#  (a) MLflow's client reads a registry written by oxflow's file store (models/, versions,
#      tags, aliases, stages) and adds a version to it;
#  (b) oxflow's RestStore keeps a registry on a local `mlflow server` (SQLite) through
#      MLflow's registry REST endpoints, and MLflow's client reads it back.
# Run from the repository root. Creates .ci/venv-mlflow on first use (pip, ~90 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib/mlflow.bash
WORK="$(mktemp -d /tmp/oxflow-registry.XXXXXX)"

cleanup() {
    stop_server
    rm -rf "$WORK"
}

trap cleanup EXIT

ensure_mlflow_venv

echo "== building the writer"
cargo build --quiet --example registry_interop
WRITER="$ROOT/target/debug/examples/registry_interop"

echo "== (a) registry written by oxflow's file store, read by the MLflow client"
run_check "oxflow writes a file registry" "$WRITER" "$WORK/mlruns" "$WORK/expected.json"
run_check "file registry read by mlflow" env -C "$WORK" MLFLOW_ALLOW_FILE_STORE=true \
    "$PY" "$ROOT/tests/interop/check_registry.py" "file://$WORK/mlruns" "$WORK/expected.json"

echo "== (b) oxflow's RestStore keeps a registry on a local mlflow server"
mkdir -p "$WORK/server"
if start_server "$WORK/server.log" --backend-store-uri "sqlite:///$WORK/server/mlflow.db" \
        --artifacts-destination "$WORK/server/artifacts"; then
    run_check "registry calls over REST" "$WRITER" "$URL" "$WORK/expected-rest.json"
    run_check "REST registry read by mlflow" env -C "$WORK" \
        "$PY" "$ROOT/tests/interop/check_registry.py" "$URL" "$WORK/expected-rest.json"
else
    results+=("FAIL mlflow server did not start"); status=1
fi

printf '%s\n' "${results[@]}"
exit $status
