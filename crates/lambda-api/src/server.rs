//! The HTTP side: Lambda's and X-Ray's operations on their AWS paths, over the registry
//! and the pool.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use init_trace::sample::InvokeStatus;
use init_trace::spec::{FunctionSpec, SpecSet};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::code::{self, StoredCode};
use crate::error::ApiError;
use crate::pool::{Outcome, Pool};
use crate::registry::{self, Function, Origin, Revision};
use crate::xray::{InvokeTiming, TraceStore};

/// Lambda's limit for a synchronous invoke's request payload (6 MB), and for an
/// asynchronous one (1 MB) — the `Invoke` API reference.
pub const MAX_SYNC_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// See [`MAX_SYNC_PAYLOAD_BYTES`].
pub const MAX_ASYNC_PAYLOAD_BYTES: usize = 1024 * 1024;
/// Lambda returns at most the last 4 KB of an invocation's log with `LogType=Tail`.
pub use init_trace::local::LOG_TAIL_BYTES;
/// The largest request body read: a 50 MB zip, base64-encoded in JSON.
const MAX_BODY_BYTES: usize = 72 * 1024 * 1024;
/// The most recent invocations kept for `GET /coldfront/v1/invocations`.
const MAX_RECENT_INVOCATIONS: usize = 100_000;

/// How `serve` behaves.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where created functions' code is unpacked.
    pub store_dir: PathBuf,
    /// How long `InProgress` (updates) and `Pending` (new functions) last.
    pub update_delay: Duration,
    /// The most environments a function may have at once (its reserved concurrency);
    /// beyond it invokes are throttled.
    pub concurrency: u32,
    /// The region in ARNs.
    pub region: String,
    /// The account id in ARNs.
    pub account_id: String,
    /// The function RIE's path (`/2015-03-31/functions/function/invocations`) runs.
    pub rie_function: Option<String>,
}

impl ServeOptions {
    /// Options with `coldfront serve`'s defaults (no RIE function), code unpacked in
    /// `store_dir`. How long environments stay idle is the [`Pool`]'s.
    pub fn new(store_dir: PathBuf) -> Self {
        Self {
            store_dir,
            update_delay: Duration::from_millis(500),
            concurrency: 10,
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            rie_function: None,
        }
    }
}

/// One invocation as `GET /coldfront/v1/invocations` lists it (for the TUI).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InvocationSummary {
    /// Position in the stream, from 0.
    pub seq: u64,
    /// The function.
    pub function: String,
    /// Whether it started an environment.
    pub cold: bool,
    /// Init Duration, on a cold invoke whose INIT succeeded.
    pub init_ms: Option<f64>,
    /// The invoke's Duration.
    pub duration_ms: f64,
    /// Time `serve` spent on the request end to end.
    pub total_ms: f64,
    /// `success`, `error`, `timeout`, …
    pub status: String,
}

struct Shared {
    options: ServeOptions,
    functions: Mutex<BTreeMap<String, Function>>,
    pool: Arc<Pool>,
    traces: Mutex<TraceStore>,
    recent: Mutex<(u64, VecDeque<InvocationSummary>)>,
}

/// The server's state; make one with [`Server::new`], serve [`Server::router`].
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").finish_non_exhaustive()
    }
}

impl Server {
    /// A server whose functions are `preregistered`, on `pool`. Ended environments'
    /// samples are what the pool's sink receives.
    pub fn new(options: ServeOptions, preregistered: &SpecSet, pool: Arc<Pool>) -> Self {
        let now = Instant::now();
        let mut functions = BTreeMap::new();
        for spec in preregistered.functions() {
            let code = code::local_directory(&spec.code_dir).unwrap_or(StoredCode {
                dir: spec.code_dir.clone(),
                size_bytes: 0,
                sha256_base64: String::new(),
            });
            let revision = Revision {
                spec: spec.clone(),
                runtime_name: registry::runtime_name_for(spec),
                role: format!("arn:aws:iam::{}:role/coldfront-local", options.account_id),
                code,
                last_modified: registry::last_modified_now(),
                revision_id: registry::revision_id(),
                tracing_mode: "Active".to_owned(),
                architectures: vec![std::env::consts::ARCH.replace("aarch64", "arm64")],
                ephemeral_storage_mb: 512,
                vpc_config: None,
                file_system_configs: Vec::new(),
            };
            functions.insert(
                spec.name.clone(),
                Function {
                    latest: revision,
                    pending: None,
                    active_at: now,
                    versions: BTreeMap::new(),
                    origin: Origin::Preregistered,
                },
            );
        }
        Self {
            shared: Arc::new(Shared {
                options,
                functions: Mutex::new(functions),
                pool,
                traces: Mutex::new(TraceStore::default()),
                recent: Mutex::new((0, VecDeque::new())),
            }),
        }
    }

