//! Application state and the pure `update(state, msg) -> Vec<Command>` (no I/O, no await).

pub mod alerts;
pub mod bulk;
pub mod command;
pub mod copy;
pub mod findings;
mod fleet;
pub mod triage;

use chrono::{DateTime, Utc};

pub use fleet::{
    CpuSource, FeedState, FeedStatus, Fleet, Row, ScopeData, ScopeHealth, Totals, numeric_key,
    search_text,
};

use crate::feed::{Data, Report};
use crate::keymap::{Action, Key, KeyCode, Keymap};
use crate::source::mfa::Prompt;

/// Columns the fleet table can be sorted by (cycled with `sort-next`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Risk score (default, worst first).
    Risk,
    /// Latest CPU percent.
    Cpu,
    /// Worst finding severity, then count.
    Findings,
    /// Account alias.
    Account,
    /// Region.
    Region,
    /// Name tag.
    Name,
    /// Instance type.
    Type,
    /// Launch time.
    Launched,
    /// Price in $/h (unknown last).
    Cost,
}

impl SortKey {
    /// Cycle order.
    pub const ALL: [SortKey; 9] = [
        SortKey::Risk,
        SortKey::Cpu,
        SortKey::Findings,
        SortKey::Account,
        SortKey::Region,
        SortKey::Name,
        SortKey::Type,
        SortKey::Launched,
        SortKey::Cost,
    ];

    /// Label in the footer.
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Risk => "risk",
            SortKey::Cpu => "cpu",
            SortKey::Findings => "findings",
            SortKey::Account => "account",
            SortKey::Region => "region",
            SortKey::Name => "name",
            SortKey::Type => "type",
            SortKey::Launched => "launched",
            SortKey::Cost => "$/h",
        }
    }

    /// Natural direction: numbers worst/highest first, text A-Z.
    pub fn descending_by_default(self) -> bool {
        matches!(
            self,
            SortKey::Risk | SortKey::Cpu | SortKey::Findings | SortKey::Launched | SortKey::Cost
        )
    }
}

/// Which screen is showing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// The fleet table.
    Fleet,
    /// One instance: (scope index, instance id).
    Detail {
        /// Scope index in the fleet.
        scope: usize,
        /// The row's id: instance id or task ARN.
        id: String,
        /// Scroll offset of the detail body.
        scroll: u16,
        /// Selected finding, by id (what archive acts on, whatever the list order does).
        finding: Option<String>,
    },
    /// Every finding of the fleet, grouped by type.
    Findings {
        /// What is selected, by key (it stays on the same entry when a poll reorders the board).
        selected: Option<findings::Entry>,
        /// First visible line.
        offset: usize,
    },
    /// Key bindings.
    Help {
        /// Screen to return to.
        back: Box<Screen>,
        /// Scroll offset.
        scroll: u16,
    },
}

/// An MFA code being typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaPromptState {
    /// Request id to answer.
    pub id: u64,
    /// Account alias.
    pub alias: String,
    /// MFA device.
    pub serial: String,
    /// Digits typed so far (never stored elsewhere, cleared on submit).
    pub input: String,
}

/// View state: what is selected, filtered and sorted.
#[derive(Debug, Clone)]
pub struct Ui {
    /// Current screen.
    pub screen: Screen,
    /// Filter text as typed (the language of [`crate::filter`]).
    pub filter: String,
    /// The filter the view applies: the last text that parsed.
    pub query: crate::filter::Filter,
    /// Why the filter text does not parse (shown inline; the last good filter stays applied).
    pub filter_error: Option<crate::filter::FilterError>,
    /// True while the filter is being typed.
    pub editing_filter: bool,
    /// The command line, while open.
    pub command: Option<command::CommandLine>,
    /// Commands run, newest first.
    pub history: Vec<String>,
    /// The copy menu is open.
    pub copy_menu: bool,
    /// Rows marked for bulk triage: (scope index, row id). Kept by identity, whatever the
    /// filter or a re-rank does.
    pub marked: std::collections::BTreeSet<(usize, String)>,
    /// Sort column.
    pub sort: SortKey,
    /// Sort direction.
    pub descending: bool,
    /// Selected position in `view`.
    pub selected: usize,
    /// When a poll last changed which instance is under the cursor (triage keys wait a moment
    /// after that, so they act on the row the operator saw).
    pub cursor_moved_at: Option<DateTime<Utc>>,
    /// First visible position in `view`.
    pub offset: usize,
    /// Rows that fit in the table (set by the renderer via `Msg::Resize`).
    pub page: usize,
    /// Terminal lines (set via `Msg::Resize`).
    pub rows: u16,
    /// MFA prompts waiting for the operator, first one shown.
    pub mfa: std::collections::VecDeque<MfaPromptState>,
    /// Lookups asked for and not answered yet: (scope index, instance id).
    pub looking_up: std::collections::HashSet<(usize, String)>,
}

