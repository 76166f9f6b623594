//! The diagnosis as text to share: plain text for a chat ([`diagnosis_text`]) and the full
//! Markdown report for a support ticket or an issue ([`markdown_report`], built by
//! `kudu_core::report` so the command line prints the same). Pure, tested natively.

use kudu_core::Diagnosis;
use kudu_core::diagnose::prevention::{self, Prevention, SiteRef};
use kudu_core::report::{self, CleanupReport, ReportInput};

use crate::cause_titles::{cause_title, confidence_word};
use crate::round::Snapshot;
use crate::time_text;

/// The Markdown report and the name to download it under.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SharedReport {
    /// `<site>-kudu-doctor-<UTC>.md`.
    pub file_name: String,
    pub markdown: String,
}

/// What the site's history says about preventing the next 409, for the guide and the report.
pub fn site_prevention(snapshot: &Snapshot, site_name: &str, scm_origin: &str) -> Prevention {
    prevention::prevention(
        &snapshot.diagnosis,
        SiteRef {
            name: Some(site_name),
            scm_url: Some(scm_origin),
        },
    )
}

/// The report for this round and the cleanup run shown beside it (if any).
pub fn markdown_report(
    snapshot: &Snapshot,
    cleanup: Option<CleanupReport<'_>>,
    site_name: &str,
    scm_origin: &str,
) -> SharedReport {
    let prevention = site_prevention(snapshot, site_name, scm_origin);
    let failed_reads: Vec<String> = snapshot
        .failed_reads
        .iter()
        .map(|failure| format!("{}: {}", failure.endpoint, failure.error.describe()))
        .collect();
    SharedReport {
        file_name: report::report_file_name(site_name, snapshot.diagnosis.now),
        markdown: report::markdown_report(&ReportInput {
            scm_url: scm_origin,
            diagnosis: &snapshot.diagnosis,
            plan: Some(snapshot.plan.as_ref()),
            prevention: Some(&prevention),
            cleanup,
            failed_reads: &failed_reads,
        }),
    }
}

/// Every finding with its summary and evidence, the leading one first.
pub fn diagnosis_text(diagnosis: &Diagnosis) -> String {
    let mut text = format!(
        "409 Doctor diagnosis, read {}\n",
        time_text::date_time_utc(diagnosis.now)
    );
    for (index, finding) in diagnosis.findings.iter().enumerate() {
        let lead = if index == 0 { "Main cause" } else { "Also" };
        text.push_str(&format!(
            "\n{lead}: {} [{}, {} confidence]\n",
            cause_title(finding.cause),
            finding.cause.as_str(),
            confidence_word(finding.confidence)
        ));
        if !finding.summary.is_empty() {
            text.push_str(&finding.summary);
            text.push('\n');
        }
        for evidence in &finding.evidence {
            text.push_str(&format!("- {} ({})\n", evidence.fact, evidence.source));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use kudu_core::diagnose::{LockReport, LockState, Timeline};
    use kudu_core::{CauseId, Confidence, Evidence, Finding, Personality, Timestamp};

    use super::*;

    #[test]
    fn the_markdown_report_has_a_file_name_and_the_round() {
        let session = kudu_core::Session::new();
        let diagnosis = session.diagnose(Timestamp::from_unix_millis(1_764_165_909_000));
        let plan = kudu_core::plan::plan(&session, &diagnosis, kudu_core::PlanKind::Targeted);
        let snapshot = Snapshot {
            diagnosis,
            plan: std::rc::Rc::new(plan),
            site: crate::round::SiteFacts::default(),
            failed_reads: vec![crate::round::ReadFailure {
                endpoint: "/api/deployments".into(),
                error: crate::kudu_http::KuduHttpError::SessionExpired { status: 401 },
            }],
            clock_offset_ms: 0,
            session: std::rc::Rc::new(session),
        };
        let report = markdown_report(
            &snapshot,
            None,
            "myapp",
            "https://myapp.scm.azurewebsites.net",
        );
        assert_eq!(report.file_name, "myapp-kudu-doctor-20251126T140509Z.md");
        assert!(
            report
                .markdown
                .contains("- Site: ` myapp.scm.azurewebsites.net `")
        );
        assert!(
            report.markdown.contains("- Read failed: /api/deployments"),
            "{}",
            report.markdown
        );
        assert!(!report.markdown.contains("## Cleanup run"));
    }

    #[test]
    fn findings_and_evidence_read_as_plain_lines() {
        let diagnosis = Diagnosis {
            now: Timestamp::from_unix_millis(1_764_165_909_000),
            personality: Personality::Linux,
            findings: vec![
                Finding {
                    cause: CauseId::StaleLock,
                    confidence: Confidence::High,
                    summary: "The lock outlived its deployment.".into(),
                    evidence: vec![Evidence {
                        source: "/api/isdeploying".into(),
                        fact: "Nothing is deploying.".into(),
                    }],
                    recommendations: vec![],
                },
                Finding {
                    cause: CauseId::ParallelDeployments,
                    confidence: Confidence::Low,
                    summary: String::new(),
                    evidence: vec![],
                    recommendations: vec![],
                },
            ],
            timeline: Timeline::default(),
            lock: LockReport {
                state: LockState::Orphaned,
                holder_operation: None,
                worker: None,
                pid: None,
                acquired: None,
                expires: None,
                secs_left: None,
                windows_lock_file: false,
                explanation: String::new(),
                others: vec![],
                idle_evidence: None,
            },
            deployability: kudu_core::diagnose::Deployability {
                can_deploy: kudu_core::diagnose::CanDeploy::No,
                blockers: vec![],
            },
            pasted_error: None,
            instances: Default::default(),
            warnings: vec![],
        };
        assert_eq!(
            diagnosis_text(&diagnosis),
            "409 Doctor diagnosis, read 2025-11-26 14:05 UTC\n\
             \n\
             Main cause: A stale deployment lock blocks deployments [stale-lock, high confidence]\n\
             The lock outlived its deployment.\n\
             - Nothing is deploying. (/api/isdeploying)\n\
             \n\
             Also: Two deployments ran at the same time [parallel-deployments, low confidence]\n"
        );
    }
}
