//! Full AWS refresh vs the AWS CLI on the emulator; run: `cargo bench --bench aws_refresh`.
//
// Requests per account x region vs the minimum (ECS on its own line too), and the wall time of
// one `snapshot` poll (every feed, 6 account x regions) vs `aws ec2 describe-instances` over the
// same scopes one after another. WF_BENCH_INSTANCES=N sets the instances per account x region
// (default 200); each scope also runs ECS: a service of N/10 Fargate tasks over 2 clusters and a
// standalone task.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_ec2::types::{
    InstanceType, IpPermission, IpRange, ResourceType, Tag, TagSpecification, UserIdGroupPair,
};
use serde_json::{Value, json};
use support::{Emulator, set_test_credentials};
use watchfloor::aws::TerminalPrompt;
use watchfloor::config::Config;
use watchfloor::feed::{Data, Report};
use watchfloor::source::aws;

/// The default credentials' account (see `set_test_credentials`), then two assumed-role ones.
const ACCOUNTS: [&str; 3] = ["123456789012", "222222222222", "444444444444"];
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
/// Keys `set_test_credentials` puts in the environment (moto maps them to 123456789012).
const DEFAULT_KEY: (&str, &str) = ("AKIAWATCHFLOORTEST01", "watchfloor-test-secret");
/// Timed repetitions of each side.
const RUNS: usize = 3;
/// Live findings per scope: more than one ListFindings/GetFindings page of 50.
const FINDINGS: usize = 60;
/// The ECS calls of a refresh (the ECS line of the report counts these).
const ECS_ACTIONS: [&str; 8] = [
    "ListClusters",
    "DescribeClusters",
    "ListServices",
    "DescribeServices",
    "ListTasks",
    "DescribeTasks",
    "DescribeContainerInstances",
    "DescribeTaskDefinition",
];
/// Instances per scope that get CPU datapoints.
const CPU_INSTANCES: usize = 20;
/// RunInstances batch sizes (MinCount = MaxCount = k), cycled: reservations < instances.
const BATCHES: [usize; 5] = [1, 2, 3, 4, 5];
/// Canonical order of the actions in the tables (feed order); others follow alphabetically.
const ACTION_ORDER: [&str; 7] = [
    "DescribeInstances",
    "DescribeSecurityGroups",
    "DescribeNetworkInterfaces",
    "GetMetricData",
    "ListDetectors",
    "ListFindings",
    "GetFindings",
];

/// What one account x region holds after seeding (groups and ENIs as the API lists them).
struct Scope {
    account: &'static str,
    region: &'static str,
    /// Credentials of the account; `None` = the default keys.
    creds: Option<Credentials>,
    instances: usize,
    reservations: usize,
    groups: usize,
    enis: usize,
    findings: usize,
    /// ECS clusters: (services, tasks, container instances) each.
    ecs: Vec<(usize, usize, usize)>,
    /// Task definition revisions in use (each described once).
    task_definitions: usize,
}

impl Scope {
    fn key(&self) -> (String, String) {
        (self.account.to_string(), self.region.to_string())
    }

    fn label(&self) -> String {
        format!("{} {}", self.account, self.region)
    }

    /// Fewest requests a full refresh can make: one page per 1,000 reservations / groups /
    /// ENIs, one GetMetricData per 500 instances, ListFindings + GetFindings per 50 findings,
    /// and ListDetectors; and the ECS minimum.
    fn minimum(&self) -> usize {
        self.reservations.div_ceil(1000)
            + self.groups.div_ceil(1000)
            + self.enis.div_ceil(1000)
            + self.instances.div_ceil(500)
            + self.findings.div_ceil(50) * 2
            + 1
            + self.ecs_minimum()
    }

    /// Fewest ECS requests a full (first) refresh can make (`ecs::minimum_calls`).
    fn ecs_minimum(&self) -> usize {
        aws::ecs::minimum_calls(&self.ecs, self.task_definitions) as usize
    }

    /// (access key, secret, session token) for the AWS CLI's environment.
    fn cli_keys(&self) -> (String, String, Option<String>) {
        match &self.creds {
            None => (DEFAULT_KEY.0.into(), DEFAULT_KEY.1.into(), None),
            Some(c) => (
                c.access_key_id().into(),
                c.secret_access_key().into(),
                c.session_token().map(str::to_string),
            ),
        }
    }
}

