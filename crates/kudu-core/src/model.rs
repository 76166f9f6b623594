//! Domain types: what Kudu told us, normalised. These are not wire types; `parse` converts
//! Kudu's JSON (in all its real-world shapes) into them.

use serde::Serialize;

use crate::time::Timestamp;

/// Which Kudu we are talking to. Detected from replies, never guessed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Personality {
    /// KuduLite on App Service for Linux.
    Linux,
    /// Classic Kudu on App Service for Windows.
    Windows,
    /// Nothing we read told us yet.
    #[default]
    Unknown,
}

/// A deployment's state. Kudu sends a number; -1, 5 and 6 exist only in production clients.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DeployStatus {
    Cancelled,
    Pending,
    Building,
    Deploying,
    Failed,
    Success,
    /// 5: cancelled because another deployment is in progress.
    Conflict,
    PartialSuccess,
    /// A number no client knows.
    Unknown(i64),
}

impl DeployStatus {
    pub fn from_code(code: i64) -> Self {
        match code {
            -1 => DeployStatus::Cancelled,
            0 => DeployStatus::Pending,
            1 => DeployStatus::Building,
            2 => DeployStatus::Deploying,
            3 => DeployStatus::Failed,
            4 => DeployStatus::Success,
            5 => DeployStatus::Conflict,
            6 => DeployStatus::PartialSuccess,
            other => DeployStatus::Unknown(other),
        }
    }

    /// The stable name used in JSON output and `data-` attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            DeployStatus::Cancelled => "cancelled",
            DeployStatus::Pending => "pending",
            DeployStatus::Building => "building",
            DeployStatus::Deploying => "deploying",
            DeployStatus::Failed => "failed",
            DeployStatus::Success => "success",
            DeployStatus::Conflict => "conflict",
            DeployStatus::PartialSuccess => "partial-success",
            DeployStatus::Unknown(_) => "unknown",
        }
    }

    /// Pending, building or deploying: the deployment has not reached an outcome.
    pub fn is_running(self) -> bool {
        matches!(
            self,
            DeployStatus::Pending | DeployStatus::Building | DeployStatus::Deploying
        )
    }

    /// Ended without success (failed, cancelled, conflict).
    pub fn is_unsuccessful_end(self) -> bool {
        matches!(
            self,
            DeployStatus::Failed | DeployStatus::Cancelled | DeployStatus::Conflict
        )
    }
}

impl Serialize for DeployStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One deployment record (`DeployResult`).
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Deployment {
    /// `None` when Kudu sent `null` or nothing.
    pub id: Option<String>,
    pub status: DeployStatus,
    /// The number Kudu sent, when it sent one.
    pub status_code: Option<i64>,
    pub status_text: String,
    pub received: Option<Timestamp>,
    pub started: Option<Timestamp>,
    pub ended: Option<Timestamp>,
    pub last_success_end: Option<Timestamp>,
    pub deployer: String,
    pub author: String,
    pub message: String,
    pub progress: String,
    pub complete: bool,
    pub active: bool,
    pub temp: bool,
    /// Windows only (`InProgress`, `Failed`, `Succeeded`).
    pub provisioning_state: Option<String>,
    /// The record carries `remoteBuild`: a field Flex Consumption's deployment records have
    /// (azure-dev#3658) and Kudu's `DeployResult` has not in either Kudu (kudu-facts §1.2), so
    /// only a Flex Consumption app lists such a record.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub flex_fields: bool,
}

/// Severity of a deployment log line (`type` 0, 1, 2).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Info,
    Warning,
    Error,
}

/// One entry of `/api/deployments/{id}/log`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct LogEntry {
    pub time: Option<Timestamp>,
    /// Empty for child entries.
    pub id: String,
    pub message: String,
    pub level: LogLevel,
    /// Whether Kudu offers children (`details_url` present).
    pub has_details: bool,
}

/// One entry of a VFS directory listing.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct VfsEntry {
    /// Exactly as listed. Never build a path from anything else.
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
    pub modified: Option<Timestamp>,
    /// The physical path Kudu reported (`/home/...` or `D:\home\...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_path: Option<String>,
}

/// The Linux deployment lock, `site/locks/deployment/info.lock`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct LockInfo {
    pub holder_operation: Option<String>,
    pub worker: Option<String>,
    pub pid: Option<i64>,
    /// Expiry minus KuduLite's 1500 s lock timeout.
    pub acquired: Option<Timestamp>,
    pub expires: Option<Timestamp>,
}

/// `/api/isdeploying` (Linux only).
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct IsDeploying {
    pub deploying: bool,
    /// `Deployment Underway`, `Scan Underway` or empty.
    pub message: String,
}

