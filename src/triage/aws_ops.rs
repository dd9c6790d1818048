//! Triage operations over aws-sdk-ec2 (every mutating call takes DryRun) and aws-sdk-ecs (no
//! DryRun there); ECS answers kept as evidence are captured as AWS wrote them.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::operation::RequestId;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, EbsInstanceBlockDeviceSpecification, Filter, InstanceAttributeName,
    InstanceBlockDeviceMappingSpecification, IpPermission, IpRange, Ipv6Range, PrefixListId,
    ResourceType, Tag, TagSpecification, UserIdGroupPair,
};

use super::{Direction, Facts, GroupInfo, OpResult, Ops, ServiceCounts, TaskFacts, Volume};
use crate::aws::convert::flatten_permission;
use crate::aws::error::describe;
use crate::aws::{AwsError, ErrorKind};
use crate::model::{IngressRule, InstanceState, RuleSource};

/// Clients of one account x region, built only when triage is enabled (never in read-only mode).
#[derive(Debug, Clone)]
pub struct AwsOps {
    /// The regional EC2 client.
    pub ec2: Client,
    /// The regional Auto Scaling client (Standby before quarantine).
    pub autoscaling: aws_sdk_autoscaling::Client,
    /// The regional GuardDuty client (archiving findings).
    pub guardduty: aws_sdk_guardduty::Client,
    /// STS (the account is checked right before every run).
    pub sts: aws_sdk_sts::Client,
    /// The regional ECS client (stop-task, scale-to-zero).
    pub ecs: aws_sdk_ecs::Client,
}

impl AwsOps {
    /// Every client from one SDK configuration (the region must be set in it).
    pub fn from_conf(sdk: &aws_config::SdkConfig) -> Self {
        AwsOps {
            ec2: Client::from_conf(
                aws_sdk_ec2::config::Builder::from(sdk)
                    .interceptor(crate::diag::CallLog)
                    .build(),
            ),
            autoscaling: aws_sdk_autoscaling::Client::from_conf(
                aws_sdk_autoscaling::config::Builder::from(sdk)
                    .interceptor(crate::diag::CallLog)
                    .build(),
            ),
            guardduty: aws_sdk_guardduty::Client::from_conf(
                aws_sdk_guardduty::config::Builder::from(sdk)
                    .interceptor(crate::diag::CallLog)
                    .build(),
            ),
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(sdk)
                    .interceptor(crate::diag::CallLog)
                    .build(),
            ),
            ecs: aws_sdk_ecs::Client::from_conf(
                aws_sdk_ecs::config::Builder::from(sdk)
                    .interceptor(crate::diag::CallLog)
                    .build(),
            ),
        }
    }

    /// Clients for `region` of a connected account.
    pub fn for_region(acct: &crate::aws::Connected, region: &str) -> Self {
        let sdk = acct
            .sdk
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        Self::from_conf(&sdk)
    }
}

/// Keeps the body of the answer an ECS call got, as AWS wrote it (evidence is the record, not
/// watchfloor's reading of it).
#[derive(Debug, Clone, Default)]
struct RawAnswer(std::sync::Arc<std::sync::Mutex<Option<Vec<u8>>>>);

impl aws_sdk_ecs::config::Intercept for RawAnswer {
    fn name(&self) -> &'static str {
        "watchfloor-raw-answer"
    }

    fn read_after_deserialization(
        &self,
        context: &aws_sdk_ecs::config::interceptors::AfterDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_ecs::config::RuntimeComponents,
        _: &mut aws_sdk_ecs::config::ConfigBag,
    ) -> Result<(), aws_sdk_ecs::error::BoxError> {
        if let Some(b) = context.response().body().bytes()
            && let Ok(mut slot) = self.0.lock()
        {
            *slot = Some(b.to_vec());
        }
        Ok(())
    }
}

impl RawAnswer {
    /// The captured answer, byte for byte (ECS answers in UTF-8 JSON).
    fn text(&self) -> String {
        let raw = self
            .0
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .unwrap_or_default();
        String::from_utf8_lossy(&raw).into_owned()
    }
}

