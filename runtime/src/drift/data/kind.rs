//! [`ColumnKind`]: numerical or categorical, the type that decides which tests apply.

use serde::{Deserialize, Serialize};

use crate::drift::error::DriftError;

/// The type of a column, which decides the tests that apply to it.
///
/// ```
/// use oxflow_runtime::drift::ColumnKind;
/// assert_eq!("categorical".parse::<ColumnKind>().unwrap(), ColumnKind::Categorical);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Real numbers; `NaN` is a missing value.
    Numerical,
    /// Labels (strings, or integers with few distinct values).
    Categorical,
}

impl std::fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ColumnKind::Numerical => "numerical",
            ColumnKind::Categorical => "categorical",
        })
    }
}

impl std::str::FromStr for ColumnKind {
    type Err = DriftError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "num" | "numeric" | "numerical" => Ok(ColumnKind::Numerical),
            "cat" | "categorical" | "category" => Ok(ColumnKind::Categorical),
            other => Err(DriftError::InvalidArgument(format!(
                "unknown column type `{other}`; expected `numerical` or `categorical`"
            ))),
        }
    }
}
