//! CloudFront logs in: a generated standard log (gzip and plain files, comment lines,
//! escaped fields, lines unsorted within and across files, POSTs) with known per-object
//! timings, replayed for predicted against actual hit ratios per behaviour; real-time
//! logs; malformed lines named by FILE:LINE and field; the fitted model loads.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use cdn_design::Model;
use cdn_design::logs::{Behaviors, EdgeResult, LogOptions, Method, STANDARD_FIELDS, fit, read_logs, replay};

/// One request as CloudFront would log it, `t_s` seconds after 2026-01-05 10:00:00 UTC.
struct Line {
    t_s: u32,
    edge: &'static str,
    method: &'static str,
    host: &'static str,
    /// As logged: already URL-encoded the way CloudFront writes it.
    stem: &'static str,
    query: &'static str,
    result: &'static str,
    bytes: u32,
}

fn line(
    t_s: u32,
    edge: &'static str,
    method: &'static str,
    host: &'static str,
    stem: &'static str,
    result: &'static str,
) -> Line {
    Line {
        t_s,
        edge,
        method,
        host,
        stem,
        query: "-",
        result,
        bytes: 20_000,
    }
}

fn render(l: &Line) -> String {
    let (h, m, s) = (10 + l.t_s / 3600, (l.t_s / 60) % 60, l.t_s % 60);
    let status = match l.result {
        "Error" => "502",
        "Redirect" => "301",
        _ => "200",
    };
    let detailed = if l.result == "Error" {
        "OriginDnsError"
    } else {
        l.result
    };
    let fields: Vec<String> = vec![
        "2026-01-05".into(),
        format!("{h:02}:{m:02}:{s:02}"),
        l.edge.into(),
        l.bytes.to_string(),
        "192.0.2.100".into(),
        l.method.into(),
        "d111111abcdef8.cloudfront.net".into(),
        l.stem.into(),
        status.into(),
        "-".into(),
        // An escaped User-Agent, as in AWS's own example.
        "Mozilla/5.0%20(X11;%20Linux%20x86_64)".into(),
        l.query.into(),
        "-".into(),
        l.result.into(),
        "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==".into(),
        l.host.into(),
        "https".into(),
        "23".into(),
        "0.001".into(),
        "-".into(),
        "TLSv1.3".into(),
        "TLS_AES_128_GCM_SHA256".into(),
        l.result.into(),
        "HTTP/2.0".into(),
        "-".into(),
        "-".into(),
        "11040".into(),
        "0.001".into(),
        detailed.into(),
        "text/html".into(),
        "78".into(),
        "-".into(),
        "-".into(),
    ];
    assert_eq!(fields.len(), STANDARD_FIELDS.len());
    fields.join("\t")
}

fn header() -> String {
    format!("#Version: 1.0\n#Fields: {}\n", STANDARD_FIELDS.join(" "))
}

