//! The model's `update` for every message, and snapshots of every view drawn into
//! ratatui's `TestBackend` after scripted keys with a fake sample source.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{App, Effect, KeyInput, Message, Panel, RunState, View, update};
use super::cache::{CacheEvent, CacheState, SimState};
use super::edge::{EdgeEvent, EdgeState, EdgeStatus};
use super::testing::{failed_sample, functions, sample};
use super::theme::Theme;

fn app() -> App {
    App::new(functions(), CacheState::new(), EdgeState::new())
}

fn key(app: &mut App, key: KeyInput) -> Option<Effect> {
    update(app, Message::Key(key))
}

/// Starts a run and feeds it fake samples through the same paths the worker uses:
/// histogram recorders and `Message::Sample`.
fn run_with_samples(app: &mut App, rounds: u64) {
    assert!(matches!(key(app, KeyInput::Char('r')), Some(Effect::StartRun { .. })));
    let mut recorders: Vec<_> = (0..app.variants.len()).map(|i| app.recorder(i)).collect();
    for round in 0..rounds {
        for (variant, name) in ["wiki", "control"].iter().enumerate() {
            let init_ms = if variant == 0 {
                400.0 + (round % 7) as f64 * 15.0
            } else {
                40.0 + (round % 5) as f64 * 2.0
            };
            recorders[variant].record((init_ms * 1000.0) as u64).expect("in range");
            update(
                app,
                Message::Sample(Box::new(sample(name, round * 2 + variant as u64, init_ms))),
            );
        }
    }
    drop(recorders);
    update(app, Message::RunEnded(Ok(())));
    update(app, Message::Tick);
}

fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| super::views::draw(frame, app, Theme::monochrome()))
        .expect("draw");
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

macro_rules! snapshot {
    ($name:expr, $text:expr) => {
        insta::assert_snapshot!($name, $text)
    };
}

/// The terminal sizes every main view is pinned at: the smallest supported, a common
/// laptop split, and a large screen.
const SIZES: [(u16, u16); 3] = [(80, 24), (100, 30), (200, 60)];

/// Replaces every value the views show that this machine measured (the cache model's
/// evaluation time) with a fixed one, before layout: a snapshot must not depend on the
/// machine's speed, not even through the width of a number.
fn steady(app: &mut App) {
    app.cache.evaluated_in_ms = 4.2;
}

#[test]
fn starts_on_the_cold_starts_view_with_wiki_against_control() {
    let app = app();
    assert_eq!(app.view, View::ColdStarts);
    assert_eq!(
        app.variants.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["wiki", "control"]
    );
    assert_eq!(app.memory_mb(), 512);
    assert_eq!(app.run, RunState::Idle);
}

#[test]
fn run_keys_start_pause_resume_and_stop() {
    let mut app = app();
    match key(&mut app, KeyInput::Char('r')) {
        Some(Effect::StartRun {
            subject,
            control,
            memory_mb,
            cold_starts,
        }) => {
            assert_eq!(
                (subject.name.as_str(), control.map(|c| c.name)),
                ("wiki", Some("control".to_owned()))
            );
            assert_eq!((memory_mb, cold_starts, subject.memory_mb), (512, 10, 512));
        }
        other => panic!("expected a run, got {other:?}"),
    }
    assert_eq!(app.planned, 20);
    assert_eq!(key(&mut app, KeyInput::Char('r')), None, "one run at a time");
    assert_eq!(key(&mut app, KeyInput::Char('p')), Some(Effect::Pause(true)));
    assert_eq!(app.run, RunState::Paused);
    assert_eq!(key(&mut app, KeyInput::Char('p')), Some(Effect::Pause(false)));
    assert_eq!(key(&mut app, KeyInput::Char('m')), None);
    assert_eq!(app.memory_mb(), 512, "memory cannot change mid-run");
    assert_eq!(key(&mut app, KeyInput::Char('x')), Some(Effect::StopRun));
    assert_eq!(app.run, RunState::Stopping);
    update(&mut app, Message::RunEnded(Ok(())));
    assert_eq!(
        app.run,
        RunState::Stopped,
        "a user stop is a stop, not a finish or a failure"
    );
    assert!(app.status.starts_with("Stopped after"), "{}", app.status);
    update(&mut app, Message::RunEnded(Err("disk full".to_owned())));
    assert_eq!(app.run, RunState::Failed("disk full".to_owned()));
    assert!(app.status.contains("disk full"));
}

