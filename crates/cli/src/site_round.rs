//! One diagnosis of a live site: this shell sends the reads the core's [`DiagnosisRound`] hands
//! out, each batch at once, and hands the replies back with the system clock (the shell owns the
//! clock; the core never reads it) until the round settles.

use std::time::SystemTime;

use kudu_core::diagnose::BlockerKind;
use kudu_core::parse::one_line;
use kudu_core::{
    CauseId, CleanupPlan, Diagnosis, DiagnosisRound, HttpReply, RoundEvent, Timestamp,
};

use crate::duration_arg::show_secs;
use crate::exit_code::{AUTH, FAILURE, Failure};
use crate::report;
use crate::scm::{Credentials, ScmClient, ScmOrigin, auth_failure_message};

/// What one round concluded.
pub struct Round {
    pub diagnosis: Diagnosis,
    /// The targeted plan, when the round was asked for one ([`Plan::Wanted`]).
    pub plan: Option<CleanupPlan>,
    /// `WEBSITE_SITE_NAME`, when it was read.
    pub site_name: Option<String>,
}

/// What a round read besides the diagnosis, which a cleanup needs.
pub struct RoundExtras {
    /// `WEBSITE_RESOURCE_GROUP`, when it was read (the Linux restart command names it).
    pub resource_group: Option<String>,
    /// The SCM site's clock minus this machine's, from the replies' `Date` headers: a cleanup
    /// run works on the site's time.
    pub clock_offset_ms: i64,
    /// What the round read, once its plan is in: a full reset is planned from it.
    pub session: Option<kudu_core::Session>,
}

/// Whether a round builds its cleanup plan (`wait` needs none, and a big site's plan costs).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Plan {
    Wanted,
    NotWanted,
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

/// Reads the site and diagnoses it: drives the core's [`DiagnosisRound`] until it settles,
/// sending each batch of reads at once. Fails (exit 1) only when no read got any answer at
/// all; every other problem is part of the diagnosis.
pub fn diagnose_site(client: &ScmClient, plan: Plan) -> Result<Round, Failure> {
    diagnose_site_with_extras(client, plan).map(|(round, _)| round)
}

/// [`diagnose_site`] with the error text the user got (`--error-file`): the core combines its
/// classification with what the site shows.
pub fn diagnose_site_pasted(
    client: &ScmClient,
    plan: Plan,
    pasted: &str,
) -> Result<Round, Failure> {
    drive_round(client, plan, Some(pasted)).map(|(round, _)| round)
}

/// [`diagnose_site`], and what a cleanup run needs besides the diagnosis.
pub fn diagnose_site_with_extras(
    client: &ScmClient,
    plan: Plan,
) -> Result<(Round, RoundExtras), Failure> {
    drive_round(client, plan, None)
}

