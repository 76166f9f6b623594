//! A Kudu simulator: Linux (KuduLite) and Windows (Kudu) personalities, a real HOME on disk,
//! deployments driven by real pushes, locks with real semantics, a virtual clock, faults on
//! demand, and a control API under `/_sim/`. Every behaviour traces to `kudu-facts.md`.

use std::net::SocketAddr;

/// How to start a simulator.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub personality: Personality,
    pub scenario: String,
    /// `127.0.0.1:0` picks a free port.
    pub addr: SocketAddr,
    pub tls: bool,
    pub latency_ms: u64,
    pub build_ms: u64,
    /// The site name when the Host header is a bare IP.
    pub site: String,
    pub password: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Personality {
    Linux,
    Windows,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            personality: Personality::Linux,
            scenario: "healthy".into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
            latency_ms: 0,
            build_ms: 0,
            site: "myapp".into(),
            password: None,
        }
    }
}

/// A running simulator; stops when dropped.
pub struct SimHandle {
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub url: String,
    pub addr: SocketAddr,
    pub password: String,
}

pub struct Sim;

impl Sim {
    pub async fn start(config: SimConfig) -> anyhow::Result<SimHandle> {
        let _ = config;
        anyhow::bail!("kudu-sim is not built yet")
    }
}
