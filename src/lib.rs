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
//! const handle = mount(container, { origin: null, autoOpen: true, embedded: true }, launcher);
//! // handle.unmount() removes the app and its listeners (used before a re-injection).
//! ```
//!
//! - `container`: an element (inside the shadow root for the content script) the app renders
//!   into.
//! - options: `origin` is `null` for same-origin relative `/api/...` reads (content script,
//!   standalone page) or the SCM origin (`https://myapp.scm.azurewebsites.net`) for the
//!   extension page; `autoOpen` opens the wizard by itself when the site is deploying or locked;
//!   `embedded` is true on the Kudu page (the wizard is a panel toggled by the launcher) and
//!   false on full pages (the wizard is always open).
//! - `launcher`: the plain-JS "409 Doctor" button the loader already created, or `null`. The
//!   app takes it over: sets `data-state` to the leading cause id once known (`pending` before)
//!   and toggles the wizard on its clicks.

use wasm_bindgen::prelude::*;
use yew::prelude::*;

#[component]
fn App() -> Html {
    html! { <div data-testid="kudu-doctor"><h1>{ "409 Doctor" }</h1></div> }
}

/// Mounts the app into `host`. Placeholder until the wizard lands.
#[wasm_bindgen]
pub fn mount(host: web_sys::Element) -> Result<(), JsError> {
    yew::Renderer::<App>::with_root(host).render();
    Ok(())
}
