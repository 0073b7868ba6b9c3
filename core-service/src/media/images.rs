//! What a file is, read from its bytes, and what is made of an image: its
//! size as shown, a thumbnail, and bytes to serve without the metadata a
//! camera wrote (EXIF with its GPS position, XMP, IPTC, comments).
//!
//! Decoding is CPU work on untrusted input: it runs on blocking threads,
//! a bounded number at once ([`ImagePool`]), and refuses an image whose
//! header claims more pixels than allowed before decoding any.

use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use img_parts::{Bytes as PartBytes, ImageEXIF};
use std::io::Cursor;
use tokio::sync::Semaphore;

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;
/// Bytes of a file's start that are enough to tell its type.
pub const SNIFF_BYTES: usize = 8192;
/// What a file of no recognised type is served as.
pub const UNKNOWN_TYPE: &str = "application/octet-stream";

/// A file's type as its bytes say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub content_type: String,
    /// Set for the images browsers show, which get a thumbnail.
    pub image: Option<ImageFormat>,
}

/// The type of a file that begins with `head`.
pub fn sniff(head: &[u8]) -> Sniffed {
    let image = match image::guess_format(head) {
        Ok(
            format @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::WebP),
        ) => Some(format),
        _ => None,
    };
    let content_type = match image {
        Some(format) => format.to_mime_type().to_owned(),
        None => infer::get(head)
            .map_or(UNKNOWN_TYPE, |kind| kind.mime_type())
            .to_owned(),
    };
    Sniffed {
        content_type,
        image,
    }
}

/// Whether an uploader's declared type agrees with the bytes: a declared
/// image type must be the image the bytes are (an image is shown inline,
/// so a file may not pass for one); other declarations are only hints.
pub fn agrees(declared: &str, sniffed: &Sniffed) -> bool {
    let declared = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !declared.starts_with("image/") {
        return true;
    }
    let declared = if declared == "image/jpg" {
        "image/jpeg".to_owned()
    } else {
        declared
    };
    sniffed.image.is_some() && declared == sniffed.content_type
}

/// What is kept of an image.
#[derive(Debug)]
pub struct Processed {
    /// The image to serve: the upload without its metadata, or, when the
    /// camera's orientation must be applied, the image turned and encoded
    /// again (the orientation is metadata too).
    pub served: Bytes,
    pub thumbnail: Bytes,
    /// As shown, orientation applied.
    pub width: u32,
    pub height: u32,
}

/// Why an image was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the image has {pixels} pixels, more than {max}")]
    TooLarge { pixels: u64, max: u64 },
    #[error("the image cannot be read: {0}")]
    Corrupt(String),
}

/// Reads the image `bytes` of `format`; refuses more than `max_pixels`.
pub fn process(
    bytes: Bytes,
    format: ImageFormat,
    max_pixels: u64,
) -> Result<Processed, ImageError> {
    let corrupt = |error: image::ImageError| ImageError::Corrupt(error.to_string());
    let (width, height) = ImageReader::with_format(Cursor::new(&bytes), format)
        .into_dimensions()
        .map_err(corrupt)?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(ImageError::TooLarge {
            pixels,
            max: max_pixels,
        });
    }
    let mut reader = ImageReader::with_format(Cursor::new(&bytes), format);
    let mut limits = Limits::default();
    // Room for the decoded pixels at up to 16 bytes each, and no more.
    limits.max_alloc = Some(max_pixels.saturating_mul(16));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    image.apply_orientation(orientation);
    let served = if orientation == Orientation::NoTransforms {
        without_metadata(bytes, format).map_err(|error| ImageError::Corrupt(error.to_string()))?
    } else {
        jpeg(&image, 90).map_err(corrupt)?
    };
    let thumbnail = jpeg(&image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE), 80).map_err(corrupt)?;
    Ok(Processed {
        served,
        thumbnail,
        width: image.width(),
        height: image.height(),
    })
}

/// `image` as a JPEG of `quality` (transparency laid on white).
fn jpeg(image: &DynamicImage, quality: u8) -> image::ImageResult<Bytes> {
    let rgb = if image.color().has_alpha() {
        let mut flat = image::RgbImage::new(image.width(), image.height());
        for (x, y, pixel) in image.to_rgba8().enumerate_pixels() {
            let [r, g, b, a] = pixel.0;
            let over_white = |channel: u8| {
                ((u16::from(channel) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8
            };
            flat.put_pixel(
                x,
                y,
                image::Rgb([over_white(r), over_white(g), over_white(b)]),
            );
        }
        flat
    } else {
        image.to_rgb8()
    };
    let mut out = Vec::new();
    rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut out, quality))?;
    Ok(Bytes::from(out))
}

