//! Captures what a diagnosis reads from every scenario × personality, and keeps the committed
//! copies in `crates/kudu-core/tests/fixtures/` honest: the capture must equal them byte for
//! byte. `KUDU_UPDATE_FIXTURES=1` rewrites them instead.
//!
//! The reads are `kudu_core::reads::diagnosis_reads(1)` in their listed order, except that the
//! VFS reads go first: they have no side effects, so the files show the locks as they were
//! before the deployment list's `IsHeld` and VerifyDeployment side effects. The follow-up reads
//! the core asks for afterwards (deployment logs, and on Windows the processes of a holder
//! that looks hung, read twice 5 virtual seconds apart) are captured too.
//!
//! Browsers and the command line send the reads in parallel, so Kudu may see them in any
//! order. For the scenarios in [`LIST_FIRST`] a second copy, `<scenario>-<os>-list-first.json`,
//! is captured with the deployment list and `latest` first, so their side effects (VerifyDeployment,
//! purge, the stale Windows lock file deleted) happen before the VFS reads; the core's tests
//! check that both orders lead with the same cause.

use std::path::PathBuf;

use kudu_core::Session;
use kudu_core::reads::{HttpReply, Read, ReadId, diagnosis_reads};
use kudu_sim::{SCENARIOS, Sim, SimConfig};
use serde::Serialize;

/// The host the captured bodies show (Kudu builds absolute URLs from it).
const HOST: &str = "myapp.scm.azurewebsites.net";
/// Kudu Doctor reads from a browser, whose requests Kudu does not trace (`ShouldSkipRequest`,
/// README "Trace files"): the capture's reads leave the trace folder as the scenario left it.
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
/// Response headers kept in fixtures: the ones `HttpReply` cares about, all deterministic.
const KEPT_HEADERS: &[&str] = &["location", "retry-after", "etag"];
/// As many follow-up rounds as the shells run at most.
const MAX_FOLLOW_UP_ROUNDS: usize = 3;
/// Scenarios whose evidence Kudu's list side effects could remove, captured in both orders.
const LIST_FIRST: &[&str] = &["cancelled-retried", "stale-files-windows"];

/// The order the first round's reads reach Kudu in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ReadOrder {
    /// The VFS reads first: the files as they were before any list side effect.
    VfsFirst,
    /// The deployment list and `latest` first, then the rest in listed order.
    ListFirst,
}

fn is_list(id: &ReadId) -> bool {
    matches!(id, ReadId::Deployments | ReadId::Latest)
}

#[derive(Serialize)]
struct Fixture {
    scenario: String,
    personality: String,
    now: String,
    replies: Vec<CapturedReply>,
}

#[derive(Serialize)]
struct CapturedReply {
    read: ReadId,
    path: String,
    status: u16,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    body: String,
}

impl CapturedReply {
    fn as_http_reply(&self) -> HttpReply {
        HttpReply {
            status: self.status,
            content_type: self.content_type.clone(),
            body: self.body.clone(),
            headers: self.headers.clone(),
            transport_error: None,
        }
    }
}

fn is_vfs(id: &ReadId) -> bool {
    matches!(
        id,
        ReadId::LocksDir | ReadId::InfoLock | ReadId::DeploymentsDir | ReadId::WwwrootDir
    )
}

