//! What instances cost, read by the real pricing feed over HTTP from the emulator: on-demand
//! prices from the Price List's GetProducts (seeded products, one decoy per filter), the Spot
//! price of a Spot instance's AZ from DescribeSpotPriceHistory, "unknown" for what has no
//! product, each price asked once a day, and yesterday's price (saying so) when the Price List
//! cannot be reached. And, with `cost_explorer = true`, an account's last 7 days from
//! GetCostAndUsage (moto's own, per account) and its open anomalies from GetAnomalies.

mod support;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ec2::types::{InstanceMarketOptionsRequest, InstanceType, MarketType};
use serde_json::json;
use support::seed::sdk;
use support::{Emulator, set_test_credentials};
use watchfloor::app::{Msg, State, update};
use watchfloor::aws::{Clients, TerminalPrompt};
use watchfloor::config::Config;
use watchfloor::feed::{Data, Feed};
use watchfloor::keymap::Keymap;
use watchfloor::model::price::Quote;
use watchfloor::source::aws;
use watchfloor::source::aws::ec2::Ec2Feed;
use watchfloor::source::aws::pricing::{PriceBook, PricingFeed};

/// A second account, assumed into.
const OTHER: &str = "222222222222";

fn config(emu: &Emulator) -> Config {
    let src = format!(
        "[settings]\nrequest_timeout_secs = 20\n\n[[account]]\nalias = \"main\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{url}\"\n\n[[account]]\nalias = \"other\"\nrole_arn = \"arn:aws:iam::{OTHER}:role/watchfloor-read\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{url}\"\n",
        url = emu.url()
    );
    Config::parse(std::path::Path::new("pricing.toml"), &src).expect("valid test config")
}

/// A product of the Price List: the attributes watchfloor filters on, and its hourly price.
fn product(ty: &str, os: &str, tenancy: &str, usd: &str) -> serde_json::Value {
    json!({
        "instanceType": ty, "regionCode": "us-east-1", "operatingSystem": os,
        "tenancy": tenancy, "preInstalledSw": "NA", "capacitystatus": "Used",
        "licenseModel": "No License required", "usd": usd,
    })
}

async fn launch(ec2: &aws_sdk_ec2::Client, ty: InstanceType, spot: bool) -> (String, String) {
    let mut req = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .instance_type(ty)
        .min_count(1)
        .max_count(1);
    if spot {
        req = req.instance_market_options(
            InstanceMarketOptionsRequest::builder()
                .market_type(MarketType::Spot)
                .build(),
        );
    }
    let out = req.send().await.expect("RunInstances");
    let i = &out.instances()[0];
    (
        i.instance_id().unwrap().to_string(),
        i.placement()
            .and_then(|p| p.availability_zone())
            .unwrap()
            .to_string(),
    )
}

fn seed_prices(emu: &Emulator) {
    emu.post(
        "/_watchfloor/pricing/products",
        &json!({"products": [
            product("m5.large", "Linux", "Shared", "0.0960000000"),
            // Decoys, one per filter: another OS, tenancy, region, capacity status, installed
            // software, licence model.
            product("m5.large", "Windows", "Shared", "0.1880000000"),
            product("m5.large", "Linux", "Dedicated", "0.1060000000"),
            {"instanceType": "m5.large", "regionCode": "us-east-1", "operatingSystem": "Linux",
             "tenancy": "Shared", "preInstalledSw": "SQL Std", "capacitystatus": "Used",
             "licenseModel": "No License required", "usd": "0.4760"},
            {"instanceType": "m5.large", "regionCode": "us-east-1", "operatingSystem": "Linux",
             "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used",
             "licenseModel": "Bring your own license", "usd": "0.0500"},
            // Two products that disagree: that price is unknown, the others are still asked.
            product("c5.large", "Linux", "Shared", "0.0850"),
            product("c5.large", "Linux", "Shared", "0.0900"),
            {"instanceType": "m5.large", "regionCode": "eu-west-1", "operatingSystem": "Linux",
             "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used",
             "licenseModel": "No License required", "usd": "0.107"},
            {"instanceType": "m5.large", "regionCode": "us-east-1", "operatingSystem": "Linux",
             "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "UnusedCapacityReservation",
             "licenseModel": "No License required", "usd": "0.0960000001"},
            product("p3.2xlarge", "Linux", "Shared", "3.0600000000"),
        ]}),
    );
    // Each AZ its own Spot price: the instance's AZ must be the one asked about.
    for (az, price) in [
        ("us-east-1a", "0.9180"),
        ("us-east-1b", "0.9500"),
        ("us-east-1c", "1.0100"),
    ] {
        emu.post(
            "/_watchfloor/ec2/spot-price",
            &json!({"region": "us-east-1", "instance_type": "p3.2xlarge",
                    "availability_zone": az, "price": price}),
        );
    }
}

