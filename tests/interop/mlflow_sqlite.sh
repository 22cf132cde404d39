#!/usr/bin/env bash
# Interop check: oxflow's SqlStore and MLflow 3.17.2 share one SQLite database.
#  (a) a database MLflow creates has the same schema (sqlite_master) as one oxflow creates;
#  (b) the Python client reads runs oxflow wrote (params, stepped metrics, NaN and inf, tags,
#      nested runs, artifacts, registry: versions, stage, alias);
#  (c) MLflow writes into oxflow's database, and oxflow opens and writes a database MLflow made;
#  (d) `mlflow db upgrade` leaves oxflow's database byte-identical;
#  (e) a Python writer and an oxflow writer log into one database at once: both succeed and
#      each sees the other's runs;
#  (f) `mlflow server --backend-store-uri sqlite:///…` serves oxflow's runs over REST;
#  (g) after kill -9 at 20 points of heavy logging, MLflow reads every run and flushed value;
#  (h) a database the scheduler wrote (schedule state as experiment tags, a scheduled run with
#      its logical date) is read by MLflow, survives `mlflow db upgrade` and the scheduler
#      goes on from it.
# Run from the repository root. Creates .ci/venv-mlflow on first use (pip, ~90 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/interop/lib/mlflow.bash
WORK="$(mktemp -d /tmp/oxflow-sqlite-interop.XXXXXX)"

cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT

ensure_mlflow_venv

echo "== building the writers"
cargo build --quiet --example tracking_interop --example sqlite_interop
WRITER="$ROOT/target/debug/examples/tracking_interop"
SQL="$ROOT/target/debug/examples/sqlite_interop"

echo "== (a) the same schema as MLflow's"
mkdir -p "$WORK/a"
"$SQL" create "$WORK/a/ours.db"
(cd "$WORK/a" && "$PY" -c 'import sys; from mlflow import MlflowClient; MlflowClient(sys.argv[1]).search_experiments()' \
    "sqlite:///$WORK/a/theirs.db" 2>/dev/null)
schema() {
    "$PY" - "$1" <<'PYEOF'
import re, sqlite3, sys
# MLflow's migrations emit a table's named constraints in set order, which changes with
# PYTHONHASHSEED (two `mlflow` runs differ), so constraints compare as a sorted list;
# columns keep their order.
def normalise(sql):
    m = re.match(r"(?s)(CREATE TABLE [^(]*\()(.*)(\n\))$", sql or "")
    if not m:
        return sql
    parts = m.group(2).split(", \n\t")
    constraint = re.compile(r"\s*(CONSTRAINT|CHECK|FOREIGN KEY|PRIMARY KEY|UNIQUE)\b")
    columns = [p for p in parts if not constraint.match(p)]
    constraints = sorted(p.strip() for p in parts if constraint.match(p))
    return m.group(1) + ", \n\t".join(columns + constraints) + m.group(3)
c = sqlite3.connect(sys.argv[1])
for kind, name, table, sql in c.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"):
    print((kind, name, table, normalise(sql)))
PYEOF
}
run_check "sqlite_master identical to MLflow's" diff <(schema "$WORK/a/ours.db") <(schema "$WORK/a/theirs.db")

echo "== (b) runs written by oxflow, read by the MLflow client"
mkdir -p "$WORK/b"
"$WRITER" "sqlite:///$WORK/b/mlflow.db" "$WORK/b/expected.json"
run_check "oxflow's database read by mlflow" env -C "$WORK/b" \
    "$PY" "$ROOT/tests/interop/check_tracking.py" "sqlite:///$WORK/b/mlflow.db" "$WORK/b/expected.json" sqlite
"$SQL" registry "$WORK/b/mlflow.db" >"$WORK/b/registry.txt"
run_check "registry written by oxflow, read by mlflow" env -C "$WORK/b" "$PY" - "$WORK/b/mlflow.db" <<'PYEOF'
import sys
from mlflow import MlflowClient
c = MlflowClient(f"sqlite:///{sys.argv[1]}")
m = c.get_registered_model("oxflow-model")
champion = c.get_model_version_by_alias("oxflow-model", "champion")
prod = c.get_latest_versions("oxflow-model", stages=["Production"])
# MLflow 3 returns versions as numbers, older releases as strings.
ok = str(champion.version) == "1" and [str(v.version) for v in prod] == ["2"] and m.tags.get("team") == "vision"
# MLflow adds a version on top of ours.
v3 = c.create_model_version("oxflow-model", "/tmp/model", run_id=None)
ok = ok and str(v3.version) == "3"
print(f"[registry] champion=v{champion.version} production={[v.version for v in prod]} next=v{v3.version} ok={ok}")
sys.exit(0 if ok else 1)
PYEOF

