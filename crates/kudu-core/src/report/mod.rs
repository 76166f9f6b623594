//! The shareable report: one Markdown document a user pastes into a support ticket or a GitHub
//! issue, built from what the wizard (or `kudu-doctor diagnose --markdown`) already holds.
//!
//! It names the site by host only and never carries cookies, Authorization values, app
//! settings or query strings with credentials ([`escape::redact`]). Every piece of text that
//! came from the site goes through [`escape`], so a hostile deployer name or log line cannot
//! break a table, open HTML or a heading. Long lists are bounded and say how much was left out.

pub mod escape;
pub mod restart;

use std::fmt::Write;

use crate::cleanup::{ActivityEntry, Outcome};
use crate::diagnose::prevention::{Fix, Prevention};
use crate::diagnose::{
    Confidence, Diagnosis, Finding, LockReport, LockState, Recommendation, TimelineEntry,
    TimelineMark,
};
use crate::model::Personality;
use crate::plan::{CleanupPlan, PlanKind};
use crate::time::Timestamp;

use escape::{code, field, text};

use crate::parse::one_line;

/// The timeline table shows at most this many deployments, the newest.
pub const MAX_TIMELINE_ROWS: usize = 30;

/// The activity table shows at most this many requests, the first ones (a run's first
/// requests are its backups and the first deletes; the rest repeat them).
pub const MAX_ACTIVITY_ROWS: usize = 200;

/// Characters of an answer's text kept in the activity table.
const ANSWER_CHARS: usize = 80;

/// Everything the report is built from.
#[derive(Clone, Copy, Debug)]
pub struct ReportInput<'a> {
    /// The SCM site's URL (or host); only the host is printed.
    pub scm_url: &'a str,
    pub diagnosis: &'a Diagnosis,
    /// The cleanup plan offered for this diagnosis, if any.
    pub plan: Option<&'a CleanupPlan>,
    /// What the site's history says about preventing the next 409.
    pub prevention: Option<&'a Prevention>,
    /// A cleanup run, when one was started.
    pub cleanup: Option<CleanupReport<'a>>,
    /// Reads that gave nothing usable, one line each (`/api/deployments: 502 Bad Gateway`).
    pub failed_reads: &'a [String],
}

/// A cleanup run as the report shows it.
#[derive(Clone, Copy, Debug)]
pub struct CleanupReport<'a> {
    pub kind: PlanKind,
    /// Every request the run sent, in order.
    pub log: &'a [ActivityEntry],
    /// `None` while it still runs.
    pub outcome: Option<&'a Outcome>,
}

