//! The shareable report and the prevention advice in headless Chromium, mounted with captured
//! simulator rounds (`crates/kudu-core/tests/fixtures/*.json`, the same files the core's tests
//! read), so the DOM shows what a real site's history says.
#![cfg(target_arch = "wasm32")]

mod dom_queries;

use std::rc::Rc;
use std::time::Duration;

use dom_queries::DomQueries;
use kudu_core::plan::{PlanKind, plan};
use kudu_core::reads::{HttpReply, ReadId};
use kudu_core::{Session, Timestamp};
use kudu_doctor::MountHandle;
use kudu_doctor::testing::{RoundOutcome, SiteFacts, Snapshot, UiOptions, mount_with_outcomes};
use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

const PARALLEL_LINUX: &str = include_str!("../crates/kudu-core/tests/fixtures/parallel-linux.json");
const CANCELLED_LINUX: &str =
    include_str!("../crates/kudu-core/tests/fixtures/cancelled-retried-linux.json");
const CANCELLED_WINDOWS: &str =
    include_str!("../crates/kudu-core/tests/fixtures/cancelled-retried-windows.json");
const STALE_LOCK_LINUX: &str =
    include_str!("../crates/kudu-core/tests/fixtures/stale-lock-linux-linux.json");

/// A captured round as the wizard would have it, on the fixture's clock: the browser clock is
/// offset so countdowns run from the fixture's `now`.
fn outcome_of(fixture: &str, edit: impl Fn(&mut Value)) -> RoundOutcome {
    let mut fixture: Value = serde_json::from_str(fixture).unwrap();
    edit(&mut fixture);
    let now = Timestamp::parse_rfc3339(fixture["now"].as_str().unwrap()).unwrap();
    let mut session = Session::new();
    for r in fixture["replies"].as_array().unwrap() {
        let reply = HttpReply {
            status: r["status"].as_u64().unwrap() as u16,
            content_type: r["content_type"].as_str().map(str::to_string),
            body: r["body"].as_str().unwrap_or("").to_string(),
            headers: vec![],
            transport_error: None,
        };
        let read: ReadId = serde_json::from_value(r["read"].clone()).unwrap();
        session.ingest(&read, r["path"].as_str().unwrap(), &reply);
    }
    let diagnosis = session.diagnose(now);
    let plan = plan(&session, &diagnosis, PlanKind::Targeted);
    RoundOutcome::Diagnosed(Rc::new(Snapshot {
        diagnosis,
        plan: Rc::new(plan),
        site: SiteFacts {
            name: Some("myapp".to_string()),
            resource_group: None,
            owner_name: None,
        },
        failed_reads: vec![],
        clock_offset_ms: now.unix_millis() - js_sys::Date::now() as i64,
        session: Rc::new(session),
    }))
}

fn outcome(fixture: &str) -> RoundOutcome {
    outcome_of(fixture, |_| {})
}

struct Mounted {
    container: Element,
    _handle: MountHandle,
}

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

async fn settle() {
    yew::platform::time::sleep(Duration::from_millis(40)).await;
}

async fn page(outcome: RoundOutcome) -> Mounted {
    let container = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&container).unwrap();
    let launcher: HtmlElement = document()
        .create_element("button")
        .unwrap()
        .dyn_into()
        .unwrap();
    document().body().unwrap().append_child(&launcher).unwrap();
    let handle = mount_with_outcomes(
        container.clone(),
        UiOptions::default(),
        Some(launcher.clone()),
        vec![outcome],
    );
    for _ in 0..50 {
        settle().await;
        if container
            .query_selector("[data-testid=report]")
            .unwrap()
            .is_some()
        {
            break;
        }
    }
    settle().await;
    Mounted {
        container,
        _handle: handle,
    }
}

#[wasm_bindgen_test]
async fn the_wizard_offers_the_report_to_copy_and_download() {
    let app = page(outcome(STALE_LOCK_LINUX)).await;
    assert_eq!(app.text("[data-testid=copy-report]"), "Copy report");
    assert_eq!(app.text("[data-testid=download-report]"), "Download report");
    assert_eq!(
        app.one("[data-testid=download-report]")
            .get_attribute("data-file-name")
            .as_deref(),
        Some("myapp-kudu-doctor-20261128T012239Z.md")
    );
    let report = app.text("[data-testid=report-preview]");
    for part in [
        "# Kudu Doctor report",
        "- Kudu: App Service on Linux (KuduLite)",
        "- Leading cause: `stale-lock`",
        "## Diagnosis",
        "## Timeline",
        "| Deployment | Deployer | Author | Start (UTC) | End (UTC) | Status |",
        "` GITHUB_ZIP_DEPLOY `",
        "## Deployment lock",
        "## Cleanup plan (targeted)",
    ] {
        assert!(report.contains(part), "missing {part}:\n{report}");
    }
    assert!(!report.contains("Authorization") && !report.contains("Cookie"));
    app.one("[data-testid=download-report]")
        .dyn_into::<HtmlElement>()
        .unwrap()
        .click();
    settle().await;
    assert_eq!(app.text("[data-testid=report-status]"), "Report downloaded");
}

