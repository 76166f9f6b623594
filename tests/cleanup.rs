//! The cleanup flow in headless Chromium, against a small scripted Kudu (no network): the
//! cleanup button and its confirmation, trusted input, Escape, the run's activity log and
//! outcomes, the full reset's typed confirmation, and hostile text in the log.
#![cfg(target_arch = "wasm32")]

mod dom_queries;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use dom_queries::DomQueries;
use kudu_core::cleanup::zip_writer::{StoredZip, ZipTime};
use kudu_core::cleanup::{RunReply, RunRequest};
use kudu_core::reads::diagnosis_reads;
use kudu_core::{CauseId, HttpReply, PlanKind, Recommendation, Session, Timestamp};
use kudu_doctor::MountHandle;
use kudu_doctor::testing::{
    RoundOutcome, ScriptedKudu, SiteFacts, Snapshot, TrustGate, UiOptions, mount_with_cleanup,
};
use serde_json::{Value, json};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

const HOSTILE: &str = "<img src=x onerror=\"window.__kd_cleanup_pwned=1\">";

// ---- a scripted Kudu: a Linux site whose deployment died holding the lock --------------------

#[derive(Clone, Debug)]
struct Entry {
    is_dir: bool,
}

#[derive(Clone, Debug)]
struct Record {
    id: String,
    /// 0 pending, 1 building, 3 failed, 4 success.
    status: i64,
    received: Timestamp,
    active: bool,
}

/// What the fake does wrong, on purpose.
#[derive(Clone, Copy, Default)]
struct Faults {
    zip_500: bool,
    /// The lock's release answers 500 with a hostile body.
    lock_delete_500: bool,
}

struct FakeKudu {
    t0: Timestamp,
    locks: BTreeMap<String, Entry>,
    deployments: BTreeMap<String, Entry>,
    lock_taken: Option<Timestamp>,
    records: Vec<Record>,
    faults: Faults,
    /// Every request the app sent: method and path.
    seen: Vec<(String, String)>,
}

const OP: &str = "Performing continuous deployment";

/// info.lock's ETag as Kudu's VFS sends it: the hex of its write time (facts §4.3).
fn lock_etag(taken: Timestamp) -> String {
    format!("\"{:016x}\"", taken.unix_millis())
}
const HUNG: &str = "e51c9b2e51c9b2e51c9b2e51c9b2e51c";

impl FakeKudu {
    fn stale_lock(faults: Faults) -> FakeKudu {
        let t0 = Timestamp::from_unix_millis(js_sys::Date::now() as i64);
        let mut fake = FakeKudu {
            t0,
            locks: BTreeMap::new(),
            deployments: BTreeMap::new(),
            lock_taken: Some(t0.plus_secs(-40 * 60)),
            records: vec![],
            faults,
            seen: vec![],
        };
        fake.locks
            .insert("deployment".into(), Entry { is_dir: true });
        fake.locks
            .insert("status.lock".into(), Entry { is_dir: false });
        for name in ["pending", "active", "settings.xml"] {
            fake.deployments
                .insert(name.into(), Entry { is_dir: false });
        }
        fake.deployments
            .insert("tools".into(), Entry { is_dir: true });
        for (id, status, age, active) in [
            ("a1b2c3d4e5f60718293a4b5c6d7e8f90", 4, 86_400, true),
            (HUNG, 1, 40 * 60, false),
            ("temp-0a1b2c3d", 0, 40 * 60, false),
        ] {
            fake.deployments.insert(id.into(), Entry { is_dir: true });
            fake.records.push(Record {
                id: id.into(),
                status,
                received: t0.plus_secs(-age),
                active,
            });
        }
        fake
    }

    fn listed(&self) -> Vec<&Record> {
        self.records
            .iter()
            .filter(|r| self.deployments.contains_key(&r.id))
            .collect()
    }