/// Everything the app knows; rendering reads it, only `update` writes it.
#[derive(Debug, Clone)]
pub struct State {
    /// Wall clock as of the last tick (staleness is measured against it).
    pub now: DateTime<Utc>,
    /// Where the data comes from (`demo`, `aws`), shown in the header.
    pub source: String,
    /// The fleet data.
    pub fleet: Fleet,
    /// Row indices into `fleet.rows`, filtered and sorted.
    pub view: Vec<usize>,
    /// View state.
    pub ui: Ui,
    /// Active keymap.
    pub keymap: Keymap,
    /// Set when something visible changed since the last render.
    pub dirty: bool,
    /// Triage panel, case id, row marks.
    pub triage: triage::TriageUi,
    /// The `--log-file`, named on the help screen.
    pub log_file: Option<String>,
    /// The war-room wall (`watchfloor wall`): read-only display, only quitting does anything.
    pub wall: bool,
    /// When the fleet data last changed (the wall shows it).
    pub last_change: Option<DateTime<Utc>>,
    /// What raised alerts, and the recent ones.
    pub alerts: alerts::Alerts,
    /// The last result of the `[alerts] command` (shown on the wall and help screen).
    pub alert_command: Option<Result<String, String>>,
}

/// Input to `update`.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A report from a feed (the only thing that reaches the fleet model).
    Feed(Report),
    /// A burst of reports, applied at once (the view is rebuilt and alerts looked for once).
    Feeds(Vec<Report>),
    /// An MFA prompt raised or withdrawn by the AWS source.
    Prompt(Prompt),
    /// News from the triage executor.
    Triage(crate::triage::executor::TriageEvent),
    /// A key press.
    Key(Key),
    /// Clock tick (1 s).
    Tick(DateTime<Utc>),
    /// The mouse wheel turned: rows (positive: down) to move or scroll.
    Scroll(isize),
    /// A click on the fleet table's row at this position of the view.
    Click(usize),
    /// How a run of the `[alerts] command` went.
    AlertCommand(Result<String, String>),
    /// The table now fits this many rows.
    Resize {
        /// Visible table rows.
        page: usize,
        /// Terminal lines (panels that list many things scroll within them).
        rows: u16,
    },
}

/// Side effects `update` asks the event loop to perform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Leave the console (restoring the terminal). Only emitted when leaving is right: no run
    /// under way, the last one just ended after a quit, or a second quit.
    Quit {
        /// Quit again while runs were under way: the caller finishes them at once, without the
        /// rest of their wait.
        forced: bool,
    },
    /// Hand a triage job (preview or run) to the executor.
    Triage(crate::triage::executor::Job),
    /// Ring the bell, set the title, run the alert command (as configured).
    Alert(alerts::Alert),
    /// Put this text on the terminal's clipboard (OSC 52).
    Copy(String),
    /// Switch to this theme (`:theme`); the event loop loads it and reports a failure.
    SetTheme(String),
    /// Look something up on demand (who launched an instance).
    Lookup(crate::source::lookups::Lookup),
    /// Answer an MFA prompt: the code, or why there is none.
    MfaAnswer {
        /// Request id.
        id: u64,
        /// Code or reason.
        answer: Result<String, String>,
    },
}

