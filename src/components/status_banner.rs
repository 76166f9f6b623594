//! What the user must know before the diagnosis: loading, sign in again, reads that failed
//! (with a retry, the previous diagnosis staying on screen), the site being watched, and the
//! lock being gone.

use std::rc::Rc;

use kudu_core::CauseId;
use yew::prelude::*;

use crate::hooks::POLL_INTERVAL_MS;
use crate::kudu_http::KuduHttpError;
use crate::round::{ReadFailure, RoundFailure, Snapshot};
use crate::time_text;

/// What the banner shows.
pub struct StatusBannerProps {
    pub loading: bool,
    /// What the first round knows while it reads the logs that decide it (not a diagnosis).
    pub checking: Option<String>,
    pub failure: Option<RoundFailure>,
    /// What is on screen (possibly from an earlier round).
    pub snapshot: Option<Rc<Snapshot>>,
    pub polling: bool,
    pub lock_cleared: bool,
    pub scm_origin: AttrValue,
    pub on_retry: Callback<()>,
    pub on_dismiss: Callback<()>,
}

/// The banner. A view function, not a component (no state; see `step_nav`).
pub fn status_banner(props: &StatusBannerProps) -> Html {
    let retry = props.on_retry.reform(|_: MouseEvent| ());
    let retry_button = html! {
        <button type="button" class="kd-button" data-testid="retry" onclick={retry}
            disabled={props.loading}>
            { if props.loading { "Retrying…" } else { "Retry" } }
        </button>
    };
    // A diagnosis of this round (not one kept from before a failed refresh).
    let fresh = props.snapshot.as_ref().filter(|_| props.failure.is_none());
    let expired_read = fresh.and_then(|snapshot| {
        snapshot
            .failed_reads
            .iter()
            .find(|failure| matches!(failure.error, KuduHttpError::SessionExpired { .. }))
    });
    let primary_expired = fresh.is_some_and(|snapshot| {
        snapshot
            .diagnosis
            .primary()
            .is_some_and(|finding| finding.cause == CauseId::SessionExpired)
    });
    let other_failures = fresh
        .filter(|_| expired_read.is_none() && !primary_expired)
        .map(|snapshot| snapshot.failed_reads.as_slice())
        .filter(|failures| !failures.is_empty());
    let shown_from = props
        .snapshot
        .as_ref()
        .map(|s| time_text::clock_utc(s.diagnosis.now));
    html! {
        <div class="kd-status">
            if props.loading && props.snapshot.is_none() {
                <p class="kd-loading" data-testid="loading" role="status">
                    { props.checking.as_deref().unwrap_or("Reading this site's deployments and locks…") }
                </p>
            }
            if expired_read.is_some() || primary_expired {
                { session_expired(expired_read.map(|read| &read.endpoint), &props.scm_origin, retry_button.clone()) }
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
            } else if let Some(failures) = other_failures {
                <div class="kd-warn" data-testid="read-errors" role="status">
                    <p>{ "Some reads failed; the diagnosis below uses the others." }</p>
                    { failure_list(failures) }
                    { retry_button.clone() }
                </div>
            }
            if props.lock_cleared {
                <div class="kd-notice-ok" data-testid="lock-cleared" role="status">
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
