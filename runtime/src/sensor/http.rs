//! `HttpSensor`: an HTTP endpoint answers as expected.

use std::sync::Arc;
use std::time::Duration;

use super::{Poke, SensorError};
use crate::conn::{Connection, HttpError, HttpHook, HttpResponse};
use crate::task::TaskContext;

/// What to GET: an endpoint of a connection, or a URL.
#[derive(Clone, Debug)]
enum Target {
    Conn { id: String, endpoint: String },
    Url { base: String, endpoint: String },
}

/// A check of a response's body.
type Check = Arc<dyn Fn(&HttpResponse) -> bool + Send + Sync>;

/// Ready once `GET` answers the expected status (200 unless set) and, if given, the response
/// passes a check: Airflow's `HttpSensor` with its `response_check`. The ready value is the
/// response.
///
/// Waiting is not failing: no answer (a refused connection, a timeout), a 404 (Airflow's
/// default), a 429, 502, 503 or 504 (a service starting or overloaded), a status given to
/// [`HttpSensor::wait_on_status`], another success status, or a body the check refuses are all
/// "not ready". Any other error status (a 401, a 500) fails the poke, as in Airflow. The sensor's own poke interval paces the tries, so the hook
/// does not retry within a poke. Requests go through [`HttpHook`]: a connection's base URL and
/// credentials, or a URL's.
///
/// ```no_run
/// use oxflow_runtime::exec::TaskContext;
/// use oxflow_runtime::sensor::{HttpSensor, Poke};
/// # fn demo(ctx: &TaskContext) -> Result<(), oxflow_runtime::sensor::SensorError> {
/// // `#[sensor(conns = ["features_api"])]` declares the connection.
/// let sensor = HttpSensor::connection("features_api", "v1/status")
///     .check(|r| r.text().contains("\"ready\": true"));
/// if let Poke::Ready(answer) = sensor.poke(ctx)? {
///     println!("{}", answer.text());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpSensor {
    target: Target,
    expected: u16,
    wait_on: Vec<u16>,
    check: Option<Check>,
    timeout: Duration,
}

