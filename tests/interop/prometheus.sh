#!/usr/bin/env bash
# Interop check: a real Prometheus scrapes a pipeline binary's /metrics, and reads a batch
# run's figures from a real Pushgateway after the process has exited.
#  (a) `run nightly --metrics-addr`: Prometheus scrapes it while the run lasts; the series carry
#      the `service` label and no run id;
#  (b) `run quickstart --pushgateway`: after the process exits, Prometheus (scraping the
#      Pushgateway with honor_labels) has the run's last-success timestamp for job="quickstart";
#  (c) `promtool check metrics` accepts what oxflow exposes;
#  (d) a Pushgateway that is down costs a warning, not the run;
#  (e) `oxflow drift --pushgateway`: column names with quotes, a backslash, a newline and
#      non-ASCII letters come back from Prometheus exactly as written (escaped in the text format);
#  (f) `monitor rules` (also with registered models' own thresholds, tagged through MLflow's
#      client): `promtool check rules --lint-fatal` (no duplicate rules) and `promtool test
#      rules` pass on what every binary writes, Prometheus loads the rules, and a failed
#      pushed run fires its alert.
# Installs Debian's prometheus and prometheus-pushgateway if missing (apt-get, ~1 min).
# Daemons run on loopback with their own data directory and are stopped by pid.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
WORK="$(mktemp -d /tmp/oxflow-prometheus.XXXXXX)"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v prometheus >/dev/null || ! command -v prometheus-pushgateway >/dev/null; then
    echo "== installing prometheus and prometheus-pushgateway (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends prometheus prometheus-pushgateway >/dev/null
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ready() { # name url
    for _ in $(seq 1 200); do curl -sf -o /dev/null "$2" && return 0; sleep 0.05; done
    echo "$1 did not become ready at $2"; return 1
}
# One instant query; prints the JSON result list.
query() {
    curl -sf "http://127.0.0.1:$PROM/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["status"]=="success", d; print(json.dumps(d["data"]["result"]))'
}
# Waits until a query returns at least one series (Prometheus scrapes every second here).
wait_series() { # query seconds
    for _ in $(seq 1 $(( $2 * 10 ))); do
        [ "$(query "$1")" != "[]" ] && return 0
        sleep 0.1
    done
    return 1
}

echo "== building the pipelines"
cargo build --quiet --example quickstart --example nightly --bin oxflow
QUICKSTART="$ROOT/target/debug/examples/quickstart"
NIGHTLY="$ROOT/target/debug/examples/nightly"
OXFLOW="$ROOT/target/debug/oxflow"

PUSH=$(free_port); PROM=$(free_port); METRICS=$(free_port)
# Debian's pushgateway persists to /var/lib/prometheus/pushgateway.data by default: shared by
# every run on the machine, so a run would start with the groups another one pushed.
prometheus-pushgateway --web.listen-address="127.0.0.1:$PUSH" --persistence.file="$WORK/pushgateway.data" \
    >"$WORK/pushgateway.log" 2>&1 &
PIDS+=($!)
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: pipeline
    static_configs: [{targets: ["127.0.0.1:$METRICS"]}]
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{targets: ["127.0.0.1:$PUSH"]}]
EOF
promtool check config "$WORK/prometheus.yml" >/dev/null
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
    --web.listen-address="127.0.0.1:$PROM" --web.enable-lifecycle >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
wait_ready pushgateway "http://127.0.0.1:$PUSH/-/ready"
wait_ready prometheus "http://127.0.0.1:$PROM/-/ready"
# Prometheus hands static targets to its scrape manager after a discovery delay (~5 s).
for _ in $(seq 1 150); do
    n=$(curl -sf "http://127.0.0.1:$PROM/api/v1/targets" |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["activeTargets"]))')
    [ "$n" = 2 ] && break
    sleep 0.1
done

results=()
status=0
check() { # label, command...
    local label=$1; shift
    if "$@"; then results+=("PASS $label"); else results+=("FAIL $label"); status=1; fi
}

echo "== (a) Prometheus scrapes a running pipeline"
mkdir -p "$WORK/a"
(cd "$WORK/a" && "$NIGHTLY" run nightly -P wait=4 --metrics-addr "127.0.0.1:$METRICS" >run.log 2>&1) &
RUN=$!
check "the running pipeline is scraped (up == 1)" wait_series 'up{job="pipeline"} == 1' 15
check "tasks running, labelled service and dag" \
    wait_series 'oxflow_tasks_running{job="pipeline",service="nightly",dag="nightly"} == 1' 15
curl -sf "http://127.0.0.1:$METRICS/metrics" >"$WORK/a/metrics.txt" || true
check "promtool check metrics accepts /metrics" promtool check metrics <"$WORK/a/metrics.txt"
check "no run id in any label" bash -c "! grep -Eq '[0-9a-f]{32}' '$WORK/a/metrics.txt'"
wait "$RUN"

echo "== (b) a batch run pushes, and Prometheus has it after the process exited"
mkdir -p "$WORK/b"
(cd "$WORK/b" && "$QUICKSTART" run quickstart --pushgateway "http://127.0.0.1:$PUSH" >run.log 2>&1)
check "last success of job=quickstart, pushed" wait_series \
    'oxflow_dag_last_success_timestamp_seconds{job="quickstart",dag="quickstart",service="quickstart"} > 0' 15
check "task runs by state, pushed" wait_series \
    'sum(oxflow_task_runs_total{job="quickstart",state="success"}) > 0' 15
