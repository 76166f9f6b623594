//! Property tests: no parser and no `Session::ingest` panics on any input, and times survive a
//! format/parse round trip.

use kudu_core::parse;
use kudu_core::reads::{HttpReply, ReadId, SETTINGS_READ};
use kudu_core::{Session, Timestamp};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Field names Kudu uses, so generated objects reach the field readers, not just the shape
/// checks.
const KUDU_KEYS: &[&str] = &[
    "id",
    "status",
    "status_text",
    "author",
    "deployer",
    "message",
    "progress",
    "received_time",
    "start_time",
    "end_time",
    "last_success_end_time",
    "complete",
    "active",
    "is_temp",
    "IsTemp",
    "provisioningState",
    "properties",
    "value",
    "Message",
    "ExceptionMessage",
    "error",
    "msg",
    "name",
    "size",
    "mtime",
    "mime",
    "href",
    "path",
    "log_time",
    "type",
    "details_url",
    "lockExpiry",
    "heldByPID",
    "heldByOp",
    "heldByWorker",
    "OperationName",
    "AcquiredDateTime",
    "InstanceId",
    "version",
    "key",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<u64>().prop_map(|n| Value::Number(n.into())),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("True".to_string()),
            Just("False".to_string()),
            Just("-1".to_string()),
            Just("inode/directory".to_string()),
            Just("2024-05-01T12:34:56.1234567Z".to_string()),
            Just("2024-05-01T05:34:56.12345-07:00".to_string()),
            Just("9999-12-31T23:59:59.9999999+00:00".to_string()),
            Just("0000-01-01T00:00:00-23:59".to_string()),
            Just("/home/site/locks".to_string()),
            Just("D:\\home\\site".to_string()),
            "[0-9T:.+\\-Z]{0,32}",
            any::<String>(),
        ]
        .prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        proptest::sample::select(KUDU_KEYS).prop_map(str::to_string),
                        any::<String>(),
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Bodies: arbitrary text, arbitrary JSON, and text that looks like Kudu's own.
fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        json_value().prop_map(|v| v.to_string()),
        "[\\[\\]{}\",:0-9a-zA-Z<> .\\-+T\t\n&;']{0,120}",
        proptest::collection::vec(
            "[0-9T:.Z\\-]{0,30},[a-z&;, ]{0,20},[a-f0-9\\-]{0,8},[0-9\\-]{0,3}",
            0..5
        )
        .prop_map(|lines| lines.join("\n")),
        "The '[a-z ']{0,20}' operation conflicts with the pending '[a-z '.]{0,20}' operation started at [0-9T:.Z ]{0,30}\\.  Please retry operation later\\.",
    ]
}

fn every_parser(body: &str) {
    let _ = parse::parse_deployments(body);
    let _ = parse::parse_deployment(body);
    let _ = parse::parse_log(body);
    let _ = parse::parse_vfs_listing(body);
    let _ = parse::parse_is_deploying(body);
    let _ = parse::parse_lock(body);
    let _ = parse::parse_conflict(body);
    let _ = parse::parse_setting(body);
    let _ = parse::parse_environment(body);
    let _ = parse::parse_process_list(body);
    let _ = parse::parse_process_details(body);
    let _ = parse::message_text(body);
    let _ = parse::classify_conflict(body);
    let _ = parse::classify_pasted(body);
    if let Some(trace) = parse::parse_trace_name(body) {
        let _ = (trace.url_path(), trace.is_deployment_request());
    }
    let _ = Timestamp::parse_rfc3339(body);
}

/// The `state` tag of the observation a read landed in (`value`, `missing`, `failed`, ...).
fn state_of(session: &Session, read: &ReadId) -> String {
    let slot = match read {
        ReadId::Deployments => serde_json::to_value(&session.deployments),
        ReadId::Latest => serde_json::to_value(&session.latest),
        ReadId::IsDeploying => serde_json::to_value(&session.is_deploying),
        ReadId::LocksDir => serde_json::to_value(&session.locks_dir),
        ReadId::InfoLock => serde_json::to_value(&session.info_lock),
        ReadId::DeploymentsDir => serde_json::to_value(&session.deployments_dir),
        ReadId::WwwrootDir => serde_json::to_value(&session.wwwroot_dir),
        ReadId::KuduTraceDir => serde_json::to_value(&session.kudu_trace_dir),
        ReadId::ActiveFile => serde_json::to_value(&session.active_file),
        ReadId::Environment => serde_json::to_value(&session.environment),
        ReadId::Setting(key) => serde_json::to_value(&session.settings[key]),
        ReadId::DeploymentLog(id) => serde_json::to_value(&session.logs[id]),
        ReadId::DeploymentLogFile(id) => serde_json::to_value(&session.logs[id]),
        ReadId::Processes => serde_json::to_value(&session.processes),
        ReadId::Process(pid) => serde_json::to_value(&session.process_details[pid]),
        ReadId::ProcessAgain(pid) => serde_json::to_value(&session.process_details_again[pid]),
    };
    slot.unwrap()["state"].as_str().unwrap().to_string()
}

