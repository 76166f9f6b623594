//! The GitHub Action and the release, tested here without GitHub: `action.yml` parses and its
//! inputs are the ones README documents; the install script installs from a local folder laid
//! out like a release (its `SHA256SUMS` made by the same command as the release workflow) and
//! refuses a wrong checksum; the action's run script maps each mode to its command; and
//! `diagnose --format github` writes the annotation and the step summary.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use yaml_rust2::{Yaml, YamlLoader};

const BIN: &str = env!("CARGO_BIN_EXE_kudu-doctor");
const TARGET: &str = "x86_64-unknown-linux-musl";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kudu-cli-ci-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn action() -> Yaml {
    let source = std::fs::read_to_string(repo().join("action.yml")).unwrap();
    YamlLoader::load_from_str(&source)
        .unwrap()
        .into_iter()
        .next()
        .unwrap()
}

fn action_inputs() -> BTreeSet<String> {
    action()["inputs"]
        .as_hash()
        .expect("inputs")
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

/// README's "Use it in CI" section.
fn readme_ci_section() -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("## Use it in CI")
        .expect("README has 'Use it in CI'");
    let rest = &readme[start + 3..];
    let end = rest.find("\n## ").map_or(rest.len(), |i| i);
    rest[..end].to_string()
}

#[test]
fn action_yml_is_a_composite_action_whose_inputs_readme_documents() {
    let action = action();
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let inputs = action_inputs();
    for wanted in [
        "app-url",
        "mode",
        "timeout",
        "backup-dir",
        "username",
        "password",
    ] {
        assert!(inputs.contains(wanted), "{wanted} in {inputs:?}");
    }
    assert_eq!(
        action["inputs"]["app-url"]["required"].as_bool(),
        Some(true)
    );
    assert_eq!(action["inputs"]["mode"]["default"].as_str(), Some("wait"));
    for (name, input) in action["inputs"].as_hash().unwrap() {
        let description = input["description"].as_str().unwrap_or("");
        assert!(!description.is_empty(), "{name:?} has no description");
    }
    let steps = action["runs"]["steps"].as_vec().unwrap();
    for step in steps {
        assert_eq!(step["shell"].as_str(), Some("bash"), "{step:?}");
        let run = step["run"].as_str().unwrap();
        let script = run
            .split('"')
            .find(|part| part.starts_with("$GITHUB_ACTION_PATH/"))
            .unwrap()
            .trim_start_matches("$GITHUB_ACTION_PATH/");
        assert!(repo().join(script).is_file(), "{script} is missing");
    }

    let readme = readme_ci_section();
    for input in &inputs {
        assert!(
            readme.contains(&format!("| `{input}` |")),
            "README's input table lacks `{input}`"
        );
    }
    let documented: BTreeSet<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|name| !name.starts_with("KUDU_"))
        .map(str::to_string)
        .collect();
    assert_eq!(
        documented, inputs,
        "README's input table and action.yml differ"
    );
    for mode in ["wait", "fix-stale", "diagnose"] {
        assert!(
            readme.contains(&format!("`{mode}`")),
            "README names mode {mode}"
        );
    }
}

/// A folder laid out like a release: the archive of `target` holding a stand-in binary, and
/// `SHA256SUMS` made the way `.github/workflows/release.yml` makes it.
fn release(dir: &Path) {
    let stage = dir.join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    let binary = stage.join("kudu-doctor");
    std::fs::write(&binary, "#!/bin/sh\necho 'kudu-doctor 9.9.9'\n").unwrap();
    run_ok(Command::new("chmod").args(["+x"]).arg(&binary));
    run_ok(
        Command::new("tar")
            .arg("-czf")
            .arg(dir.join(format!("kudu-doctor-{TARGET}.tar.gz")))
            .arg("-C")
            .arg(&stage)
            .arg("kudu-doctor"),
    );
    let workflow = std::fs::read_to_string(repo().join(".github/workflows/release.yml")).unwrap();
    let command = workflow
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("sha256sum "))
        .expect("release.yml makes SHA256SUMS with sha256sum");
    run_ok(Command::new("sh").arg("-c").arg(command).current_dir(dir));
    assert!(dir.join("SHA256SUMS").is_file(), "{command}");
}

