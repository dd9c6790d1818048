//! Fleet data held by the app: per account x region stores, derived rows, totals.

use rustc_hash::{FxHashMap as HashMap, FxHashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::feed::{AccountInfo, Data, Report};
use crate::model::credits::{Credits, exhausted_at};
use crate::model::exposure::Exposure;
use crate::model::flags::{Flag, Flags};
use crate::model::image::{Image, image_flag};
use crate::model::launch::LaunchedBy;
use crate::model::price::{Burn, PriceKey, Quote, RowPrice};
use crate::model::risk::RiskReason;
use crate::model::risk::{is_accelerator, is_saturated, is_very_large};
use crate::model::task::{
    Cluster, Service, Task, image_repository, is_public_image, name_of, service_cpu_key,
};
use crate::model::{
    CpuSeries, Finding, Instance, Kind, NetworkInterface, Risk, RiskInput, Scope, SecurityGroup,
    Subject, exposure_of, risk_of,
};
use crate::rules::{Matches, Rule};

use super::SortKey;

/// Where a feed stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedState {
    /// Nothing asked yet.
    Waiting,
    /// A poll is in flight.
    Loading,
    /// Last poll succeeded.
    Ok,
    /// Last poll failed with this message.
    Error(String),
}

/// Status, freshness and cost of one feed of one account x region.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedStatus {
    /// The feed's name.
    pub name: &'static str,
    /// Current state.
    pub state: FeedState,
    /// Time of the last successful poll.
    pub last_ok: Option<DateTime<Utc>>,
    /// Expected seconds between polls.
    pub interval_secs: u32,
    /// API calls made.
    pub calls: u64,
    /// CloudWatch metrics requested.
    pub metrics: u64,
    /// CloudWatch metrics the feed will request per day at current settings, once it said.
    pub metrics_per_day: Option<f64>,
    /// The rows need this feed: its failure or staleness marks them (else the scope is only
    /// degraded).
    pub essential: bool,
}

impl FeedStatus {
    fn new(name: &'static str) -> Self {
        FeedStatus {
            name,
            state: FeedState::Waiting,
            last_ok: None,
            interval_secs: 60,
            calls: 0,
            metrics: 0,
            metrics_per_day: None,
            essential: true,
        }
    }

    /// Data older than this is stale: two missed polls plus slack.
    pub fn stale_after_secs(&self) -> i64 {
        2 * i64::from(self.interval_secs) + 30
    }

    /// Seconds since the last good poll.
    pub fn age_secs(&self, now: DateTime<Utc>) -> Option<i64> {
        self.last_ok.map(|t| (now - t).num_seconds().max(0))
    }

    /// True when the last good data is older than [`FeedStatus::stale_after_secs`].
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        self.age_secs(now)
            .is_some_and(|a| a > self.stale_after_secs())
    }
}

/// Summary of an account x region for the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeHealth {
    /// No data yet, polls in flight.
    Loading,
    /// All feeds fresh; age of the oldest data in seconds.
    Ok(i64),
    /// Some data is older than it should be; its age in seconds.
    Stale(i64),
    /// A feed failed: which one and why (older data kept).
    Error(&'static str, String),
    /// A feed the rows can do without failed (the rows are fresh, a signal is missing).
    Degraded(&'static str, String),
}

/// Everything known about one account x region.
#[derive(Debug, Clone)]
pub struct ScopeData {
    /// Account id + region.
    pub scope: Scope,
    /// Account alias.
    pub alias: String,
    /// Region outside the account's home regions.
    pub unusual_region: bool,
    /// Feed statuses, in the order the source registered them.
    pub feeds: Vec<FeedStatus>,
    /// When the last inventory arrived (rows exist from then on).
    pub inventory_at: Option<DateTime<Utc>>,
    /// Security groups by id.
    pub groups: HashMap<String, SecurityGroup>,
    /// Every interface of the scope by id, held by an instance or not (ECS tasks' awsvpc
    /// interfaces are found here).
    pub interfaces: HashMap<String, NetworkInterface>,
    /// ECS services.
    pub services: Vec<Service>,
    /// ECS clusters.
    pub clusters: Vec<Cluster>,
    /// CPU history by row id (instance id, task ARN), and by [`crate::model::task::service_cpu_key`] for an ECS
    /// service's CPUUtilization.
    pub cpu: HashMap<String, CpuSeries>,
    /// Live (non-archived) findings by finding id.
    pub findings: HashMap<String, Finding>,
    /// Credit metrics of burstable instances by instance id.
    pub credits: HashMap<String, Credits>,
    /// AMIs described, by image id (None: DescribeImages does not know it).
    pub images: HashMap<String, Option<Image>>,
    /// Who launched each instance looked up so far.
    pub launched_by: HashMap<String, LaunchedBy>,
    /// STS confirmed the account id (triage refuses an unverified account).
    pub verified: bool,
    /// The account is no longer announced under this id (e.g. a placeholder replaced once the
    /// account connected): not shown.
    pub retired: bool,
    /// Prices the pricing feed found for this scope's instances.
    pub prices: HashMap<PriceKey, Quote>,
    /// The header's counts over this scope's rows (summed into [`Totals`]).
    counts: RowCounts,
}

/// Counts over some rows, for the header.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct RowCounts {
    instances: usize,
    tasks: usize,
    saturated: usize,
    with_findings: usize,
    world_open: usize,
    launched_24h: usize,
    launched_24h_big: usize,
    burn: Burn,
}

impl RowCounts {
    fn of(rows: &[Row], now: DateTime<Utc>) -> Self {
        let mut c = RowCounts::default();
        for r in rows {
            c.instances += usize::from(r.instance().is_some());
            c.saturated += usize::from(r.saturated);
            c.with_findings += usize::from(r.finding_count > 0);
            c.world_open += usize::from(r.reachable);
            if let Some(i) = r.instance().filter(|_| r.subject.is_live()) {
                c.burn
                    .add(r.price.map(|p| p.usd_per_hour), i.launch_time, now);
            }
            if r.flags.has(Flag::NewLaunch) {
                c.launched_24h += 1;
                c.launched_24h_big +=
                    usize::from(r.flags.has(Flag::Gpu) || r.flags.has(Flag::VeryLarge));
            }
        }
        c.tasks = rows.len() - c.instances;
        c
    }
}

