//! The only module that performs network I/O: it sends `kudu-core`'s reads and a cleanup run's
//! requests with `fetch` and turns every outcome, including failures below HTTP, into an
//! [`HttpReply`] (or a [`RunReply`], whose zip bodies stay bytes).
//!
//! Requests go to the SCM site the page is on (relative `/api/...` URLs) or to the origin the
//! extension page was opened for, always with the user's own cookies (`credentials: include`)
//! and never with an `Authorization` header. Redirects are not followed (`redirect: manual`):
//! Kudu's JSON endpoints never redirect, so a redirect is the front end sending an expired
//! session to its login page. `JsValue` errors become text here, once.
//!
//! Written by hand over web-sys rather than with `gloo-net`'s `RequestBuilder` (the design's
//! library, issue 17), for a measured cost and two faults. Measured 2026-12-08: this file was
//! ported in a scratch worktree to gloo-net 0.5.0 (the copy yew's gloo already brings, with
//! `default-features = false, features = ["http"]`), and both versions were built with
//! `cargo xtask dist` in the same run, `gzip -9` of `pkg/`. The wasm went from 369,427 to
//! 374,148 B gzip (+4,721; 1,061,147 to 1,073,099 B raw) and the JS glue from 8,814 to 9,076 B
//! (+262): +4,983 B in all, +0.09 on the payload ratio whose 6.0 ceiling is already missed.
//! Passing the method as text (`Method::from_bytes`) made it +5,503 B. The port was 2 lines
//! shorter (34 lines in, 36 out). gloo-net covers what this file sets (method, headers,
//! `credentials`, `redirect: manual`, `cache: no-store`, the abort signal, the opaque-redirect
//! check, text or bytes bodies, header reads), but:
//! - 0.5.0 appends `&` to every URL that already has a query (ranile/gloo#498, fixed upstream
//!   later), so a `DELETE …/?recursive=true` and the cache-busted deployment list would reach
//!   Kudu changed;
//! - a fetch rejection that is not a JS `Error` hits an `unreachable!` in it, which under
//!   `panic = "abort"` kills the app where this file reports "the request failed".
//!
//! A newer gloo-net (0.7) would sit beside yew's copy; it was not measured.

use kudu_core::cleanup::{ReplyBody, RunReply, RunRequest};
use kudu_core::{HttpReply, Read};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// How long one request may take, body included, before it is aborted. A slow SCM site must
/// not leave the wizard waiting forever; the user gets a visible retry instead.
pub const REQUEST_TIMEOUT_MS: u32 = 15_000;

/// The `transport_error` text of a request aborted by [`REQUEST_TIMEOUT_MS`].
pub const TIMED_OUT: &str = "timed out";

/// The `transport_error` text of a request whose connection failed or closed before an answer.
pub const CONNECTION_FAILED: &str = "the connection closed or was refused";

/// The `transport_error` text of a redirect that `redirect: manual` stopped; the core reads it
/// as a sign-in ([`kudu_core::parse::sign_in`]).
pub const REDIRECTED: &str = kudu_core::parse::sign_in::REDIRECTED;

/// Why a read gave nothing the diagnosis can use.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum KuduHttpError {
    /// No HTTP answer: offline, connection reset, or a CORS failure after a cross-origin
    /// redirect.
    Network(String),
    /// Aborted after [`REQUEST_TIMEOUT_MS`].
    TimedOut,
    /// The front end asked for a sign-in (the core's
    /// [`is_sign_in_reply`](kudu_core::parse::is_sign_in_reply)): the SCM session is gone.
    SessionExpired { status: u16 },
    /// A server error (5xx), or a redirect elsewhere than a sign-in page. `excerpt` is the
    /// start of the body, shown as text.
    Status { code: u16, excerpt: String },
}

