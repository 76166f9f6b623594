//! Whole diagnosis rounds as real Kudu answers them (shapes from `kudu-facts.md`), through
//! `Session::ingest`: what ends up in the session, and the personality read off it.

use kudu_core::reads::{HttpReply, ReadId, diagnosis_reads};
use kudu_core::session::Observed;
use kudu_core::{ConflictKind, DeployStatus, Personality, Session, Timestamp};

fn reply(status: u16, content_type: &str, body: &str) -> HttpReply {
    HttpReply {
        status,
        content_type: Some(content_type.to_string()),
        body: body.to_string(),
        headers: Vec::new(),
        transport_error: None,
    }
}

fn json(body: &str) -> HttpReply {
    reply(200, "application/json; charset=utf-8", body)
}

fn ts(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

/// Answers every read of a diagnosis with `answer`, in the order the core lists them.
fn run_round(answer: impl Fn(&ReadId) -> HttpReply) -> Session {
    let mut session = Session::new();
    for read in diagnosis_reads(1_714_566_896) {
        session.ingest(&read.id, &read.path, &answer(&read.id));
    }
    session
}

/// KuduLite while an async zipdeploy hangs: lock held, temp item pending, latest 202.
fn linux_stuck(read: &ReadId) -> HttpReply {
    match read {
        ReadId::Deployments => json(
            r#"[{"id":"temp-ab12cd34","status":0,"status_text":"Receiving changes.",
                 "author_email":"N/A","author":"N/A","deployer":"Push-Deployer",
                 "message":"Deploying from pushed zip file","progress":"",
                 "received_time":"2024-05-01T12:03:10.1234567Z","start_time":"2024-05-01T12:03:10.1234567Z",
                 "end_time":null,"last_success_end_time":null,"complete":false,"active":false,
                 "is_temp":true,"is_readonly":false,"url":null,"log_url":null,"site_name":"myapp"},
                {"id":"9b7c3e1f2a4d4f6b8e0c1a2b3c4d5e6f","status":4,"status_text":"","author":"N/A",
                 "deployer":"GITHUB_ZIP_DEPLOY","message":"Created via a push deployment",
                 "received_time":"2024-05-01T11:00:00.12345Z","start_time":"2024-05-01T11:00:01.123456Z",
                 "end_time":"2024-05-01T11:02:00.1Z","last_success_end_time":"2024-05-01T11:02:00.1Z",
                 "complete":true,"active":true,"is_temp":false,"is_readonly":true,
                 "url":"https://myapp.scm.azurewebsites.net/api/deployments/9b7c3e1f2a4d4f6b8e0c1a2b3c4d5e6f",
                 "log_url":"https://myapp.scm.azurewebsites.net/api/deployments/9b7c3e1f2a4d4f6b8e0c1a2b3c4d5e6f/log",
                 "site_name":"myapp","future_field":{"x":1}}]"#,
        ),
        ReadId::Latest => reply(
            202,
            "application/json",
            r#"{"id":"9b7c3e1f2a4d4f6b8e0c1a2b3c4d5e6f","status":0,"complete":true,
                "end_time":"2024-05-01T11:02:00.1Z","url":null,"log_url":null}"#,
        ),
        ReadId::IsDeploying => json(r#"{"value":"True","msg":"Deployment Underway"}"#),
        ReadId::LocksDir => json(
            r#"[{"name":"deployment","size":0,"mtime":"2024-05-01T12:03:10.1234567+00:00",
                 "crtime":"2024-05-01T12:03:10.1234567+00:00","mime":"inode/directory",
                 "href":"https://myapp.scm.azurewebsites.net/api/vfs/site/locks/deployment/",
                 "path":"/home/site/locks/deployment"},
                {"name":"status.lock","size":0,"mtime":"2024-04-01T08:00:00.12345+00:00",
                 "crtime":"2024-04-01T08:00:00.12345+00:00","mime":"application/octet-stream",
                 "href":"https://myapp.scm.azurewebsites.net/api/vfs/site/locks/status.lock",
                 "path":"/home/site/locks/status.lock"}]"#,
        ),
        ReadId::InfoLock => reply(
            200,
            "application/octet-stream",
            r#"{"lockExpiry":"2024-05-01T12:28:10.1234567Z","heldByPID":87,"heldByTID":12,"heldByOp":"Performing continuous deployment","heldByWorker":"a1b2c3d4e5f6"}"#,
        ),
        ReadId::DeploymentsDir => json(
            r#"[{"name":"pending","size":0,"mtime":"2024-05-01T12:03:09+00:00","mime":"application/octet-stream","path":"/home/site/deployments/pending"},
                {"name":"temp-ab12cd34","size":0,"mtime":"2024-05-01T12:03:10+00:00","mime":"inode/directory","path":"/home/site/deployments/temp-ab12cd34"},
                {"name":"tools","size":0,"mtime":"2024-01-01T00:00:00+00:00","mime":"inode/directory","path":"/home/site/deployments/tools"}]"#,
        ),
        ReadId::WwwrootDir => json(
            r#"[{"name":"hostingstart.html","size":"2048","mtime":"2024-01-01T00:00:00+00:00","mime":"text/html","path":"/home/site/wwwroot/hostingstart.html"}]"#,
        ),
        ReadId::KuduTraceDir => json(
            r#"[{"name":"2024-05-01T11-58-02_1a2b3c_001_Startup.xml","size":612,"mtime":"2024-05-01T11:58:02+00:00","mime":"application/xml","path":"/home/LogFiles/kudu/trace/2024-05-01T11-58-02_1a2b3c_001_Startup.xml"}]"#,
        ),
        ReadId::ActiveFile => reply(200, "application/octet-stream", ""),
        ReadId::Environment => json(r#"{"version":"1.0.0.7"}"#),
        ReadId::Setting(key) if key == "WEBSITE_RUN_FROM_PACKAGE" => json("\"1\""),
        ReadId::Setting(key) => reply(
            404,
            "text/plain",
            &format!("The setting '{key}' does not exist."),
        ),
        ReadId::DeploymentLog(_) | ReadId::DeploymentLogFile(_) => {
            reply(404, "text/plain", "No log found")
        }
        ReadId::Processes | ReadId::Process(_) | ReadId::ProcessAgain(_) => {
            reply(400, "application/json", "\"Not supported on Linux\"")
        }
    }
}

