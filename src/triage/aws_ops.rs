//! Triage operations over aws-sdk-ec2 (every mutating call takes DryRun).

use aws_sdk_ec2::Client;
use aws_sdk_ec2::operation::RequestId;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, InstanceAttributeName, IpPermission, IpRange, Ipv6Range,
    ResourceType, Tag, TagSpecification,
};

use super::{Facts, OpResult, Ops};
use crate::model::InstanceState;
use crate::source::aws::AwsError;
use crate::source::aws::error::describe;

/// Clients of one account x region, built only when triage is enabled (never in read-only mode).
#[derive(Debug, Clone)]
pub struct AwsOps {
    /// The regional EC2 client.
    pub ec2: Client,
    /// The regional Auto Scaling client (Standby before quarantine).
    pub autoscaling: aws_sdk_autoscaling::Client,
    /// The regional GuardDuty client (archiving findings).
    pub guardduty: aws_sdk_guardduty::Client,
}

impl AwsOps {
    /// Both clients from one SDK configuration (the region must be set in it).
    pub fn from_conf(sdk: &aws_config::SdkConfig) -> Self {
        AwsOps {
            ec2: Client::new(sdk),
            autoscaling: aws_sdk_autoscaling::Client::new(sdk),
            guardduty: aws_sdk_guardduty::Client::new(sdk),
        }
    }

