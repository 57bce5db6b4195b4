//! `coldfront bench-ui`: the UI measured on itself, for `cargo xtask bench`. Render mode
//! draws frames of the cold-starts view into ratatui's `TestBackend` with a million
//! recorded samples; memory mode folds ten thousand cold starts into the model, as a
//! long session would, and reports the process's peak RSS.

use std::time::Instant;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

use super::app::{App, KeyInput, Message, update};
use super::cache::CacheState;
use super::edge::EdgeState;
use super::testing::{functions, sample};
use super::theme::Theme;
use crate::cli::BenchUiArgs;
use crate::output::outln;

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

pub(crate) fn run(args: &BenchUiArgs) -> anyhow::Result<u8> {
    let mut app = App::new(functions(), CacheState::new(), EdgeState::new());
    update(&mut app, Message::Key(KeyInput::Char('r')));
    let result = if args.mode == "memory" {
        for i in 0..args.samples {
            let (name, init_ms) = if i % 2 == 0 {
                ("wiki", 400.0 + (i % 97) as f64)
            } else {
                ("control", 40.0 + (i % 13) as f64)
            };
            update(&mut app, Message::Sample(Box::new(sample(name, i, init_ms))));
            if i % 64 == 0 {
                update(&mut app, Message::Tick);
            }
        }
        json!({"mode": "memory", "cold_starts": args.samples, "peak_rss_mb": peak_rss_mb()})
    } else {
        let mut recorders: Vec<_> = (0..app.variants.len()).map(|i| app.recorder(i)).collect();
        for i in 0..args.samples {
            let variant = (i % 2) as usize;
            let ms = if variant == 0 {
                300.0 + (i % 1_000) as f64 * 0.7
            } else {
                35.0 + (i % 100) as f64 * 0.2
            };
            recorders[variant].saturating_record((ms * 1000.0) as u64);
        }
        drop(recorders);
        for i in 0..200 {
            update(
                &mut app,
                Message::Sample(Box::new(sample(
                    if i % 2 == 0 { "wiki" } else { "control" },
                    i,
                    300.0 + i as f64,
                ))),
            );
        }
        update(&mut app, Message::Tick);
        let mut terminal = Terminal::new(TestBackend::new(args.width, args.height))?;
        let mut frame_ms = Vec::with_capacity(args.frames as usize);
        for _ in 0..args.frames {
            let started = Instant::now();
            terminal.draw(|frame| super::views::draw(frame, &app, Theme::from_env()))?;
            frame_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        frame_ms.sort_by(f64::total_cmp);
        json!({
            "mode": "render",
            "recorded_samples": app.variants.iter().map(|v| v.histogram.len()).sum::<u64>(),
            "width": args.width,
            "height": args.height,
            "frames": args.frames,
            "frame_ms_median": frame_ms[frame_ms.len() / 2],
            "frame_ms_mean": frame_ms.iter().sum::<f64>() / frame_ms.len() as f64,
            "frame_ms_max": frame_ms[frame_ms.len() - 1],
        })
    };
    outln!("{result}");
    Ok(crate::exit::OK)
}
