//! `/_sim/...`: the control and inspection API (no auth). Tests and the demo drive scenarios,
//! the clock, workers, faults and settings through it; the same operations exist on
//! [`crate::SimHandle`] for Rust tests.

use std::sync::atomic::Ordering;

use serde::Serialize;

use crate::config::Personality;
use crate::faults::FaultRule;
use crate::scenarios::SCENARIOS;
use crate::server::{Shared, lock, parse_fail_mode};
use crate::wire::{SimRequest, SimResponse};

/// A snapshot of the simulator for `/_sim/state`.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct SimState {
    pub personality: String,
    pub scenario: String,
    pub now: String,
    pub realtime: bool,
    pub lock_held: bool,
    /// Running deployments: `(worker key, deployment id, hung)`.
    pub workers: Vec<(u64, String, bool)>,
    pub kudu_restarts: u32,
    pub app_restarts: u32,
    pub status_lock_denied: bool,
    pub home: String,
}

pub(crate) fn state(shared: &Shared) -> SimState {
    let mut kudu = lock(&shared.kudu);
    shared.tick(&mut kudu);
    // Peek without side effects: a lock file plus, on Windows, a live handle.
    let lock_held = match kudu.personality {
        Personality::Linux => kudu.home.is_file(crate::kudu::LINUX_LOCK_FILE),
        Personality::Windows => kudu.held_file().is_some(),
    };
    SimState {
        personality: kudu.personality.name().into(),
        scenario: lock(&shared.scenario).clone(),
        now: kudu.now.to_json(),
        realtime: shared.realtime.load(Ordering::Relaxed),
        lock_held,
        workers: kudu
            .workers
            .iter()
            .map(|w| (w.key, w.id.clone(), w.due.is_none()))
            .collect(),
        kudu_restarts: kudu.kudu_restarts,
        app_restarts: kudu.app_restarts,
        status_lock_denied: kudu.status_lock_denied,
        home: kudu.home.root().display().to_string(),
    }
}

fn ok_state(shared: &Shared) -> SimResponse {
    SimResponse::json(200, &state(shared))
}

