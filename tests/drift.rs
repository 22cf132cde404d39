//! Behaviour tests of drift detection: what a user observes through `oxflow::drift`.

use clap::Parser;
use oxflow::cli::Exit;
use oxflow::drift::cli::{DriftArgs, run};
use oxflow::drift::stream::{Adwin, Ddm, Detection, DriftDetector, Kswin, PageHinkley};
use oxflow::drift::{
    Column, ColumnKind, CsvOptions, Dataset, DriftOptions, DriftReport, StatTest, detect,
    read_csv_pair,
};
use proptest::prelude::*;

#[derive(Parser)]
struct Cmd {
    #[command(flatten)]
    drift: DriftArgs,
}

/// Deterministic standard normals (Box–Muller on SplitMix64), so tests need no RNG crate.
fn normals(seed: u64, n: usize) -> Vec<f64> {
    let mut s = seed;
    let mut next = || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 * 2f64.powi(-53)
    };
    (0..n)
        .map(|_| (-2.0 * (1.0 - next()).ln()).sqrt() * (2.0 * std::f64::consts::PI * next()).cos())
        .collect()
}

fn write_csv(path: &std::path::Path, n: usize, shift: f64, plan_b: f64, seed: u64) {
    let x = normals(seed, n);
    let mut s = String::from("age,plan,churned\n");
    for (i, v) in x.iter().enumerate() {
        let plan = if (i as f64 / n as f64) < plan_b {
            "pro"
        } else {
            "free"
        };
        let age = if i % 50 == 0 {
            String::new()
        } else {
            format!("{}", 40.0 + 10.0 * (v + shift))
        };
        s.push_str(&format!(
            "{age},{plan},{}\n",
            (i * 7 + seed as usize).is_multiple_of(3)
        ));
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn cli_writes_json_and_html_and_fails_on_drift() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = (dir.path().join("ref.csv"), dir.path().join("cur.csv"));
    write_csv(&r, 3000, 0.0, 0.3, 1);
    write_csv(&c, 3000, 1.0, 0.6, 2);
    let (json, html) = (dir.path().join("out.json"), dir.path().join("out.html"));
    let args = Cmd::parse_from([
        "oxflow".as_ref(),
        "--reference".as_ref(),
        r.as_os_str(),
        "--current".as_ref(),
        c.as_os_str(),
        "--target".as_ref(),
        "churned".as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
        "--html".as_ref(),
        html.as_os_str(),
        "--test".as_ref(),
        "plan=chi2_contingency".as_ref(),
        "--threshold".as_ref(),
        "age=0.2".as_ref(),
        "--fail-on-drift".as_ref(),
    ])
    .drift;
    assert_eq!(run(&args).unwrap(), Exit::Failure);
    let report = DriftReport::from_json(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let age = report.column("age").unwrap();
    assert_eq!(
        (age.test, age.threshold, age.drift_detected),
        (StatTest::Wasserstein, 0.2, true)
    );
    assert_eq!(age.reference.missing, 60);
    assert_eq!(
        report.column("plan").unwrap().test,
        StatTest::Chi2Contingency
    );
    let label = report.label_drift().unwrap();
    assert_eq!(label.column, "churned");
    assert!(!label.drift_detected);
    assert!(report.dataset.dataset_drift);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("churned") && !page.contains("<script"));
}

#[test]
fn cli_errors_name_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = (dir.path().join("ref.csv"), dir.path().join("cur.csv"));
    std::fs::write(&r, "a,b\n1,x\n2,y\n").unwrap();
    std::fs::write(&c, "a,c\n1,x\n2,y\n").unwrap();
    let args = Cmd::parse_from([
        "oxflow",
        "--reference",
        r.to_str().unwrap(),
        "--current",
        c.to_str().unwrap(),
    ])
    .drift;
    let e = run(&args).unwrap_err().to_string();
    assert_eq!(
        e,
        "column `b` is in the reference data but not in the current data"
    );
    let args = Cmd::parse_from([
        "oxflow",
        "--reference",
        r.to_str().unwrap(),
        "--current",
        r.to_str().unwrap(),
        "--test",
        "b=ks",
    ])
    .drift;
    assert_eq!(
        run(&args).unwrap_err().to_string(),
        "column `b`: test `ks` does not apply to categorical columns"
    );
    let args = Cmd::parse_from([
        "oxflow",
        "--reference",
        r.to_str().unwrap(),
        "--current",
        r.to_str().unwrap(),
        "--threshold",
        "a",
    ])
    .drift;
    assert!(
        run(&args)
            .unwrap_err()
            .to_string()
            .contains("expected COLUMN=VALUE")
    );
}

