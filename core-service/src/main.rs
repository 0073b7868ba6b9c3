//! `messenger-core`: the core service and its data commands.

use clap::{Parser, Subcommand};
use core_service::config::{CoreConfig, DatabaseConfig};
use core_service::demo_data::generate::{self, Sizes};
use core_service::demo_data::populate;
use startup::RuntimeConfig;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "messenger-core", version, about = "The messenger core (gRPC)")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    runtime: RuntimeConfig,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the gRPC API (the default).
    Serve(Box<CoreConfig>),
    /// Apply pending schema migrations and exit.
    Migrate(DatabaseConfig),
    /// Load a demo-data file; loading it twice adds nothing.
    Populate {
        #[command(flatten)]
        database: DatabaseConfig,
        /// The file to load.
        #[arg(default_value = "fake_data.json")]
        file: PathBuf,
    },
    /// Write a demo-data file.
    CreateJson(CreateJson),
    /// Stop the embedded default PostgreSQL cluster (e.g. after the tests
    /// started it); its data stays.
    StopLocalDb {
        #[arg(long, env = "LOCAL_DB_DIR", default_value = ".data/postgres")]
        local_db_dir: PathBuf,
    },
    /// Print the settings `serve` would run with (secrets masked) and
    /// refuse contradictory ones (exit code 1).
    CheckConfig,
    /// Ask a running core whether it is serving (exit code 0 if so); for
    /// container health checks.
    Health {
        #[arg(long, env = "CORE_URL", default_value = "http://127.0.0.1:50051")]
        url: String,
    },
}

/// `serve` with its defaults and environment, for a bare `messenger-core`.
#[derive(Parser)]
struct ServeDefaults {
    #[command(flatten)]
    config: CoreConfig,
}

#[derive(clap::Args)]
struct CreateJson {
    #[arg(long, default_value_t = 20)]
    users: usize,
    #[arg(long, default_value_t = 15)]
    personal_chats: usize,
    #[arg(long, default_value_t = 5)]
    groups: usize,
    /// Members per group, the creator included.
    #[arg(long, default_value_t = 5)]
    group_size: usize,
    #[arg(long, default_value_t = 12)]
    messages_per_chat: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where to write the file.
    #[arg(long, short, default_value = "fake_data.json")]
    out: PathBuf,
}

fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    startup::init_tracing(core_service::LOG_FILTER);
    let cli = Cli::parse();
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(Box::new(ServeDefaults::parse_from(["serve"]).config)));
    let result = cli
        .runtime
        .build()
        .map_err(Into::into)
        .and_then(|runtime| runtime.block_on(run(command)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::CheckConfig => check_config(),
        Command::Serve(config) => serve(*config).await,
        Command::Migrate(database) => {
            let database = core_service::open_database(&database).await?;
            println!("schema is up to date");
            close(database)
        }
        Command::Populate { database, file } => {
            let data = populate::read_file(&file)?;
            let database = core_service::open_database(&database).await?;
            let report = populate::populate(&database.store, &data).await?;
            println!(
                "loaded {}: {} users, {} chats, {} messages added",
                file.display(),
                report.users,
                report.chats,
                report.messages
            );
            close(database)
        }
        Command::CreateJson(options) => create_json(options),
        Command::Health { url } => health(url).await,
        Command::StopLocalDb { local_db_dir } => {
            let stopped = core_service::local_db::LocalPostgres::stop_if_running(&local_db_dir)?;
            let state = if stopped {
                "stopped"
            } else {
                "was not running"
            };
            println!("local PostgreSQL in {}: {state}", local_db_dir.display());
            Ok(())
        }
    }
}

