//! Fleet table: one row per instance or ECS task, only the visible window is built; columns drop
//! by priority.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row as TRow, Table};

use super::widgets::{bar, cpu_style, findings_span, fit, severity_glyph, sparkline};
use crate::app::{CpuSource, Row, SortKey, State};
use crate::model::flags::Flag;
use crate::model::{Kind, SeverityBand};
use crate::theme::Theme;

/// A table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Mark,
    Risk,
    Account,
    Region,
    Kind,
    Instance,
    Name,
    Type,
    State,
    Age,
    Cpu,
    Hist,
    Findings,
    Open,
    Public,
    Cost,
}

impl Col {
    fn header(self) -> &'static str {
        match self {
            Col::Mark => "",
            Col::Risk => "RISK",
            Col::Account => "ACCOUNT",
            Col::Region => "REGION",
            Col::Kind => "KIND",
            Col::Instance => "ID",
            Col::Name => "NAME",
            Col::Type => "TYPE",
            Col::State => "STATE",
            Col::Age => "AGE",
            Col::Cpu => "CPU",
            Col::Hist => "CPU HISTORY",
            Col::Findings => "FIND",
            Col::Open => "OPEN",
            Col::Public => "PUB",
            Col::Cost => "$/H",
        }
    }

    /// Width in cells (Name is flexible, this is its minimum).
    fn width(self) -> u16 {
        match self {
            Col::Mark => 1,
            Col::Risk => 4,
            Col::Account => 9,
            Col::Region => 14,
            Col::Kind => 4,
            Col::Instance => 19,
            Col::Name => 10,
            Col::Type => 13,
            Col::State => 8,
            Col::Age => 4,
            Col::Cpu => 10,
            Col::Hist => 12,
            Col::Findings => 4,
            Col::Open => 9,
            Col::Public => 3,
            Col::Cost => 9,
        }
    }

    fn sort_key(self) -> Option<SortKey> {
        match self {
            Col::Risk => Some(SortKey::Risk),
            Col::Account => Some(SortKey::Account),
            Col::Region => Some(SortKey::Region),
            Col::Name => Some(SortKey::Name),
            Col::Type => Some(SortKey::Type),
            Col::Cpu => Some(SortKey::Cpu),
            Col::Findings => Some(SortKey::Findings),
            Col::Age => Some(SortKey::Launched),
            Col::Cost => Some(SortKey::Cost),
            _ => None,
        }
    }
}

/// Widest the NAME column grows on wide terminals.
const MAX_NAME: usize = 32;

/// Display order of all columns.
const ORDER: [Col; 16] = [
    Col::Mark,
    Col::Risk,
    Col::Account,
    Col::Region,
    Col::Kind,
    Col::Instance,
    Col::Name,
    Col::Type,
    Col::State,
    Col::Age,
    Col::Cpu,
    Col::Hist,
    Col::Findings,
    Col::Open,
    Col::Public,
    Col::Cost,
];

/// Columns in the order they are given up as the terminal narrows (first kept longest). KIND
/// gives way early (below 121 columns): a task's id (`task/...`) still says what it is.
const PRIORITY: [Col; 16] = [
    Col::Mark,
    Col::Risk,
    Col::Account,
    Col::Instance,
    Col::Cpu,
    Col::Findings,
    Col::Open,
    Col::Name,
    Col::Public,
    Col::Cost,
    Col::Region,
    Col::State,
    Col::Age,
    Col::Kind,
    Col::Hist,
    Col::Type,
];

/// The columns that fit in `width`, in display order: the longest prefix of [`PRIORITY`] that
/// fits, so widening the terminal only ever adds columns.
fn columns(width: u16) -> Vec<Col> {
    let mut chosen = Vec::new();
    let mut used: u16 = 0;
    for c in PRIORITY {
        let need = c.width() + if chosen.is_empty() { 0 } else { 1 };
        if used + need > width {
            break;
        }
        used += need;
        chosen.push(c);
    }
    ORDER.into_iter().filter(|c| chosen.contains(c)).collect()
}

fn risk_role(score: u8) -> Option<SeverityBand> {
    match score {
        70.. => Some(SeverityBand::Critical),
        45..=69 => Some(SeverityBand::High),
        20..=44 => Some(SeverityBand::Medium),
        _ => None,
    }
}

