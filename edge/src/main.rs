//! `messenger-edge`: the WebSocket and REST front of the messenger.

use clap::Parser;
use edge::config::EdgeConfig;
use messenger_proto::EdgeSecret;
use startup::RuntimeConfig;
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
    /// OpenTelemetry collector (OTLP over gRPC, e.g. `http://127.0.0.1:4317`)
    /// the edge sends its spans to; unset, it records none.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
    #[command(flatten)]
    runtime: RuntimeConfig,
    /// Print the settings the edge would run with (secrets masked), warn
    /// about doubtful ones and refuse contradictory ones (exit code 1).
    #[arg(long)]
    check_config: bool,
}

fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    startup::init_tracing("info");
    let mut cli = Cli::parse();
    if cli.check_config {
        return check_config(&cli);
    }
    // The secret the cores know, from the environment or its file only.
    cli.config.edge_secret = match EdgeSecret::from_environment() {
        Ok(secret) => secret,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    cli.config.otlp_endpoint = cli.otlp_endpoint;
    match cli.runtime.build() {
        Ok(runtime) => runtime.block_on(run(cli.config)),
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the effective settings; warnings for doubtful ones, a failure
/// for contradictions.
fn check_config(cli: &Cli) -> ExitCode {
    use clap::CommandFactory;
    let command = Cli::command();
    let Ok(matches) = command.clone().try_get_matches() else {
        return ExitCode::FAILURE;
    };
    startup::print_settings(&command, &matches);
    let config = &cli.config;
    let mut contradictions = Vec::new();
    if let Err(error) = config.origins() {
        contradictions.push(error);
    }
    if config.tls_cert_file.is_some() != config.tls_key_file.is_some() {
        contradictions.push("TLS_CERT_FILE and TLS_KEY_FILE go together".to_owned());
    }
    match EdgeSecret::from_environment() {
        Ok(Some(_)) => println!("EDGE_SECRET: set"),
        Ok(None) => {
            contradictions.push("no EDGE_SECRET: the cores would refuse this edge".to_owned());
        }
        Err(error) => contradictions.push(error),
    }
    let https_origin = config
        .allowed_origins
        .iter()
        .any(|origin| origin.starts_with("https://"));
    if !config.cookie_secure() && (https_origin || config.tls_cert_file.is_some()) {
        println!(
            "warning: COOKIE_SECURE=false while the edge is reached over HTTPS: \
             the session cookie would also travel over plain HTTP"
        );
    }
    if let Some(warning) = config.edge_metrics_listen.warning("EDGE_METRICS_LISTEN") {
        println!("warning: {warning}");
    }
    for contradiction in &contradictions {
        println!("error: {contradiction}");
    }
    if contradictions.is_empty() {
        println!("the settings are consistent");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn run(config: EdgeConfig) -> ExitCode {
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    tracing::info!(?config, workers, "starting edge");
    raise_open_file_limit(config.max_connections);
    startup::serve_metrics(config.edge_metrics_listen, "EDGE_METRICS_LISTEN");
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {}: {error}", config.listen);
            return ExitCode::FAILURE;
        }
    };
    let stop = async {
        let signal = startup::shutdown_signal().await;
        tracing::info!(signal, "shutting down");
    };
    match edge::serve(&config, listener, stop).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Every WebSocket holds a socket, so the soft open-file limit (often 1024)
/// caps the connections long before memory does: raise it to the hard limit.
fn raise_open_file_limit(max_connections: usize) {
    let before = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft);
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            tracing::info!(
                from = before,
                to = limit,
                "raised the open-file limit to the hard limit"
            );
            if (max_connections as u64) > limit {
                tracing::warn!(
                    limit,
                    max_connections,
                    "MAX_CONNECTIONS is above the open-file limit; upgrades beyond it will fail"
                );
            }
        }
        Err(error) => tracing::warn!(%error, limit = before, "cannot raise the open-file limit"),
    }
}
