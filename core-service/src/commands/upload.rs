//! `Upload`: a file, streamed into the object store as it arrives, kept
//! once per content, recorded as the caller's upload for a message to take.

use crate::convert;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::media::images::{self, ImageError, SNIFF_BYTES, Sniffed};
use crate::media::objects::PARTS_IN_FLIGHT;
use crate::media::{self, Digest, Media};
use crate::state::{Chats, Rates};
use crate::store::Store;
use crate::store::attachments::MediaRecord;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use messenger_proto::v1::{self as pb, UploadPart, UploadStart, upload_part::Part};
use object_store::WriteMultipart;
use object_store::path::Path;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

/// Longest file name, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// Stores the file whose parts `parts` brings for `user`: checks its name
/// and declared size, counts it against the uploads per minute, writes its
/// bytes as they come (refusing more than the largest upload), reads its
/// type from them, keeps its content once, and records it within the
/// user's quota. Nothing of a refused upload is kept.
pub async fn run(
    media: &Media,
    chats: &Chats,
    rates: &Rates,
    user: UserId,
    mut parts: impl Stream<Item = Result<UploadPart>> + Unpin,
) -> Result<pb::Attachment> {
    let start = match parts.next().await.transpose()?.and_then(|part| part.part) {
        Some(Part::Start(start)) => start,
        _ => return Err(Error::invalid("start", "an upload begins with its name")),
    };
    let name = check_name(&start.name)?;
    check_declared(media, chats, user, &start).await?;
    rates
        .uploads
        .take(user)
        .await
        .map_err(Error::rate_limited)?;
    let upload = Uuid::now_v7();
    let incoming = media::incoming_key(upload);
    let result = receive(media, &incoming, &start, &mut parts).await;
    let kept = match result {
        Ok(received) => keep(media, &chats.store, &incoming, received).await,
        Err(error) => Err(error),
    };
    // Whatever happened, nothing stays under the upload's own name.
    if let Err(error) = media.objects.delete(&incoming).await {
        tracing::warn!(%error, "an incoming upload was not deleted; the collection will");
    }
    let content = kept?;
    let quota = i64::try_from(media.settings.quota_bytes).unwrap_or(i64::MAX);
    if !chats
        .store
        .add_upload(upload, user, &content, &name, quota)
        .await?
    {
        return Err(Error::QuotaExceeded {
            quota_bytes: media.settings.quota_bytes,
        });
    }
    Ok(convert::attachment(&crate::store::records::Attachment {
        id: upload,
        name,
        size: content.size,
        content_type: content.content_type,
        width: content.width,
        height: content.height,
    }))
}

