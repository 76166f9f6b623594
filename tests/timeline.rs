//! The timeline in headless Chromium, drawn from every captured simulator scenario (the
//! fixtures kudu-core's scenario tests diagnose) at three container widths: the 460-px drawer,
//! a narrow phone-sized panel and the standalone page. Checks what a person needs to read it:
//! no two labels drawn over each other, nothing outside the container, and a focusable bar,
//! wide enough to point at, for every deployment of the window.
#![cfg(target_arch = "wasm32")]

mod dom_queries;

use std::rc::Rc;
use std::time::Duration;

use dom_queries::DomQueries;
use kudu_core::diagnose::{Timeline, TimelineView};
use kudu_core::reads::{HttpReply, ReadId};
use kudu_core::{Session, Timestamp};
use kudu_doctor::testing::{TimelinePanel, TimelinePanelProps};
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Every captured scenario (`crates/kudu-core/tests/fixtures/<scenario>-<os>.json`).
const SCENARIOS: &[(&str, &str)] = &[
    (
        "flex-consumption-linux",
        include_str!("../crates/kudu-core/tests/fixtures/flex-consumption-linux.json"),
    ),
    (
        "held-elsewhere-linux",
        include_str!("../crates/kudu-core/tests/fixtures/held-elsewhere-linux.json"),
    ),
    (
        "held-elsewhere-windows",
        include_str!("../crates/kudu-core/tests/fixtures/held-elsewhere-windows.json"),
    ),
    (
        "two-outputs-linux",
        include_str!("../crates/kudu-core/tests/fixtures/two-outputs-linux.json"),
    ),
    (
        "healthy-linux",
        include_str!("../crates/kudu-core/tests/fixtures/healthy-linux.json"),
    ),
    (
        "healthy-windows",
        include_str!("../crates/kudu-core/tests/fixtures/healthy-windows.json"),
    ),
    (
        "deploying-linux",
        include_str!("../crates/kudu-core/tests/fixtures/deploying-linux.json"),
    ),
    (
        "deploying-windows",
        include_str!("../crates/kudu-core/tests/fixtures/deploying-windows.json"),
    ),
    (
        "parallel-linux",
        include_str!("../crates/kudu-core/tests/fixtures/parallel-linux.json"),
    ),
    (
        "parallel-windows",
        include_str!("../crates/kudu-core/tests/fixtures/parallel-windows.json"),
    ),
    (
        "cancelled-retried-linux",
        include_str!("../crates/kudu-core/tests/fixtures/cancelled-retried-linux.json"),
    ),
    (
        "cancelled-retried-windows",
        include_str!("../crates/kudu-core/tests/fixtures/cancelled-retried-windows.json"),
    ),
    (
        "cancelled-retried-linux-list-first",
        include_str!("../crates/kudu-core/tests/fixtures/cancelled-retried-linux-list-first.json"),
    ),
    (
        "cancelled-retried-windows-list-first",
        include_str!(
            "../crates/kudu-core/tests/fixtures/cancelled-retried-windows-list-first.json"
        ),
    ),
    (
        "stuck-linux-linux",
        include_str!("../crates/kudu-core/tests/fixtures/stuck-linux-linux.json"),
    ),
    (
        "stuck-windows-windows",
        include_str!("../crates/kudu-core/tests/fixtures/stuck-windows-windows.json"),
    ),
    (
        "stale-lock-linux-linux",
        include_str!("../crates/kudu-core/tests/fixtures/stale-lock-linux-linux.json"),
    ),
    (
        "stale-files-windows-windows",
        include_str!("../crates/kudu-core/tests/fixtures/stale-files-windows-windows.json"),
    ),
    (
        "stale-files-windows-windows-list-first",
        include_str!(
            "../crates/kudu-core/tests/fixtures/stale-files-windows-windows-list-first.json"
        ),
    ),
    (
        "status-lock-denied-linux",
        include_str!("../crates/kudu-core/tests/fixtures/status-lock-denied-linux.json"),
    ),
    (
        "run-from-package-url-linux",
        include_str!("../crates/kudu-core/tests/fixtures/run-from-package-url-linux.json"),
    ),
    (
        "run-from-package-url-windows",
        include_str!("../crates/kudu-core/tests/fixtures/run-from-package-url-windows.json"),
    ),
    (
        "autoswap-linux",
        include_str!("../crates/kudu-core/tests/fixtures/autoswap-linux.json"),
    ),
    (
        "autoswap-windows",
        include_str!("../crates/kudu-core/tests/fixtures/autoswap-windows.json"),
    ),
    (
        "scan-underway-linux",
        include_str!("../crates/kudu-core/tests/fixtures/scan-underway-linux.json"),
    ),
    (
        "partial-deploy-linux",
        include_str!("../crates/kudu-core/tests/fixtures/partial-deploy-linux.json"),
    ),
    (
        "partial-deploy-windows",
        include_str!("../crates/kudu-core/tests/fixtures/partial-deploy-windows.json"),
    ),
    (
        "long-build-linux",
        include_str!("../crates/kudu-core/tests/fixtures/long-build-linux.json"),
    ),
    (
        "long-build-windows",
        include_str!("../crates/kudu-core/tests/fixtures/long-build-windows.json"),
    ),
    (
        "quiet-build-linux",
        include_str!("../crates/kudu-core/tests/fixtures/quiet-build-linux.json"),
    ),
    (
        "quiet-build-windows",
        include_str!("../crates/kudu-core/tests/fixtures/quiet-build-windows.json"),
    ),
    (
        "restarted-holder-linux",
        include_str!("../crates/kudu-core/tests/fixtures/restarted-holder-linux.json"),
    ),
    (
        "session-expired-linux",
        include_str!("../crates/kudu-core/tests/fixtures/session-expired-linux.json"),
    ),
    (
        "session-expired-windows",
        include_str!("../crates/kudu-core/tests/fixtures/session-expired-windows.json"),
    ),
];

