//! Raw DEFLATE decoding (RFC 1951), only to check a backup entry's CRC-32 against its data:
//! Kudu writes its archives deflated (`CompressionLevel.Fastest`), and a CRC is over the
//! uncompressed bytes. Kept here rather than taken from a crate because kudu-core depends on
//! serde alone; `tests::the_decoder_agrees_with_miniz_oxide` compares it with a well-kept
//! decoder on random data.
//!
//! Nothing is kept but a 32 KiB window: the output streams into the CRC, so memory is fixed
//! whatever an entry claims, and decoding stops as soon as the output passes the size the
//! archive declared. Every read of the input is bounds-checked; bad data is an error, never a
//! panic.

use super::crc32::Crc32;

const WINDOW: usize = 32 * 1024;
const MAX_BITS: usize = 15;

/// Why an entry's compressed data does not decode to what its header says.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum InflateError {
    /// The data ends before its last block does.
    Truncated,
    /// A code, length or distance the format does not allow.
    Invalid(&'static str),
    /// More output than the archive declared for the entry.
    TooLong,
}

/// The CRC-32 and length of what `data` decodes to; decoding stops with
/// [`InflateError::TooLong`] once more than `declared_len` bytes came out.
pub fn inflate_crc(data: &[u8], declared_len: u64) -> Result<(u32, u64), InflateError> {
    let mut state = Inflater {
        input: Bits {
            data,
            at: 0,
            bit_buf: 0,
            bit_count: 0,
        },
        out: Output {
            window: vec![0u8; WINDOW],
            len: 0,
            limit: declared_len,
            crc: Crc32::new(),
        },
    };
    loop {
        let last = state.input.bits(1)? == 1;
        match state.input.bits(2)? {
            0 => state.stored()?,
            1 => {
                let (lit, dist) = fixed_tables();
                state.codes(&lit, &dist)?;
            }
            2 => {
                let (lit, dist) = state.dynamic_tables()?;
                state.codes(&lit, &dist)?;
            }
            _ => return Err(InflateError::Invalid("block type 3")),
        }
        if last {
            return Ok((state.out.crc.finish(), state.out.len));
        }
    }
}

struct Bits<'d> {
    data: &'d [u8],
    at: usize,
    bit_buf: u32,
    bit_count: u32,
}

impl Bits<'_> {
    /// The next `n` (at most 16) bits, least significant first.
    fn bits(&mut self, n: u32) -> Result<u32, InflateError> {
        while self.bit_count < n {
            let byte = *self.data.get(self.at).ok_or(InflateError::Truncated)?;
            self.at += 1;
            self.bit_buf |= u32::from(byte) << self.bit_count;
            self.bit_count += 8;
        }
        let value = self.bit_buf & ((1u32 << n) - 1);
        self.bit_buf >>= n;
        self.bit_count -= n;
        Ok(value)
    }
}

struct Output {
    window: Vec<u8>,
    len: u64,
    limit: u64,
    crc: Crc32,
}

impl Output {
    fn push(&mut self, byte: u8) -> Result<(), InflateError> {
        if self.len >= self.limit {
            return Err(InflateError::TooLong);
        }
        self.window[(self.len % WINDOW as u64) as usize] = byte;
        self.len += 1;
        self.crc.update(&[byte]);
        Ok(())
    }

    fn copy(&mut self, distance: usize, length: usize) -> Result<(), InflateError> {
        if distance == 0 || distance as u64 > self.len || distance > WINDOW {
            return Err(InflateError::Invalid("distance too far back"));
        }
        for _ in 0..length {
            let from = ((self.len - distance as u64) % WINDOW as u64) as usize;
            self.push(self.window[from])?;
        }
        Ok(())
    }
}

/// A canonical Huffman code: how many codes of each length, and the symbols in code order.
struct Huffman {
    counts: [u16; MAX_BITS + 1],
    symbols: Vec<u16>,
}

