//! Kudu's REST routes on top of [`Kudu`]: deployments (facts §1.3-§1.7), settings, environment,
//! scm info, processes (§5.1, §5.2) and the malware scan (§1.6). VFS and zip live in `vfs.rs`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Personality;
use crate::deployment::{DeployResult, DeployStatus, LogEntry, LogLine, StatusFile};
use crate::kudu::{
    ACTIVE, DEPLOYMENTS, Holder, Kudu, MSG_UNKNOWN_ERROR, OP_SCAN, Reply, lock_conflict_text,
};
use crate::processes::{BuildProcesses, ProcessView, build_views, process_json, w3wp_cpu_ticks};
use crate::wire::{SimRequest, SimResponse, path_decode};

/// The subscription id in `WEBSITE_OWNER_NAME` (stable so fixtures are).
const SUBSCRIPTION: &str = "2f6f2f7e-6c5b-4d1a-9e7f-3b8a1c2d4e5f";

impl Kudu {
    /// Routes one request. Time-driven transitions due by now have already run.
    pub(crate) fn route(&mut self, req: &SimRequest) -> Reply {
        // "Dual" routes also answer without `/api` (facts §1.1); deployments, vfs and zip are
        // the ones the simulator serves both ways.
        let first = req
            .path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("");
        if matches!(first, "deployments" | "vfs" | "zip") {
            let dual = SimRequest {
                path: format!("/api{}", req.path),
                ..req.clone()
            };
            return self.route(&dual);
        }
        let path = req.path.trim_end_matches('/');
        let segs: Vec<String> = req
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(path_decode)
            .collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let method = req.method.as_str();
        let flex_hides =
            self.quirks.flex_consumption && !self.quirks.flex_serves_vfs_and_isdeploying;
        let resp = match (method, segs.as_slice()) {
            // Flex Consumption deploys through /api/publish only (README "Flex Consumption").
            ("POST", ["api", "zipdeploy"]) if self.quirks.flex_consumption => {
                SimResponse::json(404, &format!("No route registered for '{path}'"))
            }
            ("GET", ["api", "isdeploying"]) | (_, ["api", "vfs", ..]) if flex_hides => {
                SimResponse::json(404, &format!("No route registered for '{path}'"))
            }
            ("POST", ["api", "zipdeploy"]) => return self.push(req, false),
            ("POST" | "PUT", ["api", "publish"]) => return self.push(req, true),
            ("GET", ["api", "deployments"]) => self.list_deployments(req),
            ("GET", ["api", "deployments", id]) => self.get_deployment(req, id),
            ("DELETE", ["api", "deployments", id]) => self.delete_deployment(req, id),
            ("PUT", ["api", "deployments", id]) => self.put_deployment(req, id),
            ("GET", ["api", "deployments", id, "log"]) => self.get_log(req, id, None),
            ("GET", ["api", "deployments", id, "log", log_id]) => {
                self.get_log(req, id, Some(log_id))
            }
            ("GET", ["api", "isdeploying"]) if self.personality == Personality::Linux => {
                self.is_deploying()
            }
            (_, ["api", "vfs", ..]) => self.vfs(req),
            (_, ["api", "zip", ..]) => self.zip(req),
            ("GET", ["api", "settings"]) => SimResponse::json(200, &self.all_settings()),
            ("POST", ["api", "settings"]) => self.post_settings(req),
            ("GET", ["api", "settings", key]) => self.get_setting(req, key),
            ("GET", ["api", "environment"]) => self.environment(),
            ("GET", ["api", "scm", "info"]) => SimResponse::json(
                200,
                &ScmInfo {
                    kind: 0,
                    git_url: format!("{}/{}.git", req.base_url, self.site),
                },
            ),
            (_, ["api", "processes", ..]) | (_, ["api", "diagnostics", "processes", ..])
                if self.personality == Personality::Linux =>
            {
                // LinuxProcessController (facts §5.1).
                SimResponse::json(400, &"Not supported on Linux")
            }
            ("GET", ["api", "processes"]) => self.list_processes(req),
            ("GET", ["api", "processes", id]) => self.process_details(req, id),
            ("DELETE", ["api", "processes", id]) => self.kill_process(req, id),
            ("POST", ["api", "scan", "start"]) if self.personality == Personality::Linux => {
                self.scan_start(req)
            }
            _ => {
                // Error404Controller answers a JSON string (facts §1.1).
                SimResponse::json(404, &format!("No route registered for '{path}'"))
            }
        };
        Reply::Now(resp)
    }

