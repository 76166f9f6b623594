//! `/api/vfs/...` (facts §4.1-§4.5, §4.7) and `/api/zip/...` (§4.6) over the real HOME.

use serde::Serialize;

use crate::archive;
use crate::config::Personality;
use crate::home::join;
use crate::kudu::{Kudu, MSG_DIR_DELETE, MSG_VFS_ETAG_MISMATCH, MSG_VFS_NO_IF_MATCH, STATUS_LOCK};
use crate::wire::{SimRequest, SimResponse, path_decode, percent_encode};

/// A VFS path: HOME-relative, and whether the request ended with `/`.
struct VfsPath {
    rel: String,
    slash: bool,
}

fn parse_path(req: &SimRequest, prefix: &'static str) -> Option<VfsPath> {
    let raw = req.path.strip_prefix(prefix).or_else(|| {
        // `/api/vfs` without the slash is the root.
        (req.path == prefix.trim_end_matches('/')).then_some("")
    })?;
    let decoded = path_decode(raw);
    let parts: Vec<&str> = decoded.split('/').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| *p == ".." || *p == ".") {
        return None;
    }
    Some(VfsPath {
        rel: parts.join("/"),
        slash: raw.is_empty() || raw.ends_with('/'),
    })
}

/// MIME type by extension, as Kudu's `MediaTypeMap` gives it (facts §4.2).
pub fn mime_for(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("json") => "application/json",
        Some("html" | "htm") => "text/html",
        Some("txt" | "log") => "text/plain",
        Some("xml") => "text/xml",
        Some("js") => "application/javascript",
        Some("css") => "text/css",
        Some("zip") => "application/zip",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// What a `Range` header asks for.
enum RangeAnswer {
    /// Not a single byte range we understand: send the whole file.
    Ignore,
    /// Inclusive byte offsets.
    Part(usize, usize),
    Unsatisfiable,
}

fn byte_range(header: &str, len: usize) -> RangeAnswer {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeAnswer::Ignore;
    };
    if spec.contains(',') {
        return RangeAnswer::Ignore;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeAnswer::Ignore;
    };
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.parse::<usize>(), last.parse::<usize>()) {
        (Ok(a), Ok(b)) if a <= b => Some((a, b.min(len.saturating_sub(1)))),
        (Ok(a), Err(_)) if last.is_empty() => Some((a, len.saturating_sub(1))),
        (Err(_), Ok(n)) if first.is_empty() && n > 0 => {
            Some((len.saturating_sub(n), len.saturating_sub(1)))
        }
        _ => return RangeAnswer::Ignore,
    };
    match range {
        Some((a, b)) if a < len && a <= b => RangeAnswer::Part(a, b),
        _ => RangeAnswer::Unsatisfiable,
    }
}

#[derive(Serialize)]
struct VfsStatEntry {
    name: String,
    size: u64,
    mtime: String,
    crtime: String,
    mime: String,
    href: String,
    path: String,
}

impl Kudu {
    /// The physical path Kudu shows (`/home/...` or `D:\home\...`, facts §4.1).
    pub fn physical_path(&self, rel: &str) -> String {
        match self.personality {
            Personality::Linux => {
                if rel.is_empty() {
                    "/home".into()
                } else {
                    format!("/home/{rel}")
                }
            }
            Personality::Windows => {
                if rel.is_empty() {
                    "D:\\home".into()
                } else {
                    format!("D:\\home\\{}", rel.replace('/', "\\"))
                }
            }
        }
    }

    fn vfs_not_found(&self, req: &SimRequest, rel: &str) -> SimResponse {
        let path = self.physical_path(rel);
        self.error(req, 404, &format!("'{path}' not found."))
    }

    fn redirect(req: &SimRequest, path: String) -> SimResponse {
        let location = if req.query.is_empty() {
            format!("{}{path}", req.base_url)
        } else {
            format!("{}{path}?{}", req.base_url, req.query)
        };
        SimResponse::new(307).with_header("location", &location)
    }

