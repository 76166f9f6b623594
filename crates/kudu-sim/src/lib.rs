//! A Kudu simulator: Linux (KuduLite) and Windows (Kudu) personalities, a real HOME on disk,
//! deployments driven by real pushes, locks with real semantics, a virtual clock, faults on
//! demand, and a control API under `/_sim/`. Every behaviour traces to `kudu-facts.md`.
//!
//! The state ([`kudu::Kudu`]) is driven by requests and by `advance(now)`; it knows nothing
//! about sockets. `server.rs` is the thin HTTP shell (axum): auth, pages, faults, request log.
//! Start one simulator per test with [`Sim::start`] on port 0; it stops when the
//! [`SimHandle`] is dropped.

mod api;
mod archive;
mod config;
mod control;
mod deployment;
mod faults;
mod home;
pub mod kudu;
mod pages;
mod processes;
mod scenarios;
mod server;
mod time;
mod trace;
mod vfs;
mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context;
use rand::Rng;

pub use archive::zip_files;
pub use config::{H2_MAX_STREAMS, Personality, Quirks, SimConfig, UnauthAnswer};
pub use control::SimState;
pub use deployment::{DeployStatus, StatusFile};
pub use faults::{FaultKind, FaultRule};
pub use kudu::FailMode;
pub use scenarios::{SCENARIOS, Scenario, app_zip};
pub use server::{AFFINITY_COOKIE, RequestRecord, SESSION_COOKIE, STRICT_CSP};
pub use time::VTime;
pub use wire::{SimRequest, SimResponse};

use server::{Shared, lock};

/// A running simulator; stops when dropped.
pub struct SimHandle {
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub url: String,
    pub addr: SocketAddr,
    /// The Basic-auth password of `$<site>`.
    pub password: String,
    shared: Arc<Shared>,
    server: axum_server::Handle<SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Starts simulators.
pub struct Sim;

impl Sim {
    /// Binds `config.addr`, loads `config.scenario` and serves until the handle drops.
    pub async fn start(config: SimConfig) -> anyhow::Result<SimHandle> {
        // Another crate in the process may have picked aws-lc-rs; ours must be explicit.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let password = config.password.clone().unwrap_or_else(|| {
            let mut rng = rand::rng();
            (0..24)
                .map(|_| {
                    let c = rng.random_range(0..62u8);
                    (match c {
                        0..=9 => b'0' + c,
                        10..=35 => b'a' + c - 10,
                        _ => b'A' + c - 36,
                    }) as char
                })
                .collect()
        });
        let shared = Arc::new(Shared::new(&config, password.clone())?);
        let listener = std::net::TcpListener::bind(config.addr)
            .with_context(|| format!("cannot bind {}", config.addr))?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new()
            .fallback(server::entry)
            .with_state(shared.clone());
        let handle = axum_server::Handle::new();
        // TCP_NODELAY on every accepted connection, as Kestrel (which serves Kudu on Linux)
        // sets by default. Without it, Nagle's algorithm holds a reply's second write until
        // the browser's delayed ACK, about 40 ms, and each request round looked that much
        // slower than Kudu makes it.
        let server_task = if config.tls {
            let tls = tls_config(config.http2)?;
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls)
                .acceptor(axum_server::accept::NoDelayAcceptor::new());
            let mut server = axum_server::from_tcp(listener)?
                .acceptor(acceptor)
                .handle(handle.clone());
            if config.http2 {
                server
                    .http_builder()
                    .http2()
                    .max_concurrent_streams(H2_MAX_STREAMS);
            } else {
                server = server.http1_only();
            }
            tokio::spawn(async move {
                let _ = server.serve(app.into_make_service()).await;
            })
        } else {
            let server = axum_server::from_tcp(listener)?
                .acceptor(axum_server::accept::NoDelayAcceptor::new())
                .handle(handle.clone());
            tokio::spawn(async move {
                let _ = server.serve(app.into_make_service()).await;
            })
        };
        let ticker_shared = shared.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                if ticker_shared.realtime.load(Ordering::Relaxed) {
                    ticker_shared.tick_and_notify();
                }
            }
        });
        let scheme = if config.tls { "https" } else { "http" };
        Ok(SimHandle {
            url: format!("{scheme}://{addr}"),
            addr,
            password,
            shared,
            server: handle,
            tasks: vec![server_task, ticker],
        })
    }
}

/// A self-signed certificate for the SCM host forms wildcards can cover (facts §6) and
/// loopback; ALPN offers `h2` before `http/1.1` when `http2` is on, else only `http/1.1`.
fn tls_config(http2: bool) -> anyhow::Result<axum_server::tls_rustls::RustlsConfig> {
    let names: Vec<String> = [
        "*.scm.azurewebsites.net",
        "*.azurewebsites.net",
        "*.scm.westus-01.azurewebsites.net",
        "*.scm.eastus-01.azurewebsites.net",
        "*.scm.westeurope-01.azurewebsites.net",
        "*.scm.azurewebsites.us",
        "*.scm.azurewebsites.de",
        "*.scm.chinacloudsites.cn",
        "*.scm.myase.appserviceenvironment.net",
        "*.scm.myase.p.azurewebsites.net",
        "localhost",
        "127.0.0.1",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    let cert = rcgen::generate_simple_self_signed(names).context("cannot make a certificate")?;
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der())
        .map_err(anyhow::Error::msg)?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)?;
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(axum_server::tls_rustls::RustlsConfig::from_config(
        Arc::new(config),
    ))
}

