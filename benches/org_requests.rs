//! Requests per full refresh of an organization, counted on the AWS emulator: direct mode (one
//! `[[account]]` per member, each polling its own GuardDuty and CloudWatch) against organization
//! mode (`[organization]` with a GuardDuty delegated administrator and a CloudWatch monitoring
//! account), at 10, 100 and 1,000 accounts x 2 regions. Target (issue 11): for findings + CPU,
//! organization mode grows with regions, not accounts: at least 50x fewer requests at 1,000.
//!
//! Method: moto + watchfloor's emulator extensions on a loopback port, the real SDK. Every
//! account gets one instance (with CPU datapoints) and a GuardDuty detector in each region; the
//! administrator has every other account as a GuardDuty member. One full refresh is
//! `watchfloor snapshot`'s poll (every feed of every scope once, `aws::poll_once_timed`); the
//! emulator's request record is cleared before it and read after it, and counted by service.
//! Connecting (STS) and discovery (Organizations) are counted apart.
//!
//! Run: `cargo bench --bench org_requests` (`-- 10 100` for other sizes). Needs the emulator's
//! venv (tests/support/emulator/setup.sh, which the tests run too).

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use support::seed::{assume, sdk};
use support::{Emulator, set_test_credentials};
use watchfloor::aws::TerminalPrompt;
use watchfloor::config::Config;
use watchfloor::source::aws;

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const ROLE: &str = "watchfloor-read";

/// Creates the organization with `n` accounts (the management account among them), one
/// instance, CPU datapoints and a detector in each account x region; returns the ids.
async fn fleet(emu: &Emulator, n: usize) -> Vec<String> {
    let base = sdk(emu, "us-east-1", None).await;
    let o = aws_sdk_organizations::Client::new(&base);
    o.create_organization().send().await.unwrap();
    let mut ids = vec!["123456789012".to_string()];
    for k in 1..n {
        let st = o
            .create_account()
            .account_name(format!("acct-{k:04}"))
            .email(format!("a{k}@example.com"))
            .send()
            .await
            .unwrap();
        ids.push(
            st.create_account_status()
                .unwrap()
                .account_id()
                .unwrap()
                .to_string(),
        );
    }
    let now = aws_smithy_types::DateTime::from_secs(chrono::Utc::now().timestamp() - 150);
    let mut detectors = BTreeMap::new();
    for id in &ids {
        let creds = assume(emu, id).await;
        for region in REGIONS {
            let c = sdk(emu, region, Some(creds.clone())).await;
            let inst = support::seed::run(&aws_sdk_ec2::Client::new(&c), "box", &[]).await;
            aws_sdk_cloudwatch::Client::new(&c)
                .put_metric_data()
                .namespace("AWS/EC2")
                .metric_data(
                    MetricDatum::builder()
                        .metric_name("CPUUtilization")
                        .dimensions(Dimension::builder().name("InstanceId").value(inst).build())
                        .timestamp(now)
                        .value(50.0)
                        .build(),
                )
                .send()
                .await
                .unwrap();
            let d = aws_sdk_guardduty::Client::new(&c)
                .create_detector()
                .enable(true)
                .send()
                .await
                .unwrap();
            detectors.insert((id.clone(), region), d.detector_id().unwrap().to_string());
        }
    }
    // The administrator (the second account) has every other account as a member.
    let admin = &ids[1];
    let creds = assume(emu, admin).await;
    for region in REGIONS {
        let gd = aws_sdk_guardduty::Client::new(&sdk(emu, region, Some(creds.clone())).await);
        for chunk in ids.chunks(50) {
            let details: Vec<_> = chunk
                .iter()
                .filter(|a| *a != admin)
                .map(|a| {
                    aws_sdk_guardduty::types::AccountDetail::builder()
                        .account_id(a)
                        .email("x@example.com")
                        .build()
                })
                .collect();
            gd.create_members()
                .detector_id(&detectors[&(admin.clone(), region)])
                .set_account_details(Some(details))
                .send()
                .await
                .unwrap();
        }
    }
    ids
}

