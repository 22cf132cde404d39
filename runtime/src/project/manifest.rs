//! `oxflow.ron`: a project's entry points, their parameters with types and defaults, the
//! environment they run with and the experiment they record into.
//!
//! ```text
//! Project(
//!     name: "wine",
//!     experiment: "wine-quality",          // optional
//!     env: {"RUST_LOG": "info"},           // optional
//!     entry_points: {
//!         "main": (
//!             run: Experiment(bin: "train"),
//!             parameters: {
//!                 "alpha": (type: Float, default: 0.5, help: "Regularisation strength."),
//!             },
//!         ),
//!         "nightly": (run: Dag(id: "wine", example: "pipeline")),
//!         "report": (run: Command(["python3", "report.py", "--alpha", "{alpha}"])),
//!         "archive": (run: Shell("tar czf out.tgz {dir}")),
//!     },
//! )
//! ```
//!
//! Every struct refuses unknown fields, and a default that does not fit its type is a parse
//! error with the line and column, so nothing is built from a file that is wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ParamType;
use super::error::{ProjectError, SyntaxError};

/// The name of the project file oxflow reads first.
pub const MANIFEST_FILE: &str = "oxflow.ron";

/// A parsed and checked `oxflow.ron`.
///
/// ```
/// use oxflow_runtime::project::{EntryKind, Manifest, Target};
/// let m = Manifest::parse(r#"Project(
///     name: "demo",
///     entry_points: {
///         "main": (run: Experiment(bin: "train"), parameters: {"alpha": (type: Float, default: 0.5)}),
///     },
/// )"#, "oxflow.ron".as_ref())?;
/// let main = &m.entry_points["main"];
/// assert_eq!(main.kind, EntryKind::Experiment { target: Target::Bin("train".into()) });
/// assert_eq!(main.parameters["alpha"].default.as_deref(), Some("0.5"));
///
/// let err = Manifest::parse("Project(name: \"x\", entry_points: {}, colour: 1)", "oxflow.ron".as_ref()).unwrap_err();
/// assert!(err.to_string().starts_with("oxflow.ron:1:"), "{err}");
/// # Ok::<(), oxflow_runtime::project::ProjectError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename = "Project", deny_unknown_fields, try_from = "RawManifest")]
pub struct Manifest {
    /// The project's name.
    pub name: String,
    /// What the project does.
    pub description: String,
    /// The experiment runs are recorded in, unless `--experiment-name` says otherwise.
    pub experiment: Option<String>,
    /// Environment variables every entry point runs with.
    pub env: BTreeMap<String, String>,
    /// The entry points, by name.
    pub entry_points: BTreeMap<String, EntryPoint>,
}

#[derive(Deserialize)]
#[serde(rename = "Project", deny_unknown_fields)]
struct RawManifest {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    experiment: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    entry_points: BTreeMap<String, EntryPoint>,
}

impl TryFrom<RawManifest> for Manifest {
    type Error = String;
    fn try_from(raw: RawManifest) -> Result<Manifest, String> {
        if raw.name.trim().is_empty() {
            return Err("`name` is empty: name the project".into());
        }
        if raw.entry_points.is_empty() {
            return Err(
                "`entry_points` is empty: add one, e.g. `\"main\": (run: Experiment(bin: \"train\"))`"
                    .into(),
            );
        }
        if let Some(e) = &raw.experiment
            && e.trim().is_empty()
        {
            return Err("`experiment` is empty: name an experiment or leave the field out".into());
        }
        for k in raw.env.keys() {
            let valid = !k.is_empty()
                && !k.starts_with(|c: char| c.is_ascii_digit())
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "`env` key `{k}` is not an environment variable name (letters, digits and `_`, not starting with a digit)"
                ));
            }
        }
        Ok(Manifest {
            name: raw.name,
            description: raw.description,
            experiment: raw.experiment,
            env: raw.env,
            entry_points: raw.entry_points,
        })
    }
}

