//! A cleanup run on screen: live progress per step, the backup download and the user's
//! confirmation that they hold it (`backup-saved`, trusted input only), the wait for Kudu,
//! every request and its answer (`data-testid="activity-log"`), and finally the outcome
//! (`data-testid="cleanup-result"`, `data-outcome` = `fixed`|`failed`|`aborted`) with the
//! diagnoses before and after side by side. Everything from Kudu is rendered as text.

use std::rc::Rc;

use kudu_core::Diagnosis;
use kudu_core::cleanup::{ActivityEntry, Outcome, StepState};
use yew::prelude::*;

use crate::cause_titles::cause_title;
use crate::components::cleanup_plan::step_kind_id;
use crate::components::lock_inspector::state_id;
use crate::hooks::CleanupView;
use crate::runbook::step_title;
use crate::time_text::clock_secs_utc;
use crate::trusted_input::TrustGate;

#[derive(Properties, PartialEq)]
pub struct CleanupRunPanelProps {
    pub view: Rc<CleanupView>,
    pub on_save_backup: Callback<()>,
    /// The user holds the backup; emitted only for trusted input.
    pub on_backup_saved: Callback<()>,
}

/// `data-testid="cleanup-run"`.
#[component]
pub fn CleanupRunPanel(props: &CleanupRunPanelProps) -> Html {
    let view = &props.view;
    let title = if view.is_full_reset() {
        "Full reset"
    } else {
        "Cleanup"
    };
    let on_save = props.on_save_backup.reform(|_: MouseEvent| ());
    let gate = use_context::<TrustGate>().unwrap_or_default();
    let on_saved = {
        let on_backup_saved = props.on_backup_saved.clone();
        Callback::from(move |event: MouseEvent| {
            // The last gate before deletes: a page script's `click()` is not the user's word.
            if gate.receives_backup(&event) {
                on_backup_saved.emit(());
            }
        })
    };
    let section = use_node_ref();
    {
        // The run follows the user's confirm: show it when it starts and when it ends.
        let section = section.clone();
        use_effect_with(view.outcome.is_some(), move |_| {
            if let Some(section) = section.cast::<web_sys::HtmlElement>() {
                let _ = section.focus();
            }
        });
    }
    let confirm_button = use_node_ref();
    {
        // The run now waits for the user: take them to the confirmation (after the effect
        // above, which focuses the section when the run first shows).
        let confirm_button = confirm_button.clone();
        use_effect_with(view.awaiting_backup_saved, move |awaiting| {
            if *awaiting && let Some(button) = confirm_button.cast::<web_sys::HtmlElement>() {
                let _ = button.focus();
            }
        });
    }
    html! {
        <section ref={section} tabindex="-1" class="kd-section kd-run" data-testid="cleanup-run"
            data-running={if view.running() { "true" } else { "false" }}
            aria-label={title} aria-busy={if view.running() { "true" } else { "false" }}>
            <h2>{ title }</h2>
            if let Some(outcome) = &view.outcome {
                { outcome_view(outcome, view) }
            } else {
                <p role="status" data-testid="cleanup-progress">{ progress_line(view) }</p>
            }
            if let Some(backup) = &view.backup {
                <div class="kd-backup" data-testid="backup-ready" data-file-name={backup.file_name.clone()}
                    data-bytes={backup.bytes.to_string()}
                    data-awaiting={if view.awaiting_backup_saved { "true" } else { "false" }}>
                    if view.awaiting_backup_saved {
                        <p id="kd-backup-note">
                            { "The backup is checked: " }<strong>{ backup.file_name.clone() }</strong>
                            { format!(" ({}). Your browser was asked to save it; a cancelled \u{201c}Save as\u{201d} or a blocked download is not reported to this page, so check your downloads for this file and size. Nothing is deleted until you confirm.", size_text(backup.bytes)) }
                        </p>
                    } else {
                        <p>{ format!("Backup {} ({}), checked and in your hands.", backup.file_name, size_text(backup.bytes)) }</p>
                    }
                    <p class="kd-actions">
                        <button type="button" class="kd-link-button" data-testid="save-backup" onclick={on_save}>
                            { "Save again" }
                        </button>
                        if view.awaiting_backup_saved && view.outcome.is_none() {
                            { " " }
                            <button type="button" ref={confirm_button} class="kd-button kd-primary-button" data-testid="backup-saved"
                                aria-describedby="kd-backup-note" onclick={on_saved}>
                                { format!("I have the backup ({})", backup.file_name) }
                            </button>
                        }
                    </p>
                </div>
            }
            if let Some(problem) = &view.backup_problem {
                <p role="alert" class="kd-alert" data-testid="backup-problem">{ problem.clone() }</p>
            }
            <ol class="kd-run-steps" data-testid="run-steps">
                { for shown_steps(view).map(|(index, step, state)| html! {
                    <li value={(index + 1).to_string()} data-step-kind={step_kind_id(step.kind)}
                        data-step-state={state_name(state)}>
                        <strong>{ step_title(step.kind) }</strong>{ " " }
                        <code class="kd-request">{ format!("{} {}", step.request.method, step.request.path) }</code>
                        { " \u{2014} " }{ state_text(state) }
                    </li>
                }) }
            </ol>
            if view.running() && view.steps.len() > LIVE_STEPS_SHOWN {
                <p class="kd-meta">{ format!("Showing the steps under way; all {} are listed when the run ends.", view.steps.len()) }</p>
            }
            <details class="kd-details" open={view.running()}>
                <summary>{ format!("Activity log ({} requests)", view.log.len()) }</summary>
                if view.running() && view.log.len() > LIVE_LOG_SHOWN {
                    <p class="kd-meta">{ format!("The latest {LIVE_LOG_SHOWN}; every request is listed when the run ends.") }</p>
                }
                // It scrolls while the run is under way: focusable, so keyboard users can scroll it.
                <ol class="kd-activity" data-testid="activity-log" tabindex="0" aria-label="Activity log">
                    { for shown_log(view).iter().map(entry_view) }
                </ol>
            </details>
        </section>
    }
}

