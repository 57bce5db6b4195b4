//! The cache view: settings on the left (↑↓ choose, ←→ change), results on the right,
//! recomputed on every change, with every cost line (PgUp/PgDn scroll); hit ratio, stale
//! reads and monthly cost against the page TTL below them (or instead of the results on a
//! small terminal, `g`); the background simulation's progress and result at the bottom.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, Gauge, GraphType, LegendPosition, Paragraph, Row, Table, Wrap};

use crate::ui::app::App;
use crate::ui::cache::{CURVE_TTL_RANGE_S, CacheState, SETTINGS, SimState, TtlPoint};
use crate::ui::theme::Theme;

/// Rows the settings table needs: one per setting and its border.
const SETTINGS_HEIGHT: u16 = SETTINGS.len() as u16 + 2;
/// The smallest chart worth drawing.
const CHART_MIN_HEIGHT: u16 = 8;
const SIMULATION_HEIGHT: u16 = 3;

fn percent(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let state = &app.cache;
    // By priority: settings and results always; the curves below them when the rows
    // allow, else in place of the results on `g`; the simulation line last.
    let curves_below = area.height >= SETTINGS_HEIGHT + CHART_MIN_HEIGHT + SIMULATION_HEIGHT;
    let (top, curves, bottom) = if curves_below {
        let [top, curves, bottom] = Layout::vertical([
            Constraint::Length(SETTINGS_HEIGHT.max(area.height / 3)),
            Constraint::Min(CHART_MIN_HEIGHT),
            Constraint::Length(SIMULATION_HEIGHT),
        ])
        .areas(area);
        (top, Some(curves), bottom)
    } else {
        let [top, bottom] =
            Layout::vertical([Constraint::Min(SETTINGS_HEIGHT), Constraint::Length(SIMULATION_HEIGHT)]).areas(area);
        (top, None, bottom)
    };
    let [left, right] = Layout::horizontal([Constraint::Length(42), Constraint::Min(30)]).areas(top);
    settings(frame, left, state, theme);
    match curves {
        Some(curves) => {
            results(frame, right, state, theme, false);
            let [hits, cost] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(curves);
            hit_chart(frame, hits, state, theme);
            cost_chart(frame, cost, state, theme);
        }
        None if state.show_curves => {
            let [hits, cost] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(right);
            hit_chart(frame, hits, state, theme);
            cost_chart(frame, cost, state, theme);
        }
        None => results(frame, right, state, theme, true),
    }
    simulation(frame, bottom, state, theme);
}

fn settings(frame: &mut Frame, area: Rect, state: &CacheState, theme: Theme) {
    let rows: Vec<Row> = SETTINGS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let row = Row::new(vec![(*name).to_owned(), state.value(i)]);
            if i == state.selected {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    frame.render_widget(
        Table::new(rows, [Constraint::Length(22), Constraint::Min(10)])
            .block(Block::bordered().title(" Settings: ↑↓ choose, ←→ change ")),
        area,
    );
}

fn results(frame: &mut Frame, area: Rect, state: &CacheState, theme: Theme, curves_on_g: bool) {
    let mut lines = Vec::new();
    if let Some(error) = &state.error {
        lines.push(Line::from(Span::styled(error.clone(), theme.bad())));
    }
    if let Some(evaluation) = &state.evaluation {
        let r = &evaluation.chosen;
        let l = &r.latency;
        lines.push(Line::from(Span::styled(r.name.clone(), theme.title())));
        lines.push(Line::from(format!(
            "hit ratio  page {}  all {}",
            percent(r.page_hit_ratio),
            percent(r.overall_hit_ratio)
        )));
        lines.push(Line::from(format!(
            "stale      {} of reads, worst {:.0}s",
            percent(r.stale_read_probability),
            r.worst_case_staleness_s
        )));
        lines.push(Line::from(format!(
            "origin     {:.2} requests/s",
            r.origin_requests_per_s
        )));
        lines.push(Line::from(format!(
            "invalidate {} paths/month",
            cdn_design::thousands(r.invalidation_paths_per_month)
        )));
        lines.push(Line::from(format!(
            "latency ms p50 {:.0}  p90 {:.0}  p99 {:.0}",
            l.p50_ms, l.p90_ms, l.p99_ms
        )));
        lines.push(Line::from(format!(
            "cold start {} of origin requests",
            percent(l.origin_cold_start_probability)
        )));
        lines.push(Line::from(Span::styled(
            format!("cost       {}/month", cdn_design::usd(r.cost.total_usd_per_month)),
            theme.title(),
        )));
        // Every line, however small: the total is their sum, and a reader checks it.
        for line in &r.cost.lines {
            lines.push(Line::from(format!(
                "  {:>9} {}",
                cdn_design::usd(line.usd_per_month),
                line.item
            )));
        }
        lines.push(Line::from(Span::styled(
            format!("origin latencies: {}", l.origin_latency_source),
            theme.dim(),
        )));
        lines.push(Line::from(Span::styled(
            format!(
                "evaluated in {:.1} ms ({} page objects)",
                state.evaluated_in_ms,
                cdn_design::thousands(evaluation.page_objects as f64)
            ),
            theme.dim(),
        )));
    }
    let title = if curves_on_g {
        " Results: PgDn more, g curves "
    } else {
        " Results (analytic): PgUp/PgDn scroll "
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .scroll((state.results_scroll, 0))
            .block(Block::bordered().title(title)),
        area,
    );
}

/// x on the TTL charts: log10 of the TTL in seconds.
fn ttl_x(ttl_s: f64) -> f64 {
    ttl_s.max(1.0).log10()
}

fn ttl_axis(theme: Theme) -> Axis<'static> {
    let (low, high) = CURVE_TTL_RANGE_S;
    Axis::default()
        .bounds([ttl_x(low), ttl_x(high)])
        .labels(["10 s", "15 min", "1 day"])
        .style(theme.dim())
}

