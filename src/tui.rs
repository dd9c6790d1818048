//! Terminal session and event loop: raw mode guard, panic hook, select over keys, updates, tick.

use std::io::{self, IsTerminal, Stdout, Write};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use crossterm::event::{Event, EventStream};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use tokio::sync::mpsc;

use crate::app::{Command, Msg, State, update};
use crate::keymap::Key;
use crate::source::Update;
use crate::source::mfa::MfaReplies;
use crate::theme::Theme;
use crate::triage::executor::Job;

/// Most queued updates applied before a redraw (bursts coalesce into one frame).
const MAX_BATCH: usize = 4096;

/// Restores the terminal when dropped (normal exit, error, or unwinding panic).
struct TerminalGuard;

fn restore() {
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    let _ = execute!(
        out,
        EndSynchronizedUpdate,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = out.flush();
}

impl TerminalGuard {
    fn enter() -> Result<(Self, Terminal<CrosstermBackend<Stdout>>)> {
        if !io::stdout().is_terminal() {
            bail!("watchfloor's console needs a terminal; for scripts use `watchfloor snapshot`");
        }
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            prev(info);
        }));
        enable_raw_mode().context("cannot switch the terminal to raw mode")?;
        let guard = TerminalGuard;
        execute!(io::stdout(), EnterAlternateScreen, cursor::Hide)
            .context("cannot enter the alternate screen")?;
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        Ok((guard, terminal))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Runs the console until the user quits (or SIGTERM/SIGHUP), always restoring the terminal.
/// `replies` answers the MFA prompts the AWS source raises; `jobs` reaches the triage executor
/// (None in read-only mode, where no executor exists).
pub async fn run(
    mut state: State,
    theme: Theme,
    mut rx: mpsc::Receiver<Update>,
    replies: MfaReplies,
    jobs: Option<mpsc::Sender<Job>>,
) -> Result<()> {
    let (_guard, mut terminal) = TerminalGuard::enter()?;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut term = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hup = signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut feeds_open = true;
    // Test hook (used by tests/e2e_tmux.rs): panic after the first frame to prove the terminal
    // is restored on panic.
    let panic_for_test = std::env::var_os("WATCHFLOOR_TEST_PANIC").is_some();
    let mut quit_pending = false;
    loop {
        if state.dirty {
            let size = terminal.size()?;
            let area = Rect::new(0, 0, size.width, size.height);
            let page = crate::ui::table_page(&state, area);
            update(&mut state, Msg::Resize { page });
            execute!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
            terminal.draw(|f| crate::ui::render(f, &state, &theme))?;
            execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
            state.dirty = false;
            if panic_for_test {
                panic!("WATCHFLOOR_TEST_PANIC is set: panicking after the first frame");
            }
        }
        let cmds = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => match Key::from_event(&k) {
                    Some(key) => update(&mut state, Msg::Key(key)),
                    None => Vec::new(),
                },
                Some(Ok(Event::Resize(..))) => { state.dirty = true; Vec::new() }
                Some(Ok(_)) => Vec::new(),
                Some(Err(e)) => return Err(e).context("reading terminal input"),
                None => vec![Command::Quit],
            },
            u = rx.recv(), if feeds_open => match u {
                Some(u) => {
                    let mut cmds = update(&mut state, Msg::Data(u));
                    // Coalesce a burst into one frame.
                    for _ in 0..MAX_BATCH {
                        match rx.try_recv() {
                            Ok(u) => cmds.extend(update(&mut state, Msg::Data(u))),
                            Err(_) => break,
                        }
                    }
                    cmds
                }
                None => { feeds_open = false; Vec::new() }
            },
            _ = tick.tick() => update(&mut state, Msg::Tick(Utc::now())),
            _ = term.recv() => vec![Command::Quit],
            _ = hup.recv() => vec![Command::Quit],
        };
        // Quitting while an action runs would cancel it mid-way (a quarantine could stop on the
        // allow-all group): the first quit waits for running actions, a second one forces it.
        if quit_pending && state.triage.jobs.is_empty() {
            return Ok(());
        }
        for cmd in cmds {
            match cmd {
                Command::Quit if quit_pending || state.triage.jobs.is_empty() => return Ok(()),
                Command::Quit => {
                    quit_pending = true;
                    state.triage.notice = Some(
                        "an action is running: quitting when it finishes (quit again to force)"
                            .into(),
                    );
                    state.dirty = true;
                }
                Command::MfaAnswer { id, answer } => replies.answer(id, answer),
                Command::Triage(job) => {
                    let id = job.id;
                    let sent = jobs.as_ref().is_some_and(|j| j.try_send(job).is_ok());
                    if !sent {
                        update(
                            &mut state,
                            Msg::Data(Update::TriageDone {
                                id,
                                result: Err("triage is busy or disabled: nothing was done".into()),
                            }),
                        );
                    }
                }
            }
        }
    }
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).context("cannot install signal handler")
}
