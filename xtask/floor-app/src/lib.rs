//! A Yew hello-world with the same mount shape as Kudu Doctor: the framework's size floor.

use wasm_bindgen::prelude::*;
use yew::prelude::*;

#[function_component(Hello)]
fn hello() -> Html {
    html! { <p>{ "Hello from Yew" }</p> }
}

/// Renders the app into `container`.
#[wasm_bindgen]
pub fn mount(container: web_sys::Element) {
    yew::Renderer::<Hello>::with_root(container).render();
}
