//! `mlsearch watch DIR`: index, then keep the index current; a summary per commit on
//! stdout, pauses and warnings on stderr. The first Ctrl-C (or SIGTERM) stops after the
//! run in progress; a second one stops at once (commits are atomic: the index stays
//! good, and an interrupted embedding resumes from its cache).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
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
    stop_on_signals(stop.clone())?;
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

/// Sets `stop` at the first Ctrl-C / SIGTERM; exits at the second.
fn stop_on_signals(stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::spawn(move || {
        runtime.block_on(mlsearch::server::shutdown_signal());
        stop.store(true, Ordering::Relaxed);
        eprintln!("mlsearch: stopping after the run in progress (Ctrl-C again to stop now)");
        runtime.block_on(mlsearch::server::shutdown_signal());
        std::process::exit(130);
    });
    Ok(())
}