/// A phone-sized panel, the extension's drawer, the standalone page.
const WIDTHS: [u32; 3] = [300, 460, 960];

/// Narrowest bar a pointer or a tap can still find.
const MIN_BAR_PX: f64 = 4.0;

/// The diagnosis of a captured round, as the shells make it: every reply ingested, then
/// diagnosed at the round's `now`.
fn diagnose(fixture: &str) -> (Timeline, Timestamp) {
    let fixture: Value = serde_json::from_str(fixture).expect("fixture JSON");
    let now = fixture["now"]
        .as_str()
        .and_then(Timestamp::parse_rfc3339)
        .expect("fixture now");
    let mut session = Session::new();
    for r in fixture["replies"].as_array().expect("replies") {
        let headers = r["headers"]
            .as_array()
            .map(|hs| {
                hs.iter()
                    .map(|h| {
                        (
                            h[0].as_str().unwrap_or_default().to_ascii_lowercase(),
                            h[1].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let reply = HttpReply {
            status: u16::try_from(r["status"].as_u64().unwrap_or(0)).unwrap_or(0),
            content_type: r["content_type"].as_str().map(str::to_string),
            body: r["body"].as_str().unwrap_or("").to_string(),
            headers,
            transport_error: None,
        };
        let read: ReadId = serde_json::from_value(r["read"].clone()).expect("read id");
        session.ingest(&read, r["path"].as_str().unwrap_or(""), &reply);
    }
    (session.diagnose(now).timeline, now)
}

struct Drawn {
    host: Element,
}

impl DomQueries for Drawn {
    fn root(&self) -> &Element {
        &self.host
    }
}

impl Drop for Drawn {
    fn drop(&mut self) {
        self.host.remove();
    }
}

/// The app's stylesheet, once per page, so labels have the size the layout counts on.
fn style_page() {
    let document = web_sys::window().unwrap().document().unwrap();
    if document.get_element_by_id("kd-test-style").is_some() {
        return;
    }
    let style = document.create_element("style").unwrap();
    style.set_id("kd-test-style");
    style.set_text_content(Some(include_str!("../src/style.css")));
    document.head().unwrap().append_child(&style).unwrap();
}

async fn draw(timeline: Timeline, now: Timestamp, width: u32, dark: bool) -> Drawn {
    style_page();
    let document = web_sys::window().unwrap().document().unwrap();
    let host = document.create_element("div").unwrap();
    host.set_class_name("kd-root");
    host.set_attribute(
        "style",
        &format!(
            "width: {width}px; color-scheme: {}",
            if dark { "dark" } else { "light" }
        ),
    )
    .unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    yew::Renderer::<TimelinePanel>::with_root_and_props(
        host.clone(),
        TimelinePanelProps {
            timeline: Rc::new(timeline),
            now,
            unread: false,
        },
    )
    .render();
    let drawn = Drawn { host };
    // Drawn once at a first guess, then again at the measured width.
    for _ in 0..50 {
        yew::platform::time::sleep(Duration::from_millis(10)).await;
        if let Some(svg) = drawn.find("svg.kd-timeline-svg") {
            let frame = drawn.one(".kd-timeline-frame");
            if svg.get_attribute("width").as_deref() == Some(&frame.client_width().to_string()) {
                return drawn;
            }
        } else if drawn.find("[data-testid=timeline] p").is_some() {
            return drawn;
        }
    }
    panic!("the timeline never took its container's width ({width}px)");
}

/// An element's box on the page, in CSS pixels (`getBoundingClientRect`, read through JS:
/// the app's web-sys features do not include `DomRect`).
#[derive(Clone, Copy, Debug)]
struct DomRect {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl DomRect {
    fn left(&self) -> f64 {
        self.left
    }
    fn right(&self) -> f64 {
        self.right
    }
    fn top(&self) -> f64 {
        self.top
    }
    fn bottom(&self) -> f64 {
        self.bottom
    }
    fn width(&self) -> f64 {
        self.right - self.left
    }
}

fn rect(element: &Element) -> DomRect {
    let method: js_sys::Function =
        js_sys::Reflect::get(element, &JsValue::from_str("getBoundingClientRect"))
            .unwrap()
            .unchecked_into();
    let found = method.call0(element).unwrap();
    let side = |name: &str| {
        js_sys::Reflect::get(&found, &JsValue::from_str(name))
            .unwrap()
            .as_f64()
            .unwrap()
    };
    DomRect {
        left: side("left"),
        right: side("right"),
        top: side("top"),
        bottom: side("bottom"),
    }
}

fn meet(a: &DomRect, b: &DomRect) -> bool {
    a.left() < b.right() && b.left() < a.right() && a.top() < b.bottom() && b.top() < a.bottom()
}

/// The deployments the window of `view` holds that have a time: each must have a bar.
fn expected_bars(timeline: &Timeline, view: TimelineView, now: Timestamp) -> Vec<Option<String>> {
    let window = timeline.window(view, now);
    let inside: Vec<_> = timeline
        .entries_in(window, now)
        .into_iter()
        .filter(|e| e.begin.or(e.deployment.started).is_some())
        .collect();
    inside[inside
        .len()
        .saturating_sub(kudu_doctor::testing::TIMELINE_MAX_SHOWN)..]
        .iter()
        .map(|e| e.deployment.id.clone())
        .collect()
}

async fn check_drawn(
    name: &str,
    width: u32,
    view: TimelineView,
    drawn: &Drawn,
    timeline: &Timeline,
    now: Timestamp,
) {
    let at = format!("{name} at {width}px, {view:?}");
    let Some(svg) = drawn.find("svg.kd-timeline-svg") else {
        assert!(
            expected_bars(timeline, view, now).is_empty(),
            "{at}: deployments but no picture"
        );
        return;
    };
    let frame = rect(&drawn.one(".kd-timeline-frame"));
    let picture = rect(&svg);
    assert!(
        (picture.width() - frame.width()).abs() <= 1.0,
        "{at}: the picture is {}px wide in a {}px frame",
        picture.width(),
        frame.width()
    );

    let labels: Vec<(String, DomRect)> = drawn
        .all("svg.kd-timeline-svg text")
        .iter()
        .map(|t| (t.text_content().unwrap_or_default(), rect(t)))
        .collect();
    assert!(!labels.is_empty(), "{at}: no labels at all");
    for (i, (text, r)) in labels.iter().enumerate() {
        assert!(
            r.left() >= frame.left() - 0.5 && r.right() <= frame.right() + 0.5,
            "{at}: '{text}' ({}..{}) leaves the frame ({}..{})",
            r.left(),
            r.right(),
            frame.left(),
            frame.right()
        );
        for (other, o) in &labels[i + 1..] {
            assert!(
                !meet(r, o),
                "{at}: '{text}' ({}..{}) is drawn over '{other}' ({}..{})",
                r.left(),
                r.right(),
                o.left(),
                o.right()
            );
        }
    }

    let bars = drawn.all("[data-testid=timeline-bar]");
    let drawn_ids: Vec<Option<String>> = bars
        .iter()
        .map(|b| b.get_attribute("data-deployment-id"))
        .collect();
    assert_eq!(
        drawn_ids,
        expected_bars(timeline, view, now),
        "{at}: one bar per deployment of the window, oldest first"
    );
    for bar in &bars {
        let id = bar.get_attribute("data-deployment-id").unwrap_or_default();
        assert_eq!(
            bar.get_attribute("tabindex").as_deref(),
            Some("0"),
            "{at}: bar {id} cannot be focused"
        );
        // Measured together: focusing the previous bar may have scrolled the page.
        let frame = rect(&drawn.one(".kd-timeline-frame"));
        let fill = rect(&bar.query_selector(".kd-bar-fill").unwrap().unwrap());
        assert!(
            fill.width() >= MIN_BAR_PX,
            "{at}: bar {id} is {}px wide",
            fill.width()
        );
        assert!(
            fill.left() >= frame.left() - 0.5 && fill.right() <= frame.right() + 0.5,
            "{at}: bar {id} ({}..{}) leaves the frame ({}..{})",
            fill.left(),
            fill.right(),
            frame.left(),
            frame.right()
        );
        bar.unchecked_ref::<web_sys::SvgElement>().focus().unwrap();
        yew::platform::time::sleep(Duration::from_millis(5)).await;
        let detail = drawn.text("[data-testid=timeline-detail]");
        assert!(
            id.is_empty() || detail.starts_with(&id.chars().take(12).collect::<String>()),
            "{at}: focusing {id} shows '{detail}'"
        );
    }
    for mark in drawn.all("[data-testid=timeline-mark]") {
        assert_eq!(mark.get_attribute("tabindex").as_deref(), Some("0"));
    }
}

/// A captured scenario by name (the list's order is not part of any test).
fn scenario(name: &str) -> &'static str {
    SCENARIOS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, fixture)| *fixture)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

#[wasm_bindgen_test]
async fn every_scenario_reads_at_every_width() {
    for (name, fixture) in SCENARIOS {
        let (timeline, now) = diagnose(fixture);
        for width in WIDTHS {
            let drawn = draw(timeline.clone(), now, width, width == 460).await;
            check_drawn(
                name,
                width,
                TimelineView::ExplainsNow,
                &drawn,
                &timeline,
                now,
            )
            .await;
            // The other spans, through the control, in the same container.
            for (view, value) in [
                (TimelineView::LastDay, "last-day"),
                (TimelineView::All, "all"),
            ] {
                if let Some(button) = drawn.find(&format!("[data-view={value}]")) {
                    button.unchecked_ref::<HtmlElement>().click();
                    yew::platform::time::sleep(Duration::from_millis(10)).await;
                    check_drawn(name, width, view, &drawn, &timeline, now).await;
                }
            }
        }
    }
}

#[wasm_bindgen_test]
async fn parallel_shows_the_collision_not_the_history() {
    let (timeline, now) = diagnose(scenario("parallel-linux"));
    let drawn = draw(timeline, now, 460, false).await;
    let bars = drawn.all("[data-testid=timeline-bar]");
    // The two builds that collided (and, on Linux, the sync push before them), not the two
    // days of history before.
    assert!((2..=4).contains(&bars.len()), "{} bars", bars.len());
    let lanes: std::collections::BTreeSet<String> = bars
        .iter()
        .filter(|b| b.get_attribute("data-overlap").is_some())
        .filter_map(|b| b.get_attribute("data-lane"))
        .collect();
    assert!(lanes.len() >= 2, "overlapping builds share a lane");
    // Every bar is a real part of the picture: at least a tenth of its width or a live one.
    let frame = rect(&drawn.one(".kd-timeline-frame"));
    let widest = bars
        .iter()
        .map(|b| rect(&b.query_selector(".kd-bar-fill").unwrap().unwrap()).width())
        .fold(0.0, f64::max);
    assert!(
        widest > frame.width() / 4.0,
        "the builds are a smudge: {widest}px"
    );
    let refused = drawn.all("[data-testid=timeline-mark][data-mark=refused]");
    assert!(!refused.is_empty(), "the refused push is not marked");
    assert!(drawn.text(".kd-mark-label").starts_with("409 refused"));
    assert!(
        drawn
            .text("[data-testid=timeline-outside]")
            .contains("older deployment")
    );
}

#[wasm_bindgen_test]
async fn one_control_sets_the_span_of_the_picture_and_the_table() {
    let (timeline, now) = diagnose(scenario("parallel-linux"));
    let drawn = draw(timeline.clone(), now, 460, false).await;
    let rows = |d: &Drawn| {
        d.all("[data-testid=timeline-table] tbody tr:not([data-refused])")
            .len()
    };
    let bars = |d: &Drawn| d.all("[data-testid=timeline-bar]").len();
    assert_eq!(rows(&drawn), bars(&drawn));
    let before = bars(&drawn);
    drawn
        .one("[data-view=all]")
        .unchecked_ref::<HtmlElement>()
        .click();
    yew::platform::time::sleep(Duration::from_millis(40)).await;
    assert_eq!(
        drawn
            .one("[data-view=all]")
            .get_attribute("aria-pressed")
            .as_deref(),
        Some("true")
    );
    let all = timeline.drawable().count();
    assert!(bars(&drawn) > before && bars(&drawn) <= all);
    assert_eq!(
        rows(&drawn),
        bars(&drawn),
        "the table lists what the picture draws"
    );
    check_all_labels_apart(&drawn);
    drawn
        .one("[data-view=explains-now]")
        .unchecked_ref::<HtmlElement>()
        .click();
    yew::platform::time::sleep(Duration::from_millis(40)).await;
    assert_eq!(bars(&drawn), before);
}

fn check_all_labels_apart(drawn: &Drawn) {
    let labels: Vec<DomRect> = drawn
        .all("svg.kd-timeline-svg text")
        .iter()
        .map(rect)
        .collect();
    for (i, a) in labels.iter().enumerate() {
        for b in &labels[i + 1..] {
            assert!(!meet(a, b));
        }
    }
}

#[wasm_bindgen_test]
async fn the_picture_follows_its_container_when_it_changes_size() {
    let (timeline, now) = diagnose(scenario("parallel-linux"));
    let drawn = draw(timeline, now, 460, false).await;
    for width in [720, 320] {
        drawn
            .host
            .set_attribute("style", &format!("width: {width}px"))
            .unwrap();
        let mut seen = None;
        for _ in 0..50 {
            yew::platform::time::sleep(Duration::from_millis(10)).await;
            seen = drawn.one("svg.kd-timeline-svg").get_attribute("width");
            if seen.as_deref() == Some(width.to_string().as_str()) {
                break;
            }
        }
        assert_eq!(seen, Some(width.to_string()), "redrawn at the new width");
        check_all_labels_apart(&drawn);
    }
}
