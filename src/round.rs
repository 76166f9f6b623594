//! The wizard's side of one diagnosis round: the core's [`DiagnosisRound`] decides what to read
//! and when the answer is settled; this turns its events into what the UI shows (a "checking"
//! text, then a [`Snapshot`], then the same snapshot with its plan) and keeps the list of
//! reads that failed. Pure (no I/O, no clock), so it is tested natively; the hook that sends
//! the reads lives in `hooks::use_diagnosis`.
//!
//! Memory is what limits a big site here (issue 6: 5,000 leftover folders), and wasm memory
//! never shrinks, so what counts is what is alive at once. Each reply is handed to the round as
//! it arrives and its body dropped there; the plan is built by the round before the snapshot
//! that carries it is made.

use std::rc::Rc;

use kudu_core::{
    CleanupPlan, Diagnosis, DiagnosisRound, HttpReply, PlanKind, Read, ReadToken, RoundEvent,
    Session, Timestamp,
};

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
    /// `WEBSITE_OWNER_NAME`: `<subscription-guid>+<rg>-<region>webspace`.
    pub owner_name: Option<String>,
}

/// Everything one successful round produced.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub diagnosis: Diagnosis,
    /// Shared with the guide and with a run started from it: on a site with thousands of
    /// leftover folders one copy is megabytes of wasm memory, which never shrinks.
    pub plan: Rc<CleanupPlan>,
    pub site: SiteFacts,
    /// Reads that failed this round; the diagnosis was built from the others.
    pub failed_reads: Vec<ReadFailure>,
    /// The SCM site's clock minus the browser's, from the replies' `Date` headers (0 when
    /// none had one). Kudu's times are the server's: countdowns add this to the browser clock.
    pub clock_offset_ms: i64,
    /// What was read, for plans the user shapes later (a full reset's options). Empty until
    /// the plan is in ([`Snapshot::is_planned`]): the round still holds it before.
    pub session: Rc<Session>,
}

impl PartialEq for Snapshot {
    /// Components compare their props on every render, and a big site's snapshot holds
    /// thousands of records and steps: the same snapshot is equal at once, and a session
    /// shared by two snapshots (one round's) without walking it.
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
            || (self.diagnosis == other.diagnosis
                && (Rc::ptr_eq(&self.plan, &other.plan) || self.plan == other.plan)
                && self.site == other.site
                && self.failed_reads == other.failed_reads
                && self.clock_offset_ms == other.clock_offset_ms
                && (Rc::ptr_eq(&self.session, &other.session) || self.session == other.session))
    }
}

/// Why a round produced no diagnosis at all.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum RoundFailure {
    /// Every read failed (network down, site down, all 5xx).
    Unreachable { failures: Vec<ReadFailure> },
}

/// The result of one round.
#[derive(Clone, PartialEq, Debug)]
pub enum RoundOutcome {
    Diagnosed(Rc<Snapshot>),
    Failed(RoundFailure),
}

/// What a round has to show.
#[derive(Clone, PartialEq, Debug)]
pub enum RoundUpdate {
    /// The first reads are in, the logs that can change the answer are being read: show this
    /// as "checking", never as the diagnosis.
    Checking(String),
    /// The round is over: the settled diagnosis (its plan follows), or no answer at all.
    Finished(RoundOutcome),
    /// The settled snapshot again, with its cleanup plan and the session.
    Planned(Rc<Snapshot>),
}

/// One round as the wizard runs it: the core's machine plus the reads that failed.
pub struct WizardRound {
    machine: DiagnosisRound,
    /// With the index of their read, to list them in read order.
    failures: Vec<(usize, ReadFailure)>,
    settled: Option<Snapshot>,
}

impl WizardRound {
    pub fn new(cache_bust: u64) -> Self {
        WizardRound {
            machine: DiagnosisRound::new(cache_bust),
            failures: vec![],
            settled: None,
        }
    }

    /// The error text the user pasted, read with the site's replies.
    pub fn paste_error(&mut self, text: &str) {
        self.machine.paste_error(text);
    }

    /// The reads to send now, all at once.
    pub fn poll_reads(&mut self) -> Vec<(ReadToken, Read)> {
        self.machine.poll_reads()
    }

