//! `watchfloor demo`: the console on the simulated fleet, with its triage executor acting on
//! the simulated world.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::mpsc;

use super::Outcome;
use super::console::{configure_triage, executor, offer_resumes, session};
use crate::app::State;
use crate::cli::{Cli, DemoArgs};
use crate::keymap::Keymap;
use crate::source::demo::{self, DemoWorld};
use crate::source::lookups::{Backend as LookupBackend, Lookups};
use crate::source::mfa::MfaReplies;
use crate::triage::executor::Backend;

/// Plays the campaign of `--seed` at `--speed` in the console (or, with `wall`, on the
/// war-room wall, with no triage executor) until the operator quits.
pub async fn run(
    cli: &Cli,
    args: &DemoArgs,
    keymap: Keymap,
    wall: bool,
) -> anyhow::Result<Outcome> {
    let theme = if wall {
        cli.load_theme_or("high-contrast")?
    } else {
        cli.load_theme()?
    };
    let world = Arc::new(
        DemoWorld::sized(
            args.seed,
            Utc::now(),
            args.accounts as usize,
            args.instances as usize,
        )
        .with_speed(args.speed),
    );
    let (tx, rx) = mpsc::channel(1024);
    let (ttx, trx) = mpsc::unbounded_channel();
    let settings = crate::config::Settings::default();
    let exec = if wall {
        None
    } else {
        executor(cli, &settings, Backend::Demo(world.clone()), ttx)?
    };
    let lookups = Lookups::new(LookupBackend::Demo(world.clone()), tx.clone());
    tokio::spawn(demo::spawn(world, tx));
    // The demo asks for no MFA code: its prompt channel stays empty.
    let (_prompt_tx, prompt_rx) = mpsc::channel(1);
    let mut state = State::new(
        format!("demo seed {} ×{}", args.seed, args.speed),
        keymap,
        Utc::now(),
    );
    state.log_file = cli.log_file.as_ref().map(|p| p.display().to_string());
    state.wall = wall;
    // The simulated fleet has no config: it runs the demo's rules.
    state
        .fleet
        .configure(crate::rules::demo_rules(), settings.burn_spike_ratio);
    configure_triage(&mut state, cli, &settings, exec.is_some());
    if exec.is_some() {
        offer_resumes(&mut state, cli)?;
    }
    // The simulated fleet has no config: alerts ring the bell and set the title.
    let (_alert_tx, alert_results) = mpsc::unbounded_channel();
    let wiring = crate::tui::Wiring {
        feeds: rx,
        prompts: prompt_rx,
        triage: trx,
        replies: MfaReplies::default(),
        exec,
        lookups,
        alerts: crate::config::AlertSettings::default(),
        notifier: None,
        alert_results,
        mouse: cli.mouse,
    };
    session(state, theme, wiring).await
}
