//! Talking to one SCM (Kudu) site: the URL as given, credentials from the environment, the
//! pinned affinity cookie, timeouts and retries. The core decides what to read; this module
//! only sends it and hands back [`HttpReply`]s.
//!
//! The site's host comes from the command-line URL and nothing else: redirects are never
//! followed (a redirect toward a login page is itself the answer) and no reply can change
//! where the next request goes.

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use kudu_core::cleanup::{ReplyBody, RunReply, RunRequest};
use kudu_core::parse::one_line;
use kudu_core::{HttpReply, Read};

use crate::exit_code::Failure;
use crate::report;

/// The environment variables that carry credentials; named in every auth failure message.
pub const ENV_USERNAME: &str = "KUDU_USERNAME";
pub const ENV_PASSWORD: &str = "KUDU_PASSWORD";
pub const ENV_BEARER: &str = "KUDU_BEARER_TOKEN";

/// The cookies the App Service front end uses to pin a client to one instance (facts §5.3).
/// On a scaled-out plan each instance runs its own Kudu, and a Linux lock cache is per
/// process, so every request of a round must reach the same one.
const AFFINITY_COOKIES: [&str; 2] = ["ARRAffinity", "ARRAffinitySameSite"];

/// Connect plus the whole answer, per attempt.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Connect plus the whole answer for one backup archive (a zip of `site/deployments/` can be
/// large).
const BACKUP_TIMEOUT: Duration = Duration::from_secs(120);
/// Attempts per request, the first included.
const ATTEMPTS: u32 = 3;
/// Wait before the first retry; doubled before each further one.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Bodies larger than this are cut (a deployment list is a few hundred KB at most).
const BODY_LIMIT: u64 = 16 * 1024 * 1024;

/// `scheme://host[:port]` of an SCM site, from the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScmOrigin(String);

impl ScmOrigin {
    /// Accepts `http://` or `https://` with a host, an optional port and an optional `/`.
    /// Credentials in the URL are refused: they would end up in CI logs.
    pub fn parse(url: &str) -> Result<ScmOrigin, String> {
        let lower = url.to_ascii_lowercase();
        let (scheme, rest) = if lower.starts_with("https://") {
            ("https", &url["https://".len()..])
        } else if lower.starts_with("http://") {
            ("http", &url["http://".len()..])
        } else {
            return Err("the SCM URL must start with https:// (or http://)".into());
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains('@') {
            return Err(format!(
                "the SCM URL must not hold credentials; set {ENV_USERNAME} and {ENV_PASSWORD} \
                 or {ENV_BEARER} instead"
            ));
        }
        if authority.contains(['/', '?', '#']) {
            return Err(
                "give the SCM site's root, such as https://<app>.scm.azurewebsites.net, \
                 without a path, query or fragment"
                    .into(),
            );
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(bracketed) => match bracketed.split_once(']') {
                Some((inside, after)) => (
                    inside,
                    after
                        .strip_prefix(':')
                        .or((!after.is_empty()).then_some(after)),
                ),
                None => return Err("an IPv6 address needs its closing ']'".into()),
            },
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if let Some(port) = port
            && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!("the port '{}' is not a number", one_line(port, 20)));
        }
        let bracketed = authority.starts_with('[');
        let host_ok = !host.is_empty()
            && host.bytes().all(|b| {
                b.is_ascii_alphanumeric() || b"-._".contains(&b) || (bracketed && b == b':')
            });
        if !host_ok {
            return Err(format!("'{}' is not a host name", one_line(host, 100)));
        }
        Ok(ScmOrigin(format!(
            "{scheme}://{}",
            authority.to_ascii_lowercase()
        )))
    }

    /// `http://` to anything but this machine (a simulator on loopback is fine).
    pub fn is_plain_http_to_another_machine(&self) -> bool {
        self.0.starts_with("http://") && !self.is_loopback()
    }

    /// The host, lower-case, without brackets or port.
    pub fn host(&self) -> &str {
        let authority = self.0.split_once("://").map_or(self.0.as_str(), |(_, a)| a);
        match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => authority.split(':').next().unwrap_or(""),
        }
    }

    fn is_loopback(&self) -> bool {
        let host = self.host();
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// One of App Service's SCM host forms (facts §6: public, Government, China, the regional
    /// unique names and App Service Environments), or this machine (a simulator).
    pub fn is_scm_host(&self) -> bool {
        self.is_loopback() || is_scm_host_name(self.host())
    }
}

