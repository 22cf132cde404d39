//! The `onnx` flavor against the fixtures of `tests/fixtures/onnx/` (made by `gen.py` there
//! with skl2onnx, with the outputs onnxruntime gives for them).

use std::path::PathBuf;

use prost::Message;
use serde_json::{Value, json};

use super::*;
use crate::model::{AnyModel, MlModel};
use crate::tracking::{RunOptions, SqlStore, TrackingStore};

const TOLERANCE: f64 = 1e-5;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/onnx")
}

fn fixture(name: &str) -> (Vec<u8>, Value) {
    let dir = fixtures();
    let bytes = std::fs::read(dir.join(format!("{name}.onnx"))).unwrap();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap())
            .unwrap();
    (bytes, expected)
}

fn load(name: &str, signature: Option<Signature>) -> OnnxModel {
    let (bytes, _) = fixture(name);
    OnnxModel::from_bytes(&format!("{name}.onnx"), &bytes, signature)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn numbers(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(items) => items.iter().flat_map(numbers).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("not a number: {other}"),
    }
}

/// The largest difference between oxflow's output (tensor request) and onnxruntime's, over
/// every output; labels must be equal.
fn max_difference(name: &str, predictions: &Value, expected: &Value) -> f64 {
    let mut max = 0f64;
    for out in expected["outputs"].as_array().unwrap() {
        let got = &predictions[out["name"].as_str().unwrap()];
        if let Some(maps) = out.get("maps") {
            let got = got.as_array().unwrap();
            assert_eq!(got.len(), maps.as_array().unwrap().len(), "{name}");
            for (g, w) in got.iter().zip(maps.as_array().unwrap()) {
                let (g, w) = (g.as_object().unwrap(), w.as_object().unwrap());
                assert_eq!(g.keys().collect::<Vec<_>>(), w.keys().collect::<Vec<_>>());
                for (k, wv) in w {
                    max = max.max((g[k].as_f64().unwrap() - wv.as_f64().unwrap()).abs());
                }
            }
            continue;
        }
        let (got, want) = (numbers(got), numbers(&out["data"]));
        assert_eq!(got.len(), want.len(), "{name} {}", out["name"]);
        let integer = out["dtype"].as_str().unwrap().starts_with("int");
        for (g, w) in got.iter().zip(&want) {
            if integer {
                assert_eq!(g, w, "{name}: label {g} where onnxruntime gives {w}");
            }
            max = max.max((g - w).abs());
        }
    }
    max
}

const AGREEING: [&str; 9] = [
    "lr_binary",
    "lr_multiclass",
    "lr_multiclass_zipmap",
    "lr_binary_zipmap",
    "rf_binary",
    "gb_binary",
    "dt_multiclass",
    "lin_reg",
    "scaler_lr",
];

#[test]
fn every_fixture_agrees_with_onnxruntime() {
    for name in AGREEING {
        let (_, expected) = fixture(name);
        let model = load(name, None);
        let out = model
            .predict_json(&json!({"inputs": expected["rows"]}))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let diff = max_difference(name, &out["predictions"], &expected);
        eprintln!("{name}: max abs difference to onnxruntime {diff:e}");
        assert!(diff <= TOLERANCE, "{name}: {diff:e}");
    }
}

#[test]
fn a_binary_tree_classifier_gets_both_labels() {
    // tract alone labels every row with the first class; onnxruntime's labels differ by row.
    let (_, expected) = fixture("rf_binary");
    let want = numbers(&expected["outputs"][0]["data"]);
    assert!(want.contains(&0.0) && want.contains(&1.0), "{want:?}");
    let out = load("rf_binary", None)
        .predict_json(&json!({"inputs": expected["rows"]}))
        .unwrap();
    assert_eq!(numbers(&out["predictions"]["label"]), want);
}

fn iris_columns(ty: DataType) -> Signature {
    let col = |n: &str| ColSpec::new(n, ColType::Scalar(ty), true);
    Signature {
        inputs: vec![col("sl"), col("sw"), col("pl"), col("pw")],
        outputs: vec![],
    }
}

