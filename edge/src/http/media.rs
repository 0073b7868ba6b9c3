//! Files: `POST /media` streams an upload to the core as it arrives;
//! `GET /media/{id}` (and `/media/{id}/thumbnail`) streams one back to a
//! member of a chat it was sent in, with ranges and validators, as
//! something a browser saves or shows but never runs.

use super::{Context, json_reply};
use crate::auth::{Caller, require_credential};
use crate::error::{ApiError, Detail, ValidationError};
use crate::json::Attachment;
use crate::openapi::{Document, PathParams};
use bytes::Buf;
use futures_util::{Stream, StreamExt, stream};
use messenger_proto::v1::{
    self, ByteRange, DownloadHead, DownloadRequest, UploadPart, UploadStart, download_part,
    upload_part,
};
use tokio_stream::wrappers::ReceiverStream;
use utoipa::IntoParams;
use warp::filters::BoxedFilter;
use warp::http::header::{self, HeaderValue};
use warp::http::{Response as HttpResponse, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection};

/// How files are kept by browsers: privately (they are the user's), and
/// for long, since a file's bytes never change under its name.
const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";
/// A file opened on its own runs nothing and loads nothing.
const FILE_POLICY: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";
/// Parts of a download waiting for the client.
const DOWNLOAD_QUEUE: usize = 4;

/// The upload's name.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct UploadParams {
    /// The file's name (kept as metadata: 1 to 255 characters, no path).
    name: String,
}

/// The routes.
/// Boxed: the routes' filter types are deep, and the whole edge's type
/// must stay within the compiler's limits where a program nests it further.
pub fn routes(document: &mut Document, context: Context) -> BoxedFilter<(Response,)> {
    let upload = document
        .route::<__path_upload>()
        .and(context.clone().with_query())
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::header::optional::<String>("transfer-encoding"))
        .and(warp::body::stream())
        .and_then(upload);
    let file = document
        .route_with_params::<__path_file>()
        .and(warp::any().map(|| false))
        .or(document
            .route_with_params::<__path_thumbnail>()
            .and(warp::any().map(|| true)))
        .unify()
        .and(warp::header::optional::<String>("range"))
        .and(warp::header::optional::<String>("if-none-match"))
        .and(context.caller())
        .and(super::with_context(context))
        .and_then(download);
    upload.or(file).unify().boxed()
}

/// Upload a file
///
/// The request's body is the file's bytes. It is streamed to storage as it
/// arrives; its content type is read from the bytes (an image type given
/// in `Content-Type` must be true). Answered with the attachment, whose id
/// a message then carries (`send_message` with `attachments: [{"id": …}]`).
/// Files never sent are deleted after a while.
#[utoipa::path(
    post,
    path = "/media",
    params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The file's bytes, with its Content-Length"),
    security(("sessionCookie" = []), ("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = Attachment),
        (status = 401, description = "No valid credential (missing, expired or revoked)",
            body = Detail, headers(("WWW-Authenticate" = String))),
        (status = 411, description = "No Content-Length", body = Detail),
        (status = 413, description = "Larger than MAX_UPLOAD_BYTES, beyond the caller's storage \
            quota, or an image with too many pixels", body = Detail),
        (status = 422, description = "A bad name, an empty file, a declared image type the bytes \
            are not, an image that cannot be read, or a body cut short", body = ValidationError),
        (status = 429, description = "Too many uploads: retry later",
            body = Detail, headers(("Retry-After" = u32))),
    )
)]
async fn upload(
    query: Vec<(String, String)>,
    caller: Caller,
    context: Context,
    content_type: Option<String>,
    length: Option<u64>,
    transfer_encoding: Option<String>,
    body: impl Stream<Item = Result<impl Buf + Send + 'static, warp::Error>> + Send + 'static,
) -> Result<Response, Rejection> {
    require_credential(&caller)?;
    // Without either header a request has no body (HTTP/1.1): an empty
    // file. A chunked one is refused: only a length shows one cut short.
    let length = match (length, transfer_encoding) {
        (Some(length), _) => length,
        (None, None) => 0,
        (None, Some(_)) => return Err(warp::reject::custom(ApiError::LengthRequired)),
    };
    if length > context.max_upload_bytes {
        return Err(warp::reject::custom(ApiError::TooLarge(format!(
            "the file is larger than {} bytes, the most one upload may be",
            context.max_upload_bytes
        ))));
    }
    let name = query
        .iter()
        .rev()
        .find(|(key, _)| key == "name")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let start = UploadPart {
        part: Some(upload_part::Part::Start(UploadStart {
            name,
            content_type: content_type.unwrap_or_default(),
            size: Some(length),
        })),
    };
    // A body that fails ends the parts early: the core then finds fewer
    // bytes than declared and keeps nothing.
    let data = body
        .take_while(|chunk| std::future::ready(chunk.is_ok()))
        .filter_map(|chunk| async move {
            let mut chunk = chunk.ok()?;
            let bytes = chunk.copy_to_bytes(chunk.remaining());
            Some(UploadPart {
                part: Some(upload_part::Part::Data(bytes.to_vec())),
            })
        });
    let parts = stream::once(async move { start }).chain(data);
    let stored = context
        .call(&caller, parts, async |core, request| {
            core.upload(request).await
        })
        .await
        .map_err(super::body_error)?;
    Ok(json_reply(&Attachment::from(&stored), StatusCode::CREATED))
}

