//! The local edge runner: a generated CloudFront Function run in embedded QuickJS.
//!
//! QuickJS is an interpreter, like the CloudFront Functions runtime, so its per-request
//! cost is a useful (if unofficial) proxy; the only authoritative figure is CloudFront's
//! `ComputeUtilization` from `TestFunction` ([`crate::aws`]). The runner reproduces the
//! edge's constraints that matter here: a 2 MB memory limit, `require('crypto')` with only
//! `createHash`/`createHmac` (md5 unsupported here), `Buffer`, the `cloudfront` module's
//! KeyValueStore and `cf.cwt.validateToken` (native, on [`crate::cwt::validate_token`]), and
//! `Date.now()` frozen for the request. `import cf from 'cloudfront'`
//! is rewritten to a global binding because CloudFront functions are scripts whose
//! `handler` is global, not ES modules.
//!
//! Cost is reported two ways: wall-clock time of the handler call, and the number of times
//! QuickJS polled its interrupt handler, which it does about once per 10,000 back-jumps or
//! calls — a machine-independent work counter.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_lc_rs::{digest, hmac};
use base64::Engine as _;
use rquickjs::prelude::Opt;
use rquickjs::{CatchResultExt, Context, Ctx, Function, Object, Runtime, Value as JsValue};
use serde::Serialize;
use serde_json::Value;

use crate::Error;

/// The memory CloudFront Functions get (docs/sources.md, "CloudFront Functions limits").
pub const EDGE_MEMORY_LIMIT_BYTES: usize = 2 * 1024 * 1024;

const PRELUDE: &str = include_str!("runner_prelude.js");

/// How to run functions.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// The engine's memory limit; the edge's is [`EDGE_MEMORY_LIMIT_BYTES`].
    pub memory_limit_bytes: usize,
    /// The KeyValueStore's contents.
    pub kvs: BTreeMap<String, String>,
    /// A wall-clock guard against runaway functions (the edge would throttle far sooner).
    pub timeout: Duration,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            memory_limit_bytes: EDGE_MEMORY_LIMIT_BYTES,
            kvs: BTreeMap::new(),
            timeout: Duration::from_secs(5),
        }
    }
}

/// What one invocation produced and cost.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    /// The returned request or response, as JSON; `null` when the function failed.
    pub output: Value,
    /// The HTTP status the viewer would see: the response's `statusCode`, `None` when the
    /// request goes on to the cache/origin, 503 when the function threw (as on the edge).
    pub status: Option<u16>,
    /// The function's error, if it threw or ran out of memory or time.
    pub error: Option<String>,
    /// Wall-clock time of the handler call, in microseconds.
    pub duration_us: f64,
    /// Interrupt-handler polls during the call (≈ one per 10,000 back-jumps or calls).
    pub interrupt_checks: u64,
    /// Engine memory in use after the call, in bytes.
    pub memory_used_bytes: u64,
    /// What the function logged with `console.log`.
    pub logs: Vec<String>,
}

impl RunOutcome {
    /// Whether the request was let through (the function returned the request).
    pub fn allowed(&self) -> bool {
        self.error.is_none() && self.status.is_none()
    }

    /// The `x-edge-auth-reason` header of a deny response, when the function exposes it.
    pub fn deny_reason(&self) -> Option<&str> {
        self.output
            .pointer("/headers/x-edge-auth-reason/value")
            .and_then(Value::as_str)
    }
}

/// A loaded function, ready to handle events.
pub struct EdgeRunner {
    runtime: Runtime,
    context: Context,
    checks: Arc<AtomicU64>,
    deadline_ns: Arc<AtomicU64>,
    started: Instant,
    timeout: Duration,
    /// The source's size, for reports.
    source_bytes: usize,
}

impl std::fmt::Debug for EdgeRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeRunner")
            .field("source_bytes", &self.source_bytes)
            .finish_non_exhaustive()
    }
}

fn engine_error(context: &str, err: impl std::fmt::Display) -> Error {
    Error::Runner(format!("{context}: {err}"))
}