    /// The routes: Lambda 2015-03-31, X-Ray, RIE's path and coldfront's own.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/2015-03-31/functions", post(create_function).get(list_functions))
            .route("/2015-03-31/functions/", get(list_functions))
            .route(
                "/2015-03-31/functions/{name}",
                get(get_function).delete(delete_function),
            )
            .route(
                "/2015-03-31/functions/{name}/configuration",
                get(get_configuration).put(update_configuration),
            )
            .route("/2015-03-31/functions/{name}/code", axum::routing::put(update_code))
            .route("/2015-03-31/functions/{name}/versions", post(publish_version))
            .route("/2015-03-31/functions/{name}/invocations", post(invoke))
            .route("/TraceSegments", post(put_trace_segments))
            .route("/TraceSummaries", post(get_trace_summaries))
            .route("/Traces", post(batch_get_traces))
            .route("/coldfront/v1/invocations", get(recent_invocations))
            .fallback(unknown)
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(self.clone())
    }

    /// The pool, for shutting down.
    pub fn pool(&self) -> &Arc<Pool> {
        &self.shared.pool
    }

    fn arn_prefix(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:",
            self.shared.options.region, self.shared.options.account_id
        )
    }

    fn functions(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Function>> {
        self.shared.functions.lock().expect("functions lock")
    }

    /// Settles every function whose change is due, retiring environments of a changed
    /// `$LATEST`.
    fn settle(&self, now: Instant) {
        let mut changed = Vec::new();
        for (name, function) in self.functions().iter_mut() {
            if function.settle(now) {
                changed.push(name.clone());
            }
        }
        for name in changed {
            self.shared.pool.retire(&name, Some("$LATEST"));
        }
    }
}

/// Splits a `FunctionName` path parameter (name, ARN or partial ARN, with an optional
/// `:qualifier`) into name and qualifier.
fn parse_function_name(raw: &str) -> Result<(String, Option<String>), ApiError> {
    let parts: Vec<&str> = raw.split(':').collect();
    let (name, qualifier) = match parts.as_slice() {
        [name] | ["arn", _, "lambda", _, _, "function", name] | [_, "function", name] => (*name, None),
        [name, qualifier]
        | ["arn", _, "lambda", _, _, "function", name, qualifier]
        | [_, "function", name, qualifier] => (*name, Some(*qualifier)),
        _ => {
            return Err(ApiError::invalid_parameter(format!(
                "FunctionName {raw:?} is neither a function name, an ARN nor a partial ARN"
            )));
        }
    };
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(ApiError::invalid_parameter(format!(
            "1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ (1 to 64 characters)"
        )));
    }
    Ok((name.to_owned(), qualifier.map(str::to_owned)))
}

fn not_found(server: &Server, name: &str) -> ApiError {
    ApiError::not_found(format!("Function not found: {}{name}", server.arn_prefix()))
}

fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_content(format!("Could not parse request body into json: {e}")))
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (status, axum::Json(value)).into_response()
}

#[derive(Debug, Deserialize)]
struct QualifierQuery {
    #[serde(rename = "Qualifier")]
    qualifier: Option<String>,
}

