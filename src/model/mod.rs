//! Fleet domain types: instances, network interfaces, security groups, findings, CPU series.

pub mod credits;
pub mod exposure;
pub mod flags;
pub mod image;
pub mod launch;
pub mod price;
pub mod risk;
pub mod subject;
pub mod task;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use exposure::{OpenPort, Protocol, exposure_of};
pub use risk::{Risk, RiskInput, risk_of};
pub use subject::{Kind, Subject};

/// Twelve-digit AWS account id, kept as text (leading zeros matter).
pub type AccountId = String;

/// Where a piece of fleet data comes from: one account in one region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Scope {
    /// The account's real 12-digit id.
    pub account_id: AccountId,
    /// AWS region code, e.g. `us-east-1`.
    pub region: String,
}

impl Scope {
    /// Builds a scope from an account id and a region.
    pub fn new(account_id: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            account_id: account_id.into(),
            region: region.into(),
        }
    }
}

/// EC2 instance lifecycle state as reported by DescribeInstances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceState {
    /// Launching.
    Pending,
    /// Running.
    Running,
    /// Stop in progress.
    Stopping,
    /// Stopped.
    Stopped,
    /// Termination in progress.
    ShuttingDown,
    /// Terminated.
    Terminated,
    /// Any state string this build does not know.
    Unknown,
}

impl InstanceState {
    /// Parses the EC2 state name (`running`, `shutting-down`, ...).
    pub fn parse(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "running" => Self::Running,
            "stopping" => Self::Stopping,
            "stopped" => Self::Stopped,
            "shutting-down" => Self::ShuttingDown,
            "terminated" => Self::Terminated,
            _ => Self::Unknown,
        }
    }

    /// The EC2 state name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::ShuttingDown => "shutting-down",
            Self::Terminated => "terminated",
            Self::Unknown => "unknown",
        }
    }

    /// True while the instance can run code (and burn CPU).
    pub fn is_live(self) -> bool {
        matches!(self, Self::Pending | Self::Running | Self::Stopping)
    }
}

/// One inbound rule of a security group, flattened to a single source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngressRule {
    /// IpProtocol as EC2 reports it: `tcp`, `udp`, `icmp`, `icmpv6`, `-1`, or a protocol number.
    pub protocol: String,
    /// FromPort (ICMP type for icmp); None when the API omits it.
    pub from_port: Option<i32>,
    /// ToPort (ICMP code for icmp); None when the API omits it.
    pub to_port: Option<i32>,
    /// Where traffic may come from.
    pub source: RuleSource,
}

/// The source of an inbound rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum RuleSource {
    /// IPv4 CIDR block.
    Cidr4(String),
    /// IPv6 CIDR block.
    Cidr6(String),
    /// Another security group (`sg-...`, optionally `account/sg-...`).
    Group(String),
    /// Managed prefix list (`pl-...`): named, never guessed.
    PrefixList(String),
}

impl RuleSource {
    /// The source as shown to the user and written to snapshots.
    pub fn label(&self) -> &str {
        match self {
            Self::Cidr4(s) | Self::Cidr6(s) | Self::Group(s) | Self::PrefixList(s) => s,
        }
    }

    /// True for 0.0.0.0/0 and ::/0: the whole internet.
    pub fn is_world(&self) -> bool {
        match self {
            Self::Cidr4(c) => c.trim() == "0.0.0.0/0",
            Self::Cidr6(c) => {
                let c = c.trim();
                c == "::/0" || c == "0:0:0:0:0:0:0:0/0"
            }
            _ => false,
        }
    }
}

/// A security group with its inbound rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityGroup {
    /// `sg-...`
    pub group_id: String,
    /// GroupName.
    pub name: String,
    /// VPC the group belongs to.
    pub vpc_id: Option<String>,
    /// Inbound rules, one source each.
    pub ingress: Vec<IngressRule>,
}

/// One elastic network interface attached to an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkInterface {
    /// `eni-...`
    pub eni_id: String,
    /// Device index (0 = primary).
    pub device_index: i32,
    /// Subnet of the ENI.
    pub subnet_id: Option<String>,
    /// Private IPv4 address.
    pub private_ip: Option<String>,
    /// Public IPv4 address (EIP or auto-assigned), if any.
    pub public_ip: Option<String>,
    /// IPv6 addresses (globally routable unless blocked elsewhere).
    pub ipv6: Vec<String>,
    /// Security group ids attached to this ENI.
    pub group_ids: Vec<String>,
}