    /// `"<hex of little-endian ticks>"` (facts §4.3).
    pub fn file_etag(&self, rel: &str) -> Option<String> {
        let ticks = self.home.mtime(rel)?.dotnet_ticks();
        let hex: String = ticks
            .to_le_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Some(format!("\"{hex}\""))
    }

    /// `/api/vfs/...`: GET, PUT and DELETE.
    pub fn vfs(&mut self, req: &SimRequest) -> SimResponse {
        let Some(path) = parse_path(req, "/api/vfs/") else {
            return self.error(req, 400, "Invalid path.");
        };
        match req.method.as_str() {
            "GET" | "HEAD" => self.vfs_get(req, &path),
            "PUT" => self.vfs_put(req, &path),
            "DELETE" => self.vfs_delete(req, &path),
            _ => SimResponse::json(405, &"The requested resource does not support http method."),
        }
    }

    /// GET: directory listing (facts §4.2) or file bytes with ETag (facts §4.3); 307 when the
    /// trailing slash does not match the kind, 404 when missing.
    fn vfs_get(&mut self, req: &SimRequest, path: &VfsPath) -> SimResponse {
        let rel = &path.rel;
        if self.home.is_dir(rel) {
            if !path.slash {
                return Self::redirect(req, format!("{}/", req.path));
            }
            return self.vfs_listing(req, rel);
        }
        if self.home.is_file(rel) {
            if path.slash {
                return Self::redirect(req, req.path.trim_end_matches('/').to_string());
            }
            let Ok(bytes) = self.home.read(rel) else {
                return self.vfs_not_found(req, rel);
            };
            let etag = self.file_etag(rel).unwrap_or_default();
            if req.header("if-none-match") == Some(etag.as_str()) {
                return SimResponse::new(304).with_header("etag", &etag);
            }
            let modified = self.home.mtime(rel).unwrap_or_default().to_http_date();
            let mut resp = SimResponse::new(200)
                .with_header("content-type", mime_for(rel))
                .with_header("etag", &etag)
                .with_header("last-modified", &modified)
                .with_header("accept-ranges", "bytes");
            if let Some(secs) = self.quirks.vfs_max_age_secs {
                resp = resp.with_header("cache-control", &format!("private, max-age={secs}"));
            }
            // A single byte range is honoured (facts §4.3: 206/416).
            return match req.header("range").map(|r| byte_range(r, bytes.len())) {
                None | Some(RangeAnswer::Ignore) => resp.with_body(bytes),
                Some(RangeAnswer::Part(start, end)) => {
                    let mut part = resp.with_body(bytes[start..=end].to_vec());
                    part.status = 206;
                    part.with_header(
                        "content-range",
                        &format!("bytes {start}-{end}/{}", bytes.len()),
                    )
                }
                Some(RangeAnswer::Unsatisfiable) => SimResponse::new(416)
                    .with_header("content-range", &format!("bytes */{}", bytes.len())),
            };
        }
        self.vfs_not_found(req, rel)
    }

    /// `VfsStatEntry` array (facts §4.2).
    fn vfs_listing(&self, req: &SimRequest, rel: &str) -> SimResponse {
        let entries = self.home.list(rel).unwrap_or_default();
        let query = if req.query.is_empty() {
            String::new()
        } else {
            format!("?{}", req.query)
        };
        let base = format!("{}{}", req.base_url, req.path);
        let base = if base.ends_with('/') {
            base
        } else {
            format!("{base}/")
        };
        let mut list: Vec<VfsStatEntry> = entries
            .iter()
            .map(|e| VfsStatEntry {
                name: e.name.clone(),
                size: e.size,
                mtime: e.mtime.to_json_offset(),
                crtime: e.crtime.to_json_offset(),
                mime: if e.is_dir {
                    "inode/directory".into()
                } else {
                    mime_for(&e.name).into()
                },
                href: format!(
                    "{base}{}{}{query}",
                    percent_encode(&e.name),
                    if e.is_dir { "/" } else { "" }
                ),
                path: self.physical_path(&join(rel, &e.name)),
            })
            .collect();
        if rel.is_empty() && self.personality == Personality::Windows {
            // Special folders at the root, Windows only (facts §4.1).
            let stamp = self.home.mtime("").unwrap_or_default().to_json_offset();
            for (name, path) in [("SystemDrive", "C:\\"), ("LocalSiteRoot", "C:\\local")] {
                list.push(VfsStatEntry {
                    name: name.into(),
                    size: 0,
                    mtime: stamp.clone(),
                    crtime: stamp.clone(),
                    mime: "inode/shortcut".into(),
                    href: format!("{base}{name}/{query}"),
                    path: path.into(),
                });
            }
        }
        SimResponse::json(200, &list)
    }

