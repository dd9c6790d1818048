//! Rendering: `render(frame, &State, &Theme)` draws only what is visible; no I/O, no mutation.

mod bulk;
mod detail;
mod findings;
mod fleet;
mod footer;
mod header;
mod help;
mod modal;
pub mod wall;

pub use help::help_lines;
pub use modal::step_line;
pub mod widgets;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Block;

use crate::app::{Screen, State};
use crate::theme::Theme;

/// Header height for a given width and state (status chips wrap).
fn header_height(state: &State, width: u16) -> u16 {
    header::height(state, width)
}

/// Splits the screen into header, body and footer.
pub fn layout(state: &State, area: Rect) -> [Rect; 3] {
    let h = header_height(state, area.width);
    Layout::vertical([
        Constraint::Length(h),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// Rows of the fleet table that fit in `area` (what `Msg::Resize` should carry).
pub fn table_page(state: &State, area: Rect) -> usize {
    let [_, body, _] = layout(state, area);
    body.height.saturating_sub(1).max(1) as usize
}

/// Draws the whole screen.
pub fn render(frame: &mut Frame<'_>, state: &State, theme: &Theme) {
    let area = frame.area();
    frame.render_widget(Block::new().style(theme.base()), area);
    if state.wall {
        wall::render(frame, state, theme);
        if let Some(p) = state.ui.mfa.front() {
            modal::mfa(frame, area, p, state.ui.mfa.len() - 1, theme);
        }
        return;
    }
    let [head, body, foot] = layout(state, area);
    header::render(frame, head, state, theme);
    match &state.ui.screen {
        Screen::Fleet => fleet::render(frame, body, state, theme),
        Screen::Detail {
            scope,
            id,
            scroll,
            finding,
        } => detail::render(
            frame,
            body,
            state,
            theme,
            (*scope, id.as_str()),
            *scroll,
            finding.as_deref(),
        ),
        Screen::Findings { selected, offset } => {
            findings::render(frame, body, state, theme, selected.as_ref(), *offset)
        }
        Screen::Help { scroll, .. } => help::render(frame, body, state, theme, *scroll),
    }
    footer::render(frame, foot, state, theme);
    if let Some(p) = &state.triage.panel {
        modal::triage(frame, area, state, p, theme);
    }
    if let Some(b) = &state.triage.bulk {
        bulk::render(frame, area, state, b, theme);
    }
    if state.ui.copy_menu {
        modal::copy_menu(frame, area, &crate::app::copy::choices(state), theme);
    }
    if let Some((input, _)) = &state.triage.case_prompt {
        modal::case_prompt(frame, area, input, theme);
    }
    if let Some(p) = state.ui.mfa.front() {
        modal::mfa(frame, area, p, state.ui.mfa.len() - 1, theme);
    }
}
