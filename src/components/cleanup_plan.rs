//! The targeted cleanup plan, step by step (what, the exact request, what is re-checked first,
//! what it should achieve and its risk), and the way to run it: the `cleanup` button opens a
//! confirmation (`role="alertdialog"`) that lists exactly what is backed up and deleted; its
//! `confirm` button starts the run. Both act only on trusted input ([`TrustGate`]); Escape or
//! Cancel closes the confirmation and gives focus back to the `cleanup` button.

use std::rc::Rc;

use kudu_core::cleanup::Acknowledgement;
use kudu_core::{CleanupPlan, Step, StepKind};
use web_sys::HtmlElement;
use yew::prelude::*;

use crate::hooks::{CleanupHandle, CleanupStart};
use crate::round::Snapshot;
use crate::runbook::{describe_precondition, step_title};
use crate::trusted_input::TrustGate;

#[derive(Properties, PartialEq)]
pub struct CleanupPlanProps {
    pub plan: Rc<CleanupPlan>,
    /// The round the plan came from (the run's "before" and its clock).
    pub snapshot: Rc<Snapshot>,
    pub cleanup: CleanupHandle,
    /// Names the backup file.
    pub site_name: AttrValue,
    /// False where only waiting helps (a deployment is really running).
    pub may_run: bool,
}

