//! From observations to named causes.
//!
//! [`diagnose`] derives the round's facts once (`facts/`: the context with the personality and
//! which deployments are really progressing, the [`Timeline`], the [`LockReport`], the
//! [`Deployability`] verdict, the shared predicates), runs every cause detector (`causes/`, one
//! file per cause, each opening with a `// Cause:` block written for users and declaring its
//! spec: id, rank, claims, whether it ends by itself), and orders the findings by their specs'
//! ranks so the one that best explains a 409 leads (see [`diagnose`] for the order). It never
//! fails: a read that failed lowers confidence and shows in the evidence. `prevention` reads the
//! finished [`Diagnosis`] for which tools collided.

mod causes;
pub(crate) mod facts;
pub mod prevention;
mod spec;
#[cfg(test)]
pub(crate) mod test_session;

use std::cmp::Reverse;

use serde::Serialize;

use crate::model::*;
use crate::session::{Session, Warning};
use crate::time::Timestamp;
use facts::context::Context;
pub(crate) use spec::{CauseSpec, Rank, RankFact};

/// Stable cause ids; the UI uses [`CauseId::as_str`] as `data-cause`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum CauseId {
    AutoswapInProgress,
    CancelledThenRetried,
    ClientSelfCollision,
    DeploymentInProgress,
    FlexConsumption,
    Healthy,
    NoAvailableInstances,
    NoLockFound,
    ParallelDeployments,
    PartialDeploy,
    RestartRacedDeployment,
    RunFromPackageUrl,
    ScanUnderway,
    SessionExpired,
    SiteOperationInProgress,
    StaleLock,
    StatusLockDenied,
    WindowsLockHeld,
}

impl CauseId {
    pub const ALL: [CauseId; 18] = [
        CauseId::AutoswapInProgress,
        CauseId::CancelledThenRetried,
        CauseId::ClientSelfCollision,
        CauseId::DeploymentInProgress,
        CauseId::FlexConsumption,
        CauseId::Healthy,
        CauseId::NoAvailableInstances,
        CauseId::NoLockFound,
        CauseId::ParallelDeployments,
        CauseId::PartialDeploy,
        CauseId::RestartRacedDeployment,
        CauseId::RunFromPackageUrl,
        CauseId::ScanUnderway,
        CauseId::SessionExpired,
        CauseId::SiteOperationInProgress,
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
            CauseId::FlexConsumption => "flex-consumption",
            CauseId::Healthy => "healthy",
            CauseId::NoAvailableInstances => "no-available-instances",
            CauseId::NoLockFound => "no-lock-found",
            CauseId::ParallelDeployments => "parallel-deployments",
            CauseId::PartialDeploy => "partial-deploy",
            CauseId::RestartRacedDeployment => "restart-raced-deployment",
            CauseId::RunFromPackageUrl => "run-from-package-url",
            CauseId::ScanUnderway => "scan-underway",
            CauseId::SessionExpired => "session-expired",
            CauseId::SiteOperationInProgress => "site-operation-in-progress",
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

/// What a finding asserts about the site right now. Two findings shown together never make
/// claims that exclude each other ([`EXCLUSIVE_CLAIMS`]), and each agrees with the verdict
/// (`tests/diagnose_contradictions.rs` checks both over generated sessions).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Claim {
    /// A deployment started now gets 409.
    DeploymentsBlocked,
    /// Nothing found blocks a deployment started now.
    NothingBlocks,
    /// A deployment (or scan) is working right now.
    SomethingRunning,
    /// No deployment is working right now.
    NothingRunning,
}

/// Pairs of claims that cannot both be true.
pub const EXCLUSIVE_CLAIMS: [(Claim, Claim); 2] = [
    (Claim::DeploymentsBlocked, Claim::NothingBlocks),
    (Claim::SomethingRunning, Claim::NothingRunning),
];

impl CauseId {
    /// What a finding of this cause asserts about the site now (its spec's `claims`). History
    /// causes (a collision, a cancel, a restart that raced) assert nothing about now.
    pub fn claims(self) -> &'static [Claim] {
        causes::spec(self).claims
    }