/// An EC2 instance with everything the fleet view needs except metrics and findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instance {
    /// `i-...`
    pub instance_id: String,
    /// Value of the `Name` tag, empty if none.
    pub name: String,
    /// Instance type, e.g. `t3.micro`.
    pub instance_type: String,
    /// Lifecycle state.
    pub state: InstanceState,
    /// Launch time.
    pub launch_time: Option<DateTime<Utc>>,
    /// VPC id.
    pub vpc_id: Option<String>,
    /// All network interfaces, primary first.
    pub interfaces: Vec<NetworkInterface>,
    /// All tags, sorted by key.
    pub tags: Vec<(String, String)>,
    /// True when detailed (1-minute) monitoring is enabled.
    pub detailed_monitoring: bool,
    /// DisableApiTermination attribute, if known.
    pub termination_protection: Option<bool>,
    /// DisableApiStop attribute, if known.
    pub stop_protection: Option<bool>,
    /// Auto Scaling group name (from the `aws:autoscaling:groupName` tag).
    pub asg: Option<String>,
    /// AMI id it was launched from.
    pub image_id: Option<String>,
    /// Key pair name (None: launched without one).
    pub key_name: Option<String>,
    /// A Spot instance (InstanceLifecycle `spot`).
    pub spot: bool,
    /// Billed software (EC2 `PlatformDetails`): part of its price.
    pub platform: price::Platform,
    /// Placement tenancy: part of its price.
    pub tenancy: price::Tenancy,
    /// Availability zone (a Spot price is per AZ).
    pub availability_zone: Option<String>,
}

impl Instance {
    /// First public IPv4 address on any ENI.
    pub fn public_ip(&self) -> Option<&str> {
        self.interfaces.iter().find_map(|n| n.public_ip.as_deref())
    }

    /// True when the instance has an internet-routable address (public IPv4 or any IPv6).
    pub fn is_reachable(&self) -> bool {
        is_reachable(&self.interfaces)
    }
}

/// True when any of the interfaces has an internet-routable address (public IPv4 or IPv6).
pub fn is_reachable(interfaces: &[NetworkInterface]) -> bool {
    interfaces
        .iter()
        .any(|n| n.public_ip.is_some() || !n.ipv6.is_empty())
}

/// All security group ids across the interfaces, deduplicated, in first-seen order.
pub fn group_ids(interfaces: &[NetworkInterface]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for g in interfaces.iter().flat_map(|n| n.group_ids.iter()) {
        if !out.contains(&g.as_str()) {
            out.push(g);
        }
    }
    out
}

/// GuardDuty severity band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SeverityBand {
    /// 1.0-3.9
    Low,
    /// 4.0-6.9
    Medium,
    /// 7.0-8.9
    High,
    /// 9.0-10.0
    Critical,
}

impl SeverityBand {
    /// Band of a numeric GuardDuty severity.
    pub fn of(severity: f64) -> Self {
        if severity >= 9.0 {
            Self::Critical
        } else if severity >= 7.0 {
            Self::High
        } else if severity >= 4.0 {
            Self::Medium
        } else {
            Self::Low
        }
    }

    /// One-letter code used in narrow columns.
    pub fn letter(self) -> char {
        match self {
            Self::Low => 'L',
            Self::Medium => 'M',
            Self::High => 'H',
            Self::Critical => 'C',
        }
    }

    /// Full name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// A GuardDuty finding attached to one instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Finding id.
    pub id: String,
    /// Finding type, e.g. `CryptoCurrency:EC2/BitcoinTool.B!DNS`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Numeric severity 1.0-10.0.
    pub severity: f64,
    /// Short title.
    pub title: String,
    /// Instance the finding is about (resource.instanceDetails.instanceId).
    pub instance_id: Option<String>,
    /// ECS task the finding is about (resource.ecsClusterDetails.taskDetails.arn), for Runtime
    /// Monitoring findings on ECS.
    pub task_arn: Option<String>,
    /// ECS cluster of such a finding (resource.ecsClusterDetails.arn): where it attaches when
    /// it names no task.
    pub cluster_arn: Option<String>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// How many times GuardDuty saw it.
    pub count: u64,
    /// Archived findings are dropped from the view.
    pub archived: bool,
    /// The domain a DNS-family finding says was asked (service.action.dnsRequestAction.domain):
    /// chosen by whoever runs on the instance, so shown escaped and only ever matched.
    pub dns_domain: Option<String>,
}

impl Finding {
    /// Severity band.
    pub fn band(&self) -> SeverityBand {
        SeverityBand::of(self.severity)
    }

    /// True for the cryptomining finding families.
    pub fn is_cryptomining(&self) -> bool {
        let k = self.kind.as_str();
        k.starts_with("CryptoCurrency:")
            || k.starts_with("Impact:EC2/BitcoinDomainRequest")
            || k.starts_with("Impact:Runtime/CryptoMinerExecuted")
    }

