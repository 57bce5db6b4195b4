//! The AWS backend end to end against `coldfront serve` (lambda-api in-process), through
//! the real aws-sdk-lambda client: forced cold starts with Tail logs, the memory sweep's
//! change, restoring, and a run that died before restoring.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_backend::ColdStarts;
use aws_backend::journal::Journal;
use aws_sdk_lambda::client::Waiters as _;
use aws_sdk_lambda::types::Environment;
use init_trace::local::{EmulatorOptions, LocalEmulator};
use init_trace::spec::SpecSet;
use lambda_api::{Pool, ServeOptions, Server};

async fn serve() -> (String, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    let emulator = Arc::new(LocalEmulator::new(EmulatorOptions {
        throttle: false,
        ..EmulatorOptions::default()
    }));
    let (tx, mut samples) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move { while samples.recv().await.is_some() {} });
    let pool = Pool::new(emulator, Duration::from_secs(300), tx);
    let options = ServeOptions {
        update_delay: Duration::from_millis(150),
        concurrency: 4,
        region: "eu-west-1".into(),
        account_id: "123456789012".into(),
        ..ServeOptions::new(work.path().join("store"))
    };
    let server = Server::new(options, &SpecSet::bundled().unwrap(), pool);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, server.router()).await });
    (url, work)
}

fn client(url: &str) -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::Config::builder()
            .endpoint_url(url)
            .region(aws_sdk_lambda::config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_lambda::config::Credentials::new(
                "AKID", "SECRET", None, None, "test",
            ))
            .behavior_version_latest()
            .build(),
    )
}

async fn environment(client: &aws_sdk_lambda::Client) -> (HashMap<String, String>, i32) {
    let config = client
        .get_function_configuration()
        .function_name("control")
        .send()
        .await
        .unwrap();
    (
        config
            .environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default(),
        config.memory_size().unwrap(),
    )
}

