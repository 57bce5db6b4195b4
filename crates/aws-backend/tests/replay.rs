//! The AWS backend on recorded Lambda responses, with the SDK's own replay client (no
//! request leaves the process): a conflict then success, throttling on invoke, a SnapStart
//! REPORT with Restore Duration, a REPORT without Init Duration (proactive
//! initialisation), and AccessDenied — each handled as the backend promises.

use aws_backend::ColdStarts;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime::client::http::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use base64::Engine as _;

const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:wiki";

fn event(status: u16, headers: &[(&str, &str)], body: &str) -> ReplayEvent {
    let mut response = http::Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (name, value) in headers {
        response = response.header(*name, *value);
    }
    ReplayEvent::new(
        http::Request::builder()
            .uri("https://lambda.eu-west-1.amazonaws.com/")
            .body(SdkBody::empty())
            .unwrap(),
        response.body(SdkBody::from(body.to_owned())).unwrap(),
    )
}

fn configuration(status: &str) -> ReplayEvent {
    event(
        200,
        &[],
        &serde_json::json!({
            "FunctionName": "wiki", "FunctionArn": ARN, "Runtime": "java21", "MemorySize": 512,
            "Environment": {"Variables": {"KEEP": "1"}}, "LastUpdateStatus": status,
            "Architectures": ["arm64"],
        })
        .to_string(),
    )
}

fn get_function() -> ReplayEvent {
    event(
        200,
        &[],
        &serde_json::json!({"Configuration": {"FunctionName": "wiki", "FunctionArn": ARN, "LastUpdateStatus": "Successful", "State": "Active"}})
            .to_string(),
    )
}

fn error(status: u16, code: &str, message: &str) -> ReplayEvent {
    event(
        status,
        &[("x-amzn-ErrorType", code)],
        &serde_json::json!({"Type": "User", "message": message}).to_string(),
    )
}

fn invoked(report: &str) -> ReplayEvent {
    let log = format!("START RequestId: r1 Version: $LATEST\nEND RequestId: r1\n{report}\n");
    let log = base64::engine::general_purpose::STANDARD.encode(log);
    event(
        200,
        &[("X-Amz-Log-Result", &log), ("X-Amz-Executed-Version", "$LATEST")],
        "{}",
    )
}

fn client(replay: &StaticReplayClient) -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "replay"))
            .http_client(replay.clone())
            .build(),
    )
}

#[tokio::test]
async fn a_conflict_is_waited_out_and_a_snapstart_restore_is_recorded() {
    let replay = StaticReplayClient::new(vec![
        configuration("Successful"),
        error(
            409,
            "ResourceConflictException",
            "An update is in progress for resource",
        ),
        get_function(),
        configuration("InProgress"),
        get_function(),
        error(429, "TooManyRequestsException", "Rate Exceeded."),
        invoked(
            "REPORT RequestId: r1\tDuration: 12.50 ms\tBilled Duration: 300 ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB\tRestore Duration: 287.11 ms\tBilled Restore Duration: 200 ms\t",
        ),
        configuration("InProgress"),
        get_function(),
    ]);
    let journals = tempfile::tempdir().unwrap();
    let mut runs = ColdStarts::prepare(client(&replay), "wiki", journals.path())
        .await
        .unwrap();
    let sample = runs.cold_start(0, "{}").await.unwrap();
    assert_eq!(
        sample.init.duration_ms,
        Some(287.11),
        "Restore Duration stands for INIT under SnapStart"
    );
    let aws = sample.aws.as_ref().unwrap();
    assert!(!aws.proactive_initialization);
    assert_eq!((aws.architecture.as_str(), aws.runtime.as_str()), ("arm64", "java21"));
    assert_eq!(sample.invokes[0].billed_duration_ms, 300);
    runs.restore().await.unwrap();
    assert!(std::fs::read_dir(journals.path()).unwrap().next().is_none());
    // Every recorded response was asked for, in order: one configuration read to prepare.
    let requests: Vec<String> = replay
        .actual_requests()
        .map(|r| format!("{} {}", r.method(), r.uri()))
        .collect();
    assert_eq!(requests.len(), 9, "{requests:#?}");
    assert!(
        requests[0].starts_with("GET ") && requests[0].ends_with("/functions/wiki/configuration"),
        "{requests:#?}"
    );
    assert!(
        requests[1].starts_with("PUT ") && requests[1].ends_with("/functions/wiki/configuration"),
        "the first change follows the one read: {requests:#?}"
    );
}

#[tokio::test]
async fn a_report_without_init_duration_is_labelled_proactive() {
    let replay = StaticReplayClient::new(vec![
        configuration("Successful"),
        configuration("InProgress"),
        get_function(),
        invoked(
            "REPORT RequestId: r1\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB\t",
        ),
        configuration("InProgress"),
        get_function(),
    ]);
    let journals = tempfile::tempdir().unwrap();
    let mut runs = ColdStarts::prepare(client(&replay), "wiki", journals.path())
        .await
        .unwrap();
    let sample = runs.cold_start(0, "{}").await.unwrap();
    assert_eq!(sample.init.duration_ms, None, "not counted as a cold start");
    assert!(sample.aws.as_ref().unwrap().proactive_initialization);
    assert!(!sample.invokes[0].cold);
    assert!(
        sample
            .platform_log
            .iter()
            .any(|l| l.contains("proactive initialisation"))
    );
    runs.restore().await.unwrap();
}

#[tokio::test]
async fn access_denied_names_the_operation_the_function_and_the_code() {
    let replay = StaticReplayClient::new(vec![error(
        403,
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/x is not authorized to perform: lambda:GetFunctionConfiguration",
    )]);
    let journals = tempfile::tempdir().unwrap();
    let err = ColdStarts::prepare(client(&replay), "wiki", journals.path())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("GetFunctionConfiguration on wiki: AccessDeniedException: User:"),
        "{err}"
    );
    assert!(
        std::fs::read_dir(journals.path()).unwrap().next().is_none(),
        "nothing journaled, nothing changed"
    );
}
