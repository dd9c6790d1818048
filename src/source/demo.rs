//! Demo source: a deterministic simulated fleet playing a cryptomining campaign.
//!
//! Everything is a pure function of (seed, simulated seconds since start), so the same `--seed`
//! always shows the same fleet and the same campaign. Time is compressed: CPU is sampled every
//! [`CPU_PERIOD_SECS`] simulated seconds and the campaign plays over [`CAMPAIGN_SECS`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::mpsc;

use crate::model::{
    CpuSeries, Finding, IngressRule, Instance, InstanceState, NetworkInterface, RuleSource, Scope,
    SecurityGroup,
};
use futures::future::BoxFuture;

use crate::feed::{AccountInfo, Data, Feed, FeedError, Polled, Report};
use crate::model::credits::{CreditMode, Credits, baseline_pct, is_burstable};
use crate::model::image::Image;
use crate::model::launch::{LaunchedBy, Launcher, beyond_history};
use crate::model::price::{PriceKey, Quote};
use crate::model::task::{
    Cluster, Container, Service, Task, TaskDefinition, name_of, service_cpu_key,
};
use crate::source::aws::{cpu, ec2, ecs, findings, images};

/// Simulated seconds between CPU samples.
pub const CPU_PERIOD_SECS: u32 = 10;
/// Simulated seconds after which the campaign has fully played out.
pub const CAMPAIGN_SECS: f64 = 300.0;
/// Real seconds between demo polls of each feed.
pub const POLL_SECS: u32 = 5;
/// CPU samples back-filled on the first poll.
const BACKFILL: usize = 30;
/// The campaign's ECS miners: the service (and task definition family) name.
pub const MINER_SERVICE: &str = "metrics-agent";
/// The image the campaign's ECS miners run, from Docker Hub.
pub const MINER_IMAGE: &str = "docker.io/xmrig/xmrig:6.21.0";
/// Simulated second the miners' cluster and security group are created.
const MINER_CLUSTER_AT: f64 = 120.0;
/// Simulated second the first miner task starts (the next ones every 6 s, then a standalone).
const MINER_TASKS_AT: f64 = 130.0;

/// A finding scheduled to appear at a simulated time.
#[derive(Debug, Clone)]
struct Scheduled {
    at: f64,
    kind: &'static str,
    severity: f64,
    title: &'static str,
}

#[derive(Debug, Clone)]
struct DemoInstance {
    scope: Scope,
    instance: Instance,
    /// Simulated second at which the instance exists (negative: before the demo starts).
    appears_at: f64,
    cpu_base: f64,
    miner_from: Option<f64>,
    findings: Vec<Scheduled>,
    noise_key: u64,
    /// Credit mode of a burstable instance and its balance when the demo starts.
    credits: Option<(CreditMode, f64)>,
}

/// An ECS cluster of the simulation.
#[derive(Debug, Clone)]
struct DemoCluster {
    scope: Scope,
    cluster: Cluster,
    /// Simulated second at which it exists.
    appears_at: f64,
}

/// An ECS service of the simulation (its running count follows its live tasks).
#[derive(Debug, Clone)]
struct DemoService {
    scope: Scope,
    cluster: &'static str,
    name: &'static str,
    desired: i32,
    /// Simulated second at which it exists.
    appears_at: f64,
}

/// An ECS task of the simulation.
#[derive(Debug, Clone)]
struct DemoTask {
    scope: Scope,
    task: Task,
    /// Its awsvpc interface: in the scope's EC2 inventory (loose interfaces) while it runs.
    eni: Option<NetworkInterface>,
    /// Simulated second at which it runs.
    appears_at: f64,
    cpu_base: f64,
    /// Mines from the start: CPU pinned.
    miner: bool,
    findings: Vec<Scheduled>,
    noise_key: u64,
}

/// How a demo task is reached.
#[derive(Debug, Clone)]
enum TaskNet {
    /// Its own awsvpc interface with these groups, with a public IP or not.
    Awsvpc { groups: Vec<String>, public: bool },
    /// Bridge mode on an EC2 container instance (the task shares the host's interfaces).
    Bridge {
        container_instance: String,
        host: String,
        host_ports: Vec<(i32, String)>,
    },
}

/// What a demo task is made of; its ARN, interface and noise come from the seed.
#[derive(Debug, Clone)]
struct TaskSpec {
    scope: Scope,
    cluster: &'static str,
    service: Option<&'static str>,
    /// `family:revision`.
    definition: String,
    registered_at: DateTime<Utc>,
    role: Option<String>,
    container: &'static str,
    image: String,
    digest: String,
    launch_type: &'static str,
    cpu: &'static str,
    memory: &'static str,
    started_by: String,
    net: TaskNet,
    appears_at: f64,
    started_at: DateTime<Utc>,
    cpu_base: f64,
    miner: bool,
    findings: Vec<Scheduled>,
}

/// A failure window of one feed of one scope (shows error / stale handling).
#[derive(Debug, Clone)]
struct Outage {
    scope: Scope,
    feed: &'static str,
    from: f64,
    to: f64,
    message: &'static str,
}

/// A snapshot taken of a demo volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSnapshot {
    /// Snapshot id.
    pub id: String,
    /// Volume snapshotted.
    pub volume: String,
    /// Tags (case, instance).
    pub tags: Vec<(String, String)>,
}

/// Changes made by triage actions on the demo fleet (the simulation itself never changes).
#[derive(Debug, Default)]
pub struct Overrides {
    /// Lifecycle states set by stop.
    pub state: HashMap<String, InstanceState>,
    /// ENI id -> groups set by quarantine/release.
    pub eni_groups: HashMap<String, Vec<String>>,
    /// Instance or resource id -> tags set or removed.
    pub tags: HashMap<String, std::collections::BTreeMap<String, String>>,
    /// Instance id -> (termination protection, stop protection).
    pub protection: HashMap<String, (Option<bool>, Option<bool>)>,
    /// Groups created by triage, per scope.
    pub groups: HashMap<Scope, Vec<SecurityGroup>>,
    /// Outbound rules of the groups triage created (the fleet view shows inbound only).
    pub egress: HashMap<String, Vec<crate::model::IngressRule>>,
    /// Instance id -> InstanceInitiatedShutdownBehavior set by quarantine/release.
    pub shutdown: HashMap<String, String>,
    /// Instance id -> DeleteOnTermination of its volume set by quarantine/release.
    pub delete_on_termination: HashMap<String, bool>,
    /// Snapshots taken.
    pub snapshots: Vec<DemoSnapshot>,
    /// Finding ids archived from the console.
    pub archived: std::collections::HashSet<String>,
    /// Task ARN -> reason given to StopTask (a stopped task never runs again).
    pub stopped_tasks: HashMap<String, String>,
    /// (scope, cluster name, service name) -> desired count set by UpdateService.
    pub service_desired: HashMap<(Scope, String, String), i32>,
    /// Counter for generated ids.
    pub serial: u64,
}

/// The simulated world: a pure function of (seed, simulated time), plus the overrides triage
/// actions made.
#[derive(Debug)]
pub struct DemoWorld {
    seed: u64,
    origin: DateTime<Utc>,
    /// Simulated seconds per real second (timestamps are real wall-clock times).
    speed: f64,
    accounts: Vec<AccountInfo>,
    instances: Vec<DemoInstance>,
    groups: HashMap<Scope, Vec<SecurityGroup>>,
    /// Groups created during the demo: from the simulated second given on.
    late_groups: Vec<(Scope, f64, SecurityGroup)>,
    clusters: Vec<DemoCluster>,
    services: Vec<DemoService>,
    tasks: Vec<DemoTask>,
    outages: Vec<Outage>,
    /// Indexes into `instances` by scope.
    by_scope: HashMap<Scope, Vec<usize>>,
    /// Triage changes.
    pub overrides: std::sync::Mutex<Overrides>,
}

struct AccountSpec {
    alias: &'static str,
    id: &'static str,
    regions: &'static [&'static str],
    home: &'static [&'static str],
}

const ACCOUNTS: &[AccountSpec] = &[
    AccountSpec {
        alias: "prod",
        id: "210987654321",
        regions: &["us-east-1", "eu-west-1", "ap-south-1"],
        home: &["us-east-1", "eu-west-1"],
    },
    AccountSpec {
        alias: "staging",
        id: "345678901234",
        regions: &["us-east-1", "us-west-2", "sa-east-1"],
        home: &["us-east-1", "us-west-2"],
    },
    AccountSpec {
        alias: "data",
        id: "456789012345",
        regions: &["eu-central-1", "eu-west-1"],
        home: &["eu-central-1", "eu-west-1"],
    },
];

const ROLES: &[(&str, &[&str], &[&str])] = &[
    // (name prefix, instance types, security group names)
    (
        "web",
        &["t3.medium", "m5.large", "c5.large"],
        &["web-public", "internal"],
    ),
    (
        "api",
        &["m5.large", "c5.xlarge", "m6i.large"],
        &["web-public", "internal"],
    ),
    (
        "worker",
        &["c5.xlarge", "c6i.2xlarge", "m5.xlarge"],
        &["internal"],
    ),
    ("db", &["r5.xlarge", "r6i.2xlarge"], &["db", "internal"]),
    ("cache", &["r5.large", "t3.medium"], &["internal"]),
    (
        "batch",
        &["c5.2xlarge", "m5.2xlarge"],
        &["internal", "office-ssh"],
    ),
    ("etl", &["r5.2xlarge", "m5.xlarge"], &["internal"]),
    ("kafka", &["m5.2xlarge"], &["internal"]),
    ("jump", &["t3.micro"], &["office-ssh"]),
];

fn rule(proto: &str, from: i32, to: i32, source: RuleSource) -> IngressRule {
    IngressRule {
        protocol: proto.into(),
        from_port: Some(from),
        to_port: Some(to),
        source,
    }
}

fn world4() -> RuleSource {
    RuleSource::Cidr4("0.0.0.0/0".into())
}