/// Download a file
///
/// For a member of a chat it was sent in (or its uploader before then).
/// Images are shown inline, without the metadata their camera wrote; any
/// other file is a download (`Content-Disposition: attachment`). Supports
/// one `Range` and `If-None-Match`.
#[utoipa::path(
    get,
    path = "/media/{id}",
    params(("id" = Uuid, Path)),
    security(("sessionCookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The range asked for", body = Vec<u8>),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 401, description = "No valid credential (missing, expired or revoked)",
            body = Detail, headers(("WWW-Authenticate" = String))),
        (status = 404, description = "No such file in the caller's chats (or deleted)", body = Detail),
        (status = 416, description = "A range beyond the file's end", body = Detail),
    )
)]
#[allow(dead_code)]
fn file() {}

/// Download an image's thumbnail
///
/// A JPEG at most 320 pixels on its longest side; as `/media/{id}`.
#[utoipa::path(
    get,
    path = "/media/{id}/thumbnail",
    params(("id" = Uuid, Path)),
    security(("sessionCookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The thumbnail", content_type = "image/jpeg", body = Vec<u8>),
        (status = 206, description = "The range asked for", body = Vec<u8>),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 401, description = "No valid credential (missing, expired or revoked)",
            body = Detail, headers(("WWW-Authenticate" = String))),
        (status = 404, description = "No such image in the caller's chats", body = Detail),
        (status = 416, description = "A range beyond the thumbnail's end", body = Detail),
    )
)]
#[allow(dead_code)]
fn thumbnail() {}

async fn download(
    params: PathParams,
    thumbnail: bool,
    range: Option<String>,
    if_none_match: Option<String>,
    caller: Caller,
    context: Context,
) -> Result<Response, Rejection> {
    require_credential(&caller)?;
    let id = params.take("id");
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(warp::reject::custom(ApiError::NotFound(
            "no such file in your chats".into(),
        )));
    }
    let request = DownloadRequest {
        id,
        thumbnail,
        range: range.as_deref().and_then(parse_range),
    };
    let not_found =
        |status: tonic::Status| warp::reject::custom(ApiError::from_status(&status, "path"));
    let mut parts = context
        .call(&caller, request, async |core, request| {
            core.download(request).await
        })
        .await
        .map_err(not_found)?;
    let head = match parts.message().await.map_err(not_found)? {
        Some(v1::DownloadPart {
            part: Some(download_part::Part::Head(head)),
        }) => head,
        _ => return Err(warp::reject::custom(ApiError::Internal)),
    };
    if if_none_match.is_some_and(|given| matches_etag(&given, &head.etag)) {
        return Ok(not_modified(&head));
    }
    let (sender, receiver) = tokio::sync::mpsc::channel(DOWNLOAD_QUEUE);
    tokio::spawn(async move {
        loop {
            let next = match parts.message().await {
                Ok(Some(v1::DownloadPart {
                    part: Some(download_part::Part::Data(data)),
                })) => Ok(bytes::Bytes::from(data)),
                Ok(_) => return,
                Err(status) => Err(std::io::Error::other(status.message().to_owned())),
            };
            let failed = next.is_err();
            if sender.send(next).await.is_err() || failed {
                return;
            }
        }
    });
    Ok(file_response(&head, ReceiverStream::new(receiver)))
}

