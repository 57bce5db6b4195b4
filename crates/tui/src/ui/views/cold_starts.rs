//! The cold-starts view: run controls and progress, an Init Duration histogram per
//! function side by side (one column per bin, bins chosen from the data), both functions'
//! percentile curves on one axis, percentiles, the stacked INIT breakdown and the
//! subject − control difference; panels for imports by package, a package's
//! import tree, and failed cold starts.

use hdrhistogram::Histogram;
use init_trace::evidence::importtime::ImportNode;
use init_trace::local::cpu_cores_for;
use init_trace::sample::Throttling;
use init_trace::stats::format_ms;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Chart, Clear, Dataset, Gauge, GraphType, LegendPosition, Paragraph, Row, Sparkline, Table, Wrap,
};

use crate::ui::app::{App, Panel, VariantState};
use crate::ui::theme::Theme;

/// Bins of a histogram or the x range of a CDF: linear when the values span less than
/// [`LOG_SCALE_RATIO`] (one function's spread), logarithmic when they span more (a
/// 40 ms control and a 4 s subject on one axis).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    low_us: f64,
    high_us: f64,
    log: bool,
}

/// The max ÷ min beyond which an axis turns logarithmic.
const LOG_SCALE_RATIO: f64 = 3.0;

impl Axis {
    /// An axis over `min_us..=max_us`, widened a little so that neither end sits on the
    /// frame, and to at least 20 µs so that identical values still get a bin.
    fn spanning(min_us: f64, max_us: f64) -> Self {
        let (min_us, max_us) = (min_us.max(1.0), max_us.max(1.0));
        let pad = ((max_us - min_us) * 0.03).max(10.0);
        let low_us = (min_us - pad).max(1.0);
        let high_us = max_us + pad;
        Self {
            low_us,
            high_us,
            log: high_us / low_us > LOG_SCALE_RATIO,
        }
    }

    fn of(histograms: &[&Histogram<u64>]) -> Option<Self> {
        let recorded: Vec<&&Histogram<u64>> = histograms.iter().filter(|h| !h.is_empty()).collect();
        let min = recorded.iter().map(|h| h.min()).min()?;
        let max = recorded.iter().map(|h| h.max()).max()?;
        Some(Self::spanning(min as f64, max as f64))
    }

    /// Where `us` falls, from 0 at `low_us` to 1 at `high_us`.
    fn position(&self, us: f64) -> f64 {
        if self.log {
            (us.max(self.low_us) / self.low_us).ln() / (self.high_us / self.low_us).ln()
        } else {
            (us - self.low_us) / (self.high_us - self.low_us)
        }
    }

    /// The value at `position` (0…1).
    fn value_us(&self, position: f64) -> f64 {
        if self.log {
            self.low_us * (self.high_us / self.low_us).powf(position)
        } else {
            self.low_us + (self.high_us - self.low_us) * position
        }
    }

    /// Counts of the histogram's recorded values in `count` equal bins of the axis.
    fn bin_counts(&self, histogram: &Histogram<u64>, count: usize) -> Vec<u64> {
        let mut bins = vec![0_u64; count.max(1)];
        for value in histogram.iter_recorded() {
            let position = self.position(histogram.median_equivalent(value.value_iterated_to()) as f64);
            let bin = ((position * bins.len() as f64) as usize).min(bins.len() - 1);
            bins[bin] += value.count_at_value();
        }
        bins
    }
}

