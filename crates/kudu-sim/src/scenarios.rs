//! Named scenarios, each reached by driving the simulated Kudu with the actions that produce it
//! in production (pushes, kills, restarts, settings), on the virtual clock.

use crate::archive::zip_files;
use crate::config::{Personality, SimConfig};
use crate::kudu::{FailMode, Kudu, Reply};
use crate::wire::SimRequest;

/// One scenario: its name, the personalities it exists in, and a one-line summary.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub personalities: &'static [Personality],
    pub summary: &'static str,
}

const BOTH: &[Personality] = &[Personality::Linux, Personality::Windows];
const LINUX: &[Personality] = &[Personality::Linux];
const WINDOWS: &[Personality] = &[Personality::Windows];

/// Every scenario, in the README's order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "healthy",
        personalities: BOTH,
        summary: "three earlier successful deployments (GITHUB_ZIP_DEPLOY, ms-azuretools-vscode, OneDeploy); no lock; pushes succeed",
    },
    Scenario {
        name: "deploying",
        personalities: BOTH,
        summary: "a GitHub Actions async zip deploy is building (5 min build, 65 s in); its log keeps growing; a push gets 409",
    },
    Scenario {
        name: "parallel",
        personalities: BOTH,
        summary: "two pipelines pushed at once: one async deploy builds, the second got 409 (Linux: an earlier sync push also builds without the lock)",
    },
    Scenario {
        name: "cancelled-retried",
        personalities: BOTH,
        summary: "GitHub cancel-in-progress cancelled an async deploy mid-build (status -1, switch cancelled_status on); its lock outlives it (Linux info.lock to expiry, Windows the winding-down worker's handle); the re-run 10 s later got 409; a minute later",
    },
    Scenario {
        name: "stuck-linux",
        personalities: LINUX,
        summary: "a deployment hung 45 s into its build 13 min ago (longer than the core's 10-minute log silence, so only silence says it stopped: weak evidence): info.lock fresh, log stopped growing, isdeploying True, latest 202",
    },
    Scenario {
        name: "stale-lock-linux",
        personalities: LINUX,
        summary: "the deploying process died 3 h ago; info.lock is past lockExpiry but still blocks (switch lock_expiry_honoured off)",
    },
    Scenario {
        name: "stuck-windows",
        personalities: WINDOWS,
        summary: "a hung deployment's live worker holds deployments.lock (hung 14 min ago); VFS delete of the lock file gets 404",
    },
    Scenario {
        name: "stale-files-windows",
        personalities: WINDOWS,
        summary: "two killed deploys left temp-* folders, incomplete records and a stale deployments.lock with no handle; nothing blocks",
    },
    Scenario {
        name: "status-lock-denied",
        personalities: LINUX,
        summary: "status.lock owned by another user: deployment GETs answer 500 'Getting deployment status' + access denied",
    },
    Scenario {
        name: "run-from-package-url",
        personalities: BOTH,
        summary: "WEBSITE_RUN_FROM_PACKAGE is a blob URL: every push gets the run-from-zip 409",
    },
    Scenario {
        name: "autoswap",
        personalities: BOTH,
        summary: "WEBSITE_SWAP_SLOTNAME=production and a deployment finished 30 s ago: autoswap.lock is fresh, pushes get the auto swap 409",
    },
    Scenario {
        name: "scan-underway",
        personalities: LINUX,
        summary: "a malware scan holds the deployment lock (started 2 min ago, 15 min): isdeploying says Scan Underway",
    },
    Scenario {
        name: "partial-deploy",
        personalities: BOTH,
        summary: "a OneDeploy failed after cleaning wwwroot: it holds only .ostype, hostingstart.html and output.tar.zst",
    },
    Scenario {
        name: "long-build",
        personalities: BOTH,
        summary: "a 40 min build began 30 min ago and still logs every 20 s (last line seconds ago); Linux: info.lock's lockExpiry passed 5 min ago yet it still blocks (switch lock_expiry_honoured off), isdeploying True; latest 202; a push gets 409",
    },
    Scenario {
        name: "quiet-build",
        personalities: BOTH,
        summary: "a live build has been silent in its log for 8 min (Linux pip install; Windows npm ci: 12 min, its CPU time advancing); the lock is fresh; in 2 min it logs again, and it succeeds about 5.5 min (Windows 6.5 min) from now",
    },
    Scenario {
        name: "restarted-holder",
        personalities: LINUX,
        summary: "a deployment hung, then Kudu restarted (_Shutdown, later _Startup traces) but the lock dir survived (switch linux_startup_clears_lock off): the record still reads Building, isdeploying True, the re-run got 409",
    },
    Scenario {
        name: "held-elsewhere",
        personalities: BOTH,
        summary: "a scaled-out plan (switch instances 2): a deployment on the second instance hung 14 min ago and holds the lock (Linux info.lock names that instance in heldByWorker, Windows its Kudu holds the deployments.lock handle); a request without ARRAffinity lands on the first instance, whose restart does not stop the holder",
    },
    Scenario {
        name: "two-outputs",
        personalities: LINUX,
        summary: "builds leave output.tar.gz and oryx-manifest.toml in wwwroot (switch linux_compressed_output on); a OneDeploy 10 min ago wrote output.tar.zst beside them and failed",
    },
    Scenario {
        name: "flex-consumption",
        personalities: LINUX,
        summary: "a Flex Consumption function app (switch flex_consumption on): three earlier publishes; a remote-build publish from Core Tools is building, and an az publish 20 s later was recorded with status 5 (Conflict); VFS and isdeploying answer 404 (switch flex_serves_vfs_and_isdeploying off)",
    },
    Scenario {
        name: "session-expired",
        personalities: BOTH,
        summary: "the healthy site, but the browser's session cookie is no longer accepted: API calls get the login answer",
    },
];

