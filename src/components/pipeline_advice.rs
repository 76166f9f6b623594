//! CI overlaps: what to change in the pipeline so deployments to one site queue up.

use yew::prelude::*;

use crate::components::copy_button::CopyButton;

#[derive(Properties, PartialEq)]
pub struct PipelineAdviceProps {
    pub advice: String,
    pub site_name: Option<String>,
}

/// The core's advice and a GitHub Actions `concurrency:` snippet.
#[component]
pub fn PipelineAdvice(props: &PipelineAdviceProps) -> Html {
    let snippet = concurrency_snippet(props.site_name.as_deref());
    html! {
        <div data-testid="pipeline-advice">
            <h3>{ "Serialise your deployments" }</h3>
            <p>{ &props.advice }</p>
            <p>{ "In GitHub Actions, put this at the top of the workflow (or on the deploy job). \
                  It queues a new run behind the running one instead of cancelling it, because a \
                  deployment cancelled half-way is itself a cause of 409s:" }</p>
            <pre class="kd-snippet"><code>{ snippet.clone() }</code></pre>
            <CopyButton text={snippet} what="the concurrency snippet" />
            <p class="kd-meta">{ "Azure Pipelines: one deployment job per environment with an exclusive lock check; other CI: one deploy stage at a time." }</p>
        </div>
    }
}

fn concurrency_snippet(site_name: Option<&str>) -> String {
    // The name goes into the user's workflow file: only a plain App Service name is used.
    let site_name = site_name.filter(|name| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    let group = site_name.map_or_else(
        || "deploy-${{ github.workflow }}".to_string(),
        |name| format!("deploy-{name}"),
    );
    format!("concurrency:\n  group: {group}\n  cancel-in-progress: false\n")
}