fn run_ok(cmd: &mut Command) -> Output {
    let output = cmd.output().unwrap();
    assert!(output.status.success(), "{cmd:?}: {}", text(&output.stderr));
    output
}

fn install(release_url: &str, dir: &Path) -> Output {
    Command::new("bash")
        .arg(repo().join("action/install.sh"))
        .env("KUDU_DOCTOR_RELEASE_URL", release_url)
        .env("KUDU_DOCTOR_TARGET", TARGET)
        .env("KUDU_DOCTOR_INSTALL_DIR", dir.join("bin"))
        .env("KUDU_DOCTOR_CARGO", dir.join("fake-cargo"))
        .env("GITHUB_PATH", dir.join("github-path"))
        .output()
        .unwrap()
}

/// A stand-in for `cargo` that records it was asked to build, and builds nothing.
fn fake_cargo(dir: &Path) {
    let script = dir.join("fake-cargo");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" > '{}'\nmkdir -p '{}'\nprintf '#!/bin/sh\\necho kudu-doctor built\\n' > '{}'\nchmod +x '{}'\n",
            dir.join("cargo-args").display(),
            dir.join("bin").display(),
            dir.join("bin/kudu-doctor").display(),
            dir.join("bin/kudu-doctor").display()
        ),
    )
    .unwrap();
    run_ok(Command::new("chmod").arg("+x").arg(&script));
}