async fn create_function(State(server): State<Server>, body: Bytes) -> Result<Response, ApiError> {
    let body = json_body(&body)?;
    let name = body
        .get("FunctionName")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_parameter("FunctionName is required"))?;
    let (name, _) = parse_function_name(name)?;
    if server.functions().contains_key(&name) {
        return Err(ApiError::conflict(format!("Function already exist: {name}")));
    }
    body.get("Role")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_parameter("Role is required"))?;
    let runtime = body
        .get("Runtime")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_parameter("Runtime is required for a Zip package"))?;
    let kind = registry::runtime_kind(runtime)?;
    if body.get("PackageType").and_then(Value::as_str) == Some("Image") {
        return Err(ApiError::invalid_parameter(
            "PackageType Image is not supported by coldfront serve; use a Zip package",
        ));
    }
    let code = store_code(&server, &name, body.get("Code"))?;
    let mut revision = Revision {
        spec: FunctionSpec {
            name: name.clone(),
            runtime: kind,
            code_dir: code.dir.clone(),
            handler: String::new(),
            command: None,
            interpreter: "python3".to_owned(),
            site_packages: false,
            memory_mb: 128,
            ephemeral_storage_mb: init_trace::spec::MIN_EPHEMERAL_STORAGE_MB,
            layers: Vec::new(),
            timeout_ms: 3000,
            init_timeout_ms: init_trace::spec::DEFAULT_INIT_TIMEOUT_MS,
            invokes: 1,
            event: "{}".to_owned(),
            env: BTreeMap::new(),
            description: String::new(),
        },
        runtime_name: runtime.to_owned(),
        role: String::new(),
        code,
        last_modified: registry::last_modified_now(),
        revision_id: registry::revision_id(),
        tracing_mode: "PassThrough".to_owned(),
        architectures: vec!["x86_64".to_owned()],
        ephemeral_storage_mb: 512,
        vpc_config: None,
        file_system_configs: Vec::new(),
    };
    if let Err(err) = registry::apply_configuration(&mut revision, &body) {
        let _ = std::fs::remove_dir_all(server.shared.options.store_dir.join(&name));
        return Err(err);
    }
    if revision.spec.handler.is_empty() && revision.spec.runtime != init_trace::spec::RuntimeKind::Provided {
        return Err(ApiError::invalid_parameter("Handler is required for a Zip package"));
    }
    let now = Instant::now();
    let mut function = Function {
        latest: revision,
        pending: None,
        active_at: now + server.shared.options.update_delay,
        versions: BTreeMap::new(),
        origin: Origin::Created,
    };
    let mut functions = server.functions();
    if functions.contains_key(&name) {
        return Err(ApiError::conflict(format!("Function already exist: {name}")));
    }
    let mut version = "$LATEST".to_owned();
    if body.get("Publish").and_then(Value::as_bool) == Some(true) {
        function.versions.insert(1, function.latest.clone());
        version = "1".to_owned();
    }
    let revision = if version == "$LATEST" {
        &function.latest
    } else {
        &function.versions[&1]
    };
    let config = registry::configuration(&function, revision, &version, &server.arn_prefix(), now);
    functions.insert(name, function);
    Ok(json_response(StatusCode::CREATED, &config))
}

/// Stores a `Code` object: `ZipFile` (base64 zip) or coldfront's local directory, given
/// as `S3Bucket: "coldfront-local"` with the directory as `S3Key` (so the AWS CLI and
/// boto3, which validate `Code`'s members, can send it) or as `LocalPath`.
fn store_code(server: &Server, name: &str, code: Option<&Value>) -> Result<StoredCode, ApiError> {
    let code = code.ok_or_else(|| ApiError::invalid_parameter("Code is required"))?;
    if let Some(zip) = code.get("ZipFile").and_then(Value::as_str) {
        let bytes = code::decode_zip_blob(zip)?;
        let dir = server.shared.options.store_dir.join(name).join(registry::revision_id());
        return code::unpack_zip(&bytes, &dir);
    }
    let local = code.get("LocalPath").and_then(Value::as_str).or_else(|| {
        (code.get("S3Bucket").and_then(Value::as_str) == Some("coldfront-local"))
            .then(|| code.get("S3Key").and_then(Value::as_str))
            .flatten()
    });
    if let Some(path) = local {
        return code::local_directory(std::path::Path::new(path));
    }
    Err(ApiError::invalid_parameter(
        "Code must have ZipFile (a zip, base64) or a local directory (S3Bucket \"coldfront-local\" with the directory as S3Key); S3 and images are not reachable from coldfront serve",
    ))
}

/// `FunctionConfiguration` of the revision `raw` (and `?Qualifier=`) names, with where
/// its code is: what GetFunction and GetFunctionConfiguration both answer from.
fn read_configuration(server: &Server, raw: &str, query: QualifierQuery) -> Result<(Value, String), ApiError> {
    let now = Instant::now();
    server.settle(now);
    let (name, qualifier) = parse_function_name(raw)?;
    let qualifier = query.qualifier.or(qualifier);
    let functions = server.functions();
    let function = functions.get(&name).ok_or_else(|| not_found(server, &name))?;
    let (revision, version) = function.revision(&name, qualifier.as_deref())?;
    let config = registry::configuration(function, revision, &version, &server.arn_prefix(), now);
    Ok((config, format!("file://{}", revision.code.dir.display())))
}

async fn get_function(
    State(server): State<Server>,
    Path(raw): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> Result<Response, ApiError> {
    let (config, location) = read_configuration(&server, &raw, query)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "Configuration": config,
            "Code": {"RepositoryType": "S3", "Location": location},
            "Tags": {},
            "Concurrency": {"ReservedConcurrentExecutions": server.shared.options.concurrency},
        }),
    ))
}