    /// True for the DNS family: the resource asked DNS for a mining pool's domain
    /// (`…!DNS` types, `Impact:EC2/BitcoinDomainRequest.Reputation`). Route 53 Resolver DNS
    /// Firewall is the account-wide cut for those domains (docs/triage.md).
    pub fn is_dns_mining(&self) -> bool {
        let k = self.kind.as_str();
        (k.starts_with("CryptoCurrency:") && k.ends_with("!DNS"))
            || k.starts_with("Impact:EC2/BitcoinDomainRequest")
    }
}

/// Samples of a series, oldest first, 8 bytes each (a `(DateTime, f64)` is 24): milliseconds
/// after the series' base time as `u32` (49 days; a series spans hours) and the value as `f32`.
/// 100,000 series of 120 samples are kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    /// Milliseconds since the Unix epoch of offset 0.
    base_ms: i64,
    items: Vec<(u32, f32)>,
}

impl Samples {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// No sample.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn time(&self, offset: u32) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.base_ms + i64::from(offset)).unwrap_or_default()
    }

    /// Every sample as (time, value), oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (DateTime<Utc>, f64)> + '_ {
        self.items
            .iter()
            .map(|(o, v)| (self.time(*o), f64::from(*v)))
    }

    /// The newest sample.
    pub fn last(&self) -> Option<(DateTime<Utc>, f64)> {
        self.items
            .last()
            .map(|(o, v)| (self.time(*o), f64::from(*v)))
    }

    /// The values of the newest `n` samples (fewer if there are not as many).
    pub fn last_values(&self, n: usize) -> impl Iterator<Item = f64> + '_ {
        self.items[self.items.len() - n.min(self.items.len())..]
            .iter()
            .map(|(_, v)| f64::from(*v))
    }

    /// The offset of `t` from the base, moving the base back first when `t` is older (or
    /// forward when the span would not fit).
    fn offset(&mut self, t: DateTime<Utc>) -> u32 {
        let ms = t.timestamp_millis();
        if self.items.is_empty() {
            self.base_ms = ms;
        }
        if ms < self.base_ms || ms - self.base_ms > i64::from(u32::MAX) {
            let first = self
                .items
                .first()
                .map_or(ms, |(o, _)| self.base_ms + i64::from(*o));
            let base = ms.min(first);
            let shift = self.base_ms - base;
            for (o, _) in &mut self.items {
                *o = (i64::from(*o) + shift).clamp(0, i64::from(u32::MAX)) as u32;
            }
            self.base_ms = base;
        }
        (ms - self.base_ms).clamp(0, i64::from(u32::MAX)) as u32
    }
}

impl FromIterator<(DateTime<Utc>, f64)> for Samples {
    /// Samples in the order given (oldest first).
    fn from_iter<I: IntoIterator<Item = (DateTime<Utc>, f64)>>(points: I) -> Self {
        let mut s = Samples::default();
        for (t, v) in points {
            let o = s.offset(t);
            s.items.push((o, v as f32));
        }
        s.items.shrink_to_fit();
        s
    }
}

impl From<Vec<(DateTime<Utc>, f64)>> for Samples {
    fn from(points: Vec<(DateTime<Utc>, f64)>) -> Self {
        points.into_iter().collect()
    }
}

impl Serialize for Samples {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_seq(self.iter())
    }
}

/// CPU utilisation samples of one instance, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CpuSeries {
    /// Sampling period in seconds (300 basic, 60 detailed).
    pub period_secs: u32,
    /// (time, percent) samples, oldest first, at most [`CpuSeries::CAPACITY`].
    pub points: Samples,
}

impl CpuSeries {
    /// Samples kept per instance.
    pub const CAPACITY: usize = 120;

    /// Latest sample, if any.
    pub fn latest(&self) -> Option<f64> {
        self.points.last().map(|p| p.1)
    }

    /// Mean of the last `n` samples (fewer if not available).
    pub fn recent_mean(&self, n: usize) -> Option<f64> {
        let take = self.points.len().min(n);
        if take == 0 {
            return None;
        }
        let s: f64 = self.points.last_values(take).sum();
        Some(s / take as f64)
    }