check "a histogram, not a summary: quantile from buckets" wait_series \
    'histogram_quantile(0.9, sum by (le) (oxflow_task_duration_seconds_bucket{job="quickstart"})) >= 0' 15

echo "== (d) a Pushgateway that is down"
mkdir -p "$WORK/d"
DOWN=$(free_port)
set +e
(cd "$WORK/d" && "$QUICKSTART" run quickstart --pushgateway "http://127.0.0.1:$DOWN" >run.log 2>err.log)
rc=$?
set -e
check "the run succeeds (exit $rc)" test "$rc" = 0
check "with a warning naming the Pushgateway" grep -q "warning: cannot push metrics to http://127.0.0.1:$DOWN" "$WORK/d/err.log"

echo "== (e) drift gauges with column names from user data"
mkdir -p "$WORK/e"
python3 - "$WORK/e" <<'PYEOF'
import csv, sys
header = ['price "usd"', 'a\\b', 'two\nlines', 'größe']
for name, shift in (("ref.csv", 0), ("cur.csv", 500)):
    with open(f"{sys.argv[1]}/{name}", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i in range(200):
            w.writerow([i + shift, i % 7, i % 3, i % 5])
PYEOF
(cd "$WORK/e" && "$OXFLOW" drift --reference ref.csv --current cur.csv \
    --pushgateway "http://127.0.0.1:$PUSH" --push-job drift_check >run.log 2>&1)
check "drift gauges pushed" wait_series 'oxflow_drift_detected{job="drift_check"}' 15
features() {
    query 'oxflow_drift_detected{job="drift_check"}' |
        python3 -c 'import json,sys; print(sorted(r["metric"]["feature"] for r in json.load(sys.stdin)))'
}
check "feature labels round-trip exactly" test "$(features)" = "['a\\\\b', 'größe', 'price \"usd\"', 'two\\nlines']"

echo "== (f) alert rules and their unit tests"
mkdir -p "$WORK/f"
for bin in "$QUICKSTART" "$NIGHTLY" "$OXFLOW"; do
    name=$(basename "$bin")
    (cd "$WORK/f" && "$bin" monitor rules --out "$name.rules.yml" --tests "$name.test.yml" >/dev/null)
    check "promtool check rules ($name)" promtool check rules --lint-fatal "$WORK/f/$name.rules.yml"
    check "promtool test rules ($name)" promtool test rules "$WORK/f/$name.test.yml"
done
# Registered models with their own thresholds, tagged through MLflow's client: their own
# rules, and unit tests that prove each fires at its threshold and the default rules leave it.
kept_results=("${results[@]}") kept_status=$status
source tests/interop/lib/mlflow.bash # (resets results and status)
results=("${kept_results[@]}") status=$kept_status
ensure_mlflow_venv
(cd "$WORK/f" && "$PY" - "sqlite:///$WORK/f/mlflow.db" <<'PYEOF'
import sys
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=sys.argv[1], registry_uri=sys.argv[1])
c.create_registered_model("fraud", tags={"oxflow.alert.max_error_ratio": "0.01"})
c.create_registered_model("churn v2", tags={"oxflow.alert.max_p99_latency": "100ms", "oxflow.alert.max_error_ratio": "0.2"})
c.create_registered_model("plain")
PYEOF
) >/dev/null 2>&1
(cd "$WORK/f" && "$OXFLOW" monitor rules --tracking-uri "sqlite:///$WORK/f/mlflow.db" \
    --out models.rules.yml --tests models.test.yml >/dev/null)
check "monitor rules reads the registered models' own thresholds" \
    grep -q 'model="churn v2"' "$WORK/f/models.rules.yml"
check "promtool check rules (per-model thresholds)" promtool check rules --lint-fatal "$WORK/f/models.rules.yml"
check "promtool test rules (per-model thresholds)" promtool test rules "$WORK/f/models.test.yml"
# The quickstart's rules in the running Prometheus: a pushed failed run fires its alert.
cp "$WORK/f/quickstart.rules.yml" "$WORK/alert_rules.yml"
printf 'rule_files: [alert_rules.yml]\n' >>"$WORK/prometheus.yml"
curl -sf -X POST "http://127.0.0.1:$PROM/-/reload" >/dev/null
printf '# TYPE oxflow_dag_runs_total counter\noxflow_dag_runs_total{dag="quickstart",state="failed"} 1\n' |
    curl -sf --data-binary @- "http://127.0.0.1:$PUSH/metrics/job/quickstart/instance/ci" >/dev/null
firing() {
    curl -sf "http://127.0.0.1:$PROM/api/v1/alerts" |
        python3 -c 'import json,sys; a=json.load(sys.stdin)["data"]["alerts"]; sys.exit(0 if any(x["labels"]["alertname"]=="OxflowDagRunFailed" and x["labels"].get("dag")=="quickstart" and x["state"]=="firing" for x in a) else 1)'
}
wait_firing() { for _ in $(seq 1 150); do firing && return 0; sleep 0.1; done; return 1; }
check "a pushed failed run fires OxflowDagRunFailed in Prometheus" wait_firing

echo
echo "== summary"
printf '%s\n' "${results[@]}"
passed=$(printf '%s\n' "${results[@]}" | grep -c '^PASS' || true)
failed=$(printf '%s\n' "${results[@]}" | grep -c '^FAIL' || true)
echo "prometheus interop: $passed passed, $failed failed"
exit $status
