//! Least-privilege and supply-chain tests (run by `cargo test -p xtask`): what the product may
//! talk to, what it may keep, what a page script may reach, and which licences its dependencies
//! carry. Each failure names the file and says what to change.
//!
//! The checks read source text, so they see code and string literals but not comments (a line
//! opening with `//`, `*` or `/*` is skipped) nor Rust `#[cfg(test)]` modules at a file's end.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

/// Product source: the app (`src/`), the extension and the standalone page.
const PRODUCT_DIRS: [&str; 3] = ["src", "extension", "static"];

/// A source file as `(path relative to the root, code lines with their 1-based numbers)`.
struct Source {
    path: String,
    lines: Vec<(usize, String)>,
}

impl Source {
    fn is_rust(&self) -> bool {
        self.path.ends_with(".rs")
    }

    fn is_js(&self) -> bool {
        self.path.ends_with(".js")
    }

    /// Lines holding `needle`, as `path:line: text`.
    fn hits(&self, needle: &str) -> Vec<String> {
        self.lines
            .iter()
            .filter(|(_, line)| line.contains(needle))
            .map(|(number, line)| format!("{}:{number}: {}", self.path, line.trim()))
            .collect()
    }
}

fn sources_under(dirs: &[&str]) -> Vec<Source> {
    let root = root();
    let mut files = Vec::new();
    let mut pending: Vec<PathBuf> = dirs.iter().map(|dir| root.join(dir)).collect();
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| {
                ["rs", "js", "html", "json", "css"]
                    .iter()
                    .any(|e| ext == *e)
            }) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).unwrap();
            let relative = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let is_rust = relative.ends_with(".rs");
            let mut lines = Vec::new();
            for (index, line) in text.lines().enumerate() {
                let trimmed = line.trim_start();
                if is_rust && trimmed.starts_with("#[cfg(test)]") {
                    break;
                }
                if trimmed.starts_with("//")
                    || trimmed.starts_with("/*")
                    || trimmed.starts_with('*')
                {
                    continue;
                }
                lines.push((index + 1, line.to_owned()));
            }
            Source {
                path: relative,
                lines,
            }
        })
        .collect()
}

fn fail_if_any(found: Vec<String>, what_to_do: &str) {
    assert!(found.is_empty(), "{what_to_do}\n{}", found.join("\n"));
}

/// Absolute URLs product code may hold, and why each is not a request.
const ALLOWED_URL_PREFIXES: [(&str, &str); 2] = [
    (
        "https://portal.azure.com/",
        "the portal deep link, only ever an <a href> the user follows",
    ),
    (
        "https://myapp.scm.azurewebsites.net",
        "an example SCM address in text shown to the user",
    ),
];

/// Nothing in the product sends a request to another origin: `kudu_http.rs` sends every
/// request, to relative `/api/...` URLs or the SCM origin; JavaScript sends none at all.
#[test]
fn product_code_requests_nothing_from_another_origin() {
    let sources = sources_under(&PRODUCT_DIRS);
    let mut found = Vec::new();
    for source in &sources {
        for (number, line) in &source.lines {
            for scheme in ["http://", "https://", "wss://", "ws://"] {
                for (at, _) in line.match_indices(scheme) {
                    let url = &line[at..];
                    if source.path.ends_with("manifest.json")
                        || ALLOWED_URL_PREFIXES
                            .iter()
                            .any(|(prefix, _)| url.starts_with(prefix))
                    {
                        continue;
                    }
                    found.push(format!("{}:{number}: {}", source.path, line.trim()));
                }
            }
        }
    }
    fail_if_any(
        found,
        "Product code holds an absolute URL. Requests go only to the SCM site the app runs on: \
         build them from a relative /api/ path with kudu_http::url_for. If this URL is a link \
         the user follows (never fetched), add its prefix to ALLOWED_URL_PREFIXES with the reason:",
    );
}

