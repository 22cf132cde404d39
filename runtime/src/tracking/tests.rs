//! Unit tests of the file store: round trips, the on-disk layout of `research/mlflow.md` §3,
//! validation.

use std::fs;

use super::*;

/// A file store used through the validating handle, with its root at hand.
struct S {
    file: FileStore,
    handle: TrackingStore,
}

impl S {
    fn new(file: FileStore) -> S {
        S {
            handle: TrackingStore::from(&file),
            file,
        }
    }

    fn root(&self) -> &std::path::Path {
        self.file.root()
    }

    fn artifact_path(&self, run_id: &str, rel: &str) -> Result<std::path::PathBuf, TrackingError> {
        self.file.artifact_path(run_id, rel)
    }
}

impl std::ops::Deref for S {
    type Target = TrackingStore;
    fn deref(&self) -> &TrackingStore {
        &self.handle
    }
}

fn store() -> (tempfile::TempDir, S) {
    let dir = tempfile::tempdir().unwrap();
    let store = S::new(FileStore::open(dir.path().join("mlruns")).unwrap());
    (dir, store)
}

#[test]
fn open_creates_default_experiment() {
    let (_d, s) = store();
    let text = fs::read_to_string(s.root().join("0/meta.yaml")).unwrap();
    let uri = format!("file://{}", s.root().join("0").display());
    let want = format!(
        "artifact_location: {uri}\ncreation_time: CT\nexperiment_id: '0'\nlast_update_time: CT\nlifecycle_stage: active\nname: Default\n"
    );
    let ct = text
        .lines()
        .nth(1)
        .unwrap()
        .trim_start_matches("creation_time: ")
        .to_string();
    assert_eq!(text, want.replace("CT", &ct));
    let exps = s.list_experiments(false).unwrap();
    assert_eq!(exps.len(), 1);
    assert_eq!(exps[0].name, "Default");
}

