//! The ECS inventory against the emulator over HTTP with the real SDK: several clusters, more
//! than one page of tasks, a service's tasks and a standalone Fargate task with its awsvpc
//! interface.

mod support;

use aws_sdk_ecs::types::{AwsVpcConfiguration, LaunchType, NetworkConfiguration};
use support::seed::{default_vpc, sdk, world_tcp};
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

/// Registers a Fargate task definition (awsvpc) of one container running `image`.
async fn register(ecs: &aws_sdk_ecs::Client, family: &str, image: &str) {
    support::seed::register(ecs, family, image)
        .await
        .expect("RegisterTaskDefinition");
}

/// The id of the deployment CreateService started: what a service's scheduler puts in its
/// tasks' `startedBy`.
fn deployment(out: aws_sdk_ecs::operation::create_service::CreateServiceOutput) -> String {
    out.service().unwrap().deployments()[0]
        .id()
        .unwrap()
        .to_string()
}

/// moto moves a task one state further (RUNNING -> DEACTIVATING -> ...) each time it is
/// described; hold tasks where they are, as AWS does until something stops them.
fn hold_tasks(emu: &Emulator) {
    emu.post(
        "/moto-api/state-manager/set-transition",
        &serde_json::json!({"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1_000_000}}),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_services_and_tasks_paged() {
    let emu = Emulator::start();
    set_test_credentials();
    hold_tasks(&emu);
    let cfg = sdk(&emu, "us-east-1", None).await;
    let ecs_client = aws_sdk_ecs::Client::new(&cfg);
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let subnet = subnet(&ec2).await;
    let open = world_tcp(&ec2, "task-ssh-world", 22).await;
    for c in ["prod-web", "batch"] {
        ecs_client
            .create_cluster()
            .cluster_name(c)
            .send()
            .await
            .unwrap();
    }
    register(
        &ecs_client,
        "web",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.4",
    )
    .await;
    register(&ecs_client, "metrics-agent", "docker.io/xmrig/xmrig:latest").await;
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
    // Twelve tasks of a service (moto's services start none: run them as the scheduler would,
    // started by the service's deployment).
    let started_by = deployment(
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
            .unwrap(),
    );
    // In two calls, as a scheduler would start them.
    for count in [10, 2] {
        ecs_client
            .run_task()
            .cluster("prod-web")
            .task_definition("web")
            .count(count)
            .group("service:web")
            .started_by(&started_by)
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

    let mut definitions = std::collections::HashMap::new();
    let inv = ecs::poll_paged(&ecs_client, 5, &mut definitions)
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
        && t.started_by == started_by));
    let rogue = inv
        .tasks
        .iter()
        .find(|t| t.cluster == "batch")
        .expect("the standalone task");
    assert_eq!(rogue.service, None, "standalone");
    assert_eq!(rogue.task_definition, "metrics-agent:1");
    assert_eq!(
        rogue.images().collect::<Vec<_>>(),
        ["docker.io/xmrig/xmrig:latest"]
    );
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
        inv.services
            .iter()
            .map(|s| (s.cluster.as_str(), s.name.as_str(), s.desired))
            .collect::<Vec<_>>(),
        [("prod-web", "web", 12)]
    );
    assert_eq!(inv.clusters.len(), 2);
    let def = rogue.definition.as_ref().expect("described");
    assert_eq!(def.network_mode, "awsvpc");
    // Calls: ListClusters 1 + DescribeClusters 1; per cluster ListServices 1 +
    // DescribeServices (prod-web 1) + ListTasks pages (prod-web 3, batch 1) + DescribeTasks
    // (prod-web 1, batch 1); DescribeTaskDefinition once per revision (web:1, metrics-agent:1).
    assert_eq!(inv.calls, 1 + 1 + 2 + 1 + 4 + 2 + 2);
    assert_eq!(
        inv.calls,
        ecs::minimum_calls(&[(1, 12, 0), (0, 1, 0)], 2) + 2,
        "the minimum, but for the two extra ListTasks pages of 5"
    );
    // The revisions are described once: the next refresh asks for none.
    let again = ecs::poll_paged(&ecs_client, 5, &mut definitions)
        .await
        .expect("ECS inventory");
    assert_eq!(again.calls, inv.calls - 2);
    assert!(again.tasks.iter().all(|t| t.definition.is_some()));
    let pages = emu
        .requests()
        .iter()
        .filter(|r| r["action"] == "ListTasks")
        .count();
    assert_eq!(
        pages, 8,
        "ListTasks paged: 4 pages in each of the two polls"
    );

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

const MAIN: &str = "123456789012";

fn config(emu: &Emulator) -> watchfloor::config::Config {
    let src = format!(
        "[settings]\nrequest_timeout_secs = 20\n\n[[account]]\nalias = \"main\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\n",
        emu.url()
    );
    watchfloor::config::Config::parse(std::path::Path::new("ecs.toml"), &src)
        .expect("valid test config")
}

/// Three 1-minute datapoints of `metric` in `namespace`, the last one 90 s ago.
async fn metric(
    cw: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    name: &str,
    dims: &[(&str, &str)],
    value: f64,
) {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let now = chrono::Utc::now().timestamp();
    let data: Vec<MetricDatum> = (0..3)
        .map(|k| {
            MetricDatum::builder()
                .metric_name(name)
                .set_dimensions(Some(
                    dims.iter()
                        .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
                        .collect(),
                ))
                .timestamp(aws_smithy_types::DateTime::from_secs(now - k * 60 - 90))
                .value(value)
                .build()
        })
        .collect();
    cw.put_metric_data()
        .namespace(namespace)
        .set_metric_data(Some(data))
        .send()
        .await
        .expect("PutMetricData");
}

/// Task rows in the fleet, read by the real feeds: a standalone miner with a public IP, a
/// world-open group, a public image, a new task definition and a Runtime finding; quiet
/// service tasks with Container Insights CPU; a service in a cluster without it (its CPU is
/// the service's); exposure from the task's own interface.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_rows_with_exposure_cpu_findings_and_flags() {
    use std::sync::Arc;
    use watchfloor::app::{CpuSource, Msg, State, update};
    use watchfloor::model::flags::Flag;

    let emu = Emulator::start();
    set_test_credentials();
    hold_tasks(&emu);
    let cfg = sdk(&emu, "us-east-1", None).await;
    let ecs_client = aws_sdk_ecs::Client::new(&cfg);
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let cw = aws_sdk_cloudwatch::Client::new(&cfg);
    let subnet = subnet(&ec2).await;
    let stratum = world_tcp(&ec2, "stratum-world", 3333).await;
    let vpc = default_vpc(&ec2).await;
    let internal = support::seed::group_in(&ec2, &vpc, "internal-only", vec![]).await;
    ecs_client
        .create_cluster()
        .cluster_name("prod-web")
        .settings(
            aws_sdk_ecs::types::ClusterSetting::builder()
                .name(aws_sdk_ecs::types::ClusterSettingName::ContainerInsights)
                .value("enhanced")
                .build(),
        )
        .send()
        .await
        .unwrap();
    ecs_client
        .create_cluster()
        .cluster_name("batch")
        .send()
        .await
        .unwrap();
    let ecr = format!("{MAIN}.dkr.ecr.us-east-1.amazonaws.com/web:1.4");
    register(&ecs_client, "web", &ecr).await;
    register(&ecs_client, "agent", &ecr).await;
    register(&ecs_client, "metrics-agent", "docker.io/xmrig/xmrig:latest").await;
    // The account's own definitions are a month old; the miner's is fresh.
    for def in ["web:1", "agent:1"] {
        emu.post(
            "/_watchfloor/ecs/registered-at",
            &serde_json::json!({
                "task_definition_arn": format!("arn:aws:ecs:us-east-1:{MAIN}:task-definition/{def}"),
                "at": (chrono::Utc::now() - chrono::TimeDelta::days(30)).timestamp(),
            }),
        );
    }
    let net = |group: &str| {
        NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .subnets(&subnet)
                    .security_groups(group)
                    .build()
                    .unwrap(),
            )
            .build()
    };
    // (group, startedBy) of a task: its service's deployment, or whatever an attacker wrote.
    let run = |cluster: &str, def: &str, group: Option<(&str, &str)>, sg: &str| {
        let mut req = ecs_client
            .run_task()
            .cluster(cluster)
            .task_definition(def)
            .launch_type(LaunchType::Fargate)
            .network_configuration(net(sg));
        if let Some((g, by)) = group {
            req = req.group(g).started_by(by);
        }
        req.send()
    };
    let mut deployments = std::collections::HashMap::new();
    for (cluster, svc, def) in [("prod-web", "web", "web"), ("batch", "agent", "agent")] {
        let out = ecs_client
            .create_service()
            .cluster(cluster)
            .service_name(svc)
            .task_definition(def)
            .desired_count(2)
            .launch_type(LaunchType::Fargate)
            .network_configuration(net(&internal))
            .send()
            .await
            .unwrap();
        deployments.insert(svc, deployment(out));
    }
    let mut web_tasks = Vec::new();
    for _ in 0..2 {
        let out = run(
            "prod-web",
            "web",
            Some(("service:web", &deployments["web"])),
            &internal,
        )
        .await
        .unwrap();
        web_tasks.push(out.tasks()[0].task_arn().unwrap().to_string());
    }
    run(
        "batch",
        "agent",
        Some(("service:agent", &deployments["agent"])),
        &internal,
    )
    .await
    .unwrap();
    // A miner that claims to be the agent service's (RunTask --group service:agent).
    let forged = run(
        "batch",
        "metrics-agent",
        Some(("service:agent", "ecs-svc/1234567890")),
        &internal,
    )
    .await
    .unwrap();
    let forged_arn = forged.tasks()[0].task_arn().unwrap().to_string();
    let rogue = run("batch", "metrics-agent", None, &stratum).await.unwrap();
    let rogue = rogue.tasks()[0].clone();
    let rogue_arn = rogue.task_arn().unwrap().to_string();
    let eni = rogue
        .attachments()
        .iter()
        .flat_map(|a| a.details())
        .find(|d| d.name() == Some("networkInterfaceId"))
        .and_then(|d| d.value())
        .unwrap()
        .to_string();
    // A public IP on the miner's interface (moto ignores assignPublicIp: an Elastic IP does
    // what AWS's auto-assigned address does).
    let eip = ec2
        .allocate_address()
        .domain(aws_sdk_ec2::types::DomainType::Vpc)
        .send()
        .await
        .unwrap();
    ec2.associate_address()
        .allocation_id(eip.allocation_id().unwrap())
        .network_interface_id(&eni)
        .send()
        .await
        .expect("AssociateAddress on the task's interface");
    // CPU: task-level in prod-web (Container Insights), the service's in batch.
    for (k, arn) in web_tasks.iter().enumerate() {
        let id = arn.rsplit('/').next().unwrap();
        let dims = [
            ("ClusterName", "prod-web"),
            ("TaskDefinitionFamily", "web"),
            ("TaskId", id),
        ];
        metric(&cw, "ECS/ContainerInsights", "CpuReserved", &dims, 256.0).await;
        let used = if k == 0 { 64.0 } else { 250.0 };
        metric(&cw, "ECS/ContainerInsights", "CpuUtilized", &dims, used).await;
    }
    metric(
        &cw,
        "AWS/ECS",
        "CPUUtilization",
        &[("ClusterName", "batch"), ("ServiceName", "agent")],
        97.0,
    )
    .await;
    let cluster_arn = format!("arn:aws:ecs:us-east-1:{MAIN}:cluster/batch");
    emu.post(
        "/_watchfloor/guardduty/findings",
        &serde_json::json!({"account_id": MAIN, "region": "us-east-1", "findings": [
            {"type": "CryptoCurrency:Runtime/BitcoinTool.B!DNS", "severity": 8.0,
             "cluster_arn": cluster_arn, "task_arn": rogue_arn},
        ]}),
    );

    // One refresh, as `snapshot` makes it: the CPU feed waits for the ECS inventory.
    let prompt = Arc::new(watchfloor::aws::TerminalPrompt);
    let mut s = State::new(
        "aws",
        watchfloor::keymap::Keymap::default_map(),
        chrono::Utc::now(),
    );
    let reports =
        watchfloor::source::aws::poll_once(&config(&emu), prompt, &Default::default()).await;
    for r in reports {
        update(&mut s, Msg::Feed(r));
    }
    let row = |arn: &str| {
        s.fleet
            .rows
            .iter()
            .find(|r| r.id() == arn)
            .unwrap_or_else(|| panic!("no row {arn}"))
    };
    assert_eq!(
        s.fleet.totals.tasks, 5,
        "two web, one agent, the miner, the forged one"
    );
    // A forged service claim is not believed: standalone, flagged, no service CPU.
    let f = row(&forged_arn);
    let ft = f.task().unwrap();
    assert_eq!(ft.service, None);
    assert_eq!(ft.claimed_service.as_deref(), Some("agent"));
    assert!(f.flags.has(Flag::StandaloneTask) && f.flags.has(Flag::ForgedService));
    assert_eq!(f.cpu_source, CpuSource::Unknown, "not the agent's CPU");
    assert!(
        f.risk.reasons.iter().any(|r| r.why.contains("forged")),
        "{:?}",
        f.risk.reasons
    );
    let miner = row(&rogue_arn);
    let t = miner.task().unwrap();
    assert_eq!(t.service, None);
    assert_eq!(miner.subject.name(), "standalone metrics-agent");
    assert_eq!(miner.exposure.label(), "3333");
    assert!(miner.reachable, "a world-open port on a public IP");
    assert_eq!(miner.subject.public_ip(), eip.public_ip());
    assert_eq!(miner.finding_count, 1);
    for flag in [
        Flag::StandaloneTask,
        Flag::PublicImage,
        Flag::NewTaskDef,
        Flag::WorldOpen,
    ] {
        assert!(miner.flags.has(flag), "{flag:?}: {:?}", miner.flags);
    }
    assert_eq!(miner.cpu_now, None, "standalone, no Container Insights");
    assert_eq!(miner.cpu_source, CpuSource::Unknown);
    let reasons: Vec<&str> = miner.risk.reasons.iter().map(|r| r.why.as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("standalone task")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("image from outside the account")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("registered in the last 24 h")),
        "{reasons:?}"
    );
    // The quiet web tasks: own image, old definition, internal group, task-level CPU.
    let quiet = row(&web_tasks[0]);
    assert_eq!(quiet.exposure.label(), "-");
    assert!(!quiet.reachable);
    assert_eq!(quiet.finding_count, 0);
    assert_eq!(quiet.flags.iter().count(), 0, "{:?}", quiet.flags);
    assert_eq!(quiet.cpu_source, CpuSource::Own);
    assert_eq!(quiet.cpu_now, Some(25.0), "64 of 256 units");
    let busy = row(&web_tasks[1]);
    assert!(busy.saturated, "250 of 256 units: {:?}", busy.cpu_now);
    assert!(miner.risk.score > quiet.risk.score);
    // The agent's task has its service's CPU, and says so.
    let agent = s
        .fleet
        .rows
        .iter()
        .find(|r| {
            r.task()
                .is_some_and(|t| t.service.as_deref() == Some("agent"))
        })
        .unwrap();
    assert_eq!(agent.cpu_source, CpuSource::Service);
    assert_eq!(agent.cpu_now, Some(97.0));
    assert!(agent.saturated);
    let miner_risk = miner.risk.score;
    // `kind:task` finds exactly the tasks.
    for c in "/kind:task".chars() {
        let k = if c == '/' {
            "/".to_string()
        } else {
            c.to_string()
        };
        update(
            &mut s,
            Msg::Key(watchfloor::keymap::Key::parse(&k).unwrap()),
        );
    }
    update(
        &mut s,
        Msg::Key(watchfloor::keymap::Key::parse("enter").unwrap()),
    );
    assert_eq!(s.view.len(), 5);
    assert!(s.view.iter().all(|i| s.fleet.rows[*i].task().is_some()));
    // The snapshot's tasks[].
    let snap = watchfloor::snapshot::build(&s.fleet, "aws", chrono::Utc::now());
    let json = serde_json::to_value(&snap).unwrap();
    let tasks = json["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 5);
    let m = tasks
        .iter()
        .find(|t| t["task_arn"] == rogue_arn.as_str())
        .unwrap();
    assert_eq!(m["service"], serde_json::Value::Null);
    assert_eq!(m["cluster"], "batch");
    assert_eq!(m["task_definition"], "metrics-agent:1");
    assert_eq!(m["launch_type"], "FARGATE");
    assert_eq!(
        m["images"],
        serde_json::json!(["docker.io/xmrig/xmrig:latest"])
    );
    assert_eq!(m["cpu_percent"], serde_json::Value::Null);
    assert_eq!(m["open_ports"][0]["from_port"], 3333);
    assert_eq!(m["public_ip"], eip.public_ip().unwrap());
    assert_eq!(
        m["findings"][0]["type"],
        "CryptoCurrency:Runtime/BitcoinTool.B!DNS"
    );
    assert_eq!(m["risk"], miner_risk);
    let flags: Vec<&str> = m["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    for f in ["standalone-task", "public-image", "new-task-def"] {
        assert!(flags.contains(&f), "{flags:?}");
    }
}

