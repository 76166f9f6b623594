//! Runs a cleanup plan against a live site: this shell drives the core's [`CleanupRun`] as the
//! wizard's `use_cleanup_run` does. It sends every request the run hands out at once (one
//! thread each; the run bounds how many are in flight), hands each answer back the moment it
//! arrives with the site's clock, sleeps until the run's timer when it waits (Kudu coming back
//! after a restart, a throttled delete's back-off), and tells each step as it goes.
//!
//! The backup: as soon as the run has checked both archives and waits for the user to hold
//! the file ([`CleanupRun::awaiting_backup_saved`]), the backup goes to the backup folder, is
//! read back, checked to open as a zip holding both folders' archives, and what was read back
//! is handed to [`CleanupRun::backup_saved`] as the receipt, which checks its name, size and
//! CRC-32 against the run's own bytes. A backup that cannot be saved or does not match stops
//! the run before its first re-check, so nothing is deleted.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use kudu_core::cleanup::zip_index::read_index;
use kudu_core::cleanup::{BackupReceipt, CleanupRun, Outcome, RunEvent, RunReply, StepState};
use kudu_core::cleanup::{RequestId, backup::nested_name};
use kudu_core::parse::one_line;
use kudu_core::plan::paths::{DEPLOYMENTS_DIR, LOCKS_DIR};
use kudu_core::{CleanupPlan, Timestamp};
use serde::Serialize;

use crate::report;
use crate::scm::ScmClient;
use crate::site_round::system_now;

/// Where the run's story goes and in what form.
#[derive(Clone, Copy, Debug)]
pub struct Narration {
    /// One JSON event per line on stdout instead of text.
    pub json: bool,
    /// Every request and its answer, as they are answered.
    pub verbose: bool,
    /// Text lines go to stderr (`wait`, whose stdout is its one final line) instead of stdout.
    pub text_to_stderr: bool,
}

impl Narration {
    /// A progress line (text mode only).
    pub fn say(&self, text: &str) {
        if self.json {
            return;
        }
        if self.text_to_stderr {
            report::note(&format!("kudu-doctor: {text}"));
        } else {
            // A closed stdout must not stop a run half-way: the run goes on to its end.
            let _ = report::stdout_line(text);
        }
    }

    /// A JSON event (JSON mode only): one object on one line.
    pub fn emit(&self, event: &impl Serialize) {
        if !self.json {
            return;
        }
        match serde_json::to_string(event) {
            Ok(line) => {
                let _ = report::stdout_line(&line);
            }
            Err(e) => report::warning(&format!("cannot write a JSON event: {e}")),
        }
    }
}

/// The backup file as saved and checked.
#[derive(Clone, Debug, Serialize)]
pub struct SavedBackup {
    pub path: PathBuf,
    pub bytes: usize,
}

/// How a run ended, as the exit code sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// The final read shows the lock free and nothing deploying.
    Fixed,
    /// Stopped (or refused) before anything destructive was sent.
    NothingDeleted { reason: String },
    /// Something was deleted or restarted, then the run failed or stopped.
    PartWay { reason: String },
}

/// What a run did.
pub struct RunReport {
    pub end: RunEnd,
    /// `METHOD path` of every destructive step that succeeded, in plan order.
    pub done: Vec<String>,
    pub backup: Option<SavedBackup>,
}

/// One JSON event of the shell's own (the run's events are the core's `RunEvent`s).
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
enum ShellEvent<'a> {
    BackupSaved {
        path: &'a Path,
        bytes: usize,
    },
    Request {
        method: &'a str,
        path: &'a str,
        status: Option<u16>,
        excerpt: &'a str,
        transport_error: Option<&'a str>,
    },
}

