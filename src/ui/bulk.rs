//! The bulk triage panel: every marked target grouped by account (alias and verified id), with
//! its DryRun verdicts or progress, and the typed confirmation.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::modal::{centered, step_line};
use super::widgets::fit;
use crate::app::State;
use crate::app::bulk::{Bulk, ItemState};
use crate::theme::Theme;

/// Draws the bulk panel over `area`.
pub fn render(frame: &mut Frame<'_>, area: Rect, state: &State, b: &Bulk, theme: &Theme) {
    let strong = theme.fg("fg").add_modifier(Modifier::BOLD);
    let muted = theme.fg("muted");
    let key = theme.fg("accent").add_modifier(Modifier::BOLD);
    let danger = theme.fg("critical").add_modifier(Modifier::BOLD);
    let ok = theme.fg("ok");
    let w = area.width.min(100);
    let inner_w = w.saturating_sub(2) as usize;
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut account: Option<(&str, &str)> = None;
    for i in &b.items {
        let this = (i.target.alias.as_str(), i.target.account_id.as_str());
        if account != Some(this) {
            account = Some(this);
            let verified = state.fleet.scopes.get(i.scope).is_some_and(|s| s.verified);
            lines.push(Line::from(vec![
                Span::raw("account "),
                Span::styled(
                    this.0.to_string(),
                    theme.account(state.fleet.account_color(i.scope)),
                ),
                Span::styled(format!(" ({})", this.1), strong),
                Span::styled(
                    if verified {
                        "  id verified"
                    } else {
                        "  NOT verified"
                    },
                    if verified { muted } else { danger },
                ),
            ]));
        }
        let (status, style) = match &i.state {
            ItemState::Checking => ("checking…".to_string(), muted),
            ItemState::Ready { checks } => match checks.iter().find(|c| !c.verdict.permits()) {
                Some(c) => (format!("✗ {}: {}", c.what, c.verdict.label()), danger),
                None => (format!("✓ dry run: {} check(s) passed", checks.len()), ok),
            },
            ItemState::Skipped(why) => (format!("skipped: {why}"), danger),
            ItemState::Running { progress } => (
                progress
                    .last()
                    .map_or_else(|| "running…".to_string(), step_line),
                key,
            ),
            ItemState::Done { ok: true, message } => (format!("✓ {message}"), ok),
            ItemState::Done { ok: false, message } => (format!("✗ {message}"), danger),
        };
        let what = if matches!(i.state, ItemState::Skipped(_)) {
            String::new()
        } else {
            format!("{} ", i.action.name())
        };
        let head = format!(
            "  {} {}{} ",
            i.target.region,
            what,
            crate::model::task::name_of(&i.target.instance_id)
        );
        let name = if i.name.is_empty() {
            String::new()
        } else {
            format!("{} ", fit(&i.name, 16))
        };
        let used = head.chars().count() + name.chars().count();
        lines.push(Line::from(vec![
            Span::styled(head, strong),
            Span::styled(name, muted),
            Span::styled(fit(&status, inner_w.saturating_sub(used)), style),
        ]));
    }
    let n = b.runnable();
    let visible = crate::app::bulk::body_rows(area.height);
    let total = lines.len();
    let lines: Vec<Line<'static>> = lines.into_iter().skip(b.scroll).take(visible).collect();
    let foot = if !b.all_seen() && !b.started {
        Line::from(Span::styled(
            format!(
                "↓ {} more line(s): read them (down, pgdn) before confirming · esc cancel",
                total.saturating_sub(b.scroll + visible)
            ),
            key,
        ))
    } else if b.started {
        let running = b
            .items
            .iter()
            .filter(|i| matches!(i.state, ItemState::Running { .. }))
            .count();
        if running > 0 {
            Line::from(Span::styled(
                format!("running {running}… (esc hides this panel; the actions go on)"),
                key,
            ))
        } else {
            Line::from(Span::styled("done · enter/esc close", muted))
        }
    } else if b.checking() {
        Line::from(Span::styled(
            "checking: plans and DryRun… · esc cancel",
            muted,
        ))
    } else if n == 0 {
        Line::from(Span::styled(
            "nothing can run: every target was refused · esc close",
            danger,
        ))
    } else if state.triage.dry_run_only {
        Line::from(Span::styled(
            "dry-run mode: nothing will be done · esc close",
            key,
        ))
    } else {
        Line::from(vec![
            Span::styled(format!("type {} to act on {n}: ", b.expected()), key),
            Span::styled(format!("{}▏", b.typed), strong),
            Span::styled("  esc cancel", muted),
        ])
    };
    let case = Line::from(Span::styled(
        format!(
            "case {} · one audit record set per target",
            state.triage.case_id.as_deref().unwrap_or("?")
        ),
        muted,
    ));
    let h = (lines.len() as u16 + 4).min(area.height);
    let title_more = if total > visible {
        format!(
            " · lines {}-{} of {total}",
            b.scroll + 1,
            (b.scroll + visible).min(total)
        )
    } else {
        String::new()
    };
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(danger)
        .title(Span::styled(
            format!(" {} · {} target(s){title_more} ", b.verb, b.items.len()),
            danger,
        ))
        .style(theme.base());
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [body, c, f] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(lines).style(theme.base()), body);
    frame.render_widget(Paragraph::new(case).style(theme.base()), c);
    frame.render_widget(Paragraph::new(foot).style(theme.base()), f);
}
