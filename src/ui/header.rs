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

/// One chip per scope, problems first, data ages written by `age` (the wall writes them by the minute, so a second
/// passing redraws nothing); styles are left default when `theme` is None (layout only).
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
            // The account's Cost Explorer days ride on the chip of the scope its feed runs in.
            let days = if s.feed(crate::feed::COSTS).is_some() {
                super::widgets::cost_sparkline(state.fleet.costs.get(&s.scope.account_id))
            } else {
                String::new()
            };
            let days = if days.is_empty() {
                days
            } else {
                format!(" {days}")
            };
            let name = format!("{name}{}{days}", burn_suffix(s.burn()));
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

/// Chips that lead the status lines: organization discovery, and GuardDuty blind spots.
fn org_chips(state: &State, theme: Option<&Theme>) -> Vec<Chip> {
    let role = |r: &str| theme.map_or_else(Style::default, |t| t.fg(r));
    let mut v = Vec::new();
    if let Some(o) = &state.fleet.org {
        let polled = o.active - o.excluded;
        let (text, style) = match &o.error {
            Some(e) => (
                format!("org ✗ {}", super::widgets::fit(e, 60)),
                role("error").add_modifier(Modifier::BOLD),
            ),
            None => (
                format!(
                    "org {polled} accts{}",
                    o.discovered_at
                        .map(|t| format!(" ✓{}", age((state.now - t).num_seconds().max(0))))
                        .unwrap_or_default()
                ),
                role("ok"),
            ),
        };
        v.push((text, style, 0, None));
        // Every member's findings or CPU come through these accounts: one not connected is a
        // gap in every row.
        for (what, id) in [
            ("GuardDuty admin", &o.guardduty_admin),
            ("monitoring account", &o.monitoring_account),
        ] {
            let Some(id) = id else { continue };
            if !state.fleet.account(id).is_some_and(|a| a.verified) {
                v.push((
                    format!("{what} {id} not connected"),
                    role("error").add_modifier(Modifier::BOLD),
                    0,
                    None,
                ));
            }
        }
    }
    if let Some(e) = &state.fleet.events {
        v.push(match &e.error {
            Some(err) => (
                format!("events ✗ {}", super::widgets::fit(err, 50)),
                role("error").add_modifier(Modifier::BOLD),
                0,
                None,
            ),
            None => {
                // A queue that went quiet for an hour may be a deleted forwarding rule.
                let quiet = e.last_at.map(|t| (state.now - t).num_seconds().max(0));
                let (age_text, style) = match quiet {
                    Some(q) if q > 3600 => (format!(" last {}", age(q)), role("stale")),
                    Some(q) => (format!(" last {}", age(q)), role("ok")),
                    None => (" none yet".to_string(), role("muted")),
                };
                (format!("events {}{age_text}", e.woke), style, 0, None)
            }
        });
    }
    let blind: std::collections::BTreeSet<&str> = state
        .fleet
        .blind_spots
        .values()
        .flatten()
        .map(|u| u.account_id.as_str())
        .collect();
    if let Some((region, e)) = state.fleet.coverage_errors.iter().next() {
        v.push((
            format!("GD coverage ✗ {region}: {}", super::widgets::fit(e, 40)),
            role("error").add_modifier(Modifier::BOLD),
            0,
            None,
        ));
    }
    if !blind.is_empty() {
        v.push((
            format!("GD BLIND {}", blind.len()),
            role("error")
                .add_modifier(Modifier::BOLD)
                .add_modifier(Modifier::REVERSED),
            0,
            None,
        ));
    }
    v
}

/// Chips about money: accounts whose burn spiked, and open Cost Explorer anomalies.
fn money_chips(state: &State, theme: Option<&Theme>) -> Vec<Chip> {
    let role = |r: &str| theme.map_or_else(Style::default, |t| t.fg(r));
    let mut v = Vec::new();
    // Accounts whose burn jumped (a miner's bill in the making), steepest first, in one chip:
    // `?` and the wall give the figures.
    let mut spikes: Vec<(f64, String)> = state
        .fleet
        .account_burns()
        .iter()
        .filter(|(_, b)| b.is_spike(state.fleet.spike_ratio.0))
        .map(|(account_id, b)| {
            let alias = state
                .fleet
                .account(account_id)
                .map_or(account_id.clone(), |a| a.alias.clone());
            match b.change_24h() {
                Some(c) => (c, format!("{alias} {:+.0}%", c * 100.0)),
                None => (
                    f64::INFINITY,
                    format!("{alias} {}/h new", crate::model::price::usd(b.now)),
                ),
            }
        })
        .collect();
    if !spikes.is_empty() {
        spikes.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let names: Vec<String> = spikes.into_iter().map(|(_, t)| t).collect();
        v.push((
            format!("BURN SPIKE {}", names.join(" ")),
            role("error")
                .add_modifier(Modifier::BOLD)
                .add_modifier(Modifier::REVERSED),
            0,
            None,
        ));
    }
    // Cost Explorer's anomaly detection saw spend it did not expect.
    let anomalous: Vec<String> = state
        .fleet
        .costs
        .iter()
        .filter(|(_, c)| !c.anomalies.is_empty())
        .map(|(account_id, c)| {
            let alias = state
                .fleet
                .account(account_id)
                .map_or(account_id.as_str(), |a| a.alias.as_str());
            let impact: f64 = c.anomalies.iter().map(|a| a.impact_usd).sum();
            format!("{alias} {}", crate::model::price::usd(impact))
        })
        .collect();
    if !anomalous.is_empty() {
        v.push((
            format!("COST ANOMALY {}", anomalous.join(" ")),
            role("error").add_modifier(Modifier::BOLD),
            0,
            None,
        ));
    }
    v
}

