//! The server's routes: search (GET and POST, one query or many), documents, health,
//! stats, and the search page.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::batch::EmbedError;
use super::error::ApiError;
use super::{App, Limits};
use crate::analysis::{is_known, normalize_tag};
use crate::search::{LangFilter, Mode, SearchOptions};

/// The search page (one self-contained file: no build step, no CDN).
const PAGE: &str = include_str!("page.html");

/// One query, from a query string or a JSON body; the field names of `mlsearch query`.
#[derive(Debug, Default, Deserialize)]
pub struct SearchRequest {
    /// The query text (`query` and `text` also work).
    #[serde(alias = "query", alias = "text")]
    pub q: Option<String>,
    /// `any`, or language codes separated by commas.
    pub lang: Option<String>,
    /// Number of hits (1 to the server's limit).
    pub k: Option<u64>,
    /// `hybrid`, `bm25` or `dense`.
    pub mode: Option<String>,
    /// Whether hits carry their BM25 and dense ranks and scores.
    pub explain: Option<bool>,
    /// The query's language, when the caller knows it.
    pub query_lang: Option<String>,
    /// An id echoed back (for lists of queries).
    pub qid: Option<String>,
}

impl SearchRequest {
    /// The query text and search options, checked against `limits`.
    pub fn options(&self, limits: &Limits) -> Result<(String, SearchOptions), ApiError> {
        let text = self.q.as_deref().unwrap_or_default();
        if text.trim().is_empty() {
            return Err(ApiError::bad_request("missing_query", "the query (q) is empty"));
        }
        if text.len() > limits.query_bytes {
            return Err(ApiError::bad_request(
                "query_too_long",
                format!("the query is {} bytes; the limit is {}", text.len(), limits.query_bytes),
            ));
        }
        let k = self.k.unwrap_or(10);
        if k == 0 || k > limits.max_k as u64 {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!("k must be between 1 and {}", limits.max_k),
            ));
        }
        let mode = match self.mode.as_deref() {
            None | Some("") => None,
            Some(name) => Some(
                name.parse::<Mode>()
                    .map_err(|e| ApiError::bad_request("invalid_parameter", e.to_string()))?,
            ),
        };
        let query_lang = match self.query_lang.as_deref() {
            None | Some("") => None,
            Some(tag) => Some(normalize_tag(tag).ok_or_else(|| crate::Error::InvalidLanguage(tag.to_string()))?),
        };
        let options = SearchOptions {
            k: k as usize,
            langs: LangFilter::parse(self.lang.as_deref().unwrap_or("any"))?,
            query_lang,
            mode,
            explain: self.explain.unwrap_or(false),
            ..SearchOptions::default()
        };
        Ok((text.to_string(), options))
    }
}

/// `GET /`: the search page.
pub async fn page() -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        Html(PAGE),
    )
        .into_response()
}

/// `GET /health`.
pub async fn health(State(app): State<Arc<App>>) -> Json<Value> {
    let searcher = app.engine.searcher();
    let manifest = searcher.manifest();
    Json(json!({
        "status": "ok",
        "generation": manifest.generation,
        "passages": manifest.passages(),
        "vectors": searcher.has_vectors(),
        "encoder": app.engine.encoder().is_some(),
    }))
}

/// `GET /stats`: what `mlsearch info --json` shows.
pub async fn stats(State(app): State<Arc<App>>) -> Result<Json<Value>, ApiError> {
    let engine = app.engine.clone();
    let stats = blocking(move || Ok(engine.stats())).await?;
    Ok(Json(serde_json::to_value(stats).map_err(internal)?))
}

/// `GET /search?q=…&lang=…&k=…&mode=…&explain=…`.
pub async fn search_get(State(app): State<Arc<App>>, uri: Uri) -> Result<Json<Value>, ApiError> {
    // Checked first: the query-string parser would decode invalid UTF-8 lossily.
    if !decodes_to_utf8(uri.query().unwrap_or_default()) {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            "the query string is not UTF-8 once percent-decoded",
        ));
    }
    let Query(request) = Query::<SearchRequest>::try_from_uri(&uri)
        .map_err(|e: QueryRejection| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let (text, options) = request.options(&app.limits)?;
    Ok(Json(search_one(&app, text, options).await?))
}

