//! The server's errors: an HTTP status and a JSON body with a stable `code`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::Error;

/// An error answer: `{"error": {"status": 400, "code": "invalid_json", "message": "..."}}`.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable, machine-readable code (docs/cli.md lists them, under `mlsearch serve`).
    pub code: &'static str,
    /// For people.
    pub message: String,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({ "error": { "status": self.status.as_u16(), "code": self.code, "message": self.message } })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = matches!(
            self.status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        );
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if retry {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        let message = error.to_string();
        let (status, code) = match &error {
            Error::InvalidLanguage(_) => (StatusCode::BAD_REQUEST, "invalid_language"),
            Error::InvalidSetting(_) => (StatusCode::BAD_REQUEST, "invalid_parameter"),
            Error::Document { .. } => (StatusCode::BAD_REQUEST, "invalid_document"),
            Error::NoVectors { .. } => (StatusCode::BAD_REQUEST, "no_vectors"),
            Error::Locked { .. } => (StatusCode::SERVICE_UNAVAILABLE, "index_locked"),
            Error::IndexMissing { .. }
            | Error::Corrupt { .. }
            | Error::UnsupportedFormat { .. }
            | Error::OtherRoot { .. }
            | Error::OtherModel { .. }
            | Error::Tantivy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "index_unavailable"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        ApiError::new(status, code, message)
    }
}