/// One entry point: what to run and the parameters it takes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawEntryPoint")]
pub struct EntryPoint {
    /// What the entry point does.
    pub description: String,
    /// What runs.
    pub kind: EntryKind,
    /// Its parameters, by name.
    pub parameters: BTreeMap<String, Param>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntryPoint {
    #[serde(default)]
    description: String,
    run: RawRun,
    #[serde(default)]
    parameters: BTreeMap<String, Param>,
}

/// `run:` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
enum RawRun {
    Experiment {
        #[serde(default)]
        bin: Option<String>,
        #[serde(default)]
        example: Option<String>,
    },
    Dag {
        id: String,
        #[serde(default)]
        bin: Option<String>,
        #[serde(default)]
        example: Option<String>,
    },
    Command(Vec<String>),
    Shell(String),
}

/// What an entry point runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A binary whose `main` runs an `#[experiment]` fn: started as `<binary> -P k=v ...`.
    Experiment {
        /// The cargo target.
        target: Target,
    },
    /// A DAG of a pipeline binary (its `main` calls `oxflow::main()`): started as
    /// `<binary> run <id> -P k=v ...`.
    Dag {
        /// The DAG id.
        id: String,
        /// The cargo target.
        target: Target,
    },
    /// A program and its arguments, each with `{param}` filled in; no shell reads them.
    Command(Vec<String>),
    /// A shell command run by `bash -c`, with `{param}` filled in shell-quoted, as MLflow
    /// fills an `MLproject` command.
    Shell(String),
}

impl EntryKind {
    /// The cargo target to build, if any.
    pub fn target(&self) -> Option<&Target> {
        match self {
            EntryKind::Experiment { target } | EntryKind::Dag { target, .. } => Some(target),
            EntryKind::Command(_) | EntryKind::Shell(_) => None,
        }
    }
}

/// A cargo target of the project's package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `cargo build --bin NAME`.
    Bin(String),
    /// `cargo build --example NAME`.
    Example(String),
}

impl Target {
    /// The cargo arguments that select it.
    pub fn cargo_args(&self) -> [&str; 2] {
        match self {
            Target::Bin(n) => ["--bin", n],
            Target::Example(n) => ["--example", n],
        }
    }

    /// The target's name.
    pub fn name(&self) -> &str {
        match self {
            Target::Bin(n) | Target::Example(n) => n,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Bin(n) => write!(f, "bin `{n}`"),
            Target::Example(n) => write!(f, "example `{n}`"),
        }
    }
}

fn target(bin: Option<String>, example: Option<String>, what: &str) -> Result<Target, String> {
    match (bin, example) {
        (Some(b), None) if !b.trim().is_empty() => Ok(Target::Bin(b)),
        (None, Some(e)) if !e.trim().is_empty() => Ok(Target::Example(e)),
        (Some(_), Some(_)) => Err(format!(
            "`{what}(..)` names both `bin` and `example`: keep one"
        )),
        _ => Err(format!(
            "`{what}(..)` needs the cargo target to build: `bin: \"name\"` or `example: \"name\"`"
        )),
    }
}

impl TryFrom<RawEntryPoint> for EntryPoint {
    type Error = String;
    fn try_from(raw: RawEntryPoint) -> Result<EntryPoint, String> {
        let kind = match raw.run {
            RawRun::Experiment { bin, example } => EntryKind::Experiment {
                target: target(bin, example, "Experiment")?,
            },
            RawRun::Dag { id, bin, example } => {
                if id.trim().is_empty() {
                    return Err("`Dag(id: ..)` is empty: name the DAG".into());
                }
                EntryKind::Dag {
                    id,
                    target: target(bin, example, "Dag")?,
                }
            }
            RawRun::Command(argv) => {
                if argv.first().is_none_or(|p| p.trim().is_empty()) {
                    return Err(
                        "`Command([..])` needs a program first, e.g. `Command([\"python3\", \"report.py\", \"{alpha}\"])`"
                            .into(),
                    );
                }
                EntryKind::Command(argv)
            }
            RawRun::Shell(cmd) => {
                if cmd.trim().is_empty() {
                    return Err("`Shell(\"..\")` is empty".into());
                }
                EntryKind::Shell(cmd)
            }
        };
        Ok(EntryPoint {
            description: raw.description,
            kind,
            parameters: raw.parameters,
        })
    }
}

/// A parameter: its type, default (as the text handed to the entry point) and help.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawParam")]
pub struct Param {
    /// Its type.
    pub ty: ParamType,
    /// The default, as text; `None` makes the parameter required.
    pub default: Option<String>,
    /// What it means.
    pub help: String,
}

