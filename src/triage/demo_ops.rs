//! Triage operations on the simulated fleet: same engine, same audit records; changes are kept as
//! overrides the demo feeds report on their next poll. Dry runs are always allowed (no IAM).

use std::sync::Arc;

use super::{Direction, Facts, GroupInfo, OpResult, Ops, Volume};
use crate::aws::{AwsError, ErrorKind};
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
}