fn main() -> ExitCode {
    // Before the runtime starts any thread.
    set_test_credentials();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aws_refresh bench FAILED: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let per_scope: usize = match std::env::var("WF_BENCH_INSTANCES") {
        Ok(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| anyhow!("WF_BENCH_INSTANCES={v:?}: expected a positive integer"))?,
        Err(_) => 200,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    eprintln!("aws_refresh: starting the emulator (tests/support/emulator)");
    let emu = Emulator::start();
    // moto moves a task one state on each DescribeTasks; hold them RUNNING, as AWS does.
    emu.post(
        "/moto-api/state-manager/set-transition",
        &json!({"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1_000_000}}),
    );
    let t = Instant::now();
    let mut scopes = Vec::new();
    for account in ACCOUNTS {
        let creds = match account {
            "123456789012" => None,
            _ => Some(rt.block_on(assume(&emu, account))?),
        };
        for region in REGIONS {
            eprintln!("aws_refresh: seeding {account} {region} ({per_scope} instances)");
            scopes.push(seed_scope(
                &rt,
                &emu,
                account,
                region,
                creds.clone(),
                per_scope,
            )?);
        }
    }
    println!(
        "seeded {} account x regions in {:.1} s",
        scopes.len(),
        t.elapsed().as_secs_f64()
    );
    print_seeded(&scopes);

    println!(
        "load average before timing (includes the seeding): {}",
        loadavg()
    );
    let config = config(&emu)?;
    let wf = bench_watchfloor(&rt, &emu, &config, &scopes)?;
    let cli = bench_cli(&emu, &scopes)?;

    let (wf_min, wf_med) = min_median(&wf.times);
    let (cli_min, cli_med) = min_median(&cli.times);
    let made = total(&wf.per_scope);
    let minimum: usize = scopes.iter().map(Scope::minimum).sum();
    let sts: usize = wf.sts.values().sum();
    println!();
    println!(
        "watchfloor snapshot (every feed, {n} scopes): {wm:.1} ms median (min {wn:.1}); \
         aws cli describe-instances ({n} scopes sequential): {cm:.1} ms median (min {cn:.1}); \
         ratio Y/X = {r:.2}",
        n = scopes.len(),
        wm = ms(wf_med),
        wn = ms(wf_min),
        cm = ms(cli_med),
        cn = ms(cli_min),
        r = cli_med.as_secs_f64() / wf_med.as_secs_f64(),
    );
    println!(
        "requests per full refresh: {made} made vs {minimum} minimum over {n} scopes \
         (+{sts} STS calls to connect {a} accounts); the CLI made {c} for instances alone",
        n = scopes.len(),
        a = ACCOUNTS.len(),
        c = cli.requests,
    );
    println!("load average after timing: {}", loadavg());
    println!(
        "target (every feed for the whole fleet faster than the CLI lists instances): {}",
        if wf_med < cli_med { "met" } else { "MISSED" }
    );
    Ok(())
}

// ------------------------------------------------------------------------------ seeding

async fn sdk(emu_url: &str, region: &str, creds: Option<Credentials>) -> SdkConfig {
    let mut l = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(emu_url)
        .region(Region::new(region.to_string()));
    if let Some(c) = creds {
        l = l.credentials_provider(c);
    }
    l.load().await
}

/// Credentials of `account` (moto maps AssumeRole keys to the role's account).
async fn assume(emu: &Emulator, account: &str) -> Result<Credentials> {
    let base = sdk(&emu.url(), "us-east-1", None).await;
    let out = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/bench-seeder"))
        .role_session_name("bench")
        .send()
        .await
        .with_context(|| format!("AssumeRole into {account}"))?;
    let c = out
        .credentials()
        .ok_or_else(|| anyhow!("AssumeRole into {account} returned no credentials"))?;
    Ok(Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "bench",
    ))
}

fn world(from: i32, to: i32) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(from)
        .to_port(to)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build()
}

async fn group(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
    name: &str,
    perms: Vec<IpPermission>,
) -> Result<String> {
    let id = ec2
        .create_security_group()
        .group_name(name)
        .description(name)
        .vpc_id(vpc)
        .send()
        .await
        .with_context(|| format!("CreateSecurityGroup {name}"))?
        .group_id()
        .ok_or_else(|| anyhow!("CreateSecurityGroup {name}: no id"))?
        .to_string();
    if !perms.is_empty() {
        ec2.authorize_security_group_ingress()
            .group_id(&id)
            .set_ip_permissions(Some(perms))
            .send()
            .await
            .with_context(|| format!("AuthorizeSecurityGroupIngress {name}"))?;
    }
    Ok(id)
}

/// Groups, instances in batches, CPU datapoints; returns the seeded scope and its instance ids.
async fn seed_ec2(
    emu_url: &str,
    account: &'static str,
    region: &'static str,
    creds: Option<Credentials>,
    n: usize,
) -> Result<(Scope, Vec<String>)> {
    let cfg = sdk(emu_url, region, creds.clone()).await;
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let vpc = ec2
        .describe_vpcs()
        .send()
        .await
        .context("DescribeVpcs")?
        .vpcs()
        .iter()
        .find(|v| v.is_default() == Some(true))
        .and_then(|v| v.vpc_id())
        .ok_or_else(|| anyhow!("no default VPC in {account} {region}"))?
        .to_string();
    let web = group(&ec2, &vpc, "web", vec![world(80, 80), world(443, 443)]).await?;
    let ssh = group(&ec2, &vpc, "ssh-world", vec![world(22, 22)]).await?;
    let internal = group(
        &ec2,
        &vpc,
        "internal",
        vec![
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(0)
                .to_port(65535)
                .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
                .build(),
        ],
    )
    .await?;
    let db = group(
        &ec2,
        &vpc,
        "db",
        vec![
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(5432)
                .to_port(5432)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&internal).build())
                .build(),
        ],
    )
    .await?;
    let sets: [Vec<String>; 4] = [
        vec![web.clone()],
        vec![web, ssh],
        vec![internal.clone()],
        vec![internal, db],
    ];

    let mut ids = Vec::with_capacity(n);
    let mut reservations = 0;
    while ids.len() < n {
        let k = BATCHES[reservations % BATCHES.len()].min(n - ids.len());
        let out = ec2
            .run_instances()
            .image_id("ami-12c6146b")
            .instance_type(InstanceType::T3Micro)
            .min_count(k as i32)
            .max_count(k as i32)
            .set_security_group_ids(Some(sets[reservations % sets.len()].clone()))
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Instance)
                    .tags(
                        Tag::builder()
                            .key("Name")
                            .value(format!("bench-{reservations}"))
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .with_context(|| format!("RunInstances x{k} in {account} {region}"))?;
        ensure!(
            out.instances().len() == k,
            "RunInstances asked for {k}, got {}",
            out.instances().len()
        );
        ids.extend(
            out.instances()
                .iter()
                .filter_map(|i| i.instance_id().map(str::to_string)),
        );
        reservations += 1;
    }

    // CPU over the last hour for a few instances, one datapoint per 5-minute bucket.
    let cw = aws_sdk_cloudwatch::Client::new(&cfg);
    let now = chrono::Utc::now().timestamp();
    let data: Vec<MetricDatum> = ids
        .iter()
        .take(CPU_INSTANCES)
        .enumerate()
        .flat_map(|(j, id)| {
            (0..12).map(move |k| {
                MetricDatum::builder()
                    .metric_name("CPUUtilization")
                    .dimensions(Dimension::builder().name("InstanceId").value(id).build())
                    .timestamp(aws_smithy_types::DateTime::from_secs(now - k * 300 - 150))
                    .value(if j % 4 == 0 { 98.0 } else { 10.0 + j as f64 })
                    .unit(StandardUnit::Percent)
                    .build()
            })
        })
        .collect();
    cw.put_metric_data()
        .namespace("AWS/EC2")
        .set_metric_data(Some(data))
        .send()
        .await
        .context("PutMetricData")?;

    // Count what the API lists: the default group, and one ENI per instance.
    let (mut groups, mut enis, mut listed_res, mut listed_inst) = (0, 0, 0, 0);
    let mut p = ec2.describe_security_groups().into_paginator().send();
    while let Some(page) = p.next().await {
        groups += page
            .context("DescribeSecurityGroups")?
            .security_groups()
            .len();
    }
    let mut p = ec2.describe_network_interfaces().into_paginator().send();
    while let Some(page) = p.next().await {
        enis += page
            .context("DescribeNetworkInterfaces")?
            .network_interfaces()
            .len();
    }
    let mut p = ec2.describe_instances().into_paginator().send();
    while let Some(page) = p.next().await {
        for r in page.context("DescribeInstances")?.reservations() {
            listed_res += 1;
            listed_inst += r.instances().len();
        }
    }
    ensure!(
        (listed_res, listed_inst) == (reservations, ids.len()),
        "{account} {region}: launched {} instances in {reservations} reservations, \
         DescribeInstances lists {listed_inst} in {listed_res}",
        ids.len()
    );
    let scope = Scope {
        account,
        region,
        creds,
        instances: ids.len(),
        reservations,
        groups,
        enis,
        findings: 0,
        ecs: Vec::new(),
        task_definitions: 0,
    };
    Ok((scope, ids))
}

