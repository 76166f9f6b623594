//! The wizard in headless Chromium: mounted with hand-built diagnoses (no network), asserting
//! the DOM hooks the end-to-end suite and users rely on.
#![cfg(target_arch = "wasm32")]

mod dom_queries;

use std::rc::Rc;
use std::time::Duration;

use dom_queries::DomQueries;
use kudu_core::diagnose::{
    Blocker, BlockerKind, CanDeploy, Deployability, LockReport, LockState, OtherLock, Timeline,
    TimelineEntry,
};
use kudu_core::plan::{Precondition, Step, StepRequest};
use kudu_core::session::Warning;
use kudu_core::{
    CauseId, CleanupPlan, Confidence, DeployStatus, Deployment, Diagnosis, Evidence, Finding,
    Personality, Recommendation, StepKind, Timestamp,
};
use kudu_doctor::testing::{
    KuduHttpError, ReadFailure, RoundFailure, RoundOutcome, SiteFacts, Snapshot, UiOptions,
    mount_with_outcomes, unplanned,
};
use kudu_doctor::{MountHandle, mount};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

const HOSTILE_IMG: &str = "<img src=x onerror=\"window.__kd_pwned=1\">";
const HOSTILE_SCRIPT: &str = "<script>window.__kd_pwned=2</script>";

// ---- building diagnoses by hand -------------------------------------------------------------

fn now() -> Timestamp {
    Timestamp::from_unix_millis(js_sys::Date::now() as i64)
}

fn minutes_ago(minutes: i64) -> Timestamp {
    now().plus_secs(-60 * minutes)
}

fn deployment(id: &str, status: DeployStatus) -> Deployment {
    Deployment {
        id: Some(id.to_string()),
        status,
        status_code: None,
        status_text: String::new(),
        received: None,
        started: None,
        ended: None,
        last_success_end: None,
        deployer: "GitHub".to_string(),
        author: "dana".to_string(),
        message: format!("deploy {id}"),
        progress: String::new(),
        complete: !status.is_running(),
        active: false,
        temp: false,
        provisioning_state: None,
        flex_fields: false,
    }
}

fn entry(deployment: Deployment, began_min_ago: i64, ended_min_ago: Option<i64>) -> TimelineEntry {
    TimelineEntry {
        deployment,
        begin: Some(minutes_ago(began_min_ago)),
        end: ended_min_ago.map(minutes_ago),
        overlaps: vec![],
        ended_unsuccessfully_before_next: false,
        died_mid_deploy: false,
    }
}

fn finding(cause: CauseId, recommendations: Vec<Recommendation>) -> Finding {
    Finding {
        cause,
        confidence: Confidence::High,
        summary: format!("Summary for {}.", cause.as_str()),
        evidence: vec![Evidence {
            source: "/api/isdeploying".to_string(),
            fact: "Kudu says no deployment is running.".to_string(),
        }],
        recommendations,
    }
}

fn lock(state: LockState) -> LockReport {
    LockReport {
        state,
        holder_operation: None,
        worker: None,
        pid: None,
        acquired: None,
        expires: None,
        secs_left: None,
        windows_lock_file: false,
        explanation: String::new(),
        others: vec![],
        idle_evidence: None,
    }
}

/// The verdict the core would give beside these findings and this lock.
fn verdict(findings: &[Finding], lock: &LockReport) -> Deployability {
    let blocker = |kind, ends_by_itself| Blocker {
        kind,
        text: String::new(),
        ends_by_itself,
        until: None,
    };
    let mut blockers = vec![];
    let running = lock.state == LockState::Live
        || findings.iter().any(|f| {
            matches!(
                f.cause,
                CauseId::DeploymentInProgress | CauseId::AutoswapInProgress | CauseId::ScanUnderway
            )
        });
    if running {
        blockers.push(blocker(BlockerKind::DeploymentRunning, true));
    }
    if findings.iter().any(|f| {
        matches!(
            f.cause,
            CauseId::StaleLock | CauseId::WindowsLockHeld | CauseId::StatusLockDenied
        )
    }) {
        blockers.push(blocker(BlockerKind::StaleLock, false));
    }
    if findings.iter().any(|f| f.cause == CauseId::SessionExpired) {
        blockers.push(blocker(BlockerKind::SignInNeeded, false));
    }
    let can_deploy = match blockers.first().map(|b| b.kind) {
        None => CanDeploy::Yes,
        Some(BlockerKind::SignInNeeded) => CanDeploy::Unknown,
        Some(_) => CanDeploy::No,
    };
    Deployability {
        can_deploy,
        blockers,
    }
}

fn diagnosis(findings: Vec<Finding>, entries: Vec<TimelineEntry>, lock: LockReport) -> Diagnosis {
    Diagnosis {
        deployability: verdict(&findings, &lock),
        now: now(),
        personality: Personality::Linux,
        findings,
        timeline: Timeline {
            entries,
            ..Timeline::default()
        },
        lock,
        pasted_error: None,
        instances: Default::default(),
        warnings: vec![],
    }
}

