//! `coldfront cdn ...` as a user runs it: files, JSON, errors and exit codes.

use std::process::Command;

fn coldfront() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coldfront"));
    command.env("NO_COLOR", "1");
    command
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn design_writes_the_page_the_config_and_the_charts() {
    let dir = tempfile::tempdir().unwrap();
    let output = coldfront()
        .args(["cdn", "design", "--preset", "seed", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let page = std::fs::read_to_string(dir.path().join("CDN_Caching.md")).unwrap();
    for section in [
        "# CDN Caching",
        "## Cache strategy",
        "## TTL rationale",
        "## Auth approach",
        "## Cost model",
        "## Cache behaviour configuration",
        "$745.00/month",
    ] {
        assert!(page.contains(section), "page lacks {section}");
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("CDN_Caching.config.json")).unwrap()).unwrap();
    assert_eq!(config["CacheBehaviors"]["Quantity"], 4);
    assert_eq!(config["CacheBehaviors"]["Items"][0]["PathPattern"], "/mcp*");
    let svg = std::fs::read_to_string(dir.path().join("CDN_Caching.hit_ratio_vs_ttl.svg")).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(page.contains("(CDN_Caching.hit_ratio_vs_ttl.svg)"));
}

#[test]
fn cost_json_shows_the_745_dollar_invalidations() {
    let output = coldfront()
        .args(["cdn", "cost", "--preset", "seed", "--strategy", "on-write", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let on_write = json["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["strategy"].as_str().unwrap().starts_with("invalidate on write"))
        .unwrap();
    let line = on_write["cost"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["item"] == "Invalidation paths")
        .unwrap();
    assert!((line["usd_per_month"].as_f64().unwrap() - 745.0).abs() < 1e-9);
}

#[test]
fn synthetic_simulation_agrees_with_the_analytic_estimate() {
    let output = coldfront()
        .args([
            "cdn",
            "simulate",
            "--preset",
            "typical",
            "--requests",
            "300000",
            "--ttl",
            "3600",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["report"]["requests"], 300_000);
    let simulated = json["report"]["hit_ratio"].as_f64().unwrap();
    let analytic = json["analytic"]["hit_ratio"].as_f64().unwrap();
    // The synthetic day starts with empty caches and a regional tier; a loose check here,
    // the tight one is in cdn-design's agreement tests.
    assert!((simulated - analytic).abs() < 0.05, "{simulated} vs {analytic}");
}

#[test]
fn a_bad_trace_line_exits_2_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.csv");
    std::fs::write(&trace, "0,1,100\n1,2,100\nthree,3,100\n").unwrap();
    let output = coldfront()
        .args(["cdn", "simulate", "--trace"])
        .arg(&trace)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("t.csv:3:") && err.contains("time \"three\""), "{err}");
}

#[test]
fn lru_from_a_csv_trace_prints_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.csv");
    std::fs::write(&trace, "0,1,100\n1,2,100\n2,1,100\n3,3,100\n4,2,100\n").unwrap();
    let output = coldfront()
        .args(["cdn", "simulate", "--policy", "lru", "--capacity", "2", "--trace"])
        .arg(&trace)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Hit ratio:") && text.contains("20.0 %"), "{text}");
    assert!(!text.contains('\u{1b}'), "no ANSI escapes");
}

#[test]
fn a_bad_model_file_exits_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("wiki.toml");
    std::fs::write(&model, "preset = \"seed\"\n\n[cache]\npage_ttl = 30\n").unwrap();
    let output = coldfront()
        .args(["cdn", "cost", "--config"])
        .arg(&model)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("wiki.toml:4:1") && err.contains("did you mean \"page_ttl_s\""),
        "{err}"
    );
    let output = coldfront()
        .args(["cdn", "design", "--preset", "huge"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("known presets: typical, seed, large"));
}

#[test]
fn audit_requires_a_distribution_id() {
    let output = coldfront().args(["cdn", "audit"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--distribution-id"));
}

#[test]
fn measured_auth_rows_reach_the_page_by_option_and_unknown_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = coldfront()
        .args(["cdn", "design", "--preset", "seed", "--measure-auth", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let page = std::fs::read_to_string(dir.path().join("CDN_Caching.md")).unwrap();
    assert!(page.contains("Figures from edge-auth's comparison."), "{page}");
    // The chosen option is matched by key, so the measured row carries the marker.
    assert!(page.contains("**(chosen)**"), "{page}");
    assert!(
        page.contains("| lambda-at-edge |") && page.contains("ASSUMED 5 ms"),
        "{page}"
    );

    let rows = dir.path().join("rows.json");
    std::fs::write(
        &rows,
        r#"[{"option": "Lambda@Edge JWT", "latency_ms": 1, "usd_per_million_requests": 1, "capabilities": "", "provenance": ""}]"#,
    )
    .unwrap();
    let output = coldfront()
        .args(["cdn", "design", "--preset", "seed", "--auth-rows"])
        .arg(&rows)
        .arg("--out")
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("rows.json") && err.contains("\"Lambda@Edge JWT\"") && err.contains("lambda-at-edge"),
        "{err}"
    );
}

#[test]
fn an_empty_trace_exits_2_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("empty.csv", ""), ("header.csv", "time,id,size\n")] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut command = coldfront();
        command.args(["cdn", "simulate", "--trace"]).arg(&path);
        if name == "header.csv" {
            command.arg("--header");
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{name}: {}", stderr(&output));
        assert!(stderr(&output).contains("holds no requests") && stderr(&output).contains(name));
    }
}

#[test]
fn from_run_takes_one_function_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let samples = dir.path().join("run.jsonl");
    let output = coldfront()
        .args([
            "run",
            "control",
            "wiki",
            "-n",
            "2",
            "--invokes",
            "3",
            "--no-throttle",
            "--quiet",
            "--out",
        ])
        .arg(&samples)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let ambiguous = coldfront()
        .args(["cdn", "cost", "--preset", "seed", "--from-run"])
        .arg(&samples)
        .output()
        .unwrap();
    assert_eq!(ambiguous.status.code(), Some(2));
    let err = stderr(&ambiguous);
    assert!(
        err.contains("control, wiki") && err.contains("--from-function"),
        "{err}"
    );
    let chosen = coldfront()
        .args([
            "cdn",
            "design",
            "--preset",
            "seed",
            "--from-function",
            "wiki",
            "--from-run",
        ])
        .arg(&samples)
        .arg("--out")
        .arg(dir.path().join("design"))
        .output()
        .unwrap();
    assert_eq!(chosen.status.code(), Some(0), "{}", stderr(&chosen));
    let page = std::fs::read_to_string(dir.path().join("design/CDN_Caching.md")).unwrap();
    assert!(
        page.contains("run.jsonl wiki (4 warm invokes, 2 cold starts)"),
        "{page}"
    );
}

