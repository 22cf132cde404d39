//! Errors of the drift module.

use std::path::PathBuf;

/// Which of the two datasets a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The reference (baseline) data.
    Reference,
    /// The current (production) data.
    Current,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Reference => "reference",
            Side::Current => "current",
        })
    }
}

/// Everything that can go wrong while building datasets, running tests or writing reports.
///
/// Every variant about a column names it, so a user with 200 features knows where to look.
///
/// ```
/// use oxflow_runtime::drift::{DriftError, Side};
/// let e = DriftError::EmptyColumn { column: "age".into(), side: Side::Current };
/// assert!(e.to_string().contains("`age`"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriftError {
    /// A column exists in one dataset and not in the other.
    #[error("column `{column}` is in the {present} data but not in the {missing} data")]
    MissingColumn {
        /// The column.
        column: String,
        /// Where it was found.
        present: Side,
        /// Where it is missing.
        missing: Side,
    },
    /// A column is numerical on one side and categorical on the other.
    #[error(
        "column `{column}` is {reference} in the reference data but {current} in the current data; \
         give its type explicitly, for example `--type {column}=categorical`"
    )]
    TypeMismatch {
        /// The column.
        column: String,
        /// Its type in the reference data.
        reference: crate::drift::ColumnKind,
        /// Its type in the current data.
        current: crate::drift::ColumnKind,
    },
    /// No usable value is left after removing missing values and infinities.
    #[error("column `{column}` has no finite, non-missing value in the {side} data")]
    EmptyColumn {
        /// The column.
        column: String,
        /// The empty side.
        side: Side,
    },
    /// A test was asked for a column whose type it cannot handle.
    #[error("column `{column}`: test `{test}` does not apply to {kind} columns")]
    TestNotApplicable {
        /// The column.
        column: String,
        /// The test's name.
        test: String,
        /// The column's type.
        kind: crate::drift::ColumnKind,
    },
    /// An option names a column that neither dataset has.
    #[error("{option} names column `{column}`, which the data does not have")]
    UnknownColumn {
        /// The column.
        column: String,
        /// The option, e.g. `--test`.
        option: String,
    },
    /// A test name that oxflow does not know.
    #[error("unknown test `{name}`; expected one of: {valid}")]
    UnknownTest {
        /// What the user wrote.
        name: String,
        /// The valid names, comma separated.
        valid: String,
    },
    /// A threshold that cannot be used (NaN, negative, a p-value above 1).
    #[error("invalid threshold {value} for column `{column}`: {reason}")]
    InvalidThreshold {
        /// The column (or `*` for the default).
        column: String,
        /// The value given.
        value: f64,
        /// Why it is rejected.
        reason: String,
    },
    /// Two columns of one dataset have different lengths.
    #[error("column `{column}` has {len} rows but the dataset's first column has {expected}")]
    LengthMismatch {
        /// The column.
        column: String,
        /// Its length.
        len: usize,
        /// The dataset's length.
        expected: usize,
    },
    /// A column name appears twice in one dataset.
    #[error("column `{column}` appears twice")]
    DuplicateColumn {
        /// The column.
        column: String,
    },
    /// A value given as numerical cannot be parsed as a number.
    #[error(
        "column `{column}`, row {row}: cannot read `{value}` as a number; declare the column categorical"
    )]
    ParseNumber {
        /// The column.
        column: String,
        /// 1-based data row (header excluded).
        row: usize,
        /// The text found.
        value: String,
    },
    /// A value of a serde row that is neither a number, a string, a bool nor null.
    #[error("column `{column}`, row {row}: nested values are not supported; flatten the row type")]
    Unsupported {
        /// The column.
        column: String,
        /// 1-based row.
        row: usize,
    },
    /// A malformed command-line or option value.
    #[error("{0}")]
    InvalidArgument(String),
    /// A CSV file without even a header row.
    #[error("`{path}` is empty: expected a header row and at least one data row")]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// A CSV file with a header and no data row: nothing to compare.
    #[error("`{path}` has a header but no data rows")]
    NoRows {
        /// The file.
        path: PathBuf,
    },
    /// A header read as one column whose name holds a `;` or a tab: the file is most likely
    /// separated by that character, not by the delimiter in use.
    #[error(
        "`{path}`: the header is one column, `{header}`, which contains {}; if the file is \
         separated by {}, pass `--delimiter {}`",
        describe_delimiter(*found), describe_delimiter(*found), delimiter_arg(*found)
    )]
    SuspectDelimiter {
        /// The file.
        path: PathBuf,
        /// The header as read.
        header: String,
        /// The character that looks like the real delimiter.
        found: char,
    },
    /// Reading a CSV file failed.
    #[error("reading `{path}`: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: csv::Error,
    },
    /// Reading or writing a file failed.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done ("writing", "reading").
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A statistic could not be computed for a column.
    #[error("column `{column}`: {source}")]
    Stat {
        /// The column.
        column: String,
        /// The cause.
        #[source]
        source: crate::drift::stattest::StatError,
    },
    /// Serialising or parsing JSON failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// How a delimiter is named in a message: "`;`", "a tab".
pub(crate) fn describe_delimiter(c: char) -> String {
    match c {
        '\t' => "a tab".into(),
        c => format!("`{c}`"),
    }
}

/// How a delimiter is written as the value of `--delimiter`.
pub(crate) fn delimiter_arg(c: char) -> String {
    match c {
        '\t' => "tab".into(),
        c => format!("'{c}'"),
    }
}
