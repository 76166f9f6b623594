//! The planner's safety invariants over arbitrary sessions, hostile listings included:
//! nothing outside the allow-list, backups before any destructive step, nothing destructive
//! while a deployment really progresses, and only exactly-listed, well-formed names.

use kudu_core::diagnose::CauseId;
use kudu_core::diagnose::{HUNG_AFTER_SECS, LOG_SILENCE_SECS, RECENT_LOCK_SECS};
use kudu_core::plan::paths::{DEPLOYMENTS_DIR, LOCKS_DIR, delete_target, is_allowed};
use kudu_core::plan::{
    CleanupPlan, FullResetOptions, PlanKind, Precondition, StepKind, plan, plan_full_reset,
};
use kudu_core::session::{LatestReply, Observed};
use kudu_core::{
    DeployStatus, Deployment, IsDeploying, LockInfo, LogEntry, LogLevel, Session, Timestamp,
    VfsEntry,
};
use proptest::prelude::*;

/// 2026-11-26T12:00:00Z.
const NOW_MS: i64 = 1_795_694_400_000;

fn now() -> Timestamp {
    Timestamp::from_unix_millis(NOW_MS)
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "deployment", "status.lock", "deployments.lock", "autoswap.lock", "pending", "active",
            "tools", "settings.xml", "temp-ab12cd34", "temp-00000000", "e51c9b2e", "a1b2c3d4",
            "f00dfeed", "Tools", "SETTINGS.XML", "Active", "E51C9B2E", "A1B2C3D4",
        ])
        .prop_map(str::to_string),
        2 => prop::sample::select(vec![
            ".", "..", "../wwwroot", "temp-x/../..", "temp-1\\..\\..", "temp-%2e%2e", "x\0y",
            "tеmp-12345678", "temp-12345678 ", "deployment/", "..deployment", "tools.",
            "\u{202e}temp-1", "temp-1\n",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,12}",
        1 => "[a-z]{60,80}",
    ]
}

fn entry() -> impl Strategy<Value = VfsEntry> {
    (name(), any::<bool>(), -7200i64..60).prop_map(|(name, is_dir, age)| VfsEntry {
        name,
        is_dir,
        size: 0,
        modified: Some(Timestamp::from_unix_millis(NOW_MS + age * 1000)),
        physical_path: None,
    })
}

fn status() -> impl Strategy<Value = DeployStatus> {
    prop::sample::select(vec![-1i64, 0, 1, 2, 3, 4, 5, 6, 42]).prop_map(DeployStatus::from_code)
}

fn time_ago(max_secs: i64) -> impl Strategy<Value = Option<Timestamp>> {
    prop::option::weighted(
        0.9,
        (0..max_secs).prop_map(|s| Timestamp::from_unix_millis(NOW_MS - s * 1000)),
    )
}

fn deployment() -> impl Strategy<Value = Deployment> {
    (
        prop::option::weighted(0.95, name()),
        status(),
        time_ago(4 * 3600),
        time_ago(4 * 3600),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec!["GitHub", "VSTS", "ZipDeploy", ""]),
        prop::sample::select(vec![
            "",
            "Building and Deploying 'x'.",
            "Receiving changes.",
        ]),
    )
        .prop_map(
            |(id, status, received, ended, complete, active, deployer, status_text)| Deployment {
                temp: id.as_deref().is_some_and(|i| i.starts_with("temp-")),
                id,
                status,
                status_code: None,
                status_text: status_text.to_string(),
                received,
                started: received,
                ended,
                last_success_end: None,
                deployer: deployer.to_string(),
                author: "N/A".into(),
                message: String::new(),
                progress: String::new(),
                complete,
                active,
                provisioning_state: None,
                flex_fields: false,
            },
        )
}

fn observed<T: std::fmt::Debug + Clone>(
    value: impl Strategy<Value = T>,
) -> impl Strategy<Value = Observed<T>> {
    prop_oneof![
        6 => value.prop_map(Observed::Value),
        1 => Just(Observed::Missing),
        1 => Just(Observed::NotRead),
        1 => Just(Observed::SessionExpired),
        1 => Just(Observed::Failed { status: 500, reason: "boom".into() }),
    ]
}

