//! Console triage state: the case-id prompt, the confirmation panel (plan, DryRun verdicts, a
//! second deliberate key or the typed instance id), live progress, and row marks.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::keymap::{Action as KeyAction, Key, KeyCode};
use crate::triage::executor::{Job, TriageEvent};
use crate::triage::{Action, Check, Key as JournalKey, Step, Target};

use super::{Command, Screen, State};

/// Where the panel is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Plan and DryRun in flight.
    Checking,
    /// Plan and verdicts shown; waiting for confirmation.
    Ready {
        /// What will happen.
        plan: Vec<String>,
        /// Each DryRun call (or check) with its verdict.
        checks: Vec<Check>,
        /// Confirmation must be the typed instance id, whatever the settings say.
        typed: bool,
    },
    /// Running; steps so far.
    Running {
        /// Steps so far.
        progress: Vec<Step>,
    },
    /// Finished.
    Done {
        /// Success.
        ok: bool,
        /// Summary or error.
        message: String,
        /// Every step of the run.
        progress: Vec<Step>,
    },
}

/// The confirmation panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panel {
    /// Current job id.
    pub id: u64,
    /// The action (stop options included).
    pub action: Action,
    /// The instance, as the operator sees it.
    pub target: Target,
    /// Its Name tag.
    pub name: String,
    /// Scope index of the row.
    pub scope: usize,
    /// Where it is.
    pub stage: Stage,
    /// Instance id typed so far (when confirming by typing).
    pub typed: String,
    /// The unfinished quarantine this panel offers to resume (its case is the journal's, not
    /// the session's).
    pub resume: Option<ResumeOffer>,
}

/// An unfinished quarantine the journal holds, offered for resume at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeOffer {
    /// The instance.
    pub key: JournalKey,
    /// Case it was started under.
    pub case: String,
    /// When it started.
    pub started: DateTime<Utc>,
    /// Not offered again before this (its preview failed, e.g. throttled).
    pub not_before: Option<DateTime<Utc>>,
}

/// A row mark shown in the STATE column (and before the name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// A console run on the row is under way (`QUARANTINING…`); it stays until the run ends.
    Running(&'static str),
    /// How a console run ended (`QUARANTINED`, `STOPPING`, `STOP FAILED`); the next inventory of
    /// the row's scope replaces it with what live data shows.
    Final(String),
}

impl Mark {
    /// The mark of a run of `action` under way.
    pub(super) fn running(action: &Action) -> Mark {
        Mark::Running(match action {
            Action::Stop { .. } => "STOPPING",
            Action::Quarantine => "QUARANTINING",
            Action::Release { .. } => "RELEASING",
            Action::Snapshot => "SNAPSHOTTING",
            Action::ArchiveFinding { .. } => "ARCHIVING",
            Action::StopTask { .. } => "STOPPING",
            Action::ScaleToZero { .. } => "SCALING TO 0",
            Action::RestoreService { .. } => "RESTORING",
        })
    }

    /// True while the run is under way.
    pub fn is_running(&self) -> bool {
        matches!(self, Mark::Running(_))
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mark::Running(verb) => write!(f, "{verb}…"),
            Mark::Final(label) => f.write_str(label),
        }
    }
}

/// What waits for the case id being typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// One action: what, on which target, its name and scope index.
    One(Action, Target, String, usize),
    /// The bulk panel's previews.
    Bulk,
}

/// Triage state of the console.
#[derive(Debug, Clone, Default)]
pub struct TriageUi {
    /// False in read-only mode: no executor exists.
    pub enabled: bool,
    /// `--dry-run`: every action stops after its DryRun.
    pub dry_run_only: bool,
    /// Confirm by typing the instance id instead of the confirm key.
    pub confirm_by_typing_id: bool,
    /// Case id of this session.
    pub case_id: Option<String>,
    /// Case id being typed, and the action waiting for it.
    pub case_prompt: Option<(String, Pending)>,
    /// The bulk panel (marked rows), when open.
    pub bulk: Option<super::bulk::Bulk>,
    /// The panel, when open.
    pub panel: Option<Panel>,
    /// Last job id handed out.
    pub next_id: u64,
    /// Runs started: id -> (scope, instance, action), to mark rows even with the panel closed.
    pub jobs: HashMap<u64, (usize, String, Action)>,
    /// Row marks: (scope, instance) -> mark shown in the STATE column.
    pub marks: HashMap<(usize, String), Mark>,
    /// One-line notice for the footer (e.g. why a key did nothing).
    pub notice: Option<String>,
    /// Unfinished quarantines from the journal, offered one by one once their account shows.
    pub resume: Vec<ResumeOffer>,
    /// The operator quit while runs were under way: the console leaves when the last one ends
    /// (a second quit forces it), and no new job starts meanwhile.
    pub quit_pending: bool,
}

