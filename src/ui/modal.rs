//! Modal prompts drawn over the screen (the MFA code prompt).

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::app::MfaPromptState;
use crate::theme::Theme;
use crate::triage::{Check, Step, StepOutcome};

/// A progress step as the triage panel and headless `triage` print it: `✓ step`,
/// `✗ step: why`, `! warning`, `… wait`, `!! compensation`.
pub fn step_line(step: &Step) -> String {
    let text = &step.text;
    match &step.outcome {
        StepOutcome::Done => format!("✓ {text}"),
        StepOutcome::Failed(why) => format!("✗ {text}: {why}"),
        StepOutcome::Warning => format!("! {text}"),
        StepOutcome::Wait => format!("… {text}"),
        StepOutcome::Compensating => format!("!! {text}"),
    }
}

/// Draws the MFA prompt centred in `area`.
pub fn mfa(frame: &mut Frame<'_>, area: Rect, p: &MfaPromptState, waiting: usize, theme: &Theme) {
    let rect = centered(area, 64, 7);
    frame.render_widget(Clear, rect);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.fg("accent").add_modifier(Modifier::BOLD))
        .title(Span::styled(
            " MFA code ",
            theme.fg("title").add_modifier(Modifier::BOLD),
        ))
        .style(theme.base());
    let typed: String = p
        .input
        .chars()
        .chain(std::iter::repeat_n('_', 6 - p.input.len().min(6)))
        .collect();
    let mut lines = vec![
        Line::from(vec![
            Span::raw("account "),
            Span::styled(p.alias.clone(), theme.fg("fg").add_modifier(Modifier::BOLD)),
        ]),
        Line::from(Span::styled(p.serial.clone(), theme.fg("muted"))),
        Line::from(vec![
            Span::raw("code: "),
            Span::styled(typed, theme.fg("accent").add_modifier(Modifier::BOLD)),
        ]),
        Line::from(Span::styled(
            "enter submit · esc skip this account",
            theme.fg("muted"),
        )),
    ];
    if waiting > 0 {
        lines.push(Line::from(Span::styled(
            format!("{waiting} more waiting"),
            theme.fg("muted"),
        )));
    }
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        rect,
    );
}

pub(super) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    rect
}

/// Draws the copy menu: one line per thing that can be copied, with its key.
pub fn copy_menu(
    frame: &mut Frame<'_>,
    area: Rect,
    choices: &[crate::app::copy::Choice],
    theme: &Theme,
) {
    let rect = centered(area, 64, choices.len() as u16 + 3);
    frame.render_widget(Clear, rect);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.fg("accent").add_modifier(Modifier::BOLD))
        .title(Span::styled(
            " copy (OSC 52) ",
            theme.fg("title").add_modifier(Modifier::BOLD),
        ))
        .style(theme.base());
    let key = theme.fg("accent").add_modifier(Modifier::BOLD);
    let mut lines: Vec<Line> = choices
        .iter()
        .map(|c| {
            let first = c.text.lines().next().unwrap_or_default();
            Line::from(vec![
                Span::styled(format!(" {} ", c.key), key),
                Span::styled(format!("{:<13}", c.label), theme.fg("muted")),
                Span::raw(super::widgets::fit(first, 44)),
            ])
        })
        .collect();
    lines.push(Line::from(Span::styled(" esc close", theme.fg("muted"))));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

/// Draws the case-id prompt.
pub fn case_prompt(frame: &mut Frame<'_>, area: Rect, input: &str, theme: &Theme) {
    let rect = centered(area, 60, 6);
    frame.render_widget(Clear, rect);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.fg("accent").add_modifier(Modifier::BOLD))
        .title(Span::styled(
            " case id ",
            theme.fg("title").add_modifier(Modifier::BOLD),
        ))
        .style(theme.base());
    let lines = vec![
        Line::from("Case id for this session (stamped on every tag, snapshot, audit record):"),
        Line::from(vec![Span::styled(
            format!("{input}▏"),
            theme.fg("accent").add_modifier(Modifier::BOLD),
        )]),
        Line::from(Span::styled("enter accept · esc cancel", theme.fg("muted"))),
    ];
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        rect,
    );
}

