//! Facts derived once from a [`Session`] and shared by every cause detector: the personality,
//! the deployments and which of them are really progressing, the timeline and the lock report.
//!
//! Detectors read only from here, so a rule such as "a deployment whose log is silent for 5 minutes
//! is hung" is decided in one place and every cause agrees on it.

use crate::diagnose::facts::deployability::{CanDeploy, Deployability};
use crate::diagnose::facts::timeline::died_mid_deploy;
use crate::diagnose::facts::wording;
use crate::diagnose::{LockReport, Timeline};
use crate::model::*;
use crate::parse::TraceKind;
use crate::session::{Observed, Session};
use crate::time::Timestamp;

/// A running deployment whose received/start time is older than this, and whose log we have not
/// read, counts as hung. Zip and OneDeploy pushes finish in a few minutes and Oryx builds rarely
/// pass 15; KuduLite itself gives up on its lock after 25 (1500 s), so 20 minutes leaves room for
/// slow builds while still calling a hang before Kudu does.
pub const HUNG_AFTER_SECS: i64 = 20 * 60;

/// With the deployment log read: a running deployment whose newest log line is older than this
/// *looks* hung, and that is only ever weak evidence ([`Liveness::LooksHung`]).
///
/// Why silence proves nothing by itself: Kudu runs a build's commands under its `IdleManager`
/// (projectkudu/kudu `Kudu.Core/Infrastructure/IdleManager.cs`), which kills a command only
/// when it has written no output *and* used no CPU for the command idle timeout
/// (`SCM_COMMAND_IDLE_TIMEOUT`, 60 s by default, `DeploymentSettingsExtension.cs`). A command
/// that keeps using CPU may stay silent for as long as it likes, and the common slow steps do:
/// `npm ci` prints nothing while it resolves, fetches and extracts a large tree, `pip install`
/// prints nothing while it compiles a wheel, and a post-deployment command prints what it
/// prints. Field reports show whole deploy steps of 28–43 minutes (webapps-deploy#547), longer
/// than KuduLite's own 25-minute lock.
///
/// So this threshold only decides the wording ("looks hung, no log line for 12 min") and what
/// leads (waiting, with the lock's countdown), never whether files are deleted: on silence
/// alone the cleanup needs the user's explicit word that nothing is deploying. Ten minutes is
/// ten of Kudu's default idle timeouts: a build that is silent *and* idle is killed by Kudu
/// long before (its record then turns Failed, which is strong evidence), so what is left
/// silent this long is either busy in a quiet step or stuck where Kudu cannot see it.
pub const LOG_SILENCE_SECS: i64 = 10 * 60;

/// A lock taken less than this long ago counts as live even when no deployment record shows
/// yet: Kudu creates the `temp-` record just after taking the lock, and settings updates hold it
/// for a few seconds.
pub const RECENT_LOCK_SECS: i64 = 2 * 60;

/// KuduLite's deployment lock lifetime (`AllSafeLinuxLock.defaultLockTimeout`).
pub const LINUX_LOCK_LIFETIME_SECS: i64 = 1500;

/// How long apart the two reads of the SCM site's build processes are (Windows). Windows
/// counts CPU time in clock ticks of 15.6 ms, so a build that does any work in this time moves
/// it by many ticks; a build that moved it by none may still be waiting on the network, which
/// is why "no CPU" stays weak evidence ([`ProcessSignal::Idle`]). Short, because only a round
/// whose holder already looks hung waits for it.
pub const PROCESS_SAMPLE_GAP_SECS: i64 = 5;

/// At most this many processes are read in detail per round: the site user's processes are
/// the two w3wp and a build tree of a few; a list longer than this is not a site at rest, and
/// "no process holds the lock" is then never concluded.
pub const MAX_PROCESS_READS: usize = 12;

/// What the SCM site's processes say about a lock holder that looks hung (Windows only, from
/// `/api/processes` and two reads of each process's details [`PROCESS_SAMPLE_GAP_SECS`] apart).
///
/// Kudu runs a build's commands (`deploy.cmd`, then npm, msbuild, dotnet, python) as children
/// of its own w3wp, under its `IdleManager` (projectkudu/kudu
/// `Kudu.Core/Infrastructure/IdleManager.cs`), which kills a command when neither its output
/// nor the CPU time of its whole process tree has moved for the command idle timeout
/// (`SCM_COMMAND_IDLE_TIMEOUT`, 60 s by default). So:
/// - CPU time that moved is what IdleManager itself counts as work: the build is alive however
///   quiet its log ([`ProcessSignal::Busy`], which beats log silence).
/// - CPU time that did not move is only weak evidence ([`ProcessSignal::Idle`]): with the
///   default timeout IdleManager would already have killed a silent, idle tree, so one still
///   there after minutes of silence either runs with a raised timeout (common for long builds)
///   or waits where IdleManager cannot see it (a download, another lock); a process waiting on
///   the network uses no CPU and can go on. It sharpens the words, it never unlocks a delete.
/// - No build process at all, and no process with `deployments.lock` open, is strong evidence
///   that the holder is dead ([`ProcessSignal::NoHolder`]): on Windows the lock is an open
///   handle (kudu-facts §2.2), so nothing on this instance holds it. Concluded only when every
///   listed process was read and had its open handles listed, and Kudu's trace folder shows a
///   single instance (another instance sharing `D:\home` could hold it).
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum ProcessSignal {
    /// Not read, or nothing usable came back: no evidence either way.
    Unknown,
    /// `label`'s CPU time moved by `cpu_ms` in `secs` seconds.
    Busy {
        label: String,
        cpu_ms: u64,
        secs: i64,
    },
    /// A build process ended between the two reads: the build moved on.
    Ended { label: String },
    /// Build processes exist and none used CPU in `secs` seconds; `label` is the busiest.
    Idle { label: String, secs: i64 },
    /// No build process, and no process of the SCM site holds `deployments.lock`.
    NoHolder,
}

