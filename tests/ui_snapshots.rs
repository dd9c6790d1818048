//! Whole-screen snapshots of the fleet, detail and help screens at 80x24 and 200x60.

use chrono::{TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use watchfloor::app::{Msg, State, update};
use watchfloor::keymap::{Key, Keymap};
use watchfloor::source::demo::{self, DemoWorld};
use watchfloor::theme::{ColorMode, Theme};

/// The demo fleet after the whole campaign (seed 7), at a fixed clock.
fn campaign_state(t: f64) -> State {
    let origin = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
    let world = std::sync::Arc::new(DemoWorld::new(7, origin));
    let now = world.time_of(t);
    let mut s = State::new("demo seed 7", Keymap::default_map(), now);
    // As `watchfloor demo` runs it: with the demo's rules.
    s.fleet.configure(watchfloor::rules::demo_rules(), 2.0);
    s.triage.enabled = true;
    for u in futures::executor::block_on(demo::poll_all(&world, t, now)) {
        update(&mut s, Msg::Feed(u));
    }
    s
}

fn screen(state: &mut State, w: u16, h: u16, theme: &Theme) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let page = watchfloor::ui::table_page(state, ratatui::layout::Rect::new(0, 0, w, h));
    update(state, Msg::Resize { page, rows: h });
    term.draw(|f| watchfloor::ui::render(f, state, theme))
        .unwrap();
    term
}

fn keys(state: &mut State, ks: &[&str]) {
    for k in ks {
        update(state, Msg::Key(Key::parse(k).unwrap()));
    }
}

fn plain() -> Theme {
    Theme::default_theme(ColorMode::None)
}

#[test]
fn fleet_80x24() {
    let mut s = campaign_state(300.0);
    insta::assert_snapshot!(screen(&mut s, 80, 24, &plain()).backend());
}

#[test]
fn fleet_200x60() {
    let mut s = campaign_state(300.0);
    insta::assert_snapshot!(screen(&mut s, 200, 60, &plain()).backend());
}

#[test]
fn fleet_during_outage_200x60() {
    // Simulated second 150: the data/eu-west-1 findings feed is throttled.
    let mut s = campaign_state(150.0);
    insta::assert_snapshot!(screen(&mut s, 200, 60, &plain()).backend());
}

#[test]
fn fleet_filtered_80x24() {
    let mut s = campaign_state(300.0);
    keys(&mut s, &["/", "s", "a", "-", "e", "a", "s", "t", "enter"]);
    insta::assert_snapshot!(screen(&mut s, 80, 24, &plain()).backend());
}

#[test]
fn detail_80x24() {
    let mut s = campaign_state(300.0);
    keys(
        &mut s,
        &["/", "b", "a", "s", "t", "i", "o", "n", "enter", "enter"],
    );
    insta::assert_snapshot!(screen(&mut s, 80, 24, &plain()).backend());
}

#[test]
fn detail_200x60() {
    let mut s = campaign_state(300.0);
    keys(
        &mut s,
        &["/", "b", "a", "s", "t", "i", "o", "n", "enter", "enter"],
    );
    insta::assert_snapshot!(screen(&mut s, 200, 60, &plain()).backend());
}

#[test]
fn task_rows_80x24() {
    let mut s = campaign_state(300.0);
    keys(
        &mut s,
        &["/", "k", "i", "n", "d", ":", "t", "a", "s", "k", "enter"],
    );
    insta::assert_snapshot!(screen(&mut s, 80, 24, &plain()).backend());
}

#[test]
fn task_detail_200x60() {
    let mut s = campaign_state(300.0);
    keys(
        &mut s,
        &[
            "/", "s", "t", "a", "n", "d", "a", "l", "o", "n", "e", "enter", "enter",
        ],
    );
    insta::assert_snapshot!(screen(&mut s, 200, 60, &plain()).backend());
}

#[test]
fn task_detail_80x24() {
    let mut s = campaign_state(300.0);
    keys(
        &mut s,
        &[
            "/", "s", "t", "a", "n", "d", "a", "l", "o", "n", "e", "enter", "enter",
        ],
    );
    insta::assert_snapshot!(screen(&mut s, 80, 24, &plain()).backend());
}

#[test]
fn help_80x24() {
    let mut s = campaign_state(300.0);
    keys(&mut s, &["?"]);
    insta::assert_snapshot!(screen(&mut s, 80, 24, &plain()).backend());
}

