//! SVG line charts for the TTL rationale, written as text.
//!
//! Hand-written rather than a plotting crate: two small line charts need ~100 lines, and
//! the crates that draw SVG bring font handling and many dependencies for nothing here.
//! The output is plain SVG 1.1 that renders the same in a browser and in a wiki.

use std::fmt::Write as _;

/// One chart: its file name, title and SVG text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// File name to write it under (`*.svg`).
    pub file_name: String,
    /// Title (also the Markdown image's alt text).
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Points, x ascending.
    pub points: Vec<(f64, f64)>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 180.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 48.0;
const COLOURS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn ttl_label(s: f64) -> String {
    if s >= 86_400.0 {
        format!("{}d", (s / 86_400.0).round())
    } else if s >= 3600.0 {
        format!("{}h", (s / 3600.0).round())
    } else if s >= 60.0 {
        format!("{}m", (s / 60.0).round())
    } else {
        format!("{s}s")
    }
}

/// A line chart with a logarithmic TTL axis (seconds) and a linear y axis from 0 to `y_max`.
pub fn ttl_chart(
    title: &str,
    y_label: &str,
    y_max: f64,
    y_percent: bool,
    series: &[Series],
    marker_x: Option<f64>,
) -> String {
    let xs: Vec<f64> = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).collect();
    let x_min = xs.iter().copied().fold(f64::INFINITY, f64::min).max(1e-3);
    let x_max = xs.iter().copied().fold(0.0, f64::max).max(x_min * 10.0);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |v: f64| LEFT + (v.max(x_min).ln() - x_min.ln()) / (x_max.ln() - x_min.ln()) * plot_w;
    let y = |v: f64| TOP + plot_h - (v / y_max).clamp(0.0, 1.0) * plot_h;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{}</text>"#,
        escape(title)
    );
    // Grid and y ticks.
    for i in 0..=5 {
        let v = y_max * f64::from(i) / 5.0;
        let label = if y_percent {
            format!("{:.0}%", v * 100.0)
        } else {
            format!("{v:.2}")
        };
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#ddd"/><text x="{2:.1}" y="{3:.1}" text-anchor="end">{label}</text>"##,
            y(v),
            LEFT + plot_w,
            LEFT - 6.0,
            y(v) + 4.0
        );
    }
    // x ticks at 1 s, 10 s, 1 m, 10 m, 1 h, 1 d where in range.
    for tick in [1.0, 10.0, 60.0, 600.0, 3600.0, 86_400.0, 604_800.0] {
        if tick >= x_min && tick <= x_max {
            let _ = writeln!(
                svg,
                r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1:.1}" stroke="#eee"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle">{3}</text>"##,
                x(tick),
                TOP + plot_h,
                TOP + plot_h + 16.0,
                ttl_label(tick)
            );
        }
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">page TTL (log scale)</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 10.0
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        TOP + plot_h / 2.0,
        escape(y_label)
    );
    if let Some(mx) = marker_x {
        let _ = writeln!(
            svg,
            r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1:.1}" stroke="#555" stroke-dasharray="4 3"/><text x="{2:.1}" y="{3:.1}" fill="#555">chosen {4}</text>"##,
            x(mx),
            TOP + plot_h,
            x(mx) + 4.0,
            TOP + 12.0,
            ttl_label(mx)
        );
    }
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let path: Vec<String> = s
            .points
            .iter()
            .map(|(px, py)| format!("{:.1},{:.1}", x(*px), y(*py)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            path.join(" ")
        );
        let ly = TOP + 16.0 + 18.0 * i as f64;
        let lx = LEFT + plot_w + 12.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="2"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 18.0,
            lx + 22.0,
            ly + 4.0,
            escape(&s.name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_is_well_formed_svg_with_every_series() {
        let svg = ttl_chart(
            "hit <ratio>",
            "hit ratio",
            1.0,
            true,
            &[
                Series {
                    name: "a".to_owned(),
                    points: vec![(1.0, 0.1), (60.0, 0.5), (3600.0, 0.9)],
                },
                Series {
                    name: "b & c".to_owned(),
                    points: vec![(1.0, 0.0), (3600.0, 0.2)],
                },
            ],
            Some(60.0),
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("hit &lt;ratio&gt;") && svg.contains("b &amp; c"));
        assert!(svg.contains("chosen 1m"));
    }
}
