//! Kudu's request traces: XML files in `LogFiles/kudu/trace/`, one per traced request, async
//! deployment, process start and graceful stop (`Kudu.Core/Tracing/XmlTracer.cs` in both
//! repositories; the README's "Trace files" lists each fact with its source).
//!
//! A file is created as `<time>_<instance>_<nnn>_<what>_pending.xml` when its trace starts and
//! renamed to `..._<status>_<secs>s.xml` (or `..._<secs>s.xml` without a status) when it ends;
//! a trace whose process died mid-way stays `_pending.xml`.

use crate::config::Personality;
use crate::kudu::{Kudu, Reply};
use crate::time::{TICKS_PER_SEC, VTime, timespan_text};
use crate::wire::SimRequest;

/// The trace folder under HOME (`Constants.TracePath`).
pub const TRACE_DIR: &str = "LogFiles/kudu/trace";
/// `XmlTracer.MaxXmlFiles`: the cleanup starts at this many files.
pub const MAX_XML_FILES: usize = 200;
/// What a cleanup leaves: `MaxXmlFiles * 80 / 100`.
pub const KEPT_AFTER_CLEANUP: usize = MAX_XML_FILES * 80 / 100;
const PENDING_XML: &str = "_pending.xml";
/// `ElapsedThreshold`: a request this long is always traced.
const SLOW_SECS: i64 = 10;
/// `TraceFilters`: GETs answered 200 on these paths are not kept (portal polling).
const FILTERS_WINDOWS: &[&str] = &[
    "/api/webjobs",
    "/api/siteextensions",
    "/api/processes",
    "/api/deployments",
];
const FILTERS_LINUX: &[&str] = &[
    "/api/webjobs",
    "/api/continuousjobs",
    "/api/triggeredjobs",
    "/api/siteextensions",
    "/api/processes",
    "/api/deployments",
    "/api/deployments/latest",
];

/// Per-process tracer state (the statics of XmlTracer and the trace module/middleware).
#[derive(Clone, Debug, Default)]
pub struct TraceState {
    /// `_salt`: each generated name takes the next value, shown modulo 1000.
    salt: u64,
    /// `_traceStartup`: the process's first request wrote the startup trace.
    started: bool,
    /// `_lastCleanup`.
    last_cleanup: Option<VTime>,
    /// When this process started (`UpTime` in the shutdown trace).
    pub(crate) process_start: VTime,
    /// `_lastRequestDateTime`.
    last_request: VTime,
    /// Which process this is (a trace begun by an earlier one is never finished).
    pub generation: u64,
}

impl TraceState {
    /// A new process's state.
    pub fn new(now: VTime, generation: u64) -> TraceState {
        TraceState {
            process_start: now,
            last_request: now,
            generation,
            ..TraceState::default()
        }
    }
}

/// The title a trace file is named after.
#[derive(Clone, Debug, PartialEq)]
pub enum TraceTitle {
    /// `Incoming Request`: `_<METHOD>_<path>`.
    Request { method: String, url: String },
    /// `Startup Request`, the first request of a process: `_Startup_<METHOD>_<path>`.
    Startup { method: String, url: String },
    /// `BackgroundTrace`, an async deployment's own tracer: `_Background_POST_<path>`.
    Background { url: String },
    /// `Process Shutdown`: `_Shutdown`.
    Shutdown,
}

/// A trace file still being written (its name ends `_pending.xml`).
#[derive(Clone, Debug)]
pub struct OpenTrace {
    /// HOME-relative path of the pending file.
    pub path: String,
    title: TraceTitle,
    start: VTime,
}

impl Kudu {
    /// Serves one request the way Kudu's trace module wraps it: the process's first request
    /// writes the startup trace; unless skipped (browsers), the request gets its own trace
    /// file, finished with the answer's status (a sync push: when its build ends). If the
    /// process died while serving it (`DELETE /api/processes/0`), the trace stays pending.
    pub fn handle(&mut self, req: &SimRequest) -> Reply {
        let generation = self.traces.generation;
        self.trace_startup(req);
        let open = if self.trace_skips(req) {
            None
        } else {
            self.trace_begin(TraceTitle::Request {
                method: req.method.clone(),
                url: req.path_and_query(),
            })
        };
        let reply = self.route(req);
        let Some(open) = open else {
            return reply;
        };
        if self.traces.generation != generation {
            return reply;
        }
        match &reply {
            Reply::Now(resp) => self.trace_end(open, resp.status),
            Reply::WaitFor { key, .. } => self.attach_request_trace(*key, open),
        }
        reply
    }

    /// `SCM_TRACE_LEVEL` as `GetTraceLevel` reads it: default 1 (Error), clamped to 0..=4.
    pub fn trace_level(&self) -> i64 {
        self.app_settings
            .get("SCM_TRACE_LEVEL")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .map_or(1, |l| l.clamp(0, 4))
    }