    /// Merges new samples in time order, replacing equal timestamps, keeping the newest CAPACITY.
    pub fn merge(&mut self, new: impl Into<Samples>) {
        let new: Samples = new.into();
        let mut new: Vec<(DateTime<Utc>, f64)> = new.iter().collect();
        if new.is_empty() {
            return;
        }
        new.sort_by_key(|p| p.0);
        let p = &mut self.points;
        // Exactly what is needed: a full series growing by doubling would hold twice its
        // capacity forever (100,000 series are kept).
        p.items.reserve_exact(new.len());
        for (t, v) in new {
            let o = p.offset(t);
            let v = v as f32;
            if p.items.last().is_none_or(|l| l.0 < o) {
                p.items.push((o, v));
            } else {
                match p.items.binary_search_by_key(&o, |q| q.0) {
                    Ok(i) => p.items[i].1 = v,
                    Err(i) => p.items.insert(i, (o, v)),
                }
            }
        }
        if p.items.len() > Self::CAPACITY {
            let cut = p.items.len() - Self::CAPACITY;
            p.items.drain(..cut);
        }
        // After a large merge (a first backfill), give back what a poll's few samples will not
        // need.
        if p.items.capacity() > p.items.len() + 16 {
            p.items.shrink_to(p.items.len() + 8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn the_dns_family_is_told_apart() {
        let f = |kind: &str| Finding {
            id: "f".into(),
            kind: kind.into(),
            severity: 8.0,
            title: String::new(),
            instance_id: None,
            task_arn: None,
            cluster_arn: None,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
            count: 1,
            archived: false,
            dns_domain: None,
        };
        for (kind, dns) in [
            ("CryptoCurrency:EC2/BitcoinTool.B!DNS", true),
            ("CryptoCurrency:Runtime/BitcoinTool.B!DNS", true),
            ("Impact:EC2/BitcoinDomainRequest.Reputation", true),
            ("CryptoCurrency:EC2/BitcoinTool.B", false),
            ("Backdoor:EC2/C&CActivity.B!DNS", false),
            ("UnauthorizedAccess:EC2/SSHBruteForce", false),
        ] {
            assert_eq!(f(kind).is_dns_mining(), dns, "{kind}");
        }
    }

    #[test]
    fn samples_keep_milliseconds_order_and_late_older_data() {
        let ms = |m: i64| DateTime::from_timestamp_millis(1_700_000_000_000 + m).unwrap();
        let mut c = CpuSeries::default();
        c.merge(vec![
            (ms(1_000), 10.0),
            (ms(1_001), 11.5),
            (ms(5_000), 12.25),
        ]);
        // Data older than the first sample (CloudWatch publishing late) moves the base back.
        c.merge(vec![(ms(-60_000), 9.0), (ms(1_001), 11.0)]);
        let got: Vec<(DateTime<Utc>, f64)> = c.points.iter().collect();
        assert_eq!(
            got,
            [
                (ms(-60_000), 9.0),
                (ms(1_000), 10.0),
                (ms(1_001), 11.0),
                (ms(5_000), 12.25)
            ]
        );
        assert_eq!(c.points.last(), Some((ms(5_000), 12.25)));
        assert_eq!(c.recent_mean(2), Some(11.625));
        // 8 bytes a sample, whatever the span of hours a series covers.
        assert_eq!(std::mem::size_of::<(u32, f32)>(), 8);
    }

    #[test]
    fn severity_bands_follow_guardduty_ranges() {
        for (s, b) in [
            (1.0, SeverityBand::Low),
            (3.9, SeverityBand::Low),
            (4.0, SeverityBand::Medium),
            (6.9, SeverityBand::Medium),
            (7.0, SeverityBand::High),
            (8.9, SeverityBand::High),
            (9.0, SeverityBand::Critical),
            (10.0, SeverityBand::Critical),
        ] {
            assert_eq!(SeverityBand::of(s), b, "severity {s}");
        }
    }

    #[test]
    fn cpu_series_merges_in_order_and_caps() {
        let mut s = CpuSeries::default();
        s.merge(vec![(t(60), 2.0), (t(0), 1.0)]);
        s.merge(vec![(t(30), 1.5), (t(60), 3.0), (t(120), 4.0)]);
        let v: Vec<f64> = s.points.iter().map(|p| p.1).collect();
        assert_eq!(v, vec![1.0, 1.5, 3.0, 4.0]);
        s.merge(
            (0..200)
                .map(|i| (t(1000 + i), i as f64))
                .collect::<Vec<_>>(),
        );
        assert_eq!(s.points.len(), CpuSeries::CAPACITY);
        assert_eq!(s.latest(), Some(199.0));
        assert_eq!(s.recent_mean(2), Some(198.5));
    }

    #[test]
    fn cryptomining_types_are_recognised() {
        let mk = |k: &str| Finding {
            id: "f".into(),
            kind: k.into(),
            severity: 5.0,
            title: String::new(),
            instance_id: None,
            updated_at: t(0),
            count: 1,
            task_arn: None,
            cluster_arn: None,
            archived: false,
            dns_domain: None,
        };
        assert!(mk("CryptoCurrency:EC2/BitcoinTool.B!DNS").is_cryptomining());
        assert!(mk("Impact:EC2/BitcoinDomainRequest.Reputation").is_cryptomining());
        assert!(mk("Impact:Runtime/CryptoMinerExecuted").is_cryptomining());
        assert!(!mk("UnauthorizedAccess:EC2/SSHBruteForce").is_cryptomining());
    }
}