    // ---------------------------------------------------------------- deployments

    fn lock_invalidation_secs(&self) -> i64 {
        self.app_settings
            .get("SCM_DEP_LOCK_INVALIDATION_MINS")
            .and_then(|m| m.parse::<i64>().ok())
            .map(|m| m * 60)
            .unwrap_or(self.quirks.linux_lock_invalidation_secs)
    }

    /// `GetResults` with its side effects: corrupt records deleted, stale incomplete ones
    /// marked Failed (VerifyDeployment), then purge (facts §1.3).
    pub(crate) fn collect_results(&mut self, purge: bool) -> (Vec<StatusFile>, bool) {
        let held = self.lock_is_held();
        let now = self.now;
        let mut files = Vec::new();
        let entries = self.home.list(DEPLOYMENTS).unwrap_or_default();
        // Kudu-W skips `tools` by name; Kudu-L only because it has no status.xml (facts §1.3).
        let skip_tools = self.personality == Personality::Windows;
        for entry in entries
            .iter()
            .filter(|e| e.is_dir && !(skip_tools && e.name == "tools"))
        {
            let Some(text) = self.status_text(&entry.name) else {
                continue;
            };
            let Some(mut file) = StatusFile::parse(&text) else {
                let _ = self
                    .home
                    .remove_dir_all(&format!("{DEPLOYMENTS}/{}", entry.name), now);
                continue;
            };
            let stale = match self.personality {
                Personality::Windows => true,
                Personality::Linux => {
                    now.secs_since(file.received_time) > self.lock_invalidation_secs()
                }
            };
            if !file.complete && !held && stale {
                // VerifyDeployment: log the error, then MarkFailed (facts §1.3).
                self.log_top(&file.id, MSG_UNKNOWN_ERROR, 2);
                file.status = DeployStatus::Failed;
                file.status_text = String::new();
                file.progress = String::new();
                file.complete = true;
                file.end_time = Some(now);
                self.save_status(&file);
            }
            files.push(file);
        }
        files.sort_by(|a, b| b.received_time.cmp(&a.received_time).then(a.id.cmp(&b.id)));
        let skip_purge = self.personality == Personality::Linux && held;
        if purge && !skip_purge {
            files = self.purge(files);
        }
        (files, held)
    }

    /// PurgeDeployments (facts §1.3), input newest first: temporary items when more than one
    /// is in flight, failed items that never succeeded (except a newest-first one), and
    /// ever-succeeded items beyond 10 (keeping the active and in-flight ones).
    fn purge(&mut self, files: Vec<StatusFile>) -> Vec<StatusFile> {
        let active = self.active_id();
        let newest = files.first().map(|f| f.id.clone()).unwrap_or_default();
        let mut remove: Vec<String> = Vec::new();

        let in_flight: Vec<&StatusFile> =
            files.iter().filter(|f| !f.status.is_terminal()).collect();
        if in_flight.len() > 1 {
            if in_flight.iter().any(|f| !f.is_temp) {
                remove.extend(in_flight.iter().filter(|f| f.is_temp).map(|f| f.id.clone()));
            } else {
                let skip = usize::from(in_flight[0].id == newest);
                remove.extend(in_flight.iter().skip(skip).map(|f| f.id.clone()));
            }
        }

        let failed: Vec<&StatusFile> = files
            .iter()
            .filter(|f| f.status == DeployStatus::Failed && f.last_success_end_time.is_none())
            .collect();
        let skip = usize::from(failed.first().is_some_and(|f| f.id == newest));
        remove.extend(failed.iter().skip(skip).map(|f| f.id.clone()));

        let succeeded: Vec<&StatusFile> = files
            .iter()
            .filter(|f| f.last_success_end_time.is_some())
            .collect();
        if succeeded.len() > 10 {
            remove.extend(
                succeeded
                    .iter()
                    .skip(10)
                    .filter(|f| {
                        f.id != active
                            && matches!(f.status, DeployStatus::Failed | DeployStatus::Success)
                    })
                    .map(|f| f.id.clone()),
            );
        }

        let now = self.now;
        for id in &remove {
            // DeploymentStatusManager.Delete removes the folder and touches `active`.
            let _ = self
                .home
                .remove_dir_all(&format!("{DEPLOYMENTS}/{id}"), now);
            let _ = self.home.touch(ACTIVE, now);
        }
        files
            .into_iter()
            .filter(|f| !remove.contains(&f.id))
            .collect()
    }

