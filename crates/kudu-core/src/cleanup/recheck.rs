//! The re-check right before a group of destructive steps: every precondition of the group's
//! steps against a fresh read, plus the guards that hold for every group (nothing progresses,
//! no scan, nobody new holds the lock).
//!
//! A precondition that cannot be confirmed counts as changed: nothing is deleted on a guess.
//! The only differences accepted are those the run's own finished steps explain: after the
//! lock was released or Kudu restarted, a hung deployment may show as ended, and on Windows the
//! old `deployments.lock` (same write time as before the restart) may linger until Kudu's next
//! check deletes it.

use crate::diagnose::LockState;
use std::collections::{BTreeSet, HashMap};

use crate::diagnose::facts::context::{Context, ProcessSignal, cpu_between};
use crate::diagnose::facts::lock_report::WINDOWS_LOCK_FILE;
use crate::model::{Personality, VfsEntry};
use crate::plan::paths::{DEPLOYMENTS_DIR, LOCKS_DIR, delete_target};
use crate::plan::{Precondition, Step, StepKind};
use crate::session::{Observed, Session};
use crate::time::Timestamp;

/// What the run knows besides the fresh read.
pub(super) struct RecheckInput<'a> {
    pub(super) group: u32,
    pub(super) steps: Vec<&'a Step>,
    /// Some destructive step of an earlier group already finished.
    pub(super) own_changes_made: bool,
    /// Windows: `deployments.lock` at the diagnosis or the previous re-check (`None`: not known).
    pub(super) windows_lock_before: Option<LockFileSeen>,
    /// Windows: `deployments.lock` in this survey's first listing, when it was listed again.
    pub(super) windows_lock_first_look: Option<LockFileSeen>,
    /// Deployment ids listed at the first re-check that could read the list.
    pub(super) known_deployments: Option<&'a BTreeSet<String>>,
}

/// Proof that a group's preconditions held on a fresh read. Only [`evaluate`] builds one, and
/// a delete stage cannot start without it.
#[derive(Debug)]
pub(super) struct RecheckPassed {
    group: u32,
    notes: Vec<String>,
    windows_lock: Option<LockFileSeen>,
    deployment_ids: Option<BTreeSet<String>>,
    already_gone: BTreeSet<(&'static str, String)>,
}

impl RecheckPassed {
    /// The deployment ids listed, when the list was read.
    pub(super) fn deployment_ids(&self) -> Option<&BTreeSet<String>> {
        self.deployment_ids.as_ref()
    }

    pub(super) fn group(&self) -> u32 {
        self.group
    }

    /// `(folder, name)` of planned targets this read no longer lists, accepted because the
    /// run's earlier steps explain them: the run need not send their deletes.
    pub(super) fn already_gone(&self) -> &BTreeSet<(&'static str, String)> {
        &self.already_gone
    }

    /// Differences that the run's own steps explain, for the activity view.
    pub(super) fn notes(&self) -> &[String] {
        &self.notes
    }

    pub(super) fn windows_lock(&self) -> Option<LockFileSeen> {
        self.windows_lock
    }
}

/// `Ok` with the proof when every precondition still holds; otherwise everything that changed
/// or could not be confirmed, in plain sentences.
pub(super) fn evaluate(
    session: &Session,
    now: Timestamp,
    input: &RecheckInput<'_>,
) -> Result<RecheckPassed, Vec<String>> {
    let ctx = Context::new(session, now);
    let mut check = Check {
        ctx: &ctx,
        input,
        changes: vec![],
        notes: vec![],
        evaluated: vec![],
        locks_index: index(&session.locks_dir),
        deployments_index: index(&session.deployments_dir),
        already_gone: BTreeSet::new(),
    };
    check.guards();
    for step in &input.steps {
        check.precondition(&step.precondition, step);
    }
    if let Some(note) = gone_note(&check.already_gone) {
        check.note(note);
    }
    if check.changes.is_empty() {
        Ok(RecheckPassed {
            group: input.group,
            already_gone: check.already_gone,
            notes: check.notes,
            windows_lock: windows_lock_file(session),
            deployment_ids: ctx.deployments_known.then(|| {
                ctx.deployments
                    .iter()
                    .filter_map(|d| d.id.clone())
                    .collect()
            }),
        })
    } else {
        Err(check.changes)
    }
}

/// Windows' `deployments.lock` as a listing showed it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum LockFileSeen {
    NotListed,
    /// Listed, with its write time.
    Written(Option<Timestamp>),
}