fn diagnosed(diagnosis: Diagnosis, plan: CleanupPlan) -> RoundOutcome {
    RoundOutcome::Diagnosed(Rc::new(Snapshot {
        diagnosis,
        plan: Rc::new(plan),
        site: SiteFacts {
            name: Some("myapp".to_string()),
            resource_group: Some("rg-web".to_string()),
            owner_name: None,
        },
        failed_reads: vec![],
        clock_offset_ms: 0,
        session: Rc::default(),
    }))
}

fn simple(cause: CauseId, lock_state: LockState) -> RoundOutcome {
    diagnosed(
        diagnosis(vec![finding(cause, vec![])], vec![], lock(lock_state)),
        unplanned(),
    )
}

// ---- mounting and reading the DOM -----------------------------------------------------------

struct Mounted {
    container: Element,
    launcher: HtmlElement,
    handle: MountHandle,
}

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

fn new_element(tag: &str) -> Element {
    let element = document().create_element(tag).unwrap();
    document().body().unwrap().append_child(&element).unwrap();
    element
}

async fn settle() {
    yew::platform::time::sleep(Duration::from_millis(40)).await;
}

async fn mount_script(options: UiOptions, outcomes: Vec<RoundOutcome>) -> Mounted {
    let container = new_element("div");
    let launcher: HtmlElement = new_element("button").dyn_into().unwrap();
    launcher.set_attribute("data-testid", "launcher").unwrap();
    let handle = mount_with_outcomes(container.clone(), options, Some(launcher.clone()), outcomes);
    // The first round ends in an effect after the first render; on a busy machine that can
    // take longer than one settle.
    for _ in 0..50 {
        settle().await;
        if launcher
            .get_attribute("data-state")
            .is_some_and(|s| s != "checking")
        {
            break;
        }
    }
    settle().await;
    Mounted {
        container,
        launcher,
        handle,
    }
}

async fn page(outcome: RoundOutcome) -> Mounted {
    mount_script(UiOptions::default(), vec![outcome]).await
}

fn drawer() -> UiOptions {
    UiOptions {
        auto_open: true,
        embedded: true,
    }
}

impl DomQueries for Mounted {
    fn root(&self) -> &Element {
        &self.container
    }
}

impl Mounted {
    fn attr(&self, selector: &str, name: &str) -> Option<String> {
        self.one(selector).get_attribute(name)
    }

    fn wizard_open(&self) -> bool {
        let wizard = self.one("[data-testid=kudu-doctor]");
        assert_eq!(
            wizard.has_attribute("hidden"),
            wizard.get_attribute("data-open").as_deref() == Some("false")
        );
        !wizard.has_attribute("hidden")
    }

    async fn click(&self, selector: &str) {
        self.one(selector)
            .dyn_into::<HtmlElement>()
            .unwrap()
            .click();
        settle().await;
    }
}

// ---- diagnosis --------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn every_cause_has_an_element_and_the_leading_one_is_primary() {
    let outcome = diagnosed(
        diagnosis(
            vec![
                finding(CauseId::StaleLock, vec![]),
                finding(CauseId::ParallelDeployments, vec![]),
            ],
            vec![],
            lock(LockState::Orphaned),
        ),
        unplanned(),
    );
    let app = page(outcome).await;
    let causes = app.all("[data-testid=diagnosis] [data-cause]");
    let ids: Vec<String> = causes
        .iter()
        .map(|e| e.get_attribute("data-cause").unwrap())
        .collect();
    assert_eq!(ids, ["stale-lock", "parallel-deployments"]);
    assert_eq!(
        causes[0].get_attribute("data-primary").as_deref(),
        Some("true")
    );
    assert_eq!(causes[1].get_attribute("data-primary"), None);
    assert_eq!(app.all("[data-primary=true]").len(), 1);
    assert_eq!(app.all("[data-testid=diagnosis] button.kd-copy").len(), 1);
    let primary = causes[0].text_content().unwrap();
    assert!(primary.contains("Summary for stale-lock."), "{primary}");
    assert!(primary.contains("high confidence"), "{primary}");
    assert!(
        primary.contains("/api/isdeploying"),
        "evidence source shown: {primary}"
    );
    assert_eq!(
        app.launcher.get_attribute("data-state").as_deref(),
        Some("stale-lock")
    );
    assert_eq!(
        app.launcher.get_attribute("title").as_deref(),
        Some("409 Doctor: A stale deployment lock blocks deployments")
    );
}

#[wasm_bindgen_test]
async fn full_page_is_always_open_without_a_close_button() {
    let app = page(simple(CauseId::Healthy, LockState::Free)).await;
    assert!(app.wizard_open());
    assert_eq!(
        app.attr("[data-testid=kudu-doctor]", "role").as_deref(),
        Some("region")
    );
    assert!(app.all("[data-testid=close]").is_empty());
    assert_eq!(app.all("[aria-current=step]").len(), 1);
    assert_eq!(
        app.all("style").len(),
        1,
        "the styles ship inside the app root"
    );
}