fn axis_label(us: f64) -> String {
    let ms = us / 1000.0;
    if ms >= 10_000.0 {
        format!("{:.0} s", ms / 1_000.0)
    } else if ms >= 1_000.0 {
        format!("{:.2} s", ms / 1_000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// One line under a chart: the axis's low end at the left, its middle, and the high end
/// at the right.
fn axis_line(axis: &Axis, width: u16) -> Line<'static> {
    let width = usize::from(width);
    let (low, middle, high) = (
        axis_label(axis.low_us),
        axis_label(axis.value_us(0.5)),
        axis_label(axis.high_us),
    );
    let mut text = low.clone();
    let middle_at = (width / 2).saturating_sub(middle.len() / 2);
    if middle_at > low.len() + 1 && middle_at + middle.len() + high.len() < width {
        text.push_str(&" ".repeat(middle_at - low.len()));
        text.push_str(&middle);
    }
    let gap = width.saturating_sub(text.chars().count() + high.len());
    text.push_str(&" ".repeat(gap.max(1)));
    text.push_str(&high);
    Line::from(text)
}

/// Init Duration of one function as a histogram with one column per bin, its bins chosen
/// from the data (linear or log), and the axis's ends and middle underneath.
fn histogram_chart(frame: &mut Frame, area: Rect, variant: &VariantState, index: usize, theme: Theme) {
    let histogram: &Histogram<u64> = &variant.histogram;
    let block = Block::bordered().title(Line::from(vec![
        Span::styled(format!(" {} ", variant.name), theme.variant(index)),
        Span::raw(format!("n={} ", histogram.len())),
    ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(axis) = Axis::of(&[histogram]) else {
        let text = if variant.failures > 0 {
            format!("all {} cold starts failed (f: failures)", variant.failures)
        } else {
            "no cold starts yet".to_owned()
        };
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
        return;
    };
    if inner.height < 2 || inner.width < 4 {
        return;
    }
    let [bars, labels] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let counts = axis.bin_counts(histogram, usize::from(bars.width));
    frame.render_widget(
        Sparkline::default()
            .data(&counts)
            .max(counts.iter().copied().max().unwrap_or(1))
            .style(theme.variant(index)),
        bars,
    );
    frame.render_widget(
        Paragraph::new(axis_line(&axis, labels.width)).style(theme.dim()),
        labels,
    );
}

/// Every function's Init Duration as a cumulative distribution on one axis (braille), so
/// the percentiles in the table can be read off as curves.
fn cdf_chart(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let block = Block::bordered().title(" Percentile vs Init Duration ");
    let histograms: Vec<&Histogram<u64>> = app.variants.iter().map(|v| &*v.histogram).collect();
    let Some(axis) = Axis::of(&histograms) else {
        frame.render_widget(Paragraph::new("no cold starts yet").block(block), area);
        return;
    };
    let curves: Vec<Vec<(f64, f64)>> = histograms
        .iter()
        .map(|h| {
            let total = h.len().max(1) as f64;
            let mut seen = 0_u64;
            let mut points = Vec::new();
            if !h.is_empty() {
                points.push((axis.position(h.min() as f64), 0.0));
            }
            for value in h.iter_recorded() {
                seen += value.count_at_value();
                let x = axis.position(h.median_equivalent(value.value_iterated_to()) as f64);
                points.push((x, 100.0 * seen as f64 / total));
            }
            points
        })
        .collect();
    let datasets: Vec<Dataset> = curves
        .iter()
        .zip(&app.variants)
        .enumerate()
        .map(|(i, (points, variant))| {
            Dataset::default()
                .name(variant.name.clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.variant(i))
                .data(points)
        })
        .collect();
    let x_labels: Vec<Line> = [0.0, 0.5, 1.0]
        .iter()
        .map(|p| Line::from(axis_label(axis.value_us(*p))))
        .collect();
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(
            ratatui::widgets::Axis::default()
                .bounds([0.0, 1.0])
                .labels(x_labels)
                .style(theme.dim()),
        )
        .y_axis(
            ratatui::widgets::Axis::default()
                .bounds([0.0, 100.0])
                .labels(["0", "50", "100"])
                .style(theme.dim()),
        )
        .legend_position(Some(LegendPosition::BottomRight))
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)));
    frame.render_widget(chart, area);
}

fn quantile_ms(histogram: &Histogram<u64>, q: f64) -> String {
    if histogram.is_empty() {
        "–".to_owned()
    } else {
        format_ms(histogram.value_at_quantile(q) as f64 / 1000.0)
    }
}

fn percentiles(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let header = Row::new(
        std::iter::once(Line::from("")).chain(
            app.variants
                .iter()
                .enumerate()
                .map(|(i, v)| Line::from(Span::styled(v.name.clone(), theme.variant(i)))),
        ),
    );
    let row = |label: &str, value: &dyn Fn(&VariantState) -> String| {
        Row::new(std::iter::once(label.to_owned()).chain(app.variants.iter().map(value)))
    };
    let rows = vec![
        row("p50", &|v| quantile_ms(&v.histogram, 0.5)),
        row("p90", &|v| quantile_ms(&v.histogram, 0.9)),
        row("p99", &|v| quantile_ms(&v.histogram, 0.99)),
        row("max", &|v| {
            if v.histogram.is_empty() {
                "–".to_owned()
            } else {
                format_ms(v.histogram.max() as f64 / 1000.0)
            }
        }),
        row("n", &|v| v.histogram.len().to_string()),
        row("failed", &|v| v.failures.to_string()),
    ];
    let widths: Vec<Constraint> = std::iter::once(Constraint::Length(7))
        .chain(app.variants.iter().map(|_| Constraint::Length(11)))
        .collect();
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(Block::bordered().title(" Percentiles ")),
        area,
    );
}

fn breakdown(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let block = Block::bordered().title(" INIT breakdown, mean ms (d: imports by package) ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // Each variant's means once per frame; the bars, totals and legend all read them.
    let all_means: Vec<Vec<(String, f64)>> = app.variants.iter().map(VariantState::segment_means_ms).collect();
    let scale_ms = all_means
        .iter()
        .map(|means| means.iter().map(|(_, ms)| ms.max(0.0)).sum::<f64>())
        .fold(1.0_f64, f64::max);
    let label_width = app.variants.iter().map(|v| v.name.len()).max().unwrap_or(4).min(12) as u16 + 1;
    let bar_width = inner.width.saturating_sub(label_width + 12).max(10);
    let mut lines = Vec::new();
    let mut legend: Vec<Span> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (i, (variant, means)) in app.variants.iter().zip(&all_means).enumerate() {
        let mut spans = vec![Span::styled(
            format!(
                "{:<w$}",
                variant.name.chars().take(12).collect::<String>(),
                w = label_width as usize
            ),
            theme.variant(i),
        )];
        let mut used = 0_u16;
        for (name, ms) in means {
            let position = names.iter().position(|n| n == name).unwrap_or_else(|| {
                names.push(name.clone());
                names.len() - 1
            });
            let cells = ((ms.max(0.0) / scale_ms) * f64::from(bar_width)).round() as u16;
            let cells = cells.min(bar_width - used);
            used += cells;
            spans.push(Span::styled(
                theme.segment_char(position).to_string().repeat(cells as usize),
                theme.segment(position),
            ));
        }
        let total: f64 = means.iter().map(|(_, ms)| ms).sum();
        spans.push(Span::raw(format!(
            "{:>w$}",
            format_ms(total),
            w = (bar_width - used) as usize + 11
        )));
        lines.push(Line::from(spans));
    }
    for (position, name) in names.iter().enumerate() {
        let values: Vec<Option<f64>> = all_means
            .iter()
            .map(|means| means.iter().find(|(n, _)| n == name).map(|(_, ms)| *ms))
            .collect();
        // A segment that is zero up to float noise everywhere (unattributed, typically)
        // says nothing; a tiny negative remainder must not read as negative time.
        if values.iter().all(|v| v.is_none_or(|ms| ms.abs() < 0.05)) {
            continue;
        }
        let ms: Vec<String> = values
            .iter()
            .map(|v| v.map_or_else(|| "–".to_owned(), |ms| format!("{:.1}", ms.max(0.0))))
            .collect();
        legend.push(Span::styled(
            theme.segment_char(position).to_string(),
            theme.segment(position),
        ));
        legend.push(Span::raw(format!(" {name} {}  ", ms.join(" / "))));
    }
    if names.is_empty() {
        lines.push(Line::from(Span::styled(
            "segments appear after the first successful cold start",
            theme.dim(),
        )));
    }
    // The difference comes before the legend: when rows run short, the legend wraps
    // away, not the answer.
    let mut paragraph_lines = lines;
    if let Some((diff, ci)) = &app.diff {
        let interval = ci.map_or_else(String::new, |i| {
            format!(" (95% CI {} … {})", format_ms(i.low), format_ms(i.high))
        });
        paragraph_lines.push(Line::from(format!(
            "{} − {}: median Init {}{:}{interval}",
            app.variants[0].name,
            app.variants.get(1).map_or("", |v| v.name.as_str()),
            if *diff >= 0.0 { "+" } else { "" },
            format_ms(*diff)
        )));
    }
    paragraph_lines.push(Line::from(legend));
    frame.render_widget(Paragraph::new(paragraph_lines).wrap(Wrap { trim: true }), inner);
}

fn tree_lines(node: &ImportNode, depth: usize, out: &mut Vec<String>) {
    out.push(format!(
        "{:>9.2} {:>9.2}  {}{}",
        node.cumulative_us as f64 / 1000.0,
        node.self_us as f64 / 1000.0,
        "  ".repeat(depth),
        node.name
    ));
    for child in &node.children {
        tree_lines(child, depth + 1, out);
    }
}

fn panel(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let popup = Rect {
        x: area.x + 2,
        y: area.y + 1,
        width: area.width.saturating_sub(4),
        height: area.height.saturating_sub(2),
    };
    match &app.panel {
        Panel::None => {}
        Panel::Packages { variant, selected } => {
            let Some((sample_index, attribution)) = app.pinned.as_ref() else {
                return;
            };
            let visible = popup.height.saturating_sub(3) as usize;
            let start = selected.saturating_sub(visible.saturating_sub(1));
            let rows: Vec<Row> = attribution
                .packages
                .iter()
                .enumerate()
                .skip(start)
                .take(visible)
                .map(|(i, p)| {
                    let row = Row::new(vec![
                        p.package.clone(),
                        format!("{:.2}", p.self_ms),
                        format!("{:.2}", p.subtree_ms),
                        p.modules.to_string(),
                    ]);
                    if i == *selected {
                        row.style(theme.selected())
                    } else {
                        row
                    }
                })
                .collect();
            let title = format!(
                " Imports of {} by package, cold start #{} — Enter: tree, d: next function, Esc: close ",
                app.variants[*variant].name,
                sample_index + 1
            );
            frame.render_widget(Clear, popup);
            frame.render_widget(
                Table::new(
                    rows,
                    [
                        Constraint::Min(20),
                        Constraint::Length(10),
                        Constraint::Length(12),
                        Constraint::Length(8),
                    ],
                )
                .header(Row::new(vec!["package", "own ms", "with deps ms", "modules"]).style(theme.title()))
                .block(Block::bordered().title(title)),
                popup,
            );
        }
        Panel::ImportTree {
            variant,
            package,
            scroll,
            ..
        } => {
            let Some((sample_index, attribution)) = app.pinned.as_ref() else {
                return;
            };
            let mut lines = vec!["  cum ms   self ms  module".to_owned()];
            if let Some(p) = attribution.packages.iter().find(|p| &p.package == package) {
                for root in &p.roots {
                    tree_lines(root, 0, &mut lines);
                }
            }
            let text: Vec<Line> = lines
                .into_iter()
                .enumerate()
                .filter(|(i, _)| *i == 0 || *i > *scroll)
                .map(|(_, l)| Line::from(l))
                .collect();
            frame.render_widget(Clear, popup);
            frame.render_widget(
                Paragraph::new(text).block(Block::bordered().title(format!(
                    " Import tree of {package} in {} cold start #{} — ↑↓ scroll, Esc: back ",
                    app.variants[*variant].name,
                    sample_index + 1
                ))),
                popup,
            );
        }
        Panel::Failures { selected } => {
            let Some(failure) = app.failures.get(*selected) else {
                return;
            };
            let mut lines = vec![
                Line::from(Span::styled(
                    format!(
                        "{} cold start #{}: {}",
                        failure.function, failure.sample_index, failure.outcome
                    ),
                    theme.bad(),
                )),
                Line::from(failure.message.clone()),
                Line::from(""),
            ];
            lines.extend(failure.stderr_tail.lines().map(|l| Line::from(l.to_owned())));
            let title = format!(
                " Failure {} of {} (all {} counted) — ↑↓ browse, Esc: close ",
                selected + 1,
                app.failures.len(),
                app.variants.iter().map(|v| v.failures).sum::<usize>()
            );
            frame.render_widget(Clear, popup);
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .block(Block::bordered().title(title)),
                popup,
            );
        }
    }
}

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let breakdown_height = (app.variants.len() as u16 + 5).min(8);
    let [controls, middle, bottom] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(8),
        Constraint::Length(breakdown_height),
    ])
    .areas(area);

    let subject = &app.functions[app.subject].name;
    let control = app.variants.get(1).map_or("none", |v| v.name.as_str());
    let [config, progress] = Layout::horizontal([Constraint::Min(40), Constraint::Length(16)]).areas(controls);
    // The share the last cold start really ran under: a run without cgroups says so in
    // the header instead of showing a vCPU figure that was never applied.
    let cpu = match &app.throttling {
        None | Some(Throttling::Applied) => Span::raw(format!("{:.2} vCPU", cpu_cores_for(app.memory_mb()))),
        Some(Throttling::Disabled) => Span::styled("unthrottled", theme.warn()),
        Some(Throttling::Unavailable(_)) => Span::styled("NOT throttled", theme.bad()),
    };
    if let Some(url) = &app.attached {
        // Attached: what runs is up to serve's clients; the header says whose invocations
        // these are, and the counter counts them.
        let names: Vec<Span> = app
            .variants
            .iter()
            .enumerate()
            .flat_map(|(i, v)| [Span::styled(v.name.clone(), theme.variant(i)), Span::raw(" ")])
            .collect();
        let mut line = vec![Span::raw(format!("{url}  "))];
        line.extend(names);
        frame.render_widget(
            Paragraph::new(Line::from(line)).block(Block::bordered().title(" Attached to coldfront serve ")),
            config,
        );
        let warm: usize = app.variants.iter().map(|v| v.warm_ms.len()).sum();
        frame.render_widget(
            Paragraph::new(format!("{} / {warm}", app.completed))
                .centered()
                .block(Block::bordered().title(" cold / warm ")),
            progress,
        );
    } else {
        let config_text = Line::from(vec![
            Span::styled(subject.clone(), theme.variant(0)),
            Span::raw(" (s) vs "),
            Span::styled(control.to_owned(), theme.variant(1)),
            Span::raw(format!(" (c)  {} MB ", app.memory_mb())),
            cpu,
            Span::raw(format!(" (m)  {} each (+/-)", app.target())),
        ]);
        frame.render_widget(
            Paragraph::new(config_text).block(Block::bordered().title(" Run: r start  p pause  x stop ")),
            config,
        );
        let ratio = if app.planned == 0 {
            0.0
        } else {
            (app.completed as f64 / app.planned as f64).min(1.0)
        };
        frame.render_widget(
            Gauge::default()
                .block(Block::bordered().title(" Progress "))
                .ratio(ratio)
                .label(format!("{}/{}", app.completed, app.planned))
                .gauge_style(theme.good()),
            progress,
        );
    }

    let [charts, table] = Layout::horizontal([
        Constraint::Min(40),
        Constraint::Length(8 + 11 * app.variants.len() as u16 + 2),
    ])
    .areas(middle);
    // Histograms first; the CDF below them when there are rows enough for both.
    let (histogram_area, cdf_area) = if charts.height >= 12 {
        let [top, bottom] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts);
        (top, Some(bottom))
    } else {
        (charts, None)
    };
    let chart_areas = Layout::horizontal(
        app.variants
            .iter()
            .map(|_| Constraint::Ratio(1, app.variants.len() as u32)),
    )
    .split(histogram_area);
    for (i, variant) in app.variants.iter().enumerate() {
        histogram_chart(frame, chart_areas[i], variant, i, theme);
    }
    if let Some(cdf_area) = cdf_area {
        cdf_chart(frame, cdf_area, app, theme);
    }
    percentiles(frame, table, app, theme);
    breakdown(frame, bottom, app, theme);
    panel(frame, area, app, theme);
}
