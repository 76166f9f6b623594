//! `cargo xtask demo`: set-up, `dist`, then the Kudu simulator over TLS serving the standalone
//! page, with copy-pasteable instructions for opening it in Chromium with the extension loaded.
//! Runs (passing the simulator's output through) until Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use anyhow::{Context, bail};

use crate::project::{Project, describe};
use crate::setup::{self, Needs};

/// Flags of `cargo xtask demo`.
#[derive(Clone, Debug)]
pub struct Options {
    pub port: u16,
    pub scenario: String,
    pub personality: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            port: 8443,
            scenario: "stuck-linux".into(),
            personality: "linux".into(),
        }
    }
}

impl Options {
    pub fn parse(args: &[String]) -> anyhow::Result<Options> {
        let mut options = Options::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |flag: &str| {
                args.next()
                    .cloned()
                    .with_context(|| format!("{flag} needs a value"))
            };
            match arg.as_str() {
                "--port" => {
                    let port = value("--port")?;
                    options.port = port
                        .parse()
                        .with_context(|| format!("--port takes a port number, not `{port}`"))?;
                }
                "--scenario" => options.scenario = value("--scenario")?,
                "--personality" => {
                    let personality = value("--personality")?;
                    if personality != "linux" && personality != "windows" {
                        bail!("--personality takes linux or windows, not `{personality}`");
                    }
                    options.personality = personality;
                }
                other => bail!("unexpected argument `{other}` for `cargo xtask demo`"),
            }
        }
        Ok(options)
    }
}

/// Builds, starts the simulator and waits for it to end.
pub fn run(project: &Project, options: &Options) -> anyhow::Result<()> {
    setup::run(project, Needs::WasmTarget)?;
    crate::dist::run(project)?;

    let web = project.dist_dir().join("web");
    let addr = format!("127.0.0.1:{}", options.port);
    let mut sim = project.cargo();
    sim.args(["run", "--profile", "tools", "-p", "kudu-sim", "--"])
        .args(["--personality", &options.personality])
        .args(["--scenario", &options.scenario])
        // The browser's clock is real: put the scenario's "now" on it.
        .args(["--addr", &addr, "--tls", "--wall-clock", "--static-dir"])
        .arg(&web)
        .stdout(Stdio::piped());
    println!("xtask: starting the simulator: {}", describe(&sim));
    let mut child = sim
        .spawn()
        .with_context(|| format!("starting `{}`", describe(&sim)))?;
    let stdout = child
        .stdout
        .take()
        .context("the simulator's stdout is not piped")?;
    let mut lines = BufReader::new(stdout).lines();
    let Some(first) = lines.next() else {
        let status = child.wait()?;
        bail!("the simulator exited before printing its URL ({status})");
    };
    let url = first.context("reading the simulator's first line")?;
    print!(
        "{}",
        instructions(url.trim(), options, &project.dist_dir().join("extension"))
    );
    for line in lines {
        match line {
            Ok(line) => println!("sim: {line}"),
            Err(_) => break,
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("the simulator stopped ({status})");
    }
    Ok(())
}

/// What the person running the demo reads: where it is served and the Chromium command.
pub fn instructions(sim_url: &str, options: &Options, extension: &std::path::Path) -> String {
    let port = options.port;
    let extension = extension.display();
    format!(
        "
Kudu simulator ({personality}, scenario {scenario}) listening at {sim_url}

Open it as a real SCM site in Chromium with the extension loaded (a throwaway profile; the
host rule sends *.scm.azurewebsites.net to the simulator, port included, so URLs need no port):

  chromium --user-data-dir=\"$(mktemp -d)\" --ignore-certificate-errors \\
    --host-resolver-rules=\"MAP *.scm.azurewebsites.net 127.0.0.1:{port}\" \\
    --load-extension={extension} \\
    https://myapp.scm.azurewebsites.net/

  (Branded Chrome ignores --load-extension: use chrome://extensions, Developer mode, Load
  unpacked, and pick {extension}.)

  Kudu page with the extension's \"409 Doctor\" launcher: https://myapp.scm.azurewebsites.net/
  Standalone page (no extension needed):            https://myapp.scm.azurewebsites.net/doctor/
  Command-line tools use HTTP Basic auth with the credentials the simulator prints below.

Ctrl-C stops the simulator.

",
        personality = options.personality,
        scenario = options.scenario,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_stuck_linux_default() {
        let defaults = Options::parse(&[]).unwrap();
        assert_eq!(
            (
                defaults.port,
                defaults.scenario.as_str(),
                defaults.personality.as_str()
            ),
            (8443, "stuck-linux", "linux")
        );
        let args: Vec<String> = [
            "--port",
            "9443",
            "--scenario",
            "stuck-windows",
            "--personality",
            "windows",
        ]
        .map(str::to_owned)
        .to_vec();
        let options = Options::parse(&args).unwrap();
        assert_eq!(
            (
                options.port,
                options.scenario.as_str(),
                options.personality.as_str()
            ),
            (9443, "stuck-windows", "windows")
        );
        assert!(Options::parse(&["--personality".into(), "mac".into()]).is_err());
        assert!(Options::parse(&["--port".into(), "http".into()]).is_err());
    }

    #[test]
    fn instructions_map_the_port_and_load_the_built_extension() {
        let options = Options {
            port: 9443,
            ..Options::default()
        };
        let text = instructions(
            "https://127.0.0.1:9443",
            &options,
            std::path::Path::new("/repo/target/dist/extension"),
        );
        assert!(
            text.contains(r#"--host-resolver-rules="MAP *.scm.azurewebsites.net 127.0.0.1:9443""#)
        );
        assert!(text.contains("--load-extension=/repo/target/dist/extension"));
        assert!(text.contains("https://myapp.scm.azurewebsites.net/doctor/"));
        assert!(text.contains("--user-data-dir="));
    }
}
