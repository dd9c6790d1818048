//! Unit tests of `update()`: data application, navigation, filter, sort, staleness, console
//! triage and the quit policy.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::*;
use crate::feed::{AccountInfo, Data, Report};
use crate::keymap::Key;
use crate::model::credits::{CreditMode, Credits};
use crate::model::{
    CpuSeries, Finding, IngressRule, Instance, InstanceState, NetworkInterface, RuleSource, Scope,
    SecurityGroup,
};
use crate::source::mfa::Prompt;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
}

fn scope() -> Scope {
    Scope::new("111111111111", "us-east-1")
}

fn inst(id: &str, name: &str, groups: &[&str], public: bool) -> Instance {
    Instance {
        instance_id: id.into(),
        name: name.into(),
        instance_type: "t3.micro".into(),
        state: InstanceState::Running,
        launch_time: Some(t0()),
        vpc_id: Some("vpc-1".into()),
        interfaces: vec![NetworkInterface {
            eni_id: format!("eni-{id}"),
            device_index: 0,
            subnet_id: None,
            private_ip: Some("10.0.0.1".into()),
            public_ip: public.then(|| "198.51.100.1".to_string()),
            ipv6: vec![],
            group_ids: groups.iter().map(|s| s.to_string()).collect(),
        }],
        tags: vec![],
        detailed_monitoring: false,
        termination_protection: None,
        stop_protection: None,
        asg: None,
        image_id: None,
        key_name: Some("ops".into()),
        spot: false,
        platform: Default::default(),
        tenancy: Default::default(),
        availability_zone: None,
    }
}

fn ssh_world() -> SecurityGroup {
    SecurityGroup {
        group_id: "sg-ssh".into(),
        name: "ssh".into(),
        vpc_id: None,
        ingress: vec![IngressRule {
            protocol: "tcp".into(),
            from_port: Some(22),
            to_port: Some(22),
            source: RuleSource::Cidr4("0.0.0.0/0".into()),
        }],
    }
}

fn finding(id: &str, instance: &str, kind: &str, sev: f64) -> Finding {
    Finding {
        id: id.into(),
        kind: kind.into(),
        severity: sev,
        title: String::new(),
        instance_id: Some(instance.into()),
        updated_at: t0(),
        count: 1,
        task_arn: None,
        cluster_arn: None,
        archived: false,
        dns_domain: None,
    }
}

/// A full EC2 inventory of `scope` fetched at `at`.
fn inventory(
    scope: Scope,
    at: DateTime<Utc>,
    instances: Vec<Instance>,
    groups: Vec<SecurityGroup>,
) -> Msg {
    Msg::Feed(Report::Data {
        feed: "ec2",
        at,
        data: Data::Inventory {
            scope,
            instances,
            groups,
            loose_interfaces: vec![],
        },
    })
}

fn accounts() -> Report {
    Report::Accounts(vec![AccountInfo {
        alias: "prod".into(),
        account_id: "111111111111".into(),
        verified: true,
        regions: vec!["us-east-1".into()],
        home_regions: vec!["us-east-1".into()],
        color: None,
        read_only: false,
    }])
}

/// State with three instances: `i-a` (quiet), `i-b` (ssh open), `i-c` (miner finding).
fn state() -> State {
    let mut s = State::new("test", Keymap::default_map(), t0());
    update(&mut s, Msg::Feed(accounts()));
    update(
        &mut s,
        Msg::Feed(Report::Data {
            feed: "ec2",
            at: t0(),
            data: Data::Inventory {
                scope: scope(),
                instances: vec![
                    inst("i-a", "quiet", &[], false),
                    inst("i-b", "bastion", &["sg-ssh"], true),
                    inst("i-c", "miner", &[], false),
                ],
                groups: vec![ssh_world()],
                loose_interfaces: vec![],
            },
        }),
    );
    update(
        &mut s,
        Msg::Feed(Report::Data {
            feed: "findings",
            at: t0(),
            data: Data::Findings {
                scope: scope(),
                findings: vec![finding(
                    "f1",
                    "i-c",
                    "CryptoCurrency:EC2/BitcoinTool.B!DNS",
                    8.0,
                )],
                complete: true,
            },
        }),
    );
    s
}

/// `state()` a few seconds later: the re-rank of the first polls is no longer fresh, so keys
/// that act on the selected row (triage, mark, copy) are not held back.
fn settled() -> State {
    let mut s = state();
    let later = s.now + TimeDelta::seconds(5);
    update(&mut s, Msg::Tick(later));
    s
}

fn key(s: &mut State, k: &str) -> Vec<Command> {
    update(s, Msg::Key(Key::parse(k).unwrap()))
}

fn ids(s: &State) -> Vec<&str> {
    s.view.iter().map(|i| s.fleet.rows[*i].id()).collect()
}

/// The ids shown (sorted) once the filter is `f`, which must parse.
fn filtered(s: &mut State, f: &str) -> Vec<String> {
    s.set_filter(f.into());
    assert!(s.ui.filter_error.is_none(), "{f}: {:?}", s.ui.filter_error);
    let mut v: Vec<String> = ids(s).into_iter().map(String::from).collect();
    v.sort();
    v
}

#[test]
fn rows_rank_by_risk() {
    let s = state();
    assert_eq!(ids(&s), vec!["i-c", "i-b", "i-a"]);
    assert_eq!(s.fleet.totals.instances, 3);
    assert_eq!(s.fleet.totals.with_findings, 1);
    assert_eq!(s.fleet.totals.world_open, 1);
}

#[test]
fn navigation_and_drill_in() {
    let mut s = state();
    assert_eq!(s.selected_row().unwrap().id(), "i-c");
    key(&mut s, "j");
    assert_eq!(s.selected_row().unwrap().id(), "i-b");
    key(&mut s, "G");
    assert_eq!(s.selected_row().unwrap().id(), "i-a");
    key(&mut s, "j");
    assert_eq!(s.ui.selected, 2, "stays on the last row");
    key(&mut s, "g");
    assert_eq!(s.ui.selected, 0);
    key(&mut s, "down");
    key(&mut s, "enter");
    assert!(matches!(&s.ui.screen, Screen::Detail { id, .. } if id == "i-b"));
    key(&mut s, "j");
    assert!(matches!(&s.ui.screen, Screen::Detail { scroll: 1, .. }));
    key(&mut s, "?");
    assert!(matches!(&s.ui.screen, Screen::Help { .. }));
    key(&mut s, "esc");
    assert!(
        matches!(&s.ui.screen, Screen::Detail { .. }),
        "help returns to detail"
    );
    key(&mut s, "esc");
    assert_eq!(s.ui.screen, Screen::Fleet);
    assert_eq!(key(&mut s, "q"), vec![Command::Quit { forced: false }]);
    assert_eq!(key(&mut s, "ctrl+c"), vec![Command::Quit { forced: false }]);
}

#[test]
fn unbound_keys_do_nothing() {
    let mut s = state();
    assert!(key(&mut s, "x").is_empty());
    assert_eq!(s.ui.screen, Screen::Fleet);
    assert_eq!(s.ui.selected, 0);
}

#[test]
fn filter_typing_enter_and_esc() {
    let mut s = state();
    key(&mut s, "/");
    assert!(s.ui.editing_filter);
    for c in "BAST".chars() {
        update(
            &mut s,
            Msg::Key(Key::plain(crate::keymap::KeyCode::Char(c))),
        );
    }
    assert_eq!(ids(&s), vec!["i-b"], "case-insensitive");
    // While typing, `q` is text, not quit.
    assert!(key(&mut s, "q").is_empty());
    assert!(ids(&s).is_empty());
    key(&mut s, "backspace");
    key(&mut s, "enter");
    assert!(!s.ui.editing_filter);
    assert_eq!(ids(&s), vec!["i-b"]);
    // Filter also matches finding types and ports.
    s.set_filter("bitcoin".into());
    assert_eq!(ids(&s), vec!["i-c"]);
    key(&mut s, "esc");
    assert_eq!(ids(&s).len(), 3, "esc on the fleet clears the filter");
}

#[test]
fn filter_language_terms_narrow_the_view() {
    let mut s = state();
    let view = filtered;
    assert_eq!(
        view(&mut s, "port:22"),
        ["i-b"],
        "22 reachable: world-open and public"
    );
    assert!(view(&mut s, "port:80").is_empty());
    assert_eq!(view(&mut s, "sev>=high"), ["i-c"]);
    assert!(view(&mut s, "sev>=critical").is_empty());
    assert_eq!(view(&mut s, "!sev>=low"), ["i-a", "i-b"], "negation");
    assert_eq!(view(&mut s, "acct:prod region:us-*"), ["i-a", "i-b", "i-c"]);
    assert!(view(&mut s, "acct:staging").is_empty());
    assert_eq!(
        view(&mut s, "acct:111111111111 bastion"),
        ["i-b"],
        "id and text, AND"
    );
    assert_eq!(view(&mut s, "flag:world-open"), ["i-b"]);
    assert_eq!(
        view(&mut s, "type:t3.* state:running kind:instance").len(),
        3
    );
    assert!(view(&mut s, "kind:task").is_empty());
    // Launched at t0; the clock is t0: everything is new within a day.
    assert_eq!(view(&mut s, "new:24h").len(), 3);
    s.now = t0() + TimeDelta::hours(25);
    assert!(view(&mut s, "new:24h").is_empty());
}

#[test]
fn a_bad_filter_shows_its_error_and_keeps_the_last_good_one() {
    let mut s = state();
    key(&mut s, "/");
    s.set_filter("port:22".into());
    // (Typing passes through `sev` as text, which matches nothing: set the text at once.)
    s.set_filter("port:22 sev>=xhg".into());
    let e = s.ui.filter_error.clone().expect("error shown");
    assert_eq!(e.pos, 13);
    assert!(e.message.contains("unknown severity `xhg`"), "{e}");
    assert_eq!(ids(&s), vec!["i-b"], "port:22 still applies");
    key(&mut s, "enter");
    assert!(
        s.ui.editing_filter,
        "enter does not keep a filter with an error"
    );
    for _ in 0..3 {
        key(&mut s, "backspace");
    }
    for c in "high".chars() {
        update(
            &mut s,
            Msg::Key(Key::plain(crate::keymap::KeyCode::Char(c))),
        );
    }
    assert!(s.ui.filter_error.is_none());
    assert!(ids(&s).is_empty(), "port:22 AND sev>=high");
    key(&mut s, "enter");
    assert!(!s.ui.editing_filter);
}

