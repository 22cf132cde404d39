//! MLflow's `MLproject` (YAML): entry points with typed parameters and command templates, and
//! the environment the project declares (`python_env`, `conda_env`, `docker_env`).
//!
//! Read as MLflow reads it (`mlflow/projects/_project_spec.py`), with two deliberate
//! differences: unknown keys are errors naming the line and column (MLflow ignores them, so a
//! typo such as `paramters:` silently drops every parameter), and an unknown parameter type is
//! an error (MLflow treats it as `string`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

use super::ParamType;
use super::error::{ProjectError, SyntaxError};

/// A parsed `MLproject`.
///
/// ```
/// use oxflow_runtime::project::{MlEnv, MlProject, ParamType};
/// let p = MlProject::parse("
/// name: demo
/// entry_points:
///   main:
///     parameters:
///       alpha: {type: float, default: 0.5}
///       data: path
///     command: python train.py --alpha {alpha} --data {data}
/// ", "MLproject".as_ref())?;
/// let main = &p.entry_points["main"];
/// assert_eq!(main.parameters["alpha"].ty, ParamType::Float);
/// assert_eq!(main.parameters["alpha"].default.as_deref(), Some("0.5"));
/// assert_eq!(main.parameters["data"].default, None);
/// assert_eq!(p.env, MlEnv::None);
/// # Ok::<(), oxflow_runtime::project::ProjectError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MlProject {
    /// `name:`.
    pub name: Option<String>,
    /// The environment the project declares.
    pub env: MlEnv,
    /// `entry_points:`, by name.
    pub entry_points: BTreeMap<String, MlEntryPoint>,
}

/// The environment an `MLproject` declares, which MLflow would create before running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MlEnv {
    /// None declared and no `python_env.yaml` or `conda.yaml` beside the file.
    None,
    /// `python_env: FILE`, or a `python_env.yaml` beside the file.
    Python(String),
    /// `conda_env: FILE`, or a `conda.yaml` beside the file.
    Conda(String),
    /// `docker_env: {image: ...}`.
    Docker(String),
}

impl MlEnv {
    /// How the environment is described in messages.
    pub fn describe(&self) -> String {
        match self {
            MlEnv::None => "no environment".into(),
            MlEnv::Python(f) => format!("a Python environment (python_env: {f})"),
            MlEnv::Conda(f) => format!("a conda environment (conda_env: {f})"),
            MlEnv::Docker(i) => format!("a Docker image (docker_env: {i})"),
        }
    }
}

/// An `MLproject` entry point.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlEntryPoint {
    /// Its parameters, by name.
    #[serde(default)]
    pub parameters: BTreeMap<String, MlParam>,
    /// The command template, run by `bash -c` with `{param}` filled in shell-quoted.
    pub command: String,
}

/// An `MLproject` parameter: `name: type` or `name: {type: ..., default: ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MlParam {
    /// `type:` (MLflow's default: `string`).
    pub ty: ParamType,
    /// `default:` as written; `None` makes the parameter required.
    pub default: Option<String>,
}

impl<'de> Deserialize<'de> for MlParam {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<MlParam, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MlParam;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a parameter type (`float`, `int`, `string`, `path`, `uri`) or a map with `type` and `default`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MlParam, E> {
                Ok(MlParam {
                    ty: v.parse().map_err(E::custom)?,
                    default: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MlParam, A::Error> {
                let mut ty = None;
                let mut default = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "type" => {
                            let t: String = map.next_value()?;
                            ty = Some(t.parse::<ParamType>().map_err(de::Error::custom)?);
                        }
                        "default" => default = map.next_value::<Option<Scalar>>()?.map(|s| s.0),
                        other => return Err(de::Error::unknown_field(other, &["type", "default"])),
                    }
                }
                let ty = ty.unwrap_or(ParamType::Text);
                if let Some(d) = &default {
                    ty.check("default", d).map_err(|e| {
                        de::Error::custom(format!(
                            "the default `{}` is not {}",
                            e.value, e.expected
                        ))
                    })?;
                }
                Ok(MlParam { ty, default })
            }
        }
        d.deserialize_any(V)
    }
}