    /// If-Match rules for an existing file (facts §4.4, §4.7). `Ok` means go ahead.
    fn check_if_match(&self, req: &SimRequest, rel: &str) -> Result<(), SimResponse> {
        let etag = self.file_etag(rel).unwrap_or_default();
        match req.header("if-match") {
            None => {
                if self.personality == Personality::Linux
                    && self.quirks.linux_missing_if_match_is_409
                {
                    Err(self
                        .error(req, 409, MSG_VFS_ETAG_MISMATCH)
                        .with_header("etag", &etag))
                } else {
                    Err(self.error(req, 412, MSG_VFS_NO_IF_MATCH))
                }
            }
            Some(v) if v.trim() == "*" || v.trim() == "\"*\"" || v.trim() == etag => Ok(()),
            Some(_) => {
                let status = match self.personality {
                    Personality::Windows => 412,
                    Personality::Linux => 409,
                };
                Err(self
                    .error(req, status, MSG_VFS_ETAG_MISMATCH)
                    .with_header("etag", &etag))
            }
        }
    }

    /// PUT: file 201/204 with If-Match, directory 201/409 (facts §4.7).
    fn vfs_put(&mut self, req: &SimRequest, path: &VfsPath) -> SimResponse {
        let rel = path.rel.clone();
        let now = self.now;
        if path.slash {
            if self.home.exists(&rel) {
                return self.error(
                    req,
                    409,
                    &format!("'{}' already exists.", self.physical_path(&rel)),
                );
            }
            return match self.home.mkdir_all(&rel, now) {
                Ok(()) => SimResponse::new(201),
                Err(e) => self.write_failure(req, &rel, &e),
            };
        }
        if self.home.is_dir(&rel) {
            return Self::redirect(req, format!("{}/", req.path));
        }
        let existed = self.home.is_file(&rel);
        if existed {
            if let Err(resp) = self.check_if_match(req, &rel) {
                return resp;
            }
            if self.held_file() == Some(rel.as_str()) {
                let e = std::io::Error::other(
                    "The process cannot access the file because it is being used by another process.",
                );
                return self.write_failure(req, &rel, &e);
            }
        }
        match self.home.write(&rel, &req.body, now) {
            Ok(()) => {
                let etag = self.file_etag(&rel).unwrap_or_default();
                SimResponse::new(if existed { 204 } else { 201 }).with_header("etag", &etag)
            }
            Err(e) => self.write_failure(req, &rel, &e),
        }
    }

    fn write_failure(&self, req: &SimRequest, rel: &str, e: &std::io::Error) -> SimResponse {
        self.error(
            req,
            409,
            &format!(
                "Could not write to local resource '{}' due to error '{e}'.",
                self.physical_path(rel)
            ),
        )
    }

