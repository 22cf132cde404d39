//! How to point MLflow's UI at a store, as one shell word.

/// `s` as one shell word: unchanged when it holds only safe characters, else single-quoted.
pub(crate) fn shell_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%=,".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_spaces_or_quotes_stay_one_shell_word() {
        assert_eq!(shell_quote("/tmp/mlruns"), "/tmp/mlruns");
        assert_eq!(shell_quote("/tmp/my runs"), "'/tmp/my runs'");
        assert_eq!(shell_quote("/tmp/it's"), r"'/tmp/it'\''s'");
    }
}
