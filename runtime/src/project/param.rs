//! Parameter types of a project's entry points, shared by `oxflow.ron` and MLflow's `MLproject`,
//! and the checks a value gets before anything is built or run.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The type of an entry point's parameter.
///
/// `oxflow.ron` spells them `Float`, `Int`, `Bool`, `String`, `Path`, `Uri` ([`ParamType::ron_name`]); an `MLproject`
/// spells them as MLflow does: `float`, `int`, `string`, `path`, `uri` (and `bool`).
///
/// ```
/// use oxflow_runtime::project::ParamType;
/// assert!(ParamType::Float.check("alpha", "0.5").is_ok());
/// assert!(ParamType::Int.check("epochs", "ten").is_err());
/// assert_eq!("float".parse::<ParamType>()?, ParamType::Float);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamType {
    /// A number: `0.5`, `1e-3`, `inf`.
    Float,
    /// An integer: `-3`, `200`.
    Int,
    /// `true` or `false` (also `1`/`0`, `yes`/`no`, as `-P` accepts them).
    Bool,
    /// Any text (`String` in `oxflow.ron`). Not named `String`: a public item of that name
    /// makes rustc print `std::string::String` in every user's type errors.
    #[serde(rename = "String")]
    Text,
    /// A local path (or `file://` URI) that must exist; passed to the entry point as an
    /// absolute path, as MLflow does.
    Path,
    /// A URI with a scheme (`s3://bucket/key`, `file:///data`), as MLflow checks it.
    Uri,
}

impl ParamType {
    /// Every type, for messages.
    pub const ALL: [ParamType; 6] = [
        ParamType::Float,
        ParamType::Int,
        ParamType::Bool,
        ParamType::Text,
        ParamType::Path,
        ParamType::Uri,
    ];

    /// The type's name in `oxflow.ron` (`Float`, `Int`, `Bool`, `String`, `Path`, `Uri`).
    pub fn ron_name(self) -> &'static str {
        match self {
            ParamType::Float => "Float",
            ParamType::Int => "Int",
            ParamType::Bool => "Bool",
            ParamType::Text => "String",
            ParamType::Path => "Path",
            ParamType::Uri => "Uri",
        }
    }

    /// MLflow's name of the type (`MLproject`'s `type:`).
    pub fn mlflow_name(self) -> &'static str {
        match self {
            ParamType::Float => "float",
            ParamType::Int => "int",
            ParamType::Bool => "bool",
            ParamType::Text => "string",
            ParamType::Path => "path",
            ParamType::Uri => "uri",
        }
    }

    /// What a value of this type looks like, for messages.
    pub fn expected(self) -> &'static str {
        match self {
            ParamType::Float => "a number (float)",
            ParamType::Int => "an integer (int)",
            ParamType::Bool => "true or false (bool)",
            ParamType::Text => "text (string)",
            ParamType::Path => "an existing local path (path)",
            ParamType::Uri => "a URI with a scheme such as s3:// or file:// (uri)",
        }
    }

    /// Checks that `value` is of this type, without touching the file system: a `Path` is
    /// checked for existence only when the entry point is about to run ([`ParamType::resolve`]).
    pub fn check(self, key: &str, value: &str) -> Result<(), ValueError> {
        let ok = match self {
            ParamType::Float => value.trim().parse::<f64>().is_ok(),
            ParamType::Int => value.trim().parse::<i64>().is_ok(),
            ParamType::Bool => matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "true" | "false" | "1" | "0" | "yes" | "no"
            ),
            ParamType::Text | ParamType::Path => true,
            ParamType::Uri => has_uri_scheme(value),
        };
        if ok {
            Ok(())
        } else {
            Err(ValueError {
                key: key.to_string(),
                value: value.to_string(),
                expected: self.expected().to_string(),
            })
        }
    }

    /// The value handed to the entry point: a `Path` becomes an absolute path (relative ones
    /// are taken from `cwd`, the directory `project run` was started in) and must exist, as in
    /// MLflow; other types pass unchanged. Remote paths (`s3://...`) are refused: oxflow does
    /// not download them.
    pub fn resolve(self, key: &str, value: &str, cwd: &Path) -> Result<String, ValueError> {
        self.check(key, value)?;
        if self != ParamType::Path {
            return Ok(value.to_string());
        }
        let err = |expected: &str| ValueError {
            key: key.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        };
        let local = if let Some(rest) = value.strip_prefix("file://") {
            PathBuf::from(rest)
        } else if has_uri_scheme(value) && !looks_like_windows_drive(value) {
            return Err(err(
                "a local path (oxflow does not download remote paths; fetch it first)",
            ));
        } else {
            PathBuf::from(value)
        };
        let abs = if local.is_absolute() {
            local
        } else {
            cwd.join(local)
        };
        if !abs.exists() {
            return Err(err("an existing local path: no such file or directory"));
        }
        Ok(abs.display().to_string())
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mlflow_name())
    }
}

