//! The interactive terminal UI: live cold-start runs with latency histograms, the cache
//! model to toggle, and the edge-auth comparison.
//!
//! One `tokio::select!` loop over a frame tick, key presses and worker messages (oha's
//! shape, without its `process::exit`): messages are folded into the model with
//! [`app::update`], side effects run as tasks that report back over the same channel, and
//! only the latest state is drawn, at most once per tick. Measurement never runs on this
//! loop, so the UI never blocks on it.

pub(crate) mod app;
mod attach;
pub(crate) mod bench;
pub(crate) mod cache;
pub(crate) mod edge;
mod export;
pub(crate) mod testing;
#[cfg(test)]
mod tests;
pub(crate) mod theme;
pub(crate) mod views;
mod workers;

use std::io::IsTerminal as _;
use std::time::Duration;

use anyhow::Context as _;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tokio::sync::mpsc;

use app::{App, KeyInput, Message};

/// Frames per second while something changes; the tick also refreshes histograms.
const FRAME_PERIOD: Duration = Duration::from_millis(100);

fn key_input(key: KeyEvent) -> Option<KeyInput> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    Some(match key.code {
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => KeyInput::CtrlC,
        KeyCode::Char(c) => KeyInput::Char(c),
        KeyCode::Enter => KeyInput::Enter,
        KeyCode::Esc => KeyInput::Esc,
        KeyCode::Tab => KeyInput::Tab,
        KeyCode::BackTab => KeyInput::BackTab,
        KeyCode::Up => KeyInput::Up,
        KeyCode::Down => KeyInput::Down,
        KeyCode::Left => KeyInput::Left,
        KeyCode::Right => KeyInput::Right,
        KeyCode::Backspace => KeyInput::Backspace,
        KeyCode::PageUp => KeyInput::PageUp,
        KeyCode::PageDown => KeyInput::PageDown,
        _ => return None,
    })
}

/// Runs the TUI on the given functions until the user quits; attached to a running
/// `coldfront serve` (`http://HOST:PORT`) it shows that server's invocations instead.
pub(crate) async fn run(functions: Vec<init_trace::spec::FunctionSpec>, attach: Option<String>) -> anyhow::Result<u8> {
    let attach = attach
        .map(|url| attach::address_of(&url).map(|address| (url, address)))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "the interactive UI needs a terminal; use a subcommand (`coldfront run`, `coldfront trace`, `coldfront cdn`, `coldfront auth`) for headless work"
        );
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let mut app = App::new(functions, cache::CacheState::new(), edge::EdgeState::new());
    let mut workers = workers::Workers::new(tx.clone());
    if let Some((url, address)) = attach {
        app.attach(&url);
        attach::spawn_poller(address, tx.clone());
    }

    // Key presses come from a thread blocked in crossterm's read; the loop never waits on it.
    let keys = tx.clone();
    std::thread::Builder::new()
        .name("coldfront-keys".to_owned())
        .spawn(move || {
            while let Ok(event) = event::read() {
                let message = match event {
                    Event::Key(key) => key_input(key).map(Message::Key),
                    Event::Resize(..) => Some(Message::Resize),
                    _ => None,
                };
                if let Some(message) = message
                    && keys.send(message).is_err()
                {
                    return;
                }
            }
        })
        .context("cannot start the key reader")?;

    // ratatui::init enters raw mode and the alternate screen and installs a panic hook that
    // restores the terminal before the panic message prints.
    let mut terminal = ratatui::init();
    let theme = theme::Theme::from_env();
    let mut tick = tokio::time::interval(FRAME_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let result: anyhow::Result<()> = async {
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Some(effect) = app::update(&mut app, Message::Tick) {
                        workers.perform(effect, &app);
                    }
                    if dirty {
                        terminal.draw(|frame| views::draw(frame, &app, theme)).context("cannot draw")?;
                        dirty = app.running() || app.cache.busy() || app.edge.busy();
                    }
                }
                Some(message) = rx.recv() => {
                    if let Some(effect) = app::update(&mut app, message) {
                        workers.perform(effect, &app);
                    }
                    // Burst of messages: fold them all, draw once on the next tick.
                    while let Ok(message) = rx.try_recv() {
                        if let Some(effect) = app::update(&mut app, message) {
                            workers.perform(effect, &app);
                        }
                    }
                    dirty = true;
                }
            }
            if app.quit {
                return Ok(());
            }
        }
    }
    .await;
    ratatui::restore();
    workers.shutdown().await;
    result?;
    Ok(crate::exit::OK)
}
