//! Drift detection: is the data a model sees today still like the data it was trained on?
//!
//! A ten-line tour:
//!
//! ```
//! use oxflow_runtime::drift::{detect, Column, Dataset, DriftOptions};
//! let reference = Dataset::new(vec![
//!     Column::numerical("income", (0..5000).map(|i| (i % 97) as f64).collect()),
//!     Column::categorical("plan", (0..5000).map(|i| if i % 4 == 0 { "pro" } else { "free" })),
//! ])?;
//! let current = Dataset::new(vec![
//!     Column::numerical("income", (0..5000).map(|i| (i % 97) as f64 + 20.0).collect()),
//!     Column::categorical("plan", (0..5000).map(|i| if i % 4 == 0 { "pro" } else { "free" })),
//! ])?;
//! let report = detect(&reference, &current, &DriftOptions::default())?;
//! assert_eq!(report.drifted_columns().collect::<Vec<_>>(), ["income"]);
//! let (json, html, metrics) = (report.to_json()?, report.to_html(), report.to_metrics());
//! # let _ = (json, html, metrics);
//! # Ok::<(), oxflow_runtime::drift::DriftError>(())
//! ```
//!
//! - [`data`]: columns (numerical with missing values, categorical), datasets from Rust values,
//!   serde rows or CSV files;
//! - [`stattest`]: KS, Wasserstein, PSI, Jensen–Shannon, chi-square, Z-test, shifts;
//! - [`select`]: the test and threshold Evidently 0.7 would pick;
//! - [`detect()`]: per-column and dataset drift (and label drift on the target);
//! - [`concept`]: model quality between windows, and [`stream`]: DDM, EDDM, ADWIN,
//!   Page-Hinkley and KSWIN fed one observation at a time;
//! - [`report`]: [`DriftReport`] as JSON, HTML and metrics; [`metrics`]: gauge names;
//! - [`cli`]: the `oxflow drift` command.
//!
//! In a pipeline, a task is a plain function that calls [`detect()`] and returns (or stores)
//! the [`DriftReport`]; to log it to a tracking run, log [`DriftReport::to_metrics`] as metrics
//! and [`DriftReport::to_json`] / [`DriftReport::to_html`] as artifacts. [`detect()`] also sets
//! the gauges named in [`metrics`] through the `metrics` facade.

pub mod cli;
pub mod concept;
pub mod data;
mod detect;
mod error;
mod html;
pub mod metrics;
pub mod report;
pub mod select;
pub mod stattest;
pub mod stream;
pub mod tracking;

pub use data::{Categories, Column, ColumnData, ColumnKind, CsvOptions, Dataset, read_csv_pair};
pub(crate) use detect::detect_unrecorded;
pub use detect::{Binning, DriftOptions, PLOT_BINS, PLOT_CATEGORIES, detect, detect_column};
pub use error::{DriftError, Side};
pub use report::{ColumnDrift, ColumnRole, ColumnSummary, DatasetDrift, Distribution, DriftReport};
pub use select::default_test;
pub use stattest::StatTest;
