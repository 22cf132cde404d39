//! Models: signatures derived from row types, the JSON predict entry point with MLflow's
//! enforcement rules, and the registry of model types.

use std::time::SystemTime;

use oxflow::model::{ColType, DataType, DynModel, ModelType, Signature, find_model_type};
use oxflow::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Schema, Debug, Clone, PartialEq)]
struct House {
    area: f64,
    rooms: i64,
    floor: Option<i32>,
    #[schema(rename = "has garden")]
    garden: bool,
    city: String,
    photo: Option<Vec<u8>>,
    listed: Option<SystemTime>,
    embedding: Option<Vec<f32>>,
    corners: Option<[f32; 2]>,
    r#type: Option<String>,
}

#[derive(Schema, Debug, PartialEq)]
struct Price {
    price: f64,
}

#[derive(Debug)]
struct TooSmall(f64);

impl std::fmt::Display for TooSmall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "area {} is too small to price", self.0)
    }
}

impl std::error::Error for TooSmall {}

#[model(input = House, output = Price, name = "house-prices")]
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct PriceModel {
    per_m2: f64,
}

impl Predict for PriceModel {
    type Input = House;
    type Output = Price;
    type Error = TooSmall;
    fn predict(&self, rows: &[House]) -> Result<Vec<Price>, TooSmall> {
        rows.iter()
            .map(|h| {
                if h.area < 1.0 {
                    return Err(TooSmall(h.area));
                }
                Ok(Price {
                    price: h.area * self.per_m2,
                })
            })
            .collect()
    }
}

#[test]
fn the_signature_is_the_one_mlflow_writes_for_these_columns() {
    let sig = PriceModel::signature();
    // MLflow 3.17.2: Schema([ColSpec("double", "area"), ColSpec("long", "rooms"),
    // ColSpec("integer", "floor", required=False), ...]).to_json()
    assert_eq!(
        sig.inputs_json(),
        concat!(
            r#"[{"type": "double", "name": "area", "required": true}, "#,
            r#"{"type": "long", "name": "rooms", "required": true}, "#,
            r#"{"type": "integer", "name": "floor", "required": false}, "#,
            r#"{"type": "boolean", "name": "has garden", "required": true}, "#,
            r#"{"type": "string", "name": "city", "required": true}, "#,
            r#"{"type": "binary", "name": "photo", "required": false}, "#,
            r#"{"type": "datetime", "name": "listed", "required": false}, "#,
            r#"{"type": "array", "items": {"type": "float"}, "name": "embedding", "required": false}, "#,
            r#"{"type": "array", "items": {"type": "float"}, "name": "corners", "required": false}, "#,
            r#"{"type": "string", "name": "type", "required": false}]"#
        )
    );
    assert_eq!(
        sig.outputs_json(),
        r#"[{"type": "double", "name": "price", "required": true}]"#
    );
    assert_eq!(
        Signature::from_json(&sig.inputs_json(), &sig.outputs_json()).unwrap(),
        sig
    );
    assert_eq!(
        sig.inputs[3].ty,
        ColType::Scalar(DataType::Boolean),
        "renamed column keeps its field's type"
    );
}

fn base() -> serde_json::Value {
    json!({"area": 50, "rooms": 2, "has garden": true, "city": "Lyon"})
}

