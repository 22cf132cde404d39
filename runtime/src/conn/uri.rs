//! Airflow's two text forms of a connection: the URI (`Connection._parse_from_uri` and
//! `get_uri`) and the JSON object (`Connection.from_json`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::Connection;
use super::mask::MASK;

/// The query parameter holding the whole `extra` as JSON.
const EXTRA_KEY: &str = "__extra__";

/// What Python's `urllib.parse.quote(s, safe="")` leaves alone: letters, digits and `-._~`.
pub(super) const QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Airflow's `_normalize_conn_type`: `postgresql` is `postgres`, and `-` becomes `_` (a URI
/// scheme cannot hold `_`).
fn normalize_conn_type(scheme: &str) -> String {
    if scheme == "postgresql" {
        "postgres".to_owned()
    } else {
        scheme.replace('-', "_")
    }
}

fn decode(part: &str, what: &str) -> Result<String, String> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("the {what} is not UTF-8 once percent-decoded"))
}

/// `application/x-www-form-urlencoded` decoding, as Python's `parse_qsl`: `+` is a space.
fn decode_form(part: &str, what: &str) -> Result<String, String> {
    decode(&part.replace('+', " "), what)
}

/// Parses the URI form; the error says what is wrong, without repeating the URI (it may hold a
/// password).
pub(super) fn parse(id: &str, uri: &str) -> Result<Connection, String> {
    let uri = uri.trim();
    let schemes = uri.matches("://").count();
    if schemes == 0 {
        return Err(
            "it has no `type://` at the start, as in `postgres://user:pass@host:5432/db`".into(),
        );
    }
    if schemes > 2 {
        return Err("it holds `://` more than twice".into());
    }
    let (scheme, rest) = uri.split_once("://").unwrap_or(("", uri));
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_'))
    {
        return Err(format!(
            "`{scheme}` is not a connection type; a URI starts with one such as `postgres://` or `http://`"
        ));
    }
    // `my-http://https://host/`: the host keeps its own protocol.
    let (protocol, rest) = if schemes == 2 {
        let (p, r) = rest.split_once("://").unwrap_or(("", rest));
        if p.is_empty() || p.contains('@') || p.contains(':') || p.contains('/') {
            return Err("a second `://` must follow a protocol directly after the type, as in `http://https://host`".into());
        }
        (Some(p), r)
    } else {
        (None, rest)
    };
    // Python's urlsplit: the fragment goes, then the query.
    let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (netloc, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match netloc.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, netloc),
    };
    let (login, password) = match userinfo {
        None => (None, None),
        Some(u) => {
            let (l, p) = match u.split_once(':') {
                Some((l, p)) => (l, Some(p)),
                None => (u, None),
            };
            let l = (!l.is_empty()).then(|| decode(l, "login")).transpose()?;
            let p = p
                .filter(|p| !p.is_empty())
                .map(|p| decode(p, "password"))
                .transpose()?;
            (l, p)
        }
    };
    let (host, port) = split_host_port(hostport)?;
    let host = decode(host, "host")?.to_lowercase();
    let host = match (protocol, host.is_empty()) {
        (Some(p), _) => Some(format!("{p}://{host}")),
        (None, true) => None,
        (None, false) => Some(host),
    };
    let schema = (!path.is_empty())
        .then(|| decode(path, "schema"))
        .transpose()?;
    let mut extra = Map::new();
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        let mut pairs = Vec::new();
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            pairs.push((decode_form(k, "query")?, decode_form(v, "query")?));
        }
        match pairs.iter().rev().find(|(k, _)| k == EXTRA_KEY) {
            Some((_, json)) => extra = parse_extra_json(json)?,
            None => {
                for (k, v) in pairs {
                    extra.insert(k, Value::String(v));
                }
            }
        }
    }
    Ok(Connection {
        id: id.to_owned(),
        conn_type: normalize_conn_type(&scheme.to_lowercase()),
        host,
        login,
        password,
        schema,
        port,
        extra,
    })
}

/// `host:port`, `[::1]:port`, `host` or nothing.
fn split_host_port(hostport: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(after) = hostport.strip_prefix('[') {
        match after.split_once(']') {
            Some((h, rest)) => match rest.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None if rest.is_empty() => (h, None),
                None => return Err(format!("`{rest}` after an IPv6 address is not `:port`")),
            },
            None => return Err("an IPv6 host lacks its closing `]`".into()),
        }
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| format!("port `{p}` is not a number from 0 to 65535"))?,
        ),
    };
    Ok((host, port))
}

