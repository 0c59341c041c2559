//! `mlsearch watch DIR`: index, then keep the index current; a summary per commit on
//! stdout, pauses and warnings on stderr. The first Ctrl-C (or SIGTERM) stops after the
//! run in progress; a second one stops at once (commits are atomic: the index stays
//! good, and an interrupted embedding resumes from its cache).

use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mlsearch::ingest::{watch, WatchEvent, WatchOptions};

use super::args::WatchArgs;
use super::{index, EXIT_OK};

pub fn run(args: WatchArgs) -> anyhow::Result<u8> {
    let embedder = index::embedder(&args.index)?;
    let options = index::options(&args.index, embedder.as_ref());
    let timing = WatchOptions {
        debounce: Duration::from_millis(args.debounce_ms),
        max_delay: Duration::from_millis(args.max_delay_ms.max(args.debounce_ms)),
    };
    let stop = Arc::new(AtomicBool::new(false));
    super::stop_on_signals(
        stop.clone(),
        "stopping after the run in progress (Ctrl-C again to stop now)",
    )?;
    eprintln!("mlsearch: watching {} (Ctrl-C to stop)", args.index.dir.display());
    let mut warnings = 0;
    watch(
        &args.index.dir,
        &args.index.location.index,
        &options,
        &timing,
        &stop,
        &mut |event| match event {
            WatchEvent::Indexed { report, latency } => {
                let after = if latency.is_zero() {
                    String::new()
                } else {
                    format!("; searchable {:.2} s after the first change", latency.as_secs_f64())
                };
                let mut out = std::io::stdout().lock();
                let _ = index::write_summary(&mut out, report, warnings, &after);
                let _ = out.flush();
                warnings = 0;
            }
            WatchEvent::Waiting(message) => eprintln!("mlsearch: {message}"),
            WatchEvent::Resumed => eprintln!("mlsearch: watching again"),
            WatchEvent::Warning(message) => {
                warnings += 1;
                eprintln!("mlsearch: warning: {message}");
            }
        },
    )
    .with_context(|| format!("watching {}", args.index.dir.display()))?;
    eprintln!("mlsearch: stopped");
    Ok(EXIT_OK)
}
