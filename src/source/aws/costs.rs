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

/// Pages read at most per request kind (7 days by service fit in one).
const MAX_PAGES: usize = 10;

/// The Cost Explorer feed of one account, homed in its first region.
pub struct CostFeed {
    clients: Clients,
    client: aws_sdk_costexplorer::Client,
    /// The regions watched: the costs read are theirs, as the burn is.
    regions: Vec<String>,
}

/// The account's Cost Explorer feed, when `cost_explorer` is on and the partition has Cost
/// Explorer.
pub fn feed(acct: &Connected, settings: &crate::config::Settings) -> Option<Box<dyn Feed>> {
    if !settings.cost_explorer {
        return None;
    }
    let clients = Clients::new(acct, acct.regions.first()?);
    let client = clients.costexplorer.clone()?;
    Some(Box::new(CostFeed {
        clients,
        client,
        regions: acct.regions.clone(),
    }))
}

/// The token of the next page; None after the last; an error when pages remain after
/// [`MAX_PAGES`] (nothing is shown rather than a part).
fn next_page(
    token: Option<&str>,
    page: usize,
    op: &str,
    calls: u64,
) -> Result<Option<String>, FeedError> {
    match token.filter(|t| !t.is_empty()) {
        Some(_) if page >= MAX_PAGES => Err(FeedError {
            calls,
            ..FeedError::local(format!(
                "{op}: more than {MAX_PAGES} pages; nothing shown rather than a part"
            ))
        }),
        t => Ok(t.map(str::to_string)),
    }
}

impl CostFeed {
    /// The last days, and the requests made.
    async fn daily(&self, today: NaiveDate) -> Result<(Vec<DailyCost>, u64), FeedError> {
        let interval = DateInterval::builder()
            .start((today - TimeDelta::days(DAYS)).to_string())
            .end(today.to_string())
            .build()
            .expect("start and end are set");
        // The account's own costs (also when it is the organization's payer), in the regions
        // watched (as the burn it is compared with).
        let dim = |key: Dimension, values: Vec<String>| {
            Expression::builder()
                .dimensions(
                    DimensionValues::builder()
                        .key(key)
                        .set_values(Some(values))
                        .build(),
                )
                .build()
        };
        let filter = Expression::builder()
            .and(dim(
                Dimension::LinkedAccount,
                vec![self.clients.scope.account_id.clone()],
            ))
            .and(dim(Dimension::Region, self.regions.clone()))
            .build();
        let mut results = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        for page in 1..=MAX_PAGES {
            pages = page as u64;
            let out = self
                .client
                .get_cost_and_usage()
                .time_period(interval.clone())
                .granularity(Granularity::Daily)
                .metrics("UnblendedCost")
                .filter(filter.clone())
                .group_by(
                    GroupDefinition::builder()
                        .r#type(GroupDefinitionType::Dimension)
                        .key("SERVICE")
                        .build(),
                )
                .set_next_page_token(token.take())
                .send()
                .await
                .map_err(|e| FeedError {
                    calls: page as u64,
                    ..describe("GetCostAndUsage", &e).into()
                })?;
            results.extend(out.results_by_time().iter().cloned());
            token = next_page(out.next_page_token(), page, "GetCostAndUsage", pages)?;
            if token.is_none() {
                break;
            }
        }
        let amount = |m: Option<
            &std::collections::HashMap<String, aws_sdk_costexplorer::types::MetricValue>,
        >| {
            m.and_then(|m| m.get("UnblendedCost"))
                .and_then(|v| v.amount())
                .and_then(|a| a.parse::<f64>().ok())
                .filter(|a| a.is_finite())
                .unwrap_or(0.0)
        };
        // Pages of one day by service: merge the days.
        let mut days: Vec<DailyCost> = Vec::new();
        for d in results.iter().filter_map(|r| {
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
        }) {
            match days.iter_mut().find(|x| x.day == d.day) {
                Some(x) => {
                    x.total += d.total;
                    x.compute += d.compute;
                    x.estimated |= d.estimated;
                }
                None => days.push(d),
            }
        }
        days.sort_by_key(|d| d.day);
        Ok((days, pages))
    }

    /// The open anomalies, and the requests made (`before` made already, for a failure's count).
    async fn anomalies(
        &self,
        today: NaiveDate,
        before: u64,
    ) -> Result<(Vec<CostAnomaly>, u64), FeedError> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        for page in 1..=MAX_PAGES {
            pages = page as u64;
            let out = self
                .client
                .get_anomalies()
                .date_interval(
                    AnomalyDateInterval::builder()
                        .start_date((today - TimeDelta::days(DAYS)).to_string())
                        .build()
                        .expect("start is set"),
                )
                .set_next_page_token(token.take())
                .send()
                .await
                .map_err(|e| FeedError {
                    calls: before + page as u64,
                    ..describe("GetAnomalies", &e).into()
                })?;
            found.extend(out.anomalies().iter().cloned());
            token = next_page(out.next_page_token(), page, "GetAnomalies", before + pages)?;
            if token.is_none() {
                break;
            }
        }
        let recent = (today - TimeDelta::days(1)).to_string();
        let account = &self.clients.scope.account_id;
        Ok((
            found
                .iter()
                // A payer's monitors see its members' anomalies too: this account's only (or those
                // that name no account).
                .filter(|a| {
                    let named: Vec<&str> = a
                        .root_causes()
                        .iter()
                        .filter_map(|c| c.linked_account())
                        .collect();
                    named.is_empty() || named.contains(&account.as_str())
                })
                .filter(|a| {
                    a.anomaly_end_date()
                        .is_none_or(|end| end.get(..10).unwrap_or(end) >= recent.as_str())
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
                .collect::<Vec<_>>(),
            pages,
        ))
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
            let (daily, asked) = self.daily(today).await?;
            let (anomalies, more) = self.anomalies(today, asked).await?;
            Ok(Polled {
                at: Utc::now(),
                data: vec![Data::Costs {
                    scope: self.clients.scope.clone(),
                    costs: AccountCosts { daily, anomalies },
                }],
                calls: asked + more,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_end_with_the_last_token_and_too_many_is_an_error() {
        assert_eq!(next_page(None, 1, "Op", 1).unwrap(), None);
        assert_eq!(
            next_page(Some(""), 1, "Op", 1).unwrap(),
            None,
            "empty: the last"
        );
        assert_eq!(
            next_page(Some("t"), 1, "Op", 1).unwrap().as_deref(),
            Some("t")
        );
        let e = next_page(Some("t"), MAX_PAGES, "GetAnomalies", 11).unwrap_err();
        assert_eq!(e.calls, 11);
        assert!(
            e.message.starts_with("GetAnomalies: more than 10 pages"),
            "{e}"
        );
    }
}
