//! CPU feed: CloudWatch CPUUtilization via GetMetricData, 500 queries a call, each instance polled
//! at its metric's period (5 min basic monitoring, 1 min detailed) and never more often. For
//! burstable instances the same batches carry CPUCreditBalance, and CPUSurplusCreditsCharged in
//! unlimited mode (modes from DescribeInstanceCreditSpecifications, cached for an hour). ECS rides
//! in the same batches: each service's CPUUtilization (AWS/ECS), and each task's CpuUtilized and
//! CpuReserved (ECS/ContainerInsights) in clusters with Container Insights' enhanced
//! observability.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{Dimension, MetricDataQuery, MetricStat, ScanBy};
use chrono::{DateTime, TimeDelta, Utc};
use futures::future::BoxFuture;

use super::ec2::Shared;
use super::ecs;
use crate::aws::Clients;
use crate::aws::convert::to_chrono;
use crate::aws::error::{AwsError, describe};
use crate::feed::{Data, Feed, FeedError, Polled};
use crate::model::credits::{CREDIT_PERIOD_SECS, CreditMode, Credits, is_burstable};
use crate::model::task::Task;
use crate::model::{CpuSeries, Instance, InstanceState, Scope};

/// The feed's name in every layer.
pub const NAME: &str = "cpu";

/// Where the CPU feed's targets come from.
enum Sources {
    /// Its own account x region: the EC2 feed's inventory and the ECS feed's.
    Own {
        /// The EC2 feed's latest inventory.
        inventory: Shared,
        /// The ECS feed's latest inventory.
        ecs: ecs::Shared,
    },
    /// Every member of the organization in the feed's region, read through the monitoring
    /// account (cross-account observability: each query names its account).
    Org(super::org::RegionMembers),
}

/// The CPU feed of one account x region: CPUUtilization of the instances the EC2 feed last saw,
/// or, in a monitoring account, of every member's instances in the region.
pub struct CpuFeed {
    clients: Clients,
    interval: Duration,
    sources: Sources,
    schedule: Schedule,
    modes: CreditModes,
    /// The last poll found no inventory to work from.
    waiting: bool,
}

/// Credit modes of burstable instances, read with DescribeInstanceCreditSpecifications in each
/// instance's own account.
#[derive(Default)]
struct CreditModes {
    /// Mode per instance id.
    modes: HashMap<String, CreditMode>,
    /// When the modes were last all forgotten.
    at: Option<DateTime<Utc>>,
    /// When reading an account's modes last failed (not asked again for a few minutes).
    failed_at: HashMap<String, DateTime<Utc>>,
}

impl CreditModes {
    /// Reads the credit mode of `account`'s burstable instances not known yet (all of them once
    /// the modes are an hour old: an attacker may switch a box to unlimited). A failed read leaves
    /// the modes unknown, asked again after [`MODES_RETRY_SECS`], and the CPU poll goes on.
    /// Returns the calls made.
    async fn read(
        &mut self,
        clients: &Clients,
        account: &str,
        instances: &[Instance],
        now: DateTime<Utc>,
    ) -> u64 {
        if self
            .at
            .is_none_or(|t| now - t >= TimeDelta::seconds(MODES_MAX_AGE_SECS))
        {
            self.modes.clear();
            self.at = Some(now);
        }
        if self
            .failed_at
            .get(account)
            .is_some_and(|t| now - *t < TimeDelta::seconds(MODES_RETRY_SECS))
        {
            return 0;
        }
        let wanted: Vec<String> = instances
            .iter()
            .filter(|i| is_burstable(&i.instance_type) && i.state.is_live())
            .filter(|i| !self.modes.contains_key(&i.instance_id))
            .map(|i| i.instance_id.clone())
            .collect();
        let mut calls = 0;
        for chunk in wanted.chunks(MODE_BATCH) {
            calls += 1;
            clients.ec2_bucket.take().await;
            let got = clients
                .ec2
                .describe_instance_credit_specifications()
                .set_instance_ids(Some(chunk.to_vec()))
                .send()
                .await;
            // Denied, throttled, or an instance gone meanwhile: the modes stay unknown (the
            // detail view says so) and are asked again a few minutes later.
            let Ok(out) = got else {
                self.failed_at.insert(account.to_string(), now);
                break;
            };
            let mut said: HashMap<String, CreditMode> = out
                .instance_credit_specifications()
                .iter()
                .filter_map(|spec| {
                    Some((
                        spec.instance_id()?.to_string(),
                        CreditMode::parse(spec.cpu_credits()?),
                    ))
                })
                .collect();
            for id in chunk {
                let mode = said.remove(id).unwrap_or(CreditMode::Unknown);
                self.modes.insert(id.clone(), mode);
            }
        }
        calls
    }
}

