//! Instance or task detail: identity, risk reasons, CPU chart, findings, interfaces with groups
//! and rules; an instance's tags and the tasks on it, a task's containers.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline, Wrap};

use super::widgets::{age, cpu_style, severity_glyph};
use crate::app::{CpuSource, State};
use crate::model::task::Task;
use crate::model::{Instance, Subject};
use crate::theme::Theme;
use crate::triage::escape_controls as esc;

/// Draws the detail screen of one instance or task.
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    state: &State,
    theme: &Theme,
    (scope_ix, id): (usize, &str),
    scroll: u16,
    selected_finding: Option<&str>,
) {
    let Some(row) = state.fleet.row(scope_ix, id) else {
        frame.render_widget(
            Paragraph::new(format!(
                "{} is no longer in the inventory (terminated or stopped, or its account stopped answering). esc goes back.",
                crate::triage::escape_controls(id)
            ))
            .style(theme.fg("muted"))
            .wrap(Wrap { trim: true }),
            area,
        );
        return;
    };
    let scope = &state.fleet.scopes[scope_ix];
    let label = theme.fg("muted");
    let strong = theme.fg("fg").add_modifier(Modifier::BOLD);
    let name = row.subject.name();
    // A task id is 32 characters: cut, so the account and region stay in view at 80 columns
    // (the full ARN is in the body).
    let shown_id = match row.task() {
        Some(_) => super::widgets::fit(&row.subject.display_id(), 18),
        None => row.subject.display_id(),
    };
    let title_style = theme.fg("title").add_modifier(Modifier::BOLD);
    let title = Line::from(vec![
        Span::styled(
            format!(
                " {} {} · ",
                shown_id,
                if name.is_empty() {
                    "(no name)".to_string()
                } else {
                    crate::triage::escape_controls(&name)
                },
            ),
            title_style,
        ),
        Span::styled(
            scope.alias.clone(),
            match state.fleet.account_color(row.scope) {
                Some(c) => theme.account(Some(c)),
                None => title_style,
            },
        ),
        Span::styled(
            format!(" ({}) · {} ", scope.scope.account_id, scope.scope.region),
            title_style,
        ),
    ]);
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme.fg("border"))
        .title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let (cpu, cpu_source) = state.fleet.cpu_series(row);
    let chart_h = if inner.height >= 30 { 6 } else { 3 };
    let [chart_area, body_area] =
        Layout::vertical([Constraint::Length(chart_h), Constraint::Min(1)]).areas(inner);

    // CPU chart.
    let values: Vec<u64> = cpu
        .map(|s| s.points.iter().map(|p| p.1.round() as u64).collect())
        .unwrap_or_default();
    let shown = &values[values.len().saturating_sub(chart_area.width as usize)..];
    let whose = match cpu_source {
        CpuSource::Own => "",
        CpuSource::Service => " (service-level only: the service's mean over its tasks)",
        CpuSource::Unknown => "",
    };
    let cpu_title = match (cpu.and_then(|c| c.latest()), cpu) {
        (Some(now), Some(c)) => format!(
            "CPU {now:.0}% now · mean {:.0}% · {} samples every {}s{whose}",
            c.recent_mean(c.points.len()).unwrap_or(0.0),
            c.points.len(),
            c.period_secs
        ),
        _ if cpu_source == CpuSource::Unknown => {
            "CPU unknown: a standalone task, and no task-level Container Insights data".to_string()
        }
        _ => format!("CPU: no data yet{whose}"),
    };
    let cpu_now = cpu.and_then(|c| c.latest()).unwrap_or(0.0);
    let [cpu_label, cpu_chart] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(chart_area);
    frame.render_widget(Paragraph::new(Span::styled(cpu_title, label)), cpu_label);
    frame.render_widget(
        Sparkline::default()
            .data(shown)
            .max(100)
            .style(cpu_style(theme, cpu_now)),
        cpu_chart,
    );

    let mut lines: Vec<Line<'static>> = Vec::new();
    let kv = |k: &str, v: String| kv(label, k, v);
    match &row.subject {
        Subject::Instance(inst) => instance_lines(&mut lines, state, scope_ix, inst, label),
        Subject::Task(t) => task_lines(&mut lines, state, scope_ix, t, label),
    }
    let flags = state.fleet.flags_of(row);
    if !flags.is_empty() {
        lines.push(Line::from(kv("flags", flags.join(" "))));
    }
    if let Some(inst) = row.instance()
        && let Some(base) = crate::model::credits::baseline_pct(&inst.instance_type)
    {
        lines.push(Line::from(credit_line(
            inst,
            base,
            scope.credits.get(&inst.instance_id),
            row.credits_exhausted.is_some(),
            label,
        )));
    }
    lines.push(Line::raw(""));

    // Risk.
    lines.push(Line::from(vec![
        Span::styled(format!("RISK {}", row.risk.score), strong),
        Span::styled(
            if scope.rows_stale(state.now) {
                "   (data is stale: the account is not answering)"
            } else {
                ""
            },
            theme.fg("stale"),
        ),
    ]));
    for r in &row.risk.reasons {
        lines.push(Line::from(vec![
            Span::styled(format!("  {:+4}  ", r.points), label),
            Span::raw(r.why.clone()),
        ]));
    }
    lines.push(Line::raw(""));

    // Findings.
    let findings = state.fleet.findings_of(row);
    lines.push(Line::from(Span::styled(
        format!("FINDINGS ({})", findings.len()),
        strong,
    )));
    if findings.is_empty() {
        lines.push(Line::from(Span::styled("  none", label)));
    }
    for f in findings {
        let band = f.band();
        // The selected finding (next-finding cycles it) is what archive-finding acts on.
        let cursor = if Some(f.id.as_str()) == selected_finding {
            "▶ "
        } else {
            "  "
        };
        lines.push(Line::from(vec![
            Span::styled(cursor, theme.fg("accent").add_modifier(Modifier::BOLD)),
            Span::styled(
                format!("{} ", severity_glyph(Some(band))),
                theme.severity(band),
            ),
            Span::styled(
                format!("{:<8}", format!("{} {:.1}", band.letter(), f.severity)),
                theme.severity(band),
            ),
            Span::raw(f.kind.clone()),
            Span::styled(
                format!(
                    "  ×{} · {} ago",
                    f.count,
                    age((state.now - f.updated_at).num_seconds().max(0))
                ),
                label,
            ),
        ]));
        lines.push(Line::from(Span::styled(
            format!("             {}", f.title),
            label,
        )));
        if let Some(d) = &f.dns_domain {
            // The instance chose the name it asked for: escaped, cut.
            lines.push(Line::from(Span::styled(
                format!(
                    "             asked DNS for {}",
                    super::widgets::fit(&crate::triage::escape_controls(d), 80)
                ),
                label,
            )));
        }
    }
    lines.push(Line::raw(""));

    // Network: ENIs, their groups and inbound rules.
    let interfaces = row.subject.interfaces();
    let through = match row.task() {
        Some(t) if t.on_host_network() => format!(
            " · through its container instance {} (bridge/host mode)",
            t.host_instance.as_deref().unwrap_or("?")
        ),
        _ => String::new(),
    };
    lines.push(Line::from(Span::styled(
        format!(
            "NETWORK ({} interface{}) · open to the internet: {}{through}",
            interfaces.len(),
            if interfaces.len() == 1 { "" } else { "s" },
            row.exposure.label()
        ),
        strong,
    )));
    for missing in &row.exposure.missing_groups {
        if missing.starts_with('(') {
            lines.push(Line::from(Span::styled(
                format!("  {missing}: exposure unknown"),
                theme.fg("stale"),
            )));
        }
    }
    for eni in interfaces {
        lines.push(Line::from(vec![
            Span::styled(format!("  {} ", eni.eni_id), theme.fg("accent")),
            Span::styled(
                format!(
                    "device {} · {} · private {} · public {}",
                    eni.device_index,
                    eni.subnet_id.as_deref().unwrap_or("-"),
                    eni.private_ip.as_deref().unwrap_or("-"),
                    eni.public_ip.as_deref().unwrap_or("-")
                ),
                label,
            ),
        ]));
        for gid in &eni.group_ids {
            match scope.groups.get(gid) {
                None => lines.push(Line::from(Span::styled(
                    format!("    {gid} (not in the security group data: exposure unknown)"),
                    theme.fg("stale"),
                ))),
                Some(g) => {
                    lines.push(Line::from(vec![
                        Span::raw(format!("    {} ", g.group_id)),
                        Span::styled(g.name.clone(), strong),
                    ]));
                    if g.ingress.is_empty() {
                        lines.push(Line::from(Span::styled("      no inbound rules", label)));
                    }
                    for r in &g.ingress {
                        let ports = match (r.protocol.as_str(), r.from_port, r.to_port) {
                            ("-1", _, _) => "all traffic".to_string(),
                            (p, Some(a), Some(b)) if a == b => format!("{p} {a}"),
                            (p, Some(a), Some(b)) => format!("{p} {a}-{b}"),
                            (p, _, _) => p.to_string(),
                        };
                        let world = r.source.is_world();
                        let what = match &r.source {
                            crate::model::RuleSource::PrefixList(p) => format!("prefix list {p}"),
                            crate::model::RuleSource::Group(g) => format!("group {g}"),
                            s => s.label().to_string(),
                        };
                        lines.push(Line::from(vec![
                            Span::raw(format!("      {ports:<16} from {what}")),
                            if world {
                                Span::styled(
                                    "  ◀ WORLD",
                                    theme.fg("world-open").add_modifier(Modifier::BOLD),
                                )
                            } else {
                                Span::raw("")
                            },
                        ]));
                    }
                }
            }
        }
    }
    lines.push(Line::raw(""));
    match &row.subject {
        Subject::Instance(inst) => {
            tasks_on(
                &mut lines,
                state,
                scope_ix,
                &inst.instance_id,
                strong,
                label,
            );
            lines.push(Line::from(Span::styled(
                format!("TAGS ({})", inst.tags.len()),
                strong,
            )));
            for (k, v) in &inst.tags {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {k} = "), label),
                    Span::raw(v.clone()),
                ]));
            }
        }
        Subject::Task(t) => containers(&mut lines, t, strong, label),
    }
    let max_scroll = (lines.len() as u16).saturating_sub(body_area.height);
    frame.render_widget(
        Paragraph::new(lines).scroll((scroll.min(max_scroll), 0)),
        body_area,
    );
}