#[test]
fn setup_keys_cycle_functions_memory_and_target() {
    let mut app = app();
    key(&mut app, KeyInput::Char('m'));
    assert_eq!(app.memory_mb(), 1024);
    key(&mut app, KeyInput::Char('+'));
    assert_eq!(app.target(), 20);
    key(&mut app, KeyInput::Char('-'));
    key(&mut app, KeyInput::Char('-'));
    assert_eq!(app.target(), 5);
    key(&mut app, KeyInput::Char('s'));
    assert_eq!(app.functions[app.subject].name, "control");
    assert_ne!(app.subject, app.control, "subject and control never coincide");
    key(&mut app, KeyInput::Char('c'));
    assert_ne!(app.subject, app.control);
}

#[test]
fn samples_fill_histograms_breakdown_and_difference() {
    let mut app = app();
    run_with_samples(&mut app, 12);
    assert_eq!(app.completed, 24);
    assert_eq!(app.variants[0].histogram.len(), 12);
    let means = app.variants[0].segment_means_ms();
    let names: Vec<&str> = means.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "runtime start",
            "imports",
            "handler init",
            "runtime api",
            "unattributed"
        ]
    );
    let total: f64 = means.iter().map(|(_, ms)| ms).sum();
    let init_mean = app.variants[0].init_ms.iter().map(|v| f64::from(*v)).sum::<f64>() / 12.0;
    assert!((total - init_mean).abs() < 0.01, "{total} vs {init_mean}");
    let (diff, ci) = app.diff.expect("difference computed");
    assert!(diff > 300.0 && ci.expect("interval").contains(diff));
}

#[test]
fn failures_are_counted_and_inspectable() {
    let mut app = app();
    key(&mut app, KeyInput::Char('r'));
    update(&mut app, Message::Sample(Box::new(failed_sample("wiki", 0))));
    assert_eq!(app.variants[0].failures, 1);
    key(&mut app, KeyInput::Char('f'));
    assert_eq!(app.panel, Panel::Failures { selected: 0 });
    assert!(app.failures[0].stderr_tail.contains("ModuleNotFoundError"));
    key(&mut app, KeyInput::Esc);
    assert_eq!(app.panel, Panel::None);
}

#[test]
fn the_drill_down_stays_on_the_cold_start_it_was_opened_on() {
    let mut app = app();
    run_with_samples(&mut app, 3);
    key(&mut app, KeyInput::Char('d'));
    let opened_on = app.pinned.as_ref().expect("pinned").0;
    assert_eq!(opened_on, app.variants[0].latest.as_ref().expect("latest").0);
    // A run goes on: newer wiki cold starts arrive while the panel is open.
    update(&mut app, Message::Sample(Box::new(sample("wiki", 40, 900.0))));
    assert_eq!(app.variants[0].latest.as_ref().expect("latest").0, 40);
    assert_eq!(
        app.pinned.as_ref().expect("pinned").0,
        opened_on,
        "the panel did not move"
    );
    key(&mut app, KeyInput::Enter);
    assert!(matches!(app.panel, Panel::ImportTree { .. }));
    assert_eq!(
        app.pinned.as_ref().expect("pinned").0,
        opened_on,
        "the tree is of the same cold start"
    );
    let text = render(&app, 100, 30);
    assert!(text.contains(&format!("cold start #{}", opened_on + 1)), "{text}");
}