fn records(rows: &Value) -> Value {
    let rows: Vec<Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!({"pw": r[3], "pl": r[2], "sw": r[1], "sl": r[0], "extra": "ignored"}))
        .collect();
    Value::Array(rows)
}

#[test]
fn a_column_signature_gives_one_record_per_row() {
    // As `mlflow models serve` answers for a ZipMap model with a column signature:
    // [{"output_label": 0, "output_probability": {"0": 0.98, "1": 0.018, "2": 1.4e-08}}, ...]
    let (_, expected) = fixture("lr_multiclass_zipmap");
    let model = load("lr_multiclass_zipmap", Some(iris_columns(DataType::Double)));
    let out = model
        .predict_json(&json!({"dataframe_records": records(&expected["rows"])}))
        .unwrap();
    let rows = out["predictions"].as_array().unwrap();
    let labels: Vec<Value> = rows.iter().map(|r| r["output_label"].clone()).collect();
    let maps: Vec<Value> = rows
        .iter()
        .map(|r| r["output_probability"].clone())
        .collect();
    let as_tensor = json!({"output_label": labels, "output_probability": maps});
    assert!(max_difference("lr_multiclass_zipmap", &as_tensor, &expected) <= TOLERANCE);
    assert_eq!(rows[0].as_object().unwrap().len(), 2);

    // Without ZipMap, each row's probabilities are a list (where MLflow's pandas fails).
    let (_, expected) = fixture("lr_multiclass");
    let model = load("lr_multiclass", Some(iris_columns(DataType::Float)));
    let split =
        json!({"dataframe_split": {"columns": ["sl", "sw", "pl", "pw"], "data": expected["rows"]}});
    let out = model.predict_json(&split).unwrap();
    let first = &out["predictions"][0];
    assert_eq!(first["label"], 0);
    assert_eq!(first["probabilities"].as_array().unwrap().len(), 3);
}

#[test]
fn requests_are_enforced_as_mlflow_enforces_them() {
    let model = load("lr_binary", Some(iris_columns(DataType::Double)));
    let e = model
        .predict_json(&json!({"dataframe_records": [{"sl": 1, "sw": 2, "pl": 3}]}))
        .unwrap_err();
    assert_eq!(e.to_string(), "Model is missing inputs ['pw'].");
    let e = model
        .predict_json(&json!({"dataframe_records": [{"sl": 1, "sw": 2, "pl": 3, "pw": "wide"}]}))
        .unwrap_err();
    assert!(e.to_string().contains("column `pw`"), "{e}");

    let tensor = load("lr_binary", None);
    let e = tensor
        .predict_json(&json!({"inputs": [[1.0, 2.0, 3.0]]}))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Shape of input (1, 3) does not match expected shape (-1, 4) (input `X`)"
    );
    let e = tensor
        .predict_json(&json!({"inputs": [[1.0, 2.0, 3.0, 4.0], [1.0]]}))
        .unwrap_err();
    assert!(e.to_string().contains("ragged"), "{e}");
    let named = tensor
        .predict_json(&json!({"inputs": {"X": [[5.1, 3.5, 1.4, 0.2]]}}))
        .unwrap();
    assert_eq!(named["predictions"]["label"], json!([0]));
}

#[test]
fn an_unsupported_op_is_refused_naming_it_and_the_file() {
    let (bytes, _) = fixture("rf_regressor");
    let e = OnnxModel::from_bytes("models/rf_regressor.onnx", &bytes, None).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("`models/rf_regressor.onnx` uses the op `TreeEnsembleRegressor`"),
        "{text}"
    );
}