impl EdgeRunner {
    /// Loads a function's source (compiles it and runs its top level).
    pub fn load(source: &str, options: &RunnerOptions) -> Result<Self, Error> {
        let runtime = Runtime::new().map_err(|e| engine_error("cannot start QuickJS", e))?;
        let checks = Arc::new(AtomicU64::new(0));
        let deadline_ns = Arc::new(AtomicU64::new(u64::MAX));
        let started = Instant::now();
        {
            let checks = Arc::clone(&checks);
            let deadline_ns = Arc::clone(&deadline_ns);
            runtime.set_interrupt_handler(Some(Box::new(move || {
                checks.fetch_add(1, Ordering::Relaxed);
                started.elapsed().as_nanos() as u64 > deadline_ns.load(Ordering::Relaxed)
            })));
        }
        let context = Context::full(&runtime).map_err(|e| engine_error("cannot create a context", e))?;
        let kvs = Rc::new(RefCell::new(options.kvs.clone()));
        let script = rewrite_imports(source);
        context.with(|ctx| -> Result<(), Error> {
            install_natives(&ctx, kvs).map_err(|e| engine_error("cannot install the edge shims", e))?;
            ctx.eval::<(), _>(PRELUDE)
                .catch(&ctx)
                .map_err(|e| engine_error("edge shims failed", e))?;
            ctx.globals()
                .set("__nowMs", 0.0)
                .map_err(|e| engine_error("cannot set the clock", e))?;
            ctx.eval::<(), _>(script.as_bytes().to_vec())
                .catch(&ctx)
                .map_err(|e| engine_error("the function does not load", e))?;
            let handler: JsValue = ctx
                .globals()
                .get("handler")
                .map_err(|e| engine_error("no handler", e))?;
            if !handler.is_function() {
                return Err(Error::Runner(
                    "the function defines no global `handler(event)`".to_owned(),
                ));
            }
            Ok(())
        })?;
        // The memory limit applies to the function, not to loading the shims and source:
        // CloudFront's 2 MB is the function's own budget.
        runtime.set_memory_limit(options.memory_limit_bytes);
        runtime.set_max_stack_size(256 * 1024);
        Ok(Self {
            runtime,
            context,
            checks,
            deadline_ns,
            started,
            timeout: options.timeout,
            source_bytes: source.len(),
        })
    }

    /// Runs the handler once on `event`, with `Date.now()` frozen at `now_ms`.
    pub fn run(&self, event: &Value, now_ms: f64) -> Result<RunOutcome, Error> {
        let event_json = event.to_string();
        let mut outcome = self.context.with(|ctx| {
            let globals = ctx.globals();
            globals
                .set("__nowMs", now_ms)
                .map_err(|e| engine_error("cannot set the clock", e))?;
            globals
                .get::<_, Object>("__logs")
                .and_then(|logs| logs.set("length", 0))
                .map_err(|e| engine_error("cannot reset the logs", e))?;
            let handler: Function = globals.get("handler").map_err(|e| engine_error("no handler", e))?;
            let event = ctx
                .json_parse(event_json)
                .map_err(|e| engine_error("the event is not JSON", e))?;
            let before = self.checks.load(Ordering::Relaxed);
            let deadline = self.started.elapsed() + self.timeout;
            self.deadline_ns.store(deadline.as_nanos() as u64, Ordering::Relaxed);
            let start = Instant::now();
            let result = handler
                .call::<_, JsValue>((event,))
                .and_then(|value| match value.as_promise() {
                    Some(promise) => promise.clone().finish::<JsValue>(),
                    None => Ok(value),
                });
            let duration_us = start.elapsed().as_secs_f64() * 1e6;
            self.deadline_ns.store(u64::MAX, Ordering::Relaxed);
            let interrupt_checks = self.checks.load(Ordering::Relaxed) - before;
            let (output, error) = match result.catch(&ctx) {
                Ok(value) => match ctx.json_stringify(value) {
                    Ok(Some(text)) => {
                        let text = text.to_string().map_err(|e| engine_error("output is not text", e))?;
                        (serde_json::from_str(&text).unwrap_or(Value::Null), None)
                    }
                    Ok(None) => (Value::Null, Some("the handler returned undefined".to_owned())),
                    Err(e) => (Value::Null, Some(format!("the handler's result is not JSON: {e}"))),
                },
                Err(e) => (Value::Null, Some(e.to_string())),
            };
            let status = if error.is_some() {
                Some(503)
            } else {
                output.get("statusCode").and_then(Value::as_u64).map(|s| s as u16)
            };
            let logs: Vec<String> = globals.get("__logs").unwrap_or_default();
            Ok(RunOutcome {
                output,
                status,
                error,
                duration_us,
                interrupt_checks,
                memory_used_bytes: 0,
                logs,
            })
        })?;
        // The runtime is locked while inside `Context::with`, so memory is read afterwards.
        outcome.memory_used_bytes = u64::try_from(self.runtime.memory_usage().memory_used_size).unwrap_or(0);
        Ok(outcome)
    }
}

