//! What each cause declares about itself, once, beside its `detect`: its id, where it ranks
//! among the findings, what a finding of it asserts about the site now, whether it ends by
//! itself, and whether its confidence rests on the core reads. `diagnose`, [`CauseId::claims`]
//! and the other per-cause answers read these specs; nothing lists causes a second time.

use crate::diagnose::facts::context::Context;
use crate::diagnose::{CauseId, Claim};

/// One cause's declaration (`pub(crate) const SPEC: CauseSpec` in its file under
/// `diagnose/causes/`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CauseSpec {
    pub(crate) id: CauseId,
    /// Where its findings sort, lowest first (the order documented on
    /// [`crate::diagnose::diagnose`]).
    pub(crate) rank: Rank,
    /// What a finding asserts about the site right now ([`CauseId::claims`]); blocking is the
    /// claim [`Claim::DeploymentsBlocked`].
    pub(crate) claims: &'static [Claim],
    /// The condition clears without anyone acting, because something that is working ends it
    /// (a deployment, a malware scan or an auto swap finishing), so a shell can keep watching
    /// until it does. A lock that only expires is not counted: nothing is working on it.
    pub(crate) ends_by_itself: bool,
    /// Judged from the deployment list and the lock reads, as opposed to settings or replies
    /// that stand on their own: when those reads failed, `High` confidence drops to `Medium`.
    pub(crate) relies_on_core_reads: bool,
}

impl CauseSpec {
    /// A finding of this cause means a deployment started now gets 409.
    pub(crate) const fn blocks(&self) -> bool {
        let mut i = 0;
        while i < self.claims.len() {
            if matches!(self.claims[i], Claim::DeploymentsBlocked) {
                return true;
            }
            i += 1;
        }
        false
    }
}

impl CauseId {
    /// The user has to act on a finding of this cause, so a shell may put the wizard in front
    /// of them unasked (issue 17): a lock that nothing works under (stale, or held by a Windows
    /// worker), a denied status lock, a run-from-package URL (all block and none ends by
    /// itself), a partial deploy, and an expired session. A deployment, scan or auto swap that
    /// ends by itself, and history (collisions, cancels, races), only show in the launcher.
    pub fn needs_the_user(self) -> bool {
        let spec = super::causes::spec(self);
        !spec.ends_by_itself
            && (spec.blocks() || matches!(self, CauseId::PartialDeploy | CauseId::SessionExpired))
    }
}

/// Where a cause's findings sort.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rank {
    Fixed(u8),
    /// `then` in a round where `fact` holds, `otherwise` in the others.
    WhenFact {
        fact: RankFact,
        then: u8,
        otherwise: u8,
    },
}

/// A fact of the round that moves a cause's rank.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RankFact {
    /// The newest deployment was cancelled and its lock is still held
    /// ([`Context::cancelled_run_holding_lock`]).
    CancelledRunHoldsLock,
}

impl Rank {
    /// The rank in this round.
    pub(crate) fn in_round(self, ctx: &Context) -> u8 {
        match self {
            Rank::Fixed(rank) => rank,
            Rank::WhenFact {
                fact,
                then,
                otherwise,
            } => {
                if fact.holds(ctx) {
                    then
                } else {
                    otherwise
                }
            }
        }
    }

    /// Every rank it can take.
    pub(crate) const fn values(self) -> [u8; 2] {
        match self {
            Rank::Fixed(rank) => [rank, rank],
            Rank::WhenFact {
                then, otherwise, ..
            } => [then, otherwise],
        }
    }
}

impl RankFact {
    fn holds(self, ctx: &Context) -> bool {
        match self {
            RankFact::CancelledRunHoldsLock => ctx.cancelled_run_holding_lock().is_some(),
        }
    }
}

#[cfg(test)]
mod needs_the_user_tests {
    use crate::CauseId;

    #[test]
    fn only_what_the_user_must_act_on_puts_the_wizard_in_front_of_them() {
        let needing: std::collections::BTreeSet<&str> = CauseId::ALL
            .iter()
            .filter(|cause| cause.needs_the_user())
            .map(|cause| cause.as_str())
            .collect();
        let expected: std::collections::BTreeSet<&str> = [
            CauseId::PartialDeploy,
            CauseId::RunFromPackageUrl,
            CauseId::SessionExpired,
            CauseId::StaleLock,
            CauseId::StatusLockDenied,
            CauseId::WindowsLockHeld,
        ]
        .iter()
        .map(|cause| cause.as_str())
        .collect();
        assert_eq!(needing, expected);
        for running in [
            CauseId::DeploymentInProgress,
            CauseId::AutoswapInProgress,
            CauseId::ScanUnderway,
        ] {
            assert!(running.ends_by_itself() && !running.needs_the_user());
        }
    }
}
