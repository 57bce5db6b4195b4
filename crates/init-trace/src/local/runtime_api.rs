//! The Lambda Runtime API (2018-06-01) on loopback, served by axum.
//!
//! The server only records and hands over: every request becomes an [`ApiEvent`] on a
//! channel, and the sandbox decides what happens next. `GET /next` is a long poll that is
//! answered with the invocation the sandbox offered: at once when one is queued (as on
//! Lambda, where the request that caused a cold start is waiting when INIT ends), else
//! when the sandbox offers one. Connections get `TCP_NODELAY`,
//! because without it a Nagle/delayed-ACK stall of ~40 ms appears between a response and
//! the next `GET /next` (docs/sources.md, "Measurement pitfalls").

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::clock::monotonic_ns;
use crate::sample::FunctionError;

/// Lambda's limit for a synchronous response payload: 6 MB.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// How much of an oversize body is read before the connection is given up on.
const MAX_READ_BYTES: usize = 64 * 1024 * 1024;
/// How much of each response a sample keeps.
pub const RESPONSE_PREVIEW_BYTES: usize = 4096;
/// Timestamps the bundled bootstrap sends with its first `GET /next` (see its docs).
const MARKS_HEADER: &str = "coldfront-init-marks";
const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";

/// What the runtime did.
#[derive(Debug)]
pub(crate) enum ApiEvent {
    /// `GET /runtime/invocation/next` arrived; `delivered` when it was answered at once
    /// with a queued invocation.
    Next {
        at_ns: u64,
        marks: Option<String>,
        delivered: Option<Delivered>,
    },
    /// A response for an invocation.
    Response {
        request_id: String,
        at_ns: u64,
        /// The whole body (within the 6 MB limit), for a caller of `Invoke`.
        body: axum::body::Bytes,
        preview: String,
    },
    /// A response over the 6 MB limit (answered with 413).
    ResponseTooLarge { request_id: String, at_ns: u64, bytes: u64 },
    /// `POST /runtime/invocation/{id}/error`.
    InvokeError {
        request_id: String,
        at_ns: u64,
        error: FunctionError,
    },
    /// `POST /runtime/init/error`.
    InitError { at_ns: u64, error: FunctionError },
    /// A rejected request.
    Problem(Problem),
}

/// A request the Runtime API rejected, and the answer it got.
#[derive(Debug)]
pub(crate) struct Problem {
    pub at_ns: u64,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub message: String,
}

/// One event for the runtime, and what Lambda's headers are made from.
#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    pub request_id: String,
    /// The function's timeout: the deadline header is the delivery time plus this.
    pub timeout_ms: u64,
    pub function_arn: String,
    pub trace_header: String,
    pub body: String,
}

/// When an invocation reached the runtime, and the deadline it was given.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Delivered {
    pub at_ns: u64,
    pub deadline_epoch_ms: i64,
}

/// The `GET /next` side: a request waiting for an invocation, or an invocation waiting
/// for a request (never both).
#[derive(Debug, Default)]
struct NextSlot {
    waiter: Option<oneshot::Sender<(Invocation, Delivered)>>,
    queued: Option<Invocation>,
}

#[derive(Debug)]
struct ApiState {
    events: mpsc::UnboundedSender<ApiEvent>,
    next: Mutex<NextSlot>,
    in_flight: Mutex<Option<String>>,
    init_done: std::sync::atomic::AtomicBool,
}

impl ApiState {
    /// Marks `invocation` as the one in progress, delivered now.
    fn start(&self, invocation: &Invocation) -> Delivered {
        *self.in_flight.lock().expect("runtime API lock") = Some(invocation.request_id.clone());
        let timeout_ms = i64::try_from(invocation.timeout_ms).unwrap_or(i64::MAX);
        Delivered {
            at_ns: monotonic_ns(),
            deadline_epoch_ms: chrono::Utc::now().timestamp_millis().saturating_add(timeout_ms),
        }
    }

    fn reject(&self, method: &Method, uri: &Uri, status: StatusCode, error_type: &str, message: String) -> Response {
        tracing::debug!(%method, %uri, %status, "runtime API rejected a request: {message}");
        let _ = self.events.send(ApiEvent::Problem(Problem {
            at_ns: monotonic_ns(),
            method: method.to_string(),
            path: uri.path().to_owned(),
            status: status.as_u16(),
            message: message.clone(),
        }));
        (
            status,
            [("content-type", "application/json")],
            json!({"errorMessage": message, "errorType": error_type}).to_string(),
        )
            .into_response()
    }
}