/// ECS of one scope: cluster `web` with service `web` running `tasks` Fargate tasks (as its
/// scheduler would start them), cluster `batch` with a standalone task. Returns the clusters'
/// (services, tasks, container instances), the revisions in use, and the task interfaces made.
async fn seed_ecs(
    emu_url: &str,
    region: &str,
    creds: Option<Credentials>,
    tasks: usize,
) -> Result<(Vec<(usize, usize, usize)>, usize, usize)> {
    use aws_sdk_ecs::types::{AwsVpcConfiguration, LaunchType, NetworkConfiguration};
    let cfg = sdk(emu_url, region, creds).await;
    let ecs = aws_sdk_ecs::Client::new(&cfg);
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let subnet = ec2
        .describe_subnets()
        .send()
        .await
        .context("DescribeSubnets")?
        .subnets()
        .iter()
        .find(|s| s.default_for_az() == Some(true))
        .and_then(|s| s.subnet_id())
        .ok_or_else(|| anyhow!("no default subnet in {region}"))?
        .to_string();
    for c in ["web", "batch"] {
        ecs.create_cluster()
            .cluster_name(c)
            .send()
            .await
            .context("CreateCluster")?;
    }
    for (family, image) in [("web", "nginx:1.27"), ("agent", "xmrig/xmrig:6.21.0")] {
        support::seed::register(&ecs, family, image)
            .await
            .context("RegisterTaskDefinition")?;
    }
    let net = NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets(&subnet)
                // moto needs the groups named (the VPC default group).
                .security_groups(
                    ec2.describe_security_groups()
                        .group_names("default")
                        .send()
                        .await
                        .context("DescribeSecurityGroups default")?
                        .security_groups()
                        .first()
                        .and_then(|g| g.group_id())
                        .ok_or_else(|| anyhow!("no default group in {region}"))?,
                )
                .build()?,
        )
        .build();
    let deployment = ecs
        .create_service()
        .cluster("web")
        .service_name("web")
        .task_definition("web")
        .desired_count(tasks as i32)
        .launch_type(LaunchType::Fargate)
        .network_configuration(net.clone())
        .send()
        .await
        .context("CreateService")?
        .service()
        .and_then(|s| s.deployments().first())
        .and_then(|d| d.id())
        .ok_or_else(|| anyhow!("CreateService gave no deployment id"))?
        .to_string();
    let mut left = tasks;
    while left > 0 {
        let n = left.min(10);
        ecs.run_task()
            .cluster("web")
            .task_definition("web")
            .count(n as i32)
            .group("service:web")
            .started_by(&deployment)
            .launch_type(LaunchType::Fargate)
            .network_configuration(net.clone())
            .send()
            .await
            .context("RunTask (service)")?;
        left -= n;
    }
    ecs.run_task()
        .cluster("batch")
        .task_definition("agent")
        .launch_type(LaunchType::Fargate)
        .network_configuration(net)
        .send()
        .await
        .context("RunTask (standalone)")?;
    Ok((vec![(1, tasks, 0), (0, 1, 0)], 2, tasks + 1))
}