fn write_plain(path: &Path, lines: &[&Line]) {
    let mut text = header();
    for l in lines {
        text += &render(l);
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn write_gzip(path: &Path, lines: &[&Line]) {
    let file = std::fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    gz.write_all(header().as_bytes()).unwrap();
    for l in lines {
        writeln!(gz, "{}", render(l)).unwrap();
    }
    gz.finish().unwrap();
}

/// The distribution's traffic, with CloudFront's answers as a 60 s page TTL gives them,
/// except one asset that CloudFront evicted early (a Miss where a year's TTL says Hit).
fn traffic() -> Vec<Line> {
    let a = "acme.wiki.example";
    let b = "beta.wiki.example";
    vec![
        // /Main_Page on acme at LHR: fetched at 0 (expires 60), refetched at 61 (expires 121).
        line(0, "LHR61-P1", "GET", a, "/Main_Page", "Miss"),
        line(10, "LHR61-P1", "GET", a, "/Main_Page", "Hit"),
        line(30, "LHR61-P1", "GET", a, "/Main_Page", "RefreshHit"),
        // A query string is not in the page key: the same object.
        Line {
            query: "utm_source=mail",
            ..line(45, "LHR61-P1", "GET", a, "/Main_Page", "Hit")
        },
        // POST is never cached: straight to the origin, and no effect on the copy.
        line(50, "LHR61-P1", "POST", a, "/Main_Page", "Miss"),
        line(59, "LHR61-P1", "HEAD", a, "/Main_Page", "Hit"),
        line(61, "LHR61-P1", "GET", a, "/Main_Page", "Miss"),
        line(200, "LHR61-P1", "GET", a, "/Main_Page", "Miss"),
        // Another edge location is another cache.
        line(5, "IAD89-C1", "GET", a, "/Main_Page", "Miss"),
        line(20, "IAD89-C1", "GET", a, "/Main_Page", "Hit"),
        // Host is in the page key: beta's Main_Page is another object.
        line(15, "LHR61-P1", "GET", b, "/Main_Page", "Miss"),
        // The viewer asked for /Caf%C3%A9; CloudFront logs the % as %25.
        line(100, "LHR61-P1", "GET", a, "/Caf%25C3%25A9", "Miss"),
        line(110, "LHR61-P1", "GET", a, "/Caf%25C3%25A9", "Hit"),
        // Uncached behaviours.
        line(70, "LHR61-P1", "POST", a, "/mcp", "Miss"),
        line(80, "LHR61-P1", "GET", a, "/api/pages", "Miss"),
        line(81, "LHR61-P1", "GET", a, "/api/pages", "Miss"),
        // An asset CloudFront dropped before its year was up.
        line(0, "LHR61-P1", "GET", a, "/assets/app.3f9a1c.js", "Miss"),
        line(100, "LHR61-P1", "GET", a, "/assets/app.3f9a1c.js", "Hit"),
        line(300, "LHR61-P1", "GET", a, "/assets/app.3f9a1c.js", "Miss"),
        // Left out of every figure.
        line(12, "LHR61-P1", "GET", a, "/Main_Page", "Redirect"),
        line(13, "LHR61-P1", "GET", a, "/Other", "Error"),
    ]
}

/// Writes the traffic over two gzip files in a directory and one plain file, each file's
/// lines out of order, periods interleaved across files.
fn write_logs(dir: &Path) -> Vec<PathBuf> {
    let t = traffic();
    let pick = |idx: &[usize]| idx.iter().map(|&i| &t[i]).collect::<Vec<_>>();
    let s3 = dir.join("s3");
    std::fs::create_dir(&s3).unwrap();
    write_gzip(
        &s3.join("E2EXAMPLE.2026-01-05-10.a1b2c3.gz"),
        &pick(&[6, 0, 11, 3, 19, 16]),
    );
    write_gzip(
        &s3.join("E2EXAMPLE.2026-01-05-10.d4e5f6.gz"),
        &pick(&[17, 1, 8, 13, 20, 7]),
    );
    let plain = dir.join("E2EXAMPLE.2026-01-05-10.g7h8i9");
    write_plain(&plain, &pick(&[14, 2, 10, 18, 5, 4, 9, 12, 15]));
    vec![s3, plain]
}

#[test]
fn standard_logs_predicted_against_actual_per_behaviour() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_logs(dir.path());
    let logs = read_logs(&paths, &LogOptions::default()).unwrap();
    assert_eq!(logs.files.len(), 3);
    assert_eq!(logs.files_by_kind, (3, 0));
    assert_eq!(logs.requests.len(), traffic().len());
    assert_eq!(logs.skipped_lines, 6, "two header lines per file");
    assert!(logs.requests.windows(2).all(|w| w[0].time_ms <= w[1].time_ms), "sorted");
    let views: Vec<_> = logs.requests.iter().map(|r| logs.view(r)).collect();
    let cafe = views.iter().find(|r| r.path.starts_with("/Caf")).unwrap();
    assert_eq!(cafe.path, "/Caf%C3%A9", "decoded once: the path the viewer sent");
    assert_eq!(cafe.user_agent, Some("Mozilla/5.0 (X11; Linux x86_64)"));
    assert_eq!(cafe.host, Some("acme.wiki.example"));
    let utm = views.iter().find(|r| r.query.is_some()).unwrap();
    assert_eq!(utm.query, Some("utm_source=mail"));
    assert!(logs.requests.iter().any(|r| r.method == Method::Post));
    assert_eq!(
        logs.requests
            .iter()
            .filter(|r| r.result == EdgeResult::RefreshHit)
            .count(),
        1
    );

    let behaviors = Behaviors::from_model(&Model::preset("typical").unwrap());
    let result = replay(&logs, &behaviors).unwrap();
    assert_eq!(result.excluded, 2, "the redirect and the error");
    let row = |pattern: &str| result.behaviors.iter().find(|r| r.label == pattern).unwrap();

    let pages = row("*");
    assert_eq!(pages.requests, 13);
    assert_eq!(pages.cacheable, 12, "the POST is not");
    assert_eq!(pages.actual_hits, Some(6));
    assert_eq!(pages.simulated_hits, 6, "the simulator does what CloudFront did");
    assert_eq!(pages.simulated_error, Some(0.0));
    assert!(pages.model_hit_ratio > 0.0 && pages.model_hit_ratio < 1.0);

    let assets = row("/assets/*");
    assert_eq!(
        (assets.requests, assets.actual_hits, assets.simulated_hits),
        (3, Some(1), 2)
    );
    // A year's TTL: the formula, like the simulator, misses only the first request.
    assert!((assets.model_hits - 2.0).abs() < 1e-9, "{}", assets.model_hits);
    let error = assets.simulated_error.unwrap();
    assert!((error - 1.0 / 3.0).abs() < 1e-12, "{error}");

    for uncached in ["/api/*", "/mcp*"] {
        let r = row(uncached);
        assert_eq!(
            (r.cacheable, r.actual_hits, r.simulated_hits),
            (0, Some(0), 0),
            "{uncached}"
        );
        assert!(r.model_hits.abs() < 1e-12);
    }
    assert_eq!(row("/api/*").requests, 2);

    assert_eq!(result.overall.requests, 19);
    assert_eq!(result.overall.actual_hits, Some(7));
    assert_eq!(result.overall.simulated_hits, 8);
    let iad = result.edges.iter().find(|e| e.label == "IAD89-C1").unwrap();
    assert_eq!((iad.requests, iad.actual_hits, iad.simulated_hits), (2, Some(1), 1));
    assert_eq!(result.edges[0].label, "LHR61-P1", "busiest first");

    // The same logs under a longer page TTL: /Main_Page's reads at 61 and 200 become hits.
    let mut longer = Model::preset("typical").unwrap();
    longer.cache.page_ttl_s = 300.0;
    let proposed = replay(&logs, &Behaviors::from_model(&longer)).unwrap();
    let pages = proposed.behaviors.iter().find(|r| r.label == "*").unwrap();
    assert_eq!(pages.ttl_s, Some(300.0));
    assert_eq!(pages.simulated_hits, 8);
    assert_eq!(pages.actual_hits, Some(6), "what CloudFront did does not change");
}

#[test]
fn malformed_lines_name_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let good = render(&line(0, "LHR61-P1", "GET", "a", "/P", "Hit"));
    let cases: Vec<(String, &str)> = vec![
        (
            good.replacen("2026-01-05", "2026-13-05", 1),
            "field `date` (column 1) = \"2026-13-05\"",
        ),
        (good.replacen("10:00:00", "10:00", 1), "field `time` (column 2)"),
        (
            good.replacen("\t20000\t", "\tlots\t", 1),
            "field `sc-bytes` (column 4) = \"lots\"",
        ),
        (good.replacen("\t/P\t", "\tP\t", 1), "field `cs-uri-stem` (column 8)"),
        (
            good.split('\t').take(20).collect::<Vec<_>>().join("\t"),
            "20 tab-separated fields",
        ),
    ];
    for (i, (bad, expected)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.log"));
        // Line 5: after the two headers, a good record and a blank line.
        std::fs::write(&path, format!("{}{good}\n\n{bad}\n", header())).unwrap();
        let err = read_logs(std::slice::from_ref(&path), &LogOptions::default())
            .unwrap_err()
            .to_string();
        let at = format!("{}:5: ", path.display());
        assert!(err.starts_with(&at), "{err}");
        assert!(err.contains(expected), "{err}");
    }
    // In a gzip file the line is the decompressed text's.
    let gz = dir.path().join("bad.gz");
    write_gzip(
        &gz,
        &[
            &line(0, "LHR61-P1", "GET", "a", "/P", "Hit"),
            &line(1, "LHR61-P1", "", "a", "/P", "Hit"),
        ],
    );
    let err = read_logs(std::slice::from_ref(&gz), &LogOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("{}:4: field `cs-method`", gz.display())),
        "{err}"
    );
    // A standard record without its headers, and a format version CloudFront does not write.
    let headless = dir.path().join("headless.log");
    std::fs::write(&headless, format!("{good}\n")).unwrap();
    let err = read_logs(std::slice::from_ref(&headless), &LogOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "{}:1: a standard log record before any #Fields",
            headless.display()
        )),
        "{err}"
    );
    let v2 = dir.path().join("v2.log");
    std::fs::write(&v2, header().replace("1.0", "2.0") + &good + "\n").unwrap();
    let err = read_logs(std::slice::from_ref(&v2), &LogOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&format!("{}:1: #Version 2.0", v2.display())), "{err}");
    // Header-only logs hold no requests.
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, header()).unwrap();
    let err = read_logs(&[empty], &LogOptions::default()).unwrap_err().to_string();
    assert!(err.contains("no requests"), "{err}");
}