impl ProcessSignal {
    /// The signal in the words of a finding (`npm used 2.4 s of CPU in the last 5 s`).
    pub(crate) fn describe(&self) -> Option<String> {
        match self {
            ProcessSignal::Unknown => None,
            ProcessSignal::Busy {
                label,
                cpu_ms,
                secs,
            } => Some(format!(
                "{label} used {}.{} s of CPU in {secs} s",
                cpu_ms / 1000,
                (cpu_ms % 1000) / 100
            )),
            ProcessSignal::Ended { label } => {
                Some(format!("{label} ended while Kudu Doctor watched it"))
            }
            ProcessSignal::Idle { label, secs } => Some(format!("{label} used no CPU in {secs} s")),
            ProcessSignal::NoHolder => {
                Some("no process of Kudu's site runs a build or holds deployments.lock".to_string())
            }
        }
    }
}

/// Whether a deployment that has not reached an outcome is still working, graded by how strong
/// the evidence is. Only [`Liveness::Dead`] lets a one-click cleanup delete what it holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Liveness {
    /// Active recently, or nothing shows otherwise.
    Progressing,
    /// Weak evidence of a hang: its log has been silent for longer than [`LOG_SILENCE_SECS`]
    /// (or, with its log unread, it began longer than [`HUNG_AFTER_SECS`] ago). A quiet build
    /// looks exactly like this.
    LooksHung,
    /// Strong evidence it stopped: Kudu itself started again after the deployment's last sign
    /// of activity (a `_Startup` trace), and the process that ran it died with the old Kudu;
    /// or, on Windows, no process runs a build or holds the lock ([`ProcessSignal::NoHolder`]).
    Dead,
}

/// A deployment that has not reached an outcome, with what we know about its activity.
#[derive(Clone, Debug)]
pub(crate) struct RunningDeployment<'a> {
    pub(crate) deployment: ListedDeployment<'a>,
    /// The newest of received, started and (when read) the last log line.
    pub(crate) last_activity: Option<Timestamp>,
    /// Whether its log was read far enough to tell when it last grew (the top level, and the
    /// children of the newest line when it has any).
    pub(crate) log_read: bool,
    pub(crate) liveness: Liveness,
}

/// A deployment borrowed from the session (a big site has thousands of pending `temp-`
/// records); it derefs to the [`Deployment`], so `&r.deployment` reads as one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ListedDeployment<'a>(&'a Deployment);

impl std::ops::Deref for ListedDeployment<'_> {
    type Target = Deployment;

    fn deref(&self) -> &Deployment {
        self.0
    }
}

impl RunningDeployment<'_> {
    pub(crate) fn id(&self) -> &str {
        self.deployment.id.as_deref().unwrap_or("(no id)")
    }

    /// Not progressing, on weak or strong evidence.
    pub(crate) fn hung(&self) -> bool {
        self.liveness != Liveness::Progressing
    }
}

/// Entries of `site/deployments/` that are Kudu's own bookkeeping, never a leftover.
pub const PROTECTED_DEPLOYMENT_ENTRIES: [&str; 4] = ["tools", "settings.xml", "active", "pending"];

/// Whether `name` is one of [`PROTECTED_DEPLOYMENT_ENTRIES`], in any case: `D:\home` on
/// Windows and the Azure Files share behind it ignore case, so `Tools` is `tools` there.
pub(crate) fn is_protected_entry(name: &str) -> bool {
    PROTECTED_DEPLOYMENT_ENTRIES
        .iter()
        .any(|kept| kept.eq_ignore_ascii_case(name))
}

/// Kudu names deployment folders after a 32-hex GUID, a dashed GUID or a 40-hex git id.
pub(crate) fn looks_like_deployment_id(name: &str) -> bool {
    let hex = name.chars().filter(|c| *c != '-').collect::<String>();
    matches!(hex.len(), 32 | 40) && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// The session's deployments, borrowed: a big site lists thousands, and a copy per diagnosis
/// and per plan was most of their peak memory (issue 6). Reads like the `Vec` it replaced
/// (`list.iter()`, `for d in &list`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeploymentList<'a>(&'a [Deployment]);

impl std::ops::Deref for DeploymentList<'_> {
    type Target = [Deployment];

    fn deref(&self) -> &[Deployment] {
        self.0
    }
}

impl<'a> IntoIterator for &DeploymentList<'a> {
    type Item = &'a Deployment;
    type IntoIter = std::slice::Iter<'a, Deployment>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Everything the detectors share.
pub(crate) struct Context<'a> {
    pub(crate) session: &'a Session,
    pub(crate) now: Timestamp,
    pub(crate) personality: Personality,
    /// From the list, or from `latest` when the list could not be read.
    pub(crate) deployments: DeploymentList<'a>,
    /// Whether the deployment list itself was read.
    pub(crate) deployments_known: bool,
    pub(crate) running: Vec<RunningDeployment<'a>>,
    /// What the SCM site's processes showed (Windows; [`ProcessSignal::Unknown`] unless read).
    pub(crate) processes: ProcessSignal,
    pub(crate) timeline: Timeline,
    pub(crate) lock: LockReport,
    /// Whether a deployment can start now ([`crate::diagnose::facts::deployability`]), judged once
    /// from the facts above.
    pub(crate) deployability: Deployability,
}

/// Settings Kudu checks before accepting a push deployment, in the order it checks them: any
/// of them set to a URL makes it refuse.
pub(crate) const RUN_FROM_PACKAGE_KEYS: [&str; 3] = [
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_RUN_FROM_ZIP",
    "WEBSITE_USE_ZIP",
];