impl State {
    /// Fresh state with no data.
    pub fn new(source: impl Into<String>, keymap: Keymap, now: DateTime<Utc>) -> Self {
        State {
            now,
            source: source.into(),
            fleet: Fleet::default(),
            view: Vec::new(),
            ui: Ui {
                screen: Screen::Fleet,
                filter: String::new(),
                query: Default::default(),
                filter_error: None,
                editing_filter: false,
                command: None,
                history: Vec::new(),
                marked: Default::default(),
                copy_menu: false,
                sort: SortKey::Risk,
                descending: true,
                selected: 0,
                cursor_moved_at: None,
                offset: 0,
                page: 20,
                rows: 24,
                mfa: Default::default(),
                looking_up: Default::default(),
            },
            keymap,
            dirty: true,
            triage: triage::TriageUi::default(),
            log_file: None,
            wall: false,
            last_change: None,
            alerts: Default::default(),
            alert_command: None,
        }
    }

    /// The selected row, if any.
    pub fn selected_row(&self) -> Option<&Row> {
        self.view
            .get(self.ui.selected)
            .and_then(|i| self.fleet.rows.get(*i))
    }

    /// Recomputes `view` from the rows, filter and sort.
    ///
    /// At the top of the list the cursor stays on the top row (the worst instance is always in
    /// view); elsewhere the selected instance stays selected at the same screen position.
    pub fn rebuild_view(&mut self) {
        let at_top = self.ui.selected == 0;
        let screen_row = self.ui.selected.saturating_sub(self.ui.offset);
        let keep = self.selected_row().map(|r| (r.scope, r.id().to_string()));
        let fleet = &self.fleet;
        let (query, now) = (&self.ui.query, self.now);
        let view: Vec<usize> = (0..fleet.rows.len())
            .filter(|i| query.is_empty() || query.matches(fleet, &fleet.rows[*i], now))
            .collect();
        let desc = self.ui.descending;
        let key = self.ui.sort;
        // Every column sorts by a number per row (a string column by the rank of its value among
        // the values present), then by row order on ties (rows are grouped by scope, each in
        // inventory order, see Fleet::apply): deterministic and stable across polls. One radix
        // sort of 100,000 rows takes about a millisecond.
        let rows = &fleet.rows;
        let keys: Vec<u64> = match key {
            SortKey::Account | SortKey::Region => {
                let rank = fleet::scope_ranks(fleet, key);
                view.iter().map(|i| rank[rows[*i].scope]).collect()
            }
            SortKey::Name | SortKey::Type => {
                let texts: Vec<std::borrow::Cow<'_, str>> = view
                    .iter()
                    .map(|i| match key {
                        SortKey::Name => rows[*i].subject.name(),
                        _ => rows[*i].subject.type_label().into(),
                    })
                    .collect();
                text_ranks(&texts)
            }
            _ => view
                .iter()
                .map(|i| fleet::numeric_key(&rows[*i], key).unwrap_or(0))
                .collect(),
        };
        let mut keyed: Vec<(u64, u32)> = view
            .iter()
            .zip(keys)
            .map(|(i, k)| (if desc { u64::MAX - k } else { k }, *i as u32))
            .collect();
        radix_sort(&mut keyed);
        let view: Vec<usize> = keyed.into_iter().map(|(_, i)| i as usize).collect();
        self.view = view;
        if at_top {
            self.ui.selected = 0;
            self.ui.offset = 0;
        } else if let Some((scope, id)) = keep
            && let Some(pos) = self.view.iter().position(|i| {
                let r = &self.fleet.rows[*i];
                r.scope == scope && r.id() == id
            })
        {
            self.ui.selected = pos;
            self.ui.offset = pos.saturating_sub(screen_row);
        }
        self.clamp_selection();
    }

    /// Sets the filter text: parses it, applies it when it parses, and otherwise keeps the last
    /// good filter applied and records the error to show.
    pub fn set_filter(&mut self, text: String) {
        match crate::filter::parse(&text) {
            Ok(q) => {
                self.ui.query = q;
                self.ui.filter_error = None;
            }
            Err(e) => self.ui.filter_error = Some(e),
        }
        self.ui.filter = text;
        self.rebuild_view();
    }

    fn clamp_selection(&mut self) {
        let n = self.view.len();
        if n == 0 {
            self.ui.selected = 0;
            self.ui.offset = 0;
            return;
        }
        self.ui.selected = self.ui.selected.min(n - 1);
        let page = self.ui.page.max(1);
        if self.ui.selected < self.ui.offset {
            self.ui.offset = self.ui.selected;
        } else if self.ui.selected >= self.ui.offset + page {
            self.ui.offset = self.ui.selected + 1 - page;
        }
        self.ui.offset = self.ui.offset.min(n.saturating_sub(page));
    }

