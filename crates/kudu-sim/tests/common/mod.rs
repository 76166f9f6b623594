//! Shared helpers for the simulator's contract tests: one fresh simulator per test.

#![allow(dead_code)]

use kudu_sim::{Personality, Sim, SimConfig, SimHandle};
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
