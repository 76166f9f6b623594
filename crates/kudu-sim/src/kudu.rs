//! The simulated Kudu: state driven by requests and by `advance(now)`, with HOME on disk.
//!
//! Owns the deployment lock (facts §2), push deployments and their workers (facts §1.9, §3.2),
//! and the request router. It knows nothing about sockets: the HTTP shell in `server.rs` turns
//! axum requests into [`SimRequest`]s and waits on sync pushes.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::{Personality, Quirks, SimConfig};
use crate::deployment::{DeployResult, DeployStatus, LogLine, StatusFile};
use crate::home::Home;
use crate::time::VTime;
use crate::trace::{OpenTrace, TraceState, TraceTitle};
use crate::wire::{SimRequest, SimResponse};

// Relative paths inside HOME.
/// The locks folder (facts §2.1).
pub const LOCKS: &str = "site/locks";
/// KuduLite's deployment lock directory (facts §2.3).
pub const LINUX_LOCK_DIR: &str = "site/locks/deployment";
/// KuduLite's lock info file (facts §2.3).
pub const LINUX_LOCK_FILE: &str = "site/locks/deployment/info.lock";
/// Kudu-W's handle-held deployment lock (facts §2.2).
pub const WINDOWS_LOCK_FILE: &str = "site/locks/deployments.lock";
/// The status lock (facts §2.4).
pub const STATUS_LOCK: &str = "site/locks/status.lock";
/// The webhooks lock (facts §2.1).
pub const HOOKS_LOCK: &str = "site/locks/hooks.lock";
/// The auto swap marker (facts §2.6).
pub const AUTOSWAP_LOCK: &str = "site/locks/autoswap.lock";
/// The deployments folder (facts §3).
pub const DEPLOYMENTS: &str = "site/deployments";
/// The active deployment id file (facts §3).
pub const ACTIVE: &str = "site/deployments/active";
/// The redeploy marker (facts §3).
pub const PENDING: &str = "site/deployments/pending";
/// The site's content.
pub const WWWROOT: &str = "site/wwwroot";

// Lock operation names.
/// Push/fetch deployments (facts §1.9).
pub const OP_DEPLOY: &str = "Performing continuous deployment";
/// Kudu-W saving a pushed body (facts §1.9 step 1).
pub const OP_PREPARE_ZIP: &str = "Preparing zip package";
/// The malware scan (KuduLite `ScanManager.PerformBackgroundScan`; the lock message is set to
/// `Scan Underway` while it runs, facts §1.6).
pub const OP_SCAN: &str = "Performing continuous scan";
/// Linux lock lifetime (facts §2.3, `defaultLockTimeout`).
pub const LINUX_LOCK_SECS: i64 = 1500;

// Kudu's exact texts (facts §2.5, §1.9, §4).
/// `Error_DeploymentInProgress`.
pub const MSG_IN_PROGRESS: &str =
    "There is a deployment currently in progress. Please try again when it completes.";
/// `Error_AutoSwapDeploymentOngoing`.
pub const MSG_AUTOSWAP: &str =
    "There is an auto swap deployment currently ongoing please try again when it completes.";
/// Kudu-W `Error_RunFromRemoteZipConfigured`.
pub const MSG_RFP_WINDOWS: &str = "Run-From-Zip is set to a remote URL using WEBSITE_USE_ZIP app setting. Deployment is not supported in this configuration.";
/// Kudu-L `Error_RunFromRemoteZipConfigured`.
pub const MSG_RFP_LINUX: &str = "Run-From-Zip is set to a remote URL using WEBSITE_RUN_FROM_PACKAGE or WEBSITE_USE_ZIP app setting. Deployment is not supported in this configuration.";
/// What VerifyDeployment logs (facts §1.3).
pub const MSG_UNKNOWN_ERROR: &str =
    "An unknown error has occurred. Check the diagnostic log for details.";
/// VFS 412 without If-Match (facts §4.4).
pub const MSG_VFS_NO_IF_MATCH: &str =
    "Updating an existing resource requires an If-Match header carrying a single, strong ETag.";
/// VFS ETag mismatch (facts §4.4).
pub const MSG_VFS_ETAG_MISMATCH: &str = "ETag does not represent the latest state of the resource.";
/// VFS directory delete failure (facts §4.5).
pub const MSG_DIR_DELETE: &str =
    "Cannot delete directory. It is either not empty or access is not allowed.";

/// `The '<op>' operation conflicts with the pending '<holder>' operation started at <t>.  Please
/// retry operation later.` (facts §2.5; two spaces before "Please").
pub fn lock_conflict_text(op: &str, holder_op: &str, acquired: &str) -> String {
    format!(
        "The '{op}' operation conflicts with the pending '{holder_op}' operation started at {acquired}.  Please retry operation later."
    )
}

/// Who holds the deployment lock in this process (for kill/restart bookkeeping; the lock's
/// semantics live on disk for Linux and in `windows_handle` for Windows).
#[derive(Clone, Debug, PartialEq)]
pub enum Holder {
    /// A request holding the lock only for its own duration (`Preparing zip package`).
    Request,
    Worker(u64),
    Scan,
}

#[derive(Clone, Debug)]
struct HeldLock {
    holder: Holder,
    op: String,
    acquired: VTime,
}

/// What a push delivers to wwwroot.
#[derive(Clone, Debug)]
pub enum Artifact {
    /// A zip extracted into wwwroot.
    Zip(Vec<u8>),
    /// A single file written into wwwroot (OneDeploy `type=war|jar|static|…`).
    File { name: String, bytes: Vec<u8> },
}

/// How the next deployment ends when a test asks it to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailMode {
    /// The build fails; wwwroot is untouched.
    Build,
    /// A OneDeploy that failed after wwwroot was cleaned: only the artifact is left there
    /// (`partial-deploy`).
    PartialArtifact,
    /// A build whose newer Oryx wrote `output.tar.zst` into wwwroot and then failed, leaving the
    /// older build's `output.tar.gz` beside it (`two-outputs`, Azure/app-service-linux-docs#263).
    OutputBesideOld,
}

/// A running deployment: the background task of an async push, or the request of a sync one.
#[derive(Clone, Debug)]
pub struct Worker {
    pub key: u64,
    pub id: String,
    pub temp_id: String,
    /// Virtual time the build finishes; `None` while hung.
    pub due: Option<VTime>,
    pub artifact: Artifact,
    pub fail: Option<FailMode>,
    /// Next virtual time a progress line is logged (a stuck deployment's log stops growing).
    next_log: VTime,
    log_lines: u32,
    /// The worker still thinks it holds the deployment lock (it releases it when done).
    locked: bool,
    /// Its run was cancelled: the record says Cancelled and `due` is when the worker, winding
    /// down, lets go of the lock (switch `cancelled_status`).
    cancelled: bool,
    /// A sync push's request trace, finished when the request is answered.
    request_trace: Option<OpenTrace>,
    /// An async push's `_Background_` trace, finished when the run ends (facts §9).
    background_trace: Option<OpenTrace>,
    /// Logged at the next progress tick instead of a progress line (the end of a quiet step).
    resume_line: Option<String>,
    /// Its build's processes (listed on Windows, README "Processes").
    pub(crate) processes: crate::processes::BuildProcesses,
}

/// How a finished worker ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerEnd {
    Succeeded,
    Failed,
    Killed,
}

/// A request's answer, or "wait for this sync deployment".
#[derive(Debug)]
pub enum Reply {
    Now(SimResponse),
    /// A synchronous push: answer 200 when worker `key` ends (see [`Kudu::sync_answer`]).
    WaitFor {
        key: u64,
        /// The id for the `SCM-DEPLOYMENT-ID` header, when tracking was asked for.
        tracked_id: Option<String>,
    },
}

