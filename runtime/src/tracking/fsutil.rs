//! File-system helpers: whole-file writes by rename, number formatting as Python writes it,
//! `file://` URIs as `pathlib` makes them.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::TrackingError;

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary name inside `tmp_dir`, unique across threads and processes — also across
/// containers sharing a volume, where two processes may have the same pid.
pub(crate) fn tmp_name(tmp_dir: &Path) -> PathBuf {
    static PROCESS_TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let tag = PROCESS_TAG.get_or_init(|| {
        let random = uuid::Uuid::new_v4().simple().to_string();
        format!("{}-{}", std::process::id(), &random[..8])
    });
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    tmp_dir.join(format!(".oxflow-{tag}-{n}.tmp"))
}

/// Writes `bytes` to `target` by writing a temporary file in `tmp_dir` (same file system) and
/// renaming it over `target`, so a reader sees the old or the new file, never a torn one.
/// No fsync: a power cut may lose the last writes, a killed process never tears a file.
pub(crate) fn write_atomic(
    tmp_dir: &Path,
    target: &Path,
    bytes: &[u8],
) -> Result<(), TrackingError> {
    let tmp = tmp_name(tmp_dir);
    write_new(&tmp, bytes)?;
    match fs::rename(&tmp, target) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // The target's directory is missing (a key with `/`): create it and retry once.
            if let Some(parent) = target.parent() {
                create_dir_all(parent)?;
            }
            fs::rename(&tmp, target).map_err(|e| {
                let _ = fs::remove_file(&tmp);
                TrackingError::io("write", target, e)
            })
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(TrackingError::io("write", target, e))
        }
    }
}

/// Creates `target` with `bytes` only if it does not exist yet, atomically and race-free
/// across processes (hard link of a complete temporary file). Returns `false` if it existed.
pub(crate) fn create_atomic(
    tmp_dir: &Path,
    target: &Path,
    bytes: &[u8],
) -> Result<bool, TrackingError> {
    let tmp = tmp_name(tmp_dir);
    write_new(&tmp, bytes)?;
    let mut res = fs::hard_link(&tmp, target);
    if let Err(e) = &res
        && e.kind() == std::io::ErrorKind::NotFound
        && let Some(parent) = target.parent()
    {
        create_dir_all(parent)?;
        res = fs::hard_link(&tmp, target);
    }
    let _ = fs::remove_file(&tmp);
    match res {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(TrackingError::io("write", target, e)),
    }
}

/// Writes a file that must not exist yet (inside a directory nobody else sees).
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> Result<(), TrackingError> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| TrackingError::io("create", path, e))?;
    f.write_all(bytes)
        .map_err(|e| TrackingError::io("write", path, e))
}

pub(crate) fn create_dir_all(path: &Path) -> Result<(), TrackingError> {
    fs::create_dir_all(path).map_err(|e| TrackingError::io("create directory", path, e))
}

pub(crate) fn create_dir(path: &Path) -> Result<(), TrackingError> {
    fs::create_dir(path).map_err(|e| TrackingError::io("create directory", path, e))
}

pub(crate) fn read_to_string(path: &Path) -> Result<String, TrackingError> {
    fs::read_to_string(path).map_err(|e| TrackingError::io("read", path, e))
}

/// Formats a float as Python's `repr` does (`1.0`, `0.5`, `1e-05`, `1e+20`, `nan`, `inf`,
/// `-inf`), which is how MLflow's file store writes metric values.
pub(crate) fn python_float_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // In Python's fixed-notation range, Rust's `Display` prints the same shortest round-trip
    // digits; only an integral value lacks the `.0` Python adds.
    let a = v.abs();
    if (1e-4..1e16).contains(&a) {
        let mut s = format!("{v}");
        if !s.contains('.') {
            s.push_str(".0");
        }
        return s;
    }
    repr_general(v)
}

/// Python's `repr` for any finite non-zero float, from the shortest round-trip digits.
fn repr_general(v: f64) -> String {
    // Shortest round-trip digits, as `d.ddde±x`.
    let sci = format!("{:e}", v);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(24);
    if neg {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                for _ in digits.len()..int_len {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    }
    out
}

/// Parses a metric value as Python's `float()` reads MLflow's files.
pub(crate) fn parse_python_float(s: &str) -> Option<f64> {
    match s {
        "nan" | "NaN" => Some(f64::NAN),
        "inf" | "Infinity" => Some(f64::INFINITY),
        "-inf" | "-Infinity" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

/// `file://` URI of an absolute path, percent-encoded as Python's `pathlib.Path.as_uri()` does.
pub(crate) fn path_to_file_uri(path: &Path) -> String {
    let s = path.to_string_lossy();
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str("file://");
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'.' | b'-' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The local path of a `file://` URI (percent-decoded), or `None` for another scheme.
pub(crate) fn file_uri_to_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    // `file://host/path` is not local; `file:///path` and `file:/path` are.
    let rest = if rest.starts_with('/') {
        rest
    } else {
        return None;
    };
    let bytes = rest.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    Some(PathBuf::from(String::from_utf8_lossy(&out).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345.0, "123456789012345.0"),
            (-2.5, "-2.5"),
            (100.0, "100.0"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (0.0, "0.0"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (0.1 + 0.2, "0.30000000000000004"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e15 + 0.5, "1000000000000000.5"),
            (0.00012345, "0.00012345"),
            (0.000099, "9.9e-05"),
            (-123.0, "-123.0"),
        ];
        for (v, want) in cases {
            assert_eq!(python_float_repr(v), want, "{v}");
            let back = parse_python_float(want).unwrap();
            assert!(back == v || (back.is_nan() && v.is_nan()));
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_path_matches_the_general_layout(v in proptest::num::f64::NORMAL) {
            if (1e-4..1e16).contains(&v.abs()) {
                proptest::prop_assert_eq!(python_float_repr(v), repr_general(v));
            }
            proptest::prop_assert_eq!(parse_python_float(&python_float_repr(v)), Some(v));
        }
    }

    #[test]
    fn file_uris_round_trip() {
        let p = Path::new("/tmp/a b/é/x");
        let uri = path_to_file_uri(p);
        assert_eq!(uri, "file:///tmp/a%20b/%C3%A9/x");
        assert_eq!(file_uri_to_path(&uri).unwrap(), p);
    }
}
