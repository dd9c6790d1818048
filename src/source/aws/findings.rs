//! Findings feed: ListDetectors, ListFindings (not archived, updated since the last poll),
//! GetFindings 50 ids a call; findings mapped to instances by resource.instanceDetails.instanceId,
//! and Runtime Monitoring findings on ECS to tasks by resource.ecsClusterDetails.taskDetails.arn
//! (or to the cluster when they name no task).

use std::time::Duration;

use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::types::{Condition, FindingCriteria};
use chrono::{DateTime, TimeDelta, Utc};
use futures::future::BoxFuture;

use crate::aws::Clients;
use crate::aws::error::{AwsError, describe};
use crate::feed::{Data, Feed, FeedError, Polled};
use crate::model::{Finding, Scope};

/// The feed's name in every layer.
pub const NAME: &str = "findings";

/// The GuardDuty findings feed of one account x region.
pub struct FindingsFeed {
    clients: Clients,
    interval: Duration,
    poller: FindingsPoller,
}

impl FindingsFeed {
    /// The feed, polling every `interval`.
    pub fn new(clients: Clients, interval: Duration) -> Self {
        FindingsFeed {
            clients,
            interval,
            poller: FindingsPoller::default(),
        }
    }
}

impl Feed for FindingsFeed {
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
            let r = self
                .poller
                .poll(&self.clients.guardduty, Utc::now())
                .await?;
            Ok(Polled {
                at: Utc::now(),
                data: vec![Data::Findings {
                    scope: self.clients.scope.clone(),
                    findings: r.findings,
                    complete: r.complete,
                }],
                calls: r.calls,
                metrics: 0,
                metrics_per_day: None,
            })
        })
    }
}

/// Most ids GetFindings takes, and ListFindings' largest page.
pub const BATCH: usize = 50;
/// Every this many polls the complete set is fetched again (drops findings archived meanwhile).
pub const FULL_EVERY: u32 = 10;
/// Overlap of incremental queries, against clock skew.
const OVERLAP: TimeDelta = TimeDelta::seconds(120);

/// Incremental findings poller for one account x region.
#[derive(Debug, Default)]
pub struct FindingsPoller {
    detector: Option<String>,
    since: Option<DateTime<Utc>>,
    polls: u32,
}

/// Result of one findings poll.
#[derive(Debug, Default)]
pub struct FindingsPoll {
    /// Findings fetched.
    pub findings: Vec<Finding>,
    /// True when this is the complete set of live findings.
    pub complete: bool,
    /// API calls made.
    pub calls: u64,
    /// False when GuardDuty has no detector in this region.
    pub enabled: bool,
    /// The account of each finding, by finding id (a delegated administrator sees its members').
    pub owners: std::collections::HashMap<String, String>,
}

impl FindingsPoller {
    /// Makes the next poll fetch the complete set (a member that joined has never had its
    /// findings).
    pub fn refetch_all(&mut self) {
        self.since = None;
    }

    /// The region's detector, once found.
    pub fn detector(&self) -> Option<&str> {
        self.detector.as_deref()
    }

    /// Polls: the complete set on the first and every [`FULL_EVERY`]th poll, else changes since.
    /// After an error the detector id is looked up again (it may have been recreated).
    pub async fn poll(
        &mut self,
        client: &Client,
        now: DateTime<Utc>,
    ) -> Result<FindingsPoll, AwsError> {
        let r = self.poll_inner(client, now).await;
        if r.is_err() {
            self.detector = None;
        }
        r
    }

    async fn poll_inner(
        &mut self,
        client: &Client,
        now: DateTime<Utc>,
    ) -> Result<FindingsPoll, AwsError> {
        let mut out = FindingsPoll::default();
        if self.detector.is_none() {
            out.calls += 1;
            let d = client
                .list_detectors()
                .send()
                .await
                .map_err(|e| describe("ListDetectors", &e))?;
            self.detector = d.detector_ids().first().cloned();
        }
        let Some(detector) = self.detector.clone() else {
            out.complete = true;
            out.enabled = false;
            return Ok(out);
        };
        out.enabled = true;
        let complete = self.since.is_none() || self.polls.is_multiple_of(FULL_EVERY);
        let mut criteria = FindingCriteria::builder().criterion(
            "service.archived",
            Condition::builder().equals("false").build(),
        );
        if let (false, Some(since)) = (complete, self.since) {
            criteria = criteria.criterion(
                "updatedAt",
                Condition::builder()
                    .greater_than_or_equal((since - OVERLAP).timestamp_millis())
                    .build(),
            );
        }
        let mut ids = Vec::new();
        let mut pages = client
            .list_findings()
            .detector_id(&detector)
            .finding_criteria(criteria.build())
            .max_results(BATCH as i32)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            out.calls += 1;
            let page = page.map_err(|e| describe("ListFindings", &e))?;
            ids.extend(page.finding_ids().iter().cloned());
        }
        for chunk in ids.chunks(BATCH) {
            out.calls += 1;
            let got = client
                .get_findings()
                .detector_id(&detector)
                .set_finding_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| describe("GetFindings", &e))?;
            for f in got.findings() {
                if let (Some(id), Some(account)) = (f.id(), f.account_id()) {
                    out.owners.insert(id.to_string(), account.to_string());
                }
            }
            out.findings
                .extend(got.findings().iter().filter_map(convert));
        }
        out.complete = complete;
        self.since = Some(now);
        self.polls += 1;
        Ok(out)
    }
}

/// Converts a GuardDuty finding; None when it lacks an id or type.
pub fn convert(f: &aws_sdk_guardduty::types::Finding) -> Option<Finding> {
    let updated = f
        .updated_at()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or(DateTime::<Utc>::UNIX_EPOCH, |d| d.with_timezone(&Utc));
    Some(Finding {
        id: f.id()?.to_string(),
        kind: f.r#type()?.to_string(),
        severity: f.severity().unwrap_or(0.0),
        title: f.title().unwrap_or_default().to_string(),
        instance_id: f
            .resource()
            .and_then(|r| r.instance_details())
            .and_then(|d| d.instance_id())
            .map(str::to_string),
        task_arn: f
            .resource()
            .and_then(|r| r.ecs_cluster_details())
            .and_then(|c| c.task_details())
            .and_then(|t| t.arn())
            .map(str::to_string),
        cluster_arn: f
            .resource()
            .and_then(|r| r.ecs_cluster_details())
            .and_then(|c| c.arn())
            .map(str::to_string),
        updated_at: updated,
        count: f
            .service()
            .and_then(|s| s.count())
            .map_or(1, |c| c.max(0) as u64),
        archived: f.service().and_then(|s| s.archived()).unwrap_or(false),
        dns_domain: f
            .service()
            .and_then(|s| s.action())
            .and_then(|a| a.dns_request_action())
            .and_then(|d| d.domain())
            .map(|d| d.chars().take(253).collect()),
    })
}
