//! From an HTTP reply to an [`Observed`] value in the [`Session`].
//!
//! First the reply as a whole is triaged (404 is evidence, 401/403/opaque redirects/HTML are
//! an expired session, other failures keep their status and a readable reason), then a usable
//! body goes to the parser for its read. Nothing here panics and nothing is dropped silently:
//! whatever could not be used becomes a [`Warning`] naming the endpoint.

use std::collections::BTreeMap;

use super::conflict::{classify, message_text};
use super::loose_json::one_line;
use super::personality::path_personality;
use super::sign_in::{is_sign_in_reply, looks_like_html, looks_like_xml};
use super::{
    ParseError, Parsed, parse_deployment, parse_deployments, parse_environment, parse_is_deploying,
    parse_lock, parse_log, parse_process_details, parse_process_list, parse_setting,
    parse_vfs_listing,
};
use crate::model::LogEntry;
use crate::model::{ConflictKind, Personality};
use crate::reads::{HttpReply, ReadId};
use crate::session::{LatestReply, Observed, Session, Warning};

/// Stores one reply in the session (see [`Session::ingest`]). Ingesting a read again replaces
/// its observation, its warnings and its lock errors.
pub fn ingest(session: &mut Session, read: &ReadId, path: &str, reply: &HttpReply) {
    session.warnings.retain(|w| w.endpoint != path);
    session.lock_errors.retain(|(id, _, _)| id != read);
    session.os_hints.retain(|(id, _)| id != read);
    let status = reply.status;
    let triaged = triage(reply);

    let is_deployment_read = matches!(
        read,
        ReadId::Deployments
            | ReadId::Latest
            | ReadId::DeploymentLog(_)
            | ReadId::DeploymentLogFile(_)
    );
    if is_deployment_read
        && matches!(triaged, Triage::Failed { .. })
        && reply.transport_error.is_none()
        && worth_keeping(&reply.body)
    {
        session
            .lock_errors
            .push((read.clone(), status, reply.body.clone()));
    }

    let is_vfs_read = matches!(
        read,
        ReadId::LocksDir
            | ReadId::InfoLock
            | ReadId::DeploymentsDir
            | ReadId::WwwrootDir
            | ReadId::KuduTraceDir
            | ReadId::ActiveFile
    );
    if is_vfs_read
        && matches!(triaged, Triage::Missing)
        && let Some(os) = personality_of_not_found(&reply.body)
    {
        session.os_hints.push((read.clone(), os));
    }

    let warnings = &mut session.warnings;
    match read {
        ReadId::Deployments => store(
            &mut session.deployments,
            warnings,
            path,
            status,
            triaged,
            parse_deployments,
        ),
        ReadId::Latest => store(
            &mut session.latest,
            warnings,
            path,
            status,
            triaged,
            |body| {
                // `{}` is what Kudu answers after it recycled (vscode-azuretools
                // `waitForDeploymentToComplete.ts` polls on through it): no current record.
                if is_empty_object(body) {
                    return Ok(Parsed {
                        value: LatestReply {
                            http_status: status,
                            deployment: None,
                            retry_after_secs: retry_after_secs(reply),
                        },
                        warnings: vec![],
                    });
                }
                parse_deployment(body).map(|parsed| Parsed {
                    value: LatestReply {
                        http_status: status,
                        deployment: Some(parsed.value),
                        retry_after_secs: retry_after_secs(reply),
                    },
                    warnings: parsed.warnings,
                })
            },
        ),
        ReadId::IsDeploying => {
            session.is_deploying_no_route = matches!(triaged, Triage::Missing)
                && message_text(&reply.body).contains("No route registered");
            store(
                &mut session.is_deploying,
                warnings,
                path,
                status,
                triaged,
                parse_is_deploying,
            );
        }
        ReadId::LocksDir => store(
            &mut session.locks_dir,
            warnings,
            path,
            status,
            triaged,
            parse_vfs_listing,
        ),
        ReadId::DeploymentsDir => store(
            &mut session.deployments_dir,
            warnings,
            path,
            status,
            triaged,
            parse_vfs_listing,
        ),
        ReadId::WwwrootDir => store(
            &mut session.wwwroot_dir,
            warnings,
            path,
            status,
            triaged,
            parse_vfs_listing,
        ),
        ReadId::ActiveFile => store(
            &mut session.active_file,
            warnings,
            path,
            status,
            triaged,
            parse_active_file,
        ),
        ReadId::KuduTraceDir => store(
            &mut session.kudu_trace_dir,
            warnings,
            path,
            status,
            triaged,
            parse_vfs_listing,
        ),
        ReadId::InfoLock => {
            store(
                &mut session.info_lock,
                warnings,
                path,
                status,
                triaged,
                parse_lock,
            );
            // Only a strong ETag can go in `If-Match` (kudu-facts §4.4); a weak one (`W/"…"`)
            // counts as none.
            session.info_lock_etag = match &session.info_lock {
                Observed::Value(_) => reply
                    .header("etag")
                    .map(str::trim)
                    .filter(|tag| tag.starts_with('"') && tag.ends_with('"') && tag.len() > 2)
                    .map(str::to_string),
                _ => None,
            };
        }
        ReadId::Environment => store(
            &mut session.environment,
            warnings,
            path,
            status,
            triaged,
            parse_environment,
        ),
        ReadId::Setting(key) => {
            let slot = session.settings.entry(key.clone()).or_default();
            if matches!(triaged, Triage::Missing) {
                // "The setting '<key>' does not exist." is the answer, not a failure.
                *slot = Observed::Value(None);
            } else {
                store(slot, warnings, path, status, triaged, |body| {
                    parse_setting(body).map(|parsed| Parsed {
                        value: parsed.value.value,
                        warnings: parsed.warnings,
                    })
                });
            }
        }
        ReadId::DeploymentLog(id) => {
            let slot = session.logs.entry(id.clone()).or_default();
            store(slot, warnings, path, status, triaged, parse_log);
        }
        ReadId::DeploymentLogFile(id) => {
            let mut whole = Observed::NotRead;
            store(&mut whole, warnings, path, status, triaged, parse_log);
            store_log_file(&mut session.logs, id, whole);
        }
        ReadId::Processes => store(
            &mut session.processes,
            warnings,
            path,
            status,
            triaged,
            parse_process_list,
        ),
        ReadId::Process(pid) | ReadId::ProcessAgain(pid) => {
            let slots = match read {
                ReadId::Process(_) => &mut session.process_details,
                _ => &mut session.process_details_again,
            };
            let slot = slots.entry(*pid).or_default();
            store(slot, warnings, path, status, triaged, |body| {
                let parsed = parse_process_details(body)?;
                // A reply about another process (a link that resolved elsewhere) says
                // nothing about this one.
                if parsed.value.id != *pid {
                    return Err(ParseError::new(
                        "id",
                        format!("asked for process {pid}, got {}", parsed.value.id),
                    ));
                }
                Ok(parsed)
            });
        }
    }
}

