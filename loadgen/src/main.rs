//! `loadgen`: generates data sets and measures a running messenger.

use clap::{Args, Parser, Subcommand};
use demo_data::DemoData;
use demo_data::generate::{Sizes, generate_with_progress};
use loadgen::client::Server;
use loadgen::connections::{self, Auth, Plan};
use loadgen::dataset::Directory;
use loadgen::run::{Pace, Settings};
use loadgen::{chart, files, history, idle, one_user, process, report, run, soak, sync};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    version,
    about = "Load generator for the messenger (public protocol only)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a data set in the demo-data shape, for `messenger-core populate`.
    Gen(GenArgs),
    /// Send messages from many connections and check every ack and delivery.
    Run(RunArgs),
    /// Hold many logged-in connections and report the server's memory.
    Idle(IdleArgs),
    /// Concurrent history requests.
    History(HistoryArgs),
    /// Many users upload a file each at once, then download it.
    Files(FilesArgs),
    /// One user's message searches.
    Search(SearchArgs),
    /// One user's chat lists (`GET /chats`).
    Chats(ChatsArgs),
    /// One user's catch-ups (`sync`) with some chats behind.
    Sync(SyncArgs),
    /// A long load on a cluster this command runs, with faults on a
    /// schedule; checks that nothing acked is lost or doubled.
    Soak(SoakArgs),
    /// Draws the memory chart of a soak's report again.
    SoakChart(SoakChartArgs),
}

#[derive(Args)]
struct SoakChartArgs {
    /// The soak's `soak.json`.
    #[arg(long)]
    report: PathBuf,
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    title: String,
    #[arg(long)]
    font: Option<PathBuf>,
}

#[derive(Args)]
struct GenArgs {
    #[arg(long, default_value_t = 2000)]
    users: usize,
    #[arg(long, default_value_t = 400)]
    groups: usize,
    #[arg(long, default_value_t = 5)]
    group_size: usize,
    /// Messages already in each group chat (history reads need some).
    #[arg(long, default_value_t = 0)]
    messages_per_chat: usize,
    /// Number of the first user; give each load-generator process of a
    /// large run its own range (and seed) and populate every file.
    #[arg(long, default_value_t = 0)]
    first_user: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value = "loadgen-data.json")]
    out: PathBuf,
}

#[derive(Args, Clone)]
struct Target {
    /// The edge, or several (comma-separated): connection i goes to the
    /// i-th modulo their number.
    #[arg(
        long = "url",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:8000"
    )]
    urls: Vec<String>,
    /// The data set the server was populated with (users, passwords, chats).
    #[arg(long, default_value = "loadgen-data.json")]
    data: PathBuf,
    /// Send to (and count) group chats only, or every chat of the data set.
    #[arg(long)]
    all_chats: bool,
    /// Process names whose CPU and memory are reported.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "messenger-edge,messenger-core,messenger,postgres"
    )]
    processes: Vec<String>,
}

#[derive(Args, Clone)]
struct Open {
    #[arg(long, default_value_t = 2000)]
    connections: usize,
    /// Logins in progress at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Connect from 127.0.0.1 … 127.0.0.N (each has its own ephemeral ports).
    #[arg(long, default_value_t = 8)]
    source_addresses: u8,
    #[arg(long, value_enum, default_value_t = Auth::Token)]
    auth: Auth,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    open: Open,
    /// Messages per second per connection (fixed rate) …
    #[arg(long, conflicts_with = "window")]
    rate: Option<f64>,
    /// … or un-acked messages each connection keeps in flight (closed loop).
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// Seconds of sending.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Seconds to wait for the last acks and deliveries.
    #[arg(long, default_value_t = 10.0)]
    drain: f64,
    #[arg(long, default_value_t = 64)]
    text_bytes: usize,
    #[arg(long, default_value = "loadgen-run.json")]
    out: PathBuf,
    /// Also draw a PNG chart here.
    #[arg(long)]
    chart: Option<PathBuf>,
    /// TrueType font for the chart's text.
    #[arg(long)]
    font: Option<PathBuf>,
}

#[derive(Args)]
struct IdleArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    open: Open,
    /// Seconds to wait after the last login before reading memory.
    #[arg(long, default_value_t = 3.0)]
    settle: f64,
    /// Seconds to hold the connections in all.
    #[arg(long, default_value_t = 10.0)]
    hold: f64,
}