/// A file name kept as metadata: 1 to 255 characters of one line, not a
/// path (no separators, not `.` or `..`).
fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(
            "name",
            format!("longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.contains(['/', '\\']) || name == "." || name == ".." {
        return Err(Error::invalid("name", "a file name, not a path"));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// Refuses at once a declared size beyond the largest upload or the
/// caller's free storage.
async fn check_declared(
    media: &Media,
    chats: &Chats,
    user: UserId,
    start: &UploadStart,
) -> Result<()> {
    let declared = start.size.unwrap_or(0);
    if declared > media.settings.max_upload_bytes {
        return Err(Error::FileTooLarge {
            max_bytes: media.settings.max_upload_bytes,
        });
    }
    let used = u64::try_from(chats.store.storage_used(user).await?).unwrap_or(0);
    if used + declared.max(1) > media.settings.quota_bytes {
        return Err(Error::QuotaExceeded {
            quota_bytes: media.settings.quota_bytes,
        });
    }
    Ok(())
}

/// What arrived: its digest, size and type.
struct Received {
    digest: Digest,
    size: u64,
    sniffed: Sniffed,
}

/// Writes the parts' bytes to `incoming` as they come.
async fn receive(
    media: &Media,
    incoming: &Path,
    start: &UploadStart,
    parts: &mut (impl Stream<Item = Result<UploadPart>> + Unpin),
) -> Result<Received> {
    let mut writer = media.objects.writer(incoming).await?;
    match write_parts(media, &mut writer, start, parts).await {
        Ok(received) => {
            writer.finish().await?;
            Ok(received)
        }
        Err(error) => {
            let _ = writer.abort().await;
            Err(error)
        }
    }
}

async fn write_parts(
    media: &Media,
    writer: &mut WriteMultipart,
    start: &UploadStart,
    parts: &mut (impl Stream<Item = Result<UploadPart>> + Unpin),
) -> Result<Received> {
    let max = media.settings.max_upload_bytes;
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut size = 0u64;
    while let Some(part) = parts.next().await {
        let Some(Part::Data(data)) = part?.part else {
            return Err(Error::invalid("data", "only bytes follow the start"));
        };
        size += data.len() as u64;
        if size > max {
            return Err(Error::FileTooLarge { max_bytes: max });
        }
        if head.len() < SNIFF_BYTES {
            let room = SNIFF_BYTES - head.len();
            head.extend_from_slice(&data[..data.len().min(room)]);
        }
        hasher.update(&data);
        writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        writer.put(Bytes::from(data));
    }
    if size == 0 {
        return Err(Error::invalid("body", "the file is empty"));
    }
    if start.size.is_some_and(|declared| declared != size) {
        return Err(Error::TruncatedUpload);
    }
    let sniffed = images::sniff(&head);
    if !images::agrees(&start.content_type, &sniffed) {
        return Err(Error::invalid(
            "content_type",
            format!(
                "the file is {}, not {}",
                sniffed.content_type, start.content_type
            ),
        ));
    }
    Ok(Received {
        digest: hasher.finalize().into(),
        size,
        sniffed,
    })
}

/// The content of what was received: the one kept already, or this one
/// (an image read, its thumbnail made and its metadata dropped).
async fn keep(
    media: &Media,
    store: &Store,
    incoming: &Path,
    received: Received,
) -> Result<MediaRecord> {
    if let Some(kept) = store.take_media(&received.digest).await? {
        return Ok(kept);
    }
    let digest = received.digest;
    let file = media::file_key(&digest);
    let record = match received.sniffed.image {
        Some(format) => {
            let max = media.settings.max_image_pixels;
            let processed = media
                .images
                .run(media.objects.read_all(incoming), move |bytes| {
                    images::process(bytes, format, max)
                })
                .await?
                .map_err(|error| match error {
                    ImageError::TooLarge { max, .. } => Error::ImageTooLarge { max_pixels: max },
                    ImageError::Corrupt(reason) => Error::invalid("body", reason),
                })?;
            let record = MediaRecord {
                digest,
                size: length(&processed.served),
                content_type: received.sniffed.content_type,
                width: i32::try_from(processed.width).ok(),
                height: i32::try_from(processed.height).ok(),
                thumbnail_size: Some(length(&processed.thumbnail)),
            };
            let thumbnail = media::thumbnail_key(&digest);
            media.objects.put(&thumbnail, processed.thumbnail).await?;
            media.objects.put(&file, processed.served).await?;
            record
        }
        None => {
            media.objects.rename(incoming, &file).await?;
            MediaRecord {
                digest,
                size: i64::try_from(received.size).unwrap_or(i64::MAX),
                content_type: received.sniffed.content_type,
                width: None,
                height: None,
                thumbnail_size: None,
            }
        }
    };
    store.add_media(&record).await
}

fn length(bytes: &Bytes) -> i64 {
    i64::try_from(bytes.len()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn a_name_is_metadata_not_a_path() {
        assert_eq!(check_name(" photo.jpg ").unwrap(), "photo.jpg");
        assert!(check_name("élan vital.pdf").is_ok());
        for bad in [
            "",
            "  ",
            "../etc/passwd",
            "a/b",
            "a\\b",
            "..",
            ".",
            "line\nbreak",
            "nul\0",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(check_name(&"x".repeat(255)).is_ok());
        assert!(check_name(&"x".repeat(256)).is_err());
    }
}
