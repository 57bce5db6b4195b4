//! `coldfront trace` and `coldfront report` end to end on the bundled functions.

use std::path::Path;
use std::process::Command;

fn coldfront() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coldfront"));
    command.env("NO_COLOR", "1");
    command
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary.json")).expect("JSON")
}

#[test]
fn trace_wiki_against_control_writes_a_page_whose_segments_add_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("run");
    let output = coldfront()
        .args(["trace", "-n", "3", "--warmup", "1", "--invokes", "1", "--out"])
        .arg(&run)
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for file in [
        "samples.jsonl",
        "summary.json",
        "report.md",
        "breakdown.svg",
        "init-duration.hlog",
    ] {
        assert!(run.join(file).is_file(), "{file} missing");
    }
    let summary = summary(&run);
    let groups = summary["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 2);
    for group in groups {
        assert_eq!(group["cold_starts"], 3);
        assert_eq!(group["warmups"], 1);
        let init_mean = group["init"]["mean_ms"].as_f64().expect("init mean");
        let top: Vec<&serde_json::Value> = group["segments"]
            .as_array()
            .expect("segments")
            .iter()
            .filter(|s| s["depth"] == 0)
            .collect();
        assert!(top.len() >= 4, "at least four segments: {top:?}");
        let sum: f64 = top.iter().map(|s| s["mean_ms"].as_f64().expect("ms")).sum();
        assert!(
            (sum - init_mean).abs() <= 0.01 * init_mean,
            "segments {sum} vs init {init_mean}"
        );
    }
    assert_eq!(summary["comparisons"][0]["subject"], "wiki");
    assert_eq!(summary["comparisons"][0]["control"], "control");

    let page = std::fs::read_to_string(run.join("report.md")).expect("page");
    for heading in [
        "## Environment",
        "## Summary",
        "## INIT breakdown",
        "## Control comparison",
        "## Top contributors",
        "## Recommendations",
        "## Not observable on this backend",
    ] {
        assert!(page.contains(heading), "{heading} missing from the page");
    }
    let segment_rows = page
        .lines()
        .filter(|l| l.starts_with("| **") && l.contains('%') && !l.contains("Init Duration"))
        .count();
    assert!(
        segment_rows >= 8,
        "four or more segments with ms and % per function: {segment_rows}"
    );
    let svg = std::fs::read_to_string(run.join("breakdown.svg")).expect("svg");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>") && svg.contains("wiki @ 512 MB"));
    let hlog = std::fs::read_to_string(run.join("init-duration.hlog")).expect("hlog");
    assert!(
        hlog.contains("Tag=wiki@512MB") && hlog.contains("Tag=control@512MB"),
        "{hlog}"
    );

    // Re-rendering from the raw samples gives the same statistics.
    let before = summary;
    let output = coldfront().arg("report").arg(&run).output().expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(before["groups"], self::summary(&run)["groups"]);

    // A cut-off last line (a run killed mid-write) is reported, the rest is kept.
    let samples = std::fs::read_to_string(run.join("samples.jsonl")).expect("samples");
    std::fs::write(run.join("samples.jsonl"), &samples[..samples.len() - 200]).expect("truncate");
    let output = coldfront()
        .arg("report")
        .arg(&run)
        .arg("--json")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stderr).contains("last line is incomplete"));
    let rerendered: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    // Two functions × (3 + 1 warm-up) cold starts, each with its plain twin, less the cut one.
    assert_eq!(rerendered["samples"], 15);
    assert!(
        std::fs::read_to_string(run.join("report.md"))
            .expect("page")
            .contains("last line is incomplete")
    );
}

#[test]
fn a_subject_that_fails_to_import_is_reported_and_the_control_still_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../init-trace/tests/fixtures/import_missing");
    let control = Path::new(env!("CARGO_MANIFEST_DIR")).join("../init-trace/fixtures/control");
    std::fs::write(
        dir.path().join("coldfront.toml"),
        format!(
            "[functions.broken]\nruntime = \"python\"\ncode = {:?}\nhandler = \"handler.handle\"\n\n[functions.control]\nruntime = \"python\"\ncode = {:?}\nhandler = \"handler.handle\"\n",
            fixture.display().to_string(),
            control.display().to_string()
        ),
    )
    .expect("write spec");
    let run = dir.path().join("run");
    let output = coldfront()
        .args([
            "trace",
            "--subject",
            "broken",
            "-n",
            "2",
            "--warmup",
            "0",
            "--invokes",
            "1",
            "--no-throttle",
            "--out",
        ])
        .arg(&run)
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = std::fs::read_to_string(run.join("report.md")).expect("page");
    assert!(
        page.contains("## Failures") && page.contains("Runtime.ImportModuleError") && page.contains("no_such_module"),
        "{page}"
    );
    let summary = summary(&run);
    let control = summary["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["function"] == "control")
        .expect("control ran");
    assert_eq!(control["init"]["n"], 2);
}

#[test]
fn bad_trace_arguments_are_usage_errors() {
    let output = coldfront()
        .args(["trace", "--subject", "nope"])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown function \"nope\""));
    let output = coldfront()
        .args(["trace", "--control", "wiki"])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let output = coldfront().args(["report", "/nonexistent/run"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/run"));
}

#[test]
fn an_out_path_under_a_file_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("afile"), "").expect("a file");
    for args in [
        vec!["trace", "-n", "2", "--out", "afile/run"],
        vec!["run", "control", "-n", "1", "--out", "afile/s.jsonl"],
        vec!["cdn", "design", "--preset", "seed", "--out", "afile/design"],
    ] {
        let output = coldfront().args(&args).current_dir(dir.path()).output().expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("afile is a file, not a directory"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn report_of_a_samples_file_says_where_it_writes_and_keeps_to_its_own_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let samples = dir.path().join("run-a.jsonl");
    let output = coldfront()
        .args(["run", "control", "-n", "2", "--no-throttle", "--quiet", "--out"])
        .arg(&samples)
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Another run's report beside the file must survive.
    std::fs::write(dir.path().join("report.md"), "another run's page").expect("write");
    let output = coldfront().arg("report").arg(&samples).output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let reports = dir.path().join("run-a-report");
    assert!(stderr.contains(&format!("into {}", reports.display())), "{stderr}");
    assert!(reports.join("report.md").is_file() && reports.join("summary.json").is_file());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("report.md")).expect("read"),
        "another run's page"
    );
}
