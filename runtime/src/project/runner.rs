//! `project run` and `project rerun`: fetch, validate, build, record and run an entry point.
//!
//! Order matters for what a user sees when something is wrong: the project file and the
//! parameters are checked first (nothing built), then the binary is built and asked for its
//! schema and to validate the values (nothing recorded), and only then is the run created with
//! its source tags and the entry point started in it. A failed build records nothing.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::command::{fill_template, mlflow_command, shell_quote};
use super::error::ProjectError;
use super::manifest::{EntryKind, MANIFEST_FILE, Manifest, Target};
use super::mlproject::{MlEnv, MlProject};
use super::param::{compatible, param_type_of_rust};
use super::schema::{BinarySchema, CHECK_FLAG, CheckResult, SCHEMA_FLAG, SCHEMA_VERSION};
use super::source::{self, Fetched, SourceSpec};
use crate::tracking::{
    RunOptions, RunStatus, TAG_SOURCE_NAME, TAG_SOURCE_TYPE, TAG_USER, TrackingStore, TrackingUri,
};

/// `mlflow.source.git.commit`.
pub const TAG_GIT_COMMIT: &str = "mlflow.source.git.commit";
/// `mlflow.source.git.repoURL`.
pub const TAG_GIT_REPO_URL: &str = "mlflow.source.git.repoURL";
/// `mlflow.source.git.branch`.
pub const TAG_GIT_BRANCH: &str = "mlflow.source.git.branch";
/// `mlflow.project.entryPoint`.
pub const TAG_ENTRY_POINT: &str = "mlflow.project.entryPoint";
/// `mlflow.project.env`: the environment manager the entry point ran under.
pub const TAG_PROJECT_ENV: &str = "mlflow.project.env";
/// `mlflow.project.backend`: where it ran (`local`).
pub const TAG_PROJECT_BACKEND: &str = "mlflow.project.backend";
/// The `-P` values the entry point was started with (JSON pairs), for `project rerun`.
pub const TAG_PROJECT_ARGS: &str = "oxflow.project.args";
/// The project file that was read: `oxflow.ron` or `MLproject`.
pub const TAG_PROJECT_FILE: &str = "oxflow.project.file";
/// On a rerun: the run it reproduces.
pub const TAG_RERUN_OF: &str = "oxflow.project.rerunOf";

/// Which project file to read when a directory has both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ProjectFile {
    /// `oxflow.ron` if present, else `MLproject`.
    #[default]
    Auto,
    /// `oxflow.ron`.
    Oxflow,
    /// `MLproject`.
    Mlproject,
}

/// What `project run` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// A directory or git URL, with an optional `#subdirectory`.
    pub uri: String,
    /// The entry point (`main` by default).
    pub entry: String,
    /// `-P key=value`, in order.
    pub params: Vec<String>,
    /// `--version`: a commit, branch or tag.
    pub version: Option<String>,
    /// `--experiment-name`.
    pub experiment_name: Option<String>,
    /// `--run-name`.
    pub run_name: Option<String>,
    /// `--env-manager` (MLproject only).
    pub env_manager: Option<String>,
    /// Which file to read.
    pub file: ProjectFile,
    /// `--tracking-uri`; else the environment's.
    pub tracking_uri: Option<String>,
    /// Extra tags for the run (`project rerun` names the run it reproduces).
    pub extra_tags: Vec<(String, String)>,
}

/// How a project run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// The run id.
    pub run_id: String,
    /// The run's final status.
    pub status: RunStatus,
    /// The entry point's exit status (128 + the signal's number if a signal ended it).
    pub exit_code: i32,
    /// The command that shows the run in MLflow's UI.
    pub ui_command: String,
}

/// Everything decided before the run is created.
struct Plan {
    work_dir: PathBuf,
    argv: Vec<OsString>,
    env: BTreeMap<String, String>,
    experiment: ExperimentRef,
    /// Logged to the run before the entry point starts.
    log_params: Vec<(String, String)>,
    /// The `-P` pairs to give a rerun.
    rerun_args: Vec<(String, String)>,
    file: &'static str,
}

enum ExperimentRef {
    Name(String),
    Id(String),
}

