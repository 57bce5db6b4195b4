//! `deploy::create_together`: the functions a run creates are created concurrently, each
//! journaled before its own CreateFunction is sent, and the outcomes come back in the
//! plans' order (the bound itself is tested in `deploy`'s unit tests).
//!
//! A small Lambda API here holds every CreateFunction at a barrier until all of them
//! have arrived: created one at a time, the first would wait forever (the test's
//! deadline then fails it), so passing shows they were in flight together. Nothing
//! depends on how fast anything runs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_backend::deploy::{self, Subject};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;

#[derive(Default)]
struct Seen {
    /// Functions that exist, with their Description.
    functions: BTreeMap<String, String>,
    in_flight: usize,
    most_in_flight: usize,
    /// Each CreateFunction, and whether its journal was on disk when it arrived.
    creations: Vec<(String, bool)>,
}

struct Api {
    seen: Mutex<Seen>,
    barrier: tokio::sync::Barrier,
    journal_dir: PathBuf,
    code_dir: PathBuf,
    /// CreateFunction of a name containing this is refused.
    refuse: Option<&'static str>,
}

type Reply = (StatusCode, [(&'static str, String); 2], String);

fn reply(status: StatusCode, body: serde_json::Value, error_type: &str) -> Reply {
    (
        status,
        [
            ("content-type", "application/json".to_owned()),
            ("x-amzn-errortype", error_type.to_owned()),
        ],
        body.to_string(),
    )
}

fn not_found(name: &str) -> Reply {
    reply(
        StatusCode::NOT_FOUND,
        serde_json::json!({"Type": "User", "Message": format!("Function not found: {name}")}),
        "ResourceNotFoundException",
    )
}

fn configuration(name: &str, description: &str) -> serde_json::Value {
    serde_json::json!({
        "FunctionName": name,
        "FunctionArn": format!("arn:aws:lambda:eu-west-1:123456789012:function:{name}"),
        "Description": description,
        "Runtime": "python3.12",
        "Handler": "handler.handle",
        "Role": "arn:aws:iam::123456789012:role/app",
        "MemorySize": 512,
        "State": "Active",
        "LastUpdateStatus": "Successful",
    })
}

async fn create(State(api): State<Arc<Api>>, body: String) -> Reply {
    let request: serde_json::Value = serde_json::from_str(&body).unwrap();
    let name = request["FunctionName"].as_str().unwrap().to_owned();
    let description = request["Description"].as_str().unwrap_or_default().to_owned();
    {
        let mut seen = api.seen.lock().unwrap();
        let journaled = api.journal_dir.join(format!("{name}.created")).is_file();
        seen.creations.push((name.clone(), journaled));
        seen.in_flight += 1;
        seen.most_in_flight = seen.most_in_flight.max(seen.in_flight);
    }
    api.barrier.wait().await;
    let mut seen = api.seen.lock().unwrap();
    seen.in_flight -= 1;
    if api.refuse.is_some_and(|r| name.contains(r)) {
        return reply(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"Type": "User", "Message": "The role defined for the function cannot be trusted"}),
            "InvalidParameterValueException",
        );
    }
    seen.functions.insert(name.clone(), description.clone());
    reply(StatusCode::CREATED, configuration(&name, &description), "")
}

async fn get_function(State(api): State<Arc<Api>>, Path(name): Path<String>) -> Reply {
    let seen = api.seen.lock().unwrap();
    let description = match (name.as_str(), seen.functions.get(&name)) {
        ("app", _) => String::new(),
        (_, Some(description)) => description.clone(),
        (_, None) => return not_found(&name),
    };
    reply(
        StatusCode::OK,
        serde_json::json!({
            "Configuration": configuration(&name, &description),
            "Code": {"RepositoryType": "S3", "Location": format!("file://{}", api.code_dir.display())},
        }),
        "",
    )
}

async fn get_configuration(State(api): State<Arc<Api>>, Path(name): Path<String>) -> Reply {
    match api.seen.lock().unwrap().functions.get(&name) {
        Some(description) => reply(StatusCode::OK, configuration(&name, description), ""),
        None => not_found(&name),
    }
}

async fn delete(State(api): State<Arc<Api>>, Path(name): Path<String>) -> Reply {
    match api.seen.lock().unwrap().functions.remove(&name) {
        Some(_) => reply(StatusCode::NO_CONTENT, serde_json::Value::Null, ""),
        None => not_found(&name),
    }
}

/// Starts the API; every CreateFunction waits until `group` have arrived.
async fn api(group: usize, refuse: Option<&'static str>) -> (Arc<Api>, aws_sdk_lambda::Client, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    let code_dir = work.path().join("code");
    std::fs::create_dir_all(&code_dir).unwrap();
    std::fs::write(code_dir.join("handler.py"), "def handle(e, c):\n    return 1\n").unwrap();
    let api = Arc::new(Api {
        seen: Mutex::default(),
        barrier: tokio::sync::Barrier::new(group),
        journal_dir: work.path().join("journal"),
        code_dir,
        refuse,
    });
    let router = axum::Router::new()
        .route("/2015-03-31/functions", axum::routing::post(create))
        .route("/2015-03-31/functions/{name}", get(get_function).delete(delete))
        .route("/2015-03-31/functions/{name}/configuration", get(get_configuration))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::Config::builder()
            .endpoint_url(url)
            .region(aws_sdk_lambda::config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_lambda::config::Credentials::new(
                "AKID", "SECRET", None, None, "test",
            ))
            .behavior_version_latest()
            .build(),
    );
    (api, client, work)
}

/// A deadline for a creation that would otherwise wait forever at the barrier: only a
/// failure waits this long.
const STUCK: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_are_created_together_each_journaled_first_in_the_plans_order() {
    let (api, client, _work) = api(3, Some("cfcopy2")).await;
    let subject = Subject::describe(&client, "app").await.unwrap();
    let plans = subject.copies(3, None, &deploy::RunId::new()).await.unwrap();
    let outcomes = tokio::time::timeout(STUCK, deploy::create_together(&client, &plans, &api.journal_dir, 3))
        .await
        .expect("the three creations were in flight together");
    let (names, errors): (Vec<_>, Vec<_>) = outcomes
        .iter()
        .map(|o| {
            (
                o.as_ref().ok().map(|c| c.name().to_owned()),
                o.as_ref().err().map(ToString::to_string),
            )
        })
        .unzip();
    assert_eq!(
        names,
        [Some(plans[0].name().to_owned()), None, Some(plans[2].name().to_owned())],
        "in the plans' order"
    );
    let refused = errors[1].as_deref().unwrap();
    assert!(
        refused.starts_with(&format!(
            "CreateFunction on {}: InvalidParameterValueException",
            plans[1].name()
        )),
        "{refused}"
    );
    {
        let seen = api.seen.lock().unwrap();
        assert_eq!(seen.most_in_flight, 3);
        assert_eq!(seen.creations.len(), 3);
        assert!(
            seen.creations.iter().all(|(_, journaled)| *journaled),
            "each journaled before its CreateFunction: {:?}",
            seen.creations
        );
    }
    // The refused one left no journal; the created ones' stay until they are deleted.
    let mut journals: Vec<String> = std::fs::read_dir(&api.journal_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    journals.sort();
    assert_eq!(
        journals,
        [
            format!("{}.created", plans[0].name()),
            format!("{}.created", plans[2].name())
        ]
    );
    for created in outcomes.into_iter().flatten() {
        created.delete().await.unwrap();
    }
    assert!(api.seen.lock().unwrap().functions.is_empty());
    assert_eq!(std::fs::read_dir(&api.journal_dir).unwrap().count(), 0);
}