fn seed_scope(
    rt: &tokio::runtime::Runtime,
    emu: &Emulator,
    account: &'static str,
    region: &'static str,
    creds: Option<Credentials>,
    n: usize,
) -> Result<Scope> {
    let (mut scope, ids) = rt.block_on(seed_ec2(&emu.url(), account, region, creds.clone(), n))?;
    let (ecs, defs, task_enis) = rt.block_on(seed_ecs(&emu.url(), region, creds, n / 10))?;
    scope.ecs = ecs;
    scope.task_definitions = defs;
    scope.enis += task_enis;
    const KINDS: [(&str, f64); 4] = [
        ("CryptoCurrency:EC2/BitcoinTool.B!DNS", 8.0),
        ("UnauthorizedAccess:EC2/SSHBruteForce", 5.0),
        ("Recon:EC2/PortProbeUnprotectedPort", 2.0),
        ("Impact:Runtime/CryptoMinerExecuted", 9.0),
    ];
    let findings: Vec<Value> = (0..FINDINGS)
        .map(|k| {
            let (kind, severity) = KINDS[k % KINDS.len()];
            json!({
                "type": kind,
                "severity": severity,
                "instance_id": ids[k % ids.len()],
                "title": format!("bench finding {k}"),
            })
        })
        .collect();
    let body = json!({"account_id": account, "region": region, "findings": findings});
    let (status, resp) = emu.http("POST", "/_watchfloor/guardduty/findings", &body.to_string());
    ensure!(
        (200..300).contains(&status),
        "seeding findings in {account} {region}: HTTP {status}: {resp}"
    );
    scope.findings = FINDINGS;
    Ok(scope)
}