#[test]
fn help_200x60_vim_keymap() {
    let mut s = campaign_state(300.0);
    s.keymap = Keymap::builtin("vim").unwrap();
    keys(&mut s, &["?"]);
    insta::assert_snapshot!(screen(&mut s, 200, 60, &plain()).backend());
}

#[test]
fn triage_panel_80x24() {
    let mut s = campaign_state(300.0);
    s.triage.case_id = Some("IR-42".into());
    // The operator has looked at the ranked list for a few seconds (a triage key right after a
    // re-rank under the cursor is held back).
    let later = s.now + chrono::TimeDelta::seconds(5);
    update(&mut s, Msg::Tick(later));
    keys(
        &mut s,
        &["/", "b", "a", "s", "t", "i", "o", "n", "enter", "Q"],
    );
    let id = s.triage.panel.as_ref().expect("panel open").id;
    update(
        &mut s,
        Msg::Triage(watchfloor::triage::executor::TriageEvent::Plan {
            id,
            plan: vec![
                "Record the original groups of 1 interface(s) in the local journal (tags mirror them, best-effort)."
                    .into(),
                "Keep the evidence: termination protection on, shutdown behaviour stop, volumes kept on termination."
                    .into(),
            ],
            checks: vec![watchfloor::triage::Check::new(
                "ModifyNetworkInterfaceAttribute",
                watchfloor::triage::Verdict::Allowed,
            )],
            typed_confirmation: false,
            action: watchfloor::triage::Action::Quarantine,
        }),
    );
    insta::assert_snapshot!(screen(&mut s, 80, 24, &plain()).backend());
}

#[test]
fn triage_panel_names_a_denied_check_and_does_nothing() {
    use watchfloor::triage::{Check, Verdict};
    let mut s = campaign_state(300.0);
    s.triage.case_id = Some("IR-42".into());
    let later = s.now + chrono::TimeDelta::seconds(5);
    update(&mut s, Msg::Tick(later));
    keys(
        &mut s,
        &["/", "b", "a", "s", "t", "i", "o", "n", "enter", "S"],
    );
    let p = s.triage.panel.as_ref().expect("panel open");
    let (id, action) = (p.id, p.action.clone());
    update(
        &mut s,
        Msg::Triage(watchfloor::triage::executor::TriageEvent::Plan {
            id,
            plan: vec!["Stop the instance.".into()],
            checks: vec![
                Check::new("ModifyInstanceAttribute", Verdict::Allowed),
                Check::new(
                    "StopInstances",
                    Verdict::Denied("UnauthorizedOperation".into()),
                ),
            ],
            typed_confirmation: false,
            action,
        }),
    );
    let text = screen(&mut s, 120, 40, &plain()).backend().to_string();
    assert!(
        text.contains("dry run ModifyInstanceAttribute: allowed"),
        "{text}"
    );
    assert!(
        text.contains("dry run StopInstances: denied: UnauthorizedOperation"),
        "{text}"
    );
    assert!(
        text.contains("1 check(s) NOT allowed: StopInstances"),
        "{text}"
    );
    assert!(text.contains("not allowed: nothing will be done"), "{text}");
}

#[test]
fn no_color_selection_is_reverse_video_and_worst_rows_bold() {
    let mut s = campaign_state(300.0);
    let term = screen(&mut s, 120, 30, &plain());
    let buf = term.backend().buffer();
    let header_h = (0..30)
        .find(|y| buf[(2, *y)].symbol() == "R")
        .expect("table header row");
    let first = header_h + 1;
    // Selected row (the first one) is reversed; no colour anywhere.
    assert!(buf[(10, first)].modifier.contains(Modifier::REVERSED));
    assert!(!buf[(10, first + 1)].modifier.contains(Modifier::REVERSED));
    assert!(
        buf[(10, first + 1)].modifier.contains(Modifier::BOLD),
        "risk>=70 rows are bold"
    );
    for y in 0..30 {
        for x in 0..120 {
            assert_eq!(
                buf[(x, y)].fg,
                ratatui::style::Color::Reset,
                "colour at {x},{y}"
            );
        }
    }
}

