//! Helpers for the accessibility, keyboard and screenshot tests (`tests/a11y.rs`,
//! `tests/keyboard.rs`, `tests/screenshots.rs`): axe-core injected into the page and run over
//! the loader's shadow host, the colour scheme emulated through CDP, keyboard-only input through
//! WebDriver actions (trusted, like a user's own key presses), what has the focus inside the
//! shadow root, and cropped screenshots of the wizard.
//!
//! axe-core comes from npm: `cargo xtask test` installs the pinned version with `npm ci` into
//! `target/npm/`. A missing copy fails the test instead of skipping it.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::{Value, json};

use crate::{E2e, HOST_ID, target_dir};

/// Where `npm ci` puts axe-core, below a target dir.
const AXE_IN_TARGET: &str = "npm/node_modules/axe-core/axe.min.js";

/// The axe-core script: `KUDU_AXE_JS` when set, else `<target>/npm/…`, else the workspace's
/// `target/npm/…` (the `cargo xtask test` install when `CARGO_TARGET_DIR` points elsewhere).
pub fn axe_js_path() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("KUDU_AXE_JS").filter(|path| !path.is_empty()) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!(
                "KUDU_AXE_JS names {}, which is not a file: unset it and run `cargo xtask test`, \
                 which installs axe-core with npm ci into target/npm/",
                path.display()
            );
        }
        return Ok(path);
    }
    let workspace_target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    let candidates = [
        target_dir().join(AXE_IN_TARGET),
        workspace_target.join(AXE_IN_TARGET),
    ];
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .with_context(|| {
            format!(
                "axe-core is missing (looked for {}): run `cargo xtask test`, which installs \
                 it with npm ci into target/npm/, or set KUDU_AXE_JS to an axe.min.js",
                candidates
                    .iter()
                    .map(|path| path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            )
        })
}

/// One axe rule the page breaks, with the elements that break it.
#[derive(Clone, Debug)]
pub struct Violation {
    /// The axe rule id (`color-contrast`, `button-name`, …).
    pub rule: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: String,
    pub help: String,
    /// Each failing element: its selector path (through the shadow root) and axe's summary.
    pub nodes: Vec<String>,
}

impl Violation {
    /// Serious and critical violations fail the tests; minor and moderate ones are reported.
    pub fn is_blocking(&self) -> bool {
        matches!(self.impact.as_str(), "serious" | "critical")
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "[{}] {}: {}", self.impact, self.rule, self.help)?;
        for node in &self.nodes {
            writeln!(f, "    {node}")?;
        }
        Ok(())
    }
}

/// What one axe run found.
#[derive(Clone, Debug)]
pub struct AxeReport {
    pub violations: Vec<Violation>,
    /// How many rules found elements to check and passed them: a run that checked nothing
    /// (the shadow root out of reach) is not a pass.
    pub passed_rules: usize,
    /// Elements the passing `button-name` rule looked at, to prove axe saw inside the shadow
    /// root (the only buttons on the page live there).
    pub buttons_checked: usize,
    /// Elements axe could not decide on (contrast over an image or off screen, …).
    pub incomplete: usize,
    /// Which rules left them, with how many each.
    pub incomplete_rules: String,
}

/// Puts axe-core into the page (once per document).
pub async fn inject_axe(e2e: &E2e) -> anyhow::Result<()> {
    let present = e2e
        .client
        .execute("return typeof window.axe === 'object';", vec![])
        .await?;
    if present == json!(true) {
        return Ok(());
    }
    let path = axe_js_path()?;
    let source =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    // The script runs as a function body; axe's UMD wrapper then sets `window.axe`.
    e2e.client
        .execute(&format!("{source}\nreturn typeof window.axe;"), vec![])
        .await
        .context("injecting axe-core")?;
    let present = e2e
        .client
        .execute("return typeof window.axe === 'object';", vec![])
        .await?;
    if present != json!(true) {
        bail!("axe-core did not define window.axe");
    }
    Ok(())
}

/// What axe looks at and what scrolls it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AxeScope {
    /// The loader's shadow host on a Kudu page: the launcher and the drawer, which scrolls by
    /// itself.
    Loader,
    /// The whole document: the standalone page and the extension page, where the window
    /// scrolls.
    Page,
}

impl AxeScope {
    /// A JavaScript expression for axe's context.
    fn context(self) -> String {
        match self {
            AxeScope::Loader => format!("document.getElementById({HOST_ID:?})"),
            AxeScope::Page => "document".to_owned(),
        }
    }

