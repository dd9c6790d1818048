//! Triage operations on the simulated fleet: same engine, same audit records; changes are kept as
//! overrides the demo feeds report on their next poll. Dry runs are always allowed (no IAM).
//! ECS calls answer over the same world, with documents shaped like ECS's JSON answers.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Direction, Facts, GroupInfo, OpResult, Ops, ServiceCounts, TaskFacts, Volume};
use crate::aws::{AwsError, ErrorKind};
use crate::model::task::{Task, name_of};
use crate::model::{IngressRule, InstanceState, RuleSource, Scope, SecurityGroup};
use crate::source::demo::DemoWorld;

/// The demo fleet, as triage sees one account x region of it.
#[derive(Debug, Clone)]
pub struct DemoOps {
    /// The shared simulated world.
    pub world: Arc<DemoWorld>,
    /// Account x region acted in.
    pub scope: Scope,
}

impl DemoOps {
    fn with<T>(&self, f: impl FnOnce(&mut crate::source::demo::Overrides) -> T) -> T {
        let mut o = self
            .world
            .overrides
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        f(&mut o)
    }

    fn ok(dry_run: bool, f: impl FnOnce()) -> OpResult {
        if !dry_run {
            f();
        }
        Ok(None)
    }

    /// The ARN of one of this scope's clusters (named or given by ARN).
    fn cluster_arn(&self, cluster: &str) -> String {
        format!(
            "arn:aws:ecs:{}:{}:cluster/{}",
            self.scope.region,
            self.scope.account_id,
            name_of(cluster)
        )
    }

    /// The ARN of a task definition revision of this scope.
    fn task_definition_arn(&self, family_revision: &str) -> String {
        format!(
            "arn:aws:ecs:{}:{}:task-definition/{family_revision}",
            self.scope.region, self.scope.account_id
        )
    }

    /// The service of this scope named `service` (or its ARN) in `cluster`, as DescribeServices
    /// would count it now.
    fn service(&self, cluster: &str, service: &str) -> Option<crate::model::task::Service> {
        let (_, services, _) = self.world.ecs_at(&self.scope, f64::INFINITY);
        services
            .into_iter()
            .find(|s| s.cluster == name_of(cluster) && s.name == name_of(service))
    }

    /// DescribeTasks' answer about one task: `stopped` is (stop code, reason) once it stopped.
    fn describe_tasks_json(&self, t: &Task, stopped: Option<(&str, &str)>) -> String {
        let mut task = json!({
            "taskArn": t.task_arn,
            "clusterArn": self.cluster_arn(&t.cluster),
            "taskDefinitionArn": self.task_definition_arn(&t.task_definition),
            "group": group_of(t),
            "lastStatus": t.last_status,
            "desiredStatus": if stopped.is_some() { "STOPPED" } else { "RUNNING" },
            "launchType": t.launch_type,
            "cpu": t.cpu,
            "memory": t.memory,
            "startedAt": t.started_at.map(epoch),
            "startedBy": (!t.started_by.is_empty()).then_some(&t.started_by),
            "containerInstanceArn": t.container_instance,
            "containers": t.containers.iter().map(|c| {
                let mut v = json!({
                    "taskArn": t.task_arn,
                    "name": c.name,
                    "image": c.image,
                    "imageDigest": c.digest,
                    "lastStatus": t.last_status,
                    "networkBindings": c.host_ports.iter().map(|(port, proto)| json!({
                        "bindIP": "0.0.0.0",
                        "hostPort": port,
                        "protocol": proto,
                    })).collect::<Vec<_>>(),
                });
                if let Some(ip) = &t.private_ip {
                    v["networkInterfaces"] = json!([{ "privateIpv4Address": ip }]);
                }
                v
            }).collect::<Vec<_>>(),
            "attachments": t.eni_id.iter().map(|eni| json!({
                "type": "ElasticNetworkInterface",
                "status": if stopped.is_some() { "DELETED" } else { "ATTACHED" },
                "details": [
                    { "name": "networkInterfaceId", "value": eni },
                    { "name": "privateIPv4Address", "value": t.private_ip },
                ],
            })).collect::<Vec<_>>(),
        });
        if let Some((code, reason)) = stopped {
            task["stopCode"] = json!(code);
            task["stoppedReason"] = json!(reason);
        }
        drop_nulls(&mut task);
        pretty(&json!({ "tasks": [task], "failures": [] }))
    }

