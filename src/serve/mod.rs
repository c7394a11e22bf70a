//! `wgvae serve`: the restoration and enhancement of the command line as an HTTP API on the
//! server's GPU, and a page that uses it.
//!
//! - `GET /` the page (`web/`, which restores in the visitor's browser through WebGPU, or here
//!   where the browser has none; see `assets`); `GET /healthz`; `GET /api/models` (name,
//!   colour, window size).
//! - `POST /api/restore`, `POST /api/enhance`: `multipart/form-data` with the part `image`
//!   (PNG or JPEG), for restore an optional `mask` (an image, white = missing), and options
//!   named like the command's flags with underscores (`noise_sigma` a number or `auto`,
//!   `blur_sigma`, `model`, `method`; `brightness`, `contrast`, `saturation`, `gamma`,
//!   `auto_levels`). The answer is the PNG `wgvae restore -o out.png` would write.
//! - Failures are `{"error": "..."}` with the command's message: 400 a bad field, 413 too
//!   large, 415 not an image, 422 a mask of another size, 503 with `Retry-After` when the GPU
//!   queue is full or a request runs past the time limit; 415 also for a body that is no form,
//!   404 and 405 for other paths and methods.
//!
//! One thread owns the GPU and runs requests in turn (`worker`); a bounded queue in front of
//! it answers 503 when full. The body limit is axum's (its multipart errors say 413, which
//! `form` turns into the API's JSON), and each request has a time limit; requests name
//! built-in models only, so no file-system path ever comes from one.

mod assets;
pub use assets::has_browser_build;
pub mod error;
pub mod form;
mod worker;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use thiserror::Error;

use crate::gpu::GpuContext;
use crate::restore::prior::{builtin_models, ModelInfo};
use error::ApiError;
use form::Form;
use worker::{GpuQueue, Job};

/// How the server listens and what it accepts.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub host: IpAddr,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// The largest request body, in bytes.
    pub max_body: usize,
    /// Requests that may wait for the GPU beside the one it runs.
    pub queue: usize,
    /// The longest a request may take, upload and GPU work together.
    pub timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8080,
            // a 12-megapixel PNG in colour with its mask
            max_body: 100 * 1024 * 1024,
            queue: 4,
            timeout: Duration::from_secs(600),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the server's runtime: {0}")]
    Runtime(std::io::Error),
    #[error("a built-in model does not load: {0}")]
    Model(#[from] crate::restore::PriorError),
}

#[derive(Clone)]
struct App {
    queue: GpuQueue,
    models: Vec<ModelInfo>,
    timeout: Duration,
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    runtime: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Listens as `options` say and serves on `ctx`, which the GPU thread takes: an owned
    /// device (`Box<GpuContext>`) or one shared for the process's life (`&'static`).
    pub fn start<C>(ctx: C, options: &ServeOptions) -> Result<Server, ServeError>
    where
        C: std::ops::Deref<Target = GpuContext> + Send + 'static,
    {
        let models = builtin_models()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_io()
            .enable_time()
            .build()
            .map_err(ServeError::Runtime)?;
        let addr = SocketAddr::new(options.host, options.port);
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .map_err(|source| ServeError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ServeError::Bind { addr, source })?;
        let app = App {
            queue: GpuQueue::start(ctx, options.queue),
            models,
            timeout: options.timeout,
        };
        let router = Router::new()
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/api/models", get(list_models))
            .route("/api/restore", post(restore))
            .route("/api/enhance", post(enhance))
            .merge(assets::router())
            .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such page") })
            .method_not_allowed_fallback(|| async {
                ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "GET /, /healthz and /api/models; POST /api/restore and /api/enhance",
                )
            })
            .layer(DefaultBodyLimit::max(options.max_body))
            .with_state(app);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let done = runtime.spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Server {
            addr,
            runtime,
            stop: Some(stop),
            done: Some(done),
        })
    }

    /// Where it listens (with the port chosen when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until Ctrl-C (or SIGTERM), then finishes the requests in flight.
    pub fn run_until_signal(mut self) {
        self.runtime.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
        self.stop();
    }

    /// Stops listening and waits for the requests in flight.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            let _ = self.runtime.block_on(done);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn list_models(State(app): State<App>) -> Json<Vec<ModelInfo>> {
    Json(app.models.clone())
}

async fn restore(
    State(app): State<App>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    within(app.timeout, async {
        let form = Form::read(multipart.map_err(not_a_form)?).await?;
        let settings = form.restore_settings()?;
        app.queue
            .submit(Job::Restore(form, Box::new(settings)))
            .await
    })
    .await
}

async fn enhance(
    State(app): State<App>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    within(app.timeout, async {
        let form = Form::read(multipart.map_err(not_a_form)?).await?;
        let steps = form.enhance_steps()?;
        app.queue.submit(Job::Enhance(form, steps)).await
    })
    .await
}

/// A body that is not `multipart/form-data` (415), in the API's JSON.
fn not_a_form(_: MultipartRejection) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "send the picture as multipart/form-data with a part named image",
    )
}

/// The PNG `work` makes, or its error; 503 past `limit`.
async fn within(
    limit: Duration,
    work: impl std::future::Future<Output = Result<Vec<u8>, ApiError>>,
) -> Response {
    let result = tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the request took longer than the server's limit of {} s",
                limit.as_secs()
            ),
        ))
    });
    match result {
        Ok(png) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        Err(e) => e.into_response(),
    }
}
