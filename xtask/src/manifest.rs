//! One manifest source, `extension/manifest.json`, rendered for each browser.
//!
//! The source is a valid Manifest V3 file holding what every browser shares plus each one's own
//! keys; rendering fills in the crate version and drops the keys the other browser does not
//! know, so neither store sees a warning about a foreign key:
//!
//! - Chrome and Edge: no `browser_specific_settings` (Firefox's add-on id and data-collection
//!   declaration);
//! - Firefox: no `minimum_chrome_version`; `browser_specific_settings.gecko` must be present;
//! - `background`: Chrome runs `service_worker` (Firefox MV3 has no extension service worker),
//!   Firefox runs the `scripts` as a non-persistent background page; each gets only its own.
//!
//! Everything else (content scripts, matches, host permissions, web-accessible resources, CSP,
//! icons, locale) is the same object in both, which the tests check.

use anyhow::{Context, bail};
use serde_json::Value;

/// The version the source holds; rendering replaces it with the crate version.
const VERSION_PLACEHOLDER: &str = "0.0.0";
/// The test build's name: literal, so a glance at `about:debugging` or `chrome://extensions`
/// tells it from the shipped one.
pub const TEST_BUILD_NAME: &str = "Kudu Doctor (e2e test build)";

/// Which browser family a package is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Browser {
    /// Chrome, Edge and other Chromium browsers (the Chrome Web Store and Edge Add-ons).
    Chrome,
    /// Firefox (addons.mozilla.org).
    Firefox,
}

impl Browser {
    /// Both, in the order dist writes them.
    pub const ALL: [Browser; 2] = [Browser::Chrome, Browser::Firefox];

    /// Lower-case name used in file and directory names.
    pub fn slug(self) -> &'static str {
        match self {
            Browser::Chrome => "chrome",
            Browser::Firefox => "firefox",
        }
    }
}

