//! Kudu Doctor's user interface: a Yew app mounted by the extension's content script (into a
//! closed shadow root on the SCM page), by the extension page (CSP fallback), or by the
//! standalone page.
//!
//! # Mount API (the contract with `extension/content.js`, `extension/doctor.js` and
//! `static/index.html`)
//!
//! ```js
//! import init, { mount } from "./pkg/kudu_doctor.js";
//! await init({ module_or_path: wasmUrl });
//! const handle = mount(container, { origin: null, autoOpen: true, embedded: true, open, prefetched }, launcher);
//! // handle.unmount() removes the app and its listeners (used before a re-injection).
//! ```
//!
//! - `container`: an element (inside the shadow root for the content script) the app renders
//!   into.
//! - options: `origin` is `null` for same-origin relative `/api/...` reads (content script,
//!   standalone page) or the SCM origin (`https://myapp.scm.azurewebsites.net`) for the
//!   extension page; `autoOpen` opens the wizard by itself when the settled diagnosis finds
//!   something the user must act on (`kudu_core::CauseId::needs_the_user`; never for a
//!   deployment, scan or swap that ends by itself); `embedded` is true on the Kudu page (the
//!   wizard is a panel toggled by the launcher) and false on full pages (the wizard is always
//!   open); `open` starts the panel open (the loader mounts the app on the user's first click
//!   of the launcher). `undefined`/`null` options, or missing keys, mean
//!   `{ origin: null, autoOpen: true, embedded: false, open: false }`. An `origin` that is not
//!   an http(s) origin makes `mount` throw. Behind a closed panel the app runs no poll rounds:
//!   the loader's probe keeps the launcher current.
//! - `prefetched` (optional, content script only): the first round the loader already sent
//!   while the wasm loaded, `{ cacheBust, replies }`: `cacheBust` is the number it put in
//!   place of `{cacheBust}` in the read list `cargo xtask dist` writes into
//!   `loader-config.js` (`kudu_core::reads::first_reads_script`), and `replies` maps each
//!   read's path (`/api/deployments?_=<cacheBust>`) to a promise of
//!   `{ status, headers: [[name, value]], body }` (or `{ redirected: true }`,
//!   `{ timedOut: true }`). The first round uses each reply once and sends any read that is
//!   missing or whose promise rejects itself; later rounds never use them.
//! - `launcher`: the plain-JS "409 Doctor" button the loader already created, or `null`. The
//!   app takes it over: sets `data-state` to the leading cause id once known (`checking` before, and while the first round reads the logs that decide it),
//!   its text to the settled cause in words ("409 Doctor · A deployment is in progress"),
//!   and toggles the wizard on its clicks (trusted clicks only). It also mirrors the wizard's
//!   visibility in the launcher's `aria-expanded`.
//!
//! `mount` returns a `MountHandle`; `unmount()` destroys the Yew app, which removes its DOM, its
//! launcher listener and its timers. Calling it twice is harmless.
//!
//! Reads go out all at once (a second round reads the logs of unfinished deployments and
//! refines the answer). The diagnosis runs on the SCM site's clock, taken from the replies'
//! `Date` header when there is one, so a skewed browser clock (or a simulator with its own
//! virtual time) does not misjudge a lock's age. While the site is busy the app re-reads every
//! 5 s (not while the tab is hidden) and once right after a Linux lock's expiry.
//!
//! # Test hooks (stable)
//!
//! launcher `data-state` (`checking` until the round settles, then a cause id, `error` when nothing could be read,
//! `unknown` if the core named no cause) and `title`;
//! `data-testid`: `kudu-doctor` (with `data-open`), `diagnosis` (one `data-cause` element per
//! finding, the leading one `data-primary="true"`, with `data-confidence`; `evidence` lists;
//! no other element carries `data-cause`), `timeline` (the span control `timeline-view` with
//! `data-view` buttons `explains-now`, `last-day`, `all` and `aria-pressed`; `timeline-span`;
//! bars `timeline-bar` with `data-deployment-id`, `data-outcome`, `data-overlap`,
//! `data-conflict`, `data-lane`; marks `timeline-mark` with `data-mark` `refused`,
//! `kudu-started` or `kudu-stopped`; `timeline-detail`; `timeline-outside`; `timeline-table`;
//! `timeline-leftover-temps`, the one line that stands for leftover `temp-` records, which get
//! no bars), `lock` (with `data-lock-state`; `lock-countdown` with
//! `data-secs-left`; `windows-lock`), `guide` (with `data-for-cause`; items with
//! `data-recommendation`; `plan` with `data-step-kind` items, long lists paged behind
//! `more-steps` buttons; `plan-not-offered`; `wait-until`; `pipeline-advice`),
//! `session-expired`, `sign-in`, `retry`, `read-errors`, `loading`, `polling`,
//! `lock-cleared`, `warnings`, `refresh`, `close`. Wizard steps: `data-step` buttons, the
//! current one `aria-current="step"`.
//!
//! Cleanup (issue 5): `cleanup` (starts the targeted cleanup; only when the plan has steps, is
//! offered, and the cause is not `deployment-in-progress`; `cleanup-preparing`, disabled, stands
//! in its place while the plan is built), its confirmation `confirm-panel`
//! (`role="alertdialog"`, lists `confirm-backups` and `confirm-deletes`, checkbox
//! `restart-app`, buttons `confirm` and `cancel`; Escape cancels); the run `cleanup-run`
//! (`data-running`; `cleanup-progress`, `backup-ready` with `data-file-name`, `save-backup`,
//! `run-steps` items with `data-step-state`, `activity-log` with `activity-entry` items carrying
//! `data-method`, `data-path`, `data-status`), the outcome `cleanup-result` with `data-outcome`
//! `fixed`|`failed`|`aborted` (`failed-step`, `true-state`, `abort-reason`, `changes`,
//! `before-after` with `before-cause`, `after-cause`, `before-lock`, `after-lock`); the full
//! reset `full-reset-section` (collapsed; `full-reset-loses`, `full-reset-keeps`, option
//! boxes `full-reset-tools`, `full-reset-settings`, `full-reset-active`), `full-reset` (opens
//! its confirmation), `full-reset-name` (the typed site name), `full-reset-confirm`; the
//! restart hand-off `restart-handoff` with `portal-link` (`data-deep`) and `restart-command`.
//! `cleanup`, `confirm`, `full-reset` and `full-reset-confirm` act on trusted input only.
//! After a run ends the wizard reads the site again; the outcome stays on screen.