/// A label of a host name: letters, digits and hyphens, not starting with a hyphen.
fn is_label(label: &str) -> bool {
    !label.is_empty()
        && !label.starts_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// facts §6's allow-list, without a regex: `<name>.scm.[<region>-NN.]azurewebsites.{net,us,de}`,
/// `<name>.scm.chinacloudsites.cn`, `<name>.scm.<ase>.{appserviceenvironment.net,
/// p.azurewebsites.net}`.
fn is_scm_host_name(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let Some(scm) = labels.iter().position(|l| *l == "scm") else {
        return false;
    };
    if scm != 1 || !is_label(labels[0]) || !labels.iter().all(|l| is_label(l)) {
        return false;
    }
    let rest = &labels[2..];
    let region = |l: &str| {
        l.rsplit_once('-').is_some_and(|(name, nn)| {
            !name.is_empty() && nn.len() == 2 && nn.bytes().all(|b| b.is_ascii_digit())
        })
    };
    match rest {
        ["azurewebsites", "net" | "us" | "de"] | ["chinacloudsites", "cn"] => true,
        [r, "azurewebsites", "net" | "us" | "de"] if region(r) => true,
        [_ase, "appserviceenvironment", "net"] | [_ase, "p", "azurewebsites", "net"] => true,
        _ => false,
    }
}

impl ScmOrigin {
    /// Why credentials must not be sent to this origin, unless its host is in `allowed`
    /// (`--allow-host`): a bearer token from `az account get-access-token` is valid for all of
    /// ARM, and a password is the site's publishing password.
    pub fn credentials_refusal(
        &self,
        credentials: &Credentials,
        allowed: &[String],
    ) -> Option<String> {
        if *credentials == Credentials::None
            || allowed.iter().any(|h| h.eq_ignore_ascii_case(self.host()))
        {
            return None;
        }
        let why = if !self.is_scm_host() {
            "it is not an App Service SCM host (<app>.scm.azurewebsites.net and its sovereign-cloud, regional and App Service Environment forms)"
        } else if self.is_plain_http_to_another_machine() {
            "the URL is plain http://, so they would cross the network unencrypted"
        } else {
            return None;
        };
        Some(format!(
            "refusing to send {} to {}: {why}. If this host is yours, pass --allow-host {}",
            credentials.describe(),
            self.host(),
            self.host()
        ))
    }

    /// `https://myapp.scm.azurewebsites.net`, no trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How requests authenticate, as CI has it.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Nothing set: no `Authorization` header.
    None,
    /// Publishing credentials (`$app` and its password).
    Basic { username: String, password: String },
    /// An Entra ID access token (`az account get-access-token`).
    Bearer(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret, even in a debug dump.
        f.write_str(self.describe())
    }
}

impl Credentials {
    /// Reads the variables through `var` (the process environment in `main`). Empty values
    /// count as unset: CI systems expand a missing secret to an empty string.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Credentials, Failure> {
        let get = |name: &str| var(name).filter(|v| !v.is_empty());
        let username = get(ENV_USERNAME);
        let password = get(ENV_PASSWORD);
        let bearer = get(ENV_BEARER);
        match (username, password, bearer) {
            (None, None, None) => Ok(Credentials::None),
            (None, None, Some(token)) => Ok(Credentials::Bearer(token)),
            (Some(username), Some(password), None) => Ok(Credentials::Basic { username, password }),
            (_, _, Some(_)) => Err(Failure::usage(format!(
                "set either {ENV_USERNAME} and {ENV_PASSWORD}, or {ENV_BEARER}, not both"
            ))),
            (Some(_), None, None) => Err(Failure::usage(format!(
                "{ENV_USERNAME} is set but {ENV_PASSWORD} is not"
            ))),
            (None, Some(_), None) => Err(Failure::usage(format!(
                "{ENV_PASSWORD} is set but {ENV_USERNAME} is not"
            ))),
        }
    }

    /// What is in use, without the secret.
    pub fn describe(&self) -> &'static str {
        match self {
            Credentials::None => "no credentials",
            Credentials::Basic { .. } => "Basic auth from KUDU_USERNAME/KUDU_PASSWORD",
            Credentials::Bearer(_) => "a bearer token from KUDU_BEARER_TOKEN",
        }
    }

    fn header(&self) -> Option<String> {
        match self {
            Credentials::None => None,
            Credentials::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            Credentials::Bearer(token) => Some(format!("Bearer {token}")),
        }
    }
}