/// `None` when `site/locks/` could not be listed.
pub(super) fn windows_lock_file(session: &Session) -> Option<LockFileSeen> {
    let list = match &session.locks_dir {
        Observed::Value(list) => list,
        Observed::Missing => return Some(LockFileSeen::NotListed),
        _ => return None,
    };
    Some(
        match list
            .iter()
            .find(|e| !e.is_dir && e.name.eq_ignore_ascii_case(WINDOWS_LOCK_FILE))
        {
            Some(e) => LockFileSeen::Written(e.modified),
            None => LockFileSeen::NotListed,
        },
    )
}

/// Name → entry of one listing, so that checking n `StillListed` costs n look-ups, not n scans.
fn index(listing: &Observed<Vec<VfsEntry>>) -> HashMap<&str, &VfsEntry> {
    listing
        .value()
        .into_iter()
        .flatten()
        .map(|e| (e.name.as_str(), e))
        .collect()
}

struct Check<'c, 'i> {
    ctx: &'c Context<'c>,
    input: &'c RecheckInput<'i>,
    changes: Vec<String>,
    notes: Vec<String>,
    /// Preconditions that do not name a step's own target (`LatestUnchanged`, `LogUnchanged`,
    /// ...) and were already judged in this round. Every step of a group carries the same
    /// few; judging each once keeps a round over n steps linear.
    evaluated: Vec<&'c Precondition>,
    locks_index: HashMap<&'c str, &'c VfsEntry>,
    deployments_index: HashMap<&'c str, &'c VfsEntry>,
    /// Planned targets no longer listed after the run's own steps (one note for all of them:
    /// a purge after the lock's release can remove hundreds).
    already_gone: BTreeSet<(&'static str, String)>,
}

impl<'c> Check<'c, '_> {
    fn change(&mut self, what: String) {
        if !self.changes.contains(&what) {
            self.changes.push(what);
        }
    }

    fn note(&mut self, what: String) {
        if !self.notes.contains(&what) {
            self.notes.push(what);
        }
    }

    fn unreadable<T>(&mut self, what: &str, observed: &Observed<T>) {
        let why = match observed {
            Observed::SessionExpired => "the SCM session expired".to_string(),
            Observed::Failed { reason, .. } => reason.clone(),
            Observed::NotRead => "it was not read".to_string(),
            Observed::Missing => "it does not exist".to_string(),
            Observed::Value(_) => return,
        };
        self.change(format!(
            "Kudu Doctor could not re-read {what} ({why}), so it cannot confirm that nothing changed."
        ));
    }

    fn releases_linux_lock(&self) -> bool {
        self.input
            .steps
            .iter()
            .any(|s| super::delete_stage::releases_linux_lock(s))
    }

    fn restarts_kudu(&self) -> bool {
        self.input
            .steps
            .iter()
            .any(|s| s.kind == StepKind::RestartKudu)
    }

    /// What must hold before any group, whatever its steps declare.
    fn guards(&mut self) {
        let ctx = self.ctx;
        let session = ctx.session;
        if let Some(r) = ctx.progressing().next() {
            self.change(format!(
                "{} is progressing now; deleting anything could break it.",
                ctx.describe(&r.deployment)
            ));
        }
        if ctx.scan_underway() {
            self.change("A malware scan holds the deployment lock now (/api/isdeploying says 'Scan Underway').".into());
        }
        if let Some(latest) = ctx.latest_pending()
            && latest.id.is_some()
            && !ctx.deployments.iter().any(|d| d.id == latest.id)
        {
            self.change(format!(
                "/api/deployments/latest now reports {}, which the deployment list did not show: a new deployment began.",
                ctx.describe(latest)
            ));
        }
        match ctx.personality {
            Personality::Linux => {
                let releases = self.releases_linux_lock();
                match &session.is_deploying {
                    Observed::Value(d) if d.deploying && !releases => self.change(
                        "/api/isdeploying says True now: a deployment or scan holds the lock."
                            .into(),
                    ),
                    Observed::Value(_) => {}
                    other => self.unreadable("/api/isdeploying", other),
                }
                // Only info.lock says the lock is held: the release deletes that file and leaves
                // an empty `deployment/` folder, which KuduLite's `IsHeld` reads as free
                // (kudu-facts §2.3), so a listed folder alone is no change.
                match &session.info_lock {
                    Observed::Value(_) if !releases => self.change(
                        "site/locks/deployment/info.lock exists now: someone took the deployment lock."
                            .into(),
                    ),
                    Observed::Value(_) | Observed::Missing => {}
                    other => self.unreadable("site/locks/deployment/info.lock", other),
                }
            }
            Personality::Windows => self.windows_lock_guard(),
            Personality::Unknown => self.change(
                "Kudu Doctor could not tell from the fresh read whether this is Linux or Windows, so it cannot confirm that nothing changed."
                    .into(),
            ),
        }
    }