/// The one request JavaScript sends: the loader starts the first round of reads while the
/// wasm loads (issue 6). Allowed only as this exact line in `extension/content.js`, where
/// `path` is a relative `/api/` path from kudu-core's read list (`first_reads_script`, checked
/// in kudu-core) and is checked again just before; same origin, `GET`, the same credentials
/// and redirect mode as `src/kudu_http.rs`, and the app still decides what every reply means.
const LOADER_FIRST_ROUND: (&str, &str, &str) = (
    "extension/content.js",
    "const response = await fetch(path, {",
    "if (!path.startsWith(\"/api/\") || path.includes(\"//\")) continue;",
);

#[test]
fn only_kudu_http_sends_requests() {
    let sources = sources_under(&PRODUCT_DIRS);
    let mut found = Vec::new();
    for source in &sources {
        let network_apis: &[&str] = if source.is_rust() {
            &[
                "fetch_with",
                "RequestInit",
                "XmlHttpRequest",
                "send_beacon",
                "WebSocket",
                "EventSource",
                "reqwest",
            ]
        } else {
            &[
                "fetch(",
                "XMLHttpRequest",
                "sendBeacon",
                "WebSocket",
                "EventSource",
                "importScripts",
            ]
        };
        if source.path == "src/kudu_http.rs" {
            continue;
        }
        let (loader, loader_fetch, loader_guard) = LOADER_FIRST_ROUND;
        for api in network_apis {
            // Chrome's service worker loads the SCM allow-list, the extension's own file.
            let hits = source.lines.iter().filter(|(_, line)| {
                line.contains(api)
                    && !(source.path == "extension/background.js"
                        && line.trim() == r#"importScripts("scm-host.js");"#)
            });
            for (number, line) in hits {
                let early_first_round = source.path == loader
                    && line.trim() == loader_fetch
                    && source.lines.iter().any(|(_, l)| l.trim() == loader_guard);
                if !early_first_round {
                    found.push(format!("{}:{number}: {}", source.path, line.trim()));
                }
            }
        }
        if source.is_js() {
            // Dynamic imports load only the extension's own files.
            for (number, line) in &source.lines {
                for (at, _) in line.match_indices("import(") {
                    if !line[at..].starts_with("import(chrome.runtime.getURL(") {
                        found.push(format!("{}:{number}: {}", source.path, line.trim()));
                    }
                }
                if let Some(at) = line.find(" from \"")
                    && !line[at..].starts_with(" from \"./")
                {
                    found.push(format!("{}:{number}: {}", source.path, line.trim()));
                }
            }
        }
    }
    fail_if_any(
        found,
        "Only src/kudu_http.rs may send requests (it sends kudu-core's reads to the SCM site, \
         with a timeout). Move this request there, or remove it; JavaScript imports only the \
         extension's own files (chrome.runtime.getURL or ./ paths):",
    );
}

/// The web-sys features the app enables, from the root Cargo.toml.
fn web_sys_features() -> Vec<String> {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let start = manifest
        .find("web-sys = { workspace = true, features = [")
        .expect("the root package enables web-sys features");
    let list = &manifest[start..];
    let end = list.find(']').expect("the feature list closes");
    list[..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Browser APIs behind web-sys features the app must never enable, and what each would allow.
const FORBIDDEN_WEB_SYS_FEATURES: [(&str, &str); 12] = [
    ("XmlHttpRequest", "requests that bypass kudu_http"),
    ("WebSocket", "a connection to any origin"),
    ("EventSource", "a connection to any origin"),
    (
        "Storage",
        "localStorage/sessionStorage: session data kept on disk",
    ),
    ("IdbFactory", "indexedDB: session data kept on disk"),
    ("CacheStorage", "the Cache API: replies kept on disk"),
    ("CookieStore", "reading or writing cookies"),
    ("HtmlDocument", "document.cookie"),
    ("MessageEvent", "a message listener a page script can reach"),
    ("BroadcastChannel", "messages to other pages"),
    ("Worker", "code running outside the app"),
    ("ServiceWorkerContainer", "a service worker"),
];

#[test]
fn the_app_enables_no_web_api_that_could_leak() {
    let features = web_sys_features();
    assert!(
        features.iter().any(|f| f == "RequestInit"),
        "feature list not read: {features:?}"
    );
    let found: Vec<String> = FORBIDDEN_WEB_SYS_FEATURES
        .iter()
        .filter(|(feature, _)| features.iter().any(|f| f == feature))
        .map(|(feature, why)| format!("web-sys feature {feature}: {why}"))
        .collect();
    fail_if_any(
        found,
        "The root Cargo.toml enables a web-sys feature the app must not use; remove it from the \
         web-sys features list:",
    );
}

/// `/api/settings` lists every app setting, secrets included: the product reads one key at a
/// time and never the whole list.
#[test]
fn nothing_reads_the_whole_app_settings() {
    let is_whole = |path: &str| {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        path.trim_end_matches('/') == "/api/settings"
    };
    for cache_bust in [0, 1, u64::MAX] {
        for read in kudu_core::reads::diagnosis_reads(cache_bust) {
            assert!(
                !is_whole(&read.path),
                "kudu-core's diagnosis_reads asks for {}: read settings one key at a time \
                 (SETTINGS_READ), never the whole list",
                read.path
            );
            if read.path.starts_with("/api/settings") {
                let key = &read.path["/api/settings/".len()..];
                assert!(
                    !key.is_empty() && !key.contains(['/', '?', '#', '%']),
                    "settings read {} names no single key",
                    read.path
                );
            }
        }
    }
    assert!(is_whole("/api/settings?x=1") && is_whole("/api/settings/"));

    let mut found = Vec::new();
    for source in sources_under(&[
        "src",
        "extension",
        "static",
        "crates/kudu-core/src",
        "crates/cli/src",
    ]) {
        for (number, line) in &source.lines {
            for (at, _) in line.match_indices("/api/settings") {
                let rest = &line[at + "/api/settings".len()..];
                let names_a_key = rest
                    .strip_prefix('/')
                    .and_then(|key| key.chars().next())
                    .is_some_and(|c| c == '{' || c == '<' || c.is_ascii_alphanumeric() || c == '_');
                if !names_a_key {
                    found.push(format!("{}:{number}: {}", source.path, line.trim()));
                }
            }
        }
    }
    fail_if_any(
        found,
        "A source requests the whole /api/settings, which holds the app's secrets. Read one \
         setting at a time: /api/settings/<KEY>:",
    );
}

/// Nothing the product learns is kept: no browser storage, no cookies of its own. The one
/// exception is not site data: the one-time tokens that open doctor.html, kept in memory-only
/// `storage.session` by `extension/background.js` and spent by `extension/doctor.js`.
#[test]
fn no_session_data_is_stored() {
    const TOKEN_KEEPERS: [&str; 2] = ["extension/background.js", "extension/doctor.js"];
    let mut found = Vec::new();
    for source in sources_under(&PRODUCT_DIRS) {
        if !source.is_rust() {
            // Any browser storage area but `session`, and `session` only where tokens live.
            let keeps_tokens = TOKEN_KEEPERS.iter().any(|path| source.path.ends_with(path));
            found.extend(source.hits(".storage").into_iter().filter(|hit| {
                !(keeps_tokens
                    && hit.contains(".storage.session")
                    && !hit.contains("storage.local"))
            }));
        }
        let stores: &[&str] = if source.is_rust() {
            &[
                "local_storage",
                "session_storage",
                "indexed_db",
                "set_cookie",
                ".cookie(",
                "caches(",
            ]
        } else {
            &[
                "chrome.storage",
                "browser.storage",
                "localStorage",
                "sessionStorage",
                "indexedDB",
                "document.cookie",
                "caches.open",
            ]
        };
        for store in stores {
            found.extend(source.hits(store));
        }
    }
    let manifest = fs::read_to_string(root().join("extension/manifest.json")).unwrap();
    if manifest.contains("\"cookies\"") {
        found.push("extension/manifest.json: asks for cookies".to_owned());
    }
    fail_if_any(
        found,
        "Kudu Doctor never stores session data (listings, replies, cookies). Keep it in memory \
         for the page's lifetime and remove this:",
    );
}

/// Locale catalogs (`extension/_locales/*/messages.json`) hold only translated strings: each
/// entry is an object of `message` and `description` strings, nothing else, so the exemption
/// above cannot hide anything.
#[test]
fn locale_catalogs_hold_only_strings() {
    let locales = root().join("extension/_locales");
    let mut catalogs = 0;
    for locale in fs::read_dir(&locales).unwrap() {
        let path = locale.unwrap().path().join("messages.json");
        let catalog: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        for (key, entry) in catalog.as_object().unwrap() {
            let entry = entry.as_object().unwrap();
            assert!(
                entry
                    .keys()
                    .all(|field| field == "message" || field == "description")
                    && entry.values().all(Value::is_string)
                    && entry.contains_key("message"),
                "{}: {key} must be {{\"message\": string, \"description\": string}}",
                path.display()
            );
        }
        catalogs += 1;
    }
    assert!(catalogs > 0);
}

/// A script on the SCM page cannot talk to the extension: no message listeners, no ports, no
/// externally connectable pages. The one listener is background.js's `runtime.onMessage`
/// (issue 16: it opens doctor.html): without `externally_connectable` only the extension's
/// own scripts reach it, and it takes the site from the sender's tab, never from the message.
#[test]
fn no_message_listener_a_page_script_can_reach() {
    let background = fs::read_to_string(root().join("extension/background.js")).unwrap();
    assert!(
        background.contains("sender.id !== extension.runtime.id")
            && background.contains("scmOrigin(new URL(sender.url).origin)")
            && background.contains("sender.frameId !== 0"),
        "background.js must check the sender and take the site from the sender's URL"
    );
    let mut found = Vec::new();
    for source in sources_under(&PRODUCT_DIRS) {
        let the_one_listener = |hit: &String| {
            source.path == "extension/background.js"
                && hit.ends_with(
                    "extension.runtime.onMessage.addListener((message, sender, sendResponse) => {",
                )
        };
        let listeners: &[&str] = if source.is_rust() {
            &[
                "MessageEvent",
                "post_message",
                "set_onmessage",
                "\"message\"",
            ]
        } else {
            &[
                "onMessage",
                "onMessageExternal",
                "onConnect",
                "onConnectExternal",
                "externally_connectable",
                "postMessage",
                "onmessage",
                "\"message\"",
                "'message'",
            ]
        };
        // A locale catalog's entries are `{"message": …}` by format: data, not a listener
        // (the locale test below keeps these files plain catalogs).
        let is_locale_catalog = source.path.starts_with("extension/_locales/")
            && source.path.ends_with("/messages.json");
        for listener in listeners {
            if is_locale_catalog && *listener == "\"message\"" {
                continue;
            }
            found.extend(
                source
                    .hits(listener)
                    .into_iter()
                    .filter(|hit| !the_one_listener(hit)),
            );
        }
    }
    fail_if_any(
        found,
        "The extension must have no message listener or port a page script can reach (kudu-facts: \
         the SCM page is not trusted). Remove this; pass data through the mount() call instead:",
    );
}

/// The names the extension's own content scripts share in their isolated world (Chrome runs
/// content scripts in a world of their own: a page script sees none of these; the e2e test
/// `shipped_build_is_closed_to_page_scripts` checks it in Chromium).
const ISOLATED_WORLD_GLOBALS: [&str; 3] = [
    "kuduDoctorScmHost",
    "kuduDoctorLoaderConfig",
    "kuduDoctorInstance",
];

/// Nothing is exported on the page's `window`: no `window.x =`, globals only in the content
/// scripts' isolated world and only the known ones, and no `<script>` put into the page (that
/// would run in the page's world).
#[test]
fn nothing_is_exported_on_the_page_window() {
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(root().join("extension/manifest.json")).unwrap())
            .unwrap();
    let content_scripts: Vec<String> = manifest["content_scripts"]
        .as_array()
        .into_iter()
        .flatten()
        .inspect(|script| {
            assert!(
                script.get("world").is_none_or(|world| world == "ISOLATED"),
                "extension/manifest.json runs a content script in the page's MAIN world; remove \
                 \"world\" so it stays isolated"
            );
        })
        .flat_map(|script| script["js"].as_array().cloned().unwrap_or_default())
        .filter_map(|js| js.as_str().map(|js| format!("extension/{js}")))
        .collect();
    assert!(
        content_scripts
            .iter()
            .any(|js| js == "extension/content.js")
    );

    let mut found = Vec::new();
    for source in sources_under(&["extension", "static"]) {
        if !source.is_js() && !source.path.ends_with(".html") {
            continue;
        }
        for (number, line) in &source.lines {
            let at = format!("{}:{number}: {}", source.path, line.trim());
            let code = line.replace(' ', "");
            if code.contains("window[") || assigns(&code, "window.") {
                found.push(format!("{at}  (assigns to window)"));
            }
            if code.contains("createElement(\"script\")")
                || code.contains("createElement('script')")
            {
                found.push(format!("{at}  (puts a script into the page's world)"));
            }
            for (offset, _) in code.match_indices("globalThis.") {
                let name: String = code[offset + "globalThis.".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
                    .collect();
                let written = assigns(&code[offset..], "globalThis.")
                    || code.starts_with(&format!("delete globalThis.{name}"))
                    || code.contains(&format!("deleteglobalThis.{name}"));
                if !written {
                    continue;
                }
                let isolated = content_scripts.contains(&source.path);
                if !isolated || !ISOLATED_WORLD_GLOBALS.contains(&name.as_str()) {
                    found.push(format!("{at}  (global {name})"));
                }
            }
        }
    }
    fail_if_any(
        found,
        "Extension and page scripts export nothing on window. Keep state in a closure; a content \
         script may share only ISOLATED_WORLD_GLOBALS, which live in its isolated world:",
    );
}

/// Whether `code` (spaces removed) assigns to a property reached through `object`
/// (`window.x=1`, `globalThis.y??=z`), not merely compares or reads it.
fn assigns(code: &str, object: &str) -> bool {
    code.match_indices(object).any(|(at, _)| {
        let after = &code[at + object.len()..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.'))
            .unwrap_or(after.len());
        let rest = &after[name_len..];
        (rest.starts_with('=') && !rest.starts_with("=="))
            || ["??=", "||=", "&&=", "+="]
                .iter()
                .any(|op| rest.starts_with(op))
    })
}

#[test]
fn assigns_tells_writes_from_reads() {
    assert!(assigns("window.kudu=1;", "window."));
    assert!(assigns("globalThis.a.b??=x", "globalThis."));
    assert!(!assigns("if(window.top!==window)return;", "window."));
    assert!(!assigns(
        "constx=globalThis.kuduDoctorScmHost;",
        "globalThis."
    ));
    assert!(!assigns("window.open(url)", "window."));
}

/// No telemetry: no analytics or crash-report endpoints or SDKs in the product or its
/// dependency tree.
#[test]
fn no_telemetry() {
    const TELEMETRY: [&str; 10] = [
        "applicationinsights",
        "dc.services.visualstudio.com",
        "instrumentationkey",
        "google-analytics",
        "googletagmanager",
        "gtag(",
        "sentry",
        "mixpanel",
        "segment.io",
        "posthog",
    ];
    let mut found = Vec::new();
    for source in sources_under(&PRODUCT_DIRS) {
        for (number, line) in &source.lines {
            let lower = line.to_ascii_lowercase();
            if TELEMETRY.iter().any(|t| lower.contains(t)) {
                found.push(format!("{}:{number}: {}", source.path, line.trim()));
            }
        }
    }
    let lock = fs::read_to_string(root().join("Cargo.lock")).unwrap();
    for line in lock.lines().filter(|line| line.starts_with("name = ")) {
        let name = line.trim_start_matches("name = ").trim_matches('"');
        if [
            "sentry",
            "opentelemetry",
            "posthog",
            "segment",
            "appinsights",
            "mixpanel",
        ]
        .iter()
        .any(|t| name.starts_with(t))
        {
            found.push(format!("Cargo.lock: {name}"));
        }
    }
    fail_if_any(
        found,
        "Kudu Doctor keeps no telemetry and reports to no one. Remove this endpoint or dependency:",
    );
}

/// The manifest asks for nothing beyond SCM hosts and runs no remote code: no `<all_urls>`, no
/// `tabs`, and an extension-page CSP whose every source is local.
#[test]
fn manifest_allows_no_remote_code_and_no_broad_access() {
    let text = fs::read_to_string(root().join("extension/manifest.json")).unwrap();
    let manifest: Value = serde_json::from_str(&text).unwrap();
    assert!(
        !text.contains("<all_urls>"),
        "extension/manifest.json holds <all_urls>: list the SCM host forms instead"
    );
    for key in ["permissions", "optional_permissions"] {
        let asked: Vec<&str> = manifest[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            !asked.contains(&"tabs") && !asked.contains(&"scripting"),
            "extension/manifest.json {key} asks for {asked:?}: the extension needs no API \
             permission; remove it"
        );
    }
    let csp = &manifest["content_security_policy"];
    assert!(
        csp.as_object()
            .is_some_and(|csp| csp.keys().all(|k| k == "extension_pages")),
        "extension/manifest.json content_security_policy has more than extension_pages: {csp}"
    );
    let policy = csp["extension_pages"].as_str().unwrap_or_default();
    for directive in policy.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        for source in directive.split_whitespace().skip(1) {
            assert!(
                ["'self'", "'wasm-unsafe-eval'", "'none'"].contains(&source),
                "extension/manifest.json CSP `{directive}` allows {source}: extension pages load \
                 only the extension's own code ('self', 'wasm-unsafe-eval')"
            );
        }
    }
    for source in sources_under(&["extension", "static"]) {
        if !source.path.ends_with(".html") {
            continue;
        }
        for (number, line) in &source.lines {
            let lower = line.to_ascii_lowercase().replace(' ', "");
            if lower.contains("<script")
                && (lower.contains("src=\"http") || lower.contains("src=\"//"))
            {
                panic!(
                    "{}:{number} loads a remote script; ship it in the extension instead",
                    source.path
                );
            }
        }
    }
}

/// Licences acceptable in the shipped tree: permissive ones, and MPL-2.0 (file-level copyleft,
/// used unmodified).
const ALLOWED_LICENSES: [&str; 16] = [
    "MIT",
    "MIT-0",
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "MPL-2.0",
    "CC0-1.0",
    "BSL-1.0",
    "0BSD",
    "CDLA-Permissive-2.0",
    "Unlicense",
];

/// Whether an SPDX expression is satisfiable with allowed licences: an `OR` needs one allowed
/// side, an `AND` needs both. Parentheses group; `WITH` exceptions stay with their licence.
fn license_allowed(expression: &str) -> bool {
    let spaced = expression
        .replace('(', " ( ")
        .replace(')', " ) ")
        .replace('/', " OR ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut position = 0;
    let allowed = or_expression(&tokens, &mut position);
    allowed == Some(true) && position == tokens.len()
}

fn or_expression(tokens: &[&str], position: &mut usize) -> Option<bool> {
    let mut value = and_expression(tokens, position)?;
    while tokens.get(*position) == Some(&"OR") {
        *position += 1;
        value |= and_expression(tokens, position)?;
    }
    Some(value)
}

fn and_expression(tokens: &[&str], position: &mut usize) -> Option<bool> {
    let mut value = license_term(tokens, position)?;
    while tokens.get(*position) == Some(&"AND") {
        *position += 1;
        value &= license_term(tokens, position)?;
    }
    Some(value)
}

fn license_term(tokens: &[&str], position: &mut usize) -> Option<bool> {
    let token = *tokens.get(*position)?;
    *position += 1;
    if token == "(" {
        let value = or_expression(tokens, position)?;
        (tokens.get(*position) == Some(&")")).then_some(())?;
        *position += 1;
        return Some(value);
    }
    let mut name = token.to_owned();
    if tokens.get(*position) == Some(&"WITH") {
        name = format!("{name} WITH {}", tokens.get(*position + 1)?);
        *position += 2;
    }
    Some(ALLOWED_LICENSES.contains(&name.as_str()) || ALLOWED_LICENSES.contains(&token))
}

#[test]
fn license_expressions_are_evaluated() {
    assert!(license_allowed("MIT OR Apache-2.0"));
    assert!(license_allowed("(MIT OR Apache-2.0) AND Unicode-3.0"));
    assert!(license_allowed(
        "Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT"
    ));
    assert!(license_allowed("MIT/Apache-2.0"));
    assert!(!license_allowed("GPL-3.0-only"));
    assert!(!license_allowed("MIT AND GPL-2.0"));
    assert!(license_allowed("GPL-2.0 OR MIT"));
    assert!(!license_allowed("(MIT"));
    assert!(!license_allowed(""));
}

/// Every package name in Cargo.lock: the graph of every platform, as resolved.
fn locked_package_names() -> std::collections::BTreeSet<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).expect("reading Cargo.lock");
    let names: std::collections::BTreeSet<String> = lock
        .lines()
        .filter_map(|line| line.strip_prefix("name = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .map(str::to_owned)
        .collect();
    // Crates only other platforms build: if these ever vanish from the lock, the comparison
    // above proves nothing about other platforms.
    assert!(
        names.iter().any(|name| name.starts_with("windows")),
        "Cargo.lock lists no Windows-only crate; read it again"
    );
    names
}

/// The offline stand-in for `cargo deny check licenses` (its advisory database is fetched
/// from GitHub, which this build cannot reach): every package in the resolved dependency
/// graph declares a licence expression satisfiable from [`ALLOWED_LICENSES`].
///
/// The graph is every platform's and every dependency kind's (no `--filter-platform`), so it
/// needs crates this machine never builds; `cargo xtask test` fetches them first.
#[test]
fn every_dependency_has_an_allowed_license() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(root())
        .output()
        .expect("running cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed (run `cargo fetch --locked` first; `cargo xtask test` does): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().expect("packages");
    let listed: std::collections::BTreeSet<&str> = packages
        .iter()
        .filter_map(|package| package["name"].as_str())
        .collect();
    let locked = locked_package_names();
    let unlisted: Vec<String> = locked
        .iter()
        .filter(|name| !listed.contains(name.as_str()))
        .cloned()
        .collect();
    fail_if_any(
        unlisted,
        "The licence check must cover every package of Cargo.lock, every platform's included, \
         but cargo metadata left these out:",
    );
    let offenders: Vec<String> = packages
        .iter()
        .filter(|package| !package["license"].as_str().is_some_and(license_allowed))
        .map(|package| {
            format!(
                "{} {}: license {}",
                package["name"].as_str().unwrap_or("?"),
                package["version"].as_str().unwrap_or("?"),
                package["license"]
                    .as_str()
                    .map_or("missing (license-file only?)".to_owned(), |l| format!(
                        "`{l}`"
                    )),
            )
        })
        .collect();
    fail_if_any(
        offenders,
        "These dependencies carry a licence outside ALLOWED_LICENSES: replace the dependency, \
         or, after reading the licence, add it to ALLOWED_LICENSES with a reason:",
    );
}