/// The credits line of a burstable instance: mode, balance, and the surplus it was charged.
fn credit_line(
    inst: &crate::model::Instance,
    baseline: f64,
    credits: Option<&crate::model::credits::Credits>,
    exhausted: bool,
    label: Style,
) -> Vec<Span<'static>> {
    use crate::model::credits::{CreditMode, surplus_usd};
    let mut v = vec![Span::styled("CPU credits ", label)];
    let Some(c) = credits else {
        v.push(Span::raw(format!(
            "not known yet (baseline {baseline:.0}%)"
        )));
        return v;
    };
    let mode = c.mode.unwrap_or(CreditMode::Unknown);
    v.push(Span::raw(format!("{} mode · ", mode.as_str())));
    v.push(match c.balance.latest() {
        Some(b) if exhausted => Span::styled(
            format!("balance {b:.1}: spent, held at its {baseline:.0}% baseline"),
            label.add_modifier(Modifier::BOLD),
        ),
        Some(b) if b < crate::model::credits::EMPTY_BALANCE && mode == CreditMode::Unlimited => {
            Span::styled(
                format!("balance {b:.1}: spent, bursting on charged surplus credits"),
                label.add_modifier(Modifier::BOLD),
            )
        }
        Some(b) => Span::raw(format!("balance {b:.1} (baseline {baseline:.0}%)")),
        None => Span::raw(format!("balance unknown (baseline {baseline:.0}%)")),
    });
    if mode == CreditMode::Unlimited {
        let charged = c.surplus_charged();
        let minutes = c.surplus.points.len() as u64 * u64::from(c.surplus.period_secs.max(1)) / 60;
        v.push(Span::raw(format!(
            " · surplus charged {charged:.1} credits ≈ ${:.2} over {minutes} min",
            surplus_usd(&inst.instance_type, inst.platform, charged)
        )));
    }
    v
}