#[test]
fn json_prediction_enforces_mlflow_rules() {
    let model = PriceModel { per_m2: 3000.0 };
    // Integer for a double column: MLflow's safe upcast. Extra columns are ignored.
    let mut rec = base();
    rec["unused"] = json!("x");
    rec["listed"] = json!("2026-12-05T07:30:00");
    rec["photo"] = json!("aGk=");
    let out = model
        .predict_json(&json!({ "dataframe_records": [rec] }))
        .unwrap();
    assert_eq!(out, json!({"predictions": [{"price": 150000.0}]}));

    // The same rows in the split shape.
    let out = model
        .predict_json(&json!({"dataframe_split": {
            "columns": ["area", "rooms", "has garden", "city"],
            "data": [[10.5, 1, false, "Nice"], [20, 3, true, "Metz"]]
        }}))
        .unwrap();
    assert_eq!(
        out,
        json!({"predictions": [{"price": 31500.0}, {"price": 60000.0}]})
    );

    // A missing column, in MLflow's words.
    let e = model
        .predict_json(&json!({"inputs": {"area": [1.0], "rooms": [1]}}))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Model is missing inputs ['has garden', 'city']."
    );

    // A value of the wrong type names the column, the row and the value.
    let mut rec = base();
    rec["rooms"] = json!(2.5);
    let e = model
        .predict_json(&json!({ "dataframe_records": [base(), rec] }))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "column `rooms` (long), row 1: 2.5 is not an integer"
    );
    let mut rec = base();
    rec["has garden"] = json!("yes");
    let e = model
        .predict_json(&json!({ "dataframe_records": [rec] }))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "column `has garden` (boolean), row 0: \"yes\" is not true or false"
    );
    let mut rec = base();
    rec["listed"] = json!("last tuesday");
    let e = model
        .predict_json(&json!({ "dataframe_records": [rec] }))
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("column `listed` (datetime), row 0: \"last tuesday\""),
        "{e}"
    );

    // The model's own error keeps its source.
    let mut rec = base();
    rec["area"] = json!(0.5);
    let e = model
        .predict_json(&json!({ "dataframe_records": [rec] }))
        .unwrap_err();
    assert_eq!(e.to_string(), "the model failed to predict");
    assert_eq!(
        std::error::Error::source(&e).unwrap().to_string(),
        "area 0.5 is too small to price"
    );
}

#[test]
fn outputs_round_trip_through_their_columns() {
    let rec = json!({
        "area": 1.0, "rooms": 1, "has garden": false, "city": "x", "floor": -1,
        "photo": "AP8=", "listed": "2000-01-02T03:04:05.5", "embedding": [0.5, 1],
        "corners": [1, 2], "type": "flat"
    });
    let row = oxflow::model::Row::new(rec.as_object().unwrap(), 0);
    let house = House::from_row(&row).unwrap();
    assert_eq!(house.photo.as_deref(), Some(&[0u8, 255][..]));
    assert_eq!(house.embedding, Some(vec![0.5, 1.0]));
    let mut back = serde_json::Value::Object(house.to_row());
    back["embedding"] = json!([0.5, 1]);
    back["corners"] = json!([1, 2]);
    back["area"] = json!(1.0);
    assert_eq!(back, rec);
}

