//! "Wait": why, until when the lock lets go by itself (counting down), and that the wizard is
//! watching.

use kudu_core::Timestamp;
use yew::prelude::*;

use crate::hooks::{POLL_INTERVAL_MS, use_clock};
use crate::time_text;

#[derive(Properties, PartialEq)]
pub struct WaitAdviceProps {
    pub until: Option<Timestamp>,
    pub reason: String,
    pub polling: bool,
    /// Server clock minus browser clock.
    pub clock_offset_ms: i64,
}

#[component]
pub fn WaitAdvice(props: &WaitAdviceProps) -> Html {
    let now = use_clock(props.until.is_some(), props.clock_offset_ms);
    html! {
        <>
            <h3>{ "Wait" }</h3>
            <p>{ &props.reason }</p>
            if let Some(until) = props.until {
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
        </>
    }
}
