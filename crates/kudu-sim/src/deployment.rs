//! Kudu's on-disk deployment records: `status.xml` (facts §3.1), `log.log` (facts §3.4), and the
//! `DeployResult` / `LogEntry` JSON the read APIs build from them (facts §1.2, §1.5).

use serde::Serialize;

use crate::Personality;
use crate::time::VTime;

/// `DeployStatus` (facts §1.2). The last three exist only in production Kudu; the simulator
/// writes them only when a test asks for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeployStatus {
    Cancelled,
    Pending,
    Building,
    Deploying,
    Failed,
    Success,
    Conflict,
    PartialSuccess,
}

impl DeployStatus {
    /// The enum name status.xml stores.
    pub fn name(self) -> &'static str {
        match self {
            DeployStatus::Cancelled => "Cancelled",
            DeployStatus::Pending => "Pending",
            DeployStatus::Building => "Building",
            DeployStatus::Deploying => "Deploying",
            DeployStatus::Failed => "Failed",
            DeployStatus::Success => "Success",
            DeployStatus::Conflict => "Conflict",
            DeployStatus::PartialSuccess => "PartialSuccess",
        }
    }

    /// The number the JSON APIs show.
    pub fn number(self) -> i32 {
        match self {
            DeployStatus::Cancelled => -1,
            DeployStatus::Pending => 0,
            DeployStatus::Building => 1,
            DeployStatus::Deploying => 2,
            DeployStatus::Failed => 3,
            DeployStatus::Success => 4,
            DeployStatus::Conflict => 5,
            DeployStatus::PartialSuccess => 6,
        }
    }

    /// The status with this JSON number.
    pub fn from_number(n: i32) -> Option<DeployStatus> {
        [
            DeployStatus::Cancelled,
            DeployStatus::Pending,
            DeployStatus::Building,
            DeployStatus::Deploying,
            DeployStatus::Failed,
            DeployStatus::Success,
            DeployStatus::Conflict,
            DeployStatus::PartialSuccess,
        ]
        .into_iter()
        .find(|s| s.number() == n)
    }

    /// `Enum.TryParse` with the facts §3.1 fallback: an unknown name reads as Pending.
    pub fn parse(name: &str) -> DeployStatus {
        [
            DeployStatus::Cancelled,
            DeployStatus::Pending,
            DeployStatus::Building,
            DeployStatus::Deploying,
            DeployStatus::Failed,
            DeployStatus::Success,
            DeployStatus::Conflict,
            DeployStatus::PartialSuccess,
        ]
        .into_iter()
        .find(|s| s.name() == name)
        .unwrap_or(DeployStatus::Pending)
    }

    /// Success or Failed (and the production-only terminal values).
    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            DeployStatus::Pending | DeployStatus::Building | DeployStatus::Deploying
        )
    }
}

/// The content of one `status.xml`.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusFile {
    pub id: String,
    pub author: String,
    pub deployer: String,
    pub author_email: String,
    pub message: String,
    pub progress: String,
    pub status: DeployStatus,
    pub status_text: String,
    pub last_success_end_time: Option<VTime>,
    pub received_time: VTime,
    pub start_time: VTime,
    pub end_time: Option<VTime>,
    pub complete: bool,
    pub is_temp: bool,
    pub is_readonly: bool,
}