#[derive(Args)]
struct HistoryArgs {
    #[command(flatten)]
    target: Target,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Messages per page.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Messages skipped from the oldest on (0: a chat's first page; past a
    /// chat's length: an empty page).
    #[arg(long, default_value_t = 0)]
    offset: u64,
    #[arg(long, default_value = "loadgen-history.json")]
    out: PathBuf,
}

#[derive(Args)]
struct FilesArgs {
    #[command(flatten)]
    target: Target,
    /// Users uploading at once (one file each; the first of the data set).
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Size of each file, in MiB.
    #[arg(long, default_value_t = 25)]
    mib: u64,
    #[arg(long, default_value = "loadgen-files.json")]
    out: PathBuf,
}

#[derive(Args)]
struct SearchArgs {
    #[command(flatten)]
    target: Target,
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Queries, taken in turn (`;`-separated).
    #[arg(long, value_delimiter = ';', required = true)]
    queries: Vec<String>,
    /// Messages per page.
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// Who searches; the first of the data set by e-mail if not given.
    #[arg(long)]
    email: Option<String>,
    #[arg(long, default_value = "loadgen-search.json")]
    out: PathBuf,
}

#[derive(Args)]
struct ChatsArgs {
    #[command(flatten)]
    target: Target,
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Chats per page.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Whose list; the first of the data set by e-mail if not given.
    #[arg(long)]
    email: Option<String>,
    #[arg(long, default_value = "loadgen-chats.json")]
    out: PathBuf,
}

#[derive(Args)]
struct SyncArgs {
    #[command(flatten)]
    target: Target,
    /// Catch-ups to time.
    #[arg(long, default_value_t = 20)]
    repeats: usize,
    /// Chats the cursor puts behind; the others are current.
    #[arg(long, default_value_t = 0)]
    chats_behind: usize,
    /// Messages each of those chats is behind by.
    #[arg(long, default_value_t = 20)]
    messages_behind: u64,
    /// Who catches up; the first of the data set by e-mail if not given.
    #[arg(long)]
    email: Option<String>,
    #[arg(long, default_value = "loadgen-sync.json")]
    out: PathBuf,
}

#[derive(Args)]
struct SoakArgs {
    /// The data set the database was populated with: one client per user.
    #[arg(long, default_value = "loadgen-data.json")]
    data: PathBuf,
    /// The populated database the cores use; checked at the end.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Where `messenger-core` and `messenger-edge` are.
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Cores (two or more: over NATS and Redis) and edges to run.
    #[arg(long, default_value_t = 1)]
    cores: usize,
    #[arg(long, default_value_t = 1)]
    edges: usize,
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Minutes of load.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Messages per second per client.
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// Most un-acked messages per client; past it a client sends no new
    /// message until an ack comes.
    #[arg(long, default_value_t = 16)]
    window: usize,
    /// The faults, applied in turn.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "kill-core,kill-edge,restart-postgres,drop-clients,stall-client,stall-postgres"
    )]
    faults: Vec<soak::faults::Fault>,
    /// Seconds between two faults.
    #[arg(long, default_value_t = 60.0)]
    fault_every: f64,
    /// How long `slow-postgres` lasts, in seconds.
    #[arg(long, default_value_t = 60.0)]
    slow_seconds: f64,
    /// Seconds `slow-postgres` adds to every statement storing messages.
    #[arg(long, default_value_t = 1.0)]
    slow_store_seconds: f64,
    /// Shell command that restarts PostgreSQL at once, e.g.
    /// `pg_ctlcluster 15 main restart -m immediate`.
    #[arg(long)]
    restart_postgres: Option<String>,
    /// Shell command that restarts NATS.
    #[arg(long)]
    restart_nats: Option<String>,
    /// Shell command that restarts Redis.
    #[arg(long)]
    restart_redis: Option<String>,
    /// Folder for the report (`soak.json`), the memory chart (`memory.png`)
    /// and the processes' logs.
    #[arg(long, default_value = "loadgen-soak")]
    out: PathBuf,
    /// TrueType font for the chart's text.
    #[arg(long)]
    font: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.command {
            Command::Gen(args) => generate(args),
            Command::Run(args) => run_load(args).await,
            Command::Idle(args) => hold_idle(args).await,
            Command::History(args) => read_history(args).await,
            Command::Files(args) => move_files(args).await,
            Command::Search(args) => find_messages(args).await,
            Command::Chats(args) => list_chats(args).await,
            Command::Sync(args) => catch_up(args).await,
            Command::Soak(args) => run_soak(args).await,
            Command::SoakChart(args) => soak_chart(&args),
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("loadgen: {error}");
            ExitCode::from(2)
        }
    }
}