/// Runs `run` to its end against `client`, saving the backup into `backup_dir`.
pub fn drive(
    client: &ScmClient,
    mut run: CleanupRun,
    clock_offset_ms: i64,
    backup_dir: &Path,
    narration: Narration,
) -> RunReport {
    let now = || site_now(clock_offset_ms);
    let plan = run.plan().clone();
    let mut backup = None;
    let mut stopped: Option<String> = None;
    let mut logged = 0;
    let (tx, rx) = mpsc::channel::<(RequestId, RunReply)>();
    std::thread::scope(|scope| {
        loop {
            if let Err(why) = tell_events(&mut run, &plan, narration).and_then(|()| {
                hand_over_backup(&mut run, backup_dir, &mut backup, narration, now())
            }) {
                stopped = Some(why);
                break;
            }
            if run.outcome().is_some() {
                break;
            }
            for request in run.poll_requests(now()) {
                let tx = tx.clone();
                scope.spawn(move || {
                    let reply = client.send_run(&request);
                    // The receiver outlives every sender in this scope.
                    let _ = tx.send((request.id, reply));
                });
            }
            if let Err(why) = tell_events(&mut run, &plan, narration) {
                stopped = Some(why);
                break;
            }
            if run.outcome().is_some() {
                break;
            }
            let wake = run
                .poll_timeout()
                .map(|at| millis(at.unix_millis() - now().unix_millis()));
            if run.in_flight() == 0 {
                match wake {
                    Some(wait) => std::thread::sleep(wait),
                    None => {
                        stopped = Some(
                            "the cleanup run waits for nothing and sends nothing; it cannot go on"
                                .into(),
                        );
                        break;
                    }
                }
                continue;
            }
            // Every request has its own timeout, so an answer always comes; a timer that is
            // due first (a throttled delete's back-off) wakes the loop earlier.
            let answer = match wake {
                Some(wait) => rx.recv_timeout(wait).ok(),
                None => rx.recv().ok(),
            };
            if let Some((id, reply)) = answer {
                run.handle_reply(id, reply, now());
                if narration.verbose {
                    logged = tell_answers(&run, logged, narration);
                }
            }
        }
    });
    if narration.verbose {
        tell_answers(&run, logged, narration);
    }
    let done = done_steps(&plan, run.step_states());
    let end = match (run.outcome(), stopped) {
        (Some(Outcome::Fixed), _) => RunEnd::Fixed,
        (Some(Outcome::Aborted { reason, changes }), _) => {
            let reason = with_changes(reason, changes);
            if done.is_empty() {
                RunEnd::NothingDeleted { reason }
            } else {
                RunEnd::PartWay { reason }
            }
        }
        (
            Some(Outcome::Failed {
                step,
                state_description,
            }),
            _,
        ) => {
            let failed = step
                .as_ref()
                .map(|s| {
                    format!(
                        "{} {} failed ({}: {}). ",
                        s.method,
                        s.path,
                        s.status,
                        one_line(&s.reason, 300)
                    )
                })
                .unwrap_or_default();
            let reason = format!("{failed}{}", one_line(state_description, 600));
            if done.is_empty() {
                RunEnd::NothingDeleted { reason }
            } else {
                RunEnd::PartWay { reason }
            }
        }
        (None, Some(reason)) if done.is_empty() => RunEnd::NothingDeleted { reason },
        (None, reason) => RunEnd::PartWay {
            reason: reason.unwrap_or_else(|| "the run stopped before its end".into()),
        },
    };
    RunReport { end, done, backup }
}

/// The site's time: this machine's clock plus the offset the diagnosis measured from the
/// replies' `Date` headers. A run works on the site's time, as the wizard's does.
pub fn site_now(clock_offset_ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(system_now().unix_millis().saturating_add(clock_offset_ms))
}

fn millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn with_changes(reason: &str, changes: &[String]) -> String {
    if changes.is_empty() {
        return one_line(reason, 600);
    }
    let list: Vec<String> = changes.iter().map(|c| one_line(c, 300)).collect();
    format!(
        "{} What changed: {}",
        one_line(reason, 600),
        list.join("; ")
    )
}

/// `METHOD path` of the destructive steps that succeeded.
pub fn done_steps(plan: &CleanupPlan, states: &[StepState]) -> Vec<String> {
    plan.steps
        .iter()
        .zip(states)
        .filter(|(step, state)| {
            step.kind.is_destructive() && matches!(state, StepState::Done { .. })
        })
        .map(|(step, _)| format!("{} {}", step.request.method, step.request.path))
        .collect()
}

/// Tells the run's new events.
fn tell_events(
    run: &mut CleanupRun,
    plan: &CleanupPlan,
    narration: Narration,
) -> Result<(), String> {
    while let Some(event) = run.poll_event() {
        narration.emit(&event);
        if let Some(line) = describe(&event, plan, run.step_states()) {
            narration.say(&line);
        }
    }
    Ok(())
}