fn bool_text(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

pub(crate) fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

impl StatusFile {
    /// `status.xml` as `XDocument.Save` writes it (facts §3.1): declaration, two-space indent,
    /// children in Kudu's fixed order, CRLF line ends on Windows.
    pub fn to_xml(&self, personality: Personality) -> String {
        let date = |t: Option<VTime>| t.map(VTime::to_roundtrip);
        let mut fields: Vec<(&str, Option<String>)> = vec![
            ("id", Some(self.id.clone())),
            ("author", Some(self.author.clone())),
            ("deployer", Some(self.deployer.clone())),
            ("authorEmail", Some(self.author_email.clone())),
            ("message", Some(self.message.clone())),
            ("progress", Some(self.progress.clone())),
            ("status", Some(self.status.name().to_string())),
            ("statusText", Some(self.status_text.clone())),
            ("lastSuccessEndTime", date(self.last_success_end_time)),
            ("receivedTime", date(Some(self.received_time))),
            ("startTime", date(Some(self.start_time))),
            ("endTime", date(self.end_time)),
            ("complete", Some(bool_text(self.complete).to_string())),
            ("is_temp", Some(bool_text(self.is_temp).to_string())),
            ("is_readonly", Some(bool_text(self.is_readonly).to_string())),
        ];
        if personality == Personality::Windows {
            fields.push(("project_type", None));
            fields.push(("vsproject_id", None));
        }
        let nl = newline(personality);
        let mut out = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>{nl}<deployment>{nl}");
        for (name, value) in fields {
            match value {
                Some(v) if !v.is_empty() => {
                    out.push_str(&format!("  <{name}>{}</{name}>{nl}", xml_escape(&v)))
                }
                _ => out.push_str(&format!("  <{name} />{nl}")),
            }
        }
        out.push_str("</deployment>");
        out
    }

    /// Reads a `status.xml`; `None` when a required element (`id`, `status`, `statusText`) is
    /// missing or the text is not XML we understand (Kudu then deletes the folder, facts §1.3).
    pub fn parse(xml: &str) -> Option<StatusFile> {
        if !xml.contains("<deployment>") || !xml.trim_end().ends_with("</deployment>") {
            return None;
        }
        let text = |name: &str| element(xml, name);
        let date = |name: &str| text(name).and_then(|t| VTime::parse(&t));
        let flag = |name: &str| text(name).is_some_and(|t| t.eq_ignore_ascii_case("true"));
        Some(StatusFile {
            id: text("id").filter(|t| !t.is_empty())?,
            author: text("author").unwrap_or_default(),
            deployer: text("deployer").unwrap_or_default(),
            author_email: text("authorEmail").unwrap_or_default(),
            message: text("message").unwrap_or_default(),
            progress: text("progress").unwrap_or_default(),
            status: DeployStatus::parse(&text("status")?),
            status_text: text("statusText")?,
            last_success_end_time: date("lastSuccessEndTime"),
            received_time: date("receivedTime").unwrap_or_default(),
            start_time: date("startTime").unwrap_or_default(),
            end_time: date("endTime"),
            complete: flag("complete"),
            is_temp: flag("is_temp"),
            is_readonly: flag("is_readonly"),
        })
    }
}

/// The text of `<name>…</name>`, `""` for `<name />`, `None` when absent.
fn element(xml: &str, name: &str) -> Option<String> {
    if xml.contains(&format!("<{name} />")) || xml.contains(&format!("<{name}/>")) {
        return Some(String::new());
    }
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(xml_unescape(&xml[start..end]))
}

/// The line end .NET writes on that OS.
pub fn newline(personality: Personality) -> &'static str {
    match personality {
        Personality::Windows => "\r\n",
        Personality::Linux => "\n",
    }
}

/// One line of `log.log` (facts §3.4).
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    pub depth: usize,
    pub time: VTime,
    pub message: String,
    /// GUID for top-level entries, empty for children.
    pub id: String,
    /// 0 Message, 1 Warning, 2 Error.
    pub kind: u8,
}

impl LogLine {
    /// The line as `StructuredTextLogger` writes it, with its line end.
    pub fn to_line(&self, personality: Personality) -> String {
        let message = self
            .message
            .replace(',', "&comma;")
            .replace('\r', "\\r")
            .replace('\n', "\\n");
        format!(
            "{}{},{},{},{}{}",
            "\t".repeat(self.depth),
            self.time.to_roundtrip(),
            message,
            self.id,
            self.kind,
            newline(personality)
        )
    }

    /// Reads one line; `None` when it is not in the format.
    pub fn parse(line: &str) -> Option<LogLine> {
        let depth = line.chars().take_while(|c| *c == '\t').count();
        let rest = line[depth..].trim_end_matches(['\r', '\n']);
        let mut parts = rest.splitn(2, ',');
        let time = VTime::parse(parts.next()?)?;
        let tail = parts.next()?;
        let (tail, kind) = tail.rsplit_once(',')?;
        let (message, id) = tail.rsplit_once(',')?;
        Some(LogLine {
            depth,
            time,
            message: message.replace("&comma;", ","),
            id: id.to_string(),
            kind: kind.parse().ok()?,
        })
    }
}

