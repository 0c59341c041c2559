//! `mlsearch mcp`: a Model Context Protocol server on stdio (the official `rmcp` SDK),
//! so coding agents can search a local index. Tools: `search` (the options of `GET
//! /search`) and `status` (what `GET /stats` shows). The encoder is loaded once, and the
//! index's new commits are picked up before each call.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{tool, tool_handler, tool_router, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::server::{Limits, SearchRequest};

/// The arguments of the `search` tool.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchArguments {
    /// The query, in any language.
    pub query: String,
    /// Passage languages: `any` (the default), or ISO 639-1 codes separated by commas.
    pub lang: Option<String>,
    /// Number of hits (default 10, at most 1000).
    pub k: Option<u64>,
    /// `hybrid` (the default when the index has vectors), `bm25` or `dense`.
    pub mode: Option<String>,
    /// Whether each hit carries its BM25 and dense ranks and scores.
    pub explain: Option<bool>,
}

/// The MCP server of one engine.
#[derive(Clone)]
pub struct McpServer {
    engine: Arc<Engine>,
    tool_router: ToolRouter<McpServer>,
}

#[tool_router]
impl McpServer {
    /// A server of `engine`.
    pub fn new(engine: Arc<Engine>) -> McpServer {
        McpServer {
            engine,
            tool_router: Self::tool_router(),
        }
    }

    /// Searches the index.
    #[tool(
        description = "Search the local multilingual index (BM25 + dense vectors, hybrid). Finds passages whatever \
                       language the query and the documents are in. Returns JSON: query_lang, mode and hits (rank, \
                       score, doc, passage, lang, title, file, snippet, highlights)."
    )]
    async fn search(&self, Parameters(arguments): Parameters<SearchArguments>) -> CallToolResult {
        let request = SearchRequest {
            q: Some(arguments.query),
            lang: arguments.lang,
            k: arguments.k,
            mode: arguments.mode,
            explain: arguments.explain,
            ..SearchRequest::default()
        };
        let engine = self.engine.clone();
        let answer = tokio::task::spawn_blocking(move || {
            let _ = engine.refresh();
            let (text, options) = request.options(&Limits::default()).map_err(|e| e.body())?;
            let results = engine
                .search(&text, &options)
                .map_err(|e| crate::server::ApiError::from(e).body())?;
            serde_json::to_value(results).map_err(|e| serde_json::json!({ "error": e.to_string() }))
        })
        .await;
        match answer {
            Ok(Ok(value)) => CallToolResult::success(vec![ContentBlock::text(value.to_string())]),
            Ok(Err(error)) => CallToolResult::error(vec![ContentBlock::text(error.to_string())]),
            Err(e) => CallToolResult::error(vec![ContentBlock::text(format!("internal error: {e}"))]),
        }
    }

    /// What the index holds.
    #[tool(description = "Status of the local index: passages per language, files, commit number, vectors and model.")]
    async fn status(&self) -> CallToolResult {
        let engine = self.engine.clone();
        let stats = tokio::task::spawn_blocking(move || {
            let _ = engine.refresh();
            engine.stats()
        })
        .await;
        match stats.map(|s| serde_json::to_string(&s)) {
            Ok(Ok(text)) => CallToolResult::success(vec![ContentBlock::text(text)]),
            Ok(Err(e)) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
            Err(e) => CallToolResult::error(vec![ContentBlock::text(format!("internal error: {e}"))]),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("mlsearch", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "mlsearch searches a local multilingual index. Call `search` with a query in any language; \
                 `lang` restricts the passage languages. `status` tells what the index holds.",
            )
    }
}

/// Serves `engine` over stdin / stdout until the client closes them.
pub async fn serve_stdio(engine: Arc<Engine>) -> Result<()> {
    let running = McpServer::new(engine)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Error::Internal(format!("MCP: {e}")))?;
    running
        .waiting()
        .await
        .map_err(|e| Error::Internal(format!("MCP: {e}")))?;
    Ok(())
}
