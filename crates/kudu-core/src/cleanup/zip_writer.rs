//! A minimal zip writer: STORED entries only (no compression), which is all the backup needs
//! to nest the two archives Kudu sent inside one download without touching their bytes.

use crate::cleanup::crc32::crc32;
use crate::time::Timestamp;

/// An MS-DOS date and time as zip stores them (local time by convention; we write UTC).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ZipTime {
    pub date: u16,
    pub time: u16,
}

impl Default for ZipTime {
    /// 1980-01-01 00:00:00, the earliest a DOS date can say.
    fn default() -> Self {
        ZipTime {
            date: (1 << 5) | 1,
            time: 0,
        }
    }
}

impl ZipTime {
    /// The UTC calendar time of `t`, clamped to the DOS range (1980 to 2107).
    pub fn from_timestamp(t: Timestamp) -> Self {
        let stamp = t.to_rfc3339();
        let num = |range: std::ops::Range<usize>| {
            stamp
                .get(range)
                .and_then(|s| s.parse::<u16>().ok())
                .unwrap_or(0)
        };
        let year = num(0..4);
        if !(1980..=2107).contains(&year) {
            return ZipTime::default();
        }
        ZipTime {
            date: ((year - 1980) << 9) | (num(5..7) << 5) | num(8..10),
            time: (num(11..13) << 11) | (num(14..16) << 5) | (num(17..19) / 2),
        }
    }
}

/// Why an archive could not be written.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ZipWriteError {
    /// The plain zip format's 4 GiB or 65,535-entry limits; this writer has no zip64.
    TooLarge,
    /// A name longer than 65,535 bytes.
    NameTooLong,
}

/// An archive being written in memory.
pub struct StoredZip {
    out: Vec<u8>,
    central: Vec<u8>,
    count: u16,
    time: ZipTime,
}

impl StoredZip {
    pub fn new(time: ZipTime) -> Self {
        StoredZip {
            out: Vec::new(),
            central: Vec::new(),
            count: 0,
            time,
        }
    }

    /// Adds a folder entry; `name` must end with `/`.
    pub fn add_dir(&mut self, name: &str) -> Result<(), ZipWriteError> {
        self.add(name, &[], 0x10)
    }

    pub fn add_file(&mut self, name: &str, data: &[u8]) -> Result<(), ZipWriteError> {
        self.add(name, data, 0)
    }

    fn add(&mut self, name: &str, data: &[u8], dos_attrs: u32) -> Result<(), ZipWriteError> {
        let name_len = u16::try_from(name.len()).map_err(|_| ZipWriteError::NameTooLong)?;
        let size = u32::try_from(data.len()).map_err(|_| ZipWriteError::TooLarge)?;
        let offset = u32::try_from(self.out.len()).map_err(|_| ZipWriteError::TooLarge)?;
        self.count = self.count.checked_add(1).ok_or(ZipWriteError::TooLarge)?;
        let crc = crc32(data);
        // Bit 11: the name is UTF-8.
        let flags: u16 = 1 << 11;

        let out = &mut self.out;
        put32(out, 0x0403_4b50);
        put16(out, 20);
        put16(out, flags);
        put16(out, 0);
        put16(out, self.time.time);
        put16(out, self.time.date);
        put32(out, crc);
        put32(out, size);
        put32(out, size);
        put16(out, name_len);
        put16(out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        if u32::try_from(out.len()).is_err() {
            return Err(ZipWriteError::TooLarge);
        }

        let c = &mut self.central;
        put32(c, 0x0201_4b50);
        put16(c, 20);
        put16(c, 20);
        put16(c, flags);
        put16(c, 0);
        put16(c, self.time.time);
        put16(c, self.time.date);
        put32(c, crc);
        put32(c, size);
        put32(c, size);
        put16(c, name_len);
        put16(c, 0);
        put16(c, 0);
        put16(c, 0);
        put16(c, 0);
        put32(c, dos_attrs);
        put32(c, offset);
        c.extend_from_slice(name.as_bytes());
        Ok(())
    }

    /// The finished archive.
    pub fn finish(mut self) -> Result<Vec<u8>, ZipWriteError> {
        let cd_offset = u32::try_from(self.out.len()).map_err(|_| ZipWriteError::TooLarge)?;
        let cd_size = u32::try_from(self.central.len()).map_err(|_| ZipWriteError::TooLarge)?;
        cd_offset
            .checked_add(cd_size)
            .ok_or(ZipWriteError::TooLarge)?;
        self.out.append(&mut self.central);
        let out = &mut self.out;
        put32(out, 0x0605_4b50);
        put16(out, 0);
        put16(out, 0);
        put16(out, self.count);
        put16(out, self.count);
        put32(out, cd_size);
        put32(out, cd_offset);
        put16(out, 0);
        Ok(self.out)
    }
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_time_of_a_known_instant() {
        // 2026-11-26T12:34:56Z.
        let t = Timestamp::parse_rfc3339("2026-11-26T12:34:56Z").unwrap();
        let z = ZipTime::from_timestamp(t);
        assert_eq!(z.date, ((2026 - 1980) << 9) | (11 << 5) | 26);
        assert_eq!(z.time, (12 << 11) | (34 << 5) | 28);
        assert_eq!(
            ZipTime::from_timestamp(Timestamp::from_unix_millis(0)),
            ZipTime::default()
        );
    }

    #[test]
    fn the_local_header_and_data_are_where_the_directory_says() {
        let mut zip = StoredZip::new(ZipTime::default());
        zip.add_file("a.txt", b"hello").unwrap();
        let bytes = zip.finish().unwrap();
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        assert_eq!(&bytes[30..35], b"a.txt");
        assert_eq!(&bytes[35..40], b"hello");
    }
}
