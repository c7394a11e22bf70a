//! The page and the browser build, embedded in the binary: `web/index.html` with its script,
//! style and service worker, and, where `tools/build-web.sh` had built it before this binary was compiled,
//! the wasm-bindgen module and its wasm (see build.rs). Without them `/pkg/...` answers 404
//! and the page offers to restore on this server's GPU.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::serve::error::ApiError;

mod built {
    include!(concat!(env!("OUT_DIR"), "/web_pkg.rs"));
}

/// The page's own files: path, content type, body.
const PAGE_FILES: [(&str, &str, &str); 4] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../../web/index.html"),
    ),
    (
        "/app.js",
        "text/javascript",
        include_str!("../../web/app.js"),
    ),
    (
        "/style.css",
        "text/css",
        include_str!("../../web/style.css"),
    ),
    ("/sw.js", "text/javascript", include_str!("../../web/sw.js")),
];

/// Whether this binary carries the browser build.
pub fn has_browser_build() -> bool {
    built::WEB_JS.is_some() && built::WEB_WASM.is_some()
}

/// `GET /`, `/app.js`, `/style.css`, `/sw.js` (the service worker that keeps them for a reload
/// without the network) and `/pkg/wgvae_web.js`, `/pkg/wgvae_web_bg.wasm`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new();
    for (path, content_type, body) in PAGE_FILES {
        router = router.route(
            path,
            get(move |asked: HeaderMap| async move { file(&asked, content_type, body.as_bytes()) }),
        );
    }
    router
        .route(
            "/pkg/wgvae_web.js",
            get(|asked: HeaderMap| async move {
                built_file(&asked, "text/javascript", built::WEB_JS)
            }),
        )
        .route(
            "/pkg/wgvae_web_bg.wasm",
            get(|asked: HeaderMap| async move {
                built_file(&asked, "application/wasm", built::WEB_WASM)
            }),
        )
}

/// An embedded file as the answer, revalidated on each visit (a new binary may serve another)
/// against the build's tag: 304 when the browser holds this build's copy already.
fn file(asked: &HeaderMap, content_type: &'static str, body: &'static [u8]) -> Response {
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, "no-cache"),
        (header::ETAG, built::TAG),
    ];
    let held = asked
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == built::TAG);
    match held {
        true => (StatusCode::NOT_MODIFIED, headers).into_response(),
        false => (headers, body).into_response(),
    }
}

/// A file of the browser build, or 404 saying how to build it.
fn built_file(
    asked: &HeaderMap,
    content_type: &'static str,
    body: Option<&'static [u8]>,
) -> Response {
    match body {
        Some(body) => file(asked, content_type, body),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "this wgvae was built without the browser build: run tools/build-web.sh, then \
             build wgvae again",
        )
        .into_response(),
    }
}