impl Huffman {
    /// `None` when the lengths over-subscribe the code space.
    fn new(lengths: &[u8]) -> Option<Huffman> {
        let mut counts = [0u16; MAX_BITS + 1];
        for &l in lengths {
            counts[usize::from(l)] += 1;
        }
        counts[0] = 0;
        let mut left: i32 = 1;
        for &count in &counts[1..] {
            left = left * 2 - i32::from(count);
            if left < 0 {
                return None;
            }
        }
        let mut offsets = [0u16; MAX_BITS + 2];
        for len in 1..=MAX_BITS {
            offsets[len + 1] = offsets[len] + counts[len];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (symbol, &l) in lengths.iter().enumerate() {
            if l != 0 {
                let slot = &mut offsets[usize::from(l)];
                symbols[usize::from(*slot)] = symbol as u16;
                *slot += 1;
            }
        }
        Some(Huffman { counts, symbols })
    }

    /// Decodes one symbol bit by bit (codes are read most significant bit first).
    fn decode(&self, input: &mut Bits<'_>) -> Result<u16, InflateError> {
        let mut code: i32 = 0;
        let mut first: i32 = 0;
        let mut index: i32 = 0;
        for len in 1..=MAX_BITS {
            code |= input.bits(1)? as i32;
            let count = i32::from(self.counts[len]);
            if code - first < count {
                return self
                    .symbols
                    .get((index + code - first) as usize)
                    .copied()
                    .ok_or(InflateError::Invalid("code"));
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err(InflateError::Invalid("code"))
    }
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order code-length code lengths are sent in.
const CL_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

fn fixed_tables() -> (Huffman, Huffman) {
    let mut lengths = [0u8; 288];
    for (symbol, l) in lengths.iter_mut().enumerate() {
        *l = match symbol {
            0..=143 => 8,
            144..=255 => 9,
            256..=279 => 7,
            _ => 8,
        };
    }
    // Both are complete codes, so `new` cannot refuse them.
    let lit = Huffman::new(&lengths).unwrap_or(Huffman {
        counts: [0; MAX_BITS + 1],
        symbols: vec![],
    });
    let dist = Huffman::new(&[5u8; 30]).unwrap_or(Huffman {
        counts: [0; MAX_BITS + 1],
        symbols: vec![],
    });
    (lit, dist)
}

struct Inflater<'d> {
    input: Bits<'d>,
    out: Output,
}

impl Inflater<'_> {
    fn stored(&mut self) -> Result<(), InflateError> {
        // Stored blocks start on a byte boundary.
        self.input.bit_buf = 0;
        self.input.bit_count = 0;
        let at = self.input.at;
        let header = self
            .input
            .data
            .get(at..at + 4)
            .ok_or(InflateError::Truncated)?;
        let len = u16::from_le_bytes([header[0], header[1]]);
        let nlen = u16::from_le_bytes([header[2], header[3]]);
        if len != !nlen {
            return Err(InflateError::Invalid("stored block length"));
        }
        let body = self
            .input
            .data
            .get(at + 4..at + 4 + usize::from(len))
            .ok_or(InflateError::Truncated)?;
        for &b in body {
            self.out.push(b)?;
        }
        self.input.at = at + 4 + usize::from(len);
        Ok(())
    }

    fn dynamic_tables(&mut self) -> Result<(Huffman, Huffman), InflateError> {
        let nlen = self.input.bits(5)? as usize + 257;
        let ndist = self.input.bits(5)? as usize + 1;
        let ncode = self.input.bits(4)? as usize + 4;
        if nlen > 286 || ndist > 30 {
            return Err(InflateError::Invalid("too many length or distance codes"));
        }
        let mut cl_lengths = [0u8; 19];
        for &slot in CL_ORDER.iter().take(ncode) {
            cl_lengths[slot] = self.input.bits(3)? as u8;
        }
        let cl = Huffman::new(&cl_lengths).ok_or(InflateError::Invalid("code length code"))?;
        let mut lengths = vec![0u8; nlen + ndist];
        let mut i = 0;
        while i < nlen + ndist {
            let symbol = cl.decode(&mut self.input)?;
            let (value, repeat) = match symbol {
                0..=15 => (symbol as u8, 1),
                16 => {
                    let previous = *i
                        .checked_sub(1)
                        .and_then(|p| lengths.get(p))
                        .ok_or(InflateError::Invalid("repeat with no previous length"))?;
                    (previous, 3 + self.input.bits(2)? as usize)
                }
                17 => (0, 3 + self.input.bits(3)? as usize),
                _ => (0, 11 + self.input.bits(7)? as usize),
            };
            if i + repeat > nlen + ndist {
                return Err(InflateError::Invalid("code lengths overrun"));
            }
            lengths[i..i + repeat].fill(value);
            i += repeat;
        }
        if lengths[256] == 0 {
            return Err(InflateError::Invalid("no end-of-block code"));
        }
        let lit = Huffman::new(&lengths[..nlen]).ok_or(InflateError::Invalid("literal code"))?;
        let dist = Huffman::new(&lengths[nlen..]).ok_or(InflateError::Invalid("distance code"))?;
        Ok((lit, dist))
    }

    fn codes(&mut self, lit: &Huffman, dist: &Huffman) -> Result<(), InflateError> {
        loop {
            let symbol = lit.decode(&mut self.input)?;
            match symbol {
                0..=255 => self.out.push(symbol as u8)?,
                256 => return Ok(()),
                _ => {
                    let i = usize::from(symbol - 257);
                    let (Some(&base), Some(&extra)) = (LENGTH_BASE.get(i), LENGTH_EXTRA.get(i))
                    else {
                        return Err(InflateError::Invalid("length code"));
                    };
                    let length = usize::from(base) + self.input.bits(u32::from(extra))? as usize;
                    let d = usize::from(dist.decode(&mut self.input)?);
                    let (Some(&base), Some(&extra)) = (DIST_BASE.get(d), DIST_EXTRA.get(d)) else {
                        return Err(InflateError::Invalid("distance code"));
                    };
                    let distance = usize::from(base) + self.input.bits(u32::from(extra))? as usize;
                    self.out.copy(distance, length)?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cleanup::crc32::crc32;
    use proptest::prelude::*;

    fn deflate(data: &[u8], level: u8) -> Vec<u8> {
        miniz_oxide::deflate::compress_to_vec(data, level)
    }

    #[test]
    fn known_streams_decode() {
        // A fixed-Huffman block written by zlib: "hello hello hello".
        let text = b"hello hello hello hello";
        for level in [0, 1, 6, 9] {
            let packed = deflate(text, level);
            assert_eq!(
                inflate_crc(&packed, text.len() as u64),
                Ok((crc32(text), text.len() as u64)),
                "level {level}"
            );
        }
        assert_eq!(inflate_crc(&deflate(b"", 6), 0), Ok((0, 0)));
    }

    #[test]
    fn more_than_declared_and_cut_short_are_refused() {
        let text = vec![b'a'; 5000];
        let packed = deflate(&text, 6);
        assert_eq!(inflate_crc(&packed, 4999), Err(InflateError::TooLong));
        for cut in 0..packed.len() {
            assert!(inflate_crc(&packed[..cut], 5000).is_err(), "cut at {cut}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn the_decoder_agrees_with_miniz_oxide(
            data in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..12_000),
            level in 0u8..=9,
        ) {
            let packed = deflate(&data, level);
            prop_assert_eq!(inflate_crc(&packed, data.len() as u64), Ok((crc32(&data), data.len() as u64)));
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = inflate_crc(&data, 1 << 20);
        }
    }
}
