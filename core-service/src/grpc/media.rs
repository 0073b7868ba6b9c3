//! The files calls' streams: an upload's parts in, a download's out.

use crate::commands::download::Download;
use crate::error::Error;
use bytes::Bytes;
use futures_util::stream::{self, BoxStream};
use futures_util::{Stream, StreamExt};
use messenger_proto::v1::{DownloadPart, UploadPart, download_part};
use tonic::{Status, Streaming};

/// Bytes in one message of a download.
const PART_BYTES: usize = 64 * 1024;

/// A download as the gRPC stream sends it.
pub type DownloadStream = BoxStream<'static, Result<DownloadPart, Status>>;

/// An upload's parts; a stream that fails (the uploader went away) ends
/// the upload as cut short.
pub fn upload_parts(
    parts: Streaming<UploadPart>,
) -> impl Stream<Item = Result<UploadPart, Error>> + Unpin {
    parts.map(|part| part.map_err(|_| Error::TruncatedUpload))
}

/// The head, then the bytes in parts of at most [`PART_BYTES`].
pub fn download_stream(download: Download) -> DownloadStream {
    let head = stream::once(async move {
        Ok(DownloadPart {
            part: Some(download_part::Part::Head(download.head)),
        })
    });
    let bytes = download.bytes.flat_map(|chunk| {
        let parts: Vec<Result<DownloadPart, Status>> = match chunk {
            Ok(chunk) => pieces(chunk)
                .map(|piece| {
                    Ok(DownloadPart {
                        part: Some(download_part::Part::Data(piece.to_vec())),
                    })
                })
                .collect(),
            Err(error) => vec![Err(Status::from(Error::Storage(error)))],
        };
        stream::iter(parts)
    });
    head.chain(bytes).boxed()
}

/// `chunk` cut into pieces of at most [`PART_BYTES`].
fn pieces(chunk: Bytes) -> impl Iterator<Item = Bytes> {
    let count = chunk.len().div_ceil(PART_BYTES);
    (0..count).map(move |index| {
        let start = index * PART_BYTES;
        chunk.slice(start..(start + PART_BYTES).min(chunk.len()))
    })
}