/// The manifest for `browser`, version filled in; for the e2e test build, renamed.
pub fn render(
    source: &str,
    version: &str,
    browser: Browser,
    test_build: bool,
) -> anyhow::Result<String> {
    let mut manifest: Value =
        serde_json::from_str(source).context("extension/manifest.json is not valid JSON")?;
    let Some(object) = manifest.as_object_mut() else {
        bail!("extension/manifest.json is not a JSON object");
    };
    if object.get("manifest_version") != Some(&Value::from(3)) {
        bail!("extension/manifest.json must be Manifest V3");
    }
    if object.get("version").and_then(Value::as_str) != Some(VERSION_PLACEHOLDER) {
        bail!(
            "extension/manifest.json must hold \"version\": \"{VERSION_PLACEHOLDER}\"; dist fills in the crate version"
        );
    }
    object.insert("version".into(), Value::from(version));
    if object
        .get("browser_specific_settings")
        .and_then(|settings| settings.get("gecko"))
        .and_then(|gecko| gecko.get("id"))
        .and_then(Value::as_str)
        .is_none()
    {
        bail!("extension/manifest.json needs browser_specific_settings.gecko.id for Firefox");
    }
    let background = object
        .get_mut("background")
        .and_then(Value::as_object_mut)
        .context("extension/manifest.json needs a background with service_worker and scripts")?;
    if background.get("service_worker").is_none() || background.get("scripts").is_none() {
        bail!("extension/manifest.json background needs both service_worker and scripts");
    }
    match browser {
        Browser::Chrome => {
            background.remove("scripts");
            object.remove("browser_specific_settings");
        }
        Browser::Firefox => {
            background.remove("service_worker");
            object.remove("minimum_chrome_version");
        }
    }
    if test_build {
        object.insert("name".into(), Value::from(TEST_BUILD_NAME));
    }
    let mut text = serde_json::to_string_pretty(&manifest)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
pub mod tests {
    use std::fs;
    use std::path::{Path, PathBuf};

    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn rendered(browser: Browser) -> Value {
        let source = fs::read_to_string(root().join("extension/manifest.json")).unwrap();
        let text = render(&source, "1.2.3", browser, false).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The workspace version, read from the root `Cargo.toml` itself.
    pub fn workspace_version() -> String {
        let cargo = fs::read_to_string(root().join("Cargo.toml")).unwrap();
        let section = &cargo[cargo.find("[workspace.package]").unwrap()..];
        let line = section
            .lines()
            .find(|line| line.trim_start().starts_with("version"))
            .unwrap();
        line.split('"').nth(1).unwrap().to_owned()
    }

    #[test]
    fn the_version_dist_stamps_is_the_one_in_cargo_toml() {
        assert_eq!(env!("CARGO_PKG_VERSION"), workspace_version());
    }

    #[test]
    fn both_browsers_share_everything_but_their_own_keys() {
        let chrome = rendered(Browser::Chrome);
        let firefox = rendered(Browser::Firefox);
        for key in [
            "manifest_version",
            "name",
            "description",
            "version",
            "default_locale",
            "icons",
            "permissions",
            "host_permissions",
            "content_scripts",
            "web_accessible_resources",
            "content_security_policy",
        ] {
            assert!(!chrome[key].is_null(), "{key} missing");
            assert_eq!(chrome[key], firefox[key], "{key} differs");
        }
        assert_eq!(chrome["version"], "1.2.3");
        assert!(
            chrome["content_scripts"][0]["matches"]
                .as_array()
                .unwrap()
                .len()
                >= 4
        );
        assert!(chrome.get("browser_specific_settings").is_none());
        assert!(!chrome["minimum_chrome_version"].is_null());
        assert!(firefox.get("minimum_chrome_version").is_none());
        let chrome_keys: Vec<&String> = chrome.as_object().unwrap().keys().collect();
        let mut firefox_keys: Vec<&String> = firefox.as_object().unwrap().keys().collect();
        firefox_keys.retain(|key| *key != "browser_specific_settings");
        let mut chrome_keys = chrome_keys;
        chrome_keys.retain(|key| *key != "minimum_chrome_version");
        assert_eq!(chrome_keys, firefox_keys);
    }

    /// Issue 16: no page can open the extension page. doctor.html is opened only by
    /// background.js, so nothing HTML is web-accessible, in either browser's manifest.
    #[test]
    fn no_extension_page_is_web_accessible_and_each_browser_gets_its_background() {
        for browser in Browser::ALL {
            let manifest = rendered(browser);
            for entry in manifest["web_accessible_resources"].as_array().unwrap() {
                for resource in entry["resources"].as_array().unwrap() {
                    let resource = resource.as_str().unwrap();
                    assert!(
                        resource.starts_with("pkg/") && !resource.ends_with(".html"),
                        "{browser:?}: {resource} is web-accessible"
                    );
                }
            }
            let background = manifest["background"].as_object().unwrap();
            assert_eq!(background.len(), 1, "{browser:?}: {background:?}");
            match browser {
                Browser::Chrome => assert_eq!(background["service_worker"], "background.js"),
                Browser::Firefox => assert_eq!(
                    background["scripts"],
                    serde_json::json!(["scm-host.js", "background.js"])
                ),
            }
        }
    }

    #[test]
    fn firefox_gets_an_id_a_minimum_version_and_declares_no_data_collection() {
        let gecko = &rendered(Browser::Firefox)["browser_specific_settings"]["gecko"];
        let id = gecko["id"].as_str().unwrap();
        assert!(id.starts_with("kudu-doctor@"), "{id}");
        // data_collection_permissions needs Firefox 140 (desktop) and 142 (Android); web-ext
        // lint warns below that.
        let minimum: u32 = gecko["strict_min_version"]
            .as_str()
            .unwrap()
            .split('.')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(minimum >= 142, "strict_min_version {minimum}");
        assert_eq!(
            gecko["data_collection_permissions"],
            serde_json::json!({ "required": ["none"] })
        );
    }

    #[test]
    fn name_and_description_come_from_the_english_locale_within_store_limits() {
        let manifest = rendered(Browser::Chrome);
        assert_eq!(manifest["name"], "__MSG_name__");
        assert_eq!(manifest["description"], "__MSG_description__");
        assert_eq!(manifest["default_locale"], "en");
        let messages: Value = serde_json::from_str(
            &fs::read_to_string(root().join("extension/_locales/en/messages.json")).unwrap(),
        )
        .unwrap();
        let name = messages["name"]["message"].as_str().unwrap();
        let description = messages["description"]["message"].as_str().unwrap();
        assert_eq!(name, "Kudu Doctor");
        // Chrome Web Store limits: name 75 (45 shown), description 132 characters.
        assert!(name.chars().count() <= 45);
        assert!(
            (20..=132).contains(&description.chars().count()),
            "{description}"
        );
        let store = fs::read_to_string(root().join("extension/store/description.md")).unwrap();
        assert!(
            store.contains(description),
            "store/description.md quotes the short description"
        );
    }

    #[test]
    fn icons_are_listed_at_every_store_size() {
        let icons = &rendered(Browser::Chrome)["icons"];
        for size in crate::icons::SIZES {
            assert_eq!(
                icons[size.to_string()].as_str(),
                Some(crate::icons::relative_path(size).as_str())
            );
        }
        assert_eq!(icons.as_object().unwrap().len(), crate::icons::SIZES.len());
    }

    #[test]
    fn the_test_build_is_renamed_and_a_bad_source_is_refused() {
        let source = fs::read_to_string(root().join("extension/manifest.json")).unwrap();
        let test: Value =
            serde_json::from_str(&render(&source, "1.2.3", Browser::Firefox, true).unwrap())
                .unwrap();
        assert_eq!(test["name"], TEST_BUILD_NAME);
        assert!(render("[]", "1", Browser::Chrome, false).is_err());
        assert!(
            render(
                r#"{ "manifest_version": 3, "version": "1.0.0" }"#,
                "1",
                Browser::Chrome,
                false
            )
            .is_err()
        );
        assert!(
            render(
                r#"{ "manifest_version": 3, "version": "0.0.0" }"#,
                "1",
                Browser::Firefox,
                false
            )
            .is_err(),
            "no gecko id"
        );
    }
}
