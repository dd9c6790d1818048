//! Bulk triage over the marked rows: one panel lists every target grouped by account with its
//! DryRun verdicts; typing the action and the count (`QUARANTINE 7`) runs one executor job per
//! target, each audited on its own.

use crate::keymap::{Action as KeyAction, Key, KeyCode};
use crate::triage::executor::{Job, TriageEvent};
use crate::triage::{Action, Check, Step, Target};

use super::{Command, State};

/// Where one target of the bulk panel is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemState {
    /// Plan and DryRun in flight.
    Checking,
    /// DryRun verdicts in.
    Ready {
        /// Each DryRun call (or check) with its verdict.
        checks: Vec<Check>,
    },
    /// Left out, and why (unverified account, denied DryRun, gone from the inventory ...).
    Skipped(String),
    /// Running; steps so far.
    Running {
        /// Steps so far.
        progress: Vec<Step>,
    },
    /// Ended.
    Done {
        /// Success.
        ok: bool,
        /// Summary or error.
        message: String,
    },
}

/// One target of the bulk panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Current job id (preview, then run); 0 when none was submitted.
    pub id: u64,
    /// What will be done to it.
    pub action: Action,
    /// The instance, task or service, as marked.
    pub target: Target,
    /// Its name.
    pub name: String,
    /// Scope index.
    pub scope: usize,
    /// Where it is.
    pub state: ItemState,
}

impl Item {
    /// True when its DryRun checks all permit the action.
    pub fn runnable(&self) -> bool {
        matches!(&self.state, ItemState::Ready { checks } if checks.iter().all(|c| c.verdict.permits()))
    }
}

/// The bulk panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bulk {
    /// The verb typed to confirm: `STOP`, `QUARANTINE`, `SNAPSHOT`.
    pub verb: &'static str,
    /// Every target, grouped by account (alias, then account id), then region and id.
    pub items: Vec<Item>,
    /// Confirmation typed so far.
    pub typed: String,
    /// Confirmed: the runs were handed to the executor.
    pub started: bool,
    /// First line of the list shown (the list scrolls when it is longer than the panel).
    pub scroll: usize,
    /// How many lines of the list have been on screen, from the top: the run is accepted only
    /// once every line has (no target, no account, is acted on unseen).
    pub seen: usize,
}

impl Bulk {
    /// How many targets the run would act on.
    pub fn runnable(&self) -> usize {
        self.items.iter().filter(|i| i.runnable()).count()
    }

    /// What must be typed to run: the verb and the count.
    pub fn expected(&self) -> String {
        format!("{} {}", self.verb, self.runnable())
    }

    /// True while some preview is in flight.
    pub fn checking(&self) -> bool {
        self.items.iter().any(|i| i.state == ItemState::Checking)
    }

    /// Lines of the list: one per account heading, one per target.
    pub fn line_count(&self) -> usize {
        let mut accounts = 0;
        let mut last: Option<(&str, &str)> = None;
        for i in &self.items {
            let this = (i.target.alias.as_str(), i.target.account_id.as_str());
            if last != Some(this) {
                accounts += 1;
                last = Some(this);
            }
        }
        accounts + self.items.len()
    }

    /// True once every line of the list has been on screen.
    pub fn all_seen(&self) -> bool {
        self.seen >= self.line_count()
    }
}

/// Lines of the list a terminal of `rows` lines shows (the panel's border, case line and
/// prompt take four); the renderer and the confirmation rule share it.
pub fn body_rows(rows: u16) -> usize {
    usize::from(rows.saturating_sub(4)).max(1)
}

/// After a resize: what the panel now shows counts as seen.
pub fn resized(state: &mut State) {
    let visible = body_rows(state.ui.rows);
    if let Some(b) = state.triage.bulk.as_mut() {
        b.scroll = b.scroll.min(b.line_count().saturating_sub(visible));
        b.seen = b.seen.max(b.scroll + visible);
    }
}

fn verb(key: KeyAction) -> Option<&'static str> {
    match key {
        KeyAction::Stop => Some("STOP"),
        KeyAction::Quarantine => Some("QUARANTINE"),
        KeyAction::Snapshot => Some("SNAPSHOT"),
        _ => None,
    }
}

