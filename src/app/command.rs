//! Command mode (`:`): the command line, its completion and history, and what each command does.

use crate::keymap::{Key, KeyCode};

use super::{Command, Screen, SortKey, State};

/// The commands, their argument and what they do (help, completion and the unknown-command
/// message list them in this order).
pub const COMMANDS: &[(&str, &str, &str)] = &[
    ("fleet", "", "the fleet table"),
    ("findings", "", "every finding, grouped by type"),
    ("help", "", "key bindings and commands"),
    (
        "account",
        "[ALIAS]",
        "only this account (no argument: every account)",
    ),
    (
        "region",
        "[CODE]",
        "only this region, glob allowed (no argument: every region)",
    ),
    ("sort", "COLUMN [asc|desc]", "sort the fleet by a column"),
    ("theme", "NAME", "switch the colour theme"),
    ("case", "ID", "case id for the next triage actions"),
    ("q", "", "quit (also :quit)"),
];

/// Most commands kept in the history.
const HISTORY: usize = 100;

/// The command line being typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// Text after the `:`.
    pub input: String,
    /// Position in the history while browsing it with up/down (0 = newest).
    pub browsing: Option<usize>,
    /// Why the last command did not run.
    pub error: Option<String>,
}

/// Opens the command line.
pub fn open(state: &mut State) {
    state.ui.command = Some(CommandLine::default());
}

/// Keys while the command line is open: text, tab completes, up/down browse the history, enter
/// runs, esc closes.
pub fn key(state: &mut State, key: Key) -> Vec<Command> {
    let Some(line) = state.ui.command.as_mut() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => state.ui.command = None,
        KeyCode::Enter => {
            let input = line.input.trim().to_string();
            if input.is_empty() {
                state.ui.command = None;
                return Vec::new();
            }
            if state.ui.history.first() != Some(&input) {
                state.ui.history.insert(0, input.clone());
                state.ui.history.truncate(HISTORY);
            }
            return match run(state, &input) {
                Ok(cmds) => {
                    state.ui.command = None;
                    cmds
                }
                Err(e) => {
                    if let Some(line) = state.ui.command.as_mut() {
                        line.error = Some(e);
                    }
                    Vec::new()
                }
            };
        }
        KeyCode::Tab => {
            let typed = line.input.clone();
            let done = complete(state, &typed);
            if let Some(line) = state.ui.command.as_mut() {
                line.input = done;
                line.error = None;
            }
        }
        KeyCode::Up | KeyCode::Down => {
            let n = state.ui.history.len();
            if n == 0 {
                return Vec::new();
            }
            line.browsing = match (key.code, line.browsing) {
                (KeyCode::Up, None) => Some(0),
                (KeyCode::Up, Some(i)) => Some((i + 1).min(n - 1)),
                (_, Some(0) | None) => None,
                (_, Some(i)) => Some(i - 1),
            };
            line.input = line
                .browsing
                .map_or_else(String::new, |i| state.ui.history[i].clone());
            line.error = None;
        }
        KeyCode::Backspace => {
            line.input.pop();
            line.error = None;
        }
        KeyCode::Char(c) if !key.ctrl && !key.alt && line.input.len() < 200 => {
            line.input.push(c);
            line.error = None;
        }
        _ => {}
    }
    Vec::new()
}

/// What the word being typed could become: command names, or the command's arguments (account
/// aliases, regions, sort columns, theme names).
pub fn candidates(state: &State, input: &str) -> Vec<String> {
    let (cmd, arg) = match input.split_once(' ') {
        None => {
            return COMMANDS
                .iter()
                .map(|(c, ..)| c.to_string())
                .filter(|c| c.starts_with(input))
                .collect();
        }
        Some((c, a)) => (c, a.trim_start()),
    };
    // `:sort COLUMN ` then completes the direction.
    if cmd == "sort"
        && let Some((_, dir)) = arg.split_once(' ')
    {
        return ["asc", "desc"]
            .iter()
            .filter(|d| d.starts_with(dir.trim_start()))
            .map(|d| d.to_string())
            .collect();
    }
    let mut all: Vec<String> = match cmd {
        "account" => state.fleet.scopes.iter().map(|s| s.alias.clone()).collect(),
        "region" => state
            .fleet
            .scopes
            .iter()
            .map(|s| s.scope.region.clone())
            .collect(),
        "sort" => SortKey::ALL.iter().map(|k| k.label().to_string()).collect(),
        "theme" => crate::theme::BUILTIN
            .iter()
            .map(|(n, _)| n.to_string())
            .collect(),
        _ => Vec::new(),
    };
    all.sort();
    all.dedup();
    all.retain(|c| c.starts_with(arg));
    all
}

