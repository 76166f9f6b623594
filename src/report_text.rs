//! The diagnosis as plain text, for pasting into a ticket or a chat. Pure, tested natively.

use kudu_core::Diagnosis;

use crate::cause_titles::{cause_title, confidence_word};
use crate::time_text;

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
            },
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
