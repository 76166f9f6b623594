//! The HTTP shell: axum in, [`Kudu`] in the middle, axum out. It adds what is not Kudu: the
//! SCM front end's auth (facts §5.3), the Kudu page, `/doctor/` static files, faults, the
//! request log, the `/_sim/` control API, and the wait of synchronous pushes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::sync::Notify;

use crate::config::{Personality, SimConfig, UnauthAnswer};
use crate::faults::{FaultKind, Faults};
use crate::kudu::{FailMode, Kudu, Reply};
use crate::pages;
use crate::scenarios;
use crate::time::VTime;
use crate::wire::{SimRequest, SimResponse, percent_encode};

/// The session cookie a signed-in browser has.
pub const SESSION_COOKIE: &str = "KuduSimSession";
/// The instance-affinity cookie the front end sets (facts §5.3).
pub const AFFINITY_COOKIE: &str = "ARRAffinity";
/// The strict page CSP (no `'wasm-unsafe-eval'`).
pub const STRICT_CSP: &str = "default-src 'self'; script-src 'self'; connect-src 'self'";

/// One request as the log keeps it.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct RequestRecord {
    pub method: String,
    /// Path and query as sent.
    pub path: String,
    pub accept: Option<String>,
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    /// The request's `Cache-Control` (a browser sends `no-cache` for `cache: "no-store"`).
    #[serde(default)]
    pub cache_control: Option<String>,
    /// A `Cookie` header was present.
    pub cookie: bool,
    /// The session cookie was present (valid or not).
    pub session_cookie: bool,
    /// The `Authorization` scheme (`Basic`, `Bearer`), never the credentials.
    pub authorization: Option<String>,
    pub status: u16,
    /// Virtual time when the request was answered.
    pub virtual_time: String,
    /// Wall-clock time when the request was answered.
    pub wall_time: String,
}

struct Auth {
    password: String,
    sessions: BTreeSet<String>,
    /// `session-expired`: no cookie is accepted and `/` issues none until `/login`.
    expired: bool,
    rng: StdRng,
}

/// State shared by the server, the ticker and the [`crate::SimHandle`].
pub struct Shared {
    pub(crate) kudu: Mutex<Kudu>,
    pub(crate) config: Mutex<SimConfig>,
    pub(crate) scenario: Mutex<String>,
    pub(crate) changed: Notify,
    auth: Mutex<Auth>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) log: Mutex<Vec<RequestRecord>>,
    /// Until when each instance's Kudu answers 503 after a restart, by instance number.
    down_until: Mutex<BTreeMap<usize, Instant>>,
    anchor: Mutex<(Instant, VTime)>,
    pub(crate) realtime: AtomicBool,
    pub(crate) csp: AtomicBool,
    tls: bool,
    static_dir: Option<PathBuf>,
}

