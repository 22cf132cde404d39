//! The graph `#[dag]` generates ([`DagDef`], whose nodes point at the tasks' [`TaskDef`]s) and
//! the resolved, validated graph the executor runs ([`DagSpec`]).

use std::any::Any;
use std::collections::BTreeSet;

use crate::task::{
    ParamsDef, ProjectFn, ResolvedOptions, TaskDef, TaskOptions, TaskOutput, TriggerRule,
};

/// Where a node's input comes from.
#[derive(Clone, Copy, Debug)]
pub struct InputDef {
    /// Index of the upstream node in [`DagDef::nodes`].
    pub node: usize,
    /// The tuple element taken from the upstream output, if it is destructured.
    pub element: Option<usize>,
    /// Projects that element.
    pub project: Option<ProjectFn>,
}

/// One call of a task inside a `#[dag]` body.
#[derive(Clone, Copy, Debug)]
pub struct NodeDef {
    /// The node's id when the call sets one (`#[task_id = "..."]`); else the task's name.
    pub id: Option<&'static str>,
    /// The task called.
    pub task: &'static TaskDef,
    /// Upstream outputs, one per input parameter.
    pub inputs: &'static [InputDef],
    /// Order-only upstreams (`a >> b`).
    pub after: &'static [usize],
    /// Branching, mapping and grouping ([`NodeFlow::PLAIN`] for none of them).
    pub flow: NodeFlow,
}

/// What a node does beyond running its task once: choose a branch, follow one, map over a
/// list, join branches, belong to a task group.
#[derive(Clone, Copy, Debug)]
pub struct NodeFlow {
    /// The node's output is matched in the DAG body (`match route { .. }`): it chooses which
    /// arm runs.
    pub branch: Option<&'static BranchDef>,
    /// The node starts arm `.1` of the branch node `.0`: it is skipped when another arm is
    /// chosen.
    pub follows: Option<(usize, usize)>,
    /// The node runs one instance per element of a list (`task.expand(&list)`).
    pub map: Option<&'static MapDef>,
    /// The node is ordered after the value of a branch `match` (a join): unless its task sets a
    /// trigger rule, it gets `none_failed_min_one_success`.
    pub join: bool,
    /// The task group the node belongs to, an index into [`DagDef::groups`].
    pub group: Option<usize>,
}

impl NodeFlow {
    /// A node that runs its task once, outside any group.
    pub const PLAIN: NodeFlow = NodeFlow {
        branch: None,
        follows: None,
        map: None,
        join: false,
        group: None,
    };
}

/// Chooses an arm from a branch task's output.
pub type ChooseFn = fn(&(dyn Any + Send + Sync)) -> Option<usize>;

/// A branch: a task whose output a `match` in the DAG body takes apart.
#[derive(Debug)]
pub struct BranchDef {
    /// The index of the arm whose pattern the output matches (the DAG body's own `match`,
    /// compiled into the DAG); `None` if the output is not of the matched type.
    pub choose: ChooseFn,
    /// Each arm's pattern as written, such as `Route::Retrain`.
    pub arms: &'static [&'static str],
}

/// The number of elements of a mapped task's list.
pub type MapLenFn = fn(&(dyn Any + Send + Sync)) -> Option<usize>;
/// Element `k` of a mapped task's list.
pub type MapElementFn = crate::task::ElementFn;
/// The outputs of a mapped task's instances, in order, as the `Vec` its downstream reads.
pub type CollectFn = fn(Vec<TaskOutput>) -> Option<TaskOutput>;

/// A mapped task (`task.partial(..).expand(&list)`).
#[derive(Debug)]
pub struct MapDef {
    /// Which of the task's inputs receives one element per instance.
    pub input: usize,
    /// The length of the list.
    pub len: MapLenFn,
    /// One element of it.
    pub element: MapElementFn,
    /// Builds the `Vec` of outputs, when a downstream task reads it.
    pub collect: Option<CollectFn>,
}

/// A task group (`group!("features", { .. })`): a name for display and default options for its
/// tasks.
#[derive(Debug)]
pub struct GroupDef {
    /// The group id; its tasks' ids are prefixed with it (`features.clean`), as Airflow's
    /// `prefix_group_id` does.
    pub id: &'static str,
    /// The enclosing group, for a nested one.
    pub parent: Option<usize>,
    /// Options for the group's tasks, under each task's own and over the DAG's
    /// `default_args`.
    pub defaults: TaskOptions,
}

