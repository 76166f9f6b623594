//! One cause: headline, the core's summary, confidence and the evidence with its source.

use kudu_core::Finding;
use yew::prelude::*;

use crate::cause_titles::{cause_title, confidence_word};

#[derive(Properties, PartialEq)]
pub struct FindingCardProps {
    pub finding: Finding,
    /// The leading cause: `data-primary="true"`.
    pub primary: bool,
}

/// An `<li data-cause="…">` in the findings list.
#[component]
pub fn FindingCard(props: &FindingCardProps) -> Html {
    let finding = &props.finding;
    let confidence = confidence_word(finding.confidence);
    html! {
        <li
            class={classes!("kd-finding", props.primary.then_some("kd-primary"))}
            data-cause={finding.cause.as_str()}
            data-primary={props.primary.then_some("true")}
            data-confidence={confidence}
        >
            <h3 class="kd-finding-title">
                if props.primary {
                    <span class="kd-lead">{ "Main cause: " }</span>
                }
                { cause_title(finding.cause) }
            </h3>
            <p class="kd-confidence">
                <span class={classes!("kd-badge", format!("kd-confidence-{confidence}"))}>
                    { format!("{confidence} confidence") }
                </span>
                <code class="kd-cause-id">{ finding.cause.as_str() }</code>
            </p>
            if !finding.summary.is_empty() {
                <p class="kd-summary">{ &finding.summary }</p>
            }
            if !finding.evidence.is_empty() {
                <details class="kd-evidence" open={props.primary}>
                    <summary>{ format!("Evidence ({})", finding.evidence.len()) }</summary>
                    <ul data-testid="evidence">
                        { for finding.evidence.iter().map(|evidence| html! {
                            <li>
                                <span class="kd-fact">{ &evidence.fact }</span>
                                { " " }
                                <code class="kd-source">{ &evidence.source }</code>
                            </li>
                        }) }
                    </ul>
                </details>
            }
        </li>
    }
}
