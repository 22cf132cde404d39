//! What Prometheus needs to watch oxflow: alert rules for the registered DAGs, and their unit
//! tests for `promtool test rules`.
//!
//! Rule files are built from typed structures ([`rules::RuleFile`]) and written as YAML, so
//! every expression names only metrics oxflow exports ([`crate::telemetry`]).

pub mod rules;
