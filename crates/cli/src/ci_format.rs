//! `--format github` and `--format azure-devops`: the diagnosis as a pipeline shows it. The
//! leading cause becomes an annotation on the run (`::error` on GitHub, `##vso[task.logissue]`
//! on Azure DevOps), and the shareable Markdown report becomes the job's summary
//! (`$GITHUB_STEP_SUMMARY`, or a file handed to `##vso[task.uploadsummary]`).
//!
//! Text from the site (causes quote its facts) is escaped as each system's workflow commands
//! require, so it can never end the line and start a command of its own.

use std::io::Write as _;
use std::path::PathBuf;

use kudu_core::parse::one_line;
use kudu_core::{CauseId, Diagnosis};

use crate::exit_code::{FAILURE, Failure, USAGE};

/// Which pipeline reads the output.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CiFormat {
    Github,
    AzureDevops,
}

/// Other findings annotated besides the leading one.
const MORE_FINDINGS: usize = 4;

impl CiFormat {
    pub fn parse(value: &str) -> Result<CiFormat, Failure> {
        match value {
            "github" => Ok(CiFormat::Github),
            "azure-devops" => Ok(CiFormat::AzureDevops),
            other => Err(Failure::new(
                USAGE,
                format!(
                    "--format must be text, json, markdown, github or azure-devops, not '{}'",
                    one_line(other, 40)
                ),
            )),
        }
    }

    /// One workflow command: `level` is `error`, `warning` or `notice`.
    fn command(self, level: &str, title: &str, message: &str) -> String {
        match self {
            CiFormat::Github => format!(
                "::{level} title={}::{}",
                github_property(title),
                github_data(message)
            ),
            // Azure DevOps has no notice level: a notice is a plain log line.
            CiFormat::AzureDevops if level == "notice" => {
                format!("{title}: {}", azure_data(message))
            }
            CiFormat::AzureDevops => format!(
                "##vso[task.logissue type={level}]{}: {}",
                azure_data(title),
                azure_data(message)
            ),
        }
    }
}

/// The annotations for a diagnosis, one line each: the leading cause as an error while a
/// deployment would get 409 (a warning when nothing blocks but something is off, a notice when
/// all is well), then the other findings as warnings. `blockers` are the wait's blockers.
pub fn annotations(
    format: CiFormat,
    origin: &str,
    diagnosis: &Diagnosis,
    blockers: &[String],
) -> String {
    let mut lines = vec![];
    let healthy = |cause: CauseId| matches!(cause, CauseId::Healthy | CauseId::NoLockFound);
    match diagnosis.primary() {
        Some(primary) => {
            let level = if !blockers.is_empty() {
                "error"
            } else if healthy(primary.cause) {
                "notice"
            } else {
                "warning"
            };
            let mut message = format!("{origin}: {}", one_line(&primary.summary, 800));
            if !blockers.is_empty() {
                message.push_str(&format!(
                    " A deployment started now gets 409 while: {}.",
                    blockers.join("; ")
                ));
            }
            message.push_str(" The job summary has the evidence and what to do.");
            lines.push(format.command(
                level,
                &format!("Kudu Doctor: {}", primary.cause.as_str()),
                &message,
            ));
        }
        None => lines.push(format.command(
            "warning",
            "Kudu Doctor",
            &format!("{origin}: no cause could be named"),
        )),
    }
    for finding in diagnosis
        .findings
        .iter()
        .skip(1)
        .filter(|f| !healthy(f.cause))
        .take(MORE_FINDINGS)
    {
        lines.push(format.command(
            "warning",
            &format!("Kudu Doctor: also {}", finding.cause.as_str()),
            &one_line(&finding.summary, 600),
        ));
    }
    lines.join("\n")
}

