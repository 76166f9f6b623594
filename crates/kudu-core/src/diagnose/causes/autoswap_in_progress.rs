// Cause: autoswap-in-progress
//
// What it is: this slot swaps itself into another slot after each deployment (auto swap), and
// Kudu refuses new deployments with 409 while a swap is under way.
// How we know: site/locks/autoswap.lock was written less than 2 minutes ago and
// WEBSITE_SWAP_SLOTNAME is set (Kudu treats a swap as ongoing for 2 minutes), or a 409 body says
// "auto swap deployment currently ongoing".
// What to do: wait until the swap finishes (at most about 2 minutes), then deploy again.

//! Detects an auto swap that Kudu still considers ongoing.

use crate::diagnose::facts::context::Context;
use crate::diagnose::facts::predicates::{AUTOSWAP_WINDOW_SECS, autoswap_ongoing_since};
use crate::diagnose::facts::wording::relative;
use crate::diagnose::{
    CauseId, CauseSpec, Claim, Confidence, Evidence, Finding, Rank, Recommendation,
};

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::AutoswapInProgress,
    rank: Rank::Fixed(3),
    claims: &[Claim::DeploymentsBlocked],
    ends_by_itself: true,
    relies_on_core_reads: true,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let written = autoswap_ongoing_since(ctx.session, ctx.now);
    let body = ctx
        .session
        .lock_errors
        .iter()
        .find(|(_, _, text)| text.to_ascii_lowercase().contains("auto swap"));
    if written.is_none() && body.is_none() {
        return None;
    }
    let slot = ctx.setting("WEBSITE_SWAP_SLOTNAME");
    let mut evidence = vec![];
    if let Some(t) = written {
        evidence.push(Evidence::new(
            "/api/vfs/site/locks/",
            format!(
                "autoswap.lock was written at {} ({}); Kudu counts a swap as ongoing for 2 \
                 minutes after that.",
                ctx.at(t),
                relative(t, ctx.now)
            ),
        ));
    }
    if let Some(slot) = slot {
        evidence.push(Evidence::new(
            "/api/settings/WEBSITE_SWAP_SLOTNAME",
            format!(
                "WEBSITE_SWAP_SLOTNAME is '{slot}': this slot swaps into it after each deployment."
            ),
        ));
    }
    if let Some((_, status, text)) = body {
        evidence.push(Evidence::new(
            "409 body",
            format!(
                "Kudu answered {status}: \"{}\"",
                text.chars().take(200).collect::<String>()
            ),
        ));
    }
    let until = written.map(|t| t.plus_secs(AUTOSWAP_WINDOW_SECS));
    let confidence = if slot.is_some() || body.is_some() {
        Confidence::High
    } else {
        Confidence::Medium
    };
    Some(Finding {
        cause: CauseId::AutoswapInProgress,
        confidence,
        summary: match until {
            Some(u) => format!(
                "An auto swap is under way; Kudu refuses deployments until {} ({}).",
                ctx.at(u),
                relative(u, ctx.now)
            ),
            None => "Kudu reports an auto swap under way and refuses deployments until it ends."
                .to_string(),
        },
        evidence,
        recommendations: vec![Recommendation::Wait {
            until,
            reason: "Auto swap finishes within about 2 minutes; deploy again afterwards.".into(),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;

    #[test]
    fn a_fresh_autoswap_lock_with_a_slot_blocks() {
        let s = Site::windows()
            .setting("WEBSITE_SWAP_SLOTNAME", "production")
            .list_lock(file("autoswap.lock", at(11, 59, 10)))
            .build();
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::High);
        assert!(f.summary.contains("12:01:10 UTC"), "{}", f.summary);
    }

    #[test]
    fn an_old_autoswap_lock_does_not() {
        let s = Site::windows()
            .setting("WEBSITE_SWAP_SLOTNAME", "production")
            .list_lock(file("autoswap.lock", at(11, 57, 0)))
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }

    #[test]
    fn without_a_swap_slot_the_file_means_nothing() {
        let s = Site::linux()
            .list_lock(file("autoswap.lock", at(11, 59, 50)))
            .build();
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }
}
