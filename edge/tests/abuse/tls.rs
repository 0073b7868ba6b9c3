//! What someone on the network sees of an edge serving TLS itself
//! (`TLS_CERT_FILE`, `TLS_KEY_FILE`): only TLS, for HTTPS and `wss://`.

use crate::common::{PATIENCE, Stack, World, login_frame};
use core_service::state::Limits;
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_tungstenite::tungstenite::Message;

/// A self-signed certificate for `localhost`, written to PEM files; the
/// certificate (to trust) and the files' paths.
fn certificate() -> (
    CertificateDer<'static>,
    std::path::PathBuf,
    std::path::PathBuf,
) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let folder = std::env::temp_dir().join(format!("edge-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&folder).unwrap();
    let (cert, key) = (folder.join("cert.pem"), folder.join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    (generated.cert.der().clone(), cert, key)
}

/// A TLS connection to the edge that trusts `certificate`.
async fn connect(
    stack: &Stack,
    certificate: &CertificateDer<'static>,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = RootCertStore::empty();
    roots.add(certificate.clone()).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let stream = TcpStream::connect(stack.edge_address).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_with_a_certificate_serves_https_and_wss_only() {
    let (certificate, cert, key) = certificate();
    let folder = cert.parent().unwrap().to_owned();
    let stack = Stack::start_configured(Limits::default(), |config| {
        config.tls_cert_file = Some(cert);
        config.tls_key_file = Some(key);
    })
    .await;
    let world = World::new();
    stack.load(&world).await;

    let mut https = connect(&stack, &certificate).await;
    https
        .write_all(b"GET /openapi.json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, https.read_to_end(&mut answer))
        .await
        .unwrap()
        .ok();
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer[..40.min(answer.len())])
    );
    let head = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(
        head.contains("strict-transport-security: max-age="),
        "HSTS over TLS"
    );

    // Without COOKIE_SECURE, an edge serving TLS marks its cookie Secure.
    let user = &world.users[0];
    let body = serde_json::json!({"email": user.email, "password": user.password}).to_string();
    let mut https = connect(&stack, &certificate).await;
    let request = format!(
        "POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    https.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, https.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    let cookie = answer.lines().find(|line| line.starts_with("set-cookie:"));
    assert!(
        cookie.is_some_and(|line| line.contains("; secure")),
        "{answer}"
    );

    let wss = connect(&stack, &certificate).await;
    let (mut socket, _) = tokio_tungstenite::client_async("wss://localhost/ws", wss)
        .await
        .unwrap();
    let login = login_frame(&world.users[0]).to_string();
    socket.send(Message::text(login)).await.unwrap();
    let reply = tokio::time::timeout(PATIENCE, socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        reply.to_text().unwrap().contains("auth_success"),
        "{reply:?}"
    );

    // Plain HTTP on the TLS port gets no answer.
    let mut plain = TcpStream::connect(stack.edge_address).await.unwrap();
    plain
        .write_all(b"GET /openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, plain.read_to_end(&mut answer)).await;
    assert!(!answer.starts_with(b"HTTP/1.1 200"));
    stack.stop().await;
    std::fs::remove_dir_all(folder).unwrap();
}