fn parse_extra_json(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(format!("`{EXTRA_KEY}` holds JSON that is not an object")),
        Err(e) => Err(format!("`{EXTRA_KEY}` is not JSON: {e}")),
    }
}

/// The JSON form, with Airflow's field names.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonForm {
    conn_type: Option<String>,
    host: Option<String>,
    login: Option<String>,
    password: Option<String>,
    schema: Option<String>,
    port: Option<PortValue>,
    extra: Option<Value>,
    description: Option<String>,
}

/// Airflow casts `port` with `int()`, so `"5432"` is accepted as well as `5432`.
#[derive(Deserialize)]
#[serde(untagged)]
enum PortValue {
    Number(i64),
    Text(String),
}

pub(super) fn parse_json(id: &str, text: &str) -> Result<Connection, String> {
    let form: JsonForm = serde_json::from_str(text).map_err(|e| e.to_string())?;
    // Accepted as Airflow accepts it; nothing uses it.
    let _ = form.description;
    let port = match form.port {
        None => None,
        Some(PortValue::Number(n)) => Some(
            u16::try_from(n).map_err(|_| format!("port {n} is not a number from 0 to 65535"))?,
        ),
        Some(PortValue::Text(s)) => Some(
            s.trim()
                .parse::<u16>()
                .map_err(|_| format!("port `{s}` is not a number from 0 to 65535"))?,
        ),
    };
    let extra = match form.extra {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(Value::String(s)) if s.trim().is_empty() => Map::new(),
        Some(Value::String(s)) => parse_extra_json(&s)
            .map_err(|_| "`extra` is a string that does not hold a JSON object".to_owned())?,
        Some(_) => return Err("`extra` must be a JSON object".into()),
    };
    let conn_type = form
        .conn_type
        .filter(|t| !t.trim().is_empty())
        .ok_or("`conn_type` is missing, such as \"postgres\" or \"http\"")?;
    Ok(Connection {
        id: id.to_owned(),
        conn_type: normalize_conn_type(&conn_type),
        host: form.host,
        login: form.login,
        password: form.password,
        schema: form.schema,
        port,
        extra,
    })
}

fn quote(s: &str) -> String {
    utf8_percent_encode(s, QUOTE).to_string()
}

/// Python's `quote_plus` with `safe=""`, as `urlencode` writes a query.
fn quote_plus(s: &str) -> String {
    s.split(' ').map(quote).collect::<Vec<_>>().join("+")
}

/// Airflow's `get_uri`, with `password` written as given (percent-encoded, or a mask); `shown`
/// writes masked extra values as `***` rather than percent-encoded.
pub(super) fn render(c: &Connection, password: Option<&str>, shown: bool) -> String {
    let mut uri = format!("{}://", c.conn_type.to_lowercase().replace('_', "-"));
    let (protocol, host) = match c.host.as_deref().and_then(|h| h.split_once("://")) {
        Some((p, h)) => (Some(p), Some(h)),
        None => (None, c.host.as_deref()),
    };
    if let Some(p) = protocol {
        uri.push_str(p);
        uri.push_str("://");
    }
    let mut authority = String::new();
    if let Some(l) = &c.login {
        authority.push_str(&quote(l));
    }
    if let Some(p) = password {
        authority.push(':');
        authority.push_str(p);
    }
    if !authority.is_empty() {
        authority.push('@');
        uri.push_str(&authority);
    }
    let mut host_block = host
        .filter(|h| !h.is_empty())
        .map(quote)
        .unwrap_or_default();
    if let Some(port) = c.port {
        if host_block.is_empty() && authority.is_empty() {
            host_block.push('@');
        }
        host_block.push_str(&format!(":{port}"));
    }
    if let Some(s) = c.schema.as_deref().filter(|s| !s.is_empty()) {
        host_block.push('/');
        host_block.push_str(&quote(s));
    }
    uri.push_str(&host_block);
    if !c.extra.is_empty() {
        uri.push_str(if c.schema.as_deref().is_some_and(|s| !s.is_empty()) {
            "?"
        } else {
            "/?"
        });
        let all_strings = c.extra.values().all(Value::is_string);
        if all_strings {
            let query: Vec<String> = c
                .extra
                .iter()
                .map(|(k, v)| {
                    let v = v.as_str().unwrap_or("");
                    // A masked value is shown as the mask, not percent-encoded.
                    let v = if shown && v == MASK {
                        v.to_owned()
                    } else {
                        quote_plus(v)
                    };
                    format!("{}={v}", quote_plus(k))
                })
                .collect();
            uri.push_str(&query.join("&"));
        } else {
            let json = Value::Object(c.extra.clone()).to_string();
            uri.push_str(&format!("{EXTRA_KEY}={}", quote_plus(&json)));
        }
    }
    uri
}

