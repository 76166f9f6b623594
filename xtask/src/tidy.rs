//! Convention tests (run by `cargo test -p xtask`): the rules this project promises that no
//! compiler checks. Each test names the rule it pins; a failure says which file breaks it.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

fn rust_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Dependency names declared in any dependency table of a Cargo.toml (`[dependencies]`,
/// `[dev-dependencies]`, `[target.'…'.dependencies]`, `[dependencies.name]`, …), with the table.
fn declared_dependencies(cargo_toml: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut table: Option<String> = None;
    for line in cargo_toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            let header = line.trim_matches(|c| c == '[' || c == ']').to_owned();
            if let Some((table_name, dependency)) = header.rsplit_once("dependencies.") {
                found.push((format!("{table_name}dependencies"), dependency.to_owned()));
                table = None;
            } else if header.ends_with("dependencies") {
                table = Some(header);
            } else {
                table = None;
            }
            continue;
        }
        let Some(table) = &table else { continue };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((key, _)) = line.split_once('=') {
            let name = key
                .trim()
                .trim_end_matches(".workspace")
                .trim()
                .trim_matches('"');
            found.push((table.clone(), name.to_owned()));
        }
    }
    found
}

#[test]
fn declared_dependencies_reads_every_table_form() {
    let toml = r#"
[package]
name = "x"
[dependencies]
serde.workspace = true
tokio = { version = "1" }
[target.'cfg(target_arch = "wasm32")'.dev-dependencies]
"web-sys" = "0.3"
[dependencies.yew]
version = "0.23"
"#;
    let names: Vec<String> = declared_dependencies(toml)
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    assert_eq!(names, ["serde", "tokio", "web-sys", "yew"]);
}

/// kudu-core is sans-IO: no browser, async runtime or bindgen crates, so it builds and tests
/// natively and the same logic runs in the extension and the CLI.
#[test]
fn kudu_core_has_no_web_or_async_dependencies() {
    let banned = ["web-sys", "js-sys", "yew", "tokio", "wasm-bindgen"];
    for (table, name) in declared_dependencies(&read("crates/kudu-core/Cargo.toml")) {
        if table.contains("dev-dependencies") {
            continue;
        }
        let is_banned =
            banned.iter().any(|banned| name.starts_with(banned)) || name.starts_with("gloo");
        assert!(
            !is_banned,
            "crates/kudu-core/Cargo.toml [{table}] depends on {name}"
        );
    }
}

/// kudu-core takes `now` as a parameter, so every rule about time is testable without sleeping.
#[test]
fn kudu_core_never_reads_the_clock() {
    for path in rust_files_under(&root().join("crates/kudu-core/src")) {
        let text = fs::read_to_string(&path).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for clock in ["Instant::now", "SystemTime::now"] {
                assert!(
                    !code.contains(clock),
                    "{}:{}: kudu-core reads the clock ({clock})",
                    path.display(),
                    number + 1
                );
            }
        }
    }
}

/// Where the cause files live, one per cause.
const CAUSES_DIR: &str = "crates/kudu-core/src/diagnose/causes";

/// One file per cause, opening with a `// Cause: <id>` block written for users (the README's
/// cause list is built from these blocks).
#[test]
fn every_cause_has_a_file_opening_with_its_cause_block() {
    let dir = root().join(CAUSES_DIR);
    let mut problems = Vec::new();
    for cause in kudu_core::diagnose::CauseId::ALL {
        let id = cause.as_str();
        let path = dir.join(format!("{}.rs", id.replace('-', "_")));
        let Ok(text) = fs::read_to_string(&path) else {
            problems.push(format!("{} is missing", path.display()));
            continue;
        };
        let mut lines = text.lines();
        if lines.next().map(str::trim_end) != Some(&format!("// Cause: {id}")) {
            problems.push(format!(
                "{} does not start with `// Cause: {id}`",
                path.display()
            ));
            continue;
        }
        let block: Vec<&str> = lines.take_while(|line| line.starts_with("//")).collect();
        if !block
            .iter()
            .any(|line| line.trim_start_matches('/').trim().len() > 10)
        {
            problems.push(format!(
                "{}: the `// Cause:` block has no text",
                path.display()
            ));
        }
    }
    assert!(problems.is_empty(), "cause files:\n{}", problems.join("\n"));
}