/// True when a triage key should open the bulk panel: rows are marked and the key has a bulk
/// form (stop, quarantine, snapshot).
pub fn applies(state: &State, key: KeyAction) -> bool {
    !state.ui.marked.is_empty() && verb(key).is_some()
}

/// Builds the panel from the marks (asking for the case id first when the session has none).
pub fn start(state: &mut State, key: KeyAction) -> Vec<Command> {
    let Some(verb) = verb(key) else {
        return Vec::new();
    };
    let mut items: Vec<Item> = Vec::new();
    // A target left out, listed with why (its action is never run).
    let skipped = |scope: usize, id: &str, name: String, why: String| {
        let sd = &state.fleet.scopes[scope];
        Item {
            id: 0,
            action: Action::Snapshot,
            target: Target {
                alias: sd.alias.clone(),
                account_id: sd.scope.account_id.clone(),
                region: sd.scope.region.clone(),
                instance_id: id.to_string(),
            },
            name,
            scope,
            state: ItemState::Skipped(why),
        }
    };
    for (scope, id) in &state.ui.marked {
        let Some(row) = state.fleet.row(*scope, id) else {
            items.push(skipped(
                *scope,
                id,
                String::new(),
                "no longer in the inventory".into(),
            ));
            continue;
        };
        let name = row.subject.name().into_owned();
        match super::triage::action_for(state, key, row) {
            Ok((action, target)) => {
                // Two tasks of one service scale that service once.
                if items
                    .iter()
                    .any(|i| i.scope == *scope && i.target.instance_id == target.instance_id)
                {
                    continue;
                }
                items.push(Item {
                    id: 0,
                    action,
                    target,
                    name,
                    scope: *scope,
                    state: ItemState::Checking,
                });
            }
            Err(why) => items.push(skipped(*scope, id, name, why)),
        }
    }
    items.sort_by(|a, b| {
        (
            &a.target.alias,
            &a.target.account_id,
            &a.target.region,
            &a.target.instance_id,
        )
            .cmp(&(
                &b.target.alias,
                &b.target.account_id,
                &b.target.region,
                &b.target.instance_id,
            ))
    });
    state.triage.bulk = Some(Bulk {
        verb,
        items,
        typed: String::new(),
        started: false,
        scroll: 0,
        seen: 0,
    });
    resized(state);
    if state.triage.case_id.is_none() {
        state.triage.case_prompt = Some((String::new(), super::triage::Pending::Bulk));
        return Vec::new();
    }
    previews(state)
}

/// Submits the preview of every target still to check.
pub fn previews(state: &mut State) -> Vec<Command> {
    let Some(case) = state.triage.case_id.clone() else {
        return Vec::new();
    };
    let mut next = state.triage.next_id;
    let Some(b) = state.triage.bulk.as_mut() else {
        return Vec::new();
    };
    let mut cmds = Vec::new();
    for i in b
        .items
        .iter_mut()
        .filter(|i| i.state == ItemState::Checking)
    {
        next += 1;
        i.id = next;
        cmds.push(Command::Triage(Job {
            id: i.id,
            preview: true,
            action: i.action.clone(),
            target: i.target.clone(),
            case_id: case.clone(),
        }));
    }
    state.triage.next_id = next;
    cmds
}

