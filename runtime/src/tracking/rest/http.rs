//! The HTTP transport of the REST store: one request with bounded time and retries, and
//! MLflow's JSON error answers turned into [`TrackingError`]s.
//!
//! Every attempt has a connect bound ([`CONNECT_TIMEOUT`]) and a bound on each wait for bytes
//! ([`READ_TIMEOUT`]); transient failures (connection errors, timeouts, HTTP 429 and 5xx) are
//! retried with exponential backoff, each retry announced with a warning, until the total
//! budget (`OXFLOW_HTTP_TIMEOUT` seconds, default [`DEFAULT_TOTAL_TIMEOUT`]) is spent.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::tracking::TrackingError;

/// Longest wait for a TCP connection to the server.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the next bytes of an answer within one attempt.
pub(super) const READ_TIMEOUT: Duration = Duration::from_secs(15);
/// Default time one request may take, retries included.
pub(super) const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
/// The variable that sets the total time of one request, in seconds.
pub(super) const TIMEOUT_ENV: &str = "OXFLOW_HTTP_TIMEOUT";

pub(super) enum Body<'a> {
    None,
    Json(&'a Value),
    Bytes(&'a [u8]),
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// An HTTP client of one MLflow server.
pub(super) struct Http {
    pub(super) base: String,
    agent: ureq::Agent,
    auth: Option<String>,
    pub(super) max_attempts: u32,
    pub(super) backoff: Duration,
    pub(super) total: Duration,
}

/// The total budget from `OXFLOW_HTTP_TIMEOUT` (seconds, fractions allowed), else the default.
pub(super) fn total_timeout_from_env() -> Result<Duration, TrackingError> {
    match std::env::var(TIMEOUT_ENV) {
        Ok(s) if !s.trim().is_empty() => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| TrackingError::InvalidArgument {
                what: TIMEOUT_ENV,
                value: s.clone(),
                reason: "must be a positive number of seconds".into(),
            }),
        _ => Ok(DEFAULT_TOTAL_TIMEOUT),
    }
}

impl Http {
    pub(super) fn new(base: String, auth: Option<String>) -> Result<Http, TrackingError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_per_read(Some(READ_TIMEOUT))
            .build()
            .into();
        Ok(Http {
            base,
            agent,
            auth,
            max_attempts: 5,
            backoff: Duration::from_millis(200),
            total: total_timeout_from_env()?,
        })
    }

    /// One request with retries; returns the status and body of the final answer.
    pub(super) fn request(
        &self,
        method: Method,
        url: &str,
        query: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<(u16, Vec<u8>), TrackingError> {
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = self.total.saturating_sub(start.elapsed());
            let res = self.send_once(method, url, query, &body, remaining);
            let (why, last) = match res {
                Ok((status, body)) if matches!(status, 429 | 500 | 502 | 503 | 504) => {
                    (format!("HTTP {status}"), Ok((status, body)))
                }
                Ok(answer) => return Ok(answer),
                Err(message) => (message.clone(), Err(message)),
            };
            let delay = self
                .backoff
                .saturating_mul(1 << (attempt - 1).min(6))
                .min(Duration::from_secs(10));
            let out_of_time = start.elapsed() + delay >= self.total;
            if attempt >= self.max_attempts || out_of_time {
                return match last {
                    Ok(answer) => Ok(answer),
                    Err(message) => Err(TrackingError::Unreachable {
                        url: url.to_string(),
                        attempts: attempt,
                        message: if out_of_time {
                            format!(
                                "{message} (gave up after {:.1} s; {TIMEOUT_ENV} sets the limit in seconds)",
                                start.elapsed().as_secs_f64()
                            )
                        } else {
                            message
                        },
                    }),
                };
            }
            tracing::warn!(
                "MLflow server: {} {url} failed ({why}); retrying in {:.1} s (attempt {} of at most {})",
                method.name(),
                delay.as_secs_f64(),
                attempt + 1,
                self.max_attempts
            );
            std::thread::sleep(delay);
        }
    }

    fn send_once(
        &self,
        method: Method,
        url: &str,
        query: &[(&str, &str)],
        body: &Body<'_>,
        remaining: Duration,
    ) -> Result<(u16, Vec<u8>), String> {
        // No wait within this attempt may outlast the request's budget, and one silent attempt
        // leaves time for a second.
        let per_read = Some(
            READ_TIMEOUT
                .min(self.total / 2)
                .min(remaining)
                .max(Duration::from_millis(1)),
        );
        let connect = Some(CONNECT_TIMEOUT.min(remaining.max(Duration::from_millis(1))));
        let resp = match method {
            Method::Get | Method::Delete if matches!(body, Body::None) => {
                let mut r = if matches!(method, Method::Get) {
                    self.agent.get(url)
                } else {
                    self.agent.delete(url)
                };
                for (k, val) in query {
                    r = r.query(*k, *val);
                }
                if let Some(a) = &self.auth {
                    r = r.header("Authorization", a);
                }
                r.config()
                    .timeout_per_read(per_read)
                    .timeout_connect(connect)
                    .build()
                    .call()
            }
            _ => {
                let mut r = match method {
                    Method::Post => self.agent.post(url),
                    Method::Put => self.agent.put(url),
                    Method::Patch => self.agent.patch(url),
                    // DELETE with a JSON body (MLflow's registry deletes take one).
                    Method::Delete | Method::Get => self.agent.delete(url).force_send_body(),
                };
                for (k, val) in query {
                    r = r.query(*k, *val);
                }
                if let Some(a) = &self.auth {
                    r = r.header("Authorization", a);
                }
                let r = r
                    .config()
                    .timeout_per_read(per_read)
                    .timeout_connect(connect)
                    .build();
                match body {
                    Body::Json(j) => r.send_json(j),
                    Body::Bytes(b) => r.content_type("application/octet-stream").send(*b),
                    Body::None => r.send_empty(),
                }
            }
        };
        status_and_body(resp)
    }

    /// A call to `/api/2.0/mlflow/<endpoint>` with a JSON answer.
    pub(super) fn api(
        &self,
        method: Method,
        endpoint: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, TrackingError> {
        let url = format!("{}/api/2.0/mlflow/{endpoint}", self.base);
        let (status, bytes) =
            self.request(method, &url, query, body.map_or(Body::None, Body::Json))?;
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
        if (200..300).contains(&status) {
            return match parsed {
                Some(v @ Value::Object(_)) => Ok(v),
                None if bytes.iter().all(u8::is_ascii_whitespace) => Ok(json!({})),
                _ => Err(not_mlflow(&url, status, &bytes)),
            };
        }
        let code = parsed
            .as_ref()
            .and_then(|v| v["error_code"].as_str())
            .map(str::to_string);
        match code {
            Some(error_code) => Err(TrackingError::Server {
                endpoint: endpoint.to_string(),
                status,
                error_code,
                message: parsed
                    .as_ref()
                    .and_then(|v| v["message"].as_str())
                    .unwrap_or_default()
                    .to_string(),
            }),
            // A 4xx without MLflow's error shape: not an MLflow server (or not at this path).
            None if (400..500).contains(&status) && status != 429 => {
                Err(not_mlflow(&url, status, &bytes))
            }
            None => Err(server_error(endpoint, status, &bytes)),
        }
    }

    pub(super) fn post(&self, endpoint: &str, body: Value) -> Result<Value, TrackingError> {
        self.api(Method::Post, endpoint, &[], Some(&body))
    }

    pub(super) fn patch(&self, endpoint: &str, body: Value) -> Result<Value, TrackingError> {
        self.api(Method::Patch, endpoint, &[], Some(&body))
    }

    pub(super) fn delete(&self, endpoint: &str, body: Value) -> Result<Value, TrackingError> {
        self.api(Method::Delete, endpoint, &[], Some(&body))
    }

    pub(super) fn get(
        &self,
        endpoint: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, TrackingError> {
        self.api(Method::Get, endpoint, query, None)
    }
}

/// What a non-MLflow answer looked like, for [`TrackingError::NotMlflow`].
pub(super) fn not_mlflow(url: &str, status: u16, body: &[u8]) -> TrackingError {
    let text = String::from_utf8_lossy(body);
    let snippet: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let snippet: String = snippet.chars().take(120).collect();
    let kind = if text.trim_start().starts_with('<') {
        "an HTML page"
    } else if serde_json::from_slice::<Value>(body).is_ok() {
        "JSON without MLflow's fields"
    } else {
        "a body that is not JSON"
    };
    TrackingError::NotMlflow {
        url: url.to_string(),
        detail: format!("HTTP {status} with {kind}: `{snippet}`"),
    }
}

/// An error answer, with MLflow's `error_code` and message when the body has them.
pub(super) fn server_error(endpoint: &str, status: u16, body: &[u8]) -> TrackingError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    TrackingError::Server {
        endpoint: endpoint.to_string(),
        status,
        error_code: v["error_code"].as_str().unwrap_or("HTTP_ERROR").to_string(),
        message: v["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(500).collect()),
    }
}

/// Whether an error says the thing asked for does not exist.
pub(super) fn is_not_found(e: &TrackingError) -> bool {
    matches!(e, TrackingError::Server { status: 404, .. })
        || matches!(e, TrackingError::Server { error_code, .. } if error_code == "RESOURCE_DOES_NOT_EXIST")
}

/// A path segment with everything but unreserved characters percent-encoded.
pub(super) fn percent_encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648), for basic authentication.
pub(super) fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in input.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A ureq answer's status and whole body (up to 1 GiB), or the transport error as text: what
/// both the REST store and the HTTP hook read of every response.
pub(crate) fn status_and_body(
    resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(u16, Vec<u8>), String> {
    let mut resp = resp.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok((status, bytes))
}
