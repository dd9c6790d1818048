//! Organization mode against the AWS emulator (moto's Organizations, our GuardDuty members and
//! CloudWatch AccountId extensions), with the real SDK: members discovered by ListAccounts, one
//! excluded, one whose role cannot be assumed, one added and one removed while running; findings
//! through the GuardDuty delegated administrator and CPU through the monitoring account, checked
//! with the emulator's request record.

mod support;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_organizations::Client as Orgs;
use chrono::Utc;
use serde_json::json;
use support::seed::{assume, run, sdk, seed};
use support::{Emulator, set_test_credentials};
use tokio::sync::mpsc;
use watchfloor::app::{Msg, State, update};
use watchfloor::aws::TerminalPrompt;
use watchfloor::config::Config;
use watchfloor::feed::Report;
use watchfloor::keymap::Keymap;
use watchfloor::source::aws;

/// moto's default account, the organization's management account here.
const MGMT: &str = "123456789012";
const ROLE: &str = "watchfloor-read";

fn config(emu: &Emulator, extra: &str) -> Config {
    let src = format!(
        r#"
[settings]
request_timeout_secs = 10

[organization]
role_name = "{ROLE}"
regions = ["us-east-1"]
endpoint_url = "{url}"
{extra}
"#,
        url = emu.url()
    );
    let mut c = Config::parse(std::path::Path::new("org-config.toml"), &src)
        .unwrap_or_else(|e| panic!("{e}\n{src}"));
    c.settings.ec2_interval_secs = 1;
    c.settings.cpu_interval_secs = 1;
    c.settings.findings_interval_secs = 1;
    c.organization.as_mut().unwrap().discover_interval_secs = 2;
    c
}

async fn orgs(emu: &Emulator) -> Orgs {
    Orgs::new(&sdk(emu, "us-east-1", None).await)
}

/// Creates the organization (managed by [`MGMT`]) and one account per name; their ids.
async fn organization(emu: &Emulator, names: &[&str]) -> Vec<String> {
    let o = orgs(emu).await;
    o.create_organization()
        .send()
        .await
        .expect("CreateOrganization");
    let mut ids = Vec::new();
    for n in names {
        ids.push(create_account(&o, n).await);
    }
    ids
}

async fn create_account(o: &Orgs, name: &str) -> String {
    let st = o
        .create_account()
        .account_name(name)
        .email(format!("{}@example.com", name.replace(' ', "")))
        .send()
        .await
        .expect("CreateAccount");
    st.create_account_status()
        .and_then(|s| s.account_id())
        .expect("moto creates accounts at once")
        .to_string()
}

/// Runs the source, applying every report to a console state, until `done` holds.
async fn drive(
    rx: &mut mpsc::Receiver<Report>,
    state: &mut State,
    secs: u64,
    what: &str,
    done: impl Fn(&State) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !done(state) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(r)) => {
                update(state, Msg::Feed(r));
            }
            Ok(None) => panic!("the source stopped while waiting for {what}"),
            Err(_) => panic!(
                "timed out waiting for {what}; accounts {:?}; org {:?}",
                state
                    .fleet
                    .accounts
                    .iter()
                    .map(|a| (&a.alias, &a.account_id, a.verified))
                    .collect::<Vec<_>>(),
                state.fleet.org
            ),
        }
    }
}

fn has_row(s: &State, account: &str, instance: &str) -> bool {
    s.fleet
        .rows
        .iter()
        .any(|r| r.id() == instance && s.fleet.scopes[r.scope].scope.account_id == account)
}