#[test]
fn csv_type_overrides_apply_to_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = (dir.path().join("ref.csv"), dir.path().join("cur.csv"));
    std::fs::write(&r, "zip,n\n75001,1\n69001,2\n").unwrap();
    std::fs::write(&c, "zip,n\n75001,2\n13001,2\n").unwrap();
    let opts = CsvOptions::default().with_type("zip", ColumnKind::Categorical);
    let (r, c) = read_csv_pair(&r, &c, &opts).unwrap();
    assert_eq!(r.column("zip").unwrap().kind(), ColumnKind::Categorical);
    assert_eq!(c.column("zip").unwrap().kind(), ColumnKind::Categorical);
    // Integers with few distinct values are categorical, as in Evidently.
    assert_eq!(r.column("n").unwrap().kind(), ColumnKind::Categorical);
    let rep = detect(&r, &c, &DriftOptions::default()).unwrap();
    assert_eq!(rep.column("zip").unwrap().new_categories, vec!["13001"]);
    assert_eq!(rep.column("zip").unwrap().missing_categories, vec!["69001"]);
}

#[derive(serde::Serialize)]
struct Row {
    income: Option<f64>,
    segment: &'static str,
    visits: u32,
}

#[test]
fn rows_of_a_serde_type_are_a_dataset() {
    let rows: Vec<Row> = (0..2000)
        .map(|i| Row {
            income: if i % 10 == 0 {
                None
            } else {
                Some(1000.0 + (i % 37) as f64)
            },
            segment: if i % 3 == 0 { "a" } else { "b" },
            visits: i % 4,
        })
        .collect();
    let ds = Dataset::from_rows(&rows).unwrap();
    assert_eq!(ds.n_rows(), 2000);
    assert_eq!(ds.column("income").unwrap().kind(), ColumnKind::Numerical);
    assert_eq!(
        ds.column("segment").unwrap().kind(),
        ColumnKind::Categorical
    );
    assert_eq!(ds.column("visits").unwrap().kind(), ColumnKind::Categorical);
    let rep = detect(&ds, &ds, &DriftOptions::default()).unwrap();
    assert_eq!(rep.dataset.number_of_drifted_columns, 0);
    assert_eq!(rep.column("income").unwrap().reference.missing, 200);
}

#[test]
fn empty_and_constant_data_give_defined_results() {
    let empty = Dataset::new(vec![
        Column::numerical("x", vec![]),
        Column::categorical::<&str>("c", []),
    ])
    .unwrap();
    let rep = detect(&empty, &empty, &DriftOptions::default()).unwrap();
    assert!(
        rep.columns
            .iter()
            .all(|c| c.skipped.is_some() && c.score.is_none())
    );
    assert!(!rep.dataset.dataset_drift);
    assert_eq!(rep.dataset.share_of_drifted_columns, 0.0);
    let json = rep.to_json().unwrap();
    assert!(!json.contains("NaN"));

    let r = Dataset::new(vec![Column::numerical("k", vec![3.0; 500])]).unwrap();
    let c = Dataset::new(vec![Column::numerical("k", vec![4.0; 500])]).unwrap();
    for t in [
        StatTest::Ks,
        StatTest::Wasserstein,
        StatTest::Psi,
        StatTest::JensenShannon,
        StatTest::ZTest,
    ] {
        let rep = detect(&r, &c, &DriftOptions::default().with_test("k", t)).unwrap();
        let k = rep.column("k").unwrap();
        assert!(k.score.unwrap().is_finite(), "{t}");
        assert!(k.drift_detected, "{t}");
    }
}

#[test]
fn gauges_are_recorded_through_the_metrics_facade() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let r = Dataset::new(vec![Column::numerical("x", normals(3, 500))]).unwrap();
    let c = Dataset::new(vec![Column::numerical(
        "x",
        normals(4, 500).iter().map(|v| v + 2.0).collect(),
    )])
    .unwrap();
    metrics::with_local_recorder(&recorder, || {
        oxflow::drift::metrics::describe();
        detect(&r, &c, &DriftOptions::default()).unwrap();
    });
    let snap = snapshotter.snapshot().into_vec();
    let find = |name: &str| {
        snap.iter()
            .find(|(k, ..)| k.key().name() == name)
            .map(|(k, _, _, v)| {
                (
                    k.key()
                        .labels()
                        .map(|l| format!("{}={}", l.key(), l.value()))
                        .collect::<Vec<_>>(),
                    v,
                )
            })
    };
    let (labels, v) = find(oxflow::drift::metrics::DRIFT_SCORE).unwrap();
    assert_eq!(labels, ["feature=x", "method=ks"]);
    assert!(matches!(v, DebugValue::Gauge(g) if g.into_inner() < 1e-10));
    let (_, v) = find(oxflow::drift::metrics::SHARE_DRIFTED_COLUMNS).unwrap();
    assert!(matches!(v, DebugValue::Gauge(g) if g.into_inner() == 1.0));
}

