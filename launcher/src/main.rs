//! `messenger`: runs the whole messenger in one command.
//!
//! Opens the database (with no `DATABASE_URL`, a private PostgreSQL cluster
//! in `.data/postgres`, created and started on first use), applies the
//! migrations, loads the demo data into an empty database, then runs the
//! core and the edge until Ctrl-C or SIGTERM, when both shut down cleanly and the
//! cluster it started is stopped (its data stays for the next run).

use clap::Parser;
use core_service::config::CoreConfig;
use core_service::demo_data::{DemoData, populate};
use edge::config::EdgeConfig;
use messenger_proto::EdgeSecret;
use startup::RuntimeConfig;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::net::TcpListener;
use tokio::sync::watch;

#[derive(Parser)]
#[command(
    name = "messenger",
    version,
    about = "Run the whole messenger with demo data"
)]
struct Cli {
    #[command(flatten)]
    core: CoreConfig,
    #[command(flatten)]
    edge: EdgeConfig,
    #[command(flatten)]
    runtime: RuntimeConfig,
    /// Demo data loaded when the database has no users yet.
    #[arg(long, env = "DEMO_DATA", default_value = "fake_data.json")]
    demo_data: PathBuf,
    /// Do not load demo data.
    #[arg(long)]
    no_demo_data: bool,
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    startup::init_tracing(core_service::LOG_FILTER);
    let cli = Cli::parse();
    let result = cli
        .runtime
        .build()
        .map_err(Into::into)
        .and_then(|runtime| runtime.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(mut cli: Cli) -> Result<(), AnyError> {
    // One process: the core's and the edge's metrics on one address.
    startup::serve_metrics(cli.core.core_metrics_listen, "CORE_METRICS_LISTEN");
    let database = core_service::open_database(&cli.core.database).await?;
    let demo = load_demo_data(&cli, &database.store).await?;
    let core_listener = TcpListener::bind(cli.core.listen).await?;
    let edge_listener = TcpListener::bind(cli.edge.listen).await?;
    let core_address = core_listener.local_addr()?;
    if std::env::var_os("CORE_URL").is_none() {
        cli.edge.core_url = format!("http://{core_address}");
    }
    // Core and edge run here together: unless one was given, a secret of
    // their own that nobody else knows.
    let secret = match EdgeSecret::from_environment()? {
        Some(secret) => secret,
        None => EdgeSecret::random(),
    };
    cli.core.edge_secret = Some(secret.clone());
    cli.edge.edge_secret = Some(secret);
    cli.edge.otlp_endpoint.clone_from(&cli.core.otlp_endpoint);
    print_welcome(core_address, edge_listener.local_addr()?, demo.as_ref());

    let (stop_core, core_stopped) = watch::channel(false);
    let core = tokio::spawn(core_service::serve(
        database.store.clone(),
        cli.core.settings()?,
        core_listener,
        wait(core_stopped),
    ));
    let (stop_edge, edge_stopped) = watch::channel(false);
    let edge_config = cli.edge.clone();
    let edge =
        tokio::spawn(
            async move { edge::serve(&edge_config, edge_listener, wait(edge_stopped)).await },
        );
    let signal = startup::shutdown_signal().await;
    println!("\n{signal}: shutting down…");
    // The edge first, as a cluster's edges stop on their own: it closes
    // its WebSockets as going away (1001) while the core still serves, so
    // no client is told its core went away (1012) by a race of the two,
    // and the core then finishes what the sessions took.
    let _ = stop_edge.send(true);
    edge.await??;
    let _ = stop_core.send(true);
    core.await??;
    database.store.close();
    if let Some(local) = database.local.filter(|local| local.started_here) {
        local.stop()?;
        println!(
            "stopped the local PostgreSQL (data kept in {})",
            local.data_dir().display()
        );
    }
    Ok(())
}

/// Loads the demo data when the database has no users; returns it when it
/// was available, for the welcome message.
async fn load_demo_data(
    cli: &Cli,
    store: &core_service::store::Store,
) -> Result<Option<DemoData>, AnyError> {
    if cli.no_demo_data || !cli.demo_data.exists() {
        return Ok(None);
    }
    let data = populate::read_file(&cli.demo_data)?;
    if store.has_no_users().await? {
        let report = populate::populate(store, &data).await?;
        println!(
            "loaded demo data from {}: {} users, {} chats, {} messages",
            cli.demo_data.display(),
            report.users,
            report.chats,
            report.messages
        );
    }
    Ok(Some(data))
}

async fn wait(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

fn print_welcome(core: std::net::SocketAddr, edge: std::net::SocketAddr, demo: Option<&DemoData>) {
    println!();
    println!("messenger is running (Ctrl-C or SIGTERM stops it)");
    // First: what most people open.
    println!("  web client http://{edge}/");
    println!("  WebSocket  ws://{edge}/ws");
    println!("  history    http://{edge}/history/{{chat_id}}?limit=50&offset=0");
    println!("  API docs   http://{edge}/docs  (OpenAPI: http://{edge}/openapi.json)");
    println!("  gRPC core  {core}  (reflection and health enabled)");
    // A user with at least one chat, so the login leads somewhere.
    let demo_login = demo.and_then(|data| {
        let member = data.chat_members.first()?;
        let user = data.users.iter().find(|user| user.id == member.user_id)?;
        Some((user, member.chat_id))
    });
    if let Some((user, chat_id)) = demo_login {
        let login = serde_json::json!({"email": user.email, "password": user.password});
        println!("  demo login {login}");
        println!(
            "  {}'s id {} and one of their chats {chat_id}",
            user.name, user.id
        );
        println!();
        println!(
            "  curl -c jar.txt -H 'content-type: application/json' -d '{login}' http://{edge}/auth/login"
        );
        println!("  curl -b jar.txt 'http://{edge}/history/{chat_id}?limit=5'");
    }
    println!();
}
