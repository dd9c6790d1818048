//! `watchfloor snapshot`: the fleet as JSON or CSV (format documented in docs/snapshot-format.md).

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::{CpuSource, FeedState, Fleet, Row, ScopeHealth};
use crate::model::Instance;
use crate::model::exposure::Protocol;
use crate::model::launch::{LaunchedBy, Launcher};
use crate::model::task::Task;

/// Snapshot format version, bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// The whole document.
#[derive(Debug, Serialize)]
pub struct Snapshot {
    /// Format version.
    pub format_version: u32,
    /// When the snapshot was made.
    pub generated_at: DateTime<Utc>,
    /// `demo` or `aws`.
    pub source: String,
    /// Accounts and their regions' poll status.
    pub accounts: Vec<AccountOut>,
    /// Every instance, highest risk first.
    pub instances: Vec<InstanceOut>,
    /// Every ECS task, worst risk first.
    pub tasks: Vec<TaskOut>,
    /// Dollars per hour the live instances with a known price burn, all accounts.
    pub burn_per_hour: f64,
}

/// One account.
#[derive(Debug, Serialize)]
pub struct AccountOut {
    /// 12-digit id.
    pub account_id: String,
    /// Alias.
    pub alias: String,
    /// Regions polled.
    pub regions: Vec<RegionOut>,
    /// Dollars per hour its live instances with a known price burn.
    pub burn_per_hour: f64,
    /// Burn now against the burn of those instances launched more than 24 h ago, as a ratio
    /// (`5.4` is +540 %); null when none was.
    pub burn_change_24h: Option<f64>,
    /// The burn more than `burn_spike_ratio` times that of 24 h ago (and $1/h more).
    pub burn_spike: bool,
    /// Live instances whose price is unknown (not in the burn).
    pub unpriced_instances: usize,
    /// Cost Explorer's daily cost of the last days, oldest first (null unless `cost_explorer`
    /// is on and it answered).
    pub daily_cost: Option<Vec<crate::model::price::DailyCost>>,
    /// Cost anomalies Cost Explorer still has open for the account.
    pub cost_anomalies: Vec<crate::model::price::CostAnomaly>,
}

/// One region of an account.
#[derive(Debug, Serialize)]
pub struct RegionOut {
    /// Region code.
    pub region: String,
    /// `ok`, `degraded` (a feed the rows can do without failed), `error`, `stale` or `loading`.
    pub status: &'static str,
    /// Error messages of failed feeds, `feed: message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Oldest successful fetch among the feeds the rows need (null if one never succeeded).
    pub fetched_at: Option<DateTime<Utc>>,
}

/// One open port range.
#[derive(Debug, Serialize)]
pub struct PortOut {
    /// `tcp`, `udp`, `icmp`, `all`, or another IP protocol number.
    pub protocol: Protocol,
    /// First port (ICMP type, -1 any); null for `all` and other protocol numbers.
    pub from_port: Option<i32>,
    /// Last port (ICMP code, -1 any); null for `all` and other protocol numbers.
    pub to_port: Option<i32>,
    /// World sources: `0.0.0.0/0`, `::/0`.
    pub sources: Vec<String>,
}

/// One finding.
#[derive(Debug, Serialize)]
pub struct FindingOut {
    /// Finding id.
    pub id: String,
    /// Finding type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Numeric severity.
    pub severity: f64,
    /// `low`, `medium`, `high`, `critical`.
    pub severity_label: &'static str,
    /// Title.
    pub title: String,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// The domain a DNS-family finding names (written by whoever runs on the instance).
    pub dns_domain: Option<String>,
}

