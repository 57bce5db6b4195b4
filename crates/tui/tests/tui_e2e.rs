//! The real binary in a real terminal (tmux): start the UI, run a few real cold starts,
//! toggle a cache setting, export, quit — then check the files and that the terminal was
//! restored.

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

#[test]
fn the_ui_runs_cold_starts_toggles_the_cache_exports_and_restores_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exit_file = dir.path().join("exit-code");
    let command = format!(
        "{} ; echo $? > {}; sleep 600",
        env!("CARGO_BIN_EXE_coldfront"),
        exit_file.display()
    );
    let tmux = Tmux {
        socket: format!("coldfront-e2e-{}", std::process::id()),
    };
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
        &dir.path().display().to_string(),
        &command,
    ]);
    tmux.wait_for("1 Cold starts", Duration::from_secs(30));

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
    let screen = tmux.wait_for("Exported to", Duration::from_secs(60));
    assert!(!screen.contains("Export failed"), "{screen}");

    tmux.keys(&["q"]);
    let started = Instant::now();
    while !exit_file.is_file() {
        assert!(started.elapsed() < Duration::from_secs(30), "the UI did not exit");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(std::fs::read_to_string(&exit_file).expect("exit code").trim(), "0");
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
