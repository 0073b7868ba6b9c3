//! The messenger edge: translates the JSON WebSocket protocol (`/ws`) and
//! the REST calls (`/history/…`, `/openapi.json`, `/docs`) into calls to the
//! core's gRPC API. It keeps no business state.
//!
//! Its modules, in their layers (`docs/architecture.md`, "Layers"), top
//! first:
//!
//! - [`recover`]: the one mapping of errors to HTTP.
//! - [`ws`]: WebSocket sessions, client frame parsing, JSON ⇄ protobuf;
//!   [`http`]: the REST endpoints and the API documentation.
//! - [`openapi`]: the routes and the OpenAPI document made from them.
//! - [`auth`]: credentials on requests, passed on to the core.
//! - [`server`]: the HTTP server (timeouts, connection caps).
//! - [`config`]: the settings; [`core_client`]: the self-healing
//!   connections to the cores; [`error`]: the edge's error type;
//!   [`headers`]: the security headers of every response; [`hosts`]: the
//!   optional Host allow-list; [`json`]: JSON objects REST and WebSocket
//!   share; [`origin`]: the edge's own origin; [`telemetry`]: its metrics;
//!   [`tls`]: its optional TLS; [`web`]: the web client's files.

pub mod auth;
pub mod config;
pub mod core_client;
pub mod error;
pub mod headers;
pub mod hosts;
pub mod http;
pub mod json;
pub mod openapi;
pub mod origin;
pub mod recover;
pub mod server;
pub mod telemetry;
pub mod tls;
pub mod web;
pub mod ws;

use config::EdgeConfig;
use core_client::Cores;
use server::HttpLimits;
use startup::traces::Traces;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use warp::Filter;

/// Every route of the edge, errors mapped to JSON responses.
pub fn routes(
    config: EdgeConfig,
    cores: Arc<Cores>,
    shutdown: watch::Receiver<bool>,
    traces: Traces,
) -> impl Filter<Extract = (impl warp::Reply,), Error = std::convert::Infallible> + Clone {
    let origins = config.origins().unwrap_or_default();
    let tls = config.tls_cert_file.is_some();
    let scheme = origin::scheme(tls);
    let context = http::Context {
        cores: cores.clone(),
        cookie_secure: config.cookie_secure(),
        traces: traces.clone(),
        max_upload_bytes: config.max_upload_bytes,
    };
    let mut document = openapi::Document::default();
    let docs = http::docs::Routes::mount(&mut document);
    let socket = ws::route(
        &mut document,
        &config,
        Arc::new(origins.clone()),
        scheme,
        cores.clone(),
        shutdown,
        traces,
    );
    let rest = http::history::route(&mut document, context.clone())
        .or(http::accounts::routes(&mut document, context.clone()))
        .unify()
        .or(http::oauth::route(&mut document, context.clone()))
        .unify()
        .or(http::chats::route(&mut document, context.clone()))
        .unify()
        .or(http::members::route(&mut document, context.clone()))
        .unify()
        .or(http::blocks::route(&mut document, context.clone()))
        .unify()
        .or(http::connections::route(&mut document, context.clone()))
        .unify()
        .or(http::people::route(&mut document, context.clone()))
        .unify()
        .or(http::search::route(&mut document, context.clone()))
        .unify()
        .or(http::media::routes(&mut document, context.clone()))
        .unify()
        .or(http::presence::route(&mut document, context))
        .unify()
        .or(docs.serve(document.into_json()))
        .unify()
        // One type for the REST routes: the nested filter types of every
        // route together would pass the compiler's depth limit where the
        // server nests them further.
        .boxed();
    // The edge's own pages need no CORS; other origins get its rules.
    let own = origin::guard(scheme, true).and(rest.clone());
    let other = origin::guard(scheme, false).and(rest.with(cors(&origins)));
    let rest = own.or(other.map(warp::Reply::into_response)).unify();
    let served = web::route().or(socket).unify().or(rest).unify();
    let hosts = hosts::AllowedHosts::new(&config.allowed_hosts);
    http::health::routes(cores)
        .or(hosts.guard().and(served))
        .unify()
        .recover(recover::handle_rejection)
        .unify()
        .map(move |reply| headers::secure(warp::Reply::into_response(reply), tls))
        .with(warp::trace::request())
}

/// CORS for the REST API: only the configured origins, with credentials.
fn cors(origins: &[String]) -> warp::cors::Cors {
    warp::cors()
        .allow_origins(origins.iter().map(String::as_str))
        .allow_credentials(true)
        .allow_methods(["GET", "POST"])
        .allow_headers(["content-type", "authorization", "range", "if-none-match"])
        .max_age(600)
        .build()
}

/// Serves the edge on `listener` until `stop` completes; open WebSockets
/// are then closed with code 1001.
pub async fn serve(
    config: &EdgeConfig,
    listener: TcpListener,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), EdgeError> {
    let secret = config.edge_secret.as_ref().ok_or(EdgeError::NoSecret)?;
    let cores = Cores::connect_lazy(&config.cores(), secret)?;
    config.origins().map_err(EdgeError::Config)?;
    // Accepted connections inherit TCP_NODELAY from the listener (Linux):
    // small frames go out at once instead of waiting for the peer's ACK.
    if let Err(error) = socket2::SockRef::from(&listener).set_tcp_nodelay(true) {
        tracing::warn!(%error, "cannot set TCP_NODELAY on the listener");
    }
    let (stopping, shutdown) = watch::channel(false);
    let signal = async move {
        stop.await;
        let _ = stopping.send(true);
    };
    let tls = tls::acceptor(
        config.tls_cert_file.as_deref(),
        config.tls_key_file.as_deref(),
    )?;
    let traces = Traces::export(config.otlp_endpoint.as_deref(), "messenger-edge")?;
    let routes = routes(config.clone(), Arc::new(cores), shutdown, traces.clone());
    let limits = HttpLimits::from_config(config);
    server::serve(routes, listener, limits, tls, signal).await;
    traces.shutdown().await;
    Ok(())
}

/// Why the edge could not start.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error(transparent)]
    CoreUrl(#[from] core_client::CoreUrlError),
    #[error(
        "EDGE_SECRET is not set: the cores accept only edges that present \
         the secret they were given (see README, \"A local cluster\")"
    )]
    NoSecret,
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    Traces(#[from] startup::traces::TracesError),
}
