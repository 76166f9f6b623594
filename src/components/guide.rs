//! Step 4: the guided path for the leading cause, in runbook order (wait → restart → targeted
//! cleanup → full reset), each recommendation with what to do on this site.

use std::rc::Rc;

use kudu_core::diagnose::prevention::{self, DeployTool, Prevention};
use kudu_core::plan::CleanupPlan;
use kudu_core::{CauseId, Recommendation};
use yew::prelude::*;

use crate::cause_titles::cause_title;
use crate::components::cleanup_plan::CleanupPlanView;
use crate::components::full_reset::FullResetSection;
use crate::components::pipeline_advice::PipelineAdvice;
use crate::components::restart_advice::{restart_app_advice, restart_kudu_advice};
use crate::components::wait_advice::WaitAdvice;
use crate::hooks::CleanupHandle;
use crate::report_text::site_prevention;
use crate::round::Snapshot;
use crate::runbook::runbook;

#[derive(Properties, PartialEq)]
pub struct GuideProps {
    pub snapshot: Rc<Snapshot>,
    /// The wizard re-reads the site every few seconds.
    pub polling: bool,
    pub scm_origin: AttrValue,
    pub cleanup: CleanupHandle,
    /// The site's name (`WEBSITE_SITE_NAME`, else the SCM host's first label).
    pub site_name: AttrValue,
}

/// `data-testid="guide"` with one `data-recommendation` item per step.
#[component]
pub fn Guide(props: &GuideProps) -> Html {
    // The snapshot's own copy, shared: the plan view's props then compare by pointer.
    let cleanup_plan = props.snapshot.plan.clone();
    let prevention = use_memo(
        (
            props.snapshot.clone(),
            props.site_name.clone(),
            props.scm_origin.clone(),
        ),
        |(snapshot, site_name, scm_origin)| site_prevention(snapshot, site_name, scm_origin),
    );
    let Some(primary) = props.snapshot.diagnosis.primary() else {
        return html! {
            <section class="kd-section" data-testid="guide" tabindex="-1" aria-label="What to do">
                <h2>{ "What to do" }</h2>
                <p>{ "Nothing to do until a cause is known. Refresh to read the site again." }</p>
            </section>
        };
    };
    let steps = runbook(primary);
    // Where a deployment really runs, only the wait helps: no cleanup of any kind.
    let has_cleanup = steps.contains(&Recommendation::TargetedCleanup)
        && primary.cause != CauseId::DeploymentInProgress;
    // How long to wait after a cancel, and the CI guard, belong with the wait step; when the
    // cause only comes from history there is none, so they stand on their own.
    let cancel_without_wait = primary.cause == CauseId::CancelledThenRetried
        && !steps
            .iter()
            .any(|step| matches!(step, Recommendation::Wait { .. }));
    // The history names colliding tools but the leading cause has no pipeline step (a
    // deployment still runs, say): the prevention still belongs on the page.
    let prevention_apart = prevention.is_specific()
        && !steps
            .iter()
            .any(|step| matches!(step, Recommendation::FixPipeline { .. }));
    html! {
        <section class="kd-section" data-testid="guide" data-for-cause={primary.cause.as_str()}
            tabindex="-1" aria-label="What to do">
            <h2>{ "What to do" }</h2>
            <p class="kd-meta">{ format!("For: {}", cause_title(primary.cause)) }</p>
            if steps.is_empty() {
                <p>{ "Nothing blocks a deployment right now: deploy again." }</p>
            } else {
                <ol class="kd-runbook">
                    { for steps.iter().enumerate().map(|(index, step)| html! {
                        <li key={step_key(&steps, index)} class="kd-runbook-step"
                            data-recommendation={kind_id(step)}>
                            { step_view(step, props, &prevention, &cleanup_plan) }
                        </li>
                    }) }
                    if has_cleanup {
                        <li class="kd-runbook-step" data-recommendation="full-reset">
                            <FullResetSection snapshot={props.snapshot.clone()}
                                cleanup={props.cleanup.clone()} site_name={props.site_name.clone()} />
                        </li>
                    }
                </ol>
            }
            if cancel_without_wait {
                <div class="kd-retry" data-testid="retry-advice">
                    <WaitAdvice until={None::<kudu_core::Timestamp>}
                        reason={"A cancelled run can hold the deployment lock after its client gave up."}
                        polling={props.polling} clock_offset_ms={props.snapshot.clock_offset_ms}
                        retry={prevention::retry_wait(&props.snapshot.diagnosis)}
                        guard_snippet={Some(prevention::guard_snippet(Some(&props.scm_origin), guard_tool(&prevention)))} />
                </div>
            }
            if prevention_apart {
                <div class="kd-prevention" data-testid="prevention">
                    <PipelineAdvice advice={String::new()} site_name={Some(props.site_name.to_string())}
                        prevention={prevention.clone()} />
                </div>
            }
        </section>
    }
}