#[test]
fn the_install_script_installs_a_release_whose_checksum_matches() {
    let dir = scratch("good");
    let published = dir.join("release");
    std::fs::create_dir_all(&published).unwrap();
    release(&published);
    fake_cargo(&dir);
    let output = install(&format!("file://{}", published.display()), &dir);
    let err = text(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("matches SHA256SUMS"), "{err}");
    assert!(err.contains("installed kudu-doctor 9.9.9"), "{err}");
    let installed = run_ok(&mut Command::new(dir.join("bin/kudu-doctor")));
    assert_eq!(text(&installed.stdout).trim(), "kudu-doctor 9.9.9");
    let path = std::fs::read_to_string(dir.join("github-path")).unwrap();
    assert_eq!(path.trim(), dir.join("bin").display().to_string());
    assert!(
        !dir.join("cargo-args").exists(),
        "no build when the release is there"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_install_script_refuses_a_wrong_checksum_and_does_not_fall_back() {
    let dir = scratch("bad");
    let published = dir.join("release");
    std::fs::create_dir_all(&published).unwrap();
    release(&published);
    fake_cargo(&dir);
    // The archive changes after its checksum was published.
    let archive = published.join(format!("kudu-doctor-{TARGET}.tar.gz"));
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&archive, bytes).unwrap();
    let output = install(&format!("file://{}", published.display()), &dir);
    let err = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("refusing: "), "{err}");
    assert!(err.contains("but SHA256SUMS says"), "{err}");
    assert!(!dir.join("bin/kudu-doctor").exists(), "nothing installed");
    assert!(
        !dir.join("cargo-args").exists(),
        "a wrong checksum is not a missing release"
    );
    assert!(!dir.join("github-path").exists());

    // A checksums file without the asset's line refuses too.
    release(&published);
    std::fs::write(published.join("SHA256SUMS"), "00  other.tar.gz\n").unwrap();
    let output = install(&format!("file://{}", published.display()), &dir);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("no single line for"));
    assert!(!dir.join("bin/kudu-doctor").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_reachable_release_the_install_script_builds_from_source() {
    let dir = scratch("none");
    fake_cargo(&dir);
    let output = install(&format!("file://{}/absent", dir.display()), &dir);
    let err = text(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("is not reachable; building from source"),
        "{err}"
    );
    let args = std::fs::read_to_string(dir.join("cargo-args")).unwrap();
    assert!(args.starts_with("install --locked --root "), "{args}");
    assert!(args.trim_end().ends_with("/crates/cli"), "{args}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The action's run step with a stand-in `kudu-doctor` that prints its arguments and the
/// credential variables it got.
fn run_step(env: &[(&str, &str)]) -> (Output, String) {
    let dir = scratch(&format!("run-{}", env.len()));
    let stand_in = dir.join("kudu-doctor");
    std::fs::write(
        &stand_in,
        "#!/bin/sh\necho \"args: $*\"\necho \"user: ${KUDU_USERNAME:-} token: ${KUDU_BEARER_TOKEN:-}\"\n",
    )
    .unwrap();
    run_ok(Command::new("chmod").arg("+x").arg(&stand_in));
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("action/run.sh"))
        .current_dir(&dir)
        .env(
            "PATH",
            format!(
                "{}:{}",
                dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env_remove("KUDU_USERNAME")
        .env_remove("KUDU_BEARER_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    let github_output = std::fs::read_to_string(dir.join("output")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    (output, github_output)
}

#[test]
fn the_run_step_maps_each_mode_to_its_command() {
    let url = "https://myapp.scm.azurewebsites.net";
    let (output, _) = run_step(&[
        ("INPUT_APP_URL", url),
        ("INPUT_MODE", "wait"),
        ("INPUT_TIMEOUT", "5m"),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains(&format!("args: wait {url} --timeout 5m\n")));

    let (output, github_output) = run_step(&[
        ("INPUT_APP_URL", url),
        ("INPUT_MODE", "fix-stale"),
        ("INPUT_BACKUP_DIR", "backups"),
        ("KUDU_USERNAME", "$from-env"),
    ]);
    let out = text(&output.stdout);
    assert!(
        out.contains(&format!(
            "args: wait {url} --timeout 15m --fix-stale --backup-dir backups"
        )),
        "{out}"
    );
    assert!(
        out.contains("user: $from-env"),
        "the environment's credentials stay: {out}"
    );
    assert_eq!(github_output.trim(), "backup-dir=backups");

    let (output, _) = run_step(&[
        ("INPUT_APP_URL", url),
        ("INPUT_MODE", "diagnose"),
        ("INPUT_USERNAME", "$from-input"),
        ("KUDU_USERNAME", "$from-env"),
        ("INPUT_BEARER_TOKEN", ""),
    ]);
    let out = text(&output.stdout);
    assert!(
        out.contains(&format!("args: diagnose {url} --format github")),
        "{out}"
    );
    assert!(out.contains("user: $from-input token: \n"), "{out}");

    let (output, _) = run_step(&[("INPUT_APP_URL", url), ("INPUT_MODE", "deploy")]);
    assert_eq!(output.status.code(), Some(64));
    assert!(text(&output.stdout).starts_with("::error title=Kudu Doctor::mode must be"));
}

#[test]
fn the_release_workflow_builds_every_target_after_the_tests() {
    let workflow = std::fs::read_to_string(repo().join(".github/workflows/release.yml")).unwrap();
    let parsed = YamlLoader::load_from_str(&workflow).unwrap().remove(0);
    let jobs = parsed["jobs"].as_hash().unwrap();
    assert!(jobs.keys().any(|k| k.as_str() == Some("test")));
    assert_eq!(parsed["jobs"]["build"]["needs"].as_str(), Some("test"));
    for target in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-pc-windows-msvc",
        "aarch64-apple-darwin",
    ] {
        assert!(workflow.contains(&format!("target: {target}")), "{target}");
    }
    assert!(workflow.contains("cargo test --locked -p kudu-doctor-cli"));
    assert!(workflow.contains("SHA256SUMS"));
}

#[test]
fn diagnose_for_github_writes_the_annotation_and_the_step_summary() {
    use kudu_sim::{Personality, Sim, SimConfig};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = runtime
        .block_on(Sim::start(SimConfig {
            personality: Personality::Linux,
            scenario: "stuck-linux".into(),
            password: Some("pw".into()),
            wall_clock: true,
            ..SimConfig::default()
        }))
        .unwrap();
    let dir = scratch("summary");
    let summary = dir.join("step-summary.md");
    let output = Command::new(BIN)
        .args(["diagnose", &sim.url, "--format", "github"])
        .env("KUDU_USERNAME", "$myapp")
        .env("KUDU_PASSWORD", "pw")
        .env_remove("KUDU_BEARER_TOKEN")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let out = text(&output.stdout);
    assert!(
        out.starts_with("::error title=Kudu Doctor%3A stale-lock::"),
        "{out}"
    );
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(written.starts_with("# Kudu Doctor report"), "{written}");
    assert!(written.contains("## Cleanup plan (targeted)"), "{written}");
    let _ = std::fs::remove_dir_all(&dir);
}