impl KuduHttpError {
    /// One line for the user, e.g. `HTTP 503: Service Unavailable`.
    pub fn describe(&self) -> String {
        match self {
            KuduHttpError::Network(reason) => format!("no answer ({reason})"),
            KuduHttpError::TimedOut => format!("no answer within {} s", REQUEST_TIMEOUT_MS / 1000),
            KuduHttpError::SessionExpired { status: 0 } => {
                "redirected to sign-in: the session has expired".to_string()
            }
            KuduHttpError::SessionExpired { status } => {
                format!("HTTP {status}: the session has expired")
            }
            KuduHttpError::Status { code, excerpt } if excerpt.is_empty() => {
                format!("HTTP {code}")
            }
            KuduHttpError::Status { code, excerpt } => format!("HTTP {code}: {excerpt}"),
        }
    }
}

/// Longest body excerpt kept in an error.
const EXCERPT_CHARS: usize = 160;

/// Says whether a reply is unusable and why. 404 and 409 are evidence, not failures: Windows
/// answers 404 on `/api/isdeploying`, a missing lock file is a 404, and a 409 body names the
/// lock that refused.
pub fn classify(reply: &HttpReply) -> Option<KuduHttpError> {
    if kudu_core::parse::is_sign_in_reply(reply) {
        return Some(KuduHttpError::SessionExpired {
            status: reply.status,
        });
    }
    if let Some(reason) = &reply.transport_error {
        return Some(match reason.as_str() {
            TIMED_OUT => KuduHttpError::TimedOut,
            other => KuduHttpError::Network(other.to_string()),
        });
    }
    let html = kudu_core::parse::looks_like_html(reply.content_type.as_deref(), &reply.body);
    match reply.status {
        300..=399 | 500..=599 => Some(KuduHttpError::Status {
            code: reply.status,
            excerpt: excerpt(&reply.body, html),
        }),
        _ => None,
    }
}

fn excerpt(body: &str, html: bool) -> String {
    if html {
        // An HTML error page says nothing readable in its first characters.
        return String::new();
    }
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = flat.chars().take(EXCERPT_CHARS).collect();
    if flat.chars().count() > EXCERPT_CHARS {
        cut.push('…');
    }
    cut
}

/// The URL a read goes to: relative on the SCM page, absolute from the extension page.
pub fn url_for(origin: Option<&str>, path: &str) -> String {
    match origin {
        Some(origin) => format!("{}{path}", origin.trim_end_matches('/')),
        None => path.to_string(),
    }
}

/// Sends one read and returns what came back. Never fails: errors land in
/// `HttpReply::transport_error`.
pub async fn send(origin: Option<&str>, read: &Read) -> HttpReply {
    let controller = web_sys::AbortController::new().ok();
    let timed_out = std::rc::Rc::new(std::cell::Cell::new(false));
    // Dropping the timeout (when this function returns) cancels it.
    let _timeout = controller.clone().map(|controller| {
        let timed_out = timed_out.clone();
        gloo_timers::callback::Timeout::new(REQUEST_TIMEOUT_MS, move || {
            timed_out.set(true);
            controller.abort();
        })
    });
    let signal = controller.as_ref().map(|c| c.signal());
    match send_once(origin, read, signal.as_ref()).await {
        Ok(reply) => reply,
        Err(_) if timed_out.get() => transport_failure(TIMED_OUT.to_string()),
        Err(error) => transport_failure(js_error_text(&error)),
    }
}

async fn send_once(
    origin: Option<&str>,
    read: &Read,
    signal: Option<&web_sys::AbortSignal>,
) -> Result<HttpReply, JsValue> {
    let request = Outgoing {
        method: read.method,
        path: &read.path,
        headers: &read.headers,
    };
    let Some((status, content_type, headers, response)) =
        fetch_head(origin, &request, signal).await?
    else {
        return Ok(transport_failure(REDIRECTED.to_string()));
    };
    let body = JsFuture::from(response.text()?).await?;
    Ok(HttpReply {
        status,
        content_type,
        body: body.as_string().unwrap_or_default(),
        headers,
        transport_error: None,
    })
}

/// One request as `fetch` needs it.
struct Outgoing<'a> {
    method: &'a str,
    path: &'a str,
    headers: &'a [(&'static str, String)],
}

