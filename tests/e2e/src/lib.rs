//! Helpers for the end-to-end tests: the built extension (the e2e test build from
//! `cargo xtask dist`) in real headless Chromium, driven through chromedriver, against a
//! `kudu-sim` over TLS that the browser reaches under real SCM host names.
//!
//! Each test gets its own simulator, chromedriver and browser profile ([`run`]), so tests never
//! share state. Chromium maps every Azure host suffix to the test's simulator with
//! `--host-resolver-rules`; a mapping with a port replaces the URL's port too, so pages load
//! from `https://myapp.scm.azurewebsites.net/` with exactly the origin they have in production.
//!
//! The test build's shadow root is open (the shipped build's is closed), so WebDriver can look
//! inside it: see [`E2e::launcher`] and [`E2e::in_shadow`].

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use kudu_sim::{Sim, SimConfig, SimHandle};
use serde_json::{Value, json};

pub use fantoccini;
pub use kudu_sim;

/// How long a wait for the page or the app may take before the test fails. Generous: the box
/// that runs CI has two cores shared with compilers.
pub const WAIT: Duration = Duration::from_secs(30);

/// The id of the element the loader attaches its shadow root to.
pub const HOST_ID: &str = "kudu-doctor-host";

/// Host suffixes mapped to the simulator: every SCM host form of kudu-facts §6 and the apps'
/// own sites beside them.
const MAPPED_SUFFIXES: [&str; 4] = [
    "*.azurewebsites.net",
    "*.azurewebsites.us",
    "*.chinacloudsites.cn",
    "*.appserviceenvironment.net",
];

/// At most this many browsers at once: each is heavy and the machine has two cores.
static BROWSERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// `<target>`: `CARGO_TARGET_DIR` when set, else the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

/// The e2e build of the extension (open shadow root), which `cargo xtask dist` writes.
pub fn test_extension_dir() -> anyhow::Result<PathBuf> {
    built_extension("extension-test")
}

/// The shipped build of the extension (closed shadow root), which `cargo xtask dist` writes.
pub fn shipped_extension_dir() -> anyhow::Result<PathBuf> {
    built_extension("extension")
}

fn built_extension(name: &str) -> anyhow::Result<PathBuf> {
    let dir = target_dir().join("dist").join(name);
    if !dir.join("manifest.json").is_file() || !dir.join("pkg").is_dir() {
        bail!("{} is missing: run cargo xtask dist first", dir.display());
    }
    warn_if_older_than_sources(&dir.join("manifest.json"));
    dir.canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))
}

/// A build older than the app's or the extension's sources tests yesterday's code; say so
/// (a warning only: the build may be right when only comments changed).
fn warn_if_older_than_sources(built: &Path) {
    let Ok(built_at) = built.metadata().and_then(|meta| meta.modified()) else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut pending: Vec<PathBuf> = ["src", "extension", "static", "crates/kudu-core/src"]
        .iter()
        .map(|dir| root.join(dir))
        .collect();
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if entry
                .metadata()
                .and_then(|meta| meta.modified())
                .is_ok_and(|modified| modified > built_at)
            {
                eprintln!(
                    "kudu-e2e: warning: {} is newer than {}; run cargo xtask dist to test it",
                    path.display(),
                    built.display()
                );
                return;
            }
        }
    }
}

/// The standalone page `cargo xtask dist` writes, for `SimConfig::static_dir`.
pub fn web_dist_dir() -> anyhow::Result<PathBuf> {
    let dir = target_dir().join("dist").join("web");
    if !dir.join("index.html").is_file() {
        bail!("{} is missing: run cargo xtask dist first", dir.display());
    }
    dir.canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))
}

/// A simulator config for browser tests: TLS, the standalone page under `/doctor/`, and the
/// scenario's "now" on the wall clock, since the browser's own clock (which the app reads) is
/// real.
pub fn browser_sim_config() -> anyhow::Result<SimConfig> {
    Ok(SimConfig {
        tls: true,
        static_dir: Some(web_dist_dir()?),
        wall_clock: true,
        ..SimConfig::default()
    })
}