fn cell<'a>(
    state: &'a State,
    theme: &Theme,
    row: &'a Row,
    col: Col,
    stale: bool,
    name_width: usize,
) -> Cell<'a> {
    let scope = &state.fleet.scopes[row.scope];
    let muted = theme.fg("muted");
    match col {
        Col::Mark if state.ui.marked.contains(&(row.scope, row.id().to_string())) => Cell::from(
            Span::styled("✓", theme.fg("accent").add_modifier(Modifier::BOLD)),
        ),
        Col::Mark => {
            let band = row.worst_severity.map(SeverityBand::of);
            let glyph = if stale { "~" } else { severity_glyph(band) };
            let style = band.map_or(muted, |b| theme.severity(b));
            Cell::from(Span::styled(glyph, style))
        }
        Col::Risk => {
            let style = risk_role(row.risk.score).map_or(theme.fg("fg"), |b| theme.severity(b));
            Cell::from(Line::from(Span::styled(
                format!("{:>3}", row.risk.score),
                style,
            )))
        }
        Col::Account => match state.fleet.account_color(row.scope) {
            Some(c) => Cell::from(Span::styled(fit(&scope.alias, 9), theme.account(Some(c)))),
            None => Cell::from(fit(&scope.alias, 9)),
        },
        Col::Region => {
            let style = if scope.unusual_region {
                theme.fg("high").add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            };
            Cell::from(Span::styled(scope.scope.region.as_str(), style))
        }
        Col::Kind => Cell::from(Span::styled(
            match row.subject.kind() {
                Kind::Instance => "inst",
                Kind::Task => "task",
            },
            muted,
        )),
        Col::Instance => Cell::from(fit(
            &row.subject.display_id(),
            Col::Instance.width() as usize,
        )),
        Col::Name => {
            let name = crate::triage::escape_controls(&row.subject.name());
            // Triage marks lead the name too: the STATE column is dropped on narrow terminals.
            if let Some(m) = mark_of(state, row) {
                return Cell::from(Line::from(vec![
                    Span::styled(
                        format!("{m} "),
                        theme.fg("critical").add_modifier(Modifier::BOLD),
                    ),
                    Span::raw(fit(&name, name_width.saturating_sub(m.chars().count() + 1))),
                ]));
            }
            if name.is_empty() {
                Cell::from(Span::styled("(no name)", muted))
            } else if row.flags.has(Flag::StandaloneTask) {
                Cell::from(Span::styled(
                    fit(&name, name_width),
                    theme.fg("high").add_modifier(Modifier::BOLD),
                ))
            } else {
                Cell::from(fit(&name, name_width))
            }
        }
        Col::Type => {
            let unusual = row
                .subject
                .instance_type()
                .is_some_and(crate::model::risk::is_unusual_type)
                || row.flags.has(Flag::NewTaskDef);
            let style = if unusual {
                theme.fg("high").add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            };
            Cell::from(Span::styled(
                fit(
                    &crate::triage::escape_controls(row.subject.type_label()),
                    Col::Type.width() as usize,
                ),
                style,
            ))
        }
        Col::State => match mark_of(state, row) {
            Some(m) => Cell::from(Span::styled(
                m,
                theme.fg("critical").add_modifier(Modifier::BOLD),
            )),
            None => {
                let style = if row.subject.is_live() {
                    theme.fg("fg")
                } else {
                    muted
                };
                Cell::from(Span::styled(row.subject.state_label(), style))
            }
        },
        // Launch (or task start) age; a launch in the last 24 h stands out (the launch radar).
        Col::Age => match row.subject.launched() {
            Some(t) => Cell::from(Span::styled(
                super::widgets::age((state.now - t).num_seconds().max(0)),
                if row.flags.has(Flag::NewLaunch) {
                    theme.fg("high").add_modifier(Modifier::BOLD)
                } else {
                    muted
                },
            )),
            None => Cell::from(Span::styled("?", muted)),
        },
        Col::Cpu => match row.cpu_now {
            // No credits left: the bar would understate it, so say so, styled as saturated.
            Some(p) if row.credits_exhausted.is_some() => Cell::from(Span::styled(
                format!("0 cr {p:>4.0}%"),
                cpu_style(theme, 100.0).add_modifier(Modifier::BOLD),
            )),
            // A task's figure that is its service's mean says so.
            Some(p) if row.cpu_source == CpuSource::Service => {
                Cell::from(Span::styled(format!("svc {p:>5.0}%"), cpu_style(theme, p)))
            }
            Some(p) => Cell::from(Span::styled(
                format!("{}{:>4.0}%", bar(p, 5), p),
                cpu_style(theme, p),
            )),
            None => Cell::from(Span::styled("     ?", muted)),
        },
        Col::Hist => {
            let vals: Vec<f64> = state
                .fleet
                .cpu_series(row)
                .0
                .map(|s| s.points.iter().map(|p| p.1).collect())
                .unwrap_or_default();
            let style = row.cpu_now.map_or(muted, |p| cpu_style(theme, p));
            Cell::from(Span::styled(
                sparkline(&vals, Col::Hist.width() as usize),
                style,
            ))
        }
        Col::Findings => Cell::from(findings_span(theme, row.finding_count, row.worst_severity)),
        Col::Open => {
            let label = row.exposure.label();
            let style = if row.exposure.is_empty() {
                muted
            } else if row.reachable {
                theme.fg("world-open").add_modifier(Modifier::BOLD)
            } else {
                theme.fg("fg")
            };
            Cell::from(Span::styled(fit(&label, Col::Open.width() as usize), style))
        }
        Col::Public => {
            if row.subject.is_reachable() {
                Cell::from(Span::styled("pub", theme.fg("world-open")))
            } else {
                Cell::from(Span::styled(" - ", muted))
            }
        }
        Col::Cost => match (row.price, row.instance()) {
            // `s`: the AZ's Spot price; `~`: a saved price, AWS could not be asked.
            (Some(p), _) => Cell::from(Line::from(format!(
                "{}{}{}",
                if p.cached { "~" } else { "" },
                crate::model::price::usd(p.usd_per_hour),
                if p.spot { "s" } else { "" }
            ))),
            (None, Some(_)) => Cell::from(Span::styled("unknown", muted)),
            (None, None) => Cell::from(""),
        },
    }
}