    fn move_selection(&mut self, delta: isize) {
        if self.view.is_empty() {
            return;
        }
        let max = self.view.len() as isize - 1;
        self.ui.selected = (self.ui.selected as isize + delta).clamp(0, max) as usize;
        self.clamp_selection();
    }
}

/// The rank of each text among `texts` (equal texts share a rank; ranks follow text order).
/// Sorted by their first 16 bytes as one number, then by the whole text only where those tie:
/// most comparisons are of two integers, not of two strings.
fn text_ranks(texts: &[std::borrow::Cow<'_, str>]) -> Vec<u64> {
    let prefix = |t: &str| {
        let mut b = [0u8; 16];
        let n = t.len().min(16);
        b[..n].copy_from_slice(&t.as_bytes()[..n]);
        u128::from_be_bytes(b)
    };
    let mut order: Vec<(u128, u32)> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (prefix(t), i as u32))
        .collect();
    order.sort_unstable();
    let text = |i: u32| texts[i as usize].as_ref();
    let mut start = 0;
    while start < order.len() {
        let end = start + order[start..].partition_point(|e| e.0 == order[start].0);
        if end - start > 1 {
            order[start..end].sort_unstable_by(|a, b| text(a.1).cmp(text(b.1)));
        }
        start = end;
    }
    let mut ranks = vec![0u64; texts.len()];
    let mut rank = 0u64;
    for n in 0..order.len() {
        if n > 0 && (order[n].0 != order[n - 1].0 || text(order[n].1) != text(order[n - 1].1)) {
            rank += 1;
        }
        ranks[order[n].1 as usize] = rank;
    }
    ranks
}

/// Sorts by key, keeping the input order of equal keys (a stable LSD radix sort by bytes,
/// skipping the bytes every key shares).
fn radix_sort(v: &mut Vec<(u64, u32)>) {
    let (all_or, all_and) = v
        .iter()
        .fold((0u64, u64::MAX), |(o, a), (k, _)| (o | k, a & k));
    let varying = all_or ^ all_and;
    let mut buf = vec![(0u64, 0u32); v.len()];
    for byte in 0..8 {
        let shift = byte * 8;
        if (varying >> shift) & 0xFF == 0 {
            continue;
        }
        let mut counts = [0usize; 257];
        for (k, _) in v.iter() {
            counts[((k >> shift) & 0xFF) as usize + 1] += 1;
        }
        for d in 0..256 {
            counts[d + 1] += counts[d];
        }
        for e in v.iter() {
            let d = ((e.0 >> shift) & 0xFF) as usize;
            buf[counts[d]] = *e;
            counts[d] += 1;
        }
        std::mem::swap(v, &mut buf);
    }
}

/// Applies feed reports: the fleet, then the view, alerts and resume offers once.
fn feeds(state: &mut State, reports: Vec<Report>) -> Vec<Command> {
    for u in &reports {
        if let Report::LaunchedBy {
            scope, instance_id, ..
        } = u
            && let Some(ix) = state.fleet.find_scope(scope)
        {
            state.ui.looking_up.remove(&(ix, instance_id.clone()));
        }
        // A fresh inventory replaces the console's final marks of its kind with what live
        // data shows (the ECS targets, tasks and services, are ARNs).
        if let Report::Data { data, .. } = u
            && let Data::Inventory { scope, .. } | Data::Tasks { scope, .. } = data
            && let Some(ix) = state.fleet.find_scope(scope)
        {
            let ecs = matches!(data, Data::Tasks { .. });
            state.triage.marks.retain(|(s, id), mark| {
                *s != ix || mark.is_running() || id.starts_with("arn:") != ecs
            });
        }
    }
    if state.fleet.apply_all(reports, state.now) {
        let before = state.selected_row().map(|r| (r.scope, r.id().to_string()));
        state.rebuild_view();
        let after = state.selected_row().map(|r| (r.scope, r.id().to_string()));
        if before.is_some() && before != after {
            state.ui.cursor_moved_at = Some(state.now);
        }
        state.last_change = Some(state.now);
        state.dirty = true;
        let mut cmds: Vec<Command> = state
            .alerts
            .detect(&state.fleet, state.now)
            .into_iter()
            .map(Command::Alert)
            .collect();
        cmds.extend(triage::offer_resume(state));
        return cmds;
    }
    triage::offer_resume(state)
}