    /// A JavaScript expression for the element that scrolls, null when there is none to see.
    fn scroller(self) -> String {
        match self {
            AxeScope::Loader => format!(
                "(() => {{ const w = document.getElementById({HOST_ID:?})?.shadowRoot\
                 ?.querySelector('[data-testid=kudu-doctor]'); return w && !w.hidden ? w : null; }})()"
            ),
            AxeScope::Page => "document.scrollingElement".to_owned(),
        }
    }
}

/// Which axe rules a run applies.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AxeRules {
    /// Every rule axe has on by default (WCAG 2 A/AA and best practices).
    All,
    /// Only `color-contrast`, for the parts of the drawer scrolled into view later.
    Contrast,
}

/// Runs axe over the loader's shadow host and everything in its (open) shadow root.
pub async fn run_axe(e2e: &E2e, scope: AxeScope, rules: AxeRules) -> anyhow::Result<AxeReport> {
    inject_axe(e2e).await?;
    let context = scope.context();
    let options = match rules {
        AxeRules::All => "{}",
        AxeRules::Contrast => r#"{ runOnly: ["color-contrast"] }"#,
    };
    let script = format!(
        r#"
        const context = {context};
        if (!context) {{ return {{ error: "no loader host on the page" }}; }}
        const target = (node) => JSON.stringify(node.target);
        return window.axe.run(context, {options}).then((results) => ({{
            violations: results.violations.map((v) => ({{
                rule: v.id,
                impact: v.impact ?? "unknown",
                help: v.help,
                nodes: v.nodes.map((n) => target(n) + " " + (n.failureSummary ?? "").replace(/\s+/g, " ")),
            }})),
            passed_rules: results.passes.length,
            buttons_checked: results.passes
                .filter((p) => p.id === "button-name")
                .reduce((sum, p) => sum + p.nodes.length, 0),
            incomplete: results.incomplete.reduce((sum, r) => sum + r.nodes.length, 0),
            incomplete_rules: results.incomplete.map((r) => r.id + " " + r.nodes.length + " ("
                + [...new Set(r.nodes.map((n) => n.any[0]?.message ?? ""))].join(" | ") + ")"),
        }}));
        "#
    );
    // The wizard re-reads the site while it waits; a re-render in the middle of a run can pull
    // a node axe is measuring out of the document. One more try then sees a settled page.
    let answer = match e2e.client.execute(&script, vec![]).await {
        Ok(answer) => answer,
        Err(first) => {
            eprintln!("axe failed once ({first}); running it again");
            e2e.client
                .execute(&script, vec![])
                .await
                .context("running axe")?
        }
    };
    if let Some(error) = answer["error"].as_str() {
        bail!("axe: {error}");
    }
    let violations = answer["violations"]
        .as_array()
        .context("axe returned no violations list")?
        .iter()
        .map(|v| Violation {
            rule: v["rule"].as_str().unwrap_or_default().to_owned(),
            impact: v["impact"].as_str().unwrap_or_default().to_owned(),
            help: v["help"].as_str().unwrap_or_default().to_owned(),
            nodes: v["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect(),
        })
        .collect();
    Ok(AxeReport {
        violations,
        passed_rules: count(&answer["passed_rules"]),
        buttons_checked: count(&answer["buttons_checked"]),
        incomplete: count(&answer["incomplete"]),
        incomplete_rules: answer["incomplete_rules"].to_string(),
    })
}

fn count(value: &Value) -> usize {
    value
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or_default()
}

/// Where `scope` is scrolled to and how far it scrolls: `[top, visible height, full height]`,
/// or null when nothing is open.
async fn scroll_state(e2e: &E2e, scope: AxeScope) -> anyhow::Result<Value> {
    let script = format!(
        "const w = {}; return w ? [w.scrollTop, w.clientHeight, w.scrollHeight] : null;",
        scope.scroller()
    );
    Ok(e2e.client.execute(&script, vec![]).await?)
}

async fn scroll_to(e2e: &E2e, scope: AxeScope, top: f64) -> anyhow::Result<()> {
    let script = format!(
        "const w = {}; if (w) w.scrollTop = {top};",
        scope.scroller()
    );
    e2e.client.execute(&script, vec![]).await?;
    Ok(())
}

/// Scrolls the wizard's drawer to `top` CSS pixels from its start.
pub async fn scroll_drawer(e2e: &E2e, top: f64) -> anyhow::Result<()> {
    scroll_to(e2e, AxeScope::Loader, top).await
}

/// Runs axe and fails on any serious or critical violation, naming `state` and every failing
/// element; minor and moderate ones are printed. `min_buttons` is how many buttons axe must
/// have looked at (1 = only the launcher; more = it reached into the wizard).
///
/// The open drawer (or the page) scrolls, and axe only measures the contrast of what is on
/// screen and not under the sticky header; so after the full run from the top, it is scrolled
/// a screen at a time and `color-contrast` runs again, then the scroll position is put back.
pub async fn assert_accessible(
    e2e: &E2e,
    scope: AxeScope,
    state: &str,
    min_buttons: usize,
) -> anyhow::Result<()> {
    let scroll = scroll_state(e2e, scope).await?;
    let at = |i: usize| scroll[i].as_f64().unwrap_or_default();
    let (restore, visible, full) = (at(0), at(1), at(2));
    if !scroll.is_null() {
        scroll_to(e2e, scope, 0.0).await?;
    }
    let report = run_axe(e2e, scope, AxeRules::All).await?;
    let mut violations = report.violations.clone();
    let mut incomplete = report.incomplete_rules.clone();
    let mut screens = 1;
    // A screen less the sticky header's height, so every line is once below it.
    let step = (visible - 160.0).max(200.0);
    let mut top = 0.0;
    while !scroll.is_null() && top + visible < full {
        top += step;
        scroll_to(e2e, scope, top).await?;
        let contrast = run_axe(e2e, scope, AxeRules::Contrast).await?;
        incomplete = contrast.incomplete_rules;
        screens += 1;
        for violation in contrast.violations {
            if !violations.iter().any(|seen| {
                seen.rule == violation.rule
                    && violation.nodes.iter().all(|node| seen.nodes.contains(node))
            }) {
                violations.push(violation);
            }
        }
    }
    if !scroll.is_null() {
        scroll_to(e2e, scope, restore).await?;
    }
    eprintln!(
        "axe ({state}): {} rules passed, {} buttons checked, {} violation(s) over {screens} \
         screen(s); left for review on the first: {}; on the last: {incomplete}",
        report.passed_rules,
        report.buttons_checked,
        violations.len(),
        report.incomplete_rules,
    );
    for violation in violations.iter().filter(|v| !v.is_blocking()) {
        eprintln!("axe ({state}), not blocking: {violation}");
    }
    let blocking: Vec<&Violation> = violations.iter().filter(|v| v.is_blocking()).collect();
    if !blocking.is_empty() {
        let listed: String = blocking.iter().map(|v| v.to_string()).collect();
        bail!(
            "{state}: {} serious or critical accessibility violation(s):\n{listed}",
            blocking.len()
        );
    }
    if report.passed_rules == 0 || report.buttons_checked < min_buttons {
        bail!(
            "{state}: axe checked too little ({} passing rules, {} buttons; want ≥ {min_buttons} \
             buttons): did it reach into the shadow root?",
            report.passed_rules,
            report.buttons_checked
        );
    }
    Ok(())
}

/// The `prefers-color-scheme` the page sees.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ColorScheme {
    Light,
    Dark,
}

