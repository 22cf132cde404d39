//! Where a project's code comes from: a local directory, run in place, or a git URL, fetched
//! into a cache and checked out once per commit.
//!
//! Git runs through the `git` program rather than a library: a user's credential helpers, SSH
//! configuration, `insteadOf` rewrites and proxies then work exactly as they do for `git clone`
//! (as they do for MLflow, which also shells out to git), and no C library is linked in.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use super::error::ProjectError;

/// A project URI as given to `project run`: a directory or a git URL, with an optional
/// `#subdirectory` (MLflow's syntax).
///
/// ```
/// use oxflow_runtime::project::SourceSpec;
/// let s = SourceSpec::parse("https://github.com/org/repo#projects/wine")?;
/// assert_eq!(s, SourceSpec::Git { url: "https://github.com/org/repo".into(), subdir: "projects/wine".into() });
/// let s = SourceSpec::parse("file:///srv/git/repo.git")?;
/// assert!(matches!(s, SourceSpec::Git { .. }));
/// assert!(SourceSpec::parse("https://h/r#../etc").is_err());
/// # Ok::<(), oxflow_runtime::project::ProjectError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A directory on this machine, run where it is.
    Local {
        /// The directory (absolute).
        dir: PathBuf,
        /// The subdirectory holding the project ("" for the directory itself).
        subdir: String,
    },
    /// A git repository, fetched into the cache.
    Git {
        /// The repository URL, without the `#subdirectory`.
        url: String,
        /// The subdirectory holding the project ("" for the root).
        subdir: String,
    },
}

impl SourceSpec {
    /// Parses a project URI. A URL with a scheme (`https://`, `ssh://`, `git://`, `file://`)
    /// or in scp form (`git@host:org/repo`) is a git repository; anything else must be an
    /// existing directory.
    pub fn parse(uri: &str) -> Result<SourceSpec, ProjectError> {
        let unquoted = uri.trim().trim_matches(|c| c == '\'' || c == '"');
        let (base, subdir) = match unquoted.split_once('#') {
            Some((b, s)) => (b, s.trim_matches('/')),
            None => (unquoted, ""),
        };
        let sub = Path::new(subdir);
        if sub.is_absolute() || sub.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(ProjectError::BadSubdirectory {
                uri: uri.to_string(),
                subdir: subdir.to_string(),
            });
        }
        let subdir = subdir.to_string();
        if base.contains("://") || is_scp_like(base) {
            return Ok(SourceSpec::Git {
                url: base.to_string(),
                subdir,
            });
        }
        let dir = Path::new(base);
        if dir.is_dir() {
            let dir = std::fs::canonicalize(dir).map_err(|source| ProjectError::Read {
                file: dir.to_path_buf(),
                source,
            })?;
            return Ok(SourceSpec::Local { dir, subdir });
        }
        Err(ProjectError::NotASource {
            uri: uri.to_string(),
        })
    }
}

/// `user@host:path` (git's scp-like syntax), but not a Windows drive or a local path.
fn is_scp_like(s: &str) -> bool {
    match s.split_once(':') {
        Some((host, path)) => {
            !host.is_empty()
                && host.len() > 1
                && !host.contains('/')
                && !path.starts_with("//")
                && host.contains('@')
        }
        None => false,
    }
}

/// A project's code, ready to build: where it is and what to record about where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The project directory (the `#subdirectory` applied).
    pub work_dir: PathBuf,
    /// `mlflow.source.name`: the URI as given for a git source; `file://<repository>#<subdir>`
    /// for a directory in a git repository (as MLflow writes it); else the directory.
    pub source_name: String,
    /// `mlflow.source.git.commit`.
    pub commit: Option<String>,
    /// `mlflow.source.git.repoURL`: the URL fetched, or a local repository's first remote.
    pub repo_url: Option<String>,
    /// `mlflow.source.git.branch`: the branch `--version` named, if it named one (as MLflow).
    pub branch: Option<String>,
    /// Where cargo builds a fetched project (kept across commits of one repository, so a new
    /// commit rebuilds only what changed); `None` for a local directory (cargo's own choice).
    pub target_dir: Option<PathBuf>,
}