/// The image's own bytes without metadata segments: its pixels and colour
/// profile untouched.
fn without_metadata(bytes: Bytes, format: ImageFormat) -> Result<Bytes, img_parts::Error> {
    let bytes = PartBytes::from(bytes.to_vec());
    Ok(match format {
        ImageFormat::Jpeg => {
            let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(bytes)?;
            // APP1 (EXIF, XMP), APP13 (IPTC) and comments go; JFIF (APP0),
            // the colour profile (APP2) and Adobe's colour mark (APP14) stay.
            jpeg.segments_mut().retain(|segment| {
                !matches!(
                    segment.marker(),
                    img_parts::jpeg::markers::APP1
                        | img_parts::jpeg::markers::APP13
                        | img_parts::jpeg::markers::COM
                )
            });
            Bytes::from(jpeg.encoder().bytes().to_vec())
        }
        ImageFormat::Png => {
            let mut png = img_parts::png::Png::from_bytes(bytes)?;
            png.chunks_mut().retain(|chunk| {
                !matches!(
                    &chunk.kind(),
                    b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME"
                )
            });
            Bytes::from(png.encoder().bytes().to_vec())
        }
        ImageFormat::WebP => {
            let mut webp = img_parts::webp::WebP::from_bytes(bytes)?;
            webp.set_exif(None);
            webp.remove_chunks_by_id(img_parts::webp::CHUNK_XMP);
            Bytes::from(webp.encoder().bytes().to_vec())
        }
        // GIF has no EXIF; it is served as uploaded.
        _ => Bytes::from(bytes.to_vec()),
    })
}

/// Image work off the async runtime, a bounded number at once: each holds
/// the file and its decoded pixels, so the bound is also one on memory.
pub struct ImagePool {
    permits: Semaphore,
}

impl ImagePool {
    pub fn new(threads: usize) -> Self {
        ImagePool {
            permits: Semaphore::new(threads.max(1)),
        }
    }

    /// Once one of the pool's turns is free: reads the image with `read`,
    /// then runs `work` on it on a blocking thread. The bytes are held only
    /// during a turn, so waiting uploads hold none.
    pub async fn run<T, E>(
        &self,
        read: impl Future<Output = Result<Bytes, E>>,
        work: impl FnOnce(Bytes) -> T + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
    {
        let _turn = self
            .permits
            .acquire()
            .await
            .expect("the pool is never closed");
        let bytes = read.await?;
        Ok(tokio::task::spawn_blocking(move || work(bytes))
            .await
            .expect("image work does not panic"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_pixel(width, height, image::Rgb([200, 10, 10]));
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(&png(2, 2)).content_type, "image/png");
        assert_eq!(sniff(&png(2, 2)).image, Some(ImageFormat::Png));
        assert_eq!(sniff(b"%PDF-1.7\n...").content_type, "application/pdf");
        assert_eq!(sniff(b"just some words").content_type, UNKNOWN_TYPE);
        assert_eq!(sniff(b"just some words").image, None);
    }

    #[test]
    fn a_declared_image_type_must_be_true() {
        let png = sniff(&png(2, 2));
        let pdf = sniff(b"%PDF-1.7\n...");
        assert!(agrees("image/png", &png));
        assert!(agrees("IMAGE/PNG; charset=x", &png));
        assert!(!agrees("image/jpeg", &png));
        assert!(!agrees("image/png", &pdf));
        assert!(agrees("application/pdf", &pdf));
        assert!(agrees("text/plain", &png));
        assert!(agrees("", &pdf));
    }

    #[test]
    fn an_image_gets_its_size_and_a_thumbnail() {
        let processed = process(Bytes::from(png(800, 400)), ImageFormat::Png, 1_000_000).unwrap();
        assert_eq!((processed.width, processed.height), (800, 400));
        let thumbnail = image::load_from_memory(&processed.thumbnail).unwrap();
        assert_eq!((thumbnail.width(), thumbnail.height()), (320, 160));
    }

    /// A JPEG with an EXIF block that names a place, as a phone writes.
    fn jpeg_with_exif() -> Vec<u8> {
        let image = image::RgbImage::from_pixel(64, 48, image::Rgb([90, 160, 40]));
        let mut plain = Vec::new();
        image
            .write_with_encoder(JpegEncoder::new_with_quality(&mut plain, 90))
            .unwrap();
        let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(plain.into()).unwrap();
        // A TIFF header and the words a GPS block would carry.
        let mut exif = b"MM\0*\0\0\0\x08".to_vec();
        exif.extend_from_slice(b"GPSLatitude 48.8584 GPSLongitude 2.2945");
        jpeg.set_exif(Some(exif.into()));
        jpeg.encoder().bytes().to_vec()
    }

    #[test]
    fn a_photos_exif_is_not_served() {
        let upload = jpeg_with_exif();
        assert!(upload.windows(11).any(|w| w == b"GPSLatitude"));
        let processed = process(Bytes::from(upload), ImageFormat::Jpeg, 1_000_000).unwrap();
        assert!(!processed.served.windows(11).any(|w| w == b"GPSLatitude"));
        assert!(!processed.thumbnail.windows(11).any(|w| w == b"GPSLatitude"));
        let served = image::load_from_memory(&processed.served).unwrap();
        assert_eq!((served.width(), served.height()), (64, 48));
    }

    #[test]
    fn too_many_pixels_are_refused_before_decoding() {
        let refused = process(Bytes::from(png(1000, 1000)), ImageFormat::Png, 999_999);
        assert!(matches!(
            refused,
            Err(ImageError::TooLarge {
                pixels: 1_000_000,
                ..
            })
        ));
    }

    #[test]
    fn corrupt_images_are_refused() {
        let mut bytes = png(50, 50);
        bytes.truncate(bytes.len() / 2);
        let refused = process(Bytes::from(bytes), ImageFormat::Png, 1_000_000);
        assert!(matches!(refused, Err(ImageError::Corrupt(_))));
    }
}
