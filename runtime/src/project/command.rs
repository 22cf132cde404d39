//! Command templates: `{param}` substitution as MLflow does it (Python's `str.format` with every
//! value shell-quoted by `shlex.quote`), and argv templates that no shell ever reads.

use std::collections::BTreeMap;

/// Quotes `s` for a POSIX shell exactly as Python's `shlex.quote` does, which is what MLflow
/// applies to every parameter value it puts in a command: unchanged when it holds only
/// `[A-Za-z0-9_@%+=:,./-]`, `''` when empty, else wrapped in single quotes with each `'` written
/// as `'"'"'`.
///
/// Hand-written because the output must match Python's byte for byte (a run recorded by
/// `mlflow run` and one by oxflow see the same command); the `shlex` crate quotes differently.
///
/// ```
/// use oxflow_runtime::project::shell_quote;
/// assert_eq!(shell_quote("0.5"), "0.5");
/// assert_eq!(shell_quote(""), "''");
/// assert_eq!(shell_quote("a b"), "'a b'");
/// assert_eq!(shell_quote("it's; rm -rf /"), r#"'it'"'"'s; rm -rf /'"#);
/// ```
pub fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".to_string();
    }
    // Python's `[^\w@%+=:,./-]` with re.ASCII.
    let safe = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if s.chars().all(safe) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

/// A template that cannot be filled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{name}` names no parameter.
    #[error("the command refers to `{{{name}}}`, which is not a parameter of this entry point (parameters: {})", if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    UnknownParam {
        /// The name inside the braces.
        name: String,
        /// The entry point's parameters.
        known: Vec<String>,
    },
    /// A brace that is neither `{name}`, `{{` nor `}}`.
    #[error(
        "the command has an unmatched or unsupported `{brace}` at character {at}: write `{{name}}` for a parameter and `{{{{` or `}}}}` for a literal brace"
    )]
    Brace {
        /// The brace.
        brace: char,
        /// Its 0-based character offset.
        at: usize,
    },
}

/// Fills `{name}` placeholders in `template` with `values` (already quoted if they go to a
/// shell), with Python's `str.format` rules for braces: `{{` and `}}` are literal braces. The
/// format specs and conversions Python allows (`{x:>5}`, `{x!r}`) are refused: MLflow's
/// commands never need them and their meaning on text would surprise.
///
/// ```
/// use std::collections::BTreeMap;
/// use oxflow_runtime::project::fill_template;
/// let values = BTreeMap::from([("alpha".to_string(), "0.5".to_string())]);
/// assert_eq!(fill_template("train --alpha {alpha} {{x}}", &values)?, "train --alpha 0.5 {x}");
/// assert!(fill_template("train {beta}", &values).is_err());
/// # Ok::<(), oxflow_runtime::project::TemplateError>(())
/// ```
pub fn fill_template(
    template: &str,
    values: &BTreeMap<String, String>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let chars: Vec<char> = template.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'{') => {
                out.push('{');
                i += 2;
            }
            '}' if chars.get(i + 1) == Some(&'}') => {
                out.push('}');
                i += 2;
            }
            '{' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '}')
                    .map(|p| i + 1 + p)
                    .ok_or(TemplateError::Brace { brace: '{', at: i })?;
                let name: String = chars[i + 1..end].iter().collect();
                let valid = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
                if !valid {
                    return Err(TemplateError::Brace { brace: '{', at: i });
                }
                let v = values
                    .get(&name)
                    .ok_or_else(|| TemplateError::UnknownParam {
                        name: name.clone(),
                        known: values.keys().cloned().collect(),
                    })?;
                out.push_str(v);
                i = end + 1;
            }
            '}' => return Err(TemplateError::Brace { brace: '}', at: i }),
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// MLflow's command for an `MLproject` entry point: the template filled with shell-quoted
/// values, then ` --key value` for each parameter the entry point does not declare, both
/// quoted (`EntryPoint.compute_command`). The result is run by `bash -c`.
///
/// ```
/// use std::collections::BTreeMap;
/// use oxflow_runtime::project::mlflow_command;
/// let params = BTreeMap::from([("alpha".to_string(), "a b".to_string())]);
/// let extra = vec![("seed".to_string(), "7".to_string())];
/// assert_eq!(mlflow_command("python train.py {alpha}", &params, &extra)?,
///            "python train.py 'a b' --seed 7");
/// # Ok::<(), oxflow_runtime::project::TemplateError>(())
/// ```
pub fn mlflow_command(
    template: &str,
    params: &BTreeMap<String, String>,
    extra: &[(String, String)],
) -> Result<String, TemplateError> {
    let quoted: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.clone(), shell_quote(v)))
        .collect();
    let mut parts = vec![fill_template(template, &quoted)?];
    for (k, v) in extra {
        parts.push(format!("--{} {}", shell_quote(k), shell_quote(v)));
    }
    Ok(parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn braces_follow_str_format() {
        let v = map(&[("a", "1")]);
        assert_eq!(fill_template("{{{a}}}", &v).unwrap(), "{1}");
        assert!(matches!(
            fill_template("x } y", &v),
            Err(TemplateError::Brace { brace: '}', at: 2 })
        ));
        assert!(fill_template("{a:>3}", &v).is_err());
        assert!(fill_template("{", &v).is_err());
        assert!(fill_template("{}", &v).is_err());
        let e = fill_template("{b}", &v).unwrap_err().to_string();
        assert!(e.contains("`{b}`") && e.contains("parameters: a"), "{e}");
    }

    #[test]
    fn quoting_matches_python() {
        // Values printed by Python 3.11's shlex.quote.
        for (raw, quoted) in [
            ("abc", "abc"),
            ("a-b_c.d/e:f,g=h+i@j%k", "a-b_c.d/e:f,g=h+i@j%k"),
            ("$HOME", "'$HOME'"),
            ("a\"b", "'a\"b'"),
            ("é", "'é'"),
            ("x\ny", "'x\ny'"),
            ("'", "''\"'\"''"),
        ] {
            assert_eq!(shell_quote(raw), quoted, "{raw:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        // Whatever the value, bash reads the quoted word back as exactly that value.
        #[test]
        fn bash_reads_quoted_values_back(value in "[ -~\t\né]{0,20}") {
            let out = std::process::Command::new("bash")
                .arg("-c")
                .arg(format!("printf %s {}", shell_quote(&value)))
                .output()
                .unwrap();
            prop_assert_eq!(String::from_utf8(out.stdout).unwrap(), value);
        }
    }
}