#[test]
fn realtime_logs_with_a_configured_field_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kinesis-records.txt");
    let fields = "timestamp,c-ip,sc-status,sc-bytes,cs-method,cs-host,cs-uri-stem,x-edge-location,x-edge-result-type";
    let record = |t: &str, stem: &str, result: &str| {
        format!("{t}\t192.0.2.1\t200\t1500\tGET\tacme.wiki.example\t{stem}\tFRA56-P3\t{result}\n")
    };
    // Out of order, with the query string inside cs-uri-stem as real-time logs write it.
    let text = record("1767607230.250", "/Main_Page?utm=x", "Hit")
        + &record("1767607200.123", "/Main_Page", "Miss")
        + &record("1767607300.9", "/Main_Page", "Miss");
    std::fs::write(&path, text).unwrap();
    let options = LogOptions {
        realtime_fields: Some(fields.split(',').map(str::to_owned).collect()),
    };
    let logs = read_logs(std::slice::from_ref(&path), &options).unwrap();
    assert_eq!(logs.files_by_kind, (0, 1));
    let times: Vec<i64> = logs.requests.iter().map(|r| r.time_ms).collect();
    assert_eq!(times, [1_767_607_200_123, 1_767_607_230_250, 1_767_607_300_900]);
    let second = logs.view(&logs.requests[1]);
    assert_eq!(second.query, Some("utm=x"));
    assert_eq!(second.path, "/Main_Page");
    assert_eq!(logs.view(&logs.requests[0]).host, Some("acme.wiki.example"));
    assert_eq!(logs.edges, ["FRA56-P3"]);
    let result = replay(&logs, &Behaviors::from_model(&Model::preset("typical").unwrap())).unwrap();
    // TTL 60: hit at +30.127 s, miss at +100.777 s; CloudFront agreed.
    assert_eq!(result.overall.actual_hits, Some(1));
    assert_eq!(result.overall.simulated_hits, 1);

    // A record that does not match the field list names the field.
    std::fs::write(&path, record("1767607200,123", "/P", "Hit")).unwrap();
    let err = read_logs(std::slice::from_ref(&path), &options)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("{}:1: field `timestamp` (column 1)", path.display())),
        "{err}"
    );
    // Without --fields every documented field is expected.
    std::fs::write(&path, record("1767607200.123", "/P", "Hit")).unwrap();
    let err = read_logs(std::slice::from_ref(&path), &LogOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("9 tab-separated fields") && err.contains("--fields"),
        "{err}"
    );
}