/// Locks a mutex, recovering from poisoning (a panicked test thread must not wedge the sim).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn new(config: &SimConfig, password: String) -> anyhow::Result<Shared> {
        let mut kudu = Kudu::new(config)?;
        let effects = scenarios::load_aligned(&mut kudu, config, &config.scenario)
            .map_err(anyhow::Error::msg)?;
        let now = kudu.now;
        let shared = Shared {
            kudu: Mutex::new(kudu),
            config: Mutex::new(config.clone()),
            scenario: Mutex::new(config.scenario.clone()),
            changed: Notify::new(),
            auth: Mutex::new(Auth {
                password,
                sessions: BTreeSet::new(),
                expired: effects.expire_sessions,
                rng: StdRng::seed_from_u64(config.seed ^ 0x5e55_1011),
            }),
            faults: Mutex::new(Faults::default()),
            log: Mutex::new(Vec::new()),
            down_until: Mutex::new(BTreeMap::new()),
            anchor: Mutex::new((Instant::now(), now)),
            realtime: AtomicBool::new(config.realtime),
            csp: AtomicBool::new(config.strict_csp),
            tls: config.tls,
            static_dir: config.static_dir.clone(),
        };
        Ok(shared)
    }

    /// Runs due transitions: in real-time mode virtual time first catches up with the wall
    /// clock since the last anchor.
    pub(crate) fn tick(&self, kudu: &mut Kudu) {
        let target = if self.realtime.load(Ordering::Relaxed) {
            let (wall, virt) = *lock(&self.anchor);
            virt.plus_millis(wall.elapsed().as_millis() as i64)
        } else {
            kudu.now
        };
        kudu.advance_to(target.max(kudu.now));
    }

    /// After a manual clock change, real time continues from the new virtual now.
    pub(crate) fn reanchor(&self, kudu: &Kudu) {
        *lock(&self.anchor) = (Instant::now(), kudu.now);
    }

    /// Ticks and wakes waiting sync pushes.
    pub(crate) fn tick_and_notify(&self) {
        {
            let mut kudu = lock(&self.kudu);
            self.tick(&mut kudu);
        }
        self.changed.notify_waiters();
    }

    /// Advances the virtual clock by `secs`, running every due transition.
    pub(crate) fn advance(&self, secs: i64) -> VTime {
        let now = {
            let mut kudu = lock(&self.kudu);
            self.tick(&mut kudu);
            kudu.advance_secs(secs);
            self.reanchor(&kudu);
            kudu.now
        };
        self.changed.notify_waiters();
        now
    }

    /// Loads a scenario (optionally switching personality first).
    pub(crate) fn load_scenario(
        &self,
        name: &str,
        personality: Option<Personality>,
    ) -> Result<(), String> {
        let mut config = lock(&self.config).clone();
        if let Some(p) = personality {
            config.personality = p;
        }
        let effects = {
            let mut kudu = lock(&self.kudu);
            let effects = scenarios::load_aligned(&mut kudu, &config, name)?;
            self.reanchor(&kudu);
            effects
        };
        *lock(&self.config) = config;
        *lock(&self.scenario) = name.to_string();
        let mut auth = lock(&self.auth);
        auth.expired = effects.expire_sessions;
        if effects.expire_sessions {
            auth.sessions.clear();
        }
        drop(auth);
        self.changed.notify_waiters();
        Ok(())
    }

    pub(crate) fn expire_sessions(&self) {
        let mut auth = lock(&self.auth);
        auth.sessions.clear();
        auth.expired = true;
    }

    fn new_session(&self) -> String {
        let mut auth = lock(&self.auth);
        let id: String = (0..16)
            .map(|_| format!("{:02x}", auth.rng.random::<u8>()))
            .collect();
        auth.sessions.insert(id.clone());
        auth.expired = false;
        id
    }
}

/// The site name: the first label of the host, unless the host is an IP or `localhost`.
fn site_from_host(host: &str, fallback: &str) -> String {
    if host.starts_with('[') {
        return fallback.to_string();
    }
    let bare = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    if bare.is_empty()
        || bare.parse::<std::net::IpAddr>().is_ok()
        || bare.eq_ignore_ascii_case("localhost")
    {
        return fallback.to_string();
    }
    bare.split('.')
        .next()
        .unwrap_or(fallback)
        .to_ascii_lowercase()
}

fn cookie_value<'a>(cookies: &'a str, name: &str) -> Option<&'a str> {
    cookies.split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// The one axum handler: everything goes through here.