/// Status, content type, kept headers and the response whose body is still unread; `None` for
/// a redirect that `redirect: manual` stopped.
type Head = (
    u16,
    Option<String>,
    Vec<(String, String)>,
    web_sys::Response,
);

async fn fetch_head(
    origin: Option<&str>,
    request: &Outgoing<'_>,
    signal: Option<&web_sys::AbortSignal>,
) -> Result<Option<Head>, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let init = web_sys::RequestInit::new();
    init.set_method(request.method);
    init.set_credentials(web_sys::RequestCredentials::Include);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    // Kudu sends `Last-Modified` on VFS files, so without this a browser may answer a re-read
    // of `info.lock` from its heuristic cache: a read that decides a delete must reach Kudu.
    init.set_cache(web_sys::RequestCache::NoStore);
    init.set_signal(signal);
    let headers = web_sys::Headers::new()?;
    for (name, value) in request.headers {
        headers.set(name, value)?;
    }
    init.set_headers_headers(&headers);
    let url = url_for(origin, request.path);
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await?
        .dyn_into()?;
    if response.type_() == web_sys::ResponseType::Opaqueredirect {
        return Ok(None);
    }
    // `date` is the server's clock; Kudu's times are on it (see `round::Snapshot`).
    let wanted = ["content-type", "location", "retry-after", "etag", "date"];
    let mut kept = Vec::new();
    for name in wanted {
        if let Some(value) = response.headers().get(name)? {
            kept.push((name.to_string(), value));
        }
    }
    let content_type = kept
        .iter()
        .find(|(name, _)| name == "content-type")
        .map(|(_, value)| value.clone());
    let headers = kept
        .into_iter()
        .filter(|(name, _)| name != "content-type")
        .collect();
    Ok(Some((response.status(), content_type, headers, response)))
}

/// First-round replies the loader (`extension/content.js`) started before the app loaded: its
/// cache-busting number and, per read path, a promise of the reply (see the mount docs in
/// `lib.rs`). Each promise is used once.
#[derive(Clone, Debug)]
pub struct PrefetchedReads {
    /// The number the loader put in the deployment list's URLs.
    pub cache_bust: u64,
    replies: js_sys::Object,
}

impl PrefetchedReads {
    /// Reads the loader's `{ cacheBust, replies }`; `None` for anything else, so a malformed
    /// hand-over only means the app sends every read itself.
    pub fn from_js(value: &JsValue) -> Option<Self> {
        if !value.is_object() {
            return None;
        }
        let cache_bust = js_sys::Reflect::get(value, &JsValue::from_str("cacheBust"))
            .ok()?
            .as_f64()
            .filter(|n| n.is_finite() && *n >= 0.0 && n.fract() == 0.0 && *n < 9.0e15)?;
        // The loader's map has no prototype (`Object.create(null)`), so it is no
        // `instanceof Object`: any object will do.
        let replies = js_sys::Reflect::get(value, &JsValue::from_str("replies"))
            .ok()
            .filter(JsValue::is_object)?
            .unchecked_into::<js_sys::Object>();
        Some(PrefetchedReads {
            // Checked above: a whole number below 2^53.
            cache_bust: cache_bust as u64,
            replies,
        })
    }

    /// The loader's pending reply for `path`, taken out so it is used once.
    pub fn take(&self, path: &str) -> Option<js_sys::Promise> {
        let key = JsValue::from_str(path);
        let pending = js_sys::Reflect::get(&self.replies, &key)
            .ok()
            .filter(|value| !value.is_undefined() && !value.is_null())?;
        // A frozen object keeps it; the promise is only awaited once anyway.
        let _ = js_sys::Reflect::delete_property(&self.replies, &key);
        // `Promise.resolve` adopts any thenable, whichever realm made it.
        Some(js_sys::Promise::resolve(&pending))
    }
}