impl ScopeData {
    /// A feed's status, created (at the end of the order) on first mention.
    fn feed_mut(&mut self, name: &'static str) -> &mut FeedStatus {
        match self.feeds.iter().position(|f| f.name == name) {
            Some(i) => &mut self.feeds[i],
            None => {
                self.feeds.push(FeedStatus::new(name));
                self.feeds.last_mut().expect("just pushed")
            }
        }
    }

    /// A feed's status, if the source ever mentioned it.
    pub fn feed(&self, name: &str) -> Option<&FeedStatus> {
        self.feeds.iter().find(|f| f.name == name)
    }

    /// CloudWatch metrics per day the scope's feeds projected, once any did.
    pub fn metrics_per_day(&self) -> Option<f64> {
        self.feeds
            .iter()
            .filter_map(|f| f.metrics_per_day)
            .reduce(|a, b| a + b)
    }

    /// What this scope's live instances burn.
    pub fn burn(&self) -> Burn {
        self.counts.burn
    }

    /// Overall health now.
    pub fn health(&self, now: DateTime<Utc>) -> ScopeHealth {
        let failed = |essential: bool| {
            self.feeds.iter().find_map(|f| match &f.state {
                FeedState::Error(m) if f.essential == essential => Some((f.name, m.clone())),
                _ => None,
            })
        };
        if let Some((feed, m)) = failed(true) {
            return ScopeHealth::Error(feed, m);
        }
        if let Some(age) = self
            .feeds
            .iter()
            .filter(|f| f.essential && f.is_stale(now))
            .filter_map(|f| f.age_secs(now))
            .max()
        {
            return ScopeHealth::Stale(age);
        }
        if self.inventory_at.is_none() {
            return ScopeHealth::Loading;
        }
        if let Some((feed, m)) = failed(false) {
            return ScopeHealth::Degraded(feed, m);
        }
        ScopeHealth::Ok(
            self.feeds
                .iter()
                .filter(|f| f.essential)
                .filter_map(|f| f.age_secs(now))
                .max()
                .unwrap_or(0),
        )
    }

    /// True when this scope's rows should be marked as not fresh.
    pub fn rows_stale(&self, now: DateTime<Utc>) -> bool {
        matches!(
            self.health(now),
            ScopeHealth::Stale(_) | ScopeHealth::Error(..)
        )
    }
}

/// Where a row's CPU figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CpuSource {
    /// Its own metric (an instance's CPUUtilization, a task's Container Insights CPU).
    #[default]
    Own,
    /// Its ECS service's CPUUtilization (the mean over the service's tasks): the cluster has no
    /// Container Insights.
    Service,
    /// None: a standalone task in a cluster without Container Insights.
    Unknown,
}

/// One instance or task with its derived values (recomputed when its scope's data changes).
#[derive(Debug, Clone)]
pub struct Row {
    /// Index into [`Fleet::scopes`].
    pub scope: usize,
    /// The instance or task.
    pub subject: Subject,
    /// World-open ports (shared by rows with the same security groups).
    pub exposure: Arc<Exposure>,
    /// Latest CPU percent.
    pub cpu_now: Option<f64>,
    /// Where the CPU figure comes from.
    pub cpu_source: CpuSource,
    /// Saturated: CPU recent mean >= 90 %, or a burstable instance held at its baseline.
    pub saturated: bool,
    /// Latest CPU credit balance of a burstable instance, while fresh.
    pub credit_balance: Option<f64>,
    /// The baseline % a burstable instance with no credits left is held at.
    pub credits_exhausted: Option<f64>,
    /// Number of live findings.
    pub finding_count: usize,
    /// Worst finding severity.
    pub worst_severity: Option<f64>,
    /// Risk score and reasons.
    pub risk: Risk,
    /// A world-open port matches an address family the instance has on the internet.
    pub reachable: bool,
    /// Named facts (saturated, new-launch, ...): the row marks, snapshot and filter use them.
    pub flags: Flags,
    /// The lower-cased text `/` words match ([`search_text`]), kept with the row so a
    /// keystroke in the filter does not rebuild it for every row.
    pub search: String,
    /// Its price, when the pricing feed knows it.
    pub price: Option<RowPrice>,
    /// The configured rules it matches ([`Fleet::rules`]).
    pub rules: Matches,
}

impl Row {
    /// A row with nothing derived yet.
    fn new(scope: usize, subject: Subject) -> Self {
        Row {
            scope,
            subject,
            exposure: Arc::default(),
            cpu_now: None,
            cpu_source: CpuSource::Own,
            saturated: false,
            credit_balance: None,
            credits_exhausted: None,
            finding_count: 0,
            worst_severity: None,
            risk: Risk::default(),
            search: String::new(),
            reachable: false,
            flags: Flags::default(),
            price: None,
            rules: Matches::default(),
        }
    }

    /// The row's key in its scope: instance id or task ARN.
    pub fn id(&self) -> &str {
        self.subject.id()
    }

    /// Price × hours since launch of a running instance with a known price and launch time
    /// (an upper bound: a stop in between is counted).
    pub fn cost_since_launch(&self, now: DateTime<Utc>) -> Option<f64> {
        let i = self.instance()?;
        if i.state != crate::model::InstanceState::Running {
            return None;
        }
        let hours = (now - i.launch_time?).num_seconds().max(0) as f64 / 3600.0;
        Some(self.price?.usd_per_hour * hours)
    }

    /// The instance, for an instance row.
    pub fn instance(&self) -> Option<&Instance> {
        self.subject.instance()
    }

    /// The task, for a task row.
    pub fn task(&self) -> Option<&Task> {
        self.subject.task()
    }
}

/// Fleet-wide counters for the header.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    /// Instances known.
    pub instances: usize,
    /// ECS tasks known.
    pub tasks: usize,
    /// Instances with saturated CPU.
    pub saturated: usize,
    /// Instances with at least one live finding.
    pub with_findings: usize,
    /// Instances with a world-open port on an address family they have on the internet.
    pub world_open: usize,
    /// Instances launched in the last 24 hours.
    pub launched_24h: usize,
    /// Of those, GPU or very large ones.
    pub launched_24h_big: usize,
    /// What the live instances burn now and what of it ran 24 h ago.
    pub burn: Burn,
    /// API calls per feed, all scopes, in the order feeds were first seen.
    pub calls: Vec<(&'static str, u64)>,
    /// CloudWatch metrics requested, all scopes.
    pub metrics: u64,
}

