//! Header: fleet totals, request/cost counters, and one status chip per account x region.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::widgets::age;
use crate::app::{ScopeHealth, State};
use crate::theme::Theme;

/// Most lines of status chips before they are summarised.
const MAX_CHIP_LINES: usize = 2;

/// A chip: its text, style and sort rank, and the style of its first `n` characters (the
/// account alias, in the account's colour).
type Chip = (String, Style, u8, Option<(usize, Style)>);

/// One chip per scope, problems first; styles are left default when `theme` is None (layout only).
pub(super) fn chips(state: &State, theme: Option<&Theme>) -> Vec<Chip> {
    chips_aged(state, theme, age)
}

/// [`chips`] with data ages written by `age` (the wall writes them by the minute, so a second
/// passing redraws nothing).
pub(super) fn chips_aged(
    state: &State,
    theme: Option<&Theme>,
    age: impl Fn(i64) -> String,
) -> Vec<Chip> {
    let role = |r: &str| theme.map_or_else(Style::default, |t| t.fg(r));
    let mut v: Vec<Chip> = state
        .fleet
        .scopes
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.retired)
        .map(|(i, s)| {
            let name = format!("{} {}", s.alias, s.scope.region);
            let alias = state
                .fleet
                .account_color(i)
                .zip(theme)
                .map(|(c, t)| (s.alias.chars().count(), t.account(Some(c))));
            let (text, style, rank) = match s.health(state.now) {
                ScopeHealth::Ok(a) => (format!("{name} ✓{}", age(a)), role("ok"), 3),
                ScopeHealth::Loading => (format!("{name} …"), role("loading"), 2),
                ScopeHealth::Stale(a) => (
                    format!("{name} ◷stale {}", age(a)),
                    role("stale").add_modifier(Modifier::BOLD),
                    1,
                ),
                ScopeHealth::Degraded(feed, m) => (
                    format!("{name} ⚠{feed} {}", super::widgets::fit(&m, 40)),
                    role("stale"),
                    1,
                ),
                ScopeHealth::Error(feed, m) => (
                    format!("{name} ✗{feed} {}", super::widgets::fit(&m, 40)),
                    role("error").add_modifier(Modifier::BOLD),
                    0,
                ),
            };
            (text, style, rank, alias)
        })
        .collect();
    v.sort_by_key(|c| c.2);
    v
}

/// Lays chips out in at most `max_lines` lines of `width`; the last shown chip becomes `+N more`
/// when they overflow.
pub(super) fn chip_lines(
    chips: Vec<Chip>,
    width: u16,
    muted: Style,
    max_lines: usize,
) -> Vec<Line<'static>> {
    let width = width.max(10) as usize;
    let mut lines: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut used = 0usize;
    let total = chips.len();
    for (i, (text, style, _, alias)) in chips.into_iter().enumerate() {
        let w = text.chars().count() + 2;
        if used + w > width && used > 0 {
            if lines.len() >= max_lines.max(1) {
                let more = format!(" +{} more", total - i);
                let last = lines.last_mut().expect("at least one line");
                while used + more.chars().count() > width {
                    match last.pop() {
                        Some(s) => used -= s.content.chars().count(),
                        None => break,
                    }
                }
                last.push(Span::styled(more, muted));
                return lines.into_iter().map(Line::from).collect();
            }
            lines.push(Vec::new());
            used = 0;
        }
        let line = lines.last_mut().expect("at least one line");
        line.push(Span::raw(" "));
        match alias {
            Some((n, alias_style)) => {
                let cut = text.char_indices().nth(n).map_or(text.len(), |(b, _)| b);
                line.push(Span::styled(text[..cut].to_string(), alias_style));
                line.push(Span::styled(text[cut..].to_string(), style));
            }
            None => line.push(Span::styled(text, style)),
        }
        line.push(Span::raw(" "));
        used += w;
    }
    lines.into_iter().map(Line::from).collect()
}

/// Lines the header needs at this width.
pub fn height(state: &State, width: u16) -> u16 {
    if state.fleet.scopes.is_empty() {
        return 2;
    }
    let n = chip_lines(chips(state, None), width, Style::default(), MAX_CHIP_LINES).len();
    1 + n.min(MAX_CHIP_LINES) as u16
}

