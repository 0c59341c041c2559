//! `mlsearch bench`: runs a benchmark of the library's `bench` module and prints its
//! table (Markdown), or JSON with `--json`; progress on stderr when it is a terminal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::ProgressBar;
use mlsearch::bench::lareqa::{self, Dataset};
use mlsearch::bench::{self as benchmarks, metrics, miracl, speed, LareqaOptions};
use mlsearch::engine::EncoderEmbedder;
use mlsearch::search::{Mode, SearchOptions};
use mlsearch::store::Bm25Params;

use super::args::{BenchArgs, BenchCommand, BenchCommon, EvalArgs, LareqaArgs, MiraclArgs, QueryLangArgs, SpeedArgs};
use super::EXIT_OK;

pub fn run(args: BenchArgs) -> anyhow::Result<u8> {
    match args.which {
        BenchCommand::XquadR(a) => lareqa_bench("xquad-r", a),
        BenchCommand::MlqaR(a) => lareqa_bench("mlqa-r", a),
        BenchCommand::Miracl(a) => miracl_bench(a),
        BenchCommand::Speed(a) => speed_bench(a),
        BenchCommand::Eval(a) => eval(a),
        BenchCommand::QueryLang(a) => query_lang_bench(a),
    }
}

fn query_lang_bench(args: QueryLangArgs) -> anyhow::Result<u8> {
    use mlsearch::bench::query_lang;
    use mlsearch::encoder::TextKind;
    use mlsearch::engine::{Engine, EngineOptions};
    use mlsearch::ingest::embed_cache::{embed_cached, CachedEmbedding};

    let texts = query_lang::read_labelled(&args.queries)?;
    let dir = &args.location.index;
    let engine = Engine::open(
        dir,
        &EngineOptions {
            model: args.model.spec(),
            dense: !args.no_vectors,
        },
    )
    .with_context(|| format!("opening index {}", dir.display()))?;
    let vectors = match engine.encoder() {
        Some(model) if !args.no_vectors => {
            let cache = match &args.work {
                Some(work) => work.clone(),
                None => benchmarks::default_work_dir(),
            }
            .join("embeddings");
            let embed = |chunk: &[&str]| Ok(model.encoder.embed(chunk, TextKind::Query)?);
            let how = CachedEmbedding {
                model: &model.identity,
                kind: TextKind::Query,
                dim: model.encoder.dim(),
                chunk: 512,
                embed: &embed,
            };
            let strs: Vec<&str> = texts.iter().map(|t| t.text.as_str()).collect();
            let bar = bar("embedding queries");
            let vectors = embed_cached(&how, &strs, &cache, &mut |d, t| update(&bar, d, t))?;
            bar.finish_and_clear();
            Some(vectors)
        }
        _ => None,
    };
    let mut evidence = match &args.evidence {
        Some(path) => Some(create(path)?),
        None => None,
    };
    let searcher = engine.searcher();
    let report = query_lang::run(
        &searcher,
        &texts,
        vectors.as_deref(),
        evidence.as_mut().map(|w| w as &mut dyn Write),
    )?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
        return Ok(EXIT_OK);
    }
    writeln!(
        out,
        "index languages: {}; query vectors: {}; {:.1} µs per identification\n",
        searcher.languages().keys().cloned().collect::<Vec<_>>().join(" "),
        if report.vectors { "yes" } else { "no" },
        report.micros_per_query
    )?;
    writeln!(out, "| lang | texts | right | unsure | wrong (most often) |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    for (lang, s) in &report.languages {
        let top = s
            .wrong
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(l, n)| format!("{} ({l} {n})", s.wrong.values().sum::<usize>()));
        writeln!(
            out,
            "| {lang} | {} | {:.3} | {:.3} | {} |",
            s.n,
            s.accuracy(),
            s.unsure as f64 / s.n.max(1) as f64,
            top.unwrap_or_else(|| "0".into())
        )?;
    }
    let min = report.languages.values().map(|s| s.accuracy()).fold(1.0, f64::min);
    writeln!(
        out,
        "| **mean** | | **{:.3}** (min {min:.3}) | | |",
        report.mean_accuracy()
    )?;
    Ok(EXIT_OK)
}

