//! Typed parameter sets: what `#[experiment]` generates for a struct of parameters, and what
//! `#[dag(params = T)]` injects into tasks as [`Params<T>`].
//!
//! A parameter set has defaults, a schema (name, type, default, help, range) for `--help` and
//! project files, typed parsing of `-P key=value` overrides, range validation, and the pairs
//! logged to a tracking run.
//!
//! ```
//! use oxflow_runtime::params::{ParamError, ParamSet, ParamSpec, ParamValue};
//!
//! // What `#[experiment]` writes for you, by hand:
//! #[derive(Debug)]
//! struct Train { n_trees: u32 }
//! impl ParamSet for Train {
//!     fn defaults() -> Self { Train { n_trees: 100 } }
//!     fn schema() -> &'static [ParamSpec] {
//!         &[ParamSpec { name: "n_trees", type_name: "u32", default: Some("100"), help: "Number of trees.", range: Some("1..=1000") }]
//!     }
//!     fn set(&mut self, key: &str, value: &str) -> Result<(), ParamError> {
//!         match key {
//!             "n_trees" => self.n_trees = ParamValue::parse_param(key, value)?,
//!             _ => return Err(ParamError::unknown::<Self>(key)),
//!         }
//!         Ok(())
//!     }
//!     fn validate(&self) -> Result<(), ParamError> {
//!         oxflow_runtime::params::check_range("n_trees", &self.n_trees, &(1..=1000), "1..=1000")
//!     }
//!     fn to_pairs(&self) -> Vec<(String, String)> {
//!         vec![("n_trees".into(), self.n_trees.to_param())]
//!     }
//! }
//!
//! let p = Train::from_overrides(&[("n_trees".into(), "200".into())])?;
//! assert_eq!(p.n_trees, 200);
//! let err = Train::from_overrides(&[("trees".into(), "1".into())]).unwrap_err();
//! assert_eq!(err.to_string(), "unknown parameter `trees`; valid parameters: n_trees");
//! # Ok::<(), ParamError>(())
//! ```

use std::ops::{Deref, DerefMut, RangeBounds};
use std::path::PathBuf;

/// One parameter of a [`ParamSet`], for `--help`, project files and tooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ParamSpec {
    /// The key used in `-P key=value` and in the tracking run.
    pub name: &'static str,
    /// The Rust type, e.g. `u32`, `f64`, `String`.
    pub type_name: &'static str,
    /// The default as text, if the field has one.
    pub default: Option<&'static str>,
    /// The field's doc comment.
    pub help: &'static str,
    /// The allowed range as written, e.g. `0.0..=1.0`.
    pub range: Option<&'static str>,
}

/// Why a parameter override or a parameter set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A key that is not a parameter.
    #[error("unknown parameter `{key}`; valid parameters: {}", if valid.is_empty() { "none (this takes no params)".to_owned() } else { valid.join(", ") })]
    UnknownKey {
        /// The key given.
        key: String,
        /// Every valid key.
        valid: Vec<String>,
    },
    /// A value that does not parse as the parameter's type.
    #[error("invalid value `{value}` for parameter `{key}`: expected {expected}")]
    Invalid {
        /// The key.
        key: String,
        /// The value given.
        value: String,
        /// What was expected, e.g. "an unsigned integer (u32)".
        expected: String,
    },
    /// A value outside the parameter's range.
    #[error("parameter `{key}` = {value} is out of range {range}")]
    OutOfRange {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// The range as written in the struct.
        range: String,
    },
    /// A command-line override that is not `key=value`.
    #[error("malformed parameter override `{arg}`: expected key=value")]
    Malformed {
        /// The argument given.
        arg: String,
    },
}

impl ParamError {
    /// [`ParamError::UnknownKey`] listing the valid keys of `P`.
    pub fn unknown<P: ParamSet>(key: &str) -> ParamError {
        ParamError::UnknownKey {
            key: key.to_string(),
            valid: P::schema().iter().map(|s| s.name.to_string()).collect(),
        }
    }
}

/// A set of typed parameters with defaults; `#[experiment]` implements it for a struct.
pub trait ParamSet: Sized + Send + Sync + 'static {
    /// Every parameter at its default.
    fn defaults() -> Self;
    /// Name, type, default, help and range of every parameter, in declaration order.
    fn schema() -> &'static [ParamSpec];
    /// Sets one parameter from text.
    fn set(&mut self, key: &str, value: &str) -> Result<(), ParamError>;
    /// Checks every range.
    fn validate(&self) -> Result<(), ParamError>;
    /// Every parameter as (key, text), for logging to a run.
    fn to_pairs(&self) -> Vec<(String, String)>;
    /// Defaults, then each override in order, then validation.
    fn from_overrides(pairs: &[(String, String)]) -> Result<Self, ParamError> {
        let mut p = Self::defaults();
        for (k, v) in pairs {
            p.set(k, v)?;
        }
        p.validate()?;
        Ok(p)
    }
}

/// A parameter set that names its experiment (`#[experiment(name = "...")]`).
pub trait NamedExperiment: ParamSet {
    /// The experiment runs are recorded in.
    const EXPERIMENT: &'static str;
}

/// The DAG's parameters as injected into a task: `params: &Params<TrainParams>`.
///
/// ```
/// use oxflow_runtime::params::Params;
/// struct P { lr: f64 }
/// let p = Params(P { lr: 0.1 });
/// assert_eq!(p.lr, 0.1); // Deref to the parameter struct
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params<P>(pub P);

