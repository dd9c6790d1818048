//! The AWS console (`watchfloor` with no subcommand), and what every console shares with the
//! demo: building the triage executor, offering unfinished quarantines for resume, and running
//! the event loop so that every running action finishes however the console ends.

use std::io::Write;

use chrono::Utc;
use tokio::sync::mpsc;

use super::Outcome;
use crate::app::State;
use crate::app::triage::ResumeOffer;
use crate::aws::Accounts;
use crate::cli::Cli;
use crate::config::Settings;
use crate::keymap::Keymap;
use crate::source::aws;
use crate::source::lookups::{Backend as LookupBackend, Lookups};
use crate::source::mfa::ConsolePrompt;
use crate::theme::Theme;
use crate::triage::Journal;
use crate::triage::executor::{Backend, Executor, Settings as ExecSettings, TriageEvent};
use crate::triage::headless;
use crate::tui;

/// Opens the console on the accounts of `--config` (or the default credential chain); with
/// `wall`, the war-room wall, for which no triage executor is built.
pub async fn run(cli: &Cli, keymap: Keymap, wall: bool) -> anyhow::Result<Outcome> {
    let theme = if wall {
        cli.load_theme_or("high-contrast")?
    } else {
        cli.load_theme()?
    };
    let config = cli.load_config()?;
    if config.path.as_os_str().is_empty() {
        crate::aws::creds::preflight_default_chain()
            .await
            .map_err(anyhow::Error::msg)?;
    }
    let (tx, rx) = mpsc::channel(4096);
    let (ttx, trx) = mpsc::unbounded_channel();
    // MFA codes are typed into the console, and asked again when a session expires.
    let (prompt_tx, prompt_rx) = mpsc::channel(64);
    let (prompt, replies) = ConsolePrompt::new(prompt_tx);
    let settings = config.settings.clone();
    let alerts = config.alerts.clone();
    let rules = config.rules.clone();
    // Connected accounts: triage (when enabled) and lookups find their credentials here.
    let registry = Accounts::default();
    let exec = if wall {
        None
    } else {
        executor(cli, &settings, Backend::Aws(registry.clone()), ttx)?
    };
    let lookups = Lookups::new(LookupBackend::Aws(registry.clone()), tx.clone());
    aws::spawn(config, prompt, tx, registry);
    let mut state = State::new("aws", keymap, Utc::now());
    state.fleet.configure(rules, settings.burn_spike_ratio);
    state.log_file = cli.log_file.as_ref().map(|p| p.display().to_string());
    state.wall = wall;
    configure_triage(&mut state, cli, &settings, exec.is_some());
    if exec.is_some() {
        offer_resumes(&mut state, cli)?;
    }
    let (alert_tx, alert_results) = mpsc::unbounded_channel();
    let wiring = tui::Wiring {
        feeds: rx,
        prompts: prompt_rx,
        triage: trx,
        replies,
        exec,
        lookups,
        notifier: crate::notify::spawn(&alerts, alert_tx),
        alerts,
        alert_results,
        mouse: cli.mouse,
    };
    session(state, theme, wiring).await
}

/// The triage executor, unless read-only (then no mutating client is ever built).
pub(super) fn executor(
    cli: &Cli,
    settings: &Settings,
    backend: Backend,
    tx: mpsc::UnboundedSender<TriageEvent>,
) -> anyhow::Result<Option<Executor>> {
    if cli.read_only || settings.read_only {
        return Ok(None);
    }
    let audit_path = headless::audit_path(cli)?;
    Ok(Some(Executor::new(
        backend,
        ExecSettings {
            audit_path,
            quarantine_wait: std::time::Duration::from_secs(u64::from(
                settings.quarantine_wait_secs,
            )),
            examiner_cidr: settings.examiner_cidr.clone(),
            dry_run: cli.dry_run,
        },
        tx,
    )))
}

/// The console's triage settings: enabled only with an executor, `--dry-run`, confirming by
/// typing the instance id, the session's case id.
pub(super) fn configure_triage(state: &mut State, cli: &Cli, settings: &Settings, enabled: bool) {
    state.triage.enabled = enabled;
    state.triage.dry_run_only = cli.dry_run;
    state.triage.confirm_by_typing_id = settings.confirm_by_typing_id;
    state.triage.case_id = cli.case.clone().filter(|c| !c.trim().is_empty());
}

/// Unfinished quarantines the journal holds, offered for resume in the console; lines of the
/// journal that could not be read go to the footer notice.
pub(super) fn offer_resumes(state: &mut State, cli: &Cli) -> anyhow::Result<()> {
    let path = Journal::path_beside(&headless::audit_path(cli)?);
    if !path.exists() {
        return Ok(());
    }
    let (journal, bad) = Journal::open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open the journal {}: {e}", path.display()))?;
    state.triage.resume = journal
        .unfinished()
        .into_iter()
        .map(|(key, q)| ResumeOffer {
            key,
            case: q.case,
            started: q.started,
            not_before: None,
        })
        .collect();
    if let Some(first) = bad.first() {
        state.triage.notice = Some(format!(
            "journal: {} unreadable line(s) skipped ({first})",
            bad.len()
        ));
    } else if !state.triage.resume.is_empty() {
        state.triage.notice = Some(format!(
            "{} unfinished quarantine(s) in the journal: offered as their accounts connect (or `watchfloor triage resume`)",
            state.triage.resume.len()
        ));
    }
    Ok(())
}

/// A line on stderr that never fails (the terminal may be gone).
fn say(s: &str) {
    let _ = writeln!(std::io::stderr(), "watchfloor: {s}");
}

/// Runs the console, then, however it ended (quit, closed terminal, signal, error, panic),
/// lets every running triage action finish before the process exits.
pub(super) async fn session(
    state: State,
    theme: Theme,
    wiring: tui::Wiring,
) -> anyhow::Result<Outcome> {
    use futures::FutureExt;
    let prompts = wiring.replies.clone();
    let exec = wiring.exec.clone();
    let ended = std::panic::AssertUnwindSafe(tui::run(state, theme, wiring))
        .catch_unwind()
        .await;
    // Nobody can type an MFA code any more: a prompt waiting for one fails instead of hanging.
    prompts.close();
    if let Some(x) = exec.filter(|x| x.active() > 0) {
        if !matches!(ended, Ok(Ok(tui::Exit::Quit))) {
            x.hurry();
        }
        // The terminal is cooked again: ctrl+c, ctrl+\, SIGTERM or a hangup now only cut the
        // wait short; they never kill a run half-way.
        let x2 = x.clone();
        let hurry = headless::hurry_on_signals();
        let on_signal = tokio::spawn(async move {
            if let Ok(mut h) = hurry
                && h.wait_for(|v| *v).await.is_ok()
            {
                x2.hurry();
            }
        });
        say(&format!(
            "the console closed with {} triage action(s) running: finishing them now (outcomes go to the audit log)",
            x.active()
        ));
        x.drain().await;
        on_signal.abort();
        say("running actions finished");
    }
    match ended {
        Ok(Ok(_)) => Ok(Outcome::Success),
        Ok(Err(e)) => Err(e),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
