//! The cold-starts view: run controls and progress, an Init Duration histogram per
//! function side by side (log-scaled buckets), percentiles, the stacked INIT breakdown
//! and the subject − control difference; panels for imports by package, a package's
//! import tree, and failed cold starts.

use hdrhistogram::Histogram;
use init_trace::evidence::importtime::ImportNode;
use init_trace::local::cpu_cores_for;
use init_trace::stats::format_ms;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Clear, Gauge, Paragraph, Row, Table, Wrap};

use crate::ui::app::{App, Panel, VariantState};
use crate::ui::theme::Theme;

/// Most bars a histogram draws.
const MAX_BUCKETS: usize = 24;

fn edge_label(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.0}s", ms / 1_000.0)
    } else if ms >= 1_000.0 {
        format!("{:.1}s", ms / 1_000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0}")
    } else {
        format!("{ms:.1}")
    }
}

/// Counts in log-scaled buckets spanning the recorded range, so a run of 40 ms control
/// starts and one of 4 s starts both fill the chart. Each label is the bucket's lower edge.
fn buckets(histogram: &Histogram<u64>, count: usize) -> Vec<(String, u64)> {
    if histogram.is_empty() {
        return Vec::new();
    }
    let low_us = (histogram.min() as f64 * 0.95).max(1.0);
    let high_us = (histogram.max() as f64 * 1.05).max(low_us * 1.5);
    let count = count.clamp(1, MAX_BUCKETS);
    let ratio = (high_us / low_us).powf(1.0 / count as f64);
    (0..count)
        .map(|i| {
            let low = low_us * ratio.powi(i as i32);
            let high = low * ratio;
            (
                edge_label(low / 1000.0),
                histogram.count_between(low as u64, (high as u64).saturating_sub(1).max(low as u64)),
            )
        })
        .collect()
}

fn histogram_chart(frame: &mut Frame, area: Rect, variant: &VariantState, index: usize, theme: Theme) {
    let histogram: &Histogram<u64> = &variant.histogram;
    let block = Block::bordered().title(Line::from(vec![
        Span::styled(format!(" {} ", variant.name), theme.variant(index)),
        Span::raw(format!("Init Duration, ms, n={} ", histogram.len())),
    ]));
    let inner_width = area.width.saturating_sub(2);
    // Labels need about five columns; fewer, wider bars when the panel is narrow.
    let bar_width: u16 = 5;
    let data = buckets(histogram, usize::from(inner_width / (bar_width + 1)));
    if data.is_empty() {
        frame.render_widget(Paragraph::new("no cold starts yet").block(block), area);
        return;
    }
    let bars: Vec<Bar> = data
        .iter()
        .map(|(label, count)| {
            Bar::default()
                .value(*count)
                .label(Line::from(label.clone()))
                .style(theme.variant(index))
        })
        .collect();
    let chart = BarChart::default()
        .block(block)
        .bar_width(bar_width)
        .bar_gap(1)
        .data(BarGroup::default().bars(&bars));
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
        let ms: Vec<String> = all_means
            .iter()
            .map(|means| {
                means
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or_else(|| "–".to_owned(), |(_, ms)| format_ms(*ms))
            })
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
    let mut paragraph_lines = lines;
    paragraph_lines.push(Line::from(legend));
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
            variant, package, scroll, ..
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
                Paragraph::new(text)
                    .block(Block::bordered().title(format!(
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
    let [config, progress] = Layout::horizontal([Constraint::Min(40), Constraint::Length(28)]).areas(controls);
    let config_text = Line::from(vec![
        Span::raw("subject "),
        Span::styled(subject.clone(), theme.variant(0)),
        Span::raw(" (s)  control "),
        Span::styled(control.to_owned(), theme.variant(1)),
        Span::raw(format!(
            " (c)  {} MB {:.2} vCPU (m)  {} each (+/-)",
            app.memory_mb(),
            cpu_cores_for(app.memory_mb()),
            app.target()
        )),
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

    let [charts, table] = Layout::horizontal([
        Constraint::Min(40),
        Constraint::Length(8 + 11 * app.variants.len() as u16 + 2),
    ])
    .areas(middle);
    let chart_areas = Layout::horizontal(
        app.variants
            .iter()
            .map(|_| Constraint::Ratio(1, app.variants.len() as u32)),
    )
    .split(charts);
    for (i, variant) in app.variants.iter().enumerate() {
        histogram_chart(frame, chart_areas[i], variant, i, theme);
    }
    percentiles(frame, table, app, theme);
    breakdown(frame, bottom, app, theme);
    panel(frame, area, app, theme);
}