/// `DeployResult` JSON in Kudu's property order (facts §1.2).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DeployResult {
    pub id: String,
    pub status: i32,
    pub status_text: String,
    pub author_email: String,
    pub author: String,
    pub deployer: String,
    pub message: String,
    pub progress: String,
    pub received_time: String,
    pub start_time: String,
    pub end_time: Option<String>,
    pub last_success_end_time: Option<String>,
    pub complete: bool,
    pub active: bool,
    pub is_temp: bool,
    pub is_readonly: bool,
    pub url: Option<String>,
    pub log_url: Option<String>,
    pub site_name: String,
    #[serde(rename = "provisioningState", skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// A production-only field (switch `extra_deploy_fields`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_summary: Option<serde_json::Value>,
    /// Flex Consumption only: the `RemoteBuild` option the publish took (switch
    /// `flex_consumption`; the scenario's publishes all ask for a remote build).
    #[serde(rename = "remoteBuild", skip_serializing_if = "Option::is_none")]
    pub remote_build: Option<bool>,
}

impl DeployResult {
    /// The API view of a status file.
    pub fn from_status(
        file: &StatusFile,
        active: bool,
        base_url: &str,
        site_name: &str,
        personality: Personality,
    ) -> DeployResult {
        let url = format!("{base_url}/api/deployments/{}", file.id);
        DeployResult {
            id: file.id.clone(),
            status: file.status.number(),
            status_text: file.status_text.clone(),
            author_email: file.author_email.clone(),
            author: file.author.clone(),
            deployer: file.deployer.clone(),
            message: file.message.clone(),
            progress: file.progress.clone(),
            received_time: file.received_time.to_json(),
            start_time: file.start_time.to_json(),
            end_time: file.end_time.map(VTime::to_json),
            last_success_end_time: file.last_success_end_time.map(VTime::to_json),
            complete: file.complete,
            active,
            is_temp: file.is_temp,
            is_readonly: file.is_readonly,
            log_url: Some(format!("{url}/log")),
            url: Some(url),
            site_name: site_name.to_string(),
            // Kudu-W only (facts §1.2).
            provisioning_state: (personality == Personality::Windows).then(|| {
                match file.status {
                    DeployStatus::Failed => "Failed",
                    DeployStatus::Success => "Succeeded",
                    _ => "InProgress",
                }
                .to_string()
            }),
            build_summary: None,
            remote_build: None,
        }
    }
}

/// `LogEntry` JSON (facts §1.5).
#[derive(Clone, Debug, Serialize)]
pub struct LogEntry {
    pub log_time: String,
    pub id: String,
    pub message: String,
    #[serde(rename = "type")]
    pub kind: u8,
    pub details_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StatusFile {
        StatusFile {
            id: "abc".into(),
            author: "N/A".into(),
            deployer: "GITHUB_ZIP_DEPLOY".into(),
            author_email: "N/A".into(),
            message: "fix <b> & more".into(),
            progress: String::new(),
            status: DeployStatus::Success,
            status_text: String::new(),
            last_success_end_time: Some(VTime::default_start()),
            received_time: VTime::default_start(),
            start_time: VTime::default_start(),
            end_time: None,
            complete: true,
            is_temp: false,
            is_readonly: true,
        }
    }

    #[test]
    fn status_xml_round_trips() {
        for p in [Personality::Linux, Personality::Windows] {
            let xml = sample().to_xml(p);
            assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
            assert!(xml.contains("<endTime />"));
            assert_eq!(StatusFile::parse(&xml), Some(sample()));
        }
        assert!(
            sample()
                .to_xml(Personality::Windows)
                .contains("<vsproject_id />")
        );
        assert!(!sample().to_xml(Personality::Linux).contains("project_type"));
    }

    #[test]
    fn corrupt_status_xml_is_rejected() {
        assert_eq!(StatusFile::parse("<deployment><id>x</id>"), None);
        assert_eq!(StatusFile::parse("garbage"), None);
    }

    #[test]
    fn log_lines_round_trip_with_commas() {
        let line = LogLine {
            depth: 1,
            time: VTime::default_start(),
            message: "a, b".into(),
            id: String::new(),
            kind: 0,
        };
        let text = line.to_line(Personality::Linux);
        assert_eq!(text, "\t2026-11-26T12:00:00.0000000Z,a&comma; b,,0\n");
        assert_eq!(LogLine::parse(&text), Some(line));
    }
}
