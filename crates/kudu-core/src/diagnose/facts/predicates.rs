//! Predicates more than one cause (or fact) relies on, so no cause has to borrow them from
//! another: an auto swap Kudu still counts as ongoing, a `status.lock` Kudu is denied, where
//! this OS's lock facts come from, and a cancelled run that still holds the lock.

use crate::diagnose::LockState;
use crate::diagnose::facts::context::{Context, LINUX_LOCK_LIFETIME_SECS};
use crate::diagnose::facts::deployability::BlockerKind;
use crate::diagnose::facts::timeline::died_mid_deploy;
use crate::model::{Conflict, ConflictKind, Deployment, Personality};
use crate::session::{Observed, Session};
use crate::time::Timestamp;

/// Kudu counts an auto swap as ongoing while `autoswap.lock` is younger than this
/// (`PostDeploymentHelper.IsAutoSwapOngoing`).
pub const AUTOSWAP_WINDOW_SECS: i64 = 2 * 60;

/// When `autoswap.lock` was written, if Kudu still considers the swap ongoing. A setting we
/// could not read counts as possibly set; a setting that does not exist rules the swap out,
/// because Kudu only honours the file when it is set.
pub(crate) fn autoswap_ongoing_since(session: &Session, now: Timestamp) -> Option<Timestamp> {
    let slot_absent = match session.settings.get("WEBSITE_SWAP_SLOTNAME") {
        Some(Observed::Value(Some(v))) => v.trim().is_empty(),
        Some(Observed::Value(None) | Observed::Missing) => true,
        _ => false,
    };
    if slot_absent {
        return None;
    }
    let written = session
        .locks_dir
        .value()?
        .iter()
        .find(|e| !e.is_dir && e.name.eq_ignore_ascii_case("autoswap.lock"))?
        .modified?;
    let age = written.secs_until(now);
    (age < AUTOSWAP_WINDOW_SECS).then_some(written)
}

/// The first Kudu reply that says status.lock is denied, or that status reads time out on it.
pub(crate) fn status_lock_denied_message(session: &Session) -> Option<&str> {
    let mut texts: Vec<&str> = session
        .lock_errors
        .iter()
        .map(|(_, _, t)| t.as_str())
        .collect();
    if let Observed::Failed { reason, .. } = &session.deployments {
        texts.push(reason);
    }
    if let Observed::Failed { reason, .. } = &session.latest {
        texts.push(reason);
    }
    texts.extend(session.warnings.iter().map(|w| w.reason.as_str()));
    texts
        .into_iter()
        .find(|t| says_status_lock_denied(t) || is_status_conflict(t))
}

/// The reply says access to `status.lock` is denied (rather than that status reads time out).
pub(crate) fn says_status_lock_denied(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("status.lock") && (t.contains("denied") || t.contains("unauthorized"))
}

fn is_status_conflict(text: &str) -> bool {
    text.to_ascii_lowercase()
        .contains("'getting deployment status' operation conflicts")
}

impl Context<'_> {
    /// The error the user pasted, when it is of `kind`.
    pub(crate) fn pasted(&self, kind: ConflictKind) -> Option<&Conflict> {
        self.session
            .pasted_error
            .as_ref()
            .filter(|pasted| pasted.kind == kind)
    }

    /// The pasted error is ARM's "another operation is in progress" and Kudu shows nothing
    /// that blocks a deployment (only reads that failed, if anything): the 409 came from
    /// outside Kudu. `site-operation-in-progress` then explains it, and `no-lock-found` stands
    /// aside, both by this one rule.
    pub(crate) fn site_operation_conflict(&self) -> Option<&Conflict> {
        let kudu_blocks = self
            .deployability
            .blockers
            .iter()
            .any(|b| b.kind != BlockerKind::Unreadable);
        self.pasted(ConflictKind::SiteOperationInProgress)
            .filter(|_| !kudu_blocks)
    }

    /// Where the lock facts came from on this OS.
    pub(crate) fn lock_source(&self) -> &'static str {
        match self.personality {
            Personality::Windows => "/api/vfs/site/locks/",
            _ => "site/locks/deployment/info.lock",
        }
    }

    /// The newest deployment, if it was cancelled (status -1 or 5) while the lock it held is
    /// still held and nothing progresses: the retry's 409 is this cancelled run's lock.
    pub(crate) fn cancelled_run_holding_lock(&self) -> Option<&Deployment> {
        if !matches!(self.lock.state, LockState::Orphaned | LockState::Held) {
            return None;
        }
        let newest = self
            .timeline
            .entries
            .iter()
            .filter(|e| !e.deployment.temp)
            .max_by_key(|e| e.end.or(e.begin))?;
        let end = newest.end?;
        let cancelled = died_mid_deploy(&newest.deployment);
        let recent = end.secs_until(self.now) <= LINUX_LOCK_LIFETIME_SECS;
        let lock_from_it = self.lock.acquired.is_none_or(|a| a <= end);
        (cancelled && recent && lock_from_it).then_some(&newest.deployment)
    }
}

/// The first deployment record that shows a Flex Consumption app ([`Deployment::flex_fields`]),
/// from the list or, when the list could not be read, from `latest`. Flex Consumption deploys
/// through `/api/publish` to records of its own; whether its SCM site answers VFS or
/// `isdeploying` is unverified, so nothing else is asked of it: a site that shows no such
/// record is judged as any other.
pub(crate) fn flex_consumption_record(session: &Session) -> Option<&Deployment> {
    let listed = session.deployments.value().into_iter().flatten();
    let latest = session
        .latest
        .value()
        .and_then(|latest| latest.deployment.as_ref());
    listed.chain(latest).find(|d| d.flex_fields)
}