/// What a reply amounts to before its body is read.
enum Triage<'a> {
    Missing,
    Expired,
    Failed { status: u16, reason: String },
    Usable(&'a str),
}

fn triage(reply: &HttpReply) -> Triage<'_> {
    if is_sign_in_reply(reply) {
        return Triage::Expired;
    }
    if let Some(error) = &reply.transport_error {
        return Triage::Failed {
            status: reply.status,
            reason: format!(
                "the request failed before Kudu answered ({})",
                one_line(error, 200)
            ),
        };
    }
    let content_type = reply.content_type.as_deref();
    match reply.status {
        404 => Triage::Missing,
        300..=399 => Triage::Failed {
            status: reply.status,
            reason: format!(
                "HTTP {}: redirected to {}",
                reply.status,
                one_line(reply.header("location").unwrap_or(""), 200)
            ),
        },
        200..=299 if looks_like_xml(content_type, &reply.body) => Triage::Failed {
            status: reply.status,
            reason: "XML where JSON was expected (the request must send Accept: application/json)"
                .into(),
        },
        200..=299 => Triage::Usable(&reply.body),
        status => {
            let what = if looks_like_html(content_type, &reply.body) {
                "an HTML error page".to_string()
            } else {
                let message = message_text(&reply.body);
                if message.is_empty() {
                    "no message".to_string()
                } else {
                    one_line(&message, 300)
                }
            };
            Triage::Failed {
                status,
                reason: format!("HTTP {status}: {what}"),
            }
        }
    }
}

