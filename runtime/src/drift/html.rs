//! The HTML report: one self-contained page (inline CSS and SVG; no script, no external
//! fetch), so it can be attached to a run, mailed, or opened offline.

use std::fmt::Write;

use super::report::{ColumnDrift, ColumnRole, Distribution, DriftReport};
use super::stattest::StatTest;

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
header{background:#1d2430;color:#fff;padding:20px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#b9c2d0;font-size:13px}main{padding:24px 32px;max-width:1180px}
.cards{display:flex;gap:16px;flex-wrap:wrap;margin-bottom:24px}
.card{background:#fff;border-radius:8px;padding:14px 18px;box-shadow:0 1px 3px rgba(0,0,0,.08);min-width:170px}
.card .v{font-size:26px;font-weight:600}.card .k{font-size:12px;color:#66707f;text-transform:uppercase;letter-spacing:.04em}
.bad{color:#c0392b}.good{color:#1e8449}
table{border-collapse:collapse;width:100%;background:#fff;border-radius:8px;overflow:hidden;box-shadow:0 1px 3px rgba(0,0,0,.08)}
th,td{padding:7px 10px;text-align:left;font-size:13px;border-bottom:1px solid #eceff3}th{background:#eef1f5;font-weight:600}
td.num{font-variant-numeric:tabular-nums;text-align:right}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;font-weight:600}
.badge.d{background:#fdecea;color:#c0392b}.badge.s{background:#e9f7ef;color:#1e8449}.badge.k{background:#eef1f5;color:#66707f}
section.col{background:#fff;border-radius:8px;padding:14px 18px;margin:16px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
section.col h3{margin:0 0 4px;font-size:16px}section.col p{margin:2px 0 8px;font-size:13px;color:#45505f}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;border-radius:2px}
h2{font-size:17px;margin:28px 0 10px}
";

const REF_COLOR: &str = "#8a94a6";
const CUR_COLOR: &str = "#e67e22";

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn fmt_score(x: f64) -> String {
    if x != 0.0 && x.abs() < 1e-3 {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

fn fmt_axis(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e5 || x.abs() < 1e-2) {
        format!("{x:.2e}")
    } else {
        format!("{x:.3}")
    }
}

fn badge(c: &ColumnDrift) -> &'static str {
    if c.skipped.is_some() {
        "<span class='badge k'>skipped</span>"
    } else if c.drift_detected {
        "<span class='badge d'>drift</span>"
    } else {
        "<span class='badge s'>no drift</span>"
    }
}

fn shares(counts: &[u64]) -> Vec<f64> {
    let n: u64 = counts.iter().sum();
    counts
        .iter()
        .map(|&c| if n == 0 { 0.0 } else { c as f64 / n as f64 })
        .collect()
}

/// Overlaid histograms (numerical) or grouped bars (categorical) as an inline SVG.
fn plot(d: &Distribution, w: f64, h: f64) -> String {
    let (pad_l, pad_b, pad_t) = (44.0, 34.0, 8.0);
    let (pw, ph) = (w - pad_l - 8.0, h - pad_b - pad_t);
    let mut s = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' viewBox='0 0 {w} {h}' role='img'>"
    );
    let axis = |s: &mut String, ymax: f64| {
        let _ = write!(
            s,
            "<line x1='{pad_l}' y1='{}' x2='{}' y2='{}' stroke='#c5ccd6'/>",
            pad_t + ph,
            pad_l + pw,
            pad_t + ph
        );
        for k in 0..=2 {
            let v = ymax * k as f64 / 2.0;
            let y = pad_t + ph - ph * k as f64 / 2.0;
            let _ = write!(
                s,
                "<text x='{}' y='{}' font-size='10' text-anchor='end' fill='#66707f'>{:.0}%</text>",
                pad_l - 4.0,
                y + 3.0,
                v * 100.0
            );
        }
    };
    match d {
        Distribution::Histogram {
            edges,
            reference,
            current,
        } => {
            let (r, c) = (shares(reference), shares(current));
            let ymax = r.iter().chain(&c).copied().fold(0.0, f64::max).max(1e-12);
            axis(&mut s, ymax);
            let n = r.len().max(1) as f64;
            let bw = pw / n;
            for (vals, color, op) in [(&r, REF_COLOR, 0.55), (&c, CUR_COLOR, 0.55)] {
                for (i, v) in vals.iter().enumerate() {
                    let bh = ph * v / ymax;
                    let _ = write!(
                        s,
                        "<rect x='{:.2}' y='{:.2}' width='{:.2}' height='{:.2}' fill='{color}' fill-opacity='{op}'/>",
                        pad_l + i as f64 * bw,
                        pad_t + ph - bh,
                        (bw - 0.5).max(0.5),
                        bh
                    );
                }
            }
            if let (Some(lo), Some(hi)) = (edges.first(), edges.last()) {
                let mid = (lo + hi) / 2.0;
                for (x, v, anchor) in [
                    (pad_l, *lo, "start"),
                    (pad_l + pw / 2.0, mid, "middle"),
                    (pad_l + pw, *hi, "end"),
                ] {
                    let _ = write!(
                        s,
                        "<text x='{x}' y='{}' font-size='10' text-anchor='{anchor}' fill='#66707f'>{}</text>",
                        pad_t + ph + 14.0,
                        fmt_axis(v)
                    );
                }
            }
        }
        Distribution::Categories {
            labels,
            reference,
            current,
            reference_other,
            current_other,
        } => {
            let mut labels: Vec<String> = labels.clone();
            let mut rc = reference.clone();
            let mut cc = current.clone();
            if reference_other + current_other > 0 {
                labels.push("other".into());
                rc.push(*reference_other);
                cc.push(*current_other);
            }
            let (r, c) = (shares(&rc), shares(&cc));
            let ymax = r.iter().chain(&c).copied().fold(0.0, f64::max).max(1e-12);
            axis(&mut s, ymax);
            let n = labels.len().max(1) as f64;
            let gw = pw / n;
            let bw = (gw * 0.8 / 2.0).min(28.0);
            for (i, l) in labels.iter().enumerate() {
                let gx = pad_l + i as f64 * gw + (gw - 2.0 * bw) / 2.0;
                for (k, (v, color)) in [(r[i], REF_COLOR), (c[i], CUR_COLOR)]
                    .into_iter()
                    .enumerate()
                {
                    let bh = ph * v / ymax;
                    let _ = write!(
                        s,
                        "<rect x='{:.2}' y='{:.2}' width='{:.2}' height='{:.2}' fill='{color}'><title>{}: {:.2}%</title></rect>",
                        gx + k as f64 * bw,
                        pad_t + ph - bh,
                        bw,
                        bh,
                        esc(l),
                        v * 100.0
                    );
                }
                let label: String = l.chars().take(12).collect();
                let _ = write!(
                    s,
                    "<text x='{:.2}' y='{}' font-size='10' text-anchor='middle' fill='#45505f'>{}</text>",
                    pad_l + i as f64 * gw + gw / 2.0,
                    pad_t + ph + 14.0,
                    esc(&label)
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

impl DriftReport {
    /// Renders the report as one self-contained HTML page: a summary, a table of every column,
    /// and reference-vs-current plots per column (drifted columns first).
    ///
    /// ```
    /// use oxflow_runtime::drift::{detect, Column, Dataset, DriftOptions};
    /// let r = Dataset::new(vec![Column::categorical("plan <b>", ["a", "b", "a"])])?;
    /// let html = detect(&r, &r, &DriftOptions::default())?.to_html();
    /// assert!(html.starts_with("<!DOCTYPE html>"));
    /// assert!(html.contains("plan &lt;b&gt;") && html.contains("<svg"));
    /// assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("<link"));
    /// # Ok::<(), oxflow_runtime::drift::DriftError>(())
    /// ```
    pub fn to_html(&self) -> String {
        let d = &self.dataset;
        let mut h = String::with_capacity(64 * 1024);
        h.push_str("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>");
        h.push_str("<meta name='viewport' content='width=device-width,initial-scale=1'><title>Drift report</title><style>");
        h.push_str(CSS);
        h.push_str("</style></head><body><header><h1>Data drift report</h1>");
        let _ = write!(
            h,
            "<p>{} reference rows · {} current rows · {} columns · oxflow {}</p></header><main>",
            self.reference_rows,
            self.current_rows,
            self.columns.len(),
            esc(&self.oxflow_version)
        );
        h.push_str("<div class='cards'>");
        let _ = write!(
            h,
            "<div class='card'><div class='k'>Dataset drift</div><div class='v {}'>{}</div></div>",
            if d.dataset_drift { "bad" } else { "good" },
            if d.dataset_drift {
                "Detected"
            } else {
                "Not detected"
            }
        );
        let _ = write!(
            h,
            "<div class='card'><div class='k'>Drifted columns</div><div class='v'>{} of {}</div></div>",
            d.number_of_drifted_columns, d.number_of_columns
        );
        let _ = write!(
            h,
            "<div class='card'><div class='k'>Share drifted</div><div class='v'>{:.1}%</div><div class='k'>threshold {:.0}%</div></div>",
            d.share_of_drifted_columns * 100.0,
            d.drift_share * 100.0
        );
        if let Some(l) = self.label_drift() {
            let _ = write!(
                h,
                "<div class='card'><div class='k'>Label drift ({})</div><div class='v {}'>{}</div></div>",
                esc(&l.column),
                if l.drift_detected { "bad" } else { "good" },
                if l.drift_detected {
                    "Detected"
                } else {
                    "Not detected"
                }
            );
        }
        h.push_str(
            "</div><h2>Columns</h2><table><thead><tr><th>Column</th><th>Type</th><th>Test</th>",
        );
        h.push_str("<th>Score</th><th>Threshold</th><th>Result</th><th>Missing ref / cur</th><th>Notes</th></tr></thead><tbody>");
        let mut order: Vec<&ColumnDrift> = self.columns.iter().collect();
        order.sort_by_key(|c| (!c.drift_detected, c.skipped.is_some()));
        for c in &order {
            let mut notes = Vec::new();
            if c.role == ColumnRole::Target {
                notes.push("target".to_string());
            }
            if let Some(s) = &c.skipped {
                notes.push(esc(s));
            }
            if !c.new_categories.is_empty() {
                notes.push(format!("new: {}", esc(&c.new_categories.join(", "))));
            }
            if !c.missing_categories.is_empty() {
                notes.push(format!("gone: {}", esc(&c.missing_categories.join(", "))));
            }
            notes.extend(c.notes.iter().map(|n| esc(n)));
            if c.reference.infinite + c.current.infinite > 0 {
                notes.push(format!(
                    "±inf ref/cur: {}/{}",
                    c.reference.infinite, c.current.infinite
                ));
            }
            let _ = write!(
                h,
                "<tr><td><a href='#col-{}'>{}</a></td><td>{}</td><td>{}{}</td><td class='num'>{}</td><td class='num'>{}</td><td>{}</td><td class='num'>{} / {}</td><td>{}</td></tr>",
                esc(&c.column),
                esc(&c.column),
                c.kind,
                c.test,
                if c.default_test { "" } else { " (set)" },
                c.score.map_or("–".into(), fmt_score),
                c.threshold,
                badge(c),
                c.reference.missing,
                c.current.missing,
                notes.join("; ")
            );
        }
        h.push_str("</tbody></table><h2>Distributions</h2>");
        let _ = write!(
            h,
            "<p class='legend'><span style='background:{REF_COLOR}'></span>reference<span style='background:{CUR_COLOR}'></span>current (share of rows)</p>"
        );
        for c in &order {
            let _ = write!(
                h,
                "<section class='col' id='col-{}'><h3>{} {}</h3>",
                esc(&c.column),
                esc(&c.column),
                badge(c)
            );
            let rule = match c.test {
                StatTest::Ks => "p-value; drift when ≤ threshold",
                t if t.is_p_value() => "p-value; drift when < threshold",
                _ => "distance; drift when ≥ threshold",
            };
            let _ = write!(
                h,
                "<p>{} column · test <b>{}</b> ({rule}) · score <b>{}</b> · threshold {}",
                c.kind,
                c.test,
                c.score.map_or("–".into(), fmt_score),
                c.threshold
            );
            if let (Some(mr), Some(mc)) = (c.reference.mean, c.current.mean) {
                let _ = write!(
                    h,
                    " · mean {} → {} · std {} → {}",
                    fmt_axis(mr),
                    fmt_axis(mc),
                    fmt_axis(c.reference.std.unwrap_or(0.0)),
                    fmt_axis(c.current.std.unwrap_or(0.0))
                );
            }
            if c.reference.missing + c.current.missing > 0 {
                let _ = write!(
                    h,
                    " · missing {} → {}",
                    c.reference.missing, c.current.missing
                );
            }
            if let Some(reason) = &c.skipped {
                let _ = write!(h, " · skipped: {}", esc(reason));
            }
            if c.all_missing {
                h.push_str(" · <b>every current value is missing</b>: no test ran");
            }
            h.push_str("</p>");
            if let Some(dist) = &c.distribution {
                h.push_str(&plot(dist, 640.0, 190.0));
            }
            h.push_str("</section>");
        }
        h.push_str("</main></body></html>\n");
        h
    }
}
