//! `kudu-doctor diagnose URL [--json | --markdown] [--allow-host HOST] [--error-file FILE]`:
//! the wizard's diagnosis of a live site, in the terminal, as JSON for scripts, or as the
//! wizard's shareable Markdown report. `--error-file` gives it the error text the deployment
//! got (`-` reads it from stdin), which the core combines with what the site shows.
//!
//! The JSON serialises the core's own types, so it grows with them; `primary` and `causes`
//! hold the core's stable cause ids.

use kudu_core::diagnose::prevention::{self, SiteRef};
use kudu_core::report::ReportInput;
use kudu_core::{CleanupPlan, Diagnosis};
use serde::Serialize;

use crate::ci_format::{self, CiFormat};
use crate::exit_code::Failure;
use crate::report;
use crate::site_round::{Plan, connect, diagnose_site, diagnose_site_pasted};
use crate::terminal_report;

/// Runs the subcommand on `args` (everything after `diagnose`).
pub fn run(args: &[String]) -> Result<(), Failure> {
    let mut url = None;
    let mut json = false;
    let mut markdown = false;
    let mut allowed_hosts = Vec::new();
    let mut error_file = None;
    // `--format github | azure-devops`: annotations and the job summary (issue 19).
    let mut pipeline = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--error-file" => {
                error_file = Some(
                    rest.next()
                        .ok_or_else(|| {
                            Failure::usage("--error-file needs a file name, or - for stdin")
                        })?
                        .clone(),
                )
            }
            "--markdown" => markdown = true,
            "--format" => match rest.next().map(String::as_str) {
                Some("text") => {}
                Some("json") => json = true,
                Some("markdown") => markdown = true,
                Some(other) => pipeline = Some(CiFormat::parse(other)?),
                None => {
                    return Err(Failure::usage(
                        "--format needs text, json, markdown, github or azure-devops",
                    ));
                }
            },
            "--allow-host" => allowed_hosts.push(
                rest.next()
                    .ok_or_else(|| Failure::usage("--allow-host needs a host name"))?
                    .clone(),
            ),
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
    if u8::from(json) + u8::from(markdown) + u8::from(pipeline.is_some()) > 1 {
        return Err(Failure::usage(
            "diagnose: choose one of --json and --markdown",
        ));
    }
    let Some(url) = url else {
        return Err(Failure::usage(
            "diagnose needs the SCM URL, such as https://<app>.scm.azurewebsites.net",
        ));
    };
    let pasted = error_file.as_deref().map(read_error_text).transpose()?;
    let client = connect(url, &allowed_hosts)?;
    let round = match &pasted {
        Some(text) => diagnose_site_pasted(&client, Plan::Wanted, text)?,
        None => diagnose_site(&client, Plan::Wanted)?,
    };
    let plan = round.plan.clone().ok_or_else(|| {
        Failure::new(
            crate::exit_code::FAILURE,
            "the diagnosis settled without its plan".to_string(),
        )
    })?;
    let blockers = round.blockers();
    let text = if let Some(format) = pipeline {
        let origin = client.origin().as_str();
        let summary = markdown_report(origin, &round, &plan);
        let mut lines = ci_format::annotations(format, origin, &round.diagnosis, &blockers);
        if let Some(upload) =
            ci_format::publish_summary(format, &summary, |name| std::env::var(name).ok())?
        {
            lines.push('\n');
            lines.push_str(&upload);
        }
        lines
    } else if markdown {
        markdown_report(client.origin().as_str(), &round, &plan)
    } else if json {
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

/// The most of an error file read: an error message with its context, never a whole build
/// log kept in memory (the core keeps the first 4,000 characters).
const ERROR_FILE_MAX_BYTES: u64 = 1024 * 1024;

/// The error text in `name` (`-`: stdin), read before any request is sent; bytes that are not
/// UTF-8 are replaced, so a log saved in another encoding is still read.
fn read_error_text(name: &str) -> Result<String, Failure> {
    use std::io::Read;

    let mut bytes = Vec::new();
    let read = if name == "-" {
        std::io::stdin()
            .lock()
            .take(ERROR_FILE_MAX_BYTES)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(name)
            .and_then(|file| file.take(ERROR_FILE_MAX_BYTES).read_to_end(&mut bytes))
    };
    read.map_err(|e| {
        let what = if name == "-" {
            "stdin".to_string()
        } else {
            format!("'{}'", kudu_core::parse::one_line(name, 200))
        };
        Failure::usage(format!("diagnose: cannot read the error file {what}: {e}"))
    })?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if text.trim().is_empty() {
        report::warning("the error file is empty; diagnosing the site alone");
    }
    Ok(text)
}

/// The wizard's report for this round: diagnosis, prevention, timeline, lock and plan (the
/// command line runs no cleanup, so there is no activity log).
fn markdown_report(origin: &str, round: &crate::site_round::Round, plan: &CleanupPlan) -> String {
    let site_name = round.site_name.as_deref();
    let prevention = prevention::prevention(
        &round.diagnosis,
        SiteRef {
            name: site_name,
            scm_url: Some(origin),
        },
    );
    kudu_core::report::markdown_report(&ReportInput {
        scm_url: origin,
        diagnosis: &round.diagnosis,
        plan: Some(plan),
        prevention: Some(&prevention),
        cleanup: None,
        failed_reads: &[],
    })
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
    /// Refused deployment requests and Kudu starts and stops from Kudu's trace folder
    /// (`LogFiles/kudu/trace/`, names only), oldest first.
    kudu_traces: &'a [kudu_core::diagnose::TimelineMark],
    /// The `--error-file` text, classified (`kind`, `operation`, `holder_operation`,
    /// `since`, `message`); `null` without one.
    pasted_error: Option<&'a kudu_core::Conflict>,
    /// Scaled-out plans: `lock_holder` (the lock's instance), `reading` (the instance the
    /// pinned ARRAffinity cookie reaches), `traced` (instances in the trace folder),
    /// `same_instance` (`null` when either is unknown) and `note`.
    instances: &'a kudu_core::diagnose::InstanceReport,
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
            kudu_traces: &diagnosis.timeline.marks,
            pasted_error: diagnosis.pasted_error.as_ref(),
            instances: &diagnosis.instances,
            warnings: &diagnosis.warnings,
            plan,
        }
    }
}

