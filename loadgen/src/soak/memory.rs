//! The processes' memory (RSS) each second of a soak, with the acks so far,
//! and its chart: memory of each process and acks per second over time,
//! with the faults marked.

use super::client::Shared;
use super::faults::Applied;
use crate::chart::{ChartError, draw_error, legend, line, load_font};
use crate::process::usage_by_name;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The processes whose memory is sampled.
pub const PROCESSES: [&str; 3] = ["messenger-core", "messenger-edge", "postgres"];

/// One second of a soak.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    pub second: f64,
    /// RSS in MiB, summed over the processes of each name, in the order
    /// of [`PROCESSES`].
    pub rss_mib: [f64; 3],
    /// Messages acked so far.
    pub acked: u64,
}

/// Samples in the background until stopped.
pub struct Sampler {
    task: tokio::task::JoinHandle<()>,
    samples: Arc<Mutex<Vec<Sample>>>,
}

impl Sampler {
    pub fn start(started: Instant, shared: Arc<Shared>) -> Sampler {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let kept = samples.clone();
        let task = tokio::spawn(async move {
            let names: Vec<String> = PROCESSES.iter().map(|name| (*name).to_owned()).collect();
            let mut ticks = tokio::time::interval(Duration::from_secs(1));
            loop {
                ticks.tick().await;
                let usage = usage_by_name(&names);
                let mib = |name: &str| usage.get(name).map_or(0.0, |u| u.rss_kib as f64 / 1024.0);
                let sample = Sample {
                    second: started.elapsed().as_secs_f64(),
                    rss_mib: PROCESSES.map(mib),
                    acked: shared.ledger.progress().1,
                };
                kept.lock().expect("samples lock").push(sample);
            }
        });
        Sampler { task, samples }
    }

    pub fn stop(self) -> Vec<Sample> {
        self.task.abort();
        self.samples.lock().expect("samples lock").clone()
    }
}

/// Draws each process's memory over the soak: the messenger's processes
/// on the left, PostgreSQL's (whose RSS counts the shared buffers once per
/// backend) on the right, and below them the acks per second; faults as
/// vertical marks.
pub fn draw(
    path: &Path,
    title: &str,
    samples: &[Sample],
    faults: &[Applied],
    font: Option<&Path>,
) -> Result<(), ChartError> {
    load_font(font)?;
    let root = BitMapBackend::new(path, (1400, 840)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_error)?;
    let root = root.titled(title, ("sans-serif", 20)).map_err(draw_error)?;
    let (top, bottom) = root.split_vertically(540);
    let (left, right) = top.split_horizontally(700);
    panel(
        &left,
        "messenger-core, messenger-edge",
        &[0, 1],
        samples,
        faults,
    )?;
    panel(&right, "postgres (all processes)", &[2], samples, faults)?;
    acks_panel(&bottom, samples, faults)?;
    root.present().map_err(draw_error)
}

/// Acks per second, from the running count each sample holds.
fn acks_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    samples: &[Sample],
    faults: &[Applied],
) -> Result<(), ChartError> {
    let rates: Vec<(f64, f64)> = samples
        .windows(2)
        .map(|pair| {
            let seconds = (pair[1].second - pair[0].second).max(0.001);
            let acks = pair[1].acked.saturating_sub(pair[0].acked) as f64;
            (pair[1].second, acks / seconds)
        })
        .collect();
    let top = rates.iter().map(|&(_, rate)| rate).fold(1.0f64, f64::max) * 1.15;
    let mut chart = axes(area, "acks per second", "acks/s", (samples, top), faults)?;
    line(&mut chart, rates, BLACK, "acked")?;
    legend(&mut chart, SeriesLabelPosition::LowerRight)
}

/// A chart over the seconds of `samples`, up to `top`, with its caption,
/// axes and a mark at each fault, ready for the lines.
fn axes<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    y_desc: &str,
    (samples, top): (&[Sample], f64),
    faults: &[Applied],
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, ChartError> {
    let end = samples.last().map_or(1.0, |sample| sample.second.max(1.0));
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..end, 0f64..top)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc(y_desc)
        .light_line_style(WHITE)
        .draw()
        .map_err(draw_error)?;
    fault_marks(&mut chart, faults, top)?;
    Ok(chart)
}

/// A vertical mark at each fault.
fn fault_marks<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    faults: &[Applied],
    top: f64,
) -> Result<(), ChartError> {
    for fault in faults {
        let mark = [(fault.at_seconds, 0.0), (fault.at_seconds, top)];
        chart
            .draw_series(LineSeries::new(mark, RGBColor(255, 140, 0).stroke_width(1)))
            .map_err(draw_error)?;
    }
    Ok(())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    processes: &[usize],
    samples: &[Sample],
    faults: &[Applied],
) -> Result<(), ChartError> {
    let top = samples
        .iter()
        .flat_map(|sample| processes.iter().map(|&index| sample.rss_mib[index]))
        .fold(1.0f64, f64::max)
        * 1.15;
    let mut chart = axes(area, caption, "RSS, MiB", (samples, top), faults)?;
    let colors = [BLUE, RED, GREEN];
    for &index in processes {
        let color = colors[index];
        let points = samples
            .iter()
            .map(|sample| (sample.second, sample.rss_mib[index]));
        line(&mut chart, points, color, PROCESSES[index])?;
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)
}