#[test]
fn a_stopped_cold_start_is_neither_a_success_nor_a_failure() {
    let mut app = app();
    key(&mut app, KeyInput::Char('r'));
    let mut cut_short = sample("wiki", 0, 30.0);
    cut_short.init.status = init_trace::sample::InitStatus::Interrupted;
    cut_short.init.duration_ms = None;
    cut_short.invokes.clear();
    update(&mut app, Message::Sample(Box::new(cut_short)));
    key(&mut app, KeyInput::Char('x'));
    update(&mut app, Message::RunEnded(Ok(())));
    assert_eq!((app.variants[0].failures, app.variants[0].stopped), (0, 1));
    assert!(app.failures.is_empty());
    assert_eq!(app.run, RunState::Stopped);
    assert!(app.status.contains("0 failed, 1 cut short"), "{}", app.status);
}

#[test]
fn drill_down_opens_packages_then_a_tree() {
    let mut app = app();
    key(&mut app, KeyInput::Char('d'));
    assert_eq!(app.panel, Panel::None, "nothing to drill into yet");
    run_with_samples(&mut app, 3);
    key(&mut app, KeyInput::Char('d'));
    assert_eq!(
        app.panel,
        Panel::Packages {
            variant: 0,
            selected: 0
        }
    );
    key(&mut app, KeyInput::Enter);
    assert_eq!(
        app.panel,
        Panel::ImportTree {
            variant: 0,
            package: "json".to_owned(),
            scroll: 0
        }
    );
    key(&mut app, KeyInput::Down);
    key(&mut app, KeyInput::Esc);
    assert_eq!(
        app.panel,
        Panel::Packages {
            variant: 0,
            selected: 0
        }
    );
}

#[test]
fn views_help_quit_and_resize() {
    let mut app = app();
    key(&mut app, KeyInput::Tab);
    assert_eq!(app.view, View::Cache);
    key(&mut app, KeyInput::BackTab);
    assert_eq!(app.view, View::ColdStarts);
    assert_eq!(
        key(&mut app, KeyInput::Char('3')),
        Some(Effect::Edge(super::edge::EdgeEffect::Measure))
    );
    assert!(app.edge.busy());
    assert_eq!(key(&mut app, KeyInput::Char('3')), None, "already measuring");
    key(&mut app, KeyInput::Char('?'));
    assert!(app.help);
    key(&mut app, KeyInput::Char('x'));
    assert!(!app.help, "any key closes help");
    assert_eq!(update(&mut app, Message::Resize), None);
    update(&mut app, Message::Status("hello".to_owned()));
    assert_eq!(app.status, "hello");
    key(&mut app, KeyInput::Char('q'));
    assert!(app.quit);
    let mut running = self::app();
    key(&mut running, KeyInput::Char('r'));
    assert_eq!(
        key(&mut running, KeyInput::CtrlC),
        Some(Effect::StopRun),
        "quitting stops the run"
    );
    assert!(running.quit);
}

#[test]
fn export_prompt_edits_confirms_and_cancels() {
    let mut app = app();
    key(&mut app, KeyInput::Char('e'));
    assert!(app.prompt.is_some());
    for _ in 0..60 {
        key(&mut app, KeyInput::Backspace);
    }
    for c in "out/x".chars() {
        key(&mut app, KeyInput::Char(c));
    }
    assert_eq!(key(&mut app, KeyInput::Enter), Some(Effect::Export("out/x".into())));
    key(&mut app, KeyInput::Char('e'));
    key(&mut app, KeyInput::Esc);
    assert!(app.prompt.is_none());
    assert_eq!(app.status, "Export cancelled");
}

