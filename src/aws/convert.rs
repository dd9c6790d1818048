//! SDK types into the model: instances, network interfaces, security groups and their rules,
//! timestamps. Shared by the feeds and by triage.

use aws_sdk_ec2::types as t;
use chrono::{DateTime, Utc};

use crate::model::{
    IngressRule, Instance, InstanceState, NetworkInterface, RuleSource, SecurityGroup,
};

/// Converts an SDK timestamp.
pub fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// Flattens one IpPermission to one rule per source; a group owned by another account than
/// `owner` is named `account/sg-...`.
pub fn flatten_permission(p: &t::IpPermission, owner: Option<&str>) -> Vec<IngressRule> {
    let base = |source: RuleSource| IngressRule {
        protocol: p.ip_protocol().unwrap_or("-1").to_string(),
        from_port: p.from_port(),
        to_port: p.to_port(),
        source,
    };
    let mut out = Vec::new();
    for r in p.ip_ranges() {
        if let Some(c) = r.cidr_ip() {
            out.push(base(RuleSource::Cidr4(c.to_string())));
        }
    }
    for r in p.ipv6_ranges() {
        if let Some(c) = r.cidr_ipv6() {
            out.push(base(RuleSource::Cidr6(c.to_string())));
        }
    }
    for u in p.user_id_group_pairs() {
        let gid = u.group_id().unwrap_or("?");
        let label = match u.user_id() {
            Some(acct) if Some(acct) != owner => format!("{acct}/{gid}"),
            _ => gid.to_string(),
        };
        out.push(base(RuleSource::Group(label)));
    }
    for pl in p.prefix_list_ids() {
        if let Some(id) = pl.prefix_list_id() {
            out.push(base(RuleSource::PrefixList(id.to_string())));
        }
    }
    out
}

/// Converts a security group, flattening every rule to one source each.
pub fn convert_group(g: &t::SecurityGroup) -> SecurityGroup {
    SecurityGroup {
        group_id: g.group_id().unwrap_or_default().to_string(),
        name: g.group_name().unwrap_or_default().to_string(),
        vpc_id: g.vpc_id().map(str::to_string),
        ingress: g
            .ip_permissions()
            .iter()
            .flat_map(|p| flatten_permission(p, g.owner_id()))
            .collect(),
    }
}

/// Builds a [`NetworkInterface`] from either SDK shape (`NetworkInterface` from
/// DescribeNetworkInterfaces, `InstanceNetworkInterface` embedded in DescribeInstances): same
/// accessor names, different types.
macro_rules! eni {
    ($n:expr, $device:expr) => {
        NetworkInterface {
            eni_id: $n.network_interface_id().unwrap_or_default().to_string(),
            device_index: $device.unwrap_or(0),
            subnet_id: $n.subnet_id().map(str::to_string),
            private_ip: $n.private_ip_address().map(str::to_string),
            public_ip: $n
                .association()
                .and_then(|a| a.public_ip())
                .map(str::to_string),
            ipv6: $n
                .ipv6_addresses()
                .iter()
                .filter_map(|a| a.ipv6_address().map(str::to_string))
                .collect(),
            group_ids: $n
                .groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect(),
        }
    };
}

/// When the instance was first launched. EC2's `LaunchTime` moves on every stop and start (an
/// attacker can refresh it at will); the primary interface's attach time stays that of the
/// launch, so it wins when EC2 reports it.
fn first_launch(i: &t::Instance) -> Option<DateTime<Utc>> {
    i.network_interfaces()
        .iter()
        .filter_map(|n| n.attachment())
        .find(|a| a.device_index() == Some(0))
        .and_then(|a| a.attach_time())
        .and_then(to_chrono)
        .or_else(|| i.launch_time().and_then(to_chrono))
}

/// Converts an ENI: the instance it is attached to (None for an interface no instance holds,
/// such as an ECS task's awsvpc interface), and the interface.
pub fn convert_eni(n: &t::NetworkInterface) -> (Option<String>, NetworkInterface) {
    let att = n.attachment();
    (
        att.and_then(|a| a.instance_id()).map(str::to_string),
        eni!(n, att.and_then(|a| a.device_index())),
    )
}