/// What an instance costs: its $/h (on-demand or its AZ's Spot price, where it comes from and
/// its date), and what it cost since launch; or why its price is unknown.
fn cost_line(state: &State, scope_ix: usize, inst: &Instance, label: Style) -> Vec<Span<'static>> {
    use crate::model::price::{PriceKey, usd};
    let scope = &state.fleet.scopes[scope_ix];
    let key = PriceKey::of(inst);
    let mut v = vec![Span::styled("$/h ", label)];
    let Some(q) = scope.prices.get(&key) else {
        let why = match scope.feed(crate::feed::PRICING).map(|f| &f.state) {
            None => "not looked up (pricing is off)".to_string(),
            Some(crate::app::FeedState::Error(e)) => format!("pricing failed: {e}"),
            Some(_) => "not looked up yet".to_string(),
        };
        v.push(Span::styled(format!("unknown: {why}"), label));
        return v;
    };
    let Some(p) = q.usd_per_hour else {
        v.push(Span::styled(
            format!(
                "unknown: {}",
                q.note.as_deref().unwrap_or("no price for it")
            ),
            label,
        ));
        return v;
    };
    let what = match &key.spot_az {
        Some(az) => format!("Spot in {az}"),
        None => format!(
            "on demand ({} {})",
            key.platform.as_str(),
            key.tenancy.as_str()
        ),
    };
    v.push(Span::raw(format!(
        "{} {what}, as of {}",
        usd(p),
        q.as_of.format("%Y-%m-%d")
    )));
    if q.cached {
        v.push(Span::styled(
            format!(
                " (cached: {})",
                q.note.as_deref().unwrap_or("AWS not asked")
            ),
            label,
        ));
    }
    if let Some(c) = state
        .fleet
        .row(scope_ix, &inst.instance_id)
        .and_then(|r| r.cost_since_launch(state.now))
    {
        v.push(Span::raw(format!(" · since launch ≈ {}", usd(c))));
    }
    v
}