    /// `MarkStatusComplete` ends with `PurgeAndGetDeployments` (facts §1.3).
    pub fn purge_after_completion(&mut self) {
        let _ = self.collect_results(true);
    }

    fn to_result(&self, req: &SimRequest, file: &StatusFile, active: &str) -> DeployResult {
        let mut result = DeployResult::from_status(
            file,
            !active.is_empty() && file.id == active,
            &req.base_url,
            &self.site,
            self.personality,
        );
        if self.quirks.extra_deploy_fields {
            result.build_summary = Some(serde_json::json!({ "errors": [], "warnings": [] }));
        }
        if self.quirks.flex_consumption {
            // azure-dev#3658's sample Flex record (README "Flex Consumption").
            result.build_summary =
                Some(serde_json::json!({ "errors": [], "warnings": [], "logger": null }));
            result.remote_build = Some(true);
        }
        result
    }

    /// `hash(PathAndQuery) XOR ticks(active mtime)` (facts §1.3).
    fn list_etag(&self, req: &SimRequest) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in req.path_and_query().bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        let seed = if self.personality == Personality::Linux && self.quirks.linux_etag_per_process {
            self.etag_seed()
        } else {
            0
        };
        let hash = (hash ^ seed) as u32 as i32 as i64;
        let ticks = self
            .home
            .mtime(ACTIVE)
            .map(|t| t.dotnet_ticks())
            .unwrap_or(0);
        format!("\"{:x}\"", hash ^ ticks)
    }

    /// `GET /api/deployments`: 304 on a matching If-None-Match, the static cache keyed by the
    /// ETag, else GetResults with its side effects (facts §1.3).
    fn list_deployments(&mut self, req: &SimRequest) -> SimResponse {
        if self.status_lock_blocked() {
            return self.status_lock_failure(req, "Getting deployment status");
        }
        let etag = self.list_etag(req);
        if req.header("if-none-match") == Some(etag.as_str()) {
            return SimResponse::new(304).with_header("etag", &etag);
        }
        // The static cache: same ETag, same list, no disk read (facts §1.3).
        if let Some((cached_etag, list)) = self.list_cache_mut().clone()
            && cached_etag == etag
        {
            return SimResponse::json(200, &list).with_header("etag", &etag);
        }
        let (files, _) = self.collect_results(true);
        let active = self.active_id();
        let list: Vec<DeployResult> = files
            .iter()
            .map(|f| self.to_result(req, f, &active))
            .collect();
        let etag = self.list_etag(req);
        *self.list_cache_mut() = Some((etag.clone(), list.clone()));
        SimResponse::json(200, &list).with_header("etag", &etag)
    }

    fn get_deployment(&mut self, req: &SimRequest, id: &str) -> SimResponse {
        if self.status_lock_blocked() {
            return self.status_lock_failure(req, "Getting deployment status");
        }
        // `latest` goes through GetResults (with purge); one id only through VerifyDeployment.
        let (files, held) = self.collect_results(id.eq_ignore_ascii_case("latest"));
        let active = self.active_id();
        let linux = self.personality == Personality::Linux;
        if id.eq_ignore_ascii_case("latest") {
            if self.latest_forgotten {
                // README switch `latest_empty_after_restart`.
                return SimResponse::json(200, &serde_json::json!({}));
            }
            if files.is_empty() {
                return self.error(req, 404, "Deployment 'latest' not found.");
            }
            if let Some(pending) = files.iter().find(|f| !f.status.is_terminal()) {
                // 202 with Location = the request URL (facts §1.4).
                let mut result = self.to_result(req, pending, &active);
                let location = format!("{}{}", req.base_url, req.path_and_query());
                if linux {
                    // Kudu-L forces status 0 and sends no Retry-After.
                    result.status = 0;
                    return SimResponse::json(202, &result).with_header("location", &location);
                }
                // Kudu-W's pending branch leaves url/log_url unset [I] and adds Retry-After.
                result.url = None;
                result.log_url = None;
                return SimResponse::json(202, &result)
                    .with_header("location", &location)
                    .with_header(
                        "retry-after",
                        &self.quirks.windows_retry_after_secs.to_string(),
                    );
            }
            let Some(last) = files
                .iter()
                .filter(|f| f.end_time.is_some())
                .max_by(|a, b| a.end_time.cmp(&b.end_time))
            else {
                return self.error(req, 404, "Deployment 'latest' not found.");
            };
            let mut result = self.to_result(req, last, &active);
            if linux && held {
                result.status = 0;
            }
            return SimResponse::json(200, &result);
        }
        match files.iter().find(|f| f.id == id) {
            Some(file) => {
                let mut result = self.to_result(req, file, &active);
                // Kudu-L overwrites any item's status while the lock is held (facts §1.4).
                if linux && held {
                    result.status = 0;
                }
                SimResponse::json(200, &result)
            }
            None => self.error(req, 404, &format!("Deployment '{id}' not found.")),
        }
    }

    /// `DELETE /api/deployments/{id}` (facts §1.7).
    fn delete_deployment(&mut self, req: &SimRequest, id: &str) -> SimResponse {
        if let Err(text) = self.lock_acquire("Deleting deployment", Holder::Request) {
            return match self.personality {
                Personality::Windows => SimResponse::text(409, &text),
                Personality::Linux => self.linux_string(req, 409, &text),
            };
        }
        let now = self.now;
        let dir = format!("{DEPLOYMENTS}/{id}");
        let resp = if !self.home.is_dir(&dir) || id.is_empty() || id.contains("..") {
            self.error(
                req,
                404,
                &format!("Unable to delete '{id}'. No deployment found."),
            )
        } else if self.active_id() == id {
            self.error(
                req,
                409,
                &format!("Unable to delete '{id}'. The deployment is currently active."),
            )
        } else {
            let _ = self.home.remove_dir_all(&dir, now);
            let _ = self.home.touch(ACTIVE, now);
            match self.personality {
                Personality::Windows => SimResponse::new(204),
                Personality::Linux => SimResponse::new(200),
            }
        };
        self.lock_release();
        resp
    }

    /// `PUT /api/deployments/{id}` with a JSON body creates a history record under the lock
    /// (facts §1.8; WAD does this for container deploys). Redeploying a commit is not modelled.
    fn put_deployment(&mut self, req: &SimRequest, id: &str) -> SimResponse {
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(&req.body) else {
            return self.error(
                req,
                400,
                "Redeploying a commit is not modelled by the simulator.",
            );
        };
        let status = match body.get("status").and_then(serde_json::Value::as_i64) {
            Some(3) => DeployStatus::Failed,
            Some(4) => DeployStatus::Success,
            _ => return self.error(req, 400, "Invalid deployment status."),
        };
        if id.is_empty() || id.contains("..") || id.contains('/') {
            return self.error(req, 400, "Invalid deployment id.");
        }
        if let Err(text) = self.lock_acquire("Performing deployment", Holder::Request) {
            return match self.personality {
                Personality::Windows => SimResponse::text(409, &text),
                Personality::Linux => self.linux_string(req, 409, &text),
            };
        }
        let resp = if self.home.exists(&format!("{DEPLOYMENTS}/{id}")) {
            self.error(req, 409, &format!("Deployment with id '{id}' exists"))
        } else {
            let text = |key: &str, default: &str| {
                body.get(key)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or(default)
                    .to_string()
            };
            let now = self.now;
            let file = StatusFile {
                id: id.to_string(),
                author: text("author", "N/A"),
                deployer: text("deployer", "N/A"),
                author_email: text("author_email", "N/A"),
                message: text("message", ""),
                progress: String::new(),
                status,
                status_text: String::new(),
                last_success_end_time: (status == DeployStatus::Success).then_some(now),
                received_time: now,
                start_time: now,
                end_time: Some(now),
                complete: true,
                is_temp: false,
                is_readonly: false,
            };
            self.save_status(&file);
            if body.get("active").and_then(serde_json::Value::as_bool) == Some(true) {
                let _ = self.home.write(ACTIVE, id.as_bytes(), now);
            }
            let active = self.active_id();
            SimResponse::json(200, &self.to_result(req, &file, &active))
        };
        self.lock_release();
        resp
    }

    fn get_log(&mut self, req: &SimRequest, id: &str, log_id: Option<&str>) -> SimResponse {
        let text = if id.contains("..") || id.contains('/') {
            None
        } else {
            self.home
                .read_string(&format!("{DEPLOYMENTS}/{id}/log.log"))
        };
        let Some(text) = text else {
            return self.exception(req, 404, &format!("No log found for '{id}'."));
        };
        let lines: Vec<LogLine> = text.lines().filter_map(LogLine::parse).collect();
        // Group children under their top-level parent.
        let mut groups: Vec<(LogLine, Vec<LogLine>)> = Vec::new();
        for line in lines {
            if line.depth == 0 {
                groups.push((line, Vec::new()));
            } else if let Some(last) = groups.last_mut() {
                last.1.push(line);
            }
        }
        let base = format!("{}/api/deployments/{id}/log", req.base_url);
        match log_id {
            None => {
                let entries: Vec<LogEntry> = groups
                    .iter()
                    .map(|(top, children)| LogEntry {
                        log_time: top.time.to_json(),
                        id: top.id.clone(),
                        message: top.message.clone(),
                        kind: children.iter().map(|c| c.kind).fold(top.kind, u8::max),
                        details_url: (!children.is_empty()).then(|| format!("{base}/{}", top.id)),
                    })
                    .collect();
                SimResponse::json(200, &entries)
            }
            Some(log_id) => match groups.iter().find(|(top, _)| top.id == log_id) {
                Some((_, children)) if !children.is_empty() => {
                    let entries: Vec<LogEntry> = children
                        .iter()
                        .map(|c| LogEntry {
                            log_time: c.time.to_json(),
                            id: String::new(),
                            message: c.message.clone(),
                            kind: c.kind,
                            details_url: None,
                        })
                        .collect();
                    SimResponse::json(200, &entries)
                }
                _ => self.exception(
                    req,
                    404,
                    &format!("LogId '{log_id}' was not found in Deployment '{id}'."),
                ),
            },
        }
    }

    /// An exception body: Kudu-W HttpError with exception fields; Kudu-L a serialised
    /// exception object (facts §1.5).
    pub fn exception(&self, _req: &SimRequest, status: u16, message: &str) -> SimResponse {
        match self.personality {
            Personality::Windows => SimResponse::json(
                status,
                &WindowsException {
                    message: "An error has occurred.".into(),
                    exception_message: message.into(),
                    exception_type: "System.IO.FileNotFoundException".into(),
                    stack_trace: None,
                },
            ),
            Personality::Linux => SimResponse::json(
                status,
                &LinuxException {
                    class_name: "System.IO.FileNotFoundException".into(),
                    message: message.into(),
                    data: None,
                    inner_exception: None,
                    h_result: -2147024894,
                },
            ),
        }
    }

    /// `/api/isdeploying` (facts §1.6): capitalised strings.
    fn is_deploying(&mut self) -> SimResponse {
        let held = self.lock_is_held();
        let scanning = held && self.lock_info().0 == OP_SCAN;
        let body = IsDeploying {
            value: if held { "True" } else { "False" }.into(),
            msg: match (held, scanning) {
                (true, true) => "Scan Underway",
                (true, false) => "Deployment Underway",
                _ => "",
            }
            .into(),
        };
        SimResponse::json(200, &body)
    }

    // ---------------------------------------------------------------- settings

    /// Every setting as `/api/settings` shows it: Kudu defaults, `settings.xml`, environment
    /// identity, app settings (later ones win).
    pub fn all_settings(&self) -> BTreeMap<String, String> {
        let mut all = BTreeMap::new();
        for (k, v) in [
            ("ScmType", "None"),
            ("deployment_branch", "master"),
            ("SCM_TRACE_LEVEL", "1"),
            ("SCM_COMMAND_IDLE_TIMEOUT", "60"),
            ("SCM_LOGSTREAM_TIMEOUT", "7200"),
            ("SCM_BUILD_ARGS", ""),
            ("SCM_GIT_USERNAME", "windowsazure"),
            ("SCM_GIT_EMAIL", "windowsazure"),
        ] {
            all.insert(k.to_string(), v.to_string());
        }
        if let Some(xml) = self.home.read_string("site/deployments/settings.xml") {
            for part in xml.split("<add ").skip(1) {
                let attr = |name: &str| {
                    let start = part.find(&format!("{name}=\""))? + name.len() + 2;
                    let end = start + part[start..].find('"')?;
                    Some(part[start..end].to_string())
                };
                if let (Some(k), Some(v)) = (attr("key"), attr("value")) {
                    all.insert(k, v);
                }
            }
        }
        if !self.quirks.hide_site_identity_settings {
            let rg = format!("{}-rg", self.site);
            all.insert("WEBSITE_SITE_NAME".into(), self.site.clone());
            all.insert("WEBSITE_RESOURCE_GROUP".into(), rg.clone());
            all.insert(
                "WEBSITE_OWNER_NAME".into(),
                format!("{SUBSCRIPTION}+{rg}-WestEuropewebspace"),
            );
        }
        for (k, v) in &self.app_settings {
            all.insert(k.clone(), v.clone());
        }
        all
    }

    /// `GET /api/settings/{key}`: a JSON string, or 404 (facts §5.1).
    fn get_setting(&self, req: &SimRequest, key: &str) -> SimResponse {
        match self.all_settings().get(key) {
            Some(value) => SimResponse::json(200, value),
            None => self.error(req, 404, &format!("The setting '{key}' does not exist.")),
        }
    }

    /// `POST /api/settings` under the lock (`Updating deployment setting`, facts §2.1, §2.5).
    fn post_settings(&mut self, req: &SimRequest) -> SimResponse {
        let Ok(values) = serde_json::from_slice::<BTreeMap<String, String>>(&req.body) else {
            return self.error(req, 400, "Invalid settings payload.");
        };
        if let Err(text) = self.lock_acquire("Updating deployment setting", Holder::Request) {
            return self.error(req, 409, &text);
        }
        let mut current: BTreeMap<String, String> = BTreeMap::new();
        if let Some(xml) = self.home.read_string("site/deployments/settings.xml") {
            for part in xml.split("<add ").skip(1) {
                let attr = |name: &str| {
                    let start = part.find(&format!("{name}=\""))? + name.len() + 2;
                    let end = start + part[start..].find('"')?;
                    Some(part[start..end].to_string())
                };
                if let (Some(k), Some(v)) = (attr("key"), attr("value")) {
                    current.insert(k, v);
                }
            }
        }
        current.extend(values);
        let nl = crate::deployment::newline(self.personality);
        let mut xml = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>{nl}<settings>{nl}");
        for (k, v) in &current {
            xml.push_str(&format!("  <add key=\"{k}\" value=\"{v}\" />{nl}"));
        }
        xml.push_str("</settings>");
        let now = self.now;
        let _ = self
            .home
            .write("site/deployments/settings.xml", xml.as_bytes(), now);
        self.lock_release();
        SimResponse::new(204)
    }

    /// `GET /api/environment` (facts §5.1; the version numbers are made up [I]).
    fn environment(&self) -> SimResponse {
        let version = match self.personality {
            Personality::Windows => "104.1.0.79",
            Personality::Linux => "1.0.0.7",
        };
        SimResponse::json(200, &serde_json::json!({ "version": version }))
    }

    // ---------------------------------------------------------------- processes (Windows)

    /// The processes of the site's user as Kudu-W sees them (README "Processes"): Kudu's
    /// w3wp (holding `deployments.lock` while a deployment does), the site's w3wp, and each
    /// running build's `cmd` and tool.
    fn process_views(&self) -> Vec<ProcessView<'static>> {
        let builds: Vec<&BuildProcesses> = self.workers.iter().map(|w| &w.processes).collect();
        let started = self.traces.process_start;
        let mut kudu_handles = vec![
            "D:\\home\\LogFiles\\kudu\\trace".to_string(),
            "D:\\Program Files (x86)\\SiteExtensions\\Kudu".to_string(),
        ];
        if self.holds_lock_handle_here() {
            kudu_handles.push("D:\\home\\site\\locks\\deployments.lock".to_string());
        }
        let mut views = vec![
            ProcessView {
                pid: self.kudu_pid,
                name: "w3wp",
                scm: true,
                parent: None,
                children: builds.iter().map(|b| b.shell_pid).collect(),
                cpu_ticks: w3wp_cpu_ticks(started, self.now),
                started,
                command_line: format!(
                    "c:\\windows\\system32\\inetsrv\\w3wp.exe -ap \"~1{}\"",
                    self.site
                ),
                handles: kudu_handles,
            },
            ProcessView {
                pid: self.app_pid,
                name: "w3wp",
                scm: false,
                parent: None,
                children: vec![],
                cpu_ticks: w3wp_cpu_ticks(started, self.now),
                started,
                command_line: format!(
                    "c:\\windows\\system32\\inetsrv\\w3wp.exe -ap \"{}\"",
                    self.site
                ),
                handles: vec!["D:\\home\\site\\wwwroot".to_string()],
            },
        ];
        views.extend(build_views(&builds, self.kudu_pid, self.now));
        // `GetAllProcesses` orders by name.
        views.sort_by_key(|v| v.name.to_ascii_lowercase());
        views
    }

    /// `GET /api/processes` (facts §5.1).
    fn list_processes(&self, req: &SimRequest) -> SimResponse {
        let list: Vec<serde_json::Value> = self
            .process_views()
            .iter()
            .map(|v| process_json(&req.base_url, &self.site, v, false, self.now))
            .collect();
        SimResponse::json(200, &list)
    }

    fn resolve_pid(&self, id: &str) -> Option<bool> {
        let pid: i64 = id.parse().ok()?;
        if pid == 0 || pid == i64::from(self.kudu_pid) {
            Some(true)
        } else if pid == -1 || pid == i64::from(self.app_pid) {
            Some(false)
        } else {
            None
        }
    }

    /// `GET /api/processes/{id}`: `0` is Kudu itself; an unknown id is 404
    /// (`GetProcessById`'s ArgumentException).
    fn process_details(&self, req: &SimRequest, id: &str) -> SimResponse {
        let pid = match self.resolve_pid(id) {
            Some(true) => Some(self.kudu_pid),
            Some(false) => Some(self.app_pid),
            None => id.parse::<u32>().ok(),
        };
        let views = self.process_views();
        match pid.and_then(|pid| views.iter().find(|v| v.pid == pid)) {
            Some(view) => SimResponse::json(
                200,
                &process_json(&req.base_url, &self.site, view, true, self.now),
            ),
            None => self.error(req, 404, &format!("Process with id '{id}' not found.")),
        }
    }

    /// `DELETE /api/processes/0` restarts Kudu; `-1` the app worker (facts §5.2).
    fn kill_process(&mut self, req: &SimRequest, id: &str) -> SimResponse {
        match self.resolve_pid(id) {
            Some(true) => {
                self.kill_and_restart_kudu();
                SimResponse::new(200).with_header("x-sim-kudu-restart", "1")
            }
            Some(false) => {
                self.app_restarts += 1;
                self.app_pid = self.app_pid.wrapping_add(4);
                SimResponse::new(200)
            }
            None => self.error(req, 404, &format!("Process with id '{id}' not found.")),
        }
    }

    // ---------------------------------------------------------------- scan (Linux)

    fn scan_start(&mut self, req: &SimRequest) -> SimResponse {
        let secs = req
            .param("timeout")
            .and_then(|t| t.parse::<i64>().ok())
            .map(|ms| (ms / 1000).max(1))
            .unwrap_or(600);
        match self.start_scan(secs) {
            Ok(()) => SimResponse::json(
                200,
                &serde_json::json!({
                    "statusUrl": format!("{}/api/scan/{}/track", req.base_url, self.instance_id[..8].to_string()),
                }),
            ),
            Err(_) => {
                let (op, at) = self.lock_info();
                self.linux_string(req, 409, &lock_conflict_text(OP_SCAN, &op, &at))
            }
        }
    }
}

#[derive(Serialize)]
struct ScmInfo {
    #[serde(rename = "Type")]
    kind: i32,
    #[serde(rename = "GitUrl")]
    git_url: String,
}

#[derive(Serialize)]
struct IsDeploying {
    value: String,
    msg: String,
}

#[derive(Serialize)]
struct WindowsException {
    #[serde(rename = "Message")]
    message: String,
    #[serde(rename = "ExceptionMessage")]
    exception_message: String,
    #[serde(rename = "ExceptionType")]
    exception_type: String,
    #[serde(rename = "StackTrace")]
    stack_trace: Option<String>,
}

#[derive(Serialize)]
struct LinuxException {
    #[serde(rename = "ClassName")]
    class_name: String,
    #[serde(rename = "Message")]
    message: String,
    #[serde(rename = "Data")]
    data: Option<String>,
    #[serde(rename = "InnerException")]
    inner_exception: Option<String>,
    #[serde(rename = "HResult")]
    h_result: i64,
}