fn eval(args: EvalArgs) -> anyhow::Result<u8> {
    let run = metrics::read_run(&args.run)?;
    let qrels = metrics::read_qrels(&args.qrels)?;
    let scores = metrics::evaluate(&run, &qrels, args.depth);
    let mut out = std::io::stdout().lock();
    if args.per_query {
        for (qid, s) in &scores {
            let line = serde_json::json!({"qid": qid, "map": s.ap, "ndcg_cut_10": s.ndcg10, "recall_100": s.recall100});
            writeln!(out, "{line}")?;
        }
    }
    let n = scores.len();
    writeln!(out, "queries\t{n}")?;
    writeln!(out, "map\t{:.4}", metrics::mean(scores.values().map(|s| &s.ap)))?;
    writeln!(
        out,
        "ndcg_cut_10\t{:.4}",
        metrics::mean(scores.values().map(|s| &s.ndcg10))
    )?;
    writeln!(
        out,
        "recall_100\t{:.4}",
        metrics::mean(scores.values().map(|s| &s.recall100))
    )?;
    Ok(EXIT_OK)
}

/// The paper's rows (arXiv 2408.10536, Tables 1 and 2: XQuAD-R, hybrid-trained models).
const PAPER_ROWS: [(&str, f64, f64, f64, f64); 2] = [
    ("XLM-R, hybrid batches (paper)", 0.798, 0.705, 0.593, 287.0),
    ("LaBSE, hybrid batches (paper)", 0.817, 0.767, 0.682, 221.0),
];