/// A Fargate cluster `prod-web` with service `web` (3 tasks, as its scheduler would run them)
/// and an attacker's standalone task, all held RUNNING. Returns (web task ARNs, rogue ARN).
async fn ecs_fleet(emu: &Emulator, cfg: &aws_config::SdkConfig) -> (Vec<String>, String) {
    hold_tasks(emu);
    let ecs_client = aws_sdk_ecs::Client::new(cfg);
    let ec2 = aws_sdk_ec2::Client::new(cfg);
    let subnet = subnet(&ec2).await;
    let vpc = default_vpc(&ec2).await;
    let group = support::seed::group_in(&ec2, &vpc, "web-internal", vec![]).await;
    ecs_client
        .create_cluster()
        .cluster_name("prod-web")
        .send()
        .await
        .unwrap();
    for (family, image) in [
        (
            "web",
            format!("{MAIN}.dkr.ecr.us-east-1.amazonaws.com/web:1.4"),
        ),
        ("metrics-agent", "docker.io/xmrig/xmrig:latest".to_string()),
    ] {
        register(&ecs_client, family, &image).await;
    }
    let net = NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets(&subnet)
                .security_groups(&group)
                .build()
                .unwrap(),
        )
        .build();
    let started_by = deployment(
        ecs_client
            .create_service()
            .cluster("prod-web")
            .service_name("web")
            .task_definition("web")
            .desired_count(3)
            .launch_type(LaunchType::Fargate)
            .network_configuration(net.clone())
            .send()
            .await
            .unwrap(),
    );
    let web = ecs_client
        .run_task()
        .cluster("prod-web")
        .task_definition("web")
        .count(3)
        .group("service:web")
        .started_by(&started_by)
        .launch_type(LaunchType::Fargate)
        .network_configuration(net.clone())
        .send()
        .await
        .unwrap();
    let rogue = ecs_client
        .run_task()
        .cluster("prod-web")
        .task_definition("metrics-agent")
        .launch_type(LaunchType::Fargate)
        .network_configuration(net)
        .send()
        .await
        .unwrap();
    (
        web.tasks()
            .iter()
            .map(|t| t.task_arn().unwrap().to_string())
            .collect(),
        rogue.tasks()[0].task_arn().unwrap().to_string(),
    )
}