#[test]
fn open_names_an_unwritable_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    fs::write(&file, "x").unwrap();
    let err = FileStore::open(file.join("mlruns"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not-a-dir"), "{err}");
    assert!(err.contains("not writable"), "{err}");
}

#[test]
fn run_layout_matches_mlflow() {
    let (_d, s) = store();
    let exp = s.get_or_create_experiment("demo-exp").unwrap();
    assert_eq!(exp.experiment_id.len(), 18);
    assert!(exp.experiment_id.bytes().all(|b| b.is_ascii_digit()));
    let info = s
        .create_run(
            &exp.experiment_id,
            RunOptions {
                run_name: Some("parent-run".into()),
                tags: vec![("custom.tag".into(), "x".into())],
                start_time_ms: Some(1795849687618),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(info.run_id.len(), 32);
    let run_dir = s.root().join(&exp.experiment_id).join(&info.run_id);
    // MLflow's get_run requires metrics/, params/ and artifacts/ even when empty.
    for sub in ["metrics", "params", "artifacts", "tags"] {
        assert!(run_dir.join(sub).is_dir(), "{sub}");
    }
    s.log_metric(&info.run_id, "loss", 1.0, 1795849687632, 0)
        .unwrap();
    s.log_metric(&info.run_id, "loss", 0.5, 1795849687632, 1)
        .unwrap();
    s.log_metric(&info.run_id, "loss", 1.0 / 3.0, 1795849687633, 2)
        .unwrap();
    s.log_metric(&info.run_id, "nan_metric", f64::NAN, 1795849687638, 0)
        .unwrap();
    s.log_metric(
        &info.run_id,
        "ninf_metric",
        f64::NEG_INFINITY,
        1795849687639,
        0,
    )
    .unwrap();
    s.log_metric(&info.run_id, "train/acc", 0.9, 1795849687639, 0)
        .unwrap();
    s.log_param(&info.run_id, "lr", "0.01").unwrap();
    s.set_terminated(&info.run_id, RunStatus::Finished, 1795849703871)
        .unwrap();

    let read = |p: &str| fs::read_to_string(run_dir.join(p)).unwrap();
    assert_eq!(
        read("metrics/loss"),
        "1795849687632 1.0 0\n1795849687632 0.5 1\n1795849687633 0.3333333333333333 2\n"
    );
    assert_eq!(read("metrics/nan_metric"), "1795849687638 nan 0\n");
    assert_eq!(read("metrics/ninf_metric"), "1795849687639 -inf 0\n");
    assert_eq!(read("metrics/train/acc"), "1795849687639 0.9 0\n");
    assert_eq!(read("params/lr"), "0.01");
    assert_eq!(read("tags/mlflow.runName"), "parent-run");
    assert_eq!(read("tags/custom.tag"), "x");
    let uri = format!("file://{}/artifacts", run_dir.display());
    let want = format!(
        "artifact_uri: {uri}\nend_time: 1795849703871\nentry_point_name: ''\nexperiment_id: '{e}'\n\
         lifecycle_stage: active\nrun_id: {r}\nrun_name: parent-run\nsource_name: ''\nsource_type: 4\n\
         source_version: ''\nstart_time: 1795849687618\nstatus: 3\ntags: []\nuser_id: {u}\n",
        e = exp.experiment_id,
        r = info.run_id,
        u = info.user_id,
    );
    assert_eq!(read("meta.yaml"), want);
}

#[test]
fn new_run_meta_has_null_end_and_deleted_time() {
    let (_d, s) = store();
    let info = s.create_run("0", RunOptions::default()).unwrap();
    let text = fs::read_to_string(s.root().join("0").join(&info.run_id).join("meta.yaml")).unwrap();
    assert!(
        text.contains("\ndeleted_time: null\nend_time: null\n"),
        "{text}"
    );
    assert!(text.contains("\nstatus: 1\n"), "{text}");
}

#[test]
fn round_trip_through_get_run() {
    let (_d, s) = store();
    let exp = s.get_or_create_experiment("rt").unwrap();
    let parent = s
        .create_run(&exp.experiment_id, RunOptions::default())
        .unwrap();
    let child = s
        .create_run(
            &exp.experiment_id,
            RunOptions {
                parent_run_id: Some(parent.run_id.clone()),
                ..Default::default()
            },
        )
        .unwrap();
    s.set_tags(&child.run_id, &[("a", "1"), ("b/c", "2")])
        .unwrap();
    s.log_param(&child.run_id, "p", "v").unwrap();
    s.log_param(&child.run_id, "p", "v").unwrap();
    s.log_metric(&child.run_id, "m", 3.0, 10, 5).unwrap();
    s.log_metric(&child.run_id, "m", 1.0, 11, 2).unwrap();
    s.log_metric(&child.run_id, "m", f64::INFINITY, 9, 5)
        .unwrap();
    let rec = s.get_run(&child.run_id).unwrap();
    assert_eq!(rec.parent_run_id(), Some(parent.run_id.as_str()));
    assert_eq!(rec.tags["b/c"], "2");
    assert_eq!(rec.params["p"], "v");
    // Latest = greatest (step, timestamp, value).
    assert_eq!(rec.metrics["m"].value, 3.0);
    assert_eq!(rec.info.status, RunStatus::Running);
    let hist = s.get_metric_history(&child.run_id, "m").unwrap();
    assert_eq!(hist.len(), 3);
    assert!(hist[2].value.is_infinite());

    let runs = s.list_runs(&exp.experiment_id).unwrap();
    assert_eq!(runs.len(), 2);
    s.delete_run(&parent.run_id).unwrap();
    assert_eq!(s.list_runs(&exp.experiment_id).unwrap().len(), 1);
    assert!(matches!(
        s.log_param(&parent.run_id, "x", "1"),
        Err(TrackingError::RunDeleted { .. })
    ));
    s.restore_run(&parent.run_id).unwrap();
    assert_eq!(s.list_runs(&exp.experiment_id).unwrap().len(), 2);

    // A second store handle (another process, in effect) reads the same.
    let other = S::new(FileStore::open(s.root()).unwrap());
    assert_eq!(
        other.get_run(&child.run_id).unwrap(),
        s.get_run(&child.run_id).unwrap()
    );
}

#[test]
fn set_run_name_tag_renames_the_run() {
    let (_d, s) = store();
    let info = s.create_run("0", RunOptions::default()).unwrap();
    s.set_tag(&info.run_id, TAG_RUN_NAME, "renamed").unwrap();
    assert_eq!(s.get_run(&info.run_id).unwrap().info.run_name, "renamed");
}

#[test]
fn changed_param_is_refused_and_store_unchanged() {
    let (_d, s) = store();
    let info = s.create_run("0", RunOptions::default()).unwrap();
    s.log_param(&info.run_id, "lr", "1").unwrap();
    let err = s.log_param(&info.run_id, "lr", "2").unwrap_err();
    assert!(matches!(err, TrackingError::ParamChanged { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("`lr`") && msg.contains("`1`") && msg.contains("`2`"),
        "{msg}"
    );
    assert_eq!(s.get_run(&info.run_id).unwrap().params["lr"], "1");
}

#[test]
fn invalid_input_is_refused_before_writing() {
    let (_d, s) = store();
    let info = s.create_run("0", RunOptions::default()).unwrap();
    let id = &info.run_id;
    assert!(matches!(
        s.log_metric(id, "../x", 1.0, 0, 0),
        Err(TrackingError::InvalidKey { .. })
    ));
    assert!(matches!(
        s.log_param(id, "/abs", "1"),
        Err(TrackingError::InvalidKey { .. })
    ));
    assert!(matches!(
        s.set_tag(id, "a@b", "1"),
        Err(TrackingError::InvalidKey { .. })
    ));
    assert!(matches!(
        s.log_param(id, "long", &"x".repeat(6001)),
        Err(TrackingError::ValueTooLong { max: 6000, .. })
    ));
    assert!(matches!(
        s.set_tag(id, "long", &"x".repeat(8001)),
        Err(TrackingError::ValueTooLong { max: 8000, .. })
    ));
    assert!(matches!(
        s.log_metric(id, "m", 1.0, -5, 0),
        Err(TrackingError::InvalidTimestamp { .. })
    ));
    assert!(matches!(
        s.log_artifact_bytes(id, "../escape.txt", b"x"),
        Err(TrackingError::InvalidArtifactPath { .. })
    ));
    assert!(matches!(
        s.log_artifact_bytes(id, "/etc/passwd", b"x"),
        Err(TrackingError::InvalidArtifactPath { .. })
    ));
    assert!(matches!(
        s.get_run("../../etc"),
        Err(TrackingError::InvalidId { .. })
    ));
    assert!(matches!(
        s.get_or_create_experiment(&"e".repeat(501)),
        Err(TrackingError::InvalidExperimentName { .. })
    ));
    let batch = s.log_batch(
        id,
        &[],
        &[("ok".into(), "1".into()), ("bad key!".into(), "2".into())],
        &[],
    );
    assert!(batch.is_err());
    let rec = s.get_run(id).unwrap();
    assert!(rec.params.is_empty() && rec.metrics.is_empty());
    // Only what `create_run` set: the run name and the owning process.
    assert!(
        rec.tags.keys().all(|k| k == TAG_RUN_NAME || k == TAG_OWNER),
        "{:?}",
        rec.tags
    );
    assert!(s.list_artifacts(id, "").unwrap().is_empty());
    assert!(!s.root().join("escape.txt").exists());
}

#[test]
fn artifacts_round_trip() {
    let (_d, s) = store();
    let info = s.create_run("0", RunOptions::default()).unwrap();
    s.log_artifact_bytes(&info.run_id, "a/b.txt", b"hello")
        .unwrap();
    s.log_artifact_bytes(&info.run_id, "c.json", b"{}").unwrap();
    assert_eq!(s.read_artifact(&info.run_id, "a/b.txt").unwrap(), b"hello");
    let root = s.list_artifacts(&info.run_id, "").unwrap();
    assert_eq!(
        root,
        vec![
            ArtifactEntry {
                path: "a".into(),
                is_dir: true,
                file_size: None
            },
            ArtifactEntry {
                path: "c.json".into(),
                is_dir: false,
                file_size: Some(2)
            },
        ]
    );
    let sub = s.list_artifacts(&info.run_id, "a").unwrap();
    assert_eq!(sub[0].path, "a/b.txt");
    assert!(
        s.artifact_path(&info.run_id, "a/b.txt")
            .unwrap()
            .ends_with("artifacts/a/b.txt")
    );
    assert!(matches!(
        s.read_artifact(&info.run_id, "nope"),
        Err(TrackingError::ArtifactNotFound { .. })
    ));
}

#[test]
fn run_handle_ends_on_drop() {
    let (_d, s) = store();
    let id = {
        let mut run = Run::start(&s.handle, "drop", RunOptions::default()).unwrap();
        run.log_metric("m", 1.0).unwrap();
        run.log_metric("m", 2.0).unwrap();
        run.log_metric_at("m", 3.0, 10).unwrap();
        run.log_metric("m", 4.0).unwrap();
        run.id().to_string()
    };
    let rec = s.get_run(&id).unwrap();
    assert_eq!(rec.info.status, RunStatus::Finished);
    assert!(rec.info.end_time_ms.is_some());
    let steps: Vec<i64> = s
        .get_metric_history(&id, "m")
        .unwrap()
        .iter()
        .map(|m| m.step)
        .collect();
    assert_eq!(steps, vec![0, 1, 10, 11]);
    assert_eq!(rec.tags[TAG_SOURCE_TYPE], "LOCAL");

    let s2 = s.clone();
    let id = std::thread::spawn(move || {
        let run = Run::start(&s2, "drop", RunOptions::default()).unwrap();
        let id = run.id().to_string();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _run = run;
            panic!("boom");
        }));
        assert!(r.is_err());
        id
    })
    .join()
    .unwrap();
    assert_eq!(s.get_run(&id).unwrap().info.status, RunStatus::Failed);
}

#[test]
fn experiments_are_unique_by_name_across_threads() {
    let (_d, s) = store();
    let ids: Vec<String> = (0..8)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || s.get_or_create_experiment("race").unwrap().experiment_id)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert!(ids.iter().all(|i| i == &ids[0]));
    assert_eq!(s.list_experiments(false).unwrap().len(), 2);
}

#[test]
fn open_uri_accepts_paths_and_file_uris() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a b");
    let s = S::new(FileStore::open_uri(&format!("file://{}", p.display())).unwrap());
    assert!(s.root().ends_with("a b"));
    assert!(FileStore::open_uri("http://127.0.0.1:5000").is_err());
    assert!(FileStore::open_uri("s3://bucket/x").is_err());
}

