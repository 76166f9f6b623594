//! Kudu's trace file names in `LogFiles/kudu/trace/` (`XmlTracer.GenerateFileName` and
//! `WriteEndTrace`, the same on Kudu-W and KuduLite; sim README "Trace files"):
//!
//! `<yyyy-MM-ddTHH-mm-ss>_<instance>_<nnn>_<what>[_<status>]_<secs>s.xml` once the trace ended,
//! `..._<what>_pending.xml` while it is open (or forever, when its process died). `<what>` is
//! `<METHOD>_<path>`, `Startup_<METHOD>_<path>`, `Background_<METHOD>_<path>`, `Shutdown`, or
//! another step's title. The path is the URL's path trimmed of `/` with `/` as `-`, so it cannot
//! be turned back into the URL exactly; [`TracedRequest::url_path`] rebuilds it for Kudu's
//! deployment routes, whose names hold no `-` of their own.
//!
//! Only the listing is read, never the files: a name carries everything the diagnosis needs.

use serde::Serialize;

use crate::time::Timestamp;

/// What a trace file records.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraceKind {
    /// `Incoming Request`: one request a client sent.
    Request,
    /// `Startup Request`: the first request a new Kudu process served, so Kudu started then.
    Startup,
    /// `BackgroundTrace`: an async deployment's own run.
    Background,
    /// `Process Shutdown`: Kudu stopped gracefully.
    Shutdown,
    /// Any other title (an external process, `UnexpectedException`).
    Other,
}

/// One trace file's name, taken apart.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct TracedRequest {
    /// The file name as listed.
    pub file: String,
    /// When the traced step started (UTC, whole seconds).
    pub at: Timestamp,
    /// The first 6 characters of the instance id (`WEBSITE_INSTANCE_ID`) or the machine name.
    pub instance: String,
    /// The process-wide counter, modulo 1000.
    pub counter: Option<u16>,
    pub kind: TraceKind,
    /// `POST`, `PUT`... for requests, startup and background traces.
    pub method: Option<String>,
    /// The path part of the name as Kudu wrote it (`api-zipdeploy`), or the other title.
    pub name_path: String,
    /// The response's status; `None` for traces without one and for pending ones.
    pub status: Option<u16>,
    /// Whole seconds the step took; `None` while pending.
    pub duration_secs: Option<u64>,
    /// The trace never ended: still running, or its process died.
    pub pending: bool,
}

/// Kudu's deployment routes as they appear in a trace name, with the URL each stands for.
/// Longer names first, so `api-zipdeploy` is not read as `api-zip`.
const DEPLOYMENT_ROUTES: [(&str, &str); 8] = [
    ("api-zipdeploy", "/api/zipdeploy"),
    ("api-wardeploy", "/api/wardeploy"),
    ("api-onedeploy", "/api/onedeploy"),
    ("api-publish", "/api/publish"),
    ("api-deployments", "/api/deployments"),
    ("api-deploy", "/api/deploy"),
    ("deploy", "/deploy"),
    ("api-quickdeploy", "/api/quickdeploy"),
];

impl TracedRequest {
    /// A request that asks Kudu to deploy (push, publish, fetch, redeploy): the ones a
    /// deployment lock refuses. Reads (`GET`) are never deployment requests.
    pub fn is_deployment_request(&self) -> bool {
        let method = self.method.as_deref().unwrap_or_default();
        matches!(self.kind, TraceKind::Request | TraceKind::Startup)
            && matches!(method, "POST" | "PUT")
            && self.route().is_some()
    }

    /// The URL path: exact for Kudu's deployment routes (`/api/zipdeploy`), otherwise the name
    /// with every `-` read as `/` (a name cannot tell the two apart).
    pub fn url_path(&self) -> String {
        match self.route() {
            Some((name, url)) => format!("{url}{}", self.name_path[name.len()..].replace('-', "/")),
            None => format!("/{}", self.name_path.replace('-', "/")),
        }
    }

    fn route(&self) -> Option<(&'static str, &'static str)> {
        let lower = self.name_path.to_ascii_lowercase();
        DEPLOYMENT_ROUTES.iter().copied().find(|(name, _)| {
            lower == *name
                || lower
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('-'))
        })
    }
}