/// The notice of a first quit while runs are under way.
pub const QUIT_PENDING: &str =
    "an action is running: quitting when it finishes (quit again: isolate now and exit)";
/// Why no job starts in read-only mode.
pub const READ_ONLY_JOB: &str = "triage is disabled (read-only): nothing was done";
/// Why no job starts while a quit waits for the running ones.
pub const DRAINING_JOB: &str = "quitting: no new action starts while the running ones finish (quit again: isolate now and exit)";

/// A quit key (the keymap's `quit` or ctrl+c). With no run under way the console leaves at
/// once; with runs under way the first quit only waits for them (leaving would cancel them
/// mid-way: a quarantine could stop on the allow-all group), and a second one leaves now,
/// forced: the caller finishes them headless, without the rest of their wait.
pub fn quit(state: &mut State) -> Vec<Command> {
    let t = &mut state.triage;
    if t.jobs.is_empty() {
        return vec![Command::Quit { forced: false }];
    }
    if t.quit_pending {
        return vec![Command::Quit { forced: true }];
    }
    t.quit_pending = true;
    t.notice = Some(QUIT_PENDING.into());
    state.dirty = true;
    Vec::new()
}

/// After a triage event: the quit that waited for the running jobs, once the last one ended.
pub fn quit_if_drained(state: &State) -> Option<Command> {
    (state.triage.quit_pending && state.triage.jobs.is_empty())
        .then_some(Command::Quit { forced: false })
}

/// Why no new job may start now, if so: read-only, or a quit is waiting for the running ones.
fn refusal(t: &TriageUi) -> Option<&'static str> {
    if !t.enabled {
        Some(READ_ONLY_JOB)
    } else if t.quit_pending {
        Some(DRAINING_JOB)
    } else {
        None
    }
}

/// The job of the open panel: a preview (plan and DryRun), or the run, which moves the panel
/// to `Running` and marks the row. Refused, with the panel ended and a notice saying why, in
/// read-only mode or while a quit waits for the running jobs.
fn new_job(state: &mut State, preview: bool) -> Vec<Command> {
    let why = refusal(&state.triage);
    let Some(p) = state.triage.panel.as_mut() else {
        return Vec::new();
    };
    if let Some(why) = why {
        p.stage = Stage::Done {
            ok: false,
            message: why.into(),
            progress: Vec::new(),
        };
        state.triage.notice = Some(why.into());
        return Vec::new();
    }
    let case = match &p.resume {
        Some(o) => o.case.clone(),
        None => match &state.triage.case_id {
            Some(c) => c.clone(),
            None => return Vec::new(),
        },
    };
    state.triage.next_id += 1;
    p.id = state.triage.next_id;
    if !preview {
        p.stage = Stage::Running {
            progress: Vec::new(),
        };
        state.triage.jobs.insert(
            p.id,
            (p.scope, p.target.instance_id.clone(), p.action.clone()),
        );
        state.triage.marks.insert(
            (p.scope, p.target.instance_id.clone()),
            Mark::running(&p.action),
        );
    }
    vec![Command::Triage(Job {
        id: p.id,
        preview,
        action: p.action.clone(),
        target: p.target.clone(),
        case_id: case,
    })]
}

fn open_panel(
    state: &mut State,
    action: Action,
    target: Target,
    name: String,
    scope: usize,
) -> Vec<Command> {
    state.triage.panel = Some(Panel {
        id: 0,
        action,
        target,
        name,
        scope,
        stage: Stage::Checking,
        typed: String::new(),
        resume: None,
    });
    new_job(state, true)
}

