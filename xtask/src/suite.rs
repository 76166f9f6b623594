//! `cargo xtask test`: set-up, then every check and test suite in a fixed order, each child's
//! output streamed live, ending with one line `xtask: N passed, M failed` (the sums of every
//! `test result:` line) as the very last line of output.
//!
//! Order: `cargo fmt --check`, clippy (host, then the app for wasm32), native tests, the tool
//! bins, `dist`, `web-ext lint` on the Firefox package (one passed or failed test), wasm tests
//! in headless Chromium, and the e2e suite last (Chromium and Firefox), so the closing
//! `test result:` line of the whole run is a real browser test.

use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::dist::{self, ExtensionBuild};
use crate::manifest::Browser;
use crate::project::{Project, describe};
use crate::setup::{self, Needs};
use crate::{node_tools, web_ext_lint};

/// Which part of the suite to run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Only {
    Native,
    Wasm,
    E2e,
}

/// Flags of `cargo xtask test`.
#[derive(Clone, Copy, Default, Debug)]
pub struct Options {
    /// Skip `cargo fmt --check` and clippy.
    pub fast: bool,
    pub only: Option<Only>,
}

impl Options {
    pub fn parse(args: &[String]) -> anyhow::Result<Options> {
        let mut options = Options::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--fast" => options.fast = true,
                "--only" => {
                    let part = args.next().context("--only needs native, wasm or e2e")?;
                    options.only = Some(match part.as_str() {
                        "native" => Only::Native,
                        "wasm" => Only::Wasm,
                        "e2e" => Only::E2e,
                        other => bail!("--only takes native, wasm or e2e, not `{other}`"),
                    });
                }
                other => bail!("unexpected argument `{other}` for `cargo xtask test`"),
            }
        }
        Ok(options)
    }

    fn runs(&self, part: Only) -> bool {
        self.only.is_none_or(|only| only == part)
    }
}

/// Passed and failed test counts.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
    }
}

struct StepOutcome {
    name: &'static str,
    elapsed: Duration,
    /// None when the step could not run because one it depends on failed.
    succeeded: Option<bool>,
}

