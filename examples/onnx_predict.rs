//! Score and log ONNX models in MLflow's own `onnx` flavor (needs the `onnx` feature).
//!
//! ```text
//! # score a model any MLflow client logged (`mlflow.onnx.log_model`), by any model URI:
//! cargo run --features onnx --example onnx_predict -- predict models:/iris/1 request.json
//! # log a .onnx file as a LoggedModel that `mlflow.pyfunc.load_model` loads; prints its id.
//! # The signature is the graph's input as a float32 tensor, or named float columns:
//! cargo run --features onnx --example onnx_predict -- log iris.onnx tensor
//! cargo run --features onnx --example onnx_predict -- log iris.onnx columns:sl,sw,pl,pw
//! ```
//!
//! The tracking store is the one the environment names (`MLFLOW_TRACKING_URI`, else MLflow's
//! default in the working directory). `predict` prints the response `mlflow models serve`
//! would give, as JSON.

use std::process::ExitCode;

use oxflow::model::{AnyModel, ColSpec, ColType, DataType, DynModel, OnnxModel, Signature};
use oxflow::tracking::{RunOptions, RunStatus, TrackingStore};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["predict", uri, request] => predict(uri, request),
        ["log", file, signature] => log(file, signature),
        _ => Err("usage: onnx_predict predict <model uri> <request.json> | log <model.onnx> tensor|columns:<a,b,...>".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onnx_predict: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

fn predict(uri: &str, request: &str) -> Result<(), Box<dyn std::error::Error>> {
    let model = AnyModel::load(uri)?;
    let body: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(request)?)?;
    println!("{}", model.predict_json(&body)?);
    Ok(())
}

fn log(file: &str, signature: &str) -> Result<(), Box<dyn std::error::Error>> {
    let bytes = std::fs::read(file)?;
    let graph = OnnxModel::from_bytes(file, &bytes, None)?;
    let inputs = match signature.strip_prefix("columns:") {
        Some(names) => names
            .split(',')
            .map(|n| ColSpec::new(n, ColType::Scalar(DataType::Float), true))
            .collect(),
        None => graph.model_signature().inputs,
    };
    let signature = Signature {
        inputs,
        outputs: Vec::new(),
    };
    let store = TrackingStore::from_env()?;
    let mut run = oxflow::tracking::Run::start(&store, "onnx-interop", RunOptions::default())?;
    let logged = run.log_onnx_model(&bytes, &signature, None, "onnx_model")?;
    run.end(RunStatus::Finished)?;
    println!("{}", logged.model_id);
    Ok(())
}