/// `POST /search`: one query as a JSON object, or many (`{"queries": [...]}` or an
/// array), answered together (their vectors are embedded in one batch).
pub async fn search_post(State(app): State<Arc<App>>, body: Body) -> Result<Json<Value>, ApiError> {
    let bytes = read_body(body, app.limits.search_body_bytes).await?;
    let value: Value = parse_json(&bytes)?;
    let (list, items) = match value {
        Value::Array(items) => (true, items),
        Value::Object(mut object) if object.contains_key("queries") => match object.remove("queries") {
            Some(Value::Array(items)) => (true, items),
            _ => return Err(ApiError::bad_request("invalid_json", "\"queries\" must be an array")),
        },
        single @ Value::Object(_) => (false, vec![single]),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_json",
                "expected a query object, {\"queries\": [...]}, or an array of queries",
            ))
        }
    };
    if items.len() > app.limits.max_queries {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_queries",
            format!("{} queries; at most {} a request", items.len(), app.limits.max_queries),
        ));
    }
    let requests: Vec<SearchRequest> = items
        .into_iter()
        .map(|item| serde_json::from_value(item).map_err(|e| ApiError::bad_request("invalid_json", e.to_string())))
        .collect::<Result<_, _>>()?;
    if !list {
        let (text, options) = requests[0].options(&app.limits)?;
        return Ok(Json(search_one(&app, text, options).await?));
    }
    // Every query in flight at once, so the embedding thread sees them together.
    let mut tasks = tokio::task::JoinSet::new();
    for (i, request) in requests.iter().enumerate() {
        let app = app.clone();
        let parsed = request.options(&app.limits);
        tasks.spawn(async move {
            let answer = match parsed {
                Ok((text, options)) => search_one(&app, text, options).await,
                Err(e) => Err(e),
            };
            (i, answer)
        });
    }
    let mut results: Vec<Value> = vec![Value::Null; requests.len()];
    while let Some(done) = tasks.join_next().await {
        let (i, answer) = done.map_err(internal)?;
        results[i] = answer.unwrap_or_else(|e| e.body());
        if let (Some(qid), Some(object)) = (&requests[i].qid, results[i].as_object_mut()) {
            object.insert("qid".into(), Value::String(qid.clone()));
        }
    }
    Ok(Json(json!({ "results": results })))
}

/// One search: admitted (or 429), its vector from the embedding thread, then BM25, HNSW
/// and fusion on a blocking thread, all within the request timeout (or 503).
async fn search_one(app: &Arc<App>, text: String, options: SearchOptions) -> Result<Value, ApiError> {
    if let LangFilter::Only(codes) = &options.langs {
        let searcher = app.engine.searcher();
        // A code mlsearch has no analyzer for and the index has no passage in is a typo.
        if let Some(code) = codes
            .iter()
            .find(|c| !is_known(c) && !searcher.languages().contains_key(*c))
        {
            let present: Vec<&str> = searcher.languages().keys().map(String::as_str).collect();
            return Err(ApiError::bad_request(
                "invalid_language",
                format!("unknown language {code:?}; the index has {}", present.join(", ")),
            ));
        }
    }
    let Ok(_permit) = app.admission.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "overloaded",
            "too many searches in flight; retry shortly",
        ));
    };
    let _in_flight = app.batcher.as_ref().map(|b| b.admit());
    let started = Instant::now();
    let work = async {
        let searcher = app.engine.searcher();
        let vector = match (&app.batcher, app.engine.wants_vector(&searcher, &options)) {
            (Some(batcher), true) => Some(batcher.embed(text.clone()).await.map_err(embed_error)?),
            _ => None,
        };
        let generation = searcher.manifest().generation;
        let results = blocking(move || searcher.search_with_vector(&text, vector.as_deref(), &options)).await?;
        let mut value = serde_json::to_value(results).map_err(internal)?;
        value["generation"] = json!(generation);
        value["took_ms"] = json!((started.elapsed().as_secs_f64() * 1e4).round() / 10.0);
        Ok::<Value, ApiError>(value)
    };
    match tokio::time::timeout(app.limits.timeout, work).await {
        Ok(answer) => answer,
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the search took longer than {:?}", app.limits.timeout),
        )),
    }
}