#[test]
fn linux_stuck_deployment_round() {
    let session = run_round(linux_stuck);
    assert!(session.warnings.is_empty(), "{:?}", session.warnings);
    assert_eq!(session.personality(), Personality::Linux);

    let deployments = session.deployments.value().unwrap();
    assert_eq!(deployments.len(), 2);
    assert!(deployments[0].temp && deployments[0].status.is_running());
    assert_eq!(deployments[1].ended, Some(ts("2024-05-01T11:02:00.100Z")));

    let latest = session.latest.value().unwrap();
    assert_eq!(latest.http_status, 202);
    assert_eq!(latest.retry_after_secs, None);
    assert_eq!(
        latest.deployment.as_ref().unwrap().status,
        DeployStatus::Pending
    );

    let lock = session.info_lock.value().unwrap();
    assert_eq!(lock.acquired, Some(ts("2024-05-01T12:03:10.123Z")));
    assert_eq!(lock.worker.as_deref(), Some("a1b2c3d4e5f6"));

    assert!(session.is_deploying.value().unwrap().deploying);
    let names: Vec<&str> = session
        .deployments_dir
        .value()
        .unwrap()
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["pending", "temp-ab12cd34", "tools"]);
    assert_eq!(session.wwwroot_dir.value().unwrap()[0].size, 2048);
    assert_eq!(
        session.settings["WEBSITE_RUN_FROM_PACKAGE"],
        Observed::Value(Some("1".into()))
    );
    assert_eq!(session.settings["WEBSITE_USE_ZIP"], Observed::Value(None));
    assert_eq!(
        session.environment.value().unwrap().version.as_deref(),
        Some("1.0.0.7")
    );
}

