//! One read round turned into what the UI shows: the replies go into a `kudu-core` session,
//! which diagnoses and plans. Pure (no I/O, no clock), so it is tested natively; the hook that
//! sends the reads lives in `hooks::use_diagnosis`.
//!
//! Memory is what limits a big site here (issue 6: 5,000 leftover folders), and wasm memory
//! never shrinks, so what counts is what is alive at once. Each reply is taken as it arrives
//! and its body dropped once the session has it ([`RoundIngest`]); a plan is built before the
//! diagnosis is copied next to it ([`Snapshot::with_plan`]).

use std::rc::Rc;

use kudu_core::session::Observed;
use kudu_core::{CleanupPlan, Diagnosis, HttpReply, PlanKind, Read, ReadId, Session, Timestamp};

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
    /// What was read, for plans the user shapes later (a full reset's options).
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

/// A round's replies in a session, kept so the follow-up reads can be added to it.
pub struct RoundRead {
    /// Shared with the snapshots made from it; a follow-up reply copies it first.
    pub session: Rc<Session>,
    pub failed_reads: Vec<ReadFailure>,
    /// Server clock minus browser clock, when a reply said what time it was.
    pub clock_offset_ms: Option<i64>,
}

impl RoundRead {
    /// Adds the reply to one of [`Session::follow_up_reads`], as it arrives. Follow-ups only
    /// refine: a failed log read is simply not evidence. The first one of a round copies the
    /// session when a snapshot still shares it.
    pub fn add_follow_up(&mut self, read: &Read, reply: HttpReply) {
        if kudu_http::classify(&reply).is_none() {
            Rc::make_mut(&mut self.session).ingest(&read.id, &read.path, &reply);
        }
    }

    /// After the replies to `reads` were added in whatever order they came: lists what they
    /// left in the session in the order of `reads`, after what was there before.
    pub fn follow_ups_done(&mut self, reads: &[Read]) {
        // Shared means no reply was added since the last snapshot: nothing to order.
        if let Some(session) = Rc::get_mut(&mut self.session) {
            in_read_order(session, reads);
        }
    }

    /// Diagnoses what was read, at the server's time for browser time `wall`, without
    /// planning: what the launcher and the diagnosis need, at once. Its `plan` is
    /// [`unplanned`] until [`Snapshot::with_plan`] builds the real one.
    pub fn snapshot_unplanned(&self, wall: Timestamp) -> Snapshot {
        let offset = self.clock_offset_ms.unwrap_or(0);
        let now = Timestamp::from_unix_millis(wall.unix_millis().saturating_add(offset));
        let session = &self.session;
        let setting = |key: &str| match session.settings.get(key) {
            Some(Observed::Value(Some(value))) if !value.trim().is_empty() => Some(value.clone()),
            _ => None,
        };
        Snapshot {
            diagnosis: session.diagnose(now),
            plan: Rc::new(unplanned()),
            site: SiteFacts {
                name: setting("WEBSITE_SITE_NAME"),
                resource_group: setting("WEBSITE_RESOURCE_GROUP"),
                owner_name: setting("WEBSITE_OWNER_NAME"),
            },
            failed_reads: self.failed_reads.clone(),
            clock_offset_ms: offset,
            session: session.clone(),
        }
    }
}

impl Snapshot {
    /// The same snapshot with its targeted cleanup plan built.
    pub fn with_plan(&self) -> Snapshot {
        // The plan first: building it is the round's biggest moment in memory, and the copy of
        // the diagnosis need not be alive through it.
        let plan = kudu_core::plan::plan(&self.session, &self.diagnosis, PlanKind::Targeted);
        Snapshot {
            plan: Rc::new(plan),
            ..self.clone()
        }
    }
}

/// The plan a snapshot carries before [`Snapshot::with_plan`]: no steps and no reason. A built
/// plan always has one or the other (steps, or why there are none).
pub fn unplanned() -> CleanupPlan {
    CleanupPlan {
        kind: PlanKind::Targeted,
        steps: vec![],
        refused: vec![],
        verify: vec![],
        loses: vec![],
        keeps: vec![],
        not_offered: None,
    }
}