/// The whole report as Markdown (GitHub-flavoured: tables, fenced code).
pub fn markdown_report(input: &ReportInput<'_>) -> String {
    let d = input.diagnosis;
    let mut out = String::new();
    let host = site_host(input.scm_url);
    let _ = writeln!(out, "# Kudu Doctor report\n");
    let _ = writeln!(
        out,
        "- Site: {}",
        host.as_deref()
            .map_or_else(|| "(not shown)".to_string(), code)
    );
    let _ = writeln!(out, "- Kudu: {}", personality_words(d.personality));
    let _ = writeln!(out, "- Read at: {}", utc(d.now));
    if let Some(primary) = d.primary() {
        let _ = writeln!(
            out,
            "- Leading cause: `{}` ({} confidence)",
            primary.cause.as_str(),
            confidence_word(primary.confidence)
        );
    }
    if let Some(pasted) = &d.pasted_error {
        // The kind only: a pasted CI log may hold tokens or signed URLs, so its text stays out.
        let _ = write!(out, "- The error the user gave: {}", pasted.kind.describe());
        if let Some(operation) = &pasted.holder_operation {
            let _ = write!(out, " ({})", code(operation));
        }
        out.push('\n');
    }
    out.push('\n');
    diagnosis_section(&mut out, d);
    if let Some(prevention) = input.prevention.filter(|p| p.is_specific()) {
        prevention_section(&mut out, prevention);
    }
    timeline_section(&mut out, &d.timeline.entries);
    traces_section(&mut out, &d.timeline.marks);
    lock_section(&mut out, &d.lock);
    if let Some(plan) = input.plan {
        plan_section(&mut out, plan);
    }
    if let Some(run) = input.cleanup {
        activity_section(&mut out, run);
    }
    if !d.warnings.is_empty() || !input.failed_reads.is_empty() {
        let _ = writeln!(out, "## Warnings\n");
        for failed in input.failed_reads {
            let _ = writeln!(out, "- Read failed: {}", text(failed));
        }
        for w in &d.warnings {
            let _ = writeln!(out, "- {}: {}", code(&w.endpoint), text(&w.reason));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "---\n\nMade by Kudu Doctor {}. It holds no cookies, tokens or app settings; credentials \
         in URLs are shown as REDACTED.",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// `<site>-kudu-doctor-<UTC>.md`, e.g. `myapp-kudu-doctor-20261127T222214Z.md`.
pub fn report_file_name(site_name: &str, now: Timestamp) -> String {
    let site: String = site_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(60)
        .collect::<String>()
        .to_ascii_lowercase();
    let site = if site.is_empty() { "site".into() } else { site };
    let stamp: String = utc_rfc3339(now)
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    format!("{site}-kudu-doctor-{stamp}Z.md")
}

/// The host (and port) of an SCM URL, when it is a plain host name; never userinfo, path or
/// query.
pub fn site_host(scm_url: &str) -> Option<String> {
    let rest = scm_url
        .trim()
        .split_once("://")
        .map_or(scm_url.trim(), |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let plain = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    plain.then(|| host.to_ascii_lowercase())
}

fn diagnosis_section(out: &mut String, d: &Diagnosis) {
    let _ = writeln!(out, "## Diagnosis\n");
    if d.findings.is_empty() {
        let _ = writeln!(out, "Nothing Kudu answered points to a cause.\n");
        return;
    }
    for (index, f) in d.findings.iter().enumerate() {
        let _ = writeln!(
            out,
            "### {}. `{}` ({} confidence){}\n",
            index + 1,
            f.cause.as_str(),
            confidence_word(f.confidence),
            if index == 0 { ", leading" } else { "" }
        );
        if !f.summary.is_empty() {
            let _ = writeln!(out, "{}\n", text(&f.summary));
        }
        finding_details(out, f);
    }
}

fn finding_details(out: &mut String, f: &Finding) {
    if !f.evidence.is_empty() {
        let _ = writeln!(out, "Evidence:\n");
        for e in &f.evidence {
            let _ = writeln!(out, "- {} (from {})", text(&e.fact), code(&e.source));
        }
        out.push('\n');
    }
    if !f.recommendations.is_empty() {
        let _ = writeln!(out, "What to do:\n");
        for r in &f.recommendations {
            let _ = writeln!(out, "- {}", recommendation_words(r));
        }
        out.push('\n');
    }
}

fn recommendation_words(r: &Recommendation) -> String {
    match r {
        Recommendation::Wait { until, reason } => format!(
            "Wait{}: {}",
            until
                .map(|u| format!(" until {}", utc(u)))
                .unwrap_or_default(),
            text(reason)
        ),
        Recommendation::ChangeSetting { key, advice } => {
            format!("Change the app setting {}: {}", code(key), text(advice))
        }
        Recommendation::TargetedCleanup => {
            "Run the targeted cleanup (the plan below): back up, then delete exactly what is stale."
                .into()
        }
        Recommendation::RestartKudu => "Restart Kudu (the SCM site only, not the app).".into(),
        Recommendation::RestartApp => "Restart the app (portal, or az webapp restart).".into(),
        Recommendation::FixPipeline { advice } => format!("Fix the pipeline: {}", text(advice)),
        Recommendation::Redeploy { advice } => format!("Deploy again: {}", text(advice)),
        Recommendation::SignIn => "Sign in to the SCM site again.".into(),
        Recommendation::LookElsewhere { advice } => {
            format!("Look outside Kudu: {}", text(advice))
        }
    }
}

fn prevention_section(out: &mut String, p: &Prevention) {
    let _ = writeln!(out, "## Preventing the next 409\n");
    for c in &p.collisions {
        let _ = writeln!(out, "- {}", text(&c.sentence));
    }
    for c in &p.cancelled {
        let _ = writeln!(out, "- {}", text(&c.sentence));
    }
    out.push('\n');
    for fix in &p.fixes {
        match fix {
            Fix::GitHubConcurrency { snippet, why } => {
                let _ = writeln!(out, "GitHub Actions, on the deploy job:\n");
                fenced(out, "yaml", snippet);
                let _ = writeln!(out, "{}\n", text(why));
            }
            Fix::AzureDevOpsExclusiveLock {
                click_path,
                snippet,
                why,
            } => {
                let _ = writeln!(
                    out,
                    "Azure DevOps: add the Exclusive Lock check at {}, and in the pipeline:\n",
                    field(click_path)
                );
                fenced(out, "yaml", snippet);
                let _ = writeln!(out, "{}\n", text(why));
            }
            Fix::OneToolAtATime { note, who_when } => {
                let _ = writeln!(out, "{}\n", text(note));
                for line in who_when {
                    let _ = writeln!(out, "- {}", text(line));
                }
                out.push('\n');
            }
            Fix::WaitGuard { snippet, why, .. } => {
                let _ = writeln!(out, "CI guard, right before the deploy step:\n");
                fenced(out, "yaml", snippet);
                let _ = writeln!(out, "{}\n", text(why));
            }
        }
    }
}

fn timeline_section(out: &mut String, entries: &[TimelineEntry]) {
    let _ = writeln!(out, "## Timeline\n");
    if entries.is_empty() {
        let _ = writeln!(out, "No deployments listed.\n");
        return;
    }
    let _ = writeln!(
        out,
        "Newest first.\n\n| Deployment | Deployer | Author | Start (UTC) | End (UTC) | Status |\n\
         |---|---|---|---|---|---|"
    );
    for e in entries.iter().rev().take(MAX_TIMELINE_ROWS) {
        let d = &e.deployment;
        let id = d.id.as_deref().unwrap_or("(no id)");
        let status = if d.temp {
            format!("{} (temp)", d.status.as_str())
        } else {
            d.status.as_str().to_string()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            code(id),
            code(&d.deployer),
            code(&d.author),
            e.begin.map_or_else(|| "—".into(), utc),
            e.end.map_or_else(
                || if d.status.is_running() {
                    "still running".into()
                } else {
                    "—".into()
                },
                utc
            ),
            status
        );
    }
    if entries.len() > MAX_TIMELINE_ROWS {
        let _ = writeln!(
            out,
            "\n{} more older deployment(s) not shown.",
            entries.len() - MAX_TIMELINE_ROWS
        );
    }
    out.push('\n');
}

/// Refused pushes and Kudu restarts from Kudu's trace folder, newest first, at most
/// [`MAX_TIMELINE_ROWS`].
fn traces_section(out: &mut String, marks: &[TimelineMark]) {
    if marks.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Kudu's traces (`LogFiles/kudu/trace/`)\n");
    for mark in marks.iter().rev().take(MAX_TIMELINE_ROWS) {
        let _ = writeln!(out, "- {} ({})", text(&mark.summary), code(&mark.file));
    }
    out.push('\n');
}

fn lock_section(out: &mut String, lock: &LockReport) {
    let _ = writeln!(out, "## Deployment lock\n");
    let _ = writeln!(out, "- State: {}", lock_state_words(lock.state));
    if let Some(op) = &lock.holder_operation {
        let _ = writeln!(out, "- Held by operation: {}", code(op));
    }
    if let Some(worker) = &lock.worker {
        let _ = writeln!(out, "- Worker: {}", code(worker));
    }
    if let Some(pid) = lock.pid {
        let _ = writeln!(out, "- Process id: {pid}");
    }
    if let Some(t) = lock.acquired {
        let _ = writeln!(out, "- Taken at: {}", utc(t));
    }
    if let Some(t) = lock.expires {
        let _ = writeln!(
            out,
            "- Expires at: {}{}",
            utc(t),
            lock.secs_left
                .map(|s| if s > 0 {
                    format!(" ({s} s left when read)")
                } else {
                    " (already past when read)".into()
                })
                .unwrap_or_default()
        );
    }
    if lock.windows_lock_file {
        let _ = writeln!(out, "- `site/locks/deployments.lock` is listed");
    }
    if !lock.explanation.is_empty() {
        let _ = writeln!(out, "\n{}", text(&lock.explanation));
    }
    if !lock.others.is_empty() {
        let _ = writeln!(out, "\nOther files in `site/locks`:\n");
        for other in lock.others.iter().take(MAX_TIMELINE_ROWS) {
            let _ = writeln!(
                out,
                "- {}{}: {}{}",
                code(&other.name),
                other
                    .modified
                    .map(|t| format!(" (changed {})", utc(t)))
                    .unwrap_or_default(),
                text(&other.meaning),
                if other.blocking { " Blocks now." } else { "" }
            );
        }
        if lock.others.len() > MAX_TIMELINE_ROWS {
            let _ = writeln!(
                out,
                "- {} more not shown.",
                lock.others.len() - MAX_TIMELINE_ROWS
            );
        }
    }
    out.push('\n');
}

fn plan_section(out: &mut String, plan: &CleanupPlan) {
    let kind = match plan.kind {
        PlanKind::Targeted => "targeted",
        PlanKind::FullReset => "full reset",
    };
    let _ = writeln!(out, "## Cleanup plan ({kind})\n");
    if plan.steps.is_empty() {
        let _ = writeln!(
            out,
            "{}\n",
            plan.not_offered
                .as_deref()
                .map_or_else(|| "No cleanup is needed.".to_string(), text)
        );
        return;
    }
    for (index, step) in plan.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. {}{}: expect {}. Risk: {}",
            index + 1,
            code(&format!("{} {}", step.request.method, step.request.path)),
            if step.optional { " (optional)" } else { "" },
            text(step.expect.trim_end_matches('.')),
            text(&step.risk)
        );
    }
    out.push('\n');
    for (what, list) in [
        (
            "Refused",
            &plan
                .refused
                .iter()
                .map(|r| format!("{}/{}: {}", r.dir, r.name, r.reason))
                .collect::<Vec<_>>(),
        ),
        ("Afterwards", &plan.verify),
        ("Deletes", &plan.loses),
        ("Keeps", &plan.keeps),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "{what}:\n");
            for item in list.iter().take(MAX_TIMELINE_ROWS) {
                let _ = writeln!(out, "- {}", text(item));
            }
            out.push('\n');
        }
    }
}

