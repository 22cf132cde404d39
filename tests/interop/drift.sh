#!/usr/bin/env bash
# Checks `oxflow drift` against scipy and Evidently 0.7 on fixed-seed datasets (p-values and
# statistics to 1e-9, default tests and decisions equal), and the streaming detectors against
# river 0.26 (same detection positions). Run from the repo root.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.ci/venv-drift
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "numpy==2.4.6" "scipy==1.17.1" "evidently==0.7.23" "pandas==2.3.3" "river==0.26.1"
fi
"$VENV/bin/python" -c "import river" 2>/dev/null || "$VENV/bin/pip" install --quiet "river==0.26.1"
cargo build --quiet --bin oxflow --example drift_stream
status=0
OXFLOW_BIN=target/debug/oxflow "$VENV/bin/python" tests/interop/drift_check.py || status=1
DRIFT_STREAM_BIN=target/debug/examples/drift_stream "$VENV/bin/python" tests/interop/drift_stream_check.py || status=1
exit $status