fn groups_for(scope: &Scope, rng: &mut ChaCha8Rng) -> Vec<SecurityGroup> {
    let vpc = format!("vpc-{:08x}", rng.random::<u32>());
    let mut id = |_: &str| format!("sg-{:017x}", rng.random::<u64>() >> 4);
    let internal = id("internal");
    let mk = |gid: String, name: &str, ingress: Vec<IngressRule>| SecurityGroup {
        group_id: gid,
        name: name.into(),
        vpc_id: Some(vpc.clone()),
        ingress,
    };
    let _ = scope;
    vec![
        mk(
            id("web"),
            "web-public",
            vec![
                rule("tcp", 443, 443, world4()),
                rule("tcp", 443, 443, RuleSource::Cidr6("::/0".into())),
                rule("tcp", 80, 80, world4()),
            ],
        ),
        mk(
            internal.clone(),
            "internal",
            vec![rule("-1", -1, -1, RuleSource::Group(internal.clone()))],
        ),
        mk(
            id("db"),
            "db",
            vec![rule("tcp", 5432, 5432, RuleSource::Group(internal.clone()))],
        ),
        mk(
            id("office"),
            "office-ssh",
            vec![rule(
                "tcp",
                22,
                22,
                RuleSource::Cidr4("203.0.113.0/24".into()),
            )],
        ),
        mk(
            id("legacy"),
            "legacy-ssh",
            vec![rule("tcp", 22, 22, world4())],
        ),
        mk(
            id("rdp"),
            "rdp-temp",
            vec![rule("tcp", 3389, 3389, world4())],
        ),
        mk(
            id("ci"),
            "ci-runner",
            vec![
                rule("tcp", 2375, 2376, world4()),
                rule("tcp", 8080, 8090, world4()),
            ],
        ),
        mk(
            id("debug"),
            "debug-wide-open",
            vec![IngressRule {
                protocol: "-1".into(),
                from_port: None,
                to_port: None,
                source: world4(),
            }],
        ),
        mk(
            id("attacker"),
            "launch-wizard-7",
            vec![
                rule("tcp", 22, 22, world4()),
                rule("tcp", 0, 65535, world4()),
            ],
        ),
    ]
}

/// An ordinary instance of the fleet (`n`th of its account x region): a role, its type and
/// groups, a few classic mistakes, seeded.
#[allow(clippy::too_many_arguments)]
fn random_instance(
    rng: &mut ChaCha8Rng,
    scope: &Scope,
    gs: &[SecurityGroup],
    alias: &str,
    n: usize,
    origin: DateTime<Utc>,
    seed: u64,
    serial: u64,
) -> DemoInstance {
    let (role, types, sg_names) = ROLES[rng.random_range(0..ROLES.len())];
    let ty = types[rng.random_range(0..types.len())];
    let mut sgs: Vec<&str> = sg_names.to_vec();
    let roll = rng.random_range(0..100);
    if roll < 4 {
        sgs.push("legacy-ssh");
    } else if roll < 6 {
        sgs.push("rdp-temp");
    } else if roll < 7 {
        sgs.push("debug-wide-open");
    }
    let public = sgs.contains(&"web-public") || roll < 10 || role == "jump";
    let second_eni = role == "kafka" || role == "db" && rng.random_bool(0.5);
    let launched = origin - TimeDelta::hours(rng.random_range(2..24 * 200));
    let inst = make_instance(
        rng,
        scope,
        gs,
        &format!("{alias}-{role}-{:02}", n + 1),
        ty,
        &sgs,
        public,
        second_eni,
        launched,
    );
    DemoInstance {
        scope: scope.clone(),
        instance: inst,
        appears_at: f64::NEG_INFINITY,
        cpu_base: match role {
            "batch" | "etl" => rng.random_range(30.0..70.0),
            "worker" | "api" => rng.random_range(15.0..45.0),
            _ => rng.random_range(2.0..25.0),
        },
        miner_from: None,
        findings: Vec::new(),
        noise_key: seed ^ serial.wrapping_mul(0x2545_F491_4F6C_DD1D),
        credits: None,
    }
}

/// Regions the simulated organization's members run in (two home regions each, and one they
/// do not use).
const MEMBER_REGIONS: [&str; 7] = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-southeast-2",
];

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn unit(x: u64) -> f64 {
    (splitmix(x) >> 11) as f64 / (1u64 << 53) as f64
}

impl DemoWorld {
    /// Builds the world for `seed`; simulated second 0 is `origin`.
    pub fn new(seed: u64, origin: DateTime<Utc>) -> Self {
        Self::sized(seed, origin, ACCOUNTS.len(), 0)
    }

