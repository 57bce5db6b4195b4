//! The help overlay: every key, by view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::ui::theme::Theme;

/// Every key the UI understands, grouped; also the source of the README's key list.
pub(crate) const KEYS: &[(&str, &[(&str, &str)])] = &[
    (
        "Everywhere",
        &[
            ("1 2 3 / Tab", "switch view"),
            ("e", "export the benchmark and design pages"),
            ("?", "this help (any key closes)"),
            ("q / Ctrl-C", "quit (a run in progress is stopped and kept)"),
        ],
    ),
    (
        "Cold starts",
        &[
            ("r / Enter", "start a run"),
            ("p / x", "pause or resume / stop (the cold start in progress is kept)"),
            ("s / c / m", "next subject / control / memory size"),
            ("+ / -", "more / fewer cold starts per function"),
            ("d", "imports by package (again: the next function)"),
            ("↑ ↓ Enter", "choose a package, open its import tree"),
            ("f", "failed cold starts"),
            ("Esc", "close the panel"),
        ],
    ),
    (
        "Cache",
        &[
            ("↑ ↓ / ← →", "choose a setting / change it (results update at once)"),
            ("u", "use the cold starts measured in view 1 for the origin"),
            ("PgUp PgDn", "scroll the results (every cost line is there)"),
            ("g", "TTL curves instead of the results, on small terminals"),
            ("S", "run the simulator in the background (again to cancel)"),
        ],
    ),
    ("Edge auth", &[("r", "measure again")]),
];

pub(super) fn draw(frame: &mut Frame, area: Rect, theme: Theme) {
    let mut lines = Vec::new();
    for (group, keys) in KEYS {
        lines.push(Line::from(Span::styled(*group, theme.title())));
        for (key, what) in *keys {
            lines.push(Line::from(format!("  {key:<11} {what}")));
        }
    }
    let height = (lines.len() as u16 + 2).min(area.height);
    let popup = super::centred(area, 78, height);
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(" Keys ")), popup);
}
