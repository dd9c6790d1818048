//! The ECS inventory against the emulator over HTTP with the real SDK: several clusters, more
//! than one page of tasks, a service's tasks and a standalone Fargate task with its awsvpc
//! interface.

mod support;

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType, NetworkConfiguration,
    NetworkMode,
};
use support::seed::{default_vpc, sdk, world_rule};
use support::{Emulator, set_test_credentials};
use watchfloor::source::aws::ecs;

async fn subnet(ec2: &aws_sdk_ec2::Client) -> String {
    let vpc = default_vpc(ec2).await;
    ec2.describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(vpc)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .subnets()[0]
        .subnet_id()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_services_and_tasks_paged() {
    let emu = Emulator::start();
    set_test_credentials();
    // moto moves a task one state further (RUNNING -> DEACTIVATING -> ...) each time it is
    // described; hold tasks where they are, as AWS does until something stops them.
    emu.post(
        "/moto-api/state-manager/set-transition",
        &serde_json::json!({"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1_000_000}}),
    );
    let cfg = sdk(&emu, "us-east-1", None).await;
    let ecs_client = aws_sdk_ecs::Client::new(&cfg);
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let subnet = subnet(&ec2).await;
    let open = world_rule(
        &ec2,
        "task-ssh-world",
        aws_sdk_ec2::types::IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(22)
            .to_port(22)
            .ip_ranges(
                aws_sdk_ec2::types::IpRange::builder()
                    .cidr_ip("0.0.0.0/0")
                    .build(),
            )
            .build(),
    )
    .await;
    for c in ["prod-web", "batch"] {
        ecs_client
            .create_cluster()
            .cluster_name(c)
            .send()
            .await
            .unwrap();
    }
    let def = |family: &str, image: &str| {
        ecs_client
            .register_task_definition()
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
    };
    def(
        "web",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.4",
    )
    .await
    .unwrap();
    def("metrics-agent", "docker.io/xmrig/xmrig:latest")
        .await
        .unwrap();
    let net = || {
        NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .subnets(&subnet)
                    .security_groups(&open)
                    .build()
                    .unwrap(),
            )
            .build()
    };
    // Twelve tasks of a service (moto's services start none: run them as the scheduler would).
    ecs_client
        .create_service()
        .cluster("prod-web")
        .service_name("web")
        .task_definition("web")
        .desired_count(12)
        .launch_type(LaunchType::Fargate)
        .network_configuration(net())
        .send()
        .await
        .unwrap();
    // In two calls, as a scheduler would start them.
    for count in [10, 2] {
        ecs_client
            .run_task()
            .cluster("prod-web")
            .task_definition("web")
            .count(count)
            .group("service:web")
            .started_by("ecs-svc/1234567890")
            .launch_type(LaunchType::Fargate)
            .network_configuration(net())
            .send()
            .await
            .unwrap();
    }
    // An attacker's standalone RunTask in another cluster.
    ecs_client
        .run_task()
        .cluster("batch")
        .task_definition("metrics-agent")
        .launch_type(LaunchType::Fargate)
        .network_configuration(net())
        .send()
        .await
        .unwrap();

    let inv = ecs::poll_paged(&ecs_client, 5)
        .await
        .expect("ECS inventory");
    assert_eq!(inv.tasks.len(), 13, "{:#?}", inv.tasks);
    let web: Vec<_> = inv
        .tasks
        .iter()
        .filter(|t| t.cluster == "prod-web")
        .collect();
    assert_eq!(web.len(), 12, "12 tasks over 3 pages of 5");
    assert!(web.iter().all(|t| t.service.as_deref() == Some("web")
        && t.task_definition == "web:1"
        && t.launch_type == "FARGATE"
        && t.started_by.starts_with("ecs-svc/")));
    let rogue = inv
        .tasks
        .iter()
        .find(|t| t.cluster == "batch")
        .expect("the standalone task");
    assert_eq!(rogue.service, None, "standalone");
    assert_eq!(rogue.task_definition, "metrics-agent:1");
    assert_eq!(rogue.images, ["docker.io/xmrig/xmrig:latest"]);
    assert_eq!(rogue.last_status, "RUNNING");
    let eni = rogue.eni_id.clone().expect("the awsvpc interface");
    assert!(eni.starts_with("eni-"), "{eni}");
    assert!(rogue.private_ip.is_some());
    // The interface carries the task's group: the exposure code can judge it like an instance's.
    let groups: Vec<String> = ec2
        .describe_network_interfaces()
        .network_interface_ids(&eni)
        .send()
        .await
        .unwrap()
        .network_interfaces()[0]
        .groups()
        .iter()
        .filter_map(|g| g.group_id().map(str::to_string))
        .collect();
    assert_eq!(groups, [open]);
    assert_eq!(
        inv.services,
        [("prod-web".to_string(), "web".to_string(), 12)]
    );
    // Calls: ListClusters 1; per cluster ListServices 1 + DescribeServices (prod-web 1) +
    // ListTasks pages (prod-web 3, batch 1) + DescribeTasks (prod-web 1, batch 1).
    assert_eq!(inv.calls, 1 + 2 + 1 + 4 + 2);
    let pages = emu
        .requests()
        .iter()
        .filter(|r| r["action"] == "ListTasks")
        .count();
    assert_eq!(pages, 4, "ListTasks paged");

    // Runtime Monitoring findings on ECS attach to the task by its ARN, or to the cluster.
    let cluster_arn = "arn:aws:ecs:us-east-1:123456789012:cluster/batch";
    emu.post(
        "/_watchfloor/guardduty/findings",
        &serde_json::json!({"account_id": "123456789012", "region": "us-east-1", "findings": [
            {"type": "CryptoCurrency:Runtime/BitcoinTool.B!DNS", "severity": 8.0,
             "cluster_arn": cluster_arn, "task_arn": rogue.task_arn},
            {"type": "Impact:Runtime/CryptoMinerExecuted", "severity": 8.0, "cluster_arn": cluster_arn},
        ]}),
    );
    let gd = aws_sdk_guardduty::Client::new(&cfg);
    let found = watchfloor::source::aws::findings::FindingsPoller::default()
        .poll(&gd, chrono::Utc::now())
        .await
        .expect("findings")
        .findings;
    let on_task = found
        .iter()
        .find(|f| f.kind == "CryptoCurrency:Runtime/BitcoinTool.B!DNS")
        .unwrap();
    assert_eq!(on_task.task_arn.as_deref(), Some(rogue.task_arn.as_str()));
    assert_eq!(on_task.cluster_arn.as_deref(), Some(cluster_arn));
    assert_eq!(on_task.instance_id, None);
    let on_cluster = found
        .iter()
        .find(|f| f.kind == "Impact:Runtime/CryptoMinerExecuted")
        .unwrap();
    assert_eq!(on_cluster.task_arn, None);
    assert_eq!(on_cluster.cluster_arn.as_deref(), Some(cluster_arn));
}
