//! A bounded, panic-free reader of a zip's central directory: entry names and sizes, enough to
//! check that a backup opens and holds what the listing showed. It never decompresses.
//!
//! Every number in an archive is untrusted: offsets and sizes are checked against the bytes
//! actually present before use, nothing is allocated from a claimed count or size, and at most
//! [`MAX_ENTRIES`] entries are read. Zip64 end records are followed, so archives over 4 GiB or
//! 65,535 entries (which .NET writes as zip64) are read too.

use std::fmt;

/// More entries than any `site/locks` or `site/deployments` folder holds; an archive claiming
/// more is refused rather than read.
pub const MAX_ENTRIES: u64 = 200_000;

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD_LEN: usize = 22;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const CENTRAL_LEN: usize = 46;
const LOCAL_SIG: u32 = 0x0403_4b50;
const LOCAL_LEN: usize = 30;
/// The end record may be followed by a comment of up to 65,535 bytes.
const MAX_COMMENT: usize = 0xFFFF;

/// One file or folder in an archive.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ZipEntry {
    /// As stored, with `\` (written by old .NET) turned into `/`.
    pub name: String,
    pub is_dir: bool,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub crc32: u32,
    /// 0 stored, 8 deflated.
    pub method: u16,
    pub local_header_offset: u64,
}

/// The entries of an archive, in central directory order.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ZipIndex {
    pub entries: Vec<ZipEntry>,
}

impl ZipIndex {
    /// Whether `name` is an entry, or a folder shown by an entry under `name/`.
    pub fn has_file(&self, name: &str) -> bool {
        self.entries.iter().any(|e| !e.is_dir && e.name == name)
    }

    /// Whether the folder `name` is in the archive: its own `name/` entry or anything under it.
    pub fn has_dir(&self, name: &str) -> bool {
        let prefix = format!("{name}/");
        self.entries.iter().any(|e| e.name.starts_with(&prefix))
    }

    pub fn file_count(&self) -> usize {
        self.entries.iter().filter(|e| !e.is_dir).count()
    }
}

/// Why bytes are not a readable zip.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ZipError {
    /// No end-of-central-directory record in the last 64 KiB: not a zip, or cut short.
    NoEndRecord,
    /// A record points outside the bytes present: the archive was cut short or is corrupt.
    OutOfBounds(&'static str),
    /// A record does not start with its signature.
    BadSignature(&'static str),
    /// More entries than [`MAX_ENTRIES`], or more than the directory could hold.
    TooManyEntries(u64),
    /// Split or spanned archives, which Kudu never writes.
    MultiDisk,
}

impl fmt::Display for ZipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZipError::NoEndRecord => write!(
                f,
                "it is not a zip archive, or it was cut short (no end-of-archive record)"
            ),
            ZipError::OutOfBounds(what) => {
                write!(
                    f,
                    "its {what} points past the end: the download was cut short or is corrupt"
                )
            }
            ZipError::BadSignature(what) => write!(f, "its {what} is corrupt"),
            ZipError::TooManyEntries(n) => {
                write!(f, "it claims {n} entries, more than it can hold")
            }
            ZipError::MultiDisk => write!(f, "it is a split archive, which Kudu never writes"),
        }
    }
}

/// The stored (possibly compressed) data of `entry`, behind its local header in `bytes`.
pub fn entry_data<'b>(bytes: &'b [u8], entry: &ZipEntry) -> Result<&'b [u8], ZipError> {
    const WHAT: ZipError = ZipError::OutOfBounds("entry data");
    let at = to_usize(entry.local_header_offset).ok_or(WHAT)?;
    let local = Reader::at(bytes, at);
    if local.u32(0) != Some(LOCAL_SIG) {
        return Err(ZipError::BadSignature("local entry header"));
    }
    let name_len = usize::from(local.u16(26).ok_or(WHAT)?);
    let extra_len = usize::from(local.u16(28).ok_or(WHAT)?);
    let start = at
        .checked_add(LOCAL_LEN)
        .and_then(|v| v.checked_add(name_len))
        .and_then(|v| v.checked_add(extra_len))
        .ok_or(WHAT)?;
    let end = start
        .checked_add(to_usize(entry.compressed_size).ok_or(WHAT)?)
        .ok_or(WHAT)?;
    bytes.get(start..end).ok_or(WHAT)
}