fn config(emu: &Emulator) -> Result<Config> {
    let regions = format!("{REGIONS:?}");
    let mut src = format!(
        "[settings]\nrequest_timeout_secs = 60\n\n[[account]]\nalias = \"main\"\n\
         regions = {regions}\nendpoint_url = \"{url}\"\n",
        url = emu.url()
    );
    for account in &ACCOUNTS[1..] {
        src += &format!(
            "\n[[account]]\nalias = \"acct-{account}\"\n\
             role_arn = \"arn:aws:iam::{account}:role/watchfloor-read\"\n\
             regions = {regions}\nendpoint_url = \"{url}\"\n",
            url = emu.url()
        );
    }
    Config::parse(Path::new("aws_refresh-bench.toml"), &src).map_err(|e| anyhow!("{e}"))
}

// ------------------------------------------------------------------------------ watchfloor

/// Requests per (account, region) and action.
type PerScope = BTreeMap<(String, String), BTreeMap<String, usize>>;

struct WatchfloorRuns {
    times: Vec<Duration>,
    /// Requests of the first run per scope and action, STS excluded.
    per_scope: PerScope,
    /// STS requests of the first run per action.
    sts: BTreeMap<String, usize>,
}

fn bench_watchfloor(
    rt: &tokio::runtime::Runtime,
    emu: &Emulator,
    config: &Config,
    scopes: &[Scope],
) -> Result<WatchfloorRuns> {
    let mut runs = WatchfloorRuns {
        times: Vec::new(),
        per_scope: PerScope::new(),
        sts: BTreeMap::new(),
    };
    let mut self_reported = BTreeMap::new();
    for run in 0..RUNS {
        clear_requests(emu)?;
        let t = Instant::now();
        let updates = rt.block_on(aws::poll_once(
            config,
            Arc::new(TerminalPrompt),
            &Default::default(),
        ));
        runs.times.push(t.elapsed());
        let reported = check_updates(&updates, scopes)?;
        let (per_scope, sts) = split_requests(&emu.requests())?;
        eprintln!(
            "aws_refresh: watchfloor run {}: {:.1} ms, {} requests (+{} STS)",
            run + 1,
            ms(runs.times[run]),
            total(&per_scope),
            sts.values().sum::<usize>()
        );
        if run == 0 {
            runs.per_scope = per_scope;
            runs.sts = sts;
            self_reported = reported;
        } else if per_scope != runs.per_scope {
            bail!(
                "run {} made other requests than run 1: {per_scope:?}",
                run + 1
            );
        }
    }

    println!();
    println!(
        "watchfloor: one full refresh (aws::poll_once: EC2, CPU, images, GuardDuty, ECS, every scope)"
    );
    println!(
        "{:<24} {:>8} {:>8} {:>6}  actions",
        "scope", "requests", "minimum", "self"
    );
    for s in scopes {
        let actions = runs.per_scope.get(&s.key()).cloned().unwrap_or_default();
        let made: usize = actions.values().sum();
        println!(
            "{:<24} {:>8} {:>8} {:>6}  {}",
            s.label(),
            made,
            s.minimum(),
            self_reported.get(&s.key()).copied().unwrap_or(0),
            action_list(&actions)
        );
    }
    let made = total(&runs.per_scope);
    let minimum: usize = scopes.iter().map(Scope::minimum).sum();
    let reported: u64 = self_reported.values().sum();
    println!("{:<24} {made:>8} {minimum:>8} {reported:>6}", "total");
    let ecs_made: usize = runs
        .per_scope
        .values()
        .flat_map(|a| a.iter())
        .filter(|(a, _)| ECS_ACTIONS.contains(&a.as_str()))
        .map(|(_, n)| n)
        .sum();
    let ecs_min: usize = scopes.iter().map(Scope::ecs_minimum).sum();
    println!(
        "ECS requests per full refresh: {ecs_made} made vs {ecs_min} minimum over {} scopes \
         ({} tasks each; every feed is new in a one-shot refresh, so each task definition is \
         described once here, and never again by a running console)",
        scopes.len(),
        scopes
            .first()
            .map_or(0, |s| s.ecs.iter().map(|c| c.1).sum::<usize>())
    );
    println!(
        "STS, per account (not in the scope rows): {}",
        action_list(&runs.sts)
    );
    println!("(requests = the emulator's record; self = watchfloor's own Report::Requests count)");
    let (min, med) = min_median(&runs.times);
    println!(
        "wall time of {RUNS} runs: {} ms; min {:.1} ms, median {:.1} ms",
        runs.times
            .iter()
            .map(|d| format!("{:.1}", ms(*d)))
            .collect::<Vec<_>>()
            .join(", "),
        ms(min),
        ms(med)
    );
    println!(
        "note: moto pages DescribeInstances by reservation (MaxResults counts reservations, \
         NextToken is a reservation id), so the minimum counts ceil(reservations/1000) pages \
         for it; the seeding launched {:?} instances per RunInstances in turn, so reservations \
         < instances.",
        BATCHES
    );
    Ok(runs)
}

