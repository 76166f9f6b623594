//! The extension's icons, drawn in code so every size comes from one design and the committed
//! PNGs can be checked against it: a rounded blue square with "409" in a 3×5 pixel font, in
//! the launcher's colours. `cargo xtask icons` writes them to `extension/icons/`.
//!
//! The PNG writer needs no image crate: 8-bit RGBA, one IDAT deflated by `flate2` at its best
//! level (the flat colours shrink the 128 px icon from 64 KiB raw to about 1 KiB; a browser
//! reads these files on every extensions page), and the CRC-32 the format asks for.

use std::fs;
use std::path::Path;

use anyhow::Context;

/// The sizes the stores and browsers ask for: 16 (favicon, toolbar), 32 (Windows), 48
/// (extensions page), 128 (store listing, install dialog).
pub const SIZES: [u32; 4] = [16, 32, 48, 128];

/// The launcher's blue (`extension/content.js`).
const BACKGROUND: [u8; 3] = [0x0b, 0x5c, 0xad];
const FOREGROUND: [u8; 3] = [0xff, 0xff, 0xff];

/// "4", "0", "9", rows top to bottom, three cells wide (bit 2 is the left cell).
const GLYPHS: [[u8; 5]; 3] = [
    [0b101, 0b101, 0b111, 0b001, 0b001],
    [0b111, 0b101, 0b101, 0b101, 0b111],
    [0b111, 0b101, 0b111, 0b001, 0b111],
];
/// Three glyphs with one empty column between them.
const TEXT_COLUMNS: u32 = 3 * 3 + 2;
const TEXT_ROWS: u32 = 5;

/// The file name of the icon of `size` pixels, relative to the extension root.
pub fn relative_path(size: u32) -> String {
    format!("icons/icon-{size}.png")
}

/// Writes every size into `extension/icons/` of the workspace at `root`.
pub fn write_all(root: &Path) -> anyhow::Result<()> {
    let dir = root.join("extension").join("icons");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for size in SIZES {
        let path = root.join("extension").join(relative_path(size));
        fs::write(&path, png(size)).with_context(|| format!("writing {}", path.display()))?;
        println!("xtask: wrote {}", path.display());
    }
    Ok(())
}

/// The icon of `size`×`size` pixels as PNG bytes.
pub fn png(size: u32) -> Vec<u8> {
    encode_rgba(size, size, &draw(size))
}

/// RGBA pixels, row by row.
fn draw(size: u32) -> Vec<u8> {
    let scale = (size * 3 / 4 / TEXT_COLUMNS).max(1);
    let left = (size - TEXT_COLUMNS * scale) / 2;
    let top = (size - TEXT_ROWS * scale) / 2;
    let mut pixels = Vec::with_capacity((size * size * 4) as usize);
    for y in 0..size {
        for x in 0..size {
            let alpha = corner_alpha(size, x, y);
            let colour = if is_text(x, y, left, top, scale) {
                FOREGROUND
            } else {
                BACKGROUND
            };
            pixels.extend_from_slice(&colour);
            pixels.push(alpha);
        }
    }
    pixels
}

fn is_text(x: u32, y: u32, left: u32, top: u32, scale: u32) -> bool {
    if x < left || y < top {
        return false;
    }
    let (column, row) = ((x - left) / scale, (y - top) / scale);
    if column >= TEXT_COLUMNS || row >= TEXT_ROWS {
        return false;
    }
    // Every fourth column is the gap between glyphs.
    let (glyph, cell) = (column / 4, column % 4);
    cell < 3 && GLYPHS[glyph as usize][row as usize] & (0b100 >> cell) != 0
}

/// Coverage of the pixel by the rounded square, 4×4 samples per pixel, as 0–255.
fn corner_alpha(size: u32, x: u32, y: u32) -> u8 {
    // In eighths of a pixel, so sample centres and the arithmetic stay integral and exact.
    let radius = i64::from(size.div_ceil(6)) * 8;
    let side = i64::from(size) * 8;
    let mut inside = 0u32;
    for sub_y in 0..4 {
        for sub_x in 0..4 {
            let px = i64::from(x) * 8 + sub_x * 2 + 1;
            let py = i64::from(y) * 8 + sub_y * 2 + 1;
            // The nearest point of the square shrunk by the radius; within the radius of it
            // means inside the rounded square.
            let (dx, dy) = (
                px - px.clamp(radius, side - radius),
                py - py.clamp(radius, side - radius),
            );
            if dx * dx + dy * dy <= radius * radius {
                inside += 1;
            }
        }
    }
    // 16 samples: 16 × 16 = 256, capped to 255.
    u8::try_from((inside * 16).min(255)).unwrap_or(u8::MAX)
}