pub(crate) async fn entry(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 1 << 30).await else {
        // The client went away (or sent more than 1 GiB) before the body arrived: nothing
        // reaches Kudu.
        return to_axum(
            SimResponse::text(400, "Failed to read the request body."),
            &[],
        )
        .await;
    };
    let body = body.to_vec();
    // Behind the App Service front end Kudu sees the public scheme in X-Forwarded-Proto; the
    // fixture capture uses it to get `https://myapp.scm.azurewebsites.net` URLs in bodies.
    let scheme = match parts
        .headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "https",
        Some("http") => "http",
        _ if shared.tls => "https",
        _ => "http",
    };
    // Under HTTP/2 there is no Host header; the authority is in the URI (toolchain.md).
    let authority = parts
        .uri
        .authority()
        .map(|a| a.to_string())
        .or_else(|| {
            parts
                .headers
                .get("host")
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "localhost".into());
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let sim_req = SimRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers,
        body,
        base_url: format!("{scheme}://{authority}"),
    };
    if sim_req.path == "/_sim" || sim_req.path.starts_with("/_sim/") {
        return to_axum(crate::control::handle(&shared, &sim_req), &[]).await;
    }
    let fallback_site = lock(&shared.config).site.clone();
    let site = site_from_host(&authority, &fallback_site);
    let faults = lock(&shared.faults).take(&sim_req.path);
    let latency = lock(&shared.config).latency_ms;
    let mut sleep_ms = latency;
    for f in &faults {
        if let FaultKind::Latency { ms } = f {
            sleep_ms += ms;
        }
    }
    if sleep_ms > 0 {
        tokio::time::sleep(Duration::from_millis(sleep_ms)).await;
    }
    let mut faults = faults;
    let mut resp = answer(&shared, &sim_req, &site, &faults).await;
    resp = with_affinity_if_missing(&shared, &sim_req, resp);
    if resp.header("date").is_none() {
        // The front end's Date is the server's clock, which clients use to read Kudu's times
        // (`lockExpiry`, `received_time`) against; here that clock is the virtual one. Without
        // this, hyper would send the machine's time and only `wall_clock` runs would agree.
        let now = lock(&shared.kudu).now;
        resp.headers.push(("date".into(), now.to_http_date()));
    }
    if resp.header("x-sim-drop").is_some() {
        // The process serving this request died: no answer at all.
        resp.headers.retain(|(n, _)| n != "x-sim-drop");
        faults.push(FaultKind::Drop);
    }
    record(&shared, &sim_req, &resp, &faults);
    to_axum(resp, &faults).await
}

fn record(shared: &Shared, req: &SimRequest, resp: &SimResponse, faults: &[FaultKind]) {
    let cookies = req.header("cookie");
    let now = lock(&shared.kudu).now;
    let status = if faults.contains(&FaultKind::Drop) {
        0
    } else {
        resp.status
    };
    lock(&shared.log).push(RequestRecord {
        method: req.method.clone(),
        path: req.path_and_query(),
        accept: req.header("accept").map(str::to_string),
        if_match: req.header("if-match").map(str::to_string),
        if_none_match: req.header("if-none-match").map(str::to_string),
        cache_control: req.header("cache-control").map(str::to_string),
        cookie: cookies.is_some(),
        session_cookie: cookies.is_some_and(|c| cookie_value(c, SESSION_COOKIE).is_some()),
        authorization: req
            .header("authorization")
            .map(|a| a.split_whitespace().next().unwrap_or("").to_string()),
        status,
        virtual_time: now.to_json(),
        wall_time: VTime::from_system_time(SystemTime::now()).to_json(),
    });
}