/// `data-testid="plan"` with one `data-step-kind` item per step.
#[component]
pub fn CleanupPlanView(props: &CleanupPlanProps) -> Html {
    let plan = &props.plan;
    let gate = use_context::<TrustGate>().unwrap_or_default();
    let confirming = use_state(|| false);
    let include_app = use_state(|| false);
    let acknowledged = use_state(|| false);
    let button = use_node_ref();
    let dialog = use_node_ref();
    // The folded steps' indices, made once per plan: a fresh list each render made every
    // publication of a running cleanup (4 a second) re-render hundreds of plan steps.
    let folded_steps = use_memo(plan.clone(), |plan| {
        Rc::new((STEPS_SHOWN..plan.steps.len()).collect::<Vec<_>>())
    });
    let confirm_steps = use_memo((plan.clone(), *include_app), |(plan, include_app)| {
        Rc::new(
            plan.steps
                .iter()
                .enumerate()
                .filter(|(_, s)| s.kind.is_destructive() && (!s.optional || *include_app))
                .map(|(index, _)| index)
                .collect::<Vec<_>>(),
        )
    });
    {
        let dialog = dialog.clone();
        use_effect_with(*confirming, move |open| {
            if *open && let Some(dialog) = dialog.cast::<HtmlElement>() {
                let _ = dialog.focus();
            }
        });
    }
    let running = props.cleanup.view.as_ref().is_some_and(|v| v.running());
    let offered = props.may_run && !plan.steps.is_empty() && plan.not_offered.is_none();
    // A built plan has steps or says why not; neither means it is still being built (the
    // diagnosis is shown first). The button keeps its place, disabled, so a click meant for it
    // does not land on whatever moves up, and an open confirmation comes back with the plan.
    let preparing = props.may_run && plan.steps.is_empty() && plan.not_offered.is_none();
    let open = {
        let confirming = confirming.clone();
        Callback::from(move |event: MouseEvent| {
            if gate.opens(&event) {
                confirming.set(true);
            }
        })
    };
    let close = {
        let confirming = confirming.clone();
        let button = button.clone();
        Callback::from(move |()| {
            confirming.set(false);
            if let Some(button) = button.cast::<HtmlElement>() {
                let _ = button.focus();
            }
        })
    };
    let onkeydown = {
        let close = close.clone();
        Callback::from(move |event: KeyboardEvent| {
            if event.key() == "Escape" {
                // Only the confirmation closes, not the wizard around it.
                event.stop_propagation();
                event.prevent_default();
                close.emit(());
            }
        })
    };
    let confirm = {
        let confirming = confirming.clone();
        let start = props.cleanup.start.clone();
        let snapshot = props.snapshot.clone();
        let plan = plan.clone();
        let site_name = props.site_name.clone();
        let include_app = include_app.clone();
        let acknowledged = acknowledged.clone();
        Callback::from(move |event: MouseEvent| {
            if !gate.runs(&event) {
                return;
            }
            let acknowledgement = (*acknowledged)
                .then(|| Acknowledgement::given(&plan))
                .flatten();
            if plan.requires_acknowledgement.is_some() && acknowledgement.is_none() {
                return;
            }
            confirming.set(false);
            start.emit(CleanupStart {
                plan: plan.clone(),
                site_name: site_name.to_string(),
                before: snapshot.diagnosis.clone(),
                include_optional: *include_app,
                confirmation: None,
                acknowledgement,
                clock_offset_ms: snapshot.clock_offset_ms,
            });
        })
    };
    let on_acknowledge = acknowledge_callback(gate, &acknowledged);
    let toggle_app = {
        let include_app = include_app.clone();
        Callback::from(move |event: Event| {
            let checked = event
                .target_dyn_into::<web_sys::HtmlInputElement>()
                .is_some_and(|input| input.checked());
            include_app.set(checked);
        })
    };
    let has_optional = plan.steps.iter().any(|step| step.optional);
    html! {
        <div class="kd-plan" data-testid="plan">
            <h3>{ "Targeted cleanup" }</h3>
            if let Some(reason) = &plan.not_offered {
                <p data-testid="plan-not-offered">{ format!("No cleanup is offered: {reason}") }</p>
            }
            if !plan.steps.is_empty() {
                <ol class="kd-plan-steps">
                    { for plan.steps.iter().take(STEPS_SHOWN).map(step_view) }
                </ol>
                if plan.steps.len() > STEPS_SHOWN {
                    <details class="kd-details">
                        <summary>{ more_steps_summary(&plan.steps[STEPS_SHOWN..]) }</summary>
                        <ol class="kd-plan-steps" start={(STEPS_SHOWN + 1).to_string()}>
                            <PagedSteps plan={plan.clone()} line={StepLine::Plan}
                                steps={(*folded_steps).clone()}
                                first_page={PAGE} />
                        </ol>
                    </details>
                }
            }
            { list("It removes", &plan.loses) }
            { list("It keeps", &plan.keeps) }
            { list("Done when", &plan.verify) }
            if !plan.refused.is_empty() {
                <details class="kd-details">
                    <summary>{ format!("{} listed name(s) left alone", plan.refused.len()) }</summary>
                    <ul>
                        { for plan.refused.iter().map(|refused| html! {
                            <li><code>{ format!("{}{}", refused.dir, refused.name) }</code>{ ": " }{ &refused.reason }</li>
                        }) }
                    </ul>
                </details>
            }
            if preparing {
                <button type="button" class="kd-primary-button" data-testid="cleanup-preparing"
                    disabled=true aria-busy="true">
                    { "Preparing the plan…" }
                </button>
            }
            if offered {
                <button ref={button} type="button" class="kd-primary-button" data-testid="cleanup"
                    disabled={running} aria-haspopup="dialog" onclick={open}>
                    { "Back up and clean up…" }
                </button>
                if *confirming {
                    <div ref={dialog} class="kd-confirm" role="alertdialog" aria-modal="false"
                        aria-labelledby="kd-confirm-title" aria-describedby="kd-confirm-what"
                        tabindex="-1" data-testid="confirm-panel" {onkeydown}>
                        <h4 id="kd-confirm-title">{ "Back up, then clean up?" }</h4>
                        <div id="kd-confirm-what">
                            <p>{ "First downloaded to this computer as one zip file (nothing is deleted if                                   the backup fails or looks incomplete):" }</p>
                            <ul data-testid="confirm-backups">
                                { for plan.steps.iter().filter(|s| s.kind == StepKind::Backup).map(confirm_item) }
                            </ul>
                            <p>{ "Then, after the site is read again and nothing changed:" }</p>
                            <ul data-testid="confirm-deletes">
                                <PagedSteps plan={plan.clone()} line={StepLine::Confirm}
                                    steps={(*confirm_steps).clone()}
                                    first_page={CONFIRM_SHOWN} />
                            </ul>
                        </div>
                        if has_optional {
                            <label class="kd-check">
                                <input type="checkbox" data-testid="restart-app" checked={*include_app}
                                    onchange={toggle_app} />
                                { " Also restart the app (its worker process; the site is briefly unavailable)" }
                            </label>
                        }
                        if let Some(statement) = &plan.requires_acknowledgement {
                            { acknowledgement_check(statement, *acknowledged, on_acknowledge) }
                        }
                        <div class="kd-confirm-actions">
                            <button type="button" class="kd-danger-button" data-testid="confirm"
                                disabled={plan.requires_acknowledgement.is_some() && !*acknowledged}
                                onclick={confirm}>
                                { "Back up and clean up" }
                            </button>
                            <button type="button" class="kd-button" data-testid="cancel"
                                onclick={close.reform(|_: MouseEvent| ())}>
                                { "Cancel" }
                            </button>
                        </div>
                    </div>
                }
            }
        </div>
    }
}