echo "== (c) MLflow writes into oxflow's database; oxflow writes into MLflow's"
run_check "mlflow writes into oxflow's database" env -C "$WORK/b" "$PY" - "$WORK/b/mlflow.db" <<'PYEOF'
import math, sys
from mlflow import MlflowClient
c = MlflowClient(f"sqlite:///{sys.argv[1]}")
exp = c.create_experiment("from-python")
run = c.create_run(exp)
c.log_metric(run.info.run_id, "x", float("nan"))
c.log_param(run.info.run_id, "p", "1")
c.set_terminated(run.info.run_id)
got = c.get_run(run.info.run_id)
ok = math.isnan(got.data.metrics["x"]) and got.data.params["p"] == "1"
open(sys.argv[1] + ".python-run", "w").write(run.info.run_id)
sys.exit(0 if ok else 1)
PYEOF
run_check "oxflow reads mlflow's run and writes into mlflow's database" \
    "$SQL" read-and-write "$WORK/b/mlflow.db" "$(cat "$WORK/b/mlflow.db.python-run")" "$WORK/a/theirs.db"
run_check "mlflow reads what oxflow wrote into its database" env -C "$WORK/a" "$PY" - "$WORK/a/theirs.db" <<'PYEOF'
import sys
from mlflow import MlflowClient
c = MlflowClient(f"sqlite:///{sys.argv[1]}")
exp = c.get_experiment_by_name("from-oxflow")
runs = c.search_runs([exp.experiment_id], "params.written_by = 'oxflow'")
ok = len(runs) == 1 and runs[0].data.metrics["acc"] == 0.5 and runs[0].info.status == "FINISHED"
sys.exit(0 if ok else 1)
PYEOF

echo "== (d) mlflow db upgrade leaves oxflow's database byte-identical"
"$SQL" create "$WORK/d.db"
cp "$WORK/d.db" "$WORK/d.before"
(cd "$WORK" && "$VENV/bin/mlflow" db upgrade "sqlite:///$WORK/d.db" >"$WORK/upgrade.log" 2>&1) || { tail -5 "$WORK/upgrade.log"; }
run_check "mlflow db upgrade is a no-op" cmp "$WORK/d.db" "$WORK/d.before"

echo "== (e) a Python writer and an oxflow writer at once"
mkdir -p "$WORK/e"
"$SQL" create "$WORK/e/mlflow.db"
(cd "$WORK/e" && "$PY" - "$WORK/e/mlflow.db" >"$WORK/e/python.out" 2>"$WORK/e/python.err" <<'PYEOF'
import sys
from mlflow import MlflowClient
c = MlflowClient(f"sqlite:///{sys.argv[1]}")
exp = c.get_experiment_by_name("concurrent") or c.get_experiment(c.create_experiment("concurrent"))
for i in range(30):
    r = c.create_run(exp.experiment_id, run_name=f"py{i}")
    for s in range(5):
        c.log_metric(r.info.run_id, "m", float(s), step=s)
    c.set_terminated(r.info.run_id)
print("python done")
PYEOF
) &
PYW=$!
"$SQL" concurrent "$WORK/e/mlflow.db" 30 >"$WORK/e/oxflow.out" 2>"$WORK/e/oxflow.err" &
OXW=$!
py_ok=0; ox_ok=0
wait "$PYW" && py_ok=1 || tail -5 "$WORK/e/python.err"
wait "$OXW" && ox_ok=1 || tail -5 "$WORK/e/oxflow.err"
run_check "both writers succeed" test "$py_ok$ox_ok" = 11
run_check "mlflow sees both writers' runs" env -C "$WORK/e" "$PY" - "$WORK/e/mlflow.db" <<'PYEOF'
import sys
from mlflow import MlflowClient
c = MlflowClient(f"sqlite:///{sys.argv[1]}")
exp = c.get_experiment_by_name("concurrent")
runs = c.search_runs([exp.experiment_id], max_results=1000)
names = [r.info.run_name for r in runs]
py = sum(n.startswith("py") for n in names); ox = sum(n.startswith("ox") for n in names)
hist_ok = all(len(c.get_metric_history(r.info.run_id, "m")) == 5 for r in runs)
print(f"[concurrent] python runs={py} oxflow runs={ox} histories complete={hist_ok}")
sys.exit(0 if py == 30 and ox == 30 and hist_ok else 1)
PYEOF
run_check "oxflow sees both writers' runs" "$SQL" count "$WORK/e/mlflow.db" concurrent 60

echo "== (f) mlflow server over oxflow's database"
if start_server "$WORK/server.log" --backend-store-uri "sqlite:///$WORK/b/mlflow.db"; then
    run_check "REST calls over oxflow's database" "$PY" - "$URL" "$WORK/b/expected.json" <<'PYEOF'
