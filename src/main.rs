//! watchfloor binary: parses the command line, builds the async runtime, runs the subcommand
//! ([`watchfloor::cmd`]) and maps how it ended to the exit code.

use std::process::ExitCode;

use clap::Parser;

use watchfloor::cli::Cli;
use watchfloor::cmd::{self, Outcome};

/// Exit code for command-line mistakes (2 is taken by "some account x region failed").
const EXIT_USAGE: u8 = 64;
/// Exit code of a failed, refused or unconfirmed command, and of any error.
const EXIT_FAILED: u8 = 1;
/// Exit code of a `snapshot` that printed everything but some account x region failed.
const EXIT_SCOPE_FAILED: u8 = 2;
/// Exit code of a headless `triage` stopped by a denied DryRun check.
const EXIT_DENIED: u8 = 3;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("watchfloor: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    match runtime.block_on(cmd::run(cli)) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(EXIT_FAILED),
        Ok(Outcome::ScopeFailed) => ExitCode::from(EXIT_SCOPE_FAILED),
        Ok(Outcome::Denied) => ExitCode::from(EXIT_DENIED),
        Err(e) => {
            // `snapshot | head` closing the pipe early is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("watchfloor: {e:#}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