mod app;
mod cause_titles;
mod components;
mod hooks;
mod kudu_http;
mod portal_link;
mod report_text;
mod round;
mod runbook;
mod state;
mod time_text;
mod timeline_layout;
mod trusted_input;

use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlElement};
use yew::AppHandle;

use crate::app::{App, AppProps};
use crate::hooks::{CleanupTransport, FirstRoundReplies, ReadSource};
use crate::kudu_http::PrefetchedReads;
use crate::state::UiOptions;
use crate::trusted_input::TrustGate;

/// The options object the loaders pass (`{ origin, autoOpen, embedded, open }`), read with
/// `serde-wasm-bindgen` (issue 17, replacing a field-by-field `Reflect` reader: it costs the
/// wasm 3,057 B gzip, 8,409 B raw, measured with `cargo xtask dist` on 2026-12-08, about 0.8 %
/// of a payload that is now fetched only when the app is opened or the site is busy). A missing, `undefined` or `null` key takes its default; a key of the
/// wrong type, or options that are not an object, is an error. Other keys (`prefetched`,
/// read on its own below) are ignored.
#[derive(serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct MountOptions {
    origin: Option<String>,
    #[serde(deserialize_with = "true_unless_false")]
    auto_open: bool,
    #[serde(deserialize_with = "false_unless_true")]
    embedded: bool,
    #[serde(deserialize_with = "false_unless_true")]
    open: bool,
}

impl MountOptions {
    fn from_js(options: &JsValue) -> Result<Self, JsError> {
        if options.is_undefined() || options.is_null() {
            return Ok(MountOptions::default());
        }
        if !options.is_object() {
            return Err(JsError::new("mount options: not an object"));
        }
        serde_wasm_bindgen::from_value(options.clone())
            .map_err(|error| JsError::new(&format!("mount options: {error}")))
    }
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            origin: None,
            auto_open: true,
            embedded: false,
            open: false,
        }
    }
}

/// `autoOpen`: `null` takes the default (true), as a missing key does.
fn true_unless_false<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(<Option<bool> as serde::Deserialize>::deserialize(deserializer)?.unwrap_or(true))
}

/// `embedded`, `open`: `null` takes the default (false), as a missing key does.
fn false_unless_true<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(<Option<bool> as serde::Deserialize>::deserialize(deserializer)?.unwrap_or(false))
}

/// A mounted app; `unmount()` removes it with its listeners.
#[wasm_bindgen]
pub struct MountHandle {
    app: Option<AppHandle<App>>,
}

#[wasm_bindgen]
impl MountHandle {
    /// Destroys the app: its DOM, the launcher listener, timers. Idempotent.
    pub fn unmount(&mut self) {
        if let Some(app) = self.app.take() {
            app.destroy();
        }
    }
}