// ---- launcher, opening and closing ------------------------------------------------------------

#[wasm_bindgen_test]
async fn opens_by_itself_when_locked_and_escape_closes_it() {
    let app = mount_script(
        drawer(),
        vec![simple(CauseId::StaleLock, LockState::Orphaned)],
    )
    .await;
    assert!(app.wizard_open());
    assert_eq!(
        app.attr("[data-testid=kudu-doctor]", "role").as_deref(),
        Some("dialog")
    );
    assert!(
        app.attr("[data-testid=kudu-doctor]", "aria-label")
            .is_some()
    );
    assert_eq!(
        app.launcher.get_attribute("aria-expanded").as_deref(),
        Some("true")
    );

    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Escape");
    init.set_bubbles(true);
    let escape =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    app.one("[data-testid=refresh]")
        .dispatch_event(&escape)
        .unwrap();
    settle().await;
    assert!(!app.wizard_open());
    assert_eq!(
        app.launcher.get_attribute("aria-expanded").as_deref(),
        Some("false")
    );
}

#[wasm_bindgen_test]
async fn stays_closed_when_healthy_and_ignores_script_clicks_on_the_launcher() {
    let app = mount_script(drawer(), vec![simple(CauseId::Healthy, LockState::Free)]).await;
    assert_eq!(
        app.launcher.get_attribute("data-state").as_deref(),
        Some("healthy")
    );
    assert!(!app.wizard_open());
    // A page script's click is untrusted and must not open the wizard.
    app.launcher.click();
    settle().await;
    assert!(!app.wizard_open());
}

#[wasm_bindgen_test]
async fn close_button_closes_and_unmount_removes_everything() {
    let mut app = mount_script(
        drawer(),
        vec![simple(CauseId::StaleLock, LockState::Orphaned)],
    )
    .await;
    assert!(app.wizard_open());
    app.click("[data-testid=close]").await;
    assert!(!app.wizard_open());
    app.handle.unmount();
    settle().await;
    assert!(app.all("[data-testid=kudu-doctor]").is_empty());
    app.handle.unmount();
}

// ---- timeline -----------------------------------------------------------------------------------

fn overlapping_timeline() -> Vec<TimelineEntry> {
    let mut first = entry(deployment("aaa111", DeployStatus::Success), 50, Some(40));
    let mut second = entry(deployment("bbb222", DeployStatus::Failed), 45, Some(38));
    first.overlaps = vec!["bbb222".to_string()];
    second.overlaps = vec!["aaa111".to_string()];
    let cancelled = entry(deployment("ccc333", DeployStatus::Cancelled), 30, Some(29));
    let running = entry(deployment("ddd444", DeployStatus::Deploying), 10, None);
    vec![first, second, cancelled, running]
}

#[wasm_bindgen_test]
async fn timeline_draws_one_bar_per_deployment_and_marks_the_overlap() {
    let outcome = diagnosed(
        diagnosis(
            vec![finding(CauseId::ParallelDeployments, vec![])],
            overlapping_timeline(),
            lock(LockState::Live),
        ),
        unplanned(),
    );
    let app = page(outcome).await;
    let bars = app.all("[data-testid=timeline] svg [data-testid=timeline-bar]");
    assert_eq!(bars.len(), 4);
    let outcomes: Vec<String> = bars
        .iter()
        .map(|b| b.get_attribute("data-outcome").unwrap())
        .collect();
    assert_eq!(outcomes, ["success", "failed", "cancelled", "running"]);
    assert_eq!(app.all("[data-overlap=true].kd-bar").len(), 2);
    let conflicting = app.all("[data-conflict=true]");
    assert_eq!(conflicting.len(), 1);
    assert_eq!(
        conflicting[0]
            .get_attribute("data-deployment-id")
            .as_deref(),
        Some("bbb222")
    );
    assert_eq!(
        conflicting[0]
            .query_selector_all(".kd-marker")
            .unwrap()
            .length(),
        1
    );
    assert!(
        bars.iter()
            .all(|b| b.get_attribute("tabindex").as_deref() == Some("0"))
    );
    assert_eq!(
        bars[3]
            .query_selector_all(".kd-bar-hatch")
            .unwrap()
            .length(),
        1
    );
    let ticks: Vec<String> = app
        .all("[data-testid=timeline] svg .kd-tick text")
        .iter()
        .map(|t| t.text_content().unwrap())
        .collect();
    assert!(!ticks.is_empty());
    assert!(
        ticks
            .iter()
            .all(|t| t.len() == 5 && t.as_bytes()[2] == b':'),
        "HH:MM ticks: {ticks:?}"
    );
    let title = bars[1]
        .query_selector("title")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    assert!(
        title.contains("by dana via GitHub") && title.contains("deploy bbb222"),
        "{title}"
    );
}

