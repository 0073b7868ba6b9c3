//! What each of the messenger's processes (the core, the edge, the
//! launcher) does first: set up its logs and build its tokio runtime, the
//! same way in each.

use clap::Args;
use std::num::NonZeroUsize;
use tokio::runtime::Runtime;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Logs to stderr, filtered by `RUST_LOG`, or by `default_filter` when it
/// is not set, in the format `LOG_FORMAT` names.
pub fn init_tracing(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let format = LogFormat::from_env();
    init_tracing_to(format, filter, std::io::stderr);
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// For people reading a terminal (the default).
    Text,
    /// One JSON object per line, for log collectors (`LOG_FORMAT=json`):
    /// `timestamp`, `level`, `target`, `fields` (the message and every
    /// field, e.g. `session_id`, `user_id`), and the fields of the span it
    /// happened in.
    Json,
}

impl LogFormat {
    /// The format `LOG_FORMAT` names (`json` or `text`; text otherwise).
    pub fn from_env() -> LogFormat {
        match std::env::var("LOG_FORMAT").as_deref().map(str::trim) {
            Ok(format) if format.eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

/// Logs in `format` to `writer`, filtered by `filter` (tests capture the
/// logs this way).
pub fn init_tracing_to<W>(format: LogFormat, filter: EnvFilter, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// The threads that run the process's tasks.
#[derive(Debug, Clone, Copy, Args)]
pub struct RuntimeConfig {
    /// Threads that run the process's tasks (default: one per CPU core).
    /// Where the core, the edge and PostgreSQL share a small machine, one
    /// each spends less time waking threads of the same process than
    /// working: see docs/performance.md.
    #[arg(long, env = "WORKER_THREADS", global = true)]
    pub worker_threads: Option<NonZeroUsize>,
}

impl RuntimeConfig {
    /// The runtime this configuration asks for.
    pub fn build(&self) -> std::io::Result<Runtime> {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if let Some(threads) = self.worker_threads {
            builder.worker_threads(threads.get());
        }
        builder.enable_all().build()
    }
}

/// Waits until the process is asked to stop: SIGTERM (what `docker stop`,
/// Kubernetes and systemd send) or SIGINT (Ctrl-C). Returns the signal's
/// name, for the log.
pub async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}
