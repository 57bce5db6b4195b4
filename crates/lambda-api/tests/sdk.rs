//! The pool's lifecycle, driven through the Rust `aws-sdk-lambda` and `aws-sdk-xray`
//! clients against an in-process server: sequential invokes reuse one environment,
//! concurrent ones start one each up to the limit and are throttled beyond it, idle
//! environments are reclaimed, a change retires them; RIE's path works; X-Ray returns
//! Lambda's segments. Nothing here depends on timing: concurrency is held open by a gate
//! file the test creates, and waits poll with generous deadlines.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_lambda::client::Waiters as _;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, LogType, Runtime};
use base64::Engine as _;
use init_trace::local::{EmulatorOptions, LocalEmulator};
use init_trace::sample::ColdStartSample;
use init_trace::spec::SpecSet;
use lambda_api::{Pool, ServeOptions, Server};
use tokio::sync::mpsc;

/// Waits for `gate` (an event field) to exist, leaving `started-<pid>` beside it first;
/// with `subsegment`, sends one to the X-Ray daemon under the invoke's trace header.
const HANDLER: &str = r#"
import json, os, socket, time

def _subsegment(name):
    fields = dict(p.split("=", 1) for p in os.environ["_X_AMZN_TRACE_ID"].split(";"))
    host, port = os.environ["AWS_XRAY_DAEMON_ADDRESS"].split(":")
    now = time.time()
    document = {"type": "subsegment", "name": name, "id": "%016x" % os.getpid(),
                "trace_id": fields["Root"], "parent_id": fields["Parent"],
                "start_time": now, "end_time": now + 0.001}
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(
        ('{"format": "json", "version": 1}\n' + json.dumps(document)).encode(), (host, int(port)))

def handle(event, context):
    if event.get("subsegment"):
        _subsegment(event["subsegment"])
    gate = event.get("gate")
    if gate:
        open(os.path.join(os.path.dirname(gate), "started-%d" % os.getpid()), "w").close()
        while not os.path.exists(gate):
            time.sleep(0.005)
    return {"pid": os.getpid(), "mark": os.environ.get("MARK")}
"#;

struct Served {
    server: Server,
    pool: Arc<Pool>,
    url: String,
    samples: mpsc::UnboundedReceiver<ColdStartSample>,
    work: tempfile::TempDir,
}

async fn serve(concurrency: u32, idle_timeout: Duration) -> Served {
    let work = tempfile::tempdir().unwrap();
    let emulator = Arc::new(LocalEmulator::new(EmulatorOptions {
        throttle: false,
        // The handlers hold concurrency open through a gate file on the host, and leave
        // a file beside it, which Lambda's read-only view would refuse.
        private_filesystem: false,
        ..EmulatorOptions::default()
    }));
    let (tx, samples) = mpsc::unbounded_channel();
    let pool = Pool::new(emulator, idle_timeout, tx);
    let options = ServeOptions {
        update_delay: Duration::from_millis(200),
        concurrency,
        rie_function: Some("control".into()),
        ..ServeOptions::new(work.path().join("store"))
    };
    let server = Server::new(options, &SpecSet::bundled().unwrap(), pool.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = server.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Served {
        server,
        pool,
        url,
        samples,
        work,
    }
}

fn lambda(url: &str) -> aws_sdk_lambda::Client {
    let config = aws_sdk_lambda::Config::builder()
        .endpoint_url(url)
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "AKID", "SECRET", None, None, "test",
        ))
        .behavior_version_latest()
        .build();
    aws_sdk_lambda::Client::from_conf(config)
}

fn xray(url: &str) -> aws_sdk_xray::Client {
    aws_sdk_xray::Client::from_conf(
        aws_sdk_xray::Config::builder()
            .endpoint_url(url)
            .region(aws_sdk_xray::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_xray::config::Credentials::new(
                "AKID", "SECRET", None, None, "test",
            ))
            .behavior_version_latest()
            .build(),
    )
}

fn package() -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer
        .start_file("handler.py", zip::write::SimpleFileOptions::default())
        .unwrap();
    writer.write_all(HANDLER.as_bytes()).unwrap();
    writer.finish().unwrap().into_inner()
}

async fn create(client: &aws_sdk_lambda::Client, name: &str) {
    client
        .create_function()
        .function_name(name)
        .runtime(Runtime::Python311)
        .role("arn:aws:iam::000000000000:role/test")
        .handler("handler.handle")
        .code(FunctionCode::builder().zip_file(Blob::new(package())).build())
        .send()
        .await
        .expect("create_function");
    client
        .wait_until_function_active_v2()
        .function_name(name)
        .wait(Duration::from_secs(60))
        .await
        .expect("the function becomes Active");
}