/// A round's replies taken as they arrive, in any order, each body dropped once the session
/// has what it needs from it: on a big site the deployment list and the folder listing are
/// megabytes each, and holding every body until the slowest read answered was most of the
/// extension's peak memory (issue 6). The outcome does not depend on the order of arrival.
///
/// Failed reads are listed and the core diagnoses from all replies: a sign-in page where JSON
/// was expected is the core's `session-expired` finding, which then leads. The round fails
/// only when no read got an answer from Kudu or its front end at all (network, 5xx).
pub struct RoundIngest<'r> {
    reads: &'r [Read],
    session: Session,
    /// With the index of their read, to list them in read order.
    failures: Vec<(usize, ReadFailure)>,
    /// The latest `Date` a reply carried.
    server_now: Option<Timestamp>,
}

impl<'r> RoundIngest<'r> {
    pub fn new(reads: &'r [Read]) -> Self {
        RoundIngest {
            reads,
            session: Session::new(),
            failures: Vec::new(),
            server_now: None,
        }
    }

    /// Takes the reply to `reads[index]`, and with it its body.
    pub fn add(&mut self, index: usize, reply: HttpReply) {
        let Some(read) = self.reads.get(index) else {
            return;
        };
        if let Some(error) = kudu_http::classify(&reply) {
            let endpoint = endpoint_of(&read.path);
            self.failures.push((index, ReadFailure { endpoint, error }));
        }
        // Failed replies go in too: the core records them as observations it cannot use.
        self.session.ingest(&read.id, &read.path, &reply);
        let date = reply.header("date").and_then(parse_http_date);
        self.server_now = self.server_now.max(date);
    }

    /// The round as read so far; `wall` is the browser's clock when the last reply arrived.
    pub fn finish(mut self, wall: Timestamp) -> Result<RoundRead, RoundFailure> {
        in_read_order(&mut self.session, self.reads);
        self.failures.sort_by_key(|(index, _)| *index);
        let failed_reads: Vec<ReadFailure> = self
            .failures
            .into_iter()
            .map(|(_, failure)| failure)
            .collect();
        let reads = self.reads;
        let expired =
            |failure: &ReadFailure| matches!(failure.error, KuduHttpError::SessionExpired { .. });
        if !reads.is_empty()
            && failed_reads.len() >= reads.len()
            && !failed_reads.iter().any(expired)
        {
            return Err(RoundFailure::Unreachable {
                failures: failed_reads,
            });
        }
        Ok(RoundRead {
            session: Rc::new(self.session),
            failed_reads,
            clock_offset_ms: self
                .server_now
                .map(|now| now.unix_millis() - wall.unix_millis()),
        })
    }
}

/// Puts what the session lists per read (warnings, lock errors, OS hints) in the order of
/// `reads`, as if the replies had arrived in that order, after entries from other reads. Each
/// read's own entries stay as they were, so the report reads the same whichever reply came
/// first.
fn in_read_order(session: &mut Session, reads: &[Read]) {
    let by_path = |path: &str| reads.iter().position(|read| read.path == path);
    let by_id = |id: &ReadId| reads.iter().position(|read| read.id == *id);
    // `None` (not one of these reads) sorts first, and the sorts are stable: what earlier
    // rounds left keeps its place.
    session
        .warnings
        .sort_by_cached_key(|warning| by_path(&warning.endpoint));
    session
        .lock_errors
        .sort_by_cached_key(|(id, _, _)| by_id(id));
    session.os_hints.sort_by_cached_key(|(id, _)| by_id(id));
}

