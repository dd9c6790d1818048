//! What miners leave beyond CPU %, read by the real feeds over HTTP from the emulator: burstable
//! credit exhaustion (and the negatives: credits left, not burstable), and the launch radar
//! (own, Amazon, foreign and vanished AMIs; new launches; no key pair; Spot).

mod support;

use std::sync::Arc;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_ec2::types::{InstanceMarketOptionsRequest, InstanceType, MarketType};
use chrono::Utc;
use serde_json::json;
use support::seed::sdk;
use support::{Emulator, set_test_credentials};
use watchfloor::app::{Msg, Row, State, update};
use watchfloor::aws::TerminalPrompt;
use watchfloor::config::Config;
use watchfloor::feed::Report;
use watchfloor::keymap::Keymap;
use watchfloor::model::flags::Flag;
use watchfloor::source::aws;

const MAIN: &str = "123456789012";
const STRANGER: &str = "777788889999";
const AMAZON_AMI: &str = "ami-12c6146b";

fn config(emu: &Emulator) -> Config {
    let src = format!(
        "[settings]\nrequest_timeout_secs = 20\n\n[[account]]\nalias = \"main\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\n",
        emu.url()
    );
    Config::parse(std::path::Path::new("signals.toml"), &src).expect("valid test config")
}

async fn launch(
    ec2: &aws_sdk_ec2::Client,
    name: &str,
    ty: InstanceType,
    image: &str,
    spot: bool,
) -> String {
    let mut req = ec2
        .run_instances()
        .image_id(image)
        .instance_type(ty)
        .min_count(1)
        .max_count(1)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("Name")
                        .value(name)
                        .build(),
                )
                .build(),
        );
    if spot {
        req = req.instance_market_options(
            InstanceMarketOptionsRequest::builder()
                .market_type(MarketType::Spot)
                .build(),
        );
    } else {
        req = req.key_name("ops");
    }
    let out = req.send().await.expect("RunInstances");
    out.instances()[0].instance_id().unwrap().to_string()
}

/// Three 5-minute datapoints of `metric` for `instance`, the last one 2.5 minutes ago.
async fn metric(cw: &aws_sdk_cloudwatch::Client, instance: &str, metric: &str, value: f64) {
    let now = Utc::now().timestamp();
    let data: Vec<MetricDatum> = (0..3)
        .map(|k| {
            MetricDatum::builder()
                .metric_name(metric)
                .dimensions(
                    Dimension::builder()
                        .name("InstanceId")
                        .value(instance)
                        .build(),
                )
                .timestamp(aws_smithy_types::DateTime::from_secs(now - k * 300 - 150))
                .value(value)
                .unit(if metric == "CPUUtilization" {
                    StandardUnit::Percent
                } else {
                    StandardUnit::Count
                })
                .build()
        })
        .collect();
    cw.put_metric_data()
        .namespace("AWS/EC2")
        .set_metric_data(Some(data))
        .send()
        .await
        .expect("PutMetricData through the CBOR bridge");
}

/// An image registered from `from` in the account, then (optionally) re-owned by `owner`.
async fn image(
    emu: &Emulator,
    ec2: &aws_sdk_ec2::Client,
    from: &str,
    owner: Option<&str>,
) -> String {
    let id = ec2
        .create_image()
        .instance_id(from)
        .name(format!("img-{from}"))
        .send()
        .await
        .expect("CreateImage")
        .image_id()
        .unwrap()
        .to_string();
    if let Some(o) = owner {
        emu.post(
            "/_watchfloor/ec2/image-owner",
            &json!({"account_id": MAIN, "region": "us-east-1", "image_id": id, "owner_id": o}),
        );
    }
    id
}

fn row<'a>(s: &'a State, name: &str) -> &'a Row {
    s.fleet
        .rows
        .iter()
        .find(|r| r.subject.name() == name)
        .unwrap_or_else(|| panic!("no row {name}"))
}