/// A pipeline, as `#[dag]` describes it: a `static` built by the compiler.
#[derive(Debug)]
pub struct DagDef {
    /// The DAG id: the function's name, or `#[dag(id = "...")]`.
    pub id: &'static str,
    /// What the pipeline does (`description = ...`, else the function's doc comment).
    pub description: &'static str,
    /// Cron expression or preset, validated at compile time; `None`: runs only by hand.
    pub schedule: Option<&'static str>,
    /// When and how the scheduler runs it: `start_date`, `catchup`, `max_active_runs`,
    /// `overlap`.
    pub scheduling: crate::schedule::ScheduleOptions,
    /// Tags, recorded on every run.
    pub tags: &'static [&'static str],
    /// How many tasks may run at once; `None` means no limit.
    pub max_active_tasks: Option<usize>,
    /// How long a DAG run may take (`dagrun_timeout = "1h"`): past it, running attempts are
    /// stopped, unfinished tasks end `skipped` and the run `failed`, as in Airflow.
    pub dagrun_timeout: Option<std::time::Duration>,
    /// Default task options (`default_args(...)`).
    pub defaults: TaskOptions,
    /// The params type, if the DAG takes params.
    pub params: Option<ParamsDef>,
    /// Every task call, in the body's order (which is a topological order).
    pub nodes: &'static [NodeDef],
    /// Task groups (`group!`), referred to by [`NodeFlow::group`].
    pub groups: &'static [GroupDef],
    /// The longest list a mapped task may expand over (`max_map_length = ...`); `None` means
    /// [`DEFAULT_MAX_MAP_LENGTH`].
    pub max_map_length: Option<usize>,
    /// This DAG's own alert thresholds (`alerts(...)`), over `oxflow monitor rules`' flags.
    pub alerts: DagAlerts,
    /// Source file of the definition.
    pub file: &'static str,
    /// Source line of the definition.
    pub line: u32,
}

/// A DAG's own alert thresholds, `#[dag(alerts(stale_after = "36h", max_retries = 5))]`;
/// what is unset takes the value `oxflow monitor rules` is given (`--stale-after-intervals`,
/// `--max-retries`).
///
/// They sit on the DAG because they belong to it: a nightly job may be late by a day where
/// an hourly one is stale after three hours, and a flaky extract may retry more than others.
///
/// ```
/// use std::time::Duration;
/// use oxflow_runtime::dag::DagAlerts;
/// let alerts = DagAlerts { stale_after: Some(Duration::from_secs(36 * 3600)), ..DagAlerts::NONE };
/// assert_eq!(alerts.max_retries, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DagAlerts {
    /// No successful run for this long alerts (`OxflowDagNotSucceeding`), instead of a
    /// multiple of the schedule's interval; also for a DAG without a schedule.
    pub stale_after: Option<std::time::Duration>,
    /// A task of this DAG retrying more often than this (in an hour, or in one pushed run)
    /// alerts (`OxflowTaskRetryingOften`).
    pub max_retries: Option<u32>,
}

impl DagAlerts {
    /// No thresholds of its own.
    pub const NONE: DagAlerts = DagAlerts {
        stale_after: None,
        max_retries: None,
    };
}

/// Airflow's `[core] max_map_length`: a mapped task over a longer list fails rather than start
/// that many instances.
pub const DEFAULT_MAX_MAP_LENGTH: usize = 1024;

/// How a `#[dag]` registers itself with [`inventory`]. Generated code submits one per DAG.
#[derive(Debug)]
pub struct DagRegistration(pub &'static DagDef);

inventory::collect!(DagRegistration);

/// Every DAG linked into this binary, sorted by id.
///
/// Registration works through [`inventory`], which needs the linker to keep the DAG's object
/// file: DAGs defined in the binary itself or in a library it calls into are always found; a
/// library crate nothing else refers to may be dropped by the linker.
pub fn registered() -> Vec<&'static DagDef> {
    let mut dags: Vec<_> = inventory::iter::<DagRegistration>().map(|r| r.0).collect();
    dags.sort_by_key(|d| d.id);
    dags
}