/// Reads the central directory of `bytes`.
pub fn read_index(bytes: &[u8]) -> Result<ZipIndex, ZipError> {
    let eocd_at = find_end_record(bytes).ok_or(ZipError::NoEndRecord)?;
    let eocd = Reader::at(bytes, eocd_at);
    let disk = eocd.u16(4).ok_or(ZipError::OutOfBounds("end record"))?;
    let cd_disk = eocd.u16(6).ok_or(ZipError::OutOfBounds("end record"))?;
    let mut count = u64::from(eocd.u16(10).ok_or(ZipError::OutOfBounds("end record"))?);
    let mut cd_size = u64::from(eocd.u32(12).ok_or(ZipError::OutOfBounds("end record"))?);
    let mut cd_offset = u64::from(eocd.u32(16).ok_or(ZipError::OutOfBounds("end record"))?);
    let mut cd_end_limit = eocd_at as u64;
    if count == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
        if let Some(z) = zip64_end(bytes, eocd_at)? {
            count = z.count;
            cd_size = z.cd_size;
            cd_offset = z.cd_offset;
            cd_end_limit = z.record_at;
        }
    } else if disk != 0 || cd_disk != 0 {
        return Err(ZipError::MultiDisk);
    }
    let cd_end = cd_offset
        .checked_add(cd_size)
        .ok_or(ZipError::OutOfBounds("central directory"))?;
    if cd_end > cd_end_limit {
        return Err(ZipError::OutOfBounds("central directory"));
    }
    if count > MAX_ENTRIES || count.saturating_mul(CENTRAL_LEN as u64) > cd_size {
        return Err(ZipError::TooManyEntries(count));
    }
    // `count` is now bounded by both MAX_ENTRIES and the bytes present.
    let mut entries = Vec::with_capacity(count as usize);
    let mut at = to_usize(cd_offset).ok_or(ZipError::OutOfBounds("central directory"))?;
    let cd_end = to_usize(cd_end).ok_or(ZipError::OutOfBounds("central directory"))?;
    for _ in 0..count {
        let (entry, next) = central_entry(bytes, at, cd_end, cd_offset)?;
        entries.push(entry);
        at = next;
    }
    Ok(ZipIndex { entries })
}

/// The end record nearest the end whose comment length fits the bytes after it exactly, or
/// failing that the nearest one whose comment fits at all.
fn find_end_record(bytes: &[u8]) -> Option<usize> {
    let last = bytes.len().checked_sub(EOCD_LEN)?;
    let first = last.saturating_sub(MAX_COMMENT);
    let mut loose = None;
    for at in (first..=last).rev() {
        let r = Reader::at(bytes, at);
        if r.u32(0) != Some(EOCD_SIG) {
            continue;
        }
        let Some(comment) = r.u16(20) else { continue };
        let end = at.saturating_add(EOCD_LEN + usize::from(comment));
        if end == bytes.len() {
            return Some(at);
        }
        if end < bytes.len() && loose.is_none() {
            loose = Some(at);
        }
    }
    loose
}

struct Zip64End {
    count: u64,
    cd_size: u64,
    cd_offset: u64,
    record_at: u64,
}

fn zip64_end(bytes: &[u8], eocd_at: usize) -> Result<Option<Zip64End>, ZipError> {
    let Some(locator_at) = eocd_at.checked_sub(ZIP64_LOCATOR_LEN) else {
        return Ok(None);
    };
    let locator = Reader::at(bytes, locator_at);
    if locator.u32(0) != Some(ZIP64_LOCATOR_SIG) {
        // The 0xFFFF count may be real in a plain archive; the caller's checks still apply.
        return Ok(None);
    }
    let record_at = locator
        .u64(8)
        .ok_or(ZipError::OutOfBounds("zip64 locator"))?;
    if record_at >= locator_at as u64 {
        return Err(ZipError::OutOfBounds("zip64 end record"));
    }
    let record = Reader::at(
        bytes,
        to_usize(record_at).ok_or(ZipError::OutOfBounds("zip64 end record"))?,
    );
    if record.u32(0) != Some(ZIP64_EOCD_SIG) {
        return Err(ZipError::BadSignature("zip64 end record"));
    }
    let field = |off| {
        record
            .u64(off)
            .ok_or(ZipError::OutOfBounds("zip64 end record"))
    };
    Ok(Some(Zip64End {
        count: field(32)?,
        cd_size: field(40)?,
        cd_offset: field(48)?,
        record_at,
    }))
}