/// Everything but `/_sim/`: pages, static files, auth, then Kudu.
async fn answer(
    shared: &Arc<Shared>,
    req: &SimRequest,
    site: &str,
    faults: &[FaultKind],
) -> SimResponse {
    let path = req.path.as_str();
    let personality = lock(&shared.kudu).personality;
    if req.method == "GET" && (path == "/" || path == "/index.html") {
        {
            // Kudu serves its page: the first request of a Kudu process writes the startup
            // trace even when the request itself is not traced (README "Trace files").
            let mut kudu = lock(&shared.kudu);
            let instance = routed_instance(&kudu, req);
            kudu.enter_instance(instance);
            shared.tick(&mut kudu);
            kudu.trace_startup(req);
        }
        let mut resp = SimResponse::html(200, &pages::home_page(site, personality));
        if shared.csp.load(Ordering::Relaxed) {
            resp = resp.with_header("content-security-policy", crate::server::STRICT_CSP);
        }
        let expired = lock(&shared.auth).expired;
        let has_valid = authorised_by_cookie(shared, req);
        if !expired && !has_valid {
            resp = with_session_cookies(shared, req, resp);
        }
        return resp;
    }
    if path == "/login" {
        let back = req
            .param("return")
            .filter(|r| r.starts_with('/'))
            .unwrap_or_else(|| "/".into());
        let resp = SimResponse::new(302).with_header("location", &back);
        return with_session_cookies(shared, req, resp);
    }
    if path.starts_with("/.auth/login") {
        let back = req
            .param("post_login_redirect_uri")
            .unwrap_or_else(|| "/".into());
        return SimResponse::html(200, &pages::login_page(&back));
    }
    if path == "/doctor" {
        return SimResponse::new(307).with_header("location", "/doctor/");
    }
    if let Some(rest) = path.strip_prefix("/doctor/") {
        let resp = serve_static(shared, rest);
        // Opening the standalone page counts as a signed-in browser visit too, like `/`.
        let is_page = resp
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html"));
        let expired = lock(&shared.auth).expired;
        if resp.status == 200 && is_page && !expired && !authorised_by_cookie(shared, req) {
            return with_session_cookies(shared, req, resp);
        }
        return resp;
    }
    if let Some(fault) = faults.iter().find_map(|f| match f {
        FaultKind::Status { status } => Some(*status),
        _ => None,
    }) {
        return SimResponse::text(fault, &format!("Simulated fault {fault}"));
    }
    if !authorised(shared, req, site) {
        return unauthenticated(shared, req);
    }
    let instance = routed_instance(&lock(&shared.kudu), req);
    if lock(&shared.down_until)
        .get(&instance)
        .is_some_and(|t| Instant::now() < *t)
    {
        return SimResponse::html(
            503,
            "<html><body><h1>Service Unavailable</h1><p>The Kudu process is restarting.</p></body></html>",
        );
    }
    let reply = {
        let mut kudu = lock(&shared.kudu);
        kudu.enter_instance(instance);
        shared.tick(&mut kudu);
        kudu.site = site.to_string();
        let reply = kudu.handle(req);
        shared.tick(&mut kudu);
        reply
    };
    shared.changed.notify_waiters();
    match reply {
        Reply::Now(mut resp) => {
            if resp.header("x-sim-kudu-restart").is_some() {
                resp.headers.retain(|(n, _)| n != "x-sim-kudu-restart");
                let downtime = lock(&shared.config).quirks.restart_downtime_ms;
                lock(&shared.down_until)
                    .insert(instance, Instant::now() + Duration::from_millis(downtime));
            }
            if resp.status == 500
                && personality == Personality::Linux
                && resp.body_text().contains("status.lock")
            {
                let wait = lock(&shared.config).quirks.status_lock_wait_ms;
                if wait > 0 {
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
            }
            resp
        }
        Reply::WaitFor { key, tracked_id } => {
            let resp = wait_for_sync(shared, key).await;
            match tracked_id {
                Some(id) => resp.with_header("scm-deployment-id", &id),
                None => resp,
            }
        }
    }
}

/// Kills the sync push's worker if the client goes away before it ends.
struct CancelOnDrop {
    shared: Arc<Shared>,
    key: u64,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            let mut kudu = lock(&self.shared.kudu);
            kudu.kill_worker_on_any_instance(self.key);
        }
    }
}

async fn wait_for_sync(shared: &Arc<Shared>, key: u64) -> SimResponse {
    let mut guard = CancelOnDrop {
        shared: shared.clone(),
        key,
        armed: true,
    };
    loop {
        let notified = shared.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut kudu = lock(&shared.kudu);
            shared.tick(&mut kudu);
            if let Some(resp) = kudu.sync_answer(key) {
                guard.armed = false;
                return resp;
            }
        }
        notified.await;
    }
}