#[test]
fn model_types_are_registered_by_name_and_path() {
    let reg = find_model_type("house-prices").expect("#[model] registers the type");
    assert_eq!(reg.info.type_path, "model::PriceModel");
    assert_eq!(reg.info.crate_name, "oxflow");
    assert_eq!(reg.info.crate_version, env!("CARGO_PKG_VERSION"));
    assert_eq!((reg.signature)(), PriceModel::signature());
    assert!(std::ptr::eq(
        find_model_type("model::PriceModel").unwrap(),
        reg
    ));
    let loaded = (reg.from_json)(br#"{"per_m2": 2.0}"#).unwrap();
    let out = loaded
        .predict_json(&json!({ "dataframe_records": [base()] }))
        .unwrap();
    assert_eq!(out, json!({"predictions": [{"price": 100.0}]}));
    assert_eq!(
        loaded.as_any().downcast_ref::<PriceModel>(),
        Some(&PriceModel { per_m2: 2.0 })
    );
    assert!((reg.from_json)(br#"{"per_m2": "#).is_err());
}

mod store {
    use super::*;
    use oxflow::model::{AnyModel, MlModel, Model, register_model, save_model};
    use oxflow::tracking::{
        FileStore, LoggedModelStatus, RunOptions, RunStatus, SqlStore, Stage, TrackingStore,
    };

    fn example() -> Vec<House> {
        let rec = base();
        vec![House::from_row(&oxflow::model::Row::new(rec.as_object().unwrap(), 0)).unwrap()]
    }

    fn stores(dir: &std::path::Path) -> Vec<(&'static str, TrackingStore)> {
        vec![
            ("file", FileStore::open(dir.join("mlruns")).unwrap().into()),
            (
                "sqlite",
                SqlStore::open(dir.join("mlflow.db")).unwrap().into(),
            ),
        ]
    }

    #[test]
    fn a_logged_model_is_an_mlflow_logged_model_and_loads_by_every_uri() {
        let dir = tempfile::tempdir().unwrap();
        for (kind, store) in stores(dir.path()) {
            let mut run =
                oxflow::tracking::Run::start(&store, "prices", RunOptions::default()).unwrap();
            run.log_param("per_m2", 3000).unwrap();
            run.log_metric_at("rmse", 1.5, 4).unwrap();
            let logged = run
                .log_model_with_example(&PriceModel { per_m2: 3000.0 }, "price_model", &example())
                .unwrap();
            let run_id = run.id().to_string();
            run.end(RunStatus::Finished).unwrap();

            assert!(
                logged.model_id.starts_with("m-") && logged.model_id.len() == 34,
                "{kind}"
            );
            assert_eq!(logged.status, LoggedModelStatus::Ready, "{kind}");
            assert_eq!(
                logged.params["per_m2"], "3000",
                "{kind}: params copied from the run"
            );
            assert_eq!(logged.source_run_id.as_deref(), Some(run_id.as_str()));
            if kind == "file" {
                // MLflow's file store line: `<timestamp> <value> <step> <run id>`.
                let dir = logged.artifact_location.trim_start_matches("file://");
                let metric = std::path::Path::new(dir)
                    .parent()
                    .unwrap()
                    .join("metrics/rmse");
                let line = std::fs::read_to_string(metric).unwrap();
                assert!(line.ends_with(&format!(" 1.5 4 {run_id}\n")), "{line}");
            }
            assert!(
                logged
                    .artifact_location
                    .ends_with(&format!("/models/{}/artifacts", logged.model_id))
            );

            let mlmodel_text =
                String::from_utf8(store.read_model_artifact(&logged, "MLmodel").unwrap()).unwrap();
            let mlmodel = MlModel::parse("MLmodel", &mlmodel_text).unwrap();
            assert_eq!(mlmodel.signature, Some(PriceModel::signature()), "{kind}");
            assert_eq!(mlmodel.model_id.as_deref(), Some(logged.model_id.as_str()));
            assert_eq!(mlmodel.flavors, ["oxflow"]);
            let serving: serde_json::Value = serde_json::from_slice(
                &store
                    .read_model_artifact(&logged, "serving_input_example.json")
                    .unwrap(),
            )
            .unwrap();
            // The saved serving example is a request the model accepts.
            let loaded =
                Model::<PriceModel>::load_from(&store, &format!("models:/{}", logged.model_id))
                    .unwrap();
            assert_eq!(loaded.per_m2, 3000.0);
            assert_eq!(
                loaded.predict_json(&serving).unwrap(),
                json!({"predictions": [{"price": 150000.0}]})
            );

            // MLflow 3's `runs:/<run>/<name>` names the LoggedModel the run logged.
            let by_run =
                Model::<PriceModel>::load_from(&store, &format!("runs:/{run_id}/price_model"))
                    .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(
                by_run.mlmodel().model_id.as_deref(),
                Some(logged.model_id.as_str())
            );
            let e = Model::<PriceModel>::load_from(&store, &format!("runs:/{run_id}/other"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("other/MLmodel"), "{kind}: {e}");

            let v1 = register_model(
                &store,
                &format!("models:/{}", logged.model_id),
                "house-prices",
            )
            .unwrap();
            assert_eq!(v1.version, 1);
            assert_eq!(v1.run_id.as_deref(), Some(run_id.as_str()));
            let tags = store.get_logged_model(&logged.model_id).unwrap().tags;
            assert_eq!(
                tags["mlflow.modelVersions"], r#"[{"name": "house-prices", "version": 1}]"#,
                "{kind}"
            );
            store
                .set_registered_model_alias("house-prices", "champion", 1)
                .unwrap();
            store
                .transition_model_version_stage("house-prices", 1, Stage::Staging, false)
                .unwrap();
            for uri in [
                "models:/house-prices/1".to_string(),
                "models:/house-prices@champion".into(),
                "models:/house-prices/Staging".into(),
                "models:/house-prices/latest".into(),
            ] {
                let m = Model::<PriceModel>::load_from(&store, &uri)
                    .unwrap_or_else(|e| panic!("{kind} {uri}: {e}"));
                assert_eq!(m.into_inner(), PriceModel { per_m2: 3000.0 });
                let any = AnyModel::load_from(&store, &uri).unwrap();
                assert_eq!(
                    any.model().as_any().downcast_ref::<PriceModel>(),
                    Some(&PriceModel { per_m2: 3000.0 })
                );
            }
            let e = Model::<PriceModel>::load_from(&store, "models:/house-prices/Production")
                .unwrap_err();
            assert_eq!(
                e.to_string(),
                "model URI `models:/house-prices/Production`: registered model `house-prices` has no version in stage Production"
            );
            let e =
                Model::<PriceModel>::load_from(&store, "models:/house-prices@nobody").unwrap_err();
            assert!(e.to_string().contains("alias `nobody`"), "{e}");
        }
    }

    #[test]
    fn a_saved_directory_loads_and_a_damaged_one_is_named_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let store: TrackingStore = FileStore::open(dir.path().join("mlruns")).unwrap().into();
        let model_dir = dir.path().join("price-model");
        save_model(&PriceModel { per_m2: 2.0 }, Some(&example()), &model_dir).unwrap();
        let path = model_dir.display().to_string();
        assert_eq!(
            Model::<PriceModel>::load_from(&store, &path)
                .unwrap()
                .per_m2,
            2.0
        );
        assert!(save_model(&PriceModel { per_m2: 2.0 }, None, &model_dir).is_err());
        let mlmodel = model_dir.join("MLmodel");
        let original = std::fs::read_to_string(&mlmodel).unwrap();

        // Truncated data.
        let data = model_dir.join("model.json");
        let full = std::fs::read(&data).unwrap();
        std::fs::write(&data, &full[..full.len() - 3]).unwrap();
        let e = Model::<PriceModel>::load_from(&store, &path)
            .unwrap_err()
            .to_string();
        assert!(e.contains("model.json") && e.contains("truncated"), "{e}");
        std::fs::write(&data, &full).unwrap();

        // Another flavor.
        std::fs::write(&mlmodel, original.replace("  oxflow:", "  sklearn:")).unwrap();
        let e = Model::<PriceModel>::load_from(&store, &path)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("MLmodel") && e.contains("no `oxflow` flavor (its flavors: sklearn)"),
            "{e}"
        );

        // An unknown flavor version.
        std::fs::write(
            &mlmodel,
            original.replace("format_version: 1", "format_version: 7"),
        )
        .unwrap();
        let e = Model::<PriceModel>::load_from(&store, &path)
            .unwrap_err()
            .to_string();
        assert!(e.contains("format_version 7"), "{e}");

        // A signature that differs names the column.
        std::fs::write(
            &mlmodel,
            original.replace(
                r#"{"type": "long", "name": "rooms""#,
                r#"{"type": "double", "name": "rooms""#,
            ),
        )
        .unwrap();
        let e = Model::<PriceModel>::load_from(&store, &path)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("input column `rooms` is double in the stored signature but long in the compiled one"),
            "{e}"
        );

        // Not YAML at all.
        std::fs::write(&mlmodel, "flavors: [unclosed").unwrap();
        let e = Model::<PriceModel>::load_from(&store, &path)
            .unwrap_err()
            .to_string();
        assert!(e.contains("MLmodel"), "{e}");
        std::fs::write(&mlmodel, &original).unwrap();
        assert!(Model::<PriceModel>::load_from(&store, &path).is_ok());
    }

    #[test]
    fn invalid_names_and_paths_are_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        for (kind, store) in stores(dir.path()) {
            let mut run =
                oxflow::tracking::Run::start(&store, "refusals", RunOptions::default()).unwrap();
            for bad in ["../escape", "a/b", "", "x.y"] {
                assert!(
                    run.log_model(&PriceModel { per_m2: 1.0 }, bad).is_err(),
                    "{kind}: logged model name {bad:?}"
                );
            }
            let logged = run.log_model(&PriceModel { per_m2: 1.0 }, "ok").unwrap();
            assert!(
                store
                    .log_model_artifact(&logged, "../../evil", b"x")
                    .is_err()
            );
            assert!(store.read_model_artifact(&logged, "/etc/passwd").is_err());
            let src = format!("models:/{}", logged.model_id);
            for bad in ["../x", "a/b", "c:d"] {
                assert!(
                    register_model(&store, &src, bad).is_err(),
                    "{kind}: model name {bad:?}"
                );
            }
            register_model(&store, &src, "fine").unwrap();
            for alias in ["latest", "v3", "has space"] {
                assert!(
                    store.set_registered_model_alias("fine", alias, 1).is_err(),
                    "{kind}: alias {alias:?}"
                );
            }
            assert!(
                "models:/fine/Prod"
                    .parse::<oxflow::model::ModelUri>()
                    .is_err()
            );
        }
    }
}

