//! `#[model(...)]` options, read against the option table all macros share (`common::attr`).

use proc_macro2::{Span, TokenStream};
use syn::Type;

pub(crate) use crate::common::Errors as Ctxt;
use crate::common::attr::{self, MODEL};

/// Options of `#[model(...)]`, each with where it was written.
pub(crate) struct ModelArgs {
    /// `input = HouseRow`: the row type `predict` takes.
    pub(crate) input: Option<(Type, Span)>,
    /// `output = PricePrediction`: the row type it returns.
    pub(crate) output: Option<(Type, Span)>,
    /// `name = "house-prices"`: the name the type is registered under.
    pub(crate) name: Option<(String, Span)>,
    /// `params = Knobs`: the inference parameters `predict_with` takes.
    pub(crate) params: Option<(Type, Span)>,
}

impl ModelArgs {
    pub(crate) fn parse(cx: &Ctxt, tokens: TokenStream) -> ModelArgs {
        let values = attr::parse(&MODEL, tokens, cx);
        ModelArgs {
            input: values.ty("input"),
            output: values.ty("output"),
            name: values.string("name"),
            params: values.ty("params"),
        }
    }
}
