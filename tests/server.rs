//! `mlsearch serve` and `mlsearch mcp`: the real binary, a real HTTP client (ureq) and a
//! real MCP client (rmcp), on the fixture corpus and on folders made here.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::util::server::Server;
use crate::util::{builtin_available, copy_tree, fixture_corpus, Workspace};

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn serve_answers_like_query_json_and_batches_lists_of_queries() {
    if !builtin_available() {
        return;
    }
    let ws = Workspace::with_vectors();
    ws.index_ok(&fixture_corpus());
    let query = "Wann knetet der Bäcker den Teig?";
    let cli = ws.hits(&[query, "--explain"]);
    let server = Server::start(&ws.index(), &[]);

    let (status, body) = server.get(&format!("/search?q={}&explain=true", encode(query)));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mode"], "hybrid");
    let hits = body["hits"].as_array().unwrap();
    assert_eq!(hits.len(), cli.len());
    // The same passages in the same order as `query --json`, with the same field names.
    for (served, printed) in hits.iter().zip(&cli) {
        assert_eq!(served["doc"], printed["doc"]);
        let mut printed = printed.as_object().unwrap().clone();
        // Per query, not per hit, in the server's answer.
        for field in ["query_lang", "query_lang_source"] {
            assert_eq!(body[field], printed[field], "{field}");
            printed.remove(field);
        }
        let confidence = printed.remove("query_lang_confidence").unwrap().as_f64().unwrap();
        assert!((body["query_lang_confidence"].as_f64().unwrap() - confidence).abs() < 1e-6);
        let served_keys: Vec<&String> = served.as_object().unwrap().keys().collect();
        assert_eq!(served_keys, printed.keys().collect::<Vec<_>>());
    }
    assert_eq!(hits[0]["doc"], "parallel/bakery.de.txt");

    // A list of queries (embedded as one batch) keeps its order and qids.
    let list = json!({"queries": [
        {"qid": "a", "q": "The baker kneads the dough", "lang": "fr", "k": 1},
        {"qid": "b", "q": query, "k": 2, "mode": "dense"},
        {"qid": "c", "q": "", "k": 1},
    ]});
    let (status, body) = server.post("/search", list.to_string().as_bytes());
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[0]["qid"], "a");
    assert_eq!(results[0]["hits"][0]["doc"], "parallel/bakery.fr.txt");
    assert_eq!(results[1]["hits"].as_array().unwrap().len(), 2);
    assert_eq!(results[1]["mode"], "dense");
    assert_eq!(results[2]["error"]["code"], "missing_query");

    let (_, stats) = server.get("/stats");
    let (_, health) = server.get("/health");
    assert_eq!(stats["passages"], health["passages"]);
    assert_eq!(health["encoder"], true);
    let info: Value = serde_json::from_str(&ws.run(&["info", "--json"]).stdout).unwrap();
    assert_eq!(stats["languages"], info["languages"]);
    assert_eq!(stats["generation"], info["generation"]);

    let (_, page) = server.get("/");
    assert!(page.as_str().unwrap().contains("<form id=\"search\""));
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn documents_through_the_api_are_searchable_survive_index_runs_and_commits_are_picked_up() {
    let ws = Workspace::new();
    let corpus = ws.path().join("corpus");
    copy_tree(&fixture_corpus(), &corpus);
    ws.index_ok(&corpus);
    let server = Server::start(&ws.index(), &[]);

    let records = json!([
        {"id": "note-1", "title": "Boulangerie", "text": "Le boulanger pétrit la pâte avant l'aube.", "lang": "fr"},
        {"docid": "note-2", "text": "Der Glockengießer gießt die Glocke im Sommer."},
    ]);
    let (status, report) = server.post("/documents", records.to_string().as_bytes());
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["added"], 2);
    let (_, body) = server.get("/search?q=Glockengie%C3%9Fer&mode=bm25");
    assert_eq!(body["hits"][0]["doc"], "note-2");
    assert_eq!(body["hits"][0]["file"], "/api/note-2");
    assert_eq!(body["hits"][0]["lang"], "de");

    // A new version replaces the old one; a bad record refuses the whole request.
    let again = json!({"id": "note-2", "text": "Der Glockengießer ist im Urlaub."});
    let (_, report) = server.post("/documents", again.to_string().as_bytes());
    assert_eq!(report["replaced"], 1);
    let bad = json!([{"id": "note-3", "text": "gut"}, {"text": "no id"}]);
    let (status, error) = server.post("/documents", bad.to_string().as_bytes());
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("invalid_document")),
        "{error}"
    );
    let (_, body) = server.get("/search?q=gut&mode=bm25&lang=de");
    assert!(body["hits"].as_array().unwrap().iter().all(|h| h["doc"] != "note-3"));

    // `mlsearch index` while the server runs: its commit is picked up, API documents stay.
    std::fs::write(
        corpus.join("neu.txt"),
        "Die Zeppelinwerft in Friedrichshafen baut Luftschiffe.",
    )
    .unwrap();
    let run = ws.index_ok(&corpus);
    assert!(run.stdout.contains("1 added"), "{run:?}");
    let started = Instant::now();
    loop {
        let (_, body) = server.get("/search?q=Zeppelinwerft&mode=bm25");
        if body["hits"][0]["doc"] == "neu.txt" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the new commit was not picked up: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, body) = server.get("/search?q=Glockengie%C3%9Fer&mode=bm25");
    assert_eq!(body["hits"][0]["doc"], "note-2");

    let (status, _) = server.delete("/documents/note-2");
    assert_eq!(status, 200);
    let (status, error) = server.delete("/documents/note-2");
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (404, Some("document_not_found"))
    );
    let (status, _) = server.delete("/documents/neu.txt");
    assert_eq!(status, 404, "files are not deleted through the API");
    let (_, body) = server.get("/search?q=Glockengie%C3%9Fer&mode=bm25");
    assert!(body["hits"].as_array().unwrap().is_empty(), "{body}");
    let info: Value = serde_json::from_str(&ws.run(&["info", "--json", "--verify"]).stdout).unwrap();
    assert_eq!(info["verified"], true);
}

