//! `cargo xtask dist`: the release wasm, its JS glue (wasm-bindgen in process, so the glue
//! always matches the pinned `wasm-bindgen` in the lockfile), and the three shipped outputs:
//!
//! - `<target>/dist/extension/`: the unpacked Manifest V3 extension;
//! - `<target>/dist/kudu-doctor-extension.zip`: the same files, store-ready and reproducible;
//! - `<target>/dist/web/`: the standalone page.
//!
//! Also `<target>/dist/extension-test/`, the build the e2e tests load: identical but for its
//! name and an open shadow root, so WebDriver can look inside it.
//!
//! Sources (`extension/`, `static/`) are only read.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::project::{Project, run_checked};

/// The glue and wasm file stem wasm-bindgen derives from the crate name.
const PKG_STEM: &str = "kudu_doctor";
/// The placeholder in `extension/manifest.json` that dist replaces with the crate version.
const VERSION_PLACEHOLDER: &str = r#""version": "0.0.0""#;
const SHIPPED_NAME: &str = r#""name": "Kudu Doctor""#;

/// Which extension build to write.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExtensionBuild {
    /// What users install: the app lives in a closed shadow root.
    Shipped,
    /// What the e2e tests load: an open shadow root, a name that says so.
    E2eTest,
}

/// Builds everything `dist` promises.
pub fn run(project: &Project) -> anyhow::Result<()> {
    build_wasm(project)?;
    let pkg = project.target.join("xtask").join("pkg");
    bindgen(project, &pkg)?;

    let dist = project.dist_dir();
    let extension = dist.join("extension");
    write_extension(project, &pkg, &extension, ExtensionBuild::Shipped)?;
    write_extension(
        project,
        &pkg,
        &dist.join("extension-test"),
        ExtensionBuild::E2eTest,
    )?;
    let zip_path = dist.join("kudu-doctor-extension.zip");
    write_zip(&extension, &zip_path)?;
    let web = dist.join("web");
    write_web(project, &pkg, &web)?;

    report_sizes(&extension, &zip_path)?;
    println!("xtask: extension      {}", extension.display());
    println!("xtask: extension zip  {}", zip_path.display());
    println!("xtask: standalone     {}", web.display());
    println!(
        "xtask: e2e build      {}",
        dist.join("extension-test").display()
    );
    Ok(())
}

fn build_wasm(project: &Project) -> anyhow::Result<()> {
    println!("xtask: building the app for wasm32 (release)");
    let mut build = project.cargo();
    build.args([
        "build",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "kudu-doctor",
        "--lib",
    ]);
    run_checked(&mut build)
}

fn bindgen(project: &Project, pkg: &Path) -> anyhow::Result<()> {
    let input = project
        .target
        .join("wasm32-unknown-unknown")
        .join("release")
        .join(format!("{PKG_STEM}.wasm"));
    if !input.is_file() {
        bail!("{} is missing after the wasm build", input.display());
    }
    // A fresh dir: a snippet dropped from the app must not linger in the package.
    recreate_dir(pkg)?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&input)
        .web(true)?
        .typescript(false)
        // The library's default omits the `new URL("…_bg.wasm", import.meta.url)` fallback
        // that the standalone page and the extension page rely on; the CLI keeps it.
        .omit_default_module_path(false)
        .remove_name_section(true)
        .remove_producers_section(true)
        .generate(pkg)
        .with_context(|| format!("wasm-bindgen on {}", input.display()))?;
    Ok(())
}

/// Writes one extension build into `out` (recreated).
pub fn write_extension(
    project: &Project,
    pkg: &Path,
    out: &Path,
    build: ExtensionBuild,
) -> anyhow::Result<()> {
    let source = project.root.join("extension");
    recreate_dir(out)?;
    for relative in files_under(&source)? {
        if relative == Path::new("manifest.json") {
            continue;
        }
        copy_file(&source.join(&relative), &out.join(&relative))?;
    }
    copy_file(
        &project.root.join("static").join("page.css"),
        &out.join("page.css"),
    )?;
    copy_tree(pkg, &out.join("pkg"))?;
    write_file(&out.join("loader-config.js"), &loader_config(build))?;

    let template = fs::read_to_string(source.join("manifest.json"))
        .context("reading extension/manifest.json")?;
    let manifest = render_manifest(&template, env!("CARGO_PKG_VERSION"), build)?;
    check_web_accessible_resources(&manifest, out)?;
    write_file(&out.join("manifest.json"), &manifest)
}

