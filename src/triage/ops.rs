//! The EC2 and ECS operations triage needs (`Ops`), implemented over the AWS SDK and the demo
//! fleet, with the group shape (`GroupInfo`), rule direction (`Direction`) and ECS facts
//! (`TaskFacts`, `ServiceCounts`) they speak in.

use std::future::Future;

use super::Facts;
use crate::aws::AwsError;
use crate::model::IngressRule;

/// A security group with the rules both ways (each rule flattened to one source; for egress the
/// `source` is the destination).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupInfo {
    /// `sg-...`
    pub group_id: String,
    /// GroupName.
    pub name: String,
    /// VPC of the group.
    pub vpc_id: Option<String>,
    /// Inbound rules.
    pub ingress: Vec<IngressRule>,
    /// Outbound rules.
    pub egress: Vec<IngressRule>,
}

/// Which rules of a group a change touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Inbound.
    Ingress,
    /// Outbound.
    Egress,
}

impl Direction {
    /// `ingress` / `egress`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// Result of a mutating call: the request id, when the service returned one.
pub type OpResult = Result<Option<String>, AwsError>;

/// What DescribeTasks says of an ECS task right now, with the answer as AWS wrote it (kept as
/// evidence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFacts {
    /// `RUNNING`, `STOPPED`, ...
    pub last_status: String,
    /// Its task definition's ARN.
    pub task_definition_arn: String,
    /// Its group (`service:NAME` for a service's task).
    pub group: Option<String>,
    /// The DescribeTasks answer, as JSON.
    pub json: String,
}

/// What DescribeServices says of an ECS service right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceCounts {
    /// Desired task count.
    pub desired: i32,
    /// Running task count.
    pub running: i32,
}

/// The EC2 and ECS operations triage needs; implemented over the AWS SDK and over the demo fleet.
pub trait Ops: Send + Sync {
    /// The account id the credentials act in (STS GetCallerIdentity).
    fn caller_account(&self) -> impl Future<Output = Result<String, AwsError>> + Send;
    /// Reads the instance's facts.
    fn describe(&self, instance: &str) -> impl Future<Output = Result<Facts, AwsError>> + Send;
    /// Replaces an ENI's security groups.
    fn set_eni_groups(
        &self,
        eni: &str,
        groups: &[String],
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Sets DisableApiTermination.
    fn set_termination_protection(
        &self,
        instance: &str,
        on: bool,
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Sets DisableApiStop.
    fn set_stop_protection(
        &self,
        instance: &str,
        on: bool,
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Sets InstanceInitiatedShutdownBehavior (`stop` / `terminate`).
    fn set_shutdown_behavior(
        &self,
        instance: &str,
        behavior: &str,
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Sets DeleteOnTermination of the volume attached at `device`.
    fn set_delete_on_termination(
        &self,
        instance: &str,
        device: &str,
        on: bool,
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Adds or overwrites tags.
    fn create_tags(
        &self,
        resource: &str,
        tags: &[(String, String)],
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Removes tags.
    fn delete_tags(
        &self,
        resource: &str,
        keys: &[String],
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Finds a group by name in a VPC (a name is a hint: the rules are checked separately).
    fn find_group(
        &self,
        vpc: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, AwsError>> + Send;
    /// Reads groups with their rules both ways; a group that does not exist is left out.
    fn describe_groups(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<GroupInfo>, AwsError>> + Send;
    /// Creates a bare group (its rules are set by the caller afterwards).
    fn create_group(
        &self,
        vpc: &str,
        name: &str,
        role: &str,
        case: &str,
        dry_run: bool,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;
    /// Authorizes (`add`) or revokes rules of a group.
    fn change_rules(
        &self,
        group: &str,
        direction: Direction,
        add: bool,
        rules: &[IngressRule],
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// StopInstances.
    fn stop(
        &self,
        instance: &str,
        force: bool,
        hibernate: bool,
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// The Auto Scaling group and lifecycle state (`InService`, `Standby`, ...) of the instance,
    /// from DescribeAutoScalingInstances (never from a tag).
    fn asg_membership(
        &self,
        instance: &str,
    ) -> impl Future<Output = Result<Option<(String, String)>, AwsError>> + Send;
    /// EnterStandby (decrementing desired capacity) or ExitStandby.
    fn asg_standby(
        &self,
        instance: &str,
        asg: &str,
        enter: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Archives a GuardDuty finding (the region's detector).
    fn archive_finding(&self, finding_id: &str) -> impl Future<Output = OpResult> + Send;
    /// DescribeTasks of one task (None: ECS does not know it).
    fn describe_task(
        &self,
        cluster: &str,
        task: &str,
    ) -> impl Future<Output = Result<Option<TaskFacts>, AwsError>> + Send;
    /// DescribeTaskDefinition, as JSON (evidence).
    fn task_definition_json(
        &self,
        task_definition: &str,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;
    /// StopTask with a reason (ECS has no DryRun).
    fn stop_task(
        &self,
        cluster: &str,
        task: &str,
        reason: &str,
    ) -> impl Future<Output = OpResult> + Send;
    /// DescribeServices of one service (None: ECS does not know it, or it is inactive).
    fn service_counts(
        &self,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = Result<Option<ServiceCounts>, AwsError>> + Send;
    /// UpdateService desiredCount (ECS has no DryRun).
    fn set_service_desired(
        &self,
        cluster: &str,
        service: &str,
        desired: i32,
    ) -> impl Future<Output = OpResult> + Send;
    /// CreateSnapshot with tags; returns the snapshot id.
    fn snapshot_volume(
        &self,
        volume: &str,
        description: &str,
        tags: &[(String, String)],
        dry_run: bool,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;
}
