//! `HttpHook`: an HTTP client configured by a connection, as Airflow's `HttpHook` is.

use std::time::Duration;

use base64::Engine as _;

use super::{ConnError, Connection, mask};

/// An HTTP client of the service a connection names.
///
/// - **Base URL** as Airflow's `HttpHook` builds it: the host if it holds a protocol
///   (`https://api.example.com`), else `<schema or "http">://<host>`, then `:<port>`.
/// - **Auth**: `Authorization: Bearer <token>` when `extra` holds `token` (or `access_token`),
///   else basic auth from `login` and `password` when there is a login.
/// - **Retries**: a connection error, a timeout, or an answer 500, 502, 503, 504 or 429 is
///   tried again, up to [`HttpHook::retries`] more times, waiting [`HttpHook::retry_delay`],
///   doubled after each try (at most 60 s). Other answers are returned at once.
/// - **Timeout**: each try gets [`HttpHook::timeout`] (default 30 s) in all.
///
/// The client is blocking: call it from a sync task (oxflow runs those on tokio's blocking
/// pool), or through `tokio::task::spawn_blocking` in an async one.
///
/// ```no_run
/// use oxflow_runtime::conn::{Connection, HttpHook};
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let conn = Connection::from_uri("api", "http://svc:s3cret-pw@api.internal:8080")?;
/// let hook = HttpHook::new(&conn)?.retries(2);
/// let answer = hook.get("/health")?;
/// assert_eq!(answer.status, 200);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpHook {
    conn_id: String,
    base_url: String,
    auth: Option<String>,
    agent: ureq::Agent,
    retries: u32,
    retry_delay: Duration,
    timeout: Duration,
}

impl std::fmt::Debug for HttpHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpHook")
            .field("conn_id", &self.conn_id)
            .field("base_url", &self.base_url)
            .field("auth", &self.auth.as_ref().map(|_| mask::MASK))
            .field("retries", &self.retries)
            .finish()
    }
}

/// A final answer of an [`HttpHook`] request.
///
/// ```
/// let r = oxflow_runtime::conn::HttpResponse { status: 200, body: b"{\"ok\":true}".to_vec(), attempts: 1 };
/// assert_eq!(r.json::<serde_json::Value>().unwrap()["ok"], true);
/// assert_eq!(r.text(), "{\"ok\":true}");
/// ```
///
/// It is serializable, so it can be a task's (or an `HttpSensor`'s) stored output.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
    /// How many tries it took.
    pub attempts: u32,
}

impl HttpResponse {
    /// The body as text (invalid UTF-8 replaced).
    ///
    /// ```
    /// let r = oxflow_runtime::conn::HttpResponse { status: 200, body: b"ok".to_vec(), attempts: 1 };
    /// assert_eq!(r.text(), "ok");
    /// ```
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    ///
    /// ```
    /// let r = oxflow_runtime::conn::HttpResponse { status: 200, body: b"[1, 2]".to_vec(), attempts: 1 };
    /// assert_eq!(r.json::<Vec<u8>>().unwrap(), [1, 2]);
    /// ```
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// An HTTP request that failed: no answer after every try, or an error status.
///
/// ```
/// use oxflow_runtime::conn::{Connection, HttpError, HttpHook};
/// // Nothing listens on port 9 of this machine's loopback.
/// let conn = Connection::from_uri("down", "http://127.0.0.1:9").unwrap();
/// let err = HttpHook::new(&conn).unwrap().retries(0).get("/").unwrap_err();
/// assert!(matches!(err, HttpError::Failed { attempts: 1, .. }));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// No answer: every try failed to connect, timed out or got a retryable status.
    #[error("connection `{conn_id}`: {method} {url} failed after {attempts} tries: {message}")]
    Failed {
        /// The connection.
        conn_id: String,
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// How many tries were made.
        attempts: u32,
        /// The last failure.
        message: String,
    },
    /// The final answer was an error status (4xx or 5xx).
    #[error(
        "connection `{conn_id}`: {method} {url} answered {status}: {}",
        clip(body)
    )]
    Status {
        /// The connection.
        conn_id: String,
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The body of the answer.
        body: String,
    },
}