fn activity_section(out: &mut String, run: CleanupReport<'_>) {
    let kind = match run.kind {
        PlanKind::Targeted => "targeted",
        PlanKind::FullReset => "full reset",
    };
    let _ = writeln!(out, "## Cleanup run ({kind})\n");
    let outcome = match run.outcome {
        None => "still running when this report was made".to_string(),
        Some(Outcome::Fixed) => "fixed: the lock is free and nothing is deploying".into(),
        Some(Outcome::Failed {
            step,
            state_description,
        }) => format!(
            "failed{}: {}",
            step.as_ref()
                .map(|s| format!(
                    " at {} ({})",
                    code(&format!("{} {}", s.method, s.path)),
                    s.status
                ))
                .unwrap_or_default(),
            text(state_description)
        ),
        Some(Outcome::Aborted { reason, changes }) => format!(
            "stopped: {}{}",
            text(reason),
            if changes.is_empty() {
                String::new()
            } else {
                format!(" Changed: {}", text(&changes.join("; ")))
            }
        ),
    };
    let _ = writeln!(out, "Outcome: {outcome}\n");
    if run.log.is_empty() {
        let _ = writeln!(out, "No requests were sent.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| # | Sent (UTC) | Request | Answer |\n|---|---|---|---|"
    );
    for (index, entry) in run.log.iter().take(MAX_ACTIVITY_ROWS).enumerate() {
        let answer = match (entry.status, &entry.transport_error) {
            (_, Some(error)) => format!("no answer: {}", code(error)),
            (None, None) => "waiting".into(),
            (Some(status), None) => {
                let excerpt = one_line(&entry.excerpt, ANSWER_CHARS);
                if excerpt.is_empty() {
                    status.to_string()
                } else {
                    format!("{status} {}", code(&excerpt))
                }
            }
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            index + 1,
            utc(entry.sent_at),
            code(&format!("{} {}", entry.method, entry.path)),
            answer
        );
    }
    if run.log.len() > MAX_ACTIVITY_ROWS {
        let _ = writeln!(
            out,
            "\n{} more request(s) not shown.",
            run.log.len() - MAX_ACTIVITY_ROWS
        );
    }
    out.push('\n');
}

/// A fenced code block whose fence is longer than any backtick run in `body`.
fn fenced(out: &mut String, lang: &str, body: &str) {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(out, "{fence}{lang}\n{}\n{fence}\n", body.trim_end());
}

/// `2026-11-27 22:22:14 UTC`.
fn utc(t: Timestamp) -> String {
    let s = utc_rfc3339(t);
    match (s.get(..10), s.get(11..19)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => s,
    }
}

fn utc_rfc3339(t: Timestamp) -> String {
    Timestamp::from_unix_millis(t.unix_millis() - t.unix_millis().rem_euclid(1000)).to_rfc3339()
}

fn personality_words(p: Personality) -> &'static str {
    match p {
        Personality::Linux => "App Service on Linux (KuduLite)",
        Personality::Windows => "App Service on Windows (Kudu)",
        Personality::Unknown => "not known (Linux or Windows)",
    }
}

