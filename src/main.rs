//! The `mlsearch` command line: parses arguments, runs the subcommand, maps errors to
//! exit codes (documented in README.md).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
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