/// Runs the suite; the exit code is failure when any step failed.
pub fn run(project: &Project, options: &Options) -> anyhow::Result<ExitCode> {
    let mut total = Counts::default();
    let mut outcomes: Vec<StepOutcome> = Vec::new();
    setup::report_free_disk(&project.target);

    // Native tests still need every platform's crates: the licence check reads them offline.
    let needs = if options.only == Some(Only::Native) {
        Needs::Crates
    } else {
        Needs::WasmTargetAndBrowser
    };
    let started = Instant::now();
    let setup_result = setup::run(project, needs);
    if let Err(error) = &setup_result {
        eprintln!("xtask: set-up failed: {error:#}");
        total.failed += 1;
    }
    let setup_ok = setup_result.is_ok();
    outcomes.push(StepOutcome {
        name: "set-up",
        elapsed: started.elapsed(),
        succeeded: Some(setup_ok),
    });

    let chromedriver = setup::find_on_path("chromedriver");
    let mut steps: Vec<Step> = Vec::new();
    if !options.fast && options.only.is_none() {
        steps.push(Step::cargo(
            "fmt",
            project,
            &["fmt", "--all", "--check"],
            Some("run `cargo fmt --all` and commit the result"),
        ));
        steps.push(Step::cargo(
            "clippy",
            project,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
            None,
        ));
        steps.push(Step::cargo(
            "clippy-wasm",
            project,
            &[
                "clippy",
                "--target",
                "wasm32-unknown-unknown",
                "-p",
                "kudu-doctor",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
            None,
        ));
    }
    if options.runs(Only::Native) {
        steps.push(Step::cargo(
            "native tests",
            project,
            &[
                "test",
                "--workspace",
                "--exclude",
                "kudu-e2e",
                "--tests",
                "--no-fail-fast",
            ],
            None,
        ));
    }
    if options.runs(Only::Wasm) {
        steps.push(Step::cargo(
            "tool bins",
            project,
            &["build", "--profile", "tools", "-p", "xtask", "--bins"],
            None,
        ));
    }
    if options.runs(Only::E2e) {
        steps.push(Step {
            name: "dist",
            action: Action::Dist,
            hint: None,
            requires: &[],
        });
        steps.push(Step {
            name: "web-ext lint",
            action: Action::WebExtLint,
            hint: None,
            requires: &["set-up", "dist"],
        });
    }
    if options.runs(Only::Wasm) {
        let mut wasm = Step::cargo(
            "wasm tests",
            project,
            &[
                "test",
                "--target",
                "wasm32-unknown-unknown",
                "-p",
                "kudu-doctor",
                "--tests",
                "--no-fail-fast",
            ],
            None,
        );
        if let Action::Child(command) = &mut wasm.action {
            command.env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                project.test_runner(),
            );
            if let Some(driver) = &chromedriver {
                command.env("CHROMEDRIVER", driver);
            }
        }
        wasm.requires = &["set-up", "tool bins"];
        steps.push(wasm);
    }
    if options.runs(Only::E2e) {
        let mut e2e = Step::cargo(
            "e2e tests",
            project,
            &["test", "-p", "kudu-e2e", "--tests", "--no-fail-fast"],
            None,
        );
        if let Action::Child(command) = &mut e2e.action {
            command.env("GECKODRIVER", setup::geckodriver());
        }
        e2e.requires = &["set-up", "dist"];
        steps.push(e2e);
    }

    for mut step in steps {
        let blocked = step.requires.iter().find(|required| {
            outcomes
                .iter()
                .any(|done| done.name == **required && done.succeeded != Some(true))
        });
        if let Some(required) = blocked {
            eprintln!("xtask: skipping {} because {required} failed", step.name);
            outcomes.push(StepOutcome {
                name: step.name,
                elapsed: Duration::ZERO,
                succeeded: None,
            });
            continue;
        }
        if !setup_ok && step.name == "dist" {
            // dist needs the wasm target that set-up provides.
            eprintln!("xtask: skipping dist because set-up failed");
            outcomes.push(StepOutcome {
                name: step.name,
                elapsed: Duration::ZERO,
                succeeded: None,
            });
            continue;
        }
        println!("xtask: ── {} ──", step.name);
        let started = Instant::now();
        let (succeeded, counts) = match &mut step.action {
            Action::Child(command) => match run_streamed(command) {
                Ok((success, counts)) => (success, counts),
                Err(error) => {
                    eprintln!("xtask: {error:#}");
                    (false, Counts::default())
                }
            },
            Action::Dist => match dist::run(project) {
                Ok(()) => (true, Counts::default()),
                Err(error) => {
                    eprintln!("xtask: dist failed: {error:#}");
                    (false, Counts::default())
                }
            },
            Action::WebExtLint => {
                let package = project.dist_dir().join(dist::extension_dir_name(
                    Browser::Firefox,
                    ExtensionBuild::Shipped,
                ));
                match web_ext_lint::run(&node_tools::web_ext(project), &package) {
                    Ok(true) => (
                        true,
                        Counts {
                            passed: 1,
                            failed: 0,
                        },
                    ),
                    Ok(false) => (
                        false,
                        Counts {
                            passed: 0,
                            failed: 1,
                        },
                    ),
                    Err(error) => {
                        eprintln!("xtask: web-ext lint failed: {error:#}");
                        (false, Counts::default())
                    }
                }
            }
        };
        total += counts;
        if !succeeded {
            if let Some(hint) = step.hint {
                eprintln!("xtask: {} failed: {hint}", step.name);
            }
            // A failed step whose output named no failing test (a compile error, a lint, a
            // crash) still counts once, so the summary never reads "0 failed" on a red run.
            if counts.failed == 0 {
                total.failed += 1;
            }
        }
        outcomes.push(StepOutcome {
            name: step.name,
            elapsed: started.elapsed(),
            succeeded: Some(succeeded),
        });
    }

    let _ = std::io::stderr().flush();
    println!("xtask: steps:");
    for step in &outcomes {
        let verdict = match step.succeeded {
            Some(true) => "ok",
            Some(false) => "FAILED",
            None => "skipped",
        };
        println!(
            "xtask:   {:<14} {:>7.1} s  {verdict}",
            step.name,
            step.elapsed.as_secs_f64()
        );
    }
    let all_ok = outcomes.iter().all(|step| step.succeeded == Some(true));
    println!("{}", summary_line(total));
    let _ = std::io::stdout().flush();
    Ok(if all_ok && total.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The run's last line.
pub fn summary_line(total: Counts) -> String {
    format!("xtask: {} passed, {} failed", total.passed, total.failed)
}

enum Action {
    Child(Command),
    Dist,
    /// Lints the Firefox package; counts as one test.
    WebExtLint,
}

struct Step {
    name: &'static str,
    action: Action,
    hint: Option<&'static str>,
    /// Steps that must have succeeded for this one to run.
    requires: &'static [&'static str],
}

impl Step {
    fn cargo(
        name: &'static str,
        project: &Project,
        args: &[&str],
        hint: Option<&'static str>,
    ) -> Step {
        let mut command = project.cargo();
        command.args(args);
        if running_in_ci() {
            // A CI clone builds once and is thrown away, so incremental caches (4 GB of a
            // 13 GB target dir, once enough to fill the CI disk) buy nothing there.
            command.env("CARGO_INCREMENTAL", "0");
        }
        if std::io::stdout().is_terminal() {
            command.env("CARGO_TERM_COLOR", "always");
        }
        Step {
            name,
            action: Action::Child(command),
            hint,
            requires: &[],
        }
    }
}

/// `CI` set to anything but empty, `0` or `false`, as CI services do.
fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.trim(), "" | "0" | "false"))
}