async fn serve(config: CoreConfig) -> Result<(), Box<dyn std::error::Error>> {
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    tracing::info!(?config.listen, limits = ?config.limits(), workers, "starting core");
    startup::serve_metrics(config.core_metrics_listen, "CORE_METRICS_LISTEN");
    let database = core_service::open_database(&config.database).await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(address = %listener.local_addr()?, "gRPC listening");
    let stop = async {
        let signal = startup::shutdown_signal().await;
        tracing::info!(signal, "shutting down");
    };
    core_service::serve(database.store.clone(), config.settings()?, listener, stop).await?;
    close(database)
}

/// Prints the effective settings of `serve`; an error for a contradiction.
fn check_config() -> Result<(), Box<dyn std::error::Error>> {
    use clap::{CommandFactory, FromArgMatches};
    let command = ServeDefaults::command();
    let matches = command.clone().try_get_matches_from(["serve"])?;
    startup::print_settings(&command, &matches);
    let config = ServeDefaults::from_arg_matches(&matches)?.config;
    let settings = config.settings()?;
    let secret = if settings.cluster_secret.is_some() {
        "set"
    } else {
        "unset"
    };
    println!("CLUSTER_SECRET: {secret}");
    let edges = if settings.edges.secret.is_some() {
        "set"
    } else {
        "unset"
    };
    println!("EDGE_SECRET: {edges}");
    println!("NATS credential: {:?}", settings.nats_access.credentials);
    core_service::bus_settings(&settings)?;
    if let Some(url) = &settings.redis_url {
        // Reads the CA file, and refuses one given for a plain redis:// URL.
        core_service::redis_link::RedisLink::new(url, settings.redis_ca_file.as_deref())
            .map_err(core_service::state::CoreError::Redis)?;
    }
    let media = core_service::media::describe(&settings.media)
        .map_err(core_service::state::CoreError::Media)?;
    println!("media: {media}");
    if settings.edges.secret.is_none() {
        println!("warning: no EDGE_SECRET: the core serves gRPC clients only, no edges");
    }
    if let Some(warning) = config.core_metrics_listen.warning("CORE_METRICS_LISTEN") {
        println!("warning: {warning}");
    }
    println!("the settings are consistent");
    Ok(())
}

/// Closes the pool and stops the local cluster if this process started it.
fn close(database: core_service::Database) -> Result<(), Box<dyn std::error::Error>> {
    database.store.close();
    if let Some(local) = database.local.filter(|local| local.started_here) {
        local.stop()?;
    }
    Ok(())
}

async fn health(url: String) -> Result<(), Box<dyn std::error::Error>> {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let channel = tonic::transport::Endpoint::from_shared(url)?
        .connect()
        .await?;
    let mut client = HealthClient::new(channel);
    let request = HealthCheckRequest {
        service: "messenger.v1.Messenger".into(),
    };
    let status = client.check(request).await?.into_inner().status;
    if status == ServingStatus::Serving as i32 {
        println!("serving");
        Ok(())
    } else {
        Err(format!("not serving (status {status})").into())
    }
}

fn create_json(options: CreateJson) -> Result<(), Box<dyn std::error::Error>> {
    let sizes = Sizes {
        users: options.users.max(2),
        personal_chats: options.personal_chats,
        groups: options.groups,
        group_size: options.group_size,
        messages_per_chat: options.messages_per_chat,
        seed: options.seed,
        ..Sizes::default()
    };
    let total = ((sizes.personal_chats + sizes.groups) * sizes.messages_per_chat) as u64;
    let bar = indicatif::ProgressBar::new(total);
    if total < 10_000 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let data = generate::generate_with_progress(&sizes, |made| {
        if made % 1000 == 0 {
            bar.set_position(made)
        }
    })?;
    bar.finish_and_clear();
    let file = std::io::BufWriter::new(std::fs::File::create(&options.out)?);
    serde_json::to_writer_pretty(file, &data)?;
    println!(
        "wrote {}: {} users, {} chats, {} messages",
        options.out.display(),
        data.users.len(),
        data.chats.len(),
        data.messages.len()
    );
    Ok(())
}
