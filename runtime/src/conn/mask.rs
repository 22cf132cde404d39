//! The secrets masker: connection secrets become `***` in whatever oxflow writes down.
//!
//! As Airflow's secrets masker, it is one filter for the whole process. A DAG run registers the
//! secrets of the connections it looks up ([`mask_secret`]); from then on every task log line,
//! every tag and param written to the tracking store and every recorded error passes through
//! [`redact`]. What counts as a secret is Airflow's rule: a connection's password, and the
//! values of extra fields whose names contain one of [`SENSITIVE_WORDS`] (in any case).
//!
//! A secret shorter than [`MIN_SECRET_LEN`] characters is not masked in free text: hiding every
//! `abc` in a log would hide ordinary words and still tell little. `Display` and `Debug` of a
//! [`Connection`](super::Connection) mask its password whatever its length.
//!
//! ```
//! use oxflow_runtime::conn::mask;
//! mask::mask_secret("tr0ub4dor&3");
//! assert_eq!(mask::redact("login with tr0ub4dor&3 now"), "login with *** now");
//! assert!(mask::is_sensitive_key("Service_Api_Key") && !mask::is_sensitive_key("region"));
//! ```

use std::borrow::Cow;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use percent_encoding::utf8_percent_encode;
use serde_json::Value;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Airflow's default sensitive field names: an extra field whose name contains one of them
/// (case aside) holds a secret.
pub const SENSITIVE_WORDS: &[&str] = &[
    "access_token",
    "api_key",
    "apikey",
    "authorization",
    "passphrase",
    "passwd",
    "password",
    "private_key",
    "secret",
    "token",
    "keyfile_dict",
    "service_account",
];

/// Secrets shorter than this are not masked in free text.
pub const MIN_SECRET_LEN: usize = 5;

/// Registered secrets, longest first, so a secret that contains another is masked whole.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());
/// Whether any secret is registered: the common case, none, costs one atomic load per line.
static ANY: AtomicBool = AtomicBool::new(false);

/// Whether a field named `name` holds a secret (Airflow's `should_hide_value_for_key`): its
/// name, lower-cased, contains a sensitive word.
///
/// ```
/// use oxflow_runtime::conn::mask::is_sensitive_key;
/// assert!(is_sensitive_key("refresh_token") && is_sensitive_key("PASSWORD"));
/// assert!(!is_sensitive_key("sslmode"));
/// ```
pub fn is_sensitive_key(name: &str) -> bool {
    let name = name.trim().to_lowercase();
    SENSITIVE_WORDS.iter().any(|w| name.contains(w))
}

/// Registers `secret`, and its percent-encoded form (as it appears in a connection URI), to be
/// masked from now on in this process. Secrets shorter than [`MIN_SECRET_LEN`] are ignored.
///
/// ```
/// use oxflow_runtime::conn::mask;
/// mask::mask_secret("p@ss word!");
/// assert_eq!(mask::redact("uri: pg://u:p%40ss%20word%21@h"), "uri: pg://u:***@h");
/// ```
pub fn mask_secret(secret: &str) {
    if secret.chars().count() < MIN_SECRET_LEN {
        return;
    }
    // As Python's `quote` writes it into a URI, and with every other character encoded too.
    let quoted = utf8_percent_encode(secret, super::uri::QUOTE).to_string();
    let encoded = utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC).to_string();
    let mut secrets = SECRETS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for s in [secret.to_owned(), quoted, encoded] {
        if !secrets.contains(&s) {
            secrets.push(s);
        }
    }
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    ANY.store(true, Ordering::Release);
}

/// `text` with every registered secret replaced by `***`; borrowed when there is none in it.
///
/// ```
/// use oxflow_runtime::conn::mask;
/// assert!(matches!(mask::redact("nothing secret here"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn redact(text: &str) -> Cow<'_, str> {
    if !ANY.load(Ordering::Acquire) {
        return Cow::Borrowed(text);
    }
    let secrets = SECRETS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut out = Cow::Borrowed(text);
    for s in secrets.iter() {
        if out.contains(s.as_str()) {
            out = Cow::Owned(out.replace(s.as_str(), MASK));
        }
    }
    out
}

/// Every string inside `v`, at any depth.
pub(super) fn strings_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|v| strings_in(v, out)),
        Value::Object(m) => m.values().for_each(|v| strings_in(v, out)),
        Value::Number(n) => out.push(n.to_string()),
        _ => {}
    }
}

/// The strings under sensitive keys anywhere inside `v`.
pub(super) fn sensitive_strings_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Array(a) => a.iter().for_each(|v| sensitive_strings_in(v, out)),
        Value::Object(m) => {
            for (k, v) in m {
                if is_sensitive_key(k) {
                    strings_in(v, out);
                } else {
                    sensitive_strings_in(v, out);
                }
            }
        }
        _ => {}
    }
}

/// Replaces the value of every sensitive key inside `v` by `***` (Airflow's `redact` of a dict).
pub(super) fn redact_sensitive_fields(v: &mut Value) {
    match v {
        Value::Array(a) => a.iter_mut().for_each(redact_sensitive_fields),
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if is_sensitive_key(k) {
                    *v = Value::String(MASK.to_owned());
                } else {
                    redact_sensitive_fields(v);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longer_secrets_are_masked_whole_and_short_ones_not_at_all() {
        mask_secret("abcd");
        mask_secret("unit-secret-1");
        mask_secret("unit-secret-12345");
        assert_eq!(
            redact("a unit-secret-12345 and unit-secret-1, abcd"),
            "a *** and ***, abcd"
        );
    }

    #[test]
    fn sensitive_fields_are_found_at_any_depth() {
        let mut v = serde_json::json!({"auth": {"Bearer_Token": "t", "user": "u"}, "list": [{"secret": 1}]});
        let mut found = Vec::new();
        sensitive_strings_in(&v, &mut found);
        assert_eq!(found, ["t", "1"]);
        redact_sensitive_fields(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"auth": {"Bearer_Token": "***", "user": "u"}, "list": [{"secret": "***"}]})
        );
    }
}