/// Fails on any failed feed or wrong count; returns watchfloor's own request count per scope.
fn check_updates(updates: &[Report], scopes: &[Scope]) -> Result<BTreeMap<(String, String), u64>> {
    let mut reported = BTreeMap::new();
    let mut instances = BTreeMap::new();
    let mut findings = BTreeMap::new();
    let mut failures = Vec::new();
    for u in updates {
        match u {
            Report::Failed {
                scope,
                feed,
                message,
                ..
            } => failures.push(format!(
                "{} {} {feed}: {message}",
                scope.account_id, scope.region
            )),
            Report::Data {
                data:
                    Data::Inventory {
                        scope,
                        instances: i,
                        ..
                    },
                ..
            } => {
                instances.insert((scope.account_id.clone(), scope.region.clone()), i.len());
            }
            Report::Data {
                data: Data::Findings {
                    scope, findings: f, ..
                },
                ..
            } => {
                findings.insert((scope.account_id.clone(), scope.region.clone()), f.len());
            }
            Report::Requests { scope, calls, .. } => {
                *reported
                    .entry((scope.account_id.clone(), scope.region.clone()))
                    .or_insert(0) += calls;
            }
            _ => {}
        }
    }
    ensure!(
        failures.is_empty(),
        "watchfloor's poll failed: {}",
        failures.join("; ")
    );
    for s in scopes {
        let (i, f) = (instances.get(&s.key()), findings.get(&s.key()));
        ensure!(
            i == Some(&s.instances) && f == Some(&s.findings),
            "{}: watchfloor saw {i:?} instances and {f:?} findings, seeded {} and {}",
            s.label(),
            s.instances,
            s.findings
        );
    }
    Ok(reported)
}