prop_compose! {
    fn session()(
        windows in any::<bool>(),
        deployments in observed(prop::collection::vec(deployment(), 0..6)),
        is_deploying in observed((any::<bool>(), prop::sample::select(vec!["Deployment Underway", "Scan Underway", ""]))),
        lock in observed((time_ago(3 * 3600), prop::sample::select(vec!["Performing continuous deployment", "Performing malware scan"]))),
        locks_dir in observed(prop::collection::vec(entry(), 0..6)),
        deployments_dir in observed(prop::collection::vec(entry(), 0..10)),
        log_ages in prop::collection::vec(0i64..3600, 0..3),
        denied in any::<bool>(),
        active_file in observed(name()),
    ) -> Session {
        let mut s = Session::new();
        s.active_file = active_file;
        s.deployments = deployments;
        s.locks_dir = locks_dir;
        s.deployments_dir = deployments_dir;
        if windows {
            s.is_deploying = Observed::Missing;
            s.info_lock = Observed::Missing;
        } else {
            s.is_deploying = match is_deploying {
                Observed::Value((deploying, msg)) => Observed::Value(IsDeploying { deploying, message: msg.to_string() }),
                Observed::Missing => Observed::Missing,
                Observed::NotRead => Observed::NotRead,
                Observed::SessionExpired => Observed::SessionExpired,
                Observed::Failed { status, reason } => Observed::Failed { status, reason },
            };
            s.info_lock = match lock {
                Observed::Value((acquired, op)) => Observed::Value(LockInfo {
                    holder_operation: Some(op.to_string()),
                    worker: Some("w1".into()),
                    pid: Some(1),
                    acquired,
                    expires: acquired.map(|a| a.plus_secs(1500)),
                }),
                _ => Observed::Missing,
            };
        }
        let ids: Vec<String> = s.deployments.value().into_iter().flatten().filter_map(|d| d.id.clone()).collect();
        for (id, age) in ids.iter().zip(log_ages) {
            s.logs.insert(id.clone(), Observed::Value(vec![LogEntry {
                time: Some(Timestamp::from_unix_millis(NOW_MS - age * 1000)),
                id: String::new(),
                message: "line".into(),
                level: LogLevel::Info,
                has_details: false,
            }]));
        }
        if denied {
            s.lock_errors.push((kudu_core::ReadId::Deployments, 500, "Access to the path '/home/site/locks/status.lock' is denied.".into()));
        }
        s
    }
}

/// A Flex Consumption record for a site whose list gave none.
fn flex_record() -> Deployment {
    Deployment {
        id: Some("f1e2d3c4".into()),
        status: DeployStatus::Conflict,
        status_code: Some(5),
        status_text: String::new(),
        received: Some(Timestamp::from_unix_millis(NOW_MS - 60_000)),
        started: None,
        ended: None,
        last_success_end: None,
        deployer: "core_tools".into(),
        author: "N/A".into(),
        message: String::new(),
        progress: String::new(),
        complete: true,
        active: false,
        temp: false,
        provisioning_state: None,
        flex_fields: true,
    }
}

