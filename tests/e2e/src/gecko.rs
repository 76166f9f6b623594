//! The Firefox side of the end-to-end tests: Firefox ESR driven through geckodriver (built
//! from crates.io by `cargo xtask test`'s set-up), with the Firefox e2e build of the extension
//! (`<target>/dist/extension-firefox-test`) installed as a temporary add-on.
//!
//! Firefox has no `--host-resolver-rules`. Instead every request goes through a small
//! `CONNECT` proxy ([`ScmProxy`]) that tunnels the Azure host suffixes to the test's simulator
//! and refuses anything else, so pages still load from `https://myapp.scm.azurewebsites.net/`
//! with exactly their production origin, and nothing leaves the machine. The simulator's
//! self-signed certificate is accepted with the `acceptInsecureCerts` capability.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpStream as StdTcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder};
use kudu_sim::{Sim, SimConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::{BROWSERS, E2e, MAPPED_SUFFIXES, free_port, target_dir};

/// The `moz-extension://` host the test profile gives the extension (Firefox otherwise picks
/// a random one per profile), so a test can name the extension's own pages.
pub const FIREFOX_EXTENSION_UUID: &str = "6f0e7c1a-4d2b-4c8e-9a51-0d3b5e7f9a21";

/// Firefox ESR as Debian installs it; `KUDU_E2E_FIREFOX` overrides.
const FIREFOX: &str = "/usr/bin/firefox-esr";

/// The Firefox e2e build of the extension (open shadow root), which `cargo xtask dist` writes.
pub fn firefox_test_extension_dir() -> anyhow::Result<PathBuf> {
    let dir = target_dir().join("dist").join("extension-firefox-test");
    let manifest = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("{} is missing: run cargo xtask dist first", dir.display()))?;
    if !text.contains("browser_specific_settings") {
        bail!("{} is not a Firefox build", manifest.display());
    }
    dir.canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))
}

/// The Firefox store zip `cargo xtask dist` writes (the shipped build: closed shadow root).
pub fn firefox_store_zip() -> anyhow::Result<PathBuf> {
    let dist = target_dir().join("dist");
    let version = env!("CARGO_PKG_VERSION");
    let zip = dist.join(format!("kudu-doctor-firefox-{version}.zip"));
    if !zip.is_file() {
        bail!("{} is missing: run cargo xtask dist first", zip.display());
    }
    zip.canonicalize()
        .with_context(|| format!("resolving {}", zip.display()))
}

/// Like [`crate::run`], in Firefox: starts the simulator, the proxy, geckodriver and a fresh
/// Firefox profile, installs the Firefox e2e build as a temporary add-on, runs `body`, then
/// always saves a screenshot to `<target>/e2e/<name>.png` and ends the session.
pub async fn run_in_firefox<F, Fut>(name: &str, config: SimConfig, body: F) -> anyhow::Result<()>
where
    F: FnOnce(E2e) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    run_in_firefox_with(name, config, &firefox_test_extension_dir()?, body).await
}

/// [`run_in_firefox`] with another add-on: an unpacked directory or a zip (the store zip).
pub async fn run_in_firefox_with<F, Fut>(
    name: &str,
    config: SimConfig,
    extension: &Path,
    body: F,
) -> anyhow::Result<()>
where
    F: FnOnce(E2e) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let _permit = BROWSERS
        .acquire()
        .await
        .context("the browser semaphore is closed")?;
    let sim = Sim::start(config).await.context("starting kudu-sim")?;
    let proxy = ScmProxy::start(sim.addr).await?;
    let driver = Geckodriver::start()?;
    let client = open_session(&driver, proxy.addr).await?;
    let e2e = E2e::new(client.clone(), sim, &driver.url, name);

    let outcome = match install_temporary_addon(&client, extension).await {
        Ok(id) => {
            let expected = "kudu-doctor@";
            if id.starts_with(expected) {
                tokio::spawn(body(e2e.clone())).await
            } else {
                Ok(Err(anyhow::anyhow!(
                    "geckodriver installed add-on {id:?}, not the Firefox build"
                )))
            }
        }
        Err(error) => Ok(Err(error)),
    };
    let result = e2e.finish(outcome).await;
    drop(driver);
    drop(proxy);
    result
}

/// Installs the extension at `dir` (unpacked, or a zip) for this session only, as
/// `about:debugging` would, and returns its add-on id.
pub async fn install_temporary_addon(client: &Client, dir: &Path) -> anyhow::Result<String> {
    let id = client
        .issue_cmd(AddonInstall {
            path: dir.to_string_lossy().into_owned(),
        })
        .await
        .with_context(|| format!("installing {} as a temporary add-on", dir.display()))?;
    id.as_str()
        .map(str::to_owned)
        .with_context(|| format!("geckodriver answered {id} instead of an add-on id"))
}

/// `POST /session/{id}/moz/addon/install`, geckodriver's add-on installer.
#[derive(Debug)]
struct AddonInstall {
    path: String,
}

