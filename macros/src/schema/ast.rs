//! The typed model of a `#[derive(Schema)]` struct; every node keeps the tokens it came from.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Generics, Ident, Type};

use super::args::{Ctxt, FieldArgs};

/// A row struct: one column per field.
pub(crate) struct RowStruct {
    pub(crate) ident: Ident,
    pub(crate) generics: Generics,
    pub(crate) fields: Vec<RowField>,
}

/// One field and its column.
pub(crate) struct RowField {
    pub(crate) member: Ident,
    pub(crate) ty: Type,
    /// The column name: the field's name without `r#`, or its `rename`.
    pub(crate) column: String,
    /// Where the column name was written (the rename, else the field name).
    pub(crate) column_span: Span,
}

impl RowStruct {
    /// Reads a struct with named fields; anything else is reported (`None`).
    pub(crate) fn from_syn(cx: &Ctxt, item: &syn::DeriveInput) -> Option<RowStruct> {
        let fields = match &item.data {
            syn::Data::Struct(s) => match &s.fields {
                syn::Fields::Named(named) => &named.named,
                other => {
                    cx.spanned(
                        other,
                        "`#[derive(Schema)]` needs named fields, one per column: `struct Row { x: f64 }`",
                    );
                    return None;
                }
            },
            _ => {
                cx.spanned(
                    &item.ident,
                    "`#[derive(Schema)]` goes on a struct with named fields, one per column: `struct Row { x: f64 }`",
                );
                return None;
            }
        };
        if fields.is_empty() {
            cx.spanned(
                &item.ident,
                "a row type needs at least one field: MLflow does not allow a schema without columns",
            );
            return None;
        }
        let fields = fields
            .iter()
            .filter_map(|f| {
                let member = f.ident.clone()?;
                let args = FieldArgs::parse(cx, &f.attrs);
                let (column, column_span) = args.rename().unwrap_or_else(|| {
                    let name = member.to_string();
                    let name = name.strip_prefix("r#").unwrap_or(&name).to_string();
                    (name, member.span())
                });
                Some(RowField {
                    member,
                    ty: f.ty.clone(),
                    column,
                    column_span,
                })
            })
            .collect();
        Some(RowStruct {
            ident: item.ident.clone(),
            generics: item.generics.clone(),
            fields,
        })
    }
}

impl RowField {
    /// Where the field's type was written.
    pub(crate) fn ty_span(&self) -> Span {
        self.ty.span()
    }
}