/// Runs `command`, copying its stdout and stderr through line by line as they come, and sums
/// the `test result:` lines it prints.
fn run_streamed(command: &mut Command) -> anyhow::Result<(bool, Counts)> {
    let shown = describe(command);
    println!("xtask: $ {shown}");
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting `{shown}`"))?;
    let (sender, receiver) = mpsc::channel();
    let mut pumps = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        let sender = sender.clone();
        pumps.push(std::thread::spawn(move || {
            pump(stdout, std::io::stdout(), &sender)
        }));
    }
    if let Some(stderr) = child.stderr.take() {
        let sender = sender.clone();
        pumps.push(std::thread::spawn(move || {
            pump(stderr, std::io::stderr(), &sender)
        }));
    }
    drop(sender);
    let status = child
        .wait()
        .with_context(|| format!("waiting for `{shown}`"))?;
    for pump in pumps {
        if pump.join().is_err() {
            bail!("copying the output of `{shown}` panicked");
        }
    }
    let mut counts = Counts::default();
    for found in receiver {
        counts += found;
    }
    Ok((status.success(), counts))
}

fn pump(from: impl Read, mut to: impl Write, results: &mpsc::Sender<Counts>) {
    let mut reader = BufReader::new(from);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                // Terminal gone (a closed pipe): keep draining so the child never blocks.
                let _ = to.write_all(&line);
                let _ = to.flush();
                if let Some(counts) = parse_test_result(&String::from_utf8_lossy(&line)) {
                    let _ = results.send(counts);
                }
            }
        }
    }
}

/// The counts of a libtest (or wasm-bindgen-test-runner) closing line such as
/// `test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s`.
pub fn parse_test_result(line: &str) -> Option<Counts> {
    let plain = strip_ansi(line);
    let rest = plain.trim().strip_prefix("test result: ")?;
    let rest = rest
        .strip_prefix("ok.")
        .or_else(|| rest.strip_prefix("FAILED."))?;
    let mut counts = Counts::default();
    let mut seen_passed = false;
    let mut seen_failed = false;
    for part in rest.split(';') {
        let mut words = part.split_whitespace();
        let (Some(number), Some(label)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(number) = number.parse::<u64>() else {
            continue;
        };
        match label {
            "passed" => {
                counts.passed = number;
                seen_passed = true;
            }
            "failed" => {
                counts.failed = number;
                seen_failed = true;
            }
            _ => {}
        }
    }
    (seen_passed && seen_failed).then_some(counts)
}

fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI sequences end with a letter; `\x1b[32m` colours libtest's "ok".
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_passing_and_failing_result_lines() {
        assert_eq!(
            parse_test_result(
                "test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n"
            ),
            Some(Counts {
                passed: 12,
                failed: 0
            })
        );
        assert_eq!(
            parse_test_result(
                "test result: FAILED. 3 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out; finished in 1.20s"
            ),
            Some(Counts {
                passed: 3,
                failed: 2
            })
        );
        assert_eq!(
            parse_test_result(
                "test result: \u{1b}[32mok\u{1b}[0m. 2 passed; 0 failed; 0 ignored; 0 filtered out; finished in 0.19s"
            ),
            Some(Counts {
                passed: 2,
                failed: 0
            })
        );
    }

    #[test]
    fn ignores_other_lines() {
        for line in [
            "running 3 tests",
            "test tidy::manifest ... ok",
            "test result is what matters",
            "test result: ok. no counts here",
            "   Compiling kudu-core v0.1.0",
        ] {
            assert_eq!(parse_test_result(line), None, "{line}");
        }
    }

    #[test]
    fn summary_is_exactly_the_promised_shape() {
        assert_eq!(
            summary_line(Counts {
                passed: 41,
                failed: 2
            }),
            "xtask: 41 passed, 2 failed"
        );
    }

    #[test]
    fn parses_flags() {
        let parse = |args: &[&str]| {
            Options::parse(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
        };
        let options = parse(&["--fast", "--only", "e2e"]).unwrap();
        assert!(options.fast);
        assert_eq!(options.only, Some(Only::E2e));
        assert!(!options.runs(Only::Native));
        assert!(parse(&["--only", "everything"]).is_err());
        assert!(parse(&["--only"]).is_err());
        assert!(parse(&["--slow"]).is_err());
    }
}
