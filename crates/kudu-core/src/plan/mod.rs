//! Cleanup plans: ordered steps, each with its exact request, the precondition to re-check
//! right before it runs, the effect it expects and its risk in plain words.
//!
//! Safety rules every plan keeps (property tests in `tests/plan_properties.rs` enforce them):
//! - every request is on the allow-list ([`paths::is_allowed`]): zip backups of `site/locks/`
//!   and `site/deployments/`, deletes of one checked, listed name directly inside them, and on
//!   Windows the Kudu (`0`) and app worker (`-1`) restarts;
//! - both backups come before any destructive step;
//! - nothing destructive is planned while a deployment is really progressing, a scan or auto
//!   swap runs, the session expired, or the site runs from a package URL (`not_offered` says
//!   why);
//! - every name comes from a listing, matched exactly; a listed name that fails
//!   [`paths::check_name`] is refused and reported, never used;
//! - `tools/`, `settings.xml`, `active` and the active deployment's folder stay unless a full
//!   reset opts in to them.
//!
//! Steps in the same `group` are independent and may run concurrently; groups run in order:
//! 0 backups, 1 release the lock, 2 delete leftovers, 3 optional app worker restart, 4 verify.
//!
//! The Linux lock is released by deleting `site/locks/deployment/info.lock` with `If-Match`
//! set to the ETag the run's re-check read right before (the plan cannot know it; the step
//! carries [`paths::IF_MATCH_FROM_RECHECK`] and the run fills it in), so a lock taken again
//! after that read is refused by Kudu (412/409) instead of deleted.
//!
//! Every destructive step's precondition is the same few shared guards (the backup verified,
//! the newest deployment unchanged, every log the diagnosis read still silent), built once per
//! plan, plus the step's own (its entry still listed, the lock still held by the same holder,
//! nothing deploying). The shared part does not grow with the site, and the cleanup run judges
//! each distinct guard once per re-check round, so a plan and its re-checks stay linear in the
//! number of leftover folders (5,000 plan in milliseconds; `benches/diagnose_scale.rs`).

mod full_reset;
pub mod paths;
mod steps;
mod targeted;

use serde::Serialize;

use crate::diagnose::Diagnosis;
use crate::session::Session;
use crate::time::Timestamp;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanKind {
    /// Delete exactly what is stale (Linux) or restart Kudu (Windows).
    Targeted,
    /// The runbook's last resort: empty `site/deployments` except what is kept.
    FullReset,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// `GET /api/zip/<dir>/`: the user keeps the archive.
    Backup,
    /// `DELETE /api/vfs/<file>` with `If-Match: *`, or, for the Linux lock's `info.lock`, the
    /// ETag the run's latest read of it gave (filled in when it is sent).
    DeleteFile,
    /// `DELETE /api/vfs/<dir>/?recursive=true`.
    DeleteDir,
    /// `DELETE /api/processes/0` (Windows).
    RestartKudu,
    /// `DELETE /api/processes/-1` (Windows).
    RestartAppWorker,
    /// Re-read and re-diagnose.
    Verify,
}

impl StepKind {
    pub fn is_destructive(self) -> bool {
        !matches!(self, StepKind::Backup | StepKind::Verify)
    }
}