#[derive(Deserialize)]
#[serde(rename = "Param", deny_unknown_fields)]
struct RawParam {
    #[serde(rename = "type")]
    ty: ParamType,
    #[serde(default)]
    default: Option<Literal>,
    #[serde(default)]
    help: String,
}

/// A default as written in RON.
#[derive(Deserialize)]
#[serde(untagged)]
enum Literal {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl TryFrom<RawParam> for Param {
    type Error = String;
    fn try_from(raw: RawParam) -> Result<Param, String> {
        let default = match raw.default {
            None => None,
            Some(lit) => {
                let (text, fits, written) = match lit {
                    Literal::Bool(b) => (b.to_string(), raw.ty == ParamType::Bool, "a bool"),
                    Literal::Int(i) => (
                        i.to_string(),
                        matches!(raw.ty, ParamType::Int | ParamType::Float),
                        "an integer",
                    ),
                    Literal::Float(f) => (f.to_string(), raw.ty == ParamType::Float, "a float"),
                    Literal::Text(s) => (
                        s,
                        matches!(raw.ty, ParamType::Text | ParamType::Path | ParamType::Uri),
                        "a string",
                    ),
                };
                if !fits {
                    return Err(format!(
                        "the default {} is {written}, but the parameter's type is {}: expected {}",
                        text_for_message(&text, written),
                        raw.ty.ron_name(),
                        raw.ty.expected()
                    ));
                }
                raw.ty
                    .check("default", &text)
                    .map_err(|e| format!("the default `{}` is not {}", e.value, e.expected))?;
                Some(text)
            }
        };
        Ok(Param {
            ty: raw.ty,
            default,
            help: raw.help,
        })
    }
}

fn text_for_message(text: &str, written: &str) -> String {
    if written == "a string" {
        format!("{text:?}")
    } else {
        format!("`{text}`")
    }
}

impl Manifest {
    /// Parses `text`, read from `file` (named in errors).
    pub fn parse(text: &str, file: &Path) -> Result<Manifest, ProjectError> {
        ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .from_str::<Manifest>(text)
            .map_err(|e| {
                ProjectError::Syntax(SyntaxError {
                    file: file.to_path_buf(),
                    line: e.span.start.line,
                    column: e.span.start.col,
                    message: e.code.to_string(),
                })
            })
    }

    /// Reads and parses `dir/oxflow.ron`.
    pub fn load(dir: &Path) -> Result<Manifest, ProjectError> {
        let file: PathBuf = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&file).map_err(|source| ProjectError::Read {
            file: file.clone(),
            source,
        })?;
        Manifest::parse(&text, &file)
    }