impl fantoccini::wd::WebDriverCompatibleCommand for AddonInstall {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/moz/addon/install",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "path": self.path, "temporary": true });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// The Firefox preferences of a test profile: everything through [`ScmProxy`], no first-run
/// pages or background traffic, and MV3 host permissions granted at install (they are what
/// lets the content script run on SCM pages).
pub fn firefox_prefs(proxy: SocketAddr) -> Value {
    let host = proxy.ip().to_string();
    let port = proxy.port();
    json!({
        "network.proxy.type": 1,
        "network.proxy.http": host,
        "network.proxy.http_port": port,
        "network.proxy.ssl": host,
        "network.proxy.ssl_port": port,
        "network.proxy.no_proxies_on": "",
        "network.proxy.allow_hijacking_localhost": true,
        "network.http.http3.enable": false,
        "extensions.originControls.grantByDefault": true,
        "extensions.webextensions.uuids":
            json!({ "kudu-doctor@kudu-doctor.dev": FIREFOX_EXTENSION_UUID }).to_string(),
        "browser.shell.checkDefaultBrowser": false,
        "browser.startup.homepage_override.mstone": "ignore",
        "datareporting.policy.dataSubmissionEnabled": false,
        "toolkit.telemetry.reportingpolicy.firstRun": false,
        "app.update.disabledForTesting": true,
        "browser.safebrowsing.malware.enabled": false,
        "browser.safebrowsing.phishing.enabled": false,
        "captivedetect.canonicalURL": "",
        "network.captive-portal-service.enabled": false,
        "network.connectivity-service.enabled": false,
    })
}

async fn open_session(driver: &Geckodriver, proxy: SocketAddr) -> anyhow::Result<Client> {
    let binary = std::env::var("KUDU_E2E_FIREFOX").unwrap_or_else(|_| FIREFOX.into());
    let capabilities = json!({
        "browserName": "firefox",
        "acceptInsecureCerts": true,
        "moz:firefoxOptions": {
            "binary": binary,
            "args": ["-headless", "-width=1280", "-height=900"],
            "prefs": firefox_prefs(proxy),
        },
    });
    let Value::Object(capabilities) = capabilities else {
        bail!("capabilities are not an object");
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .with_context(|| format!("opening a Firefox session through {}", driver.url))
}

/// A geckodriver child process, killed (with the Firefox it started) on drop.
pub struct Geckodriver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Geckodriver {
    /// Starts geckodriver (`GECKODRIVER`, else `$CARGO_HOME/kudu-doctor-tools/geckodriver-*/bin`
    /// where `cargo xtask test` builds it, else `geckodriver` on `PATH`) on a free port and
    /// waits until it listens.
    pub fn start() -> anyhow::Result<Geckodriver> {
        let program = geckodriver_program();
        let port = free_port()?;
        let mut command = Command::new(&program);
        command
            .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
            // The Marionette port: any free one, so tests can run side by side.
            .args(["--marionette-port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so drop can end the Firefox it starts along with it.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().with_context(|| {
            format!(
                "starting {} (cargo xtask test builds it; or set GECKODRIVER)",
                program.display()
            )
        })?;
        let driver = Geckodriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        while StdTcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if Instant::now() >= deadline {
                bail!("geckodriver did not listen on port {port} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(driver)
    }
}

fn geckodriver_program() -> PathBuf {
    if let Some(program) = std::env::var_os("GECKODRIVER").filter(|path| !path.is_empty()) {
        return PathBuf::from(program);
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let built = cargo_home.and_then(|home| {
        let tools = std::fs::read_dir(home.join("kudu-doctor-tools")).ok()?;
        let mut found: Vec<PathBuf> = tools
            .flatten()
            .map(|entry| entry.path().join("bin").join("geckodriver"))
            .filter(|path| path.is_file())
            .collect();
        // The newest version when several are there.
        found.sort();
        found.pop()
    });
    built.unwrap_or_else(|| PathBuf::from("geckodriver"))
}

impl Drop for Geckodriver {
    fn drop(&mut self) {
        // `kill -- -PGID` ends geckodriver and the Firefox it started; the workspace forbids
        // the unsafe libc call. Best effort: a leftover is only a leaked process.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP `CONNECT` proxy on 127.0.0.1 that tunnels every host under [`MAPPED_SUFFIXES`] to
/// the simulator (whatever port was asked for) and answers anything else with 403. Stops when
/// dropped.
pub struct ScmProxy {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl ScmProxy {
    /// Listens on a free port and serves until dropped.
    pub async fn start(sim: SocketAddr) -> anyhow::Result<ScmProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding the CONNECT proxy")?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(async move {
                    // A failed tunnel is the browser's problem to report; the test sees it.
                    let _ = tunnel(client, sim).await;
                });
            }
        });
        Ok(ScmProxy { addr, task })
    }
}

impl Drop for ScmProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where a proxy request may go: the simulator for a `CONNECT` to a mapped host, else nowhere.
pub fn tunnel_target(request_head: &str) -> Option<&str> {
    let first = request_head.lines().next()?;
    let mut parts = first.split_whitespace();
    let (Some("CONNECT"), Some(authority)) = (parts.next(), parts.next()) else {
        return None;
    };
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host);
    let host_lower = host.to_ascii_lowercase();
    let mapped = MAPPED_SUFFIXES.iter().any(|pattern| {
        let suffix = pattern.trim_start_matches('*');
        host_lower.ends_with(suffix) && host_lower.len() > suffix.len()
    });
    mapped.then_some(host)
}

async fn tunnel(mut client: TcpStream, sim: SocketAddr) -> anyhow::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Byte by byte up to the blank line: the TLS hello that follows must stay unread.
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 || client.read(&mut byte).await? == 0 {
            bail!("a proxy request without a complete head");
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    if tunnel_target(&head).is_none() {
        client
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await?;
        return Ok(());
    }
    let mut upstream = TcpStream::connect(sim)
        .await
        .context("connecting to the simulator")?;
    client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
