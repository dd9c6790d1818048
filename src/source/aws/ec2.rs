//! EC2 feed: DescribeInstances, DescribeSecurityGroups and DescribeNetworkInterfaces, paged by
//! 1,000. The interfaces no instance holds come along too: ECS tasks' exposure is read from them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ec2::Client;
use chrono::Utc;
use futures::future::BoxFuture;
use tokio::sync::watch;

use crate::aws::Clients;
use crate::aws::convert::{convert_eni, convert_group, convert_instance};
use crate::aws::error::{AwsError, describe};
use crate::aws::limit::TokenBucket;
use crate::feed::{Data, Feed, FeedError, Polled};
use crate::model::{Instance, NetworkInterface, Scope, SecurityGroup};

/// Largest page EC2 describe calls accept.
pub const PAGE: i32 = 1000;

/// One complete EC2 inventory of an account x region.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Every instance (all states EC2 still reports).
    pub instances: Vec<Instance>,
    /// Every security group of the region.
    pub groups: Vec<SecurityGroup>,
    /// Interfaces no instance holds (ECS tasks' awsvpc interfaces among them).
    pub loose_interfaces: Vec<NetworkInterface>,
    /// API calls made (pages fetched).
    pub calls: u64,
    /// Reservations seen (for the requests-vs-minimum bench).
    pub reservations: usize,
    /// ENIs seen.
    pub enis: usize,
}

/// The feed's name in every layer.
pub const NAME: &str = "ec2";

/// What the inventory tells the feeds that need it: nothing yet, the latest instances, or why
/// there has never been an inventory.
pub type Shared = watch::Receiver<Option<Result<Arc<Vec<Instance>>, String>>>;

/// How soon a dependant feed with no inventory to work from looks again (it makes no call
/// meanwhile).
pub const NO_INVENTORY_RETRY: Duration = Duration::from_secs(5);

/// The retry wait of a feed that depends on the inventory: short while it has none to work
/// from (it made no call), else the usual backoff.
pub fn dependant_retry(
    waiting: bool,
    err: &FeedError,
    failures: u32,
    interval: Duration,
) -> Duration {
    if waiting {
        NO_INVENTORY_RETRY
    } else {
        crate::feed::backoff(err, failures, interval)
    }
}

/// Waits until the EC2 feed has reported once (or is gone).
pub async fn first(shared: &mut Shared) {
    let _ = shared.wait_for(Option::is_some).await;
}

/// The latest inventory for a dependant feed: waits for the first one; fails, making no call,
/// when there has never been one (the dependant retries).
pub async fn latest(shared: &mut Shared) -> Result<Arc<Vec<Instance>>, FeedError> {
    loop {
        if let Some(r) = shared.borrow_and_update().clone() {
            return r
                .map_err(|e| FeedError::local(format!("not polled: EC2 inventory failed ({e})")));
        }
        if shared.changed().await.is_err() {
            return Err(FeedError::local("not polled: the EC2 feed stopped"));
        }
    }
}

/// The EC2 feed of one account x region: the full inventory each poll, shared with the feeds
/// that work from it (CPU).
pub struct Ec2Feed {
    clients: Clients,
    interval: Duration,
    shared: watch::Sender<Option<Result<Arc<Vec<Instance>>, String>>>,
    had_inventory: bool,
    /// The last inventory had no instance and no interface: polled at [`EMPTY_FACTOR`] times
    /// the interval until something appears.
    empty: bool,
}

/// An empty region is polled this many times less often (at most every [`EMPTY_MAX`]).
pub const EMPTY_FACTOR: u32 = 5;
/// The slowest cadence of an empty region.
pub const EMPTY_MAX: Duration = Duration::from_secs(900);

/// A feed's interval while its region is empty: `EMPTY_FACTOR` times slower, at most
/// `EMPTY_MAX`, never faster than the interval itself.
pub fn empty_interval(interval: Duration) -> Duration {
    (interval * EMPTY_FACTOR).min(EMPTY_MAX).max(interval)
}

impl Ec2Feed {
    /// The feed, and the receiver its dependants read the inventory from.
    pub fn new(clients: Clients, interval: Duration) -> (Self, Shared) {
        let (shared, rx) = watch::channel(None);
        let feed = Ec2Feed {
            clients,
            interval,
            shared,
            had_inventory: false,
            empty: false,
        };
        (feed, rx)
    }
}

