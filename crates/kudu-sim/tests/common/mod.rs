//! Shared helpers for the simulator's contract tests: one fresh simulator per test.

#![allow(dead_code)]

use kudu_sim::{Personality, Sim, SimConfig, SimHandle, VTime};
use reqwest::header::HeaderMap;

/// A started simulator plus a client that authenticates with Basic auth.
pub struct Fixture {
    pub sim: SimHandle,
    pub client: reqwest::Client,
    pub auth: String,
}

pub async fn start(personality: Personality, scenario: &str) -> Fixture {
    start_with(SimConfig {
        personality,
        scenario: scenario.into(),
        password: Some("pw".into()),
        ..SimConfig::default()
    })
    .await
}

/// A scenario under non-default switches.
pub async fn start_with_quirks(
    personality: Personality,
    scenario: &str,
    quirks: kudu_sim::Quirks,
) -> Fixture {
    start_with(SimConfig {
        personality,
        scenario: scenario.into(),
        password: Some("pw".into()),
        quirks,
        ..SimConfig::default()
    })
    .await
}

pub async fn start_with(config: SimConfig) -> Fixture {
    let sim = Sim::start(config).await.unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let auth = sim.basic_auth_default();
    Fixture { sim, client, auth }
}

/// A response reduced to what the tests check.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Fixture {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.url)
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let mut req = self
            .client
            .request(method.parse().unwrap(), self.url(path))
            .header("authorization", &self.auth)
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], Vec::new()).await
    }

    pub async fn get_json(&self, path: &str) -> Reply {
        self.send("GET", path, &[("accept", "application/json")], Vec::new())
            .await
    }

    pub async fn delete(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send("DELETE", path, headers, Vec::new()).await
    }

    pub async fn push_async(&self, deployer: &str) -> Reply {
        self.send(
            "POST",
            &format!("/api/zipdeploy?isAsync=true&deployer={deployer}"),
            &[],
            kudu_sim::app_zip(9),
        )
        .await
    }
}

pub const BOTH: [Personality; 2] = [Personality::Linux, Personality::Windows];

impl Fixture {
    /// Waits (up to 10 s of real time) until `n` deployments are running, so a test never
    /// advances the clock before a concurrent push has reached the simulator.
    pub async fn wait_for_workers(&self, n: usize) {
        for _ in 0..1000 {
            if self.sim.state().workers.len() == n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!(
            "expected {n} running deployments, have {:?}",
            self.sim.state().workers
        );
    }
}

// ------------------------------------------------------------ trace files (README "Trace files")

pub const TRACE_DIR: &str = "/api/vfs/LogFiles/kudu/trace/";
/// What a browser sends: Kudu skips tracing such requests (`ShouldSkipRequest`).
pub const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// One trace file name taken apart: `<time>_<instance>_<nnn>_<what>[_<status>]_<secs>s.xml`,
/// or `<time>_<instance>_<nnn>_<what>_pending.xml`.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceName {
    pub time: String,
    pub instance: String,
    pub salt: u32,
    pub what: String,
    pub status: Option<u16>,
    /// `None` while pending.
    pub secs: Option<u64>,
}

pub fn parse_name(name: &str) -> TraceName {
    let mut parts = name.splitn(4, '_');
    let time = parts.next().unwrap().to_string();
    let instance = parts.next().unwrap().to_string();
    let salt = parts.next().unwrap().parse().unwrap();
    let rest = parts.next().unwrap();
    if let Some(what) = rest.strip_suffix("_pending.xml") {
        return TraceName {
            time,
            instance,
            salt,
            what: what.to_string(),
            status: None,
            secs: None,
        };
    }
    let body = rest.strip_suffix("s.xml").unwrap();
    let (head, secs) = body.rsplit_once('_').unwrap();
    let (what, status) = match head.rsplit_once('_') {
        Some((what, code)) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) => {
            (what.to_string(), Some(code.parse().unwrap()))
        }
        _ => (head.to_string(), None),
    };
    TraceName {
        time,
        instance,
        salt,
        what,
        status,
        secs: Some(secs.parse().unwrap()),
    }
}

/// The trace folder as a browser lists it (which adds no trace of its own): `(name, mtime)`.
pub async fn traces(f: &Fixture) -> Vec<(String, VTime)> {
    let reply = f
        .send("GET", TRACE_DIR, &[("user-agent", BROWSER)], Vec::new())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                VTime::parse(e["mtime"].as_str().unwrap()).unwrap(),
            )
        })
        .collect()
}

pub async fn names(f: &Fixture) -> Vec<TraceName> {
    traces(f).await.iter().map(|(n, _)| parse_name(n)).collect()
}

/// `yyyy-MM-ddTHH-mm-ss` back to an instant.
pub fn stamp_time(stamp: &str) -> VTime {
    let (date, time) = stamp.split_once('T').unwrap();
    VTime::parse(&format!("{date}T{}Z", time.replace('-', ":"))).unwrap()
}