    /// DescribeTaskDefinition's answer about the revision `t` runs.
    fn task_definition_doc(&self, t: &Task) -> String {
        let def = t
            .definition
            .clone()
            .unwrap_or_else(|| crate::model::task::TaskDefinition {
                registered_at: None,
                network_mode: "awsvpc".into(),
                task_role_arn: None,
            });
        let revision = t
            .task_definition
            .rsplit_once(':')
            .and_then(|(_, r)| r.parse::<i64>().ok());
        let mut doc = json!({
            "taskDefinitionArn": self.task_definition_arn(&t.task_definition),
            "family": t.family(),
            "revision": revision,
            "containerDefinitions": t.containers.iter().map(|c| json!({
                "name": c.name,
                "image": c.image,
                "cpu": 0,
                "essential": true,
                "portMappings": [],
            })).collect::<Vec<_>>(),
            "taskRoleArn": def.task_role_arn,
            "networkMode": def.network_mode,
            "status": "ACTIVE",
            "requiresCompatibilities": [t.launch_type],
            "cpu": t.cpu,
            "memory": t.memory,
            "registeredAt": def.registered_at.map(epoch),
        });
        drop_nulls(&mut doc);
        pretty(&json!({ "taskDefinition": doc }))
    }
}

impl Ops for DemoOps {
    async fn caller_account(&self) -> Result<String, AwsError> {
        Ok(self.scope.account_id.clone())
    }

    async fn describe(&self, instance: &str) -> Result<Facts, AwsError> {
        let (instances, _) = self.world.ec2_at(&self.scope, f64::INFINITY);
        let i = instances
            .into_iter()
            .find(|i| i.instance_id == instance)
            .ok_or_else(|| {
                AwsError::new(
                    ErrorKind::NotFound,
                    format!("{instance} not found in {}", self.scope.region),
                )
            })?;
        Ok(Facts {
            state: Some(i.state),
            vpc_id: i.vpc_id.clone(),
            enis: i
                .interfaces
                .iter()
                .map(|n| (n.eni_id.clone(), n.group_ids.clone()))
                .collect(),
            tags: i.tags.iter().cloned().collect(),
            stop_protection: i.stop_protection,
            termination_protection: i.termination_protection,
            shutdown_behavior: Some(self.with(|o| {
                o.shutdown
                    .get(instance)
                    .cloned()
                    .unwrap_or_else(|| "stop".into())
            })),
            volumes: vec![Volume {
                device: "/dev/xvda".into(),
                volume_id: DemoWorld::volume_of(instance),
                delete_on_termination: Some(self.with(|o| {
                    o.delete_on_termination
                        .get(instance)
                        .copied()
                        .unwrap_or(true)
                })),
            }],
        })
    }

    async fn set_eni_groups(&self, eni: &str, groups: &[String], dry_run: bool) -> OpResult {
        Self::ok(dry_run, || {
            self.with(|o| {
                o.eni_groups.insert(eni.to_string(), groups.to_vec());
            })
        })
    }

    async fn set_termination_protection(
        &self,
        instance: &str,
        on: bool,
        dry_run: bool,
    ) -> OpResult {
        let cur = self.describe(instance).await?;
        Self::ok(dry_run, || {
            self.with(|o| {
                o.protection
                    .insert(instance.to_string(), (Some(on), cur.stop_protection));
            })
        })
    }

    async fn set_stop_protection(&self, instance: &str, on: bool, dry_run: bool) -> OpResult {
        let cur = self.describe(instance).await?;
        Self::ok(dry_run, || {
            self.with(|o| {
                o.protection
                    .insert(instance.to_string(), (cur.termination_protection, Some(on)));
            })
        })
    }

    async fn set_shutdown_behavior(
        &self,
        instance: &str,
        behavior: &str,
        dry_run: bool,
    ) -> OpResult {
        self.describe(instance).await?;
        Self::ok(dry_run, || {
            self.with(|o| {
                o.shutdown
                    .insert(instance.to_string(), behavior.to_string());
            })
        })
    }

    async fn set_delete_on_termination(
        &self,
        instance: &str,
        _device: &str,
        on: bool,
        dry_run: bool,
    ) -> OpResult {
        self.describe(instance).await?;
        Self::ok(dry_run, || {
            self.with(|o| {
                o.delete_on_termination.insert(instance.to_string(), on);
            })
        })
    }