/// Opens the next resume offer whose account x region the fleet shows (so the panel can name
/// the account's alias next to its verified id), when nothing else is open, and starts its
/// DryRun preview like any quarantine.
pub fn offer_resume(state: &mut State) -> Vec<Command> {
    if state.triage.panel.is_some()
        || state.triage.bulk.is_some()
        || state.triage.case_prompt.is_some()
        || refusal(&state.triage).is_some()
        || state.triage.resume.is_empty()
    {
        return Vec::new();
    }
    let now = state.now;
    let Some((i, scope)) = state.triage.resume.iter().enumerate().find_map(|(i, o)| {
        if o.not_before.is_some_and(|t| now < t) {
            return None;
        }
        state
            .fleet
            .scopes
            .iter()
            .position(|sd| {
                sd.scope.account_id == o.key.account_id && sd.scope.region == o.key.region
            })
            .map(|s| (i, s))
    }) else {
        return Vec::new();
    };
    let o = state.triage.resume.remove(i);
    let sd = &state.fleet.scopes[scope];
    let name = state
        .fleet
        .row(scope, &o.key.instance_id)
        .map(|r| r.subject.name().into_owned())
        .unwrap_or_default();
    state.triage.panel = Some(Panel {
        id: 0,
        action: Action::Quarantine,
        target: Target {
            alias: sd.alias.clone(),
            account_id: o.key.account_id.clone(),
            region: o.key.region.clone(),
            instance_id: o.key.instance_id.clone(),
        },
        name,
        scope,
        stage: Stage::Checking,
        typed: String::new(),
        resume: Some(o),
    });
    state.dirty = true;
    new_job(state, true)
}

/// What the resume panel says above the quarantine plan.
fn resume_lines(o: &ResumeOffer) -> [String; 2] {
    [
        format!(
            "UNFINISHED QUARANTINE in the journal: case {}, started {}. It was interrupted \
             (closed terminal, crash or kill): its interfaces may still be on the allow-all \
             group, open to the internet.",
            o.case,
            o.started.format("%Y-%m-%d %H:%M:%SZ")
        ),
        "Resume it: every step is decided again from the live groups and the journal \
         (esc: not now; `watchfloor triage resume` does the same headless)."
            .into(),
    ]
}

/// True (with the notice saying so) when, on the fleet table, a poll changed the row under the
/// cursor less than 2 s ago: a key that acts on the selected row (triage, mark, copy) waits, so
/// it acts on the row the operator saw.
pub(super) fn cursor_just_moved(state: &mut State) -> bool {
    let moved = matches!(state.ui.screen, Screen::Fleet)
        && state
            .ui
            .cursor_moved_at
            .is_some_and(|t| state.now - t < chrono::TimeDelta::seconds(2));
    if moved {
        state.triage.notice = Some(
            "the row under the cursor just changed (a poll re-ranked the list): look again, then press the key again"
                .into(),
        );
    }
    moved
}

/// A triage key was pressed on the fleet or detail screen.
pub fn start(state: &mut State, key: KeyAction) -> Vec<Command> {
    if blocked(state) {
        return Vec::new();
    }
    if cursor_just_moved(state) {
        return Vec::new();
    }
    let row = match &state.ui.screen {
        Screen::Detail { scope, id, .. } => state.fleet.row(*scope, id),
        _ => state.selected_row(),
    };
    let Some(row) = row else {
        state.triage.notice = Some("no instance selected".into());
        return Vec::new();
    };
    let name = row.subject.name().into_owned();
    let scope = row.scope;
    // Archiving acts on the finding selected in the detail view, about an instance or a task.
    if key == KeyAction::ArchiveFinding {
        if let Some(why) = refused_account(state, scope) {
            state.triage.notice = Some(why);
            return Vec::new();
        }
        let Some((finding_id, kind)) = selected_finding(state, row) else {
            state.triage.notice =
                Some("no finding selected (tab selects one): nothing to archive".into());
            return Vec::new();
        };
        let target = target_of(state, row);
        let action = Action::ArchiveFinding { finding_id, kind };
        return ask_case_then_open(state, action, target, name, scope);
    }
    match action_for(state, key, row) {
        Ok((action, target)) => ask_case_then_open(state, action, target, name, scope),
        Err(why) => {
            state.triage.notice = Some(why);
            Vec::new()
        }
    }
}

fn unverified(alias: &str) -> String {
    format!("account `{alias}` is not verified: cannot act on it")
}