/// The loader's build switches, read by `content.js` in the extension's isolated world.
pub fn loader_config(build: ExtensionBuild) -> String {
    let shadow_mode = match build {
        ExtensionBuild::Shipped => "closed",
        ExtensionBuild::E2eTest => "open",
    };
    format!(
        "// Written by `cargo xtask dist`. \"closed\" in the shipped build; \"open\" only in the\n\
         // e2e test build, so WebDriver can look inside the shadow root.\n\
         globalThis.kuduDoctorLoaderConfig = Object.freeze({{ shadowMode: \"{shadow_mode}\" }});\n"
    )
}

/// The manifest with the version filled in (and, for the test build, a name that says so).
pub fn render_manifest(
    template: &str,
    version: &str,
    build: ExtensionBuild,
) -> anyhow::Result<String> {
    if template.matches(VERSION_PLACEHOLDER).count() != 1 {
        bail!("extension/manifest.json must hold {VERSION_PLACEHOLDER} exactly once");
    }
    let mut manifest = template.replace(VERSION_PLACEHOLDER, &format!(r#""version": "{version}""#));
    if build == ExtensionBuild::E2eTest {
        if manifest.matches(SHIPPED_NAME).count() != 1 {
            bail!("extension/manifest.json must hold {SHIPPED_NAME} exactly once");
        }
        manifest = manifest.replace(SHIPPED_NAME, r#""name": "Kudu Doctor (e2e test build)""#);
    }
    serde_json::from_str::<serde_json::Value>(&manifest)
        .context("extension/manifest.json is not valid JSON")?;
    Ok(manifest)
}

/// Every file under `out/pkg` must be web-accessible (or the content script cannot load it),
/// and every web-accessible resource must exist.
fn check_web_accessible_resources(manifest: &str, out: &Path) -> anyhow::Result<()> {
    let manifest: serde_json::Value = serde_json::from_str(manifest)?;
    let listed: Vec<&str> = manifest["web_accessible_resources"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|entry| entry["resources"].as_array().into_iter().flatten())
        .filter_map(|resource| resource.as_str())
        .collect();
    for resource in &listed {
        if !out.join(resource).is_file() {
            bail!("web-accessible resource {resource} is not in the built extension");
        }
    }
    for relative in files_under(&out.join("pkg"))? {
        let name = format!("pkg/{}", slash_path(&relative));
        if !listed.contains(&name.as_str()) {
            bail!(
                "{name} is produced by wasm-bindgen but not listed in extension/manifest.json \
                 web_accessible_resources"
            );
        }
    }
    Ok(())
}

fn write_web(project: &Project, pkg: &Path, out: &Path) -> anyhow::Result<()> {
    recreate_dir(out)?;
    copy_tree(&project.root.join("static"), out)?;
    copy_tree(pkg, &out.join("pkg"))
}

/// Zips `dir` so the same files always give the same bytes: sorted names, one fixed time
/// (1980-01-01, zip's epoch), fixed permissions.
pub fn write_zip(dir: &Path, zip_path: &Path) -> anyhow::Result<()> {
    let file =
        fs::File::create(zip_path).with_context(|| format!("creating {}", zip_path.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::DEFAULT
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .unix_permissions(0o644);
    let mut files = files_under(dir)?;
    files.sort_by_key(|relative| slash_path(relative));
    for relative in files {
        let mut bytes = Vec::new();
        fs::File::open(dir.join(&relative))
            .and_then(|mut file| file.read_to_end(&mut bytes))
            .with_context(|| format!("reading {}", dir.join(&relative).display()))?;
        zip.start_file(slash_path(&relative), options)?;
        zip.write_all(&bytes)?;
    }
    zip.finish()?;
    Ok(())
}

fn report_sizes(extension: &Path, zip_path: &Path) -> anyhow::Result<()> {
    let archive = fs::File::open(zip_path)?;
    let mut archive = zip::ZipArchive::new(archive)?;
    for name in [
        format!("pkg/{PKG_STEM}_bg.wasm"),
        format!("pkg/{PKG_STEM}.js"),
    ] {
        let entry = archive.by_name(&name)?;
        println!(
            "xtask: {name}: {} B, {} B deflated",
            entry.size(),
            entry.compressed_size()
        );
    }
    let zip_size = fs::metadata(zip_path)?.len();
    println!(
        "xtask: {} files in the extension, zip {zip_size} B",
        files_under(extension)?.len()
    );
    Ok(())
}

/// Relative paths of every file under `dir`, sorted.
fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let entries = fs::read_dir(dir.join(&relative))
            .with_context(|| format!("listing {}", dir.join(&relative).display()))?;
        for entry in entries {
            let entry = entry?;
            let path = relative.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn slash_path(relative: &Path) -> String {
    relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    for relative in files_under(from)? {
        copy_file(&from.join(&relative), &to.join(&relative))?;
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> anyhow::Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn recreate_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("pkg")).unwrap();
        fs::write(dir.path().join("manifest.json"), "{}").unwrap();
        fs::write(dir.path().join("pkg").join("app.js"), "export {}").unwrap();
        fs::write(dir.path().join("content.js"), "void 0;").unwrap();
        dir
    }

    #[test]
    fn zip_is_byte_identical_across_runs_and_files_sit_at_its_root() {
        let dir = sample_dir();
        let out = tempfile::tempdir().unwrap();
        let first = out.path().join("first.zip");
        let second = out.path().join("second.zip");
        write_zip(dir.path(), &first).unwrap();
        // A later modification time must not change the archive.
        fs::write(dir.path().join("content.js"), "void 0;").unwrap();
        write_zip(dir.path(), &second).unwrap();
        assert_eq!(fs::read(&first).unwrap(), fs::read(&second).unwrap());

        let mut archive = zip::ZipArchive::new(fs::File::open(&first).unwrap()).unwrap();
        let names: Vec<String> = (0..archive.len())
            .map(|index| {
                archive
                    .by_index(index)
                    .unwrap()
                    .name()
                    .unwrap()
                    .into_owned()
            })
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(sorted, ["content.js", "manifest.json", "pkg/app.js"]);
        let entry = archive.by_name("manifest.json").unwrap();
        assert_eq!(entry.last_modified(), Some(zip::DateTime::DEFAULT));
    }

    #[test]
    fn manifest_gets_the_version_and_only_the_test_build_is_renamed() {
        let template = r#"{ "name": "Kudu Doctor", "version": "0.0.0" }"#;
        let shipped = render_manifest(template, "1.2.3", ExtensionBuild::Shipped).unwrap();
        assert_eq!(shipped, r#"{ "name": "Kudu Doctor", "version": "1.2.3" }"#);
        let test = render_manifest(template, "1.2.3", ExtensionBuild::E2eTest).unwrap();
        assert_eq!(
            test,
            r#"{ "name": "Kudu Doctor (e2e test build)", "version": "1.2.3" }"#
        );
        assert!(
            render_manifest(r#"{ "version": "1" }"#, "1.2.3", ExtensionBuild::Shipped).is_err()
        );
    }

    #[test]
    fn only_the_test_build_opens_the_shadow_root() {
        assert!(loader_config(ExtensionBuild::Shipped).contains(r#"shadowMode: "closed""#));
        assert!(!loader_config(ExtensionBuild::Shipped).contains(r#"shadowMode: "open""#));
        assert!(loader_config(ExtensionBuild::E2eTest).contains(r#"shadowMode: "open""#));
    }

    #[test]
    fn every_pkg_file_must_be_web_accessible() {
        let dir = sample_dir();
        let listed = r#"{ "web_accessible_resources": [ { "resources": ["pkg/app.js"] } ] }"#;
        check_web_accessible_resources(listed, dir.path()).unwrap();
        fs::write(dir.path().join("pkg").join("snippet.js"), "").unwrap();
        let error = check_web_accessible_resources(listed, dir.path()).unwrap_err();
        assert!(error.to_string().contains("pkg/snippet.js"), "{error}");
        let missing = r#"{ "web_accessible_resources": [ { "resources": ["pkg/gone.js"] } ] }"#;
        assert!(check_web_accessible_resources(missing, dir.path()).is_err());
    }
}