/// Rewrites `import cf from 'cloudfront';` (any quotes, optional semicolon) to a global
/// binding, leaving every other line as written.
fn rewrite_imports(source: &str) -> String {
    source
        .lines()
        .map(|line| {
            let t = line.trim();
            if let Some(rest) = t.strip_prefix("import ")
                && let Some((name, module)) = rest.split_once(" from ")
                && matches!(module.trim_end_matches(';').trim(), "'cloudfront'" | "\"cloudfront\"")
            {
                format!("var {} = globalThis.__cloudfront;", name.trim())
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn throw(ctx: &Ctx<'_>, message: &str) -> rquickjs::Error {
    rquickjs::Exception::throw_type(ctx, message)
}

fn install_natives(ctx: &Ctx<'_>, kvs: Rc<RefCell<BTreeMap<String, String>>>) -> rquickjs::Result<()> {
    let native = Object::new(ctx.clone())?;
    native.set("utf8e", Function::new(ctx.clone(), String::into_bytes)?)?;
    native.set(
        "utf8d",
        Function::new(ctx.clone(), |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned())?,
    )?;
    native.set(
        "b64d",
        Function::new(ctx.clone(), |s: String| {
            // Like Node: either alphabet, padding optional, stray characters skipped.
            let cleaned: String = s
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_'))
                .map(|c| match c {
                    '-' => '+',
                    '_' => '/',
                    other => other,
                })
                .collect();
            let engine = base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_allow_trailing_bits(true)
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
            );
            let usable = if cleaned.len() % 4 == 1 {
                &cleaned[..cleaned.len() - 1]
            } else {
                &cleaned[..]
            };
            engine.decode(usable).unwrap_or_default()
        })?,
    )?;
    native.set(
        "b64e",
        Function::new(ctx.clone(), |b: Vec<u8>, url: bool| {
            if url {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
            } else {
                base64::engine::general_purpose::STANDARD.encode(b)
            }
        })?,
    )?;
    native.set(
        "hexe",
        Function::new(ctx.clone(), |b: Vec<u8>| {
            b.iter().fold(String::with_capacity(b.len() * 2), |mut out, x| {
                use std::fmt::Write as _;
                let _ = write!(out, "{x:02x}");
                out
            })
        })?,
    )?;
    native.set(
        "hexd",
        Function::new(ctx.clone(), |s: String| {
            let out: Vec<u8> = s
                .as_bytes()
                .chunks_exact(2)
                .map_while(|pair| {
                    std::str::from_utf8(pair)
                        .ok()
                        .and_then(|p| u8::from_str_radix(p, 16).ok())
                })
                .collect();
            out
        })?,
    )?;
    native.set(
        "hash",
        Function::new(ctx.clone(), |ctx: Ctx<'_>, alg: String, data: Vec<u8>| {
            let algorithm = match alg.as_str() {
                "sha1" => &digest::SHA1_FOR_LEGACY_USE_ONLY,
                "sha256" => &digest::SHA256,
                _ => {
                    return Err(throw(
                        &ctx,
                        &format!("Digest method not supported by the local runner: {alg}"),
                    ));
                }
            };
            Ok(digest::digest(algorithm, &data).as_ref().to_vec())
        })?,
    )?;
    native.set(
        "hmac",
        Function::new(ctx.clone(), |ctx: Ctx<'_>, alg: String, key: Vec<u8>, data: Vec<u8>| {
            let algorithm = match alg.as_str() {
                "sha1" => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                "sha256" => hmac::HMAC_SHA256,
                _ => {
                    return Err(throw(
                        &ctx,
                        &format!("HMAC method not supported by the local runner: {alg}"),
                    ));
                }
            };
            Ok(hmac::sign(&hmac::Key::new(algorithm, &key), &data).as_ref().to_vec())
        })?,
    )?;
    native.set(
        "kvsGet",
        Function::new(ctx.clone(), move |key: String, _options: Opt<JsValue<'_>>| {
            kvs.borrow().get(&key).cloned()
        })?,
    )?;
    native.set("cwtValidate", Function::new(ctx.clone(), cwt_validate)?)?;
    ctx.globals().set("__native", native)?;
    Ok(())
}