fn lareqa_bench(name: &str, args: LareqaArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let common = &args.common;
    let data_dir = benchmarks::data_dir(args.data.as_deref(), name)?;
    let data = Dataset::load(&data_dir).with_context(|| format!("reading {name} from {}", data_dir.display()))?;
    let langs: Vec<String> = args
        .langs
        .as_deref()
        .map(|l| l.split(',').map(|c| c.trim().to_string()).collect())
        .unwrap_or_default();
    let data = data.subset(&langs, args.max_questions);
    let modes = Mode::parse_list(&common.mode)?;
    let work = work_dir(common).join(name);
    let threads = benchmarks::threads(common.threads);
    let candidates = data.candidates_per_language();
    eprintln!(
        "{name}: {} languages, {} candidate sentences ({}), {} questions; edge cases: {:?}",
        data.langs.len(),
        data.candidates.len(),
        candidates
            .iter()
            .map(|(l, n)| format!("{l} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        data.questions.len(),
        data.edge_cases
    );

    let mut data = data;
    let model = match modes.iter().any(|&m| m != Mode::Bm25) {
        true => {
            let (encoder, identity) = super::embed::load_with_identity(&common.model, None)?;
            Some(EncoderEmbedder { encoder, identity })
        }
        false => None,
    };
    let model_name = model.as_ref().map(|m| m.identity.name.clone());
    let options = LareqaOptions {
        modes: modes.clone(),
        model: model.as_ref(),
        work,
        threads,
        bm25: common.bm25.over(Bm25Params::default())?,
        hybrid: common.fusion.options(),
        centring: !args.no_centring,
        detect_query_lang: args.detect_query_lang,
        run_depth: args.run_depth,
    };
    let data_ids: Vec<String> = data.candidates.iter().map(|c| c.id.clone()).collect();
    let mut run_files = Vec::new();
    if let Some(path) = &common.run {
        for &mode in &modes {
            run_files.push((mode, create(&with_suffix(path, mode.name()))?));
        }
    }
    let mut write_error = None;
    let mut sink = |mode: Mode, setting: &str, qid: &str, ranked: &[(usize, f64)]| {
        let Some((_, out)) = run_files.iter_mut().find(|(m, _)| *m == mode) else {
            return;
        };
        for (rank, (c, score)) in ranked.iter().enumerate() {
            let id = &data_ids[*c];
            let tag = mode.name();
            if let Err(e) = writeln!(out, "{setting}:{qid} Q0 {id} {} {score:.6} mlsearch-{tag}", rank + 1) {
                write_error.get_or_insert(e);
            }
        }
    };
    let bar = bar("");
    let mut stage = String::new();
    let outcome = benchmarks::run_lareqa(
        &mut data,
        &options,
        common
            .run
            .is_some()
            .then_some(&mut sink as &mut dyn FnMut(Mode, &str, &str, &[(usize, f64)])),
        &mut |what, d, t| {
            if what != stage {
                stage = what.to_string();
                bar.reset();
                bar.set_message(stage.clone());
            }
            update(&bar, d, t)
        },
    )?;
    bar.finish_and_clear();
    if let Some(e) = write_error {
        return Err(e).context("writing the run file");
    }
    for (_, mut out) in run_files {
        out.flush()?;
    }
    let identified = outcome.identified;
    if let Some(right) = &identified {
        eprintln!(
            "query language identified (not given), share right: {}",
            right
                .iter()
                .map(|(l, r)| format!("{l} {r:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let reports = outcome.reports;
    if let Some(path) = &common.run {
        write_lareqa_qrels(&data, &with_suffix(path, "qrels"))?;
    }

    let seconds = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    if common.json {
        let outcome = benchmarks::LareqaOutcome { reports, identified };
        let json = outcome.summary(name, &data_dir, model_name.as_deref(), &data, seconds);
        writeln!(out, "{json}")?;
        return Ok(EXIT_OK);
    }
    let model = model_name.unwrap_or_else(|| "-".into());
    writeln!(
        out,
        "{name}: {} candidates, {} questions, query language {}, {:.0} s\n",
        data.candidates.len(),
        data.questions.len(),
        if identified.is_some() { "identified" } else { "given" },
        seconds
    )?;
    writeln!(
        out,
        "| model | mode | mono mAP | cross mAP | multi mAP | rank distance | mono R@1 | cross R@1 | multi R@10 |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
    for r in &reports {
        let model = if r.mode == Mode::Bm25 { "-" } else { model.as_str() };
        writeln!(
            out,
            "| {model} | {} | {:.3} | {:.3} | {:.3} | {:.1} | {:.3} | {:.3} | {:.3} |",
            r.mode.name(),
            r.mono_map,
            r.cross_map,
            r.multi_map,
            r.rank_distance,
            r.mono_r1,
            r.cross_r1,
            r.multi_r10
        )?;
    }
    if name == "xquad-r" {
        for (paper, mono, cross, multi, distance) in PAPER_ROWS {
            writeln!(
                out,
                "| {paper} | dense | {mono:.3} | {cross:.3} | {multi:.3} | {distance:.0} | | | |"
            )?;
        }
    }
    for r in &reports {
        writeln!(out, "\nper query language, {}:\n", r.mode.name())?;
        writeln!(
            out,
            "| lang | mono mAP | mono R@1 | cross mAP | cross R@1 | multi mAP | multi R@10 | rank distance |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|")?;
        for m in &r.multi {
            let pairs: Vec<&lareqa::PairScores> = r.pairs.iter().filter(|p| p.query_lang == m.query_lang).collect();
            let mono = pairs.iter().find(|p| p.candidate_lang == m.query_lang);
            let cross: Vec<&&lareqa::PairScores> = pairs.iter().filter(|p| p.candidate_lang != m.query_lang).collect();
            let avg = |f: &dyn Fn(&lareqa::PairScores) -> f64| {
                cross.iter().map(|p| f(p)).sum::<f64>() / cross.len().max(1) as f64
            };
            writeln!(
                out,
                "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} |",
                m.query_lang,
                mono.map(|p| p.map).unwrap_or(0.0),
                mono.map(|p| p.r1).unwrap_or(0.0),
                avg(&|p| p.map),
                avg(&|p| p.r1),
                m.map,
                m.r10,
                m.rank_distance
            )?;
        }
    }
    Ok(EXIT_OK)
}

/// Qrels for the run files: every setting's relevant candidates (grade 1).
fn write_lareqa_qrels(data: &Dataset, path: &Path) -> anyhow::Result<()> {
    let mut qrels = metrics::Qrels::new();
    for q in &data.questions {
        for c in &q.relevant {
            let candidate = &data.candidates[*c];
            for setting in [candidate.lang.as_str(), "any"] {
                qrels
                    .entry(format!("{}-{setting}:{}", q.lang, q.id))
                    .or_default()
                    .insert(candidate.id.clone(), 1);
            }
        }
    }
    let mut out = create(path)?;
    metrics::write_qrels(&mut out, &qrels)?;
    out.flush()?;
    Ok(())
}

fn miracl_bench(args: MiraclArgs) -> anyhow::Result<u8> {
    let common = &args.common;
    let modes = Mode::parse_list(&common.mode)?;
    let only: Option<Vec<String>> = match &args.lang {
        Some(spec) => match mlsearch::search::LangFilter::parse(spec)? {
            mlsearch::search::LangFilter::Only(codes) => Some(codes),
            mlsearch::search::LangFilter::Any => None,
        },
        None => None,
    };
    let (languages, missing) = match &args.corpus {
        Some(corpus) => {
            let [lang] = only.as_deref().unwrap_or_default() else {
                bail!("--corpus takes exactly one --lang");
            };
            let files = miracl::LanguageFiles {
                lang: lang.clone(),
                corpus: corpus.clone(),
                topics: args.topics.clone().expect("clap requires --topics"),
                qrels: args.qrels.clone().expect("clap requires --qrels"),
            };
            (vec![files], Vec::new())
        }
        None => {
            let data = benchmarks::data_dir(args.data.as_deref(), "miracl-dev")?;
            miracl::find_languages(&data, only.as_deref())
                .with_context(|| format!("reading MIRACL folder {}", data.display()))?
        }
    };
    for (lang, why) in &missing {
        eprintln!("mlsearch: skipping {lang}: {why}");
    }
    if languages.is_empty() {
        bail!("no language has topics, qrels and a corpus (see `mlsearch bench miracl --help`)");
    }
    let mut model = None;
    let mut model_name = None;
    if modes.iter().any(|&m| m != Mode::Bm25) {
        let (encoder, identity) = super::embed::load_with_identity(&common.model, None)?;
        model_name = Some(identity.name.clone());
        model = Some(EncoderEmbedder { encoder, identity });
    }
    let mut options = miracl::MiraclOptions {
        modes: modes.clone(),
        search: SearchOptions {
            hybrid: common.fusion.options(),
            bm25: common.bm25.over(Bm25Params::default())?,
            ..Default::default()
        },
        model: Some(&mut model),
        threads: common.threads,
    };
    let work = work_dir(common).join("miracl");
    let mut scores = Vec::new();
    for files in &languages {
        let bar = bar(&files.lang);
        let results = miracl::run_language(files, &work, &mut options, &mut |what, d, t| {
            bar.set_message(format!("{} {what}", files.lang));
            update(&bar, d, t)
        })
        .with_context(|| format!("MIRACL {}", files.lang))?;
        bar.finish_and_clear();
        for (s, run) in results {
            if let Some(path) = &common.run {
                let path = with_suffix(path, &format!("{}.{}", s.lang, s.mode.name()));
                let mut out = create(&path)?;
                metrics::write_run(&mut out, &run, 100, &format!("mlsearch-{}", s.mode.name()))?;
                out.flush()?;
            }
            scores.push(s);
        }
    }

    let mut out = std::io::stdout().lock();
    if common.json {
        writeln!(
            out,
            "{}",
            serde_json::json!({"benchmark": "miracl", "model": model_name, "languages": scores})
        )?;
        return Ok(EXIT_OK);
    }
    writeln!(
        out,
        "| lang | mode | topics | judged | nDCG@10 | R@100 | passages | index s | query s |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
    for s in &scores {
        writeln!(
            out,
            "| {} | {} | {} | {} | {:.4} | {:.4} | {} | {:.1} | {:.1} |",
            s.lang,
            s.mode.name(),
            s.topics,
            s.judged,
            s.ndcg10,
            s.recall100,
            s.passages,
            s.index_seconds,
            s.query_seconds
        )?;
    }
    for mode in modes {
        let of_mode: Vec<&miracl::LanguageScores> = scores.iter().filter(|s| s.mode == mode).collect();
        let n = of_mode.len() as f64;
        let langs: Vec<&str> = of_mode.iter().map(|s| s.lang.as_str()).collect();
        writeln!(
            out,
            "| mean of {} ({}) | {} | | | {:.4} | {:.4} | | | |",
            of_mode.len(),
            langs.join(" "),
            mode.name(),
            of_mode.iter().map(|s| s.ndcg10).sum::<f64>() / n,
            of_mode.iter().map(|s| s.recall100).sum::<f64>() / n
        )?;
    }
    Ok(EXIT_OK)
}

fn speed_bench(args: SpeedArgs) -> anyhow::Result<u8> {
    let model = if args.no_vectors {
        None
    } else {
        let recorded = super::embed::recorded_precision(&args.location.index);
        let (encoder, identity) = super::embed::load_with_identity(&args.model, recorded)?;
        Some(EncoderEmbedder { encoder, identity })
    };
    let report = speed::measure(
        &args.location.index,
        args.corpus.as_deref(),
        model,
        args.queries as usize,
        benchmarks::threads(args.threads),
    )
    .with_context(|| format!("measuring on index {}", args.location.index.display()))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
        return Ok(EXIT_OK);
    }
    writeln!(out, "index: {} passages\n", report.passages)?;
    writeln!(out, "| what | count | seconds | per second | p50 ms | p99 ms |")?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    let ms = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_default();
    for row in &report.rows {
        writeln!(
            out,
            "| {} | {} | {:.2} | {:.1} | {} | {} |",
            row.what,
            row.count,
            row.seconds,
            row.per_second,
            ms(row.p50_ms),
            ms(row.p99_ms)
        )?;
    }
    if !report.ann.is_empty() {
        writeln!(
            out,
            "\n| HNSW search | depth | expansion | recall@10 vs exact | ms per search |"
        )?;
        writeln!(out, "|---|---|---|---|---|")?;
        for row in &report.ann {
            writeln!(
                out,
                "| --lang {} | {} | {} | {:.4} | {:.3} |",
                row.lang,
                row.depth,
                row.expansion.map_or("exact scan".to_string(), |e| e.to_string()),
                row.recall_at_10,
                row.mean_ms
            )?;
        }
    }
    if let (Some(rss), Some(peak)) = (report.rss_mib, report.peak_rss_mib) {
        writeln!(out, "memory of this process: {rss:.0} MiB resident, {peak:.0} MiB peak")?;
    }
    Ok(EXIT_OK)
}

fn work_dir(common: &BenchCommon) -> PathBuf {
    match &common.work {
        Some(dir) => dir.clone(),
        None => benchmarks::default_work_dir(),
    }
}

/// `FILE` + `.suffix`.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{suffix}"));
    PathBuf::from(name)
}

fn create(path: &Path) -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(std::io::BufWriter::new(file))
}

fn bar(message: &str) -> ProgressBar {
    let bar = super::progress_bar(
        0,
        "[{elapsed_precise}] {msg} {wide_bar} {pos}/{len} {per_sec} ETA {eta}",
    );
    bar.set_message(message.to_string());
    bar
}

fn update(bar: &ProgressBar, done: usize, total: usize) {
    bar.set_length(total as u64);
    bar.set_position(done as u64);
}