impl<'a> Context<'a> {
    pub(crate) fn new(session: &'a Session, now: Timestamp) -> Self {
        let personality = match session.personality() {
            Personality::Unknown => infer_personality(session),
            known => known,
        };
        let (deployments, deployments_known) = match &session.deployments {
            Observed::Value(list) => (list.as_slice(), true),
            _ => (
                session
                    .latest
                    .value()
                    .and_then(|l| l.deployment.as_ref())
                    .map(std::slice::from_ref)
                    .unwrap_or_default(),
                false,
            ),
        };
        let deployments = DeploymentList(deployments);
        let kudu_started = kudu_started(session);
        let processes = if personality == Personality::Windows {
            process_signal(session)
        } else {
            ProcessSignal::Unknown
        };
        let running = running_deployments(session, deployments.0, now, kudu_started, &processes);
        let timeline = crate::diagnose::facts::timeline::build(&deployments, &session.logs, now);
        let lock = crate::diagnose::facts::lock_report::build(
            session,
            now,
            personality,
            &running,
            deployments_known,
            kudu_started,
            &processes,
        );
        let mut ctx = Context {
            session,
            now,
            personality,
            deployments,
            deployments_known,
            running,
            processes,
            timeline,
            lock,
            deployability: Deployability {
                can_deploy: CanDeploy::Unknown,
                blockers: vec![],
            },
        };
        ctx.deployability = crate::diagnose::facts::deployability::judge(&ctx);
        ctx
    }

    /// Endpoints that answered with a sign-in page instead of data, the core ones (the
    /// deployment list and the locks folder) first; and whether a core one is among them.
    pub(crate) fn expired_reads(&self) -> (bool, Vec<String>) {
        let s = self.session;
        let expired = |o: bool, name: &str| o.then(|| name.to_string());
        let core = [
            expired(is_expired(&s.deployments), "/api/deployments"),
            expired(is_expired(&s.locks_dir), "/api/vfs/site/locks/"),
        ];
        let rest = [
            expired(is_expired(&s.latest), "/api/deployments/latest"),
            expired(is_expired(&s.is_deploying), "/api/isdeploying"),
            expired(
                is_expired(&s.info_lock),
                "/api/vfs/site/locks/deployment/info.lock",
            ),
            expired(is_expired(&s.deployments_dir), "/api/vfs/site/deployments/"),
            expired(is_expired(&s.wwwroot_dir), "/api/vfs/site/wwwroot/"),
            expired(
                is_expired(&s.kudu_trace_dir),
                "/api/vfs/LogFiles/kudu/trace/",
            ),
            expired(is_expired(&s.environment), "/api/environment"),
        ];
        let settings = s
            .settings
            .iter()
            .filter(|(_, o)| is_expired(o))
            .map(|(k, _)| format!("/api/settings/{k}"));
        let logs = s
            .logs
            .iter()
            .filter(|(_, o)| is_expired(o))
            .map(|(id, _)| format!("/api/deployments/{id}/log"));
        let core_expired = core.iter().any(Option::is_some);
        let endpoints = core
            .into_iter()
            .chain(rest)
            .flatten()
            .chain(settings)
            .chain(logs)
            .collect();
        (core_expired, endpoints)
    }

    /// Some read came back as a sign-in page.
    pub(crate) fn sign_in_needed(&self) -> bool {
        !self.expired_reads().1.is_empty()
    }

    /// The first of [`RUN_FROM_PACKAGE_KEYS`] set to an http(s) URL, with its value.
    pub(crate) fn run_from_package_url_setting(&self) -> Option<(&'static str, &str)> {
        RUN_FROM_PACKAGE_KEYS.iter().find_map(|key| {
            let value = self.setting(key)?.trim();
            let lower = value.to_ascii_lowercase();
            (lower.starts_with("https://") || lower.starts_with("http://")).then_some((*key, value))
        })
    }

    /// A deployment read answered with Kudu's run-from-zip refusal.
    pub(crate) fn run_from_package_refusal(&self) -> Option<&(crate::reads::ReadId, u16, String)> {
        self.session
            .lock_errors
            .iter()
            .find(|(_, _, text)| text.to_ascii_lowercase().contains("set to a remote url"))
    }