async fn capture(scenario: &str, personality: kudu_sim::Personality, order: ReadOrder) -> String {
    let sim = Sim::start(SimConfig {
        personality,
        password: Some("fixture".into()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Sign in like a browser (the Kudu page sets the session cookie), then load the scenario:
    // `session-expired` then rejects this very cookie.
    let home = client
        .get(format!("{}/", sim.url))
        .header("host", HOST)
        .header("user-agent", BROWSER)
        .send()
        .await
        .unwrap();
    let cookie = home
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    sim.load_scenario_as(scenario, personality).unwrap();
    let now = sim.now().to_json();

    let reads = diagnosis_reads(1);
    let first: fn(&ReadId) -> bool = match order {
        ReadOrder::VfsFirst => is_vfs,
        ReadOrder::ListFirst => is_list,
    };
    let ordered = reads
        .iter()
        .filter(|r| first(&r.id))
        .chain(reads.iter().filter(|r| !first(&r.id)));
    let mut replies = Vec::new();
    for read in ordered {
        replies.push(send(&client, &sim.url, &cookie, read).await);
    }
    // Then the follow-up rounds a shell runs (deployment logs, then the children of their
    // newest line), until the core asks for nothing more, so the fixture holds what the
    // browser and the command line really read.
    let mut session = Session::new();
    for reply in &replies {
        session.ingest(&reply.read, &reply.path, &reply.as_http_reply());
    }
    for _round in 0..MAX_FOLLOW_UP_ROUNDS {
        let follow_ups = session.follow_up_reads();
        if follow_ups.is_empty() {
            break;
        }
        for read in &follow_ups {
            let reply = send(&client, &sim.url, &cookie, read).await;
            session.ingest(&reply.read, &reply.path, &reply.as_http_reply());
            replies.push(reply);
        }
    }
    // Then, as the round does on Windows when the holder looks hung on log silence alone, the
    // SCM site's processes: the list, each one's details, and the build processes' details
    // again after the round's gap on the virtual clock.
    let site_now = kudu_core::Timestamp::parse_rfc3339(&sim.now().to_json()).unwrap();
    let diagnosis = session.diagnose(site_now);
    let weak = diagnosis
        .lock
        .idle_evidence
        .as_ref()
        .is_some_and(|e| e.strength == kudu_core::diagnose::EvidenceStrength::Weak);
    if diagnosis.personality == kudu_core::Personality::Windows && weak {
        for step in 0..3 {
            if step == 2 {
                sim.advance(kudu_core::diagnose::PROCESS_SAMPLE_GAP_SECS);
            }
            let reads = match step {
                0 => session.process_list_read(),
                1 => session.process_reads(),
                _ => session.process_reads_again(),
            };
            for read in &reads {
                let reply = send(&client, &sim.url, &cookie, read).await;
                session.ingest(&reply.read, &reply.path, &reply.as_http_reply());
                replies.push(reply);
            }
        }
    }
    let fixture = Fixture {
        scenario: scenario.to_string(),
        personality: personality.name().to_string(),
        now,
        replies,
    };
    let mut text = serde_json::to_string_pretty(&fixture).unwrap();
    text.push('\n');
    text
}

async fn send(client: &reqwest::Client, url: &str, cookie: &str, read: &Read) -> CapturedReply {
    let mut request = client
        .request(read.method.parse().unwrap(), format!("{url}{}", read.path))
        .header("host", HOST)
        .header("x-forwarded-proto", "https")
        .header("user-agent", BROWSER)
        .header("cookie", cookie);
    for (name, value) in &read.headers {
        request = request.header(*name, value);
    }
    let resp = request.send().await.unwrap();
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let headers = KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            resp.headers()
                .get(*name)
                .map(|v| ((*name).to_string(), v.to_str().unwrap().to_string()))
        })
        .collect();
    let body = resp.text().await.unwrap();
    CapturedReply {
        read: read.id.clone(),
        path: read.path.clone(),
        status,
        content_type,
        headers,
        body,
    }
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../kudu-core/tests/fixtures")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_fixtures_match_a_fresh_capture() {
    let update = std::env::var("KUDU_UPDATE_FIXTURES").is_ok_and(|v| v == "1");
    let dir = fixture_dir();
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }
    // Each capture has its own simulator, so they can run side by side.
    let captures = futures_util::future::join_all(SCENARIOS.iter().flat_map(|scenario| {
        let orders: &[ReadOrder] = if LIST_FIRST.contains(&scenario.name) {
            &[ReadOrder::VfsFirst, ReadOrder::ListFirst]
        } else {
            &[ReadOrder::VfsFirst]
        };
        scenario.personalities.iter().flat_map(move |personality| {
            orders.iter().map(move |order| async move {
                let text = tokio::spawn(capture(scenario.name, *personality, *order))
                    .await
                    .unwrap();
                (scenario.name, *personality, *order, text)
            })
        })
    }))
    .await;
    let mut stale = Vec::new();
    for (name, personality, order, text) in captures {
        let suffix = match order {
            ReadOrder::VfsFirst => "",
            ReadOrder::ListFirst => "-list-first",
        };
        let file = dir.join(format!("{}-{}{suffix}.json", name, personality.name()));
        if update {
            std::fs::write(&file, &text).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&file).unwrap_or_default();
        if committed != text {
            let first_diff = committed
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .map(|n| format!("first difference at line {}", n + 1))
                .unwrap_or_else(|| "lengths differ".into());
            stale.push(format!("{} ({first_diff})", file.display()));
        }
    }
    assert!(
        stale.is_empty(),
        "fixtures differ from a fresh capture: {stale:#?}\nrun KUDU_UPDATE_FIXTURES=1 cargo test -p kudu-sim --test fixtures"
    );
}

#[tokio::test]
async fn a_capture_is_deterministic() {
    let a = capture(
        "stuck-linux",
        kudu_sim::Personality::Linux,
        ReadOrder::VfsFirst,
    )
    .await;
    let b = capture(
        "stuck-linux",
        kudu_sim::Personality::Linux,
        ReadOrder::VfsFirst,
    )
    .await;
    assert_eq!(a, b);
    let windows = kudu_sim::Personality::Windows;
    let a = capture("stale-files-windows", windows, ReadOrder::ListFirst).await;
    let b = capture("stale-files-windows", windows, ReadOrder::ListFirst).await;
    assert_eq!(a, b);
}