/// Finds a scenario by name.
pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// What loading a scenario asks of the HTTP shell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShellEffects {
    /// Reject every session cookie issued so far (`session-expired`).
    pub expire_sessions: bool,
}

/// Like [`load`], but with `config.wall_clock` the start is moved so that the scenario's "now"
/// is the wall clock's now (a scenario's history spans the same virtual time whatever its
/// start, so one probe load measures it).
pub fn load_aligned(
    kudu: &mut Kudu,
    config: &SimConfig,
    name: &str,
) -> Result<ShellEffects, String> {
    if !config.wall_clock {
        return load(kudu, config, name);
    }
    load(kudu, config, name)?;
    let span = kudu.now.0 - config.start.0;
    let wall = crate::time::VTime::from_system_time(std::time::SystemTime::now());
    let aligned = SimConfig {
        start: crate::time::VTime(wall.0 - span),
        ..config.clone()
    };
    load(kudu, &aligned, name)
}

/// Resets `kudu` and drives it into scenario `name`. OS-specific scenarios switch to their
/// personality; the others keep `config.personality`.
pub fn load(kudu: &mut Kudu, config: &SimConfig, name: &str) -> Result<ShellEffects, String> {
    let scenario = find(name).ok_or_else(|| {
        let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        format!("unknown scenario '{name}'; known: {}", names.join(", "))
    })?;
    let mut config = config.clone();
    if !scenario.personalities.contains(&config.personality) {
        config.personality = scenario.personalities[0];
    }
    if name == "stale-lock-linux" {
        config.quirks.lock_expiry_honoured = false;
    }
    if name == "cancelled-retried" {
        config.quirks.cancelled_status = true;
    }
    if name == "long-build" {
        // Deploy steps of 28-43 min under webapps-deploy's 5 s polling of `latest`
        // (webapps-deploy#547) mean production keeps a live build's lock past its expiry.
        config.quirks.lock_expiry_honoured = false;
    }
    if name == "restarted-holder" {
        config.quirks.linux_startup_clears_lock = false;
    }
    if name == "flex-consumption" {
        config.quirks.flex_consumption = true;
    }
    if name == "two-outputs" {
        config.quirks.linux_compressed_output = true;
    }
    if name == "held-elsewhere" {
        config.quirks.instances = 2;
    }
    kudu.reset(&config)
        .map_err(|e| format!("cannot reset HOME: {e}"))?;
    let mut effects = ShellEffects::default();
    let mut d = Driver { kudu };
    match name {
        "healthy" => d.history(),
        "deploying" => {
            d.history();
            d.push_async("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%209c41e0d%20(main)&author=octocat", 4, 300);
            d.advance(65);
        }
        "parallel" => {
            d.history();
            if d.kudu.personality == Personality::Linux {
                // A sync push (az webapp deploy --async false) releases its lock early.
                d.push_sync(
                    "/api/zipdeploy?deployer=az_cli_functions&message=Release%202026.11.27",
                    4,
                    240,
                );
                d.advance(5);
            }
            d.push_async("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%20b7d2a11%20(main)&author=octocat", 5, 240);
            d.push_async("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%20b7d2a11%20(release)&author=octocat", 6, 240);
            d.advance(30);
        }
        "cancelled-retried" => {
            d.history();
            // GitHub `concurrency.cancel-in-progress` cancels the deploy job 90 s into Kudu's
            // build, and the new run pushes 10 s later (users-and-peers row 1,
            // webapps-deploy#547). Kudu marks the run Cancelled (-1, facts §1.2) but its lock
            // outlives the client: Linux keeps info.lock until its expiry (§2.3), Windows the
            // winding-down worker's handle (§2.2). The retry gets a real 409, and the scenario
            // is the moment the user looks at it, a minute later. Purge keeps the Cancelled
            // record (it removes only Failed ones, §1.3), so every read order sees the same.
            d.push_async("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%204e8f7aa%20(main)&author=octocat", 4, 240);
            d.advance(90);
            d.kudu.cancel_worker(None);
            d.advance(10);
            d.push_refused("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%204e8f7aa%20(main)%20re-run&author=octocat", 5, name)?;
            d.advance(60);
        }
        "stuck-linux" | "stuck-windows" => {
            d.history();
            d.push_async("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%20e51c9b2%20(main)&author=octocat", 4, 600);
            d.advance(45);
            d.kudu.hang_worker(None);
            // Longer than the core's log-silence threshold (10 min), still inside the Linux
            // lock's 25 minutes: the lock is fresh, only silence says the build stopped.
            d.advance(if name == "stuck-linux" {
                13 * 60
            } else {
                14 * 60
            });
        }
        "stale-lock-linux" => {
            d.history();
            d.push_async("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%20e51c9b2%20(main)&author=octocat", 4, 600);
            d.advance(50);
            d.kudu.hang_worker(None);
            d.kudu.kill_worker(None);
            d.advance(3 * 3600);
            // The user's next push still gets 409.
            d.push_async("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%20e51c9b2%20(main)%20re-run&author=octocat", 5, 90);
            d.advance(10);
        }
        "stale-files-windows" => {
            d.history();
            // Two VS Code deploys killed mid-build (the window was closed), with no list or
            // completed deployment in between to purge their leftovers.
            d.push_async("/api/zipdeploy?isAsync=true&deployer=ms-azuretools-vscode&author=ms-azuretools-vscode", 4, 120);
            d.advance(30);
            d.kudu.kill_worker(None);
            d.advance(10 * 60);
            d.push_async("/api/zipdeploy?isAsync=true&deployer=ms-azuretools-vscode&author=ms-azuretools-vscode", 5, 120);
            d.advance(20);
            d.kudu.kill_worker(None);
            d.advance(15 * 60);
        }
        "status-lock-denied" => {
            d.history();
            // Someone ran a command as root over SSH that recreated status.lock (kudu#3512).
            d.kudu.status_lock_denied = true;
            d.advance(3600);
        }
        "run-from-package-url" => {
            d.history();
            d.kudu.app_settings.insert(
                "WEBSITE_RUN_FROM_PACKAGE".into(),
                "https://stmyappreleases.blob.core.windows.net/releases/app-2026.11.27.zip?sv=2025-05-05&se=2027-01-01T00%3A00%3A00Z&sr=b&sp=r&sig=REDACTED".into(),
            );
            d.advance(3600);
            d.push_async("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%20c0ffee1%20(main)&author=octocat", 4, 90);
            d.advance(5);
        }
        "autoswap" => {
            d.kudu
                .app_settings
                .insert("WEBSITE_SWAP_SLOTNAME".into(), "production".into());
            d.history();
            d.push_async("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%20a5a5a5a%20(main)&author=octocat", 4, 80);
            d.advance(80);
            d.advance(30);
        }
        "scan-underway" => {
            d.history();
            let req = SimRequest::new("POST", "/api/scan/start?timeout=900000");
            let _ = d.kudu.handle(&req);
            d.advance(120);
        }
        "partial-deploy" => {
            d.history();
            d.kudu.fail_next = Some(FailMode::PartialArtifact);
            d.push_async("/api/publish?type=zip&async=true&deployer=OneDeploy", 4, 70);
            d.advance(70);
            d.advance(10 * 60);
        }
        "long-build" => {
            d.history();
            // A big app whose Oryx/KuduScript build takes 40 min (webapps-deploy#547: deploy
            // steps of 28-43 min). Linux: the lock's 1500 s expiry passes at 25 min while the
            // build goes on (no refresh, facts §2.3); nobody has called IsHeld since, so the
            // dir and info.lock with the past lockExpiry are still there.
            d.push_async("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%2077d0c3e%20(main)&author=octocat", 4, 40 * 60);
            d.advance(30 * 60 + 5);
        }
        "quiet-build" => {
            d.history();
            // `pip install` (Linux, Oryx) or `npm ci` (Windows, KuduScript) of a big app on a
            // B1 plan. Linux: 10 min without a log line, 95 s into a 15 min build; the
            // scenario is 8 min into the silence. Windows: 14 min without a log line, 95 s
            // into a 20 min build, and the scenario 12 min into it, past the core's 10-minute
            // log silence: only the build's CPU time (`/api/processes`) shows it alive.
            let (build, quiet, into) = match d.kudu.personality {
                Personality::Linux => (15 * 60, 10 * 60, 8 * 60),
                Personality::Windows => (20 * 60, 14 * 60, 12 * 60),
            };
            d.push_async("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%205b0e4f2%20(main)&author=octocat", 4, build);
            d.advance(95);
            let (line, resume) = quiet_step_lines(d.kudu.personality, quiet);
            d.kudu.quiet_worker(None, quiet, &line, &resume);
            d.advance(into);
        }
        "restarted-holder" => {
            d.history();
            // A GitHub Actions deploy hangs 45 s into its build; 5 min later someone restarts
            // the site. Kudu's restart deletes the lock dir (facts §2.3) with
            // `DeleteDirectorySafe`, which ignores errors; here that delete failed, so
            // info.lock (fresh: 25 min from the hung run's start) survives. The re-run a
            // minute later is the new process's first request (its `_Startup` trace) and gets
            // 409; the scenario is 2 min after that.
            d.push_async("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%20c91e2d0%20(main)&author=octocat", 4, 600);
            d.advance(45);
            d.kudu.hang_worker(None);
            d.advance(5 * 60);
            d.kudu.restart_kudu();
            d.advance(60);
            d.push_refused("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%20c91e2d0%20(main)%20re-run&author=octocat", 5, name)?;
            d.advance(2 * 60);
        }
        "held-elsewhere" => {
            d.history();
            // The push that hangs reached the second instance (its client was pinned there,
            // as az and webapps-deploy pin one); everything else lands on the first.
            d.kudu.enter_instance(1);
            d.push_async("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%207a3c9e1%20(main)&author=octocat", 4, 600);
            d.advance(45);
            d.kudu.hang_worker(None);
            d.kudu.enter_instance(0);
            d.advance(14 * 60);
        }
        "two-outputs" => {
            d.history();
            // A newer Oryx writes output.tar.zst, then the deploy fails before the manifest
            // names it (Azure/app-service-linux-docs#263): the older output.tar.gz stays.
            d.kudu.fail_next = Some(FailMode::OutputBesideOld);
            d.push_async("/api/publish?type=zip&async=true&deployer=OneDeploy", 4, 70);
            d.advance(70);
            d.advance(10 * 60);
        }
        "flex-consumption" => {
            // Flex Consumption deploys through /api/publish only (README "Flex Consumption").
            d.push_async(
                "/api/publish?async=true&RemoteBuild=true&Deployer=core_tools&author=build-agent",
                1,
                140,
            );
            d.advance(140);
            d.advance(26 * 3600);
            d.push_async("/api/publish?async=true&RemoteBuild=true&Deployer=az_cli&author=jane%40contoso.com", 2, 150);
            d.advance(150);
            d.advance(3 * 3600);
            d.push_async(
                "/api/publish?async=true&RemoteBuild=true&Deployer=core_tools&author=build-agent",
                3,
                120,
            );
            d.advance(120);
            d.advance(4 * 3600 + 12 * 60);
            // Core Tools publishes with a remote build; 20 s later a second pipeline's az
            // publish arrives while it builds and is recorded Conflict (status 5).
            d.push_async(
                "/api/publish?async=true&RemoteBuild=true&Deployer=core_tools&author=build-agent",
                4,
                300,
            );
            d.advance(20);
            d.push_async("/api/publish?async=true&RemoteBuild=true&Deployer=az_cli&author=jane%40contoso.com", 5, 300);
            d.advance(40);
        }
        "session-expired" => {
            d.history();
            effects.expire_sessions = true;
        }
        _ => return Err(format!("scenario '{name}' has no driver")),
    }
    Ok(effects)
}

