//! The targeted plan: delete exactly what is stale (Linux) or restart Kudu (Windows), after
//! backing both folders up.

use crate::diagnose::context::Context;
use crate::diagnose::lock_report::{LINUX_LOCK_DIR, WINDOWS_LOCK_FILE};
use crate::diagnose::timeline::died_mid_deploy;
use crate::diagnose::wording::short_id;
use crate::diagnose::{CauseId, Diagnosis, LockState};
use crate::model::{Personality, VfsEntry};
use crate::plan::steps::*;
use crate::plan::{CleanupPlan, PlanKind};
use crate::session::Session;

/// Entries of `site/deployments/` no plan deletes without an explicit opt-in.
pub(super) const PROTECTED: [&str; 4] = ["tools", "settings.xml", "active", "pending"];

pub(super) fn plan(session: &Session, diagnosis: &Diagnosis) -> CleanupPlan {
    let ctx = Context::new(session, diagnosis.now);
    let mut plan = CleanupPlan {
        kind: PlanKind::Targeted,
        steps: vec![],
        refused: refused_names(&ctx),
        verify: verify_list(&ctx),
        loses: vec![],
        keeps: vec![],
        not_offered: None,
    };
    if let Some(why) = not_offered_reason(&ctx, diagnosis) {
        plan.not_offered = Some(why);
        return plan;
    }
    let mut release = vec![];
    let mut leftovers = vec![];
    let mut extra = vec![];
    let locks = ctx.locks_listing();
    let deployments = ctx.deployments_listing();
    match ctx.personality {
        Personality::Windows => {
            if ctx.lock.state == LockState::Held
                && listed(locks, WINDOWS_LOCK_FILE, false).is_some()
            {
                release.push(restart_kudu(&ctx));
                extra.push(restart_app_worker());
                plan.loses.push("Whatever the process holding the lock was doing (a hung deployment or build is ended).".into());
            }
        }
        _ => {
            if matches!(ctx.lock.state, LockState::Expired | LockState::Orphaned)
                && listed(locks, LINUX_LOCK_DIR, true).is_some()
            {
                release.push(delete_lock_dir(&ctx));
                plan.loses.push(
                    "The stale lock (who held it and until when is kept in the backup).".into(),
                );
            }
            if diagnosis.has(CauseId::StatusLockDenied)
                && listed(locks, "status.lock", false).is_some()
            {
                release.push(delete_status_lock(&ctx));
            }
        }
    }
    for (entry, why) in stale_folders(&ctx) {
        leftovers.push(delete_leftover(
            &ctx,
            entry,
            &why,
            "Its status and log disappear from the deployment history (they are in the backup).",
        ));
        plan.loses.push(format!(
            "The status and log of {} (kept in the backup).",
            entry.name
        ));
    }
    let linux = ctx.personality != Personality::Windows;
    if linux
        && !(release.is_empty() && leftovers.is_empty())
        && let Some(pending) = listed(deployments, "pending", false)
    {
        leftovers.push(delete_leftover(
            &ctx,
            pending,
            "Kudu recreates it empty",
            "Harmless: it only marks a queued redeploy, and Kudu recreates it; at most one queued CI redeploy is dropped.",
        ));
    }
    if release.is_empty() && leftovers.is_empty() {
        plan.not_offered = Some(
            "Nothing here is stale: no orphaned or expired lock, no denied status.lock and no leftover temp- or incomplete deployment folder. `pending` and `status.lock` existing is normal."
                .into(),
        );
        return plan;
    }
    plan.steps = backups();
    plan.steps.extend(release);
    plan.steps.extend(leftovers);
    plan.steps.extend(extra);
    plan.steps.push(verify(&ctx));
    plan.keeps = keeps(&ctx);
    plan
}

/// What every plan leaves alone.
pub(super) fn keeps(ctx: &Context) -> Vec<String> {
    let mut out = vec!["site/wwwroot: the running app is not touched.".to_string()];
    if let Some(d) = ctx.deployments.iter().find(|d| d.active) {
        out.push(format!(
            "The active deployment {} and its folder (its manifest lets the next deployment remove old files).",
            d.id.as_deref().map(short_id).unwrap_or_default()
        ));
    }
    out.push("Finished deployments and their logs (the Deployment Center history).".into());
    out.push(
        "site/deployments/tools/ (deploy script cache and PostDeploymentActions) and settings.xml."
            .into(),
    );
    out
}

/// Leftover folders in `site/deployments/`: `temp-` folders and folders of deployments that
/// never finished or died mid-way. Never a protected name or the active deployment's folder;
/// called only when nothing is progressing.
pub(super) fn stale_folders<'c>(ctx: &'c Context) -> Vec<(&'c VfsEntry, String)> {
    let active: Vec<&str> = ctx
        .deployments
        .iter()
        .filter(|d| d.active)
        .filter_map(|d| d.id.as_deref())
        .collect();
    let mut out = vec![];
    for entry in ctx.deployments_listing().into_iter().flatten() {
        let name = entry.name.as_str();
        if !entry.is_dir
            || PROTECTED.contains(&name)
            || active.contains(&name)
            || listed(ctx.deployments_listing(), name, true).is_none()
        {
            continue;
        }
        if name.starts_with("temp-") {
            out.push((
                entry,
                "a temp- folder of a push that never finished".to_string(),
            ));
            continue;
        }
        let record = ctx
            .deployments
            .iter()
            .find(|d| d.id.as_deref() == Some(name));
        if let Some(d) = record
            && (d.status.is_running() || !d.complete || died_mid_deploy(d))
        {
            out.push((
                entry,
                format!(
                    "deployment {} never finished ({})",
                    short_id(name),
                    d.status.as_str()
                ),
            ));
        }
    }
    out
}