#[test]
fn cache_keys_change_settings_and_results_at_once() {
    let mut app = app();
    key(&mut app, KeyInput::Char('2'));
    let before = app.cache.evaluation.clone().expect("evaluated").chosen.page_hit_ratio;
    assert_eq!(app.cache.selected, 1, "page TTL first");
    key(&mut app, KeyInput::Right);
    let after = app.cache.evaluation.clone().expect("evaluated").chosen.page_hit_ratio;
    assert!(after > before, "a longer TTL raises the hit ratio: {before} → {after}");
    key(&mut app, KeyInput::Up);
    key(&mut app, KeyInput::Right);
    assert_eq!(app.cache.value(0), "seed");
    key(&mut app, KeyInput::Char('u'));
    assert!(
        app.cache.error.as_deref().is_some_and(|e| e.contains("no cold starts")),
        "{:?}",
        app.cache.error
    );
    match key(&mut app, KeyInput::Char('S')) {
        Some(Effect::Cache(super::cache::CacheEffect::Simulate(_))) => {}
        other => panic!("expected a simulation, got {other:?}"),
    }
    update(&mut app, Message::Cache(CacheEvent::SimProgress(0.5)));
    assert_eq!(app.cache.sim, SimState::Running { fraction: 0.5 });
    assert_eq!(
        key(&mut app, KeyInput::Char('S')),
        Some(Effect::Cache(super::cache::CacheEffect::CancelSimulation))
    );
    update(
        &mut app,
        Message::Cache(CacheEvent::SimDone(Err("cancelled".to_owned()))),
    );
    assert_eq!(app.cache.sim, SimState::Failed("cancelled".to_owned()));
}

#[test]
fn a_warmup_cold_start_does_not_feed_the_cache_model() {
    let mut app = app();
    assert!(matches!(
        key(&mut app, KeyInput::Char('r')),
        Some(Effect::StartRun { .. })
    ));
    let mut warmup = sample("wiki", 0, 900.0);
    warmup.labels.warmup = true;
    update(&mut app, Message::Sample(Box::new(warmup)));
    for index in 1..4 {
        update(&mut app, Message::Sample(Box::new(sample("wiki", index, 400.0))));
    }
    // As `cdn --from-run` reads a samples file: the warm-up is left out.
    let wiki = &app.variants[0];
    assert_eq!(wiki.cold_ms.len(), 3);
    assert!(wiki.cold_ms.iter().all(|ms| *ms < 900.0), "{:?}", wiki.cold_ms);
}

#[test]
fn measured_cold_starts_feed_the_cache_model() {
    let mut app = app();
    run_with_samples(&mut app, 5);
    key(&mut app, KeyInput::Char('2'));
    key(&mut app, KeyInput::Char('u'));
    let model = app.cache.model.as_ref().expect("model");
    assert!(model.latency.is_measured(), "{}", model.latency.source);
    assert_eq!(model.latency.cold_ms.len(), 5);
    assert!(
        app.cache
            .evaluation
            .as_ref()
            .expect("evaluated")
            .chosen
            .latency
            .origin_latency_source
            .contains("measured")
    );
}

#[test]
fn edge_results_arrive_from_the_worker() {
    let mut app = app();
    key(&mut app, KeyInput::Char('3'));
    update(&mut app, Message::Edge(EdgeEvent::Done(Err("no engine".to_owned()))));
    assert!(matches!(app.edge.status, EdgeStatus::Failed(_)));
    assert_eq!(
        key(&mut app, KeyInput::Char('r')),
        Some(Effect::Edge(super::edge::EdgeEffect::Measure))
    );
}

#[test]
fn snapshot_cold_starts_idle_80x24() {
    snapshot!("cold_starts_idle_80x24", render(&app(), 80, 24));
}

#[test]
fn snapshot_cold_starts_after_a_run() {
    let mut app = app();
    run_with_samples(&mut app, 10);
    for (width, height) in SIZES {
        snapshot!(format!("cold_starts_run_{width}x{height}"), render(&app, width, height));
    }
}

