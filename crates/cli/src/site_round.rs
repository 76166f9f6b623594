//! One diagnosis of a live site: the core's reads all at once, its follow-up reads, then the
//! diagnosis at the system clock's now (the shell owns the clock; the core never reads it).

use std::time::SystemTime;

use kudu_core::diagnose::LockState;
use kudu_core::parse::one_line;
use kudu_core::reads::diagnosis_reads;
use kudu_core::session::Observed;
use kudu_core::{CauseId, Diagnosis, HttpReply, Session, Timestamp};

use crate::duration_arg::show_secs;
use crate::exit_code::{AUTH, FAILURE, Failure};
use crate::report;
use crate::scm::{Credentials, ScmClient, ScmOrigin, auth_failure_message};
use crate::terminal_report::when;

/// Rounds of follow-up reads at most; the core asks for two levels today (a log, then the
/// children of its newest line), and a reply can never make it ask forever.
const MAX_FOLLOW_UP_ROUNDS: usize = 3;

/// What one round saw and concluded.
pub struct Round {
    pub session: Session,
    pub diagnosis: Diagnosis,
}

impl Round {
    /// The site asked for a sign-in instead of answering.
    pub fn needs_sign_in(&self) -> bool {
        self.diagnosis
            .primary()
            .is_some_and(|f| f.cause == CauseId::SessionExpired)
    }

    /// The exit-4 failure for [`Round::needs_sign_in`].
    pub fn auth_failure(&self, client: &ScmClient) -> Failure {
        Failure::new(
            AUTH,
            auth_failure_message(client.origin(), client.credentials()),
        )
    }
}

/// Now, from the system clock.
pub fn system_now() -> Timestamp {
    let millis = match SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    };
    Timestamp::from_unix_millis(millis)
}

/// Reads the site and diagnoses it. Fails (exit 1) only when no read got any HTTP answer at
/// all; every other problem is part of the diagnosis.
pub fn diagnose_site(client: &ScmClient) -> Result<Round, Failure> {
    let cache_bust = u64::try_from(system_now().unix_millis()).unwrap_or(0);
    let reads = diagnosis_reads(cache_bust);
    let replies = client.send_all(&reads);
    if let Some(error) = unreachable(&replies) {
        return Err(Failure::new(
            FAILURE,
            format!("cannot reach {}: {error}", client.origin().as_str()),
        ));
    }
    let mut session = Session::new();
    for (read, reply) in reads.iter().zip(&replies) {
        session.ingest(&read.id, &read.path, reply);
    }
    // A deployment's log, then the children of its newest line: each answer can ask for more.
    for _ in 0..MAX_FOLLOW_UP_ROUNDS {
        let follow_ups = session.follow_up_reads();
        if follow_ups.is_empty() {
            break;
        }
        let replies = client.send_all(&follow_ups);
        for (read, reply) in follow_ups.iter().zip(&replies) {
            session.ingest(&read.id, &read.path, reply);
        }
    }
    let diagnosis = session.diagnose(system_now());
    Ok(Round { session, diagnosis })
}

/// The first transport error when not a single reply came back over HTTP.
fn unreachable(replies: &[HttpReply]) -> Option<String> {
    if replies.iter().any(|r| r.transport_error.is_none()) {
        return None;
    }
    Some(
        replies
            .iter()
            .find_map(|r| r.transport_error.clone())
            .unwrap_or_else(|| "no reads were sent".into()),
    )
}