impl<P> Deref for Params<P> {
    type Target = P;
    fn deref(&self) -> &P {
        &self.0
    }
}

impl<P> DerefMut for Params<P> {
    fn deref_mut(&mut self) -> &mut P {
        &mut self.0
    }
}

/// Splits a `key=value` override (the value may contain `=`).
///
/// ```
/// use oxflow_runtime::params::parse_override;
/// assert_eq!(parse_override("lr=0.1").unwrap(), ("lr".to_string(), "0.1".to_string()));
/// assert!(parse_override("lr").is_err());
/// ```
pub fn parse_override(arg: &str) -> Result<(String, String), ParamError> {
    match arg.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(ParamError::Malformed {
            arg: arg.to_string(),
        }),
    }
}

/// Checks `value` against a range, for generated `validate` methods.
pub fn check_range<T: PartialOrd + ParamValue, R: RangeBounds<T>>(
    key: &str,
    value: &T,
    range: &R,
    range_text: &str,
) -> Result<(), ParamError> {
    if range.contains(value) {
        Ok(())
    } else {
        Err(ParamError::OutOfRange {
            key: key.to_string(),
            value: value.to_param(),
            range: range_text.to_string(),
        })
    }
}

/// A type a parameter can have: parsed from `-P key=value` text and written to a run.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an experiment parameter",
    label = "unsupported parameter type",
    note = "parameters can be integers, floats, bool, String, PathBuf or Option of those; or implement `oxflow::params::ParamValue`"
)]
pub trait ParamValue: Sized {
    /// How the type is described in errors and the schema, e.g. "a float (f64)".
    fn expected() -> String;
    /// Parses the text of an override.
    fn parse_param(key: &str, value: &str) -> Result<Self, ParamError>;
    /// The text logged to a run and shown as default.
    fn to_param(&self) -> String;
}

fn invalid<T: ParamValue>(key: &str, value: &str) -> ParamError {
    ParamError::Invalid {
        key: key.to_string(),
        value: value.to_string(),
        expected: T::expected(),
    }
}

macro_rules! param_value_via_fromstr {
    ($($t:ty => $desc:literal),* $(,)?) => {$(
        impl ParamValue for $t {
            fn expected() -> String {
                format!("{} ({})", $desc, stringify!($t))
            }
            fn parse_param(key: &str, value: &str) -> Result<Self, ParamError> {
                value.trim().parse().map_err(|_| invalid::<Self>(key, value))
            }
            fn to_param(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

param_value_via_fromstr! {
    u8 => "an unsigned integer", u16 => "an unsigned integer", u32 => "an unsigned integer",
    u64 => "an unsigned integer", usize => "an unsigned integer",
    i8 => "an integer", i16 => "an integer", i32 => "an integer", i64 => "an integer", isize => "an integer",
    f32 => "a number", f64 => "a number",
}

impl ParamValue for bool {
    fn expected() -> String {
        "true or false (bool)".into()
    }
    fn parse_param(key: &str, value: &str) -> Result<Self, ParamError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(invalid::<Self>(key, value)),
        }
    }
    fn to_param(&self) -> String {
        self.to_string()
    }
}

impl ParamValue for String {
    fn expected() -> String {
        "text (String)".into()
    }
    fn parse_param(_key: &str, value: &str) -> Result<Self, ParamError> {
        Ok(value.to_string())
    }
    fn to_param(&self) -> String {
        self.clone()
    }
}

impl ParamValue for PathBuf {
    fn expected() -> String {
        "a path (PathBuf)".into()
    }
    fn parse_param(_key: &str, value: &str) -> Result<Self, ParamError> {
        Ok(PathBuf::from(value))
    }
    fn to_param(&self) -> String {
        self.display().to_string()
    }
}

impl<T: ParamValue> ParamValue for Option<T> {
    fn expected() -> String {
        format!("{} or empty", T::expected())
    }
    fn parse_param(key: &str, value: &str) -> Result<Self, ParamError> {
        if value.is_empty() {
            Ok(None)
        } else {
            T::parse_param(key, value).map(Some)
        }
    }
    fn to_param(&self) -> String {
        self.as_ref().map(T::to_param).unwrap_or_default()
    }
}

/// Renders a parameter set's schema as `--help` text: one line per parameter.
///
/// ```
/// # use oxflow_runtime::params::{ParamSpec, help_text};
/// let specs = [ParamSpec { name: "lr", type_name: "f64", default: Some("0.1"), help: "Learning rate.", range: Some("0.0..=1.0") }];
/// assert_eq!(help_text(&specs), "  -P lr=<f64>  Learning rate. [default: 0.1] [range: 0.0..=1.0]\n");
/// ```
pub fn help_text(specs: &[ParamSpec]) -> String {
    let mut out = String::new();
    for s in specs {
        out.push_str(&format!("  -P {}=<{}>", s.name, s.type_name));
        if !s.help.is_empty() {
            out.push_str("  ");
            out.push_str(s.help);
        }
        if let Some(d) = s.default {
            out.push_str(&format!(" [default: {d}]"));
        }
        if let Some(r) = s.range {
            out.push_str(&format!(" [range: {r}]"));
        }
        out.push('\n');
    }
    out
}

/// Logs every parameter of a set to a tracking run.
pub fn log_params<P: ParamSet>(
    params: &P,
    run: &mut crate::tracking::Run,
) -> Result<(), crate::tracking::TrackingError> {
    run.log_params(&params.to_pairs())
}
