//! `mlsearch serve` under load and under hostile requests, with a real HTTP client.
//!
//! ```sh
//! cargo bench --bench serve -- load      # latency / QPS at concurrency 1, 8, 32 + RSS
//! cargo bench --bench serve -- hostile   # 10,000+ malformed or hostile requests
//! ```
//!
//! Index: `$MLSEARCH_BENCH_INDEX` (default `target/ntrex100k/index`, made by
//! scripts/speed_100k.sh), queries: `$MLSEARCH_BENCH_QUERIES` (`qid<TAB>text`, default
//! `target/ntrex100k/queries.tsv`). The load part first measures the same queries in
//! process (the library's `Engine`, one at a time: what `bench speed` measures) as the
//! reference, then starts the server binary and drives it from client threads.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
#[path = "../tests/util/server.rs"]
mod server;

use common::percentile;
use mlsearch::engine::{Engine, EngineOptions};
use mlsearch::search::SearchOptions;
use serde_json::{json, Value};
use server::Server;

/// The server under test, with more options from MLSEARCH_BENCH_SERVE_ARGS (e.g.
/// `--batch-window-ms 5`).
fn start_server(index: &std::path::Path) -> Server {
    let extra = std::env::var("MLSEARCH_BENCH_SERVE_ARGS").unwrap_or_default();
    Server::start_logging(index, &extra.split_whitespace().collect::<Vec<_>>())
}

/// Sends the n-th request of one kind of hostile request; returns the status (0: closed).
type HostileRequest<'a> = Box<dyn Fn(usize) -> u16 + 'a>;