fn well_formed(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// An independent reading of "a deployment is really progressing": a running record that has
/// been active recently (or whose times are unknown), a scan, or a lock taken moments ago.
fn really_progressing(s: &Session) -> bool {
    let running = s.deployments.value().into_iter().flatten().any(|d| {
        let running =
            d.status.is_running() || (matches!(d.status, DeployStatus::Unknown(_)) && !d.complete);
        if !running {
            return false;
        }
        let log_time =
            d.id.as_ref()
                .and_then(|id| s.logs.get(id))
                .and_then(Observed::value)
                .and_then(|l| l.iter().filter_map(|e| e.time).max());
        let record = [d.received, d.started].into_iter().flatten().max();
        match ([record, log_time].into_iter().flatten().max(), log_time) {
            (None, _) => true,
            (Some(t), Some(_)) => t.secs_until(now()) <= LOG_SILENCE_SECS,
            (Some(t), None) => t.secs_until(now()) <= HUNG_AFTER_SECS,
        }
    });
    let scan = s
        .is_deploying
        .value()
        .is_some_and(|d| d.deploying && d.message.contains("Scan"));
    let fresh_lock = s
        .info_lock
        .value()
        .and_then(|l| l.acquired)
        .is_some_and(|a| a.secs_until(now()) < RECENT_LOCK_SECS);
    running || scan || fresh_lock
}

fn check_plan(s: &Session, p: &CleanupPlan) -> Result<(), TestCaseError> {
    let mut backed_up = (false, false);
    for step in &p.steps {
        prop_assert!(
            is_allowed(&step.request),
            "outside the allow-list: {:?}",
            step.request
        );
        match step.kind {
            StepKind::Backup if step.request.path.ends_with("/site/locks/") => backed_up.0 = true,
            StepKind::Backup => backed_up.1 = true,
            kind if kind.is_destructive() => {
                prop_assert!(
                    backed_up.0 && backed_up.1,
                    "destructive step before both backups: {:?}",
                    step.request
                )
            }
            _ => {}
        }
        if let Some((dir, name)) = delete_target(&step.request)
            && dir == LOCKS_DIR
            && name == kudu_core::plan::paths::LINUX_LOCK_FILE
        {
            // The Linux lock's release: a fixed path, planned only for a listed lock folder
            // whose info.lock was read, and tied to that read by the run's `If-Match`.
            prop_assert!(
                s.locks_dir
                    .value()
                    .into_iter()
                    .flatten()
                    .any(|e| e.name == "deployment" && e.is_dir),
                "info.lock released without a listed lock folder"
            );
            prop_assert!(s.info_lock.value().is_some(), "info.lock released unread");
            prop_assert!(
                step.kind == StepKind::DeleteFile
                    && step.request.headers
                        == [(
                            "If-Match",
                            kudu_core::plan::paths::IF_MATCH_FROM_RECHECK.to_string()
                        )],
                "{:?}",
                step.request
            );
        } else if let Some((dir, name)) = delete_target(&step.request) {
            prop_assert!(well_formed(name), "ill-formed name {name:?}");
            let listing = if dir == LOCKS_DIR {
                &s.locks_dir
            } else {
                &s.deployments_dir
            };
            let is_dir = step.request.path.ends_with("/?recursive=true");
            prop_assert!(
                listing
                    .value()
                    .into_iter()
                    .flatten()
                    .any(|e| e.name == name && e.is_dir == is_dir),
                "{dir}{name} was not listed as such"
            );
        }
    }
    if really_progressing(s) {
        prop_assert!(
            p.steps.iter().all(|st| !st.kind.is_destructive()),
            "destructive steps while a deployment progresses: {:?}",
            p.steps
        );
    }
    for (dir, listing) in [
        (LOCKS_DIR, &s.locks_dir),
        (DEPLOYMENTS_DIR, &s.deployments_dir),
    ] {
        for e in listing.value().into_iter().flatten() {
            if !well_formed(&e.name) {
                prop_assert!(
                    p.refused.iter().any(|r| r.dir == dir && r.name == e.name),
                    "{dir}{:?} not reported as refused",
                    e.name
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn plans_keep_every_safety_invariant(s in session()) {
        let d = s.diagnose(now());
        prop_assert!(!d.findings.is_empty());
        let all = FullResetOptions { include_tools: true, include_settings: true, include_active: true };
        for p in [
            plan(&s, &d, PlanKind::Targeted),
            plan(&s, &d, PlanKind::FullReset),
            plan_full_reset(&s, &d, all),
        ] {
            check_plan(&s, &p)?;
            prop_assert!(p.steps.is_empty() == p.not_offered.is_some(), "{:?}", p.not_offered);
        }
    }

    /// `flex-consumption`: Kudu's lock files do not apply to a Flex Consumption app, so no
    /// plan of any kind has a step there, whatever its lock reads seemed to show. The mark may
    /// sit on any record of the list, or on `latest` alone when the list was not read.
    #[test]
    fn no_plan_on_a_flex_consumption_site_sends_anything(
        s in session(),
        pick in any::<prop::sample::Index>(),
        via_latest in any::<bool>(),
    ) {
        let mut s = s;
        let marked = match &mut s.deployments {
            Observed::Value(list) if !list.is_empty() && !via_latest => {
                let at = pick.index(list.len());
                list[at].flex_fields = true;
                list[at].clone()
            }
            _ => {
                let mut record = s.deployments.value().and_then(|l| l.first().cloned()).unwrap_or_else(flex_record);
                record.flex_fields = true;
                s.latest = Observed::Value(LatestReply { http_status: 200, deployment: Some(record.clone()), retry_after_secs: None });
                if !matches!(s.deployments, Observed::Value(_)) { record } else {
                    s.deployments = Observed::Failed { status: 500, reason: "boom".into() };
                    record
                }
            }
        };
        prop_assert!(marked.flex_fields);
        let d = s.diagnose(now());
        prop_assert!(d.has(CauseId::FlexConsumption), "{:?}", d.findings.iter().map(|f| f.cause).collect::<Vec<_>>());
        let all = FullResetOptions { include_tools: true, include_settings: true, include_active: true };
        for p in [
            plan(&s, &d, PlanKind::Targeted),
            plan(&s, &d, PlanKind::FullReset),
            plan_full_reset(&s, &d, all),
        ] {
            prop_assert!(p.steps.is_empty(), "{:?}", p.steps);
            prop_assert!(p.requires_acknowledgement.is_none());
            let why = p.not_offered.as_deref().unwrap_or_default();
            prop_assert!(why.contains("Flex Consumption"), "{why}");
        }
    }

    #[test]
    fn targeted_and_default_reset_never_touch_kept_entries(s in session()) {
        let d = s.diagnose(now());
        let active: Vec<String> = s.deployments.value().into_iter().flatten().filter(|d| d.active).filter_map(|d| d.id.clone()).collect();
        for p in [plan(&s, &d, PlanKind::Targeted), plan(&s, &d, PlanKind::FullReset)] {
            for step in &p.steps {
                if let Some((dir, name)) = delete_target(&step.request) && dir == DEPLOYMENTS_DIR {
                    // Windows' file system ignores case: `Tools` is `tools` there.
                    let name = name.trim_end_matches('/');
                    prop_assert!(!["tools", "settings.xml", "active"].iter().any(|k| k.eq_ignore_ascii_case(name)), "{name}");
                    prop_assert!(!active.iter().any(|a| a.eq_ignore_ascii_case(name)), "active folder {name}");
                    if let Some(id) = s.active_file.value() {
                        prop_assert!(id.is_empty() || !id.eq_ignore_ascii_case(name), "the active file's folder {name}");
                    }
                }
            }
        }
    }
}

/// The properties above must not hold vacuously: a stuck Linux site with hostile names gets a
/// destructive plan that passes the same checks.
#[test]
fn a_stuck_site_with_hostile_names_gets_a_checked_destructive_plan() {
    let entry = |name: &str, is_dir| VfsEntry {
        name: name.into(),
        is_dir,
        size: 0,
        modified: None,
        physical_path: None,
    };
    let mut s = locked_and_deploying(NOW_MS - 600_000);
    s.deployments = Observed::Value(vec![]);
    s.locks_dir = Observed::Value(vec![entry("deployment", true), entry("../wwwroot", true)]);
    s.deployments_dir = Observed::Value(vec![
        entry("pending", false),
        entry("temp-ab12cd34", true),
        entry("temp-x/../..", true),
        entry("tеmp-12345678", true),
        entry("tools", true),
    ]);
    let d = s.diagnose(now());
    let p = plan(&s, &d, PlanKind::Targeted);
    assert_eq!(d.findings[0].cause.as_str(), "stale-lock");
    assert_eq!(
        p.steps.iter().filter(|s| s.kind.is_destructive()).count(),
        3,
        "{:?}",
        p.steps
    );
    assert_eq!(p.refused.len(), 3);
    check_plan(&s, &p).unwrap();
}

/// Thousands of hung `temp-` deployments: every leftover gets a delete, each delete carries the
/// same few shared guards (not one per running deployment, which made plans quadratic), and the
/// plan still passes the safety checks.
#[test]
fn a_site_with_thousands_of_temp_folders_gets_guards_that_do_not_grow() {
    let temps = 2000;
    let entry = |name: &str, is_dir| VfsEntry {
        name: name.into(),
        is_dir,
        size: 0,
        modified: None,
        physical_path: None,
    };
    let received = Timestamp::from_unix_millis(NOW_MS - 3 * 3600 * 1000);
    let record = |id: String| Deployment {
        temp: id.starts_with("temp-"),
        id: Some(id),
        status: DeployStatus::Pending,
        status_code: None,
        status_text: "Receiving changes.".into(),
        received: Some(received),
        started: Some(received),
        ended: None,
        last_success_end: None,
        deployer: "GitHub".into(),
        author: "N/A".into(),
        message: String::new(),
        progress: String::new(),
        complete: false,
        active: false,
        provisioning_state: None,
        flex_fields: false,
    };
    let mut s = locked_and_deploying(NOW_MS - 2 * 3600 * 1000);
    let ids: Vec<String> = (0..temps).map(|i| format!("temp-{i:08x}")).collect();
    s.deployments = Observed::Value(ids.iter().cloned().map(record).collect());
    s.locks_dir = Observed::Value(vec![entry("deployment", true)]);
    s.deployments_dir = Observed::Value(ids.iter().map(|id| entry(id, true)).collect());
    // The diagnosis read the log of one of them (its follow-up reads are capped).
    s.logs.insert(
        ids[0].clone(),
        Observed::Value(vec![LogEntry {
            time: Some(received.plus_secs(1)),
            id: "e1".into(),
            message: "Fetching changes.".into(),
            level: LogLevel::Info,
            has_details: false,
        }]),
    );
    let d = s.diagnose(now());
    let p = plan(&s, &d, PlanKind::Targeted);
    check_plan(&s, &p).unwrap();
    let leftovers: Vec<_> = p
        .steps
        .iter()
        .filter(|st| st.kind == StepKind::DeleteDir && st.request.path.contains("/temp-"))
        .collect();
    assert_eq!(leftovers.len(), temps);
    let guards = |st: &kudu_core::plan::Step| match &st.precondition {
        Precondition::All(all) => all.clone(),
        other => vec![other.clone()],
    };
    let shared = |st: &kudu_core::plan::Step| {
        guards(st)
            .into_iter()
            .filter(|g| !matches!(g, Precondition::StillListed { .. }))
            .collect::<Vec<_>>()
    };
    let first = shared(leftovers[0]);
    assert!(first.len() <= 8, "{first:?}");
    assert!(first.contains(&Precondition::BackupVerified));
    assert!(first.contains(&Precondition::NotDeploying));
    // The one log the diagnosis read is guarded; the others were judged by age, as the
    // re-check judges them again.
    let logs: Vec<_> = first
        .iter()
        .filter(|g| matches!(g, Precondition::LogUnchanged { .. }))
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(leftovers.iter().all(|st| shared(st) == first));
}

/// A session whose Linux lock was taken at `acquired_ms` (with the 25-minute expiry) and whose
/// `isdeploying` says a deployment is under way.
fn locked_and_deploying(acquired_ms: i64) -> Session {
    let mut s = Session::new();
    let acquired = Timestamp::from_unix_millis(acquired_ms);
    s.info_lock = Observed::Value(LockInfo {
        holder_operation: Some("Performing continuous deployment".into()),
        worker: None,
        pid: None,
        acquired: Some(acquired),
        expires: Some(acquired.plus_secs(1500)),
    });
    s.is_deploying = Observed::Value(IsDeploying {
        deploying: true,
        message: "Deployment Underway".into(),
    });
    s
}
