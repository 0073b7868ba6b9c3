//! `Download`: a file's bytes (or its thumbnail's) for someone who may
//! read it, whole or a range of them.

use crate::convert::{self, parse_uuid};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::media::{self, Media};
use crate::state::Chats;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use messenger_proto::v1::{ByteRange, DownloadHead, DownloadRequest};
use std::ops::RangeInclusive;

/// What a download sends: its head, then its bytes as they come.
pub struct Download {
    pub head: DownloadHead,
    pub bytes: BoxStream<'static, Result<Bytes, object_store::Error>>,
}

/// The file `request` names, if `user` may read it (else `FileNotFound`,
/// whether it does not exist or is not theirs to read).
pub async fn run(
    media: &Media,
    chats: &Chats,
    user: UserId,
    request: DownloadRequest,
) -> Result<Download> {
    let id = parse_uuid("id", &request.id)?;
    let readable = chats
        .store
        .readable_file(id, user)
        .await?
        .ok_or(Error::FileNotFound)?;
    let content = &readable.media;
    let (key, total, content_type, etag) = if request.thumbnail {
        let size = content.thumbnail_size.ok_or(Error::FileNotFound)?;
        (
            media::thumbnail_key(&content.digest),
            size,
            "image/jpeg".to_owned(),
            format!("\"{}-thumbnail\"", media::hex(&content.digest)),
        )
    } else {
        (
            media::file_key(&content.digest),
            content.size,
            content.content_type.clone(),
            format!("\"{}\"", media::hex(&content.digest)),
        )
    };
    let total = u64::try_from(total).unwrap_or_default();
    let range = resolve(request.range.as_ref(), total)?;
    let bytes = media
        .objects
        .read(&key, Some(*range.start()..range.end() + 1))
        .await?;
    Ok(Download {
        head: DownloadHead {
            attachment: Some(convert::attachment(&readable.attachment)),
            total,
            content_type,
            etag,
            first: *range.start(),
            last: *range.end(),
        },
        bytes,
    })
}

/// The bytes `asked` names of a file of `total` bytes (all when none).
fn resolve(asked: Option<&ByteRange>, total: u64) -> Result<RangeInclusive<u64>> {
    let unsatisfiable = Error::RangeNotSatisfiable { size: total };
    let Some(asked) = asked else {
        return Ok(0..=total.saturating_sub(1));
    };
    if let Some(suffix) = asked.suffix {
        if suffix == 0 {
            return Err(unsatisfiable);
        }
        return Ok(total.saturating_sub(suffix)..=total - 1);
    }
    if asked.first >= total || asked.last.is_some_and(|last| last < asked.first) {
        return Err(unsatisfiable);
    }
    let last = asked.last.map_or(total - 1, |last| last.min(total - 1));
    Ok(asked.first..=last)
}

#[cfg(test)]
mod tests {
    use super::resolve;
    use messenger_proto::v1::ByteRange;

    fn range(first: u64, last: Option<u64>, suffix: Option<u64>) -> ByteRange {
        ByteRange {
            first,
            last,
            suffix,
        }
    }

    #[test]
    fn ranges_are_read_as_http_reads_them() {
        assert_eq!(resolve(None, 10).unwrap(), 0..=9);
        assert_eq!(resolve(Some(&range(2, Some(4), None)), 10).unwrap(), 2..=4);
        assert_eq!(resolve(Some(&range(2, None, None)), 10).unwrap(), 2..=9);
        assert_eq!(resolve(Some(&range(2, Some(99), None)), 10).unwrap(), 2..=9);
        assert_eq!(resolve(Some(&range(0, None, Some(3))), 10).unwrap(), 7..=9);
        assert_eq!(resolve(Some(&range(0, None, Some(30))), 10).unwrap(), 0..=9);
        assert!(resolve(Some(&range(10, None, None)), 10).is_err());
        assert!(resolve(Some(&range(5, Some(4), None)), 10).is_err());
        assert!(resolve(Some(&range(0, None, Some(0))), 10).is_err());
    }
}
