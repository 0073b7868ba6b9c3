//! Files in a cluster: its cores keep them in one S3-compatible store, so
//! a file uploaded through one core is served by the other, and collected
//! from the store once no one can reach it. The store here is moto's S3
//! server (`pip install 'moto[server]'`), started per test.

use crate::events::{Session, free_port, group, group_of_four, listens_within};
use crate::{Cluster, authorized, cluster_settings, nats_url, require_nats};
use core_service::media::{Media, MediaSettings};
use core_service::testing::Process;
use messenger_proto::v1::client_operation::Operation;
use messenger_proto::v1::messenger_client::MessengerClient;
use messenger_proto::v1::server_event::Event;
use messenger_proto::v1::{self as pb, Login, UploadPart, UploadStart, upload_part::Part};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// moto's S3 server on a port of its own, with one bucket.
struct S3 {
    _server: Process,
    endpoint: String,
    bucket: String,
}

impl S3 {
    /// Starts the server; fails the test, saying what to install, when
    /// there is no moto.
    async fn start() -> S3 {
        let port = free_port().await;
        let mut command = std::process::Command::new("moto_server");
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let server = Process::start(
            command,
            "moto_server, moto's S3 server (pip install 'moto[server]')",
        );
        assert!(
            listens_within(port, Duration::from_secs(30)).await,
            "moto_server did not listen on {port}"
        );
        let endpoint = format!("http://127.0.0.1:{port}");
        let bucket = format!("media-{}", uuid::Uuid::new_v4().simple());
        create_bucket(port, &bucket).await;
        S3 {
            _server: server,
            endpoint,
            bucket,
        }
    }

    /// Media settings for this store under `prefix`.
    fn settings(&self, prefix: &str) -> MediaSettings {
        let options = [
            ("aws_endpoint", self.endpoint.as_str()),
            ("aws_allow_http", "true"),
            ("aws_region", "us-east-1"),
            ("aws_access_key_id", "test"),
            ("aws_secret_access_key", "test"),
        ];
        MediaSettings {
            url: Some(format!("s3://{}/{prefix}", self.bucket)),
            options: options
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
            ..MediaSettings::default()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_uploads_on_two_cores_share_one_rate() {
    require_nats().await;
    let subject = format!("test.{}.events", uuid::Uuid::new_v4().simple());
    let mut settings = cluster_settings(&nats_url(), &subject);
    settings.media.uploads_per_minute = 2;
    let cluster = Cluster::start_with(&group_of_four(), settings).await;
    let (members, _) = group(&cluster);
    let [first, second] = cluster.urls.clone();
    let on_first = token(&first, &members[0]).await;
    let on_second = token(&second, &members[0]).await;
    upload(&first, &on_first, b"one").await;
    upload(&second, &on_second, b"two").await;
    let refused = try_upload(&first, &on_first, b"three").await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
    let wait = refused
        .metadata()
        .get(messenger_proto::RETRY_AFTER_METADATA);
    let wait: u64 = wait.unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "retry after {wait} s");
    // Someone else has their own rate.
    let other = token(&second, &members[1]).await;
    upload(&second, &other, b"four").await;
}

/// `PUT /bucket`: moto takes an unsigned request.
async fn create_bucket(port: u16, bucket: &str) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!(
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

async fn token(url: &str, user: &core_service::demo_data::DemoUser) -> String {
    let mut client = MessengerClient::connect(url.to_owned()).await.unwrap();
    let login = Login {
        email: user.email.clone(),
        password: user.password.clone(),
    };
    let session = client.create_login_session(login).await.unwrap();
    session.into_inner().token
}

async fn upload(url: &str, token: &str, bytes: &[u8]) -> pb::Attachment {
    try_upload(url, token, bytes).await.unwrap()
}

async fn try_upload(url: &str, token: &str, bytes: &[u8]) -> Result<pb::Attachment, tonic::Status> {
    let mut parts = vec![UploadPart {
        part: Some(Part::Start(UploadStart {
            name: "plan.txt".into(),
            content_type: "text/plain".into(),
            size: Some(bytes.len() as u64),
        })),
    }];
    parts.extend(bytes.chunks(100_000).map(|chunk| UploadPart {
        part: Some(Part::Data(chunk.to_vec())),
    }));
    let mut client = MessengerClient::connect(url.to_owned()).await.unwrap();
    let request = authorized(tokio_stream::iter(parts), token);
    Ok(client.upload(request).await?.into_inner())
}

async fn download(url: &str, token: &str, id: &str) -> Result<Vec<u8>, tonic::Status> {
    let mut client = MessengerClient::connect(url.to_owned()).await.unwrap();
    let request = pb::DownloadRequest {
        id: id.into(),
        ..pb::DownloadRequest::default()
    };
    let mut parts = client
        .download(authorized(request, token))
        .await?
        .into_inner();
    let mut bytes = Vec::new();
    while let Some(part) = parts.message().await? {
        if let Some(pb::download_part::Part::Data(data)) = part.part {
            bytes.extend(data);
        }
    }
    Ok(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cores_share_files_through_an_s3_store() {
    require_nats().await;
    let s3 = S3::start().await;
    let prefix = "cluster";
    let subject = format!("test.{}.events", uuid::Uuid::new_v4().simple());
    let settings = core_service::state::Settings {
        media: s3.settings(prefix),
        ..cluster_settings(&nats_url(), &subject)
    };
    let cluster = Cluster::start_with(&group_of_four(), settings).await;
    let (members, chat) = group(&cluster);
    let [first, second] = cluster.urls.clone();

    // Uploaded through the first core (in parts of S3's own size), sent.
    let plan: Vec<u8> = (0..12_000_000u32).map(|n| (n % 251) as u8).collect();
    let sender_token = token(&first, &members[0]).await;
    let file = upload(&first, &sender_token, &plan).await;
    assert_eq!(file.size, plan.len() as u64);
    let mut session = Session::open(&first, &members[0]).await;
    session
        .operate(Operation::SendMessage(pb::SendMessage {
            client_id: uuid::Uuid::new_v4().to_string(),
            sender_id: members[0].id.to_string(),
            chat_id: chat.to_string(),
            text: String::new(),
            attachment_ids: vec![file.id.clone()],
            written_at: None,
        }))
        .await;
    let message_id = loop {
        if let Event::MessageAck(ack) = session.next().await {
            break ack.id;
        }
    };

    // Served whole by the second core to another member.
    let reader_token = token(&second, &members[1]).await;
    assert_eq!(
        download(&second, &reader_token, &file.id).await.unwrap(),
        plan
    );

    // Deleted: refused on both cores, and collected from the store.
    session
        .operate(Operation::DeleteMessage(pb::DeleteMessage { message_id }))
        .await;
    loop {
        if let Event::MessageDeleted(_) = session.next().await {
            break;
        }
    }
    let refused = download(&second, &reader_token, &file.id)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::NotFound);
    let media = Media::open(s3.settings(prefix)).unwrap();
    let (_, contents, _) =
        core_service::media::collect::once(&media, &cluster.db.store(), Duration::ZERO)
            .await
            .unwrap();
    assert_eq!(contents, 1);
    let kept = media
        .objects
        .older_than(&object_store::path::Path::from("files"), chrono::Utc::now())
        .await
        .unwrap();
    assert!(kept.is_empty(), "still in the store: {kept:?}");
}
