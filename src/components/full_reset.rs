//! The runbook's last resort, behind its own confirmation: a collapsed "Full reset" section
//! that says what is lost and what is kept, lets the user opt in to deleting `tools/`,
//! `settings.xml` and `active` (all off by default), and runs only after the user typed the
//! site name exactly (`Confirmation::typed`). The backup is the run's first phase, as for the
//! targeted cleanup. `data-testid="full-reset"` opens the confirmation,
//! `data-testid="full-reset-confirm"` starts the run; both only on trusted input.
//!
//! The plan walks the whole session, so it is built only while the section is open (and
//! then once per snapshot and options): the wizard's first render stays cheap.

use std::rc::Rc;

use kudu_core::cleanup::{Acknowledgement, Confirmation};
use kudu_core::plan::{FullResetOptions, plan_full_reset};
use web_sys::{Element, HtmlElement, HtmlInputElement};
use yew::prelude::*;

use crate::components::cleanup_plan::{acknowledge_callback, acknowledgement_check};
use crate::hooks::{CleanupHandle, CleanupStart};
use crate::round::Snapshot;
use crate::trusted_input::TrustGate;

#[derive(Properties, PartialEq)]
pub struct FullResetProps {
    pub snapshot: Rc<Snapshot>,
    pub cleanup: CleanupHandle,
    /// What the user must type.
    pub site_name: AttrValue,
}

