//! `kudu-doctor fix URL`: the wizard's cleanup from a terminal. It diagnoses the site, prints the
//! diagnosis and the plan, asks for the site name typed as confirmation (unless `--yes`; never
//! skipped for `--full-reset`), then drives the same [`CleanupRun`] as the wizard through
//! [`crate::cleanup_shell`]: backup saved to `--backup-dir` and checked, re-check before each
//! group, exact deletes, Windows restarts, verify.

use std::io::BufRead as _;
use std::path::PathBuf;

use kudu_core::cleanup::{Acknowledgement, CleanupRun, Confirmation};
use kudu_core::parse::one_line;
use kudu_core::plan::{self, FullResetOptions};
use kudu_core::report::restart::restart_command;
use kudu_core::{CleanupPlan, Personality, PlanKind, Recommendation};
use serde::Serialize;

use crate::cleanup_shell::{self, Narration, RunEnd, RunReport};
use crate::exit_code::{ABORTED, FAILURE, Failure, NOTHING_TO_FIX, PART_WAY};
use crate::report;
use crate::site_round::{Plan, Round, connect, diagnose_site_with_extras};
use crate::terminal_report::{self, PlanUse};

#[derive(Debug, Default)]
struct Options {
    url: String,
    backup_dir: PathBuf,
    yes: bool,
    full_reset: bool,
    json: bool,
    verbose: bool,
    nothing_is_deploying: bool,
    restart_app: bool,
    allowed_hosts: Vec<String>,
}

fn options(args: &[String]) -> Result<Options, Failure> {
    let mut o = Options {
        backup_dir: PathBuf::from("."),
        ..Options::default()
    };
    let mut url = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |what: &str| match inline.clone() {
            Some(v) => Ok(v),
            None => rest
                .next()
                .cloned()
                .ok_or_else(|| Failure::usage(format!("{flag} needs {what}"))),
        };
        match flag {
            "--backup-dir" => o.backup_dir = PathBuf::from(value("a folder")?),
            "--allow-host" => o.allowed_hosts.push(value("a host name")?),
            "--yes" | "-y" => o.yes = true,
            "--full-reset" => o.full_reset = true,
            "--json" => o.json = true,
            "--verbose" | "-v" => o.verbose = true,
            "--i-know-nothing-is-deploying" => o.nothing_is_deploying = true,
            "--restart-app" => o.restart_app = true,
            f if f.starts_with('-') => {
                return Err(Failure::usage(format!(
                    "fix: unknown option '{}'",
                    one_line(f, 40)
                )));
            }
            _ if url.is_some() => return Err(Failure::usage("fix takes one SCM URL")),
            _ => url = Some(arg.clone()),
        }
    }
    o.url = url.ok_or_else(|| {
        Failure::usage("fix needs the SCM URL, such as https://<app>.scm.azurewebsites.net")
    })?;
    Ok(o)
}

/// The last JSON event: how the command ended.
#[derive(Serialize)]
struct ResultEvent<'a> {
    event: &'static str,
    result: &'static str,
    exit_code: u8,
    message: &'a str,
    done: &'a [String],
    backup: Option<&'a std::path::Path>,
}

/// The JSON event for the diagnosis and the plan the run will follow.
#[derive(Serialize)]
struct DiagnosisEvent<'a> {
    event: &'static str,
    site: &'a str,
    primary: Option<&'static str>,
    causes: Vec<&'static str>,
    personality: Personality,
    clear: bool,
    blocked_by: &'a [String],
    plan: &'a CleanupPlan,
    /// Linux: the command that restarts the app, for the user to run (never run here).
    restart_command: Option<&'a str>,
}

