//! `mlsearch serve` and `mlsearch mcp`: the engine opened once, behind HTTP or MCP.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mlsearch::engine::{Engine, EngineOptions};
use mlsearch::server::{self, ServeOptions};

use super::args::{IndexLocation, McpArgs, ModelChoice, ServeArgs};
use super::EXIT_OK;

pub fn serve(args: ServeArgs) -> anyhow::Result<u8> {
    // Written so that NaN fails both.
    let timeout_ok = args.timeout.is_finite() && args.timeout > 0.0;
    let window_ok = args.batch_window_ms.is_finite() && args.batch_window_ms >= 0.0;
    if !(timeout_ok && window_ok) {
        anyhow::bail!("--timeout must be positive and --batch-window-ms at least 0");
    }
    let engine = open(&args.location, &args.model)?;
    let mut options = ServeOptions {
        addr: args.addr,
        api_key: args.api_key.filter(|k| !k.is_empty()),
        ..ServeOptions::default()
    };
    options.limits.timeout = Duration::from_secs_f64(args.timeout);
    options.batching.window = Duration::from_secs_f64(args.batch_window_ms / 1000.0);
    runtime()?.block_on(server::serve(engine, options, server::shutdown_signal()))?;
    Ok(EXIT_OK)
}

pub fn mcp(args: McpArgs) -> anyhow::Result<u8> {
    let engine = open(&args.location, &args.model)?;
    runtime()?.block_on(mlsearch::mcp::serve_stdio(engine))?;
    Ok(EXIT_OK)
}

fn open(location: &IndexLocation, model: &ModelChoice) -> anyhow::Result<Arc<Engine>> {
    let dir = &location.index;
    let options = EngineOptions {
        model: model.spec(),
        dense: true,
    };
    let engine = Engine::open(dir, &options).with_context(|| format!("opening index {}", dir.display()))?;
    Ok(Arc::new(engine))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