fn clip(s: &str) -> &str {
    let end = s.char_indices().nth(500).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

impl HttpHook {
    /// A client of the service `conn` names; an error if the connection has no host.
    ///
    /// ```
    /// use oxflow_runtime::conn::{Connection, HttpHook};
    /// let conn = Connection::from_uri("api", "http://api.example.com:8080?token=t0k3n-abc")?;
    /// assert_eq!(HttpHook::new(&conn)?.base_url(), "http://api.example.com:8080");
    /// let conn = Connection::from_json("api", r#"{"conn_type": "http", "host": "example.com", "schema": "https"}"#)?;
    /// assert_eq!(HttpHook::new(&conn)?.base_url(), "https://example.com");
    /// assert!(HttpHook::new(&Connection::new("api", "http")).is_err());
    /// # Ok::<(), oxflow_runtime::conn::ConnError>(())
    /// ```
    pub fn new(conn: &Connection) -> Result<HttpHook, ConnError> {
        let host = conn
            .host
            .as_deref()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| ConnError::Unusable {
                id: conn.id.clone(),
                reason: "an HTTP connection needs a host, such as `http://api.example.com`".into(),
            })?;
        let mut base_url = if host.contains("://") {
            host.to_owned()
        } else {
            let scheme = conn
                .schema
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or("http");
            format!("{scheme}://{host}")
        };
        if let Some(port) = conn.port {
            base_url.push_str(&format!(":{port}"));
        }
        let token = ["token", "access_token"]
            .iter()
            .find_map(|k| conn.extra_str(k));
        let auth = match (token, &conn.login) {
            (Some(t), _) => Some(format!("Bearer {t}")),
            (None, Some(login)) => {
                let pair = format!("{login}:{}", conn.password.as_deref().unwrap_or(""));
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
            (None, None) => None,
        };
        if let Some(a) = &auth {
            // The header as a whole is a secret too (a base64 pair shows nothing of the password).
            mask::mask_secret(a);
        }
        let hook = HttpHook {
            conn_id: conn.id.clone(),
            base_url,
            auth,
            agent: ureq::Agent::new_with_defaults(),
            retries: 3,
            retry_delay: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
        };
        Ok(hook.rebuild())
    }

    fn rebuild(mut self) -> HttpHook {
        self.agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(self.timeout))
            .build()
            .into();
        self
    }

    /// How many more tries after a failed one (default 3).
    ///
    /// ```
    /// # let conn = oxflow_runtime::conn::Connection::from_uri("api", "http://h").unwrap();
    /// let hook = oxflow_runtime::conn::HttpHook::new(&conn).unwrap().retries(0);
    /// ```
    pub fn retries(mut self, n: u32) -> HttpHook {
        self.retries = n;
        self
    }

    /// The wait before the first retry, doubled after each (default 1 s).
    ///
    /// ```
    /// # let conn = oxflow_runtime::conn::Connection::from_uri("api", "http://h").unwrap();
    /// let hook = oxflow_runtime::conn::HttpHook::new(&conn).unwrap().retry_delay(std::time::Duration::from_millis(100));
    /// ```
    pub fn retry_delay(mut self, d: Duration) -> HttpHook {
        self.retry_delay = d;
        self
    }

    /// The time one try may take in all, connecting included (default 30 s).
    ///
    /// ```
    /// # let conn = oxflow_runtime::conn::Connection::from_uri("api", "http://h").unwrap();
    /// let hook = oxflow_runtime::conn::HttpHook::new(&conn).unwrap().timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn timeout(mut self, d: Duration) -> HttpHook {
        self.timeout = d;
        self.rebuild()
    }

    /// The base URL requests are relative to.
    ///
    /// ```
    /// # let conn = oxflow_runtime::conn::Connection::from_uri("api", "http://https://api.example.com").unwrap();
    /// let hook = oxflow_runtime::conn::HttpHook::new(&conn).unwrap();
    /// assert_eq!(hook.base_url(), "https://api.example.com");
    /// ```
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The full URL of `endpoint` (Airflow's `url_from_endpoint`).
    ///
    /// ```
    /// # let conn = oxflow_runtime::conn::Connection::from_uri("api", "http://h:81").unwrap();
    /// let hook = oxflow_runtime::conn::HttpHook::new(&conn).unwrap();
    /// assert_eq!(hook.url("v1/items"), "http://h:81/v1/items");
    /// assert_eq!(hook.url("/v1/items"), "http://h:81/v1/items");
    /// ```
    pub fn url(&self, endpoint: &str) -> String {
        if !self.base_url.ends_with('/') && !endpoint.is_empty() && !endpoint.starts_with('/') {
            format!("{}/{endpoint}", self.base_url)
        } else {
            format!("{}{endpoint}", self.base_url)
        }
    }

    /// `GET endpoint`.
    ///
    /// ```no_run
    /// # let conn = oxflow_runtime::conn::Connection::from_uri("api", "http://api.internal").unwrap();
    /// let hook = oxflow_runtime::conn::HttpHook::new(&conn).unwrap();
    /// let items: serde_json::Value = hook.get("v1/items").unwrap().json().unwrap();
    /// ```
    pub fn get(&self, endpoint: &str) -> Result<HttpResponse, HttpError> {
        self.request("GET", endpoint, None)
    }

    /// `POST endpoint` with a JSON body.
    ///
    /// ```no_run
    /// # let conn = oxflow_runtime::conn::Connection::from_uri("api", "http://api.internal").unwrap();
    /// let hook = oxflow_runtime::conn::HttpHook::new(&conn).unwrap();
    /// let created = hook.post_json("v1/items", &serde_json::json!({"name": "x"})).unwrap();
    /// assert_eq!(created.status, 201);
    /// ```
    pub fn post_json(
        &self,
        endpoint: &str,
        body: &serde_json::Value,
    ) -> Result<HttpResponse, HttpError> {
        let bytes = body.to_string().into_bytes();
        self.request("POST", endpoint, Some(("application/json", &bytes)))
    }

    /// Any method, with an optional body and its content type; retried as the type says.
    ///
    /// ```no_run
    /// # let conn = oxflow_runtime::conn::Connection::from_uri("api", "http://api.internal").unwrap();
    /// let hook = oxflow_runtime::conn::HttpHook::new(&conn).unwrap();
    /// hook.request("PUT", "v1/items/7", Some(("text/plain", b"seven"))).unwrap();
    /// ```
    pub fn request(
        &self,
        method: &str,
        endpoint: &str,
        body: Option<(&str, &[u8])>,
    ) -> Result<HttpResponse, HttpError> {
        let url = self.url(endpoint);
        let method_upper = method.to_uppercase();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let why = match self.send_once(&method_upper, &url, body) {
                // 429 and 5xx gateway answers are retried while tries are left.
                Ok((status, _))
                    if matches!(status, 429 | 500 | 502 | 503 | 504) && attempt <= self.retries =>
                {
                    format!("HTTP {status}")
                }
                Ok((status, bytes)) if status >= 400 => {
                    return Err(HttpError::Status {
                        conn_id: self.conn_id.clone(),
                        method: method_upper,
                        url,
                        status,
                        body: String::from_utf8_lossy(&bytes).into_owned(),
                    });
                }
                Ok((status, body)) => {
                    return Ok(HttpResponse {
                        status,
                        body,
                        attempts: attempt,
                    });
                }
                Err(message) if attempt > self.retries => {
                    return Err(HttpError::Failed {
                        conn_id: self.conn_id.clone(),
                        method: method_upper,
                        url,
                        attempts: attempt,
                        message,
                    });
                }
                Err(message) => message,
            };
            let delay = self
                .retry_delay
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(Duration::from_secs(60));
            tracing::warn!(
                "connection `{}`: {method_upper} {url} failed ({why}); retrying in {:.1} s (try {} of {})",
                self.conn_id,
                delay.as_secs_f64(),
                attempt + 1,
                self.retries + 1
            );
            std::thread::sleep(delay);
        }
    }

    fn send_once(
        &self,
        method: &str,
        url: &str,
        body: Option<(&str, &[u8])>,
    ) -> Result<(u16, Vec<u8>), String> {
        let mut req = ureq::http::Request::builder().method(method).uri(url);
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let resp = match body {
            Some((ct, bytes)) => {
                let req = req
                    .header("Content-Type", ct)
                    .body(bytes)
                    .map_err(|e| e.to_string())?;
                self.agent.run(req)
            }
            None => self.agent.run(req.body(()).map_err(|e| e.to_string())?),
        };
        crate::tracking::rest_http::status_and_body(resp)
    }
}
