//! Metrics out of a pipeline binary, driven as a user would: `--metrics-addr` serves
//! `/metrics` while a run lasts, `--pushgateway` pushes the run's figures when it ends, and
//! neither a busy port nor a dead Pushgateway is handled silently.
//!
//! The Pushgateway here is a few lines of TCP that record the request; the real Prometheus and
//! Pushgateway are in `tests/interop/prometheus.sh`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn example(name: &str) -> PathBuf {
    let mut p = std::env::current_exe().unwrap();
    p.pop();
    if p.ends_with("deps") {
        p.pop();
    }
    p.join("examples").join(name)
}

fn command(bin: &str, cwd: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(example(bin));
    c.args(args)
        .current_dir(cwd)
        .env_remove("OXFLOW_TRACKING_URI")
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("OXFLOW_LOG_DIR")
        .env_remove("OXFLOW_METRICS_ADDR")
        .env_remove("OXFLOW_PUSHGATEWAY");
    c
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A plain HTTP GET, returning the body.
fn get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn metrics_addr_serves_the_run_s_metrics_while_it_lasts() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let mut child = command(
        "nightly",
        dir.path(),
        &[
            "run",
            "nightly",
            "-P",
            "wait=2",
            "--metrics-addr",
            &addr.to_string(),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut body = String::new();
    while Instant::now() < deadline {
        if let Some(b) = get(addr, "/metrics")
            && b.contains("oxflow_tasks_running")
        {
            body = b;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(child.wait().unwrap().success());
    assert!(
        body.contains(r#"oxflow_tasks_running{service="nightly",dag="nightly"} 1"#),
        "{body}"
    );
    assert!(body.contains("# TYPE oxflow_tasks_running gauge"), "{body}");
}

#[test]
fn a_metrics_port_in_use_stops_the_run_before_it_starts_naming_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = command(
        "quickstart",
        dir.path(),
        &["run", "quickstart", "--metrics-addr", &addr],
    )
    .output()
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!("cannot serve metrics on {addr}")),
        "{stderr}"
    );
    assert!(!stdout.contains("run "), "no task ran: {stdout}");
}

/// A Pushgateway stand-in: answers one request with `status` after `delay`, and hands the
/// request line, headers and body to the test.
fn fake_pushgateway(status: u16, delay: Duration) -> (SocketAddr, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            head.push_str(&line);
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let _ = tx.send(format!("{head}\r\n{}", String::from_utf8_lossy(&body)));
        std::thread::sleep(delay);
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Length: 5\r\nConnection: close\r\n\r\nnope\n"
        );
    });
    (addr, rx)
}

#[test]
fn pushgateway_gets_the_finished_run_s_metrics_grouped_by_dag_and_host() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, request) = fake_pushgateway(200, Duration::ZERO);
    let out = command(
        "quickstart",
        dir.path(),
        &[
            "run",
            "quickstart",
            "--pushgateway",
            &format!("http://{addr}/"),
        ],
    )
    .output()
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let req = request.recv_timeout(Duration::from_secs(5)).unwrap();
    let host = nix_hostname();
    assert!(
        req.starts_with(&format!("PUT /metrics/job/quickstart/instance/{host} ")),
        "{req}"
    );
    for series in [
        r#"oxflow_dag_runs_total{service="quickstart",dag="quickstart",state="success"} 1"#,
        r#"oxflow_dag_last_success_timestamp_seconds{service="quickstart",dag="quickstart"}"#,
        r#"oxflow_task_duration_seconds_bucket{service="quickstart",dag="quickstart",task="fit_median",le="+Inf"} 1"#,
    ] {
        assert!(req.contains(series), "{series} missing from\n{req}");
    }
}

fn nix_hostname() -> String {
    String::from_utf8(
        Command::new("hostname")
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default(),
    )
    .unwrap()
    .trim()
    .to_owned()
}

#[test]
fn a_failed_or_slow_push_is_a_warning_and_the_run_still_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    // Refused with an error status.
    let (addr, _req) = fake_pushgateway(500, Duration::ZERO);
    let out = command(
        "quickstart",
        dir.path(),
        &[
            "run",
            "quickstart",
            "--pushgateway",
            &format!("http://{addr}"),
        ],
    )
    .output()
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: cannot push metrics to http://{addr}/metrics/job/quickstart"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("500"), "{stderr}");

    // Accepts and never answers: given up after the push timeout (5 s), not hung.
    let (addr, _req) = fake_pushgateway(200, Duration::from_secs(60));
    let start = Instant::now();
    let out = command(
        "quickstart",
        dir.path(),
        &[
            "run",
            "quickstart",
            "--pushgateway",
            &format!("http://{addr}"),
        ],
    )
    .output()
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("warning: cannot push metrics"), "{stderr}");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_pushgateway_url_that_is_not_http_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(
        "quickstart",
        dir.path(),
        &["run", "quickstart", "--pushgateway", "127.0.0.1:9091"],
    )
    .output()
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("invalid Pushgateway URL `127.0.0.1:9091`"),
        "{stderr}"
    );
    assert!(!stdout.contains("run "), "no task ran: {stdout}");
}

