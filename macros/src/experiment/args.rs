//! Attribute arguments: `#[experiment(...)]` and `#[param(...)]`, each keyword declared once,
//! set through one helper that rejects duplicates; unknown keys list the valid ones. Errors are
//! collected in a [`Ctxt`] and reported together.

use std::cell::RefCell;

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::{Expr, LitStr};

/// Collects every error of one expansion; merged with `syn::Error::combine` at the end.
pub(crate) struct Ctxt {
    errors: RefCell<Vec<syn::Error>>,
}

impl Ctxt {
    pub(crate) fn new() -> Ctxt {
        Ctxt {
            errors: RefCell::new(Vec::new()),
        }
    }

    pub(crate) fn push(&self, e: syn::Error) {
        self.errors.borrow_mut().push(e);
    }

    pub(crate) fn error(&self, span: Span, msg: impl std::fmt::Display) {
        self.push(syn::Error::new(span, msg));
    }

    pub(crate) fn spanned(&self, tokens: impl quote::ToTokens, msg: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, msg));
    }

    /// All errors combined into one, if any.
    pub(crate) fn finish(self) -> Result<(), syn::Error> {
        let mut errors = self.errors.into_inner().into_iter();
        let Some(mut first) = errors.next() else {
            return Ok(());
        };
        for e in errors {
            first.combine(e);
        }
        Err(first)
    }
}

/// One attribute option: its value and where it was written.
pub(crate) struct Opt<T> {
    attr: &'static str,
    name: &'static str,
    value: Option<(T, Span)>,
}

impl<T> Opt<T> {
    fn new(attr: &'static str, name: &'static str) -> Self {
        Opt {
            attr,
            name,
            value: None,
        }
    }

    /// Sets the option; a second value is an error naming the option.
    fn set(&mut self, cx: &Ctxt, span: Span, v: T) {
        if self.value.is_some() {
            cx.error(
                span,
                format!("`{}` given twice in `#[{}(...)]`", self.name, self.attr),
            );
        } else {
            self.value = Some((v, span));
        }
    }

    pub(crate) fn get(&self) -> Option<&T> {
        self.value.as_ref().map(|(v, _)| v)
    }

    pub(crate) fn take(self) -> Option<(T, Span)> {
        self.value
    }
}

/// Options of `#[experiment(...)]`.
pub(crate) struct ExperimentArgs {
    /// `name = "iris"`: the experiment runs are recorded in.
    pub(crate) name: Opt<LitStr>,
    /// `serde = false`: do not derive `Serialize`/`Deserialize`.
    pub(crate) serde: Opt<bool>,
}

const EXPERIMENT_KEYS: &str = "`name`, `serde`";
const PARAM_KEYS: &str = "`default`, `range`, `help`";

impl ExperimentArgs {
    pub(crate) fn parse(cx: &Ctxt, tokens: TokenStream) -> ExperimentArgs {
        let mut args = ExperimentArgs {
            name: Opt::new("experiment", "name"),
            serde: Opt::new("experiment", "serde"),
        };
        if tokens.is_empty() {
            return args;
        }
        let parser = syn::meta::parser(|meta: ParseNestedMeta<'_>| {
            let span = meta
                .path
                .segments
                .first()
                .map_or_else(Span::call_site, |s| s.ident.span());
            if meta.path.is_ident("name") {
                let lit: LitStr = meta.value()?.parse().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "`#[experiment(name = ...)]` expects a string such as \"iris\"",
                    )
                })?;
                if lit.value().trim().is_empty() {
                    cx.spanned(&lit, "the experiment name must not be empty");
                }
                args.name.set(cx, span, lit);
            } else if meta.path.is_ident("serde") {
                let lit: syn::LitBool = meta.value()?.parse().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "`#[experiment(serde = ...)]` expects `true` or `false`",
                    )
                })?;
                args.serde.set(cx, span, lit.value);
            } else {
                let key = quote::ToTokens::to_token_stream(&meta.path)
                    .to_string()
                    .replace(' ', "");
                return Err(meta.error(format!("unknown option `{key}` in `#[experiment(...)]`; valid options: {EXPERIMENT_KEYS}")));
            }
            Ok(())
        });
        if let Err(e) = syn::parse::Parser::parse2(parser, tokens) {
            cx.push(e);
        }
        args
    }
}

/// Options of `#[param(...)]` on a field.
pub(crate) struct ParamArgs {
    /// `default = 100`: a literal or an expression of the field's type.
    pub(crate) default: Opt<Expr>,
    /// `range = 0.0..=1.0`.
    pub(crate) range: Opt<syn::ExprRange>,
    /// `help = "..."`: overrides the doc comment.
    pub(crate) help: Opt<LitStr>,
}

impl ParamArgs {
    pub(crate) fn empty() -> ParamArgs {
        ParamArgs {
            default: Opt::new("param", "default"),
            range: Opt::new("param", "range"),
            help: Opt::new("param", "help"),
        }
    }

    /// Parses one `#[param(...)]` attribute into `self` (a field may carry several).
    pub(crate) fn parse_attr(&mut self, cx: &Ctxt, attr: &syn::Attribute) {
        let res = attr.parse_nested_meta(|meta| {
            let span = meta
                .path
                .segments
                .first()
                .map_or_else(Span::call_site, |s| s.ident.span());
            if meta.path.is_ident("default") {
                let e: Expr = meta.value()?.parse()?;
                self.default.set(cx, span, e);
            } else if meta.path.is_ident("range") {
                let e: Expr = meta.value()?.parse()?;
                match e {
                    Expr::Range(r) => self.range.set(cx, span, r),
                    other => cx.spanned(
                        other,
                        "`#[param(range = ...)]` expects a range such as 0.0..=1.0 or 1..100",
                    ),
                }
            } else if meta.path.is_ident("help") {
                let lit: LitStr = meta.value()?.parse().map_err(|e| {
                    syn::Error::new(e.span(), "`#[param(help = ...)]` expects a string")
                })?;
                self.help.set(cx, span, lit);
            } else {
                let key = quote::ToTokens::to_token_stream(&meta.path)
                    .to_string()
                    .replace(' ', "");
                return Err(meta.error(format!(
                    "unknown option `{key}` in `#[param(...)]`; valid options: {PARAM_KEYS}"
                )));
            }
            Ok(())
        });
        if let Err(e) = res {
            cx.push(e);
        }
    }
}