/// One instance.
#[derive(Debug, Serialize)]
pub struct InstanceOut {
    /// Account id.
    pub account_id: String,
    /// Account alias.
    pub account_alias: String,
    /// Region.
    pub region: String,
    /// Instance id.
    pub instance_id: String,
    /// Name tag.
    pub name: String,
    /// Lifecycle state.
    pub state: &'static str,
    /// Instance type.
    pub instance_type: String,
    /// Launch time.
    pub launch_time: Option<DateTime<Utc>>,
    /// First public IPv4.
    pub public_ip: Option<String>,
    /// Latest CPU percent, null if unknown.
    pub cpu_percent: Option<f64>,
    /// World-open ports.
    pub open_ports: Vec<PortOut>,
    /// Live findings, worst first.
    pub findings: Vec<FindingOut>,
    /// Risk score 0-100.
    pub risk: u8,
    /// Why (points and reason).
    pub risk_reasons: Vec<String>,
    /// True when the region's data is stale or its last poll failed.
    pub stale: bool,
    /// Named facts: `saturated`, `credits-exhausted`, `new-launch`, `foreign-ami`, ... (the list
    /// is in docs/snapshot-format.md), then `rule:NAME` for each configured rule it matches.
    pub flags: Vec<String>,
    /// Dollars per hour (on-demand, or its AZ's Spot price); null while unknown.
    pub price_per_hour: Option<f64>,
    /// The price is a saved one, used because AWS could not be asked (see `price_as_of`).
    pub price_cached: bool,
    /// When AWS gave the price; null while unknown.
    pub price_as_of: Option<DateTime<Utc>>,
    /// Price × hours since launch for a running instance (stopped periods in between are
    /// counted: an upper bound); null when the price or launch time is unknown, or not running.
    pub cost_since_launch: Option<f64>,
    /// Latest CPU credit balance; null when the instance is not burstable or it is not known.
    pub cpu_credit_balance: Option<f64>,
    /// AMI the instance was launched from.
    pub image_id: Option<String>,
    /// Account that owns the AMI; null until described, or when DescribeImages does not know it.
    pub image_owner: Option<String>,
    /// Who launched it (`snapshot --launched-by`); null unless found.
    pub launched_by: Option<Launcher>,
    /// `found`, `beyond-history`, `not-found`, `not-recorded-yet` or `failed: why`; null when
    /// not looked up.
    pub launched_by_status: Option<String>,
}

/// Builds the snapshot from the fleet as it is now.
/// One ECS task.
#[derive(Debug, Serialize)]
pub struct TaskOut {
    /// 12-digit account id.
    pub account_id: String,
    /// Account alias.
    pub account_alias: String,
    /// Region code.
    pub region: String,
    /// Cluster name.
    pub cluster: String,
    /// Service name; null for a standalone task.
    pub service: Option<String>,
    /// Task ARN.
    pub task_arn: String,
    /// Task definition `family:revision`.
    pub task_definition: String,
    /// `FARGATE`, `EC2`, `EXTERNAL` or empty.
    pub launch_type: String,
    /// `RUNNING`, `PENDING`, ...
    pub last_status: String,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// Who started it (`ecs-svc/...` for a service).
    pub started_by: String,
    /// Container images, in container order.
    pub images: Vec<String>,
    /// The EC2 instance of an EC2-launched task.
    pub host_instance: Option<String>,
    /// Latest CPU percent; null if unknown.
    pub cpu_percent: Option<f64>,
    /// `task` (Container Insights), `service` (the service's mean) or `unknown`.
    pub cpu_source: &'static str,
    /// World-open port ranges (its interface's groups, or its container instance's).
    pub open_ports: Vec<PortOut>,
    /// Why the exposure is unknown (its interface or container instance is not in the EC2
    /// inventory): `open_ports` is then empty without meaning closed. Null when known.
    pub exposure_unknown: Option<String>,
    /// Public IPv4 address of its interface.
    pub public_ip: Option<String>,
    /// Live findings about the task (or its cluster only), worst first.
    pub findings: Vec<FindingOut>,
    /// Risk score 0-100.
    pub risk: u8,
    /// Why, one `+N reason` string per contribution.
    pub risk_reasons: Vec<String>,
    /// The scope's data is stale or failing.
    pub stale: bool,
    /// Named facts (`standalone-task`, `public-image`, `new-task-def`, ...).
    pub flags: Vec<String>,
}