#[test]
fn truecolor_theme_colours_critical_rows() {
    let mut s = campaign_state(300.0);
    let theme = Theme::builtin("high-contrast", ColorMode::TrueColor).unwrap();
    let term = screen(&mut s, 120, 30, &theme);
    let buf = term.backend().buffer();
    let header_h = (0..30).find(|y| buf[(2, *y)].symbol() == "R").unwrap();
    // Second row (not selected): its risk number is drawn in the critical colour.
    let y = header_h + 2;
    let risk_cell = (2..6)
        .map(|x| &buf[(x, y)])
        .find(|c| c.symbol() != " ")
        .unwrap();
    assert_eq!(risk_cell.fg, ratatui::style::Color::Rgb(255, 0, 0));
}

#[test]
fn findings_board_80x24() {
    let mut s = campaign_state(300.0);
    keys(&mut s, &["F", "j"]);
    insta::assert_snapshot!(screen(&mut s, 80, 24, &plain()).backend());
}

#[test]
fn command_line_completion_80x24() {
    let mut s = campaign_state(300.0);
    keys(&mut s, &[":", "a", "c", "c", "tab"]);
    insta::assert_snapshot!(screen(&mut s, 80, 24, &plain()).backend());
}

#[test]
fn bulk_panel_80x24() {
    use watchfloor::triage::{Check, Verdict};
    let mut s = campaign_state(300.0);
    s.triage.case_id = Some("IR-42".into());
    // The operator has looked at the list for a few seconds (marks wait after a re-rank).
    let later = s.now + chrono::TimeDelta::seconds(5);
    update(&mut s, Msg::Tick(later));
    // Three marks across two accounts: the top row, the next, and a staging row further down.
    keys(&mut s, &["space", "j", "space", "j", "j", "space", "Q"]);
    let ids: Vec<(u64, String)> = s
        .triage
        .bulk
        .as_ref()
        .expect("bulk panel open")
        .items
        .iter()
        .map(|i| (i.id, i.target.instance_id.clone()))
        .collect();
    assert_eq!(ids.len(), 3);
    for (n, (id, _)) in ids.iter().enumerate() {
        let verdict = if n == 1 {
            Verdict::Denied("UnauthorizedOperation".into())
        } else {
            Verdict::Allowed
        };
        update(
            &mut s,
            Msg::Triage(watchfloor::triage::executor::TriageEvent::Plan {
                id: *id,
                plan: vec!["isolate".into()],
                checks: vec![Check::new("ModifyNetworkInterfaceAttribute", verdict)],
                typed_confirmation: false,
                action: watchfloor::triage::Action::Quarantine,
            }),
        );
    }
    keys(&mut s, &["Q", "U", "A", "R"]);
    insta::assert_snapshot!(screen(&mut s, 80, 24, &plain()).backend());
}

#[test]
fn the_account_colour_marks_prod_in_the_table_and_the_detail_title() {
    let mut s = campaign_state(300.0);
    let theme = Theme::builtin("default", ColorMode::TrueColor).unwrap();
    let red = ratatui::style::Color::Rgb(255, 0, 0);
    let term = screen(&mut s, 120, 30, &theme);
    let buf = term.backend().buffer();
    let text = term.backend().to_string();
    let lines: Vec<&str> = text.lines().collect();
    // A prod row and a staging row: only prod's alias is red.
    let colour_of = |alias: &str| {
        let y = lines
            .iter()
            .position(|l| l.contains(&format!(" {alias} ")) && l.contains("i-"))
            .unwrap() as u16;
        let x = lines[y as usize][1..].find(alias).unwrap() as u16;
        // (lines are quoted: column 0 of the buffer is character 1 of the line)
        buf[(x, y)].fg
    };
    assert_eq!(colour_of("prod"), red);
    assert_ne!(colour_of("staging"), red);
    keys(&mut s, &["/", "p", "r", "o", "d", "enter", "enter"]);
    let term = screen(&mut s, 120, 30, &theme);
    let buf = term.backend().buffer();
    let row = (0..30)
        .find(|y| (0..120).any(|x| buf[(x, *y)].symbol() == "·"))
        .unwrap();
    assert!(
        (0..120).any(|x| buf[(x, row)].fg == red),
        "detail title names prod in red"
    );
}

fn wall_state() -> State {
    let mut s = campaign_state(300.0);
    s.wall = true;
    s.triage.enabled = false;
    s.last_change = Some(s.now);
    s
}

#[test]
fn wall_200x50() {
    let mut s = wall_state();
    insta::assert_snapshot!(screen(&mut s, 200, 50, &plain()).backend());
}