    /// A finding of this cause means a deployment started now gets 409 (it claims
    /// [`Claim::DeploymentsBlocked`]).
    pub fn blocks(self) -> bool {
        causes::spec(self).blocks()
    }

    /// The condition clears without anyone acting, because something that is working ends it
    /// (a deployment, a malware scan or an auto swap finishing): worth watching until it does.
    pub fn ends_by_itself(self) -> bool {
        causes::spec(self).ends_by_itself
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

impl Evidence {
    pub fn new(source: &str, fact: String) -> Self {
        Evidence {
            source: source.to_string(),
            fact,
        }
    }
}

/// What the user should do, in runbook order (wait → restart → targeted cleanup → full reset).
#[derive(Clone, PartialEq, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Recommendation {
    /// Wait, polling; `until` is when the lock expires by itself when known.
    Wait {
        until: Option<Timestamp>,
        reason: String,
    },
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
    /// When the lock is held and nothing progresses (expired, orphaned, or a Windows lock file
    /// with no deployment progressing): how sure Kudu Doctor is that nothing uses it.
    pub idle_evidence: Option<IdleEvidence>,
}

/// How strong the evidence behind a claim is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceStrength {
    /// Silence alone: a quiet build looks the same.
    Weak,
    /// An outcome on record, or a restart of Kudu after the holder's last activity.
    Strong,
}

/// Why Kudu Doctor believes nothing uses a held lock, and how strongly.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct IdleEvidence {
    pub strength: EvidenceStrength,
    /// One sentence a user can check.
    pub reason: String,
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
    /// Failed or cancelled in the middle of its work rather than reporting its own failure, so
    /// its `end` is when that was noticed, not when it stopped (see
    /// `timeline::died_mid_deploy`).
    pub died_mid_deploy: bool,
}

/// What a mark on the timeline records, from Kudu's own trace folder.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimelineMarkKind {
    /// A deployment request (`POST /api/zipdeploy`, `/api/publish`, ...) Kudu answered 409.
    RefusedDeployment,
    /// A Kudu process started (its `_Startup` trace: the first request it served).
    KuduStarted,
    /// A Kudu process stopped gracefully (its `_Shutdown` trace).
    KuduStopped,
}

/// One moment from `LogFiles/kudu/trace/` (the file's name only), placed on the timeline.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct TimelineMark {
    pub kind: TimelineMarkKind,
    /// When the traced request began (UTC, whole seconds).
    pub at: Timestamp,
    /// The instance that served it (the first 6 characters of its instance id).
    pub instance: String,
    pub method: Option<String>,
    /// The request's path (`/api/zipdeploy`); `None` for a stop.
    pub path: Option<String>,
    pub status: Option<u16>,
    /// Whole seconds the request took, when it ended.
    pub duration_secs: Option<u64>,
    /// The trace file's name, for a user who wants to open it.
    pub file: String,
    /// For a refused deployment: the id of the deployment that was running then.
    pub held_by: Option<String>,
    /// One sentence: `Your push at 10:02:03 UTC (...) was refused with 409 while deployment
    /// 3f2a9c1e by GitHub (...) held the lock.`
    pub summary: String,
}

