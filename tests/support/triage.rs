//! Triage test fixtures shared by the emulator suites: an instance with two ENIs in a VPC of
//! its own, the runner wired to an audit log and the journal beside it, request filters.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ec2::types::{IpPermission, IpRange};
use watchfloor::triage::aws_ops::AwsOps;
use watchfloor::triage::{
    Action, AuditLog, Context, Journal, Ops, Runner, Step, Target, TriageError,
};

use super::seed::sdk;
use super::{Emulator, set_test_credentials};

pub const ACCOUNT: &str = "123456789012";

/// An instance in its own VPC with two ENIs: [web, ssh] and [internal, ssh].
pub struct Fixture {
    pub instance: String,
    pub vpc: String,
    /// ENI id -> groups, as launched.
    pub original: BTreeMap<String, Vec<String>>,
}

pub async fn fixture(ops: &AwsOps) -> Fixture {
    let ec2 = &ops.ec2;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.20.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.20.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    let mk = |name: &'static str, port: i32| {
        let perm = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        super::seed::group_in(ec2, &vpc, name, vec![perm])
    };
    let (web, ssh, internal) = (
        mk("web", 443).await,
        mk("ssh", 22).await,
        mk("internal", 5432).await,
    );
    let out = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .subnet_id(&subnet)
        .security_group_ids(&web)
        .security_group_ids(&ssh)
        // As an attacker (or a careless template) leaves it: shutting down destroys the box.
        .instance_initiated_shutdown_behavior(aws_sdk_ec2::types::ShutdownBehavior::Terminate)
        .send()
        .await
        .unwrap();
    let instance = out.instances()[0].instance_id().unwrap().to_string();
    super::seed::second_eni(ec2, &subnet, &[&internal, &ssh], &instance).await;
    let f = ops.describe(&instance).await.unwrap();
    assert_eq!(f.enis.len(), 2);
    Fixture {
        instance,
        vpc,
        original: f.enis.into_iter().collect(),
    }
}

pub fn ctx(case: &str) -> Context {
    Context {
        case_id: case.into(),
        operator: "arn:aws:iam::123456789012:user/responder".into(),
        quarantine_wait: Duration::ZERO,
        examiner_cidr: Some("203.0.113.7/32".into()),
        hurry: None,
    }
}

/// The journal beside an audit log, opened afresh (as the executor does for every job).
pub fn journal(log: &AuditLog) -> Journal {
    let (j, bad) = Journal::open(&Journal::path_beside(log.path())).unwrap();
    assert!(bad.is_empty(), "{bad:?}");
    j
}

pub fn target(instance: &str) -> Target {
    Target {
        alias: "main".into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        instance_id: instance.into(),
    }
}

pub async fn act(
    ops: &AwsOps,
    log: &mut AuditLog,
    instance: &str,
    action: Action,
    interrupt: Option<&str>,
) -> Result<String, TriageError> {
    act_full(ops, log, instance, action, interrupt).await.0
}

/// Runs an action; also returns its progress steps and warnings.
pub async fn act_full(
    ops: &AwsOps,
    log: &mut AuditLog,
    instance: &str,
    action: Action,
    interrupt: Option<&str>,
) -> (Result<String, TriageError>, Vec<Step>, Vec<String>) {
    let mut j = journal(log);
    let mut r = Runner::new(ops, log, &mut j, target(instance), ctx("IR-42"));
    r.interrupt_after = interrupt.map(str::to_string);
    let res = r.run(&action).await;
    (res, r.progress, r.warnings)
}

pub const RELEASE: Action = Action::Release { from_tags: None };

pub async fn setup() -> (Emulator, AwsOps, tempfile::TempDir) {
    let emu = Emulator::start();
    set_test_credentials();
    let cfg = sdk(&emu, "us-east-1", None).await;
    (emu, AwsOps::from_conf(&cfg), tempfile::tempdir().unwrap())
}

pub fn mutating(emu: &Emulator) -> Vec<String> {
    emu.requests()
        .iter()
        .filter(|r| r["dry_run"] != true)
        .filter_map(|r| r["action"].as_str().map(str::to_string))
        .filter(|a| !["Describe", "Get", "List"].iter().any(|p| a.starts_with(p)))
        .collect()
}

/// Each attached interface's groups, as EC2 says now.
pub async fn groups_now(ops: &AwsOps, instance: &str) -> BTreeMap<String, Vec<String>> {
    ops.describe(instance)
        .await
        .unwrap()
        .enis
        .into_iter()
        .collect()
}

/// The VPC's isolation group, found by watchfloor's name for it.
pub async fn iso_of(ops: &AwsOps, vpc: &str) -> String {
    ops.find_group(vpc, &format!("watchfloor-isolation-{vpc}"))
        .await
        .unwrap()
        .expect("isolation group")
}

/// Every attached interface of the fixture's instance is on the isolation group alone.
pub async fn assert_isolated(ops: &AwsOps, fx: &Fixture, what: &str) {
    let iso = iso_of(ops, &fx.vpc).await;
    let f = ops.describe(&fx.instance).await.unwrap();
    assert!(!f.enis.is_empty(), "{what}: no interface");
    assert!(
        f.enis.iter().all(|(_, g)| g == &vec![iso.clone()]),
        "{what}: every interface on {iso}: {:?}",
        f.enis
    );
}