fn direct(emu: &Emulator, ids: &[String]) -> Config {
    let mut src = String::from("[settings]\nrequest_timeout_secs = 120\n");
    for (k, id) in ids.iter().enumerate() {
        src.push_str(&format!(
            "\n[[account]]\nalias = \"a{k}\"\nrole_arn = \"arn:aws:iam::{id}:role/{ROLE}\"\nregions = [\"us-east-1\", \"eu-west-1\"]\nendpoint_url = \"{}\"\n",
            emu.url()
        ));
    }
    Config::parse(std::path::Path::new("direct.toml"), &src).unwrap()
}

fn organization(emu: &Emulator, admin: &str) -> Config {
    let src = format!(
        "[settings]\nrequest_timeout_secs = 120\n\n[organization]\nrole_name = \"{ROLE}\"\nregions = [\"us-east-1\", \"eu-west-1\"]\nendpoint_url = \"{}\"\nguardduty_admin = \"{admin}\"\nmonitoring_account = \"{admin}\"\nmax_concurrent_polls = 16\n",
        emu.url()
    );
    Config::parse(std::path::Path::new("org.toml"), &src).unwrap()
}

/// Requests by service for one full refresh with `config`, the seconds it took, and the polls
/// that failed (a refresh that lost accounts would count too few requests).
async fn refresh(emu: &Emulator, config: &Config) -> (BTreeMap<String, usize>, f64, usize) {
    emu.http("DELETE", "/_watchfloor/requests", "");
    let t = Instant::now();
    let (reports, _timings) =
        aws::poll_once_timed(config, Arc::new(TerminalPrompt), &Default::default()).await;
    let secs = t.elapsed().as_secs_f64();
    let failed = reports
        .iter()
        .filter(|r| matches!(r, watchfloor::feed::Report::Failed { .. }))
        .count();
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for r in emu.requests() {
        *by.entry(r["service"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    (by, secs, failed)
}

fn main() {
    let sizes: Vec<usize> = {
        let v: Vec<usize> = std::env::args()
            .skip(1)
            .filter_map(|a| a.parse().ok())
            .collect();
        if v.is_empty() { vec![10, 100, 1000] } else { v }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("requests per full refresh, accounts x 2 regions (counted on the emulator)");
    for n in sizes {
        let emu = Emulator::start();
        set_test_credentials();
        rt.block_on(async {
            let t = Instant::now();
            let ids = fleet(&emu, n).await;
            let seeded = t.elapsed().as_secs_f64();
            let (d, dsecs, dfail) = refresh(&emu, &direct(&emu, &ids)).await;
            let (o, osecs, ofail) = refresh(&emu, &organization(&emu, &ids[1])).await;
            let get = |m: &BTreeMap<String, usize>, s: &str| m.get(s).copied().unwrap_or(0);
            let fc = |m: &BTreeMap<String, usize>| get(m, "guardduty") + get(m, "monitoring");
            let total = |m: &BTreeMap<String, usize>| m.values().sum::<usize>();
            println!(
                "{n:>5} accounts (seeded in {seeded:.0} s)\n  direct:       total {:>6}  findings+CPU {:>6}  (guardduty {}, cloudwatch {}, ec2 {}, ecs {}, sts {})  {dsecs:.0} s, {dfail} failed polls",
                total(&d), fc(&d), get(&d, "guardduty"), get(&d, "monitoring"), get(&d, "ec2"), get(&d, "ecs"), get(&d, "sts")
            );
            println!(
                "  organization: total {:>6}  findings+CPU {:>6}  (guardduty {}, cloudwatch {}, ec2 {}, ecs {}, sts {}, organizations {})  {osecs:.0} s, {ofail} failed polls",
                total(&o), fc(&o), get(&o, "guardduty"), get(&o, "monitoring"), get(&o, "ec2"), get(&o, "ecs"), get(&o, "sts"), get(&o, "organizations")
            );
            println!(
                "  findings+CPU: {:.1}x fewer in organization mode",
                fc(&d) as f64 / fc(&o).max(1) as f64
            );
        });
    }
}
