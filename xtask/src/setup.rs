//! Set-up shared by `demo`, `bench` and `test`: what a fresh Debian 12 machine lacks. Every
//! crate of the lockfile, for every platform, comes from crates.io with `cargo fetch` (see
//! [`fetch_crates`]); the wasm32 std comes from rustup; Chromium, its WebDriver and Firefox ESR from apt (only as root; otherwise
//! the exact command to run is printed); geckodriver, which Debian does not package, from
//! crates.io with `cargo install --locked` into cargo's home (see [`geckodriver`]); the Node
//! tools (web-ext, axe-core) with `npm ci` (see `node_tools.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::project::{Project, describe, run_checked};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
const APT_PACKAGES: [&str; 3] = ["chromium", "chromium-driver", "firefox-esr"];
/// The programs those packages bring.
const BROWSER_PROGRAMS: [&str; 3] = ["chromium", "chromedriver", "firefox-esr"];
/// geckodriver from crates.io, pinned; its own lockfile is used (`--locked`).
const GECKODRIVER_VERSION: &str = "0.37.1";

/// What a command needs besides Rust.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Only the crates (native tests).
    Crates,
    /// The crates and the wasm32 target (dist, demo).
    WasmTarget,
    /// The crates, the wasm32 target, Chromium, chromedriver, Firefox ESR, geckodriver and the
    /// Node tools (tests, bench).
    WasmTargetAndBrowser,
}

/// Installs whatever `needs` lists and is missing.
pub fn run(project: &Project, needs: Needs) -> anyhow::Result<()> {
    fetch_crates(project)?;
    if needs == Needs::Crates {
        return Ok(());
    }
    ensure_wasm_target(project)?;
    if needs == Needs::WasmTargetAndBrowser {
        ensure_browser()?;
        ensure_geckodriver(project)?;
        crate::node_tools::ensure_installed(project)?;
    }
    Ok(())
}

/// Downloads every package the lockfile names, for every platform and every dependency kind,
/// into cargo's registry cache.
///
/// A build for this machine only downloads this machine's crates, but later steps read the
/// whole graph offline: the licence check runs `cargo metadata --offline`, which resolves the
/// crates of Windows, macOS and Android too (`android_system_properties` and the like). With an
/// empty cargo home that failed, so the fetch comes first. Without `--target`, `cargo fetch`
/// fetches the dependencies of all targets; `--locked` keeps it to the committed lockfile. With
/// a warm cache it reads nothing from the network and takes well under a second.
fn fetch_crates(project: &Project) -> anyhow::Result<()> {
    run_checked(&mut fetch_command(project))
}

fn fetch_command(project: &Project) -> Command {
    let mut fetch = project.cargo();
    fetch.args(["fetch", "--locked"]);
    fetch
}

/// A cold run needs about this much room for its target dir; less than this free is said up
/// front, because running out shows up much later as a linker or LLVM I/O error.
const COLD_RUN_DISK_BYTES: u64 = 6 * 1024 * 1024 * 1024;

/// Prints the free space where the target dir lives (from `df`, which every Debian has), with a
/// warning when a cold run may not fit. Never fails the run: `df` missing is not an error.
pub fn report_free_disk(target: &Path) {
    let probe = if target.exists() {
        target
    } else {
        target.parent().unwrap_or(target)
    };
    let output = Command::new("df").arg("-Pk").arg(probe).output();
    let Some(free) = output
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| free_bytes_from_df(&String::from_utf8_lossy(&output.stdout)))
    else {
        return;
    };
    let gib = free as f64 / (1024.0 * 1024.0 * 1024.0);
    println!("xtask: {gib:.1} GiB free for {}", probe.display());
    if free < COLD_RUN_DISK_BYTES {
        eprintln!(
            "xtask: warning: a cold run needs about {} GiB for the target dir; builds may fail \
             with \"No space left on device\"",
            COLD_RUN_DISK_BYTES / (1024 * 1024 * 1024)
        );
    }
}

/// The "Available" column (in KiB) of `df -Pk`'s second line, in bytes.
fn free_bytes_from_df(text: &str) -> Option<u64> {
    let line = text.lines().nth(1)?;
    let available_kib: u64 = line.split_whitespace().nth(3)?.parse().ok()?;
    Some(available_kib * 1024)
}

/// Where set-up installs geckodriver: `$CARGO_HOME/kudu-doctor-tools/geckodriver-<version>`.
/// Cargo's home, not the target dir, because CI keeps the home (and its registry cache) between
/// runs while each clone starts with an empty target dir, and building geckodriver is the one
/// slow set-up step (about 230 s of CPU time).
pub fn geckodriver() -> PathBuf {
    geckodriver_root().join("bin").join("geckodriver")
}

fn geckodriver_root() -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    cargo_home
        .join("kudu-doctor-tools")
        .join(format!("geckodriver-{GECKODRIVER_VERSION}"))
}

/// Builds geckodriver from crates.io unless the pinned version is already there.
fn ensure_geckodriver(project: &Project) -> anyhow::Result<()> {
    let binary = geckodriver();
    let installed = Command::new(&binary)
        .arg("--version")
        .output()
        .is_ok_and(|output| {
            output.status.success()
                && String::from_utf8_lossy(&output.stdout)
                    .starts_with(&format!("geckodriver {GECKODRIVER_VERSION}"))
        });
    if installed {
        return Ok(());
    }
    println!("xtask: building geckodriver {GECKODRIVER_VERSION} from crates.io");
    let mut install = project.cargo();
    install
        .args(["install", "geckodriver", "--locked", "--force", "--version"])
        .arg(GECKODRIVER_VERSION)
        .arg("--root")
        .arg(geckodriver_root())
        .arg("--target-dir")
        .arg(project.target.join("geckodriver-build"));
    run_checked(&mut install)?;
    // The build tree is only needed once; the installed binary is what stays.
    let _ = std::fs::remove_dir_all(project.target.join("geckodriver-build"));
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
    let missing: Vec<&str> = BROWSER_PROGRAMS
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
    for program in BROWSER_PROGRAMS {
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

#[cfg(test)]
mod tests {
    use super::{fetch_command, free_bytes_from_df};
    use crate::project::Project;

    /// The fetch must cover every platform: a `--target` here would shrink it to one, and the
    /// offline licence check would fail on a fresh machine again.
    #[test]
    fn the_fetch_covers_every_platform_of_the_lockfile() {
        let project = Project::locate().expect("the workspace");
        let fetch = fetch_command(&project);
        let args: Vec<String> = fetch
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args, ["fetch", "--locked"]);
        assert_eq!(fetch.get_current_dir(), Some(project.root.as_path()));
    }

    #[test]
    fn reads_the_available_column_of_posix_df() {
        let text = "Filesystem     1024-blocks     Used Available Capacity Mounted on\n\
                    /dev/vda        263174212 86942028 8388608      92% /\n";
        assert_eq!(free_bytes_from_df(text), Some(8_388_608 * 1024));
    }

    #[test]
    fn odd_df_output_is_no_reading() {
        assert_eq!(free_bytes_from_df(""), None);
        assert_eq!(free_bytes_from_df("header only\n"), None);
        assert_eq!(free_bytes_from_df("h\n/dev/vda 1 2 lots 3% /\n"), None);
    }
}
