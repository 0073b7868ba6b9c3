//! TLS between the cores and what they share: NATS (`tls://` with
//! `NATS_CA_FILE` and a client certificate) and Redis (`rediss://` with
//! `REDIS_CA_FILE`). Each test makes a certificate authority of its own; a
//! core trusts the servers it signed and nothing else, and NATS lets in
//! only a core that shows a certificate it signed.
//!
//! The Redis here is built without TLS, so the tests put a TLS endpoint of
//! their own in front of it: what is tested is the core's side (the
//! handshake, the verification, the counts going through).

use crate::events::{Session, free_port, group_of_four, listens_within};
use crate::send_rate::{answer, send};
use crate::trust::{nats_command, nats_password};
use crate::{Cluster, cluster_settings, redis_url};
use core_service::bus::access::{NatsAccess, NatsCredentials, NatsTls};
use core_service::redis_link::RedisLink;
use core_service::state::{Limits, Settings};
use core_service::testing::Process;
use messenger_proto::v1::server_event::Event;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use uuid::Uuid;

/// A certificate authority made for one test, with its files in a folder
/// of their own.
struct Authority {
    issuer: Issuer<'static, KeyPair>,
    folder: PathBuf,
    /// The authority's certificate (PEM): what a core is told to trust.
    certificate: PathBuf,
}

/// A certificate and its key, as PEM files.
struct Identity {
    certificate: PathBuf,
    key: PathBuf,
}

impl Authority {
    fn new() -> Authority {
        let folder = std::env::temp_dir().join(format!("tls-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&folder).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
            .distinguished_name
            .push(DnType::CommonName, "messenger test authority");
        let key = KeyPair::generate().unwrap();
        let certificate = folder.join("authority.pem");
        std::fs::write(&certificate, params.self_signed(&key).unwrap().pem()).unwrap();
        Authority {
            issuer: Issuer::new(params, key),
            folder,
            certificate,
        }
    }

    /// A certificate for `names`, good for servers and clients.
    fn issue(&self, file: &str, names: &[&str]) -> Identity {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().unwrap();
        let issued = params.signed_by(&key, &self.issuer).unwrap();
        let identity = Identity {
            certificate: self.folder.join(format!("{file}.pem")),
            key: self.folder.join(format!("{file}-key.pem")),
        };
        std::fs::write(&identity.certificate, issued.pem()).unwrap();
        std::fs::write(&identity.key, key.serialize_pem()).unwrap();
        identity
    }
}

impl Drop for Authority {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// A NATS of the test's own, configured by `deploy/nats.conf` (the cores'
/// user, with `password`), that speaks only TLS with `server`'s certificate
/// and lets in only clients with a certificate `authority` signed.
async fn nats_over_tls(
    port: u16,
    password: &str,
    authority: &Authority,
    server: &Identity,
) -> Process {
    let mut command = nats_command(port, free_port().await, password);
    command
        .arg("--tlsverify")
        .arg("--tlscert")
        .arg(&server.certificate)
        .arg("--tlskey")
        .arg(&server.key)
        .arg("--tlscacert")
        .arg(&authority.certificate);
    let log = authority.folder.join("nats.log");
    Process::start_logging(command, "nats-server (is it installed?)", &log)
}

/// [`nats_over_tls`] on free ports; its port. A port found free may be
/// taken by another test before the server binds it, so a server that does
/// not listen in time is started again on others.
async fn started_nats_over_tls(
    password: &str,
    authority: &Authority,
    server: &Identity,
) -> (Process, u16) {
    let mut exits = Vec::new();
    for _ in 0..3 {
        let port = free_port().await;
        let mut nats = nats_over_tls(port, password, authority, server).await;
        if listens_within(port, Duration::from_secs(10)).await {
            return (nats, port);
        }
        // Exited (a port taken, a certificate refused) or still starting.
        exits.push(nats.wait_exit(Duration::ZERO));
        nats.kill();
    }
    let log = std::fs::read_to_string(authority.folder.join("nats.log")).unwrap_or_default();
    panic!("nats-server did not start over TLS; its exit statuses: {exits:?}; its log:\n{log}");
}

/// A TLS endpoint with `server`'s certificate in front of the machine's
/// Redis; its port.
async fn tls_in_front_of_redis(server: &Identity) -> u16 {
    let chain = CertificateDer::pem_file_iter(&server.certificate)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&server.key).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let redis = redis_url()
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (acceptor, redis) = (acceptor.clone(), redis.clone());
            tokio::spawn(async move {
                let Ok(mut client) = acceptor.accept(client).await else {
                    return;
                };
                let mut backend = tokio::net::TcpStream::connect(redis).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut backend).await;
            });
        }
    });
    port
}

/// NATS's access for a core: its password, trust in `authority`, and
/// `identity` if it has one.
fn core_access(password: &str, authority: &Path, identity: Option<&Identity>) -> NatsAccess {
    NatsAccess {
        credentials: NatsCredentials::UserPassword {
            user: "core".into(),
            password: password.into(),
        },
        tls: NatsTls {
            ca_file: Some(authority.to_owned()),
            client_cert: identity.map(|id| (id.certificate.clone(), id.key.clone())),
        },
    }
}