/// All accounts, scopes and rows.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    /// Accounts as announced by the source.
    pub accounts: Vec<AccountInfo>,
    /// One entry per account x region, in announcement order.
    pub scopes: Vec<ScopeData>,
    scope_ix: HashMap<Scope, usize>,
    /// Every instance and task of every scope, grouped by scope, then kind (instances first).
    pub rows: Vec<Row>,
    /// Header counters.
    pub totals: Totals,
    /// When the first request counter arrived (for cost extrapolation).
    pub counting_since: Option<DateTime<Utc>>,
    /// Organization discovery, in organization mode.
    pub org: Option<crate::feed::OrgStatus>,
    /// The organization's event queue, when one is read.
    pub events: Option<crate::feed::EventsStatus>,
    /// GuardDuty blind spots by region (organization mode with a delegated administrator).
    pub blind_spots: std::collections::BTreeMap<String, Vec<crate::feed::Unmonitored>>,
    /// Regions whose GuardDuty coverage could not be read, and why.
    pub coverage_errors: std::collections::BTreeMap<String, String>,
    /// Each account's burn, summed at every update ([`Fleet::account_burns`]).
    account_burns: HashMap<String, Burn>,
    /// Cost Explorer's figures by account id (`[settings] cost_explorer`).
    pub costs: std::collections::BTreeMap<String, crate::model::price::AccountCosts>,
    /// The configured rules (`[[rule]]`), evaluated on every update.
    pub rules: Arc<Vec<Rule>>,
    /// When a burn counts as a spike (`[settings] burn_spike_ratio`).
    pub spike_ratio: SpikeRatio,
}

/// A burn more than this many times the burn of 24 h ago is a spike (default 2: doubled).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpikeRatio(pub f64);

impl Default for SpikeRatio {
    fn default() -> Self {
        SpikeRatio(2.0)
    }
}

impl Fleet {
    /// Index of a scope, creating it (alias = account id) if the source never announced it.
    fn scope_index(&mut self, scope: &Scope) -> usize {
        if let Some(i) = self.scope_ix.get(scope) {
            return *i;
        }
        let alias = self
            .accounts
            .iter()
            .find(|a| a.account_id == scope.account_id)
            .map_or_else(|| scope.account_id.clone(), |a| a.alias.clone());
        let account = self
            .accounts
            .iter()
            .find(|a| a.account_id == scope.account_id);
        let unusual_region = account
            .is_some_and(|a| !a.home_regions.is_empty() && !a.home_regions.contains(&scope.region));
        self.scopes.push(ScopeData {
            scope: scope.clone(),
            alias,
            unusual_region,
            feeds: Vec::new(),
            inventory_at: None,
            groups: HashMap::default(),
            interfaces: HashMap::default(),
            services: Vec::new(),
            clusters: Vec::new(),
            cpu: HashMap::default(),
            findings: HashMap::default(),
            credits: HashMap::default(),
            images: HashMap::default(),
            launched_by: HashMap::default(),
            verified: account.is_some_and(|a| a.verified),
            retired: false,
            prices: HashMap::default(),
            counts: RowCounts::default(),
        });
        let i = self.scopes.len() - 1;
        self.scope_ix.insert(scope.clone(), i);
        i
    }

    /// A row's flags by name, then `rule:NAME` for each rule it matches (the snapshot's
    /// `flags`, the detail view's line).
    pub fn flags_of(&self, r: &Row) -> Vec<String> {
        r.flags
            .iter()
            .map(|f| f.as_str().to_string())
            .chain(r.rules.of(&self.rules).map(Rule::flag))
            .collect()
    }

