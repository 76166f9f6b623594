//! Checking the two archives Kudu sent and nesting them in the one file the user keeps.
//!
//! [`VerifiedBackup`] can only be built here, from archives that passed [`check_archive`]; the
//! run needs one before it can reach any destructive step.

use crate::cleanup::zip_index::{ZipIndex, read_index};
use crate::cleanup::zip_writer::{StoredZip, ZipTime};
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

/// Whether the archive opens and shows what the listing showed; `Err` says why not.
pub(super) fn check_archive(
    dir: &str,
    bytes: &[u8],
    expect: &Expectation,
) -> Result<ZipIndex, String> {
    let index =
        read_index(bytes).map_err(|e| format!("The backup of {dir} cannot be opened: {e}."))?;
    if index.entries.is_empty() && expect.listed_something {
        return Err(format!(
            "The backup of {dir} is empty, but the listing showed entries there."
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
}
