//! `blackbox.yml`, as typed structures: the probe modules the blackbox exporter offers.
//!
//! ```
//! use oxflow_runtime::monitor::blackbox::{BlackboxConfig, PING_MODULE};
//! let yaml = serde_saphyr::to_string(&BlackboxConfig::ping())?;
//! assert!(yaml.contains(PING_MODULE));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

/// The module probing a scoring server's `/ping`: HTTP, any 2xx is success.
pub const PING_MODULE: &str = "http_2xx";

/// The whole file.
#[derive(Debug, Clone, Serialize)]
pub struct BlackboxConfig {
    /// Modules by name; a scrape asks for one with `module=<name>`.
    pub modules: BTreeMap<String, Module>,
}

/// One probe module.
#[derive(Debug, Clone, Serialize)]
pub struct Module {
    /// `http`, `tcp`, `icmp` or `dns`.
    pub prober: String,
    /// How long a probe may take.
    pub timeout: String,
    /// Settings of the `http` prober.
    pub http: HttpProbe,
}

/// Settings of an HTTP probe.
#[derive(Debug, Clone, Serialize)]
pub struct HttpProbe {
    /// `ip4` or `ip6`: which address of a name to try first.
    pub preferred_ip_protocol: String,
    /// Status codes that count as success (empty: any 2xx).
    pub valid_status_codes: Vec<u16>,
    /// The request's method.
    pub method: String,
}

impl BlackboxConfig {
    /// The one module `monitor init` uses: [`PING_MODULE`], a GET answered with 2xx within 5 s.
    pub fn ping() -> BlackboxConfig {
        BlackboxConfig {
            modules: BTreeMap::from([(
                PING_MODULE.to_owned(),
                Module {
                    prober: "http".into(),
                    timeout: "5s".into(),
                    http: HttpProbe {
                        preferred_ip_protocol: "ip4".into(),
                        valid_status_codes: Vec::new(),
                        method: "GET".into(),
                    },
                },
            )]),
        }
    }
}
