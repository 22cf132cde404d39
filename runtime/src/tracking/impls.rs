//! [`Store`] for the file store and the REST store: both keep their operations as inherent
//! methods; these impls route the trait to them.

use std::path::PathBuf;

use super::backend::Store;
use super::entities::{
    ArtifactEntry, Experiment, Metric, RunInfo, RunOptions, RunRecord, RunStatus,
};
use super::search::ViewType;
use super::ui_hint::shell_quote;
use super::{FileStore, RestStore, TrackingError};

macro_rules! route {
    ($ty:ty) => {
        fn flush(&self) -> Result<(), TrackingError> {
            <$ty>::flush(self)
        }
        fn list_experiments(
            &self,
            include_deleted: bool,
        ) -> Result<Vec<Experiment>, TrackingError> {
            <$ty>::list_experiments(self, include_deleted)
        }
        fn get_experiment(&self, experiment_id: &str) -> Result<Experiment, TrackingError> {
            <$ty>::get_experiment(self, experiment_id)
        }
        fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>, TrackingError> {
            <$ty>::get_experiment_by_name(self, name)
        }
        fn get_or_create_experiment(&self, name: &str) -> Result<Experiment, TrackingError> {
            <$ty>::get_or_create_experiment(self, name)
        }
        fn set_experiment_tag(
            &self,
            experiment_id: &str,
            key: &str,
            value: &str,
        ) -> Result<(), TrackingError> {
            <$ty>::set_experiment_tag(self, experiment_id, key, value)
        }
        fn create_run(
            &self,
            experiment_id: &str,
            opts: RunOptions,
        ) -> Result<RunInfo, TrackingError> {
            <$ty>::create_run(self, experiment_id, opts)
        }
        fn get_run(&self, run_id: &str) -> Result<RunRecord, TrackingError> {
            <$ty>::get_run(self, run_id)
        }
        fn get_metric_history(
            &self,
            run_id: &str,
            key: &str,
        ) -> Result<Vec<Metric>, TrackingError> {
            <$ty>::get_metric_history(self, run_id, key)
        }
        fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<(), TrackingError> {
            <$ty>::log_param(self, run_id, key, value)
        }
        fn log_metric(&self, run_id: &str, m: &Metric) -> Result<(), TrackingError> {
            <$ty>::log_metric(self, run_id, &m.key, m.value, m.timestamp_ms, m.step)
        }
        fn log_batch(
            &self,
            run_id: &str,
            metrics: &[Metric],
            params: &[(String, String)],
            tags: &[(String, String)],
        ) -> Result<(), TrackingError> {
            <$ty>::log_batch(self, run_id, metrics, params, tags)
        }
        fn set_tags(&self, run_id: &str, tags: &[(&str, &str)]) -> Result<(), TrackingError> {
            <$ty>::set_tags(self, run_id, tags)
        }
        fn delete_tag(&self, run_id: &str, key: &str) -> Result<(), TrackingError> {
            <$ty>::delete_tag(self, run_id, key)
        }
        fn update_run(
            &self,
            run_id: &str,
            status: Option<RunStatus>,
            end_time_ms: Option<i64>,
        ) -> Result<(), TrackingError> {
            <$ty>::update_run(self, run_id, status, end_time_ms)
        }
        fn delete_run(&self, run_id: &str) -> Result<(), TrackingError> {
            <$ty>::delete_run(self, run_id)
        }
        fn restore_run(&self, run_id: &str) -> Result<(), TrackingError> {
            <$ty>::restore_run(self, run_id)
        }
        fn search_runs(
            &self,
            experiment_ids: &[&str],
            filter: &str,
            order_by: &[&str],
            max_results: usize,
            view: ViewType,
        ) -> Result<Vec<RunRecord>, TrackingError> {
            <$ty>::search_runs_view(self, experiment_ids, filter, order_by, max_results, view)
        }
        fn log_artifact_bytes(
            &self,
            run_id: &str,
            rel_path: &str,
            bytes: &[u8],
        ) -> Result<(), TrackingError> {
            <$ty>::log_artifact_bytes(self, run_id, rel_path, bytes)
        }
        fn read_artifact(&self, run_id: &str, rel_path: &str) -> Result<Vec<u8>, TrackingError> {
            <$ty>::read_artifact(self, run_id, rel_path)
        }
        fn list_artifacts(
            &self,
            run_id: &str,
            dir: &str,
        ) -> Result<Vec<ArtifactEntry>, TrackingError> {
            <$ty>::list_artifacts(self, run_id, dir)
        }
    };
}

impl Store for FileStore {
    fn uri(&self) -> String {
        format!("file://{}", self.root().display())
    }

    /// MLflow 3 refuses a file store unless `MLFLOW_ALLOW_FILE_STORE=true`.
    fn ui_command(&self) -> String {
        format!(
            "MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri {}",
            shell_quote(&self.root().display().to_string())
        )
    }

    fn default_log_root(&self) -> PathBuf {
        crate::exec::log_dir_for(self.root())
    }

    fn artifact_location(&self, run_id: &str, rel_path: &str) -> Result<PathBuf, TrackingError> {
        self.artifact_path(run_id, rel_path)
    }

    route!(FileStore);
}

impl Store for RestStore {
    fn uri(&self) -> String {
        RestStore::uri(self).to_string()
    }

    fn ui_command(&self) -> String {
        RestStore::uri(self).to_string()
    }

    fn default_log_root(&self) -> PathBuf {
        PathBuf::from("logs")
    }

    route!(RestStore);
}
