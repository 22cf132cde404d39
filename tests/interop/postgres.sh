#!/usr/bin/env bash
# Interop check: the PostgreSQL hook (`--features postgres`) against a real PostgreSQL server.
#  A throwaway cluster (initdb in a temporary directory, 127.0.0.1 on a free port, password
#  authentication) runs as a user other than root; OXFLOW_CONN_WAREHOUSE holds its URI in
#  Airflow's form, and tests/postgres_hook.rs runs a DAG whose task creates a table, inserts
#  rows and reads them back, then checks that a wrong password fails naming the connection.
# Installs Debian's postgresql if initdb and pg_ctl are not found (apt-get, ~1 min).
# The server is stopped by pid when the script exits.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK="$(mktemp -d /tmp/oxflow-postgres.XXXXXX)"
PGPID=""     # the postmaster, from postmaster.pid
LAUNCHER=""  # the process started here (runuser when run as root)

cleanup() {
    # SIGINT is PostgreSQL's "fast" shutdown: clients are disconnected, the server stops.
    for pid in $PGPID $LAUNCHER; do kill -INT "$pid" 2>/dev/null || true; done
    for pid in $PGPID $LAUNCHER; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

pg_bin() {
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    done
    return 1
}

if ! PGBIN="$(pg_bin)"; then
    echo "== installing postgresql (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    PGBIN="$(pg_bin)"
fi
echo "== using $PGBIN"

# PostgreSQL refuses to run as root: run it as the `postgres` user Debian's package creates.
AS=()
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$WORK"
    AS=(runuser -u postgres --)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
PASSWORD='s3cret p@ss/word'
DATA="$WORK/data"
printf '%s\n' "$PASSWORD" >"$WORK/pwfile"
chmod 644 "$WORK/pwfile"

"${AS[@]}" "$PGBIN/initdb" -D "$DATA" -U oxflow --pwfile="$WORK/pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log"; exit 1; }
# A socket directory of our own: /var/run/postgresql may not exist or be writable.
"${AS[@]}" "$PGBIN/postgres" -D "$DATA" -h 127.0.0.1 -p "$PORT" -k "$WORK" \
    >"$WORK/postgres.log" 2>&1 &
LAUNCHER=$!
for _ in $(seq 1 200); do
    "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
    kill -0 "$LAUNCHER" 2>/dev/null || { cat "$WORK/postgres.log"; exit 1; }
    sleep 0.1
done
"$PGBIN/pg_isready" -h 127.0.0.1 -p "$PORT"
PGPID=$(head -n 1 "$DATA/postmaster.pid")

# Airflow's URI form: the password percent-encoded, the database as the path.
ENCODED=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PASSWORD")
export OXFLOW_CONN_WAREHOUSE="postgres://oxflow:$ENCODED@127.0.0.1:$PORT/postgres?sslmode=disable"

echo "== cargo test --features postgres --test postgres_hook"
cargo test --features postgres --test postgres_hook -- --nocapture 2>&1 | tee "$WORK/test.log"
# The test skips itself without the server: make sure it did not.
if grep -q "is not set; skipping" "$WORK/test.log"; then
    echo "the PostgreSQL tests skipped themselves although OXFLOW_CONN_WAREHOUSE is set"
    exit 1
fi
echo "postgres interop: ok"
