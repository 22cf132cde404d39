//! Collects every error of one macro invocation, so a user sees all their mistakes in one build
//! (serde_derive's `Ctxt`).

use std::fmt::Display;

use proc_macro2::Span;

#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(e) => e.combine(error),
            None => self.combined = Some(error),
        }
    }

    pub(crate) fn at(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn spanned(&mut self, tokens: impl quote::ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn finish(self) -> Result<(), syn::Error> {
        match self.combined {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