/// Last status of each task, by ARN.
async fn statuses(ecs_client: &aws_sdk_ecs::Client, arns: &[String]) -> Vec<String> {
    let out = ecs_client
        .describe_tasks()
        .cluster("prod-web")
        .set_tasks(Some(arns.to_vec()))
        .send()
        .await
        .unwrap();
    arns.iter()
        .map(|a| {
            out.tasks()
                .iter()
                .find(|t| t.task_arn() == Some(a))
                .and_then(|t| t.last_status())
                .unwrap_or("?")
                .to_string()
        })
        .collect()
}

/// stop-task stops its target and nothing else, with the case in the reason; the task's
/// description and task definition are in the case's evidence folder, named by the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_task_stops_only_its_target_and_keeps_evidence() {
    use support::triage::{ctx, journal, target};
    use watchfloor::triage::aws_ops::AwsOps;
    use watchfloor::triage::{Action, AuditLog, Runner, Verdict};

    let emu = Emulator::start();
    set_test_credentials();
    let cfg = sdk(&emu, "us-east-1", None).await;
    let (web, rogue) = ecs_fleet(&emu, &cfg).await;
    let ecs_client = aws_sdk_ecs::Client::new(&cfg);
    let ops = AwsOps::from_conf(&cfg);
    let dir = tempfile::tempdir().unwrap();
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let mut j = journal(&log);
    let action = Action::StopTask {
        cluster: "prod-web".into(),
    };
    let mut r = Runner::new(&ops, &mut log, &mut j, target(&rogue), ctx("IR-9"));
    let p = r.preview(&action).await.expect("preview");
    let stop = p.checks.iter().find(|c| c.what == "StopTask").unwrap();
    assert!(matches!(stop.verdict, Verdict::Unchecked(_)), "{stop:?}");
    assert!(stop.verdict.label().starts_with("not checkable in advance"));
    assert!(
        p.checks.iter().all(|c| c.verdict.permits()),
        "{:?}",
        p.checks
    );
    assert_eq!(
        statuses(&ecs_client, std::slice::from_ref(&rogue)).await,
        ["RUNNING"]
    );
    let msg = r.run(&action).await.expect("stop-task");
    assert!(msg.contains("stopping"), "{msg}");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    drop(r);

    assert_eq!(
        statuses(&ecs_client, std::slice::from_ref(&rogue)).await,
        ["STOPPED"]
    );
    assert_eq!(
        statuses(&ecs_client, &web).await,
        ["RUNNING", "RUNNING", "RUNNING"],
        "only the target stops"
    );
    let reason = ecs_client
        .describe_tasks()
        .cluster("prod-web")
        .tasks(&rogue)
        .send()
        .await
        .unwrap()
        .tasks()[0]
        .stopped_reason()
        .unwrap_or_default()
        .to_string();
    assert!(reason.contains("IR-9"), "{reason}");
    let stops: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|q| q["action"] == "StopTask")
        .collect();
    assert_eq!(stops.len(), 1);

    // Evidence, as ECS wrote it, where the audit log says.
    let evidence = dir.path().join("evidence").join("IR-9");
    let id = rogue.rsplit('/').next().unwrap();
    let task_json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(evidence.join(format!("task-{id}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(task_json["tasks"][0]["taskArn"], rogue.as_str());
    let def_json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(evidence.join("task-definition-metrics-agent_1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        def_json["taskDefinition"]["containerDefinitions"][0]["image"],
        "docker.io/xmrig/xmrig:latest"
    );
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    for name in [
        format!("task-{id}.json"),
        "task-definition-metrics-agent_1.json".into(),
    ] {
        assert!(
            audit
                .lines()
                .any(|l| l.contains("evidence") && l.contains(&name)),
            "the audit log names {name}"
        );
    }
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"stop-task\"") && l.contains("\"result\""))
    );

    // Stopping it again changes nothing.
    let mut j = journal(&log);
    let mut r = Runner::new(&ops, &mut log, &mut j, target(&rogue), ctx("IR-9"));
    let again = r.run(&action).await.expect("second stop-task");
    assert!(again.contains("already stopped"), "{again}");
    drop(r);
    let stops = emu
        .requests()
        .into_iter()
        .filter(|q| q["action"] == "StopTask")
        .count();
    assert_eq!(stops, 1, "no second StopTask");
}