/// Splits `-P key=value` arguments; a key given twice is refused, as `mlflow run` does.
fn parse_overrides(params: &[String]) -> Result<Vec<(String, String)>, ProjectError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for p in params {
        let (k, v) = crate::params::parse_override(p).map_err(|_| {
            ProjectError::BadOverride(format!("invalid -P `{p}`: use -P name=value"))
        })?;
        if out.iter().any(|(x, _)| *x == k) {
            return Err(ProjectError::BadOverride(format!(
                "parameter `{k}` is given twice"
            )));
        }
        out.push((k, v));
    }
    Ok(out)
}

const ENV_MANAGERS: [&str; 4] = ["local", "virtualenv", "uv", "conda"];

/// The environment manager `mlflow run --env-manager` names, checked before anything is
/// fetched: only `local` runs here.
fn check_env_manager(m: Option<&str>) -> Result<(), ProjectError> {
    match m {
        None | Some("local") => Ok(()),
        Some(m) if ENV_MANAGERS.contains(&m) => Err(ProjectError::EnvManager(format!(
            "--env-manager {m} is not supported: oxflow does not create {} environments; \
             `--env-manager local` runs the entry point in the current environment",
            if m == "conda" { "conda" } else { "Python" }
        ))),
        Some(m) => Err(ProjectError::EnvManager(format!(
            "unknown --env-manager `{m}`; MLflow's are {} (oxflow runs `local` only)",
            ENV_MANAGERS.join(", ")
        ))),
    }
}

/// The tracking URI with relative paths made absolute, so an entry point started in the
/// project's directory records into the same store.
fn absolute_tracking_uri(uri: &str, cwd: &Path) -> Result<String, ProjectError> {
    Ok(match TrackingUri::parse(uri)? {
        TrackingUri::Sqlite(p) if p.is_relative() => {
            format!("sqlite:///{}", cwd.join(p).display())
        }
        TrackingUri::File(p) if p.is_relative() => cwd.join(p).display().to_string(),
        _ => uri.to_string(),
    })
}

/// Runs a project's entry point and records it; see the module docs for the order of checks.
/// Prints the run id when the run starts, and its status and the MLflow UI command when it
/// ends; the entry point's own output goes straight to this process's stdout and stderr.
pub fn run(req: &RunRequest) -> Result<RunOutcome, ProjectError> {
    check_env_manager(req.env_manager.as_deref())?;
    let overrides = parse_overrides(&req.params)?;
    let cwd = std::env::current_dir().map_err(|source| ProjectError::Read {
        file: PathBuf::from("."),
        source,
    })?;
    let spec = SourceSpec::parse(&req.uri)?;
    let fetched = source::resolve(
        &req.uri,
        &spec,
        req.version.as_deref(),
        &source::cache_root(),
    )?;
    let entry = if req.entry.is_empty() {
        "main"
    } else {
        &req.entry
    };
    let ron = fetched.work_dir.join(MANIFEST_FILE);
    let mlproject = MlProject::find(&fetched.work_dir);
    let use_ron = match req.file {
        ProjectFile::Oxflow => true,
        ProjectFile::Mlproject => false,
        ProjectFile::Auto => ron.is_file() || mlproject.is_none(),
    };
    let plan = if use_ron {
        if !ron.is_file() {
            return Err(ProjectError::NoProjectFile {
                dir: fetched.work_dir.clone(),
            });
        }
        plan_oxflow(&fetched, &ron, entry, &overrides, req, &cwd)?
    } else {
        let file = mlproject.ok_or_else(|| ProjectError::NoProjectFile {
            dir: fetched.work_dir.clone(),
        })?;
        plan_mlproject(&fetched, &file, entry, &overrides, req, &cwd)?
    };
    execute(&fetched, plan, entry, req, &cwd)
}