#[test]
fn bad_requests_get_their_status_and_code_and_the_server_keeps_answering() {
    let ws = Workspace::new();
    ws.index_ok(&fixture_corpus());
    let server = Server::start(&ws.index(), &[]);
    let huge = "a".repeat(5000);
    let cases: Vec<(u16, &str, (u16, Value))> = vec![
        (400, "invalid_json", server.post("/search", b"{broken")),
        (400, "invalid_json", server.post("/search", b"\xff\xfe{\"q\": 1}")),
        (400, "invalid_json", server.post("/search", b"42")),
        (400, "missing_query", server.get("/search?lang=de")),
        (400, "query_too_long", server.get(&format!("/search?q={huge}"))),
        (400, "invalid_parameter", server.get("/search?q=x&k=1000000000")),
        (400, "invalid_parameter", server.get("/search?q=x&k=-1")),
        (
            400,
            "invalid_parameter",
            server.get("/search?q=x&k=99999999999999999999999"),
        ),
        (400, "invalid_parameter", server.get("/search?q=x&mode=magic")),
        (400, "invalid_parameter", server.get("/search?q=%FF%FE")),
        (400, "invalid_language", server.get("/search?q=x&lang=klingon!")),
        (400, "no_vectors", server.get("/search?q=x&mode=dense")),
        (413, "body_too_large", server.post("/search", &vec![b' '; 2 << 20])),
        (
            413,
            "too_many_queries",
            server.post(
                "/search",
                json!({"queries": vec![json!({"q": "x"}); 101]}).to_string().as_bytes(),
            ),
        ),
        (404, "not_found", server.get("/nothing/here")),
        (405, "method_not_allowed", server.delete("/search")),
        (400, "invalid_document", server.post("/documents", b"[]")),
    ];
    for (status, code, (got_status, body)) in &cases {
        assert_eq!(
            (got_status, body["error"]["code"].as_str()),
            (status, Some(*code)),
            "{body}"
        );
    }
    // A request head that never ends, and one far too long, are cut off.
    assert_eq!(
        server.raw(format!("GET /search?q={} HTTP/1.1\r\n\r\n", "a".repeat(200_000)).as_bytes()) / 100,
        4
    );
    // A 6 MB request URL on many connections at once: every one is answered (431), none
    // reset while the client still sends (the server drains what it did not read; without
    // that, 16 of 16 clients got a broken pipe, and 2 of 16 at 2 MB).
    let long = format!("GET /search?q={} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(6 << 20));
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..16).map(|_| s.spawn(|| server.raw(long.as_bytes()))).collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|&s| s == 431 || s == 414), "{statuses:?}");
    let (status, body) = server.get("/search?q=B%C3%A4cker+Teig&k=1");
    assert_eq!(status, 200);
    assert_eq!(body["hits"][0]["doc"], "parallel/bakery.de.txt");
}

