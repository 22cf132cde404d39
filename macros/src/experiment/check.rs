//! Validation of an `#[experiment]` struct, one function per rule; every error names the fix.

use syn::{Expr, Lit};

use super::args::Ctxt;
use super::ast::{Inner, Kind, ParamField, ParamStruct};

pub(crate) fn check_struct(cx: &Ctxt, s: &ParamStruct) {
    check_no_generics(cx, s);
    for f in &s.fields {
        check_default_matches_type(cx, f);
        check_range_matches_type(cx, f);
    }
}

/// Parameter structs are concrete: `struct Train<T>` cannot be built from `-P` overrides.
fn check_no_generics(cx: &Ctxt, s: &ParamStruct) {
    if !s.item.generics.params.is_empty() {
        cx.spanned(
            &s.item.generics,
            "`#[experiment]` structs cannot be generic",
        );
    }
}

fn literal(e: &Expr) -> Option<&Lit> {
    match e {
        Expr::Lit(l) => Some(&l.lit),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => literal(&u.expr),
        Expr::Group(g) => literal(&g.expr),
        _ => None,
    }
}

fn type_text(f: &ParamField) -> String {
    quote::ToTokens::to_token_stream(&f.ty)
        .to_string()
        .replace(' ', "")
}

/// A literal default must fit the field: `#[param(default = "x")] n: u32` is refused with
/// "expects an integer such as 100".
fn check_default_matches_type(cx: &Ctxt, f: &ParamField) {
    let Some(default) = &f.default else { return };
    let Some(lit) = literal(default) else { return };
    let negative = matches!(default, Expr::Unary(_));
    let kind = match f.kind {
        Kind::Opt(i) => i,
        Kind::Int => Inner::Int,
        Kind::Float => Inner::Float,
        Kind::Bool => Inner::Bool,
        Kind::Str => Inner::Str,
        Kind::Path => Inner::Path,
        Kind::Other => return,
    };
    let ok = match (kind, lit) {
        (Inner::Int, Lit::Int(_)) => true,
        (Inner::Float, Lit::Int(_) | Lit::Float(_)) => true,
        (Inner::Bool, Lit::Bool(_)) => !negative,
        (Inner::Str | Inner::Path, Lit::Str(_)) => !negative,
        (Inner::Other, _) => true,
        _ => false,
    };
    if !ok {
        let example = match kind {
            Inner::Int => "an integer such as 100",
            Inner::Float => "a number such as 0.1",
            Inner::Bool => "`true` or `false`",
            Inner::Str => "a string such as \"adam\"",
            Inner::Path => "a path string such as \"data/train.csv\"",
            Inner::Other => "a value of the field's type",
        };
        cx.spanned(
            default,
            format!(
                "`#[param(default = ...)]` for a `{}` field expects {example}",
                type_text(f)
            ),
        );
    }
    if negative
        && matches!(kind, Inner::Int)
        && type_text(f).trim_start_matches("Option<").starts_with('u')
    {
        cx.spanned(default, format!("`{}` cannot be negative", type_text(f)));
    }
}

/// Range bounds must be numbers of the field's kind: `range = 0.0..=1.0` on an `f64`,
/// `range = 1..100` on an integer; `bool` and string fields take no range.
fn check_range_matches_type(cx: &Ctxt, f: &ParamField) {
    let Some(range) = &f.range else { return };
    let kind = match f.kind {
        Kind::Opt(i) => i,
        Kind::Int => Inner::Int,
        Kind::Float => Inner::Float,
        Kind::Bool => Inner::Bool,
        Kind::Str => Inner::Str,
        Kind::Path => Inner::Path,
        Kind::Other => return,
    };
    if matches!(kind, Inner::Bool | Inner::Str | Inner::Path) {
        cx.spanned(
            range,
            format!(
                "`#[param(range = ...)]` applies to numbers, not to a `{}` field",
                type_text(f)
            ),
        );
        return;
    }
    for bound in [&range.start, &range.end].into_iter().flatten() {
        match (kind, literal(bound)) {
            (Inner::Int, Some(Lit::Float(_))) => cx.spanned(
                bound,
                format!(
                    "the range of a `{}` field needs integer bounds such as 1..100",
                    type_text(f)
                ),
            ),
            (_, Some(Lit::Int(_) | Lit::Float(_))) | (_, None) => {}
            (_, Some(_)) => cx.spanned(bound, "range bounds must be numbers"),
        }
    }
}
