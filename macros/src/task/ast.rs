//! A task function, classified: which parameters receive upstream outputs and which are
//! injected, and what the task outputs.
//!
//! Injected parameters are recognised from their syntax alone (the macro sees only this
//! function): `&TaskContext`, `&Params<P>` and `&mut Run`, by the last segment of the type's
//! path. Everything else is an input fed by an upstream task.

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
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputMode {
    /// `&T`: borrowed from the shared output.
    Ref,
    /// `T`: cloned from the shared output.
    Value,
    /// `Option<&T>`: `None` when the upstream did not succeed.
    Optional,
}

pub(crate) enum TaskParam {
    Input {
        name: String,
        ty: Type,
        mode: InputMode,
        span: Span,
    },
    Context,
    Params {
        ty: Type,
    },
    Run,
    /// A parameter that cannot be used; the error is already recorded.
    Invalid,
}

pub(crate) enum Output {
    /// No return type: the output is `()`.
    Unit,
    /// `-> T`.
    Plain(Type),
    /// `-> Result<T, E>` (any path ending in `Result`): the output is `T`, an `Err` fails. The
    /// span is the error type's (or `Result`'s, for an alias such as `io::Result<T>`), where a
    /// missing `Display` is reported.
    Result(Type, Span),
}

impl Output {
    pub(crate) fn ty(&self) -> Type {
        match self {
            Output::Unit => syn::parse_quote!(()),
            Output::Plain(t) | Output::Result(t, _) => t.clone(),
        }
    }
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
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

/// Classifies one parameter. A mistake with an obvious intent (`&mut T` for an input,
/// `TaskContext` by value) is reported and classified as intended, so that a stub definition can
/// still be generated for DAGs that call the task.
fn classify(index: usize, pat: &Pat, ty: &Type, errors: &mut Errors) -> TaskParam {
    let name = match pat {
        Pat::Ident(p) => p.ident.to_string(),
        _ => format!("arg{index}"),
    };
    match ty {
        Type::Reference(r) => {
            let elem = &*r.elem;
            let seg = last_segment(elem);
            let seg_name = seg.map(|s| s.ident.to_string());
            match (seg_name.as_deref(), r.mutability.is_some()) {
                (Some("TaskContext"), false) => TaskParam::Context,
                (Some("TaskContext"), true) => {
                    errors.spanned(
                        ty,
                        "take the task context by shared reference: `ctx: &TaskContext`",
                    );
                    TaskParam::Context
                }
                (Some("Params"), false) => match seg.and_then(first_type_arg) {
                    Some(p) => TaskParam::Params { ty: p.clone() },
                    None => {
                        errors.spanned(ty, "`&Params` is read as the DAG's injected params: name their type, `params: &Params<MyParams>` (an input of your own type named `Params` needs another name or a type alias)");
                        TaskParam::Invalid
                    }
                },
                (Some("Params"), true) => {
                    errors.spanned(
                        ty,
                        "params are shared by every task: take `&Params<..>`, not `&mut`",
                    );
                    match seg.and_then(first_type_arg) {
                        Some(p) => TaskParam::Params { ty: p.clone() },
                        None => TaskParam::Invalid,
                    }
                }
                (Some("Run"), true) => TaskParam::Run,
                (Some("Run"), false) => {
                    errors.spanned(
                        ty,
                        "logging to the run needs `&mut Run`: write `run: &mut Run`",
                    );
                    TaskParam::Run
                }
                (_, true) => {
                    errors.spanned(
                        ty,
                        "a task input is shared with every other consumer and cannot be borrowed mutably; take `&T`, or `T` to get your own copy",
                    );
                    TaskParam::Input {
                        name,
                        ty: elem.clone(),
                        mode: InputMode::Ref,
                        span: ty.span(),
                    }
                }
                (_, false) => TaskParam::Input {
                    name,
                    ty: elem.clone(),
                    mode: InputMode::Ref,
                    span: ty.span(),
                },
            }
        }
        _ => {
            let seg = last_segment(ty);
            if let Some(seg) = seg {
                if seg.ident == "Option"
                    && let Some(Type::Reference(r)) = first_type_arg(seg)
                    && r.mutability.is_none()
                {
                    return TaskParam::Input {
                        name,
                        ty: (*r.elem).clone(),
                        mode: InputMode::Optional,
                        span: ty.span(),
                    };
                }
                let injected = ["TaskContext", "Params", "Run"];
                if injected.iter().any(|i| seg.ident == i) {
                    let fix = match seg.ident.to_string().as_str() {
                        "TaskContext" => "`ctx: &TaskContext`",
                        "Params" => "`params: &Params<..>`",
                        _ => "`run: &mut Run`",
                    };
                    errors.spanned(
                        ty,
                        format!("injected arguments are taken by reference: write {fix}"),
                    );
                    return match seg.ident.to_string().as_str() {
                        "TaskContext" => TaskParam::Context,
                        "Params" => match first_type_arg(seg) {
                            Some(p) => TaskParam::Params { ty: p.clone() },
                            None => TaskParam::Invalid,
                        },
                        _ => TaskParam::Run,
                    };
                }
            }
            if let Type::ImplTrait(_) = ty {
                errors.spanned(ty, "a task input needs a concrete type; `impl Trait` cannot be an edge of a pipeline");
                return TaskParam::Invalid;
            }
            TaskParam::Input {
                name,
                ty: ty.clone(),
                mode: InputMode::Value,
                span: ty.span(),
            }
        }
    }
}

impl<'a> TaskFn<'a> {
    pub(crate) fn from_item(item: &'a ItemFn, errors: &mut Errors) -> TaskFn<'a> {
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
        let output = match &item.sig.output {
            ReturnType::Default => Output::Unit,
            ReturnType::Type(_, ty) => match last_segment(ty) {
                Some(seg) if seg.ident == "Result" => match first_type_arg(seg) {
                    Some(ok) => {
                        let err_span = match &seg.arguments {
                            PathArguments::AngleBracketed(a) => a
                                .args
                                .iter()
                                .filter(|arg| matches!(arg, GenericArgument::Type(_)))
                                .nth(1)
                                .map_or_else(|| seg.ident.span(), Spanned::span),
                            _ => seg.ident.span(),
                        };
                        Output::Result(ok.clone(), err_span)
                    }
                    None => Output::Plain((**ty).clone()),
                },
                _ => Output::Plain((**ty).clone()),
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
        let output_ok = match &self.output {
            Output::Unit => true,
            Output::Plain(t) | Output::Result(t, _) => {
                !matches!(t, Type::Reference(_) | Type::ImplTrait(_))
            }
        };
        !generic && output_ok && !self.params.iter().any(|p| matches!(p, TaskParam::Invalid))
    }

    pub(crate) fn ident(&self) -> &Ident {
        &self.item.sig.ident
    }

    pub(crate) fn inputs(&self) -> impl Iterator<Item = (&str, &Type, InputMode, Span)> {
        self.params.iter().filter_map(|p| match p {
            TaskParam::Input {
                name,
                ty,
                mode,
                span,
            } => Some((name.as_str(), ty, *mode, *span)),
            _ => None,
        })
    }
}
