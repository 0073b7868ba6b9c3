//! The gRPC face of the core: the `Messenger` service, health and reflection.

mod chats;
mod credentials;
mod edges;
mod history;
mod link;
mod media;
mod outgoing;
mod readiness;
mod session;

use crate::accounts;
use crate::commands;
use crate::convert;
use crate::error::Error;
use crate::sessions::Expiries;
use crate::state::Core;
use crate::store::users::UserRecord;
use messenger_proto::timestamp;
use messenger_proto::v1::messenger_server::{Messenger, MessengerServer};
use messenger_proto::v1::{
    Attachment, AuthenticateRequest, ChatList, ClientOperation, ConnectionList, DownloadRequest,
    FoundMessages, HistoryPage, HistoryRequest, LinkSignal, ListBlocksRequest, ListChatsRequest,
    ListConnectionsRequest, ListMembersRequest, ListPresenceRequest, Login, LoginSession,
    MemberList, PresenceList, RegisterRequest, RevokeRequest, RevokeResponse,
    SearchMessagesRequest, SearchUsersRequest, TokenGrant, TokenRequest, UploadPart, User,
    UserList,
};
use startup::traces::{SpanKind, TRACEPARENT};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status, Streaming};

/// How often an idle HTTP/2 connection is pinged, so dead edges are noticed.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(20);
/// Streams one connection may hold open: an edge needs one for its link
/// and one per REST call in flight, and a gRPC client one per `Session`;
/// the bound is far above that but still a bound.
const MAX_STREAMS_PER_CONNECTION: u32 = 65_536;
/// HTTP/2 receive window of one stream. An edge's link carries the
/// operations of all its sessions on one stream, so its window must cover
/// many sessions' windows (64 KiB held each round trip to 9.4k msg/s); a
/// sender that outpaces the core still waits, and the connection window
/// bounds what all streams of one peer may buffer here.
const STREAM_WINDOW: u32 = 4 * 1024 * 1024;
/// HTTP/2 receive window of one connection (one edge): shared by all of its
/// sessions, so one busy session cannot stall the others.
const CONNECTION_WINDOW: u32 = 16 * 1024 * 1024;

/// The `messenger.v1.Messenger` service.
pub struct MessengerService {
    core: Arc<Core>,
    shutdown: watch::Receiver<bool>,
}

#[tonic::async_trait]
impl Messenger for MessengerService {
    type SessionStream = session::EventStream;

    async fn session(
        &self,
        request: Request<Streaming<ClientOperation>>,
    ) -> Result<Response<Self::SessionStream>, Status> {
        let user = match credentials::bearer_token(request.metadata()) {
            Some(token) => Some(accounts::authenticate_token(&self.core.accounts, &token).await?),
            None => None,
        };
        let origin = credentials::connection_origin(request.metadata());
        let stream = session::open(
            self.core.clone(),
            request.into_inner(),
            self.shutdown.clone(),
            user,
            origin,
        );
        Ok(Response::new(stream))
    }

    type EdgeLinkStream = link::DeliveryStream;

    async fn edge_link(
        &self,
        request: Request<Streaming<LinkSignal>>,
    ) -> Result<Response<Self::EdgeLinkStream>, Status> {
        if !edges::is_from_edge(&request) {
            return Err(Status::permission_denied(
                "EdgeLink is for the cluster's edges, which present EDGE_SECRET",
            ));
        }
        let terms = link::terms(request.metadata())?;
        let deliveries = link::open(
            self.core.clone(),
            terms,
            request.into_inner(),
            self.shutdown.clone(),
        )?;
        Ok(Response::new(deliveries))
    }

    async fn get_history(
        &self,
        request: Request<HistoryRequest>,
    ) -> Result<Response<HistoryPage>, Status> {
        self.as_caller("GetHistory", request, async |user, asked| {
            Ok(history::get(&self.core.chats, user.id, asked).await?)
        })
        .await
    }

    async fn check_login(&self, request: Request<Login>) -> Result<Response<User>, Status> {
        self.traced("CheckLogin", request, async |metadata, login| {
            let address = credentials::client_address(metadata);
            let user = accounts::check_credentials(&self.core.accounts, &login, address.as_deref())
                .await?;
            Ok(convert::user(&user))
        })
        .await
    }

    async fn register(&self, request: Request<RegisterRequest>) -> Result<Response<User>, Status> {
        self.traced("Register", request, async |metadata, registration| {
            let address = credentials::client_address(metadata);
            let user =
                accounts::register(&self.core.accounts, registration, address.as_deref()).await?;
            tracing::info!(user_id = %user.id, "account registered");
            Ok(convert::user(&user))
        })
        .await
    }

