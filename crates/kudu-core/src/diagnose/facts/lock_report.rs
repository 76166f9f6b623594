//! The lock inspector: who holds the deployment lock, since when, until when, and whether it
//! still does anything; plus every other file under `site/locks/` and what it means.
//!
//! Linux (KuduLite) keeps the lock as a directory `site/locks/deployment/` with `info.lock`
//! inside, honoured until `lockExpiry` (25 minutes after it was taken). Windows Kudu holds
//! `site/locks/deployments.lock` through an open file handle and deletes a file nobody holds as
//! soon as it checks, so a listed file means a live process (fact sheet §2.2, §2.3).

use crate::diagnose::facts::context::{
    LINUX_LOCK_LIFETIME_SECS, Liveness, ProcessSignal, RECENT_LOCK_SECS, RunningDeployment,
};
use crate::diagnose::facts::predicates::{autoswap_ongoing_since, status_lock_denied_message};
use crate::diagnose::facts::wording::{clock, duration, relative, short_id};
use crate::diagnose::{EvidenceStrength, IdleEvidence, LockReport, LockState, OtherLock};
use crate::model::*;
use crate::session::{Observed, Session};
use crate::time::Timestamp;

/// The Linux lock directory under `site/locks/`.
pub const LINUX_LOCK_DIR: &str = "deployment";
/// The Windows lock file under `site/locks/`.
pub const WINDOWS_LOCK_FILE: &str = "deployments.lock";

/// How a lock report says the lock is taken while the deployment list is unreadable.
pub const HELD_LIST_UNREAD: &str = "It is held; the deployment list could not be read, so \
                                    whether a deployment is still progressing is unknown.";

/// `site/locks/` lists KuduLite's lock directory `deployment/`.
fn lists_linux_lock_dir(session: &Session) -> bool {
    session
        .locks_dir
        .value()
        .is_some_and(|entries| entries.iter().any(|e| e.is_dir && e.name == LINUX_LOCK_DIR))
}

pub(crate) fn build(
    session: &Session,
    now: Timestamp,
    personality: Personality,
    running: &[RunningDeployment],
    deployments_known: bool,
    kudu_started: Option<Timestamp>,
    processes: &ProcessSignal,
) -> LockReport {
    if crate::diagnose::facts::predicates::flex_consumption_record(session).is_some() {
        // Whatever the lock reads gave (404 there, or files nothing uses): not this site's lock.
        return empty(
            LockState::Unknown,
            "This is a Flex Consumption app: its deployments do not use Kudu's deployment lock \
             files, so there is no lock here to inspect or clear. Its deployment records alone \
             say what runs.",
        );
    }
    let mut report = match personality {
        Personality::Windows => windows(session, now, running, deployments_known),
        Personality::Linux => linux(session, now, running, deployments_known),
        Personality::Unknown if session.info_lock.value().is_some() => {
            linux(session, now, running, deployments_known)
        }
        Personality::Unknown => empty(
            LockState::Unknown,
            "Kudu Doctor could not tell yet whether this is Linux or Windows App Service, so it \
             cannot say how the deployment lock is held.",
        ),
    };
    report.others = others(session, now, personality);
    if let Some(note) = crate::diagnose::facts::instances::report(session, &report).note {
        report.explanation = format!("{} {note}", report.explanation);
    }
    report.idle_evidence = idle_evidence(
        &report,
        now,
        running,
        deployments_known,
        kudu_started,
        processes,
    );
    report
}

