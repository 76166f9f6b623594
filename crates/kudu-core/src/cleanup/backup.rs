//! Checking the two archives Kudu sent and nesting them in the one file the user keeps.
//!
//! [`VerifiedBackup`] can only be built here, from archives that passed [`check_archive`]; the
//! run needs one before it can reach any destructive step.
//!
//! What an archive is checked against: the folder's own VFS listing, read beside the zip (its
//! top level: names, kinds and file sizes; Kudu lists no deeper in one read), the names the
//! plan deletes, and the archive itself (every file entry's data against its CRC-32). Kudu's
//! zip skips any file it cannot open and says nothing (`ZipArchiveExtensions.AddFile` catches
//! the exception, traces it and returns; projectkudu/kudu and KuduLite alike), so a file in
//! use is simply absent: each one missing is named and the run stops.

use crate::cleanup::crc32::crc32;
use crate::cleanup::inflate::inflate_crc;
use crate::cleanup::zip_index::{ZipEntry, ZipIndex, entry_data, read_index};
use crate::cleanup::zip_writer::{StoredZip, ZipTime};
use crate::model::VfsEntry;
use crate::plan::paths::{DEPLOYMENTS_DIR, LOCKS_DIR, delete_target};
use crate::plan::{Precondition, Step, StepKind};
use crate::time::Timestamp;

/// What an archive of one folder must show, from the plan.
#[derive(Clone, Debug, Default)]
pub(super) struct Expectation {
    /// Names the plan deletes in this folder, with whether each is a folder.
    pub(super) deleted: Vec<(String, bool)>,
    /// The listing the plan came from showed something in this folder.
    pub(super) listed_something: bool,
    /// The folder's top level as Kudu listed it beside the zip.
    pub(super) listing: Vec<VfsEntry>,
    /// Files the archive may lack because Kudu itself holds them open: Windows'
    /// `deployments.lock` while its holder lives (kudu-facts 2.2: the holder keeps a write
    /// handle, so the zip's `OpenRead` fails), when the plan frees it by restarting Kudu and
    /// deletes nothing in `site/locks/`.
    pub(super) held_open: Vec<String>,
}

/// The folder a backup request archives (`/api/zip/site/locks/` → `site/locks/`).
pub(super) fn backup_dir(path: &str) -> Option<&'static str> {
    [LOCKS_DIR, DEPLOYMENTS_DIR]
        .into_iter()
        .find(|dir| path == format!("/api/zip/{dir}"))
}

/// What the archive of `dir` must hold, from the steps the run will perform.
pub(super) fn expectation(dir: &str, steps: &[&Step]) -> Expectation {
    let mut out = Expectation::default();
    for step in steps {
        if let Some((d, name)) = delete_target(&step.request)
            && d == dir
        {
            out.deleted
                .push((name.to_string(), step.kind == StepKind::DeleteDir));
            out.listed_something = true;
        }
        if lists_something_in(&step.precondition, dir) {
            out.listed_something = true;
        }
    }
    out
}

fn lists_something_in(p: &Precondition, dir: &str) -> bool {
    match p {
        Precondition::StillListed { dir: d, .. } => d == dir,
        Precondition::All(all) => all.iter().any(|p| lists_something_in(p, dir)),
        _ => false,
    }
}

/// Whether the archive opens, every file in it matches its CRC-32, and it holds every entry
/// the listing showed (files with the listed size) and every name the plan deletes; `Err`
/// says why not, naming each file.
pub(super) fn check_archive(
    dir: &str,
    bytes: &[u8],
    expect: &Expectation,
) -> Result<ZipIndex, String> {
    let index =
        read_index(bytes).map_err(|e| format!("The backup of {dir} cannot be opened: {e}."))?;
    if index.entries.is_empty() && (expect.listed_something || !expect.listing.is_empty()) {
        return Err(format!(
            "The backup of {dir} is empty, but the listing showed entries there."
        ));
    }
    let damaged: Vec<String> = index
        .entries
        .iter()
        .filter(|e| !e.is_dir)
        .filter_map(|e| entry_damage(bytes, e).map(|why| format!("{dir}{} ({why})", e.name)))
        .collect();
    if !damaged.is_empty() {
        return Err(format!(
            "The backup of {dir} is damaged: {} {} not match {} checksum.",
            damaged.join(", "),
            if damaged.len() == 1 { "does" } else { "do" },
            if damaged.len() == 1 { "its" } else { "their" },
        ));
    }
    let mut skipped = vec![];
    let mut resized = vec![];
    for listed in &expect.listing {
        if listed.is_dir {
            if !index.has_dir(&listed.name) {
                skipped.push(format!("{dir}{}/", listed.name));
            }
            continue;
        }
        match index
            .entries
            .iter()
            .find(|e| !e.is_dir && e.name == listed.name)
        {
            None if expect
                .held_open
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&listed.name)) => {}
            None => skipped.push(format!("{dir}{}", listed.name)),
            Some(e) if e.uncompressed_size != listed.size => resized.push(format!(
                "{dir}{} ({} bytes in the zip, {} listed)",
                listed.name, e.uncompressed_size, listed.size
            )),
            Some(_) => {}
        }
    }
    if !skipped.is_empty() {
        return Err(format!(
            "Kudu's zip of {dir} left out {}, which the folder lists: Kudu skips a file it cannot open (one in use, or without read access), so the backup is incomplete.",
            skipped.join(", ")
        ));
    }
    if !resized.is_empty() {
        return Err(format!(
            "The backup of {dir} does not match the folder's listing: {}. The folder changed while it was read, or the zip is incomplete.",
            resized.join(", ")
        ));
    }
    let missing: Vec<String> = expect
        .deleted
        .iter()
        .filter(|(name, is_dir)| {
            if *is_dir {
                !index.has_dir(name)
            } else {
                !index.has_file(name)
            }
        })
        .map(|(name, is_dir)| format!("{dir}{name}{}", if *is_dir { "/" } else { "" }))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "The backup of {dir} does not hold {}, which the cleanup would delete.",
            missing.join(", ")
        ));
    }
    Ok(index)
}

