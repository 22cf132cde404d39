//! A task function, classified: which parameters receive upstream outputs and which are
//! injected, and what the task returns.
//!
//! The macro sees only this function's tokens, so it classifies parameters by their shape:
//! `&mut _` is the tracking run, `&TaskContext` the context, `&Params<P>` the DAG's params, and
//! everything else an input fed by an upstream task. The generated code then has the compiler
//! confirm each decision by type (see `oxflow_runtime::task::support`), so an alias, a `use ..
//! as` name or a type of the user's that happens to share a name is a compile error at the
//! argument, never a wrong run. What the return type means (fallible or not, the output type) is
//! decided by the compiler alone.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Ident, ItemFn, Pat, PathArguments, ReturnType, Type};

use crate::common::Errors;

pub(crate) struct TaskFn<'a> {
    pub(crate) item: &'a ItemFn,
    pub(crate) params: Vec<TaskParam>,
    pub(crate) output: Output,
}

/// How an input parameter receives its upstream's output.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum InputMode {
    /// `&T`: borrowed from the shared output.
    Ref,
    /// `T`: cloned from the shared output.
    Value,
    /// `Option<&T>`: borrowed, `None` when the upstream did not succeed.
    OptionalRef,
    /// `Option<T>`: cloned, `None` when the upstream did not succeed.
    OptionalValue,
}

impl InputMode {
    /// Whether the task still runs, with `None`, when the upstream did not succeed.
    pub(crate) fn optional(self) -> bool {
        matches!(self, InputMode::OptionalRef | InputMode::OptionalValue)
    }

    /// Whether the DAG passes the handle by reference (`&x`).
    pub(crate) fn by_ref(self) -> bool {
        matches!(self, InputMode::Ref | InputMode::OptionalRef)
    }
}

pub(crate) enum TaskParam {
    Input {
        name: String,
        /// The upstream's output type (`T` of `&T`, `T`, `Option<&T>`, `Option<T>`).
        ty: Type,
        mode: InputMode,
        /// The parameter's type as written.
        written: Type,
    },
    /// `&C`, written `&TaskContext`.
    Context { ty: Type },
    /// `&P`, written `&Params<S>`: `ty` is `Params<S>`, `set` is `S`.
    Params { ty: Type, set: Type },
    /// `&mut R`: the tracking run.
    Run { ty: Type },
    /// A parameter that cannot be used; the error is already recorded.
    Invalid,
}

/// The return type as written (`None` for no return type, that is `()`).
pub(crate) struct Output {
    pub(crate) ret: Option<Type>,
}

impl Output {
    /// The return type, `()` if none is written.
    pub(crate) fn ty(&self) -> Type {
        self.ret.clone().unwrap_or_else(|| syn::parse_quote!(()))
    }

    /// `T` and `E` of a return type written `..Result<T, E>`. Only for spans and display: what
    /// the type means is the compiler's decision.
    fn written_result(&self) -> Option<(&Type, Option<&Type>)> {
        let seg = last_segment(self.ret.as_ref()?)?;
        if !seg.ident.to_string().ends_with("Result") {
            return None;
        }
        let PathArguments::AngleBracketed(a) = &seg.arguments else {
            return None;
        };
        let mut types = a.args.iter().filter_map(|arg| match arg {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        });
        Some((types.next()?, types.next()))
    }

    /// The output type for display (`show`): `T` of a written `Result<T, E>`, else the return
    /// type as written.
    pub(crate) fn shown(&self) -> String {
        let ty = match self.written_result() {
            Some((ok, _)) => ok.clone(),
            None => self.ty(),
        };
        crate::common::type_text(&ty)
    }

    /// The output type of a sensor for display: `T` of a written `Poke<T>` or
    /// `Result<Poke<T>, E>`.
    pub(crate) fn shown_sensor(&self) -> String {
        let ty = match self.written_result() {
            Some((ok, _)) => ok.clone(),
            None => self.ty(),
        };
        let inner = last_segment(&ty)
            .filter(|seg| seg.ident == "Poke")
            .and_then(first_type_arg)
            .cloned()
            .unwrap_or(ty);
        crate::common::type_text(&inner)
    }

    /// Where a problem with the output type is reported.
    pub(crate) fn output_span(&self, fallback: Span) -> Span {
        match (self.written_result(), &self.ret) {
            (Some((ok, _)), _) => ok.span(),
            (None, Some(t)) => t.span(),
            (None, None) => fallback,
        }
    }

