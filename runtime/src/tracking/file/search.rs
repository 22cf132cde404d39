//! `search_runs` over a [`FileStore`]: MLflow's filter and ordering semantics, reading only the
//! files a filter needs until a run is known to match.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::{FileStore, Malformed, read_run_info, read_text};
use crate::tracking::TrackingError;
use crate::tracking::entities::{DatasetInput, RunInfo, RunRecord};
use crate::tracking::filter::{Attribute, Clause, Filter, OrderBy, Target};
use crate::tracking::fsutil;
use crate::tracking::matching::{SortValue, ViewType, cmp_num, cmp_sort, cmp_str};
use crate::tracking::validation::validate_key;

/// A run under evaluation; params, tags and metrics are read one file at a time, on demand.
struct Candidate<'s> {
    store: &'s FileStore,
    dir: PathBuf,
    /// Read only once the clauses on metrics, params and tags hold.
    info: Option<RunInfo>,
    metrics: HashMap<String, Option<f64>>,
    params: HashMap<String, Option<String>>,
    tags: HashMap<String, Option<String>>,
    /// Read on the first dataset clause.
    inputs: Option<Vec<DatasetInput>>,
}

/// A value file's text, `None` if absent; a file that cannot be read is a warning naming it.
fn read_opt(path: &Path) -> Option<String> {
    match fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        _ => {}
    }
    Malformed::Warn.handle(read_text(path)).ok().flatten()
}

impl Candidate<'_> {
    fn metric(&mut self, key: &str) -> Option<f64> {
        if let Some(v) = self.metrics.get(key) {
            return *v;
        }
        let v = if validate_key("metric", key).is_ok() {
            let path = self.dir.join("metrics").join(key);
            read_opt(&path).and_then(|text| latest_value(&path, &text))
        } else {
            None
        };
        self.metrics.insert(key.to_string(), v);
        v
    }

    fn kv(&mut self, sub: &str, key: &str) -> Option<String> {
        let cache = if sub == "params" {
            &mut self.params
        } else {
            &mut self.tags
        };
        if let Some(v) = cache.get(key) {
            return v.clone();
        }
        let v = if validate_key("tag", key).is_ok() {
            read_opt(&self.dir.join(sub).join(key))
        } else {
            None
        };
        cache.insert(key.to_string(), v.clone());
        v
    }

    fn inputs(&mut self) -> &[DatasetInput] {
        if self.inputs.is_none() {
            let read = self.store.read_inputs(&self.dir, Malformed::Warn);
            self.inputs = Some(read.unwrap_or_else(|e| {
                tracing::warn!("skipping dataset inputs that cannot be read: {e}");
                Vec::new()
            }));
        }
        self.inputs.as_deref().unwrap_or_default()
    }

    fn attr_str(&self, a: Attribute) -> Option<String> {
        let info = self.info.as_ref()?;
        Some(match a {
            Attribute::RunId => info.run_id.clone(),
            Attribute::RunName => info.run_name.clone(),
            Attribute::Status => info.status.to_string(),
            Attribute::UserId => info.user_id.clone(),
            Attribute::ArtifactUri => info.artifact_uri.clone(),
            Attribute::StartTime => return Some(info.start_time_ms.to_string()),
            Attribute::EndTime => return info.end_time_ms.map(|t| t.to_string()),
        })
    }

    fn attr_num(&self, a: Attribute) -> Option<f64> {
        let info = self.info.as_ref()?;
        match a {
            Attribute::StartTime => Some(info.start_time_ms as f64),
            Attribute::EndTime => info.end_time_ms.map(|t| t as f64),
            _ => None,
        }
    }

    fn matches(&mut self, c: &Clause) -> bool {
        match &c.target {
            Target::Metric(k) => {
                let k = k.clone();
                self.metric(&k).is_some_and(|v| cmp_num(v, c.op, &c.value))
            }
            Target::Attribute(a) if a.is_numeric() => self
                .attr_num(*a)
                .is_some_and(|v| cmp_num(v, c.op, &c.value)),
            Target::Attribute(a) => {
                let v = self.attr_str(*a);
                cmp_str(v.as_deref(), c.op, &c.value)
            }
            Target::Param(k) => {
                let v = self.kv("params", k);
                cmp_str(v.as_deref(), c.op, &c.value)
            }
            Target::Tag(k) => {
                let v = self.kv("tags", k);
                cmp_str(v.as_deref(), c.op, &c.value)
            }
            // A run matches when any of its dataset inputs does; `context` looks only at
            // inputs that have one (MLflow's `_does_run_match_clause`).
            Target::Dataset(field) => self.inputs().iter().any(|i| {
                let v = match field.as_str() {
                    "name" => Some(i.dataset.name.as_str()),
                    "digest" => Some(i.dataset.digest.as_str()),
                    _ => i.context(),
                };
                v.is_some_and(|v| cmp_str(Some(v), c.op, &c.value))
            }),
        }
    }

    fn sort_value(&mut self, t: &Target) -> SortValue {
        match t {
            Target::Metric(k) => SortValue::metric(self.metric(k)),
            Target::Attribute(a) if a.is_numeric() => {
                self.attr_num(*a).map_or(SortValue::Missing, SortValue::Num)
            }
            Target::Attribute(a) => self.attr_str(*a).map_or(SortValue::Missing, SortValue::Str),
            Target::Param(k) => self
                .kv("params", k)
                .map_or(SortValue::Missing, SortValue::Str),
            Target::Tag(k) => self
                .kv("tags", k)
                .map_or(SortValue::Missing, SortValue::Str),
            Target::Dataset(_) => SortValue::Missing,
        }
    }
}