/// One chip per account, its worst region first (when the account x region chips do not fit),
/// after a count of accounts by health.
fn account_chips(state: &State, theme: Option<&Theme>, age: impl Fn(i64) -> String) -> Vec<Chip> {
    let role = |r: &str| theme.map_or_else(Style::default, |t| t.fg(r));
    // Per account: (scope index of its worst region, health, regions).
    let mut worst: Vec<(usize, ScopeHealth, u8, usize)> = Vec::new();
    let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let rank = |h: &ScopeHealth| match h {
        ScopeHealth::Error(..) => 0,
        ScopeHealth::Stale(_) | ScopeHealth::Degraded(..) => 1,
        ScopeHealth::Loading => 2,
        ScopeHealth::Ok(_) => 3,
    };
    for (i, s) in state.fleet.scopes.iter().enumerate() {
        if s.retired {
            continue;
        }
        let h = s.health(state.now);
        let r = rank(&h);
        match at.get(s.scope.account_id.as_str()) {
            Some(&k) => {
                let w = &mut worst[k];
                w.3 += 1;
                let older = matches!((&h, &w.1), (ScopeHealth::Ok(a), ScopeHealth::Ok(b)) if a > b);
                if r < w.2 || older {
                    (w.0, w.1, w.2) = (i, h, r);
                }
            }
            None => {
                at.insert(&s.scope.account_id, worst.len());
                worst.push((i, h, r, 1));
            }
        }
    }
    let count = |r: u8| worst.iter().filter(|w| w.2 == r).count();
    let mut summary = format!("{} accounts ✓{}", worst.len(), count(3));
    for (r, glyph) in [(1, "◷"), (0, "✗"), (2, "…")] {
        if count(r) > 0 {
            summary.push_str(&format!(" {glyph}{}", count(r)));
        }
    }
    let mut v: Vec<Chip> = worst
        .into_iter()
        .map(|(i, h, r, n)| {
            let s = &state.fleet.scopes[i];
            let mut burn = burn_suffix(state.fleet.burn_of(&s.scope.account_id));
            let days = super::widgets::cost_sparkline(state.fleet.costs.get(&s.scope.account_id));
            if !days.is_empty() {
                burn = format!("{burn} {days}");
            }
            let alias = state
                .fleet
                .account_color(i)
                .zip(theme)
                .map(|(c, t)| (s.alias.chars().count(), t.account(Some(c))));
            let region = &s.scope.region;
            let (text, style) = match h {
                ScopeHealth::Ok(a) => (format!("{} ×{n}{burn} ✓{}", s.alias, age(a)), role("ok")),
                ScopeHealth::Loading => (format!("{} ×{n} …", s.alias), role("loading")),
                ScopeHealth::Stale(a) => (
                    format!("{} ◷stale {region} {}", s.alias, age(a)),
                    role("stale").add_modifier(Modifier::BOLD),
                ),
                ScopeHealth::Degraded(feed, m) => (
                    format!(
                        "{} ⚠{feed} {region} {}",
                        s.alias,
                        super::widgets::fit(&m, 30)
                    ),
                    role("stale"),
                ),
                ScopeHealth::Error(feed, m) => (
                    format!(
                        "{} ✗{feed} {region} {}",
                        s.alias,
                        super::widgets::fit(&m, 30)
                    ),
                    role("error").add_modifier(Modifier::BOLD),
                ),
            };
            (text, style, r, alias)
        })
        .collect();
    v.sort_by_key(|c| c.2);
    v.insert(0, (summary, role("muted"), 0, None));
    v
}

/// Lines `chips` take at `width` with nothing left out.
fn lines_needed(chips: &[Chip], width: u16) -> usize {
    let width = width.max(10) as usize;
    let (mut lines, mut used) = (1, 0);
    for (text, ..) in chips {
        let w = text.chars().count() + 2;
        if used + w > width && used > 0 {
            lines += 1;
            used = 0;
        }
        used += w;
    }
    lines
}