    /// The setting that makes Kudu refuse pushes (the first key when only a refusal shows it).
    pub(crate) fn run_from_package_url_key(&self) -> Option<&'static str> {
        match self.run_from_package_url_setting() {
            Some((key, _)) => Some(key),
            None => self
                .run_from_package_refusal()
                .map(|_| RUN_FROM_PACKAGE_KEYS[0]),
        }
    }

    /// `/api/isdeploying` was asked and gave no usable answer (not a 404, which is Windows).
    pub(crate) fn is_deploying_unreadable(&self) -> bool {
        matches!(
            self.session.is_deploying,
            Observed::Failed { .. } | Observed::SessionExpired
        )
    }

    /// `12:03:10 UTC` (with the date when it is not today).
    pub(crate) fn at(&self, t: Timestamp) -> String {
        wording::clock(t, self.now)
    }

    /// `deployment 3f2a9c1e by GitHub (received 12:03:10 UTC)`.
    pub(crate) fn describe(&self, d: &Deployment) -> String {
        let id = d.id.as_deref().map(wording::short_id);
        let who = if d.deployer.is_empty() {
            "an unnamed deployer"
        } else {
            d.deployer.as_str()
        };
        let when = d
            .received
            .or(d.started)
            .map(|t| format!(" (received {})", self.at(t)))
            .unwrap_or_default();
        format!(
            "deployment {} by {who}{when}",
            id.as_deref().unwrap_or("(no id)")
        )
    }

    /// Leftover folders in `site/deployments/`: `temp-` folders, folders of deployments that
    /// never finished or died mid-way, and deployment folders Kudu no longer lists (it drops a
    /// deployment that died from its history but may leave the folder). Never `tools/`,
    /// `settings.xml`, `active`, `pending` or the active deployment's folder, and only names
    /// that pass the planner's name check. Empty unless the deployment list itself was read:
    /// without it the active deployment cannot be told apart.
    pub(crate) fn leftover_folders(&self) -> Vec<(&VfsEntry, String)> {
        if !self.deployments_known {
            return vec![];
        }
        let active = self.active_ids();
        // Looked up once per listed folder: scanning every running deployment for each folder
        // made a site with thousands of temp folders quadratic.
        let progressing: std::collections::HashSet<&str> = self
            .progressing()
            .filter_map(|r| r.deployment.id.as_deref())
            .collect();
        let by_id: std::collections::HashMap<&str, &Deployment> = self
            .deployments
            .iter()
            .filter_map(|d| Some((d.id.as_deref()?, d)))
            .rev()
            .collect();
        let mut out = vec![];
        for entry in self.deployments_listing().into_iter().flatten() {
            let name = entry.name.as_str();
            if !entry.is_dir
                || is_protected_entry(name)
                || active.iter().any(|id| id.eq_ignore_ascii_case(name))
                || crate::plan::paths::check_name(name).is_err()
            {
                continue;
            }
            if progressing.contains(name) {
                continue;
            }
            if name.starts_with("temp-") {
                out.push((
                    entry,
                    "a temp- folder of a push that never finished".to_string(),
                ));
                continue;
            }
            match by_id.get(name).copied() {
                Some(d) if d.status.is_running() || !d.complete || died_mid_deploy(d) => {
                    out.push((
                        entry,
                        format!(
                            "deployment {} never finished ({})",
                            wording::short_id(name),
                            d.status.as_str()
                        ),
                    ))
                }
                Some(_) => {}
                None if looks_like_deployment_id(name) => out.push((
                    entry,
                    format!(
                        "deployment {} is no longer in Kudu's history: it never finished",
                        wording::short_id(name)
                    ),
                )),
                None => {}
            }
        }
        out
    }

    /// Ids of the active deployment: the record the list flags active, and the one
    /// `site/deployments/active` names (they agree on a healthy site; either protects its
    /// folder). Compare them with `eq_ignore_ascii_case`: Windows' file system ignores case.
    pub(crate) fn active_ids(&self) -> Vec<&'a str> {
        active_ids(self.session)
    }

    /// Why no plan may be made from what `site/deployments/active` says, if anything: it could
    /// not be read, or it names a folder `site/deployments/` does not list (the site's record
    /// of its active deployment is broken, and deleting by names would guess).
    pub(crate) fn active_file_refusal(&self) -> Option<String> {
        match &self.session.active_file {
            Observed::Failed { reason, .. } => Some(format!(
                "site/deployments/active could not be read ({reason}), so the active deployment's folder cannot be protected by name; re-run the diagnosis."
            )),
            Observed::Value(id) if !id.is_empty() => {
                let listed = self.deployments_listing().is_none_or(|entries| {
                    entries
                        .iter()
                        .any(|e| e.is_dir && e.name.eq_ignore_ascii_case(id))
                });
                (!listed).then(|| format!(
                    "site/deployments/active names deployment {}, but site/deployments/ has no such folder: Kudu's record of the active deployment is broken, so Kudu Doctor deletes nothing by name. Deploy again, or look at site/deployments/ yourself.",
                    crate::diagnose::facts::wording::short_id(id)
                ))
            }
            _ => None,
        }
    }

    /// Running deployments that are not hung.
    pub(crate) fn progressing(&self) -> impl Iterator<Item = &RunningDeployment<'a>> {
        self.running
            .iter()
            .filter(|r| r.liveness == Liveness::Progressing)
    }

    /// The value of a setting read one key at a time; `None` when absent or unread.
    pub(crate) fn setting(&self, key: &str) -> Option<&str> {
        match self.session.settings.get(key) {
            Some(Observed::Value(Some(v))) => Some(v.as_str()),
            _ => None,
        }
    }

    pub(crate) fn is_deploying(&self) -> Option<&IsDeploying> {
        self.session.is_deploying.value()
    }

    /// `/api/isdeploying` says a malware scan holds the deployment lock.
    pub(crate) fn scan_underway(&self) -> bool {
        self.is_deploying()
            .is_some_and(|d| d.deploying && d.message.to_ascii_lowercase().contains("scan"))
    }

    pub(crate) fn locks_listing(&self) -> Option<&[VfsEntry]> {
        self.session.locks_dir.value().map(Vec::as_slice)
    }

    pub(crate) fn deployments_listing(&self) -> Option<&[VfsEntry]> {
        self.session.deployments_dir.value().map(Vec::as_slice)
    }

    /// `latest` answered 202: Kudu itself says something is not finished.
    pub(crate) fn latest_pending(&self) -> Option<&Deployment> {
        self.session
            .latest
            .value()
            .filter(|l| l.http_status == 202)
            .and_then(|l| l.deployment.as_ref())
    }

    /// The newest deployment by begin time; on a tie the real record rather than its `temp-`
    /// twin (Kudu stamps both with the same second).
    pub(crate) fn newest(&self) -> Option<&Deployment> {
        self.timeline
            .entries
            .iter()
            .max_by_key(|e| (e.begin, !e.deployment.temp))
            .map(|e| &e.deployment)
    }

    /// Names of the core reads that failed or were not made, for confidence and wording.
    pub(crate) fn unreadable(&self) -> Vec<&'static str> {
        let s = self.session;
        let mut out = vec![];
        let mut check = |name: &'static str, ok: bool| {
            if !ok {
                out.push(name);
            }
        };
        check("/api/deployments", usable(&s.deployments));
        check("/api/vfs/site/locks/", usable(&s.locks_dir));
        check("/api/vfs/site/deployments/", usable(&s.deployments_dir));
        if self.personality != Personality::Windows {
            check("/api/isdeploying", usable(&s.is_deploying));
            check(
                "/api/vfs/site/locks/deployment/info.lock",
                usable(&s.info_lock),
            );
        }
        out
    }
}

