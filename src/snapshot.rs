//! `watchfloor snapshot`: the fleet as JSON or CSV (format documented in docs/snapshot-format.md).

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::{FeedState, Fleet, ScopeHealth};
use crate::model::exposure::Protocol;
use crate::model::flags::Flags;
use crate::model::launch::{LaunchedBy, Launcher};

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
    /// is in docs/snapshot-format.md).
    pub flags: Flags,
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
pub fn build(fleet: &Fleet, source: &str, now: DateTime<Utc>) -> Snapshot {
    let accounts = fleet
        .accounts
        .iter()
        .map(|a| AccountOut {
            account_id: a.account_id.clone(),
            alias: a.alias.clone(),
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
        })
        .collect();
    let mut rows: Vec<&crate::app::Row> = fleet.rows.iter().collect();
    rows.sort_by(|a, b| {
        crate::app::fleet_compare(fleet, b, a, crate::app::SortKey::Risk)
            .then_with(|| a.instance.instance_id.cmp(&b.instance.instance_id))
    });
    let instances = rows
        .into_iter()
        .map(|r| {
            let sd = &fleet.scopes[r.scope];
            InstanceOut {
                account_id: sd.scope.account_id.clone(),
                account_alias: sd.alias.clone(),
                region: sd.scope.region.clone(),
                instance_id: r.instance.instance_id.clone(),
                name: r.instance.name.clone(),
                state: r.instance.state.as_str(),
                instance_type: r.instance.instance_type.clone(),
                launch_time: r.instance.launch_time,
                public_ip: r.instance.public_ip().map(str::to_string),
                cpu_percent: r.cpu_now.map(|c| (c * 10.0).round() / 10.0),
                open_ports: r
                    .exposure
                    .ports
                    .iter()
                    .map(|p| PortOut {
                        protocol: p.protocol.clone(),
                        from_port: p.from_port,
                        to_port: p.to_port,
                        sources: p.sources.clone(),
                    })
                    .collect(),
                findings: fleet
                    .findings_of(r.scope, &r.instance.instance_id)
                    .into_iter()
                    .map(|f| FindingOut {
                        id: f.id.clone(),
                        kind: f.kind.clone(),
                        severity: f.severity,
                        severity_label: f.band().name(),
                        title: f.title.clone(),
                        updated_at: f.updated_at,
                    })
                    .collect(),
                risk: r.risk.score,
                risk_reasons: r
                    .risk
                    .reasons
                    .iter()
                    .map(|x| format!("{:+} {}", x.points, x.why))
                    .collect(),
                stale: sd.rows_stale(now),
                flags: r.flags,
                cpu_credit_balance: r.credit_balance.map(|c| (c * 10.0).round() / 10.0),
                image_id: r.instance.image_id.clone(),
                image_owner: r
                    .instance
                    .image_id
                    .as_ref()
                    .and_then(|id| sd.images.get(id))
                    .and_then(|i| i.as_ref())
                    .map(|i| i.owner_id.clone()),
                launched_by: match sd.launched_by.get(&r.instance.instance_id) {
                    Some(LaunchedBy::Found(l)) => Some(l.clone()),
                    _ => None,
                },
                launched_by_status: sd
                    .launched_by
                    .get(&r.instance.instance_id)
                    .map(LaunchedBy::status),
            }
        })
        .collect();
    Snapshot {
        format_version: FORMAT_VERSION,
        generated_at: now,
        source: source.to_string(),
        accounts,
        instances,
    }
}

/// Writes the snapshot as pretty JSON.
pub fn write_json(s: &Snapshot, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, s)?;
    writeln!(out)
}

/// Writes one CSV row per instance (columns documented in docs/snapshot-format.md).
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
    ])?;
    for i in &s.instances {
        let ports: Vec<String> = i
            .open_ports
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
        let max_sev = i
            .findings
            .iter()
            .map(|f| f.severity)
            .reduce(f64::max)
            .map(|s| format!("{s:.1}"))
            .unwrap_or_default();
        let types: Vec<&str> = i.findings.iter().map(|f| f.kind.as_str()).collect();
        w.write_record([
            i.account_id.as_str(),
            &i.account_alias,
            &i.region,
            &i.instance_id,
            &i.name,
            i.state,
            &i.instance_type,
            &i.launch_time
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                .unwrap_or_default(),
            i.public_ip.as_deref().unwrap_or(""),
            &i.cpu_percent.map(|c| format!("{c:.1}")).unwrap_or_default(),
            &ports.join(" "),
            &i.findings.len().to_string(),
            &max_sev,
            &types.join(";"),
            &i.risk.to_string(),
            &i.stale.to_string(),
            &i.flags
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(";"),
            &i.cpu_credit_balance
                .map(|c| format!("{c:.1}"))
                .unwrap_or_default(),
            i.image_id.as_deref().unwrap_or(""),
            i.image_owner.as_deref().unwrap_or(""),
        ])?;
    }
    w.flush()?;
    Ok(())
}