    fn listing(&self, dir: &str, entries: &BTreeMap<String, Entry>) -> Value {
        let stamp = self.t0.plus_secs(-3600).to_rfc3339();
        Value::Array(
            entries
                .iter()
                .map(|(name, e)| {
                    json!({
                        "name": name, "size": 0, "mtime": stamp, "crtime": stamp,
                        "mime": if e.is_dir { "inode/directory" } else { "application/octet-stream" },
                        "href": format!("https://myapp.scm.azurewebsites.net/api/vfs/site/{dir}/{name}{}",
                            if e.is_dir { "/" } else { "" }),
                        "path": format!("/home/site/{dir}/{name}"),
                    })
                })
                .collect(),
        )
    }

    fn record(r: &Record) -> Value {
        json!({
            "id": r.id, "status": r.status, "status_text": "", "author": "N/A",
            "deployer": "GITHUB_ZIP_DEPLOY", "message": "Created via a push deployment",
            "progress": "", "received_time": r.received.to_rfc3339(),
            "start_time": r.received.to_rfc3339(),
            "end_time": if r.status >= 3 { Value::from(r.received.plus_secs(60).to_rfc3339()) } else { Value::Null },
            "complete": r.status >= 3, "active": r.active, "is_temp": r.id.starts_with("temp-"),
        })
    }

    fn zip(&self, entries: &BTreeMap<String, Entry>, with_lock: bool) -> Vec<u8> {
        let mut zip = StoredZip::new(ZipTime::default());
        for (name, e) in entries {
            if e.is_dir {
                zip.add_dir(&format!("{name}/")).unwrap();
                let inner = if name == "deployment" && with_lock {
                    "info.lock"
                } else {
                    "status.xml"
                };
                zip.add_file(&format!("{name}/{inner}"), b"{}").unwrap();
            } else {
                zip.add_file(name, b"").unwrap();
            }
        }
        zip.finish().unwrap()
    }

    /// Kudu's own bookkeeping before a deployment read: with the lock free, hung records are
    /// marked failed.
    fn prepare(&mut self, path: &str) {
        if self.lock_taken.is_none() && path.starts_with("/api/deployments") {
            for r in &mut self.records {
                if r.status < 3 {
                    r.status = 3;
                }
            }
        }
    }

    fn get(&mut self, path: &str) -> RunReply {
        let bare = path.split('?').next().unwrap_or(path);
        self.prepare(bare);
        let json = |status: u16, v: Value| {
            RunReply::text(status, "application/json; charset=utf-8", v.to_string())
        };
        match bare {
            "/api/deployments" => json(
                200,
                Value::Array(self.listed().into_iter().map(Self::record).collect()),
            ),
            "/api/deployments/latest" => {
                let listed = self.listed();
                let newest = listed.iter().max_by_key(|r| r.received);
                match newest {
                    Some(r) if r.status < 3 => json(202, Self::record(r)),
                    Some(r) => json(200, Self::record(r)),
                    None => json(404, json!({"Message": "none"})),
                }
            }
            "/api/isdeploying" => {
                let held = self.lock_taken.is_some();
                json(
                    200,
                    json!({"value": if held { "True" } else { "False" },
                           "msg": if held { "Deployment Underway" } else { "" }}),
                )
            }
            "/api/vfs/site/locks/" => json(200, self.listing("locks", &self.locks)),
            "/api/vfs/site/deployments/" => {
                json(200, self.listing("deployments", &self.deployments))
            }
            "/api/vfs/site/wwwroot/" => json(
                200,
                self.listing(
                    "wwwroot",
                    &BTreeMap::from([("app.py".to_string(), Entry { is_dir: false })]),
                ),
            ),
            "/api/vfs/site/locks/deployment/info.lock" => match self.lock_taken {
                Some(taken) => {
                    let mut reply = RunReply::text(
                        200,
                        "application/octet-stream",
                        json!({"lockExpiry": taken.plus_secs(1500).to_rfc3339(), "heldByPID": 77,
                               "heldByTID": 1, "heldByOp": OP, "heldByWorker": "w0"})
                        .to_string(),
                    );
                    reply.headers.push(("etag".into(), lock_etag(taken)));
                    reply
                }
                None => json(404, json!({"Message": "not found"})),
            },
            "/api/environment" => json(200, json!({"version": "1.0.0"})),
            "/api/zip/site/locks/" | "/api/zip/site/deployments/" if self.faults.zip_500 => {
                RunReply::text(500, "text/plain", "zip failed")
            }
            "/api/zip/site/locks/" => RunReply::bytes(
                200,
                "application/zip",
                self.zip(&self.locks, self.lock_taken.is_some()),
            ),
            "/api/zip/site/deployments/" => {
                RunReply::bytes(200, "application/zip", self.zip(&self.deployments, false))
            }
            _ => {
                if let Some(rest) = bare.strip_prefix("/api/deployments/")
                    && let Some(id) = rest.strip_suffix("/log")
                    && self.listed().iter().any(|r| r.id == id)
                {
                    let at = self.t0.plus_secs(-39 * 60).to_rfc3339();
                    return json(
                        200,
                        json!([{"log_time": at, "id": "6b1d0000-0000-0000-0000-000000000000",
                                "message": "Running deployment command...", "type": 0,
                                "details_url": null}]),
                    );
                }
                json(404, json!({"Message": "No HTTP resource"}))
            }
        }
    }