/// One central directory header at `at`, and where the next begins.
fn central_entry(
    bytes: &[u8],
    at: usize,
    cd_end: usize,
    cd_offset: u64,
) -> Result<(ZipEntry, usize), ZipError> {
    const WHAT: &str = "central directory";
    let r = Reader::at(bytes, at);
    if r.u32(0).ok_or(ZipError::OutOfBounds(WHAT))? != CENTRAL_SIG {
        return Err(ZipError::BadSignature(WHAT));
    }
    let get16 = |off| r.u16(off).ok_or(ZipError::OutOfBounds(WHAT));
    let get32 = |off| r.u32(off).ok_or(ZipError::OutOfBounds(WHAT));
    let method = get16(10)?;
    let crc32 = get32(16)?;
    let mut compressed_size = u64::from(get32(20)?);
    let mut uncompressed_size = u64::from(get32(24)?);
    let name_len = usize::from(get16(28)?);
    let extra_len = usize::from(get16(30)?);
    let comment_len = usize::from(get16(32)?);
    let mut local_header_offset = u64::from(get32(42)?);
    let name_at = at.saturating_add(CENTRAL_LEN);
    let extra_at = name_at.saturating_add(name_len);
    let extra_end = extra_at.saturating_add(extra_len);
    let next = extra_end.saturating_add(comment_len);
    if next > cd_end {
        return Err(ZipError::OutOfBounds(WHAT));
    }
    let name_bytes = bytes
        .get(name_at..extra_at)
        .ok_or(ZipError::OutOfBounds(WHAT))?;
    let extra = bytes
        .get(extra_at..extra_end)
        .ok_or(ZipError::OutOfBounds(WHAT))?;
    apply_zip64_extra(
        extra,
        &mut uncompressed_size,
        &mut compressed_size,
        &mut local_header_offset,
    );
    let name = String::from_utf8_lossy(name_bytes).replace('\\', "/");
    // The entry's data must lie before the central directory, behind a local header.
    let data_end = local_header_offset
        .checked_add(LOCAL_LEN as u64)
        .and_then(|v| v.checked_add(compressed_size))
        .ok_or(ZipError::OutOfBounds("entry data"))?;
    if data_end > cd_offset {
        return Err(ZipError::OutOfBounds("entry data"));
    }
    let local = Reader::at(
        bytes,
        to_usize(local_header_offset).ok_or(ZipError::OutOfBounds("entry data"))?,
    );
    if local.u32(0) != Some(LOCAL_SIG) {
        return Err(ZipError::BadSignature("local entry header"));
    }
    Ok((
        ZipEntry {
            is_dir: name.ends_with('/'),
            name,
            compressed_size,
            uncompressed_size,
            crc32,
            method,
            local_header_offset,
        },
        next,
    ))
}

/// Replaces the 0xFFFFFFFF placeholders with the zip64 extra field's values, in the order the
/// format fixes (uncompressed, compressed, offset), each present only when its placeholder is.
fn apply_zip64_extra(extra: &[u8], uncompressed: &mut u64, compressed: &mut u64, offset: &mut u64) {
    let mut at: usize = 0;
    while let (Some(id), Some(len)) = (Reader::at(extra, at).u16(0), Reader::at(extra, at).u16(2)) {
        let body_at = at.saturating_add(4);
        let len = usize::from(len);
        if id == 0x0001 {
            let body = Reader::at(extra, body_at);
            let mut off: usize = 0;
            for slot in [uncompressed, compressed, offset] {
                if *slot == 0xFFFF_FFFF && off.saturating_add(8) <= len {
                    if let Some(v) = body.u64(off) {
                        *slot = v;
                    }
                    off += 8;
                }
            }
            return;
        }
        at = body_at.saturating_add(len);
    }
}

