//! `web-ext lint` on the Firefox package, as a step of `cargo xtask test`: Mozilla's own
//! add-on linter (the one addons.mozilla.org runs on upload), offline, from the pinned npm
//! package (`node_tools.rs`).
//!
//! The step fails on any error, and on any warning not in [`KNOWN_WARNINGS`]: each known one is
//! explained in README, so a new warning must be either fixed or explained there too.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::project::describe;

/// Warnings web-ext reports on the Firefox package that are understood and accepted, by code
/// and file, with why (README, "Firefox", says the same).
pub const KNOWN_WARNINGS: [(&str, &str, &str); 1] = [(
    "UNSAFE_VAR_ASSIGNMENT",
    "pkg/kudu_doctor.js",
    "wasm-bindgen's generated shim for web-sys `Element::set_inner_html`: Yew's renderer for \
     raw-HTML nodes (`Html::from_html_unchecked`) links it in, but the app never creates one \
     (a test below keeps it so), so every text, Kudu's included, goes in as text nodes",
)];

/// One message of the linter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `error`, `warning` or `notice`.
    pub kind: String,
    pub code: String,
    pub message: String,
    /// Path inside the package, when the linter names one.
    pub file: Option<String>,
    pub line: Option<u64>,
}

impl Finding {
    fn is_known_warning(&self) -> bool {
        self.kind == "warning"
            && KNOWN_WARNINGS
                .iter()
                .any(|(code, file, _)| self.code == *code && self.file.as_deref() == Some(*file))
    }

    fn shown(&self) -> String {
        let place = match (&self.file, self.line) {
            (Some(file), Some(line)) => format!(" {file}:{line}"),
            (Some(file), None) => format!(" {file}"),
            _ => String::new(),
        };
        format!("{} {}{place}: {}", self.kind, self.code, self.message)
    }
}

/// The verdict: what fails the step and what is only shown.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub failing: Vec<Finding>,
    pub accepted: Vec<Finding>,
}

/// Reads web-ext's `--output=json` report.
pub fn parse_report(json: &str) -> anyhow::Result<Vec<Finding>> {
    // web-ext may print a line before the JSON; the report is the outermost object.
    let start = json.find('{').context("web-ext printed no JSON report")?;
    let report: Value = serde_json::from_str(json[start..].trim_end())
        .context("web-ext's report is not valid JSON")?;
    let mut findings = Vec::new();
    for (list, kind) in [
        ("errors", "error"),
        ("warnings", "warning"),
        ("notices", "notice"),
    ] {
        let Some(entries) = report[list].as_array() else {
            bail!("web-ext's report has no `{list}` list");
        };
        for entry in entries {
            findings.push(Finding {
                kind: kind.to_owned(),
                code: entry["code"].as_str().unwrap_or("?").to_owned(),
                message: entry["message"].as_str().unwrap_or("").to_owned(),
                file: entry["file"].as_str().map(str::to_owned),
                line: entry["line"].as_u64(),
            });
        }
    }
    Ok(findings)
}

/// Errors and unexplained warnings fail; notices and known warnings do not.
pub fn judge(findings: Vec<Finding>) -> Verdict {
    let mut verdict = Verdict::default();
    for finding in findings {
        let fails =
            finding.kind == "error" || (finding.kind == "warning" && !finding.is_known_warning());
        if fails {
            verdict.failing.push(finding);
        } else {
            verdict.accepted.push(finding);
        }
    }
    verdict
}

/// Lints the unpacked Firefox package at `package` with the `web-ext` at `web_ext`; Ok(true)
/// when nothing fails.
pub fn run(web_ext: &Path, package: &Path) -> anyhow::Result<bool> {
    if !package.join("manifest.json").is_file() {
        bail!("{} is missing: dist did not write it", package.display());
    }
    let mut lint = Command::new(web_ext);
    lint.arg("lint").arg("--source-dir").arg(package).args([
        "--no-config-discovery",
        "--output=json",
        "--boring",
    ]);
    println!("xtask: $ {}", describe(&lint));
    let output = lint
        .output()
        .with_context(|| format!("starting {} (set-up installs it)", web_ext.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let findings = match parse_report(&stdout) {
        Ok(findings) => findings,
        Err(error) => {
            eprintln!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
            return Err(error.context(format!("web-ext lint exited with {}", output.status)));
        }
    };
    let verdict = judge(findings);
    for finding in &verdict.accepted {
        let why = KNOWN_WARNINGS
            .iter()
            .find(|(code, _, _)| finding.code == *code)
            .map_or("", |(_, _, why)| why);
        println!("xtask: web-ext: accepted {} ({why})", finding.shown());
    }
    for finding in &verdict.failing {
        eprintln!("xtask: web-ext: {}", finding.shown());
    }
    if !verdict.failing.is_empty() {
        eprintln!(
            "xtask: web-ext lint: fix the above, or (a warning only) explain it in README and \
             add it to KNOWN_WARNINGS in xtask/src/web_ext_lint.rs"
        );
    }
    println!(
        "xtask: web-ext lint: {} failing, {} accepted",
        verdict.failing.len(),
        verdict.accepted.len()
    );
    Ok(verdict.failing.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = r#"Running web-ext
{"count":3,"summary":{"errors":1,"notices":0,"warnings":2},"metadata":{},
 "errors":[{"_type":"error","code":"ADDON_ID_REQUIRED","message":"The add-on ID is required","file":"manifest.json"}],
 "notices":[],
 "warnings":[
   {"_type":"warning","code":"UNSAFE_VAR_ASSIGNMENT","message":"Unsafe assignment to innerHTML","file":"pkg/kudu_doctor.js","line":387,"column":5},
   {"_type":"warning","code":"UNSAFE_VAR_ASSIGNMENT","message":"Unsafe assignment to innerHTML","file":"content.js","line":12}
 ]}"#;

    #[test]
    fn errors_and_unexplained_warnings_fail_known_ones_pass() {
        let verdict = judge(parse_report(REPORT).unwrap());
        let failing: Vec<String> = verdict.failing.iter().map(Finding::shown).collect();
        assert_eq!(
            failing,
            [
                "error ADDON_ID_REQUIRED manifest.json: The add-on ID is required",
                "warning UNSAFE_VAR_ASSIGNMENT content.js:12: Unsafe assignment to innerHTML",
            ]
        );
        assert_eq!(verdict.accepted.len(), 1);
        assert_eq!(
            verdict.accepted[0].file.as_deref(),
            Some("pkg/kudu_doctor.js")
        );
        assert_eq!(verdict.accepted[0].line, Some(387));
    }

    /// The accepted innerHTML warning is harmless only while the app never reaches that shim:
    /// no raw HTML nodes and no innerHTML of its own.
    #[test]
    fn the_app_never_sets_inner_html() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut pending = vec![root.join("src")];
        let mut found = Vec::new();
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|ext| ext == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for needle in ["from_html_unchecked", "inner_html", "VRaw"] {
                        if text.contains(needle) {
                            found.push(format!("{}: {needle}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "web-ext's UNSAFE_VAR_ASSIGNMENT warning is accepted only while the app never sets \
             innerHTML; render text as text nodes instead:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn a_clean_report_passes_and_garbage_is_an_error() {
        let clean = r#"{"errors":[],"warnings":[],"notices":[]}"#;
        assert_eq!(judge(parse_report(clean).unwrap()), Verdict::default());
        assert!(parse_report("web-ext crashed").is_err());
        assert!(parse_report(r#"{"summary":{}}"#).is_err());
    }
}
