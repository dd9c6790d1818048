//! CPU feed: CloudWatch CPUUtilization via GetMetricData, 500 queries a call, each instance polled
//! at its metric's period (5 min basic monitoring, 1 min detailed) and never more often.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use chrono::{DateTime, TimeDelta, Utc};
use futures::future::BoxFuture;

use super::ec2::Shared;
use crate::aws::Clients;
use crate::aws::convert::to_chrono;
use crate::aws::error::{AwsError, describe};
use crate::feed::{Data, Feed, FeedError, Polled};
use crate::model::{CpuSeries, Instance, InstanceState, Scope};

/// The feed's name in every layer.
pub const NAME: &str = "cpu";
/// How soon a CPU feed with no inventory to work from looks again (it makes no call meanwhile).
const NO_INVENTORY_RETRY: Duration = Duration::from_secs(5);

/// The CPU feed of one account x region: CPUUtilization of the instances the EC2 feed last saw.
pub struct CpuFeed {
    clients: Clients,
    interval: Duration,
    inventory: Shared,
    schedule: Schedule,
    /// The last poll found no inventory to work from.
    waiting: bool,
}

impl CpuFeed {
    /// The feed, reading its instances from the EC2 feed's `inventory`.
    pub fn new(clients: Clients, interval: Duration, inventory: Shared) -> Self {
        CpuFeed {
            clients,
            interval,
            inventory,
            schedule: Schedule::default(),
            waiting: false,
        }
    }

    /// The instances to poll: waits for the first inventory; fails when there has never been one.
    async fn instances(&mut self) -> Result<std::sync::Arc<Vec<Instance>>, FeedError> {
        loop {
            if let Some(r) = self.inventory.borrow_and_update().clone() {
                return r.map_err(|e| {
                    FeedError::local(format!("not polled: EC2 inventory failed ({e})"))
                });
            }
            if self.inventory.changed().await.is_err() {
                return Err(FeedError::local("not polled: the EC2 feed stopped"));
            }
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
    fn poll(&mut self) -> BoxFuture<'_, Result<Polled, FeedError>> {
        Box::pin(async move {
            let instances = self.instances().await;
            self.waiting = instances.is_err();
            let targets = targets(&instances?);
            let p = self
                .schedule
                .poll(&self.clients.cloudwatch, &targets, Utc::now())
                .await?;
            Ok(Polled {
                at: Utc::now(),
                data: vec![Data::Cpu {
                    scope: self.clients.scope.clone(),
                    series: p.series,
                }],
                calls: p.calls,
                metrics: p.metrics,
                metrics_per_day: Some(metrics_per_day(&targets)),
            })
        })
    }
    fn retry_after(&self, err: &FeedError, failures: u32) -> Duration {
        if self.waiting {
            NO_INVENTORY_RETRY
        } else {
            crate::feed::backoff(err, failures, self.interval)
        }
    }
}

/// CPU targets from an inventory: instances that can report CPU.
pub fn targets(instances: &[Instance]) -> Vec<Target> {
    instances
        .iter()
        .filter(|i| {
            matches!(
                i.state,
                InstanceState::Running | InstanceState::Pending | InstanceState::Stopping
            )
        })
        .map(|i| Target {
            instance_id: i.instance_id.clone(),
            detailed: i.detailed_monitoring,
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

/// What the CPU feed needs to know of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Instance id.
    pub instance_id: String,
    /// Detailed (1-minute) monitoring.
    pub detailed: bool,
}

impl Target {
    /// Metric period in seconds.
    pub fn period(&self) -> u32 {
        if self.detailed { 60 } else { 300 }
    }
}

/// Per-instance polling schedule: when each instance was last fetched up to.
#[derive(Debug, Default)]
pub struct Schedule {
    fetched_until: HashMap<String, DateTime<Utc>>,
}

/// Result of one CPU poll.
#[derive(Debug, Default)]
pub struct CpuPoll {
    /// New samples per instance.
    pub series: Vec<(String, CpuSeries)>,
    /// GetMetricData calls made.
    pub calls: u64,
    /// Metrics requested (what CloudWatch bills).
    pub metrics: u64,
}

impl Schedule {
    /// Instances whose period has elapsed since their last fetch (or never fetched).
    pub fn due<'a>(&self, targets: &'a [Target], now: DateTime<Utc>) -> Vec<&'a Target> {
        targets
            .iter()
            .filter(|t| {
                self.fetched_until
                    .get(&t.instance_id)
                    .is_none_or(|last| now - *last >= TimeDelta::seconds(i64::from(t.period())))
            })
            .collect()
    }

    /// Polls the due instances; forgets instances no longer targeted.
    pub async fn poll(
        &mut self,
        client: &Client,
        targets: &[Target],
        now: DateTime<Utc>,
    ) -> Result<CpuPoll, AwsError> {
        self.fetched_until
            .retain(|id, _| targets.iter().any(|t| &t.instance_id == id));
        let due = self.due(targets, now);
        let mut out = CpuPoll::default();
        for batch in due.chunks(MAX_QUERIES) {
            let start = batch
                .iter()
                .map(|t| {
                    self.fetched_until
                        .get(&t.instance_id)
                        .map_or(now - BACKFILL, |last| {
                            *last - LATE_MARGIN.max(TimeDelta::seconds(i64::from(t.period())))
                        })
                })
                .min()
                .unwrap_or(now - BACKFILL);
            let queries: Vec<MetricDataQuery> =
                batch.iter().enumerate().map(|(k, t)| query(k, t)).collect();
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
            for (k, t) in batch.iter().enumerate() {
                let mut pts = points.remove(&k).unwrap_or_default();
                pts.sort_by_key(|p| p.0);
                out.series.push((
                    t.instance_id.clone(),
                    CpuSeries {
                        period_secs: t.period(),
                        points: pts,
                    },
                ));
            }
        }
        // Committed only once every batch succeeded: a failed batch is fetched again next time.
        for (id, _) in &out.series {
            self.fetched_until.insert(id.clone(), now);
        }
        Ok(out)
    }
}

fn query(k: usize, t: &Target) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(format!("m{k}"))
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace("AWS/EC2")
                        .metric_name("CPUUtilization")
                        .dimensions(
                            Dimension::builder()
                                .name("InstanceId")
                                .value(&t.instance_id)
                                .build(),
                        )
                        .build(),
                )
                .period(t.period() as i32)
                .stat("Average")
                .build(),
        )
        .return_data(true)
        .build()
}