/// CloudWatch metrics the CPU feed requested, over every report.
fn cpu_metrics(reports: &[Report]) -> u64 {
    reports
        .iter()
        .filter_map(|r| match r {
            Report::Requests {
                feed: "cpu",
                metrics,
                ..
            } => Some(*metrics),
            _ => None,
        })
        .sum()
}

/// The console's state after taking in `reports`.
fn state_of(reports: Vec<Report>) -> State {
    let mut s = State::new("aws", Keymap::default_map(), Utc::now());
    for r in reports {
        update(&mut s, Msg::Feed(r));
    }
    s
}

/// Makes DescribeInstanceCreditSpecifications say `mode` for `instance`.
fn set_mode(emu: &Emulator, instance: &str, mode: &str) {
    emu.post(
        "/_watchfloor/ec2/credit-mode",
        &json!({"account_id": MAIN, "region": "us-east-1", "instance_id": instance, "mode": mode}),
    );
}

fn flags(r: &Row) -> Vec<&'static str> {
    r.flags.iter().map(|f| f.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credits_and_launch_radar_from_the_emulator() {
    let emu = Emulator::start();
    set_test_credentials();
    let cfg = sdk(&emu, "us-east-1", None).await;
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let cw = aws_sdk_cloudwatch::Client::new(&cfg);

    // Burstable: held at its baseline with no credits; bursting with credits (unlimited, and
    // charged a surplus); not burstable at the same CPU.
    let held = launch(&ec2, "held", InstanceType::T3Large, AMAZON_AMI, false).await;
    let bursting = launch(&ec2, "bursting", InstanceType::T3Large, AMAZON_AMI, false).await;
    let steady = launch(&ec2, "steady", InstanceType::M5Large, AMAZON_AMI, false).await;
    set_mode(&emu, &bursting, "unlimited");
    for id in [&held, &bursting, &steady] {
        metric(&cw, id, "CPUUtilization", 30.0).await;
    }
    metric(&cw, &held, "CPUCreditBalance", 0.0).await;
    metric(&cw, &bursting, "CPUCreditBalance", 57.0).await;
    metric(&cw, &bursting, "CPUSurplusCreditsCharged", 12.0).await;

    // Images: the account's own, a stranger's (shared to it), one deregistered since.
    let own = image(&emu, &ec2, &steady, None).await;
    let foreign = image(&emu, &ec2, &steady, Some(STRANGER)).await;
    let vanished = image(&emu, &ec2, &steady, None).await;
    launch(&ec2, "own-ami", InstanceType::T3Micro, &own, false).await;
    launch(&ec2, "miner", InstanceType::P32xlarge, &foreign, true).await;
    launch(
        &ec2,
        "vanished-ami",
        InstanceType::T3Micro,
        &vanished,
        false,
    )
    .await;
    ec2.deregister_image()
        .image_id(&vanished)
        .send()
        .await
        .expect("DeregisterImage");

    let reports =
        aws::poll_once(&config(&emu), Arc::new(TerminalPrompt), &Default::default()).await;
    support::assert_no_failure(&reports);
    // Only burstable instances pay for credit metrics; only the unlimited one for the surplus:
    // 6 CPU + 4 balances (the four t3) + 1 surplus.
    let cpu_metrics = cpu_metrics(&reports);
    assert_eq!(cpu_metrics, 6 + 4 + 1);
    let s = state_of(reports);

    // Credits.
    let h = row(&s, "held");
    assert_eq!(h.cpu_now, Some(30.0));
    assert_eq!(h.credit_balance, Some(0.0));
    assert_eq!(h.credits_exhausted, Some(30.0), "t3.large baseline");
    assert!(h.saturated && h.flags.has(Flag::CreditsExhausted));
    assert!(
        h.risk
            .reasons
            .iter()
            .any(|r| r.why.contains("credits exhausted")),
        "{:?}",
        h.risk.reasons
    );
    let b = row(&s, "bursting");
    assert_eq!(b.credit_balance, Some(57.0));
    assert!(!b.saturated && !b.flags.has(Flag::CreditsExhausted));
    let sd = &s.fleet.scopes[b.scope];
    let credits = &sd.credits[&bursting];
    assert_eq!(
        credits.mode,
        Some(watchfloor::model::credits::CreditMode::Unlimited)
    );
    assert_eq!(credits.surplus_charged(), 36.0, "three periods of 12");
    assert_eq!(
        sd.credits[&held].surplus.points.len(),
        0,
        "standard: not read"
    );
    let m = row(&s, "steady");
    assert_eq!(m.cpu_now, Some(30.0));
    assert_eq!(m.credit_balance, None, "not burstable");
    assert!(!m.saturated && m.flags.iter().all(|f| f != Flag::CreditsExhausted));
    assert_eq!(
        s.fleet.totals.saturated, 1,
        "the held box counts in the header"
    );

    // Launch radar.
    assert!(!row(&s, "steady").flags.has(Flag::ForeignAmi), "Amazon AMI");
    let o = row(&s, "own-ami");
    assert!(
        !o.flags.has(Flag::ForeignAmi) && !o.flags.has(Flag::UnknownAmi),
        "{:?}",
        flags(o)
    );
    let miner = row(&s, "miner");
    for f in [
        Flag::ForeignAmi,
        Flag::NewLaunch,
        Flag::Gpu,
        Flag::NoKeyPair,
        Flag::Spot,
    ] {
        assert!(miner.flags.has(f), "{f:?} missing: {:?}", flags(miner));
    }
    assert!(
        miner
            .risk
            .reasons
            .iter()
            .any(|r| r.why == "launched in the last 24 h with a foreign AMI, a GPU type"),
        "{:?}",
        miner.risk.reasons
    );
    let v = row(&s, "vanished-ami");
    assert!(v.flags.has(Flag::UnknownAmi), "{:?}", flags(v));
    assert_eq!(s.fleet.totals.launched_24h, 6);
    assert_eq!(s.fleet.totals.launched_24h_big, 1);

    // The snapshot carries the same facts.
    let snap = watchfloor::snapshot::build(&s.fleet, "aws", s.now);
    let v = serde_json::to_value(&snap).unwrap();
    let inst = |name: &str| {
        v["instances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(inst("held")["cpu_credit_balance"], json!(0.0));
    assert_eq!(inst("steady")["cpu_credit_balance"], json!(null));
    assert!(
        inst("held")["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("credits-exhausted"))
    );
    assert_eq!(inst("miner")["image_id"], json!(foreign));
    assert_eq!(inst("miner")["image_owner"], json!(STRANGER));
    assert_eq!(inst("vanished-ami")["image_owner"], json!(null));
    assert_eq!(inst("steady")["image_owner"], json!("801119661308"));

    // Each AMI was described once, in one call.
    let describes = emu
        .requests()
        .iter()
        .filter(|r| r.to_string().contains("DescribeImages"))
        .count();
    assert_eq!(describes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_launched_it_from_cloudtrail() {
    use watchfloor::model::launch::LaunchedBy;
    use watchfloor::source::lookups::{Backend, Lookup, Lookups};
    let emu = Emulator::start();
    set_test_credentials();
    let cfg = sdk(&emu, "us-east-1", None).await;
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let miner = launch(&ec2, "miner", InstanceType::P32xlarge, AMAZON_AMI, true).await;
    let quiet = launch(&ec2, "quiet", InstanceType::T3Micro, AMAZON_AMI, false).await;
    let at = Utc::now() - chrono::TimeDelta::minutes(3);
    emu.post(
        "/_watchfloor/cloudtrail/events",
        &json!({"account_id": MAIN, "region": "us-east-1", "events": [
            // Another call naming the instance, newer than its launch: not the launcher.
            {"instance_id": miner, "event_name": "CreateTags", "principal": "arn:aws:iam::123456789012:user/tagger"},
            {"instance_id": miner, "principal": "arn:aws:iam::123456789012:user/ci-deploy",
             "access_key_id": "AKIAEXAMPLELEAKED01", "source_ip": "45.9.148.113",
             "user_agent": "python-requests/2.31.0 xmr-autoscale/0.3\u{1b}[2J", "at": at.to_rfc3339()}
        ]}),
    );
    let registry = watchfloor::aws::Accounts::default();
    let reports = aws::poll_once(&config(&emu), Arc::new(TerminalPrompt), &registry).await;
    let mut s = state_of(reports);
    let (tx, _rx) = tokio::sync::mpsc::channel(1);
    let lookups = Lookups::new(Backend::Aws(registry), tx);
    let job = |id: &str, launched| Lookup {
        scope: watchfloor::model::Scope::new(MAIN, "us-east-1"),
        instance_id: id.into(),
        launched,
    };
    emu.http("DELETE", "/_watchfloor/requests", "");
    let (found, calls) = lookups.run(&job(&miner, Some(at))).await;
    assert_eq!(calls, 1);
    let LaunchedBy::Found(l) = found else {
        panic!("{found:?}")
    };
    assert_eq!(l.principal, "arn:aws:iam::123456789012:user/ci-deploy");
    assert_eq!(l.access_key_id, "AKIAEXAMPLELEAKED01");
    assert_eq!(l.source_ip, "45.9.148.113");
    assert!(
        l.user_agent
            .starts_with("python-requests/2.31.0 xmr-autoscale/0.3")
    );
    assert_eq!(l.at.timestamp(), at.timestamp());
    // No RunInstances event: said so, not guessed; just launched, CloudTrail may not have it
    // yet, and the answer says it may be asked again.
    let hour_ago = Utc::now() - chrono::TimeDelta::hours(1);
    assert_eq!(
        lookups.run(&job(&quiet, Some(hour_ago))).await,
        (LaunchedBy::NotFound, 1)
    );
    let (fresh, _) = lookups.run(&job(&quiet, Some(Utc::now()))).await;
    assert_eq!(fresh, LaunchedBy::NotRecordedYet);
    assert!(fresh.retry());
    // Launched beyond CloudTrail's 90 days: not looked up at all.
    let old = Utc::now() - chrono::TimeDelta::days(120);
    assert_eq!(
        lookups.run(&job(&quiet, Some(old))).await,
        (LaunchedBy::BeyondHistory, 0)
    );
    let lookups_made = emu
        .requests()
        .iter()
        .filter(|r| r["action"] == "LookupEvents")
        .count();
    assert_eq!(lookups_made, 3);

    // Through the fleet model into the snapshot, and the user agent's escape sequence never
    // reaches a terminal: the detail view escapes it.
    update(
        &mut s,
        Msg::Feed(Report::LaunchedBy {
            scope: watchfloor::model::Scope::new(MAIN, "us-east-1"),
            instance_id: miner.clone(),
            result: LaunchedBy::Found(l),
            calls,
        }),
    );
    let snap = serde_json::to_value(watchfloor::snapshot::build(&s.fleet, "aws", s.now)).unwrap();
    let m = snap["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instance_id"] == json!(miner))
        .unwrap();
    assert_eq!(m["launched_by"]["source_ip"], json!("45.9.148.113"));
    assert_eq!(m["launched_by_status"], json!("found"));
    let q = snap["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instance_id"] == json!(quiet))
        .unwrap();
    assert_eq!(q["launched_by"], json!(null));
    assert_eq!(q["launched_by_status"], json!(null), "not looked up");
    let row = s.fleet.rows.iter().position(|r| r.id() == miner).unwrap();
    let scope = s.fleet.rows[row].scope;
    s.ui.screen = watchfloor::app::Screen::Detail {
        scope,
        id: miner.clone(),
        scroll: 0,
        finding: None,
    };
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 50)).unwrap();
    term.draw(|f| {
        watchfloor::ui::render(
            f,
            &s,
            &watchfloor::theme::Theme::default_theme(watchfloor::theme::ColorMode::None),
        )
    })
    .unwrap();
    let screen: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    // Shown escaped, as text: the operator sees the attempt, the terminal never gets it.
    assert!(screen.contains("xmr-autoscale/0.3\\u{1b}[2J"), "{screen}");
    assert!(!screen.contains('\u{1b}'), "an escape reached the screen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_credit_mode_read_leaves_the_mode_unknown_and_cpu_polling_on() {
    let emu = Emulator::start();
    set_test_credentials();
    let cfg = sdk(&emu, "us-east-1", None).await;
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let cw = aws_sdk_cloudwatch::Client::new(&cfg);
    let id = launch(&ec2, "t3", InstanceType::T3Large, AMAZON_AMI, false).await;
    set_mode(&emu, &id, "unlimited");
    metric(&cw, &id, "CPUUtilization", 30.0).await;
    metric(&cw, &id, "CPUCreditBalance", 0.0).await;
    emu.post(
        "/_watchfloor/faults",
        &json!({"service": "ec2", "action": "DescribeInstanceCreditSpecifications",
                "code": "UnauthorizedOperation", "status": 403}),
    );
    let reports =
        aws::poll_once(&config(&emu), Arc::new(TerminalPrompt), &Default::default()).await;
    assert!(
        !reports.iter().any(|r| matches!(r, Report::Failed { .. })),
        "the CPU feed goes on without the modes"
    );
    let cpu_metrics = cpu_metrics(&reports);
    assert_eq!(
        cpu_metrics, 2,
        "CPU and the balance; no surplus without a known mode"
    );
    let s = state_of(reports);
    let r = row(&s, "t3");
    let credits = &s.fleet.scopes[r.scope].credits[&id];
    assert_eq!(
        credits.mode,
        Some(watchfloor::model::credits::CreditMode::Unknown)
    );
    // Held at its baseline with nothing left: still found without the mode.
    assert!(r.flags.has(Flag::CreditsExhausted), "{:?}", flags(r));
}

/// A GuardDuty finding of the DNS family names the pool's domain: the row is flagged
/// `dns-mining`, `dns:` finds it by that domain, and the domain is kept for the detail view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_finding_names_its_pool_and_dns_terms_find_it() {
    let emu = Emulator::start();
    set_test_credentials();
    let cfg = sdk(&emu, "us-east-1", None).await;
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let miner = launch(&ec2, "miner", InstanceType::T3Micro, AMAZON_AMI, false).await;
    let quiet = launch(&ec2, "quiet", InstanceType::T3Micro, AMAZON_AMI, false).await;
    emu.post(
        "/_watchfloor/guardduty/findings",
        &json!({"account_id": MAIN, "findings": [
            {"type": "CryptoCurrency:EC2/BitcoinTool.B!DNS", "severity": 8.0,
             "instance_id": miner, "dns_domain": "xmr-eu1.nanopool.org"},
            // Same family of words, not the DNS family: no domain, no flag.
            {"type": "CryptoCurrency:EC2/BitcoinTool.B", "severity": 8.0, "instance_id": quiet},
        ]}),
    );
    let reports =
        aws::poll_once(&config(&emu), Arc::new(TerminalPrompt), &Default::default()).await;
    let s = state_of(reports);
    let (m, q) = (row(&s, "miner"), row(&s, "quiet"));
    assert!(m.flags.has(Flag::DnsMining) && !q.flags.has(Flag::DnsMining));
    let domains: Vec<Option<&str>> = s
        .fleet
        .findings_of(m)
        .iter()
        .map(|f| f.dns_domain.as_deref())
        .collect();
    assert_eq!(domains, [Some("xmr-eu1.nanopool.org")]);
    let matches = |f: &str| {
        let filter = watchfloor::filter::parse(f).expect(f);
        [m, q]
            .into_iter()
            .filter(|r| filter.matches(&s.fleet, r, s.now))
            .map(|r| r.subject.name().into_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(matches("dns:*.nanopool.org"), ["miner"]);
    assert_eq!(matches("dns:*"), ["miner"]);
    assert!(matches("dns:*.minergate.com").is_empty());
    assert_eq!(matches("!dns:*"), ["quiet"]);
}