/// A PNG of 8-bit RGBA `pixels`.
pub fn encode_rgba(width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(pixels.len() + height as usize);
    for row in pixels.chunks(width as usize * 4) {
        raw.push(0); // filter type None
        raw.extend_from_slice(row);
    }
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 6 (RGBA), deflate, adaptive filtering, no interlace.
    header.extend_from_slice(&[8, 6, 0, 0, 0]);

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    write_chunk(&mut png, b"IHDR", &header);
    write_chunk(&mut png, b"IDAT", &zlib(&raw));
    write_chunk(&mut png, b"IEND", &[]);
    png
}

fn write_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
    png.extend_from_slice(&length.to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of `data` at the best compression. Deterministic for the `flate2` version the
/// lockfile pins, so the committed icons can be compared byte for byte.
fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
pub mod tests {
    use std::io::Read;

    use super::*;

    /// Width, height and RGBA pixels of a PNG, checked the way a decoder would: signature,
    /// every chunk's CRC, an RGBA 8-bit header, and an IDAT that inflates to exactly
    /// one filter byte plus one row per line.
    pub fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        let mut rest = &png[8..];
        let (mut width, mut height) = (0, 0);
        let mut idat = Vec::new();
        let mut kinds = Vec::new();
        while !rest.is_empty() {
            let length = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            let kind: [u8; 4] = rest[4..8].try_into().unwrap();
            let data = &rest[8..8 + length];
            let crc = u32::from_be_bytes(rest[8 + length..12 + length].try_into().unwrap());
            assert_eq!(crc, crc32(&rest[4..8 + length]), "CRC of {kind:?}");
            match &kind {
                b"IHDR" => {
                    width = u32::from_be_bytes(data[..4].try_into().unwrap());
                    height = u32::from_be_bytes(data[4..8].try_into().unwrap());
                    assert_eq!(&data[8..], &[8, 6, 0, 0, 0], "8-bit RGBA, no interlace");
                }
                b"IDAT" => idat.extend_from_slice(data),
                _ => {}
            }
            kinds.push(kind);
            rest = &rest[12 + length..];
        }
        assert_eq!(kinds.first(), Some(b"IHDR"));
        assert_eq!(kinds.last(), Some(b"IEND"));
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(idat.as_slice())
            .read_to_end(&mut raw)
            .unwrap();
        let stride = width as usize * 4 + 1;
        assert_eq!(raw.len(), stride * height as usize);
        let mut pixels = Vec::new();
        for row in raw.chunks(stride) {
            assert_eq!(row[0], 0, "filter None");
            pixels.extend_from_slice(&row[1..]);
        }
        (width, height, pixels)
    }

    #[test]
    fn checksums_match_their_reference_values() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn large_images_round_trip_through_the_png() {
        let pixels: Vec<u8> = (0..200u32 * 120 * 4).map(|i| (i % 251) as u8).collect();
        let (width, height, decoded) = decode(&encode_rgba(200, 120, &pixels));
        assert_eq!((width, height), (200, 120));
        assert_eq!(decoded, pixels);
    }

    #[test]
    fn icons_are_compressed() {
        // Stored blocks would make the 128 px icon 65 KiB.
        assert!(png(128).len() < 4096, "{} bytes", png(128).len());
    }

    #[test]
    fn every_size_shows_the_digits_on_blue_with_transparent_corners() {
        for size in SIZES {
            let (width, height, pixels) = decode(&png(size));
            assert_eq!((width, height), (size, size));
            let at = |x: u32, y: u32| {
                let i = ((y * size + x) * 4) as usize;
                [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]]
            };
            assert_eq!(at(0, 0)[3], 0, "{size}: the corner is transparent");
            assert_eq!(
                at(size / 2, 1),
                [0x0b, 0x5c, 0xad, 255],
                "{size}: blue edge"
            );
            let white = (0..size * size)
                .filter(|i| at(i % size, i / size) == [255, 255, 255, 255])
                .count() as u32;
            // "409" lights 9 + 12 + 12 = 33 of its 3 × 15 cells, each scale² pixels.
            let scale = (size * 3 / 4 / TEXT_COLUMNS).max(1);
            assert_eq!(white, 33 * scale * scale, "{size}: digit pixels");
        }
    }

    #[test]
    fn committed_icons_are_the_drawn_ones() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for size in SIZES {
            let path = root.join("extension").join(relative_path(size));
            let committed = fs::read(&path).unwrap_or_else(|error| {
                panic!("{}: {error}; run `cargo xtask icons`", path.display())
            });
            assert!(
                committed == png(size),
                "{} differs from the drawn icon; run `cargo xtask icons`",
                path.display()
            );
        }
    }
}
