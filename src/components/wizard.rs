//! The wizard shell: a right-side drawer on the Kudu page (`role="dialog"`, closed by its
//! button or Escape) or the whole page, with the step list and the four steps.

use std::rc::Rc;

use kudu_core::CauseId;
use web_sys::HtmlElement;
use yew::prelude::*;

use crate::components::cleanup_run_panel::CleanupRunPanel;
use crate::components::diagnosis_panel::diagnosis_panel;
use crate::components::guide::Guide;
use crate::components::lock_inspector::LockInspector;
use crate::components::pasted_error::PastedErrorBox;
use crate::components::report_actions::ReportActions;
use crate::components::status_banner::{StatusBannerProps, status_banner};
use crate::components::step_nav::step_nav;
use crate::components::timeline::TimelinePanel;
use crate::components::warnings_details::warnings_details;
use crate::hooks::CleanupHandle;
use crate::round::Snapshot;
use crate::state::{Action, Opener, UiState, WizardStep};

#[derive(Properties, PartialEq)]
pub struct WizardProps {
    pub state: UseReducerHandle<UiState>,
    /// The SCM site's origin, for the sign-in link.
    pub scm_origin: AttrValue,
    pub cleanup: CleanupHandle,
}

/// `data-testid="kudu-doctor"`; hidden (not removed) while closed.
#[component]
pub fn Wizard(props: &WizardProps) -> Html {
    let state = &props.state;
    let root = use_node_ref();
    let heading = use_node_ref();
    {
        let heading = heading.clone();
        use_effect_with(state.open, move |open| {
            // Only a user's own click moves focus; opening by itself must not steal it.
            if *open == Some(Opener::User)
                && let Some(heading) = heading.cast::<HtmlElement>()
            {
                let _ = heading.focus();
            }
        });
    }
    let dispatch = {
        let dispatcher = state.dispatcher();
        Callback::from(move |action: Action| dispatcher.dispatch(action))
    };
    let embedded = state.options.embedded;
    let loading = state.load.is_loading();
    let onkeydown = {
        let dispatch = dispatch.clone();
        Callback::from(move |event: KeyboardEvent| {
            if embedded && event.key() == "Escape" {
                event.stop_propagation();
                dispatch.emit(Action::CloseRequested);
            }
        })
    };
    let on_select = {
        let dispatch = dispatch.clone();
        let root = root.clone();
        Callback::from(move |step: WizardStep| {
            dispatch.emit(Action::StepSelected(step));
            focus_section(&root, step);
        })
    };
    let snapshot = state.snapshot().cloned();
    let below_shown = use_below_the_diagnosis(snapshot.is_some());
    // One shared copy per snapshot, so the inspector's props compare by pointer on re-renders.
    let lock = use_memo(snapshot.clone(), |snapshot| {
        snapshot
            .as_ref()
            .map(|snapshot| Rc::new(snapshot.diagnosis.lock.clone()))
    });
    html! {
        <div
            ref={root}
            class={classes!("kd-wizard", if embedded { "kd-drawer" } else { "kd-page" })}
            data-testid="kudu-doctor"
            data-open={if state.is_open() { "true" } else { "false" }}
            hidden={!state.is_open()}
            role={if embedded { "dialog" } else { "region" }}
            aria-label="409 Doctor: why deployments to this site fail with 409 Conflict"
            aria-busy={if loading { "true" } else { "false" }}
            {onkeydown}
        >
            <div class="kd-top">
                <header class="kd-header">
                    <h1 ref={heading} tabindex="-1">{ "409 Doctor" }</h1>
                    <button type="button" class="kd-button kd-refresh" data-testid="refresh"
                        disabled={loading} onclick={dispatch.reform(|_: MouseEvent| Action::RefreshRequested)}>
                        { if loading { "Reading…" } else { "Refresh" } }
                    </button>
                    if embedded {
                        <button type="button" class="kd-close" data-testid="close" aria-label="Close 409 Doctor"
                            onclick={dispatch.reform(|_: MouseEvent| Action::CloseRequested)}>
                            { "×" }
                        </button>
                    }
                </header>
                { step_nav(state.step, &on_select) }
            </div>
            <div class="kd-body">
                { status_banner(&StatusBannerProps {
                    loading,
                    checking: state.checking.clone(),
                    failure: state.load.error().cloned(),
                    snapshot: snapshot.clone(),
                    polling: state.wants_polling(),
                    lock_cleared: state.lock_cleared,
                    scm_origin: props.scm_origin.clone(),
                    on_retry: dispatch.reform(|()| Action::RefreshRequested),
                    on_dismiss: dispatch.reform(|()| Action::NoticeDismissed),
                }) }
                if let Some(view) = props.cleanup.view.clone() {
                    <CleanupRunPanel {view} on_save_backup={props.cleanup.save_backup_again.clone()}
                        on_backup_saved={props.cleanup.backup_saved.clone()} />
                }
                if let Some(snapshot) = &snapshot {
                    { diagnosis_panel(&snapshot.diagnosis) }
                    <PastedErrorBox
                        classified={snapshot.diagnosis.pasted_error.clone().map(Rc::new)}
                        busy={loading}
                        on_submit={dispatch.reform(Action::ErrorPasted)} />
                }
                if let (true, Some(snapshot), Some(lock)) = (below_shown, snapshot, (*lock).clone()) {
                    <TimelinePanel timeline={Rc::new(snapshot.diagnosis.timeline.clone())}
                        now={snapshot.diagnosis.now} unread={deployments_unread(&snapshot)} />
                    <LockInspector {lock}
                        personality={snapshot.diagnosis.personality}
                        clock_offset_ms={snapshot.clock_offset_ms} />
                    <Guide snapshot={snapshot.clone()} polling={state.wants_polling()}
                        scm_origin={props.scm_origin.clone()} cleanup={props.cleanup.clone()}
                        site_name={site_name(&snapshot, &props.scm_origin)} />
                    <ReportActions snapshot={snapshot.clone()} cleanup={props.cleanup.view.clone()}
                        site_name={site_name(&snapshot, &props.scm_origin)}
                        scm_origin={props.scm_origin.clone()} />
                    { warnings_details(&snapshot.diagnosis.warnings) }
                }
            </div>
        </div>
    }
}

