//! Step 1: the causes found, the leading one first.

use kudu_core::Diagnosis;
use yew::prelude::*;

use crate::components::copy_button::CopyButton;
use crate::components::finding_card::finding_card;
use crate::report_text::diagnosis_text;
use crate::time_text;

/// `data-testid="diagnosis"` with one `data-cause` element per finding. A view function, not a
/// component (no state; see `step_nav`).
pub fn diagnosis_panel(diagnosis: &Diagnosis) -> Html {
    html! {
        <section
            class="kd-section"
            data-testid="diagnosis"
            data-personality={personality_id(diagnosis.personality)}
            tabindex="-1"
            aria-label="Diagnosis"
        >
            <h2>{ "Diagnosis" }</h2>
            <p class="kd-meta">
                { format!(
                    "{} · read {}",
                    personality_words(diagnosis.personality),
                    time_text::clock_secs_utc(diagnosis.now),
                ) }
            </p>
            if diagnosis.findings.is_empty() {
                <p>{ "Nothing Kudu answered points to a cause. Refresh to read the site again." }</p>
            } else {
                <ol class="kd-findings">
                    { for diagnosis.findings.iter().enumerate().map(|(index, finding)| finding_card(finding, index == 0)) }
                </ol>
                <p>
                    <CopyButton text={diagnosis_text(diagnosis)} what="the diagnosis as text"
                        label="Copy the diagnosis as text" />
                </p>
            }
        </section>
    }
}

fn personality_id(personality: kudu_core::Personality) -> &'static str {
    match personality {
        kudu_core::Personality::Linux => "linux",
        kudu_core::Personality::Windows => "windows",
        kudu_core::Personality::Unknown => "unknown",
    }
}

fn personality_words(personality: kudu_core::Personality) -> &'static str {
    match personality {
        kudu_core::Personality::Linux => "App Service on Linux (KuduLite)",
        kudu_core::Personality::Windows => "App Service on Windows (Kudu)",
        kudu_core::Personality::Unknown => "Kudu (Linux or Windows not known)",
    }
}