async fn set_keep(client: &aws_sdk_lambda::Client) {
    client
        .update_function_configuration()
        .function_name("control")
        .environment(Environment::builder().variables("KEEP", "1").build())
        .send()
        .await
        .unwrap();
    client
        .wait_until_function_updated_v2()
        .function_name("control")
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_cold_starts_are_measured_and_the_function_is_restored() {
    let (url, work) = serve().await;
    let client = client(&url);
    set_keep(&client).await;
    let before = environment(&client).await;
    let journals = work.path().join("journal");
    let mut runs = ColdStarts::prepare(client.clone(), "control", &journals).await.unwrap();
    assert_eq!(
        Journal::all_in(&journals).unwrap().len(),
        1,
        "journaled before any change"
    );
    for index in 0..3 {
        let sample = runs.cold_start(index, "{}").await.unwrap();
        assert_eq!(sample.backend, "aws");
        let init = sample.init.duration_ms.expect("a forced cold start has Init Duration");
        assert!(init > 0.0);
        assert!(sample.invokes[0].cold && sample.invokes[0].status == init_trace::sample::InvokeStatus::Success);
        let aws = sample.aws.as_ref().unwrap();
        assert_eq!(
            aws.function_arn,
            "arn:aws:lambda:eu-west-1:123456789012:function:control"
        );
        assert_eq!(aws.account_id_masked, "********9012");
        assert!(!aws.proactive_initialization);
        assert!(sample.platform_log.iter().any(|l| l.starts_with("REPORT ")));
    }
    let swept = runs.cold_start_at(3, "{}", Some(256)).await.unwrap();
    assert_eq!(swept.memory_size_mb, 256, "the sweep's memory size is what ran");
    // Mid-run the function carries coldfront's variable and memory...
    let (during, memory) = environment(&client).await;
    assert!(during.contains_key(aws_backend::COLD_START_VARIABLE) && memory == 256);
    runs.restore().await.unwrap();
    // ...and afterwards exactly what it had.
    assert_eq!(environment(&client).await, before);
    assert!(
        Journal::all_in(&journals).unwrap().is_empty(),
        "the journal is gone once restored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_died_before_restoring_is_put_back_from_its_journal() {
    let (url, work) = serve().await;
    let client = client(&url);
    set_keep(&client).await;
    let before = environment(&client).await;
    let journals = work.path().join("journal");
    let mut runs = ColdStarts::prepare(client.clone(), "control", &journals).await.unwrap();
    runs.cold_start_at(0, "{}", Some(1024)).await.unwrap();
    // As if killed with SIGKILL: nothing ran after the last cold start.
    std::mem::forget(runs);
    assert_ne!(environment(&client).await, before);
    let restored = aws_backend::restore_journals(&client, &journals).await.unwrap();
    assert_eq!(restored, ["control"]);
    assert_eq!(environment(&client).await, before);
    assert!(Journal::all_in(&journals).unwrap().is_empty());

    // The next run also restores a journal it finds before journaling anew.
    let mut runs = ColdStarts::prepare(client.clone(), "control", &journals).await.unwrap();
    runs.cold_start_at(0, "{}", Some(1024)).await.unwrap();
    std::mem::forget(runs);
    let runs = ColdStarts::prepare(client.clone(), "control", &journals).await.unwrap();
    assert_eq!(runs.original().environment.get("KEEP").map(String::as_str), Some("1"));
    assert!(
        !runs
            .original()
            .environment
            .contains_key(aws_backend::COLD_START_VARIABLE)
    );
    runs.restore().await.unwrap();
    assert_eq!(environment(&client).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_mid_run_still_restores_the_function() {
    let (url, work) = serve().await;
    let client = client(&url);
    set_keep(&client).await;
    let before = environment(&client).await;
    let journals = work.path().join("journal");
    let run = {
        let (client, journals) = (client.clone(), journals.clone());
        tokio::spawn(async move {
            let mut runs = ColdStarts::prepare(client, "control", &journals).await.unwrap();
            runs.cold_start_at(0, "{}", Some(1024)).await.unwrap();
            panic!("a bug in the middle of a run");
        })
    };
    let panicked = run.await.unwrap_err();
    assert!(panicked.is_panic(), "{panicked}");
    assert_eq!(environment(&client).await, before, "restored while unwinding");
    assert!(
        Journal::all_in(&journals).unwrap().is_empty(),
        "and its journal removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_starts_together_run_one_per_function_in_order_and_restore() {
    let (url, work) = serve().await;
    let client = client(&url);
    let journals = work.path().join("journal");
    let mut runs = Vec::new();
    for function in ["wiki", "control"] {
        runs.push(ColdStarts::prepare(client.clone(), function, &journals).await.unwrap());
    }
    let (runs, outcomes) = aws_backend::cold_starts_together(runs, 10, "{}", Some(256)).await;
    let samples: Vec<_> = outcomes.into_iter().map(Result::unwrap).collect();
    let seen: Vec<(&str, u64, u32)> = samples
        .iter()
        .map(|s| (s.function.as_str(), s.sample_index, s.memory_size_mb))
        .collect();
    assert_eq!(seen, [("wiki", 10, 256), ("control", 11, 256)]);
    assert!(
        samples
            .iter()
            .all(|s| s.invokes[0].cold && s.init.duration_ms.is_some())
    );
    assert_eq!(Journal::all_in(&journals).unwrap().len(), 2);
    for run in runs {
        run.restore().await.unwrap();
    }
    assert!(Journal::all_in(&journals).unwrap().is_empty());
    assert_ne!(environment(&client).await.1, 256, "control's memory size is back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_function_is_an_error_naming_it() {
    let (url, work) = serve().await;
    let err = ColdStarts::prepare(client(&url), "nope", &work.path().join("journal"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("GetFunctionConfiguration on nope") && err.contains("ResourceNotFoundException"),
        "{err}"
    );
}

fn xray(url: &str) -> aws_sdk_xray::Client {
    aws_sdk_xray::Client::from_conf(
        aws_sdk_xray::Config::builder()
            .endpoint_url(url)
            .region(aws_sdk_xray::config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_xray::config::Credentials::new(
                "AKID", "SECRET", None, None, "test",
            ))
            .behavior_version_latest()
            .build(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_cold_starts_trace_is_fetched_or_said_missing() {
    let (url, work) = serve().await;
    let client = client(&url);
    let journals = work.path().join("journal");
    let runs = ColdStarts::prepare(client.clone(), "control", &journals).await.unwrap();
    let mut runs = runs.with_xray(xray(&url), Duration::from_secs(5));
    let sample = runs.cold_start(0, "{}").await.unwrap();
    assert!(sample.aws.as_ref().unwrap().xray_found, "{:?}", sample.platform_log);
    let function = sample
        .xray_documents
        .iter()
        .find(|d| d.document["origin"] == "AWS::Lambda::Function")
        .expect("Lambda's function segment");
    assert_eq!(function.document["subsegments"][0]["name"], "Initialization");
    runs.restore().await.unwrap();

    // Tracing off: serve records no trace, so it never appears within the wait.
    client
        .update_function_configuration()
        .function_name("control")
        .tracing_config(
            aws_sdk_lambda::types::TracingConfig::builder()
                .mode(aws_sdk_lambda::types::TracingMode::PassThrough)
                .build(),
        )
        .send()
        .await
        .unwrap();
    client
        .wait_until_function_updated_v2()
        .function_name("control")
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    let mut runs = ColdStarts::prepare(client.clone(), "control", &journals)
        .await
        .unwrap()
        .with_xray(xray(&url), Duration::from_secs(1));
    let sample = runs.cold_start(1, "{}").await.unwrap();
    assert!(!sample.aws.as_ref().unwrap().xray_found);
    assert!(
        sample
            .platform_log
            .iter()
            .any(|l| l.contains("did not appear in X-Ray within 1 s")),
        "{:?}",
        sample.platform_log
    );
    runs.restore().await.unwrap();
}