    /// `InstanceIdUtility.GetShortInstanceId`: the first 6 characters of the instance id.
    fn short_instance_id(&self) -> String {
        match &self.quirks.trace_instance_id {
            Some(id) => id.clone(),
            None => self.instance_id.chars().take(6).collect(),
        }
    }

    /// `ShouldSkipRequest` (unless verbose): the bare `/` on Kudu-W, and any request whose
    /// User-Agent starts with `Mozilla` or `Opera` (browsers) get no request trace.
    pub fn trace_skips(&self, req: &SimRequest) -> bool {
        if self.trace_level() >= 4 {
            return false;
        }
        if self.personality == Personality::Windows && req.path_and_query() == "/" {
            return true;
        }
        let agent = req.header("user-agent").unwrap_or("").to_ascii_lowercase();
        agent.starts_with("mozilla") || agent.starts_with("opera")
    }

    /// `TraceStartup`: the first request a Kudu process sees writes the startup trace, whatever
    /// it is (a browser's included).
    pub fn trace_startup(&mut self, req: &SimRequest) {
        self.traces.last_request = self.now;
        if std::mem::replace(&mut self.traces.started, true) {
            return;
        }
        let title = TraceTitle::Startup {
            method: req.method.clone(),
            url: req.path_and_query(),
        };
        if let Some(open) = self.trace_begin(title) {
            self.trace_end(open, 0);
        }
    }

    /// A graceful stop's `TraceShutdown`.
    pub fn trace_shutdown(&mut self) {
        if let Some(open) = self.trace_begin(TraceTitle::Shutdown) {
            self.trace_end(open, 0);
        }
    }

    /// Starts a trace file (`WriteStartElement` of a tracer's first step): names it, writes the
    /// opening element, then runs the cleanup. `None` when tracing is off.
    pub fn trace_begin(&mut self, title: TraceTitle) -> Option<OpenTrace> {
        if self.trace_level() == 0 {
            return None;
        }
        let now = self.now;
        self.traces.salt += 1;
        let mut name = format!(
            "{}_{}_{:03}",
            now.to_trace_stamp(),
            self.short_instance_id(),
            self.traces.salt % 1000
        );
        match &title {
            TraceTitle::Request { method, url } => {
                name.push_str(&format!("_{method}_{}", self.name_part(url)));
            }
            TraceTitle::Startup { method, url } => {
                name.push_str(&format!("_Startup_{method}_{}", self.name_part(url)));
            }
            TraceTitle::Background { url } => {
                name.push_str(&format!("_Background_POST_{}", self.name_part(url)));
            }
            TraceTitle::Shutdown => name.push_str("_Shutdown"),
        }
        name.push_str(PENDING_XML);
        let path = format!("{TRACE_DIR}/{name}");
        let text = self.start_element(&title);
        let _ = self.home.write(&path, text.as_bytes(), now);
        self.ensure_max_xml_files();
        Some(OpenTrace {
            path,
            title,
            start: now,
        })
    }

    /// The URL's path without the query, trimmed of `/`, with `/` as `-` (Kudu-W `Replace`;
    /// KuduLite `ToSafeFileName` also turns spaces and the other invalid name characters into
    /// `-`, which on Linux are `/` and NUL).
    fn name_part(&self, url: &str) -> String {
        let path = url.split('?').next().unwrap_or("").trim_matches('/');
        match self.personality {
            Personality::Windows => path.replace('/', "-"),
            Personality::Linux => path.trim().replace([' ', '/', '\0'], "-"),
        }
    }

    /// The opening element as `WriteStartElement` writes it: no `>` yet (a child step or the
    /// end adds it).
    fn start_element(&self, title: &TraceTitle) -> String {
        let domain = match self.personality {
            Personality::Windows => 2,
            Personality::Linux => 1,
        };
        let pid = format!("{},{domain},{}", self.kudu_pid, 5 + self.traces.salt % 40);
        let (name, attrs): (&str, Vec<(&str, String)>) = match title {
            TraceTitle::Request { method, url } | TraceTitle::Startup { method, url } => (
                if matches!(title, TraceTitle::Request { .. }) {
                    "Incoming Request"
                } else {
                    "Startup Request"
                },
                vec![
                    ("url", url.clone()),
                    ("method", method.clone()),
                    ("type", "request".into()),
                    ("pid", pid),
                ],
            ),
            TraceTitle::Background { url } => (
                "BackgroundTrace",
                vec![("url", url.clone()), ("method", "POST".into())],
            ),
            TraceTitle::Shutdown => (
                "Process Shutdown",
                vec![
                    ("pid", pid),
                    (
                        "uptime",
                        timespan_text(self.now.0 - self.traces.process_start.0),
                    ),
                    (
                        "lastrequesttime",
                        timespan_text(self.now.0 - self.traces.last_request.0),
                    ),
                ],
            ),
        };
        let mut text = format!(
            "<step title=\"{name}\" date=\"{}\" instance=\"{}\" ",
            self.now.to_trace_date(),
            xml_escape(&self.short_instance_id())
        );
        for (key, value) in attrs {
            text.push_str(&format!("{key}=\"{}\" ", xml_escape(&value)));
        }
        text
    }