/// The registered DAG with this id, or an error that lists the valid ids.
pub fn find(id: &str) -> Result<&'static DagDef, DagError> {
    let dags = registered();
    dags.iter()
        .copied()
        .find(|d| d.id == id)
        .ok_or_else(|| DagError::UnknownDag {
            id: id.to_owned(),
            valid: dags.iter().map(|d| d.id.to_owned()).collect(),
        })
}

/// A graph the macros could not reject but that cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DagError {
    /// No DAG with that id is linked into the binary.
    #[error("no DAG `{id}`; this binary has: {}", if valid.is_empty() { "none".to_owned() } else { valid.join(", ") })]
    UnknownDag {
        /// The id asked for.
        id: String,
        /// Every registered id.
        valid: Vec<String>,
    },
    /// Two nodes share a task id (through `#[task(id = ...)]`).
    #[error(
        "DAG `{dag}` has two tasks with id `{id}`; give one of the calls its own id with `#[task_id = \"...\"]`"
    )]
    DuplicateTaskId {
        /// The DAG.
        dag: String,
        /// The repeated id.
        id: String,
    },
    /// A node refers to a node that does not come before it.
    #[error("DAG `{dag}`: task `{task}` depends on a task that is not defined before it")]
    BadEdge {
        /// The DAG.
        dag: String,
        /// The node whose edge is wrong.
        task: String,
    },
    /// A task takes `&Params<P>` with a `P` other than the DAG's params type.
    #[error("task `{task}` takes `Params<{task_params}>` but DAG `{dag}` has {}", match dag_params { Some(p) => format!("`params = {p}`"), None => "no params; add `params = ...` to `#[dag]`".to_owned() })]
    ParamsMismatch {
        /// The DAG.
        dag: String,
        /// The task.
        task: String,
        /// The params type the task takes.
        task_params: String,
        /// The DAG's params type.
        dag_params: Option<String>,
    },
}

/// One node of a resolved graph.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// The task id, unique in the DAG.
    pub id: String,
    /// The task's definition.
    pub task: &'static TaskDef,
    /// Options after the DAG's defaults and oxflow's are applied.
    pub options: ResolvedOptions,
    /// Upstream outputs, one per input parameter.
    pub inputs: Vec<InputDef>,
    /// Every upstream node (data and order edges), without repeats.
    pub upstream: Vec<usize>,
    /// Every downstream node.
    pub downstream: Vec<usize>,
    /// Branching, mapping and grouping.
    pub flow: NodeFlow,
}

/// A validated graph, ready for the executor.
///
/// ```
/// # use oxflow_runtime::dag;
/// for def in dag::registered() {
///     let spec = def.spec().unwrap();
///     assert_eq!(spec.nodes.len(), def.nodes.len());
/// }
/// ```
#[derive(Debug, Clone)]
pub struct DagSpec {
    /// The definition this was resolved from.
    pub def: &'static DagDef,
    /// The nodes, in the body's order (a topological order).
    /// Shared, so a spec is cheap to clone (the executor hands one to its own task).
    pub nodes: std::sync::Arc<[NodeSpec]>,
}

impl DagDef {
    /// Resolves options and checks what the macros could not: unique ids, edge order, params.
    pub fn spec(&'static self) -> Result<DagSpec, DagError> {
        let mut seen = BTreeSet::new();
        let mut nodes: Vec<NodeSpec> = Vec::with_capacity(self.nodes.len());
        for (i, node) in self.nodes.iter().enumerate() {
            let id = format!(
                "{}{}",
                self.group_prefix(node.flow.group),
                node.id.unwrap_or(node.task.name)
            );
            if !seen.insert(id.clone()) {
                return Err(DagError::DuplicateTaskId {
                    dag: self.id.into(),
                    id,
                });
            }
            let mut upstream: Vec<usize> = node.inputs.iter().map(|i| i.node).collect();
            upstream.extend(node.after.iter().copied());
            upstream.sort_unstable();
            upstream.dedup();
            if upstream.iter().any(|&u| u >= i) {
                return Err(DagError::BadEdge {
                    dag: self.id.into(),
                    task: id,
                });
            }
            if let Some((task_type, task_params)) = node.task.params_type {
                let matches = self.params.is_some_and(|p| (p.type_id)() == task_type());
                if !matches {
                    return Err(DagError::ParamsMismatch {
                        dag: self.id.into(),
                        task: id,
                        task_params: task_params.into(),
                        dag_params: self.params.map(|p| (p.type_name)().to_owned()),
                    });
                }
            }
            nodes.push(NodeSpec {
                id,
                task: node.task,
                options: self.options_of(node),
                inputs: node.inputs.to_vec(),
                upstream,
                downstream: Vec::new(),
                flow: node.flow,
            });
        }
        for i in 0..nodes.len() {
            for u in nodes[i].upstream.clone() {
                nodes[u].downstream.push(i);
            }
        }
        Ok(DagSpec {
            def: self,
            nodes: nodes.into(),
        })
    }
}

