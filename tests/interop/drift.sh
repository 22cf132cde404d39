#!/usr/bin/env bash
# Checks `oxflow drift` against scipy and Evidently 0.7 on fixed-seed datasets
# (p-values and statistics to 1e-9, default tests and decisions equal). Run from the repo root.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.ci/venv-drift
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "numpy==2.4.6" "scipy==1.17.1" "evidently==0.7.23" "pandas==2.3.3"
fi
cargo build --quiet --bin oxflow
OXFLOW_BIN=target/debug/oxflow "$VENV/bin/python" tests/interop/drift_check.py
