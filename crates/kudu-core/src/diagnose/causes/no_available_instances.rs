// Cause: no-available-instances
//
// What it is: the platform had no free instance to give the app when the request came (the
// region or the plan ran out of capacity; reported on Functions on Container Apps and on
// consumption plans). This 409 is not a lock, and nothing on the site is wrong.
// How we know: the error you pasted says "No available instances to satisfy this request".
// What to do: retry in a few minutes (App Service says it is adding capacity); if it keeps
// happening, scale the plan, or move the app to another plan, SKU or region.

//! Detects a pasted capacity 409.

use crate::diagnose::facts::context::Context;
use crate::diagnose::{CauseId, CauseSpec, Confidence, Evidence, Finding, Rank, Recommendation};
use crate::model::ConflictKind;

pub(crate) const SPEC: CauseSpec = CauseSpec {
    id: CauseId::NoAvailableInstances,
    rank: Rank::Fixed(12),
    claims: &[],
    ends_by_itself: false,
    relies_on_core_reads: false,
};

pub(crate) fn detect(ctx: &Context) -> Option<Finding> {
    let pasted = ctx.pasted(ConflictKind::NoAvailableInstances)?;
    Some(Finding {
        cause: CauseId::NoAvailableInstances,
        confidence: Confidence::High,
        summary: "The 409 came from the platform, not Kudu: it had no free instance for the \
                  app at that moment."
            .into(),
        evidence: vec![Evidence::new(
            "the error you pasted",
            format!(
                "Azure answered: \"{}\"",
                pasted.message.chars().take(300).collect::<String>()
            ),
        )],
        recommendations: vec![
            Recommendation::Redeploy {
                advice: "Retry in a few minutes: App Service adds capacity when it runs out."
                    .into(),
            },
            Recommendation::LookElsewhere {
                advice: "If it keeps happening, scale the plan out or up, or move the app to \
                         another plan, SKU or region."
                    .into(),
            },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;

    #[test]
    fn a_pasted_capacity_conflict_whatever_the_site_shows() {
        let mut s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 58, 0))
            .build();
        s.paste_error(
            "No available instances to satisfy this request. App Service is attempting to increase capacity. Please retry your request shortly.",
        );
        let f = detect(&Context::new(&s, at(12, 0, 0))).unwrap();
        assert!(f.evidence[0].fact.contains("No available instances"));
        assert!(detect(&Context::new(&Site::linux().build(), at(12, 0, 0))).is_none());
    }
}
