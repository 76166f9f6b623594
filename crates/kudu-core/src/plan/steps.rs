//! Step builders and the checks every plan shares: when no plan may be offered at all, which
//! listed names are refused, and the preconditions that guard a destructive step.

use crate::diagnose::facts::context::Context;
use crate::diagnose::facts::lock_report::LINUX_LOCK_DIR;
use crate::diagnose::{CauseId, Diagnosis, LockState};
use crate::model::{Personality, VfsEntry};
use crate::plan::paths::{
    DEPLOYMENTS_DIR, IF_MATCH_FROM_RECHECK, LINUX_LOCK_FILE, LOCKS_DIR, check_name, encode_segment,
};
use crate::plan::{Precondition, RefusedName, Step, StepKind, StepRequest};
use crate::session::Observed;

pub(super) const GROUP_BACKUP: u32 = 0;
pub(super) const GROUP_RELEASE: u32 = 1;
pub(super) const GROUP_LEFTOVERS: u32 = 2;
pub(super) const GROUP_APP_WORKER: u32 = 3;
pub(super) const GROUP_VERIFY: u32 = 4;

/// Why no destructive plan may be offered now, in words for the user.
pub(super) fn not_offered_reason(ctx: &Context, diagnosis: &Diagnosis) -> Option<String> {
    let has = |c| diagnosis.has(c);
    if has(CauseId::SessionExpired) {
        return Some("Your sign-in to the SCM site expired; sign in again and re-run the diagnosis before cleaning anything.".into());
    }
    if has(CauseId::RunFromPackageUrl) {
        return Some(
            "The app runs from a package URL; no cleanup can help. Change the setting instead."
                .into(),
        );
    }
    if has(CauseId::AutoswapInProgress) {
        return Some(
            "An auto swap is under way; wait about 2 minutes instead of cleaning up.".into(),
        );
    }
    if has(CauseId::ScanUnderway) || ctx.scan_underway() {
        return Some("A malware scan holds the deployment lock; wait for it to finish instead of cleaning up.".into());
    }
    if let Some(r) = ctx.progressing().next() {
        return Some(format!(
            "{} is progressing; wait for it to finish. Deleting its lock or folders now would break it.",
            ctx.describe(&r.deployment)
        ));
    }
    if ctx.lock.state == LockState::Live {
        return Some("The deployment lock was taken moments ago by a live operation; wait and re-run the diagnosis.".into());
    }
    if let Some(why) = ctx.active_file_refusal() {
        return Some(why);
    }
    if ctx.personality == Personality::Unknown {
        return Some("Kudu Doctor could not tell whether this is Linux or Windows App Service, so it cannot say what is safe to delete.".into());
    }
    // A denied status.lock breaks the deployment list itself; with the lock free and
    // /api/isdeploying saying False, nothing can be deploying, so the list is not needed.
    let idle_by_isdeploying = ctx.personality == Personality::Linux
        && ctx.lock.state == LockState::Free
        && ctx.is_deploying().is_some_and(|d| !d.deploying);
    if (!ctx.deployments_known && !idle_by_isdeploying) || ctx.lock.state == LockState::Unknown {
        return Some("Kudu Doctor could not read enough (the deployment list or the lock) to be sure nothing is deploying; re-run the diagnosis.".into());
    }
    None
}

/// Every listed name in the two folders that may not be used in a request.
pub(super) fn refused_names(ctx: &Context) -> Vec<RefusedName> {
    let mut out = vec![];
    for (dir, listing) in [
        (LOCKS_DIR, ctx.locks_listing()),
        (DEPLOYMENTS_DIR, ctx.deployments_listing()),
    ] {
        for e in listing.into_iter().flatten() {
            if let Err(reason) = check_name(&e.name) {
                out.push(RefusedName {
                    dir: dir.to_string(),
                    name: e.name.clone(),
                    reason: reason.to_string(),
                });
            }
        }
    }
    out
}

/// The entry listed under exactly this name, when the name is usable.
pub(super) fn listed<'l>(
    listing: Option<&'l [VfsEntry]>,
    name: &str,
    is_dir: bool,
) -> Option<&'l VfsEntry> {
    listing?
        .iter()
        .find(|e| e.name == name && e.is_dir == is_dir && check_name(&e.name).is_ok())
}

