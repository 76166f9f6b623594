//! `kudu-doctor wait URL [--timeout 15m] [--interval 5s] [--allow-host HOST]
//! [--fix-stale --backup-dir DIR]`: the step before a deploy in CI. Re-diagnoses the site until
//! a deployment could start without a 409 (see [`crate::site_round::Round::blockers`] for what
//! "clear" means), printing what it waits for. With `--fix-stale`, a lock that only strong
//! evidence calls stale (and nothing else blocking) is cleared with the targeted cleanup, its
//! backup saved into DIR, and the wait goes on.

use std::time::{Duration, Instant};

use std::path::PathBuf;

use kudu_core::cleanup::CleanupRun;
use kudu_core::diagnose::BlockerKind;
use kudu_core::{CauseId, PlanKind};

use crate::cleanup_shell::{self, Narration, RunEnd};
use crate::duration_arg;
use crate::exit_code::{FAILURE, Failure, PART_WAY, TIMEOUT, USAGE};
use crate::report;
use crate::scm::ScmClient;
use crate::site_round::{Plan, Round, RoundExtras, connect, diagnose_site_with_extras};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

struct Options<'a> {
    url: &'a str,
    timeout: Duration,
    interval: Duration,
    /// Hosts the user allowed credentials to go to besides the SCM host forms.
    allowed_hosts: Vec<String>,
    /// `--fix-stale --backup-dir DIR`: clear a stale lock, backing up into DIR.
    fix_stale: Option<PathBuf>,
}

/// Cleanups one wait may run: a stale lock that comes back after two cleanups is not stale.
const MAX_CLEANUPS: u32 = 2;

fn options(args: &[String]) -> Result<Options<'_>, Failure> {
    let mut url = None;
    let mut timeout = DEFAULT_TIMEOUT;
    let mut interval = DEFAULT_INTERVAL;
    let mut allowed_hosts = Vec::new();
    let mut fix_stale = false;
    let mut backup_dir = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        match flag {
            "--allow-host" => allowed_hosts.push(match inline {
                Some(v) => v,
                None => rest
                    .next()
                    .cloned()
                    .ok_or_else(|| Failure::usage("--allow-host needs a host name"))?,
            }),
            "--fix-stale" => fix_stale = true,
            "--backup-dir" => {
                backup_dir = Some(PathBuf::from(match inline {
                    Some(v) => v,
                    None => rest
                        .next()
                        .cloned()
                        .ok_or_else(|| Failure::usage("--backup-dir needs a folder"))?,
                }));
            }
            "--timeout" | "--interval" => {
                let value = match inline {
                    Some(v) => v,
                    None => rest
                        .next()
                        .cloned()
                        .ok_or_else(|| Failure::usage(format!("{flag} needs a duration")))?,
                };
                let d = duration_arg::parse(&value)
                    .map_err(|e| Failure::usage(format!("{flag}: {e}")))?;
                if flag == "--timeout" {
                    timeout = d;
                } else if d.is_zero() {
                    return Err(Failure::usage("--interval must be more than 0"));
                } else {
                    interval = d;
                }
            }
            f if f.starts_with('-') => {
                return Err(Failure::usage(format!(
                    "wait: unknown option '{}'",
                    kudu_core::parse::one_line(f, 40)
                )));
            }
            _ if url.is_some() => return Err(Failure::usage("wait takes one SCM URL")),
            _ => url = Some(arg.as_str()),
        }
    }
    let url = url.ok_or_else(|| {
        Failure::new(
            USAGE,
            "wait needs the SCM URL, such as https://<app>.scm.azurewebsites.net",
        )
    })?;
    let fix_stale = match (fix_stale, backup_dir) {
        (true, Some(dir)) => Some(dir),
        (false, None) => None,
        (true, None) => {
            return Err(Failure::usage(
                "--fix-stale needs --backup-dir DIR: the backup of what it deletes goes there",
            ));
        }
        (false, Some(_)) => return Err(Failure::usage("--backup-dir is for --fix-stale")),
    };
    Ok(Options {
        url,
        timeout,
        interval,
        allowed_hosts,
        fix_stale,
    })
}

