//! Triage against the AWS emulator with the real SDK: quarantine of an instance with two ENIs and
//! several groups, exact release, idempotence, resume after a crash at every step, stop with and
//! without DisableApiStop, dry-run allowed/denied, snapshots, read-only, audit records.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ec2::types::{AttributeBooleanValue, IpPermission, IpRange};
use serde_json::json;
use support::seed::{sdk, world_rule};
use support::triage::*;
use support::{Emulator, set_test_credentials};
use watchfloor::triage::{
    Action, AuditLog, Check, Ops, Phase, Runner, TAG_ORIGINAL, TAG_STATE, TriageError, Verdict,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantine_every_eni_then_release_exactly() {
    let (emu, ops, dir) = setup().await;
    let fx = fixture(&ops).await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();

    // Dry run first: allowed, nothing changed.
    emu.http("DELETE", "/_watchfloor/requests", "");
    let mut j = journal(&log);
    let mut r = Runner::new(&ops, &mut log, &mut j, target(&fx.instance), ctx("IR-42"));
    let checks = r.preview(&Action::Quarantine).await.unwrap().checks;
    assert!(!checks.is_empty());
    // Every interface's move is checked (the groups are not made yet: with their current
    // groups).
    assert!(
        checks.iter().any(|Check { what: op, .. }| op
            == "ModifyNetworkInterfaceAttribute (2 interface(s), with their current groups)"),
        "{checks:?}"
    );
    assert!(
        checks
            .iter()
            .all(|Check { verdict: v, .. }| matches!(v, Verdict::Allowed | Verdict::Unchecked(_))),
        "{checks:?}"
    );
    assert!(
        mutating(&emu).is_empty(),
        "a dry run changes nothing: {:?}",
        mutating(&emu)
    );

    let msg = act(&ops, &mut log, &fx.instance, Action::Quarantine, None)
        .await
        .unwrap();
    assert!(msg.contains("quarantined"), "{msg}");
    let f = ops.describe(&fx.instance).await.unwrap();
    let iso = ops
        .find_group(&fx.vpc, &format!("watchfloor-isolation-{}", fx.vpc))
        .await
        .unwrap()
        .unwrap();
    for (eni, groups) in &f.enis {
        assert_eq!(groups, &vec![iso.clone()], "{eni} isolated");
    }
    assert_eq!(f.tags[TAG_STATE], "isolated");
    assert_eq!(f.tags["watchfloor:case"], "IR-42");
    assert_eq!(
        f.originals(),
        fx.original,
        "every ENI's original groups recorded"
    );
    assert_eq!(f.termination_protection, Some(true));
    // Evidence survives: a shutdown from inside stops the box, the volumes outlive it.
    assert_eq!(f.shutdown_behavior.as_deref(), Some("stop"));
    assert!(
        f.volumes
            .iter()
            .all(|v| v.delete_on_termination == Some(false)),
        "{:?}",
        f.volumes
    );
    // Both recorded in the journal, before the change.
    {
        let j = journal(&log);
        let q = j.get(&target(&fx.instance).key()).unwrap();
        assert_eq!(q.shutdown_behavior.as_deref(), Some("terminate"));
        assert!(q.delete_on_termination.values().all(|d| *d), "{q:?}");
        assert!(q.isolated);
    }

    // The isolation group: only the examiner on 22 in, nothing out.
    let g = ops
        .ec2
        .describe_security_groups()
        .group_ids(&iso)
        .send()
        .await
        .unwrap();
    let g = &g.security_groups()[0];
    assert_eq!(g.ip_permissions().len(), 1);
    assert_eq!(g.ip_permissions()[0].from_port(), Some(22));
    assert_eq!(
        g.ip_permissions()[0].ip_ranges()[0].cidr_ip(),
        Some("203.0.113.7/32")
    );
    assert!(
        g.ip_permissions_egress().is_empty(),
        "default egress revoked: {:?}",
        g.ip_permissions_egress()
    );

    // Allow-all came first on every ENI, then isolation (the order that cuts untracked flows).
    let moves: Vec<String> = watchfloor::triage::AuditLog::read(log.path())
        .unwrap()
        .0
        .into_iter()
        .filter(|r| r.phase == Phase::Intent && r.step.starts_with("move "))
        .map(|r| r.step)
        .collect();
    assert_eq!(moves.len(), 4);
    assert!(moves[0].contains("allow-all") && moves[1].contains("allow-all"));
    assert!(moves[2].contains("isolation") && moves[3].contains("isolation"));

    // Twice is a no-op: no mutating call at all.
    emu.http("DELETE", "/_watchfloor/requests", "");
    let msg = act(&ops, &mut log, &fx.instance, Action::Quarantine, None)
        .await
        .unwrap();
    assert!(msg.contains("already quarantined"), "{msg}");
    assert!(mutating(&emu).is_empty(), "{:?}", mutating(&emu));

    // Release's preview checks the restores it will make, attributes included.
    {
        let mut j = journal(&log);
        let mut r = Runner::new(&ops, &mut log, &mut j, target(&fx.instance), ctx("IR-42"));
        let p = r.preview(&RELEASE).await.unwrap();
        let ops_checked: Vec<&str> = p
            .checks
            .iter()
            .map(|Check { what: op, .. }| op.as_str())
            .collect();
        assert!(
            ops_checked
                .contains(&"ModifyInstanceAttribute InstanceInitiatedShutdownBehavior=terminate")
                && ops_checked
                    .iter()
                    .any(|op| op.ends_with("DeleteOnTermination=true")),
            "{ops_checked:?}"
        );
        assert!(
            p.checks
                .iter()
                .all(|Check { verdict: v, .. }| *v == Verdict::Allowed),
            "{:?}",
            p.checks
        );
        assert!(!p.typed_confirmation, "the journal has the record");
    }
    // Release: exact original groups, tags gone.
    act(&ops, &mut log, &fx.instance, RELEASE, None)
        .await
        .unwrap();
    let f = ops.describe(&fx.instance).await.unwrap();
    let now: BTreeMap<String, Vec<String>> = f.enis.iter().cloned().collect();
    assert_eq!(now, fx.original);
    assert_eq!(
        f.shutdown_behavior.as_deref(),
        Some("terminate"),
        "restored"
    );
    assert!(
        f.volumes
            .iter()
            .all(|v| v.delete_on_termination == Some(true)),
        "restored: {:?}",
        f.volumes
    );
    assert!(journal(&log).get(&target(&fx.instance).key()).is_none());
    assert!(!f.tags.contains_key(TAG_STATE));
    assert!(!f.tags.keys().any(|k| k.starts_with(TAG_ORIGINAL)));
    let msg = act(&ops, &mut log, &fx.instance, RELEASE, None)
        .await
        .unwrap();
    assert!(
        msg.contains("not quarantined"),
        "release twice is a no-op: {msg}"
    );

    // Every mutating request was preceded by an intent record and followed by an outcome.
    let (recs, bad) = AuditLog::read(log.path()).unwrap();
    assert!(bad.is_empty());
    for (i, r) in recs.iter().enumerate() {
        if r.phase == Phase::Intent {
            let next = &recs[i + 1];
            assert!(
                next.phase == Phase::Outcome && next.step == r.step,
                "intent of `{}` not followed by its outcome: {next:?}",
                r.step
            );
        }
    }
    // Each run ends with its outcome in the log (what the console's operator would have seen).
    let results: Vec<&str> = recs
        .iter()
        .filter(|r| r.step == "result")
        .filter_map(|r| r.result.as_deref())
        .collect();
    assert_eq!(results.len(), 4, "{results:?}");
    assert!(results[0].starts_with("ok: ") && results[0].contains("quarantined"));
    assert!(
        recs.iter()
            .all(|r| r.case == "IR-42" && r.account_id == ACCOUNT && r.instance_id == fx.instance)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantine_resumes_after_a_crash_at_every_step() {
    let (emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let steps = [
        "mirror original groups",
        "termination protection on",
        "shutdown behaviour stop",
        "DeleteOnTermination=false",
        "create isolation group",
        "create allow-all group",
        "authorize",
        "to allow-all",
        "mirror state allow-all",
        "to isolation",
        "mirror state isolated",
    ];
    for step in steps {
        // Each case in a fresh VPC, so the group-creation steps happen again.
        let fx = fixture(&ops).await;
        let err = act(&ops, &mut log, &fx.instance, Action::Quarantine, Some(step))
            .await
            .unwrap_err();
        assert!(
            matches!(err, TriageError::Interrupted(ref s) if s.contains(step)),
            "{step}: {err}"
        );
        // Never half-isolated without a record of the originals: the journal has them from
        // before the first change.
        let j = journal(&log);
        let rec = j.get(&target(&fx.instance).key()).expect("journaled");
        assert_eq!(rec.enis, fx.original, "after {step}: originals journaled");
        // Running again finishes the job.
        act(&ops, &mut log, &fx.instance, Action::Quarantine, None)
            .await
            .unwrap_or_else(|e| panic!("resume after {step}: {e}"));
        let f = ops.describe(&fx.instance).await.unwrap();
        assert_isolated(&ops, &fx, &format!("after {step}")).await;
        assert_eq!(f.tags[TAG_STATE], "isolated");
        // A crash during release resumes too, and the originals come back exactly.
        let _ = act(&ops, &mut log, &fx.instance, RELEASE, Some("restore")).await;
        act(&ops, &mut log, &fx.instance, RELEASE, None)
            .await
            .unwrap();
        let back = groups_now(&ops, &fx.instance).await;
        assert_eq!(back, fx.original, "after {step}: released exactly");
    }
    drop(emu);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_with_and_without_stop_protection() {
    let (emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let cfg = sdk(&emu, "us-east-1", None).await;
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let a = support::seed::run(&ec2, "plain", &[]).await;
    let b = support::seed::run(&ec2, "protected", &[]).await;
    ec2.modify_instance_attribute()
        .instance_id(&b)
        .disable_api_stop(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    let stop = |clear| Action::Stop {
        force: false,
        hibernate: false,
        clear_stop_protection: clear,
    };

    act(&ops, &mut log, &a, stop(false), None).await.unwrap();
    let st = ops.describe(&a).await.unwrap().state.unwrap();
    assert!(
        matches!(
            st,
            watchfloor::model::InstanceState::Stopped | watchfloor::model::InstanceState::Stopping
        ),
        "{st:?}"
    );

    assert_eq!(ops.describe(&b).await.unwrap().stop_protection, Some(true));
    let err = act(&ops, &mut log, &b, stop(false), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TriageError::Refused(ref m) if m.contains("DisableApiStop")),
        "{err}"
    );
    assert_eq!(
        ops.describe(&b).await.unwrap().state,
        Some(watchfloor::model::InstanceState::Running)
    );
    act(&ops, &mut log, &b, stop(true), None).await.unwrap();
    let f = ops.describe(&b).await.unwrap();
    assert_eq!(f.stop_protection, Some(false));
    assert_ne!(f.state, Some(watchfloor::model::InstanceState::Running));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_reports_denied() {
    let (emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let cfg = sdk(&emu, "us-east-1", None).await;
    let a = support::seed::run(&aws_sdk_ec2::Client::new(&cfg), "x", &[]).await;
    emu.post(
        "/_watchfloor/faults",
        &json!({"service": "ec2", "action": "StopInstances", "code": "UnauthorizedOperation", "status": 403, "count": 1}),
    );
    let mut j = journal(&log);
    let mut r = Runner::new(&ops, &mut log, &mut j, target(&a), ctx("IR-1"));
    let checks = r
        .preview(&Action::Stop {
            force: false,
            hibernate: false,
            clear_stop_protection: false,
        })
        .await
        .unwrap()
        .checks;
    assert!(
        matches!(&checks[0].verdict, Verdict::Denied(m) if m.contains("UnauthorizedOperation")),
        "{checks:?}"
    );
    let (recs, _) = AuditLog::read(log.path()).unwrap();
    assert!(
        recs.iter()
            .any(|r| r.dry_run && r.result.as_deref().is_some_and(|x| x.starts_with("denied")))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_every_volume_tagged_with_the_case() {
    let (emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let cfg = sdk(&emu, "us-east-1", None).await;
    let a = support::seed::run(&aws_sdk_ec2::Client::new(&cfg), "evidence", &[]).await;
    let vols = ops.describe(&a).await.unwrap().volumes;
    assert!(!vols.is_empty(), "moto gives instances a root volume");
    let msg = act(&ops, &mut log, &a, Action::Snapshot, None)
        .await
        .unwrap();
    assert!(msg.contains("snapshot"), "{msg}");
    let snaps = ops
        .ec2
        .describe_snapshots()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:watchfloor:case")
                .values("IR-42")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(snaps.snapshots().len(), vols.len());
    for s in snaps.snapshots() {
        let tags: BTreeMap<&str, &str> = s
            .tags()
            .iter()
            .map(|t| (t.key().unwrap(), t.value().unwrap()))
            .collect();
        assert_eq!(tags["watchfloor:instance"], a);
        assert!(
            vols.iter()
                .any(|v| Some(v.volume_id.as_str()) == s.volume_id())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_triage_read_only_dry_run_and_confirmed() {
    let emu = Emulator::start();
    set_test_credentials();
    let cfg = sdk(&emu, "us-east-1", None).await;
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let web = world_rule(
        &ec2,
        "web",
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build(),
    )
    .await;
    let a = support::seed::run(&ec2, "victim", &[&web]).await;
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("config.toml");
    let audit = dir.path().join("audit.jsonl");
    std::fs::write(&conf, format!("[settings]\nquarantine_wait_secs = 0\n\n[[account]]\nalias = \"main\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\n", emu.url())).unwrap();
    let bin = env!("CARGO_BIN_EXE_watchfloor");
    let triage = |extra: &[&str]| {
        let mut c = std::process::Command::new(bin);
        c.args([
            "triage",
            "quarantine",
            "--account",
            "main",
            "--region",
            "us-east-1",
            "--instance",
            &a,
            "--case",
            "IR-9",
        ])
        .args([
            "--config",
            conf.to_str().unwrap(),
            "--audit-log",
            audit.to_str().unwrap(),
        ])
        .args(extra)
        .stdin(std::process::Stdio::null());
        c.output().unwrap()
    };

    // Read-only: refused before any client exists; the emulator sees nothing mutating.
    emu.http("DELETE", "/_watchfloor/requests", "");
    let out = triage(&["--read-only", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only mode"));
    assert!(
        emu.requests().is_empty(),
        "read-only made requests: {:?}",
        emu.requests()
    );

    // Dry run: plan and verdicts, nothing changed.
    let out = triage(&["--dry-run"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("QUARANTINE (dry run) on account main (123456789012) region us-east-1"),
        "{err}"
    );
    assert!(
        err.lines().any(
            |l| l.contains("dry run ModifyNetworkInterfaceAttribute (1 interface(s)")
                && l.ends_with(": allowed")
        ),
        "{err}"
    );
    assert!(
        err.contains("NAT gateways"),
        "the plan says what it cannot cut: {err}"
    );
    assert!(mutating(&emu).is_empty(), "{:?}", mutating(&emu));

    // Without --yes and no confirmation typed: nothing happens.
    let out = triage(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not confirmed"));
    assert!(mutating(&emu).is_empty());

    // --yes: done, audited, readable with `watchfloor audit`.
    let out = triage(&["--yes"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("quarantined"));
    let out = std::process::Command::new(bin)
        .args(["audit", "--audit-log", audit.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("case=IR-9")
            && text.contains("mirror original groups")
            && text.contains("← ok"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_scaling_member_goes_to_standby_first_and_back_on_release() {
    let (_emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let asg = &ops.autoscaling;
    asg.create_launch_configuration()
        .launch_configuration_name("lc")
        .image_id("ami-12c6146b")
        .instance_type("t3.micro")
        .send()
        .await
        .unwrap();
    asg.create_auto_scaling_group()
        .auto_scaling_group_name("miners-target")
        .launch_configuration_name("lc")
        .min_size(0)
        .max_size(2)
        .desired_capacity(1)
        .availability_zones("us-east-1a")
        .send()
        .await
        .unwrap();
    let group = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names("miners-target")
        .send()
        .await
        .unwrap();
    let instance = group.auto_scaling_groups()[0].instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    assert_eq!(
        ops.asg_membership(&instance).await.unwrap(),
        Some(("miners-target".to_string(), "InService".to_string()))
    );

    act(&ops, &mut log, &instance, Action::Quarantine, None)
        .await
        .unwrap();
    assert_eq!(
        ops.asg_membership(&instance).await.unwrap(),
        Some(("miners-target".to_string(), "Standby".to_string()))
    );
    let group = asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names("miners-target")
        .send()
        .await
        .unwrap();
    assert_eq!(
        group.auto_scaling_groups()[0].desired_capacity(),
        Some(0),
        "no replacement launched"
    );
    let f = ops.describe(&instance).await.unwrap();
    assert_eq!(f.tags[TAG_STATE], "isolated");
    assert_eq!(f.tags["watchfloor:asg-standby"], "miners-target");
    // Standby was entered before any group changed.
    let (recs, _) = AuditLog::read(log.path()).unwrap();
    let pos = |p: &str| recs.iter().position(|r| r.step.contains(p)).unwrap();
    assert!(pos("enter standby") < pos("to allow-all"));

    act(&ops, &mut log, &instance, RELEASE, None).await.unwrap();
    assert_eq!(
        ops.asg_membership(&instance).await.unwrap(),
        Some(("miners-target".to_string(), "InService".to_string()))
    );
    assert!(
        !ops.describe(&instance)
            .await
            .unwrap()
            .tags
            .contains_key("watchfloor:asg-standby")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_finding_removes_it_from_the_live_set() {
    let (emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let cfg = sdk(&emu, "us-east-1", None).await;
    let a = support::seed::run(&aws_sdk_ec2::Client::new(&cfg), "miner", &[]).await;
    let seeded = emu.post(
        "/_watchfloor/guardduty/findings",
        &json!({"account_id": ACCOUNT, "region": "us-east-1", "findings": [
            {"type": "CryptoCurrency:EC2/BitcoinTool.B!DNS", "severity": 8.0, "instance_id": a}
        ]}),
    );
    let id = seeded["finding_ids"][0]
        .as_str()
        .or_else(|| seeded["findings"][0]["id"].as_str())
        .expect("seeded id")
        .to_string();
    let gd = aws_sdk_guardduty::Client::new(&cfg);
    let mut poller = watchfloor::source::aws::findings::FindingsPoller::default();
    assert_eq!(
        poller
            .poll(&gd, chrono::Utc::now())
            .await
            .unwrap()
            .findings
            .len(),
        1
    );
    let msg = act(
        &ops,
        &mut log,
        &a,
        Action::ArchiveFinding {
            finding_id: id.clone(),
            kind: "x".into(),
        },
        None,
    )
    .await
    .unwrap();
    assert!(msg.contains("archived"), "{msg}");
    let mut fresh = watchfloor::source::aws::findings::FindingsPoller::default();
    assert!(
        fresh
            .poll(&gd, chrono::Utc::now())
            .await
            .unwrap()
            .findings
            .is_empty(),
        "archived findings are not listed"
    );
    let (recs, _) = AuditLog::read(log.path()).unwrap();
    assert!(recs.iter().any(|r| r.action == "archive-finding"
        && r.step.contains(&id)
        && r.phase == Phase::Outcome));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_after_allow_all_is_compensated_never_left_open() {
    let (emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    // Let the two allow-all moves through, then fail the next isolation move on every SDK attempt.
    act(
        &ops,
        &mut log,
        &fx.instance,
        Action::Quarantine,
        Some("mirror state allow-all"),
    )
    .await
    .unwrap_err();
    emu.post(
        "/_watchfloor/faults",
        &json!({"service": "ec2", "action": "ModifyNetworkInterfaceAttribute", "code": "InternalError", "status": 500, "count": 3}),
    );
    let err = act(&ops, &mut log, &fx.instance, Action::Quarantine, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("compensated"), "{err}");
    assert_isolated(&ops, &fx, "never left on allow-all").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_found_isolation_group_is_hardened_not_trusted_by_name() {
    let (_emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    // Someone (an attacker, or a half-finished earlier run) made the group with open rules.
    let name = format!("watchfloor-isolation-{}", fx.vpc);
    let g = ops
        .ec2
        .create_security_group()
        .group_name(&name)
        .description("x")
        .vpc_id(&fx.vpc)
        .send()
        .await
        .unwrap();
    let g = g.group_id().unwrap().to_string();
    ops.ec2
        .authorize_security_group_ingress()
        .group_id(&g)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    act(&ops, &mut log, &fx.instance, Action::Quarantine, None)
        .await
        .unwrap();
    let d = ops
        .ec2
        .describe_security_groups()
        .group_ids(&g)
        .send()
        .await
        .unwrap();
    let sg = &d.security_groups()[0];
    assert!(
        sg.ip_permissions_egress().is_empty(),
        "egress revoked: {:?}",
        sg.ip_permissions_egress()
    );
    assert_eq!(
        sg.ip_permissions().len(),
        1,
        "only the examiner: {:?}",
        sg.ip_permissions()
    );
    assert_eq!(
        sg.ip_permissions()[0].ip_ranges()[0].cidr_ip(),
        Some("203.0.113.7/32")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_restores_a_detached_eni_and_keeps_records_it_could_not_restore() {
    let (emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    act(&ops, &mut log, &fx.instance, Action::Quarantine, None)
        .await
        .unwrap();
    // The second ENI is detached after quarantine: release still restores it by its id.
    let f = ops.describe(&fx.instance).await.unwrap();
    let (eni1, _) = f.enis[1].clone();
    let att = ops
        .ec2
        .describe_network_interfaces()
        .network_interface_ids(&eni1)
        .send()
        .await
        .unwrap();
    let att_id = att.network_interfaces()[0]
        .attachment()
        .unwrap()
        .attachment_id()
        .unwrap()
        .to_string();
    ops.ec2
        .detach_network_interface()
        .attachment_id(att_id)
        .send()
        .await
        .unwrap();
    // First release attempt: the restore calls fail, so every record stays.
    emu.post(
        "/_watchfloor/faults",
        &json!({"service": "ec2", "action": "ModifyNetworkInterfaceAttribute", "code": "InternalError", "status": 500, "count": 6}),
    );
    let err = act(&ops, &mut log, &fx.instance, RELEASE, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("records kept"), "{err}");
    assert_eq!(
        ops.describe(&fx.instance).await.unwrap().originals(),
        fx.original
    );
    // Second attempt: both restored exactly, records gone.
    act(&ops, &mut log, &fx.instance, RELEASE, None)
        .await
        .unwrap();
    let d = ops
        .ec2
        .describe_network_interfaces()
        .network_interface_ids(&eni1)
        .send()
        .await
        .unwrap();
    let groups: Vec<String> = d.network_interfaces()[0]
        .groups()
        .iter()
        .map(|g| g.group_id().unwrap().to_string())
        .collect();
    assert_eq!(groups, fx.original[&eni1], "detached ENI restored too");
    assert!(
        ops.describe(&fx.instance)
            .await
            .unwrap()
            .originals()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eni_with_many_groups_is_recorded_in_several_tags_and_restored() {
    let (_emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    let (eni, _) = ops.describe(&fx.instance).await.unwrap().enis[0].clone();
    let mut many = Vec::new();
    for i in 0..14 {
        let g = ops
            .ec2
            .create_security_group()
            .group_name(format!("g{i}"))
            .description("x")
            .vpc_id(&fx.vpc)
            .send()
            .await
            .unwrap();
        many.push(g.group_id().unwrap().to_string());
    }
    ops.set_eni_groups(&eni, &many, false).await.unwrap();
    act(&ops, &mut log, &fx.instance, Action::Quarantine, None)
        .await
        .unwrap();
    let f = ops.describe(&fx.instance).await.unwrap();
    assert!(
        f.original_keys(&eni).len() >= 2,
        "split across tags: {:?}",
        f.original_keys(&eni)
    );
    act(&ops, &mut log, &fx.instance, RELEASE, None)
        .await
        .unwrap();
    let f = ops.describe(&fx.instance).await.unwrap();
    let now: BTreeMap<String, Vec<String>> = f.enis.iter().cloned().collect();
    assert_eq!(now[&eni], many);
    assert!(f.original_keys(&eni).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_of_the_headless_process_at_each_step_is_resumed() {
    use std::io::BufRead;
    let (emu, ops, dir) = setup().await;
    let conf = dir.path().join("config.toml");
    std::fs::write(&conf, format!("[settings]\nquarantine_wait_secs = 0\nexaminer_cidr = \"203.0.113.7/32\"\n\n[[account]]\nalias = \"main\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\n", emu.url())).unwrap();
    let audit = dir.path().join("audit.jsonl");
    let bin = env!("CARGO_BIN_EXE_watchfloor");
    let base = |args: &[&str]| {
        let mut c = std::process::Command::new(bin);
        c.args(args).args([
            "--config",
            conf.to_str().unwrap(),
            "--audit-log",
            audit.to_str().unwrap(),
        ]);
        c
    };
    let steps = [
        "mirror original groups",
        "termination protection on",
        "shutdown behaviour stop",
        "DeleteOnTermination=false",
        "create isolation group",
        "create allow-all group",
        "authorize",
        "to allow-all",
        "mirror state allow-all",
        "to isolation",
        // After the last interface's move, before the final check and `isolated`.
        "LAST",
    ];
    for step in steps {
        let fx = fixture(&ops).await;
        // Interfaces move in device order.
        let by_device = ops.describe(&fx.instance).await.unwrap().enis;
        let last = format!("move {} to isolation", by_device.last().unwrap().0);
        let step = if step == "LAST" { last.as_str() } else { step };
        let mut child = base(&[
            "triage",
            "quarantine",
            "--account",
            "main",
            "--region",
            "us-east-1",
            "--instance",
            &fx.instance,
            "--case",
            "IR-66",
            "--yes",
        ])
        .env("WATCHFLOOR_TEST_HANG_AFTER", step)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        // Wait until the process is at that step, then kill it there for real (SIGKILL).
        let stderr = child.stderr.take().unwrap();
        let hung = tokio::task::spawn_blocking(move || {
            let mut seen = Vec::new();
            for line in std::io::BufReader::new(stderr).lines() {
                let line = line.unwrap_or_default();
                if line.starts_with("WATCHFLOOR_TEST_HUNG") {
                    return Ok(line);
                }
                seen.push(line);
            }
            Err(seen)
        });
        let line = tokio::time::timeout(Duration::from_secs(60), hung)
            .await
            .unwrap_or_else(|_| panic!("{step}: the process never reached the step"))
            .unwrap()
            .unwrap_or_else(|seen| panic!("{step}: exited before the step: {seen:#?}"));
        assert!(line.contains(step), "{line}");
        child.kill().unwrap();
        child.wait().unwrap();
        // Nothing of the interfaces moved without the originals in the journal first.
        let log = AuditLog::open(&audit).unwrap();
        let j = journal(&log);
        let rec = j
            .get(&target(&fx.instance).key())
            .unwrap_or_else(|| panic!("{step}: not journaled"));
        assert_eq!(rec.enis, fx.original, "{step}");
        assert!(!rec.isolated, "{step}");
        drop(j);
        // `triage resume` finishes it headless.
        let out = base(&["triage", "resume", "--yes"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{step}: {err}");
        assert!(err.contains(&fx.instance) && err.contains("IR-66"), "{err}");
        assert_isolated(&ops, &fx, &format!("after a kill at {step}")).await;
        assert!(journal(&log).unfinished().is_empty(), "{step}");
        // And release brings back exactly what was there.
        let mut log = log;
        act(&ops, &mut log, &fx.instance, RELEASE, None)
            .await
            .unwrap_or_else(|e| panic!("release after {step}: {e}"));
        let back = groups_now(&ops, &fx.instance).await;
        assert_eq!(back, fx.original, "after a kill at {step}");
    }
    drop(emu);
}
