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
    /// order-only edges (`>>`) are dashed, and those from a branch to the tasks that start its
    /// arms carry the arm's pattern. Mapped tasks are marked `[mapped]`, short-circuit tasks
    /// `[short-circuit]`; task groups are Mermaid subgraphs and Graphviz clusters.
    ///
    /// ```
    /// # use oxflow_runtime::dag::{self, GraphFormat};
    /// for def in dag::registered() {
    ///     let dot = def.spec().unwrap().render(GraphFormat::Dot);
    ///     assert!(dot.starts_with("digraph"));
    /// }
    /// ```
    pub fn render(&self, format: GraphFormat) -> String {
        let mut out = String::new();
        match format {
            GraphFormat::Mermaid => {
                out.push_str("flowchart LR\n");
                self.write_groups(
                    &mut out,
                    None,
                    1,
                    &|out, indent, i| {
                        let label = self.label(i).replace('"', "#quot;");
                        let _ = writeln!(out, "{indent}n{i}[\"{label}\"]");
                    },
                    &|out, indent, g, label| {
                        let _ = writeln!(
                            out,
                            "{indent}subgraph g{g}[\"{}\"]",
                            label.replace('"', "#quot;")
                        );
                    },
                    "end",
                );
                self.for_each_edge(|from, to, label| {
                    let _ = match label {
                        Edge::Data(l) => writeln!(out, "    n{from} -->|{l}| n{to}"),
                        Edge::Order => writeln!(out, "    n{from} -.-> n{to}"),
                        Edge::Arm(l) => {
                            writeln!(out, "    n{from} -.->|{}| n{to}", l.replace('|', "#124;"))
                        }
                    };
                });
            }
            GraphFormat::Dot => {
                let _ = writeln!(out, "digraph \"{}\" {{", self.def.id.replace('"', "\\\""));
                out.push_str("    rankdir=LR;\n    node [shape=box];\n");
                self.write_groups(
                    &mut out,
                    None,
                    1,
                    &|out, indent, i| {
                        let label = self.label(i).replace('"', "\\\"");
                        let _ = writeln!(out, "{indent}n{i} [label=\"{label}\"];");
                    },
                    &|out, indent, g, label| {
                        let _ = writeln!(out, "{indent}subgraph cluster_{g} {{");
                        let _ =
                            writeln!(out, "{indent}    label=\"{}\";", label.replace('"', "\\\""));
                    },
                    "}",
                );
                self.for_each_edge(|from, to, label| {
                    let _ = match label {
                        Edge::Data(l) => writeln!(out, "    n{from} -> n{to} [label=\"{l}\"];"),
                        Edge::Order => writeln!(out, "    n{from} -> n{to} [style=dashed];"),
                        Edge::Arm(l) => writeln!(
                            out,
                            "    n{from} -> n{to} [style=dashed, label=\"{}\"];",
                            l.replace('"', "\\\"")
                        ),
                    };
                });
                out.push_str("}\n");
            }
        }
        out
    }

    /// A node's label: its id, and what it does beyond running once.
    fn label(&self, i: usize) -> String {
        let n = &self.nodes[i];
        let mut label = n.id.clone();
        if n.flow.map.is_some() {
            label.push_str(" [mapped]");
        }
        if n.task.short_circuit {
            label.push_str(" [short-circuit]");
        }
        if let Some(s) = n.task.sensor {
            label.push_str(&format!(" [sensor: {}]", s.mode));
        }
        label
    }

    /// Writes the nodes of `group` (the top level for `None`), each nested group inside its
    /// own block.
    #[allow(clippy::too_many_arguments)]
    fn write_groups(
        &self,
        out: &mut String,
        group: Option<usize>,
        depth: usize,
        node: &dyn Fn(&mut String, &str, usize),
        open: &dyn Fn(&mut String, &str, usize, &str),
        close: &str,
    ) {
        let indent = "    ".repeat(depth);
        for (g, def) in self.def.groups.iter().enumerate() {
            if def.parent == group {
                open(out, &indent, g, def.id);
                self.write_groups(out, Some(g), depth + 1, node, open, close);
                let _ = writeln!(out, "{indent}{close}");
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if n.flow.group == group {
                node(out, &indent, i);
            }
        }
    }

    fn for_each_edge(&self, mut f: impl FnMut(usize, usize, Edge)) {
        for (to, n) in self.nodes.iter().enumerate() {
            for (k, input) in n.inputs.iter().enumerate() {
                let name = n.task.inputs.get(k).map_or("input", |p| p.name);
                let mut label = match input.element {
                    Some(e) => format!("{name} (.{e})"),
                    None => name.to_owned(),
                };
                if n.flow.map.is_some_and(|m| m.input == k) {
                    label.push_str(" (each)");
                }
                f(input.node, to, Edge::Data(label));
            }
            for &from in self.def.nodes[to].after {
                match n.flow.follows {
                    Some((b, arm)) if b == from => {
                        let pattern = self.nodes[b]
                            .flow
                            .branch
                            .and_then(|br| br.arms.get(arm))
                            .copied()
                            .unwrap_or("?");
                        f(from, to, Edge::Arm(pattern.to_owned()));
                    }
                    _ => f(from, to, Edge::Order),
                }
            }
        }
    }
}

enum Edge {
    /// Feeds the named input.
    Data(String),
    /// `>>`.
    Order,
    /// From a branch to a task starting the arm with this pattern.
    Arm(String),
}
