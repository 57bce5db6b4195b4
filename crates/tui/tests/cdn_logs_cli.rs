//! `coldfront cdn simulate --format cloudfront` and `coldfront cdn fit` as a user runs them
//! on CloudFront logs: predicted against actual hit ratios, errors naming FILE:LINE and
//! the field, real-time logs, and a fitted model that `cdn design --config` accepts.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIELDS: &str = "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end";

fn coldfront() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coldfront"));
    command.env("NO_COLOR", "1");
    command
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A standard log record `t_s` seconds after 2026-01-05 10:00:00 UTC.
fn record(t_s: u32, edge: &str, method: &str, host: &str, stem: &str, result: &str) -> String {
    let time = format!("{:02}:{:02}:{:02}", 10 + t_s / 3600, (t_s / 60) % 60, t_s % 60);
    [
        "2026-01-05",
        &time,
        edge,
        "20000",
        "192.0.2.9",
        method,
        "d111111abcdef8.cloudfront.net",
        stem,
        "200",
        "-",
        "curl/8.5.0%20(x86_64)",
        "-",
        "-",
        result,
        "rid",
        host,
        "https",
        "120",
        "0.002",
        "-",
        "TLSv1.3",
        "TLS_AES_128_GCM_SHA256",
        result,
        "HTTP/2.0",
        "-",
        "-",
        "51234",
        "0.002",
        result,
        "text/html",
        "20000",
        "-",
        "-",
    ]
    .join("\t")
}

/// Pages of two wikis at two edges under a 60 s TTL, as CloudFront answered them, an asset,
/// uncached API and MCP requests; split unsorted over a gzip file in a directory and a
/// plain file.
fn write_logs(dir: &Path) -> Vec<PathBuf> {
    let a = "acme.wiki.example";
    let b = "beta.wiki.example";
    let lines = [
        record(0, "LHR61-P1", "GET", a, "/Main_Page", "Miss"),
        record(20, "LHR61-P1", "GET", a, "/Main_Page", "Hit"),
        record(40, "LHR61-P1", "POST", a, "/Main_Page", "Miss"),
        record(59, "LHR61-P1", "GET", a, "/Main_Page", "RefreshHit"),
        record(90, "LHR61-P1", "GET", a, "/Main_Page", "Miss"),
        record(100, "LHR61-P1", "GET", a, "/Main_Page", "Hit"),
        record(3, "IAD89-C1", "GET", b, "/Main_Page", "Miss"),
        record(50, "IAD89-C1", "GET", b, "/Main_Page", "Hit"),
        record(70, "IAD89-C1", "GET", b, "/Recent%2520changes", "Miss"),
        record(75, "IAD89-C1", "GET", b, "/Recent%2520changes", "Hit"),
        record(10, "LHR61-P1", "GET", a, "/assets/app.js", "Miss"),
        record(400, "LHR61-P1", "GET", a, "/assets/app.js", "Hit"),
        record(30, "LHR61-P1", "GET", a, "/api/pages", "Miss"),
        record(60, "LHR61-P1", "POST", a, "/mcp", "Miss"),
        record(61, "LHR61-P1", "POST", a, "/mcp", "Miss"),
    ];
    let header = format!("#Version: 1.0\n#Fields: {FIELDS}\n");
    let s3 = dir.join("s3");
    std::fs::create_dir(&s3).unwrap();
    let gz = std::fs::File::create(s3.join("E2EXAMPLE.2026-01-05-10.a1b2.gz")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(gz, flate2::Compression::default());
    write!(gz, "{header}").unwrap();
    for i in [5, 0, 9, 12, 3, 14, 7] {
        writeln!(gz, "{}", lines[i]).unwrap();
    }
    gz.finish().unwrap();
    let plain = dir.join("E2EXAMPLE.2026-01-05-10.c3d4");
    let mut text = header;
    for i in [11, 8, 1, 13, 6, 2, 10, 4] {
        text += &lines[i];
        text.push('\n');
    }
    std::fs::write(&plain, text).unwrap();
    vec![s3, plain]
}

fn behaviour<'a>(replay: &'a serde_json::Value, pattern: &str) -> &'a serde_json::Value {
    replay["behaviors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["label"] == pattern)
        .unwrap_or_else(|| panic!("no behaviour {pattern}"))
}

