//! The simulated HOME: a real directory tree in a tempdir whose timestamps follow the virtual
//! clock, so VFS listings, ETags and zips are what is on disk and yet deterministic.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::time::VTime;

/// A HOME directory (`/home` on Linux, `D:\home` on Windows; facts §2.1) kept in a tempdir.
pub struct Home {
    dir: tempfile::TempDir,
    /// Creation times, which Linux cannot set on disk (VFS `crtime`, facts §4.2).
    /// Ordered, so a folder's whole subtree is one key range (see `remove_dir_all`).
    created: BTreeMap<String, VTime>,
}

/// One entry of a directory listing.
pub struct DirEntry {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
    pub mtime: VTime,
    pub crtime: VTime,
}

impl Home {
    /// A fresh, empty HOME in a new tempdir.
    pub fn new() -> io::Result<Home> {
        Ok(Home {
            dir: tempfile::Builder::new().prefix("kudu-sim-home").tempdir()?,
            created: BTreeMap::new(),
        })
    }

    /// The real path of the tempdir that stands for HOME.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Real path of a `/`-separated path relative to HOME.
    pub fn abs(&self, rel: &str) -> PathBuf {
        let mut path = self.dir.path().to_path_buf();
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            path.push(part);
        }
        path
    }

    /// Removes everything under HOME (scenario reload).
    pub fn wipe(&mut self) -> io::Result<()> {
        for entry in fs::read_dir(self.dir.path())? {
            let path = entry?.path();
            if path.is_dir() {
                fs::remove_dir_all(&path)?;
            } else {
                fs::remove_file(&path)?;
            }
        }
        self.created.clear();
        Ok(())
    }

    /// Whether anything exists at `rel`.
    pub fn exists(&self, rel: &str) -> bool {
        self.abs(rel).exists()
    }

    /// Whether `rel` is a directory.
    pub fn is_dir(&self, rel: &str) -> bool {
        self.abs(rel).is_dir()
    }

    /// Whether `rel` is a file.
    pub fn is_file(&self, rel: &str) -> bool {
        self.abs(rel).is_file()
    }

    /// A file's bytes.
    pub fn read(&self, rel: &str) -> io::Result<Vec<u8>> {
        fs::read(self.abs(rel))
    }

    /// A file's text; `None` when missing or unreadable.
    pub fn read_string(&self, rel: &str) -> Option<String> {
        fs::read_to_string(self.abs(rel)).ok()
    }

    /// Creates a directory and its parents, stamping new ones with `now`.
    pub fn mkdir_all(&mut self, rel: &str, now: VTime) -> io::Result<()> {
        let mut acc = String::new();
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            let parent = acc.clone();
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(part);
            let path = self.abs(&acc);
            if !path.is_dir() {
                fs::create_dir(&path)?;
                self.stamp(&acc, now);
                self.created.insert(acc.clone(), now);
                self.stamp(&parent, now);
            }
        }
        Ok(())
    }

    /// Writes a file (creating parents), stamping it and its directory with `now`.
    pub fn write(&mut self, rel: &str, bytes: &[u8], now: VTime) -> io::Result<()> {
        let parent = parent_of(rel);
        self.mkdir_all(&parent, now)?;
        let path = self.abs(rel);
        let is_new = !path.exists();
        fs::write(&path, bytes)?;
        self.stamp(rel, now);
        if is_new {
            self.created.insert(normalise(rel), now);
            self.stamp(&parent, now);
        }
        Ok(())
    }

    /// Appends to a file, creating it when missing.
    pub fn append(&mut self, rel: &str, bytes: &[u8], now: VTime) -> io::Result<()> {
        let mut content = self.read(rel).unwrap_or_default();
        content.extend_from_slice(bytes);
        self.write(rel, &content, now)
    }

    /// Sets a file's mtime to `now` (Kudu touches `active` to bust caches, facts §3).
    pub fn touch(&mut self, rel: &str, now: VTime) -> io::Result<()> {
        if !self.exists(rel) {
            return self.write(rel, b"", now);
        }
        self.stamp(rel, now);
        Ok(())
    }

    /// Deletes a file, stamping its directory.
    pub fn remove_file(&mut self, rel: &str, now: VTime) -> io::Result<()> {
        fs::remove_file(self.abs(rel))?;
        self.created.remove(&normalise(rel));
        self.stamp(&parent_of(rel), now);
        Ok(())
    }

    /// Deletes a directory tree, stamping its parent.
    pub fn remove_dir_all(&mut self, rel: &str, now: VTime) -> io::Result<()> {
        fs::remove_dir_all(self.abs(rel))?;
        let key = normalise(rel);
        // `key/...` sorts between `key/` and `key0` ('0' follows '/'): removing that range
        // costs the subtree, not a scan of every file HOME ever created (a cleanup deletes
        // hundreds of folders).
        let subtree: Vec<String> = self
            .created
            .range(format!("{key}/")..format!("{key}0"))
            .map(|(k, _)| k.clone())
            .collect();
        for k in subtree {
            self.created.remove(&k);
        }
        self.created.remove(&key);
        self.stamp(&parent_of(rel), now);
        Ok(())
    }

    /// Renames a file in place (`File.Move`): it keeps its times; the directory is stamped.
    pub fn rename(&mut self, from: &str, to: &str, now: VTime) -> io::Result<()> {
        fs::rename(self.abs(from), self.abs(to))?;
        if let Some(created) = self.created.remove(&normalise(from)) {
            self.created.insert(normalise(to), created);
        }
        self.stamp(&parent_of(to), now);
        Ok(())
    }

    /// Removes an empty directory.
    pub fn remove_dir(&mut self, rel: &str, now: VTime) -> io::Result<()> {
        fs::remove_dir(self.abs(rel))?;
        self.created.remove(&normalise(rel));
        self.stamp(&parent_of(rel), now);
        Ok(())
    }

    /// Last write time (virtual).
    pub fn mtime(&self, rel: &str) -> Option<VTime> {
        let meta = fs::metadata(self.abs(rel)).ok()?;
        Some(VTime::from_system_time(meta.modified().ok()?))
    }

    /// Creation time (virtual), falling back to the mtime.
    pub fn crtime(&self, rel: &str) -> Option<VTime> {
        self.created
            .get(&normalise(rel))
            .copied()
            .or_else(|| self.mtime(rel))
    }

    /// Lists a directory sorted by name (deterministic, unlike `read_dir`).
    pub fn list(&self, rel: &str) -> io::Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(self.abs(rel))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = entry.metadata()?;
            let child = join(rel, &name);
            let mtime = meta
                .modified()
                .map(VTime::from_system_time)
                .unwrap_or_default();
            out.push(DirEntry {
                is_dir: meta.is_dir(),
                size: if meta.is_dir() { 0 } else { meta.len() },
                mtime,
                crtime: self
                    .created
                    .get(&normalise(&child))
                    .copied()
                    .unwrap_or(mtime),
                name,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn stamp(&self, rel: &str, now: VTime) {
        // A failed stamp only makes a timestamp less pretty; the content is what matters.
        if let Ok(file) = fs::File::open(self.abs(rel)) {
            let _ = file.set_modified(now.to_system_time());
        }
    }
}

/// Joins a relative directory and a name with `/`.
pub fn join(dir: &str, name: &str) -> String {
    let dir = dir.trim_matches('/');
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn normalise(rel: &str) -> String {
    rel.split('/')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

fn parent_of(rel: &str) -> String {
    let norm = normalise(rel);
    match norm.rsplit_once('/') {
        Some((parent, _)) => parent.to_string(),
        None => String::new(),
    }
}
