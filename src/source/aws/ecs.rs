//! ECS feed: the ECS inventory of one account x region. ListClusters, ListServices and ListTasks
//! (paged, 100 a page), DescribeClusters (Container Insights, 100 a call), DescribeServices (10
//! a call), DescribeTasks (100 a call), DescribeContainerInstances (the EC2 instance behind an
//! EC2-launched task, 100 a call) and DescribeTaskDefinition (once per revision: revisions never
//! change). Fargate and EC2 launch types.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::ClusterField;
use chrono::Utc;
use futures::future::BoxFuture;
use tokio::sync::watch;

use crate::aws::Clients;
use crate::aws::convert::to_chrono;
use crate::aws::error::{AwsError, describe};
use crate::feed::{Data, Feed, FeedError, Polled};
use crate::model::Scope;
use crate::model::task::{
    Cluster, Container, Service, Task, TaskDefinition, family_revision, name_of, service_of,
};

/// The feed's name in every layer.
pub const NAME: &str = "ecs";
/// Largest page the ECS list calls return.
pub const PAGE: i32 = 100;
/// Most clusters DescribeClusters takes in one call.
pub const CLUSTERS_PER_CALL: usize = 100;
/// Most services DescribeServices takes in one call.
pub const SERVICES_PER_CALL: usize = 10;
/// Most tasks DescribeTasks takes in one call.
pub const TASKS_PER_CALL: usize = 100;
/// Most container instances DescribeContainerInstances takes in one call.
pub const CONTAINER_INSTANCES_PER_CALL: usize = 100;

/// Every running task of an account x region, with its clusters and services.
#[derive(Debug, Clone, Default)]
pub struct EcsInventory {
    /// Every task, cluster by cluster.
    pub tasks: Vec<Task>,
    /// Every service.
    pub services: Vec<Service>,
    /// Every cluster.
    pub clusters: Vec<Cluster>,
    /// API calls made.
    pub calls: u64,
}

/// The latest ECS inventory, for the feeds that work from it (CPU): None until the first poll
/// ended; an empty inventory when that poll failed.
pub type Shared = watch::Receiver<Option<Arc<EcsInventory>>>;

/// Waits until the ECS feed has ended its first poll (or is gone).
pub async fn first(shared: &mut Shared) {
    let _ = shared.wait_for(Option::is_some).await;
}

/// The latest ECS inventory: waits for the first poll to end (an empty inventory when it
/// failed, or when the ECS feed is gone).
pub async fn latest(shared: &mut Shared) -> Arc<EcsInventory> {
    loop {
        if let Some(inv) = shared.borrow_and_update().clone() {
            return inv;
        }
        if shared.changed().await.is_err() {
            return Arc::default();
        }
    }
}

/// The ECS feed of one account x region. It keeps what DescribeTaskDefinition said of each
/// revision (revisions are immutable), so each is described once.
pub struct EcsFeed {
    clients: Clients,
    interval: Duration,
    definitions: HashMap<String, TaskDefinition>,
    shared: watch::Sender<Option<Arc<EcsInventory>>>,
    /// The last poll found no cluster: polled slower until one appears.
    empty: bool,
}

impl EcsFeed {
    /// The feed, polling every `interval`, and the receiver its dependants read from.
    pub fn new(clients: Clients, interval: Duration) -> (Self, Shared) {
        let (shared, rx) = watch::channel(None);
        let feed = EcsFeed {
            clients,
            interval,
            definitions: HashMap::new(),
            shared,
            empty: false,
        };
        (feed, rx)
    }
}

