//! The AWS source against a real AWS API emulator (moto + tests/support/emulator) over HTTP,
//! with the real SDK: several accounts (AssumeRole into other account ids), two regions,
//! several groups and a second ENI, world-open rules of every shape, CPU metrics, findings
//! (one archived), paging, a role that cannot be assumed, throttling, and an outage.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use support::seed::{assume, run, sdk, seed};
use support::{Emulator, set_test_credentials};
use tokio::sync::mpsc;
use watchfloor::app::{Msg, State, update};
use watchfloor::aws::TerminalPrompt;
use watchfloor::config::Config;
use watchfloor::feed::{Data, Report};
use watchfloor::keymap::Keymap;
use watchfloor::source::aws;

const MAIN: &str = "123456789012";
const PROD: &str = "222222222222";
const BROKEN: &str = "333333333333";

fn config(emu: &Emulator) -> Config {
    let src = format!(
        r#"
[settings]
request_timeout_secs = 20

[[account]]
alias = "main"
regions = ["us-east-1", "eu-west-1"]
endpoint_url = "{url}"

[[account]]
alias = "prod"
role_arn = "arn:aws:iam::{PROD}:role/watchfloor-read"
external_id = "wf-test"
regions = ["us-east-1"]
endpoint_url = "{url}"

[[account]]
alias = "broken"
role_arn = "arn:aws:iam::{BROKEN}:role/denied"
regions = ["us-east-1"]
endpoint_url = "{url}"
"#,
        url = emu.url()
    );
    Config::parse(std::path::Path::new("test-config.toml"), &src).expect("valid test config")
}