/// While a run is under way the page re-renders often: with hundreds of deletes, only the
/// latest requests and the steps under way are drawn; the end shows everything.
const LIVE_LOG_SHOWN: usize = 60;
const LIVE_STEPS_SHOWN: usize = 12;

fn shown_log(view: &CleanupView) -> &[ActivityEntry] {
    if view.running() {
        &view.log[view.log.len().saturating_sub(LIVE_LOG_SHOWN)..]
    } else {
        &view.log
    }
}

/// `(index, step, state)` of the steps to draw: all of them once the run ended, else the
/// running and failed ones first, then the next pending ones, at most [`LIVE_STEPS_SHOWN`].
fn shown_steps(view: &CleanupView) -> impl Iterator<Item = (usize, &kudu_core::Step, &StepState)> {
    let all = view.plan.steps.iter().zip(&view.steps).enumerate();
    let limit = if view.running() && view.steps.len() > LIVE_STEPS_SHOWN {
        LIVE_STEPS_SHOWN
    } else {
        usize::MAX
    };
    let live = view.running() && limit != usize::MAX;
    all.filter(move |(_, (_, state))| {
        !live
            || matches!(
                state,
                StepState::Running | StepState::Failed { .. } | StepState::Pending
            )
    })
    .take(limit)
    .map(|(index, (step, state))| (index, step, state))
}

fn progress_line(view: &CleanupView) -> String {
    if view.waiting_for_kudu {
        return "Kudu is restarting; waiting for it to answer again…".to_string();
    }
    let running = view
        .steps
        .iter()
        .filter(|s| matches!(s, StepState::Running))
        .count();
    let done = view
        .steps
        .iter()
        .filter(|s| matches!(s, StepState::Done { .. }))
        .count();
    if view.backup.is_none() {
        "Backing up and checking the archives before anything is deleted…".to_string()
    } else if view.awaiting_backup_saved {
        "Waiting for you to confirm you have the backup; nothing has been deleted.".to_string()
    } else {
        format!(
            "{done} of {} steps done, {running} running…",
            view.steps.len()
        )
    }
}

