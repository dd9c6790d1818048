//! ECS tasks: what the ECS feed knows of each running task (Fargate or EC2 launch type), of
//! its containers, services and clusters.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::NetworkInterface;

/// One container of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Container {
    /// Container name.
    pub name: String,
    /// Image as the task definition names it (`repo:tag`, `registry/repo@sha256:...`).
    pub image: String,
    /// The digest the image resolved to, once the container started.
    pub digest: Option<String>,
    /// Host ports mapped to the container (bridge or host network mode): (host port, protocol).
    pub host_ports: Vec<(i32, String)>,
}

/// One ECS task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    /// Task ARN.
    pub task_arn: String,
    /// Cluster name.
    pub cluster: String,
    /// Service name, None for a standalone task (how an attacker's RunTask shows up). Only set
    /// when one of the service's deployments started the task: a task's `group` is whatever
    /// RunTask was given.
    pub service: Option<String>,
    /// The service the task's group names when none of that service's deployments started it
    /// (a forged claim: RunTask with `--group service:NAME`).
    pub claimed_service: Option<String>,
    /// Started with container command or environment overrides, or another task role (a
    /// service's tasks never are).
    pub overridden: bool,
    /// Task definition `family:revision`.
    pub task_definition: String,
    /// Its containers, in task order.
    pub containers: Vec<Container>,
    /// `FARGATE`, `EC2`, `EXTERNAL` (empty when not reported).
    pub launch_type: String,
    /// Last status (`RUNNING`, `PENDING`, `STOPPED`, ...).
    pub last_status: String,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// Who started it (`ecs-svc/...` for a service's task).
    pub started_by: String,
    /// Task CPU reservation in CPU units (1024 = one vCPU), as ECS reports it.
    pub cpu: Option<String>,
    /// Task memory reservation in MiB, as ECS reports it.
    pub memory: Option<String>,
    /// Container instance ARN of an EC2-launched task.
    pub container_instance: Option<String>,
    /// The EC2 instance behind that container instance (DescribeContainerInstances).
    pub host_instance: Option<String>,
    /// The awsvpc interface, when the task has one.
    pub eni_id: Option<String>,
    /// Its private IPv4 address.
    pub private_ip: Option<String>,
    /// What the task definition says (None until it was described).
    pub definition: Option<TaskDefinition>,
    /// The interfaces the task's traffic reaches it through: its awsvpc interface, or its
    /// container instance's interfaces in bridge or host mode. Filled by the fleet model from
    /// the EC2 inventory (the ENI's groups and public IP), empty until known.
    pub interfaces: Vec<NetworkInterface>,
}

/// What DescribeTaskDefinition says of a revision (revisions never change: described once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskDefinition {
    /// When the revision was registered.
    pub registered_at: Option<DateTime<Utc>>,
    /// `awsvpc`, `bridge`, `host`, `none`.
    pub network_mode: String,
    /// The role the task's containers get credentials for.
    pub task_role_arn: Option<String>,
}

/// One ECS service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    /// Cluster name.
    pub cluster: String,
    /// Service name.
    pub name: String,
    /// Desired task count.
    pub desired: i32,
    /// Running task count.
    pub running: i32,
}

/// One ECS cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cluster {
    /// Cluster name.
    pub name: String,
    /// Cluster ARN.
    pub arn: String,
    /// Container Insights is on (`enabled` or `enhanced`).
    pub insights: bool,
    /// Container Insights with enhanced observability: CloudWatch has task-level (TaskId)
    /// series; plain `enabled` stops at service and task-definition family.
    pub enhanced: bool,
}

impl Task {
    /// A running Fargate task with nothing else known (unit tests build on it).
    #[cfg(test)]
    pub(crate) fn running(task_arn: &str, cluster: &str, task_definition: &str) -> Task {
        Task {
            task_arn: task_arn.into(),
            cluster: cluster.into(),
            service: None,
            claimed_service: None,
            overridden: false,
            task_definition: task_definition.into(),
            containers: Vec::new(),
            launch_type: "FARGATE".into(),
            last_status: "RUNNING".into(),
            started_at: None,
            started_by: String::new(),
            cpu: None,
            memory: None,
            container_instance: None,
            host_instance: None,
            eni_id: None,
            private_ip: None,
            definition: None,
            interfaces: Vec::new(),
        }
    }

    /// The task id: the last segment of its ARN.
    pub fn task_id(&self) -> &str {
        name_of(&self.task_arn)
    }

    /// The task definition family (without the revision).
    pub fn family(&self) -> &str {
        self.task_definition
            .rsplit_once(':')
            .map_or(self.task_definition.as_str(), |(f, _)| f)
    }

    /// Container images, in container order.
    pub fn images(&self) -> impl Iterator<Item = &str> {
        self.containers.iter().map(|c| c.image.as_str())
    }

    /// True while the task can run code (and burn CPU).
    pub fn is_live(&self) -> bool {
        matches!(
            self.last_status.as_str(),
            "PROVISIONING" | "PENDING" | "ACTIVATING" | "RUNNING"
        )
    }

