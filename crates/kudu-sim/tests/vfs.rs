//! `/api/vfs` and `/api/zip` against kudu-facts.md §4, in both personalities.

mod common;

use std::io::Read;

use common::{BOTH, start};
use kudu_sim::Personality;

#[tokio::test]
async fn listing_entries_have_kudus_fields_and_physical_paths() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let r = f.get("/api/vfs/site/wwwroot/").await;
        assert_eq!(r.status, 200);
        let list = r.json();
        let index = list
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "index.html")
            .unwrap();
        assert_eq!(index["mime"], "text/html");
        assert!(index["size"].as_u64().unwrap() > 0);
        assert!(index["mtime"].as_str().unwrap().ends_with("+00:00"));
        assert_eq!(
            index["href"],
            format!("{}/api/vfs/site/wwwroot/index.html", f.sim.url)
        );
        let expected = match p {
            Personality::Linux => "/home/site/wwwroot/index.html",
            Personality::Windows => "D:\\home\\site\\wwwroot\\index.html",
        };
        assert_eq!(index["path"], expected);
        let dirs = f.get("/api/vfs/site/").await.json();
        let locks = dirs
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "locks")
            .unwrap();
        assert_eq!(locks["mime"], "inode/directory");
        assert_eq!(locks["size"], 0);
        assert!(
            locks["href"]
                .as_str()
                .unwrap()
                .ends_with("/api/vfs/site/locks/")
        );
        let root = f.get("/api/vfs/").await.json();
        let shortcuts = root
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["mime"] == "inode/shortcut")
            .count();
        assert_eq!(shortcuts, if p == Personality::Windows { 2 } else { 0 });
    }
}

#[tokio::test]
async fn slash_rules_redirect_with_307_and_missing_is_404() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let dir = f.get("/api/vfs/site/wwwroot").await;
        assert_eq!(dir.status, 307);
        assert_eq!(
            dir.header("location").unwrap(),
            format!("{}/api/vfs/site/wwwroot/", f.sim.url)
        );
        let file = f.get("/api/vfs/site/wwwroot/index.html/").await;
        assert_eq!(file.status, 307);
        assert!(
            file.header("location")
                .unwrap()
                .ends_with("/api/vfs/site/wwwroot/index.html")
        );
        let missing = f.get("/api/vfs/site/nope.txt").await;
        assert_eq!(missing.status, 404);
        match p {
            Personality::Windows => assert_eq!(
                missing.body,
                r#"{"Message":"'D:\\home\\site\\nope.txt' not found."}"#
            ),
            Personality::Linux => assert_eq!(missing.body, "'/home/site/nope.txt' not found."),
        }
    }
}

#[tokio::test]
async fn file_get_has_etag_last_modified_and_304() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let r = f.get("/api/vfs/site/deployments/active").await;
        assert_eq!(r.status, 200);
        let etag = r.header("etag").unwrap().to_string();
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() == 18,
            "{etag}"
        );
        assert!(r.header("last-modified").unwrap().ends_with(" GMT"));
        let again = f
            .send(
                "GET",
                "/api/vfs/site/deployments/active",
                &[("if-none-match", &etag)],
                Vec::new(),
            )
            .await;
        assert_eq!(again.status, 304);
    }
}