    /// The survey listed `site/locks/` again after reading `latest`, which makes Windows Kudu
    /// delete a lock file nobody holds; a file still listed then is held by a live process.
    fn windows_lock_guard(&mut self) {
        let ctx = self.ctx;
        match ctx.lock.state {
            LockState::Unknown => return self.unreadable("site/locks/", &ctx.session.locks_dir),
            LockState::Live => {
                return self.change(format!(
                    "A live process holds deployments.lock now: {}",
                    ctx.lock.explanation
                ));
            }
            _ => {}
        }
        // Either listing showing a file written since the last look means someone took the
        // lock, even when Kudu deleted the file in between.
        let looks = [
            self.input.windows_lock_first_look,
            windows_lock_file(ctx.session),
        ];
        for written in looks.into_iter().flatten().filter_map(|seen| match seen {
            LockFileSeen::Written(w) => Some(w),
            LockFileSeen::NotListed => None,
        }) {
            match self.input.windows_lock_before {
                Some(LockFileSeen::Written(seen)) if seen != written => self.change(format!(
                    "deployments.lock was written again (at {}): another process took the deployment lock.",
                    time(written)
                )),
                Some(LockFileSeen::NotListed) => self.change(
                    "deployments.lock is listed again: another process took the deployment lock."
                        .into(),
                ),
                _ => {}
            }
        }
        let Some(LockFileSeen::Written(_)) = windows_lock_file(ctx.session) else {
            return;
        };
        if !self.restarts_kudu() {
            let after_restart = if self.input.own_changes_made {
                ", so the restart did not release it"
            } else {
                ""
            };
            self.change(format!(
                "deployments.lock is still listed after Kudu checked it: a process holds the deployment lock{after_restart}."
            ));
        }
    }

    fn precondition(&mut self, p: &'c Precondition, step: &Step) {
        let ctx = self.ctx;
        let session = ctx.session;
        let shared = !matches!(p, Precondition::All(_) | Precondition::StillListed { .. });
        if shared {
            if self.evaluated.contains(&p) {
                return;
            }
            self.evaluated.push(p);
        }
        match p {
            Precondition::None | Precondition::BackupVerified => {}
            Precondition::All(all) => {
                for p in all {
                    self.precondition(p, step);
                }
            }
            Precondition::LockUnchanged {
                holder_operation,
                acquired,
            } => match &session.info_lock {
                Observed::Value(info)
                    if info.holder_operation == *holder_operation && info.acquired == *acquired => {}
                Observed::Value(info) => self.change(format!(
                    "The deployment lock changed hands: it was held by {} since {}, and is now held by {} since {}.",
                    quoted(holder_operation.as_deref()),
                    time(*acquired),
                    quoted(info.holder_operation.as_deref()),
                    time(info.acquired)
                )),
                Observed::Missing if holder_operation.is_none() && acquired.is_none() => {}
                Observed::Missing => self.change(format!(
                    "The deployment lock held by {} was released by something else since the diagnosis.",
                    quoted(holder_operation.as_deref())
                )),
                other => self.unreadable("site/locks/deployment/info.lock", other),
            },
            Precondition::NotDeploying => {
                if ctx.lock.state == LockState::Live {
                    self.change(format!("A deployment holds the lock now: {}", ctx.lock.explanation));
                }
                if ctx.personality == Personality::Linux {
                    match &session.is_deploying {
                        Observed::Value(d) if !d.deploying => {}
                        Observed::Value(_) => self.change(
                            "/api/isdeploying says True: the deployment lock is held.".into(),
                        ),
                        other => self.unreadable("/api/isdeploying", other),
                    }
                }
            }
            Precondition::LatestUnchanged { id, status } => self.latest_unchanged(id, status),
            Precondition::StillListed {
                dir,
                name,
                modified,
            } => self.still_listed(dir, name, *modified, step),
            Precondition::LogUnchanged {
                deployment_id,
                last_line,
            } => self.log_unchanged(deployment_id, *last_line),
            Precondition::BuildCpuUnchanged {
                pid,
                label,
                cpu_ms,
                read_at,
            } => self.build_cpu_unchanged(*pid, label, *cpu_ms, *read_at),
        }
    }