fn confidence_word(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

fn lock_state_words(state: LockState) -> &'static str {
    match state {
        LockState::Free => "free (no deployment lock)",
        LockState::Live => "live (held by a deployment that is progressing)",
        LockState::Expired => "expired (past its expiry; Kudu no longer honours it)",
        LockState::Orphaned => "orphaned (held, but nothing is deploying)",
        LockState::Held => "held (a process holds it)",
        LockState::Unknown => "unknown (not enough could be read)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain() {
        let now = Timestamp::parse_rfc3339("2026-11-27T22:22:14.2017964Z").unwrap();
        assert_eq!(
            report_file_name("MyApp", now),
            "myapp-kudu-doctor-20261127T222214Z.md"
        );
        assert_eq!(
            report_file_name("../../etc <x>", now),
            "etcx-kudu-doctor-20261127T222214Z.md"
        );
        assert_eq!(
            report_file_name("", now),
            "site-kudu-doctor-20261127T222214Z.md"
        );
    }

    #[test]
    fn only_the_host_is_kept() {
        assert_eq!(
            site_host("https://user:pw@MyApp.scm.azurewebsites.net/api/x?sig=1").as_deref(),
            Some("myapp.scm.azurewebsites.net")
        );
        assert_eq!(
            site_host("http://127.0.0.1:8443").as_deref(),
            Some("127.0.0.1:8443")
        );
        assert_eq!(site_host("https://<script>/"), None);
        assert_eq!(
            utc(Timestamp::from_unix_millis(1_500)),
            "1970-01-01 00:00:01 UTC"
        );
    }
}
