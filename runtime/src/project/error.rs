//! Why a project could not be read, fetched, built or run.

use std::path::PathBuf;

use super::command::TemplateError;
use super::param::ValueError;
use crate::tracking::TrackingError;

/// A project file that does not parse: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", file.display())]
pub struct SyntaxError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

/// Everything `project init`, `project run` and `project rerun` can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", file.display())]
    Write {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `oxflow.ron` or `MLproject` does not parse.
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// A directory without a project file.
    #[error("{} has neither oxflow.ron nor MLproject; `oxflow project init` writes an oxflow.ron for a crate", dir.display())]
    NoProjectFile {
        /// The directory.
        dir: PathBuf,
    },
    /// `-e NAME` that the project file does not define.
    #[error("{} has no entry point `{name}`; entry points: {}", file.display(), list(known))]
    UnknownEntryPoint {
        /// The project file.
        file: PathBuf,
        /// The name asked for.
        name: String,
        /// The entry points there are.
        known: Vec<String>,
    },
    /// `-P key=value` for a parameter an `oxflow.ron` entry point does not declare.
    #[error("entry point `{entry}` has no parameter `{key}` ({}); parameters: {}", file.display(), list(known))]
    UnknownParam {
        /// The project file.
        file: PathBuf,
        /// The entry point.
        entry: String,
        /// The key given.
        key: String,
        /// The declared parameters.
        known: Vec<String>,
    },
    /// Parameters without a default that were not given.
    #[error("no value given for {} of entry point `{entry}`: pass {}", if keys.len() == 1 { "parameter" } else { "parameters" }, keys.iter().map(|k| format!("`-P {k}=...`")).collect::<Vec<_>>().join(" "))]
    MissingParams {
        /// The entry point.
        entry: String,
        /// The parameters.
        keys: Vec<String>,
    },
    /// `-P` not in `key=value` form, or a key given twice.
    #[error("{0}")]
    BadOverride(String),
    /// A value that is not of its parameter's type.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// A command template that cannot be filled.
    #[error("entry point `{entry}`: {source}")]
    Template {
        /// The entry point.
        entry: String,
        /// What is wrong.
        #[source]
        source: TemplateError,
    },
    /// An environment manager oxflow does not run.
    #[error("{0}")]
    EnvManager(String),
    /// The project URI names neither a directory nor a git repository.
    #[error(
        "`{uri}` is neither a directory nor a git URL (https://, ssh://, git://, file://, or user@host:path)"
    )]
    NotASource {
        /// The URI given.
        uri: String,
    },
    /// A `#subdirectory` that is absolute or climbs out of the repository.
    #[error(
        "subdirectory `{subdir}` of `{uri}` must be a relative path inside the repository, without `.` or `..`"
    )]
    BadSubdirectory {
        /// The URI.
        uri: String,
        /// The subdirectory.
        subdir: String,
    },
    /// The project's subdirectory does not exist at that commit.
    #[error("`{uri}` has no directory `{subdir}`{}", commit.as_deref().map(|c| format!(" at commit {c}")).unwrap_or_default())]
    NoSubdirectory {
        /// The URI.
        uri: String,
        /// The subdirectory.
        subdir: String,
        /// The commit looked at.
        commit: Option<String>,
    },
    /// A git command failed.
    #[error("git {action} failed for `{url}`: {stderr}")]
    Git {
        /// What was being done (`fetch`, `checkout`, ...).
        action: String,
        /// The repository.
        url: String,
        /// What git said.
        stderr: String,
    },
    /// `--version` that is neither a commit, a branch nor a tag.
    #[error("`--version {version}` is not a commit, branch or tag of `{url}`")]
    VersionNotFound {
        /// The version given.
        version: String,
        /// The repository.
        url: String,
    },
    /// `--version` for a directory that is not in a git repository.
    #[error("`--version` needs a git repository, and {} is not in one", dir.display())]
    VersionNeedsGit {
        /// The directory.
        dir: PathBuf,
    },
    /// A program could not be started (git, cargo, the entry point).
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `cargo build` failed.
    #[error("cargo build of {target} failed ({status}); nothing was run or recorded")]
    Build {
        /// The target.
        target: String,
        /// Cargo's exit status.
        status: String,
    },
    /// The binary's answer to `--oxflow-schema` or `--oxflow-check` could not be used.
    #[error("{0}")]
    Schema(String),
    /// The binary refused the parameters (a range, a type of its own).
    #[error("{binary} refused the parameters: {message}")]
    Rejected {
        /// The binary.
        binary: String,
        /// Its message.
        message: String,
    },
    /// A run that `project rerun` cannot rerun.
    #[error("cannot rerun run `{run_id}`: {reason}")]
    Rerun {
        /// The run.
        run_id: String,
        /// Why.
        reason: String,
    },
    /// The tracking store failed.
    #[error(transparent)]
    Tracking(#[from] TrackingError),
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
