//! The rules a row struct must follow, one function each.

use super::args::Ctxt;
use super::ast::RowStruct;

/// A row type is concrete: `struct Row<T> { x: T }` has no one MLflow signature.
pub(crate) fn check_generics(cx: &Ctxt, row: &RowStruct) {
    if !row.generics.params.is_empty() {
        cx.spanned(
            &row.generics,
            "a row type cannot be generic: its columns are its signature; use concrete field types such as `f64`",
        );
    }
}

/// Column names are unique: `#[schema(rename = "x")] a: f64, x: f64` names two columns `x`.
pub(crate) fn check_unique_columns(cx: &Ctxt, row: &RowStruct) {
    for (i, f) in row.fields.iter().enumerate() {
        if let Some(first) = row.fields[..i].iter().find(|g| g.column == f.column) {
            cx.at(
                f.column_span,
                format!(
                    "column `{}` is already the column of field `{}`; give one of them another `#[schema(rename = \"...\")]`",
                    f.column, first.member
                ),
            );
        }
    }
}
