//! No contradictions: over generated sessions shaped like real sites (a lock taken minutes or
//! hours ago, deployments running, quiet, finished or cancelled, logs that grew or stopped,
//! Kudu restarts, reads that failed), no two findings of one diagnosis make claims that exclude
//! each other, and every finding agrees with the one verdict on whether a deployment can start.
//!
//! The claims come from `CauseId::claims` and the pairs that exclude each other from
//! `EXCLUSIVE_CLAIMS`, both in the core.

use kudu_core::diagnose::{CanDeploy, Claim, EXCLUSIVE_CLAIMS};
use kudu_core::session::{LatestReply, Observed};
use kudu_core::{
    DeployStatus, Deployment, IsDeploying, LockInfo, LogEntry, LogLevel, Session, Timestamp,
    VfsEntry,
};
use proptest::prelude::*;

/// 2026-11-26T12:00:00Z, the diagnosis time of every case.
const NOW_MS: i64 = 1_795_694_400_000;

fn ago(secs: i64) -> Timestamp {
    Timestamp::from_unix_millis(NOW_MS - secs * 1000)
}

/// Seconds before now: mostly the last hour, sometimes days.
fn age() -> impl Strategy<Value = i64> {
    prop_oneof![
        6 => 0i64..3_600,
        1 => 3_600i64..200_000,
    ]
}

fn status() -> impl Strategy<Value = DeployStatus> {
    prop_oneof![
        Just(DeployStatus::Pending),
        Just(DeployStatus::Building),
        Just(DeployStatus::Deploying),
        Just(DeployStatus::Success),
        Just(DeployStatus::Failed),
        Just(DeployStatus::Cancelled),
    ]
}

const IDS: [&str; 4] = [
    "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0",
    "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1",
    "temp-ab12cd34",
    "d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2",
];

fn deployment(index: usize) -> impl Strategy<Value = Deployment> {
    // About one record in ten is a Flex Consumption one, so `flex-consumption` shows up
    // beside every other cause.
    let flex = prop::bool::weighted(0.1);
    (status(), age(), 0i64..1_800, any::<bool>(), flex).prop_map(
        move |(status, began, took, active, flex)| {
            let id = IDS[index % IDS.len()];
            let running = status.is_running();
            Deployment {
                id: Some(id.to_string()),
                status,
                status_code: None,
                status_text: String::new(),
                received: Some(ago(began)),
                started: Some(ago(began)),
                ended: (!running).then(|| ago((began - took).max(0))),
                last_success_end: None,
                deployer: ["GitHub", "VSTS", "OneDeploy"][index % 3].to_string(),
                author: "N/A".into(),
                message: "m".into(),
                progress: String::new(),
                complete: !running,
                active: active && status == DeployStatus::Success,
                temp: id.starts_with("temp-"),
                provisioning_state: None,
                flex_fields: flex,
            }
        },
    )
}

fn log(age_secs: i64) -> Vec<LogEntry> {
    vec![LogEntry {
        time: Some(ago(age_secs)),
        id: "e".into(),
        message: "Running build".into(),
        level: LogLevel::Info,
        has_details: false,
    }]
}

fn failed<T>() -> Observed<T> {
    Observed::Failed {
        status: 502,
        reason: "Bad Gateway".into(),
    }
}

fn folder(name: &str, modified: Timestamp, is_dir: bool) -> VfsEntry {
    VfsEntry {
        name: name.into(),
        is_dir,
        size: 0,
        modified: Some(modified),
        physical_path: None,
    }
}

/// Error texts a user pastes, one per family the classifier knows from outside Kudu or from
/// azure-cli, and Kudu's own refusal.
const PASTED: [&str; 5] = [
    "Cannot modify this site because another operation is in progress. Details: Id: 1, OperationName: SwapSiteSlots, CreatedTime: x",
    "No available instances to satisfy this request. App Service is attempting to increase capacity.",
    "Failed to acquire deployment lock",
    "Deployment with id 'abc' exists",
    "There is a deployment currently in progress. Please try again when it completes.",
];