/// `oxflow.ron`: typed parameters checked against the file, then against the binary.
fn plan_oxflow(
    fetched: &Fetched,
    file: &Path,
    entry_name: &str,
    overrides: &[(String, String)],
    req: &RunRequest,
    cwd: &Path,
) -> Result<Plan, ProjectError> {
    let manifest = Manifest::load(&fetched.work_dir)?;
    let entry = manifest.entry_point(entry_name, file)?;
    // Before anything is built: every key declared, every value of its type, nothing missing.
    for (k, v) in overrides {
        let Some(p) = entry.parameters.get(k) else {
            return Err(ProjectError::UnknownParam {
                file: file.to_path_buf(),
                entry: entry_name.to_string(),
                key: k.clone(),
                known: entry.parameters.keys().cloned().collect(),
            });
        };
        p.ty.check(k, v)?;
    }
    let mut values: Vec<(String, String)> = Vec::new();
    let mut missing = Vec::new();
    for (name, p) in &entry.parameters {
        match overrides.iter().find(|(k, _)| k == name) {
            Some((_, v)) => values.push((name.clone(), v.clone())),
            None => match &p.default {
                Some(d) => values.push((name.clone(), d.clone())),
                None => missing.push(name.clone()),
            },
        }
    }
    if !missing.is_empty() {
        return Err(ProjectError::MissingParams {
            entry: entry_name.to_string(),
            keys: missing,
        });
    }
    // What the entry point receives: paths made absolute (and checked to exist).
    let mut resolved: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &values {
        resolved.insert(k.clone(), entry.parameters[k].ty.resolve(k, v, cwd)?);
    }
    let env = manifest.env.clone();
    let (argv, log_params, experiment): (Vec<OsString>, _, _) = match &entry.kind {
        EntryKind::Experiment { target } | EntryKind::Dag { target, .. } => {
            let exe = build(&fetched.work_dir, target, fetched.target_dir.as_deref())?;
            let schema = query_schema(&exe, target)?;
            let (entry_schema, default_experiment) = match &entry.kind {
                EntryKind::Dag { id, .. } => {
                    let d = schema.dags.iter().find(|d| d.name == *id).ok_or_else(|| {
                        ProjectError::Schema(format!(
                            "{target} has no DAG `{id}` (entry point `{entry_name}` in {}); its DAGs: {}",
                            file.display(),
                            names(schema.dags.iter().map(|d| d.name.as_str()))
                        ))
                    })?;
                    (d, id.clone())
                }
                _ => {
                    let e = schema.experiments.first().ok_or_else(|| {
                        ProjectError::Schema(format!(
                            "{target} is not an experiment binary (its `main` does not run an `#[experiment]` fn){}; \
                             entry point `{entry_name}` in {} says `Experiment(..)`",
                            if schema.dags.is_empty() {
                                String::new()
                            } else {
                                format!(
                                    "; it has DAGs ({}): use `Dag(id: ..)`",
                                    names(schema.dags.iter().map(|d| d.name.as_str()))
                                )
                            },
                            file.display()
                        ))
                    })?;
                    (e, e.name.clone())
                }
            };
            // The file's declarations against the code's.
            for (name, p) in &entry.parameters {
                let Some(b) = entry_schema.params.iter().find(|b| b.name == *name) else {
                    return Err(ProjectError::Schema(format!(
                        "{} declares parameter `{name}` for entry point `{entry_name}`, but `{}` of {target} has no such parameter; its parameters: {}",
                        file.display(),
                        entry_schema.name,
                        names(entry_schema.params.iter().map(|b| b.name.as_str()))
                    )));
                };
                if let Some(bt) = param_type_of_rust(&b.type_name)
                    && !compatible(p.ty, bt)
                {
                    return Err(ProjectError::Schema(format!(
                        "parameter `{name}` of entry point `{entry_name}` is {} in {}, but `{}` in `{}` of {target}: declare it as {}",
                        p.ty.ron_name(),
                        file.display(),
                        b.type_name,
                        entry_schema.name,
                        bt.ron_name()
                    )));
                }
            }
            let check_entry = match &entry.kind {
                EntryKind::Dag { id, .. } => id.clone(),
                _ => entry_schema.name.clone(),
            };
            let logged = check_params(&exe, target, &check_entry, &resolved)?;
            let mut argv: Vec<OsString> = vec![exe.into_os_string()];
            if let EntryKind::Dag { id, .. } = &entry.kind {
                argv.push("run".into());
                argv.push(id.into());
            }
            for (k, v) in &resolved {
                argv.push("-P".into());
                argv.push(format!("{k}={v}").into());
            }
            (argv, logged, default_experiment)
        }
        EntryKind::Command(template) => {
            let mut argv = Vec::new();
            for arg in template {
                argv.push(
                    fill_template(arg, &resolved)
                        .map_err(|source| ProjectError::Template {
                            entry: entry_name.to_string(),
                            source,
                        })?
                        .into(),
                );
            }
            (argv, values.clone(), "Default".to_string())
        }
        EntryKind::Shell(template) => {
            let quoted: BTreeMap<String, String> = resolved
                .iter()
                .map(|(k, v)| (k.clone(), shell_quote(v)))
                .collect();
            let cmd =
                fill_template(template, &quoted).map_err(|source| ProjectError::Template {
                    entry: entry_name.to_string(),
                    source,
                })?;
            (
                vec!["bash".into(), "-c".into(), cmd.into()],
                values.clone(),
                "Default".to_string(),
            )
        }
    };
    let experiment = ExperimentRef::Name(
        req.experiment_name
            .clone()
            .or_else(|| manifest.experiment.clone())
            .unwrap_or(experiment),
    );
    Ok(Plan {
        work_dir: fetched.work_dir.clone(),
        argv,
        env,
        experiment,
        log_params,
        rerun_args: values,
        file: MANIFEST_FILE,
    })
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = it.collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// `MLproject`: MLflow's rules, its command template and quoting.
fn plan_mlproject(
    fetched: &Fetched,
    file: &Path,
    entry_name: &str,
    overrides: &[(String, String)],
    req: &RunRequest,
    cwd: &Path,
) -> Result<Plan, ProjectError> {
    let project = MlProject::load(file)?;
    if req.env_manager.is_none() && project.env != MlEnv::None {
        return Err(ProjectError::EnvManager(format!(
            "{} declares {}, which oxflow does not create; pass `--env-manager local` to run \
             the entry point in the current environment",
            file.display(),
            project.env.describe()
        )));
    }
    if let MlEnv::Docker(image) = &project.env {
        eprintln!(
            "warning: {} declares docker_env (image {image}); with --env-manager local the \
             command runs on this machine, not in the image",
            file.display()
        );
    }
    let entry = project.entry_point(entry_name, file)?;
    // MLflow's `_validate_parameters`: every parameter without a default must be given.
    let missing: Vec<String> = entry
        .parameters
        .iter()
        .filter(|(k, p)| p.default.is_none() && !overrides.iter().any(|(o, _)| o == *k))
        .map(|(k, _)| k.clone())
        .collect();
    if !missing.is_empty() {
        return Err(ProjectError::MissingParams {
            entry: entry_name.to_string(),
            keys: missing,
        });
    }
    let mut logged = Vec::new();
    let mut resolved = BTreeMap::new();
    for (k, p) in &entry.parameters {
        let v = overrides
            .iter()
            .find(|(o, _)| o == k)
            .map(|(_, v)| v.clone())
            .or_else(|| p.default.clone())
            .unwrap_or_default();
        // MLflow checks only `uri` and `path`; a number that is not one fails here, before
        // the run is created, rather than inside the entry point.
        resolved.insert(k.clone(), p.ty.resolve(k, &v, cwd)?);
        logged.push((k.clone(), v));
    }
    // Parameters the entry point does not declare are passed on as `--key value`, as MLflow does.
    let extra: Vec<(String, String)> = overrides
        .iter()
        .filter(|(k, _)| !entry.parameters.contains_key(k))
        .cloned()
        .collect();
    logged.extend(extra.iter().cloned());
    let cmd = mlflow_command(&entry.command, &resolved, &extra).map_err(|source| {
        ProjectError::Template {
            entry: entry_name.to_string(),
            source,
        }
    })?;
    let experiment = match req.experiment_name.clone() {
        Some(n) => ExperimentRef::Name(n),
        None => match (
            std::env::var("MLFLOW_EXPERIMENT_NAME")
                .ok()
                .filter(|s| !s.is_empty()),
            std::env::var("MLFLOW_EXPERIMENT_ID")
                .ok()
                .filter(|s| !s.is_empty()),
        ) {
            (Some(n), _) => ExperimentRef::Name(n),
            (None, Some(id)) => ExperimentRef::Id(id),
            (None, None) => ExperimentRef::Name("Default".into()),
        },
    };
    Ok(Plan {
        work_dir: fetched.work_dir.clone(),
        argv: vec!["bash".into(), "-c".into(), cmd.into()],
        env: BTreeMap::new(),
        experiment,
        rerun_args: overrides.to_vec(),
        log_params: logged,
        file: "MLproject",
    })
}

/// `cargo build --release` of one target, cargo's output streamed to stderr; returns the
/// executable cargo reports.
fn build(
    work_dir: &Path,
    target: &Target,
    target_dir: Option<&Path>,
) -> Result<PathBuf, ProjectError> {
    let manifest = work_dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(ProjectError::Schema(format!(
            "{} has no Cargo.toml to build {target} from",
            work_dir.display()
        )));
    }
    eprintln!(
        "building {target} (cargo build --release) in {}",
        work_dir.display()
    );
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.arg("build")
        .arg("--release")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(target.cargo_args())
        .arg("--message-format")
        .arg("json-render-diagnostics")
        .current_dir(work_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(dir) = target_dir
        && std::env::var_os("CARGO_TARGET_DIR").is_none()
    {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    let mut child = cmd.spawn().map_err(|source| ProjectError::Spawn {
        program: "cargo".into(),
        source,
    })?;
    let mut exe = None;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if msg["reason"] == "compiler-artifact"
                && msg["target"]["name"] == target.name()
                && let Some(path) = msg["executable"].as_str()
            {
                exe = Some(PathBuf::from(path));
            }
        }
    }
    let status = child.wait().map_err(|source| ProjectError::Spawn {
        program: "cargo".into(),
        source,
    })?;
    if !status.success() {
        return Err(ProjectError::Build {
            target: target.to_string(),
            status: status.to_string(),
        });
    }
    exe.ok_or_else(|| {
        ProjectError::Schema(format!(
            "cargo built {target} but reported no executable for it"
        ))
    })
}