/// The message for a 401, 403 or login page, naming the variables to set.
pub fn auth_failure_message(origin: &ScmOrigin, credentials: &Credentials) -> String {
    let what = match credentials {
        Credentials::None => format!(
            "{} asks for a sign-in and no credentials are set",
            origin.as_str()
        ),
        other => format!(
            "{} refused {} (401/403 or a login page)",
            origin.as_str(),
            other.describe()
        ),
    };
    format!(
        "{what}. Set {ENV_USERNAME} and {ENV_PASSWORD} to the site's publishing credentials \
         (user '$<app>'), or {ENV_BEARER} to an access token (az account get-access-token); \
         check that basic auth is allowed for SCM if you use publishing credentials"
    )
}

/// A client for one site; share it between threads.
pub struct ScmClient {
    origin: ScmOrigin,
    credentials: Credentials,
    agent: ureq::Agent,
    /// `(name, value)` of the affinity cookies, pinned from the first reply that set them.
    affinity: Mutex<Vec<(String, String)>>,
    backoff: Duration,
}

impl ScmClient {
    pub fn new(origin: ScmOrigin, credentials: Credentials) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(format!("kudu-doctor/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        ScmClient {
            origin,
            credentials,
            agent,
            affinity: Mutex::new(Vec::new()),
            backoff: FIRST_BACKOFF,
        }
    }

    /// The same client with another first backoff (tests use a short one).
    #[cfg(test)]
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn origin(&self) -> &ScmOrigin {
        &self.origin
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The affinity cookies pinned so far, as a `Cookie` header value.
    pub fn affinity_cookie(&self) -> Option<String> {
        let pinned = self.affinity.lock().unwrap_or_else(|e| e.into_inner());
        (!pinned.is_empty()).then(|| {
            pinned
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// The instance id the pinned `ARRAffinity` cookie carries (its value is the instance id,
    /// kudu-facts §5.3), when the front end set one.
    pub fn affinity_instance(&self) -> Option<String> {
        let pinned = self.affinity.lock().unwrap_or_else(|e| e.into_inner());
        pinned
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(AFFINITY_COOKIES[0]))
            .map(|(_, value)| value.clone())
    }

    /// `GET /` once, as `az webapp` does, so the front end picks an instance and sets the
    /// affinity cookie before the parallel reads fan out. Its status does not matter (without
    /// credentials it is a login page); only a transport failure does.
    pub fn warm_up(&self) -> Result<(), String> {
        let reply = self.send_with_retries("GET", "/", &[]);
        match reply.transport_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Sends one of the core's reads, with retries on transient failures.
    pub fn send(&self, read: &Read) -> HttpReply {
        let headers: Vec<(&str, &str)> =
            read.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        self.send_with_retries(read.method, &read.path, &headers)
    }

    /// Sends every read at once, one thread each; replies in the order of `reads`.
    pub fn send_all(&self, reads: &[Read]) -> Vec<HttpReply> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = reads
                .iter()
                .map(|read| scope.spawn(move || self.send(read)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| HttpReply {
                        transport_error: Some("the request thread failed".into()),
                        ..HttpReply::default()
                    })
                })
                .collect()
        })
    }