    /// The world for `seed` as a simulated Organization of `accounts` accounts (at least the
    /// three the campaign plays in) holding about `instances` instances in all (0: the
    /// campaign accounts' own ~110). Members beyond the three are `member-NNNN`, each running in
    /// two home regions and watched in a third it does not use; the campaign is the same.
    pub fn sized(seed: u64, origin: DateTime<Utc>, accounts: usize, instances: usize) -> Self {
        let mut world = Self::base(seed, origin);
        let extra = accounts.saturating_sub(ACCOUNTS.len());
        if extra > 0 {
            let want = instances.saturating_sub(world.instances.len());
            let per_scope = want.div_ceil(extra * 2);
            let mut serial = world.instances.len() as u64 + 1_000_000;
            for k in 0..extra {
                let number = k + ACCOUNTS.len() + 1;
                let alias = format!("member-{number:04}");
                let id = format!("{:012}", 100_000_000_000u64 + number as u64 * 7_919);
                let first = k % MEMBER_REGIONS.len();
                let home: Vec<String> = [first, (first + 1) % MEMBER_REGIONS.len()]
                    .iter()
                    .map(|i| MEMBER_REGIONS[*i].to_string())
                    .collect();
                let mut regions = home.clone();
                regions.push(MEMBER_REGIONS[(first + 3) % MEMBER_REGIONS.len()].to_string());
                // Members draw from their own stream: the campaign accounts stay the same
                // whatever the size.
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ splitmix(number as u64));
                for region in &regions {
                    let scope = Scope::new(&id, region);
                    let gs = groups_for(&scope, &mut rng);
                    if home.contains(region) {
                        for n in 0..per_scope {
                            serial += 1;
                            world.instances.push(random_instance(
                                &mut rng, &scope, &gs, &alias, n, origin, seed, serial,
                            ));
                        }
                    }
                    world.groups.insert(scope, gs);
                }
                world.accounts.push(AccountInfo {
                    alias,
                    account_id: id,
                    verified: true,
                    regions,
                    home_regions: home,
                    color: None,
                    read_only: false,
                });
            }
            for d in &mut world.instances {
                if d.credits.is_none() && is_burstable(&d.instance.instance_type) {
                    d.credits = Some((CreditMode::Unlimited, 60.0 + 80.0 * unit(d.noise_key)));
                }
            }
        }
        world.index();
        world
    }

    /// Indexes the instances by scope (every feed reads one scope's).
    fn index(&mut self) {
        self.by_scope.clear();
        for (i, d) in self.instances.iter().enumerate() {
            self.by_scope.entry(d.scope.clone()).or_default().push(i);
        }
    }

    /// The campaign accounts' world.
    fn base(seed: u64, origin: DateTime<Utc>) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let accounts: Vec<AccountInfo> = ACCOUNTS
            .iter()
            .map(|a| AccountInfo {
                alias: a.alias.into(),
                account_id: a.id.into(),
                verified: true,
                regions: a.regions.iter().map(|s| s.to_string()).collect(),
                home_regions: a.home.iter().map(|s| s.to_string()).collect(),
                // Production stands out in red, as a config would set it.
                color: (a.alias == "prod")
                    .then(|| crate::theme::account_color("red").expect("a named colour")),
                read_only: false,
            })
            .collect();
        let mut groups = HashMap::new();
        let mut instances = Vec::new();
        let mut serial = 0u64;
        for a in ACCOUNTS {
            for region in a.regions {
                let scope = Scope::new(a.id, *region);
                let gs = groups_for(&scope, &mut rng);
                let home = a.home.contains(region);
                let count = if home { rng.random_range(14..24) } else { 0 };
                for n in 0..count {
                    serial += 1;
                    instances.push(random_instance(
                        &mut rng, &scope, &gs, a.alias, n, origin, seed, serial,
                    ));
                }
                groups.insert(scope, gs);
            }
        }
        let mut world = DemoWorld {
            seed,
            origin,
            speed: 1.0,
            accounts,
            instances,
            groups,
            late_groups: Vec::new(),
            clusters: Vec::new(),
            services: Vec::new(),
            tasks: Vec::new(),
            outages: Vec::new(),
            by_scope: HashMap::new(),
            overrides: Default::default(),
        };
        world.plant_campaign(&mut rng, &mut serial);
        world.plant_ecs(&mut rng, &mut serial);
        // Other burstable boxes run in unlimited mode (the default for t3) with credits to spare.
        for d in &mut world.instances {
            if d.credits.is_none() && is_burstable(&d.instance.instance_type) {
                d.credits = Some((CreditMode::Unlimited, 60.0 + 80.0 * unit(d.noise_key)));
            }
        }
        world
    }

    /// The campaign: brute force, miner, GPU burst in an unused region, a rival gang.
    fn plant_campaign(&mut self, rng: &mut ChaCha8Rng, serial: &mut u64) {
        let prod_use1 = Scope::new("210987654321", "us-east-1");
        let prod_aps1 = Scope::new("210987654321", "ap-south-1");
        let stg_use1 = Scope::new("345678901234", "us-east-1");
        let stg_sae1 = Scope::new("345678901234", "sa-east-1");
        let data_euw1 = Scope::new("456789012345", "eu-west-1");

        // 1. Patient zero: a forgotten bastion with SSH open to the world.
        let gs = self.groups[&prod_use1].clone();
        let bastion = make_instance(
            rng,
            &prod_use1,
            &gs,
            "bastion-legacy",
            "t3.large",
            &["legacy-ssh", "internal"],
            true,
            false,
            self.origin - TimeDelta::days(412),
        );
        *serial += 1;
        self.instances.push(DemoInstance {
            scope: prod_use1.clone(),
            instance: bastion,
            appears_at: f64::NEG_INFINITY,
            cpu_base: 4.0,
            miner_from: Some(45.0),
            findings: vec![
                Scheduled {
                    at: 20.0,
                    kind: "UnauthorizedAccess:EC2/SSHBruteForce",
                    severity: 5.0,
                    title: "SSH brute force attacks against i-bastion",
                },
                Scheduled {
                    at: 70.0,
                    kind: "CryptoCurrency:EC2/BitcoinTool.B!DNS",
                    severity: 8.0,
                    title: "EC2 instance is querying a domain name associated with Bitcoin",
                },
                Scheduled {
                    at: 220.0,
                    kind: "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
                    severity: 8.0,
                    title: "Credentials of the instance role were used from outside AWS",
                },
            ],
            noise_key: self.seed ^ serial.wrapping_mul(0x2545_F491_4F6C_DD1D),
            // Standard mode: mining spends its credits, then it is held at 30 %.
            credits: Some((CreditMode::Standard, 40.0)),
        });

        // 2. GPU burst in a region prod never uses.
        let gs = self.groups[&prod_aps1].clone();
        for (i, ty) in ["p3.16xlarge", "p3.16xlarge", "g4dn.12xlarge", "g5.12xlarge"]
            .iter()
            .enumerate()
        {
            let at = 100.0 + 4.0 * i as f64;
            let mut inst = make_instance(
                rng,
                &prod_aps1,
                &gs,
                "",
                ty,
                &["launch-wizard-7"],
                true,
                false,
                self.time_of(at),
            );
            // A mining image shared from another account, Spot capacity, no key pair.
            inst.image_id = Some(FOREIGN_IMAGE.into());
            inst.key_name = None;
            inst.spot = true;
            *serial += 1;
            self.instances.push(DemoInstance {
                scope: prod_aps1.clone(),
                instance: inst,
                appears_at: at,
                cpu_base: 2.0,
                miner_from: Some(at + 10.0),
                findings: vec![
                    Scheduled {
                        at: 140.0 + 5.0 * i as f64,
                        kind: "CryptoCurrency:EC2/BitcoinTool.B",
                        severity: 8.0,
                        title: "EC2 instance is communicating with a Bitcoin mining pool",
                    },
                    Scheduled {
                        at: 150.0 + 5.0 * i as f64,
                        kind: "Impact:EC2/BitcoinDomainRequest.Reputation",
                        severity: 8.0,
                        title: "EC2 instance is querying a domain name associated with cryptocurrency",
                    },
                ],
                noise_key: self.seed ^ serial.wrapping_mul(0x2545_F491_4F6C_DD1D),
credits: None,
            });
        }

        // 3. A rival gang takes a CI runner with the Docker API open.
        let gs = self.groups[&stg_use1].clone();
        let ci = make_instance(
            rng,
            &stg_use1,
            &gs,
            "ci-runner-03",
            "c5.2xlarge",
            &["ci-runner", "internal"],
            true,
            true,
            self.origin - TimeDelta::days(37),
        );
        *serial += 1;
        self.instances.push(DemoInstance {
            scope: stg_use1.clone(),
            instance: ci,
            appears_at: f64::NEG_INFINITY,
            cpu_base: 25.0,
            miner_from: Some(180.0),
            findings: vec![
                Scheduled {
                    at: 30.0,
                    kind: "Recon:EC2/PortProbeUnprotectedPort",
                    severity: 2.0,
                    title: "Unprotected port 2375 on the instance is being probed",
                },
                Scheduled {
                    at: 200.0,
                    kind: "CryptoCurrency:EC2/BitcoinTool.B!DNS",
                    severity: 8.0,
                    title: "EC2 instance is querying a domain name associated with Bitcoin",
                },
                Scheduled {
                    at: 215.0,
                    kind: "Impact:Runtime/CryptoMinerExecuted",
                    severity: 9.0,
                    title: "A process is executing a cryptocurrency miner",
                },
            ],
            noise_key: self.seed ^ serial.wrapping_mul(0x2545_F491_4F6C_DD1D),
            credits: None,
        });

        // 4. Huge compute in staging's unused region.
        let gs = self.groups[&stg_sae1].clone();
        for i in 0..3 {
            let at = 240.0 + 3.0 * i as f64;
            let inst = make_instance(
                rng,
                &stg_sae1,
                &gs,
                "",
                "c5.24xlarge",
                &["launch-wizard-7"],
                true,
                false,
                self.time_of(at),
            );
            *serial += 1;
            self.instances.push(DemoInstance {
                scope: stg_sae1.clone(),
                instance: inst,
                appears_at: at,
                cpu_base: 3.0,
                miner_from: Some(at + 8.0),
                findings: vec![Scheduled {
                    at: 275.0 + 4.0 * i as f64,
                    kind: "CryptoCurrency:EC2/BitcoinTool.B",
                    severity: 8.0,
                    title: "EC2 instance is communicating with a Bitcoin mining pool",
                }],
                noise_key: self.seed ^ serial.wrapping_mul(0x2545_F491_4F6C_DD1D),
                credits: None,
            });
        }

        // 5. A Fargate service of miners in prod's unused region (see plant_miner_service).
        self.plant_miner_service(rng, serial, &prod_aps1);

        // 6. A throttled GuardDuty feed for a while (error, then stale data, then recovery).
        self.outages.push(Outage {
            scope: data_euw1,
            feed: findings::NAME,
            from: 120.0,
            to: 170.0,
            message: "ThrottlingException: Rate exceeded (backing off)",
        });
    }

    /// The campaign's ECS stage, with the leaked CI key: a `metrics-agent` task definition
    /// registered as the campaign starts, running `xmrig` from Docker Hub; a new `default`
    /// cluster without Container Insights; a group open to the world on the pool port; a
    /// three-task Fargate service and one more task run by hand, each with a public IP.
    fn plant_miner_service(&mut self, rng: &mut ChaCha8Rng, serial: &mut u64, scope: &Scope) {
        let cluster = "default";
        self.add_cluster(scope, cluster, false, MINER_CLUSTER_AT);
        let group = SecurityGroup {
            group_id: format!("sg-{:017x}", rng.random::<u64>() >> 4),
            name: "metrics-agent".into(),
            vpc_id: self
                .groups
                .get(scope)
                .and_then(|g| g.first())
                .and_then(|g| g.vpc_id.clone()),
            ingress: vec![rule("tcp", 3333, 3333, world4())],
        };
        let group_id = group.group_id.clone();
        self.late_groups
            .push((scope.clone(), MINER_CLUSTER_AT, group));
        self.add_service(scope, cluster, MINER_SERVICE, 3, MINER_CLUSTER_AT + 5.0);
        let base = TaskSpec {
            scope: scope.clone(),
            cluster,
            service: Some(MINER_SERVICE),
            definition: format!("{MINER_SERVICE}:1"),
            registered_at: self.time_of(0.0),
            role: None,
            container: MINER_SERVICE,
            image: MINER_IMAGE.into(),
            digest: digest(rng),
            launch_type: "FARGATE",
            cpu: "4096",
            memory: "8192",
            started_by: service_starter(rng),
            net: TaskNet::Awsvpc {
                groups: vec![group_id],
                public: true,
            },
            appears_at: 0.0,
            started_at: self.origin,
            cpu_base: 2.0,
            miner: true,
            findings: Vec::new(),
        };
        for i in 0..3 {
            let at = MINER_TASKS_AT + 6.0 * i as f64;
            let findings = match i {
                0 => vec![Scheduled {
                    at: 165.0,
                    kind: "CryptoCurrency:Runtime/BitcoinTool.B!DNS",
                    severity: 8.0,
                    title: "ECS task is querying a domain name associated with Bitcoin",
                }],
                1 => vec![Scheduled {
                    at: 185.0,
                    kind: "Impact:Runtime/CryptoMinerExecuted",
                    severity: 8.0,
                    title: "A process in an ECS task is executing a cryptocurrency miner",
                }],
                _ => Vec::new(),
            };
            let spec = TaskSpec {
                appears_at: at,
                started_at: self.time_of(at),
                findings,
                ..base.clone()
            };
            self.push_task(rng, serial, spec);
        }
        // RunTask by hand, outside the service: a standalone task of the same family.
        let at = MINER_TASKS_AT + 20.0;
        let spec = TaskSpec {
            service: None,
            started_by: String::new(),
            appears_at: at,
            started_at: self.time_of(at),
            ..base
        };
        self.push_task(rng, serial, spec);
    }

    /// The everyday ECS footprint, one home region per account: prod's `web` service on
    /// Fargate (Container Insights on), staging's `report-worker` on an EC2 container instance
    /// in bridge mode (insights off: service-level CPU), data's `ingest` service on Fargate.
    fn plant_ecs(&mut self, rng: &mut ChaCha8Rng, serial: &mut u64) {
        let prod = Scope::new("210987654321", "us-east-1");
        let stg = Scope::new("345678901234", "us-west-2");
        let data = Scope::new("456789012345", "eu-central-1");
        self.plant_fargate_service(rng, serial, &prod, "prod-web", "web", 4);
        self.plant_fargate_service(rng, serial, &data, "data-pipeline", "ingest", 2);

        // Staging runs its report worker on one of its own instances.
        let (cluster, service) = ("staging-batch", "report-worker");
        let in_stg = || {
            self.instances
                .iter()
                .filter(|d| d.scope == stg)
                .map(|d| &d.instance)
        };
        let Some(host) = in_stg()
            .find(|i| i.name.contains("-worker-") || i.name.contains("-batch-"))
            .or_else(|| in_stg().next())
            .map(|i| i.instance_id.clone())
        else {
            return;
        };
        self.add_cluster(&stg, cluster, false, f64::NEG_INFINITY);
        self.add_service(&stg, cluster, service, 2, f64::NEG_INFINITY);
        let container_instance = format!(
            "arn:aws:ecs:{}:{}:container-instance/{cluster}/{:032x}",
            stg.region,
            stg.account_id,
            rng.random::<u128>()
        );
        let registered_at = self.origin - TimeDelta::hours(rng.random_range(48..24 * 60));
        let base = TaskSpec {
            scope: stg.clone(),
            cluster,
            service: Some(service),
            definition: format!("{service}:{}", rng.random_range(5..40)),
            registered_at,
            role: Some(format!(
                "arn:aws:iam::{}:role/{service}-task",
                stg.account_id
            )),
            container: service,
            image: ecr_image(rng, &stg, service, registered_at),
            digest: digest(rng),
            launch_type: "EC2",
            cpu: "256",
            memory: "512",
            started_by: service_starter(rng),
            net: TaskNet::Bridge {
                container_instance: container_instance.clone(),
                host: host.clone(),
                host_ports: Vec::new(),
            },
            appears_at: f64::NEG_INFINITY,
            started_at: registered_at,
            cpu_base: 0.0,
            miner: false,
            findings: Vec::new(),
        };
        for _ in 0..2 {
            let spec = TaskSpec {
                started_at: registered_at + TimeDelta::minutes(rng.random_range(1..30)),
                cpu_base: rng.random_range(8.0..26.0),
                net: TaskNet::Bridge {
                    container_instance: container_instance.clone(),
                    host: host.clone(),
                    // A dynamic host port per task.
                    host_ports: vec![(rng.random_range(32768..61000), "tcp".into())],
                },
                ..base.clone()
            };
            self.push_task(rng, serial, spec);
        }
    }

    /// A quiet Fargate service of `count` tasks from the account's own ECR, on awsvpc
    /// interfaces in the internal group only, in a cluster with Container Insights on.
    fn plant_fargate_service(
        &mut self,
        rng: &mut ChaCha8Rng,
        serial: &mut u64,
        scope: &Scope,
        cluster: &'static str,
        service: &'static str,
        count: usize,
    ) {
        self.add_cluster(scope, cluster, true, f64::NEG_INFINITY);
        self.add_service(scope, cluster, service, count as i32, f64::NEG_INFINITY);
        let internal = self
            .groups
            .get(scope)
            .and_then(|gs| gs.iter().find(|g| g.name == "internal"))
            .map(|g| g.group_id.clone())
            .unwrap_or_default();
        let registered_at = self.origin - TimeDelta::hours(rng.random_range(30..24 * 30));
        let base = TaskSpec {
            scope: scope.clone(),
            cluster,
            service: Some(service),
            definition: format!("{service}:{}", rng.random_range(20..90)),
            registered_at,
            role: Some(format!(
                "arn:aws:iam::{}:role/{service}-task",
                scope.account_id
            )),
            container: service,
            image: ecr_image(rng, scope, service, registered_at),
            digest: digest(rng),
            launch_type: "FARGATE",
            cpu: "512",
            memory: "1024",
            started_by: service_starter(rng),
            net: TaskNet::Awsvpc {
                groups: vec![internal],
                public: false,
            },
            appears_at: f64::NEG_INFINITY,
            started_at: registered_at,
            cpu_base: 0.0,
            miner: false,
            findings: Vec::new(),
        };
        for _ in 0..count {
            let spec = TaskSpec {
                started_at: registered_at + TimeDelta::minutes(rng.random_range(1..30)),
                cpu_base: rng.random_range(10.0..28.0),
                ..base.clone()
            };
            self.push_task(rng, serial, spec);
        }
    }

    /// Adds a cluster that exists from simulated second `appears_at`.
    fn add_cluster(&mut self, scope: &Scope, name: &str, insights: bool, appears_at: f64) {
        self.clusters.push(DemoCluster {
            scope: scope.clone(),
            cluster: Cluster {
                name: name.into(),
                arn: cluster_arn(scope, name),
                insights,
                // The demo's insights clusters have task-level series.
                enhanced: insights,
            },
            appears_at,
        });
    }

    /// Adds a service that exists from simulated second `appears_at`.
    fn add_service(
        &mut self,
        scope: &Scope,
        cluster: &'static str,
        name: &'static str,
        desired: i32,
        appears_at: f64,
    ) {
        self.services.push(DemoService {
            scope: scope.clone(),
            cluster,
            name,
            desired,
            appears_at,
        });
    }

    /// Adds a task: its ARN, interface and addresses drawn from `rng`.
    fn push_task(&mut self, rng: &mut ChaCha8Rng, serial: &mut u64, s: TaskSpec) {
        let task_arn = format!(
            "arn:aws:ecs:{}:{}:task/{}/{:032x}",
            s.scope.region,
            s.scope.account_id,
            s.cluster,
            rng.random::<u128>()
        );
        let octet = |rng: &mut ChaCha8Rng| rng.random_range(2..250);
        let (eni, container_instance, host_instance, host_ports, mode) = match s.net {
            TaskNet::Awsvpc { groups, public } => {
                let eni = NetworkInterface {
                    eni_id: format!("eni-0{:016x}", rng.random::<u64>()),
                    device_index: 0,
                    subnet_id: Some(format!("subnet-{:08x}", rng.random::<u32>())),
                    private_ip: Some(format!("10.{}.{}.{}", octet(rng), octet(rng), octet(rng))),
                    public_ip: public.then(|| {
                        format!(
                            "{}.{}.{}.{}",
                            3 + rng.random_range(0..50),
                            octet(rng),
                            octet(rng),
                            octet(rng)
                        )
                    }),
                    ipv6: vec![],
                    group_ids: groups,
                };
                (Some(eni), None, None, Vec::new(), "awsvpc")
            }
            TaskNet::Bridge {
                container_instance,
                host,
                host_ports,
            } => (
                None,
                Some(container_instance),
                Some(host),
                host_ports,
                "bridge",
            ),
        };
        let task = Task {
            task_arn,
            cluster: s.cluster.into(),
            service: s.service.map(str::to_string),
            claimed_service: None,
            overridden: false,
            task_definition: s.definition,
            containers: vec![Container {
                name: s.container.into(),
                image: s.image,
                digest: Some(s.digest),
                host_ports,
            }],
            launch_type: s.launch_type.into(),
            last_status: "RUNNING".into(),
            started_at: Some(s.started_at),
            started_by: s.started_by,
            cpu: Some(s.cpu.into()),
            memory: Some(s.memory.into()),
            container_instance,
            host_instance,
            eni_id: eni.as_ref().map(|n| n.eni_id.clone()),
            private_ip: eni.as_ref().and_then(|n| n.private_ip.clone()),
            definition: Some(TaskDefinition {
                registered_at: Some(s.registered_at),
                network_mode: mode.into(),
                task_role_arn: s.role,
            }),
            interfaces: Vec::new(),
        };
        *serial += 1;
        self.tasks.push(DemoTask {
            scope: s.scope,
            task,
            eni,
            appears_at: s.appears_at,
            cpu_base: s.cpu_base,
            miner: s.miner,
            findings: s.findings,
            noise_key: self.seed ^ serial.wrapping_mul(0x2545_F491_4F6C_DD1D),
        });
    }

    /// Sets how many simulated seconds pass per real second (default 1).
    pub fn with_speed(mut self, speed: f64) -> Self {
        self.speed = speed.max(0.01);
        self
    }

    /// Accounts and regions of the demo fleet.
    pub fn accounts(&self) -> Vec<AccountInfo> {
        self.accounts.clone()
    }

    /// Every account x region, in account order.
    pub fn scopes(&self) -> Vec<Scope> {
        self.accounts
            .iter()
            .flat_map(|a| a.regions.iter().map(|r| Scope::new(&a.account_id, r)))
            .collect()
    }

    /// What a simulated Organization's discovery and GuardDuty administrator say (nothing for
    /// the campaign's three accounts alone): every account found, and one member in each
    /// tenth that GuardDuty does not watch (a blind spot).
    pub fn organization(&self, at: DateTime<Utc>) -> Vec<Report> {
        if self.accounts.len() <= ACCOUNTS.len() {
            return Vec::new();
        }
        let admin = &self.accounts[0];
        let mut out = vec![Report::Organization(crate::feed::OrgStatus {
            active: self.accounts.len(),
            discovered_at: Some(at),
            calls: self.accounts.len().div_ceil(20) as u64,
            guardduty_admin: Some(admin.account_id.clone()),
            ..crate::feed::OrgStatus::default()
        })];
        for region in &admin.regions {
            let unmonitored = self
                .accounts
                .iter()
                .skip(ACCOUNTS.len())
                .step_by(10)
                .filter(|a| a.regions.contains(region))
                .map(|a| crate::feed::Unmonitored {
                    account_id: a.account_id.clone(),
                    status: "Disabled".into(),
                })
                .collect();
            out.push(Report::Data {
                feed: findings::NAME,
                at,
                data: Data::Coverage {
                    scope: Scope::new(&admin.account_id, region),
                    unmonitored,
                    error: None,
                },
            });
        }
        out
    }

    /// Real time between two polls of a feed: [`POLL_SECS`] for the campaign's few scopes; as
    /// on AWS (a minute) for a simulated organization of many.
    pub fn poll_interval(&self) -> Duration {
        if self.accounts.len() > ACCOUNTS.len() {
            Duration::from_secs(60)
        } else {
            Duration::from_secs(u64::from(POLL_SECS))
        }
    }

    /// Wall-clock time of simulated second `t`.
    pub fn time_of(&self, t: f64) -> DateTime<Utc> {
        self.origin + TimeDelta::milliseconds((t / self.speed * 1000.0) as i64)
    }

    /// Real seconds between CPU samples at this speed (at least 1).
    fn period_secs(&self) -> u32 {
        (f64::from(CPU_PERIOD_SECS) / self.speed).round().max(1.0) as u32
    }

    fn live<'a>(&'a self, scope: &'a Scope, t: f64) -> impl Iterator<Item = &'a DemoInstance> + 'a {
        self.by_scope
            .get(scope)
            .into_iter()
            .flatten()
            .map(|i| &self.instances[*i])
            .filter(move |d| d.appears_at <= t)
    }

    /// EC2 inventory of a scope at simulated time `t`, with triage changes applied.
    pub fn ec2_at(&self, scope: &Scope, t: f64) -> (Vec<Instance>, Vec<SecurityGroup>) {
        let o = self.overrides.lock().unwrap_or_else(|e| e.into_inner());
        let instances = self
            .live(scope, t)
            .map(|d| {
                let mut i = d.instance.clone();
                if let Some(st) = o.state.get(&i.instance_id) {
                    i.state = *st;
                }
                for eni in &mut i.interfaces {
                    if let Some(g) = o.eni_groups.get(&eni.eni_id) {
                        eni.group_ids = g.clone();
                    }
                }
                if let Some(tags) = o.tags.get(&i.instance_id) {
                    i.tags = tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                }
                if let Some((term, stop)) = o.protection.get(&i.instance_id) {
                    i.termination_protection = *term;
                    i.stop_protection = *stop;
                }
                i
            })
            .collect();
        let mut groups = self.groups.get(scope).cloned().unwrap_or_default();
        groups.extend(
            self.late_groups
                .iter()
                .filter(|(s, at, _)| s == scope && *at <= t)
                .map(|(_, _, g)| g.clone()),
        );
        groups.extend(o.groups.get(scope).cloned().unwrap_or_default());
        (instances, groups)
    }

    /// Tasks of a scope started by simulated time `t`, stopped or not (GuardDuty keeps what it
    /// found about a task once it stops).
    fn started_tasks<'a>(
        &'a self,
        scope: &'a Scope,
        t: f64,
    ) -> impl Iterator<Item = &'a DemoTask> + 'a {
        self.tasks
            .iter()
            .filter(move |d| &d.scope == scope && d.appears_at <= t)
    }

    /// Tasks of a scope running at simulated time `t`, with triage changes applied: a stopped
    /// task is gone, and a service whose desired count was changed runs its first tasks (in
    /// simulation order) up to that count, so restoring the count brings the same tasks back.
    fn running_tasks<'a>(&'a self, o: &Overrides, scope: &'a Scope, t: f64) -> Vec<&'a DemoTask> {
        let mut kept: HashMap<(&str, &str), i32> = HashMap::new();
        self.started_tasks(scope, t)
            .filter(|d| !o.stopped_tasks.contains_key(&d.task.task_arn))
            .filter(|d| {
                let Some(service) = d.task.service.as_deref() else {
                    return true;
                };
                let key = (scope.clone(), d.task.cluster.clone(), service.to_string());
                let Some(&desired) = o.service_desired.get(&key) else {
                    return true;
                };
                let n = kept.entry((&d.task.cluster, service)).or_default();
                *n += 1;
                *n <= desired
            })
            .collect()
    }

    /// The awsvpc interfaces of a scope's running tasks at simulated time `t` (the EC2
    /// inventory's loose interfaces), with triage changes applied.
    pub fn task_interfaces_at(&self, scope: &Scope, t: f64) -> Vec<NetworkInterface> {
        let o = self.overrides.lock().unwrap_or_else(|e| e.into_inner());
        self.running_tasks(&o, scope, t)
            .into_iter()
            .filter_map(|d| d.eni.clone())
            .map(|mut n| {
                if let Some(g) = o.eni_groups.get(&n.eni_id) {
                    n.group_ids = g.clone();
                }
                n
            })
            .collect()
    }

    /// ECS inventory of a scope at simulated time `t`: running tasks, services (desired counts
    /// as triage set them, running counts from their live tasks) and clusters.
    pub fn ecs_at(&self, scope: &Scope, t: f64) -> (Vec<Task>, Vec<Service>, Vec<Cluster>) {
        let o = self.overrides.lock().unwrap_or_else(|e| e.into_inner());
        let tasks: Vec<Task> = self
            .running_tasks(&o, scope, t)
            .into_iter()
            .map(|d| d.task.clone())
            .collect();
        let services = self
            .services
            .iter()
            .filter(|s| &s.scope == scope && s.appears_at <= t)
            .map(|s| Service {
                cluster: s.cluster.into(),
                name: s.name.into(),
                desired: o
                    .service_desired
                    .get(&(scope.clone(), s.cluster.into(), s.name.into()))
                    .copied()
                    .unwrap_or(s.desired),
                running: tasks
                    .iter()
                    .filter(|k| k.cluster == s.cluster && k.service.as_deref() == Some(s.name))
                    .count() as i32,
            })
            .collect();
        let clusters = self
            .clusters
            .iter()
            .filter(|c| &c.scope == scope && c.appears_at <= t)
            .map(|c| c.cluster.clone())
            .collect();
        (tasks, services, clusters)
    }

    /// A task of a scope's cluster (by ARN or id; the cluster by name or ARN) as DescribeTasks
    /// shows it at simulated time `t`, with the reason it stopped when it no longer runs
    /// (`last_status` `STOPPED`); None when it never started there.
    pub fn task_at(
        &self,
        scope: &Scope,
        cluster: &str,
        task: &str,
        t: f64,
    ) -> Option<(Task, Option<String>)> {
        let cluster = name_of(cluster);
        let id = name_of(task);
        let o = self.overrides.lock().unwrap_or_else(|e| e.into_inner());
        let d = self.started_tasks(scope, t).find(|d| {
            d.task.cluster == cluster && (d.task.task_arn == task || d.task.task_id() == id)
        })?;
        let mut out = d.task.clone();
        let why = if let Some(reason) = o.stopped_tasks.get(&d.task.task_arn) {
            Some(reason.clone())
        } else if self
            .running_tasks(&o, scope, t)
            .iter()
            .any(|r| r.task.task_arn == d.task.task_arn)
        {
            None
        } else {
            // Scaled in by its service.
            Some(format!(
                "Scaling activity initiated by (deployment {})",
                d.task.started_by
            ))
        };
        if why.is_some() {
            out.last_status = "STOPPED".into();
        }
        Some((out, why))
    }

    /// A task of a scope that runs (or ran) task definition `family:revision` (a family alone:
    /// its latest revision): its containers, launch type, size and definition say what the
    /// revision holds. None for a revision the scope never ran.
    pub fn task_of_definition(&self, scope: &Scope, definition: &str) -> Option<Task> {
        let revision = |d: &DemoTask| {
            d.task
                .task_definition
                .rsplit_once(':')
                .and_then(|(_, r)| r.parse::<u32>().ok())
                .unwrap_or(0)
        };
        let mut own = self.tasks.iter().filter(|d| &d.scope == scope);
        if definition.contains(':') {
            own.find(|d| d.task.task_definition == definition)
                .map(|d| d.task.clone())
        } else {
            own.filter(|d| d.task.family() == definition)
                .max_by_key(|d| revision(d))
                .map(|d| d.task.clone())
        }
    }

    /// True when the task's cluster has Container Insights (task-level CPU).
    fn has_insights(&self, d: &DemoTask) -> bool {
        self.clusters
            .iter()
            .any(|c| c.scope == d.scope && c.cluster.name == d.task.cluster && c.cluster.insights)
    }

    /// Root volume id of a demo instance (the simulation gives each one volume).
    pub fn volume_of(instance_id: &str) -> String {
        format!("vol-{}", instance_id.trim_start_matches("i-"))
    }

    /// Who launched an instance, as CloudTrail would say at `now`: the platform's Terraform role
    /// for the ordinary fleet, a leaked CI user's key from a VPS for the mining boxes.
    pub fn launched_by(&self, instance_id: &str, now: DateTime<Utc>) -> LaunchedBy {
        let Some(d) = self
            .instances
            .iter()
            .find(|d| d.instance.instance_id == instance_id)
        else {
            return LaunchedBy::NotFound;
        };
        let Some(at) = d.instance.launch_time else {
            return LaunchedBy::NotFound;
        };
        if beyond_history(at, now) {
            return LaunchedBy::BeyondHistory;
        }
        let account = &d.scope.account_id;
        LaunchedBy::Found(if d.instance.image_id.as_deref() == Some(FOREIGN_IMAGE) {
            Launcher {
                principal: format!("arn:aws:iam::{account}:user/ci-deploy"),
                access_key_id: "AKIA4DEMO7LEAKEDKEY1".into(),
                source_ip: "45.9.148.113".into(),
                user_agent: "python-requests/2.31.0 xmr-autoscale/0.3 (linux; x86_64)".into(),
                at,
            }
        } else {
            Launcher {
                principal: format!("arn:aws:sts::{account}:assumed-role/platform-deploy/terraform"),
                access_key_id: "ASIA4DEMOSESSIONKEY1".into(),
                source_ip: "10.20.0.15".into(),
                user_agent: "APN/1.0 HashiCorp/1.0 Terraform/1.7.5".into(),
                at,
            }
        })
    }

    /// The scope an instance lives in.
    pub fn scope_of(&self, instance_id: &str) -> Option<Scope> {
        self.instances
            .iter()
            .find(|d| d.instance.instance_id == instance_id)
            .map(|d| d.scope.clone())
    }

    /// The AMIs of the scope's instances that appeared after `since` (all of them on the first
    /// poll, `since` None), as DescribeImages describes them: the account's own golden image, or
    /// the stranger's mining image.
    fn images_at(&self, scope: &Scope, since: Option<f64>, t: f64) -> Vec<(String, Option<Image>)> {
        let ids: std::collections::BTreeSet<String> = self
            .live(scope, t)
            .filter(|d| since.is_none_or(|s| d.appears_at > s))
            .filter_map(|d| d.instance.image_id.clone())
            .collect();
        ids.into_iter()
            .map(|id| {
                let (owner_id, name) = if id == FOREIGN_IMAGE {
                    (FOREIGN_OWNER.to_string(), "xmrig-cuda-prebuilt")
                } else {
                    (scope.account_id.clone(), "golden-al2023")
                };
                let img = Image {
                    image_id: id.clone(),
                    owner_id,
                    owner_alias: None,
                    name: name.into(),
                };
                (id, Some(img))
            })
            .collect()
    }

    /// Prices of the instance types that appeared in a scope since `since` (all on the first
    /// poll), from the demo's price list ([`DEMO_PRICES`]); a Spot instance pays
    /// [`DEMO_SPOT_SHARE`] of it in its AZ.
    fn prices_at(&self, scope: &Scope, since: Option<f64>, t: f64) -> Vec<(PriceKey, Quote)> {
        let keys: std::collections::BTreeSet<PriceKey> = self
            .live(scope, t)
            .filter(|d| since.is_none_or(|s| d.appears_at > s))
            .map(|d| PriceKey::of(&d.instance))
            .collect();
        let factor = region_price_factor(&scope.region);
        keys.into_iter()
            .map(|k| {
                let base = DEMO_PRICES
                    .iter()
                    .find(|(ty, _)| *ty == k.instance_type)
                    .map(|(_, p)| p * factor);
                let usd = base.map(|p| {
                    if k.spot_az.is_some() {
                        p * DEMO_SPOT_SHARE
                    } else {
                        p
                    }
                });
                let q = Quote {
                    usd_per_hour: usd.map(|p| (p * 10_000.0).round() / 10_000.0),
                    as_of: self.origin,
                    cached: false,
                    note: usd
                        .is_none()
                        .then(|| "not in the demo's price list".to_string()),
                };
                (k, q)
            })
            .collect()
    }

    /// CPU credit balance of a burstable instance at simulated time `t`: a miner on a
    /// standard-mode box spends it in a couple of simulated minutes.
    fn credit_balance(d: &DemoInstance, t: f64) -> Option<f64> {
        let (mode, start) = d.credits?;
        Some(match (mode, d.miner_from) {
            (CreditMode::Standard, Some(m)) if t >= m => (start - (t - m) * 0.4).max(0.0),
            _ => start,
        })
    }

    /// CPU percent of an instance at simulated time `t`.
    fn cpu_value(&self, d: &DemoInstance, t: f64) -> f64 {
        let sample = (t / f64::from(CPU_PERIOD_SECS)).floor() as i64;
        let noise = unit(d.noise_key ^ sample as u64);
        if d.miner_from.is_some_and(|m| t >= m) {
            // Out of credits in standard mode: held at the baseline, however hard it mines.
            if let (Some(base), Some(b)) = (
                baseline_pct(&d.instance.instance_type),
                Self::credit_balance(d, t),
            ) && b <= 0.0
                && d.credits.is_some_and(|c| c.0 == CreditMode::Standard)
            {
                return base - 1.0 + 2.0 * noise;
            }
            return 96.0 + 4.0 * noise;
        }
        let wave = 8.0 * ((t + d.noise_key as f64 % 600.0) / 90.0).sin();
        (d.cpu_base + wave + 10.0 * (noise - 0.5)).clamp(0.5, 99.0)
    }

    /// CPU percent of a task at simulated time `t`: a miner is pinned at 97-100 %, the others
    /// stay between 5 and 40 %.
    fn task_cpu_value(d: &DemoTask, t: f64) -> f64 {
        let sample = (t / f64::from(CPU_PERIOD_SECS)).floor() as i64;
        let noise = unit(d.noise_key ^ sample as u64);
        if d.miner {
            return 97.0 + 3.0 * noise;
        }
        let wave = 8.0 * ((t + d.noise_key as f64 % 600.0) / 90.0).sin();
        (d.cpu_base + wave + 10.0 * (noise - 0.5)).clamp(5.0, 40.0)
    }

    /// Credit samples of every live burstable instance of a scope in (`from`, `to`] simulated
    /// seconds, taken with the CPU samples.
    pub fn credits_between(&self, scope: &Scope, from: f64, to: f64) -> Vec<(String, Credits)> {
        let p = f64::from(CPU_PERIOD_SECS);
        let first = (from / p).floor() as i64 + 1;
        let last = (to / p).floor() as i64;
        self.live(scope, to)
            .filter_map(|d| {
                let (mode, _) = d.credits?;
                let points: Vec<(DateTime<Utc>, f64)> = (first..=last)
                    .map(|k| k as f64 * p)
                    .filter(|ts| *ts >= d.appears_at)
                    .filter_map(|ts| Some((self.time_of(ts), Self::credit_balance(d, ts)?)))
                    .collect();
                let surplus = if mode == CreditMode::Unlimited {
                    points.iter().map(|(t, _)| (*t, 0.0)).collect()
                } else {
                    Vec::new()
                };
                let series = |points: Vec<(DateTime<Utc>, f64)>| CpuSeries {
                    period_secs: self.period_secs(),
                    points: points.into(),
                };
                Some((
                    d.instance.instance_id.clone(),
                    Credits {
                        mode: Some(mode),
                        balance: series(points),
                        surplus: series(surplus),
                    },
                ))
            })
            .collect()
    }

    /// CPU samples of every live instance of a scope taken in (`from`, `to`] simulated seconds.
    pub fn cpu_between(&self, scope: &Scope, from: f64, to: f64) -> Vec<(String, CpuSeries)> {
        let p = f64::from(CPU_PERIOD_SECS);
        let first = (from / p).floor() as i64 + 1;
        let last = (to / p).floor() as i64;
        let (stopped, tasks): (Vec<String>, Vec<&DemoTask>) = {
            let o = self.overrides.lock().unwrap_or_else(|e| e.into_inner());
            let stopped = o
                .state
                .iter()
                .filter(|(_, s)| !s.is_live())
                .map(|(id, _)| id.clone())
                .collect();
            (stopped, self.running_tasks(&o, scope, to))
        };
        let series = |points| CpuSeries {
            period_secs: self.period_secs(),
            points,
        };
        let mut out: Vec<(String, CpuSeries)> = self
            .live(scope, to)
            .filter(|d| !stopped.contains(&d.instance.instance_id))
            .map(|d| {
                let points = (first..=last)
                    .map(|k| k as f64 * p)
                    .filter(|ts| *ts >= d.appears_at)
                    .map(|ts| (self.time_of(ts), self.cpu_value(d, ts)))
                    .collect();
                (d.instance.instance_id.clone(), series(points))
            })
            .collect();
        // Task-level CPU where Container Insights is on.
        out.extend(tasks.iter().filter(|d| self.has_insights(d)).map(|d| {
            let points = (first..=last)
                .map(|k| k as f64 * p)
                .filter(|ts| *ts >= d.appears_at)
                .map(|ts| (self.time_of(ts), Self::task_cpu_value(d, ts)))
                .collect();
            (d.task.task_arn.clone(), series(points))
        }));
        // Every service's CPUUtilization: the mean over the tasks it runs.
        for s in self
            .services
            .iter()
            .filter(|s| &s.scope == scope && s.appears_at <= to)
        {
            let own: Vec<&DemoTask> = tasks
                .iter()
                .copied()
                .filter(|d| {
                    d.task.cluster == s.cluster && d.task.service.as_deref() == Some(s.name)
                })
                .collect();
            let points = (first..=last)
                .map(|k| k as f64 * p)
                .filter_map(|ts| {
                    let v: Vec<f64> = own
                        .iter()
                        .filter(|d| ts >= d.appears_at)
                        .map(|d| Self::task_cpu_value(d, ts))
                        .collect();
                    (!v.is_empty())
                        .then(|| (self.time_of(ts), v.iter().sum::<f64>() / v.len() as f64))
                })
                .collect();
            out.push((service_cpu_key(s.cluster, s.name), series(points)));
        }
        out
    }

    /// Findings of a scope visible at simulated time `t` (complete set, archived ones left out).
    pub fn findings_at(&self, scope: &Scope, t: f64) -> Vec<Finding> {
        let archived = self
            .overrides
            .lock()
            .map(|o| o.archived.clone())
            .unwrap_or_default();
        let mut out = Vec::new();
        for d in self.live(scope, t) {
            for (k, s) in d.findings.iter().enumerate().filter(|(_, s)| s.at <= t) {
                out.push(Finding {
                    title: s.title.replace("i-bastion", &d.instance.instance_id),
                    instance_id: Some(d.instance.instance_id.clone()),
                    ..self.finding(d.noise_key, k, s, t)
                });
            }
        }
        // GuardDuty Runtime Monitoring findings name the task and its cluster.
        for d in self.started_tasks(scope, t) {
            for (k, s) in d.findings.iter().enumerate().filter(|(_, s)| s.at <= t) {
                out.push(Finding {
                    task_arn: Some(d.task.task_arn.clone()),
                    cluster_arn: Some(cluster_arn(scope, &d.task.cluster)),
                    ..self.finding(d.noise_key, k, s, t)
                });
            }
        }
        out.retain(|f| !archived.contains(&f.id));
        out
    }

    /// Finding `k` of the subject with noise key `key` as GuardDuty shows it at simulated time
    /// `t` (seen again every 30 s), about nothing yet.
    fn finding(&self, key: u64, k: usize, s: &Scheduled, t: f64) -> Finding {
        let bumps = ((t - s.at) / 30.0).floor().max(0.0) as u64;
        Finding {
            id: format!(
                "{:032x}",
                u128::from(splitmix(key ^ k as u64)) << 64
                    | u128::from(splitmix(key.rotate_left(17) ^ k as u64))
            ),
            kind: s.kind.into(),
            severity: s.severity,
            title: s.title.into(),
            instance_id: None,
            updated_at: self.time_of(s.at + 30.0 * bumps as f64),
            count: 1 + bumps * 7,
            task_arn: None,
            cluster_arn: None,
            archived: false,
            // The DNS family names the pool it asked for.
            dns_domain: s
                .kind
                .ends_with("!DNS")
                .then(|| "xmr.pool.minergate.com".into())
                .or_else(|| {
                    (s.kind == "Impact:EC2/BitcoinDomainRequest.Reputation")
                        .then(|| "pool.supportxmr.com".into())
                }),
        }
    }

    /// The failure a feed shows at simulated time `t`, if any.
    pub fn outage_at(&self, scope: &Scope, feed: &str, t: f64) -> Option<&'static str> {
        self.outages
            .iter()
            .find(|o| &o.scope == scope && o.feed == feed && o.from <= t && t < o.to)
            .map(|o| o.message)
    }

    /// What one poll of feed `name` brings at simulated time `t`; CPU returns samples in
    /// (`since`, `t`], the last [`BACKFILL`] samples on the first poll (`since` None).
    fn data(&self, scope: &Scope, name: &str, since: Option<f64>, t: f64) -> Data {
        let from = since.unwrap_or(t - BACKFILL as f64 * f64::from(CPU_PERIOD_SECS));
        let scope = scope.clone();
        match name {
            ec2::NAME => {
                let (instances, groups) = self.ec2_at(&scope, t);
                Data::Inventory {
                    loose_interfaces: self.task_interfaces_at(&scope, t),
                    scope,
                    instances,
                    groups,
                }
            }
            ecs::NAME => {
                let (tasks, services, clusters) = self.ecs_at(&scope, t);
                Data::Tasks {
                    scope,
                    tasks,
                    services,
                    clusters,
                }
            }
            cpu::NAME => Data::Cpu {
                series: self.cpu_between(&scope, from, t),
                credits: self.credits_between(&scope, from, t),
                scope,
            },
            images::NAME => Data::Images {
                images: self.images_at(&scope, since, t),
                scope,
            },
            crate::feed::PRICING => Data::Prices {
                quotes: self.prices_at(&scope, since, t),
                scope,
                error: None,
            },
            _ => Data::Findings {
                findings: self.findings_at(&scope, t),
                scope,
                complete: true,
            },
        }
    }
}