#[test]
fn snapshot_panels() {
    let mut app = app();
    run_with_samples(&mut app, 3);
    update(&mut app, Message::Sample(Box::new(failed_sample("wiki", 9))));
    key(&mut app, KeyInput::Char('d'));
    snapshot!("packages_panel_80x24", render(&app, 80, 24));
    key(&mut app, KeyInput::Enter);
    snapshot!("import_tree_80x24", render(&app, 80, 24));
    key(&mut app, KeyInput::Esc);
    key(&mut app, KeyInput::Esc);
    key(&mut app, KeyInput::Char('f'));
    snapshot!("failures_panel_120x40", render(&app, 120, 40));
}

#[test]
fn snapshot_help_and_prompt() {
    let mut app = app();
    key(&mut app, KeyInput::Char('?'));
    snapshot!("help_80x24", render(&app, 80, 24));
    key(&mut app, KeyInput::Esc);
    key(&mut app, KeyInput::Char('e'));
    let prompt = app.prompt.as_mut().expect("prompt");
    prompt.text = "coldfront-export/session".to_owned();
    snapshot!("export_prompt_80x24", render(&app, 80, 24));
}

#[test]
fn snapshot_cache_view_before_and_after_toggling_ttl() {
    let mut app = app();
    key(&mut app, KeyInput::Char('2'));
    steady(&mut app);
    for (width, height) in SIZES {
        snapshot!(format!("cache_{width}x{height}"), render(&app, width, height));
    }
    key(&mut app, KeyInput::Char('g'));
    snapshot!("cache_curves_on_g_80x24", render(&app, 80, 24));
    key(&mut app, KeyInput::Char('g'));
    key(&mut app, KeyInput::PageDown);
    snapshot!("cache_results_scrolled_80x24", render(&app, 80, 24));
    key(&mut app, KeyInput::PageUp);
    key(&mut app, KeyInput::Right);
    steady(&mut app);
    snapshot!("cache_ttl_120s_120x40", render(&app, 120, 40));
}

#[test]
fn snapshot_edge_view_states() {
    let mut app = app();
    key(&mut app, KeyInput::Char('3'));
    snapshot!("edge_measuring_80x24", render(&app, 80, 24));
    update(
        &mut app,
        Message::Edge(EdgeEvent::Done(Err(
            "the JavaScript engine ran out of memory".to_owned()
        ))),
    );
    snapshot!("edge_failed_80x24", render(&app, 80, 24));
}

#[test]
fn snapshot_edge_view_with_a_real_comparison() {
    let mut app = app();
    key(&mut app, KeyInput::Char('3'));
    let mut comparison = edge_auth::compare::compare(&edge_auth::compare::CompareOptions {
        quick: true,
        budget_ms: None,
    })
    .expect("comparison");
    // Measured times (and the verdict they decide) vary from run to run and machine to
    // machine; they are replaced before layout so the snapshot pins the layout alone.
    for (i, row) in comparison.rows.iter_mut().enumerate() {
        row.latency_ms = 0.125 * (i + 1) as f64;
        // Costs follow from measured durations too (Lambda@Edge's billed milliseconds).
        row.cost_usd_per_million = 0.25 * i as f64;
    }
    comparison.verdict_summary = "RS256 [the measured verdict]".to_owned();
    comparison.function_size_bytes = 6_000;
    update(&mut app, Message::Edge(EdgeEvent::Done(Ok(Box::new(comparison)))));
    for (width, height) in SIZES {
        snapshot!(format!("edge_done_{width}x{height}"), render(&app, width, height));
    }
}

