//! `messenger-edge`: the WebSocket and REST front of the messenger.

use clap::Parser;
use edge::config::EdgeConfig;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "messenger-edge",
    version,
    about = "The messenger edge (WebSocket + REST)"
)]
struct Cli {
    #[command(flatten)]
    config: EdgeConfig,
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    edge::init_tracing();
    let config = Cli::parse().config;
    tracing::info!(?config, "starting edge");
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {}: {error}", config.listen);
            return ExitCode::FAILURE;
        }
    };
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    };
    match edge::serve(&config, listener, stop).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