/// Applies one message. Pure: no I/O, no clock reads, no await.
pub fn update(state: &mut State, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Prompt(Prompt::Ask { id, alias, serial }) => {
            state.ui.mfa.push_back(MfaPromptState {
                id,
                alias,
                serial,
                input: String::new(),
            });
            state.dirty = true;
            Vec::new()
        }
        Msg::Prompt(Prompt::Cancel { id }) => {
            state.ui.mfa.retain(|p| p.id != id);
            state.dirty = true;
            Vec::new()
        }
        Msg::Triage(e) => {
            triage::on_event(state, e);
            state.dirty = true;
            if let Some(quit) = triage::quit_if_drained(state) {
                return vec![quit];
            }
            triage::offer_resume(state)
        }
        Msg::Feed(u) => feeds(state, vec![u]),
        Msg::Feeds(v) => feeds(state, v),
        Msg::Scroll(_) | Msg::Click(_) if modal_open(state) || state.wall => Vec::new(),
        Msg::Scroll(n) => {
            let action = if n > 0 {
                Action::MoveDown
            } else {
                Action::MoveUp
            };
            for _ in 0..n.unsigned_abs() {
                on_action(state, action);
            }
            state.dirty = true;
            Vec::new()
        }
        Msg::Click(pos) => {
            if matches!(state.ui.screen, Screen::Fleet) && pos < state.view.len() {
                state.ui.selected = pos;
                state.clamp_selection();
                state.dirty = true;
            }
            Vec::new()
        }
        Msg::AlertCommand(r) => {
            if let Err(e) = &r {
                state.triage.notice = Some(e.clone());
            }
            state.alert_command = Some(r);
            state.dirty = true;
            Vec::new()
        }
        Msg::Tick(now) => {
            state.now = now;
            // Ages and staleness are drawn from `now`: redraw once a second.
            state.dirty = true;
            Vec::new()
        }
        Msg::Resize { page, rows } => {
            if rows != state.ui.rows {
                state.ui.rows = rows;
                bulk::resized(state);
                state.dirty = true;
            }
            if page != state.ui.page {
                state.ui.page = page.max(1);
                state.clamp_selection();
                state.dirty = true;
            }
            Vec::new()
        }
        Msg::Key(key) => {
            state.dirty = true;
            state.triage.notice = None;
            if key == Key::ctrl('c') {
                return triage::quit(state);
            }
            if !state.ui.mfa.is_empty() {
                return edit_mfa(state, key);
            }
            // The wall only displays: quitting (and typing an MFA code) is all a key does there.
            if state.wall {
                return match state.keymap.action(&key) {
                    Some(Action::Quit) => triage::quit(state),
                    _ => Vec::new(),
                };
            }
            if state.triage.case_prompt.is_some() {
                return triage::case_key(state, key);
            }
            if state.triage.panel.is_some() {
                return triage::panel_key(state, key);
            }
            if state.triage.bulk.is_some() {
                return bulk::key(state, key);
            }
            if state.ui.editing_filter {
                edit_filter(state, key);
                return Vec::new();
            }
            if state.ui.command.is_some() {
                return command::key(state, key);
            }
            if state.ui.copy_menu {
                return copy::menu_key(state, key);
            }
            match state.keymap.action(&key) {
                Some(action) => on_action(state, action),
                None => Vec::new(),
            }
        }
    }
}

/// True while a prompt, panel, menu or line takes the keys (the mouse does nothing then).
fn modal_open(state: &State) -> bool {
    !state.ui.mfa.is_empty()
        || state.triage.case_prompt.is_some()
        || state.triage.panel.is_some()
        || state.triage.bulk.is_some()
        || state.ui.editing_filter
        || state.ui.command.is_some()
        || state.ui.copy_menu
}