/// What one instance's Kudu process keeps in memory (README "Scaled out"): the instance id,
/// its processes, its lock handle or cached lock expiry, its caches and its tracer. On a
/// scaled-out plan every instance has its own; HOME is shared.
struct ProcessState {
    instance_id: String,
    kudu_pid: u32,
    app_pid: u32,
    linux_cache: Option<VTime>,
    linux_holder: Option<Holder>,
    windows_handle: Option<HeldLock>,
    workers: Vec<Worker>,
    etag_seed: u64,
    list_cache: Option<(String, Vec<DeployResult>)>,
    traces: TraceState,
}

/// The whole simulated Kudu.
pub struct Kudu {
    pub personality: Personality,
    pub quirks: Quirks,
    pub home: Home,
    pub now: VTime,
    rng: StdRng,
    pub site: String,
    pub build_ms: u64,
    /// `WEBSITE_INSTANCE_ID` (64 hex).
    pub instance_id: String,
    pub kudu_pid: u32,
    pub app_pid: u32,
    /// Linux: the per-process cached lock expiry (facts §2.3).
    linux_cache: Option<VTime>,
    /// Linux: who we think holds the lock dir; purely bookkeeping.
    linux_holder: Option<Holder>,
    /// Windows: the open handle on `deployments.lock` (facts §2.2).
    windows_handle: Option<HeldLock>,
    pub workers: Vec<Worker>,
    pub ended: BTreeMap<u64, WorkerEnd>,
    next_key: u64,
    /// App settings (what `APPSETTING_*` holds).
    pub app_settings: BTreeMap<String, String>,
    /// Seed of the per-process string hash (Linux ETags change per process, facts §1.3).
    etag_seed: u64,
    /// The static deployments cache keyed by ETag (facts §1.3).
    list_cache: Option<(String, Vec<DeployResult>)>,
    /// `status.lock` is owned by someone else (facts §2.4).
    pub status_lock_denied: bool,
    /// HOME-relative files no reader can open (held open by another process, or without read
    /// access): `/api/zip` leaves them out without a word, as Kudu's
    /// `ZipArchiveExtensions.AddFile` does (sim README "Zip downloads").
    pub unopenable: std::collections::BTreeSet<String>,
    pub scan_until: Option<VTime>,
    pub hang_next: bool,
    pub fail_next: Option<FailMode>,
    pub kudu_restarts: u32,
    pub app_restarts: u32,
    /// `latest` answers `{}` (switch `latest_empty_after_restart`): Kudu restarted and no push
    /// has made a record since.
    pub latest_forgotten: bool,
    /// The Kudu process's tracer state (README "Trace files").
    pub(crate) traces: TraceState,
    /// The instance whose Kudu process the fields above are (0 unless scaled out).
    pub current_instance: usize,
    /// The other instances' Kudu processes, by instance number (`None` at the current one).
    parked: Vec<Option<ProcessState>>,
}

impl Kudu {
    /// A fresh Kudu with an empty site (no scenario).
    pub fn new(config: &SimConfig) -> std::io::Result<Kudu> {
        let mut kudu = Kudu {
            personality: config.personality,
            quirks: config.quirks.clone(),
            home: Home::new()?,
            now: config.start,
            rng: StdRng::seed_from_u64(config.seed),
            site: config.site.clone(),
            build_ms: config.build_ms,
            instance_id: String::new(),
            kudu_pid: 0,
            app_pid: 0,
            linux_cache: None,
            linux_holder: None,
            windows_handle: None,
            workers: Vec::new(),
            ended: BTreeMap::new(),
            next_key: 1,
            app_settings: BTreeMap::new(),
            etag_seed: 0,
            list_cache: None,
            status_lock_denied: false,
            unopenable: std::collections::BTreeSet::new(),
            scan_until: None,
            hang_next: false,
            fail_next: None,
            kudu_restarts: 0,
            app_restarts: 0,
            latest_forgotten: false,
            traces: TraceState::default(),
            current_instance: 0,
            parked: Vec::new(),
        };
        kudu.reset(config)?;
        Ok(kudu)
    }

    /// Back to a brand-new site: empty HOME, clock at the start, RNG reseeded.
    pub fn reset(&mut self, config: &SimConfig) -> std::io::Result<()> {
        self.home.wipe()?;
        self.personality = config.personality;
        self.quirks = config.quirks.clone();
        self.now = config.start;
        self.rng = StdRng::seed_from_u64(config.seed);
        self.site = config.site.clone();
        self.build_ms = config.build_ms;
        self.instance_id = (0..32)
            .map(|_| format!("{:02x}", self.rng.random::<u8>()))
            .collect();
        self.kudu_pid = self.rng.random_range(2000..9000);
        self.app_pid = self.rng.random_range(2000..9000);
        self.linux_cache = None;
        self.linux_holder = None;
        self.windows_handle = None;
        self.workers.clear();
        self.ended.clear();
        self.next_key = 1;
        self.app_settings.clear();
        // A secret-looking setting: `/api/settings` holds secrets (facts §5.1), which is why
        // Kudu Doctor reads settings one key at a time.
        self.app_settings.insert(
            "AZURE_STORAGE_CONNECTION_STRING".into(),
            "DefaultEndpointsProtocol=https;AccountName=stmyapp;AccountKey=c2ltdWxhdGVkLXNlY3JldC1kby1ub3QtbG9n;EndpointSuffix=core.windows.net".into(),
        );
        if self.personality == Personality::Linux {
            self.app_settings
                .insert("SCM_DO_BUILD_DURING_DEPLOYMENT".into(), "true".into());
        }
        self.etag_seed = self.rng.random();
        self.list_cache = None;
        self.status_lock_denied = false;
        self.unopenable.clear();
        self.scan_until = None;
        self.hang_next = false;
        self.fail_next = None;
        self.kudu_restarts = 0;
        self.app_restarts = 0;
        self.latest_forgotten = false;
        self.traces = TraceState::new(self.now, 0);
        self.current_instance = 0;
        self.parked = vec![None];
        for _ in 1..self.quirks.instances.max(1) {
            let process = ProcessState {
                instance_id: (0..32)
                    .map(|_| format!("{:02x}", self.rng.random::<u8>()))
                    .collect(),
                kudu_pid: self.rng.random_range(2000..9000),
                app_pid: self.rng.random_range(2000..9000),
                linux_cache: None,
                linux_holder: None,
                windows_handle: None,
                workers: Vec::new(),
                etag_seed: self.rng.random(),
                list_cache: None,
                traces: TraceState::new(self.now, 0),
            };
            self.parked.push(Some(process));
        }
        self.create_site()?;
        // A scenario load is a fresh Kudu process on every instance.
        for instance in 0..self.instance_count() {
            self.enter_instance(instance);
            self.warm_up();
        }
        self.enter_instance(0);
        Ok(())
    }

    // ---------------------------------------------------------------- instances

    /// How many instances the plan runs (README "Scaled out").
    pub fn instance_count(&self) -> usize {
        self.parked.len().max(1)
    }

    /// Every instance's id (`WEBSITE_INSTANCE_ID`), by instance number.
    pub fn instance_ids(&self) -> Vec<String> {
        self.parked
            .iter()
            .map(|p| match p {
                Some(process) => process.instance_id.clone(),
                None => self.instance_id.clone(),
            })
            .collect()
    }

    /// The instance number whose id is `id`, if any.
    pub fn instance_by_id(&self, id: &str) -> Option<usize> {
        self.instance_ids().iter().position(|i| i == id)
    }

    /// Makes `instance`'s Kudu process the one requests and actions reach; out of range is
    /// ignored.
    pub fn enter_instance(&mut self, instance: usize) {
        if instance == self.current_instance || instance >= self.parked.len() {
            return;
        }
        let Some(mut process) = self.parked[instance].take() else {
            return;
        };
        self.swap_process(&mut process);
        self.parked[self.current_instance] = Some(process);
        self.current_instance = instance;
    }