fn spot_price_of(az: &str) -> f64 {
    match az {
        "us-east-1a" => 0.918,
        "us-east-1b" => 0.95,
        _ => 1.01,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_are_priced_from_the_price_list_and_the_spot_history_or_shown_unknown() {
    set_test_credentials();
    let emu = Emulator::start();
    seed_prices(&emu);
    let ec2 = aws_sdk_ec2::Client::new(&sdk(&emu, "us-east-1", None).await);
    let (web, _) = launch(&ec2, InstanceType::M5Large, false).await;
    let (miner, az) = launch(&ec2, InstanceType::P32xlarge, true).await;
    let (small, _) = launch(&ec2, InstanceType::T3Micro, false).await;
    let (twin, _) = launch(&ec2, InstanceType::M5Large, false).await;
    let (odd, _) = launch(&ec2, InstanceType::C5Large, false).await;
    // The same type in another account of the region: priced from the same answer.
    let other = aws_sdk_ec2::Client::new(
        &sdk(
            &emu,
            "us-east-1",
            Some(support::seed::assume(&emu, OTHER).await),
        )
        .await,
    );
    let (cousin, _) = launch(&other, InstanceType::M5Large, false).await;
    let _ = emu.http("DELETE", "/_watchfloor/requests", "");

    let reports =
        aws::poll_once(&config(&emu), Arc::new(TerminalPrompt), &Default::default()).await;
    support::assert_no_failure(&reports);
    let mut s = State::new("test", Keymap::default_map(), chrono::Utc::now());
    update(&mut s, Msg::Feeds(reports));
    let price = |id: &str| {
        s.fleet
            .rows
            .iter()
            .find(|r| r.id() == id)
            .unwrap_or_else(|| panic!("no row {id}"))
            .price
            .map(|p| (p.usd_per_hour, p.spot))
    };
    assert_eq!(
        price(&web),
        Some((0.096, false)),
        "the one Linux shared product"
    );
    assert_eq!(price(&twin), Some((0.096, false)));
    assert_eq!(
        price(&cousin),
        Some((0.096, false)),
        "the other account's too"
    );
    assert_eq!(
        price(&miner),
        Some((spot_price_of(&az), true)),
        "the Spot price of its AZ {az}"
    );
    assert_eq!(price(&small), None, "no product: unknown, never guessed");
    assert_eq!(price(&odd), None, "products that disagree: unknown");
    let sd = s.fleet.scopes.iter().find(|sd| sd.alias == "main").unwrap();
    let unknown: Vec<&Quote> = sd
        .prices
        .iter()
        .filter(|(k, _)| k.instance_type == "t3.micro")
        .map(|(_, q)| q)
        .collect();
    assert_eq!(unknown.len(), 1);
    assert_eq!(
        unknown[0].note.as_deref(),
        Some("the Price List has no such product")
    );
    let ambiguous = sd
        .prices
        .iter()
        .find(|(k, _)| k.instance_type == "c5.large")
        .map(|(_, q)| q.note.clone().unwrap_or_default())
        .unwrap();
    assert!(
        ambiguous.contains("2 different hourly prices"),
        "{ambiguous}"
    );
    assert!(
        sd.feed(watchfloor::feed::PRICING)
            .is_some_and(|f| f.state == watchfloor::app::FeedState::Ok),
        "an ambiguous product is not a failure of the feed"
    );
    let burn = s.fleet.totals.burn;
    assert!(
        (burn.now - (0.288 + spot_price_of(&az))).abs() < 1e-9 && burn.unpriced == 2,
        "{burn:?}"
    );
    // One GetProducts per (type, platform, tenancy), the Spot price once, none twice.
    let asked = |action: &str| {
        emu.requests()
            .iter()
            .filter(|r| r["action"] == action)
            .count()
    };
    assert_eq!(
        asked("GetProducts"),
        3,
        "c5.large, m5.large and t3.micro, each once for both accounts"
    );
    assert_eq!(asked("DescribeSpotPriceHistory"), 1);
    assert_eq!(
        asked("GetCostAndUsage"),
        0,
        "Cost Explorer is off unless asked for"
    );
    assert!(
        emu.requests()
            .iter()
            .filter(|r| r["action"] == "GetProducts")
            .all(|r| r["region"] == "us-east-1"),
        "the Price List is asked in its home region"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_are_asked_once_a_day_and_yesterdays_are_used_when_aws_cannot_be_asked() {
    set_test_credentials();
    let emu = Emulator::start();
    seed_prices(&emu);
    let ec2 = aws_sdk_ec2::Client::new(&sdk(&emu, "us-east-1", None).await);
    launch(&ec2, InstanceType::M5Large, false).await;
    let cfg = config(&emu);
    let acct =
        watchfloor::aws::creds::connect(&cfg.accounts[0], &cfg.settings, Arc::new(TerminalPrompt))
            .await
            .expect("connect");
    let clients = Clients::new(&acct, "us-east-1");
    let (mut ec2_feed, inventory) = Ec2Feed::new(clients.clone(), Duration::from_secs(60));
    ec2_feed.poll().await.expect("inventory");

    // A cache file with yesterday's price for this endpoint.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prices.json");
    let yesterday = chrono::Utc::now() - chrono::TimeDelta::days(1);
    std::fs::write(
        &path,
        json!({
            format!("{}|us-east-1|m5.large linux shared", emu.url()):
                {"usd_per_hour": 0.09, "as_of": yesterday.to_rfc3339()}
        })
        .to_string(),
    )
    .unwrap();
    let book = PriceBook::open(Some(path.clone()));
    let quotes = |polled: watchfloor::feed::Polled| match polled.data.into_iter().next() {
        Some(Data::Prices { quotes, error, .. }) => (quotes, error, polled.calls),
        other => panic!("not prices: {other:?}"),
    };

    // The Price List refuses: yesterday's price is used and says so; the scope shows why.
    emu.post(
        "/_watchfloor/faults",
        &json!({"service": "pricing", "action": "GetProducts", "code": "AccessDeniedException",
                "message": "not authorized to perform pricing:GetProducts", "count": 1}),
    );
    let mut feed = PricingFeed::new(
        clients.clone(),
        Duration::from_secs(60),
        inventory.clone(),
        book.clone(),
    );
    let (q, error, _) = quotes(feed.poll().await.expect("a poll with a cached price"));
    assert_eq!(q.len(), 1);
    let quote = &q[0].1;
    assert_eq!(quote.usd_per_hour, Some(0.09));
    assert!(quote.cached, "{quote:?}");
    let note = quote.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("AccessDeniedException") || note.contains("not authorized"),
        "{note}"
    );
    assert!(
        note.contains(&yesterday.format("%Y-%m-%d").to_string()),
        "{note}"
    );
    assert!(error.is_some_and(|e| e.contains("not authorized")));

    // AWS answers again: today's price, asked once; the next poll asks nothing.
    let (q, error, calls) = quotes(feed.poll().await.expect("poll"));
    assert_eq!(error, None);
    assert_eq!(calls, 1);
    assert_eq!(q[0].1.usd_per_hour, Some(0.096));
    assert!(!q[0].1.cached);
    let (q, _, calls) = quotes(feed.poll().await.expect("poll"));
    assert_eq!(
        (q.len(), calls),
        (0, 0),
        "fresh today: nothing asked, nothing new"
    );
    // Another scope's feed sharing the book asks nothing either.
    let mut other = PricingFeed::new(clients, Duration::from_secs(60), inventory, book);
    let (q, _, calls) = quotes(other.poll().await.expect("poll"));
    assert_eq!((q.len(), calls), (1, 0));
    // An emulator's prices never reach the cache file: it is left as it was.
    let saved = std::fs::read_to_string(&path).expect("the cache file is still there");
    assert!(
        saved.contains("0.09") && !saved.contains("0.096"),
        "{saved}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_explorer_gives_the_week_the_burn_of_yesterday_and_open_anomalies() {
    set_test_credentials();
    let emu = Emulator::start();
    seed_prices(&emu);
    let ec2 = aws_sdk_ec2::Client::new(&sdk(&emu, "us-east-1", None).await);
    launch(&ec2, InstanceType::M5Large, false).await;
    let today = chrono::Utc::now().date_naive();
    let day = |n: i64| (today - chrono::TimeDelta::days(n)).to_string();
    // Seven days: EC2 at $0.048 an hour; yesterday, its bill still coming in, says more but
    // is not used for the burn of 24 h ago (the day before yesterday is).
    let results: Vec<serde_json::Value> = (1..=7)
        .rev()
        .map(|n| {
            json!({
                "TimePeriod": {"Start": day(n), "End": day(n - 1)},
                "Total": {},
                "Groups": [
                    {"Keys": ["Amazon Elastic Compute Cloud - Compute"],
                     "Metrics": {"UnblendedCost": {"Amount": if n == 1 { "9.99" } else { "1.152" }, "Unit": "USD"}}},
                    {"Keys": ["Amazon Simple Storage Service"],
                     "Metrics": {"UnblendedCost": {"Amount": format!("{}", 0.5 * n as f64), "Unit": "USD"}}},
                ],
                "Estimated": n == 1,
            })
        })
        .collect();
    emu.post(
        "/moto-api/static/ce/cost-and-usage-results",
        &json!({"account_id": "123456789012", "results": [{"ResultsByTime": results}]}),
    );
    emu.post(
        "/_watchfloor/ce/anomalies",
        &json!({"anomalies": [
            {"id": "open-1", "start": day(2), "impact": 310.5,
             "service": "Amazon Elastic Compute Cloud - Compute", "region": "ap-south-1"},
            {"id": "over", "start": day(6), "end": day(5), "impact": 12.0},
            // A member's anomaly seen by this (payer) account's monitor: not this account's.
            {"id": "member", "start": day(1), "impact": 99.0, "linked_account": "210987654321"},
        ]}),
    );
    let _ = emu.http("DELETE", "/_watchfloor/requests", "");
    let src = format!(
        "[settings]\nrequest_timeout_secs = 20\ncost_explorer = true\n\n[[account]]\nalias = \"main\"\nregions = [\"us-east-1\", \"eu-west-1\"]\nendpoint_url = \"{}\"\n",
        emu.url()
    );
    let cfg = Config::parse(std::path::Path::new("ce.toml"), &src).expect("valid test config");
    let reports = aws::poll_once(&cfg, Arc::new(TerminalPrompt), &Default::default()).await;
    support::assert_no_failure(&reports);
    let now = chrono::Utc::now();
    let mut s = State::new("test", Keymap::default_map(), now);
    update(&mut s, Msg::Feeds(reports));
    let costs = &s.fleet.costs["123456789012"];
    assert_eq!(costs.daily.len(), 7);
    assert_eq!(costs.daily[0].day.to_string(), day(7));
    assert!(
        (costs.daily[0].total - (1.152 + 3.5)).abs() < 1e-9,
        "{:?}",
        costs.daily[0]
    );
    assert!((costs.daily[6].compute - 9.99).abs() < 1e-9);
    assert!(costs.daily[6].estimated);
    let open: Vec<&str> = costs.anomalies.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        open,
        ["open-1"],
        "the anomaly that ended days ago is not open; a member's is not this account's"
    );
    assert_eq!(costs.anomalies[0].region.as_deref(), Some("ap-south-1"));
    // The m5.large was launched a moment ago: by launch times nothing ran a day ago, but Cost
    // Explorer says EC2 cost $0.048 an hour the day before yesterday: +100 %.
    let b = s.fleet.totals.burn;
    assert!(b.from_cost_explorer, "{b:?}");
    assert!((b.change_24h().unwrap() - 1.0).abs() < 1e-9, "{b:?}");
    let snap = watchfloor::snapshot::build(&s.fleet, "test", now);
    assert_eq!(snap.accounts[0].daily_cost.as_ref().map(Vec::len), Some(7));
    assert_eq!(snap.accounts[0].cost_anomalies.len(), 1);
    assert_eq!(snap.accounts[0].burn_change_24h, Some(1.0));
    // Once per account (not per region), in Cost Explorer's home region.
    let ce: Vec<serde_json::Value> = emu
        .requests()
        .into_iter()
        .filter(|r| r["service"] == "ce")
        .collect();
    let actions: Vec<&str> = ce.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["GetCostAndUsage", "GetAnomalies"]);
    assert!(ce.iter().all(|r| r["region"] == "us-east-1"));
}