    fn send_with_retries(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> HttpReply {
        let mut backoff = self.backoff;
        let mut attempt = 1;
        loop {
            let (reply, broken_connection) = self.send_once(method, path, headers);
            // 500 is not retried: Kudu answers it on purpose (status.lock access denied), and
            // that answer is evidence.
            let transient = broken_connection || matches!(reply.status, 429 | 502 | 503 | 504);
            if !transient || attempt >= ATTEMPTS {
                return reply;
            }
            let why = match &reply.transport_error {
                Some(e) => e.clone(),
                None => format!("HTTP {}", reply.status),
            };
            report::note(&format!(
                "kudu-doctor: {method} {path}: {why}; retrying in {} (attempt {} of {ATTEMPTS})",
                crate::duration_arg::show(backoff),
                attempt + 1
            ));
            std::thread::sleep(backoff);
            backoff *= 2;
            attempt += 1;
        }
    }

    /// The reply, and whether it failed on a broken or timed-out connection.
    fn send_once(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> (HttpReply, bool) {
        match self.exchange(method, path, headers, REQUEST_TIMEOUT) {
            Ok(answer) => (
                HttpReply {
                    status: answer.status,
                    content_type: answer.content_type(),
                    body: String::from_utf8_lossy(&answer.body).into_owned(),
                    headers: answer.headers,
                    transport_error: None,
                },
                false,
            ),
            Err(e) => (transport_failure(describe_error(&e)), is_transient(&e)),
        }
    }

    /// Sends one request of a cleanup run exactly once: the run itself decides whether a read
    /// or a throttled delete goes again, and a delete must never be repeated behind its back.
    /// Backup downloads get [`BACKUP_TIMEOUT`]; a restart's answer may never come (Kudu dies
    /// under it), which the run treats like any transport failure.
    pub fn send_run(&self, request: &RunRequest) -> RunReply {
        let headers: Vec<(&str, &str)> = request
            .headers
            .iter()
            .map(|(n, v)| (*n, v.as_str()))
            .collect();
        let timeout = if request.keep_bytes {
            BACKUP_TIMEOUT
        } else {
            REQUEST_TIMEOUT
        };
        match self.exchange(request.method, &request.path, &headers, timeout) {
            Ok(answer) => RunReply {
                status: answer.status,
                content_type: answer.content_type(),
                body: if request.keep_bytes {
                    ReplyBody::Bytes(answer.body)
                } else {
                    ReplyBody::Text(String::from_utf8_lossy(&answer.body).into_owned())
                },
                headers: answer.headers,
                transport_error: None,
            },
            Err(e) => RunReply::transport_error(describe_error(&e)),
        }
    }

    /// One HTTP exchange with the site's credentials and the pinned affinity cookie.
    fn exchange(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Answer, ureq::Error> {
        let url = format!("{}{path}", self.origin.as_str());
        let method = ureq::http::Method::from_bytes(method.as_bytes())
            .map_err(|_| ureq::Error::BadUri(format!("unsupported method {method}")))?;
        let mut request = ureq::http::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(auth) = self.credentials.header() {
            request = request.header("Authorization", auth);
        }
        if let Some(cookie) = self.affinity_cookie() {
            request = request.header("Cookie", cookie);
        }
        let request = request.body(()).map_err(ureq::Error::Http)?;
        let request = self
            .agent
            .configure_request(request)
            .timeout_global(Some(timeout))
            .build();
        let mut response = self.agent.run(request)?;
        self.pin_affinity(response.headers());
        let status = response.status().as_u16();
        let kept = ["content-type", "location", "retry-after", "etag"];
        let headers: Vec<(String, String)> = kept
            .iter()
            .filter_map(|name| {
                let value = response.headers().get(*name)?.to_str().ok()?;
                Some(((*name).to_string(), value.to_string()))
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    fn pin_affinity(&self, headers: &ureq::http::HeaderMap) {
        let mut pinned = self.affinity.lock().unwrap_or_else(|e| e.into_inner());
        for value in headers.get_all("set-cookie") {
            let Ok(text) = value.to_str() else { continue };
            let Some((name, rest)) = text.split_once('=') else {
                continue;
            };
            let name = name.trim();
            let value = rest.split(';').next().unwrap_or("").trim();
            let wanted = AFFINITY_COOKIES
                .iter()
                .any(|c| c.eq_ignore_ascii_case(name));
            let cookie_safe = value
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b';' && b != b',');
            if wanted
                && cookie_safe
                && !value.is_empty()
                && !pinned.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                pinned.push((name.to_string(), value.to_string()));
            }
        }
    }
}

/// What came back over HTTP, whatever the status.
struct Answer {
    status: u16,
    /// The headers that matter, names lower-case.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn content_type(&self) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == "content-type")
            .map(|(_, v)| v.clone())
    }
}

fn transport_failure(error: String) -> HttpReply {
    HttpReply {
        transport_error: Some(error),
        ..HttpReply::default()
    }
}

/// Errors worth another attempt: the connection broke or timed out. A refused connection or
/// an unknown host will not fix itself in seconds.
fn is_transient(error: &ureq::Error) -> bool {
    match error {
        ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed | ureq::Error::Protocol(_) => true,
        ureq::Error::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::TimedOut
                | std::io::ErrorKind::Interrupted
        ),
        _ => false,
    }
}

fn describe_error(error: &ureq::Error) -> String {
    one_line(&error.to_string(), 300)
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::net::TcpListener;
    use std::sync::Arc;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            owned
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn origins_keep_scheme_host_and_port_only() {
        assert_eq!(
            ScmOrigin::parse("https://MyApp.scm.azurewebsites.net/")
                .unwrap()
                .as_str(),
            "https://myapp.scm.azurewebsites.net"
        );
        assert_eq!(
            ScmOrigin::parse("http://127.0.0.1:8080").unwrap().as_str(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            ScmOrigin::parse("http://[::1]:8080").unwrap().as_str(),
            "http://[::1]:8080"
        );
    }

    #[test]
    fn plain_http_is_flagged_unless_it_stays_on_this_machine() {
        let flagged = |url: &str| {
            ScmOrigin::parse(url)
                .unwrap()
                .is_plain_http_to_another_machine()
        };
        assert!(flagged("http://app.scm.azurewebsites.net"));
        assert!(flagged("http://10.0.0.5:8080"));
        assert!(!flagged("http://127.0.0.1:8080"));
        assert!(!flagged("http://localhost:8080"));
        assert!(!flagged("http://[::1]:8080"));
        assert!(!flagged("https://app.scm.azurewebsites.net"));
    }

    #[test]
    fn origins_refuse_credentials_paths_and_other_schemes() {
        let user = ScmOrigin::parse("https://$app:pw@app.scm.azurewebsites.net").unwrap_err();
        assert!(user.contains("KUDU_USERNAME"), "{user}");
        assert!(ScmOrigin::parse("https://app.scm.azurewebsites.net/api/deployments").is_err());
        assert!(ScmOrigin::parse("https://app.scm.azurewebsites.net?x=1").is_err());
        assert!(ScmOrigin::parse("ftp://app.scm.azurewebsites.net").is_err());
        assert!(ScmOrigin::parse("app.scm.azurewebsites.net").is_err());
        assert!(ScmOrigin::parse("https://").is_err());
        assert!(ScmOrigin::parse("https://host:port").is_err());
        assert!(ScmOrigin::parse("https://ho st").is_err());
    }

    #[test]
    fn credentials_come_from_either_pair_or_token() {
        assert_eq!(Credentials::from_env(env(&[])).unwrap(), Credentials::None);
        assert_eq!(
            Credentials::from_env(env(&[("KUDU_USERNAME", "$app"), ("KUDU_PASSWORD", "pw")]))
                .unwrap(),
            Credentials::Basic {
                username: "$app".into(),
                password: "pw".into()
            }
        );
        assert_eq!(
            Credentials::from_env(env(&[("KUDU_BEARER_TOKEN", "tok")])).unwrap(),
            Credentials::Bearer("tok".into())
        );
        // An unset secret expands to an empty string in most CI systems.
        assert_eq!(
            Credentials::from_env(env(&[("KUDU_USERNAME", ""), ("KUDU_BEARER_TOKEN", "")]))
                .unwrap(),
            Credentials::None
        );
    }

    #[test]
    fn half_or_double_credentials_are_usage_errors() {
        for pairs in [
            &[("KUDU_USERNAME", "$app")][..],
            &[("KUDU_PASSWORD", "pw")][..],
            &[
                ("KUDU_USERNAME", "$app"),
                ("KUDU_PASSWORD", "pw"),
                ("KUDU_BEARER_TOKEN", "tok"),
            ][..],
        ] {
            let failure = Credentials::from_env(env(pairs)).unwrap_err();
            assert_eq!(failure.code, crate::exit_code::USAGE, "{pairs:?}");
        }
    }

    #[test]
    fn headers_encode_basic_and_bearer() {
        let basic = Credentials::Basic {
            username: "$app".into(),
            password: "pw".into(),
        };
        assert_eq!(basic.header().unwrap(), "Basic JGFwcDpwdw==");
        assert_eq!(
            Credentials::Bearer("tok".into()).header().unwrap(),
            "Bearer tok"
        );
        assert_eq!(Credentials::None.header(), None);
        assert!(!format!("{basic:?}").contains("pw"));
    }

    #[test]
    fn only_affinity_cookies_are_pinned_and_the_first_value_stays() {
        let client = ScmClient::new(
            ScmOrigin::parse("http://127.0.0.1:1").unwrap(),
            Credentials::None,
        );
        let mut headers = ureq::http::HeaderMap::new();
        for value in [
            "ARRAffinity=abc123; Path=/; HttpOnly",
            "ARRAffinitySameSite=abc123; Path=/; SameSite=None; Secure",
            "KuduSession=secret; Path=/",
        ] {
            headers.append("set-cookie", value.parse().unwrap());
        }
        client.pin_affinity(&headers);
        let mut later = ureq::http::HeaderMap::new();
        later.append("set-cookie", "ARRAffinity=other; Path=/".parse().unwrap());
        client.pin_affinity(&later);
        assert_eq!(
            client.affinity_cookie().unwrap(),
            "ARRAffinity=abc123; ARRAffinitySameSite=abc123"
        );
    }

    /// A one-thread HTTP/1.1 server on 127.0.0.1 that answers connections in turn with the
    /// scripted raw responses (each closes its connection) and keeps every request head.
    fn scripted_server(responses: Vec<&'static str>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        std::thread::spawn(move || {
            for response in responses {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                let _ = stream.write_all(response.as_bytes());
            }
        });
        (origin, heads)
    }

    fn read_latest() -> Read {
        kudu_core::reads::diagnosis_reads(7)
            .into_iter()
            .find(|r| r.id == kudu_core::ReadId::Latest)
            .unwrap()
    }

    fn header_of<'a>(head: &'a str, name: &str) -> Option<&'a str> {
        head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    const UNAVAILABLE: &str =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    const HOME_WITH_AFFINITY: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\
        Set-Cookie: ARRAffinity=inst1; Path=/; HttpOnly\r\n\
        Set-Cookie: ARRAffinitySameSite=inst1; Path=/; SameSite=None\r\n\
        Content-Length: 2\r\nConnection: close\r\n\r\nok";
    const LATEST_202: &str = "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n\
        Location: /api/deployments/latest\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";

