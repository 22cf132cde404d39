//! What an oxflow binary reports about itself, so a project can be checked against the code it
//! runs: `BINARY --oxflow-schema` prints the DAGs or the experiment it defines with their
//! parameters (as JSON), and `BINARY --oxflow-check ENTRY key=value...` validates parameter
//! values with the binary's own parsing and ranges, printing the values it would log.
//!
//! Both flags are the first argument and are hidden from `--help`: they are the same for a
//! pipeline binary (`oxflow::main()`) and an experiment binary (`#[experiment] fn`), so the
//! project runner need not know which kind it built before asking.

use serde::{Deserialize, Serialize};

use crate::params::ParamSpec;

/// The flag that prints a binary's [`BinarySchema`].
pub const SCHEMA_FLAG: &str = "--oxflow-schema";
/// The flag that validates parameter values ([`CheckResult`]).
pub const CHECK_FLAG: &str = "--oxflow-check";
/// The version of the JSON below; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// A binary's DAGs or experiment, with their parameters.
///
/// ```
/// use oxflow_runtime::project::BinarySchema;
/// let json = r#"{"oxflow_schema": 1, "dags": [], "experiments": [{"name": "iris", "description": "",
///   "params": [{"name": "n_trees", "type_name": "u32", "default": "100", "help": "", "range": "1..=1000"}]}]}"#;
/// let s: BinarySchema = serde_json::from_str(json)?;
/// assert_eq!(s.experiments[0].params[0].type_name, "u32");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinarySchema {
    /// [`SCHEMA_VERSION`].
    pub oxflow_schema: u32,
    /// The DAGs of a pipeline binary.
    pub dags: Vec<EntrySchema>,
    /// The experiment of an experiment binary.
    pub experiments: Vec<EntrySchema>,
}

/// One DAG or experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntrySchema {
    /// The DAG id or the experiment name.
    pub name: String,
    /// The DAG's description.
    pub description: String,
    /// Its parameters in declaration order.
    pub params: Vec<ParamSchema>,
}

/// One parameter, as [`ParamSpec`] holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamSchema {
    /// The key.
    pub name: String,
    /// The Rust type as written (`u32`, `Option<f64>`).
    pub type_name: String,
    /// The default as text.
    pub default: Option<String>,
    /// The doc comment.
    pub help: String,
    /// The range as written.
    pub range: Option<String>,
}

impl From<&ParamSpec> for ParamSchema {
    fn from(s: &ParamSpec) -> ParamSchema {
        ParamSchema {
            name: s.name.to_string(),
            type_name: s.type_name.to_string(),
            default: s.default.map(str::to_string),
            help: s.help.to_string(),
            range: s.range.map(str::to_string),
        }
    }
}

/// The answer to `--oxflow-check`: the values the binary would log, or why it refuses them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Every parameter as the binary logs it (`to_pairs`), when accepted.
    pub params: Option<Vec<(String, String)>>,
    /// The binary's message, when refused.
    pub error: Option<String>,
}

/// The schema of the DAGs linked into this binary.
pub(crate) fn dag_schema() -> BinarySchema {
    BinarySchema {
        oxflow_schema: SCHEMA_VERSION,
        dags: crate::dag::registered()
            .into_iter()
            .map(|d| EntrySchema {
                name: d.id.to_string(),
                description: d.description.to_string(),
                params: d
                    .params
                    .map(|p| (p.schema)().iter().map(ParamSchema::from).collect())
                    .unwrap_or_default(),
            })
            .collect(),
        experiments: Vec::new(),
    }
}

/// The schema of an experiment binary.
pub(crate) fn experiment_schema(name: &str, params: &[ParamSpec]) -> BinarySchema {
    BinarySchema {
        oxflow_schema: SCHEMA_VERSION,
        dags: Vec::new(),
        experiments: vec![EntrySchema {
            name: name.to_string(),
            description: String::new(),
            params: params.iter().map(ParamSchema::from).collect(),
        }],
    }
}

/// Answers [`SCHEMA_FLAG`] / [`CHECK_FLAG`] if `args` (without the program name) start with
/// one: prints the JSON and returns the exit code, or `None` for an ordinary command line.
/// `check` validates `key=value` pairs for an entry.
pub(crate) fn answer(
    args: &[String],
    schema: impl FnOnce() -> BinarySchema,
    check: impl FnOnce(&str, &[(String, String)]) -> Result<Vec<(String, String)>, String>,
) -> Option<i32> {
    let first = args.first()?;
    let json = if first == SCHEMA_FLAG {
        serde_json::to_string(&schema()).ok()?
    } else if first == CHECK_FLAG {
        let entry = args.get(1).map(String::as_str).unwrap_or_default();
        let mut pairs = Vec::new();
        for kv in &args[2.min(args.len())..] {
            match crate::params::parse_override(kv) {
                Ok(p) => pairs.push(p),
                Err(e) => {
                    let r = CheckResult {
                        params: None,
                        error: Some(e.to_string()),
                    };
                    println!("{}", serde_json::to_string(&r).ok()?);
                    return Some(0);
                }
            }
        }
        let r = match check(entry, &pairs) {
            Ok(p) => CheckResult {
                params: Some(p),
                error: None,
            },
            Err(e) => CheckResult {
                params: None,
                error: Some(e),
            },
        };
        serde_json::to_string(&r).ok()?
    } else {
        return None;
    };
    println!("{json}");
    Some(0)
}