fn outcome_view(outcome: &Outcome, view: &CleanupView) -> Html {
    let (headline, body) = match outcome {
        Outcome::Fixed => (
            "Fixed: the lock is gone and nothing is deploying. Deploy again.",
            html! {},
        ),
        Outcome::Failed {
            step,
            state_description,
        } => (
            "Not fixed.",
            html! {
                <>
                    if let Some(step) = step {
                        <p data-testid="failed-step">
                            { "Failed: " }
                            <code class="kd-request">{ format!("{} {}", step.method, step.path) }</code>
                            { format!(" answered {}: {}", status_text(step.status), step.reason) }
                        </p>
                    }
                    <p data-testid="true-state">{ "The site now: " }{ state_description }</p>
                </>
            },
        ),
        Outcome::Aborted { reason, changes } => (
            "Stopped before deleting anything more.",
            html! {
                <>
                    <p data-testid="abort-reason">{ reason }</p>
                    if !changes.is_empty() {
                        <p>{ "What changed since the diagnosis:" }</p>
                        <ul data-testid="changes">
                            { for changes.iter().map(|change| html! { <li>{ change }</li> }) }
                        </ul>
                    }
                    <p>{ "The site is being diagnosed again: see the diagnosis below." }</p>
                </>
            },
        ),
    };
    html! {
        <div class={classes!("kd-result", format!("kd-result-{}", outcome.as_str()))}
            data-testid="cleanup-result" data-outcome={outcome.as_str()} role="status">
            <p class="kd-result-headline"><strong>{ headline }</strong></p>
            { body }
            <table class="kd-before-after" data-testid="before-after">
                <thead><tr><td></td><th scope="col">{ "Before" }</th><th scope="col">{ "After" }</th></tr></thead>
                <tbody>
                    <tr>
                        <th scope="row">{ "Cause" }</th>
                        <td data-testid="before-cause">{ cause_of(view.before.as_ref()) }</td>
                        <td data-testid="after-cause">{ cause_of(view.after.as_ref()) }</td>
                    </tr>
                    <tr>
                        <th scope="row">{ "Lock" }</th>
                        <td data-testid="before-lock">{ lock_of(view.before.as_ref()) }</td>
                        <td data-testid="after-lock">{ lock_of(view.after.as_ref()) }</td>
                    </tr>
                </tbody>
            </table>
        </div>
    }
}

fn cause_of(diagnosis: Option<&Diagnosis>) -> String {
    match diagnosis {
        None => "not read (see the diagnosis below)".to_string(),
        Some(diagnosis) => match diagnosis.primary() {
            Some(finding) => format!(
                "{} ({})",
                cause_title(finding.cause),
                finding.cause.as_str()
            ),
            None => "no cause found".to_string(),
        },
    }
}

fn lock_of(diagnosis: Option<&Diagnosis>) -> String {
    diagnosis.map_or_else(
        || "not read".to_string(),
        |d| state_id(d.lock.state).to_string(),
    )
}

fn state_name(state: &StepState) -> &'static str {
    match state {
        StepState::Pending => "pending",
        StepState::Skipped => "skipped",
        StepState::Running => "running",
        StepState::Done { .. } => "done",
        StepState::Failed { .. } => "failed",
        StepState::NotRun => "not-run",
    }
}

fn state_text(state: &StepState) -> String {
    match state {
        StepState::Pending => "waiting".to_string(),
        StepState::Skipped => "skipped (not chosen)".to_string(),
        StepState::Running => "running…".to_string(),
        StepState::Done { note: None } => "done".to_string(),
        StepState::Done { note: Some(note) } => format!("done ({note})"),
        StepState::Failed { reason } => format!("failed: {reason}"),
        StepState::NotRun => "not run".to_string(),
    }
}

/// `1,234,567 bytes, 1.2 MB`: the exact count to compare with the saved file, and a readable
/// size.
fn size_text(bytes: usize) -> String {
    let digits = bytes.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let unit = if bytes >= 1_000_000 {
        format!(", {:.1} MB", bytes as f64 / 1_000_000.0)
    } else if bytes >= 1_000 {
        format!(", {:.1} kB", bytes as f64 / 1_000.0)
    } else {
        String::new()
    };
    format!("{grouped} bytes{unit}")
}

fn status_text(status: u16) -> String {
    if status == 0 {
        "nothing (no HTTP answer)".to_string()
    } else {
        format!("HTTP {status}")
    }
}

fn entry_view(entry: &ActivityEntry) -> Html {
    let answer = match (&entry.transport_error, entry.status) {
        (Some(error), _) => format!("no answer: {error}"),
        (None, None) => "waiting…".to_string(),
        (None, Some(status)) if entry.excerpt.is_empty() => status_text(status),
        (None, Some(status)) => format!("{}: {}", status_text(status), entry.excerpt),
    };
    html! {
        <li data-testid="activity-entry" data-method={entry.method.clone()}
            data-path={entry.path.clone()}
            data-status={entry.status.map(|s| s.to_string())}>
            <span class="kd-meta">{ clock_secs_utc(entry.sent_at) }</span>{ " " }
            <code class="kd-request">{ format!("{} {}", entry.method, entry.path) }</code>
            { " \u{2192} " }{ answer }
        </li>
    }
}
