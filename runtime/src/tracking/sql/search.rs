//! `search_runs` in SQL: MLflow's filter clauses become conditions on `runs` and `EXISTS`
//! lookups in `latest_metrics`, `params`, `tags` and the dataset inputs; ordering (values, then
//! NaN, then missing values in both directions, then newest first, then run id) is MLflow's;
//! the matching runs' params, tags, latest metrics and inputs are then loaded in bulk queries.

use std::collections::{BTreeMap, HashMap};

use rusqlite::types::Value as SqlValue;

use super::SqlStore;
use super::runs::{RUN_COLUMNS, latest_metric, parse_experiment_id, run_info};
use crate::tracking::entities::RunRecord;
use crate::tracking::filter::{Attribute, Clause, CompareOp, Filter, OrderBy, Target, Value};
use crate::tracking::matching::{ViewType, check_max_results};
use crate::tracking::{TAG_DATASET_CONTEXT, TrackingError};

/// SQL text with its parameters.
#[derive(Default)]
struct Sql {
    text: String,
    args: Vec<SqlValue>,
}

impl Sql {
    fn arg(&mut self, v: impl Into<SqlValue>) -> String {
        self.args.push(v.into());
        format!("?{}", self.args.len())
    }
}

fn attr_column(a: Attribute) -> &'static str {
    match a {
        Attribute::RunId => "r.run_uuid",
        Attribute::RunName => "r.name",
        Attribute::Status => "r.status",
        Attribute::UserId => "r.user_id",
        Attribute::ArtifactUri => "r.artifact_uri",
        Attribute::StartTime => "r.start_time",
        Attribute::EndTime => "r.end_time",
    }
}

fn num_op(op: CompareOp) -> Option<&'static str> {
    Some(match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "!=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        _ => return None,
    })
}

/// A condition on a string value `v` (an SQL expression that is never NULL where it is
/// tested), with the file store's semantics for the operator and value.
fn str_cond(sql: &mut Sql, v: &str, op: CompareOp, rhs: &Value) -> String {
    match (op, rhs) {
        (CompareOp::In | CompareOp::NotIn, Value::List(l)) => {
            let items: Vec<String> = l.iter().map(|x| sql.arg(x.clone())).collect();
            let not = if op == CompareOp::NotIn { "NOT " } else { "" };
            if items.is_empty() {
                // `x IN ()` is false, `x NOT IN ()` true.
                return if op == CompareOp::In { "0" } else { "1" }.into();
            }
            format!("{v} {not}IN ({})", items.join(", "))
        }
        (CompareOp::Eq, Value::Str(s)) => format!("{v} = {}", sql.arg(s.clone())),
        (CompareOp::Ne, Value::Str(s)) => format!("{v} != {}", sql.arg(s.clone())),
        (CompareOp::Like, Value::Str(s)) => format!("oxflow_like({}, {v}, 0)", sql.arg(s.clone())),
        (CompareOp::ILike, Value::Str(s)) => format!("oxflow_like({}, {v}, 1)", sql.arg(s.clone())),
        _ => "0".into(),
    }
}

/// Where a filter clause goes in the query.
enum Part {
    /// A condition in `WHERE`.
    Cond(String),
    /// An inner join on a table that holds at most one row per run and key (`latest_metrics`,
    /// `params` and `tags` have the primary key `(key, run_uuid)`), so it keeps the same runs
    /// as an `EXISTS` condition would; but SQLite can start from the key's index instead of
    /// testing every run of the table. Search over 1,000 runs with a metric and a param
    /// clause: 0.73 ms as joins, 1.03 ms as `EXISTS`.
    Join(String),
}

