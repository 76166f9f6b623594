//! One read round turned into what the UI shows: the replies go into a `kudu-core` session,
//! which diagnoses and plans. Pure (no I/O, no clock), so it is tested natively; the hook that
//! sends the reads lives in `hooks::use_diagnosis`.

use std::rc::Rc;

use kudu_core::session::Observed;
use kudu_core::{CleanupPlan, Diagnosis, HttpReply, PlanKind, Read, Session, Timestamp};

use crate::kudu_http::{self, KuduHttpError};

/// A read that gave nothing usable, for the "what failed" list.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReadFailure {
    /// The path that was read (`/api/deployments`), without the cache-busting query.
    pub endpoint: String,
    pub error: KuduHttpError,
}

/// Facts about the site the guide quotes (restart commands, links).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SiteFacts {
    /// `WEBSITE_SITE_NAME`.
    pub name: Option<String>,
    /// `WEBSITE_RESOURCE_GROUP`.
    pub resource_group: Option<String>,
}

/// Everything one successful round produced.
#[derive(Clone, PartialEq, Debug)]
pub struct Snapshot {
    pub diagnosis: Diagnosis,
    pub plan: CleanupPlan,
    pub site: SiteFacts,
    /// Reads that failed this round; the diagnosis was built from the others.
    pub failed_reads: Vec<ReadFailure>,
}

/// Why a round produced no diagnosis at all.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum RoundFailure {
    /// The SCM site wants the user to sign in again.
    SessionExpired { endpoint: String },
    /// Every read failed (network down, site down, all 5xx).
    Unreachable { failures: Vec<ReadFailure> },
}

/// The result of one round.
#[derive(Clone, PartialEq, Debug)]
pub enum RoundOutcome {
    Diagnosed(Rc<Snapshot>),
    Failed(RoundFailure),
}

/// Builds the outcome of a round from the reads sent and their replies (same order).
///
/// A single sign-in answer ends the round as [`RoundFailure::SessionExpired`]: diagnosing from
/// a login page would only invent findings. Otherwise the failed reads are listed and the core
/// diagnoses from the rest; only when nothing at all came back is the round a failure.
pub fn outcome_from_replies(reads: &[Read], replies: &[HttpReply], now: Timestamp) -> RoundOutcome {
    let mut session = Session::new();
    let mut failed_reads = Vec::new();
    for (read, reply) in reads.iter().zip(replies) {
        let endpoint = endpoint_of(&read.path);
        match kudu_http::classify(reply) {
            Some(KuduHttpError::SessionExpired { .. }) => {
                return RoundOutcome::Failed(RoundFailure::SessionExpired { endpoint });
            }
            Some(error) => failed_reads.push(ReadFailure { endpoint, error }),
            None => {}
        }
        // Failed replies go in too: the core records them as observations it cannot use.
        session.ingest(&read.id, &read.path, reply);
    }
    if !reads.is_empty() && failed_reads.len() >= reads.len() {
        return RoundOutcome::Failed(RoundFailure::Unreachable {
            failures: failed_reads,
        });
    }
    RoundOutcome::Diagnosed(Rc::new(snapshot_of(&session, now, failed_reads)))
}

fn snapshot_of(session: &Session, now: Timestamp, failed_reads: Vec<ReadFailure>) -> Snapshot {
    let diagnosis = session.diagnose(now);
    let plan = kudu_core::plan::plan(session, &diagnosis, PlanKind::Targeted);
    let setting = |key: &str| match session.settings.get(key) {
        Some(Observed::Value(Some(value))) if !value.trim().is_empty() => Some(value.clone()),
        _ => None,
    };
    Snapshot {
        diagnosis,
        plan,
        site: SiteFacts {
            name: setting("WEBSITE_SITE_NAME"),
            resource_group: setting("WEBSITE_RESOURCE_GROUP"),
        },
        failed_reads,
    }
}

/// The path without its query: `/api/deployments?_=123` reads as `/api/deployments`.
fn endpoint_of(path: &str) -> String {
    path.split('?').next().unwrap_or(path).to_string()
}

#[cfg(test)]
mod tests {
    use kudu_core::reads::diagnosis_reads;

    use super::*;

    fn ok_json() -> HttpReply {
        HttpReply {
            status: 200,
            content_type: Some("application/json".into()),
            body: "[]".into(),
            ..HttpReply::default()
        }
    }

    fn server_error() -> HttpReply {
        HttpReply {
            status: 503,
            content_type: Some("text/plain".into()),
            body: "Service Unavailable".into(),
            ..HttpReply::default()
        }
    }

    const NOW: Timestamp = Timestamp::from_unix_millis(1_764_150_000_000);

    #[test]
    fn one_login_page_ends_the_round_as_session_expired() {
        let reads = diagnosis_reads(1);
        let mut replies = vec![ok_json(); reads.len()];
        replies[2] = HttpReply {
            status: 200,
            content_type: Some("text/html".into()),
            body: "<html>Sign in</html>".into(),
            ..HttpReply::default()
        };
        assert_eq!(
            outcome_from_replies(&reads, &replies, NOW),
            RoundOutcome::Failed(RoundFailure::SessionExpired {
                endpoint: endpoint_of(&reads[2].path)
            })
        );
    }

    #[test]
    fn partial_failures_are_listed_beside_a_diagnosis() {
        let reads = diagnosis_reads(7);
        let mut replies = vec![ok_json(); reads.len()];
        replies[0] = server_error();
        let RoundOutcome::Diagnosed(snapshot) = outcome_from_replies(&reads, &replies, NOW) else {
            panic!("one failed read must not hide the others");
        };
        assert_eq!(snapshot.failed_reads.len(), 1);
        assert_eq!(snapshot.failed_reads[0].endpoint, "/api/deployments");
        assert_eq!(snapshot.diagnosis.now, NOW);
    }

    #[test]
    fn nothing_usable_is_unreachable() {
        let reads = diagnosis_reads(1);
        let replies = vec![server_error(); reads.len()];
        let RoundOutcome::Failed(RoundFailure::Unreachable { failures }) =
            outcome_from_replies(&reads, &replies, NOW)
        else {
            panic!("all reads failed");
        };
        assert_eq!(failures.len(), reads.len());
    }

    #[test]
    fn endpoints_drop_the_cache_busting_query() {
        assert_eq!(endpoint_of("/api/deployments?_=99"), "/api/deployments");
        assert_eq!(endpoint_of("/api/isdeploying"), "/api/isdeploying");
    }
}