/// Why an entry's data does not match its header, if it does not.
fn entry_damage(bytes: &[u8], entry: &ZipEntry) -> Option<String> {
    let data = match entry_data(bytes, entry) {
        Ok(data) => data,
        Err(e) => return Some(e.to_string()),
    };
    let (crc, len) = match entry.method {
        0 => (crc32(data), data.len() as u64),
        8 => match inflate_crc(data, entry.uncompressed_size) {
            Ok(out) => out,
            Err(e) => return Some(format!("its data does not decompress: {e:?}")),
        },
        other => return Some(format!("compression method {other}, which Kudu never uses")),
    };
    if len != entry.uncompressed_size {
        return Some(format!(
            "{len} bytes, where the zip says {}",
            entry.uncompressed_size
        ));
    }
    (crc != entry.crc32).then(|| "its CRC-32 differs".to_string())
}

/// The one file the user downloads, built only from checked archives.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) struct VerifiedBackup {
    file_name: String,
    bytes: Vec<u8>,
}

impl VerifiedBackup {
    pub(super) fn file_name(&self) -> &str {
        &self.file_name
    }

    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// One checked archive: the folder, Kudu's bytes, and what they hold.
pub(super) struct CheckedArchive {
    pub(super) dir: &'static str,
    pub(super) bytes: Vec<u8>,
    pub(super) index: ZipIndex,
}

/// `<site>-kudu-backup-YYYYMMDDTHHMMSSZ.zip`, with anything but letters, digits, `-`, `_` and
/// `.` in the site name replaced: it becomes a file name on the user's disk.
pub fn backup_file_name(site_name: &str, taken_at: Timestamp) -> String {
    let site: String = site_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let site = site.trim_matches('.');
    let site = if site.is_empty() { "site" } else { site };
    let stamp: String = taken_at
        .to_rfc3339()
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    format!("{site}-kudu-backup-{stamp}Z.zip")
}

/// Nests the checked archives, unchanged, in one stored zip with a note on how to restore.
pub(super) fn combine(
    site_name: &str,
    taken_at: Timestamp,
    archives: &[CheckedArchive],
) -> Result<VerifiedBackup, String> {
    let mut zip = StoredZip::new(ZipTime::from_timestamp(taken_at));
    let mut note = format!(
        "Kudu Doctor backup of {site_name}, taken {} (UTC), before a cleanup.\n\n",
        taken_at.to_rfc3339()
    );
    for archive in archives {
        let name = nested_name(archive.dir);
        note.push_str(&format!(
            "{name}: the contents of {} exactly as Kudu's /api/zip/{} sent them ({} files, {} entries).\n",
            archive.dir,
            archive.dir,
            archive.index.file_count(),
            archive.index.entries.len()
        ));
    }
    note.push_str(
        "\nTo restore a folder, send its zip with PUT /api/zip/<folder>/ (Kudu extracts it over \
         the folder), or unzip it there from the Kudu console.\n",
    );
    let too_large = |_| "The backup is too large to pack into one zip (over 4 GiB).".to_string();
    zip.add_file("README.txt", note.as_bytes())
        .map_err(too_large)?;
    for archive in archives {
        zip.add_file(&nested_name(archive.dir), &archive.bytes)
            .map_err(too_large)?;
    }
    let bytes = zip.finish().map_err(too_large)?;
    Ok(VerifiedBackup {
        file_name: backup_file_name(site_name, taken_at),
        bytes,
    })
}

/// `site/locks/` → `site-locks.zip`.
pub fn nested_name(dir: &str) -> String {
    format!("{}.zip", dir.trim_end_matches('/').replace('/', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_name_carries_site_and_utc_time() {
        let t = Timestamp::parse_rfc3339("2026-11-26T09:05:03.250Z").unwrap();
        assert_eq!(
            backup_file_name("my-app", t),
            "my-app-kudu-backup-20261126T090503Z.zip"
        );
        assert_eq!(
            backup_file_name("../x y", t),
            "-x-y-kudu-backup-20261126T090503Z.zip"
        );
        assert_eq!(nested_name("site/locks/"), "site-locks.zip");
    }

    #[test]
    fn an_archive_must_hold_what_the_plan_deletes() {
        let mut zip = StoredZip::new(ZipTime::default());
        zip.add_dir("deployment/").unwrap();
        zip.add_file("status.lock", b"").unwrap();
        let bytes = zip.finish().unwrap();
        let expect = |deleted: Vec<(&str, bool)>| Expectation {
            deleted: deleted
                .into_iter()
                .map(|(n, d)| (n.to_string(), d))
                .collect(),
            listed_something: true,
            ..Expectation::default()
        };
        assert!(check_archive(LOCKS_DIR, &bytes, &expect(vec![("deployment", true)])).is_ok());
        assert!(check_archive(LOCKS_DIR, &bytes, &expect(vec![("status.lock", false)])).is_ok());
        let err =
            check_archive(LOCKS_DIR, &bytes, &expect(vec![("deployment", false)])).unwrap_err();
        assert!(err.contains("site/locks/deployment"), "{err}");
        let empty = StoredZip::new(ZipTime::default()).finish().unwrap();
        assert!(check_archive(LOCKS_DIR, &empty, &expect(vec![])).is_err());
        assert!(check_archive(LOCKS_DIR, &empty, &Expectation::default()).is_ok());
    }

    fn listed(name: &str, is_dir: bool, size: u64) -> VfsEntry {
        VfsEntry {
            name: name.into(),
            is_dir,
            size,
            modified: None,
            physical_path: None,
        }
    }

    fn against(listing: Vec<VfsEntry>) -> Expectation {
        Expectation {
            listing,
            ..Expectation::default()
        }
    }

    #[test]
    fn every_entry_is_checked_against_its_crc() {
        let bytes = crate::cleanup::zip_index::python_deflated_sample();
        let listing = vec![
            listed("deployment", true, 0),
            listed("status.lock", false, 0),
        ];
        assert!(check_archive(LOCKS_DIR, &bytes, &against(listing.clone())).is_ok());
        // One byte of info.lock's deflated data changed: it no longer decodes to its CRC.
        let index = read_index(&bytes).unwrap();
        let entry = &index.entries[1];
        let data_at =
            entry_data(&bytes, entry).unwrap().as_ptr() as usize - bytes.as_ptr() as usize;
        for at in [
            data_at + 3,
            data_at + 40,
            data_at + entry.compressed_size as usize - 2,
        ] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            let err = check_archive(LOCKS_DIR, &bad, &against(listing.clone())).unwrap_err();
            assert!(err.contains("site/locks/deployment/info.lock"), "{err}");
            assert!(err.contains("damaged"), "{err}");
        }
        // A stored entry whose data changed.
        let mut zip = StoredZip::new(ZipTime::default());
        zip.add_file("status.lock", b"{}").unwrap();
        let mut stored = zip.finish().unwrap();
        let at = stored.windows(2).position(|w| w == b"{}").unwrap();
        stored[at] = b'[';
        let err = check_archive(LOCKS_DIR, &stored, &Expectation::default()).unwrap_err();
        assert!(err.contains("site/locks/status.lock"), "{err}");
    }

    #[test]
    fn each_listed_file_kudu_skipped_is_named() {
        let mut zip = StoredZip::new(ZipTime::default());
        zip.add_file("settings.xml", b"<settings/>").unwrap();
        zip.add_file("a1/status.xml", b"<deployment/>").unwrap();
        let bytes = zip.finish().unwrap();
        let listing = vec![
            listed("settings.xml", false, 11),
            listed("a1", true, 0),
            listed("active", false, 3),
            listed("b2", true, 0),
        ];
        let err = check_archive(DEPLOYMENTS_DIR, &bytes, &against(listing)).unwrap_err();
        assert!(
            err.contains("left out site/deployments/active, site/deployments/b2/"),
            "{err}"
        );
        let err = check_archive(
            DEPLOYMENTS_DIR,
            &bytes,
            &against(vec![listed("settings.xml", false, 12)]),
        )
        .unwrap_err();
        assert!(
            err.contains("site/deployments/settings.xml (11 bytes in the zip, 12 listed)"),
            "{err}"
        );
        assert!(
            check_archive(
                DEPLOYMENTS_DIR,
                &bytes,
                &against(vec![
                    listed("settings.xml", false, 11),
                    listed("a1", true, 0)
                ])
            )
            .is_ok()
        );
    }

    #[test]
    fn only_a_lock_kudu_holds_open_may_be_missing() {
        let mut zip = StoredZip::new(ZipTime::default());
        zip.add_file("status.lock", b"").unwrap();
        let bytes = zip.finish().unwrap();
        let listing = vec![
            listed("status.lock", false, 0),
            listed("deployments.lock", false, 120),
        ];
        assert!(check_archive(LOCKS_DIR, &bytes, &against(listing.clone())).is_err());
        let expect = Expectation {
            held_open: vec!["deployments.lock".into()],
            ..against(listing)
        };
        assert!(check_archive(LOCKS_DIR, &bytes, &expect).is_ok());
    }
}