/// Runs `exe args`, for at most 60 s (a binary that is not an oxflow binary may ignore the
/// flag and start working), and returns its stdout.
pub(super) fn ask(exe: &Path, args: &[String], target: &Target) -> Result<String, ProjectError> {
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| ProjectError::Spawn {
            program: exe.display().to_string(),
            source,
        })?;
    // Read while it runs: a binary that prints more than a pipe holds must not block.
    let reader = child.stdout.take().map(|mut out| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = std::io::Read::read_to_end(&mut out, &mut buf);
            buf
        })
    });
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > Duration::from_secs(60) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ProjectError::Schema(format!(
                    "{target} did not answer `{}` within 60 s; is its `main` `oxflow::main()` or an `#[experiment]` fn?",
                    args[0]
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(source) => {
                return Err(ProjectError::Spawn {
                    program: exe.display().to_string(),
                    source,
                });
            }
        }
    }
    let stdout = reader.and_then(|r| r.join().ok()).unwrap_or_default();
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}

fn query_schema(exe: &Path, target: &Target) -> Result<BinarySchema, ProjectError> {
    let out = ask(exe, &[SCHEMA_FLAG.to_string()], target)?;
    let schema: BinarySchema = out
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| {
            ProjectError::Schema(format!(
                "{target} did not answer `{SCHEMA_FLAG}`: is its `main` `oxflow::main()` or an `#[experiment]` fn, built against this oxflow?"
            ))
        })?;
    if schema.oxflow_schema != SCHEMA_VERSION {
        return Err(ProjectError::Schema(format!(
            "{target} reports schema version {}, this oxflow reads {SCHEMA_VERSION}: build the project against the same oxflow version",
            schema.oxflow_schema
        )));
    }
    Ok(schema)
}