/// [`Context::active_ids`] from the session alone, without deriving the rest of the facts
/// (a plan's last check needs only this). The records are the list's, or `latest`'s when the
/// list could not be read, as [`Context::deployments`] has them.
pub(crate) fn active_ids(session: &Session) -> Vec<&str> {
    let records: &[Deployment] = match &session.deployments {
        Observed::Value(list) => list,
        _ => session
            .latest
            .value()
            .and_then(|l| l.deployment.as_ref())
            .map(std::slice::from_ref)
            .unwrap_or_default(),
    };
    let mut ids: Vec<&str> = records
        .iter()
        .filter(|d| d.active)
        .filter_map(|d| d.id.as_deref())
        .collect();
    if let Some(id) = session.active_file.value().filter(|id| !id.is_empty()) {
        ids.push(id.as_str());
    }
    ids
}

fn is_expired<T>(o: &Observed<T>) -> bool {
    matches!(o, Observed::SessionExpired)
}

/// A read gave an answer we can reason from: a value or a 404.
pub(crate) fn usable<T>(o: &Observed<T>) -> bool {
    matches!(o, Observed::Value(_) | Observed::Missing)
}

/// A fallback for when the session cannot tell yet, from the same evidence the parser uses:
/// the physical path style of VFS entries, `isdeploying` existing (Linux) or 404 (Windows), and
/// Windows-only fields.
fn infer_personality(s: &Session) -> Personality {
    let listings = [&s.locks_dir, &s.deployments_dir, &s.wwwroot_dir];
    for listing in listings {
        for entry in listing.value().into_iter().flatten() {
            if let Some(p) = &entry.physical_path {
                if p.starts_with('/') {
                    return Personality::Linux;
                }
                if p.contains(":\\") || p.starts_with("\\\\") {
                    return Personality::Windows;
                }
            }
        }
    }
    let windows_fields = s
        .deployments
        .value()
        .into_iter()
        .flatten()
        .any(|d| d.provisioning_state.is_some());
    match (&s.is_deploying, &s.info_lock) {
        (Observed::Value(_), _) | (_, Observed::Value(_)) => Personality::Linux,
        (Observed::Missing, _) => Personality::Windows,
        _ if windows_fields => Personality::Windows,
        _ => Personality::Unknown,
    }
}

/// What a deployment's log says about its activity.
struct DeploymentLog {
    /// The newest line, top-level or child.
    last_line: Option<Timestamp>,
    /// False when the newest top-level line has children that were not read: a build streams
    /// its output into children, so the top level alone stays quiet while it works.
    conclusive: bool,
}

/// The log of deployment `id` as read so far: `Session::logs[id]` holds the top-level lines and
/// `Session::logs["<id>/<entry id>"]` the children of one entry (see
/// `Session::follow_up_reads`).
fn deployment_log(session: &Session, id: &str) -> Option<DeploymentLog> {
    let top = session.logs.get(id).and_then(Observed::value)?;
    let prefix = format!("{id}/");
    let children = session
        .logs
        .iter()
        .filter(|(key, _)| key.starts_with(&prefix))
        .filter_map(|(_, o)| o.value())
        .flatten();
    let last_line = top.iter().chain(children).filter_map(|e| e.time).max();
    let newest_top = top.iter().max_by_key(|e| e.time);
    let conclusive = match newest_top {
        Some(e) if e.has_details => session
            .logs
            .get(&format!("{id}/{}", e.id))
            .is_some_and(|o| matches!(o, Observed::Value(_) | Observed::Missing)),
        _ => true,
    };
    Some(DeploymentLog {
        last_line,
        conclusive,
    })
}

/// A `temp-` record's real record begins within this long after it (Kudu creates the temp item
/// when it takes the lock, and the real one once the artifact is fetched).
const TEMP_PAIR_SECS: i64 = 5 * 60;

/// When the Kudu process that holds the deployment lock (or, on a single-instance site, the
/// only Kudu) last stopped or started, from its trace folder (fact sheet §9; sim README "Trace
/// files"): a graceful stop writes a `_Shutdown` trace, and the first request a new process
/// serves is traced with `Startup` in its name. Whatever that process was running before
/// ended with it. `None` when the folder was not read or shows neither for that instance: no
/// restart is then known, which is never taken as evidence either way.
///
/// The time is the one in the file's name (the request's start, to the second), never the
/// file's modified time: a trace is renamed when its request ends, and a deployment that the
/// new process's first request started would otherwise look older than the restart.
///
/// The folder is shared by every instance of a scaled-out plan, and a restart of another
/// instance does not end a deployment running on this one: a trace counts only when its
/// instance (the name's second field, the first six characters of `WEBSITE_INSTANCE_ID`)
/// begins the lock holder's `heldByWorker`, or, when the holder is not known, when every traced
/// restart is of one instance.
pub(crate) fn kudu_started(session: &Session) -> Option<Timestamp> {
    let restarts: Vec<(String, Timestamp)> = session
        .kudu_trace_dir
        .value()?
        .iter()
        .filter(|entry| !entry.is_dir)
        .filter_map(|entry| restart_trace(&entry.name))
        .collect();
    let holder = session
        .info_lock
        .value()
        .and_then(|lock| lock.worker.as_deref())
        .map(str::to_ascii_lowercase);
    let same_instance = |instance: &str| match &holder {
        Some(worker) => {
            let instance = instance.to_ascii_lowercase();
            !instance.is_empty() && worker.starts_with(&instance)
        }
        None => restarts
            .iter()
            .all(|(other, _)| other.eq_ignore_ascii_case(instance)),
    };
    restarts
        .iter()
        .filter(|(instance, _)| same_instance(instance))
        .map(|(_, at)| *at)
        .max()
}