#[wasm_bindgen_test]
async fn focusing_a_bar_shows_its_details_as_text() {
    let outcome = diagnosed(
        diagnosis(
            vec![finding(CauseId::ParallelDeployments, vec![])],
            overlapping_timeline(),
            lock(LockState::Free),
        ),
        unplanned(),
    );
    let app = page(outcome).await;
    let bar: web_sys::SvgElement = app.one("[data-deployment-id=ccc333]").dyn_into().unwrap();
    bar.focus().unwrap();
    settle().await;
    let detail = app.text("[data-testid=timeline-detail]");
    assert!(
        detail.contains("ccc333") && detail.contains("cancelled"),
        "{detail}"
    );
    assert!(
        detail.contains("deploy ccc333") && detail.contains("UTC"),
        "{detail}"
    );
}

// ---- lock inspector -------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn linux_lock_counts_down_live() {
    let mut report = lock(LockState::Orphaned);
    report.holder_operation = Some("Performing zip deployment".to_string());
    report.worker = Some("10.0.0.4".to_string());
    report.acquired = Some(minutes_ago(15));
    report.expires = Some(now().plus_secs(600));
    report.others = vec![OtherLock {
        name: "status.lock".to_string(),
        modified: Some(minutes_ago(2)),
        meaning: "Normal on Linux; it stays after use.".to_string(),
        blocking: false,
    }];
    let outcome = diagnosed(
        diagnosis(vec![finding(CauseId::StaleLock, vec![])], vec![], report),
        unplanned(),
    );
    let app = page(outcome).await;
    assert_eq!(
        app.attr("[data-testid=lock]", "data-lock-state").as_deref(),
        Some("orphaned")
    );
    let lock_text = app.text("[data-testid=lock]");
    assert!(
        lock_text.contains("Performing zip deployment"),
        "{lock_text}"
    );
    assert!(
        lock_text.contains("10.0.0.4") && lock_text.contains("status.lock"),
        "{lock_text}"
    );
    let countdown = app.text("[data-testid=lock-countdown]");
    assert!(
        countdown == "10:00 left" || countdown.starts_with("9:5"),
        "countdown: {countdown}"
    );
    let secs = |app: &Mounted| -> i64 {
        app.attr("[data-testid=lock-countdown]", "data-secs-left")
            .unwrap()
            .parse()
            .unwrap()
    };
    let before = secs(&app);
    assert!((595..=600).contains(&before), "{before}");
    yew::platform::time::sleep(Duration::from_millis(1_300)).await;
    assert!(secs(&app) < before, "the countdown ticks without a re-read");
}

#[wasm_bindgen_test]
async fn windows_lock_says_what_a_held_lock_means() {
    let mut report = lock(LockState::Held);
    report.windows_lock_file = true;
    let mut diagnosis = diagnosis(
        vec![finding(CauseId::WindowsLockHeld, vec![])],
        vec![],
        report,
    );
    diagnosis.personality = Personality::Windows;
    let app = page(diagnosed(diagnosis, unplanned())).await;
    assert_eq!(
        app.attr("[data-testid=lock]", "data-lock-state").as_deref(),
        Some("held")
    );
    let text = app.text("[data-testid=windows-lock]");
    assert!(text.contains("deployments.lock is listed"), "{text}");
    assert!(app.all("[data-testid=lock-countdown]").is_empty());
}

// ---- hostile input ------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn markup_from_kudu_renders_as_text_and_runs_nothing() {
    let hostile = format!("{HOSTILE_IMG}{HOSTILE_SCRIPT}");
    let mut evil = deployment("eee555", DeployStatus::Failed);
    evil.message = hostile.clone();
    evil.author = hostile.clone();
    evil.deployer = hostile.clone();
    evil.status_text = hostile.clone();
    let mut other = deployment("fff666", DeployStatus::Success);
    other.message = "plain".to_string();
    let mut f = finding(
        CauseId::StaleLock,
        vec![
            Recommendation::Wait {
                until: None,
                reason: hostile.clone(),
            },
            Recommendation::TargetedCleanup,
        ],
    );
    f.summary = hostile.clone();
    f.evidence = vec![Evidence {
        source: hostile.clone(),
        fact: hostile.clone(),
    }];
    let mut report = lock(LockState::Orphaned);
    report.holder_operation = Some(hostile.clone());
    report.explanation = hostile.clone();
    let mut d = diagnosis(
        vec![f],
        vec![entry(evil, 20, Some(18)), entry(other, 10, Some(9))],
        report,
    );
    d.warnings = vec![Warning {
        endpoint: hostile.clone(),
        reason: hostile.clone(),
    }];
    let mut plan = unplanned();
    plan.steps = vec![Step {
        kind: StepKind::DeleteDir,
        request: StepRequest {
            method: "DELETE",
            path: "/api/vfs/site/locks/deployment/?recursive=true".to_string(),
            headers: vec![],
        },
        precondition: Precondition::LockUnchanged {
            holder_operation: Some(hostile.clone()),
            acquired: None,
        },
        expect: hostile.clone(),
        risk: hostile.clone(),
        group: 0,
        optional: false,
    }];
    let app = page(diagnosed(d, plan)).await;
    // The failed run ended before the newest success: older than what explains now.
    app.click("[data-testid=timeline-view] [data-view=all]")
        .await;
    let bar: web_sys::SvgElement = app.one("[data-deployment-id=eee555]").dyn_into().unwrap();
    bar.focus().unwrap();
    settle().await;

    assert!(app.all("img").is_empty(), "no <img> was created");
    assert!(app.all("script").is_empty(), "no <script> was created");
    let text = app.container.text_content().unwrap();
    for place in ["diagnosis", "timeline-detail", "lock", "guide", "warnings"] {
        let shown = app.text(&format!("[data-testid={place}]"));
        assert!(
            shown.contains(HOSTILE_IMG),
            "{place} shows the markup as text: {shown}"
        );
    }
    assert!(text.contains(HOSTILE_SCRIPT));
    let title = bar
        .query_selector("title")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    assert!(title.contains(HOSTILE_IMG));
    let table = app.text("[data-testid=timeline-table]");
    assert!(table.contains(HOSTILE_IMG), "{table}");
    yew::platform::time::sleep(Duration::from_millis(50)).await;
    let pwned = js_sys::Reflect::get(
        &web_sys::window().unwrap(),
        &JsValue::from_str("__kd_pwned"),
    )
    .unwrap();
    assert!(pwned.is_undefined(), "no handler ran");
}