struct Driver<'a> {
    kudu: &'a mut Kudu,
}

impl Driver<'_> {
    fn advance(&mut self, secs: i64) {
        let jitter = self.kudu.jitter_ticks();
        let to = crate::time::VTime(self.kudu.now.plus_secs(secs).0 + jitter);
        self.kudu.advance_to(to);
    }

    /// Earlier successful deployments from three tools, a day and hours apart.
    fn history(&mut self) {
        self.push_async("/api/zipdeploy?isAsync=true&deployer=GITHUB_ZIP_DEPLOY&message=Deploy%203f1d2c4%20(main)&author=octocat", 1, 95);
        self.advance(95);
        self.advance(27 * 3600);
        self.push_async("/api/zipdeploy?isAsync=true&trackDeploymentId=true&deployer=ms-azuretools-vscode&author=ms-azuretools-vscode", 2, 48);
        self.advance(48);
        self.advance(5 * 3600);
        self.push_async("/api/publish?type=zip&async=true&message=az%20webapp%20deploy&author=jane%40contoso.com", 3, 130);
        self.advance(130);
        self.advance(2 * 3600 + 17 * 60);
    }

    fn push(&mut self, path: &str, version: u32, build_secs: u64) -> Reply {
        let previous = self.kudu.build_ms;
        self.kudu.build_ms = build_secs * 1000;
        // Through the request pipeline, so Kudu traces it like any push (README "Trace files").
        let req = SimRequest::new("POST", path).with_body(app_zip(version));
        let reply = self.kudu.handle(&req);
        self.kudu.build_ms = previous;
        reply
    }

    /// A push the scenario needs refused with 409 (a re-run while the lock is held).
    fn push_refused(&mut self, path: &str, version: u32, scenario: &str) -> Result<(), String> {
        match self.push(path, version, 90) {
            Reply::Now(resp) if resp.status == 409 => Ok(()),
            _ => Err(format!("{scenario}: the re-run did not get 409")),
        }
    }

    fn push_async(&mut self, path: &str, version: u32, build_secs: u64) {
        let _ = self.push(path, version, build_secs);
    }

    fn push_sync(&mut self, path: &str, version: u32, build_secs: u64) {
        let _ = self.push(path, version, build_secs);
    }
}