/// Why no action may touch a scope's account: unverified, or read-only in the config.
fn refused_account(state: &State, scope: usize) -> Option<String> {
    let sd = &state.fleet.scopes[scope];
    if !sd.verified {
        Some(unverified(&sd.alias))
    } else if state
        .fleet
        .account(&sd.scope.account_id)
        .is_some_and(|a| a.read_only)
    {
        Some(format!(
            "account `{}` is read-only (read_only in its [[account]]): no triage on it",
            sd.alias
        ))
    } else {
        None
    }
}

/// The row as a target: its account (alias and id), region and id.
fn target_of(state: &State, row: &super::Row) -> Target {
    let sd = &state.fleet.scopes[row.scope];
    Target {
        alias: sd.alias.clone(),
        account_id: sd.scope.account_id.clone(),
        region: sd.scope.region.clone(),
        instance_id: row.id().to_string(),
    }
}

/// What a triage key (stop, quarantine, release, snapshot) means on a row, and its target; or
/// why it means nothing there (an unverified account, a task with no service to scale, ...).
pub(super) fn action_for(
    state: &State,
    key: KeyAction,
    row: &super::Row,
) -> Result<(Action, Target), String> {
    if let Some(why) = refused_account(state, row.scope) {
        return Err(why);
    }
    let mut target = target_of(state, row);
    // A task row: stop the task, or scale its service to zero and back.
    if let Some(t) = row.task() {
        let action = match (key, &t.service) {
            (KeyAction::Stop, _) => Action::StopTask {
                cluster: t.cluster.clone(),
            },
            (KeyAction::Quarantine, Some(svc)) => Action::ScaleToZero {
                cluster: t.cluster.clone(),
                service: svc.clone(),
                task: Some(t.task_arn.clone()),
            },
            (KeyAction::Release, Some(svc)) => Action::RestoreService {
                cluster: t.cluster.clone(),
                service: svc.clone(),
            },
            (KeyAction::Quarantine | KeyAction::Release, None) => {
                return Err(
                    "a standalone task has no service to scale: stop it (stop-task keeps its evidence)"
                        .into(),
                );
            }
            _ => {
                return Err(
                    "a task has no EBS volume to snapshot: stop-task keeps its description and task definition as evidence"
                        .into(),
                );
            }
        };
        if let Action::ScaleToZero { service, .. } | Action::RestoreService { service, .. } =
            &action
        {
            target.instance_id =
                crate::triage::service_arn(&target.region, &target.account_id, &t.cluster, service);
        }
        return Ok((action, target));
    }
    let action = match key {
        KeyAction::Stop => Action::Stop {
            force: false,
            hibernate: false,
            clear_stop_protection: false,
        },
        KeyAction::Quarantine => Action::Quarantine,
        KeyAction::Release => Action::Release { from_tags: None },
        _ => Action::Snapshot,
    };
    Ok((action, target))
}

/// True (with the notice saying why) when no triage may start: read-only, or quitting.
pub(super) fn blocked(state: &mut State) -> bool {
    let why = if !state.triage.enabled {
        "read-only: triage actions are disabled"
    } else if state.triage.quit_pending {
        DRAINING_JOB
    } else {
        return false;
    };
    state.triage.notice = Some(why.into());
    true
}

/// Archives a finding by its id (from the findings board): the target is the row it is about,
/// or what it names when no row shows it.
pub fn archive(state: &mut State, scope: usize, finding_id: &str) -> Vec<Command> {
    if blocked(state) {
        return Vec::new();
    }
    let Some(sd) = state.fleet.scopes.get(scope) else {
        return Vec::new();
    };
    if let Some(why) = refused_account(state, scope) {
        state.triage.notice = Some(why);
        return Vec::new();
    }
    let Some(f) = sd.findings.get(finding_id) else {
        state.triage.notice = Some(format!("finding {finding_id} is no longer live"));
        return Vec::new();
    };
    let row = state
        .fleet
        .rows
        .iter()
        .filter(|r| r.scope == scope)
        .find(|r| state.fleet.findings_of(r).iter().any(|g| g.id == f.id));
    let subject = row.map(|r| r.id().to_string()).unwrap_or_else(|| {
        f.instance_id
            .clone()
            .or_else(|| f.task_arn.clone())
            .unwrap_or_else(|| f.id.clone())
    });
    let target = Target {
        alias: sd.alias.clone(),
        account_id: sd.scope.account_id.clone(),
        region: sd.scope.region.clone(),
        instance_id: subject,
    };
    let name = row
        .map(|r| r.subject.name().into_owned())
        .unwrap_or_default();
    let action = Action::ArchiveFinding {
        finding_id: f.id.clone(),
        kind: f.kind.clone(),
    };
    ask_case_then_open(state, action, target, name, scope)
}

