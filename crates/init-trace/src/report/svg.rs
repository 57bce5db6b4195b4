//! The INIT breakdown as an SVG chart: one stacked bar per function and memory size, a
//! segment per top-level part of INIT, drawn to one time scale so bars compare directly.

use std::fmt::Write as _;

use crate::report::summary::RunSummary;

const COLOURS: &[(&str, &str)] = &[
    ("runtime start", "#8da0cb"),
    ("runtime imports", "#8da0cb"),
    ("imports", "#fc8d62"),
    ("handler init", "#66c2a5"),
    ("handler import", "#66c2a5"),
    ("runtime api", "#e78ac3"),
    ("unattributed", "#b3b3b3"),
];
const FALLBACK: &[&str] = &["#a6d854", "#ffd92f", "#e5c494", "#80b1d3"];

fn colour(name: &str, index: usize) -> &'static str {
    COLOURS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(FALLBACK[index % FALLBACK.len()], |(_, c)| c)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The chart for a run (mean segment durations, which add up to the mean Init Duration).
pub fn breakdown_chart(summary: &RunSummary) -> String {
    let groups: Vec<_> = summary.groups.iter().filter(|g| g.init.is_some()).collect();
    let (left, bar_width, row) = (170.0, 560.0, 34.0);
    let legend_rows = 2.0;
    let height = 40.0 + row * groups.len() as f64 + 30.0 + 18.0 * legend_rows;
    let max_ms = groups
        .iter()
        .filter_map(|g| g.init.as_ref())
        .map(|s| s.mean_ms)
        .fold(1.0_f64, f64::max);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" viewBox="0 0 {w} {height}" font-family="sans-serif" font-size="12">"#,
        w = left + bar_width + 110.0
    );
    let _ = writeln!(svg, "<title>INIT breakdown (mean ms per segment)</title>");
    let _ = writeln!(
        svg,
        r#"<text x="10" y="20" font-size="14" font-weight="bold">INIT breakdown, mean of measured cold starts</text>"#
    );
    let mut legend: Vec<(String, &str)> = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let y = 40.0 + row * i as f64;
        let _ = writeln!(
            svg,
            r#"<text x="10" y="{}">{} @ {} MB</text>"#,
            y + 16.0,
            escape(&group.function),
            group.memory_mb
        );
        let mut x = left;
        for (j, segment) in group.segments.iter().filter(|s| s.depth == 0).enumerate() {
            let width = (segment.mean_ms.max(0.0) / max_ms * bar_width).max(0.0);
            let fill = colour(&segment.path, j);
            if !legend.iter().any(|(n, _)| n == &segment.path) {
                legend.push((segment.path.clone(), fill));
            }
            let _ = writeln!(
                svg,
                r#"<rect x="{x:.1}" y="{y}" width="{width:.1}" height="22" fill="{fill}"><title>{}: {:.1} ms ({:.0}%)</title></rect>"#,
                escape(&segment.path),
                segment.mean_ms,
                segment.percent_of_init
            );
            x += width;
        }
        let total = group.init.as_ref().map_or(0.0, |s| s.mean_ms);
        let _ = writeln!(svg, r#"<text x="{:.1}" y="{}">{total:.1} ms</text>"#, x + 6.0, y + 16.0);
    }
    let legend_y = 40.0 + row * groups.len() as f64 + 20.0;
    for (i, (name, fill)) in legend.iter().enumerate() {
        let (x, y) = (10.0 + 150.0 * (i % 5) as f64, legend_y + 18.0 * (i / 5) as f64);
        let _ = writeln!(
            svg,
            r#"<rect x="{x}" y="{}" width="12" height="12" fill="{fill}"/><text x="{}" y="{}">{}</text>"#,
            y - 10.0,
            x + 16.0,
            y,
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}
