//! The seed runbook's last resort: empty `site/deployments`, keeping `tools/`, `settings.xml`,
//! `active` and the active deployment's folder unless the user opts in, after backing up.

use crate::diagnose::facts::context::Context;
use crate::diagnose::facts::lock_report::{LINUX_LOCK_DIR, WINDOWS_LOCK_FILE};
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
        requires_acknowledgement: super::targeted::acknowledgement(&ctx),
    };
    if let Some(why) = not_offered_reason(&ctx, diagnosis) {
        plan.not_offered = Some(why);
        return plan;
    }
    let Some(listing) = ctx.deployments_listing() else {
        plan.not_offered = Some("site/deployments/ could not be listed, and nothing is deleted by a name that was not listed.".into());
        return plan;
    };
    if !ctx.deployments_known && !options.include_active {
        plan.not_offered = Some(
            "The deployment list could not be read, so the active deployment's folder cannot be told apart; a full reset would risk it.".into(),
        );
        return plan;
    }
    let active = ctx.active_ids();
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
                release.push(release_linux_lock(&ctx));
            }
            if diagnosis.has(CauseId::StatusLockDenied)
                && listed(locks, "status.lock", false).is_some()
            {
                release.push(delete_status_lock(&ctx));
            }
        }
    }
    let shared = unchanged_guards(&ctx);
    let mut deletes = vec![];
    let mut kept = vec![];
    let mut deleted_records = 0;
    for entry in listing {
        if check_name(&entry.name).is_err() {
            continue;
        }
        let name = entry.name.as_str();
        // Windows' file system ignores case: `Tools` is `tools` there.
        let keep = match name.to_ascii_lowercase().as_str() {
            "tools" => !options.include_tools,
            "settings.xml" => !options.include_settings,
            "active" => !options.include_active,
            _ => active.iter().any(|id| id.eq_ignore_ascii_case(name)) && !options.include_active,
        };
        if keep {
            kept.push(format!(
                "site/deployments/{name}{}",
                if entry.is_dir { "/" } else { "" }
            ));
            continue;
        }
        if entry.is_dir && !name.eq_ignore_ascii_case("tools") {
            deleted_records += 1;
        }
        deletes.push(delete_leftover(
            &shared,
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

#[cfg(test)]
mod tests {
    use crate::diagnose::test_session::*;
    use crate::model::DeployStatus;
    use crate::plan::{FullResetOptions, plan_full_reset};
    use crate::session::Observed;

    fn deleted(options: FullResetOptions) -> (Vec<String>, Vec<String>) {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 0, 0))
            .deployment(deployment(
                "f0f0",
                DeployStatus::Failed,
                "GitHub",
                at(10, 0, 0),
                Some(at(10, 5, 0)),
            ))
            .build();
        let p = plan_full_reset(&s, &s.diagnose(at(12, 0, 0)), options);
        let paths = p
            .steps
            .iter()
            .filter(|s| s.kind.is_destructive())
            .map(|s| s.request.path.clone())
            .collect();
        (paths, p.loses)
    }

    #[test]
    fn a_full_reset_keeps_tools_settings_and_the_active_deployment_by_default() {
        let (paths, loses) = deleted(FullResetOptions::default());
        assert_eq!(
            paths,
            [
                "/api/vfs/site/locks/deployment/info.lock",
                "/api/vfs/site/deployments/pending",
                "/api/vfs/site/deployments/f0f0/?recursive=true",
            ]
        );
        assert!(
            loses[0].contains("Deployment history: 1 deployment folder"),
            "{loses:?}"
        );
    }

    /// Issue 16: `D:\\home` and Azure Files ignore case, so `Tools`, `SETTINGS.XML`, `Active`
    /// and the active deployment's folder in upper case are the kept entries all the same;
    /// and `site/deployments/active` protects the folder it names even when no record says so.
    #[test]
    fn kept_entries_are_kept_in_any_case_and_the_active_file_names_one_more() {
        let mut s = Site::windows()
            .list_lock(file("deployments.lock", at(11, 20, 0)))
            .deployment(deployment(
                "f0f0",
                DeployStatus::Failed,
                "VSTS",
                at(10, 0, 0),
                Some(at(10, 5, 0)),
            ))
            .build();
        s.deployments_dir = Observed::Value(vec![
            file("Active", at(9, 2, 0)),
            file("SETTINGS.XML", at(8, 0, 0)),
            dir("Tools"),
            // The record flags a1b2… active; Windows lists its folder in upper case.
            dir("A1B2C3D4E5F60718293A4B5C6D7E8F90"),
            // No record flags b9b9… active, but the active file names it.
            dir("b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9"),
            dir("f0f0"),
        ]);
        s.active_file = Observed::Value("b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9".into());
        let d = s.diagnose(at(12, 0, 0));
        for p in [
            plan_full_reset(&s, &d, FullResetOptions::default()),
            crate::plan::plan(&s, &d, crate::plan::PlanKind::Targeted),
        ] {
            let deleted: Vec<&str> = p
                .steps
                .iter()
                .filter_map(|step| crate::plan::paths::delete_target(&step.request))
                .map(|(_, name)| name)
                .collect();
            for kept in [
                "Active",
                "SETTINGS.XML",
                "Tools/",
                "A1B2C3D4E5F60718293A4B5C6D7E8F90/",
                "b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9/",
            ] {
                assert!(
                    !deleted.contains(&kept),
                    "{kept} deleted by {:?}: {deleted:?}",
                    p.kind
                );
            }
        }
    }

    #[test]
    fn an_active_file_naming_no_listed_folder_or_unreadable_stops_every_plan() {
        let stale = || {
            Site::linux()
                .linux_lock("Performing continuous deployment", at(11, 0, 0))
                .build()
        };
        let mut s = stale();
        s.active_file = Observed::Value("c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7".into());
        let d = s.diagnose(at(12, 0, 0));
        for p in [
            plan_full_reset(&s, &d, FullResetOptions::default()),
            crate::plan::plan(&s, &d, crate::plan::PlanKind::Targeted),
        ] {
            assert!(p.steps.is_empty());
            assert!(
                p.not_offered
                    .as_deref()
                    .unwrap_or_default()
                    .contains("no such folder"),
                "{:?}",
                p.not_offered
            );
        }
        let mut s = stale();
        s.active_file = Observed::Failed {
            status: 500,
            reason: "Internal Server Error".into(),
        };
        let p = crate::plan::plan(
            &s,
            &s.diagnose(at(12, 0, 0)),
            crate::plan::PlanKind::Targeted,
        );
        assert!(p.not_offered.unwrap().contains("could not be read"));
        // A 404 (no active deployment yet) and an empty file are no obstacle.
        for active in [Observed::Missing, Observed::Value(String::new())] {
            let mut s = stale();
            s.active_file = active;
            let p = crate::plan::plan(
                &s,
                &s.diagnose(at(12, 0, 0)),
                crate::plan::PlanKind::Targeted,
            );
            assert!(!p.steps.is_empty(), "{:?}", p.not_offered);
        }
    }

    #[test]
    fn opting_in_deletes_the_kept_entries_and_says_so() {
        let all = FullResetOptions {
            include_tools: true,
            include_settings: true,
            include_active: true,
        };
        let (paths, loses) = deleted(all);
        for name in [
            "tools/",
            "settings.xml",
            "active",
            "a1b2c3d4e5f60718293a4b5c6d7e8f90/",
        ] {
            assert!(
                paths.iter().any(|p| p.contains(name)),
                "{name} in {paths:?}"
            );
        }
        assert_eq!(loses.len(), 4, "{loses:?}");
    }
}