    fn swap_process(&mut self, p: &mut ProcessState) {
        use std::mem::swap;
        swap(&mut self.instance_id, &mut p.instance_id);
        swap(&mut self.kudu_pid, &mut p.kudu_pid);
        swap(&mut self.app_pid, &mut p.app_pid);
        swap(&mut self.linux_cache, &mut p.linux_cache);
        swap(&mut self.linux_holder, &mut p.linux_holder);
        swap(&mut self.windows_handle, &mut p.windows_handle);
        swap(&mut self.workers, &mut p.workers);
        swap(&mut self.etag_seed, &mut p.etag_seed);
        swap(&mut self.list_cache, &mut p.list_cache);
        swap(&mut self.traces, &mut p.traces);
    }

    /// Kills worker `key` on whichever instance runs it (a sync push's client went away while
    /// another request moved the current instance).
    pub(crate) fn kill_worker_on_any_instance(&mut self, key: u64) {
        let here = self.current_instance;
        for instance in 0..self.instance_count() {
            self.enter_instance(instance);
            if self.workers.iter().any(|w| w.key == key) {
                self.kill_worker(Some(key));
                break;
            }
        }
        self.enter_instance(here);
    }

    /// A `deployments.lock` handle another instance's Kudu holds (its file is shared).
    fn handle_elsewhere(&self) -> Option<&HeldLock> {
        self.parked
            .iter()
            .flatten()
            .find_map(|p| p.windows_handle.as_ref())
    }

    /// What a new App Service site has on disk.
    fn create_site(&mut self) -> std::io::Result<()> {
        let now = self.now;
        self.home.mkdir_all(LOCKS, now)?;
        self.home.mkdir_all("site/deployments/tools", now)?;
        self.home.mkdir_all("LogFiles", now)?;
        // `pending` is created empty by FetchDeploymentManager (facts §3).
        self.home.write(PENDING, b"", now)?;
        let settings = match self.personality {
            Personality::Windows => "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<settings />",
            Personality::Linux => "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<settings />",
        };
        self.home
            .write("site/deployments/settings.xml", settings.as_bytes(), now)?;
        self.home.write(
            &format!("{WWWROOT}/hostingstart.html"),
            crate::pages::HOSTINGSTART.as_bytes(),
            now,
        )?;
        Ok(())
    }