/// Runs the subcommand on `args` (everything after `wait`).
pub fn run(args: &[String]) -> Result<(), Failure> {
    let options = options(args)?;
    let client = connect(options.url, &options.allowed_hosts)?;
    let origin = client.origin().as_str().to_string();
    let started = Instant::now();
    let deadline = started + options.timeout;
    progress(&format!(
        "waiting until {origin} is free to deploy (timeout {}, checking every {})",
        duration_arg::show(options.timeout),
        duration_arg::show(options.interval)
    ));
    let plan = if options.fix_stale.is_some() {
        Plan::Wanted
    } else {
        Plan::NotWanted
    };
    let mut cleanups = 0;
    loop {
        let (blockers, last_round) = match diagnose_site_with_extras(&client, plan) {
            Ok((round, extras)) => {
                if round.needs_sign_in() {
                    return Err(round.auth_failure(&client));
                }
                if let Some(dir) = &options.fix_stale
                    && cleanups < MAX_CLEANUPS
                    && only_a_stale_lock(&round)
                {
                    cleanups += 1;
                    fix_stale_lock(&client, &round, extras, dir)?;
                    // Read the site again at once: the cleanup's own verify is not the wait's.
                    continue;
                }
                (round.blockers(), Some(round))
            }
            // The site answered the warm-up, so a round without any answer is a blip (a Kudu
            // restart, a front-end hiccup); keep waiting.
            Err(failure) if failure.code == FAILURE => (vec![failure.message], None),
            Err(failure) => return Err(failure),
        };
        if blockers.is_empty() {
            if let Some(finding) = last_round.as_ref().and_then(|r| {
                r.diagnosis
                    .findings
                    .iter()
                    .find(|f| f.cause == CauseId::RunFromPackageUrl)
            }) {
                // Not a lock, so not ours to wait for; the deploy will say so too.
                report::warning(&format!(
                    "no lock is held, but pushes will still get 409: {}",
                    kudu_core::parse::one_line(&finding.summary, 400)
                ));
            }
            return report::stdout_line(&format!(
                "kudu-doctor: {origin} is clear: nothing is deploying and no lock is held \
                 (waited {})",
                duration_arg::show_secs(secs(started.elapsed()))
            ));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(timed_out(
                &origin,
                options.timeout,
                &blockers,
                last_round.as_ref(),
            ));
        }
        let left = deadline - now;
        progress(&format!(
            "busy: {}; {} left",
            blockers.join("; "),
            duration_arg::show_secs(secs(left))
        ));
        std::thread::sleep(options.interval.min(left));
    }
}

/// The only blockers are a lock nothing uses, strong evidence says so (the plan needs no one's
/// word that nothing is deploying), and the targeted plan has something to do.
fn only_a_stale_lock(round: &Round) -> bool {
    let blockers = &round.diagnosis.deployability.blockers;
    let stale_only = !blockers.is_empty()
        && blockers
            .iter()
            .all(|b| matches!(b.kind, BlockerKind::StaleLock | BlockerKind::LockHeld));
    stale_only
        && round.plan.as_ref().is_some_and(|plan| {
            plan.kind == PlanKind::Targeted
                && plan.requires_acknowledgement.is_none()
                && plan
                    .steps
                    .iter()
                    .any(|s| s.kind.is_destructive() && !s.optional)
        })
}