type Outcome = Result<bool, Box<dyn std::error::Error>>;

fn generate(args: GenArgs) -> Outcome {
    let data = generate_with_progress(
        &Sizes {
            users: args.users,
            personal_chats: 0,
            groups: args.groups,
            group_size: args.group_size,
            messages_per_chat: args.messages_per_chat,
            // Each receipt is a row: a data set for load tests keeps only
            // the senders' own.
            seen_chance: 0.0,
            first_user: args.first_user,
            seed: args.seed,
        },
        |_| {},
    )?;
    report::write_json(&args.out, &data)?;
    println!(
        "wrote {}: {} users, {} groups of {}, {} messages",
        args.out.display(),
        data.users.len(),
        data.groups.len(),
        args.group_size,
        data.messages.len()
    );
    Ok(true)
}

async fn prepare(target: &Target) -> Result<(Vec<Server>, Directory), Box<dyn std::error::Error>> {
    raise_open_file_limit();
    let data = demo_data_file(&target.data)?;
    let directory = Directory::new(data, !target.all_chats);
    let mut servers = Vec::with_capacity(target.urls.len());
    for url in &target.urls {
        servers.push(Server::resolve(url).await?);
    }
    Ok((servers, directory))
}

fn demo_data_file(path: &std::path::Path) -> Result<DemoData, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let data = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a demo-data file: {e}", path.display()))?;
    Ok(data)
}

fn plan(open: &Open) -> Plan {
    Plan {
        connections: open.connections,
        concurrency: open.concurrency,
        source_addresses: open.source_addresses,
        auth: open.auth,
    }
}

/// One process may hold as many sockets as its soft limit allows; raise it
/// to the hard limit.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => eprintln!("open-file limit: {limit}"),
        Err(error) => eprintln!("open-file limit unchanged: {error}"),
    }
}

async fn run_load(args: RunArgs) -> Outcome {
    let (servers, directory) = prepare(&args.target).await?;
    let connections = connections::open_all(&servers, &directory, &plan(&args.open)).await?;
    let count = connections.len();
    let settings = Settings {
        pace: args.rate.map_or(Pace::Window(args.window), Pace::Rate),
        duration: Duration::from_secs_f64(args.duration),
        drain: Duration::from_secs_f64(args.drain),
        text_bytes: args.text_bytes,
    };
    let described = serde_json::json!({
        "pace": format!("{:?}", settings.pace),
        "duration_seconds": args.duration,
        "text_bytes": args.text_bytes,
        "auth": format!("{:?}", args.open.auth),
        "source_addresses": args.open.source_addresses,
        "users": directory.users.len(),
        "chats": directory.chat_members.len(),
    });
    let processes_before = process::usage_by_name(&args.target.processes);
    let cpu_before = process::own_cpu_seconds();
    let outcome = run::run(connections, directory, settings).await;
    let loadgen_cpu = process::own_cpu_seconds() - cpu_before;
    let processes = process::difference(
        &processes_before,
        &process::usage_by_name(&args.target.processes),
    );
    let report = report::RunReport::new(described, count, &outcome, loadgen_cpu, processes);
    report.print();
    report::write_json(&args.out, &report)?;
    println!("results: {}", args.out.display());
    if let Some(path) = &args.chart {
        let title = format!(
            "{count} connections, {:.0} msg/s acked, {:.0} deliveries/s",
            report.acked_per_second, report.deliveries_per_second
        );
        let lines = chart::Distributions {
            lines: vec![
                ("ack", &outcome.ack_latency),
                ("send→delivery", &outcome.delivery_latency),
            ],
        };
        match chart::draw(path, &title, &lines, &outcome.seconds, args.font.as_deref()) {
            Ok(()) => println!("chart: {}", path.display()),
            Err(error) => eprintln!("chart not drawn: {error}"),
        }
    }
    Ok(report.clean)
}