fn tag_spec(kind: ResourceType, tags: &[(String, String)]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// One flattened rule as the single-source IpPermission EC2 takes.
fn permission(r: &IngressRule) -> IpPermission {
    let mut p = IpPermission::builder().ip_protocol(&r.protocol);
    if let Some(f) = r.from_port {
        p = p.from_port(f);
    }
    if let Some(t) = r.to_port {
        p = p.to_port(t);
    }
    match &r.source {
        RuleSource::Cidr4(c) => p.ip_ranges(IpRange::builder().cidr_ip(c).build()),
        RuleSource::Cidr6(c) => p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).build()),
        RuleSource::Group(g) => {
            let (user, gid) = match g.split_once('/') {
                Some((u, g)) => (Some(u), g),
                None => (None, g.as_str()),
            };
            p.user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(gid)
                    .set_user_id(user.map(str::to_string))
                    .build(),
            )
        }
        RuleSource::PrefixList(pl) => {
            p.prefix_list_ids(PrefixListId::builder().prefix_list_id(pl).build())
        }
    }
    .build()
}

impl AwsOps {
    async fn attribute(
        &self,
        instance: &str,
        attr: InstanceAttributeName,
    ) -> Option<aws_sdk_ec2::operation::describe_instance_attribute::DescribeInstanceAttributeOutput>
    {
        self.ec2
            .describe_instance_attribute()
            .instance_id(instance)
            .attribute(attr)
            .send()
            .await
            .ok()
    }
}

