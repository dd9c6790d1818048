//! Seeding the emulator through the real SDK: groups with world-open rules of every shape,
//! instances with a second ENI, CPU datapoints, GuardDuty findings.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, UserIdGroupPair};
use chrono::Utc;
use serde_json::json;

use super::{Emulator, set_test_credentials};

pub async fn sdk(emu: &Emulator, region: &str, creds: Option<Credentials>) -> SdkConfig {
    set_test_credentials();
    let mut l = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(emu.url())
        .region(Region::new(region.to_string()));
    if let Some(c) = creds {
        l = l.credentials_provider(c);
    }
    l.load().await
}

/// Credentials of `account` (moto maps AssumeRole keys to the role's account).
pub async fn assume(emu: &Emulator, account: &str) -> Credentials {
    let base = sdk(emu, "us-east-1", None).await;
    let out = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/seeder"))
        .role_session_name("seed")
        .send()
        .await
        .expect("assume role for seeding");
    let c = out.credentials().unwrap();
    Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "seed",
    )
}

/// What was seeded in one account x region.
pub struct Seeded {
    /// SSH + internal groups, plus a second ENI with a port range and UDP.
    pub exposed: String,
    /// All protocols open to ::/0.
    pub wide_open: String,
    /// Only group-to-group and private rules.
    pub private: String,
}

/// A group in the default VPC open to the world on one TCP port.
pub async fn world_tcp(ec2: &aws_sdk_ec2::Client, name: &str, port: i32) -> String {
    let perm = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .ip_ranges(
            aws_sdk_ec2::types::IpRange::builder()
                .cidr_ip("0.0.0.0/0")
                .build(),
        )
        .build();
    world_rule(ec2, name, perm).await
}

/// Registers a Fargate task definition (awsvpc) of one container running `image`.
pub async fn register(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    image: &str,
) -> Result<
    (),
    aws_sdk_ecs::error::SdkError<
        aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionError,
    >,
> {
    use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, NetworkMode};
    ecs.register_task_definition()
        .family(family)
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("main")
                .image(image)
                .memory(512)
                .build(),
        )
        .send()
        .await
        .map(|_| ())
}

pub async fn world_rule(ec2: &aws_sdk_ec2::Client, name: &str, perm: IpPermission) -> String {
    let vpc = default_vpc(ec2).await;
    group_in(ec2, &vpc, name, vec![perm]).await
}

