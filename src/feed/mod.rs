//! Feeds as plug-ins: the [`Feed`] trait every data source implements (AWS and demo alike), the
//! [`Report`]s the driver sends to the fleet model, and the driver that runs them.
//!
//! A feed runs in one account x region, its *home*: its schedule, loading state, failures and
//! request counts are reported there. The data of one poll may address any scope, so a feed
//! that serves a whole region of an organization (GuardDuty through its delegated administrator,
//! CloudWatch through a monitoring account) returns one [`Data`] per member scope.

pub mod driver;

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use rand::Rng;
use serde::Serialize;

use crate::model::credits::Credits;
use crate::model::image::Image;
use crate::model::launch::LaunchedBy;
use crate::model::task::{Cluster, Service, Task};
use crate::model::{CpuSeries, Finding, Instance, NetworkInterface, Scope, SecurityGroup};

pub use driver::{poll_once, start};

/// The Cost Explorer feed's name.
pub const COSTS: &str = "costs";

/// The pricing feed's name (its data prices the rows; its failure leaves prices unknown).
pub const PRICING: &str = "pricing";

/// What CloudWatch charges for `metrics` metrics requested by GetMetricData ($0.01 per 1,000).
pub fn cloudwatch_usd(metrics: f64) -> f64 {
    metrics * 0.01 / 1000.0
}

/// A data source polled on a schedule. Implement it, register it in the source's feed list, and
/// give its data a column or a detail section: the driver does the rest.
pub trait Feed: Send {
    /// The feed's one name in every layer (header, help, snapshot errors, status).
    fn name(&self) -> &'static str;
    /// The account x region the feed runs in (where its status and requests are counted).
    fn home(&self) -> &Scope;
    /// Time between successful polls.
    fn interval(&self) -> Duration;
    /// False for a feed the rows can do without (a failure then degrades the scope instead of
    /// marking all its rows stale).
    fn essential(&self) -> bool {
        true
    }
    /// Scopes besides its home that the feed reports for (an organization-wide feed's member
    /// scopes), as of now: the driver announces the feed's schedule in each and reports the
    /// feed's failures there too, so their rows never look fresh on data that did not come.
    fn serves(&self) -> Vec<Scope> {
        Vec::new()
    }
    /// Waits until the feed has what a poll needs (the inventory a dependant works from). The
    /// driver waits for it before it takes a poll permit, so a feed waiting for another never
    /// holds a permit that feed needs.
    fn ready(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
    /// Wait before the first poll (the demo staggers its feeds so accounts arrive one by one).
    fn start_after(&self) -> Duration {
        Duration::ZERO
    }
    /// One poll: the data it brought and what it cost.
    fn poll(&mut self) -> BoxFuture<'_, Result<Polled, FeedError>>;
    /// Wait before retrying after `failures` consecutive failures (from 1).
    fn retry_after(&self, err: &FeedError, failures: u32) -> Duration {
        backoff(err, failures, self.interval())
    }
}

/// One successful poll.
#[derive(Debug, Clone)]
pub struct Polled {
    /// When the data was fetched.
    pub at: DateTime<Utc>,
    /// What the poll brought, each addressed to its scope.
    pub data: Vec<Data>,
    /// API calls made.
    pub calls: u64,
    /// CloudWatch metrics requested (priced per 1,000).
    pub metrics: u64,
    /// CloudWatch metrics this feed will request per day at its current settings, when it
    /// requests any.
    pub metrics_per_day: Option<f64>,
}

/// Why a poll failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedError {
    /// One line for the operator.
    pub message: String,
    /// Back off as for throttling.
    pub throttled: bool,
    /// API calls the failed poll made.
    pub calls: u64,
}

impl FeedError {
    /// A failure that made no API call (e.g. a feed waiting for another feed's data).
    pub fn local(message: impl Into<String>) -> Self {
        FeedError {
            message: message.into(),
            throttled: false,
            calls: 0,
        }
    }
}

impl From<crate::aws::AwsError> for FeedError {
    fn from(e: crate::aws::AwsError) -> Self {
        FeedError {
            throttled: e.throttled(),
            message: e.message,
            calls: 1,
        }
    }
}

