//! Attribute arguments: `#[experiment(...)]` and `#[param(...)]`, read against the option table
//! all macros share (`common::attr`), which rejects repeats and lists the valid keys. Errors are
//! collected in a [`Ctxt`] and reported together.

use proc_macro2::{Span, TokenStream};
use syn::{Expr, ExprRange, LitStr};

pub(crate) use crate::common::Errors as Ctxt;
use crate::common::attr::{self, EXPERIMENT, PARAM, Values};

/// One attribute option: its value and where it was written.
pub(crate) struct Opt<T> {
    value: Option<(T, Span)>,
}

impl<T> Opt<T> {
    fn from(value: Option<(T, Span)>) -> Self {
        Opt { value }
    }

    pub(crate) fn get(&self) -> Option<&T> {
        self.value.as_ref().map(|(v, _)| v)
    }
}

/// Options of `#[experiment(...)]`.
pub(crate) struct ExperimentArgs {
    /// `name = "iris"`: the experiment runs are recorded in.
    pub(crate) name: Opt<LitStr>,
    /// `serde = false`: do not derive `Serialize`/`Deserialize`.
    pub(crate) serde: Opt<bool>,
}

impl ExperimentArgs {
    pub(crate) fn parse(cx: &Ctxt, tokens: TokenStream) -> ExperimentArgs {
        let values = attr::parse(&EXPERIMENT, tokens, cx);
        ExperimentArgs {
            name: Opt::from(values.lit_str("name")),
            serde: Opt::from(values.bool("serde")),
        }
    }
}

/// Options of `#[param(...)]` on a field.
pub(crate) struct ParamArgs {
    /// The options of every `#[param]` on the field.
    values: Values,
}

impl ParamArgs {
    pub(crate) fn empty() -> ParamArgs {
        ParamArgs {
            values: Values::default(),
        }
    }

    /// Parses one `#[param(...)]` attribute into `self` (a field may carry several).
    pub(crate) fn parse_attr(&mut self, cx: &Ctxt, attr: &syn::Attribute) {
        attr::parse_attr(&PARAM, attr, &mut self.values, cx);
    }

    /// `default = 100`: a literal or an expression of the field's type.
    pub(crate) fn default(&self) -> Option<Expr> {
        self.values.expr("default").map(|(e, _)| e)
    }

    /// `range = 0.0..=1.0`.
    pub(crate) fn range(&self) -> Option<ExprRange> {
        self.values.range("range").map(|(r, _)| r)
    }

    /// `help = "..."`: overrides the doc comment.
    pub(crate) fn help(&self) -> Option<String> {
        self.values.string("help").map(|(h, _)| h)
    }
}
