//! The diagnosis as a terminal reads it: primary cause with its evidence and what to do, the
//! other findings, the lock, recent deployments as a table, the cleanup plan and warnings.
//! Plain text without colour, so CI logs show it as it is.

use std::fmt::Write as _;

use kudu_core::diagnose::{LockReport, LockState, TimelineEntry};
use kudu_core::parse::one_line;
use kudu_core::{CleanupPlan, Diagnosis, Finding, Recommendation, Timestamp};

use crate::duration_arg::show_secs;
use crate::scm::{ENV_BEARER, ENV_PASSWORD, ENV_USERNAME, ScmOrigin};

/// How many deployments the table shows.
const RECENT_DEPLOYMENTS: usize = 10;

/// What the command does with the plan it prints.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PlanUse {
    /// `diagnose`: shown, not run.
    Shown,
    /// `fix`: run next, once confirmed.
    Run,
}

/// The whole report; `blockers` are what `wait` would wait for.
pub fn render(
    origin: &ScmOrigin,
    diagnosis: &Diagnosis,
    plan: &CleanupPlan,
    blockers: &[String],
) -> String {
    render_with(origin, diagnosis, plan, blockers, PlanUse::Shown)
}

/// [`render`], saying what happens to the plan.
pub fn render_with(
    origin: &ScmOrigin,
    diagnosis: &Diagnosis,
    plan: &CleanupPlan,
    blockers: &[String],
    plan_use: PlanUse,
) -> String {
    let now = diagnosis.now;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Kudu Doctor: {} ({}), read at {}",
        origin.as_str(),
        personality_name(diagnosis),
        now.to_rfc3339()
    );
    out.push('\n');
    if let Some(pasted) = &diagnosis.pasted_error {
        let _ = writeln!(
            out,
            "THE ERROR YOU GAVE: {} (\"{}\")\n",
            pasted.kind.describe(),
            one_line(&pasted.message, 200)
        );
    }
    if let Some(primary) = diagnosis.primary() {
        let _ = writeln!(
            out,
            "PRIMARY CAUSE: {} ({} confidence)",
            primary.cause.as_str(),
            confidence(primary)
        );
        finding_body(&mut out, primary, now);
    }
    if diagnosis.findings.len() > 1 {
        out.push_str("\nALSO FOUND\n");
        for f in &diagnosis.findings[1..] {
            let _ = writeln!(
                out,
                "  - {} ({}): {}",
                f.cause.as_str(),
                confidence(f),
                one_line(&f.summary, 400)
            );
        }
    }
    out.push('\n');
    lock_section(&mut out, &diagnosis.lock, now);
    out.push('\n');
    match blockers {
        [] => out.push_str("DEPLOY NOW? Yes: nothing is deploying and no lock blocks.\n"),
        _ => {
            out.push_str("DEPLOY NOW? No, a deployment would get 409 while:\n");
            for b in blockers {
                let _ = writeln!(out, "  - {b}");
            }
        }
    }
    out.push('\n');
    timeline_section(&mut out, &diagnosis.timeline.entries, now);
    traces_section(&mut out, diagnosis);
    out.push('\n');
    plan_section(&mut out, origin, plan, plan_use);
    if !diagnosis.warnings.is_empty() {
        out.push_str("\nWARNINGS (reads that could not be used)\n");
        for w in &diagnosis.warnings {
            let _ = writeln!(out, "  - {}: {}", w.endpoint, one_line(&w.reason, 300));
        }
    }
    out
}

fn personality_name(diagnosis: &Diagnosis) -> &'static str {
    match diagnosis.personality {
        kudu_core::Personality::Linux => "Linux",
        kudu_core::Personality::Windows => "Windows",
        kudu_core::Personality::Unknown => "OS not known",
    }
}

fn confidence(f: &Finding) -> &'static str {
    match f.confidence {
        kudu_core::Confidence::High => "high",
        kudu_core::Confidence::Medium => "medium",
        kudu_core::Confidence::Low => "low",
    }
}

