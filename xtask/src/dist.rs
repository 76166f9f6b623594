//! `cargo xtask dist`: the release wasm, its JS glue (wasm-bindgen in process, so the glue
//! always matches the pinned `wasm-bindgen` in the lockfile), and the shipped outputs:
//!
//! - `<target>/dist/extension/`: the unpacked Manifest V3 extension for Chrome and Edge;
//! - `<target>/dist/extension-firefox/`: the same for Firefox (its manifest differs, see
//!   `manifest.rs`);
//! - `<target>/dist/kudu-doctor-{chrome,firefox}-<version>.zip`: those two, store-ready and
//!   reproducible, versioned from `Cargo.toml`;
//! - `<target>/dist/web/`: the standalone page.
//!
//! Also `<target>/dist/extension-test/` and `<target>/dist/extension-firefox-test/`, the builds
//! the e2e tests load: identical but for their name and an open shadow root, so WebDriver can
//! look inside it.
//!
//! Sources (`extension/` but its `store/` texts, `static/`) are only read.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::manifest::{self, Browser};
use crate::project::{Project, run_checked};

/// The glue and wasm file stem wasm-bindgen derives from the crate name.
const PKG_STEM: &str = "kudu_doctor";
/// Entries of `extension/` that are sources for dist, not files of the package: the manifest
/// source (rendered per browser) and the store listing texts.
const NOT_PACKAGED: [&str; 2] = ["manifest.json", "store"];

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
    let version = env!("CARGO_PKG_VERSION");
    // A zip from before the per-browser names would read as current.
    let old_zip = dist.join("kudu-doctor-extension.zip");
    if old_zip.exists() {
        fs::remove_file(&old_zip).with_context(|| format!("removing {}", old_zip.display()))?;
    }
    let mut packaged = Vec::new();
    for browser in Browser::ALL {
        for build in [ExtensionBuild::Shipped, ExtensionBuild::E2eTest] {
            let out = dist.join(extension_dir_name(browser, build));
            write_extension(project, &pkg, &out, browser, build)?;
            println!(
                "xtask: {:<22} {}",
                format!("{} {build:?}", browser.slug()),
                out.display()
            );
        }
        let extension = dist.join(extension_dir_name(browser, ExtensionBuild::Shipped));
        let zip_path = dist.join(zip_name(browser, version));
        write_zip(&extension, &zip_path)?;
        packaged.push((extension, zip_path));
    }
    let web = dist.join("web");
    write_web(project, &pkg, &web)?;

    for (extension, zip_path) in &packaged {
        report_sizes(extension, zip_path)?;
        println!("xtask: store zip      {}", zip_path.display());
    }
    println!("xtask: standalone     {}", web.display());
    Ok(())
}

/// The directory under `<target>/dist` of one extension build. Chrome's keep the names they had
/// before Firefox was packaged (`extension`, `extension-test`), which the demo, the bench and
/// the e2e tests use.
pub fn extension_dir_name(browser: Browser, build: ExtensionBuild) -> &'static str {
    match (browser, build) {
        (Browser::Chrome, ExtensionBuild::Shipped) => "extension",
        (Browser::Chrome, ExtensionBuild::E2eTest) => "extension-test",
        (Browser::Firefox, ExtensionBuild::Shipped) => "extension-firefox",
        (Browser::Firefox, ExtensionBuild::E2eTest) => "extension-firefox-test",
    }
}

/// The store zip's file name, e.g. `kudu-doctor-firefox-0.1.0.zip`.
pub fn zip_name(browser: Browser, version: &str) -> String {
    format!("kudu-doctor-{}-{version}.zip", browser.slug())
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
    browser: Browser,
    build: ExtensionBuild,
) -> anyhow::Result<()> {
    let source = project.root.join("extension");
    recreate_dir(out)?;
    for relative in files_under(&source)? {
        if relative
            .components()
            .next()
            .is_some_and(|first| NOT_PACKAGED.iter().any(|skip| first.as_os_str() == *skip))
        {
            continue;
        }
        copy_file(&source.join(&relative), &out.join(&relative))?;
    }
    copy_file(
        &project.root.join("static").join("page.css"),
        &out.join("page.css"),
    )?;
    copy_tree(pkg, &out.join("pkg"))?;
    // The first-round reads the loader starts before the wasm loads: kudu-core's own list.
    let loader_script = loader_config(build) + &kudu_core::reads::first_reads_script();
    write_file(&out.join("loader-config.js"), &loader_script)?;

    let template = fs::read_to_string(source.join("manifest.json"))
        .context("reading extension/manifest.json")?;
    let manifest = manifest::render(
        &template,
        env!("CARGO_PKG_VERSION"),
        browser,
        build == ExtensionBuild::E2eTest,
    )?;
    check_web_accessible_resources(&manifest, out)?;
    check_icons(&manifest, out)?;
    write_file(&out.join("manifest.json"), &manifest)
}

