//! Errors in the shape Lambda's REST-JSON protocol gives them: an HTTP status, the
//! `x-amzn-ErrorType` header naming the exception, and a JSON body with `Type` and the
//! message. The SDKs read the exception's name from that header (botocore's `rest-json`
//! parser, the Rust SDK's `aws_smithy_json` error parser), so it must be exact.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// One of Lambda's (or X-Ray's) exceptions, as the service would return it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The exception's name, e.g. `ResourceNotFoundException`.
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// `Retry-After` in seconds (throttling).
    pub retry_after_s: Option<u32>,
    /// The `Reason` member of a throttling error.
    pub reason: Option<&'static str>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_s: None,
            reason: None,
        }
    }

    /// 404 `ResourceNotFoundException`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "ResourceNotFoundException", message)
    }

    /// 400 `InvalidParameterValueException`.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidParameterValueException", message)
    }

    /// 409 `ResourceConflictException`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "ResourceConflictException", message)
    }

    /// 400 `InvalidRequestContentException` (a payload or body that is not JSON).
    pub fn invalid_content(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidRequestContentException", message)
    }

    /// 413 `RequestTooLargeException`.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLargeException", message)
    }

    /// 429 `TooManyRequestsException`, with the throttling reason.
    pub fn throttled(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            retry_after_s: Some(1),
            reason: Some(reason),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException", message)
        }
    }

    /// 500 `ServiceException`: the emulator itself failed.
    pub fn service(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "ServiceException", message)
    }

    /// 404 for a path no operation has (`UnknownOperationException`, as Lambda answers).
    pub fn unknown_operation(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            format!("coldfront serve has no operation at {method} {path}"),
        )
    }

    /// 400 `InvalidRequestException` (X-Ray's name for bad input).
    pub fn xray_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidRequestException", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The service models spell the message member `Message` for
        // ResourceNotFoundException and `message` for the others; the SDKs read either,
        // and both are sent so that a strict reader of either spelling finds it.
        let mut body = json!({"Type": "User", "message": self.message, "Message": self.message});
        if let Some(reason) = self.reason {
            body["Reason"] = json!(reason);
        }
        if self.status.is_server_error() {
            body["Type"] = json!("Service");
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert("x-amzn-ErrorType", HeaderValue::from_static(self.code));
        if let Some(seconds) = self.retry_after_s {
            headers.insert("Retry-After", HeaderValue::from(seconds));
        }
        response
    }
}