impl CpuFeed {
    /// The feed, reading its instances from the EC2 feed's `inventory` and its services and
    /// tasks from the ECS feed's latest inventory, `ecs`.
    pub fn new(clients: Clients, interval: Duration, inventory: Shared, ecs: ecs::Shared) -> Self {
        Self::with_sources(clients, interval, Sources::Own { inventory, ecs })
    }

    /// The feed of a monitoring account in one region (`clients`): every member of `members`
    /// there, each query naming its account.
    pub fn org(clients: Clients, interval: Duration, members: super::org::RegionMembers) -> Self {
        Self::with_sources(clients, interval, Sources::Org(members))
    }

    fn with_sources(clients: Clients, interval: Duration, sources: Sources) -> Self {
        CpuFeed {
            clients,
            interval,
            sources,
            schedule: Schedule::default(),
            modes: CreditModes::default(),
            waiting: false,
        }
    }

    /// This poll's targets (instances, services, tasks), the scopes they are in (a member
    /// whose inventory has not come is not one: its CPU is not reported as read), and the
    /// credit-mode calls made.
    async fn targets(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Target>, Vec<Scope>, u64), FeedError> {
        match &mut self.sources {
            Sources::Own { inventory, ecs } => {
                let instances = super::ec2::latest(inventory).await;
                self.waiting = instances.is_err();
                let instances = instances?;
                let account = &self.clients.scope.account_id;
                let calls = self
                    .modes
                    .read(&self.clients, account, &instances, now)
                    .await;
                let mut t = targets(&instances, &self.modes.modes);
                t.extend(ecs_targets(&*ecs::latest(ecs).await));
                Ok((t, vec![self.clients.scope.clone()], calls))
            }
            Sources::Org(members) => {
                // A member whose inventory has not arrived yet is skipped (no waiting: one
                // slow account must not hold the others' CPU back).
                let mut all = Vec::new();
                let mut read = Vec::new();
                let mut calls = 0;
                for m in members.snapshot() {
                    let Some(Ok(instances)) = m.inventory.borrow().clone() else {
                        continue;
                    };
                    let account = m.clients.scope.account_id.clone();
                    calls += self.modes.read(&m.clients, &account, &instances, now).await;
                    let mut t = targets(&instances, &self.modes.modes);
                    if let Some(inv) = m.ecs.borrow().clone() {
                        t.extend(ecs_targets(&inv));
                    }
                    for x in &mut t {
                        x.account = Some(account.clone());
                    }
                    all.extend(t);
                    read.push(m.clients.scope.clone());
                }
                Ok((all, read, calls))
            }
        }
    }

    /// The scopes this feed reports for: its own, or every member's in the region.
    fn scopes(&self) -> Vec<Scope> {
        match &self.sources {
            Sources::Own { .. } => vec![self.clients.scope.clone()],
            Sources::Org(members) => members.scopes(),
        }
    }
}