#[test]
fn fitted_model_loads_as_a_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_logs(dir.path());
    let logs = read_logs(&paths, &LogOptions::default()).unwrap();
    let base = Model::preset("seed").unwrap();
    let behaviors = Behaviors::from_model(&base);
    let fitted = fit(&logs, &behaviors, &base).unwrap();
    assert_eq!(fitted.workload.wikis, 2, "two Host headers");
    assert_eq!(fitted.edge_shares.len(), 2);
    assert_eq!(fitted.edge_shares[0].0, "LHR61-P1");
    let toml = fitted.to_toml("the test's logs");
    let model = Model::from_toml_str(&toml, "fit.toml").unwrap_or_else(|e| panic!("{e}\n{toml}"));
    assert_eq!(model.workload.wikis, 2);
    assert_eq!(model.workload.distinct_assets, 1);
    assert!(model.workload.writes_per_wiki_per_day > 0.0, "the POSTs");
    assert_eq!(model.workload.edge_locations, fitted.workload.edge_locations);
    assert!(toml.contains("preset = \"seed\""), "{toml}");
    assert!(toml.contains("LHR61-P1"), "{toml}");
    let _ = cdn_design::evaluate(&model);
}

/// `aws cloudfront get-distribution-config` output, trimmed to the parts that matter and a
/// few that do not (they are ignored).
const DISTRIBUTION: &str = r#"{
  "ETag": "E2QWRUHEXAMPLE",
  "DistributionConfig": {
    "CallerReference": "wiki-2025",
    "Comment": "",
    "Enabled": true,
    "DefaultCacheBehavior": {
      "TargetOriginId": "wiki-lambda",
      "TrustedSigners": { "Enabled": false, "Quantity": 0 },
      "ViewerProtocolPolicy": "redirect-to-https",
      "AllowedMethods": {
        "Quantity": 7,
        "Items": ["HEAD", "DELETE", "POST", "GET", "OPTIONS", "PUT", "PATCH"],
        "CachedMethods": { "Quantity": 2, "Items": ["HEAD", "GET"] }
      },
      "SmoothStreaming": false,
      "Compress": true,
      "LambdaFunctionAssociations": { "Quantity": 0 },
      "FunctionAssociations": { "Quantity": 0 },
      "FieldLevelEncryptionId": "",
      "CachePolicyId": "a1b2c3d4-pages"
    },
    "CacheBehaviors": {
      "Quantity": 2,
      "Items": [
        {
          "PathPattern": "/static/*",
          "TargetOriginId": "assets",
          "ViewerProtocolPolicy": "redirect-to-https",
          "AllowedMethods": { "Quantity": 2, "Items": ["HEAD", "GET"], "CachedMethods": { "Quantity": 2, "Items": ["HEAD", "GET"] } },
          "Compress": true,
          "FunctionAssociations": { "Quantity": 0 },
          "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"
        },
        {
          "PathPattern": "/api/*",
          "TargetOriginId": "wiki-lambda",
          "ViewerProtocolPolicy": "redirect-to-https",
          "AllowedMethods": { "Quantity": 2, "Items": ["HEAD", "GET"], "CachedMethods": { "Quantity": 2, "Items": ["HEAD", "GET"] } },
          "Compress": true,
          "FunctionAssociations": { "Quantity": 0 },
          "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
        }
      ]
    }
  }
}"#;