fn clear_requests(emu: &Emulator) -> Result<()> {
    let (status, body) = emu.http("DELETE", "/_watchfloor/requests", "");
    ensure!(
        status == 200,
        "DELETE /_watchfloor/requests: HTTP {status}: {body}"
    );
    Ok(())
}

/// Splits the emulator's record into per-scope actions and STS actions; any non-2xx fails.
fn split_requests(record: &[Value]) -> Result<(PerScope, BTreeMap<String, usize>)> {
    let mut per_scope = PerScope::new();
    let mut sts = BTreeMap::new();
    for r in record {
        let field = |k: &str| r[k].as_str().unwrap_or("?").to_string();
        let status = r["status"].as_u64().unwrap_or(0);
        ensure!(
            (200..300).contains(&status),
            "request answered HTTP {status}: {r}"
        );
        let action = field("action");
        if field("service") == "sts" {
            *sts.entry(format!("{action} by {}", field("account_id")))
                .or_insert(0) += 1;
        } else {
            *per_scope
                .entry((field("account_id"), field("region")))
                .or_default()
                .entry(action)
                .or_insert(0) += 1;
        }
    }
    Ok((per_scope, sts))
}

fn total(p: &PerScope) -> usize {
    p.values().flat_map(|a| a.values()).sum()
}