/// Keys while an MFA prompt is open: digits, backspace, enter submits 6 digits, esc declines.
fn edit_mfa(state: &mut State, key: Key) -> Vec<Command> {
    let Some(p) = state.ui.mfa.front_mut() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Char(c) if c.is_ascii_digit() && !key.ctrl && !key.alt && p.input.len() < 6 => {
            p.input.push(c);
            Vec::new()
        }
        KeyCode::Backspace => {
            p.input.pop();
            Vec::new()
        }
        KeyCode::Enter if p.input.len() == 6 => {
            let done = state.ui.mfa.pop_front().expect("front exists");
            vec![Command::MfaAnswer {
                id: done.id,
                answer: Ok(done.input),
            }]
        }
        KeyCode::Esc => {
            let done = state.ui.mfa.pop_front().expect("front exists");
            vec![Command::MfaAnswer {
                id: done.id,
                answer: Err(format!("no MFA code given for `{}`", done.alias)),
            }]
        }
        _ => Vec::new(),
    }
}

/// Keys while the filter is typed: it applies as it parses; enter keeps it (not while it has an
/// error), esc clears it.
fn edit_filter(state: &mut State, key: Key) {
    match key.code {
        KeyCode::Enter if state.ui.filter_error.is_none() => state.ui.editing_filter = false,
        KeyCode::Esc => {
            state.ui.editing_filter = false;
            state.set_filter(String::new());
        }
        KeyCode::Backspace => {
            let mut text = std::mem::take(&mut state.ui.filter);
            text.pop();
            state.set_filter(text);
        }
        KeyCode::Char(c) if !key.ctrl && !key.alt => {
            let mut text = std::mem::take(&mut state.ui.filter);
            text.push(c);
            state.ui.selected = 0;
            state.set_filter(text);
        }
        _ => {}
    }
}

