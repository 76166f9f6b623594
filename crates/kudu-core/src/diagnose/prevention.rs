//! Stopping the next 409: which tools collided on this site, according to its own deployment
//! history, and the pipeline change that serialises them.
//!
//! Pure: it reads a finished [`Diagnosis`] (its timeline, lock and findings) and never looks at
//! anything else, so the wizard, the command line and the Markdown report show the same words.
//! Tools are recognised from Kudu's `deployer` field (kudu-facts §1.2: `GitHub`,
//! `GITHUB_ZIP_DEPLOY`, `VSTS…`, `ms-azuretools-vscode`, `az_cli_functions`, `core_tools`, and
//! the defaults `ZipDeploy`, `Push-Deployer`, `OneDeploy` when a client names none). The advice
//! follows users-and-peers C2/C3: a GitHub `concurrency` group with `cancel-in-progress: false`,
//! an Azure DevOps Exclusive Lock check with `lockBehavior: sequential`, and for different tools
//! a plain note on who deployed when plus the `kudu-doctor wait` guard.

use serde::Serialize;

use crate::diagnose::facts::timeline::{colliding_pairs, display_id};
use crate::diagnose::facts::wording::clock;
use crate::diagnose::{CauseId, Diagnosis, LockState, TimelineEntry};
use crate::model::{DeployStatus, Personality};
use crate::time::Timestamp;

/// At most this many collisions are named; the newest are kept (older ones say nothing new).
pub const MAX_COLLISIONS: usize = 5;

/// At most this many cancelled runs are named, the newest kept.
pub const MAX_CANCELLED: usize = 3;

/// The CI guard's timeout: a Linux lock lives 25 minutes, but a guard that waits that long
/// hides a stuck lock; 15 minutes covers a normal deployment and then points at the wizard.
pub const GUARD_TIMEOUT: &str = "15m";

/// What deployed, recognised from the `deployer` field.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployTool {
    /// `azure/webapps-deploy`, `azure/functions-action` and other GitHub Actions.
    GitHubActions,
    /// Azure Pipelines tasks (`VSTS`, `VSTS_ZIP_DEPLOY`, `Azure DevOps`).
    AzureDevOps,
    /// The Azure App Service extension for VS Code (`ms-azuretools-vscode`).
    VsCode,
    /// `az` commands that name themselves (`az_cli_functions`).
    AzureCli,
    /// `func azure functionapp publish` (`core_tools`).
    FunctionsCoreTools,
    /// Kudu's defaults when the client names no tool (`ZipDeploy`, `Push-Deployer`,
    /// `OneDeploy`): the portal, `az webapp deploy`, Visual Studio or a script.
    UnnamedPush,
    /// Anything else; the deployer's own name is shown.
    Other,
}

impl DeployTool {
    /// Recognises a tool from Kudu's `deployer` field (case-insensitive, substrings).
    pub fn classify(deployer: &str) -> DeployTool {
        let d = deployer.trim().to_ascii_lowercase();
        let has = |needle: &str| d.contains(needle);
        if has("github") {
            DeployTool::GitHubActions
        } else if has("vsts")
            || has("azure devops")
            || has("azuredevops")
            || has("azure pipelines")
            || has("azure_pipelines")
        {
            DeployTool::AzureDevOps
        } else if has("vscode") || has("visual studio code") {
            DeployTool::VsCode
        } else if d.starts_with("az_cli") || d == "azcli" || has("azure-cli") || has("azure cli") {
            DeployTool::AzureCli
        } else if has("core_tools") || has("core-tools") {
            DeployTool::FunctionsCoreTools
        } else if d.is_empty()
            || matches!(
                d.as_str(),
                "zipdeploy" | "push-deployer" | "onedeploy" | "n/a"
            )
        {
            DeployTool::UnnamedPush
        } else {
            DeployTool::Other
        }
    }