impl Feed for EcsFeed {
    fn name(&self) -> &'static str {
        NAME
    }
    fn home(&self) -> &Scope {
        &self.clients.scope
    }
    fn interval(&self) -> Duration {
        if self.empty {
            super::ec2::empty_interval(self.interval)
        } else {
            self.interval
        }
    }
    /// Instance rows do without ECS (an account with no ECS permission is only degraded).
    fn essential(&self) -> bool {
        false
    }
    fn poll(&mut self) -> BoxFuture<'_, Result<Polled, FeedError>> {
        Box::pin(async move {
            let inv = match poll_paged(&self.clients.ecs, PAGE, &mut self.definitions).await {
                Ok(inv) => inv,
                Err((e, calls)) => {
                    // Dependants go on without ECS rather than wait for it.
                    self.shared.send_if_modified(|s| {
                        let first = s.is_none();
                        if first {
                            *s = Some(Arc::default());
                        }
                        first
                    });
                    return Err(FeedError {
                        calls,
                        ..FeedError::from(e)
                    });
                }
            };
            self.empty = inv.clusters.is_empty();
            self.shared.send_replace(Some(Arc::new(inv.clone())));
            Ok(Polled {
                at: Utc::now(),
                data: vec![Data::Tasks {
                    scope: self.clients.scope.clone(),
                    tasks: inv.tasks,
                    services: inv.services,
                    clusters: inv.clusters,
                }],
                calls: inv.calls,
                metrics: 0,
                metrics_per_day: None,
            })
        })
    }
}

/// Fetches the whole ECS inventory, describing task definitions not in `definitions` (and
/// adding them). A task definition that cannot be described is left out (asked again next
/// time), not a failure. On failure: the error and the calls made.
pub async fn poll_paged(
    client: &Client,
    page: i32,
    definitions: &mut HashMap<String, TaskDefinition>,
) -> Result<EcsInventory, (AwsError, u64)> {
    let mut inv = EcsInventory::default();
    match poll_into(client, page, definitions, &mut inv).await {
        Ok(()) => Ok(inv),
        Err(e) => Err((e, inv.calls.max(1))),
    }
}