/// What must still hold before anything destructive: the newest deployment unchanged and every
/// hung deployment whose log the diagnosis read still silent.
///
/// Built once per plan and cloned into each destructive step, so its size must not grow with
/// the site: a `LogUnchanged` is only made for a deployment whose log the diagnosis read (at
/// most `MAX_FOLLOW_UP_LOGS` of them). A deployment judged hung by its age alone was judged
/// without its log, and the re-check judges it the same way again (every re-check refuses to go
/// on while any deployment progresses), so a guard on its log would only cost one read per
/// leftover folder and compare a log line against a record time. Giving every step a guard for
/// every running deployment made a plan of n leftover folders carry n² guards.
pub(super) fn unchanged_guards(ctx: &Context) -> Vec<Precondition> {
    let mut out = vec![Precondition::BackupVerified];
    // `Context::newest` is also what the cleanup run re-checks against, so both sides agree.
    if let Some(d) = ctx.newest() {
        out.push(Precondition::LatestUnchanged {
            id: d.id.clone(),
            status: d.status.as_str().to_string(),
        });
    }
    for r in &ctx.running {
        let Some(id) = &r.deployment.id else {
            continue;
        };
        let log_read = ctx
            .session
            .logs
            .get(id)
            .is_some_and(|o| !matches!(o, Observed::NotRead));
        if log_read {
            out.push(Precondition::LogUnchanged {
                deployment_id: id.clone(),
                last_line: r.last_activity,
            });
        }
    }
    // Windows: the build processes the diagnosis watched, so the re-check grades them the same
    // way (a handful at most: `MAX_PROCESS_READS`).
    out.extend(
        crate::diagnose::facts::context::build_cpu_baseline(ctx.session)
            .into_iter()
            .map(
                |(pid, label, cpu_ms, read_at)| Precondition::BuildCpuUnchanged {
                    pid,
                    label,
                    cpu_ms,
                    read_at,
                },
            ),
    );
    out
}

pub(super) fn backups() -> Vec<Step> {
    [(LOCKS_DIR, "locks"), (DEPLOYMENTS_DIR, "deployments")]
        .into_iter()
        .map(|(dir, what)| Step {
            kind: StepKind::Backup,
            request: StepRequest {
                method: "GET",
                path: format!("/api/zip/{dir}"),
                headers: vec![],
            },
            precondition: Precondition::None,
            expect: format!(
                "A zip of {dir} is saved on your computer and lists what the {what} listing showed."
            ),
            risk: "None: it only reads.".into(),
            group: GROUP_BACKUP,
            optional: false,
        })
        .collect()
}

/// Releases the Linux lock: `DELETE site/locks/deployment/info.lock` with `If-Match` set, when
/// the run sends it, to the ETag its re-check read ([`IF_MATCH_FROM_RECHECK`] until then). A
/// lock taken again after that read has a new ETag, and Kudu refuses the delete (412, or 409 on
/// Linux) instead of deleting the new holder's lock. The empty `deployment/` folder stays and
/// does not block: KuduLite's `IsHeld` is false without `info.lock` (kudu-facts §2.3).
pub(super) fn release_linux_lock(ctx: &Context) -> Step {
    let mut guards = unchanged_guards(ctx);
    guards.push(Precondition::StillListed {
        dir: LOCKS_DIR.into(),
        name: LINUX_LOCK_DIR.into(),
        modified: None,
    });
    guards.push(Precondition::LockUnchanged {
        holder_operation: ctx.lock.holder_operation.clone(),
        acquired: ctx.lock.acquired,
    });
    Step {
        kind: StepKind::DeleteFile,
        request: StepRequest {
            method: "DELETE",
            path: format!("/api/vfs/{LOCKS_DIR}{LINUX_LOCK_FILE}"),
            headers: vec![("If-Match", IF_MATCH_FROM_RECHECK.into())],
        },
        precondition: Precondition::All(guards),
        expect: "site/locks/deployment/info.lock is gone and /api/isdeploying says False: deployments are accepted again (the empty deployment/ folder left behind does not block).".into(),
        risk: format!(
            "Releases the lock held by '{}'. Had that deployment still been running, a new one could start alongside it; the re-checks just before (same holder, same newest deployment, no new log line) rule that out.",
            ctx.lock.holder_operation.as_deref().unwrap_or("an unnamed operation")
        ),
        group: GROUP_RELEASE,
        optional: false,
    }
}

pub(super) fn delete_status_lock(ctx: &Context) -> Step {
    let mut guards = unchanged_guards(ctx);
    guards.push(Precondition::StillListed {
        dir: LOCKS_DIR.into(),
        name: "status.lock".into(),
        modified: None,
    });
    Step {
        kind: StepKind::DeleteFile,
        request: delete_request(LOCKS_DIR, "status.lock", false),
        precondition: Precondition::All(guards),
        expect: "site/locks/status.lock is gone; Kudu recreates it with the right owner on its next status read.".into(),
        risk: "Low: Kudu recreates the file. A status write running at that very moment could fail once.".into(),
        group: GROUP_RELEASE,
        optional: false,
    }
}