#[test]
fn the_ttl_curves_follow_the_settings() {
    let mut app = app();
    key(&mut app, KeyInput::Char('2'));
    let curve = app.cache.curve.clone();
    assert_eq!(curve.len(), 17);
    assert!((curve[0].ttl_s - 10.0).abs() < 1e-9 && (curve[16].ttl_s - 86_400.0).abs() < 1e-6);
    // A longer TTL never lowers the page hit ratio, and never makes reads fresher.
    for pair in curve.windows(2) {
        assert!(pair[1].page_hit_ratio >= pair[0].page_hit_ratio - 1e-9, "{pair:?}");
        assert!(pair[1].stale_read_share >= pair[0].stale_read_share - 1e-9, "{pair:?}");
    }
    // The point at the current TTL is the evaluation the results panel shows.
    let current = app.cache.model.as_ref().expect("model").cache.page_ttl_s;
    let chosen = &app.cache.evaluation.as_ref().expect("evaluated").chosen;
    let mut at_current = app.cache.model.clone().expect("model");
    at_current.cache.page_ttl_s = current;
    assert!((cdn_design::evaluate(&at_current).chosen.page_hit_ratio - chosen.page_hit_ratio).abs() < 1e-12);
    // More writes: more stale reads at every TTL, recomputed on the key press.
    while app.cache.selected < 8 {
        key(&mut app, KeyInput::Down);
    }
    key(&mut app, KeyInput::Right);
    let after = &app.cache.curve;
    assert!(
        after
            .iter()
            .zip(&curve)
            .all(|(a, b)| a.stale_read_share >= b.stale_read_share)
    );
    assert!(
        after
            .iter()
            .zip(&curve)
            .any(|(a, b)| a.stale_read_share > b.stale_read_share)
    );
}

#[test]
fn the_header_shows_the_throttling_a_run_actually_got() {
    let mut app = app();
    key(&mut app, KeyInput::Char('r'));
    let mut unthrottled = sample("wiki", 0, 300.0);
    unthrottled.sandbox.throttling = init_trace::sample::Throttling::Unavailable("not root".into());
    update(&mut app, Message::Sample(Box::new(unthrottled)));
    let text = render(&app, 100, 30);
    assert!(text.contains("512 MB NOT throttled"), "{text}");
    assert!(!text.contains("0.29 vCPU"), "{text}");
    update(&mut app, Message::Sample(Box::new(sample("control", 1, 40.0))));
    assert!(render(&app, 100, 30).contains("512 MB 0.29 vCPU"));
}

#[test]
fn too_small_terminals_get_a_message_not_a_broken_layout() {
    let text = render(&app(), 60, 20);
    assert!(text.contains("needs at least 80×24"), "{text}");
}

/// Served invocations as `coldfront serve` lists them: `colds` cold ones (Init Duration
/// spread like a real run's) and `warms` warm ones per function.
fn served(function: &str, colds: u64, warms: u64, base_ms: f64) -> Vec<lambda_api::InvocationSummary> {
    let mut list = Vec::new();
    for i in 0..colds + warms {
        let cold = i < colds;
        list.push(lambda_api::InvocationSummary {
            seq: i,
            function: function.to_owned(),
            cold,
            init_ms: cold.then_some(base_ms + (i % 7) as f64 * base_ms / 20.0),
            duration_ms: 2.0 + (i % 3) as f64,
            total_ms: 3.0,
            status: "success".to_owned(),
        });
    }
    list
}

#[test]
fn attached_to_serve_it_shows_served_cold_and_warm_invocations() {
    let mut app = app();
    app.attach("http://127.0.0.1:9001");
    assert!(app.variants.is_empty(), "nothing shown before serve reports");
    assert_eq!(
        key(&mut app, KeyInput::Char('r')),
        None,
        "runs start from serve's clients"
    );
    assert!(app.status.contains("local UI only"), "{}", app.status);
    update(&mut app, Message::Served(served("wiki", 12, 30, 400.0)));
    update(&mut app, Message::Served(served("control", 12, 5, 40.0)));
    update(&mut app, Message::Tick);
    assert_eq!(
        app.variants.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["wiki", "control"]
    );
    assert_eq!(app.variants[0].init_ms.len(), 12);
    assert_eq!(app.variants[0].warm_ms.len(), 30);
    assert_eq!(app.variants[0].histogram.len(), 12);
    assert!(app.status.contains("24 cold starts, 35 warm invokes"), "{}", app.status);
    steady(&mut app);
    snapshot!("attached_100x30", render(&app, 100, 30));
}