    /// True when the task shares its container instance's network (bridge or host mode): it
    /// inherits the instance's exposure.
    pub fn on_host_network(&self) -> bool {
        self.eni_id.is_none() && self.host_instance.is_some()
    }
}

/// The key of an ECS service's CPU series (beside instance ids and task ARNs, which it cannot
/// be mistaken for).
pub fn service_cpu_key(cluster: &str, service: &str) -> String {
    format!("service:{cluster}/{service}")
}

/// The last path segment of an ARN (a cluster's or task's name or id).
pub fn name_of(arn: &str) -> &str {
    arn.rsplit_once('/').map_or(arn, |(_, n)| n)
}

/// The service a task belongs to, from its `group` (`service:NAME`); None for a standalone
/// task (`family:NAME`, or a group chosen by whoever ran it).
pub fn service_of(group: &str) -> Option<String> {
    group
        .strip_prefix("service:")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `family:revision` from a task definition ARN (`arn:...:task-definition/family:3`).
pub fn family_revision(task_definition_arn: &str) -> String {
    name_of(task_definition_arn).to_string()
}

/// The repository an image comes from, without tag or digest: `docker.io/xmrig/xmrig:6` and
/// `xmrig/xmrig@sha256:..` are both `docker.io/xmrig/xmrig`.
pub fn image_repository(image: &str) -> String {
    let no_digest = image.split_once('@').map_or(image, |(r, _)| r);
    // A tag is a `:` after the last `/` (a `:` before it is a registry port).
    let repo = match (no_digest.rfind(':'), no_digest.rfind('/')) {
        (Some(c), Some(s)) if c > s => &no_digest[..c],
        (Some(c), None) => &no_digest[..c],
        _ => no_digest,
    };
    let (first, rest) = repo.split_once('/').unwrap_or(("", repo));
    let has_registry =
        !first.is_empty() && (first.contains('.') || first.contains(':') || first == "localhost");
    let (registry, path) = if has_registry {
        (first, rest)
    } else {
        ("docker.io", repo)
    };
    // Docker Hub's names: one registry, and its official images live under `library/`.
    let registry = match registry {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        r => r,
    };
    if registry == "docker.io" && !path.contains('/') {
        format!("docker.io/library/{path}")
    } else {
        format!("{registry}/{path}")
    }
}

/// True for an image from outside the account: a public registry, or any registry but the
/// account's own private ECR (`<account_id>.dkr.ecr.<region>.amazonaws.com`; another account's
/// ECR is a stranger's too). The name is the task definition's, which whoever can register one
/// writes: a hint.
pub fn is_public_image(image: &str, account_id: &str) -> bool {
    let repo = image_repository(image);
    let registry = repo.split('/').next().unwrap_or("");
    let own_ecr = registry
        .strip_prefix(account_id)
        .and_then(|r| r.strip_prefix(".dkr.ecr."))
        .is_some_and(|r| r.ends_with(".amazonaws.com") || r.ends_with(".amazonaws.com.cn"));
    !own_ecr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_families_from_groups_and_arns() {
        assert_eq!(service_of("service:web"), Some("web".into()));
        assert_eq!(service_of("family:metrics-agent"), None);
        assert_eq!(service_of("service:"), None);
        assert_eq!(service_of("anything"), None);
        assert_eq!(
            family_revision("arn:aws:ecs:us-east-1:1:task-definition/metrics-agent:7"),
            "metrics-agent:7"
        );
        assert_eq!(family_revision("web:2"), "web:2");
    }

    #[test]
    fn image_repositories_and_public_registries() {
        for (image, repo, public) in [
            ("xmrig/xmrig:6.21", "docker.io/xmrig/xmrig", true),
            ("nginx", "docker.io/library/nginx", true),
            ("docker.io/nginx:1.27", "docker.io/library/nginx", true),
            (
                "index.docker.io/library/nginx",
                "docker.io/library/nginx",
                true,
            ),
            (
                "999999999999.dkr.ecr.us-east-1.amazonaws.com/api:9",
                "999999999999.dkr.ecr.us-east-1.amazonaws.com/api",
                true,
            ),
            (
                "docker.io/xmrig/xmrig@sha256:ab",
                "docker.io/xmrig/xmrig",
                true,
            ),
            (
                "public.ecr.aws/nginx/nginx:1",
                "public.ecr.aws/nginx/nginx",
                true,
            ),
            ("ghcr.io/a/b:latest", "ghcr.io/a/b", true),
            ("registry.local:5000/app:3", "registry.local:5000/app", true),
            (
                "111122223333.dkr.ecr.us-east-1.amazonaws.com/api:9",
                "111122223333.dkr.ecr.us-east-1.amazonaws.com/api",
                false,
            ),
            // A lookalike host is not ECR.
            (
                "111122223333.dkr.ecr.us-east-1.amazonaws.com.evil.io/api:9",
                "111122223333.dkr.ecr.us-east-1.amazonaws.com.evil.io/api",
                true,
            ),
        ] {
            assert_eq!(image_repository(image), repo, "{image}");
            assert_eq!(is_public_image(image, "111122223333"), public, "{image}");
        }
    }
}