fn authorised_by_cookie(shared: &Shared, req: &SimRequest) -> bool {
    let auth = lock(&shared.auth);
    if auth.expired {
        return false;
    }
    req.header("cookie")
        .and_then(|c| cookie_value(c, SESSION_COOKIE))
        .is_some_and(|v| auth.sessions.contains(v))
}

/// A valid session cookie or Basic `$<site>:<password>` (facts §5.3).
fn authorised(shared: &Shared, req: &SimRequest, site: &str) -> bool {
    if authorised_by_cookie(shared, req) {
        return true;
    }
    let Some(value) = req.header("authorization") else {
        return false;
    };
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let text = String::from_utf8_lossy(&decoded);
    let password = lock(&shared.auth).password.clone();
    text == format!("${site}:{password}")
}

/// The front end's answer without credentials (facts §5.3 [I], switch `unauthenticated`).
fn unauthenticated(shared: &Shared, req: &SimRequest) -> SimResponse {
    let answer = lock(&shared.config).quirks.unauthenticated;
    match answer {
        UnauthAnswer::LoginPage => {
            SimResponse::html(200, &pages::login_page(&req.path_and_query()))
        }
        UnauthAnswer::Redirect => SimResponse::new(302).with_header(
            "location",
            &format!(
                "/.auth/login/aad?post_login_redirect_uri={}",
                percent_encode(&req.path_and_query())
            ),
        ),
        UnauthAnswer::Unauthorized => {
            SimResponse::html(401, "<html><body><h1>401 - Unauthorized</h1></body></html>")
                .with_header("www-authenticate", "Basic realm=\"site\"")
        }
    }
}

/// The instance a request reaches (README "Scaled out"): the one its `ARRAffinity` cookie
/// names, else the first [I: the front end's choice for a new client is not documented].
fn routed_instance(kudu: &Kudu, req: &SimRequest) -> usize {
    req.header("cookie")
        .and_then(|c| cookie_value(c, AFFINITY_COOKIE))
        .and_then(|id| kudu.instance_by_id(id))
        .unwrap_or(0)
}

/// On a scaled-out plan the front end pins a client that has no valid `ARRAffinity` to the
/// instance that answered, with `ARRAffinity` and `ARRAffinitySameSite` (facts §5.3, both
/// carry the instance id; `Domain` is left out [I]).
fn with_affinity_if_missing(shared: &Shared, req: &SimRequest, resp: SimResponse) -> SimResponse {
    let (id, pinned) = {
        let kudu = lock(&shared.kudu);
        if kudu.instance_count() < 2 {
            return resp;
        }
        let pinned = req
            .header("cookie")
            .and_then(|c| cookie_value(c, AFFINITY_COOKIE))
            .is_some_and(|id| kudu.instance_by_id(id).is_some());
        let ids = kudu.instance_ids();
        (
            ids[routed_instance(&kudu, req).min(ids.len() - 1)].clone(),
            pinned,
        )
    };
    if pinned {
        return resp;
    }
    let secure = if shared.tls { "; Secure" } else { "" };
    let same_site = if shared.tls { "; SameSite=None" } else { "" };
    resp.with_header(
        "set-cookie",
        &format!("{AFFINITY_COOKIE}={id}; Path=/; HttpOnly{secure}"),
    )
    .with_header(
        "set-cookie",
        &format!("{AFFINITY_COOKIE}SameSite={id}; Path=/; HttpOnly{same_site}{secure}"),
    )
}