/// The build output around a silent step of `secs` seconds: Oryx's `pip install` on Linux,
/// KuduScript's `npm ci` on Windows (build-tool text, not a Kudu fact).
pub(crate) fn quiet_step_lines(personality: Personality, secs: i64) -> (String, String) {
    match personality {
        Personality::Linux => (
            "Running pip install...".into(),
            format!("Done in {secs} sec(s)."),
        ),
        Personality::Windows => (
            "Running 'npm ci'...".into(),
            format!(
                "added 1432 packages, and audited 1433 packages in {}m",
                (secs + 59) / 60
            ),
        ),
    }
}

/// A small web app, version `version`.
pub fn app_zip(version: u32) -> Vec<u8> {
    let index = format!(
        "<!DOCTYPE html>\n<html><head><title>My App</title><script src=\"app.js\"></script></head><body><h1>My App v{version}</h1></body></html>\n"
    );
    let app = format!("console.log('my app v{version}');\n");
    let package = format!(
        "{{\n  \"name\": \"my-app\",\n  \"version\": \"1.{version}.0\",\n  \"scripts\": {{ \"start\": \"node server.js\" }}\n}}\n"
    );
    zip_files(&[
        ("index.html", index.as_bytes()),
        ("app.js", app.as_bytes()),
        ("package.json", package.as_bytes()),
    ])
}