    fn delete(&mut self, request: &RunRequest) -> RunReply {
        let empty = |status| RunReply::text(status, "text/plain", "");
        for (prefix, dir) in [
            ("/api/vfs/site/locks/", "locks"),
            ("/api/vfs/site/deployments/", "deployments"),
        ] {
            let Some(rest) = request.path.strip_prefix(prefix) else {
                continue;
            };
            let name = rest.strip_suffix("/?recursive=true").unwrap_or(rest);
            if dir == "locks" && name.starts_with("deployment") && self.faults.lock_delete_500 {
                return RunReply::text(500, "text/plain", format!("disk says {HOSTILE}"));
            }
            if dir == "locks" && name == "deployment/info.lock" {
                // `If-Match` must be `*` or info.lock's ETag (facts §4.4); the empty folder
                // stays behind and does not block (facts §2.3).
                let Some(taken) = self.lock_taken else {
                    return empty(404);
                };
                let if_match = request
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("if-match"))
                    .map(|(_, v)| v.as_str());
                if if_match != Some("*") && if_match != Some(lock_etag(taken).as_str()) {
                    return empty(412);
                }
                self.lock_taken = None;
                return empty(200);
            }
            let map = if dir == "locks" {
                &mut self.locks
            } else {
                &mut self.deployments
            };
            if map.remove(name).is_none() {
                return empty(404);
            }
            if dir == "locks" && name == "deployment" {
                self.lock_taken = None;
            }
            return empty(200);
        }
        empty(405)
    }

    fn serve(&mut self, request: &RunRequest) -> RunReply {
        self.seen
            .push((request.method.to_string(), request.path.clone()));
        if request.method == "DELETE" {
            self.delete(request)
        } else {
            self.get(&request.path)
        }
    }

    /// The wizard's diagnosis of this site, as a read round would give it.
    fn snapshot(&mut self) -> Rc<Snapshot> {
        let mut session = Session::new();
        let mut reads = diagnosis_reads(1);
        for _ in 0..3 {
            for read in &reads {
                let reply = self.get(&read.path);
                let body = match reply.body {
                    kudu_core::cleanup::ReplyBody::Text(text) => text,
                    kudu_core::cleanup::ReplyBody::Bytes(bytes) => {
                        String::from_utf8_lossy(&bytes).into_owned()
                    }
                };
                let http = HttpReply {
                    status: reply.status,
                    content_type: reply.content_type,
                    body,
                    headers: vec![],
                    transport_error: None,
                };
                session.ingest(&read.id, &read.path, &http);
            }
            reads = session.follow_up_reads();
        }
        let diagnosis = session.diagnose(self.t0);
        let plan = kudu_core::plan::plan(&session, &diagnosis, PlanKind::Targeted);
        Rc::new(Snapshot {
            diagnosis,
            plan: Rc::new(plan),
            site: SiteFacts {
                name: Some("myapp".into()),
                resource_group: Some("rg-web".into()),
                owner_name: None,
            },
            failed_reads: vec![],
            clock_offset_ms: 0,
            session: Rc::new(session),
        })
    }
}