    /// Takes one reply as it arrives, with the browser's clock; its body is dropped when this
    /// returns.
    pub fn handle_reply(&mut self, token: ReadToken, reply: HttpReply, wall: Timestamp) {
        if self.machine.is_first_read(token)
            && let Some(error) = kudu_http::classify(&reply)
            && let Some(read) = self.machine.read(token)
        {
            let endpoint = endpoint_of(&read.path);
            self.failures.push((
                self.machine.read_index(token),
                ReadFailure { endpoint, error },
            ));
        }
        self.machine.handle_reply(token, &reply, wall);
    }

    /// The next thing to show. The plan is built in the call that returns
    /// [`RoundUpdate::Planned`]: call it again only after the browser has rendered.
    pub fn poll_update(&mut self) -> Option<RoundUpdate> {
        let event = self.machine.poll_event()?;
        Some(match event {
            RoundEvent::Provisional(provisional) => RoundUpdate::Checking(provisional.checking),
            RoundEvent::Settled(diagnosis) => {
                let snapshot = Snapshot {
                    diagnosis: *diagnosis,
                    plan: Rc::new(unplanned()),
                    site: site_facts(self.machine.session()),
                    failed_reads: self.failed_reads(),
                    clock_offset_ms: self.machine.clock_offset_ms(),
                    session: Rc::default(),
                };
                self.settled = Some(snapshot.clone());
                RoundUpdate::Finished(RoundOutcome::Diagnosed(Rc::new(snapshot)))
            }
            RoundEvent::PlanReady(plan) => {
                let session = Rc::new(self.machine.take_session());
                let settled = self.settled.take()?;
                RoundUpdate::Planned(Rc::new(Snapshot {
                    plan: Rc::new(*plan),
                    session,
                    ..settled
                }))
            }
            RoundEvent::Unreachable => {
                RoundUpdate::Finished(RoundOutcome::Failed(RoundFailure::Unreachable {
                    failures: self.failed_reads(),
                }))
            }
        })
    }

    pub fn is_done(&self) -> bool {
        self.machine.is_done()
    }

    /// When to call [`WizardRound::handle_timeout`]: the round waits between two reads of a
    /// build's processes (Windows) and hands out nothing meanwhile.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.machine.poll_timeout()
    }

    pub fn handle_timeout(&mut self, wall: Timestamp) {
        self.machine.handle_timeout(wall);
    }

    fn failed_reads(&self) -> Vec<ReadFailure> {
        let mut failures = self.failures.clone();
        failures.sort_by_key(|(index, _)| *index);
        failures.into_iter().map(|(_, failure)| failure).collect()
    }
}

/// The settings the guide quotes, when they were read and are not blank.
fn site_facts(session: &Session) -> SiteFacts {
    let setting = |key: &str| session.setting(key).map(str::to_string);
    SiteFacts {
        name: setting("WEBSITE_SITE_NAME"),
        resource_group: setting("WEBSITE_RESOURCE_GROUP"),
        owner_name: setting("WEBSITE_OWNER_NAME"),
    }
}

impl Snapshot {
    /// Whether the plan is built (a built plan always has steps or a reason for none).
    pub fn is_planned(&self) -> bool {
        *self.plan != unplanned()
    }
}

/// The plan a snapshot carries until the round's plan is in: no steps and no reason.
pub fn unplanned() -> CleanupPlan {
    CleanupPlan {
        kind: PlanKind::Targeted,
        steps: vec![],
        refused: vec![],
        verify: vec![],
        loses: vec![],
        keeps: vec![],
        not_offered: None,
        requires_acknowledgement: None,
    }
}

/// The path without its query: `/api/deployments?_=123` reads as `/api/deployments`.
fn endpoint_of(path: &str) -> String {
    path.split('?').next().unwrap_or(path).to_string()
}

#[cfg(test)]
mod tests {
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

    /// Runs a round whose first reads get `reply(index)`, in the given order, and returns
    /// every update.
    fn run(reply: impl Fn(usize) -> HttpReply, reverse: bool) -> Vec<RoundUpdate> {
        let mut round = WizardRound::new(1);
        let mut updates = vec![];
        let mut batch: Vec<(usize, (ReadToken, Read))> =
            round.poll_reads().into_iter().enumerate().collect();
        if reverse {
            batch.reverse();
        }
        for (index, (token, _)) in batch {
            round.handle_reply(token, reply(index), NOW);
        }
        while let Some(update) = round.poll_update() {
            updates.push(update);
        }
        assert!(round.is_done(), "no follow-ups for these replies");
        updates
    }