    /// The stable id (`github-actions`), for `data-` attributes and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DeployTool::GitHubActions => "github-actions",
            DeployTool::AzureDevOps => "azure-devops",
            DeployTool::VsCode => "vs-code",
            DeployTool::AzureCli => "azure-cli",
            DeployTool::FunctionsCoreTools => "functions-core-tools",
            DeployTool::UnnamedPush => "unnamed-push",
            DeployTool::Other => "other",
        }
    }

    /// The tool as people call it.
    pub fn name(self) -> &'static str {
        match self {
            DeployTool::GitHubActions => "GitHub Actions",
            DeployTool::AzureDevOps => "Azure DevOps",
            DeployTool::VsCode => "VS Code",
            DeployTool::AzureCli => "the Azure CLI",
            DeployTool::FunctionsCoreTools => "Azure Functions Core Tools",
            DeployTool::UnnamedPush => {
                "a zip push naming no tool (portal, az webapp deploy or a script)"
            }
            DeployTool::Other => "another tool",
        }
    }

    /// A CI system, where a pipeline change can serialise deployments.
    pub fn is_ci(self) -> bool {
        matches!(self, DeployTool::GitHubActions | DeployTool::AzureDevOps)
    }
}

/// One deployment that took part in a collision or a cancel.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Party {
    pub tool: DeployTool,
    /// Kudu's `deployer` field as it was.
    pub deployer: String,
    /// Kudu's `author`, `None` when empty or `N/A`.
    pub author: Option<String>,
    pub deployment_id: String,
    pub begin: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub status: DeployStatus,
}

impl Party {
    fn of(entry: &TimelineEntry) -> Party {
        let d = &entry.deployment;
        let author = d.author.trim();
        Party {
            tool: DeployTool::classify(&d.deployer),
            deployer: d.deployer.clone(),
            author: (!author.is_empty() && !author.eq_ignore_ascii_case("n/a"))
                .then(|| author.to_string()),
            deployment_id: display_id(d),
            begin: entry.begin,
            end: entry.end,
            status: d.status,
        }
    }

    /// `GitHub Actions (run by octocat)`, `the Azure CLI (deployer az_cli_functions)`.
    pub fn label(&self) -> String {
        let tool = match self.tool {
            DeployTool::Other => format!("deployer '{}'", self.deployer),
            tool => tool.name().to_string(),
        };
        match (&self.author, self.tool) {
            (Some(author), _) => format!("{tool} (run by {author})"),
            (None, DeployTool::Other) => tool,
            (None, _) if self.deployer.is_empty() => tool,
            (None, _) => format!("{tool} (deployer {})", self.deployer),
        }
    }

    /// `began 22:21:38 UTC, still running` or `began …, ended … (cancelled)`.
    fn when(&self, now: Timestamp) -> String {
        let began = self.begin.map_or_else(
            || "began at an unknown time".into(),
            |t| format!("began {}", clock(t, now)),
        );
        match self.end {
            Some(end) => format!(
                "{began}, ended {} ({})",
                clock(end, now),
                self.status.as_str()
            ),
            None if self.status.is_running() => format!("{began}, still running"),
            None => format!("{began} ({})", self.status.as_str()),
        }
    }
}

/// Two deployments from different pushes that ran at the same time.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Collision {
    pub first: Party,
    pub second: Party,
    /// When they started overlapping (the later begin).
    pub at: Option<Timestamp>,
    /// `GitHub Actions (run by octocat) and the Azure CLI (…) overlapped at 22:21:43 UTC.`
    pub sentence: String,
}

impl Collision {
    /// Both deployments came from the same tool (two workflow runs, two releases).
    pub fn same_tool(&self) -> bool {
        self.first.tool == self.second.tool
    }
}

/// A deployment that was cancelled (or died mid-way) with another one right after it.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct CancelledRun {
    pub cancelled: Party,
    pub retried_by: Option<Party>,
    pub sentence: String,
}

/// One change that keeps deployments to this app from colliding.
#[derive(Clone, PartialEq, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fix {
    /// A GitHub Actions `concurrency` group on every deploy job.
    GitHubConcurrency { snippet: String, why: String },
    /// Azure DevOps: the Exclusive Lock check on the environment, and `lockBehavior`.
    AzureDevOpsExclusiveLock {
        /// Where to click in Azure DevOps.
        click_path: String,
        snippet: String,
        why: String,
    },
    /// Different tools deployed: who deployed when, in plain words.
    OneToolAtATime { note: String, who_when: Vec<String> },
    /// `kudu-doctor wait` right before the deploy step.
    WaitGuard {
        command: String,
        snippet: String,
        why: String,
    },
}