#[test]
fn sort_cycles_and_reverses() {
    let mut s = state();
    key(&mut s, "s");
    assert_eq!(s.ui.sort, SortKey::Cpu);
    for _ in 0..4 {
        key(&mut s, "s");
    }
    assert_eq!(s.ui.sort, SortKey::Name);
    assert!(!s.ui.descending);
    assert_eq!(ids(&s), vec!["i-b", "i-c", "i-a"], "bastion, miner, quiet");
    key(&mut s, "r");
    assert_eq!(ids(&s), vec!["i-a", "i-c", "i-b"]);
}

#[test]
fn archived_findings_disappear_and_complete_sets_replace() {
    let mut s = state();
    let mut f = finding("f1", "i-c", "CryptoCurrency:EC2/BitcoinTool.B!DNS", 8.0);
    f.archived = true;
    update(
        &mut s,
        Msg::Feed(Report::Data {
            feed: "findings",
            at: t0(),
            data: Data::Findings {
                scope: scope(),
                findings: vec![
                    f,
                    finding("f2", "i-a", "Recon:EC2/PortProbeUnprotectedPort", 2.0),
                ],
                complete: false,
            },
        }),
    );
    assert_eq!(s.fleet.totals.with_findings, 1);
    assert_eq!(s.fleet.findings_of(s.fleet.row(0, "i-a").unwrap()).len(), 1);
    assert!(
        s.fleet
            .findings_of(s.fleet.row(0, "i-c").unwrap())
            .is_empty()
    );
    update(
        &mut s,
        Msg::Feed(Report::Data {
            feed: "findings",
            at: t0(),
            data: Data::Findings {
                scope: scope(),
                findings: vec![],
                complete: true,
            },
        }),
    );
    assert_eq!(s.fleet.totals.with_findings, 0);
}

#[test]
fn cpu_saturation_raises_rank() {
    let mut s = state();
    let pts = (0..5)
        .map(|i| (t0() + TimeDelta::minutes(i), 99.0))
        .collect();
    update(
        &mut s,
        Msg::Feed(Report::Data {
            feed: "cpu",
            at: t0(),
            data: Data::Cpu {
                scope: scope(),
                series: vec![(
                    "i-a".into(),
                    CpuSeries {
                        period_secs: 60,
                        points: pts,
                    },
                )],
                credits: vec![],
            },
        }),
    );
    assert_eq!(s.fleet.totals.saturated, 1);
    assert_eq!(
        ids(&s)[1],
        "i-a",
        "saturated quiet box now outranks the bastion"
    );
}

/// CPU and credit samples for `i-a` (a t3.micro, baseline 10 %) over the last 15 minutes.
fn cpu_and_credits(cpu: f64, balance: f64) -> Msg {
    let pts = |v: f64| CpuSeries {
        period_secs: 300,
        points: (0..3)
            .map(|i| (t0() - TimeDelta::minutes(10 - 5 * i), v))
            .collect(),
    };
    Msg::Feed(Report::Data {
        feed: "cpu",
        at: t0(),
        data: Data::Cpu {
            scope: scope(),
            series: vec![("i-a".into(), pts(cpu))],
            credits: vec![(
                "i-a".into(),
                Credits {
                    mode: Some(CreditMode::Standard),
                    balance: pts(balance),
                    surplus: CpuSeries::default(),
                },
            )],
        },
    })
}

#[test]
fn a_burstable_box_held_at_its_baseline_counts_as_saturated() {
    let mut s = state();
    // 10 % CPU on a t3.micro with no credits left: held at its baseline.
    update(&mut s, cpu_and_credits(10.0, 0.0));
    let row = s.fleet.row(0, "i-a").unwrap();
    assert_eq!(row.credits_exhausted, Some(10.0));
    assert_eq!(row.credit_balance, Some(0.0));
    assert!(row.saturated);
    assert_eq!(
        s.fleet.totals.saturated, 1,
        "in the header's saturated total"
    );
    assert!(row.risk.score >= 20, "{:?}", row.risk);
    // The same CPU with credits to spend is just a quiet box.
    let mut s = state();
    update(&mut s, cpu_and_credits(10.0, 90.0));
    let row = s.fleet.row(0, "i-a").unwrap();
    assert_eq!(row.credits_exhausted, None);
    assert_eq!(row.credit_balance, Some(90.0));
    assert!(!row.saturated);
    assert_eq!(s.fleet.totals.saturated, 0);
}

#[test]
fn a_feed_the_rows_can_do_without_only_degrades_the_scope() {
    let mut s = state();
    update(
        &mut s,
        Msg::Feed(Report::Schedule {
            scope: scope(),
            feed: "images",
            interval_secs: 60,
            essential: false,
        }),
    );
    update(
        &mut s,
        Msg::Feed(Report::Failed {
            scope: scope(),
            feed: "images",
            at: t0(),
            message: "DescribeImages: UnauthorizedOperation (permission missing: see docs/iam.md)"
                .into(),
        }),
    );
    let sd = &s.fleet.scopes[0];
    assert!(
        matches!(sd.health(s.now), ScopeHealth::Degraded("images", _)),
        "{:?}",
        sd.health(s.now)
    );
    assert!(!sd.rows_stale(s.now), "the rows are as fresh as before");
}

#[test]
fn failure_keeps_data_and_goes_stale() {
    let mut s = state();
    update(
        &mut s,
        Msg::Feed(Report::Schedule {
            scope: scope(),
            feed: "ec2",
            interval_secs: 60,
            essential: true,
        }),
    );
    update(
        &mut s,
        Msg::Feed(Report::Failed {
            scope: scope(),
            feed: "ec2",
            at: t0(),
            message: "ExpiredToken: the security token included in the request is expired".into(),
        }),
    );
    assert_eq!(s.fleet.rows.len(), 3, "last data kept");
    assert!(matches!(
        s.fleet.scopes[0].health(s.now),
        ScopeHealth::Error("ec2", _)
    ));
    // A later success clears the error; then time passes without polls: stale.
    update(
        &mut s,
        Msg::Feed(Report::Data {
            feed: "ec2",
            at: t0(),
            data: Data::Inventory {
                scope: scope(),
                instances: vec![inst("i-a", "quiet", &[], false)],
                groups: vec![],
                loose_interfaces: vec![],
            },
        }),
    );
    assert_eq!(s.fleet.rows.len(), 1, "gone instances are removed");
    update(&mut s, Msg::Tick(t0() + TimeDelta::seconds(100)));
    assert!(!s.fleet.scopes[0].rows_stale(s.now));
    update(&mut s, Msg::Tick(t0() + TimeDelta::seconds(200)));
    assert!(matches!(
        s.fleet.scopes[0].health(s.now),
        ScopeHealth::Stale(200)
    ));
    assert!(s.fleet.scopes[0].rows_stale(s.now));
}

#[test]
fn top_follows_worst_but_moved_cursor_keeps_instance() {
    let mut s = state();
    // At the top: a new worse instance takes the cursor.
    update(
        &mut s,
        Msg::Feed(Report::Data {
            feed: "findings",
            at: t0(),
            data: Data::Findings {
                scope: scope(),
                findings: vec![
                    finding("f1", "i-c", "CryptoCurrency:EC2/BitcoinTool.B!DNS", 8.0),
                    finding("f3", "i-a", "Impact:Runtime/CryptoMinerExecuted", 9.5),
                ],
                complete: true,
            },
        }),
    );
    assert_eq!(s.selected_row().unwrap().id(), "i-a");
    // Moved down: the selected instance stays selected through a re-rank.
    key(&mut s, "j");
    let chosen = s.selected_row().unwrap().id().to_string();
    update(
        &mut s,
        Msg::Feed(Report::Data {
            feed: "findings",
            at: t0(),
            data: Data::Findings {
                scope: scope(),
                findings: vec![finding(
                    "f4",
                    "i-b",
                    "Impact:Runtime/CryptoMinerExecuted",
                    10.0,
                )],
                complete: true,
            },
        }),
    );
    assert_eq!(s.selected_row().unwrap().id(), chosen);
}

#[test]
fn unusual_region_from_home_regions() {
    let mut s = state();
    update(
        &mut s,
        Msg::Feed(Report::Data {
            feed: "ec2",
            at: t0(),
            data: Data::Inventory {
                scope: Scope::new("111111111111", "ap-south-1"),
                instances: vec![inst("i-z", "gpu", &[], false)],
                groups: vec![],
                loose_interfaces: vec![],
            },
        }),
    );
    let ix = s
        .fleet
        .find_scope(&Scope::new("111111111111", "ap-south-1"))
        .unwrap();
    assert!(s.fleet.scopes[ix].unusual_region);
    assert_eq!(s.fleet.scopes[ix].alias, "prod");
    // 10 for the region, 5 more because it was launched there just now.
    let row = s.fleet.row(ix, "i-z").unwrap();
    assert_eq!(row.risk.score, 15, "{:?}", row.risk.reasons);
    assert!(row.flags.has(crate::model::flags::Flag::UnusualRegion));
    assert!(row.flags.has(crate::model::flags::Flag::NewLaunch));
}

#[test]
fn page_keys_and_resize_clamp() {
    let mut s = State::new("test", Keymap::default_map(), t0());
    update(&mut s, Msg::Feed(accounts()));
    update(
        &mut s,
        Msg::Feed(Report::Data {
            feed: "ec2",
            at: t0(),
            data: Data::Inventory {
                scope: scope(),
                instances: (0..50)
                    .map(|i| inst(&format!("i-{i:03}"), "", &[], false))
                    .collect(),
                groups: vec![],
                loose_interfaces: vec![],
            },
        }),
    );
    update(&mut s, Msg::Resize { page: 10, rows: 24 });
    key(&mut s, "pgdown");
    assert_eq!(s.ui.selected, 10);
    assert!(s.ui.offset <= 10 && s.ui.selected < s.ui.offset + 10);
    key(&mut s, "G");
    assert_eq!(s.ui.selected, 49);
    assert_eq!(s.ui.offset, 40);
    key(&mut s, "ctrl+u");
    assert_eq!(s.ui.selected, 39);
    update(&mut s, Msg::Resize { page: 5, rows: 24 });
    assert!(s.ui.selected < s.ui.offset + 5 && s.ui.selected >= s.ui.offset);
}