/// Runs `action` on `id` with a fresh journal, as the executor does for every job.
async fn run_on(
    ops: &watchfloor::triage::aws_ops::AwsOps,
    log: &mut watchfloor::triage::AuditLog,
    id: &str,
    action: watchfloor::triage::Action,
) -> Result<String, watchfloor::triage::TriageError> {
    let mut j = support::triage::journal(log);
    let mut r = watchfloor::triage::Runner::new(
        ops,
        log,
        &mut j,
        support::triage::target(id),
        support::triage::ctx("IR-9"),
    );
    r.run(&action).await
}

/// scale-to-zero journals the count before, sets 0; release puts the journaled count back and
/// closes the record; a second scale-to-zero keeps the first count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_scaled_to_zero_and_back() {
    use support::triage::{journal, target};
    use watchfloor::triage::aws_ops::AwsOps;
    use watchfloor::triage::{Action, AuditLog, TriageError, service_arn};

    let emu = Emulator::start();
    set_test_credentials();
    let cfg = sdk(&emu, "us-east-1", None).await;
    let (web, _) = ecs_fleet(&emu, &cfg).await;
    let ecs_client = aws_sdk_ecs::Client::new(&cfg);
    let ops = AwsOps::from_conf(&cfg);
    let dir = tempfile::tempdir().unwrap();
    let mut log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
    let svc = service_arn("us-east-1", MAIN, "prod-web", "web");
    let desired = || async {
        ecs_client
            .describe_services()
            .cluster("prod-web")
            .services("web")
            .send()
            .await
            .unwrap()
            .services()[0]
            .desired_count()
    };
    let zero = Action::ScaleToZero {
        cluster: "prod-web".into(),
        service: "web".into(),
        task: Some(web[0].clone()),
    };
    let restore = Action::RestoreService {
        cluster: "prod-web".into(),
        service: "web".into(),
    };
    assert_eq!(desired().await, 3);
    let msg = run_on(&ops, &mut log, &svc, zero.clone())
        .await
        .expect("scale-to-zero");
    assert!(msg.contains("release puts back 3"), "{msg}");
    assert_eq!(desired().await, 0);
    let j = journal(&log);
    assert_eq!(j.scaled(&target(&svc).key()).map(|s| s.desired), Some(3));
    // The task acted from is kept as evidence, before the scale.
    let id = web[0].rsplit('/').next().unwrap();
    let kept = dir
        .path()
        .join("evidence/IR-9")
        .join(format!("task-{id}.json"));
    assert!(kept.exists());
    // Run again at zero: the journal keeps the count from before the first.
    run_on(&ops, &mut log, &svc, zero.clone())
        .await
        .expect("second scale-to-zero");
    assert_eq!(
        journal(&log).scaled(&target(&svc).key()).map(|s| s.desired),
        Some(3)
    );
    // The second capture goes beside the first, never over it.
    assert!(kept.with_file_name(format!("task-{id}-2.json")).exists());

    let back = run_on(&ops, &mut log, &svc, restore.clone())
        .await
        .expect("restore");
    assert!(back.contains("back to 3"), "{back}");
    assert_eq!(desired().await, 3);
    assert_eq!(
        journal(&log).scaled(&target(&svc).key()),
        None,
        "record closed"
    );
    // Nothing left to restore: refused, nothing called.
    let calls = emu
        .requests()
        .into_iter()
        .filter(|q| q["action"] == "UpdateService")
        .count();
    let err = run_on(&ops, &mut log, &svc, restore).await.unwrap_err();
    assert!(matches!(err, TriageError::Refused(_)), "{err}");
    assert_eq!(
        emu.requests()
            .into_iter()
            .filter(|q| q["action"] == "UpdateService")
            .count(),
        calls
    );
    assert_eq!(calls, 3, "0, 0 again, then 3");
}

