//! The one answer to "can a deployment start now?", computed once per diagnosis from the shared
//! facts. The wizard's busy and clear states, `kudu-doctor wait`, the `healthy` and
//! `no-lock-found` findings and the cleanup's final "fixed" all read it, so they cannot
//! disagree about the same site.
//!
//! The expired-lock rule lives here and nowhere else: a Linux lock past its `lockExpiry` blocks
//! when `/api/isdeploying` says True (KuduLite's `IsHeld` still honours it: its in-process
//! cache, or a build that has it), does not block when `/api/isdeploying` says False (KuduLite
//! deletes it at its next lock check, fact sheet §2.3), and counts as unknown when
//! `/api/isdeploying` could not be read (waiting longer is safer than a 409). A lock whose
//! holder is still progressing is live, expired or not.

use serde::Serialize;

use crate::diagnose::LockState;
use crate::diagnose::facts::context::Context;
use crate::diagnose::facts::predicates::{
    AUTOSWAP_WINDOW_SECS, autoswap_ongoing_since, status_lock_denied_message,
};
use crate::diagnose::facts::wording::relative;
use crate::model::Personality;
use crate::time::Timestamp;

/// Whether a deployment started now would be accepted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CanDeploy {
    Yes,
    No,
    /// Some read that decides it gave no answer (or needs a sign-in).
    Unknown,
}

/// What stands in a deployment's way.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockerKind {
    /// The SCM site answered with a sign-in page: nothing can be judged.
    SignInNeeded,
    /// `WEBSITE_RUN_FROM_PACKAGE` (or its older names) is a URL.
    RunFromPackageUrl,
    /// An auto swap is under way.
    Autoswap,
    /// A malware scan holds the deployment lock.
    Scan,
    /// A deployment is progressing (it holds the lock, or runs although the lock let go).
    DeploymentRunning,
    /// Kudu cannot open `status.lock`.
    StatusLockDenied,
    /// A Linux lock that nothing is using, which Kudu still honours.
    StaleLock,
    /// A process holds Windows' `deployments.lock` while nothing progresses (or the list that
    /// would tell could not be read).
    LockHeld,
    /// A read that decides this gave no answer.
    Unreadable,
}

/// One reason a deployment started now gets 409.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Blocker {
    pub kind: BlockerKind,
    /// One phrase, quoting this site's facts.
    pub text: String,
    /// Whether it ends without anyone acting: a deployment, a scan or a swap finishing, or a
    /// Linux lock reaching its expiry.
    pub ends_by_itself: bool,
    /// When it ends by itself at the latest, when that is known.
    pub until: Option<Timestamp>,
}

/// The verdict: whether deployments are accepted now, and every blocker.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Deployability {
    pub can_deploy: CanDeploy,
    /// Empty exactly when `can_deploy` is `Yes`.
    pub blockers: Vec<Blocker>,
}

impl Deployability {
    /// Something that ends by itself blocks now: worth watching until it does.
    pub fn is_busy(&self) -> bool {
        self.blockers.iter().any(|b| b.ends_by_itself)
    }

    /// A deployment started now would be accepted.
    pub fn is_clear(&self) -> bool {
        self.can_deploy == CanDeploy::Yes
    }

    /// Whether a blocker of `kind` is among them.
    pub fn blocked_by(&self, kind: BlockerKind) -> bool {
        self.blockers.iter().any(|b| b.kind == kind)
    }
}

