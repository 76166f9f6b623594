//! `kudu-doctor diagnose URL [--json]`: the wizard's diagnosis of a live site, in the terminal
//! or as JSON for scripts.
//!
//! The JSON serialises the core's own types, so it grows with them; `primary` and `causes`
//! hold the core's stable cause ids.

use kudu_core::plan::{self, PlanKind};
use kudu_core::{CleanupPlan, Diagnosis};
use serde::Serialize;

use crate::exit_code::Failure;
use crate::report;
use crate::site_round::{connect, diagnose_site};
use crate::terminal_report;

/// Runs the subcommand on `args` (everything after `diagnose`).
pub fn run(args: &[String]) -> Result<(), Failure> {
    let mut url = None;
    let mut json = false;
    for arg in args {
        match arg.as_str() {
            "--json" => json = true,
            flag if flag.starts_with('-') => {
                return Err(Failure::usage(format!(
                    "diagnose: unknown option '{}'",
                    kudu_core::parse::one_line(flag, 40)
                )));
            }
            _ if url.is_some() => {
                return Err(Failure::usage("diagnose takes one SCM URL"));
            }
            _ => url = Some(arg.as_str()),
        }
    }
    let Some(url) = url else {
        return Err(Failure::usage(
            "diagnose needs the SCM URL, such as https://<app>.scm.azurewebsites.net",
        ));
    };
    let client = connect(url)?;
    let round = diagnose_site(&client)?;
    let plan = plan::plan(&round.session, &round.diagnosis, PlanKind::Targeted);
    let blockers = round.blockers();
    let text = if json {
        serde_json::to_string_pretty(&JsonReport::new(
            client.origin().as_str(),
            &round.diagnosis,
            &plan,
            &blockers,
        ))
        .map_err(|e| Failure::new(crate::exit_code::FAILURE, format!("cannot write JSON: {e}")))?
    } else {
        terminal_report::render(client.origin(), &round.diagnosis, &plan, &blockers)
    };
    report::stdout_line(text.trim_end())?;
    if round.needs_sign_in() {
        return Err(round.auth_failure(&client));
    }
    Ok(())
}

/// What `--json` prints.
#[derive(Serialize)]
struct JsonReport<'a> {
    site: &'a str,
    now: kudu_core::Timestamp,
    /// The leading cause's id.
    primary: Option<&'static str>,
    /// Every cause found, leading first.
    causes: Vec<&'static str>,
    personality: kudu_core::Personality,
    /// Whether a deployment could start now (what `wait` waits for), and if not, why.
    clear: bool,
    blocked_by: &'a [String],
    findings: &'a [kudu_core::Finding],
    lock: &'a kudu_core::diagnose::LockReport,
    timeline: &'a [kudu_core::diagnose::TimelineEntry],
    warnings: &'a [kudu_core::session::Warning],
    /// The targeted cleanup plan (the command line shows it; the wizard runs it).
    plan: &'a CleanupPlan,
}

impl<'a> JsonReport<'a> {
    fn new(
        site: &'a str,
        diagnosis: &'a Diagnosis,
        plan: &'a CleanupPlan,
        blockers: &'a [String],
    ) -> Self {
        JsonReport {
            site,
            now: diagnosis.now,
            primary: diagnosis.primary().map(|f| f.cause.as_str()),
            causes: diagnosis
                .findings
                .iter()
                .map(|f| f.cause.as_str())
                .collect(),
            personality: diagnosis.personality,
            clear: blockers.is_empty(),
            blocked_by: blockers,
            findings: &diagnosis.findings,
            lock: &diagnosis.lock,
            timeline: &diagnosis.timeline.entries,
            warnings: &diagnosis.warnings,
            plan,
        }
    }
}