/// Mounts the wizard into `container` (see the crate docs for the contract).
#[wasm_bindgen]
pub fn mount(
    container: Element,
    options: JsValue,
    launcher: Option<HtmlElement>,
) -> Result<MountHandle, JsError> {
    let prefetched = js_sys::Reflect::get(&options, &JsValue::from_str("prefetched"))
        .ok()
        .filter(|_| options.is_object())
        .and_then(|value| PrefetchedReads::from_js(&value));
    let options = MountOptions::from_js(&options)?;
    let origin = options.origin.as_deref().map(checked_origin).transpose()?;
    let scm_origin = match &origin {
        Some(origin) => origin.clone(),
        None => page_origin()?,
    };
    let ui = UiOptions {
        auto_open: options.auto_open,
        embedded: options.embedded,
    };
    Ok(render(
        container,
        Sources {
            reads: ReadSource::Network {
                origin: origin.clone(),
                prefetched: FirstRoundReplies::new(prefetched),
            },
            cleanup: CleanupTransport::Network { origin },
            gate: TrustGate::default(),
        },
        ui,
        launcher,
        scm_origin,
        options.open,
    ))
}

/// Where the app's reads and cleanup requests go, and how strict its buttons are.
struct Sources {
    reads: ReadSource,
    cleanup: CleanupTransport,
    gate: TrustGate,
}

fn render(
    container: Element,
    sources: Sources,
    options: UiOptions,
    launcher: Option<HtmlElement>,
    scm_origin: String,
    start_open: bool,
) -> MountHandle {
    let props = AppProps {
        source: sources.reads,
        options,
        launcher,
        scm_origin: scm_origin.into(),
        cleanup: sources.cleanup,
        gate: sources.gate,
        start_open,
    };
    let app = yew::Renderer::<App>::with_root_and_props(container, props).render();
    MountHandle { app: Some(app) }
}

/// Accepts only an http(s) origin and normalises it (`https://a.scm.azurewebsites.net`), so a
/// path, query or credentials in the option can never reach a request URL.
fn checked_origin(origin: &str) -> Result<String, JsError> {
    let url = web_sys::Url::new(origin)
        .map_err(|_| JsError::new("mount options: origin is not a URL"))?;
    let protocol = url.protocol();
    if protocol != "https:" && protocol != "http:" {
        return Err(JsError::new("mount options: origin must be http(s)"));
    }
    Ok(url.origin())
}

fn page_origin() -> Result<String, JsError> {
    web_sys::window()
        .and_then(|window| window.location().origin().ok())
        .ok_or_else(|| JsError::new("no page origin"))
}

/// Test support: mounts the app with a prepared read-round outcome instead of the network.
/// Not part of the loaders' contract.
#[doc(hidden)]
pub mod testing {
    pub use crate::components::timeline::{
        MAX_SHOWN as TIMELINE_MAX_SHOWN, TimelinePanel, TimelinePanelProps,
    };
    pub use crate::hooks::ScriptedKudu;
    pub use crate::kudu_http::KuduHttpError;
    pub use crate::round::{
        ReadFailure, RoundFailure, RoundOutcome, SiteFacts, Snapshot, unplanned,
    };
    pub use crate::state::UiOptions;
    pub use crate::trusted_input::TrustGate;

    use web_sys::{Element, HtmlElement};

    use crate::hooks::{CleanupTransport, ReadSource};
    use crate::{MountHandle, Sources};

    /// The `n`-th read round (the first one at mount, then each refresh or poll) ends with
    /// `outcomes[n - 1]`, and every later round with the last outcome.
    pub fn mount_with_outcomes(
        container: Element,
        options: UiOptions,
        launcher: Option<HtmlElement>,
        outcomes: Vec<RoundOutcome>,
    ) -> MountHandle {
        let refuse: ScriptedKudu = std::rc::Rc::new(|_| {
            kudu_core::cleanup::RunReply::transport_error("no Kudu in this test")
        });
        mount_with_cleanup(
            container,
            options,
            launcher,
            outcomes,
            refuse,
            TrustGate::default(),
        )
    }

    /// [`mount_with_outcomes`] with a cleanup run answered by `kudu` (no network, no real
    /// download) and a trust gate the test chooses.
    pub fn mount_with_cleanup(
        container: Element,
        options: UiOptions,
        launcher: Option<HtmlElement>,
        outcomes: Vec<RoundOutcome>,
        kudu: ScriptedKudu,
        gate: TrustGate,
    ) -> MountHandle {
        crate::render(
            container,
            Sources {
                reads: ReadSource::Scripted(outcomes),
                cleanup: CleanupTransport::Scripted(kudu),
                gate,
            },
            options,
            launcher,
            "https://myapp.scm.azurewebsites.net".to_string(),
            false,
        )
    }
}
