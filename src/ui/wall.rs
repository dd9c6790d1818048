//! The war-room wall (`watchfloor wall`): block-digit counters readable across a room, the worst
//! rows, one tile per account x region with status and data age, the last alerts, and when the
//! data last changed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row as TRow, Table};

use super::widgets::{fit, severity_glyph};
use crate::app::State;
use crate::model::SeverityBand;
use crate::model::flags::Flag;
use crate::theme::Theme;

/// The wall's six counters.
#[derive(Debug, Clone, PartialEq)]
pub struct Counters {
    /// Instances and tasks with saturated CPU.
    pub saturated: usize,
    /// Live findings of high or critical severity.
    pub critical_high: usize,
    /// Instances and tasks reachable from the internet on a world-open port.
    pub world_open: usize,
    /// Instances quarantined (checked from the live groups).
    pub quarantined: usize,
    /// Launches in the last 24 h.
    pub launched_24h: usize,
    /// What CloudWatch polling costs per day, when known.
    pub cloudwatch_usd_day: Option<f64>,
    /// What the live instances burn, with its change in 24 h.
    pub burn: crate::model::price::Burn,
}

/// Counts the wall shows.
pub fn counters(state: &State) -> Counters {
    let f = &state.fleet;
    Counters {
        saturated: f.totals.saturated,
        critical_high: f
            .scopes
            .iter()
            .filter(|s| !s.retired)
            .flat_map(|s| s.findings.values())
            .filter(|x| x.severity >= 7.0)
            .count(),
        world_open: f.totals.world_open,
        quarantined: f
            .rows
            .iter()
            .filter(|r| r.flags.has(Flag::Quarantined))
            .count(),
        launched_24h: f.totals.launched_24h,
        cloudwatch_usd_day: f.cloudwatch_usd_per_day(state.now),
        burn: f.totals.burn,
    }
}

/// 3x5 block glyphs of the characters counters use.
fn glyph(c: char) -> [&'static str; 5] {
    match c {
        '0' => ["███", "█ █", "█ █", "█ █", "███"],
        '1' => [" █ ", "██ ", " █ ", " █ ", "███"],
        '2' => ["███", "  █", "███", "█  ", "███"],
        '3' => ["███", "  █", "███", "  █", "███"],
        '4' => ["█ █", "█ █", "███", "  █", "  █"],
        '5' => ["███", "█  ", "███", "  █", "███"],
        '6' => ["███", "█  ", "███", "█ █", "███"],
        '7' => ["███", "  █", "  █", "  █", "  █"],
        '8' => ["███", "█ █", "███", "█ █", "███"],
        '9' => ["███", "█ █", "███", "  █", "███"],
        '.' => ["   ", "   ", "   ", "   ", " █ "],
        '$' => [" ██", "█▄ ", " ▀█", "▄▄█", " █ "],
        _ => ["   ", "   ", "▄▄▄", "   ", "   "],
    }
}

/// `text` in block digits, `rows` tall: 5 (full blocks) or 3 (two rows per character cell,
/// drawn with half blocks).
pub fn big(text: &str, rows: usize) -> Vec<String> {
    let full: Vec<String> = (0..5)
        .map(|r| {
            text.chars()
                .map(|c| glyph(c)[r])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    if rows >= 5 {
        return full;
    }
    let on = |s: &str, i: usize| s.chars().nth(i).is_some_and(|c| c != ' ');
    (0..3)
        .map(|r| {
            let top = &full[2 * r];
            let bottom = full.get(2 * r + 1).map_or("", String::as_str);
            (0..top.chars().count())
                .map(|i| match (on(top, i), on(bottom, i)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                })
                .collect()
        })
        .collect()
}

fn tile(
    label: &str,
    value: String,
    style: Style,
    rows: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled(
        label.to_string(),
        theme.fg("title").add_modifier(Modifier::BOLD),
    ))];
    lines.extend(
        big(&value, rows)
            .into_iter()
            .map(|l| Line::from(Span::styled(l, style))),
    );
    lines
}