/// `aws cloudfront get-cache-policy --id a1b2c3d4-pages` output.
const PAGE_POLICY: &str = r#"{
  "ETag": "E1EXAMPLE",
  "CachePolicy": {
    "Id": "a1b2c3d4-pages",
    "LastModifiedTime": "2025-11-02T10:00:00+00:00",
    "CachePolicyConfig": {
      "Comment": "pages",
      "Name": "wiki-pages",
      "DefaultTTL": 0,
      "MaxTTL": 86400,
      "MinTTL": 0,
      "ParametersInCacheKeyAndForwardedToOrigin": {
        "EnableAcceptEncodingGzip": true,
        "EnableAcceptEncodingBrotli": true,
        "HeadersConfig": { "HeaderBehavior": "whitelist", "Headers": { "Quantity": 1, "Items": ["Host"] } },
        "CookiesConfig": { "CookieBehavior": "none" },
        "QueryStringsConfig": { "QueryStringBehavior": "whitelist", "QueryStrings": { "Quantity": 1, "Items": ["lang"] } }
      }
    }
  }
}"#;

#[test]
fn a_distributions_own_behaviours_and_policies() {
    use cdn_design::logs::{RequestView, load_distribution};
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist.json");
    let policy = dir.path().join("pages.json");
    std::fs::write(&dist, DISTRIBUTION).unwrap();
    std::fs::write(&policy, PAGE_POLICY).unwrap();
    let distribution = load_distribution(&dist, &[&policy]).unwrap();
    assert_eq!(distribution.ordered.len(), 2);
    let model = Model::preset("typical").unwrap();
    let behaviors = Behaviors::from_distribution(&distribution, &cdn_design::recommend(&model));
    let ttl = |pattern: &str| behaviors.rules().find(|r| r.pattern() == pattern).unwrap().ttl_s;
    assert!((ttl("*") - 60.0).abs() < 1e-9, "the origin's s-maxage=60");
    assert!(
        (ttl("/static/*") - 86_400.0).abs() < 1e-9,
        "no route: CachingOptimized's DefaultTTL"
    );
    assert!(ttl("/api/*").abs() < 1e-9, "CachingDisabled");
    let key = |path: &'static str, query: Option<&'static str>| {
        behaviors
            .classify(&RequestView {
                host: Some("acme.wiki.example"),
                query,
                ..RequestView::get(path)
            })
            .key
    };
    assert_eq!(
        key("/Main_Page", Some("lang=de&utm=1")),
        key("/Main_Page", Some("lang=de"))
    );
    assert_ne!(key("/Main_Page", Some("lang=de")), key("/Main_Page", Some("lang=en")));
    let assets = behaviors.classify(&RequestView::get("/static/app.js"));
    assert_eq!(behaviors.rule(assets.behavior).pattern(), "/static/*");
    assert!(assets.cacheable);

    let err = load_distribution(&dist, &[] as &[&Path]).unwrap_err().to_string();
    assert!(
        err.contains("cache policy a1b2c3d4-pages, which is not given") && err.contains("get-cache-policy --id"),
        "{err}"
    );
    std::fs::write(
        &dist,
        DISTRIBUTION.replace("\"CachePolicyId\": \"a1b2c3d4-pages\"", "\"ForwardedValues\": {}"),
    )
    .unwrap();
    let err = load_distribution(&dist, &[&policy]).unwrap_err().to_string();
    assert!(
        err.contains("CachePolicyId") && err.contains("ForwardedValues"),
        "{err}"
    );
}

