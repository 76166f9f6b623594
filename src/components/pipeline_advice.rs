//! Stopping the next 409: what the site's own history says collided, and the pipeline change
//! for exactly those tools. `kudu_core::diagnose::prevention` decides; this only renders it.
//! Generic advice only appears when the history names nothing specific.

use std::rc::Rc;

use kudu_core::diagnose::prevention::{self, Fix, Prevention};
use yew::prelude::*;

use crate::components::copy_button::CopyButton;

#[derive(Properties, PartialEq)]
pub struct PipelineAdviceProps {
    /// The core's advice on the finding, shown when the history names nothing specific.
    pub advice: String,
    pub site_name: Option<String>,
    pub prevention: Rc<Prevention>,
    /// The CI guard is already shown beside the wait (cancelled-then-retried): not twice.
    #[prop_or(false)]
    pub guard_shown_elsewhere: bool,
}

/// `data-testid="pipeline-advice"`, `data-specific` says whether the history named tools.
#[component]
pub fn PipelineAdvice(props: &PipelineAdviceProps) -> Html {
    let p = &props.prevention;
    if !p.is_specific() {
        return generic(props);
    }
    html! {
        <div data-testid="pipeline-advice" data-specific="true">
            <h3>{ "Stop the next 409: serialise these deployments" }</h3>
            <ul class="kd-collisions">
                { for p.collisions.iter().map(|c| html! {
                    <li data-testid="collision" data-tools={format!("{} {}", c.first.tool.as_str(), c.second.tool.as_str())}>
                        { &c.sentence }
                    </li>
                }) }
                { for p.cancelled.iter().map(|c| html! {
                    <li data-testid="cancelled-run" data-tools={c.cancelled.tool.as_str()}>{ &c.sentence }</li>
                }) }
            </ul>
            { for p.fixes.iter()
                .filter(|fix| !(props.guard_shown_elsewhere && matches!(fix, Fix::WaitGuard { .. })))
                .map(fix_view) }
        </div>
    }
}

fn fix_view(fix: &Fix) -> Html {
    let body = match fix {
        Fix::GitHubConcurrency { snippet, why } => html! {
            <>
                <h4>{ "GitHub Actions: one concurrency group for the deploy job" }</h4>
                <p>{ "Put this on every job that deploys this app (same group in every workflow):" }</p>
                { snippet_view(snippet, "the concurrency block") }
                <p>{ why }</p>
            </>
        },
        Fix::AzureDevOpsExclusiveLock {
            click_path,
            snippet,
            why,
        } => html! {
            <>
                <h4>{ "Azure DevOps: an Exclusive Lock on the environment" }</h4>
                <p>{ "In Azure DevOps open " }<strong data-testid="click-path">{ click_path }</strong>
                    { ", add the check, and let the pipeline queue instead of cancelling:" }</p>
                { snippet_view(snippet, "the lockBehavior snippet") }
                <p>{ why }</p>
            </>
        },
        Fix::OneToolAtATime { note, who_when } => html! {
            <>
                <h4>{ "Different tools deployed at once" }</h4>
                <p>{ note }</p>
                <ul data-testid="who-deployed-when">
                    { for who_when.iter().map(|line| html! { <li>{ line }</li> }) }
                </ul>
            </>
        },
        Fix::WaitGuard { snippet, why, .. } => html! {
            <>
                <h4>{ "Guard the deploy step" }</h4>
                { snippet_view(snippet, "the CI guard step") }
                <p>{ why }</p>
            </>
        },
    };
    html! { <div class="kd-fix" data-fix={fix.as_str()}>{ body }</div> }
}

fn snippet_view(snippet: &str, what: &'static str) -> Html {
    html! {
        <>
            <pre class="kd-snippet"><code>{ snippet }</code></pre>
            <CopyButton text={snippet.to_string()} {what} />
        </>
    }
}

/// No history to go on: the core's advice and a GitHub Actions `concurrency` snippet.
fn generic(props: &PipelineAdviceProps) -> Html {
    let snippet = prevention::concurrency_snippet(props.site_name.as_deref());
    html! {
        <div data-testid="pipeline-advice" data-specific="false">
            <h3>{ "Serialise your deployments" }</h3>
            <p>{ &props.advice }</p>
            <p>{ "In GitHub Actions, put this on the deploy job. It queues a new run behind the \
                  running one instead of cancelling it, because a deployment cancelled half-way \
                  is itself a cause of 409s:" }</p>
            <pre class="kd-snippet"><code>{ snippet.clone() }</code></pre>
            <CopyButton text={snippet} what="the concurrency snippet" />
            <p class="kd-meta">{ "Azure DevOps: add an Exclusive Lock check to the environment \
                (Pipelines > Environments > your environment > Approvals and checks) and set \
                lockBehavior: sequential; other CI: one deploy stage at a time." }</p>
        </div>
    }
}
