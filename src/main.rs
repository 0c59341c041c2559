//! The `mlsearch` command line: parses arguments, runs the subcommand, maps errors to
//! exit codes (documented in docs/cli.md).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    if embeds_in_bulk(&args.command) {
        keep_freed_memory();
    }
    match cli::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if cli::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("mlsearch: error: {err:#}");
            ExitCode::from(cli::exit_code(&err))
        }
    }
}

/// Commands that run the encoder over many texts (training too: its forward and backward
/// passes allocate the same large per-layer buffers): the ones [`keep_freed_memory`] is
/// for. Query serving keeps the allocator's defaults (its batches are small, its threads
/// many).
fn embeds_in_bulk(command: &cli::args::Command) -> bool {
    use cli::args::Command;
    matches!(
        command,
        Command::Index(_) | Command::Watch(_) | Command::Embed(_) | Command::Bench(_) | Command::Train(_)
    )
}

/// Makes glibc's malloc keep freed memory for the next batch instead of handing it back to
/// the kernel and faulting it in again (issue 29). The encoder's per-layer buffers for a
/// batch of 8,192 tokens are 12 to 50 MB (f32 attention scores over 200 MB): above glibc's
/// mmap threshold (32 MB at most), so every one was a fresh `mmap`, zeroed page by page
/// on first touch and unmapped when freed, and a thread's arena (64 MB heaps) shrank and
/// grew again around the smaller ones. Measured on XQuAD's 240 English paragraphs: 20% of
/// the CPU time in the kernel, 1.07 M minor faults (int8), 10 M (f32). So: no `mmap` for
/// large blocks, one arena (per-thread arenas cannot hold a block above 64 MB and would
/// `mmap` it anyway), and the heap's free top is kept (up to 2 GB: training at batch 128
/// frees more than 512 MB between steps). Must run before any
/// thread is started (the arena count is fixed by then). Numbers: docs/memory.md.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only sets malloc parameters; called while this is the only thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

/// Other allocators (macOS, musl) keep their own policies.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}
