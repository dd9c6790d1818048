//! watchfloor binary: parses the command line and wires sources, app and terminal together.

use std::process::ExitCode;
use std::sync::Arc;

use chrono::Utc;
use clap::Parser;
use tokio::sync::mpsc;

use watchfloor::app::{Msg, State, update};
use watchfloor::cli::{Cli, Command, Format};
use watchfloor::source::demo::DemoWorld;
use watchfloor::{snapshot, tui};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("watchfloor: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("watchfloor: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let keymap = cli.load_keymap()?;
    match &cli.command {
        Some(Command::Keys) => {
            for (name, keys, what) in watchfloor::ui::help_lines(&keymap) {
                println!("{keys:<20} {what:<30} {name}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Snapshot(args)) => {
            if !args.demo {
                anyhow::bail!(
                    "the AWS source is not available in this build yet; use `watchfloor snapshot --demo`"
                );
            }
            let now = Utc::now();
            let world = DemoWorld::new(args.seed, now - chrono::TimeDelta::seconds(args.at as i64));
            let mut state = State::new("demo", keymap, now);
            for u in world.poll_all(args.at, now) {
                update(&mut state, Msg::Data(u));
            }
            let snap = snapshot::build(&state.fleet, "demo", now);
            let mut out = std::io::stdout().lock();
            match args.format {
                Format::Json => snapshot::write_json(&snap, &mut out)?,
                Format::Csv => snapshot::write_csv(&snap, &mut out)?,
            }
            let failed = snap
                .accounts
                .iter()
                .flat_map(|a| &a.regions)
                .any(|r| r.status == "error");
            Ok(if failed {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
        Some(Command::Demo(args)) => {
            let theme = cli.load_theme()?;
            let world = Arc::new(DemoWorld::new(args.seed, Utc::now()).with_speed(args.speed));
            let (tx, rx) = mpsc::channel(1024);
            watchfloor::source::demo::spawn(world, tx);
            let state = State::new(
                format!("demo seed {} ×{}", args.seed, args.speed),
                keymap,
                Utc::now(),
            );
            tui::run(state, theme, rx).await?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let _ = cli.load_theme()?;
            anyhow::bail!(
                "the AWS source is not available in this build yet; run `watchfloor demo` for the simulated fleet"
            )
        }
    }
}