/// The project cache: `OXFLOW_PROJECT_CACHE`, else `$XDG_CACHE_HOME/oxflow/projects`, else
/// `~/.cache/oxflow/projects`.
pub fn cache_root() -> PathBuf {
    if let Some(d) = std::env::var_os("OXFLOW_PROJECT_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("oxflow").join("projects")
}

/// Runs git; its stderr (trimmed) is the error.
fn git<I, S>(dir: Option<&Path>, args: I) -> Result<String, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    // Never wait for a password on a terminal nobody watches; a URL that needs credentials
    // fails with git's message instead.
    cmd.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "")
        .stdin(std::process::Stdio::null());
    let out = cmd.output().map_err(|e| format!("cannot start git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(if err.is_empty() {
            format!("git exited with {}", out.status)
        } else {
            err
        })
    }
}

fn git_err(action: &str, url: &str) -> impl FnOnce(String) -> ProjectError {
    let (action, url) = (action.to_string(), url.to_string());
    move |stderr| ProjectError::Git {
        action,
        url,
        stderr,
    }
}

/// A URL without the credentials it may embed (`https://user:token@host/...`), as MLflow
/// records `mlflow.source.git.repoURL`.
pub(crate) fn strip_credentials(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if let Some((_, host)) = authority.rsplit_once('@') {
            let sep = if rest.contains('/') { "/" } else { "" };
            return format!("{scheme}://{host}{sep}{path}");
        }
    }
    url.to_string()
}

/// A short stable name for a URL in the cache: a readable tail plus an MD5 prefix.
fn cache_key(url: &str) -> String {
    let tail: String = url
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("repo")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let digest = format!("{:x}", md5::compute(url.as_bytes()));
    format!("{tail}-{}", &digest[..12])
}

/// Describes a local directory: its commit, remote and branch if it is in a git repository.
pub(super) fn local(dir: &Path, subdir: &str) -> Result<Fetched, ProjectError> {
    let work_dir = dir.join(subdir);
    if !work_dir.is_dir() {
        return Err(ProjectError::NoSubdirectory {
            uri: dir.display().to_string(),
            subdir: subdir.to_string(),
            commit: None,
        });
    }
    let toplevel = git(Some(&work_dir), ["rev-parse", "--show-toplevel"]).ok();
    let Some(toplevel) = toplevel.map(PathBuf::from) else {
        return Ok(Fetched {
            source_name: work_dir.display().to_string(),
            work_dir,
            commit: None,
            repo_url: None,
            branch: None,
            target_dir: None,
        });
    };
    let commit = git(Some(&work_dir), ["rev-parse", "HEAD"]).ok();
    let repo_url = git(Some(&work_dir), ["remote"])
        .ok()
        .and_then(|r| r.lines().next().map(str::to_string))
        .and_then(|name| git(Some(&work_dir), ["remote", "get-url", &name]).ok())
        .map(|u| strip_credentials(&u));
    // MLflow's `_get_git_url_if_present`: file://<repository>#<path inside it>.
    let canon_work = std::fs::canonicalize(&work_dir).unwrap_or(work_dir.clone());
    let rel = canon_work
        .strip_prefix(&toplevel)
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let source_name = if rel.is_empty() {
        format!("file://{}", toplevel.display())
    } else {
        format!("file://{}#{rel}", toplevel.display())
    };
    Ok(Fetched {
        work_dir,
        source_name,
        commit,
        repo_url,
        // MLflow records `mlflow.source.git.branch` only for a `--version` that names a
        // branch, and a run in place has no version.
        branch: None,
        target_dir: None,
    })
}