    async fn create_tags(
        &self,
        resource: &str,
        tags: &[(String, String)],
        dry_run: bool,
    ) -> OpResult {
        let cur = self
            .describe(resource)
            .await
            .map(|f| f.tags)
            .unwrap_or_default();
        Self::ok(dry_run, || {
            self.with(|o| {
                let e = o.tags.entry(resource.to_string()).or_insert(cur);
                for (k, v) in tags {
                    e.insert(k.clone(), v.clone());
                }
            })
        })
    }

    async fn delete_tags(&self, resource: &str, keys: &[String], dry_run: bool) -> OpResult {
        let cur = self
            .describe(resource)
            .await
            .map(|f| f.tags)
            .unwrap_or_default();
        Self::ok(dry_run, || {
            self.with(|o| {
                let e = o.tags.entry(resource.to_string()).or_insert(cur);
                for k in keys {
                    e.remove(k);
                }
            })
        })
    }

    async fn find_group(&self, vpc: &str, name: &str) -> Result<Option<String>, AwsError> {
        let (_, groups) = self.world.ec2_at(&self.scope, f64::INFINITY);
        Ok(groups
            .into_iter()
            .find(|g| g.name == name && g.vpc_id.as_deref() == Some(vpc))
            .map(|g| g.group_id))
    }

    async fn describe_groups(&self, ids: &[String]) -> Result<Vec<GroupInfo>, AwsError> {
        let (_, groups) = self.world.ec2_at(&self.scope, f64::INFINITY);
        Ok(self.with(|o| {
            groups
                .into_iter()
                .filter(|g| ids.contains(&g.group_id))
                .map(|g| GroupInfo {
                    egress: o
                        .egress
                        .get(&g.group_id)
                        .cloned()
                        .unwrap_or_else(|| vec![all_out()]),
                    group_id: g.group_id,
                    name: g.name,
                    vpc_id: g.vpc_id,
                    ingress: g.ingress,
                })
                .collect()
        }))
    }

    async fn create_group(
        &self,
        vpc: &str,
        name: &str,
        _role: &str,
        _case: &str,
        dry_run: bool,
    ) -> Result<String, AwsError> {
        if dry_run {
            return Ok(String::new());
        }
        Ok(self.with(|o| {
            o.serial += 1;
            let id = format!("sg-demo{:010x}", o.serial);
            o.groups
                .entry(self.scope.clone())
                .or_default()
                .push(SecurityGroup {
                    group_id: id.clone(),
                    name: name.into(),
                    vpc_id: Some(vpc.into()),
                    ingress: Vec::new(),
                });
            // Like EC2, a new group allows all outbound traffic until told otherwise.
            o.egress.insert(id.clone(), vec![all_out()]);
            id
        }))
    }

    async fn change_rules(
        &self,
        group: &str,
        direction: Direction,
        add: bool,
        rules: &[IngressRule],
        dry_run: bool,
    ) -> OpResult {
        if dry_run {
            return Ok(None);
        }
        self.with(|o| {
            let set = match direction {
                Direction::Egress => o.egress.entry(group.to_string()).or_default(),
                Direction::Ingress => match o
                    .groups
                    .get_mut(&self.scope)
                    .and_then(|gs| gs.iter_mut().find(|g| g.group_id == group))
                {
                    Some(g) => &mut g.ingress,
                    None => {
                        return Err(AwsError::other(format!(
                            "{group}: only groups triage created can be changed in the demo"
                        )));
                    }
                },
            };
            for r in rules {
                if add {
                    if !set.contains(r) {
                        set.push(r.clone());
                    }
                } else {
                    set.retain(|s| s != r);
                }
            }
            Ok(None)
        })
    }

    async fn stop(
        &self,
        instance: &str,
        _force: bool,
        _hibernate: bool,
        dry_run: bool,
    ) -> OpResult {
        self.describe(instance).await?;
        Self::ok(dry_run, || {
            self.with(|o| {
                o.state.insert(instance.to_string(), InstanceState::Stopped);
            })
        })
    }