impl Fix {
    /// The stable id (`github-concurrency`), for `data-fix` attributes.
    pub fn as_str(&self) -> &'static str {
        match self {
            Fix::GitHubConcurrency { .. } => "github-concurrency",
            Fix::AzureDevOpsExclusiveLock { .. } => "azure-devops-exclusive-lock",
            Fix::OneToolAtATime { .. } => "one-tool-at-a-time",
            Fix::WaitGuard { .. } => "wait-guard",
        }
    }
}

/// How long to wait after a cancel before deploying again, on this OS.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct RetryWait {
    pub personality: Personality,
    /// Linux: when the lock expires by itself; `None` on Windows (no timer) or when free.
    pub until: Option<Timestamp>,
    pub advice: String,
}

/// What the site's history says about preventing the next 409.
#[derive(Clone, PartialEq, Debug, Serialize, Default)]
pub struct Prevention {
    /// Oldest first, at most [`MAX_COLLISIONS`].
    pub collisions: Vec<Collision>,
    /// Oldest first, at most [`MAX_CANCELLED`].
    pub cancelled: Vec<CancelledRun>,
    /// In the order to apply them; empty when the history says nothing specific.
    pub fixes: Vec<Fix>,
}

impl Prevention {
    /// Whether the history named something specific (otherwise show generic advice).
    pub fn is_specific(&self) -> bool {
        !self.collisions.is_empty() || !self.cancelled.is_empty()
    }

    /// One sentence naming what collided, for headlines.
    pub fn headline(&self) -> Option<String> {
        if let Some(c) = self.collisions.last() {
            let more = self.collisions.len() - 1;
            return Some(if more == 0 {
                c.sentence.clone()
            } else {
                format!(
                    "{} ({more} earlier overlap(s) too.)",
                    c.sentence.trim_end_matches('.')
                )
            });
        }
        self.cancelled.last().map(|c| c.sentence.clone())
    }
}

/// Where the site is, for the snippets: its name (`WEBSITE_SITE_NAME` or the SCM host's first
/// label) and the SCM URL the guard should wait on.
#[derive(Clone, Copy, Debug, Default)]
pub struct SiteRef<'a> {
    pub name: Option<&'a str>,
    pub scm_url: Option<&'a str>,
}

/// Reads the diagnosis's history for collisions and cancels and builds the fixes.
pub fn prevention(diagnosis: &Diagnosis, site: SiteRef<'_>) -> Prevention {
    let now = diagnosis.now;
    let collisions = collisions(&diagnosis.timeline.entries, now);
    let cancelled = if diagnosis.has(CauseId::CancelledThenRetried) {
        cancelled_runs(&diagnosis.timeline.entries, now)
    } else {
        vec![]
    };
    let mut prevention = Prevention {
        collisions,
        cancelled,
        fixes: vec![],
    };
    prevention.fixes = fixes(&prevention, site, now);
    prevention
}

/// On Linux, until the cancelled run's lock expires (the lock report's expiry); on Windows,
/// until the process holding the lock ends (kudu-facts §2.2: no timer, a stale file never
/// blocks). `None` unless the diagnosis names `cancelled-then-retried`.
pub fn retry_wait(diagnosis: &Diagnosis) -> Option<RetryWait> {
    if !diagnosis.has(CauseId::CancelledThenRetried) {
        return None;
    }
    let lock = &diagnosis.lock;
    let now = diagnosis.now;
    let held = matches!(
        lock.state,
        LockState::Live | LockState::Orphaned | LockState::Held
    );
    let (until, advice) = match diagnosis.personality {
        Personality::Windows if held => (
            None,
            "On Windows the deployment lock has no expiry: Kudu releases it the moment the process \
             holding it ends, so there is no timer to wait out. Give the cancelled run a few \
             minutes to end; if the lock is still held after that, restart Kudu (the SCM site \
             only), which ends the process. Then deploy once."
                .to_string(),
        ),
        Personality::Windows => (
            None,
            "On Windows a lock file nobody holds never blocks, and no process holds one now: \
             deploy once, now."
                .to_string(),
        ),
        _ => match lock.expires.filter(|e| held && *e > now) {
            Some(expires) => (
                Some(expires),
                format!(
                    "On Linux the cancelled run's lock lets go by itself when it expires at {} \
                     (25 minutes after it was taken){}. Deploy once after that; every retry \
                     before then gets 409.",
                    clock(expires, now),
                    lock.acquired
                        .map(|a| format!("; it was taken at {}", clock(a, now)))
                        .unwrap_or_default()
                ),
            ),
            None if held => (
                None,
                "On Linux a lock lives at most 25 minutes; its expiry could not be read, so \
                 wait up to 25 minutes from the cancelled run's start, then deploy once."
                    .to_string(),
            ),
            None => (
                None,
                "No deployment lock blocks now (it was released or has expired): deploy once, \
                 now."
                    .to_string(),
            ),
        },
    };
    Some(RetryWait {
        personality: diagnosis.personality,
        until,
        advice,
    })
}