/// Runs the subcommand on `args` (everything after `fix`).
pub fn run(args: &[String]) -> Result<(), Failure> {
    let o = options(args)?;
    let narration = Narration {
        json: o.json,
        verbose: o.verbose,
        text_to_stderr: false,
    };
    let client = connect(&o.url, &o.allowed_hosts)?;
    let origin = client.origin().clone();
    let (round, extras) = diagnose_site_with_extras(&client, Plan::Wanted)?;
    let plan = match (&round.plan, o.full_reset, &extras.session) {
        (_, true, Some(session)) => {
            plan::plan_full_reset(session, &round.diagnosis, FullResetOptions::default())
        }
        (Some(plan), false, _) => plan.clone(),
        _ => {
            return Err(Failure::new(
                FAILURE,
                "the diagnosis settled without its plan",
            ));
        }
    };
    let site_name = round
        .site_name
        .clone()
        .unwrap_or_else(|| origin.host().split('.').next().unwrap_or("").to_string());
    let restart = linux_restart(&round, &site_name, extras.resource_group.as_deref());
    let blockers = round.blockers();
    narration.emit(&DiagnosisEvent {
        event: "diagnosis",
        site: origin.as_str(),
        primary: round.diagnosis.primary().map(|f| f.cause.as_str()),
        causes: round
            .diagnosis
            .findings
            .iter()
            .map(|f| f.cause.as_str())
            .collect(),
        personality: round.diagnosis.personality,
        clear: blockers.is_empty(),
        blocked_by: &blockers,
        plan: &plan,
        restart_command: restart.as_deref(),
    });
    narration.say(
        terminal_report::render_with(&origin, &round.diagnosis, &plan, &blockers, PlanUse::Run)
            .trim_end(),
    );
    if let Some(command) = &restart {
        narration.say(&format!(
            "\nLINUX RESTART: Kudu on Linux has no restart API, so kudu-doctor never restarts the \
             app. To restart it, run:\n    {command}"
        ));
    }
    if round.needs_sign_in() {
        return Err(round.auth_failure(&client));
    }
    let end = |code: u8, result: &'static str, message: String, report: Option<&RunReport>| {
        finish(narration, code, result, message, report)
    };
    if !plan
        .steps
        .iter()
        .any(|s| s.kind.is_destructive() && (!s.optional || o.restart_app))
    {
        let why = match (&plan.not_offered, blockers.is_empty()) {
            (_, true) => "nothing to fix: a deployment could start now".to_string(),
            (Some(why), false) => format!("nothing the cleanup can fix: {}", one_line(why, 600)),
            (None, false) => format!(
                "nothing the cleanup can fix; a deployment would still get 409 while: {}",
                blockers.join("; ")
            ),
        };
        return end(NOTHING_TO_FIX, "nothing-to-fix", why, None);
    }
    let acknowledgement = match (&plan.requires_acknowledgement, o.nothing_is_deploying) {
        (Some(statement), false) => {
            return end(
                ABORTED,
                "aborted",
                format!(
                    "refusing: only silence in the log says the deployment stopped, so this \
                     cleanup needs your word: \"{}\". If you know that no deployment is \
                     running, run again with --i-know-nothing-is-deploying. Nothing was sent.",
                    one_line(statement, 400)
                ),
                None,
            );
        }
        (Some(_), true) => Acknowledgement::given(&plan),
        (None, _) => None,
    };
    let now = cleanup_shell::site_now(extras.clock_offset_ms);
    let run = if plan.kind == PlanKind::FullReset {
        let Some(confirmation) = typed_confirmation(&site_name, "run the FULL RESET")? else {
            return end(
                ABORTED,
                "aborted",
                "not confirmed: the typed name did not match; nothing was sent".into(),
                None,
            );
        };
        CleanupRun::new_full_reset(plan, confirmation, now)
    } else {
        if !o.yes && typed_confirmation(&site_name, "run this plan")?.is_none() {
            return end(
                ABORTED,
                "aborted",
                "not confirmed: the typed name did not match; nothing was sent".into(),
                None,
            );
        }
        CleanupRun::new(plan, &site_name, now)
    };
    let run = run
        .with_optional_steps(o.restart_app)
        .with_acknowledgement(acknowledgement)
        .with_before(round.diagnosis.clone());
    let report = cleanup_shell::drive(
        &client,
        run,
        extras.clock_offset_ms,
        &o.backup_dir,
        narration,
    );
    let backup = backup_words(&report);
    let restart_hint = restart
        .as_deref()
        .map(|c| format!(" To restart the app (never done here): {c}"))
        .unwrap_or_default();
    match &report.end {
        RunEnd::Fixed => end(
            0,
            "fixed",
            format!(
                "fixed: the final read shows no lock and nothing deploying. {backup}{restart_hint}"
            ),
            Some(&report),
        ),
        RunEnd::NothingDeleted { reason } => end(
            ABORTED,
            "aborted",
            format!("aborted, nothing was deleted: {reason} {backup}"),
            Some(&report),
        ),
        RunEnd::PartWay { reason } => end(
            PART_WAY,
            "failed-part-way",
            format!(
                "failed part way: {reason} Already done: {}. {backup} Run `kudu-doctor diagnose \
                 {}` to see the site as it is now.",
                report.done.join(", "),
                origin.as_str()
            ),
            Some(&report),
        ),
    }
}