/// `key value` spans, padded for a line of several.
fn kv(label: Style, k: &str, v: String) -> Vec<Span<'static>> {
    vec![
        Span::styled(format!("{k} "), label),
        Span::raw(v),
        Span::raw("   "),
    ]
}

/// The identity lines of an instance: state, type, launch, addresses, protections, image, key
/// pair and who launched it.
fn instance_lines(
    lines: &mut Vec<Line<'static>>,
    state: &State,
    scope_ix: usize,
    inst: &Instance,
    label: Style,
) {
    let scope = &state.fleet.scopes[scope_ix];
    let kv = |k: &str, v: String| kv(label, k, v);
    let mut l1 = kv("state", inst.state.as_str().to_string());
    l1.extend(kv("type", inst.instance_type.clone()));
    if let Some(t) = inst.launch_time {
        l1.extend(kv(
            "launched",
            format!(
                "{} ({} ago)",
                t.format("%Y-%m-%d %H:%M"),
                age((state.now - t).num_seconds().max(0))
            ),
        ));
    }
    lines.push(Line::from(l1));
    lines.push(Line::from(cost_line(state, scope_ix, inst, label)));
    let mut l2 = kv("public", inst.public_ip().unwrap_or("-").to_string());
    l2.extend(kv("vpc", inst.vpc_id.clone().unwrap_or_else(|| "-".into())));
    l2.extend(kv(
        "monitoring",
        if inst.detailed_monitoring {
            "detailed (1 min)".into()
        } else {
            "basic (5 min)".into()
        },
    ));
    lines.push(Line::from(l2));
    let flag = |v: Option<bool>| match v {
        Some(true) => "ON",
        Some(false) => "off",
        None => "?",
    };
    let mut l3 = kv(
        "termination protection",
        flag(inst.termination_protection).into(),
    );
    l3.extend(kv("stop protection", flag(inst.stop_protection).into()));
    l3.extend(kv(
        "auto scaling",
        inst.asg.clone().unwrap_or_else(|| "-".into()),
    ));
    lines.push(Line::from(l3));
    let mut l4 = kv(
        "image",
        match (
            &inst.image_id,
            inst.image_id.as_ref().and_then(|id| scope.images.get(id)),
        ) {
            (None, _) => "-".into(),
            (Some(id), None) => format!("{id} (not described yet)"),
            (Some(id), Some(None)) => {
                format!("{id} (cannot be described: deregistered or unshared)")
            }
            // Owner first: the name is the image owner's to choose, so it comes last, quoted
            // and cut, and can never pass for the owner.
            (Some(id), Some(Some(img))) => format!(
                "{id} owner {}{} name \"{}\"",
                img.owner_id,
                img.owner_alias
                    .as_deref()
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default(),
                super::widgets::fit(&crate::triage::escape_controls(&img.name), 24)
            ),
        },
    );
    l4.extend(kv(
        "key pair",
        inst.key_name.clone().unwrap_or_else(|| "none".into()),
    ));
    if inst.spot {
        l4.extend(kv("market", "spot".into()));
    }
    lines.push(Line::from(l4));
    // Everything CloudTrail recorded was written by the caller: escaped before it is drawn.
    let esc = crate::triage::escape_controls;
    match scope.launched_by.get(&inst.instance_id) {
        Some(crate::model::launch::LaunchedBy::Found(l)) => {
            let mut a = kv("launched by", esc(&l.principal));
            a.extend(kv("from", esc(&l.source_ip)));
            a.extend(kv("at", l.at.format("%Y-%m-%d %H:%M:%SZ").to_string()));
            lines.push(Line::from(a));
            let mut b = kv("  access key", esc(&l.access_key_id));
            b.extend(kv("user agent", esc(&l.user_agent)));
            lines.push(Line::from(b));
        }
        Some(other) => lines.push(Line::from(kv("launched by", esc(&other.describe())))),
        None if state
            .ui
            .looking_up
            .contains(&(scope_ix, inst.instance_id.clone())) =>
        {
            lines.push(Line::from(kv(
                "launched by",
                "looking up (CloudTrail)…".into(),
            )));
        }
        None => lines.push(Line::from(kv(
            "launched by",
            format!(
                "press {} to look up (CloudTrail)",
                state.keymap.keys_label(crate::keymap::Action::LaunchedBy)
            ),
        ))),
    }
}