async fn get_configuration(
    State(server): State<Server>,
    Path(raw): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> Result<Response, ApiError> {
    let (config, _) = read_configuration(&server, &raw, query)?;
    Ok(json_response(StatusCode::OK, &config))
}

/// Refuses a change while another is in progress or the function is still `Pending`.
fn check_no_update_in_progress(server: &Server, function: &Function, name: &str, now: Instant) -> Result<(), ApiError> {
    if function.pending.is_some() {
        return Err(ApiError::conflict(format!(
            "The operation cannot be performed at this time. An update is in progress for resource: {}{name}",
            server.arn_prefix()
        )));
    }
    if function.state(now) == "Pending" {
        return Err(ApiError::conflict(format!(
            "The operation cannot be performed at this time. The function is currently in the following state: Pending for resource: {}{name}",
            server.arn_prefix()
        )));
    }
    Ok(())
}

fn check_revision_id(body: &Value, revision: &Revision) -> Result<(), ApiError> {
    match body.get("RevisionId").and_then(Value::as_str) {
        Some(expected) if expected != revision.revision_id => Err(ApiError {
            status: StatusCode::PRECONDITION_FAILED,
            code: "PreconditionFailedException",
            message: "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".to_owned(),
            retry_after_s: None,
            reason: None,
        }),
        _ => Ok(()),
    }
}

/// What every change to an existing function starts with: the function, refused while
/// another change is in progress or when the request's `RevisionId` is not the latest.
fn changeable<'a>(
    server: &Server,
    functions: &'a mut BTreeMap<String, Function>,
    name: &str,
    body: &Value,
    now: Instant,
) -> Result<&'a mut Function, ApiError> {
    let function = functions.get_mut(name).ok_or_else(|| not_found(server, name))?;
    check_no_update_in_progress(server, function, name, now)?;
    check_revision_id(body, &function.latest)?;
    Ok(function)
}

async fn update_configuration(
    State(server): State<Server>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let now = Instant::now();
    server.settle(now);
    let body = json_body(&body)?;
    let (name, _) = parse_function_name(&raw)?;
    let mut functions = server.functions();
    let function = changeable(&server, &mut functions, &name, &body, now)?;
    let mut revision = function.latest.clone();
    registry::apply_configuration(&mut revision, &body)?;
    revision.revision_id = registry::revision_id();
    revision.last_modified = registry::last_modified_now();
    function.pending = Some((revision.clone(), now + server.shared.options.update_delay));
    let mut config = registry::configuration(function, &revision, "$LATEST", &server.arn_prefix(), now);
    config["LastUpdateStatus"] = json!("InProgress");
    drop(functions);
    if server.shared.options.update_delay.is_zero() {
        server.settle(Instant::now());
    }
    Ok(json_response(StatusCode::OK, &config))
}

async fn update_code(State(server): State<Server>, Path(raw): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let now = Instant::now();
    server.settle(now);
    let body = json_body(&body)?;
    let (name, _) = parse_function_name(&raw)?;
    // Checked before the (slow) unpacking, and again after it.
    changeable(&server, &mut server.functions(), &name, &body, now)?;
    let code = store_code(&server, &name, Some(&body))?;
    let mut functions = server.functions();
    let function = functions.get_mut(&name).ok_or_else(|| not_found(&server, &name))?;
    check_no_update_in_progress(&server, function, &name, now)?;
    let mut revision = function.latest.clone();
    revision.spec.code_dir = code.dir.clone();
    revision.code = code;
    revision.revision_id = registry::revision_id();
    revision.last_modified = registry::last_modified_now();
    function.pending = Some((revision.clone(), now + server.shared.options.update_delay));
    let mut config = registry::configuration(function, &revision, "$LATEST", &server.arn_prefix(), now);
    config["LastUpdateStatus"] = json!("InProgress");
    if body.get("Publish").and_then(Value::as_bool) == Some(true) {
        let number = function.versions.keys().next_back().map_or(1, |n| n + 1);
        function.versions.insert(number, revision.clone());
        config = registry::configuration(function, &revision, &number.to_string(), &server.arn_prefix(), now);
    }
    drop(functions);
    if server.shared.options.update_delay.is_zero() {
        server.settle(Instant::now());
    }
    Ok(json_response(StatusCode::OK, &config))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(rename = "Marker")]
    marker: Option<String>,
    #[serde(rename = "MaxItems")]
    max_items: Option<usize>,
}

