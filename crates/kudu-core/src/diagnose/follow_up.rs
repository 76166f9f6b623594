//! Reads that refine a first diagnosis. The first diagnosis is complete without them (one
//! round trip); their replies, stored in `Session::logs`, tell a hung deployment from a slow
//! one by when its log last grew.

use crate::plan::paths::{check_name, encode_segment};
use crate::reads::{Read, ReadId};
use crate::session::{Observed, Session};

/// At most this many logs per round: a site rarely has more than one or two unfinished
/// deployments, and a list full of stuck ones needs no more evidence.
pub const MAX_FOLLOW_UP_LOGS: usize = 4;

impl Session {
    /// Reads that tell a hung deployment from a slow one, for each running or incomplete
    /// deployment: first its log, `GET /api/deployments/<id>/log`
    /// (`ReadId::DeploymentLog("<id>")`); then, when the newest line has children (a build
    /// streams its output there), those children, `GET /api/deployments/<id>/log/<entry id>`
    /// (`ReadId::DeploymentLog("<id>/<entry id>")`, so `Session::logs` keys them the same way).
    ///
    /// Call after ingesting [`crate::reads::diagnosis_reads`], ingest the replies, diagnose
    /// again, and repeat while this is not empty (at most two more rounds). The first diagnosis
    /// is already complete without them.
    pub fn follow_up_reads(&self) -> Vec<Read> {
        let mut listed = self.deployments.value().cloned().unwrap_or_default();
        if let Some(latest) = self.latest.value() {
            listed.push(latest.deployment.clone());
        }
        let mut keys: Vec<(String, String)> = vec![];
        for d in listed {
            // Keys past the cap are never sent; stopping here also keeps a list of thousands
            // of unfinished deployments from a quadratic duplicate check.
            if keys.len() >= MAX_FOLLOW_UP_LOGS {
                break;
            }
            let unfinished = d.status.is_running() || !d.complete;
            // An id that could not be a folder name could not be a safe path segment either.
            let Some(id) = d.id.filter(|id| check_name(id).is_ok()) else {
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
                None | Some(Observed::NotRead) => {
                    let path = format!("/api/deployments/{}/log", encode_segment(&id));
                    keys.push((id, path));
                }
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
        keys.into_iter()
            .take(MAX_FOLLOW_UP_LOGS)
            .map(|(key, path)| Read {
                path,
                id: ReadId::DeploymentLog(key),
                method: "GET",
                headers: vec![("Accept", "application/json".to_string())],
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnose::test_session::*;
    use crate::model::DeployStatus;
    use crate::reads::ReadId;

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
                "/api/deployments/temp-ab12cd34/log",
                "/api/deployments/b0b0/log"
            ]
        );
        assert_eq!(reads[1].id, ReadId::DeploymentLog("b0b0".into()));
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