/// Whether a failed deployment read's body is one the causes look for: it names a lock
/// (`status.lock` access denied, a lock conflict) or is one of Kudu's 409 texts.
fn worth_keeping(body: &str) -> bool {
    let message = message_text(body);
    let lower = message.to_ascii_lowercase();
    lower.contains(".lock")
        || lower.contains("acquire lock")
        || classify(&message).kind != ConflictKind::Unknown
}

/// `{}`, give or take white space and a byte-order mark.
fn is_empty_object(body: &str) -> bool {
    let inner = body.trim_start_matches('\u{feff}').trim();
    inner
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .is_some_and(|middle| middle.trim().is_empty())
}

/// The OS behind a VFS 404 (`'D:\home\site\x' not found.` or `'/home/site/x' not found.`).
fn personality_of_not_found(body: &str) -> Option<Personality> {
    let message = message_text(body);
    let quoted = message.split('\'').nth(1)?;
    path_personality(quoted)
}

/// Parses a usable body into `slot`, or records why not.
/// `site/deployments/active`: one deployment id, no newline (fact sheet §3); an empty file is
/// a site with no successful deployment yet. Anything that could not be an id is refused, so
/// a garbled file never stands for "no active deployment".
fn parse_active_file(body: &str) -> Result<Parsed<String>, ParseError> {
    let id = body.trim_start_matches('\u{feff}').trim();
    if id.is_empty() || crate::plan::paths::check_name(id).is_ok() {
        Ok(Parsed {
            value: id.to_string(),
            warnings: vec![],
        })
    } else {
        Err(ParseError::new(
            "body",
            format!("not a deployment id: {}", one_line(id, 80)),
        ))
    }
}

/// Files a whole `log.log` as the API would give it: the top-level lines under `id`, and the
/// children of each (the lines with an empty id that follow it, at any depth) under
/// `<id>/<its entry id>`. The diagnosis and the cleanup's re-check then read one shape,
/// whichever way the log came.
fn store_log_file(
    logs: &mut BTreeMap<String, Observed<Vec<LogEntry>>>,
    id: &str,
    whole: Observed<Vec<LogEntry>>,
) {
    let Observed::Value(lines) = whole else {
        logs.insert(id.to_string(), whole);
        return;
    };
    let mut top: Vec<LogEntry> = Vec::new();
    let mut children: BTreeMap<String, Vec<LogEntry>> = BTreeMap::new();
    for line in lines {
        match top.last() {
            Some(parent) if line.id.is_empty() => {
                let key = format!("{id}/{}", parent.id);
                children.entry(key).or_default().push(line);
            }
            // A child before any top-level line has nothing to hang from: keep it on top.
            _ => top.push(line),
        }
    }
    for (key, lines) in children {
        logs.insert(key, Observed::Value(lines));
    }
    logs.insert(id.to_string(), Observed::Value(top));
}

fn store<T>(
    slot: &mut Observed<T>,
    warnings: &mut Vec<Warning>,
    endpoint: &str,
    status: u16,
    triage: Triage<'_>,
    parse: impl FnOnce(&str) -> Result<Parsed<T>, ParseError>,
) {
    *slot = match triage {
        Triage::Missing => Observed::Missing,
        Triage::Expired => Observed::SessionExpired,
        Triage::Failed { status, reason } => failed(warnings, endpoint, status, reason),
        Triage::Usable(body) => match parse(body) {
            Ok(parsed) => {
                warnings.extend(parsed.warnings.into_iter().map(|w| Warning {
                    endpoint: endpoint.to_string(),
                    reason: w.to_string(),
                }));
                Observed::Value(parsed.value)
            }
            Err(error) => failed(warnings, endpoint, status, error.to_string()),
        },
    };
}

fn failed<T>(
    warnings: &mut Vec<Warning>,
    endpoint: &str,
    status: u16,
    reason: String,
) -> Observed<T> {
    warnings.push(Warning {
        endpoint: endpoint.to_string(),
        reason: reason.clone(),
    });
    Observed::Failed { status, reason }
}

