#!/usr/bin/env bash
# Interop check: MLflow (3.17.2) Projects and `oxflow project run` on one MLproject.
#  - `mlflow run DIR -e main -P alpha=0.5 --env-manager local` and `oxflow project run DIR
#    --file mlproject -e main -P alpha=0.5` record into one SQLite store; the Rust entry point
#    (examples/project's `train`) logs into the run each of them created (MLFLOW_RUN_ID);
#  - MLflow's client sees the same source tags and parameters on both runs;
#  - `mlflow.projects.run` reruns oxflow's run from the source information oxflow recorded.
# The project is examples/project, committed to a git repository made here (no network).
# Run from the repository root. Creates .ci/venv-mlflow on first use (pip, ~90 s); the first
# release build of the project takes several minutes (shared with tests/project.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib/mlflow.bash
WORK="$(mktemp -d /tmp/oxflow-project.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

ensure_mlflow_venv

echo "== building oxflow"
cargo build --quiet --bin oxflow
OXFLOW="${CARGO_TARGET_DIR:-$ROOT/target}/debug/oxflow"
# The project's release build, kept between runs (tests/project.rs uses the same directory).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/tmp/project-target}"
export OXFLOW_PROJECT_CACHE="$WORK/cache"

echo "== a git repository holding examples/project"
mkdir -p "$WORK/repo"
cp -r examples/project "$WORK/repo/wine"
rm -rf "$WORK/repo/wine/target"
sed -i "s|path = \"../..\"|path = \"$ROOT\"|" "$WORK/repo/wine/Cargo.toml"
git -C "$WORK/repo" init --quiet -b main
git -C "$WORK/repo" add -A
git -C "$WORK/repo" -c user.name=t -c user.email=t@example.com commit --quiet -m project

export MLFLOW_TRACKING_URI="sqlite:///$WORK/mlflow.db"
EXP=wine-interop
DIR="$WORK/repo/wine"
# mlflow runs the command in the project directory: `cargo run` there needs no PATH change.
run_check "mlflow run (MLproject, --env-manager local)" env -C "$WORK" PATH="$VENV/bin:$PATH" \
    "$VENV/bin/mlflow" run "$DIR" -e main -P alpha=0.5 --env-manager local --experiment-name "$EXP"
run_check "oxflow project run (MLproject)" env -C "$WORK" "$OXFLOW" project run "$DIR" \
    --file mlproject -e main -P alpha=0.5 --env-manager local --experiment-name "$EXP"
run_check "oxflow project run (oxflow.ron, from the git URL)" env -C "$WORK" "$OXFLOW" project run \
    "file://$WORK/repo#wine" -e main -P alpha=0.25 --experiment-name "$EXP"
run_check "mlflow reads both runs alike and reruns oxflow's" env -C "$WORK" PATH="$VENV/bin:$PATH" \
    "$PY" "$ROOT/tests/interop/check_project.py" "$MLFLOW_TRACKING_URI" "$EXP" "$DIR"

printf '%s\n' "${results[@]}"
exit $status