async fn poll_into(
    client: &Client,
    page: i32,
    definitions: &mut HashMap<String, TaskDefinition>,
    inv: &mut EcsInventory,
) -> Result<(), AwsError> {
    let mut cluster_arns = Vec::new();
    let mut pages = client
        .list_clusters()
        .max_results(page)
        .into_paginator()
        .send();
    while let Some(out) = pages.next().await {
        inv.calls += 1;
        let out = out.map_err(|e| describe("ListClusters", &e))?;
        cluster_arns.extend(out.cluster_arns().iter().cloned());
    }
    for chunk in cluster_arns.chunks(CLUSTERS_PER_CALL) {
        inv.calls += 1;
        let out = client
            .describe_clusters()
            .set_clusters(Some(chunk.to_vec()))
            .include(ClusterField::Settings)
            .send()
            .await
            .map_err(|e| describe("DescribeClusters", &e))?;
        inv.clusters.extend(out.clusters().iter().map(|c| {
            let arn = c.cluster_arn().unwrap_or_default().to_string();
            let insights = c
                .settings()
                .iter()
                .find(|s| s.name().map(|n| n.as_str()) == Some("containerInsights"))
                .and_then(|s| s.value());
            Cluster {
                name: c
                    .cluster_name()
                    .map_or_else(|| name_of(&arn).to_string(), str::to_string),
                insights: matches!(insights, Some("enabled" | "enhanced")),
                enhanced: insights == Some("enhanced"),
                arn,
            }
        }));
    }
    for cluster in &cluster_arns {
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
        let mut tasks = Vec::new();
        for chunk in arns.chunks(TASKS_PER_CALL) {
            inv.calls += 1;
            let out = client
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| describe("DescribeTasks", &e))?;
            tasks.extend(out.tasks().iter().map(|t| convert_task(t, cluster)));
        }
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
        // Described after the tasks were, so a deployment that started tasks meanwhile is in
        // the answer. Each service's deployments and task sets (blue/green and external
        // controllers): (id, task definition `family:revision`).
        let mut deployments: HashMap<String, Vec<(String, String)>> = HashMap::new();
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
                let name = s.service_name().unwrap_or_default().to_string();
                let from_deployments = s.deployments().iter().filter_map(|d| {
                    Some((d.id()?.to_string(), family_revision(d.task_definition()?)))
                });
                let from_task_sets = s.task_sets().iter().filter_map(|t| {
                    Some((t.id()?.to_string(), family_revision(t.task_definition()?)))
                });
                deployments.insert(
                    name.clone(),
                    from_deployments.chain(from_task_sets).collect(),
                );
                inv.services.push(Service {
                    cluster: name_of(s.cluster_arn().unwrap_or(cluster)).to_string(),
                    name,
                    desired: s.desired_count(),
                    running: s.running_count(),
                });
            }
        }
        // The EC2 instances behind the container instances of EC2-launched tasks.
        let cis: Vec<String> = tasks
            .iter()
            .filter_map(|t| t.container_instance.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut hosts: HashMap<String, String> = HashMap::new();
        for chunk in cis.chunks(CONTAINER_INSTANCES_PER_CALL) {
            inv.calls += 1;
            let out = client
                .describe_container_instances()
                .cluster(cluster)
                .set_container_instances(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| describe("DescribeContainerInstances", &e))?;
            for ci in out.container_instances() {
                if let (Some(arn), Some(ec2)) = (ci.container_instance_arn(), ci.ec2_instance_id())
                {
                    hosts.insert(arn.to_string(), ec2.to_string());
                }
            }
        }
        for t in &mut tasks {
            t.host_instance = t
                .container_instance
                .as_ref()
                .and_then(|ci| hosts.get(ci).cloned());
            verify_service(t, &deployments);
        }
        inv.tasks.extend(tasks);
    }
    // Each revision in use described once, ever.
    let wanted: BTreeSet<String> = inv
        .tasks
        .iter()
        .map(|t| t.task_definition.clone())
        .filter(|d| !definitions.contains_key(d))
        .collect();
    for family_rev in wanted {
        inv.calls += 1;
        if let Ok(out) = client
            .describe_task_definition()
            .task_definition(&family_rev)
            .send()
            .await
            && let Some(d) = out.task_definition()
        {
            definitions.insert(
                family_rev,
                TaskDefinition {
                    registered_at: d.registered_at().and_then(to_chrono),
                    network_mode: d
                        .network_mode()
                        .map_or_else(|| "bridge".to_string(), |m| m.as_str().to_string()),
                    task_role_arn: d.task_role_arn().map(str::to_string),
                },
            );
        }
    }
    for t in &mut inv.tasks {
        t.definition = definitions.get(&t.task_definition).cloned();
    }
    Ok(())
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
        cluster: name_of(t.cluster_arn().unwrap_or(cluster_arn)).to_string(),
        // Only a claim until `verify_service` checks it against the service's deployments.
        service: None,
        claimed_service: t.group().and_then(service_of),
        overridden: t.overrides().is_some_and(|o| {
            o.task_role_arn().is_some()
                || o.execution_role_arn().is_some()
                || o.container_overrides().iter().any(|c| {
                    !c.command().is_empty()
                        || !c.environment().is_empty()
                        || !c.environment_files().is_empty()
                })
        }),
        task_definition: family_revision(t.task_definition_arn().unwrap_or_default()),
        containers: t
            .containers()
            .iter()
            .map(|c| Container {
                name: c.name().unwrap_or_default().to_string(),
                image: c.image().unwrap_or_default().to_string(),
                digest: c.image_digest().map(str::to_string),
                host_ports: c
                    .network_bindings()
                    .iter()
                    .filter_map(|b| {
                        Some((
                            b.host_port()?,
                            b.protocol().map_or("tcp", |p| p.as_str()).to_string(),
                        ))
                    })
                    .collect(),
            })
            .collect(),
        launch_type: t
            .launch_type()
            .map(|l| l.as_str().to_string())
            .unwrap_or_default(),
        last_status: t.last_status().unwrap_or_default().to_string(),
        started_at: t.started_at().and_then(to_chrono),
        started_by: t.started_by().unwrap_or_default().to_string(),
        cpu: t.cpu().map(str::to_string),
        memory: t.memory().map(str::to_string),
        container_instance: t.container_instance_arn().map(str::to_string),
        host_instance: None,
        eni_id: detail("networkInterfaceId"),
        private_ip: detail("privateIPv4Address"),
        definition: None,
        interfaces: Vec::new(),
    }
}

