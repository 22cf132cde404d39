//! Pieces shared by the macros: error collection, the option table every attribute is parsed
//! against, and the task options both `#[task]` and `#[dag(default_args(...))]` accept.

pub(crate) mod attr;
mod errors;
mod options;

pub(crate) use errors::Errors;
pub(crate) use options::{
    TaskOptionArgs, check_retry_delays, duration_tokens, task_options_tokens,
};

/// Parses the item a function attribute is on; anything else gets `message`, with the item
/// emitted unchanged so other code still sees it.
pub(crate) fn parse_fn_item(
    item: proc_macro2::TokenStream,
    message: &str,
) -> Result<syn::ItemFn, proc_macro2::TokenStream> {
    syn::parse2(item.clone()).map_err(|_| {
        let e = syn::Error::new_spanned(&item, message).to_compile_error();
        quote::quote!(#item #e)
    })
}

/// A type as a user would write it, for messages: `Vec<f64>`, not `Vec < f64 >`.
pub(crate) fn type_text(ty: &syn::Type) -> String {
    let text = quote::ToTokens::to_token_stream(ty).to_string();
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        // Drop the spaces `to_string` puts around `<`, `>`, `&`, `::` and before `,`.
        if c == ' '
            && (matches!(prev, Some('<' | '&' | ':' | '('))
                || matches!(next, Some('<' | '>' | ',' | ':' | ')')))
        {
            continue;
        }
        out.push(c);
    }
    out
}

/// Levenshtein distance, for suggesting the name that was probably meant.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn types_are_shown_as_written() {
        for text in [
            "Vec<f64>",
            "&Option<&str>",
            "std::io::Result<u32>",
            "(u32, String)",
            "&'a [u8]",
            "HashMap<String, Vec<u8>>",
        ] {
            let ty: syn::Type = syn::parse_str(text).unwrap();
            assert_eq!(super::type_text(&ty), text);
        }
    }

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(super::edit_distance("retries", "retries"), 0);
        assert_eq!(super::edit_distance("retires", "retries"), 2);
        assert_eq!(super::edit_distance("timeot", "timeout"), 1);
        assert_eq!(super::edit_distance("", "abc"), 3);
    }
}