impl std::fmt::Display for FeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Delay before retrying after `failures` consecutive failures: exponential with jitter, shorter
/// caps for throttling (the token bucket refills in seconds).
pub fn backoff(err: &FeedError, failures: u32, interval: Duration) -> Duration {
    let (base, cap) = if err.throttled {
        (2.0, 120.0)
    } else {
        (5.0_f64.min(interval.as_secs_f64()), 300.0)
    };
    let exp = (base * 2f64.powi(failures.saturating_sub(1).min(16) as i32)).min(cap);
    let jitter = rand::rng().random_range(0.5..1.0);
    Duration::from_secs_f64((exp * jitter).max(0.5))
}

/// An account as the source knows it: alias, id, regions to watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountInfo {
    /// Operator-chosen alias, unique.
    pub alias: String,
    /// 12-digit id; for an account that never connected, the id the config expects or a
    /// placeholder naming the alias (see `verified`).
    pub account_id: String,
    /// True when STS confirmed `account_id` with the account's own credentials.
    pub verified: bool,
    /// Regions polled.
    pub regions: Vec<String>,
    /// Regions where this account normally runs workloads; others are flagged unusual.
    /// Empty means "no baseline": nothing is flagged.
    pub home_regions: Vec<String>,
    /// Colour of the account's name (config `color`).
    #[serde(skip)]
    pub color: Option<crate::theme::ThemeColor>,
    /// No triage on this account (config `read_only`).
    pub read_only: bool,
}

/// What one poll brought for one scope. Every payload is owned: the app never shares memory
/// with a feed task.
#[derive(Debug, Clone)]
pub enum Data {
    /// Full EC2 inventory of a scope (replaces the previous one).
    Inventory {
        /// Account x region.
        scope: Scope,
        /// Every instance.
        instances: Vec<Instance>,
        /// Every security group referenced (or all in the region).
        groups: Vec<SecurityGroup>,
        /// Interfaces no instance holds (ECS tasks' awsvpc interfaces: their groups and public
        /// IP).
        loose_interfaces: Vec<NetworkInterface>,
    },
    /// New CPU samples per instance (merged into the history), and the credit metrics of the
    /// burstable ones.
    Cpu {
        /// Account x region.
        scope: Scope,
        /// Instance id and its new samples (`period_secs` set).
        series: Vec<(String, CpuSeries)>,
        /// Burstable instance id and its new credit samples (with the credit mode).
        credits: Vec<(String, Credits)>,
    },
    /// AMIs described since the last poll (each is described once).
    Images {
        /// Account x region.
        scope: Scope,
        /// AMI id and what DescribeImages said (None: it does not know the image).
        images: Vec<(String, Option<Image>)>,
    },
    /// Full ECS inventory of a scope (replaces the previous one).
    Tasks {
        /// Account x region.
        scope: Scope,
        /// Every task ECS lists (running, pending; stopped ones leave the list).
        tasks: Vec<Task>,
        /// Every service, with its counts.
        services: Vec<Service>,
        /// Every cluster.
        clusters: Vec<Cluster>,
    },
    /// GuardDuty coverage seen by the delegated administrator in one region: the members it
    /// does not monitor.
    Coverage {
        /// The administrator's scope in the region.
        scope: Scope,
        /// Accounts without working GuardDuty there, and why.
        unmonitored: Vec<Unmonitored>,
        /// Why the coverage could not be read (the findings came all the same).
        error: Option<String>,
    },
    /// Prices of the instances of a scope (on-demand from the Price List, Spot from the AZ's
    /// price history), each with its date; merged into what the scope knows.
    Prices {
        /// Account x region.
        scope: Scope,
        /// What each key costs, or why it is unknown (only what changed since the last poll).
        quotes: Vec<(crate::model::price::PriceKey, crate::model::price::Quote)>,
        /// Why AWS could not be asked this poll (cached prices were used): the scope shows the
        /// pricing feed failed while the rows keep their prices.
        error: Option<String>,
    },
    /// An account's daily cost and open anomalies from Cost Explorer (replaces the previous).
    Costs {
        /// The account's first region (the feed's home).
        scope: Scope,
        /// What Cost Explorer said.
        costs: crate::model::price::AccountCosts,
    },
    /// GuardDuty findings.
    Findings {
        /// Account x region.
        scope: Scope,
        /// Findings (archived ones remove earlier copies).
        findings: Vec<Finding>,
        /// True: this is the complete set; false: changes since the last poll.
        complete: bool,
    },
}

