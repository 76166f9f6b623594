//! One cause: headline, the core's summary, confidence and the evidence with its source.

use kudu_core::Finding;
use yew::prelude::*;

use crate::cause_titles::{cause_title, confidence_word};

/// An `<li data-cause="…">` in the findings list; `primary` (the leading cause) carries
/// `data-primary="true"`. A view function, not a component (no state; see `step_nav`).
pub fn finding_card(finding: &Finding, primary: bool) -> Html {
    let confidence = confidence_word(finding.confidence);
    html! {
        <li
            class={classes!("kd-finding", primary.then_some("kd-primary"))}
            key={finding.cause.as_str()}
            data-cause={finding.cause.as_str()}
            data-primary={primary.then_some("true")}
            data-confidence={confidence}
        >
            <h3 class="kd-finding-title">
                if primary {
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
                <details class="kd-evidence" open={primary}>
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