/// The demo's feeds, in display order (the same names as the AWS feeds they simulate).
const FEEDS: [&str; 6] = [
    ec2::NAME,
    cpu::NAME,
    images::NAME,
    findings::NAME,
    ecs::NAME,
    crate::feed::PRICING,
];

/// The demo's on-demand Linux prices in us-east-1, $/h (AWS's list prices of late 2026,
/// rounded): [`region_price_factor`] scales them for other regions.
const DEMO_PRICES: [(&str, f64); 19] = [
    ("t3.micro", 0.0104),
    ("t3.medium", 0.0416),
    ("t3.large", 0.0832),
    ("m5.large", 0.096),
    ("m5.xlarge", 0.192),
    ("m5.2xlarge", 0.384),
    ("m6i.large", 0.096),
    ("c5.large", 0.085),
    ("c5.xlarge", 0.17),
    ("c5.2xlarge", 0.34),
    ("c5.24xlarge", 4.08),
    ("c6i.2xlarge", 0.34),
    ("r5.large", 0.126),
    ("r5.xlarge", 0.252),
    ("r5.2xlarge", 0.504),
    ("r6i.2xlarge", 0.504),
    ("g4dn.12xlarge", 3.912),
    ("g5.12xlarge", 5.672),
    ("p3.16xlarge", 24.48),
];