    /// The entry point `name`, or an error listing the ones there are.
    pub fn entry_point(&self, name: &str, file: &Path) -> Result<&EntryPoint, ProjectError> {
        self.entry_points
            .get(name)
            .ok_or_else(|| ProjectError::UnknownEntryPoint {
                file: file.to_path_buf(),
                name: name.to_string(),
                known: self.entry_points.keys().cloned().collect(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, ProjectError> {
        Manifest::parse(text, Path::new("oxflow.ron"))
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    const FULL: &str = r#"
// A project.
Project(
    name: "wine",
    description: "Wine quality",
    experiment: "wine-quality",
    env: {"RUST_LOG": "info"},
    entry_points: {
        "main": (
            description: "Train",
            run: Experiment(bin: "train"),
            parameters: {
                "alpha": (type: Float, default: 0.5, help: "Strength."),
                "epochs": (type: Int, default: 3),
                "ratio": (type: Float, default: 1),
                "data": (type: Path),
                "fast": (type: Bool, default: false),
                "name": (type: String, default: "a b"),
            },
        ),
        "nightly": (run: Dag(id: "wine", example: "pipeline")),
        "report": (run: Command(["python3", "report.py", "{alpha}"])),
        "sh": (run: Shell("echo {alpha}")),
    },
)
"#;

    #[test]
    fn a_full_file_parses_into_types() {
        let m = parse(FULL).unwrap();
        assert_eq!(m.experiment.as_deref(), Some("wine-quality"));
        assert_eq!(m.env["RUST_LOG"], "info");
        let main = &m.entry_points["main"];
        let p = &main.parameters;
        assert_eq!(p["alpha"].default.as_deref(), Some("0.5"));
        assert_eq!(p["epochs"].default.as_deref(), Some("3"));
        assert_eq!(p["ratio"].default.as_deref(), Some("1"));
        assert_eq!(p["data"].default, None);
        assert_eq!(p["fast"].default.as_deref(), Some("false"));
        assert_eq!(p["name"].default.as_deref(), Some("a b"));
        assert_eq!(
            m.entry_points["nightly"].kind,
            EntryKind::Dag {
                id: "wine".into(),
                target: Target::Example("pipeline".into())
            }
        );
        assert_eq!(
            m.entry_points["report"].kind,
            EntryKind::Command(vec!["python3".into(), "report.py".into(), "{alpha}".into()])
        );
    }

    #[test]
    fn mistakes_name_line_column_and_what_was_expected() {
        // an unknown key
        let e = err("Project(\n  name: \"x\",\n  colour: 1,\n  entry_points: {},\n)");
        assert!(e.starts_with("oxflow.ron:3:"), "{e}");
        assert!(e.contains("colour") && e.contains("expected"), "{e}");
        // a syntax error
        let e = err("Project(\n  name: \"x\"\n  entry_points: {},\n)");
        assert!(e.starts_with("oxflow.ron:3:"), "{e}");
        // a wrong type
        let e = err("Project(name: 5, entry_points: {})");
        assert!(e.starts_with("oxflow.ron:1:"), "{e}");
        assert!(e.contains("string"), "{e}");
        // a missing field
        let e = err("Project(\n  name: \"x\",\n)");
        assert!(e.contains("entry_points"), "{e}");
    }

    #[test]
    fn a_default_of_the_wrong_type_is_an_error_at_its_line() {
        let e = err(r#"Project(
  name: "x",
  entry_points: {
    "main": (run: Experiment(bin: "t"), parameters: {
      "alpha": (type: Float, default: "high"),
    }),
  },
)"#);
        assert!(e.starts_with("oxflow.ron:5:"), "{e}");
        assert!(
            e.contains("\"high\" is a string") && e.contains("Float"),
            "{e}"
        );
        let e = err(
            r#"Project(name: "x", entry_points: {"m": (run: Experiment(bin: "t"), parameters: {"n": (type: Int, default: 0.5)})})"#,
        );
        assert!(e.contains("`0.5` is a float"), "{e}");
        let e = err(
            r#"Project(name: "x", entry_points: {"m": (run: Experiment(bin: "t"), parameters: {"u": (type: Uri, default: "nope")})})"#,
        );
        assert!(e.contains("not a URI"), "{e}");
        let e = err(
            r#"Project(name: "x", entry_points: {"m": (run: Experiment(bin: "t"), parameters: {"u": (type: Number)})})"#,
        );
        assert!(e.contains("Number"), "{e}");
    }

    #[test]
    fn entry_points_must_say_what_to_build() {
        let e = err(r#"Project(name: "x", entry_points: {"m": (run: Experiment())})"#);
        assert!(e.contains("`bin: \"name\"` or `example: \"name\"`"), "{e}");
        let e = err(
            r#"Project(name: "x", entry_points: {"m": (run: Dag(id: "d", bin: "a", example: "b"))})"#,
        );
        assert!(e.contains("both"), "{e}");
        let e = err(r#"Project(name: "x", entry_points: {})"#);
        assert!(e.contains("`entry_points` is empty"), "{e}");
        let e = err(
            r#"Project(name: "x", env: {"A-B": "1"}, entry_points: {"m": (run: Shell("true"))})"#,
        );
        assert!(e.contains("A-B"), "{e}");
    }

    #[test]
    fn an_unknown_entry_point_lists_the_known_ones() {
        let m = parse(FULL).unwrap();
        let e = m
            .entry_point("train", Path::new("p/oxflow.ron"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "p/oxflow.ron has no entry point `train`; entry points: main, nightly, report, sh"
        );
    }

    proptest::proptest! {
        // A project file comes from someone else's repository: any text is an error or a
        // manifest, never a panic.
        #[test]
        fn any_text_parses_or_errs_without_panicking(text in "(?s).{0,200}") {
            let _ = parse(&text);
        }

        #[test]
        fn any_edit_of_a_valid_file_parses_or_errs(at in 0usize..1000, c in proptest::char::any()) {
            let mut chars: Vec<char> = FULL.chars().collect();
            let at = at % chars.len();
            chars[at] = c;
            let _ = parse(&chars.into_iter().collect::<String>());
        }
    }
}
