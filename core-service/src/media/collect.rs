//! The collection of files no one can reach any more: uploads never sent
//! (after `unsent_kept`), contents no upload uses (those of deleted
//! messages, and of collected uploads), and the leftovers of uploads that
//! never finished. Every core runs it; they share the work through row
//! locks, and deleting what is gone already is no error.

use super::{Media, file_key, thumbnail_key};
use crate::store::Store;
use crate::store::attachments::MediaRecord;
use chrono::Utc;
use object_store::path::Path;
use std::time::Duration;
use tokio::sync::watch;

/// How long content no upload uses is kept after an upload last took it:
/// far longer than an upload takes between finding content and using it.
pub const UNUSED_KEPT: Duration = Duration::from_secs(3600);
/// How long an upload may take before its leftovers are collected.
pub const INCOMING_KEPT: Duration = Duration::from_secs(24 * 3600);
/// Contents collected per transaction.
const BATCH: i64 = 100;

/// Collects every `media.settings.collect_every` until `shutdown`.
pub async fn run(media: &Media, store: &Store, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(media.settings.collect_every) => {}
            _ = shutdown.changed() => return,
        }
        if let Err(error) = once(media, store, UNUSED_KEPT).await {
            tracing::warn!(%error, "collecting files failed; trying again later");
        }
    }
}

/// One collection: what it removed (uploads, contents, leftovers).
pub async fn once(
    media: &Media,
    store: &Store,
    unused_kept: Duration,
) -> Result<(u64, usize, usize), crate::error::Error> {
    let now = Utc::now();
    let unsent = store
        .delete_unsent(now - media.settings.unsent_kept)
        .await?;
    let mut contents = 0;
    loop {
        let collected = store
            .collect_media(now - unused_kept, BATCH, async |unused| {
                remove(media, unused).await
            })
            .await?;
        contents += collected;
        if collected < BATCH as usize {
            break;
        }
    }
    let leftovers = media
        .objects
        .older_than(&Path::from("incoming"), now - INCOMING_KEPT)
        .await?;
    for key in &leftovers {
        media.objects.delete(key).await?;
    }
    if unsent + contents as u64 + leftovers.len() as u64 > 0 {
        tracing::info!(
            unsent,
            contents,
            leftovers = leftovers.len(),
            "files collected"
        );
    }
    Ok((unsent, contents, leftovers.len()))
}

/// Deletes the bytes of `unused`; false (and nothing forgotten) if the
/// store fails.
async fn remove(media: &Media, unused: &[MediaRecord]) -> bool {
    for content in unused {
        let mut keys = vec![file_key(&content.digest)];
        if content.thumbnail_size.is_some() {
            keys.push(thumbnail_key(&content.digest));
        }
        for key in keys {
            if let Err(error) = media.objects.delete(&key).await {
                tracing::warn!(%error, %key, "a collected file was not deleted");
                return false;
            }
        }
    }
    true
}