impl ColorScheme {
    pub const BOTH: [ColorScheme; 2] = [ColorScheme::Light, ColorScheme::Dark];

    /// `light` or `dark`, as CSS and the screenshot names spell it.
    pub fn name(self) -> &'static str {
        match self {
            ColorScheme::Light => "light",
            ColorScheme::Dark => "dark",
        }
    }
}

/// Emulates `prefers-color-scheme` through CDP and checks the page sees it.
pub async fn set_color_scheme(e2e: &E2e, scheme: ColorScheme) -> anyhow::Result<()> {
    e2e.cdp(
        "Emulation.setEmulatedMedia",
        json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme.name() }] }),
    )
    .await?;
    let query = format!(
        "return window.matchMedia('(prefers-color-scheme: {})').matches;",
        scheme.name()
    );
    e2e.wait_for(&format!("prefers-color-scheme: {}", scheme.name()), || {
        let query = query.clone();
        async move {
            let matches = e2e.client.execute(&query, vec![]).await?;
            Ok((matches == json!(true)).then_some(()))
        }
    })
    .await
}

/// Presses and releases `key`, holding Shift when `shift`: trusted input to whatever has the
/// focus, as a keyboard user's.
pub async fn press(e2e: &E2e, key: Key, shift: bool) -> anyhow::Result<()> {
    let mut keys = KeyActions::new("keyboard".into());
    if shift {
        keys = keys.then(KeyAction::Down {
            value: Key::Shift.into(),
        });
    }
    keys = keys
        .then(KeyAction::Down { value: key.into() })
        .then(KeyAction::Up { value: key.into() });
    if shift {
        keys = keys.then(KeyAction::Up {
            value: Key::Shift.into(),
        });
    }
    e2e.client
        .perform_actions(keys)
        .await
        .with_context(|| format!("pressing {key:?}"))?;
    Ok(())
}