/// What the loader's request for one read brought back, once it settles: the same
/// [`HttpReply`] [`send`] would give, or `None` when it failed below HTTP (the caller then
/// sends the read itself). Waits at most [`REQUEST_TIMEOUT_MS`].
pub async fn settle_prefetched(promise: js_sys::Promise) -> Option<HttpReply> {
    let settled = JsFuture::from(promise);
    let timeout = yew::platform::time::sleep(std::time::Duration::from_millis(u64::from(
        REQUEST_TIMEOUT_MS,
    )));
    futures_util::pin_mut!(settled, timeout);
    match futures_util::future::select(settled, timeout).await {
        futures_util::future::Either::Left((Ok(reply), _)) => prefetched_reply(&reply),
        futures_util::future::Either::Left((Err(_), _)) => None,
        futures_util::future::Either::Right(_) => Some(transport_failure(TIMED_OUT.to_string())),
    }
}

/// The loader's `{ status, headers: [[name, value]], body }`, `{ redirected: true }` or
/// `{ timedOut: true }` as an [`HttpReply`]; `None` for anything else.
fn prefetched_reply(reply: &JsValue) -> Option<HttpReply> {
    let field = |name: &str| js_sys::Reflect::get(reply, &JsValue::from_str(name)).ok();
    if field("redirected").is_some_and(|flag| flag.is_truthy()) {
        return Some(transport_failure(REDIRECTED.to_string()));
    }
    if field("timedOut").is_some_and(|flag| flag.is_truthy()) {
        return Some(transport_failure(TIMED_OUT.to_string()));
    }
    let status = field("status")?
        .as_f64()
        .filter(|n| (0.0..=999.0).contains(n))?;
    let body = field("body")?.as_string()?;
    let mut content_type = None;
    let mut headers = Vec::new();
    for pair in js_sys::Array::from(&field("headers")?).iter() {
        let pair = js_sys::Array::from(&pair);
        let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        if name == "content-type" {
            content_type = Some(value);
        } else {
            headers.push((name, value));
        }
    }
    Some(HttpReply {
        // Checked above: 0..=999.
        status: status as u16,
        content_type,
        body,
        headers,
        transport_error: None,
    })
}

/// How long a cleanup request may take. A zip of `site/deployments` can be large, so
/// downloads get longer than reads; a restart's answer may never come (Kudu dies under it),
/// which the run treats like any transport failure.
pub fn run_timeout_ms(request: &RunRequest) -> u32 {
    if request.keep_bytes {
        BACKUP_TIMEOUT_MS
    } else {
        REQUEST_TIMEOUT_MS
    }
}

/// How long one backup archive may take to download.
pub const BACKUP_TIMEOUT_MS: u32 = 120_000;

/// Sends one request of a cleanup run (reads, zip downloads, `DELETE`s with their headers)
/// and returns what came back, the body as bytes when the run asked for them. Never fails:
/// errors land in `RunReply::transport_error`.
pub async fn send_run(origin: Option<&str>, request: &RunRequest) -> RunReply {
    let controller = web_sys::AbortController::new().ok();
    let timed_out = std::rc::Rc::new(std::cell::Cell::new(false));
    let _timeout = controller.clone().map(|controller| {
        let timed_out = timed_out.clone();
        gloo_timers::callback::Timeout::new(run_timeout_ms(request), move || {
            timed_out.set(true);
            controller.abort();
        })
    });
    let signal = controller.as_ref().map(|c| c.signal());
    match send_run_once(origin, request, signal.as_ref()).await {
        Ok(reply) => reply,
        Err(_) if timed_out.get() => RunReply::transport_error(TIMED_OUT),
        Err(error) => RunReply::transport_error(js_error_text(&error)),
    }
}

