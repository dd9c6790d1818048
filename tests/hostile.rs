//! Triage in a hostile account, against the AWS emulator with the real SDK: the attacker writes
//! tags, pre-creates groups under watchfloor's names, fills the tag limit, attaches interfaces,
//! terminates the instance or deletes the isolation group while quarantine runs, and denies
//! CreateTags. One test each; each checks that the instance ends isolated (or in a known,
//! reported state), never more open.

mod support;

use std::time::Duration;

use aws_sdk_ec2::types::{IpPermission, IpRange};
use serde_json::json;
use support::triage::*;
use watchfloor::triage::aws_ops::AwsOps;
use watchfloor::triage::{
    Action, AuditLog, Check, Ops, Phase, Runner, Step, TAG_ORIGINAL, TAG_STATE, Target,
    TriageError, Verdict,
};

async fn group(ops: &AwsOps, vpc: &str, name: &str, perms: Vec<IpPermission>) -> String {
    support::seed::group_in(&ops.ec2, vpc, name, perms).await
}

fn everything_from_anywhere() -> IpPermission {
    IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_state_and_original_groups_tags_drive_nothing() {
    let (_emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    // The attacker's own wide-open group, named like nothing special, and forged tags: "already
    // isolated", originals = the open group.
    let evil = group(&ops, &fx.vpc, "backup", vec![everything_from_anywhere()]).await;
    let mut forged = vec![(TAG_STATE.to_string(), "isolated".to_string())];
    for eni in fx.original.keys() {
        forged.push((format!("{TAG_ORIGINAL}{eni}"), evil.clone()));
    }
    ops.create_tags(&fx.instance, &forged, false).await.unwrap();

    // A tag saying `isolated` skips nothing: the instance really ends isolated.
    act(&ops, &mut log, &fx.instance, Action::Quarantine, None)
        .await
        .unwrap();
    assert_isolated(&ops, &fx, "").await;
    // The journal holds the real originals, from the live groups, not the forged tags.
    let j = journal(&log);
    assert_eq!(
        j.get(&target(&fx.instance).key()).unwrap().enis,
        fx.original
    );
    drop(j);

    // Release restores the real groups, never the attacker's.
    act(&ops, &mut log, &fx.instance, RELEASE, None)
        .await
        .unwrap();
    assert_eq!(groups_now(&ops, &fx.instance).await, fx.original);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_without_a_local_record_checks_every_group_the_tags_name() {
    let (_emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    act(&ops, &mut log, &fx.instance, Action::Quarantine, None)
        .await
        .unwrap();
    // Another responder's machine: same account, no journal of ours.
    let other = dir.path().join("other/audit.jsonl");
    let mut other_log = AuditLog::open(&other).unwrap();
    let (eni0, _) = fx.original.iter().next().unwrap();

    // 1. Tags naming a watchfloor group (or a group of another VPC, or none) are refused, even
    //    when the operator asks to trust the tags.
    let iso = iso_of(&ops, &fx.vpc).await;
    ops.create_tags(
        &fx.instance,
        &[(format!("{TAG_ORIGINAL}{eni0}"), iso.clone())],
        false,
    )
    .await
    .unwrap();
    let trusting = |f: watchfloor::triage::Facts| Action::Release {
        from_tags: Some(f.originals()),
    };
    let err = act(
        &ops,
        &mut other_log,
        &fx.instance,
        trusting(ops.describe(&fx.instance).await.unwrap()),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, TriageError::Refused(m) if m.contains("is a watchfloor group")),
        "{err}"
    );
    let elsewhere = ops
        .ec2
        .create_vpc()
        .cidr_block("10.99.0.0/16")
        .send()
        .await
        .unwrap();
    let elsewhere = elsewhere.vpc().unwrap().vpc_id().unwrap().to_string();
    let foreign = group(&ops, &elsewhere, "foreign", vec![]).await;
    ops.create_tags(
        &fx.instance,
        &[(format!("{TAG_ORIGINAL}{eni0}"), foreign)],
        false,
    )
    .await
    .unwrap();
    let err = act(
        &ops,
        &mut other_log,
        &fx.instance,
        trusting(ops.describe(&fx.instance).await.unwrap()),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("not in the instance's VPC"),
        "{err}"
    );
    assert_isolated(&ops, &fx, "").await;

    // 2. Tags naming real groups of the VPC: the preview shows them as unverified, with what
    //    each opens to the internet, and asks for the typed id; plain release refuses.
    ops.create_tags(
        &fx.instance,
        &[(format!("{TAG_ORIGINAL}{eni0}"), fx.original[eni0].join(","))],
        false,
    )
    .await
    .unwrap();
    let mut j = journal(&other_log);
    let mut r = Runner::new(
        &ops,
        &mut other_log,
        &mut j,
        target(&fx.instance),
        ctx("IR-7"),
    );
    let p = r.preview(&RELEASE).await.unwrap();
    assert!(p.typed_confirmation);
    let reviewed = ops.describe(&fx.instance).await.unwrap().originals();
    assert_eq!(
        p.action,
        Action::Release {
            from_tags: Some(reviewed.clone())
        }
    );
    let plan = p.plan.join("\n");
    assert!(plan.contains("FROM INSTANCE TAGS, NOT VERIFIED"), "{plan}");
    assert!(
        plan.contains("OPENS tcp:443 0.0.0.0/0 TO THE INTERNET"),
        "{plan}"
    );
    let err = r.run(&RELEASE).await.unwrap_err();
    assert!(
        matches!(&err, TriageError::Refused(m) if m.contains("no local journal record")),
        "{err}"
    );
    // Between the review and the run, the attacker swaps in their own open group (it exists in
    // the VPC, so it passes every check): the run refuses, nothing moves.
    let evil = group(&ops, &fx.vpc, "legit", vec![everything_from_anywhere()]).await;
    ops.create_tags(
        &fx.instance,
        &[(format!("{TAG_ORIGINAL}{eni0}"), evil)],
        false,
    )
    .await
    .unwrap();
    let err = r.run(&p.action).await.unwrap_err();
    assert!(
        matches!(&err, TriageError::Refused(m) if m.contains("changed since")),
        "{err}"
    );
    assert_eq!(groups_now(&ops, &fx.instance).await.len(), 2);
    assert!(
        groups_now(&ops, &fx.instance)
            .await
            .values()
            .all(|g| g.len() == 1 && g[0] == iso),
        "still isolated"
    );
    // The tags as reviewed again: released.
    ops.create_tags(
        &fx.instance,
        &[(format!("{TAG_ORIGINAL}{eni0}"), fx.original[eni0].join(","))],
        false,
    )
    .await
    .unwrap();
    r.run(&p.action).await.unwrap();
    assert_eq!(groups_now(&ops, &fx.instance).await, fx.original);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trap_groups_under_the_predictable_names_are_made_exact_before_anything_moves() {
    let (_emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    // Allow-all with one harmless rule (so "untrack, then cut" would cut nothing), and an
    // isolation group open to everything with egress to a C2.
    let all = group(
        &ops,
        &fx.vpc,
        &format!("watchfloor-allow-all-{}", fx.vpc),
        vec![
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        ],
    )
    .await;
    let iso = group(
        &ops,
        &fx.vpc,
        &format!("watchfloor-isolation-{}", fx.vpc),
        vec![
            everything_from_anywhere(),
            // The examiner's rule is already there, so the first authorize is allow-all's.
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("203.0.113.7/32").build())
                .build(),
        ],
    )
    .await;
    ops.ec2
        .authorize_security_group_egress()
        .group_id(&iso)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(4444)
                .to_port(4444)
                .ip_ranges(IpRange::builder().cidr_ip("198.51.100.9/32").build())
                .build(),
        )
        .send()
        .await
        .unwrap();

    // An allow-all rule that cannot be set, on the trap group and on a fresh group of our own,
    // stops the run before any interface moves (each call is tried 3 times by the SDK).
    let emu = &_emu;
    emu.post(
        "/_watchfloor/faults",
        &json!({"service": "ec2", "action": "AuthorizeSecurityGroupIngress", "code": "InternalError", "status": 500, "count": 6}),
    );
    let err = act(&ops, &mut log, &fx.instance, Action::Quarantine, None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("authorize 2 ingress rule(s) of allow-all group"),
        "{err}"
    );
    assert_eq!(
        groups_now(&ops, &fx.instance).await,
        fx.original,
        "nothing moved"
    );
    // A trap group that keeps refusing (once more here) is replaced by a fresh group.
    emu.post(
        "/_watchfloor/faults",
        &json!({"service": "ec2", "action": "AuthorizeSecurityGroupIngress", "code": "InternalError", "status": 500, "count": 3}),
    );
    let (res, _, warnings) = act_full(&ops, &mut log, &fx.instance, Action::Quarantine, None).await;
    res.unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("cannot be made exact")),
        "{warnings:?}"
    );
    assert_isolated(&ops, &fx, "").await;
    // The next run makes the trap allow-all group exact too (nothing moves: already isolated).
    act(&ops, &mut log, &fx.instance, Action::Quarantine, None)
        .await
        .unwrap();
    let d = ops
        .ec2
        .describe_security_groups()
        .group_ids(&all)
        .group_ids(&iso)
        .send()
        .await
        .unwrap();
    for g in d.security_groups() {
        let shape = |perms: &[IpPermission]| {
            let mut v: Vec<String> = perms
                .iter()
                .flat_map(|p| {
                    let proto = p.ip_protocol().unwrap_or("?").to_string();
                    p.ip_ranges()
                        .iter()
                        .map(|r| r.cidr_ip().unwrap_or("?").to_string())
                        .chain(
                            p.ipv6_ranges()
                                .iter()
                                .map(|r| r.cidr_ipv6().unwrap_or("?").to_string()),
                        )
                        .map(move |c| format!("{proto} {c}"))
                        .collect::<Vec<_>>()
                })
                .collect();
            v.sort();
            v
        };
        if g.group_id() == Some(all.as_str()) {
            let want = vec!["-1 0.0.0.0/0".to_string(), "-1 ::/0".to_string()];
            assert_eq!(shape(g.ip_permissions()), want, "allow-all ingress exact");
            assert_eq!(
                shape(g.ip_permissions_egress()),
                want,
                "allow-all egress exact"
            );
        } else {
            assert_eq!(
                shape(g.ip_permissions()),
                vec!["tcp 203.0.113.7/32".to_string()]
            );
            assert!(g.ip_permissions_egress().is_empty(), "C2 egress revoked");
        }
    }
    // In the run that moved the interfaces, the allow-all group was made exact (on a fresh
    // group: the trap kept refusing) before the first interface moved onto it.
    let (recs, bad) = AuditLog::read(log.path()).unwrap();
    assert!(bad.is_empty());
    let moved = recs
        .iter()
        .position(|r| r.phase == Phase::Intent && r.step.contains("to allow-all group"))
        .expect("a move to allow-all");
    let run_start = recs[..moved]
        .iter()
        .rposition(|r| r.step == "result")
        .expect("an earlier run");
    assert!(
        recs[run_start..moved]
            .iter()
            .any(|r| r.phase == Phase::Outcome
                && r.result.as_deref() == Some("ok")
                && r.step
                    .starts_with("authorize 2 ingress rule(s) of allow-all group")),
        "{:#?}",
        &recs[run_start..moved]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_at_the_50_tag_limit_is_still_isolated() {
    let (_emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    let have = ops.describe(&fx.instance).await.unwrap().tags.len();
    let filler: Vec<(String, String)> = (have..50)
        .map(|i| (format!("junk-{i}"), "x".repeat(10)))
        .collect();
    ops.create_tags(&fx.instance, &filler, false).await.unwrap();
    assert_eq!(ops.describe(&fx.instance).await.unwrap().tags.len(), 50);

    // The preview counts the tags and warns; it does not block.
    let mut j = journal(&log);
    let mut r = Runner::new(&ops, &mut log, &mut j, target(&fx.instance), ctx("IR-42"));
    let p = r.preview(&Action::Quarantine).await.unwrap();
    assert!(
        p.plan.iter().any(|l| l.contains("50/50 tags used")),
        "{:?}",
        p.plan
    );
    assert!(
        p.checks.iter().any(
            |Check {
                 what: op,
                 verdict: v,
             }| op.starts_with("CreateTags") && matches!(v, Verdict::Warning(_))
        ),
        "{:?}",
        p.checks
    );
    assert!(
        p.checks.iter().all(|Check { verdict: v, .. }| v.permits()),
        "{:?}",
        p.checks
    );
    drop(r);
    drop(j);

    let (res, _, warnings) = act_full(&ops, &mut log, &fx.instance, Action::Quarantine, None).await;
    res.unwrap();
    assert_isolated(&ops, &fx, "").await;
    assert!(
        warnings.iter().any(|w| w.contains("tag mirror")),
        "{warnings:?}"
    );
    let (recs, _) = AuditLog::read(log.path()).unwrap();
    assert!(
        recs.iter()
            .any(|r| r.result.as_deref() == Some("warning") && r.step.contains("tag mirror")),
        "the missing mirror is in the audit log"
    );
    // Release works from the journal alone.
    act(&ops, &mut log, &fx.instance, RELEASE, None)
        .await
        .unwrap();
    assert_eq!(groups_now(&ops, &fx.instance).await, fx.original);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_tags_denied_still_isolates_with_a_warning() {
    let (emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    emu.post(
        "/_watchfloor/faults",
        &json!({"service": "ec2", "action": "CreateTags", "code": "UnauthorizedOperation", "status": 403, "count": 100}),
    );
    let mut j = journal(&log);
    let mut r = Runner::new(&ops, &mut log, &mut j, target(&fx.instance), ctx("IR-42"));
    let p = r.preview(&Action::Quarantine).await.unwrap();
    let Check { verdict: v, .. } = p
        .checks
        .iter()
        .find(|Check { what: op, .. }| op.starts_with("CreateTags"))
        .unwrap();
    assert!(
        matches!(v, Verdict::Warning(m) if m.contains("denied")),
        "{v:?}"
    );
    drop(r);
    drop(j);
    // Without ec2:CreateTags, AWS also refuses tags on create: the group creation with
    // tags is denied (once here), and watchfloor makes it untagged.
    emu.post(
        "/_watchfloor/faults",
        &json!({"service": "ec2", "action": "CreateSecurityGroup", "code": "UnauthorizedOperation", "status": 403, "count": 1}),
    );
    let (res, _, warnings) = act_full(&ops, &mut log, &fx.instance, Action::Quarantine, None).await;
    let msg = res.unwrap();
    assert!(msg.contains("quarantined"), "{msg}");
    assert_isolated(&ops, &fx, "").await;
    assert!(
        warnings.iter().any(|w| w.contains("tag mirror skipped")),
        "{warnings:?}"
    );
}

/// Runs a quarantine with a wait, and does `meanwhile` once the wait has begun.
async fn during_the_wait<F, Fut>(
    ops: &AwsOps,
    log: &mut AuditLog,
    instance: &str,
    meanwhile: F,
) -> (Result<String, TriageError>, Vec<Step>)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut j = journal(log);
    let mut c = ctx("IR-42");
    c.quarantine_wait = Duration::from_secs(3);
    let mut r = Runner::new(ops, log, &mut j, target(instance), c);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    r.notify = Some(tx);
    let attacker = async {
        while let Some(step) = rx.recv().await {
            if step.text.contains("waiting") {
                break;
            }
        }
        meanwhile().await;
    };
    let (res, ()) = tokio::join!(r.run(&Action::Quarantine), attacker);
    (res, r.progress)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interface_attached_mid_run_is_journaled_and_isolated() {
    let (_emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    let open = group(&ops, &fx.vpc, "late", vec![everything_from_anywhere()]).await;
    let subnet = ops
        .ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&fx.vpc)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .subnets()[0]
        .subnet_id()
        .unwrap()
        .to_string();
    let (res, _) = during_the_wait(&ops, &mut log, &fx.instance, || async {
        support::seed::second_eni_at(&ops.ec2, &subnet, &[&open], &fx.instance, 2).await;
    })
    .await;
    res.unwrap();
    let now = groups_now(&ops, &fx.instance).await;
    assert_eq!(now.len(), 3, "{now:?}");
    assert_isolated(&ops, &fx, "").await;
    let late = now.keys().find(|e| !fx.original.contains_key(*e)).unwrap();
    let j = journal(&log);
    assert_eq!(
        j.get(&target(&fx.instance).key()).unwrap().enis[late],
        vec![open.clone()],
        "journaled before it moved"
    );
    drop(j);
    // Release puts back the interfaces that were there, and leaves the late one isolated: it
    // may be the attacker's, and its groups then were open to everything.
    let (res, _, warnings) = act_full(&ops, &mut log, &fx.instance, RELEASE, None).await;
    res.unwrap();
    let back = groups_now(&ops, &fx.instance).await;
    let iso = iso_of(&ops, &fx.vpc).await;
    assert_eq!(back[late], vec![iso]);
    for (eni, g) in &fx.original {
        assert_eq!(&back[eni], g);
    }
    assert!(
        warnings.iter().any(|w| w.contains("left isolated")),
        "{warnings:?}"
    );
    assert!(journal(&log).get(&target(&fx.instance).key()).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_terminated_mid_run_ends_in_a_reported_state_never_on_allow_all() {
    let (_emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    let (res, _) = during_the_wait(&ops, &mut log, &fx.instance, || async {
        // The attacker lifts termination protection and terminates the box.
        ops.set_termination_protection(&fx.instance, false, false)
            .await
            .unwrap();
        ops.ec2
            .terminate_instances()
            .instance_ids(&fx.instance)
            .send()
            .await
            .unwrap();
    })
    .await;
    let err = res.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("terminated"), "the failure names it: {msg}");
    assert!(
        !msg.contains("COMPENSATION FAILED"),
        "compensation must work: {msg}"
    );
    // Interfaces that outlive the instance (the secondary one) are not left on allow-all.
    let all = ops
        .find_group(&fx.vpc, &format!("watchfloor-allow-all-{}", fx.vpc))
        .await
        .unwrap()
        .unwrap();
    let ids: Vec<String> = fx.original.keys().cloned().collect();
    let d = ops
        .ec2
        .describe_network_interfaces()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("network-interface-id")
                .set_values(Some(ids))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        !d.network_interfaces().is_empty(),
        "the secondary interface outlives the instance"
    );
    for n in d.network_interfaces() {
        assert!(
            n.groups()
                .iter()
                .all(|g| g.group_id() != Some(all.as_str())),
            "{:?} left on allow-all",
            n.network_interface_id()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolation_group_deleted_mid_run_is_reported_open_never_counted_as_gone() {
    let (emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    // The attacker deletes the isolation group (not in use yet) while the interfaces sit on
    // allow-all: moving them onto it is NotFound, and so is compensating onto it (AWS says
    // InvalidGroup.NotFound; the emulator does not check, so the answer is injected).
    let (res, progress) = during_the_wait(&ops, &mut log, &fx.instance, || async {
        let iso = iso_of(&ops, &fx.vpc).await;
        ops.ec2
            .delete_security_group()
            .group_id(&iso)
            .send()
            .await
            .unwrap();
        emu.post(
            "/_watchfloor/faults",
            &json!({
                "service": "ec2",
                "action": "ModifyNetworkInterfaceAttribute",
                "code": "InvalidGroup.NotFound",
                "message": format!("The security group '{iso}' does not exist"),
                "count": 10,
            }),
        );
    })
    .await;
    let err = res.unwrap_err();
    let msg = err.to_string();
    // The NotFound was the group, not an interface: nothing is claimed gone or compensated.
    assert!(
        !msg.contains("no longer exist") && !msg.contains("compensated:"),
        "{msg}\n{progress:#?}"
    );
    assert!(
        msg.contains("OPEN TO THE INTERNET"),
        "the failure says the instance may be open: {msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interface_deleted_mid_run_is_counted_gone_by_compensation() {
    let (emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    assert_eq!(fx.original.len(), 2);
    // An interface vanishes (deleted with its instance) after the wait: moving it to isolation
    // is InvalidNetworkInterfaceID.NotFound, and so is compensating it; the isolation group is
    // still there, so it is gone, not a failure. (Injected: the emulator keeps the interface.)
    let (res, progress) = during_the_wait(&ops, &mut log, &fx.instance, || async {
        emu.post(
            "/_watchfloor/faults",
            &json!({
                "service": "ec2",
                "action": "ModifyNetworkInterfaceAttribute",
                "code": "InvalidNetworkInterfaceID.NotFound",
                "message": "The networkInterface ID does not exist",
                "count": 2,
            }),
        );
    })
    .await;
    let msg = res.unwrap_err().to_string();
    assert!(
        msg.contains("compensated: 1 interface(s) moved to the isolation group")
            && msg.contains("(1 no longer exist)"),
        "{msg}\n{progress:#?}"
    );
    assert!(!msg.contains("COMPENSATION FAILED"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_with_no_interface_is_refused() {
    let (emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    // AWS never detaches a primary interface (nor does the emulator), but an instance has none
    // while it terminates: DescribeNetworkInterfaces answers an empty set (canned, see
    // tests/support/emulator/README.md).
    let empty = "<DescribeNetworkInterfacesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>canned</requestId><networkInterfaceSet/></DescribeNetworkInterfacesResponse>";
    emu.post(
        "/_watchfloor/faults",
        &json!({"service": "ec2", "action": "DescribeNetworkInterfaces", "body": empty, "count": 3}),
    );
    assert!(ops.describe(&fx.instance).await.unwrap().enis.is_empty());
    let mut j = journal(&log);
    let mut r = Runner::new(&ops, &mut log, &mut j, target(&fx.instance), ctx("IR-42"));
    let p = r.preview(&Action::Quarantine).await.unwrap();
    assert!(
        p.checks.iter().any(
            |Check {
                 what: op,
                 verdict: v,
             }| op == "network interfaces" && !v.permits()
        ),
        "{:?}",
        p.checks
    );
    let err = r.run(&Action::Quarantine).await.unwrap_err();
    assert!(
        matches!(&err, TriageError::Refused(m) if m.contains("no network interface")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_of_another_account_than_shown_are_refused() {
    let (emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    emu.http("DELETE", "/_watchfloor/requests", "");
    let mut j = journal(&log);
    let shown = Target {
        account_id: "999999999999".into(),
        ..target(&fx.instance)
    };
    let mut r = Runner::new(&ops, &mut log, &mut j, shown, ctx("IR-42"));
    let err = r.run(&Action::Quarantine).await.unwrap_err();
    assert!(
        matches!(&err, TriageError::Refused(m) if m.contains("STS says")),
        "{err}"
    );
    assert!(mutating(&emu).is_empty(), "{:?}", mutating(&emu));
    assert_eq!(groups_now(&ops, &fx.instance).await, fx.original);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_side_steps_only_warn_and_the_cut_still_happens() {
    let (emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    // The identity may not read Auto Scaling nor change attributes (or the attacker made these
    // calls fail): Standby and evidence are skipped with warnings, the instance is isolated.
    for action in ["ModifyInstanceAttribute", "DescribeAutoScalingInstances"] {
        emu.post(
            "/_watchfloor/faults",
            &json!({"service": if action.starts_with("Describe") { "autoscaling" } else { "ec2" }, "action": action, "code": "UnauthorizedOperation", "status": 403, "count": 100}),
        );
    }
    let (res, _, warnings) = act_full(&ops, &mut log, &fx.instance, Action::Quarantine, None).await;
    res.unwrap();
    assert_isolated(&ops, &fx, "").await;
    for what in [
        "Auto Scaling membership unreadable",
        "the instance can be terminated",
        "a shutdown from inside may terminate it",
    ] {
        assert!(
            warnings.iter().any(|w| w.contains(what)),
            "{what}: {warnings:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attacker_reopening_an_isolated_instance_makes_it_unfinished_again() {
    let (_emu, ops, dir) = setup().await;
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let fx = fixture(&ops).await;
    act(&ops, &mut log, &fx.instance, Action::Quarantine, None)
        .await
        .unwrap();
    assert!(journal(&log).unfinished().is_empty());
    // The attacker puts an interface back on an open group; the responder quarantines again
    // and that run dies mid-way: the journal offers it for resume.
    let open = group(&ops, &fx.vpc, "back-door", vec![everything_from_anywhere()]).await;
    let (eni0, _) = fx.original.iter().next().unwrap();
    ops.set_eni_groups(eni0, std::slice::from_ref(&open), false)
        .await
        .unwrap();
    act(
        &ops,
        &mut log,
        &fx.instance,
        Action::Quarantine,
        Some("to allow-all"),
    )
    .await
    .unwrap_err();
    let j = journal(&log);
    assert_eq!(j.unfinished().len(), 1);
    // Its originals are still the real ones, never the attacker's group.
    assert_eq!(
        j.get(&target(&fx.instance).key()).unwrap().enis,
        fx.original
    );
    drop(j);
    act(&ops, &mut log, &fx.instance, Action::Quarantine, None)
        .await
        .unwrap();
    assert_isolated(&ops, &fx, "").await;
    assert!(journal(&log).unfinished().is_empty());
}