/// `Retry-After` in seconds; the HTTP-date form is ignored (the core has no clock to subtract).
fn retry_after_secs(reply: &HttpReply) -> Option<u64> {
    reply.header("retry-after")?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeployStatus;
    use crate::parse::test_reply as reply;

    #[test]
    fn a_list_is_stored_with_its_field_warnings() {
        let mut session = Session::new();
        let body = r#"[{"id":"a","status":4,"end_time":"later"}]"#;
        session.ingest(
            &ReadId::Deployments,
            "/api/deployments",
            &reply(200, "application/json", body),
        );
        let list = session.deployments.value().unwrap();
        assert_eq!(list[0].status, DeployStatus::Success);
        assert_eq!(session.warnings.len(), 1);
        assert_eq!(session.warnings[0].endpoint, "/api/deployments");
        assert!(session.warnings[0].reason.starts_with("[0].end_time:"));
    }

    #[test]
    fn not_found_is_evidence() {
        let mut session = Session::new();
        let body = r#"{"Message":"'D:\\home\\site\\locks\\deployment\\info.lock' not found."}"#;
        session.ingest(
            &ReadId::InfoLock,
            "/api/vfs/site/locks/deployment/info.lock",
            &reply(404, "application/json", body),
        );
        assert_eq!(session.info_lock, Observed::Missing);
        let setting = ReadId::Setting("WEBSITE_RUN_FROM_PACKAGE".into());
        session.ingest(
            &setting,
            "/api/settings/WEBSITE_RUN_FROM_PACKAGE",
            &reply(
                404,
                "text/plain",
                "The setting 'WEBSITE_RUN_FROM_PACKAGE' does not exist.",
            ),
        );
        assert_eq!(
            session.settings["WEBSITE_RUN_FROM_PACKAGE"],
            Observed::Value(None)
        );
        assert!(session.warnings.is_empty());
    }

    #[test]
    fn expired_sessions_in_every_disguise() {
        let login = "<!DOCTYPE html><html><head><title>Sign in to your account</title>";
        let mut redirect = reply(302, "text/html", "");
        redirect.headers.push((
            "location".into(),
            "https://login.microsoftonline.com/common/oauth2/authorize".into(),
        ));
        for r in [
            reply(200, "text/html; charset=utf-8", login),
            reply(200, "application/json", login),
            reply(401, "text/plain", ""),
            reply(403, "text/html", "Forbidden"),
            reply(0, "", ""),
            redirect,
        ] {
            let mut session = Session::new();
            session.ingest(&ReadId::Deployments, "/api/deployments", &r);
            assert_eq!(session.deployments, Observed::SessionExpired, "{r:?}");
        }
    }

    #[test]
    fn server_errors_fail_with_a_warning_and_lock_errors_are_kept() {
        let mut session = Session::new();
        let body = "\"Access to the path '/home/site/locks/status.lock' is denied.\"";
        session.ingest(
            &ReadId::Deployments,
            "/api/deployments",
            &reply(500, "application/json", body),
        );
        match &session.deployments {
            Observed::Failed { status, reason } => {
                assert_eq!(*status, 500);
                assert!(reason.contains("status.lock"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(session.warnings.len(), 1);
        assert_eq!(
            session.lock_errors,
            vec![(ReadId::Deployments, 500, body.to_string())]
        );

        // A re-check replaces the observation, the warning and the lock error.
        session.ingest(
            &ReadId::Deployments,
            "/api/deployments",
            &reply(200, "application/json", "[]"),
        );
        assert_eq!(session.deployments, Observed::Value(vec![]));
        assert!(session.warnings.is_empty());
        assert!(session.lock_errors.is_empty());
    }

    #[test]
    fn kudu_409_texts_on_deployment_reads_are_kept() {
        let mut session = Session::new();
        let body = "There is an auto swap deployment currently ongoing please try again when it completes.";
        session.ingest(
            &ReadId::Latest,
            "/api/deployments/latest",
            &reply(409, "text/plain", body),
        );
        assert_eq!(
            session.lock_errors,
            vec![(ReadId::Latest, 409, body.to_string())]
        );
        session.ingest(
            &ReadId::Latest,
            "/api/deployments/latest",
            &reply(500, "text/plain", "Object reference not set"),
        );
        assert!(session.lock_errors.is_empty());
        // Other reads never feed lock errors.
        session.ingest(
            &ReadId::Environment,
            "/api/environment",
            &reply(409, "text/plain", body),
        );
        assert!(session.lock_errors.is_empty());
    }

    #[test]
    fn unusable_json_fails_and_names_the_field() {
        let mut session = Session::new();
        session.ingest(
            &ReadId::IsDeploying,
            "/api/isdeploying",
            &reply(200, "application/json", r#"{"msg":""}"#),
        );
        assert_eq!(
            session.is_deploying,
            Observed::Failed {
                status: 200,
                reason: "value: missing".into()
            }
        );
        assert_eq!(session.warnings[0].endpoint, "/api/isdeploying");
    }

    #[test]
    fn latest_keeps_status_and_retry_after() {
        let mut session = Session::new();
        let mut r = reply(
            202,
            "application/json",
            r#"{"id":"temp-1","status":0,"url":null}"#,
        );
        r.headers.push(("Retry-After".into(), "30".into()));
        session.ingest(&ReadId::Latest, "/api/deployments/latest", &r);
        let latest = session.latest.value().unwrap();
        assert_eq!(latest.http_status, 202);
        assert_eq!(latest.retry_after_secs, Some(30));
        assert_eq!(
            latest.deployment.as_ref().map(|d| d.status),
            Some(DeployStatus::Pending)
        );
    }

    /// vscode-azuretools' `waitForDeploymentToComplete.ts` reads an empty object from
    /// `latest` as Kudu having recycled: no current record, which is an answer, not a failure.
    #[test]
    fn an_empty_latest_after_a_recycle_is_no_current_record() {
        for body in ["{}", " { } \n", "\u{feff}{}"] {
            let mut session = Session::new();
            let r = reply(200, "application/json; charset=utf-8", body);
            session.ingest(&ReadId::Latest, "/api/deployments/latest", &r);
            let latest = session.latest.value().expect("an answer, not a failure");
            assert_eq!(latest.http_status, 200);
            assert_eq!(latest.deployment, None);
            assert!(session.warnings.is_empty(), "{:?}", session.warnings);
        }
        // Any other record-less object is still unusable.
        let mut session = Session::new();
        let r = reply(200, "application/json", r#"{"message":"x"}"#);
        session.ingest(&ReadId::Latest, "/api/deployments/latest", &r);
        assert!(matches!(session.latest, Observed::Failed { .. }));
    }

    #[test]
    fn xml_is_a_failure_not_an_expired_session() {
        let mut session = Session::new();
        let body = r#"<?xml version="1.0"?><ArrayOfDeployResult xmlns="http://schemas.datacontract.org/2004/07/Kudu.Core.Deployment"/>"#;
        session.ingest(
            &ReadId::Deployments,
            "/api/deployments",
            &reply(200, "application/xml; charset=utf-8", body),
        );
        assert!(matches!(
            session.deployments,
            Observed::Failed { status: 200, .. }
        ));
        let xhtml = "<?xml version=\"1.0\"?><!DOCTYPE html><html><title>Sign in</title></html>";
        session.ingest(
            &ReadId::Deployments,
            "/api/deployments",
            &reply(200, "text/html", xhtml),
        );
        assert_eq!(session.deployments, Observed::SessionExpired);
    }

    #[test]
    fn transport_errors_are_failures_not_expiry() {
        let mut session = Session::new();
        let mut r = reply(0, "", "");
        r.transport_error = Some("timed out".into());
        session.ingest(&ReadId::Environment, "/api/environment", &r);
        assert!(matches!(
            session.environment,
            Observed::Failed { status: 0, .. }
        ));
    }

    #[test]
    fn logs_and_settings_are_keyed() {
        let mut session = Session::new();
        session.ingest(
            &ReadId::DeploymentLog("abc".into()),
            "/api/deployments/abc/log",
            &reply(
                200,
                "application/json",
                r#"[{"log_time":"2024-05-01T12:00:00Z","id":"x","message":"m","type":1}]"#,
            ),
        );
        assert_eq!(session.logs["abc"].value().map(Vec::len), Some(1));
        session.ingest(
            &ReadId::Setting("WEBSITE_USE_ZIP".into()),
            "/api/settings/WEBSITE_USE_ZIP",
            &reply(200, "application/json", "\"1\""),
        );
        assert_eq!(
            session.settings["WEBSITE_USE_ZIP"],
            Observed::Value(Some("1".into()))
        );
    }
}