/// The statement a plan resting on weak evidence asks the user to confirm, as a checkbox
/// (`data-testid="ack-no-deployment"`) that only a trusted click ticks.
pub fn acknowledgement_check(
    statement: &str,
    checked: bool,
    onclick: Callback<MouseEvent>,
) -> Html {
    html! {
        <div class="kd-warn" data-testid="acknowledgement">
            <p><strong>{ "Only silence says this deployment stopped." }</strong>
                { " A quiet build looks the same. Check your pipelines first." }</p>
            <label class="kd-check">
                <input type="checkbox" data-testid="ack-no-deployment" {checked} {onclick} />
                { " " }{ statement }
            </label>
        </div>
    }
}

/// Ticks or clears the acknowledgement on a trusted click only: a script on the page cannot
/// give the user's word (its click is cancelled, so the box does not change either).
pub fn acknowledge_callback(
    gate: TrustGate,
    acknowledged: &UseStateHandle<bool>,
) -> Callback<MouseEvent> {
    let acknowledged = acknowledged.clone();
    Callback::from(move |event: MouseEvent| {
        if !gate.runs(&event) {
            event.prevent_default();
            return;
        }
        let checked = event
            .target_dyn_into::<web_sys::HtmlInputElement>()
            .is_some_and(|input| input.checked());
        acknowledged.set(checked);
    })
}

/// One line of the confirmation: the exact request and its risk.
fn confirm_item(step: &Step) -> Html {
    html! {
        <li data-step-kind={step_kind_id(step.kind)}>
            <code class="kd-request">{ format!("{} {}", step.request.method, step.request.path) }</code>
            { " \u{2014} " }{ step_title(step.kind) }
            <span class="kd-risk">{ " Risk: " }{ &step.risk }</span>
        </li>
    }
}

/// Steps listed before the rest fold away (a site can have hundreds of `temp-*` folders).
const STEPS_SHOWN: usize = 8;
/// Folded steps drawn at first, and per "show more": a site with thousands of leftover folders
/// must not put tens of thousands of elements on the page.
const PAGE: usize = 400;
/// Destructive steps the confirmation lists before its own "show more".
const CONFIRM_SHOWN: usize = 40;
/// Items of "It removes" listed before the count of the rest.
const LOSES_SHOWN: usize = 10;

/// How a [`PagedSteps`] item reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StepLine {
    /// The plan's full step ([`step_view`]).
    Plan,
    /// The confirmation's one line ([`confirm_item`]).
    Confirm,
}