/// What has the keyboard focus.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Focused {
    /// Whether the focus is inside the loader's shadow root.
    pub in_shadow: bool,
    /// The focused element's `data-testid`, if any.
    pub testid: Option<String>,
    /// Its tag name, lower case.
    pub tag: String,
    /// Its `data-step` (the step list's buttons).
    pub step: Option<String>,
    /// The first 60 characters of its text, for messages.
    pub text: String,
}

/// The focused element, looking through the shadow root.
pub async fn focused(e2e: &E2e) -> anyhow::Result<Focused> {
    let script = format!(
        r#"
        const host = document.getElementById({HOST_ID:?});
        let el = document.activeElement;
        const inShadow = !!host && el === host && !!host.shadowRoot;
        if (inShadow) {{ el = host.shadowRoot.activeElement; }}
        if (!el) {{ return {{ in_shadow: inShadow, tag: "" }}; }}
        return {{
            in_shadow: inShadow,
            testid: el.getAttribute("data-testid"),
            tag: el.tagName.toLowerCase(),
            step: el.getAttribute("data-step"),
            text: (el.textContent ?? "").trim().replace(/\s+/g, " ").slice(0, 60),
        }};
        "#
    );
    let value = e2e.client.execute(&script, vec![]).await?;
    let text = |key: &str| value[key].as_str().map(str::to_owned);
    Ok(Focused {
        in_shadow: value["in_shadow"] == json!(true),
        testid: text("testid"),
        tag: text("tag").unwrap_or_default(),
        step: text("step"),
        text: text("text").unwrap_or_default(),
    })
}

/// Presses Tab (Shift+Tab when `backwards`) until `wanted` accepts what has the focus, at most
/// `limit` times; returns the presses it took. The error lists the focus path, which is the
/// tab order a keyboard user meets.
pub async fn tab_until(
    e2e: &E2e,
    what: &str,
    backwards: bool,
    limit: usize,
    wanted: impl Fn(&Focused) -> bool,
) -> anyhow::Result<usize> {
    let mut path = Vec::new();
    for presses in 0..=limit {
        let now = focused(e2e).await?;
        if wanted(&now) {
            return Ok(presses);
        }
        path.push(format!(
            "{}{}{}",
            now.tag,
            now.testid
                .as_deref()
                .map(|id| format!("[{id}]"))
                .unwrap_or_default(),
            if now.text.is_empty() {
                String::new()
            } else {
                format!(" \"{}\"", now.text)
            }
        ));
        if presses < limit {
            press(e2e, Key::Tab, backwards).await?;
        }
    }
    bail!(
        "{what}: not reached in {limit} {} presses; the focus went: {}",
        if backwards { "Shift+Tab" } else { "Tab" },
        path.join(" → ")
    )
}

/// `<target>/e2e/screenshots/`, where the screenshot tests write.
pub fn screenshots_dir() -> PathBuf {
    target_dir().join("e2e").join("screenshots")
}

/// `docs/screenshots/` in the workspace, which README shows.
pub fn docs_screenshots_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots")
}

/// Saves a PNG of the element `selector` matches inside the shadow root (cropped to it) as
/// `<target>/e2e/screenshots/<name>.png`; with `KUDU_UPDATE_SCREENSHOTS=1` also as
/// `docs/screenshots/<name>.png`. Returns the PNG.
pub async fn element_screenshot(e2e: &E2e, selector: &str, name: &str) -> anyhow::Result<Vec<u8>> {
    let element = e2e.shadow_element(selector).await?;
    let png = element
        .screenshot()
        .await
        .with_context(|| format!("screenshot of {selector}"))?;
    let mut dirs = vec![screenshots_dir()];
    if std::env::var("KUDU_UPDATE_SCREENSHOTS").is_ok_and(|value| value == "1") {
        dirs.push(docs_screenshots_dir());
    }
    for dir in dirs {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(png)
}
