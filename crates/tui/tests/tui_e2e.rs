//! The real binary in a real terminal (tmux): start the UI, run a few real cold starts,
//! toggle a cache setting, export, quit — then check the files and that the terminal was
//! restored. And: stop a run with `x`, which is a stop, not a failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs (install it: apt-get install tmux)");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "ui"])
    }

    fn wait_for(&self, what: &str, timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(what) {
                return screen;
            }
            assert!(
                started.elapsed() < timeout,
                "waited {timeout:?} for {what:?}; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Polls the screen until `done` holds for it; `what` names the wait in the failure.
    fn wait_until(&self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                started.elapsed() < timeout,
                "waited {timeout:?} for {what}; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            self.run(&["send-keys", "-t", "ui", key]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

/// Starts the UI in `dir` in a 120×40 tmux session `ui` on a tmux server of its own
/// (`socket`: tests in this file run in parallel); the UI's exit code lands in the returned
/// file. The server is killed when the `Tmux` is dropped, even if the test fails.
fn start_ui(dir: &Path, socket: String) -> (Tmux, PathBuf) {
    let exit_file = dir.join("exit-code");
    let command = format!(
        "{} ; echo $? > {}; sleep 600",
        env!("CARGO_BIN_EXE_coldfront"),
        exit_file.display()
    );
    let tmux = Tmux { socket };
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "ui",
        "-x",
        "120",
        "-y",
        "40",
        "-c",
        &dir.display().to_string(),
        &command,
    ]);
    tmux.wait_for("1 Cold starts", Duration::from_secs(30));
    (tmux, exit_file)
}

/// Quits with `q` and returns the UI's exit code.
fn quit(tmux: &Tmux, exit_file: &Path) -> String {
    tmux.keys(&["q"]);
    let started = Instant::now();
    while !exit_file.is_file() {
        assert!(started.elapsed() < Duration::from_secs(30), "the UI did not exit");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::read_to_string(exit_file).expect("exit code").trim().to_owned()
}

#[test]
fn the_ui_runs_cold_starts_toggles_the_cache_exports_and_restores_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (tmux, exit_file) = start_ui(dir.path(), format!("coldfront-e2e-{}", std::process::id()));

    // Five real cold starts of each bundled function (wiki and the control).
    tmux.keys(&["-", "r"]);
    let screen = tmux.wait_for("Run finished", Duration::from_secs(180));
    assert!(screen.contains("10/10"), "{screen}");
    assert!(screen.contains("wiki − control: median Init"), "{screen}");

    // The cache view: the page TTL row is selected; → lengthens it and results follow.
    tmux.keys(&["2"]);
    let before = tmux.wait_for("page TTL", Duration::from_secs(10));
    assert!(before.contains("60 s"), "{before}");
    tmux.keys(&["Right"]);
    tmux.wait_for("120 s", Duration::from_secs(10));

    // Export to the default directory offered by the prompt.
    tmux.keys(&["e"]);
    tmux.wait_for("Enter writes", Duration::from_secs(10));
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("Exported ", Duration::from_secs(60));
    assert!(!screen.contains("Export failed"), "{screen}");

    assert_eq!(quit(&tmux, &exit_file), "0");
    // Restored: the alternate screen is gone and the UI is no longer drawn.
    assert_eq!(
        tmux.run(&["display-message", "-p", "-t", "ui", "#{alternate_on}"])
            .trim(),
        "0"
    );
    assert!(!tmux.screen().contains("1 Cold starts"));

    let exports = dir.path().join("coldfront-export");
    let session = std::fs::read_dir(&exports)
        .expect("export directory")
        .next()
        .expect("one export")
        .expect("entry")
        .path();
    for file in [
        "benchmark/report.md",
        "benchmark/summary.json",
        "benchmark/samples.jsonl",
        "design/CDN_Caching.md",
        "design/CDN_Caching.config.json",
    ] {
        assert!(session.join(file).is_file(), "{file} missing in {}", session.display());
    }
    let page = std::fs::read_to_string(session.join("benchmark/report.md")).expect("page");
    assert!(page.contains("wiki") && page.contains("control") && page.contains("## INIT breakdown"));
    let design = std::fs::read_to_string(session.join("design/CDN_Caching.md")).expect("design page");
    assert!(design.contains("120"), "the toggled TTL is in the design page");
    // Every cold start was written as it happened.
    let samples = init_trace::sample::read_samples(&session.join("benchmark/samples.jsonl")).expect("samples");
    assert_eq!(samples.samples.len(), 10);
}

/// The completed count of the progress gauge's `completed/planned` label, if it shows.
fn completed_of(screen: &str, planned: u64) -> Option<u64> {
    let label = format!("/{planned}");
    screen.match_indices(&label).find_map(|(at, _)| {
        let before = &screen[..at];
        let digits = before.len() - before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        before[before.len() - digits..].parse().ok()
    })
}

#[test]
fn stopping_a_run_with_x_is_a_stop_not_a_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (tmux, exit_file) = start_ui(dir.path(), format!("coldfront-e2e-stop-{}", std::process::id()));

    // 100 cold starts of each bundled function (wiki and the control): far more than the
    // run gets through before the stop.
    tmux.keys(&["+", "+", "+", "+"]);
    tmux.wait_for("100 each", Duration::from_secs(10));
    tmux.keys(&["r"]);
    tmux.wait_until(
        "at least one completed cold start (progress k/200, k ≥ 1)",
        Duration::from_secs(180),
        |screen| completed_of(screen, 200).is_some_and(|k| k >= 1),
    );
    tmux.keys(&["x"]);
    let screen = tmux.wait_for("Stopped after", Duration::from_secs(180));

    // "[stopped] Stopped after N of 200 cold starts, 0 failed, 1 cut short. e exports".
    let status = screen
        .lines()
        .find(|l| l.contains("Stopped after"))
        .expect("status line");
    assert!(status.starts_with("[stopped] Stopped after "), "{status}");
    assert!(
        status.contains(", 0 failed"),
        "the stop is not counted as a failure: {status}"
    );
    assert!(
        !status.contains("[failed]") && !status.contains("Run failed"),
        "{status}"
    );
    let stopped_after: usize = status
        .split_once("Stopped after ")
        .and_then(|(_, rest)| rest.split_once(" of 200 cold starts"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no \"N of 200 cold starts\" in {status}"));
    assert!((1..200).contains(&stopped_after), "{status}");

    // Every cold start of the run, the one the stop cut short included, is in the session's
    // samples file, whole, and none of them is a failure.
    let session = std::fs::read_dir(dir.path().join("coldfront-runs"))
        .expect("the run's directory")
        .next()
        .expect("one run")
        .expect("entry")
        .path();
    let samples = init_trace::sample::read_samples(&session.join("samples.jsonl")).expect("samples");
    assert!(samples.truncated_tail.is_none(), "{:?}", samples.truncated_tail);
    assert_eq!(samples.samples.len(), stopped_after, "{status}");
    let failed: Vec<String> = samples
        .samples
        .iter()
        .filter(|s| s.failed())
        .map(|s| format!("{} #{}: {}", s.function, s.sample_index, s.outcome()))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");

    assert_eq!(quit(&tmux, &exit_file), "0");
}