fn alias_of(s: &State, account: &str) -> Option<String> {
    s.fleet.account(account).map(|a| a.alias.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_are_discovered_excluded_added_and_removed_while_running() {
    let emu = Emulator::start();
    set_test_credentials();
    let ids = organization(&emu, &["payments prod", "dev", "legacy", "locked"]).await;
    let [payments, dev, legacy, locked] = [&ids[0], &ids[1], &ids[2], &ids[3]];
    emu.post(
        "/_watchfloor/sts/deny-role",
        &json!({"role_arn": format!("arn:aws:iam::{locked}:role/{ROLE}")}),
    );
    let mut instances = Vec::new();
    for id in [payments, dev, legacy] {
        let c = sdk(&emu, "us-east-1", Some(assume(&emu, id).await)).await;
        instances.push(run(&aws_sdk_ec2::Client::new(&c), "box", &[]).await);
    }

    // `legacy` sits in an OU nested in the excluded one.
    let o = orgs(&emu).await;
    let root = o.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_string();
    let ou = |parent: String, name: &'static str| {
        let o = o.clone();
        async move {
            o.create_organizational_unit()
                .parent_id(parent)
                .name(name)
                .send()
                .await
                .unwrap()
                .organizational_unit()
                .and_then(|u| u.id())
                .unwrap()
                .to_string()
        }
    };
    let retired = ou(root.clone(), "retired").await;
    let deep = ou(retired.clone(), "deep").await;
    o.move_account()
        .account_id(legacy)
        .source_parent_id(&root)
        .destination_parent_id(&deep)
        .send()
        .await
        .unwrap();
    let c = config(&emu, &format!("exclude = [\"{retired}\"]"));
    emu.http("DELETE", "/_watchfloor/requests", "");
    let (tx, mut rx) = mpsc::channel(4096);
    aws::spawn(c, Arc::new(TerminalPrompt), tx, Default::default());
    let mut s = State::new("aws", Keymap::default_map(), Utc::now());
    drive(
        &mut rx,
        &mut s,
        90,
        "both members' instances and the locked account's error",
        |s| {
            has_row(s, payments, &instances[0])
                && has_row(s, dev, &instances[1])
                && s.fleet.account(locked).is_some_and(|a| !a.verified)
        },
    )
    .await;
    // Aliases come from the account names and the ids' last digits; the management account is
    // a member too.
    let last4 = |id: &str| id[8..].to_string();
    assert_eq!(
        alias_of(&s, payments),
        Some(format!("payments-prod-{}", last4(payments)))
    );
    assert_eq!(alias_of(&s, dev), Some(format!("dev-{}", last4(dev))));
    assert!(s.fleet.account(MGMT).is_some_and(|a| a.verified));
    // Excluded: never announced, its instance never shown, its role never assumed.
    assert!(s.fleet.account(legacy).is_none());
    assert!(!s.fleet.rows.iter().any(|r| r.id() == instances[2]));
    // The locked account is shown with why, and the rest arrived anyway.
    let locked_scope = s
        .fleet
        .scopes
        .iter()
        .find(|sd| sd.scope.account_id == *locked)
        .expect("the locked account has a tile");
    let health = format!("{:?}", locked_scope.health(Utc::now()));
    assert!(
        health.contains("cannot assume") && health.contains(ROLE),
        "{health}"
    );
    let org = s.fleet.org.clone().expect("discovery reported");
    assert_eq!((org.active, org.excluded, org.error), (5, 1, None));
    assert!(
        !emu.requests()
            .iter()
            .any(|r| r["account_id"] == legacy.as_str()),
        "nothing is asked of the excluded account"
    );

    // A new account is found by the next discovery, without a restart.
    let fresh = create_account(&o, "new-team").await;
    let c = sdk(&emu, "us-east-1", Some(assume(&emu, &fresh).await)).await;
    let fresh_box = run(&aws_sdk_ec2::Client::new(&c), "fresh", &[]).await;
    drive(&mut rx, &mut s, 60, "the new account's instance", |s| {
        has_row(s, &fresh, &fresh_box)
    })
    .await;

    // An account that leaves the organization is first shown as gone (not polled, triage
    // refused), then leaves the console with its rows at the next discovery.
    o.remove_account_from_organization()
        .account_id(dev)
        .send()
        .await
        .expect("RemoveAccountFromOrganization");
    drive(
        &mut rx,
        &mut s,
        60,
        "the removed account shown as gone",
        |s| {
            s.fleet.account(dev).is_some_and(|a| !a.verified)
                && s.fleet.scopes.iter().any(|sd| {
                    sd.scope.account_id == *dev
                        && format!("{:?}", sd.health(Utc::now())).contains("left the organization")
                })
        },
    )
    .await;
    assert!(
        has_row(&s, dev, &instances[1]),
        "its rows stay until it leaves"
    );
    drive(&mut rx, &mut s, 60, "the removed account to leave", |s| {
        s.fleet.account(dev).is_none() && !has_row(s, dev, &instances[1])
    })
    .await;
    assert!(has_row(&s, payments, &instances[0]), "the others stay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_come_from_the_delegated_admin_and_cpu_from_the_monitoring_account() {
    let emu = Emulator::start();
    set_test_credentials();
    let ids = organization(&emu, &["security", "workload", "forgotten"]).await;
    let [security, workload, forgotten] = [&ids[0], &ids[1], &ids[2]];
    // GuardDuty: detectors everywhere; the administrator has `workload` as a member, not
    // `forgotten` (a blind spot) nor the management account.
    let mut detectors = Vec::new();
    for id in [security, workload, forgotten] {
        let c = sdk(&emu, "us-east-1", Some(assume(&emu, id).await)).await;
        let gd = aws_sdk_guardduty::Client::new(&c);
        let d = gd.create_detector().enable(true).send().await.unwrap();
        detectors.push(d.detector_id().unwrap().to_string());
    }
    let admin = aws_sdk_guardduty::Client::new(
        &sdk(&emu, "us-east-1", Some(assume(&emu, security).await)).await,
    );
    admin
        .create_members()
        .detector_id(&detectors[0])
        .account_details(
            aws_sdk_guardduty::types::AccountDetail::builder()
                .account_id(workload)
                .email("workload@example.com")
                .build(),
        )
        .send()
        .await
        .expect("CreateMembers");
    // The workload: pinned CPU and two live findings on `exposed` (in its own account).
    let w = seed(
        &emu,
        workload,
        "us-east-1",
        Some(assume(&emu, workload).await),
    )
    .await;

    let c = config(
        &emu,
        &format!("guardduty_admin = \"{security}\"\nmonitoring_account = \"{security}\""),
    );
    emu.http("DELETE", "/_watchfloor/requests", "");
    let (tx, mut rx) = mpsc::channel(4096);
    aws::spawn(c, Arc::new(TerminalPrompt), tx, Default::default());
    let mut s = State::new("aws", Keymap::default_map(), Utc::now());
    let row_of = |s: &State, id: &str| {
        s.fleet
            .rows
            .iter()
            .find(|r| r.id() == id && s.fleet.scopes[r.scope].scope.account_id == *workload)
            .cloned()
    };
    drive(
        &mut rx,
        &mut s,
        120,
        "the workload's findings and CPU",
        |s| {
            row_of(s, &w.exposed).is_some_and(|r| r.finding_count == 2 && r.cpu_now.is_some())
                && !s.fleet.blind_spots.is_empty()
        },
    )
    .await;
    let exposed = row_of(&s, &w.exposed).unwrap();
    assert!(exposed.cpu_now.unwrap() > 90.0, "{:?}", exposed.cpu_now);
    assert!(exposed.saturated);
    // The finding archived in the member's account stays out.
    assert_eq!(row_of(&s, &w.wide_open).unwrap().finding_count, 0);
    // Blind spots: members the administrator does not watch (the management account and
    // `forgotten`), never the administrator itself nor `workload`.
    let blind: Vec<&str> = s.fleet.blind_spots["us-east-1"]
        .iter()
        .map(|u| u.account_id.as_str())
        .collect();
    let mut want = vec![MGMT, forgotten.as_str()];
    want.sort();
    let mut got = blind.clone();
    got.sort();
    assert_eq!(got, want);

    // Who was asked what: GuardDuty findings and CloudWatch only in the aggregating account;
    // EC2 in every member.
    let reqs = emu.requests();
    let asked = |service: &str, action: &str, account: &str| {
        reqs.iter()
            .any(|r| r["service"] == service && r["action"] == action && r["account_id"] == account)
    };
    for member in [MGMT, workload.as_str(), forgotten.as_str()] {
        assert!(
            !asked("guardduty", "ListFindings", member),
            "{member} polled for findings"
        );
        assert!(
            !asked("guardduty", "ListDetectors", member),
            "{member} asked for detectors"
        );
        assert!(
            !asked("monitoring", "GetMetricData", member),
            "{member} asked for CPU"
        );
        assert!(
            asked("ec2", "DescribeInstances", member),
            "{member} not inventoried"
        );
    }
    // Each member's role is assumed once for all its clients (not once per client).
    let assumed = reqs
        .iter()
        .filter(|r| r["action"] == "AssumeRole" && r["account_id"] == MGMT)
        .count();
    assert!(assumed <= 4, "{assumed} AssumeRole calls for 4 accounts");
    assert!(asked("guardduty", "ListFindings", security));
    assert!(asked("guardduty", "ListMembers", security));
    assert!(asked("monitoring", "GetMetricData", security));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_polls_the_organization_once_and_prints_timings() {
    let emu = Emulator::start();
    set_test_credentials();
    let ids = organization(&emu, &["security", "workload"]).await;
    let [security, workload] = [&ids[0], &ids[1]];
    let w = seed(
        &emu,
        workload,
        "us-east-1",
        Some(assume(&emu, workload).await),
    )
    .await;
    let extra = format!("guardduty_admin = \"{security}\"\nmonitoring_account = \"{security}\"");

    let (reports, timings) = aws::poll_once_timed(
        &config(&emu, &extra),
        Arc::new(TerminalPrompt),
        &Default::default(),
    )
    .await;
    let mut s = State::new("aws", Keymap::default_map(), Utc::now());
    for r in reports {
        update(&mut s, Msg::Feed(r));
    }
    // One shot: the monitoring account's CPU feed ran after the members' inventories.
    let exposed = s
        .fleet
        .rows
        .iter()
        .find(|r| r.id() == w.exposed)
        .expect("the workload's instance");
    assert!(exposed.cpu_now.is_some_and(|c| c > 90.0));
    let served = |feed: &str| {
        timings
            .iter()
            .find(|t| t.feed == feed && t.serves > 0)
            .map(|t| (t.scope.account_id.clone(), t.serves))
    };
    // The administrator serves the two other members (the management account and `workload`).
    assert_eq!(served("findings"), Some((security.clone(), 2)));
    assert_eq!(served("cpu"), Some((security.clone(), 2)));
    assert!(timings.iter().any(|t| t.feed == "discovery" && t.ok));
    assert!(
        !timings
            .iter()
            .any(|t| t.feed == "findings" && t.scope.account_id == *workload),
        "no findings poll in a member"
    );

    // The same through the binary: JSON on stdout, the table on stderr.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        format!(
            "[organization]\nrole_name = \"{ROLE}\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\n{extra}\n",
            emu.url()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["snapshot", "--timings", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("(serves 2 accounts)"), "{stderr}");
    assert!(stderr.contains("\ntotal: "), "{stderr}");
    let snap: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(snap["accounts"].as_array().unwrap().len(), 3, "{snap}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_on_the_queue_refreshes_only_the_scope_it_names() {
    let emu = Emulator::start();
    set_test_credentials();
    let ids = organization(&emu, &["alpha", "beta"]).await;
    let [alpha, beta] = [&ids[0], &ids[1]];
    let ec2_of = |creds| {
        let emu = &emu;
        async move { aws_sdk_ec2::Client::new(&sdk(emu, "us-east-1", Some(creds)).await) }
    };
    let alpha_ec2 = ec2_of(assume(&emu, alpha).await).await;
    let beta_ec2 = ec2_of(assume(&emu, beta).await).await;
    let first = run(&alpha_ec2, "first", &[]).await;
    run(&beta_ec2, "quiet", &[]).await;
    // The queue an org-wide EventBridge rule feeds, in the management account.
    let sqs = aws_sdk_sqs::Client::new(&sdk(&emu, "us-east-1", None).await);
    let url = sqs
        .create_queue()
        .queue_name("watchfloor-events")
        .send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .unwrap()
        .to_string();

    let mut c = config(&emu, &format!("events_queue_url = \"{url}\""));
    // Full polls once an hour: only an event can bring the new instance in time.
    c.settings.ec2_interval_secs = 3600;
    let (tx, mut rx) = mpsc::channel(4096);
    aws::spawn(c, Arc::new(TerminalPrompt), tx, Default::default());
    let mut s = State::new("aws", Keymap::default_map(), Utc::now());
    drive(&mut rx, &mut s, 60, "the first inventories", |s| {
        has_row(s, alpha, &first) && s.fleet.account(beta).is_some_and(|a| a.verified)
    })
    .await;
    // Let the first polls settle, then watch only what the event causes.
    tokio::time::sleep(Duration::from_secs(6)).await;
    emu.http("DELETE", "/_watchfloor/requests", "");
    let launched = run(&alpha_ec2, "launched", &[]).await;
    let event = json!({
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": alpha,
        "time": Utc::now().to_rfc3339(),
        "region": "us-east-1",
        "resources": [format!("arn:aws:ec2:us-east-1:{alpha}:instance/{launched}")],
        "detail": {"instance-id": launched, "state": "running"}
    });
    sqs.send_message()
        .queue_url(&url)
        .message_body(event.to_string())
        .send()
        .await
        .expect("SendMessage");
    drive(
        &mut rx,
        &mut s,
        40,
        "the launched instance, through the event",
        |s| has_row(s, alpha, &launched),
    )
    .await;
    let events = s.fleet.events.clone().expect("the queue's status");
    assert_eq!((events.received, events.woke, events.error), (1, 1, None));
    let described: Vec<String> = emu
        .requests()
        .iter()
        .filter(|r| r["action"] == "DescribeInstances")
        .map(|r| r["account_id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(described.contains(alpha), "{described:?}");
    assert!(
        described.iter().all(|a| a == alpha),
        "only the named scope is refreshed: {described:?}"
    );
    // The message was consumed.
    let left = sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(0)
        .send()
        .await
        .unwrap();
    assert!(left.messages().is_empty());
}