    /// The rows rule `i` (of [`Fleet::rules`]) matches now.
    pub fn matching(&self, i: usize) -> impl Iterator<Item = &Row> + '_ {
        self.rows.iter().filter(move |r| r.rules.has(i))
    }

    /// Sets the rules to evaluate and the burn spike ratio (before any data arrives).
    pub fn configure(&mut self, rules: Vec<Rule>, spike_ratio: f64) {
        self.rules = Arc::new(rules);
        self.spike_ratio = SpikeRatio(spike_ratio);
    }

    /// What each account's live instances burn (by account id), as of the last update.
    pub fn account_burns(&self) -> &HashMap<String, Burn> {
        &self.account_burns
    }

    /// What an account's live instances burn, as of the last update.
    pub fn burn_of(&self, account_id: &str) -> Burn {
        self.account_burns
            .get(account_id)
            .copied()
            .unwrap_or_default()
    }

    /// Each account's burn from its scopes'; the burn of 24 h ago is Cost Explorer's when it
    /// has the account's day before yesterday.
    fn sum_account_burns(&self, now: DateTime<Utc>) -> HashMap<String, Burn> {
        let mut out: HashMap<String, Burn> = HashMap::default();
        for sd in self.scopes.iter().filter(|sd| !sd.retired) {
            let b = out.entry(sd.scope.account_id.clone()).or_default();
            *b = b.plus(sd.burn());
        }
        for (account, b) in &mut out {
            if let Some(per_hour) = self
                .costs
                .get(account)
                .and_then(|c| c.compute_per_hour_before(now.date_naive()))
            {
                b.day_ago = per_hour;
                b.from_cost_explorer = true;
            }
        }
        out
    }

    /// The account announced under this id.
    pub fn account(&self, account_id: &str) -> Option<&AccountInfo> {
        self.accounts.iter().find(|a| a.account_id == account_id)
    }

    /// The configured colour of a scope's account.
    pub fn account_color(&self, scope: usize) -> Option<crate::theme::ThemeColor> {
        self.account(&self.scopes.get(scope)?.scope.account_id)?
            .color
    }

    /// Looks a scope up without creating it.
    pub fn find_scope(&self, scope: &Scope) -> Option<usize> {
        self.scope_ix.get(scope).copied()
    }

    /// The row of an instance (by id) or task (by ARN).
    pub fn row(&self, scope: usize, id: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.scope == scope && r.id() == id)
    }

    /// Replaces the rows of one kind in a scope, keeping rows grouped by scope then kind, each
    /// group in the order its feed listed it (ties in the view keep their places from one poll
    /// to the next).
    fn replace_rows(&mut self, s: usize, kind: Kind, fresh: Vec<Row>) {
        let group = |r: &Row| (r.scope, r.subject.kind());
        let start = self.rows.partition_point(|r| group(r) < (s, kind));
        let end = start + self.rows[start..].partition_point(|r| group(r) == (s, kind));
        if end - start == fresh.len() {
            // The usual poll: as many rows as before, overwritten where they are.
            for (slot, row) in self.rows[start..end].iter_mut().zip(fresh) {
                *slot = row;
            }
        } else {
            self.rows.splice(start..end, fresh);
        }
    }

    /// Applies a feed report; returns true when rows or statuses changed.
    pub fn apply(&mut self, report: Report, now: DateTime<Utc>) -> bool {
        self.apply_all(vec![report], now)
    }

    /// Applies a burst of reports, counting the totals once at the end; true when rows or
    /// statuses changed.
    pub fn apply_all(&mut self, reports: Vec<Report>, now: DateTime<Utc>) -> bool {
        let changed = !reports.is_empty();
        for r in reports {
            self.apply_one(r, now);
        }
        if changed {
            self.recount(now);
        }
        changed
    }

    /// Applies one report (the totals are counted by the caller).
    fn apply_one(&mut self, report: Report, now: DateTime<Utc>) {
        match report {
            Report::Accounts(accounts) => {
                let before: HashMap<String, AccountInfo> = self
                    .accounts
                    .drain(..)
                    .map(|a| (a.account_id.clone(), a))
                    .collect();
                self.accounts = accounts;
                let by_id: HashMap<&str, &AccountInfo> = self
                    .accounts
                    .iter()
                    .map(|a| (a.account_id.as_str(), a))
                    .collect();
                let scopes: Vec<Scope> = self
                    .accounts
                    .iter()
                    .flat_map(|a| a.regions.iter().map(|r| Scope::new(&a.account_id, r)))
                    .collect();
                // Only the scopes of accounts that changed are judged again (an organization
                // announces its members one by one).
                let changed: Vec<usize> = (0..self.scopes.len())
                    .filter(|s| {
                        let id = self.scopes[*s].scope.account_id.as_str();
                        before.get(id) != by_id.get(id).copied()
                    })
                    .collect();
                for sd in &mut self.scopes {
                    let account = by_id.get(sd.scope.account_id.as_str());
                    sd.retired = account.is_none();
                    if let Some(a) = account {
                        sd.alias = a.alias.clone();
                        sd.verified = a.verified;
                        sd.unusual_region = !a.home_regions.is_empty()
                            && !a.home_regions.contains(&sd.scope.region);
                    }
                }
                for s in &scopes {
                    self.scope_index(s);
                }
                // An account that left (closed, or excluded) leaves with its rows.
                let retired: FxHashSet<usize> = (0..self.scopes.len())
                    .filter(|s| self.scopes[*s].retired)
                    .collect();
                if !retired.is_empty() {
                    self.rows.retain(|r| !retired.contains(&r.scope));
                    for s in &retired {
                        let sd = &mut self.scopes[*s];
                        sd.counts = RowCounts::default();
                        sd.findings.clear();
                        sd.cpu.clear();
                        sd.credits.clear();
                        sd.inventory_at = None;
                    }
                }
                for s in changed {
                    self.recompute_scope(s, now);
                }
            }
            Report::Organization(status) => {
                self.org = Some(status);
            }
            Report::Events(status) => {
                self.events = Some(status);
            }
            Report::Schedule {
                scope,
                feed,
                interval_secs,
                essential,
            } => {
                let s = self.scope_index(&scope);
                let f = self.scopes[s].feed_mut(feed);
                f.interval_secs = interval_secs.max(1);
                f.essential = essential;
                self.total_calls(feed);
            }
            Report::Loading { scope, feed } => {
                let s = self.scope_index(&scope);
                let f = self.scopes[s].feed_mut(feed);
                if !matches!(f.state, FeedState::Error(_)) {
                    f.state = FeedState::Loading;
                }
            }
            Report::Failed {
                scope,
                feed,
                message,
                ..
            } => {
                let s = self.scope_index(&scope);
                self.scopes[s].feed_mut(feed).state = FeedState::Error(message);
            }
            Report::Requests {
                scope,
                feed,
                calls,
                metrics,
                metrics_per_day,
            } => {
                let s = self.scope_index(&scope);
                let f = self.scopes[s].feed_mut(feed);
                f.calls += calls;
                f.metrics += metrics;
                if metrics_per_day.is_some() {
                    f.metrics_per_day = metrics_per_day;
                }
                *self.total_calls(feed) += calls;
                self.totals.metrics += metrics;
                self.counting_since.get_or_insert(now);
            }
            Report::LaunchedBy {
                scope,
                instance_id,
                result,
                calls,
            } => {
                let s = self.scope_index(&scope);
                self.scopes[s].launched_by.insert(instance_id, result);
                *self.total_calls(crate::source::aws::launched_by::NAME) += calls;
                self.counting_since.get_or_insert(now);
            }
            Report::Data { feed, at, data } => {
                // A feed of an account that left may still report once while it stops.
                if self
                    .find_scope(data.scope())
                    .is_some_and(|s| self.scopes[s].retired)
                {
                    return;
                }
                let s = self.scope_index(data.scope());
                self.mark_ok(s, feed, at);
                self.apply_data(s, data, at, now);
            }
        }
    }

    /// The rows of scope `s`: a range, since rows are kept grouped by scope in scope order
    /// (see [`Fleet::replace_rows`]).
    fn scope_rows(&self, s: usize) -> std::ops::Range<usize> {
        let start = self.rows.partition_point(|r| r.scope < s);
        let end = start + self.rows[start..].partition_point(|r| r.scope == s);
        start..end
    }

    /// The fleet-wide call counter of a feed (created in first-seen order).
    fn total_calls(&mut self, feed: &'static str) -> &mut u64 {
        let calls = &mut self.totals.calls;
        let i = match calls.iter().position(|(n, _)| *n == feed) {
            Some(i) => i,
            None => {
                calls.push((feed, 0));
                calls.len() - 1
            }
        };
        &mut calls[i].1
    }

    fn apply_data(&mut self, s: usize, data: Data, at: DateTime<Utc>, now: DateTime<Utc>) {
        match data {
            Data::Inventory {
                instances,
                groups,
                loose_interfaces,
                ..
            } => {
                let sd = &mut self.scopes[s];
                sd.inventory_at = Some(sd.inventory_at.map_or(at, |t| t.max(at)));
                sd.groups = groups
                    .into_iter()
                    .map(|g| (g.group_id.clone(), g))
                    .collect();
                // Every interface by id: a Fargate task's is held by no instance, an
                // EC2-launched awsvpc task's by its container instance.
                sd.interfaces = loose_interfaces
                    .into_iter()
                    .chain(instances.iter().flat_map(|i| i.interfaces.iter().cloned()))
                    .map(|n| (n.eni_id.clone(), n))
                    .collect();
                let fresh = instances
                    .into_iter()
                    .map(|i| Row::new(s, Subject::Instance(i)))
                    .collect();
                self.replace_rows(s, Kind::Instance, fresh);
                self.forget_gone(s);
            }
            Data::Tasks {
                tasks,
                services,
                clusters,
                ..
            } => {
                let sd = &mut self.scopes[s];
                sd.services = services;
                sd.clusters = clusters;
                let fresh = tasks
                    .into_iter()
                    .map(|t| Row::new(s, Subject::Task(Box::new(t))))
                    .collect();
                self.replace_rows(s, Kind::Task, fresh);
                self.forget_gone(s);
                // Whether a public image is the account's own habit depends on every task of
                // the account: the account's other scopes are judged again.
                let account = self.scopes[s].scope.account_id.clone();
                let others: Vec<usize> = (0..self.scopes.len())
                    .filter(|o| *o != s && self.scopes[*o].scope.account_id == account)
                    .collect();
                for o in others {
                    self.recompute_scope(o, now);
                }
            }
            Data::Cpu {
                series, credits, ..
            } => {
                if series.is_empty() && credits.is_empty() {
                    return;
                }
                let sd = &mut self.scopes[s];
                for (id, new) in series {
                    let e = sd.cpu.entry(id).or_default();
                    e.period_secs = new.period_secs;
                    e.merge(new.points);
                }
                for (id, new) in credits {
                    sd.credits.entry(id).or_default().merge(new);
                }
            }
            Data::Images { images, .. } => {
                self.scopes[s].images.extend(images);
            }
            Data::Costs { scope, costs } => {
                // Summed into the totals at the end of the burst.
                self.costs.insert(scope.account_id, costs);
                return;
            }
            Data::Prices { quotes, error, .. } => {
                if let Some(e) = error {
                    self.scopes[s].feed_mut(crate::feed::PRICING).state = FeedState::Error(e);
                }
                if quotes.is_empty() {
                    return;
                }
                self.scopes[s].prices.extend(quotes);
            }
            Data::Coverage {
                unmonitored, error, ..
            } => {
                let region = self.scopes[s].scope.region.clone();
                match error {
                    Some(e) => {
                        self.coverage_errors.insert(region, e);
                    }
                    None => {
                        self.coverage_errors.remove(&region);
                        self.blind_spots.insert(region, unmonitored);
                    }
                }
                return;
            }
            Data::Findings {
                findings, complete, ..
            } => {
                // An organization-wide feed reports "nothing new" to every member each poll:
                // that changes no row.
                if !complete && findings.is_empty() {
                    return;
                }
                let store = &mut self.scopes[s].findings;
                if complete {
                    store.clear();
                }
                for f in findings {
                    if f.archived {
                        store.remove(&f.id);
                    } else {
                        store.insert(f.id.clone(), f);
                    }
                }
            }
        }
        self.recompute_scope(s, now);
    }

    /// Forgets CPU history, credits and launch lookups of rows that are gone (a service's CPU
    /// stays while the service exists).
    fn forget_gone(&mut self, s: usize) {
        let mut ids: FxHashSet<String> = self.rows[self.scope_rows(s)]
            .iter()
            .map(|r| r.id().to_string())
            .collect();
        let sd = &mut self.scopes[s];
        ids.extend(
            sd.services
                .iter()
                .map(|v| service_cpu_key(&v.cluster, &v.name)),
        );
        sd.cpu.retain(|k, _| ids.contains(k));
        sd.credits.retain(|k, _| ids.contains(k));
        sd.launched_by.retain(|k, _| ids.contains(k));
    }

    fn mark_ok(&mut self, s: usize, feed: &'static str, at: DateTime<Utc>) {
        let f = self.scopes[s].feed_mut(feed);
        f.state = FeedState::Ok;
        f.last_ok = Some(f.last_ok.map_or(at, |t| t.max(at)));
    }

    /// Drops a finding archived from the console (the feed's next full poll agrees).
    pub fn forget_finding(&mut self, scope: usize, finding_id: &str, now: DateTime<Utc>) {
        if self.scopes[scope].findings.remove(finding_id).is_some() {
            self.recompute_scope(scope, now);
            self.recount(now);
        }
    }

    /// The CPU series a row's figure comes from, and where that is.
    pub fn cpu_series(&self, row: &Row) -> (Option<&CpuSeries>, CpuSource) {
        cpu_of(&self.scopes[row.scope], &row.subject)
    }

    /// Live findings of a row, worst first: an instance's by its id; a task's by its ARN, and
    /// those that name only its cluster.
    pub fn findings_of(&self, row: &Row) -> Vec<&Finding> {
        let mut v: Vec<&Finding> = self.scopes[row.scope]
            .findings
            .values()
            .filter(|f| is_about(f, &row.subject))
            .collect();
        v.sort_by(|a, b| {
            b.severity
                .total_cmp(&a.severity)
                .then_with(|| b.updated_at.cmp(&a.updated_at))
                .then_with(|| a.id.cmp(&b.id))
        });
        v
    }

    fn recompute_scope(&mut self, s: usize, now: DateTime<Utc>) {
        let sd = &self.scopes[s];
        let mut by_id: HashMap<&str, Vec<Finding>> = HashMap::default();
        let mut by_cluster: HashMap<&str, Vec<Finding>> = HashMap::default();
        // As `is_about` has it: a finding naming an instance and a task counts on both rows.
        for f in sd.findings.values() {
            for id in [f.instance_id.as_deref(), f.task_arn.as_deref()]
                .into_iter()
                .flatten()
            {
                by_id.entry(id).or_default().push(f.clone());
            }
            if let (None, None, Some(c)) = (&f.instance_id, &f.task_arn, &f.cluster_arn) {
                by_cluster.entry(name_of(c)).or_default().push(f.clone());
            }
        }
        let range = self.scope_rows(s);
        // Bridge and host mode tasks are reached through their container instance.
        let hosts: FxHashSet<&str> = self.rows[range.clone()]
            .iter()
            .filter_map(|r| r.task()?.host_instance.as_deref())
            .collect();
        let host_interfaces: HashMap<String, Vec<NetworkInterface>> = self.rows[range.clone()]
            .iter()
            .filter_map(|r| r.instance())
            .filter(|i| hosts.contains(i.instance_id.as_str()))
            .map(|i| (i.instance_id.clone(), i.interfaces.clone()))
            .collect();
        let habits = established_images(self, &sd.scope.account_id, now);
        // Rows mostly share a handful of group sets: compute each set's exposure once.
        let mut exposures: HashMap<Vec<String>, Arc<Exposure>> = HashMap::default();
        let empty = CpuSeries::default();
        // Findings per row, kept for the risk score once the rules have been checked.
        let mut row_findings: Vec<Vec<Finding>> = Vec::with_capacity(range.len());
        for row in self.rows[range].iter_mut() {
            if let Subject::Task(t) = &mut row.subject {
                t.interfaces = task_interfaces(t, &sd.interfaces, &host_interfaces);
            }
            let id = row.subject.id();
            let (cpu, source) = cpu_of(sd, &row.subject);
            let cpu = cpu.unwrap_or(&empty);
            let mut findings: Vec<Finding> = by_id.get(id).cloned().unwrap_or_default();
            if let Some(t) = row.task() {
                findings.extend(
                    by_cluster
                        .get(t.cluster.as_str())
                        .into_iter()
                        .flatten()
                        .cloned(),
                );
            }
            let interfaces = row.subject.interfaces();
            let unknown = row
                .task()
                .and_then(|t| unknown_interfaces(t, &sd.interfaces, &host_interfaces));
            let key: Vec<String> = match &unknown {
                Some(why) => vec![format!("?{why}")],
                None => crate::model::group_ids(interfaces)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            };
            row.exposure = match exposures.get(&key) {
                Some(e) => e.clone(),
                None => {
                    let e = Arc::new(match unknown {
                        // What it is reached through is not in the EC2 inventory: unknown,
                        // never "closed".
                        Some(why) => Exposure {
                            ports: Vec::new(),
                            missing_groups: vec![why],
                        },
                        None => exposure_of(interfaces, &sd.groups),
                    });
                    exposures.insert(key, e.clone());
                    e
                }
            };
            let fresh = is_fresh(cpu, now);
            let live = row.subject.is_live();
            row.cpu_source = source;
            row.cpu_now = cpu.latest().filter(|_| fresh);
            let credits = sd.credits.get(id).filter(|c| is_fresh(&c.balance, now));
            row.credit_balance = credits.and_then(|c| c.balance.latest());
            row.credits_exhausted = credits.filter(|_| fresh && live).and_then(|c| {
                row.subject
                    .instance_type()
                    .and_then(|ty| exhausted_at(ty, c, cpu))
            });
            row.saturated = (fresh && live && is_saturated(cpu)) || row.credits_exhausted.is_some();
            row.finding_count = findings.len();
            row.worst_severity = findings.iter().map(|f| f.severity).reduce(f64::max);
            row.reachable = row.exposure.reachable_on(row.subject.interfaces());
            let f = &mut row.flags;
            *f = Flags::default();
            f.set(Flag::Saturated, row.saturated);
            f.set(Flag::CreditsExhausted, row.credits_exhausted.is_some());
            f.set(Flag::UnusualRegion, sd.unusual_region);
            f.set(Flag::WorldOpen, row.reachable);
            f.set(Flag::DnsMining, findings.iter().any(Finding::is_dns_mining));
            match &row.subject {
                Subject::Instance(i) => {
                    f.set(
                        Flag::NewLaunch,
                        i.launch_time
                            .is_some_and(|t| now - t < chrono::TimeDelta::hours(NEW_LAUNCH_HOURS)),
                    );
                    f.set(Flag::Gpu, is_accelerator(&i.instance_type));
                    f.set(Flag::VeryLarge, is_very_large(&i.instance_type));
                    f.set(Flag::Spot, i.spot);
                    f.set(Flag::NoKeyPair, i.key_name.is_none());
                    f.set(Flag::Quarantined, is_isolated(i, &sd.groups));
                    if let Some(flag) = i
                        .image_id
                        .as_ref()
                        .and_then(|id| image_flag(sd.images.get(id), &sd.scope.account_id))
                    {
                        f.set(flag, true);
                    }
                }
                Subject::Task(t) => {
                    f.set(Flag::StandaloneTask, t.service.is_none());
                    f.set(Flag::ForgedService, t.claimed_service.is_some());
                    f.set(
                        Flag::PublicImage,
                        t.images().any(|img| {
                            is_public_image(img, &sd.scope.account_id)
                                && !habits.contains(&image_repository(img))
                        }),
                    );
                    f.set(
                        Flag::NewTaskDef,
                        t.definition
                            .as_ref()
                            .and_then(|d| d.registered_at)
                            .is_some_and(|at| {
                                now - at < chrono::TimeDelta::hours(NEW_LAUNCH_HOURS)
                            }),
                    );
                }
            }
            row.price = row.instance().and_then(|i| price_of(i, &sd.prices));
            row_findings.push(findings);
        }
        // The filter's text, once everything it names is known.
        let range = self.scope_rows(s);
        let texts: Vec<String> = self.rows[range.clone()]
            .iter()
            .map(|r| search_text(self, r))
            .collect();
        for (row, text) in self.rows[range.clone()].iter_mut().zip(texts) {
            row.search = text;
        }
        // The team's rules, on the row as the operator's `/` sees it.
        let matches: Vec<Matches> = self.rows[range.clone()]
            .iter()
            .map(|r| {
                let mut m = Matches::default();
                for (i, rule) in self.rules.iter().enumerate() {
                    if rule.filter.matches(self, r, now) {
                        m.set(i);
                    }
                }
                m
            })
            .collect();
        let sd = &self.scopes[s];
        let rules = &self.rules;
        for ((row, m), findings) in self.rows[range.clone()]
            .iter_mut()
            .zip(matches)
            .zip(row_findings)
        {
            row.rules = m;
            let rule_reasons: Vec<RiskReason> = m
                .of(rules)
                .map(|r| RiskReason {
                    points: r.points(),
                    why: format!("rule {} ({})", r.name, r.severity.name()),
                })
                .collect();
            let (cpu, _) = cpu_of(sd, &row.subject);
            row.risk = risk_of(RiskInput {
                subject: &row.subject,
                exposure: &row.exposure,
                cpu: cpu.unwrap_or(&empty),
                findings: &findings,
                unusual_region: sd.unusual_region,
                held_at_baseline: row.credits_exhausted,
                flags: row.flags,
                rules: &rule_reasons,
            });
        }
        self.scopes[s].counts = RowCounts::of(&self.rows[range], now);
    }

    /// The header's counts: the sum of every scope's (each counted when its rows change).
    fn recount(&mut self, now: DateTime<Utc>) {
        let mut c = RowCounts::default();
        for sd in &self.scopes {
            let s = sd.counts;
            c.instances += s.instances;
            c.tasks += s.tasks;
            c.saturated += s.saturated;
            c.with_findings += s.with_findings;
            c.world_open += s.world_open;
            c.launched_24h += s.launched_24h;
            c.launched_24h_big += s.launched_24h_big;
        }
        let t = &mut self.totals;
        (
            t.instances,
            t.tasks,
            t.saturated,
            t.with_findings,
            t.world_open,
        ) = (
            c.instances,
            c.tasks,
            c.saturated,
            c.with_findings,
            c.world_open,
        );
        (t.launched_24h, t.launched_24h_big) = (c.launched_24h, c.launched_24h_big);
        self.account_burns = self.sum_account_burns(now);
        self.totals.burn = self
            .account_burns
            .values()
            .fold(Burn::default(), |a, b| a.plus(*b));
    }

    /// CloudWatch cost per day ($0.01 per 1,000 metrics): projected from the feeds' schedules
    /// when they report it, else extrapolated from the metrics requested so far.
    pub fn cloudwatch_usd_per_day(&self, now: DateTime<Utc>) -> Option<f64> {
        let projected: Vec<f64> = self
            .scopes
            .iter()
            .filter_map(ScopeData::metrics_per_day)
            .collect();
        if !projected.is_empty() {
            return Some(crate::feed::cloudwatch_usd(projected.iter().sum::<f64>()));
        }
        let since = self.counting_since?;
        let secs = (now - since).num_seconds();
        if secs < 1 {
            return None;
        }
        Some(crate::feed::cloudwatch_usd(
            self.totals.metrics as f64 / secs as f64 * 86_400.0,
        ))
    }
}