/// What must still hold right before a step runs. The shell re-reads what it names.
///
/// Serialises as `{"kind": "still-listed", "dir": …, "name": …, "modified": …}`; `All` as
/// `{"kind": "all", "all": [...]}` (serde cannot tag a newtype variant holding a list).
#[derive(Clone, PartialEq, Debug)]
pub enum Precondition {
    None,
    /// The Linux lock is still held by the same operation since the same time (or still absent).
    LockUnchanged {
        holder_operation: Option<String>,
        acquired: Option<Timestamp>,
    },
    /// `isdeploying` is False and `latest` is not 202 (Linux), or `latest` is not 202 (Windows).
    NotDeploying,
    /// The newest deployment (latest received time; a real record before its `temp-` twin) is
    /// still this one with this status.
    LatestUnchanged {
        id: Option<String>,
        status: String,
    },
    /// The entry is still listed in this directory with this name and kind, and, when both
    /// the plan's listing and the fresh one give a modified time, with the same time: a
    /// folder deleted and created again under its name is not the one the diagnosis judged.
    StillListed {
        dir: String,
        name: String,
        /// The entry's modified time in the listing the plan was made from; `None`: compare
        /// name and kind only.
        modified: Option<Timestamp>,
    },
    /// A backup step earlier in the plan finished and was checked.
    BackupVerified,
    /// The deployment's log (`/api/deployments/<id>/log`) has no line newer than `last_line`:
    /// the deployment that looked hung still has not moved.
    LogUnchanged {
        deployment_id: String,
        last_line: Option<Timestamp>,
    },
    /// Windows: build process `pid` (`label`, e.g. npm) has used no CPU since the diagnosis
    /// read `cpu_ms` of it at `read_at`: the build that looked hung still has not moved.
    BuildCpuUnchanged {
        pid: u32,
        label: String,
        cpu_ms: u64,
        read_at: Option<Timestamp>,
    },
    /// Every one of these.
    All(Vec<Precondition>),
}

impl Serialize for Precondition {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(tag = "kind", rename_all = "kebab-case")]
        enum Wire<'a> {
            None,
            LockUnchanged {
                holder_operation: &'a Option<String>,
                acquired: &'a Option<Timestamp>,
            },
            NotDeploying,
            LatestUnchanged {
                id: &'a Option<String>,
                status: &'a str,
            },
            StillListed {
                dir: &'a str,
                name: &'a str,
                modified: &'a Option<Timestamp>,
            },
            BackupVerified,
            LogUnchanged {
                deployment_id: &'a str,
                last_line: &'a Option<Timestamp>,
            },
            BuildCpuUnchanged {
                pid: u32,
                label: &'a str,
                cpu_ms: u64,
                read_at: &'a Option<Timestamp>,
            },
            All {
                all: &'a [Precondition],
            },
        }
        let wire = match self {
            Precondition::None => Wire::None,
            Precondition::LockUnchanged {
                holder_operation,
                acquired,
            } => Wire::LockUnchanged {
                holder_operation,
                acquired,
            },
            Precondition::NotDeploying => Wire::NotDeploying,
            Precondition::LatestUnchanged { id, status } => Wire::LatestUnchanged { id, status },
            Precondition::StillListed {
                dir,
                name,
                modified,
            } => Wire::StillListed {
                dir,
                name,
                modified,
            },
            Precondition::BackupVerified => Wire::BackupVerified,
            Precondition::LogUnchanged {
                deployment_id,
                last_line,
            } => Wire::LogUnchanged {
                deployment_id,
                last_line,
            },
            Precondition::BuildCpuUnchanged {
                pid,
                label,
                cpu_ms,
                read_at,
            } => Wire::BuildCpuUnchanged {
                pid: *pid,
                label,
                cpu_ms: *cpu_ms,
                read_at,
            },
            Precondition::All(all) => Wire::All { all },
        };
        wire.serialize(serializer)
    }
}

/// The exact HTTP request of a step, relative to the SCM origin.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct StepRequest {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
}

#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Step {
    pub kind: StepKind,
    pub request: StepRequest,
    pub precondition: Precondition,
    /// What the step should achieve (`site/locks/deployment/ is gone`).
    pub expect: String,
    /// Its risk in plain words.
    pub risk: String,
    /// Steps with the same group number are independent and may run concurrently.
    pub group: u32,
    /// The user must opt in to this step separately (Windows: restarting the app worker).
    pub optional: bool,
}

/// A listed name the planner refused to act on, and why.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct RefusedName {
    pub dir: String,
    pub name: String,
    pub reason: String,
}

#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct CleanupPlan {
    pub kind: PlanKind,
    pub steps: Vec<Step>,
    pub refused: Vec<RefusedName>,
    /// What must be true afterwards when the fix worked.
    pub verify: Vec<String>,
    /// What the plan deletes that the user may miss (history, logs).
    pub loses: Vec<String>,
    pub keeps: Vec<String>,
    /// Why there is no plan, when `steps` is empty (for example: a deployment is progressing).
    pub not_offered: Option<String>,
    /// Only weak evidence says the deployment whose lock or folders this plan deletes has
    /// stopped (its log is silent): the statement the user must confirm before it runs. A run
    /// of such a plan needs that confirmation (`CleanupRun::new_acknowledged`).
    pub requires_acknowledgement: Option<String>,
}