/// One filter clause on run `r`; `n` numbers the clause, for a join's alias.
fn clause_sql(sql: &mut Sql, c: &Clause, n: usize) -> Part {
    match &c.target {
        Target::Metric(k) => {
            let (Some(op), Value::Number(x)) = (num_op(c.op), &c.value) else {
                return Part::Cond("0".into());
            };
            let m = format!("j{n}");
            let key = sql.arg(k.clone());
            let x = sql.arg(*x);
            // A NaN latest value differs from every number and compares false otherwise.
            let cond = if c.op == CompareOp::Ne {
                format!("({m}.is_nan = 1 OR {m}.value != {x})")
            } else {
                format!("{m}.is_nan = 0 AND {m}.value {op} {x}")
            };
            Part::Join(format!(
                "JOIN latest_metrics {m} ON {m}.run_uuid = r.run_uuid AND {m}.key = {key} AND {cond}"
            ))
        }
        Target::Attribute(a) if a.is_numeric() => {
            let (Some(op), Value::Number(x)) = (num_op(c.op), &c.value) else {
                return Part::Cond("0".into());
            };
            Part::Cond(format!("{} {op} {}", attr_column(*a), sql.arg(*x)))
        }
        Target::Attribute(a) => {
            let col = attr_column(*a);
            Part::Cond(match c.op {
                CompareOp::IsNull => format!("{col} IS NULL"),
                CompareOp::IsNotNull => format!("{col} IS NOT NULL"),
                op => format!(
                    "({col} IS NOT NULL AND {})",
                    str_cond(sql, col, op, &c.value)
                ),
            })
        }
        Target::Param(k) | Target::Tag(k) => {
            let table = if matches!(c.target, Target::Param(_)) {
                "params"
            } else {
                "tags"
            };
            let key = sql.arg(k.clone());
            if c.op == CompareOp::IsNull {
                return Part::Cond(format!(
                    "NOT EXISTS (SELECT 1 FROM {table} p WHERE p.run_uuid = r.run_uuid \
                     AND p.key = {key})"
                ));
            }
            let p = format!("j{n}");
            let on = format!("{p}.run_uuid = r.run_uuid AND {p}.key = {key}");
            Part::Join(match c.op {
                CompareOp::IsNotNull => format!("JOIN {table} {p} ON {on}"),
                op => {
                    let cond = str_cond(sql, &format!("{p}.value"), op, &c.value);
                    format!("JOIN {table} {p} ON {on} AND {p}.value IS NOT NULL AND {cond}")
                }
            })
        }
        // A run matches when any of its dataset inputs does; `context` looks only at inputs
        // that have one (MLflow's `_get_sqlalchemy_filter_clauses` joins `input_tags` on it).
        Target::Dataset(field) => {
            let base = "SELECT 1 FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id";
            let run = "i.source_type = 'DATASET' AND i.destination_type = 'RUN' \
                       AND i.destination_id = r.run_uuid";
            Part::Cond(match field.as_str() {
                "context" => {
                    let key = sql.arg(TAG_DATASET_CONTEXT.to_string());
                    let cond = str_cond(sql, "t.value", c.op, &c.value);
                    format!(
                        "EXISTS ({base} JOIN input_tags t ON t.input_uuid = i.input_uuid \
                         AND t.name = {key} WHERE {run} AND {cond})"
                    )
                }
                "digest" => {
                    let cond = str_cond(sql, "d.digest", c.op, &c.value);
                    format!("EXISTS ({base} WHERE {run} AND {cond})")
                }
                _ => {
                    let cond = str_cond(sql, "d.name", c.op, &c.value);
                    format!("EXISTS ({base} WHERE {run} AND {cond})")
                }
            })
        }
    }
}

/// The sort expressions of an order-by target: a rank (0 a value, 1 NaN, 2 missing: MLflow's
/// `CASE` in `_get_orderby_clauses`, the same in both directions) and the value.
fn sort_exprs(sql: &mut Sql, t: &Target) -> (String, String) {
    let value = match t {
        Target::Metric(k) => {
            let key = sql.arg(k.clone());
            let from =
                format!("FROM latest_metrics m WHERE m.run_uuid = r.run_uuid AND m.key = {key}");
            // NaN is stored as value 0 with is_nan = 1: its rank sets it apart.
            return (
                format!("COALESCE((SELECT m.is_nan != 0 {from}), 2)"),
                format!("(SELECT m.value {from})"),
            );
        }
        Target::Attribute(a) => attr_column(*a).to_string(),
        Target::Param(k) => format!(
            "(SELECT p.value FROM params p WHERE p.run_uuid = r.run_uuid AND p.key = {})",
            sql.arg(k.clone())
        ),
        Target::Tag(k) => format!(
            "(SELECT p.value FROM tags p WHERE p.run_uuid = r.run_uuid AND p.key = {})",
            sql.arg(k.clone())
        ),
        // `OrderBy::parse` refuses dataset keys, as MLflow does.
        Target::Dataset(_) => "NULL".into(),
    };
    (format!("(({value}) IS NULL) * 2"), value)
}

