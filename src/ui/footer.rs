//! Footer: the main keys from the active keymap, sort order, filter prompt, last message.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{Screen, State};
use crate::keymap::Action;
use crate::theme::Theme;

fn first_key(state: &State, a: Action) -> String {
    state
        .keymap
        .keys_for(a)
        .first()
        .map_or_else(|| "-".into(), |k| k.to_string())
}

/// Draws the footer line.
pub fn render(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let key = theme.fg("accent").add_modifier(Modifier::BOLD);
    let muted = theme.fg("muted");
    let mut spans: Vec<Span<'static>> = Vec::new();
    if let Some(line) = &state.ui.command {
        spans.push(Span::styled(" :", key));
        spans.push(Span::styled(format!("{}▏", line.input), theme.fg("fg")));
        match &line.error {
            Some(e) => spans.push(Span::styled(format!("  {e}"), theme.fg("critical"))),
            None => {
                let c = crate::app::command::candidates(state, &line.input);
                let hint = if c.is_empty() {
                    "enter run · esc close".to_string()
                } else {
                    format!("tab: {}", c.join(" "))
                };
                spans.push(Span::styled(format!("  {hint}"), muted));
            }
        }
    } else if state.ui.editing_filter {
        spans.push(Span::styled(" /", key));
        match &state.ui.filter_error {
            // The offending term is underlined where it stands, the message follows.
            Some(e) => {
                let text: Vec<char> = state.ui.filter.chars().collect();
                let at = e.pos.min(text.len());
                let end = text[at..]
                    .iter()
                    .position(|c| c.is_whitespace())
                    .map_or(text.len(), |n| at + n);
                let bad = theme
                    .fg("critical")
                    .add_modifier(Modifier::UNDERLINED | Modifier::BOLD);
                spans.push(Span::styled(
                    text[..at].iter().collect::<String>(),
                    theme.fg("fg"),
                ));
                spans.push(Span::styled(text[at..end].iter().collect::<String>(), bad));
                spans.push(Span::styled(
                    format!("{}▏", text[end..].iter().collect::<String>()),
                    theme.fg("fg"),
                ));
                spans.push(Span::styled(format!("  {e}"), theme.fg("critical")));
            }
            None => {
                spans.push(Span::styled(
                    format!("{}▏", state.ui.filter),
                    theme.fg("fg"),
                ));
                spans.push(Span::styled(
                    format!(
                        "  {} of {} · enter keep · esc clear",
                        state.view.len(),
                        state.fleet.rows.len()
                    ),
                    muted,
                ));
            }
        }
    } else {
        // On a task the keys mean the task's actions.
        let task = match &state.ui.screen {
            Screen::Detail { scope, id, .. } => state.fleet.row(*scope, id),
            _ => state.selected_row(),
        }
        .and_then(|r| r.task());
        let on_task = task.is_some();
        let on_service = task.is_some_and(|t| t.service.is_some());
        let on_host = task.is_some_and(|t| t.host_instance.is_some());
        let hints: &[(Action, &str)] = match state.ui.screen {
            // No longer than the instance hints (what follows them must fit). A
            // standalone (or forged) task has no service to scale: stopping it is what works.
            Screen::Fleet if on_task && !on_service => &[
                (Action::Open, "open"),
                (Action::Filter, "filter"),
                (Action::SortNext, "sort"),
                (Action::Stop, "stop task"),
                (Action::Help, "help"),
                (Action::Quit, "quit"),
            ],
            Screen::Fleet if on_task => &[
                (Action::Open, "open"),
                (Action::Filter, "filter"),
                (Action::SortNext, "sort"),
                (Action::Quarantine, "svc to 0"),
                (Action::Help, "help"),
                (Action::Quit, "quit"),
            ],
            Screen::Detail { .. } if on_task && !on_service && on_host => &[
                (Action::Back, "back"),
                (Action::Open, "host"),
                (Action::Stop, "stop task"),
                (Action::ArchiveFinding, "archive finding"),
                (Action::Help, "help"),
                (Action::Quit, "quit"),
            ],
            Screen::Detail { .. } if on_task && !on_service => &[
                (Action::Back, "back"),
                (Action::Stop, "stop task"),
                (Action::ArchiveFinding, "archive finding"),
                (Action::Help, "help"),
                (Action::Quit, "quit"),
            ],
            Screen::Detail { .. } if on_host => &[
                (Action::Back, "back"),
                (Action::Open, "host"),
                (Action::Stop, "stop task"),
                (Action::Quarantine, "svc to 0"),
                (Action::Release, "restore svc"),
                (Action::ArchiveFinding, "archive"),
                (Action::Help, "help"),
            ],
            Screen::Detail { .. } if on_task => &[
                (Action::Back, "back"),
                (Action::Stop, "stop task"),
                (Action::Quarantine, "svc to 0"),
                (Action::Release, "restore svc"),
                (Action::ArchiveFinding, "archive"),
                (Action::Help, "help"),
                (Action::Quit, "quit"),
            ],
            Screen::Fleet => &[
                (Action::Open, "open"),
                (Action::Filter, "filter"),
                (Action::SortNext, "sort"),
                (Action::Quarantine, "quarantine"),
                (Action::Help, "help"),
                (Action::Quit, "quit"),
            ],
            Screen::Detail { .. } => &[
                (Action::Back, "back"),
                (Action::Stop, "stop"),
                (Action::Quarantine, "quarantine"),
                (Action::Snapshot, "snapshot"),
                (Action::ArchiveFinding, "archive finding"),
                (Action::Help, "help"),
                (Action::Quit, "quit"),
            ],
            Screen::Help { .. } => &[(Action::Back, "back"), (Action::Quit, "quit")],
            Screen::Findings { .. } => &[
                (Action::Open, "open"),
                (Action::ArchiveFinding, "archive"),
                (Action::Copy, "copy id"),
                (Action::Back, "fleet"),
                (Action::Command, "command"),
                (Action::Quit, "quit"),
            ],
        };
        // The active filter comes first: at 80 columns whatever is last is cut, and a filter
        // that hides rows must never be out of sight. Then a notice, then the key hints.
        if matches!(state.ui.screen, Screen::Fleet) && !state.ui.filter.is_empty() {
            spans.push(Span::styled(
                format!(
                    " /{} ({} of {}) │",
                    state.ui.filter,
                    state.view.len(),
                    state.fleet.rows.len()
                ),
                theme.fg("accent").add_modifier(Modifier::BOLD),
            ));
        }
        // A notice (why a key did nothing, a failure) comes before the key hints, which it
        // pushes out of a narrow footer until the next key clears it.
        if let Some(n) = &state.triage.notice {
            spans.push(Span::styled(
                format!(" {n} │"),
                theme.fg("stale").add_modifier(Modifier::BOLD),
            ));
        }
        for (a, label) in hints {
            spans.push(Span::styled(format!(" {}", first_key(state, *a)), key));
            spans.push(Span::styled(format!(" {label} "), muted));
        }

        if matches!(state.ui.screen, Screen::Fleet) {
            spans.push(Span::styled(
                format!(
                    "│ sort {}{} ",
                    state.ui.sort.label(),
                    if state.ui.descending { "↓" } else { "↑" }
                ),
                muted,
            ));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
