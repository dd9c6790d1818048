//! Render and update cost vs fleet size: frame render with 100 / 10,000 / 50,000 instances in
//! state (target: cost follows what is visible, 10k within 1.5x of 100), and applying one
//! 10,000-instance EC2 snapshot (target: well under a 16 ms frame).
//!
//! Run: `cargo bench --bench render`.

use std::time::Duration;

use chrono::{TimeDelta, TimeZone, Utc};
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use watchfloor::app::{Msg, State, update};
use watchfloor::feed::{AccountInfo, Data, Report};
use watchfloor::keymap::Keymap;
use watchfloor::model::credits::{CreditMode, Credits};
use watchfloor::model::{
    CpuSeries, Finding, IngressRule, Instance, InstanceState, NetworkInterface, RuleSource, Scope,
    SecurityGroup,
};
use watchfloor::theme::{ColorMode, Theme};

const SCOPES: usize = 10;

fn scope(i: usize) -> Scope {
    Scope::new(
        format!("{:012}", 100_000_000_000u64 + (i / 2) as u64),
        ["us-east-1", "eu-west-1"][i % 2],
    )
}

fn groups() -> Vec<SecurityGroup> {
    let world = |p: i32| IngressRule {
        protocol: "tcp".into(),
        from_port: Some(p),
        to_port: Some(p),
        source: RuleSource::Cidr4("0.0.0.0/0".into()),
    };
    vec![
        SecurityGroup {
            group_id: "sg-web".into(),
            name: "web".into(),
            vpc_id: None,
            ingress: vec![world(80), world(443)],
        },
        SecurityGroup {
            group_id: "sg-ssh".into(),
            name: "ssh".into(),
            vpc_id: None,
            ingress: vec![world(22)],
        },
        SecurityGroup {
            group_id: "sg-int".into(),
            name: "internal".into(),
            vpc_id: None,
            ingress: vec![IngressRule {
                protocol: "-1".into(),
                from_port: None,
                to_port: None,
                source: RuleSource::Group("sg-int".into()),
            }],
        },
    ]
}

fn instances(scope_ix: usize, n: usize) -> Vec<Instance> {
    (0..n)
        .map(|i| Instance {
            instance_id: format!("i-{scope_ix:02}{i:015x}"),
            name: format!("svc-{}-{i}", ["web", "api", "worker", "db"][i % 4]),
            instance_type: ["m5.large", "c5.xlarge", "t3.micro"][i % 3].into(),
            state: InstanceState::Running,
            launch_time: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
            vpc_id: Some("vpc-1".into()),
            interfaces: vec![NetworkInterface {
                eni_id: format!("eni-{i}"),
                device_index: 0,
                subnet_id: None,
                private_ip: Some("10.0.0.1".into()),
                public_ip: (i % 3 == 0).then(|| "198.51.100.1".to_string()),
                ipv6: vec![],
                group_ids: match i % 5 {
                    0 => vec!["sg-web".into(), "sg-int".into()],
                    1 => vec!["sg-ssh".into()],
                    _ => vec!["sg-int".into()],
                },
            }],
            tags: vec![("Name".into(), format!("svc-{i}"))],
            detailed_monitoring: false,
            termination_protection: Some(false),
            stop_protection: Some(false),
            asg: None,
            image_id: None,
            key_name: Some("ops".into()),
            spot: false,
            platform: Default::default(),
            tenancy: Default::default(),
            availability_zone: None,
        })
        .collect()
}