/// What a 409 body says.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictKind {
    DeploymentInProgress,
    OperationConflict,
    RunFromPackageUrl,
    AutoswapInProgress,
    /// ARM refused a change to the site: `Cannot modify this site because another operation
    /// is in progress` (a slot swap, a create, a container stop...), not Kudu's lock.
    SiteOperationInProgress,
    /// The platform had no instance to give: `No available instances to satisfy this
    /// request`.
    NoAvailableInstances,
    /// azure-cli's `DeploymentLockFailed`: `Failed to acquire deployment lock`.
    DeploymentLockFailed,
    /// azure-cli's `DeploymentIdExists`: `Deployment with id ... exists`.
    DeploymentIdExists,
    Unknown,
}

impl ConflictKind {
    /// The stable id, as `--json` and `data-kind` show it.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::DeploymentInProgress => "deployment-in-progress",
            ConflictKind::OperationConflict => "operation-conflict",
            ConflictKind::RunFromPackageUrl => "run-from-package-url",
            ConflictKind::AutoswapInProgress => "autoswap-in-progress",
            ConflictKind::SiteOperationInProgress => "site-operation-in-progress",
            ConflictKind::NoAvailableInstances => "no-available-instances",
            ConflictKind::DeploymentLockFailed => "deployment-lock-failed",
            ConflictKind::DeploymentIdExists => "deployment-id-exists",
            ConflictKind::Unknown => "unknown",
        }
    }

    /// Who sent such a text and what it says, in a few words for every shell.
    pub fn describe(self) -> &'static str {
        match self {
            ConflictKind::DeploymentInProgress => "Kudu: a deployment is in progress",
            ConflictKind::OperationConflict => "Kudu: an operation holds the deployment lock",
            ConflictKind::RunFromPackageUrl => "Kudu: run-from-package is set to a URL",
            ConflictKind::AutoswapInProgress => "Kudu: an auto swap is under way",
            ConflictKind::SiteOperationInProgress => {
                "Azure Resource Manager: another operation on the site is in progress"
            }
            ConflictKind::NoAvailableInstances => "the platform: no instance available",
            ConflictKind::DeploymentLockFailed => {
                "azure-cli: failed to acquire the deployment lock"
            }
            ConflictKind::DeploymentIdExists => "azure-cli: a deployment with that id exists",
            ConflictKind::Unknown => "not a 409 text Kudu Doctor knows",
        }
    }
}

/// A parsed 409 body.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Conflict {
    pub kind: ConflictKind,
    /// The operation that was refused (`Preparing zip package`).
    pub operation: Option<String>,
    /// The operation holding the lock (`Performing continuous deployment`).
    pub holder_operation: Option<String>,
    /// The holder's start as Kudu printed it (a .NET date string, not always parseable).
    pub since: Option<String>,
    /// The text without surrounding quotes or JSON wrapping.
    pub message: String,
}

/// A setting read one key at a time through `/api/settings/{key}`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Setting {
    pub key: String,
    /// `None` when Kudu answered 404 (the setting does not exist).
    pub value: Option<String>,
}

/// One process as `GET /api/processes` lists it (Kudu-W's `ProcessController.GetAllProcesses`:
/// the processes of the site's user, sorted by name, without CPU times).
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ProcessSummary {
    pub id: u32,
    /// `ProcessName`: the image name without `.exe` (`w3wp`, `node`, `cmd`).
    pub name: String,
}

/// `GET /api/processes/{id}`: one process in detail (`ProcessController.GetProcessInfo` with
/// `details: true`). Fields Kudu could not read are `None` or empty: Kudu reports them as
/// -1, `DateTime.MinValue` or an empty list, which are no evidence of anything.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ProcessDetails {
    pub id: u32,
    pub name: String,
    /// `total_cpu_time` (a .NET `TimeSpan`) in milliseconds.
    pub total_cpu_ms: Option<u64>,
    pub start_time: Option<Timestamp>,
    /// `time_stamp`: Kudu's clock when it read the process, so two reads of one process say
    /// how much time passed between them on the site's own clock.
    pub time_stamp: Option<Timestamp>,
    /// The parent's id, from the `parent` link.
    pub parent: Option<u32>,
    /// Ids of the direct children, from the `children` links.
    pub children: Vec<u32>,
    /// Whether `open_file_handles` (as `KuduHandles.exe` printed them) include Kudu-W's
    /// deployment lock, `site\locks\deployments.lock`; `None` when Kudu could not list them
    /// (absent, empty, or KuduHandles' `[Error]` line): an empty list is what Kudu returns
    /// when the tool fails, so it never shows that a file is not open. The paths themselves
    /// are not kept.
    pub holds_deployment_lock: Option<bool>,
    /// Its environment's `APP_POOL_ID` starts with `~1`: a process of the SCM (Kudu) site,
    /// Kudu itself or one of its children.
    pub is_scm_site: bool,
    /// Its environment names a WebJob (`WEBJOBS_NAME`).
    pub is_webjob: bool,
    /// The build tool a `node` process runs (`npm`, `yarn`, `pnpm`), read off its command
    /// line. The command line itself is never kept: a deployment script's arguments can carry
    /// a token.
    pub tool: Option<String>,
}
