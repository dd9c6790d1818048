//! Cost Explorer feed (`[settings] cost_explorer = true`): one account's daily unblended cost of
//! the last 7 days by service (GetCostAndUsage) and its open cost anomalies (GetAnomalies), at
//! most once an hour, failures included: Cost Explorer charges $0.01 a request.

use std::time::Duration;

use aws_sdk_costexplorer::types::{
    AnomalyDateInterval, DateInterval, Dimension, DimensionValues, Expression, Granularity,
    GroupDefinition, GroupDefinitionType,
};
use chrono::{NaiveDate, TimeDelta, Utc};
use futures::future::BoxFuture;

use crate::aws::error::describe;
use crate::aws::{Clients, Connected};
use crate::feed::{COSTS, Data, Feed, FeedError, Polled};
use crate::model::Scope;
use crate::model::price::{AccountCosts, CostAnomaly, DailyCost};

/// The feed's name in every layer.
pub const NAME: &str = COSTS;

/// Days of daily cost read.
pub const DAYS: i64 = 7;

/// Time between polls, and between retries: Cost Explorer is paid per request.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// The service whose cost is EC2 instance hours.
pub const COMPUTE: &str = "Amazon Elastic Compute Cloud - Compute";

/// The Cost Explorer feed of one account, homed in its first region.
pub struct CostFeed {
    clients: Clients,
    client: aws_sdk_costexplorer::Client,
}

/// The account's Cost Explorer feed, when `cost_explorer` is on and the partition has Cost
/// Explorer.
pub fn feed(acct: &Connected, settings: &crate::config::Settings) -> Option<Box<dyn Feed>> {
    if !settings.cost_explorer {
        return None;
    }
    let clients = Clients::new(acct, acct.regions.first()?);
    let client = clients.costexplorer.clone()?;
    Some(Box::new(CostFeed { clients, client }))
}

impl CostFeed {
    async fn daily(&self, today: NaiveDate) -> Result<Vec<DailyCost>, FeedError> {
        let interval = DateInterval::builder()
            .start((today - TimeDelta::days(DAYS)).to_string())
            .end(today.to_string())
            .build()
            .expect("start and end are set");
        // The account's own costs, also when it is the organization's payer.
        let own = Expression::builder()
            .dimensions(
                DimensionValues::builder()
                    .key(Dimension::LinkedAccount)
                    .values(&self.clients.scope.account_id)
                    .build(),
            )
            .build();
        let out = self
            .client
            .get_cost_and_usage()
            .time_period(interval)
            .granularity(Granularity::Daily)
            .metrics("UnblendedCost")
            .filter(own)
            .group_by(
                GroupDefinition::builder()
                    .r#type(GroupDefinitionType::Dimension)
                    .key("SERVICE")
                    .build(),
            )
            .send()
            .await
            .map_err(|e| FeedError::from(describe("GetCostAndUsage", &e)))?;
        let amount = |m: Option<
            &std::collections::HashMap<String, aws_sdk_costexplorer::types::MetricValue>,
        >| {
            m.and_then(|m| m.get("UnblendedCost"))
                .and_then(|v| v.amount())
                .and_then(|a| a.parse::<f64>().ok())
                .filter(|a| a.is_finite())
                .unwrap_or(0.0)
        };
        Ok(out
            .results_by_time()
            .iter()
            .filter_map(|r| {
                let day = r
                    .time_period()
                    .and_then(|p| NaiveDate::parse_from_str(p.start(), "%Y-%m-%d").ok())?;
                let groups = r.groups();
                let (total, compute) = if groups.is_empty() {
                    (amount(r.total()), 0.0)
                } else {
                    (
                        groups.iter().map(|g| amount(g.metrics())).sum(),
                        groups
                            .iter()
                            .filter(|g| g.keys().iter().any(|k| k == COMPUTE))
                            .map(|g| amount(g.metrics()))
                            .sum(),
                    )
                };
                Some(DailyCost {
                    day,
                    total,
                    compute,
                    estimated: r.estimated(),
                })
            })
            .collect())
    }

    async fn anomalies(&self, today: NaiveDate) -> Result<Vec<CostAnomaly>, FeedError> {
        let out = self
            .client
            .get_anomalies()
            .date_interval(
                AnomalyDateInterval::builder()
                    .start_date((today - TimeDelta::days(DAYS)).to_string())
                    .build()
                    .expect("start is set"),
            )
            .send()
            .await
            .map_err(|e| FeedError {
                calls: 2,
                ..describe("GetAnomalies", &e).into()
            })?;
        let recent = (today - TimeDelta::days(1)).to_string();
        Ok(out
            .anomalies()
            .iter()
            .filter(|a| {
                a.anomaly_end_date()
                    .is_none_or(|end| end[..end.len().min(10)] >= *recent)
            })
            .map(|a| {
                let cause = a.root_causes().first();
                CostAnomaly {
                    id: a.anomaly_id().to_string(),
                    start: a.anomaly_start_date().unwrap_or_default().to_string(),
                    end: a.anomaly_end_date().map(str::to_string),
                    impact_usd: a.impact().map_or(0.0, |i| i.total_impact()),
                    service: cause.and_then(|c| c.service()).map(str::to_string),
                    region: cause.and_then(|c| c.region()).map(str::to_string),
                }
            })
            .collect())
    }
}

impl Feed for CostFeed {
    fn name(&self) -> &'static str {
        NAME
    }
    fn home(&self) -> &Scope {
        &self.clients.scope
    }
    fn interval(&self) -> Duration {
        INTERVAL
    }
    /// Rows stand without the bill: a denied Cost Explorer degrades the scope.
    fn essential(&self) -> bool {
        false
    }
    fn poll(&mut self) -> BoxFuture<'_, Result<Polled, FeedError>> {
        Box::pin(async move {
            let today = Utc::now().date_naive();
            let daily = self.daily(today).await?;
            let anomalies = self.anomalies(today).await?;
            Ok(Polled {
                at: Utc::now(),
                data: vec![Data::Costs {
                    scope: self.clients.scope.clone(),
                    costs: AccountCosts { daily, anomalies },
                }],
                calls: 2,
                metrics: 0,
                metrics_per_day: None,
            })
        })
    }
    /// Never sooner than the interval: every request costs money.
    fn retry_after(&self, _: &FeedError, _: u32) -> Duration {
        INTERVAL
    }
}
