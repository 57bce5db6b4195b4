//! Drawing: a pure function of the model. One file per view; this one lays out the frame
//! (tabs, body, status line) and the overlays (help, prompt).

mod auth;
mod cache;
mod cold_starts;
mod help;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Tabs, Wrap};

use super::app::{App, RunState, View};
use super::theme::Theme;

/// The smallest terminal the layout is designed for.
pub(crate) const MIN_WIDTH: u16 = 80;
/// The smallest terminal height the layout is designed for.
pub(crate) const MIN_HEIGHT: u16 = 24;

/// A rectangle of `width` × `height` centred in `area` (clamped to it).
pub(crate) fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// Draws the whole UI.
pub(crate) fn draw(frame: &mut Frame, app: &App, theme: Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "coldfront needs at least {MIN_WIDTH}×{MIN_HEIGHT}; this terminal is {}×{}. Enlarge it, or press q to quit.",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let [tabs_area, body, status_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)]).areas(area);
    let selected = View::ALL.iter().position(|v| *v == app.view).unwrap_or(0);
    let tabs = Tabs::new(View::ALL.iter().map(|v| v.title()))
        .select(selected)
        .highlight_style(theme.selected())
        .divider("│");
    let [tabs_left, tabs_right] = Layout::horizontal([Constraint::Min(0), Constraint::Length(26)]).areas(tabs_area);
    frame.render_widget(tabs, tabs_left);
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled("coldfront  ? help  q quit", theme.dim()))).right_aligned(),
        tabs_right,
    );

    match app.view {
        View::ColdStarts => cold_starts::draw(frame, body, app, theme),
        View::Cache => cache::draw(frame, body, app, theme),
        View::EdgeAuth => auth::draw(frame, body, app, theme),
    }

    let state = match &app.run {
        RunState::Idle => Span::styled("idle", theme.dim()),
        RunState::Running => Span::styled("running", theme.good()),
        RunState::Paused => Span::styled("paused", theme.warn()),
        RunState::Stopping => Span::styled("stopping", theme.warn()),
        RunState::Finished => Span::styled("finished", theme.good()),
        RunState::Stopped => Span::styled("stopped", theme.warn()),
        RunState::Failed(_) => Span::styled("failed", theme.bad()),
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw("["),
            state,
            Span::raw("] "),
            Span::raw(app.status.clone()),
        ])),
        status_area,
    );

    if app.help {
        help::draw(frame, area, theme);
    }
    if let Some(prompt) = &app.prompt {
        let popup = centred(area, 72, 5);
        frame.render_widget(Clear, popup);
        let text = vec![
            Line::from(format!("{}:", prompt.label)),
            Line::from(format!("{}▏", prompt.text)),
            Line::from(Span::styled("Enter writes, Esc cancels", theme.dim())),
        ];
        frame.render_widget(Paragraph::new(text).block(Block::bordered().title(" Export ")), popup);
    }
}