// ---- failures: session expired, unreachable, partial ----------------------------------------

#[wasm_bindgen_test]
async fn expired_session_offers_sign_in_and_retry() {
    let mut d = diagnosis(
        vec![finding(
            CauseId::SessionExpired,
            vec![Recommendation::SignIn],
        )],
        vec![],
        lock(LockState::Unknown),
    );
    d.personality = Personality::Unknown;
    let expired = RoundOutcome::Diagnosed(Rc::new(Snapshot {
        diagnosis: d,
        plan: Rc::new(unplanned()),
        site: SiteFacts::default(),
        failed_reads: vec![ReadFailure {
            endpoint: "/api/deployments".to_string(),
            error: KuduHttpError::SessionExpired { status: 0 },
        }],
        clock_offset_ms: 0,
        session: Rc::default(),
    }));
    let app = mount_script(drawer(), vec![expired]).await;
    assert!(app.wizard_open(), "an expired session opens the wizard");
    assert_eq!(
        app.launcher.get_attribute("data-state").as_deref(),
        Some("session-expired")
    );
    let panel = app.text("[data-testid=session-expired]");
    assert!(panel.contains("Sign in to the SCM site again"), "{panel}");
    assert!(panel.contains("/api/deployments"), "{panel}");
    assert!(
        app.all("[data-testid=read-errors]").is_empty(),
        "no raw error list"
    );
    assert_eq!(
        app.all("[data-cause=session-expired][data-primary=true]")
            .len(),
        1
    );
    assert!(
        app.text("[data-testid=timeline]")
            .contains("could not be read")
    );
    assert_eq!(
        app.attr("[data-testid=sign-in]", "href").as_deref(),
        Some("https://myapp.scm.azurewebsites.net/")
    );
    assert_eq!(
        app.attr("[data-testid=sign-in]", "target").as_deref(),
        Some("_blank")
    );
    assert!(
        app.attr("[data-testid=sign-in]", "rel")
            .unwrap()
            .contains("noopener")
    );
    app.click("[data-testid=session-expired] [data-testid=retry]")
        .await;
    assert_eq!(app.all("[data-testid=session-expired]").len(), 1);
}

#[wasm_bindgen_test]
async fn a_failed_refresh_names_the_endpoint_and_keeps_the_diagnosis() {
    let down = RoundOutcome::Failed(RoundFailure::Unreachable {
        failures: vec![ReadFailure {
            endpoint: "/api/deployments".to_string(),
            error: KuduHttpError::Status {
                code: 503,
                excerpt: "Service Unavailable".to_string(),
            },
        }],
    });
    let app = page_script(vec![simple(CauseId::StaleLock, LockState::Orphaned), down]).await;
    assert!(app.all("[data-testid=read-errors]").is_empty());
    app.click("[data-testid=refresh]").await;
    let errors = app.text("[data-testid=read-errors]");
    assert!(
        errors.contains("/api/deployments") && errors.contains("HTTP 503"),
        "{errors}"
    );
    assert_eq!(
        app.all("[data-testid=read-errors] [data-testid=retry]")
            .len(),
        1
    );
    assert_eq!(
        app.all("[data-cause=stale-lock][data-primary=true]").len(),
        1
    );
    assert_eq!(
        app.launcher.get_attribute("data-state").as_deref(),
        Some("stale-lock")
    );
}

async fn page_script(outcomes: Vec<RoundOutcome>) -> Mounted {
    mount_script(UiOptions::default(), outcomes).await
}

