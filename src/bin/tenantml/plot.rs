//! `tenantml backtest --plot`: actual vs forecast with the interval band, one panel per
//! plotted window run, as a PNG (plotters). Labels need a TrueType font; the first of a few
//! common system fonts found is used, and without one the chart is drawn without text.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use tenantml::data::series::format_timestamp;
use tenantml::forecast::backtest::BacktestReport;

const FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
];

/// Registers the first font found under the name "sans-serif"; false when there is none.
fn load_font() -> bool {
    for path in FONTS {
        if let Ok(bytes) = std::fs::read(path) {
            // plotters keeps the font for the whole process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return true;
            }
        }
    }
    false
}

/// Draws the windows of the first series: actual values, the forecast and the band of the
/// first interval level.
pub fn backtest_png(report: &BacktestReport, path: &Path) -> Result<(), String> {
    let windows: Vec<_> = report.windows.iter().filter(|w| w.series == 0).collect();
    if windows.is_empty() {
        return Err("nothing to plot: the first series has no backtest window".into());
    }
    let text = load_font();
    let points = || {
        windows
            .iter()
            .flat_map(|w| (0..w.timestamps.len()).map(move |i| (w, i)))
    };
    let t0 = windows[0].timestamps[0];
    let hours = |t: i64| (t - t0) as f64 / 3600.0;
    let (mut x_max, mut y_min, mut y_max) = (1.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for (w, i) in points() {
        x_max = x_max.max(hours(w.timestamps[i]));
        for v in [w.actual[i], w.forecast[i], w.lower[i], w.upper[i]] {
            if v.is_finite() {
                y_min = y_min.min(v);
                y_max = y_max.max(v);
            }
        }
    }
    if !y_min.is_finite() {
        return Err("nothing to plot: no finite value".into());
    }
    let pad = ((y_max - y_min) * 0.05).max(1e-9);
    let err = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
    let root = BitMapBackend::new(path, (1200, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut builder = ChartBuilder::on(&root);
    builder.margin(15);
    if text {
        let level = report.options.levels.first().copied().unwrap_or(0.0);
        builder
            .caption(
                format!(
                    "backtest from {}: actual (black), forecast (blue), {level}% interval",
                    format_timestamp(t0)
                ),
                ("sans-serif", 18),
            )
            .x_label_area_size(35)
            .y_label_area_size(60);
    }
    let mut chart = builder
        .build_cartesian_2d(0.0..x_max, (y_min - pad)..(y_max + pad))
        .map_err(|e| err(&e))?;
    if text {
        chart
            .configure_mesh()
            .x_desc("hours since the first origin")
            .y_desc("usage")
            .draw()
            .map_err(|e| err(&e))?;
    }
    let band = RGBColor(120, 160, 230).mix(0.3);
    for w in &windows {
        let upper: Vec<(f64, f64)> = (0..w.timestamps.len())
            .map(|i| (hours(w.timestamps[i]), w.upper[i]))
            .collect();
        let lower: Vec<(f64, f64)> = (0..w.timestamps.len())
            .rev()
            .map(|i| (hours(w.timestamps[i]), w.lower[i]))
            .collect();
        let polygon: Vec<(f64, f64)> = upper.into_iter().chain(lower).collect();
        chart
            .draw_series(std::iter::once(Polygon::new(polygon, band.filled())))
            .map_err(|e| err(&e))?;
        // Runs of finite values: a missing actual breaks the line instead of being bridged.
        let runs = |values: &[f64]| -> Vec<Vec<(f64, f64)>> {
            let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for (i, &v) in values.iter().enumerate() {
                if v.is_finite() {
                    out.last_mut()
                        .expect("never empty")
                        .push((hours(w.timestamps[i]), v));
                } else if !out.last().expect("never empty").is_empty() {
                    out.push(Vec::new());
                }
            }
            out
        };
        for run in runs(&w.forecast) {
            chart
                .draw_series(LineSeries::new(run, BLUE.stroke_width(2)))
                .map_err(|e| err(&e))?;
        }
        for run in runs(&w.actual) {
            chart
                .draw_series(LineSeries::new(run, BLACK.stroke_width(1)))
                .map_err(|e| err(&e))?;
        }
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