/// A standard log record `t_s` seconds after 2026-01-05 10:00:00 UTC for the merge tests:
/// the object names its file and line, so the order can be checked.
fn merge_line(t_s: u32, stem: &'static str) -> Line {
    line(t_s, "LHR61-P1", "GET", "acme.wiki.example", stem, "Miss")
}

#[test]
fn many_files_merge_in_time_order_with_few_open_at_once() {
    use cdn_design::logs::LogStream;
    const STEMS: [&str; 4] = ["/A", "/B", "/C", "/D"];
    let dir = tempfile::tempdir().unwrap();
    // 48 files of ten minutes each, as CloudFront delivers a distribution's logs over
    // 8 hours, each a little out of order inside (a record 3 s late every 7th line),
    // and every 6th file overlapping the next one's first minute. Names are not in time
    // order: the merge must go by the records.
    let mut all: Vec<(u32, usize, usize)> = Vec::new();
    for f in 0..48usize {
        let start = (f as u32) * 600;
        let end = if f % 6 == 0 { start + 660 } else { start + 600 };
        let mut times: Vec<u32> = (start..end).step_by(2).collect();
        for i in (7..times.len()).step_by(7) {
            times.swap(i - 1, i);
        }
        let lines: Vec<Line> = times
            .iter()
            .enumerate()
            .map(|(i, &t)| merge_line(t, STEMS[i % 4]))
            .collect();
        let name = format!("E2EXAMPLE.2026-01-05.{:02}.gz", (f * 29) % 48);
        write_gzip(&dir.path().join(name), &lines.iter().collect::<Vec<_>>());
        all.extend(times.iter().map(|&t| (t, f, 0)));
    }
    let paths = vec![dir.path().to_owned()];
    let mut stream = LogStream::open(&paths, &LogOptions::default()).unwrap();
    let mut times = Vec::new();
    while let Some(request) = stream.next_request().unwrap() {
        times.push(request.time_ms);
    }
    assert_eq!(times.len(), all.len());
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order");
    assert!(
        stream.peak_open_files() <= 2,
        "{} files open at once; only two ever overlap",
        stream.peak_open_files()
    );
    let logs = stream.finish().unwrap();
    assert_eq!(logs.request_count, all.len() as u64);
    assert!(logs.requests.is_empty(), "the stream handed them out");
    assert_eq!(logs.files.len(), 48);
    // Whole, the same requests in the same order.
    let whole = read_logs(&paths, &LogOptions::default()).unwrap();
    assert_eq!(whole.requests.iter().map(|r| r.time_ms).collect::<Vec<_>>(), times);
    assert_eq!((whole.first_ms, whole.last_ms), (logs.first_ms, logs.last_ms));
}

#[test]
fn requests_of_one_second_keep_file_then_line_order() {
    use cdn_design::logs::LogStream;
    let dir = tempfile::tempdir().unwrap();
    write_plain(
        &dir.path().join("a"),
        &[&merge_line(5, "/a1"), &merge_line(3, "/a0"), &merge_line(5, "/a2")],
    );
    write_plain(&dir.path().join("b"), &[&merge_line(3, "/b0"), &merge_line(5, "/b1")]);
    let mut stream = LogStream::open(&[dir.path().to_owned()], &LogOptions::default()).unwrap();
    let mut paths = Vec::new();
    while let Some(request) = stream.next_request().unwrap() {
        paths.push(stream.view(&request).path.to_owned());
    }
    assert_eq!(paths, ["/a0", "/b0", "/a1", "/a2", "/b1"]);
}