#[test]
fn cost_extrapolates_metrics_rate() {
    let mut s = state();
    update(
        &mut s,
        Msg::Feed(Report::Requests {
            scope: scope(),
            feed: "cpu",
            calls: 1,
            metrics: 100,
            metrics_per_day: None,
        }),
    );
    update(&mut s, Msg::Tick(t0() + TimeDelta::seconds(60)));
    // 100 metrics per minute = 144,000/day = $1.44/day.
    let usd = s.fleet.cloudwatch_usd_per_day(s.now).unwrap();
    assert!((usd - 1.44).abs() < 1e-9, "{usd}");
}

#[test]
fn mfa_prompt_takes_six_digits_and_answers() {
    let mut s = state();
    update(
        &mut s,
        Msg::Prompt(Prompt::Ask {
            id: 7,
            alias: "prod".into(),
            serial: "arn:aws:iam::111111111111:mfa/alice".into(),
        }),
    );
    assert_eq!(s.ui.mfa.len(), 1);
    // Keys go to the prompt: `q` does not quit, letters are ignored.
    assert!(key(&mut s, "q").is_empty());
    for d in ["1", "2", "3", "4", "5"] {
        key(&mut s, d);
    }
    assert!(
        key(&mut s, "enter").is_empty(),
        "five digits are not a code"
    );
    key(&mut s, "6");
    key(&mut s, "7");
    assert_eq!(s.ui.mfa[0].input, "123456", "at most six digits");
    assert_eq!(
        key(&mut s, "enter"),
        vec![Command::MfaAnswer {
            id: 7,
            answer: Ok("123456".into())
        }]
    );
    assert!(s.ui.mfa.is_empty(), "the code is not kept");
    // Esc declines.
    update(
        &mut s,
        Msg::Prompt(Prompt::Ask {
            id: 8,
            alias: "prod".into(),
            serial: "s".into(),
        }),
    );
    let cmds = key(&mut s, "esc");
    assert!(matches!(
        &cmds[..],
        [Command::MfaAnswer {
            id: 8,
            answer: Err(_)
        }]
    ));
    assert_eq!(
        key(&mut s, "q"),
        vec![Command::Quit { forced: false }],
        "keys are back to normal"
    );
}

#[test]
fn projected_cloudwatch_cost_wins_over_extrapolation() {
    let mut s = state();
    update(
        &mut s,
        Msg::Feed(Report::Requests {
            scope: scope(),
            feed: "cpu",
            calls: 0,
            metrics: 0,
            metrics_per_day: Some(288_000.0),
        }),
    );
    assert!((s.fleet.cloudwatch_usd_per_day(s.now).unwrap() - 2.88).abs() < 1e-9);
}

mod triage_flow {
    use super::*;
    use crate::app::triage::Stage;
    use crate::triage::Action as T;
    use crate::triage::executor::TriageEvent;
    use crate::triage::{Check, Verdict};

    /// A plan event for the open panel's action (what the executor echoes back).
    fn with_panel_action(s: &State, e: TriageEvent) -> Msg {
        let TriageEvent::Plan {
            id,
            plan,
            checks,
            typed_confirmation,
            ..
        } = e
        else {
            return Msg::Triage(e);
        };
        Msg::Triage(TriageEvent::Plan {
            id,
            plan,
            checks,
            typed_confirmation,
            action: s.triage.panel.as_ref().unwrap().action.clone(),
        })
    }

    fn armed() -> State {
        let mut s = state();
        s.triage.enabled = true;
        // The polls that built the fleet re-ranked it under the cursor; let that settle.
        update(&mut s, Msg::Tick(t0() + TimeDelta::seconds(5)));
        s
    }

    #[test]
    fn an_unfinished_quarantine_is_offered_once_its_account_shows_and_resumed_with_one_key() {
        let mut s = State::new("test", Keymap::default_map(), t0());
        s.triage.enabled = true;
        s.triage.resume = vec![crate::app::triage::ResumeOffer {
            key: crate::triage::Key {
                account_id: "111111111111".into(),
                region: "us-east-1".into(),
                instance_id: "i-c".into(),
            },
            case: "IR-OLD".into(),
            started: t0(),
            not_before: None,
        }];
        // Not before the account x region is in the fleet (its alias is not known yet).
        assert!(s.triage.panel.is_none());
        let cmds = update(&mut s, Msg::Feed(accounts()));
        // The panel opens with a DryRun preview under the journal's case, not the session's.
        let first = job(&cmds);
        // That preview fails (throttled): the offer is not lost, it comes back 30 s later.
        update(
            &mut s,
            Msg::Triage(TriageEvent::Done {
                id: first.id,
                result: Err("DescribeInstances: throttled".into()),
            }),
        );
        assert!(s.triage.panel.is_none());
        assert!(
            s.triage
                .notice
                .as_deref()
                .unwrap()
                .contains("offered again")
        );
        assert!(update(&mut s, Msg::Feed(accounts())).is_empty(), "not yet");
        update(&mut s, Msg::Tick(t0() + TimeDelta::seconds(31)));
        let cmds = update(&mut s, Msg::Feed(accounts()));
        let preview = job(&cmds);
        assert!(preview.preview);
        assert_eq!(preview.action, T::Quarantine);
        assert_eq!(preview.case_id, "IR-OLD");
        assert_eq!(preview.target.alias, "prod");
        assert_eq!(preview.target.instance_id, "i-c");
        let m = with_panel_action(
            &s,
            TriageEvent::Plan {
                id: preview.id,
                plan: vec!["Every interface → allow-all group…".into()],
                checks: vec![Check::new("CreateTags (mirror)", Verdict::Allowed)],
                typed_confirmation: false,
                action: T::Snapshot,
            },
        );
        update(&mut s, m);
        match &s.triage.panel.as_ref().unwrap().stage {
            Stage::Ready { plan, .. } => {
                assert!(plan[0].starts_with("UNFINISHED QUARANTINE"), "{plan:?}");
                assert!(plan[0].contains("case IR-OLD"), "{plan:?}");
            }
            other => panic!("{other:?}"),
        }
        let run = job(&key(&mut s, "Y"));
        assert!(!run.preview);
        assert_eq!(run.action, T::Quarantine);
        assert_eq!(run.case_id, "IR-OLD");
        assert!(s.triage.resume.is_empty(), "offered once");
    }

    #[test]
    fn a_re_rank_under_the_cursor_holds_triage_keys_back() {
        let mut s = armed();
        s.triage.case_id = Some("IR-1".into());
        assert_eq!(s.selected_row().unwrap().id(), "i-c");
        // A poll makes the bastion the worst: it moves under the cursor at the top.
        let now = s.now;
        update(
            &mut s,
            Msg::Feed(Report::Data {
                feed: "findings",
                at: now,
                data: Data::Findings {
                    scope: scope(),
                    findings: vec![
                        finding("f1", "i-c", "CryptoCurrency:EC2/BitcoinTool.B!DNS", 8.0),
                        finding("f9", "i-b", "UnauthorizedAccess:EC2/SSHBruteForce", 9.5),
                        finding("f8", "i-b", "CryptoCurrency:EC2/BitcoinTool.B!DNS", 9.0),
                    ],
                    complete: true,
                },
            }),
        );
        assert_eq!(s.selected_row().unwrap().id(), "i-b");
        // The key was meant for what was drawn a moment ago: refused, with the reason.
        assert!(key(&mut s, "Q").is_empty());
        assert!(s.triage.panel.is_none());
        assert!(s.triage.notice.as_deref().unwrap().contains("just changed"));
        // Once the operator has seen the new row, the key works on it.
        update(&mut s, Msg::Tick(now + TimeDelta::seconds(3)));
        let j = job(&key(&mut s, "Q"));
        assert_eq!(j.target.instance_id, "i-b");
    }

    /// A task as the ECS feed reports it: in cluster `batch`, of `service` or standalone.
    fn task(id: &str, service: Option<&str>) -> crate::model::task::Task {
        crate::model::task::Task {
            service: service.map(str::to_string),
            started_at: Some(t0()),
            ..crate::model::task::Task::running(
                &format!("arn:aws:ecs:us-east-1:111111111111:task/batch/{id}"),
                "batch",
                "agent:1",
            )
        }
    }

    #[test]
    fn triage_keys_on_task_rows_name_the_task_or_its_service() {
        let mut s = armed();
        update(
            &mut s,
            Msg::Feed(Report::Data {
                feed: "ecs",
                at: t0(),
                data: Data::Tasks {
                    scope: scope(),
                    tasks: vec![task("aaa", Some("agent")), task("bbb", None)],
                    services: vec![],
                    clusters: vec![],
                },
            }),
        );
        update(&mut s, Msg::Tick(t0() + TimeDelta::seconds(10)));
        s.triage.case_id = Some("IR-9".into());
        let open = |s: &mut State, id: &str| {
            s.ui.screen = Screen::Detail {
                scope: 0,
                id: format!("arn:aws:ecs:us-east-1:111111111111:task/batch/{id}"),
                scroll: 0,
                finding: None,
            };
            s.triage.panel = None;
            s.triage.notice = None;
        };
        // S stops the task itself.
        open(&mut s, "bbb");
        let j = job(&key(&mut s, "S"));
        assert_eq!(
            j.action,
            T::StopTask {
                cluster: "batch".into()
            }
        );
        assert_eq!(
            j.target.instance_id,
            "arn:aws:ecs:us-east-1:111111111111:task/batch/bbb"
        );
        assert_eq!(j.target.typed_id(), "bbb");
        // Q on a standalone task: no service to scale, nothing opened.
        open(&mut s, "bbb");
        assert!(key(&mut s, "Q").is_empty());
        assert!(s.triage.panel.is_none());
        assert!(s.triage.notice.as_deref().unwrap().contains("standalone"));
        // P: a task has no volume.
        assert!(key(&mut s, "P").is_empty());
        assert!(
            s.triage
                .notice
                .as_deref()
                .unwrap()
                .contains("no EBS volume")
        );
        // Q on a service's task scales the service, named by its ARN; R puts it back.
        open(&mut s, "aaa");
        let j = job(&key(&mut s, "Q"));
        assert_eq!(
            j.action,
            T::ScaleToZero {
                cluster: "batch".into(),
                service: "agent".into(),
                task: Some("arn:aws:ecs:us-east-1:111111111111:task/batch/aaa".into()),
            }
        );
        assert_eq!(
            j.target.instance_id,
            "arn:aws:ecs:us-east-1:111111111111:service/batch/agent"
        );
        assert_eq!((j.target.noun(), j.target.typed_id()), ("service", "agent"));
        open(&mut s, "aaa");
        let j = job(&key(&mut s, "R"));
        assert_eq!(
            j.action,
            T::RestoreService {
                cluster: "batch".into(),
                service: "agent".into()
            }
        );
    }

