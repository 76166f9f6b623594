//! README's screenshots must show the product as it is: a committed screenshot fails this test
//! once a later commit changes the UI it shows. The pictures are refreshed by the end-to-end
//! run on request (`KUDU_UPDATE_SCREENSHOTS=1 cargo test -p kudu-e2e --test screenshots`), never
//! by a plain test run, which writes them under `target/` only.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// Which sources draw each screenshot, by file-name prefix under `docs/screenshots/`.
const SHOWN_BY: &[(&str, &[&str])] = &[
    (
        "timeline-",
        &[
            "src/components/timeline.rs",
            "src/components/timeline_table.rs",
            "src/timeline_layout.rs",
            "src/style.css",
        ],
    ),
    // The whole wizard: every component, the stylesheet, and the modules that write its text.
    (
        "wizard-",
        &[
            "src/components",
            "src/style.css",
            "src/cause_titles.rs",
            "src/runbook.rs",
            "src/time_text.rs",
            "src/timeline_layout.rs",
        ],
    ),
    (
        "cleanup-",
        &[
            "src/components",
            "src/style.css",
            "src/cause_titles.rs",
            "src/runbook.rs",
            "src/time_text.rs",
            "src/timeline_layout.rs",
        ],
    ),
];

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The commits after `since` (on the path from it to `HEAD`) that touch `paths`.
fn commits_after(since: &str, paths: &[&str]) -> Vec<String> {
    let range = format!("{since}..HEAD");
    let mut args = vec!["log", "--format=%h %s", &range, "--"];
    args.extend_from_slice(paths);
    git(&args)
        .map(|log| log.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

#[test]
fn screenshots_are_newer_than_the_ui_they_show() {
    let Some(tracked) = git(&["ls-files", "docs/screenshots"]) else {
        eprintln!("not a git checkout: screenshot ages not checked");
        return;
    };
    let pictures: Vec<&str> = tracked.lines().filter(|p| p.ends_with(".png")).collect();
    assert!(
        !pictures.is_empty(),
        "docs/screenshots holds no tracked PNG"
    );
    let mut stale = vec![];
    for picture in pictures {
        let name = picture.trim_start_matches("docs/screenshots/");
        let Some((_, sources)) = SHOWN_BY.iter().find(|(prefix, _)| name.starts_with(prefix))
        else {
            stale.push(format!(
                "{picture}: no entry in SHOWN_BY says which sources it shows"
            ));
            continue;
        };
        let Some(taken) = git(&["log", "-1", "--format=%H", "--", picture]) else {
            continue;
        };
        let later = commits_after(&taken, sources);
        if !later.is_empty() {
            stale.push(format!(
                "{picture} (committed in {}) predates {} UI change(s), newest: {}",
                &taken[..taken.len().min(7)],
                later.len(),
                later[0]
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "README screenshots are out of date; refresh them with \
         `cargo xtask dist && KUDU_UPDATE_SCREENSHOTS=1 cargo test -p kudu-e2e --test screenshots` \
         and commit docs/screenshots/:\n  {}",
        stale.join("\n  ")
    );
}

#[test]
fn the_age_check_sees_a_ui_change_after_a_screenshot() {
    // The first commit that added a screenshot is followed by UI changes in this repository's
    // history, so the check that runs above has something to find when a picture is old.
    let Some(first) = git(&[
        "log",
        "--diff-filter=A",
        "--format=%H",
        "--reverse",
        "--",
        "docs/screenshots/wizard-light.png",
    ]) else {
        eprintln!("not a git checkout: screenshot ages not checked");
        return;
    };
    let first = first.lines().next().unwrap_or_default().to_string();
    assert!(!first.is_empty(), "wizard-light.png was never added");
    assert!(!commits_after(&first, &["src/components"]).is_empty());
}