prop_compose! {
    fn site()(
        windows in any::<bool>(),
        records in prop::collection::vec((0usize..4).prop_flat_map(deployment), 0..4),
        lock_age in prop::option::of(age()),
        is_deploying in prop_oneof![3 => any::<bool>().prop_map(Some), 1 => Just(None)],
        log_ages in prop::collection::vec(prop::option::of(0i64..2_400), 4),
        restart_age in prop::option::of(age()),
        list_fails in prop::bool::weighted(0.1),
        latest_202 in any::<bool>(),
        scan in prop::bool::weighted(0.1),
        pasted in prop::option::of(prop::sample::select(PASTED.to_vec())),
    ) -> Session {
        let mut s = Session::new();
        let mut records = records;
        records.dedup_by(|a, b| a.id == b.id);
        let mut locks = vec![];
        if let Some(age) = lock_age {
            if windows {
                locks.push(folder("deployments.lock", ago(age), false));
            } else {
                locks.push(folder("deployment", ago(age), true));
                s.info_lock = Observed::Value(LockInfo {
                    holder_operation: Some("Performing continuous deployment".into()),
                    worker: Some("a1b2c3d4e5f6".into()),
                    pid: Some(93),
                    acquired: Some(ago(age)),
                    expires: Some(ago(age - 1_500)),
                });
            }
        } else if !windows {
            s.info_lock = Observed::Missing;
        }
        s.locks_dir = Observed::Value(locks);
        s.is_deploying = if windows {
            Observed::Missing
        } else {
            match is_deploying {
                Some(deploying) => Observed::Value(IsDeploying {
                    deploying: deploying || scan,
                    message: if scan { "Scan Underway" } else { "Deployment Underway" }.into(),
                }),
                None => failed(),
            }
        };
        s.deployments_dir = Observed::Value(
            records
                .iter()
                .filter_map(|d| Some(folder(d.id.as_deref()?, d.received?, true)))
                .collect(),
        );
        for (d, log_age) in records.iter().zip(&log_ages) {
            if let (Some(id), Some(age)) = (&d.id, log_age) {
                s.logs.insert(id.clone(), Observed::Value(log(*age)));
            }
        }
        if let Some(newest) = records.iter().max_by_key(|d| d.received) {
            s.latest = Observed::Value(LatestReply {
                http_status: if latest_202 && newest.status.is_running() { 202 } else { 200 },
                deployment: Some(newest.clone()),
                retry_after_secs: None,
            });
        } else {
            s.latest = Observed::Missing;
        }
        if let Some(age) = restart_age {
            s.kudu_trace_dir = Observed::Value(vec![folder(
                "2026-11-26T09-00-00_a1b2c3_001_Startup_GET_api-deployments_0s.xml",
                ago(age),
                false,
            )]);
        }
        if let Some(text) = pasted {
            s.paste_error(text);
        }
        s.deployments = if list_fails { failed() } else { Observed::Value(records) };
        s.wwwroot_dir = Observed::Value(vec![]);
        s.environment = Observed::Missing;
        for key in kudu_core::reads::SETTINGS_READ {
            s.settings.insert((*key).to_string(), Observed::Value(None));
        }
        s
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn findings_never_contradict_each_other_or_the_verdict(s in site()) {
        let now = Timestamp::from_unix_millis(NOW_MS);
        let d = s.diagnose(now);
        let claims: Vec<(&str, Claim)> = d
            .findings
            .iter()
            .flat_map(|f| f.cause.claims().iter().map(move |c| (f.cause.as_str(), *c)))
            .collect();
        for (a, b) in EXCLUSIVE_CLAIMS {
            let with_a: Vec<&str> = claims.iter().filter(|(_, c)| *c == a).map(|(id, _)| *id).collect();
            let with_b: Vec<&str> = claims.iter().filter(|(_, c)| *c == b).map(|(id, _)| *id).collect();
            prop_assert!(
                with_a.is_empty() || with_b.is_empty(),
                "{:?} ({:?}) and {:?} ({:?}) in one diagnosis: {:#?}",
                with_a, a, with_b, b, d.findings.iter().map(|f| (&f.cause, &f.summary)).collect::<Vec<_>>()
            );
        }
        let verdict = d.deployability.can_deploy;
        for (cause, claim) in &claims {
            match claim {
                Claim::DeploymentsBlocked | Claim::SomethingRunning => prop_assert_ne!(
                    verdict, CanDeploy::Yes,
                    "{} claims {:?}, but the verdict says deployable: {:?}", cause, claim, d.deployability
                ),
                Claim::NothingBlocks => prop_assert_ne!(
                    verdict, CanDeploy::No,
                    "{} claims nothing blocks, but the verdict says {:?}", cause, d.deployability
                ),
                Claim::NothingRunning => prop_assert!(
                    !d.deployability.blocked_by(kudu_core::diagnose::BlockerKind::DeploymentRunning),
                    "{} claims nothing runs, but the verdict has {:?}", cause, d.deployability
                ),
            }
        }
        // A pasted ARM conflict is explained by its own cause, never as "nothing found".
        prop_assert!(
            !(d.has(kudu_core::CauseId::SiteOperationInProgress) && d.has(kudu_core::CauseId::NoLockFound)),
            "{:#?}", d.findings
        );
        // A lock whose holder is progressing is never called stale, expired or not.
        if d.deployability.blocked_by(kudu_core::diagnose::BlockerKind::DeploymentRunning) {
            prop_assert!(!d.has(kudu_core::CauseId::StaleLock), "{:#?}", d.findings);
        }
    }
}