async fn send_run_once(
    origin: Option<&str>,
    request: &RunRequest,
    signal: Option<&web_sys::AbortSignal>,
) -> Result<RunReply, JsValue> {
    let outgoing = Outgoing {
        method: request.method,
        path: &request.path,
        headers: &request.headers,
    };
    let Some((status, content_type, headers, response)) =
        fetch_head(origin, &outgoing, signal).await?
    else {
        return Ok(RunReply::transport_error(REDIRECTED));
    };
    let body = if request.keep_bytes {
        let buffer = JsFuture::from(response.array_buffer()?).await?;
        ReplyBody::Bytes(js_sys::Uint8Array::new(&buffer).to_vec())
    } else {
        let text = JsFuture::from(response.text()?).await?;
        ReplyBody::Text(text.as_string().unwrap_or_default())
    };
    Ok(RunReply {
        status,
        content_type,
        headers,
        body,
        transport_error: None,
    })
}

fn transport_failure(reason: String) -> HttpReply {
    HttpReply {
        transport_error: Some(reason),
        ..HttpReply::default()
    }
}

/// The one place a `JsValue` error becomes text: `TypeError: Failed to fetch` and the like.
fn js_error_text(error: &JsValue) -> String {
    if let Some(error) = error.dyn_ref::<js_sys::Error>() {
        // `fetch` rejects with a TypeError for every failure below HTTP (offline, connection
        // reset, CORS); its message differs per browser and tells a user nothing more.
        if error.name() == "TypeError" {
            return CONNECTION_FAILED.to_string();
        }
        return String::from(error.message());
    }
    error
        .as_string()
        .unwrap_or_else(|| "the request failed".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, content_type: &str, body: &str) -> HttpReply {
        HttpReply {
            status,
            content_type: Some(content_type.to_string()),
            body: body.to_string(),
            ..HttpReply::default()
        }
    }

    #[test]
    fn json_answers_and_evidence_statuses_are_usable() {
        for status in [200, 202, 204, 404, 409] {
            assert_eq!(classify(&reply(status, "application/json", "{}")), None);
        }
    }

    #[test]
    fn login_page_redirect_and_auth_statuses_mean_session_expired() {
        let html = reply(200, "text/html; charset=utf-8", "<html>sign in</html>");
        assert_eq!(
            classify(&html),
            Some(KuduHttpError::SessionExpired { status: 200 })
        );
        for status in [401, 403] {
            assert_eq!(
                classify(&reply(status, "application/json", "")),
                Some(KuduHttpError::SessionExpired { status })
            );
        }
        let mut to_sign_in = reply(302, "text/html", "");
        to_sign_in
            .headers
            .push(("location".into(), "/.auth/login/aad".into()));
        assert_eq!(
            classify(&to_sign_in),
            Some(KuduHttpError::SessionExpired { status: 302 })
        );
        let redirected = transport_failure(REDIRECTED.to_string());
        assert_eq!(
            classify(&redirected),
            Some(KuduHttpError::SessionExpired { status: 0 })
        );
    }

    #[test]
    fn server_errors_keep_a_short_flat_excerpt() {
        let long = format!("Service\n  Unavailable {}", "x".repeat(400));
        let Some(KuduHttpError::Status { code, excerpt }) =
            classify(&reply(503, "text/plain", &long))
        else {
            panic!("503 must be a status error");
        };
        assert_eq!(code, 503);
        assert!(excerpt.starts_with("Service Unavailable x"));
        assert_eq!(excerpt.chars().count(), EXCERPT_CHARS + 1);
    }

    #[test]
    fn transport_errors_are_network_or_timeout() {
        assert_eq!(
            classify(&transport_failure(TIMED_OUT.to_string())),
            Some(KuduHttpError::TimedOut)
        );
        assert_eq!(
            classify(&transport_failure("TypeError: Failed to fetch".into())),
            Some(KuduHttpError::Network("TypeError: Failed to fetch".into()))
        );
    }

    #[test]
    fn urls_are_relative_without_an_origin() {
        assert_eq!(url_for(None, "/api/isdeploying"), "/api/isdeploying");
        assert_eq!(
            url_for(Some("https://a.scm.azurewebsites.net/"), "/api/isdeploying"),
            "https://a.scm.azurewebsites.net/api/isdeploying"
        );
    }
}
