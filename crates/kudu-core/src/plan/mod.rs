//! Cleanup plans: ordered steps, each with its exact request, the precondition to re-check
//! right before it runs, the effect it expects and its risk in plain words.

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
    /// `DELETE /api/vfs/<file>` with `If-Match: *`.
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
#[derive(Clone, PartialEq, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Precondition {
    None,
    /// The Linux lock is still held by the same operation since the same time (or still absent).
    LockUnchanged {
        holder_operation: Option<String>,
        acquired: Option<Timestamp>,
    },
    /// `isdeploying` is False and `latest` is not 202 (Linux), or `latest` is not 202 (Windows).
    NotDeploying,
    /// The newest deployment is still this one with this status.
    LatestUnchanged { id: Option<String>, status: String },
    /// The entry is still listed in this directory with this name.
    StillListed { dir: String, name: String },
    /// A backup step earlier in the plan finished and was checked.
    BackupVerified,
    All(Vec<Precondition>),
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
}

/// Builds the plan for a diagnosis; names come only from the session's listings. Time comes
/// from the diagnosis.
pub fn plan(session: &Session, diagnosis: &Diagnosis, kind: PlanKind) -> CleanupPlan {
    let _ = (session, diagnosis);
    CleanupPlan {
        kind,
        steps: vec![],
        refused: vec![],
        verify: vec![],
        loses: vec![],
        keeps: vec![],
        not_offered: Some("not implemented".into()),
    }
}