/// A DAG that trains, logs and registers a model from its task run, evaluates it, and
/// promotes it only when its error beats the champion's.
mod dag_promotion {
    use super::*;
    use oxflow::exec::{self, RunConfig};
    use oxflow::model::{Better, Model, promote_if_better, register_model};
    use oxflow::tracking::{FileStore, TrackingStore};
    use std::sync::atomic::{AtomicU64, Ordering};

    static PER_M2: AtomicU64 = AtomicU64::new(0);

    fn houses() -> Vec<House> {
        [40.0, 80.0, 120.0]
            .into_iter()
            .map(|area| {
                let mut rec = base();
                rec["area"] = json!(area);
                House::from_row(&oxflow::model::Row::new(rec.as_object().unwrap(), 0)).unwrap()
            })
            .collect()
    }

    #[task]
    fn train(run: &mut Run) -> Result<u64, oxflow::model::ModelError> {
        let model = PriceModel {
            per_m2: f64::from_bits(PER_M2.load(Ordering::SeqCst)),
        };
        let logged = run.log_model_with_example(&model, "price_model", &houses())?;
        let v = register_model(
            run.store(),
            &format!("models:/{}", logged.model_id),
            "dag-prices",
        )?;
        Ok(v.version)
    }

    #[task]
    fn evaluate(version: &u64, run: &mut Run) -> Result<f64, oxflow::model::ModelError> {
        let model =
            Model::<PriceModel>::load_from(run.store(), &format!("models:/dag-prices/{version}"))?;
        let rows = houses();
        let predicted = model.predict(&rows).unwrap();
        let mae = rows
            .iter()
            .zip(&predicted)
            .map(|(h, p)| (p.price - 3000.0 * h.area).abs())
            .sum::<f64>()
            / rows.len() as f64;
        run.log_metric("mae", mae)?;
        Ok(mae)
    }