/// The current TTL as a vertical line from `0` to `top`, when it is on the axis.
fn current_ttl_marker(state: &CacheState, top: f64) -> Option<[(f64, f64); 2]> {
    let ttl_s = state.model.as_ref()?.cache.page_ttl_s;
    let (low, high) = CURVE_TTL_RANGE_S;
    (low..=high)
        .contains(&ttl_s)
        .then(|| [(ttl_x(ttl_s), 0.0), (ttl_x(ttl_s), top)])
}

/// The chart's title, naming the current TTL; shortened deliberately when the full one
/// would be cut.
fn ttl_title(state: &CacheState, what: &str, short: &str, width: u16) -> String {
    let full = match state.model.as_ref().map(|m| m.cache.page_ttl_s) {
        Some(ttl_s) if ttl_s < CURVE_TTL_RANGE_S.0 => format!(" {what} by page TTL (now {ttl_s:.0} s: off the axis) "),
        Some(ttl_s) => format!(" {what} by page TTL (│ now {ttl_s:.0} s) "),
        None => format!(" {what} by page TTL "),
    };
    if full.chars().count() + 2 <= usize::from(width) {
        return full;
    }
    match state.model.as_ref().map(|m| m.cache.page_ttl_s) {
        Some(ttl_s) => format!(" {short} (│ TTL {ttl_s:.0} s) "),
        None => format!(" {short} "),
    }
}

fn curve(points: &[TtlPoint], value: impl Fn(&TtlPoint) -> f64) -> Vec<(f64, f64)> {
    points.iter().map(|p| (ttl_x(p.ttl_s), value(p))).collect()
}

fn line_dataset<'a>(name: &'static str, data: &'a [(f64, f64)], style: Style) -> Dataset<'a> {
    Dataset::default()
        .name(name)
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(style)
        .data(data)
}

fn hit_chart(frame: &mut Frame, area: Rect, state: &CacheState, theme: Theme) {
    let hits = curve(&state.curve, |p| 100.0 * p.page_hit_ratio);
    let stale = curve(&state.curve, |p| 100.0 * p.stale_read_share);
    let marker = current_ttl_marker(state, 100.0);
    let mut datasets = vec![
        line_dataset("page hit %", &hits, theme.variant(0)),
        line_dataset("stale reads %", &stale, theme.variant(1)),
    ];
    if let Some(marker) = &marker {
        datasets.push(line_dataset("now", marker, theme.dim()));
    }
    let chart = Chart::new(datasets)
        .block(Block::bordered().title(ttl_title(state, "Hit % and stale %", "hit %, stale %", area.width)))
        .x_axis(ttl_axis(theme))
        .y_axis(
            Axis::default()
                .bounds([0.0, 100.0])
                .labels(["0", "50", "100"])
                .style(theme.dim()),
        )
        .legend_position(Some(LegendPosition::TopLeft))
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)));
    frame.render_widget(chart, area);
}

fn cost_chart(frame: &mut Frame, area: Rect, state: &CacheState, theme: Theme) {
    let cost = curve(&state.curve, |p| p.cost_usd_per_month);
    let top = cost.iter().map(|(_, usd)| *usd).fold(0.0_f64, f64::max).max(0.01) * 1.1;
    let marker = current_ttl_marker(state, top);
    let mut datasets = vec![line_dataset("$/month", &cost, theme.variant(0))];
    if let Some(marker) = &marker {
        datasets.push(line_dataset("now", marker, theme.dim()));
    }
    let chart = Chart::new(datasets)
        .block(Block::bordered().title(ttl_title(state, "$/month", "$/month", area.width)))
        .x_axis(ttl_axis(theme))
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels(["$0".to_owned(), cdn_design::usd(top / 2.0), cdn_design::usd(top)])
                .style(theme.dim()),
        )
        .legend_position(None);
    frame.render_widget(chart, area);
}

fn simulation(frame: &mut Frame, area: Rect, state: &CacheState, theme: Theme) {
    let block = Block::bordered().title(" Simulation: S run / cancel (5 M requests from the model) ");
    match &state.sim {
        SimState::Idle => frame.render_widget(
            Paragraph::new("not run; the analytic results above need no simulation").block(block),
            area,
        ),
        SimState::Running { fraction } => frame.render_widget(
            Gauge::default()
                .block(block)
                .ratio(fraction.clamp(0.0, 1.0))
                .gauge_style(theme.good()),
            area,
        ),
        SimState::Done {
            report,
            analytic_hit_ratio,
        } => frame.render_widget(
            Paragraph::new(format!(
                "{} requests{}: hit ratio {} (analytic {}), stale reads {}",
                cdn_design::thousands(report.requests as f64),
                if report.cancelled { " (cancelled)" } else { "" },
                percent(report.hit_ratio),
                percent(*analytic_hit_ratio),
                percent(report.stale_read_probability)
            ))
            .block(block),
            area,
        ),
        SimState::Failed(reason) => frame.render_widget(
            Paragraph::new(Span::styled(reason.clone(), theme.bad())).block(block),
            area,
        ),
    }
}