impl std::str::FromStr for ParamType {
    type Err = String;
    /// MLflow's names, case-insensitively (`float`, `int`, `string`, `path`, `uri`, `bool`).
    fn from_str(s: &str) -> Result<ParamType, String> {
        ParamType::ALL
            .into_iter()
            .find(|t| t.mlflow_name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown parameter type `{s}`; expected one of {}",
                    ParamType::ALL.map(|t| t.mlflow_name()).join(", ")
                )
            })
    }
}

/// A value that is not of its parameter's type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value `{value}` for parameter `{key}`: expected {expected}")]
pub struct ValueError {
    /// The parameter.
    pub key: String,
    /// The value given.
    pub value: String,
    /// What was expected.
    pub expected: String,
}

/// MLflow's `is_uri`: the text starts with a scheme (`letter (letter | digit | + | - | .)* :`),
/// as `urllib.parse.urlparse` finds one.
fn has_uri_scheme(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn looks_like_windows_drive(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// The parameter type a Rust parameter type maps to (an `#[experiment]` field's `type_name`,
/// as the binary reports it), or `None` for a type of the user's own.
///
/// ```
/// use oxflow_runtime::project::{ParamType, param_type_of_rust};
/// assert_eq!(param_type_of_rust("u32"), Some(ParamType::Int));
/// assert_eq!(param_type_of_rust("Option<f64>"), Some(ParamType::Float));
/// assert_eq!(param_type_of_rust("std::path::PathBuf"), Some(ParamType::Path));
/// ```
pub fn param_type_of_rust(type_name: &str) -> Option<ParamType> {
    let t: String = type_name.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t
        .strip_prefix("Option<")
        .or_else(|| t.strip_prefix("std::option::Option<"))
        .or_else(|| t.strip_prefix("core::option::Option<"))
        .and_then(|r| r.strip_suffix('>'))
        .unwrap_or(&t);
    let last = t.rsplit("::").next().unwrap_or(t);
    Some(match last {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128"
        | "isize" => ParamType::Int,
        "f32" | "f64" => ParamType::Float,
        "bool" => ParamType::Bool,
        "String" => ParamType::Text,
        "PathBuf" => ParamType::Path,
        _ => return None,
    })
}

/// Whether a parameter declared in a project file with type `declared` may feed a binary
/// parameter of type `binary`: the same type, an `Int` for a `Float`, or text of any kind
/// (`String`, `Path`, `Uri`) for a `String` or `Path`.
pub(crate) fn compatible(declared: ParamType, binary: ParamType) -> bool {
    use ParamType::*;
    declared == binary
        || matches!(
            (declared, binary),
            (Int, Float) | (Path | Uri, Text) | (Text | Uri, Path)
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_by_type() {
        assert!(ParamType::Float.check("a", "1e-3").is_ok());
        assert!(ParamType::Float.check("a", " 2 ").is_ok());
        assert!(ParamType::Float.check("a", "x").is_err());
        assert!(ParamType::Int.check("a", "1.5").is_err());
        assert!(ParamType::Bool.check("a", "yes").is_ok());
        assert!(ParamType::Bool.check("a", "maybe").is_err());
        assert!(ParamType::Uri.check("a", "s3://b/k").is_ok());
        assert!(ParamType::Uri.check("a", "no/scheme").is_err());
        let e = ParamType::Int.check("epochs", "ten").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value `ten` for parameter `epochs`: expected an integer (int)"
        );
    }

    #[test]
    fn paths_become_absolute_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("data.csv"), "x").unwrap();
        let abs = ParamType::Path
            .resolve("d", "data.csv", dir.path())
            .unwrap();
        assert_eq!(abs, dir.path().join("data.csv").display().to_string());
        assert!(
            ParamType::Path
                .resolve("d", "nope.csv", dir.path())
                .is_err()
        );
        assert!(
            ParamType::Path
                .resolve("d", "s3://b/k", dir.path())
                .is_err()
        );
        let uri = format!("file://{}", dir.path().join("data.csv").display());
        assert_eq!(ParamType::Path.resolve("d", &uri, dir.path()).unwrap(), abs);
    }

    #[test]
    fn rust_types_map_to_project_types() {
        assert_eq!(param_type_of_rust("i64"), Some(ParamType::Int));
        assert_eq!(
            param_type_of_rust("Option < String >"),
            Some(ParamType::Text)
        );
        assert_eq!(param_type_of_rust("MyEnum"), None);
        assert!(compatible(ParamType::Int, ParamType::Float));
        assert!(!compatible(ParamType::Float, ParamType::Int));
        assert!(!compatible(ParamType::Text, ParamType::Bool));
    }
}
