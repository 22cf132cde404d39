# Shared by the MLflow interop checks (sourced, not run: .ci/run runs tests/interop/*.sh only).
# Expects the current directory to be the repository root. Sets ROOT, VENV, PY; provides
# ensure_mlflow_venv, start_server (sets URL and SERVER_PID), stop_server, and run_check (records
# PASS/FAIL lines in `results` and sets `status` to 1 on a failure).

ROOT=$PWD
VENV="$ROOT/.ci/venv-mlflow"
PY="$VENV/bin/python"
SERVER_PID=""
results=()
status=0

# run_check <label> <command...>: runs the command and records the outcome under the label.
run_check() {
    local label=$1
    shift
    if "$@"; then results+=("PASS $label"); else results+=("FAIL $label"); status=1; fi
}

# Creates .ci/venv-mlflow with mlflow 3.17.2 (the newest installable 3.x here) unless present.
ensure_mlflow_venv() {
    if ! "$PY" -c 'import mlflow, sys; sys.exit(mlflow.__version__ != "3.17.2")' 2>/dev/null; then
        echo "== creating $VENV with mlflow 3.17.2"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet mlflow==3.17.2
    fi
}

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        # The server runs in its own process group; stop the whole group.
        kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 20); do
            kill -0 -- "-$SERVER_PID" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}

# start_server <log> <mlflow server args...>: starts `mlflow server` on a free loopback port in
# its own process group and waits for /health; sets URL. Returns non-zero if it does not start.
# MLFLOW_COMMAND=ui starts `mlflow ui` instead (same flags); MLFLOW_CWD sets its working directory
# (where a plain `mlflow ui` looks for mlflow.db and ./mlruns).
start_server() {
    local log=$1
    shift
    local port
    port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    (cd "${MLFLOW_CWD:-.}" && MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false exec setsid "$VENV/bin/mlflow" \
        "${MLFLOW_COMMAND:-server}" "$@" --host 127.0.0.1 --port "$port" --workers 1 >"$log" 2>&1) &
    SERVER_PID=$!
    disown
    URL="http://127.0.0.1:$port"
    for _ in $(seq 1 180); do
        if curl -fs "$URL/health" >/dev/null 2>&1; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 1
    done
    tail -20 "$log"
    return 1
}