/// Spot prices of the demo: this share of on-demand (GPU Spot capacity in a quiet region is
/// dear).
const DEMO_SPOT_SHARE: f64 = 0.7;

/// How much dearer a region is than us-east-1 in the demo's price list.
fn region_price_factor(region: &str) -> f64 {
    match region {
        "us-east-1" | "us-east-2" | "us-west-2" => 1.0,
        r if r.starts_with("eu-") => 1.12,
        r if r.starts_with("ap-") => 1.2,
        _ => 1.3,
    }
}

/// Where a demo feed reads simulated time from.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// Simulated time runs `speed` times faster than real time from `start`.
    Live {
        /// Real start of the demo.
        start: tokio::time::Instant,
    },
    /// Frozen at simulated second `t`; data is stamped `fetched_at` (snapshots, tests).
    At {
        /// Simulated seconds.
        t: f64,
        /// Time stamped on the data.
        fetched_at: DateTime<Utc>,
    },
}

/// One simulated feed of one account x region.
pub struct DemoFeed {
    world: Arc<DemoWorld>,
    home: Scope,
    name: &'static str,
    clock: Clock,
    /// Data up to this simulated second was already sent (None: nothing yet).
    since: Option<f64>,
    start_after: Duration,
}

impl DemoFeed {
    fn now(&self) -> (f64, DateTime<Utc>) {
        match self.clock {
            Clock::Live { start } => (start.elapsed().as_secs_f64() * self.world.speed, Utc::now()),
            Clock::At { t, fetched_at } => (t, fetched_at),
        }
    }
}