/// Publishes the Markdown report as the job summary. GitHub: appended to the file
/// `$GITHUB_STEP_SUMMARY` names. Azure DevOps: written to `$AGENT_TEMPDIRECTORY` (the current
/// folder without it) and returned as the `##vso[task.uploadsummary]` line to print. Outside
/// a pipeline (the variable unset) nothing is written.
pub fn publish_summary(
    format: CiFormat,
    markdown: &str,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, Failure> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    match format {
        CiFormat::Github => {
            let Some(path) = var("GITHUB_STEP_SUMMARY") else {
                return Ok(None);
            };
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&path)
                .map_err(|e| summary_failure(&path, &e))?;
            writeln!(file, "{}", markdown.trim_end()).map_err(|e| summary_failure(&path, &e))?;
            Ok(None)
        }
        CiFormat::AzureDevops => {
            if var("TF_BUILD").is_none() {
                return Ok(None);
            }
            let dir = var("AGENT_TEMPDIRECTORY").map_or_else(|| PathBuf::from("."), PathBuf::from);
            let path = dir.join("kudu-doctor-report.md");
            std::fs::write(&path, markdown)
                .map_err(|e| summary_failure(&path.display().to_string(), &e))?;
            Ok(Some(format!(
                "##vso[task.uploadsummary]{}",
                azure_data(&path.display().to_string())
            )))
        }
    }
}

fn summary_failure(path: &str, e: &std::io::Error) -> Failure {
    Failure::new(FAILURE, format!("cannot write the job summary {path}: {e}"))
}