/// Accepts a task's claim to belong to a service (its `group`, which RunTask takes from anyone)
/// only when one of that service's deployments or task sets started it (`startedBy` is its id)
/// with its task definition and no overrides; else the claim stays a claim. `startedBy` is
/// free text too: whoever copies a deployment id and runs the service's own task definition
/// unchanged passes, which makes this a strong hint, not proof.
pub fn verify_service(t: &mut Task, deployments: &HashMap<String, Vec<(String, String)>>) {
    let Some(claim) = t.claimed_service.take() else {
        return;
    };
    let started_by_it = deployments.get(&claim).is_some_and(|ds| {
        ds.iter()
            .any(|(id, def)| *id == t.started_by && *def == t.task_definition)
    });
    if started_by_it && !t.overridden {
        t.service = Some(claim);
    } else {
        t.claimed_service = Some(claim);
    }
}

/// The fewest calls a full ECS refresh can make: one ListClusters page per 100 clusters,
/// DescribeClusters per 100; per cluster one ListServices and one ListTasks page per 100,
/// DescribeServices per 10, DescribeTasks and DescribeContainerInstances per 100; and one
/// DescribeTaskDefinition per revision not yet described. `clusters` holds (services, tasks,
/// container instances) per cluster.
pub fn minimum_calls(clusters: &[(usize, usize, usize)], new_definitions: usize) -> u64 {
    let pages = |n: usize, per: usize| n.div_ceil(per).max(1) as u64;
    let per_cluster: u64 = clusters
        .iter()
        .map(|&(services, tasks, cis)| {
            pages(services, PAGE as usize)
                + services.div_ceil(SERVICES_PER_CALL) as u64
                + pages(tasks, PAGE as usize)
                + tasks.div_ceil(TASKS_PER_CALL) as u64
                + cis.div_ceil(CONTAINER_INSTANCES_PER_CALL) as u64
        })
        .sum();
    pages(clusters.len(), PAGE as usize)
        + clusters.len().div_ceil(CLUSTERS_PER_CALL) as u64
        + per_cluster
        + new_definitions as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_claim_holds_only_for_what_its_deployment_started() {
        let deployments: HashMap<String, Vec<(String, String)>> = [(
            "web".to_string(),
            vec![("ecs-svc/111".to_string(), "web:3".to_string())],
        )]
        .into_iter()
        .collect();
        let task = |started_by: &str, def: &str, overridden: bool| Task {
            claimed_service: Some("web".into()),
            overridden,
            started_by: started_by.into(),
            ..Task::running("arn:aws:ecs:us-east-1:1:task/c/abc", "c", def)
        };
        let verified = |mut t: Task| {
            verify_service(&mut t, &deployments);
            (t.service, t.claimed_service)
        };
        assert_eq!(
            verified(task("ecs-svc/111", "web:3", false)),
            (Some("web".into()), None)
        );
        // RunTask --group service:web, any other start, definition or override: a claim only.
        for t in [
            task("", "web:3", false),
            task("ecs-svc/111", "miner:1", false),
            task("ecs-svc/111", "web:3", true),
            task("ecs-svc/999", "web:3", false),
        ] {
            assert_eq!(verified(t), (None, Some("web".into())));
        }
    }

    #[test]
    fn minimum_calls_count_pages_and_batches() {
        // No cluster: one empty ListClusters page.
        assert_eq!(minimum_calls(&[], 0), 1);
        // One cluster, 12 services, 250 tasks on 3 container instances, 2 new revisions:
        // 1 + 1 + (1 + 2 + 3 + 3 + 1) + 2.
        assert_eq!(minimum_calls(&[(12, 250, 3)], 2), 14);
    }
}