/// `https://<host><path>`, as the browser sees an SCM (or app) site.
pub fn site_url(host: &str, path: &str) -> String {
    format!("https://{host}{path}")
}

/// Runs one end-to-end test: starts the simulator with `config`, chromedriver and a fresh
/// Chromium profile with the test build of the extension, runs `body`, then always saves a
/// screenshot to `<target>/e2e/<name>.png` and closes the browser, even when `body` fails or
/// panics.
pub async fn run<F, Fut>(name: &str, config: SimConfig, body: F) -> anyhow::Result<()>
where
    F: FnOnce(E2e) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    run_with_extension(name, config, &test_extension_dir()?, body).await
}

/// [`run`] with another build of the extension loaded (the shipped one, for the tests that
/// check what only it does).
pub async fn run_with_extension<F, Fut>(
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
    let driver = Chromedriver::start()?;
    let profile = tempfile::Builder::new()
        .prefix("kudu-e2e-profile-")
        .tempdir()
        .context("creating a browser profile dir")?;
    let client = open_session(&driver, profile.path(), extension, sim.addr).await?;
    let e2e = E2e::new(client, sim, &driver.url, name);
    let outcome = tokio::spawn(body(e2e.clone())).await;
    let result = e2e.finish(outcome).await;
    drop(driver);
    drop(profile);
    result
}

/// How a test ends, in every browser: the body's own error or panic first (it says what went
/// wrong), then the screenshot's, then closing the session's.
fn test_result(
    outcome: Result<anyhow::Result<()>, tokio::task::JoinError>,
    shot: anyhow::Result<PathBuf>,
    closed: Result<(), fantoccini::error::CmdError>,
) -> anyhow::Result<()> {
    match outcome {
        Ok(result) => {
            result?;
            shot?;
            closed.context("closing the WebDriver session")?;
            Ok(())
        }
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(join) => Err(join).context("the test body was cancelled"),
    }
}

/// One test's browser session and simulator. Cheap to clone.
#[derive(Clone)]
pub struct E2e {
    /// The WebDriver session, for anything the helpers do not cover.
    pub client: Client,
    /// The test's simulator.
    pub sim: Arc<SimHandle>,
    /// The chromedriver serving this session (`http://127.0.0.1:PORT`).
    pub driver_url: String,
    name: String,
}

impl E2e {
    pub(crate) fn new(client: Client, sim: SimHandle, driver_url: &str, name: &str) -> E2e {
        E2e {
            client,
            sim: Arc::new(sim),
            driver_url: driver_url.to_owned(),
            name: name.to_owned(),
        }
    }

    /// Ends a test in any browser: saves its screenshot, closes the session, and says how the
    /// test went ([`test_result`]). The caller then stops the driver and its helpers.
    pub(crate) async fn finish(
        self,
        outcome: Result<anyhow::Result<()>, tokio::task::JoinError>,
    ) -> anyhow::Result<()> {
        let shot = self.screenshot(&self.name).await;
        let closed = self.client.clone().close().await;
        drop(self);
        test_result(outcome, shot, closed)
    }

    /// Navigates and waits for the page to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    /// Runs `script`, a function body in which `root` is the loader's shadow root (null when
    /// the loader is not on the page), and returns what it returns.
    pub async fn in_shadow(&self, script: &str) -> anyhow::Result<Value> {
        let wrapped = format!(
            "const root = document.getElementById({HOST_ID:?})?.shadowRoot ?? null;\n{script}"
        );
        self.client
            .execute(&wrapped, vec![])
            .await
            .context("running a script in the page")
    }

    /// Whether the loader's host element is on the page.
    pub async fn has_loader_host(&self) -> anyhow::Result<bool> {
        let found = self
            .client
            .execute(
                &format!("return document.getElementById({HOST_ID:?}) !== null;"),
                vec![],
            )
            .await?;
        Ok(found == Value::Bool(true))
    }