#[wasm_bindgen_test]
async fn nothing_read_at_all_is_shown_with_a_retry() {
    let down = RoundOutcome::Failed(RoundFailure::Unreachable {
        failures: vec![ReadFailure {
            endpoint: "/api/isdeploying".to_string(),
            error: KuduHttpError::TimedOut,
        }],
    });
    let app = page(down).await;
    assert_eq!(
        app.launcher.get_attribute("data-state").as_deref(),
        Some("error")
    );
    let errors = app.text("[data-testid=read-errors]");
    assert!(
        errors.contains("/api/isdeploying") && errors.contains("no answer within 15 s"),
        "{errors}"
    );
    assert!(app.all("[data-testid=diagnosis]").is_empty());
}

// ---- guided path ----------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn stale_lock_guide_follows_the_runbook_and_offers_the_plan() {
    let recommendations = vec![
        Recommendation::TargetedCleanup,
        Recommendation::RestartApp,
        Recommendation::Wait {
            until: Some(now().plus_secs(300)),
            reason: "The lock expires by itself.".to_string(),
        },
    ];
    let mut plan = unplanned();
    plan.steps = vec![
        Step {
            kind: StepKind::Backup,
            request: StepRequest {
                method: "GET",
                path: "/api/zip/site/locks/".to_string(),
                headers: vec![],
            },
            precondition: Precondition::None,
            expect: "A zip of site/locks".to_string(),
            risk: "None: it only reads.".to_string(),
            group: 0,
            optional: false,
        },
        Step {
            kind: StepKind::DeleteDir,
            request: StepRequest {
                method: "DELETE",
                path: "/api/vfs/site/locks/deployment/?recursive=true".to_string(),
                headers: vec![],
            },
            precondition: Precondition::NotDeploying,
            expect: "site/locks/deployment/ is gone".to_string(),
            risk: "Low: the lock is orphaned.".to_string(),
            group: 1,
            optional: false,
        },
    ];
    let outcome = diagnosed(
        diagnosis(
            vec![finding(CauseId::StaleLock, recommendations)],
            vec![],
            lock(LockState::Orphaned),
        ),
        plan,
    );
    let app = page(outcome).await;
    let order: Vec<String> = app
        .all("[data-testid=guide] [data-recommendation]")
        .iter()
        .map(|e| e.get_attribute("data-recommendation").unwrap())
        .collect();
    assert_eq!(
        order,
        ["wait", "restart-app", "targeted-cleanup", "full-reset"]
    );
    assert_eq!(app.all("[data-testid=plan] [data-step-kind]").len(), 2);
    let plan_text = app.text("[data-testid=plan]");
    assert!(plan_text.contains("DELETE /api/vfs/site/locks/deployment/?recursive=true"));
    assert!(plan_text.contains("No deployment is in progress.") && plan_text.contains("Risk: Low"));
    assert_eq!(
        app.all("[data-testid=plan] [data-testid=cleanup]:not([disabled])")
            .len(),
        1,
        "the plan can be run"
    );
    app.click("[data-testid=cleanup]").await;
    assert!(
        app.all("[data-testid=confirm-panel]").is_empty(),
        "a script's click opens no confirmation"
    );
    let guide = app.text("[data-testid=guide]");
    assert!(
        guide.contains("az webapp restart --name myapp --resource-group rg-web"),
        "{guide}"
    );
    assert!(
        app.text("[data-testid=wait-until]").contains("in 4:5")
            || app.text("[data-testid=wait-until]").contains("in 5:00")
    );
}

#[wasm_bindgen_test]
async fn a_plan_still_being_built_holds_the_buttons_place_disabled() {
    let stale = || {
        diagnosis(
            vec![finding(
                CauseId::StaleLock,
                vec![Recommendation::TargetedCleanup],
            )],
            vec![],
            lock(LockState::Orphaned),
        )
    };
    // The diagnosis comes first with a plan that has neither steps nor a reason yet.
    let app = page(diagnosed(stale(), unplanned())).await;
    assert_eq!(
        app.all("[data-testid=plan] [data-testid=cleanup-preparing][disabled][aria-busy=true]")
            .len(),
        1
    );
    assert!(app.all("[data-testid=cleanup]").is_empty());
    // A built plan without steps says why, and nothing is being prepared.
    let mut refused = unplanned();
    refused.not_offered = Some("Nothing here is stale.".to_string());
    let app = page(diagnosed(stale(), refused)).await;
    assert!(app.all("[data-testid=cleanup-preparing]").is_empty());
    assert!(
        app.text("[data-testid=plan-not-offered]")
            .contains("Nothing here is stale.")
    );
}

#[wasm_bindgen_test]
async fn ci_overlap_guide_shows_a_concurrency_snippet() {
    let app = page(simple(CauseId::ParallelDeployments, LockState::Free)).await;
    let advice = app.text("[data-testid=pipeline-advice]");
    assert!(
        advice.contains("concurrency:") && advice.contains("group: deploy-myapp"),
        "{advice}"
    );
    assert!(advice.contains("cancel-in-progress: false"), "{advice}");
    assert_eq!(
        app.all("[data-testid=pipeline-advice] button.kd-copy")
            .len(),
        1
    );
}