/// `kudu-doctor wait <origin> --timeout 15m`; the URL is reduced to scheme and host so no path,
/// query or credentials end up in a pipeline file.
pub fn guard_command(scm_url: Option<&str>) -> String {
    let origin = scm_url
        .and_then(scm_origin)
        .unwrap_or_else(|| "https://<app>.scm.azurewebsites.net".to_string());
    format!("kudu-doctor wait {origin} --timeout {GUARD_TIMEOUT}")
}

/// A GitHub Actions step (or an Azure DevOps one) running the guard before the deploy.
pub fn guard_snippet(scm_url: Option<&str>, tool: DeployTool) -> String {
    let command = guard_command(scm_url);
    if tool == DeployTool::AzureDevOps {
        format!(
            "- script: {command}\n  displayName: Wait until the SCM site is free to deploy\n  env:\n    \
             KUDU_USERNAME: $(KuduUsername)\n    KUDU_PASSWORD: $(KuduPassword)\n"
        )
    } else {
        format!(
            "- name: Wait until the SCM site is free to deploy\n  env:\n    \
             KUDU_USERNAME: ${{{{ secrets.KUDU_USERNAME }}}}\n    \
             KUDU_PASSWORD: ${{{{ secrets.KUDU_PASSWORD }}}}\n  run: {command}\n"
        )
    }
}

/// The `concurrency` block for the deploy job. The group is per app so every workflow that
/// deploys to it queues in one line; a name that is not a plain App Service name is not put
/// into the user's workflow file.
pub fn concurrency_snippet(site_name: Option<&str>) -> String {
    let group = plain_site_name(site_name).map_or_else(
        || "deploy-${{ github.workflow }}".to_string(),
        |name| format!("deploy-{name}"),
    );
    format!(
        "jobs:\n  deploy:\n    # Same group in every workflow that deploys this app.\n    \
         concurrency:\n      group: {group}\n      cancel-in-progress: false\n"
    )
}

/// The Azure DevOps pipeline side of the Exclusive Lock check.
pub fn exclusive_lock_snippet(site_name: Option<&str>) -> String {
    let environment = plain_site_name(site_name).unwrap_or("production");
    format!(
        "lockBehavior: sequential  # queue runs; runLatest would cancel waiting ones\n\
         stages:\n- stage: Deploy\n  jobs:\n  - deployment: Deploy\n    \
         environment: {environment}  # the environment with the Exclusive Lock check\n"
    )
}

/// Why `cancel-in-progress` must stay false, in one place for every advice that says it.
pub const CANCEL_IN_PROGRESS_WHY: &str = "cancel-in-progress: false queues a new run behind the \
     running one. With true, GitHub cancels a run while Kudu is still deploying it, and the \
     cancelled run's lock makes the next one fail with 409 (up to 25 minutes on Linux).";