/// `(instance, time)` of a `_Startup` or `_Shutdown` trace, as the one trace-name parser
/// ([`crate::parse::parse_trace_name`]) reads it; `None` for any other file.
fn restart_trace(name: &str) -> Option<(String, Timestamp)> {
    let trace = crate::parse::parse_trace_name(name)?;
    matches!(trace.kind, TraceKind::Startup | TraceKind::Shutdown)
        .then_some((trace.instance, trace.at))
}

fn running_deployments<'a>(
    session: &Session,
    deployments: &'a [Deployment],
    now: Timestamp,
    kudu_started: Option<Timestamp>,
    processes: &ProcessSignal,
) -> Vec<RunningDeployment<'a>> {
    let mut running = judge_running(session, deployments, now, kudu_started);
    // The processes cannot say which deployment they build, so they speak for every one that
    // only looks hung: a busy build is alive whichever record it belongs to, and with no build
    // and no holder there is nothing left to run any of them. A restart already proved dead
    // stays dead.
    for r in running
        .iter_mut()
        .filter(|r| r.liveness == Liveness::LooksHung)
    {
        match processes {
            ProcessSignal::Busy { .. } | ProcessSignal::Ended { .. } => {
                r.liveness = Liveness::Progressing
            }
            ProcessSignal::NoHolder => r.liveness = Liveness::Dead,
            ProcessSignal::Idle { .. } | ProcessSignal::Unknown => {}
        }
    }
    // A temp record stays pending while its real record does the work, so it is exactly as
    // alive as that record.
    let real: Vec<(Option<Timestamp>, String, Liveness)> = running
        .iter()
        .filter(|r| !r.deployment.temp)
        .map(|r| {
            let begin = r.deployment.received.or(r.deployment.started);
            (begin, r.deployment.deployer.clone(), r.liveness)
        })
        .collect();
    for r in running.iter_mut().filter(|r| r.deployment.temp) {
        let begin = r.deployment.received.or(r.deployment.started);
        let pair = real.iter().find(|(b, deployer, _)| {
            *deployer == r.deployment.deployer
                && begin
                    .zip(*b)
                    .is_some_and(|(t, b)| (0..=TEMP_PAIR_SECS).contains(&t.secs_until(b)))
        });
        if let Some((_, _, liveness)) = pair {
            r.liveness = *liveness;
        }
    }
    running
}

fn judge_running<'a>(
    session: &Session,
    deployments: &'a [Deployment],
    now: Timestamp,
    kudu_started: Option<Timestamp>,
) -> Vec<RunningDeployment<'a>> {
    deployments
        .iter()
        .filter(|d| {
            d.status.is_running() || (matches!(d.status, DeployStatus::Unknown(_)) && !d.complete)
        })
        .map(|d| {
            let log = d.id.as_deref().and_then(|id| deployment_log(session, id));
            let last_log = log.as_ref().and_then(|l| l.last_line);
            let record_time = [d.received, d.started].into_iter().flatten().max();
            let last_activity = [record_time, last_log].into_iter().flatten().max();
            let conclusive = log.as_ref().is_some_and(|l| l.conclusive);
            let silent_too_long = match (conclusive, last_activity) {
                (true, Some(t)) => t.secs_until(now) > LOG_SILENCE_SECS,
                (false, Some(t)) => t.secs_until(now) > HUNG_AFTER_SECS,
                // No time at all: we cannot prove a hang, so treat it as alive.
                (_, None) => false,
            };
            // Kudu started after the last sign of activity: whatever ran it died with the old
            // process. A deployment with no time at all cannot be placed before a restart.
            let outlived_by_kudu = last_activity
                .zip(kudu_started)
                .is_some_and(|(active, started)| active < started);
            let liveness = if outlived_by_kudu {
                Liveness::Dead
            } else if silent_too_long {
                Liveness::LooksHung
            } else {
                Liveness::Progressing
            };
            RunningDeployment {
                deployment: ListedDeployment(d),
                last_activity,
                log_read: conclusive,
                liveness,
            }
        })
        .collect()
}

/// Whether a process of the SCM site is part of a build: any child process of Kudu's site
/// (`is_scm_site`) other than Kudu's own w3wp, a WebJob, or the `KuduHandles` helper Kudu runs
/// to list handles.
pub(crate) fn is_build_process(p: &ProcessDetails) -> bool {
    p.is_scm_site
        && !p.is_webjob
        && !["w3wp", "KuduHandles"]
            .iter()
            .any(|name| p.name.eq_ignore_ascii_case(name))
}

/// A build process as a user knows it: npm and yarn run as `node`.
fn process_label(p: &ProcessDetails) -> String {
    p.tool.clone().unwrap_or_else(|| p.name.clone())
}

/// Every file in Kudu's trace folder comes from one instance (a trace's name carries the
/// first characters of `WEBSITE_INSTANCE_ID` in its second field): the processes read are
/// then the only ones that could hold the lock.
fn single_instance(session: &Session) -> bool {
    let Some(entries) = session.kudu_trace_dir.value() else {
        return false;
    };
    let mut instances = entries
        .iter()
        .filter(|e| !e.is_dir)
        .filter_map(|e| e.name.split('_').nth(1))
        .filter(|instance| !instance.is_empty());
    let Some(first) = instances.next() else {
        return false;
    };
    instances.all(|other| other.eq_ignore_ascii_case(first))
}