/// Every icon the manifest names is in the package, a PNG of the size it is listed under.
fn check_icons(manifest: &str, out: &Path) -> anyhow::Result<()> {
    let manifest: serde_json::Value = serde_json::from_str(manifest)?;
    let Some(icons) = manifest["icons"].as_object() else {
        bail!("extension/manifest.json lists no icons");
    };
    for (size, path) in icons {
        let path = path.as_str().context("an icon path is not a string")?;
        let bytes = fs::read(out.join(path)).with_context(|| format!("reading icon {path}"))?;
        let size: u32 = size.parse().with_context(|| format!("icon size {size}"))?;
        // IHDR is always the first chunk: width and height at bytes 16..24.
        let is_png_of_size = bytes.len() > 24
            && bytes.starts_with(b"\x89PNG\r\n\x1a\n")
            && bytes[16..20] == size.to_be_bytes()
            && bytes[20..24] == size.to_be_bytes();
        if !is_png_of_size {
            bail!("icon {path} is not a {size}x{size} PNG (run `cargo xtask icons`)");
        }
    }
    Ok(())
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

    fn zip_entries(zip_path: &Path) -> Vec<String> {
        let mut archive = zip::ZipArchive::new(fs::File::open(zip_path).unwrap()).unwrap();
        (0..archive.len())
            .map(|index| {
                archive
                    .by_index(index)
                    .unwrap()
                    .name()
                    .unwrap()
                    .into_owned()
            })
            .collect()
    }

    fn zip_entry(zip_path: &Path, name: &str) -> Vec<u8> {
        let mut archive = zip::ZipArchive::new(fs::File::open(zip_path).unwrap()).unwrap();
        let mut bytes = Vec::new();
        archive
            .by_name(name)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
    }

    #[test]
    fn store_zips_hold_exactly_the_package_files_for_each_browser() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let target = tempfile::tempdir().unwrap();
        let project = Project {
            root: root.clone(),
            target: target.path().to_path_buf(),
            cargo: PathBuf::from("cargo"),
        };
        let pkg = target.path().join("pkg");
        fs::create_dir_all(&pkg).unwrap();
        fs::write(pkg.join(format!("{PKG_STEM}.js")), "export default 0;").unwrap();
        fs::write(pkg.join(format!("{PKG_STEM}_bg.wasm")), b"\0asm\x01\0\0\0").unwrap();

        // Every source file but the manifest source and the store texts, plus what dist adds.
        let mut expected: Vec<String> = files_under(&root.join("extension"))
            .unwrap()
            .iter()
            .map(|relative| slash_path(relative))
            .filter(|name| name != "manifest.json" && !name.starts_with("store/"))
            .chain(
                [
                    "manifest.json",
                    "loader-config.js",
                    "page.css",
                    "pkg/kudu_doctor.js",
                    "pkg/kudu_doctor_bg.wasm",
                ]
                .map(String::from),
            )
            .collect();
        expected.sort();
        for must in [
            "_locales/en/messages.json",
            "content.js",
            "scm-host.js",
            "doctor.html",
            "icons/icon-16.png",
            "icons/icon-32.png",
            "icons/icon-48.png",
            "icons/icon-128.png",
        ] {
            assert!(expected.iter().any(|name| name == must), "{must}");
        }

        let version = crate::manifest::tests::workspace_version();
        for browser in Browser::ALL {
            let out = target.path().join(browser.slug());
            write_extension(&project, &pkg, &out, browser, ExtensionBuild::Shipped).unwrap();
            let zip_path = target.path().join(zip_name(browser, &version));
            write_zip(&out, &zip_path).unwrap();
            assert_eq!(zip_entries(&zip_path), expected, "{browser:?}");

            let manifest: serde_json::Value =
                serde_json::from_slice(&zip_entry(&zip_path, "manifest.json")).unwrap();
            assert_eq!(manifest["version"].as_str(), Some(version.as_str()));
            assert_eq!(
                manifest.get("browser_specific_settings").is_some(),
                browser == Browser::Firefox
            );
            for size in crate::icons::SIZES {
                let png = zip_entry(&zip_path, &crate::icons::relative_path(size));
                let (width, height, _) = crate::icons::tests::decode(&png);
                assert_eq!((width, height), (size, size));
            }
            let loader = String::from_utf8(zip_entry(&zip_path, "loader-config.js")).unwrap();
            assert!(loader.contains(r#"shadowMode: "closed""#), "{browser:?}");
        }
        assert_eq!(
            zip_name(Browser::Firefox, &version),
            format!("kudu-doctor-firefox-{version}.zip")
        );
    }

    #[test]
    fn a_wrong_size_icon_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("icons")).unwrap();
        fs::write(dir.path().join("icons/a.png"), crate::icons::png(16)).unwrap();
        check_icons(r#"{ "icons": { "16": "icons/a.png" } }"#, dir.path()).unwrap();
        assert!(check_icons(r#"{ "icons": { "32": "icons/a.png" } }"#, dir.path()).is_err());
        assert!(check_icons(r#"{ "icons": { "16": "icons/gone.png" } }"#, dir.path()).is_err());
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