impl Feed for CpuFeed {
    fn name(&self) -> &'static str {
        NAME
    }
    fn home(&self) -> &Scope {
        &self.clients.scope
    }
    fn interval(&self) -> Duration {
        self.interval
    }
    fn serves(&self) -> Vec<Scope> {
        match &self.sources {
            Sources::Own { .. } => Vec::new(),
            Sources::Org(_) => self.scopes(),
        }
    }
    fn ready(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Sources::Own { inventory, ecs } = &mut self.sources {
                super::ec2::first(inventory).await;
                ecs::first(ecs).await;
            }
        })
    }
    fn poll(&mut self) -> BoxFuture<'_, Result<Polled, FeedError>> {
        Box::pin(async move {
            let (targets, read, mode_calls) = self.targets(Utc::now()).await?;
            let p = self
                .schedule
                .poll(&self.clients.cloudwatch, &targets, Utc::now())
                .await?;
            let mut by_account: HashMap<Option<String>, Data> = HashMap::new();
            let own = matches!(self.sources, Sources::Own { .. });
            for scope in read {
                let key = (!own).then(|| scope.account_id.clone());
                by_account.insert(
                    key,
                    Data::Cpu {
                        scope,
                        series: Vec::new(),
                        credits: Vec::new(),
                    },
                );
            }
            for (account, key, s) in p.series {
                if let Some(Data::Cpu { series, .. }) = by_account.get_mut(&account) {
                    series.push((key, s));
                }
            }
            for (account, key, c) in p.credits {
                if let Some(Data::Cpu { credits, .. }) = by_account.get_mut(&account) {
                    credits.push((key, c));
                }
            }
            let mut data: Vec<Data> = by_account.into_values().collect();
            data.sort_by(|a, b| a.scope().cmp(b.scope()));
            Ok(Polled {
                at: Utc::now(),
                data,
                calls: p.calls + mode_calls,
                metrics: p.metrics,
                metrics_per_day: Some(metrics_per_day(&targets)),
            })
        })
    }
    fn retry_after(&self, err: &FeedError, failures: u32) -> Duration {
        super::ec2::dependant_retry(self.waiting, err, failures, self.interval)
    }
}

/// Instance ids per DescribeInstanceCreditSpecifications call.
const MODE_BATCH: usize = 1000;
/// Credit modes are read again after this long.
const MODES_MAX_AGE_SECS: i64 = 3600;
/// After a failed read of the credit modes, they are asked again after this long.
const MODES_RETRY_SECS: i64 = 300;

/// CPU targets from an ECS inventory: every service, and every live task of a cluster with
/// Container Insights' enhanced observability (plain `enabled` has no task-level series: asking
/// would pay for nothing).
pub fn ecs_targets(inv: &ecs::EcsInventory) -> Vec<Target> {
    let services = inv.services.iter().map(|s| Target {
        key: crate::model::task::service_cpu_key(&s.cluster, &s.name),
        account: None,
        detailed: true,
        credits: None,
        watched: Watched::Service {
            cluster: s.cluster.clone(),
            service: s.name.clone(),
        },
    });
    let insights = |t: &&Task| {
        inv.clusters
            .iter()
            .any(|c| c.name == t.cluster && c.enhanced)
    };
    let tasks = inv
        .tasks
        .iter()
        .filter(|t| t.is_live())
        .filter(insights)
        .map(|t| Target {
            key: t.task_arn.clone(),
            account: None,
            detailed: true,
            credits: None,
            watched: Watched::Task {
                cluster: t.cluster.clone(),
                family: t.family().to_string(),
                task_id: t.task_id().to_string(),
            },
        });
    services.chain(tasks).collect()
}

/// CPU targets from an inventory: instances that can report CPU, with the credit mode of the
/// burstable ones.
pub fn targets(instances: &[Instance], modes: &HashMap<String, CreditMode>) -> Vec<Target> {
    instances
        .iter()
        .filter(|i| {
            matches!(
                i.state,
                InstanceState::Running | InstanceState::Pending | InstanceState::Stopping
            )
        })
        .map(|i| Target {
            key: i.instance_id.clone(),
            account: None,
            watched: Watched::Instance,
            detailed: i.detailed_monitoring,
            credits: is_burstable(&i.instance_type).then(|| {
                modes
                    .get(&i.instance_id)
                    .copied()
                    .unwrap_or(CreditMode::Unknown)
            }),
        })
        .collect()
}

