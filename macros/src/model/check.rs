//! The rules a `#[model]` item must follow, one function each. Whether the type implements
//! `Predict` with these rows, and whether the rows derive `Schema`, is left to rustc, with
//! checks generated at the user's tokens (see `codegen`).

use super::args::Ctxt;
use super::ast::ModelItem;

/// A model type is concrete: a stored model is loaded by its type's name, so
/// `struct M<T>` has no one type to load into.
pub(crate) fn check_generics(cx: &Ctxt, model: &ModelItem) {
    if !model.generics.params.is_empty() {
        cx.spanned(
            &model.generics,
            "a `#[model]` type cannot be generic: a stored model is loaded by its type's name; wrap a concrete instance in a struct",
        );
    }
}
