//! How a simulator is configured: personality, scenario, seed, clock mode, and the switches
//! (`Quirks`) for every fact the fact sheet marks as inferred ([I]) or production-only.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::time::VTime;

/// Which Kudu the simulator plays (facts §1.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Personality {
    /// KuduLite on App Service Linux: lock directory with `info.lock`, `/api/isdeploying`.
    Linux,
    /// Kudu on App Service Windows: handle-held `deployments.lock`, process API.
    Windows,
}

impl Personality {
    /// `linux` or `windows`, as the CLI and fixture names spell it.
    pub fn name(self) -> &'static str {
        match self {
            Personality::Linux => "linux",
            Personality::Windows => "windows",
        }
    }

    /// Parses `linux` / `windows`.
    pub fn parse(text: &str) -> Option<Personality> {
        match text.to_ascii_lowercase().as_str() {
            "linux" => Some(Personality::Linux),
            "windows" => Some(Personality::Windows),
            _ => None,
        }
    }
}

/// What an API call without a valid session or Basic credentials gets (facts §5.3 [I]: the
/// front end's answer to an expired session cannot be read from source).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnauthAnswer {
    /// 200 `text/html` login page (the default; the hardest case for a client to notice).
    LoginPage,
    /// 302 to `/.auth/login/aad?post_login_redirect_uri=<path>`.
    Redirect,
    /// 401 with `WWW-Authenticate: Basic`.
    Unauthorized,
}