/// The finding selected in the detail view (id and type), if any.
fn selected_finding(state: &State, row: &super::Row) -> Option<(String, String)> {
    match &state.ui.screen {
        Screen::Detail {
            finding: Some(id), ..
        } => state
            .fleet
            .findings_of(row)
            .into_iter()
            .find(|f| &f.id == id)
            .map(|f| (f.id.clone(), f.kind.clone())),
        _ => None,
    }
}

/// Opens the panel, asking for the case id first when the session has none.
fn ask_case_then_open(
    state: &mut State,
    action: Action,
    target: Target,
    name: String,
    scope: usize,
) -> Vec<Command> {
    state.triage.notice = None;
    if state.triage.case_id.is_none() {
        state.triage.case_prompt = Some((String::new(), Pending::One(action, target, name, scope)));
        return Vec::new();
    }
    open_panel(state, action, target, name, scope)
}

/// Keys while the case prompt is open.
pub fn case_key(state: &mut State, key: Key) -> Vec<Command> {
    let Some((input, ..)) = state.triage.case_prompt.as_mut() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Char(c)
            if !key.ctrl
                && !key.alt
                && input.len() < 64
                && (c.is_ascii_alphanumeric() || "._:/-".contains(c)) =>
        {
            input.push(c);
        }
        KeyCode::Backspace => {
            input.pop();
        }
        KeyCode::Esc => {
            // Without a case the bulk panel cannot check anything: it closes too.
            if let Some((_, Pending::Bulk)) = state.triage.case_prompt.take() {
                state.triage.bulk = None;
            }
        }
        KeyCode::Enter if !input.is_empty() => {
            let (case, pending) = state.triage.case_prompt.take().expect("prompt is open");
            state.triage.case_id = Some(case);
            return match pending {
                Pending::One(action, target, name, scope) => {
                    open_panel(state, action, target, name, scope)
                }
                Pending::Bulk => super::bulk::previews(state),
            };
        }
        _ => {}
    }
    Vec::new()
}

/// Keys while the panel is open.
pub fn panel_key(state: &mut State, key: Key) -> Vec<Command> {
    let confirm = state.keymap.action(&key) == Some(KeyAction::Confirm);
    let typing_setting = state.triage.confirm_by_typing_id;
    let dry_only = state.triage.dry_run_only;
    let Some(p) = state.triage.panel.as_mut() else {
        return Vec::new();
    };
    if key.code == KeyCode::Esc {
        // Closing never cancels a running action (it is audited step by step); it only hides it.
        state.triage.panel = None;
        return Vec::new();
    }
    match &p.stage {
        Stage::Checking | Stage::Running { .. } => Vec::new(),
        Stage::Done { .. } => {
            if key.code == KeyCode::Enter {
                state.triage.panel = None;
            }
            Vec::new()
        }
        Stage::Ready { checks, typed, .. } => {
            let allowed = checks.iter().all(|c| c.verdict.permits());
            let typing = typing_setting || *typed;
            // Stop options re-run the DryRun with the new parameters: f/h/c, or alt+f/h/c while
            // the instance id is being typed.
            if let Action::Stop {
                force,
                hibernate,
                clear_stop_protection,
            } = &mut p.action
                && (!typing || key.alt)
                && let KeyCode::Char(c @ ('f' | 'h' | 'c')) = key.code
            {
                match c {
                    'f' => *force = !*force,
                    'h' => *hibernate = !*hibernate,
                    _ => *clear_stop_protection = !*clear_stop_protection,
                }
                p.stage = Stage::Checking;
                return new_job(state, true);
            }
            if !allowed || dry_only {
                return Vec::new();
            }
            let go = if typing {
                match key.code {
                    KeyCode::Char(c) if !key.ctrl && !key.alt => {
                        p.typed.push(c);
                        false
                    }
                    KeyCode::Backspace => {
                        p.typed.pop();
                        false
                    }
                    KeyCode::Enter => p.typed == p.target.typed_id(),
                    _ => false,
                }
            } else {
                confirm
            };
            if !go {
                return Vec::new();
            }
            new_job(state, false)
        }
    }
}

