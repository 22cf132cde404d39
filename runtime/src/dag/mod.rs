//! The graph model that `#[dag]` and `#[task]` produce.
//!
//! `#[task]` describes one task as a constant [`TaskDef`]; `#[dag]` describes a whole pipeline
//! as a `static` [`DagDef`] whose nodes point at those task definitions, and registers it with
//! [`inventory`] so a binary can list every DAG it contains ([`registered`]). Both are computed
//! by the compiler; at run time [`DagDef::spec`] resolves option defaults and checks again what
//! `#[dag]` checks at compile time (unique task ids, params types), for a `DagDef` built by hand.
//!
//! ```
//! use oxflow_runtime::dag::TriggerRule;
//! assert_eq!("none_failed".parse::<TriggerRule>().unwrap(), TriggerRule::NoneFailed);
//! ```

mod render;
mod spec;

pub use crate::task::{
    BuildParams, ElementFn, InputParam, OutputCodec, ParamsDef, ParamsType, ProjectFn,
    ResolvedOptions, TaskDef, TaskOptions, TriggerRule, TriggerRuleParseError,
};
pub use render::{GraphFormat, GraphFormatParseError};
pub use spec::{
    BranchDef, ChooseFn, CollectFn, DEFAULT_MAX_MAP_LENGTH, DagAlerts, DagDef, DagError,
    DagRegistration, DagSpec, GroupDef, InputDef, MapDef, MapElementFn, MapLenFn, NodeDef,
    NodeFlow, NodeSpec, find, registered,
};