#[wasm_bindgen_test]
async fn hostile_deployers_stay_inside_their_table_cell() {
    let app = page(outcome_of(PARALLEL_LINUX, |fixture| {
        for reply in fixture["replies"].as_array_mut().unwrap() {
            if reply["read"]["kind"] == "deployments" {
                let body = reply["body"].as_str().unwrap().replace(
                    "\"deployer\":\"az_cli_functions\"",
                    "\"deployer\":\"evil|cell\\n# Heading <script>window.__kd_pwned=3</script>\"",
                );
                reply["body"] = Value::String(body);
            }
        }
    }))
    .await;
    let report = app.text("[data-testid=report-preview]");
    let row = report
        .lines()
        .find(|line| line.starts_with("| ") && line.contains("evil"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(row.contains("` evil\\|cell # Heading <script>"), "{row}");
    assert_eq!(row.matches(" | ").count(), 5, "six cells: {row}");
    assert!(!report.lines().any(|line| line.starts_with("# Heading")));
    assert!(
        js_sys::Reflect::get(&web_sys::window().unwrap(), &"__kd_pwned".into())
            .unwrap()
            .is_undefined()
    );
}

#[wasm_bindgen_test]
async fn parallel_history_names_the_colliding_tools() {
    let app = page(outcome(PARALLEL_LINUX)).await;
    let advice = app.one("[data-testid=pipeline-advice]");
    assert_eq!(
        advice.get_attribute("data-specific").as_deref(),
        Some("true")
    );
    let collision = app.text("[data-testid=collision]");
    assert!(
        collision.contains("GitHub Actions (run by octocat)")
            && collision.contains("The Azure CLI (deployer az_cli_functions)")
            && collision.contains("overlapped at 22:21:4"),
        "{collision}"
    );
    let who = app.text("[data-testid=who-deployed-when]");
    assert!(
        who.contains("octocat") && who.contains("az_cli_functions"),
        "{who}"
    );
    let guard = app.text("[data-fix=wait-guard]");
    assert!(guard.contains("kudu-doctor wait http"), "{guard}");
    assert!(guard.contains("--timeout 15m"), "{guard}");
    // Specific history: no generic snippet, and every snippet has its copy button.
    assert!(
        !advice
            .text_content()
            .unwrap()
            .contains("Serialise your deployments")
    );
    assert_eq!(
        app.all("[data-testid=pipeline-advice] pre").len(),
        app.all("[data-testid=pipeline-advice] button.kd-copy")
            .len()
    );
    // The report carries the same advice.
    let report = app.text("[data-testid=report-preview]");
    assert!(report.contains("## Preventing the next 409"), "{report}");
}

#[wasm_bindgen_test]
async fn cancelled_on_linux_counts_down_to_the_lock_expiry_and_offers_the_guard() {
    let app = page(outcome(CANCELLED_LINUX)).await;
    assert_eq!(
        app.one("[data-testid=guide]")
            .get_attribute("data-for-cause")
            .as_deref(),
        Some("cancelled-then-retried")
    );
    let retry = app.text("[data-testid=retry-wait]");
    assert!(
        retry.starts_with("On Linux the cancelled run's lock lets go by itself when it expires at"),
        "{retry}"
    );
    let until = app.text("[data-testid=wait-until]");
    assert!(
        until.contains("The lock lets go by itself at") && until.contains("(in "),
        "{until}"
    );
    let guard = app.text("[data-testid=ci-guard]");
    assert!(
        guard.contains("kudu-doctor wait http") && guard.contains("--timeout 15m"),
        "{guard}"
    );
    assert!(guard.contains("Use it in CI"), "{guard}");
    assert_eq!(app.all("[data-testid=ci-guard] button.kd-copy").len(), 1);
    // The pipeline step names the cancelled GitHub run and does not repeat the guard.
    let advice = app.text("[data-testid=pipeline-advice]");
    assert!(advice.contains("was cancelled"), "{advice}");
    assert!(advice.contains("cancel-in-progress: false"), "{advice}");
    assert!(
        app.all("[data-testid=pipeline-advice] [data-fix=wait-guard]")
            .is_empty()
    );
}

#[wasm_bindgen_test]
async fn cancelled_on_windows_says_there_is_no_timer() {
    let app = page(outcome(CANCELLED_WINDOWS)).await;
    let retry = app.text("[data-testid=retry-wait]");
    assert!(retry.starts_with("On Windows"), "{retry}");
    assert!(app.all("[data-testid=ci-guard]").len() == 1);
}

impl DomQueries for Mounted {
    fn root(&self) -> &Element {
        &self.container
    }
}