/// A running Runtime API server for one sandbox.
#[derive(Debug)]
pub(crate) struct RuntimeApi {
    addr: SocketAddr,
    state: Arc<ApiState>,
    events: mpsc::UnboundedReceiver<ApiEvent>,
    server: JoinHandle<()>,
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [("content-type", "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

/// Reads a body of at most [`MAX_READ_BYTES`]; `None` when it is larger or broken.
async fn read_body(request: Request) -> Option<axum::body::Bytes> {
    axum::body::to_bytes(request.into_body(), MAX_READ_BYTES).await.ok()
}

fn parse_error(headers: &HeaderMap, body: &[u8]) -> FunctionError {
    let header = headers
        .get(ERROR_TYPE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let stack_trace = parsed
        .as_ref()
        .and_then(|v| v.get("stackTrace"))
        .and_then(|v| v.as_array())
        .map(|lines| {
            lines
                .iter()
                .map(|l| l.as_str().map_or_else(|| l.to_string(), str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    FunctionError {
        error_type: field("errorType")
            .or_else(|| header.clone())
            .unwrap_or_else(|| "Runtime.Unknown".to_owned()),
        error_message: field("errorMessage")
            .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(4096)]).into_owned()),
        stack_trace,
        error_type_header: header,
    }
}

async fn next(State(state): State<Arc<ApiState>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let marks = headers
        .get(MARKS_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (tx, rx) = oneshot::channel();
    // The arrival time is taken, and the event sent, under the slot's lock, so events and
    // times follow the order in which requests took the slot: a GET that comes after an
    // offer always has a later time than that offer's delivery.
    let queued = {
        let mut slot = state.next.lock().expect("runtime API lock");
        let at_ns = monotonic_ns();
        if slot.waiter.as_ref().is_some_and(|p| !p.is_closed()) {
            drop(slot);
            return state.reject(
                &method,
                &uri,
                StatusCode::BAD_REQUEST,
                "InvalidStateTransition",
                "a GET /next is already waiting for an event on another connection".to_owned(),
            );
        }
        state.init_done.store(true, std::sync::atomic::Ordering::Relaxed);
        let queued = slot.queued.take().map(|invocation| {
            let delivered = state.start(&invocation);
            (invocation, delivered)
        });
        if queued.is_none() {
            slot.waiter = Some(tx);
        }
        let _ = state.events.send(ApiEvent::Next {
            at_ns,
            marks,
            delivered: queued.as_ref().map(|(_, delivered)| *delivered),
        });
        queued
    };
    if let Some((invocation, delivered)) = queued {
        return invocation_response(invocation, delivered);
    }
    let Ok((invocation, delivered)) = rx.await else {
        // The sandbox is being torn down; the process is about to be killed.
        return (StatusCode::GONE, "sandbox shutting down").into_response();
    };
    invocation_response(invocation, delivered)
}

/// The answer to `GET /next`: the event, with Lambda's headers.
fn invocation_response(invocation: Invocation, delivered: Delivered) -> Response {
    let mut response = Response::new(Body::from(invocation.body));
    let headers = response.headers_mut();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("content-type", "application/json");
    put("lambda-runtime-aws-request-id", &invocation.request_id);
    put("lambda-runtime-deadline-ms", &delivered.deadline_epoch_ms.to_string());
    put("lambda-runtime-invoked-function-arn", &invocation.function_arn);
    put("lambda-runtime-trace-id", &invocation.trace_header);
    response
}

#[allow(clippy::result_large_err)] // An axum response, built only on the error path.
fn check_in_flight(state: &ApiState, id: &str, method: &Method, uri: &Uri) -> Result<(), Response> {
    let in_flight = state.in_flight.lock().expect("runtime API lock").clone();
    match in_flight {
        Some(current) if current == id => Ok(()),
        Some(current) => Err(state.reject(
            method,
            uri,
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            format!("request id {id:?} is not the invocation in progress ({current})"),
        )),
        None => Err(state.reject(
            method,
            uri,
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            format!("request id {id:?} is not an invocation in progress"),
        )),
    }
}

async fn response(State(state): State<Arc<ApiState>>, Path(id): Path<String>, request: Request) -> Response {
    let (method, uri) = (request.method().clone(), request.uri().clone());
    if let Err(rejection) = check_in_flight(&state, &id, &method, &uri) {
        return rejection;
    }
    let Some(body) = read_body(request).await else {
        let _ = state.events.send(ApiEvent::ResponseTooLarge {
            request_id: id.clone(),
            at_ns: monotonic_ns(),
            bytes: MAX_READ_BYTES as u64,
        });
        *state.in_flight.lock().expect("runtime API lock") = None;
        return state.reject(
            &method,
            &uri,
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("response body over {MAX_READ_BYTES} bytes"),
        );
    };
    let at_ns = monotonic_ns();
    *state.in_flight.lock().expect("runtime API lock") = None;
    let len = body.len();
    if len > MAX_RESPONSE_BYTES {
        let _ = state.events.send(ApiEvent::ResponseTooLarge {
            request_id: id,
            at_ns,
            bytes: len as u64,
        });
        return state.reject(
            &method,
            &uri,
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("response of {len} bytes exceeds the limit of {MAX_RESPONSE_BYTES} bytes"),
        );
    }
    let preview = String::from_utf8_lossy(&body[..body.len().min(RESPONSE_PREVIEW_BYTES)]).into_owned();
    let _ = state.events.send(ApiEvent::Response {
        request_id: id,
        at_ns,
        body,
        preview,
    });
    accepted()
}

async fn invocation_error(State(state): State<Arc<ApiState>>, Path(id): Path<String>, request: Request) -> Response {
    let (method, uri, headers) = (
        request.method().clone(),
        request.uri().clone(),
        request.headers().clone(),
    );
    if let Err(rejection) = check_in_flight(&state, &id, &method, &uri) {
        return rejection;
    }
    let body = read_body(request).await.unwrap_or_default();
    *state.in_flight.lock().expect("runtime API lock") = None;
    let _ = state.events.send(ApiEvent::InvokeError {
        request_id: id,
        at_ns: monotonic_ns(),
        error: parse_error(&headers, &body),
    });
    accepted()
}

async fn init_error(State(state): State<Arc<ApiState>>, request: Request) -> Response {
    let (method, uri, headers) = (
        request.method().clone(),
        request.uri().clone(),
        request.headers().clone(),
    );
    if state.init_done.load(std::sync::atomic::Ordering::Relaxed) {
        return state.reject(
            &method,
            &uri,
            StatusCode::FORBIDDEN,
            "InvalidStateTransition",
            "init error reported after INIT completed".to_owned(),
        );
    }
    let body = read_body(request).await.unwrap_or_default();
    let _ = state.events.send(ApiEvent::InitError {
        at_ns: monotonic_ns(),
        error: parse_error(&headers, &body),
    });
    accepted()
}

async fn not_found(State(state): State<Arc<ApiState>>, method: Method, uri: Uri) -> Response {
    state.reject(
        &method,
        &uri,
        StatusCode::NOT_FOUND,
        "NotFound",
        format!(
            "no Runtime API route {method} {}; see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html",
            uri.path()
        ),
    )
}

async fn wrong_method(State(state): State<Arc<ApiState>>, method: Method, uri: Uri) -> Response {
    state.reject(
        &method,
        &uri,
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

impl RuntimeApi {
    /// Serves on `listener` (bound in the sandbox's network namespace), or else on an
    /// ephemeral port of the host's 127.0.0.1.
    pub(crate) async fn start(listener: Option<std::net::TcpListener>) -> std::io::Result<Self> {
        use axum::serve::ListenerExt;
        let (events_tx, events) = mpsc::unbounded_channel();
        let state = Arc::new(ApiState {
            events: events_tx,
            next: Mutex::new(NextSlot::default()),
            in_flight: Mutex::new(None),
            init_done: std::sync::atomic::AtomicBool::new(false),
        });
        let base = "/2018-06-01/runtime";
        let app = Router::new()
            .route(&format!("{base}/invocation/next"), get(next))
            .route(&format!("{base}/invocation/{{id}}/response"), post(response))
            .route(&format!("{base}/invocation/{{id}}/error"), post(invocation_error))
            .route(&format!("{base}/init/error"), post(init_error))
            .fallback(not_found)
            .method_not_allowed_fallback(wrong_method)
            .with_state(state.clone());
        let listener = match listener {
            Some(listener) => {
                listener.set_nonblocking(true)?;
                tokio::net::TcpListener::from_std(listener)?
            }
            None => tokio::net::TcpListener::bind("127.0.0.1:0").await?,
        };
        let addr = listener.local_addr()?;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            state,
            events,
            server,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether the server task is still running (it ends when its runtime shuts down).
    pub(crate) fn is_serving(&self) -> bool {
        !self.server.is_finished()
    }

    /// The next thing the runtime did.
    pub(crate) async fn next_event(&mut self) -> Option<ApiEvent> {
        self.events.recv().await
    }

    /// Hands `invocation` to the runtime: to the `GET /next` that is waiting for one (the
    /// delivery is returned), or else to the next one that arrives (its [`ApiEvent::Next`]
    /// reports the delivery). Only one invocation is offered at a time, after the previous
    /// one was answered.
    pub(crate) fn offer(&self, invocation: Invocation) -> Option<Delivered> {
        let mut slot = self.state.next.lock().expect("runtime API lock");
        if let Some(waiter) = slot.waiter.take().filter(|w| !w.is_closed()) {
            let delivered = self.state.start(&invocation);
            match waiter.send((invocation, delivered)) {
                Ok(()) => return Some(delivered),
                Err((invocation, _)) => {
                    // Its connection closed just now; a later `GET /next` may still take it.
                    *self.state.in_flight.lock().expect("runtime API lock") = None;
                    slot.queued = Some(invocation);
                    return None;
                }
            }
        }
        slot.queued = Some(invocation);
        None
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn invocation(request_id: &str) -> Invocation {
        Invocation {
            request_id: request_id.to_owned(),
            timeout_ms: 3_000,
            function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".to_owned(),
            trace_header: "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=1".to_owned(),
            body: "{}".to_owned(),
        }
    }

    /// `GET /next` on a fresh connection; the response head, lower-cased.
    async fn get_next(addr: SocketAddr) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        response.to_lowercase()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_offered_invocation_reaches_a_waiting_or_a_later_get_next() {
        let mut api = RuntimeApi::start(None).await.expect("server");
        // Queued first: the GET that comes later is answered at once, and says so.
        assert!(api.offer(invocation("first")).is_none());
        let head = get_next(api.addr()).await;
        assert!(head.contains("lambda-runtime-aws-request-id: first"), "{head}");
        assert!(head.contains("lambda-runtime-deadline-ms: "), "{head}");
        match api.next_event().await {
            Some(ApiEvent::Next {
                delivered: Some(delivered),
                ..
            }) => assert!(delivered.deadline_epoch_ms > chrono::Utc::now().timestamp_millis()),
            other => panic!("expected a delivered GET /next, got {other:?}"),
        }
        // It is now in flight; answering it clears the way for the next one.
        *api.state.in_flight.lock().expect("lock") = None;
        // A GET first: it waits until the invocation is offered, which reports the delivery.
        let waiting = tokio::spawn(get_next(api.addr()));
        assert!(matches!(
            api.next_event().await,
            Some(ApiEvent::Next { delivered: None, .. })
        ));
        assert!(api.offer(invocation("second")).is_some());
        let head = waiting.await.expect("client task");
        assert!(head.contains("lambda-runtime-aws-request-id: second"), "{head}");
        assert_eq!(api.state.in_flight.lock().expect("lock").as_deref(), Some("second"));
    }

    #[test]
    fn error_bodies_keep_type_message_and_trace() {
        let mut headers = HeaderMap::new();
        headers.insert(ERROR_TYPE_HEADER, HeaderValue::from_static("Unhandled"));
        let e = parse_error(
            &headers,
            br#"{"errorMessage":"boom","errorType":"ValueError","stackTrace":["  File x"]}"#,
        );
        assert_eq!(
            (e.error_type.as_str(), e.error_message.as_str()),
            ("ValueError", "boom")
        );
        assert_eq!(e.error_type_header.as_deref(), Some("Unhandled"));
        assert_eq!(e.stack_trace, ["  File x"]);
        let e = parse_error(&HeaderMap::new(), b"not json");
        assert_eq!(
            (e.error_type.as_str(), e.error_message.as_str()),
            ("Runtime.Unknown", "not json")
        );
    }
}