fn action_list(actions: &BTreeMap<String, usize>) -> String {
    let rank = |a: &str| {
        ACTION_ORDER
            .iter()
            .position(|o| a == *o)
            .unwrap_or(ACTION_ORDER.len())
    };
    let mut v: Vec<(&String, &usize)> = actions.iter().collect();
    v.sort_by_key(|(a, _)| (rank(a), a.to_string()));
    v.iter()
        .map(|(a, n)| format!("{a} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_seeded(scopes: &[Scope]) {
    println!();
    println!("seeded (groups include the VPC default group; one ENI per instance)");
    println!(
        "minimum = reservations/1000 + groups/1000 + ENIs/1000 + instances/500 \
         + 2 x findings/50 + 1, each quotient rounded up"
    );
    println!(
        "{:<24} {:>9} {:>12} {:>6} {:>5} {:>8}  minimum",
        "scope", "instances", "reservations", "groups", "ENIs", "findings"
    );
    for s in scopes {
        println!(
            "{:<24} {:>9} {:>12} {:>6} {:>5} {:>8}  {} = {} + {} + {} + {} + 2 x {} + 1",
            s.label(),
            s.instances,
            s.reservations,
            s.groups,
            s.enis,
            s.findings,
            s.minimum(),
            s.reservations.div_ceil(1000),
            s.groups.div_ceil(1000),
            s.enis.div_ceil(1000),
            s.instances.div_ceil(500),
            s.findings.div_ceil(50),
        );
    }
}

// ------------------------------------------------------------------------------ AWS CLI

struct CliRuns {
    times: Vec<Duration>,
    /// Requests the CLI made in one sequential pass.
    requests: usize,
}

/// Runs tests/support/awscli/setup.sh; returns the venv's `aws`.
fn provision_awscli() -> Result<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/awscli/setup.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running bash {}", script.display()))?;
    ensure!(
        out.status.success(),
        "the AWS CLI could not be provisioned ({} failed; it needs python3 with venv and PyPI)",
        script.display()
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("WATCHFLOOR_AWSCLI="))
        .map(|p| PathBuf::from(p.trim()))
        .ok_or_else(|| anyhow!("{} printed no WATCHFLOOR_AWSCLI= line", script.display()))
}

fn cli_command(aws: &Path, emu: &Emulator, s: &Scope) -> Command {
    let (key, secret, token) = s.cli_keys();
    let mut c = Command::new(aws);
    c.args(["ec2", "describe-instances", "--endpoint-url"])
        .arg(emu.url())
        .args(["--region", s.region, "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_PAGER", "")
        .stdin(Stdio::null());
    match token {
        Some(t) => c.env("AWS_SESSION_TOKEN", t),
        None => c.env_remove("AWS_SESSION_TOKEN"),
    };
    c
}

fn bench_cli(emu: &Emulator, scopes: &[Scope]) -> Result<CliRuns> {
    let aws = provision_awscli()?;
    let version = Command::new(&aws)
        .arg("--version")
        .output()
        .context("aws --version")?;
    let version = String::from_utf8_lossy(if version.stdout.is_empty() {
        &version.stderr
    } else {
        &version.stdout
    })
    .trim()
    .to_string();
    // The CLI's fixed cost: interpreter start + imports, no request.
    let mut startup = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let st = Command::new(&aws)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        startup.push(t.elapsed());
        ensure!(st.success(), "aws --version failed");
    }

    let mut runs = CliRuns {
        times: Vec::new(),
        requests: 0,
    };
    let mut per_scope_times = vec![Vec::new(); scopes.len()];
    for run in 0..RUNS {
        clear_requests(emu)?;
        let mut outputs = Vec::with_capacity(scopes.len());
        let t = Instant::now();
        for (i, s) in scopes.iter().enumerate() {
            let ts = Instant::now();
            let out = cli_command(&aws, emu, s)
                .output()
                .with_context(|| format!("running {}", aws.display()))?;
            per_scope_times[i].push(ts.elapsed());
            outputs.push(out);
        }
        runs.times.push(t.elapsed());
        for (s, out) in scopes.iter().zip(&outputs) {
            ensure!(
                out.status.success(),
                "aws ec2 describe-instances ({}) exited {}: {}",
                s.label(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
            let doc: Value = serde_json::from_slice(&out.stdout)
                .with_context(|| format!("aws cli output for {} is not JSON", s.label()))?;
            let seen: usize = doc["Reservations"]
                .as_array()
                .map(|rs| {
                    rs.iter()
                        .map(|r| r["Instances"].as_array().map_or(0, Vec::len))
                        .sum()
                })
                .unwrap_or(0);
            ensure!(
                seen == s.instances,
                "the AWS CLI listed {seen} instances in {}, watchfloor {}",
                s.label(),
                s.instances
            );
        }
        let (per_scope, _sts) = split_requests(&emu.requests())?;
        let requests = total(&per_scope);
        ensure!(
            per_scope.len() == scopes.len(),
            "the CLI's requests went to {} scopes, expected {}: {per_scope:?}",
            per_scope.len(),
            scopes.len()
        );
        eprintln!(
            "aws_refresh: aws cli pass {}: {:.1} ms, {requests} requests",
            run + 1,
            ms(runs.times[run])
        );
        runs.requests = requests;
    }

    println!();
    println!(
        "aws cli: `aws ec2 describe-instances --endpoint-url URL --region R --output json`, \
         one scope after another ({version}; v1 has no pager and rejects --no-cli-pager)"
    );
    println!("{:<24} {:>10} {:>10}", "scope", "min ms", "median ms");
    for (s, t) in scopes.iter().zip(&per_scope_times) {
        let (min, med) = min_median(t);
        println!("{:<24} {:>10.1} {:>10.1}", s.label(), ms(min), ms(med));
    }
    let (min, med) = min_median(&runs.times);
    println!(
        "sequential total of {RUNS} passes: {} ms; min {:.1} ms, median {:.1} ms; \
         {} requests a pass; every pass listed the same instances as watchfloor",
        runs.times
            .iter()
            .map(|d| format!("{:.1}", ms(*d)))
            .collect::<Vec<_>>()
            .join(", "),
        ms(min),
        ms(med),
        runs.requests
    );
    let (smin, smed) = min_median(&startup);
    println!(
        "for reference, `aws --version` (process start + imports, no request): \
         min {:.1} ms, median {:.1} ms",
        ms(smin),
        ms(smed)
    );
    Ok(runs)
}

// ------------------------------------------------------------------------------ helpers

/// 1, 5 and 15-minute load averages (lagging: they include the seeding; other builds on the
/// machine show up here as noise).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn min_median(v: &[Duration]) -> (Duration, Duration) {
    let mut s = v.to_vec();
    s.sort();
    (s[0], s[s.len() / 2])
}