/// `data-testid="full-reset-section"`, a `<details>` closed by default.
#[component]
pub fn FullResetSection(props: &FullResetProps) -> Html {
    let gate = use_context::<TrustGate>().unwrap_or_default();
    let options = use_state(FullResetOptions::default);
    let typed = use_state(String::new);
    let acknowledged = use_state(|| false);
    let confirming = use_state(|| false);
    let expanded = use_state(|| false);
    let input = use_node_ref();
    let button = use_node_ref();
    {
        let input = input.clone();
        use_effect_with(*confirming, move |open| {
            if *open && let Some(input) = input.cast::<HtmlElement>() {
                let _ = input.focus();
            }
        });
    }
    let plan = use_memo(
        (props.snapshot.clone(), *options, *expanded),
        |(snapshot, options, expanded)| {
            expanded.then(|| {
                Rc::new(plan_full_reset(
                    &snapshot.session,
                    &snapshot.diagnosis,
                    *options,
                ))
            })
        },
    );
    // The browser owns the `open` attribute; the state only follows it.
    let ontoggle = {
        let expanded = expanded.clone();
        Callback::from(move |event: Event| {
            let open = event
                .target_dyn_into::<Element>()
                .is_some_and(|details| details.has_attribute("open"));
            expanded.set(open);
        })
    };
    let Some(plan) = (*plan).clone() else {
        return html! {
            <details class="kd-full-reset" data-testid="full-reset-section" {ontoggle}>
                <summary>{ "Full reset (last resort)" }</summary>
            </details>
        };
    };
    let running = props.cleanup.view.as_ref().is_some_and(|v| v.running());
    let confirmation = Confirmation::typed(&props.site_name, &typed);
    let offered = !plan.steps.is_empty() && plan.not_offered.is_none();

    let option_box = |label: &'static str,
                      testid: &'static str,
                      get: fn(&FullResetOptions) -> bool,
                      set: fn(&mut FullResetOptions, bool)| {
        let checked = get(&options);
        let options = options.clone();
        let onchange = Callback::from(move |event: Event| {
            let checked = event
                .target_dyn_into::<HtmlInputElement>()
                .is_some_and(|input| input.checked());
            let mut next = *options;
            set(&mut next, checked);
            options.set(next);
        });
        html! {
            <label class="kd-check">
                <input type="checkbox" data-testid={testid} {checked} {onchange} />
                { " " }{ label }
            </label>
        }
    };
    let open = {
        let confirming = confirming.clone();
        Callback::from(move |event: MouseEvent| {
            if gate.opens(&event) {
                confirming.set(true);
            }
        })
    };
    let oninput = {
        let typed = typed.clone();
        Callback::from(move |event: InputEvent| {
            if let Some(input) = event.target_dyn_into::<HtmlInputElement>() {
                typed.set(input.value());
            }
        })
    };
    let cancel = {
        let confirming = confirming.clone();
        let typed = typed.clone();
        let button = button.clone();
        Callback::from(move |()| {
            confirming.set(false);
            typed.set(String::new());
            if let Some(button) = button.cast::<HtmlElement>() {
                let _ = button.focus();
            }
        })
    };
    let onkeydown = {
        let cancel = cancel.clone();
        Callback::from(move |event: KeyboardEvent| {
            if event.key() == "Escape" {
                event.stop_propagation();
                event.prevent_default();
                cancel.emit(());
            }
        })
    };
    let run = {
        let start = props.cleanup.start.clone();
        let snapshot = props.snapshot.clone();
        let plan = plan.clone();
        let site_name = props.site_name.clone();
        let confirmation = confirmation.clone();
        let cancel = cancel.clone();
        let acknowledged = acknowledged.clone();
        Callback::from(move |event: MouseEvent| {
            if !gate.runs(&event) {
                return;
            }
            let Some(confirmation) = confirmation.clone() else {
                return;
            };
            cancel.emit(());
            start.emit(CleanupStart {
                plan: plan.clone(),
                site_name: site_name.to_string(),
                before: snapshot.diagnosis.clone(),
                include_optional: false,
                confirmation: Some(confirmation),
                acknowledgement: (*acknowledged)
                    .then(|| Acknowledgement::given(&plan))
                    .flatten(),
                clock_offset_ms: snapshot.clock_offset_ms,
            });
        })
    };
    html! {
        <details class="kd-full-reset" data-testid="full-reset-section" {ontoggle}>
            <summary>{ "Full reset (last resort)" }</summary>
            <p>{ "Only if the targeted cleanup did not clear the 409. This empties site/deployments \
                  after backing it up, as the official runbook's last step does." }</p>
            if let Some(reason) = &plan.not_offered {
                <p data-testid="full-reset-not-offered">{ format!("Not offered: {reason}") }</p>
            }
            <p><strong>{ "You lose: " }</strong></p>
            <ul data-testid="full-reset-loses">
                { for plan.loses.iter().map(|item| html! { <li>{ item }</li> }) }
            </ul>
            <p><strong>{ "Kept: " }</strong></p>
            <ul data-testid="full-reset-keeps">
                { for plan.keeps.iter().map(|item| html! { <li>{ item }</li> }) }
            </ul>
            <fieldset class="kd-options">
                <legend>{ "Also delete (off unless you tick them)" }</legend>
                { option_box("tools/ (deploy script cache and your PostDeploymentActions scripts)", "full-reset-tools",
                    |o| o.include_tools, |o, v| o.include_tools = v) }
                { option_box("settings.xml (Kudu-side settings such as the branch)", "full-reset-settings",
                    |o| o.include_settings, |o, v| o.include_settings = v) }
                { option_box("active and the active deployment (its manifest: the next deployment cannot remove old files)",
                    "full-reset-active", |o| o.include_active, |o, v| o.include_active = v) }
            </fieldset>
            if offered {
                <p class="kd-meta">{ format!("{} requests: the backup first, then {} deletes.",
                    plan.steps.len(),
                    plan.steps.iter().filter(|s| s.kind.is_destructive()).count()) }</p>
                <button type="button" class="kd-danger-button" data-testid="full-reset"
                    disabled={running} onclick={open} ref={button.clone()}>
                    { "Full reset…" }
                </button>
                if *confirming {
                    <div class="kd-confirm kd-confirm-danger" role="alertdialog" aria-modal="false"
                        aria-labelledby="kd-reset-title" {onkeydown}>
                        <h4 id="kd-reset-title">{ "Type the site name to confirm the full reset" }</h4>
                        <label>
                            { "Site name: " }<code>{ props.site_name.to_string() }</code>
                            <input ref={input} type="text" data-testid="full-reset-name"
                                autocomplete="off" spellcheck="false" value={(*typed).clone()} {oninput} />
                        </label>
                        if let Some(statement) = &plan.requires_acknowledgement {
                            { acknowledgement_check(statement, *acknowledged, acknowledge_callback(gate, &acknowledged)) }
                        }
                        <div class="kd-confirm-actions">
                            <button type="button" class="kd-danger-button" data-testid="full-reset-confirm"
                                disabled={confirmation.is_none() || running
                                    || (plan.requires_acknowledgement.is_some() && !*acknowledged)}
                                onclick={run}>
                                { "Back up, then empty site/deployments" }
                            </button>
                            <button type="button" class="kd-button" onclick={cancel.reform(|_: MouseEvent| ())}>
                                { "Cancel" }
                            </button>
                        </div>
                    </div>
                }
            }
        </details>
    }
}