async fn list_functions(State(server): State<Server>, Query(query): Query<ListQuery>) -> Result<Response, ApiError> {
    let now = Instant::now();
    server.settle(now);
    let max_items = query.max_items.unwrap_or(50);
    if !(1..=10_000).contains(&max_items) {
        return Err(ApiError::invalid_parameter(format!(
            "MaxItems {max_items} must be from 1 to 10000"
        )));
    }
    let functions = server.functions();
    let after = query.marker.unwrap_or_default();
    let page: Vec<Value> = functions
        .iter()
        .filter(|(name, _)| after.is_empty() || name.as_str() > after.as_str())
        .take(max_items + 1)
        .map(|(_, f)| registry::configuration(f, &f.latest, "$LATEST", &server.arn_prefix(), now))
        .collect();
    let (page, next) = if page.len() > max_items {
        let next = page[max_items - 1]["FunctionName"].as_str().map(str::to_owned);
        (page[..max_items].to_vec(), next)
    } else {
        (page, None)
    };
    let mut body = json!({"Functions": page});
    if let Some(next) = next {
        body["NextMarker"] = json!(next);
    }
    Ok(json_response(StatusCode::OK, &body))
}

async fn delete_function(
    State(server): State<Server>,
    Path(raw): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> Result<Response, ApiError> {
    let (name, qualifier) = parse_function_name(&raw)?;
    let qualifier = query.qualifier.or(qualifier);
    let mut functions = server.functions();
    let function = functions.get_mut(&name).ok_or_else(|| not_found(&server, &name))?;
    match qualifier.as_deref() {
        None | Some("$LATEST") => {
            let removed = functions.remove(&name).expect("found above");
            drop(functions);
            server.shared.pool.retire(&name, None);
            if removed.origin == Origin::Created {
                let _ = std::fs::remove_dir_all(server.shared.options.store_dir.join(&name));
            }
        }
        Some(q) => {
            let number: u32 = q
                .parse()
                .map_err(|_| ApiError::invalid_parameter(format!("Qualifier {q:?} is not a version number")))?;
            function
                .versions
                .remove(&number)
                .ok_or_else(|| ApiError::not_found(format!("Function not found: {}{name}:{q}", server.arn_prefix())))?;
            drop(functions);
            server.shared.pool.retire(&name, Some(q));
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn publish_version(
    State(server): State<Server>,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let now = Instant::now();
    server.settle(now);
    let body = json_body(&body)?;
    let (name, _) = parse_function_name(&raw)?;
    let mut functions = server.functions();
    let function = changeable(&server, &mut functions, &name, &body, now)?;
    if let Some(sha) = body.get("CodeSha256").and_then(Value::as_str)
        && sha != function.latest.code.sha256_base64
    {
        return Err(ApiError::invalid_parameter(format!(
            "CodeSha256 ({sha}) is different from current CodeSha256 in $LATEST ({}). Please try again with the CodeSha256 in $LATEST.",
            function.latest.code.sha256_base64
        )));
    }
    // Publishing an unchanged $LATEST returns the version that has it, as Lambda does.
    let same =
        function.versions.iter().next_back().filter(|(_, r)| {
            r.code.sha256_base64 == function.latest.code.sha256_base64 && r.spec == function.latest.spec
        });
    let number = if let Some((number, _)) = same {
        *number
    } else {
        let number = function.versions.keys().next_back().map_or(1, |n| n + 1);
        let mut revision = function.latest.clone();
        if let Some(description) = body.get("Description").and_then(Value::as_str) {
            description.clone_into(&mut revision.spec.description);
        }
        function.versions.insert(number, revision);
        number
    };
    let revision = &function.versions[&number];
    let config = registry::configuration(function, revision, &number.to_string(), &server.arn_prefix(), now);
    Ok(json_response(StatusCode::CREATED, &config))
}

async fn invoke(
    State(server): State<Server>,
    Path(raw): Path<String>,
    Query(query): Query<QualifierQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let received = Instant::now();
    let received_wall = chrono::Utc::now();
    // RIE's path names no function: "function" is the one configured for it.
    let raw = if raw == "function"
        && let Some(rie) = &server.shared.options.rie_function
    {
        rie.clone()
    } else {
        raw
    };
    let (name, qualifier) = parse_function_name(&raw)?;
    let qualifier = query.qualifier.or(qualifier);
    let invocation_type = header(&headers, "X-Amz-Invocation-Type").unwrap_or("RequestResponse");
    let tail = match header(&headers, "X-Amz-Log-Type") {
        None | Some("None") => false,
        Some("Tail") => true,
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "X-Amz-Log-Type {other:?} must be None or Tail"
            )));
        }
    };
    let limit = match invocation_type {
        "RequestResponse" | "DryRun" => MAX_SYNC_PAYLOAD_BYTES,
        "Event" => MAX_ASYNC_PAYLOAD_BYTES,
        other => {
            return Err(ApiError::invalid_parameter(format!(
                "X-Amz-Invocation-Type {other:?} must be RequestResponse, Event or DryRun"
            )));
        }
    };
    if body.len() > limit {
        return Err(ApiError::too_large(format!(
            "Request must be smaller than {limit} bytes for the InvokeFunction operation"
        )));
    }
    let event = if body.is_empty() {
        "{}".to_owned()
    } else {
        let text = std::str::from_utf8(&body)
            .map_err(|e| ApiError::invalid_content(format!("Could not parse request body into json: {e}")))?;
        serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| {
            ApiError::invalid_content(format!(
                "Could not parse request body into json: Could not parse payload into json: {e}"
            ))
        })?;
        text.to_owned()
    };
    server.settle(received);
    let (spec, version, tracing_active) = {
        let functions = server.functions();
        let function = functions.get(&name).ok_or_else(|| not_found(&server, &name))?;
        if function.state(received) == "Pending" {
            return Err(ApiError::conflict(format!(
                "The operation cannot be performed at this time. The function is currently in the following state: Pending for resource: {}{name}",
                server.arn_prefix()
            )));
        }
        let (revision, version) = function.revision(&name, qualifier.as_deref())?;
        let mut spec = revision.spec.clone();
        // A published version's runtime sees its number, as on Lambda.
        if version != "$LATEST" {
            spec.env
                .insert("AWS_LAMBDA_FUNCTION_VERSION".to_owned(), version.clone());
        }
        (spec, version, revision.tracing_mode == "Active")
    };
    match invocation_type {
        "DryRun" => Ok(StatusCode::NO_CONTENT.into_response()),
        "Event" => {
            let server = server.clone();
            let executed_version = header_value(&version);
            tokio::spawn(async move {
                // Lambda queues events; a throttled one is retried, as Lambda does.
                for attempt in 0..60_u32 {
                    match server
                        .shared
                        .pool
                        .invoke(&spec, &version, event.clone(), server.shared.options.concurrency)
                        .await
                    {
                        Ok(outcome) => {
                            if let Err(err) = server.record(&spec, outcome, received, received_wall, tracing_active) {
                                tracing::warn!("event for {}: {err}", spec.name);
                            }
                            return;
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt + 1))).await,
                    }
                }
                tracing::warn!("event for {} dropped after 60 throttled attempts", spec.name);
            });
            let mut response = StatusCode::ACCEPTED.into_response();
            response
                .headers_mut()
                .insert("X-Amz-Executed-Version", executed_version);
            Ok(response)
        }
        _ => {
            let limit = server.shared.options.concurrency;
            let outcome = match server.shared.pool.invoke(&spec, &version, event.clone(), limit).await {
                // The idle environment had gone (its runtime exited while idle): start anew.
                Ok(Outcome::Gone) => server.shared.pool.invoke(&spec, &version, event, limit).await,
                other => other,
            }
            .map_err(|throttled| {
                ApiError::throttled(
                    "ReservedFunctionConcurrentInvocationLimitExceeded",
                    format!(
                        "Rate Exceeded. {name} has {} environments busy, its concurrency limit (coldfront serve --concurrency)",
                        throttled.limit
                    ),
                )
            })?;
            let answer = server.record(&spec, outcome, received, received_wall, tracing_active)?;
            let mut response = (StatusCode::OK, answer.payload).into_response();
            let headers = response.headers_mut();
            headers.insert("Content-Type", HeaderValue::from_static("application/json"));
            headers.insert("X-Amz-Executed-Version", header_value(&version));
            if let Some(kind) = answer.function_error {
                headers.insert("X-Amz-Function-Error", HeaderValue::from_static(kind));
            }
            if tail {
                let log = answer.log.as_bytes();
                let log = &log[log.len().saturating_sub(LOG_TAIL_BYTES)..];
                let encoded = base64::engine::general_purpose::STANDARD.encode(log);
                headers.insert("X-Amz-Log-Result", header_value(&encoded));
            }
            Ok(response)
        }
    }
}

