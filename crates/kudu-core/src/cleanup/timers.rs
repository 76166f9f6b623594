//! Every wait a cleanup run makes, in one table. The run reads no clock: each of these turns
//! the `now` a shell passed in into a time at which [`CleanupRun::poll_timeout`] asks to be
//! called again.
//!
//! | Constant | Value | Why |
//! |---|---|---|
//! | [`DELETE_RETRY_BASE_MS`] | 500 ms × attempt | a throttled delete waits before it is sent again |
//! | [`MAX_RETRY_AFTER_SECS`] | 30 s | the longest `Retry-After` honoured |
//! | [`KUDU_FIRST_PROBE_SECS`] | 5 s | the restarted process may still answer for a moment |
//! | [`KUDU_PROBE_INTERVAL_SECS`] | 3 s | between probes while Kudu comes back |
//! | [`KUDU_RESTART_DEADLINE_SECS`] | 120 s | how long Kudu may take to come back |
//!
//! Reads that fail are sent again at once (see `MAX_READ_ATTEMPTS`): they change nothing, and
//! the user is waiting for them.

#[cfg(doc)]
use super::CleanupRun;

/// The wait before sending a throttled delete again, times the attempt number, unless the
/// answer's `Retry-After` asks for longer (at most [`MAX_RETRY_AFTER_SECS`]).
pub const DELETE_RETRY_BASE_MS: i64 = 500;
/// The longest `Retry-After` the run honours.
pub const MAX_RETRY_AFTER_SECS: i64 = 30;
/// How long Kudu may take to answer again after `DELETE /api/processes/0`.
pub const KUDU_RESTART_DEADLINE_SECS: i64 = 120;
/// The first probe waits this long: the dying process may still answer for a moment.
pub const KUDU_FIRST_PROBE_SECS: i64 = 5;
/// Between probes while Kudu starts again: short enough that the run goes on within seconds
/// of Kudu answering, long enough that a starting Kudu is not flooded.
pub const KUDU_PROBE_INTERVAL_SECS: i64 = 3;

/// Milliseconds to wait before sending a throttled delete again: the base back-off for this
/// attempt, or the answer's `Retry-After` (in seconds) when it asks for longer.
pub(super) fn delete_retry_wait_ms(attempt: u8, retry_after: Option<&str>) -> i64 {
    let base = DELETE_RETRY_BASE_MS.saturating_mul(i64::from(attempt));
    let asked = retry_after
        .and_then(|value| value.trim().parse::<i64>().ok())
        .map(|secs| secs.clamp(0, MAX_RETRY_AFTER_SECS) * 1000)
        .unwrap_or(0);
    base.max(asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_grows_with_the_attempt_and_honours_a_bounded_retry_after() {
        assert_eq!(delete_retry_wait_ms(1, None), 500);
        assert_eq!(delete_retry_wait_ms(2, None), 1000);
        assert_eq!(delete_retry_wait_ms(1, Some(" 4 ")), 4000);
        assert_eq!(delete_retry_wait_ms(2, Some("0")), 1000);
        assert_eq!(delete_retry_wait_ms(1, Some("3600")), 30_000);
        assert_eq!(delete_retry_wait_ms(1, Some("-5")), 500);
        // An HTTP date is not read: the base back-off stands.
        assert_eq!(
            delete_retry_wait_ms(1, Some("Thu, 26 Nov 2026 10:34:40 GMT")),
            500
        );
    }
}