/// Deletes one listed entry of `site/deployments/` (a leftover folder or `pending`).
/// `shared` is [`unchanged_guards`], built once by the caller for all leftovers.
pub(super) fn delete_leftover(
    shared: &[Precondition],
    entry: &VfsEntry,
    why: &str,
    risk: &str,
) -> Step {
    let mut guards = Vec::with_capacity(shared.len() + 2);
    guards.extend_from_slice(shared);
    guards.push(Precondition::NotDeploying);
    guards.push(Precondition::StillListed {
        dir: DEPLOYMENTS_DIR.into(),
        name: entry.name.clone(),
        modified: entry.modified,
    });
    Step {
        kind: if entry.is_dir {
            StepKind::DeleteDir
        } else {
            StepKind::DeleteFile
        },
        request: delete_request(DEPLOYMENTS_DIR, &entry.name, entry.is_dir),
        precondition: Precondition::All(guards),
        expect: format!(
            "site/deployments/{}{} is no longer listed ({why}).",
            entry.name,
            if entry.is_dir { "/" } else { "" }
        ),
        risk: risk.to_string(),
        group: GROUP_LEFTOVERS,
        optional: false,
    }
}

pub(super) fn restart_kudu(ctx: &Context) -> Step {
    // `DELETE /api/processes/0` restarts the Kudu of the instance the request reaches only.
    let instances = crate::diagnose::facts::instances::report(ctx.session, &ctx.lock);
    let expect = if instances.restart_may_miss_the_holder() {
        "The Kudu of the instance this request reaches restarts within about a minute. The lock \
         may be held on another instance; then deployments.lock stays listed in site/locks/ \
         and the verify read shows it."
    } else {
        "Kudu (the SCM site) restarts within about a minute and deployments.lock is no longer \
         listed in site/locks/."
    };
    let mut guards = unchanged_guards(ctx);
    guards.push(Precondition::StillListed {
        dir: LOCKS_DIR.into(),
        name: "deployments.lock".into(),
        modified: None,
    });
    Step {
        kind: StepKind::RestartKudu,
        request: StepRequest { method: "DELETE", path: "/api/processes/0".into(), headers: vec![] },
        precondition: Precondition::All(guards),
        expect: expect.into(),
        risk: "The SCM site restarts: its console, log stream and this page's connection drop for about a minute. Your app keeps serving. The process holding the lock (a hung deployment or build) is ended.".into(),
        group: GROUP_RELEASE,
        optional: false,
    }
}

pub(super) fn restart_app_worker() -> Step {
    Step {
        kind: StepKind::RestartAppWorker,
        request: StepRequest { method: "DELETE", path: "/api/processes/-1".into(), headers: vec![] },
        precondition: Precondition::All(vec![Precondition::BackupVerified, Precondition::NotDeploying]),
        expect: "Your app's worker process (w3wp) restarts and serves the active deployment again.".into(),
        risk: "Your app restarts: requests fail or wait for a few seconds to a minute. Only needed when the app itself misbehaves.".into(),
        group: GROUP_APP_WORKER,
        optional: true,
    }
}

pub(super) fn verify(ctx: &Context) -> Step {
    let path = match ctx.personality {
        Personality::Windows => "/api/vfs/site/locks/",
        _ => "/api/isdeploying",
    };
    Step {
        kind: StepKind::Verify,
        request: StepRequest {
            method: "GET",
            path: path.into(),
            headers: vec![("Accept", "application/json".into())],
        },
        precondition: Precondition::None,
        expect: "Re-read the site and diagnose again: nothing blocks deployments.".into(),
        risk: "None: it only reads.".into(),
        group: GROUP_VERIFY,
        optional: false,
    }
}

/// What must be true afterwards, per OS.
pub(super) fn verify_list(ctx: &Context) -> Vec<String> {
    let mut out = match ctx.personality {
        Personality::Windows => vec![
            "deployments.lock is not listed in site/locks/.".to_string(),
            "/api/deployments/latest answers 200, not 202.".to_string(),
        ],
        _ => vec![
            "/api/isdeploying says False.".to_string(),
            "site/locks/deployment/info.lock is gone (an empty deployment/ folder may stay; it does not block).".to_string(),
            "/api/deployments/latest answers 200, not 202.".to_string(),
        ],
    };
    out.push(
        "No deleted temp- or incomplete folder is listed in site/deployments/ any more.".into(),
    );
    out.push("site/wwwroot still lists the app's files, and the next deployment is accepted (202, then status 4).".into());
    out
}

fn delete_request(dir: &str, name: &str, is_dir: bool) -> StepRequest {
    let path = if is_dir {
        format!("/api/vfs/{dir}{}/?recursive=true", encode_segment(name))
    } else {
        format!("/api/vfs/{dir}{}", encode_segment(name))
    };
    StepRequest {
        method: "DELETE",
        path,
        headers: vec![("If-Match", "*".into())],
    }
}
