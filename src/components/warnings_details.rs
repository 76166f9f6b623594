//! The core's warnings (replies it could not fully use), folded away under "Details".

use kudu_core::session::Warning;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct WarningsDetailsProps {
    pub warnings: Vec<Warning>,
}

/// Nothing when there is nothing to say.
#[component]
pub fn WarningsDetails(props: &WarningsDetailsProps) -> Html {
    if props.warnings.is_empty() {
        return html! {};
    }
    let count = props.warnings.len();
    html! {
        <details class="kd-details" data-testid="warnings">
            <summary>
                { format!("Details: {count} note{} from reading the site", if count == 1 { "" } else { "s" }) }
            </summary>
            <ul>
                { for props.warnings.iter().map(|warning| html! {
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