// ---- mounting ---------------------------------------------------------------------------------

struct Mounted {
    container: Element,
    fake: Rc<RefCell<FakeKudu>>,
    _handle: MountHandle,
}

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

async fn settle() {
    yew::platform::time::sleep(Duration::from_millis(40)).await;
}

const OPEN_ONLY: TrustGate = TrustGate {
    synthetic_opens: true,
    synthetic_runs: false,
    synthetic_receipts: false,
};

const OPEN_AND_RUN: TrustGate = TrustGate {
    synthetic_opens: true,
    synthetic_runs: true,
    synthetic_receipts: true,
};

/// Synthetic clicks may start a run but not say the user holds the backup.
const RUN_BUT_NO_RECEIPT: TrustGate = TrustGate {
    synthetic_opens: true,
    synthetic_runs: true,
    synthetic_receipts: false,
};

/// Mounts the wizard on the fake's diagnosis (`edit` may change it first).
async fn mount(faults: Faults, gate: TrustGate, edit: impl FnOnce(&mut Snapshot)) -> Mounted {
    let fake = Rc::new(RefCell::new(FakeKudu::stale_lock(faults)));
    let mut snapshot = (*fake.borrow_mut().snapshot()).clone();
    edit(&mut snapshot);
    let container = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&container).unwrap();
    let kudu: ScriptedKudu = {
        let fake = fake.clone();
        Rc::new(move |request: &RunRequest| fake.borrow_mut().serve(request))
    };
    let handle = mount_with_cleanup(
        container.clone(),
        UiOptions::default(),
        None,
        vec![RoundOutcome::Diagnosed(Rc::new(snapshot))],
        kudu,
        gate,
    );
    let mounted = Mounted {
        container,
        fake,
        _handle: handle,
    };
    for _ in 0..50 {
        settle().await;
        if mounted.find("[data-testid=guide]").is_some() {
            break;
        }
    }
    mounted
}

impl DomQueries for Mounted {
    fn root(&self) -> &Element {
        &self.container
    }
}

impl Mounted {
    async fn click(&self, selector: &str) {
        self.one(selector)
            .dyn_into::<HtmlElement>()
            .unwrap()
            .click();
        settle().await;
    }

    /// Waits for the run's outcome and returns its `data-outcome`.
    async fn outcome(&self) -> String {
        for _ in 0..250 {
            if let Some(result) = self.find("[data-testid=cleanup-result]") {
                return result.get_attribute("data-outcome").unwrap();
            }
            settle().await;
        }
        panic!(
            "no outcome; the log: {:?}",
            self.find("[data-testid=activity-log]")
                .and_then(|l| l.text_content())
        );
    }

    fn deletes(&self) -> Vec<String> {
        self.fake
            .borrow()
            .seen
            .iter()
            .filter(|(method, _)| method == "DELETE")
            .map(|(_, path)| path.clone())
            .collect()
    }

    /// Clicks `cleanup`, gives the user's word that nothing is deploying when the plan asks
    /// for it, then `confirm` (the gate lets the synthetic clicks through).
    async fn run_cleanup(&self) -> String {
        self.click("[data-testid=cleanup]").await;
        if self.find("[data-testid=ack-no-deployment]").is_some() {
            self.click("[data-testid=ack-no-deployment]").await;
        }
        self.click("[data-testid=confirm]").await;
        self.confirm_backup().await;
        self.outcome().await
    }

    /// Once the backup is checked, says the user holds it (when the run gets that far).
    async fn confirm_backup(&self) {
        for _ in 0..250 {
            if self.find("[data-testid=cleanup-result]").is_some() {
                return;
            }
            if self.find("[data-testid=backup-saved]").is_some() {
                self.click("[data-testid=backup-saved]").await;
                return;
            }
            settle().await;
        }
    }
}

// ---- tests ------------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn the_fake_site_is_a_stale_lock_with_a_plan() {
    let app = mount(Faults::default(), TrustGate::default(), |_| {}).await;
    let primary = app.one("[data-testid=diagnosis] [data-primary=true]");
    assert_eq!(
        primary.get_attribute("data-cause").as_deref(),
        Some("stale-lock")
    );
    assert!(app.find("[data-testid=cleanup]").is_some());
    assert!(app.find("[data-testid=confirm-panel]").is_none());
}