    /// Ends a trace (`WriteEndTrace` of its first step): writes the closing element, then
    /// deletes the file if `ShouldTrace` says so, else renames it with the status (`0`: none)
    /// and the whole seconds it took.
    pub fn trace_end(&mut self, trace: OpenTrace, status: u16) {
        let now = self.now;
        let elapsed = now.0 - trace.start.0;
        let nl = crate::deployment::newline(self.personality);
        let ms = (elapsed as f64 / 10_000.0).round() as i64;
        let tail = if status > 0 {
            format!(
                ">{nl}  <step title=\"Outgoing response\" date=\"{}\" type=\"response\" statusCode=\"{status}\" statusText=\"{}\" /><!-- duration: 0ms -->{nl}</step><!-- duration: {ms}ms -->{nl}",
                now.to_trace_date(),
                status_text(status)
            )
        } else {
            format!("/><!-- duration: {ms}ms -->{nl}")
        };
        let _ = self.home.append(&trace.path, tail.as_bytes(), now);
        if !self.should_trace(&trace.title, elapsed, status) {
            let _ = self.home.remove_file(&trace.path, now);
            return;
        }
        let secs = (elapsed as f64 / TICKS_PER_SEC as f64).round() as i64;
        let name = trace.path.rsplit('/').next().unwrap_or_default();
        // `Replace` on the whole name, as Kudu does: a URL with `.xml` in it gets the suffix
        // twice.
        let ended = if status > 0 {
            name.replace(PENDING_XML, &format!("_{status}.xml"))
        } else {
            name.replace(PENDING_XML, ".xml")
        }
        .replace(".xml", &format!("_{secs}s.xml"));
        let _ = self
            .home
            .rename(&trace.path, &format!("{TRACE_DIR}/{ended}"), now);
    }

    /// `XmlTracer.ShouldTrace` for a finished trace.
    fn should_trace(&self, title: &TraceTitle, elapsed_ticks: i64, status: u16) -> bool {
        if self.trace_level() >= 4 || elapsed_ticks >= SLOW_SECS * TICKS_PER_SEC {
            return true;
        }
        let (TraceTitle::Request { method, url } | TraceTitle::Startup { method, url }) = title
        else {
            // No `type`/`method`/`url` attributes: always kept.
            return true;
        };
        if !method.eq_ignore_ascii_case("GET") {
            return true;
        }
        if status == 304 {
            return false;
        }
        if status != 200 {
            return true;
        }
        let path = url.split('?').next().unwrap_or("").trim_end_matches('/');
        let filters = match self.personality {
            Personality::Windows => FILTERS_WINDOWS,
            Personality::Linux => FILTERS_LINUX,
        };
        !filters.iter().any(|f| f.eq_ignore_ascii_case(path))
    }

    /// `EnsureMaxXmlFiles`, run when a trace file is started: at most every 10 s (Kudu-W) or
    /// 3 s (KuduLite); at 200 or more `*.xml` files the oldest by name go until 160 are left.
    /// KuduLite only deletes those whose path contains `default` unless the switch
    /// `linux_trace_cleanup_all` is on.
    fn ensure_max_xml_files(&mut self) {
        let now = self.now;
        let interval = match self.personality {
            Personality::Windows => 10,
            Personality::Linux => 3,
        };
        if self
            .traces
            .last_cleanup
            .is_some_and(|t| t.plus_secs(interval) > now)
        {
            return;
        }
        self.traces.last_cleanup = Some(now);
        let Ok(entries) = self.home.list(TRACE_DIR) else {
            return;
        };
        // `Home::list` sorts by name, ordinally.
        let files: Vec<String> = entries
            .into_iter()
            .filter(|e| !e.is_dir && e.name.to_ascii_lowercase().ends_with(".xml"))
            .map(|e| e.name)
            .collect();
        if files.len() < MAX_XML_FILES {
            return;
        }
        let only_default =
            self.personality == Personality::Linux && !self.quirks.linux_trace_cleanup_all;
        let to_cleanup = files.len() - KEPT_AFTER_CLEANUP;
        for name in files.into_iter().take(to_cleanup) {
            if only_default && !name.to_ascii_lowercase().contains("default") {
                continue;
            }
            let _ = self.home.remove_file(&format!("{TRACE_DIR}/{name}"), now);
        }
    }
}

/// `XmlUtility.EscapeXmlText` for attribute values: element-text escaping plus quotes.
fn xml_escape(text: &str) -> String {
    crate::deployment::xml_escape(text)
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The response's status text (`HttpStatusCode` names).
fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "NoContent",
        206 => "PartialContent",
        304 => "NotModified",
        307 => "TemporaryRedirect",
        400 => "BadRequest",
        401 => "Unauthorized",
        404 => "NotFound",
        409 => "Conflict",
        412 => "PreconditionFailed",
        416 => "RequestedRangeNotSatisfiable",
        500 => "InternalServerError",
        503 => "ServiceUnavailable",
        _ => "Unknown",
    }
}