#[test]
fn the_analytic_figure_follows_edges_and_regional_tiers() {
    let analytic = |extra: &[&str]| -> (f64, f64) {
        let output = coldfront()
            .args([
                "cdn",
                "simulate",
                "--preset",
                "typical",
                "--requests",
                "300000",
                "--json",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        (
            json["analytic"]["hit_ratio"].as_f64().unwrap(),
            json["report"]["hit_ratio"].as_f64().unwrap(),
        )
    };
    let (one_edge, one_edge_sim) = analytic(&["--edges", "1", "--regional", "0"]);
    let (many_edges, many_edges_sim) = analytic(&["--edges", "100", "--regional", "0"]);
    // Splitting the same traffic over more edges lowers the hit ratio, in both figures.
    assert!(one_edge > many_edges, "analytic {one_edge} vs {many_edges}");
    assert!(
        one_edge_sim > many_edges_sim,
        "simulated {one_edge_sim} vs {many_edges_sim}"
    );
}

#[test]
fn an_unsorted_trace_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unsorted.csv");
    std::fs::write(&path, "# a comment\n0,1,10\n5,2,10\n3,1,10\n").unwrap();
    let output = coldfront()
        .args(["cdn", "simulate", "--trace"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("unsorted.csv:4") && err.contains("sort the trace"),
        "{err}"
    );
}

fn simulate_json(args: &[&str]) -> serde_json::Value {
    let output = coldfront()
        .args(["cdn", "simulate", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn fifo_and_lru_differ_where_a_hit_would_move_the_object() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.csv");
    // Objects 1 2 1 3 1 in a 2-object cache: LRU keeps 1 (hit at t=2 moved it to the
    // front) and evicts 2; FIFO evicts 1, the oldest arrival, so its third read misses.
    std::fs::write(&trace, "0,1,100\n1,2,100\n2,1,100\n3,3,100\n4,1,100\n").unwrap();
    let trace = trace.to_str().unwrap();
    let lru = simulate_json(&["--policy", "lru", "--capacity", "2", "--trace", trace]);
    let fifo = simulate_json(&["--policy", "fifo", "--capacity", "2", "--trace", trace]);
    assert_eq!(lru["report"]["edge_hits"], 2, "{lru}");
    assert_eq!(fifo["report"]["edge_hits"], 1, "{fifo}");
    assert_eq!(lru["config"]["eviction"], "lru");
    assert_eq!(fifo["config"]["eviction"], "fifo");
    let output = coldfront()
        .args([
            "cdn",
            "simulate",
            "--policy",
            "fifo",
            "--capacity",
            "2",
            "--trace",
            trace,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("capacity 2 objects (FIFO)"), "{text}");
}

#[test]
fn invalidation_delay_leaves_copies_stale_until_it_takes_effect() {
    let run = |delay: &str| {
        simulate_json(&[
            "--preset",
            "typical",
            "--requests",
            "200000",
            "--ttl",
            "3600",
            "--strategy",
            "on-write",
            "--invalidation-delay",
            delay,
        ])
    };
    let at_once = run("0");
    let late = run("600");
    assert_eq!(at_once["config"]["invalidation_delay_s"], 0.0);
    assert_eq!(late["config"]["invalidation_delay_s"], 600.0);
    // Invalidated at once, no read is served a copy older than a write; ten minutes
    // late, some are.
    assert_eq!(at_once["report"]["stale_reads"], 0, "{at_once}");
    assert!(late["report"]["stale_reads"].as_u64().unwrap() > 0, "{late}");
    let output = coldfront()
        .args([
            "cdn",
            "simulate",
            "--preset",
            "typical",
            "--requests",
            "20000",
            "--strategy",
            "on-write",
            "--invalidation-delay",
            "600",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("invalidate on write, 600 s to take effect"), "{text}");
}

#[test]
fn threads_change_nothing_but_the_threads() {
    let run = |threads: &str| {
        simulate_json(&[
            "--preset",
            "typical",
            "--requests",
            "200000",
            "--edges",
            "5",
            "--threads",
            threads,
        ])
    };
    let one = run("1");
    let two = run("2");
    assert_eq!(one["report"], two["report"]);
    assert_eq!(one["config"]["threads"], 1);
    assert_eq!(two["config"]["threads"], 2);
    let output = coldfront()
        .args([
            "cdn",
            "simulate",
            "--preset",
            "typical",
            "--requests",
            "20000",
            "--threads",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("threads: 2,"));
}

#[test]
fn bad_eviction_delay_and_thread_values_exit_2_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.csv");
    std::fs::write(&trace, "0,1,100\n").unwrap();
    let trace = trace.to_str().unwrap();
    let cases: [(&[&str], &str); 7] = [
        (&["--threads", "0"], "--threads"),
        (&["--threads", "257"], "--threads"),
        (&["--policy", "fifo"], "--policy fifo needs --capacity"),
        (&["--policy", "random"], "--policy"),
        (
            &["--strategy", "on-write", "--invalidation-delay=-5"],
            "--invalidation-delay -5",
        ),
        (&["--invalidation-delay", "30"], "use it with --strategy on-write"),
        (
            &["--format", "cloudfront", "--trace", trace, "--threads", "2"],
            "--threads does not apply to --format cloudfront",
        ),
    ];
    for (args, says) in cases {
        let output = coldfront().args(["cdn", "simulate"]).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(says), "{args:?}: {}", stderr(&output));
    }
    let output = coldfront().args(["cdn", "simulate", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in ["--threads <N>", "--invalidation-delay <S>", "fifo"] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}
