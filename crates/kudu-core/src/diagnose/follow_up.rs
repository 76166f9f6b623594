//! Reads that refine a first diagnosis. The first diagnosis is complete without them (one
//! round trip); their replies, stored in `Session::logs`, tell a hung deployment from a slow
//! one by when its log last grew.

use crate::plan::paths::encode_segment;
use crate::reads::{Read, ReadId};
use crate::session::{Observed, Session};

/// At most this many logs per round: a site rarely has more than one or two unfinished
/// deployments, and a list full of stuck ones needs no more evidence.
pub const MAX_FOLLOW_UP_LOGS: usize = 4;

impl Session {
    /// `GET /api/deployments/<id>/log` for each running or incomplete deployment whose log has
    /// not been read yet. Call after ingesting [`crate::reads::diagnosis_reads`]; ingest the
    /// replies and diagnose again. Empty when there is nothing to refine.
    pub fn follow_up_reads(&self) -> Vec<Read> {
        let mut listed = self.deployments.value().cloned().unwrap_or_default();
        if let Some(latest) = self.latest.value() {
            listed.push(latest.deployment.clone());
        }
        let mut ids: Vec<String> = vec![];
        for d in listed {
            let unfinished = d.status.is_running() || !d.complete;
            let Some(id) = d.id.filter(|id| !id.is_empty()) else {
                continue;
            };
            let unread = matches!(self.logs.get(&id), None | Some(Observed::NotRead));
            if unfinished && unread && !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids.into_iter()
            .take(MAX_FOLLOW_UP_LOGS)
            .map(|id| Read {
                path: format!("/api/deployments/{}/log", encode_segment(&id)),
                id: ReadId::DeploymentLog(id),
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
    fn odd_ids_are_percent_encoded() {
        let s = Site::linux()
            .deployment(deployment(
                "../x y",
                DeployStatus::Building,
                "GitHub",
                at(11, 0, 0),
                None,
            ))
            .build();
        assert_eq!(
            s.follow_up_reads()[0].path,
            "/api/deployments/..%2Fx%20y/log"
        );
    }
}