/// Metrics requested per day when polling `targets` at their periods.
pub fn metrics_per_day(targets: &[Target]) -> f64 {
    targets
        .iter()
        .map(|t| 86_400.0 / f64::from(t.period()))
        .sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(id: &str, detailed: bool) -> Target {
        Target {
            instance_id: id.into(),
            detailed,
        }
    }

    #[test]
    fn each_instance_is_due_at_its_own_period() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let targets = vec![t("basic", false), t("detailed", true)];
        let mut s = Schedule::default();
        assert_eq!(s.due(&targets, now).len(), 2, "never fetched");
        s.fetched_until.insert("basic".into(), now);
        s.fetched_until.insert("detailed".into(), now);
        let ids = |v: Vec<&Target>| {
            v.into_iter()
                .map(|t| t.instance_id.clone())
                .collect::<Vec<_>>()
        };
        assert!(s.due(&targets, now + TimeDelta::seconds(59)).is_empty());
        assert_eq!(
            ids(s.due(&targets, now + TimeDelta::seconds(60))),
            vec!["detailed"]
        );
        assert_eq!(
            ids(s.due(&targets, now + TimeDelta::seconds(300))),
            vec!["basic", "detailed"]
        );
    }

    #[test]
    fn cost_matches_the_design_figure() {
        // 10,000 instances polled every 60 s the naive way: about $144/day.
        let naive: Vec<Target> = (0..10_000).map(|i| t(&i.to_string(), true)).collect();
        assert!((crate::feed::cloudwatch_usd(metrics_per_day(&naive)) - 144.0).abs() < 1e-6);
        // Basic monitoring polled at its real 5-minute period costs a fifth.
        let basic: Vec<Target> = (0..10_000).map(|i| t(&i.to_string(), false)).collect();
        assert!((crate::feed::cloudwatch_usd(metrics_per_day(&basic)) - 28.8).abs() < 1e-6);
    }
}