    #[test]
    fn a_503_is_retried_then_the_affinity_cookie_and_token_ride_along() {
        let (origin, heads) = scripted_server(vec![UNAVAILABLE, HOME_WITH_AFFINITY, LATEST_202]);
        let client = ScmClient::new(
            ScmOrigin::parse(&origin).unwrap(),
            Credentials::Bearer("tok".into()),
        )
        .with_backoff(Duration::from_millis(10));
        client.warm_up().unwrap();
        assert_eq!(client.affinity_instance().as_deref(), Some("inst1"));
        let reply = client.send(&read_latest());
        assert_eq!(reply.status, 202);
        assert_eq!(reply.header("location"), Some("/api/deployments/latest"));
        assert_eq!(reply.content_type.as_deref(), Some("application/json"));
        let heads = heads.lock().unwrap();
        assert_eq!(heads.len(), 3);
        assert!(heads[0].starts_with("GET / HTTP/1.1"), "{}", heads[0]);
        assert!(heads[1].starts_with("GET / HTTP/1.1"), "{}", heads[1]);
        assert_eq!(header_of(&heads[0], "cookie"), None);
        assert!(
            heads[2].starts_with("GET /api/deployments/latest?_=7 "),
            "{}",
            heads[2]
        );
        assert_eq!(
            header_of(&heads[2], "cookie"),
            Some("ARRAffinity=inst1; ARRAffinitySameSite=inst1")
        );
        assert_eq!(header_of(&heads[2], "authorization"), Some("Bearer tok"));
        assert_eq!(header_of(&heads[2], "accept"), Some("application/json"));
    }

