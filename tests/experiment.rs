//! `#[experiment]` on a struct of parameters, as a user sees it: defaults, typed overrides with
//! errors naming key and type, ranges, schema, serde and logging to a run.

use std::path::PathBuf;

use oxflow::params::{NamedExperiment, ParamError, ParamSet, Params, log_params};
use oxflow::tracking::{FileStore, Run, RunOptions};

#[oxflow::experiment(name = "iris")]
#[derive(Debug, Clone, PartialEq)]
struct TrainParams {
    /// Number of trees.
    #[param(default = 100, range = 1..=1000)]
    n_trees: u32,
    /// Share of rows held out
    /// for testing.
    #[param(default = 0.1, range = 0.0..=1.0)]
    test_fraction: f64,
    #[param(default = "adam", help = "Optimizer name.")]
    optimizer: String,
    #[param(default = true)]
    shuffle: bool,
    #[param(default = 1, range = 0..=10)]
    lr: f64,
    #[param(range = 1..)]
    seed: Option<u64>,
    #[param(default = "data/train.csv")]
    data: PathBuf,
    #[param(default = -3)]
    offset: i32,
}

#[test]
fn defaults_and_schema() {
    let p = TrainParams::defaults();
    assert_eq!(p.n_trees, 100);
    assert_eq!(p.test_fraction, 0.1);
    assert_eq!(p.optimizer, "adam");
    assert!(p.shuffle);
    assert_eq!(p.lr, 1.0);
    assert_eq!(p.seed, None);
    assert_eq!(p.data, PathBuf::from("data/train.csv"));
    assert_eq!(p.offset, -3);
    assert_eq!(TrainParams::EXPERIMENT, "iris");
    assert_eq!(<TrainParams as NamedExperiment>::EXPERIMENT, "iris");

    let schema = TrainParams::schema();
    let names: Vec<_> = schema.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "n_trees",
            "test_fraction",
            "optimizer",
            "shuffle",
            "lr",
            "seed",
            "data",
            "offset"
        ]
    );
    assert_eq!(schema[0].type_name, "u32");
    assert_eq!(schema[0].default, Some("100"));
    assert_eq!(schema[0].help, "Number of trees.");
    assert_eq!(schema[0].range, Some("1..=1000"));
    assert_eq!(schema[1].help, "Share of rows held out for testing.");
    assert_eq!(schema[2].help, "Optimizer name.");
    assert_eq!(schema[5].type_name, "Option<u64>");
    assert_eq!(schema[5].default, None);
    assert_eq!(schema[7].default, Some("-3"));
}

#[test]
fn overrides_are_typed_and_errors_name_the_fix() {
    let o = |k: &str, v: &str| (k.to_string(), v.to_string());
    let p =
        TrainParams::from_overrides(&[o("n_trees", "200"), o("seed", "7"), o("shuffle", "false")])
            .unwrap();
    assert_eq!((p.n_trees, p.seed, p.shuffle), (200, Some(7), false));

    let e = TrainParams::from_overrides(&[o("n_trees", "many")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value `many` for parameter `n_trees`: expected an unsigned integer (u32)"
    );
    let e = TrainParams::from_overrides(&[o("trees", "1")]).unwrap_err();
    assert!(
        matches!(&e, ParamError::UnknownKey { valid, .. } if valid.len() == 8),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("valid parameters: n_trees, test_fraction"),
        "{e}"
    );
    let e = TrainParams::from_overrides(&[o("test_fraction", "1.5")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "parameter `test_fraction` = 1.5 is out of range 0.0..=1.0"
    );
    let e = TrainParams::from_overrides(&[o("seed", "0")]).unwrap_err();
    assert!(e.to_string().contains("out of range 1.."), "{e}");
}

#[test]
fn serde_and_logging_to_a_run() {
    let p = TrainParams::defaults();
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["n_trees"], 100);
    // Missing keys take their defaults.
    let back: TrainParams = serde_json::from_str(r#"{"n_trees": 5}"#).unwrap();
    assert_eq!(
        back,
        TrainParams {
            n_trees: 5,
            ..TrainParams::defaults()
        }
    );

    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let mut run = Run::start(&store, TrainParams::EXPERIMENT, RunOptions::default()).unwrap();
    log_params(&p, &mut run).unwrap();
    let rec = run.record().unwrap();
    assert_eq!(rec.params["n_trees"], "100");
    assert_eq!(rec.params["seed"], "");
    assert_eq!(rec.params["data"], "data/train.csv");
    assert_eq!(rec.params.len(), 8);

    let injected = Params(p);
    assert_eq!(injected.n_trees, 100);
}
