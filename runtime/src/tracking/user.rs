//! Who starts a run: the name recorded as a run's user (`mlflow.user`, `user_id`).

/// The current user's name, as MLflow finds it (Python's `getpass.getuser()`): the first
/// non-empty of `LOGNAME`, `USER`, `LNAME` and `USERNAME`, else the account name the system
/// has for this process's user id (in containers and services `$USER` is often unset), else
/// `unknown`.
pub(crate) fn current_user() -> String {
    ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .or_else(account_name)
        .unwrap_or_else(|| "unknown".to_string())
}

/// The name of this process's user id in the system's user database (`getpwuid`), looked up
/// once per process: the lookup opens and parses `/etc/passwd` (or asks nscd), which cost more
/// than the rest of starting a run on the SQLite store, and a process's user id does not change.
fn account_name() -> Option<String> {
    static NAME: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    NAME.get_or_init(look_up_account_name).clone()
}

fn look_up_account_name() -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_name_is_the_one_id_reports() {
        // `id -un` asks the same user database; where it knows no name, neither do we.
        let id = std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap();
        let expected = id
            .status
            .success()
            .then(|| String::from_utf8_lossy(&id.stdout).trim().to_string());
        assert_eq!(account_name(), expected);
    }
}
