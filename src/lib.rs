//! Kudu Doctor's user interface: a Yew app mounted by the extension's content script (into a
//! closed shadow root on the SCM page) or by the standalone page.

use wasm_bindgen::prelude::*;
use yew::prelude::*;

#[component]
fn App() -> Html {
    html! { <div data-testid="kudu-doctor"><h1>{ "409 Doctor" }</h1></div> }
}

/// Mounts the app into `host`.
#[wasm_bindgen]
pub fn mount(host: web_sys::Element) -> Result<(), JsError> {
    yew::Renderer::<App>::with_root(host).render();
    Ok(())
}
