//! Set-up shared by `demo` and `test`: what a fresh Debian 12 machine lacks. The wasm32 std
//! comes from rustup; Chromium and its WebDriver from apt (only as root; otherwise the exact
//! command to run is printed).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::project::{Project, describe, run_checked};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
const APT_PACKAGES: [&str; 2] = ["chromium", "chromium-driver"];

/// What a command needs besides Rust.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Only the wasm32 target (dist, demo).
    WasmTarget,
    /// The wasm32 target, Chromium and chromedriver (tests).
    WasmTargetAndBrowser,
}

/// Installs whatever `needs` lists and is missing.
pub fn run(project: &Project, needs: Needs) -> anyhow::Result<()> {
    ensure_wasm_target(project)?;
    if needs == Needs::WasmTargetAndBrowser {
        ensure_browser()?;
    }
    Ok(())
}

fn ensure_wasm_target(project: &Project) -> anyhow::Result<()> {
    let mut list = Command::new("rustup");
    list.args(["target", "list", "--installed"])
        .current_dir(&project.root);
    let output = list
        .output()
        .context("running `rustup target list --installed` (is rustup installed?)")?;
    if !output.status.success() {
        bail!(
            "`rustup target list --installed` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let installed = String::from_utf8_lossy(&output.stdout);
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        return Ok(());
    }
    println!("xtask: installing the {WASM_TARGET} target");
    let mut add = Command::new("rustup");
    add.args(["target", "add", WASM_TARGET])
        .current_dir(&project.root);
    run_checked(&mut add)
}

fn ensure_browser() -> anyhow::Result<()> {
    let missing: Vec<&str> = ["chromium", "chromedriver"]
        .into_iter()
        .filter(|program| find_on_path(program).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let install = format!(
        "apt-get update && apt-get install -y --no-install-recommends {}",
        APT_PACKAGES.join(" ")
    );
    if !running_as_root() {
        bail!(
            "{} not found; install with: sudo sh -c 'DEBIAN_FRONTEND=noninteractive {install}'",
            missing.join(" and ")
        );
    }
    println!("xtask: installing {} with apt-get", APT_PACKAGES.join(" "));
    let mut update = Command::new("apt-get");
    update
        .arg("update")
        .env("DEBIAN_FRONTEND", "noninteractive");
    run_checked(&mut update)?;
    let mut add = Command::new("apt-get");
    add.args(["install", "-y", "--no-install-recommends"])
        .args(APT_PACKAGES)
        .env("DEBIAN_FRONTEND", "noninteractive");
    run_checked(&mut add).with_context(|| format!("`{}`", describe(&add)))?;
    for program in ["chromium", "chromedriver"] {
        if find_on_path(program).is_none() {
            bail!(
                "{program} still not found on PATH after installing {}",
                APT_PACKAGES.join(" ")
            );
        }
    }
    Ok(())
}

/// The first `program` on `PATH`, like `command -v`.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable_file(candidate))
}

fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn running_as_root() -> bool {
    // `id -u` instead of libc's geteuid: the workspace forbids unsafe code.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.status.success() && output.stdout.trim_ascii() == b"0")
}