#[wasm_bindgen_test]
async fn a_deployment_in_progress_never_offers_the_cleanup() {
    let app = mount(Faults::default(), OPEN_AND_RUN, |snapshot| {
        // Even if a plan and a cleanup recommendation were there, only the wait is offered.
        let finding = &mut snapshot.diagnosis.findings[0];
        finding.cause = CauseId::DeploymentInProgress;
        finding.recommendations = vec![
            Recommendation::Wait {
                until: None,
                reason: "A deployment is running.".into(),
            },
            Recommendation::TargetedCleanup,
        ];
        assert!(!snapshot.plan.steps.is_empty());
    })
    .await;
    assert_eq!(
        app.one("[data-testid=guide]")
            .get_attribute("data-for-cause")
            .as_deref(),
        Some("deployment-in-progress")
    );
    assert!(app.find("[data-recommendation=wait]").is_some());
    assert!(
        app.find("[data-testid=cleanup]").is_none(),
        "no cleanup button"
    );
    assert!(app.find("[data-testid=full-reset]").is_none());
}

#[wasm_bindgen_test]
async fn a_script_click_opens_nothing_and_starts_nothing() {
    let strict = mount(Faults::default(), TrustGate::default(), |_| {}).await;
    strict.click("[data-testid=cleanup]").await;
    assert!(
        strict.find("[data-testid=confirm-panel]").is_none(),
        "an untrusted click must not open the confirmation"
    );

    let app = mount(Faults::default(), OPEN_ONLY, |_| {}).await;
    app.click("[data-testid=cleanup]").await;
    let panel = app.one("[data-testid=confirm-panel]");
    assert_eq!(panel.get_attribute("role").as_deref(), Some("alertdialog"));
    assert_eq!(
        document().active_element(),
        Some(panel.clone()),
        "focus moves to the confirmation"
    );
    let backups = app.text("[data-testid=confirm-backups]");
    assert!(backups.contains("GET /api/zip/site/locks/"), "{backups}");
    assert!(
        backups.contains("GET /api/zip/site/deployments/"),
        "{backups}"
    );
    let deletes = app.text("[data-testid=confirm-deletes]");
    assert!(
        deletes.contains("DELETE /api/vfs/site/locks/deployment/info.lock"),
        "{deletes}"
    );
    assert!(deletes.contains("Risk:"), "{deletes}");

    app.click("[data-testid=confirm]").await;
    settle().await;
    assert!(
        app.fake.borrow().seen.is_empty(),
        "an untrusted confirm sent {:?}",
        app.fake.borrow().seen
    );
    assert!(app.find("[data-testid=cleanup-run]").is_none());
}

#[wasm_bindgen_test]
async fn escape_cancels_and_gives_focus_back() {
    let app = mount(Faults::default(), OPEN_ONLY, |_| {}).await;
    app.click("[data-testid=cleanup]").await;
    let panel = app.one("[data-testid=confirm-panel]");
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Escape");
    init.set_bubbles(true);
    let escape =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    panel.dispatch_event(&escape).unwrap();
    settle().await;
    assert!(app.find("[data-testid=confirm-panel]").is_none());
    assert_eq!(
        document().active_element(),
        Some(app.one("[data-testid=cleanup]")),
        "focus is back on the cleanup button"
    );
    assert!(app.fake.borrow().seen.is_empty());
}

