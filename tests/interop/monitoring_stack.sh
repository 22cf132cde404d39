#!/usr/bin/env bash
# Interop check: the setup `monitor init` writes runs as is on Debian's Prometheus,
# Pushgateway, Alertmanager and blackbox exporter, and alerts reach a webhook.
#  (a) every file passes its tool: `promtool check config`, `check rules`, `test rules`,
#      `amtool check-config`, `prometheus-blackbox-exporter --config.check`; a second
#      `monitor init` keeps the files;
#  (b) the daemons start with those files; Prometheus scrapes a pipeline run with
#      `--metrics-addr` and reads a batch run's figures from the Pushgateway, with the labels and
#      values the run had;
#  (c) the blackbox exporter probes each server's /ping (a real `serve` of the example's
#      registered model answers; a closed port does not) and Prometheus scrapes its scoring
#      metrics while it answers requests;
#  (d) every PromQL expression of the rules and dashboards evaluates without error, and every
#      rule is healthy;
#  (e) a failed DAG run and a drifted batch (`oxflow drift --pushgateway`, column names with
#      quotes, a newline and non-ASCII letters) each bring their alert to the webhook in time;
#  (f) the pushed text with those names passes `promtool check metrics`.
# Installs Debian's packages if missing (apt-get). Daemons run on loopback, each with its own
# data directory and port, and are stopped by pid. Intervals are 1 s, Alertmanager waits 1 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
WORK="$(mktemp -d /tmp/oxflow-monitoring.XXXXXX)"
PIDS=()
HELPER="$ROOT/tests/interop/monitoring_stack.py"
# How long an alert may take from the event to the webhook.
ALERT_TIMEOUT=${ALERT_TIMEOUT:-30}

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

missing=()
for pair in prometheus:prometheus promtool:prometheus prometheus-pushgateway:prometheus-pushgateway \
    prometheus-alertmanager:prometheus-alertmanager amtool:prometheus-alertmanager \
    prometheus-blackbox-exporter:prometheus-blackbox-exporter; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ready() { # name url
    for _ in $(seq 1 200); do curl -sf -o /dev/null "$2" && return 0; sleep 0.05; done
    echo "$1 did not become ready at $2"; return 1
}
query() {
    curl -sf "http://127.0.0.1:$PROM/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["status"]=="success", d; print(json.dumps(d["data"]["result"]))'
}
# Waits until a query returns at least one series.
wait_series() { # query seconds
    for _ in $(seq 1 $(( $2 * 10 ))); do
        [ "$(query "$1")" != "[]" ] && return 0
        sleep 0.1
    done
    echo "no series for $1"; return 1
}
now() { date +%s.%N; }

results=()
status=0
check() { # label, command...
    local label=$1; shift
    if "$@"; then results+=("PASS $label"); else results+=("FAIL $label"); status=1; fi
}
timings=()

echo "== building the pipelines"
cargo build --quiet --example quickstart --example nightly --example train_register --bin oxflow
QUICKSTART="$ROOT/target/debug/examples/quickstart"
NIGHTLY="$ROOT/target/debug/examples/nightly"
OXFLOW="$ROOT/target/debug/oxflow"
TRAIN="$ROOT/target/debug/examples/train_register"
mkdir -p "$WORK/srv"
(cd "$WORK/srv" && "$TRAIN" >train.log)

PROM=$(free_port); PUSH=$(free_port); AM=$(free_port); BB=$(free_port)
HOOK=$(free_port); SERVE=$(free_port); DEAD=$(free_port); METRICS=$(free_port)
STACK="$WORK/stack"

echo "== (a) monitor init, and each tool's check of its file"
init() {
    "$QUICKSTART" monitor init "$STACK" --pipeline "127.0.0.1:$METRICS" \
        --server "127.0.0.1:$SERVE" --server "127.0.0.1:$DEAD" \
        --prometheus "127.0.0.1:$PROM" --pushgateway "127.0.0.1:$PUSH" \
        --alertmanager "127.0.0.1:$AM" --blackbox "127.0.0.1:$BB" \
        --webhook "http://127.0.0.1:$HOOK/alerts" \
        --scrape-interval 1s --evaluation-interval 1s --group-wait 1s "$@"
}
init >"$WORK/init.log"
check "promtool check config" promtool check config "$STACK/prometheus.yml"
check "promtool check rules" promtool check rules --lint-fatal "$STACK/alert_rules.yml"
check "promtool test rules" promtool test rules "$STACK/alert_rules_test.yml"
check "amtool check-config" amtool check-config "$STACK/alertmanager.yml"
check "blackbox exporter --config.check" \
    prometheus-blackbox-exporter --config.check --config.file="$STACK/blackbox.yml"
