//! What processes cost: CPU time and resident memory, read from `/proc`.

use serde::Serialize;
use std::collections::BTreeMap;

/// CPU time and memory of a group of processes with one name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Usage {
    pub processes: usize,
    pub cpu_seconds: f64,
    pub rss_kib: u64,
}

/// Usage of every process named in `names`, by name (processes are summed:
/// PostgreSQL runs one per connection).
pub fn usage_by_name(names: &[String]) -> BTreeMap<String, Usage> {
    let mut usage: BTreeMap<String, Usage> = names
        .iter()
        .map(|n| (n.clone(), Usage::default()))
        .collect();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return usage;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Some(name) = command_name(pid) else {
            continue;
        };
        if let Some(total) = usage.get_mut(&name) {
            total.processes += 1;
            total.cpu_seconds += cpu_seconds(pid).unwrap_or(0.0);
            total.rss_kib += rss_kib(pid).unwrap_or(0);
        }
    }
    usage
}

/// What each group used between two readings (CPU is the difference, memory
/// the later reading).
pub fn difference(
    before: &BTreeMap<String, Usage>,
    after: &BTreeMap<String, Usage>,
) -> BTreeMap<String, Usage> {
    after
        .iter()
        .map(|(name, later)| {
            let earlier = before.get(name).copied().unwrap_or_default();
            let usage = Usage {
                processes: later.processes,
                cpu_seconds: (later.cpu_seconds - earlier.cpu_seconds).max(0.0),
                rss_kib: later.rss_kib,
            };
            (name.clone(), usage)
        })
        .collect()
}

fn command_name(pid: u32) -> Option<String> {
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(name.trim_end().to_owned())
}

/// User + system CPU time of a process.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_cpu(&stat).map(|ticks| ticks as f64 / clock_ticks_per_second())
}

/// Resident set size of a process.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_rss(&status)
}

/// User + system CPU time of this process.
pub fn own_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// utime + stime (fields 14 and 15) of `/proc/<pid>/stat`. The command name
/// (field 2) may contain spaces and parentheses, so fields are counted from
/// the last `)`.
fn parse_stat_cpu(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so field n is at index n - 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn parse_status_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_fields_are_found_after_an_awkward_name() {
        let stat =
            "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 25 0 0 20 0 4 0 100 1000 50";
        assert_eq!(parse_stat_cpu(stat), Some(175));
        assert_eq!(parse_stat_cpu("garbage"), None);
    }

    #[test]
    fn rss_is_read_from_status() {
        let status = "Name:\tedge\nVmPeak:\t  9000 kB\nVmRSS:\t   1234 kB\nThreads:\t3\n";
        assert_eq!(parse_status_rss(status), Some(1234));
        assert_eq!(parse_status_rss("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_is_measurable() {
        let me = std::process::id();
        assert!(rss_kib(me).unwrap() > 0);
        assert!(cpu_seconds(me).is_some());
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(30) {}
        assert!(own_cpu_seconds() > 0.0);
    }
}