/// Draws the triage confirmation panel.
pub fn triage(
    frame: &mut Frame<'_>,
    area: Rect,
    state: &crate::app::State,
    p: &crate::app::triage::Panel,
    theme: &Theme,
) {
    use crate::app::triage::Stage;
    use crate::keymap::Action as K;
    let key = theme.fg("accent").add_modifier(Modifier::BOLD);
    let strong = theme.fg("fg").add_modifier(Modifier::BOLD);
    let muted = theme.fg("muted");
    let danger = theme.fg("critical").add_modifier(Modifier::BOLD);
    let verb = match &p.resume {
        Some(_) => "RESUME QUARANTINE".to_string(),
        None => p.action.name().to_uppercase(),
    };
    let mut lines: Vec<Line<'static>> = vec![
        Line::from(vec![
            Span::raw("account "),
            Span::styled(
                p.target.alias.clone(),
                theme.account(state.fleet.account_color(p.scope)),
            ),
            Span::styled(format!(" ({})", p.target.account_id), strong),
            Span::raw("  region "),
            Span::styled(p.target.region.clone(), strong),
        ]),
        Line::from(vec![
            Span::raw(format!("{} ", p.target.noun())),
            Span::styled(p.target.instance_id.clone(), strong),
            Span::raw(format!(
                "  {}",
                if p.name.is_empty() {
                    "(no name)"
                } else {
                    &p.name
                }
            )),
        ]),
        Line::from(Span::styled(
            format!(
                "case {}",
                p.resume
                    .as_ref()
                    .map(|o| o.case.as_str())
                    .or(state.triage.case_id.as_deref())
                    .unwrap_or("?")
            ),
            muted,
        )),
        Line::raw(""),
    ];
    if let crate::triage::Action::Stop {
        force,
        hibernate,
        clear_stop_protection,
    } = &p.action
    {
        let b = |on: bool| if on { "[x]" } else { "[ ]" };
        let m = if state.triage.confirm_by_typing_id {
            "alt+"
        } else {
            ""
        };
        lines.push(Line::from(Span::styled(
            format!(
                "{m}f force {}   {m}h hibernate {}   {m}c clear stop protection {}",
                b(*force),
                b(*hibernate),
                b(*clear_stop_protection)
            ),
            muted,
        )));
    }
    let confirm_key = state
        .keymap
        .keys_for(K::Confirm)
        .first()
        .map_or_else(|| "confirm".to_string(), |k| k.to_string());
    // The target stays pinned at the top, the verdict summary and the prompt at the bottom: a
    // long plan is clipped, what is acted on and the way to confirm or cancel never are.
    let head = std::mem::take(&mut lines);
    let mut foot: Vec<Line<'static>> = Vec::new();
    match &p.stage {
        Stage::Checking => lines.push(Line::from(Span::styled(
            "checking: plan and DryRun…",
            muted,
        ))),
        Stage::Ready {
            plan,
            checks,
            typed,
        } => {
            let blocked: Vec<&Check> = checks.iter().filter(|c| !c.verdict.permits()).collect();
            for c in checks {
                lines.push(Line::from(vec![
                    Span::styled(format!("dry run {}: ", c.what), muted),
                    Span::styled(
                        c.verdict.label(),
                        if c.verdict.permits() {
                            theme.fg("ok")
                        } else {
                            danger
                        },
                    ),
                ]));
            }
            if !checks.is_empty() {
                lines.push(Line::raw(""));
            }
            for l in plan {
                lines.push(Line::from(format!("• {l}")));
            }
            foot.push(if blocked.is_empty() {
                Line::from(Span::styled(
                    format!("{} check(s) passed", checks.len()),
                    theme.fg("ok"),
                ))
            } else {
                Line::from(Span::styled(
                    format!(
                        "{} check(s) NOT allowed: {}",
                        blocked.len(),
                        blocked
                            .iter()
                            .map(|c| c.what.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    danger,
                ))
            });
            foot.push(if !blocked.is_empty() {
                Line::from(Span::styled(
                    "not allowed: nothing will be done · esc close",
                    danger,
                ))
            } else if state.triage.dry_run_only {
                Line::from(Span::styled(
                    "dry-run mode: nothing will be done · esc close",
                    key,
                ))
            } else if state.triage.confirm_by_typing_id || *typed {
                Line::from(vec![
                    Span::styled(format!("type {} to confirm: ", p.target.typed_what()), key),
                    Span::styled(format!("{}▏", p.typed), strong),
                    Span::styled("  esc cancel", muted),
                ])
            } else {
                Line::from(vec![
                    Span::styled(format!("press {confirm_key} to {}", p.action.name()), key),
                    Span::styled(" · esc cancel", muted),
                ])
            });
        }
        Stage::Running { progress } => {
            foot.push(Line::from(Span::styled(
                "running… (esc hides this panel; the action goes on)",
                key,
            )));
            for step in progress {
                lines.push(Line::raw(step_line(step)));
            }
        }
        Stage::Done {
            ok,
            message,
            progress,
        } => {
            for step in progress {
                lines.push(Line::raw(step_line(step)));
            }
            foot.push(Line::from(Span::styled(
                message.clone(),
                if *ok {
                    theme.fg("ok").add_modifier(Modifier::BOLD)
                } else {
                    danger
                },
            )));
            foot.push(Line::from(Span::styled("enter/esc close", muted)));
        }
    }
    // While running and when done the newest steps matter most: one row per step (cut at the
    // panel's edge; the audit log has every step whole), scrolled to the end.
    let follow = matches!(p.stage, Stage::Running { .. } | Stage::Done { .. });
    let w = area.width.min(90);
    let inner_w = w.saturating_sub(2).max(1);
    let rows = |ls: &[Line<'static>]| -> u16 {
        ls.iter()
            .map(|l| (l.width() as u16).div_ceil(inner_w).max(1))
            .sum()
    };
    let head_h = rows(&head);
    let foot_h = rows(&foot);
    let body_rows = if follow {
        u16::try_from(lines.len()).unwrap_or(u16::MAX)
    } else {
        rows(&lines)
    };
    let h = (head_h + body_rows + foot_h + 2).min(area.height);
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(danger)
        .title(Span::styled(format!(" {verb} "), danger))
        .style(theme.base());
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(head_h),
        Constraint::Min(0),
        Constraint::Length(foot_h),
    ])
    .areas(inner);
    let wrapped = |ls: Vec<Line<'static>>| {
        Paragraph::new(ls)
            .style(theme.base())
            .wrap(Wrap { trim: false })
    };
    frame.render_widget(wrapped(head), top);
    if follow {
        frame.render_widget(
            Paragraph::new(lines)
                .style(theme.base())
                .scroll((body_rows.saturating_sub(body.height), 0)),
            body,
        );
    } else {
        frame.render_widget(wrapped(lines), body);
    }
    frame.render_widget(wrapped(foot), bottom);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_print_with_the_glyph_of_their_outcome() {
        let cases = [
            (Step::done("stop instance"), "✓ stop instance"),
            (
                Step::failed("stop instance", "denied"),
                "✗ stop instance: denied",
            ),
            (Step::warning("tag mirror skipped"), "! tag mirror skipped"),
            (Step::wait("waiting 5s"), "… waiting 5s"),
            (
                Step::compensating("moving 1 interface(s)"),
                "!! moving 1 interface(s)",
            ),
        ];
        for (step, want) in cases {
            assert_eq!(step_line(&step), want);
        }
    }
}
