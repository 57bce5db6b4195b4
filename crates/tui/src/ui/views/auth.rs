//! The edge-auth view: the three options side by side with measured per-request cost,
//! the generated function's size against CloudFront's 10 KB limit, and the RS256 verdict.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, Paragraph, Row, Table, Wrap};

use crate::ui::app::App;
use crate::ui::edge::{EdgeStatus, support};
use crate::ui::theme::Theme;

/// An option's name, abbreviated deliberately where the full one would be cut.
fn option_label(option: &str, table_width: u16) -> String {
    if table_width >= 100 {
        return option.to_owned();
    }
    option
        .replace("CloudFront signed cookies", "Signed cookies")
        .replace("CloudFront Function", "CF Function")
        .replace(" fallback)", ")")
}

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let comparison = match &app.edge.status {
        EdgeStatus::NotMeasured => {
            frame.render_widget(
                Paragraph::new("Not measured yet: press r").block(Block::bordered().title(" Edge auth ")),
                area,
            );
            return;
        }
        EdgeStatus::Measuring => {
            frame.render_widget(
                Paragraph::new("Measuring the generated CloudFront Functions and the validator…")
                    .block(Block::bordered().title(" Edge auth ")),
                area,
            );
            return;
        }
        EdgeStatus::Failed(reason) => {
            frame.render_widget(
                Paragraph::new(Span::styled(reason.clone(), theme.bad()))
                    .block(Block::bordered().title(" Edge auth: measurement failed (r retries) ")),
                area,
            );
            return;
        }
        EdgeStatus::Done(comparison) => comparison,
    };
    let [table_area, size_area, verdict_area] =
        Layout::vertical([Constraint::Length(7), Constraint::Length(3), Constraint::Min(4)]).areas(area);
    let rows: Vec<Row> = comparison
        .rows
        .iter()
        .map(|row| {
            Row::new(vec![
                option_label(&row.option, table_area.width),
                format!("{:.3}", row.latency_ms),
                format!("${:.2}", row.cost_usd_per_million),
                support(row.capabilities.rs256).to_owned(),
                support(row.capabilities.jwks).to_owned(),
                support(row.capabilities.claim_checks).to_owned(),
                support(row.capabilities.key_rotation).to_owned(),
            ])
        })
        .collect();
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Min(22),
                Constraint::Length(9),
                Constraint::Length(8),
                Constraint::Length(6),
                Constraint::Length(6),
                Constraint::Length(7),
                Constraint::Length(8),
            ],
        )
        .header(
            Row::new(vec![
                "option", "ms/req", "$/M req", "RS256", "JWKS", "claims", "rotation",
            ])
            .style(theme.title()),
        )
        .block(Block::bordered().title(" Four ways to authorise at the edge (r measures again) ")),
        table_area,
    );
    let ratio = comparison.function_size_bytes as f64 / comparison.function_limit_bytes as f64;
    frame.render_widget(
        Gauge::default()
            .block(Block::bordered().title(" Generated RS256 CloudFront Function size "))
            .ratio(ratio.min(1.0))
            .label(format!(
                "{} of {} bytes",
                comparison.function_size_bytes, comparison.function_limit_bytes
            ))
            .gauge_style(if ratio <= 1.0 { theme.good() } else { theme.bad() }),
        size_area,
    );
    let lines = vec![
        Line::from(Span::styled(comparison.verdict_summary.clone(), theme.title())),
        Line::from(format!(
            "budget {:.1} ms ({})",
            comparison.budget_ms, comparison.budget_provenance
        )),
    ];
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" RS256 verdict ")),
        verdict_area,
    );
}