fn read_id() -> impl Strategy<Value = ReadId> {
    prop_oneof![
        Just(ReadId::Deployments),
        Just(ReadId::Latest),
        Just(ReadId::IsDeploying),
        Just(ReadId::LocksDir),
        Just(ReadId::InfoLock),
        Just(ReadId::DeploymentsDir),
        Just(ReadId::WwwrootDir),
        Just(ReadId::KuduTraceDir),
        Just(ReadId::ActiveFile),
        Just(ReadId::Environment),
        proptest::sample::select(SETTINGS_READ).prop_map(|k| ReadId::Setting(k.to_string())),
        any::<String>().prop_map(ReadId::Setting),
        any::<String>().prop_map(ReadId::DeploymentLog),
        any::<String>().prop_map(ReadId::DeploymentLogFile),
        Just(ReadId::Processes),
        any::<u32>().prop_map(ReadId::Process),
        any::<u32>().prop_map(ReadId::ProcessAgain),
    ]
}

fn reply() -> impl Strategy<Value = HttpReply> {
    (
        prop_oneof![
            proptest::sample::select(
                &[0u16, 200, 202, 204, 302, 307, 401, 403, 404, 409, 500, 503][..]
            ),
            any::<u16>(),
        ],
        proptest::option::of(prop_oneof![
            Just("application/json; charset=utf-8".to_string()),
            Just("text/html".to_string()),
            Just("text/plain".to_string()),
            any::<String>(),
        ]),
        body(),
        proptest::collection::vec(
            (
                prop_oneof![
                    Just("retry-after".to_string()),
                    Just("location".to_string()),
                    any::<String>()
                ],
                any::<String>(),
            ),
            0..3,
        ),
        proptest::option::of(any::<String>()),
    )
        .prop_map(
            |(status, content_type, body, headers, transport_error)| HttpReply {
                status,
                content_type,
                body,
                headers,
                transport_error,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsers_never_panic_on_text(text in body()) {
        every_parser(&text);
    }

    #[test]
    fn parsers_never_panic_on_json(value in json_value()) {
        every_parser(&value.to_string());
        every_parser(&serde_json::to_string_pretty(&value).unwrap());
    }

    #[test]
    fn ingest_never_panics(replies in proptest::collection::vec((read_id(), reply()), 1..6)) {
        let mut session = Session::new();
        for (read, reply) in &replies {
            session.ingest(read, "/api/x", reply);
        }
        let _ = session.personality();
        // Every observation that failed left a warning naming the endpoint.
        prop_assert!(session.warnings.iter().all(|w| w.endpoint == "/api/x"));
    }

    #[test]
    fn one_reply_lands_where_its_status_says(read in read_id(), reply in reply()) {
        let mut session = Session::new();
        session.ingest(&read, "/api/x", &reply);
        let state = state_of(&session, &read);
        let warned = session.warnings.iter().any(|w| w.endpoint == "/api/x");
        if state == "failed" {
            prop_assert!(warned, "a failure always leaves a warning");
        }
        if reply.transport_error.is_none() {
            match reply.status {
                401 | 403 | 0 => prop_assert_eq!(state, "session-expired"),
                404 if matches!(read, ReadId::Setting(_)) => prop_assert_eq!(state, "value"),
                404 => prop_assert_eq!(state, "missing"),
                500..=599 => prop_assert_eq!(state, "failed"),
                _ => {}
            }
        } else {
            prop_assert_eq!(state, "failed");
        }
    }

    #[test]
    fn times_round_trip_through_rfc3339(
        // 0000-01-01 to 9999-12-31.
        millis in -62_167_219_200_000i64..253_402_300_800_000,
    ) {
        let t = Timestamp::from_unix_millis(millis);
        prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Some(t));
    }

    #[test]
    fn trace_shaped_names_never_panic(
        time in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}",
        rest in proptest::collection::vec("[A-Za-z0-9.\\-é]{0,8}", 0..8),
        ending in prop_oneof![Just(".xml"), Just("_pending.xml"), Just("s.xml"), Just("")],
    ) {
        let name = format!("{time}_{}{ending}", rest.join("_"));
        if let Some(trace) = parse::parse_trace_name(&name) {
            let _ = (trace.url_path(), trace.is_deployment_request());
            prop_assert!(name.starts_with(&time));
        }
    }

    #[test]
    fn formatting_never_panics(millis in any::<i64>()) {
        let _ = Timestamp::from_unix_millis(millis).to_rfc3339();
    }

    #[test]
    fn rfc3339_shaped_garbage_never_panics(
        text in "[0-9]{0,5}-[0-9]{0,3}-[0-9]{0,3}[Tt ][0-9]{0,3}:[0-9]{0,3}:[0-9]{0,3}(\\.[0-9]{0,12})?([Zz]|[+\\-][0-9]{0,3}:?[0-9]{0,3})?",
    ) {
        if let Some(t) = Timestamp::parse_rfc3339(&text) {
            // Anything accepted formats back to something that parses to the same instant.
            prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Some(t));
        }
    }
}
