//! Colours, or none: `NO_COLOR` turns every style into the terminal's default.

use ratatui::style::{Color, Modifier, Style};

/// The styles the views use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Theme {
    colour: bool,
}

/// Colours for stacked segments, in segment order.
const SEGMENT_COLOURS: &[Color] = &[
    Color::Blue,
    Color::LightRed,
    Color::Green,
    Color::Magenta,
    Color::Yellow,
    Color::Cyan,
    Color::Gray,
];

impl Theme {
    /// Colour unless `NO_COLOR` is set (to anything).
    pub(crate) fn from_env() -> Self {
        Self {
            colour: std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// A theme without colour (tests, `NO_COLOR`).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn monochrome() -> Self {
        Self { colour: false }
    }

    fn fg(self, colour: Color) -> Style {
        if self.colour {
            Style::default().fg(colour)
        } else {
            Style::default()
        }
    }

    #[allow(clippy::unused_self)] // Bold reads without colour too; kept a method like the others.
    pub(crate) fn title(self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub(crate) fn selected(self) -> Style {
        if self.colour {
            Style::default().fg(Color::Black).bg(Color::Cyan)
        } else {
            Style::default().add_modifier(Modifier::REVERSED)
        }
    }

    pub(crate) fn dim(self) -> Style {
        if self.colour {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default()
        }
    }

    pub(crate) fn good(self) -> Style {
        self.fg(Color::Green)
    }

    pub(crate) fn bad(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub(crate) fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }

    pub(crate) fn variant(self, index: usize) -> Style {
        self.fg(if index == 0 { Color::LightRed } else { Color::Cyan })
    }

    /// The style of the n-th segment of a stacked bar; without colour, bars use distinct
    /// characters instead (see `segment_char`).
    pub(crate) fn segment(self, index: usize) -> Style {
        self.fg(SEGMENT_COLOURS[index % SEGMENT_COLOURS.len()])
    }

    /// The fill character of the n-th segment: distinct shapes keep segments apart without
    /// colour.
    pub(crate) fn segment_char(self, index: usize) -> char {
        if self.colour {
            '█'
        } else {
            ['█', '▓', '▒', '░', '#', '=', '-'][index % 7]
        }
    }
}