fn main() {
    let part = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or("all".into());
    let index = PathBuf::from(std::env::var("MLSEARCH_BENCH_INDEX").unwrap_or("target/ntrex100k/index".into()));
    let queries_file = std::env::var("MLSEARCH_BENCH_QUERIES").unwrap_or("target/ntrex100k/queries.tsv".into());
    let queries: Vec<String> = std::fs::read_to_string(&queries_file)
        .unwrap_or_else(|e| panic!("{queries_file}: {e} (run scripts/speed_100k.sh, or set MLSEARCH_BENCH_QUERIES)"))
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(_, t)| t.to_string()))
        .collect();
    println!("index {}, {} queries", index.display(), queries.len());
    if part == "load" || part == "all" {
        load(&index, &queries);
    }
    if part == "hostile" || part == "all" {
        hostile(&index, &queries);
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

fn load(index: &std::path::Path, queries: &[String]) {
    // The in-process reference: the same hybrid `--lang any` queries, one at a time.
    let engine = Engine::open(index, &EngineOptions::default()).expect("index opens");
    let options = SearchOptions::default();
    for q in queries.iter().take(20) {
        engine.search(q, &options).unwrap();
    }
    let mut in_process: Vec<f64> = queries
        .iter()
        .map(|q| {
            let started = Instant::now();
            engine.search(q, &options).unwrap();
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    // Where a query's time goes: the encoder (alone, and per query in batches of 8) and
    // the rest (BM25, HNSW, fusion, snippets) with the vector given.
    let timed = |work: &mut dyn FnMut()| {
        let started = Instant::now();
        work();
        started.elapsed().as_secs_f64() * 1e3
    };
    let texts: Vec<&str> = queries.iter().map(String::as_str).collect();
    let one: f64 =
        timed(&mut || texts.iter().for_each(|t| drop(engine.embed_queries(&[t]).unwrap()))) / texts.len() as f64;
    let eight: f64 =
        timed(&mut || texts.chunks(8).for_each(|c| drop(engine.embed_queries(c).unwrap()))) / texts.len() as f64;
    let vectors = engine.embed_queries(&texts).unwrap();
    let searcher = engine.searcher();
    let rest: f64 = timed(&mut || {
        for (t, v) in texts.iter().zip(&vectors) {
            searcher.search_with_vector(t, Some(v), &options).unwrap();
        }
    }) / texts.len() as f64;
    println!(
        "in process, mean ms per query: encoder {one:.2} (in batches of 8: {eight:.2}, {:.2}× the throughput), search with the vector {rest:.2}",
        one / eight
    );
    drop(searcher);
    drop(engine);
    in_process.sort_by(f64::total_cmp);
    let reference_p50 = percentile(&in_process, 0.5);
    println!(
        "in process (Engine::search, hybrid, --lang any): p50 {:.2} ms, p99 {:.2} ms, {:.1} QPS",
        reference_p50,
        percentile(&in_process, 0.99),
        1e3 * in_process.len() as f64 / in_process.iter().sum::<f64>()
    );

    let server = start_server(index);
    let warm = agent();
    for q in queries.iter().take(20) {
        warm.get(server.url("/search")).query("q", q).call().unwrap();
    }
    println!("| concurrency | requests | p50 ms | p99 ms | QPS | QPS / QPS at 1 | p50 / in-process p50 | server RSS MiB (peak) |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut qps_at_one = 0.0;
    for concurrency in [1usize, 8, 32] {
        let total = queries.len().max(concurrency * 20);
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let threads: Vec<_> = (0..concurrency)
            .map(|_| {
                let next = next.clone();
                let queries = queries.to_vec();
                let url = server.url("/search");
                std::thread::spawn(move || {
                    let agent = agent();
                    let mut latencies = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= total {
                            return latencies;
                        }
                        let sent = Instant::now();
                        let response = agent.get(&url).query("q", &queries[i % queries.len()]).call().unwrap();
                        assert_eq!(response.status(), 200);
                        latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                    }
                })
            })
            .collect();
        let mut latencies: Vec<f64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
        let wall = started.elapsed().as_secs_f64();
        latencies.sort_by(f64::total_cmp);
        let qps = latencies.len() as f64 / wall;
        if concurrency == 1 {
            qps_at_one = qps;
        }
        let (rss, peak) = server.memory();
        println!(
            "| {concurrency} | {} | {:.2} | {:.2} | {:.1} | {:.2}× | {:.2}× | {rss:.0} ({peak:.0}) |",
            latencies.len(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            qps,
            qps / qps_at_one,
            percentile(&latencies, 0.5) / reference_p50
        );
    }
}

/// What a hostile request got: its HTTP status, or 0 when the server closed the
/// connection without one.
fn raw(addr: &str, request: &[u8]) -> u16 {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return 0;
    };
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = stream.write_all(request);
    let mut head = [0u8; 12];
    match stream.read(&mut head) {
        Ok(n) if n >= 12 => std::str::from_utf8(&head[9..12])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        _ => 0,
    }
}

fn hostile(index: &std::path::Path, queries: &[String]) {
    let server = start_server(index);
    let agent = agent();
    let good = |i: usize| {
        let response = agent
            .get(server.url("/search"))
            .query("q", &queries[i % queries.len()])
            .call()
            .unwrap();
        response.status().as_u16()
    };
    good(0);
    let (rss_before, _) = server.memory();
    let megabyte_query = "ä".repeat(1 << 19);
    let kinds: Vec<(&str, HostileRequest<'_>)> = vec![
        (
            "broken JSON",
            Box::new(|i| post(&agent, &server, format!("{{\"q\": \"x{i}").as_bytes())),
        ),
        (
            "invalid UTF-8 body",
            Box::new(|_| post(&agent, &server, b"{\"q\": \"\xff\xfe\xfd\"}")),
        ),
        (
            "invalid UTF-8 query string",
            Box::new(|_| {
                raw(
                    &server.addr,
                    b"GET /search?q=%FF%FE%FD HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                )
            }),
        ),
        (
            "raw invalid UTF-8 request line",
            Box::new(|_| {
                raw(
                    &server.addr,
                    b"GET /search?q=\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                )
            }),
        ),
        (
            "1 MB query (JSON body)",
            Box::new(|_| post(&agent, &server, json!({"q": megabyte_query}).to_string().as_bytes())),
        ),
        (
            "1 MB query (URL)",
            Box::new(|_| {
                raw(
                    &server.addr,
                    format!(
                        "GET /search?q={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        "a".repeat(1 << 20)
                    )
                    .as_bytes(),
                )
            }),
        ),
        (
            "k = 10^9",
            Box::new(|_| get(&agent, &server, "/search?q=x&k=1000000000")),
        ),
        (
            "unknown language",
            Box::new(|i| get(&agent, &server, &format!("/search?q=x&lang=zz-{i}!"))),
        ),
        (
            "unknown mode",
            Box::new(|_| get(&agent, &server, "/search?q=x&mode=magic")),
        ),
        (
            "unknown route",
            Box::new(|i| get(&agent, &server, &format!("/admin/{i}"))),
        ),
        (
            "wrong method",
            Box::new(|_| status(agent.put(server.url("/search")).send(b"x"))),
        ),
        ("3 MB body", Box::new(|_| post(&agent, &server, &vec![b'['; 3 << 20]))),
        (
            "garbage request head",
            Box::new(|i| raw(&server.addr, &[&[(i % 251) as u8 | 1; 64][..], b"\r\n\r\n"].concat())),
        ),
    ];
    println!("| request | sent | answers (status: count) |");
    println!("|---|---|---|");
    let mut sent = 0;
    let mut good_failures = 0;
    let rounds = 900;
    for (name, send) in &kinds {
        let mut counts = std::collections::BTreeMap::<u16, usize>::new();
        let n = if name.starts_with("1 MB") || name.starts_with("3 MB") {
            rounds / 4
        } else {
            rounds
        };
        for i in 0..n {
            *counts.entry(send(i)).or_default() += 1;
            sent += 1;
            if i % 100 == 0 && good(i) != 200 {
                good_failures += 1;
            }
        }
        let answers: Vec<String> = counts.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        println!("| {name} | {n} | {} |", answers.join(", "));
    }
    // Slow partial requests: heads that never finish, all at once, while good queries run.
    let slow: Vec<TcpStream> = (0..200)
        .filter_map(|_| {
            let mut s = TcpStream::connect(&server.addr).ok()?;
            s.write_all(b"GET /search?q=slow HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .ok()?;
            Some(s)
        })
        .collect();
    let during: usize = (0..50).filter(|&i| good(i) == 200).count();
    std::thread::sleep(Duration::from_secs(11));
    // Cut off: the server closed the connection (end of stream) or answered and closed.
    let closed = slow
        .iter()
        .filter(|s| {
            s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
            let mut buf = [0u8; 64];
            (&**s).read(&mut buf).is_ok()
        })
        .count();
    sent += 200;
    println!("| slow partial request heads (never finished) | 200 | {closed} cut off after the 10 s header timeout; {during}/50 good queries answered meanwhile |");
    // Wrong API keys against a server with one.
    let (rss_after, peak) = server.memory();
    drop(kinds);
    drop(server);
    let keyed = Server::start_logging(index, &["--api-key", "right-key"]);
    let mut unauthorized = 0;
    for i in 0..rounds {
        let key = format!("Bearer wrong-key-{i}");
        if status(agent.get(keyed.url("/search?q=x")).header("Authorization", &key).call()) == 401 {
            unauthorized += 1;
        }
        sent += 1;
    }
    let right = status(
        agent
            .get(keyed.url("/search?q=Teig"))
            .header("Authorization", "Bearer right-key")
            .call(),
    );
    println!("| wrong API key | {rounds} | 401: {unauthorized} (the right key then: {right}) |");
    println!(
        "{sent} hostile requests; good queries interleaved: {} failed; server RSS {rss_before:.0} MiB before, {rss_after:.0} MiB after (peak {peak:.0} MiB)",
        good_failures
    );
}

fn status(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> u16 {
    match response {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

fn get(agent: &ureq::Agent, server: &Server, path: &str) -> u16 {
    status(agent.get(server.url(path)).call())
}

fn post(agent: &ureq::Agent, server: &Server, body: &[u8]) -> u16 {
    let response = agent.post(server.url("/search")).send(body);
    // Read the JSON error fully so the connection can be reused.
    match response {
        Ok(mut r) => {
            let _: Option<Value> = r.body_mut().read_json().ok();
            r.status().as_u16()
        }
        Err(_) => 0,
    }
}
