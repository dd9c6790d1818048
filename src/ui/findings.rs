//! The findings board: one line per finding type (severity, count, rows, accounts, last seen),
//! its findings under it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row as TRow, Table};

use super::widgets::{age, fit, severity_glyph};
use crate::app::State;
use crate::app::findings::{Entry, board, entries, position};
use crate::model::SeverityBand;
use crate::theme::Theme;

/// Draws the board in `area`, keeping the selected line in view.
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    state: &State,
    theme: &Theme,
    selected: Option<&Entry>,
    offset: usize,
) {
    let groups = board(&state.fleet);
    if groups.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(
                "No live findings. (esc: back to the fleet)",
                theme.fg("muted"),
            ))),
            area,
        );
        return;
    }
    let lines = entries(&groups);
    let pos = position(&lines, selected);
    let page = area.height.saturating_sub(1) as usize;
    let mut start = offset.min(lines.len().saturating_sub(1));
    if pos < start {
        start = pos;
    } else if pos >= start + page.max(1) {
        start = pos + 1 - page.max(1);
    }
    let muted = theme.fg("muted");
    let wide = area.width >= 110;
    let type_w: u16 = if wide { 50 } else { 34 };
    let header = TRow::new(
        [
            "",
            "SEV",
            "TYPE / FINDING",
            "COUNT",
            "ROWS",
            "ACCOUNTS",
            "LAST",
        ]
        .into_iter()
        .map(|h| {
            Cell::from(Span::styled(
                h,
                theme.fg("title").add_modifier(Modifier::BOLD),
            ))
        }),
    );
    let mut rows = Vec::new();
    let mut i = 0usize;
    for g in &groups {
        let band = SeverityBand::of(g.worst);
        if i >= start && i < start + page {
            let accounts = g.accounts.join(",");
            let mut r = TRow::new(vec![
                Cell::from(Span::styled(
                    severity_glyph(Some(band)),
                    theme.severity(band),
                )),
                Cell::from(Span::styled(
                    format!("{:>4.1} {}", g.worst, band.letter()),
                    theme.severity(band),
                )),
                Cell::from(Span::styled(
                    fit(&g.kind, type_w as usize),
                    theme.fg("fg").add_modifier(Modifier::BOLD),
                )),
                Cell::from(format!("{:>5}", g.count)),
                Cell::from(format!("{:>4}", g.rows)),
                Cell::from(fit(&accounts, 16)),
                Cell::from(age((state.now - g.last_seen).num_seconds().max(0))),
            ]);
            if i == pos {
                r = r.style(theme.selected());
            }
            rows.push(r);
        }
        i += 1;
        for item in &g.items {
            if i >= start && i < start + page {
                let sd = &state.fleet.scopes[item.scope];
                let band = SeverityBand::of(item.severity);
                let subject = item
                    .rows
                    .first()
                    .map(|r| crate::model::task::name_of(r).to_string())
                    .unwrap_or_else(|| format!("{} (not in inventory)", item.named));
                let more = if item.rows.len() > 1 {
                    format!(" +{}", item.rows.len() - 1)
                } else {
                    String::new()
                };
                let text = format!("  └ {subject}{more}  {}", item.id);
                let mut r = TRow::new(vec![
                    Cell::from(""),
                    Cell::from(Span::styled(
                        format!("{:>4.1} {}", item.severity, band.letter()),
                        muted,
                    )),
                    Cell::from(fit(&text, type_w as usize)),
                    Cell::from(Span::styled(format!("{:>5}", item.count), muted)),
                    Cell::from(""),
                    Cell::from(Span::styled(
                        fit(&format!("{} {}", sd.alias, sd.scope.region), 16),
                        muted,
                    )),
                    Cell::from(Span::styled(
                        age((state.now - item.updated_at).num_seconds().max(0)),
                        muted,
                    )),
                ]);
                if i == pos {
                    r = r.style(theme.selected());
                }
                rows.push(r);
            }
            i += 1;
        }
    }
    let widths = [
        Constraint::Length(1),
        Constraint::Length(6),
        Constraint::Length(type_w),
        Constraint::Length(5),
        Constraint::Length(4),
        Constraint::Length(16),
        Constraint::Length(5),
    ];
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}
