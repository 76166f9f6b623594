//! The HTTP shell: auth like the SCM front end, the Kudu page, static files, TLS, the request
//! log, faults and the CLI-facing pieces.

mod common;

use common::{BOTH, start, start_with};
use kudu_sim::{FaultKind, FaultRule, Personality, SimConfig, UnauthAnswer};

#[tokio::test]
async fn api_without_credentials_gets_the_login_page() {
    let f = start(Personality::Linux, "healthy").await;
    let resp = f
        .client
        .get(f.url("/api/deployments"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(resp.text().await.unwrap().contains("Sign in"));
}

#[tokio::test]
async fn cookie_from_the_kudu_page_authorises_api_calls() {
    let f = start(Personality::Windows, "healthy").await;
    let home = f.client.get(f.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let cookies: Vec<String> = home
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("KuduSimSession="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly"));
    let pair = session.split(';').next().unwrap();
    let html = home.text().await.unwrap();
    assert!(html.contains("<title>Kudu Services</title>"));
    assert!(html.contains("Debug console") && html.contains("Environment"));

    let resp = f
        .client
        .get(f.url("/api/deployments"))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let log = f.sim.requests();
    let last = log.last().unwrap();
    assert_eq!(last.path, "/api/deployments");
    assert!(last.session_cookie);
    assert_eq!(last.status, 200);
}

#[tokio::test]
async fn basic_auth_works_and_a_wrong_password_fails() {
    let f = start(Personality::Linux, "healthy").await;
    assert_eq!(f.get("/api/deployments").await.status, 200);
    let wrong = f
        .client
        .get(f.url("/api/deployments"))
        .basic_auth("$myapp", Some("nope"))
        .send()
        .await
        .unwrap();
    assert!(wrong.text().await.unwrap().contains("Sign in"));
    // The site comes from the host's first label: `$other` is not `$myapp`.
    let other = f
        .client
        .get(f.url("/api/deployments"))
        .basic_auth("$other", Some("pw"))
        .send()
        .await
        .unwrap();
    assert!(other.text().await.unwrap().contains("Sign in"));
    let log = f.sim.requests();
    assert_eq!(log[0].authorization.as_deref(), Some("Basic"));
}

#[tokio::test]
async fn unauthenticated_answer_is_configurable() {
    for (answer, status) in [
        (UnauthAnswer::Unauthorized, 401),
        (UnauthAnswer::Redirect, 302),
    ] {
        let mut config = SimConfig::default();
        config.quirks.unauthenticated = answer;
        let f = start_with(config).await;
        let resp = f
            .client
            .get(f.url("/api/isdeploying"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status);
        if status == 302 {
            assert!(
                resp.headers()["location"]
                    .to_str()
                    .unwrap()
                    .starts_with("/.auth/login/aad")
            );
        }
    }
}

#[tokio::test]
async fn session_expired_scenario_rejects_the_old_cookie() {
    let f = start(Personality::Linux, "healthy").await;
    let home = f.client.get(f.url("/")).send().await.unwrap();
    let pair = home.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    f.sim.load_scenario("session-expired").unwrap();
    let resp = f
        .client
        .get(f.url("/api/deployments"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert!(resp.text().await.unwrap().contains("Sign in"));
    // The page still loads (the extension has something to inject into) but issues no cookie.
    let home = f
        .client
        .get(f.url("/"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.headers().get("set-cookie").is_none());
    // Signing in again works.
    let login = f.client.get(f.url("/login")).send().await.unwrap();
    assert_eq!(login.status(), 302);
    let fresh = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let ok = f
        .client
        .get(f.url("/api/deployments"))
        .header("cookie", &fresh)
        .send()
        .await
        .unwrap();
    assert!(
        ok.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn tls_serves_with_a_secure_cookie() {
    let f = start_with(SimConfig {
        tls: true,
        ..SimConfig::default()
    })
    .await;
    assert!(f.sim.url.starts_with("https://"));
    let home = f.client.get(f.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let cookie = home.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("Secure") && cookie.contains("SameSite=None"),
        "{cookie}"
    );
    assert_eq!(f.get("/api/environment").await.status, 200);
}

#[tokio::test]
async fn static_dir_is_served_under_doctor_with_mime_types() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<p>doctor</p>").unwrap();
    std::fs::write(dir.path().join("app_bg.wasm"), b"\0asm").unwrap();
    std::fs::write(dir.path().join("app.js"), "export {}").unwrap();
    let f = start_with(SimConfig {
        static_dir: Some(dir.path().to_path_buf()),
        ..SimConfig::default()
    })
    .await;
    let index = f.client.get(f.url("/doctor/")).send().await.unwrap();
    assert_eq!(index.headers()["content-type"], "text/html; charset=utf-8");
    // The standalone page signs the browser in like `/` does.
    assert!(
        index.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("KuduSimSession=")
    );
    let wasm = f
        .client
        .get(f.url("/doctor/app_bg.wasm"))
        .send()
        .await
        .unwrap();
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    let js = f.client.get(f.url("/doctor/app.js")).send().await.unwrap();
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let missing = f
        .client
        .get(f.url("/doctor/a%2F..%2FCargo.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn strict_csp_is_sent_on_the_page_when_asked() {
    let f = start(Personality::Linux, "healthy").await;
    let plain = f.client.get(f.url("/")).send().await.unwrap();
    assert!(plain.headers().get("content-security-policy").is_none());
    f.sim.set_strict_csp(true);
    let strict = f.client.get(f.url("/")).send().await.unwrap();
    assert_eq!(
        strict.headers()["content-security-policy"],
        "default-src 'self'; script-src 'self'; connect-src 'self'"
    );
}

#[tokio::test]
async fn faults_status_truncate_drop_and_latency() {
    let f = start(Personality::Linux, "healthy").await;
    f.sim.add_fault(FaultRule {
        prefix: "/api/deployments".into(),
        kind: FaultKind::Status { status: 503 },
        count: Some(1),
    });
    assert_eq!(f.get("/api/deployments").await.status, 503);
    assert_eq!(f.get("/api/deployments").await.status, 200);

    f.sim.add_fault(FaultRule {
        prefix: "/api/deployments".into(),
        kind: FaultKind::TruncateBody,
        count: Some(1),
    });
    let cut = f.get("/api/deployments").await;
    assert!(serde_json::from_str::<serde_json::Value>(&cut.body).is_err());

    f.sim.add_fault(FaultRule {
        prefix: "/api/environment".into(),
        kind: FaultKind::Drop,
        count: Some(1),
    });
    let dropped = f
        .client
        .get(f.url("/api/environment"))
        .header("authorization", &f.auth)
        .send()
        .await;
    let failed = match dropped {
        Err(_) => true,
        Ok(resp) => resp.text().await.is_err(),
    };
    assert!(
        failed,
        "a dropped connection must not yield a complete body"
    );

    f.sim.add_fault(FaultRule {
        prefix: "/api/environment".into(),
        kind: FaultKind::SlowBody { chunk_delay_ms: 5 },
        count: Some(1),
    });
    let slow = f.get("/api/environment").await;
    assert_eq!(slow.json()["version"], "1.0.0.7");

    f.sim.add_fault(FaultRule {
        prefix: "/api/settings".into(),
        kind: FaultKind::Latency { ms: 150 },
        count: Some(1),
    });
    let started = std::time::Instant::now();
    f.get("/api/settings/WEBSITE_SITE_NAME").await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
}

#[tokio::test]
async fn control_api_lists_requests_and_advances_the_clock() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        f.get("/api/environment").await;
        let log: Vec<serde_json::Value> = f
            .client
            .get(f.url("/_sim/requests"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0]["path"], "/api/environment");
        assert_eq!(log[0]["status"], 200);
        let before = f.sim.now();
        let advanced: serde_json::Value = f
            .client
            .post(f.url("/_sim/clock/advance?secs=90"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(advanced["now"], before.plus_secs(90).to_json());
        f.client
            .delete(f.url("/_sim/requests"))
            .send()
            .await
            .unwrap();
        assert!(f.sim.requests().is_empty());
    }
}

#[tokio::test]
async fn http2_takes_the_site_from_the_uri_authority() {
    // Chromium speaks HTTP/2 to the simulator, so there is no Host header (toolchain.md).
    let f = start_with(SimConfig {
        tls: true,
        site: "fallback".into(),
        password: Some("pw".into()),
        ..SimConfig::default()
    })
    .await;
    let host = "myapp.scm.azurewebsites.net";
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .resolve(host, f.sim.addr)
        .build()
        .unwrap();
    let url = format!("https://{host}:{}/api/deployments", f.sim.addr.port());
    let resp = client
        .get(&url)
        .basic_auth("$myapp", Some("pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    let list: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(list[0]["site_name"], "myapp");
    assert!(
        list[0]["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("https://{host}:"))
    );
    let wrong_site = client
        .get(&url)
        .basic_auth("$fallback", Some("pw"))
        .send()
        .await
        .unwrap();
    assert!(wrong_site.text().await.unwrap().contains("Sign in"));
}

#[tokio::test]
async fn same_site_is_configurable() {
    let mut config = SimConfig {
        tls: true,
        ..SimConfig::default()
    };
    config.quirks.same_site = "Lax".into();
    let f = start_with(config).await;
    let home = f.client.get(f.url("/")).send().await.unwrap();
    let cookie = home.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.ends_with("; Secure; SameSite=Lax"), "{cookie}");
}

#[tokio::test]
async fn http2_is_a_switch_and_http1_keeps_working() {
    let client = |http1_only: bool| {
        let builder = reqwest::Client::builder().danger_accept_invalid_certs(true);
        let builder = if http1_only {
            builder.http1_only()
        } else {
            builder
        };
        builder.build().unwrap()
    };
    // On (the default): ALPN picks h2, and an HTTP/1.1-only client is still served.
    let on = start_with(SimConfig {
        tls: true,
        ..SimConfig::default()
    })
    .await;
    assert!(SimConfig::default().http2);
    let url = on.url("/api/environment");
    let h2 = client(false).get(&url).send().await.unwrap();
    assert_eq!(h2.version(), reqwest::Version::HTTP_2);
    let h1 = client(true).get(&url).send().await.unwrap();
    assert_eq!(h1.version(), reqwest::Version::HTTP_11);
    assert_eq!(h1.status(), h2.status());
    // Off: TLS offers only http/1.1, so even an h2-capable client speaks HTTP/1.1.
    let off = start_with(SimConfig {
        tls: true,
        http2: false,
        ..SimConfig::default()
    })
    .await;
    let resp = client(false)
        .get(off.url("/api/environment"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert_eq!(resp.status(), h2.status());
}

#[tokio::test]
async fn the_date_header_is_the_virtual_clock() {
    for personality in BOTH {
        let f = start(personality, "healthy").await;
        let before = f.sim.now();
        let reply = f.get("/api/environment").await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.header("date"),
            Some(before.to_http_date().as_str()),
            "{personality:?}"
        );
        // Time moves only when told to (not realtime): the next answer carries the new time.
        f.sim.advance(3600);
        let later = f.get("/api/environment").await;
        assert_eq!(
            later.header("date"),
            Some(before.plus_secs(3600).to_http_date().as_str())
        );
    }
}