/// Headless, as a runbook runs it: scale-to-zero and release with names or ARNs alike (one
/// journal record), stop-task from its ARN alone; an ARN of another region is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_ecs_triage_takes_names_or_arns() {
    let emu = Emulator::start();
    set_test_credentials();
    let cfg = sdk(&emu, "us-east-1", None).await;
    let (_, rogue) = ecs_fleet(&emu, &cfg).await;
    let ecs_client = aws_sdk_ecs::Client::new(&cfg);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("config.toml");
    let audit = dir.path().join("audit.jsonl");
    std::fs::write(
        &conf,
        format!(
            "[[account]]\nalias = \"main\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\n",
            emu.url()
        ),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_watchfloor");
    let triage = |args: &[&str]| {
        std::process::Command::new(bin)
            .arg("triage")
            .args(args)
            .args([
                "--account",
                "main",
                "--region",
                "us-east-1",
                "--case",
                "IR-9",
            ])
            .args(["--config", conf.to_str().unwrap()])
            .args(["--audit-log", audit.to_str().unwrap(), "--yes"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let desired = || async {
        ecs_client
            .describe_services()
            .cluster("prod-web")
            .services("web")
            .send()
            .await
            .unwrap()
            .services()[0]
            .desired_count()
    };
    let out = triage(&["scale-to-zero", "--cluster", "prod-web", "--service", "web"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(desired().await, 0);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("watchfloor triage release --account main --region us-east-1 --cluster prod-web --service web --case IR-9"),
        "{said}"
    );
    // Release with ARNs finds the record the names wrote.
    let out = triage(&[
        "release",
        "--cluster",
        &format!("arn:aws:ecs:us-east-1:{MAIN}:cluster/prod-web"),
        "--service",
        &format!("arn:aws:ecs:us-east-1:{MAIN}:service/prod-web/web"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(desired().await, 3);
    // A task ARN of another region than --region: refused, nothing stopped.
    let elsewhere = rogue.replace("us-east-1", "eu-west-1");
    let out = triage(&["stop-task", "--task", &elsewhere]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not 123456789012 us-east-1"));
    assert_eq!(
        emu.requests()
            .into_iter()
            .filter(|q| q["action"] == "StopTask")
            .count(),
        0
    );
    // The task ARN alone names its cluster.
    let out = triage(&["stop-task", "--task", &rogue]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        statuses(&ecs_client, std::slice::from_ref(&rogue)).await,
        ["STOPPED"]
    );
}
