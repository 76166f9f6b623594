//! Reads that refine a first diagnosis. The first diagnosis is complete without them (one
//! round trip); their replies, stored in `Session::logs`, tell a hung deployment from a slow
//! one by when its log last grew.

use crate::diagnose::facts::context::MAX_PROCESS_READS;
use crate::model::{DeployStatus, Deployment};
use crate::plan::paths::{check_name, encode_segment};
use crate::reads::{Read, ReadId};
use crate::session::{Observed, Session};

/// At most this many logs per round: a site rarely has more than one or two unfinished
/// deployments, and a list full of stuck ones needs no more evidence.
pub const MAX_FOLLOW_UP_LOGS: usize = 4;

impl Session {
    /// Reads that tell a hung deployment from a slow one, for each running or incomplete
    /// deployment: its whole log in one read, `GET /api/vfs/site/deployments/<id>/log.log`
    /// (`ReadId::DeploymentLogFile("<id>")`, every child line included, fact sheet §3.4), so
    /// one round after the first reads is enough: the API's log needs a second read for the
    /// children of its newest line, where a build streams its output. A 404 is a missing log,
    /// as the API's would be (only a Kudu from before `log.log` wrote `log.xml`). Logs the
    /// API gave (`ReadId::DeploymentLog`) are still read on: when the newest line has
    /// children, those children, `GET /api/deployments/<id>/log/<entry id>`
    /// (`ReadId::DeploymentLog("<id>/<entry id>")`, so `Session::logs` keys them the same way).
    ///
    /// Call after ingesting [`crate::reads::diagnosis_reads`], ingest the replies, diagnose
    /// again, and repeat while this is not empty. [`crate::DiagnosisRound`] does exactly that.
    pub fn follow_up_reads(&self) -> Vec<Read> {
        // Borrowed: a big site lists thousands of records, and this runs every round.
        let listed: Vec<&Deployment> = self
            .deployments
            .value()
            .into_iter()
            .flatten()
            .chain(
                self.latest
                    .value()
                    .and_then(|latest| latest.deployment.as_ref()),
            )
            .collect();
        let mut keys: Vec<(String, String)> = vec![];
        for d in listed.iter().copied() {
            // Keys past the cap are never sent; stopping here also keeps a list of thousands
            // of unfinished deployments from a quadratic duplicate check.
            if keys.len() >= MAX_FOLLOW_UP_LOGS {
                break;
            }
            let unfinished = d.status.is_running() || !d.complete;
            // An id that could not be a folder name could not be a safe path segment either.
            let Some(id) = d.id.clone().filter(|id| check_name(id).is_ok()) else {
                continue;
            };
            if !unfinished
                || keys
                    .iter()
                    .any(|(key, _)| key == &id || key.starts_with(&format!("{id}/")))
            {
                continue;
            }
            match self.logs.get(&id) {
                None | Some(Observed::NotRead) => keys.push((id, LOG_FILE.into())),
                Some(Observed::Value(lines)) => {
                    let newest = lines.iter().max_by_key(|e| e.time);
                    if let Some(entry) =
                        newest.filter(|e| e.has_details && check_name(&e.id).is_ok())
                    {
                        let key = format!("{id}/{}", entry.id);
                        if matches!(self.logs.get(&key), None | Some(Observed::NotRead)) {
                            let path = format!(
                                "/api/deployments/{}/log/{}",
                                encode_segment(&id),
                                encode_segment(&entry.id)
                            );
                            keys.push((key, path));
                        }
                    }
                }
                Some(_) => {}
            }
        }
        // Then, with what the cap leaves, failed records whose log may show that Kudu marked
        // them failed (`timeline::died_mid_deploy`): a run that died and its retry look like
        // two deployments at once without it.
        for id in ambiguous_failures(&listed) {
            if keys.len() >= MAX_FOLLOW_UP_LOGS {
                break;
            }
            if matches!(self.logs.get(id), None | Some(Observed::NotRead))
                && !keys.iter().any(|(key, _)| key == id)
            {
                keys.push((id.to_string(), LOG_FILE.into()));
            }
        }
        keys.into_iter()
            .take(MAX_FOLLOW_UP_LOGS)
            .filter_map(|(key, path)| {
                if path == LOG_FILE {
                    return log_file_read(&key);
                }
                Some(Read {
                    path,
                    id: ReadId::DeploymentLog(key),
                    method: "GET",
                    headers: vec![("Accept", "application/json".to_string())],
                })
            })
            .collect()
    }
}

