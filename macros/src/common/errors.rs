//! Collects every error of one macro invocation, so a user sees all their mistakes in one build
//! (serde_derive's `Ctxt`).

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::Span;

/// The errors found so far. Shared by `&`, so a parser callback and its caller can both add to
/// it.
#[derive(Default)]
pub(crate) struct Errors {
    combined: RefCell<Option<syn::Error>>,
}

impl Errors {
    pub(crate) fn push(&self, error: syn::Error) {
        let mut combined = self.combined.borrow_mut();
        match &mut *combined {
            Some(e) => e.combine(error),
            None => *combined = Some(error),
        }
    }

    pub(crate) fn at(&self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn spanned(&self, tokens: impl quote::ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn finish(self) -> Result<(), syn::Error> {
        match self.combined.into_inner() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_kept_in_order() {
        let errors = Errors::default();
        errors.at(Span::call_site(), "first");
        errors.at(Span::call_site(), "second");
        let messages: Vec<String> = errors
            .finish()
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(messages, ["first", "second"]);
    }
}
