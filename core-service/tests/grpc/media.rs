//! Files: uploads, messages that carry them, downloads by the chat's
//! members only, deletion, collection, and every refusal leaving nothing.

use crate::common::*;
use core_service::media::{Media, MediaSettings};
use pb::{UploadPart, UploadStart, upload_part::Part};

/// Uploads `bytes` as `name` (declared `content_type`, and `size` if
/// given, else the real size).
async fn upload(
    core: &Core,
    token: &str,
    name: &str,
    content_type: &str,
    bytes: &[u8],
    size: Option<u64>,
) -> Result<pb::Attachment, tonic::Status> {
    let mut parts = vec![UploadPart {
        part: Some(Part::Start(UploadStart {
            name: name.into(),
            content_type: content_type.into(),
            size: Some(size.unwrap_or(bytes.len() as u64)),
        })),
    }];
    for chunk in bytes.chunks(10_000) {
        parts.push(UploadPart {
            part: Some(Part::Data(chunk.to_vec())),
        });
    }
    let mut client = MessengerClient::new(core.channel().await);
    let request = authorized(tokio_stream::iter(parts), token);
    Ok(client.upload(request).await?.into_inner())
}

/// Downloads a file (or its thumbnail): its head and bytes.
async fn download(
    core: &Core,
    token: &str,
    id: &str,
    thumbnail: bool,
    range: Option<pb::ByteRange>,
) -> Result<(pb::DownloadHead, Vec<u8>), tonic::Status> {
    let mut client = MessengerClient::new(core.channel().await);
    let request = pb::DownloadRequest {
        id: id.into(),
        thumbnail,
        range,
    };
    let mut parts = client
        .download(authorized(request, token))
        .await?
        .into_inner();
    let mut head = None;
    let mut bytes = Vec::new();
    while let Some(part) = parts.message().await? {
        match part.part.unwrap() {
            pb::download_part::Part::Head(given) => head = Some(given),
            pb::download_part::Part::Data(data) => bytes.extend(data),
        }
    }
    Ok((head.unwrap(), bytes))
}