// Takes its arguments by value because that is how native functions receive them.
#[allow(clippy::needless_pass_by_value)]
fn cwt_validate(ctx: Ctx<'_>, token: Vec<u8>, key: Vec<u8>) -> rquickjs::Result<Object<'_>> {
    match crate::cwt::validate_token(&token, &key) {
        Ok(object) => cwt_object(&ctx, &object),
        Err(e) => Err(rquickjs::Exception::throw_message(
            &ctx,
            &format!("CWT validation failed: {e}"),
        )),
    }
}

/// `cf.cwt.validateToken`'s result, `{protectedHeaders, unprotectedHeaders, payload}`, built
/// natively (the module is native on the edge too): keys are strings, byte strings Buffers.
fn cwt_object<'js>(ctx: &Ctx<'js>, object: &crate::cwt::CwtObject) -> rquickjs::Result<Object<'js>> {
    let buffer: Object = ctx.globals().get("Buffer")?;
    let from: Function = buffer.get("from")?;
    let out = Object::new(ctx.clone())?;
    for (name, map) in [
        ("protectedHeaders", &object.protected_headers),
        ("unprotectedHeaders", &object.unprotected_headers),
        ("payload", &object.payload),
    ] {
        out.set(name, cwt_map(ctx, &buffer, &from, map)?)?;
    }
    Ok(out)
}

fn cwt_map<'js>(
    ctx: &Ctx<'js>,
    buffer: &Object<'js>,
    from: &Function<'js>,
    map: &[(String, crate::cwt::Item)],
) -> rquickjs::Result<Object<'js>> {
    let out = Object::new(ctx.clone())?;
    for (key, item) in map {
        out.set(key.as_str(), cwt_item(ctx, buffer, from, item)?)?;
    }
    Ok(out)
}

fn cwt_item<'js>(
    ctx: &Ctx<'js>,
    buffer: &Object<'js>,
    from: &Function<'js>,
    item: &crate::cwt::Item,
) -> rquickjs::Result<JsValue<'js>> {
    use crate::cwt::Item;
    use rquickjs::IntoJs as _;
    match item {
        // Integers are Numbers in JavaScript, rounded as the edge rounds them.
        #[allow(clippy::cast_precision_loss)]
        Item::Int(i) => (*i as f64).into_js(ctx),
        Item::Float(f) => f.into_js(ctx),
        Item::Text(t) => t.as_str().into_js(ctx),
        Item::Bytes(b) => from.call((rquickjs::function::This(buffer.clone()), b.clone())),
        Item::Bool(b) => b.into_js(ctx),
        Item::Null => Ok(JsValue::new_null(ctx.clone())),
        Item::Array(items) => {
            let array = rquickjs::Array::new(ctx.clone())?;
            for (i, item) in items.iter().enumerate() {
                array.set(i, cwt_item(ctx, buffer, from, item)?)?;
            }
            Ok(array.into_value())
        }
        Item::Map(map) => Ok(cwt_map(ctx, buffer, from, map)?.into_value()),
    }
}