    /// The diagnosis' grading of a build process, between the plan's read and this one: CPU
    /// that moved, or a process that ended, means the build is alive. Once the run changed
    /// something (on Windows its first destructive group restarts Kudu, which ends every build
    /// process with it) an ended process is no news; CPU that moved still is.
    fn build_cpu_unchanged(
        &mut self,
        pid: u32,
        label: &str,
        cpu_ms: u64,
        read_at: Option<Timestamp>,
    ) {
        let fresh = self
            .ctx
            .session
            .process_details
            .get(&pid)
            .unwrap_or(&Observed::NotRead);
        match cpu_between(label.to_string(), cpu_ms, read_at, fresh) {
            ProcessSignal::Idle { .. } => {}
            ProcessSignal::Ended { .. } if self.input.own_changes_made => {
                self.note(format!(
                    "{label} (process {pid}) ended after the earlier steps (Kudu's restart ends it)."
                ));
            }
            signal @ (ProcessSignal::Busy { .. } | ProcessSignal::Ended { .. }) => {
                let what = signal.describe().unwrap_or_default();
                self.change(format!(
                    "Since the diagnosis {what}: the build is still working."
                ));
            }
            ProcessSignal::Unknown | ProcessSignal::NoHolder => {
                self.unreadable(&format!("/api/processes/{pid}"), fresh)
            }
        }
    }

    fn latest_unchanged(&mut self, id: &Option<String>, status: &str) {
        let ctx = self.ctx;
        if self.input.own_changes_made
            && let Some(known) = self.input.known_deployments
        {
            return self.deployments_after_own_changes(known, id, status);
        }
        match ctx.newest() {
            Some(d) if d.id == *id && d.status.as_str() == status => {}
            Some(d)
                if d.id == *id
                    && self.input.own_changes_made
                    && was_unfinished(status)
                    && d.status.is_unsuccessful_end() =>
            {
                self.note(format!(
                    "{} now shows '{}' (it was '{status}'): ended by the earlier steps.",
                    ctx.describe(d),
                    d.status.as_str()
                ));
            }
            Some(d) => self.change(format!(
                "The newest deployment changed: it was {} ('{status}'), it is now {} ('{}').",
                id.as_deref().unwrap_or("(no id)"),
                ctx.describe(d),
                d.status.as_str()
            )),
            None if !ctx.deployments_known => {
                self.unreadable("/api/deployments", &ctx.session.deployments)
            }
            None => self.change(format!(
                "The deployment list no longer shows {}.",
                id.as_deref().unwrap_or("the newest deployment")
            )),
        }
    }

    /// Once the run released the lock or restarted Kudu, Kudu reacts: it marks unfinished
    /// deployments failed and purges records and their folders. Only a deployment it did not
    /// list at the first re-check is a change, or a known one that did anything but end.
    fn deployments_after_own_changes(
        &mut self,
        known: &BTreeSet<String>,
        id: &Option<String>,
        status: &str,
    ) {
        let ctx = self.ctx;
        if !ctx.deployments_known {
            return self.unreadable("/api/deployments", &ctx.session.deployments);
        }
        for d in &ctx.deployments {
            if d.id.as_ref().is_some_and(|i| !known.contains(i)) {
                self.change(format!(
                    "{} began after the cleanup started.",
                    ctx.describe(d)
                ));
            }
        }
        match ctx.deployments.iter().find(|d| d.id == *id) {
            None => self.note(format!(
                "Deployment {} is no longer listed: Kudu removed its record after the earlier steps.",
                id.as_deref().unwrap_or("(no id)")
            )),
            Some(d) if d.status.as_str() == status => {}
            Some(d) if was_unfinished(status) && d.status.is_unsuccessful_end() => {
                self.note(format!(
                    "{} now shows '{}' (it was '{status}'): ended by the earlier steps.",
                    ctx.describe(d),
                    d.status.as_str()
                ))
            }
            Some(d) => self.change(format!(
                "{} now shows '{}' (it was '{status}').",
                ctx.describe(d),
                d.status.as_str()
            )),
        }
    }

