//! Rules a `#[dag]` must follow, one function each. [`check`] also returns a topological order
//! of the nodes, which the generated definition lists them in.

use std::collections::HashMap;

use syn::ItemFn;

use super::ast::DagBody;
use crate::common::Errors;

/// Runs every check; returns the nodes in topological order when the graph has no cycle.
pub(crate) fn check(item: &ItemFn, body: &DagBody, errors: &mut Errors) -> Option<Vec<usize>> {
    check_signature(item, errors);
    check_not_empty(item, body, errors);
    check_unique_task_ids(body, errors);
    check_acyclic(body, errors)
}

/// The DAG function only wires tasks: `fn name()` with no arguments, generics or return type.
fn check_signature(item: &ItemFn, errors: &mut Errors) {
    let sig = &item.sig;
    if !sig.inputs.is_empty() {
        errors.spanned(&sig.inputs, "a `#[dag]` function takes no arguments; declare run-time values with `#[dag(params = MyParams)]`");
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(&sig.generics, "a `#[dag]` function cannot be generic");
    }
    if let Some(a) = &sig.asyncness {
        errors.spanned(
            a,
            "a `#[dag]` function is not `async`: it only wires tasks (the tasks may be `async`)",
        );
    }
    if let syn::ReturnType::Type(_, ty) = &sig.output {
        errors.spanned(
            ty,
            "a `#[dag]` function has no return type: `#[dag]` makes it return the DAG's definition",
        );
    }
}

/// A DAG has at least one task: `#[dag] fn empty() {}` is a mistake.
fn check_not_empty(item: &ItemFn, body: &DagBody, errors: &mut Errors) {
    if body.nodes.is_empty() && item.block.stmts.is_empty() {
        errors.spanned(
            &item.sig.ident,
            "this `#[dag]` has no tasks; call `#[task]` functions in its body",
        );
    }
}

/// Task ids are unique: calling `train` twice needs `#[task_id = "train_2"]` on one call.
fn check_unique_task_ids(body: &DagBody, errors: &mut Errors) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, node) in body.nodes.iter().enumerate() {
        if let Some(&first) = seen.get(node.id.as_str()) {
            let how = if node.explicit_id {
                "choose another `#[task_id = \"...\"]`".to_owned()
            } else {
                format!(
                    "give this call its own id: `#[task_id = \"{}_2\"] let x = {}(..);`",
                    node.id, node.id
                )
            };
            let _ = first;
            errors.at(
                node.id_span,
                format!("duplicate task id `{}` in this `#[dag]`; {how}", node.id),
            );
        } else {
            seen.insert(&node.id, i);
        }
    }
}

/// Order edges may not close a cycle: `a >> b; b >> a;`. Returns a topological order (Kahn's
/// algorithm, taking the earliest-written ready node first, so the order stays close to the
/// body's).
fn check_acyclic(body: &DagBody, errors: &mut Errors) -> Option<Vec<usize>> {
    let n = body.nodes.len();
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    for (to, node) in body.nodes.iter().enumerate() {
        for input in &node.inputs {
            succ[input.node].push(to);
            indegree[to] += 1;
        }
    }
    for e in &body.order_edges {
        succ[e.from].push(e.to);
        indegree[e.to] += 1;
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &s in &succ[i] {
            indegree[s] -= 1;
            if indegree[s] == 0 {
                ready.insert(s);
            }
        }
    }
    if order.len() == n {
        return Some(order);
    }
    // Find one cycle among the remaining nodes and name it.
    let remaining: Vec<bool> = (0..n).map(|i| indegree[i] > 0).collect();
    let start = (0..n).find(|&i| remaining[i])?;
    let mut path = vec![start];
    let mut pos: HashMap<usize, usize> = HashMap::from([(start, 0)]);
    let mut cur = start;
    let cycle = loop {
        let next = succ[cur].iter().copied().find(|&s| remaining[s])?;
        if let Some(&p) = pos.get(&next) {
            let mut c = path[p..].to_vec();
            c.push(next);
            break c;
        }
        pos.insert(next, path.len());
        path.push(next);
        cur = next;
    };
    let names: Vec<&str> = cycle.iter().map(|&i| body.nodes[i].id.as_str()).collect();
    // Blame the `>>` of the cycle written last: the likeliest slip.
    let closing = body
        .order_edges
        .iter()
        .rposition(|e| cycle.windows(2).any(|w| e.from == w[0] && e.to == w[1]));
    let message = format!(
        "cycle in `#[dag]`: {}; remove or reverse this `>>` edge",
        names.join(" >> ")
    );
    match closing {
        Some(i) => errors.spanned(&body.order_edges[i].tokens, message),
        None => errors.at(body.nodes[start].span, message),
    }
    None
}
