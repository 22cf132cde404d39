//! Typed parameter sets: the trait `#[experiment]` implements, `-P key=value` overrides, and
//! the [`Params`] wrapper a task takes to read its DAG's params.

use std::fmt;
use std::ops::Deref;

/// Name, type, default and help of one parameter, for `--help` and project files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ParamSpec {
    /// The parameter's name (the struct field).
    pub name: &'static str,
    /// Its Rust type, as written.
    pub type_name: &'static str,
    /// Its default, rendered as text.
    pub default: Option<&'static str>,
    /// Its doc comment.
    pub help: &'static str,
    /// The allowed range as written (`0.0..=1.0`), if any.
    pub range: Option<&'static str>,
}

/// A parameter override or value that was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// No parameter has that name.
    #[error("unknown parameter `{key}`; valid parameters: {}", if valid.is_empty() { "none".to_owned() } else { valid.join(", ") })]
    UnknownKey {
        /// The name given.
        key: String,
        /// Every parameter's name.
        valid: Vec<String>,
    },
    /// The value does not parse as the parameter's type.
    #[error("parameter `{key}` expects {expected}, got `{value}`")]
    Invalid {
        /// The parameter.
        key: String,
        /// The value given.
        value: String,
        /// The expected type, such as "an unsigned integer (u32)".
        expected: String,
    },
    /// The value is outside the parameter's range.
    #[error("parameter `{key}` = {value} is outside its range {range}")]
    OutOfRange {
        /// The parameter.
        key: String,
        /// The value given.
        value: String,
        /// The allowed range.
        range: String,
    },
    /// An override is not of the form `key=value`.
    #[error("`{given}` is not a `key=value` override")]
    Malformed {
        /// The text given.
        given: String,
    },
}

/// A typed set of parameters with defaults: what `#[experiment]` generates for a struct, and
/// what `#[dag(params = T)]` takes.
///
/// ```
/// use oxflow_runtime::params::{ParamError, ParamSet, ParamSpec};
/// #[derive(Debug)]
/// struct P { n: u32 }
/// impl ParamSet for P {
///     fn defaults() -> Self { P { n: 1 } }
///     fn schema() -> &'static [ParamSpec] {
///         &[ParamSpec { name: "n", type_name: "u32", default: Some("1"), help: "", range: None }]
///     }
///     fn set(&mut self, key: &str, value: &str) -> Result<(), ParamError> {
///         match key {
///             "n" => self.n = value.parse().map_err(|_| ParamError::Invalid {
///                 key: key.into(), value: value.into(), expected: "u32".into() })?,
///             _ => return Err(ParamError::UnknownKey { key: key.into(), valid: vec!["n".into()] }),
///         }
///         Ok(())
///     }
///     fn validate(&self) -> Result<(), ParamError> { Ok(()) }
///     fn to_pairs(&self) -> Vec<(String, String)> { vec![("n".into(), self.n.to_string())] }
/// }
/// let p = P::from_overrides(&[("n".into(), "7".into())]).unwrap();
/// assert_eq!(p.n, 7);
/// ```
pub trait ParamSet: Sized + Send + Sync + 'static {
    /// Every parameter at its default.
    fn defaults() -> Self;
    /// Name, type, default and help of every parameter.
    fn schema() -> &'static [ParamSpec];
    /// Parses `value` into the parameter `key`.
    fn set(&mut self, key: &str, value: &str) -> Result<(), ParamError>;
    /// Checks ranges and other constraints.
    fn validate(&self) -> Result<(), ParamError>;
    /// Every parameter as text, for logging to a run.
    fn to_pairs(&self) -> Vec<(String, String)>;
    /// Defaults, then each override in order, then validation.
    fn from_overrides(pairs: &[(String, String)]) -> Result<Self, ParamError> {
        let mut params = Self::defaults();
        for (k, v) in pairs {
            params.set(k, v)?;
        }
        params.validate()?;
        Ok(params)
    }
}

/// Splits a `key=value` override at its first `=`.
///
/// ```
/// assert_eq!(
///     oxflow_runtime::params::parse_override("lr=0.1").unwrap(),
///     ("lr".to_owned(), "0.1".to_owned())
/// );
/// ```
pub fn parse_override(s: &str) -> Result<(String, String), ParamError> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(ParamError::Malformed {
            given: s.to_owned(),
        }),
    }
}

/// A DAG's params, injected into a task that declares `params: &Params<T>`.
///
/// ```
/// use oxflow_runtime::params::Params;
/// let p = Params(3_u32);
/// assert_eq!(*p + 1, 4);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Params<P>(pub P);

impl<P> Deref for Params<P> {
    type Target = P;
    fn deref(&self) -> &P {
        &self.0
    }
}

impl<P: fmt::Display> fmt::Display for Params<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