/// How sure it is that nothing uses a held lock, for the states that say so (expired, orphaned,
/// or a Windows lock file with nothing progressing). Strong evidence: Kudu restarted after the
/// lock was taken, every running record stopped with a restart, or no record runs at all (the
/// run that took the lock has an outcome). Weak: a running record is only silent.
fn idle_evidence(
    report: &LockReport,
    now: Timestamp,
    running: &[RunningDeployment],
    deployments_known: bool,
    kudu_started: Option<Timestamp>,
    processes: &ProcessSignal,
) -> Option<IdleEvidence> {
    let idle_state = match report.state {
        LockState::Expired | LockState::Orphaned => true,
        LockState::Held => report.windows_lock_file && deployments_known,
        _ => false,
    };
    if !idle_state || running.iter().any(|r| r.liveness == Liveness::Progressing) {
        return None;
    }
    if let Some((taken, started)) = report
        .acquired
        .zip(kudu_started)
        .filter(|(taken, started)| taken < started)
    {
        return Some(IdleEvidence {
            strength: EvidenceStrength::Strong,
            reason: format!(
                "Kudu restarted at {} ({}), after the lock was taken at {}: the process that \
                 took it is gone.",
                clock(started, now),
                relative(started, now),
                clock(taken, now)
            ),
        });
    }
    if *processes == ProcessSignal::NoHolder
        && let Some(what) = processes.describe()
    {
        return Some(IdleEvidence {
            strength: EvidenceStrength::Strong,
            reason: format!(
                "On Windows the lock is an open handle, and {what}: whatever held it is gone."
            ),
        });
    }
    if let Some(quiet) = running.iter().find(|r| r.liveness == Liveness::LooksHung) {
        let silence = quiet
            .last_activity
            .map(|t| {
                let what = if quiet.log_read {
                    "no log line"
                } else {
                    "no change"
                };
                format!(" ({what} for {})", duration(t.secs_until(now)))
            })
            .unwrap_or_default();
        if let ProcessSignal::Idle { .. } = processes
            && let Some(what) = processes.describe()
        {
            return Some(IdleEvidence {
                strength: EvidenceStrength::Weak,
                reason: format!(
                    "Deployment {} looks stuck{silence} and {what}, but a build waiting on the \
                     network uses no CPU either: only the user can tell that nothing is deploying.",
                    short_id(quiet.id())
                ),
            });
        }
        return Some(IdleEvidence {
            strength: EvidenceStrength::Weak,
            reason: format!(
                "Only silence says deployment {} stopped{silence}: a build busy in a quiet step \
                 (npm ci, pip install, a post-deployment command) looks the same, and Kudu keeps \
                 such a step running as long as it uses CPU.",
                short_id(quiet.id())
            ),
        });
    }
    if !deployments_known {
        return None;
    }
    let reason = if running.is_empty() {
        "No deployment record is pending or building: the run that took the lock has an outcome."
            .to_string()
    } else {
        format!(
            "Kudu restarted after the last activity of every running deployment ({}).",
            running
                .iter()
                .map(|r| short_id(r.id()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Some(IdleEvidence {
        strength: EvidenceStrength::Strong,
        reason,
    })
}

fn empty(state: LockState, explanation: &str) -> LockReport {
    LockReport {
        state,
        holder_operation: None,
        worker: None,
        pid: None,
        acquired: None,
        expires: None,
        secs_left: None,
        windows_lock_file: false,
        explanation: explanation.to_string(),
        others: vec![],
        idle_evidence: None,
    }
}

/// Why the lock is or is not doing its job: a running deployment that is not hung, a scan, or
/// an operation taken just now. `None` when nothing progresses.
fn progress_reason(
    session: &Session,
    now: Timestamp,
    running: &[RunningDeployment],
    acquired: Option<Timestamp>,
) -> Option<String> {
    if let Some(r) = running.iter().find(|r| !r.hung()) {
        let since = r
            .last_activity
            .map(|t| format!(", last active at {}", clock(t, now)))
            .unwrap_or_default();
        return Some(format!(
            "deployment {} by {} is {}{since}",
            short_id(r.id()),
            r.deployment.deployer,
            r.deployment.status.as_str(),
        ));
    }
    if session
        .is_deploying
        .value()
        .is_some_and(|d| d.deploying && d.message.to_ascii_lowercase().contains("scan"))
    {
        return Some("a malware scan holds it (/api/isdeploying says 'Scan Underway')".into());
    }
    if let Some(t) = acquired
        && t.secs_until(now) < RECENT_LOCK_SECS
    {
        return Some(format!(
            "it was taken only {} ago, before any record could show",
            duration(t.secs_until(now))
        ));
    }
    None
}

/// The newest deployment was cancelled (status -1 or 5, which a live Kudu writes, facts §1.2)
/// after `written` and within one lock lifetime of `now`: the cancelled run may still be
/// winding down with the handle open (§2.2), so a listed Windows lock file is not taken for a
/// leftover. A run that died is marked Failed instead, and its handle died with it.
fn cancelled_after(session: &Session, now: Timestamp, written: Option<Timestamp>) -> bool {
    let Some(deployments) = session.deployments.value() else {
        return false;
    };
    let Some(newest) = deployments
        .iter()
        .filter(|d| !d.temp)
        .max_by_key(|d| d.received)
    else {
        return false;
    };
    let cancelled = matches!(
        newest.status,
        DeployStatus::Cancelled | DeployStatus::Conflict
    );
    match (newest.ended, written) {
        (Some(end), Some(written)) => {
            cancelled && written <= end && end.secs_until(now) <= LINUX_LOCK_LIFETIME_SECS
        }
        _ => false,
    }
}

fn no_progress_reason(running: &[RunningDeployment], now: Timestamp) -> String {
    match running.first() {
        Some(r) => {
            let what = if r.log_read {
                "its log has had no new line"
            } else {
                "it began"
            };
            let when = r
                .last_activity
                .map(|t| format!(" since {} ({})", clock(t, now), relative(t, now)))
                .unwrap_or_default();
            let verdict = match r.liveness {
                Liveness::Dead => "stopped (Kudu restarted, or nothing holds the lock)",
                _ => "looks hung",
            };
            format!(
                "deployment {} is still '{}' but {verdict}: {what}{when}",
                short_id(r.id()),
                r.deployment.status.as_str()
            )
        }
        None => "no deployment record is running and no temp- item is pending".into(),
    }
}

fn linux(
    session: &Session,
    now: Timestamp,
    running: &[RunningDeployment],
    deployments_known: bool,
) -> LockReport {
    let is_deploying = session.is_deploying.value().map(|d| d.deploying);
    let info = match &session.info_lock {
        Observed::Value(info) => Some(info.clone()),
        Observed::Missing if is_deploying != Some(true) => {
            return empty(
                LockState::Free,
                "No deployment lock: site/locks/deployment/info.lock does not exist and \
                 /api/isdeploying does not say otherwise.",
            );
        }
        _ if is_deploying == Some(false) => {
            return empty(
                LockState::Free,
                "No deployment lock: /api/isdeploying says False (info.lock could not be read).",
            );
        }
        _ if is_deploying == Some(true) => None,
        // Neither read answered, but site/locks/ lists the lock directory. KuduLite removes it
        // on release, but a cleanup that deleted only info.lock leaves it empty (free); with
        // no read to tell, it counts as held with its details unknown (waiting is safer).
        _ if lists_linux_lock_dir(session) => None,
        _ => {
            return empty(
                LockState::Unknown,
                "Neither /api/isdeploying nor site/locks/deployment/info.lock could be read, so \
                 the deployment lock's state is unknown.",
            );
        }
    };
    let mut report = empty(LockState::Unknown, "");
    let holder = info.as_ref().and_then(|i| i.holder_operation.clone());
    report.holder_operation = holder.clone();
    report.worker = info.as_ref().and_then(|i| i.worker.clone());
    report.pid = info.as_ref().and_then(|i| i.pid);
    report.expires = info.as_ref().and_then(|i| i.expires);
    report.acquired = info.as_ref().and_then(|i| i.acquired).or_else(|| {
        report
            .expires
            .map(|e| e.plus_secs(-LINUX_LOCK_LIFETIME_SECS))
    });
    report.secs_left = report.expires.map(|e| now.secs_until(e));

    let held_by = format!(
        "info.lock held by '{}'{}{}",
        holder.as_deref().unwrap_or("an unnamed operation"),
        report
            .acquired
            .map(|t| format!(" since {}", clock(t, now)))
            .unwrap_or_default(),
        report
            .worker
            .as_deref()
            // Worker ids are 64 hex digits; the lock inspector shows the whole id.
            .map(|w| format!(" on worker {}", short_id(w)))
            .unwrap_or_default(),
    );
    let expiry = match report.expires {
        Some(e) if e <= now => format!("expired at {} ({})", clock(e, now), relative(e, now)),
        Some(e) => format!("expires at {} ({})", clock(e, now), relative(e, now)),
        None => "its expiry could not be read".to_string(),
    };
    let expired = report.expires.is_some_and(|e| e <= now);
    // Progress before expiry: a build may outlive KuduLite's 25-minute lock (it is never
    // refreshed, fact sheet §2.3), and a lock whose holder is still working is never stale.
    if let Some(why) = progress_reason(session, now, running, report.acquired) {
        report.state = LockState::Live;
        report.explanation = if expired {
            format!(
                "{held_by}, {expiry}, but it is still in use: {why}. KuduLite never refreshes \
                 its lock, so a long build outlives it; do not delete it while that build runs, \
                 and do not start another deployment until it ends."
            )
        } else {
            format!(
                "{held_by}, {expiry}. It is doing its job: {why}. New deployments get 409 until \
                 it is released."
            )
        };
        return report;
    }
    if expired {
        report.state = LockState::Expired;
        report.explanation = format!(
            "{held_by}, {expiry}, and nothing is using it: {}. KuduLite should ignore an \
             expired lock and delete site/locks/deployment/ at its next lock check; if \
             /api/isdeploying still says True, it has not, and deployments still get 409.",
            no_progress_reason(running, now)
        );
        return report;
    }
    if !deployments_known {
        // Orphaned needs the list (nothing running) and Live needs progress; what the lock
        // reads do show is that it is taken, so say that rather than "unknown".
        report.state = LockState::Held;
        report.explanation = format!(
            "{held_by}, {expiry}. {HELD_LIST_UNREAD} New deployments get 409 until it is \
             released."
        );
        return report;
    }
    report.state = LockState::Orphaned;
    report.explanation = format!(
        "{held_by}, {expiry}, but nothing is using it: {}. Until it expires every deployment \
         gets 409; deleting site/locks/deployment/ releases it at once.",
        no_progress_reason(running, now)
    );
    report
}

fn windows(
    session: &Session,
    now: Timestamp,
    running: &[RunningDeployment],
    deployments_known: bool,
) -> LockReport {
    let listed = match &session.locks_dir {
        Observed::Value(entries) => entries
            .iter()
            .find(|e| !e.is_dir && e.name.eq_ignore_ascii_case(WINDOWS_LOCK_FILE)),
        Observed::Missing => {
            return empty(
                LockState::Free,
                "site/locks/ does not exist, so no process holds the deployment lock.",
            );
        }
        _ => {
            return empty(
                LockState::Unknown,
                "site/locks/ could not be listed, so Kudu Doctor cannot tell whether a process \
                 holds deployments.lock.",
            );
        }
    };
    let Some(file) = listed else {
        return empty(
            LockState::Free,
            "deployments.lock is not listed in site/locks/, so no process holds the deployment \
             lock. On Windows a leftover lock file cannot block: Kudu deletes it when it checks.",
        );
    };
    let mut report = empty(LockState::Held, "");
    report.windows_lock_file = true;
    report.acquired = file.modified;
    let since = file
        .modified
        .map(|t| format!(" (written at {})", clock(t, now)))
        .unwrap_or_default();
    let latest_pending = session.latest.value().is_some_and(|l| l.http_status == 202);
    let progress = progress_reason(session, now, running, file.modified);
    if !deployments_known && progress.is_none() {
        // "Every deployment finished" needs the list; without it a listed file may be a live
        // handle, and neither "leftover" nor "nothing progresses" can be claimed.
        report.explanation = format!(
            "deployments.lock is listed in site/locks/{since}. {HELD_LIST_UNREAD} Windows Kudu \
             deletes a lock file nobody holds as soon as it checks, so a listed file usually \
             means a live process still holds its handle."
        );
        return report;
    }
    if running.is_empty()
        && !latest_pending
        && progress.is_none()
        && !cancelled_after(session, now, file.modified)
    {
        // Kudu deletes a lock file nobody holds only when something checks it; with every
        // deployment finished and `latest` not 202, the file is a leftover without a handle.
        report.state = LockState::Free;
        report.explanation = format!(
            "deployments.lock is listed in site/locks/{since}, but Kudu reports no unfinished \
             deployment, so it is most likely a leftover with no open handle. Windows Kudu \
             ignores such a file and deletes it at its next check; it does not block."
        );
        return report;
    }
    let meaning = "Windows Kudu deletes a lock file nobody holds as soon as it checks, so a \
                   listed file means a live process still holds its handle. Deleting the file \
                   does nothing (Kudu answers 404); restarting the Kudu that holds it releases \
                   it (DELETE /api/processes/0 restarts the Kudu of the instance it reaches).";
    match progress {
        Some(why) => {
            report.state = LockState::Live;
            report.explanation =
                format!("deployments.lock is listed in site/locks/{since} and {why}. {meaning}");
        }
        None => {
            report.explanation = format!(
                "deployments.lock is listed in site/locks/{since}, but {}. {meaning}",
                no_progress_reason(running, now)
            );
        }
    }
    report
}

fn others(session: &Session, now: Timestamp, personality: Personality) -> Vec<OtherLock> {
    let Some(entries) = session.locks_dir.value() else {
        return vec![];
    };
    let windows = personality == Personality::Windows;
    entries
        .iter()
        .filter(|e| {
            let is_deploy_lock = if windows {
                e.name.eq_ignore_ascii_case(WINDOWS_LOCK_FILE)
            } else {
                e.name == LINUX_LOCK_DIR && e.is_dir
            };
            !is_deploy_lock
        })
        .map(|e| {
            let (meaning, blocking) = meaning_of(session, now, windows, e);
            OtherLock {
                name: e.name.clone(),
                modified: e.modified,
                meaning,
                blocking,
            }
        })
        .collect()
}

fn meaning_of(session: &Session, now: Timestamp, windows: bool, e: &VfsEntry) -> (String, bool) {
    match e.name.to_ascii_lowercase().as_str() {
        "status.lock" if windows => (
            "Taken around every status.xml read or write; Windows Kudu deletes it on release, so \
             it normally disappears within seconds."
                .into(),
            false,
        ),
        "status.lock" => {
            let denied = status_lock_denied_message(session).is_some();
            let text = if denied {
                "Kudu was denied access to this file (wrong owner or permissions), so every \
                 deployment status read and write fails until it is deleted."
            } else {
                "Taken around every status.xml read or write. On Linux it stays after every use \
                 (only Windows deletes it), so its presence is normal and harmless."
            };
            (text.into(), denied)
        }
        "autoswap.lock" => {
            let ongoing = autoswap_ongoing_since(session, now).is_some();
            let written = e
                .modified
                .map(|t| format!(" Last written at {} ({}).", clock(t, now), relative(t, now)))
                .unwrap_or_default();
            (
                format!(
                    "Written when Kudu asks for an auto swap; a swap counts as ongoing for 2 \
                     minutes after that, and only when WEBSITE_SWAP_SLOTNAME is set.{written}"
                ),
                ongoing,
            )
        }
        "hooks.lock" => (
            "Web hook bookkeeping; it does not block deployments.".into(),
            false,
        ),
        "sshkey.lock" => (
            "SSH key generation; it does not block deployments.".into(),
            false,
        ),
        "scan.lock" => {
            let scanning = session
                .is_deploying
                .value()
                .is_some_and(|d| d.deploying && d.message.to_ascii_lowercase().contains("scan"));
            (
                "Malware scan bookkeeping; a running scan holds the deployment lock and \
                 /api/isdeploying then says 'Scan Underway'."
                    .into(),
                scanning,
            )
        }
        "deployments.lock" => (
            "Not used by KuduLite (its lock is the deployment/ directory); harmless here.".into(),
            false,
        ),
        _ => (
            "Not a lock Kudu Doctor knows; it is left alone.".into(),
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnose::facts::context::Context;
    use crate::diagnose::test_session::*;
    use crate::diagnose::{LockReport, LockState};
    use crate::model::DeployStatus;
    use crate::session::{Observed, Session};

    fn report(s: &Session) -> LockReport {
        Context::new(s, at(12, 0, 0)).lock
    }

    #[test]
    fn a_long_worker_id_is_shortened_in_words_and_kept_whole_in_the_report() {
        let worker = "05be397cd4ff388cb689fe6ef950e0c1961b6e95fbc8eb3ddfcb4c40f5f5d935";
        let mut s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 50, 0))
            .build();
        if let Observed::Value(info) = &mut s.info_lock {
            info.worker = Some(worker.to_string());
        }
        let r = report(&s);
        assert!(
            r.explanation.contains(" on worker 05be397c,"),
            "{}",
            r.explanation
        );
        assert!(!r.explanation.contains(worker), "{}", r.explanation);
        assert_eq!(r.worker.as_deref(), Some(worker));
    }

    #[test]
    fn linux_states_follow_expiry_and_progress() {
        assert_eq!(report(&Site::linux().build()).state, LockState::Free);

        let live = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 50, 0))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 50, 1),
                None,
            ))
            .build();
        let r = report(&live);
        assert_eq!(r.state, LockState::Live);
        assert_eq!(r.secs_left, Some(900));
        assert_eq!(r.pid, Some(93));
        assert!(r.explanation.starts_with("info.lock held by 'Performing continuous deployment' since 11:50:00 UTC on worker a1b2c3d4e5f6, expires at 12:15:00 UTC (in 15 min)"), "{}", r.explanation);

        let orphaned = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 50, 0))
            .build();
        assert_eq!(report(&orphaned).state, LockState::Orphaned);

        let expired = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 0, 0))
            .build();
        let r = report(&expired);
        assert_eq!(r.state, LockState::Expired);
        assert_eq!(r.secs_left, Some(-2100));
    }

    #[test]
    fn linux_without_the_deployment_list_cannot_call_a_lock_orphaned() {
        let mut s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 50, 0))
            .build();
        s.deployments = Observed::Failed {
            status: 500,
            reason: "boom".into(),
        };
        let r = report(&s);
        assert_eq!(r.state, LockState::Held);
        assert!(
            r.explanation.contains(
                "held; the deployment list could not be read, so whether a deployment is still \
                 progressing is unknown"
            ),
            "{}",
            r.explanation
        );
        assert_eq!(r.secs_left, Some(900));
    }

    #[test]
    fn linux_lock_dir_alone_still_reads_as_held() {
        let mut s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 50, 0))
            .build();
        s.deployments = Observed::Failed {
            status: 503,
            reason: "Service Unavailable".into(),
        };
        s.info_lock = Observed::Failed {
            status: 503,
            reason: "Service Unavailable".into(),
        };
        s.is_deploying = Observed::Failed {
            status: 503,
            reason: "Service Unavailable".into(),
        };
        assert_eq!(report(&s).state, LockState::Held);
        // Near miss: without the listed lock directory nothing shows a lock.
        if let Observed::Value(list) = &mut s.locks_dir {
            list.retain(|e| e.name != "deployment");
        }
        assert_eq!(report(&s).state, LockState::Unknown);
    }

    #[test]
    fn windows_without_the_deployment_list_keeps_a_listed_file_held() {
        let mut s = Site::windows()
            .list_lock(file("deployments.lock", at(11, 20, 0)))
            .build();
        s.deployments = Observed::Failed {
            status: 503,
            reason: "Service Unavailable".into(),
        };
        let r = report(&s);
        assert_eq!(r.state, LockState::Held);
        assert!(r.windows_lock_file);
        assert!(
            r.explanation
                .contains("the deployment list could not be read"),
            "{}",
            r.explanation
        );
    }

    #[test]
    fn windows_states_follow_the_listed_file() {
        assert_eq!(report(&Site::windows().build()).state, LockState::Free);

        let held = Site::windows()
            .list_lock(file("deployments.lock", at(11, 20, 0)))
            .deployment(deployment(
                "c0c0",
                DeployStatus::Building,
                "ZipDeploy",
                at(11, 20, 0),
                None,
            ))
            .build();
        let r = report(&held);
        assert_eq!(r.state, LockState::Held);
        assert!(r.windows_lock_file);

        // Listed, but every deployment finished: a leftover file without a handle.
        let stale = Site::windows()
            .list_lock(file("deployments.lock", at(11, 20, 0)))
            .build();
        let r = report(&stale);
        assert_eq!(r.state, LockState::Free);
        assert!(r.windows_lock_file);
        assert!(
            r.explanation.contains("does not block"),
            "{}",
            r.explanation
        );

        let mut unread = Site::windows().build();
        unread.locks_dir = Observed::Failed {
            status: 502,
            reason: "Bad Gateway".into(),
        };
        assert_eq!(report(&unread).state, LockState::Unknown);
    }

    #[test]
    fn other_locks_say_what_they_mean() {
        let s = Site::linux()
            .setting("WEBSITE_SWAP_SLOTNAME", "production")
            .list_lock(file("autoswap.lock", at(11, 59, 0)))
            .list_lock(file("hooks.lock", at(9, 0, 0)))
            .list_lock(file("mystery.lock", at(9, 0, 0)))
            .build();
        let r = report(&s);
        let by_name = |n: &str| r.others.iter().find(|o| o.name == n).unwrap();
        assert!(!by_name("status.lock").blocking);
        assert!(
            by_name("status.lock")
                .meaning
                .contains("normal and harmless")
        );
        assert!(by_name("autoswap.lock").blocking);
        assert!(!by_name("hooks.lock").blocking);
        assert!(by_name("mystery.lock").meaning.contains("left alone"));

        let mut denied = Site::linux().build();
        denied.lock_errors.push((
            crate::reads::ReadId::Deployments,
            500,
            "Access to the path '/home/site/locks/status.lock' is denied.".into(),
        ));
        let r = report(&denied);
        assert!(
            r.others
                .iter()
                .any(|o| o.name == "status.lock" && o.blocking)
        );
    }
}