#[derive(Properties)]
pub struct PagedStepsProps {
    pub plan: Rc<CleanupPlan>,
    /// Indices into `plan.steps`, in the order listed.
    pub steps: Rc<Vec<usize>>,
    pub line: StepLine,
    /// How many are listed before the first "show more".
    pub first_page: usize,
}

impl PartialEq for PagedStepsProps {
    /// The same plan and list are the same shared copies: compared by pointer first, since
    /// comparing a plan of thousands of steps field by field costs almost what rendering does.
    fn eq(&self, other: &Self) -> bool {
        (Rc::ptr_eq(&self.plan, &other.plan) || self.plan == other.plan)
            && (Rc::ptr_eq(&self.steps, &other.steps) || self.steps == other.steps)
            && self.line == other.line
            && self.first_page == other.first_page
    }
}

/// `<li>` items for some of a plan's steps, a page at a time: the rest behind a
/// `data-testid="more-steps"` button that lists [`PAGE`] more.
#[component]
pub fn PagedSteps(props: &PagedStepsProps) -> Html {
    let shown = use_state(|| props.first_page);
    let listed = props.steps.len().min(*shown);
    let left = props.steps.len() - listed;
    let more = {
        let shown = shown.clone();
        Callback::from(move |_: MouseEvent| shown.set(*shown + PAGE))
    };
    html! {
        <>
            { for props.steps[..listed].iter().filter_map(|&index| props.plan.steps.get(index)).map(|step| match props.line {
                StepLine::Plan => step_view(step),
                StepLine::Confirm => confirm_item(step),
            }) }
            if left > 0 {
                <li class="kd-more">
                    <button type="button" class="kd-button" data-testid="more-steps" onclick={more}>
                        { format!("Show {} more ({left} not listed yet)", left.min(PAGE)) }
                    </button>
                </li>
            }
        </>
    }
}

/// "4,992 more steps", with what most of them do when they are alike.
fn more_steps_summary(rest: &[Step]) -> String {
    let dirs = rest
        .iter()
        .filter(|step| step.kind == StepKind::DeleteDir)
        .count();
    if dirs * 2 > rest.len() && rest.len() > STEPS_SHOWN {
        format!(
            "{} more steps ({dirs} of them delete a leftover folder)",
            rest.len()
        )
    } else {
        format!("{} more steps", rest.len())
    }
}

fn step_view(step: &Step) -> Html {
    html! {
        <li data-step-kind={step_kind_id(step.kind)}
            data-destructive={step.kind.is_destructive().then_some("true")}
            data-optional={step.optional.then_some("true")}>
            <strong>{ step_title(step.kind) }</strong>
            if step.optional { { " (optional)" } }
            { " " }
            <code class="kd-request">{ format!("{} {}", step.request.method, step.request.path) }</code>
            <p>{ "Checked first: " }{ describe_precondition(&step.precondition) }</p>
            if !step.expect.is_empty() {
                <p>{ "Expected: " }{ &step.expect }</p>
            }
            <p class="kd-risk">{ "Risk: " }{ &step.risk }</p>
        </li>
    }
}

fn list(title: &str, items: &[String]) -> Html {
    if items.is_empty() {
        return html! {};
    }
    let listed = items[..items.len().min(LOSES_SHOWN)].join("; ");
    let rest = items.len().saturating_sub(LOSES_SHOWN);
    html! {
        <p>
            { format!("{title}: ") }
            { listed }
            if rest > 0 {
                { format!("; and {rest} more") }
            }
        </p>
    }
}

pub fn step_kind_id(kind: kudu_core::StepKind) -> &'static str {
    match kind {
        kudu_core::StepKind::Backup => "backup",
        kudu_core::StepKind::DeleteFile => "delete-file",
        kudu_core::StepKind::DeleteDir => "delete-dir",
        kudu_core::StepKind::RestartKudu => "restart-kudu",
        kudu_core::StepKind::RestartAppWorker => "restart-app-worker",
        kudu_core::StepKind::Verify => "verify",
    }
}