/// The identity lines of a task: cluster, service, definition, launch type, status, start,
/// who started it, reservation, role, and the container instance it runs on. Everything here
/// was written by whoever registered or ran the task: escaped before it is drawn.
fn task_lines(
    lines: &mut Vec<Line<'static>>,
    state: &State,
    scope_ix: usize,
    t: &Task,
    label: Style,
) {
    let scope = &state.fleet.scopes[scope_ix];
    let kv = |k: &str, v: String| kv(label, k, v);
    let mut l1 = kv("status", t.last_status.to_ascii_lowercase());
    l1.extend(kv("cluster", esc(&t.cluster)));
    l1.extend(kv(
        "service",
        match (&t.service, &t.claimed_service) {
            (Some(s), _) => esc(s),
            (None, Some(c)) => format!(
                "standalone: its group claims service {}, whose deployments did not start it",
                esc(c)
            ),
            (None, None) => "standalone (no service: RunTask)".into(),
        },
    ));
    lines.push(Line::from(l1));
    if t.overridden {
        lines.push(Line::from(kv(
            "overrides",
            "started with command, environment or task role overrides".into(),
        )));
    }
    let mut l2 = kv("task definition", esc(&t.task_definition));
    if let Some(at) = t.definition.as_ref().and_then(|d| d.registered_at) {
        l2.extend(kv(
            "registered",
            format!(
                "{} ({} ago)",
                at.format("%Y-%m-%d %H:%M"),
                age((state.now - at).num_seconds().max(0))
            ),
        ));
    }
    l2.extend(kv(
        "launch type",
        if t.launch_type.is_empty() {
            "?".into()
        } else {
            t.launch_type.clone()
        },
    ));
    lines.push(Line::from(l2));
    let mut l3 = match t.started_at {
        Some(at) => kv(
            "started",
            format!(
                "{} ({} ago)",
                at.format("%Y-%m-%d %H:%M"),
                age((state.now - at).num_seconds().max(0))
            ),
        ),
        None => kv("started", "?".into()),
    };
    l3.extend(kv(
        "by",
        if t.started_by.is_empty() {
            "-".into()
        } else {
            esc(&t.started_by)
        },
    ));
    lines.push(Line::from(l3));
    let mut l4 = kv(
        "reserved",
        format!(
            "cpu {} units · memory {} MiB",
            t.cpu.as_deref().map_or_else(|| "?".into(), esc),
            t.memory.as_deref().map_or_else(|| "?".into(), esc)
        ),
    );
    l4.extend(kv(
        "network",
        t.definition
            .as_ref()
            .map_or_else(|| "?".into(), |d| esc(&d.network_mode)),
    ));
    lines.push(Line::from(l4));
    lines.push(Line::from(kv(
        "task role",
        match &t.definition {
            None => "? (task definition not described yet)".into(),
            Some(d) => d
                .task_role_arn
                .as_deref()
                .map_or_else(|| "none".into(), esc),
        },
    )));
    let insights = scope
        .clusters
        .iter()
        .find(|c| c.name == t.cluster)
        .map(|c| (c.insights, c.enhanced));
    lines.push(Line::from(kv(
        "container insights",
        match insights {
            Some((_, true)) => "enhanced: task-level CPU".into(),
            Some((true, false)) => {
                "on, not enhanced: CPU is the service's, or unknown for a standalone task".into()
            }
            Some((false, _)) => {
                "off: CPU is the service's, or unknown for a standalone task".into()
            }
            None => "?".into(),
        },
    )));
    if let Some(ci) = &t.container_instance {
        let host = t.host_instance.as_deref();
        let on_row = host.is_some_and(|h| state.fleet.row(scope_ix, h).is_some());
        lines.push(Line::from(kv(
            "runs on",
            match host {
                Some(h) if on_row => format!(
                    "{h} (container instance; {} opens it)",
                    state.keymap.keys_label(crate::keymap::Action::Open)
                ),
                Some(h) => format!("{h} (container instance, not in the inventory)"),
                None => format!("{} (container instance, EC2 id unknown)", esc(ci)),
            },
        )));
    }
    lines.push(Line::from(kv("arn", esc(&t.task_arn))));
}

