//! Zip in and out: extracting pushed packages into wwwroot and streaming `/api/zip` downloads
//! (facts §4.6).

use std::io::{Cursor, Read, Write};

use crate::home::{Home, join};

/// The files of a zip as `(relative path, bytes)`, skipping directories and unsafe names. A
/// body that is not a zip yields nothing (Kudu would fail the deployment; the simulator keeps
/// going so tests can push placeholder bodies).
pub fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let Ok(mut file) = archive.by_index(i) else {
            continue;
        };
        if file.is_dir() {
            continue;
        }
        let Some(name) = file.enclosed_name() else {
            continue;
        };
        let name = name.to_string_lossy().replace('\\', "/");
        let mut content = Vec::new();
        if file.read_to_end(&mut content).is_ok() {
            out.push((name, content));
        }
    }
    out
}

/// Builds a zip from `(path, bytes)` pairs (scenario pushes and tests).
pub fn zip_files(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    // Stored, not deflated: scenario zips are tiny and debug-build deflate is slow.
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    for (name, bytes) in files {
        if writer.start_file(*name, options).is_err() || writer.write_all(bytes).is_err() {
            return Vec::new();
        }
    }
    writer
        .finish()
        .map(|cursor| cursor.into_inner())
        .unwrap_or_default()
}

/// A zip of a HOME directory's contents (not the directory itself), entries sorted, with the
/// files' virtual mtimes, as Kudu writes it (`ZipArchiveExtensions`, projectkudu/kudu and
/// KuduLite): a folder gets its own entry only when it is empty, and a file that cannot be
/// opened (`unopenable`, HOME-relative) is left out without a word.
pub fn zip_dir(
    home: &Home,
    rel: &str,
    unopenable: &std::collections::BTreeSet<String>,
) -> std::io::Result<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    add_dir(home, rel, "", unopenable, &mut writer)?;
    writer
        .finish()
        .map(|cursor| cursor.into_inner())
        .map_err(std::io::Error::other)
}

fn add_dir(
    home: &Home,
    rel: &str,
    prefix: &str,
    unopenable: &std::collections::BTreeSet<String>,
    writer: &mut zip::ZipWriter<Cursor<Vec<u8>>>,
) -> std::io::Result<()> {
    for entry in home.list(rel)? {
        let child = join(rel, &entry.name);
        let name = format!("{prefix}{}", entry.name);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip_time(entry.mtime));
        if entry.is_dir {
            // Kudu writes a folder's own entry only when it lists nothing (even when every
            // file in it was then skipped, the folder gets no entry).
            if home.list(&child)?.is_empty() {
                writer
                    .add_directory(format!("{name}/"), options)
                    .map_err(std::io::Error::other)?;
            }
            add_dir(home, &child, &format!("{name}/"), unopenable, writer)?;
        } else if unopenable.contains(&child) {
            // Kudu's `AddFile` catches the open's exception, traces it and returns.
            continue;
        } else {
            writer
                .start_file(name, options)
                .map_err(std::io::Error::other)?;
            writer.write_all(&home.read(&child)?)?;
        }
    }
    Ok(())
}

fn zip_time(t: crate::time::VTime) -> zip::DateTime {
    let stamp = t.to_rfc3339();
    let num = |a: usize, b: usize| {
        stamp
            .get(a..b)
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(0)
    };
    zip::DateTime::from_date_and_time(
        num(0, 4),
        num(5, 7) as u8,
        num(8, 10) as u8,
        num(11, 13) as u8,
        num(14, 16) as u8,
        num(17, 19) as u8,
    )
    .unwrap_or_default()
}

/// Extracts a zip over an existing directory (`PUT /api/zip`, facts §4.6).
pub fn unzip_into(home: &mut Home, rel: &str, bytes: &[u8], now: crate::time::VTime) -> usize {
    let files = unzip(bytes);
    for (name, content) in &files {
        let _ = home.write(&join(rel, name), content, now);
    }
    files.len()
}
