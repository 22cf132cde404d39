//! `oxflow project run` / `rerun` / `init`, end to end: projects in git repositories this test
//! creates (no network), run by the real `oxflow` binary, checked in the tracking store.
//!
//! `the_example_project_runs_from_git_and_reruns` builds `examples/project` with
//! `cargo build --release` (several minutes the first time; later runs reuse the target
//! directory, `CARGO_TARGET_DIR` or `target/tmp/project-target`). The other tests build nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use oxflow::tracking::{MAX_SEARCH_RESULTS, RunRecord, RunStatus, TrackingStore};

const NASTY: &str = "a b 'c' \"d\" $(touch pwned); `x` | & > out ; * ~ \\ é";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A git repository at `root/repo` holding `files` under `sub`, committed on `main`.
fn repo_with(root: &Path, sub: &str, files: &[(&str, &str)]) -> PathBuf {
    let repo = root.join("repo");
    let dir = repo.join(sub);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    git(&repo, &["init", "--quiet", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "--quiet", "-m", "project"]);
    repo
}

struct Env {
    tmp: tempfile::TempDir,
    db: PathBuf,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("mlflow.db");
        Env { tmp, db }
    }

    fn root(&self) -> &Path {
        self.tmp.path()
    }

    fn uri(&self) -> String {
        format!("sqlite:///{}", self.db.display())
    }

    /// `oxflow project <args>`, in the temporary directory, with the cache inside it.
    fn project(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxflow"));
        cmd.arg("--tracking-uri")
            .arg(self.uri())
            .arg("project")
            .args(args)
            .current_dir(self.root())
            .env("OXFLOW_PROJECT_CACHE", self.root().join("cache"))
            .env_remove("MLFLOW_RUN_ID")
            .env_remove("MLFLOW_EXPERIMENT_NAME")
            .env_remove("MLFLOW_EXPERIMENT_ID");
        if std::env::var_os("CARGO_TARGET_DIR").is_none() {
            cmd.env(
                "CARGO_TARGET_DIR",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("project-target"),
            );
        }
        cmd
    }

    fn store(&self) -> TrackingStore {
        TrackingStore::open_uri(&self.uri()).unwrap()
    }

    /// Every run in the store (none when it was never created).
    fn runs(&self) -> Vec<RunRecord> {
        if !self.db.exists() {
            return Vec::new();
        }
        let store = self.store();
        let ids: Vec<String> = store
            .list_experiments(false)
            .unwrap()
            .into_iter()
            .map(|e| e.experiment_id)
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        store
            .search_runs(&ids, "", &[], MAX_SEARCH_RESULTS)
            .unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The run id `project run` printed last.
fn run_id(out: &Output) -> String {
    let stdout = text(&out.stdout);
    // The entry point's own output may end without a newline: look for the last mention.
    stdout
        .rsplit_once("project run ")
        .and_then(|(_, rest)| rest.split(':').next())
        .unwrap_or_else(|| panic!("no run id in:\n{stdout}\n{}", text(&out.stderr)))
        .to_string()
}

fn assert_error(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains(needle), "expected `{needle}` in:\n{err}");
}

const SHELL_MLPROJECT: &str = "name: shell\n\
entry_points:\n  \
  main:\n    \
    parameters:\n      \
      msg: string\n      \
      n: {type: int, default: 2}\n    \
    command: \"printf '%s|' {msg} {n} > out.txt\"\n  \
  fail:\n    \
    command: \"exit 3\"\n";