fn drive_round(
    client: &ScmClient,
    plan: Plan,
    pasted: Option<&str>,
) -> Result<(Round, RoundExtras), Failure> {
    let cache_bust = u64::try_from(system_now().unix_millis()).unwrap_or(0);
    let mut round = DiagnosisRound::new(cache_bust);
    if let Some(text) = pasted {
        round.paste_error(text);
    }
    // The instance the pinned affinity cookie names: the one every read of this round reaches.
    if let Some(instance) = client.affinity_instance() {
        round.reached_instance_is(&instance);
    }
    let mut first_replies: Option<Vec<HttpReply>> = None;
    loop {
        let batch = round.poll_reads();
        let reads: Vec<_> = batch.iter().map(|(_, read)| read.clone()).collect();
        let replies = client.send_all(&reads);
        let wall = system_now();
        for ((token, _), reply) in batch.iter().zip(&replies) {
            round.handle_reply(*token, reply, wall);
        }
        first_replies.get_or_insert(replies);
        let mut settled = None;
        while let Some(event) = round.poll_event() {
            match event {
                RoundEvent::Settled(diagnosis) => {
                    let site_name = round
                        .session()
                        .setting("WEBSITE_SITE_NAME")
                        .map(str::to_string);
                    let extras = RoundExtras {
                        resource_group: round
                            .session()
                            .setting("WEBSITE_RESOURCE_GROUP")
                            .map(str::to_string),
                        clock_offset_ms: round.clock_offset_ms(),
                        session: None,
                    };
                    settled = Some((
                        Round {
                            diagnosis: *diagnosis,
                            plan: None,
                            site_name,
                        },
                        extras,
                    ));
                    if plan == Plan::NotWanted {
                        break;
                    }
                }
                RoundEvent::PlanReady(built) => {
                    if let Some((settled, extras)) = settled.as_mut() {
                        settled.plan = Some(*built);
                        extras.session = Some(round.take_session());
                    }
                }
                RoundEvent::Unreachable => {
                    let error = first_replies
                        .as_deref()
                        .and_then(unreachable)
                        .unwrap_or_else(|| "every read failed".into());
                    return Err(Failure::new(
                        FAILURE,
                        format!("cannot reach {}: {error}", client.origin().as_str()),
                    ));
                }
                RoundEvent::Provisional(_) => {}
            }
        }
        if let Some(settled) = settled {
            return Ok(settled);
        }
        if batch.is_empty()
            && let Some(until) = round.poll_timeout()
        {
            // The round waits between two reads of a build's processes (Windows): sleep on this
            // machine's clock, then let it hand out the second reads.
            let wait_ms = until
                .unix_millis()
                .saturating_sub(system_now().unix_millis())
                .max(0);
            std::thread::sleep(std::time::Duration::from_millis(
                u64::try_from(wait_ms).unwrap_or(0),
            ));
            round.handle_timeout(system_now());
            continue;
        }
        if batch.is_empty() {
            // The round asked for nothing and said nothing: it cannot settle any further.
            return Err(Failure::new(
                FAILURE,
                format!(
                    "the diagnosis of {} did not settle",
                    client.origin().as_str()
                ),
            ));
        }
    }
}

/// What to say when no read got an answer: the first transport error, or the first status.
fn unreachable(replies: &[HttpReply]) -> Option<String> {
    replies
        .iter()
        .find_map(|r| r.transport_error.clone())
        .or_else(|| {
            replies
                .iter()
                .find(|r| r.status >= 500)
                .map(|r| format!("every read failed (HTTP {})", r.status))
        })
}

impl Round {
    /// Why a deployment started now would get 409, one phrase each; empty when clear. The
    /// core's verdict decides ([`kudu_core::diagnose::Deployability`]), and what it could not
    /// read counts as busy: waiting longer is safer than a 409. A run-from-package URL is left
    /// out: it is no lock and never ends by itself, so waiting cannot help (the wait warns).
    pub fn blockers(&self) -> Vec<String> {
        self.diagnosis
            .deployability
            .blockers
            .iter()
            .filter(|b| b.kind != BlockerKind::RunFromPackageUrl)
            .map(|b| {
                let until = b
                    .until
                    .filter(|u| *u > self.diagnosis.now)
                    .map(|u| {
                        format!(
                            ", ends by itself in {}",
                            show_secs(self.diagnosis.now.secs_until(u))
                        )
                    })
                    .unwrap_or_default();
                format!("{}{until}", one_line(&b.text, 300))
            })
            .collect()
    }

    /// The lock looks stuck rather than busy: worth a person's look.
    pub fn looks_stuck(&self) -> bool {
        self.diagnosis
            .deployability
            .blocked_by(BlockerKind::StaleLock)
            || self.diagnosis.primary().is_some_and(|f| {
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
pub fn connect(url: &str, allowed_hosts: &[String]) -> Result<ScmClient, Failure> {
    let origin = ScmOrigin::parse(url).map_err(Failure::usage)?;
    let credentials = Credentials::from_env(|name| std::env::var(name).ok())?;
    if let Some(refusal) = origin.credentials_refusal(&credentials, allowed_hosts) {
        return Err(Failure::usage(refusal));
    }
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