    #[task]
    fn promote(
        version: &u64,
        mae: &f64,
        run: &mut Run,
    ) -> Result<(u64, bool), oxflow::model::ModelError> {
        let p = promote_if_better(
            run.store(),
            "dag-prices",
            *version,
            "champion",
            "mae",
            *mae,
            Better::Lower,
        )?;
        Ok((*version, p.promoted))
    }

    #[dag]
    fn retrain() {
        let version = train();
        let mae = evaluate(&version);
        promote(&version, &mae);
    }

    #[tokio::test]
    async fn only_a_better_model_takes_the_champion_alias() {
        let dir = tempfile::tempdir().unwrap();
        let store: TrackingStore = FileStore::open(dir.path().join("mlruns")).unwrap().into();
        let spec = retrain().spec().unwrap();
        let mut outcomes = Vec::new();
        for per_m2 in [2900.0, 2500.0, 2990.0] {
            PER_M2.store(f64::to_bits(per_m2), Ordering::SeqCst);
            let run = exec::execute(&spec, RunConfig::recorded(store.clone()))
                .await
                .unwrap();
            let errors: Vec<_> = run.tasks.iter().filter_map(|t| t.error.clone()).collect();
            assert!(errors.is_empty(), "{errors:?}");
            outcomes.push(*run.output::<(u64, bool)>("promote").unwrap());
        }
        assert_eq!(outcomes, [(1, true), (2, false), (3, true)]);
        let champion = store
            .get_model_version_by_alias("dag-prices", "champion")
            .unwrap();
        assert_eq!(champion.version, 3);
        assert_eq!(champion.tags["oxflow.metric.mae"], "800.0");
        let loaded = Model::<PriceModel>::load_from(&store, "models:/dag-prices@champion").unwrap();
        assert_eq!(loaded.per_m2, 2990.0);
    }
}