/// [`ProcessSignal`] from what the round read of `/api/processes` (see its doc for the rules).
pub(crate) fn process_signal(session: &Session) -> ProcessSignal {
    let first: Vec<&ProcessDetails> = session
        .process_details
        .values()
        .filter_map(Observed::value)
        .collect();
    let builds: Vec<&ProcessDetails> = first
        .iter()
        .copied()
        .filter(|p| is_build_process(p))
        .collect();
    let mut idle: Vec<(&ProcessDetails, i64)> = vec![];
    let mut all_idle = !builds.is_empty();
    for p in &builds {
        let Some(before) = p.total_cpu_ms else {
            all_idle = false;
            continue;
        };
        let again = session
            .process_details_again
            .get(&p.id)
            .unwrap_or(&Observed::NotRead);
        match cpu_between(process_label(p), before, p.time_stamp, again) {
            signal @ (ProcessSignal::Busy { .. } | ProcessSignal::Ended { .. }) => return signal,
            ProcessSignal::Idle { secs, .. } => idle.push((p, secs)),
            _ => all_idle = false,
        }
    }
    if all_idle {
        let busiest = idle
            .iter()
            .max_by_key(|(p, _)| p.total_cpu_ms)
            .map(|(p, secs)| (process_label(p), *secs));
        if let Some((label, secs)) = busiest {
            return ProcessSignal::Idle { label, secs };
        }
    }
    if !builds.is_empty() {
        return ProcessSignal::Unknown;
    }
    let Some(listed) = session.processes.value() else {
        return ProcessSignal::Unknown;
    };
    let every_one_read = listed.len() <= MAX_PROCESS_READS
        && listed
            .iter()
            .all(|p| matches!(session.process_details.get(&p.id), Some(Observed::Value(_))));
    // Every process's handles, not only those flagged as Kudu's: the flag comes from an
    // environment Kudu may fail to read, and a process it missed could hold the lock.
    let no_handle = first.iter().any(|p| p.is_scm_site)
        && first.iter().all(|p| p.holds_deployment_lock == Some(false));
    if every_one_read && no_handle && single_instance(session) {
        ProcessSignal::NoHolder
    } else {
        ProcessSignal::Unknown
    }
}

/// How one build process moved between a read of `before` ms of CPU at `read_at` and a later
/// read `after`: the one rule the diagnosis (two reads [`PROCESS_SAMPLE_GAP_SECS`] apart) and
/// the cleanup's re-check (the plan's read against a fresh one) both grade by. A process gone
/// (404) ended; an unreadable answer is [`ProcessSignal::Unknown`].
pub(crate) fn cpu_between(
    label: String,
    before: u64,
    read_at: Option<Timestamp>,
    after: &Observed<ProcessDetails>,
) -> ProcessSignal {
    match after {
        Observed::Missing => ProcessSignal::Ended { label },
        Observed::Value(later) => {
            let secs = read_at
                .zip(later.time_stamp)
                .map(|(a, b)| a.secs_until(b))
                .filter(|secs| *secs > 0)
                .unwrap_or(PROCESS_SAMPLE_GAP_SECS);
            match later.total_cpu_ms {
                Some(now) if now > before => ProcessSignal::Busy {
                    label,
                    cpu_ms: now - before,
                    secs,
                },
                Some(now) if now == before => ProcessSignal::Idle { label, secs },
                _ => ProcessSignal::Unknown,
            }
        }
        _ => ProcessSignal::Unknown,
    }
}

/// `(pid, label, CPU ms, read at)` of each build process as the round last read it (the
/// second read when there was one), for the cleanup's re-check.
pub(crate) fn build_cpu_baseline(session: &Session) -> Vec<(u32, String, u64, Option<Timestamp>)> {
    session
        .process_details
        .iter()
        .filter_map(|(pid, first)| {
            let first = first.value().filter(|p| is_build_process(p))?;
            let latest = session
                .process_details_again
                .get(pid)
                .and_then(Observed::value)
                .filter(|again| again.total_cpu_ms.is_some())
                .unwrap_or(first);
            Some((
                *pid,
                process_label(first),
                latest.total_cpu_ms?,
                latest.time_stamp,
            ))
        })
        .collect()
}

#[cfg(test)]
mod process_tests {
    use super::*;
    use crate::diagnose::test_session::*;

    fn process(
        id: u32,
        name: &str,
        scm: bool,
        cpu_ms: Option<u64>,
        read_at: i64,
    ) -> ProcessDetails {
        ProcessDetails {
            id,
            name: name.into(),
            total_cpu_ms: cpu_ms,
            start_time: None,
            time_stamp: Some(at(12, 0, read_at)),
            parent: None,
            children: vec![],
            holds_deployment_lock: Some(false),
            is_scm_site: scm,
            is_webjob: false,
            tool: (name == "node").then(|| "npm".to_string()),
        }
    }

    /// A Windows site whose processes were read: `first` at 12:00:00, `again` at 12:00:05,
    /// listed as `first`, with Kudu's traces from one instance.
    fn site(first: Vec<ProcessDetails>, again: Vec<Observed<ProcessDetails>>) -> Session {
        let mut s = Site::windows().kudu_started(at(11, 0, 0)).build();
        s.processes = Observed::Value(
            first
                .iter()
                .map(|p| ProcessSummary {
                    id: p.id,
                    name: p.name.clone(),
                })
                .collect(),
        );
        let ids: Vec<u32> = first.iter().map(|p| p.id).collect();
        s.process_details = first
            .into_iter()
            .map(|p| (p.id, Observed::Value(p)))
            .collect();
        s.process_details_again = ids.into_iter().zip(again).collect();
        s
    }

    fn kudu(handles: &[&str]) -> ProcessDetails {
        let mut p = process(2080, "w3wp", true, Some(120_000), 0);
        p.holds_deployment_lock = Some(handles.contains(&LOCK));
        p
    }

    const LOCK: &str = "D:\\home\\site\\locks\\deployments.lock";

    #[test]
    fn cpu_that_moved_is_a_busy_build_and_names_it() {
        let s = site(
            vec![kudu(&[LOCK]), process(4104, "node", true, Some(10_000), 0)],
            vec![
                Observed::Value(kudu(&[LOCK])),
                Observed::Value(process(4104, "node", true, Some(12_500), 5)),
            ],
        );
        let signal = process_signal(&s);
        assert_eq!(
            signal.describe().as_deref(),
            Some("npm used 2.5 s of CPU in 5 s"),
            "{signal:?}"
        );
    }