#[tokio::test]
async fn delete_file_needs_if_match() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let r = f.delete("/api/vfs/site/wwwroot/app.js", &[]).await;
        assert_eq!(r.status, 412);
        let text = "Updating an existing resource requires an If-Match header carrying a single, strong ETag.";
        match p {
            Personality::Windows => assert_eq!(r.body, format!("{{\"Message\":\"{text}\"}}")),
            Personality::Linux => assert_eq!(r.body, text),
        }
        let wrong = f
            .delete("/api/vfs/site/wwwroot/app.js", &[("if-match", "\"0000\"")])
            .await;
        assert_eq!(
            wrong.status,
            if p == Personality::Windows { 412 } else { 409 }
        );
        assert!(
            wrong
                .body
                .contains("ETag does not represent the latest state of the resource.")
        );
        assert!(wrong.header("etag").is_some());
        let etag = f
            .get("/api/vfs/site/wwwroot/app.js")
            .await
            .header("etag")
            .unwrap()
            .to_string();
        let ok = f
            .delete("/api/vfs/site/wwwroot/app.js", &[("if-match", &etag)])
            .await;
        assert_eq!((ok.status, ok.body.as_str()), (200, ""));
        let star = f
            .delete("/api/vfs/site/wwwroot/index.html", &[("if-match", "*")])
            .await;
        assert_eq!(star.status, 200);
        let gone = f
            .delete("/api/vfs/site/wwwroot/index.html", &[("if-match", "*")])
            .await;
        assert_eq!(gone.status, 404);
    }
}

#[tokio::test]
async fn directory_delete_needs_recursive_when_not_empty() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let r = f.delete("/api/vfs/site/wwwroot/", &[]).await;
        assert_eq!(r.status, 409);
        assert!(
            r.body.contains(
                "Cannot delete directory. It is either not empty or access is not allowed."
            )
        );
        let r = f
            .delete(
                "/api/vfs/site/wwwroot/?recursive=true",
                &[("if-match", "*")],
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(f.get("/api/vfs/site/wwwroot/").await.status, 404);
        // Empty directories go without `recursive`, slash optional.
        assert_eq!(
            f.send("PUT", "/api/vfs/site/empty/", &[], Vec::new())
                .await
                .status,
            201
        );
        assert_eq!(f.delete("/api/vfs/site/empty", &[]).await.status, 200);
    }
}

#[tokio::test]
async fn put_creates_with_201_and_updates_with_if_match_and_204() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let created = f
            .send("PUT", "/api/vfs/site/wwwroot/new.txt", &[], b"one".to_vec())
            .await;
        assert_eq!(created.status, 201);
        let no_match = f
            .send("PUT", "/api/vfs/site/wwwroot/new.txt", &[], b"two".to_vec())
            .await;
        assert_eq!(no_match.status, 412);
        let updated = f
            .send(
                "PUT",
                "/api/vfs/site/wwwroot/new.txt",
                &[("if-match", "*")],
                b"two".to_vec(),
            )
            .await;
        assert_eq!(updated.status, 204);
        assert_eq!(f.get("/api/vfs/site/wwwroot/new.txt").await.body, "two");
        assert_eq!(
            f.send("PUT", "/api/vfs/site/newdir/", &[], Vec::new())
                .await
                .status,
            201
        );
        assert_eq!(
            f.send("PUT", "/api/vfs/site/newdir/", &[], Vec::new())
                .await
                .status,
            409
        );
    }
}

#[tokio::test]
async fn zip_streams_the_folder_contents_with_a_disposition() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let resp = f
            .client
            .get(f.url("/api/zip/site/deployments/"))
            .header("authorization", &f.auth)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/zip");
        assert_eq!(
            resp.headers()["content-disposition"],
            "attachment; filename=deployments.zip"
        );
        let bytes = resp.bytes().await.unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let names: Vec<String> = archive
            .file_names()
            .map(|n| n.unwrap().to_string())
            .collect();
        assert!(names.contains(&"active".to_string()));
        assert!(names.contains(&"pending".to_string()));
        assert!(names.iter().any(|n| n.ends_with("/status.xml")));
        assert!(
            !names.iter().any(|n| n.starts_with("deployments/")),
            "the folder itself is not included"
        );
        let mut active = String::new();
        archive
            .by_name("active")
            .unwrap()
            .read_to_string(&mut active)
            .unwrap();
        assert_eq!(active.len(), 32);

        let named = f.get("/api/zip/site/wwwroot/?fileName=backup.zip").await;
        assert_eq!(
            named.header("content-disposition"),
            Some("attachment; filename=backup.zip")
        );
        assert_eq!(f.get("/api/zip/site/wwwroot").await.status, 307);
        assert_eq!(f.get("/api/zip/site/nope/").await.status, 404);
        assert_eq!(f.get("/api/zip/site/deployments/active").await.status, 404);
    }
}

