//! The PNG chart of a run: latency distribution and throughput over time.

use crate::latency::Latencies;
use crate::timeline::Second;
use plotters::coord::CoordTranslate;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Where TrueType fonts usually are; the chart's text needs one.
const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation/LiberationSans-Regular.ttf",
    "/Library/Fonts/Arial.ttf",
];

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error(
        "no TrueType font found (looked in {}); pass --font <file.ttf>",
        FONT_CANDIDATES.join(", ")
    )]
    NoFont,
    #[error("cannot read font {0}: {1}")]
    Font(PathBuf, std::io::Error),
    #[error("the font is not a usable TrueType font")]
    BadFont,
    #[error("drawing failed: {0}")]
    Draw(String),
}

/// Registers the font all chart text is drawn with (once per process).
pub fn load_font(font: Option<&Path>) -> Result<(), ChartError> {
    let path = match font {
        Some(path) => path.to_path_buf(),
        None => FONT_CANDIDATES
            .iter()
            .map(PathBuf::from)
            .find(|path| path.exists())
            .ok_or(ChartError::NoFont)?,
    };
    let bytes = std::fs::read(&path).map_err(|error| ChartError::Font(path, error))?;
    // The font table wants 'static bytes; a chart is drawn once per process.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| ChartError::BadFont)
}

/// Latency lines to draw, by label.
pub struct Distributions<'a> {
    pub lines: Vec<(&'a str, &'a Latencies)>,
}

/// Draws the chart to `path`: latency by percentile on the left,
/// events per second on the right.
pub fn draw(
    path: &Path,
    title: &str,
    distributions: &Distributions,
    seconds: &[Second],
    font: Option<&Path>,
) -> Result<(), ChartError> {
    load_font(font)?;
    let root = BitMapBackend::new(path, (1400, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_error)?;
    let root = root.titled(title, ("sans-serif", 22)).map_err(draw_error)?;
    let (left, right) = root.split_horizontally(700);
    latency_panel(&left, distributions)?;
    throughput_panel(&right, seconds)?;
    root.present().map_err(draw_error)
}

pub(crate) fn draw_error(error: impl std::fmt::Display) -> ChartError {
    ChartError::Draw(error.to_string())
}

/// Draws one labelled line on `chart`.
pub(crate) fn line<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    points: impl IntoIterator<Item = (f64, f64)>,
    color: RGBColor,
    label: &str,
) -> Result<(), ChartError>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (f64, f64)>,
{
    chart
        .draw_series(LineSeries::new(points, color.stroke_width(1)))
        .map_err(draw_error)?
        .label(label)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(1)));
    Ok(())
}

/// Draws the legend of `chart`'s labelled lines at `position`.
pub(crate) fn legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), ChartError>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (f64, f64)>,
{
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(position)
        .draw()
        .map_err(draw_error)
}

/// x is "nines": 0 → p0, 1 → p90, 2 → p99, 3 → p99.9, 4 → p99.99.
fn nines(percentile: f64) -> f64 {
    let tail = (1.0 - percentile / 100.0).max(1e-5);
    -tail.log10()
}

fn latency_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    distributions: &Distributions,
) -> Result<(), ChartError> {
    let max_ms = distributions
        .lines
        .iter()
        .flat_map(|(_, latencies)| latencies.distribution())
        .map(|(_, ms)| ms)
        .fold(1.0f64, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption("Latency by percentile", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..4.5f64, (0.01f64..max_ms * 1.2).log_scale())
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("milliseconds")
        .x_labels(5)
        .x_label_formatter(&|x| match x.round() as i64 {
            0 => "p0".into(),
            1 => "p90".into(),
            2 => "p99".into(),
            3 => "p99.9".into(),
            4 => "p99.99".into(),
            _ => String::new(),
        })
        .draw()
        .map_err(draw_error)?;
    let colors = [BLUE, RED, GREEN, MAGENTA];
    for (i, (label, latencies)) in distributions.lines.iter().enumerate() {
        let color = colors[i % colors.len()];
        let points: Vec<(f64, f64)> = latencies
            .distribution()
            .into_iter()
            .map(|(p, ms)| (nines(p).min(4.5), ms.max(0.01)))
            .collect();
        line(&mut chart, points, color, label)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// A line of the throughput panel: label, colour, value of a second.
type Series = (&'static str, RGBColor, fn(&Second) -> u64);

fn throughput_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    seconds: &[Second],
) -> Result<(), ChartError> {
    let max = seconds
        .iter()
        .map(|s| s.sent.max(s.acked).max(s.delivered))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let end = seconds.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption("Throughput over time", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..end, 0f64..max * 1.1)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("per second")
        .draw()
        .map_err(draw_error)?;
    let series: [Series; 3] = [
        ("sent", BLUE, |s| s.sent),
        ("acked", GREEN, |s| s.acked),
        ("delivered", RED, |s| s.delivered),
    ];
    for (label, color, value) in series {
        let points = seconds
            .iter()
            .map(|s| (s.second as f64 + 0.5, value(s) as f64));
        line(&mut chart, points, color, label)?;
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)
}

#[cfg(test)]
mod tests {
    use super::nines;

    #[test]
    fn percentiles_map_to_nines() {
        assert!((nines(0.0) - 0.0).abs() < 1e-9);
        assert!((nines(90.0) - 1.0).abs() < 1e-9);
        assert!((nines(99.9) - 3.0).abs() < 1e-9);
        assert!(nines(100.0) <= 5.0 + 1e-9);
    }
}
