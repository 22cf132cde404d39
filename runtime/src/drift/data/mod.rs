//! Columns and datasets: numerical and categorical columns with missing values, built from
//! Rust values, from rows of a serde type, or read from CSV files with inferred types.
//!
//! - [`ColumnKind`]: numerical or categorical;
//! - [`Categories`]: dictionary-encoded labels;
//! - [`Column`] and [`ColumnData`]: one named column;
//! - [`Dataset`]: equally long columns, the reference or the current data;
//! - [`CsvOptions`] and [`read_csv_pair`]: CSV files, typed alike on both sides;
//! - type inference (numbers, labels, Evidently's integer rule) is shared by the CSV reader and
//!   [`Dataset::from_rows`].

mod categories;
mod column;
mod csv_file;
mod dataset;
mod infer;
mod kind;

pub use categories::{Categories, MISSING};
pub use column::{Column, ColumnData};
pub use csv_file::{CsvOptions, read_csv_pair};
pub use dataset::Dataset;
pub use infer::INTEGER_CARDINALITY_LIMIT;
pub use kind::ColumnKind;

pub(crate) use column::parse_number;
pub(crate) use dataset::check_compatible;