impl Round {
    /// Why a deployment started now would get 409, one phrase each; empty when clear.
    ///
    /// Clear means: no deployment lock is live, held (Windows) or orphaned (held by nothing
    /// that progresses), `/api/isdeploying` does not say True, `/api/deployments/latest` is
    /// not 202, and no autoswap is under way. A Linux lock past its `lockExpiry` does not
    /// count by itself: KuduLite's public source ignores it. Production reports say such a
    /// lock can still block, and then KuduLite also answers `isdeploying` True, which does
    /// count. What could not be read counts as busy: waiting longer is safer than a 409.
    pub fn blockers(&self) -> Vec<String> {
        let now = self.diagnosis.now;
        let lock = &self.diagnosis.lock;
        let mut out = Vec::new();
        let holder = lock
            .holder_operation
            .as_deref()
            .map(|h| format!(" by '{}'", one_line(h, 120)))
            .unwrap_or_default();
        let expiry = lock
            .secs_left
            .filter(|s| *s > 0)
            .map(|s| format!(", expires by itself in {}", show_secs(s)))
            .unwrap_or_default();
        match lock.state {
            LockState::Live => out.push(format!(
                "the deployment lock is held{holder} and in use{expiry}"
            )),
            LockState::Orphaned => out.push(format!(
                "the deployment lock is held{holder} but nothing is using it{expiry}"
            )),
            LockState::Held => {
                out.push("a Kudu process holds site/locks/deployments.lock".to_string());
            }
            LockState::Unknown => out.push(format!(
                "the deployment lock's state is unknown: {}",
                one_line(&lock.explanation, 300)
            )),
            LockState::Free | LockState::Expired => {}
        }
        match &self.session.is_deploying {
            Observed::Value(d) if d.deploying => {
                let msg = if d.message.is_empty() {
                    "True".to_string()
                } else {
                    format!("True ({})", one_line(&d.message, 80))
                };
                out.push(format!("/api/isdeploying says {msg}"));
            }
            Observed::Failed { status, reason } => out.push(format!(
                "/api/isdeploying could not be read (HTTP {status}: {})",
                one_line(reason, 200)
            )),
            _ => {}
        }
        match &self.session.latest {
            Observed::Value(latest) if latest.http_status == 202 => {
                let d = &latest.deployment;
                let id =
                    d.id.as_deref()
                        .map(|id| format!(" {}", short_id(id)))
                        .unwrap_or_default();
                let since = d
                    .received
                    .or(d.started)
                    .map(|t| format!(", since {}", when(t, now)))
                    .unwrap_or_default();
                out.push(format!(
                    "deployment{id} by {} is not finished (latest answers 202){since}",
                    if d.deployer.is_empty() {
                        "an unnamed deployer"
                    } else {
                        &d.deployer
                    }
                ));
            }
            Observed::Failed { status, reason } => out.push(format!(
                "/api/deployments/latest could not be read (HTTP {status}: {})",
                one_line(reason, 200)
            )),
            _ => {}
        }
        if self.diagnosis.has(CauseId::AutoswapInProgress) {
            out.push("an autoswap is in progress (site/locks/autoswap.lock is fresh)".into());
        }
        out
    }

    /// The lock looks stuck rather than busy: worth a person's look.
    pub fn looks_stuck(&self) -> bool {
        matches!(
            self.diagnosis.lock.state,
            LockState::Orphaned | LockState::Expired
        ) || self.diagnosis.primary().is_some_and(|f| {
            matches!(
                f.cause,
                CauseId::StaleLock
                    | CauseId::WindowsLockHeld
                    | CauseId::CancelledThenRetried
                    | CauseId::StatusLockDenied
            )
        })
    }
}

/// A client for the site at `url` with the environment's credentials, warmed up so the
/// affinity cookie is pinned. Fails with a usage error for a bad URL or half-set
/// credentials, and with exit 1 when the site cannot be reached at all.
pub fn connect(url: &str) -> Result<ScmClient, Failure> {
    let origin = ScmOrigin::parse(url).map_err(Failure::usage)?;
    let credentials = Credentials::from_env(|name| std::env::var(name).ok())?;
    if origin.is_plain_http_to_another_machine() && credentials != Credentials::None {
        report::warning(&format!(
            "{} is plain http://: the credentials cross the network unencrypted",
            origin.as_str()
        ));
    }
    let client = ScmClient::new(origin, credentials);
    client.warm_up().map_err(|e| {
        Failure::new(
            FAILURE,
            format!("cannot reach {}: {e}", client.origin().as_str()),
        )
    })?;
    Ok(client)
}

/// The first 8 characters of a 32-hex-digit deployment id; other ids as they are.
fn short_id(id: &str) -> String {
    if id.len() > 12 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        id[..8].to_string()
    } else {
        one_line(id, 40)
    }
}