/// Whether the sections below the diagnosis (timeline, lock, guide, report) are rendered.
/// They wait one task after the first diagnosis: the banner and the cause reach the screen
/// about 30 ms sooner (issue 6, time to diagnosis) and no task renders the whole wizard at
/// once. Later snapshots render everything together; nothing flickers on a refresh.
#[hook]
fn use_below_the_diagnosis(has_diagnosis: bool) -> bool {
    let shown = use_state(|| false);
    {
        let shown = shown.clone();
        use_effect_with(has_diagnosis, move |has_diagnosis| {
            let pending = (*has_diagnosis && !*shown)
                .then(|| gloo_timers::callback::Timeout::new(0, move || shown.set(true)));
            // Dropping the timeout cancels it, should the diagnosis go before it fires.
            move || drop(pending)
        });
    }
    *shown
}

/// Whether the deployment list is missing from this round (failed, or the session expired).
fn deployments_unread(snapshot: &Snapshot) -> bool {
    snapshot
        .failed_reads
        .iter()
        .any(|failure| failure.endpoint == "/api/deployments")
        || snapshot
            .diagnosis
            .primary()
            .is_some_and(|finding| finding.cause == CauseId::SessionExpired)
}

/// The site's name: `WEBSITE_SITE_NAME` when it was read, else the first label of the SCM
/// host (`myapp` of `myapp.scm.azurewebsites.net`).
fn site_name(snapshot: &Snapshot, scm_origin: &str) -> AttrValue {
    if let Some(name) = &snapshot.site.name {
        return name.clone().into();
    }
    let host = scm_origin
        .split_once("://")
        .map_or(scm_origin, |(_, rest)| rest);
    host.split(['.', ':', '/'])
        .next()
        .unwrap_or_default()
        .to_string()
        .into()
}

/// Moves focus (and so the scroll position) to a step's section.
fn focus_section(root: &NodeRef, step: WizardStep) {
    let selector = format!("[data-testid=\"{}\"]", step.testid());
    let section = root
        .cast::<web_sys::Element>()
        .and_then(|root| root.query_selector(&selector).ok().flatten())
        .and_then(|section| wasm_bindgen::JsCast::dyn_into::<HtmlElement>(section).ok());
    if let Some(section) = section {
        let _ = section.focus();
    }
}