#[test]
fn a_drift_check_pushes_its_gauges_with_label_values_escaped() {
    let dir = tempfile::tempdir().unwrap();
    // Column names are user data: a quote, a backslash, a newline and non-ASCII letters.
    let header = "\"price \"\"usd\"\"\",\"a\\b\",\"two\nlines\",größe\n";
    let reference: String = (0..200)
        .map(|i| format!("{},{},{},{}\n", i, i % 7, i % 3, i % 5))
        .collect();
    let current: String = (0..200)
        .map(|i| format!("{},{},{},{}\n", i + 500, i % 7, i % 3, i % 5))
        .collect();
    std::fs::write(dir.path().join("ref.csv"), format!("{header}{reference}")).unwrap();
    std::fs::write(dir.path().join("cur.csv"), format!("{header}{current}")).unwrap();
    let (addr, request) = fake_pushgateway(200, Duration::ZERO);
    let out = Command::new(env!("CARGO_BIN_EXE_oxflow"))
        .current_dir(dir.path())
        .env_remove("OXFLOW_PUSHGATEWAY")
        .args([
            "drift",
            "--reference",
            "ref.csv",
            "--current",
            "cur.csv",
            "--pushgateway",
            &format!("http://{addr}"),
            "--push-job",
            "nightly_drift",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let req = request.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        req.starts_with("PUT /metrics/job/nightly_drift/instance/"),
        "{req}"
    );
    for series in [
        r#"oxflow_drift_detected{service="oxflow",feature="price \"usd\""} 1"#,
        r#"feature="a\\b""#,
        r#"feature="two\nlines""#,
        r#"feature="größe""#,
        r#"oxflow_drift_dataset_drift{service="oxflow"}"#,
    ] {
        assert!(req.contains(series), "{series} missing from\n{req}");
    }
}

#[test]
fn monitor_rules_writes_rules_and_their_tests_for_the_binary_s_dags() {
    let dir = tempfile::tempdir().unwrap();
    let out = command("quickstart", dir.path(), &["monitor", "rules"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let rules = std::fs::read_to_string(dir.path().join("alert_rules.yml")).unwrap();
    for name in [
        "OxflowDagRunFailed",
        "OxflowDagNotSucceeding",
        "OxflowTaskRetryingOften",
        "OxflowFeatureDrifted",
        "OxflowDatasetDrift",
        "OxflowTargetDown",
        "OxflowProbeFailing",
        "OxflowServeErrorRatioHigh",
        "OxflowServeLatencyHigh",
    ] {
        assert!(
            rules.contains(&format!("alert: {name}")),
            "{name}:\n{rules}"
        );
    }
    // quickstart runs at "0 3 * * *": stale after 2 days without a success.
    assert!(rules.contains("> 172800"), "{rules}");
    assert!(rules.contains("dag=\"quickstart\""), "{rules}");
    let tests = std::fs::read_to_string(dir.path().join("alert_rules_test.yml")).unwrap();
    assert!(tests.contains("- alert_rules.yml"), "{tests}");
    assert!(tests.matches("eval_time:").count() >= 12, "{tests}");

    // nightly has no schedule but its own thresholds: stale after 36 hours, more than 5
    // retries alert; a bad threshold is refused.
    let out = command(
        "nightly",
        dir.path(),
        &["monitor", "rules", "--out", "n.yml", "--tests", "nt.yml"],
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    let nightly = std::fs::read_to_string(dir.path().join("n.yml")).unwrap();
    assert!(nightly.contains("OxflowDagNotSucceeding"), "{nightly}");
    assert!(nightly.contains("> 129600"), "{nightly}");
    assert!(
        nightly.contains("(the DAG's alerts(stale_after))"),
        "{nightly}"
    );
    assert!(nightly.contains("[1h])) > 5"), "{nightly}");
    assert!(!rules.contains("[1h])) > 5"), "{rules}");
    let nightly_tests = std::fs::read_to_string(dir.path().join("nt.yml")).unwrap();
    assert!(nightly_tests.contains("values: 6x10"), "{nightly_tests}");
    let out = command(
        "quickstart",
        dir.path(),
        &["monitor", "rules", "--stale-after-intervals", "0"],
    )
    .output()
    .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("--stale-after-intervals must be a positive number"),
        "{stderr}"
    );
}

#[test]
fn monitor_rules_takes_the_serving_thresholds_from_its_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(
        "quickstart",
        dir.path(),
        &[
            "monitor",
            "rules",
            "--max-error-ratio",
            "0.01",
            "--max-p99-latency",
            "2s",
        ],
    )
    .output()
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let rules = std::fs::read_to_string(dir.path().join("alert_rules.yml")).unwrap();
    assert!(
        rules.contains("more than 1% of scoring requests fail"),
        "{rules}"
    );
    assert!(rules.contains("p99 scoring latency above 2s"), "{rules}");
    let out = command(
        "quickstart",
        dir.path(),
        &["monitor", "rules", "--max-error-ratio", "5"],
    )
    .output()
    .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("--max-error-ratio must be between 0 and 1"),
        "{stderr}"
    );
}

/// The files `monitor init` writes, relative to its directory.
const INIT_FILES: &[&str] = &[
    "prometheus.yml",
    "alert_rules.yml",
    "alert_rules_test.yml",
    "alertmanager.yml",
    "blackbox.yml",
    "grafana/provisioning/datasources/oxflow.yml",
    "grafana/provisioning/dashboards/oxflow.yml",
    "grafana/dashboards/oxflow-pipelines.json",
    "grafana/dashboards/oxflow-serving.json",
    "grafana/dashboards/oxflow-drift.json",
];

#[test]
fn monitor_init_writes_a_whole_setup_and_keeps_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "monitor",
        "init",
        "stack",
        "--pipeline",
        "127.0.0.1:9464",
        "--server",
        "127.0.0.1:8080",
        "--server",
        "scoring.internal:8081",
        "--pushgateway",
        "127.0.0.1:19091",
        "--webhook",
        "http://127.0.0.1:5001/alerts",
        "--scrape-interval",
        "5s",
    ];
    let out = command("quickstart", dir.path(), &args).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let stack = dir.path().join("stack");
    for file in INIT_FILES {
        assert!(stack.join(file).is_file(), "{file} missing; {stdout}");
        assert!(stdout.contains(file), "{file} not listed in {stdout}");
    }
    let prometheus = std::fs::read_to_string(stack.join("prometheus.yml")).unwrap();
    for expected in [
        "scrape_interval: 5s",
        "- 127.0.0.1:9464",
        "- http://127.0.0.1:8080/ping",
        "- http://scoring.internal:8081/ping",
        "- 127.0.0.1:19091",
        "honor_labels: true",
        "replacement: 127.0.0.1:9115",
    ] {
        assert!(prometheus.contains(expected), "{expected}:\n{prometheus}");
    }
    // The binary's own DAGs get their rules.
    let rules = std::fs::read_to_string(stack.join("alert_rules.yml")).unwrap();
    assert!(rules.contains("dag=\"quickstart\""), "{rules}");
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(stack.join("grafana/dashboards/oxflow-pipelines.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(dashboard["uid"], "oxflow-pipelines");

    // Again: refused, naming the files, nothing changed.
    std::fs::write(stack.join("alertmanager.yml"), "# mine\n").unwrap();
    let out = command("quickstart", dir.path(), &args).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("prometheus.yml"), "{stderr}");
    assert!(stderr.contains("pass --force to overwrite"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(stack.join("alertmanager.yml")).unwrap(),
        "# mine\n"
    );
    let mut forced = args.to_vec();
    forced.push("--force");
    let out = command("quickstart", dir.path(), &forced).output().unwrap();
    assert!(out.status.success());
    let am = std::fs::read_to_string(stack.join("alertmanager.yml")).unwrap();
    assert!(am.contains("http://127.0.0.1:5001/alerts"), "{am}");
}

#[test]
fn monitor_init_names_the_flag_and_value_of_a_bad_address() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value, reason) in [
        ("--server", "localhost", "needs a port"),
        (
            "--pipeline",
            "127.0.0.1:99999",
            "not a number from 1 to 65535",
        ),
        ("--pushgateway", "http://127.0.0.1:9091", "not a URL"),
        (
            "--webhook",
            "127.0.0.1:5001/alerts",
            "must start with http://",
        ),
    ] {
        let mut args = vec!["monitor", "init", "stack", flag, value];
        if flag != "--webhook" {
            args.extend(["--webhook", "http://127.0.0.1:5001/"]);
        }
        let out = command("quickstart", dir.path(), &args).output().unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
        assert!(stderr.contains(flag), "{flag}: {stderr}");
        assert!(stderr.contains(&format!("'{value}'")), "{value}: {stderr}");
        assert!(stderr.contains(reason), "{reason}: {stderr}");
        assert!(!dir.path().join("stack").exists(), "nothing written");
    }
}
