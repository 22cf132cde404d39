//! Rules a task function must follow, one function each.

use super::ast::{Output, TaskFn, TaskParam};
use crate::common::Errors;

pub(crate) fn check(task: &TaskFn<'_>, errors: &mut Errors) {
    check_not_generic(task, errors);
    check_plain_fn(task, errors);
    check_injected_once(task, errors);
    check_output_type(task, errors);
}

/// A node has one concrete type: `fn load<T>()` cannot be a task.
fn check_not_generic(task: &TaskFn<'_>, errors: &mut Errors) {
    let g = &task.item.sig.generics;
    if g.params
        .iter()
        .any(|p| !matches!(p, syn::GenericParam::Lifetime(_)))
        || g.where_clause.is_some()
    {
        errors.spanned(g, "`#[task]` functions cannot be generic: a pipeline node needs one concrete type; write a task per type");
    }
}

/// `const fn`, `unsafe fn`, `extern fn` and variadics are not tasks.
fn check_plain_fn(task: &TaskFn<'_>, errors: &mut Errors) {
    let sig = &task.item.sig;
    if let Some(c) = &sig.constness {
        errors.spanned(c, "a `#[task]` cannot be a `const fn`; remove `const`");
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, "a `#[task]` cannot have an `extern` ABI; remove it");
    }
    if let Some(v) = &sig.variadic {
        errors.spanned(v, "a `#[task]` cannot be variadic");
    }
    if let syn::Safety::Unsafe(u) = &sig.safety {
        errors.spanned(
            u,
            "a `#[task]` cannot be an `unsafe fn`; wrap the unsafe code in a safe function",
        );
    }
}

/// Each injected argument at most once: `fn t(a: &TaskContext, b: &TaskContext)` is a mistake.
fn check_injected_once(task: &TaskFn<'_>, errors: &mut Errors) {
    let mut seen = [false; 3];
    for (arg, p) in task.item.sig.inputs.iter().zip(&task.params) {
        let slot = match p {
            TaskParam::Context => 0,
            TaskParam::Params { .. } => 1,
            TaskParam::Run => 2,
            _ => continue,
        };
        if seen[slot] {
            errors.spanned(
                arg,
                "this argument is injected once per task; remove the repeat",
            );
        }
        seen[slot] = true;
    }
}

/// Outputs are shared between threads: references and `impl Trait` cannot be outputs.
fn check_output_type(task: &TaskFn<'_>, errors: &mut Errors) {
    let ty = match &task.output {
        Output::Unit => return,
        Output::Plain(t) | Output::Result(t, _) => t,
    };
    match ty {
        syn::Type::Reference(_) => errors.spanned(
            ty,
            "a task output outlives the task, so it cannot be a reference; return an owned value",
        ),
        syn::Type::ImplTrait(_) => errors.spanned(
            ty,
            "a task output needs a concrete type for its consumers; `impl Trait` cannot be an edge of a pipeline",
        ),
        _ => {}
    }
}