fn finding_body(out: &mut String, f: &Finding, now: Timestamp) {
    let _ = writeln!(out, "  {}", one_line(&f.summary, 1000));
    if !f.evidence.is_empty() {
        out.push_str("  Evidence:\n");
        for e in &f.evidence {
            let _ = writeln!(out, "    - {} [{}]", one_line(&e.fact, 600), e.source);
        }
    }
    if !f.recommendations.is_empty() {
        out.push_str("  What to do:\n");
        for (i, r) in f.recommendations.iter().enumerate() {
            let _ = writeln!(out, "    {}. {}", i + 1, recommendation(r, now));
        }
    }
}

/// One recommendation in words.
pub fn recommendation(r: &Recommendation, now: Timestamp) -> String {
    match r {
        Recommendation::Wait { until, reason } => {
            let when = until
                .map(|t| format!(" until {}", when(t, now)))
                .unwrap_or_default();
            format!("Wait{when}: {}", one_line(reason, 400))
        }
        Recommendation::ChangeSetting { key, advice } => {
            format!("Change the app setting {key}: {}", one_line(advice, 400))
        }
        Recommendation::TargetedCleanup => {
            "Run the targeted cleanup (see CLEANUP PLAN below).".to_string()
        }
        Recommendation::RestartKudu => {
            "Restart Kudu (the SCM site's process); the wizard does it with a check first."
                .to_string()
        }
        Recommendation::RestartApp => "Restart the app (portal, or az webapp restart).".to_string(),
        Recommendation::FixPipeline { advice }
        | Recommendation::Redeploy { advice }
        | Recommendation::LookElsewhere { advice } => one_line(advice, 600),
        Recommendation::SignIn => {
            format!("Sign in again: set {ENV_USERNAME} and {ENV_PASSWORD}, or {ENV_BEARER}.")
        }
    }
}

/// `2026-11-26T12:25:00Z (in 4m 10s)` or `(... ago)`.
pub fn when(t: Timestamp, now: Timestamp) -> String {
    let secs = now.secs_until(t);
    let relative = if secs >= 0 {
        format!("in {}", show_secs(secs))
    } else {
        format!("{} ago", show_secs(secs))
    };
    format!("{} ({relative})", t.to_rfc3339())
}

/// `free`, `live`, ... as the JSON spells it.
pub fn lock_state_name(state: LockState) -> &'static str {
    match state {
        LockState::Free => "free",
        LockState::Live => "live",
        LockState::Expired => "expired",
        LockState::Orphaned => "orphaned",
        LockState::Held => "held",
        LockState::Unknown => "unknown",
    }
}

fn lock_section(out: &mut String, lock: &LockReport, now: Timestamp) {
    let _ = writeln!(out, "LOCK: {}", lock_state_name(lock.state));
    let _ = writeln!(out, "  {}", one_line(&lock.explanation, 1000));
    if let Some(holder) = &lock.holder_operation {
        let _ = writeln!(out, "  holder:   {}", one_line(holder, 200));
    }
    if let Some(t) = lock.acquired {
        let _ = writeln!(out, "  acquired: {}", when(t, now));
    }
    if let Some(t) = lock.expires {
        let _ = writeln!(out, "  expires:  {}", when(t, now));
    }
    if let Some(worker) = &lock.worker {
        let pid = lock.pid.map(|p| format!(", pid {p}")).unwrap_or_default();
        let _ = writeln!(out, "  worker:   {}{pid}", one_line(worker, 200));
    }
    if !lock.others.is_empty() {
        out.push_str("  Other files in site/locks:\n");
        for o in &lock.others {
            let blocking = if o.blocking { " [may block]" } else { "" };
            let _ = writeln!(
                out,
                "    - {}: {}{blocking}",
                one_line(&o.name, 100),
                one_line(&o.meaning, 300)
            );
        }
    }
}