/// Launched within this many hours: `new-launch`.
pub const NEW_LAUNCH_HOURS: i64 = 24;

/// Every interface on one watchfloor isolation group that opens nothing to the world. Judged
/// from the live groups only: a tag is a hint anyone can forge, and so is a group name, so the
/// group's rules must also say it (at most the examiner's TCP 22, never from the world).
fn is_isolated(i: &Instance, groups: &HashMap<String, SecurityGroup>) -> bool {
    !i.interfaces.is_empty()
        && i.interfaces.iter().all(|n| {
            n.group_ids.len() == 1
                && groups.get(&n.group_ids[0]).is_some_and(|g| {
                    g.vpc_id
                        .as_deref()
                        .is_some_and(|vpc| crate::triage::is_isolation_name(&g.name, vpc))
                        && g.ingress.len() <= 1
                        && g.ingress.iter().all(|r| {
                            !r.source.is_world()
                                && r.protocol == "tcp"
                                && r.from_port == Some(22)
                                && r.to_port == Some(22)
                        })
                })
        })
}

/// True when a finding is about the row's subject: an instance by id; a task by ARN, or by
/// its cluster when the finding names no task.
fn is_about(f: &Finding, subject: &Subject) -> bool {
    match subject {
        Subject::Instance(i) => f.instance_id.as_deref() == Some(i.instance_id.as_str()),
        Subject::Task(t) => match (&f.task_arn, &f.cluster_arn) {
            (Some(arn), _) => *arn == t.task_arn,
            (None, Some(c)) => f.instance_id.is_none() && name_of(c) == t.cluster,
            (None, None) => false,
        },
    }
}