    #[test]
    fn without_credentials_no_authorization_header_is_sent() {
        let (origin, heads) = scripted_server(vec![LATEST_202]);
        let client = ScmClient::new(ScmOrigin::parse(&origin).unwrap(), Credentials::None);
        assert_eq!(client.send(&read_latest()).status, 202);
        let heads = heads.lock().unwrap();
        assert_eq!(header_of(&heads[0], "authorization"), None);
    }

    #[test]
    fn a_refused_connection_is_a_transport_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let client = ScmClient::new(ScmOrigin::parse(&origin).unwrap(), Credentials::None);
        let reply = client.send(&read_latest());
        assert_eq!(reply.status, 0);
        assert!(reply.transport_error.is_some());
    }

    #[test]
    fn only_broken_connections_and_timeouts_are_retried() {
        use std::io::{Error, ErrorKind};
        let io = |kind| ureq::Error::Io(Error::from(kind));
        assert!(is_transient(&io(ErrorKind::ConnectionReset)));
        assert!(is_transient(&io(ErrorKind::UnexpectedEof)));
        assert!(is_transient(&ureq::Error::ConnectionFailed));
        assert!(!is_transient(&io(ErrorKind::ConnectionRefused)));
        assert!(!is_transient(&ureq::Error::HostNotFound));
        assert!(!is_transient(&ureq::Error::BadUri("x".into())));
    }
}