/// A new session plus the `ARRAffinity` cookie (facts §5.3); scaled out, the affinity cookies
/// come from [`with_affinity_if_missing`].
fn with_session_cookies(shared: &Shared, req: &SimRequest, resp: SimResponse) -> SimResponse {
    let session = shared.new_session();
    let (instance, scaled_out) = {
        let kudu = lock(&shared.kudu);
        let ids = kudu.instance_ids();
        let id = ids
            .get(routed_instance(&kudu, req))
            .cloned()
            .unwrap_or_else(|| kudu.instance_id.clone());
        (id, ids.len() > 1)
    };
    let same_site = lock(&shared.config).quirks.same_site.clone();
    // Chromium drops `SameSite=None` cookies without `Secure`, so plain HTTP leaves it out.
    let mut attrs = String::from("; Path=/; HttpOnly");
    if shared.tls {
        attrs.push_str("; Secure");
        attrs.push_str(&format!("; SameSite={same_site}"));
    } else if !same_site.eq_ignore_ascii_case("none") {
        attrs.push_str(&format!("; SameSite={same_site}"));
    }
    let resp = resp.with_header("set-cookie", &format!("{SESSION_COOKIE}={session}{attrs}"));
    if scaled_out {
        return resp;
    }
    resp.with_header(
        "set-cookie",
        &format!("{AFFINITY_COOKIE}={instance}{attrs}"),
    )
}

fn static_mime(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn serve_static(shared: &Shared, rest: &str) -> SimResponse {
    let Some(dir) = &shared.static_dir else {
        return SimResponse::text(404, "no static directory configured (--static-dir)");
    };
    let rest = crate::wire::path_decode(rest);
    let rel = if rest.is_empty() || rest.ends_with('/') {
        format!("{rest}index.html")
    } else {
        rest
    };
    if rel.split('/').any(|p| p == "..") {
        return SimResponse::text(404, "not found");
    }
    let mut path = dir.clone();
    for part in rel.split('/').filter(|p| !p.is_empty() && *p != "..") {
        path.push(part);
    }
    match std::fs::read(&path) {
        Ok(bytes) => SimResponse::new(200)
            .with_header("content-type", static_mime(&rel))
            .with_header("cache-control", "no-store")
            .with_body(bytes),
        Err(_) => SimResponse::text(404, "not found"),
    }
}

/// Turns a [`SimResponse`] into axum's, applying body faults.
pub(crate) async fn to_axum(resp: SimResponse, faults: &[FaultKind]) -> Response {
    let mut body_bytes = resp.body;
    if faults.contains(&FaultKind::TruncateBody) {
        body_bytes.truncate(body_bytes.len() / 2);
    }
    let body = if faults.contains(&FaultKind::Drop) {
        let stream = futures_util::stream::once(async {
            Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("simulated drop"))
        });
        Body::from_stream(stream)
    } else if let Some(delay) = faults.iter().find_map(|f| match f {
        FaultKind::SlowBody { chunk_delay_ms } => Some(*chunk_delay_ms),
        _ => None,
    }) {
        let chunks: Vec<Vec<u8>> = body_bytes.chunks(16).map(<[u8]>::to_vec).collect();
        let stream = futures_util::stream::unfold(chunks.into_iter(), move |mut it| async move {
            let chunk = it.next()?;
            tokio::time::sleep(Duration::from_millis(delay)).await;
            Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(chunk)), it))
        });
        Body::from_stream(stream)
    } else {
        Body::from(body_bytes)
    };
    let mut out = Response::new(body);
    *out.status_mut() =
        StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in &resp.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}

/// Parses `fail-next` modes for the control API.
pub(crate) fn parse_fail_mode(text: &str) -> Option<FailMode> {
    match text {
        "build" | "" => Some(FailMode::Build),
        "partial" => Some(FailMode::PartialArtifact),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_name_is_the_first_label() {
        assert_eq!(site_from_host("myapp.scm.azurewebsites.net", "x"), "myapp");
        assert_eq!(
            site_from_host("MyApp.scm.azurewebsites.net:443", "x"),
            "myapp"
        );
        assert_eq!(site_from_host("127.0.0.1:8080", "x"), "x");
        assert_eq!(site_from_host("localhost:8080", "x"), "x");
        assert_eq!(site_from_host("[::1]:8080", "x"), "x");
    }
}