/// What an invoke answers.
struct Answer {
    payload: Bytes,
    function_error: Option<&'static str>,
    log: String,
}

impl Server {
    /// Turns an environment's outcome into the invoke's answer, and records it (X-Ray,
    /// the recent-invocations list).
    fn record(
        &self,
        spec: &FunctionSpec,
        outcome: Outcome,
        received: Instant,
        received_wall: chrono::DateTime<chrono::Utc>,
        tracing_active: bool,
    ) -> Result<Answer, ApiError> {
        let epoch = |t: chrono::DateTime<chrono::Utc>| t.timestamp_micros() as f64 / 1e6;
        match outcome {
            Outcome::Invoked {
                invoked,
                cold_init,
                environment_started_at,
                xray_documents,
            } => {
                let record = &invoked.record;
                let answered_wall = chrono::Utc::now();
                let (payload, function_error) = match (&record.status, &record.error, &invoked.response) {
                    (InvokeStatus::Success, _, Some(body)) => (body.clone(), None),
                    (_, Some(error), _) => (
                        Bytes::from(
                            json!({
                                "errorMessage": error.error_message,
                                "errorType": error.error_type,
                                "stackTrace": error.stack_trace,
                            })
                            .to_string(),
                        ),
                        Some("Unhandled"),
                    ),
                    _ => (Bytes::from_static(b"null"), None),
                };
                let total_ms = received.elapsed().as_secs_f64() * 1000.0;
                self.remember(InvocationSummary {
                    seq: 0,
                    function: spec.name.clone(),
                    cold: cold_init.is_some(),
                    init_ms: cold_init.as_ref().and_then(|i| i.duration_ms),
                    duration_ms: record.duration_ms,
                    total_ms,
                    status: format!("{:?}", record.status).to_lowercase(),
                });
                if tracing_active && let Some((root, parent)) = crate::xray::root_and_parent(&record.trace_header) {
                    let answered_s = epoch(answered_wall);
                    let invocation_end = answered_s.min(epoch(received_wall) + total_ms / 1000.0);
                    let invocation_start = invocation_end - record.duration_ms / 1000.0;
                    let init_s = cold_init.as_ref().and_then(|init| {
                        let start = epoch(environment_started_at);
                        init.duration_ms.map(|ms| (start, start + ms / 1000.0))
                    });
                    let timing = InvokeTiming {
                        trace_id: root,
                        function_segment_id: parent,
                        function_name: spec.name.clone(),
                        function_arn: format!("{}{}", self.arn_prefix(), spec.name),
                        account_id: self.shared.options.account_id.clone(),
                        request_id: record.request_id.clone(),
                        received_s: epoch(received_wall),
                        init_s,
                        invocation_s: (invocation_start, invocation_end),
                        answered_s,
                        function_error: match record.status {
                            InvokeStatus::Success => None,
                            InvokeStatus::Error => Some(false),
                            _ => Some(true),
                        },
                    };
                    let mut traces = self.shared.traces.lock().expect("traces lock");
                    traces.record_invoke(&timing);
                    for document in xray_documents {
                        let _ = traces.put(document.document);
                    }
                }
                Ok(Answer {
                    payload,
                    function_error,
                    log: invoked.log,
                })
            }
            Outcome::InitFailed { init, log } => {
                let error = init.error.clone().unwrap_or_else(|| {
                    init_trace::sample::FunctionError::platform("Runtime.Unknown", "INIT did not finish")
                });
                self.remember(InvocationSummary {
                    seq: 0,
                    function: spec.name.clone(),
                    cold: true,
                    init_ms: None,
                    duration_ms: 0.0,
                    total_ms: received.elapsed().as_secs_f64() * 1000.0,
                    status: format!("init {:?}", init.status).to_lowercase(),
                });
                Ok(Answer {
                    payload: Bytes::from(
                        json!({
                            "errorMessage": error.error_message,
                            "errorType": error.error_type,
                            "stackTrace": error.stack_trace,
                        })
                        .to_string(),
                    ),
                    function_error: Some("Unhandled"),
                    log,
                })
            }
            Outcome::SetupFailed(why) => Err(ApiError::service(format!(
                "coldfront could not start an environment for {}: {why}",
                spec.name
            ))),
            Outcome::Gone => Err(ApiError::service(format!(
                "the environment for {} ended before it could take the invoke",
                spec.name
            ))),
        }
    }

