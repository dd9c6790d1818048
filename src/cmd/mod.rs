//! The subcommands, one file each: the AWS console and the console session it shares with the
//! demo (`console`), `demo`, `snapshot`, `keys`. `triage` and `audit` run headless in
//! [`crate::triage::headless`]. `main.rs` only parses the command line, builds the runtime and
//! maps the [`Outcome`] (or the error) to the exit code.

pub mod console;
pub mod demo;
pub mod keys;
pub mod rules;
pub mod snapshot;

use crate::cli::{Cli, Command};
use crate::triage::headless;

/// How a subcommand ended (an error is returned instead, for `main.rs` to print).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything worked.
    Success,
    /// It failed, was refused or was not confirmed, and already said why on stderr.
    Failed,
    /// `snapshot` printed everything but some account x region failed.
    ScopeFailed,
    /// Headless `triage` stopped because a DryRun check was denied.
    Denied,
}

/// Runs what the command line asks for: a subcommand, or the AWS console when there is none.
pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    if let Some(p) = &cli.log_file {
        crate::diag::init(p)?;
    }
    match &cli.command {
        Some(Command::Completions { shell }) => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(*shell, &mut cmd, "watchfloor", &mut std::io::stdout());
            Ok(Outcome::Success)
        }
        Some(Command::Man) => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(Outcome::Success)
        }
        _ => with_keymap(cli).await,
    }
}

/// The subcommands that read the keymap (a broken keymap file does not stop `completions` or
/// `man`).
async fn with_keymap(cli: Cli) -> anyhow::Result<Outcome> {
    let keymap = cli.load_keymap()?;
    match &cli.command {
        Some(Command::Keys) => keys::run(&keymap),
        Some(Command::Triage(args)) => headless::run(&cli, args).await,
        Some(Command::Audit(args)) => headless::print_audit(&cli, args),
        Some(Command::Snapshot(args)) => snapshot::run(&cli, args, keymap).await,
        Some(Command::Rules(args)) => rules::run(&cli, args, keymap).await,
        Some(Command::Demo(args)) => demo::run(&cli, args, keymap, false).await,
        Some(Command::Wall(args)) if args.demo => {
            let demo = crate::cli::DemoArgs {
                seed: args.seed,
                speed: args.speed,
                accounts: args.accounts,
                instances: args.instances,
            };
            demo::run(&cli, &demo, keymap, true).await
        }
        Some(Command::Wall(_)) => console::run(&cli, keymap, true).await,
        Some(Command::Completions { .. } | Command::Man) => unreachable!("handled by `run`"),
        None => console::run(&cli, keymap, false).await,
    }
}