#[test]
fn an_api_key_is_required_off_loopback_and_checked_on_every_request() {
    let ws = Workspace::new();
    ws.index_ok(&fixture_corpus());
    let open = Command::new(env!("CARGO_BIN_EXE_mlsearch"))
        .args(["serve", "--index", ws.index().to_str().unwrap(), "--addr", "0.0.0.0:0"])
        .env_remove("MLSEARCH_API_KEY")
        .output()
        .unwrap();
    assert_eq!(open.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&open.stderr).contains("--api-key"));

    let server = Server::start(&ws.index(), &["--api-key", "s3cret-key"]);
    assert_eq!(server.get("/health").1["error"]["code"], "unauthorized");
    assert_eq!(
        server.get_with("/health", ("Authorization", "Bearer s3cret-kez")).0,
        401
    );
    assert_eq!(
        server.get_with("/health", ("Authorization", "Bearer s3cret-key")).0,
        200
    );
    assert_eq!(server.get_with("/search?q=Teig", ("X-Api-Key", "s3cret-key")).0, 200);
    assert_eq!(server.get("/?api_key=s3cret-key").0, 200);
}

#[test]
fn mcp_search_and_status_with_a_real_client() {
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::TokioChildProcess;
    use rmcp::ServiceExt;

    let ws = Workspace::new();
    ws.index_ok(&fixture_corpus());
    let index = ws.index();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mlsearch"));
        command.args(["mcp", "--index", index.to_str().unwrap()]);
        let client = ().serve(TokioChildProcess::new(command).unwrap()).await.expect("MCP handshake");
        let tools = client.list_all_tools().await.unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert!(names.contains(&"search") && names.contains(&"status"), "{names:?}");

        let arguments = json!({"query": "Bäcker Teig", "k": 3});
        let result = client
            .call_tool(CallToolRequestParams::new("search").with_arguments(arguments.as_object().unwrap().clone()))
            .await
            .unwrap();
        let text = &result.content[0].as_text().unwrap().text;
        let answer: Value = serde_json::from_str(text).unwrap();
        assert_eq!(answer["hits"][0]["doc"], "parallel/bakery.de.txt", "{answer}");

        let arguments = json!({"query": "Teig", "lang": "klingon!"});
        let result = client
            .call_tool(CallToolRequestParams::new("search").with_arguments(arguments.as_object().unwrap().clone()))
            .await
            .unwrap();
        assert_eq!(result.is_error, Some(true));

        let status = client.call_tool(CallToolRequestParams::new("status")).await.unwrap();
        let stats: Value = serde_json::from_str(&status.content[0].as_text().unwrap().text).unwrap();
        assert_eq!(stats["passages"], 54);
        client.cancel().await.unwrap();
    });
}