/// Keys while the bulk panel is open: type the confirmation, enter runs it, esc closes (runs
/// already started go on, audited).
pub fn key(state: &mut State, key: Key) -> Vec<Command> {
    let dry_only = state.triage.dry_run_only;
    let visible = body_rows(state.ui.rows);
    let Some(b) = state.triage.bulk.as_mut() else {
        return Vec::new();
    };
    // Arrows and pages scroll the list (letters are the confirmation being typed).
    let max = b.line_count().saturating_sub(visible);
    let scroll = match key.code {
        KeyCode::Down => Some((b.scroll + 1).min(max)),
        KeyCode::Up => Some(b.scroll.saturating_sub(1)),
        KeyCode::PageDown => Some((b.scroll + visible).min(max)),
        KeyCode::PageUp => Some(b.scroll.saturating_sub(visible)),
        _ => None,
    };
    if let Some(s) = scroll {
        b.scroll = s;
        b.seen = b.seen.max(s + visible);
        return Vec::new();
    }
    match key.code {
        KeyCode::Esc => {
            state.triage.bulk = None;
            return Vec::new();
        }
        KeyCode::Enter if b.started => {
            if b.items
                .iter()
                .all(|i| !matches!(i.state, ItemState::Running { .. } | ItemState::Checking))
            {
                state.triage.bulk = None;
            }
            return Vec::new();
        }
        KeyCode::Backspace if !b.started => {
            b.typed.pop();
        }
        KeyCode::Char(c) if !b.started && !key.ctrl && !key.alt && b.typed.len() < 40 => {
            b.typed.push(c);
        }
        KeyCode::Enter
            if !b.started
                && !dry_only
                && !b.checking()
                && b.all_seen()
                && b.runnable() > 0
                && b.typed == b.expected() =>
        {
            return run(state);
        }
        _ => {}
    }
    Vec::new()
}

/// Hands every runnable target to the executor, one job each, and clears the marks.
fn run(state: &mut State) -> Vec<Command> {
    let Some(case) = state.triage.case_id.clone() else {
        return Vec::new();
    };
    if state.triage.quit_pending || !state.triage.enabled {
        state.triage.notice = Some(super::triage::DRAINING_JOB.into());
        return Vec::new();
    }
    let mut next = state.triage.next_id;
    let t = &mut state.triage;
    let Some(b) = t.bulk.as_mut() else {
        return Vec::new();
    };
    b.started = true;
    let mut cmds = Vec::new();
    for i in b.items.iter_mut() {
        if !i.runnable() {
            if matches!(i.state, ItemState::Ready { .. }) {
                i.state = ItemState::Skipped("a DryRun check refused it".into());
            }
            continue;
        }
        next += 1;
        i.id = next;
        i.state = ItemState::Running {
            progress: Vec::new(),
        };
        t.jobs.insert(
            i.id,
            (i.scope, i.target.instance_id.clone(), i.action.clone()),
        );
        t.marks.insert(
            (i.scope, i.target.instance_id.clone()),
            super::triage::Mark::running(&i.action),
        );
        cmds.push(Command::Triage(Job {
            id: i.id,
            preview: false,
            action: i.action.clone(),
            target: i.target.clone(),
            case_id: case.clone(),
        }));
    }
    t.next_id = next;
    state.ui.marked.clear();
    cmds
}

/// Applies an executor event to the bulk panel's target it is about, if any.
pub fn on_event(state: &mut State, e: &TriageEvent) {
    let Some(b) = state.triage.bulk.as_mut() else {
        return;
    };
    let id = match e {
        TriageEvent::Plan { id, .. }
        | TriageEvent::Progress { id, .. }
        | TriageEvent::Done { id, .. } => *id,
    };
    let Some(item) = b.items.iter_mut().find(|i| i.id == id) else {
        return;
    };
    match (e, &mut item.state) {
        (
            TriageEvent::Plan {
                checks,
                typed_confirmation,
                ..
            },
            ItemState::Checking,
        ) => {
            item.state = if *typed_confirmation {
                ItemState::Skipped("needs its own confirmation (typed id): act on it alone".into())
            } else {
                ItemState::Ready {
                    checks: checks.clone(),
                }
            };
        }
        (TriageEvent::Done { result: Err(e), .. }, ItemState::Checking) => {
            item.state = ItemState::Skipped(format!("check failed: {e}"));
        }
        (TriageEvent::Progress { step, .. }, ItemState::Running { progress }) => {
            progress.push(step.clone());
        }
        (TriageEvent::Done { result, .. }, ItemState::Running { .. }) => {
            item.state = ItemState::Done {
                ok: result.is_ok(),
                message: result.clone().unwrap_or_else(|e| e),
            };
        }
        _ => {}
    }
}
