//! From observations to named causes. One file per cause, each opening with a `// Cause:`
//! block written for users.

use serde::Serialize;

use crate::model::*;
use crate::session::{Session, Warning};
use crate::time::Timestamp;

/// Stable cause ids; the UI uses [`CauseId::as_str`] as `data-cause`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum CauseId {
    AutoswapInProgress,
    CancelledThenRetried,
    ClientSelfCollision,
    DeploymentInProgress,
    Healthy,
    NoLockFound,
    ParallelDeployments,
    PartialDeploy,
    RestartRacedDeployment,
    RunFromPackageUrl,
    ScanUnderway,
    SessionExpired,
    StaleLock,
    StatusLockDenied,
    WindowsLockHeld,
}

impl CauseId {
    pub const ALL: [CauseId; 15] = [
        CauseId::AutoswapInProgress,
        CauseId::CancelledThenRetried,
        CauseId::ClientSelfCollision,
        CauseId::DeploymentInProgress,
        CauseId::Healthy,
        CauseId::NoLockFound,
        CauseId::ParallelDeployments,
        CauseId::PartialDeploy,
        CauseId::RestartRacedDeployment,
        CauseId::RunFromPackageUrl,
        CauseId::ScanUnderway,
        CauseId::SessionExpired,
        CauseId::StaleLock,
        CauseId::StatusLockDenied,
        CauseId::WindowsLockHeld,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CauseId::AutoswapInProgress => "autoswap-in-progress",
            CauseId::CancelledThenRetried => "cancelled-then-retried",
            CauseId::ClientSelfCollision => "client-self-collision",
            CauseId::DeploymentInProgress => "deployment-in-progress",
            CauseId::Healthy => "healthy",
            CauseId::NoLockFound => "no-lock-found",
            CauseId::ParallelDeployments => "parallel-deployments",
            CauseId::PartialDeploy => "partial-deploy",
            CauseId::RestartRacedDeployment => "restart-raced-deployment",
            CauseId::RunFromPackageUrl => "run-from-package-url",
            CauseId::ScanUnderway => "scan-underway",
            CauseId::SessionExpired => "session-expired",
            CauseId::StaleLock => "stale-lock",
            CauseId::StatusLockDenied => "status-lock-denied",
            CauseId::WindowsLockHeld => "windows-lock-held",
        }
    }

    pub fn from_str_id(id: &str) -> Option<CauseId> {
        CauseId::ALL.into_iter().find(|c| c.as_str() == id)
    }
}

impl Serialize for CauseId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How sure we are. Kept apart from the cause (no `MaybeX` variants).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// One fact behind a finding, with where it came from.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Evidence {
    /// The endpoint or file it came from (`/api/isdeploying`, `site/locks/deployment/info.lock`).
    pub source: String,
    /// A plain sentence quoting this site's facts.
    pub fact: String,
}

/// What the user should do, in runbook order (wait → restart → targeted cleanup → full reset).
#[derive(Clone, PartialEq, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Recommendation {
    /// Wait, polling; `until` is when the lock expires by itself when known.
    Wait { until: Option<Timestamp>, reason: String },
    /// Change an app setting.
    ChangeSetting { key: String, advice: String },
    /// Run the targeted cleanup plan ([`crate::plan::plan`] with `PlanKind::Targeted`).
    TargetedCleanup,
    /// Restart Kudu (Windows: `DELETE /api/processes/0`).
    RestartKudu,
    /// Restart the app (portal or `az webapp restart`).
    RestartApp,
    /// Serialise the pipelines that collided.
    FixPipeline { advice: String },
    /// Deploy again (the previous deployment is over).
    Redeploy { advice: String },
    /// Sign in to the SCM site again.
    SignIn,
    /// Look outside Kudu (ARM, RBAC, plan load).
    LookElsewhere { advice: String },
}

/// One cause found, with its evidence.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Finding {
    pub cause: CauseId,
    pub confidence: Confidence,
    /// One or two sentences quoting this site's facts.
    pub summary: String,
    pub evidence: Vec<Evidence>,
    pub recommendations: Vec<Recommendation>,
}

/// Whether a lock still blocks.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LockState {
    /// No deployment lock.
    Free,
    /// Held and a deployment is progressing.
    Live,
    /// Linux: past `lockExpiry`; Kudu no longer honours it.
    Expired,
    /// Held (not expired), but nothing is deploying.
    Orphaned,
    /// Windows: a lock file is listed, so a live process holds its handle.
    Held,
    /// We could not read enough to say.
    Unknown,
}

/// Another file under `site/locks` and what it means.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct OtherLock {
    pub name: String,
    pub modified: Option<Timestamp>,
    /// What it means here, in plain words (`status.lock` on Linux: normal, stays after use).
    pub meaning: String,
    /// Whether it plausibly blocks deployments now.
    pub blocking: bool,
}

/// The lock inspector's data.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct LockReport {
    pub state: LockState,
    pub holder_operation: Option<String>,
    pub worker: Option<String>,
    pub pid: Option<i64>,
    pub acquired: Option<Timestamp>,
    pub expires: Option<Timestamp>,
    /// Seconds left before the Linux lock expires by itself (negative: past).
    pub secs_left: Option<i64>,
    /// Windows: whether `deployments.lock` is listed.
    pub windows_lock_file: bool,
    /// One paragraph on what this lock means on this OS.
    pub explanation: String,
    pub others: Vec<OtherLock>,
}

/// One deployment on the timeline.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct TimelineEntry {
    pub deployment: Deployment,
    /// Received, or started when received is missing.
    pub begin: Option<Timestamp>,
    /// `None` while still open.
    pub end: Option<Timestamp>,
    /// Ids of deployments whose intervals overlap this one.
    pub overlaps: Vec<String>,
    /// Ended without success shortly (minutes) before another began.
    pub ended_unsuccessfully_before_next: bool,
}

#[derive(Clone, PartialEq, Debug, Serialize, Default)]
pub struct Timeline {
    /// Oldest first.
    pub entries: Vec<TimelineEntry>,
}

/// The whole answer.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Diagnosis {
    pub now: Timestamp,
    pub personality: Personality,
    /// The leading cause first. Never empty: `healthy` or `no-lock-found` when nothing else.
    pub findings: Vec<Finding>,
    pub timeline: Timeline,
    pub lock: LockReport,
    pub warnings: Vec<Warning>,
}

impl Diagnosis {
    pub fn primary(&self) -> Option<&Finding> {
        self.findings.first()
    }

    pub fn has(&self, cause: CauseId) -> bool {
        self.findings.iter().any(|f| f.cause == cause)
    }
}

/// Runs every cause detector over the session.
pub fn diagnose(session: &Session, now: Timestamp) -> Diagnosis {
    Diagnosis {
        now,
        personality: session.personality(),
        findings: vec![],
        timeline: Timeline::default(),
        lock: LockReport {
            state: LockState::Unknown,
            holder_operation: None,
            worker: None,
            pid: None,
            acquired: None,
            expires: None,
            secs_left: None,
            windows_lock_file: false,
            explanation: String::new(),
            others: vec![],
        },
        warnings: session.warnings.clone(),
    }
}