/// The status lines under the header (and on the wall): organization and blind-spot chips, the
/// money chips (burn spikes, cost anomalies), then one chip per account x region when they fit in
/// `max_lines`; else the count of accounts by health, the money chips and one chip per account
/// (problems first either way).
pub(super) fn status_lines(
    state: &State,
    theme: Option<&Theme>,
    age: impl Fn(i64) -> String + Copy,
    width: u16,
    max_lines: usize,
) -> Vec<Line<'static>> {
    let muted = theme.map_or_else(Style::default, |t| t.fg("muted"));
    let mut all = org_chips(state, theme);
    let lead = all.len();
    let money = money_chips(state, theme);
    all.extend(money.iter().cloned());
    // A chip takes at least 8 cells: past that many scopes they cannot fit, and are not built.
    let live = state.fleet.scopes.iter().filter(|s| !s.retired).count();
    let may_fit = live <= usize::from(width.max(10)) * max_lines / 8;
    if may_fit {
        all.extend(chips_aged(state, theme, age));
    }
    if !may_fit || lines_needed(&all, width) > max_lines {
        // Summarised: the count of accounts by health comes before the money chips.
        all.truncate(lead);
        let mut accounts = account_chips(state, theme, age);
        let rest = accounts.split_off(1.min(accounts.len()));
        all.extend(accounts);
        all.extend(money);
        all.extend(rest);
    }
    chip_lines(all, width, muted, max_lines)
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
    let n = status_lines(state, None, age, width, MAX_CHIP_LINES).len();
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
        burn_text(t.burn, Width::Long),
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
        burn_text(t.burn, Width::Short),
        String::new(),
    ];
    // The narrowest form leaves the launches out too.
    let mut shortest = short.clone();
    shortest[4].clear();
    shortest[5] = burn_text(t.burn, Width::Shortest);
    let source = format!("[{}]", state.source);
    // The mode markers drawn after the name (RO, DRY-RUN, N MARKED).
    let markers = if !state.triage.enabled {
        4
    } else if state.triage.dry_run_only {
        9
    } else {
        0
    } + if state.ui.marked.is_empty() {
        0
    } else {
        format!(" {} MARKED ", state.ui.marked.len())
            .chars()
            .count()
    };
    let width = |parts: &[String], cost_shown: bool, source_shown: bool| -> usize {
        12 + markers
            + if source_shown {
                source.chars().count()
            } else {
                0
            }
            + parts
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
    // Narrower terminals drop the request counts, then shorten the labels, then drop the cost,
    // the source label, the launches and at last the burn.
    let mut long_quiet = long.clone();
    long_quiet[6].clear();
    // At the very least the count of instances no price covers stays.
    let mut bare = shortest.clone();
    bare[5] = match t.burn.unpriced {
        0 => String::new(),
        n => format!("+{n}?"),
    };
    let fits = |parts: &[String], c: bool, s: bool| width(parts, c, s) <= area.width as usize;
    let (parts, show_cost, show_source) = [
        (long, true, true),
        (long_quiet, true, true),
        (short.clone(), true, true),
        (short.clone(), false, true),
        (short, false, false),
        (shortest, false, false),
    ]
    .into_iter()
    .find(|(p, c, s)| fits(p, *c, *s))
    .unwrap_or((bare, false, false));
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
        t.burn.is_spike(state.fleet.spike_ratio.0),
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
        lines.extend(status_lines(
            state,
            Some(theme),
            age,
            area.width,
            MAX_CHIP_LINES,
        ));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// How much room a header part gets.
#[derive(Clone, Copy, PartialEq)]
enum Width {
    Long,
    Short,
    Shortest,
}

/// The fleet's burn for the header: `burn $412/h (+540 % vs 24 h) · 3 unpriced`, `$412/h
/// +540%` when short, `$412/h` when shortest; empty while no instance is priced or unpriced
/// (pricing off, no instances).
fn burn_text(b: crate::model::price::Burn, width: Width) -> String {
    if b.now == 0.0 && b.unpriced == 0 {
        return String::new();
    }
    let now = format!("{}/h", crate::model::price::usd(b.now));
    // Unpriced instances are never left out silently: `+3?` after the figure.
    let unpriced = match b.unpriced {
        0 => String::new(),
        n => format!("+{n}?"),
    };
    match (width, b.change_24h()) {
        // Whole dollars from $10 up: the 80-column header has no room for cents.
        (Width::Shortest, _) if b.now >= 10.0 => format!("${:.0}/h{unpriced}", b.now),
        (Width::Shortest, _) => format!("{now}{unpriced}"),
        (Width::Short, Some(c)) if c.abs() >= 0.005 => {
            format!("{now}{unpriced} {:+.0}%", c * 100.0)
        }
        (Width::Short, _) => format!("{now}{unpriced}"),
        (Width::Long, _) => match b.unpriced {
            0 => format!("burn {}", b.label()),
            n => format!("burn {} · {n} unpriced", b.label()),
        },
    }
}

/// ` $12.40/h` after a chip's name: what its instances burn (nothing while none is priced).
fn burn_suffix(b: crate::model::price::Burn) -> String {
    if b.now > 0.0 {
        format!(" {}/h", crate::model::price::usd(b.now))
    } else {
        String::new()
    }
}
