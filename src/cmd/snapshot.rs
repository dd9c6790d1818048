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
use crate::source::lookups::{Backend, Lookup, Lookups};

/// Polls every account x region once and prints the fleet; [`Outcome::ScopeFailed`] when some
/// account x region failed (everything else is printed all the same).
pub async fn run(cli: &Cli, args: &SnapshotArgs, keymap: Keymap) -> anyhow::Result<Outcome> {
    let registry = crate::aws::Accounts::default();
    let (source, updates, backend) = if args.demo {
        let now = Utc::now().trunc_subsecs(0);
        let world = Arc::new(DemoWorld::new(
            args.seed,
            now - chrono::TimeDelta::seconds(args.at as i64),
        ));
        let reports = demo::poll_all(&world, args.at, now).await;
        ("demo", reports, Backend::Demo(world))
    } else {
        let config = cli.load_config()?;
        if config.path.as_os_str().is_empty() {
            crate::aws::creds::preflight_default_chain()
                .await
                .map_err(anyhow::Error::msg)?;
        }
        let reports =
            aws::poll_once(&config, Arc::new(crate::aws::TerminalPrompt), &registry).await;
        ("aws", reports, Backend::Aws(registry))
    };
    let now = Utc::now().trunc_subsecs(0);
    let mut state = State::new(source, keymap, now);
    for u in updates {
        update(&mut state, Msg::Feed(u));
    }
    if args.launched_by {
        for r in launchers(&state, backend).await {
            update(&mut state, Msg::Feed(r));
        }
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

/// Who launched each instance with a finding or launched in the last 24 h: all scopes at once,
/// each paced to CloudTrail's 2 lookups a second, progress on stderr when there are many.
async fn launchers(state: &State, backend: Backend) -> Vec<crate::feed::Report> {
    use crate::model::flags::Flag;
    use futures::StreamExt;
    // Answers come back directly; the channel is only the console's way of receiving them.
    let (tx, _rx) = tokio::sync::mpsc::channel(1);
    let lookups = Lookups::new(backend, tx);
    let mut rows: Vec<&crate::app::Row> = state
        .fleet
        .rows
        .iter()
        .filter(|r| r.instance().is_some())
        .filter(|r| r.finding_count > 0 || r.flags.has(Flag::NewLaunch))
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.risk.score));
    let jobs: Vec<Lookup> = rows
        .into_iter()
        .map(|r| Lookup {
            scope: state.fleet.scopes[r.scope].scope.clone(),
            instance_id: r.id().to_string(),
            launched: r.subject.launched(),
        })
        .collect();
    let say = |s: String| {
        let _ = writeln!(std::io::stderr(), "watchfloor: {s}");
    };
    // An attacker can launch instances by the thousand: the worst-ranked are looked up first,
    // and the run stays bounded.
    let mut jobs = jobs;
    if jobs.len() > MAX_LOOKUPS {
        say(format!(
            "{} instances qualify for --launched-by: looking up the first {MAX_LOOKUPS} by risk; the rest show launched_by_status null",
            jobs.len()
        ));
        jobs.truncate(MAX_LOOKUPS);
    }
    let total = jobs.len();
    if total > PROGRESS_FROM {
        say(format!(
            "looking up who launched {total} instances (CloudTrail: 2 lookups a second per account and region)"
        ));
    }
    let mut done = 0;
    let mut out = Vec::with_capacity(total);
    let mut answers = futures::stream::iter(jobs.into_iter().map(|job| {
        let lookups = lookups.clone();
        async move {
            let (result, calls) = lookups.run(&job).await;
            crate::feed::Report::LaunchedBy {
                scope: job.scope,
                instance_id: job.instance_id,
                result,
                calls,
            }
        }
    }))
    .buffer_unordered(LOOKUPS_AT_ONCE);
    while let Some(r) = answers.next().await {
        done += 1;
        if total > PROGRESS_FROM && (done % PROGRESS_EVERY == 0 || done == total) {
            say(format!("who launched: {done}/{total} looked up"));
        }
        out.push(r);
    }
    out
}

/// Most lookups one `snapshot --launched-by` makes.
const MAX_LOOKUPS: usize = 500;
/// Lookups in flight at once (each account x region is paced on its own).
const LOOKUPS_AT_ONCE: usize = 32;
/// Progress is shown for more lookups than this, every this many.
const PROGRESS_FROM: usize = 10;
const PROGRESS_EVERY: usize = 10;
