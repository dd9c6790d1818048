//! Modal prompts drawn over the screen (the MFA code prompt).

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::app::MfaPromptState;
use crate::theme::Theme;

/// Draws the MFA prompt centred in `area`.
pub fn mfa(frame: &mut Frame<'_>, area: Rect, p: &MfaPromptState, waiting: usize, theme: &Theme) {
    let w = area.width.min(64);
    let [row] = Layout::vertical([Constraint::Length(7)])
        .flex(Flex::Center)
        .areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(w)])
        .flex(Flex::Center)
        .areas(row);
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
