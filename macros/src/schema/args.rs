//! Field attributes: `#[schema(rename = "...")]`, read against the option table all macros
//! share (`common::attr`), which rejects repeats and unknown keys.

pub(crate) use crate::common::Errors as Ctxt;
use crate::common::attr::{self, SCHEMA_FIELD, Values};

/// The options of every `#[schema]` on one field.
#[derive(Default)]
pub(crate) struct FieldArgs {
    values: Values,
}

impl FieldArgs {
    /// Reads the field's `#[schema(...)]` attributes.
    pub(crate) fn parse(cx: &Ctxt, attrs: &[syn::Attribute]) -> FieldArgs {
        let mut args = FieldArgs::default();
        for a in attrs.iter().filter(|a| a.path().is_ident("schema")) {
            attr::parse_attr(&SCHEMA_FIELD, a, &mut args.values, cx);
        }
        args
    }

    /// `rename = "price (EUR)"`: the column name, when it is not the field's.
    pub(crate) fn rename(&self) -> Option<(String, proc_macro2::Span)> {
        self.values.string("rename")
    }
}
