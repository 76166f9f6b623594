//! "Wait": why, until when the lock lets go by itself (counting down), and that the wizard is
//! watching. After a cancelled run (`cancelled-then-retried`) also how long to wait on this OS
//! and the `kudu-doctor wait` step that keeps CI from retrying into the lock.

use kudu_core::Timestamp;
use kudu_core::diagnose::prevention::RetryWait;
use yew::prelude::*;

use crate::components::copy_button::CopyButton;
use crate::hooks::{POLL_INTERVAL_MS, use_clock};
use crate::time_text;

#[derive(Properties, PartialEq)]
pub struct WaitAdviceProps {
    pub until: Option<Timestamp>,
    pub reason: String,
    pub polling: bool,
    /// Server clock minus browser clock.
    pub clock_offset_ms: i64,
    /// After a cancel: how long to wait on this OS.
    #[prop_or_default]
    pub retry: Option<RetryWait>,
    /// After a cancel: the CI step that waits for the site (`kudu_core`'s guard snippet).
    #[prop_or_default]
    pub guard_snippet: Option<String>,
}

#[component]
pub fn WaitAdvice(props: &WaitAdviceProps) -> Html {
    let until = props
        .until
        .or_else(|| props.retry.as_ref().and_then(|r| r.until));
    let now = use_clock(until.is_some(), props.clock_offset_ms);
    html! {
        <>
            <h3>{ "Wait" }</h3>
            <p>{ &props.reason }</p>
            if let Some(retry) = &props.retry {
                <p data-testid="retry-wait">{ &retry.advice }</p>
            }
            if let Some(until) = until {
                <p data-testid="wait-until">
                    { format!(
                        "The lock lets go by itself at {} ({}).",
                        time_text::clock_utc(until),
                        if now < until {
                            format!("in {}", time_text::countdown(now.secs_until(until)))
                        } else {
                            "now".to_string()
                        },
                    ) }
                </p>
            }
            if props.polling {
                <p class="kd-meta">
                    { format!("Watching: this page checks again every {} s and tells you when the lock is gone.", POLL_INTERVAL_MS / 1000) }
                </p>
            }
            if let Some(snippet) = &props.guard_snippet {
                <div data-testid="ci-guard">
                    <h4>{ "Keep CI from retrying into the lock" }</h4>
                    <p>{ "Add this step right before the deploy step. kudu-doctor wait blocks until \
                          nothing is deploying and no live lock is held, and fails after 15 minutes \
                          with what still holds the site, so a re-run never lands on a cancelled \
                          run's lock. Credentials come from KUDU_USERNAME and KUDU_PASSWORD (or \
                          KUDU_BEARER_TOKEN); the README's \"Use it in CI\" section has the Azure \
                          DevOps step too." }</p>
                    <pre class="kd-snippet"><code>{ snippet }</code></pre>
                    <CopyButton text={snippet.clone()} what="the CI guard step" />
                </div>
            }
        </>
    }
}
