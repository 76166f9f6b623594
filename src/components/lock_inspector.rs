//! Step 3: who holds the deployment lock, since and until when (a live countdown on Linux),
//! and whether it is live, expired, orphaned or held; the other lock files and what they mean.

use std::rc::Rc;

use kudu_core::Personality;
use kudu_core::diagnose::{LockReport, LockState};
use yew::prelude::*;

use crate::hooks::use_clock;
use crate::time_text;

#[derive(Properties, PartialEq)]
pub struct LockInspectorProps {
    pub lock: Rc<LockReport>,
    pub personality: Personality,
    /// Server clock minus browser clock.
    pub clock_offset_ms: i64,
}

/// `data-testid="lock"` with `data-lock-state`.
#[component]
pub fn LockInspector(props: &LockInspectorProps) -> Html {
    let lock = &props.lock;
    let linux_countdown = props.personality != Personality::Windows && lock.expires.is_some();
    let now = use_clock(linux_countdown, props.clock_offset_ms);
    let explanation = if lock.explanation.is_empty() {
        default_explanation(lock.state).to_string()
    } else {
        lock.explanation.clone()
    };
    let worker = match (&lock.worker, lock.pid) {
        (Some(worker), Some(pid)) => Some(format!("{worker} (pid {pid})")),
        (Some(worker), None) => Some(worker.clone()),
        (None, Some(pid)) => Some(format!("pid {pid}")),
        (None, None) => None,
    };
    let has_facts = lock.holder_operation.is_some()
        || worker.is_some()
        || lock.acquired.is_some()
        || (linux_countdown && lock.expires.is_some());
    html! {
        <section class="kd-section" data-testid="lock" data-lock-state={state_id(lock.state)}
            tabindex="-1" aria-label="Lock">
            <h2>{ "Lock" }</h2>
            <p class="kd-lock-state">
                <span class={classes!("kd-badge", format!("kd-lock-{}", state_id(lock.state)))}>
                    { state_id(lock.state) }
                </span>
                { " " }
                { explanation }
            </p>
            if lock.state != LockState::Free && has_facts {
                <dl class="kd-facts">
                    if let Some(holder) = &lock.holder_operation {
                        <dt>{ "Held for" }</dt>
                        <dd>{ holder }</dd>
                    }
                    if let Some(worker) = &worker {
                        <dt>{ "Worker" }</dt>
                        <dd>{ worker }</dd>
                    }
                    if let Some(acquired) = lock.acquired {
                        <dt>{ "Since" }</dt>
                        <dd>{ format!("{} ({})", time_text::date_time_utc(acquired), time_text::relative(acquired, now)) }</dd>
                    }
                    if let Some(expires) = lock.expires.filter(|_| linux_countdown) {
                        <dt>{ "Until" }</dt>
                        <dd>
                            { time_text::date_time_utc(expires) }
                            { " " }
                            { countdown_view(now.secs_until(expires)) }
                        </dd>
                    }
                </dl>
            }
            // The core's explanation already says this when it has one.
            if props.personality == Personality::Windows && lock.explanation.is_empty() {
                <p class="kd-note" data-testid="windows-lock">
                    { if lock.windows_lock_file {
                        "deployments.lock is listed in site/locks. "
                    } else {
                        "deployments.lock is not listed in site/locks. "
                    } }
                    { "On Windows, Kudu keeps that file open for as long as a deployment runs, so \
                       a listed lock means a live Kudu process holds it; it cannot be deleted, \
                       and it goes away when the deployment ends or Kudu restarts." }
                </p>
            }
            if !lock.others.is_empty() {
                <h3>{ "Other lock files" }</h3>
                <ul class="kd-other-locks">
                    { for lock.others.iter().map(|other| html! {
                        <li data-lock-name={other.name.clone()} data-blocking={other.blocking.then_some("true")}>
                            <code>{ &other.name }</code>
                            if other.blocking { <span class="kd-badge kd-lock-live">{ "blocking" }</span> }
                            { other.modified.map(|at| format!(" · changed {} ·", time_text::relative(at, now))).unwrap_or_else(|| " ·".to_string()) }
                            { " " }
                            { &other.meaning }
                        </li>
                    }) }
                </ul>
            }
        </section>
    }
}

fn countdown_view(secs_left: i64) -> Html {
    let text = if secs_left > 0 {
        format!("{} left", time_text::countdown(secs_left))
    } else {
        format!("expired {} ago", time_text::duration(-secs_left))
    };
    html! {
        <span class="kd-countdown" data-testid="lock-countdown" data-secs-left={secs_left.to_string()}
            role="timer" aria-live="off">
            { text }
        </span>
    }
}

/// The stable id of a lock state (`data-lock-state`, badge text).
pub fn state_id(state: LockState) -> &'static str {
    match state {
        LockState::Free => "free",
        LockState::Live => "live",
        LockState::Expired => "expired",
        LockState::Orphaned => "orphaned",
        LockState::Held => "held",
        LockState::Unknown => "unknown",
    }
}

fn default_explanation(state: LockState) -> &'static str {
    match state {
        LockState::Free => "No deployment lock is held.",
        LockState::Live => "A deployment holds the lock and is making progress.",
        LockState::Expired => "The lock is past its expiry; Kudu no longer honours it.",
        LockState::Orphaned => "The lock is held, but nothing is deploying.",
        LockState::Held => "A Kudu process holds the deployment lock.",
        LockState::Unknown => "Kudu's answers were not enough to tell the lock's state.",
    }
}