impl Session {
    /// `GET /api/vfs/site/deployments/` once more, when the listing read beside the deployment
    /// list may show what that very read purged; `None` when it cannot.
    ///
    /// Every `GET /api/deployments` makes Kudu purge: pending temporary deployments when more
    /// than one is pending, failed ones that never succeeded (the newest kept when it is
    /// first), successful ones past ten (kudu-facts §1.3). The first reads go out at once, so
    /// the listing may be answered before the purge. A plan made from it would name folders
    /// that are gone, and the cleanup, whose backup no longer holds them, stops with nothing
    /// deleted. Only a listing that shows a purge candidate is read again: a `temp-` folder, a
    /// folder with no successful record in the list, or more than ten folders. A healthy site
    /// shows none and settles in one round trip.
    pub fn listing_after_the_list(&self) -> Option<Read> {
        let records = self.deployments.value()?;
        let folders = self.deployments_dir.value()?;
        let succeeded = |name: &str| {
            records.iter().any(|d| {
                d.status == DeployStatus::Success
                    && d.id
                        .as_deref()
                        .is_some_and(|id| id.eq_ignore_ascii_case(name))
            })
        };
        let deployment_folders: Vec<&str> = folders
            .iter()
            .filter(|e| e.is_dir && !e.name.eq_ignore_ascii_case("tools"))
            .map(|e| e.name.as_str())
            .collect();
        let candidate = deployment_folders.len() > MAX_KEPT_SUCCESSFUL
            || deployment_folders.iter().any(|name| {
                name.get(..5)
                    .is_some_and(|p| p.eq_ignore_ascii_case("temp-"))
                    || !succeeded(name)
            });
        candidate.then(|| Read {
            id: ReadId::DeploymentsDir,
            method: "GET",
            path: "/api/vfs/site/deployments/".into(),
            headers: vec![("Accept", "application/json".to_string())],
        })
    }
}

/// Successful deployments Kudu keeps when it purges (`MaxSuccessDeploymentResults`,
/// kudu-facts §1.3).
const MAX_KEPT_SUCCESSFUL: usize = 10;

impl Session {
    /// `GET /api/processes`: the first of the process reads a round makes on Windows when a
    /// holder looks hung on log silence alone ([`crate::DiagnosisRound`] decides when).
    pub fn process_list_read(&self) -> Vec<Read> {
        vec![process_read(ReadId::Processes, "/api/processes".into())]
    }

    /// `GET /api/processes/<id>` for each listed process not read yet, w3wp included (its
    /// open handles show whether Kudu holds `deployments.lock`), at most
    /// [`MAX_PROCESS_READS`].
    pub fn process_reads(&self) -> Vec<Read> {
        self.processes
            .value()
            .into_iter()
            .flatten()
            .filter(|p| !self.process_details.contains_key(&p.id))
            .take(MAX_PROCESS_READS)
            .map(|p| process_read(ReadId::Process(p.id), format!("/api/processes/{}", p.id)))
            .collect()
    }

    /// The same details again for the build processes whose CPU time the first read gave
    /// (any process of the SCM site but w3wp, a WebJob or KuduHandles): what moved in
    /// between is the evidence.
    pub fn process_reads_again(&self) -> Vec<Read> {
        self.process_details
            .iter()
            .filter_map(|(id, o)| Some((*id, o.value()?)))
            .filter(|(id, p)| {
                p.total_cpu_ms.is_some()
                    && crate::diagnose::facts::context::is_build_process(p)
                    && !self.process_details_again.contains_key(id)
            })
            .map(|(id, _)| process_read(ReadId::ProcessAgain(id), format!("/api/processes/{id}")))
            .collect()
    }
}