    fn job(cmds: &[Command]) -> crate::triage::executor::Job {
        match cmds {
            [Command::Triage(j)] => j.clone(),
            other => panic!("expected one triage job, got {other:?}"),
        }
    }

    #[test]
    fn case_then_plan_then_second_key_then_progress_and_mark() {
        let mut s = armed();
        // The selected row is the miner (i-c). Q asks for the case id first.
        assert!(key(&mut s, "Q").is_empty());
        assert!(s.triage.case_prompt.is_some());
        for c in ["I", "R", "-", "4", "2"] {
            assert!(
                key(&mut s, c).is_empty(),
                "typing the case id acts on nothing"
            );
        }
        let preview = job(&key(&mut s, "enter"));
        assert!(preview.preview);
        assert_eq!(preview.action, T::Quarantine);
        assert_eq!(preview.case_id, "IR-42");
        assert_eq!(preview.target.instance_id, "i-c");
        assert_eq!(preview.target.account_id, "111111111111");
        assert_eq!(preview.target.alias, "prod");
        // Before the plan arrives, the confirm key does nothing.
        assert!(key(&mut s, "Y").is_empty());
        let m = with_panel_action(
            &s,
            TriageEvent::Plan {
                id: preview.id,
                plan: vec!["Move every interface…".into()],
                checks: vec![Check::new(
                    "ModifyNetworkInterfaceAttribute",
                    Verdict::Allowed,
                )],
                typed_confirmation: false,
                action: T::Snapshot,
            },
        );
        update(&mut s, m);
        // A lowercase y or any other key is not the deliberate second key.
        assert!(key(&mut s, "y").is_empty());
        assert!(
            key(&mut s, "q").is_empty(),
            "q does not quit while the panel is open"
        );
        let run = job(&key(&mut s, "Y"));
        assert!(!run.preview);
        assert_eq!(
            s.triage.marks[&(0, "i-c".to_string())].to_string(),
            "QUARANTINING…"
        );
        update(
            &mut s,
            Msg::Triage(TriageEvent::Progress {
                id: run.id,
                step: crate::triage::Step::done("record original groups"),
            }),
        );
        assert!(
            matches!(&s.triage.panel.as_ref().unwrap().stage, Stage::Running { progress } if progress.len() == 1)
        );
        update(
            &mut s,
            Msg::Triage(TriageEvent::Done {
                id: run.id,
                result: Ok("quarantined".into()),
            }),
        );
        assert_eq!(
            s.triage.marks[&(0, "i-c".to_string())].to_string(),
            "QUARANTINED"
        );
        key(&mut s, "esc");
        assert!(s.triage.panel.is_none());
        // The case id is asked once per session.
        job(&key(&mut s, "P"));
    }

    #[test]
    fn denied_dry_run_and_dry_run_mode_never_run() {
        let mut s = armed();
        s.triage.case_id = Some("IR-1".into());
        let p = job(&key(&mut s, "S"));
        let m = with_panel_action(
            &s,
            TriageEvent::Plan {
                id: p.id,
                plan: vec![],
                checks: vec![Check::new(
                    "StopInstances",
                    Verdict::Denied("UnauthorizedOperation".into()),
                )],
                typed_confirmation: false,
                action: T::Snapshot,
            },
        );
        update(&mut s, m);
        assert!(key(&mut s, "Y").is_empty());
        key(&mut s, "esc");
        s.triage.dry_run_only = true;
        let p = job(&key(&mut s, "S"));
        let m = with_panel_action(
            &s,
            TriageEvent::Plan {
                id: p.id,
                plan: vec![],
                checks: vec![Check::new("StopInstances", Verdict::Allowed)],
                typed_confirmation: false,
                action: T::Snapshot,
            },
        );
        update(&mut s, m);
        assert!(
            key(&mut s, "Y").is_empty(),
            "--dry-run stops at the dry run"
        );
    }

    #[test]
    fn stop_options_rerun_the_dry_run() {
        let mut s = armed();
        s.triage.case_id = Some("IR-1".into());
        let p = job(&key(&mut s, "S"));
        let m = with_panel_action(
            &s,
            TriageEvent::Plan {
                id: p.id,
                plan: vec![],
                checks: vec![],
                typed_confirmation: false,
                action: T::Snapshot,
            },
        );
        update(&mut s, m);
        let again = job(&key(&mut s, "c"));
        assert!(again.preview);
        assert_eq!(
            again.action,
            T::Stop {
                force: false,
                hibernate: false,
                clear_stop_protection: true
            }
        );
        // A stale plan for the old job id is ignored.
        let m = with_panel_action(
            &s,
            TriageEvent::Plan {
                id: p.id,
                plan: vec!["old".into()],
                checks: vec![],
                typed_confirmation: false,
                action: T::Snapshot,
            },
        );
        update(&mut s, m);
        assert_eq!(s.triage.panel.as_ref().unwrap().stage, Stage::Checking);
    }

    #[test]
    fn typing_the_instance_id_confirms() {
        let mut s = armed();
        s.triage.case_id = Some("IR-1".into());
        s.triage.confirm_by_typing_id = true;
        let p = job(&key(&mut s, "Q"));
        let m = with_panel_action(
            &s,
            TriageEvent::Plan {
                id: p.id,
                plan: vec![],
                checks: vec![],
                typed_confirmation: false,
                action: T::Snapshot,
            },
        );
        update(&mut s, m);
        assert!(
            key(&mut s, "Y").is_empty(),
            "the confirm key is just text here"
        );
        key(&mut s, "backspace");
        for c in ["i", "-", "b"] {
            key(&mut s, c);
        }
        assert!(key(&mut s, "enter").is_empty(), "wrong id");
        key(&mut s, "backspace");
        key(&mut s, "c");
        assert!(!job(&key(&mut s, "enter")).preview);
    }

    #[test]
    fn archive_the_selected_finding_from_the_detail_screen() {
        let mut s = armed();
        s.triage.case_id = Some("IR-1".into());
        update(
            &mut s,
            Msg::Feed(Report::Data {
                feed: "findings",
                at: t0(),
                data: Data::Findings {
                    scope: scope(),
                    findings: vec![
                        finding("f1", "i-c", "CryptoCurrency:EC2/BitcoinTool.B!DNS", 8.0),
                        finding("f2", "i-c", "Recon:EC2/PortProbeUnprotectedPort", 2.0),
                    ],
                    complete: true,
                },
            }),
        );
        assert!(
            key(&mut s, "A").is_empty(),
            "archive needs the detail screen"
        );
        key(&mut s, "enter");
        key(&mut s, "tab");
        let p = job(&key(&mut s, "A"));
        assert_eq!(
            p.action,
            T::ArchiveFinding {
                finding_id: "f2".into(),
                kind: "Recon:EC2/PortProbeUnprotectedPort".into()
            }
        );
        let m = with_panel_action(
            &s,
            TriageEvent::Plan {
                id: p.id,
                plan: vec![],
                checks: vec![],
                typed_confirmation: false,
                action: T::Snapshot,
            },
        );
        update(&mut s, m);
        let run = job(&key(&mut s, "Y"));
        update(
            &mut s,
            Msg::Triage(TriageEvent::Done {
                id: run.id,
                result: Ok("archived".into()),
            }),
        );
        let left: Vec<&str> = s
            .fleet
            .findings_of(s.fleet.row(0, "i-c").unwrap())
            .iter()
            .map(|f| f.id.as_str())
            .collect();
        assert_eq!(left, vec!["f1"]);
    }

    /// A stop of the selected row (the miner, i-c), confirmed and running: its job.
    fn running_stop(s: &mut State) -> crate::triage::executor::Job {
        s.triage.case_id = Some("IR-1".into());
        let p = job(&key(s, "S"));
        ready(s, p.id);
        let run = job(&key(s, "Y"));
        assert!(!run.preview);
        key(s, "esc");
        run
    }

    /// The preview of job `id` came back with every check allowed.
    fn ready(s: &mut State, id: u64) {
        let m = with_panel_action(
            s,
            TriageEvent::Plan {
                id,
                plan: vec![],
                checks: vec![],
                typed_confirmation: false,
                action: T::Snapshot,
            },
        );
        update(s, m);
        assert!(matches!(
            s.triage.panel.as_ref().unwrap().stage,
            Stage::Ready { .. }
        ));
    }

    fn done(s: &mut State, id: u64) -> Vec<Command> {
        update(
            s,
            Msg::Triage(TriageEvent::Done {
                id,
                result: Ok("done".into()),
            }),
        )
    }

    #[test]
    fn quit_with_no_run_under_way_leaves_at_once() {
        let mut s = armed();
        s.triage.case_id = Some("IR-1".into());
        // A preview in flight is not a run: nothing to wait for.
        job(&key(&mut s, "S"));
        key(&mut s, "esc");
        assert_eq!(key(&mut s, "q"), vec![Command::Quit { forced: false }]);
        assert!(!s.triage.quit_pending);
    }

    #[test]
    fn a_first_quit_while_a_run_is_under_way_waits_and_says_so() {
        let mut s = armed();
        running_stop(&mut s);
        assert!(key(&mut s, "q").is_empty(), "leaving would cancel the run");
        assert!(s.triage.quit_pending);
        assert_eq!(
            s.triage.notice.as_deref(),
            Some(crate::app::triage::QUIT_PENDING)
        );
        // Other news changes nothing: still waiting.
        let now = s.now;
        assert!(update(&mut s, Msg::Tick(now + TimeDelta::seconds(1))).is_empty());
        assert!(update(&mut s, Msg::Feed(accounts())).is_empty());
    }

    #[test]
    fn a_second_quit_while_a_run_is_under_way_forces() {
        let mut s = armed();
        running_stop(&mut s);
        assert!(key(&mut s, "q").is_empty());
        assert_eq!(key(&mut s, "q"), vec![Command::Quit { forced: true }]);
        // ctrl+c counts as a quit too.
        let mut s = armed();
        running_stop(&mut s);
        assert!(key(&mut s, "ctrl+c").is_empty());
        assert_eq!(key(&mut s, "ctrl+c"), vec![Command::Quit { forced: true }]);
    }

