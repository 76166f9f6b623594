//! The targeted plan: delete exactly what is stale (Linux) or restart Kudu (Windows), after
//! backing both folders up.

use crate::diagnose::facts::context::{Context, Liveness};
use crate::diagnose::facts::lock_report::{LINUX_LOCK_DIR, WINDOWS_LOCK_FILE};
use crate::diagnose::facts::wording::short_id;
use crate::diagnose::{CauseId, Diagnosis, EvidenceStrength, LockState};
use crate::model::Personality;
use crate::plan::steps::*;
use crate::plan::{CleanupPlan, PlanKind};
use crate::session::Session;

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
        requires_acknowledgement: None,
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
                release.push(release_linux_lock(&ctx));
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
    let shared = unchanged_guards(&ctx);
    for (entry, why) in ctx.leftover_folders() {
        leftovers.push(delete_leftover(
            &shared,
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
    // A deployment record named `pending` would make that entry its folder, not Kudu's marker:
    // then it is not ours to delete (the leftover folders already skip active records).
    let pending_is_a_record = ctx
        .deployments
        .iter()
        .any(|d| d.id.as_deref() == Some("pending"));
    if linux
        && !(release.is_empty() && leftovers.is_empty())
        && !pending_is_a_record
        && let Some(pending) = listed(deployments, "pending", false)
    {
        leftovers.push(delete_leftover(
            &shared,
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
    plan.requires_acknowledgement = acknowledgement(&ctx);
    plan.steps = backups();
    plan.steps.extend(release);
    plan.steps.extend(leftovers);
    plan.steps.extend(extra);
    plan.steps.push(verify(&ctx));
    plan.keeps = keeps(&ctx);
    plan
}

/// The statement a user must confirm when only silence says the holder stopped: the lock's
/// idle evidence is weak, or a deployment whose folder the plan deletes merely looks hung.
pub(super) fn acknowledgement(ctx: &Context) -> Option<String> {
    let weak_lock = ctx
        .lock
        .idle_evidence
        .as_ref()
        .filter(|e| e.strength == EvidenceStrength::Weak);
    let quiet = ctx
        .running
        .iter()
        .find(|r| r.liveness == Liveness::LooksHung);
    if weak_lock.is_none() && quiet.is_none() {
        return None;
    }
    let who = quiet
        .map(|r| format!("deployment {}", short_id(r.id())))
        .unwrap_or_else(|| "the deployment that holds the lock".into());
    Some(format!(
        "No deployment is running on this site: I checked my pipelines and tools, and {who} is \
         not still working. (Kudu Doctor only knows that its log has been silent; deleting the \
         lock of a live deployment lets a second one write wwwroot at the same time.)"
    ))
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

#[cfg(test)]
mod tests {
    use crate::diagnose::test_session::*;
    use crate::model::DeployStatus;
    use crate::plan::{PlanKind, Precondition, StepKind, plan};
    use crate::session::Session;
    use crate::time::Timestamp;

    fn steps(s: &Session, now: Timestamp) -> Vec<String> {
        let d = s.diagnose(now);
        let p = plan(s, &d, PlanKind::Targeted);
        p.steps
            .iter()
            .map(|s| {
                format!(
                    "{} {} {}{}",
                    s.group,
                    s.request.method,
                    s.request.path,
                    if s.optional { " (optional)" } else { "" }
                )
            })
            .collect()
    }

    fn stuck_linux() -> Session {
        let mut temp = deployment(
            "temp-ab12cd34",
            DeployStatus::Pending,
            "GITHUB_ZIP_DEPLOY",
            at(11, 50, 0),
            None,
        );
        temp.status_text = "Receiving changes.".into();
        Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 50, 0))
            .deployment(temp)
            .deployment(deployment(
                "e51c9b2e51c9b2e51c9b2e51c9b2e51c",
                DeployStatus::Building,
                "GITHUB_ZIP_DEPLOY",
                at(11, 50, 2),
                None,
            ))
            .log(
                "e51c9b2e51c9b2e51c9b2e51c9b2e51c",
                vec![log_line(at(11, 50, 45), "Running oryx build...")],
            )
            .log(
                "temp-ab12cd34",
                vec![log_line(at(11, 50, 1), "Fetching changes.")],
            )
            .build()
    }

    #[test]
    fn a_stuck_linux_site_gets_backup_release_leftovers_verify() {
        assert_eq!(
            steps(&stuck_linux(), at(12, 5, 0)),
            [
                "0 GET /api/zip/site/locks/",
                "0 GET /api/zip/site/deployments/",
                "1 DELETE /api/vfs/site/locks/deployment/info.lock",
                "2 DELETE /api/vfs/site/deployments/temp-ab12cd34/?recursive=true",
                "2 DELETE /api/vfs/site/deployments/e51c9b2e51c9b2e51c9b2e51c9b2e51c/?recursive=true",
                "2 DELETE /api/vfs/site/deployments/pending",
                "4 GET /api/isdeploying",
            ]
        );
    }

    #[test]
    fn the_lock_delete_rechecks_holder_latest_and_the_silent_log() {
        let s = stuck_linux();
        let d = s.diagnose(at(12, 5, 0));
        let p = plan(&s, &d, PlanKind::Targeted);
        let Precondition::All(guards) = &p.steps[2].precondition else {
            panic!("{:?}", p.steps[2].precondition)
        };
        assert!(guards.contains(&Precondition::BackupVerified));
        assert!(guards.iter().any(|g| matches!(
            g,
            Precondition::LockUnchanged {
                acquired: Some(_),
                ..
            }
        )));
        assert!(guards.iter().any(|g| matches!(g, Precondition::LogUnchanged { deployment_id, .. } if deployment_id.starts_with("e51c"))));
        assert!(
            guards
                .iter()
                .any(|g| matches!(g, Precondition::LatestUnchanged { .. }))
        );
        assert!(
            p.keeps.iter().any(|k| k.contains("a1b2c3d4")),
            "{:?}",
            p.keeps
        );
        assert!(
            p.loses.iter().any(|k| k.contains("temp-ab12cd34")),
            "{:?}",
            p.loses
        );
    }

    /// Issue 16: the lock is released by deleting info.lock (not its folder) with an `If-Match`
    /// the run fills in from its re-check; leftovers are guarded by their listed modified time.
    #[test]
    fn the_release_deletes_info_lock_with_the_rechecks_etag_and_leftovers_carry_their_time() {
        let s = stuck_linux();
        let p = plan(&s, &s.diagnose(at(12, 5, 0)), PlanKind::Targeted);
        let release = &p.steps[2];
        assert_eq!(release.kind, StepKind::DeleteFile);
        assert_eq!(
            release.request.path,
            "/api/vfs/site/locks/deployment/info.lock"
        );
        assert_eq!(
            release.request.headers,
            [(
                "If-Match",
                crate::plan::paths::IF_MATCH_FROM_RECHECK.to_string()
            )]
        );
        let Precondition::All(guards) = &p.steps[3].precondition else {
            panic!("{:?}", p.steps[3].precondition)
        };
        assert!(guards.iter().any(|g| matches!(
            g,
            Precondition::StillListed { name, modified: Some(_), .. } if name == "temp-ab12cd34"
        )));
        let json = serde_json::to_value(&p).unwrap();
        let listed = json["steps"][3]["precondition"]["all"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["kind"] == "still-listed")
            .unwrap()
            .clone();
        assert_eq!(listed["name"], "temp-ab12cd34");
        assert!(listed["modified"].is_string(), "{listed}");
    }

    #[test]
    fn a_plan_serialises_with_nested_preconditions() {
        let s = stuck_linux();
        let p = plan(&s, &s.diagnose(at(12, 5, 0)), PlanKind::Targeted);
        let json = serde_json::to_value(&p).unwrap();
        let guard = &json["steps"][2]["precondition"];
        assert_eq!(guard["kind"], "all");
        assert_eq!(guard["all"][0]["kind"], "backup-verified");
        assert!(
            guard["all"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["kind"] == "lock-unchanged")
        );
    }

    #[test]
    fn a_progressing_deployment_gets_no_plan() {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 58, 0))
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 58, 1),
                None,
            ))
            .build();
        let d = s.diagnose(at(12, 0, 0));
        let p = plan(&s, &d, PlanKind::Targeted);
        assert!(p.steps.is_empty());
        assert!(p.not_offered.unwrap().contains("b0b0 by GitHub"));
    }

    #[test]
    fn a_healthy_site_gets_no_plan() {
        let s = Site::linux().build();
        let p = plan(&s, &s.diagnose(at(12, 0, 0)), PlanKind::Targeted);
        assert!(p.steps.is_empty());
        assert!(p.not_offered.unwrap().contains("Nothing here is stale"));
    }

    #[test]
    fn a_held_windows_lock_restarts_kudu_and_offers_the_app_worker() {
        let s = Site::windows()
            .list_lock(file("deployments.lock", at(11, 20, 0)))
            .deployment(deployment(
                "c0c0",
                DeployStatus::Building,
                "ZipDeploy",
                at(11, 20, 0),
                None,
            ))
            .build();
        assert_eq!(
            steps(&s, at(12, 0, 0)),
            [
                "0 GET /api/zip/site/locks/",
                "0 GET /api/zip/site/deployments/",
                "1 DELETE /api/processes/0",
                "2 DELETE /api/vfs/site/deployments/c0c0/?recursive=true",
                "3 DELETE /api/processes/-1 (optional)",
                "4 GET /api/vfs/site/locks/",
            ]
        );
    }

    #[test]
    fn a_denied_status_lock_is_deleted_with_if_match() {
        let mut s = Site::linux().build();
        s.lock_errors.push((
            crate::reads::ReadId::Deployments,
            500,
            "Access to the path '/home/site/locks/status.lock' is denied.".into(),
        ));
        let d = s.diagnose(at(12, 0, 0));
        let p = plan(&s, &d, PlanKind::Targeted);
        let step = p
            .steps
            .iter()
            .find(|s| s.kind == StepKind::DeleteFile && s.request.path.ends_with("status.lock"))
            .unwrap();
        assert_eq!(step.request.headers, [("If-Match", "*".to_string())]);
    }

    #[test]
    fn hostile_listed_names_are_refused_and_reported() {
        let mut s = stuck_linux();
        if let crate::session::Observed::Value(list) = &mut s.deployments_dir {
            list.push(dir("../wwwroot"));
            list.push(dir("temp-x/../.."));
            list.push(dir("tеmp-12345678"));
        }
        let p = plan(&s, &s.diagnose(at(12, 0, 0)), PlanKind::Targeted);
        let refused: Vec<_> = p.refused.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(refused, ["../wwwroot", "temp-x/../..", "tеmp-12345678"]);
        assert!(
            p.steps
                .iter()
                .all(|s| !s.request.path.contains("..") && !s.request.path.contains("%D0"))
        );
    }
}
