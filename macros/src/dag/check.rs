//! Rules a `#[dag]` must follow, one function each. [`check`] also returns a topological order
//! of the nodes, which the generated definition lists them in.

use std::collections::HashMap;

use syn::ItemFn;

use super::ast::DagBody;
use crate::common::Errors;

/// Runs every check; returns the nodes in topological order when the graph has no cycle.
pub(crate) fn check(item: &ItemFn, body: &DagBody, errors: &Errors) -> Option<Vec<usize>> {
    check_signature(item, errors);
    check_not_empty(item, body, errors);
    check_unique_task_ids(body, errors);
    check_acyclic(body, errors)
}

/// The DAG function only wires tasks: `fn name()` with no arguments, generics or return type.
fn check_signature(item: &ItemFn, errors: &Errors) {
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
fn check_not_empty(item: &ItemFn, body: &DagBody, errors: &Errors) {
    if body.nodes.is_empty() && item.block.stmts.is_empty() {
        errors.spanned(
            &item.sig.ident,
            "this `#[dag]` has no tasks; call `#[task]` functions in its body",
        );
    }
}

/// Task ids are unique: calling `train` twice needs `#[task_id = "train_2"]` on one call.
fn check_unique_task_ids(body: &DagBody, errors: &Errors) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, node) in body.nodes.iter().enumerate() {
        if let Some(&first) = seen.get(node.id.as_str()) {
            let how = if node.explicit_id {
                "choose another `#[task_id = \"...\"]`".to_owned()
            } else {
                format!(
                    "give this call its own id: `#[task_id = \"{}_2\"] let x = {}(..);`",
                    node.raw_id, node.raw_id
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
fn check_acyclic(body: &DagBody, errors: &Errors) -> Option<Vec<usize>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(item: ItemFn) -> (Option<Vec<usize>>, Vec<String>) {
        let errors = Errors::default();
        let body = DagBody::from_item(&item, &errors);
        let order = check(&item, &body, &errors);
        let messages = match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        (order, messages)
    }

    #[test]
    fn order_edges_give_a_topological_order() {
        let (order, errors) = errors_of(syn::parse_quote! {
            fn pipeline() {
                let b = second();
                let a = first();
                a >> b;
            }
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(order, Some(vec![1, 0]));
    }

    #[test]
    fn a_cycle_is_named_at_the_edge_that_closes_it() {
        let (order, errors) = errors_of(syn::parse_quote! {
            fn pipeline() {
                let a = first();
                let b = second();
                a >> b;
                b >> a;
            }
        });
        assert_eq!(order, None);
        assert_eq!(
            errors,
            ["cycle in `#[dag]`: first >> second >> first; remove or reverse this `>>` edge"]
        );
    }

    #[test]
    fn a_task_called_twice_needs_an_id_of_its_own() {
        let (_, errors) = errors_of(syn::parse_quote! {
            fn pipeline() {
                load();
                load();
                #[task_id = "load_eu"]
                load();
            }
        });
        assert_eq!(
            errors,
            [
                "duplicate task id `load` in this `#[dag]`; give this call its own id: `#[task_id = \"load_2\"] let x = load(..);`"
            ]
        );
    }

    #[test]
    fn airflow_upstream_edges_are_rewritten_in_the_message() {
        let (_, errors) = errors_of(syn::parse_quote! {
            fn pipeline() {
                let a = first();
                let b = second();
                let c = third();
                c << b << a;
            }
        });
        assert_eq!(
            errors,
            [
                "`<<` is not supported in a `#[dag]` body: edges read in the order tasks run, with `>>`; write `a >> b >> c`"
            ]
        );
    }

    #[test]
    fn an_argument_that_is_not_a_handle_says_what_to_pass() {
        let (_, errors) = errors_of(syn::parse_quote! {
            fn pipeline() {
                let parts = split();
                train(&parts.0);
                train(&LIMIT);
                train(parts.clone());
            }
        });
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].starts_with("a tuple output is taken apart where it is bound, not with `.0`")
        );
        assert!(
            errors[1].starts_with(
                "`LIMIT` is not a task handle: a `#[dag]` body passes only task outputs"
            )
        );
        assert!(errors[2].starts_with(
            "a handle is not a value in the `#[dag]` body, so `.clone()` cannot be called on it"
        ));
    }

    #[test]
    fn a_dag_function_only_wires_tasks() {
        let (_, errors) = errors_of(syn::parse_quote! {
            async fn pipeline(x: u32) -> u32 {
                load();
            }
        });
        assert_eq!(errors.len(), 3, "{errors:?}");
    }
}