/// GitHub's escaping of a command's message (actions/toolkit `escapeData`).
fn github_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub's escaping of a property value (actions/toolkit `escapeProperty`).
fn github_property(text: &str) -> String {
    github_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Azure Pipelines' escaping of a logging command's message and properties
/// (azure-pipelines-task-lib `escapeData` and `escape`): `%` first, so nothing is escaped twice.
fn azure_data(text: &str) -> String {
    text.replace('%', "%AZP25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(';', "%3B")
        .replace(']', "%5D")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use kudu_core::diagnose::prevention::{self, SiteRef};
    use kudu_core::plan::{PlanKind, plan};
    use kudu_core::reads::{HttpReply, ReadId};
    use kudu_core::report::{ReportInput, markdown_report};
    use kudu_core::{Session, Timestamp};
    use serde_json::Value;

    use super::*;

    const SCM: &str = "https://myapp.scm.azurewebsites.net";

    /// A diagnosis from one of the core's captured simulator rounds, at its recorded time.
    fn fixture(stem: &str) -> (Session, Diagnosis) {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../kudu-core/tests/fixtures")
            .join(format!("{stem}.json"));
        let fixture: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let now = Timestamp::parse_rfc3339(fixture["now"].as_str().unwrap()).unwrap();
        let mut session = Session::new();
        for r in fixture["replies"].as_array().unwrap() {
            let reply = HttpReply {
                status: u16::try_from(r["status"].as_u64().unwrap()).unwrap(),
                content_type: r["content_type"].as_str().map(str::to_string),
                body: r["body"].as_str().unwrap_or("").to_string(),
                headers: r["headers"]
                    .as_array()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| {
                                (
                                    h[0].as_str().unwrap().to_ascii_lowercase(),
                                    h[1].as_str().unwrap().to_string(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                transport_error: None,
            };
            let read: ReadId = serde_json::from_value(r["read"].clone()).unwrap();
            session.ingest(&read, r["path"].as_str().unwrap(), &reply);
        }
        let diagnosis = session.diagnose(now);
        (session, diagnosis)
    }

    fn blockers(diagnosis: &Diagnosis) -> Vec<String> {
        let round = crate::site_round::Round {
            diagnosis: diagnosis.clone(),
            plan: None,
            site_name: None,
        };
        round.blockers()
    }

    /// Compares with `tests/golden/<name>`; `KUDU_UPDATE_GOLDEN=1` rewrites the file instead.
    fn golden(name: &str, actual: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        if std::env::var_os("KUDU_UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, actual).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            expected == actual,
            "{name} differs from its golden file (KUDU_UPDATE_GOLDEN=1 rewrites it after a \
             review); actual:\n{actual}"
        );
    }

    #[test]
    fn annotations_and_summary_match_their_golden_files() {
        for (stem, name) in [
            ("stuck-linux-linux", "stuck-linux"),
            ("stuck-windows-windows", "stuck-windows"),
            ("healthy-linux", "healthy-linux"),
        ] {
            let (session, diagnosis) = fixture(stem);
            let blocked = blockers(&diagnosis);
            for (format, suffix) in [
                (CiFormat::Github, "github.txt"),
                (CiFormat::AzureDevops, "azure-devops.txt"),
            ] {
                let text = annotations(format, SCM, &diagnosis, &blocked);
                golden(&format!("{name}.{suffix}"), &format!("{text}\n"));
            }
            let plan = plan(&session, &diagnosis, PlanKind::Targeted);
            let prevention = prevention::prevention(
                &diagnosis,
                SiteRef {
                    name: Some("myapp"),
                    scm_url: Some(SCM),
                },
            );
            let summary = markdown_report(&ReportInput {
                scm_url: SCM,
                diagnosis: &diagnosis,
                plan: Some(&plan),
                prevention: Some(&prevention),
                cleanup: None,
                failed_reads: &[],
            });
            let dir = std::env::temp_dir()
                .join(format!("kudu-cli-summary-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join("summary.md");
            std::fs::write(&file, "earlier step\n").unwrap();
            let env =
                |key: &str| (key == "GITHUB_STEP_SUMMARY").then(|| file.display().to_string());
            assert_eq!(
                publish_summary(CiFormat::Github, &summary, env).unwrap(),
                None
            );
            let written = std::fs::read_to_string(&file).unwrap();
            let appended = written.strip_prefix("earlier step\n").unwrap();
            golden(&format!("{name}.step-summary.md"), appended);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    #[test]
    fn a_stuck_site_is_an_error_and_a_healthy_one_a_notice() {
        let (_, stuck) = fixture("stuck-linux-linux");
        let text = annotations(CiFormat::Github, SCM, &stuck, &blockers(&stuck));
        assert!(
            text.starts_with("::error title=Kudu Doctor%3A stale-lock::"),
            "{text}"
        );
        let (_, healthy) = fixture("healthy-linux");
        let text = annotations(CiFormat::Github, SCM, &healthy, &blockers(&healthy));
        assert!(text.starts_with("::notice "), "{text}");
        let text = annotations(CiFormat::AzureDevops, SCM, &stuck, &blockers(&stuck));
        assert!(
            text.starts_with("##vso[task.logissue type=error]Kudu Doctor: stale-lock: "),
            "{text}"
        );
    }

    #[test]
    fn site_text_cannot_start_a_command_of_its_own() {
        let hostile = "done\n::add-mask::x\r\n##vso[task.setvariable variable=a]b; 100%";
        let github = CiFormat::Github.command("error", "a:b,c", hostile);
        assert_eq!(github.lines().count(), 1, "{github}");
        assert!(
            github.starts_with("::error title=a%3Ab%2Cc::done%0A::add-mask"),
            "{github}"
        );
        assert!(github.ends_with("100%25"), "{github}");
        let azure = CiFormat::AzureDevops.command("error", "t]", hostile);
        assert_eq!(azure.lines().count(), 1, "{azure}");
        assert!(azure.contains("t%5D: done%0A"), "{azure}");
        assert!(azure.contains("a%5Db%3B 100%AZP25"), "{azure}");
    }

    #[test]
    fn azure_devops_uploads_a_summary_file_only_in_a_pipeline() {
        let dir = std::env::temp_dir().join(format!("kudu-cli-azp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let outside = publish_summary(CiFormat::AzureDevops, "# r", |_| None).unwrap();
        assert_eq!(outside, None);
        let env = |key: &str| match key {
            "TF_BUILD" => Some("True".to_string()),
            "AGENT_TEMPDIRECTORY" => Some(dir.display().to_string()),
            _ => None,
        };
        let line = publish_summary(CiFormat::AzureDevops, "# r\n", env)
            .unwrap()
            .unwrap();
        let file = dir.join("kudu-doctor-report.md");
        assert_eq!(line, format!("##vso[task.uploadsummary]{}", file.display()));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "# r\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_the_pipeline_formats_parse() {
        assert_eq!(CiFormat::parse("github").unwrap(), CiFormat::Github);
        assert_eq!(
            CiFormat::parse("azure-devops").unwrap(),
            CiFormat::AzureDevops
        );
        assert_eq!(CiFormat::parse("gitlab").unwrap_err().code, USAGE);
    }
}