impl Feed for DemoFeed {
    fn name(&self) -> &'static str {
        self.name
    }
    fn home(&self) -> &Scope {
        &self.home
    }
    fn interval(&self) -> Duration {
        self.world.poll_interval()
    }
    fn start_after(&self) -> Duration {
        self.start_after
    }
    fn essential(&self) -> bool {
        // As on AWS: the rows do without AMI details and without ECS.
        !matches!(self.name, images::NAME | ecs::NAME)
    }
    fn poll(&mut self) -> BoxFuture<'_, Result<Polled, FeedError>> {
        let (t, at) = self.now();
        let r = match self.world.outage_at(&self.home, self.name, t) {
            Some(message) => Err(FeedError {
                message: message.into(),
                throttled: true,
                calls: 1,
            }),
            None => {
                let data = self.world.data(&self.home, self.name, self.since, t);
                self.since = Some(t);
                let (calls, metrics) = simulated_cost(&data);
                // What this fleet would cost on AWS polled at basic monitoring's 5 minutes.
                let metrics_per_day = match &data {
                    Data::Cpu {
                        series, credits, ..
                    } => Some((series.len() + credit_metrics(credits)) as f64 * 288.0),
                    _ => None,
                };
                Ok(Polled {
                    at,
                    data: vec![data],
                    calls,
                    metrics,
                    metrics_per_day,
                })
            }
        };
        Box::pin(std::future::ready(r))
    }
    fn retry_after(&self, _: &FeedError, _: u32) -> Duration {
        // The simulated outage ends on the demo's own timeline, not the retry's.
        self.interval()
    }
}