/// The world-open ranges of a row, as written.
fn ports_out(r: &Row) -> Vec<PortOut> {
    r.exposure
        .ports
        .iter()
        .map(|p| PortOut {
            protocol: p.protocol.clone(),
            from_port: p.from_port,
            to_port: p.to_port,
            sources: p.sources.clone(),
        })
        .collect()
}

/// The live findings of a row, as written.
fn findings_out(fleet: &Fleet, r: &Row) -> Vec<FindingOut> {
    fleet
        .findings_of(r)
        .into_iter()
        .map(|f| FindingOut {
            id: f.id.clone(),
            kind: f.kind.clone(),
            severity: f.severity,
            severity_label: f.band().name(),
            title: f.title.clone(),
            updated_at: f.updated_at,
            dns_domain: f.dns_domain.clone(),
        })
        .collect()
}

/// A row's risk reasons, as written.
fn reasons_out(r: &Row) -> Vec<String> {
    r.risk
        .reasons
        .iter()
        .map(|x| format!("{:+} {}", x.points, x.why))
        .collect()
}

/// One decimal.
fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub fn build(fleet: &Fleet, source: &str, now: DateTime<Utc>) -> Snapshot {
    let accounts = fleet
        .accounts
        .iter()
        .map(|a| {
            let burn = fleet.burn_of(&a.account_id);
            let costs = fleet.costs.get(&a.account_id);
            AccountOut {
                account_id: a.account_id.clone(),
                alias: a.alias.clone(),
                burn_per_hour: round4(burn.now),
                burn_change_24h: burn.change_24h().map(round4),
                burn_spike: burn.is_spike(fleet.spike_ratio.0),
                unpriced_instances: burn.unpriced,
                daily_cost: costs.map(|c| c.daily.clone()),
                cost_anomalies: costs.map(|c| c.anomalies.clone()).unwrap_or_default(),
                regions: fleet
                    .scopes
                    .iter()
                    .filter(|s| s.scope.account_id == a.account_id)
                    .map(|s| {
                        let errors: Vec<String> = s
                            .feeds
                            .iter()
                            .filter_map(|f| match &f.state {
                                FeedState::Error(m) => Some(format!("{}: {m}", f.name)),
                                _ => None,
                            })
                            .collect();
                        let fetched_at = s
                            .feeds
                            .iter()
                            .filter(|f| f.essential)
                            .map(|f| f.last_ok)
                            .collect::<Option<Vec<_>>>()
                            .and_then(|v| v.into_iter().min());
                        RegionOut {
                            region: s.scope.region.clone(),
                            status: match s.health(now) {
                                ScopeHealth::Ok(_) => "ok",
                                ScopeHealth::Loading => "loading",
                                ScopeHealth::Stale(_) => "stale",
                                ScopeHealth::Degraded(..) => "degraded",
                                ScopeHealth::Error(..) => "error",
                            },
                            error: (!errors.is_empty()).then(|| errors.join("; ")),
                            fetched_at,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let mut rows: Vec<&Row> = fleet.rows.iter().collect();
    let risk = |r: &Row| crate::app::numeric_key(r, crate::app::SortKey::Risk);
    rows.sort_by(|a, b| risk(b).cmp(&risk(a)).then_with(|| a.id().cmp(b.id())));
    let instances = rows
        .iter()
        .filter_map(|r| Some((*r, r.instance()?)))
        .map(|(r, i)| instance_out(fleet, r, i, now))
        .collect();
    let tasks = rows
        .iter()
        .filter_map(|r| Some((*r, r.task()?)))
        .map(|(r, t)| task_out(fleet, r, t, now))
        .collect();
    Snapshot {
        format_version: FORMAT_VERSION,
        generated_at: now,
        source: source.to_string(),
        accounts,
        instances,
        tasks,
        burn_per_hour: round4(fleet.totals.burn.now),
    }
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// One instance row as the snapshot writes it.
pub fn instance_out(fleet: &Fleet, r: &Row, i: &Instance, now: DateTime<Utc>) -> InstanceOut {
    let sd = &fleet.scopes[r.scope];
    InstanceOut {
        account_id: sd.scope.account_id.clone(),
        account_alias: sd.alias.clone(),
        region: sd.scope.region.clone(),
        instance_id: i.instance_id.clone(),
        name: i.name.clone(),
        state: i.state.as_str(),
        instance_type: i.instance_type.clone(),
        launch_time: i.launch_time,
        public_ip: i.public_ip().map(str::to_string),
        cpu_percent: r.cpu_now.map(round1),
        open_ports: ports_out(r),
        findings: findings_out(fleet, r),
        risk: r.risk.score,
        risk_reasons: reasons_out(r),
        stale: sd.rows_stale(now),
        flags: fleet.flags_of(r),
        price_per_hour: r.price.map(|p| p.usd_per_hour),
        price_cached: r.price.is_some_and(|p| p.cached),
        price_as_of: r
            .price
            .and_then(|_| sd.prices.get(&crate::model::price::PriceKey::of(i)))
            .map(|q| q.as_of),
        cost_since_launch: r.cost_since_launch(now).map(round4),
        cpu_credit_balance: r.credit_balance.map(round1),
        image_id: i.image_id.clone(),
        image_owner: i
            .image_id
            .as_ref()
            .and_then(|id| sd.images.get(id))
            .and_then(|i| i.as_ref())
            .map(|i| i.owner_id.clone()),
        launched_by: match sd.launched_by.get(&i.instance_id) {
            Some(LaunchedBy::Found(l)) => Some(l.clone()),
            _ => None,
        },
        launched_by_status: sd.launched_by.get(&i.instance_id).map(LaunchedBy::status),
    }
}

/// One task row as the snapshot writes it.
pub fn task_out(fleet: &Fleet, r: &Row, t: &Task, now: DateTime<Utc>) -> TaskOut {
    let sd = &fleet.scopes[r.scope];
    TaskOut {
        account_id: sd.scope.account_id.clone(),
        account_alias: sd.alias.clone(),
        region: sd.scope.region.clone(),
        cluster: t.cluster.clone(),
        service: t.service.clone(),
        task_arn: t.task_arn.clone(),
        task_definition: t.task_definition.clone(),
        launch_type: t.launch_type.clone(),
        last_status: t.last_status.clone(),
        started_at: t.started_at,
        started_by: t.started_by.clone(),
        images: t.images().map(str::to_string).collect(),
        host_instance: t.host_instance.clone(),
        cpu_percent: r.cpu_now.map(round1),
        cpu_source: match (r.cpu_now, r.cpu_source) {
            (None, _) | (_, CpuSource::Unknown) => "unknown",
            (Some(_), CpuSource::Own) => "task",
            (Some(_), CpuSource::Service) => "service",
        },
        open_ports: ports_out(r),
        exposure_unknown: r
            .exposure
            .missing_groups
            .iter()
            .find(|m| m.starts_with('('))
            .map(|m| m.trim_matches(|c| c == '(' || c == ')').to_string()),
        public_ip: r.subject.public_ip().map(str::to_string),
        findings: findings_out(fleet, r),
        risk: r.risk.score,
        risk_reasons: reasons_out(r),
        stale: sd.rows_stale(now),
        flags: fleet.flags_of(r),
    }
}

/// Writes the snapshot as pretty JSON.
pub fn write_json(s: &Snapshot, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, s)?;
    writeln!(out)
}

/// CSV: one line per instance, then one per ECS task, in one column set. The `kind` column
/// (last but six) says which; a task fills `instance_id` with its ARN, `name` with its service
/// (or `standalone`), `state` with its last status and `launch_time` with its start, and the
/// task columns after `kind`; an instance leaves those empty.
pub fn write_csv(s: &Snapshot, out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "account_id",
        "account_alias",
        "region",
        "instance_id",
        "name",
        "state",
        "instance_type",
        "launch_time",
        "public_ip",
        "cpu_percent",
        "open_ports",
        "finding_count",
        "max_severity",
        "finding_types",
        "risk",
        "stale",
        "flags",
        "cpu_credit_balance",
        "image_id",
        "image_owner",
        "kind",
        "cluster",
        "service",
        "task_definition",
        "launch_type",
        "images",
        "price_per_hour",
    ])?;
    let time = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            .unwrap_or_default()
    };
    let one = |x: Option<f64>| x.map(|c| format!("{c:.1}")).unwrap_or_default();
    let flags = |f: &[String]| f.join(";");
    let price = |x: Option<f64>| x.map(|c| format!("{c:.4}")).unwrap_or_default();
    for i in &s.instances {
        let [ports, count, max_sev, types] = csv_exposure(&i.open_ports, &i.findings);
        w.write_record([
            i.account_id.as_str(),
            &i.account_alias,
            &i.region,
            &i.instance_id,
            &i.name,
            i.state,
            &i.instance_type,
            &time(i.launch_time),
            i.public_ip.as_deref().unwrap_or(""),
            &one(i.cpu_percent),
            &ports,
            &count,
            &max_sev,
            &types,
            &i.risk.to_string(),
            &i.stale.to_string(),
            &flags(&i.flags),
            &one(i.cpu_credit_balance),
            i.image_id.as_deref().unwrap_or(""),
            i.image_owner.as_deref().unwrap_or(""),
            "instance",
            "",
            "",
            "",
            "",
            "",
            &price(i.price_per_hour),
        ])?;
    }
    for t in &s.tasks {
        let [ports, count, max_sev, types] = csv_exposure(&t.open_ports, &t.findings);
        w.write_record([
            t.account_id.as_str(),
            &t.account_alias,
            &t.region,
            &t.task_arn,
            t.service.as_deref().unwrap_or("standalone"),
            &t.last_status.to_ascii_lowercase(),
            "",
            &time(t.started_at),
            t.public_ip.as_deref().unwrap_or(""),
            &one(t.cpu_percent),
            &ports,
            &count,
            &max_sev,
            &types,
            &t.risk.to_string(),
            &t.stale.to_string(),
            &flags(&t.flags),
            "",
            "",
            "",
            "task",
            &t.cluster,
            t.service.as_deref().unwrap_or(""),
            &t.task_definition,
            &t.launch_type,
            &t.images.join(";"),
            "",
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The CSV cells `open_ports`, `finding_count`, `max_severity` and `finding_types`.
fn csv_exposure(open: &[PortOut], findings: &[FindingOut]) -> [String; 4] {
    let ports: Vec<String> = open
        .iter()
        .map(|p| {
            let proto = match &p.protocol {
                Protocol::All => "all".to_string(),
                Protocol::Tcp => "tcp".into(),
                Protocol::Udp => "udp".into(),
                Protocol::Icmp => "icmp".into(),
                Protocol::Other(n) => n.clone(),
            };
            match (&p.protocol, p.from_port, p.to_port) {
                // ICMP ports are type and code; -1 means any.
                (Protocol::Icmp, Some(t), _) if t >= 0 => format!("icmp:type{t}"),
                (Protocol::Icmp, _, _) => proto,
                (_, Some(a), Some(b)) if a == b => format!("{proto}:{a}"),
                (_, Some(a), Some(b)) => format!("{proto}:{a}-{b}"),
                _ => proto,
            }
        })
        .collect();
    let max_sev = findings
        .iter()
        .map(|f| f.severity)
        .reduce(f64::max)
        .map(|s| format!("{s:.1}"))
        .unwrap_or_default();
    let types: Vec<&str> = findings.iter().map(|f| f.kind.as_str()).collect();
    [
        ports.join(" "),
        findings.len().to_string(),
        max_sev,
        types.join(";"),
    ]
}