/// Creates a group named `name` in `vpc` with these inbound rules.
pub async fn group_in(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
    name: &str,
    perms: Vec<IpPermission>,
) -> String {
    let g = ec2
        .create_security_group()
        .group_name(name)
        .description(name)
        .vpc_id(vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    if !perms.is_empty() {
        ec2.authorize_security_group_ingress()
            .group_id(&g)
            .set_ip_permissions(Some(perms))
            .send()
            .await
            .unwrap();
    }
    g
}

pub async fn default_vpc(ec2: &aws_sdk_ec2::Client) -> String {
    ec2.describe_vpcs()
        .send()
        .await
        .unwrap()
        .vpcs()
        .iter()
        .find(|v| v.is_default() == Some(true))
        .and_then(|v| v.vpc_id())
        .expect("moto has a default VPC")
        .to_string()
}

pub async fn run(ec2: &aws_sdk_ec2::Client, name: &str, groups: &[&str]) -> String {
    let out = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .set_security_group_ids(Some(groups.iter().map(|s| s.to_string()).collect()))
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("Name")
                        .value(name)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.instances()[0].instance_id().unwrap().to_string()
}

pub async fn seed(
    emu: &Emulator,
    account: &str,
    region: &str,
    creds: Option<Credentials>,
) -> Seeded {
    let cfg = sdk(emu, region, creds).await;
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let tcp = |from: i32, to: i32| {
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(from)
            .to_port(to)
    };
    let ssh = world_rule(
        &ec2,
        "ssh-world",
        tcp(22, 22)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build(),
    )
    .await;
    let all6 = world_rule(
        &ec2,
        "all-v6",
        IpPermission::builder()
            .ip_protocol("-1")
            .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
            .build(),
    )
    .await;
    let range = world_rule(
        &ec2,
        "range",
        tcp(8000, 8100)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build(),
    )
    .await;
    ec2.authorize_security_group_ingress()
        .group_id(&range)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("udp")
                .from_port(53)
                .to_port(53)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let internal = world_rule(
        &ec2,
        "internal",
        tcp(443, 443)
            .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
            .build(),
    )
    .await;
    ec2.authorize_security_group_ingress()
        .group_id(&internal)
        .ip_permissions(
            tcp(5432, 5432)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&internal).build())
                .build(),
        )
        .send()
        .await
        .unwrap();

    let exposed = run(&ec2, "exposed", &[&ssh, &internal]).await;
    let wide_open = run(&ec2, "wide-open", &[&all6]).await;
    let private = run(&ec2, "private", &[&internal]).await;

    // A second ENI on `exposed` carrying the range group.
    let subnet = ec2
        .describe_instances()
        .instance_ids(&exposed)
        .send()
        .await
        .unwrap()
        .reservations()[0]
        .instances()[0]
        .subnet_id()
        .unwrap()
        .to_string();
    second_eni(&ec2, &subnet, &[&range], &exposed).await;

    // CPU over the last hour, one datapoint per 5-minute bucket; `exposed` is pinned lately.
    let cw = aws_sdk_cloudwatch::Client::new(&cfg);
    let now = Utc::now().timestamp();
    for (id, recent, old) in [(&exposed, 97.5, 10.0), (&wide_open, 12.0, 12.0)] {
        let data: Vec<MetricDatum> = (0..12)
            .map(|k| {
                MetricDatum::builder()
                    .metric_name("CPUUtilization")
                    .dimensions(
                        Dimension::builder()
                            .name("InstanceId")
                            .value(id.as_str())
                            .build(),
                    )
                    .timestamp(aws_smithy_types::DateTime::from_secs(now - k * 300 - 150))
                    .value(if k < 3 { recent } else { old })
                    .unit(StandardUnit::Percent)
                    .build()
            })
            .collect();
        cw.put_metric_data()
            .namespace("AWS/EC2")
            .set_metric_data(Some(data))
            .send()
            .await
            .expect("PutMetricData through the CBOR bridge");
    }

    // Findings: two live on `exposed`, one archived on `wide_open`.
    emu.post(
        "/_watchfloor/guardduty/findings",
        &json!({
            "account_id": account,
            "region": region,
            "findings": [
                {"type": "UnauthorizedAccess:EC2/SSHBruteForce", "severity": 5.0, "instance_id": exposed, "title": "brute force"},
                {"type": "CryptoCurrency:EC2/BitcoinTool.B!DNS", "severity": 8.0, "instance_id": exposed, "title": "bitcoin"},
                {"type": "Recon:EC2/PortProbeUnprotectedPort", "severity": 2.0, "instance_id": wide_open, "archived": true}
            ]
        }),
    );
    Seeded {
        exposed,
        wide_open,
        private,
    }
}

/// Creates an ENI with `groups` in `subnet` and attaches it to `instance` as device 1.
pub async fn second_eni(
    ec2: &aws_sdk_ec2::Client,
    subnet: &str,
    groups: &[&str],
    instance: &str,
) -> String {
    second_eni_at(ec2, subnet, groups, instance, 1).await
}

/// Creates an ENI with `groups` in `subnet` and attaches it to `instance` as device `device`.
pub async fn second_eni_at(
    ec2: &aws_sdk_ec2::Client,
    subnet: &str,
    groups: &[&str],
    instance: &str,
    device: i32,
) -> String {
    let eni = ec2
        .create_network_interface()
        .subnet_id(subnet)
        .set_groups(Some(groups.iter().map(|g| g.to_string()).collect()))
        .send()
        .await
        .unwrap()
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_string();
    ec2.attach_network_interface()
        .network_interface_id(&eni)
        .instance_id(instance)
        .device_index(device)
        .send()
        .await
        .unwrap();
    eni
}