/// Runs the targeted cleanup of a stale lock, saying exactly what it does. A run that stopped
/// with nothing deleted lets the wait go on (the site changed: perhaps a deployment began); one
/// that deleted something and then failed ends the wait, since a person must look.
fn fix_stale_lock(
    client: &ScmClient,
    round: &Round,
    extras: RoundExtras,
    backup_dir: &std::path::Path,
) -> Result<(), Failure> {
    let Some(plan) = round.plan.clone() else {
        return Ok(());
    };
    let site_name = round.site_name.clone().unwrap_or_else(|| {
        let host = client.origin().host();
        host.split('.').next().unwrap_or(host).to_string()
    });
    let cause = round
        .diagnosis
        .primary()
        .map(|f| f.cause.as_str())
        .unwrap_or("stale-lock");
    progress(&format!(
        "--fix-stale: the only blocker is a stale lock ({cause}) on strong evidence; running the \
         targeted cleanup ({} steps), backup into {}",
        plan.steps.len(),
        backup_dir.display()
    ));
    for step in plan
        .steps
        .iter()
        .filter(|s| s.kind.is_destructive() && !s.optional)
    {
        progress(&format!(
            "  planned: {} {}",
            step.request.method, step.request.path
        ));
    }
    let run = CleanupRun::new(
        plan,
        &site_name,
        cleanup_shell::site_now(extras.clock_offset_ms),
    )
    .with_before(round.diagnosis.clone());
    let narration = Narration {
        json: false,
        verbose: false,
        text_to_stderr: true,
    };
    let report = cleanup_shell::drive(client, run, extras.clock_offset_ms, backup_dir, narration);
    let backup = report
        .backup
        .as_ref()
        .map(|b| format!("backup {}", b.path.display()))
        .unwrap_or_else(|| "no backup saved".into());
    match report.end {
        RunEnd::Fixed => {
            progress(&format!(
                "--fix-stale: cleared the stale lock: {}; {backup}",
                report.done.join(", ")
            ));
            Ok(())
        }
        RunEnd::NothingDeleted { reason } => {
            progress(&format!(
                "--fix-stale: the cleanup stopped with nothing deleted ({reason}); waiting on"
            ));
            Ok(())
        }
        RunEnd::PartWay { reason } => Err(Failure::new(
            PART_WAY,
            format!(
                "--fix-stale: the cleanup failed part way: {reason} Already done: {}; {backup}. \
                 Run `kudu-doctor diagnose {}` to see the site as it is now.",
                report.done.join(", "),
                client.origin().as_str()
            ),
        )),
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn progress(text: &str) {
    report::note(&format!("kudu-doctor: {text}"));
}

/// The exit-3 failure; a stuck-looking lock gets a pointer to the tools that clear it.
fn timed_out(
    origin: &str,
    timeout: Duration,
    blockers: &[String],
    round: Option<&Round>,
) -> Failure {
    let pointer = format!(
        "open {origin}/ in a browser with Kudu Doctor installed, or run `kudu-doctor diagnose \
         {origin}`"
    );
    let advice = match round {
        Some(r) if r.looks_stuck() => {
            let cause = r
                .diagnosis
                .primary()
                .map(|f| f.cause.as_str())
                .unwrap_or("unknown");
            format!(
                "The lock looks stuck (cause: {cause}); waiting longer will not help. To see \
                 why and clear it safely, {pointer}."
            )
        }
        _ => format!("To see what it is doing, {pointer}."),
    };
    Failure::new(
        TIMEOUT,
        format!(
            "timed out after {}: {origin} is still busy: {}. {advice}",
            duration_arg::show(timeout),
            blockers.join("; ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_take_both_flag_forms_and_defaults() {
        let a = args(&["https://a.scm.azurewebsites.net", "--timeout", "2m"]);
        let o = options(&a).unwrap();
        assert_eq!(o.timeout, Duration::from_secs(120));
        assert_eq!(o.interval, DEFAULT_INTERVAL);
        let a = args(&["--interval=500ms", "https://a.scm.azurewebsites.net"]);
        let o = options(&a).unwrap();
        assert_eq!(o.interval, Duration::from_millis(500));
        assert_eq!(o.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn bad_options_are_usage_errors() {
        for a in [
            &[][..],
            &["https://a", "--timeout"][..],
            &["https://a", "--timeout", "soon"][..],
            &["https://a", "--interval", "0s"][..],
            &["https://a", "https://b"][..],
            &["https://a", "--force"][..],
            &["https://a", "--fix-stale"][..],
            &["https://a", "--backup-dir", "d"][..],
        ] {
            let failure = options(&args(a)).err().unwrap();
            assert_eq!(failure.code, USAGE, "{a:?}");
        }
    }
}