impl Data {
    /// The scope the data belongs to.
    pub fn scope(&self) -> &Scope {
        match self {
            Data::Inventory { scope, .. }
            | Data::Cpu { scope, .. }
            | Data::Images { scope, .. }
            | Data::Tasks { scope, .. }
            | Data::Coverage { scope, .. }
            | Data::Prices { scope, .. }
            | Data::Costs { scope, .. }
            | Data::Findings { scope, .. } => scope,
        }
    }
}

/// A member account GuardDuty does not watch in a region: a blind spot (miners favour them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmonitored {
    /// 12-digit id.
    pub account_id: String,
    /// Why, in GuardDuty's words (`not a member`, `Disabled`, `Removed`, ...).
    pub status: String,
}

/// Where organization discovery stands (sent after every ListAccounts run).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OrgStatus {
    /// ACTIVE accounts found (before exclusions).
    pub active: usize,
    /// Accounts left out by `exclude` (ids and OUs).
    pub excluded: usize,
    /// Accounts already polled as an `[[account]]` entry.
    pub configured: usize,
    /// When the last successful discovery ended.
    pub discovered_at: Option<DateTime<Utc>>,
    /// Why the last discovery failed, if it did (the accounts found before are kept).
    pub error: Option<String>,
    /// Organizations calls made so far.
    pub calls: u64,
    /// The GuardDuty delegated administrator, when findings come through it.
    pub guardduty_admin: Option<String>,
    /// The CloudWatch monitoring account, when CPU comes through it.
    pub monitoring_account: Option<String>,
}

/// Where the organization's event queue stands (sent when it changed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EventsStatus {
    /// Messages received.
    pub received: u64,
    /// Of those, messages that woke a feed.
    pub woke: u64,
    /// Messages that named nothing watched (other events, unknown scopes, not events).
    pub ignored: u64,
    /// When the last message arrived.
    pub last_at: Option<DateTime<Utc>>,
    /// Why the queue cannot be read, if it cannot.
    pub error: Option<String>,
}

/// What the feeds tell the fleet model (and nothing else reaches it).
#[derive(Debug, Clone)]
pub enum Report {
    /// The set of accounts and regions (sent first, and again when it changes).
    Accounts(Vec<AccountInfo>),
    /// Organization discovery ran.
    Organization(OrgStatus),
    /// The organization's event queue changed.
    Events(EventsStatus),
    /// A feed's expected refresh interval (used for staleness). Sent once per feed, in the
    /// source's registration order, before any poll.
    Schedule {
        /// The feed's home.
        scope: Scope,
        /// Feed name.
        feed: &'static str,
        /// Seconds between polls.
        interval_secs: u32,
        /// The rows need this feed (see [`Feed::essential`]).
        essential: bool,
    },
    /// A poll started.
    Loading {
        /// The feed's home.
        scope: Scope,
        /// Feed name.
        feed: &'static str,
    },
    /// Data from a successful poll: marks the feed fresh in the data's scope.
    Data {
        /// Feed name.
        feed: &'static str,
        /// When it was fetched.
        at: DateTime<Utc>,
        /// The data.
        data: Data,
    },
    /// A poll failed; earlier data stays, marked stale once it ages.
    Failed {
        /// The feed's home.
        scope: Scope,
        /// Feed name.
        feed: &'static str,
        /// When it failed.
        at: DateTime<Utc>,
        /// Plain-words reason.
        message: String,
    },
    /// Who launched an instance, looked up on demand (no schedule: it never goes stale).
    LaunchedBy {
        /// Account x region.
        scope: Scope,
        /// Instance id.
        instance_id: String,
        /// What the lookup found.
        result: LaunchedBy,
        /// LookupEvents calls made.
        calls: u64,
    },
    /// What a poll cost, and what the feed will cost per day from now on.
    Requests {
        /// The feed's home.
        scope: Scope,
        /// Feed name.
        feed: &'static str,
        /// API calls made.
        calls: u64,
        /// CloudWatch metrics requested (priced per 1,000).
        metrics: u64,
        /// CloudWatch metrics per day at current settings, when the feed requests any.
        metrics_per_day: Option<f64>,
    },
}