/// Issue 17: a deployment in progress never opens the drawer by itself, and a closed drawer
/// is not polled with full rounds (the loader's probe watches instead).
#[wasm_bindgen_test]
async fn a_deployment_in_progress_stays_in_the_launcher_behind_a_closed_drawer() {
    let app = mount_script(
        drawer(),
        vec![simple(CauseId::DeploymentInProgress, LockState::Live)],
    )
    .await;
    assert!(!app.wizard_open());
    assert_eq!(
        app.launcher.get_attribute("data-state").as_deref(),
        Some("deployment-in-progress")
    );
    let text = app.launcher.text_content().unwrap_or_default();
    assert!(text.contains("A deployment is in progress"), "{text}");
    assert!(app.all("[data-testid=polling]").is_empty());
}

#[wasm_bindgen_test]
async fn watches_a_deployment_and_announces_when_the_lock_is_gone() {
    // A full page: the wizard is always seen, so it watches the site itself.
    let app = mount_script(
        UiOptions::default(),
        vec![
            simple(CauseId::DeploymentInProgress, LockState::Live),
            simple(CauseId::Healthy, LockState::Free),
        ],
    )
    .await;
    assert_eq!(app.all("[data-testid=polling]").len(), 1);
    assert!(app.all("[data-testid=lock-cleared]").is_empty());
    app.click("[data-testid=refresh]").await;
    assert!(
        app.all("[data-testid=polling]").is_empty(),
        "polling stops when clear"
    );
    let notice = app.text("[data-testid=lock-cleared]");
    assert!(
        notice.contains("The lock is gone — you can deploy again"),
        "{notice}"
    );
    assert_eq!(
        app.launcher.get_attribute("data-state").as_deref(),
        Some("healthy")
    );
}

#[wasm_bindgen_test]
async fn core_warnings_are_listed_under_details() {
    let mut d = diagnosis(
        vec![finding(CauseId::Healthy, vec![])],
        vec![],
        lock(LockState::Free),
    );
    d.warnings = vec![Warning {
        endpoint: "/api/deployments".to_string(),
        reason: "1 entry had no id".to_string(),
    }];
    let app = page(diagnosed(d, unplanned())).await;
    let details = app.one("details[data-testid=warnings]");
    assert!(!details.has_attribute("open"));
    let text = details.text_content().unwrap();
    assert!(
        text.contains("1 note") && text.contains("1 entry had no id"),
        "{text}"
    );
}

// ---- the real mount API ---------------------------------------------------------------------------

#[wasm_bindgen_test]
fn mount_refuses_an_origin_that_is_not_http() {
    let container = new_element("div");
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"origin".into(), &"javascript:alert(1)".into()).unwrap();
    assert!(mount(container, options.into(), None).is_err());
}

#[wasm_bindgen_test]
async fn mount_reads_the_given_origin_and_shows_what_failed() {
    // Nothing listens on 127.0.0.1:9, so every read fails below HTTP at once: the real fetch
    // path, without depending on a server.
    let container = new_element("div");
    let launcher: HtmlElement = new_element("button").dyn_into().unwrap();
    let options = js_sys::Object::new();
    js_sys::Reflect::set(
        &options,
        &"origin".into(),
        &"http://127.0.0.1:9/ignored/path".into(),
    )
    .unwrap();
    js_sys::Reflect::set(&options, &"embedded".into(), &true.into()).unwrap();
    let mut handle = mount(container.clone(), options.into(), Some(launcher.clone())).unwrap();
    let mut state = launcher.get_attribute("data-state");
    for _ in 0..100 {
        if state.as_deref().is_some_and(|s| s != "checking") {
            break;
        }
        yew::platform::time::sleep(Duration::from_millis(50)).await;
        state = launcher.get_attribute("data-state");
    }
    assert_eq!(state.as_deref(), Some("error"));
    let errors = container
        .query_selector("[data-testid=read-errors]")
        .unwrap()
        .expect("the failed reads are listed")
        .text_content()
        .unwrap();
    assert!(errors.contains("/api/deployments: no answer"), "{errors}");
    assert!(
        container
            .query_selector("[data-testid=retry]")
            .unwrap()
            .is_some()
    );
    handle.unmount();
    settle().await;
    assert!(
        container
            .query_selector("[data-testid=kudu-doctor]")
            .unwrap()
            .is_none()
    );
}

// ---- large and partial answers ------------------------------------------------------------------