/// The response whose body `bytes` brings.
fn file_response(
    head: &DownloadHead,
    bytes: impl Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + Sync + 'static,
) -> Response {
    let partial = head.first != 0 || head.last + 1 != head.total;
    let mut response = warp::reply::Reply::into_response(warp::reply::stream(bytes));
    *response.status_mut() = if partial {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let headers = response.headers_mut();
    set(headers, header::CONTENT_TYPE, &head.content_type);
    set(
        headers,
        header::CONTENT_LENGTH,
        &(head.last + 1 - head.first).to_string(),
    );
    if partial {
        set(
            headers,
            header::CONTENT_RANGE,
            &format!("bytes {}-{}/{}", head.first, head.last, head.total),
        );
    }
    set(headers, header::ACCEPT_RANGES, "bytes");
    let name = head
        .attachment
        .as_ref()
        .map_or("file", |file| file.name.as_str());
    let inline = head.content_type.starts_with("image/")
        && head
            .attachment
            .as_ref()
            .is_some_and(|file| file.width.is_some());
    set(
        headers,
        header::CONTENT_DISPOSITION,
        &disposition(inline, name),
    );
    validators(headers, head);
    set(headers, header::CONTENT_SECURITY_POLICY, FILE_POLICY);
    response
}

/// 304: the client's copy is the file.
fn not_modified(head: &DownloadHead) -> Response {
    let mut response = HttpResponse::new(warp::hyper::body::Bytes::new().into());
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    validators(response.headers_mut(), head);
    response
}

fn validators(headers: &mut warp::http::HeaderMap, head: &DownloadHead) {
    set(headers, header::ETAG, &head.etag);
    set(headers, header::CACHE_CONTROL, CACHE_CONTROL);
}

fn set(headers: &mut warp::http::HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// Whether `If-None-Match: given` names `etag` (or is `*`).
fn matches_etag(given: &str, etag: &str) -> bool {
    given
        .split(',')
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

/// One range of `Range: bytes=…`; anything else (several ranges, other
/// units, nonsense) is ignored and the whole file served, as HTTP allows.
fn parse_range(header: &str) -> Option<ByteRange> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.trim().split_once('-')?;
    if first.is_empty() {
        return Some(ByteRange {
            first: 0,
            last: None,
            suffix: Some(last.parse().ok()?),
        });
    }
    Some(ByteRange {
        first: first.parse().ok()?,
        last: if last.is_empty() {
            None
        } else {
            Some(last.parse().ok()?)
        },
        suffix: None,
    })
}

/// `Content-Disposition` for a file named `name`: the name in UTF-8
/// (RFC 6266 and 8187), with a plain ASCII fallback for old clients.
fn disposition(inline: bool, name: &str) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect();
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_range_is_read_and_anything_else_ignored() {
        let range = |first, last, suffix| {
            Some(ByteRange {
                first,
                last,
                suffix,
            })
        };
        assert_eq!(parse_range("bytes=0-99"), range(0, Some(99), None));
        assert_eq!(parse_range("bytes=100-"), range(100, None, None));
        assert_eq!(parse_range("bytes=-500"), range(0, None, Some(500)));
        assert_eq!(parse_range("bytes=0-1,5-6"), None);
        assert_eq!(parse_range("items=0-1"), None);
        assert_eq!(parse_range("bytes=x-1"), None);
    }

    #[test]
    fn names_are_given_safely_in_both_spellings() {
        assert_eq!(
            disposition(false, "report \"final\".pdf"),
            "attachment; filename=\"report _final_.pdf\"; filename*=UTF-8''report%20%22final%22.pdf"
        );
        assert_eq!(
            disposition(true, "été.jpg"),
            "inline; filename=\"_t_.jpg\"; filename*=UTF-8''%C3%A9t%C3%A9.jpg"
        );
    }

    #[test]
    fn etags_match_as_if_none_match_lists_them() {
        assert!(matches_etag("\"abc\"", "\"abc\""));
        assert!(matches_etag("\"x\", W/\"abc\"", "\"abc\""));
        assert!(matches_etag("*", "\"abc\""));
        assert!(!matches_etag("\"abd\"", "\"abc\""));
    }
}
