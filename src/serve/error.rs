//! The API's failures: a status and the one-line message the command gives, sent as
//! `{"error": "..."}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::data::DataError;
use crate::restore::mask::MaskError;
use crate::restore::RestoreError;

/// Seconds a client is asked to wait when the GPU queue is full.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// A failed request: its status and message.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    /// 400: a field the API does not take, or a value it cannot.
    pub fn bad_field(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 503: the GPU queue is full (the response says when to try again).
    pub fn busy() -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "the GPU queue is full; try again shortly".into(),
        }
    }

    /// 500: the server's own failure (the GPU, its thread, encoding the answer).
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// A status with its message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl From<DataError> for ApiError {
    /// 413 for a picture past the size limits, 415 for bytes that are no PNG or JPEG.
    fn from(e: DataError) -> Self {
        let status = match &e {
            DataError::ImageTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            DataError::Image { .. }
            | DataError::UnknownImageFormat { .. }
            | DataError::Io { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<MaskError> for ApiError {
    /// 422 for a mask of another size than the picture.
    fn from(e: MaskError) -> Self {
        match e {
            MaskError::Read(d) => d.into(),
            e @ MaskError::Size { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
        }
    }
}

impl From<RestoreError> for ApiError {
    /// 400 for settings that cannot go together, 422 for damage that does not fit the
    /// picture, 500 for the GPU.
    fn from(e: RestoreError) -> Self {
        let status = match &e {
            RestoreError::Usage(_) => StatusCode::BAD_REQUEST,
            RestoreError::Picture { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            RestoreError::Prior(_) | RestoreError::Gpu(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let busy = self.status == StatusCode::SERVICE_UNAVAILABLE;
        let mut response = (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response();
        if busy {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}