check "dashboards are JSON" python3 -c 'import json,sys; [json.load(open(p)) for p in sys.argv[1:]]' "$STACK"/grafana/dashboards/*.json
set +e; init >/dev/null 2>"$WORK/again.err"; rc=$?; set -e
check "a second init is refused (exit $rc) and names the files" \
    bash -c "[ $rc = 2 ] && grep -q 'prometheus.yml' '$WORK/again.err' && grep -q -- '--force' '$WORK/again.err'"

echo "== (b) the daemons, with the files as written"
t0=$(now)
mkdir -p "$WORK/hook"
python3 "$HELPER" serve "$HOOK" "$WORK/hook" >"$WORK/hook.log" 2>&1 & PIDS+=($!)
(cd "$WORK/srv" && exec "$TRAIN" serve models:/house-prices@champion --port "$SERVE" --no-access-log) \
    >"$WORK/serve.log" 2>&1 & PIDS+=($!)
wait_ready "oxflow serve" "http://127.0.0.1:$SERVE/ping"
# Scoring traffic for the rest of the check: valid requests and, now and then, a malformed one.
(while sleep 0.1; do
    curl -s -o /dev/null -H 'Content-Type: application/json' \
        -d '{"dataframe_records": [{"area": 75, "rooms": 3, "age (years)": 20}]}' "http://127.0.0.1:$SERVE/invocations"
    curl -s -o /dev/null -H 'Content-Type: application/json' \
        -d '{"dataframe_records": [{"area": 75}]}' "http://127.0.0.1:$SERVE/invocations"
done) & PIDS+=($!)
# Debian's pushgateway persists to /var/lib/prometheus/pushgateway.data unless told otherwise:
# every run on the machine would share (and start from) the groups of the others.
prometheus-pushgateway --web.listen-address="127.0.0.1:$PUSH" --persistence.file="$WORK/pushgateway.data" \
    >"$WORK/pushgateway.log" 2>&1 & PIDS+=($!)
prometheus-alertmanager --config.file="$STACK/alertmanager.yml" --storage.path="$WORK/am-data" \
    --web.listen-address="127.0.0.1:$AM" --cluster.listen-address= >"$WORK/alertmanager.log" 2>&1 & PIDS+=($!)
prometheus-blackbox-exporter --config.file="$STACK/blackbox.yml" \
    --web.listen-address="127.0.0.1:$BB" >"$WORK/blackbox.log" 2>&1 & PIDS+=($!)
prometheus --config.file="$STACK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
    --web.listen-address="127.0.0.1:$PROM" >"$WORK/prometheus.log" 2>&1 & PIDS+=($!)
wait_ready pushgateway "http://127.0.0.1:$PUSH/-/ready"
wait_ready alertmanager "http://127.0.0.1:$AM/-/ready"
wait_ready blackbox "http://127.0.0.1:$BB/metrics"
wait_ready prometheus "http://127.0.0.1:$PROM/-/ready"
wait_ready "webhook stand-in" "http://127.0.0.1:$HOOK/ping"
# prometheus, pushgateway, 1 pipeline, 2 servers, 2 probes.
check "Prometheus has all 7 targets" python3 "$HELPER" targets "127.0.0.1:$PROM" 7 20
timings+=("daemons started and targets active: $(python3 -c "print(f'{$(now) - $t0:.1f}')") s")

mkdir -p "$WORK/b"
(cd "$WORK/b" && "$NIGHTLY" run nightly -P wait=4 --metrics-addr "127.0.0.1:$METRICS" >run.log 2>&1) &
RUN=$!
check "a running pipeline is scraped by job oxflow-pipelines" \
    wait_series 'up{job="oxflow-pipelines"} == 1' 15
check "tasks running, labelled service and dag" \
    wait_series 'oxflow_tasks_running{job="oxflow-pipelines",service="nightly",dag="nightly"} == 1' 15
wait "$RUN"
(cd "$WORK/b" && "$QUICKSTART" run quickstart --pushgateway "http://127.0.0.1:$PUSH" >push.log 2>&1)
check "a pushed run: job=quickstart, state success, 1 run" wait_series \
    'oxflow_dag_runs_total{job="quickstart",dag="quickstart",state="success",service="quickstart"} == 1' 15
check "a pushed run: the flaky task retried twice" wait_series \
    'oxflow_task_retries_total{job="quickstart",dag="quickstart",task="fetch_labels"} == 2' 15
check "a pushed run: last success within the last minute" wait_series \
    'time() - oxflow_dag_last_success_timestamp_seconds{job="quickstart",dag="quickstart"} < 60' 15

echo "== (c) probes and a scoring server's metrics"
check "the server's /ping answers the probe" \
    wait_series "probe_success{job=\"oxflow-ping\",instance=\"http://127.0.0.1:$SERVE/ping\"} == 1" 15
check "a closed port fails the probe" \
    wait_series "probe_success{job=\"oxflow-ping\",instance=\"http://127.0.0.1:$DEAD/ping\"} == 0" 15
check "the server's model version" \
    wait_series 'oxflow_model_info{job="oxflow-serve",model="house-prices",version="1",alias="champion"} == 1' 15
check "schema errors by column from the server" wait_series \
    'rate(oxflow_serve_schema_errors_total{job="oxflow-serve",model="house-prices",column="rooms"}[1m]) > 0' 15
check "p99 latency from the server's histogram" wait_series \
    'histogram_quantile(0.99, sum by (model, le) (rate(oxflow_serve_request_duration_seconds_bucket{job="oxflow-serve"}[1m]))) > 0' 15

echo "== (e) a failed DAG run reaches the webhook"
check "no alert at the webhook while every run succeeded" \
    bash -c "[ ! -s '$WORK/hook/alerts.jsonl' ]"
set +e
(cd "$WORK/b" && "$QUICKSTART" run quickstart -P test_fraction=1.0 --pushgateway "http://127.0.0.1:$PUSH" >fail.log 2>&1)
rc=$?
set -e
check "the run fails (exit $rc)" test "$rc" = 1
since=$(now)
if took=$(python3 "$HELPER" wait-alert "$WORK/hook" "$since" "$ALERT_TIMEOUT" OxflowDagRunFailed dag=quickstart severity=critical); then
    results+=("PASS OxflowDagRunFailed{dag=quickstart} at the webhook ${took} s after the run ended")
    timings+=("failed run -> webhook: $took s")
else
    results+=("FAIL OxflowDagRunFailed{dag=quickstart} not at the webhook within $ALERT_TIMEOUT s"); status=1
fi

echo "== (e) a drifted batch reaches the webhook"
mkdir -p "$WORK/e"
python3 - "$WORK/e" <<'PYEOF'
import csv, sys
# Two of three columns drift: the dataset drifts (share 2/3 >= 0.5); größe does not.
header = ['price "usd"', 'two\nlines', 'größe']
for name, shift in (("ref.csv", 0), ("cur.csv", 500)):
    with open(f"{sys.argv[1]}/{name}", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i in range(200):
            w.writerow([i + shift, i % 3 + (3 if shift else 0), i % 5])
PYEOF
(cd "$WORK/e" && "$OXFLOW" drift --reference ref.csv --current cur.csv \
    --pushgateway "http://127.0.0.1:$PUSH" --push-job nightly_drift >drift.log 2>&1)
since=$(now)
if took=$(python3 "$HELPER" wait-alert "$WORK/hook" "$since" "$ALERT_TIMEOUT" OxflowFeatureDrifted 'feature=price "usd"'); then
    results+=("PASS OxflowFeatureDrifted{feature=price \"usd\"} at the webhook ${took} s after the check ended")
    timings+=("drifted batch -> webhook: $took s")
else
    results+=("FAIL OxflowFeatureDrifted not at the webhook within $ALERT_TIMEOUT s"); status=1
fi
check "OxflowDatasetDrift{job=nightly_drift} at the webhook" \
    python3 "$HELPER" wait-alert "$WORK/hook" "$since" "$ALERT_TIMEOUT" OxflowDatasetDrift job=nightly_drift
check "an undrifted feature does not alert" bash -c "! grep -q 'größe' '$WORK/hook/alerts.jsonl'"

echo "== (f) the pushed text passes promtool check metrics"
# The same check pushed to the stand-in, which keeps the body.
(cd "$WORK/e" && "$OXFLOW" drift --reference ref.csv --current cur.csv \
    --pushgateway "http://127.0.0.1:$HOOK" >capture.log 2>&1)
check "escaped names in the pushed text" \
    grep -q 'feature="two\\nlines"' "$WORK/hook/pushed.txt"
check "promtool check metrics on the pushed text" promtool check metrics <"$WORK/hook/pushed.txt"

echo "== (d) every expression of the rules and dashboards"
check "rules and dashboard queries evaluate without error" \
    python3 "$HELPER" exprs "127.0.0.1:$PROM" "$STACK"

echo
echo "== timings"
printf '%s\n' "${timings[@]}"
echo "== summary"
printf '%s\n' "${results[@]}"
passed=$(printf '%s\n' "${results[@]}" | grep -c '^PASS' || true)
failed=$(printf '%s\n' "${results[@]}" | grep -c '^FAIL' || true)
echo "monitoring stack interop: $passed passed, $failed failed"
exit $status