    async fn create_login_session(
        &self,
        request: Request<Login>,
    ) -> Result<Response<LoginSession>, Status> {
        self.traced("CreateLoginSession", request, async |metadata, login| {
            let address = credentials::client_address(metadata);
            let (token, expires_at, user) =
                accounts::create_login_session(&self.core.accounts, login, address.as_deref())
                    .await?;
            Ok(LoginSession {
                token,
                expires_at: Some(timestamp::to_proto(expires_at)),
                user: Some(convert::user(&user)),
            })
        })
        .await
    }

    async fn grant_tokens(
        &self,
        request: Request<TokenRequest>,
    ) -> Result<Response<TokenGrant>, Status> {
        self.traced("GrantTokens", request, async |metadata, asked| {
            let address = credentials::client_address(metadata);
            let grant = asked
                .grant
                .ok_or_else(|| Error::invalid("grant", "no grant given"))?;
            Ok(accounts::grant_tokens(
                &self.core.accounts,
                &self.core.live,
                grant,
                address.as_deref(),
            )
            .await?)
        })
        .await
    }

    async fn authenticate(
        &self,
        request: Request<AuthenticateRequest>,
    ) -> Result<Response<User>, Status> {
        self.as_caller("Authenticate", request, async |user, _| {
            Ok(convert::user(&user))
        })
        .await
    }

    async fn revoke(
        &self,
        request: Request<RevokeRequest>,
    ) -> Result<Response<RevokeResponse>, Status> {
        self.traced("Revoke", request, async |metadata, _| {
            let token = credentials::required_bearer_token(metadata)?;
            accounts::revoke(&self.core.accounts, &self.core.live, &token).await?;
            Ok(RevokeResponse {})
        })
        .await
    }

    async fn list_connections(
        &self,
        request: Request<ListConnectionsRequest>,
    ) -> Result<Response<ConnectionList>, Status> {
        self.as_caller("ListConnections", request, async |user, asked| {
            Ok(chats::connections(&self.core.chats, user.id, asked).await?)
        })
        .await
    }

    async fn list_chats(
        &self,
        request: Request<ListChatsRequest>,
    ) -> Result<Response<ChatList>, Status> {
        self.as_caller("ListChats", request, async |user, asked| {
            Ok(chats::list(&self.core.chats, user.id, asked).await?)
        })
        .await
    }

    async fn list_presence(
        &self,
        request: Request<ListPresenceRequest>,
    ) -> Result<Response<PresenceList>, Status> {
        self.as_caller("ListPresence", request, async |user, _| {
            Ok(chats::presence(&self.core.chats, &self.core.live, user.id).await?)
        })
        .await
    }

    async fn list_members(
        &self,
        request: Request<ListMembersRequest>,
    ) -> Result<Response<MemberList>, Status> {
        self.as_caller("ListMembers", request, async |user, asked| {
            Ok(chats::members(&self.core.chats, user.id, asked).await?)
        })
        .await
    }

    async fn list_blocks(
        &self,
        request: Request<ListBlocksRequest>,
    ) -> Result<Response<UserList>, Status> {
        self.as_caller("ListBlocks", request, async |user, _| {
            Ok(chats::blocks(&self.core.chats, user.id).await?)
        })
        .await
    }

    async fn search_users(
        &self,
        request: Request<SearchUsersRequest>,
    ) -> Result<Response<UserList>, Status> {
        self.as_caller("SearchUsers", request, async |user, asked| {
            Ok(chats::search(&self.core.chats, &self.core.rates, user.id, asked).await?)
        })
        .await
    }

    async fn search_messages(
        &self,
        request: Request<SearchMessagesRequest>,
    ) -> Result<Response<FoundMessages>, Status> {
        self.as_caller("SearchMessages", request, async |user, asked| {
            Ok(chats::search_messages(&self.core.chats, &self.core.rates, user.id, asked).await?)
        })
        .await
    }

    async fn upload(
        &self,
        request: Request<Streaming<UploadPart>>,
    ) -> Result<Response<Attachment>, Status> {
        self.as_caller("Upload", request, async |user, parts| {
            let core = &self.core;
            let parts = media::upload_parts(parts);
            Ok(
                commands::upload::run(&core.media, &core.chats, &core.rates, user.id, parts)
                    .await?,
            )
        })
        .await
    }

    type DownloadStream = media::DownloadStream;

    async fn download(
        &self,
        request: Request<DownloadRequest>,
    ) -> Result<Response<Self::DownloadStream>, Status> {
        self.as_caller("Download", request, async |user, asked| {
            let core = &self.core;
            let download =
                commands::download::run(&core.media, &core.chats, user.id, asked).await?;
            Ok(media::download_stream(download))
        })
        .await
    }
}