/// Most queries GetMetricData takes in one call.
pub const MAX_QUERIES: usize = 500;
/// History fetched for an instance seen for the first time.
pub const BACKFILL: TimeDelta = TimeDelta::hours(1);
/// Each query reaches this far behind the last fetch, so datapoints CloudWatch publishes late
/// are still picked up (billing is per metric requested, not per minute of range).
pub const LATE_MARGIN: TimeDelta = TimeDelta::minutes(10);

/// What the CPU feed needs to know of an instance, ECS service or task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The key its series is reported under: instance id, [`crate::model::task::service_cpu_key`],
    /// or task ARN.
    pub key: String,
    /// The account it is in, when the feed reads several accounts' metrics (a monitoring
    /// account): each query then names it (`AccountId`).
    pub account: Option<String>,
    /// What is watched (which namespace and dimensions).
    pub watched: Watched,
    /// Detailed (1-minute) monitoring (ECS metrics are always per minute).
    pub detailed: bool,
    /// Credit mode of a burstable instance (None: not burstable).
    pub credits: Option<CreditMode>,
}

/// What a CPU target is, for CloudWatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watched {
    /// An EC2 instance (AWS/EC2, InstanceId = the key).
    Instance,
    /// An ECS service (AWS/ECS, ClusterName + ServiceName).
    Service {
        /// Cluster name.
        cluster: String,
        /// Service name.
        service: String,
    },
    /// An ECS task (ECS/ContainerInsights, ClusterName + TaskDefinitionFamily + TaskId).
    Task {
        /// Cluster name.
        cluster: String,
        /// Task definition family.
        family: String,
        /// Task id.
        task_id: String,
    },
}

/// A CloudWatch metric the feed reads for a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// CPUUtilization (Average): an instance's, or an ECS service's.
    Cpu,
    /// CPUCreditBalance (Average), burstable instances.
    CreditBalance,
    /// CPUSurplusCreditsCharged (Sum), burstable instances in unlimited mode.
    SurplusCharged,
    /// CpuUtilized (Average, CPU units), an ECS task with Container Insights.
    TaskCpuUtilized,
    /// CpuReserved (Average, CPU units), the same task: utilized / reserved is its CPU %.
    TaskCpuReserved,
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Metric::Cpu => "CPUUtilization",
            Metric::CreditBalance => "CPUCreditBalance",
            Metric::SurplusCharged => "CPUSurplusCreditsCharged",
            Metric::TaskCpuUtilized => "CpuUtilized",
            Metric::TaskCpuReserved => "CpuReserved",
        }
    }

    fn stat(self) -> &'static str {
        match self {
            Metric::SurplusCharged => "Sum",
            _ => "Average",
        }
    }
}

impl Target {
    /// The key its schedule is kept under (the account first, when it names one: two
    /// accounts may have services of the same name).
    fn schedule_key(&self) -> String {
        match &self.account {
            Some(a) => format!("{a}/{}", self.key),
            None => self.key.clone(),
        }
    }

    /// CPU metric period in seconds.
    pub fn period(&self) -> u32 {
        if self.detailed { 60 } else { 300 }
    }