#[test]
fn a_tree_tract_would_index_out_of_bounds_is_refused() {
    // tract reads a leaf's class id without a bounds check; such a file must not reach it.
    let (bytes, expected) = fixture("dt_multiclass");
    let mut onnx = tract_onnx::onnx();
    let mut proto = onnx.proto_model_for_read(&mut &bytes[..]).unwrap();
    let tree = &mut proto.graph.as_mut().unwrap().node[0];
    assert_eq!(tree.op_type, "TreeEnsembleClassifier");
    for a in tree.attribute.iter_mut().filter(|a| a.name == "class_ids") {
        a.ints[0] = 7;
    }
    let mut buf = Vec::new();
    proto.encode(&mut buf).unwrap();
    let e = OnnxModel::from_bytes("bad/model.onnx", &buf, None).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("a leaf votes for class 7, but there are 3 class labels"),
        "{e}"
    );
    // A branch pointing back at itself would loop for ever.
    let mut proto = onnx.proto_model_for_read(&mut &bytes[..]).unwrap();
    let tree = &mut proto.graph.as_mut().unwrap().node[0];
    for a in tree
        .attribute
        .iter_mut()
        .filter(|a| a.name == "nodes_truenodeids")
    {
        a.ints[0] = 0;
    }
    buf.clear();
    proto.encode(&mut buf).unwrap();
    let e = OnnxModel::from_bytes("bad/model.onnx", &buf, None).unwrap_err();
    assert!(e.to_string().contains("branches to node 0"), "{e}");
    // The untouched model still loads and agrees.
    let _ = &mut onnx;
    let out = load("dt_multiclass", None)
        .predict_json(&json!({"inputs": expected["rows"]}))
        .unwrap();
    assert!(max_difference("dt_multiclass", &out["predictions"], &expected) <= TOLERANCE);
}

#[test]
fn a_truncated_file_is_an_error_naming_it_at_every_length() {
    let (bytes, _) = fixture("lr_multiclass_zipmap");
    for len in 0..bytes.len() {
        match OnnxModel::from_bytes("cut/model.onnx", &bytes[..len], None) {
            Ok(_) => panic!("{len} of {} bytes loaded", bytes.len()),
            Err(e) => assert!(e.to_string().contains("`cut/model.onnx`"), "{len}: {e}"),
        }
    }
}

#[test]
fn a_signature_that_does_not_fit_the_graph_is_named() {
    let (bytes, _) = fixture("lr_binary");
    let mut three = iris_columns(DataType::Double);
    three.inputs.pop();
    let e = OnnxModel::from_bytes("m/model.onnx", &bytes, Some(three)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the signature in `m/model.onnx` differs from the compiled one: the signature has 3 input columns but the ONNX input `X` takes 4 features per row"
    );
    let f64_tensor = tensor_signature("float64");
    let e = OnnxModel::from_bytes("m/model.onnx", &bytes, Some(f64_tensor)).unwrap_err();
    assert!(
        e.to_string()
            .contains("input tensor `X` is float64 in the signature but float32 in the ONNX graph"),
        "{e}"
    );
}

fn tensor_signature(dtype: &str) -> Signature {
    Signature {
        inputs: vec![ColSpec {
            name: Some("X".into()),
            ty: ColType::Tensor {
                dtype: dtype.into(),
                shape: vec![-1, 4],
            },
            required: true,
        }],
        outputs: vec![],
    }
}

#[test]
fn a_saved_model_is_mlflow_s_onnx_layout_and_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, expected) = fixture("scaler_lr");
    let path = dir.path().join("model");
    let example = OnnxExample::Tensor(json!([expected["rows"][0]]));
    save_onnx_model(&bytes, &tensor_signature("float32"), Some(example), &path).unwrap();
    let text = std::fs::read_to_string(path.join("MLmodel")).unwrap();
    let mlmodel = MlModel::parse("MLmodel", &text).unwrap();
    assert_eq!(mlmodel.flavors, ["onnx", "python_function"]);
    assert!(
        text.contains("  python_function:\n    data: model.onnx\n"),
        "{text}"
    );
    assert!(text.contains("    loader_module: mlflow.onnx\n"), "{text}");
    assert!(
        text.contains("    providers:\n    - CUDAExecutionProvider\n    - CPUExecutionProvider\n"),
        "{text}"
    );
    assert!(text.contains("  type: ndarray\n"), "{text}");
    assert!(text.contains("  outputs: null\n"), "{text}");
    assert_eq!(std::fs::read(path.join("model.onnx")).unwrap(), bytes);
    assert_eq!(
        std::fs::read_to_string(path.join("requirements.txt")).unwrap(),
        "mlflow==3.17.2\nonnx==1.23.2\nonnxruntime==1.32.0"
    );
    let serving: Value = serde_json::from_str(
        &std::fs::read_to_string(path.join("serving_input_example.json")).unwrap(),
    )
    .unwrap();
    let model = OnnxModel::load_dir(&path).unwrap();
    let out = model.predict_json(&serving).unwrap();
    assert_eq!(out["predictions"]["label"], json!([0]));

    let e = save_onnx_model(&bytes, &tensor_signature("float32"), None, &path).unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
}

