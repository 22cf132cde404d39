//! Rules a task function must follow, one function each.

use super::args::TaskArgs;
use super::ast::{InputMode, TaskFn, TaskParam};
use crate::common::Errors;

pub(crate) fn check(task: &TaskFn<'_>, args: &TaskArgs, errors: &Errors) {
    check_not_generic(task, errors);
    check_plain_fn(task, errors);
    check_injected_once(task, errors);
    check_output_type(task, errors);
    check_inputs_fit_trigger(task, args, errors);
}

/// A node has one concrete type: `fn load<T>()` cannot be a task.
fn check_not_generic(task: &TaskFn<'_>, errors: &Errors) {
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
fn check_plain_fn(task: &TaskFn<'_>, errors: &Errors) {
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
fn check_injected_once(task: &TaskFn<'_>, errors: &Errors) {
    let mut seen = [false; 3];
    for (arg, p) in task.item.sig.inputs.iter().zip(&task.params) {
        let slot = match p {
            TaskParam::Context { .. } => 0,
            TaskParam::Params { .. } => 1,
            TaskParam::Run { .. } => 2,
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
fn check_output_type(task: &TaskFn<'_>, errors: &Errors) {
    let Some(ty) = &task.output.ret else {
        return;
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

/// A trigger rule other than `all_success` can run the task when an upstream did not succeed,
/// and then that upstream has no output: such a task takes its inputs as `Option<&T>` or
/// `Option<T>`. `#[task(trigger = "all_done")] fn report(m: &Model)` is a mistake.
fn check_inputs_fit_trigger(task: &TaskFn<'_>, args: &TaskArgs, errors: &Errors) {
    let Some((rule, _)) = args.options.trigger else {
        return;
    };
    if args.options.trigger_needs_success() {
        return;
    }
    for (name, ty, mode, written) in task.inputs() {
        if mode.optional() {
            continue;
        }
        let ty = crate::common::type_text(ty);
        let fix = match mode {
            InputMode::Ref => format!("Option<&{ty}>"),
            _ => format!("Option<{ty}>"),
        };
        errors.spanned(
            written,
            format!(
                "`#[task(trigger = \"{rule}\")]` can run this task when the upstream feeding `{name}` did not succeed, and then there is no value to pass: take `{name}: {fix}` (`None` then), or keep the default trigger `all_success`"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(args: proc_macro2::TokenStream, item: syn::ItemFn) -> Vec<String> {
        let errors = Errors::default();
        let args = TaskArgs::parse(args, &errors);
        let task = TaskFn::from_item(&item, &errors);
        check(&task, &args, &errors);
        match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_rule_that_runs_after_a_failure_needs_optional_inputs() {
        let item: syn::ItemFn = syn::parse_quote!(
            fn report(m: &Model, n: u32, o: Option<&u32>, p: Option<u32>) {}
        );
        assert_eq!(
            errors_of(quote::quote!(trigger = "all_done"), item.clone()),
            [
                "`#[task(trigger = \"all_done\")]` can run this task when the upstream feeding `m` did not succeed, and then there is no value to pass: take `m: Option<&Model>` (`None` then), or keep the default trigger `all_success`",
                "`#[task(trigger = \"all_done\")]` can run this task when the upstream feeding `n` did not succeed, and then there is no value to pass: take `n: Option<u32>` (`None` then), or keep the default trigger `all_success`",
            ]
        );
        assert!(errors_of(quote::quote!(trigger = "all_success"), item.clone()).is_empty());
        assert!(errors_of(quote::quote!(), item).is_empty());
    }

    #[test]
    fn every_rule_but_all_success_can_run_without_an_input() {
        let item: syn::ItemFn = syn::parse_quote!(
            fn report(m: &u32) {}
        );
        for (rule, _) in crate::common::attr::TRIGGER_RULES {
            let errors = errors_of(quote::quote!(trigger = #rule), item.clone());
            assert_eq!(
                errors.is_empty(),
                *rule == "all_success",
                "{rule}: {errors:?}"
            );
        }
    }

    #[test]
    fn an_injected_argument_comes_once() {
        let item: syn::ItemFn = syn::parse_quote!(
            fn t(a: &TaskContext, b: &TaskContext) {}
        );
        assert_eq!(
            errors_of(quote::quote!(), item),
            ["this argument is injected once per task; remove the repeat"]
        );
    }

    #[test]
    fn outputs_are_owned() {
        let item: syn::ItemFn = syn::parse_quote!(
            fn t() -> &'static str {
                ""
            }
        );
        assert_eq!(
            errors_of(quote::quote!(), item),
            ["a task output outlives the task, so it cannot be a reference; return an owned value"]
        );
    }
}
