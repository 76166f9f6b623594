//! `kudu-sim`: runs the simulator until killed and prints its URL on the first stdout line.
//!
//! `kudu-sim --personality linux|windows --scenario NAME --addr 127.0.0.1:PORT [--tls] [--no-http2]
//! [--latency-ms N] [--build-ms N] [--site NAME] [--password P] [--static-dir DIR]
//! [--seed N] [--no-realtime] [--wall-clock] [--strict-csp]`

use std::io::Write;

use kudu_sim::{Personality, SCENARIOS, Sim, SimConfig};

const USAGE: &str = "usage: kudu-sim [--personality linux|windows] [--scenario NAME] [--addr IP:PORT] [--tls] [--no-http2] [--latency-ms N] [--build-ms N] [--site NAME] [--password P] [--static-dir DIR] [--seed N] [--no-realtime] [--wall-clock] [--strict-csp]";

fn parse_args(args: &[String]) -> Result<SimConfig, String> {
    let mut config = SimConfig {
        realtime: true,
        build_ms: 60_000,
        ..SimConfig::default()
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        let number = |name: &str, text: String| {
            text.parse::<u64>()
                .map_err(|_| format!("{name} expects a whole number, got '{text}'"))
        };
        match flag.as_str() {
            "--personality" => {
                let v = value(flag)?;
                config.personality = Personality::parse(&v)
                    .ok_or_else(|| format!("--personality must be linux or windows, got '{v}'"))?;
            }
            "--scenario" => {
                let v = value(flag)?;
                if !SCENARIOS.iter().any(|s| s.name == v) {
                    let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
                    return Err(format!(
                        "unknown scenario '{v}'; known: {}",
                        names.join(", ")
                    ));
                }
                config.scenario = v;
            }
            "--addr" => {
                let v = value(flag)?;
                config.addr = v
                    .parse()
                    .map_err(|_| format!("--addr expects IP:PORT, got '{v}'"))?;
            }
            "--tls" => config.tls = true,
            "--no-http2" => config.http2 = false,
            "--latency-ms" => config.latency_ms = number(flag, value(flag)?)?,
            "--build-ms" => config.build_ms = number(flag, value(flag)?)?,
            "--site" => config.site = value(flag)?,
            "--password" => config.password = Some(value(flag)?),
            "--static-dir" => config.static_dir = Some(value(flag)?.into()),
            "--seed" => config.seed = number(flag, value(flag)?)?,
            "--no-realtime" => config.realtime = false,
            "--wall-clock" => config.wall_clock = true,
            "--strict-csp" => config.strict_csp = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    Ok(config)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let handle = match Sim::start(config.clone()).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("kudu-sim: {e:#}");
            std::process::exit(1);
        }
    };
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", handle.url);
    let _ = writeln!(
        out,
        "personality {} scenario {} site {}: Basic auth user ${} password {}",
        config.personality.name(),
        config.scenario,
        config.site,
        config.site,
        handle.password
    );
    let _ = writeln!(out, "control API: {}/_sim/state", handle.url);
    let _ = out.flush();
    wait_for_shutdown().await;
    // Dropping the handle stops the server and removes the simulated HOME.
    drop(handle);
}

/// Ctrl-C or SIGTERM (what test harnesses and `kill` send), so HOME is cleaned up either way.
async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_every_flag() {
        let c = parse_args(&args(&[
            "--personality",
            "windows",
            "--scenario",
            "stuck-windows",
            "--addr",
            "127.0.0.1:9000",
            "--tls",
            "--no-http2",
            "--latency-ms",
            "5",
            "--build-ms",
            "100",
            "--site",
            "demo",
            "--password",
            "pw",
            "--static-dir",
            "/tmp/x",
        ]))
        .unwrap();
        assert_eq!(c.personality, Personality::Windows);
        assert_eq!(c.scenario, "stuck-windows");
        assert_eq!(c.addr.port(), 9000);
        assert!(c.tls && c.realtime && !c.http2);
        assert_eq!((c.latency_ms, c.build_ms), (5, 100));
        assert_eq!(c.site, "demo");
        assert_eq!(c.password.as_deref(), Some("pw"));
    }

    #[test]
    fn rejects_bad_input_with_a_clear_error() {
        assert!(
            parse_args(&args(&["--personality", "mac"]))
                .unwrap_err()
                .contains("linux or windows")
        );
        assert!(
            parse_args(&args(&["--scenario", "nope"]))
                .unwrap_err()
                .contains("known:")
        );
        assert!(
            parse_args(&args(&["--addr"]))
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            parse_args(&args(&["--bogus"]))
                .unwrap_err()
                .contains("unknown argument")
        );
    }
}