    fn remember(&self, mut summary: InvocationSummary) {
        let mut recent = self.shared.recent.lock().expect("recent lock");
        summary.seq = recent.0;
        recent.0 += 1;
        recent.1.push_back(summary);
        if recent.1.len() > MAX_RECENT_INVOCATIONS {
            recent.1.pop_front();
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

#[derive(Debug, Deserialize)]
struct AfterQuery {
    after: Option<u64>,
}

async fn recent_invocations(State(server): State<Server>, Query(query): Query<AfterQuery>) -> Response {
    let recent = server.shared.recent.lock().expect("recent lock");
    let list: Vec<&InvocationSummary> = recent
        .1
        .iter()
        .filter(|s| query.after.is_none_or(|after| s.seq > after))
        .collect();
    json_response(StatusCode::OK, &json!({"invocations": list, "next": recent.0}))
}

fn epoch_seconds(value: Option<&Value>, name: &str) -> Result<f64, ApiError> {
    match value {
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| ApiError::xray_invalid(format!("{name} is not a number"))),
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_micros() as f64 / 1e6)
            .map_err(|e| ApiError::xray_invalid(format!("{name} {s:?} is not a timestamp: {e}"))),
        _ => Err(ApiError::xray_invalid(format!("{name} is required"))),
    }
}

async fn get_trace_summaries(State(server): State<Server>, body: Bytes) -> Result<Response, ApiError> {
    let body = json_body(&body)?;
    let start_s = epoch_seconds(body.get("StartTime"), "StartTime")?;
    let end_s = epoch_seconds(body.get("EndTime"), "EndTime")?;
    if end_s < start_s {
        return Err(ApiError::xray_invalid("EndTime is before StartTime"));
    }
    let service = crate::xray::parse_filter(body.get("FilterExpression").and_then(Value::as_str).unwrap_or(""))?;
    let summaries = server
        .shared
        .traces
        .lock()
        .expect("traces lock")
        .summaries(start_s, end_s, service.as_deref());
    let count = summaries.len();
    Ok(json_response(
        StatusCode::OK,
        &json!({"TraceSummaries": summaries, "ApproximateTime": end_s, "TracesProcessedCount": count}),
    ))
}

async fn batch_get_traces(State(server): State<Server>, body: Bytes) -> Result<Response, ApiError> {
    let body = json_body(&body)?;
    let ids: Vec<String> = body
        .get("TraceIds")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| ApiError::xray_invalid(format!("TraceIds must be a list of strings: {e}")))?
        .ok_or_else(|| ApiError::xray_invalid("TraceIds is required"))?;
    let (traces, unprocessed) = server.shared.traces.lock().expect("traces lock").traces(&ids);
    Ok(json_response(
        StatusCode::OK,
        &json!({"Traces": traces, "UnprocessedTraceIds": unprocessed}),
    ))
}

