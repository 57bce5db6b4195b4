//! The AWS path against recorded CloudFront responses, with the SDK's own replay client:
//! no request leaves the process.

use aws_sdk_cloudfront::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime::client::http::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;

fn recorded(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/cloudfront/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn event(method: &str, uri: &str, status: u16, body: &str, etag: Option<&str>) -> ReplayEvent {
    let mut response = http::Response::builder()
        .status(status)
        .header("content-type", "text/xml");
    if let Some(etag) = etag {
        response = response.header("ETag", etag);
    }
    ReplayEvent::new(
        http::Request::builder()
            .method(method)
            .uri(uri)
            .body(SdkBody::empty())
            .unwrap(),
        response.body(SdkBody::from(body.to_owned())).unwrap(),
    )
}

fn client(replay: &StaticReplayClient) -> aws_sdk_cloudfront::Client {
    let config = aws_sdk_cloudfront::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "replay"))
        .http_client(replay.clone())
        .build();
    aws_sdk_cloudfront::Client::from_conf(config)
}

const BASE: &str = "https://cloudfront.amazonaws.com/2020-05-31/function/coldfront-auth-test";

#[tokio::test]
async fn creates_the_function_then_reads_compute_utilization() {
    let replay = StaticReplayClient::new(vec![
        event(
            "GET",
            &format!("{BASE}/describe?Stage=DEVELOPMENT"),
            404,
            &recorded("describe_function_not_found.xml"),
            None,
        ),
        event(
            "POST",
            "https://cloudfront.amazonaws.com/2020-05-31/function",
            201,
            &recorded("create_function.xml"),
            Some("E3UN6WX5RRO2AG"),
        ),
        event(
            "POST",
            &format!("{BASE}/test"),
            200,
            &recorded("test_function.xml"),
            None,
        ),
    ]);
    let (code, probe) = edge_auth::budget::rs256_probe_function().unwrap();
    let report = edge_auth::aws::publish_and_test(&client(&replay), "coldfront-auth-test", &code, &probe)
        .await
        .unwrap();
    assert!(report.created);
    assert_eq!(report.compute_utilization, Some(34));
    assert_eq!(report.utilization_band.as_deref(), Some("fine (1-50)"));
    assert_eq!(report.execution_logs, vec!["verified kid rs-1".to_owned()]);
    let requests = replay.actual_requests().collect::<Vec<_>>();
    assert_eq!(requests.len(), 3);
    // TestFunction names the ETag CreateFunction returned, and the DEVELOPMENT stage.
    let test = &requests[2];
    assert_eq!(test.headers().get("if-match"), Some("E3UN6WX5RRO2AG"));
    let body = std::str::from_utf8(test.body().bytes().unwrap()).unwrap();
    assert!(body.contains("<Stage>DEVELOPMENT</Stage>"), "{body}");
    assert!(body.contains("<EventObject>"), "{body}");
    // CreateFunction carries the function's code and runtime; LIVE is never published.
    let create = std::str::from_utf8(requests[1].body().bytes().unwrap()).unwrap();
    assert!(create.contains("cloudfront-js-2.0"), "{create}");
    assert!(requests.iter().all(|r| !r.uri().contains("/publish")));
}

#[tokio::test]
async fn updates_an_existing_function_and_reports_throttling() {
    let replay = StaticReplayClient::new(vec![
        event(
            "GET",
            &format!("{BASE}/describe?Stage=DEVELOPMENT"),
            200,
            &recorded("describe_function.xml"),
            Some("ETAG1"),
        ),
        event("PUT", BASE, 200, &recorded("create_function.xml"), Some("ETAG2")),
        event(
            "GET",
            &format!("{BASE}/describe?Stage=DEVELOPMENT"),
            200,
            &recorded("describe_function.xml"),
            Some("ETAG2"),
        ),
        event(
            "POST",
            &format!("{BASE}/test"),
            200,
            &recorded("test_function_throttled.xml"),
            None,
        ),
    ]);
    let (code, probe) = edge_auth::budget::rs256_probe_function().unwrap();
    let report = edge_auth::aws::publish_and_test(&client(&replay), "coldfront-auth-test", &code, &probe)
        .await
        .unwrap();
    assert!(!report.created);
    assert_eq!(report.compute_utilization, Some(100));
    assert_eq!(report.utilization_band.as_deref(), Some("likely throttled (71-100)"));
    assert!(
        report
            .function_error_message
            .unwrap()
            .contains("maximum allowed compute time")
    );
    let requests = replay.actual_requests().collect::<Vec<_>>();
    assert_eq!(requests[1].headers().get("if-match"), Some("ETAG1"));
    assert_eq!(requests[3].headers().get("if-match"), Some("ETAG2"));
}

#[tokio::test]
async fn a_service_error_is_reported_with_the_operation() {
    let replay = StaticReplayClient::new(vec![event(
        "GET",
        &format!("{BASE}/describe?Stage=DEVELOPMENT"),
        403,
        r#"<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized</Message></Error></ErrorResponse>"#,
        None,
    )]);
    let err = edge_auth::aws::publish_and_test(
        &client(&replay),
        "coldfront-auth-test",
        "function handler(e){return e.request}",
        &serde_json::json!({}),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("DescribeFunction"), "{err}");
}