pub(crate) fn judge(ctx: &Context) -> Deployability {
    let mut blockers = vec![];
    let mut block = |kind, text: String, ends_by_itself, until| {
        blockers.push(Blocker {
            kind,
            text,
            ends_by_itself,
            until,
        });
    };
    if ctx.sign_in_needed() {
        block(
            BlockerKind::SignInNeeded,
            "the SCM site asks for a sign-in, so its state cannot be read".into(),
            false,
            None,
        );
    }
    if let Some(key) = ctx.run_from_package_url_key() {
        block(
            BlockerKind::RunFromPackageUrl,
            format!("{key} points at a URL, so Kudu refuses every push deployment"),
            false,
            None,
        );
    }
    if let Some(written) = autoswap_ongoing_since(ctx.session, ctx.now) {
        let until = written.plus_secs(AUTOSWAP_WINDOW_SECS);
        block(
            BlockerKind::Autoswap,
            format!(
                "an auto swap is under way (site/locks/autoswap.lock written {})",
                relative(written, ctx.now)
            ),
            true,
            Some(until),
        );
    }
    if status_lock_denied_message(ctx.session).is_some() {
        block(
            BlockerKind::StatusLockDenied,
            "Kudu cannot open site/locks/status.lock, so deployment status reads fail".into(),
            false,
            None,
        );
    }
    let lock = &ctx.lock;
    let holder = lock
        .holder_operation
        .as_deref()
        .map(|h| format!(" by '{}'", crate::parse::one_line(h, 120)))
        .unwrap_or_default();
    let expiry = lock.expires.filter(|e| *e > ctx.now);
    if ctx.scan_underway() {
        block(
            BlockerKind::Scan,
            "a malware scan holds the deployment lock (/api/isdeploying says so)".into(),
            true,
            expiry,
        );
    } else if let Some(r) = ctx.progressing().next() {
        block(
            BlockerKind::DeploymentRunning,
            format!(
                "{} is {}",
                ctx.describe(&r.deployment),
                r.deployment.status.as_str()
            ),
            true,
            None,
        );
    } else if lock.state == LockState::Live {
        // Live with nothing progressing: a lock taken moments ago, before its record shows.
        block(
            BlockerKind::DeploymentRunning,
            format!("the deployment lock was just taken{holder}"),
            true,
            expiry,
        );
    }
    let is_deploying = ctx.is_deploying().map(|d| d.deploying);
    match lock.state {
        LockState::Orphaned => block(
            BlockerKind::StaleLock,
            format!("the deployment lock is held{holder} but nothing is using it"),
            expiry.is_some(),
            expiry,
        ),
        LockState::Expired => match is_deploying {
            Some(true) => block(
                BlockerKind::StaleLock,
                format!(
                    "the deployment lock{holder} expired but Kudu still honours it \
                     (/api/isdeploying says True)"
                ),
                false,
                None,
            ),
            Some(false) => {}
            None => block(
                BlockerKind::Unreadable,
                "the deployment lock expired, and /api/isdeploying, which would say whether \
                 Kudu still honours it, could not be read"
                    .into(),
                false,
                None,
            ),
        },
        LockState::Held => block(
            BlockerKind::LockHeld,
            if lock.windows_lock_file {
                "a Kudu process holds site/locks/deployments.lock".into()
            } else {
                format!("the deployment lock is held{holder}")
            },
            false,
            None,
        ),
        LockState::Unknown => block(
            BlockerKind::Unreadable,
            "the deployment lock's state could not be read".into(),
            false,
            None,
        ),
        LockState::Free | LockState::Live => {}
    }
    // isdeploying is KuduLite's own answer to "is the lock held"; a True that no lock state
    // above explains still blocks, and a failed read leaves it unknown.
    if ctx.personality != Personality::Windows {
        let explained = blockers.iter().any(|b| {
            matches!(
                b.kind,
                BlockerKind::Scan
                    | BlockerKind::DeploymentRunning
                    | BlockerKind::StaleLock
                    | BlockerKind::LockHeld
            )
        });
        match is_deploying {
            Some(true) if !explained => blockers.push(Blocker {
                kind: BlockerKind::LockHeld,
                text: "/api/isdeploying says True".into(),
                ends_by_itself: false,
                until: None,
            }),
            // An expired lock whose honouring is unknown already said it.
            None if ctx.is_deploying_unreadable() && lock.state != LockState::Expired => blockers
                .push(Blocker {
                    kind: BlockerKind::Unreadable,
                    text: "/api/isdeploying could not be read".into(),
                    ends_by_itself: false,
                    until: None,
                }),
            _ => {}
        }
    }
    if !ctx.deployments_known && ctx.session.latest.value().is_none() {
        blockers.push(Blocker {
            kind: BlockerKind::Unreadable,
            text: "neither /api/deployments nor /api/deployments/latest could be read, so a \
                   running deployment would go unseen"
                .into(),
            ends_by_itself: false,
            until: None,
        });
    }
    let can_deploy = if blockers.is_empty() {
        CanDeploy::Yes
    } else if blockers
        .iter()
        .all(|b| matches!(b.kind, BlockerKind::Unreadable | BlockerKind::SignInNeeded))
    {
        CanDeploy::Unknown
    } else {
        CanDeploy::No
    };
    Deployability {
        can_deploy,
        blockers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;
    use crate::model::{DeployStatus, IsDeploying};
    use crate::session::Observed;

    fn judged(s: &crate::session::Session, now: Timestamp) -> Deployability {
        Context::new(s, now).deployability
    }

    fn expired_lock(is_deploying: Observed<IsDeploying>) -> crate::session::Session {
        let mut s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 0, 0))
            .build();
        s.is_deploying = is_deploying;
        s
    }

    #[test]
    fn an_idle_site_is_deployable() {
        let d = judged(&Site::linux().build(), at(12, 0, 0));
        assert_eq!(d.can_deploy, CanDeploy::Yes);
        assert!(d.blockers.is_empty() && d.is_clear() && !d.is_busy());
    }

    /// Issue 16: the cleanup releases the Linux lock by deleting info.lock and leaves the empty
    /// `site/locks/deployment/` folder. KuduLite's `IsHeld` is false without info.lock
    /// (kudu-facts §2.3), so a listed folder with info.lock 404 and isdeploying False is a
    /// free lock: deployable, no stale-lock finding, and no plan.
    #[test]
    fn an_empty_lock_folder_left_behind_does_not_block() {
        let mut s = Site::linux().build();
        if let Observed::Value(list) = &mut s.locks_dir {
            list.push(dir("deployment"));
        }
        assert_eq!(s.info_lock, Observed::Missing);
        let ctx = Context::new(&s, at(12, 0, 0));
        assert_eq!(ctx.lock.state, crate::diagnose::LockState::Free);
        let d = judged(&s, at(12, 0, 0));
        assert_eq!(d.can_deploy, CanDeploy::Yes);
        assert!(d.blockers.is_empty() && d.is_clear());
        let diagnosis = s.diagnose(at(12, 0, 0));
        assert!(!diagnosis.has(crate::diagnose::CauseId::StaleLock));
        let p = crate::plan::plan(&s, &diagnosis, crate::plan::PlanKind::Targeted);
        assert!(p.steps.is_empty(), "{:?}", p.steps);
    }

    /// The expired-lock rule, decided here once: `/api/isdeploying` says whether KuduLite
    /// still honours it.
    #[test]
    fn an_expired_lock_blocks_only_while_kudu_still_honours_it() {
        let honoured = expired_lock(Observed::Value(IsDeploying {
            deploying: true,
            message: "Deployment Underway".into(),
        }));
        let d = judged(&honoured, at(12, 0, 0));
        assert_eq!(d.can_deploy, CanDeploy::No);
        assert!(d.blocked_by(BlockerKind::StaleLock));
        assert!(
            !d.is_busy(),
            "an expired lock Kudu keeps does not end by itself"
        );

        let dropped = expired_lock(Observed::Value(IsDeploying {
            deploying: false,
            message: String::new(),
        }));
        assert_eq!(judged(&dropped, at(12, 0, 0)).can_deploy, CanDeploy::Yes);

        let unread = expired_lock(Observed::Failed {
            status: 502,
            reason: "Bad Gateway".into(),
        });
        let d = judged(&unread, at(12, 0, 0));
        assert_eq!(d.can_deploy, CanDeploy::Unknown);
        assert!(d.blocked_by(BlockerKind::Unreadable));
    }

    #[test]
    fn a_running_deployment_blocks_until_it_ends_even_past_the_lock_expiry() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 30, 0))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 30, 1),
                None,
            ))
            .log("b0b0", vec![log_line(at(11, 59, 53), "npm notice")])
            .build();
        let d = judged(&s, at(12, 0, 0));
        assert_eq!(d.can_deploy, CanDeploy::No);
        assert!(d.blocked_by(BlockerKind::DeploymentRunning));
        assert!(!d.blocked_by(BlockerKind::StaleLock));
        assert!(d.is_busy());
    }

    #[test]
    fn an_orphaned_lock_ends_by_itself_at_its_expiry() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 50, 0))
            .build();
        let d = judged(&s, at(12, 0, 0));
        let stale = &d.blockers[0];
        assert_eq!(stale.kind, BlockerKind::StaleLock);
        assert!(stale.ends_by_itself);
        assert_eq!(stale.until, Some(at(12, 15, 0)));
    }

    #[test]
    fn a_windows_lock_file_held_blocks_and_a_sign_in_page_is_unknown() {
        let s = Site::windows()
            .list_lock(file("deployments.lock", at(11, 20, 0)))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "VSTS",
                at(11, 20, 0),
                None,
            ))
            .build();
        let d = judged(&s, at(12, 0, 0));
        assert_eq!(d.can_deploy, CanDeploy::No);
        assert!(d.blocked_by(BlockerKind::LockHeld));

        let mut s = Site::linux().build();
        s.deployments = Observed::SessionExpired;
        assert_eq!(judged(&s, at(12, 0, 0)).can_deploy, CanDeploy::Unknown);
    }
}