async fn put_trace_segments(State(server): State<Server>, body: Bytes) -> Result<Response, ApiError> {
    let body = json_body(&body)?;
    let documents: Vec<String> = body
        .get("TraceSegmentDocuments")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| ApiError::xray_invalid(format!("TraceSegmentDocuments must be a list of strings: {e}")))?
        .ok_or_else(|| ApiError::xray_invalid("TraceSegmentDocuments is required"))?;
    let mut unprocessed = Vec::new();
    let mut traces = server.shared.traces.lock().expect("traces lock");
    for text in documents {
        let parsed: Result<Value, String> = serde_json::from_str(&text).map_err(|e| e.to_string());
        let id = parsed
            .as_ref()
            .ok()
            .and_then(|d| d.get("id"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if let Err(why) = parsed.and_then(|document| traces.put(document)) {
            unprocessed.push(json!({"Id": id, "ErrorCode": "InvalidSegment", "Message": why}));
        }
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({"UnprocessedTraceSegments": unprocessed}),
    ))
}

async fn unknown(method: Method, uri: Uri) -> ApiError {
    ApiError::unknown_operation(method.as_str(), uri.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_arns_and_qualifiers_are_split() {
        assert_eq!(parse_function_name("wiki").unwrap(), ("wiki".into(), None));
        assert_eq!(
            parse_function_name("wiki:3").unwrap(),
            ("wiki".into(), Some("3".into()))
        );
        assert_eq!(
            parse_function_name("arn:aws:lambda:us-east-1:000000000000:function:wiki:$LATEST").unwrap(),
            ("wiki".into(), Some("$LATEST".into()))
        );
        assert_eq!(
            parse_function_name("000000000000:function:wiki").unwrap(),
            ("wiki".into(), None)
        );
        assert!(parse_function_name("a/b").is_err());
        assert!(parse_function_name(&"x".repeat(65)).is_err());
    }
}