/// Takes a trace file name apart; `None` for anything that is not one (Kudu-W's `.txt`
/// traces, a name whose time does not parse). Tolerant of what the source allows: an instance
/// name with `_` in it, a counter of any width, a path with `_` in it, a status missing.
pub fn parse_trace_name(file: &str) -> Option<TracedRequest> {
    let stem = strip_suffix_ignore_case(file, ".xml")?;
    let (time, rest) = stem.split_once('_')?;
    let at = trace_time(time)?;
    let fields: Vec<&str> = rest.split('_').collect();
    // The counter is the first all-digit field after the instance; an instance id is hex or a
    // machine name, and only a name of digits alone could be mistaken for it.
    let counter_at = (1..fields.len()).find(|&i| is_digits(fields[i]))?;
    let instance = fields[..counter_at].join("_");
    let counter = fields[counter_at].parse::<u16>().ok();
    let mut what: Vec<&str> = fields[counter_at + 1..].to_vec();
    let pending = what
        .last()
        .is_some_and(|f| f.eq_ignore_ascii_case("pending"));
    let mut duration_secs = None;
    let mut status = None;
    if pending {
        what.pop();
    } else {
        duration_secs = what.last().and_then(|f| seconds(f));
        if duration_secs.is_some() {
            what.pop();
        }
        // A status is three digits between the path and the seconds (`_409_0s`).
        if what.len() > 1
            && let Some(code) = what
                .last()
                .filter(|f| f.len() == 3 && is_digits(f))
                .and_then(|f| f.parse::<u16>().ok())
        {
            status = Some(code);
            what.pop();
        }
    }
    let (kind, method, name_path) = match what.as_slice() {
        ["Shutdown", ..] => (TraceKind::Shutdown, None, String::new()),
        ["Startup", method, path @ ..] if is_method(method) => (
            TraceKind::Startup,
            Some(method.to_ascii_uppercase()),
            path.join("_"),
        ),
        ["Background", method, path @ ..] if is_method(method) => (
            TraceKind::Background,
            Some(method.to_ascii_uppercase()),
            path.join("_"),
        ),
        [method, path @ ..] if is_method(method) => (
            TraceKind::Request,
            Some(method.to_ascii_uppercase()),
            path.join("_"),
        ),
        other => (TraceKind::Other, None, other.join("_")),
    };
    Some(TracedRequest {
        file: file.to_string(),
        at,
        instance,
        counter,
        kind,
        method,
        name_path,
        status,
        duration_secs,
        pending,
    })
}

/// `2026-11-27T22-28-24`: the time's colons are dashes in a file name.
fn trace_time(text: &str) -> Option<Timestamp> {
    let (date, clock) = text.split_once('T')?;
    if date.len() != 10 || clock.len() != 8 {
        return None;
    }
    Timestamp::parse_rfc3339(&format!("{date}T{}Z", clock.replace('-', ":")))
}

fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = text.len().checked_sub(suffix.len())?;
    (text.is_char_boundary(cut) && text[cut..].eq_ignore_ascii_case(suffix)).then(|| &text[..cut])
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// `12s` → 12.
fn seconds(field: &str) -> Option<u64> {
    let digits = field.strip_suffix('s')?;
    is_digits(digits).then(|| digits.parse().ok()).flatten()
}

