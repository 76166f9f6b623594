// Cause: site-operation-in-progress
//
// What it is: Azure Resource Manager refused to change the site because another management
// operation on it had not finished: a slot swap (`SwapSiteSlots`), a create or update
// (`Create`), a container stop (`StopContainerAppOperation`). This 409 does not come from Kudu:
// its deployment lock is free.
// How we know: the error you pasted says "Cannot modify this site because another operation is
// in progress" (its `OperationName` says which), and this site's Kudu shows no deployment
// running and no lock held.
// What to do: wait until that operation finishes (the site's Activity log in the portal lists
// it; `az webapp deployment slot list` shows a swap), then deploy again. Keep swaps, restarts and
// settings changes out of the minutes a deployment runs, and let one pipeline at a time touch
// the site.

//! Detects a pasted ARM "another operation is in progress" conflict on a site whose Kudu shows
//! nothing blocking.

use crate::diagnose::facts::context::Context;
use crate::diagnose::{
    CauseId, CauseSpec, Claim, Confidence, Evidence, Finding, Rank, Recommendation,
};

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::SiteOperationInProgress,
    rank: Rank::Fixed(11),
    claims: &[Claim::NothingRunning],
    ends_by_itself: false,
    relies_on_core_reads: true,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let pasted = ctx.site_operation_conflict()?;
    let operation = pasted.holder_operation.as_deref();
    let what = match operation {
        Some(name) => format!("another operation on the site ({name})"),
        None => "another operation on the site".to_string(),
    };
    let evidence = vec![
        Evidence::new(
            "the error you pasted",
            format!(
                "Azure Resource Manager answered: \"{}\"",
                pasted.message.chars().take(300).collect::<String>()
            ),
        ),
        Evidence::new("Kudu Doctor", ctx.lock.explanation.clone()),
    ];
    let swap = operation.is_some_and(|o| o.to_ascii_lowercase().contains("swap"));
    Some(Finding {
        cause: CauseId::SiteOperationInProgress,
        confidence: if ctx.unreadable().is_empty() {
            Confidence::High
        } else {
            Confidence::Medium
        },
        summary: format!(
            "The 409 came from Azure Resource Manager, not Kudu: {what} had not finished. \
             Kudu's deployment lock is free."
        ),
        evidence,
        recommendations: vec![
            Recommendation::Wait {
                until: None,
                reason: if swap {
                    "Wait for the slot swap to finish (the site's Activity log, or `az webapp \
                     deployment slot list`), then deploy again."
                        .into()
                } else {
                    "Wait for that operation to finish (the site's Activity log in the portal \
                     lists it), then deploy again."
                        .into()
                },
            },
            Recommendation::FixPipeline {
                advice: "Keep slot swaps, restarts and settings changes out of the minutes a \
                         deployment runs, and let one pipeline at a time change the site."
                    .into(),
            },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;

    const SWAP: &str = "Cannot modify this site because another operation is in progress. Details: Id: 4e8e, OperationName: SwapSiteSlots, CreatedTime: 5/22/2024 12:34:56 PM, RequestId: 0f0f, EntityType: 3";

    #[test]
    fn a_pasted_swap_conflict_on_an_idle_site() {
        let mut s = Site::linux().build();
        s.paste_error(SWAP);
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert_eq!(f.confidence, Confidence::High);
        assert!(f.summary.contains("(SwapSiteSlots)"), "{}", f.summary);
        assert!(matches!(f.recommendations[0], Recommendation::Wait { .. }));
    }

    #[test]
    fn a_held_kudu_lock_explains_the_409_instead() {
        let mut s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 58, 0))
            .build();
        s.paste_error(SWAP);
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
    }

    #[test]
    fn other_pasted_texts_are_not_it() {
        let mut s = Site::linux().build();
        s.paste_error("There is a deployment currently in progress.");
        assert!(detect(&Context::new(&s, at(12, 0, 0))).is_none());
        assert!(detect(&Context::new(&Site::linux().build(), at(12, 0, 0))).is_none());
    }
}
