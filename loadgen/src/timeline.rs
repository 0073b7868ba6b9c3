//! Per-second event counts over a run, for throughput-over-time charts.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// What is counted each second.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    Sent,
    Acked,
    Delivered,
}

/// Counts of each event per whole second since the start.
pub struct Timeline {
    start: Instant,
    sent: Vec<AtomicU64>,
    acked: Vec<AtomicU64>,
    delivered: Vec<AtomicU64>,
}

/// One second of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Second {
    pub second: u64,
    pub sent: u64,
    pub acked: u64,
    pub delivered: u64,
}

impl Timeline {
    /// A timeline of up to `seconds` seconds; later events count in the last.
    pub fn new(start: Instant, seconds: usize) -> Self {
        let buckets = || (0..seconds.max(1)).map(|_| AtomicU64::new(0)).collect();
        Timeline {
            start,
            sent: buckets(),
            acked: buckets(),
            delivered: buckets(),
        }
    }

    pub fn record(&self, event: Event, at: Instant) {
        let buckets = match event {
            Event::Sent => &self.sent,
            Event::Acked => &self.acked,
            Event::Delivered => &self.delivered,
        };
        let second = at.saturating_duration_since(self.start).as_secs() as usize;
        buckets[second.min(buckets.len() - 1)].fetch_add(1, Ordering::Relaxed);
    }

    /// Totals so far: (sent, acked, delivered).
    pub fn totals(&self) -> (u64, u64, u64) {
        let sum = |buckets: &[AtomicU64]| buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum();
        (sum(&self.sent), sum(&self.acked), sum(&self.delivered))
    }

    /// The seconds up to the last one with any event.
    pub fn seconds(&self) -> Vec<Second> {
        let load = |buckets: &[AtomicU64], i: usize| buckets[i].load(Ordering::Relaxed);
        let mut seconds: Vec<Second> = (0..self.sent.len())
            .map(|i| Second {
                second: i as u64,
                sent: load(&self.sent, i),
                acked: load(&self.acked, i),
                delivered: load(&self.delivered, i),
            })
            .collect();
        while seconds
            .last()
            .is_some_and(|s| s.sent + s.acked + s.delivered == 0)
        {
            seconds.pop();
        }
        seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn events_land_in_their_second() {
        let start = Instant::now();
        let timeline = Timeline::new(start, 3);
        timeline.record(Event::Sent, start);
        timeline.record(Event::Sent, start + Duration::from_millis(999));
        timeline.record(Event::Acked, start + Duration::from_millis(1000));
        timeline.record(Event::Delivered, start + Duration::from_secs(60));
        let seconds = timeline.seconds();
        assert_eq!(seconds.len(), 3);
        assert_eq!((seconds[0].sent, seconds[0].acked), (2, 0));
        assert_eq!(seconds[1].acked, 1);
        assert_eq!(
            seconds[2].delivered, 1,
            "late events count in the last second"
        );
        assert_eq!(timeline.totals(), (2, 1, 1));
    }

    #[test]
    fn trailing_empty_seconds_are_dropped() {
        let start = Instant::now();
        let timeline = Timeline::new(start, 10);
        timeline.record(Event::Sent, start + Duration::from_millis(1500));
        assert_eq!(timeline.seconds().len(), 2);
    }
}
