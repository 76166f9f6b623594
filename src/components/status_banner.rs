//! What the user must know before the diagnosis: loading, sign in again, reads that failed
//! (with a retry, the previous diagnosis staying on screen), the site being watched, and the
//! lock being gone.

use std::rc::Rc;

use yew::prelude::*;

use crate::hooks::POLL_INTERVAL_MS;
use crate::round::{ReadFailure, RoundFailure, Snapshot};
use crate::time_text;

#[derive(Properties, PartialEq)]
pub struct StatusBannerProps {
    pub loading: bool,
    pub failure: Option<RoundFailure>,
    /// What is on screen (possibly from an earlier round).
    pub snapshot: Option<Rc<Snapshot>>,
    pub polling: bool,
    pub lock_cleared: bool,
    pub scm_origin: AttrValue,
    pub on_retry: Callback<()>,
    pub on_dismiss: Callback<()>,
}

#[component]
pub fn StatusBanner(props: &StatusBannerProps) -> Html {
    let retry = props.on_retry.reform(|_: MouseEvent| ());
    let retry_button = html! {
        <button type="button" class="kd-button" data-testid="retry" onclick={retry}
            disabled={props.loading}>
            { if props.loading { "Retrying…" } else { "Retry" } }
        </button>
    };
    let primary_expired = props.snapshot.as_ref().is_some_and(|s| {
        s.diagnosis
            .primary()
            .is_some_and(|f| f.cause == kudu_core::CauseId::SessionExpired)
    });
    let shown_from = props
        .snapshot
        .as_ref()
        .map(|s| time_text::clock_utc(s.diagnosis.now));
    html! {
        <div class="kd-status">
            if props.loading && props.snapshot.is_none() {
                <p class="kd-loading" data-testid="loading" role="status">
                    { "Reading this site's deployments and locks…" }
                </p>
            }
            if let Some(RoundFailure::SessionExpired { endpoint }) = &props.failure {
                { session_expired(Some(endpoint), &props.scm_origin, retry_button.clone()) }
            } else if primary_expired && props.failure.is_none() {
                { session_expired(None, &props.scm_origin, retry_button.clone()) }
            }
            if let Some(RoundFailure::Unreachable { failures }) = &props.failure {
                <div class="kd-alert" data-testid="read-errors" role="alert">
                    <h2>{ "Could not read this site" }</h2>
                    { failure_list(failures) }
                    if let Some(at) = &shown_from {
                        <p class="kd-meta">{ format!("Below is what was read at {at}.") }</p>
                    }
                    { retry_button.clone() }
                </div>
            } else if let Some(snapshot) = props.snapshot.as_ref().filter(|s| !s.failed_reads.is_empty() && props.failure.is_none()) {
                <div class="kd-warn" data-testid="read-errors" role="status">
                    <p>{ "Some reads failed; the diagnosis below uses the others." }</p>
                    { failure_list(&snapshot.failed_reads) }
                    { retry_button.clone() }
                </div>
            }
            if props.lock_cleared {
                <div class="kd-success" data-testid="lock-cleared" role="status">
                    <strong>{ "The lock is gone — you can deploy again." }</strong>
                    <button type="button" class="kd-link-button" aria-label="Dismiss"
                        onclick={props.on_dismiss.reform(|_: MouseEvent| ())}>{ "Dismiss" }</button>
                </div>
            }
            if props.polling {
                <p class="kd-meta kd-watching" data-testid="polling" role="status">
                    { format!("Watching: checking again every {} s.", POLL_INTERVAL_MS / 1000) }
                </p>
            }
        </div>
    }
}

fn session_expired(endpoint: Option<&String>, scm_origin: &AttrValue, retry: Html) -> Html {
    html! {
        <div class="kd-alert" data-testid="session-expired" role="alert">
            <h2>{ "Sign in to the SCM site again" }</h2>
            <p>
                { match endpoint {
                    Some(endpoint) => format!("Kudu answered {endpoint} with a sign-in page instead of data: your session has expired."),
                    None => "Kudu asked for a new sign-in: your session has expired.".to_string(),
                } }
            </p>
            <p>
                <a class="kd-button" data-testid="sign-in" href={format!("{scm_origin}/")}
                    target="_blank" rel="noopener noreferrer">
                    { "Sign in to the SCM site again" }
                </a>
                { " " }
                { retry }
            </p>
            <p class="kd-meta">{ "It opens in a new tab; sign in there, then retry here." }</p>
        </div>
    }
}

fn failure_list(failures: &[ReadFailure]) -> Html {
    html! {
        <ul class="kd-failures">
            { for failures.iter().map(|failure| html! {
                <li><code>{ &failure.endpoint }</code>{ ": " }{ failure.error.describe() }</li>
            }) }
        </ul>
    }
}