impl SqlStore {
    pub(super) fn search_runs_impl(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        order_by: &[&str],
        max_results: usize,
        view: ViewType,
    ) -> Result<Vec<RunRecord>, TrackingError> {
        check_max_results(max_results)?;
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
        let c = self.db().lock();
        let err = |e| self.db().map_err("search runs", e);

        let mut ids = Vec::with_capacity(experiment_ids.len());
        for e in experiment_ids {
            let not_found = || TrackingError::ExperimentNotFound {
                experiment: e.to_string(),
            };
            let id = parse_experiment_id(e).ok_or_else(not_found)?;
            let exists: bool = c
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM experiments WHERE experiment_id = ?1)",
                )
                .and_then(|mut st| st.query_row([id], |r| r.get(0)))
                .map_err(err)?;
            if !exists {
                return Err(not_found());
            }
            ids.push(id);
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }

        let mut sql = Sql::default();
        let exp_list: Vec<String> = ids.iter().map(|id| sql.arg(*id)).collect();
        let mut conds = vec![format!("r.experiment_id IN ({})", exp_list.join(", "))];
        match view {
            ViewType::ActiveOnly => conds.push("r.lifecycle_stage = 'active'".into()),
            ViewType::DeletedOnly => conds.push("r.lifecycle_stage = 'deleted'".into()),
            ViewType::All => {}
        }
        let mut joins = Vec::new();
        for (n, clause) in filter.clauses.iter().enumerate() {
            match clause_sql(&mut sql, clause, n) {
                Part::Cond(c) => conds.push(c),
                Part::Join(j) => joins.push(j),
            }
        }
        let mut order_sql = Vec::new();
        for o in &orders {
            let (rank, e) = sort_exprs(&mut sql, &o.target);
            let dir = if o.ascending { "ASC" } else { "DESC" };
            order_sql.push(format!("{rank}, {e} {dir}"));
        }
        let limit = sql.arg(max_results as i64);
        sql.text = format!(
            "SELECT {RUN_COLUMNS} FROM runs r {} WHERE {} ORDER BY {} LIMIT {limit}",
            joins.join(" "),
            conds.join(" AND "),
            order_sql.join(", ")
        );
        let mut st = c.prepare(&sql.text).map_err(err)?;
        let infos: Vec<_> = st
            .query_map(rusqlite::params_from_iter(sql.args.iter()), |r| {
                run_info(r, 0)
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(err)?;
        if infos.is_empty() {
            return Ok(Vec::new());
        }

        // Params, tags and latest metrics of every hit, three queries in all.
        let json = serde_json::to_string(&infos.iter().map(|i| &i.run_id).collect::<Vec<_>>())
            .unwrap_or_default();
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(infos.len());
        for (i, info) in infos.iter().enumerate() {
            index.insert(&info.run_id, i);
        }
        let mut params: Vec<BTreeMap<String, String>> = vec![BTreeMap::new(); infos.len()];
        let mut tags: Vec<BTreeMap<String, String>> = vec![BTreeMap::new(); infos.len()];
        let mut metrics = vec![BTreeMap::new(); infos.len()];
        let ids: Vec<&str> = infos.iter().map(|i| i.run_id.as_str()).collect();
        let mut inputs = super::inputs::load_inputs(self, &c, &ids)?;
        for (table, out) in [("params", &mut params), ("tags", &mut tags)] {
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT run_uuid, key, value FROM {table} \
                     WHERE run_uuid IN (SELECT value FROM json_each(?1))"
                ))
                .map_err(err)?;
            let mut rows = st.query([&json]).map_err(err)?;
            while let Some(row) = rows.next().map_err(err)? {
                let run = row.get_ref(0).and_then(|v| Ok(v.as_str()?)).map_err(err)?;
                if let Some(&i) = index.get(run) {
                    let v: Option<String> = row.get(2).map_err(err)?;
                    out[i].insert(row.get(1).map_err(err)?, v.unwrap_or_default());
                }
            }
        }
        let mut st = c
            .prepare_cached(
                "SELECT key, value, timestamp, step, is_nan, run_uuid FROM latest_metrics \
                 WHERE run_uuid IN (SELECT value FROM json_each(?1))",
            )
            .map_err(err)?;
        let mut rows = st.query([&json]).map_err(err)?;
        while let Some(row) = rows.next().map_err(err)? {
            let run = row.get_ref(5).and_then(|v| Ok(v.as_str()?)).map_err(err)?;
            if let Some(&i) = index.get(run) {
                let m = latest_metric(row).map_err(err)?;
                metrics[i].insert(m.key.clone(), m);
            }
        }
        drop(rows);
        drop(st);
        Ok(infos
            .into_iter()
            .zip(params)
            .zip(tags)
            .zip(metrics)
            .map(|(((info, params), tags), metrics)| RunRecord {
                inputs: inputs.remove(&info.run_id).unwrap_or_default(),
                info,
                params,
                metrics,
                tags,
            })
            .collect())
    }
}