/// Invokes and returns (pid in the response, whether the REPORT had Init Duration).
async fn invoke(client: &aws_sdk_lambda::Client, name: &str, event: &serde_json::Value) -> (u64, bool) {
    let output = client
        .invoke()
        .function_name(name)
        .log_type(LogType::Tail)
        .payload(Blob::new(event.to_string()))
        .send()
        .await
        .expect("invoke");
    assert_eq!(output.function_error(), None, "{output:?}");
    let log = base64::engine::general_purpose::STANDARD
        .decode(output.log_result().expect("a Tail log"))
        .unwrap();
    let log = String::from_utf8(log).unwrap();
    let report = log.lines().find(|l| l.starts_with("REPORT ")).expect("a REPORT line");
    let payload: serde_json::Value = serde_json::from_slice(output.payload().unwrap().as_ref()).unwrap();
    (payload["pid"].as_u64().unwrap(), report.contains("Init Duration:"))
}

async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..600 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_invokes_are_one_cold_start_then_warm() {
    let served = serve(4, Duration::from_secs(300)).await;
    let client = lambda(&served.url);
    create(&client, "seq").await;
    let mut pids = Vec::new();
    for n in 0..4 {
        let (pid, cold) = invoke(&client, "seq", &serde_json::json!({"n": n})).await;
        assert_eq!(cold, n == 0, "invoke {n}");
        pids.push(pid);
    }
    assert!(pids.windows(2).all(|w| w[0] == w[1]), "one environment: {pids:?}");
    assert_eq!(served.pool.cold_starts("seq"), 1);
    assert_eq!(served.pool.idle("seq"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invokes_start_one_environment_each_up_to_the_limit() {
    let served = serve(3, Duration::from_secs(300)).await;
    let client = lambda(&served.url);
    create(&client, "par").await;
    let gate = served.work.path().join("gate");
    let event = serde_json::json!({"gate": gate});
    let mut running = Vec::new();
    for _ in 0..3 {
        let (client, event) = (client.clone(), event.clone());
        running.push(tokio::spawn(async move { invoke(&client, "par", &event).await }));
    }
    let started = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("started-")
            })
            .count()
    };
    eventually("three handlers inside their gate", || started(served.work.path()) == 3).await;
    // Every environment is busy: the fourth invoke is throttled, in Lambda's shape.
    let err = client
        .invoke()
        .function_name("par")
        .payload(Blob::new("{}"))
        .send()
        .await
        .expect_err("throttled");
    let service_error = err.into_service_error();
    assert!(service_error.is_too_many_requests_exception(), "{service_error:?}");
    std::fs::write(&gate, b"").unwrap();
    let mut pids = Vec::new();
    for task in running {
        let (pid, cold) = task.await.unwrap();
        assert!(cold);
        pids.push(pid);
    }
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 3, "three environments");
    assert_eq!(served.pool.cold_starts("par"), 3);
    eventually("three idle environments", || served.pool.idle("par") == 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_environments_are_reclaimed_and_written() {
    let mut served = serve(2, Duration::from_secs(1)).await;
    let client = lambda(&served.url);
    create(&client, "idle").await;
    let (first, cold) = invoke(&client, "idle", &serde_json::json!({})).await;
    assert!(cold);
    let sample = tokio::time::timeout(Duration::from_secs(30), served.samples.recv())
        .await
        .expect("the reclaimed environment's sample")
        .unwrap();
    assert_eq!(sample.function, "idle");
    assert_eq!(sample.invokes.len(), 1);
    assert!(sample.init.duration_ms.is_some());
    assert_eq!(served.pool.idle("idle"), 0);
    let (second, cold) = invoke(&client, "idle", &serde_json::json!({})).await;
    assert!(cold && second != first, "after the reclaim the invoke is cold");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_change_retires_environments() {
    let mut served = serve(2, Duration::from_secs(300)).await;
    let client = lambda(&served.url);
    create(&client, "change").await;
    let (first, _) = invoke(&client, "change", &serde_json::json!({})).await;
    let updated = client
        .update_function_configuration()
        .function_name("change")
        .environment(Environment::builder().variables("MARK", "two").build())
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated
            .last_update_status()
            .map(aws_sdk_lambda::types::LastUpdateStatus::as_str),
        Some("InProgress")
    );
    client
        .wait_until_function_updated_v2()
        .function_name("change")
        .wait(Duration::from_secs(60))
        .await
        .expect("the update completes");
    // The old environment ended when the change took effect.
    let retired = tokio::time::timeout(Duration::from_secs(30), served.samples.recv())
        .await
        .expect("the retired environment's sample")
        .unwrap();
    assert_eq!(retired.function, "change");
    let output = client
        .invoke()
        .function_name("change")
        .payload(Blob::new("{}"))
        .send()
        .await
        .unwrap();
    let payload: serde_json::Value = serde_json::from_slice(output.payload().unwrap().as_ref()).unwrap();
    assert_eq!(payload["mark"], "two");
    assert_ne!(payload["pid"].as_u64().unwrap(), first);
    assert_eq!(served.pool.cold_starts("change"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_functions_own_subsegment_sits_under_lambdas_function_segment() {
    let served = serve(2, Duration::from_secs(300)).await;
    let client = lambda(&served.url);
    create(&client, "traced").await;
    client
        .update_function_configuration()
        .function_name("traced")
        .tracing_config(
            aws_sdk_lambda::types::TracingConfig::builder()
                .mode(aws_sdk_lambda::types::TracingMode::Active)
                .build(),
        )
        .send()
        .await
        .unwrap();
    client
        .wait_until_function_updated_v2()
        .function_name("traced")
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    invoke(&client, "traced", &serde_json::json!({"subsegment": "db"})).await;
    // The datagram is in the daemon socket before the handler returns, so it is read
    // when the invoke ends; a warm invoke re-sends what is known, which must not duplicate.
    invoke(&client, "traced", &serde_json::json!({})).await;
    let xray = xray(&served.url);
    let now = chrono::Utc::now().timestamp();
    let summaries = xray
        .get_trace_summaries()
        .start_time(aws_sdk_xray::primitives::DateTime::from_secs(now - 600))
        .end_time(aws_sdk_xray::primitives::DateTime::from_secs(now + 5))
        .send()
        .await
        .unwrap();
    let ids: Vec<String> = summaries
        .trace_summaries()
        .iter()
        .filter_map(|s| s.id().map(str::to_owned))
        .collect();
    let traces = xray.batch_get_traces().set_trace_ids(Some(ids)).send().await.unwrap();
    let documents: Vec<serde_json::Value> = traces
        .traces()
        .iter()
        .flat_map(aws_sdk_xray::types::Trace::segments)
        .map(|s| serde_json::from_str(s.document().unwrap()).unwrap())
        .collect();
    let db = documents
        .iter()
        .find(|d| d["name"] == "db")
        .expect("the function's subsegment is served");
    let parent = documents
        .iter()
        .find(|d| d["id"] == db["parent_id"])
        .expect("its parent is in the same trace");
    assert_eq!(parent["origin"], "AWS::Lambda::Function");
    assert_eq!(parent["trace_id"], db["trace_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_functions_and_rie_and_xray() {
    let served = serve(2, Duration::from_secs(300)).await;
    let client = lambda(&served.url);
    let err = client
        .invoke()
        .function_name("missing")
        .payload(Blob::new("{}"))
        .send()
        .await
        .expect_err("not found")
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");

    // RIE's path, with a bare HTTP request as RIE scripts send it.
    let body = rie_post(&served.url, "/2015-03-31/functions/function/invocations", "{}").await;
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert_eq!(served.pool.cold_starts("control"), 1);

    let xray = xray(&served.url);
    let now = aws_sdk_xray::primitives::DateTime::from_secs(chrono::Utc::now().timestamp() + 5);
    let start = aws_sdk_xray::primitives::DateTime::from_secs(chrono::Utc::now().timestamp() - 600);
    let summaries = xray
        .get_trace_summaries()
        .start_time(start)
        .end_time(now)
        .filter_expression("service(\"control\")")
        .send()
        .await
        .unwrap();
    let ids: Vec<String> = summaries
        .trace_summaries()
        .iter()
        .filter_map(|s| s.id().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 1, "{summaries:?}");
    let traces = xray.batch_get_traces().set_trace_ids(Some(ids)).send().await.unwrap();
    let documents: Vec<serde_json::Value> = traces.traces()[0]
        .segments()
        .iter()
        .map(|s| serde_json::from_str(s.document().unwrap()).unwrap())
        .collect();
    let function = documents
        .iter()
        .find(|d| d["origin"] == "AWS::Lambda::Function")
        .expect("Lambda's function segment");
    let names: Vec<&str> = function["subsegments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Initialization", "Invocation", "Overhead"]);
    // A client's own segment, sent with PutTraceSegments, joins its trace; a broken one
    // comes back unprocessed with the reason.
    let root = summaries.trace_summaries()[0].id().unwrap().to_owned();
    let own = serde_json::json!({"name": "client", "id": "0123456789abcdef", "trace_id": root,
        "start_time": 1.0, "end_time": 2.0});
    let put = xray
        .put_trace_segments()
        .trace_segment_documents(own.to_string())
        .trace_segment_documents("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(put.unprocessed_trace_segments().len(), 1, "{put:?}");
    let traces = xray.batch_get_traces().trace_ids(&root).send().await.unwrap();
    assert!(
        traces.traces()[0]
            .segments()
            .iter()
            .any(|s| s.id() == Some("0123456789abcdef")),
        "{traces:?}"
    );
    let bad = xray
        .get_trace_summaries()
        .start_time(start)
        .end_time(now)
        .filter_expression("responsetime > 1")
        .send()
        .await
        .expect_err("unsupported filter");
    assert!(format!("{:?}", bad.into_service_error()).contains("responsetime"));
    drop(served.server);
}

async fn rie_post(url: &str, path: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let address = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

/// `VpcConfig` and `FileSystemConfigs` are kept and returned in botocore's shapes, checked
/// as Lambda checks them, and removable; serve attaches no ENI and mounts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vpc_and_file_system_settings_are_kept_returned_and_removed() {
    use aws_sdk_lambda::error::ProvideErrorMetadata as _;
    use aws_sdk_lambda::types::{FileSystemConfig, VpcConfig};
    let served = serve(2, Duration::from_secs(300)).await;
    let client = lambda(&served.url);
    let vpc = VpcConfig::builder()
        .subnet_ids("subnet-0a1b")
        .subnet_ids("subnet-2c3d")
        .security_group_ids("sg-0e4f")
        .build();
    let efs = FileSystemConfig::builder()
        .arn("arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-0123456789abcdef0")
        .local_mount_path("/mnt/data")
        .build()
        .unwrap();
    let creating = |name: &str| {
        client
            .create_function()
            .function_name(name)
            .runtime(Runtime::Python311)
            .role("arn:aws:iam::000000000000:role/test")
            .handler("handler.handle")
            .code(FunctionCode::builder().zip_file(Blob::new(package())).build())
    };
    // EFS without a VPC is refused, as on Lambda.
    let err = creating("lonely")
        .file_system_configs(efs.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValueException"));
    assert!(err.message().unwrap().contains("need a VpcConfig"), "{err:?}");

    creating("vpc")
        .vpc_config(vpc.clone())
        .file_system_configs(efs.clone())
        .send()
        .await
        .unwrap();
    client
        .wait_until_function_active_v2()
        .function_name("vpc")
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    let config = client
        .get_function_configuration()
        .function_name("vpc")
        .send()
        .await
        .unwrap();
    let returned = config.vpc_config().expect("VpcConfig returned");
    assert_eq!(returned.subnet_ids(), ["subnet-0a1b", "subnet-2c3d"]);
    assert_eq!(returned.security_group_ids(), ["sg-0e4f"]);
    assert_eq!(config.file_system_configs(), std::slice::from_ref(&efs));
    let (pid, cold) = invoke(&client, "vpc", &serde_json::json!({})).await;
    assert!(pid > 0 && cold, "it runs as any function does");

    // Leaving the VPC while the file system stays is refused; both at once is allowed.
    let empty = VpcConfig::builder()
        .set_subnet_ids(Some(Vec::new()))
        .set_security_group_ids(Some(Vec::new()))
        .build();
    let err = client
        .update_function_configuration()
        .function_name("vpc")
        .vpc_config(empty.clone())
        .send()
        .await
        .unwrap_err();
    assert!(err.message().unwrap().contains("need a VpcConfig"), "{err:?}");
    client
        .update_function_configuration()
        .function_name("vpc")
        .vpc_config(empty)
        .set_file_system_configs(Some(Vec::new()))
        .send()
        .await
        .unwrap();
    client
        .wait_until_function_updated_v2()
        .function_name("vpc")
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    let config = client
        .get_function_configuration()
        .function_name("vpc")
        .send()
        .await
        .unwrap();
    assert!(
        config.vpc_config().is_none() && config.file_system_configs().is_empty(),
        "{config:?}"
    );

    // What Lambda's limits refuse, serve refuses, naming the value.
    let bad = FileSystemConfig::builder()
        .arn("arn:aws:s3:::bucket")
        .local_mount_path("/data")
        .build()
        .unwrap();
    let err = client
        .update_function_configuration()
        .function_name("vpc")
        .vpc_config(vpc)
        .file_system_configs(bad)
        .send()
        .await
        .unwrap_err();
    assert!(err.message().unwrap().contains("arn:aws:s3:::bucket"), "{err:?}");
}
