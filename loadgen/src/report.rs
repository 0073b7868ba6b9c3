//! Results as JSON and as a few lines for people.

use crate::latency::Summary;
use crate::ledger::Tally;
use crate::process::Usage;
use crate::run::Outcome;
use crate::timeline::Second;
use serde::Serialize;
use std::collections::BTreeMap;

/// Everything a `run` measured, as written to the results file.
#[derive(Debug, Serialize)]
pub struct RunReport {
    pub settings: serde_json::Value,
    pub connections: usize,
    pub tally: Tally,
    pub clean: bool,
    pub error_frames: u64,
    pub disconnects: u64,
    pub foreign_messages: u64,
    pub sending_seconds: f64,
    pub acked_per_second: f64,
    pub deliveries_per_second: f64,
    pub ack_latency: Summary,
    pub delivery_latency: Summary,
    pub loadgen_cpu_seconds: f64,
    /// CPU used and memory held by the server's processes during the run.
    pub server_processes: BTreeMap<String, Usage>,
    pub timeline: Vec<Second>,
}

impl RunReport {
    pub fn new(
        settings: serde_json::Value,
        connections: usize,
        outcome: &Outcome,
        loadgen_cpu_seconds: f64,
        server_processes: BTreeMap<String, Usage>,
    ) -> Self {
        let seconds = outcome.sending_seconds.max(1e-9);
        RunReport {
            settings,
            connections,
            clean: outcome.tally.is_clean()
                && outcome.error_frames == 0
                && outcome.disconnects == 0,
            tally: outcome.tally.clone(),
            error_frames: outcome.error_frames,
            disconnects: outcome.disconnects,
            foreign_messages: outcome.foreign_messages,
            sending_seconds: outcome.sending_seconds,
            acked_per_second: outcome.tally.acked as f64 / seconds,
            deliveries_per_second: outcome.tally.deliveries as f64 / seconds,
            ack_latency: outcome.ack_latency.summary(),
            delivery_latency: outcome.delivery_latency.summary(),
            loadgen_cpu_seconds,
            server_processes,
            timeline: outcome.seconds.clone(),
        }
    }

    pub fn print(&self) {
        let t = &self.tally;
        println!(
            "messages: sent {} acked {} unacked {} | deliveries: expected {} actual {} lost {} duplicated {} misdelivered {}",
            t.sent,
            t.acked,
            t.unacked,
            t.expected_deliveries,
            t.deliveries,
            t.lost,
            t.duplicated,
            t.misdelivered
        );
        println!(
            "errors {} disconnects {} foreign messages {} | verdict: {}",
            self.error_frames,
            self.disconnects,
            self.foreign_messages,
            if self.clean { "clean" } else { "NOT CLEAN" }
        );
        println!(
            "throughput: {:.0} messages/s acked, {:.0} deliveries/s over {:.1} s",
            self.acked_per_second, self.deliveries_per_second, self.sending_seconds
        );
        print_latency("ack", &self.ack_latency);
        print_latency("send→delivery", &self.delivery_latency);
        println!("loadgen CPU: {:.1} s", self.loadgen_cpu_seconds);
        print_processes(&self.server_processes);
    }
}

pub fn print_latency(what: &str, s: &Summary) {
    println!(
        "{what:>14} ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}  (n={})",
        s.p50_ms, s.p90_ms, s.p99_ms, s.p999_ms, s.max_ms, s.count
    );
}

pub fn print_processes(processes: &BTreeMap<String, Usage>) {
    for (name, usage) in processes.iter().filter(|(_, u)| u.processes > 0) {
        println!(
            "{name}: {} process(es), CPU {:.1} s, RSS {} KiB",
            usage.processes, usage.cpu_seconds, usage.rss_kib
        );
    }
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json(path: &std::path::Path, value: &impl Serialize) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(value).expect("results serialise");
    std::fs::write(path, text)
}