fn apply(updates: Vec<Report>) -> State {
    let mut s = State::new("aws", Keymap::default_map(), Utc::now());
    for u in updates {
        update(&mut s, Msg::Feed(u));
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_fleet_across_accounts_and_regions() {
    let emu = Emulator::start();
    set_test_credentials();
    let main_use1 = seed(&emu, MAIN, "us-east-1", None).await;
    let main_euw1 = seed(&emu, MAIN, "eu-west-1", None).await;
    let prod_creds = assume(&emu, PROD).await;
    let prod_use1 = seed(&emu, PROD, "us-east-1", Some(prod_creds)).await;
    emu.post(
        "/_watchfloor/sts/deny-role",
        &json!({"role_arn": format!("arn:aws:iam::{BROKEN}:role/denied")}),
    );

    let updates =
        aws::poll_once(&config(&emu), Arc::new(TerminalPrompt), &Default::default()).await;
    let state = apply(updates);
    let snap = watchfloor::snapshot::build(&state.fleet, "aws", Utc::now());
    let doc = serde_json::to_value(&snap).unwrap();

    // Accounts: real ids from STS; the denied one reported, the others unaffected.
    let acct = |alias: &str| {
        doc["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["alias"] == alias)
            .cloned()
            .unwrap()
    };
    assert_eq!(acct("main")["account_id"], MAIN);
    assert_eq!(acct("prod")["account_id"], PROD);
    let main = acct("main");
    let main_regions: Vec<&str> = main["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(main_regions, vec!["ok", "ok"], "{doc:#}");
    assert_eq!(acct("prod")["regions"][0]["status"], "ok");
    let broken = &acct("broken")["regions"][0];
    assert_eq!(broken["status"], "error");
    assert!(
        broken["error"].as_str().unwrap().contains("AccessDenied"),
        "{broken}"
    );

    let inst = |id: &str| {
        doc["instances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["instance_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    let ports = |id: &str| -> Vec<String> {
        inst(id)["open_ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{}:{}-{}",
                    p["protocol"].as_str().unwrap(),
                    p["from_port"],
                    p["to_port"]
                )
            })
            .collect()
    };
    for (s, account, region) in [
        (&main_use1, MAIN, "us-east-1"),
        (&main_euw1, MAIN, "eu-west-1"),
        (&prod_use1, PROD, "us-east-1"),
    ] {
        let e = inst(&s.exposed);
        assert_eq!(e["account_id"], account);
        assert_eq!(e["region"], region);
        assert_eq!(e["name"], "exposed");
        // 22 from the primary ENI's group, 8000-8100 and 53/udp from the second ENI's group.
        assert_eq!(
            ports(&s.exposed),
            vec!["tcp:22-22", "tcp:8000-8100", "udp:53-53"]
        );
        assert_eq!(ports(&s.wide_open), vec!["all:null-null"]);
        assert!(
            ports(&s.private).is_empty(),
            "group-to-group and 10/8 are not exposure"
        );
        assert_eq!(e["cpu_percent"], 97.5);
        assert_eq!(inst(&s.wide_open)["cpu_percent"], 12.0);
        assert!(inst(&s.private)["cpu_percent"].is_null());
        let kinds: Vec<&str> = e["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            vec![
                "CryptoCurrency:EC2/BitcoinTool.B!DNS",
                "UnauthorizedAccess:EC2/SSHBruteForce"
            ]
        );
        assert!(
            inst(&s.wide_open)["findings"]
                .as_array()
                .unwrap()
                .is_empty(),
            "archived finding must not show"
        );
    }
    // Ranked: the exposed, pinned instances with findings come first.
    let top: Vec<&str> = doc["instances"].as_array().unwrap()[..3]
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(top, vec!["exposed", "exposed", "exposed"]);
    assert_eq!(doc["instances"].as_array().unwrap().len(), 9);

    // The second ENI is really there, with only its own group.
    let e = state
        .fleet
        .rows
        .iter()
        .find(|r| r.id() == main_use1.exposed)
        .unwrap();
    assert_eq!(e.instance().unwrap().interfaces.len(), 2);
    assert_eq!(e.instance().unwrap().interfaces[1].group_ids.len(), 1);

    // Requests went to the right accounts, and the AssumeRole carried the external id.
    let reqs = emu.requests();
    assert!(
        reqs.iter()
            .any(|r| r["action"] == "DescribeInstances" && r["account_id"] == PROD)
    );
    assert!(reqs.iter().any(|r| r["action"] == "GetMetricData"
        && r["account_id"] == MAIN
        && r["region"] == "eu-west-1"));
    assert!(
        !reqs
            .iter()
            .any(|r| r["account_id"] == BROKEN && r["action"] == "DescribeInstances")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_command_prints_json_and_exits_2_when_an_account_fails() {
    let emu = Emulator::start();
    set_test_credentials();
    let s = seed(&emu, MAIN, "us-east-1", None).await;
    emu.post(
        "/_watchfloor/sts/deny-role",
        &json!({"role_arn": format!("arn:aws:iam::{BROKEN}:role/denied")}),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[[account]]\nalias = \"main\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{u}\"\n\n\
             [[account]]\nalias = \"broken\"\nrole_arn = \"arn:aws:iam::{BROKEN}:role/denied\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{u}\"\n",
            u = emu.url()
        ),
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args([
            "snapshot",
            "--config",
            path.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert!(
        doc["instances"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["instance_id"] == s.exposed.as_str())
    );

    // Without the broken account: exit 0, CSV.
    std::fs::write(
        &path,
        format!(
            "[[account]]\nalias = \"main\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\n",
            emu.url()
        ),
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args([
            "snapshot",
            "--config",
            path.to_str().unwrap(),
            "--format",
            "csv",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().count(), 4, "header + 3 instances:\n{csv}");
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .contains("tcp:22 tcp:8000-8100 udp:53"),
        "{csv}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_calls_page_through_every_reservation() {
    let emu = Emulator::start();
    let cfg = sdk(&emu, "us-east-1", None).await;
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(run(&ec2, &format!("n{i}"), &[]).await);
    }
    emu.http("DELETE", "/_watchfloor/requests", "");
    let inv = aws::ec2::poll_paged(&ec2, 5).await.unwrap();
    assert_eq!(inv.reservations, 12);
    let mut got: Vec<String> = inv
        .instances
        .iter()
        .map(|i| i.instance_id.clone())
        .collect();
    got.sort();
    ids.sort();
    assert_eq!(got, ids);
    let pages = emu
        .requests()
        .iter()
        .filter(|r| r["action"] == "DescribeInstances")
        .count();
    assert_eq!(pages, 3, "12 reservations at 5 a page");
    assert_eq!(
        inv.calls as usize,
        pages
            + emu
                .requests()
                .iter()
                .filter(|r| r["action"] != "DescribeInstances")
                .count()
    );
}

/// Waits for an update matching `pred`, up to `secs`.
async fn wait_for(
    rx: &mut mpsc::Receiver<Report>,
    secs: u64,
    what: &str,
    pred: impl Fn(&Report) -> bool,
) -> Report {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(u)) if pred(&u) => return u,
            Ok(Some(other)) => {
                if std::env::var_os("WF_TEST_TRACE").is_some() {
                    eprintln!(
                        "skipped while waiting for {what}: {:?}",
                        other_summary(&other)
                    );
                }
            }
            Ok(None) => panic!("feeds stopped while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

fn fast(mut c: Config) -> Config {
    c.settings.ec2_interval_secs = 1;
    c.settings.cpu_interval_secs = 1;
    c.settings.findings_interval_secs = 1;
    c.settings.request_timeout_secs = 3;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_backs_off_and_recovers_while_other_feeds_go_on() {
    let emu = Emulator::start();
    set_test_credentials();
    seed(&emu, MAIN, "us-east-1", None).await;
    let mut c = fast(config(&emu));
    c.accounts.truncate(1);
    // One scope, so the injected faults are not shared with another region's poller.
    c.accounts[0].regions = watchfloor::config::Regions::List(vec!["us-east-1".into()]);
    // Throttle every DescribeInstances attempt of the next poll (the SDK tries 3 times).
    emu.post(
        "/_watchfloor/faults",
        &json!({"service": "ec2", "action": "DescribeInstances", "code": "RequestLimitExceeded", "status": 503, "count": 3}),
    );
    let (tx, mut rx) = mpsc::channel(1024);
    aws::spawn(c, Arc::new(TerminalPrompt), tx, Default::default());
    let failed = wait_for(&mut rx, 60, "a throttled EC2 poll", |u| {
        matches!(u, Report::Failed { feed: "ec2", .. })
    })
    .await;
    let Report::Failed { message, .. } = failed else {
        unreachable!()
    };
    assert!(
        message.contains("RequestLimitExceeded") && message.contains("backing off"),
        "{message}"
    );
    // Findings keep arriving meanwhile (they do not depend on EC2).
    wait_for(&mut rx, 30, "findings despite EC2 throttling", |u| {
        matches!(
            u,
            Report::Data {
                data: Data::Findings { .. },
                ..
            }
        )
    })
    .await;
    // And EC2 recovers by itself.
    let ok = wait_for(&mut rx, 60, "EC2 to recover", |u| {
        matches!(
            u,
            Report::Data {
                data: Data::Inventory { .. },
                ..
            }
        )
    })
    .await;
    let Report::Data {
        data: Data::Inventory { instances, .. },
        ..
    } = ok
    else {
        unreachable!()
    };
    assert_eq!(instances.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_outage_is_reported_and_recovered_without_panic() {
    let mut emu = Emulator::start();
    set_test_credentials();
    let mut c = fast(config(&emu));
    c.accounts.truncate(1);
    let (tx, mut rx) = mpsc::channel(1024);
    aws::spawn(c, Arc::new(TerminalPrompt), tx, Default::default());
    wait_for(&mut rx, 60, "first EC2 inventory", |u| {
        matches!(
            u,
            Report::Data {
                data: Data::Inventory { .. },
                ..
            }
        )
    })
    .await;
    let port = emu.port;
    emu.kill();
    let failed = wait_for(&mut rx, 60, "the outage to be reported", |u| {
        matches!(u, Report::Failed { feed: "ec2", .. })
    })
    .await;
    let Report::Failed { message, .. } = failed else {
        unreachable!()
    };
    // Whichever EC2 call was in flight names itself, and says why in plain words.
    assert!(message.starts_with("Describe"), "{message}");
    // Killed between calls: connection refused; killed mid-call: the request times out.
    assert!(
        (message.contains("Connection refused") || message.contains("timed out"))
            && !message.contains("DispatchFailure {"),
        "{message}"
    );
    // The emulator comes back on the same port: the feed recovers by itself.
    let _emu2 = Emulator::start_on(port);
    wait_for(&mut rx, 90, "EC2 to recover after the outage", |u| {
        matches!(
            u,
            Report::Data {
                data: Data::Inventory { .. },
                ..
            }
        )
    })
    .await;
    wait_for(&mut rx, 60, "findings to recover", |u| {
        matches!(
            u,
            Report::Data {
                data: Data::Findings { .. },
                ..
            }
        )
    })
    .await;
}

/// Short description of an update for test traces.
fn other_summary(u: &Report) -> String {
    match u {
        Report::Failed {
            scope,
            feed,
            message,
            ..
        } => format!(
            "Failed {}/{} {:?}: {message}",
            scope.account_id, scope.region, feed
        ),
        Report::Data {
            data: Data::Inventory {
                scope, instances, ..
            },
            ..
        } => format!(
            "Ec2 {}/{} {}",
            scope.account_id,
            scope.region,
            instances.len()
        ),
        other => format!("{:?}", std::mem::discriminant(other)),
    }
}

/// Answers MFA prompts with a fixed code and counts them.
struct ScriptedMfa(std::sync::atomic::AtomicUsize);

impl watchfloor::aws::MfaPrompt for ScriptedMfa {
    fn code<'a>(
        &'a self,
        _alias: &'a str,
        _serial: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<String, String>> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async { Ok("123456".to_string()) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mfa_role_is_assumed_with_the_typed_code() {
    let emu = Emulator::start();
    set_test_credentials();
    let creds = assume(&emu, PROD).await;
    let s = seed(&emu, PROD, "us-east-1", Some(creds)).await;
    let src = format!(
        "[[account]]\nalias = \"mfa\"\nrole_arn = \"arn:aws:iam::{PROD}:role/needs-mfa\"\n\
         mfa_serial = \"arn:aws:iam::{MAIN}:mfa/alice\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\n",
        emu.url()
    );
    let config = Config::parse(std::path::Path::new("mfa.toml"), &src).unwrap();
    emu.http("DELETE", "/_watchfloor/requests", "");
    let prompt = Arc::new(ScriptedMfa(Default::default()));
    let state = apply(aws::poll_once(&config, prompt.clone(), &Default::default()).await);
    assert_eq!(
        prompt.0.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "asked once, then cached"
    );
    assert!(state.fleet.rows.iter().any(|r| r.id() == s.exposed));
    assert_eq!(state.fleet.scopes[0].scope.account_id, PROD);
    let reqs = emu.requests();
    assert_eq!(
        reqs.iter().filter(|r| r["action"] == "AssumeRole").count(),
        1
    );
}

#[test]
fn no_credentials_is_one_clear_line() {
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["snapshot"])
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // Never reach for the instance metadata service from a test.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.starts_with("watchfloor: no AWS credentials found"),
        "{err}"
    );
    assert!(
        err.contains("watchfloor demo") && err.contains("docs/configuration.md"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_all_lists_the_enabled_regions() {
    let emu = Emulator::start();
    let cfg = sdk(&emu, "us-east-1", None).await;
    let regions = watchfloor::aws::enabled_regions(&aws_sdk_ec2::Client::new(&cfg))
        .await
        .unwrap();
    assert!(regions.len() > 10, "{regions:?}");
    for r in ["us-east-1", "eu-west-1", "ap-south-1"] {
        assert!(
            regions.iter().any(|x| x == r),
            "{r} missing from {regions:?}"
        );
    }
    assert!(
        regions.windows(2).all(|w| w[0] < w[1]),
        "sorted, no duplicates"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_that_failed_to_connect_is_retried() {
    let emu = Emulator::start();
    set_test_credentials();
    let role = format!("arn:aws:iam::{BROKEN}:role/denied");
    emu.post("/_watchfloor/sts/deny-role", &json!({"role_arn": role}));
    let mut c = fast(config(&emu));
    c.accounts.retain(|a| a.alias == "broken");
    let (tx, mut rx) = mpsc::channel(1024);
    aws::spawn(c, Arc::new(TerminalPrompt), tx, Default::default());
    let failed = wait_for(&mut rx, 60, "the denied account's error", |u| {
        matches!(u, Report::Failed { .. })
    })
    .await;
    let Report::Failed { message, .. } = failed else {
        unreachable!()
    };
    assert!(
        message.contains("AccessDenied") && message.contains("retry in"),
        "{message}"
    );
    // The role becomes assumable: the account connects and polls by itself.
    emu.http(
        "DELETE",
        "/_watchfloor/sts/deny-role",
        &json!({"role_arn": role}).to_string(),
    );
    let ok = wait_for(&mut rx, 60, "the account to connect and report EC2", |u| {
        matches!(
            u,
            Report::Data {
                data: Data::Inventory { .. },
                ..
            }
        )
    })
    .await;
    let Report::Data {
        data: Data::Inventory { scope, .. },
        ..
    } = ok
    else {
        unreachable!()
    };
    assert_eq!(scope.account_id, BROKEN);
}

/// Declines every MFA prompt and counts them. Its reason is worded unlike watchfloor's own, so
/// the test shows that the error's kind, not its text, stops the retries.
struct DecliningMfa(std::sync::atomic::AtomicUsize);

impl watchfloor::aws::MfaPrompt for DecliningMfa {
    fn code<'a>(
        &'a self,
        alias: &'a str,
        _serial: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<String, String>> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move { Err(format!("operator pressed esc for `{alias}`")) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_mfa_prompt_is_not_asked_again() {
    let emu = Emulator::start();
    set_test_credentials();
    let src = format!(
        "[[account]]\nalias = \"mfa\"\nrole_arn = \"arn:aws:iam::{PROD}:role/needs-mfa\"\n\
         mfa_serial = \"arn:aws:iam::{MAIN}:mfa/alice\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\n",
        emu.url()
    );
    let config = fast(Config::parse(std::path::Path::new("mfa.toml"), &src).unwrap());
    let prompt = Arc::new(DecliningMfa(Default::default()));
    let (tx, mut rx) = mpsc::channel(1024);
    aws::spawn(config, prompt.clone(), tx, Default::default());
    let failed = wait_for(&mut rx, 30, "the declined account's error", |u| {
        matches!(u, Report::Failed { .. })
    })
    .await;
    let Report::Failed { message, .. } = failed else {
        unreachable!()
    };
    assert!(
        message.contains("operator pressed esc") && message.contains("not retried"),
        "{message}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        prompt.0.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "asked once, not on every retry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mfa_session_that_would_expire_during_a_run_is_renewed_before_it() {
    let emu = Emulator::start();
    set_test_credentials();
    let src = format!(
        "[[account]]\nalias = \"mfa\"\nrole_arn = \"arn:aws:iam::{PROD}:role/needs-mfa\"\n\
         mfa_serial = \"arn:aws:iam::{MAIN}:mfa/alice\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\n",
        emu.url()
    );
    let config = Config::parse(std::path::Path::new("mfa.toml"), &src).unwrap();
    let prompt = Arc::new(ScriptedMfa(Default::default()));
    let acct =
        watchfloor::aws::creds::connect(&config.accounts[0], &config.settings, prompt.clone())
            .await
            .unwrap();
    let asked = || prompt.0.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(asked(), 1, "asked once to connect");
    // The emulator's sessions last an hour: a run needing 30 minutes goes ahead without a prompt.
    acct.ensure_valid_for(std::time::Duration::from_secs(30 * 60))
        .await
        .unwrap();
    assert_eq!(asked(), 1);
    // A run that could outlast the session renews it first (the code is asked now, outside any
    // request and its timeout), and the renewed session is what the clients then use.
    // (The emulator's sessions last exactly an hour: once a few seconds of this one are gone,
    // a run needing 3597 s more than it has left, and a new session covers it.)
    emu.http("DELETE", "/_watchfloor/requests", "");
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    acct.ensure_valid_for(std::time::Duration::from_secs(3597))
        .await
        .unwrap();
    assert_eq!(asked(), 2);
    // A run longer than any session can be is refused before it starts, saying why.
    let err = acct
        .ensure_valid_for(std::time::Duration::from_secs(2 * 3600))
        .await
        .unwrap_err();
    assert!(
        err.message.contains("before the action could finish"),
        "{}",
        err.message
    );
    let reqs = emu.requests();
    assert_eq!(
        reqs.iter().filter(|r| r["action"] == "AssumeRole").count(),
        2,
        "a new session each time one was too short (the refused run tried too)"
    );
    let who = aws_sdk_sts::Client::new(&acct.sdk)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(who.account(), Some(PROD));
}