    /// Where a problem with the error type is reported.
    pub(crate) fn error_span(&self, fallback: Span) -> Span {
        match (self.written_result(), &self.ret) {
            (Some((_, Some(err))), _) => err.span(),
            (_, Some(t)) => t.span(),
            (_, None) => fallback,
        }
    }
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

fn first_type_arg(seg: &syn::PathSegment) -> Option<&Type> {
    match &seg.arguments {
        PathArguments::AngleBracketed(a) => a.args.iter().find_map(|arg| match arg {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

fn is_named(ty: &Type, name: &str) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == name)
}

/// A type with no fixed size that `&` of it cannot borrow from an output: `[T]`, `str`, `dyn
/// Trait`. Returns how to fix it. (An alias of one is caught by the compiler, with the
/// `InputType` message.)
fn unsized_fix(ty: &Type) -> Option<String> {
    let text = crate::common::type_text;
    match ty {
        Type::Slice(s) => Some(format!(
            "take the upstream's output type, such as `&Vec<{}>`",
            text(&s.elem)
        )),
        Type::Path(p) if p.qself.is_none() && p.path.is_ident("str") => {
            Some("take the upstream's output type, such as `&String`".to_owned())
        }
        Type::TraitObject(_) => {
            Some("take the upstream's concrete output type, such as `&MyModel`".to_owned())
        }
        Type::Group(g) => unsized_fix(&g.elem),
        Type::Paren(p) => unsized_fix(&p.elem),
        _ => None,
    }
}

/// Classifies one parameter. A mistake with an obvious intent (`&mut TaskContext`, `Run` by
/// value) is reported and classified as intended, so that a stub definition can still be
/// generated for DAGs that call the task.
fn classify(index: usize, pat: &Pat, ty: &Type, errors: &Errors) -> TaskParam {
    let name = match pat {
        Pat::Ident(p) => p.ident.to_string(),
        _ => format!("arg{index}"),
    };
    let input = |inner: &Type, mode| TaskParam::Input {
        name: name.clone(),
        ty: inner.clone(),
        mode,
        written: ty.clone(),
    };
    match ty {
        Type::Reference(r) if r.mutability.is_some() => {
            let elem = &*r.elem;
            if is_named(elem, "TaskContext") {
                errors.spanned(
                    ty,
                    "take the task context by shared reference: `ctx: &TaskContext`",
                );
                return TaskParam::Context { ty: elem.clone() };
            }
            if is_named(elem, "Params") {
                errors.spanned(
                    ty,
                    "params are shared by every task: take `&Params<..>`, not `&mut`",
                );
                return match last_segment(elem).and_then(first_type_arg) {
                    Some(set) => TaskParam::Params {
                        ty: elem.clone(),
                        set: set.clone(),
                    },
                    None => TaskParam::Invalid,
                };
            }
            // The only `&mut` argument is the tracking run; the compiler confirms the type.
            TaskParam::Run { ty: elem.clone() }
        }
        Type::Reference(r) => {
            let elem = &*r.elem;
            if is_named(elem, "TaskContext") {
                return TaskParam::Context { ty: elem.clone() };
            }
            if is_named(elem, "Params") {
                return match last_segment(elem).and_then(first_type_arg) {
                    Some(set) => TaskParam::Params {
                        ty: elem.clone(),
                        set: set.clone(),
                    },
                    None => {
                        errors.spanned(ty, "`&Params` is read as the DAG's injected params: name their type, `params: &Params<MyParams>` (an input of your own type named `Params` needs another name or a type alias)");
                        TaskParam::Invalid
                    }
                };
            }
            if let Some(fix) = unsized_fix(elem) {
                errors.spanned(
                    ty,
                    format!("a task input borrows its upstream's output as it is, so it needs the output's own type: {fix}"),
                );
            }
            input(elem, InputMode::Ref)
        }
        _ => {
            if let Some(seg) = last_segment(ty)
                && seg.ident == "Option"
                && let Some(inner) = first_type_arg(seg)
            {
                return match inner {
                    Type::Reference(r) if r.mutability.is_some() => {
                        errors.spanned(
                            ty,
                            "a task input is shared with every other consumer and cannot be borrowed mutably; take `Option<&T>`, or `Option<T>` to get your own copy",
                        );
                        input(&r.elem, InputMode::OptionalRef)
                    }
                    Type::Reference(r) => {
                        if let Some(fix) = unsized_fix(&r.elem) {
                            errors.spanned(
                                ty,
                                format!("a task input borrows its upstream's output as it is, so it needs the output's own type: {fix}"),
                            );
                        }
                        input(&r.elem, InputMode::OptionalRef)
                    }
                    other => input(other, InputMode::OptionalValue),
                };
            }
            for (injected, fix) in [
                ("TaskContext", "`ctx: &TaskContext`"),
                ("Params", "`params: &Params<..>`"),
                ("Run", "`run: &mut Run`"),
            ] {
                if is_named(ty, injected) {
                    errors.spanned(
                        ty,
                        format!("injected arguments are taken by reference: write {fix}"),
                    );
                    return match injected {
                        "TaskContext" => TaskParam::Context { ty: ty.clone() },
                        "Params" => match last_segment(ty).and_then(first_type_arg) {
                            Some(set) => TaskParam::Params {
                                ty: ty.clone(),
                                set: set.clone(),
                            },
                            None => TaskParam::Invalid,
                        },
                        _ => TaskParam::Run { ty: ty.clone() },
                    };
                }
            }
            if let Type::ImplTrait(_) = ty {
                errors.spanned(ty, "a task input needs a concrete type; `impl Trait` cannot be an edge of a pipeline");
                return TaskParam::Invalid;
            }
            input(ty, InputMode::Value)
        }
    }
}

impl<'a> TaskFn<'a> {
    pub(crate) fn from_item(item: &'a ItemFn, errors: &Errors) -> TaskFn<'a> {
        let mut params = Vec::new();
        for (i, arg) in item.sig.inputs.iter().enumerate() {
            match arg {
                FnArg::Receiver(r) => {
                    errors.spanned(r, "`#[task]` goes on a free function, not a method; move it out of the `impl` block");
                    params.push(TaskParam::Invalid);
                }
                FnArg::Typed(pt) => params.push(classify(i, &pt.pat, &pt.ty, errors)),
            }
        }
        let output = Output {
            ret: match &item.sig.output {
                ReturnType::Default => None,
                ReturnType::Type(_, ty) => Some((**ty).clone()),
            },
        };
        TaskFn {
            item,
            params,
            output,
        }
    }

    /// Whether a definition can be generated although the function has errors: every parameter
    /// and the output have a clear meaning. DAGs calling the task then add no errors of their
    /// own.
    pub(crate) fn stub_possible(&self) -> bool {
        let generic = self
            .item
            .sig
            .generics
            .params
            .iter()
            .any(|p| !matches!(p, syn::GenericParam::Lifetime(_)));
        let output_ok = !matches!(
            self.output.ret,
            Some(Type::Reference(_) | Type::ImplTrait(_))
        );
        !generic && output_ok && !self.params.iter().any(|p| matches!(p, TaskParam::Invalid))
    }

    pub(crate) fn ident(&self) -> &Ident {
        &self.item.sig.ident
    }

    /// The inputs: name, upstream output type, mode, type as written.
    pub(crate) fn inputs(&self) -> impl Iterator<Item = (&str, &Type, InputMode, &Type)> {
        self.params.iter().filter_map(|p| match p {
            TaskParam::Input {
                name,
                ty,
                mode,
                written,
            } => Some((name.as_str(), ty, *mode, written)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_all(item: ItemFn) -> (Vec<String>, Vec<String>) {
        let errors = Errors::default();
        let task = TaskFn::from_item(&item, &errors);
        let kinds = task
            .params
            .iter()
            .map(|p| match p {
                TaskParam::Input { mode, ty, .. } => {
                    format!("{mode:?} {}", quote::ToTokens::to_token_stream(ty))
                }
                TaskParam::Context { .. } => "context".into(),
                TaskParam::Params { set, .. } => {
                    format!("params {}", quote::ToTokens::to_token_stream(set))
                }
                TaskParam::Run { ty } => format!("run {}", quote::ToTokens::to_token_stream(ty)),
                TaskParam::Invalid => "invalid".into(),
            })
            .collect();
        let messages = match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        (kinds, messages)
    }

    #[test]
    fn parameters_are_classified_by_shape() {
        let (kinds, errors) = classify_all(syn::parse_quote! {
            fn t(a: &Vec<u32>, b: Model, c: Option<&u32>, d: Option<Model>, ctx: &TaskContext,
                 p: &Params<Knobs>, run: &mut Run, log: &mut Tracker, mine: &Run) {}
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            kinds,
            [
                "Ref Vec < u32 >",
                "Value Model",
                "OptionalRef u32",
                "OptionalValue Model",
                "context",
                "params Knobs",
                "run Run",
                "run Tracker",
                "Ref Run",
            ]
        );
    }

    #[test]
    fn unsized_inputs_name_the_owned_type() {
        let (kinds, errors) = classify_all(syn::parse_quote! {
            fn t(a: &[f64], b: &str, c: Option<&dyn Model>) {}
        });
        assert_eq!(kinds, ["Ref [f64]", "Ref str", "OptionalRef dyn Model"]);
        assert_eq!(
            errors,
            [
                "a task input borrows its upstream's output as it is, so it needs the output's own type: take the upstream's output type, such as `&Vec<f64>`",
                "a task input borrows its upstream's output as it is, so it needs the output's own type: take the upstream's output type, such as `&String`",
                "a task input borrows its upstream's output as it is, so it needs the output's own type: take the upstream's concrete output type, such as `&MyModel`",
            ]
        );
    }

    #[test]
    fn the_output_is_shown_as_written() {
        let item: ItemFn = syn::parse_quote!(
            fn t() -> Result<Vec<u32>, String> {
                todo!()
            }
        );
        let task = TaskFn::from_item(&item, &Errors::default());
        assert_eq!(task.output.shown(), "Vec<u32>");
        let item: ItemFn = syn::parse_quote!(
            fn t() -> Fallible<u32> {
                todo!()
            }
        );
        let task = TaskFn::from_item(&item, &Errors::default());
        assert_eq!(task.output.shown(), "Fallible<u32>");
        let item: ItemFn = syn::parse_quote!(
            fn t() {}
        );
        assert_eq!(
            TaskFn::from_item(&item, &Errors::default()).output.shown(),
            "()"
        );
    }
}