    #[test]
    fn the_last_run_ending_with_a_quit_pending_leaves() {
        let mut s = armed();
        let first = running_stop(&mut s);
        key(&mut s, "j");
        let second = running_stop(&mut s);
        assert_ne!(first.target.instance_id, second.target.instance_id);
        assert!(key(&mut s, "q").is_empty());
        // One of two runs ended: still waiting for the other.
        assert!(done(&mut s, first.id).is_empty());
        assert!(s.triage.quit_pending);
        // The last one ended: leave, not forced.
        assert_eq!(
            done(&mut s, second.id),
            vec![Command::Quit { forced: false }]
        );
    }

    #[test]
    fn no_new_job_starts_while_a_quit_is_pending() {
        let mut s = armed();
        let run = running_stop(&mut s);
        // A panel is open on the bastion when the operator quits (ctrl+c works over it).
        key(&mut s, "j");
        let p = job(&key(&mut s, "Q"));
        ready(&mut s, p.id);
        assert!(key(&mut s, "ctrl+c").is_empty());
        assert!(s.triage.quit_pending);
        // Its run cannot start: the panel ends with the reason and the row gets no mark.
        assert!(key(&mut s, "Y").is_empty(), "no job while quitting");
        assert_eq!(s.triage.jobs.len(), 1);
        assert!(
            !s.triage
                .marks
                .contains_key(&(0, p.target.instance_id.clone()))
        );
        assert!(matches!(
            &s.triage.panel.as_ref().unwrap().stage,
            Stage::Done { ok: false, message, .. } if message == crate::app::triage::DRAINING_JOB
        ));
        assert_eq!(
            s.triage.notice.as_deref(),
            Some(crate::app::triage::DRAINING_JOB)
        );
        key(&mut s, "enter");
        assert!(s.triage.panel.is_none());
        // A triage key is refused with the reason; no panel opens.
        assert!(key(&mut s, "P").is_empty());
        assert!(s.triage.panel.is_none() && s.triage.case_prompt.is_none());
        assert_eq!(
            s.triage.notice.as_deref(),
            Some(crate::app::triage::DRAINING_JOB)
        );
        // An unfinished quarantine is not offered meanwhile (nor dropped).
        s.triage.resume = vec![crate::app::triage::ResumeOffer {
            key: crate::triage::Key {
                account_id: "111111111111".into(),
                region: "us-east-1".into(),
                instance_id: "i-a".into(),
            },
            case: "IR-OLD".into(),
            started: t0(),
            not_before: None,
        }];
        assert!(update(&mut s, Msg::Feed(accounts())).is_empty());
        assert!(s.triage.panel.is_none());
        assert_eq!(s.triage.resume.len(), 1);
        // The run ends: the console leaves.
        assert_eq!(done(&mut s, run.id), vec![Command::Quit { forced: false }]);
    }

    #[test]
    fn read_only_refuses_a_job_in_update() {
        let mut s = armed();
        s.triage.case_id = Some("IR-1".into());
        let p = job(&key(&mut s, "S"));
        ready(&mut s, p.id);
        // Triage turned out disabled (no executor): the panel's run is refused here, not by
        // the event loop.
        s.triage.enabled = false;
        assert!(key(&mut s, "Y").is_empty());
        assert!(s.triage.jobs.is_empty());
        assert!(s.triage.marks.is_empty());
        assert!(matches!(
            &s.triage.panel.as_ref().unwrap().stage,
            Stage::Done { ok: false, message, .. } if message == crate::app::triage::READ_ONLY_JOB
        ));
        assert_eq!(
            s.triage.notice.as_deref(),
            Some(crate::app::triage::READ_ONLY_JOB)
        );
        // So is a re-run of the preview (a stop option), which would otherwise stay checking.
        let mut s = armed();
        s.triage.case_id = Some("IR-1".into());
        let p = job(&key(&mut s, "S"));
        ready(&mut s, p.id);
        s.triage.enabled = false;
        assert!(key(&mut s, "f").is_empty());
        assert!(matches!(
            &s.triage.panel.as_ref().unwrap().stage,
            Stage::Done { ok: false, .. }
        ));
    }

    #[test]
    fn read_only_never_emits_a_job() {
        let mut s = state();
        for k in ["S", "Q", "R", "P", "Y", "A"] {
            assert!(key(&mut s, k).is_empty());
        }
        assert!(s.triage.panel.is_none());
        key(&mut s, "Q");
        assert_eq!(
            s.triage.notice.as_deref(),
            Some("read-only: triage actions are disabled")
        );
    }
}

#[test]
fn rows_keep_scope_order_across_polls_and_placeholders_retire() {
    let mut s = state();
    let other = Scope::new("222222222222", "us-east-1");
    update(
        &mut s,
        Msg::Feed(Report::Data {
            feed: "ec2",
            at: t0(),
            data: Data::Inventory {
                scope: other.clone(),
                instances: vec![inst("i-z", "z", &[], false)],
                groups: vec![],
                loose_interfaces: vec![],
            },
        }),
    );
    let order = |s: &State| {
        s.fleet
            .rows
            .iter()
            .map(|r| r.id().to_string())
            .collect::<Vec<_>>()
    };
    let before = order(&s);
    // A new poll of the first scope does not move its rows behind the second scope's.
    update(
        &mut s,
        Msg::Feed(Report::Data {
            feed: "ec2",
            at: t0(),
            data: Data::Inventory {
                scope: scope(),
                instances: vec![
                    inst("i-a", "quiet", &[], false),
                    inst("i-b", "bastion", &["sg-ssh"], true),
                    inst("i-c", "miner", &[], false),
                ],
                groups: vec![ssh_world()],
                loose_interfaces: vec![],
            },
        }),
    );
    assert_eq!(order(&s), before);
    // Once the accounts list no longer names 222222222222, its scope is retired (not shown).
    update(&mut s, Msg::Feed(accounts()));
    let ix = s.fleet.find_scope(&other).unwrap();
    assert!(s.fleet.scopes[ix].retired);
    assert!(!s.fleet.scopes[0].retired);
}

#[test]
fn a_withdrawn_mfa_prompt_closes() {
    let mut s = state();
    update(
        &mut s,
        Msg::Prompt(Prompt::Ask {
            id: 3,
            alias: "prod".into(),
            serial: "s".into(),
        }),
    );
    update(
        &mut s,
        Msg::Prompt(Prompt::Ask {
            id: 4,
            alias: "data".into(),
            serial: "s".into(),
        }),
    );
    update(&mut s, Msg::Prompt(Prompt::Cancel { id: 3 }));
    assert_eq!(s.ui.mfa.len(), 1);
    assert_eq!(s.ui.mfa[0].id, 4);
}

#[test]
fn launched_by_is_looked_up_once_per_instance_and_retried_only_when_it_may_help() {
    use crate::model::launch::LaunchedBy;
    let mut s = state();
    let key = |s: &mut State, k: &str| update(s, Msg::Key(Key::parse(k).unwrap()));
    let answer = |result: LaunchedBy| {
        Msg::Feed(Report::LaunchedBy {
            scope: scope(),
            instance_id: "i-c".into(),
            result,
            calls: 1,
        })
    };
    // Only in the detail view.
    assert!(key(&mut s, "L").is_empty());
    s.ui.screen = Screen::Detail {
        scope: 0,
        id: "i-c".into(),
        scroll: 0,
        finding: None,
    };
    let cmds = key(&mut s, "L");
    assert!(
        matches!(&cmds[..], [Command::Lookup(l)] if l.instance_id == "i-c" && l.scope == scope()),
        "{cmds:?}"
    );
    assert!(key(&mut s, "L").is_empty(), "already being looked up");
    update(&mut s, answer(LaunchedBy::NotRecordedYet));
    assert!(s.ui.looking_up.is_empty());
    assert_eq!(
        key(&mut s, "L").len(),
        1,
        "not recorded yet: may be asked again"
    );
    update(&mut s, answer(LaunchedBy::NotFound));
    assert!(key(&mut s, "L").is_empty(), "a final answer is kept");
    assert_eq!(
        s.fleet
            .totals
            .calls
            .iter()
            .find(|c| c.0 == "launched-by")
            .map(|c| c.1),
        Some(2),
        "lookup calls are counted"
    );
}

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        update(s, Msg::Key(Key::plain(crate::keymap::KeyCode::Char(c))));
    }
}

#[test]
fn command_mode_completes_runs_and_remembers() {
    let mut s = state();
    key(&mut s, ":");
    typed(&mut s, "fin");
    key(&mut s, "tab");
    assert_eq!(s.ui.command.as_ref().unwrap().input, "findings");
    key(&mut s, "enter");
    assert!(s.ui.command.is_none());
    assert!(matches!(s.ui.screen, Screen::Findings { .. }));
    // An unknown command says what exists and keeps the line open.
    key(&mut s, ":");
    typed(&mut s, "quarantine-all");
    key(&mut s, "enter");
    let err = s.ui.command.as_ref().unwrap().error.clone().unwrap();
    assert!(err.contains("unknown command `quarantine-all`"), "{err}");
    assert!(err.contains("findings") && err.contains("account"), "{err}");
    key(&mut s, "esc");
    // Arguments complete from the fleet; the account narrows the view through the filter.
    key(&mut s, ":");
    typed(&mut s, "acc");
    key(&mut s, "tab");
    assert_eq!(s.ui.command.as_ref().unwrap().input, "account ");
    key(&mut s, "tab");
    assert_eq!(s.ui.command.as_ref().unwrap().input, "account prod");
    key(&mut s, "enter");
    assert_eq!(s.ui.screen, Screen::Fleet);
    assert_eq!(s.ui.filter, "acct:prod");
    assert_eq!(ids(&s).len(), 3);
    key(&mut s, ":");
    typed(&mut s, "account staging");
    key(&mut s, "enter");
    let err = s.ui.command.as_ref().unwrap().error.clone().unwrap();
    assert_eq!(err, "no account `staging` (prod)");
    key(&mut s, "esc");
    // History: newest first, failed commands included so they can be fixed.
    key(&mut s, ":");
    key(&mut s, "up");
    assert_eq!(s.ui.command.as_ref().unwrap().input, "account staging");
    key(&mut s, "up");
    assert_eq!(s.ui.command.as_ref().unwrap().input, "account prod");
    key(&mut s, "down");
    key(&mut s, "down");
    assert_eq!(s.ui.command.as_ref().unwrap().input, "");
    typed(&mut s, "sort name");
    key(&mut s, "enter");
    assert_eq!((s.ui.sort, s.ui.descending), (SortKey::Name, false));
    key(&mut s, ":");
    typed(&mut s, "theme light");
    assert_eq!(
        key(&mut s, "enter"),
        vec![Command::SetTheme("light".into())]
    );
    key(&mut s, ":");
    typed(&mut s, "case IR-9");
    key(&mut s, "enter");
    assert_eq!(s.triage.case_id.as_deref(), Some("IR-9"));
    key(&mut s, ":");
    typed(&mut s, "q");
    assert_eq!(key(&mut s, "enter"), vec![Command::Quit { forced: false }]);
}

