//! Triage operations on the simulated fleet: same engine, same audit records; changes are kept as
//! overrides the demo feeds report on their next poll. Dry runs are always allowed (no IAM).

use std::sync::Arc;

use super::{Facts, OpResult, Ops};
use crate::model::{IngressRule, InstanceState, RuleSource, Scope, SecurityGroup};
use crate::source::aws::AwsError;
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
    async fn describe(&self, instance: &str) -> Result<Facts, AwsError> {
        let (instances, _) = self.world.ec2_at(&self.scope, f64::INFINITY);
        let i = instances
            .into_iter()
            .find(|i| i.instance_id == instance)
            .ok_or_else(|| {
                AwsError::other(format!("{instance} not found in {}", self.scope.region))
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
            volumes: vec![DemoWorld::volume_of(instance)],
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

    async fn create_isolation_group(
        &self,
        vpc: &str,
        name: &str,
        _case: &str,
        dry_run: bool,
    ) -> Result<String, AwsError> {
        self.create(vpc, name, Vec::new(), dry_run)
    }

    async fn harden_isolation_group(&self, group: &str, examiner: Option<&str>) -> OpResult {
        let ingress: Vec<IngressRule> = examiner
            .map(|c| IngressRule {
                protocol: "tcp".into(),
                from_port: Some(22),
                to_port: Some(22),
                source: if c.contains(':') {
                    RuleSource::Cidr6(c.into())
                } else {
                    RuleSource::Cidr4(c.into())
                },
            })
            .into_iter()
            .collect();
        self.with(|o| {
            if let Some(g) = o
                .groups
                .get_mut(&self.scope)
                .and_then(|gs| gs.iter_mut().find(|g| g.group_id == group))
            {
                g.ingress = ingress;
            }
        });
        Ok(None)
    }

    async fn create_allow_all_group(
        &self,
        vpc: &str,
        name: &str,
        _case: &str,
        dry_run: bool,
    ) -> Result<String, AwsError> {
        let all = |src: RuleSource| IngressRule {
            protocol: "-1".into(),
            from_port: None,
            to_port: None,
            source: src,
        };
        self.create(
            vpc,
            name,
            vec![
                all(RuleSource::Cidr4("0.0.0.0/0".into())),
                all(RuleSource::Cidr6("::/0".into())),
            ],
            dry_run,
        )
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

    async fn asg_lifecycle(&self, _instance: &str) -> Result<Option<String>, AwsError> {
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

impl DemoOps {
    fn create(
        &self,
        vpc: &str,
        name: &str,
        ingress: Vec<IngressRule>,
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
                    ingress,
                });
            id
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::{Action, AuditLog, Context, Runner, Target};
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
        let mut r = Runner {
            ops: &ops,
            audit: &mut log,
            target: Target {
                alias: "prod".into(),
                account_id: scope.account_id.clone(),
                region: scope.region.clone(),
                instance_id: bastion.instance_id.clone(),
            },
            ctx: Context {
                case_id: "IR-1".into(),
                operator: "demo".into(),
                quarantine_wait: std::time::Duration::ZERO,
                examiner_cidr: None,
            },
            progress: vec![],
            interrupt_after: None,
            notify: None,
        };
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
        assert_eq!(crate::model::exposure_of(b, &gmap).label(), "-");
        assert_eq!(b.termination_protection, Some(true));
        r.run(&Action::Release).await.unwrap();
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
