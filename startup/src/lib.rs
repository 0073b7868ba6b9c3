//! What each of the messenger's processes (the core, the edge, the
//! launcher) does first: set up its logs and build its tokio runtime, the
//! same way in each; and what each reports about itself: metrics and
//! traces ([`traces`]).

pub mod traces;

use clap::Args;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Where a process serves its Prometheus metrics (`GET /metrics`): an
/// address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsListen(pub Option<SocketAddr>);

impl FromStr for MetricsListen {
    type Err = std::net::AddrParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "" | "off" => Ok(MetricsListen(None)),
            address => address.parse().map(|address| MetricsListen(Some(address))),
        }
    }
}

impl MetricsListen {
    /// The warning for a process whose `variable` names an address it
    /// cannot serve now (another process holds it, typically a second core
    /// or edge on the same machine left at the default), if it cannot;
    /// `off` always can.
    pub fn warning(&self, variable: &str) -> Option<String> {
        let error = std::net::TcpListener::bind(self.0?).err()?;
        Some(format!(
            "{variable}={self} cannot be served ({error}): this process would run without \
             metrics; give each process on this machine its own address, or `off`"
        ))
    }
}

impl std::fmt::Display for MetricsListen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(address) => address.fmt(f),
            None => f.write_str("off"),
        }
    }
}

/// Latency buckets, in seconds: from a tenth of a millisecond to ten
/// seconds.
const SECONDS_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0,
];
/// Group-commit sizes, in messages.
const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// Records the process's metrics and serves them in Prometheus' text
/// format on `listen` (any path; `/metrics` by convention), from a task of
/// the current runtime. A process records nothing until this is called;
/// when the address cannot be used, it says so (naming `variable`, the
/// setting to change) and goes on without.
pub fn serve_metrics(listen: MetricsListen, variable: &str) {
    let Some(address) = listen.0 else {
        return;
    };
    let installed = PrometheusBuilder::new()
        .with_http_listener(address)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
        .and_then(|builder| {
            builder.set_buckets_for_metric(Matcher::Suffix("_messages".into()), &BATCH_BUCKETS)
        })
        .and_then(PrometheusBuilder::install);
    match installed {
        Ok(()) => {
            METRICS_ON.store(true, Ordering::Relaxed);
            tracing::info!(%address, "metrics at http://{address}/metrics");
        }
        Err(error) => tracing::warn!(
            %address,
            %error,
            "metrics not served: give each process on this machine its own {variable} (or `off`)"
        ),
    }
}

/// Set once the exporter is installed.
static METRICS_ON: AtomicBool = AtomicBool::new(false);

/// Whether this process records metrics: the facade records nothing
/// without an exporter, and work done only for a metric (reading the
/// clock for a latency) is skipped too.
pub fn metrics_on() -> bool {
    METRICS_ON.load(Ordering::Relaxed)
}

/// Prints every setting `command` reads from the environment as it takes
/// effect, one `NAME=value  (source)` line each, secrets masked (values
/// the command hides, and passwords in URLs); for `check-config`.
pub fn print_settings(command: &clap::Command, matches: &clap::ArgMatches) {
    for arg in command.get_arguments() {
        let Some(env) = arg.get_env().and_then(|env| env.to_str()) else {
            continue;
        };
        let id = arg.get_id().as_str();
        let value = matches
            .get_raw(id)
            .map(|values| {
                values
                    .map(|value| value.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let shown = if arg.is_hide_env_values_set() && !value.is_empty() {
            "(set, hidden)".to_owned()
        } else {
            mask_url_password(&value)
        };
        let source = match matches.value_source(id) {
            Some(clap::parser::ValueSource::EnvVariable) => "environment",
            Some(clap::parser::ValueSource::CommandLine) => "command line",
            Some(clap::parser::ValueSource::DefaultValue) => "default",
            _ => "unset",
        };
        println!("{env}={shown}  ({source})");
    }
}

/// `scheme://user:password@host…` with the password replaced by `***`
/// (for logs and printed settings). The host starts after the last `@`,
/// so a password holding one is masked whole.
pub fn mask_url_password(value: &str) -> String {
    let Some((scheme, rest)) = value.split_once("://") else {
        return value.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return value.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::mask_url_password;

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            mask_url_password("postgres://app:s3cret@db:5432/messenger"),
            "postgres://app:***@db:5432/messenger"
        );
        assert_eq!(
            mask_url_password("redis://cache:6379"),
            "redis://cache:6379"
        );
        assert_eq!(mask_url_password("127.0.0.1:8000"), "127.0.0.1:8000");
        assert_eq!(
            mask_url_password("postgres://postgres@127.0.0.1/postgres"),
            "postgres://postgres@127.0.0.1/postgres"
        );
        assert_eq!(mask_url_password("host=db user=app"), "host=db user=app");
        assert_eq!(
            mask_url_password("postgres://app:p@ss@db/messenger"),
            "postgres://app:***@db/messenger"
        );
    }
}