/// The sentence's first letter in upper case (`the Azure CLI …` opens as `The Azure CLI …`).
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn plain_site_name(site_name: Option<&str>) -> Option<&str> {
    site_name.filter(|name| {
        !name.is_empty()
            && name.len() <= 60
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// `scheme://host[:port]` of an http(s) URL whose host is plain (letters, digits, `.-`).
fn scm_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains('@') || authority.is_empty() {
        return None;
    }
    let plain = authority
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    plain.then(|| format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// The colliding pairs (`timeline::colliding_pairs`, the rule the `parallel-deployments` cause
/// uses), newest last; sentences are written for the kept pairs only.
fn collisions(entries: &[TimelineEntry], now: Timestamp) -> Vec<Collision> {
    let mut pairs: Vec<(Option<Timestamp>, usize, usize)> = colliding_pairs(entries)
        .into_iter()
        .map(|(i, j)| (entries[i].begin.max(entries[j].begin), i, j))
        .collect();
    pairs.sort_by_key(|(at, _, _)| *at);
    let drop = pairs.len().saturating_sub(MAX_COLLISIONS);
    pairs
        .drain(drop..)
        .map(|(at, i, j)| {
            let (first, second) = (Party::of(&entries[i]), Party::of(&entries[j]));
            let sentence = format!(
                "{} and {} overlapped{}.",
                capitalised(&first.label()),
                second.label(),
                at.map(|t| format!(" at {}", clock(t, now)))
                    .unwrap_or_default()
            );
            Collision {
                first,
                second,
                at,
                sentence,
            }
        })
        .collect()
}

/// Cancelled (or died mid-way and followed soon after) deployments and who came next.
fn cancelled_runs(entries: &[TimelineEntry], now: Timestamp) -> Vec<CancelledRun> {
    let real: Vec<&TimelineEntry> = entries.iter().filter(|e| !e.deployment.temp).collect();
    let mut out = vec![];
    for (i, e) in real.iter().enumerate() {
        let d = &e.deployment;
        let cancelled = matches!(d.status, DeployStatus::Cancelled | DeployStatus::Conflict);
        if !(cancelled || (e.died_mid_deploy && e.ended_unsuccessfully_before_next)) {
            continue;
        }
        let party = Party::of(e);
        let next = real[i + 1..]
            .iter()
            .find(|n| n.deployment.id != d.id)
            .map(|n| Party::of(n));
        let sentence = format!(
            "{} was {}: deployment {} {}{}.",
            capitalised(&party.label()),
            if cancelled {
                "cancelled"
            } else {
                "stopped mid-deployment"
            },
            party.deployment_id,
            party.when(now),
            next.as_ref()
                .map(|n| format!("; then {} deployed ({})", n.label(), n.when(now)))
                .unwrap_or_default()
        );
        out.push(CancelledRun {
            cancelled: party,
            retried_by: next,
            sentence,
        });
    }
    let drop = out.len().saturating_sub(MAX_CANCELLED);
    out.drain(..drop);
    out
}

fn fixes(p: &Prevention, site: SiteRef<'_>, now: Timestamp) -> Vec<Fix> {
    // The collisions and cancels are listed above the fixes; the reasons only say why each
    // fix answers them, once each.
    let mut github_why: Vec<&str> = vec![];
    let mut devops_why: Vec<&str> = vec![];
    let mut cross_tool = vec![];
    let add = |list: &mut Vec<&'static str>, why: &'static str| {
        if !list.contains(&why) {
            list.push(why);
        }
    };
    for c in &p.collisions {
        match (c.same_tool(), c.first.tool) {
            (true, DeployTool::GitHubActions) => add(
                &mut github_why,
                "Two GitHub runs deployed at once; one concurrency group for every deploy job \
                 makes the second wait for the first.",
            ),
            (true, DeployTool::AzureDevOps) => add(
                &mut devops_why,
                "Two Azure DevOps runs deployed at once; an Exclusive Lock on the environment \
                 lets one run at a time deploy.",
            ),
            _ => cross_tool.push(c),
        }
    }
    for c in &p.cancelled {
        match c.cancelled.tool {
            DeployTool::GitHubActions => add(
                &mut github_why,
                "A cancel-in-progress group (or a manual cancel) stopped a run while Kudu was \
                 still deploying it.",
            ),
            DeployTool::AzureDevOps => add(
                &mut devops_why,
                "A run was cancelled while Kudu was still deploying it: lockBehavior: sequential \
                 queues runs, where runLatest cancels the waiting ones.",
            ),
            _ => {}
        }
    }
    let mut fixes = vec![];
    if !github_why.is_empty() {
        github_why.push(CANCEL_IN_PROGRESS_WHY);
        fixes.push(Fix::GitHubConcurrency {
            snippet: concurrency_snippet(site.name),
            why: github_why.join(" "),
        });
    }
    if !devops_why.is_empty() {
        let environment = plain_site_name(site.name).unwrap_or("<your environment>");
        fixes.push(Fix::AzureDevOpsExclusiveLock {
            click_path: format!(
                "Pipelines > Environments > {environment} > Approvals and checks > + > Exclusive Lock"
            ),
            snippet: exclusive_lock_snippet(site.name),
            why: devops_why.join(" "),
        });
    }
    if !cross_tool.is_empty() {
        let mut who_when: Vec<(Option<Timestamp>, String)> = vec![];
        for c in &cross_tool {
            for party in [&c.first, &c.second] {
                let line = format!(
                    "{}: deployment {} {}",
                    party.label(),
                    party.deployment_id,
                    party.when(now)
                );
                if !who_when.iter().any(|(_, l)| *l == line) {
                    who_when.push((party.begin, line));
                }
            }
        }
        who_when.sort_by_key(|(at, _)| *at);
        let ci_tools = cross_tool
            .iter()
            .flat_map(|c| [c.first.tool, c.second.tool])
            .filter(|t| t.is_ci())
            .count();
        fixes.push(Fix::OneToolAtATime {
            note: format!(
                "Different tools deployed to this app at the same time, and no pipeline setting \
                 spans two tools. Agree on one way to deploy (for example only CI), or make sure \
                 nobody deploys by hand while a pipeline runs{}.",
                if ci_tools > 0 {
                    "; the pipeline can wait for the site to be free first (below)"
                } else {
                    ""
                }
            ),
            who_when: who_when.into_iter().map(|(_, line)| line).collect(),
        });
    }
    if p.is_specific() {
        let seen = |tool| {
            p.collisions
                .iter()
                .flat_map(|c| [c.first.tool, c.second.tool])
                .chain(p.cancelled.iter().map(|c| c.cancelled.tool))
                .any(|t| t == tool)
        };
        let tool = if seen(DeployTool::AzureDevOps) && !seen(DeployTool::GitHubActions) {
            DeployTool::AzureDevOps
        } else {
            DeployTool::GitHubActions
        };
        fixes.push(Fix::WaitGuard {
            command: guard_command(site.scm_url),
            snippet: guard_snippet(site.scm_url, tool),
            why: "Put this step right before the deploy step: it blocks until nothing is \
                  deploying and no live lock is held, so the deploy never starts into a 409; it \
                  exits non-zero after 15 minutes with what still holds the site."
                .to_string(),
        });
    }
    fixes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::diagnose;
    use crate::diagnose::test_session::*;

    #[test]
    fn a_huge_overlapping_history_keeps_the_newest_collisions() {
        let deployments: Vec<_> = (0..crate::diagnose::TIMELINE_MAX_ENTRIES as i64)
            .map(|i| {
                let deployer = if i % 2 == 0 { "GitHub" } else { "VSTS" };
                deployment(
                    &format!("d{i}"),
                    DeployStatus::Building,
                    deployer,
                    Timestamp::from_unix_millis(i * 120_000),
                    None,
                )
            })
            .collect();
        let mut site = Site::linux();
        for d in deployments {
            site = site.deployment(d);
        }
        let d = diagnose(&site.build(), Timestamp::from_unix_millis(100_000_000));
        let p = prevention(&d, SiteRef::default());
        assert_eq!(p.collisions.len(), MAX_COLLISIONS);
        let last = p.collisions.last().unwrap();
        assert_eq!(last.second.deployment_id, "d249");
    }

    #[test]
    fn deployers_are_recognised() {
        for (deployer, tool) in [
            ("GitHub", DeployTool::GitHubActions),
            ("GITHUB_ZIP_DEPLOY", DeployTool::GitHubActions),
            ("GITHUB_ONE_DEPLOY", DeployTool::GitHubActions),
            ("VSTS", DeployTool::AzureDevOps),
            ("VSTS_ZIP_DEPLOY", DeployTool::AzureDevOps),
            ("Azure DevOps", DeployTool::AzureDevOps),
            ("ms-azuretools-vscode", DeployTool::VsCode),
            ("az_cli_functions", DeployTool::AzureCli),
            ("core_tools", DeployTool::FunctionsCoreTools),
            ("ZipDeploy", DeployTool::UnnamedPush),
            ("Push-Deployer", DeployTool::UnnamedPush),
            ("OneDeploy", DeployTool::UnnamedPush),
            ("", DeployTool::UnnamedPush),
            ("Bitbucket", DeployTool::Other),
        ] {
            assert_eq!(DeployTool::classify(deployer), tool, "{deployer}");
        }
    }

    #[test]
    fn two_github_runs_get_the_concurrency_block_and_no_cross_tool_note() {
        let mut a = deployment(
            "a0a0",
            DeployStatus::Success,
            "GitHub",
            at(10, 0, 0),
            Some(at(10, 6, 0)),
        );
        a.author = "octocat".into();
        let mut b = deployment(
            "b0b0",
            DeployStatus::Failed,
            "GITHUB_ZIP_DEPLOY",
            at(10, 2, 0),
            Some(at(10, 3, 0)),
        );
        b.author = "hubot".into();
        let s = Site::linux().deployment(a).deployment(b).build();
        let p = prevention(
            &diagnose(&s, at(12, 0, 0)),
            SiteRef {
                name: Some("myapp"),
                scm_url: None,
            },
        );
        assert_eq!(p.collisions.len(), 1);
        assert_eq!(
            p.collisions[0].sentence,
            "GitHub Actions (run by octocat) and GitHub Actions (run by hubot) overlapped at 10:02:00 UTC."
        );
        let kinds: Vec<_> = p.fixes.iter().map(Fix::as_str).collect();
        assert_eq!(kinds, ["github-concurrency", "wait-guard"]);
        let Fix::GitHubConcurrency { snippet, why } = &p.fixes[0] else {
            unreachable!()
        };
        assert!(
            snippet.contains("group: deploy-myapp\n      cancel-in-progress: false"),
            "{snippet}"
        );
        assert!(why.contains("cancel-in-progress: false"), "{why}");
        assert!(why.starts_with("Two GitHub runs deployed at once"), "{why}");
    }

    #[test]
    fn two_devops_releases_get_the_exclusive_lock() {
        let a = deployment(
            "a0a0",
            DeployStatus::Success,
            "VSTS",
            at(10, 0, 0),
            Some(at(10, 6, 0)),
        );
        let b = deployment(
            "b0b0",
            DeployStatus::Failed,
            "VSTS_ZIP_DEPLOY",
            at(10, 2, 0),
            Some(at(10, 3, 0)),
        );
        let s = Site::windows().deployment(a).deployment(b).build();
        let p = prevention(&diagnose(&s, at(12, 0, 0)), SiteRef::default());
        let Fix::AzureDevOpsExclusiveLock {
            click_path,
            snippet,
            ..
        } = &p.fixes[0]
        else {
            panic!("{:?}", p.fixes)
        };
        assert!(
            click_path.starts_with("Pipelines > Environments > "),
            "{click_path}"
        );
        assert!(click_path.ends_with("Approvals and checks > + > Exclusive Lock"));
        assert!(snippet.contains("lockBehavior: sequential"));
        let Fix::WaitGuard { snippet, .. } = &p.fixes[1] else {
            panic!()
        };
        assert!(
            snippet.starts_with("- script: kudu-doctor wait"),
            "{snippet}"
        );
    }

    #[test]
    fn github_and_devops_together_are_named_with_who_deployed_when() {
        let mut a = deployment(
            "a0a0",
            DeployStatus::Success,
            "GitHub",
            at(10, 0, 0),
            Some(at(10, 6, 0)),
        );
        a.author = "dana".into();
        let mut b = deployment(
            "b0b0",
            DeployStatus::Failed,
            "VSTS",
            at(10, 2, 0),
            Some(at(10, 3, 0)),
        );
        b.author = "lee".into();
        let s = Site::linux().deployment(a).deployment(b).build();
        let p = prevention(
            &diagnose(&s, at(12, 0, 0)),
            SiteRef {
                name: Some("myapp"),
                scm_url: Some("https://user:pw@myapp.scm.azurewebsites.net/api/x?sig=1"),
            },
        );
        assert_eq!(
            p.headline().as_deref(),
            Some(
                "GitHub Actions (run by dana) and Azure DevOps (run by lee) overlapped at 10:02:00 UTC."
            )
        );
        let kinds: Vec<_> = p.fixes.iter().map(Fix::as_str).collect();
        assert_eq!(kinds, ["one-tool-at-a-time", "wait-guard"]);
        let Fix::OneToolAtATime { who_when, .. } = &p.fixes[0] else {
            unreachable!()
        };
        assert_eq!(
            who_when,
            &[
                "GitHub Actions (run by dana): deployment a0a0 began 10:00:00 UTC, ended 10:06:00 UTC (success)",
                "Azure DevOps (run by lee): deployment b0b0 began 10:02:00 UTC, ended 10:03:00 UTC (failed)",
            ]
        );
        // Credentials and paths in the URL never reach the snippet.
        let Fix::WaitGuard { command, .. } = &p.fixes[1] else {
            unreachable!()
        };
        assert_eq!(
            command,
            "kudu-doctor wait https://<app>.scm.azurewebsites.net --timeout 15m"
        );
    }

    #[test]
    fn a_quiet_history_is_not_specific() {
        let s = Site::linux()
            .deployment(deployment(
                "a0a0",
                DeployStatus::Success,
                "GitHub",
                at(10, 0, 0),
                Some(at(10, 2, 0)),
            ))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Success,
                "VSTS",
                at(10, 3, 0),
                Some(at(10, 4, 0)),
            ))
            .build();
        let p = prevention(&diagnose(&s, at(12, 0, 0)), SiteRef::default());
        assert!(!p.is_specific());
        assert!(p.fixes.is_empty());
        assert_eq!(p.headline(), None);
    }

    #[test]
    fn a_cancelled_github_run_gets_the_concurrency_block_and_the_linux_wait() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 55, 0))
            .deployment(deployment(
                "d0d0",
                DeployStatus::Cancelled,
                "GITHUB_ONE_DEPLOY",
                at(11, 55, 1),
                Some(at(11, 57, 0)),
            ))
            .build();
        let d = diagnose(&s, at(12, 0, 0));
        let p = prevention(
            &d,
            SiteRef {
                name: Some("myapp"),
                scm_url: Some("https://myapp.scm.azurewebsites.net"),
            },
        );
        assert_eq!(p.cancelled.len(), 1);
        assert!(
            p.cancelled[0]
                .sentence
                .starts_with("GitHub Actions (deployer GITHUB_ONE_DEPLOY) was cancelled"),
            "{}",
            p.cancelled[0].sentence
        );
        let kinds: Vec<_> = p.fixes.iter().map(Fix::as_str).collect();
        assert_eq!(kinds, ["github-concurrency", "wait-guard"]);
        let Fix::WaitGuard { command, .. } = &p.fixes[1] else {
            unreachable!()
        };
        assert_eq!(
            command,
            "kudu-doctor wait https://myapp.scm.azurewebsites.net --timeout 15m"
        );
        let wait = retry_wait(&d).unwrap();
        assert_eq!(wait.until, Some(at(12, 20, 0)));
        assert!(
            wait.advice.contains("expires at 12:20:00 UTC"),
            "{}",
            wait.advice
        );
    }

    #[test]
    fn windows_has_no_timer_to_wait_out() {
        let s = Site::windows()
            .list_lock(file("deployments.lock", at(11, 55, 0)))
            .deployment(deployment(
                "d0d0",
                DeployStatus::Cancelled,
                "GitHub",
                at(11, 55, 1),
                Some(at(11, 57, 0)),
            ))
            .build();
        let d = diagnose(&s, at(12, 0, 0));
        let wait = retry_wait(&d).unwrap();
        assert_eq!(wait.until, None);
        assert!(wait.advice.contains("no expiry"), "{}", wait.advice);
        assert!(retry_wait(&diagnose(&Site::windows().build(), at(12, 0, 0))).is_none());
    }

    #[test]
    fn hostile_site_names_stay_out_of_snippets() {
        assert!(
            concurrency_snippet(Some("x\n  cancel-in-progress: true"))
                .contains("deploy-${{ github.workflow }}")
        );
        assert!(exclusive_lock_snippet(Some("a b")).contains("environment: production"));
        assert_eq!(scm_origin("javascript:alert(1)"), None);
        assert_eq!(
            scm_origin("http://127.0.0.1:8443/x?y"),
            Some("http://127.0.0.1:8443".into())
        );
    }
}