/// Draws the wall over the whole frame.
pub fn render(frame: &mut Frame<'_>, state: &State, theme: &Theme) {
    let area = frame.area();
    let c = counters(state);
    let tall = area.height >= 36;
    let digit_rows = if tall { 5 } else { 3 };
    let per_row = if area.width >= 150 { 6 } else { 3 };
    let tile_h = 1 + digit_rows as u16 + 1;
    let counter_h = tile_h * (6 / per_row) as u16;
    let by_minute = |secs: i64| {
        if secs < 60 {
            "<1m".into()
        } else {
            super::widgets::age(secs - secs % 60)
        }
    };
    let chip_rows = if tall { 4 } else { 2 };
    let chip_lines =
        super::header::status_lines(state, Some(theme), by_minute, area.width, chip_rows);
    let [title, counters_area, rest, scopes, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(counter_h),
        Constraint::Min(3),
        Constraint::Length(chip_lines.len() as u16),
        Constraint::Length(1),
    ])
    .areas(area);

    // Title (the clock by the minute: a wall that changes every second costs bytes and eyes).
    let clock = state.now.format("%H:%MZ").to_string();
    let t = &state.fleet.totals;
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                " WATCHFLOOR WALL ",
                theme.header().add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!(
                    " {} · {} instances {} tasks · read-only · {clock} · CloudWatch {}",
                    state.source,
                    t.instances,
                    t.tasks,
                    c.cloudwatch_usd_day
                        .map_or("-".into(), |d| format!("${d:.2}/day"))
                ),
                theme.fg("muted"),
            ),
        ])),
        title,
    );

    // Counters.
    let alarm = |n: usize| {
        if n > 0 {
            theme.fg("critical").add_modifier(Modifier::BOLD)
        } else {
            theme.fg("ok")
        }
    };
    let tiles: [(String, String, Style); 6] = [
        (
            "SATURATED".into(),
            c.saturated.to_string(),
            alarm(c.saturated),
        ),
        (
            "CRITICAL+HIGH FINDINGS".into(),
            c.critical_high.to_string(),
            alarm(c.critical_high),
        ),
        (
            "WORLD-OPEN".into(),
            c.world_open.to_string(),
            alarm(c.world_open),
        ),
        (
            "QUARANTINED".into(),
            c.quarantined.to_string(),
            theme.fg("accent").add_modifier(Modifier::BOLD),
        ),
        (
            "LAUNCHED 24H".into(),
            c.launched_24h.to_string(),
            if t.launched_24h_big > 0 {
                theme.fg("high").add_modifier(Modifier::BOLD)
            } else {
                theme.fg("fg")
            },
        ),
        (
            // The change is in the label: the digits must stay readable across the room.
            match c.burn.change_24h() {
                Some(ch) => format!("BURN $/H ({:+.0} % VS 24 H)", ch * 100.0),
                None => "BURN $/H".into(),
            },
            // Whole dollars, one decimal below $10 (block digits have a point).
            match c.burn.now {
                b if b >= 10.0 => format!("{b:.0}"),
                b if b > 0.0 => format!("{b:.1}"),
                _ => "-".into(),
            },
            if c.burn.is_spike(state.fleet.spike_ratio.0) {
                theme.fg("critical").add_modifier(Modifier::BOLD)
            } else {
                theme.fg("fg")
            },
        ),
    ];
    let rows = Layout::vertical(vec![Constraint::Length(tile_h); 6 / per_row]).split(counters_area);
    for (r, row_area) in rows.iter().enumerate() {
        let cols = Layout::horizontal(vec![Constraint::Ratio(1, per_row as u32); per_row])
            .split(*row_area);
        for (k, col) in cols.iter().enumerate() {
            let (label, value, style) = &tiles[r * per_row + k];
            frame.render_widget(
                Paragraph::new(tile(label, value.clone(), *style, digit_rows, theme)),
                col.inner(ratatui::layout::Margin::new(1, 0)),
            );
        }
    }

    // The worst rows, and the last alerts beside them when there is room.
    let (table_area, alerts_area) = if area.width >= 150 {
        let [a, b] = Layout::horizontal([Constraint::Min(60), Constraint::Length(64)]).areas(rest);
        (a, Some(b))
    } else {
        (rest, None)
    };
    worst(frame, table_area, state, theme);
    if let Some(a) = alerts_area {
        alerts(frame, a, state, theme);
    }
    frame.render_widget(Paragraph::new(chip_lines), scopes);

    // When the data last changed, and the newest alert on narrow walls.
    let mut spans = vec![Span::styled(
        match state.last_change {
            Some(t) => format!(" newest change {}", t.format("%H:%M:%SZ")),
            None => " waiting for data…".to_string(),
        },
        theme.fg("muted"),
    )];
    if alerts_area.is_none()
        && let Some(a) = state.alerts.recent.front()
    {
        spans.push(Span::styled(
            format!(
                " │ ⚠ {} {} {}",
                a.time.format("%H:%M:%SZ"),
                a.account_alias,
                a.text
            ),
            theme.fg("high").add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(Err(e)) = &state.alert_command {
        spans.push(Span::styled(format!(" │ {e}"), theme.fg("critical")));
    }
    spans.push(Span::styled("  q quit", theme.fg("muted")));
    frame.render_widget(Paragraph::new(Line::from(spans)), foot);
}

/// Draws a titled section frame and returns the area inside it.
fn section(
    frame: &mut Frame<'_>,
    area: Rect,
    title: &str,
    borders: Borders,
    theme: &Theme,
) -> Rect {
    let block = Block::new()
        .borders(borders)
        .border_style(theme.fg("border"))
        .title(Span::styled(
            title.to_string(),
            theme.fg("title").add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// The worst rows: as many as fit.
fn worst(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let inner = section(frame, area, " WORST ", Borders::TOP, theme);
    let n = inner.height as usize;
    let wide = inner.width >= 100;
    // Worst first; equal scores in a fixed order (no reshuffle as CPU figures move).
    let mut worst: Vec<usize> = (0..state.fleet.rows.len()).collect();
    let key = |i: &usize| {
        let r = &state.fleet.rows[*i];
        (std::cmp::Reverse(r.risk.score), r.scope, r.id())
    };
    if worst.len() > n {
        worst.select_nth_unstable_by(n, |a, b| key(a).cmp(&key(b)));
        worst.truncate(n);
    }
    worst.sort_by(|a, b| key(a).cmp(&key(b)));
    let rows = worst.iter().map(|ix| {
        let r = &state.fleet.rows[*ix];
        let sd = &state.fleet.scopes[r.scope];
        let band = r.worst_severity.map(SeverityBand::of);
        let acct_style = theme.account(state.fleet.account_color(r.scope));
        let flags: Vec<&str> = r.flags.iter().map(Flag::as_str).collect();
        let mut cells = vec![
            Cell::from(Span::styled(
                severity_glyph(band),
                band.map_or(theme.fg("muted"), |b| theme.severity(b)),
            )),
            Cell::from(format!("{:>3}", r.risk.score)),
            Cell::from(Span::styled(fit(&sd.alias, 9), acct_style)),
            Cell::from(fit(&r.subject.display_id(), 22)),
            Cell::from(fit(&r.subject.name(), 16)),
            Cell::from(r.cpu_now.map_or("   ?".into(), |c| format!("{c:>3.0}%"))),
            Cell::from(fit(&r.exposure.label(), 10)),
        ];
        if wide {
            cells.insert(3, Cell::from(fit(&sd.scope.region, 14)));
            cells.push(Cell::from(fit(&flags.join(" "), 60)));
        }
        TRow::new(cells).style(if r.risk.score >= 70 {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        })
    });
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Length(9),
        Constraint::Length(22),
        Constraint::Length(16),
        Constraint::Length(4),
        Constraint::Length(10),
    ];
    if wide {
        widths.insert(3, Constraint::Length(14));
        widths.push(Constraint::Min(10));
    }
    frame.render_widget(Table::new(rows, widths).column_spacing(1), inner);
}

/// The last alerts, newest first.
fn alerts(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let inner = section(frame, area, " ALERTS ", Borders::TOP | Borders::LEFT, theme);
    let w = inner.width as usize;
    let lines: Vec<Line> = if state.alerts.recent.is_empty() {
        vec![Line::from(Span::styled("no alert yet", theme.fg("muted")))]
    } else {
        // Critical findings first: a flood of lesser alerts cannot push them off the wall.
        let mut shown: Vec<&crate::app::alerts::Alert> = state.alerts.recent.iter().collect();
        shown.sort_by_key(|a| {
            std::cmp::Reverse(a.kind == crate::app::alerts::AlertKind::CriticalFinding)
        });
        shown
            .into_iter()
            .take(inner.height as usize)
            .map(|a| {
                Line::from(vec![
                    Span::styled(format!("{} ", a.time.format("%H:%M:%S")), theme.fg("muted")),
                    Span::styled(
                        format!("{} ", a.account_alias),
                        theme.account(
                            state.fleet.account_color(
                                state
                                    .fleet
                                    .scopes
                                    .iter()
                                    .position(|s| s.scope.account_id == a.account_id)
                                    .unwrap_or(usize::MAX),
                            ),
                        ),
                    ),
                    Span::styled(
                        fit(
                            &a.text,
                            w.saturating_sub(10 + a.account_alias.chars().count()),
                        ),
                        theme.fg("high"),
                    ),
                ])
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_digits_in_both_sizes() {
        assert_eq!(
            big("10", 5),
            [" █  ███", "██  █ █", " █  █ █", " █  █ █", "███ ███"]
        );
        assert_eq!(big("10", 3), ["▄█  █▀█", " █  █ █", "▀▀▀ ▀▀▀"]);
        assert!(big("0.41", 3).iter().all(|l| l.chars().count() == 15));
    }
}
