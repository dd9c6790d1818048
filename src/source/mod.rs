//! Fleet data sources: the messages every feed sends, and the demo and AWS implementations.

pub mod aws;
pub mod demo;
pub mod mfa;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::{CpuSeries, Finding, Instance, Scope, SecurityGroup};

/// What CloudWatch charges for `metrics` metrics requested by GetMetricData ($0.01 per 1,000).
pub fn cloudwatch_usd(metrics: f64) -> f64 {
    metrics * 0.01 / 1000.0
}

/// One of the three feeds polled per account x region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Feed {
    /// DescribeInstances + DescribeSecurityGroups + DescribeNetworkInterfaces.
    Ec2,
    /// CloudWatch CPUUtilization via GetMetricData.
    Cpu,
    /// GuardDuty findings.
    Findings,
}

impl Feed {
    /// All feeds, in display order.
    pub const ALL: [Feed; 3] = [Feed::Ec2, Feed::Cpu, Feed::Findings];

    /// Position in [`Feed::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Feed::Ec2 => "ec2",
            Feed::Cpu => "cpu",
            Feed::Findings => "findings",
        }
    }
}

/// An account as the source knows it: alias, verified id, regions to watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountInfo {
    /// Operator-chosen alias, unique.
    pub alias: String,
    /// 12-digit id (verified with STS for AWS accounts).
    pub account_id: String,
    /// Regions polled.
    pub regions: Vec<String>,
    /// Regions where this account normally runs workloads; others are flagged unusual.
    /// Empty means "no baseline": nothing is flagged.
    pub home_regions: Vec<String>,
}

/// What a feed reports. Every payload is owned: the app never shares memory with a feed task.
#[derive(Debug, Clone)]
pub enum Update {
    /// The set of accounts and regions (sent first, and again if it changes).
    Accounts(Vec<AccountInfo>),
    /// Expected refresh interval of a feed (used for staleness).
    Schedule {
        /// Account x region.
        scope: Scope,
        /// Feed.
        feed: Feed,
        /// Seconds between polls.
        interval_secs: u32,
    },
    /// A poll started.
    Loading {
        /// Account x region.
        scope: Scope,
        /// Feed.
        feed: Feed,
    },
    /// Full EC2 inventory of one account x region (replaces the previous one).
    Ec2 {
        /// Account x region.
        scope: Scope,
        /// When the data was fetched.
        at: DateTime<Utc>,
        /// Every instance.
        instances: Vec<Instance>,
        /// Every security group referenced (or all in the region).
        groups: Vec<SecurityGroup>,
    },
    /// New CPU samples per instance (merged into the history).
    Cpu {
        /// Account x region.
        scope: Scope,
        /// When the data was fetched.
        at: DateTime<Utc>,
        /// Instance id and its new samples (`period_secs` set).
        series: Vec<(String, CpuSeries)>,
    },
    /// GuardDuty findings.
    Findings {
        /// Account x region.
        scope: Scope,
        /// When the data was fetched.
        at: DateTime<Utc>,
        /// Findings (archived ones remove earlier copies).
        findings: Vec<Finding>,
        /// True: this is the complete set; false: changes since the last poll.
        complete: bool,
    },
    /// A poll failed; earlier data stays, marked stale once it ages.
    Failed {
        /// Account x region.
        scope: Scope,
        /// Feed.
        feed: Feed,
        /// When it failed.
        at: DateTime<Utc>,
        /// Plain-words reason.
        message: String,
    },
    /// The operator must type an MFA code for an account (answered with `Command::MfaAnswer`).
    MfaRequest {
        /// Request id to answer.
        id: u64,
        /// Account alias.
        alias: String,
        /// MFA device serial or ARN.
        serial: String,
    },
    /// An MFA prompt nobody waits for any more: close it.
    MfaCancel {
        /// Request id.
        id: u64,
    },
    /// CloudWatch metrics the CPU feed of a scope will request per day at current settings.
    CpuCost {
        /// Account x region.
        scope: Scope,
        /// Metrics per day (priced $0.01 per 1,000).
        metrics_per_day: f64,
    },
    /// API requests made by a feed since the last report (for the cost/requests counters).
    Requests {
        /// Account x region.
        scope: Scope,
        /// Feed.
        feed: Feed,
        /// API calls made.
        calls: u64,
        /// CloudWatch metrics requested (priced per 1,000).
        metrics: u64,
    },
}
