//! The targeted cleanup plan, step by step: what, the exact request, what is re-checked first,
//! what it should achieve and its risk. Running it is the next version's work, so the button
//! is present but disabled.

use std::rc::Rc;

use kudu_core::{CleanupPlan, Step};
use yew::prelude::*;

use crate::runbook::{describe_precondition, step_title};

#[derive(Properties, PartialEq)]
pub struct CleanupPlanProps {
    pub plan: Rc<CleanupPlan>,
}

/// `data-testid="plan"` with one `data-step-kind` item per step.
#[component]
pub fn CleanupPlanView(props: &CleanupPlanProps) -> Html {
    let plan = &props.plan;
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
                        <summary>{ format!("{} more steps", plan.steps.len() - STEPS_SHOWN) }</summary>
                        <ol class="kd-plan-steps" start={(STEPS_SHOWN + 1).to_string()}>
                            { for plan.steps.iter().skip(STEPS_SHOWN).map(step_view) }
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
            if !plan.steps.is_empty() {
                <button type="button" class="kd-primary-button" disabled=true
                    aria-describedby="kd-plan-later">
                    { "Back up and clean up" }
                </button>
                <p class="kd-meta" id="kd-plan-later">
                    { "Running this plan from the wizard, with a backup first, comes in the next version. \
                       Until then these are the exact requests it will send." }
                </p>
            }
        </div>
    }
}

/// Steps listed before the rest fold away (a site can have hundreds of `temp-*` folders).
const STEPS_SHOWN: usize = 8;

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
    html! {
        <p>
            { format!("{title}: ") }
            { items.join("; ") }
        </p>
    }
}

fn step_kind_id(kind: kudu_core::StepKind) -> &'static str {
    match kind {
        kudu_core::StepKind::Backup => "backup",
        kudu_core::StepKind::DeleteFile => "delete-file",
        kudu_core::StepKind::DeleteDir => "delete-dir",
        kudu_core::StepKind::RestartKudu => "restart-kudu",
        kudu_core::StepKind::RestartAppWorker => "restart-app-worker",
        kudu_core::StepKind::Verify => "verify",
    }
}