/// README's "What it finds" table is the cause blocks' own words: every cause has a row, and
/// the row's advice is the block's "What to do", so the two cannot drift apart.
#[test]
fn readme_lists_every_cause_with_its_blocks_advice() {
    let readme = read("README.md");
    let dir = root().join(CAUSES_DIR);
    let mut problems = Vec::new();
    for cause in kudu_core::diagnose::CauseId::ALL {
        let id = cause.as_str();
        let Some(row) = readme
            .lines()
            .find(|line| line.starts_with(&format!("| `{id}` |")))
        else {
            problems.push(format!("README has no row for `{id}`"));
            continue;
        };
        let text = fs::read_to_string(dir.join(format!("{}.rs", id.replace('-', "_"))))
            .unwrap_or_default();
        let block = text
            .lines()
            .take_while(|line| line.starts_with("//") && !line.starts_with("//!"))
            .map(|line| line.trim_start_matches('/').trim())
            .collect::<Vec<_>>()
            .join(" ");
        let advice = block
            .split_once("What to do: ")
            .map(|(_, advice)| advice.trim())
            .unwrap_or_default();
        if advice.is_empty() || !row.contains(advice) {
            problems.push(format!(
                "README's row for `{id}` should end with the block's advice: {advice}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The other way round: every row of the README's cause table names a cause, once, so a
/// renamed or removed cause cannot leave its row behind.
#[test]
fn readme_cause_table_rows_are_exactly_the_causes() {
    let readme = read("README.md");
    let table = readme
        .split_once("| Cause (`data-cause`) |")
        .map(|(_, rest)| rest)
        .expect("README has the cause table");
    let rows: Vec<&str> = table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with("| `"))
        .filter_map(|line| line.strip_prefix("| `")?.split_once('`').map(|(id, _)| id))
        .collect();
    let mut problems: Vec<String> = rows
        .iter()
        .filter(|id| kudu_core::CauseId::from_str_id(id).is_none())
        .map(|id| format!("README's row `{id}` names no cause"))
        .collect();
    for cause in kudu_core::diagnose::CauseId::ALL {
        let count = rows.iter().filter(|id| **id == cause.as_str()).count();
        if count != 1 {
            problems.push(format!("README has {count} rows for `{}`", cause.as_str()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The other causes a cause file's code names, with the line (1-based): any path through the
/// causes module (`diagnose::causes::…`, in `use` lines or inline), and `super::<cause>` (or
/// `super::super::<cause>` from its tests, braces included). Comments are left out; `own` is
/// the file's own cause, which it may name.
fn cause_references(text: &str, causes: &[String], own: &str) -> Vec<(usize, String)> {
    let code = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    for (at, _) in code.match_indices("diagnose::causes") {
        found.push((line_of(at), "diagnose::causes".to_string()));
    }
    let mut from = 0;
    while let Some(at) = code[from..].find("super::") {
        let start = from + at;
        from = start + "super::".len();
        if code[..start].ends_with("super::") {
            continue;
        }
        let mut rest = code[start..].trim_start();
        while let Some(after) = rest.strip_prefix("super::") {
            rest = after.trim_start();
        }
        let ident = |text: &str| -> String {
            text.trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        let names: Vec<String> = match rest.strip_prefix('{') {
            Some(group) => {
                // The names right after `{` or a `,` at the group's own depth.
                let mut names = vec![ident(group)];
                let mut depth = 0;
                for (index, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => names.push(ident(&group[index + 1..])),
                        _ => {}
                    }
                }
                names
            }
            None => vec![ident(rest)],
        };
        for name in names {
            if name != own && causes.contains(&name) {
                found.push((line_of(start), name));
            }
        }
    }
    found.sort();
    found
}

/// Causes are independent: a cause file reads the round's facts (`diagnose/facts/`) and the
/// types in `diagnose`, never another cause, and declares its `SPEC` (id, rank, claims, whether
/// it ends by itself) beside its `detect`. What two causes share belongs in the facts, so
/// adding a cause stays one file plus one registry line.
#[test]
fn cause_files_import_no_other_cause_and_declare_their_spec() {
    let dir = root().join(CAUSES_DIR);
    let causes: Vec<String> = kudu_core::diagnose::CauseId::ALL
        .iter()
        .map(|cause| cause.as_str().replace('-', "_"))
        .collect();
    let mut problems = Vec::new();
    for path in rust_files_under(&dir) {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.parent() != Some(dir.as_path()) || stem == "mod" {
            continue;
        }
        let Some(cause) = kudu_core::diagnose::CauseId::ALL
            .into_iter()
            .find(|cause| cause.as_str().replace('-', "_") == stem)
        else {
            problems.push(format!(
                "{}: not a cause's file; what causes share belongs in diagnose/facts/",
                path.display()
            ));
            continue;
        };
        let text = fs::read_to_string(&path).unwrap();
        for (line, name) in cause_references(&text, &causes, &stem) {
            problems.push(format!(
                "{}:{line}: names {name}; a cause reads only the facts and the types",
                path.display()
            ));
        }
        let spec = text
            .split_once("\npub(crate) const SPEC: CauseSpec = CauseSpec {")
            .map(|(_, rest)| rest.split_once("\n};").map_or(rest, |(spec, _)| spec));
        match spec {
            None => problems.push(format!(
                "{}: declares no `pub(crate) const SPEC: CauseSpec`",
                path.display()
            )),
            Some(spec) if !spec.contains(&format!("id: CauseId::{cause:?},")) => {
                problems.push(format!(
                    "{}: its SPEC is not `id: CauseId::{cause:?}`",
                    path.display()
                ))
            }
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "cause files:\n{}", problems.join("\n"));
}

#[test]
fn the_cause_import_check_catches_a_cause_naming_another() {
    let causes = ["stale_lock", "healthy", "windows_lock_held"].map(String::from);
    let bad = "use crate::diagnose::causes::healthy;\n\
               use super::{healthy, windows_lock_held::detect};\n\
               let f = super::super::healthy::detect(&ctx);\n\
               use super::\n    windows_lock_held;";
    assert_eq!(
        cause_references(bad, &causes, "stale_lock"),
        [
            (1, "diagnose::causes".to_string()),
            (2, "healthy".to_string()),
            (2, "windows_lock_held".to_string()),
            (3, "healthy".to_string()),
            (4, "windows_lock_held".to_string()),
        ]
    );
    let clean = "use crate::diagnose::facts::context::Context;\n\
                 use crate::diagnose::{CauseId, CauseSpec, Finding};\n\
                 // use super::healthy; in a comment\n\
                 use super::*;\n\
                 let f = super::super::stale_lock::detect(&ctx);";
    assert!(cause_references(clean, &causes, "stale_lock").is_empty());
}

/// Host patterns the extension may ask for, each an SCM host form from kudu-facts.md §6 (or
/// the only valid match pattern that covers one). Anything else fails the manifest tests.
const SCM_MATCH_PATTERNS: [&str; 4] = [
    // Classic, slot, ASE v1/v2 `.p.azurewebsites.net`, and the secure unique default host
    // name `<app>-<hash>.scm.<region>.azurewebsites.net`, which no narrower pattern can reach
    // (match patterns allow `*.` only at the start). Narrowed by include_globs and by the
    // runtime allow-list in scm-host.js.
    "https://*.azurewebsites.net/*",
    "https://*.scm.azurewebsites.us/*",
    "https://*.scm.chinacloudsites.cn/*",
    "https://*.appserviceenvironment.net/*",
];

fn manifest() -> Value {
    serde_json::from_str(&read("extension/manifest.json")).expect("extension/manifest.json is JSON")
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn assert_scm_patterns(what: &str, patterns: &[&str]) {
    assert!(!patterns.is_empty(), "{what} is empty");
    for pattern in patterns {
        assert!(
            SCM_MATCH_PATTERNS.contains(pattern),
            "{what} holds {pattern}, not an SCM host form"
        );
    }
}

/// Least privilege: host access only to SCM host forms, one API permission (`storage`, for
/// the one-time tokens of doctor.html in `storage.session`; no `tabs`), one background script
/// (background.js, which opens doctor.html), nothing for other extensions or pages to connect
/// to.
#[test]
fn manifest_asks_only_for_scm_hosts() {
    let manifest = manifest();
    assert_eq!(manifest["manifest_version"], 3);
    let text = read("extension/manifest.json");
    assert!(!text.contains("<all_urls>"), "manifest holds <all_urls>");
    assert!(!text.contains("*://"), "manifest matches any scheme");
    assert!(!text.contains("http://"), "manifest matches plain http");

    assert_eq!(strings(&manifest["permissions"]), ["storage"]);
    assert_eq!(
        manifest["background"],
        serde_json::json!({
            "service_worker": "background.js",
            "scripts": ["scm-host.js", "background.js"]
        })
    );
    for forbidden in [
        "optional_permissions",
        "optional_host_permissions",
        "externally_connectable",
        "declarative_net_request",
    ] {
        assert!(
            manifest.get(forbidden).is_none(),
            "manifest declares {forbidden}"
        );
    }
    assert_scm_patterns("host_permissions", &strings(&manifest["host_permissions"]));

    let scripts = manifest["content_scripts"]
        .as_array()
        .expect("content_scripts");
    assert!(!scripts.is_empty());
    for script in scripts {
        let matches = strings(&script["matches"]);
        assert_scm_patterns("content_scripts.matches", &matches);
        if matches.contains(&"https://*.azurewebsites.net/*") {
            // The broad pattern also covers the app's own site; the glob keeps the loader off it.
            assert_eq!(strings(&script["include_globs"]), ["https://*.scm.*"]);
        }
        assert!(script.get("all_frames").is_none_or(|all| all == false));
        assert_eq!(
            strings(&script["js"]).last(),
            Some(&"content.js"),
            "content.js runs last, after its config and the host allow-list"
        );
    }
    for entry in manifest["web_accessible_resources"]
        .as_array()
        .expect("web_accessible_resources")
    {
        assert_scm_patterns(
            "web_accessible_resources.matches",
            &strings(&entry["matches"]),
        );
        for resource in strings(&entry["resources"]) {
            assert!(
                !resource.contains('*'),
                "web-accessible resource {resource} is a wildcard"
            );
        }
    }
}

/// Extension pages may compile wasm and load only the extension's own scripts.
#[test]
fn manifest_pins_the_extension_page_csp() {
    assert_eq!(
        manifest()["content_security_policy"]["extension_pages"],
        "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'"
    );
}

/// No remote code: every script the extension and the standalone page load is a local file.
#[test]
fn pages_and_scripts_load_only_local_code() {
    for dir in ["extension", "static"] {
        for entry in fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let is_code = path
                .extension()
                .is_some_and(|ext| ext == "js" || ext == "html");
            if !is_code {
                continue;
            }
            let text = fs::read_to_string(&path).unwrap();
            for remote in [
                "src=\"http",
                "src=\"//",
                "import(\"http",
                "from \"http",
                "eval(",
                "new Function",
            ] {
                assert!(
                    !text.contains(remote),
                    "{} holds `{remote}`",
                    path.display()
                );
            }
            if path.extension().is_some_and(|ext| ext == "html") {
                // Inline scripts would need 'unsafe-inline' under the extension's CSP.
                assert!(
                    text.matches("<script").count()
                        == text.matches("<script src=").count()
                            + text.matches("<script type=\"module\" src=").count(),
                    "{} has an inline script",
                    path.display()
                );
            }
        }
    }
}

fn workspace_dependency_version(name: &str) -> String {
    let cargo_toml = read("Cargo.toml");
    let mut in_table = false;
    for line in cargo_toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_table = line == "[workspace.dependencies]";
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if !in_table || key.trim() != name {
            continue;
        }
        let value = value.trim();
        let quoted = value
            .split_once("version")
            .map_or(value, |(_, after)| after.trim_start_matches([' ', '=']))
            .trim_start_matches('"');
        return quoted.split('"').next().unwrap_or_default().to_owned();
    }
    panic!("[workspace.dependencies] has no {name}");
}

fn locked_versions(name: &str) -> Vec<String> {
    let lock = read("Cargo.lock");
    let mut versions = Vec::new();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{name}\"")
            && let Some(version) = lines
                .next()
                .and_then(|next| next.strip_prefix("version = \""))
        {
            versions.push(version.trim_end_matches('"').to_owned());
        }
    }
    versions
}

/// The wasm-bindgen family moves together: pinned exactly, and the bindgen library and test
/// runner xtask builds are the very version the app links (else the bindgen schema differs).
#[test]
fn wasm_bindgen_family_is_pinned_and_matches_the_bindgen_xtask_runs() {
    for name in [
        "wasm-bindgen",
        "wasm-bindgen-futures",
        "wasm-bindgen-test",
        "js-sys",
        "web-sys",
        "wasm-bindgen-cli-support",
        "wasm-bindgen-cli",
    ] {
        let version = workspace_dependency_version(name);
        assert!(
            version.starts_with('='),
            "{name} is `{version}`, not pinned with `=`"
        );
    }
    let app = workspace_dependency_version("wasm-bindgen");
    assert_eq!(
        workspace_dependency_version("wasm-bindgen-cli-support"),
        app
    );
    assert_eq!(workspace_dependency_version("wasm-bindgen-cli"), app);

    let xtask = read("xtask/Cargo.toml");
    for name in ["wasm-bindgen-cli-support", "wasm-bindgen-cli"] {
        assert!(
            xtask.contains(&format!("{name}.workspace = true")),
            "xtask must take {name} from [workspace.dependencies]"
        );
    }
    let locked = locked_versions("wasm-bindgen");
    assert_eq!(
        locked.len(),
        1,
        "Cargo.lock holds several wasm-bindgen versions: {locked:?}"
    );
    assert_eq!(locked_versions("wasm-bindgen-cli-support"), locked);
    assert_eq!(locked_versions("wasm-bindgen-cli"), locked);
    assert_eq!(format!("={}", locked[0]), app);
}

/// The README opens with the two commands a newcomer needs, before any section.
#[test]
fn readme_starts_with_the_two_commands() {
    let readme = read("README.md");
    let before_sections = readme.split("\n## ").next().unwrap_or_default();
    let block = before_sections
        .split("```")
        .nth(1)
        .expect("README has a code block before its first section");
    let commands: Vec<&str> = block
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .collect();
    assert_eq!(commands, ["cargo xtask demo", "cargo xtask test"]);
}

/// The same SCM allow-list guards the loader and the extension page: scm-host.js is loaded by
/// both, and the loader checks it before doing anything.
#[test]
fn loader_and_extension_page_share_the_scm_allow_list() {
    let content = read("extension/content.js");
    assert!(content.contains("isScmHost(location.hostname)"));
    let page = read("extension/doctor.html");
    let allow_list = page
        .find("<script src=\"scm-host.js\">")
        .expect("doctor.html loads scm-host.js");
    let module = page.find("doctor.js").expect("doctor.html loads doctor.js");
    assert!(
        allow_list < module,
        "scm-host.js must load before doctor.js"
    );
    assert!(read("extension/doctor.js").contains("scmOrigin("));
    let scripts = strings(&manifest()["content_scripts"][0]["js"]).join(",");
    assert_eq!(scripts, "loader-config.js,scm-host.js,content.js");
}

/// Lines of `text` (1-based) whose code, comments left out, contains one of `patterns`.
fn lines_with(text: &str, patterns: &[&str]) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.split("//").next().unwrap_or_default();
            patterns.iter().any(|pattern| code.contains(pattern))
        })
        .map(|(index, _)| index + 1)
        .collect()
}

/// Every Rust file of the workspace's crates and tests, this file left out (it names the
/// patterns it looks for).
fn workspace_rust_files(dirs: &[&str]) -> Vec<PathBuf> {
    dirs.iter()
        .map(|dir| root().join(dir))
        .filter(|dir| dir.is_dir())
        .flat_map(|dir| rust_files_under(&dir))
        .filter(|path| !path.ends_with("xtask/src/tidy.rs"))
        .filter(|path| {
            !path
                .components()
                .any(|c| c.as_os_str() == "target" || c.as_os_str() == "node_modules")
        })
        .collect()
}

/// Calendar arithmetic: Howard Hinnant's civil-date functions by name, and the constants no
/// other code has (the days from 0000-03-01 to the epoch, the days of a 400-year era).
const CIVIL_DATE_CODE: [&str; 6] = [
    "fn days_from_civil",
    "fn civil_from_days",
    "719_468",
    "719468",
    "146_097",
    "146097",
];

/// Telling a sign-in page or an HTML body from data: content-type and body sniffing, the
/// sign-in redirect's location words, and the status list of an expired session.
const SIGN_IN_SNIFFING: [&str; 11] = [
    "contains(\"html\")",
    "contains(\"text/html\")",
    "starts_with(\"text/html\")",
    "contains(\"<html\")",
    "starts_with('<')",
    "contains(\"login\")",
    "contains(\"signin\")",
    "contains(\"oauth\")",
    "0 | 401",
    "401 | 403",
    "| 401 |",
];

/// Each pattern list has one home; every other file in `dirs` that matches is a problem.
fn outside_their_home(dirs: &[&str], home: &str, patterns: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    for path in workspace_rust_files(dirs) {
        if path.ends_with(home) {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        for line in lines_with(&text, patterns) {
            problems.push(format!("{}:{line}", path.display()));
        }
    }
    problems
}

#[test]
fn the_duplicate_detectors_catch_the_copies_they_replaced() {
    // The app's old HTTP-date helper and the cleanup run's old HTML check.
    let civil = "fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {\n\
                 \x20   era * 146_097 + day_of_era - 719_468\n}";
    assert_eq!(lines_with(civil, &CIVIL_DATE_CODE), [1, 2]);
    let html = "let ct_html = ct.to_ascii_lowercase().contains(\"html\");\n\
                ct_html || head.starts_with('<')\n\
                matches!(reply.status, 0 | 401 | 403 | 300..=399)";
    assert_eq!(lines_with(html, &SIGN_IN_SNIFFING), [1, 2, 3]);
    let clean = "let days = kudu_core::time::days_from_civil(2026, 11, 26);\n\
                 // fn days_from_civil lived here\n\
                 if kudu_core::parse::is_sign_in_reply(&reply) {}";
    assert!(lines_with(clean, &CIVIL_DATE_CODE).is_empty());
    assert!(lines_with(clean, &SIGN_IN_SNIFFING).is_empty());
}

/// The civil calendar is computed in one place, `kudu_core::time`; the app, the simulator and
/// the core's own parsers call it. Copies drift: three of them once disagreed on pre-1970
/// dates and on whether February 30 exists.
#[test]
fn civil_dates_have_one_home() {
    let problems = outside_their_home(
        &["src", "crates", "xtask/src", "tests"],
        "crates/kudu-core/src/time.rs",
        &CIVIL_DATE_CODE,
    );
    assert!(
        problems.is_empty(),
        "civil-date arithmetic outside crates/kudu-core/src/time.rs (call kudu_core::time):\n{}",
        problems.join("\n")
    );
}

/// Whether a reply is a sign-in page (or any web page where data was expected) is decided in
/// one place, `kudu_core::parse::sign_in`, for the parsers, the cleanup run and the app's
/// shell: when they judged it apart, one called a reply an expired session and another a
/// network failure.
#[test]
fn sign_in_detection_has_one_home() {
    let problems = outside_their_home(
        &["src", "crates/kudu-core/src", "crates/cli/src"],
        "crates/kudu-core/src/parse/sign_in.rs",
        &SIGN_IN_SNIFFING,
    );
    assert!(
        problems.is_empty(),
        "reply sniffing outside crates/kudu-core/src/parse/sign_in.rs (call \
         kudu_core::parse::is_sign_in_reply or looks_like_html):\n{}",
        problems.join("\n")
    );
}

/// The fields of `kudu_core::Session`, read from its declaration.
fn session_fields() -> Vec<String> {
    let text = read("crates/kudu-core/src/session.rs");
    let body = text
        .split_once("pub struct Session {")
        .and_then(|(_, rest)| rest.split_once("\n}"))
        .map(|(body, _)| body)
        .expect("session.rs declares `pub struct Session {`");
    body.lines()
        .filter_map(|line| line.trim().strip_prefix("pub "))
        .filter_map(|rest| {
            rest.split_once(':')
                .map(|(name, _)| name.trim().to_string())
        })
        .collect()
}

/// Where a shell's code reaches into a `Session`'s fields: `session.<field>` or
/// `session().<field>`, not followed by `(` (a method of the same name is fine).
fn session_field_uses(text: &str, fields: &[String]) -> Vec<usize> {
    let patterns: Vec<String> = fields
        .iter()
        .flat_map(|field| [format!("session.{field}"), format!("session().{field}")])
        .collect();
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.split("//").next().unwrap_or_default();
            patterns.iter().any(|pattern| {
                code.match_indices(pattern.as_str()).any(|(at, _)| {
                    let next = code[at + pattern.len()..].chars().next();
                    !matches!(next, Some(c) if c.is_alphanumeric() || c == '_' || c == '(')
                })
            })
        })
        .map(|(index, _)| index + 1)
        .collect()
}

/// The shells (the app and the command line) drive the core's `DiagnosisRound` and read a
/// `Session` only through its methods: what was read, and how, is the core's business.
#[test]
fn shells_never_reach_into_a_sessions_fields() {
    let fields = session_fields();
    assert!(
        fields.iter().any(|f| f == "settings") && fields.len() > 10,
        "{fields:?}"
    );
    let mut problems = Vec::new();
    for path in workspace_rust_files(&["src", "crates/cli/src"]) {
        let text = fs::read_to_string(&path).unwrap();
        for line in session_field_uses(&text, &fields) {
            problems.push(format!("{}:{line}", path.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "use a Session method (or a DiagnosisRound event) instead:\n{}",
        problems.join("\n")
    );
    // The check itself: the wizard's old settings read is caught, the accessor is not.
    let fields = ["settings".to_string(), "logs".to_string()];
    let old = "let setting = |key: &str| match session.settings.get(key) {\n\
               let follow_ups = read.borrow().session.logs.len();\n\
               let name = session.setting(\"WEBSITE_SITE_NAME\");";
    assert_eq!(session_field_uses(old, &fields), [1, 2]);
}

/// The timeline's wasm test draws "every captured scenario" from a list written by hand
/// (`include_str!` needs the names); a fixture added without a line there would go undrawn.
#[test]
fn the_timeline_test_draws_every_captured_scenario() {
    let listed = read("tests/timeline.rs");
    let dir = root().join("crates/kudu-core/tests/fixtures");
    let mut missing = vec![];
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !listed.contains(&format!("tests/fixtures/{name}\"")) {
                missing.push(name);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "tests/timeline.rs's SCENARIOS lacks {missing:?}"
    );
}
