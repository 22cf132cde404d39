//! Experiments, runs, params, metrics, tags and artifacts, stored in MLflow's file-store layout.
