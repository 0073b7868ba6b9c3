//! Attachments' bytes: the object store they are kept in ([`objects`]),
//! what is read from them and made of images ([`images`]), and the
//! collection of what no message uses any more ([`collect`]).
//!
//! Each distinct content is kept once, named by the SHA-256 of the bytes
//! uploaded: `files/<digest>` (what is served) and, for an image,
//! `thumbnails/<digest>`. An upload is written to `incoming/<id>` while it
//! arrives and moved (or, for an image, written anew without metadata) once
//! it is complete and accepted.

pub mod collect;
pub mod images;
pub mod objects;

use images::ImagePool;
use object_store::path::Path;
use objects::{Objects, ObjectsError};
use std::time::Duration;
use uuid::Uuid;

/// Bounds on uploads; each is a configuration value.
#[derive(Debug, Clone)]
pub struct MediaSettings {
    /// Where files are kept: `file:///folder` or `s3://bucket[/prefix]`;
    /// `None` for [`DEFAULT_FOLDER`].
    pub url: Option<String>,
    /// Object store options given in code (tests); the environment's come first.
    pub options: Vec<(String, String)>,
    /// Largest upload, in bytes.
    pub max_upload_bytes: u64,
    /// Bytes one user's uploads may take in all.
    pub quota_bytes: u64,
    /// Uploads one user may make per minute.
    pub uploads_per_minute: u32,
    /// Most pixels an image may have.
    pub max_image_pixels: u64,
    /// Images read at once.
    pub image_threads: usize,
    /// How long an upload that no message took is kept.
    pub unsent_kept: Duration,
    /// How often the collection runs.
    pub collect_every: Duration,
}

/// Where files are kept when no `MEDIA_URL` is given: beside the embedded
/// database's `.data/postgres`.
pub const DEFAULT_FOLDER: &str = ".data/media";

impl Default for MediaSettings {
    fn default() -> Self {
        MediaSettings {
            url: None,
            options: Vec::new(),
            max_upload_bytes: 25 * 1024 * 1024,
            quota_bytes: 1024 * 1024 * 1024,
            uploads_per_minute: 30,
            max_image_pixels: 40_000_000,
            image_threads: 2,
            unsent_kept: Duration::from_secs(24 * 3600),
            collect_every: Duration::from_secs(600),
        }
    }
}

/// The files service: the store, the image pool, the bounds.
pub struct Media {
    pub objects: Objects,
    pub images: ImagePool,
    pub settings: MediaSettings,
}

impl Media {
    /// The store `settings` name, with its image pool.
    pub fn open(settings: MediaSettings) -> Result<Self, ObjectsError> {
        // The S3 client's HTTPS takes the process's rustls provider: ring,
        // as everywhere else in the core (already installed is fine).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let objects = match &settings.url {
            Some(url) => Objects::open(url, &settings.options)?,
            None => Objects::folder(std::path::Path::new(DEFAULT_FOLDER))?,
        };
        Ok(Media {
            objects,
            images: ImagePool::new(settings.image_threads),
            settings,
        })
    }
}

/// Where `settings` keep files, checked without touching anything (no
/// folder made, nothing sent): for `check-config`.
pub fn describe(settings: &MediaSettings) -> Result<String, ObjectsError> {
    match settings.url.as_deref() {
        None => Ok(format!("{DEFAULT_FOLDER} (local files)")),
        Some(url) if url.starts_with("file://") => Ok(format!("{url} (local files)")),
        Some(url) => Objects::open(url, &settings.options).map(|objects| objects.describe),
    }
}

/// The SHA-256 of some bytes: the name of their content.
pub type Digest = [u8; 32];

/// Where an upload is written while it arrives.
pub fn incoming_key(upload: Uuid) -> Path {
    Path::from(format!("incoming/{upload}"))
}

/// Where `digest`'s served bytes are.
pub fn file_key(digest: &Digest) -> Path {
    Path::from(format!("files/{}", hex(digest)))
}

/// Where `digest`'s thumbnail is.
pub fn thumbnail_key(digest: &Digest) -> Path {
    Path::from(format!("thumbnails/{}", hex(digest)))
}

/// `digest` in lower-case hexadecimal.
pub fn hex(digest: &Digest) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}
