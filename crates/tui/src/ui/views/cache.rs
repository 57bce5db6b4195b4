//! The cache view: settings on the left (↑↓ choose, ←→ change), results on the right,
//! recomputed on every change; the background simulation's progress and result below.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, Paragraph, Row, Table, Wrap};

use crate::ui::app::App;
use crate::ui::cache::{SETTINGS, SimState};
use crate::ui::theme::Theme;

fn percent(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let state = &app.cache;
    let [top, bottom] = Layout::vertical([Constraint::Min(15), Constraint::Length(4)]).areas(area);
    let [left, right] = Layout::horizontal([Constraint::Length(42), Constraint::Min(30)]).areas(top);
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
        left,
    );

    let mut lines = Vec::new();
    if let Some(error) = &state.error {
        lines.push(Line::from(Span::styled(error.clone(), theme.bad())));
    }
    if let Some(evaluation) = &state.evaluation {
        let r = &evaluation.chosen;
        let l = &r.latency;
        lines.push(Line::from(Span::styled(r.name.clone(), theme.title())));
        lines.push(Line::from(format!(
            "hit ratio   page {}  all {}",
            percent(r.page_hit_ratio),
            percent(r.overall_hit_ratio)
        )));
        lines.push(Line::from(format!(
            "stale reads {}  worst {:.0} s",
            percent(r.stale_read_probability),
            r.worst_case_staleness_s
        )));
        lines.push(Line::from(format!(
            "origin      {:.2} requests/s",
            r.origin_requests_per_s
        )));
        lines.push(Line::from(format!(
            "invalidate  {} paths/month",
            cdn_design::thousands(r.invalidation_paths_per_month)
        )));
        lines.push(Line::from(format!(
            "latency     p50 {:.0}  p90 {:.0}  p99 {:.0} ms",
            l.p50_ms, l.p90_ms, l.p99_ms
        )));
        lines.push(Line::from(format!(
            "cold starts {} of origin requests",
            percent(l.origin_cold_start_probability)
        )));
        lines.push(Line::from(Span::styled(
            format!("origin latencies: {}", l.origin_latency_source),
            theme.dim(),
        )));
        lines.push(Line::from(Span::styled(
            format!("cost        {}/month", cdn_design::usd(r.cost.total_usd_per_month)),
            theme.title(),
        )));
        for line in r.cost.lines.iter().filter(|line| line.usd_per_month >= 0.005).take(5) {
            lines.push(Line::from(format!(
                "  {} {}",
                cdn_design::usd(line.usd_per_month),
                line.item
            )));
        }
        lines.push(Line::from(Span::styled(
            format!(
                "evaluated in {:.1} ms ({} page objects)",
                state.evaluated_in_ms,
                cdn_design::thousands(evaluation.page_objects as f64)
            ),
            theme.dim(),
        )));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" Results (analytic) ")),
        right,
    );

    let block = Block::bordered().title(" Simulation: S run / cancel (5 M requests from the model) ");
    match &state.sim {
        SimState::Idle => frame.render_widget(
            Paragraph::new("not run; the analytic results above need no simulation").block(block),
            bottom,
        ),
        SimState::Running { fraction } => frame.render_widget(
            Gauge::default()
                .block(block)
                .ratio(fraction.clamp(0.0, 1.0))
                .gauge_style(theme.good()),
            bottom,
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
            bottom,
        ),
        SimState::Failed(reason) => frame.render_widget(
            Paragraph::new(Span::styled(reason.clone(), theme.bad())).block(block),
            bottom,
        ),
    }
}
