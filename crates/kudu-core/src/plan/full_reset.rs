//! The seed runbook's last resort: empty `site/deployments`, keeping `tools/`, `settings.xml`,
//! `active` and the active deployment's folder unless the user opts in, after backing up.

use crate::diagnose::context::Context;
use crate::diagnose::lock_report::{LINUX_LOCK_DIR, WINDOWS_LOCK_FILE};
use crate::diagnose::{CauseId, Diagnosis, LockState};
use crate::model::Personality;
use crate::plan::paths::check_name;
use crate::plan::steps::*;
use crate::plan::{CleanupPlan, FullResetOptions, PlanKind};
use crate::session::Session;

pub(super) fn plan(
    session: &Session,
    diagnosis: &Diagnosis,
    options: FullResetOptions,
) -> CleanupPlan {
    let ctx = Context::new(session, diagnosis.now);
    let mut plan = CleanupPlan {
        kind: PlanKind::FullReset,
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
    let Some(listing) = ctx.deployments_listing() else {
        plan.not_offered = Some("site/deployments/ could not be listed, and nothing is deleted by a name that was not listed.".into());
        return plan;
    };
    let active: Vec<&str> = ctx
        .deployments
        .iter()
        .filter(|d| d.active)
        .filter_map(|d| d.id.as_deref())
        .collect();
    let mut release = vec![];
    let mut extra = vec![];
    let locks = ctx.locks_listing();
    match ctx.personality {
        Personality::Windows => {
            if ctx.lock.state == LockState::Held
                && listed(locks, WINDOWS_LOCK_FILE, false).is_some()
            {
                release.push(restart_kudu(&ctx));
                extra.push(restart_app_worker());
            }
        }
        _ => {
            if matches!(ctx.lock.state, LockState::Expired | LockState::Orphaned)
                && listed(locks, LINUX_LOCK_DIR, true).is_some()
            {
                release.push(delete_lock_dir(&ctx));
            }
            if diagnosis.has(CauseId::StatusLockDenied)
                && listed(locks, "status.lock", false).is_some()
            {
                release.push(delete_status_lock(&ctx));
            }
        }
    }
    let mut deletes = vec![];
    let mut kept = vec![];
    let mut deleted_records = 0;
    for entry in listing {
        if check_name(&entry.name).is_err() {
            continue;
        }
        let name = entry.name.as_str();
        let keep = match name {
            "tools" => !options.include_tools,
            "settings.xml" => !options.include_settings,
            "active" => !options.include_active,
            _ => active.contains(&name) && !options.include_active,
        };
        if keep {
            kept.push(format!(
                "site/deployments/{name}{}",
                if entry.is_dir { "/" } else { "" }
            ));
            continue;
        }
        if entry.is_dir && !matches!(name, "tools") {
            deleted_records += 1;
        }
        deletes.push(delete_leftover(
            &ctx,
            entry,
            "full reset",
            "Gone from the deployment history; only the backup keeps it.",
        ));
    }
    if release.is_empty() && deletes.is_empty() {
        plan.not_offered = Some("site/deployments/ holds nothing but what the reset keeps.".into());
        return plan;
    }
    if deleted_records > 0 {
        plan.loses.push(format!(
            "Deployment history: {deleted_records} deployment folder(s) with their status and logs, which is what Deployment Center shows (kept in the backup)."
        ));
    }
    if options.include_active {
        plan.loses.push("Which deployment is active, and its manifest: the next deployment cannot remove files of older builds from wwwroot.".into());
    }
    if options.include_settings {
        plan.loses.push("settings.xml: Kudu-side settings (deployment branch, SCM_ overrides) go back to defaults.".into());
    }
    if options.include_tools {
        plan.loses
            .push("tools/: the deploy script cache and your PostDeploymentActions scripts.".into());
    }
    plan.keeps
        .push("site/wwwroot: the running app is not touched.".into());
    plan.keeps
        .push("Kudu's own trace under LogFiles/kudu/trace.".into());
    plan.keeps.extend(kept);
    plan.steps = backups();
    plan.steps.extend(release);
    plan.steps.extend(deletes);
    plan.steps.extend(extra);
    plan.steps.push(verify(&ctx));
    plan
}
