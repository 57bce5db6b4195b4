//! A minimal function on AWS's `lambda_runtime` crate: it echoes the event back with the
//! request id, so a test can check the emulator's headers reached the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    if event.payload.get("fail").is_some() {
        return Err("asked to fail".into());
    }
    Ok(json!({
        "echo": event.payload,
        "request_id": event.context.request_id,
        "function_arn": event.context.invoked_function_arn,
        "deadline_ms": event.context.deadline,
        "xray_trace_id": event.context.xray_trace_id,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handle)).await
}