fn step_view(
    step: &Recommendation,
    props: &GuideProps,
    prevention: &Rc<Prevention>,
    cleanup_plan: &Rc<CleanupPlan>,
) -> Html {
    let snapshot = &props.snapshot;
    let after_cancel = snapshot
        .diagnosis
        .primary()
        .is_some_and(|finding| finding.cause == CauseId::CancelledThenRetried);
    match step {
        Recommendation::Wait { until, reason } => {
            let (retry, guard_snippet) = if after_cancel {
                (
                    prevention::retry_wait(&snapshot.diagnosis),
                    Some(prevention::guard_snippet(
                        Some(&props.scm_origin),
                        guard_tool(prevention),
                    )),
                )
            } else {
                (None, None)
            };
            html! {
                <WaitAdvice until={*until} reason={reason.clone()} polling={props.polling}
                    clock_offset_ms={snapshot.clock_offset_ms} {retry} {guard_snippet} />
            }
        }
        Recommendation::ChangeSetting { key, advice } => html! {
            <>
                <h3>{ "Change an app setting" }</h3>
                <p><code>{ key }</code>{ ": " }{ advice }</p>
            </>
        },
        Recommendation::FixPipeline { advice } => html! {
            <PipelineAdvice advice={advice.clone()} site_name={Some(props.site_name.to_string())}
                prevention={prevention.clone()}
                guard_shown_elsewhere={after_cancel} />
        },
        Recommendation::Redeploy { advice } => html! {
            <><h3>{ "Deploy again" }</h3><p>{ advice }</p></>
        },
        Recommendation::RestartKudu => restart_kudu_advice(),
        Recommendation::RestartApp => restart_app_advice(
            &snapshot.site,
            &props.site_name,
            snapshot.diagnosis.personality,
        ),
        Recommendation::TargetedCleanup => {
            // Where a deployment really runs, only the wait helps: never offer the cleanup.
            let may_run = snapshot
                .diagnosis
                .primary()
                .is_some_and(|finding| finding.cause != CauseId::DeploymentInProgress);
            html! {
                <CleanupPlanView plan={cleanup_plan.clone()} snapshot={snapshot.clone()}
                    cleanup={props.cleanup.clone()} site_name={props.site_name.clone()} {may_run} />
            }
        }
        Recommendation::SignIn => html! {
            <>
                <h3>{ "Sign in to the SCM site again" }</h3>
                <p>
                    <a href={format!("{}/", props.scm_origin)} target="_blank" rel="noopener noreferrer">
                        { "Open the SCM site in a new tab" }
                    </a>
                    { ", sign in, then come back and refresh." }
                </p>
            </>
        },
        Recommendation::LookElsewhere { advice } => html! {
            <><h3>{ "Look outside Kudu" }</h3><p>{ advice }</p></>
        },
    }
}

/// The CI whose step syntax the guard is written in: Azure DevOps when that is what the
/// cancelled run came from, else GitHub Actions.
fn guard_tool(prevention: &Prevention) -> DeployTool {
    let devops = prevention
        .cancelled
        .iter()
        .any(|c| c.cancelled.tool == DeployTool::AzureDevOps);
    if devops {
        DeployTool::AzureDevOps
    } else {
        DeployTool::GitHubActions
    }
}

/// A key that follows a recommendation when a refined diagnosis adds or drops steps before
/// it, so that its component (an open cleanup confirmation, say) is kept, not rebuilt: the
/// kind, and which of that kind it is.
fn step_key(steps: &[Recommendation], index: usize) -> String {
    let kind = kind_id(&steps[index]);
    let earlier = steps[..index]
        .iter()
        .filter(|step| kind_id(step) == kind)
        .count();
    format!("{kind}-{earlier}")
}

/// The `data-recommendation` value of a step.
fn kind_id(step: &Recommendation) -> &'static str {
    match step {
        Recommendation::Wait { .. } => "wait",
        Recommendation::ChangeSetting { .. } => "change-setting",
        Recommendation::TargetedCleanup => "targeted-cleanup",
        Recommendation::RestartKudu => "restart-kudu",
        Recommendation::RestartApp => "restart-app",
        Recommendation::FixPipeline { .. } => "fix-pipeline",
        Recommendation::Redeploy { .. } => "redeploy",
        Recommendation::SignIn => "sign-in",
        Recommendation::LookElsewhere { .. } => "look-elsewhere",
    }
}