    fn still_listed(&mut self, dir: &str, name: &str, modified: Option<Timestamp>, step: &Step) {
        let session = self.ctx.session;
        let listing = match dir {
            LOCKS_DIR => &session.locks_dir,
            DEPLOYMENTS_DIR => &session.deployments_dir,
            _ => {
                self.change(format!(
                    "The plan names a folder Kudu Doctor does not re-check: {dir}"
                ));
                return;
            }
        };
        let entries = if dir == LOCKS_DIR {
            &self.locks_index
        } else {
            &self.deployments_index
        };
        match listing {
            Observed::Value(_) => {}
            Observed::Missing => {
                self.change(format!("{dir} no longer exists."));
                return;
            }
            other => {
                self.unreadable(dir, other);
                return;
            }
        };
        let Some(entry) = entries.get(name).copied() else {
            if self.input.own_changes_made {
                // Kudu purges folders of deployments it marked failed, and leftover temporary
                // deployments, when the list is read after the lock went (kudu-facts 1.3).
                self.already_gone.insert((dir_const(dir), name.to_string()));
            } else {
                self.change(format!("{dir}{name} is no longer listed."));
            }
            return;
        };
        let targets_it = delete_target(&step.request) == Some((dir_const(dir), name));
        let wants_dir = step.kind == StepKind::DeleteDir;
        if targets_it && entry.is_dir != wants_dir {
            self.change(format!(
                "{dir}{name} is now a {} where the plan saw a {}.",
                kind(entry.is_dir),
                kind(wants_dir)
            ));
        }
        // The same name with another modified time is another entry (deleted and created
        // again, or written to since): not the one the diagnosis judged. Without a time on
        // either side, name and kind are all there is to compare.
        if let (Some(then), Some(now)) = (modified, entry.modified)
            && then != now
        {
            // Kudu writes into a deployment's folder when it ends it, as it does after the
            // run's lock release or Kudu restart (a restart kills the hung build, and Kudu
            // marks it failed): that write is the run's own doing, not another entry.
            let ended_by_own_steps = self.input.own_changes_made
                && dir == DEPLOYMENTS_DIR
                && self
                    .ctx
                    .deployments
                    .iter()
                    .any(|d| d.id.as_deref() == Some(name) && d.status.is_unsuccessful_end());
            if ended_by_own_steps {
                self.note(format!(
                    "{dir}{name} was written at {} as Kudu ended that deployment after the earlier steps.",
                    now.to_rfc3339()
                ));
                return;
            }
            self.change(format!(
                "{dir}{name} was modified at {} since the diagnosis (the plan saw it modified at {}): it is not the entry the plan was made from.",
                now.to_rfc3339(),
                then.to_rfc3339()
            ));
        }
    }

    fn log_unchanged(&mut self, deployment_id: &str, last_line: Option<Timestamp>) {
        let ctx = self.ctx;
        let id = Some(deployment_id.to_string());
        if let Some(r) = ctx.running.iter().find(|r| r.deployment.id == id) {
            let newer = match (r.last_activity, last_line) {
                (Some(now), Some(then)) => now > then,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if newer {
                self.change(format!(
                    "{} shows activity at {} since the diagnosis: it is still working.",
                    ctx.describe(&r.deployment),
                    time(r.last_activity)
                ));
            }
            return;
        }
        match ctx.deployments.iter().find(|d| d.id == id) {
            Some(d) if self.input.own_changes_made && d.status.is_unsuccessful_end() => {
                let said = ctx.describe(d);
                if !self.notes.iter().any(|n| n.starts_with(&said)) {
                    self.note(format!(
                        "{said} now shows '{}': ended by the earlier steps.",
                        d.status.as_str()
                    ));
                }
            }
            Some(d) => self.change(format!(
                "{} is no longer running: it now shows '{}'.",
                ctx.describe(d),
                d.status.as_str()
            )),
            None if !ctx.deployments_known => {
                self.unreadable("/api/deployments", &ctx.session.deployments)
            }
            None if self.input.own_changes_made => self.note(format!(
                "Deployment {deployment_id} is no longer listed: Kudu removed its record after the earlier steps."
            )),
            None => self.change(format!(
                "Deployment {deployment_id} is no longer in the deployment list."
            )),
        }
    }
}

fn was_unfinished(status: &str) -> bool {
    matches!(status, "pending" | "building" | "deploying" | "unknown")
}

/// One sentence for every planned target already gone, naming the first few.
fn gone_note(gone: &BTreeSet<(&'static str, String)>) -> Option<String> {
    const NAMED: usize = 3;
    let mut names = gone.iter().map(|(dir, name)| format!("{dir}{name}"));
    match gone.len() {
        0 => None,
        1 => Some(format!(
            "{} is already gone: Kudu removed it after the earlier steps, so its delete is \
             not sent; the final read confirms it gone.",
            names.next()?
        )),
        count => {
            let named: Vec<String> = names.by_ref().take(NAMED).collect();
            let more = if count > NAMED {
                format!(" and {} more", count - NAMED)
            } else {
                String::new()
            };
            Some(format!(
                "{count} planned entries are already gone ({}{more}): Kudu removed them after \
                 the earlier steps, so their deletes are not sent; the final read confirms them \
                 gone.",
                named.join(", ")
            ))
        }
    }
}

fn dir_const(dir: &str) -> &'static str {
    if dir == LOCKS_DIR {
        LOCKS_DIR
    } else {
        DEPLOYMENTS_DIR
    }
}

fn kind(is_dir: bool) -> &'static str {
    if is_dir { "folder" } else { "file" }
}