#[test]
fn streaming_detectors_flag_a_change_after_it_happens() {
    let x = normals(9, 4000);
    let stream: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, v)| 0.2 * v + if i < 2000 { 0.0 } else { 1.0 })
        .collect();
    let first =
        |d: &mut dyn DriftDetector| stream.iter().position(|&v| d.update(v) == Detection::Drift);
    for (name, at) in [
        ("adwin", first(&mut Adwin::default())),
        ("page_hinkley", first(&mut PageHinkley::default())),
    ] {
        let at = at.unwrap_or_else(|| panic!("{name} missed the change"));
        assert!((2000..2300).contains(&at), "{name} at {at}");
    }
    // KSWIN tests at every step at alpha = 0.005, so a long stable stream has false alarms
    // (river's too); it must still fire shortly after the change.
    let mut k = Kswin::default();
    let hits: Vec<usize> = (0..stream.len())
        .filter(|&i| k.update(stream[i]) == Detection::Drift)
        .collect();
    assert!(
        hits.iter().any(|i| (2000..2100).contains(i)),
        "kswin at {hits:?}"
    );
    let mut ddm = Ddm::default();
    let errors = (0..4000).map(|i| if i < 2000 { (i % 10 == 0) as u8 } else { (i % 3 == 0) as u8 } as f64);
    let at = errors
        .enumerate()
        .position(|(_, e)| ddm.update(e) == Detection::Drift)
        .unwrap();
    assert!(at >= 2000, "ddm at {at}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn identical_samples_never_drift(
        values in prop::collection::vec(prop_oneof![-1e6f64..1e6, Just(0.0), Just(f64::NAN), Just(7.5)], 1..400),
        labels in prop::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c")], 1..400),
    ) {
        let ds = Dataset::new(vec![Column::numerical("x", values)]).unwrap();
        let cat = Dataset::new(vec![Column::categorical("c", labels)]).unwrap();
        for t in StatTest::ALL {
            if t.applies_to(ColumnKind::Numerical) {
                let rep = detect(&ds, &ds, &DriftOptions::default().with_test("x", t)).unwrap();
                prop_assert!(!rep.column("x").unwrap().drift_detected, "{} drifted on identical data", t);
            }
            if !t.applies_to(ColumnKind::Categorical) {
                continue;
            }
            let rep = detect(&cat, &cat, &DriftOptions::default().with_test("c", t)).unwrap();
            prop_assert!(!rep.column("c").unwrap().drift_detected, "{} drifted on identical labels", t);
        }
    }

    #[test]
    fn a_clear_shift_at_large_n_always_drifts(seed in 0u64..1000, n in 2000usize..6000, shift in 0.5f64..3.0) {
        let r = Dataset::new(vec![Column::numerical("x", normals(seed, n))]).unwrap();
        let c = Dataset::new(vec![Column::numerical("x", normals(seed + 7, n).iter().map(|v| v + shift).collect())]).unwrap();
        for t in [None, Some(StatTest::Ks), Some(StatTest::Psi), Some(StatTest::JensenShannon), Some(StatTest::MeanShift)] {
            let o = match t { Some(t) => DriftOptions::default().with_test("x", t), None => DriftOptions::default() };
            let rep = detect(&r, &c, &o).unwrap();
            prop_assert!(rep.dataset.dataset_drift, "{:?} missed a {}-sd shift at n={}", t, shift, n);
        }
    }
}

#[test]
fn json_schema_is_stable() {
    let r = Dataset::new(vec![
        Column::numerical("x", normals(1, 300)),
        Column::categorical("c", (0..300).map(|i| if i % 2 == 0 { "a" } else { "b" })),
    ])
    .unwrap();
    let report = detect(&r, &r, &DriftOptions::default().with_target("c")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(&v),
        [
            "columns",
            "current_rows",
            "dataset",
            "oxflow_version",
            "reference_rows",
            "schema_version",
            "target"
        ]
    );
    assert_eq!(v["schema_version"], 1);
    assert_eq!(
        keys(&v["dataset"]),
        [
            "dataset_drift",
            "drift_share",
            "number_of_columns",
            "number_of_drifted_columns",
            "share_of_drifted_columns"
        ]
    );
    assert_eq!(
        keys(&v["columns"][0]),
        [
            "column",
            "current",
            "default_test",
            "distribution",
            "drift_detected",
            "kind",
            "reference",
            "role",
            "score",
            "skipped",
            "statistic",
            "test",
            "threshold"
        ]
    );
    assert_eq!(v["columns"][0]["test"], "ks");
    assert_eq!(v["columns"][1]["role"], "target");
    assert_eq!(v["columns"][0]["distribution"]["type"], "histogram");
    assert_eq!(
        keys(&v["columns"][0]["reference"]),
        [
            "distinct", "infinite", "max", "mean", "min", "missing", "rows", "std", "used"
        ]
    );
}
