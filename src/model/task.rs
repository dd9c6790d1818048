//! ECS tasks: what the ECS feed knows of each running task (Fargate or EC2 launch type).

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One ECS task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    /// Task ARN.
    pub task_arn: String,
    /// Cluster name.
    pub cluster: String,
    /// Service name, None for a standalone task (how an attacker's RunTask shows up).
    pub service: Option<String>,
    /// Task definition `family:revision`.
    pub task_definition: String,
    /// Container images, in container order.
    pub images: Vec<String>,
    /// `FARGATE`, `EC2`, `EXTERNAL` (empty when not reported).
    pub launch_type: String,
    /// Last status (`RUNNING`, `PENDING`, `STOPPED`, ...).
    pub last_status: String,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// Who started it (`ecs-svc/...` for a service's task).
    pub started_by: String,
    /// Container instance ARN of an EC2-launched task.
    pub container_instance: Option<String>,
    /// The awsvpc interface, when the task has one.
    pub eni_id: Option<String>,
    /// Its private IPv4 address.
    pub private_ip: Option<String>,
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
    task_definition_arn
        .rsplit_once('/')
        .map_or(task_definition_arn, |(_, fr)| fr)
        .to_string()
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
}
