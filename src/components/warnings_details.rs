//! The core's warnings (replies it could not fully use), folded away under "Details".

use kudu_core::session::Warning;
use yew::prelude::*;

/// Nothing when there is nothing to say. A view function, not a component (no state; see
/// `step_nav`).
pub fn warnings_details(warnings: &[Warning]) -> Html {
    if warnings.is_empty() {
        return html! {};
    }
    let count = warnings.len();
    html! {
        <details class="kd-details" data-testid="warnings">
            <summary>
                { format!("Details: {count} note{} from reading the site", if count == 1 { "" } else { "s" }) }
            </summary>
            <ul>
                { for warnings.iter().map(|warning| html! {
                    <li>
                        <code class="kd-source">{ &warning.endpoint }</code>
                        { " " }
                        { &warning.reason }
                    </li>
                }) }
            </ul>
        </details>
    }
}
