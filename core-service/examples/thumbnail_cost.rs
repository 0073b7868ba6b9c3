//! What an uploaded image costs the core: reading its size, decoding it,
//! making its thumbnail and dropping its metadata (`media::images::process`,
//! on one thread, as one of the image pool's turns). Run by hand:
//! `cargo run --release -p core-service --example thumbnail_cost`.

use bytes::Bytes;
use core_service::media::images::process;
use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, RgbImage};
use std::io::Cursor;
use std::time::Instant;

const RUNS: u32 = 10;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A phone camera's 12 megapixels, and a screenshot's size.
    for (width, height) in [(4000, 3000), (1920, 1080)] {
        let photo = photo(width, height);
        let mut jpeg = Vec::new();
        photo.write_with_encoder(JpegEncoder::new_with_quality(&mut jpeg, 90))?;
        let mut png = Cursor::new(Vec::new());
        photo.write_to(&mut png, ImageFormat::Png)?;
        for (kind, bytes, format) in [
            ("JPEG", Bytes::from(jpeg.clone()), ImageFormat::Jpeg),
            ("PNG", Bytes::from(png.into_inner()), ImageFormat::Png),
        ] {
            let size = bytes.len();
            let started = Instant::now();
            for _ in 0..RUNS {
                process(bytes.clone(), format, 50_000_000)?;
            }
            let each = started.elapsed() / RUNS;
            println!(
                "{width}×{height} {kind} ({:.1} MiB): {:.0} ms per image",
                size as f64 / 1048576.0,
                each.as_secs_f64() * 1000.0
            );
        }
    }
    Ok(())
}

/// Gradients with some noise: what a photo compresses like, roughly.
fn photo(width: u32, height: u32) -> RgbImage {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state & 0x1f) as u32;
        let red = (x * 255 / width + noise).min(255) as u8;
        let green = (y * 255 / height + noise).min(255) as u8;
        let blue = ((x + y) * 127 / (width + height) + noise).min(255) as u8;
        image::Rgb([red, green, blue])
    })
}