impl Ops for AwsOps {
    async fn caller_account(&self) -> Result<String, AwsError> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| describe("GetCallerIdentity", &e))?;
        out.account()
            .map(str::to_string)
            .ok_or_else(|| AwsError::other("GetCallerIdentity returned no account id"))
    }

    async fn describe(&self, instance: &str) -> Result<Facts, AwsError> {
        let out = self
            .ec2
            .describe_instances()
            .instance_ids(instance)
            .send()
            .await
            .map_err(|e| describe("DescribeInstances", &e))?;
        let i = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .next()
            .ok_or_else(|| {
                AwsError::new(
                    ErrorKind::NotFound,
                    format!("{instance} not found (terminated?)"),
                )
            })?;
        // ENIs and their groups from DescribeNetworkInterfaces: the authoritative per-ENI view.
        let enis_out = self
            .ec2
            .describe_network_interfaces()
            .filters(
                Filter::builder()
                    .name("attachment.instance-id")
                    .values(instance)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| describe("DescribeNetworkInterfaces", &e))?;
        let mut enis: Vec<(i32, String, Vec<String>)> = enis_out
            .network_interfaces()
            .iter()
            .map(|n| {
                (
                    n.attachment().and_then(|a| a.device_index()).unwrap_or(0),
                    n.network_interface_id().unwrap_or_default().to_string(),
                    n.groups()
                        .iter()
                        .filter_map(|g| g.group_id().map(str::to_string))
                        .collect(),
                )
            })
            .collect();
        enis.sort();
        Ok(Facts {
            state: i
                .state()
                .and_then(|s| s.name())
                .map(|n| InstanceState::parse(n.as_str())),
            vpc_id: i.vpc_id().map(str::to_string),
            enis: enis.into_iter().map(|(_, e, g)| (e, g)).collect(),
            tags: i
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            stop_protection: self
                .attribute(instance, InstanceAttributeName::DisableApiStop)
                .await
                .and_then(|o| o.disable_api_stop().and_then(|v| v.value())),
            termination_protection: self
                .attribute(instance, InstanceAttributeName::DisableApiTermination)
                .await
                .and_then(|o| o.disable_api_termination().and_then(|v| v.value())),
            shutdown_behavior: self
                .attribute(
                    instance,
                    InstanceAttributeName::InstanceInitiatedShutdownBehavior,
                )
                .await
                .and_then(|o| {
                    o.instance_initiated_shutdown_behavior()
                        .and_then(|v| v.value())
                        .map(str::to_string)
                }),
            volumes: i
                .block_device_mappings()
                .iter()
                .filter_map(|b| {
                    let ebs = b.ebs()?;
                    Some(Volume {
                        device: b.device_name()?.to_string(),
                        volume_id: ebs.volume_id()?.to_string(),
                        delete_on_termination: ebs.delete_on_termination(),
                    })
                })
                .collect(),
        })
    }

    async fn set_eni_groups(&self, eni: &str, groups: &[String], dry_run: bool) -> OpResult {
        let out = self
            .ec2
            .modify_network_interface_attribute()
            .network_interface_id(eni)
            .set_groups(Some(groups.to_vec()))
            .dry_run(dry_run)
            .send()
            .await
            .map_err(|e| describe("ModifyNetworkInterfaceAttribute", &e))?;
        Ok(out.request_id().map(str::to_string))
    }

    async fn set_termination_protection(
        &self,
        instance: &str,
        on: bool,
        dry_run: bool,
    ) -> OpResult {
        let out = self
            .ec2
            .modify_instance_attribute()
            .instance_id(instance)
            .disable_api_termination(AttributeBooleanValue::builder().value(on).build())
            .dry_run(dry_run)
            .send()
            .await
            .map_err(|e| describe("ModifyInstanceAttribute", &e))?;
        Ok(out.request_id().map(str::to_string))
    }

    async fn set_stop_protection(&self, instance: &str, on: bool, dry_run: bool) -> OpResult {
        let out = self
            .ec2
            .modify_instance_attribute()
            .instance_id(instance)
            .disable_api_stop(AttributeBooleanValue::builder().value(on).build())
            .dry_run(dry_run)
            .send()
            .await
            .map_err(|e| describe("ModifyInstanceAttribute", &e))?;
        Ok(out.request_id().map(str::to_string))
    }

    async fn set_shutdown_behavior(
        &self,
        instance: &str,
        behavior: &str,
        dry_run: bool,
    ) -> OpResult {
        // The Attribute + Value form: AWS documents it for this attribute.
        let out = self
            .ec2
            .modify_instance_attribute()
            .instance_id(instance)
            .attribute(InstanceAttributeName::InstanceInitiatedShutdownBehavior)
            .value(behavior)
            .dry_run(dry_run)
            .send()
            .await
            .map_err(|e| describe("ModifyInstanceAttribute", &e))?;
        Ok(out.request_id().map(str::to_string))
    }

    async fn set_delete_on_termination(
        &self,
        instance: &str,
        device: &str,
        on: bool,
        dry_run: bool,
    ) -> OpResult {
        let out = self
            .ec2
            .modify_instance_attribute()
            .instance_id(instance)
            .block_device_mappings(
                InstanceBlockDeviceMappingSpecification::builder()
                    .device_name(device)
                    .ebs(
                        EbsInstanceBlockDeviceSpecification::builder()
                            .delete_on_termination(on)
                            .build(),
                    )
                    .build(),
            )
            .dry_run(dry_run)
            .send()
            .await
            .map_err(|e| describe("ModifyInstanceAttribute", &e))?;
        Ok(out.request_id().map(str::to_string))
    }

    async fn create_tags(
        &self,
        resource: &str,
        tags: &[(String, String)],
        dry_run: bool,
    ) -> OpResult {
        let out = self
            .ec2
            .create_tags()
            .resources(resource)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .dry_run(dry_run)
            .send()
            .await
            .map_err(|e| describe("CreateTags", &e))?;
        Ok(out.request_id().map(str::to_string))
    }

    async fn delete_tags(&self, resource: &str, keys: &[String], dry_run: bool) -> OpResult {
        let out = self
            .ec2
            .delete_tags()
            .resources(resource)
            .set_tags(Some(
                keys.iter().map(|k| Tag::builder().key(k).build()).collect(),
            ))
            .dry_run(dry_run)
            .send()
            .await
            .map_err(|e| describe("DeleteTags", &e))?;
        Ok(out.request_id().map(str::to_string))
    }

    async fn find_group(&self, vpc: &str, name: &str) -> Result<Option<String>, AwsError> {
        let out = self
            .ec2
            .describe_security_groups()
            .filters(Filter::builder().name("vpc-id").values(vpc).build())
            .filters(Filter::builder().name("group-name").values(name).build())
            .send()
            .await
            .map_err(|e| describe("DescribeSecurityGroups", &e))?;
        Ok(out
            .security_groups()
            .iter()
            .find(|g| g.group_name() == Some(name) && g.vpc_id() == Some(vpc))
            .and_then(|g| g.group_id())
            .map(str::to_string))
    }

    async fn describe_groups(&self, ids: &[String]) -> Result<Vec<GroupInfo>, AwsError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // By filter, not by GroupIds: one unknown id would fail the whole call.
        let out = self
            .ec2
            .describe_security_groups()
            .filters(
                Filter::builder()
                    .name("group-id")
                    .set_values(Some(ids.to_vec()))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| describe("DescribeSecurityGroups", &e))?;
        Ok(out
            .security_groups()
            .iter()
            .filter(|g| g.group_id().is_some_and(|id| ids.iter().any(|i| i == id)))
            .map(|g| {
                let owner = g.owner_id();
                GroupInfo {
                    group_id: g.group_id().unwrap_or_default().to_string(),
                    name: g.group_name().unwrap_or_default().to_string(),
                    vpc_id: g.vpc_id().map(str::to_string),
                    ingress: g
                        .ip_permissions()
                        .iter()
                        .flat_map(|p| flatten_permission(p, owner))
                        .collect(),
                    egress: g
                        .ip_permissions_egress()
                        .iter()
                        .flat_map(|p| flatten_permission(p, owner))
                        .collect(),
                }
            })
            .collect())
    }

    async fn create_group(
        &self,
        vpc: &str,
        name: &str,
        role: &str,
        case: &str,
        dry_run: bool,
    ) -> Result<String, AwsError> {
        let req = || {
            self.ec2
                .create_security_group()
                .group_name(name)
                .description(format!("watchfloor {role} group (case {case})"))
                .vpc_id(vpc)
                .dry_run(dry_run)
        };
        let tagged = req()
            .tag_specifications(tag_spec(
                ResourceType::SecurityGroup,
                &[
                    ("watchfloor:role".into(), role.into()),
                    ("watchfloor:case".into(), case.into()),
                ],
            ))
            .send()
            .await
            .map_err(|e| describe("CreateSecurityGroup", &e));
        // Tagging on create needs ec2:CreateTags; without it the group is made untagged (the
        // tags are only labels: the group is found by name and checked by its rules).
        let out = match tagged {
            Err(e) if e.kind == ErrorKind::Denied => req()
                .send()
                .await
                .map_err(|e| describe("CreateSecurityGroup", &e))?,
            other => other?,
        };
        out.group_id()
            .map(str::to_string)
            .ok_or_else(|| AwsError::other("CreateSecurityGroup returned no group id"))
    }

    async fn change_rules(
        &self,
        group: &str,
        direction: Direction,
        add: bool,
        rules: &[IngressRule],
        dry_run: bool,
    ) -> OpResult {
        let perms: Vec<IpPermission> = rules.iter().map(permission).collect();
        // The four calls take the same input: group id, permissions, DryRun.
        macro_rules! call {
            ($op:ident, $name:literal) => {
                self.ec2
                    .$op()
                    .group_id(group)
                    .set_ip_permissions(Some(perms))
                    .dry_run(dry_run)
                    .send()
                    .await
                    .map_err(|e| describe($name, &e))?
                    .request_id()
                    .map(str::to_string)
            };
        }
        let request_id = match (direction, add) {
            (Direction::Ingress, true) => {
                call!(
                    authorize_security_group_ingress,
                    "AuthorizeSecurityGroupIngress"
                )
            }
            (Direction::Ingress, false) => {
                call!(revoke_security_group_ingress, "RevokeSecurityGroupIngress")
            }
            (Direction::Egress, true) => {
                call!(
                    authorize_security_group_egress,
                    "AuthorizeSecurityGroupEgress"
                )
            }
            (Direction::Egress, false) => {
                call!(revoke_security_group_egress, "RevokeSecurityGroupEgress")
            }
        };
        Ok(request_id)
    }

    async fn stop(&self, instance: &str, force: bool, hibernate: bool, dry_run: bool) -> OpResult {
        let mut req = self
            .ec2
            .stop_instances()
            .instance_ids(instance)
            .dry_run(dry_run);
        if force {
            req = req.force(true);
        }
        if hibernate {
            req = req.hibernate(true);
        }
        let out = req
            .send()
            .await
            .map_err(|e| describe("StopInstances", &e))?;
        Ok(out.request_id().map(str::to_string))
    }

    async fn describe_task(
        &self,
        cluster: &str,
        task: &str,
    ) -> Result<Option<TaskFacts>, AwsError> {
        let raw = RawAnswer::default();
        let out = self
            .ecs
            .describe_tasks()
            .cluster(cluster)
            .tasks(task)
            .customize()
            .interceptor(raw.clone())
            .send()
            .await
            .map_err(|e| describe("DescribeTasks", &e))?;
        Ok(out.tasks().first().map(|t| TaskFacts {
            last_status: t.last_status().unwrap_or_default().to_string(),
            task_definition_arn: t.task_definition_arn().unwrap_or_default().to_string(),
            group: t.group().map(str::to_string),
            json: raw.text(),
        }))
    }

    async fn task_definition_json(&self, task_definition: &str) -> Result<String, AwsError> {
        let raw = RawAnswer::default();
        self.ecs
            .describe_task_definition()
            .task_definition(task_definition)
            .customize()
            .interceptor(raw.clone())
            .send()
            .await
            .map_err(|e| describe("DescribeTaskDefinition", &e))?;
        Ok(raw.text())
    }

    async fn stop_task(&self, cluster: &str, task: &str, reason: &str) -> OpResult {
        use aws_sdk_ecs::operation::RequestId as _;
        let out = self
            .ecs
            .stop_task()
            .cluster(cluster)
            .task(task)
            .reason(reason)
            .send()
            .await
            .map_err(|e| describe("StopTask", &e))?;
        Ok(out.request_id().map(str::to_string))
    }

    async fn service_counts(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<ServiceCounts>, AwsError> {
        let out = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| describe("DescribeServices", &e))?;
        Ok(out
            .services()
            .iter()
            .find(|s| s.status() != Some("INACTIVE"))
            .map(|s| ServiceCounts {
                desired: s.desired_count(),
                running: s.running_count(),
            }))
    }

    async fn set_service_desired(&self, cluster: &str, service: &str, desired: i32) -> OpResult {
        use aws_sdk_ecs::operation::RequestId as _;
        let out = self
            .ecs
            .update_service()
            .cluster(cluster)
            .service(service)
            .desired_count(desired)
            .send()
            .await
            .map_err(|e| describe("UpdateService", &e))?;
        Ok(out.request_id().map(str::to_string))
    }

    async fn archive_finding(&self, finding_id: &str) -> OpResult {
        use aws_sdk_guardduty::operation::RequestId as _;
        let d = self
            .guardduty
            .list_detectors()
            .send()
            .await
            .map_err(|e| describe("ListDetectors", &e))?;
        let detector = d
            .detector_ids()
            .first()
            .ok_or_else(|| AwsError::other("GuardDuty has no detector in this region"))?;
        let out = self
            .guardduty
            .archive_findings()
            .detector_id(detector)
            .finding_ids(finding_id)
            .send()
            .await
            .map_err(|e| describe("ArchiveFindings", &e))?;
        Ok(out.request_id().map(str::to_string))
    }

    async fn asg_membership(&self, instance: &str) -> Result<Option<(String, String)>, AwsError> {
        let out = self
            .autoscaling
            .describe_auto_scaling_instances()
            .instance_ids(instance)
            .send()
            .await
            .map_err(|e| describe("DescribeAutoScalingInstances", &e))?;
        Ok(out.auto_scaling_instances().first().and_then(|i| {
            Some((
                i.auto_scaling_group_name()?.to_string(),
                i.lifecycle_state()?.to_string(),
            ))
        }))
    }

    async fn asg_standby(&self, instance: &str, asg: &str, enter: bool) -> OpResult {
        use aws_sdk_autoscaling::operation::RequestId as _;
        if enter {
            let out = self
                .autoscaling
                .enter_standby()
                .instance_ids(instance)
                .auto_scaling_group_name(asg)
                .should_decrement_desired_capacity(true)
                .send()
                .await
                .map_err(|e| describe("EnterStandby", &e))?;
            Ok(out.request_id().map(str::to_string))
        } else {
            let out = self
                .autoscaling
                .exit_standby()
                .instance_ids(instance)
                .auto_scaling_group_name(asg)
                .send()
                .await
                .map_err(|e| describe("ExitStandby", &e))?;
            Ok(out.request_id().map(str::to_string))
        }
    }

    async fn snapshot_volume(
        &self,
        volume: &str,
        description: &str,
        tags: &[(String, String)],
        dry_run: bool,
    ) -> Result<String, AwsError> {
        let mut req = self
            .ec2
            .create_snapshot()
            .volume_id(volume)
            .description(description)
            .dry_run(dry_run);
        if !tags.is_empty() {
            req = req.tag_specifications(tag_spec(ResourceType::Snapshot, tags));
        }
        let out = req
            .send()
            .await
            .map_err(|e| describe("CreateSnapshot", &e))?;
        out.snapshot_id()
            .map(str::to_string)
            .ok_or_else(|| AwsError::other("CreateSnapshot returned no snapshot id"))
    }
}