/// Switches for inferred or production-only behaviour. Each default is what the fact sheet
/// says; the tag in the doc comment is the fact sheet's.
#[derive(Clone, Debug)]
pub struct Quirks {
    /// [V]/[I] §2.3: KuduLite treats a lock whose `lockExpiry` has passed as free (and deletes
    /// it). Users report 409s lasting days (users-and-peers rows 15, 24), which the public code
    /// cannot produce, so `stale-lock-linux` turns this off.
    pub lock_expiry_honoured: bool,
    /// [I] §1.9: KuduLite's synchronous push releases the lock at its first `await`.
    pub linux_sync_lock_released_early: bool,
    /// [I] §2.5: KuduLite sends string bodies JSON-quoted when the client accepts JSON.
    pub linux_json_quoted_strings: bool,
    /// [V] §1.9: Kudu-W saves the zip under the lock as `Preparing zip package`, so a push
    /// while locked gets that conflict text instead of "There is a deployment currently...".
    pub windows_prepare_zip_lock: bool,
    /// [I] §4.4: KuduLite may see a missing `If-Match` as an empty list and answer 409.
    pub linux_missing_if_match_is_409: bool,
    /// [I] §1.3: .NET Core randomises string hashes per process, so Linux list ETags change at
    /// every Kudu restart.
    pub linux_etag_per_process: bool,
    /// Hide `WEBSITE_RESOURCE_GROUP`, `WEBSITE_OWNER_NAME`, `WEBSITE_SITE_NAME` (404 per key).
    pub hide_site_identity_settings: bool,
    /// [I] §5.3: the answer to an unauthenticated API call.
    pub unauthenticated: UnauthAnswer,
    /// `SameSite` of the session cookie (`None`, `Lax` or `Strict`).
    pub same_site: String,
    /// [V] §1.3: Linux marks a stale incomplete deployment Failed only when it is older than
    /// this (180 s; `SCM_DEP_LOCK_INVALIDATION_MINS` overrides it).
    pub linux_lock_invalidation_secs: i64,
    /// [V] §1.4: `Retry-After` on Windows 202s (`ArmRetryAfterSeconds`, default 30).
    pub windows_retry_after_secs: u64,
    /// [V] §2.4: real milliseconds a deployment read waits on a denied `status.lock` before the
    /// 500 (Kudu waits 30 s of real time; 0 keeps tests fast, the virtual clock is not moved).
    pub status_lock_wait_ms: u64,
    /// [I] §5.2: how long (real ms) Kudu answers 503 after `DELETE /api/processes/0`.
    pub restart_downtime_ms: u64,
    /// [I] README "Processes": the build tool's share of one core (percent) while its build
    /// works, logging or not; 0 models a build that waits on the network and uses no CPU.
    pub build_cpu_percent: i64,
    /// [V] §2.4 (Oct-Dec 2020 builds): on Linux a `status.lock` that merely exists blocks
    /// every status operation, and Kudu deletes it on release.
    pub status_lock_exists_means_locked: bool,
    /// [I] §1.2, §8.6: production adds fields the public source lacks; clients must ignore
    /// them. Adds `build_summary` to every `DeployResult`.
    pub extra_deploy_fields: bool,
    /// [I] §1.2: production writes status -1 (Cancelled) for a deployment whose run was
    /// cancelled, a value the clients handle but the public code never sets. On: a cancel
    /// (`/_sim/deployment/cancel`) marks the record Cancelled and ends the run as
    /// [`Quirks::cancel_wind_down_secs`] says. Off: a cancel is a kill, as in the public code.
    pub cancelled_status: bool,
    /// [I] §2.2, §2.3, users-and-peers row 1 (webapps-deploy#547): how long a cancelled run
    /// keeps the deployment lock. Windows: the still-finishing worker keeps the handle this
    /// many virtual seconds, then releases it. Linux: the cancelled run never calls
    /// `Release`, so `info.lock` stays until its expiry whatever this says.
    pub cancel_wind_down_secs: i64,
    /// [V]/[I] §2.3: KuduLite deletes `site/locks/deployment` when it shuts down and when it
    /// starts (`DeleteDirectorySafe`, which ignores errors). Off in `restarted-holder`: a
    /// restart whose delete failed silently (e.g. a lock dir owned by another user), so the
    /// lock outlives the process that took it.
    pub linux_startup_clears_lock: bool,
    /// [I] README "Trace files": KuduLite's trace cleanup deletes only the oldest files whose
    /// path contains `default` (public source), so ordinary trace files pile up. On: Linux
    /// keeps about 200 like Kudu-W.
    pub linux_trace_cleanup_all: bool,
    /// [I] README "Trace files": the instance part of trace file names. `None`: the first 6
    /// characters of `WEBSITE_INSTANCE_ID` (Kudu-W [V]; on Linux it assumes the variable is
    /// set, as `heldByWorker` does). `Some(x)`: `x` (e.g. a machine name's first 6 characters).
    pub trace_instance_id: Option<String>,
    /// [I] README "Trace files": Kudu writes its `_Startup` trace at the first request after
    /// it starts. `Some(path)`: the platform sends `GET <path>` to every Kudu it starts, so
    /// the startup trace appears at the start itself. `None`: the next real request writes it.
    pub kudu_warmup_path: Option<String>,
    /// [I] §4.3: Kudu's VFS sends `ETag` and `Last-Modified` on files and says nothing about
    /// caching, so a browser may cache them heuristically; whether App Service's front end adds
    /// a `Cache-Control` is not known. `Some(n)`: VFS file reads also carry
    /// `Cache-Control: private, max-age=n`, the worst case, for tests of fresh re-reads.
    pub vfs_max_age_secs: Option<u64>,
    /// README "Flex Consumption": the site is a Flex Consumption function app. Its records
    /// carry `remoteBuild` and `build_summary` ([V] azure-dev#3658, the Flex team's sample
    /// `latest` body); `/api/zipdeploy` is not served (terraform-provider-azurerm PR#31937:
    /// Flex deploys through `/api/publish` only); a publish while another runs is recorded with
    /// status 5, Conflict ([I]: core-tools' `PublishFunctionAppAction` reads 5 as "cancelled,
    /// another deployment in progress"; that the publish itself answers 202 is inferred).
    pub flex_consumption: bool,
    /// [I] README "Flex Consumption": whether a Flex Consumption app's SCM site answers VFS and
    /// `/api/isdeploying` (unverified). Off: both answer 404 `No route registered`. Only read
    /// when [`Quirks::flex_consumption`] is on.
    pub flex_serves_vfs_and_isdeploying: bool,
    /// [I] §9 (vscode-azuretools `waitForDeploymentToComplete.ts`): after Kudu recycles,
    /// `GET /api/deployments/latest` answers 200 `{}` (a record without an id, which the VS
    /// Code client waits through "to let Kudu initialize the deployment") until a push makes a
    /// record again.
    pub latest_empty_after_restart: bool,
    /// [I] README "Two build outputs": a successful Linux build leaves its output in wwwroot as
    /// one archive, `output.tar.gz`, beside `oryx-manifest.toml` (Oryx's
    /// `--compress-destination-dir`, which the simulated build command passes), rather than as
    /// files. On in `two-outputs`.
    pub linux_compressed_output: bool,
    /// README "Scaled out": how many instances the plan runs (1 or 2). With 2, each instance
    /// runs its own Kudu process over the one shared HOME, the front end routes a request by
    /// its `ARRAffinity` cookie (a request without one lands on the first instance [I]) and
    /// sets the cookie on replies to requests that lack it. On in `held-elsewhere`.
    pub instances: u8,
}