    /// Every metric read for the target, with its period: CPU at the monitoring's period; the
    /// credit balance for a burstable instance, and the surplus charged in unlimited mode, at
    /// the 5 minutes AWS publishes them at; a task's CPU used and reserved every minute.
    pub fn metrics(&self) -> Vec<(Metric, u32)> {
        if let Watched::Task { .. } = self.watched {
            return vec![(Metric::TaskCpuUtilized, 60), (Metric::TaskCpuReserved, 60)];
        }
        let mut v = vec![(Metric::Cpu, self.period())];
        if let Some(mode) = self.credits {
            v.push((Metric::CreditBalance, CREDIT_PERIOD_SECS));
            if mode == CreditMode::Unlimited {
                v.push((Metric::SurplusCharged, CREDIT_PERIOD_SECS));
            }
        }
        v
    }
}

/// Per-metric polling schedule: when each metric of each instance was last fetched up to.
#[derive(Debug, Default)]
pub struct Schedule {
    fetched_until: HashMap<(String, Metric), DateTime<Utc>>,
}

/// Result of one CPU poll.
#[derive(Debug, Default)]
pub struct CpuPoll {
    /// New CPU samples per instance (its account, when the target named one; its key).
    pub series: Vec<(Option<String>, String, CpuSeries)>,
    /// New credit samples per burstable instance (with its mode).
    pub credits: Vec<(Option<String>, String, Credits)>,
    /// GetMetricData calls made.
    pub calls: u64,
    /// Metrics requested (what CloudWatch bills).
    pub metrics: u64,
}

/// One metric of one instance due now.
#[derive(Debug, Clone, Copy)]
pub struct Due<'a> {
    /// The instance.
    pub target: &'a Target,
    /// The metric.
    pub metric: Metric,
    /// Its period.
    pub period: u32,
}

impl Schedule {
    /// Metrics whose period has elapsed since their last fetch (or never fetched).
    pub fn due<'a>(&self, targets: &'a [Target], now: DateTime<Utc>) -> Vec<Due<'a>> {
        targets
            .iter()
            .flat_map(|t| {
                t.metrics().into_iter().map(move |(metric, period)| Due {
                    target: t,
                    metric,
                    period,
                })
            })
            .filter(|d| {
                self.fetched_until
                    .get(&(d.target.schedule_key(), d.metric))
                    .is_none_or(|last| now - *last >= TimeDelta::seconds(i64::from(d.period)))
            })
            .collect()
    }

    /// Polls the due metrics; forgets instances no longer targeted.
    pub async fn poll(
        &mut self,
        client: &Client,
        targets: &[Target],
        now: DateTime<Utc>,
    ) -> Result<CpuPoll, AwsError> {
        let wanted: std::collections::HashSet<(String, Metric)> = targets
            .iter()
            .flat_map(|t| t.metrics().into_iter().map(|(m, _)| (t.schedule_key(), m)))
            .collect();
        self.fetched_until.retain(|key, _| wanted.contains(key));
        let due = self.due(targets, now);
        let mut out = CpuPoll::default();
        let mut cpu: Vec<(Option<String>, String, CpuSeries)> = Vec::new();
        let mut credits: HashMap<(Option<String>, String), Credits> = HashMap::new();
        let mut task_cpu: HashMap<(Option<String>, String), [CpuSeries; 2]> = HashMap::new();
        let mut fetched: Vec<(String, Metric)> = Vec::new();
        for batch in due.chunks(MAX_QUERIES) {
            let start = batch
                .iter()
                .map(|d| {
                    self.fetched_until
                        .get(&(d.target.schedule_key(), d.metric))
                        .map_or(now - BACKFILL, |last| {
                            *last - LATE_MARGIN.max(TimeDelta::seconds(i64::from(d.period)))
                        })
                })
                .min()
                .unwrap_or(now - BACKFILL);
            let queries: Vec<MetricDataQuery> =
                batch.iter().enumerate().map(|(k, d)| query(k, d)).collect();
            out.metrics += queries.len() as u64;
            let mut pages = client
                .get_metric_data()
                .set_metric_data_queries(Some(queries))
                .start_time(aws_smithy_types::DateTime::from_secs(start.timestamp()))
                .end_time(aws_smithy_types::DateTime::from_secs(now.timestamp()))
                .scan_by(ScanBy::TimestampAscending)
                .into_paginator()
                .send();
            let mut points: HashMap<usize, Vec<(DateTime<Utc>, f64)>> = HashMap::new();
            while let Some(page) = pages.next().await {
                out.calls += 1;
                let page = page.map_err(|e| describe("GetMetricData", &e))?;
                for r in page.metric_data_results() {
                    let Some(k) = r
                        .id()
                        .and_then(|id| id.strip_prefix('m'))
                        .and_then(|n| n.parse::<usize>().ok())
                    else {
                        continue;
                    };
                    let e = points.entry(k).or_default();
                    for (ts, v) in r.timestamps().iter().zip(r.values()) {
                        if let Some(ts) = to_chrono(ts) {
                            e.push((ts, *v));
                        }
                    }
                }
            }
            for (k, d) in batch.iter().enumerate() {
                let mut pts = points.remove(&k).unwrap_or_default();
                pts.sort_by_key(|p| p.0);
                let id = (d.target.account.clone(), d.target.key.clone());
                let series = CpuSeries {
                    period_secs: d.period,
                    points: pts.into(),
                };
                fetched.push((d.target.schedule_key(), d.metric));
                match d.metric {
                    Metric::Cpu => cpu.push((id.0, id.1, series)),
                    Metric::TaskCpuUtilized => task_cpu.entry(id).or_default()[0] = series,
                    Metric::TaskCpuReserved => task_cpu.entry(id).or_default()[1] = series,
                    Metric::CreditBalance | Metric::SurplusCharged => {
                        let c = credits.entry(id).or_insert_with(|| Credits {
                            mode: d.target.credits,
                            ..Credits::default()
                        });
                        if d.metric == Metric::CreditBalance {
                            c.balance = series;
                        } else {
                            c.surplus = series;
                        }
                    }
                }
            }
        }
        // Committed only once every batch succeeded: a failed batch is fetched again next time.
        for key in fetched {
            self.fetched_until.insert(key, now);
        }
        let mut tasks: Vec<(Option<String>, String, CpuSeries)> = task_cpu
            .into_iter()
            .map(|((account, id), [used, reserved])| (account, id, task_percent(&used, &reserved)))
            .collect();
        tasks.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        cpu.extend(tasks);
        out.series = cpu;
        out.credits = credits
            .into_iter()
            .map(|((account, id), c)| (account, id, c))
            .collect();
        out.credits.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        Ok(out)
    }
}

