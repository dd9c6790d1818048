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

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::app::{Command, Msg, State, update};
use crate::feed::Report;
use crate::keymap::Key;
use crate::source::lookups::Lookups;
use crate::source::mfa::{MfaReplies, Prompt};
use crate::theme::Theme;
use crate::triage::executor::{Executor, TriageEvent};

/// Most queued updates applied before a redraw (bursts coalesce into one frame).
const MAX_BATCH: usize = 4096;

/// Feed reports are applied at most this often: each application re-sorts the view and scans
/// every row for alerts, and an organization's scopes report all the time.
const FEED_GAP: std::time::Duration = std::time::Duration::from_millis(250);

/// Restores the terminal when dropped (normal exit, error, or unwinding panic).
struct TerminalGuard;

/// True while the console owns the terminal.
static UI_UP: AtomicBool = AtomicBool::new(false);
/// An alert changed the terminal title: the one saved before (XTWINOPS push) is put back on
/// the way out.
static TITLE_PUSHED: AtomicBool = AtomicBool::new(false);
/// Panics of background tasks while the console is up, to show in the footer (printing them
/// would scribble over the screen; restoring the terminal would leave the UI half-dead).
static BACKGROUND_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn restore() {
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    if TITLE_PUSHED.swap(false, Ordering::SeqCst) {
        let _ = out.write_all(b"\x1b[23;0t");
    }
    let _ = execute!(
        out,
        EndSynchronizedUpdate,
        crossterm::event::DisableMouseCapture,
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
        let ui_thread = std::thread::current().id();
        std::panic::set_hook(Box::new(move |info| {
            let on_ui = std::thread::current().id() == ui_thread;
            if UI_UP.load(Ordering::SeqCst) && !on_ui {
                if let Ok(mut v) = BACKGROUND_PANICS.lock() {
                    v.push(info.to_string());
                }
                return;
            }
            if on_ui {
                restore();
            }
            prev(info);
        }));
        enable_raw_mode().context("cannot switch the terminal to raw mode")?;
        let guard = TerminalGuard;
        execute!(io::stdout(), EnterAlternateScreen, cursor::Hide)
            .context("cannot enter the alternate screen")?;
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        UI_UP.store(true, Ordering::SeqCst);
        Ok((guard, terminal))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        UI_UP.store(false, Ordering::SeqCst);
        restore();
    }
}

/// Why the console ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The operator quit (after any running action finished).
    Quit,
    /// Quit again while an action ran: finish it now, without the rest of its wait.
    Forced,
    /// The terminal went away (SIGHUP) or SIGTERM arrived: finish headless.
    Signal,
}

/// What the console talks to: the feeds, MFA prompts and triage events it receives, and the
/// services its commands go to.
pub struct Wiring {
    /// Feed reports (and lookup answers).
    pub feeds: mpsc::Receiver<Report>,
    /// MFA prompts raised by the AWS source.
    pub prompts: mpsc::Receiver<Prompt>,
    /// News from the triage executor.
    pub triage: mpsc::UnboundedReceiver<TriageEvent>,
    /// Answers the MFA prompts.
    pub replies: MfaReplies,
    /// The triage executor (None in read-only mode, where none exists).
    pub exec: Option<Executor>,
    /// Runs the lookups the operator asks for (who launched an instance).
    pub lookups: Lookups,
    /// What an alert does: bell, title, the `[alerts] command`.
    pub alerts: crate::config::AlertSettings,
    /// Runs the `[alerts] command` (None when none is configured).
    pub notifier: Option<crate::notify::Notifier>,
    /// How its runs went.
    pub alert_results: mpsc::UnboundedReceiver<Result<String, String>>,
    /// `--mouse`: clicks select rows, the wheel scrolls.
    pub mouse: bool,
}