/// `POST /documents`: JSON records with the fields the JSONL reader takes (one object, an
/// array, `{"documents": [...]}`, or JSON lines), added in one commit, all or none.
pub async fn add_documents(State(app): State<Arc<App>>, body: Body) -> Result<Json<Value>, ApiError> {
    let bytes = read_body(body, app.limits.documents_body_bytes).await?;
    let records = parse_records(&bytes)?;
    if records.is_empty() {
        return Err(ApiError::bad_request("invalid_document", "no documents in the request"));
    }
    let engine = app.engine.clone();
    let report = blocking(move || {
        let mut writer = engine.writer()?;
        for (i, record) in records.iter().enumerate() {
            writer.add_record(record).map_err(|e| match e {
                crate::Error::Document { id, reason } => crate::Error::Document {
                    id,
                    reason: format!("record {}: {reason}", i + 1),
                },
                other => other,
            })?;
        }
        writer.commit()
    })
    .await?;
    Ok(Json(serde_json::to_value(report).map_err(internal)?))
}

/// `DELETE /documents/{id}`: removes a document added through the API.
pub async fn remove_document(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let engine = app.engine.clone();
    let missing = id.clone();
    let report = blocking(move || {
        let mut writer = engine.writer()?;
        if !writer.remove(&id)? {
            return Ok(None);
        }
        writer.commit().map(Some)
    })
    .await?;
    match report {
        Some(report) => Ok(Json(serde_json::to_value(report).map_err(internal)?)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "document_not_found",
            format!("no document added through the API has id {missing:?} (documents of indexed files change with their files)"),
        )),
    }
}

/// Any other path.
pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route; see README (mlsearch serve)",
    )
}

/// A known path with another method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route takes another method",
    )
}

/// A body over the limit is still read (and dropped) up to this size, so a client that
/// sends it whole before reading gets its 413 instead of a reset connection.
const DRAIN_LIMIT: usize = 16 << 20;

/// The body, at most `limit` bytes (413 past it).
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_request("invalid_body", format!("reading the request body: {e}")))?;
        let Ok(data) = frame.into_data() else { continue };
        seen += data.len();
        if seen <= limit {
            bytes.extend_from_slice(&data);
        } else if seen > DRAIN_LIMIT {
            break;
        }
    }
    if seen > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is over {limit} bytes"),
        ));
    }
    Ok(Bytes::from(bytes))
}

/// Whether a query string percent-decodes to UTF-8.
fn decodes_to_utf8(query: &str) -> bool {
    let bytes = query.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                decoded.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request("invalid_json", format!("invalid JSON: {e}")))
}

/// Records from a JSON document or from JSON lines.
fn parse_records(bytes: &[u8]) -> Result<Vec<Value>, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(Value::Object(mut object)) if object.contains_key("documents") => match object.remove("documents") {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(ApiError::bad_request("invalid_json", "\"documents\" must be an array")),
        },
        Ok(single @ Value::Object(_)) => Ok(vec![single]),
        Ok(_) => Err(ApiError::bad_request(
            "invalid_json",
            "expected a record, an array of records, {\"documents\": [...]}, or JSON lines",
        )),
        Err(whole) => {
            let text = std::str::from_utf8(bytes).map_err(|_| parse_json(bytes).unwrap_err())?;
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            if lines.len() < 2 {
                return Err(ApiError::bad_request("invalid_json", format!("invalid JSON: {whole}")));
            }
            lines
                .iter()
                .enumerate()
                .map(|(n, line)| {
                    serde_json::from_str(line).map_err(|e| {
                        ApiError::bad_request("invalid_json", format!("line {}: invalid JSON: {e}", n + 1))
                    })
                })
                .collect()
        }
    }
}

/// Runs `work` on a blocking thread (searches, commits, disk walks).
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> crate::Result<T> + Send + 'static) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(answer) => answer.map_err(ApiError::from),
        Err(e) => Err(internal(e)),
    }
}

fn embed_error(e: EmbedError) -> ApiError {
    match e {
        EmbedError::Busy => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "overloaded",
            "the encoder's queue is full; retry shortly",
        ),
        EmbedError::Stopped => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is stopping",
        ),
        EmbedError::Failed(message) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message),
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}