    /// A 32-hex GUID (`Guid.ToString("N")`, facts §1.2).
    pub fn new_guid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        let mut out: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        // Version 4, variant 1, as Guid.NewGuid() makes.
        out.replace_range(12..13, "4");
        let variant = ['8', '9', 'a', 'b'][(bytes[8] & 3) as usize];
        out.replace_range(16..17, &variant.to_string());
        out
    }

    /// A dashed GUID (log entry ids).
    pub fn new_dashed_guid(&mut self) -> String {
        let n = self.new_guid();
        format!(
            "{}-{}-{}-{}-{}",
            &n[0..8],
            &n[8..12],
            &n[12..16],
            &n[16..20],
            &n[20..32]
        )
    }

    /// `temp-` plus 8 characters of `0123456789abcdfe` (facts §3, the alphabet really lacks `f`
    /// before `e`).
    fn new_temp_id(&mut self) -> String {
        const ALPHABET: &[u8] = b"0123456789abcdfe";
        let tail: String = (0..8)
            .map(|_| ALPHABET[self.rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        format!("temp-{tail}")
    }

    // ---------------------------------------------------------------- the clock

    /// Moves the virtual clock to `to`, running every transition that falls due on the way
    /// (builds finish at their due time, progress lines are logged, a scan ends), on every
    /// instance: each instance's transitions run in order, one instance after the other.
    pub fn advance_to(&mut self, to: VTime) {
        let here = self.current_instance;
        let from = self.now;
        for instance in (0..self.instance_count()).filter(|i| *i != here) {
            self.enter_instance(instance);
            if self.workers.is_empty() {
                continue;
            }
            self.now = from;
            self.advance_this_instance_to(to);
        }
        self.enter_instance(here);
        self.now = from;
        self.advance_this_instance_to(to);
    }

    fn advance_this_instance_to(&mut self, to: VTime) {
        loop {
            let next_log = self
                .workers
                .iter()
                .filter(|w| w.due.is_some())
                .map(|w| (w.next_log, w.key, false))
                .min();
            let next_due = self
                .workers
                .iter()
                .filter_map(|w| w.due.map(|d| (d, w.key, true)))
                .min();
            let next = match (next_log, next_due) {
                (Some(a), Some(b)) => Some(if b.0 <= a.0 { b } else { a }),
                (a, b) => a.or(b),
            };
            let scan = self.scan_until.filter(|t| *t <= to);
            match (next, scan) {
                (Some((at, _, _)), Some(s)) if s < at => {
                    self.now = self.now.max(s);
                    self.end_scan();
                }
                (Some((at, key, is_due)), _) if at <= to => {
                    self.now = self.now.max(at);
                    if is_due {
                        self.finish_worker(key);
                    } else {
                        self.log_progress(key);
                    }
                }
                (_, Some(s)) => {
                    self.now = self.now.max(s);
                    self.end_scan();
                }
                _ => break,
            }
        }
        self.now = self.now.max(to);
    }

    /// Sub-second noise for scenario timelines, so timestamps carry fractions as Kudu's do.
    pub fn jitter_ticks(&mut self) -> i64 {
        self.rng.random_range(0..crate::time::TICKS_PER_SEC)
    }

    /// Advances the clock by `secs`, running due transitions.
    pub fn advance_secs(&mut self, secs: i64) {
        let to = self.now.plus_secs(secs);
        self.advance_to(to);
    }

    // ---------------------------------------------------------------- the deployment lock

    /// `IsHeld`, with its side effects (facts §2.2, §2.3): an expired Linux lock dir and a stale
    /// Windows lock file are deleted.
    pub fn lock_is_held(&mut self) -> bool {
        let now = self.now;
        match self.personality {
            Personality::Linux => {
                if !self.home.is_dir(LINUX_LOCK_DIR) || !self.home.is_file(LINUX_LOCK_FILE) {
                    return false;
                }
                if !self.quirks.lock_expiry_honoured {
                    return true;
                }
                if self.linux_cache.is_some_and(|t| t > now) {
                    return true;
                }
                match self.linux_lock_info() {
                    Some((_, expiry, _)) if expiry > now => true,
                    _ => {
                        let _ = self.home.remove_dir_all(LINUX_LOCK_DIR, now);
                        self.linux_cache = None;
                        self.linux_holder = None;
                        false
                    }
                }
            }
            Personality::Windows => {
                if !self.home.is_file(WINDOWS_LOCK_FILE) {
                    self.windows_handle = None;
                    return false;
                }
                if self.windows_handle.is_some() || self.handle_elsewhere().is_some() {
                    return true;
                }
                // Opening for write succeeds, so nobody holds it: Kudu deletes the stale file.
                let _ = self.home.remove_file(WINDOWS_LOCK_FILE, now);
                false
            }
        }
    }

    /// `(op, expiry, acquired)` from `info.lock`; `None` when missing or unparsable.
    fn linux_lock_info(&self) -> Option<(String, VTime, VTime)> {
        let text = self.home.read_string(LINUX_LOCK_FILE)?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        let expiry = VTime::parse(value.get("lockExpiry")?.as_str()?)?;
        let op = value
            .get("heldByOp")
            .and_then(|v| v.as_str())
            .unwrap_or("unknown")
            .to_string();
        Some((op, expiry, expiry.plus_secs(-LINUX_LOCK_SECS)))
    }

    /// The holder's operation and acquisition time as the conflict text shows them.
    pub fn lock_info(&self) -> (String, String) {
        match self.personality {
            Personality::Linux => match self.linux_lock_info() {
                Some((op, _, acquired)) => (op, acquired.to_roundtrip()),
                None => ("unknown".into(), "unknown".into()),
            },
            Personality::Windows => {
                match self.windows_handle.as_ref().or(self.handle_elsewhere()) {
                    Some(held) => (held.op.clone(), held.acquired.to_roundtrip()),
                    None => ("unknown".into(), "unknown".into()),
                }
            }
        }
    }

    /// Try-lock with zero timeout. On failure returns the conflict text for `op`.
    pub fn lock_acquire(&mut self, op: &str, holder: Holder) -> Result<(), String> {
        if self.lock_is_held() {
            let (holder_op, acquired) = self.lock_info();
            return Err(lock_conflict_text(op, &holder_op, &acquired));
        }
        let now = self.now;
        match self.personality {
            Personality::Linux => {
                // `LinuxLockInfo`, fields in this order (facts §2.3).
                let expiry = now.plus_secs(LINUX_LOCK_SECS);
                let info = format!(
                    "{{\"lockExpiry\":\"{}\",\"heldByPID\":{},\"heldByTID\":{},\"heldByOp\":\"{}\",\"heldByWorker\":\"{}\"}}",
                    expiry.to_json(),
                    self.kudu_pid,
                    self.rng.random_range(10..200),
                    op,
                    self.instance_id
                );
                let _ = self.home.write(LINUX_LOCK_FILE, info.as_bytes(), now);
                self.linux_cache = Some(expiry);
                self.linux_holder = Some(holder);
            }
            Personality::Windows => {
                let info = lock_info_json(self.personality, op, now, &self.instance_id[..8]);
                let _ = self.home.write(WINDOWS_LOCK_FILE, info.as_bytes(), now);
                self.windows_handle = Some(HeldLock {
                    holder,
                    op: op.to_string(),
                    acquired: now,
                });
            }
        }
        Ok(())
    }

    /// `Release`: no ownership check on Linux (facts §2.3); close and delete on Windows.
    pub fn lock_release(&mut self) {
        let now = self.now;
        match self.personality {
            Personality::Linux => {
                self.linux_cache = None;
                self.linux_holder = None;
                let _ = self.home.remove_dir_all(LINUX_LOCK_DIR, now);
            }
            Personality::Windows => {
                self.windows_handle = None;
                let _ = self.home.remove_file(WINDOWS_LOCK_FILE, now);
            }
        }
    }

    /// Whether `holder` holds the lock (so its end releases it).
    fn holds_lock(&self, holder: &Holder) -> bool {
        match self.personality {
            Personality::Linux => self.linux_holder.as_ref() == Some(holder),
            Personality::Windows => self
                .windows_handle
                .as_ref()
                .is_some_and(|h| &h.holder == holder),
        }
    }

    /// The process that held the lock died: Linux leaves the dir (facts §2.3, it stays until
    /// expiry or a Kudu restart); Windows closes the handle, leaving a stale file (facts §2.2).
    fn lock_holder_died(&mut self, holder: &Holder) {
        if !self.holds_lock(holder) {
            return;
        }
        match self.personality {
            Personality::Linux => self.linux_holder = None,
            Personality::Windows => self.windows_handle = None,
        }
    }

    /// Windows: the path of the file a live handle, on any instance, keeps from being deleted.
    pub fn held_file(&self) -> Option<&'static str> {
        (self.personality == Personality::Windows
            && (self.windows_handle.is_some() || self.handle_elsewhere().is_some()))
        .then_some(WINDOWS_LOCK_FILE)
    }

    /// Windows: whether this instance's Kudu holds the `deployments.lock` handle.
    pub(crate) fn holds_lock_handle_here(&self) -> bool {
        self.windows_handle.is_some()
    }

    // ---------------------------------------------------------------- status files

    /// HOME-relative path of a deployment's `status.xml`.
    pub fn status_path(id: &str) -> String {
        format!("{DEPLOYMENTS}/{id}/status.xml")
    }

    /// HOME-relative path of a deployment's `status_complete.xml` (Kudu-W).
    pub fn complete_path(id: &str) -> String {
        format!("{DEPLOYMENTS}/{id}/status_complete.xml")
    }

    /// The text Kudu reads for a deployment: Kudu-W reads `status_complete.xml` first (facts
    /// §3), so a stale copy masks `status.xml`.
    pub fn status_text(&self, id: &str) -> Option<String> {
        if self.personality == Personality::Windows
            && let Some(text) = self.home.read_string(&Self::complete_path(id))
        {
            return Some(text);
        }
        self.home.read_string(&Self::status_path(id))
    }

    /// A deployment's status as Kudu reads it; `None` when missing or corrupt.
    pub fn read_status(&self, id: &str) -> Option<StatusFile> {
        StatusFile::parse(&self.status_text(id)?)
    }

    /// `DeploymentStatusFile.Save`: writes status.xml and touches `active` (facts §3); on Linux
    /// the status lock file is left behind (facts §2.4).
    pub fn save_status(&mut self, file: &StatusFile) {
        let now = self.now;
        let xml = file.to_xml(self.personality);
        let _ = self
            .home
            .write(&Self::status_path(&file.id), xml.as_bytes(), now);
        if self.personality == Personality::Windows && file.complete {
            // `DeploymentStatusCompleteFileEnabled` is on by default (facts §3).
            let _ = self
                .home
                .write(&Self::complete_path(&file.id), xml.as_bytes(), now);
        }
        let _ = self.home.touch(ACTIVE, now);
        self.note_status_lock("Updating deployment status");
    }

    /// Whether status operations fail on `status.lock` (facts §2.4): a denied file, or under
    /// the 2020 switch, a file that merely exists.
    pub fn status_lock_blocked(&self) -> bool {
        self.personality == Personality::Linux
            && (self.status_lock_denied
                || (self.quirks.status_lock_exists_means_locked && self.home.is_file(STATUS_LOCK)))
    }

    /// Linux leaves `status.lock` after every status operation (facts §2.4), except under the
    /// 2020 switch, whose release deleted it.
    fn note_status_lock(&mut self, op: &str) {
        if self.personality == Personality::Linux
            && !self.status_lock_denied
            && !self.quirks.status_lock_exists_means_locked
        {
            let text = lock_info_json(self.personality, op, self.now, &self.instance_id[..8]);
            let _ = self.home.write(STATUS_LOCK, text.as_bytes(), self.now);
        }
    }

    /// Rewrites a deployment's status (for the production-only values -1, 5, 6, facts §1.2).
    pub fn set_status(&mut self, id: &str, status: DeployStatus) -> bool {
        let Some(mut file) = self.read_status(id) else {
            return false;
        };
        file.status = status;
        file.complete = status.is_terminal();
        if file.complete && file.end_time.is_none() {
            file.end_time = Some(self.now);
        }
        self.save_status(&file);
        true
    }

    /// Appends one line to a deployment's `log.log`.
    pub fn append_log(&mut self, id: &str, line: LogLine) {
        let text = line.to_line(self.personality);
        let now = self.now;
        let _ = self
            .home
            .append(&format!("{DEPLOYMENTS}/{id}/log.log"), text.as_bytes(), now);
    }

    /// Logs a top-level line (returns its id) and updates `progress` like Kudu's logger does.
    pub fn log_top(&mut self, id: &str, message: &str, kind: u8) -> String {
        let entry_id = self.new_dashed_guid();
        self.append_log(
            id,
            LogLine {
                depth: 0,
                time: self.now,
                message: message.into(),
                id: entry_id.clone(),
                kind,
            },
        );
        entry_id
    }

    /// Logs a child line (one tab deep, empty id).
    pub fn log_child(&mut self, id: &str, message: &str, kind: u8) {
        self.append_log(
            id,
            LogLine {
                depth: 1,
                time: self.now,
                message: message.into(),
                id: String::new(),
                kind,
            },
        );
    }

    /// The content of `active` (empty when none).
    pub fn active_id(&self) -> String {
        self.home.read_string(ACTIVE).unwrap_or_default()
    }

    // ---------------------------------------------------------------- push deploy

    /// `POST /api/zipdeploy` and `POST|PUT /api/publish` (facts §1.9).
    pub fn push(&mut self, req: &SimRequest, one_deploy: bool) -> Reply {
        let params = req.params();
        let is_async = if one_deploy {
            params.get("async")
        } else {
            params.get("isasync")
        }
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let default_deployer = match (one_deploy, self.personality) {
            (true, _) => "OneDeploy",
            (false, Personality::Windows) => "ZipDeploy",
            (false, Personality::Linux) => "Push-Deployer",
        };
        let deployer = params
            .get("deployer")
            .cloned()
            .unwrap_or_else(|| default_deployer.to_string());
        let message = params
            .get("message")
            .cloned()
            .unwrap_or_else(|| "Created via a push deployment".to_string());
        let author = params
            .get("author")
            .cloned()
            .unwrap_or_else(|| "N/A".to_string());
        let author_email = params
            .get("authoremail")
            .cloned()
            .unwrap_or_else(|| "N/A".to_string());
        let artifact = match params.get("type").map(|t| t.to_ascii_lowercase()) {
            Some(kind) if one_deploy && kind != "zip" => Artifact::File {
                name: params
                    .get("path")
                    .cloned()
                    .unwrap_or_else(|| format!("app.{kind}")),
                bytes: req.body.clone(),
            },
            _ => Artifact::Zip(req.body.clone()),
        };

        // Windows saves the body under the lock first (facts §1.9 step 1).
        if self.personality == Personality::Windows && self.quirks.windows_prepare_zip_lock {
            if let Err(text) = self.lock_acquire(OP_PREPARE_ZIP, Holder::Request) {
                return Reply::Now(SimResponse::text(409, &text));
            }
            self.lock_release();
        }
        // Remote run-from-package (facts §1.9 step 3).
        let rfp = [
            "WEBSITE_RUN_FROM_PACKAGE",
            "WEBSITE_RUN_FROM_ZIP",
            "WEBSITE_USE_ZIP",
        ]
        .iter()
        .filter_map(|k| self.app_settings.get(*k))
        .any(|v| v.starts_with("http://") || v.starts_with("https://"));
        if rfp {
            let text = match self.personality {
                Personality::Windows => MSG_RFP_WINDOWS,
                Personality::Linux => MSG_RFP_LINUX,
            };
            return Reply::Now(self.conflict(req, text));
        }
        if self.autoswap_ongoing() {
            return Reply::Now(self.conflict(req, MSG_AUTOSWAP));
        }
        let key = self.next_key;
        // An async push runs on its own background tracer, started before it tries the lock
        // (`PerformBackgroundDeployment`, README "Trace files"): a 409 leaves a finished
        // `_Background_` trace too.
        let background = if is_async {
            self.trace_begin(TraceTitle::Background {
                url: req.path.clone(),
            })
        } else {
            None
        };
        if self.lock_acquire(OP_DEPLOY, Holder::Worker(key)).is_err() {
            if let Some(trace) = background {
                self.trace_end(trace, 0);
            }
            if self.quirks.flex_consumption {
                return Reply::Now(self.flex_conflict(req, deployer, author, message));
            }
            return Reply::Now(self.conflict(req, MSG_IN_PROGRESS));
        }
        if self.status_lock_blocked() {
            // Every status write times out on the blocked status.lock (facts §2.4).
            self.lock_release();
            if let Some(trace) = background {
                self.trace_end(trace, 0);
            }
            return Reply::Now(self.status_lock_failure(req, "Updating deployment status"));
        }
        self.next_key += 1;
        self.latest_forgotten = false;
        let received = self.now;
        let temp_id = self.new_temp_id();
        // Temporary deployment (facts §1.9, §3.2 step 1).
        let temp = StatusFile {
            id: temp_id.clone(),
            author: "N/A".into(),
            deployer: deployer.clone(),
            author_email: "N/A".into(),
            message: "Deploying from pushed zip file".into(),
            progress: String::new(),
            status: DeployStatus::Pending,
            status_text: "Receiving changes.".into(),
            last_success_end_time: None,
            received_time: received,
            start_time: received,
            end_time: None,
            complete: false,
            is_temp: true,
            is_readonly: false,
        };
        self.save_status(&temp);
        self.log_top(&temp_id, "Fetching changes.", 0);
        if !self.home.exists(PENDING) {
            // FetchDeploymentManager recreates the `pending` marker when missing (facts §3).
            let _ = self.home.write(PENDING, b"", received);
        }

        // Receiving and extracting the body takes a moment before the NullRepository commit
        // gives the real id (facts §3.2 step 2, 3), so the real record is the newer one.
        let fetch_ms = self.rng.random_range(150..900);
        let fetched = self.now.plus_millis(fetch_ms);
        self.advance_to(fetched);
        // `trackDeploymentProgress=true` uses the dashed GUID it returns in `SCM-DEPLOYMENT-ID`
        // as the deployment id (facts §1.2, §1.9).
        let tracked = params
            .get("trackdeploymentprogress")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let id = if tracked {
            self.new_dashed_guid()
        } else {
            self.new_guid()
        };
        let mut file = StatusFile {
            id: id.clone(),
            author,
            deployer,
            author_email,
            message,
            progress: String::new(),
            status: DeployStatus::Pending,
            status_text: String::new(),
            last_success_end_time: None,
            received_time: fetched,
            start_time: fetched,
            end_time: None,
            complete: false,
            is_temp: false,
            is_readonly: true,
        };
        self.save_status(&file);
        self.log_top(
            &id,
            &format!("Preparing deployment for commit id '{}'.", &id[..10]),
            0,
        );
        file.status = DeployStatus::Building;
        file.status_text = format!("Building and Deploying '{id}'.");
        match self.personality {
            Personality::Linux => {
                self.log_top(&id, "Repository path is /tmp/zipdeploy/extracted", 0);
                file.progress = "Running oryx build...".into();
                self.log_top(&id, "Running oryx build...", 0);
                // Oryx's intermediate dir is named after ticks in hex.
                let intermediate: String = self.new_guid().chars().take(15).collect();
                self.log_child(&id, &format!("Command: oryx build /tmp/zipdeploy/extracted -o /home/site/wwwroot --platform python --platform-version 3.12 -p virtualenv_name=antenv --log-file /tmp/build-debug.log  -i /tmp/{intermediate} --compress-destination-dir | tee /tmp/oryx-build.log"), 0);
            }
            Personality::Windows => {
                self.log_top(&id, "Generating deployment script.", 0);
                self.log_child(&id, "Using cached version of deployment script (command: 'azure -y --no-dot-deployment -r \"C:\\local\\Temp\\zipdeploy\\extracted\" -o \"D:\\home\\site\\deployments\\tools\" --basic --sitePath \"C:\\local\\Temp\\zipdeploy\\extracted\"').", 0);
                file.progress = "Running deployment command...".into();
                self.log_top(&id, "Running deployment command...", 0);
                self.log_child(
                    &id,
                    "Command: \"D:\\home\\site\\deployments\\tools\\deploy.cmd\"",
                    0,
                );
            }
        }
        self.save_status(&file);

        let hung = std::mem::take(&mut self.hang_next);
        let due = (!hung).then(|| fetched.plus_millis(self.build_ms as i64));
        let fail = self.fail_next.take();
        // Not from the RNG: every id drawn after it (and every captured fixture) would shift.
        let shell_pid = self
            .kudu_pid
            .wrapping_add(1000)
            .wrapping_add(u32::try_from(key % 1000).unwrap_or(0) * 8);
        let mut processes = crate::processes::BuildProcesses::start(
            fetched,
            shell_pid,
            self.quirks.build_cpu_percent,
        );
        if hung {
            processes.freeze(fetched);
        }
        self.workers.push(Worker {
            key,
            id: id.clone(),
            temp_id,
            due,
            artifact,
            fail,
            next_log: fetched.plus_secs(20),
            log_lines: 0,
            locked: true,
            cancelled: false,
            request_trace: None,
            background_trace: background,
            resume_line: None,
            processes,
        });
        if !is_async
            && self.personality == Personality::Linux
            && self.quirks.linux_sync_lock_released_early
        {
            // The sync path's lock is released at the lambda's first await (facts §1.9).
            self.lock_release();
            if let Some(worker) = self.workers.last_mut() {
                worker.locked = false;
            }
        }
        if is_async {
            let mut resp = SimResponse::new(202).with_header(
                "location",
                &format!(
                    "{}/api/deployments/latest?deployer={}&time={}",
                    req.base_url,
                    crate::wire::percent_encode(&self.workers_deployer(key)),
                    received.to_location_stamp()
                ),
            );
            if self.personality == Personality::Windows {
                resp = resp.with_header(
                    "retry-after",
                    &self.quirks.windows_retry_after_secs.to_string(),
                );
            }
            if tracked {
                resp = resp.with_header("scm-deployment-id", &id);
            }
            Reply::Now(resp)
        } else {
            Reply::WaitFor {
                key,
                tracked_id: tracked.then_some(id),
            }
        }
    }

    /// Flex Consumption's answer to a publish while another runs (README "Flex Consumption"):
    /// the publish is accepted and its record ends at once with status 5, Conflict.
    fn flex_conflict(
        &mut self,
        req: &SimRequest,
        deployer: String,
        author: String,
        message: String,
    ) -> SimResponse {
        let id = self.new_dashed_guid();
        let now = self.now;
        let file = StatusFile {
            id: id.clone(),
            author,
            deployer,
            author_email: "N/A".into(),
            message,
            progress: String::new(),
            status: DeployStatus::Conflict,
            status_text: String::new(),
            last_success_end_time: None,
            received_time: now,
            start_time: now,
            end_time: Some(now),
            complete: true,
            is_temp: false,
            is_readonly: true,
        };
        self.save_status(&file);
        SimResponse::json(202, &id).with_header(
            "location",
            &format!("{}/api/deployments/{id}", req.base_url),
        )
    }

    fn workers_deployer(&self, key: u64) -> String {
        self.workers
            .iter()
            .find(|w| w.key == key)
            .and_then(|w| self.read_status(&w.id))
            .map(|s| s.deployer)
            .unwrap_or_default()
    }

    /// The answer to a sync push once its worker ended: 200 empty on success; Kudu answers a
    /// failed sync deployment with 500 and the log's last error [I]; a killed process answers
    /// nothing (the shell drops the connection on `x-sim-drop`).
    pub fn sync_answer(&self, key: u64) -> Option<SimResponse> {
        match self.ended.get(&key)? {
            WorkerEnd::Succeeded => Some(SimResponse::new(200)),
            WorkerEnd::Failed => Some(SimResponse::text(500, "Deployment Failed.")),
            WorkerEnd::Killed => Some(SimResponse::new(502).with_header("x-sim-drop", "1")),
        }
    }

    /// Logs a progress child line while a build runs, so a healthy build's log keeps growing.
    fn log_progress(&mut self, key: u64) {
        let Some(pos) = self.workers.iter().position(|w| w.key == key) else {
            return;
        };
        let id = self.workers[pos].id.clone();
        self.workers[pos].next_log = self.now.plus_secs(20);
        if let Some(line) = self.workers[pos].resume_line.take() {
            self.log_child(&id, &line, 0);
            return;
        }
        let n = self.workers[pos].log_lines + 1;
        self.workers[pos].log_lines = n;
        self.log_child(&id, &format!("Copying file: 'static\\asset-{n:03}.js'"), 0);
    }

    /// A build reached its due time: success or failure as Kudu writes it (facts §3.2 step 4).
    fn finish_worker(&mut self, key: u64) {
        let Some(pos) = self.workers.iter().position(|w| w.key == key) else {
            return;
        };
        let worker = self.workers.remove(pos);
        if worker.cancelled {
            // A cancelled run winding down: it wrote its record already; only the lock goes.
            self.end_worker(&worker, WorkerEnd::Failed);
            return;
        }
        let now = self.now;
        let Some(mut file) = self.read_status(&worker.id) else {
            // The record was deleted under us; Kudu would recreate it, we just end.
            self.end_worker(&worker, WorkerEnd::Failed);
            return;
        };
        match worker.fail {
            Some(mode) => {
                if mode == FailMode::OutputBesideOld {
                    let bytes = match &worker.artifact {
                        Artifact::Zip(b) => b.clone(),
                        Artifact::File { bytes, .. } => bytes.clone(),
                    };
                    let _ = self
                        .home
                        .write(&format!("{WWWROOT}/output.tar.zst"), &bytes, now);
                    self.log_top(&worker.id, "Error: Failed to extract output.tar.zst: the manifest still names output.tar.gz", 2);
                }
                if mode == FailMode::PartialArtifact {
                    self.clean_wwwroot();
                    let _ = self
                        .home
                        .write(&format!("{WWWROOT}/.ostype"), b"linux", now);
                    let _ = self.home.write(
                        &format!("{WWWROOT}/hostingstart.html"),
                        crate::pages::HOSTINGSTART.as_bytes(),
                        now,
                    );
                    let bytes = match &worker.artifact {
                        Artifact::Zip(b) => b.clone(),
                        Artifact::File { bytes, .. } => bytes.clone(),
                    };
                    let _ = self
                        .home
                        .write(&format!("{WWWROOT}/output.tar.zst"), &bytes, now);
                    self.log_top(&worker.id, "Extracting artifact failed: An error occurred while writing to disk. No space left on device", 2);
                }
                self.log_top(&worker.id, "Deployment Failed.", 2);
                file.status = DeployStatus::Failed;
                file.status_text = String::new();
                file.progress = String::new();
                file.complete = true;
                file.end_time = Some(now);
                self.save_status(&file);
                self.purge_after_completion();
                self.end_worker(&worker, WorkerEnd::Failed);
            }
            None => {
                let manifest = self.deliver(&worker.artifact);
                let _ = self.home.write(
                    &format!("{DEPLOYMENTS}/{}/manifest", worker.id),
                    manifest.as_bytes(),
                    now,
                );
                self.log_top(&worker.id, "Deployment successful.", 0);
                file.status = DeployStatus::Success;
                file.status_text = String::new();
                file.progress = String::new();
                file.complete = true;
                file.end_time = Some(now);
                file.last_success_end_time = Some(now);
                self.save_status(&file);
                self.purge_after_completion();
                let _ = self.home.write(ACTIVE, worker.id.as_bytes(), now);
                let _ = self
                    .home
                    .remove_dir_all(&format!("{DEPLOYMENTS}/{}", worker.temp_id), now);
                if self.personality == Personality::Linux {
                    // Post-deployment webhooks take hooks.lock, which Linux never deletes
                    // (facts §2.4, §3.3 "leftovers that look alarming").
                    let text = lock_info_json(
                        self.personality,
                        "Getting WebHooks",
                        now,
                        &self.instance_id[..8],
                    );
                    let _ = self.home.write(HOOKS_LOCK, text.as_bytes(), now);
                }
                // Auto swap is requested after a successful deployment (facts §2.6).
                if self.app_settings.contains_key("WEBSITE_SWAP_SLOTNAME") {
                    let _ = self.home.write(AUTOSWAP_LOCK, b"", now);
                }
                self.end_worker(&worker, WorkerEnd::Succeeded);
            }
        }
    }

    fn end_worker(&mut self, worker: &Worker, end: WorkerEnd) {
        // The run's traces end with it; a killed process leaves them `_pending.xml`.
        if end != WorkerEnd::Killed {
            if let Some(trace) = worker.background_trace.clone() {
                self.trace_end(trace, 0);
            }
            if let Some(trace) = worker.request_trace.clone() {
                let status = if end == WorkerEnd::Succeeded {
                    200
                } else {
                    500
                };
                self.trace_end(trace, status);
            }
        }
        let holder = Holder::Worker(worker.key);
        if end == WorkerEnd::Killed {
            self.lock_holder_died(&holder);
        } else if self.personality == Personality::Linux && worker.locked {
            // Release deletes the dir without an ownership check: a late finisher frees a
            // newer holder's lock (facts §2.3).
            self.lock_release();
        } else if self.holds_lock(&holder) {
            self.lock_release();
        }
        self.ended.insert(worker.key, end);
    }

    /// Deletes wwwroot's files listed by the active deployment's manifest (KuduSync, facts §3).
    fn clean_wwwroot(&mut self) {
        let now = self.now;
        if let Ok(entries) = self.home.list(WWWROOT) {
            for entry in entries {
                let rel = format!("{WWWROOT}/{}", entry.name);
                let _ = if entry.is_dir {
                    self.home.remove_dir_all(&rel, now)
                } else {
                    self.home.remove_file(&rel, now)
                };
            }
        }
    }

    /// Puts the artifact into wwwroot; returns the manifest text.
    fn deliver(&mut self, artifact: &Artifact) -> String {
        let now = self.now;
        let active = self.active_id();
        if let Some(old) = self
            .home
            .read_string(&format!("{DEPLOYMENTS}/{active}/manifest"))
            .filter(|_| !active.is_empty())
        {
            for line in old.lines().filter(|l| !l.is_empty()) {
                let _ = self.home.remove_file(&format!("{WWWROOT}/{line}"), now);
            }
        }
        let mut manifest = Vec::new();
        match artifact {
            // Oryx's `--compress-destination-dir` (switch `linux_compressed_output`): the build
            // output goes to wwwroot as one archive beside Oryx's manifest.
            Artifact::Zip(bytes)
                if self.personality == Personality::Linux
                    && self.quirks.linux_compressed_output =>
            {
                let _ = self
                    .home
                    .write(&format!("{WWWROOT}/output.tar.gz"), bytes, now);
                let _ = self.home.write(
                    &format!("{WWWROOT}/oryx-manifest.toml"),
                    b"compressedOutputFile = \"output.tar.gz\"\n",
                    now,
                );
                manifest.push("output.tar.gz".to_string());
                manifest.push("oryx-manifest.toml".to_string());
            }
            Artifact::Zip(bytes) => {
                for (name, content) in crate::archive::unzip(bytes) {
                    let _ = self.home.write(&format!("{WWWROOT}/{name}"), &content, now);
                    manifest.push(name);
                }
            }
            Artifact::File { name, bytes } => {
                let _ = self.home.write(&format!("{WWWROOT}/{name}"), bytes, now);
                manifest.push(name.clone());
            }
        }
        let nl = crate::deployment::newline(self.personality);
        manifest.iter().map(|m| format!("{m}{nl}")).collect()
    }

    /// Kills a running deployment's process: nothing more is written, its lock is left as the
    /// dead process leaves it. `None` kills the newest running worker.
    pub fn kill_worker(&mut self, key: Option<u64>) -> Option<u64> {
        let pos = match key {
            Some(k) => self.workers.iter().position(|w| w.key == k)?,
            None => self.workers.len().checked_sub(1)?,
        };
        let worker = self.workers.remove(pos);
        self.end_worker(&worker, WorkerEnd::Killed);
        Some(worker.key)
    }

    /// Cancels a running deployment (the client went away, e.g. GitHub `cancel-in-progress`).
    /// With the switch `cancelled_status` off this is a kill. On (facts §1.2, [I]): the run's
    /// record is marked Cancelled (status -1, complete) and its `temp-` twin removed as the
    /// run's own cleanup does; on Linux the run ends without `Release`, so `info.lock` stays
    /// until its expiry (§2.3); on Windows the worker keeps its handle while it winds down for
    /// `cancel_wind_down_secs`, then releases it (§2.2). `None` cancels the newest worker.
    pub fn cancel_worker(&mut self, key: Option<u64>) -> Option<u64> {
        if !self.quirks.cancelled_status {
            return self.kill_worker(key);
        }
        let pos = match key {
            Some(k) => self.workers.iter().position(|w| w.key == k)?,
            None => self.workers.len().checked_sub(1)?,
        };
        let now = self.now;
        let key = self.workers[pos].key;
        let (id, temp_id) = (
            self.workers[pos].id.clone(),
            self.workers[pos].temp_id.clone(),
        );
        if let Some(mut file) = self.read_status(&id) {
            file.status = DeployStatus::Cancelled;
            file.status_text = String::new();
            file.progress = String::new();
            file.complete = true;
            file.end_time = Some(now);
            self.save_status(&file);
        }
        let _ = self
            .home
            .remove_dir_all(&format!("{DEPLOYMENTS}/{temp_id}"), now);
        let _ = self.home.touch(ACTIVE, now);
        match self.personality {
            Personality::Linux => {
                let mut worker = self.workers.remove(pos);
                // The run ended (its `finally` closes the background trace) but never released.
                if let Some(trace) = worker.background_trace.take() {
                    self.trace_end(trace, 0);
                }
                self.end_worker(&worker, WorkerEnd::Killed);
            }
            Personality::Windows => {
                let until = now.plus_secs(self.quirks.cancel_wind_down_secs.max(0));
                let worker = &mut self.workers[pos];
                worker.cancelled = true;
                worker.due = Some(until);
                // It logs nothing more; its end comes first.
                worker.next_log = until.plus_secs(1);
            }
        }
        Some(key)
    }

    /// A running deployment enters a long silent step (`pip install`, `npm ci` of a big app):
    /// logs `line` now, then nothing for `secs`, then `resume` and its usual progress lines.
    /// The build's end time is unchanged. `None` picks the newest worker.
    pub fn quiet_worker(
        &mut self,
        key: Option<u64>,
        secs: i64,
        line: &str,
        resume: &str,
    ) -> Option<u64> {
        let now = self.now;
        let worker = match key {
            Some(k) => self.workers.iter_mut().find(|w| w.key == k)?,
            None => self.workers.last_mut()?,
        };
        worker.next_log = now.plus_secs(secs.max(0));
        worker.resume_line = Some(resume.to_string());
        let (key, id) = (worker.key, worker.id.clone());
        self.log_child(&id, line, 0);
        Some(key)
    }

    /// A sync push's request trace waits for its worker; if the worker is already done the
    /// trace ends now (a killed one stays pending).
    pub(crate) fn attach_request_trace(&mut self, key: u64, trace: OpenTrace) {
        if let Some(worker) = self.workers.iter_mut().find(|w| w.key == key) {
            worker.request_trace = Some(trace);
            return;
        }
        match self.ended.get(&key) {
            Some(WorkerEnd::Succeeded) => self.trace_end(trace, 200),
            Some(WorkerEnd::Failed) => self.trace_end(trace, 500),
            _ => {}
        }
    }

    /// Makes a running deployment hang (its log stops growing, it never finishes).
    pub fn hang_worker(&mut self, key: Option<u64>) -> Option<u64> {
        let worker = match key {
            Some(k) => self.workers.iter_mut().find(|w| w.key == k)?,
            None => self.workers.last_mut()?,
        };
        worker.due = None;
        worker.processes.freeze(self.now);
        Some(worker.key)
    }

    /// Kudu restarts gracefully (a platform recycle, `/_sim/kudu/restart`): the old process
    /// writes its `_Shutdown` trace, every worker dies, Linux deletes the lock dir at shutdown
    /// and startup (facts §2.3, switch `linux_startup_clears_lock`), Windows handles close,
    /// leaving a stale file that the next `IsHeld` deletes (§2.2). The new process writes its
    /// `_Startup` trace at its first request (README "Trace files").
    pub fn restart_kudu(&mut self) {
        self.restart_process(true);
    }

    /// `DELETE /api/processes/0` on Windows: `Process.Kill` on Kudu itself. No `_Shutdown`
    /// trace, and the request's own trace stays `_pending.xml`.
    pub(crate) fn kill_and_restart_kudu(&mut self) {
        self.restart_process(false);
    }

    fn restart_process(&mut self, graceful: bool) {
        if graceful {
            self.trace_shutdown();
        }
        while self.kill_worker(None).is_some() {}
        if self.scan_until.take().is_some() && self.holds_lock(&Holder::Scan) {
            self.lock_holder_died(&Holder::Scan);
        }
        self.windows_handle = None;
        self.linux_cache = None;
        self.linux_holder = None;
        if self.personality == Personality::Linux && self.quirks.linux_startup_clears_lock {
            let now = self.now;
            let _ = self.home.remove_dir_all(LINUX_LOCK_DIR, now);
        }
        self.list_cache = None;
        if self.quirks.linux_etag_per_process || self.personality == Personality::Windows {
            self.etag_seed = self.rng.random();
        }
        self.kudu_pid = self.rng.random_range(2000..9000);
        self.kudu_restarts += 1;
        self.latest_forgotten = self.quirks.latest_empty_after_restart;
        self.traces = TraceState::new(self.now, self.traces.generation + 1);
        self.warm_up();
    }

    /// The platform's request to a Kudu it just started (switch `kudu_warmup_path`).
    fn warm_up(&mut self) {
        if let Some(path) = self.quirks.kudu_warmup_path.clone() {
            let _ = self.handle(&SimRequest::new("GET", &path));
        }
    }

    /// Starts a malware scan that holds the deployment lock (Linux, facts §1.6).
    pub fn start_scan(&mut self, secs: i64) -> Result<(), String> {
        self.lock_acquire(OP_SCAN, Holder::Scan)?;
        self.scan_until = Some(self.now.plus_secs(secs));
        Ok(())
    }

    fn end_scan(&mut self) {
        self.scan_until = None;
        if self.holds_lock(&Holder::Scan) {
            self.lock_release();
        }
    }

    /// Auto swap is ongoing while `autoswap.lock` is younger than 2 min and a swap slot is set
    /// (facts §2.6).
    pub fn autoswap_ongoing(&self) -> bool {
        self.app_settings.contains_key("WEBSITE_SWAP_SLOTNAME")
            && self
                .home
                .mtime(AUTOSWAP_LOCK)
                .is_some_and(|t| self.now.secs_since(t) < 120)
    }

    // ---------------------------------------------------------------- error bodies

    /// A 409 push conflict: text/plain on Windows (StringContent, facts §2.5); on Linux a
    /// string result, negotiated.
    pub fn conflict(&self, req: &SimRequest, text: &str) -> SimResponse {
        match self.personality {
            Personality::Windows => SimResponse::text(409, text),
            Personality::Linux => self.linux_string(req, 409, text),
        }
    }

    /// An ASP.NET Core string result: JSON-quoted when the client accepts JSON (facts §2.5 [I]).
    pub fn linux_string(&self, req: &SimRequest, status: u16, text: &str) -> SimResponse {
        if req.accepts_json() && self.quirks.linux_json_quoted_strings {
            SimResponse::json(status, &text)
        } else {
            SimResponse::text(status, text)
        }
    }

    /// An error in the personality's style: Kudu-W HttpError JSON `{"Message":...}`; Kudu-L a
    /// plain string (facts §8.1).
    pub fn error(&self, req: &SimRequest, status: u16, text: &str) -> SimResponse {
        match self.personality {
            Personality::Windows => {
                SimResponse::json(status, &serde_json::json!({ "Message": text }))
            }
            Personality::Linux => self.linux_string(req, status, text),
        }
    }

    /// 500 after the status lock timed out (facts §2.4): the conflict text plus the
    /// access-denied message of the underlying exception.
    pub fn status_lock_failure(&self, req: &SimRequest, op: &str) -> SimResponse {
        let text = format!(
            "{} Access to the path '/home/site/locks/status.lock' is denied.",
            lock_conflict_text(op, "unknown", "unknown")
        );
        self.linux_string(req, 500, &text)
    }

    /// The static deployments-list cache (facts §1.3).
    pub fn list_cache_mut(&mut self) -> &mut Option<(String, Vec<DeployResult>)> {
        &mut self.list_cache
    }

    /// This process's string-hash seed.
    pub fn etag_seed(&self) -> u64 {
        self.etag_seed
    }
}

