//! `mlsearch query`: one query printed for people (or as JSON), or a file of queries
//! answered in one process as JSONL or a TREC run.

use std::collections::HashSet;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::Context;
use mlsearch::engine::{Engine, EngineOptions};
use mlsearch::search::{Hit, LangFilter, Mode, QueryLangSource, SearchOptions, SearchResults};
use mlsearch::Error;
use serde::Serialize;

use super::args::QueryArgs;
use super::{EXIT_NO_HITS, EXIT_OK};

/// A hit as written by `--json` and batch mode.
#[derive(Serialize)]
struct JsonHit<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    qid: Option<&'a str>,
    #[serde(flatten)]
    hit: &'a Hit,
    query_lang: &'a str,
    query_lang_confidence: f32,
    /// With `--explain`: how the query's language was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    query_lang_source: Option<QueryLangSource>,
}

impl<'a> JsonHit<'a> {
    fn new(qid: Option<&'a str>, hit: &'a Hit, results: &'a SearchResults, explain: bool) -> JsonHit<'a> {
        JsonHit {
            qid,
            hit,
            query_lang: &results.query_lang,
            query_lang_confidence: results.query_lang_confidence,
            query_lang_source: explain.then_some(results.query_lang_source),
        }
    }
}

pub fn run(args: QueryArgs) -> anyhow::Result<u8> {
    let options = SearchOptions {
        k: args.k,
        langs: LangFilter::parse(&args.lang)?,
        query_lang: args.query_lang.clone(),
        snippet_chars: args.snippet_chars,
        snippets: !args.trec,
        mode: args.mode,
        hybrid: args.fusion.options(),
        explain: args.explain,
        bm25: None,
    };
    let dir = &args.location.index;
    let engine = Engine::open(
        dir,
        &EngineOptions {
            model: args.model.spec(),
            dense: options.mode != Some(Mode::Bm25),
        },
    )
    .with_context(|| format!("opening index {}", dir.display()))?;
    let options = SearchOptions {
        bm25: args.bm25.over(engine.searcher().manifest().bm25)?,
        ..options
    };
    let stdout = std::io::stdout();
    let color = stdout.is_terminal();
    let mut out = BufWriter::new(stdout.lock());
    if let Some(path) = &args.queries {
        batch(&engine, path, &options, &args, &mut out)?;
        out.flush()?;
        return Ok(EXIT_OK);
    }
    let text = args.text.as_deref().expect("clap requires TEXT without --queries");
    let results = engine.search(text, &options)?;
    // The process ends next: freeing the tokenizer's 250k-piece trie would take longer
    // than the query (measured: ~20% of a hybrid query's wall time). The OS reclaims it.
    std::mem::forget(engine);
    if args.explain && !args.json {
        writeln!(
            out,
            "query language: {} ({}, confidence {:.2})\n",
            results.query_lang,
            serde_json::to_value(results.query_lang_source)?
                .as_str()
                .unwrap_or_default(),
            results.query_lang_confidence
        )?;
    }
    for hit in &results.hits {
        if args.json {
            let line = JsonHit::new(None, hit, &results, args.explain);
            writeln!(out, "{}", serde_json::to_string(&line)?)?;
        } else {
            print_hit(&mut out, hit, color)?;
        }
    }
    out.flush()?;
    if results.hits.is_empty() {
        eprintln!(
            "mlsearch: no hits (query read as {} by {:?})",
            results.query_lang, results.query_lang_source
        );
        return Ok(EXIT_NO_HITS);
    }
    Ok(EXIT_OK)
}

fn print_hit(out: &mut impl Write, hit: &Hit, color: bool) -> std::io::Result<()> {
    let (on, off) = if color { ("\x1b[1m", "\x1b[0m") } else { ("**", "**") };
    let mut marked = String::new();
    let mut last = 0;
    for [from, to] in &hit.highlights {
        marked.push_str(&hit.snippet[last..*from]);
        marked.push_str(on);
        marked.push_str(&hit.snippet[*from..*to]);
        marked.push_str(off);
        last = *to;
    }
    marked.push_str(&hit.snippet[last..]);
    let marked = marked.split_whitespace().collect::<Vec<_>>().join(" ");
    let page = hit.page.map(|p| format!(" p. {p}")).unwrap_or_default();
    writeln!(
        out,
        "{:>2}. {} #{}{page} [{}] {:.3}",
        hit.rank, hit.doc, hit.passage, hit.lang, hit.score
    )?;
    if !hit.title.is_empty() {
        writeln!(out, "    {}", hit.title)?;
    }
    writeln!(out, "    {marked}")?;
    writeln!(out)
}

/// Reads `qid<TAB>text` lines and answers each one.
fn batch(
    engine: &Engine,
    path: &Path,
    options: &SearchOptions,
    args: &QueryArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let content = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut queries = Vec::new();
    for (n, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (qid, text) = line.split_once('\t').ok_or_else(|| Error::QueriesFile {
            path: path.to_path_buf(),
            line: n + 1,
            reason: "expected `qid<TAB>query text`".into(),
        })?;
        queries.push((qid.trim(), text));
    }
    // TREC runs are per document: fetch more passages, keep each document's best one.
    let mut options = options.clone();
    if args.trec {
        options.k = args.k.saturating_mul(4).max(100);
    }
    for (qid, text) in queries {
        let results = engine.search(text, &options)?;
        if args.trec {
            let mut seen = HashSet::new();
            let docs = results.hits.iter().filter(|h| seen.insert(h.doc.as_str())).take(args.k);
            for (rank, hit) in docs.enumerate() {
                writeln!(
                    out,
                    "{qid} Q0 {} {} {:.6} {}",
                    hit.doc,
                    rank + 1,
                    hit.score,
                    args.run_tag
                )?;
            }
        } else {
            for hit in &results.hits {
                let line = JsonHit::new(Some(qid), hit, &results, args.explain);
                writeln!(out, "{}", serde_json::to_string(&line)?)?;
            }
        }
    }
    Ok(())
}