/// The CPU series of a row and where it comes from: an instance's own; a task's Container
/// Insights series, else its service's CPUUtilization (until task-level data arrives, or for
/// good in a cluster without Container Insights), else none.
fn cpu_of<'a>(sd: &'a ScopeData, subject: &Subject) -> (Option<&'a CpuSeries>, CpuSource) {
    match subject {
        Subject::Instance(i) => (sd.cpu.get(&i.instance_id), CpuSource::Own),
        Subject::Task(t) => {
            // A Container Insights series with no datapoint (plain `enabled` has no TaskId
            // series) leaves the figure to the service.
            if let Some(c) = sd.cpu.get(&t.task_arn).filter(|c| !c.points.is_empty()) {
                return (Some(c), CpuSource::Own);
            }
            match &t.service {
                Some(svc) => (
                    sd.cpu.get(&service_cpu_key(&t.cluster, svc)),
                    CpuSource::Service,
                ),
                None => (None, CpuSource::Unknown),
            }
        }
    }
}

/// The interfaces a task is reached through: its awsvpc interface as the EC2 inventory
/// describes it (with only the ids when it does not), or its container instance's.
fn task_interfaces(
    t: &Task,
    interfaces: &HashMap<String, NetworkInterface>,
    hosts: &HashMap<String, Vec<NetworkInterface>>,
) -> Vec<NetworkInterface> {
    match (&t.eni_id, &t.host_instance) {
        (Some(eni), _) => vec![
            interfaces
                .get(eni)
                .cloned()
                .unwrap_or_else(|| NetworkInterface {
                    eni_id: eni.clone(),
                    device_index: 0,
                    subnet_id: None,
                    private_ip: t.private_ip.clone(),
                    public_ip: None,
                    ipv6: Vec::new(),
                    group_ids: Vec::new(),
                }),
        ],
        (None, Some(host)) => hosts.get(host).cloned().unwrap_or_default(),
        (None, None) => Vec::new(),
    }
}