/// The triage mark of a row: a console action's label, else what live data shows: QUARANTINED
/// when every interface is on one group with the VPC's isolation-group name whose inbound rules
/// are at most one TCP 22 rule, not from the world (the fleet view has no outbound rules)
/// (never from the state tag, which anyone with CreateTags can set), ALLOW-ALL while an
/// interrupted quarantine left an interface on the allow-all group, INCOMPLETE when only the tag
/// claims a quarantine.
fn mark_of(state: &State, row: &Row) -> Option<String> {
    if let Some(m) = state.triage.marks.get(&(row.scope, row.id().to_string())) {
        return Some(m.to_string());
    }
    // A scale-to-zero is marked on every task of its service.
    if let Some(t) = row.task()
        && let Some(svc) = &t.service
    {
        let sd = &state.fleet.scopes[row.scope];
        let arn =
            crate::triage::service_arn(&sd.scope.region, &sd.scope.account_id, &t.cluster, svc);
        return state
            .triage
            .marks
            .get(&(row.scope, arn))
            .map(ToString::to_string);
    }
    let instance = row.instance()?;
    let groups = &state.fleet.scopes[row.scope].groups;
    let on_allow_all = instance.interfaces.iter().any(|n| {
        n.group_ids.iter().any(|g| {
            groups
                .get(g)
                .is_some_and(|g| g.name.starts_with(crate::triage::ALLOW_ALL_GROUP))
        })
    });
    let tagged = instance
        .tags
        .iter()
        .any(|(k, _)| k == crate::triage::TAG_STATE);
    if row.flags.has(Flag::Quarantined) {
        Some("QUARANTINED".into())
    } else if on_allow_all {
        Some("ALLOW-ALL: OPEN".into())
    } else if tagged {
        Some("QUARANTINE INCOMPLETE".into())
    } else {
        None
    }
}

/// Draws the fleet table in `area`.
pub fn render(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    if state.view.is_empty() {
        let msg = if state.fleet.rows.is_empty() {
            "No instances or tasks yet — polling accounts…"
        } else {
            "Nothing matches the filter (esc clears it)."
        };
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(msg, theme.fg("muted")))),
            area,
        );
        return;
    }
    let cols = columns(area.width);
    let fixed: u16 = cols
        .iter()
        .filter(|c| **c != Col::Name)
        .map(|c| c.width() + 1)
        .sum();
    // Names get the spare width up to a readable cap; any rest stays blank on the right.
    let name_width = (area.width.saturating_sub(fixed) as usize).min(MAX_NAME);
    let header_style = theme.fg("title").add_modifier(Modifier::BOLD);
    let header = TRow::new(cols.iter().map(|c| {
        let mut h = c.header().to_string();
        if c.sort_key() == Some(state.ui.sort) {
            h.push(if state.ui.descending { '↓' } else { '↑' });
        }
        Cell::from(Span::styled(h, header_style))
    }));
    let page = area.height.saturating_sub(1) as usize;
    let start = state.ui.offset.min(state.view.len());
    let end = (start + page).min(state.view.len());
    let rows = state.view[start..end].iter().enumerate().map(|(k, ix)| {
        let row = &state.fleet.rows[*ix];
        let stale = state.fleet.scopes[row.scope].rows_stale(state.now);
        let mut tr = TRow::new(
            cols.iter()
                .map(|c| cell(state, theme, row, *c, stale, name_width)),
        );
        if start + k == state.ui.selected {
            tr = tr.style(theme.selected());
        } else if stale {
            tr = tr.style(theme.fg("muted").add_modifier(Modifier::DIM));
        } else if row.risk.score >= 70 {
            tr = tr.style(Style::new().add_modifier(Modifier::BOLD));
        }
        tr
    });
    let widths: Vec<Constraint> = cols
        .iter()
        .map(|c| {
            if *c == Col::Name {
                Constraint::Length(name_width as u16)
            } else {
                Constraint::Length(c.width())
            }
        })
        .collect();
    let table = Table::new(rows, widths).header(header).column_spacing(1);
    frame.render_widget(table, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_terminals_keep_the_essentials() {
        let c80 = columns(80);
        for must in [
            Col::Risk,
            Col::Account,
            Col::Instance,
            Col::Cpu,
            Col::Findings,
            Col::Open,
            Col::Name,
        ] {
            assert!(c80.contains(&must), "80 cols lacks {must:?}: {c80:?}");
        }
        let total: u16 = c80.iter().map(|c| c.width() + 1).sum();
        assert!(total <= 81);
        assert_eq!(columns(200).len(), ORDER.len());
        for w in 40..200 {
            let (a, b) = (columns(w), columns(w + 1));
            assert!(
                a.iter().all(|c| b.contains(c)),
                "widening {w}->{} dropped a column",
                w + 1
            );
        }
    }
}
