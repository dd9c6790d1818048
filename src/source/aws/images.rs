//! Images feed: DescribeImages for every AMI the inventory uses, each described once (100 ids a
//! call, by `image-id` filter so one deregistered image does not fail the batch), and cached.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_ec2::types::Filter;
use chrono::Utc;
use futures::future::BoxFuture;

use super::ec2::Shared;
use crate::aws::Clients;
use crate::aws::error::describe;
use crate::feed::{Data, Feed, FeedError, Polled};
use crate::model::image::Image;
use crate::model::{Instance, Scope};

/// The feed's name in every layer.
pub const NAME: &str = "images";
/// Image ids per DescribeImages call.
pub const BATCH: usize = 100;

/// The images feed of one account x region.
pub struct ImagesFeed {
    clients: Clients,
    interval: Duration,
    inventory: Shared,
    /// What DescribeImages said of each AMI asked about (None: it does not know it).
    known: HashMap<String, Option<Image>>,
    /// The last poll found no inventory to work from.
    waiting: bool,
}

impl ImagesFeed {
    /// The feed, reading the AMIs in use from the EC2 feed's `inventory` every `interval`.
    pub fn new(clients: Clients, interval: Duration, inventory: Shared) -> Self {
        ImagesFeed {
            clients,
            interval,
            inventory,
            known: HashMap::new(),
            waiting: false,
        }
    }

    /// The AMIs of the latest inventory not described yet, sorted.
    async fn unknown(&mut self) -> Result<Vec<String>, FeedError> {
        let instances = super::ec2::latest(&mut self.inventory).await;
        self.waiting = instances.is_err();
        let instances = instances?;
        Ok(images_in(&instances)
            .into_iter()
            .filter(|id| !self.known.contains_key(id))
            .collect())
    }
}

/// The distinct AMI ids instances were launched from.
pub fn images_in(instances: &[Instance]) -> BTreeSet<String> {
    instances
        .iter()
        .filter_map(|i| i.image_id.clone())
        .collect()
}

impl Feed for ImagesFeed {
    fn name(&self) -> &'static str {
        NAME
    }
    fn ready(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(super::ec2::first(&mut self.inventory))
    }
    fn home(&self) -> &Scope {
        &self.clients.scope
    }
    fn interval(&self) -> Duration {
        self.interval
    }
    /// Rows stand without AMI verdicts: a denied DescribeImages degrades the scope.
    fn essential(&self) -> bool {
        false
    }
    fn poll(&mut self) -> BoxFuture<'_, Result<Polled, FeedError>> {
        Box::pin(async move {
            let wanted = self.unknown().await?;
            let mut calls = 0;
            let mut found: Vec<(String, Option<Image>)> = Vec::new();
            for chunk in wanted.chunks(BATCH) {
                calls += 1;
                self.clients.ec2_bucket.take().await;
                let out = self
                    .clients
                    .ec2
                    .describe_images()
                    .filters(
                        Filter::builder()
                            .name("image-id")
                            .set_values(Some(chunk.to_vec()))
                            .build(),
                    )
                    .include_deprecated(true)
                    .send()
                    .await
                    .map_err(|e| FeedError {
                        calls,
                        ..describe("DescribeImages", &e).into()
                    })?;
                let mut said: HashMap<String, Image> = out
                    .images()
                    .iter()
                    .filter_map(|i| {
                        Some(Image {
                            image_id: i.image_id()?.to_string(),
                            owner_id: i.owner_id().unwrap_or_default().to_string(),
                            owner_alias: i.image_owner_alias().map(str::to_string),
                            name: i.name().unwrap_or_default().to_string(),
                        })
                    })
                    .map(|i| (i.image_id.clone(), i))
                    .collect();
                // Not returned: deregistered, or no longer shared with the account.
                found.extend(chunk.iter().map(|id| (id.clone(), said.remove(id))));
            }
            for (id, img) in &found {
                self.known.insert(id.clone(), img.clone());
            }
            Ok(Polled {
                at: Utc::now(),
                data: vec![Data::Images {
                    scope: self.clients.scope.clone(),
                    images: found,
                }],
                calls,
                metrics: 0,
                metrics_per_day: None,
            })
        })
    }
    fn retry_after(&self, err: &FeedError, failures: u32) -> Duration {
        super::ec2::dependant_retry(self.waiting, err, failures, self.interval)
    }
}
