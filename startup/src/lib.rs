//! What each of the messenger's processes (the core, the edge, the
//! launcher) does first: set up its logs and build its tokio runtime, the
//! same way in each.

use clap::Args;
use std::num::NonZeroUsize;
use tokio::runtime::Runtime;

/// Logs to stderr, filtered by `RUST_LOG`, or by `default_filter` when it
/// is not set.
pub fn init_tracing(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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