/// Asks the binary to validate the values with its own types and ranges; returns what it will
/// log.
fn check_params(
    exe: &Path,
    target: &Target,
    entry: &str,
    values: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, ProjectError> {
    let mut args = vec![CHECK_FLAG.to_string(), entry.to_string()];
    args.extend(values.iter().map(|(k, v)| format!("{k}={v}")));
    let out = ask(exe, &args, target)?;
    let r: CheckResult = out
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| ProjectError::Schema(format!("{target} did not answer `{CHECK_FLAG}`")))?;
    match (r.params, r.error) {
        (Some(p), None) => Ok(p),
        (_, e) => Err(ProjectError::Rejected {
            binary: target.to_string(),
            message: e.unwrap_or_else(|| "no reason given".into()),
        }),
    }
}

/// Creates the run with MLflow's project tags, starts the entry point in it, waits, and ends
/// the run with the entry point's outcome.
fn execute(
    fetched: &Fetched,
    plan: Plan,
    entry: &str,
    req: &RunRequest,
    cwd: &Path,
) -> Result<RunOutcome, ProjectError> {
    let uri = req
        .tracking_uri
        .clone()
        .unwrap_or_else(crate::tracking::tracking_uri_from_env);
    let uri = absolute_tracking_uri(&uri, cwd)?;
    let store = TrackingStore::open_uri(&uri)?;
    let experiment = match &plan.experiment {
        ExperimentRef::Name(n) => store.get_or_create_experiment(n)?,
        ExperimentRef::Id(id) => store.get_experiment(id)?,
    };
    let mut tags: Vec<(String, String)> = vec![
        (TAG_USER.into(), crate::tracking::user::current_user()),
        (TAG_SOURCE_NAME.into(), fetched.source_name.clone()),
        (TAG_SOURCE_TYPE.into(), "PROJECT".into()),
        (TAG_ENTRY_POINT.into(), entry.to_string()),
        (TAG_PROJECT_ENV.into(), "local".into()),
        (TAG_PROJECT_BACKEND.into(), "local".into()),
        (TAG_PROJECT_FILE.into(), plan.file.to_string()),
        (
            TAG_PROJECT_ARGS.into(),
            serde_json::to_string(&plan.rerun_args).unwrap_or_default(),
        ),
    ];
    for (k, v) in [
        (TAG_GIT_COMMIT, &fetched.commit),
        (TAG_GIT_REPO_URL, &fetched.repo_url),
        (TAG_GIT_BRANCH, &fetched.branch),
    ] {
        if let Some(v) = v {
            tags.push((k.into(), v.clone()));
        }
    }
    tags.extend(req.extra_tags.iter().cloned());
    let info = store.create_run(
        &experiment.experiment_id,
        RunOptions {
            run_name: req.run_name.clone(),
            tags,
            ..Default::default()
        },
    )?;
    let run_id = info.run_id.clone();
    if let Err(e) = store.log_batch(&run_id, &[], &plan.log_params, &[]) {
        let _ = store.set_terminated(&run_id, RunStatus::Failed, crate::tracking::now_ms());
        return Err(e.into());
    }
    crate::cli::output::eprint_line(format_args!(
        "=== project run {run_id} in experiment `{}`: entry point `{entry}` of {} ===",
        experiment.name, fetched.source_name
    ));
    let mut cmd = Command::new(&plan.argv[0]);
    cmd.args(&plan.argv[1..])
        .current_dir(&plan.work_dir)
        .envs(&plan.env)
        .env("MLFLOW_RUN_ID", &run_id)
        .env("MLFLOW_TRACKING_URI", &uri)
        .env("OXFLOW_TRACKING_URI", &uri)
        .env("MLFLOW_EXPERIMENT_ID", &experiment.experiment_id);
    let (exit_code, signal) = match wait_child(cmd) {
        Ok(x) => x,
        Err(e) => {
            let _ = store.set_tag(&run_id, crate::tracking::TAG_FAILURE, &e.to_string());
            let _ = store.set_terminated(&run_id, RunStatus::Failed, crate::tracking::now_ms());
            return Err(e);
        }
    };
    let status = match (exit_code, signal) {
        (_, Some(_)) => RunStatus::Killed,
        (0, None) => RunStatus::Finished,
        _ => RunStatus::Failed,
    };
    store.set_terminated(&run_id, status, crate::tracking::now_ms())?;
    Ok(RunOutcome {
        run_id,
        status,
        exit_code,
        ui_command: store.ui_command(),
    })
}

