//! The findings board: every live finding of the fleet grouped by type, and its keys.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::keymap::Action;

use super::{Command, Fleet, Screen, State};

/// One line of the board, by key: a type's group or one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// The group of a finding type.
    Group(String),
    /// One finding: scope index and finding id.
    Finding(usize, String),
}

/// One finding on the board.
#[derive(Debug, Clone)]
pub struct Item {
    /// Scope index.
    pub scope: usize,
    /// Finding id.
    pub id: String,
    /// Numeric severity.
    pub severity: f64,
    /// GuardDuty's occurrence count.
    pub count: u64,
    /// Last seen.
    pub updated_at: DateTime<Utc>,
    /// Ids of the rows (instances, tasks) it is about, in row order.
    pub rows: Vec<String>,
    /// What the finding names when no row shows it (an instance id or task ARN not in the
    /// inventory), else empty.
    pub named: String,
}

/// Every finding of one type.
#[derive(Debug, Clone)]
pub struct Group {
    /// Finding type.
    pub kind: String,
    /// Worst severity.
    pub worst: f64,
    /// Occurrences (GuardDuty's counts summed).
    pub count: u64,
    /// Distinct rows affected.
    pub rows: usize,
    /// Account aliases affected, sorted.
    pub accounts: Vec<String>,
    /// Newest update.
    pub last_seen: DateTime<Utc>,
    /// Its findings, worst and newest first.
    pub items: Vec<Item>,
}

/// The board: groups worst first (then most occurrences, then type).
pub fn board(fleet: &Fleet) -> Vec<Group> {
    // Which rows each finding is about, by the fleet's own matching.
    let mut about: HashMap<(usize, &str), Vec<String>> = HashMap::new();
    for row in &fleet.rows {
        for f in fleet.findings_of(row) {
            about
                .entry((row.scope, f.id.as_str()))
                .or_default()
                .push(row.id().to_string());
        }
    }
    let mut groups: HashMap<&str, Group> = HashMap::new();
    for (s, sd) in fleet
        .scopes
        .iter()
        .enumerate()
        .filter(|(_, sd)| !sd.retired)
    {
        for f in sd.findings.values() {
            let rows = about.remove(&(s, f.id.as_str())).unwrap_or_default();
            let named = if rows.is_empty() {
                f.instance_id
                    .clone()
                    .or_else(|| f.task_arn.clone())
                    .or_else(|| f.cluster_arn.clone())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let g = groups.entry(f.kind.as_str()).or_insert_with(|| Group {
                kind: f.kind.clone(),
                worst: f.severity,
                count: 0,
                rows: 0,
                accounts: Vec::new(),
                last_seen: f.updated_at,
                items: Vec::new(),
            });
            g.worst = g.worst.max(f.severity);
            g.count += f.count.max(1);
            g.last_seen = g.last_seen.max(f.updated_at);
            g.items.push(Item {
                scope: s,
                id: f.id.clone(),
                severity: f.severity,
                count: f.count.max(1),
                updated_at: f.updated_at,
                rows,
                named,
            });
        }
    }
    let mut out: Vec<Group> = groups
        .into_values()
        .map(|mut g| {
            let rows: BTreeSet<(usize, &str)> = g
                .items
                .iter()
                .flat_map(|i| i.rows.iter().map(move |r| (i.scope, r.as_str())))
                .collect();
            g.rows = rows.len();
            let accounts: BTreeSet<&str> = g
                .items
                .iter()
                .map(|i| fleet.scopes[i.scope].alias.as_str())
                .collect();
            g.accounts = accounts.into_iter().map(String::from).collect();
            g.items.sort_by(|a, b| {
                b.severity
                    .total_cmp(&a.severity)
                    .then_with(|| b.updated_at.cmp(&a.updated_at))
                    .then_with(|| a.id.cmp(&b.id))
            });
            g
        })
        .collect();
    out.sort_by(|a, b| {
        b.worst
            .total_cmp(&a.worst)
            .then_with(|| b.count.cmp(&a.count))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    out
}

/// The board's lines in order: each group, then its findings.
pub fn entries(groups: &[Group]) -> Vec<Entry> {
    groups
        .iter()
        .flat_map(|g| {
            std::iter::once(Entry::Group(g.kind.clone())).chain(
                g.items
                    .iter()
                    .map(|i| Entry::Finding(i.scope, i.id.clone())),
            )
        })
        .collect()
}

/// Shows the board, the first line selected.
pub fn open(state: &mut State) {
    state.ui.screen = Screen::Findings {
        selected: None,
        offset: 0,
    };
}

/// Position of the selected entry (the first when it is gone or none is).
pub fn position(entries: &[Entry], selected: Option<&Entry>) -> usize {
    selected
        .and_then(|s| entries.iter().position(|e| e == s))
        .unwrap_or(0)
}

/// Keys on the board: move, enter (a group: the fleet filtered to rows with a finding of its
/// type; a finding: its
/// row's detail), archive a finding, back.
pub fn on_action(state: &mut State, action: Action) -> Vec<Command> {
    let Screen::Findings { selected, offset } = &state.ui.screen else {
        return Vec::new();
    };
    let groups = board(&state.fleet);
    let entries = entries(&groups);
    let pos = position(&entries, selected.as_ref());
    let page = state.ui.page.max(1);
    let last = entries.len().saturating_sub(1);
    let moved = match action {
        Action::MoveDown => Some((pos + 1).min(last)),
        Action::MoveUp => Some(pos.saturating_sub(1)),
        Action::PageDown => Some((pos + page).min(last)),
        Action::PageUp => Some(pos.saturating_sub(page)),
        Action::Top => Some(0),
        Action::Bottom => Some(last),
        _ => None,
    };
    if let Some(p) = moved {
        let mut off = *offset;
        if p < off {
            off = p;
        } else if p >= off + page {
            off = p + 1 - page;
        }
        state.ui.screen = Screen::Findings {
            selected: entries.get(p).cloned(),
            offset: off,
        };
        return Vec::new();
    }
    match (action, entries.get(pos)) {
        (Action::Back, _) => state.ui.screen = Screen::Fleet,
        (Action::Open, Some(Entry::Group(kind))) => {
            state.ui.screen = Screen::Fleet;
            state.ui.selected = 0;
            // The exact type: `finding:` matches whole types, not text inside longer ones.
            state.set_filter(format!("finding:\"{}\"", kind.replace(['"', ' '], "")));
        }
        (Action::Open, Some(Entry::Finding(scope, id))) => {
            let item = groups
                .iter()
                .flat_map(|g| &g.items)
                .find(|i| i.scope == *scope && &i.id == id);
            match item.and_then(|i| i.rows.first()) {
                Some(row) => {
                    state.ui.screen = Screen::Detail {
                        scope: *scope,
                        id: row.clone(),
                        scroll: 0,
                        finding: Some(id.clone()),
                    }
                }
                None => {
                    state.triage.notice = Some(format!(
                        "finding {id} names {}, which is not in the inventory",
                        item.map_or("nothing", |i| i.named.as_str())
                    ))
                }
            }
        }
        (Action::ArchiveFinding, Some(Entry::Finding(scope, id))) => {
            let (scope, id) = (*scope, id.clone());
            return super::triage::archive(state, scope, &id);
        }
        (Action::ArchiveFinding, _) => {
            state.triage.notice = Some("select a finding (not a type) to archive it".into());
        }
        _ => {}
    }
    Vec::new()
}