impl MessengerService {
    /// Runs the unary call `name` in a span of its own, which continues the
    /// caller's trace (the `traceparent` metadata entry) when there is one
    /// and is marked failed when the call fails. `call` gets the request's
    /// metadata and message.
    async fn traced<Q, A>(
        &self,
        name: &'static str,
        request: Request<Q>,
        call: impl AsyncFnOnce(&MetadataMap, Q) -> Result<A, Status>,
    ) -> Result<Response<A>, Status> {
        let parent = request
            .metadata()
            .get(TRACEPARENT)
            .and_then(|value| value.to_str().ok());
        let trace = self.core.traces.start(name, SpanKind::Server, parent);
        let (metadata, _, message) = request.into_parts();
        let result = call(&metadata, message).await;
        if let Err(status) = &result {
            trace.fail(status.message().to_owned());
        }
        result.map(Response::new)
    }

    /// [`Self::traced`] for a call made as the user of the credential the
    /// request carries.
    async fn as_caller<Q, A>(
        &self,
        name: &'static str,
        request: Request<Q>,
        call: impl AsyncFnOnce(UserRecord, Q) -> Result<A, Status>,
    ) -> Result<Response<A>, Status> {
        self.traced(name, request, async |metadata, message| {
            let token = credentials::required_bearer_token(metadata)?;
            let user = accounts::authenticate_token(&self.core.accounts, &token)
                .await?
                .user;
            call(user, message).await
        })
        .await
    }
}

/// Serves the core's gRPC API on `listener` until `stop` completes; then
/// ends every session with UNAVAILABLE and waits for connections to close.
pub async fn serve(
    core: Arc<Core>,
    listener: TcpListener,
    stop: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (stopping, shutdown) = watch::channel(false);
    let check = edges::EdgeCheck::new(core.edges.secret.clone());
    let service = MessengerService {
        core: core.clone(),
        shutdown,
    };
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<MessengerServer<MessengerService>>()
        .await;
    // Both reflection versions: older grpcurl releases speak only v1alpha.
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;
    let readiness = health.clone();
    let signal = async move {
        stop.await;
        health
            .set_not_serving::<MessengerServer<MessengerService>>()
            .await;
        let _ = stopping.send(true);
    };
    tokio::spawn(readiness::follow(
        core.clone(),
        readiness,
        service.shutdown.clone(),
    ));
    crate::cores::start(core.clone(), service.shutdown.clone()).await;
    Expiries::start(core.accounts.expiries.clone(), service.shutdown.clone());
    let collecting = (core.clone(), service.shutdown.clone());
    tokio::spawn(async move {
        let (core, shutdown) = collecting;
        crate::media::collect::run(&core.media, &core.chats.store, shutdown).await;
    });
    // Before serving: a core started after days down makes today's
    // partition before its first send.
    let window = core.chats.limits.idempotency_window;
    crate::store::sent_keys::round(&core.chats.store, window).await;
    let keeping = (core.clone(), service.shutdown.clone());
    tokio::spawn(async move {
        let (core, shutdown) = keeping;
        crate::store::sent_keys::keep(&core.chats.store, window, shutdown).await;
    });
    let indexing = (core.clone(), service.shutdown.clone());
    tokio::spawn(async move {
        let (core, shutdown) = indexing;
        crate::words::run(&core.chats.words, &core.chats.store, shutdown).await;
    });
    crate::events::start(core.clone(), service.shutdown.clone())
        .await
        .map_err(ServeError::Follow)?;
    let tasks = core.tasks.clone();
    tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(MessengerServer::with_interceptor(service, check))
        .serve_with_incoming_shutdown(incoming(listener), signal)
        .await?;
    // Let the sessions record how they ended before the pool closes.
    tasks.close();
    if tokio::time::timeout(core.shutdown_grace, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("some sessions did not finish in time");
    }
    crate::cores::stop(&core.chats, &core.live).await;
    core.traces.shutdown().await;
    Ok(())
}

/// The listener's connections with Nagle's algorithm off. tonic applies its
/// own `tcp_nodelay` only to listeners it binds itself; without this, small
/// HTTP/2 frames wait for the peer's delayed ACK (about 40 ms per reply).
fn incoming(
    listener: TcpListener,
) -> impl futures_util::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use futures_util::StreamExt;
    TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        stream.set_nodelay(true)?;
        Ok(stream)
    })
}

/// Reflection over the messenger and health services.
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(messenger_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// Why the gRPC server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error(transparent)]
    Core(#[from] crate::state::CoreError),
    #[error("cannot connect to NATS (NATS_URL): {0}")]
    Bus(crate::bus::BusError),
    #[error(
        "NATS_URL is set but CLUSTER_SECRET is not: the cores of a cluster \
         seal their events with a secret they share"
    )]
    ClusterWithoutSecret,
    #[error(
        "NATS_URL is set but REDIS_URL is not: the cores of a cluster share \
         who is online and the login counts in Redis"
    )]
    ClusterWithoutRedis,
    #[error("cannot follow the other cores' events: {0}")]
    Follow(async_nats::Error),
    #[error(transparent)]
    Traces(#[from] startup::traces::TracesError),
}