impl std::fmt::Debug for HttpSensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSensor")
            .field("target", &self.target)
            .field("expected", &self.expected)
            .field("wait_on", &self.wait_on)
            .field("check", &self.check.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

impl HttpSensor {
    fn with(target: Target) -> HttpSensor {
        HttpSensor {
            target,
            expected: 200,
            wait_on: vec![404, 429, 502, 503, 504],
            check: None,
            timeout: Duration::from_secs(30),
        }
    }

    /// GETs `endpoint` of connection `conn_id`, which the sensor declares with
    /// `#[sensor(conns = ["<id>"])]` (looked up before the DAG run starts).
    ///
    /// ```
    /// let sensor = oxflow_runtime::sensor::HttpSensor::connection("api", "health");
    /// ```
    pub fn connection(conn_id: impl Into<String>, endpoint: impl Into<String>) -> HttpSensor {
        HttpSensor::with(Target::Conn {
            id: conn_id.into(),
            endpoint: endpoint.into(),
        })
    }

    /// GETs `url`; an error if it is not an `http://` or `https://` URL with a host.
    ///
    /// ```
    /// use oxflow_runtime::sensor::HttpSensor;
    /// assert!(HttpSensor::url("http://127.0.0.1:8080/health?deep=1").is_ok());
    /// let err = HttpSensor::url("localhost:8080/health").unwrap_err();
    /// assert!(err.to_string().contains("`localhost:8080/health` is not an http(s) URL"));
    /// ```
    pub fn url(url: &str) -> Result<HttpSensor, SensorError> {
        let bad = |reason: &str| SensorError::Url {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: ureq::http::Uri = url
            .parse()
            .map_err(|e: ureq::http::uri::InvalidUri| bad(&e.to_string()))?;
        let scheme = uri.scheme_str().ok_or_else(|| bad("it has no scheme"))?;
        if scheme != "http" && scheme != "https" {
            return Err(bad(&format!("its scheme is `{scheme}`")));
        }
        let authority = uri
            .authority()
            .filter(|a| !a.host().is_empty())
            .ok_or_else(|| bad("it has no host"))?;
        let endpoint = uri
            .path_and_query()
            .map_or_else(String::new, |p| p.as_str().to_owned());
        Ok(HttpSensor::with(Target::Url {
            base: format!("{scheme}://{authority}"),
            endpoint,
        }))
    }

    /// The status that means ready (default 200).
    ///
    /// ```
    /// let sensor = oxflow_runtime::sensor::HttpSensor::connection("api", "jobs/7").expect_status(204);
    /// ```
    pub fn expect_status(mut self, status: u16) -> HttpSensor {
        self.expected = status;
        self
    }

    /// One more error status that means "not ready" rather than a failure (404, 429, 502, 503
    /// and 504 already do).
    ///
    /// ```
    /// let sensor = oxflow_runtime::sensor::HttpSensor::connection("api", "jobs/7").wait_on_status(409);
    /// ```
    pub fn wait_on_status(mut self, status: u16) -> HttpSensor {
        if !self.wait_on.contains(&status) {
            self.wait_on.push(status);
        }
        self
    }

    /// A check of the response: `false` is "not ready" (Airflow's `response_check`).
    ///
    /// ```
    /// let sensor = oxflow_runtime::sensor::HttpSensor::connection("api", "jobs/7")
    ///     .check(|r| r.json::<serde_json::Value>().is_ok_and(|v| v["state"] == "done"));
    /// ```
    pub fn check(
        mut self,
        f: impl Fn(&HttpResponse) -> bool + Send + Sync + 'static,
    ) -> HttpSensor {
        self.check = Some(Arc::new(f));
        self
    }

    /// The time one request may take (default 30 s); past it, the poke is "not ready".
    ///
    /// ```
    /// let sensor = oxflow_runtime::sensor::HttpSensor::connection("api", "health")
    ///     .timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn timeout(mut self, d: Duration) -> HttpSensor {
        self.timeout = d;
        self
    }

    /// GETs once. Blocking: call it from a sync `#[sensor]` (run on tokio's blocking pool).
    ///
    /// ```
    /// use oxflow_runtime::exec::TaskContext;
    /// use oxflow_runtime::sensor::{HttpSensor, Poke};
    /// // Nothing listens on port 9 of the loopback: not ready, not a failure.
    /// let sensor = HttpSensor::url("http://127.0.0.1:9/health")?;
    /// assert_eq!(sensor.poke(&TaskContext::for_test("etl", "up"))?, Poke::NotReady);
    /// # Ok::<(), oxflow_runtime::sensor::SensorError>(())
    /// ```
    pub fn poke(&self, ctx: &TaskContext) -> Result<Poke<HttpResponse>, SensorError> {
        let (hook, endpoint) = match &self.target {
            Target::Conn { id, endpoint } => (HttpHook::new(ctx.connection(id)?)?, endpoint),
            Target::Url { base, endpoint } => {
                let mut conn = Connection::new("http_sensor", "http");
                conn.host = Some(base.clone());
                (HttpHook::new(&conn)?, endpoint)
            }
        };
        let hook = hook.retries(0).timeout(self.timeout);
        let url = hook.url(endpoint);
        match hook.get(endpoint) {
            Ok(r) if r.status != self.expected => {
                tracing::info!(
                    "GET {url} answered {}; waiting for {}",
                    r.status,
                    self.expected
                );
                Ok(Poke::NotReady)
            }
            Ok(r) => match &self.check {
                Some(check) if !check(&r) => {
                    tracing::info!("GET {url} answered {}; the check says not yet", r.status);
                    Ok(Poke::NotReady)
                }
                _ => Ok(Poke::Ready(r)),
            },
            Err(HttpError::Failed { message, .. }) => {
                tracing::info!("GET {url}: no answer yet ({message})");
                Ok(Poke::NotReady)
            }
            Err(HttpError::Status { status, .. }) if self.wait_on.contains(&status) => {
                tracing::info!("GET {url} answered {status}; waiting for {}", self.expected);
                Ok(Poke::NotReady)
            }
            Err(HttpError::Status { status, body, .. }) if status == self.expected => {
                // An error status that is the one expected (waiting for a 404 to appear).
                Ok(Poke::Ready(HttpResponse {
                    status,
                    body: body.into_bytes(),
                    attempts: 1,
                }))
            }
            Err(HttpError::Status { status, body, .. }) => Err(SensorError::Status {
                url,
                status,
                expected: self.expected,
                waits: self
                    .wait_on
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                body: body.chars().take(300).collect(),
            }),
        }
    }
}