import json, sys, urllib.request
url, expected = sys.argv[1], json.load(open(sys.argv[2]))
def call(path, body=None):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
runs = call("/api/2.0/mlflow/runs/search", {"experiment_ids": [expected["experiment_id"]], "max_results": 100})["runs"]
run = call("/api/2.0/mlflow/runs/get?run_id=" + expected["parent"]["run_id"])["run"]
ok = len(runs) == expected["active_runs"]
ok = ok and {p["key"]: p["value"] for p in run["data"]["params"]} == expected["parent"]["params"]
print(f"[server] runs={len(runs)} ok={ok}")
sys.exit(0 if ok else 1)
PYEOF
else
    results+=("FAIL mlflow server over oxflow's database did not start"); status=1
fi
stop_server

echo "== (g) kill -9 twenty times during heavy logging; MLflow reads every run"
run_check "kill -9 x20: integrity_check and every flushed value (oxflow's test)" \
    env OXFLOW_TEST_KILL9_DIR="$WORK/g" cargo test --quiet --test tracking -- --exact \
    kill_9_twenty_times_leaves_an_intact_sqlite_database
run_check "kill -9 x20: mlflow reads every run" env -C "$WORK/g" "$PY" - "$WORK/g" <<'PYEOF'
import glob, os, sys
from mlflow import MlflowClient
d = sys.argv[1]
c = MlflowClient(f"sqlite:///{d}/mlflow.db")
exp = c.get_experiment_by_name("crash")
runs = c.search_runs([exp.experiment_id], max_results=100)
ok = len(runs) == 20
for progress in glob.glob(os.path.join(d, "progress*")):
    if progress.endswith((".run", ".tmp")):
        continue
    flushed = int(open(progress).read())
    run_id = open(progress + ".run").read()
    for key in ("loss", "acc"):
        hist = c.get_metric_history(run_id, key)
        ok = ok and len(hist) >= flushed and sorted(m.step for m in hist) == list(range(len(hist)))
    ok = ok and c.get_run(run_id).data.params.get("kind") == "heavy"
print(f"[kill -9] runs={len(runs)} ok={ok}")
sys.exit(0 if ok else 1)
PYEOF

echo "== (h) the scheduler's state and runs, read by MLflow"
mkdir -p "$WORK/h"
cargo build --quiet --example quickstart
QUICK="$ROOT/target/debug/examples/quickstart"
# Catchup off: the scheduler starts the latest complete interval of `0 3 * * *` at once.
(cd "$WORK/h" && timeout -s INT 4 "$QUICK" scheduler --dag quickstart --tracking-uri "sqlite:///$WORK/h/mlflow.db" >/dev/null 2>&1 || true)
run_check "mlflow reads the schedule state and the scheduled run" env -C "$WORK/h" "$PY" - "$WORK/h" <<'PYEOF'
import sys
from mlflow import MlflowClient
c = MlflowClient(f"sqlite:///{sys.argv[1]}/mlflow.db")
exp = c.get_experiment_by_name("quickstart")
end = exp.tags.get("oxflow.schedule.last_interval_end")
runs = [r for r in c.search_runs([exp.experiment_id]) if "mlflow.parentRunId" not in r.data.tags]
ok = bool(end) and len(runs) == 1
r = runs[0] if runs else None
ok = ok and r.data.tags.get("oxflow.run_type") == "scheduled" and r.data.tags.get("oxflow.data_interval_end") == end
ok = ok and r.info.run_name == "scheduled__" + r.data.tags["oxflow.logical_date"].replace("Z", "+00:00")
print(f"[scheduler] last_interval_end={end} runs={len(runs)} ok={ok}")
sys.exit(0 if ok else 1)
PYEOF
run_check "mlflow db upgrade on the scheduler's database" env -C "$WORK/h" "$VENV/bin/mlflow" db upgrade "sqlite:///$WORK/h/mlflow.db"
(cd "$WORK/h" && timeout -s INT 3 "$QUICK" scheduler --dag quickstart --tracking-uri "sqlite:///$WORK/h/mlflow.db" >/dev/null 2>&1 || true)
run_check "the scheduler goes on after mlflow db upgrade, repeating nothing" \
    test "$(sqlite3 "$WORK/h/mlflow.db" "select count(*) from runs r join tags t on t.run_uuid = r.run_uuid where t.key = 'oxflow.run_type'")" = 1

echo
echo "== summary"
printf '%s\n' "${results[@]}"
passed=$(printf '%s\n' "${results[@]}" | grep -c '^PASS' || true)
failed=$(printf '%s\n' "${results[@]}" | grep -c '^FAIL' || true)
echo "mlflow sqlite interop: $passed passed, $failed failed"
exit $status