/// Why a task's exposure cannot be known (in the detail view's words), or None: its interface
/// or its container instance is not in the EC2 inventory, or it has neither.
fn unknown_interfaces(
    t: &Task,
    interfaces: &HashMap<String, NetworkInterface>,
    hosts: &HashMap<String, Vec<NetworkInterface>>,
) -> Option<String> {
    match (&t.eni_id, &t.host_instance) {
        (Some(eni), _) if !interfaces.contains_key(eni) => {
            Some(format!("(interface {eni} not yet described)"))
        }
        (Some(_), _) => None,
        (None, Some(host)) if !hosts.contains_key(host) => {
            Some(format!("(container instance {host} not in the inventory)"))
        }
        (None, Some(_)) => None,
        (None, None) => Some("(no interface or container instance known)".into()),
    }
}

/// The image repositories the account's established task definition families run (those
/// registered more than a day ago). A public image none of them runs is a stranger's; an
/// attacker's second fresh family does not make it the account's habit.
fn established_images(fleet: &Fleet, account_id: &str, now: DateTime<Utc>) -> FxHashSet<String> {
    (0..fleet.scopes.len())
        .filter(|s| fleet.scopes[*s].scope.account_id == account_id)
        .flat_map(|s| &fleet.rows[fleet.scope_rows(s)])
        .filter_map(Row::task)
        .filter(|t| {
            t.definition
                .as_ref()
                .and_then(|d| d.registered_at)
                .is_some_and(|at| now - at >= chrono::TimeDelta::hours(NEW_LAUNCH_HOURS))
        })
        .flat_map(|t| t.images().map(image_repository))
        .collect()
}

