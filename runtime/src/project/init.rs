//! `project init`: writes a commented `oxflow.ron` for a crate from the DAGs and experiments
//! its binaries and examples report (`--oxflow-schema`), so the file starts out true to the
//! code.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::error::ProjectError;
use super::manifest::{MANIFEST_FILE, Manifest, Target};
use super::param::{ParamType, param_type_of_rust};
use super::schema::{BinarySchema, EntrySchema, SCHEMA_FLAG};

/// A cargo target that may be an oxflow binary.
#[derive(Debug, Clone)]
struct Candidate {
    target: Target,
    src: PathBuf,
}

/// What `cargo metadata` says about the crate in `dir`.
struct Package {
    name: String,
    description: String,
    candidates: Vec<Candidate>,
}

fn metadata(dir: &Path) -> Result<Package, ProjectError> {
    let manifest = dir.join("Cargo.toml");
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(&manifest)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| ProjectError::Spawn {
            program: "cargo metadata".into(),
            source,
        })?;
    if !out.status.success() {
        return Err(ProjectError::Schema(format!(
            "`cargo metadata` failed for {}",
            manifest.display()
        )));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| ProjectError::Schema(format!("`cargo metadata` printed no JSON: {e}")))?;
    let canon = std::fs::canonicalize(&manifest).unwrap_or(manifest.clone());
    let pkg = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| {
            p["manifest_path"]
                .as_str()
                .is_some_and(|m| std::fs::canonicalize(m).ok().as_ref() == Some(&canon))
        })
        .ok_or_else(|| {
            ProjectError::Schema(format!(
                "{} is not a package (a workspace root without a package?): run `project init` in the crate's directory",
                manifest.display()
            ))
        })?;
    let mut candidates = Vec::new();
    for t in pkg["targets"].as_array().into_iter().flatten() {
        let kinds: Vec<&str> = t["kind"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k.as_str())
            .collect();
        let name = t["name"].as_str().unwrap_or_default().to_string();
        let needs_features = t["required-features"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if needs_features {
            continue;
        }
        let target = if kinds.contains(&"bin") {
            Target::Bin(name)
        } else if kinds.contains(&"example") {
            Target::Example(name)
        } else {
            continue;
        };
        let src = PathBuf::from(t["src_path"].as_str().unwrap_or_default());
        candidates.push(Candidate { target, src });
    }
    Ok(Package {
        name: pkg["name"].as_str().unwrap_or("project").to_string(),
        description: pkg["description"].as_str().unwrap_or_default().to_string(),
        candidates,
    })
}

/// Builds the targets in one cargo invocation (output streamed) and returns each executable.
fn build_all(dir: &Path, targets: &[Target]) -> Result<BTreeMap<String, PathBuf>, ProjectError> {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["build", "--release", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .args(["--message-format", "json-render-diagnostics"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for t in targets {
        cmd.args(t.cargo_args());
    }
    let mut child = cmd.spawn().map_err(|source| ProjectError::Spawn {
        program: "cargo".into(),
        source,
    })?;
    let mut exes = BTreeMap::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if msg["reason"] == "compiler-artifact"
                && let (Some(name), Some(exe)) =
                    (msg["target"]["name"].as_str(), msg["executable"].as_str())
            {
                exes.insert(name.to_string(), PathBuf::from(exe));
            }
        }
    }
    let status = child.wait().map_err(|source| ProjectError::Spawn {
        program: "cargo".into(),
        source,
    })?;
    if !status.success() {
        return Err(ProjectError::Build {
            target: format!("the crate in {}", dir.display()),
            status: status.to_string(),
        });
    }
    Ok(exes)
}

/// Writes `dir/oxflow.ron` for the crate in `dir` and returns its path and text. Only binaries
/// and examples whose source mentions `oxflow` are built and asked for their schema (an
/// unrelated program is never started); `only` narrows them to the targets named.
pub fn init(dir: &Path, only: &[String], force: bool) -> Result<(PathBuf, String), ProjectError> {
    let file = dir.join(MANIFEST_FILE);
    if file.exists() && !force {
        return Err(ProjectError::Write {
            file,
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "it exists; pass --force to overwrite it",
            ),
        });
    }
    let pkg = metadata(dir)?;
    let candidates: Vec<Candidate> = pkg
        .candidates
        .into_iter()
        .filter(|c| only.is_empty() || only.iter().any(|o| o == c.target.name()))
        .filter(|c| std::fs::read_to_string(&c.src).is_ok_and(|s| s.contains("oxflow")))
        .collect();
    if candidates.is_empty() {
        return Err(ProjectError::Schema(format!(
            "no binary or example of `{}` uses oxflow{}",
            pkg.name,
            if only.is_empty() {
                String::new()
            } else {
                format!(" among {}", only.join(", "))
            }
        )));
    }
    let targets: Vec<Target> = candidates.iter().map(|c| c.target.clone()).collect();
    let exes = build_all(dir, &targets)?;
    let mut found: Vec<(Target, BinarySchema)> = Vec::new();
    for t in targets {
        let Some(exe) = exes.get(t.name()) else {
            continue;
        };
        // A binary that does not answer (not an oxflow `main`) is left out.
        if let Some(schema) = ask_schema(exe, &t) {
            found.push((t, schema));
        }
    }
    let text = render(&pkg.name, &pkg.description, &found);
    // What we write must be what `project run` reads.
    Manifest::parse(&text, &file)?;
    std::fs::write(&file, &text).map_err(|source| ProjectError::Write {
        file: file.clone(),
        source,
    })?;
    Ok((file, text))
}