#[wasm_bindgen_test]
async fn a_clean_run_is_fixed_and_logs_every_request() {
    let app = mount(Faults::default(), OPEN_AND_RUN, |_| {}).await;
    assert_eq!(app.run_cleanup().await, "fixed");
    let seen = app.fake.borrow().seen.clone();
    let entries = app.all("[data-testid=activity-log] [data-testid=activity-entry]");
    assert_eq!(entries.len(), seen.len(), "one log line per request");
    for ((method, path), entry) in seen.iter().zip(&entries) {
        assert_eq!(entry.get_attribute("data-method").as_ref(), Some(method));
        assert_eq!(entry.get_attribute("data-path").as_ref(), Some(path));
        assert!(entry.get_attribute("data-status").is_some(), "answered");
    }
    let first_delete = seen.iter().position(|(m, _)| m == "DELETE").unwrap();
    assert!(
        seen[..first_delete]
            .iter()
            .filter(|(_, p)| p.starts_with("/api/zip/"))
            .count()
            == 2,
        "both backups come before any delete: {seen:?}"
    );
    assert!(
        app.deletes()
            .contains(&"/api/vfs/site/locks/deployment/info.lock".to_string())
    );
    let ready = app.one("[data-testid=backup-ready]");
    let name = ready.get_attribute("data-file-name").unwrap();
    assert!(
        name.starts_with("myapp-kudu-backup-") && name.ends_with(".zip"),
        "{name}"
    );
    assert!(
        app.text("[data-testid=before-lock]").contains("expired")
            || app.text("[data-testid=before-lock]").contains("orphaned")
    );
    assert_eq!(app.text("[data-testid=after-lock]"), "free");
}

#[wasm_bindgen_test]
async fn a_failing_backup_aborts_with_nothing_deleted() {
    let app = mount(
        Faults {
            zip_500: true,
            ..Faults::default()
        },
        OPEN_AND_RUN,
        |_| {},
    )
    .await;
    assert_eq!(app.run_cleanup().await, "aborted");
    assert!(app.deletes().is_empty(), "deleted {:?}", app.deletes());
    assert!(app.find("[data-testid=abort-reason]").is_some());
    assert!(app.find("[data-testid=backup-ready]").is_none());
}

#[wasm_bindgen_test]
async fn a_500_on_a_delete_fails_and_its_hostile_body_is_text() {
    let app = mount(
        Faults {
            lock_delete_500: true,
            ..Faults::default()
        },
        OPEN_AND_RUN,
        |_| {},
    )
    .await;
    assert_eq!(app.run_cleanup().await, "failed");
    let failed = app.text("[data-testid=failed-step]");
    assert!(
        failed.contains("/api/vfs/site/locks/deployment/"),
        "{failed}"
    );
    assert!(app.find("[data-testid=true-state]").is_some());
    let log = app.one("[data-testid=activity-log]");
    assert!(
        log.text_content().unwrap().contains(HOSTILE),
        "the hostile answer is shown as text"
    );
    assert!(app.all("[data-testid=cleanup-run] img").is_empty());
    let pwned =
        js_sys::Reflect::get(&web_sys::window().unwrap(), &"__kd_cleanup_pwned".into()).unwrap();
    assert!(pwned.is_undefined(), "no script ran");
}

#[wasm_bindgen_test]
async fn the_full_reset_needs_the_exact_site_name() {
    let app = mount(Faults::default(), OPEN_ONLY, |_| {}).await;
    let section = app.one("[data-testid=full-reset-section]");
    assert!(!section.has_attribute("open"), "collapsed by default");
    // The plan is built only once the section is opened.
    assert!(app.find("[data-testid=full-reset]").is_none());
    section.set_attribute("open", "").unwrap();
    settle().await;
    let loses = app.text("[data-testid=full-reset-loses]");
    assert!(!loses.is_empty());
    for option in ["tools", "settings", "active"] {
        let input: HtmlInputElement = app
            .one(&format!("[data-testid=full-reset-{option}]"))
            .dyn_into()
            .unwrap();
        assert!(!input.checked(), "{option} is off by default");
    }
    app.click("[data-testid=full-reset]").await;
    let confirm = || {
        app.one("[data-testid=full-reset-confirm]")
            .has_attribute("disabled")
    };
    assert!(confirm(), "disabled before typing");
    // The fake's hung deployment is only silent: the reset also needs the user's word, and a
    // script cannot give it (this gate lets synthetic events open, not run).
    let ack: HtmlInputElement = app
        .one("[data-testid=full-reset-section] [data-testid=ack-no-deployment]")
        .dyn_into()
        .unwrap();
    ack.click();
    settle().await;
    assert!(!ack.checked(), "a synthetic tick is not the user's word");
    let input: HtmlInputElement = app.one("[data-testid=full-reset-name]").dyn_into().unwrap();
    for (typed, disabled) in [
        ("myap", true),
        ("MYAPP", true),
        ("myapp ", true),
        ("myapp", true),
    ] {
        input.set_value(typed);
        let init = web_sys::EventInit::new();
        init.set_bubbles(true);
        let event = web_sys::Event::new_with_event_init_dict("input", &init).unwrap();
        input.dispatch_event(&event).unwrap();
        settle().await;
        assert_eq!(confirm(), disabled, "typed {typed:?}");
    }
    // The gate lets synthetic clicks open, not run: nothing was sent.
    app.click("[data-testid=full-reset-confirm]").await;
    assert!(app.fake.borrow().seen.is_empty());
}