/// Inference parameters: their defaults make the params schema.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Knobs {
    discount: f64,
    round_to: i64,
    tags: Vec<String>,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            discount: 0.0,
            round_to: 1,
            tags: vec!["base".into()],
        }
    }
}

#[model(input = House, output = Price, name = "discounted", params = Knobs)]
#[derive(Serialize, Deserialize, Debug)]
struct Discounted {
    per_m2: f64,
}

impl Predict for Discounted {
    type Input = House;
    type Output = Price;
    type Error = TooSmall;
    fn predict(&self, rows: &[House]) -> Result<Vec<Price>, TooSmall> {
        self.predict_with(rows, &Knobs::default())
    }
}

impl PredictParams for Discounted {
    type Params = Knobs;
    fn predict_with(&self, rows: &[House], k: &Knobs) -> Result<Vec<Price>, TooSmall> {
        Ok(rows
            .iter()
            .map(|h| {
                let raw = h.area * self.per_m2 * (1.0 - k.discount);
                Price {
                    price: (raw / k.round_to as f64).round() * k.round_to as f64,
                }
            })
            .collect())
    }
}

#[test]
fn inference_params_are_typed_defaulted_and_enforced_as_mlflow_does() {
    let m: &dyn DynModel = &Discounted { per_m2: 1000.0 };
    // The params schema MLflow 3.17.2 writes for {"discount": 0.0, "round_to": 1, "tags": ["base"]}.
    assert_eq!(
        oxflow::model::ParamSpec::list_json(&m.model_params()),
        concat!(
            r#"[{"name": "discount", "default": 0.0, "shape": null, "type": "double"}, "#,
            r#"{"name": "round_to", "default": 1, "shape": null, "type": "long"}, "#,
            r#"{"name": "tags", "default": ["base"], "shape": [-1], "type": "string"}]"#
        )
    );
    let row = json!({"area": 123.4, "rooms": 3, "has garden": true, "city": "Oslo"});
    let price = |params: Value| -> Result<Value, String> {
        let mut body = json!({"dataframe_records": [row.clone()]});
        if !params.is_null() {
            body["params"] = params;
        }
        m.predict_json(&body)
            .map(|v| v["predictions"][0]["price"].clone())
            .map_err(|e| e.to_string())
    };
    assert_eq!(price(Value::Null), Ok(json!(123400.0)));
    // An integer is a valid double; unknown params are ignored.
    assert_eq!(
        price(json!({"discount": 0, "round_to": 1000, "nope": 1})),
        Ok(json!(123000.0))
    );
    assert_eq!(price(json!({"discount": 0.5})), Ok(json!(61700.0)));
    let e = price(json!({"round_to": 2.5, "tags": "x"})).unwrap_err();
    assert!(e.starts_with("Invalid parameters found: "), "{e}");
    assert!(e.contains("param `round_to` (long) cannot be 2.5"), "{e}");
    assert!(e.contains("param `tags` (string array)"), "{e}");
}

#[test]
fn a_stored_params_schema_must_match_the_compiled_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m");
    oxflow::model::save_model(&Discounted { per_m2: 2.0 }, None, &path).unwrap();
    let mlmodel = std::fs::read_to_string(path.join("MLmodel")).unwrap();
    assert!(
        mlmodel.contains(r#"params: '[{"name": "discount", "default": 0.0"#),
        "{mlmodel}"
    );
    let store =
        oxflow::tracking::TrackingStore::open_uri(&dir.path().join("mlruns").display().to_string())
            .unwrap();
    let loaded =
        oxflow::model::Model::<Discounted>::load_from(&store, &path.display().to_string()).unwrap();
    assert_eq!(loaded.mlmodel().params.len(), 3);
    std::fs::write(
        path.join("MLmodel"),
        mlmodel.replace(r#""name": "round_to""#, r#""name": "round""#),
    )
    .unwrap();
    let e = oxflow::model::Model::<Discounted>::load_from(&store, &path.display().to_string())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("inference params") && e.contains("\"round\""),
        "{e}"
    );
}