/// Whether a client with `access` gets into the NATS at `url`.
async fn gets_in(url: &str, access: &NatsAccess) -> bool {
    let attempt = access.options().await.unwrap().connect(url);
    matches!(
        tokio::time::timeout(Duration::from_secs(5), attempt).await,
        Ok(Ok(_))
    )
}

/// Whether a PING through `link` is answered.
async fn answers(link: &RedisLink) -> bool {
    let ping = async {
        let mut connection = link.connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(5), ping).await,
        Ok(Ok(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_lets_in_only_a_core_with_a_certificate_of_the_clusters_authority() {
    let authority = Authority::new();
    let server = authority.issue("nats", &["localhost", "127.0.0.1"]);
    let core = authority.issue("core", &["core"]);
    let stranger = Authority::new();
    let forged = stranger.issue("forged", &["core"]);
    let password = nats_password();
    let (_nats, port) = started_nats_over_tls(&password, &authority, &server).await;
    let url = format!("tls://127.0.0.1:{port}");

    let trusted = core_access(&password, &authority.certificate, Some(&core));
    assert!(gets_in(&url, &trusted).await, "a core with its certificate");
    let without = core_access(&password, &authority.certificate, None);
    assert!(!gets_in(&url, &without).await, "no client certificate");
    let other = core_access(&password, &authority.certificate, Some(&forged));
    assert!(!gets_in(&url, &other).await, "another authority's");
    let system_roots = NatsAccess {
        tls: NatsTls {
            ca_file: None,
            ..trusted.tls.clone()
        },
        ..trusted.clone()
    };
    assert!(
        !gets_in(&url, &system_roots).await,
        "a core does not trust a server the system's roots do not know"
    );
}

#[tokio::test]
async fn a_core_trusts_a_redis_over_tls_only_through_its_authority() {
    let authority = Authority::new();
    let server = authority.issue("redis", &["localhost", "127.0.0.1"]);
    let port = tls_in_front_of_redis(&server).await;
    let url = format!("rediss://127.0.0.1:{port}");

    let trusted = RedisLink::new(&url, Some(&authority.certificate)).unwrap();
    assert!(answers(&trusted).await, "through the authority given");
    let system_roots = RedisLink::new(&url, None).unwrap();
    assert!(
        !answers(&system_roots).await,
        "not through the system's roots"
    );
    let stranger = Authority::new();
    let other = RedisLink::new(&url, Some(&stranger.certificate)).unwrap();
    assert!(!answers(&other).await, "not through another authority");

    // An authority for a Redis without TLS is a mistake, said at start.
    let plain = RedisLink::new(&redis_url(), Some(&authority.certificate));
    assert!(plain.is_err(), "a CA file needs a rediss:// URL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cores_share_events_and_counts_over_tls_only() {
    let authority = Authority::new();
    let nats_server = authority.issue("nats", &["localhost", "127.0.0.1"]);
    let redis_server = authority.issue("redis", &["localhost", "127.0.0.1"]);
    let core = authority.issue("core", &["core"]);
    let password = nats_password();
    let (_nats, nats_port) = started_nats_over_tls(&password, &authority, &nats_server).await;
    let redis_port = tls_in_front_of_redis(&redis_server).await;

    let subject = format!("messenger.{}.events", Uuid::new_v4().simple());
    let settings = Settings {
        nats_access: core_access(&password, &authority.certificate, Some(&core)),
        redis_url: Some(format!("rediss://127.0.0.1:{redis_port}")),
        redis_ca_file: Some(authority.certificate.clone()),
        // One message at once: a second from another core is refused only
        // if the count went through Redis.
        limits: Limits {
            messages_per_second: 1,
            message_burst: 1,
            ..Limits::default()
        },
        ..cluster_settings(&format!("tls://127.0.0.1:{nats_port}"), &subject)
    };
    let cluster = Cluster::start_with(&group_of_four(), settings).await;
    let (members, chat) = crate::events::group(&cluster);
    let mut phone = Session::open(&cluster.urls[0], &members[0]).await;
    let mut laptop = Session::open(&cluster.urls[1], &members[0]).await;
    let mut reader = Session::open(&cluster.urls[1], &members[1]).await;

    let id = || Uuid::new_v4().to_string();
    phone
        .operate(send(&id(), members[0].id, chat, "over tls"))
        .await;
    assert!(matches!(answer(&mut phone).await, Event::MessageAck(_)));
    assert_eq!(reader.messages(1).await[0].text, "over tls");
    laptop
        .operate(send(&id(), members[0].id, chat, "too soon"))
        .await;
    match answer(&mut laptop).await {
        Event::Error(error) => assert_eq!(error.code, "rate_limited"),
        other => panic!("expected rate_limited, got {other:?}"),
    }
}