#[cfg(test)]
mod tests {
    use kudu_core::plan::{self, PlanKind};
    use kudu_core::{Session, Timestamp};

    use super::*;
    use crate::site_round::Round;

    #[test]
    fn markdown_names_the_host_and_the_sections() {
        let session = Session::new();
        let diagnosis = session.diagnose(Timestamp::from_unix_millis(1_764_282_000_000));
        let plan = plan::plan(&session, &diagnosis, PlanKind::Targeted);
        let round = Round {
            diagnosis,
            plan: None,
            site_name: None,
        };
        let text = markdown_report("http://127.0.0.1:8443", &round, &plan);
        for part in [
            "# Kudu Doctor report",
            "- Site: ` 127.0.0.1:8443 `",
            "- Leading cause: `no-lock-found`",
            "## Deployment lock",
            "## Cleanup plan (targeted)",
        ] {
            assert!(text.contains(part), "{part}:\n{text}");
        }
    }

    #[test]
    fn an_unreadable_error_file_is_a_usage_error_before_any_request() {
        let args = [
            "http://127.0.0.1:1".to_string(),
            "--error-file".into(),
            "/nonexistent/kudu-doctor-error.txt".into(),
        ];
        let failure = run(&args).unwrap_err();
        assert_eq!(failure.code, crate::exit_code::USAGE);
        assert!(
            failure.message.contains("cannot read the error file"),
            "{}",
            failure.message
        );
        let failure = run(&["http://127.0.0.1:1".to_string(), "--error-file".into()]).unwrap_err();
        assert_eq!(failure.code, crate::exit_code::USAGE);
    }

    #[test]
    fn json_and_markdown_exclude_each_other() {
        let args = [
            "http://127.0.0.1:1".to_string(),
            "--json".into(),
            "--markdown".into(),
        ];
        let failure = run(&args).unwrap_err();
        assert_eq!(failure.code, crate::exit_code::USAGE);
        assert!(
            failure.message.contains("--json and --markdown"),
            "{}",
            failure.message
        );
    }
}