#[test]
fn findings_board_groups_and_jumps() {
    let mut s = state();
    let groups = findings::board(&s.fleet);
    assert_eq!(groups.len(), 1);
    let g = &groups[0];
    assert_eq!(g.kind, "CryptoCurrency:EC2/BitcoinTool.B!DNS");
    assert_eq!((g.rows, g.accounts.clone()), (1, vec!["prod".to_string()]));
    assert_eq!(g.items[0].rows, vec!["i-c".to_string()]);
    key(&mut s, "F");
    // Enter on the group: the fleet filtered by the type.
    key(&mut s, "enter");
    assert_eq!(s.ui.screen, Screen::Fleet);
    assert_eq!(ids(&s), vec!["i-c"]);
    // Enter on a finding: its row's detail, the finding selected.
    key(&mut s, "F");
    key(&mut s, "j");
    key(&mut s, "enter");
    assert_eq!(
        s.ui.screen,
        Screen::Detail {
            scope: 0,
            id: "i-c".into(),
            scroll: 0,
            finding: Some("f1".into())
        }
    );
    // Archive from the board goes by finding id.
    s.triage.enabled = true;
    s.fleet.scopes[0].verified = true;
    s.triage.case_id = Some("IR-1".into());
    key(&mut s, "F");
    key(&mut s, "j");
    let cmds = key(&mut s, "A");
    match &cmds[..] {
        [Command::Triage(job)] => {
            assert!(job.preview);
            assert_eq!(
                job.action,
                crate::triage::Action::ArchiveFinding {
                    finding_id: "f1".into(),
                    kind: "CryptoCurrency:EC2/BitcoinTool.B!DNS".into()
                }
            );
            assert_eq!(job.target.instance_id, "i-c");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn copy_key_and_menu() {
    let mut s = settled();
    assert_eq!(key(&mut s, "y"), vec![Command::Copy("i-c".into())]);
    assert!(
        s.triage
            .notice
            .as_deref()
            .unwrap()
            .contains("copied id: i-c")
    );
    key(&mut s, "c");
    assert!(s.ui.copy_menu);
    let labels: Vec<&str> = copy::choices(&s).iter().map(|c| c.label).collect();
    assert_eq!(
        labels,
        ["id", "ARN", "private IP", "row as JSON"],
        "i-c has no public IP"
    );
    assert_eq!(
        key(&mut s, "a"),
        vec![Command::Copy(
            "arn:aws:ec2:us-east-1:111111111111:instance/i-c".into()
        )]
    );
    assert!(!s.ui.copy_menu);
    key(&mut s, "c");
    match &key(&mut s, "j")[..] {
        [Command::Copy(json)] => {
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(v["instance_id"], "i-c");
            assert_eq!(v["findings"][0]["id"], "f1");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn marks_toggle_by_identity_and_clear() {
    let mut s = settled();
    key(&mut s, "space");
    key(&mut s, "j");
    key(&mut s, "space");
    let marked: Vec<&str> = s.ui.marked.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(marked, ["i-b", "i-c"]);
    key(&mut s, "space");
    assert_eq!(s.ui.marked.len(), 1, "space again unmarks");
    // A filter hides the marked row; the mark stays.
    s.set_filter("quiet".into());
    assert_eq!(s.ui.marked.len(), 1);
    key(&mut s, "ctrl+space");
    assert!(s.ui.marked.is_empty());
}

#[test]
fn bulk_quarantine_lists_marks_by_account_and_needs_verb_and_count() {
    use crate::triage::executor::TriageEvent;
    use crate::triage::{Check, Verdict};
    let mut s = settled();
    s.triage.enabled = true;
    s.fleet.scopes[0].verified = true;
    key(&mut s, "space"); // i-c
    key(&mut s, "j");
    key(&mut s, "space"); // i-b
    key(&mut s, "j");
    key(&mut s, "space"); // i-a
    // No case yet: asked first, then one preview per target.
    assert!(key(&mut s, "Q").is_empty());
    assert!(s.triage.case_prompt.is_some());
    typed(&mut s, "IR-7");
    let cmds = key(&mut s, "enter");
    let jobs: Vec<_> = cmds
        .iter()
        .map(|c| match c {
            Command::Triage(j) => (
                j.id,
                j.preview,
                j.target.instance_id.clone(),
                j.case_id.clone(),
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(jobs.len(), 3);
    assert!(jobs.iter().all(|j| j.1 && j.3 == "IR-7"));
    let b = s.triage.bulk.as_ref().unwrap();
    assert_eq!(b.verb, "QUARANTINE");
    let listed: Vec<&str> = b
        .items
        .iter()
        .map(|i| i.target.instance_id.as_str())
        .collect();
    assert_eq!(listed, ["i-a", "i-b", "i-c"], "by account, region, id");
    // Verdicts: i-a's DryRun is denied, the others allowed.
    for (id, _, target, _) in &jobs {
        let verdict = if target == "i-a" {
            Verdict::Denied("UnauthorizedOperation".into())
        } else {
            Verdict::Allowed
        };
        update(
            &mut s,
            Msg::Triage(TriageEvent::Plan {
                id: *id,
                plan: vec!["isolate".into()],
                checks: vec![Check::new("ModifyNetworkInterfaceAttribute", verdict)],
                typed_confirmation: false,
                action: crate::triage::Action::Quarantine,
            }),
        );
    }
    let b = s.triage.bulk.as_ref().unwrap();
    assert_eq!(b.expected(), "QUARANTINE 2");
    // The wrong count does nothing.
    typed(&mut s, "QUARANTINE 3");
    assert!(key(&mut s, "enter").is_empty());
    for _ in 0.."QUARANTINE 3".len() {
        key(&mut s, "backspace");
    }
    typed(&mut s, "QUARANTINE 2");
    let runs: Vec<_> = key(&mut s, "enter")
        .into_iter()
        .map(|c| match c {
            Command::Triage(j) => {
                assert!(!j.preview);
                (j.id, j.target.instance_id)
            }
            other => panic!("{other:?}"),
        })
        .collect();
    let targets: Vec<&str> = runs.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(targets, ["i-b", "i-c"]);
    assert!(s.ui.marked.is_empty(), "marks cleared once the runs start");
    assert_eq!(s.triage.jobs.len(), 2, "quit waits for them");
    for (id, _) in &runs {
        update(
            &mut s,
            Msg::Triage(TriageEvent::Done {
                id: *id,
                result: Ok("quarantined".into()),
            }),
        );
    }
    let b = s.triage.bulk.as_ref().unwrap();
    let states: Vec<&bulk::ItemState> = b.items.iter().map(|i| &i.state).collect();
    assert!(matches!(states[0], bulk::ItemState::Skipped(_)));
    assert!(
        states[1..]
            .iter()
            .all(|s| matches!(s, bulk::ItemState::Done { ok: true, .. }))
    );
    assert_eq!(
        s.triage.marks.get(&(0, "i-b".to_string())),
        Some(&triage::Mark::Final("QUARANTINED".into()))
    );
    key(&mut s, "enter");
    assert!(s.triage.bulk.is_none());
}

#[test]
fn bulk_is_refused_read_only() {
    let mut s = settled();
    s.triage.enabled = false;
    key(&mut s, "space");
    assert!(key(&mut s, "Q").is_empty());
    assert!(s.triage.bulk.is_none());
    assert!(s.triage.notice.as_deref().unwrap().contains("read-only"));
}

#[test]
fn a_read_only_account_refuses_every_triage_path() {
    let mut s = state();
    s.triage.enabled = true;
    s.triage.case_id = Some("IR-1".into());
    s.fleet.scopes[0].verified = true;
    s.fleet.accounts[0].read_only = true;
    s.ui.cursor_moved_at = None;
    assert!(key(&mut s, "Q").is_empty());
    assert!(s.triage.panel.is_none());
    let notice = s.triage.notice.clone().unwrap();
    assert!(notice.contains("`prod` is read-only"), "{notice}");
    // From the findings board, and in bulk.
    key(&mut s, "F");
    key(&mut s, "j");
    assert!(key(&mut s, "A").is_empty());
    assert!(s.triage.notice.as_deref().unwrap().contains("read-only"));
    key(&mut s, "esc");
    key(&mut s, "space");
    assert!(key(&mut s, "Q").is_empty(), "no preview is submitted");
    let b = s.triage.bulk.as_ref().unwrap();
    assert!(matches!(&b.items[0].state, bulk::ItemState::Skipped(w) if w.contains("read-only")));
}

fn cpu_report(id: &str, pct: f64, at: DateTime<Utc>) -> Msg {
    Msg::Feed(Report::Data {
        feed: "cpu",
        at,
        data: Data::Cpu {
            scope: scope(),
            series: vec![(
                id.into(),
                CpuSeries {
                    period_secs: 60,
                    points: (0..5)
                        .map(|i| (at - TimeDelta::minutes(4 - i), pct))
                        .collect(),
                },
            )],
            credits: vec![],
        },
    })
}

fn alerts_of(cmds: &[Command]) -> Vec<alerts::AlertKind> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Alert(a) => Some(a.kind),
            _ => None,
        })
        .collect()
}

#[test]
fn alerts_ring_for_what_is_new_not_for_what_was_there() {
    use alerts::AlertKind::*;
    let mut s = state();
    s.now = t0();
    // The first CPU data of the scope primes: i-a already saturated rings nothing.
    assert!(alerts_of(&update(&mut s, cpu_report("i-a", 99.0, t0()))).is_empty());
    assert!(s.alerts.recent.is_empty());
    // i-b saturates later: one alert, once.
    let t1 = t0() + TimeDelta::minutes(5);
    s.now = t1;
    assert_eq!(
        alerts_of(&update(&mut s, cpu_report("i-b", 98.0, t1))),
        [Saturated]
    );
    assert!(alerts_of(&update(&mut s, cpu_report("i-b", 97.0, t1))).is_empty());
    // It calms down briefly and saturates again: no new alert (a flapping miner rings once).
    update(&mut s, cpu_report("i-b", 5.0, t1));
    assert!(alerts_of(&update(&mut s, cpu_report("i-b", 99.0, t1))).is_empty());
    // Calm for ten minutes, then saturated again: a new alert.
    update(&mut s, cpu_report("i-b", 5.0, t1));
    let t2 = t1 + TimeDelta::minutes(10);
    s.now = t2;
    update(&mut s, cpu_report("i-b", 5.0, t2));
    assert_eq!(
        alerts_of(&update(&mut s, cpu_report("i-b", 99.0, t2))),
        [Saturated]
    );
    // A new critical finding (the high one already there rang nothing).
    let cmds = update(
        &mut s,
        Msg::Feed(Report::Data {
            feed: "findings",
            at: t1,
            data: Data::Findings {
                scope: scope(),
                findings: vec![
                    finding("f1", "i-c", "CryptoCurrency:EC2/BitcoinTool.B!DNS", 8.0),
                    finding("f2", "i-a", "Impact:EC2/MaliciousDomainRequest", 9.5),
                ],
                complete: true,
            },
        }),
    );
    assert_eq!(alerts_of(&cmds), [CriticalFinding]);
    let a = &s.alerts.recent[0];
    assert_eq!(
        (a.id.as_str(), a.finding_id.as_deref()),
        ("i-a", Some("f2"))
    );
    assert!(
        a.text.contains("Impact:EC2/MaliciousDomainRequest"),
        "{}",
        a.text
    );
    assert_eq!(s.alerts.recent.len(), 3);
}

#[test]
fn the_mouse_selects_and_scrolls_but_not_under_a_prompt() {
    let mut s = state();
    update(&mut s, Msg::Click(2));
    assert_eq!(s.selected_row().unwrap().id(), "i-a");
    update(&mut s, Msg::Scroll(-3));
    assert_eq!(s.ui.selected, 0);
    update(&mut s, Msg::Click(9));
    assert_eq!(s.ui.selected, 0, "a click below the last row does nothing");
    key(&mut s, "/");
    update(&mut s, Msg::Scroll(3));
    assert_eq!(s.ui.selected, 0, "ignored while the filter is typed");
    key(&mut s, "enter");
    key(&mut s, "enter");
    update(&mut s, Msg::Scroll(3));
    assert!(
        matches!(s.ui.screen, Screen::Detail { scroll: 3, .. }),
        "scrolls the detail"
    );
}

#[test]
fn mark_and_copy_wait_after_a_re_rank_under_the_cursor() {
    // state(): the findings poll moved i-c under the cursor just now.
    let mut s = state();
    assert!(key(&mut s, "space").is_empty());
    assert!(s.ui.marked.is_empty(), "not marked: the row just changed");
    assert!(key(&mut s, "y").is_empty());
    assert!(s.triage.notice.as_deref().unwrap().contains("just changed"));
    let later = s.now + TimeDelta::seconds(3);
    update(&mut s, Msg::Tick(later));
    key(&mut s, "space");
    assert_eq!(s.ui.marked.len(), 1);
    assert_eq!(key(&mut s, "y"), vec![Command::Copy("i-c".into())]);
}

#[test]
fn a_long_bulk_list_must_be_read_to_the_end_before_it_runs() {
    use crate::triage::executor::TriageEvent;
    use crate::triage::{Check, Verdict};
    let mut s = settled();
    s.triage.enabled = true;
    s.fleet.scopes[0].verified = true;
    s.triage.case_id = Some("IR-3".into());
    // A terminal so short that the three targets and their account heading do not fit.
    update(&mut s, Msg::Resize { page: 2, rows: 7 });
    for _ in 0..3 {
        key(&mut s, "space");
        key(&mut s, "j");
    }
    let jobs: Vec<u64> = key(&mut s, "Q")
        .into_iter()
        .map(|c| match c {
            Command::Triage(j) => j.id,
            other => panic!("{other:?}"),
        })
        .collect();
    for id in jobs {
        update(
            &mut s,
            Msg::Triage(TriageEvent::Plan {
                id,
                plan: vec![],
                checks: vec![Check::new(
                    "ModifyNetworkInterfaceAttribute",
                    Verdict::Allowed,
                )],
                typed_confirmation: false,
                action: crate::triage::Action::Quarantine,
            }),
        );
    }
    let b = s.triage.bulk.as_ref().unwrap();
    assert_eq!((b.line_count(), bulk::body_rows(7)), (4, 3));
    assert!(!b.all_seen());
    typed(&mut s, "QUARANTINE 3");
    assert!(
        key(&mut s, "enter").is_empty(),
        "the last line was never on screen"
    );
    key(&mut s, "down");
    assert!(s.triage.bulk.as_ref().unwrap().all_seen());
    assert_eq!(key(&mut s, "enter").len(), 3, "now it runs");
}

#[test]
fn radix_sort_orders_by_key_and_keeps_ties_in_order() {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for mask in [0u64, 0xFF, 0xFFFF_0000, 0xFF00_0000_0000_00FF, u64::MAX] {
        let v: Vec<(u64, u32)> = (0..5000).map(|i| (next() & mask, i)).collect();
        let mut want = v.clone();
        want.sort_by_key(|e| e.0); // stable: ties keep their order
        let mut got = v;
        radix_sort(&mut got);
        assert_eq!(got, want, "mask {mask:x}");
    }
}

#[test]
fn text_ranks_share_a_rank_for_equal_texts() {
    let long = "member-0040-web-0";
    let texts: Vec<std::borrow::Cow<'_, str>> = [
        "web",
        "api",
        "web",
        "",
        "db",
        "member-0040-web-07",
        "member-0040-web-06",
        long,
        "member-0040-web-07",
        "member-0040-web-0\u{0}",
    ]
    .into_iter()
    .map(Into::into)
    .collect();
    let ranks = text_ranks(&texts);
    // The same order as comparing the strings.
    let mut sorted: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let want: Vec<u64> = texts
        .iter()
        .map(|t| sorted.binary_search(&t.as_ref()).unwrap() as u64)
        .collect();
    assert_eq!(ranks, want);
    assert_eq!(ranks[0], ranks[2]);
    assert_eq!(ranks[5], ranks[8]);
}

#[test]
fn tag_terms_match_instance_tags_by_key_and_value() {
    let mut s = State::new("test", Keymap::default_map(), t0());
    update(&mut s, Msg::Feed(accounts()));
    let tagged = |id: &str, tags: &[(&str, &str)]| Instance {
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..inst(id, id, &[], false)
    };
    update(
        &mut s,
        inventory(
            scope(),
            t0(),
            vec![
                tagged("i-bastion", &[("Role", "bastion"), ("Env", "prod")]),
                tagged("i-web", &[("Role", "web"), ("Env", "prod-eu")]),
                tagged("i-bare", &[]),
            ],
            vec![],
        ),
    );
    let mut view = |f: &str| filtered(&mut s, f);
    assert_eq!(view("tag:Role=bastion"), ["i-bastion"]);
    // Case-sensitive, as EC2's tag keys are: `role=bastion` is another tag an attacker may set.
    assert!(view("tag:role=bastion").is_empty());
    assert!(view("tag:Role=BASTION").is_empty());
    assert_eq!(view("!tag:Role=bastion"), ["i-bare", "i-web"]);
    assert_eq!(view("tag:Env=prod*"), ["i-bastion", "i-web"]);
    assert_eq!(view("tag:Env"), ["i-bastion", "i-web"], "the key alone");
    assert!(view("tag:Owner").is_empty());
}

/// Prices for the test scope: (type, Spot AZ, $/h; None: unknown).
fn prices(quotes: &[(&str, Option<&str>, Option<f64>)]) -> Msg {
    prices_in(scope(), t0(), quotes)
}

/// Prices for `scope`, fetched at `at`.
fn prices_in(scope: Scope, at: DateTime<Utc>, quotes: &[(&str, Option<&str>, Option<f64>)]) -> Msg {
    use crate::model::price::{PriceKey, Quote};
    Msg::Feed(Report::Data {
        feed: crate::feed::PRICING,
        at,
        data: Data::Prices {
            scope,
            quotes: quotes
                .iter()
                .map(|(ty, az, usd)| {
                    (
                        PriceKey {
                            instance_type: ty.to_string(),
                            platform: Default::default(),
                            tenancy: Default::default(),
                            spot_az: az.map(str::to_string),
                        },
                        Quote {
                            usd_per_hour: *usd,
                            as_of: at,
                            cached: false,
                            note: usd.is_none().then(|| "no such product".to_string()),
                        },
                    )
                })
                .collect(),
            error: None,
        },
    })
}

#[test]
fn rules_mark_rows_add_risk_and_alert_on_a_new_match_once_primed() {
    use crate::rules::Rule;
    let mut s = State::new("test", Keymap::default_map(), t0());
    s.fleet.configure(
        vec![
            Rule::compile(
                "ssh-world-not-bastion",
                "port:22 !tag:Role=bastion",
                "high",
                true,
            )
            .unwrap(),
            Rule::compile("dns", "flag:dns-mining", "low", false).unwrap(),
        ],
        2.0,
    );
    update(&mut s, Msg::Feed(accounts()));
    let bastion = Instance {
        tags: vec![("Role".into(), "bastion".into())],
        ..inst("i-bastion", "bastion", &["sg-ssh"], true)
    };
    let inventory_with = |extra: Vec<Instance>| {
        let mut instances = vec![
            bastion.clone(),
            inst("i-web", "web", &["sg-ssh"], true),
            inst("i-quiet", "quiet", &[], false),
        ];
        instances.extend(extra);
        inventory(scope(), t0(), instances, vec![ssh_world()])
    };
    update(&mut s, inventory_with(vec![]));
    let row = |s: &State, id: &str| s.fleet.rows.iter().find(|r| r.id() == id).unwrap().clone();
    // (row, flags the snapshot writes, rule reason in the risk)
    let web = row(&s, "i-web");
    assert_eq!(
        s.fleet
            .flags_of(&web)
            .iter()
            .filter(|f| f.starts_with("rule:"))
            .collect::<Vec<_>>(),
        ["rule:ssh-world-not-bastion"]
    );
    assert!(
        web.risk
            .reasons
            .iter()
            .any(|r| r.points == 35 && r.why == "rule ssh-world-not-bastion (high)"),
        "{:?}",
        web.risk.reasons
    );
    assert!(row(&s, "i-bastion").rules.is_empty(), "the tag exempts it");
    assert!(row(&s, "i-quiet").rules.is_empty(), "nothing open");
    let risk_of = |s: &State, id: &str| row(s, id).risk.score;
    assert_eq!(risk_of(&s, "i-web"), risk_of(&s, "i-bastion") + 35);
    // The operator's filter finds rule matches by name.
    assert_eq!(filtered(&mut s, "rule:ssh-*"), ["i-web"]);
    // Rule names are not text: `/bastion` finds the bastion, not every row a rule about
    // bastions matches.
    assert_eq!(filtered(&mut s, "bastion"), ["i-bastion"]);
    // The scope's only feed has answered: a row that newly matches alerts, once.
    assert!(s.alerts.recent.is_empty(), "matches at start ring no bell");
    update(
        &mut s,
        inventory_with(vec![inst("i-new", "new", &["sg-ssh"], true)]),
    );
    let rule_alerts: Vec<&str> = s
        .alerts
        .recent
        .iter()
        .filter(|a| a.kind == alerts::AlertKind::Rule)
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(rule_alerts, ["i-new"]);
    update(
        &mut s,
        inventory_with(vec![inst("i-new", "new", &["sg-ssh"], true)]),
    );
    assert_eq!(
        s.alerts.recent.len(),
        1,
        "the same match does not ring again"
    );
    // A rule with alert = false marks the row and never alerts.
    update(
        &mut s,
        Msg::Feed(Report::Data {
            feed: "findings",
            at: t0(),
            data: Data::Findings {
                scope: scope(),
                findings: vec![finding(
                    "f1",
                    "i-quiet",
                    "Impact:EC2/BitcoinDomainRequest.Reputation",
                    5.0,
                )],
                complete: true,
            },
        }),
    );
    assert_eq!(filtered(&mut s, "rule:dns"), ["i-quiet"]);
    assert!(s.alerts.recent.iter().all(|a| a.id != "i-quiet"));
}

#[test]
fn prices_give_rows_a_cost_the_header_a_burn_and_a_spike_alerts() {
    let mut s = State::new("test", Keymap::default_map(), t0());
    update(&mut s, Msg::Feed(accounts()));
    let now = t0() + TimeDelta::days(2);
    let old = |id: &str, ty: &str| Instance {
        instance_type: ty.into(),
        launch_time: Some(t0()),
        ..inst(id, id, &[], false)
    };
    let inv = |instances: Vec<Instance>| inventory(scope(), now, instances, vec![]);
    update(&mut s, Msg::Tick(now));
    let spot = Instance {
        spot: true,
        availability_zone: Some("us-east-1a".into()),
        ..old("i-spot", "m5.large")
    };
    update(
        &mut s,
        inv(vec![
            old("i-web", "m5.large"),
            spot.clone(),
            old("i-odd", "x9.huge"),
        ]),
    );
    update(
        &mut s,
        prices(&[
            ("m5.large", None, Some(0.096)),
            ("m5.large", Some("us-east-1a"), Some(0.035)),
            ("x9.huge", None, None),
        ]),
    );
    let price = |s: &State, id: &str| {
        s.fleet
            .rows
            .iter()
            .find(|r| r.id() == id)
            .unwrap()
            .price
            .map(|p| (p.usd_per_hour, p.spot))
    };
    assert_eq!(price(&s, "i-web"), Some((0.096, false)));
    assert_eq!(
        price(&s, "i-spot"),
        Some((0.035, true)),
        "the AZ's Spot price"
    );
    assert_eq!(price(&s, "i-odd"), None, "unknown, never guessed");
    let b = s.fleet.totals.burn;
    assert!((b.now - 0.131).abs() < 1e-9 && b.unpriced == 1, "{b:?}");
    assert_eq!(b.change_24h(), Some(0.0));
    assert_eq!(filtered(&mut s, "cost>0.05"), ["i-web"]);
    assert_eq!(filtered(&mut s, "cost:unknown"), ["i-odd"]);
    // Snapshot: price and cost since launch (48 h at $0.096).
    let snap = crate::snapshot::build(&s.fleet, "test", now);
    let web = snap
        .instances
        .iter()
        .find(|i| i.instance_id == "i-web")
        .unwrap();
    assert_eq!(web.price_per_hour, Some(0.096));
    assert_eq!(web.cost_since_launch, Some(4.608));
    assert_eq!(snap.accounts[0].burn_change_24h, Some(0.0));
    assert!(!snap.accounts[0].burn_spike);
    // Two GPU boxes launched an hour ago: the burn jumps, the account spikes, one alert.
    let gpu = |id: &str| Instance {
        launch_time: Some(now - TimeDelta::hours(1)),
        ..old(id, "p3.2xlarge")
    };
    update(
        &mut s,
        inv(vec![
            old("i-web", "m5.large"),
            spot,
            old("i-odd", "x9.huge"),
            gpu("i-g1"),
            gpu("i-g2"),
        ]),
    );
    update(&mut s, prices(&[("p3.2xlarge", None, Some(3.06))]));
    let b = s.fleet.totals.burn;
    assert!((b.now - 6.251).abs() < 1e-9, "{b:?}");
    let change = b.change_24h().unwrap();
    assert!((change - (6.251 / 0.131 - 1.0)).abs() < 1e-9);
    assert_eq!(
        b.label(),
        format!("$6.25/h (+{:.0} % vs 24 h)", change * 100.0)
    );
    let spikes: Vec<&alerts::Alert> = s
        .alerts
        .recent
        .iter()
        .filter(|a| a.kind == alerts::AlertKind::BurnSpike)
        .collect();
    assert_eq!(spikes.len(), 1, "{:?}", s.alerts.recent);
    assert_eq!(spikes[0].account_alias, "prod");
    let snap = crate::snapshot::build(&s.fleet, "test", now);
    assert!(snap.accounts[0].burn_spike);
    assert_eq!(snap.burn_per_hour, 6.251);
}

#[test]
fn a_burn_spike_alerts_once_every_region_is_priced_or_failed_and_not_for_one_there_at_start() {
    let mut s = State::new("test", Keymap::default_map(), t0());
    let now = t0() + TimeDelta::days(2);
    update(&mut s, Msg::Tick(now));
    let base = AccountInfo {
        alias: "prod".into(),
        account_id: "111111111111".into(),
        verified: true,
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        home_regions: vec![],
        color: None,
        read_only: false,
    };
    let prod = base.clone();
    update(&mut s, Msg::Feed(Report::Accounts(vec![prod.clone()])));
    let eu = Scope::new("111111111111", "eu-west-1");
    let schedule = |scope: &Scope, feed: &'static str| {
        Msg::Feed(Report::Schedule {
            scope: scope.clone(),
            feed,
            interval_secs: 60,
            essential: true,
        })
    };
    for m in [
        schedule(&scope(), "ec2"),
        schedule(&scope(), crate::feed::PRICING),
        schedule(&eu, "ec2"),
        schedule(&eu, crate::feed::PRICING),
    ] {
        update(&mut s, m);
    }
    let inv = |instances: Vec<Instance>| inventory(scope(), now, instances, vec![]);
    let box_of = |id: &str, ty: &str, launched: DateTime<Utc>| Instance {
        instance_type: ty.into(),
        launch_time: Some(launched),
        ..inst(id, id, &[], false)
    };
    let old = box_of("i-old", "m5.large", t0());
    // Already spiking when the console starts: one old box and a fresh GPU.
    let gpu = box_of("i-gpu1", "p3.2xlarge", now - TimeDelta::hours(2));
    update(&mut s, inv(vec![old.clone(), gpu.clone()]));
    update(
        &mut s,
        prices(&[
            ("m5.large", None, Some(0.096)),
            ("p3.2xlarge", None, Some(3.06)),
        ]),
    );
    let spikes = |s: &State| {
        s.alerts
            .recent
            .iter()
            .filter(|a| a.kind == alerts::AlertKind::BurnSpike)
            .count()
    };
    assert_eq!(
        spikes(&s),
        0,
        "eu-west-1 has not answered: nothing judged yet"
    );
    // eu-west-1's inventory fails (an SCP, an opt-in region): it has nothing to price, and
    // the account is judged; the spike already there is only recorded.
    update(
        &mut s,
        Msg::Feed(Report::Failed {
            scope: eu.clone(),
            feed: "ec2",
            at: now,
            message: "UnauthorizedOperation".into(),
        }),
    );
    update(&mut s, inv(vec![old.clone(), gpu.clone()]));
    assert_eq!(spikes(&s), 0, "a spike there at start rings no bell");
    assert!(s.fleet.totals.burn.is_spike(2.0));
    // It calms down (the GPU box is gone) for more than ten minutes, then a new one spikes.
    update(&mut s, inv(vec![old.clone()]));
    update(&mut s, Msg::Tick(now + TimeDelta::minutes(11)));
    update(&mut s, inv(vec![old.clone()]));
    update(&mut s, inv(vec![old.clone(), gpu.clone()]));
    assert_eq!(spikes(&s), 1, "{:?}", s.alerts.recent);
    // An account that appears later (an organization's new member) is judged at once: a spike
    // it arrives with alerts.
    let later = now + TimeDelta::minutes(30);
    update(&mut s, Msg::Tick(later));
    let fresh = Scope::new("222222222222", "us-east-1");
    update(
        &mut s,
        Msg::Feed(Report::Accounts(vec![
            prod,
            AccountInfo {
                alias: "new-member".into(),
                account_id: "222222222222".into(),
                regions: vec!["us-east-1".into()],
                ..base
            },
        ])),
    );
    update(
        &mut s,
        inventory(fresh.clone(), later, vec![old, gpu], vec![]),
    );
    update(
        &mut s,
        prices_in(
            fresh,
            later,
            &[
                ("m5.large", None, Some(0.096)),
                ("p3.2xlarge", None, Some(3.06)),
            ],
        ),
    );
    assert_eq!(spikes(&s), 2, "{:?}", s.alerts.recent);
    assert_eq!(s.alerts.recent[0].account_alias, "new-member");
}
