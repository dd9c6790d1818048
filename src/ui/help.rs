//! Help screen generated from the active keymap, so it can never disagree with the bindings.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::app::State;
use crate::keymap::{Action, Keymap};
use crate::theme::Theme;

/// The help text lines (also used by `watchfloor keys`).
pub fn help_lines(keymap: &Keymap) -> Vec<(String, String, String)> {
    Action::ALL
        .iter()
        .map(|a| {
            (
                a.name().to_string(),
                keymap.keys_label(*a),
                a.describe().to_string(),
            )
        })
        .collect()
}

/// Draws the help screen.
pub fn render(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme, scroll: u16) {
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme.fg("border"))
        .title(Span::styled(
            format!(" keys · keymap {} ", state.keymap.name),
            theme.fg("title").add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let key = theme.fg("accent").add_modifier(Modifier::BOLD);
    let muted = theme.fg("muted");
    let ro = !state.triage.enabled;
    let rows = help_lines(&state.keymap);
    let kw = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0) + 2;
    let dw = rows.iter().map(|r| r.2.chars().count()).max().unwrap_or(0) + 2;
    let mut lines: Vec<Line<'static>> = rows
        .into_iter()
        .map(|(name, keys, what)| {
            let what = if ro
                && [
                    "stop",
                    "quarantine",
                    "release",
                    "snapshot",
                    "confirm",
                    "archive-finding",
                ]
                .contains(&name.as_str())
            {
                "read-only: disabled".to_string()
            } else {
                what
            };
            Line::from(vec![
                Span::styled(format!("  {keys:<kw$}"), key),
                Span::raw(format!("{what:<dw$}")),
                Span::styled(name, muted),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "  ctrl+c always quits. While filtering: type text, enter keeps it, esc clears it.",
        muted,
    )));
    lines.push(Line::from(Span::styled(
        "  Filter terms (ANDed): text \"quoted text\" acct:prod region:eu-* type:p3* state:running kind:task",
        muted,
    )));
    lines.push(Line::from(Span::styled(
        "    sev>=high port:22 port:53/udp cpu>90 new:24h flag:foreign-ami finding:Crypto* tag:Role=bastion",
        muted,
    )));
    lines.push(Line::from(Span::styled(
        "    cost>5 cost:unknown rule:ssh-* dns:*.nanopool.org, !term negates",
        muted,
    )));
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "  COMMANDS (:, tab completes, up/down history)",
        theme.fg("title").add_modifier(Modifier::BOLD),
    )));
    for (name, arg, what) in crate::app::command::COMMANDS {
        lines.push(Line::from(vec![
            Span::styled(format!("  :{:<26}", format!("{name} {arg}")), key),
            Span::raw((*what).to_string()),
        ]));
    }
    lines.push(Line::from(Span::styled(
        "  Row marks: ‼ critical  ! high  • medium  · low finding   ~ stale data (account not answering)",
        muted,
    )));
    lines.push(Line::from(Span::styled(
        "  OPEN: ports open to 0.0.0.0/0 or ::/0 on any ENI; PUB: public IPv4/IPv6 address. Risk: docs/risk.md",
        muted,
    )));
    lines.push(Line::from(Span::styled(
        match &state.log_file {
            Some(p) => format!("  Diagnostics log (AWS calls, request ids, retries, feed timings): {p}"),
            None => "  No diagnostics log (start with --log-file PATH for AWS request ids, retries, feed timings)".into(),
        },
        muted,
    )));
    if let Some(r) = &state.alert_command {
        lines.push(Line::from(Span::styled(
            match r {
                Ok(m) => format!("  Alert command, last run: {m}"),
                Err(e) => format!("  Alert command, last run FAILED: {e}"),
            },
            if r.is_ok() {
                muted
            } else {
                theme.fg("critical")
            },
        )));
    }
    if let Some(o) = &state.fleet.org {
        lines.push(Line::from(Span::styled(
            format!(
                "  Organization: {} ACTIVE accounts, {} excluded, {} as [[account]] entries; \
                 {} Organizations calls{}",
                o.active,
                o.excluded,
                o.configured,
                o.calls,
                o.error
                    .as_ref()
                    .map(|e| format!("; {e}"))
                    .unwrap_or_default()
            ),
            if o.error.is_some() {
                theme.fg("critical")
            } else {
                muted
            },
        )));
    }
    if let Some(m) = state
        .fleet
        .org
        .as_ref()
        .and_then(|o| o.monitoring_account.as_ref())
    {
        let alias = state
            .fleet
            .account(m)
            .map_or(m.as_str(), |a| a.alias.as_str());
        lines.push(Line::from(Span::styled(
            format!(
                "  CPU of every member is read through the monitoring account {alias} ({m}): its \
                 CloudWatch figures below are the whole organization's (500 metrics a call across \
                 accounts; each metric costs the same as in the member), the members show none"
            ),
            muted,
        )));
    }
    if let Some((region, e)) = state.fleet.coverage_errors.iter().next() {
        lines.push(Line::from(Span::styled(
            format!("  GuardDuty coverage could not be read in {region}: {e}"),
            theme.fg("critical"),
        )));
    }
    for (region, blind) in &state.fleet.blind_spots {
        if blind.is_empty() {
            continue;
        }
        let names: Vec<String> = blind
            .iter()
            .map(|u| {
                let alias = state
                    .fleet
                    .account(&u.account_id)
                    .map_or(u.account_id.as_str(), |a| a.alias.as_str());
                format!("{alias} ({}: {})", u.account_id, u.status)
            })
            .collect();
        lines.push(Line::from(Span::styled(
            format!(
                "  GuardDuty blind spots in {region} (not watched by the administrator): {}",
                names.join(", ")
            ),
            theme.fg("critical"),
        )));
    }
    // Accounts and what polling them costs (the `stats` part of this screen).
    lines.push(Line::raw(""));
    let feeds: Vec<&'static str> = state.fleet.totals.calls.iter().map(|c| c.0).collect();
    let requests = format!("requests {}", feeds.join("/"));
    // The request counts column is as wide as its heading.
    let rw = requests.chars().count() + 2;
    lines.push(Line::from(Span::styled(
        format!(
            "{:<42}{requests:<rw$}CloudWatch metrics/day",
            "  ACCOUNTS (id verified with STS)"
        ),
        theme.fg("title").add_modifier(Modifier::BOLD),
    )));
    for a in &state.fleet.accounts {
        let scopes: Vec<&crate::app::ScopeData> = state
            .fleet
            .scopes
            .iter()
            .filter(|s| s.scope.account_id == a.account_id)
            .collect();
        let calls: Vec<String> = feeds
            .iter()
            .map(|f| {
                let n: u64 = scopes
                    .iter()
                    .filter_map(|s| s.feed(f))
                    .map(|s| s.calls)
                    .sum();
                n.to_string()
            })
            .collect();
        let known: Vec<f64> = scopes.iter().filter_map(|s| s.metrics_per_day()).collect();
        let cost = if known.is_empty() {
            "not yet known".to_string()
        } else {
            let per_day = known.iter().fold(0.0, |a, b| a + b);
            format!(
                "{per_day:>9.0} (${:.2}/day)",
                crate::feed::cloudwatch_usd(per_day)
            )
        };
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<10} ", a.alias), key),
            Span::raw(format!("{:<14}", a.account_id)),
            Span::raw(format!("{:>3} region(s)  ", a.regions.len())),
            Span::raw(format!("{:<rw$}", calls.join("/"))),
            Span::styled(cost, muted),
        ]));
    }
    // What the fleet costs, per account.
    let spike = state.fleet.spike_ratio.0;
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        format!(
            "  FLEET COST (on-demand list prices, Spot at its AZ's price; savings plans and \
             reserved instances not counted; a spike is more than {spike}x the burn of 24 h ago)"
        ),
        theme.fg("title").add_modifier(Modifier::BOLD),
    )));
    for a in &state.fleet.accounts {
        let (account_id, alias) = (&a.account_id, a.alias.as_str());
        let b = state.fleet.burn_of(account_id);
        let unpriced = match b.unpriced {
            0 => String::new(),
            n => format!(", {n} instance(s) unpriced"),
        };
        let source = if b.from_cost_explorer {
            "; 24 h ago: Cost Explorer's EC2 cost of the day before yesterday"
        } else {
            "; 24 h ago: the instances launched before then"
        };
        lines.push(Line::from(vec![
            Span::styled(format!("  {alias:<10} "), key),
            Span::styled(
                format!("{}{unpriced}{source}", b.label()),
                if b.is_spike(spike) {
                    theme.fg("critical").add_modifier(Modifier::BOLD)
                } else {
                    muted
                },
            ),
        ]));
        if let Some(c) = state.fleet.costs.get(account_id) {
            let days = super::widgets::cost_sparkline(Some(c));
            if let (Some(first), Some(last)) = (c.daily.first(), c.daily.last()) {
                lines.push(Line::from(Span::styled(
                    format!(
                        "             Cost Explorer, {} days: {days} {}/day on {} to {}/day on {}",
                        c.daily.len(),
                        crate::model::price::usd(first.total),
                        first.day,
                        crate::model::price::usd(last.total),
                        last.day
                    ),
                    muted,
                )));
            }
            for a in &c.anomalies {
                lines.push(Line::from(Span::styled(
                    format!(
                        "             cost anomaly since {}: {} above expected{}{}",
                        a.start,
                        crate::model::price::usd(a.impact_usd),
                        a.service
                            .as_deref()
                            .map(|s| format!(", {s}"))
                            .unwrap_or_default(),
                        a.region
                            .as_deref()
                            .map(|r| format!(" in {r}"))
                            .unwrap_or_default()
                    ),
                    theme.fg("critical"),
                )));
            }
        }
    }
    // The team's rules and what they match now.
    if !state.fleet.rules.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(
            "  RULES ([[rule]] in the config; a match is the flag rule:NAME)",
            theme.fg("title").add_modifier(Modifier::BOLD),
        )));
        for (i, r) in state.fleet.rules.iter().enumerate() {
            let n = state.fleet.matching(i).count();
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<24} ", r.name), key),
                Span::raw(format!(
                    "{:<8} {:>5} match(es){}  ",
                    r.severity.name(),
                    n,
                    if r.alert { ", alerts" } else { "" }
                )),
                Span::styled(r.when.clone(), muted),
            ]));
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        inner,
    );
}