/// Kudu's `ZipArchiveExtensions.AddFile` skips a file it cannot open and says nothing; a
/// folder gets its own entry only when it lists nothing (projectkudu/kudu, KuduLite).
#[tokio::test]
async fn zip_leaves_out_a_file_it_cannot_open() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        let names = async || -> Vec<String> {
            let bytes = f
                .client
                .get(f.url("/api/zip/site/deployments/"))
                .header("authorization", &f.auth)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
            archive
                .file_names()
                .map(|n| n.unwrap().to_string())
                .collect()
        };
        let before = names().await;
        assert!(before.contains(&"active".to_string()), "{before:?}");
        assert!(
            !before
                .iter()
                .any(|n| n.ends_with('/')
                    && before.iter().any(|m| m != n && m.starts_with(n.as_str()))),
            "no entry for a folder that lists something: {before:?}"
        );
        f.sim.set_unopenable("site/deployments/active", true);
        let after = names().await;
        assert!(!after.contains(&"active".to_string()), "{after:?}");
        assert_eq!(after.len() + 1, before.len());
        let listing = f.get("/api/vfs/site/deployments/").await.json();
        assert!(
            listing
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == "active"),
            "the listing still shows it"
        );
        f.sim.set_unopenable("site/deployments/active", false);
        assert_eq!(names().await, before);
    }
}

#[tokio::test]
async fn zip_put_extracts_over_an_existing_folder() {
    let f = start(Personality::Linux, "healthy").await;
    let body = kudu_sim::zip_files(&[("restored.txt", b"back")]);
    let r = f.send("PUT", "/api/zip/site/wwwroot/", &[], body).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        f.get("/api/vfs/site/wwwroot/restored.txt").await.body,
        "back"
    );
    assert_eq!(f.get("/api/vfs/site/wwwroot/index.html").await.status, 200);
}

#[tokio::test]
async fn linux_missing_if_match_can_be_a_409() {
    let f = common::start_with(kudu_sim::SimConfig {
        password: Some("pw".into()),
        quirks: kudu_sim::Quirks {
            linux_missing_if_match_is_409: true,
            ..kudu_sim::Quirks::default()
        },
        ..kudu_sim::SimConfig::default()
    })
    .await;
    let r = f.delete("/api/vfs/site/wwwroot/app.js", &[]).await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.body,
        "ETag does not represent the latest state of the resource."
    );
}

#[tokio::test]
async fn file_get_honours_a_single_byte_range() {
    let f = start(Personality::Linux, "healthy").await;
    let whole = f.get("/api/vfs/site/deployments/active").await.body;
    let part = f
        .send(
            "GET",
            "/api/vfs/site/deployments/active",
            &[("range", "bytes=0-3")],
            Vec::new(),
        )
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, whole[..4]);
    assert_eq!(part.header("content-range"), Some("bytes 0-3/32"));
    let tail = f
        .send(
            "GET",
            "/api/vfs/site/deployments/active",
            &[("range", "bytes=-2")],
            Vec::new(),
        )
        .await;
    assert_eq!(tail.body, whole[30..]);
    let beyond = f
        .send(
            "GET",
            "/api/vfs/site/deployments/active",
            &[("range", "bytes=99-")],
            Vec::new(),
        )
        .await;
    assert_eq!(beyond.status, 416);
}

#[tokio::test]
async fn dual_routes_answer_without_api() {
    for p in BOTH {
        let f = start(p, "healthy").await;
        assert_eq!(
            f.get("/deployments").await.json().as_array().unwrap().len(),
            3
        );
        assert_eq!(f.get("/vfs/site/deployments/pending").await.status, 200);
        assert_eq!(f.get("/zip/site/wwwroot/").await.status, 200);
        assert_eq!(f.get("/nothing-here").await.status, 404);
    }
}