#[test]
fn an_mlproject_runs_from_a_git_url_with_mlflows_quoting_and_tags() {
    let env = Env::new();
    let repo = repo_with(env.root(), "proj", &[("MLproject", SHELL_MLPROJECT)]);
    git(&repo, &["tag", "v1"]);
    let url = format!("file://{}", repo.display());
    let uri = format!("{url}#proj");
    let out = env.project(&[
        "run",
        &uri,
        "-P",
        &format!("msg={NASTY}"),
        "-P",
        "seed=7",
        "--version",
        "main",
        "--run-name",
        "shell run",
        "--experiment-name",
        "shells",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = run_id(&out);
    let rec = env.store().get_run(&id).unwrap();
    assert_eq!(rec.info.status, RunStatus::Finished);
    let commit = git(&repo, &["rev-parse", "main"]);
    let tags = &rec.tags;
    assert_eq!(tags["mlflow.source.type"], "PROJECT");
    assert_eq!(tags["mlflow.source.name"], uri);
    assert_eq!(tags["mlflow.source.git.commit"], commit);
    assert_eq!(tags["mlflow.source.git.repoURL"], url);
    assert_eq!(tags["mlflow.source.git.branch"], "main");
    assert_eq!(tags["mlflow.project.entryPoint"], "main");
    assert_eq!(tags["mlflow.project.env"], "local");
    assert_eq!(tags["mlflow.runName"], "shell run");
    assert_eq!(rec.params["msg"], NASTY);
    assert_eq!(rec.params["n"], "2");
    // Not declared: passed on as `--seed 7` and logged, as MLflow does.
    assert_eq!(rec.params["seed"], "7");
    // The checkout for that commit holds what the command wrote: each value intact, the
    // undeclared parameter appended (printf repeats its format for the extra arguments).
    let checkout = env
        .root()
        .join("cache/checkouts")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join(&commit)
        .join("proj");
    assert_eq!(
        std::fs::read_to_string(checkout.join("out.txt")).unwrap(),
        format!("{NASTY}|2|--seed|7|")
    );
    assert!(!checkout.join("pwned").exists() && !env.root().join("pwned").exists());

    // A tag is a version too (no branch tag then); the commit's checkout is reused.
    let out = env.project(&["run", &uri, "-P", "msg=x", "--version", "v1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rec = env.store().get_run(&run_id(&out)).unwrap();
    assert_eq!(rec.tags["mlflow.source.git.commit"], commit);
    assert!(!rec.tags.contains_key("mlflow.source.git.branch"));

    // The entry point's exit status is ours, and the run is FAILED.
    let out = env.project(&["run", &uri, "-e", "fail"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let rec = env.store().get_run(&run_id(&out)).unwrap();
    assert_eq!(rec.info.status, RunStatus::Failed);

    // Rerun: same commit and parameters, in the same experiment, pointing at the original.
    let first = env
        .runs()
        .into_iter()
        .find(|r| r.tags.get("mlflow.runName").map(String::as_str) == Some("shell run"))
        .unwrap();
    let out = env.project(&["rerun", &first.info.run_id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = env.store().get_run(&run_id(&out)).unwrap();
    assert_ne!(again.info.run_id, first.info.run_id);
    assert_eq!(again.tags["oxflow.project.rerunOf"], first.info.run_id);
    assert_eq!(again.tags["mlflow.source.git.commit"], commit);
    assert_eq!(again.info.experiment_id, first.info.experiment_id);
    assert_eq!(again.params, first.params);
}

#[test]
fn a_local_directory_runs_in_place_and_argv_commands_see_no_shell() {
    let env = Env::new();
    let ron = r#"Project(
    name: "echo",
    entry_points: {
        "main": (run: Command(["printf", "%s", "{label}"]), parameters: {"label": (type: String)}),
        "sh": (run: Shell("printf '%s' {label} > sh.txt"), parameters: {"label": (type: String)}),
        "data": (run: Command(["cat", "{file}"]), parameters: {"file": (type: Path)}),
    },
)"#;
    let repo = repo_with(env.root(), "p", &[("oxflow.ron", ron)]);
    let dir = repo.join("p");
    let out = env.project(&[
        "run",
        dir.to_str().unwrap(),
        "-P",
        &format!("label={NASTY}"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(NASTY),
        "{}",
        text(&out.stdout)
    );
    let rec = env.store().get_run(&run_id(&out)).unwrap();
    // A directory in a git repository is named as MLflow names it.
    assert_eq!(
        rec.tags["mlflow.source.name"],
        format!(
            "file://{}#p",
            std::fs::canonicalize(&repo).unwrap().display()
        )
    );
    assert_eq!(
        rec.tags["mlflow.source.git.commit"],
        git(&repo, &["rev-parse", "HEAD"])
    );
    assert_eq!(rec.params["label"], NASTY);

    // A directory with --version runs that commit, fetched from its repository.
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let out = env.project(&[
        "run",
        dir.to_str().unwrap(),
        "--version",
        &head[..10],
        "-P",
        "label=v",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rec = env.store().get_run(&run_id(&out)).unwrap();
    assert_eq!(rec.tags["mlflow.source.git.commit"], head);
    assert!(rec.tags["mlflow.source.name"].ends_with("/repo#p"));

    // A shell template quotes each value.
    let out = env.project(&[
        "run",
        dir.to_str().unwrap(),
        "-e",
        "sh",
        "-P",
        &format!("label={NASTY}"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(dir.join("sh.txt")).unwrap(), NASTY);
    assert!(!dir.join("pwned").exists());

    // Paths are taken from where `project run` started, passed absolute, and must exist.
    std::fs::write(env.root().join("rows.csv"), "a,b\n").unwrap();
    let out = env.project(&[
        "run",
        dir.to_str().unwrap(),
        "-e",
        "data",
        "-P",
        "file=rows.csv",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("a,b\n"));
    let out = env.project(&[
        "run",
        dir.to_str().unwrap(),
        "-e",
        "data",
        "-P",
        "file=nope.csv",
    ]);
    assert_error(&out, "no such file or directory");
}

#[test]
fn bad_input_is_refused_before_anything_is_built_or_recorded() {
    let env = Env::new();
    let good = r#"Project(
    name: "p",
    entry_points: {
        "main": (
            run: Experiment(bin: "train"),
            parameters: {"alpha": (type: Float, default: 0.5), "data": (type: Path)},
        ),
    },
)"#;
    let repo = repo_with(
        env.root(),
        "",
        &[
            ("oxflow.ron", good),
            (
                "bad/oxflow.ron",
                "Project(\n    name: \"p\",\n    entry_pionts: {},\n)\n",
            ),
            (
                "badtype/oxflow.ron",
                "Project(name: \"p\", entry_points: {\"main\": (run: Experiment(bin: \"t\"), parameters: {\n  \"a\": (type: Int, default: \"ten\"),\n})})",
            ),
            (
                "ml/MLproject",
                "name: m\nentry_points:\n  main:\n    parameters:\n      alpha: {type: float}\n    command: \"true\"\n",
            ),
            (
                "badml/MLproject",
                "name: m\nentry_points:\n  main:\n    paramters: {}\n    command: \"true\"\n",
            ),
            (
                "conda/MLproject",
                "name: c\nconda_env: conda.yaml\nentry_points:\n  main:\n    command: \"true\"\n",
            ),
            ("conda/conda.yaml", "name: c\n"),
        ],
    );
    let r = repo.to_str().unwrap();
    let url = format!("file://{r}");
    let sub = |s: &str| format!("{}/{s}", r);
    // A malformed oxflow.ron: file, line, column, what was expected.
    let out = env.project(&["run", &sub("bad")]);
    assert_error(
        &out,
        "bad/oxflow.ron:3:5: Unexpected field named `entry_pionts`",
    );
    let out = env.project(&["run", &sub("badtype")]);
    assert_error(&out, "badtype/oxflow.ron:2:");
    assert_error(&out, "\"ten\" is a string, but the parameter's type is Int");
    // A malformed MLproject, in MLflow's format.
    let out = env.project(&["run", &sub("badml")]);
    assert_error(&out, "badml/MLproject:4:");
    assert_error(&out, "paramters");
    // Parameters: unknown, mistyped, missing; a missing entry point.
    let out = env.project(&["run", r, "-P", "beta=1", "-P", "data=x"]);
    assert_error(&out, "entry point `main` has no parameter `beta`");
    assert_error(&out, "parameters: alpha, data");
    let out = env.project(&["run", r, "-P", "alpha=high", "-P", "data=x"]);
    assert_error(
        &out,
        "invalid value `high` for parameter `alpha`: expected a number (float)",
    );
    let out = env.project(&["run", r]);
    assert_error(
        &out,
        "no value given for parameter of entry point `main`: pass `-P data=...`",
    );
    let out = env.project(&["run", r, "-e", "train"]);
    assert_error(&out, "has no entry point `train`; entry points: main");
    let out = env.project(&["run", &sub("ml"), "-P", "alpha=x"]);
    assert_error(&out, "expected a number (float)");
    // Environments oxflow does not create.
    let out = env.project(&["run", &sub("conda")]);
    assert_error(
        &out,
        "declares a conda environment (conda_env: conda.yaml), which oxflow does not create; pass `--env-manager local`",
    );
    let out = env.project(&["run", &sub("conda"), "--env-manager", "conda"]);
    assert_error(&out, "--env-manager conda is not supported");
    // Sources and versions that do not exist.
    let out = env.project(&["run", "file:///no/such/repo"]);
    assert_error(&out, "git fetch failed for `file:///no/such/repo`");
    let out = env.project(&["run", &url, "--version", "nope"]);
    assert_error(
        &out,
        &format!("`--version nope` is not a commit, branch or tag of `{url}`"),
    );
    let out = env.project(&["run", &format!("{url}#missing")]);
    assert_error(&out, "has no directory `missing` at commit");
    let out = env.project(&["run", "/no/such/dir"]);
    assert_error(&out, "is neither a directory nor a git URL");
    // None of it built anything or recorded a run.
    assert!(env.runs().is_empty());
    assert!(!env.db.exists());
}

/// The real example project: built from a git repository, its experiment and its DAG run in
/// the run that carries the source tags, a value out of the code's range is refused, a rerun
/// reproduces, and a build failure records nothing.
#[test]
fn the_example_project_runs_from_git_and_reruns() {
    let env = Env::new();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/project");
    let mut files: Vec<(String, String)> = Vec::new();
    for rel in [
        "Cargo.toml",
        "Cargo.lock",
        "oxflow.ron",
        "MLproject",
        "src/lib.rs",
        "src/bin/train.rs",
        "src/bin/pipeline.rs",
    ] {
        let mut t = std::fs::read_to_string(example.join(rel)).unwrap();
        if rel == "Cargo.toml" {
            t = t.replace(
                "path = \"../..\"",
                &format!("path = {:?}", env!("CARGO_MANIFEST_DIR")),
            );
        }
        files.push((rel.to_string(), t));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let repo = repo_with(env.root(), "wine", &refs);
    let commit = git(&repo, &["rev-parse", "HEAD"]);
    let uri = format!("file://{}#wine", repo.display());

    let out = env.project(&[
        "run",
        &uri,
        "-P",
        "alpha=0.3",
        "-P",
        &format!("label={NASTY}"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = run_id(&out);
    let store = env.store();
    let rec = store.get_run(&id).unwrap();
    assert_eq!(rec.info.status, RunStatus::Finished);
    assert_eq!(rec.tags["mlflow.source.type"], "PROJECT");
    assert_eq!(rec.tags["mlflow.source.git.commit"], commit);
    assert_eq!(rec.tags["mlflow.project.entryPoint"], "main");
    assert_eq!(
        store.get_experiment(&rec.info.experiment_id).unwrap().name,
        "wine"
    );
    // The binary logged into this run: its metrics, its own parameters, the label intact.
    assert!(rec.metrics.contains_key("rmse"), "{:?}", rec.metrics);
    assert_eq!(rec.params["alpha"], "0.3");
    assert_eq!(rec.params["rows"], "500");
    assert_eq!(rec.params["label"], NASTY);
    assert_eq!(
        String::from_utf8(store.read_artifact(&id, "label.txt").unwrap()).unwrap(),
        NASTY
    );
    assert_eq!(env.runs().len(), 1, "the binary made no run of its own");

    // The code's range (`l1_ratio` in 0.0..=1.0) is checked by the binary before any run.
    let out = env.project(&["run", &uri, "-P", "l1_ratio=2"]);
    assert_error(&out, "bin `train` refused the parameters");
    assert_error(&out, "out of range 0.0..=1.0");
    assert_eq!(env.runs().len(), 1);

    // The DAG entry point: the project run is the DAG run, its tasks nested under it.
    let out = env.project(&["run", &uri, "-e", "pipeline", "-P", "alpha=0.2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dag_id = run_id(&out);
    let dag = store.get_run(&dag_id).unwrap();
    assert_eq!(dag.info.status, RunStatus::Finished);
    assert_eq!(dag.tags["oxflow.dag"], "wine");
    assert_eq!(dag.tags["mlflow.project.entryPoint"], "pipeline");
    assert_eq!(dag.params["alpha"], "0.2");
    let tasks: Vec<_> = env
        .runs()
        .into_iter()
        .filter(|r| r.tags.get("mlflow.parentRunId") == Some(&dag_id))
        .collect();
    assert_eq!(tasks.len(), 3, "generate, fit, evaluate");

    // Rerun at the same commit with the same parameters.
    let out = env.project(&["rerun", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = store.get_run(&run_id(&out)).unwrap();
    assert_eq!(again.tags["oxflow.project.rerunOf"], id);
    assert_eq!(again.tags["mlflow.source.git.commit"], commit);
    assert_eq!(again.params, rec.params);
    assert_eq!(again.info.experiment_id, rec.info.experiment_id);

    // `project init` writes a file from what the binaries report, and it runs as written.
    let out = env.project(&["init", repo.join("wine").to_str().unwrap(), "--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(repo.join("wine/oxflow.ron")).unwrap();
    assert!(
        written.contains("run: Experiment(bin: \"train\")")
            && written.contains("run: Dag(id: \"wine\", bin: \"pipeline\")")
            && written.contains("\"l1_ratio\": (type: Float, default: 0.1),")
            && written.contains("// Share of the penalty that is L1 (lasso) rather than L2 (ridge). [range: 0.0..=1.0]"),
        "{written}"
    );
    let out = env.project(&[
        "run",
        repo.join("wine").to_str().unwrap(),
        "-e",
        "train",
        "-P",
        "rows=50",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rec = store.get_run(&run_id(&out)).unwrap();
    assert_eq!(rec.params["rows"], "50");
    git(&repo, &["checkout", "--quiet", "--", "."]);

    // A commit that does not compile: a clear error, nothing recorded.
    let before = env.runs().len();
    std::fs::write(repo.join("wine/src/bin/train.rs"), "fn main() { oops }\n").unwrap();
    git(&repo, &["checkout", "--quiet", "-b", "broken"]);
    git(&repo, &["commit", "--quiet", "-am", "break the build"]);
    let out = env.project(&["run", &uri, "--version", "broken"]);
    assert_error(&out, "cargo build of bin `train` failed");
    assert_eq!(env.runs().len(), before);
}

#[test]
fn sigterm_reaches_the_entry_point_and_the_run_ends_killed() {
    let env = Env::new();
    let ml = "name: s\nentry_points:\n  main:\n    command: \"sleep 60 && touch finished\"\n";
    let repo = repo_with(env.root(), "", &[("MLproject", ml)]);
    let child = env
        .command(&["run", repo.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until the run is recorded as RUNNING, then stop `oxflow` only.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while env
        .runs()
        .first()
        .is_none_or(|r| r.info.status != RunStatus::Running)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", text(&out.stderr));
    let runs = env.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].info.status, RunStatus::Killed);
    assert!(
        !repo.join("finished").exists(),
        "the entry point was stopped too"
    );
}