/// Fetches `url` into the cache and checks out `version` (a commit, branch or tag; the
/// remote's default branch when `None`) in a directory of its own keyed by the commit, reused
/// by every later run of that commit. `uri` is the URI as given, recorded as the source name.
pub(super) fn fetch(
    uri: &str,
    url: &str,
    subdir: &str,
    version: Option<&str>,
    cache: &Path,
) -> Result<Fetched, ProjectError> {
    let key = cache_key(url);
    let bare = cache.join("git").join(format!("{key}.git"));
    std::fs::create_dir_all(&bare).map_err(|source| ProjectError::Write {
        file: bare.clone(),
        source,
    })?;
    if !bare.join("HEAD").exists() {
        git(Some(&bare), ["init", "--quiet", "--bare"]).map_err(git_err("init", url))?;
    }
    // Every branch and tag, replacing what an earlier fetch saw (a force-pushed branch).
    git(
        Some(&bare),
        [
            "fetch",
            "--quiet",
            "--prune",
            "--force",
            "--tags",
            url,
            "+refs/heads/*:refs/heads/*",
        ],
    )
    .map_err(git_err("fetch", url))?;
    let rev = |r: &str| git(Some(&bare), ["rev-parse", "--verify", "--quiet", r]).ok();
    let (commit, branch) = match version {
        None => {
            let head = git(None, ["ls-remote", "--symref", url, "HEAD"])
                .map_err(git_err("ls-remote", url))?;
            let branch = head.lines().find_map(|l| {
                l.strip_prefix("ref: refs/heads/")
                    .and_then(|r| r.split_whitespace().next())
                    .map(str::to_string)
            });
            let branch = branch.ok_or_else(|| ProjectError::Git {
                action: "ls-remote".into(),
                url: url.to_string(),
                stderr: "the repository has no default branch; pass --version".into(),
            })?;
            let commit = rev(&format!("refs/heads/{branch}^{{commit}}")).ok_or_else(|| {
                ProjectError::VersionNotFound {
                    version: branch.clone(),
                    url: url.to_string(),
                }
            })?;
            // Checked out, but not recorded as the branch: MLflow sets the branch tag only for
            // a `--version` that names one.
            (commit, None)
        }
        Some(v) => {
            if v.starts_with('-') || v.trim().is_empty() {
                return Err(ProjectError::VersionNotFound {
                    version: v.to_string(),
                    url: url.to_string(),
                });
            }
            if let Some(c) = rev(&format!("refs/heads/{v}^{{commit}}")) {
                (c, Some(v.to_string()))
            } else if let Some(c) = rev(&format!("refs/tags/{v}^{{commit}}")) {
                (c, None)
            } else if v.len() >= 4 && v.chars().all(|c| c.is_ascii_hexdigit()) {
                let c = match rev(&format!("{v}^{{commit}}")) {
                    Some(c) => c,
                    None => {
                        // A commit no branch or tag reaches: ask the server for it by id.
                        let _ = git(Some(&bare), ["fetch", "--quiet", url, v]);
                        rev(&format!("{v}^{{commit}}")).ok_or_else(|| {
                            ProjectError::VersionNotFound {
                                version: v.to_string(),
                                url: url.to_string(),
                            }
                        })?
                    }
                };
                (c, None)
            } else {
                return Err(ProjectError::VersionNotFound {
                    version: v.to_string(),
                    url: url.to_string(),
                });
            }
        }
    };
    let checkouts = cache.join("checkouts").join(&key);
    let checkout = checkouts.join(&commit);
    if !checkout.join(".git").exists() {
        std::fs::create_dir_all(&checkouts).map_err(|source| ProjectError::Write {
            file: checkouts.clone(),
            source,
        })?;
        // Checked out beside its final place, then renamed: a run interrupted half-way, or two
        // runs at once, never leave a partial checkout where the next run would use it.
        let tmp = checkouts.join(format!(".tmp-{commit}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let tmp_s = tmp.display().to_string();
        let bare_s = bare.display().to_string();
        let result = (|| {
            git(
                None,
                [
                    "clone",
                    "--quiet",
                    "--shared",
                    "--no-checkout",
                    &bare_s,
                    &tmp_s,
                ],
            )
            .map_err(git_err("clone", url))?;
            git(Some(&tmp), ["checkout", "--quiet", "--detach", &commit])
                .map_err(git_err("checkout", url))?;
            git(Some(&tmp), ["remote", "set-url", "origin", url])
                .map_err(git_err("remote set-url", url))?;
            if tmp.join(".gitmodules").exists() {
                git(
                    Some(&tmp),
                    ["submodule", "update", "--init", "--recursive", "--quiet"],
                )
                .map_err(git_err("submodule update", url))?;
            }
            Ok::<(), ProjectError>(())
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        if std::fs::rename(&tmp, &checkout).is_err() {
            // Another run checked the same commit out first: use that one.
            let _ = std::fs::remove_dir_all(&tmp);
            if !checkout.join(".git").exists() {
                return Err(ProjectError::Write {
                    file: checkout,
                    source: std::io::Error::other("cannot move the checkout into the cache"),
                });
            }
        }
    }
    let work_dir = checkout.join(subdir);
    if !work_dir.is_dir() {
        return Err(ProjectError::NoSubdirectory {
            uri: url.to_string(),
            subdir: subdir.to_string(),
            commit: Some(commit),
        });
    }
    Ok(Fetched {
        work_dir,
        source_name: uri.to_string(),
        commit: Some(commit),
        repo_url: Some(strip_credentials(url)),
        branch,
        target_dir: Some(cache.join("target").join(&key)),
    })
}

/// Resolves a [`SourceSpec`]: a directory is described in place, unless `version` is given,
/// then its repository is fetched like any git URL (as `file://`), so the run uses exactly that
/// commit and not the working tree.
pub(super) fn resolve(
    uri: &str,
    spec: &SourceSpec,
    version: Option<&str>,
    cache: &Path,
) -> Result<Fetched, ProjectError> {
    match spec {
        SourceSpec::Git { url, subdir } => fetch(uri, url, subdir, version, cache),
        SourceSpec::Local { dir, subdir } => match version {
            None => local(dir, subdir),
            Some(v) => {
                let toplevel = git(Some(dir), ["rev-parse", "--show-toplevel"])
                    .map_err(|_| ProjectError::VersionNeedsGit { dir: dir.clone() })?;
                let toplevel = PathBuf::from(toplevel);
                let inner = dir
                    .strip_prefix(&toplevel)
                    .map(Path::to_path_buf)
                    .unwrap_or_default()
                    .join(subdir);
                let inner = inner
                    .display()
                    .to_string()
                    .trim_end_matches('/')
                    .to_string();
                let url = format!("file://{}", toplevel.display());
                let uri = if inner.is_empty() {
                    url.clone()
                } else {
                    format!("{url}#{inner}")
                };
                fetch(&uri, &url, &inner, Some(v), cache)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_split_into_url_and_subdirectory() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        assert_eq!(
            SourceSpec::parse(&d).unwrap(),
            SourceSpec::Local {
                dir: std::fs::canonicalize(dir.path()).unwrap(),
                subdir: String::new()
            }
        );
        assert_eq!(
            SourceSpec::parse("git@github.com:org/repo.git#a/b").unwrap(),
            SourceSpec::Git {
                url: "git@github.com:org/repo.git".into(),
                subdir: "a/b".into()
            }
        );
        assert!(matches!(
            SourceSpec::parse("/no/such/dir"),
            Err(ProjectError::NotASource { .. })
        ));
        assert!(matches!(
            SourceSpec::parse("file:///r#a/../../x"),
            Err(ProjectError::BadSubdirectory { .. })
        ));
    }

    #[test]
    fn credentials_never_reach_the_record() {
        assert_eq!(
            strip_credentials("https://user:tok@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(strip_credentials("file:///srv/r"), "file:///srv/r");
        assert_eq!(
            strip_credentials("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
    }

    #[test]
    fn cache_keys_are_readable_and_distinct() {
        let a = cache_key("https://github.com/o/wine.git");
        let b = cache_key("https://gitlab.com/o/wine.git");
        assert!(a.starts_with("wine-") && b.starts_with("wine-"));
        assert_ne!(a, b);
    }
}