impl Default for Quirks {
    fn default() -> Self {
        Quirks {
            lock_expiry_honoured: true,
            linux_sync_lock_released_early: true,
            linux_json_quoted_strings: true,
            windows_prepare_zip_lock: true,
            linux_missing_if_match_is_409: false,
            linux_etag_per_process: true,
            hide_site_identity_settings: false,
            unauthenticated: UnauthAnswer::LoginPage,
            same_site: "None".into(),
            linux_lock_invalidation_secs: 180,
            windows_retry_after_secs: 30,
            status_lock_wait_ms: 0,
            restart_downtime_ms: 300,
            build_cpu_percent: 60,
            status_lock_exists_means_locked: false,
            extra_deploy_fields: false,
            cancelled_status: false,
            cancel_wind_down_secs: 180,
            linux_startup_clears_lock: true,
            linux_trace_cleanup_all: false,
            trace_instance_id: None,
            kudu_warmup_path: None,
            vfs_max_age_secs: None,
            flex_consumption: false,
            flex_serves_vfs_and_isdeploying: false,
            latest_empty_after_restart: false,
            linux_compressed_output: false,
            instances: 1,
        }
    }
}

/// Concurrent HTTP/2 streams the simulator allows per connection (`SETTINGS_MAX_CONCURRENT_STREAMS`):
/// Kestrel's and IIS's default, and what a front end of that family would announce [I].
pub const H2_MAX_STREAMS: u32 = 100;

/// How to start a simulator. Build it with `..SimConfig::default()`.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub personality: Personality,
    /// A scenario name from [`crate::SCENARIOS`].
    pub scenario: String,
    /// `127.0.0.1:0` picks a free port.
    pub addr: SocketAddr,
    pub tls: bool,
    /// Offer HTTP/2 under TLS (ALPN `h2`, then `http/1.1`), at most [`H2_MAX_STREAMS`]
    /// concurrent streams per connection, as App Service's front end does for browsers (an
    /// inference: see the README, "HTTP/2"). Off: TLS offers only `http/1.1`, and a browser
    /// then has at most 6 connections, so 6 requests, in flight per host. HTTP/1.1 clients are
    /// served either way.
    pub http2: bool,
    /// Real latency added to every request.
    pub latency_ms: u64,
    /// Virtual milliseconds a push deployment takes to build.
    pub build_ms: u64,
    /// The site name when the host is a bare IP or `localhost`.
    pub site: String,
    /// Basic-auth password for `$<site>`; random when `None`.
    pub password: Option<String>,
    /// Served under `/doctor/` (the standalone page).
    pub static_dir: Option<PathBuf>,
    /// Seeds every id the simulator makes (GUIDs, temp ids, PIDs).
    pub seed: u64,
    /// Where the virtual clock starts (default 2026-11-26T12:00:00Z).
    pub start: VTime,
    /// Let virtual time follow wall time (see the README, "Clock"). Off for `Sim::start`
    /// defaults, on in the CLI.
    pub realtime: bool,
    /// Shift the start so a loaded scenario's "now" is the wall clock's now (for browsers and
    /// demos, whose own clock is real). Off by default: captures stay byte-identical.
    pub wall_clock: bool,
    /// Send the strict `Content-Security-Policy` on `/` from the start.
    pub strict_csp: bool,
    pub quirks: Quirks,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            personality: Personality::Linux,
            scenario: "healthy".into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
            http2: true,
            latency_ms: 0,
            build_ms: 0,
            site: "myapp".into(),
            password: None,
            static_dir: None,
            seed: 0x6b75_6475,
            start: VTime::default_start(),
            realtime: false,
            wall_clock: false,
            strict_csp: false,
            quirks: Quirks::default(),
        }
    }
}