/// A task's CPU % from Container Insights: CPU units used over units reserved, sample by
/// sample (CloudWatch metric math would do the same, but costs the same and the emulator has
/// none).
pub fn task_percent(used: &CpuSeries, reserved: &CpuSeries) -> CpuSeries {
    let points = used
        .points
        .iter()
        .filter_map(|(t, u)| {
            let r = reserved.points.iter().find(|(rt, _)| *rt == t)?.1;
            (r > 0.0).then(|| (t, (u / r * 100.0).clamp(0.0, 100.0)))
        })
        .collect();
    CpuSeries {
        period_secs: used.period_secs,
        points,
    }
}

fn query(k: usize, d: &Due<'_>) -> MetricDataQuery {
    let dim = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    let (namespace, dims) = match &d.target.watched {
        Watched::Instance => ("AWS/EC2", vec![dim("InstanceId", &d.target.key)]),
        Watched::Service { cluster, service } => (
            "AWS/ECS",
            vec![dim("ClusterName", cluster), dim("ServiceName", service)],
        ),
        Watched::Task {
            cluster,
            family,
            task_id,
        } => (
            "ECS/ContainerInsights",
            vec![
                dim("ClusterName", cluster),
                dim("TaskDefinitionFamily", family),
                dim("TaskId", task_id),
            ],
        ),
    };
    MetricDataQuery::builder()
        .id(format!("m{k}"))
        .set_account_id(d.target.account.clone())
        .metric_stat(
            MetricStat::builder()
                .metric(
                    aws_sdk_cloudwatch::types::Metric::builder()
                        .namespace(namespace)
                        .metric_name(d.metric.name())
                        .set_dimensions(Some(dims))
                        .build(),
                )
                .period(d.period as i32)
                .stat(d.metric.stat())
                .build(),
        )
        .return_data(true)
        .build()
}