/// When the run waits for the user to hold its backup: writes it into `backup_dir`, reads it
/// back and gives the run the receipt of what was read. The one place the run learns that the
/// backup is safe; an error stops the run before anything destructive.
fn hand_over_backup(
    run: &mut CleanupRun,
    backup_dir: &Path,
    backup: &mut Option<SavedBackup>,
    narration: Narration,
    now: Timestamp,
) -> Result<(), String> {
    if !run.awaiting_backup_saved() || backup.is_some() {
        return Ok(());
    }
    let Some((name, bytes)) = run.backup_file_ref() else {
        return Err("the run waits for its backup to be saved but holds none".into());
    };
    let name = name.to_string();
    let (saved, read_back) = save_backup(backup_dir, &name, bytes)
        .map_err(|e| format!("the backup could not be saved: {e}"))?;
    run.backup_saved(&BackupReceipt::read_back(&name, &read_back), now)
        .map_err(|e| {
            format!(
                "the backup saved as {} was refused: {e}",
                saved.path.display()
            )
        })?;
    narration.emit(&ShellEvent::BackupSaved {
        path: &saved.path,
        bytes: saved.bytes,
    });
    narration.say(&format!(
        "backup saved and checked: {} ({} bytes)",
        saved.path.display(),
        saved.bytes
    ));
    *backup = Some(saved);
    Ok(())
}

/// Every answered request after the first `from` of the run's log; returns how far it got.
/// Answers come in any order, so the log is told up to its first unanswered entry.
fn tell_answers(run: &CleanupRun, from: usize, narration: Narration) -> usize {
    let log = run.log();
    let mut next = from;
    while let Some(entry) = log.get(next) {
        if entry.status.is_none() && entry.transport_error.is_none() {
            break;
        }
        narration.emit(&ShellEvent::Request {
            method: &entry.method,
            path: &entry.path,
            status: entry.status,
            excerpt: &entry.excerpt,
            transport_error: entry.transport_error.as_deref(),
        });
        let answer = match (&entry.transport_error, entry.status) {
            (Some(e), _) => format!("no answer ({})", one_line(e, 200)),
            (None, Some(status)) => format!("{status} {}", one_line(&entry.excerpt, 120)),
            (None, None) => "no answer".into(),
        };
        narration.say(&format!(
            "  {} {} -> {}",
            entry.method,
            entry.path,
            answer.trim_end()
        ));
        next += 1;
    }
    next
}

/// A progress line for an event, or `None` for events a group line already covers.
fn describe(event: &RunEvent, plan: &CleanupPlan, states: &[StepState]) -> Option<String> {
    Some(match event {
        RunEvent::BackupStarted => "backing up site/locks/ and site/deployments/".into(),
        RunEvent::BackupChecked {
            dir,
            entries,
            bytes,
        } => format!("backup of {dir} checked: {entries} entries, {bytes} bytes"),
        // The shell's own line says where the file is.
        RunEvent::BackupReady { .. } | RunEvent::BackupSaved { .. } => return None,
        RunEvent::RecheckStarted { group } => {
            format!("group {group}: re-reading the site before its steps")
        }
        RunEvent::RecheckPassed { group, notes } if notes.is_empty() => {
            format!("group {group}: nothing changed since the diagnosis")
        }
        RunEvent::RecheckPassed { group, notes } => format!(
            "group {group}: nothing changed but the run's own doing ({})",
            notes
                .iter()
                .map(|n| one_line(n, 200))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        RunEvent::StepStarted { .. } | RunEvent::StepDone { .. } => return None,
        RunEvent::StepFailed { step, reason } => format!(
            "failed: {}: {}",
            plan.steps
                .get(*step)
                .map(|s| format!("{} {}", s.request.method, s.request.path))
                .unwrap_or_default(),
            one_line(reason, 300)
        ),
        RunEvent::GroupDone { group } => group_line(*group, plan, states),
        RunEvent::WaitingForKudu { until } => format!(
            "waiting for Kudu to answer again after its restart (until {})",
            until.to_rfc3339()
        ),
        RunEvent::KuduAnswers => "Kudu answers again".into(),
        RunEvent::VerifyStarted => "verifying: reading the site again".into(),
        RunEvent::Finished { outcome } => format!("run finished: {}", outcome.as_str()),
    })
}

/// `group 2: 3 of 3 done: DELETE /api/vfs/...`, naming at most a few requests.
fn group_line(group: u32, plan: &CleanupPlan, states: &[StepState]) -> String {
    const NAMED: usize = 5;
    let in_group: Vec<(usize, &kudu_core::Step)> = plan
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.group == group && s.kind.is_destructive())
        .collect();
    let done: Vec<String> = in_group
        .iter()
        .filter(|(i, _)| matches!(states.get(*i), Some(StepState::Done { .. })))
        .map(|(_, s)| format!("{} {}", s.request.method, s.request.path))
        .collect();
    let failed = in_group
        .iter()
        .filter(|(i, _)| matches!(states.get(*i), Some(StepState::Failed { .. })))
        .count();
    let mut line = format!("group {group}: {} of {} done", done.len(), in_group.len());
    if failed > 0 {
        line.push_str(&format!(", {failed} failed"));
    }
    if !done.is_empty() {
        let more = done.len().saturating_sub(NAMED);
        line.push_str(": ");
        line.push_str(&done[..done.len().min(NAMED)].join(", "));
        if more > 0 {
            line.push_str(&format!(" and {more} more"));
        }
    }
    line
}