#[test]
fn a_logged_model_loads_through_any_model() {
    let dir = tempfile::tempdir().unwrap();
    let store: TrackingStore = SqlStore::open(dir.path().join("mlflow.db")).unwrap().into();
    let mut run = Run::start(&store, "iris", RunOptions::default()).unwrap();
    let (bytes, expected) = fixture("gb_binary");
    let logged = run
        .log_onnx_model(&bytes, &tensor_signature("float32"), None, "gb")
        .unwrap();
    let any = AnyModel::load_from(&store, &format!("models:/{}", logged.model_id)).unwrap();
    assert!(any.model().as_any().downcast_ref::<OnnxModel>().is_some());
    let out = any
        .predict_json(&json!({"inputs": expected["rows"]}))
        .unwrap();
    assert!(max_difference("gb_binary", &out["predictions"], &expected) <= TOLERANCE);
}

#[test]
fn a_model_of_another_flavor_or_version_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = fixture("lr_binary");
    let path = dir.path().join("m");
    save_onnx_model(&bytes, &tensor_signature("float32"), None, &path).unwrap();
    let mlmodel = path.join("MLmodel");
    let text = std::fs::read_to_string(&mlmodel).unwrap();

    std::fs::write(
        &mlmodel,
        text.replace("onnx_version: '1.23.2'", "onnx_version: 2.0.0"),
    )
    .unwrap();
    let e = OnnxModel::load_dir(&path).unwrap_err().to_string();
    assert!(e.contains("/m/MLmodel` has `onnx_version: 2.0.0`"), "{e}");

    std::fs::write(&mlmodel, text.replace("  onnx:\n", "  sklearn:\n")).unwrap();
    let e = OnnxModel::load_dir(&path).unwrap_err().to_string();
    assert!(
        e.contains("/m/MLmodel` has no `onnx` flavor (its flavors: python_function, sklearn)"),
        "{e}"
    );
}

mod corrupt {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Bytes changed anywhere give a model or an error naming the file, never a panic, and
        /// a model that loads scores or errors without panicking.
        #[test]
        fn changed_bytes_never_panic(name in prop::sample::select(vec!["lr_multiclass_zipmap", "rf_binary", "scaler_lr", "gb_binary"]),
                                     edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
            let (mut bytes, expected) = fixture(name);
            for (at, byte) in edits {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            match OnnxModel::from_bytes("fuzz/model.onnx", &bytes, None) {
                Ok(model) => {
                    let _ = model.predict_json(&json!({"inputs": expected["rows"]}));
                }
                Err(e) => prop_assert!(e.to_string().contains("`fuzz/model.onnx`"), "{}", e),
            }
        }
    }
}

#[test]
fn the_response_text_is_the_json_of_the_predictions() {
    // A server writes the predictions straight to text (`predict_json_bytes`); that text must
    // be what the `Value` of `predict_json` serializes to: keys sorted as a JSON object keeps
    // them, NaN as null, for every fixture oxflow runs and every request shape.
    let mut checked = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "onnx") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let (bytes, expected) = fixture(&name);
        let mut rows = expected["rows"].clone();
        // A missing value: NaN in, and NaN (null) probabilities out for linear models.
        rows[0][1] = Value::Null;
        let split = json!({"dataframe_split": {"columns": ["sl", "sw", "pl", "pw"], "data": rows}});
        let requests = [
            (None, json!({"inputs": expected["rows"]})),
            (None, split.clone()),
            (Some(iris_columns(DataType::Double)), split.clone()),
            (Some(iris_columns(DataType::Float)), split),
            (
                Some(iris_columns(DataType::Double)),
                json!({"dataframe_records": records(&expected["rows"])}),
            ),
            (
                Some(iris_columns(DataType::Double)),
                json!({"dataframe_split": {"columns": ["sl", "sw", "pl", "pw"], "data": []}, "params": {}}),
            ),
        ];
        for (signature, body) in requests {
            let Ok(model) = OnnxModel::from_bytes(&name, &bytes, signature) else {
                continue;
            };
            let value = model
                .predict_json(&body)
                .map(|v| serde_json::to_vec(&v).unwrap());
            let text = model.predict_json_bytes(&body);
            match (value, text) {
                (Ok(v), Ok(t)) => {
                    assert_eq!(
                        String::from_utf8(t).unwrap(),
                        String::from_utf8(v).unwrap(),
                        "{name}: {body}"
                    );
                    checked += 1;
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{name}: {body}"),
                (a, b) => panic!("{name}: {body}: {a:?} but {b:?}"),
            }
        }
    }
    assert!(checked >= 30, "{checked} responses compared");
}