async fn hold_idle(args: IdleArgs) -> Outcome {
    let (servers, directory) = prepare(&args.target).await?;
    let before = process::usage_by_name(&args.target.processes);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let kept = connections::open_all_then(&servers, &directory, &plan(&args.open), |opened| {
        idle::keep(opened, stopped.clone())
    })
    .await?;
    let count = kept.len();
    let hold = Duration::from_secs_f64(args.hold.max(args.settle));
    tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
    let during = process::usage_by_name(&args.target.processes);
    tokio::time::sleep(hold.saturating_sub(Duration::from_secs_f64(args.settle))).await;
    let _ = stop.send(true);
    let still_open = idle::still_open(kept).await;
    println!(
        "{count} connections opened, {still_open} still open after {:.0} s",
        hold.as_secs_f64()
    );
    let mut added_kib = 0;
    for (name, now) in during.iter().filter(|(_, u)| u.processes > 0) {
        let was = before.get(name).map_or(0, |u| u.rss_kib);
        let added = now.rss_kib.saturating_sub(was);
        if name != "postgres" {
            added_kib += added;
        }
        println!("{name}: RSS {was} KiB → {} KiB (+{added} KiB)", now.rss_kib);
    }
    println!(
        "server (edge + core) memory per connection: {:.2} KiB",
        added_kib as f64 / count.max(1) as f64
    );
    Ok(still_open == count)
}

async fn move_files(args: FilesArgs) -> Outcome {
    let (servers, directory) = prepare(&args.target).await?;
    let settings = files::Settings {
        clients: args.clients,
        bytes: args.mib * 1024 * 1024,
        processes: args.target.processes.clone(),
    };
    let outcome = files::run(&servers[0], &directory, &settings).await?;
    for (what, transfer) in [("upload", &outcome.upload), ("download", &outcome.download)] {
        println!(
            "{what}: {} files of {} MiB in {:.1} s: {:.0} MiB/s, {} failed",
            transfer.ok, args.mib, transfer.seconds, transfer.mib_per_second, transfer.failed
        );
        for (name, peak) in &transfer.peak_rss_kib {
            let before = transfer.rss_before_kib.get(name).copied().unwrap_or(0);
            println!(
                "  {name}: {} MiB before, {} MiB at most",
                before / 1024,
                peak / 1024
            );
        }
    }
    report::write_json(&args.out, &outcome)?;
    Ok(outcome.upload.failed == 0 && outcome.download.failed == 0)
}

async fn find_messages(args: SearchArgs) -> Outcome {
    let settings = one_user::Settings {
        concurrency: args.concurrency,
        duration: Duration::from_secs_f64(args.duration),
        ask: one_user::Ask::Search {
            queries: args.queries.clone(),
            limit: args.limit,
        },
        email: args.email.clone(),
    };
    let asked = serde_json::json!({ "queries": args.queries });
    ask_as_one_user(
        &args.target,
        &settings,
        ("searches", "messages"),
        asked,
        &args.out,
    )
    .await
}

async fn list_chats(args: ChatsArgs) -> Outcome {
    let settings = one_user::Settings {
        concurrency: args.concurrency,
        duration: Duration::from_secs_f64(args.duration),
        ask: one_user::Ask::Chats { limit: args.limit },
        email: args.email.clone(),
    };
    let asked = serde_json::json!({ "limit": args.limit });
    ask_as_one_user(
        &args.target,
        &settings,
        ("chat lists", "chats"),
        asked,
        &args.out,
    )
    .await
}

async fn catch_up(args: SyncArgs) -> Outcome {
    let (servers, directory) = prepare(&args.target).await?;
    let settings = sync::Settings {
        repeats: args.repeats,
        chats_behind: args.chats_behind,
        messages_behind: args.messages_behind,
        email: args.email.clone(),
    };
    let outcome = sync::run(&servers[0], &directory, &settings).await?;
    let summary = outcome.latency.summary();
    println!(
        "{} catch-ups of {} chats, {} behind by {}: {} messages each",
        outcome.syncs,
        outcome.chats,
        args.chats_behind.min(outcome.chats),
        args.messages_behind,
        outcome.messages
    );
    report::print_latency("sync", &summary);
    let results = serde_json::json!({
        "chats_behind": args.chats_behind,
        "messages_behind": args.messages_behind,
        "outcome": outcome,
        "latency": summary,
    });
    report::write_json(&args.out, &results)?;
    Ok(true)
}

/// Runs `settings` and reports, calling a request and an entry of its page
/// by the two names given.
async fn ask_as_one_user(
    target: &Target,
    settings: &one_user::Settings,
    (requests, entries): (&str, &str),
    asked: serde_json::Value,
    out: &std::path::Path,
) -> Outcome {
    let (servers, directory) = prepare(target).await?;
    let outcome = one_user::run(&servers[0], &directory, settings).await?;
    let summary = outcome.latency.summary();
    println!(
        "{} {requests} in {:.1} s: {:.0} req/s, {} failed, {:.1} {entries} per page",
        outcome.requests,
        outcome.seconds,
        outcome.requests as f64 / outcome.seconds,
        outcome.failed,
        outcome.found as f64 / outcome.ok.max(1) as f64
    );
    report::print_latency(requests, &summary);
    let results = serde_json::json!({
        "asked": asked,
        "concurrency": settings.concurrency,
        "outcome": outcome,
        "latency": summary,
    });
    report::write_json(out, &results)?;
    Ok(outcome.failed == 0)
}