    #[test]
    fn every_build_process_still_is_idle_and_one_unreadable_is_unknown() {
        let still = |cpu| process(4104, "node", true, Some(cpu), 5);
        let idle = site(
            vec![kudu(&[LOCK]), process(4104, "node", true, Some(10_000), 0)],
            vec![
                Observed::Value(kudu(&[LOCK])),
                Observed::Value(still(10_000)),
            ],
        );
        assert_eq!(
            process_signal(&idle),
            ProcessSignal::Idle {
                label: "npm".into(),
                secs: 5
            }
        );
        let mut unknown = idle.clone();
        unknown.process_details.insert(
            4100,
            Observed::Value(process(4100, "cmd", true, Some(40), 0)),
        );
        unknown.process_details_again.insert(
            4100,
            Observed::Failed {
                status: 500,
                reason: "x".into(),
            },
        );
        assert_eq!(process_signal(&unknown), ProcessSignal::Unknown);
        let mut ended = idle.clone();
        ended.process_details_again.insert(4104, Observed::Missing);
        assert!(matches!(
            process_signal(&ended),
            ProcessSignal::Ended { .. }
        ));
    }

    #[test]
    fn the_sites_own_processes_and_webjobs_are_no_build() {
        let mut job = process(5000, "node", true, Some(1), 0);
        job.is_webjob = true;
        let app_node = process(5004, "node", false, Some(1), 0);
        let s = site(
            vec![kudu(&["D:\\home\\LogFiles\\x"]), job, app_node],
            vec![],
        );
        assert_eq!(process_signal(&s), ProcessSignal::NoHolder);
    }

    #[test]
    fn no_holder_needs_every_process_read_their_handles_and_one_instance() {
        let free = || site(vec![kudu(&["D:\\home\\LogFiles\\x"])], vec![]);
        assert_eq!(process_signal(&free()), ProcessSignal::NoHolder);
        let held = site(vec![kudu(&[LOCK])], vec![]);
        assert_eq!(process_signal(&held), ProcessSignal::Unknown);
        // A process whose environment Kudu could not read (not flagged as Kudu's) with the
        // lock open still holds it.
        let mut unflagged = process(4300, "kudu", false, Some(5), 0);
        unflagged.holds_deployment_lock = Some(true);
        let hidden = site(vec![kudu(&["D:\\home\\LogFiles\\x"]), unflagged], vec![]);
        assert_eq!(process_signal(&hidden), ProcessSignal::Unknown);
        let mut no_handles = free();
        if let Some(Observed::Value(p)) = no_handles.process_details.get_mut(&2080) {
            p.holds_deployment_lock = None;
        }
        assert_eq!(process_signal(&no_handles), ProcessSignal::Unknown);
        let mut unread = free();
        if let Observed::Value(list) = &mut unread.processes {
            list.push(ProcessSummary {
                id: 9,
                name: "node".into(),
            });
        }
        assert_eq!(process_signal(&unread), ProcessSignal::Unknown);
        let mut two_instances = free();
        if let Observed::Value(traces) = &mut two_instances.kudu_trace_dir {
            traces.push(file(
                "2026-11-26T11-30-00_d4e5f6_001_Startup.xml",
                at(11, 30, 0),
            ));
        }
        assert_eq!(process_signal(&two_instances), ProcessSignal::Unknown);
    }

    /// The grading where liveness lives: a busy build beats silence, an idle one stays weak,
    /// no holder is dead; a restart already proved stays dead.
    #[test]
    fn processes_regrade_only_a_holder_that_looks_hung() {
        let silent = Site::windows()
            .list_lock(file("deployments.lock", at(11, 40, 0)))
            .deployment(deployment(
                "e51c",
                DeployStatus::Building,
                "GitHub",
                at(11, 40, 0),
                None,
            ))
            .log(
                "e51c",
                vec![log_line(at(11, 40, 30), "Running 'npm ci'...")],
            )
            .kudu_started(at(11, 0, 0))
            .build();
        let liveness = |s: &Session| Context::new(s, at(12, 0, 0)).running[0].liveness;
        assert_eq!(liveness(&silent), Liveness::LooksHung);
        let mut busy = silent.clone();
        busy.process_details = [(
            4104,
            Observed::Value(process(4104, "node", true, Some(1), 0)),
        )]
        .into();
        busy.process_details_again = [(
            4104,
            Observed::Value(process(4104, "node", true, Some(900), 5)),
        )]
        .into();
        assert_eq!(liveness(&busy), Liveness::Progressing);
        let mut idle = busy.clone();
        idle.process_details_again = [(
            4104,
            Observed::Value(process(4104, "node", true, Some(1), 5)),
        )]
        .into();
        assert_eq!(liveness(&idle), Liveness::LooksHung);
        let mut gone = silent.clone();
        gone.processes = Observed::Value(vec![ProcessSummary {
            id: 2080,
            name: "w3wp".into(),
        }]);
        gone.process_details = [(2080, Observed::Value(kudu(&["D:\\home\\LogFiles\\x"])))].into();
        assert_eq!(liveness(&gone), Liveness::Dead);
        // Linux has no process API: whatever a session holds there is never read.
        let mut linux = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 40, 0))
            .deployment(deployment(
                "e51c",
                DeployStatus::Building,
                "GitHub",
                at(11, 40, 0),
                None,
            ))
            .log(
                "e51c",
                vec![log_line(at(11, 40, 30), "Running pip install...")],
            )
            .build();
        linux.process_details = busy.process_details.clone();
        linux.process_details_again = busy.process_details_again.clone();
        assert_eq!(liveness(&linux), Liveness::LooksHung);
    }
}
