//! Where things are: the project root, the target dir, the cargo to call, and running
//! children with their output passed through.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The workspace this xtask belongs to.
pub struct Project {
    /// The workspace root (holds the root `Cargo.toml`).
    pub root: PathBuf,
    /// Cargo's target dir: `CARGO_TARGET_DIR` when set, else `<root>/target`.
    pub target: PathBuf,
    /// The cargo that started us (`CARGO`), so a toolchain override carries through.
    pub cargo: PathBuf,
}

impl Project {
    /// Finds the workspace from where xtask was compiled, so it works from any directory.
    pub fn locate() -> anyhow::Result<Project> {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest_dir
            .parent()
            .context("xtask's manifest dir has no parent")?
            .to_path_buf();
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => {
                let dir = PathBuf::from(dir);
                // Cargo reads a relative CARGO_TARGET_DIR against the current directory.
                if dir.is_relative() {
                    std::env::current_dir()
                        .context("reading the current directory")?
                        .join(dir)
                } else {
                    dir
                }
            }
            _ => root.join("target"),
        };
        let cargo = std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from);
        Ok(Project {
            root,
            target,
            cargo,
        })
    }

    /// A `cargo` command run from the workspace root.
    pub fn cargo(&self) -> Command {
        let mut command = Command::new(&self.cargo);
        command.current_dir(&self.root);
        command
    }

    /// `<target>/dist`, where every shipped output goes.
    pub fn dist_dir(&self) -> PathBuf {
        self.target.join("dist")
    }

    /// The wasm test runner built by `cargo build --profile tools -p xtask --bins`.
    pub fn test_runner(&self) -> PathBuf {
        self.target.join("tools").join("wasm-bindgen-test-runner")
    }
}

/// Runs `command` with inherited stdio and fails when it does not exit successfully.
pub fn run_checked(command: &mut Command) -> anyhow::Result<()> {
    let shown = describe(command);
    let status = command
        .status()
        .with_context(|| format!("starting `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// The command as a person would type it, for messages.
pub fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