/// Metrics requested per day when polling `targets` at their periods (credit metrics included:
/// only burstable instances add them).
pub fn metrics_per_day(targets: &[Target]) -> f64 {
    targets
        .iter()
        .flat_map(Target::metrics)
        .map(|(_, period)| 86_400.0 / f64::from(period))
        .sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(id: &str, detailed: bool) -> Target {
        Target {
            key: id.into(),
            account: None,
            watched: Watched::Instance,
            detailed,
            credits: None,
        }
    }

    fn burst(id: &str, mode: CreditMode) -> Target {
        Target {
            credits: Some(mode),
            ..t(id, true)
        }
    }

    fn names(v: Vec<Due<'_>>) -> Vec<String> {
        v.into_iter()
            .map(|d| format!("{} {:?}", d.target.key, d.metric))
            .collect()
    }

    #[test]
    fn each_metric_is_due_at_its_own_period() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let targets = vec![
            t("basic", false),
            t("detailed", true),
            burst("t3", CreditMode::Unlimited),
        ];
        let mut s = Schedule::default();
        assert_eq!(
            names(s.due(&targets, now)),
            [
                "basic Cpu",
                "detailed Cpu",
                "t3 Cpu",
                "t3 CreditBalance",
                "t3 SurplusCharged"
            ],
            "never fetched"
        );
        for d in s.due(&targets, now) {
            s.fetched_until
                .insert((d.target.schedule_key(), d.metric), now);
        }
        assert!(s.due(&targets, now + TimeDelta::seconds(59)).is_empty());
        // Detailed CPU every minute; credit metrics only every five, whatever the monitoring.
        assert_eq!(
            names(s.due(&targets, now + TimeDelta::seconds(60))),
            ["detailed Cpu", "t3 Cpu"]
        );
        assert_eq!(s.due(&targets, now + TimeDelta::seconds(300)).len(), 5);
    }

    #[test]
    fn only_burstable_instances_add_credit_metrics() {
        assert_eq!(t("m5", false).metrics().len(), 1);
        assert_eq!(burst("t3", CreditMode::Standard).metrics().len(), 2);
        assert_eq!(burst("t3", CreditMode::Unknown).metrics().len(), 2);
        assert_eq!(burst("t3", CreditMode::Unlimited).metrics().len(), 3);
    }

    #[test]
    fn cost_matches_the_design_figure() {
        // 10,000 instances polled every 60 s the naive way: about $144/day.
        let naive: Vec<Target> = (0..10_000).map(|i| t(&i.to_string(), true)).collect();
        assert!((crate::feed::cloudwatch_usd(metrics_per_day(&naive)) - 144.0).abs() < 1e-6);
        // Basic monitoring polled at its real 5-minute period costs a fifth.
        let basic: Vec<Target> = (0..10_000).map(|i| t(&i.to_string(), false)).collect();
        assert!((crate::feed::cloudwatch_usd(metrics_per_day(&basic)) - 28.8).abs() < 1e-6);
        // 30 % of them burstable in unlimited mode: two more metrics each at 5 minutes.
        let mixed: Vec<Target> = (0..10_000)
            .map(|i| {
                let id = i.to_string();
                if i % 10 < 3 {
                    Target {
                        credits: Some(CreditMode::Unlimited),
                        ..t(&id, false)
                    }
                } else {
                    t(&id, false)
                }
            })
            .collect();
        assert!((crate::feed::cloudwatch_usd(metrics_per_day(&mixed)) - 28.8 * 1.6).abs() < 1e-6);
    }
}