fn timeline_section(out: &mut String, entries: &[TimelineEntry], now: Timestamp) {
    if entries.is_empty() {
        out.push_str("RECENT DEPLOYMENTS: none listed\n");
        return;
    }
    out.push_str("RECENT DEPLOYMENTS (newest first)\n");
    let rows: Vec<[String; 6]> = entries
        .iter()
        .rev()
        .take(RECENT_DEPLOYMENTS)
        .map(|e| {
            let d = &e.deployment;
            let id = d.id.as_deref().unwrap_or("(no id)");
            let mut note = Vec::new();
            if !e.overlaps.is_empty() {
                note.push(format!("overlaps {}", e.overlaps.len()));
            }
            if e.ended_unsuccessfully_before_next {
                note.push("failed just before the next".to_string());
            }
            [
                one_line(id, 14),
                d.status.as_str().to_string(),
                one_line(&d.deployer, 24),
                e.begin.map(|t| ago(t, now)).unwrap_or_else(|| "-".into()),
                e.end.map(|t| ago(t, now)).unwrap_or_else(|| "open".into()),
                note.join("; "),
            ]
        })
        .collect();
    let header = ["ID", "STATUS", "DEPLOYER", "BEGAN", "ENDED", "NOTE"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let mut text = String::from(" ");
        for (cell, w) in cells.iter().zip(widths) {
            let _ = write!(text, " {cell:<w$}");
        }
        text.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(header));
    for row in &rows {
        let _ = writeln!(out, "{}", line(row.each_ref().map(String::as_str)));
    }
}

/// Refused pushes and Kudu restarts from Kudu's trace folder, newest first.
fn traces_section(out: &mut String, diagnosis: &Diagnosis) {
    let marks = &diagnosis.timeline.marks;
    if marks.is_empty() {
        return;
    }
    out.push_str("\nKUDU'S TRACES (LogFiles/kudu/trace/, newest first)\n");
    for mark in marks.iter().rev().take(RECENT_DEPLOYMENTS) {
        let _ = writeln!(out, "  - {}", one_line(&mark.summary, 300));
    }
}

/// `10:42:07Z (12m ago)`: the date is today's in nearly every case.
fn ago(t: Timestamp, now: Timestamp) -> String {
    let text = t.to_rfc3339();
    let clock = text.get(11..19).unwrap_or(&text);
    let secs = t.secs_until(now);
    if secs >= 0 {
        format!("{clock}Z ({} ago)", show_secs(secs))
    } else {
        format!("{clock}Z")
    }
}

fn plan_section(out: &mut String, origin: &ScmOrigin, plan: &CleanupPlan, plan_use: PlanUse) {
    if plan.steps.is_empty() {
        let why = plan
            .not_offered
            .as_deref()
            .unwrap_or("nothing needs cleaning up");
        let _ = writeln!(out, "CLEANUP PLAN: none ({})", one_line(why, 400));
        return;
    }
    let _ = writeln!(
        out,
        "CLEANUP PLAN ({})",
        match plan.kind {
            kudu_core::PlanKind::Targeted => "targeted",
            kudu_core::PlanKind::FullReset => "full reset",
        }
    );
    for (i, step) in plan.steps.iter().enumerate() {
        let optional = if step.optional { " (optional)" } else { "" };
        let _ = writeln!(
            out,
            "  {}. {} {}{optional}: {}",
            i + 1,
            step.request.method,
            step.request.path,
            one_line(&step.expect, 300)
        );
    }
    if plan_use == PlanUse::Run {
        out.push_str(
            "  kudu-doctor fix runs it once confirmed: the backup first, a re-read of the site \
             before each group of steps (any change stops it), then a final read.\n",
        );
        return;
    }
    let _ = writeln!(
        out,
        "  `kudu-doctor fix {}` runs it, or open {}/ with Kudu Doctor installed; either re-checks \
         the site before each step.",
        origin.as_str(),
        origin.as_str()
    );
}
