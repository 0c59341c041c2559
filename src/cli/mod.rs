//! The binary's glue: one module per subcommand turning arguments into library calls and
//! results into output. Exit codes are defined here.

pub mod args;
mod bench;
mod embed;
mod export;
mod index;
mod info;
mod query;
mod serve;
mod train;
mod watch;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use args::{Cli, Command};

/// Success.
pub const EXIT_OK: u8 = 0;
/// A query found nothing.
pub const EXIT_NO_HITS: u8 = 1;
/// Bad arguments, unreadable input, I/O errors.
pub const EXIT_ERROR: u8 = 2;
/// The index is missing, of another format version, corrupt, locked or of another folder.
pub const EXIT_INDEX: u8 = 3;
/// The folder to index has nothing to index.
pub const EXIT_NOTHING_TO_INDEX: u8 = 4;
/// A failure of mlsearch itself (a bug to report), not of the input or the index.
pub const EXIT_INTERNAL: u8 = 5;
/// `index` was interrupted (Ctrl-C, SIGTERM): what was embedded is committed, the rest
/// is left to the next run (128 + SIGINT, as a shell reports a process ended by Ctrl-C).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Runs the parsed command; returns the exit code on success.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Index(args) => index::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Query(args) => query::run(args),
        Command::Info(args) => info::run(args),
        Command::Export(args) => export::run(args),
        Command::Embed(args) => embed::run(args),
        Command::Train(args) => train::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Model(args) => embed::model(args),
        Command::Serve(args) => serve::serve(args),
        Command::Mcp(args) => serve::mcp(args),
    }
}

/// Sets `stop` at the first Ctrl-C or SIGTERM (and says `message` on stderr); exits the
/// process with 130 at the second. The handlers are in place when this returns (a
/// signal before them would end the process the default way, silently).
pub fn stop_on_signals(stop: Arc<AtomicBool>, message: &'static str) -> anyhow::Result<()> {
    use std::future::Future;
    use std::task::Poll;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (installed, ready) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        runtime.block_on(async {
            // A first poll registers a signal future's handlers; true when it is done already.
            async fn arm(signal: &mut std::pin::Pin<&mut impl Future<Output = ()>>) -> bool {
                std::future::poll_fn(|cx| Poll::Ready(signal.as_mut().poll(cx).is_ready())).await
            }
            let first = mlsearch::server::shutdown_signal();
            tokio::pin!(first);
            let done = arm(&mut first).await;
            let _ = installed.send(());
            if !done {
                first.await;
            }
            // Listening for the second before saying so: it may come at once.
            let second = mlsearch::server::shutdown_signal();
            tokio::pin!(second);
            let done = arm(&mut second).await;
            stop.store(true, Ordering::SeqCst);
            eprintln!("mlsearch: {message}");
            if !done {
                second.await;
            }
        });
        eprintln!("mlsearch: stopped at once; the index is as of its last commit");
        std::process::exit(i32::from(EXIT_INTERRUPTED));
    });
    let _ = ready.recv_timeout(std::time::Duration::from_secs(5));
    Ok(())
}

/// A progress bar on stderr with `template` (indicatif), hidden when stderr is not a
/// terminal.
pub fn progress_bar(len: u64, template: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(len)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(indicatif::ProgressStyle::with_template(template).expect("valid template"));
    bar
}

/// The exit code for an error.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    use mlsearch::Error;
    match err.downcast_ref::<Error>() {
        Some(
            Error::IndexMissing { .. }
            | Error::UnsupportedFormat { .. }
            | Error::Corrupt { .. }
            | Error::OtherRoot { .. }
            | Error::OtherModel { .. }
            | Error::Locked { .. },
        ) => EXIT_INDEX,
        Some(Error::NothingToIndex { .. }) => EXIT_NOTHING_TO_INDEX,
        // Tantivy failing to read its own files is damage to the index.
        Some(Error::Tantivy {
            source:
                tantivy::TantivyError::DataCorruption(_)
                | tantivy::TantivyError::OpenReadError(_)
                | tantivy::TantivyError::OpenDirectoryError(_)
                | tantivy::TantivyError::IncompatibleIndex(_),
            ..
        }) => EXIT_INDEX,
        Some(Error::Internal(_)) => EXIT_INTERNAL,
        _ => EXIT_ERROR,
    }
}

/// Whether the error is a closed stdout (`mlsearch query ... | head`): not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