    /// DELETE: files need If-Match (facts §4.4), directories need `recursive=true` when not
    /// empty (facts §4.5); a held Windows lock file is a 404 (facts §2.2).
    fn vfs_delete(&mut self, req: &SimRequest, path: &VfsPath) -> SimResponse {
        let rel = path.rel.clone();
        let now = self.now;
        if self.home.is_dir(&rel) {
            // No If-Match check for directories; `recursive=true` binds DeleteItem's flag
            // (facts §4.5).
            let recursive = req
                .param("recursive")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            if rel.is_empty() {
                return self.error(req, 409, MSG_DIR_DELETE);
            }
            let empty = self.home.list(&rel).map(|l| l.is_empty()).unwrap_or(false);
            if !recursive && !empty {
                return self.error(req, 409, MSG_DIR_DELETE);
            }
            if let Some(held) = self.held_file()
                && held.starts_with(&format!("{rel}/"))
            {
                // Directory.Delete deletes what it can, then fails on the held file.
                self.delete_all_but(&rel, held);
                return self.error(req, 409, MSG_DIR_DELETE);
            }
            return match self.home.remove_dir_all(&rel, now) {
                Ok(()) => SimResponse::new(200),
                Err(_) => self.error(req, 409, MSG_DIR_DELETE),
            };
        }
        if !self.home.is_file(&rel) {
            return self.vfs_not_found(req, &rel);
        }
        if path.slash {
            return Self::redirect(req, req.path.trim_end_matches('/').to_string());
        }
        if let Err(resp) = self.check_if_match(req, &rel) {
            return resp;
        }
        if self.held_file() == Some(rel.as_str()) {
            // The holder did not share delete; any delete exception is a 404 (facts §2.2, §4.4).
            let physical = self.physical_path(&rel);
            return match self.personality {
                Personality::Windows => SimResponse::json(
                    404,
                    &serde_json::json!({
                        "Message": "An error has occurred.",
                        "ExceptionMessage": format!("The process cannot access the file '{physical}' because it is being used by another process."),
                        "ExceptionType": "System.IO.IOException",
                        "StackTrace": null,
                    }),
                ),
                Personality::Linux => self.error(req, 404, &format!("'{physical}' not found.")),
            };
        }
        match self.home.remove_file(&rel, now) {
            Ok(()) => {
                if rel == STATUS_LOCK {
                    // A new status.lock is created with the right owner (facts §2.4 fix).
                    self.status_lock_denied = false;
                }
                SimResponse::new(200)
            }
            Err(_) => self.vfs_not_found(req, &rel),
        }
    }

    fn delete_all_but(&mut self, rel: &str, keep: &str) {
        let now = self.now;
        for entry in self.home.list(rel).unwrap_or_default() {
            let child = join(rel, &entry.name);
            if child == keep {
                continue;
            }
            if entry.is_dir {
                if keep.starts_with(&format!("{child}/")) {
                    self.delete_all_but(&child, keep);
                } else {
                    let _ = self.home.remove_dir_all(&child, now);
                }
            } else {
                let _ = self.home.remove_file(&child, now);
            }
        }
    }

    /// `GET|PUT /api/zip/<dir>/` (facts §4.6).
    pub fn zip(&mut self, req: &SimRequest) -> SimResponse {
        let Some(path) = parse_path(req, "/api/zip/") else {
            return self.error(req, 400, "Invalid path.");
        };
        let rel = path.rel.clone();
        if !self.home.is_dir(&rel) {
            return self.vfs_not_found(req, &rel);
        }
        if !path.slash {
            return Self::redirect(req, format!("{}/", req.path));
        }
        match req.method.as_str() {
            "GET" => {
                let dir_name = rel
                    .rsplit('/')
                    .next()
                    .filter(|n| !n.is_empty())
                    .unwrap_or("home");
                let file_name = req
                    .param("filename")
                    .unwrap_or_else(|| format!("{dir_name}.zip"));
                match archive::zip_dir(&self.home, &rel, &self.unopenable) {
                    Ok(bytes) => SimResponse::new(200)
                        .with_header("content-type", "application/zip")
                        .with_header(
                            "content-disposition",
                            &format!("attachment; filename={file_name}"),
                        )
                        .with_body(bytes),
                    Err(e) => self.error(req, 500, &e.to_string()),
                }
            }
            "PUT" => {
                let now = self.now;
                archive::unzip_into(&mut self.home, &rel, &req.body, now);
                SimResponse::new(200)
            }
            _ => SimResponse::json(405, &"The requested resource does not support http method."),
        }
    }
}
