//! Diagnosis over arbitrary sessions: it never panics, always answers, keeps its documented
//! order, and the follow-up reads it asks for stay well-formed.

use kudu_core::diagnose::CauseId;
use kudu_core::session::Observed;
use kudu_core::{
    DeployStatus, Deployment, IsDeploying, LockInfo, LogEntry, LogLevel, Session, Timestamp,
    VfsEntry,
};
use proptest::prelude::*;

/// Years 0001 to 9999, the range RFC 3339 can express.
fn instant() -> impl Strategy<Value = Timestamp> {
    (-62_135_596_800_000i64..253_402_300_799_000).prop_map(Timestamp::from_unix_millis)
}

fn maybe_instant() -> impl Strategy<Value = Option<Timestamp>> {
    prop::option::of(instant())
}

fn deployment() -> impl Strategy<Value = Deployment> {
    (
        prop::option::of("\\PC{0,40}"),
        any::<i64>(),
        maybe_instant(),
        maybe_instant(),
        maybe_instant(),
        any::<(bool, bool, bool)>(),
        "\\PC{0,20}",
        "\\PC{0,60}",
    )
        .prop_map(
            |(id, code, received, started, ended, (complete, active, temp), deployer, text)| {
                Deployment {
                    id,
                    status: DeployStatus::from_code(code % 9 - 1),
                    status_code: Some(code),
                    status_text: text.clone(),
                    received,
                    started,
                    ended,
                    last_success_end: None,
                    deployer,
                    author: String::new(),
                    message: text.clone(),
                    progress: text,
                    complete,
                    active,
                    temp,
                    provisioning_state: None,
                    flex_fields: false,
                }
            },
        )
}

fn entry() -> impl Strategy<Value = VfsEntry> {
    ("\\PC{0,30}", any::<bool>(), maybe_instant()).prop_map(|(name, is_dir, modified)| VfsEntry {
        name,
        is_dir,
        size: 0,
        modified,
        physical_path: None,
    })
}

fn observed<T: std::fmt::Debug + Clone>(
    value: impl Strategy<Value = T>,
) -> impl Strategy<Value = Observed<T>> {
    prop_oneof![
        4 => value.prop_map(Observed::Value),
        1 => Just(Observed::Missing),
        1 => Just(Observed::NotRead),
        1 => Just(Observed::SessionExpired),
        1 => Just(Observed::Failed { status: 502, reason: "Bad Gateway".into() }),
    ]
}

prop_compose! {
    fn session()(
        deployments in observed(prop::collection::vec(deployment(), 0..8)),
        is_deploying in observed((any::<bool>(), "\\PC{0,20}").prop_map(|(deploying, message)| IsDeploying { deploying, message })),
        info_lock in observed((maybe_instant(), maybe_instant(), prop::option::of("\\PC{0,30}")).prop_map(|(acquired, expires, op)| LockInfo { holder_operation: op, worker: None, pid: None, acquired, expires })),
        locks_dir in observed(prop::collection::vec(entry(), 0..6)),
        deployments_dir in observed(prop::collection::vec(entry(), 0..8)),
        wwwroot_dir in observed(prop::collection::vec(entry(), 0..5)),
        settings in prop::collection::btree_map("WEBSITE_[A-Z_]{3,20}", observed(prop::option::of("\\PC{0,40}")), 0..4),
        logs in prop::collection::btree_map("\\PC{0,20}", observed(prop::collection::vec((maybe_instant(), any::<bool>()).prop_map(|(time, has_details)| LogEntry { time, id: "e".into(), message: "m".into(), level: LogLevel::Info, has_details }), 0..4)), 0..3),
        lock_errors in prop::collection::vec("\\PC{0,80}", 0..2),
    ) -> Session {
        let mut s = Session::new();
        s.deployments = deployments;
        s.is_deploying = is_deploying;
        s.info_lock = info_lock;
        s.locks_dir = locks_dir;
        s.deployments_dir = deployments_dir;
        s.wwwroot_dir = wwwroot_dir;
        s.settings = settings;
        s.logs = logs;
        s.lock_errors = lock_errors.into_iter().map(|t| (kudu_core::ReadId::Latest, 409, t)).collect();
        s
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn diagnosis_always_answers_in_order(s in session(), now in instant()) {
        let d = s.diagnose(now);
        prop_assert!(!d.findings.is_empty());
        let expired = [
            matches!(s.deployments, Observed::SessionExpired),
            matches!(s.locks_dir, Observed::SessionExpired),
            matches!(s.is_deploying, Observed::SessionExpired),
        ];
        if expired.iter().any(|e| *e) {
            prop_assert_eq!(d.findings[0].cause, CauseId::SessionExpired);
        }
        if d.has(CauseId::Healthy) {
            prop_assert_eq!(d.findings[0].cause, CauseId::Healthy);
        }
        let no_lock = d.findings.iter().position(|f| f.cause == CauseId::NoLockFound);
        if let Some(i) = no_lock {
            prop_assert_eq!(i, d.findings.len() - 1, "no-lock-found comes last");
        }
        for f in &d.findings {
            prop_assert!(!f.summary.is_empty());
        }
    }

    #[test]
    fn follow_up_reads_are_well_formed(s in session()) {
        for read in s.follow_up_reads() {
            prop_assert_eq!(read.method, "GET");
            prop_assert!(!read.path.contains(".."), "{}", read.path);
            // The whole log as a file, or the API's log and the children of one of its lines.
            let file = read.path.starts_with("/api/vfs/site/deployments/")
                && read.path.ends_with("/log.log")
                && read.path.matches('/').count() == 6;
            let api = read.path.starts_with("/api/deployments/")
                && (read.path.ends_with("/log") || read.path.contains("/log/"));
            prop_assert!(file || api, "{}", read.path);
        }
    }
}
