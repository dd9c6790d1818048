//! ECS inventory of one account x region: ListClusters, ListServices and ListTasks (paged),
//! DescribeServices (10 a call) and DescribeTasks (100 a call), Fargate and EC2 launch types.
//! Not yet a registered feed: the fleet view gains task rows in the ECS issue's next step.

use std::collections::BTreeSet;

use aws_sdk_ecs::Client;

use crate::aws::convert::to_chrono;
use crate::aws::error::{AwsError, describe};
use crate::model::task::{Task, family_revision, service_of};

/// Largest page the ECS list calls return.
pub const PAGE: i32 = 100;
/// Most services DescribeServices takes in one call.
pub const SERVICES_PER_CALL: usize = 10;
/// Most tasks DescribeTasks takes in one call.
pub const TASKS_PER_CALL: usize = 100;

/// Every running task of an account x region, with its cluster's services.
#[derive(Debug, Clone, Default)]
pub struct EcsInventory {
    /// Every task, cluster by cluster.
    pub tasks: Vec<Task>,
    /// Services per cluster: (cluster name, service name, desired count).
    pub services: Vec<(String, String, i32)>,
    /// API calls made.
    pub calls: u64,
}

/// Fetches the whole ECS inventory.
pub async fn poll(client: &Client) -> Result<EcsInventory, AwsError> {
    poll_paged(client, PAGE).await
}

/// [`poll`] with a chosen page size (tests page small inventories with it).
pub async fn poll_paged(client: &Client, page: i32) -> Result<EcsInventory, AwsError> {
    let mut inv = EcsInventory::default();
    let mut clusters = Vec::new();
    let mut pages = client
        .list_clusters()
        .max_results(page)
        .into_paginator()
        .send();
    while let Some(out) = pages.next().await {
        inv.calls += 1;
        let out = out.map_err(|e| describe("ListClusters", &e))?;
        clusters.extend(out.cluster_arns().iter().cloned());
    }
    for cluster in &clusters {
        let mut services = Vec::new();
        let mut pages = client
            .list_services()
            .cluster(cluster)
            .max_results(page)
            .into_paginator()
            .send();
        while let Some(out) = pages.next().await {
            inv.calls += 1;
            let out = out.map_err(|e| describe("ListServices", &e))?;
            services.extend(out.service_arns().iter().cloned());
        }
        for chunk in services.chunks(SERVICES_PER_CALL) {
            inv.calls += 1;
            let out = client
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| describe("DescribeServices", &e))?;
            for s in out.services() {
                inv.services.push((
                    name_of(s.cluster_arn().unwrap_or(cluster)),
                    s.service_name().unwrap_or_default().to_string(),
                    s.desired_count(),
                ));
            }
        }
        let mut arns = Vec::new();
        let mut pages = client
            .list_tasks()
            .cluster(cluster)
            .max_results(page)
            .into_paginator()
            .send();
        while let Some(out) = pages.next().await {
            inv.calls += 1;
            let out = out.map_err(|e| describe("ListTasks", &e))?;
            arns.extend(out.task_arns().iter().cloned());
        }
        // A task listed on two pages (the list moved under us) is described once.
        let arns: Vec<String> = arns
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for chunk in arns.chunks(TASKS_PER_CALL) {
            inv.calls += 1;
            let out = client
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| describe("DescribeTasks", &e))?;
            inv.tasks
                .extend(out.tasks().iter().map(|t| convert_task(t, cluster)));
        }
    }
    Ok(inv)
}

/// The last path segment of an ARN (a cluster's name).
fn name_of(arn: &str) -> String {
    arn.rsplit_once('/').map_or(arn, |(_, n)| n).to_string()
}

/// Converts a described task.
pub fn convert_task(t: &aws_sdk_ecs::types::Task, cluster_arn: &str) -> Task {
    let detail = |name: &str| {
        t.attachments()
            .iter()
            .filter(|a| a.r#type() == Some("ElasticNetworkInterface"))
            .flat_map(|a| a.details())
            .find(|d| d.name() == Some(name))
            .and_then(|d| d.value())
            .map(str::to_string)
    };
    Task {
        task_arn: t.task_arn().unwrap_or_default().to_string(),
        cluster: name_of(t.cluster_arn().unwrap_or(cluster_arn)),
        service: t.group().and_then(service_of),
        task_definition: family_revision(t.task_definition_arn().unwrap_or_default()),
        images: t
            .containers()
            .iter()
            .filter_map(|c| c.image().map(str::to_string))
            .collect(),
        launch_type: t
            .launch_type()
            .map(|l| l.as_str().to_string())
            .unwrap_or_default(),
        last_status: t.last_status().unwrap_or_default().to_string(),
        started_at: t.started_at().and_then(to_chrono),
        started_by: t.started_by().unwrap_or_default().to_string(),
        container_instance: t.container_instance_arn().map(str::to_string),
        eni_id: detail("networkInterfaceId"),
        private_ip: detail("privateIPv4Address"),
    }
}