    async fn describe_task(
        &self,
        cluster: &str,
        task: &str,
    ) -> Result<Option<TaskFacts>, AwsError> {
        let Some((t, why)) = self
            .world
            .task_at(&self.scope, cluster, task, f64::INFINITY)
        else {
            return Ok(None);
        };
        let stopped = why.as_deref().map(|reason| {
            let by_user = self.with(|o| o.stopped_tasks.contains_key(&t.task_arn));
            let code = if by_user {
                "UserInitiated"
            } else {
                "ServiceSchedulerInitiated"
            };
            (code, reason)
        });
        Ok(Some(TaskFacts {
            last_status: t.last_status.clone(),
            task_definition_arn: self.task_definition_arn(&t.task_definition),
            group: Some(group_of(&t)),
            json: self.describe_tasks_json(&t, stopped),
        }))
    }

    async fn task_definition_json(&self, task_definition: &str) -> Result<String, AwsError> {
        let found = self
            .world
            .task_of_definition(&self.scope, name_of(task_definition));
        let t = found.ok_or_else(|| {
            AwsError::new(
                ErrorKind::NotFound,
                format!(
                    "task definition {task_definition} not found in {}",
                    self.scope.region
                ),
            )
        })?;
        Ok(self.task_definition_doc(&t))
    }

    async fn stop_task(&self, cluster: &str, task: &str, reason: &str) -> OpResult {
        let (t, why) = self
            .world
            .task_at(&self.scope, cluster, task, f64::INFINITY)
            .ok_or_else(|| {
                AwsError::new(
                    ErrorKind::NotFound,
                    format!(
                        "task {task} not found in cluster {} ({})",
                        name_of(cluster),
                        self.scope.region
                    ),
                )
            })?;
        // Stopping a stopped task changes nothing (ECS keeps the first reason).
        if why.is_none() {
            self.with(|o| {
                o.stopped_tasks.insert(t.task_arn, reason.to_string());
            });
        }
        Ok(None)
    }

