//! [`TrackingStore::ui_command`]: how to see what a store holds in MLflow's UI.

use super::TrackingStore;

impl TrackingStore {
    /// What a user types to see this store's runs in MLflow's UI: for a local file store, the
    /// `mlflow ui` command pointed at its absolute root (MLflow 3 refuses a file store unless
    /// `MLFLOW_ALLOW_FILE_STORE=true`); for an MLflow server, its URL.
    ///
    /// ```
    /// use oxflow_runtime::tracking::TrackingStore;
    /// let server = TrackingStore::open_uri("http://127.0.0.1:5000")?;
    /// assert_eq!(server.ui_command(), "http://127.0.0.1:5000");
    /// # let dir = tempfile::tempdir()?;
    /// let local = TrackingStore::open_uri(&dir.path().join("mlruns").display().to_string())?;
    /// assert!(local.ui_command().starts_with("MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri /"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ui_command(&self) -> String {
        match self {
            TrackingStore::File(s) => format!(
                "MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri {}",
                shell_quote(&s.root().display().to_string())
            ),
            TrackingStore::Rest(s) => s.uri().to_string(),
        }
    }
}

/// `s` as one shell word: unchanged when it holds only safe characters, else single-quoted.
fn shell_quote(s: &str) -> String {
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
