//! A metric's history drawn as an SVG line chart, logged as an image artifact the MLflow UI
//! displays.

use std::fmt::Write as _;

use super::entities::Metric;

/// Renders `(step, value)` points of one metric as a standalone SVG document (640×360, axes
/// with min/max labels). NaN and infinite values are left out of the line.
///
/// ```
/// use oxflow_runtime::tracking::{Metric, plot::metric_svg};
/// let hist: Vec<Metric> = (0..5)
///     .map(|i| Metric { key: "loss".into(), value: 1.0 / (i + 1) as f64, timestamp_ms: 0, step: i })
///     .collect();
/// let svg = metric_svg("loss", &hist);
/// assert!(svg.starts_with("<svg") && svg.contains("<polyline"));
/// ```
pub fn metric_svg(key: &str, history: &[Metric]) -> String {
    let (w, h, pad) = (640.0_f64, 360.0_f64, 48.0_f64);
    let mut pts: Vec<(f64, f64)> = history
        .iter()
        .filter(|m| m.value.is_finite())
        .map(|m| (m.step as f64, m.value))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (xmin, xmax) = bounds(pts.iter().map(|p| p.0));
    let (ymin, ymax) = bounds(pts.iter().map(|p| p.1));
    let sx = |x: f64| pad + (x - xmin) / (xmax - xmin) * (w - 2.0 * pad);
    let sy = |y: f64| h - pad - (y - ymin) / (ymax - ymin) * (h - 2.0 * pad);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"##
    );
    let _ = write!(svg, r##"<rect width="{w}" height="{h}" fill="#ffffff"/>"##);
    let _ = write!(
        svg,
        r##"<text x="{}" y="24" text-anchor="middle" font-size="14">{}</text>"##,
        w / 2.0,
        escape(key)
    );
    let _ = write!(
        svg,
        r##"<path d="M{pad} {pad} V{} H{}" fill="none" stroke="#444"/>"##,
        h - pad,
        w - pad
    );
    let label = |v: f64| super::fsutil::python_float_repr(v);
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" text-anchor="end">{}</text>"##,
        pad - 4.0,
        pad + 4.0,
        label(ymax)
    );
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" text-anchor="end">{}</text>"##,
        pad - 4.0,
        h - pad,
        label(ymin)
    );
    let _ = write!(
        svg,
        r##"<text x="{pad}" y="{}" text-anchor="middle">{}</text>"##,
        h - pad + 16.0,
        xmin
    );
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" text-anchor="middle">{}</text>"##,
        w - pad,
        h - pad + 16.0,
        xmax
    );
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" text-anchor="middle">step</text>"##,
        w / 2.0,
        h - 10.0
    );
    let points: Vec<String> = pts
        .iter()
        .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
        .collect();
    let _ = write!(
        svg,
        r##"<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{}"/>"##,
        points.join(" ")
    );
    svg.push_str("</svg>\n");
    svg
}

/// Min and max, widened when equal so the scale never divides by zero.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