/// An HTTP method as ASP.NET passes it: upper-case letters.
fn is_method(field: &str) -> bool {
    matches!(
        field.to_ascii_uppercase().as_str(),
        "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn a_refused_push_on_either_os() {
        let t = parse_trace_name("2026-11-26T10-02-03_a1b2c3_014_POST_api-zipdeploy_409_0s.xml")
            .unwrap();
        assert_eq!(t.at, at("2026-11-26T10:02:03Z"));
        assert_eq!(t.instance, "a1b2c3");
        assert_eq!(t.counter, Some(14));
        assert_eq!(t.kind, TraceKind::Request);
        assert_eq!(t.method.as_deref(), Some("POST"));
        assert_eq!(t.url_path(), "/api/zipdeploy");
        assert_eq!(t.status, Some(409));
        assert_eq!(t.duration_secs, Some(0));
        assert!(!t.pending);
        assert!(t.is_deployment_request());
    }

    #[test]
    fn every_shape_the_tracer_writes() {
        let cases = [
            (
                "2026-11-26T12-00-00_a1b2c3_001_Startup_POST_api-publish_0s.xml",
                TraceKind::Startup,
                Some("POST"),
                "/api/publish",
                None,
                Some(0),
                false,
            ),
            (
                "2026-11-26T12-00-00_a1b2c3_003_Background_POST_api-zipdeploy_pending.xml",
                TraceKind::Background,
                Some("POST"),
                "/api/zipdeploy",
                None,
                None,
                true,
            ),
            (
                "2026-11-26T12-00-00_a1b2c3_009_Shutdown_0s.xml",
                TraceKind::Shutdown,
                None,
                "/",
                None,
                Some(0),
                false,
            ),
            (
                "2026-11-26T12-00-00_a1b2c3_010_PUT_api-deployments-f0f0_200_131s.xml",
                TraceKind::Request,
                Some("PUT"),
                "/api/deployments/f0f0",
                Some(200),
                Some(131),
                false,
            ),
            (
                "2026-11-26T12-00-00_a1b2c3_011_POST_api-onedeploy_pending.xml",
                TraceKind::Request,
                Some("POST"),
                "/api/onedeploy",
                None,
                None,
                true,
            ),
            (
                "2026-11-26T12-00-00_a1b2c3_012_UnexpectedException.xml",
                TraceKind::Other,
                None,
                "/UnexpectedException",
                None,
                None,
                false,
            ),
        ];
        for (name, kind, method, path, status, secs, pending) in cases {
            let t = parse_trace_name(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(t.kind, kind, "{name}");
            assert_eq!(t.method.as_deref(), method, "{name}");
            assert_eq!(t.url_path(), path, "{name}");
            assert_eq!(t.status, status, "{name}");
            assert_eq!(t.duration_secs, secs, "{name}");
            assert_eq!(t.pending, pending, "{name}");
        }
    }

    #[test]
    fn tolerant_of_odd_instances_counters_and_paths() {
        // A machine name with `_`, a 4-digit counter, a lower-case extension.
        let t = parse_trace_name("2026-11-26T12-00-00_RD_0003FF_1234_POST_api-publish_409_2s.XML")
            .unwrap();
        assert_eq!(t.instance, "RD_0003FF");
        assert_eq!(t.counter, Some(1234));
        assert_eq!(t.status, Some(409));
        // A URL with `_` in it (KuduLite keeps `_`), and `.xml` inside the URL.
        let t =
            parse_trace_name("2026-11-26T12-00-00_a1b2c3_002_GET_api-vfs-my_file.xml_200_0s.xml")
                .unwrap();
        assert_eq!(t.name_path, "api-vfs-my_file.xml");
        assert!(!t.is_deployment_request());
    }

    #[test]
    fn what_is_not_a_trace_name() {
        for name in [
            "",
            "RD0003FF-1a2b.txt",
            "2026-11-26_a1b2c3_001_POST_api-publish_409_0s.xml",
            "2026-13-26T12-00-00_a1b2c3_001_POST_api-publish_409_0s.xml",
            "2026-11-26T12-00-00_a1b2c3_POST_api-publish.xml",
            "\u{feff}.xml",
            "é.xml",
        ] {
            assert_eq!(parse_trace_name(name), None, "{name:?}");
        }
    }

    #[test]
    fn reads_are_not_deployment_requests_and_deletes_neither() {
        for name in [
            "2026-11-26T12-00-00_a1b2c3_001_GET_api-zipdeploy_409_0s.xml",
            "2026-11-26T12-00-00_a1b2c3_001_DELETE_api-deployments-f0f0_409_0s.xml",
            "2026-11-26T12-00-00_a1b2c3_001_POST_api-zip-site-wwwroot_409_0s.xml",
            "2026-11-26T12-00-00_a1b2c3_001_POST_api-deploymentsx_409_0s.xml",
        ] {
            assert!(
                !parse_trace_name(name).unwrap().is_deployment_request(),
                "{name}"
            );
        }
    }
}