/// `OperationLockInfo` as `WriteLockInfo` writes it (indented JSON, facts §2.4), with the
/// personality's line ends.
fn lock_info_json(personality: Personality, op: &str, at: VTime, instance: &str) -> String {
    let nl = crate::deployment::newline(personality);
    let stack = match personality {
        Personality::Windows => {
            "   at Kudu.Core.Infrastructure.LockFile.TryLockOperation(Action operation, String operationName, TimeSpan timeout)\\r\\n   at Kudu.Services.Deployment.PushDeploymentController.ZipPushDeploy()"
        }
        Personality::Linux => {
            "   at Kudu.Core.Infrastructure.LockFile.TryLockOperation(Action operation, String operationName, TimeSpan timeout)\\n   at Kudu.Core.Deployment.DeploymentStatusManager.Open(String id)"
        }
    };
    format!(
        "{{{nl}  \"OperationName\": \"{op}\",{nl}  \"AcquiredDateTime\": \"{}\",{nl}  \"StackTrace\": \"{stack}\",{nl}  \"InstanceId\": \"{instance}\"{nl}}}",
        at.to_roundtrip()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::app_zip;

    fn kudu(personality: Personality) -> Kudu {
        Kudu::new(&SimConfig {
            personality,
            build_ms: 60_000,
            ..SimConfig::default()
        })
        .unwrap()
    }

    fn push(k: &mut Kudu, query: &str) -> Reply {
        let req = SimRequest::new("POST", &format!("/api/zipdeploy?{query}")).with_body(app_zip(1));
        k.push(&req, false)
    }

    #[test]
    fn linux_lock_expires_after_1500_s_and_isheld_deletes_it() {
        let mut k = kudu(Personality::Linux);
        assert!(matches!(push(&mut k, "isAsync=true"), Reply::Now(r) if r.status == 202));
        k.hang_worker(None);
        k.advance_secs(1499);
        assert!(k.lock_is_held());
        k.advance_secs(2);
        assert!(!k.lock_is_held());
        assert!(!k.home.exists(LINUX_LOCK_DIR));
    }

    #[test]
    fn windows_lock_is_the_handle_not_the_file() {
        let mut k = kudu(Personality::Windows);
        assert!(matches!(push(&mut k, "isAsync=true"), Reply::Now(r) if r.status == 202));
        assert!(k.lock_is_held());
        k.kill_worker(None);
        assert!(
            k.home.is_file(WINDOWS_LOCK_FILE),
            "the dead process leaves the file"
        );
        assert!(!k.lock_is_held());
        assert!(
            !k.home.exists(WINDOWS_LOCK_FILE),
            "IsHeld deleted the stale file"
        );
    }

    #[test]
    fn a_build_finishes_when_the_clock_passes_its_due_time() {
        let mut k = kudu(Personality::Linux);
        let _ = push(&mut k, "isAsync=true");
        let id = k.workers[0].id.clone();
        k.advance_secs(59);
        assert_eq!(k.read_status(&id).unwrap().status, DeployStatus::Building);
        k.advance_secs(2);
        let done = k.read_status(&id).unwrap();
        assert_eq!(done.status, DeployStatus::Success);
        assert_eq!(k.active_id(), id);
        assert!(!k.home.exists(LINUX_LOCK_DIR));
        assert!(k.home.is_file(&format!("{WWWROOT}/index.html")));
    }

    #[test]
    fn conflict_text_names_the_holder() {
        let mut k = kudu(Personality::Windows);
        let _ = push(&mut k, "isAsync=true");
        let Reply::Now(resp) = push(&mut k, "isAsync=true") else {
            panic!("a conflict is immediate");
        };
        assert_eq!(resp.status, 409);
        assert_eq!(
            resp.body_text(),
            format!(
                "The 'Preparing zip package' operation conflicts with the pending 'Performing continuous deployment' operation started at {}.  Please retry operation later.",
                k.lock_info().1
            )
        );
    }
}