/// Applies an event from the triage executor.
pub fn on_event(state: &mut State, e: TriageEvent) {
    super::bulk::on_event(state, &e);
    match e {
        TriageEvent::Plan {
            id,
            plan,
            checks,
            typed_confirmation,
            action,
        } => {
            if let Some(p) = state.triage.panel.as_mut().filter(|p| p.id == id) {
                // Only the preview may turn release into release-from-checked-tags.
                if action.name() == p.action.name() {
                    p.action = action;
                }
                let plan = match &p.resume {
                    Some(o) => resume_lines(o).into_iter().chain(plan).collect(),
                    None => plan,
                };
                p.stage = Stage::Ready {
                    plan,
                    checks,
                    typed: typed_confirmation,
                };
            }
        }
        TriageEvent::Progress { id, step } => {
            if let Some(p) = state.triage.panel.as_mut().filter(|p| p.id == id)
                && let Stage::Running { progress } = &mut p.stage
            {
                progress.push(step);
            }
        }
        TriageEvent::Done { id, result } => {
            // A resume offer whose preview failed (throttled, unreachable) is offered again
            // in a while, not lost: the instance may be open to the internet.
            if let Err(e) = &result
                && let Some(p) = state.triage.panel.as_ref().filter(|p| p.id == id)
                && p.stage == Stage::Checking
                && let Some(o) = p.resume.clone()
            {
                state.triage.notice = Some(format!(
                    "the unfinished quarantine of {} could not be checked ({e}): offered again in 30 s",
                    o.key.instance_id
                ));
                state.triage.resume.push(ResumeOffer {
                    not_before: Some(state.now + chrono::TimeDelta::seconds(30)),
                    ..o
                });
                state.triage.panel = None;
                return;
            }
            if let Some((scope, instance, action)) = state.triage.jobs.remove(&id) {
                // A run whose panel is not on screen fails loudly all the same.
                let shown = state.triage.panel.as_ref().is_some_and(|p| p.id == id)
                    || state
                        .triage
                        .bulk
                        .as_ref()
                        .is_some_and(|b| b.items.iter().any(|i| i.id == id));
                if let (Err(e), false) = (&result, shown) {
                    state.triage.notice = Some(format!(
                        "{} of {} FAILED: {e}",
                        action.name(),
                        super::super::model::task::name_of(&instance)
                    ));
                }
                if let (Ok(_), Action::ArchiveFinding { finding_id, .. }) = (&result, &action) {
                    state.fleet.forget_finding(scope, finding_id, state.now);
                    state.rebuild_view();
                }
                let key = (scope, instance);
                match (&result, &action) {
                    (Ok(_), Action::Quarantine) => {
                        state
                            .triage
                            .marks
                            .insert(key, Mark::Final("QUARANTINED".into()));
                    }
                    (Ok(_), Action::Stop { .. } | Action::StopTask { .. }) => {
                        state
                            .triage
                            .marks
                            .insert(key, Mark::Final("STOPPING".into()));
                    }
                    (Ok(_), Action::ScaleToZero { .. }) => {
                        state
                            .triage
                            .marks
                            .insert(key, Mark::Final("SCALED TO 0".into()));
                    }
                    (Ok(_), _) => {
                        state.triage.marks.remove(&key);
                    }
                    (Err(_), a) => {
                        state.triage.marks.insert(
                            key,
                            Mark::Final(format!("{} FAILED", a.name().to_uppercase())),
                        );
                    }
                }
            }
            if let Some(p) = state.triage.panel.as_mut().filter(|p| p.id == id) {
                let progress = match &p.stage {
                    Stage::Running { progress } => progress.clone(),
                    _ => Vec::new(),
                };
                p.stage = Stage::Done {
                    ok: result.is_ok(),
                    message: result.unwrap_or_else(|e| e),
                    progress,
                };
            }
        }
    }
}
