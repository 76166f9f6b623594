//! The Node tools the suite uses, installed reproducibly: `xtask/npm/package.json` and its
//! `package-lock.json` pin them, and `npm ci` installs exactly that lock into `<target>/npm/`.
//!
//! The contract other code relies on:
//! - `<target>/npm/node_modules/.bin/web-ext` lints the Firefox package;
//! - `<target>/npm/node_modules/axe-core/axe.min.js` is injected by the accessibility e2e tests.
//!
//! A second run with the same lock does nothing: the lock that was installed is kept beside
//! `node_modules` and compared byte for byte.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::project::{Project, run_checked};
use crate::setup::find_on_path;

const PACKAGE_FILES: [&str; 2] = ["package.json", "package-lock.json"];
/// The copy of the lock `npm ci` last installed successfully.
const INSTALLED_STAMP: &str = "installed.package-lock.json";

/// `<target>/npm`, the `npm ci` prefix.
pub fn prefix(project: &Project) -> PathBuf {
    project.target.join("npm")
}

/// The `web-ext` command line tool inside the prefix.
pub fn web_ext(project: &Project) -> PathBuf {
    prefix(project)
        .join("node_modules")
        .join(".bin")
        .join("web-ext")
}

/// Runs `npm ci` into `<target>/npm` unless that exact lock is already installed.
pub fn ensure_installed(project: &Project) -> anyhow::Result<()> {
    let source = project.root.join("xtask").join("npm");
    let prefix = prefix(project);
    let lock = fs::read(source.join("package-lock.json"))
        .context("reading xtask/npm/package-lock.json")?;
    if is_up_to_date(&prefix, &lock) {
        return Ok(());
    }
    let Some(npm) = find_on_path("npm") else {
        bail!("npm not found on PATH; install Node.js 20 or newer (it brings npm), then run again");
    };
    fs::create_dir_all(&prefix).with_context(|| format!("creating {}", prefix.display()))?;
    // A failed install must not look finished next time.
    let stamp = prefix.join(INSTALLED_STAMP);
    if stamp.exists() {
        fs::remove_file(&stamp).with_context(|| format!("removing {}", stamp.display()))?;
    }
    for name in PACKAGE_FILES {
        fs::copy(source.join(name), prefix.join(name))
            .with_context(|| format!("copying xtask/npm/{name} to {}", prefix.display()))?;
    }
    println!(
        "xtask: installing the pinned Node tools into {}",
        prefix.display()
    );
    let mut install = Command::new(npm);
    install
        .arg("ci")
        .arg("--prefix")
        .arg(&prefix)
        .args(["--no-audit", "--no-fund", "--loglevel", "warn"])
        .current_dir(&prefix);
    run_checked(&mut install)?;
    fs::write(&stamp, &lock).with_context(|| format!("writing {}", stamp.display()))
}

fn is_up_to_date(prefix: &Path, lock: &[u8]) -> bool {
    fs::read(prefix.join(INSTALLED_STAMP)).is_ok_and(|installed| installed == lock)
        && prefix.join("node_modules").is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("npm")
    }

    #[test]
    fn lock_pins_exactly_what_package_json_asks_for() {
        let package: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(root().join("package.json")).unwrap())
                .unwrap();
        let lock: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(root().join("package-lock.json")).unwrap())
                .unwrap();
        let wanted = package["devDependencies"].as_object().unwrap();
        assert!(wanted.contains_key("web-ext") && wanted.contains_key("axe-core"));
        for (name, version) in wanted {
            let version = version.as_str().unwrap();
            assert!(
                version.chars().all(|c| c.is_ascii_digit() || c == '.'),
                "{name} must be pinned to one exact version, not {version}"
            );
            assert_eq!(
                lock["packages"][format!("node_modules/{name}")]["version"].as_str(),
                Some(version),
                "package-lock.json is stale for {name}: run `npm install --package-lock-only` in xtask/npm"
            );
            assert_eq!(
                lock["packages"][""]["devDependencies"][name].as_str(),
                Some(version)
            );
        }
    }

    #[test]
    fn an_installed_lock_is_up_to_date_only_when_identical() {
        let prefix = tempfile::tempdir().unwrap();
        assert!(!is_up_to_date(prefix.path(), b"lock"));
        fs::create_dir(prefix.path().join("node_modules")).unwrap();
        fs::write(prefix.path().join(INSTALLED_STAMP), b"lock").unwrap();
        assert!(is_up_to_date(prefix.path(), b"lock"));
        assert!(!is_up_to_date(prefix.path(), b"lock, changed"));
    }
}
