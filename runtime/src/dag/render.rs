//! Text renderings of a graph: Mermaid (for Markdown and GitHub) and Graphviz DOT.
//!
//! Both are a few lines of string building, so no graph crate is pulled in for them.

use std::fmt::Write as _;
use std::str::FromStr;

use super::spec::DagSpec;

/// A text format for `graph`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// A Mermaid `flowchart`.
    Mermaid,
    /// A Graphviz `digraph`.
    Dot,
}

/// A graph format name other than `mermaid` or `dot`.
///
/// ```
/// use oxflow_runtime::dag::GraphFormat;
/// let e = "svg".parse::<GraphFormat>().unwrap_err();
/// assert_eq!(e.to_string(), "unknown graph format `svg`; expected mermaid or dot");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown graph format `{given}`; expected mermaid or dot")]
pub struct GraphFormatParseError {
    /// The name that was given.
    pub given: String,
}

impl FromStr for GraphFormat {
    type Err = GraphFormatParseError;
    fn from_str(s: &str) -> Result<Self, GraphFormatParseError> {
        match s {
            "mermaid" => Ok(GraphFormat::Mermaid),
            "dot" => Ok(GraphFormat::Dot),
            other => Err(GraphFormatParseError {
                given: other.to_owned(),
            }),
        }
    }
}

impl DagSpec {
    /// Renders the graph. Data edges are solid and labelled with the input they feed;
    /// order-only edges (`>>`) are dashed.
    pub fn render(&self, format: GraphFormat) -> String {
        let mut out = String::new();
        match format {
            GraphFormat::Mermaid => {
                out.push_str("flowchart LR\n");
                for (i, n) in self.nodes.iter().enumerate() {
                    let _ = writeln!(out, "    n{i}[\"{}\"]", n.id.replace('"', "#quot;"));
                }
                self.for_each_edge(|from, to, label| {
                    let _ = match label {
                        Some(l) => writeln!(out, "    n{from} -->|{l}| n{to}"),
                        None => writeln!(out, "    n{from} -.-> n{to}"),
                    };
                });
            }
            GraphFormat::Dot => {
                let _ = writeln!(out, "digraph \"{}\" {{", self.def.id.replace('"', "\\\""));
                out.push_str("    rankdir=LR;\n    node [shape=box];\n");
                for (i, n) in self.nodes.iter().enumerate() {
                    let _ = writeln!(out, "    n{i} [label=\"{}\"];", n.id.replace('"', "\\\""));
                }
                self.for_each_edge(|from, to, label| {
                    let _ = match label {
                        Some(l) => writeln!(out, "    n{from} -> n{to} [label=\"{l}\"];"),
                        None => writeln!(out, "    n{from} -> n{to} [style=dashed];"),
                    };
                });
                out.push_str("}\n");
            }
        }
        out
    }

    fn for_each_edge(&self, mut f: impl FnMut(usize, usize, Option<String>)) {
        for (to, n) in self.nodes.iter().enumerate() {
            for (k, input) in n.inputs.iter().enumerate() {
                let name = n.task.inputs.get(k).map_or("input", |p| p.name);
                let label = match input.element {
                    Some(e) => format!("{name} (.{e})"),
                    None => name.to_owned(),
                };
                f(input.node, to, Some(label));
            }
            for &from in self.def.nodes[to].after {
                f(from, to, None);
            }
        }
    }
}