#[derive(Clone, PartialEq, Debug, Serialize, Default)]
pub struct Timeline {
    /// Oldest first.
    pub entries: Vec<TimelineEntry>,
    /// Refused deployment requests and Kudu starts and stops from Kudu's trace folder, oldest
    /// first, at most [`TIMELINE_MAX_MARKS`].
    #[serde(default)]
    pub marks: Vec<TimelineMark>,
    /// How many `temp-` records the whole deployment list holds; `entries` keeps at most
    /// [`TIMELINE_MAX_ENTRIES`] records, giving up old `temp-` records first.
    pub temp_records: usize,
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
    /// Whether a deployment can start now, and what blocks it: the one verdict every shell
    /// reads.
    pub deployability: Deployability,
    /// The error text the user pasted, classified; `None` when nothing was pasted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pasted_error: Option<Conflict>,
    /// Which instance holds the lock and which one was read (scaled-out plans).
    pub instances: InstanceReport,
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

pub use facts::context::{
    HUNG_AFTER_SECS, LINUX_LOCK_LIFETIME_SECS, LOG_SILENCE_SECS, MAX_PROCESS_READS,
    PROCESS_SAMPLE_GAP_SECS, RECENT_LOCK_SECS,
};
pub use facts::deployability::{self, Blocker, BlockerKind, CanDeploy, Deployability};
pub use facts::instances::InstanceReport;
pub use facts::timeline::{
    RETRY_WINDOW_SECS, TIMELINE_MAX_ENTRIES, TimeWindow, TimelineView, WINDOW_MIN_MARGIN_SECS,
};
pub use facts::traces::TIMELINE_MAX_MARKS;

/// Runs every cause detector over the session and orders the findings by the rank each cause's
/// spec declares, the one that best explains a 409 first:
///
/// 1. `session-expired`: nothing else can be known until the user signs in again; then
///    `flex-consumption`: what kind of site it is decides which of the rest apply.
/// 2. `run-from-package-url`: a permanent refusal; clearing locks cannot help.
/// 3. `autoswap-in-progress`, then `scan-underway`: Kudu refuses on purpose for a short while.
/// 4. `deployment-in-progress`: a live deployment beats every lock cause; the answer is to wait.
/// 5. `status-lock-denied`: breaks every status read, so a lock cleanup would not finish either.
/// 6. `cancelled-then-retried` when the cancelled run's lock is still held (it names why the
///    lock is stale), then `stale-lock`, then `windows-lock-held`.
/// 7. `partial-deploy` (the app is down); then the 409s from outside Kudu the user pasted,
///    `site-operation-in-progress` (ARM) and `no-available-instances` (capacity); then
///    `restart-raced-deployment`.
/// 8. History: `cancelled-then-retried`, `parallel-deployments`, `client-self-collision`.
/// 9. `healthy`, then `no-lock-found` (added whenever nothing blocks deployments now).
///
/// Within one rank, higher confidence first. When core reads failed, `High` drops to `Medium`
/// for every cause whose spec says it relies on them.
pub fn diagnose(session: &Session, now: Timestamp) -> Diagnosis {
    let ctx = Context::new(session, now);
    let mut findings: Vec<Finding> = causes::REGISTRY
        .iter()
        .filter_map(|(_, detect)| detect(&ctx))
        .collect();
    let nothing_else_found = findings.is_empty();
    if let Some(f) = (causes::NO_LOCK_FOUND.1)(&ctx) {
        findings.push(f);
    }
    if let Some(f) = (causes::HEALTHY.1)(&ctx, nothing_else_found) {
        findings.push(f);
    }
    let unreadable = ctx.unreadable();
    if !unreadable.is_empty() {
        for f in &mut findings {
            if causes::spec(f.cause).relies_on_core_reads && f.confidence == Confidence::High {
                f.confidence = Confidence::Medium;
                f.evidence.push(Evidence::new(
                    "Kudu Doctor",
                    format!(
                        "Confidence lowered: these reads gave no usable answer: {}.",
                        unreadable.join(", ")
                    ),
                ));
            }
        }
    }
    findings.sort_by_cached_key(|f| {
        (
            causes::spec(f.cause).rank.in_round(&ctx),
            Reverse(f.confidence),
        )
    });
    let marks = facts::traces::marks(&ctx);
    let instances = facts::instances::report(session, &ctx.lock);
    Diagnosis {
        now,
        personality: ctx.personality,
        findings,
        timeline: Timeline {
            marks,
            ..ctx.timeline
        },
        lock: ctx.lock,
        deployability: ctx.deployability,
        pasted_error: session.pasted_error.clone(),
        instances,
        warnings: session.warnings.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::test_session::*;
    use super::*;
    use crate::session::Observed;

    fn ids(d: &Diagnosis) -> Vec<&'static str> {
        d.findings.iter().map(|f| f.cause.as_str()).collect()
    }

    /// The specs hold the order documented on [`diagnose`].
    #[test]
    fn the_specs_rank_causes_in_the_documented_order() {
        let order = |cancel_holds_lock: bool| {
            let mut all = CauseId::ALL;
            all.sort_by_key(|c| causes::spec(*c).rank.values()[usize::from(!cancel_holds_lock)]);
            all.map(CauseId::as_str)
        };
        let documented = [
            "session-expired",
            "flex-consumption",
            "run-from-package-url",
            "autoswap-in-progress",
            "scan-underway",
            "deployment-in-progress",
            "status-lock-denied",
            "stale-lock",
            "windows-lock-held",
            "partial-deploy",
            "site-operation-in-progress",
            "no-available-instances",
            "restart-raced-deployment",
            "cancelled-then-retried",
            "parallel-deployments",
            "client-self-collision",
            "healthy",
            "no-lock-found",
        ];
        assert_eq!(order(false), documented);
        let mut holding = documented.to_vec();
        holding.retain(|c| *c != "cancelled-then-retried");
        holding.insert(7, "cancelled-then-retried");
        assert_eq!(order(true).to_vec(), holding);
    }

    #[test]
    fn only_what_something_working_ends_ends_by_itself() {
        let ends: Vec<_> = CauseId::ALL
            .into_iter()
            .filter(|c| c.ends_by_itself())
            .collect();
        assert_eq!(
            ends,
            [
                CauseId::AutoswapInProgress,
                CauseId::DeploymentInProgress,
                CauseId::ScanUnderway
            ]
        );
    }

    #[test]
    fn an_idle_site_is_healthy_first_and_points_elsewhere_second() {
        let d = diagnose(&Site::linux().build(), at(12, 0, 0));
        assert_eq!(ids(&d), ["healthy", "no-lock-found"]);
        assert_eq!(d.lock.state, LockState::Free);
        assert_eq!(d.personality, Personality::Linux);
    }

    #[test]
    fn an_expired_session_leads_everything() {
        let mut s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 0, 0))
            .setting("WEBSITE_RUN_FROM_PACKAGE", "https://x/y.zip")
            .build();
        s.deployments_dir = Observed::SessionExpired;
        let d = diagnose(&s, at(12, 0, 0));
        assert_eq!(ids(&d)[..2], ["session-expired", "run-from-package-url"]);
    }

    #[test]
    fn run_from_package_beats_a_stale_lock() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 0, 0))
            .setting("WEBSITE_RUN_FROM_PACKAGE", "https://x/y.zip")
            .build();
        assert_eq!(
            ids(&diagnose(&s, at(12, 0, 0))),
            ["run-from-package-url", "stale-lock"]
        );
    }

    #[test]
    fn a_live_deployment_beats_history() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 58, 0))
            .deployment(deployment(
                "a0a0",
                DeployStatus::Success,
                "VSTS",
                at(11, 50, 0),
                Some(at(11, 58, 30)),
            ))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 58, 1),
                None,
            ))
            .build();
        let d = diagnose(&s, at(12, 0, 0));
        assert_eq!(ids(&d), ["deployment-in-progress", "parallel-deployments"]);
        assert_eq!(d.lock.state, LockState::Live);
    }

    #[test]
    fn a_cancelled_run_holding_the_lock_leads_the_stale_lock() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 55, 0))
            .deployment(deployment(
                "d0d0",
                DeployStatus::Cancelled,
                "GitHub",
                at(11, 55, 1),
                Some(at(11, 57, 0)),
            ))
            .build();
        assert_eq!(
            ids(&diagnose(&s, at(12, 0, 0))),
            ["cancelled-then-retried", "stale-lock"]
        );
    }

    #[test]
    fn failed_core_reads_lower_confidence_and_never_claim_health() {
        let mut s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 0, 0))
            .build();
        s.deployments_dir = Observed::Failed {
            status: 500,
            reason: "boom".into(),
        };
        let d = diagnose(&s, at(12, 0, 0));
        assert_eq!(d.findings[0].cause, CauseId::StaleLock);
        assert_eq!(d.findings[0].confidence, Confidence::Medium);

        let mut s = Site::linux().build();
        s.deployments = Observed::Failed {
            status: 502,
            reason: "Bad Gateway".into(),
        };
        s.latest = Observed::Failed {
            status: 502,
            reason: "Bad Gateway".into(),
        };
        let d = diagnose(&s, at(12, 0, 0));
        assert_eq!(ids(&d), ["no-lock-found"]);
    }

    #[test]
    fn a_held_lock_leads_even_when_the_deployment_list_is_down() {
        for mut s in [
            Site::linux()
                .linux_lock("Performing continuous deployment", at(11, 50, 0))
                .build(),
            Site::windows()
                .list_lock(file("deployments.lock", at(11, 20, 0)))
                .build(),
        ] {
            s.deployments = Observed::Failed {
                status: 503,
                reason: "Service Unavailable".into(),
            };
            s.latest = Observed::Failed {
                status: 503,
                reason: "Service Unavailable".into(),
            };
            let d = diagnose(&s, at(12, 0, 0));
            assert_eq!(ids(&d), ["deployment-in-progress"]);
            assert_eq!(d.lock.state, LockState::Held);
        }
    }

    /// Seen in Chromium (issue 15): a build past the 25-minute lock expiry, still writing its
    /// log, was led by deployment-in-progress and *also* called a stale lock "nothing is
    /// using", because the expiry was checked before progress.
    #[test]
    fn a_build_that_outlives_the_lock_expiry_is_in_progress_and_never_stale() {
        let mut latest = deployment(
            "b0b0",
            DeployStatus::Building,
            "GitHub",
            at(11, 30, 0),
            None,
        );
        latest.progress = "Running oryx build".into();
        let mut s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 30, 0))
            .deployment(latest.clone())
            .log("b0b0", vec![log_line(at(11, 59, 53), "Copying files")])
            .build();
        s.latest = Observed::Value(crate::session::LatestReply {
            http_status: 202,
            deployment: Some(latest),
            retry_after_secs: None,
        });
        let d = diagnose(&s, at(12, 0, 0));
        assert_eq!(ids(&d), ["deployment-in-progress"]);
        assert_eq!(d.lock.state, LockState::Live);
        assert!(
            d.lock.explanation.contains("still in use"),
            "{}",
            d.lock.explanation
        );
        assert_eq!(d.deployability.can_deploy, CanDeploy::No);
    }

    #[test]
    fn silence_alone_is_weak_evidence_and_the_plan_asks_for_the_users_word() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 45, 0))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 45, 1),
                None,
            ))
            .log("b0b0", vec![log_line(at(11, 46, 0), "Running npm ci")])
            .build();
        let d = diagnose(&s, at(12, 0, 0));
        assert_eq!(ids(&d)[0], "stale-lock");
        assert_eq!(d.findings[0].confidence, Confidence::Medium);
        assert!(matches!(
            d.findings[0].recommendations[0],
            Recommendation::Wait { until: Some(_), .. }
        ));
        let idle = d.lock.idle_evidence.clone().unwrap();
        assert_eq!(idle.strength, EvidenceStrength::Weak);
        let plan = crate::plan::plan(&s, &d, crate::plan::PlanKind::Targeted);
        assert!(!plan.steps.is_empty());
        let ack = plan.requires_acknowledgement.unwrap();
        assert!(ack.contains("No deployment is running"), "{ack}");
    }

    #[test]
    fn a_restart_of_kudu_after_the_lock_was_taken_is_strong_evidence() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 45, 0))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 45, 1),
                None,
            ))
            .log("b0b0", vec![log_line(at(11, 46, 0), "Running npm ci")])
            .kudu_started(at(11, 50, 0))
            .build();
        let d = diagnose(&s, at(12, 0, 0));
        assert_eq!(ids(&d)[0], "stale-lock");
        let idle = d.lock.idle_evidence.clone().unwrap();
        assert_eq!(idle.strength, EvidenceStrength::Strong);
        assert!(
            idle.reason.contains("Kudu restarted at 11:50:00 UTC"),
            "{}",
            idle.reason
        );
        assert!(
            d.findings[0]
                .summary
                .contains("stopped when Kudu restarted")
        );
        let plan = crate::plan::plan(&s, &d, crate::plan::PlanKind::Targeted);
        assert!(!plan.steps.is_empty());
        assert_eq!(plan.requires_acknowledgement, None);
    }

    #[test]
    fn a_restart_of_another_instance_or_before_the_lock_is_no_evidence() {
        let quiet = || {
            Site::linux()
                .linux_lock("Performing continuous deployment", at(11, 45, 0))
                .deployment(deployment(
                    "b0b0",
                    DeployStatus::Building,
                    "GitHub",
                    at(11, 45, 1),
                    None,
                ))
                .log("b0b0", vec![log_line(at(11, 46, 0), "Running npm ci")])
        };
        let strength = |s: &crate::session::Session| {
            diagnose(s, at(12, 0, 0))
                .lock
                .idle_evidence
                .map(|e| e.strength)
        };
        // Another instance of a scaled-out plan restarted: this one's build may still run.
        let mut other = quiet().build();
        other.kudu_trace_dir = Observed::Value(vec![file(
            "2026-11-26T11-50-00_ffeedd_001_Startup_GET_api-deployments_0s.xml",
            at(11, 50, 0),
        )]);
        assert_eq!(strength(&other), Some(EvidenceStrength::Weak));
        // This instance restarted before the lock was taken.
        let before = quiet().kudu_started(at(11, 40, 0)).build();
        assert_eq!(strength(&before), Some(EvidenceStrength::Weak));
        // A graceful stop of this instance after it is as good as a start.
        let mut stopped = quiet().build();
        stopped.kudu_trace_dir = Observed::Value(vec![file(
            "2026-11-26T11-55-10_a1b2c3_010_Shutdown_0s.xml",
            at(11, 55, 10),
        )]);
        assert_eq!(strength(&stopped), Some(EvidenceStrength::Strong));
        // A name whose time does not parse is no evidence, whatever its modified time says.
        let mut garbled = quiet().build();
        garbled.kudu_trace_dir = Observed::Value(vec![file(
            "yesterday_a1b2c3_001_Startup_GET_api-deployments_0s.xml",
            at(11, 55, 10),
        )]);
        assert_eq!(strength(&garbled), Some(EvidenceStrength::Weak));
    }

    #[test]
    fn no_running_record_behind_a_held_lock_is_strong_evidence() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 50, 0))
            .build();
        let d = diagnose(&s, at(12, 0, 0));
        let idle = d.lock.idle_evidence.clone().unwrap();
        assert_eq!(idle.strength, EvidenceStrength::Strong);
        assert_eq!(d.findings[0].confidence, Confidence::High);
    }

    #[test]
    fn an_empty_session_still_answers() {
        let d = diagnose(&Session::new(), at(12, 0, 0));
        assert_eq!(ids(&d), ["no-lock-found"]);
        assert_eq!(d.lock.state, LockState::Unknown);
    }
}