    /// Opens the wizard with the launcher unless it opened by itself, and waits until it is.
    pub async fn open_wizard(&self) -> anyhow::Result<()> {
        let wizard = self
            .shadow_element(r#"[data-testid="kudu-doctor"]"#)
            .await?;
        if wizard.attr("data-open").await?.as_deref() != Some("true") {
            self.launcher().await?.click().await?;
        }
        self.wait_for("the wizard to open", || async {
            let open = wizard.attr("data-open").await?;
            Ok((open.as_deref() == Some("true")).then_some(()))
        })
        .await
    }

    /// The launcher inside the shadow root, once it is there.
    pub async fn launcher(&self) -> anyhow::Result<Element> {
        self.wait_for("the 409 Doctor launcher", || async {
            let host = match self.client.find(Locator::Id(HOST_ID)).await {
                Ok(host) => host,
                Err(_) => return Ok(None),
            };
            let root = host
                .shadow_root()
                .await
                .context("the loader's shadow root")?;
            Ok(root
                .find(Locator::Css(r#"[data-testid="launcher"]"#))
                .await
                .ok())
        })
        .await
    }

    /// Waits for an attribute of the launcher to satisfy `accept`, and returns it.
    pub async fn launcher_attr(
        &self,
        attribute: &str,
        accept: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let launcher = self.launcher().await?;
        self.wait_for(&format!("launcher {attribute}"), || async {
            let value = launcher.attr(attribute).await?;
            Ok(value.filter(|value| accept(value)))
        })
        .await
    }

    /// Waits for the launcher's `data-state` to become `expected` (a cause id once the app has
    /// diagnosed the site); on timeout the error names the last state seen. When the loader's
    /// probe found the site healthy (`ready`: no app loaded, issue 17), it clicks the launcher,
    /// as a user who wants the diagnosis would, unless `ready` is what it waits for.
    pub async fn wait_for_launcher_state(&self, expected: &str) -> anyhow::Result<()> {
        let launcher = self.launcher().await?;
        let deadline = Instant::now() + WAIT;
        loop {
            let state = launcher.attr("data-state").await?;
            if state.as_deref() == Some(expected) {
                return Ok(());
            }
            if state.as_deref() == Some("ready") {
                launcher.click().await?;
            }
            if Instant::now() >= deadline {
                bail!(
                    "{}: waited {} s for the launcher's data-state {expected}; it is {state:?}",
                    self.name,
                    WAIT.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the app has settled a diagnosis and returns the launcher's `data-state` (a
    /// cause id, or `error`/`unknown`). A site the probe found healthy is opened with a click
    /// first (see [`E2e::wait_for_launcher_state`]).
    pub async fn settled_launcher_state(&self) -> anyhow::Result<String> {
        let launcher = self.launcher().await?;
        self.wait_for("the launcher to name a cause", || async {
            let state = launcher.attr("data-state").await?;
            match state.as_deref() {
                None | Some("probing" | "checking") => Ok(None),
                Some("ready") => {
                    launcher.click().await?;
                    Ok(None)
                }
                Some(_) => Ok(state),
            }
        })
        .await
    }

    /// Waits for `selector` to match inside the loader's shadow root.
    pub async fn shadow_element(&self, selector: &str) -> anyhow::Result<Element> {
        self.wait_for(selector, || async {
            let Ok(host) = self.client.find(Locator::Id(HOST_ID)).await else {
                return Ok(None);
            };
            let root = host.shadow_root().await?;
            Ok(root.find(Locator::Css(selector)).await.ok())
        })
        .await
    }

    /// Waits for `selector` to match in the page's own DOM (standalone and extension pages).
    pub async fn page_element(&self, selector: &str) -> anyhow::Result<Element> {
        self.wait_for(selector, || async {
            Ok(self.client.find(Locator::Css(selector)).await.ok())
        })
        .await
    }

    /// Waits until the document and every subresource have loaded.
    pub async fn wait_loaded(&self) -> anyhow::Result<()> {
        self.wait_for("document.readyState == complete", || async {
            let state = self
                .client
                .execute("return document.readyState;", vec![])
                .await?;
            Ok((state == json!("complete")).then_some(()))
        })
        .await
    }

    /// Polls `probe` until it yields a value or [`WAIT`] passes.
    pub async fn wait_for<T, P, PF>(&self, what: &str, mut probe: P) -> anyhow::Result<T>
    where
        P: FnMut() -> PF,
        PF: Future<Output = anyhow::Result<Option<T>>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(found) = probe().await? {
                return Ok(found);
            }
            if Instant::now() >= deadline {
                let url = self
                    .client
                    .current_url()
                    .await
                    .map_or_else(|_| "?".to_owned(), |url| url.to_string());
                bail!(
                    "{}: waited {} s for {what} on {url}",
                    self.name,
                    WAIT.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends a Chrome DevTools Protocol command through chromedriver.
    pub async fn cdp(&self, command: &'static str, params: Value) -> anyhow::Result<Value> {
        self.client
            .issue_cmd(CdpCommand { command, params })
            .await
            .with_context(|| format!("CDP {command}"))
    }

    /// Every tab the browser has, attached to this session or not. Chromedriver does not attach
    /// to an extension page a page opens (`window.open` from the content script), so
    /// `windows()` never lists it; CDP's target list does.
    pub async fn tabs(&self) -> anyhow::Result<Vec<Tab>> {
        let targets = self.cdp("Target.getTargets", json!({})).await?;
        Ok(targets["targetInfos"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|target| target["type"] == "page")
            .map(|target| Tab {
                url: target["url"].as_str().unwrap_or_default().to_owned(),
                title: target["title"].as_str().unwrap_or_default().to_owned(),
            })
            .collect())
    }

    /// Saves a PNG of the current window to `<target>/e2e/<label>.png`.
    pub async fn screenshot(&self, label: &str) -> anyhow::Result<PathBuf> {
        let dir = target_dir().join("e2e");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let png = self
            .client
            .screenshot()
            .await
            .context("taking a screenshot")?;
        let path = dir.join(format!("{label}.png"));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

/// A browser tab as CDP lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tab {
    pub url: String,
    pub title: String,
}

/// `POST /session/{id}/goog/cdp/execute`, chromedriver's door to the DevTools protocol.
#[derive(Debug)]
struct CdpCommand {
    command: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for CdpCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.command, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// A chromedriver child process, killed (with every browser it started) on drop.
pub struct Chromedriver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Chromedriver {
    /// Starts chromedriver (`CHROMEDRIVER`, else `chromedriver` on `PATH`) on a free port and
    /// waits until it accepts connections.
    pub fn start() -> anyhow::Result<Chromedriver> {
        let program = std::env::var_os("CHROMEDRIVER").unwrap_or_else(|| "chromedriver".into());
        let port = free_port()?;
        let mut command = Command::new(&program);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so drop can end the browsers it starts along with it.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().with_context(|| {
            format!(
                "starting {} (install chromium-driver, or run cargo xtask test)",
                Path::new(&program).display()
            )
        })?;
        let driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if Instant::now() >= deadline {
                bail!("chromedriver did not listen on port {port} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(driver)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // `kill -- -PGID` ends chromedriver and the Chromium it started; the workspace forbids
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

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// The Chromium command line for a test: headless, quiet, a fresh profile, every Azure host
/// suffix mapped to `sim`, and only the test build of the extension loaded.
pub fn chromium_args(profile: &Path, extension: &Path, sim: SocketAddr) -> Vec<String> {
    let rules = MAPPED_SUFFIXES
        .iter()
        .map(|suffix| format!("MAP {suffix} {sim}"))
        .collect::<Vec<_>>()
        .join(",");
    vec![
        "--headless=new".into(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        "--ignore-certificate-errors".into(),
        "--window-size=1280,900".into(),
        format!("--user-data-dir={}", profile.display()),
        format!("--host-resolver-rules={rules}"),
        format!("--load-extension={}", extension.display()),
        format!("--disable-extensions-except={}", extension.display()),
    ]
}

async fn open_session(
    driver: &Chromedriver,
    profile: &Path,
    extension: &Path,
    sim: SocketAddr,
) -> anyhow::Result<Client> {
    let binary = std::env::var("KUDU_E2E_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let capabilities = json!({
        "browserName": "chrome",
        "acceptInsecureCerts": true,
        "goog:chromeOptions": {
            "binary": binary,
            "args": chromium_args(profile, extension, sim),
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
        .with_context(|| format!("opening a Chromium session through {}", driver.url))
}
pub mod a11y_support;
pub mod cleanup_support;
pub mod gecko;