/// The binary's schema, or `None` if it does not answer (not an oxflow `main`).
fn ask_schema(exe: &Path, target: &Target) -> Option<BinarySchema> {
    super::runner::ask(exe, &[SCHEMA_FLAG.to_string()], target)
        .ok()?
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
}

/// A RON string literal.
fn ron_str(s: &str) -> String {
    ron::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// The RON literal for a default written in Rust, if it is one for `ty`.
fn ron_default(ty: ParamType, text: &str) -> Option<String> {
    let t = text.trim();
    match ty {
        ParamType::Float => t.parse::<f64>().ok().map(|_| t.to_string()),
        ParamType::Int => t.parse::<i64>().ok().map(|_| t.to_string()),
        ParamType::Bool => t.parse::<bool>().ok().map(|b| b.to_string()),
        // The schema holds a string literal's value, unquoted.
        ParamType::Text | ParamType::Path | ParamType::Uri => Some(ron_str(text)),
    }
}

fn render_entry(out: &mut String, name: &str, kind: &str, description: &str, e: &EntrySchema) {
    if !description.is_empty() {
        let _ = writeln!(
            out,
            "        // {}",
            description.lines().next().unwrap_or_default()
        );
    }
    let _ = writeln!(out, "        {}: (", ron_str(name));
    if !description.is_empty() {
        let _ = writeln!(out, "            description: {},", ron_str(description));
    }
    let _ = writeln!(out, "            run: {kind},");
    if e.params.is_empty() {
        let _ = writeln!(out, "        ),");
        return;
    }
    let _ = writeln!(out, "            parameters: {{");
    for p in &e.params {
        let ty = param_type_of_rust(&p.type_name);
        let mut comment = String::new();
        if !p.help.is_empty() {
            comment.push_str(p.help.trim());
        }
        if let Some(r) = &p.range {
            let _ = write!(
                comment,
                "{}[range: {r}]",
                if comment.is_empty() { "" } else { " " }
            );
        }
        if !comment.is_empty() {
            let _ = writeln!(out, "                // {comment}");
        }
        let ty_name = ty.unwrap_or(ParamType::Text);
        let default = p.default.as_deref().and_then(|d| ron_default(ty_name, d));
        let line = match (&p.default, default) {
            (_, Some(d)) => format!(
                "{}: (type: {}, default: {d}),",
                ron_str(&p.name),
                ty_name.ron_name()
            ),
            (None, None) => {
                let _ = writeln!(
                    out,
                    "                // `{}` ({}) has no default in the code: uncomment to require it with -P",
                    p.name, p.type_name
                );
                format!("// {}: (type: {}),", ron_str(&p.name), ty_name.ron_name())
            }
            (Some(raw), None) => {
                let _ = writeln!(
                    out,
                    "                // `{}` ({}) defaults to `{raw}` in the code, which is not a {} literal: give one to declare it",
                    p.name,
                    p.type_name,
                    ty_name.ron_name()
                );
                format!(
                    "// {}: (type: {}, default: ...),",
                    ron_str(&p.name),
                    ty_name.ron_name()
                )
            }
        };
        if ty.is_none() {
            let _ = writeln!(
                out,
                "                // the code's type is `{}`: passed as text, parsed by the binary",
                p.type_name
            );
        }
        let _ = writeln!(out, "                {line}");
    }
    let _ = writeln!(out, "            }},");
    let _ = writeln!(out, "        ),");
}

fn target_field(t: &Target) -> String {
    match t {
        Target::Bin(n) => format!("bin: {}", ron_str(n)),
        Target::Example(n) => format!("example: {}", ron_str(n)),
    }
}

/// The file's text: a header that explains it, then one entry point per DAG and experiment.
fn render(name: &str, description: &str, found: &[(Target, BinarySchema)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// oxflow project file: `oxflow project run <dir or git URL> -e ENTRY -P key=value`.\n\
         // Written by `oxflow project init` from what the crate's binaries report; edit freely.\n\
         // Parameter types: Float, Int, Bool, String, Path (must exist; passed absolute), Uri.\n\
         // A parameter without `default` must be given with -P. Unknown -P keys are refused.\n\
         // Entry points run a cargo target (`Experiment(bin: ..)`, `Dag(id: .., example: ..)`),\n\
         // a program (`Command([\"prog\", \"--flag\", \"{{param}}\"])`, no shell) or\n\
         // a shell command (`Shell(\"prog {{param}} | tee out\")`, values shell-quoted)."
    );
    let _ = writeln!(out, "Project(");
    let _ = writeln!(out, "    name: {},", ron_str(name));
    if !description.is_empty() {
        let _ = writeln!(out, "    description: {},", ron_str(description));
    }
    let _ = writeln!(
        out,
        "    // experiment: \"name\",  // default: the DAG's id, or the #[experiment]'s name"
    );
    let _ = writeln!(
        out,
        "    // env: {{\"RUST_LOG\": \"info\"}},  // environment variables for every entry point"
    );
    let _ = writeln!(out, "    entry_points: {{");
    let total: usize = found
        .iter()
        .map(|(_, s)| s.dags.len() + s.experiments.len())
        .sum();
    let mut used: Vec<String> = Vec::new();
    let mut unique = |base: &str| {
        let mut n = base.to_string();
        let mut i = 2;
        while used.contains(&n) {
            n = format!("{base}_{i}");
            i += 1;
        }
        used.push(n.clone());
        n
    };
    for (t, schema) in found {
        for e in &schema.experiments {
            let name = unique(if total == 1 { "main" } else { t.name() });
            let kind = format!("Experiment({})", target_field(t));
            let desc = format!("experiment `{}`", e.name);
            render_entry(&mut out, &name, &kind, &desc, e);
        }
        for d in &schema.dags {
            let name = unique(if total == 1 { "main" } else { &d.name });
            let kind = format!("Dag(id: {}, {})", ron_str(&d.name), target_field(t));
            render_entry(&mut out, &name, &kind, &d.description, d);
        }
    }
    if total == 0 {
        let _ = writeln!(
            out,
            "        // no binary reported a DAG or an experiment; an example entry point:\n        \"main\": (run: Command([\"cargo\", \"run\", \"--release\"])),"
        );
    }
    let _ = writeln!(out, "    }},");
    let _ = writeln!(out, ")");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::schema::ParamSchema;

    fn param(name: &str, ty: &str, default: Option<&str>) -> ParamSchema {
        ParamSchema {
            name: name.into(),
            type_name: ty.into(),
            default: default.map(Into::into),
            help: format!("The {name}."),
            range: None,
        }
    }

    #[test]
    fn the_written_file_parses_and_keeps_the_codes_defaults() {
        let schema = BinarySchema {
            oxflow_schema: 1,
            dags: vec![EntrySchema {
                name: "nightly".into(),
                description: "Nightly retraining.\nMore.".into(),
                params: vec![param("rows", "usize", Some("1000"))],
            }],
            experiments: Vec::new(),
        };
        let exp = BinarySchema {
            oxflow_schema: 1,
            dags: Vec::new(),
            experiments: vec![EntrySchema {
                name: "wine".into(),
                description: String::new(),
                params: vec![
                    param("alpha", "f64", Some("0.5")),
                    param("label", "String", Some("a \"b\"")),
                    param("cap", "Option<u32>", None),
                    param("mode", "Mode", Some("Mode::Fast")),
                ],
            }],
        };
        let text = render(
            "wine",
            "Wine \"quality\"",
            &[
                (Target::Example("pipeline".into()), schema),
                (Target::Bin("train".into()), exp),
            ],
        );
        let m = Manifest::parse(&text, Path::new("oxflow.ron"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(m.description, "Wine \"quality\"");
        let train = &m.entry_points["train"];
        assert_eq!(train.parameters["alpha"].default.as_deref(), Some("0.5"));
        assert_eq!(
            train.parameters["label"].default.as_deref(),
            Some("a \"b\"")
        );
        assert_eq!(
            train.parameters["mode"].default.as_deref(),
            Some("Mode::Fast")
        );
        assert!(!train.parameters.contains_key("cap"), "{text}");
        assert!(text.contains("// \"cap\": (type: Int),"), "{text}");
        let nightly = &m.entry_points["nightly"];
        assert_eq!(nightly.parameters["rows"].ty, ParamType::Int);
        assert_eq!(nightly.description, "Nightly retraining.\nMore.");
    }

    #[test]
    fn a_single_entry_point_is_main() {
        let exp = BinarySchema {
            oxflow_schema: 1,
            dags: Vec::new(),
            experiments: vec![EntrySchema {
                name: "wine".into(),
                description: String::new(),
                params: Vec::new(),
            }],
        };
        let text = render("wine", "", &[(Target::Bin("train".into()), exp)]);
        let m = Manifest::parse(&text, Path::new("oxflow.ron")).unwrap();
        assert!(m.entry_points.contains_key("main"), "{text}");
    }
}