async fn read_history(args: HistoryArgs) -> Outcome {
    let (servers, directory) = prepare(&args.target).await?;
    let server = &servers[0];
    let settings = history::Settings {
        concurrency: args.concurrency,
        duration: Duration::from_secs_f64(args.duration),
        limit: args.limit,
        offset: args.offset,
    };
    let processes_before = process::usage_by_name(&args.target.processes);
    let cpu_before = process::own_cpu_seconds();
    let outcome = history::run(server, &directory, &settings).await?;
    let loadgen_cpu = process::own_cpu_seconds() - cpu_before;
    let processes = process::difference(
        &processes_before,
        &process::usage_by_name(&args.target.processes),
    );
    let summary = outcome.latency.summary();
    println!(
        "{} requests in {:.1} s: {:.0} req/s, {} failed, {:.1} messages per page",
        outcome.requests,
        outcome.seconds,
        outcome.requests as f64 / outcome.seconds,
        outcome.failed,
        outcome.messages as f64 / outcome.ok.max(1) as f64
    );
    report::print_latency("history", &summary);
    println!("loadgen CPU: {loadgen_cpu:.1} s");
    report::print_processes(&processes);
    let results = serde_json::json!({
        "loadgen_cpu_seconds": loadgen_cpu,
        "server_processes": processes,
        "concurrency": args.concurrency,
        "limit": args.limit,
        "outcome": outcome,
        "requests_per_second": outcome.requests as f64 / outcome.seconds,
        "latency": summary,
    });
    report::write_json(&args.out, &results)?;
    Ok(outcome.failed == 0)
}

async fn run_soak(args: SoakArgs) -> Outcome {
    raise_open_file_limit();
    let data = demo_data_file(&args.data)?;
    let settings = soak::Settings {
        layout: soak::cluster::Layout {
            bin_dir: args.bin_dir.clone(),
            database_url: args.database_url.clone(),
            cores: args.cores.max(1),
            edges: args.edges.max(1),
            nats_url: args.nats_url.clone(),
            redis_url: args.redis_url.clone(),
            log_dir: args.out.join("logs"),
        },
        hooks: soak::faults::Hooks {
            restart_postgres: args.restart_postgres.clone(),
            restart_nats: args.restart_nats.clone(),
            restart_redis: args.restart_redis.clone(),
            database_url: args.database_url.clone(),
            slowness: soak::faults::Slowness {
                lasting: Duration::from_secs_f64(args.slow_seconds),
                per_store: Duration::from_secs_f64(args.slow_store_seconds),
            },
        },
        directory: Directory::new(data, true),
        duration: Duration::from_secs_f64(args.minutes * 60.0),
        rate: args.rate,
        window: args.window.max(1),
        faults: args.faults.clone(),
        fault_every: Duration::from_secs_f64(args.fault_every),
    };
    let outcome = soak::run(settings).await?;
    let report = soak::report(&outcome);
    std::fs::write(
        args.out.join("soak.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    println!("{}", serde_json::to_string_pretty(&report["verdict"])?);
    let chart = args.out.join("memory.png");
    let title = format!(
        "soak: {:.0} min, memory of each process and acks per second (orange: faults)",
        args.minutes
    );
    match soak::memory::draw(
        &chart,
        &title,
        &outcome.memory,
        &outcome.applied,
        args.font.as_deref(),
    ) {
        Ok(()) => println!("chart: {}", chart.display()),
        Err(error) => eprintln!("chart not drawn: {error}"),
    }
    Ok(outcome.verdict.clean)
}

fn soak_chart(args: &SoakChartArgs) -> Outcome {
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&args.report)?)?;
    let samples: Vec<soak::memory::Sample> = serde_json::from_value(report["samples"].clone())?;
    let faults: Vec<soak::faults::Applied> = serde_json::from_value(report["faults"].clone())?;
    soak::memory::draw(
        &args.out,
        &args.title,
        &samples,
        &faults,
        args.font.as_deref(),
    )?;
    Ok(true)
}
