//! `cargo xtask`: builds, packages, demonstrates and tests Kudu Doctor.
//!
//! - `dist`: the wasm and its JS glue (wasm-bindgen in process), the unpacked extension for
//!   Chrome/Edge and for Firefox, their e2e test builds, the two store zips and the standalone
//!   page, under `<target>/dist/`.
//! - `icons`: redraws `extension/icons/` (a test keeps the committed PNGs equal to the drawing).
//! - `demo`: set-up, `dist`, then the simulator on a stuck Linux deployment, with instructions.
//! - `test`: set-up, then every check and test suite, ending with one summary line.
//!
//! Set-up (wasm target, Chromium, Firefox ESR, geckodriver, the pinned Node tools) is shared by `demo` and `test`, so both work on a fresh
//! Debian machine.

mod bench;
mod demo;
mod dist;
mod icons;
mod manifest;
mod node_tools;
mod project;
mod setup;
mod suite;
#[cfg(test)]
mod tidy;
#[cfg(test)]
mod tidy_screenshots;
#[cfg(test)]
mod tidy_security;
mod web_ext_lint;

use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::project::Project;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  dist                       build the extension for Chrome/Edge and Firefox, their store zips
                             and the standalone page into <target>/dist
  icons                      redraw extension/icons/icon-{16,32,48,128}.png
  demo [--port N] [--scenario NAME] [--personality linux|windows]
                             start the simulator with the extension and page ready to open
  bench [--from-report] [--write-readme]
                             measure payload, time to diagnosis, cleanup and scale (issue 6)
                             into <target>/bench/report.json and README-performance.md;
                             --from-report only re-renders; --write-readme copies the section
                             into the tracked xtask/src/bench/README-performance.md
  test [--fast] [--only native|wasm|e2e]
                             set up, then run every check and test
                             --fast skips cargo fmt and clippy";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let Some(command) = args.next() else {
        eprintln!("{USAGE}");
        return Ok(ExitCode::FAILURE);
    };
    let rest: Vec<String> = args.collect();
    let project = Project::locate()?;
    match command.as_str() {
        "dist" => {
            expect_no_args(&rest)?;
            dist::run(&project)?;
            Ok(ExitCode::SUCCESS)
        }
        "icons" => {
            expect_no_args(&rest)?;
            icons::write_all(&project.root)?;
            Ok(ExitCode::SUCCESS)
        }
        "demo" => {
            let options = demo::Options::parse(&rest)?;
            demo::run(&project, &options)?;
            Ok(ExitCode::SUCCESS)
        }
        "bench" => {
            bench::run(&project, &rest)?;
            Ok(ExitCode::SUCCESS)
        }
        "test" => {
            let options = suite::Options::parse(&rest)?;
            suite::run(&project, &options)
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => bail!("unknown command `{other}`\n{USAGE}"),
    }
}

fn expect_no_args(rest: &[String]) -> anyhow::Result<()> {
    match rest.first() {
        None => Ok(()),
        Some(arg) => Err(anyhow::anyhow!("unexpected argument `{arg}`")).context(USAGE),
    }
}