/// State holding `total` instances spread over SCOPES account x regions, with CPU and findings.
fn fleet(total: usize) -> State {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
    let mut s = State::new("bench", Keymap::default_map(), now);
    let accounts = (0..SCOPES / 2)
        .map(|a| AccountInfo {
            alias: format!("acct{a}"),
            account_id: scope(a * 2).account_id,
            verified: true,
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            home_regions: vec!["us-east-1".into()],
            color: None,
            read_only: false,
        })
        .collect();
    update(&mut s, Msg::Feed(Report::Accounts(accounts)));
    for sc in 0..SCOPES {
        let insts = instances(sc, total / SCOPES);
        let series = insts
            .iter()
            .enumerate()
            .map(|(k, i)| {
                let pts = (0..30)
                    .map(|p| {
                        (
                            now - TimeDelta::minutes(30 - p),
                            ((k * 7 + p as usize) % 100) as f64,
                        )
                    })
                    .collect();
                (
                    i.instance_id.clone(),
                    CpuSeries {
                        period_secs: 60,
                        points: pts,
                    },
                )
            })
            .collect();
        // A third of the fleet is t3: credit balances for those, some spent.
        let credits = insts
            .iter()
            .enumerate()
            .filter(|(_, i)| i.instance_type.starts_with("t3."))
            .map(|(k, i)| {
                let balance = (0..6)
                    .map(|p| (now - TimeDelta::minutes(30 - 5 * p), (k % 5 * 20) as f64))
                    .collect();
                (
                    i.instance_id.clone(),
                    Credits {
                        mode: Some(CreditMode::Standard),
                        balance: CpuSeries {
                            period_secs: 300,
                            points: balance,
                        },
                        surplus: CpuSeries::default(),
                    },
                )
            })
            .collect();
        let findings = insts
            .iter()
            .step_by(50)
            .enumerate()
            .map(|(k, i)| Finding {
                id: format!("f{sc}-{k}"),
                kind: "CryptoCurrency:EC2/BitcoinTool.B!DNS".into(),
                severity: 2.0 + (k % 8) as f64,
                title: "t".into(),
                instance_id: Some(i.instance_id.clone()),
                updated_at: now,
                count: 1,
                task_arn: None,
                cluster_arn: None,
                archived: false,
                dns_domain: None,
            })
            .collect();
        update(
            &mut s,
            Msg::Feed(Report::Data {
                feed: "ec2",
                at: now,
                data: Data::Inventory {
                    scope: scope(sc),
                    instances: insts,
                    groups: groups(),
                    loose_interfaces: vec![],
                },
            }),
        );
        update(
            &mut s,
            Msg::Feed(Report::Data {
                feed: "cpu",
                at: now,
                data: Data::Cpu {
                    scope: scope(sc),
                    series,
                    credits,
                },
            }),
        );
        update(
            &mut s,
            Msg::Feed(Report::Data {
                feed: "findings",
                at: now,
                data: Data::Findings {
                    scope: scope(sc),
                    findings,
                    complete: true,
                },
            }),
        );
    }
    s
}

fn render(c: &mut Criterion) {
    let theme = Theme::default_theme(ColorMode::TrueColor);
    let mut g = c.benchmark_group("render_fleet_frame");
    g.measurement_time(Duration::from_secs(4));
    for &(w, h) in &[(200u16, 60u16), (80, 24)] {
        for n in [100usize, 10_000, 50_000] {
            let mut s = fleet(n);
            assert_eq!(s.fleet.rows.len(), n);
            let page = watchfloor::ui::table_page(&s, ratatui::layout::Rect::new(0, 0, w, h));
            update(&mut s, Msg::Resize { page, rows: h });
            let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
            g.bench_with_input(BenchmarkId::new(format!("{w}x{h}"), n), &s, |b, s| {
                b.iter(|| {
                    term.draw(|f| watchfloor::ui::render(f, s, &theme)).unwrap();
                })
            });
        }
    }
    g.finish();
}

fn apply(c: &mut Criterion) {
    let mut g = c.benchmark_group("apply_update");
    g.measurement_time(Duration::from_secs(6)).sample_size(30);
    // One EC2 snapshot of 10,000 instances for one account x region, into a 10,000-instance fleet.
    let base = fleet(10_000);
    let snapshot = Report::Data {
        feed: "ec2",
        at: base.now,
        data: Data::Inventory {
            scope: scope(0),
            instances: instances(0, 10_000),
            groups: groups(),
            loose_interfaces: vec![],
        },
    };
    g.bench_function("ec2_snapshot_10000_into_10000", |b| {
        b.iter_batched(
            || (base.clone(), snapshot.clone()),
            |(mut s, u)| {
                update(&mut s, Msg::Feed(u));
                s
            },
            BatchSize::LargeInput,
        )
    });
    // One filter keystroke over 10,000 rows (the filter text is built on demand).
    let mut filtering = fleet(10_000);
    update(
        &mut filtering,
        Msg::Key(watchfloor::keymap::Key::parse("/").unwrap()),
    );
    g.bench_function("filter_keystroke_10000", |b| {
        b.iter_batched(
            || filtering.clone(),
            |mut s| {
                update(
                    &mut s,
                    Msg::Key(watchfloor::keymap::Key::parse("w").unwrap()),
                );
                s
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, render, apply);
criterion_main!(benches);