#[test]
fn simulate_prints_actual_beside_predicted_per_behaviour_and_edge() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_logs(dir.path());
    let output = coldfront()
        .args([
            "cdn",
            "simulate",
            "--format",
            "cloudfront",
            "--ttl",
            "300",
            "--json",
            "--trace",
        ])
        .args(&paths)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["logs"]["requests"], 15);
    assert_eq!(json["logs"]["files"].as_array().unwrap().len(), 2);
    let current = &json["current"]["replay"];
    let pages = behaviour(current, "*");
    // 9 page reads and a POST; hits at 20, 59, 100 (acme), 50 and 75 (beta).
    assert_eq!(pages["requests"], 10);
    assert_eq!(pages["cacheable"], 9);
    assert_eq!(pages["actual_hits"], 5);
    assert_eq!(pages["simulated_hits"], 5);
    assert_eq!(pages["simulated_error"], 0.0);
    let assets = behaviour(current, "/assets/*");
    assert_eq!(
        (assets["actual_hits"].as_u64(), assets["simulated_hits"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(behaviour(current, "/mcp*")["requests"], 2);
    assert_eq!(behaviour(current, "/mcp*")["simulated_hits"], 0);
    let edges: Vec<&str> = current["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert_eq!(edges, ["LHR61-P1", "IAD89-C1"]);
    assert_eq!(current["overall"]["actual_hits"], 6);
    // The proposed 300 s TTL keeps acme's page from 0: the read at 90 becomes a hit.
    let proposed = &json["proposed"]["replay"];
    assert_eq!(json["proposed"]["same_as_current"], false);
    assert_eq!(behaviour(proposed, "*")["simulated_hits"], 6);
    assert_eq!(behaviour(proposed, "*")["actual_hits"], 5);

    let output = coldfront()
        .args([
            "cdn",
            "simulate",
            "--format",
            "cloudfront",
            "--current-ttl",
            "60",
            "--ttl",
            "300",
            "--trace",
        ])
        .args(&paths)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "2 file(s) (2 standard, 0 real-time), 15 requests",
        "Current policy (page TTL 60 s",
        "Proposed policy (page TTL 300 s",
        "IAD89-C1",
        "/assets/*",
        "Workload model of preset typical",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    assert!(!text.contains('\u{1b}'), "NO_COLOR: no escape codes");
}

#[test]
fn a_malformed_line_names_file_line_and_field_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("E2EXAMPLE.2026-01-05-10.bad");
    let good = record(0, "LHR61-P1", "GET", "a", "/P", "Hit");
    let bad = good.replacen("10:00:00", "10:61:00", 1);
    std::fs::write(&path, format!("#Version: 1.0\n#Fields: {FIELDS}\n{good}\n{bad}\n")).unwrap();
    for command in [
        ["cdn", "simulate", "--format", "cloudfront"].as_slice(),
        ["cdn", "fit"].as_slice(),
    ] {
        let output = coldfront().args(command).arg("--trace").arg(&path).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{command:?}");
        let err = stderr(&output);
        assert!(
            err.contains(&format!("{}:4: field `time` (column 2) = \"10:61:00\"", path.display())),
            "{err}"
        );
    }
    let output = coldfront()
        .args(["cdn", "simulate", "--trace", "a.csv", "b.csv"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--format cloudfront takes many"),
        "{}",
        stderr(&output)
    );
    for (args, expected) in [
        (
            ["--format", "cloudfront", "--capacity", "10"],
            "--capacity does not apply to --format cloudfront",
        ),
        (
            ["--format", "csv", "--current-ttl", "60"],
            "--current-ttl applies to --format cloudfront only",
        ),
    ] {
        let output = coldfront()
            .args(["cdn", "simulate"])
            .args(args)
            .arg("--trace")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(stderr(&output).contains(expected), "{}", stderr(&output));
    }
    let output = coldfront()
        .args([
            "cdn",
            "simulate",
            "--format",
            "cloudfront",
            "--fields",
            "timestamp,cs-method",
            "--trace",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--fields: the field list has no `x-edge-location`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn realtime_logs_with_fields() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kinesis.txt");
    let rec = |t: &str, result: &str| format!("{t}\tGET\tacme.wiki.example\t/Main_Page?x=1\tFRA56-P3\t{result}\n");
    std::fs::write(&path, rec("1767607230.5", "Hit") + &rec("1767607200.25", "Miss")).unwrap();
    let output = coldfront()
        .args(["cdn", "simulate", "--format", "cloudfront", "--json"])
        .args([
            "--fields",
            "timestamp,cs-method,cs-host,cs-uri-stem,x-edge-location,x-edge-result-type",
        ])
        .arg("--trace")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["logs"]["realtime_files"], 1);
    assert_eq!(json["current"]["replay"]["overall"]["actual_hits"], 1);
    assert_eq!(json["current"]["replay"]["overall"]["simulated_hits"], 1);
    assert!((json["logs"]["span_s"].as_f64().unwrap() - 30.25).abs() < 1e-9);
}

#[test]
fn fit_writes_a_model_that_design_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_logs(dir.path());
    let model = dir.path().join("model/wiki.toml");
    let output = coldfront()
        .args(["cdn", "fit", "--preset", "seed", "--out"])
        .arg(&model)
        .arg("--trace")
        .args(&paths)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("2 wiki(s), 2 edge location(s)"),
        "{}",
        stdout(&output)
    );
    let text = std::fs::read_to_string(&model).unwrap();
    assert!(
        text.contains("preset = \"seed\"") && text.contains("wikis = 2"),
        "{text}"
    );
    let design = dir.path().join("design");
    let output = coldfront()
        .args(["cdn", "design", "--json", "--config"])
        .arg(&model)
        .arg("--out")
        .arg(&design)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(design.join("CDN_Caching.md").is_file());

    // Without --out the model file goes to standard output; --json carries it too.
    let output = coldfront()
        .args(["cdn", "fit", "--trace"])
        .args(&paths)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("[workload]"));
    let output = coldfront()
        .args(["cdn", "fit", "--json", "--trace"])
        .args(&paths)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["fit"]["workload"]["wikis"], 2);
    assert!(json["toml"].as_str().unwrap().contains("[workload]"));
}