    fn settled(updates: &[RoundUpdate]) -> Rc<Snapshot> {
        match &updates[0] {
            RoundUpdate::Finished(RoundOutcome::Diagnosed(snapshot)) => snapshot.clone(),
            other => panic!("not settled: {other:?}"),
        }
    }

    #[test]
    fn a_login_page_is_listed_and_the_core_names_the_expired_session() {
        let login = HttpReply {
            status: 200,
            content_type: Some("text/html".into()),
            body: "<html>Sign in</html>".into(),
            ..HttpReply::default()
        };
        let updates = run(|i| if i == 0 { login.clone() } else { ok_json() }, false);
        assert_eq!(
            settled(&updates).failed_reads,
            vec![ReadFailure {
                endpoint: "/api/deployments".into(),
                error: KuduHttpError::SessionExpired { status: 200 },
            }]
        );
        let everything = run(|_| login.clone(), false);
        assert_eq!(
            settled(&everything).diagnosis.primary().map(|f| f.cause),
            Some(kudu_core::CauseId::SessionExpired),
            "all sign-in pages: still the core's diagnosis"
        );
    }

    #[test]
    fn partial_failures_are_listed_beside_a_diagnosis() {
        let updates = run(|i| if i == 0 { server_error() } else { ok_json() }, false);
        let snapshot = settled(&updates);
        assert_eq!(snapshot.failed_reads.len(), 1);
        assert_eq!(snapshot.failed_reads[0].endpoint, "/api/deployments");
        assert_eq!(snapshot.diagnosis.now, NOW);
    }

    #[test]
    fn nothing_usable_is_unreachable() {
        let updates = run(|_| server_error(), false);
        let [RoundUpdate::Finished(RoundOutcome::Failed(RoundFailure::Unreachable { failures }))] =
            updates.as_slice()
        else {
            panic!("all reads failed: {updates:?}");
        };
        assert_eq!(failures.len(), kudu_core::reads::diagnosis_reads(1).len());
    }

    #[test]
    fn the_diagnosis_runs_on_the_servers_clock() {
        // NOW is 2025-11-26T09:40:00Z; the server says 09:45:00, five minutes ahead.
        let dated = |i: usize| {
            let mut reply = ok_json();
            if i == 3 {
                reply
                    .headers
                    .push(("date".into(), "Wed, 26 Nov 2025 09:45:00 GMT".into()));
            }
            reply
        };
        let snapshot = settled(&run(dated, false));
        assert_eq!(snapshot.clock_offset_ms, 300_000);
        assert_eq!(snapshot.diagnosis.now, NOW.plus_secs(300));
        let no_date = settled(&run(|_| ok_json(), false));
        assert_eq!((no_date.clock_offset_ms, no_date.diagnosis.now), (0, NOW));
    }

    #[test]
    fn the_diagnosis_comes_first_and_the_plan_after() {
        let updates = run(|_| ok_json(), false);
        let unplanned = settled(&updates);
        assert!(!unplanned.is_planned());
        let RoundUpdate::Planned(planned) = &updates[1] else {
            panic!("{updates:?}");
        };
        assert!(planned.is_planned(), "a built plan has steps or a reason");
        assert_eq!(planned.diagnosis, unplanned.diagnosis);
        assert_eq!(updates.len(), 2);
    }

    #[test]
    fn replies_in_any_order_list_the_same_failures() {
        let reply = |i: usize| match i {
            0 | 6 => server_error(),
            3 => HttpReply {
                status: 401,
                ..ok_json()
            },
            _ => ok_json(),
        };
        let forward = settled(&run(reply, false));
        let backward = settled(&run(reply, true));
        assert_eq!(forward.failed_reads, backward.failed_reads);
        assert_eq!(forward.failed_reads.len(), 3);
        assert_eq!(forward.diagnosis, backward.diagnosis);
    }

    #[test]
    fn endpoints_drop_the_cache_busting_query() {
        assert_eq!(endpoint_of("/api/deployments?_=99"), "/api/deployments");
        assert_eq!(endpoint_of("/api/isdeploying"), "/api/isdeploying");
    }
}
