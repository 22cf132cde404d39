//! The oxflow side of the SQLite interoperability check (`tests/interop/mlflow_sqlite.sh`).
//!
//! ```text
//! cargo run --example sqlite_interop -- create <db>                  # a new MLflow database
//! cargo run --example sqlite_interop -- registry <db>                # model v1, v2 (Production), alias
//! cargo run --example sqlite_interop -- read-and-write <db> <run id> <other db>
//! cargo run --example sqlite_interop -- concurrent <db> <runs>       # runs `ox0`.. with metric `m`
//! cargo run --example sqlite_interop -- count <db> <experiment> <n>  # exits 1 unless n runs
//! ```

use oxflow::tracking::{
    NewModelVersion, RunOptions, RunStatus, SqlStore, Stage, TrackingStore, now_ms,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> Result<&str, Box<dyn std::error::Error>> {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("missing argument {i}; see the usage in the source").into())
    };
    let open = |p: &str| -> Result<TrackingStore, Box<dyn std::error::Error>> {
        Ok(SqlStore::open(p)?.into())
    };
    match arg(0)? {
        "create" => {
            open(arg(1)?)?;
        }
        "registry" => {
            let s = open(arg(1)?)?;
            let exp = s.get_or_create_experiment("registry")?;
            let run = s.create_run(&exp.experiment_id, RunOptions::default())?;
            s.create_registered_model("oxflow-model", None, &[("team".into(), "vision".into())])?;
            for _ in 0..2 {
                s.create_model_version(&NewModelVersion {
                    name: "oxflow-model".into(),
                    source: format!("runs:/{}/model", run.run_id),
                    run_id: Some(run.run_id.clone()),
                    ..Default::default()
                })?;
            }
            s.transition_model_version_stage("oxflow-model", 2, Stage::Production, false)?;
            s.set_registered_model_alias("oxflow-model", "champion", 1)?;
            s.set_terminated(&run.run_id, RunStatus::Finished, now_ms())?;
        }
        "read-and-write" => {
            let s = open(arg(1)?)?;
            let rec = s.get_run(arg(2)?)?;
            if rec.params.get("p").map(String::as_str) != Some("1")
                || !rec.metrics.get("x").is_some_and(|m| m.value.is_nan())
            {
                return Err(format!("mlflow's run reads back wrong: {rec:?}").into());
            }
            let other = open(arg(3)?)?;
            let exp = other.get_or_create_experiment("from-oxflow")?;
            let run = other.create_run(&exp.experiment_id, RunOptions::default())?;
            other.log_param(&run.run_id, "written_by", "oxflow")?;
            other.log_metric(&run.run_id, "acc", 0.5, now_ms(), 0)?;
            other.set_terminated(&run.run_id, RunStatus::Finished, now_ms())?;
        }
        "concurrent" => {
            let s = open(arg(1)?)?;
            let n: usize = arg(2)?.parse()?;
            let exp = s.get_or_create_experiment("concurrent")?;
            for i in 0..n {
                let run = s.create_run(
                    &exp.experiment_id,
                    RunOptions {
                        run_name: Some(format!("ox{i}")),
                        ..Default::default()
                    },
                )?;
                for step in 0..5 {
                    s.log_metric(&run.run_id, "m", step as f64, now_ms(), step)?;
                }
                s.set_terminated(&run.run_id, RunStatus::Finished, now_ms())?;
            }
        }
        "count" => {
            let s = open(arg(1)?)?;
            let want: usize = arg(3)?.parse()?;
            let exp = s
                .get_experiment_by_name(arg(2)?)?
                .ok_or("no such experiment")?;
            let got = s
                .search_runs(&[exp.experiment_id.as_str()], "", &[], 1000)?
                .len();
            println!("[oxflow] {got} runs");
            if got != want {
                return Err(format!("expected {want} runs, found {got}").into());
            }
        }
        other => return Err(format!("unknown command `{other}`").into()),
    }
    Ok(())
}
