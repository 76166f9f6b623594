//! `use_launcher`: takes over the loader's "409 Doctor" button. It mirrors the diagnosis in
//! the button's `data-state` (and, in words, its text and `title` tooltip), the wizard's visibility in
//! `aria-expanded`, and turns the user's clicks into [`Action::LauncherClicked`].
//!
//! ```ignore
//! use_launcher(&props.launcher, state.launcher_state(), tooltip, state.is_open(), state.dispatcher());
//! ```
//!
//! Only trusted clicks count: a script on the SCM page can call `launcher.click()`, but
//! that event has `isTrusted == false` and is ignored.

use gloo_events::EventListener;
use web_sys::HtmlElement;
use yew::prelude::*;

use crate::state::{Action, UiState};

/// Wires the launcher; the listener goes away with the app.
#[hook]
pub fn use_launcher(
    launcher: &Option<HtmlElement>,
    data_state: &'static str,
    tooltip: Option<&'static str>,
    open: bool,
    dispatcher: UseReducerDispatcher<UiState>,
) {
    use_effect_with(launcher.clone(), move |launcher| {
        let listener = launcher.as_ref().map(|launcher| {
            EventListener::new(launcher, "click", move |event| {
                if event.is_trusted() {
                    dispatcher.dispatch(Action::LauncherClicked);
                }
            })
        });
        move || drop(listener)
    });
    use_effect_with(
        (launcher.clone(), data_state, tooltip),
        |(launcher, data_state, tooltip)| {
            if let Some(launcher) = launcher {
                // Setting an attribute on our own button cannot fail in practice; if it did,
                // the launcher would only show a stale state.
                let _ = launcher.set_attribute("data-state", data_state);
                if let Some(tooltip) = tooltip {
                    let _ = launcher.set_attribute("title", &format!("409 Doctor: {tooltip}"));
                    // The settled cause in words; until then the loader's probe words stay.
                    launcher.set_text_content(Some(&format!("409 Doctor \u{b7} {tooltip}")));
                }
            }
        },
    );
    let was_open = use_mut_ref(|| false);
    use_effect_with((launcher.clone(), open), move |(launcher, open)| {
        if let Some(launcher) = launcher {
            let _ = launcher.set_attribute("aria-expanded", if *open { "true" } else { "false" });
            // Closing from inside the panel would leave focus nowhere: give it back.
            if *was_open.borrow() && !*open {
                let _ = launcher.focus();
            }
        }
        *was_open.borrow_mut() = *open;
    });
}
