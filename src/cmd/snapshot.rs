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
    let (mut state, backend) = polled(cli, args.poll.demo(), args.timings, keymap).await?;
    let now = state.now;
    if args.launched_by {
        for r in launchers(&state, backend).await {
            update(&mut state, Msg::Feed(r));
        }
    }
    let snap = snapshot::build(&state.fleet, &state.source, now);
    // Rendered in memory first so a closed pipe is told apart from a formatting error.
    let mut buf = Vec::new();
    match args.format {
        Format::Json => snapshot::write_json(&snap, &mut buf)?,
        Format::Csv => snapshot::write_csv(&snap, &mut buf)?,
    }
    std::io::stdout().lock().write_all(&buf)?;
    Ok(outcome(&state))
}

/// [`Outcome::ScopeFailed`] when some account x region's last poll failed.
pub(super) fn outcome(state: &State) -> Outcome {
    let failed = state
        .fleet
        .scopes
        .iter()
        .filter(|s| !s.retired)
        .any(|s| matches!(s.health(state.now), crate::app::ScopeHealth::Error(..)));
    if failed {
        Outcome::ScopeFailed
    } else {
        Outcome::Success
    }
}

/// One poll of every account x region (AWS, or the simulated fleet at `demo` = (seed, second))
/// applied through the same `update` as the console, with the configured rules (the demo's
/// own with `demo`); `timings` prints the poll's table on stderr.
pub(super) async fn polled(
    cli: &Cli,
    demo: Option<(u64, f64)>,
    timings: bool,
    keymap: Keymap,
) -> anyhow::Result<(State, Backend)> {
    let registry = crate::aws::Accounts::default();
    let (source, updates, backend, rules, ratio) = if let Some((seed, at)) = demo {
        let now = Utc::now().trunc_subsecs(0);
        let world = Arc::new(DemoWorld::new(
            seed,
            now - chrono::TimeDelta::seconds(at as i64),
        ));
        let reports = demo::poll_all(&world, at, now).await;
        let ratio = crate::config::Settings::default().burn_spike_ratio;
        (
            "demo",
            reports,
            Backend::Demo(world),
            crate::rules::demo_rules(),
            ratio,
        )
    } else {
        let config = cli.load_config()?;
        if config.path.as_os_str().is_empty() {
            crate::aws::creds::preflight_default_chain()
                .await
                .map_err(anyhow::Error::msg)?;
        }
        let started = std::time::Instant::now();
        let (reports, times) =
            aws::poll_once_timed(&config, Arc::new(crate::aws::TerminalPrompt), &registry).await;
        if timings {
            eprint!("{}", timings_table(&times, started.elapsed().as_secs_f64()));
        }
        let ratio = config.settings.burn_spike_ratio;
        ("aws", reports, Backend::Aws(registry), config.rules, ratio)
    };
    let now = Utc::now().trunc_subsecs(0);
    let mut state = State::new(source, keymap, now);
    state.fleet.configure(rules, ratio);
    update(&mut state, Msg::Feeds(updates));
    Ok((state, backend))
}

/// The `--timings` table: one line per poll (slowest first within a feed), a line per feed, and
/// the total.
pub fn timings_table(timings: &[crate::feed::driver::Timing], wall_secs: f64) -> String {
    use std::fmt::Write as _;
    let mut t: Vec<&crate::feed::driver::Timing> = timings.iter().collect();
    t.sort_by(|a, b| {
        (a.feed, b.secs)
            .partial_cmp(&(b.feed, a.secs))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut out = format!(
        "{:<10} {:<12}  {:<15} {:>8} {:>8}\n",
        "feed", "account", "region", "requests", "seconds"
    );
    for x in &t {
        let _ = writeln!(
            out,
            "{:<10} {:<12}  {:<15} {:>8} {:>8.3}{}{}",
            x.feed,
            x.scope.account_id,
            x.scope.region,
            x.calls,
            x.secs,
            if x.serves > 0 {
                format!("  (serves {} accounts)", x.serves)
            } else {
                String::new()
            },
            if x.ok { "" } else { "  FAILED" }
        );
    }
    let mut feeds: Vec<&'static str> = t.iter().map(|x| x.feed).collect();
    feeds.dedup();
    out.push_str("per feed:");
    for f in &feeds {
        let of: Vec<_> = t.iter().filter(|x| x.feed == *f).collect();
        let _ = write!(
            out,
            "  {f} {} polls {} requests {:.1} s",
            of.len(),
            of.iter().map(|x| x.calls).sum::<u64>(),
            of.iter().map(|x| x.secs).sum::<f64>()
        );
    }
    let _ = writeln!(
        out,
        "\ntotal: {} requests in {} polls, {wall_secs:.1} s wall time",
        t.iter().map(|x| x.calls).sum::<u64>(),
        t.len()
    );
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::driver::Timing;
    use crate::model::Scope;

    #[test]
    fn the_timings_table_has_each_poll_each_feed_and_the_total() {
        let t = |feed, account: &str, calls, secs, ok, serves| Timing {
            feed,
            scope: Scope::new(account, "us-east-1"),
            calls,
            secs,
            ok,
            serves,
        };
        let table = timings_table(
            &[
                t("ec2", "111111111111", 3, 0.25, true, 0),
                t("ec2", "222222222222", 1, 0.5, false, 0),
                t("findings", "111111111111", 4, 0.125, true, 2),
            ],
            1.5,
        );
        assert_eq!(
            table,
            "feed       account       region          requests  seconds\n\
             ec2        222222222222  us-east-1              1    0.500  FAILED\n\
             ec2        111111111111  us-east-1              3    0.250\n\
             findings   111111111111  us-east-1              4    0.125  (serves 2 accounts)\n\
             per feed:  ec2 2 polls 4 requests 0.8 s  findings 1 polls 4 requests 0.1 s\n\
             total: 8 requests in 3 polls, 1.5 s wall time\n"
        );
    }
}