/// Writes the backup into `dir` under the run's file name (never over an existing file), reads
/// it back and checks it: the same bytes the run checked, and an archive that opens and holds
/// both folders' zips. Returns what was read back, for the run's receipt.
pub fn save_backup(dir: &Path, name: &str, bytes: &[u8]) -> Result<(SavedBackup, Vec<u8>), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (mut file, path) = create_new_file(dir, name)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    drop(file);
    let back =
        std::fs::read(&path).map_err(|e| format!("cannot read {} back: {e}", path.display()))?;
    check_saved(&back, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((
        SavedBackup {
            path,
            bytes: back.len(),
        },
        back,
    ))
}

/// Creates `name` in `dir`, or `<stem>-2.zip`, `-3`, ... when a backup of the same second is
/// already there (a wait may run two cleanups within a second): an earlier backup is never
/// written over.
fn create_new_file(dir: &Path, name: &str) -> Result<(std::fs::File, PathBuf), String> {
    const MAX_SUFFIX: u32 = 99;
    let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
    for n in 1..=MAX_SUFFIX {
        let candidate = match (n, extension) {
            (1, _) => name.to_string(),
            (_, "") => format!("{stem}-{n}"),
            _ => format!("{stem}-{n}.{extension}"),
        };
        let path = dir.join(candidate);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
        }
    }
    Err(format!(
        "cannot create {name} in {}: it and {MAX_SUFFIX} numbered copies exist",
        dir.display()
    ))
}

/// The file read back must be the run's checked backup, byte for byte, and open as a zip
/// holding both folders' archives.
fn check_saved(back: &[u8], expected: &[u8]) -> Result<(), String> {
    if back != expected {
        return Err(format!(
            "the file on disk differs from the backup downloaded ({} bytes on disk, {} expected)",
            back.len(),
            expected.len()
        ));
    }
    let index =
        read_index(back).map_err(|e| format!("the saved file is not a readable zip: {e:?}"))?;
    for dir in [LOCKS_DIR, DEPLOYMENTS_DIR] {
        let inner = nested_name(dir);
        if !index.has_file(&inner) {
            return Err(format!("the saved file lacks {inner}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use kudu_core::cleanup::zip_writer::{StoredZip, ZipTime};

    use super::*;

    fn backup_bytes(with_deployments: bool) -> Vec<u8> {
        let mut zip = StoredZip::new(ZipTime::default());
        zip.add_file("README.txt", b"note").unwrap();
        zip.add_file("site-locks.zip", b"inner").unwrap();
        if with_deployments {
            zip.add_file("site-deployments.zip", b"inner").unwrap();
        }
        zip.finish().unwrap()
    }

    #[test]
    fn a_saved_backup_is_read_back_and_never_written_over() {
        let dir = std::env::temp_dir().join(format!("kudu-cli-backup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let bytes = backup_bytes(true);
        let (saved, back) = save_backup(&dir, "myapp-kudu-backup-1.zip", &bytes).unwrap();
        assert_eq!(saved.bytes, bytes.len());
        assert_eq!(back, bytes);
        assert_eq!(std::fs::read(&saved.path).unwrap(), bytes);
        let (again, _) = save_backup(&dir, "myapp-kudu-backup-1.zip", &bytes).unwrap();
        assert_eq!(again.path, dir.join("myapp-kudu-backup-1-2.zip"));
        assert_eq!(
            std::fs::read(&saved.path).unwrap(),
            bytes,
            "the first is kept"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_changed_or_incomplete_file_fails_the_check() {
        let good = backup_bytes(true);
        assert!(check_saved(&good, &good).is_ok());
        let mut cut = good.clone();
        cut.truncate(good.len() / 2);
        assert!(check_saved(&cut, &good).unwrap_err().contains("differs"));
        let partial = backup_bytes(false);
        let err = check_saved(&partial, &partial).unwrap_err();
        assert!(err.contains("site-deployments.zip"), "{err}");
        assert!(check_saved(b"not a zip", b"not a zip").is_err());
    }
}
