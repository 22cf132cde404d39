//! The options of `#[task(...)]`.

use proc_macro2::{Span, TokenStream};
use syn::Lit;
use syn::parse::Parser;

use crate::common::{
    Errors, Site, TASK_OPTIONS, TaskOptionArgs, literal, option_value, parse_task_option,
    skip_option_value,
};

pub(crate) struct TaskArgs {
    pub(crate) id: Option<(String, Span)>,
    pub(crate) options: TaskOptionArgs,
}

impl TaskArgs {
    pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> TaskArgs {
        let mut out = TaskArgs {
            id: None,
            options: TaskOptionArgs::default(),
        };
        let parser = syn::meta::parser(|meta| {
            if parse_task_option(&meta, &mut out.options, Site::Task, errors)? {
                return Ok(());
            }
            if meta.path.is_ident("id") {
                let Some(expr) = option_value(&meta, Site::Task, "id", errors)? else {
                    return Ok(());
                };
                match literal(&expr) {
                    Some(Lit::Str(s)) if is_valid_id(&s.value()) => {
                        crate::common::set_once_id(&mut out.id, s.value(), s.span(), Site::Task, errors)
                    }
                    _ => errors.spanned(
                        &expr,
                        "`#[task(id = ...)]` expects a string of letters, digits, `_`, `-` or `.`, such as \"load_data\"",
                    ),
                }
                return Ok(());
            }
            let name = meta
                .path
                .get_ident()
                .map_or_else(|| "?".to_owned(), ToString::to_string);
            errors.spanned(
                &meta.path,
                format!(
                    "unknown `#[task]` option `{name}`; expected one of: id, {}",
                    TASK_OPTIONS.join(", ")
                ),
            );
            skip_option_value(&meta)?;
            Ok(())
        });
        if let Err(e) = parser.parse2(args) {
            errors.push(e);
        }
        out
    }
}

/// Task ids appear in file paths and MLflow tags, so they keep to a safe alphabet.
pub(crate) fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 250
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !id.starts_with('.')
}