/// Draws the header.
pub fn render(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let t = &state.fleet.totals;
    let hs = theme.header();
    let bold = hs.add_modifier(Modifier::BOLD);
    let cost = state
        .fleet
        .cloudwatch_usd_per_day(state.now)
        .map(|usd| format!("CW ${usd:.2}/day"));
    let clock = state.now.format("%H:%M:%SZ").to_string();
    // Long labels when they fit, short ones on narrow terminals.
    let tasks = |word: &str| {
        if t.tasks > 0 {
            format!(" {} {word}", t.tasks)
        } else {
            String::new()
        }
    };
    let long = [
        format!("{} instances{}", t.instances, tasks("tasks")),
        format!("{} saturated", t.saturated),
        format!("{} w/ findings", t.with_findings),
        format!("{} world-open", t.world_open),
        format!(
            "{} launched 24h ({} GPU/large)",
            t.launched_24h, t.launched_24h_big
        ),
        format!(
            "requests {}",
            t.calls
                .iter()
                .map(|(feed, n)| format!("{feed} {n}"))
                .collect::<Vec<_>>()
                .join(" · ")
        ),
    ];
    let short = [
        format!("{} inst{}", t.instances, tasks("task")),
        format!("{} sat", t.saturated),
        format!("{} find", t.with_findings),
        format!("{} open", t.world_open),
        format!("{} new", t.launched_24h),
        String::new(),
    ];
    // The narrowest form leaves the launches out too.
    let mut shortest = short.clone();
    shortest[4].clear();
    let source = format!("[{}]", state.source);
    let width = |parts: &[String], cost_shown: bool, source_shown: bool| -> usize {
        12 + if source_shown {
            source.chars().count()
        } else {
            0
        } + parts
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| p.chars().count() + 3)
            .sum::<usize>()
            + cost
                .as_ref()
                .filter(|_| cost_shown)
                .map_or(0, |c| c.chars().count() + 3)
            + clock.len()
            + 3
    };
    // Narrower terminals drop the request counts, then the cost, then the source label.
    let fits = |parts: &[String], c: bool, s: bool| width(parts, c, s) <= area.width as usize;
    let (parts, show_cost, show_source) = if fits(&long, true, true) {
        (long, true, true)
    } else if fits(&short, true, true) {
        (short, true, true)
    } else if fits(&short, false, true) {
        (short, false, true)
    } else if fits(&short, false, false) {
        (short, false, false)
    } else {
        (shortest, false, false)
    };
    let sep = Span::styled(" │ ", hs);
    let mut top = vec![Span::styled(
        if show_source {
            " watchfloor "
        } else {
            " watchfloor"
        },
        bold,
    )];
    if !state.triage.enabled {
        top.push(Span::styled(" RO ", bold.add_modifier(Modifier::REVERSED)));
    } else if state.triage.dry_run_only {
        top.push(Span::styled(
            " DRY-RUN ",
            bold.add_modifier(Modifier::REVERSED),
        ));
    }
    if !state.ui.marked.is_empty() {
        top.push(Span::styled(
            format!(" {} MARKED ", state.ui.marked.len()),
            bold.add_modifier(Modifier::REVERSED),
        ));
    }
    if show_source {
        top.push(Span::styled(source, hs));
    }
    let emphasise = [
        false,
        t.saturated > 0,
        t.with_findings > 0,
        t.world_open > 0,
        t.launched_24h_big > 0,
        false,
    ];
    for (p, strong) in parts.iter().zip(emphasise) {
        if p.is_empty() {
            continue;
        }
        top.push(sep.clone());
        top.push(Span::styled(p.clone(), if strong { bold } else { hs }));
    }
    if let (Some(c), true) = (cost, show_cost) {
        top.push(sep.clone());
        top.push(Span::styled(c, hs));
    }
    top.push(sep);
    top.push(Span::styled(clock, hs));
    let mut lines = vec![Line::from(top).style(hs)];
    if state.fleet.scopes.is_empty() {
        lines.push(Line::from(Span::styled(
            " waiting for accounts…",
            theme.fg("loading"),
        )));
    } else {
        lines.extend(chip_lines(
            chips(state, Some(theme)),
            area.width,
            theme.fg("muted"),
            MAX_CHIP_LINES,
        ));
    }
    frame.render_widget(Paragraph::new(lines), area);
}