fn quoted(op: Option<&str>) -> String {
    op.map(|o| format!("'{o}'"))
        .unwrap_or_else(|| "an unnamed operation".into())
}

fn time(t: Option<Timestamp>) -> String {
    t.map(Timestamp::to_rfc3339)
        .unwrap_or_else(|| "an unknown time".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;
    use crate::model::{DeployStatus, IsDeploying};
    use crate::plan::{CleanupPlan, PlanKind, plan};

    fn stuck() -> Session {
        Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 50, 0))
            .deployment(deployment(
                "temp-ab12cd34",
                DeployStatus::Pending,
                "GITHUB_ZIP_DEPLOY",
                at(11, 50, 0),
                None,
            ))
            .deployment(deployment(
                "e51c9b2e51c9b2e51c9b2e51c9b2e51c",
                DeployStatus::Building,
                "GITHUB_ZIP_DEPLOY",
                at(11, 50, 2),
                None,
            ))
            .log(
                "e51c9b2e51c9b2e51c9b2e51c9b2e51c",
                vec![log_line(at(11, 50, 45), "Running oryx build...")],
            )
            .log(
                "temp-ab12cd34",
                vec![log_line(at(11, 50, 1), "Fetching changes.")],
            )
            .build()
    }

    fn the_plan(s: &Session) -> CleanupPlan {
        plan(s, &s.diagnose(at(12, 5, 0)), PlanKind::Targeted)
    }

    fn check(
        session: &Session,
        plan: &CleanupPlan,
        group: u32,
        own_changes_made: bool,
    ) -> Result<RecheckPassed, Vec<String>> {
        let input = RecheckInput {
            group,
            steps: plan.steps.iter().filter(|s| s.group == group).collect(),
            own_changes_made,
            windows_lock_before: None,
            windows_lock_first_look: None,
            known_deployments: None,
        };
        evaluate(session, at(12, 6, 0), &input)
    }

    /// The site after the lock was deleted.
    fn released(mut s: Session) -> Session {
        s.info_lock = Observed::Missing;
        s.is_deploying = Observed::Value(IsDeploying {
            deploying: false,
            message: String::new(),
        });
        if let Observed::Value(list) = &mut s.locks_dir {
            list.retain(|e| e.name != "deployment");
        }
        s
    }

    /// A Windows build's npm as `/api/processes/4104` shows it: `cpu_ms` of CPU at `read_at`.
    fn npm(cpu_ms: u64, read_at: Timestamp) -> Observed<crate::model::ProcessDetails> {
        Observed::Value(crate::model::ProcessDetails {
            id: 4104,
            name: "node".into(),
            total_cpu_ms: Some(cpu_ms),
            start_time: Some(at(11, 50, 3)),
            time_stamp: Some(read_at),
            parent: Some(4100),
            children: vec![],
            holds_deployment_lock: None,
            is_scm_site: true,
            is_webjob: false,
            tool: Some("npm".into()),
        })
    }

    /// A stuck Windows holder whose npm used no CPU at the diagnosis: the plan records its
    /// CPU time, and the re-check grades it as the diagnosis did. CPU that moved since, or npm
    /// gone before the run changed anything, stops the run; unchanged passes; after the run's
    /// own restart of Kudu, npm is gone with it.
    #[test]
    fn a_build_that_used_cpu_since_the_plan_stops_the_run() {
        let mut s = Site::windows()
            .list_lock(file("deployments.lock", at(11, 50, 0)))
            .deployment(deployment(
                "e51c9b2e51c9b2e51c9b2e51c9b2e51c",
                DeployStatus::Building,
                "GITHUB_ZIP_DEPLOY",
                at(11, 50, 2),
                None,
            ))
            .log(
                "e51c9b2e51c9b2e51c9b2e51c9b2e51c",
                vec![log_line(at(11, 50, 45), "Running 'npm ci'...")],
            )
            .build();
        s.process_details.insert(4104, npm(45_500, at(12, 4, 55)));
        s.process_details_again
            .insert(4104, npm(45_500, at(12, 5, 0)));
        let p = the_plan(&s);
        let guard = p.steps.iter().find_map(|step| match &step.precondition {
            Precondition::All(all) => all
                .iter()
                .find(|g| matches!(g, Precondition::BuildCpuUnchanged { .. })),
            _ => None,
        });
        assert!(
            matches!(guard, Some(Precondition::BuildCpuUnchanged { pid: 4104, cpu_ms: 45_500, label, .. }) if label == "npm"),
            "{:?}",
            p.steps
        );
        let group = p
            .steps
            .iter()
            .find(|step| step.kind.is_destructive())
            .map(|step| step.group)
            .unwrap();
        let fresh = |details: Observed<crate::model::ProcessDetails>| {
            let mut r = s.clone();
            r.process_details = [(4104, details)].into();
            r.process_details_again.clear();
            r
        };
        assert!(check(&fresh(npm(45_500, at(12, 6, 0))), &p, group, false).is_ok());
        let busy = check(&fresh(npm(52_000, at(12, 6, 0))), &p, group, false).unwrap_err();
        assert!(
            busy.iter()
                .any(|c| c.contains("npm used 6.5 s of CPU in 60 s")),
            "{busy:?}"
        );
        let ended = check(&fresh(Observed::Missing), &p, group, false).unwrap_err();
        assert!(ended.iter().any(|c| c.contains("npm ended")), "{ended:?}");
        // After the run's own restart a build process gone is no change (other guards aside).
        let after_restart = check(&fresh(Observed::Missing), &p, group, true);
        assert!(
            after_restart
                .as_ref()
                .err()
                .is_none_or(|changes| !changes.iter().any(|c| c.contains("npm"))),
            "{after_restart:?}"
        );
        let unreadable = Observed::Failed {
            status: 500,
            reason: "HTTP 500".into(),
        };
        assert!(check(&fresh(unreadable), &p, group, false).is_err());
    }

    #[test]
    fn an_unchanged_site_passes() {
        let s = stuck();
        let p = the_plan(&s);
        assert!(check(&s, &p, 1, false).is_ok());
        assert!(check(&released(s), &p, 2, true).is_ok());
    }

    #[test]
    fn a_lock_that_changed_hands_stops_the_release() {
        let s = stuck();
        let p = the_plan(&s);
        let mut changed = s.clone();
        if let Observed::Value(info) = &mut changed.info_lock {
            info.holder_operation = Some("Performing zip deployment".into());
            info.acquired = Some(at(12, 0, 30));
        }
        let changes = check(&changed, &p, 1, false).unwrap_err();
        assert!(
            changes.iter().any(|c| c.contains("changed hands")),
            "{changes:?}"
        );
    }

    #[test]
    fn a_lock_taken_after_the_release_stops_the_leftovers() {
        let s = stuck();
        let p = the_plan(&s);
        let mut retaken = released(s);
        retaken.is_deploying = Observed::Value(IsDeploying {
            deploying: true,
            message: "Deployment Underway".into(),
        });
        let changes = check(&retaken, &p, 2, true).unwrap_err();
        assert!(
            changes.iter().any(|c| c.contains("isdeploying")),
            "{changes:?}"
        );
    }

    #[test]
    fn a_vanished_entry_is_a_change_until_the_run_changed_something() {
        let s = released(stuck());
        let p = the_plan(&stuck());
        let mut gone = s.clone();
        if let Observed::Value(list) = &mut gone.deployments_dir {
            list.retain(|e| e.name != "temp-ab12cd34");
        }
        let changes = check(&gone, &p, 2, false).unwrap_err();
        assert!(
            changes
                .iter()
                .any(|c| c.contains("temp-ab12cd34 is no longer listed")),
            "{changes:?}"
        );
        let passed = check(&gone, &p, 2, true).unwrap();
        assert!(
            passed.notes().iter().any(|n| n.contains("already gone")),
            "{:?}",
            passed.notes()
        );
    }

    /// A leftover folder deleted and created again under the same name (a new deployment
    /// reusing a `temp-` name, say) is not the folder the diagnosis judged: its modified time
    /// differs, so the re-check stops before deleting it. A listing without times compares
    /// names and kinds only.
    #[test]
    fn a_folder_recreated_under_the_same_name_is_a_change() {
        let s = released(stuck());
        let p = the_plan(&stuck());
        let mut recreated = s.clone();
        if let Observed::Value(list) = &mut recreated.deployments_dir {
            let entry = list.iter_mut().find(|e| e.name == "temp-ab12cd34").unwrap();
            entry.modified = Some(at(12, 5, 30));
        }
        let changes = check(&recreated, &p, 2, true).unwrap_err();
        assert!(
            changes
                .iter()
                .any(|c| c.contains("temp-ab12cd34") && c.contains("modified")),
            "{changes:?}"
        );
        let mut untimed = s.clone();
        if let Observed::Value(list) = &mut untimed.deployments_dir {
            list.iter_mut().for_each(|e| e.modified = None);
        }
        assert!(check(&untimed, &p, 2, true).is_ok());
        // Before the run changed anything, even a deployment Kudu ended is a change.
        let mut ended = recreated.clone();
        if let Observed::Value(list) = &mut ended.deployments {
            let d = list
                .iter_mut()
                .find(|d| d.id.as_deref() == Some("temp-ab12cd34"))
                .unwrap();
            d.status = DeployStatus::Failed;
            d.complete = true;
        }
        assert!(check(&ended, &p, 2, false).is_err());
        // After the run's own steps, Kudu writing into a folder of a deployment it ended (a
        // restart killed the build, Kudu marked it failed) is a note, not a change.
        let passed = check(&ended, &p, 2, true).unwrap();
        assert!(
            passed
                .notes()
                .iter()
                .any(|n| n.contains("temp-ab12cd34") && n.contains("Kudu ended")),
            "{:?}",
            passed.notes()
        );
    }

    #[test]
    fn a_new_log_line_means_the_deployment_is_still_working() {
        let s = stuck();
        let p = the_plan(&s);
        let mut moving = s.clone();
        moving.logs.insert(
            "e51c9b2e51c9b2e51c9b2e51c9b2e51c".into(),
            Observed::Value(vec![
                log_line(at(11, 50, 45), "Running oryx build..."),
                log_line(at(11, 59, 0), "Copying files"),
            ]),
        );
        let changes = check(&moving, &p, 1, false).unwrap_err();
        assert!(
            changes.iter().any(|c| c.contains("still working")),
            "{changes:?}"
        );
    }

    #[test]
    fn an_unreadable_read_cannot_confirm_anything() {
        let s = stuck();
        let p = the_plan(&s);
        let mut failed = s.clone();
        failed.info_lock = Observed::Failed {
            status: 500,
            reason: "HTTP 500: boom".into(),
        };
        let changes = check(&failed, &p, 1, false).unwrap_err();
        assert!(
            changes.iter().any(|c| c.contains("could not re-read")),
            "{changes:?}"
        );
    }

    #[test]
    fn a_windows_lock_still_listed_after_kudu_checked_it_is_held() {
        let s = Site::windows()
            .list_lock(file("deployments.lock", at(11, 20, 0)))
            .deployment(deployment(
                "c0c0",
                DeployStatus::Building,
                "ZipDeploy",
                at(11, 20, 0),
                None,
            ))
            .build();
        let p = the_plan(&s);
        assert!(check(&s, &p, 1, false).is_ok());
        let changes = check(&s, &p, 2, true).unwrap_err();
        assert!(
            changes
                .iter()
                .any(|c| c.contains("restart did not release it")),
            "{changes:?}"
        );
    }
}