/// Converts an instance. ENIs from DescribeNetworkInterfaces win over the copies embedded in
/// DescribeInstances (same data, but the ENI call is the authoritative, complete one).
pub fn convert_instance(i: &t::Instance, enis: Option<Vec<NetworkInterface>>) -> Instance {
    let mut tags: Vec<(String, String)> = i
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    tags.sort();
    let tag = |k: &str| {
        tags.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let mut interfaces = enis.unwrap_or_else(|| {
        i.network_interfaces()
            .iter()
            .map(|n| eni!(n, n.attachment().and_then(|a| a.device_index())))
            .collect()
    });
    // EC2-Classic style answers (and some emulators) put groups and the public IP on the instance only.
    if interfaces.is_empty() {
        interfaces.push(NetworkInterface {
            eni_id: "(primary)".into(),
            device_index: 0,
            subnet_id: i.subnet_id().map(str::to_string),
            private_ip: i.private_ip_address().map(str::to_string),
            public_ip: i.public_ip_address().map(str::to_string),
            ipv6: i.ipv6_address().map(str::to_string).into_iter().collect(),
            group_ids: i
                .security_groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect(),
        });
    }
    interfaces.sort_by_key(|n| n.device_index);
    if let (Some(ip), Some(primary)) = (i.public_ip_address(), interfaces.first_mut())
        && primary.public_ip.is_none()
    {
        primary.public_ip = Some(ip.to_string());
    }
    Instance {
        instance_id: i.instance_id().unwrap_or_default().to_string(),
        name: tag("Name").unwrap_or_default(),
        instance_type: i
            .instance_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        state: i
            .state()
            .and_then(|s| s.name())
            .map_or(InstanceState::Unknown, |n| InstanceState::parse(n.as_str())),
        launch_time: first_launch(i),
        vpc_id: i.vpc_id().map(str::to_string),
        interfaces,
        detailed_monitoring: i.monitoring().and_then(|m| m.state()).is_some_and(|s| {
            matches!(s, t::MonitoringState::Enabled | t::MonitoringState::Pending)
        }),
        // Not part of DescribeInstances; fetched with DescribeInstanceAttribute when acting.
        termination_protection: None,
        stop_protection: None,
        asg: tag("aws:autoscaling:groupName"),
        image_id: i.image_id().map(str::to_string),
        key_name: i.key_name().map(str::to_string),
        spot: i.instance_lifecycle() == Some(&t::InstanceLifecycleType::Spot),
        platform: crate::model::price::Platform::from_details(i.platform_details()),
        tenancy: crate::model::price::Tenancy::parse(
            i.placement().and_then(|p| p.tenancy()).map(|t| t.as_str()),
        ),
        availability_zone: i
            .placement()
            .and_then(|p| p.availability_zone())
            .map(str::to_string),
        tags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_rules_flatten_every_source_kind() {
        let perm = t::IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(22)
            .to_port(22)
            .ip_ranges(t::IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .ipv6_ranges(t::Ipv6Range::builder().cidr_ipv6("::/0").build())
            .user_id_group_pairs(
                t::UserIdGroupPair::builder()
                    .group_id("sg-other")
                    .user_id("999999999999")
                    .build(),
            )
            .prefix_list_ids(t::PrefixListId::builder().prefix_list_id("pl-1").build())
            .build();
        let g = t::SecurityGroup::builder()
            .group_id("sg-1")
            .group_name("n")
            .owner_id("111111111111")
            .ip_permissions(perm)
            .build();
        let c = convert_group(&g);
        let sources: Vec<&str> = c.ingress.iter().map(|r| r.source.label()).collect();
        assert_eq!(
            sources,
            vec!["0.0.0.0/0", "::/0", "999999999999/sg-other", "pl-1"]
        );
        assert!(c.ingress.iter().all(|r| r.from_port == Some(22)));
    }

    #[test]
    fn the_first_launch_survives_a_stop_and_start() {
        let t = |s: i64| aws_smithy_types::DateTime::from_secs(s);
        let restarted = t::Instance::builder()
            .instance_id("i-1")
            .launch_time(t(2_000_000_000))
            .network_interfaces(
                t::InstanceNetworkInterface::builder()
                    .attachment(
                        t::InstanceNetworkInterfaceAttachment::builder()
                            .device_index(0)
                            .attach_time(t(1_000_000_000))
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert_eq!(
            convert_instance(&restarted, None)
                .launch_time
                .map(|d| d.timestamp()),
            Some(1_000_000_000),
            "the primary interface's attach time, not the restart"
        );
        let bare = t::Instance::builder()
            .instance_id("i-2")
            .launch_time(t(2_000_000_000))
            .build();
        assert_eq!(
            convert_instance(&bare, None)
                .launch_time
                .map(|d| d.timestamp()),
            Some(2_000_000_000)
        );
    }

    #[test]
    fn instance_without_enis_uses_its_own_groups() {
        let i = t::Instance::builder()
            .instance_id("i-1")
            .public_ip_address("198.51.100.4")
            .security_groups(t::GroupIdentifier::builder().group_id("sg-1").build())
            .tags(t::Tag::builder().key("Name").value("web").build())
            .tags(
                t::Tag::builder()
                    .key("aws:autoscaling:groupName")
                    .value("asg-1")
                    .build(),
            )
            .state(
                t::InstanceState::builder()
                    .name(t::InstanceStateName::Running)
                    .build(),
            )
            .build();
        let c = convert_instance(&i, None);
        assert_eq!(c.name, "web");
        assert_eq!(c.asg.as_deref(), Some("asg-1"));
        assert_eq!(c.state, InstanceState::Running);
        assert_eq!(c.interfaces[0].group_ids, vec!["sg-1"]);
        assert_eq!(c.public_ip(), Some("198.51.100.4"));
    }
}
