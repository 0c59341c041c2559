//! `mlsearch serve`: the engine behind a warm HTTP API (axum on hyper and tokio) and a
//! search page. The encoder is loaded once; queries arriving together are embedded as
//! one batch (see [`batch`]); a commit made by `mlsearch index` while the server runs is
//! picked up between requests; writes go through the index's one writer, under its lock.
//!
//! Safety: loopback only unless an API key is set (then checked in constant time on every
//! request); bodies, queries, `k`, queries per request, searches in flight and
//! connections are bounded; a slow client gets [`Limits::header_timeout`] to send its
//! request head and the request timeout for the rest; a connection closed on a client
//! still sending drains it first ([`linger`]), so the answer is not lost to a reset; Ctrl-C or SIGTERM stops accepting,
//! lets requests in flight finish (a commit under way completes), then returns.

mod api;
pub mod batch;
mod error;
mod linger;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use api::SearchRequest;
pub use batch::{BatchOptions, Batcher};
pub use error::ApiError;

use crate::engine::Engine;
use crate::error::{Error, Result};

/// The server's bounds.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest `POST /search` body.
    pub search_body_bytes: usize,
    /// Largest `POST /documents` body.
    pub documents_body_bytes: usize,
    /// Longest query text, in bytes.
    pub query_bytes: usize,
    /// Largest `k`.
    pub max_k: usize,
    /// Most queries in one `POST /search`.
    pub max_queries: usize,
    /// Longest a search may take, from admission to answer.
    pub timeout: Duration,
    /// Searches in flight at once; more get 429.
    pub max_in_flight: usize,
    /// Open connections at once; more wait to be accepted.
    pub max_connections: usize,
    /// Longest a client may take to send a request's head.
    pub header_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            search_body_bytes: 1 << 20,
            documents_body_bytes: 64 << 20,
            query_bytes: 4096,
            max_k: 1000,
            max_queries: 100,
            timeout: Duration::from_secs(10),
            max_in_flight: 256,
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen (port 0: any free port; the chosen one is printed).
    pub addr: SocketAddr,
    /// The API key clients must send (`Authorization: Bearer KEY`, `X-Api-Key: KEY` or
    /// `?api_key=KEY`); required to listen on an address other than loopback.
    pub api_key: Option<String>,
    /// Bounds.
    pub limits: Limits,
    /// How queries are batched for the encoder.
    pub batching: BatchOptions,
    /// How often to look for a new commit.
    pub refresh: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 7700)),
            api_key: None,
            limits: Limits::default(),
            batching: BatchOptions {
                window: Duration::from_millis(2),
                max_batch: 32,
                queue: 1024,
            },
            refresh: Duration::from_millis(500),
        }
    }
}

/// What every request can reach.
pub struct App {
    engine: Arc<Engine>,
    batcher: Option<Batcher>,
    limits: Limits,
    admission: Arc<Semaphore>,
    /// BLAKE3 of the API key: comparing hashes takes the same time wherever they differ.
    api_key: Option<blake3::Hash>,
}

/// The routes, for `engine` (the server's, and tests').
pub fn router(engine: Arc<Engine>, options: &ServeOptions) -> Router {
    let batcher = engine
        .encoder()
        .is_some()
        .then(|| Batcher::start(engine.clone(), options.batching));
    let app = Arc::new(App {
        engine,
        batcher,
        limits: options.limits.clone(),
        admission: Arc::new(Semaphore::new(options.limits.max_in_flight)),
        api_key: options.api_key.as_deref().map(|k| blake3::hash(k.as_bytes())),
    });
    Router::new()
        .route("/", get(api::page))
        .route("/health", get(api::health))
        .route("/stats", get(api::stats))
        .route("/search", get(api::search_get).post(api::search_post))
        .route("/documents", axum::routing::post(api::add_documents))
        .route("/documents/{id}", delete(api::remove_document))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(app.clone(), authorize))
        .with_state(app)
}

/// Serves `engine` until `shutdown` completes, then lets requests in flight finish (up
/// to 30 s). Prints `listening on http://ADDR` on stdout once it accepts connections.
pub async fn serve(engine: Arc<Engine>, options: ServeOptions, shutdown: impl Future<Output = ()>) -> Result<()> {
    if !options.addr.ip().is_loopback() && options.api_key.as_deref().is_none_or(str::is_empty) {
        return Err(Error::InvalidSetting(format!(
            "{} is not a loopback address: set an API key (--api-key or MLSEARCH_API_KEY) to listen there",
            options.addr
        )));
    }
    let listener = TcpListener::bind(options.addr)
        .await
        .map_err(|e| Error::InvalidSetting(format!("cannot listen on {}: {e}", options.addr)))?;
    let addr = listener.local_addr().map_err(|e| Error::Internal(e.to_string()))?;
    let refresher = tokio::spawn(refresh_loop(engine.clone(), options.refresh));
    let service = TowerToHyperService::new(router(engine, &options));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.limits.header_timeout)
        .max_buf_size(64 * 1024);
    let connections = Arc::new(Semaphore::new(options.limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    println!("listening on http://{addr}");
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit.map_err(|e| Error::Internal(e.to_string()))?,
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: wait, do not spin or stop.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (stream, returned) = linger::Returning::new(stream);
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service.clone()));
        tokio::spawn(async move {
            let _ = connection.await;
            // The connection's slot is held until the socket is closed.
            if let Ok(stream) = returned.await {
                linger::linger(stream).await;
            }
            drop(permit);
        });
    }
    drop(listener);
    eprintln!("mlsearch: stopping: finishing requests in flight");
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(Duration::from_secs(30)) => eprintln!("mlsearch: stopped with requests still open after 30 s"),
    }
    refresher.abort();
    Ok(())
}

/// Resolves at the first Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

/// Picks up new commits; reports a failure once (the commit in use keeps serving).
async fn refresh_loop(engine: Arc<Engine>, every: Duration) {
    let mut last_error = String::new();
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let engine = engine.clone();
        match tokio::task::spawn_blocking(move || engine.refresh()).await {
            Ok(Ok(true)) => last_error.clear(),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => {
                let message = e.to_string();
                if message != last_error {
                    eprintln!("mlsearch: keeping the commit in use: {message}");
                    last_error = message;
                }
            }
            Err(_) => {}
        }
    }
}

#[derive(Deserialize)]
struct KeyParam {
    api_key: Option<String>,
}

/// Lets a request through when the server has no key or the request carries it.
async fn authorize(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let Some(expected) = app.api_key else {
        return next.run(request).await;
    };
    let headers = request.headers();
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
        .or_else(|| {
            headers
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .or_else(|| {
            Query::<KeyParam>::try_from_uri(request.uri())
                .ok()
                .and_then(|q| q.0.api_key)
        });
    match given {
        Some(key) if blake3::hash(key.as_bytes()) == expected => next.run(request).await,
        _ => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid API key is required (Authorization: Bearer KEY)",
        )
        .into_response(),
    }
}