/// What a full reset may also delete. Each is kept unless the user opts in.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize)]
pub struct FullResetOptions {
    /// `tools/`: the deploy script cache and user-written `PostDeploymentActions` scripts.
    pub include_tools: bool,
    /// `settings.xml`: Kudu-side settings such as the deployment branch.
    pub include_settings: bool,
    /// `active` and the active deployment's folder (with its manifest).
    pub include_active: bool,
}

/// Builds the plan for a diagnosis; names come only from the session's listings. Time comes
/// from the diagnosis. `FullReset` uses [`FullResetOptions::default`] (keep everything
/// optional); call [`plan_full_reset`] to opt in to more.
pub fn plan(session: &Session, diagnosis: &Diagnosis, kind: PlanKind) -> CleanupPlan {
    let plan = match kind {
        PlanKind::Targeted => targeted::plan(session, diagnosis),
        PlanKind::FullReset => full_reset::plan(session, diagnosis, FullResetOptions::default()),
    };
    let plan = enforce_active_kept(enforce_allow_list(plan), session, false);
    enforce_not_flex(plan, session)
}

/// The seed runbook's last resort: empty `site/deployments` except what `options` keeps.
pub fn plan_full_reset(
    session: &Session,
    diagnosis: &Diagnosis,
    options: FullResetOptions,
) -> CleanupPlan {
    let plan = enforce_allow_list(full_reset::plan(session, diagnosis, options));
    let plan = enforce_active_kept(plan, session, options.include_active);
    enforce_not_flex(plan, session)
}

/// A Flex Consumption app deploys without Kudu's lock files (`flex-consumption`): no plan for
/// it has a step that sends anything, whatever the lock reads seemed to show.
fn enforce_not_flex(mut plan: CleanupPlan, session: &Session) -> CleanupPlan {
    if crate::diagnose::facts::predicates::flex_consumption_record(session).is_none() {
        return plan;
    }
    plan.steps.clear();
    plan.loses.clear();
    plan.verify.clear();
    plan.requires_acknowledgement = None;
    plan.not_offered = Some(
        "This is a Flex Consumption app: its deployments do not use Kudu's lock files, so \
         there is nothing here for Kudu Doctor to delete. Let the deployment in progress \
         finish, then deploy again."
            .into(),
    );
    plan
}

/// Defence in depth: a plan that would delete the active deployment's folder (as the list's
/// flag or `site/deployments/active` names it, in any case), without the user's opt-in to a
/// full reset of it, is a planner bug: the whole plan is withdrawn.
fn enforce_active_kept(
    mut plan: CleanupPlan,
    session: &Session,
    active_opted_in: bool,
) -> CleanupPlan {
    if active_opted_in {
        return plan;
    }
    let active = crate::diagnose::facts::context::active_ids(session);
    let deletes_active = plan.steps.iter().any(|step| {
        paths::delete_target(&step.request).is_some_and(|(dir, name)| {
            let name = name.trim_end_matches('/');
            dir == paths::DEPLOYMENTS_DIR
                && (name.eq_ignore_ascii_case("active")
                    || active.iter().any(|id| id.eq_ignore_ascii_case(name)))
        })
    });
    if deletes_active {
        plan.steps.clear();
        plan.not_offered = Some(
            "Kudu Doctor built a step that deletes the active deployment's folder and withdrew the whole plan; please report this."
                .into(),
        );
    }
    plan
}

/// Defence in depth: a step outside the allow-list is a planner bug, so the whole plan is
/// withdrawn rather than trimmed into something the user did not review.
fn enforce_allow_list(mut plan: CleanupPlan) -> CleanupPlan {
    if plan.steps.iter().all(|s| paths::is_allowed(&s.request)) {
        return plan;
    }
    plan.steps.clear();
    plan.not_offered = Some(
        "Kudu Doctor built a step outside the paths it may touch and withdrew the whole plan; \
         please report this."
            .into(),
    );
    plan
}