/// A YAML scalar as the text MLflow hands on (`str(value)`), for defaults.
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, a string or a bool")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(python_float(v)))
            }
            // Python's `str(True)`: MLflow passes a YAML bool on as `True`/`False`.
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(if v { "True" } else { "False" }.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Python's `str(float)`: shortest round-trip digits, `.0` on integral values, exponent form
/// below 1e-4 and from 1e16 on.
fn python_float(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Rust's `{:e}` is shortest round-trip too: `1e-5`, `1.5e16`; Python writes `1e-05`.
        let s = format!("{v:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    let s = v.to_string();
    if s.contains('.') { s } else { format!("{s}.0") }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMlProject {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    python_env: Option<String>,
    #[serde(default)]
    conda_env: Option<String>,
    #[serde(default)]
    docker_env: Option<DockerEnv>,
    #[serde(default)]
    entry_points: BTreeMap<String, MlEntryPoint>,
    /// Recognised to refuse it clearly: a Databricks Spark job cannot run here.
    #[serde(default)]
    databricks_spark_job: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DockerEnv {
    image: String,
    #[serde(default)]
    #[allow(dead_code)]
    volumes: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    environment: Vec<serde_json::Value>,
}

impl MlProject {
    /// Parses `text`, read from `file` (named in errors; its directory is where the default
    /// environment files are looked for).
    pub fn parse(text: &str, file: &Path) -> Result<MlProject, ProjectError> {
        let raw: RawMlProject = serde_saphyr::from_str(text).map_err(|e| yaml_error(&e, file))?;
        let semantic = |message: String| {
            ProjectError::Syntax(SyntaxError {
                file: file.to_path_buf(),
                line: 1,
                column: 1,
                message,
            })
        };
        if raw.databricks_spark_job.is_some() {
            return Err(semantic(
                "`databricks_spark_job` runs on Databricks; oxflow runs projects on this machine only".into(),
            ));
        }
        let declared: Vec<&str> = [
            raw.python_env.as_ref().map(|_| "python_env"),
            raw.conda_env.as_ref().map(|_| "conda_env"),
            raw.docker_env.as_ref().map(|_| "docker_env"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if declared.len() > 1 {
            return Err(semantic(format!(
                "a project declares one environment, not {}",
                declared.join(" and ")
            )));
        }
        let dir = file.parent().unwrap_or(Path::new("."));
        let env = match (raw.python_env, raw.conda_env, raw.docker_env) {
            (Some(f), _, _) => MlEnv::Python(f),
            (_, Some(f), _) => MlEnv::Conda(f),
            (_, _, Some(d)) => MlEnv::Docker(d.image),
            _ if dir.join("python_env.yaml").exists() => MlEnv::Python("python_env.yaml".into()),
            _ if dir.join("conda.yaml").exists() => MlEnv::Conda("conda.yaml".into()),
            _ => MlEnv::None,
        };
        Ok(MlProject {
            name: raw.name,
            env,
            entry_points: raw.entry_points,
        })
    }

    /// Finds the `MLproject` file in `dir` (its name in any case, as MLflow looks for it).
    pub fn find(dir: &Path) -> Option<PathBuf> {
        std::fs::read_dir(dir).ok()?.flatten().find_map(|e| {
            let name = e.file_name();
            (name.to_string_lossy().eq_ignore_ascii_case("mlproject") && e.path().is_file())
                .then(|| e.path())
        })
    }

    /// Reads and parses `file`.
    pub fn load(file: &Path) -> Result<MlProject, ProjectError> {
        let text = std::fs::read_to_string(file).map_err(|source| ProjectError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        MlProject::parse(&text, file)
    }

    /// The entry point `name`; as in MLflow, a name that is not an entry point but a `.py` or
    /// `.sh` file runs that script (`python FILE`, `$SHELL FILE`) without parameters.
    pub fn entry_point(&self, name: &str, file: &Path) -> Result<MlEntryPoint, ProjectError> {
        if let Some(e) = self.entry_points.get(name) {
            return Ok(e.clone());
        }
        let program = if name.ends_with(".py") {
            Some("python".to_string())
        } else if name.ends_with(".sh") {
            Some(std::env::var("SHELL").unwrap_or_else(|_| "bash".into()))
        } else {
            None
        };
        match program {
            Some(p) => Ok(MlEntryPoint {
                parameters: BTreeMap::new(),
                command: format!("{p} {}", super::command::shell_quote(name)),
            }),
            None => Err(ProjectError::UnknownEntryPoint {
                file: file.to_path_buf(),
                name: name.to_string(),
                known: self.entry_points.keys().cloned().collect(),
            }),
        }
    }
}

/// A YAML error as `file:line:column: message`.
fn yaml_error(e: &serde_saphyr::Error, file: &Path) -> ProjectError {
    let (line, column) = e
        .location()
        .map(|l| (l.line() as usize, l.column() as usize))
        .unwrap_or((1, 1));
    let rendered = e
        .without_snippet()
        .render_with_options(serde_saphyr::render_options! {
            snippets: serde_saphyr::SnippetMode::Off,
        });
    // The plain rendering ends with the location, which the error names up front.
    let message = match rendered.rfind(" at line ") {
        Some(i) => rendered[..i].to_string(),
        None => rendered,
    };
    ProjectError::Syntax(SyntaxError {
        file: file.to_path_buf(),
        line,
        column,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MlProject, ProjectError> {
        MlProject::parse(text, Path::new("/nonexistent/MLproject"))
    }

    #[test]
    fn mlflows_example_parses() {
        let p = parse(
            "name: tutorial\n\nconda_env: conda.yaml\n\nentry_points:\n  main:\n    parameters:\n      alpha: {type: float, default: 0.5}\n      l1_ratio: {type: float, default: 0.1}\n      n: {type: int, default: 3}\n      flag: {default: true}\n      tiny: {type: float, default: 0.00001}\n      s: string\n    command: \"python train.py {alpha} {l1_ratio}\"\n  validate:\n    command: \"python validate.py\"\n",
        )
        .unwrap();
        assert_eq!(p.name.as_deref(), Some("tutorial"));
        assert_eq!(p.env, MlEnv::Conda("conda.yaml".into()));
        let main = &p.entry_points["main"];
        assert_eq!(main.command, "python train.py {alpha} {l1_ratio}");
        assert_eq!(main.parameters["alpha"].default.as_deref(), Some("0.5"));
        assert_eq!(main.parameters["n"].default.as_deref(), Some("3"));
        assert_eq!(main.parameters["flag"].ty, ParamType::Text);
        assert_eq!(main.parameters["flag"].default.as_deref(), Some("True"));
        assert_eq!(main.parameters["tiny"].default.as_deref(), Some("1e-05"));
        assert_eq!(main.parameters["s"].ty, ParamType::Text);
        assert!(p.entry_points["validate"].parameters.is_empty());
    }

    #[test]
    fn mistakes_name_line_and_column() {
        let e = parse("name: x\nentry_points:\n  main:\n    paramters: {}\n    command: run\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/nonexistent/MLproject:4:"), "{e}");
        assert!(e.contains("paramters"), "{e}");
        let e = parse("name: x\nentry_points:\n  main:\n    parameters:\n      a: {type: number}\n    command: run\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/nonexistent/MLproject:5:"), "{e}");
        assert!(e.contains("number") && e.contains("float"), "{e}");
        let e = parse("name: x\nentry_points:\n  main:\n    parameters:\n      a: {type: int, default: 1.5}\n    command: run\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/nonexistent/MLproject:5:"), "{e}");
        assert!(e.contains("`1.5` is not an integer"), "{e}");
        let e = parse("name: x\nentry_points:\n  main:\n    parameters: {}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("command"), "{e}");
        let e = parse("name: [x\n").unwrap_err().to_string();
        assert!(e.starts_with("/nonexistent/MLproject:"), "{e}");
        let e = parse("python_env: p.yaml\nconda_env: c.yaml\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("python_env and conda_env"), "{e}");
    }

    #[test]
    fn scripts_are_entry_points_as_in_mlflow() {
        let p = parse("name: x\n").unwrap();
        let e = p.entry_point("etl.py", Path::new("MLproject")).unwrap();
        assert_eq!(e.command, "python etl.py");
        let err = p.entry_point("main", Path::new("MLproject")).unwrap_err();
        assert!(err.to_string().contains("no entry point `main`"));
    }

    #[test]
    fn floats_print_as_python_prints_them() {
        for (v, s) in [
            (0.5, "0.5"),
            (1.0, "1.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (123456.0, "123456.0"),
            (-2.5e-7, "-2.5e-07"),
        ] {
            assert_eq!(python_float(v), s, "{v}");
        }
    }

    proptest::proptest! {
        // An MLproject comes from someone else's repository: any text is an error or a
        // project, never a panic.
        #[test]
        fn any_text_parses_or_errs_without_panicking(text in "(?s).{0,200}") {
            let _ = parse(&text);
        }
    }
}