fn to_usize(v: u64) -> Option<usize> {
    usize::try_from(v).ok()
}

/// Little-endian reads at an offset, `None` past the end.
struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn at(bytes: &'b [u8], at: usize) -> Self {
        Reader { bytes, at }
    }

    fn array<const N: usize>(&self, off: usize) -> Option<[u8; N]> {
        let start = self.at.checked_add(off)?;
        let end = start.checked_add(N)?;
        self.bytes.get(start..end)?.try_into().ok()
    }

    fn u16(&self, off: usize) -> Option<u16> {
        self.array(off).map(u16::from_le_bytes)
    }

    fn u32(&self, off: usize) -> Option<u32> {
        self.array(off).map(u32::from_le_bytes)
    }

    fn u64(&self, off: usize) -> Option<u64> {
        self.array(off).map(u64::from_le_bytes)
    }
}

/// A deflated archive written by Python's zipfile: `deployment/`, `deployment/info.lock` (249
/// bytes of JSON, deflated) and an empty `status.lock`, with an archive comment.
#[cfg(test)]
pub(crate) fn python_deflated_sample() -> Vec<u8> {
    let hex: String = [
    "504b0304140000000000000021000000000000000000000000000b0000006465706c6f796d656e742f504b0304140000",
    "0008000b567a5d97aba7bb58000000f9000000140000006465706c6f796d656e742f696e666f2e6c6f636bab56cac94f",
    "ce76ad28c82caa54b25232323032d33534d435320b3134b23232b532308852d251ca48cd4971aaf42f00aa08482d4acb",
    "2fcacdcc4b5748cecf2bc9cc2bcd2f2d5648492dc8c9afcc4dcd2b51aaad1e12460200504b03041400000008000b567a",
    "5d0000000002000000000000000b0000007374617475732e6c6f636b0300504b01021403140000000000000021000000",
    "000000000000000000000b00000000000000000000008001000000006465706c6f796d656e742f504b01021403140000",
    "0008000b567a5d97aba7bb58000000f90000001400000000000000000000008001290000006465706c6f796d656e742f",
    "696e666f2e6c6f636b504b010214031400000008000b567a5d0000000002000000000000000b00000000000000000000",
    "008001b30000007374617475732e6c6f636b504b05060000000003000300b4000000de0000000e006d61646520627920",
    "707974686f6e",
    ]
    .concat();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cleanup::zip_writer::{StoredZip, ZipTime};

    fn sample() -> Vec<u8> {
        let mut zip = StoredZip::new(ZipTime::default());
        zip.add_dir("deployment/").unwrap();
        zip.add_file("deployment/info.lock", b"{\"heldByOp\":\"x\"}")
            .unwrap();
        zip.add_file("status.lock", b"").unwrap();
        zip.finish().unwrap()
    }

    #[test]
    fn the_writer_round_trips() {
        let bytes = sample();
        let index = read_index(&bytes).unwrap();
        let names: Vec<_> = index.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            ["deployment/", "deployment/info.lock", "status.lock"]
        );
        assert!(index.has_dir("deployment"));
        assert!(index.has_file("status.lock"));
        assert!(!index.has_file("deployment"));
        assert_eq!(index.entries[1].uncompressed_size, 16);
        assert_eq!(
            index.entries[1].crc32,
            crate::cleanup::crc32::crc32(b"{\"heldByOp\":\"x\"}")
        );
        assert_eq!(index.file_count(), 2);
    }

    /// A deflated archive with a folder entry and a comment, written by Python's zipfile.
    #[test]
    fn a_foreign_deflated_archive_is_read() {
        let bytes = python_deflated_sample();
        let index = read_index(&bytes).unwrap();
        let names: Vec<_> = index.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            ["deployment/", "deployment/info.lock", "status.lock"]
        );
        assert_eq!(index.entries[1].method, 8);
        assert_eq!(index.entries[1].uncompressed_size, 249);
        assert!(index.entries[1].compressed_size < 249);
        assert!(index.has_dir("deployment") && index.has_file("status.lock"));
    }

    #[test]
    fn an_empty_archive_has_no_entries() {
        let bytes = StoredZip::new(ZipTime::default()).finish().unwrap();
        assert_eq!(bytes.len(), 22);
        assert_eq!(read_index(&bytes).unwrap().entries, vec![]);
    }

    #[test]
    fn a_comment_is_skipped() {
        let mut bytes = sample();
        let len = bytes.len();
        bytes[len - 2..].copy_from_slice(&5u16.to_le_bytes());
        bytes.extend_from_slice(b"hello");
        assert_eq!(read_index(&bytes).unwrap().entries.len(), 3);
    }

    #[test]
    fn every_truncation_fails_without_panic() {
        let bytes = sample();
        for cut in 0..bytes.len() {
            assert!(read_index(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn garbage_and_html_are_not_zips() {
        assert_eq!(read_index(b""), Err(ZipError::NoEndRecord));
        assert_eq!(
            read_index(b"<!DOCTYPE html><html><body>Sign in</body></html>"),
            Err(ZipError::NoEndRecord)
        );
        let noise: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(read_index(&noise).is_err());
    }

    #[test]
    fn huge_claimed_counts_and_sizes_are_refused() {
        let mut bytes = sample();
        let eocd = bytes.len() - 22;
        // Claim 65,000 entries in the same small directory.
        bytes[eocd + 8..eocd + 12].copy_from_slice(&[0xE8, 0xFD, 0xE8, 0xFD]);
        assert!(matches!(
            read_index(&bytes),
            Err(ZipError::TooManyEntries(_))
        ));

        let mut bytes = sample();
        // The first central header's compressed size: 4 GiB - 1.
        let cd = read_cd_offset(&bytes);
        bytes[cd + 20..cd + 24].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes());
        assert_eq!(read_index(&bytes), Err(ZipError::OutOfBounds("entry data")));

        let mut bytes = sample();
        let eocd = bytes.len() - 22;
        // Directory size and offset past the end.
        bytes[eocd + 12..eocd + 16].copy_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
        assert!(read_index(&bytes).is_err());
    }

    #[test]
    fn zip64_placeholders_without_a_locator_are_refused() {
        let mut bytes = sample();
        let eocd = bytes.len() - 22;
        bytes[eocd + 16..eocd + 20].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
        assert!(read_index(&bytes).is_err());
    }

    #[test]
    fn a_zip64_end_record_is_followed() {
        let plain = sample();
        let eocd = plain.len() - 22;
        let cd_size = u64::from(u32::from_le_bytes(
            plain[eocd + 12..eocd + 16].try_into().unwrap(),
        ));
        let cd_offset = read_cd_offset(&plain) as u64;
        let mut bytes = plain[..eocd].to_vec();
        let record_at = bytes.len() as u64;
        bytes.extend_from_slice(&ZIP64_EOCD_SIG.to_le_bytes());
        bytes.extend_from_slice(&44u64.to_le_bytes());
        bytes.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        bytes.extend_from_slice(&3u64.to_le_bytes());
        bytes.extend_from_slice(&3u64.to_le_bytes());
        bytes.extend_from_slice(&cd_size.to_le_bytes());
        bytes.extend_from_slice(&cd_offset.to_le_bytes());
        bytes.extend_from_slice(&ZIP64_LOCATOR_SIG.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&record_at.to_le_bytes());
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&EOCD_SIG.to_le_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
        bytes.extend_from_slice(&[0xFF; 8]);
        bytes.extend_from_slice(&[0, 0]);
        assert_eq!(read_index(&bytes).unwrap().entries.len(), 3);
    }

    fn read_cd_offset(bytes: &[u8]) -> usize {
        let eocd = bytes.len() - 22;
        u32::from_le_bytes(bytes[eocd + 16..eocd + 20].try_into().unwrap()) as usize
    }
}