/// Every feed of every demo account x region, reading time from `clock`.
pub fn feeds(world: &Arc<DemoWorld>, clock: Clock) -> Vec<Box<dyn Feed>> {
    let mut out: Vec<Box<dyn Feed>> = Vec::new();
    let scopes = world.scopes();
    // Staggered first polls: the header shows accounts arriving (spread over one interval
    // when there are many).
    let step = Duration::from_millis(150).min(world.poll_interval() / scopes.len().max(1) as u32);
    for (i, scope) in scopes.into_iter().enumerate() {
        for (f, name) in FEEDS.into_iter().enumerate() {
            out.push(Box::new(DemoFeed {
                world: world.clone(),
                home: scope.clone(),
                name,
                clock,
                since: None,
                start_after: step * i as u32 + Duration::from_millis(40 * f as u64),
            }));
        }
    }
    out
}

/// One complete poll of every feed of every scope at simulated time `t` (for `snapshot`).
pub async fn poll_all(world: &Arc<DemoWorld>, t: f64, fetched_at: DateTime<Utc>) -> Vec<Report> {
    let mut out = vec![Report::Accounts(world.accounts())];
    out.extend(world.organization(fetched_at));
    out.extend(crate::feed::poll_once(feeds(world, Clock::At { t, fetched_at })).await);
    out
}

#[allow(clippy::too_many_arguments)]
fn make_instance(
    rng: &mut ChaCha8Rng,
    scope: &Scope,
    groups: &[SecurityGroup],
    name: &str,
    instance_type: &str,
    sg_names: &[&str],
    public: bool,
    second_eni: bool,
    launch: DateTime<Utc>,
) -> Instance {
    let gid = |n: &str| {
        groups
            .iter()
            .find(|g| g.name == n)
            .map(|g| g.group_id.clone())
            .unwrap_or_default()
    };
    let id = format!("i-0{:016x}", rng.random::<u64>());
    let octet = |rng: &mut ChaCha8Rng| rng.random_range(2..250);
    let mut interfaces = vec![NetworkInterface {
        eni_id: format!("eni-0{:016x}", rng.random::<u64>()),
        device_index: 0,
        subnet_id: Some(format!("subnet-{:08x}", rng.random::<u32>())),
        private_ip: Some(format!("10.{}.{}.{}", octet(rng), octet(rng), octet(rng))),
        public_ip: public.then(|| {
            format!(
                "{}.{}.{}.{}",
                3 + rng.random_range(0..50),
                octet(rng),
                octet(rng),
                octet(rng)
            )
        }),
        ipv6: vec![],
        group_ids: sg_names.iter().map(|n| gid(n)).collect(),
    }];
    if second_eni {
        interfaces.push(NetworkInterface {
            eni_id: format!("eni-0{:016x}", rng.random::<u64>()),
            device_index: 1,
            subnet_id: Some(format!("subnet-{:08x}", rng.random::<u32>())),
            private_ip: Some(format!("10.{}.{}.{}", octet(rng), octet(rng), octet(rng))),
            public_ip: None,
            ipv6: vec![],
            group_ids: vec![gid("internal")],
        });
    }
    let mut tags = vec![("Environment".to_string(), scope.account_id.clone())];
    if !name.is_empty() {
        tags.push(("Name".into(), name.into()));
    }
    tags.sort();
    // The AZ follows from the id (no draw from `rng`: the demo's ids stay as they were).
    let az = ["a", "b", "c"][id.bytes().last().map_or(0, |b| b as usize % 3)];
    Instance {
        availability_zone: Some(format!("{}{az}", scope.region)),
        instance_id: id,
        name: name.into(),
        instance_type: instance_type.into(),
        state: InstanceState::Running,
        launch_time: Some(launch),
        vpc_id: groups.first().and_then(|g| g.vpc_id.clone()),
        interfaces,
        tags,
        detailed_monitoring: false,
        termination_protection: Some(false),
        stop_protection: Some(false),
        asg: None,
        image_id: Some(own_image(&scope.account_id)),
        key_name: Some(format!("ops-{}", &scope.account_id[..4])),
        spot: false,
        platform: Default::default(),
        tenancy: Default::default(),
    }
}

/// The AMI every ordinary demo instance of an account runs: the account's own golden image.
fn own_image(account_id: &str) -> String {
    let h = account_id
        .bytes()
        .fold(0u64, |a, b| splitmix(a ^ u64::from(b)));
    format!("ami-0{:016x}", h)
}

/// The ARN of a cluster.
fn cluster_arn(scope: &Scope, name: &str) -> String {
    format!(
        "arn:aws:ecs:{}:{}:cluster/{name}",
        scope.region, scope.account_id
    )
}

/// An image in the account's own ECR, tagged with its build date and commit.
fn ecr_image(rng: &mut ChaCha8Rng, scope: &Scope, repo: &str, built: DateTime<Utc>) -> String {
    format!(
        "{}.dkr.ecr.{}.amazonaws.com/{repo}:{}-{:07x}",
        scope.account_id,
        scope.region,
        built.format("%Y.%m.%d"),
        rng.random::<u32>() >> 4
    )
}

/// An image digest.
fn digest(rng: &mut ChaCha8Rng) -> String {
    format!(
        "sha256:{:032x}{:032x}",
        rng.random::<u128>(),
        rng.random::<u128>()
    )
}

/// What ECS records as the starter of a service's tasks (`ecs-svc/` and 19 digits).
fn service_starter(rng: &mut ChaCha8Rng) -> String {
    format!("ecs-svc/{}", rng.random_range(10u64.pow(18)..10u64.pow(19)))
}

/// The account the GPU boxes' AMI belongs to: nobody in the demo fleet.
pub const FOREIGN_OWNER: &str = "777788889999";
/// The AMI the GPU boxes were launched from, shared from [`FOREIGN_OWNER`].
pub const FOREIGN_IMAGE: &str = "ami-0badc0ffee0ddf00d";

/// Starts the demo feeds: one driver task per account x region x feed, polling every
/// [`POLL_SECS`] real seconds; simulated time runs `speed` times faster than real time.
pub async fn spawn(world: Arc<DemoWorld>, tx: mpsc::Sender<Report>) {
    let clock = Clock::Live {
        start: tokio::time::Instant::now(),
    };
    let mut first = vec![Report::Accounts(world.accounts())];
    first.extend(world.organization(Utc::now()));
    for r in first {
        if tx.send(r).await.is_err() {
            return;
        }
    }
    crate::feed::start(feeds(&world, clock), tx).await;
}

/// Credit metrics the same poll reads on AWS: the balance, and the surplus in unlimited mode.
fn credit_metrics(credits: &[(String, Credits)]) -> usize {
    credits
        .iter()
        .map(|(_, c)| 1 + usize::from(c.mode == Some(CreditMode::Unlimited)))
        .sum()
}

