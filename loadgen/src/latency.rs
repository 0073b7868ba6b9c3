//! Latency distributions: HDR histograms of microseconds and their summary.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::time::Duration;

/// The largest latency recorded exactly; longer ones are clamped to it.
const MAX_MICROS: u64 = 600_000_000;

/// A distribution of latencies with three significant digits.
#[derive(Clone)]
pub struct Latencies {
    histogram: Histogram<u64>,
}

/// Percentiles of a distribution, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Summary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies::new()
    }
}

impl Latencies {
    pub fn new() -> Self {
        let histogram =
            Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds");
        Latencies { histogram }
    }

    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(MAX_MICROS);
        self.histogram.saturating_record(micros.max(1));
    }

    pub fn add(&mut self, other: &Latencies) {
        self.histogram
            .add(&other.histogram)
            .expect("histograms share their bounds");
    }

    pub fn len(&self) -> u64 {
        self.histogram.len()
    }

    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
    }

    /// The latency at `quantile` (0.0–1.0), in milliseconds.
    pub fn quantile_ms(&self, quantile: f64) -> f64 {
        millis(self.histogram.value_at_quantile(quantile))
    }

    pub fn summary(&self) -> Summary {
        if self.is_empty() {
            return Summary::default();
        }
        Summary {
            count: self.len(),
            mean_ms: self.histogram.mean() / 1000.0,
            p50_ms: self.quantile_ms(0.50),
            p90_ms: self.quantile_ms(0.90),
            p99_ms: self.quantile_ms(0.99),
            p999_ms: self.quantile_ms(0.999),
            max_ms: millis(self.histogram.max()),
        }
    }

    /// (percentile, milliseconds) points for a latency-distribution chart,
    /// denser towards the tail.
    pub fn distribution(&self) -> Vec<(f64, f64)> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut points = Vec::new();
        for nines in 0..=40 {
            // 0 → 0%, 10 → 90%, 20 → 99%, 30 → 99.9%, 40 → 99.99%
            let quantile = 1.0 - 10f64.powf(-f64::from(nines) / 10.0);
            points.push((quantile * 100.0, self.quantile_ms(quantile)));
        }
        points.push((100.0, millis(self.histogram.max())));
        points
    }
}

fn millis(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(values_ms: impl IntoIterator<Item = u64>) -> Latencies {
        let mut latencies = Latencies::new();
        for ms in values_ms {
            latencies.record(Duration::from_millis(ms));
        }
        latencies
    }

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= expected * 0.001 + 0.001
    }

    #[test]
    fn percentiles_of_a_uniform_distribution() {
        let summary = filled(1..=1000).summary();
        assert_eq!(summary.count, 1000);
        assert!(close(summary.p50_ms, 500.0), "{summary:?}");
        assert!(close(summary.p90_ms, 900.0), "{summary:?}");
        assert!(close(summary.p99_ms, 990.0), "{summary:?}");
        assert!(close(summary.p999_ms, 999.0), "{summary:?}");
        assert!(close(summary.max_ms, 1000.0), "{summary:?}");
        assert!(close(summary.mean_ms, 500.5), "{summary:?}");
    }

    #[test]
    fn one_slow_outlier_shows_only_in_the_tail() {
        let summary = filled(std::iter::repeat_n(2, 999).chain([250])).summary();
        assert!(close(summary.p50_ms, 2.0));
        assert!(close(summary.p99_ms, 2.0));
        assert!(close(summary.max_ms, 250.0));
        assert!(close(summary.p999_ms, 2.0) || close(summary.p999_ms, 250.0));
    }

    #[test]
    fn merged_histograms_count_both() {
        let mut all = filled([1, 2, 3]);
        all.add(&filled([100]));
        let summary = all.summary();
        assert_eq!(summary.count, 4);
        assert!(close(summary.max_ms, 100.0));
        assert!(close(summary.p50_ms, 2.0));
    }

    #[test]
    fn sub_microsecond_and_huge_values_are_kept() {
        let mut latencies = Latencies::new();
        latencies.record(Duration::from_nanos(10));
        latencies.record(Duration::from_secs(100_000));
        assert_eq!(latencies.len(), 2);
        assert!(latencies.summary().max_ms >= 599_000.0);
    }

    #[test]
    fn an_empty_distribution_summarises_to_zeros() {
        assert_eq!(Latencies::new().summary(), Summary::default());
        assert!(Latencies::new().distribution().is_empty());
    }

    #[test]
    fn distribution_is_monotonic_and_ends_at_the_maximum() {
        let points = filled(1..=10_000).distribution();
        assert!(
            points
                .windows(2)
                .all(|pair| pair[0].1 <= pair[1].1 && pair[0].0 <= pair[1].0)
        );
        assert_eq!(points.last().unwrap(), &(100.0, points.last().unwrap().1));
        assert!(close(points.last().unwrap().1, 10_000.0));
    }
}