/// Where the backup is, in words.
fn backup_words(report: &RunReport) -> String {
    match &report.backup {
        Some(b) => format!(
            "The backup is {} ({} bytes); to put a folder back, send its zip inside with PUT \
             /api/zip/<folder>/.",
            b.path.display(),
            b.bytes
        ),
        None => "No backup was saved.".into(),
    }
}

/// The final line (stdout for success, stderr otherwise) and the JSON result event.
fn finish(
    narration: Narration,
    code: u8,
    result: &'static str,
    message: String,
    report: Option<&RunReport>,
) -> Result<(), Failure> {
    narration.emit(&ResultEvent {
        event: "result",
        result,
        exit_code: code,
        message: &message,
        done: report.map_or(&[], |r| &r.done),
        backup: report
            .and_then(|r| r.backup.as_ref())
            .map(|b| b.path.as_path()),
    });
    if code == 0 {
        if !narration.json {
            report::stdout_line(&format!("kudu-doctor: {message}"))?;
        }
        Ok(())
    } else {
        Err(Failure::new(code, message))
    }
}

/// Linux: the `az webapp restart` line when the diagnosis recommends restarting the app.
fn linux_restart(round: &Round, site_name: &str, resource_group: Option<&str>) -> Option<String> {
    let wanted = round.diagnosis.personality == Personality::Linux
        && round
            .diagnosis
            .findings
            .iter()
            .any(|f| f.recommendations.contains(&Recommendation::RestartApp));
    wanted.then(|| restart_command(Some(site_name), resource_group))
}

/// Asks for the site name on stderr and reads one line from stdin: `Some` only when it is
/// exactly the site name. End of input counts as no.
fn typed_confirmation(site_name: &str, what: &str) -> Result<Option<Confirmation>, Failure> {
    report::note(&format!(
        "To {what}, type the site name ({site_name}) and press Enter:"
    ));
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::new(FAILURE, format!("cannot read the confirmation: {e}")))?;
    Ok(Confirmation::typed(
        site_name,
        line.trim_end_matches(['\r', '\n']),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit_code::USAGE;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_take_both_flag_forms() {
        let o = options(&args(&[
            "https://a.scm.azurewebsites.net",
            "--backup-dir=out",
            "--yes",
            "--json",
            "--i-know-nothing-is-deploying",
        ]))
        .unwrap();
        assert_eq!(o.backup_dir, PathBuf::from("out"));
        assert!(o.yes && o.json && o.nothing_is_deploying && !o.full_reset);
        let o = options(&args(&["--backup-dir", "b", "https://a"])).unwrap();
        assert_eq!(o.backup_dir, PathBuf::from("b"));
        assert_eq!(
            options(&args(&["https://a"])).unwrap().backup_dir,
            PathBuf::from(".")
        );
    }

    #[test]
    fn bad_options_are_usage_errors() {
        for a in [
            &[][..],
            &["https://a", "--backup-dir"][..],
            &["https://a", "https://b"][..],
            &["https://a", "--force"][..],
        ] {
            assert_eq!(options(&args(a)).err().unwrap().code, USAGE, "{a:?}");
        }
    }
}