/// Starts the entry point in a process group of its own and waits for it; Ctrl-C and SIGTERM
/// are passed on to the whole group (a `bash -c` command and what it started), once. Returns
/// the exit status (128 + signal when a signal ended it) and the signal this process received.
fn wait_child(mut cmd: Command) -> Result<(i32, Option<i32>), ProjectError> {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.process_group(0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| ProjectError::Spawn {
            program: program.clone(),
            source,
        })?;
    rt.block_on(async move {
        let mut child = tokio::process::Command::from(cmd)
            .spawn()
            .map_err(|source| ProjectError::Spawn {
                program: program.clone(),
                source,
            })?;
        let pid = child.id();
        let (status, signal) = tokio::select! {
            s = child.wait() => (s, None),
            sig = crate::cli::stop_signal() => {
                if let Some(pid) = pid
                    && let Ok(sig) = nix::sys::signal::Signal::try_from(sig)
                {
                    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid as i32), sig);
                }
                (child.wait().await, Some(sig))
            }
        };
        let status = status.map_err(|source| ProjectError::Spawn { program, source })?;
        let code = status
            .code()
            .or_else(|| status.signal().map(|s| 128 + s))
            .unwrap_or(1);
        Ok((code, signal))
    })
}

/// Reruns a recorded project run: the same source at the same commit, the same entry point and
/// parameters, in the same experiment, tagged with the run it reproduces.
pub fn rerun(
    run_id: &str,
    tracking_uri: Option<&str>,
    env_manager: Option<String>,
    run_name: Option<String>,
) -> Result<RunOutcome, ProjectError> {
    let uri = tracking_uri
        .map(str::to_string)
        .unwrap_or_else(crate::tracking::tracking_uri_from_env);
    let store = TrackingStore::open_uri(&uri)?;
    let rec = store.get_run(run_id)?;
    let bad = |reason: &str| ProjectError::Rerun {
        run_id: run_id.to_string(),
        reason: reason.to_string(),
    };
    let tag = |k: &str| rec.tags.get(k).cloned();
    if tag(TAG_SOURCE_TYPE).as_deref() != Some("PROJECT") {
        return Err(bad(
            "it is not a project run (its mlflow.source.type is not PROJECT)",
        ));
    }
    let source = tag(TAG_SOURCE_NAME).ok_or_else(|| bad("it has no mlflow.source.name"))?;
    let commit = tag(TAG_GIT_COMMIT).ok_or_else(|| {
        bad("it has no mlflow.source.git.commit: its code was not in git, so that code cannot be found again")
    })?;
    // A run recorded from a local directory names it as `file://<repository>#<subdir>`,
    // which fetches like any git URL.
    let uri_for_run = if source.contains("://") || source.contains('@') {
        source.clone()
    } else {
        format!("file://{source}")
    };
    let params: Vec<(String, String)> = match tag(TAG_PROJECT_ARGS) {
        Some(json) => serde_json::from_str(&json).map_err(|e| {
            bad(&format!(
                "its {TAG_PROJECT_ARGS} tag is not JSON pairs: {e}"
            ))
        })?,
        // A run `mlflow run` recorded: its logged parameters are the ones it was given.
        None => rec
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    let experiment = store.get_experiment(&rec.info.experiment_id)?;
    let file = match tag(TAG_PROJECT_FILE).as_deref() {
        Some(MANIFEST_FILE) => ProjectFile::Oxflow,
        Some(_) => ProjectFile::Mlproject,
        None => ProjectFile::Auto,
    };
    let env_manager = env_manager.or_else(|| tag(TAG_PROJECT_ENV));
    let req = RunRequest {
        uri: uri_for_run,
        entry: tag(TAG_ENTRY_POINT).unwrap_or_else(|| "main".into()),
        params: params.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        version: Some(commit),
        experiment_name: Some(experiment.name),
        run_name,
        env_manager,
        file,
        tracking_uri: Some(uri),
        extra_tags: vec![(TAG_RERUN_OF.into(), run_id.to_string())],
    };
    run(&req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_managers_other_than_local_are_refused_by_name() {
        assert!(check_env_manager(None).is_ok());
        assert!(check_env_manager(Some("local")).is_ok());
        let e = check_env_manager(Some("conda")).unwrap_err().to_string();
        assert!(
            e.contains("--env-manager conda is not supported") && e.contains("local"),
            "{e}"
        );
        let e = check_env_manager(Some("pip")).unwrap_err().to_string();
        assert!(e.contains("unknown --env-manager `pip`"), "{e}");
    }

    #[test]
    fn overrides_are_split_once_and_never_repeated() {
        assert_eq!(
            parse_overrides(&["a=b=c".into()]).unwrap(),
            vec![("a".to_string(), "b=c".to_string())]
        );
        assert!(parse_overrides(&["a".into()]).is_err());
        assert!(parse_overrides(&["a=1".into(), "a=2".into()]).is_err());
    }

    #[test]
    fn relative_tracking_uris_become_absolute() {
        let cwd = Path::new("/work/p");
        assert_eq!(
            absolute_tracking_uri("sqlite:///mlflow.db", cwd).unwrap(),
            "sqlite:////work/p/mlflow.db"
        );
        assert_eq!(
            absolute_tracking_uri("sqlite:////tmp/m.db", cwd).unwrap(),
            "sqlite:////tmp/m.db"
        );
        assert_eq!(
            absolute_tracking_uri("mlruns", cwd).unwrap(),
            "/work/p/mlruns"
        );
        assert_eq!(
            absolute_tracking_uri("http://h:5000", cwd).unwrap(),
            "http://h:5000"
        );
    }
}
