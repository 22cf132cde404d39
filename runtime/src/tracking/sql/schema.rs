//! MLflow's SQLite schema, as MLflow 3.17.2 creates it (dumped by `regenerate_schema.py`), and
//! the check of an existing database's schema revision.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::tracking::TrackingError;

/// The DDL of an empty MLflow database: tables, indexes and the trigger, in creation order.
pub(super) const SCHEMA_SQL: &str = include_str!("schema.sql");
/// `head <rev>` (what oxflow writes) and `older <rev>` lines.
const REVISIONS: &str = include_str!("revisions.txt");

/// Lets oxflow write a database whose revision it does not know.
pub(super) const ALLOW_UNKNOWN_REVISION_ENV: &str = "OXFLOW_SQLITE_ALLOW_UNKNOWN_REVISION";

/// The tables oxflow reads and writes; a database without them is not MLflow's.
const CORE_TABLES: [&str; 12] = [
    "alembic_version",
    "experiments",
    "experiment_tags",
    "runs",
    "params",
    "tags",
    "metrics",
    "latest_metrics",
    "registered_models",
    "model_versions",
    "registered_model_tags",
    "model_version_tags",
];

/// The schema revision oxflow writes (MLflow's alembic head).
pub(super) fn head_revision() -> &'static str {
    revisions("head")
        .next()
        .expect("revisions.txt names a head")
}

fn revisions(kind: &'static str) -> impl Iterator<Item = &'static str> {
    REVISIONS
        .lines()
        .filter_map(move |l| l.strip_prefix(kind)?.strip_prefix(' '))
        .map(str::trim)
}

/// Creates MLflow's schema in an empty database (inside the caller's transaction), with the
/// rows MLflow itself inserts: the alembic revision, the `default` workspace and experiment 0.
pub(super) fn create(c: &Connection, artifact_root: &Path) -> rusqlite::Result<()> {
    c.execute_batch(SCHEMA_SQL)?;
    c.execute(
        "INSERT INTO alembic_version (version_num) VALUES (?1)",
        [head_revision()],
    )?;
    c.execute(
        "INSERT INTO workspaces (name, description, default_artifact_root) \
         VALUES ('default', 'Default workspace for legacy resources', NULL)",
        [],
    )?;
    let now = crate::tracking::now_ms();
    c.execute(
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, \
         creation_time, last_update_time, workspace) \
         VALUES (0, 'Default', ?1, 'active', ?2, ?2, 'default')",
        params![artifact_root.join("0").display().to_string(), now],
    )?;
    Ok(())
}

/// Why an existing database cannot be used.
pub(super) enum CheckError {
    Sql(rusqlite::Error),
    Tracking(TrackingError),
}

impl From<rusqlite::Error> for CheckError {
    fn from(e: rusqlite::Error) -> Self {
        CheckError::Sql(e)
    }
}

/// Checks that the database is MLflow's, at the revision oxflow writes (or an unknown one the
/// user allowed with `OXFLOW_SQLITE_ALLOW_UNKNOWN_REVISION=1`).
pub(super) fn check(c: &Connection, path: &Path) -> Result<(), CheckError> {
    let mut stmt = c.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let tables: std::collections::HashSet<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let missing: Vec<&str> = CORE_TABLES
        .iter()
        .copied()
        .filter(|t| !tables.contains(*t))
        .collect();
    if !missing.is_empty() {
        return Err(CheckError::Tracking(TrackingError::ForeignDatabase {
            path: path.to_path_buf(),
            missing: format!("table(s) {}", missing.join(", ")),
        }));
    }
    let found: Option<String> = c
        .query_row("SELECT version_num FROM alembic_version", [], |r| r.get(0))
        .optional()?;
    let found = found.unwrap_or_default();
    let head = head_revision();
    let uri = format!("sqlite:///{}", path.display());
    if found == head {
        return Ok(());
    }
    if revisions("older").any(|r| r == found) {
        return Err(CheckError::Tracking(TrackingError::SchemaRevision {
            path: path.to_path_buf(),
            found,
            expected: head,
            hint: format!(
                "the database was made by an older MLflow; back it up, then run \
                 `mlflow db upgrade {uri}` (with MLflow 3.17.2)"
            ),
        }));
    }
    if std::env::var(ALLOW_UNKNOWN_REVISION_ENV).is_ok_and(|v| v.trim() == "1") {
        tracing::warn!(path = %path.display(), found, expected = head, "writing to an MLflow database of an unknown schema revision ({ALLOW_UNKNOWN_REVISION_ENV}=1)");
        return Ok(());
    }
    Err(CheckError::Tracking(TrackingError::SchemaRevision {
        path: path.to_path_buf(),
        found,
        expected: head,
        hint: format!(
            "the revision is unknown to oxflow (a newer MLflow made the database?); writing \
             could break it for MLflow. Use an MLflow release whose schema matches, or set \
             {ALLOW_UNKNOWN_REVISION_ENV}=1 to write anyway"
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_name_mlflow_head_and_older_ones() {
        assert_eq!(head_revision(), "dc11669786a5");
        assert!(revisions("older").any(|r| r == "75868b020152"));
        assert!(!revisions("older").any(|r| r == head_revision()));
    }

    #[test]
    fn the_schema_has_mlflow_s_tables_indexes_and_trigger() {
        let c = Connection::open_in_memory().unwrap();
        create(&c, Path::new("/tmp/mlruns")).unwrap();
        let count = |ty: &str| -> i64 {
            c.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = ?1 AND name NOT LIKE 'sqlite_autoindex_%'",
                [ty],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(count("table"), 65);
        assert_eq!(count("index"), 84);
        assert_eq!(count("trigger"), 1);
        let loc: String = c
            .query_row(
                "SELECT artifact_location FROM experiments WHERE experiment_id = 0",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(loc, "/tmp/mlruns/0");
        check(&c, Path::new("x.db")).ok().unwrap();
    }
}