impl DagDef {
    /// `outer.inner.` for a node in group `inner` nested in `outer`; empty outside groups.
    ///
    /// ```
    /// use oxflow_runtime::dag::{DagAlerts, DagDef, GroupDef, TaskOptions};
    /// use oxflow_runtime::schedule::ScheduleOptions;
    /// static GROUPS: [GroupDef; 2] = [
    ///     GroupDef { id: "features", parent: None, defaults: TaskOptions::EMPTY },
    ///     GroupDef { id: "text", parent: Some(0), defaults: TaskOptions::EMPTY },
    /// ];
    /// static DAG: DagDef = DagDef {
    ///     id: "d", description: "", schedule: None, scheduling: ScheduleOptions::DEFAULT,
    ///     tags: &[], max_active_tasks: None,
    ///     dagrun_timeout: None, defaults: TaskOptions::EMPTY, params: None, nodes: &[],
    ///     groups: &GROUPS, max_map_length: None, alerts: DagAlerts::NONE, file: "", line: 0,
    /// };
    /// assert_eq!(DAG.group_prefix(Some(1)), "features.text.");
    /// assert_eq!(DAG.group_prefix(None), "");
    /// ```
    pub fn group_prefix(&self, group: Option<usize>) -> String {
        let mut names = Vec::new();
        let mut g = group;
        while let Some(i) = g {
            let Some(def) = self.groups.get(i) else { break };
            names.push(def.id);
            g = def.parent;
        }
        names.iter().rev().map(|n| format!("{n}.")).collect()
    }

    /// A node's options: the task's own, then (for a join) `none_failed_min_one_success`, then
    /// its groups' defaults from the innermost out, then the DAG's `default_args`.
    fn options_of(&self, node: &NodeDef) -> ResolvedOptions {
        let mut options = node.task.options;
        // A join runs after whichever arm ran: under `all_success` the arm not chosen, always
        // skipped, would skip it too. Airflow's docs tell every user to set this rule on the
        // join by hand; oxflow knows which task is one.
        if node.flow.join && options.trigger.is_none() {
            options.trigger = Some(TriggerRule::NoneFailedMinOneSuccess);
        }
        let mut g = node.flow.group;
        while let Some(i) = g {
            let Some(def) = self.groups.get(i) else { break };
            options = options.or(def.defaults);
            g = def.parent;
        }
        options.or(self.defaults).resolve()
    }

    /// The longest list a mapped task of this DAG may expand over.
    pub fn max_map_length(&self) -> usize {
        self.max_map_length.unwrap_or(DEFAULT_MAX_MAP_LENGTH)
    }
}

impl DagSpec {
    /// The node with this task id.
    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    /// Every node downstream of `roots`, the roots included, in topological order.
    pub fn downstream_closure(&self, roots: &[usize]) -> Vec<usize> {
        let mut marked = vec![false; self.nodes.len()];
        for &r in roots {
            marked[r] = true;
        }
        // Nodes are in topological order, so one forward sweep reaches every descendant.
        for i in 0..self.nodes.len() {
            if marked[i] {
                for &d in &self.nodes[i].downstream {
                    marked[d] = true;
                }
            }
        }
        (0..self.nodes.len()).filter(|&i| marked[i]).collect()
    }
}
