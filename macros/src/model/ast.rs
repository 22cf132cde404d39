//! The typed model of a `#[model]` item.

use syn::{Generics, Ident, Type};

use super::args::{Ctxt, ModelArgs};
use crate::common::attr::MODEL;

/// A model type.
pub(crate) struct ModelItem {
    pub(crate) ident: Ident,
    pub(crate) generics: Generics,
    /// The registered name: `name = ...`, else the type's name.
    pub(crate) name: String,
    pub(crate) input: Type,
    pub(crate) output: Type,
    /// `params = ...`: the inference parameters, when the model takes any.
    pub(crate) params: Option<Type>,
}

impl ModelItem {
    /// Reads the item and options; a missing option or another kind of item is reported
    /// (`None`).
    pub(crate) fn from_syn(cx: &Ctxt, args: &ModelArgs, item: &syn::Item) -> Option<ModelItem> {
        let (ident, generics) = match item {
            syn::Item::Struct(s) => (&s.ident, &s.generics),
            syn::Item::Enum(e) => (&e.ident, &e.generics),
            other => {
                cx.spanned(
                    other,
                    "`#[model]` goes on the struct or enum of a model: `#[model(input = Row, output = Prediction)] struct MyModel { .. }`",
                );
                return None;
            }
        };
        let required = |opt: &Option<(Type, proc_macro2::Span)>, key: &str, what: &str| {
            if opt.is_none() {
                cx.spanned(
                    ident,
                    format!(
                        "`#[model]` needs `{key} = ...`: {what}, such as `{}`",
                        MODEL.with_value(
                            key,
                            if key == "input" {
                                "HouseRow"
                            } else {
                                "PricePrediction"
                            }
                        )
                    ),
                );
            }
            opt.as_ref().map(|(t, _)| t.clone())
        };
        let input = required(&args.input, "input", "the row type `predict` takes");
        let output = required(&args.output, "output", "the row type `predict` returns");
        Some(ModelItem {
            ident: ident.clone(),
            generics: generics.clone(),
            name: args
                .name
                .as_ref()
                .map_or_else(|| ident.to_string(), |(n, _)| n.clone()),
            input: input?,
            output: output?,
            params: args.params.as_ref().map(|(t, _)| t.clone()),
        })
    }
}
