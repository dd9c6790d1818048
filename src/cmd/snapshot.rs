//! `watchfloor snapshot`: polls once (AWS, or the simulated fleet with `--demo`), applies the
//! reports through the same `update` as the console, prints the fleet as JSON or CSV.

use std::io::Write;
use std::sync::Arc;

use chrono::{SubsecRound, Utc};

use super::Outcome;
use crate::app::{Msg, State, update};
use crate::cli::{Cli, Format, SnapshotArgs};
use crate::keymap::Keymap;
use crate::snapshot;
use crate::source::aws;
use crate::source::demo::{self, DemoWorld};

/// Polls every account x region once and prints the fleet; [`Outcome::ScopeFailed`] when some
/// account x region failed (everything else is printed all the same).
pub async fn run(cli: &Cli, args: &SnapshotArgs, keymap: Keymap) -> anyhow::Result<Outcome> {
    let (source, updates) = if args.demo {
        let now = Utc::now().trunc_subsecs(0);
        let world = Arc::new(DemoWorld::new(
            args.seed,
            now - chrono::TimeDelta::seconds(args.at as i64),
        ));
        ("demo", demo::poll_all(&world, args.at, now).await)
    } else {
        let config = cli.load_config()?;
        if config.path.as_os_str().is_empty() {
            crate::aws::creds::preflight_default_chain()
                .await
                .map_err(anyhow::Error::msg)?;
        }
        (
            "aws",
            aws::poll_once(&config, Arc::new(crate::aws::TerminalPrompt)).await,
        )
    };
    let now = Utc::now().trunc_subsecs(0);
    let mut state = State::new(source, keymap, now);
    for u in updates {
        update(&mut state, Msg::Feed(u));
    }
    let snap = snapshot::build(&state.fleet, source, now);
    // Rendered in memory first so a closed pipe is told apart from a formatting error.
    let mut buf = Vec::new();
    match args.format {
        Format::Json => snapshot::write_json(&snap, &mut buf)?,
        Format::Csv => snapshot::write_csv(&snap, &mut buf)?,
    }
    std::io::stdout().lock().write_all(&buf)?;
    let failed = snap
        .accounts
        .iter()
        .flat_map(|a| &a.regions)
        .any(|r| r.status == "error");
    Ok(if failed {
        Outcome::ScopeFailed
    } else {
        Outcome::Success
    })
}
