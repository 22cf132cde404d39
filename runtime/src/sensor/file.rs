//! `FileSensor`: a path, or a glob pattern, has appeared.

use std::path::{Path, PathBuf};

use super::{Poke, SensorError};
use crate::task::TaskContext;

/// Ready once a file matches: a path, or a glob pattern (`*`, `?`, `[..]`, and `**` for any
/// number of directories), as Airflow's `FileSensor` with its `filepath` as a glob. A match
/// counts when it is a file, or a directory with something in it; the ready value is every
/// such match, sorted.
///
/// ```
/// use oxflow_runtime::exec::TaskContext;
/// use oxflow_runtime::sensor::{FileSensor, Poke};
/// let dir = tempfile::tempdir()?;
/// let ctx = TaskContext::for_test("etl", "landed");
/// let sensor = FileSensor::glob(format!("{}/*.csv", dir.path().display()));
/// assert_eq!(sensor.poke(&ctx)?, Poke::NotReady);
/// std::fs::write(dir.path().join("rows.csv"), "a,b\n")?;
/// assert_eq!(sensor.poke(&ctx)?, Poke::Ready(vec![dir.path().join("rows.csv")]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct FileSensor {
    pattern: String,
    /// Read as a glob pattern, or as a path as it is.
    glob: bool,
}

impl FileSensor {
    /// Waits for `path` itself (no pattern characters are interpreted).
    ///
    /// ```
    /// let sensor = oxflow_runtime::sensor::FileSensor::path("/data/in/_SUCCESS");
    /// assert_eq!(sensor.pattern(), "/data/in/_SUCCESS");
    /// ```
    pub fn path(path: impl AsRef<Path>) -> FileSensor {
        FileSensor {
            pattern: path.as_ref().to_string_lossy().into_owned(),
            glob: false,
        }
    }

    /// Waits for a match of the glob `pattern`, such as `/data/in/*.csv` or `/data/**/part-*`.
    ///
    /// ```
    /// let sensor = oxflow_runtime::sensor::FileSensor::glob("/data/in/*.csv");
    /// assert_eq!(sensor.pattern(), "/data/in/*.csv");
    /// ```
    pub fn glob(pattern: impl Into<String>) -> FileSensor {
        FileSensor {
            pattern: pattern.into(),
            glob: true,
        }
    }

    /// The path or pattern waited for.
    ///
    /// ```
    /// assert_eq!(oxflow_runtime::sensor::FileSensor::glob("*.csv").pattern(), "*.csv");
    /// ```
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Looks once: `Ready` with the matches, or `NotReady`. An error only for a pattern that
    /// does not parse (a directory that cannot be read is "not there yet").
    ///
    /// ```
    /// use oxflow_runtime::exec::TaskContext;
    /// use oxflow_runtime::sensor::FileSensor;
    /// let ctx = TaskContext::for_test("etl", "landed");
    /// let err = FileSensor::glob("/data/[oops").poke(&ctx).unwrap_err();
    /// assert!(err.to_string().contains("`/data/[oops` is not a valid glob pattern"));
    /// ```
    pub fn poke(&self, ctx: &TaskContext) -> Result<Poke<Vec<PathBuf>>, SensorError> {
        let mut found: Vec<PathBuf> = if self.glob {
            let paths = glob::glob(&self.pattern).map_err(|source| SensorError::Pattern {
                pattern: self.pattern.clone(),
                source,
            })?;
            paths.filter_map(Result::ok).filter(|p| counts(p)).collect()
        } else {
            let p = PathBuf::from(&self.pattern);
            if counts(&p) { vec![p] } else { Vec::new() }
        };
        found.sort();
        tracing::debug!(
            "{}: {} match(es) of `{}`",
            ctx.task_id(),
            found.len(),
            self.pattern
        );
        Ok(Poke::when(!found.is_empty(), found))
    }
}

/// A file, or a directory holding something, as Airflow's `FileSensor` counts them.
fn counts(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_some()),
        Ok(_) => true,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_directory_does_not_count_and_a_full_one_does() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = TaskContext::for_test("d", "t");
        let sensor = FileSensor::path(dir.path().join("out"));
        assert_eq!(sensor.poke(&ctx).unwrap(), Poke::NotReady);
        std::fs::create_dir(dir.path().join("out")).unwrap();
        assert_eq!(sensor.poke(&ctx).unwrap(), Poke::NotReady);
        std::fs::write(dir.path().join("out/part-0"), "x").unwrap();
        assert_eq!(
            sensor.poke(&ctx).unwrap(),
            Poke::Ready(vec![dir.path().join("out")])
        );
    }

    #[test]
    fn a_path_is_taken_as_it_is_and_a_glob_recurses_with_two_stars() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = TaskContext::for_test("d", "t");
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/x[1].csv"), "x").unwrap();
        let literal = FileSensor::path(dir.path().join("a/b/x[1].csv"));
        assert!(literal.poke(&ctx).unwrap().is_ready());
        let deep = FileSensor::glob(format!("{}/**/*.csv", dir.path().display()));
        assert_eq!(
            deep.poke(&ctx).unwrap(),
            Poke::Ready(vec![dir.path().join("a/b/x[1].csv")])
        );
    }
}
