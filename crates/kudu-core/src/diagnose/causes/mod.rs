//! One file per cause, each opening with its `// Cause:` block written for users and declaring
//! its [`CauseSpec`] beside its `detect`. A cause reads the round's facts (`diagnose::facts`)
//! and the types in `diagnose`, never another cause (a tidy test checks), so adding one is its
//! file plus its line in [`REGISTRY`].

mod autoswap_in_progress;
mod cancelled_then_retried;
mod client_self_collision;
mod deployment_in_progress;
mod flex_consumption;
mod healthy;
mod no_available_instances;
mod no_lock_found;
mod parallel_deployments;
mod partial_deploy;
mod restart_raced_deployment;
mod run_from_package_url;
mod scan_underway;
mod session_expired;
mod site_operation_in_progress;
mod stale_lock;
mod status_lock_denied;
mod windows_lock_held;

use crate::diagnose::facts::context::Context;
use crate::diagnose::{CauseId, CauseSpec, Finding};

/// A cause detector: the finding, when the facts show the cause.
pub(crate) type Detect = fn(&Context) -> Option<Finding>;

/// Every cause judged from the facts alone, in the order they run.
pub(crate) const REGISTRY: [(CauseSpec, Detect); 16] = [
    (session_expired::SPEC, session_expired::detect),
    (flex_consumption::SPEC, flex_consumption::detect),
    (run_from_package_url::SPEC, run_from_package_url::detect),
    (autoswap_in_progress::SPEC, autoswap_in_progress::detect),
    (scan_underway::SPEC, scan_underway::detect),
    (deployment_in_progress::SPEC, deployment_in_progress::detect),
    (status_lock_denied::SPEC, status_lock_denied::detect),
    (cancelled_then_retried::SPEC, cancelled_then_retried::detect),
    (stale_lock::SPEC, stale_lock::detect),
    (windows_lock_held::SPEC, windows_lock_held::detect),
    (partial_deploy::SPEC, partial_deploy::detect),
    (
        site_operation_in_progress::SPEC,
        site_operation_in_progress::detect,
    ),
    (no_available_instances::SPEC, no_available_instances::detect),
    (
        restart_raced_deployment::SPEC,
        restart_raced_deployment::detect,
    ),
    (parallel_deployments::SPEC, parallel_deployments::detect),
    (client_self_collision::SPEC, client_self_collision::detect),
];

/// `no-lock-found`: the coordinator adds it after the [`REGISTRY`] causes, whenever nothing
/// blocks deployments now.
pub(crate) const NO_LOCK_FOUND: (CauseSpec, Detect) = (no_lock_found::SPEC, no_lock_found::detect);

/// The `healthy` detector, told whether the [`REGISTRY`] causes found nothing.
pub(crate) type DetectLast = fn(&Context, bool) -> Option<Finding>;

/// `healthy`: the coordinator adds it last.
pub(crate) const HEALTHY: (CauseSpec, DetectLast) = (healthy::SPEC, healthy::detect);

/// The spec of `cause`.
pub(crate) fn spec(cause: CauseId) -> &'static CauseSpec {
    &BY_ID[cause as usize]
}

/// Every spec, indexed by [`CauseId`] in [`CauseId::ALL`]'s order. Built when the crate
/// compiles, which fails when a cause has no spec or two, two causes share a rank, or `ALL` is
/// out of order.
static BY_ID: [CauseSpec; CauseId::ALL.len()] = by_id();

const fn by_id() -> [CauseSpec; CauseId::ALL.len()] {
    const N: usize = CauseId::ALL.len();
    let mut found: [Option<CauseSpec>; N] = [None; N];
    let mut i = 0;
    while i < REGISTRY.len() + 2 {
        let spec = if i < REGISTRY.len() {
            REGISTRY[i].0
        } else if i == REGISTRY.len() {
            NO_LOCK_FOUND.0
        } else {
            HEALTHY.0
        };
        let at = spec.id as usize;
        assert!(at < N, "a cause missing from CauseId::ALL has a spec");
        assert!(found[at].is_none(), "a cause has two specs");
        found[at] = Some(spec);
        i += 1;
    }
    let mut out = [REGISTRY[0].0; N];
    let mut at = 0;
    while at < N {
        assert!(
            CauseId::ALL[at] as usize == at,
            "CauseId::ALL lists the causes in declaration order"
        );
        out[at] = match found[at] {
            Some(spec) => spec,
            None => panic!("a cause has no spec"),
        };
        at += 1;
    }
    // Distinct ranks: the order never depends on which detector ran first.
    let mut a = 0;
    while a < N {
        let mut b = a + 1;
        while b < N {
            let (x, y) = (out[a].rank.values(), out[b].rank.values());
            assert!(
                x[0] != y[0] && x[0] != y[1] && x[1] != y[0] && x[1] != y[1],
                "two causes share a rank"
            );
            b += 1;
        }
        a += 1;
    }
    out
}