/// A PNG with a text chunk, as a camera app might leave one.
fn png_with_metadata(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(width, height, image::Rgb([10, 120, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    let png = out.into_inner();
    // A tEXt chunk after IHDR (8 + 25 bytes): keyword, NUL, text.
    let data = b"Location\0GPS 48.8584 2.2945";
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend(b"tEXt");
    chunk.extend(data);
    let mut crc_input = b"tEXt".to_vec();
    crc_input.extend(data);
    chunk.extend(crc32(&crc_input).to_be_bytes());
    let mut with = png[..33].to_vec();
    with.extend(chunk);
    with.extend(&png[33..]);
    with
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn send_with(core: &Core, sender: usize, chat: &str, text: &str, files: &[&str]) -> Operation {
    Operation::SendMessage(pb::SendMessage {
        client_id: uuid::Uuid::new_v4().to_string(),
        sender_id: core.data.users[sender].id.to_string(),
        chat_id: chat.into(),
        text: text.into(),
        attachment_ids: files.iter().map(|id| (*id).to_owned()).collect(),
        written_at: None,
    })
}

/// The code a refusal names.
fn code(status: &tonic::Status) -> &str {
    status
        .metadata()
        .get(messenger_proto::ERROR_CODE_METADATA)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// A chat of `members[0]` and `members[1]` from the demo data.
fn group_of(core: &Core, members: &[usize]) -> String {
    let member = |chat: uuid::Uuid, user: usize| {
        (core.data.chat_members.iter())
            .any(|m| m.chat_id == chat && m.user_id == core.data.users[user].id)
    };
    let chat = core.data.chats.iter().find(|chat| {
        chat.kind == core_service::store::chats::GROUP_CHAT
            && member(chat.id, members[0])
            && member(chat.id, members[1])
    });
    chat.unwrap().id.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_reaches_the_chats_members_only_and_goes_with_its_message() {
    let core = start(Limits::default()).await;
    let members = group_members(&core);
    let (sender, reader) = (members[0], members[1]);
    let outsider = (0..core.data.users.len())
        .find(|user| !members.contains(user))
        .unwrap();
    let chat = group_of(&core, &members);
    let token = access_token(&core, sender).await;
    let reader_token = access_token(&core, reader).await;
    let outsider_token = access_token(&core, outsider).await;

    // An image: its size, a thumbnail, and no metadata in what is served.
    let png = png_with_metadata(640, 480);
    let photo = upload(&core, &token, "beach.png", "image/png", &png, None)
        .await
        .unwrap();
    assert_eq!(
        (photo.content_type.as_str(), photo.width, photo.height),
        ("image/png", Some(640), Some(480))
    );
    let report = b"%PDF-1.7\nnot really a report\n".repeat(100);
    let file = upload(&core, &token, "report.pdf", "", &report, None)
        .await
        .unwrap();
    assert_eq!(
        (file.content_type.as_str(), file.size),
        ("application/pdf", report.len() as u64)
    );
    assert_eq!((file.width, file.height), (None, None));

    // A message of files and no text reaches the other member with them.
    let mut own = session(&core, sender).await;
    let mut reader_own = session(&core, reader).await;
    let sending = send_with(&core, sender, &chat, "", &[&photo.id, &file.id]);
    let acked = |event: Event| match event {
        Event::MessageAck(ack) => Some(ack.id),
        _ => None,
    };
    let first = answer(&mut own, sending.clone(), acked).await;
    // Its retry (same client id, same files) is acked with it.
    assert_eq!(answer(&mut own, sending, acked).await, first);
    let received = wait(&mut reader_own, |event| match event {
        Event::Message(message) => Some(message),
        _ => None,
    })
    .await;
    let ids: Vec<&str> = received
        .attachments
        .iter()
        .map(|file| file.id.as_str())
        .collect();
    assert_eq!(ids, [photo.id.as_str(), file.id.as_str()]);
    assert_eq!(received.attachments[0].width, Some(640));
    // A device that syncs gets them too.
    let mut other_device = session(&core, reader).await;
    let synced = answer(
        &mut other_device,
        Operation::Sync(pb::Sync { since: None }),
        |event| match event {
            Event::Message(message) if message.id == received.id => Some(message),
            _ => None,
        },
    )
    .await;
    assert_eq!(synced.attachments, received.attachments);

    downloads(
        &core,
        [&reader_token, &outsider_token],
        &photo,
        &file,
        &report,
    )
    .await;
    refused_sends(&core, &mut own, sender, &chat, [&file.id, &reader_token]).await;
    deletion(&core, &mut own, &received.id, &reader_token, &photo.id).await;
    core.stop().await;
}

/// Members download (whole, thumbnails, ranges), outsiders do not.
async fn downloads(
    core: &Core,
    [reader_token, outsider_token]: [&str; 2],
    photo: &pb::Attachment,
    file: &pb::Attachment,
    report: &[u8],
) {
    let chat = group_of(core, &group_members(core));
    let history = history_of(core, reader_token, &chat).await;
    assert_eq!(history.last().unwrap().attachments.len(), 2);
    let (head, served) = download(core, reader_token, &photo.id, false, None)
        .await
        .unwrap();
    assert_eq!(head.content_type, "image/png");
    assert_eq!(head.total, served.len() as u64);
    assert!(
        !served.windows(8).any(|w| w == b"Location"),
        "the metadata is gone"
    );
    assert_eq!(image::load_from_memory(&served).unwrap().width(), 640);
    let (thumb_head, thumb) = download(core, reader_token, &photo.id, true, None)
        .await
        .unwrap();
    assert_eq!(thumb_head.content_type, "image/jpeg");
    let thumb = image::load_from_memory(&thumb).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 240));
    let (_, whole) = download(core, reader_token, &file.id, false, None)
        .await
        .unwrap();
    assert_eq!(whole, report);
    let tail = pb::ByteRange {
        first: 0,
        last: None,
        suffix: Some(10),
    };
    let (tail_head, bytes) = download(core, reader_token, &file.id, false, Some(tail))
        .await
        .unwrap();
    assert_eq!(
        (tail_head.first, tail_head.last),
        (report.len() as u64 - 10, report.len() as u64 - 1)
    );
    assert_eq!(bytes, report[report.len() - 10..]);
    let beyond = pb::ByteRange {
        first: report.len() as u64,
        last: None,
        suffix: None,
    };
    let refused = download(core, reader_token, &file.id, false, Some(beyond))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::OutOfRange);
    let refused = download(core, outsider_token, &file.id, false, None)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
    assert!(
        download(core, reader_token, &file.id, true, None)
            .await
            .is_err(),
        "no thumbnail of a PDF"
    );
}

/// One upload goes into one message; another's upload into none.
async fn refused_sends(
    core: &Core,
    own: &mut Own,
    sender: usize,
    chat: &str,
    [sent, reader_token]: [&str; 2],
) {
    let again = send_with(core, sender, chat, "again", &[sent]);
    let refused = answer(own, again, |event| match event {
        Event::Error(error) => Some(error.code),
        _ => None,
    })
    .await;
    assert_eq!(refused, "attachment_in_use");
    let theirs = upload(core, reader_token, "mine.txt", "text/plain", b"hello", None)
        .await
        .unwrap();
    let stealing = send_with(core, sender, chat, "look", &[&theirs.id]);
    let refused = answer(own, stealing, |event| match event {
        Event::Error(error) => Some(error.code),
        _ => None,
    })
    .await;
    assert_eq!(refused, "unknown_attachment");
}

/// Deleted with its message: no one can fetch it, and collection frees it.
async fn deletion(core: &Core, own: &mut Own, message: &str, reader_token: &str, photo: &str) {
    let deleting = Operation::DeleteMessage(pb::DeleteMessage {
        message_id: message.to_owned(),
    });
    answer(own, deleting, |event| {
        matches!(event, Event::MessageDeleted(_)).then_some(())
    })
    .await;
    let refused = download(core, reader_token, photo, false, None)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
    let media = Media::open(MediaSettings {
        url: Some(core.db.media_url()),
        unsent_kept: Duration::ZERO,
        ..MediaSettings::default()
    })
    .unwrap();
    let (unsent, contents, _) =
        core_service::media::collect::once(&media, &core.db.store(), Duration::ZERO)
            .await
            .unwrap();
    assert_eq!(
        (unsent, contents),
        (1, 3),
        "the reader's unsent upload and the three contents"
    );
    assert_eq!(core.db.count("SELECT count(*) FROM media").await, 0);
    let folder = core.db.media_url().trim_start_matches("file://").to_owned();
    let left: Vec<_> = walk(std::path::Path::new(&folder));
    assert!(left.is_empty(), "files left: {left:?}");
}

/// Every file under `folder`.
fn walk(folder: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

async fn history_of(core: &Core, token: &str, chat: &str) -> Vec<pb::Message> {
    let mut client = MessengerClient::new(core.channel().await);
    let request = pb::HistoryRequest {
        chat_id: chat.into(),
        limit: 100,
        ..pb::HistoryRequest::default()
    };
    client
        .get_history(authorized(request, token))
        .await
        .unwrap()
        .into_inner()
        .messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_files_are_kept_once_and_bad_uploads_leave_nothing() {
    let settings = Settings {
        media: MediaSettings {
            max_upload_bytes: 100_000,
            quota_bytes: 150_000,
            max_image_pixels: 10_000,
            ..MediaSettings::default()
        },
        ..Settings::default()
    };
    let core = start(settings).await;
    let token = access_token(&core, 0).await;
    let bytes = b"the same notes\n".repeat(4000);
    let first = upload(&core, &token, "a.txt", "text/plain", &bytes, None)
        .await
        .unwrap();
    let second = upload(&core, &token, "b.txt", "text/plain", &bytes, None)
        .await
        .unwrap();
    assert_ne!(first.id, second.id);
    assert_eq!(core.db.count("SELECT count(*) FROM media").await, 1);
    assert_eq!(core.db.count("SELECT count(*) FROM attachments").await, 2);

    refused_uploads(&core, &token, &bytes).await;
    assert_eq!(core.db.count("SELECT count(*) FROM attachments").await, 2);
    let folder = core.db.media_url().trim_start_matches("file://").to_owned();
    let incoming = walk(&std::path::Path::new(&folder).join("incoming"));
    assert!(incoming.is_empty(), "left behind: {incoming:?}");
    core.stop().await;
}

/// An upload and how it is refused: name, declared type, bytes, declared
/// size, status, code.
type Refusal = (
    &'static str,
    &'static str,
    Vec<u8>,
    Option<u64>,
    Code,
    &'static str,
);

/// Each bad upload is refused with its own code.
/// The bad uploads.
fn refusals(bytes: &[u8]) -> Vec<Refusal> {
    let pdf = b"%PDF-1.7\n".repeat(10);
    let mut corrupt = png_with_metadata(50, 50);
    corrupt.truncate(corrupt.len() / 2);
    vec![
        (
            "empty.txt",
            "",
            Vec::new(),
            None,
            Code::InvalidArgument,
            "invalid_field",
        ),
        (
            "../../etc/passwd",
            "",
            b"x".to_vec(),
            None,
            Code::InvalidArgument,
            "invalid_field",
        ),
        (
            "big.bin",
            "",
            vec![1; 100_001],
            None,
            Code::FailedPrecondition,
            "file_too_large",
        ),
        (
            "big.bin",
            "",
            vec![1; 10],
            Some(100_001),
            Code::FailedPrecondition,
            "file_too_large",
        ),
        (
            "cut.bin",
            "",
            vec![1; 50],
            Some(100),
            Code::InvalidArgument,
            "truncated_upload",
        ),
        (
            "fake.png",
            "image/png",
            pdf,
            None,
            Code::InvalidArgument,
            "invalid_field",
        ),
        (
            "broken.png",
            "image/png",
            corrupt,
            None,
            Code::InvalidArgument,
            "invalid_field",
        ),
        (
            "huge.png",
            "",
            png_with_metadata(101, 100),
            None,
            Code::FailedPrecondition,
            "image_too_large",
        ),
        // The third copy would pass the quota (the copies count each).
        (
            "c.txt",
            "",
            bytes.to_vec(),
            None,
            Code::FailedPrecondition,
            "quota_exceeded",
        ),
    ]
}

/// Each bad upload is refused with its own code.
async fn refused_uploads(core: &Core, token: &str, bytes: &[u8]) {
    let cases = refusals(bytes);
    for (name, declared, bytes, size, status, named) in cases {
        let refused = upload(core, token, name, declared, &bytes, size)
            .await
            .unwrap_err();
        assert_eq!(
            (refused.code(), code(&refused)),
            (status, named),
            "{name}: {refused:?}"
        );
    }
}