impl Feed for Ec2Feed {
    fn name(&self) -> &'static str {
        NAME
    }
    fn home(&self) -> &Scope {
        &self.clients.scope
    }
    fn interval(&self) -> Duration {
        if self.empty {
            empty_interval(self.interval)
        } else {
            self.interval
        }
    }
    fn poll(&mut self) -> BoxFuture<'_, Result<Polled, FeedError>> {
        Box::pin(async move {
            match poll_paced(&self.clients.ec2, PAGE, Some(&self.clients.ec2_bucket)).await {
                Ok(inv) => {
                    self.had_inventory = true;
                    self.empty = inv.instances.is_empty() && inv.loose_interfaces.is_empty();
                    self.shared
                        .send_replace(Some(Ok(Arc::new(inv.instances.clone()))));
                    Ok(Polled {
                        at: Utc::now(),
                        data: vec![Data::Inventory {
                            scope: self.clients.scope.clone(),
                            instances: inv.instances,
                            groups: inv.groups,
                            loose_interfaces: inv.loose_interfaces,
                        }],
                        calls: inv.calls,
                        metrics: 0,
                        metrics_per_day: None,
                    })
                }
                Err(e) => {
                    // Dependants keep working from the last good inventory; without one they
                    // say why they have nothing to poll.
                    if !self.had_inventory {
                        self.shared.send_replace(Some(Err(e.message.clone())));
                    }
                    Err(e.into())
                }
            }
        })
    }
}

/// Fetches the whole inventory: instances, security groups, network interfaces.
pub async fn poll(client: &Client) -> Result<Inventory, AwsError> {
    poll_paged(client, PAGE).await
}

/// [`poll`] with a chosen page size (tests page small inventories with it).
pub async fn poll_paged(client: &Client, page_size: i32) -> Result<Inventory, AwsError> {
    poll_paced(client, page_size, None).await
}

/// [`poll_paged`], each page waiting for a token of `bucket` when given.
pub async fn poll_paced(
    client: &Client,
    page_size: i32,
    bucket: Option<&TokenBucket>,
) -> Result<Inventory, AwsError> {
    let pace = || async {
        if let Some(b) = bucket {
            b.take().await;
        }
    };
    let mut inv = Inventory::default();

    let mut raw_instances = Vec::new();
    let mut pages = client
        .describe_instances()
        .max_results(page_size)
        .into_paginator()
        .send();
    while let Some(page) = {
        pace().await;
        pages.next().await
    } {
        inv.calls += 1;
        let page = page.map_err(|e| describe("DescribeInstances", &e))?;
        for r in page.reservations() {
            inv.reservations += 1;
            raw_instances.extend(r.instances().iter().cloned());
        }
    }

    let mut pages = client
        .describe_security_groups()
        .max_results(page_size)
        .into_paginator()
        .send();
    while let Some(page) = {
        pace().await;
        pages.next().await
    } {
        inv.calls += 1;
        let page = page.map_err(|e| describe("DescribeSecurityGroups", &e))?;
        inv.groups
            .extend(page.security_groups().iter().map(convert_group));
    }

    let mut enis: HashMap<String, Vec<NetworkInterface>> = HashMap::new();
    let mut pages = client
        .describe_network_interfaces()
        .max_results(page_size)
        .into_paginator()
        .send();
    while let Some(page) = {
        pace().await;
        pages.next().await
    } {
        inv.calls += 1;
        let page = page.map_err(|e| describe("DescribeNetworkInterfaces", &e))?;
        for n in page.network_interfaces() {
            inv.enis += 1;
            match convert_eni(n) {
                (Some(instance), eni) => enis.entry(instance).or_default().push(eni),
                (None, eni) => inv.loose_interfaces.push(eni),
            }
        }
    }

    inv.instances = raw_instances
        .iter()
        .filter_map(|i| {
            let id = i.instance_id()?;
            let from_enis = enis.remove(id);
            Some(convert_instance(i, from_enis))
        })
        .collect();
    inv.instances
        .sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    Ok(inv)
}