fn on_action(state: &mut State, action: Action) -> Vec<Command> {
    let page = state.ui.page.max(1) as isize;
    // With rows marked, stop, quarantine and snapshot on the fleet act on the marks.
    if matches!(state.ui.screen, Screen::Fleet) && bulk::applies(state, action) {
        if triage::blocked(state) {
            return Vec::new();
        }
        return bulk::start(state, action);
    }
    if matches!(
        action,
        Action::Stop | Action::Quarantine | Action::Release | Action::Snapshot
    ) && matches!(state.ui.screen, Screen::Fleet | Screen::Detail { .. })
        || (action == Action::ArchiveFinding && matches!(state.ui.screen, Screen::Detail { .. }))
    {
        return triage::start(state, action);
    }
    if action == Action::NextFinding
        && let Screen::Detail {
            scope, id, finding, ..
        } = &mut state.ui.screen
    {
        let list = state
            .fleet
            .row(*scope, id)
            .map(|r| state.fleet.findings_of(r))
            .unwrap_or_default();
        let next = match finding
            .as_ref()
            .and_then(|id| list.iter().position(|f| &f.id == id))
        {
            Some(i) => (i + 1) % list.len(),
            None => 0,
        };
        *finding = list.get(next).map(|f| f.id.clone());
        return Vec::new();
    }
    match action {
        Action::Command => {
            command::open(state);
            return Vec::new();
        }
        Action::Findings if !matches!(state.ui.screen, Screen::Help { .. }) => {
            findings::open(state);
            return Vec::new();
        }
        Action::Copy | Action::CopyMenu if !matches!(state.ui.screen, Screen::Help { .. }) => {
            if triage::cursor_just_moved(state) {
                return Vec::new();
            }
            return copy::start(state, action);
        }
        _ => {}
    }
    if matches!(state.ui.screen, Screen::Findings { .. })
        && !matches!(action, Action::Quit | Action::Help)
    {
        return findings::on_action(state, action);
    }
    match (&mut state.ui.screen, action) {
        (_, Action::Quit) => return triage::quit(state),
        (Screen::Help { back, .. }, Action::Back | Action::Help) => {
            state.ui.screen = (**back).clone();
        }
        (Screen::Help { scroll, .. }, Action::MoveDown) => *scroll = scroll.saturating_add(1),
        (Screen::Help { scroll, .. }, Action::MoveUp) => *scroll = scroll.saturating_sub(1),
        (Screen::Help { .. } | Screen::Findings { .. }, _) => {}
        (screen, Action::Help) => {
            let back = Box::new(screen.clone());
            state.ui.screen = Screen::Help { back, scroll: 0 };
        }
        (Screen::Detail { scope, id, .. }, Action::LaunchedBy) => {
            let (scope, id) = (*scope, id.clone());
            return launched_by(state, scope, &id);
        }
        // From an EC2-launched task to the instance it runs on.
        (Screen::Detail { scope, id, .. }, Action::Open) => {
            let scope = *scope;
            let host = state
                .fleet
                .row(scope, id)
                .and_then(|r| r.task()?.host_instance.clone())
                .filter(|h| state.fleet.row(scope, h).is_some());
            if let Some(host) = host {
                let finding = state
                    .fleet
                    .row(scope, &host)
                    .and_then(|r| state.fleet.findings_of(r).first().map(|f| f.id.clone()));
                state.ui.screen = Screen::Detail {
                    scope,
                    id: host,
                    scroll: 0,
                    finding,
                };
            }
        }
        (Screen::Detail { scroll, .. }, a) => match a {
            Action::Back => state.ui.screen = Screen::Fleet,
            Action::MoveDown => *scroll = scroll.saturating_add(1),
            Action::MoveUp => *scroll = scroll.saturating_sub(1),
            Action::PageDown => *scroll = scroll.saturating_add(page as u16),
            Action::PageUp => *scroll = scroll.saturating_sub(page as u16),
            Action::Top => *scroll = 0,
            _ => {}
        },
        (Screen::Fleet, a) => match a {
            Action::MoveDown => state.move_selection(1),
            Action::MoveUp => state.move_selection(-1),
            Action::PageDown => state.move_selection(page),
            Action::PageUp => state.move_selection(-page),
            Action::Top => state.move_selection(-(state.view.len() as isize)),
            Action::Bottom => state.move_selection(state.view.len() as isize),
            Action::Open => {
                if let Some(r) = state.selected_row() {
                    let finding = state.fleet.findings_of(r).first().map(|f| f.id.clone());
                    state.ui.screen = Screen::Detail {
                        scope: r.scope,
                        id: r.id().to_string(),
                        scroll: 0,
                        finding,
                    };
                }
            }
            Action::Back => {
                if !state.ui.filter.is_empty() {
                    state.set_filter(String::new());
                }
            }
            Action::Filter => state.ui.editing_filter = true,
            Action::SortNext => {
                let i = SortKey::ALL
                    .iter()
                    .position(|k| *k == state.ui.sort)
                    .unwrap_or(0);
                state.ui.sort = SortKey::ALL[(i + 1) % SortKey::ALL.len()];
                state.ui.descending = state.ui.sort.descending_by_default();
                state.rebuild_view();
            }
            Action::SortReverse => {
                state.ui.descending = !state.ui.descending;
                state.rebuild_view();
            }
            Action::Mark if triage::cursor_just_moved(state) => {}
            Action::Mark => {
                if let Some(r) = state.selected_row() {
                    let key = (r.scope, r.id().to_string());
                    if !state.ui.marked.remove(&key) {
                        state.ui.marked.insert(key);
                    }
                }
            }
            Action::ClearMarks => state.ui.marked.clear(),
            Action::Help
            | Action::Copy
            | Action::CopyMenu
            | Action::Command
            | Action::Findings
            | Action::Quit
            | Action::Stop
            | Action::Quarantine
            | Action::Release
            | Action::Snapshot
            | Action::Confirm
            | Action::NextFinding
            | Action::ArchiveFinding
            | Action::LaunchedBy => {}
        },
    }
    Vec::new()
}

/// Asks who launched an instance, unless the answer is known (a failed lookup, or one made
/// before CloudTrail recorded the launch, may be retried) or being looked up.
fn launched_by(state: &mut State, scope: usize, instance_id: &str) -> Vec<Command> {
    let Some(row) = state
        .fleet
        .row(scope, instance_id)
        .filter(|r| r.instance().is_some())
    else {
        return Vec::new();
    };
    let sd = &state.fleet.scopes[scope];
    if sd.launched_by.get(instance_id).is_some_and(|r| !r.retry()) {
        return Vec::new();
    }
    let key = (scope, instance_id.to_string());
    if !state.ui.looking_up.insert(key) {
        return Vec::new();
    }
    vec![Command::Lookup(crate::source::lookups::Lookup {
        scope: sd.scope.clone(),
        instance_id: instance_id.to_string(),
        launched: row.subject.launched(),
    })]
}

#[cfg(test)]
mod tests;