#[test]
fn awkward_names_round_trip_through_yaml() {
    let (_d, s) = store();
    for name in [
        "yes",
        "1.5",
        "null",
        "it's",
        "a: b",
        "# x",
        "0123",
        "~",
        "é ü",
        "-x",
        "12345678901234567890",
    ] {
        let exp = s.get_or_create_experiment(&format!("exp {name}")).unwrap();
        let info = s
            .create_run(
                &exp.experiment_id,
                RunOptions {
                    run_name: Some(name.into()),
                    ..Default::default()
                },
            )
            .unwrap();
        let other = S::new(FileStore::open(s.root()).unwrap());
        assert_eq!(other.get_run(&info.run_id).unwrap().info.run_name, name);
        assert_eq!(
            other
                .get_experiment_by_name(&format!("exp {name}"))
                .unwrap()
                .unwrap()
                .experiment_id,
            exp.experiment_id
        );
    }
}

#[test]
fn a_malformed_run_does_not_hide_the_others() {
    let (_d, s) = store();
    let good = s.create_run("0", RunOptions::default()).unwrap();
    let bad = s.create_run("0", RunOptions::default()).unwrap();
    fs::write(
        s.root().join("0").join(&bad.run_id).join("meta.yaml"),
        "run_id: [unclosed",
    )
    .unwrap();
    let runs = s.list_runs("0").unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].run_id, good.run_id);
    let other = S::new(FileStore::open(s.root()).unwrap());
    let err = other.get_run(&bad.run_id).unwrap_err().to_string();
    assert!(
        err.contains("malformed tracking file") && err.contains(&bad.run_id),
        "{err}"
    );
}
