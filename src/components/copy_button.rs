//! A button that copies a snippet to the clipboard and says so.

use wasm_bindgen_futures::JsFuture;
use yew::platform::spawn_local;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct CopyButtonProps {
    pub text: AttrValue,
    /// What is copied, for the accessible name ("Copy the concurrency snippet").
    pub what: AttrValue,
    /// The button's text before it is used.
    #[prop_or(AttrValue::Static("Copy"))]
    pub label: AttrValue,
}

/// Copies `text`; shows "Copied" or "Copy failed" for the user.
#[component]
pub fn CopyButton(props: &CopyButtonProps) -> Html {
    let outcome = use_state(|| None::<bool>);
    let onclick = {
        let text = props.text.clone();
        let outcome = outcome.clone();
        Callback::from(move |_: MouseEvent| {
            let Some(window) = web_sys::window() else {
                outcome.set(Some(false));
                return;
            };
            let promise = window.navigator().clipboard().write_text(&text);
            let outcome = outcome.clone();
            spawn_local(async move {
                outcome.set(Some(JsFuture::from(promise).await.is_ok()));
            });
        })
    };
    let label = match *outcome {
        None => props.label.clone(),
        Some(true) => AttrValue::Static("Copied"),
        Some(false) => AttrValue::Static("Copy failed: select the text instead"),
    };
    html! {
        <button type="button" class="kd-copy" aria-label={format!("Copy {}", props.what)} {onclick}>
            { label }
        </button>
    }
}