/// Handles one `/_sim/...` request.
pub(crate) fn handle(shared: &Shared, req: &SimRequest) -> SimResponse {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let method = req.method.as_str();
    match (method, &segs[1..]) {
        ("GET", [] | ["state"]) => ok_state(shared),
        ("GET", ["ui"]) => SimResponse::html(200, &control_page(shared)),
        ("GET", ["scenarios"]) => SimResponse::json(
            200,
            &SCENARIOS
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "name": s.name,
                        "personalities": s.personalities.iter().map(|p| p.name()).collect::<Vec<_>>(),
                        "summary": s.summary,
                    })
                })
                .collect::<Vec<_>>(),
        ),
        ("POST", ["scenario", name]) => {
            let personality = match req.param("personality") {
                Some(p) => match Personality::parse(&p) {
                    Some(p) => Some(p),
                    None => return SimResponse::text(400, "personality must be linux or windows"),
                },
                None => None,
            };
            match shared.load_scenario(name, personality) {
                Ok(()) => ok_state(shared),
                Err(e) => SimResponse::text(404, &e),
            }
        }
        ("GET", ["clock"]) => {
            let now = {
                let mut kudu = lock(&shared.kudu);
                shared.tick(&mut kudu);
                kudu.now
            };
            SimResponse::json(200, &serde_json::json!({ "now": now.to_json() }))
        }
        ("POST", ["clock", "advance"]) => {
            let Some(secs) = req.param("secs").and_then(|s| s.parse::<i64>().ok()) else {
                return SimResponse::text(400, "secs=N required");
            };
            if secs < 0 {
                return SimResponse::text(400, "the clock only moves forward");
            }
            let now = shared.advance(secs);
            SimResponse::json(200, &serde_json::json!({ "now": now.to_json() }))
        }
        ("POST", ["clock", "realtime"]) => {
            let on = req.param("on").is_none_or(|v| v != "false");
            {
                let kudu = lock(&shared.kudu);
                shared.reanchor(&kudu);
            }
            shared.realtime.store(on, Ordering::Relaxed);
            ok_state(shared)
        }
        ("POST", ["deployment", action]) => {
            let key = req.param("key").and_then(|k| k.parse::<u64>().ok());
            let result = {
                let mut kudu = lock(&shared.kudu);
                shared.tick(&mut kudu);
                match *action {
                    "kill" => kudu.kill_worker(key).map(|_| ()),
                    "cancel" => kudu.cancel_worker(key).map(|_| ()),
                    "hang" => kudu.hang_worker(key).map(|_| ()),
                    "quiet" => {
                        let secs = req
                            .param("secs")
                            .and_then(|s| s.parse::<i64>().ok())
                            .unwrap_or(600);
                        let (line, resume) =
                            crate::scenarios::quiet_step_lines(kudu.personality, secs);
                        kudu.quiet_worker(key, secs, &line, &resume).map(|_| ())
                    }
                    "hang-next" => {
                        kudu.hang_next = true;
                        Some(())
                    }
                    "fail-next" => match parse_fail_mode(&req.param("mode").unwrap_or_default()) {
                        Some(mode) => {
                            kudu.fail_next = Some(mode);
                            Some(())
                        }
                        None => return SimResponse::text(400, "mode must be build or partial"),
                    },
                    _ => return SimResponse::text(404, "unknown deployment action"),
                }
            };
            shared.changed.notify_waiters();
            match result {
                Some(()) => ok_state(shared),
                None => SimResponse::text(404, "no running deployment"),
            }
        }
        ("POST", ["deployment-status"]) => {
            let (Some(id), Some(status)) = (req.param("id"), req.param("status")) else {
                return SimResponse::text(400, "id=<deployment id>&status=<number> required");
            };
            let Some(status) = status.parse::<i32>().ok().and_then(crate::DeployStatus::from_number)
            else {
                return SimResponse::text(400, "status must be one of -1, 0, 1, 2, 3, 4, 5, 6");
            };
            if lock(&shared.kudu).set_status(&id, status) {
                ok_state(shared)
            } else {
                SimResponse::text(404, "no such deployment")
            }
        }
        ("POST", ["latency"]) => {
            let Some(ms) = req.param("ms").and_then(|v| v.parse::<u64>().ok()) else {
                return SimResponse::text(400, "ms=N required");
            };
            lock(&shared.config).latency_ms = ms;
            ok_state(shared)
        }
        ("POST", ["kudu", "restart"]) => {
            {
                let mut kudu = lock(&shared.kudu);
                kudu.restart_kudu();
            }
            shared.changed.notify_waiters();
            ok_state(shared)
        }
        ("POST", ["status-lock", "deny"]) => {
            lock(&shared.kudu).status_lock_denied = true;
            ok_state(shared)
        }
        ("POST", ["file", "unopenable"]) => {
            let Some(path) = req.param("path") else {
                return SimResponse::json(400, &"path=<HOME-relative file> is required");
            };
            let on = req.param("on").is_none_or(|v| v != "false");
            let mut kudu = lock(&shared.kudu);
            if on {
                kudu.unopenable.insert(path);
            } else {
                kudu.unopenable.remove(&path);
            }
            drop(kudu);
            ok_state(shared)
        }
        ("POST", ["session", "expire"]) => {
            shared.expire_sessions();
            ok_state(shared)
        }
        ("POST", ["csp"]) => {
            let on = req.param("on").is_none_or(|v| v != "false");
            shared.csp.store(on, Ordering::Relaxed);
            ok_state(shared)
        }
        ("GET", ["faults"]) => SimResponse::json(200, &lock(&shared.faults).rules),
        ("POST", ["faults"]) => match serde_json::from_slice::<FaultRule>(&req.body) {
            Ok(rule) => {
                lock(&shared.faults).rules.push(rule);
                SimResponse::json(200, &lock(&shared.faults).rules)
            }
            Err(e) => SimResponse::text(400, &format!("bad fault rule: {e}")),
        },
        ("DELETE", ["faults"]) => {
            lock(&shared.faults).rules.clear();
            SimResponse::new(200)
        }
        ("GET", ["settings"]) => SimResponse::json(200, &lock(&shared.kudu).app_settings),
        ("POST", ["settings"]) => {
            match serde_json::from_slice::<std::collections::BTreeMap<String, Option<String>>>(&req.body) {
                Ok(values) => {
                    let mut kudu = lock(&shared.kudu);
                    for (k, v) in values {
                        match v {
                            Some(v) => kudu.app_settings.insert(k, v),
                            None => kudu.app_settings.remove(&k),
                        };
                    }
                    SimResponse::json(200, &kudu.app_settings)
                }
                Err(e) => SimResponse::text(400, &format!("expected a JSON object of strings: {e}")),
            }
        }
        ("GET", ["requests"]) => SimResponse::json(200, &*lock(&shared.log)),
        ("DELETE", ["requests"]) => {
            lock(&shared.log).clear();
            SimResponse::new(200)
        }
        _ => SimResponse::text(
            404,
            "unknown /_sim route; see crates/kudu-sim/README.md (Control API)",
        ),
    }
}

/// A small HTML page for demos: the state, and one button per scenario and action.
fn control_page(shared: &Shared) -> String {
    let st = state(shared);
    let mut page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>kudu-sim control</title></head><body>\
<h1>kudu-sim</h1><p>{} · scenario <b>{}</b> · virtual now {} · lock {} · running deployments {}</p><h2>Scenarios</h2>",
        st.personality,
        st.scenario,
        st.now,
        if st.lock_held { "held" } else { "free" },
        st.workers.len()
    );
    for scenario in SCENARIOS {
        for p in scenario.personalities {
            page.push_str(&format!(
                "<form method=\"post\" action=\"/_sim/scenario/{name}?personality={os}\" style=\"display:inline\"><button title=\"{summary}\">{name} ({os})</button></form> ",
                name = scenario.name,
                os = p.name(),
                summary = scenario.summary.replace('"', "&quot;"),
            ));
        }
    }
    page.push_str("<h2>Actions</h2>");
    for (label, action) in [
        ("advance 60 s", "/_sim/clock/advance?secs=60"),
        ("advance 30 min", "/_sim/clock/advance?secs=1800"),
        ("kill the running deployment", "/_sim/deployment/kill"),
        ("hang the running deployment", "/_sim/deployment/hang"),
        ("restart Kudu", "/_sim/kudu/restart"),
        ("expire sessions", "/_sim/session/expire"),
    ] {
        page.push_str(&format!(
            "<form method=\"post\" action=\"{action}\" style=\"display:inline\"><button>{label}</button></form> "
        ));
    }
    page.push_str(
        "<p><a href=\"/_sim/requests\">request log</a> · <a href=\"/\">Kudu</a></p></body></html>",
    );
    page
}