fn process_read(id: ReadId, path: String) -> Read {
    Read {
        id,
        method: "GET",
        path,
        headers: vec![("Accept", "application/json".to_string())],
    }
}

/// Stands for "the log file" among the paths above.
const LOG_FILE: &str = "log.log";

/// `GET /api/vfs/site/deployments/<id>/log.log`: a deployment's whole log, children included.
/// `None` for an id that could not be a folder name.
pub(crate) fn log_file_read(id: &str) -> Option<Read> {
    check_name(id).ok()?;
    Some(Read {
        id: ReadId::DeploymentLogFile(id.to_string()),
        method: "GET",
        path: format!("/api/vfs/site/deployments/{}/log.log", encode_segment(id)),
        headers: vec![],
    })
}

/// Only the newest records are looked at for [`ambiguous_failures`]: the ones a retry story
/// can be about, and a bound on the pairwise check for a list of thousands.
const AMBIGUOUS_FAILURE_WINDOW: usize = 20;

/// Ids of failed, finished records without a status text (Kudu's `MarkFailed` clears it, for a
/// build's own failure and for VerifyDeployment's alike) that another real deployment began
/// during: the ones only their log tells apart, newest first.
fn ambiguous_failures<'a>(listed: &[&'a Deployment]) -> Vec<&'a str> {
    let mut recent: Vec<&Deployment> = listed.iter().copied().filter(|d| !d.temp).collect();
    recent.sort_by_key(|d| std::cmp::Reverse(d.received.or(d.started)));
    recent.truncate(AMBIGUOUS_FAILURE_WINDOW);
    recent
        .iter()
        .filter(|d| {
            d.status == DeployStatus::Failed && d.complete && d.status_text.trim().is_empty()
        })
        .filter_map(|d| {
            let id = d.id.as_deref().filter(|id| check_name(id).is_ok())?;
            let (begin, end) = (d.received.or(d.started)?, d.ended?);
            recent
                .iter()
                .any(|other| {
                    other.id.as_deref() != Some(id)
                        && other
                            .received
                            .or(other.started)
                            .is_some_and(|b| begin < b && b < end)
                })
                .then_some(id)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::diagnose::test_session::*;
    use crate::model::DeployStatus;
    use crate::reads::ReadId;
    use crate::session::Observed;

    /// The whole log comes in one read, its children with it; a 404 is a missing log.
    #[test]
    fn the_log_file_brings_the_children_and_a_404_is_a_missing_log() {
        let mut s = Site::linux()
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 58, 0),
                None,
            ))
            .build();
        let ids: Vec<_> = s.follow_up_reads().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, [ReadId::DeploymentLogFile("b0b0".into())]);
        let file = crate::reads::HttpReply {
            status: 200,
            content_type: Some("application/octet-stream".into()),
            body: "2026-11-26T11:58:01.0000000Z,Running oryx build...,6b1d,0\n\
                   \t2026-11-26T11:59:30.0000000Z,npm notice,,0\n"
                .into(),
            ..Default::default()
        };
        let mut read = s.clone();
        read.ingest(
            &ReadId::DeploymentLogFile("b0b0".into()),
            "/api/vfs/site/deployments/b0b0/log.log",
            &file,
        );
        assert!(
            read.follow_up_reads().is_empty(),
            "children came with the file"
        );
        assert!(
            matches!(read.logs.get("b0b0/6b1d"), Some(Observed::Value(lines)) if lines.len() == 1)
        );
        let missing = crate::reads::HttpReply {
            status: 404,
            ..Default::default()
        };
        s.ingest(
            &ReadId::DeploymentLogFile("b0b0".into()),
            "/api/vfs/site/deployments/b0b0/log.log",
            &missing,
        );
        assert!(
            s.follow_up_reads().is_empty(),
            "a missing log is evidence, as the API's 404 is"
        );
        assert_eq!(s.logs.get("b0b0"), Some(&Observed::Missing));
    }

    #[test]
    fn running_deployments_without_a_log_are_read() {
        let s = Site::linux()
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 0, 0),
                None,
            ))
            .deployment(deployment(
                "temp-ab12cd34",
                DeployStatus::Pending,
                "GitHub",
                at(11, 0, 0),
                None,
            ))
            .build();
        let reads = s.follow_up_reads();
        let paths: Vec<_> = reads.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/api/vfs/site/deployments/temp-ab12cd34/log.log",
                "/api/vfs/site/deployments/b0b0/log.log"
            ]
        );
        assert_eq!(reads[1].id, ReadId::DeploymentLogFile("b0b0".into()));
    }

    #[test]
    fn failures_only_their_log_explains_are_read_after_the_unfinished() {
        let failed = |id: &str, begin_min: i64, end_min: i64| {
            deployment(
                id,
                DeployStatus::Failed,
                "GitHub",
                at(10, begin_min, 0),
                Some(at(10, end_min, 0)),
            )
        };
        let mut with_text = failed("c2c2", 0, 40);
        with_text.status_text = "Building and Deploying 'c2c2'.".into();
        let s = Site::linux()
            // Another deployment began while each of these was open, and no status text says
            // why they failed: read.
            .deployment(failed("a0a0", 0, 40))
            .deployment(failed("a1a1", 1, 41))
            // Nothing began while it was open: an ordinary failure.
            .deployment(failed("b0b0", 42, 43))
            // Its status text already says it died mid-way.
            .deployment(with_text)
            .deployment(deployment(
                "e0e0",
                DeployStatus::Success,
                "GitHub",
                at(10, 27, 0),
                Some(at(10, 29, 0)),
            ))
            .deployment(deployment(
                "f0f0",
                DeployStatus::Building,
                "GitHub",
                at(10, 50, 0),
                None,
            ))
            .build();
        let paths: Vec<String> = s.follow_up_reads().into_iter().map(|r| r.path).collect();
        assert_eq!(
            paths,
            [
                "/api/vfs/site/deployments/f0f0/log.log",
                "/api/vfs/site/deployments/a1a1/log.log",
                "/api/vfs/site/deployments/a0a0/log.log",
            ]
        );
    }

    #[test]
    fn children_of_the_newest_line_are_read_next() {
        let mut line = log_line(at(11, 0, 5), "Running oryx build...");
        line.id = "3128fffa-4da1-4b28-ae4d-5bac27d78de6".into();
        line.has_details = true;
        let s = Site::linux()
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 0, 0),
                None,
            ))
            .log(
                "b0b0",
                vec![log_line(at(11, 0, 1), "Preparing deployment."), line],
            )
            .build();
        let reads = s.follow_up_reads();
        assert_eq!(reads.len(), 1);
        assert_eq!(
            reads[0].path,
            "/api/deployments/b0b0/log/3128fffa-4da1-4b28-ae4d-5bac27d78de6"
        );
        assert_eq!(
            reads[0].id,
            ReadId::DeploymentLog("b0b0/3128fffa-4da1-4b28-ae4d-5bac27d78de6".into())
        );
    }

    #[test]
    fn finished_or_already_read_deployments_are_not() {
        let s = Site::linux()
            .deployment(deployment(
                "b0b0",
                DeployStatus::Building,
                "GitHub",
                at(11, 0, 0),
                None,
            ))
            .log("b0b0", vec![])
            .build();
        assert!(s.follow_up_reads().is_empty());
    }

    #[test]
    fn ids_that_are_not_safe_path_segments_are_skipped() {
        let s = Site::linux()
            .deployment(deployment(
                "../x y",
                DeployStatus::Building,
                "GitHub",
                at(11, 0, 0),
                None,
            ))
            .build();
        assert!(s.follow_up_reads().is_empty());
    }
}