#[wasm_bindgen_test]
async fn the_linux_restart_hand_off_links_the_portal_and_quotes_names_as_text() {
    let app = mount(Faults::default(), TrustGate::default(), |snapshot| {
        snapshot.site = SiteFacts {
            name: Some("my<b>app</b>".into()),
            resource_group: Some("rg web".into()),
            owner_name: Some(
                "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0+rg-web-WestEuropewebspace".into(),
            ),
        };
        snapshot.diagnosis.findings[0].recommendations = vec![Recommendation::RestartApp];
    })
    .await;
    let link = app.one("[data-testid=portal-link]");
    assert_eq!(link.get_attribute("data-deep").as_deref(), Some("true"));
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some(
            "https://portal.azure.com/#@/resource/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/resourceGroups/rg%20web/providers/Microsoft.Web/sites/my%3Cb%3Eapp%3C%2Fb%3E/appServices"
        )
    );
    assert_eq!(
        app.text("[data-testid=restart-command]"),
        "az webapp restart --name 'my<b>app</b>' --resource-group 'rg web'"
    );
    assert!(app.all("[data-testid=restart-handoff] b").is_empty());
}

/// Issue 16: the deletes wait for the user's word that they hold the backup, and a script's
/// click on "I have the backup" is not that word.
#[wasm_bindgen_test]
async fn a_script_click_on_backup_saved_deletes_nothing() {
    let app = mount(Faults::default(), RUN_BUT_NO_RECEIPT, |_| {}).await;
    app.click("[data-testid=cleanup]").await;
    if app.find("[data-testid=ack-no-deployment]").is_some() {
        app.click("[data-testid=ack-no-deployment]").await;
    }
    app.click("[data-testid=confirm]").await;
    for _ in 0..250 {
        if app.find("[data-testid=backup-saved]").is_some() {
            break;
        }
        settle().await;
    }
    let ready = app.one("[data-testid=backup-ready]");
    assert_eq!(
        ready.get_attribute("data-awaiting").as_deref(),
        Some("true")
    );
    let name = ready.get_attribute("data-file-name").unwrap();
    let bytes = ready.get_attribute("data-bytes").unwrap();
    let note = app.text("[data-testid=backup-ready]");
    assert!(note.contains(&name), "{note}");
    assert!(note.contains("bytes"), "{note}");
    assert!(app.find("[data-testid=save-backup]").is_some());
    let button = app.one("[data-testid=backup-saved]");
    assert_eq!(
        document().active_element(),
        Some(button.clone()),
        "focus moves to the confirmation"
    );
    assert!(bytes.parse::<usize>().unwrap() > 0);
    for _ in 0..3 {
        app.click("[data-testid=backup-saved]").await;
        settle().await;
    }
    for _ in 0..10 {
        settle().await;
    }
    assert!(app.deletes().is_empty(), "deleted {:?}", app.deletes());
    assert!(
        app.find("[data-testid=cleanup-result]").is_none(),
        "the run waits for the user"
    );
    let seen = app.fake.borrow().seen.clone();
    assert!(
        seen.iter().all(|(method, path)| method == "GET"
            && (path.starts_with("/api/zip/")
                || path.starts_with("/api/vfs/site/")
                || path.starts_with("/api/deployments/"))),
        "only the backup and its reads went out: {seen:?}"
    );
}