#[test]
fn a_zipmap_response_is_written_with_sorted_labels_and_null_for_nan() {
    let model = load("lr_multiclass_zipmap", Some(iris_columns(DataType::Double)));
    let body = json!({"dataframe_split": {"columns": ["sl", "sw", "pl", "pw"], "data": [[5.1, 3.5, 1.4, 0.2], [null, 3.5, 1.4, 0.2]]}});
    let text = String::from_utf8(model.predict_json_bytes(&body).unwrap()).unwrap();
    assert!(
        text.starts_with(r#"{"predictions":[{"output_label":0,"output_probability":{"0":0.98"#),
        "{text}"
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    let second = &v["predictions"][1]["output_probability"];
    assert_eq!(
        second.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["0", "1", "2"]
    );
    assert!(
        second.as_object().unwrap().values().all(Value::is_null),
        "{text}"
    );
}

#[test]
fn a_split_scored_from_its_bytes_answers_as_its_value_does() {
    let model = load("lr_multiclass_zipmap", Some(iris_columns(DataType::Float)));
    let cols = r#""columns": ["sl", "sw", "pl", "pw"]"#;
    let bodies = [
        format!(r#"{{"dataframe_split": {{{cols}, "data": [[5.1, 3.5, 1.4, 0.2], [7, 3, 5, 2], [null, 1, 2, 3]]}}}}"#),
        format!(r#"{{"dataframe_split": {{{cols}, "data": []}}}}"#),
        format!(r#"{{"dataframe_split": {{{cols}, "data": [[1e300, 3.5, 1.4, 0.2]]}}}}"#),
        format!(r#"{{"dataframe_split": {{{cols}, "data": [[true, 3.5, 1.4, 0.2]]}}}}"#),
        r#"{"dataframe_split": {"columns": ["sl", "sw", "pl"], "data": [[1, 2, 3]]}}"#.to_string(),
        r#"{"dataframe_split": {"columns": ["pw", "pl", "sw", "sl", "x"], "data": [[0.2, 1.4, 3.5, 5.1, 9]]}}"#.to_string(),
    ];
    for body in &bodies {
        let fast = model
            .score_json_bytes(body.as_bytes())
            .unwrap_or_else(|| panic!("not read from bytes: {body}"));
        let value: Value = serde_json::from_str(body).unwrap();
        let general = model.predict_json_bytes(&value);
        match (fast, general) {
            (Ok((text, rows)), Ok(want)) => {
                assert_eq!(
                    String::from_utf8(text).unwrap(),
                    String::from_utf8(want).unwrap()
                );
                assert_eq!(
                    rows,
                    value["dataframe_split"]["data"].as_array().unwrap().len()
                );
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{body}"),
            (a, b) => panic!("{body}: {a:?} but {b:?}"),
        }
    }
    // A string cell, records, and a model without a column signature take the general path.
    let string = format!(r#"{{"dataframe_split": {{{cols}, "data": [["5.1", 3.5, 1.4, 0.2]]}}}}"#);
    assert!(model.score_json_bytes(string.as_bytes()).is_none());
    assert!(
        model
            .score_json_bytes(br#"{"dataframe_records": []}"#)
            .is_none()
    );
    let tensor = load("lr_multiclass_zipmap", None);
    assert!(tensor.score_json_bytes(bodies[0].as_bytes()).is_none());
}
