//! watchfloor binary: parses the command line and wires sources, app and terminal together.

use std::process::ExitCode;
use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use std::io::Write;

use clap::Parser;
use tokio::sync::mpsc;

use watchfloor::app::triage::ResumeOffer;
use watchfloor::app::{Msg, State, update};
use watchfloor::cli::{Cli, Command, Format};
use watchfloor::source::aws;
use watchfloor::source::demo::{self, DemoWorld};
use watchfloor::source::mfa::{ConsolePrompt, MfaReplies, Prompt};
use watchfloor::triage::Journal;
use watchfloor::triage::executor::{
    Accounts, Backend, Executor, Settings as ExecSettings, TriageEvent,
};
use watchfloor::{snapshot, tui};

/// Exit code for command-line mistakes (2 is taken by "some account x region failed").
const EXIT_USAGE: u8 = 64;

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
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            // `snapshot | head` closing the pipe early is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("watchfloor: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// The triage executor, unless read-only (then no mutating client is ever built).
fn executor(
    cli: &Cli,
    settings: &watchfloor::config::Settings,
    backend: Backend,
    tx: mpsc::UnboundedSender<TriageEvent>,
) -> anyhow::Result<Option<Executor>> {
    if cli.read_only || settings.read_only {
        return Ok(None);
    }
    let audit_path = watchfloor::triage::headless::audit_path(cli)?;
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

/// Unfinished quarantines the journal holds, offered for resume in the console; lines of the
/// journal that could not be read go to the footer notice.
fn offer_resumes(state: &mut State, cli: &Cli) -> anyhow::Result<()> {
    let path = Journal::path_beside(&watchfloor::triage::headless::audit_path(cli)?);
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
async fn console(
    state: State,
    theme: watchfloor::theme::Theme,
    rx: mpsc::Receiver<watchfloor::feed::Report>,
    prompt_rx: mpsc::Receiver<Prompt>,
    triage_rx: mpsc::UnboundedReceiver<TriageEvent>,
    replies: MfaReplies,
    exec: Option<Executor>,
) -> anyhow::Result<ExitCode> {
    use futures::FutureExt;
    let prompts = replies.clone();
    let ended = std::panic::AssertUnwindSafe(tui::run(
        state,
        theme,
        rx,
        prompt_rx,
        triage_rx,
        replies,
        exec.clone(),
    ))
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
        let hurry = watchfloor::triage::headless::hurry_on_signals();
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
        Ok(Ok(_)) => Ok(ExitCode::SUCCESS),
        Ok(Err(e)) => Err(e),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

fn configure_triage(
    state: &mut State,
    cli: &Cli,
    settings: &watchfloor::config::Settings,
    enabled: bool,
) {
    state.triage.enabled = enabled;
    state.triage.dry_run_only = cli.dry_run;
    state.triage.confirm_by_typing_id = settings.confirm_by_typing_id;
    state.triage.case_id = cli.case.clone().filter(|c| !c.trim().is_empty());
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let keymap = cli.load_keymap()?;
    match &cli.command {
        Some(Command::Keys) => {
            let lines = watchfloor::ui::help_lines(&keymap);
            let w = lines.iter().map(|l| l.1.chars().count()).max().unwrap_or(0);
            let dw = lines.iter().map(|l| l.2.chars().count()).max().unwrap_or(0);
            let mut out = std::io::stdout().lock();
            for (name, keys, what) in lines {
                writeln!(out, "{keys:<w$}  {what:<dw$}  {name}")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Triage(args)) => watchfloor::triage::headless::run(&cli, args).await,
        Some(Command::Audit) => watchfloor::triage::headless::print_audit(&cli),
        Some(Command::Snapshot(args)) => {
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
                    watchfloor::aws::creds::preflight_default_chain()
                        .await
                        .map_err(anyhow::Error::msg)?;
                }
                (
                    "aws",
                    aws::poll_once(&config, Arc::new(watchfloor::aws::TerminalPrompt)).await,
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
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
        Some(Command::Demo(args)) => {
            let theme = cli.load_theme()?;
            let world = Arc::new(DemoWorld::new(args.seed, Utc::now()).with_speed(args.speed));
            let (tx, rx) = mpsc::channel(1024);
            let (ttx, trx) = mpsc::unbounded_channel();
            let settings = watchfloor::config::Settings::default();
            let exec = executor(&cli, &settings, Backend::Demo(world.clone()), ttx)?;
            tokio::spawn(demo::spawn(world, tx));
            // The demo asks for no MFA code: its prompt channel stays empty.
            let (_prompt_tx, prompt_rx) = mpsc::channel(1);
            let mut state = State::new(
                format!("demo seed {} ×{}", args.seed, args.speed),
                keymap,
                Utc::now(),
            );
            configure_triage(&mut state, &cli, &settings, exec.is_some());
            if exec.is_some() {
                offer_resumes(&mut state, &cli)?;
            }
            console(
                state,
                theme,
                rx,
                prompt_rx,
                trx,
                MfaReplies::default(),
                exec,
            )
            .await
        }
        None => {
            let theme = cli.load_theme()?;
            let config = cli.load_config()?;
            if config.path.as_os_str().is_empty() {
                watchfloor::aws::creds::preflight_default_chain()
                    .await
                    .map_err(anyhow::Error::msg)?;
            }
            let (tx, rx) = mpsc::channel(4096);
            let (ttx, trx) = mpsc::unbounded_channel();
            // MFA codes are typed into the console, and asked again when a session expires.
            let (prompt_tx, prompt_rx) = mpsc::channel(64);
            let (prompt, replies) = ConsolePrompt::new(prompt_tx);
            let settings = config.settings.clone();
            let registry = Accounts::default();
            let exec = executor(&cli, &settings, Backend::Aws(registry.clone()), ttx)?;
            aws::spawn(config, prompt, tx, exec.as_ref().map(|_| registry));
            let mut state = State::new("aws", keymap, Utc::now());
            configure_triage(&mut state, &cli, &settings, exec.is_some());
            if exec.is_some() {
                offer_resumes(&mut state, &cli)?;
            }
            console(state, theme, rx, prompt_rx, trx, replies, exec).await
        }
    }
}