#[cfg(test)]
mod credential_tests {
    use super::*;

    fn origin(url: &str) -> ScmOrigin {
        ScmOrigin::parse(url).unwrap()
    }

    #[test]
    fn scm_host_forms_follow_the_fact_sheet() {
        for ok in [
            "https://myapp.scm.azurewebsites.net",
            "https://my-app-staging.scm.azurewebsites.net",
            "https://myapp.scm.azurewebsites.us",
            "https://myapp.scm.chinacloudsites.cn",
            "https://myapp-ds27dh7271aah175.scm.westus-01.azurewebsites.net",
            "https://myapp.scm.myase.appserviceenvironment.net",
            "https://myapp.scm.myase.p.azurewebsites.net",
            "http://127.0.0.1:8443",
            "https://localhost:8443",
        ] {
            assert!(origin(ok).is_scm_host(), "{ok}");
        }
        for not in [
            "https://myapp.azurewebsites.net",
            "https://scm.azurewebsites.net",
            "https://myapp.scm.azurewebsites.net.evil.example",
            "https://evil.example",
            "https://myapp.scm.evil.example",
            "https://myapp.scm.westus.azurewebsites.net",
            "https://-x.scm.azurewebsites.net",
        ] {
            assert!(!origin(not).is_scm_host(), "{not}");
        }
    }

    /// Issue 16: a password or a bearer token (valid for all of ARM) goes only to an SCM host
    /// over https, unless the user names the host.
    #[test]
    fn credentials_are_refused_to_other_hosts_and_plain_http() {
        let bearer = Credentials::Bearer("eyJ0eXAi".into());
        let basic = Credentials::Basic {
            username: "$myapp".into(),
            password: "pw".into(),
        };
        for credentials in [&bearer, &basic] {
            let refusal = origin("https://evil.example")
                .credentials_refusal(credentials, &[])
                .unwrap();
            assert!(refusal.contains("--allow-host evil.example"), "{refusal}");
            assert!(
                origin("http://myapp.scm.azurewebsites.net")
                    .credentials_refusal(credentials, &[])
                    .unwrap()
                    .contains("plain http://")
            );
            assert_eq!(
                origin("https://myapp.scm.azurewebsites.net").credentials_refusal(credentials, &[]),
                None
            );
            assert_eq!(
                origin("http://127.0.0.1:8443").credentials_refusal(credentials, &[]),
                None
            );
            assert_eq!(
                origin("https://EVIL.example")
                    .credentials_refusal(credentials, &["evil.example".into()]),
                None
            );
        }
        assert_eq!(
            origin("https://evil.example").credentials_refusal(&Credentials::None, &[]),
            None,
            "nothing to leak"
        );
    }
}