    async fn service_counts(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<ServiceCounts>, AwsError> {
        Ok(self.service(cluster, service).map(|s| ServiceCounts {
            desired: s.desired,
            running: s.running,
        }))
    }

    async fn set_service_desired(&self, cluster: &str, service: &str, desired: i32) -> OpResult {
        let s = self.service(cluster, service).ok_or_else(|| {
            AwsError::new(
                ErrorKind::NotFound,
                format!(
                    "service {} not found in cluster {} ({})",
                    name_of(service),
                    name_of(cluster),
                    self.scope.region
                ),
            )
        })?;
        if desired < 0 {
            return Err(AwsError::other(format!(
                "InvalidParameterException: desiredCount {desired} must be 0 or more"
            )));
        }
        self.with(|o| {
            o.service_desired
                .insert((self.scope.clone(), s.cluster, s.name), desired);
        });
        Ok(None)
    }

    async fn archive_finding(&self, finding_id: &str) -> OpResult {
        self.with(|o| o.archived.insert(finding_id.to_string()));
        Ok(None)
    }

    async fn asg_membership(&self, _instance: &str) -> Result<Option<(String, String)>, AwsError> {
        // The simulated fleet has no Auto Scaling groups.
        Ok(None)
    }

    async fn asg_standby(&self, _instance: &str, _asg: &str, _enter: bool) -> OpResult {
        Ok(None)
    }

    async fn snapshot_volume(
        &self,
        volume: &str,
        _description: &str,
        tags: &[(String, String)],
        dry_run: bool,
    ) -> Result<String, AwsError> {
        if dry_run {
            return Ok(String::new());
        }
        Ok(self.with(|o| {
            o.serial += 1;
            let id = format!("snap-demo{:012x}", o.serial);
            o.snapshots.push(crate::source::demo::DemoSnapshot {
                id: id.clone(),
                volume: volume.to_string(),
                tags: tags.to_vec(),
            });
            id
        }))
    }
}

/// A task's group as ECS sets it: `service:NAME` for a service's task, `family:FAMILY` for one
/// run by hand.
fn group_of(t: &Task) -> String {
    match &t.service {
        Some(s) => format!("service:{s}"),
        None => format!("family:{}", t.family()),
    }
}

/// A timestamp as ECS's JSON protocol writes it: epoch seconds.
fn epoch(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

/// Leaves out the members of an object that are null (ECS omits what it does not know).
fn drop_nulls(v: &mut Value) {
    if let Value::Object(m) = v {
        m.retain(|_, v| !v.is_null());
    }
}

/// A JSON document, indented as the evidence AWS answers are kept.
fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The outbound rule EC2 gives every new group.
fn all_out() -> IngressRule {
    IngressRule {
        protocol: "-1".into(),
        from_port: None,
        to_port: None,
        source: RuleSource::Cidr4("0.0.0.0/0".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::{Action, AuditLog, Context, Journal, Runner, Target};
    use chrono::{TimeZone, Utc};

    #[tokio::test]
    async fn quarantine_and_release_on_the_demo_fleet() {
        let world = Arc::new(DemoWorld::new(
            3,
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        ));
        let scope = Scope::new("210987654321", "us-east-1");
        let (instances, _) = world.ec2_at(&scope, 300.0);
        let bastion = instances
            .iter()
            .find(|i| i.name == "bastion-legacy")
            .unwrap()
            .clone();
        let ops = DemoOps {
            world: world.clone(),
            scope: scope.clone(),
        };
        let dir = tempfile::tempdir().unwrap();
        let mut log = AuditLog::open(&dir.path().join("a.jsonl")).unwrap();
        let (mut journal, _) = Journal::open(&dir.path().join("journal.jsonl")).unwrap();
        let mut r = Runner::new(
            &ops,
            &mut log,
            &mut journal,
            Target {
                alias: "prod".into(),
                account_id: scope.account_id.clone(),
                region: scope.region.clone(),
                instance_id: bastion.instance_id.clone(),
            },
            Context {
                case_id: "IR-1".into(),
                operator: "demo".into(),
                ..Context::default()
            },
        );
        r.run(&Action::Quarantine).await.unwrap();
        // The feed now reports the instance isolated: nothing open to the world.
        let (after, groups) = world.ec2_at(&scope, 300.0);
        let b = after
            .iter()
            .find(|i| i.instance_id == bastion.instance_id)
            .unwrap();
        let gmap: std::collections::HashMap<String, SecurityGroup> = groups
            .into_iter()
            .map(|g| (g.group_id.clone(), g))
            .collect();
        assert_eq!(crate::model::exposure_of(&b.interfaces, &gmap).label(), "-");
        assert_eq!(b.termination_protection, Some(true));
        let f = ops.describe(&bastion.instance_id).await.unwrap();
        assert_eq!(f.shutdown_behavior.as_deref(), Some("stop"));
        assert_eq!(f.volumes[0].delete_on_termination, Some(false));
        r.run(&Action::Release { from_tags: None }).await.unwrap();
        let f = ops.describe(&bastion.instance_id).await.unwrap();
        assert_eq!(f.volumes[0].delete_on_termination, Some(true), "restored");
        let (back, _) = world.ec2_at(&scope, 300.0);
        let b2 = back
            .iter()
            .find(|i| i.instance_id == bastion.instance_id)
            .unwrap();
        assert_eq!(b2.interfaces, bastion.interfaces, "groups restored exactly");
        r.run(&Action::Stop {
            force: false,
            hibernate: false,
            clear_stop_protection: false,
        })
        .await
        .unwrap();
        let (stopped, _) = world.ec2_at(&scope, 300.0);
        assert_eq!(
            stopped
                .iter()
                .find(|i| i.instance_id == bastion.instance_id)
                .unwrap()
                .state,
            InstanceState::Stopped
        );
        assert!(
            world
                .cpu_between(&scope, 290.0, 300.0)
                .iter()
                .all(|(id, _)| *id != bastion.instance_id)
        );
    }

    /// The campaign's miners in prod ap-south-1, once they all run.
    fn miner_world(seed: u64) -> (Arc<DemoWorld>, DemoOps) {
        let world = Arc::new(DemoWorld::new(
            seed,
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        ));
        let ops = DemoOps {
            world: world.clone(),
            scope: Scope::new("210987654321", "ap-south-1"),
        };
        (world, ops)
    }

    fn arns(tasks: &[crate::model::task::Task]) -> Vec<String> {
        tasks.iter().map(|t| t.task_arn.clone()).collect()
    }

    #[tokio::test]
    async fn stopping_the_standalone_miner_removes_only_it() {
        use crate::source::demo::{CAMPAIGN_SECS, MINER_SERVICE};
        let (world, ops) = miner_world(7);
        let scope = ops.scope.clone();
        let (before, _, _) = world.ecs_at(&scope, CAMPAIGN_SECS);
        assert_eq!(before.len(), 4);
        let standalone = before.iter().find(|t| t.service.is_none()).unwrap().clone();
        let facts = ops
            .describe_task("default", &standalone.task_arn)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(facts.last_status, "RUNNING");
        assert_eq!(facts.group.as_deref(), Some("family:metrics-agent"));
        ops.stop_task(
            "arn:aws:ecs:ap-south-1:210987654321:cluster/default",
            standalone.task_id(),
            "IR-7: cryptominer",
        )
        .await
        .unwrap();
        let (after, services, _) = world.ecs_at(&scope, CAMPAIGN_SECS);
        let mut expected = arns(&before);
        expected.retain(|a| *a != standalone.task_arn);
        assert_eq!(arns(&after), expected, "exactly that task left");
        assert_eq!((services[0].desired, services[0].running), (3, 3));
        // Its interface is gone from the inventory, the others stay.
        let enis = world.task_interfaces_at(&scope, CAMPAIGN_SECS);
        assert_eq!(enis.len(), 3);
        assert!(
            enis.iter()
                .all(|n| Some(&n.eni_id) != standalone.eni_id.as_ref())
        );
        // ECS still describes it, stopped, with the reason given.
        let facts = ops
            .describe_task("default", &standalone.task_arn)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(facts.last_status, "STOPPED");
        assert_eq!(
            facts.task_definition_arn,
            "arn:aws:ecs:ap-south-1:210987654321:task-definition/metrics-agent:1"
        );
        let v: Value = serde_json::from_str(&facts.json).unwrap();
        let t = &v["tasks"][0];
        assert_eq!(t["taskArn"], json!(standalone.task_arn));
        assert_eq!(t["lastStatus"], "STOPPED");
        assert_eq!(t["stoppedReason"], "IR-7: cryptominer");
        assert_eq!(t["stopCode"], "UserInitiated");
        assert_eq!(t["launchType"], "FARGATE");
        assert_eq!(t["group"], "family:metrics-agent");
        assert_eq!(
            t["clusterArn"],
            "arn:aws:ecs:ap-south-1:210987654321:cluster/default"
        );
        assert_eq!(
            t["containers"][0]["image"],
            crate::source::demo::MINER_IMAGE
        );
        assert_eq!(t["containers"][0]["name"], MINER_SERVICE);
        assert!(t.get("startedBy").is_none(), "RunTask by hand: no starter");
        // Stopping it again changes nothing; an unknown task is NotFound.
        ops.stop_task("default", &standalone.task_arn, "again")
            .await
            .unwrap();
        let again = ops
            .describe_task("default", &standalone.task_arn)
            .await
            .unwrap()
            .unwrap();
        assert!(again.json.contains("IR-7: cryptominer"));
        let e = ops
            .stop_task("default", "0123456789abcdef0123456789abcdef", "x")
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert!(
            ops.describe_task("default", "0123456789abcdef0123456789abcdef")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            ops.describe_task("prod-web", &standalone.task_arn)
                .await
                .unwrap()
                .is_none(),
            "another cluster does not know it"
        );
    }

    #[tokio::test]
    async fn scaling_the_miner_service_to_zero_and_back() {
        use crate::model::task::service_cpu_key;
        use crate::source::demo::{CAMPAIGN_SECS, MINER_SERVICE};
        let (world, ops) = miner_world(7);
        let scope = ops.scope.clone();
        let service_arns = |w: &DemoWorld| {
            arns(
                &w.ecs_at(&scope, CAMPAIGN_SECS)
                    .0
                    .into_iter()
                    .filter(|t| t.service.as_deref() == Some(MINER_SERVICE))
                    .collect::<Vec<_>>(),
            )
        };
        let original = service_arns(&world);
        assert_eq!(original.len(), 3);
        assert_eq!(
            ops.service_counts("default", MINER_SERVICE).await.unwrap(),
            Some(ServiceCounts {
                desired: 3,
                running: 3
            })
        );
        let findings_before = world.findings_at(&scope, CAMPAIGN_SECS).len();

        ops.set_service_desired("default", MINER_SERVICE, 0)
            .await
            .unwrap();
        let (tasks, services, _) = world.ecs_at(&scope, CAMPAIGN_SECS);
        assert!(service_arns(&world).is_empty());
        assert_eq!(tasks.len(), 1, "the standalone task is not the service's");
        assert_eq!((services[0].desired, services[0].running), (0, 0));
        assert_eq!(
            ops.service_counts(
                "arn:aws:ecs:ap-south-1:210987654321:cluster/default",
                MINER_SERVICE
            )
            .await
            .unwrap(),
            Some(ServiceCounts {
                desired: 0,
                running: 0
            })
        );
        assert_eq!(world.task_interfaces_at(&scope, CAMPAIGN_SECS).len(), 1);
        // Its CPU no longer comes; GuardDuty keeps what it found.
        let cpu = world.cpu_between(&scope, CAMPAIGN_SECS - 30.0, CAMPAIGN_SECS);
        let key = service_cpu_key("default", MINER_SERVICE);
        assert!(
            cpu.iter()
                .find(|(k, _)| *k == key)
                .unwrap()
                .1
                .points
                .is_empty()
        );
        assert_eq!(
            world.findings_at(&scope, CAMPAIGN_SECS).len(),
            findings_before
        );
        let facts = ops
            .describe_task("default", &original[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(facts.last_status, "STOPPED");
        assert_eq!(facts.group.as_deref(), Some("service:metrics-agent"));
        let v: Value = serde_json::from_str(&facts.json).unwrap();
        assert_eq!(v["tasks"][0]["stopCode"], "ServiceSchedulerInitiated");

        // Restoring the count brings the same tasks back, and so does a fresh world.
        ops.set_service_desired("default", MINER_SERVICE, 3)
            .await
            .unwrap();
        assert_eq!(service_arns(&world), original);
        assert_eq!(
            ops.service_counts("default", MINER_SERVICE).await.unwrap(),
            Some(ServiceCounts {
                desired: 3,
                running: 3
            })
        );
        let facts = ops
            .describe_task("default", &original[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(facts.last_status, "RUNNING");
        // One task: the first one, in every world of the seed.
        ops.set_service_desired("default", MINER_SERVICE, 1)
            .await
            .unwrap();
        assert_eq!(service_arns(&world), original[..1].to_vec());
        let (other, other_ops) = miner_world(7);
        other_ops
            .set_service_desired("default", MINER_SERVICE, 1)
            .await
            .unwrap();
        assert_eq!(
            other.ecs_at(&scope, CAMPAIGN_SECS),
            world.ecs_at(&scope, CAMPAIGN_SECS)
        );

        // Unknown services.
        assert_eq!(ops.service_counts("default", "nope").await.unwrap(), None);
        let e = ops
            .set_service_desired("default", "nope", 0)
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        let e = ops
            .set_service_desired("prod-web", MINER_SERVICE, 0)
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn the_miners_task_definition_as_json() {
        use crate::source::demo::MINER_SERVICE;
        let (world, ops) = miner_world(7);
        let arn = "arn:aws:ecs:ap-south-1:210987654321:task-definition/metrics-agent:1";
        for name in ["metrics-agent:1", arn, "metrics-agent"] {
            let doc = ops.task_definition_json(name).await.unwrap();
            let v: Value = serde_json::from_str(&doc).unwrap();
            let d = &v["taskDefinition"];
            assert_eq!(d["taskDefinitionArn"], arn, "{name}");
            assert_eq!(d["family"], MINER_SERVICE);
            assert_eq!(d["revision"], 1);
            assert_eq!(d["networkMode"], "awsvpc");
            assert_eq!(d["cpu"], "4096");
            assert_eq!(d["memory"], "8192");
            assert_eq!(d["containerDefinitions"][0]["name"], MINER_SERVICE);
            assert_eq!(
                d["containerDefinitions"][0]["image"],
                crate::source::demo::MINER_IMAGE
            );
            assert_eq!(
                d["registeredAt"],
                json!(world.time_of(0.0).timestamp_millis() as f64 / 1000.0)
            );
        }
        // Revisions are kept after the tasks stop.
        ops.set_service_desired("default", MINER_SERVICE, 0)
            .await
            .unwrap();
        assert!(ops.task_definition_json("metrics-agent:1").await.is_ok());
        for unknown in ["metrics-agent:2", "web:1", "nope"] {
            let e = ops.task_definition_json(unknown).await.unwrap_err();
            assert_eq!(e.kind, ErrorKind::NotFound, "{unknown}");
        }
    }
}
