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

/// Waits, as the SDK's waiter does, until `function`'s last update is in effect.
async fn updated(client: &aws_sdk_lambda::Client, function: &str) {
    client
        .wait_until_function_updated_v2()
        .function_name(function)
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
}

async fn set_keep(client: &aws_sdk_lambda::Client) {
    client
        .update_function_configuration()
        .function_name("control")
        .environment(Environment::builder().variables("KEEP", "1").build())
        .send()
        .await
        .unwrap();
    updated(client, "control").await;
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
    let cleanup = aws_backend::restore_journals(&client, &journals).await.unwrap();
    assert_eq!(cleanup.restored, ["control"]);
    assert!(cleanup.deleted.is_empty());
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
    updated(&client, "control").await;
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

mod deployed {
    //! `--deploy-control`: the bundled control created like the subject, measured, and
    //! deleted however the run ends.

    use super::*;
    use aws_backend::deploy::{Created, RunId, Subject};

    const ROLE: &str = "arn:aws:iam::123456789012:role/coldfront-test";

    /// Whether `function` exists, by GetFunctionConfiguration's answer.
    async fn exists(client: &aws_sdk_lambda::Client, function: &str) -> bool {
        match client.get_function_configuration().function_name(function).send().await {
            Ok(_) => true,
            Err(err) => {
                use aws_sdk_lambda::error::ProvideErrorMetadata as _;
                assert_eq!(err.code(), Some("ResourceNotFoundException"), "{err:?}");
                false
            }
        }
    }

    /// The subject `wiki` at 384 MB, in a VPC with an EFS access point, so that the
    /// control's settings are visibly the subject's.
    async fn subject(client: &aws_sdk_lambda::Client) -> Subject {
        client
            .update_function_configuration()
            .function_name("wiki")
            .memory_size(384)
            .vpc_config(
                aws_sdk_lambda::types::VpcConfig::builder()
                    .subnet_ids("subnet-0a1b")
                    .security_group_ids("sg-0e4f")
                    .build(),
            )
            .file_system_configs(
                aws_sdk_lambda::types::FileSystemConfig::builder()
                    .arn("arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0123456789abcdef0")
                    .local_mount_path("/mnt/data")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        updated(client, "wiki").await;
        Subject::describe(client, "wiki").await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_control_is_created_like_the_subject_measured_and_deleted() {
        let (url, work) = serve().await;
        let client = client(&url);
        let journals = work.path().join("journal");
        let subject = subject(&client).await;
        let plan = subject.control(ROLE, &RunId::new()).unwrap();
        let control = Created::create(client.clone(), &plan, &journals).await.unwrap();
        assert!(control.name().starts_with("wiki-cfctl-"), "{}", control.name());
        assert_eq!(
            Journal::creations_in(&journals).unwrap().len(),
            1,
            "journaled while it exists"
        );
        let config = client
            .get_function_configuration()
            .function_name(control.name())
            .send()
            .await
            .unwrap();
        assert_eq!(
            config.state().map(aws_sdk_lambda::types::State::as_str),
            Some("Active"),
            "waited until Active"
        );
        assert_eq!(config.memory_size(), Some(384));
        assert_eq!(config.runtime(), subject.configuration().runtime());
        assert_eq!(config.architectures(), subject.configuration().architectures());
        assert_eq!(config.role(), Some(ROLE));
        assert_eq!(config.handler(), Some("handler.handle"));
        assert_eq!(
            config
                .vpc_config()
                .map(|v| (v.subnet_ids().to_vec(), v.security_group_ids().to_vec())),
            Some((vec!["subnet-0a1b".to_owned()], vec!["sg-0e4f".to_owned()])),
            "the subject's VPC"
        );
        assert_eq!(
            config.file_system_configs(),
            subject.configuration().file_system_configs(),
            "the subject's file system"
        );
        assert_eq!(config.file_system_configs().len(), 1);
        assert!(config.description().unwrap().contains("the bundled control for wiki"));

        let mut runs = ColdStarts::prepare(client.clone(), control.name(), &journals)
            .await
            .unwrap();
        let sample = runs.cold_start(0, "{}").await.unwrap();
        assert!(sample.init.duration_ms.is_some() && sample.invokes[0].cold);
        assert_eq!(sample.memory_size_mb, 384);
        runs.restore().await.unwrap();
        let name = control.name().to_owned();
        control.delete().await.unwrap();
        assert!(!exists(&client, &name).await, "deleted at the end");
        assert!(Journal::creations_in(&journals).unwrap().is_empty());
        assert!(Journal::all_in(&journals).unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_control_left_by_a_killed_run_is_deleted_by_restore_journals() {
        let (url, work) = serve().await;
        let client = client(&url);
        let journals = work.path().join("journal");
        let plan = subject(&client).await.control(ROLE, &RunId::new()).unwrap();
        let control = Created::create(client.clone(), &plan, &journals).await.unwrap();
        let mut runs = ColdStarts::prepare(client.clone(), control.name(), &journals)
            .await
            .unwrap();
        runs.cold_start_at(0, "{}", Some(1024)).await.unwrap();
        // As if killed with SIGKILL: neither the restore nor the delete ran.
        std::mem::forget(runs);
        std::mem::forget(control);
        assert!(exists(&client, plan.name()).await);
        let cleanup = aws_backend::restore_journals(&client, &journals).await.unwrap();
        assert_eq!(cleanup.deleted, [plan.name()]);
        assert!(cleanup.restored.is_empty(), "nothing to put back on a deleted function");
        assert!(!exists(&client, plan.name()).await);
        assert!(Journal::creations_in(&journals).unwrap().is_empty());
        assert!(Journal::all_in(&journals).unwrap().is_empty());

        // The next run with that subject deletes one left behind before it starts.
        let plan = subject(&client).await.control(ROLE, &RunId::new()).unwrap();
        std::mem::forget(Created::create(client.clone(), &plan, &journals).await.unwrap());
        let deleted = aws_backend::deploy::delete_left_behind(&client, &journals, "control")
            .await
            .unwrap();
        assert!(deleted.is_empty(), "another subject's are left alone");
        let deleted = aws_backend::deploy::delete_left_behind(&client, &journals, "wiki")
            .await
            .unwrap();
        assert_eq!(deleted, [plan.name()]);
        assert!(!exists(&client, plan.name()).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_mid_run_still_deletes_the_control() {
        let (url, work) = serve().await;
        let client = client(&url);
        let journals = work.path().join("journal");
        let plan = subject(&client).await.control(ROLE, &RunId::new()).unwrap();
        let run = {
            let (client, journals, plan) = (client.clone(), journals.clone(), plan.clone());
            tokio::spawn(async move {
                let control = Created::create(client.clone(), &plan, &journals).await.unwrap();
                let mut runs = ColdStarts::prepare(client, control.name(), &journals).await.unwrap();
                runs.cold_start(0, "{}").await.unwrap();
                panic!("a bug in the middle of a run");
            })
        };
        assert!(run.await.unwrap_err().is_panic());
        assert!(!exists(&client, plan.name()).await, "deleted while unwinding");
        assert!(Journal::creations_in(&journals).unwrap().is_empty());
        assert!(Journal::all_in(&journals).unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_function_that_is_not_the_created_one_is_never_deleted() {
        let (url, work) = serve().await;
        let client = client(&url);
        let journals = work.path().join("journal");
        // A journal naming the user's own `control`, as if a run had meant to create it.
        let journal = Journal::for_creation(&journals, "control");
        journal
            .write_creation(&aws_backend::journal::Creation {
                function: "control".into(),
                description: "Created by coldfront for one run (test) [00000000]".into(),
                purpose: "test".into(),
                subject: "wiki".into(),
            })
            .unwrap();
        let err = aws_backend::restore_journals(&client, &journals)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("control is not the function coldfront created") && err.contains("not deleted"),
            "{err}"
        );
        assert!(exists(&client, "control").await);

        // A subject the bundled Python control cannot stand in for is refused up front.
        client
            .update_function_configuration()
            .function_name("wiki")
            .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
            .send()
            .await
            .unwrap();
        updated(&client, "wiki").await;
        let err = Subject::describe(&client, "wiki")
            .await
            .unwrap()
            .control(ROLE, &RunId::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("wiki runs provided.al2023") && err.contains("--control"),
            "{err}"
        );
    }
}

mod copies {
    //! `--parallel K` with one function named: K-1 copies of it from its own code.

    use super::*;
    use aws_backend::deploy::{Created, RunId, Subject};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn copies_run_the_subjects_own_code_and_configuration_and_are_deleted() {
        let (url, work) = serve().await;
        let client = client(&url);
        set_keep(&client).await;
        let journals = work.path().join("journal");
        let subject = Subject::describe(&client, "control").await.unwrap();
        let run = RunId::new();
        let plans = subject.copies(2, None, &run).await.unwrap();
        let names: Vec<&str> = plans.iter().map(aws_backend::deploy::Plan::name).collect();
        assert!(
            names[0].starts_with("control-cfcopy1-") && names[1].starts_with("control-cfcopy2-"),
            "{names:?}"
        );
        let mut copies = Vec::new();
        for plan in &plans {
            copies.push(Created::create(client.clone(), plan, &journals).await.unwrap());
        }
        assert_eq!(Journal::creations_in(&journals).unwrap().len(), 2);
        let original = subject.configuration();
        let mut runs = Vec::new();
        for copy in &copies {
            let config = client
                .get_function_configuration()
                .function_name(copy.name())
                .send()
                .await
                .unwrap();
            assert_eq!(config.handler(), original.handler());
            assert_eq!(config.role(), original.role(), "the subject's own role");
            assert_eq!(config.memory_size(), original.memory_size());
            let variables = config
                .environment()
                .and_then(|e| e.variables())
                .cloned()
                .unwrap_or_default();
            assert_eq!(variables.get("KEEP").map(String::as_str), Some("1"), "its environment");
            runs.push(
                ColdStarts::prepare(client.clone(), copy.name(), &journals)
                    .await
                    .unwrap(),
            );
        }
        // One cold start on each copy at once: the subject's handler answers in both.
        let (runs, outcomes) = aws_backend::cold_starts_together(runs, 0, "{}", None).await;
        for outcome in outcomes {
            let sample = outcome.unwrap();
            assert!(sample.invokes[0].cold && sample.init.duration_ms.is_some());
            assert_eq!(sample.invokes[0].status, init_trace::sample::InvokeStatus::Success);
        }
        for run in runs {
            run.restore().await.unwrap();
        }
        for copy in copies {
            copy.delete().await.unwrap();
        }
        for name in names {
            assert!(
                client
                    .get_function_configuration()
                    .function_name(name)
                    .send()
                    .await
                    .is_err(),
                "{name} deleted"
            );
        }
        assert!(Journal::creations_in(&journals).unwrap().is_empty());
        assert!(Journal::all_in(&journals).unwrap().is_empty());
    }
}

mod variants {
    //! The differential variants: the subject without its file system, and without its
    //! VPC, created from its own code. serve keeps the settings but attaches no ENI and
    //! mounts nothing, so on serve the differences they measure are not AWS's.

    use super::*;
    use aws_backend::deploy::{Created, RunId, Subject};
    use aws_sdk_lambda::types::{FileSystemConfig, VpcConfig};
    use init_trace::sample::VariantKind;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn variants_drop_the_file_system_then_the_vpc_and_are_deleted() {
        let (url, work) = serve().await;
        let client = client(&url);
        let journals = work.path().join("journal");
        let err = Subject::describe(&client, "control")
            .await
            .unwrap()
            .variants(None, &RunId::new(), &[])
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("control is in no VPC"), "{err}");

        let efs = FileSystemConfig::builder()
            .arn("arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0123456789abcdef0")
            .local_mount_path("/mnt/data")
            .build()
            .unwrap();
        client
            .update_function_configuration()
            .function_name("control")
            .vpc_config(
                VpcConfig::builder()
                    .subnet_ids("subnet-0a1b")
                    .security_group_ids("sg-0e4f")
                    .build(),
            )
            .file_system_configs(efs.clone())
            .send()
            .await
            .unwrap();
        updated(&client, "control").await;
        let subject = Subject::describe(&client, "control").await.unwrap();
        let plans = subject.variants(None, &RunId::new(), &[]).await.unwrap();
        // A variant the user named is not created.
        let purposes = |plans: Vec<aws_backend::deploy::Plan>| -> Vec<String> {
            plans.iter().map(|p| p.purpose().to_owned()).collect()
        };
        let run = RunId::new();
        assert_eq!(
            purposes(subject.variants(None, &run, &[VariantKind::WithoutEfs]).await.unwrap()),
            ["control without its VPC"]
        );
        assert_eq!(
            purposes(subject.variants(None, &run, &[VariantKind::WithoutVpc]).await.unwrap()),
            ["control without its EFS file system"]
        );
        let both = [VariantKind::WithoutEfs, VariantKind::WithoutVpc];
        assert!(subject.variants(None, &run, &both).await.unwrap().is_empty());
        let mut created = Vec::new();
        for plan in &plans {
            created.push(Created::create(client.clone(), plan, &journals).await.unwrap());
        }
        let mut seen = Vec::new();
        for variant in &created {
            let config = client
                .get_function_configuration()
                .function_name(variant.name())
                .send()
                .await
                .unwrap();
            seen.push((
                variant.purpose().to_owned(),
                config.vpc_config().map(|v| v.subnet_ids().to_vec()),
                config.file_system_configs().to_vec(),
            ));
        }
        assert_eq!(
            seen,
            [
                (
                    "control without its EFS file system".to_owned(),
                    Some(vec!["subnet-0a1b".to_owned()]),
                    Vec::new()
                ),
                ("control without its VPC".to_owned(), None, Vec::new()),
            ]
        );
        // The subject itself keeps both.
        let config = client
            .get_function_configuration()
            .function_name("control")
            .send()
            .await
            .unwrap();
        assert_eq!(config.file_system_configs(), std::slice::from_ref(&efs));
        let names: Vec<String> = created.iter().map(|c| c.name().to_owned()).collect();
        for variant in created {
            variant.delete().await.unwrap();
        }
        for name in names {
            assert!(
                client
                    .get_function_configuration()
                    .function_name(&name)
                    .send()
                    .await
                    .is_err(),
                "{name} deleted"
            );
        }
        assert!(Journal::creations_in(&journals).unwrap().is_empty());
    }
}