/// API calls and metrics the same poll would cost against AWS.
fn simulated_cost(d: &Data) -> (u64, u64) {
    match d {
        Data::Inventory { .. } => (3, 0),
        Data::Cpu {
            series, credits, ..
        } => {
            let n = (series.len() + credit_metrics(credits)) as u64;
            (n.div_ceil(cpu::MAX_QUERIES as u64).max(1), n)
        }
        Data::Images { images, .. } => ((images.len() as u64).div_ceil(images::BATCH as u64), 0),
        Data::Coverage { .. } => (1, 0),
        // One GetProducts or DescribeSpotPriceHistory per key not yet priced today.
        Data::Prices { quotes, .. } => (quotes.len() as u64, 0),
        // GetCostAndUsage and GetAnomalies.
        Data::Costs { .. } => (2, 0),
        Data::Tasks {
            tasks,
            clusters,
            services,
            ..
        } => {
            let per: Vec<(usize, usize, usize)> = clusters
                .iter()
                .map(|c| {
                    let on = |t: &&crate::model::task::Task| t.cluster == c.name;
                    (
                        services.iter().filter(|s| s.cluster == c.name).count(),
                        tasks.iter().filter(on).count(),
                        tasks
                            .iter()
                            .filter(on)
                            .filter(|t| t.container_instance.is_some())
                            .count(),
                    )
                })
                .collect();
            (crate::source::aws::ecs::minimum_calls(&per, 0), 0)
        }
        Data::Findings { findings, .. } => (
            1 + (findings.len() as u64).div_ceil(findings::BATCH as u64) * 2,
            0,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn world(seed: u64) -> DemoWorld {
        DemoWorld::new(seed, Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap())
    }

    fn all_instances(w: &DemoWorld, t: f64) -> Vec<(Scope, Instance)> {
        w.scopes()
            .into_iter()
            .flat_map(|s| w.ec2_at(&s, t).0.into_iter().map(move |i| (s.clone(), i)))
            .collect()
    }

    #[test]
    fn same_seed_same_world_other_seed_other_world() {
        let ids = |w: &DemoWorld| {
            all_instances(w, CAMPAIGN_SECS)
                .into_iter()
                .map(|(_, i)| i.instance_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&world(7)), ids(&world(7)));
        assert_ne!(ids(&world(7)), ids(&world(8)));
        let s = Scope::new("210987654321", "us-east-1");
        assert_eq!(
            world(7).cpu_between(&s, 0.0, 100.0),
            world(7).cpu_between(&s, 0.0, 100.0)
        );
    }

    #[test]
    fn fleet_shape() {
        let w = world(1);
        assert_eq!(w.accounts().len(), 3);
        for a in w.accounts() {
            assert_eq!(a.account_id.len(), 12);
            assert!(a.account_id.chars().all(|c| c.is_ascii_digit()));
            assert!(a.regions.len() >= 2);
        }
        assert!(
            all_instances(&w, 0.0).len() >= 100,
            "{}",
            all_instances(&w, 0.0).len()
        );
    }

    #[test]
    fn campaign_unfolds() {
        let w = world(42);
        let prod = Scope::new("210987654321", "us-east-1");
        let aps1 = Scope::new("210987654321", "ap-south-1");
        let bastion = w
            .ec2_at(&prod, 0.0)
            .0
            .into_iter()
            .find(|i| i.name == "bastion-legacy")
            .unwrap();
        let kinds = |t: f64| -> Vec<String> {
            w.findings_at(&prod, t)
                .into_iter()
                .filter(|f| f.instance_id.as_deref() == Some(bastion.instance_id.as_str()))
                .map(|f| f.kind)
                .collect()
        };
        assert!(kinds(10.0).is_empty());
        assert_eq!(kinds(30.0), vec!["UnauthorizedAccess:EC2/SSHBruteForce"]);
        assert!(kinds(80.0).contains(&"CryptoCurrency:EC2/BitcoinTool.B!DNS".to_string()));
        let cpu_of = |t: f64| {
            w.cpu_between(&prod, t - 10.0, t)
                .into_iter()
                .find(|(id, _)| *id == bastion.instance_id)
                .and_then(|(_, s)| s.latest())
                .unwrap()
        };
        assert!(cpu_of(30.0) < 50.0);
        assert!(cpu_of(60.0) >= 96.0);
        // GPUs appear only after 100 s, in a region prod never used.
        assert!(w.ec2_at(&aps1, 50.0).0.is_empty());
        let gpus = w.ec2_at(&aps1, 120.0).0;
        assert_eq!(gpus.len(), 4);
        assert!(
            gpus.iter()
                .all(|i| i.instance_type.starts_with('p') || i.instance_type.starts_with('g'))
        );
    }

    #[test]
    fn campaign_runs_a_miner_service_in_the_unusual_region() {
        let w = world(7);
        let aps1 = Scope::new("210987654321", "ap-south-1");
        let prod = w
            .accounts()
            .into_iter()
            .find(|a| a.alias == "prod")
            .unwrap();
        assert!(!prod.home_regions.contains(&aps1.region));
        // Nothing before the cluster exists; then three service tasks and one standalone.
        assert!(w.ecs_at(&aps1, 100.0).0.is_empty());
        let (tasks, services, clusters) = w.ecs_at(&aps1, CAMPAIGN_SECS);
        assert_eq!(clusters.len(), 1);
        assert_eq!(clusters[0].name, "default");
        assert!(!clusters[0].insights);
        let svc: Vec<&Task> = tasks
            .iter()
            .filter(|t| t.service.as_deref() == Some(MINER_SERVICE))
            .collect();
        let standalone: Vec<&Task> = tasks.iter().filter(|t| t.service.is_none()).collect();
        assert_eq!((svc.len(), standalone.len(), tasks.len()), (3, 1, 4));
        assert_eq!(services.len(), 1);
        assert_eq!((services[0].desired, services[0].running), (3, 3));
        let prefix = format!(
            "arn:aws:ecs:{}:{}:task/default/",
            aps1.region, aps1.account_id
        );
        for t in &tasks {
            let id = t.task_arn.strip_prefix(&prefix).expect(&t.task_arn);
            assert!(
                id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
                "{id}"
            );
            assert_eq!(t.task_definition, "metrics-agent:1");
            assert_eq!(t.launch_type, "FARGATE");
            assert_eq!(t.images().collect::<Vec<_>>(), vec![MINER_IMAGE]);
            let def = t.definition.as_ref().unwrap();
            assert_eq!(def.network_mode, "awsvpc");
            assert_eq!(def.registered_at, Some(w.time_of(0.0)));
            assert!(t.started_at.unwrap() > w.time_of(100.0));
        }
        // No other task of the account runs that image.
        for s in w
            .scopes()
            .iter()
            .filter(|s| s.account_id == aps1.account_id && **s != aps1)
        {
            assert!(
                w.ecs_at(s, CAMPAIGN_SECS)
                    .0
                    .iter()
                    .all(|t| t.images().all(|i| i != MINER_IMAGE))
            );
        }
        // Each task's interface is in the inventory: public IP, behind the group open on 3333.
        let enis = w.task_interfaces_at(&aps1, CAMPAIGN_SECS);
        let (_, groups) = w.ec2_at(&aps1, CAMPAIGN_SECS);
        let pool = groups.iter().find(|g| g.name == "metrics-agent").unwrap();
        assert!(
            pool.ingress
                .iter()
                .any(|r| r.from_port == Some(3333) && r.source.is_world())
        );
        assert!(
            w.ec2_at(&aps1, 100.0)
                .1
                .iter()
                .all(|g| g.name != "metrics-agent")
        );
        for t in &tasks {
            let eni = enis
                .iter()
                .find(|n| Some(&n.eni_id) == t.eni_id.as_ref())
                .unwrap();
            assert!(eni.public_ip.is_some());
            assert_eq!(eni.group_ids, vec![pool.group_id.clone()]);
        }
        // Findings are attached by task ARN, to two of the service's tasks.
        let findings = w.findings_at(&aps1, CAMPAIGN_SECS);
        let about = |kind: &str| {
            findings
                .iter()
                .find(|f| f.kind == kind)
                .and_then(|f| f.task_arn.clone())
                .unwrap()
        };
        let dns = about("CryptoCurrency:Runtime/BitcoinTool.B!DNS");
        let exec = about("Impact:Runtime/CryptoMinerExecuted");
        assert_ne!(dns, exec);
        assert!(svc.iter().any(|t| t.task_arn == dns) && svc.iter().any(|t| t.task_arn == exec));
        let f = findings
            .iter()
            .find(|f| f.task_arn.as_deref() == Some(&dns))
            .unwrap();
        assert_eq!(f.severity, 8.0);
        assert!(f.instance_id.is_none());
        assert_eq!(
            f.cluster_arn.as_deref(),
            Some("arn:aws:ecs:ap-south-1:210987654321:cluster/default")
        );
        // CPU: no Container Insights, so the service's CPUUtilization, pinned; none per task.
        let cpu = w.cpu_between(&aps1, CAMPAIGN_SECS - 50.0, CAMPAIGN_SECS);
        let key = service_cpu_key("default", MINER_SERVICE);
        let (_, series) = cpu.iter().find(|(k, _)| *k == key).unwrap();
        assert!(
            series
                .points
                .iter()
                .all(|(_, v)| (97.0..=100.0).contains(&v))
        );
        assert!(
            tasks
                .iter()
                .all(|t| cpu.iter().all(|(k, _)| *k != t.task_arn))
        );
    }

    #[test]
    fn every_account_runs_quiet_ecs_in_a_home_region() {
        let w = world(7);
        for a in w.accounts() {
            let home: Vec<(Scope, Vec<Task>)> = a
                .home_regions
                .iter()
                .map(|r| Scope::new(&a.account_id, r))
                .map(|s| {
                    let tasks = w.ecs_at(&s, 0.0).0;
                    (s, tasks)
                })
                .filter(|(_, t)| !t.is_empty())
                .collect();
            assert_eq!(home.len(), 1, "{}", a.alias);
            let (scope, tasks) = &home[0];
            let cpu = w.cpu_between(scope, 0.0, CAMPAIGN_SECS);
            let clusters = w.ecs_at(scope, 0.0).2;
            for t in tasks {
                assert!(t.service.is_some());
                let image = t.images().next().unwrap();
                assert!(
                    !crate::model::task::is_public_image(image, &scope.account_id),
                    "{image}"
                );
                let key = if clusters.iter().any(|c| c.name == t.cluster && c.enhanced) {
                    t.task_arn.clone()
                } else {
                    service_cpu_key(&t.cluster, t.service.as_deref().unwrap())
                };
                let (_, s) = cpu.iter().find(|(k, _)| *k == key).unwrap();
                assert!(
                    s.points.iter().all(|(_, v)| (5.0..=40.0).contains(&v)),
                    "{key}"
                );
            }
        }
        // prod's web service on Fargate with Container Insights.
        let prod = Scope::new("210987654321", "us-east-1");
        let (tasks, services, clusters) = w.ecs_at(&prod, CAMPAIGN_SECS);
        assert!(clusters.iter().any(|c| c.name == "prod-web" && c.insights));
        let web = services.iter().find(|s| s.name == "web").unwrap();
        assert!((3..=4).contains(&web.running));
        assert!(tasks.iter().all(|t| {
            t.images()
                .all(|i| i.starts_with("210987654321.dkr.ecr.us-east-1.amazonaws.com/web:"))
        }));
        // One EC2-launched task in bridge mode on one of staging's own instances.
        let stg = Scope::new("345678901234", "us-west-2");
        let (instances, _) = w.ec2_at(&stg, 0.0);
        let ec2_tasks: Vec<Task> = w
            .scopes()
            .iter()
            .flat_map(|s| w.ecs_at(s, CAMPAIGN_SECS).0)
            .filter(|t| t.launch_type == "EC2")
            .collect();
        assert!(!ec2_tasks.is_empty());
        for t in &ec2_tasks {
            assert!(t.eni_id.is_none() && t.container_instance.is_some());
            let host = t.host_instance.as_deref().unwrap();
            assert!(instances.iter().any(|i| i.instance_id == host));
        }
    }

    #[test]
    fn ecs_is_deterministic_per_seed() {
        let arns = |w: &DemoWorld| {
            w.scopes()
                .iter()
                .flat_map(|s| w.ecs_at(s, CAMPAIGN_SECS).0)
                .map(|t| t.task_arn)
                .collect::<Vec<_>>()
        };
        assert_eq!(arns(&world(7)), arns(&world(7)));
        assert_ne!(arns(&world(7)), arns(&world(8)));
        let s = Scope::new("210987654321", "ap-south-1");
        assert_eq!(world(7).ecs_at(&s, 200.0).0, world(7).ecs_at(&s, 200.0).0);
        assert_eq!(
            world(7).cpu_between(&s, 100.0, 200.0),
            world(7).cpu_between(&s, 100.0, 200.0)
        );
        assert_eq!(
            world(7).task_interfaces_at(&s, 200.0),
            world(7).task_interfaces_at(&s, 200.0)
        );
    }

    #[test]
    fn the_demo_feeds_carry_ecs() {
        let w = Arc::new(world(7));
        let at = w.time_of(CAMPAIGN_SECS);
        let reports = futures::executor::block_on(poll_all(&w, CAMPAIGN_SECS, at));
        let tasks: usize = reports
            .iter()
            .filter_map(|r| match r {
                Report::Data {
                    feed: ecs::NAME,
                    data: Data::Tasks { tasks, .. },
                    ..
                } => Some(tasks.len()),
                _ => None,
            })
            .sum();
        assert_eq!(tasks, 4 + 2 + 2 + 4);
        let loose: usize = reports
            .iter()
            .filter_map(|r| match r {
                Report::Data {
                    data:
                        Data::Inventory {
                            loose_interfaces, ..
                        },
                    ..
                } => Some(loose_interfaces.len()),
                _ => None,
            })
            .sum();
        // Every Fargate task's interface; none for the bridge-mode tasks.
        assert_eq!(loose, 4 + 2 + 4);
        assert!(reports.iter().any(|r| matches!(
            r,
            Report::Schedule {
                feed: ecs::NAME,
                essential: false,
                ..
            }
        )));
    }

    #[test]
    fn outage_window() {
        let w = world(1);
        let s = Scope::new("456789012345", "eu-west-1");
        assert!(w.outage_at(&s, findings::NAME, 100.0).is_none());
        assert!(w.outage_at(&s, findings::NAME, 130.0).is_some());
        assert!(w.outage_at(&s, ec2::NAME, 130.0).is_none());
    }
}