#[test]
fn wall_80x24() {
    let mut s = wall_state();
    insta::assert_snapshot!(screen(&mut s, 80, 24, &plain()).backend());
}

#[test]
fn the_wall_ignores_triage_keys() {
    let mut s = wall_state();
    s.triage.case_id = Some("IR-1".into());
    keys(&mut s, &["space", "Q", "S", "enter", ":", "/", "y"]);
    assert!(s.triage.panel.is_none() && s.triage.bulk.is_none());
    assert!(s.ui.marked.is_empty() && s.ui.command.is_none() && !s.ui.editing_filter);
    assert_eq!(s.ui.screen, watchfloor::app::Screen::Fleet);
    let out: Vec<_> = ["q"]
        .iter()
        .flat_map(|k| update(&mut s, Msg::Key(Key::parse(k).unwrap())))
        .collect();
    assert_eq!(out, vec![watchfloor::app::Command::Quit { forced: false }]);
}

/// A simulated organization of 40 accounts (its GuardDuty blind spots from the demo), with an
/// aggregating account not connected and the event queue: the header summarises by account.
#[test]
fn organization_header_80x24() {
    use watchfloor::feed::{EventsStatus, OrgStatus, Report};
    let origin = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
    let world = std::sync::Arc::new(DemoWorld::sized(7, origin, 40, 4000));
    let now = world.time_of(300.0);
    let mut s = State::new("demo seed 7", Keymap::default_map(), now);
    let mut reports = futures::executor::block_on(demo::poll_all(&world, 300.0, now));
    reports.push(Report::Organization(OrgStatus {
        active: 42,
        excluded: 2,
        discovered_at: Some(now - chrono::TimeDelta::minutes(3)),
        calls: 3,
        guardduty_admin: Some("210987654321".into()),
        monitoring_account: Some("999999999999".into()),
        ..OrgStatus::default()
    }));
    reports.push(Report::Events(EventsStatus {
        received: 20,
        woke: 17,
        last_at: Some(now - chrono::TimeDelta::minutes(2)),
        ..EventsStatus::default()
    }));
    update(&mut s, Msg::Feeds(reports));
    let term = screen(&mut s, 80, 24, &plain());
    let text = format!("{:?}", term.backend());
    assert!(text.contains("40 accounts"), "{text}");
    insta::assert_snapshot!(term.backend());
}

/// The header at the end of the campaign: the fleet's burn with its change in 24 h, the burn
/// spike chip, and (with Cost Explorer figures for `prod`) its week as a sparkline and an open
/// cost anomaly.
#[test]
fn cost_header_200x6() {
    use watchfloor::feed::{Data, Report};
    use watchfloor::model::price::{AccountCosts, CostAnomaly, DailyCost};
    let mut s = campaign_state(300.0);
    let prod = s
        .fleet
        .scopes
        .iter()
        .find(|sd| sd.alias == "prod")
        .map(|sd| sd.scope.clone())
        .unwrap();
    let (now, today) = (s.now, s.now.date_naive());
    let daily = (1..=7)
        .rev()
        .map(|n| DailyCost {
            day: today - chrono::TimeDelta::days(n),
            total: if n <= 2 { 900.0 } else { 220.0 },
            compute: if n <= 2 { 700.0 } else { 200.0 },
            estimated: n == 1,
        })
        .collect();
    update(
        &mut s,
        Msg::Feeds(vec![
            Report::Schedule {
                scope: prod.clone(),
                feed: watchfloor::feed::COSTS,
                interval_secs: 3600,
                essential: false,
            },
            Report::Data {
                feed: watchfloor::feed::COSTS,
                at: now,
                data: Data::Costs {
                    scope: prod,
                    costs: AccountCosts {
                        daily,
                        anomalies: vec![CostAnomaly {
                            id: "a-1".into(),
                            start: (today - chrono::TimeDelta::days(2)).to_string(),
                            end: None,
                            impact_usd: 1180.0,
                            service: Some("Amazon Elastic Compute Cloud - Compute".into()),
                            region: Some("ap-south-1".into()),
                        }],
                    },
                },
            },
        ]),
    );
    let term = screen(&mut s, 200, 6, &plain());
    let text = format!("{:?}", term.backend());
    for want in [
        "burn $",
        "vs 24 h",
        "BURN SPIKE",
        "COST ANOMALY prod $1180",
        "▃▃▃▃▃██",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    insta::assert_snapshot!(term.backend());
}