#[wasm_bindgen_test]
async fn a_partial_round_lists_what_failed_beside_the_diagnosis() {
    let RoundOutcome::Diagnosed(snapshot) = simple(CauseId::StaleLock, LockState::Orphaned) else {
        unreachable!()
    };
    let mut snapshot = (*snapshot).clone();
    snapshot.failed_reads = vec![ReadFailure {
        endpoint: "/api/vfs/site/wwwroot/".to_string(),
        error: KuduHttpError::Network("TypeError: Failed to fetch".to_string()),
    }];
    let app = page(RoundOutcome::Diagnosed(Rc::new(snapshot))).await;
    let errors = app.one("[data-testid=read-errors]");
    assert_eq!(errors.get_attribute("role").as_deref(), Some("status"));
    let text = errors.text_content().unwrap();
    assert!(
        text.contains("/api/vfs/site/wwwroot/") && text.contains("Failed to fetch"),
        "{text}"
    );
    assert_eq!(
        app.all("[data-cause=stale-lock][data-primary=true]").len(),
        1
    );
    assert!(app.all("[data-testid=session-expired]").is_empty());
}

#[wasm_bindgen_test]
async fn long_histories_and_plans_stay_readable() {
    let entries: Vec<TimelineEntry> = (0..100)
        .map(|i| {
            entry(
                deployment(&format!("dep{i:03}"), DeployStatus::Success),
                300 - i,
                Some(300 - i),
            )
        })
        .collect();
    let delete = |i: usize| Step {
        kind: StepKind::DeleteDir,
        request: StepRequest {
            method: "DELETE",
            path: format!("/api/vfs/site/deployments/temp-{i:04}/?recursive=true"),
            headers: vec![],
        },
        precondition: Precondition::StillListed {
            dir: "site/deployments/".to_string(),
            name: format!("temp-{i:04}"),
            modified: None,
        },
        expect: String::new(),
        risk: "Low.".to_string(),
        group: 2,
        optional: false,
    };
    let mut plan = unplanned();
    plan.steps = (0..300).map(delete).collect();
    let outcome = diagnosed(
        diagnosis(
            vec![finding(
                CauseId::StaleLock,
                vec![Recommendation::TargetedCleanup],
            )],
            entries,
            lock(LockState::Orphaned),
        ),
        plan,
    );
    let app = page(outcome).await;
    // By default the span is what explains now: on a quiet site, the newest deployment and
    // the few just before it, not the whole history.
    let recent = app.all("[data-testid=timeline-bar]");
    assert!((1..40).contains(&recent.len()), "{} bars", recent.len());
    assert_eq!(
        recent[recent.len() - 1]
            .get_attribute("data-deployment-id")
            .as_deref(),
        Some("dep099")
    );
    app.click("[data-testid=timeline-view] [data-view=all]")
        .await;
    let bars = app.all("[data-testid=timeline-bar]");
    assert_eq!(bars.len(), 40, "the 40 most recent are drawn");
    assert_eq!(
        bars[39].get_attribute("data-deployment-id").as_deref(),
        Some("dep099")
    );
    assert!(
        app.text("[data-testid=timeline]")
            .contains("The 40 most recent of 100")
    );
    let folded = app.one("[data-testid=plan] details");
    assert!(!folded.has_attribute("open"));
    assert!(folded.text_content().unwrap().contains("292 more steps"));
    assert_eq!(
        app.all("[data-testid=plan] [data-step-kind=delete-dir]")
            .len(),
        300
    );
}

// ---- hostile input, one field at a time ---------------------------------------------------------

/// Mounts a timeline of one deployment with `set` applied, focuses its bar, and checks that the
/// markup shows as text in the detail line and the table and creates no element.
async fn hostile_deployment_field(set: fn(&mut Deployment, String)) {
    let markup = format!("{HOSTILE_IMG}{HOSTILE_SCRIPT}");
    let mut evil = deployment("hostile1", DeployStatus::Failed);
    set(&mut evil, markup.clone());
    let outcome = diagnosed(
        diagnosis(
            vec![finding(CauseId::ParallelDeployments, vec![])],
            vec![entry(evil, 20, Some(18))],
            lock(LockState::Free),
        ),
        unplanned(),
    );
    let app = page(outcome).await;
    let bar: web_sys::SvgElement = app.one("[data-deployment-id=hostile1]").dyn_into().unwrap();
    bar.focus().unwrap();
    settle().await;
    assert!(
        app.all("img, script").is_empty(),
        "no element from the markup"
    );
    assert!(app.text("[data-testid=timeline-detail]").contains(&markup));
    assert!(app.text("[data-testid=timeline-table]").contains(&markup));
    let title = bar.query_selector("title").unwrap().unwrap();
    assert!(title.text_content().unwrap().contains(&markup));
    assert_eq!(title.child_element_count(), 0);
}

#[wasm_bindgen_test]
async fn hostile_message_is_text() {
    hostile_deployment_field(|d, markup| d.message = markup).await;
}

#[wasm_bindgen_test]
async fn hostile_author_is_text() {
    hostile_deployment_field(|d, markup| d.author = markup).await;
}

#[wasm_bindgen_test]
async fn hostile_deployer_is_text() {
    hostile_deployment_field(|d, markup| d.deployer = markup).await;
}

#[wasm_bindgen_test]
async fn hostile_status_text_is_text() {
    hostile_deployment_field(|d, markup| d.status_text = markup).await;
}