/// Runs the console until the user quits (or SIGTERM/SIGHUP), always restoring the terminal.
/// `replies` answers the MFA prompts the AWS source raises; `exec` is the triage executor (None
/// in read-only mode, where none exists). It never waits for running actions itself beyond the
/// first quit: the caller drains the executor on every way out, errors and panics included.
pub async fn run(mut state: State, mut theme: Theme, wiring: Wiring) -> Result<Exit> {
    let Wiring {
        feeds: mut rx,
        prompts: mut prompt_rx,
        triage: mut triage_rx,
        replies,
        exec,
        lookups,
        alerts,
        notifier,
        alert_results: mut alert_rx,
        mouse,
    } = wiring;
    // Triage runs only where an executor exists: `update` then refuses every job itself.
    state.triage.enabled &= exec.is_some();
    let (_guard, mut terminal) = TerminalGuard::enter()?;
    if mouse {
        execute!(terminal.backend_mut(), crossterm::event::EnableMouseCapture)?;
    }
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut term = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hup = signal(tokio::signal::unix::SignalKind::hangup())?;
    let mux = crate::app::copy::Mux::detect(
        std::env::var("TMUX").ok().as_deref(),
        std::env::var("STY").ok().as_deref(),
    );
    let mut feeds_open = true;
    // Feed reports waiting for FEED_GAP since the last application to pass.
    let mut pending: Vec<crate::feed::Report> = Vec::new();
    let mut last_apply = tokio::time::Instant::now() - FEED_GAP;
    let mut prompts_open = true;
    // Test hook (used by tests/e2e_console.rs): panic after the first frame to prove the terminal
    // is restored on panic.
    let panic_for_test = std::env::var_os("WATCHFLOOR_TEST_PANIC").is_some();
    loop {
        if state.dirty {
            let size = terminal.size()?;
            let area = Rect::new(0, 0, size.width, size.height);
            let page = crate::ui::table_page(&state, area);
            update(
                &mut state,
                Msg::Resize {
                    page,
                    rows: size.height,
                },
            );
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
                Some(Ok(Event::Mouse(m))) => {
                    let size = terminal.size()?;
                    let area = Rect::new(0, 0, size.width, size.height);
                    match mouse_msg(&state, area, &m) {
                        Some(msg) => update(&mut state, msg),
                        None => Vec::new(),
                    }
                }
                Some(Ok(_)) => Vec::new(),
                Some(Err(e)) => return Err(e).context("reading terminal input"),
                None => return Ok(Exit::Signal),
            },
            r = alert_rx.recv() => match r {
                Some(r) => update(&mut state, Msg::AlertCommand(r)),
                None => Vec::new(),
            },
            e = triage_rx.recv() => match e {
                Some(e) => update(&mut state, Msg::Triage(e)),
                None => Vec::new(),
            },
            p = prompt_rx.recv(), if prompts_open => match p {
                Some(p) => update(&mut state, Msg::Prompt(p)),
                None => { prompts_open = false; Vec::new() }
            },
            u = rx.recv(), if feeds_open => match u {
                Some(u) => {
                    // A burst is applied at once (one view rebuild, one frame), and bursts at
                    // most every FEED_GAP: the rest wait for the branch below.
                    pending.push(u);
                    while pending.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(u) => pending.push(u),
                            Err(_) => break,
                        }
                    }
                    if last_apply.elapsed() >= FEED_GAP || pending.len() >= MAX_BATCH {
                        last_apply = tokio::time::Instant::now();
                        update(&mut state, Msg::Feeds(std::mem::take(&mut pending)))
                    } else {
                        Vec::new()
                    }
                }
                None => {
                    feeds_open = false;
                    update(&mut state, Msg::Feeds(std::mem::take(&mut pending)))
                }
            },
            () = tokio::time::sleep_until(last_apply + FEED_GAP), if !pending.is_empty() => {
                last_apply = tokio::time::Instant::now();
                update(&mut state, Msg::Feeds(std::mem::take(&mut pending)))
            },
            _ = tick.tick() => {
                if let Some(p) = BACKGROUND_PANICS.lock().ok().and_then(|mut v| v.pop()) {
                    state.triage.notice = Some(format!("a background task panicked: {p}"));
                }
                update(&mut state, Msg::Tick(Utc::now()))
            }
            _ = term.recv() => return Ok(Exit::Signal),
            _ = hup.recv() => return Ok(Exit::Signal),
        };
        // `update` decides when to leave (a quit waits for running actions, see
        // `app::triage::quit`) and which jobs may start; the loop only carries it out.
        for cmd in cmds {
            match cmd {
                Command::Quit { forced: false } => return Ok(Exit::Quit),
                Command::Quit { forced: true } => return Ok(Exit::Forced),
                Command::MfaAnswer { id, answer } => replies.answer(id, answer),
                // Without an executor triage is disabled, and `update` emits no job.
                Command::Triage(job) => {
                    if let Some(x) = &exec {
                        x.submit(job);
                    }
                }
                Command::Lookup(job) => lookups.submit(job),
                Command::Alert(a) => {
                    let out = terminal.backend_mut();
                    if alerts.bell {
                        out.write_all(b"\x07")?;
                    }
                    if alerts.title {
                        if !TITLE_PUSHED.swap(true, Ordering::SeqCst) {
                            out.write_all(b"\x1b[22;0t")?;
                        }
                        // The text comes from the account (finding types, ids): no control
                        // characters reach the terminal.
                        let title = crate::triage::escape_controls(&format!(
                            "watchfloor ⚠ {} {}: {}",
                            a.account_alias, a.region, a.text
                        ));
                        execute!(out, crossterm::terminal::SetTitle(title))?;
                    }
                    Write::flush(out)?;
                    if let Some(n) = &notifier {
                        n.send(a);
                    }
                }
                Command::Copy(text) => {
                    let out = terminal.backend_mut();
                    out.write_all(&crate::app::copy::osc52(&text, mux))?;
                    Write::flush(out)?;
                }
                Command::SetTheme(name) => {
                    let dir = crate::cli::config_dir().map(|d| d.join("themes"));
                    state.triage.notice =
                        Some(match Theme::load(&name, dir.as_deref(), theme.mode) {
                            Ok(t) => {
                                theme = t;
                                format!("theme {name}")
                            }
                            Err(e) => format!("theme not changed: {e}"),
                        });
                    state.dirty = true;
                }
            }
        }
    }
}

/// What a mouse event means: the wheel scrolls three rows, a left click on a row of the fleet
/// table selects it.
fn mouse_msg(state: &State, area: Rect, m: &crossterm::event::MouseEvent) -> Option<Msg> {
    use crossterm::event::{MouseButton, MouseEventKind};
    match m.kind {
        MouseEventKind::ScrollDown => Some(Msg::Scroll(3)),
        MouseEventKind::ScrollUp => Some(Msg::Scroll(-3)),
        MouseEventKind::Down(MouseButton::Left) => {
            let [_, body, _] = crate::ui::layout(state, area);
            // The table's first line is its column header.
            (m.row > body.y && m.row < body.y + body.height)
                .then(|| Msg::Click(state.ui.offset + usize::from(m.row - body.y - 1)))
        }
        _ => None,
    }
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).context("cannot install signal handler")
}