/// Classic Kudu with a live handle on `deployments.lock`: HttpError JSON bodies, `D:\home`,
/// `provisioningState`, no `isdeploying` route, Retry-After on the 202.
fn windows_held(read: &ReadId) -> HttpReply {
    match read {
        ReadId::Deployments => json(
            r#"[{"id":"4f1c0a9e8d7b6a5f4e3d2c1b0a9f8e7d","status":1,
                 "status_text":"Building and Deploying '4f1c0a9e8d7b6a5f4e3d2c1b0a9f8e7d'.",
                 "author":"N/A","deployer":"ZipDeploy","message":"Created via a push deployment",
                 "progress":"Running deployment command...",
                 "received_time":"2024-05-01T12:03:10.1234567Z","start_time":"2024-05-01T12:03:11.7654321Z",
                 "end_time":null,"last_success_end_time":null,"complete":false,"active":false,
                 "is_temp":false,"is_readonly":true,"url":"https://myapp.scm.azurewebsites.net/api/deployments/4f1c0a9e8d7b6a5f4e3d2c1b0a9f8e7d",
                 "log_url":null,"site_name":"myapp","provisioningState":"InProgress"}]"#,
        ),
        ReadId::Latest => {
            let mut r = reply(
                202,
                "application/json; charset=utf-8",
                r#"{"id":"4f1c0a9e8d7b6a5f4e3d2c1b0a9f8e7d","status":1,"complete":false,
                    "end_time":null,"url":null,"log_url":null,"provisioningState":"InProgress"}"#,
            );
            r.headers = vec![
                (
                    "location".into(),
                    "https://myapp.scm.azurewebsites.net/api/deployments/latest".into(),
                ),
                ("retry-after".into(), "30".into()),
            ];
            r
        }
        ReadId::IsDeploying => reply(
            404,
            "application/json; charset=utf-8",
            "\"No route registered for '/api/isdeploying'\"",
        ),
        ReadId::LocksDir => json(
            r#"[{"name":"deployments.lock","size":412,"mtime":"2024-05-01T12:03:10.1234567+00:00",
                 "crtime":"2024-05-01T12:03:10.1234567+00:00","mime":"application/octet-stream",
                 "href":"https://myapp.scm.azurewebsites.net/api/vfs/site/locks/deployments.lock",
                 "path":"D:\\home\\site\\locks\\deployments.lock"}]"#,
        ),
        ReadId::InfoLock => reply(
            404,
            "application/json; charset=utf-8",
            r#"{"Message":"'D:\\home\\site\\locks\\deployment\\info.lock' not found."}"#,
        ),
        ReadId::DeploymentsDir => json(
            r#"[{"name":"4f1c0a9e8d7b6a5f4e3d2c1b0a9f8e7d","size":0,"mtime":"2024-05-01T12:03:11+00:00","mime":"inode/directory","path":"D:\\home\\site\\deployments\\4f1c0a9e8d7b6a5f4e3d2c1b0a9f8e7d"}]"#,
        ),
        ReadId::WwwrootDir => json("[]"),
        ReadId::KuduTraceDir => json("[]"),
        ReadId::ActiveFile => reply(
            200,
            "application/octet-stream",
            "4f1c0a9e8d7b6a5f4e3d2c1b0a9f8e7d",
        ),
        ReadId::Environment => {
            json(r#"{"version":"106.0.7.0","siteLastModified":"2024-05-01T12:00:00.1234567Z"}"#)
        }
        ReadId::Setting(key) => reply(
            404,
            "application/json; charset=utf-8",
            &format!(r#"{{"Message":"The setting '{key}' does not exist."}}"#),
        ),
        ReadId::DeploymentLog(_) => json("[]"),
        ReadId::DeploymentLogFile(_) => reply(200, "application/octet-stream", ""),
        ReadId::Processes => json(r#"[{"id":2080,"name":"w3wp"}]"#),
        ReadId::Process(pid) | ReadId::ProcessAgain(pid) => json(&format!(
            r#"{{"id":{pid},"name":"w3wp","total_cpu_time":"00:00:01"}}"#
        )),
    }
}

#[test]
fn windows_held_lock_round() {
    let session = run_round(windows_held);
    assert!(session.warnings.is_empty(), "{:?}", session.warnings);
    assert_eq!(session.personality(), Personality::Windows);
    assert_eq!(session.is_deploying, Observed::Missing);
    assert!(session.is_deploying_no_route);
    assert_eq!(session.info_lock, Observed::Missing);
    let latest = session.latest.value().unwrap();
    assert_eq!(latest.retry_after_secs, Some(30));
    assert_eq!(
        latest.deployment.as_ref().unwrap().status,
        DeployStatus::Building
    );
    assert_eq!(
        latest
            .deployment
            .as_ref()
            .unwrap()
            .provisioning_state
            .as_deref(),
        Some("InProgress")
    );
    assert_eq!(
        session.locks_dir.value().unwrap()[0].name,
        "deployments.lock"
    );
    assert!(
        session
            .settings
            .values()
            .all(|s| *s == Observed::Value(None))
    );
}

#[test]
fn a_login_page_everywhere_is_an_expired_session() {
    let login = "<!DOCTYPE html>\r\n<html dir=\"ltr\"><head><title>Sign in to your account</title>";
    let session = run_round(|_| reply(200, "text/html; charset=utf-8", login));
    assert_eq!(session.deployments, Observed::SessionExpired);
    assert_eq!(session.info_lock, Observed::SessionExpired);
    assert!(
        session
            .settings
            .values()
            .all(|s| *s == Observed::SessionExpired)
    );
    assert_eq!(session.personality(), Personality::Unknown);
}

#[test]
fn status_lock_denied_keeps_the_lock_error_and_the_rest_goes_on() {
    let denied = "The 'Getting deployment status' operation conflicts with the pending 'unknown' operation started at unknown.  Please retry operation later.";
    let session = run_round(|read| match read {
        ReadId::Deployments | ReadId::Latest => reply(
            500,
            "application/json",
            &serde_json::to_string(denied).unwrap(),
        ),
        other => linux_stuck(other),
    });
    assert!(matches!(
        session.deployments,
        Observed::Failed { status: 500, .. }
    ));
    assert_eq!(session.lock_errors.len(), 2);
    assert_eq!(session.warnings.len(), 2);
    assert_eq!(session.personality(), Personality::Linux);
    let conflict = kudu_core::parse::classify_conflict(&kudu_core::parse::message_text(
        &session.lock_errors[0].2,
    ));
    assert_eq!(conflict.kind, ConflictKind::OperationConflict);
    assert_eq!(
        conflict.operation.as_deref(),
        Some("Getting deployment status")
    );
}

/// projectkudu/kudu#3512's deployment log, as the reporter pasted it (the app's host replaced):
/// ten columns, `time,host,,,id,NODE,Linux,InProgress,Message,text`, read through the same
/// follow-up read as `log.log` and filed under the deployment like any log.
#[test]
fn the_ten_column_deployment_log_of_kudu_3512_is_read_like_log_log() {
    let id = "2041e4bc-57fa-4e07-adc5-3bcb58e06c37";
    let body = "\
2024-07-31T09:51:24.281Z,myapp.azurewebsites.net,,,2041e4bc-57fa-4e07-adc5-3bcb58e06c37,NODE,Linux,InProgress,Message,Writing artifact to /tmp/zipdeploy/87fc8881-fa50-4fde-a3e4-0ccf12e9f5c7.zip
2024-07-31T09:51:27.445Z,myapp.azurewebsites.net,,,2041e4bc-57fa-4e07-adc5-3bcb58e06c37,NODE,Linux,InProgress,Message,Start deployment in the background
2024-07-31T09:51:27.926Z,myapp.azurewebsites.net,,,2041e4bc-57fa-4e07-adc5-3bcb58e06c37,NODE,Linux,InProgress,Message,Creating temporary deployment - FetchDeploymentManager
2024-07-31T09:51:27.938Z,myapp.azurewebsites.net,,,2041e4bc-57fa-4e07-adc5-3bcb58e06c37,NODE,Linux,InProgress,Message,Creating temporary deployment
";
    let mut session = Session::new();
    let read = ReadId::DeploymentLogFile(id.to_string());
    session.ingest(
        &read,
        &format!("/api/vfs/site/deployments/{id}/log.log"),
        &reply(200, "application/octet-stream", body),
    );
    assert!(session.warnings.is_empty(), "{:?}", session.warnings);
    let Some(Observed::Value(lines)) = session.logs.get(id) else {
        panic!("{:?}", session.logs)
    };
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[3].message, "Creating temporary deployment");
    assert_eq!(lines[3].time, Some(ts("2024-07-31T09:51:27.938Z")));
}