impl SimHandle {
    /// Every request received so far (not `/_sim/` ones).
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.log).clone()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Advances the virtual clock by `secs`, running due transitions; returns the new now.
    pub fn advance(&self, secs: i64) -> VTime {
        self.shared.advance(secs)
    }

    /// The virtual now.
    pub fn now(&self) -> VTime {
        let mut kudu = lock(&self.shared.kudu);
        self.shared.tick(&mut kudu);
        kudu.now
    }

    /// Loads a scenario in the current personality (OS-specific ones switch).
    pub fn load_scenario(&self, name: &str) -> anyhow::Result<()> {
        self.shared
            .load_scenario(name, None)
            .map_err(anyhow::Error::msg)
    }

    /// Loads a scenario in a given personality.
    pub fn load_scenario_as(&self, name: &str, personality: Personality) -> anyhow::Result<()> {
        self.shared
            .load_scenario(name, Some(personality))
            .map_err(anyhow::Error::msg)
    }

    /// Kills the newest running deployment's worker (as `/_sim/deployment/kill`).
    pub fn kill_deployment(&self) -> bool {
        let killed = lock(&self.shared.kudu).kill_worker(None).is_some();
        self.shared.changed.notify_waiters();
        killed
    }

    /// Makes the newest running deployment hang.
    pub fn hang_deployment(&self) -> bool {
        lock(&self.shared.kudu).hang_worker(None).is_some()
    }

    /// The newest running deployment goes silent in its log for `secs` virtual seconds (a long
    /// `pip install` / `npm ci` step), then logs again; its end time does not move.
    pub fn quiet_deployment(&self, secs: i64) -> bool {
        let mut kudu = lock(&self.shared.kudu);
        let (line, resume) = scenarios::quiet_step_lines(kudu.personality, secs);
        kudu.quiet_worker(None, secs, &line, &resume).is_some()
    }

    /// The next push hangs.
    pub fn hang_next(&self) {
        lock(&self.shared.kudu).hang_next = true;
    }

    /// The next push fails.
    pub fn fail_next(&self, mode: FailMode) {
        lock(&self.shared.kudu).fail_next = Some(mode);
    }

    /// Restarts the Kudu process (workers die, Linux lock dir cleared, caches dropped).
    pub fn restart_kudu(&self) {
        lock(&self.shared.kudu).restart_kudu();
        self.shared.changed.notify_waiters();
    }

    /// Adds a fault rule.
    pub fn add_fault(&self, rule: FaultRule) {
        lock(&self.shared.faults).rules.push(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).rules.clear();
    }

    /// Sets (`Some`) or removes (`None`) an app setting.
    pub fn set_setting(&self, key: &str, value: Option<&str>) {
        let mut kudu = lock(&self.shared.kudu);
        match value {
            Some(v) => kudu.app_settings.insert(key.into(), v.into()),
            None => kudu.app_settings.remove(key),
        };
    }

    /// Rejects every session cookie issued so far; `/` issues none until `/login`.
    pub fn expire_sessions(&self) {
        self.shared.expire_sessions();
    }

    /// Makes the HOME-relative file `path` (e.g. `site/deployments/settings.xml`) impossible
    /// to open, as a file another process holds open is: `/api/zip` leaves it out silently,
    /// like Kudu's zip (sim README "Zip downloads"). `on: false` makes it readable again.
    pub fn set_unopenable(&self, path: &str, on: bool) {
        let mut kudu = lock(&self.shared.kudu);
        if on {
            kudu.unopenable.insert(path.to_string());
        } else {
            kudu.unopenable.remove(path);
        }
    }

    /// Marks `status.lock` as owned by another user (Linux failure mode, facts §2.4).
    pub fn deny_status_lock(&self) {
        lock(&self.shared.kudu).status_lock_denied = true;
    }

    /// Sends the strict CSP on `/` (or stops).
    pub fn set_strict_csp(&self, on: bool) {
        self.shared.csp.store(on, Ordering::Relaxed);
    }

    /// Switches real-time mode.
    pub fn set_realtime(&self, on: bool) {
        {
            let kudu = lock(&self.shared.kudu);
            self.shared.reanchor(&kudu);
        }
        self.shared.realtime.store(on, Ordering::Relaxed);
    }

    /// Changes switches at run time.
    pub fn set_quirks(&self, quirks: Quirks) {
        lock(&self.shared.config).quirks = quirks.clone();
        lock(&self.shared.kudu).quirks = quirks;
    }

    /// A snapshot of the state (as `/_sim/state`).
    pub fn state(&self) -> SimState {
        control::state(&self.shared)
    }

    /// The real directory standing for HOME.
    pub fn home(&self) -> PathBuf {
        lock(&self.shared.kudu).home.root().to_path_buf()
    }

    /// Runs `f` on the simulated Kudu (for tests that need a look inside).
    pub fn with_kudu<T>(&self, f: impl FnOnce(&mut kudu::Kudu) -> T) -> T {
        let mut kudu = lock(&self.shared.kudu);
        f(&mut kudu)
    }

    /// The `Authorization` header value for Basic auth as `$<site>`.
    pub fn basic_auth(&self, site: &str) -> String {
        use base64::Engine;
        let raw = format!("${site}:{}", self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    /// The Basic-auth header for the configured site name (bare-IP URLs).
    pub fn basic_auth_default(&self) -> String {
        let site = lock(&self.shared.config).site.clone();
        self.basic_auth(&site)
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.server.shutdown();
        for task in &self.tasks {
            task.abort();
        }
    }
}