/// A series whose last sample is younger than three periods plus CloudWatch's lag: its latest
/// value is "now".
fn is_fresh(series: &CpuSeries, now: DateTime<Utc>) -> bool {
    series.points.last().is_some_and(|(t, _)| {
        (now - t).num_seconds() <= 3 * i64::from(series.period_secs.max(1)) + 600
    })
}

/// The lower-cased text `/` matches against: `kind:instance` or `kind:task`, alias, account,
/// region, id, name, type, state, open ports, public IP, a task's cluster, images and launch
/// type, finding types and flags. Built only while a filter is active.
pub fn search_text(fleet: &Fleet, row: &Row) -> String {
    let sd = &fleet.scopes[row.scope];
    let findings = fleet.findings_of(row);
    let subject = &row.subject;
    let ports = row.exposure.label();
    let name = subject.name();
    let state = subject.state_label();
    let kind = match subject.kind() {
        crate::model::Kind::Instance => "kind:instance",
        crate::model::Kind::Task => "kind:task",
    };
    let parts = [
        kind,
        sd.alias.as_str(),
        sd.scope.account_id.as_str(),
        sd.scope.region.as_str(),
        subject.id(),
        name.as_ref(),
        subject.type_label(),
        state.as_str(),
        ports.as_str(),
        subject.public_ip().unwrap_or(""),
    ];
    let task_parts: Vec<&str> = row.task().map_or_else(Vec::new, |t| {
        let mut v = vec![t.cluster.as_str(), t.launch_type.as_str()];
        v.extend(t.images());
        v
    });
    let flags = row.flags.iter().map(Flag::as_str);
    let len = parts.iter().map(|p| p.len() + 1).sum::<usize>()
        + task_parts.iter().map(|p| p.len() + 1).sum::<usize>()
        + findings.iter().map(|f| f.kind.len() + 1).sum::<usize>()
        + flags.clone().map(|f| f.len() + 1).sum::<usize>();
    let findings = findings.into_iter();
    let mut out = String::with_capacity(len);
    for p in parts
        .into_iter()
        .chain(task_parts)
        .chain(findings.map(|f| f.kind.as_str()))
        .chain(flags.map(|f| -> &str { f }))
    {
        out.push_str(p);
        out.push(' ');
    }
    if out.is_ascii() {
        out.make_ascii_lowercase();
        out
    } else {
        out.to_lowercase()
    }
}

/// Packed numeric sort key for the numeric columns (None for text columns): one integer
/// comparison instead of several float and string comparisons per pair.
pub fn numeric_key(row: &Row, key: SortKey) -> Option<u64> {
    let tenth = |x: Option<f64>| x.map_or(0, |v| (v.clamp(0.0, 6553.4) * 10.0) as u64 + 1);
    match key {
        SortKey::Risk => Some(
            (u64::from(row.risk.score) << 40)
                | (tenth(row.worst_severity) << 20)
                | tenth(row.cpu_now),
        ),
        SortKey::Cpu => Some(tenth(row.cpu_now)),
        SortKey::Findings => {
            Some((tenth(row.worst_severity) << 20) | row.finding_count.min(0xFFFFF) as u64)
        }
        SortKey::Launched => Some(
            row.subject
                .launched()
                .map_or(0, |t| (t.timestamp().max(0) as u64) + 1),
        ),
        // Ten-thousandths of a dollar an hour.
        SortKey::Cost => Some(row.price.map_or(0, |p| {
            (p.usd_per_hour.clamp(0.0, 1e9) * 10_000.0).round() as u64 + 1
        })),
        _ => None,
    }
}

/// The rank of each scope by its account alias ([`SortKey::Account`]) or region (otherwise):
/// scopes with the same value share a rank.
pub fn scope_ranks(fleet: &Fleet, key: SortKey) -> Vec<u64> {
    let value = |s: usize| match key {
        SortKey::Account => fleet.scopes[s].alias.as_str(),
        _ => fleet.scopes[s].scope.region.as_str(),
    };
    let mut values: Vec<&str> = (0..fleet.scopes.len()).map(value).collect();
    values.sort_unstable();
    values.dedup();
    (0..fleet.scopes.len())
        .map(|s| values.binary_search(&value(s)).unwrap_or(0) as u64)
        .collect()
}

/// The price of an instance: its AZ's Spot price for a Spot instance, else the on-demand price
/// of its type, platform and tenancy; None while unknown.
pub fn price_of(i: &Instance, prices: &HashMap<PriceKey, Quote>) -> Option<RowPrice> {
    let key = PriceKey::of(i);
    let spot = key.spot_az.is_some();
    let q = prices.get(&key)?;
    q.usd_per_hour.map(|usd_per_hour| RowPrice {
        usd_per_hour,
        spot,
        cached: q.cached,
    })
}