#[test]
fn a_file_out_of_order_beyond_the_window_names_file_and_line() {
    use cdn_design::logs::REORDER_WINDOW;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("E2EXAMPLE.2026-01-05-10.late.gz");
    // In order, then one record 100 s older than the first: more than the window back.
    let mut lines: Vec<Line> = (0..REORDER_WINDOW as u32 + 10)
        .map(|i| merge_line(100 + i / 10, "/P"))
        .collect();
    lines.push(merge_line(0, "/late"));
    write_gzip(&path, &lines.iter().collect::<Vec<_>>());
    let err = read_logs(std::slice::from_ref(&path), &LogOptions::default())
        .unwrap_err()
        .to_string();
    // Two header lines, then the records: the late one is the last line.
    let late_line = REORDER_WINDOW + 10 + 3;
    assert!(
        err.starts_with(&format!("{}:{late_line}: ", path.display())) && err.contains("out of time order"),
        "{err}"
    );
    // Out of order within the window is put right.
    let mut lines: Vec<Line> = (0..100).map(|i| merge_line(100 + i, "/P")).collect();
    lines.push(merge_line(0, "/early"));
    write_gzip(&path, &lines.iter().collect::<Vec<_>>());
    let logs = read_logs(std::slice::from_ref(&path), &LogOptions::default()).unwrap();
    assert_eq!(logs.view(&logs.requests[0]).path, "/early");
}

#[test]
fn a_sampled_log_scales_counts_and_says_the_hit_ratio_is_an_estimate() {
    use cdn_design::logs::{Fitter, LogError, Replayer};
    let dir = tempfile::tempdir().unwrap();
    let paths = write_logs(dir.path());
    let logs = read_logs(&paths, &LogOptions::default()).unwrap();
    let model = Model::preset("typical").unwrap();
    let behaviors = Behaviors::from_model(&model);
    let replay_at = |pct: u8| {
        let mut replayer = Replayer::new(&behaviors).sampled(pct).unwrap();
        for r in &logs.requests {
            replayer.push(r, &logs.view(r), || logs.location(r)).unwrap();
        }
        replayer.finish(&logs).unwrap()
    };
    let whole = replay_at(100);
    let tenth = replay_at(10);
    assert_eq!(whole, replay(&logs, &behaviors).unwrap(), "100 % is no correction");
    assert_eq!(whole.estimated_requests, whole.logged);
    assert_eq!(tenth.estimated_requests, 10 * tenth.logged);
    // What the sample holds is what it holds; the model, at ten times the rates,
    // expects more hits.
    assert_eq!(tenth.overall.requests, whole.overall.requests);
    assert_eq!(tenth.overall.actual_hits, whole.overall.actual_hits);
    assert!(tenth.overall.model_hits > whole.overall.model_hits);
    let caveat = tenth.caveats.iter().find(|c| c.contains("10 % sample")).unwrap();
    assert!(
        caveat.contains("19 requests through the cache stand for about 190") && caveat.contains("estimates"),
        "{caveat}"
    );
    for bad in [0, 101] {
        assert!(matches!(
            Replayer::new(&behaviors).sampled(bad),
            Err(LogError::SamplingRate(b)) if b == bad
        ));
        assert!(Fitter::new(&behaviors).sampled(bad).is_err());
    }
    let fit_at = |pct: u8| {
        let mut fitter = Fitter::new(&behaviors).sampled(pct).unwrap();
        for r in &logs.requests {
            fitter.push(r, &logs.view(r));
        }
        fitter.finish(&logs, &model).unwrap()
    };
    let (whole, tenth) = (fit_at(100), fit_at(10));
    assert_eq!(whole, fit(&logs, &behaviors, &model).unwrap());
    assert!((tenth.page_reads_per_day - 10.0 * whole.page_reads_per_day).abs() < 1e-6);
    assert!((tenth.writes_per_day - 10.0 * whole.writes_per_day).abs() < 1e-6);
    assert_eq!(tenth.page_zipf_exponent, whole.page_zipf_exponent);
    assert_eq!(tenth.estimated_requests, 10 * whole.requests);
    assert!(tenth.to_toml("test").contains("a 10 % sample"));
}