/// The latest value in a metric file: greatest (step, timestamp, value).
/// A malformed line is a warning naming the file, and the metric counts as absent (as a listing
/// leaves it out).
fn latest_value(path: &Path, text: &str) -> Option<f64> {
    let mut best: Option<(i64, i64, f64)> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut f = line.split(' ');
        let parsed = match (f.next(), f.next()) {
            (Some(ts), Some(val)) => ts.parse::<i64>().ok().zip(fsutil::parse_python_float(val)),
            _ => None,
        };
        let step = match f.next().map(|s| s.parse::<i64>()) {
            None => Some(0),
            Some(r) => r.ok(),
        };
        let (Some((ts, val)), Some(step)) = (parsed, step) else {
            let e = TrackingError::corrupt(
                path,
                format!("line {}: `{line}` is not `timestamp value step`", i + 1),
            );
            tracing::warn!("skipping a value that cannot be read: {e}");
            return None;
        };
        let later = best.is_none_or(|(bs, bt, bv)| {
            (step, ts)
                .cmp(&(bs, bt))
                .then_with(|| val.total_cmp(&bv))
                .is_gt()
        });
        if later {
            best = Some((step, ts, val));
        }
    }
    best.map(|b| b.2)
}

/// Runs of these experiments matching an MLflow filter, in MLflow's order (see
/// [`Store::search_runs`](crate::tracking::Store::search_runs)).
pub(super) fn search_runs(
    store: &FileStore,
    experiment_ids: &[&str],
    filter: &str,
    order_by: &[&str],
    max_results: usize,
    view: ViewType,
) -> Result<Vec<RunRecord>, TrackingError> {
    let filter = Filter::parse(filter)?;
    let mut orders = order_by
        .iter()
        .map(|o| OrderBy::parse(o))
        .collect::<Result<Vec<_>, _>>()?;
    // MLflow's tie-breakers: newest first, then run id.
    orders.push(OrderBy {
        target: Target::Attribute(Attribute::StartTime),
        ascending: false,
    });
    orders.push(OrderBy {
        target: Target::Attribute(Attribute::RunId),
        ascending: true,
    });

    let (attr_clauses, file_clauses): (Vec<&Clause>, Vec<&Clause>) = filter
        .clauses
        .iter()
        .partition(|c| matches!(c.target, Target::Attribute(_)));
    let mut hits: Vec<(Vec<SortValue>, Candidate<'_>)> = Vec::new();
    for exp in experiment_ids {
        for (dir, name) in store.run_dir_entries(exp)? {
            let mut c = Candidate {
                store,
                dir,
                inputs: None,
                info: None,
                metrics: HashMap::new(),
                params: HashMap::new(),
                tags: HashMap::new(),
            };
            // Clauses on metrics, params and tags read one small file each; meta.yaml is
            // read and parsed only for runs that pass them.
            if !file_clauses.iter().all(|cl| c.matches(cl)) {
                continue;
            }
            let Some(info) = read_run_info(&c.dir, &name) else {
                continue;
            };
            let keep = match view {
                ViewType::ActiveOnly => !info.is_deleted(),
                ViewType::DeletedOnly => info.is_deleted(),
                ViewType::All => true,
            };
            if !keep {
                continue;
            }
            c.info = Some(info);
            if attr_clauses.iter().all(|cl| c.matches(cl)) {
                let key = orders.iter().map(|o| c.sort_value(&o.target)).collect();
                hits.push((key, c));
            }
        }
    }
    hits.sort_by(|(a, _), (b, _)| {
        a.iter()
            .zip(b)
            .zip(&orders)
            .map(|((x, y), o)| cmp_sort(x, y, o.ascending))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    hits.truncate(max_results);
    hits.into_iter()
        .filter_map(|(_, c)| c.info.map(|info| (c.dir, info)))
        .map(|(dir, info)| store.read_record(&dir, info, Malformed::Warn))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::tracking::{FileStore, RunOptions, RunRecord, RunStatus, TrackingStore, ViewType};

    #[test]
    fn filters_and_orders_like_mlflow() {
        let dir = tempfile::tempdir().unwrap();
        let s = TrackingStore::from(FileStore::open(dir.path()).unwrap());
        let exp = s.get_or_create_experiment("s").unwrap();
        let e = exp.experiment_id.as_str();
        let mut ids = Vec::new();
        for i in 0..6 {
            let r = s
                .create_run(
                    e,
                    RunOptions {
                        run_name: Some(format!("r{i}")),
                        start_time_ms: Some(1000 + i),
                        ..Default::default()
                    },
                )
                .unwrap();
            if i != 5 {
                s.log_metric(&r.run_id, "acc", i as f64 / 10.0, 1, 0)
                    .unwrap();
            }
            s.log_param(&r.run_id, "opt", if i % 2 == 0 { "adam" } else { "sgd" })
                .unwrap();
            if i < 3 {
                s.set_terminated(&r.run_id, RunStatus::Finished, 2000)
                    .unwrap();
            }
            ids.push(r.run_id);
        }
        let names = |hits: Vec<RunRecord>| {
            hits.into_iter()
                .map(|r| r.info.run_name)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(s.search_runs(&[e], "", &[], 100).unwrap()),
            ["r5", "r4", "r3", "r2", "r1", "r0"]
        );
        assert_eq!(
            names(
                s.search_runs(&[e], "params.opt = 'adam'", &["metrics.acc DESC"], 100)
                    .unwrap()
            ),
            ["r4", "r2", "r0"]
        );
        // Runs without the metric sort last, both ways.
        assert_eq!(
            names(s.search_runs(&[e], "", &["metrics.acc"], 2).unwrap()),
            ["r0", "r1"]
        );
        assert_eq!(
            names(s.search_runs(&[e], "", &["metrics.acc DESC"], 100).unwrap())[5],
            "r5"
        );
        assert_eq!(
            names(
                s.search_runs(&[e], "status = 'FINISHED' and metrics.acc >= 0.1", &[], 100)
                    .unwrap()
            ),
            ["r2", "r1"]
        );
        assert_eq!(
            names(
                s.search_runs(
                    &[e],
                    "run_name LIKE 'r%' and attributes.end_time > 0",
                    &[],
                    100
                )
                .unwrap()
            )
            .len(),
            3
        );
        assert_eq!(
            names(
                s.search_runs(&[e], "tags.mlflow.runName ILIKE 'R5'", &[], 100)
                    .unwrap()
            ),
            ["r5"]
        );
        assert_eq!(
            names(
                s.search_runs(
                    &[e],
                    "params.missing IS NULL and params.opt != 'sgd'",
                    &[],
                    100
                )
                .unwrap()
            )
            .len(),
            3
        );
        let f = format!("attributes.run_id IN ('{}', '{}')", ids[0], ids[3]);
        assert_eq!(
            names(s.search_runs(&[e], &f, &["params.opt"], 100).unwrap()),
            ["r0", "r3"]
        );
        s.delete_run(&ids[0]).unwrap();
        assert_eq!(
            names(
                s.search_runs_view(&[e], "", &[], 100, ViewType::DeletedOnly)
                    .unwrap()
            ),
            ["r0"]
        );
        let err = s
            .search_runs(&[e], "metrics.acc >> 1", &[], 100)
            .unwrap_err()
            .to_string();
        assert!(err.contains("position 13"), "{err}");
        assert!(s.search_runs(&[e], "", &[], 0).is_err());
    }
}