/// The URI form with the password percent-encoded: what `OXFLOW_CONN_<ID>` takes.
pub(super) fn to_uri(c: &Connection) -> String {
    render(c, c.password.as_deref().map(quote).as_deref(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(uri: &str) -> Connection {
        parse("c", uri).unwrap()
    }

    #[test]
    fn airflow_uri_form() {
        let c = p("postgres://user:p%40ss%2Fw@Host.Example:5432/my%20db?sslmode=disable&x=a+b");
        assert_eq!(c.conn_type, "postgres");
        assert_eq!(c.login.as_deref(), Some("user"));
        assert_eq!(c.password.as_deref(), Some("p@ss/w"));
        assert_eq!(c.host.as_deref(), Some("host.example"));
        assert_eq!(c.port, Some(5432));
        assert_eq!(c.schema.as_deref(), Some("my db"));
        assert_eq!(c.extra["sslmode"], "disable");
        assert_eq!(c.extra["x"], "a b");
        assert_eq!(p("postgresql://h").conn_type, "postgres");
        assert_eq!(
            p("google-cloud-platform://").conn_type,
            "google_cloud_platform"
        );
        let c = p("http://https://api.example.com:8443/v1");
        assert_eq!(c.host.as_deref(), Some("https://api.example.com"));
        assert_eq!((c.port, c.schema.as_deref()), (Some(8443), Some("v1")));
        let c = p("aws://?__extra__=%7B%22region_name%22%3A+%22eu-west-1%22%2C+%22n%22%3A+3%7D");
        assert_eq!(c.extra["region_name"], "eu-west-1");
        assert_eq!(c.extra["n"], 3);
        assert!(c.host.is_none() && c.login.is_none());
        let c = p("mysql://[::1]:3306/db");
        assert_eq!((c.host.as_deref(), c.port), (Some("::1"), Some(3306)));
    }

    #[test]
    fn mistakes_are_named_without_the_uri() {
        for (uri, msg) in [
            ("host:5432", "no `type://`"),
            ("postgres://u:secretpw@h:99999/db", "port `99999`"),
            ("a://b://c://d", "more than twice"),
            ("pg://h/?__extra__=%5B1%5D", "not an object"),
            ("pg://h/?__extra__=%7Bx", "is not JSON"),
            ("pg://h/%FF", "not UTF-8"),
        ] {
            let e = parse("c", uri).unwrap_err();
            assert!(e.contains(msg), "{uri}: {e}");
            assert!(!e.contains("secretpw"), "{e}");
        }
    }

    #[test]
    fn uri_round_trips_as_airflow_writes_it() {
        for uri in [
            "postgres://user:p%40ss@host:5432/db?sslmode=disable",
            "my-type://login@host",
            "http://https://example.com:443/api",
            "aws://@:9000",
        ] {
            assert_eq!(to_uri(&p(uri)), uri);
        }
        let c = p("aws://h/?__extra__=%7B%22n%22%3A+3%7D");
        assert_eq!(to_uri(&c), "aws://h/?__extra__=%7B%22n%22%3A3%7D");
        assert_eq!(p(&to_uri(&c)), c);
    }

    #[test]
    fn airflow_json_form() {
        let c = parse_json(
            "c",
            r#"{"conn_type": "postgres", "host": "h", "port": "5432", "extra": "{\"a\": 1}"}"#,
        )
        .unwrap();
        assert_eq!((c.port, c.extra["a"].as_i64()), (Some(5432), Some(1)));
        assert!(
            parse_json("c", r#"{"conn_type": "x", "hots": "h"}"#)
                .unwrap_err()
                .contains("unknown field `hots`")
        );
        assert!(
            parse_json("c", r#"{"host": "h"}"#)
                .unwrap_err()
                .contains("conn_type")
        );
        assert!(parse_json("c", r#"{"conn_type": "x", "port": 70000}"#).is_err());
    }
}