/// A task's containers: image, digest and mapped host ports.
fn containers(lines: &mut Vec<Line<'static>>, t: &Task, strong: Style, label: Style) {
    lines.push(Line::from(Span::styled(
        format!("CONTAINERS ({})", t.containers.len()),
        strong,
    )));
    for c in &t.containers {
        lines.push(Line::from(vec![
            Span::styled(format!("  {} ", esc(&c.name)), strong),
            Span::raw(esc(&c.image)),
        ]));
        let mut detail = format!(
            "    digest {}",
            c.digest.as_deref().map_or_else(|| "-".into(), esc)
        );
        if !c.host_ports.is_empty() {
            let ports: Vec<String> = c
                .host_ports
                .iter()
                .map(|(p, proto)| format!("{p}/{}", esc(proto)))
                .collect();
            detail.push_str(&format!(" · host ports {}", ports.join(",")));
        }
        lines.push(Line::from(Span::styled(detail, label)));
    }
}

/// The ECS tasks running on an instance (its container instance's tasks).
fn tasks_on(
    lines: &mut Vec<Line<'static>>,
    state: &State,
    scope_ix: usize,
    instance_id: &str,
    strong: Style,
    label: Style,
) {
    let tasks: Vec<&Task> = state
        .fleet
        .rows
        .iter()
        .filter(|r| r.scope == scope_ix)
        .filter_map(|r| r.task())
        .filter(|t| t.host_instance.as_deref() == Some(instance_id))
        .collect();
    if tasks.is_empty() {
        return;
    }
    lines.push(Line::from(Span::styled(
        format!("ECS TASKS ON IT ({})", tasks.len()),
        strong,
    )));
    for t in tasks {
        lines.push(Line::from(vec![
            Span::raw(format!("  task/{} ", t.task_id())),
            Span::styled(
                format!(
                    "{} · {} · {}",
                    esc(&t.task_definition),
                    t.service
                        .as_deref()
                        .map_or_else(|| "standalone".into(), esc),
                    t.last_status.to_ascii_lowercase()
                ),
                label,
            ),
        ]));
    }
    lines.push(Line::raw(""));
}