    /// Clients for `region` of a connected account.
    pub fn for_region(acct: &crate::source::aws::Connected, region: &str) -> Self {
        let sdk = acct
            .sdk
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        Self::from_conf(&sdk)
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

fn all_traffic(v6: bool) -> IpPermission {
    let p = IpPermission::builder().ip_protocol("-1");
    if v6 {
        p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
            .build()
    } else {
        p.ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build()
    }
}

/// True for "already there / already gone" answers that make a step idempotent.
fn benign(e: &AwsError) -> bool {
    matches!(
        e.code.as_deref(),
        Some("InvalidPermission.NotFound" | "InvalidPermission.Duplicate")
    )
}

impl AwsOps {
    async fn attribute(&self, instance: &str, attr: InstanceAttributeName) -> Option<bool> {
        let out = self
            .ec2
            .describe_instance_attribute()
            .instance_id(instance)
            .attribute(attr.clone())
            .send()
            .await
            .ok()?;
        match attr {
            InstanceAttributeName::DisableApiStop => out.disable_api_stop().and_then(|v| v.value()),
            _ => out.disable_api_termination().and_then(|v| v.value()),
        }
    }

    async fn create_group(
        &self,
        vpc: &str,
        name: &str,
        what: &str,
        case: &str,
        dry_run: bool,
    ) -> Result<String, AwsError> {
        let out = self
            .ec2
            .create_security_group()
            .group_name(name)
            .description(format!("watchfloor {what} group (case {case})"))
            .vpc_id(vpc)
            .tag_specifications(tag_spec(
                ResourceType::SecurityGroup,
                &[
                    ("watchfloor:role".into(), what.into()),
                    ("watchfloor:case".into(), case.into()),
                ],
            ))
            .dry_run(dry_run)
            .send()
            .await
            .map_err(|e| describe("CreateSecurityGroup", &e))?;
        out.group_id()
            .map(str::to_string)
            .ok_or_else(|| AwsError::other("CreateSecurityGroup returned no group id"))
    }
}

impl Ops for AwsOps {
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
            .ok_or_else(|| AwsError::other(format!("{instance} not found (terminated?)")))?;
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
                .await,
            termination_protection: self
                .attribute(instance, InstanceAttributeName::DisableApiTermination)
                .await,
            volumes: i
                .block_device_mappings()
                .iter()
                .filter_map(|b| b.ebs().and_then(|e| e.volume_id()).map(str::to_string))
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

    async fn create_isolation_group(
        &self,
        vpc: &str,
        name: &str,
        case: &str,
        dry_run: bool,
    ) -> Result<String, AwsError> {
        self.create_group(vpc, name, "isolation", case, dry_run)
            .await
    }

    async fn harden_isolation_group(&self, group: &str, examiner: Option<&str>) -> OpResult {
        let out = self
            .ec2
            .describe_security_groups()
            .group_ids(group)
            .send()
            .await
            .map_err(|e| describe("DescribeSecurityGroups", &e))?;
        let g = out
            .security_groups()
            .first()
            .ok_or_else(|| AwsError::other(format!("isolation group {group} not found")))?;
        let is_examiner = |p: &IpPermission| {
            let (v4, v6) = (p.ip_ranges(), p.ipv6_ranges());
            examiner.is_some_and(|c| {
                p.ip_protocol() == Some("tcp")
                    && p.from_port() == Some(22)
                    && p.to_port() == Some(22)
                    && p.user_id_group_pairs().is_empty()
                    && p.prefix_list_ids().is_empty()
                    && v4.len() + v6.len() == 1
                    && (v4.first().and_then(|r| r.cidr_ip()) == Some(c)
                        || v6.first().and_then(|r| r.cidr_ipv6()) == Some(c))
            })
        };
        let mut request_id = None;
        let egress = g.ip_permissions_egress().to_vec();
        if !egress.is_empty() {
            let out = self
                .ec2
                .revoke_security_group_egress()
                .group_id(group)
                .set_ip_permissions(Some(egress))
                .send()
                .await
                .map_err(|e| describe("RevokeSecurityGroupEgress", &e))?;
            request_id = out.request_id().map(str::to_string);
        }
        let extra: Vec<IpPermission> = g
            .ip_permissions()
            .iter()
            .filter(|p| !is_examiner(p))
            .cloned()
            .collect();
        if !extra.is_empty() {
            self.ec2
                .revoke_security_group_ingress()
                .group_id(group)
                .set_ip_permissions(Some(extra))
                .send()
                .await
                .map_err(|e| describe("RevokeSecurityGroupIngress", &e))?;
        }
        if let Some(c) = examiner
            && !g.ip_permissions().iter().any(is_examiner)
        {
            let p = IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22);
            let p = if c.contains(':') {
                p.ipv6_ranges(
                    Ipv6Range::builder()
                        .cidr_ipv6(c)
                        .description("watchfloor examiner")
                        .build(),
                )
            } else {
                p.ip_ranges(
                    IpRange::builder()
                        .cidr_ip(c)
                        .description("watchfloor examiner")
                        .build(),
                )
            };
            self.ec2
                .authorize_security_group_ingress()
                .group_id(group)
                .ip_permissions(p.build())
                .send()
                .await
                .map_err(|e| describe("AuthorizeSecurityGroupIngress", &e))?;
        }
        Ok(request_id)
    }

    async fn create_allow_all_group(
        &self,
        vpc: &str,
        name: &str,
        case: &str,
        dry_run: bool,
    ) -> Result<String, AwsError> {
        let gid = self
            .create_group(vpc, name, "allow-all", case, dry_run)
            .await?;
        if dry_run {
            return Ok(gid);
        }
        for v6 in [false, true] {
            if let Err(e) = self
                .ec2
                .authorize_security_group_ingress()
                .group_id(&gid)
                .ip_permissions(all_traffic(v6))
                .send()
                .await
                .map_err(|e| describe("AuthorizeSecurityGroupIngress", &e))
                && !benign(&e)
            {
                return Err(e);
            }
            if v6 {
                let _ = self
                    .ec2
                    .authorize_security_group_egress()
                    .group_id(&gid)
                    .ip_permissions(all_traffic(true))
                    .send()
                    .await;
            }
        }
        Ok(gid)
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

    async fn asg_lifecycle(&self, instance: &str) -> Result<Option<String>, AwsError> {
        let out = self
            .autoscaling
            .describe_auto_scaling_instances()
            .instance_ids(instance)
            .send()
            .await
            .map_err(|e| describe("DescribeAutoScalingInstances", &e))?;
        Ok(out
            .auto_scaling_instances()
            .first()
            .and_then(|i| i.lifecycle_state())
            .map(|s| s.to_string()))
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
