//! `<App/>`: owns the reducer, wires the hooks to it and renders the wizard with its styles.

use web_sys::HtmlElement;
use yew::prelude::*;

use crate::cause_titles::cause_title;
use crate::components::wizard::Wizard;
use crate::hooks::{
    CleanupTransport, ReadSource, use_cleanup_run, use_diagnosis, use_launcher, use_polling,
};
use crate::state::{UiOptions, UiState};
use crate::trusted_input::{TrustGate, use_focus_guard};

/// The wizard's styles; they live in the shadow root, so they neither leak into Kudu nor
/// inherit Kudu's.
const STYLE: &str = include_str!("style.css");

#[derive(Properties, PartialEq)]
pub struct AppProps {
    pub source: ReadSource,
    pub options: UiOptions,
    /// The loader's "409 Doctor" button, when there is one.
    pub launcher: Option<HtmlElement>,
    /// The SCM site's origin, for the sign-in link.
    pub scm_origin: AttrValue,
    /// Where a cleanup run's requests go.
    pub cleanup: CleanupTransport,
    /// Which destructive buttons accept synthetic events (none, except in tests).
    pub gate: TrustGate,
    /// The user's click on the launcher loaded the app: start with the wizard open.
    #[prop_or_default]
    pub start_open: bool,
}

#[component]
pub fn App(props: &AppProps) -> Html {
    let options = props.options;
    let start_open = props.start_open;
    let state = use_reducer(move || {
        let state = UiState::new(options);
        if start_open {
            state.opened_by_user()
        } else {
            state
        }
    });
    use_diagnosis(&props.source, &state);
    use_polling(&state);
    use_focus_guard();
    let cleanup = use_cleanup_run(&props.cleanup, state.dispatcher());
    let tooltip = state
        .snapshot()
        .and_then(|snapshot| snapshot.diagnosis.primary())
        .map(|finding| cause_title(finding.cause));
    use_launcher(
        &props.launcher,
        state.launcher_state(),
        tooltip,
        state.is_open(),
        state.dispatcher(),
    );
    html! {
        <div class="kd-root">
            <style>{ STYLE }</style>
            <ContextProvider<TrustGate> context={props.gate}>
                <Wizard state={state.clone()} scm_origin={props.scm_origin.clone()} {cleanup} />
            </ContextProvider<TrustGate>>
        </div>
    }
}
