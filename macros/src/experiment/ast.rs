//! The typed model of an `#[experiment]` item; every node keeps the `syn` node it came from so
//! checks and codegen can point at the user's tokens.

use syn::{Expr, ExprRange, Ident, ItemFn, ItemStruct, Type};

use super::args::{Ctxt, ExperimentArgs, ParamArgs};

/// What a field's type is, for literal defaults and ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Float,
    Bool,
    Str,
    Path,
    /// `Option<T>` of a known kind.
    Opt(Inner),
    /// A type we do not know; it must implement `ParamValue`.
    Other,
}

/// The kind inside an `Option`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inner {
    Int,
    Float,
    Bool,
    Str,
    Path,
    Other,
}

fn last_ident(ty: &Type) -> Option<(&Ident, &syn::PathArguments)> {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            p.path.segments.last().map(|s| (&s.ident, &s.arguments))
        }
        Type::Group(g) => last_ident(&g.elem),
        _ => None,
    }
}

fn inner_kind(ty: &Type) -> Inner {
    match last_ident(ty).map(|(i, _)| i.to_string()).as_deref() {
        Some("u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize") => {
            Inner::Int
        }
        Some("f32" | "f64") => Inner::Float,
        Some("bool") => Inner::Bool,
        Some("String") => Inner::Str,
        Some("PathBuf") => Inner::Path,
        _ => Inner::Other,
    }
}

pub(crate) fn kind_of(ty: &Type) -> Kind {
    if let Some((ident, syn::PathArguments::AngleBracketed(args))) = last_ident(ty)
        && ident == "Option"
        && let Some(syn::GenericArgument::Type(inner)) = args.args.first()
    {
        return Kind::Opt(inner_kind(inner));
    }
    match inner_kind(ty) {
        Inner::Int => Kind::Int,
        Inner::Float => Kind::Float,
        Inner::Bool => Kind::Bool,
        Inner::Str => Kind::Str,
        Inner::Path => Kind::Path,
        Inner::Other => Kind::Other,
    }
}

/// A struct of parameters.
pub(crate) struct ParamStruct {
    /// The struct as the user wrote it, without `#[param]` attributes.
    pub(crate) item: ItemStruct,
    /// The experiment name (attribute `name`, else the struct's name).
    pub(crate) name: String,
    pub(crate) serde: bool,
    pub(crate) fields: Vec<ParamField>,
}

/// One parameter.
pub(crate) struct ParamField {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    pub(crate) kind: Kind,
    /// The key: the field name without a raw-identifier prefix.
    pub(crate) key: String,
    pub(crate) default: Option<Expr>,
    pub(crate) range: Option<ExprRange>,
    pub(crate) help: String,
}

fn doc_text(attrs: &[syn::Attribute]) -> String {
    let mut lines = Vec::new();
    for a in attrs {
        if let syn::Meta::NameValue(nv) = &a.meta
            && nv.path.is_ident("doc")
            && let Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            lines.push(s.value().trim().to_string());
        }
    }
    lines.join(" ").trim().to_string()
}

impl ParamStruct {
    pub(crate) fn from_syn(cx: &Ctxt, args: &ExperimentArgs, mut item: ItemStruct) -> ParamStruct {
        let mut fields = Vec::new();
        match &mut item.fields {
            syn::Fields::Named(named) => {
                for f in named.named.iter_mut() {
                    let mut pa = ParamArgs::empty();
                    f.attrs.retain(|a| {
                        if a.path().is_ident("param") {
                            pa.parse_attr(cx, a);
                            false
                        } else {
                            true
                        }
                    });
                    let Some(ident) = f.ident.clone() else { continue };
                    let help = pa.help().unwrap_or_else(|| doc_text(&f.attrs));
                    let key = ident.to_string().trim_start_matches("r#").to_string();
                    fields.push(ParamField {
                        kind: kind_of(&f.ty),
                        ty: f.ty.clone(),
                        key,
                        default: pa.default(),
                        range: pa.range(),
                        help,
                        ident,
                    });
                }
            }
            other => cx.spanned(
                &*other,
                "`#[experiment]` needs a struct with named fields, one per parameter: `struct Train { lr: f64 }`",
            ),
        }
        let name = args
            .name
            .get()
            .map(|l| l.value())
            .unwrap_or_else(|| item.ident.to_string());
        ParamStruct {
            item,
            name,
            serde: args.serde.get().copied().unwrap_or(true),
            fields,
        }
    }
}

/// `#[experiment] fn train(params: P, run: &mut Run) -> Result<T, E>`.
pub(crate) struct EntryFn {
    pub(crate) item: ItemFn,
    /// The experiment name, if given; else the params type's `NamedExperiment::EXPERIMENT`.
    pub(crate) name: Option<String>,
    /// `P`.
    pub(crate) params_ty: Option<Type>,
}

impl EntryFn {
    pub(crate) fn from_syn(cx: &Ctxt, args: &ExperimentArgs, item: ItemFn) -> EntryFn {
        if args.serde.get().is_some() {
            cx.spanned(
                &item.sig.ident,
                "`serde` applies to parameter structs, not to `#[experiment]` functions",
            );
        }
        let inputs: Vec<&syn::FnArg> = item.sig.inputs.iter().collect();
        let mut params_ty = None;
        if inputs.len() != 2 {
            cx.spanned(
                &item.sig.inputs,
                "an `#[experiment]` function takes two arguments: `(params: TrainParams, run: &mut Run)`",
            );
        } else {
            match inputs[0] {
                syn::FnArg::Typed(pt) if !matches!(*pt.ty, Type::Reference(_)) => {
                    params_ty = Some((*pt.ty).clone())
                }
                other => cx.spanned(
                    other,
                    "the first argument is the parameter struct, by value: `params: TrainParams`",
                ),
            }
            // `&mut _` is the tracking run; the compiler confirms the type (an alias of `Run`
            // is fine).
            let is_run = matches!(inputs[1], syn::FnArg::Typed(pt)
                if matches!(&*pt.ty, Type::Reference(r) if r.mutability.is_some()));
            if !is_run {
                cx.spanned(
                    inputs[1],
                    "the second argument is the tracking run: `run: &mut Run`",
                );
            }
        }
        // Whether the return type is a `Result` is the compiler's to say (an alias is one
        // too): `run_experiment` takes a `fn(..) -> Result<T, E>`. Only a missing return type is
        // certain to be wrong.
        if let syn::ReturnType::Default = &item.sig.output {
            cx.spanned(
                &item.sig.ident,
                "an `#[experiment]` function returns a `Result`, so a failure ends the run FAILED",
            );
        }
        if item.sig.asyncness.is_some() {
            cx.spanned(
                item.sig.asyncness,
                "an `#[experiment]` function cannot be `async`",
            );
        }
        EntryFn {
            name: args.name.get().map(|l| l.value()),
            item,
            params_ty,
        }
    }
}