/// Tab: a unique candidate completes (a command that takes an argument gains a space); several
/// complete to their common prefix, and once there, tab cycles through them.
fn complete(state: &State, input: &str) -> String {
    let c = candidates(state, input);
    let (head, word) = match input.rsplit_once(' ') {
        Some((h, w)) => (format!("{h} "), w),
        None => (String::new(), input),
    };
    let with = |w: &str| {
        let takes_arg = head.is_empty()
            && COMMANDS
                .iter()
                .any(|(name, arg, _)| *name == w && !arg.is_empty());
        format!("{head}{w}{}", if takes_arg { " " } else { "" })
    };
    match c.as_slice() {
        [] => input.to_string(),
        [one] => with(one),
        many => {
            let prefix = many.iter().skip(1).fold(many[0].clone(), |p, s| {
                p.chars()
                    .zip(s.chars())
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a)
                    .collect()
            });
            if prefix.len() > word.len() {
                format!("{head}{prefix}")
            } else {
                // At the common prefix: the next candidate after the exact one typed.
                let next = many
                    .iter()
                    .position(|m| m == word)
                    .map_or(0, |i| (i + 1) % many.len());
                format!("{head}{}", many[next])
            }
        }
    }
}

/// Replaces the filter terms with `key:` by `key:value` (none with an empty value).
fn narrow(state: &mut State, key: &str, value: &str) {
    let prefix = format!("{key}:");
    let mut terms: Vec<String> = crate::filter::split_terms(&state.ui.filter)
        .into_iter()
        .filter(|t| !t.to_ascii_lowercase().starts_with(&prefix))
        .collect();
    if !value.is_empty() {
        terms.push(format!("{prefix}{value}"));
    }
    state.ui.screen = Screen::Fleet;
    state.ui.selected = 0;
    state.set_filter(terms.join(" "));
}

fn unknown(what: &str, got: &str, allowed: &[String]) -> String {
    format!("no {what} `{got}` ({})", allowed.join(", "))
}

/// Runs one command line; an error says what exists.
fn run(state: &mut State, input: &str) -> Result<Vec<Command>, String> {
    let mut words = input.split_whitespace();
    let cmd = words.next().unwrap_or_default();
    let args: Vec<&str> = words.collect();
    let one_arg = |what: &str| -> Result<String, String> {
        match args.as_slice() {
            [a] => Ok(a.to_string()),
            [] => Err(format!(":{cmd} needs {what}")),
            _ => Err(format!(":{cmd} takes one {what}")),
        }
    };
    match cmd {
        "fleet" => state.ui.screen = Screen::Fleet,
        "findings" => super::findings::open(state),
        "help" => {
            if !matches!(state.ui.screen, Screen::Help { .. }) {
                let back = Box::new(state.ui.screen.clone());
                state.ui.screen = Screen::Help { back, scroll: 0 };
            }
        }
        "account" => {
            let alias = args.first().copied().unwrap_or_default();
            let known: Vec<String> = candidates(state, "account ");
            if !alias.is_empty()
                && !state
                    .fleet
                    .scopes
                    .iter()
                    .any(|s| s.alias.eq_ignore_ascii_case(alias) || s.scope.account_id == alias)
            {
                return Err(unknown("account", alias, &known));
            }
            narrow(state, "acct", alias);
        }
        "region" => {
            let code = args.first().copied().unwrap_or_default();
            if !code.is_empty()
                && !state
                    .fleet
                    .scopes
                    .iter()
                    .any(|s| crate::filter::glob(&code.to_lowercase(), &s.scope.region))
            {
                return Err(unknown("region", code, &candidates(state, "region ")));
            }
            narrow(state, "region", code);
        }
        "sort" => {
            let col = args
                .first()
                .copied()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let Some(k) = SortKey::ALL.iter().find(|k| k.label() == col) else {
                return Err(unknown("column", &col, &candidates(state, "sort ")));
            };
            let descending = match args.get(1).map(|o| o.to_ascii_lowercase()).as_deref() {
                None => k.descending_by_default(),
                Some("desc") => true,
                Some("asc") => false,
                Some(o) => return Err(format!("sort order `{o}`: asc or desc")),
            };
            state.ui.sort = *k;
            state.ui.descending = descending;
            state.ui.screen = Screen::Fleet;
            state.rebuild_view();
        }
        "theme" => return Ok(vec![Command::SetTheme(one_arg("theme name")?)]),
        "case" => {
            let id = one_arg("case id")?;
            if id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._:/-".contains(c))
            {
                return Err("a case id is up to 64 of A-Z a-z 0-9 . _ : / -".into());
            }
            state.triage.notice = Some(format!(
                "case {id}: the next triage actions are filed under it"
            ));
            state.triage.case_id = Some(id);
        }
        "q" | "quit" => return Ok(super::triage::quit(state)),
        other => {
            let names: Vec<String> = COMMANDS.iter().map(|(c, ..)| c.to_string()).collect();
            return Err(format!(
                "unknown command `{other}` (commands: {})",
                names.join(", ")
            ));
        }
    }
    Ok(Vec::new())
}