#[test]
fn help_has_examples() {
    for command in [["cdn", "fit", "--help"], ["cdn", "simulate", "--help"]] {
        let output = coldfront().args(command).output().unwrap();
        assert_eq!(output.status.code(), Some(0));
        let text = stdout(&output);
        assert!(text.contains("Examples:") && text.contains("--trace"), "{text}");
    }
}

#[test]
fn a_distribution_file_gives_the_behaviours() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_logs(dir.path());
    let behavior = |pattern: &str, policy: &str| {
        format!(
            r#"{{"PathPattern": "{pattern}", "TargetOriginId": "o", "ViewerProtocolPolicy": "https-only",
               "AllowedMethods": {{"Quantity": 2, "Items": ["GET", "HEAD"], "CachedMethods": {{"Quantity": 2, "Items": ["GET", "HEAD"]}}}},
               "Compress": true, "FunctionAssociations": {{"Quantity": 0}}, "CachePolicyId": "{policy}"}}"#
        )
    };
    let default = behavior("*", "4135ea2d-6df8-44a3-9df3-4b5a84be39ad").replace(r#""PathPattern": "*", "#, "");
    let dist = dir.path().join("dist.json");
    std::fs::write(
        &dist,
        format!(
            r#"{{"ETag": "E1", "DistributionConfig": {{"DefaultCacheBehavior": {default},
               "CacheBehaviors": {{"Quantity": 1, "Items": [{}]}}}}}}"#,
            behavior("/assets/*", "658327ea-f89d-4fab-a63d-7e88639e58f6")
        ),
    )
    .unwrap();
    let output = coldfront()
        .args(["cdn", "simulate", "--format", "cloudfront", "--json", "--distribution"])
        .arg(&dist)
        .arg("--trace")
        .args(&paths)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let current = &json["current"]["replay"];
    let labels: Vec<&str> = current["behaviors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["/assets/*", "*"]);
    // Pages are not cached under CachingDisabled: CloudFront's 5 page hits are all misses here.
    let pages = behaviour(current, "*");
    assert_eq!(
        (pages["actual_hits"].as_u64(), pages["simulated_hits"].as_u64()),
        (Some(5), Some(0))
    );
    assert!(json["logs"]["behaviors_from"].as_str().unwrap().contains("dist.json"));
}

#[test]
fn a_sampling_rate_scales_the_counts_and_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kinesis.txt");
    let rec = |t: &str, result: &str| format!("{t}\tGET\tacme.wiki.example\t/Main_Page\tFRA56-P3\t{result}\n");
    std::fs::write(
        &path,
        rec("1767607200.25", "Miss") + &rec("1767607230.5", "Hit") + &rec("1767607250", "Hit"),
    )
    .unwrap();
    let fields = "timestamp,cs-method,cs-host,cs-uri-stem,x-edge-location,x-edge-result-type";
    let run = |extra: &[&str]| {
        coldfront()
            .args(["cdn", "simulate", "--format", "cloudfront", "--fields", fields])
            .args(extra)
            .arg("--trace")
            .arg(&path)
            .output()
            .unwrap()
    };
    let output = run(&["--sampling-rate", "10", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["logs"]["requests"], 3);
    assert_eq!(json["logs"]["sampling_rate_pct"], 10);
    assert_eq!(json["logs"]["estimated_requests"], 30);
    assert_eq!(json["current"]["replay"]["estimated_requests"], 30);
    let output = run(&["--sampling-rate", "10"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("3 requests (a 10 % sample: about 30 requests)"), "{text}");
    assert!(
        text.contains("the logs are a 10 % sample: 3 requests through the cache stand for about 30")
            && text.contains("estimates from the sample"),
        "{text}"
    );
    for bad in ["0", "101", "ten"] {
        let output = run(&["--sampling-rate", bad]);
        assert_eq!(output.status.code(), Some(2), "{bad}: {}", stderr(&output));
        assert!(stderr(&output).contains("--sampling-rate"), "{}", stderr(&output));
    }
    // Standard logs hold every request: a rate is a mistake.
    let standard = write_logs(dir.path());
    let output = coldfront()
        .args([
            "cdn",
            "simulate",
            "--format",
            "cloudfront",
            "--sampling-rate",
            "10",
            "--trace",
        ])
        .args(&standard)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("real-time logs only"), "{}", stderr(&output));
    let output = coldfront()
        .args([
            "cdn",
            "fit",
            "--fields",
            fields,
            "--sampling-rate",
            "10",
            "--json",
            "--trace",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["fit"]["estimated_requests"], 30);
    assert!(json["toml"].as_str().unwrap().contains("a 10 % sample"));
}