/// Parses an HTTP `Date` (IMF-fixdate, `Thu, 26 Nov 2026 10:34:40 GMT`); `None` otherwise.
pub fn parse_http_date(text: &str) -> Option<Timestamp> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut parts = text.split_ascii_whitespace();
    let (_weekday, day, month, year, clock, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if zone != "GMT" || parts.next().is_some() {
        return None;
    }
    let day: i64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let year: i64 = year.parse().ok().filter(|y| (1970..=9999).contains(y))?;
    let mut hms = clock.split(':').map(|n| n.parse::<i64>().ok());
    let (hour, minute, second) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(Timestamp::from_unix_millis(secs * 1000))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The path without its query: `/api/deployments?_=123` reads as `/api/deployments`.
fn endpoint_of(path: &str) -> String {
    path.split('?').next().unwrap_or(path).to_string()
}

#[cfg(test)]
mod tests {
    use kudu_core::reads::diagnosis_reads;

    use super::*;

    /// A round's replies in the order of `reads`, as [`RoundIngest`] takes them.
    fn ingest_round(
        reads: &[Read],
        replies: &[HttpReply],
        wall: Timestamp,
    ) -> Result<RoundRead, RoundFailure> {
        let mut round = RoundIngest::new(reads);
        for (index, reply) in replies.iter().enumerate().take(reads.len()) {
            round.add(index, reply.clone());
        }
        round.finish(wall)
    }

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

    fn outcome_from_replies(
        reads: &[Read],
        replies: &[HttpReply],
        wall: Timestamp,
    ) -> RoundOutcome {
        match ingest_round(reads, replies, wall) {
            Ok(read) => RoundOutcome::Diagnosed(Rc::new(read.snapshot_unplanned(wall).with_plan())),
            Err(failure) => RoundOutcome::Failed(failure),
        }
    }

    const NOW: Timestamp = Timestamp::from_unix_millis(1_764_150_000_000);

    #[test]
    fn a_login_page_is_listed_and_the_core_names_the_expired_session() {
        let reads = diagnosis_reads(1);
        let mut replies = vec![ok_json(); reads.len()];
        let login = HttpReply {
            status: 200,
            content_type: Some("text/html".into()),
            body: "<html>Sign in</html>".into(),
            ..HttpReply::default()
        };
        replies[0] = login.clone();
        let RoundOutcome::Diagnosed(snapshot) = outcome_from_replies(&reads, &replies, NOW) else {
            panic!("a sign-in page is a diagnosis, not a failed round");
        };
        assert_eq!(
            snapshot.failed_reads,
            vec![ReadFailure {
                endpoint: "/api/deployments".into(),
                error: KuduHttpError::SessionExpired { status: 200 },
            }]
        );
        let everything = vec![login; reads.len()];
        let RoundOutcome::Diagnosed(snapshot) = outcome_from_replies(&reads, &everything, NOW)
        else {
            panic!("all sign-in pages: still the core's diagnosis");
        };
        assert_eq!(
            snapshot.diagnosis.primary().map(|f| f.cause),
            Some(kudu_core::CauseId::SessionExpired)
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
    fn the_diagnosis_runs_on_the_servers_clock() {
        let reads = diagnosis_reads(1);
        let mut replies = vec![ok_json(); reads.len()];
        // NOW is 2025-11-26T09:40:00Z; the server says 09:45:00, five minutes ahead.
        replies[3]
            .headers
            .push(("date".into(), "Wed, 26 Nov 2025 09:45:00 GMT".into()));
        let RoundOutcome::Diagnosed(snapshot) = outcome_from_replies(&reads, &replies, NOW) else {
            panic!("diagnosed");
        };
        assert_eq!(snapshot.clock_offset_ms, 300_000);
        assert_eq!(snapshot.diagnosis.now, NOW.plus_secs(300));
        let RoundOutcome::Diagnosed(no_date) =
            outcome_from_replies(&reads, &vec![ok_json(); reads.len()], NOW)
        else {
            panic!("diagnosed");
        };
        assert_eq!((no_date.clock_offset_ms, no_date.diagnosis.now), (0, NOW));
    }

    #[test]
    fn the_diagnosis_comes_first_and_the_plan_after() {
        let reads = diagnosis_reads(1);
        let replies = vec![ok_json(); reads.len()];
        let Ok(read) = ingest_round(&reads, &replies, NOW) else {
            panic!("diagnosed");
        };
        let unplanned = read.snapshot_unplanned(NOW);
        assert_eq!(*unplanned.plan, super::unplanned());
        let planned = unplanned.with_plan();
        assert_ne!(
            *planned.plan,
            super::unplanned(),
            "a built plan has steps or a reason"
        );
        assert_eq!(planned.diagnosis, unplanned.diagnosis);
        assert!(Rc::ptr_eq(&planned.session, &unplanned.session));
    }

    #[test]
    fn replies_in_any_order_make_the_same_round() {
        let reads = diagnosis_reads(3);
        let mut replies = vec![ok_json(); reads.len()];
        // Warnings from two reads, a lock error, an OS hint, a failure and a date.
        replies[0].body = r#"[{"id":"a","status":4,"end_time":"later"},7]"#.into();
        replies[1] = HttpReply {
            status: 409,
            content_type: Some("text/plain".into()),
            body: "There is an auto swap deployment currently ongoing".into(),
            ..HttpReply::default()
        };
        replies[3] = HttpReply {
            status: 404,
            content_type: Some("application/json".into()),
            body: r#"{"Message":"'/home/site/locks' not found."}"#.into(),
            ..HttpReply::default()
        };
        replies[5].body = r#"[{"name":""},{"name":"x","size":-1}]"#.into();
        replies[6] = server_error();
        replies[7]
            .headers
            .push(("date".into(), "Wed, 26 Nov 2025 09:45:00 GMT".into()));
        let Ok(in_order) = ingest_round(&reads, &replies, NOW) else {
            panic!("diagnosed");
        };
        assert!(in_order.session.warnings.len() >= 4);
        let mut reversed = RoundIngest::new(&reads);
        for (index, reply) in replies.iter().enumerate().rev() {
            reversed.add(index, reply.clone());
        }
        let Ok(reversed) = reversed.finish(NOW) else {
            panic!("diagnosed");
        };
        assert_eq!(reversed.session, in_order.session);
        assert_eq!(reversed.failed_reads, in_order.failed_reads);
        assert_eq!(reversed.clock_offset_ms, in_order.clock_offset_ms);
    }

    #[test]
    fn follow_ups_in_any_order_are_listed_after_the_round() {
        let reads = diagnosis_reads(3);
        let mut replies = vec![ok_json(); reads.len()];
        replies[0].body = r#"[{"id":"a","status":4,"end_time":"later"}]"#.into();
        let Ok(mut forwards) = ingest_round(&reads, &replies, NOW) else {
            panic!("diagnosed");
        };
        let Ok(mut backwards) = ingest_round(&reads, &replies, NOW) else {
            panic!("diagnosed");
        };
        let follow_ups: Vec<Read> = ["a", "b"]
            .into_iter()
            .map(|id| Read {
                id: ReadId::DeploymentLog(id.into()),
                method: "GET",
                path: format!("/api/deployments/{id}/log"),
                headers: vec![],
            })
            .collect();
        let log = HttpReply {
            body: r#"[{"log_time":"soon","id":"x","message":"m","type":"loud"}]"#.into(),
            ..ok_json()
        };
        let kept = forwards.session.clone();
        for read in &follow_ups {
            forwards.add_follow_up(read, log.clone());
        }
        forwards.follow_ups_done(&follow_ups);
        for read in follow_ups.iter().rev() {
            backwards.add_follow_up(read, log.clone());
        }
        backwards.follow_ups_done(&follow_ups);
        assert_eq!(backwards.session, forwards.session);
        let endpoints: Vec<&str> = forwards
            .session
            .warnings
            .iter()
            .map(|w| w.endpoint.as_str())
            .collect();
        assert_eq!(endpoints.first(), Some(&reads[0].path.as_str()));
        // Two warnings a log: its time and its level.
        let (a, b) = ("/api/deployments/a/log", "/api/deployments/b/log");
        assert_eq!(endpoints[endpoints.len() - 4..], [a, a, b, b]);
        // A snapshot sharing the session keeps what it was made from.
        assert_eq!(*kept, *ingest_round(&reads, &replies, NOW).unwrap().session);
    }

    #[test]
    fn http_dates_parse_and_junk_does_not() {
        assert_eq!(
            parse_http_date("Thu, 26 Nov 2026 10:34:40 GMT").map(Timestamp::to_rfc3339),
            Some("2026-11-26T10:34:40Z".to_string())
        );
        assert_eq!(
            parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(Timestamp::from_unix_millis(0))
        );
        for junk in [
            "",
            "yesterday",
            "Thu, 26 Nov 2026 10:34:40 PST",
            "Thu, 32 Nov 2026 1:2:3 GMT",
        ] {
            assert_eq!(parse_http_date(junk), None, "{junk}");
        }
    }

    #[test]
    fn endpoints_drop_the_cache_busting_query() {
        assert_eq!(endpoint_of("/api/deployments?_=99"), "/api/deployments");
        assert_eq!(endpoint_of("/api/isdeploying"), "/api/isdeploying");
    }
}
