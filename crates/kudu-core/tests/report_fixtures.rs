//! The shareable Markdown report and the prevention advice, built from captured simulator
//! rounds (`tests/fixtures/*.json`, format in `diagnose_scenarios.rs`) and from hostile edits of
//! them: every section is there, site text cannot break the Markdown, and no secret survives.

use std::path::Path;

use kudu_core::cleanup::{ActivityEntry, Outcome, RequestId};
use kudu_core::diagnose::prevention::{self, DeployTool, Fix, SiteRef};
use kudu_core::plan::{PlanKind, plan};
use kudu_core::reads::{HttpReply, ReadId};
use kudu_core::report::{CleanupReport, MAX_TIMELINE_ROWS, ReportInput, markdown_report};
use kudu_core::{CleanupPlan, Diagnosis, Session, Timestamp};
use proptest::prelude::*;
use serde_json::Value;

const SCM: &str = "https://myapp.scm.azurewebsites.net";

fn load(stem: &str, edit: impl Fn(&str, String) -> String) -> (Session, Diagnosis, CleanupPlan) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{stem}.json"));
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let now = Timestamp::parse_rfc3339(fixture["now"].as_str().unwrap()).unwrap();
    let mut session = Session::new();
    for r in fixture["replies"].as_array().unwrap() {
        let path = r["path"].as_str().unwrap();
        let reply = HttpReply {
            status: u16::try_from(r["status"].as_u64().unwrap()).unwrap(),
            content_type: r["content_type"].as_str().map(str::to_string),
            body: edit(path, r["body"].as_str().unwrap_or("").to_string()),
            headers: r["headers"]
                .as_array()
                .map(|hs| {
                    hs.iter()
                        .map(|h| {
                            (
                                h[0].as_str().unwrap().to_ascii_lowercase(),
                                h[1].as_str().unwrap().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            transport_error: None,
        };
        let read: ReadId = serde_json::from_value(r["read"].clone()).unwrap();
        session.ingest(&read, path, &reply);
    }
    let diagnosis = session.diagnose(now);
    let plan = plan(&session, &diagnosis, PlanKind::Targeted);
    (session, diagnosis, plan)
}

fn fixture(stem: &str) -> (Session, Diagnosis, CleanupPlan) {
    load(stem, |_, body| body)
}

fn site() -> SiteRef<'static> {
    SiteRef {
        name: Some("myapp"),
        scm_url: Some(SCM),
    }
}

fn report(diagnosis: &Diagnosis, plan: &CleanupPlan, log: &[ActivityEntry]) -> String {
    let prevention = prevention::prevention(diagnosis, site());
    let outcome = Outcome::Fixed;
    markdown_report(&ReportInput {
        scm_url: "https://$myapp:hunter2@myapp.scm.azurewebsites.net/api/x?sig=abc",
        diagnosis,
        plan: Some(plan),
        prevention: Some(&prevention),
        cleanup: (!log.is_empty()).then_some(CleanupReport {
            kind: PlanKind::Targeted,
            log,
            outcome: Some(&outcome),
        }),
        failed_reads: &[],
    })
}

fn activity(path: &str, status: u16, excerpt: &str) -> ActivityEntry {
    ActivityEntry {
        id: RequestId(1),
        method: "DELETE".into(),
        path: path.into(),
        sent_at: Timestamp::from_unix_millis(1_764_282_000_000),
        answered_at: Some(Timestamp::from_unix_millis(1_764_282_001_000)),
        status: Some(status),
        excerpt: excerpt.into(),
        transport_error: None,
    }
}

/// Pipes that separate table cells: GitHub treats a pipe after an odd run of backslashes as
/// text, and any other as a cell boundary, even inside a code span.
fn cell_pipes(line: &str) -> usize {
    let mut count = 0;
    let mut backslashes = 0;
    for c in line.chars() {
        if c == '|' && backslashes % 2 == 0 {
            count += 1;
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
    }
    count
}

fn table_rows<'r>(report: &'r str, header: &str) -> Vec<&'r str> {
    let start = report.find(header).unwrap_or_else(|| panic!("no {header}"));
    report[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect()
}

#[test]
fn a_stuck_linux_site_has_every_section() {
    let (_, diagnosis, plan) = fixture("stale-lock-linux-linux");
    let log = [
        activity("/api/vfs/site/locks/deployment/?recursive=true", 204, ""),
        activity("/api/vfs/site/deployments/temp-224/", 404, "Not found"),
    ];
    let md = report(&diagnosis, &plan, &log);
    for section in [
        "# Kudu Doctor report",
        "- Site: ` myapp.scm.azurewebsites.net `",
        "- Kudu: App Service on Linux (KuduLite)",
        "- Read at: 2026-11-28 01:22:39 UTC",
        "- Leading cause: `stale-lock`",
        "## Diagnosis",
        "## Timeline",
        "## Deployment lock",
        "## Cleanup plan (targeted)",
        "## Cleanup run (targeted)",
        "Outcome: fixed",
    ] {
        assert!(md.contains(section), "missing {section}:\n{md}");
    }
    for finding in &diagnosis.findings {
        assert!(md.contains(&format!("`{}`", finding.cause.as_str())));
    }
    let evidence: usize = diagnosis.findings.iter().map(|f| f.evidence.len()).sum();
    assert_eq!(md.matches(" (from ` ").count(), evidence, "{md}");
    let rows = table_rows(&md, "| Deployment | Deployer |");
    assert_eq!(rows.len(), diagnosis.timeline.entries.len());
    assert!(rows[0].contains("` GITHUB_ZIP_DEPLOY `"), "{}", rows[0]);
    for step in 1..=plan.steps.len() {
        assert!(md.contains(&format!("\n{step}. `")), "step {step}:\n{md}");
    }
    let activity = table_rows(&md, "| # | Sent (UTC) |");
    assert_eq!(activity.len(), 2);
    assert!(activity[0].contains("` DELETE /api/vfs/site/locks/deployment/?recursive=true `"));
    assert!(
        activity[1].ends_with("| 404 ` Not found ` |"),
        "{}",
        activity[1]
    );
    assert!(!md.contains("hunter2") && !md.contains("sig=abc"), "{md}");
}

#[test]
fn the_report_never_carries_credentials() {
    let (_, diagnosis, plan) = load("run-from-package-url-linux", |path, body| {
        if path.ends_with("WEBSITE_RUN_FROM_PACKAGE") {
            body.replace("sig=REDACTED", "sig=S3cr3tS1g%3D")
        } else {
            body
        }
    });
    assert!(
        format!("{diagnosis:?}").contains("S3cr3tS1g")
            || !format!("{diagnosis:?}").contains("sig="),
        "the fixture edit must reach the diagnosis or the URL is not quoted at all"
    );
    let log = [ActivityEntry {
        transport_error: Some("Authorization: Bearer eyJhbGciOi.payload.sig rejected".into()),
        status: None,
        ..activity("/api/zip/site/deployments/?token=t0k3n&x=1", 0, "")
    }];
    let md = report(&diagnosis, &plan, &log);
    for secret in [
        "S3cr3tS1g",
        "eyJhbGciOi",
        "t0k3n",
        "hunter2",
        "Set-Cookie",
        "ARRAffinity=",
    ] {
        assert!(!md.contains(secret), "{secret} leaked:\n{md}");
    }
    assert!(md.contains("token=REDACTED&x=1"), "{md}");
}

const HOSTILE: &[&str] = &[
    "a|b|c",
    "line1\nline2\r\n# Heading",
    "``` fenced ```",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "| x | y |\n|---|---|",
    "`",
    "\\|",
    "- list\n1. item\n> quote",
    "[link](javascript:alert(1))",
    "\u{2028}# heading after line separator",
];

fn hostile_diagnosis() -> (Diagnosis, CleanupPlan) {
    let (_, mut diagnosis, plan) = fixture("parallel-linux");
    for (i, entry) in diagnosis.timeline.entries.iter_mut().enumerate() {
        let evil = HOSTILE[i % HOSTILE.len()].to_string();
        entry.deployment.deployer = evil.clone();
        entry.deployment.author = format!("{evil} author");
        entry.deployment.id = Some(format!("{evil}{i}"));
        entry.deployment.message = evil;
    }
    for (i, finding) in diagnosis.findings.iter_mut().enumerate() {
        finding.summary = format!("{} summary", HOSTILE[i % HOSTILE.len()]);
        for (j, e) in finding.evidence.iter_mut().enumerate() {
            e.fact = HOSTILE[(i + j + 3) % HOSTILE.len()].to_string();
            e.source = HOSTILE[(i + j + 5) % HOSTILE.len()].to_string();
        }
    }
    diagnosis.lock.explanation = HOSTILE[1].to_string();
    diagnosis.lock.holder_operation = Some(HOSTILE[0].to_string());
    (diagnosis, plan)
}

#[test]
fn hostile_site_text_cannot_break_the_structure() {
    let (diagnosis, plan) = hostile_diagnosis();
    let log: Vec<ActivityEntry> = HOSTILE
        .iter()
        .map(|h| activity(&format!("/api/vfs/site/locks/{h}"), 500, h))
        .collect();
    let md = report(&diagnosis, &plan, &log);
    let rows = table_rows(&md, "| Deployment | Deployer |");
    assert_eq!(rows.len(), diagnosis.timeline.entries.len());
    assert!(rows.iter().all(|r| cell_pipes(r) == 7), "{rows:#?}");
    let activity = table_rows(&md, "| # | Sent (UTC) |");
    assert_eq!(activity.len(), HOSTILE.len());
    assert!(activity.iter().all(|r| cell_pipes(r) == 5), "{activity:#?}");
    let headings: Vec<&str> = md.lines().filter(|l| l.starts_with('#')).collect();
    assert!(
        headings
            .iter()
            .all(|h| h.starts_with("# Kudu Doctor report")
                || h.starts_with("## ")
                || h.starts_with("### ")),
        "{headings:#?}"
    );
    // Outside code spans every `<` is escaped, so no tag can open.
    for line in md.lines() {
        let outside_code: String = line.split('`').step_by(2).collect();
        let outside_code = outside_code.replace("\\<", "").replace("\\]", "");
        assert!(
            !outside_code.contains("<script") && !outside_code.contains("<img"),
            "{line}"
        );
        assert!(!outside_code.contains("](javascript"), "{line}");
    }
    // Fences: only the prevention snippets open one, and each is closed.
    let fences = md.lines().filter(|l| l.starts_with("```")).count();
    assert_eq!(fences % 2, 0, "{md}");
}

#[test]
fn long_histories_say_how_many_rows_were_left_out() {
    let (_, mut diagnosis, plan) = fixture("healthy-linux");
    let template = diagnosis.timeline.entries[0].clone();
    diagnosis.timeline.entries = (0..MAX_TIMELINE_ROWS + 12)
        .map(|i| {
            let mut e = template.clone();
            e.deployment.id = Some(format!("d{i}"));
            e
        })
        .collect();
    let md = report(&diagnosis, &plan, &[]);
    assert_eq!(
        table_rows(&md, "| Deployment | Deployer |").len(),
        MAX_TIMELINE_ROWS
    );
    assert!(
        md.contains("12 more older deployment(s) not shown."),
        "{md}"
    );
    assert!(
        md.contains(&format!("` d{} `", MAX_TIMELINE_ROWS + 11)),
        "newest first"
    );
}

proptest! {
    #[test]
    fn any_deployer_author_and_id_keep_one_row_of_six_cells(
        deployer in any::<String>(),
        author in "\\PC*|[|`\\\\\n<>#-]{0,12}",
        id in any::<String>(),
    ) {
        let (_, mut diagnosis, plan) = fixture("healthy-linux");
        diagnosis.timeline.entries.truncate(1);
        let d = &mut diagnosis.timeline.entries[0].deployment;
        d.deployer = deployer;
        d.author = author;
        d.id = Some(id);
        let md = report(&diagnosis, &plan, &[]);
        let rows = table_rows(&md, "| Deployment | Deployer |");
        prop_assert_eq!(rows.len(), 1);
        prop_assert_eq!(cell_pipes(rows[0]), 7, "{}", rows[0]);
    }
}

// ---- prevention from the captured histories ---------------------------------------------------

#[test]
fn parallel_linux_names_github_and_the_azure_cli() {
    let (_, diagnosis, _) = fixture("parallel-linux");
    let p = prevention::prevention(&diagnosis, site());
    assert!(p.is_specific());
    let c = p.collisions.last().unwrap();
    let tools = [c.first.tool, c.second.tool];
    assert!(tools.contains(&DeployTool::GitHubActions) && tools.contains(&DeployTool::AzureCli));
    let headline = p.headline().unwrap();
    assert!(
        headline.contains("GitHub Actions (run by octocat)")
            && headline.contains("The Azure CLI (deployer az_cli_functions)")
            && headline.contains("overlapped at 22:21:4"),
        "{headline}"
    );
    let kinds: Vec<_> = p.fixes.iter().map(Fix::as_str).collect();
    assert_eq!(kinds, ["one-tool-at-a-time", "wait-guard"]);
    let md = report(
        &diagnosis,
        &CleanupPlan::clone(&fixture("parallel-linux").2),
        &[],
    );
    assert!(md.contains("## Preventing the next 409"), "{md}");
    assert!(md.contains("kudu-doctor wait https://myapp.scm.azurewebsites.net --timeout 15m"));
}

#[test]
fn cancelled_github_runs_get_the_concurrency_block_on_both_oses() {
    for stem in ["cancelled-retried-linux", "cancelled-retried-windows"] {
        let (_, diagnosis, _) = fixture(stem);
        let p = prevention::prevention(&diagnosis, site());
        assert_eq!(p.cancelled.len(), 1, "{stem}");
        assert_eq!(p.cancelled[0].cancelled.tool, DeployTool::GitHubActions);
        let Some(Fix::GitHubConcurrency { snippet, why }) = p.fixes.first() else {
            panic!("{stem}: {:?}", p.fixes)
        };
        assert!(snippet.contains("cancel-in-progress: false"));
        assert!(why.contains("stopped a run while Kudu"), "{why}");
        assert!(
            p.cancelled[0]
                .sentence
                .contains("was cancelled: deployment"),
            "{stem}"
        );
    }
}

#[test]
fn the_wait_after_a_cancel_depends_on_the_os() {
    let (_, linux, _) = fixture("cancelled-retried-linux");
    let wait = prevention::retry_wait(&linux).unwrap();
    assert_eq!(wait.until, linux.lock.expires);
    assert!(wait.until.is_some_and(|u| u > linux.now));
    assert!(wait.advice.starts_with("On Linux"), "{}", wait.advice);

    let (_, windows, _) = fixture("cancelled-retried-windows");
    let wait = prevention::retry_wait(&windows).unwrap();
    assert_eq!(wait.until, None);
    assert!(wait.advice.starts_with("On Windows"), "{}", wait.advice);
}

#[test]
fn quiet_histories_give_no_specific_advice() {
    for stem in ["healthy-linux", "healthy-windows", "deploying-linux"] {
        let (_, diagnosis, _) = fixture(stem);
        let p = prevention::prevention(&diagnosis, site());
        assert!(!p.is_specific(), "{stem}: {p:?}");
        assert!(prevention::retry_wait(&diagnosis).is_none());
    }
}

/// The refused pushes and Kudu's restarts from its trace folder are listed; the user's pasted
/// error shows by its kind only, never its text (a pasted CI log may hold a token).
#[test]
fn traces_are_listed_and_the_pasted_text_stays_out() {
    let (mut session, _, _) = load("restarted-holder-linux", |_, body| body);
    session.paste_error(
        "Cannot modify this site because another operation is in progress. Details: OperationName: SwapSiteSlots, https://x.blob.core.windows.net/c/app.zip?sig=SECRET123",
    );
    let (_, d0, _) = load("restarted-holder-linux", |_, body| body);
    let d = session.diagnose(d0.now);
    let plan = plan(&session, &d, PlanKind::Targeted);
    let text = markdown_report(&ReportInput {
        scm_url: SCM,
        diagnosis: &d,
        plan: Some(&plan),
        prevention: None,
        cleanup: None,
        failed_reads: &[],
    });
    assert!(text.contains("## Kudu's traces"), "{text}");
    assert!(text.contains("Kudu stopped on instance"), "{text}");
    assert!(text.contains("was refused with 409"), "{text}");
    assert!(
        text.contains("- The error the user gave: Azure Resource Manager"),
        "{text}"
    );
    assert!(text.contains("SwapSiteSlots"), "{text}");
    assert!(!text.contains("SECRET123"), "{text}");
}
