//! Quarantine, with its plan and DryRun preview next to the run. Every step is decided from the
//! live interface groups plus the local journal; instance tags are only written, as a mirror.
//! Both watchfloor groups are made exactly what they must be on every run (never trusted by
//! name), and any failure once an interface may be on the allow-all group is compensated onto
//! the isolation group.

use std::collections::BTreeMap;

use chrono::Utc;

use super::journal::Event;
use super::runner::{api, tolerated};
use super::{
    ALLOW_ALL_GROUP, Check, Direction, Facts, GroupInfo, ISOLATION_GROUP, Ops, Preview, Runner,
    Step, TAG_AT, TAG_CASE, TAG_LIMIT, TAG_STATE, TriageError, Verdict, original_tags,
};
use crate::aws::ErrorKind;
use crate::model::{IngressRule, InstanceState, RuleSource};

/// The rules a watchfloor group must have, both ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    /// Inbound rules.
    pub ingress: Vec<IngressRule>,
    /// Outbound rules.
    pub egress: Vec<IngressRule>,
}

fn everything(source: RuleSource) -> IngressRule {
    IngressRule {
        protocol: "-1".into(),
        from_port: None,
        to_port: None,
        source,
    }
}

/// The isolation group: nothing in but the examiner's TCP 22, nothing out.
pub fn isolation_rules(examiner: Option<&str>) -> Want {
    Want {
        ingress: examiner
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
            .collect(),
        egress: Vec::new(),
    }
}

/// The allow-all group: all traffic from and to 0.0.0.0/0 and ::/0, and nothing else. Only then
/// are existing flows untracked, so that the move to isolation cuts them.
pub fn allow_all_rules() -> Want {
    let both = vec![
        everything(RuleSource::Cidr4("0.0.0.0/0".into())),
        everything(RuleSource::Cidr6("::/0".into())),
    ];
    Want {
        ingress: both.clone(),
        egress: both,
    }
}

/// A rule as compared: protocol lower-cased, ports of an all-protocols rule ignored.
fn canon(r: &IngressRule) -> IngressRule {
    let protocol = r.protocol.trim().to_ascii_lowercase();
    let all = protocol == "-1" || protocol == "all";
    IngressRule {
        protocol: if all { "-1".into() } else { protocol },
        from_port: if all { None } else { r.from_port },
        to_port: if all { None } else { r.to_port },
        source: r.source.clone(),
    }
}

/// What to revoke and what to authorize so that `have` becomes exactly `want`.
pub fn diff(have: &[IngressRule], want: &[IngressRule]) -> (Vec<IngressRule>, Vec<IngressRule>) {
    let has = |set: &[IngressRule], r: &IngressRule| set.iter().any(|s| canon(s) == canon(r));
    let revoke = have.iter().filter(|h| !has(want, h)).cloned().collect();
    let add = want.iter().filter(|w| !has(have, w)).cloned().collect();
    (revoke, add)
}

/// The calls that make a group exactly `want`: (direction, authorize?, rules), revokes first.
pub fn changes(info: &GroupInfo, want: &Want) -> Vec<(Direction, bool, Vec<IngressRule>)> {
    let mut out = Vec::new();
    for (dir, have, want) in [
        (Direction::Ingress, &info.ingress, &want.ingress),
        (Direction::Egress, &info.egress, &want.egress),
    ] {
        let (revoke, add) = diff(have, want);
        for (add_it, rules) in [(false, revoke), (true, add)] {
            if !rules.is_empty() {
                out.push((dir, add_it, rules));
            }
        }
    }
    out
}

pub(super) fn rules_label(rules: &[IngressRule]) -> String {
    rules
        .iter()
        .map(|r| {
            let ports = match (r.from_port, r.to_port) {
                _ if canon(r).protocol == "-1" => "all".to_string(),
                (Some(a), Some(b)) if a == b => a.to_string(),
                (Some(a), Some(b)) => format!("{a}-{b}"),
                _ => "-".into(),
            };
            format!("{}:{} {}", r.protocol, ports, r.source.label())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The one group every attached interface is on alone, if there is one.
fn single_group(f: &Facts) -> Option<String> {
    let (_, first) = f.enis.first()?;
    (first.len() == 1 && f.enis.iter().all(|(_, g)| g == first)).then(|| first[0].clone())
}

/// True when the interface is on exactly this one group.
pub fn on_only(groups: &[String], group: &str) -> bool {
    groups.len() == 1 && groups[0] == group
}

/// The VPC's two watchfloor groups by id, once made exact.
#[derive(Debug, Clone)]
struct Groups {
    iso: String,
    all: String,
}

impl<'a, O: Ops> Runner<'a, O> {
    /// The VPC's groups found by name (a read; the names are only a hint).
    async fn find_groups(
        &self,
        vpc: &str,
    ) -> Result<(Option<String>, Option<String>), TriageError> {
        let mut out = [None, None];
        for (i, prefix) in [ISOLATION_GROUP, ALLOW_ALL_GROUP].iter().enumerate() {
            let name = format!("{prefix}-{vpc}");
            out[i] = self
                .ops
                .find_group(vpc, &name)
                .await
                .map_err(api(format!("find group {name}")))?;
        }
        let [iso, all] = out;
        Ok((iso, all))
    }

    /// True for a group of this VPC named as watchfloor names isolation groups (a hint).
    pub(super) async fn is_isolation_group(&self, group: &str, vpc: &str) -> bool {
        self.group_info(group).await.is_ok_and(|i| {
            i.vpc_id.as_deref() == Some(vpc) && super::is_isolation_name(&i.name, vpc)
        })
    }

    /// Every interface alone on one isolation-named group of the VPC (what a finished
    /// quarantine leaves; the rules are checked later).
    async fn looks_isolated(&self, f: &Facts, vpc: &str) -> bool {
        match single_group(f) {
            Some(g) => self.is_isolation_group(&g, vpc).await,
            None => false,
        }
    }

    async fn group_info(&self, group: &str) -> Result<GroupInfo, TriageError> {
        self.ops
            .describe_groups(&[group.to_string()])
            .await
            .map_err(api(format!("read group {group}")))?
            .into_iter()
            .next()
            .ok_or_else(|| TriageError::Api {
                step: format!("read group {group}"),
                error: "the group does not exist (deleted meanwhile?)".into(),
                kind: ErrorKind::NotFound,
            })
    }

    /// Makes `group` exactly `want` (extra rules revoked, missing ones authorized), then reads
    /// it back; an error if it is not exact or not in the instance's VPC.
    async fn harden(
        &mut self,
        group: &str,
        label: &str,
        vpc: &str,
        want: &Want,
    ) -> Result<(), TriageError> {
        let info = self.group_info(group).await?;
        if info.vpc_id.as_deref() != Some(vpc) {
            return Err(TriageError::Refused(format!(
                "{label} group {group} is in {}, not in the instance's {vpc}",
                info.vpc_id.as_deref().unwrap_or("no VPC")
            )));
        }
        let ops = self.ops;
        let todo = changes(&info, want);
        for (dir, add_it, rules) in &todo {
            let step = format!(
                "{} {} {} rule(s) of {label} group {group}: {}",
                if *add_it { "authorize" } else { "revoke" },
                rules.len(),
                dir.as_str(),
                rules_label(rules)
            );
            self.step("quarantine", &step, || async {
                ops.change_rules(group, *dir, *add_it, rules, false)
                    .await
                    .map(|r| ((), r))
            })
            .await?;
        }
        if !todo.is_empty() {
            let after = self.group_info(group).await?;
            let left: Vec<IngressRule> = changes(&after, want)
                .into_iter()
                .flat_map(|(_, _, rules)| rules)
                .collect();
            if !left.is_empty() {
                return Err(TriageError::Api {
                    step: format!("verify {label} group {group}"),
                    error: format!("its rules are still not exact: {}", rules_label(&left)),
                    kind: ErrorKind::Other,
                });
            }
        }
        self.note(Step::done(format!(
            "{label} group {group}: rules verified exact"
        )));
        Ok(())
    }

    /// Creates what is missing of the VPC's two groups and makes both exact. Any failure here
    /// stops the run before an interface moves.
    async fn ensure_groups(
        &mut self,
        vpc: &str,
        found: &(Option<String>, Option<String>),
    ) -> Result<Groups, TriageError> {
        let ops = self.ops;
        let case = self.ctx.case_id.clone();
        let examiner = self.ctx.examiner_cidr.clone();
        let mut ids = Vec::new();
        for (prefix, role, have, want) in [
            (
                ISOLATION_GROUP,
                "isolation",
                &found.0,
                isolation_rules(examiner.as_deref()),
            ),
            (ALLOW_ALL_GROUP, "allow-all", &found.1, allow_all_rules()),
        ] {
            let case = &case;
            let create = move |name: String| async move {
                ops.create_group(vpc, &name, role, case, false)
                    .await
                    .map(|g| (g, None))
            };
            let id = match have {
                Some(g) => g.clone(),
                None => {
                    let name = format!("{prefix}-{vpc}");
                    self.step("quarantine", &format!("create {role} group {name}"), || {
                        create(name.clone())
                    })
                    .await?
                }
            };
            match tolerated(self.harden(&id, role, vpc, &want).await)? {
                None => ids.push(id),
                // A group found under the predictable name that will not become exact (someone
                // keeps changing it): a new group of our own, made exact the same way.
                Some(e) if have.is_some() => {
                    self.warn(
                        "quarantine",
                        format!("{role} group {id} (found by name) cannot be made exact ({e}): using a new group"),
                    );
                    let name = format!("{prefix}-{vpc}-{}", Utc::now().timestamp());
                    let fresh = self
                        .step("quarantine", &format!("create {role} group {name}"), || {
                            create(name.clone())
                        })
                        .await?;
                    self.harden(&fresh, role, vpc, &want).await?;
                    ids.push(fresh);
                }
                Some(e) => return Err(e),
            }
        }
        Ok(Groups {
            iso: ids[0].clone(),
            all: ids[1].clone(),
        })
    }

    /// Journals (before anything moves) every attached interface the journal does not know yet,
    /// with its groups minus watchfloor's own; mirrors it in tags, best-effort.
    async fn journal_interfaces(&mut self, f: &Facts, ours: &[&str]) -> Result<(), TriageError> {
        let key = self.target.key();
        let known: Vec<String> = self
            .journal
            .get(&key)
            .map(|q| q.enis.keys().cloned().collect())
            .unwrap_or_default();
        let mut mirror = Vec::new();
        for (eni, groups) in &f.enis {
            if known.contains(eni) {
                continue;
            }
            let originals: Vec<String> = groups
                .iter()
                .filter(|g| !ours.contains(&g.as_str()))
                .cloned()
                .collect();
            if originals.is_empty() {
                self.warn(
                    "quarantine",
                    format!(
                        "{eni} is already on watchfloor's groups and this machine has no record of its original groups: release will leave it as it is"
                    ),
                );
                continue;
            }
            self.journal(Event::Interface {
                eni: eni.clone(),
                groups: originals.clone(),
            })?;
            self.note(Step::done(format!(
                "journal: {eni} original groups {}",
                originals.join(",")
            )));
            mirror.extend(original_tags(eni, &originals));
        }
        self.mirror_if_room("quarantine", "original groups of new interfaces", f, mirror)
            .await
    }

    /// The tag mirror, unless it would pass AWS's 50-tag limit (then a warning, no call, and
    /// the mirror is off for the rest of the run).
    async fn mirror_if_room(
        &mut self,
        action: &str,
        what: &str,
        f: &Facts,
        tags: Vec<(String, String)>,
    ) -> Result<(), TriageError> {
        let tags: Vec<(String, String)> = tags
            .into_iter()
            .filter(|(k, v)| f.tags.get(k) != Some(v))
            .collect();
        if tags.is_empty() || self.mirror_off {
            return Ok(());
        }
        let new_keys = tags.iter().filter(|(k, _)| !f.tags.contains_key(k)).count();
        if f.tags.len() + new_keys > TAG_LIMIT {
            self.mirror_off = true;
            self.warn(
                action,
                format!(
                    "tag mirror of {what} skipped: the instance has {} tags, the mirror needs {new_keys} more and AWS allows {TAG_LIMIT}; the journal keeps the record",
                    f.tags.len()
                ),
            );
            return Ok(());
        }
        self.mirror(action, what, tags).await
    }

    /// Quarantine, resumable: whatever state the instance is in, running it again finishes the
    /// job, and running it on an isolated instance changes nothing.
    pub(super) async fn quarantine(&mut self) -> Result<String, TriageError> {
        let id = self.target.instance_id.clone();
        let f = self.facts().await?;
        let vpc = f.vpc_id.clone().ok_or_else(|| {
            TriageError::Refused(format!("{id} has no VPC: nothing to isolate with"))
        })?;
        let found = self.find_groups(&vpc).await?;
        // The groups as made exact by this run, for compensation (the ids found by name until
        // then).
        let mut made: Option<Groups> = None;
        match self.contain(&id, &f, &vpc, &found, &mut made).await {
            Ok(msg) => Ok(msg),
            Err(e @ TriageError::Interrupted(_)) => Err(e),
            Err(e) => {
                let (ids, verified) = match &made {
                    Some(g) => ((Some(g.iso.clone()), Some(g.all.clone())), true),
                    None => (found, false),
                };
                let comp = self.compensate(&ids, verified).await;
                Err(match e {
                    // Refused before anything moved and nothing to compensate: say it plainly.
                    TriageError::Refused(m) if comp.is_none() => TriageError::Refused(m),
                    e => TriageError::Api {
                        step: "quarantine".into(),
                        kind: match &e {
                            TriageError::Api { kind, .. } => *kind,
                            _ => ErrorKind::Other,
                        },
                        error: match comp {
                            Some(c) => format!("{e}; {c}"),
                            None => format!("{e}; no interface is on the allow-all group"),
                        },
                    },
                })
            }
        }
    }

    /// Journals what quarantine will change, before anything changes (an open record is never
    /// overwritten: it has the real originals), and mirrors it in tags, best-effort.
    async fn journal_begin(
        &mut self,
        f: &Facts,
        vpc: &str,
        ours: &[&str],
    ) -> Result<(), TriageError> {
        if self.journal.get(&self.target.key()).is_some() {
            return self.journal_interfaces(f, ours).await;
        }
        let mut enis = BTreeMap::new();
        let mut mirror = Vec::new();
        for (eni, groups) in &f.enis {
            let originals: Vec<String> = groups
                .iter()
                .filter(|g| !ours.contains(&g.as_str()))
                .cloned()
                .collect();
            if !originals.is_empty() {
                mirror.extend(original_tags(eni, &originals));
                enis.insert(eni.clone(), originals);
            }
        }
        let what = enis
            .iter()
            .map(|(e, g)| format!("{e}={}", g.join(",")))
            .collect::<Vec<_>>()
            .join(" ");
        if f.shutdown_behavior.is_none()
            || f.volumes.iter().any(|v| v.delete_on_termination.is_none())
        {
            self.warn(
                "quarantine",
                "the shutdown behaviour or a volume's DeleteOnTermination could not be read: release will not put it back".into(),
            );
        }
        self.journal(Event::Begin {
            vpc_id: vpc.to_string(),
            enis,
            termination_protection: f.termination_protection,
            shutdown_behavior: f.shutdown_behavior.clone(),
            delete_on_termination: f
                .volumes
                .iter()
                .filter_map(|v| v.delete_on_termination.map(|d| (v.device.clone(), d)))
                .collect(),
        })?;
        self.note(Step::done(format!("journal: original groups {what}")));
        // The groups before, in the audit log too: the incident report names them.
        self.record(
            "quarantine",
            &format!("original groups {what}"),
            super::Phase::Outcome,
            false,
            Some("journaled".into()),
            None,
        )?;
        mirror.push((TAG_CASE.into(), self.ctx.case_id.clone()));
        mirror.push((
            TAG_AT.into(),
            Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ));
        mirror.push((TAG_STATE.into(), "recorded".into()));
        self.mirror_if_room("quarantine", "original groups", f, mirror)
            .await?;
        self.journal_interfaces(f, ours).await
    }

    /// Every step after the first look: journal, Standby, evidence attributes, the groups,
    /// allow-all, wait, isolation, and the final check. Any error here is compensated.
    async fn contain(
        &mut self,
        id: &str,
        f: &Facts,
        vpc: &str,
        found: &(Option<String>, Option<String>),
        made: &mut Option<Groups>,
    ) -> Result<String, TriageError> {
        if matches!(
            f.state,
            Some(InstanceState::Terminated | InstanceState::ShuttingDown)
        ) {
            return Err(TriageError::Refused(format!(
                "{id} is {}: nothing to isolate",
                f.state.map_or("gone", |s| s.as_str())
            )));
        }
        if f.enis.is_empty() {
            return Err(TriageError::Refused(format!(
                "{id} has no network interface attached: nothing to isolate"
            )));
        }
        let ours: Vec<&str> = [&found.0, &found.1]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        // 1. The journal, before anything changes.
        self.journal_begin(f, vpc, &ours).await?;
        let was_isolated = self
            .journal
            .get(&self.target.key())
            .is_some_and(|q| q.isolated);
        if was_isolated && !self.looks_isolated(f, vpc).await {
            // Someone changed its groups since: unfinished until verified again.
            self.journal(Event::Opening)?;
        }
        // 2. An Auto Scaling member goes to Standby first, or the group replaces it. The group
        //    name comes from DescribeAutoScalingInstances, never from a tag. Nothing here may
        //    keep the cut from happening: a failure is a warning, and isolation goes on.
        self.standby(id, f).await?;
        // 3. Evidence must survive: no termination, no shutdown-terminates, volumes kept.
        self.keep_evidence(id, f).await?;
        // 4. Both groups exact, before any interface moves.
        let mut g = self.ensure_groups(vpc, found).await?;
        let now = self.facts().await?;
        // Isolated on another exact isolation group of this VPC (a fresh one an earlier run
        // made): that one, made exact again, is the isolation group of this run.
        if let Some(other) = single_group(&now)
            && other != g.iso
            && self.is_isolation_group(&other, vpc).await
        {
            let examiner = self.ctx.examiner_cidr.clone();
            if self
                .harden(
                    &other,
                    "isolation",
                    vpc,
                    &isolation_rules(examiner.as_deref()),
                )
                .await
                .is_ok()
            {
                g.iso = other;
            }
        }
        *made = Some(g.clone());
        let ours = [g.iso.as_str(), g.all.as_str()];
        // 5. Allow-all first (existing flows become untracked), wait, then isolation.
        let already = !now.enis.is_empty() && now.enis.iter().all(|(_, gs)| on_only(gs, &g.iso));
        if !already {
            self.journal_interfaces(&now, &ours).await?;
            // From here the instance may be open to the internet until `isolated`: an earlier
            // `isolated` no longer holds (an unfinished quarantine is offered for resume).
            self.journal(Event::Opening)?;
            for (eni, groups) in &now.enis {
                if on_only(groups, &g.iso) || on_only(groups, &g.all) {
                    continue;
                }
                self.move_eni(eni, &g.all, "allow-all").await?;
            }
            self.mirror_state("allow-all", &now).await?;
            self.wait().await;
            let now = self.facts().await?;
            self.journal_interfaces(&now, &ours).await?;
            for (eni, groups) in &now.enis {
                if !on_only(groups, &g.iso) {
                    self.move_eni(eni, &g.iso, "isolation").await?;
                }
            }
        }
        // 6. Success only if a fresh look shows the instance still there, every attached
        //    interface on the isolation group, and that group still exact.
        let end = self.facts().await?;
        if matches!(
            end.state,
            Some(InstanceState::Terminated | InstanceState::ShuttingDown)
        ) {
            return Err(TriageError::Api {
                step: "verify isolation".into(),
                error: format!(
                    "{id} was terminated during quarantine (by someone else): its evidence may be lost"
                ),
                kind: ErrorKind::Other,
            });
        }
        let off: Vec<String> = end
            .enis
            .iter()
            .filter(|(_, gs)| !on_only(gs, &g.iso))
            .map(|(e, gs)| format!("{e} on {}", gs.join(",")))
            .collect();
        if end.enis.is_empty() || !off.is_empty() {
            return Err(TriageError::Api {
                step: "verify isolation".into(),
                error: if end.enis.is_empty() {
                    "no interface is attached any more".into()
                } else {
                    format!("not isolated: {}", off.join("; "))
                },
                kind: ErrorKind::Other,
            });
        }
        let examiner = self.ctx.examiner_cidr.clone();
        let exact = self
            .harden(
                &g.iso,
                "isolation",
                vpc,
                &isolation_rules(examiner.as_deref()),
            )
            .await;
        if let Err(e) = exact {
            // Not isolated as it must be: unfinished again (offered for resume).
            let _ = self.journal(Event::Opening);
            return Err(e);
        }
        let was_isolated = self
            .journal
            .get(&self.target.key())
            .is_some_and(|q| q.isolated);
        if !was_isolated {
            self.journal(Event::Isolated)?;
        }
        self.mirror_state("isolated", &end).await?;
        Ok(if already && was_isolated {
            format!("{id} is already quarantined (no change)")
        } else {
            format!(
                "{id} quarantined: {} interface(s) verified on {}",
                end.enis.len(),
                g.iso
            )
        })
    }

    /// Step 2: Standby for an Auto Scaling member (journaled first). A failure is a warning:
    /// the group may replace the instance, but it is isolated all the same.
    async fn standby(&mut self, id: &str, f: &Facts) -> Result<(), TriageError> {
        let ops = self.ops;
        let member = match ops.asg_membership(id).await {
            Ok(m) => m,
            Err(e) => {
                self.warn(
                    "quarantine",
                    format!(
                        "Auto Scaling membership unreadable ({}): if the instance is in a group, the group may replace it",
                        e.message
                    ),
                );
                return Ok(());
            }
        };
        let Some((asg, life)) = member else {
            return Ok(());
        };
        match life.as_str() {
            "Standby" | "EnteringStandby" => {
                self.note(Step::done(format!(
                    "already in Standby in Auto Scaling group {asg}"
                )));
            }
            "InService" => {
                self.journal(Event::Standby { asg: asg.clone() })?;
                let tags = vec![(super::TAG_ASG.to_string(), asg.clone())];
                self.mirror_if_room("quarantine", "Auto Scaling group", f, tags)
                    .await?;
                let r = self
                    .step(
                        "quarantine",
                        &format!("enter standby in Auto Scaling group {asg}"),
                        || async { ops.asg_standby(id, &asg, true).await.map(|r| ((), r)) },
                    )
                    .await;
                self.soft("quarantine", r, "the group may replace the instance; isolating it all the same")?;
            }
            other => self.warn(
                "quarantine",
                format!(
                    "{id} is {other} in Auto Scaling group {asg}: it cannot be put in Standby now; isolating it all the same"
                ),
            ),
        }
        Ok(())
    }

    /// Step 3: termination protection, shutdown behaviour `stop`, volumes kept. Failures are
    /// warnings: isolation matters more.
    async fn keep_evidence(&mut self, id: &str, f: &Facts) -> Result<(), TriageError> {
        let ops = self.ops;
        if f.termination_protection != Some(true) {
            let r = self
                .step("quarantine", "termination protection on", || async {
                    ops.set_termination_protection(id, true, false)
                        .await
                        .map(|r| ((), r))
                })
                .await;
            self.soft("quarantine", r, "the instance can be terminated")?;
        }
        if f.shutdown_behavior.as_deref() != Some("stop") {
            let r = self
                .step(
                    "quarantine",
                    "shutdown behaviour stop (InstanceInitiatedShutdownBehavior)",
                    || async {
                        ops.set_shutdown_behavior(id, "stop", false)
                            .await
                            .map(|r| ((), r))
                    },
                )
                .await;
            self.soft("quarantine", r, "a shutdown from inside may terminate it")?;
        }
        for v in f
            .volumes
            .iter()
            .filter(|v| v.delete_on_termination != Some(false))
        {
            let r = self
                .step(
                    "quarantine",
                    &format!(
                        "keep {} ({}) on termination (DeleteOnTermination=false)",
                        v.volume_id, v.device
                    ),
                    || async {
                        ops.set_delete_on_termination(id, &v.device, false, false)
                            .await
                            .map(|r| ((), r))
                    },
                )
                .await;
            self.soft(
                "quarantine",
                r,
                &format!("{} would be deleted with the instance", v.volume_id),
            )?;
        }
        Ok(())
    }

    async fn mirror_state(&mut self, state: &str, f: &Facts) -> Result<(), TriageError> {
        let tags = vec![(TAG_STATE.to_string(), state.to_string())];
        self.mirror_if_room("quarantine", &format!("state {state}"), f, tags)
            .await
    }

    async fn move_eni(&mut self, eni: &str, group: &str, label: &str) -> Result<(), TriageError> {
        let ops = self.ops;
        let target = vec![group.to_string()];
        self.step(
            "quarantine",
            &format!("move {eni} to {label} group {group}"),
            || async {
                ops.set_eni_groups(eni, &target, false)
                    .await
                    .map(|r| ((), r))
            },
        )
        .await
    }

    /// The allow-all pause, cut short when the console is going away.
    async fn wait(&mut self) {
        let wait = self.ctx.quarantine_wait;
        if wait.is_zero() {
            return;
        }
        self.note(Step::wait(format!(
            "waiting {}s before isolating (the instance is open to the internet meanwhile)",
            wait.as_secs()
        )));
        match self.ctx.hurry.clone() {
            Some(mut h) => {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = h.wait_for(|v| *v) => {
                        self.note(Step::wait(
                            "wait cut short: the console is closing, isolating now",
                        ));
                    }
                }
            }
            None => tokio::time::sleep(wait).await,
        }
    }

    /// After a failure: every interface that is (or may be) on the allow-all group goes to the
    /// isolation group. It only moves groups (no tags, no new records), goes on past a failing
    /// interface, and a lost audit record is a warning, never a block.
    async fn compensate(
        &mut self,
        ids: &(Option<String>, Option<String>),
        verified: bool,
    ) -> Option<String> {
        let id = self.target.instance_id.clone();
        let record = self.journal.get(&self.target.key()).cloned();
        // The ids this run made or found; what is missing is looked up again by name (a group
        // may have been created by the failing run).
        let (iso, all) = match (&record, ids) {
            (Some(q), (None, _) | (_, None)) => match self.find_groups(&q.vpc_id).await {
                Ok((i, a)) => (ids.0.clone().or(i), ids.1.clone().or(a)),
                Err(_) => ids.clone(),
            },
            _ => ids.clone(),
        };
        let journaled: Vec<String> = record
            .map(|q| q.enis.keys().cloned().collect())
            .unwrap_or_default();
        let targets: Vec<String> = match self.ops.describe(&id).await {
            // Attached interfaces on the allow-all group, and journaled ones that are no longer
            // attached (detached, or left behind by a terminated instance) and may be on it.
            Ok(f) => {
                // On this run's allow-all group, or on any group named like one (an earlier
                // run's): moving those to isolation is never worse.
                let ids: Vec<String> = f.enis.iter().flat_map(|(_, g)| g.clone()).collect();
                let named: Vec<String> = self
                    .ops
                    .describe_groups(&ids)
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|g| g.name.starts_with(super::ALLOW_ALL_GROUP))
                    .map(|g| g.group_id)
                    .collect();
                let mut t: Vec<String> = f
                    .enis
                    .iter()
                    .filter(|(_, gs)| {
                        gs.iter()
                            .any(|g| all.as_ref() == Some(g) || named.contains(g))
                    })
                    .map(|(e, _)| e.clone())
                    .collect();
                t.extend(
                    journaled
                        .into_iter()
                        .filter(|e| !f.enis.iter().any(|(a, _)| a == e)),
                );
                t
            }
            // The instance cannot be read: every interface this run knows of.
            Err(_) => journaled,
        };
        if targets.is_empty() {
            return None;
        }
        let Some(iso) = iso else {
            return Some(format!(
                "NO ISOLATION GROUP to move {} interface(s) to: the instance may be OPEN TO THE INTERNET; run quarantine again",
                targets.len()
            ));
        };
        // A group this run did not make exact is made so first; moving onto it is never worse
        // than allow-all, but it is not reported as isolation unless it is exact.
        let mut unverified = false;
        if !verified {
            let vpc = self
                .journal
                .get(&self.target.key())
                .map(|q| q.vpc_id.clone());
            let examiner = self.ctx.examiner_cidr.clone();
            unverified = match vpc {
                Some(v) => self
                    .harden(&iso, "isolation", &v, &isolation_rules(examiner.as_deref()))
                    .await
                    .is_err(),
                None => true,
            };
        }
        self.note(Step::compensating(format!(
            "moving {} interface(s) to the isolation group (compensating)",
            targets.len()
        )));
        let ops = self.ops;
        let mut failed = Vec::new();
        let mut gone = 0;
        for eni in &targets {
            let group = vec![iso.clone()];
            let r = self
                .step_lenient(
                    "quarantine",
                    &format!("move {eni} to isolation group {iso} (compensating)"),
                    || async {
                        ops.set_eni_groups(eni, &group, false)
                            .await
                            .map(|r| ((), r))
                    },
                )
                .await;
            match r {
                Ok(()) => {}
                // Not found: the interface or the isolation group. Only if the group is still
                // there was it the interface, deleted with a terminated instance: nothing left
                // to open. A group deleted meanwhile leaves the interface where it was.
                Err(
                    e @ TriageError::Api {
                        kind: ErrorKind::NotFound,
                        ..
                    },
                ) => {
                    if self.group_info(&iso).await.is_ok() {
                        gone += 1;
                    } else {
                        failed.push(format!("{eni}: {e}"));
                    }
                }
                Err(e) => failed.push(format!("{eni}: {e}")),
            }
        }
        let moved = targets.len() - gone - failed.len();
        Some(if failed.is_empty() && unverified {
            format!(
                "moved {moved} interface(s) off the allow-all group onto {iso}, whose rules could NOT be verified: the instance may be OPEN TO THE INTERNET; run quarantine again"
            )
        } else if failed.is_empty() {
            format!(
                "compensated: {moved} interface(s) moved to the isolation group {iso}{}",
                if gone > 0 {
                    format!(" ({gone} no longer exist)")
                } else {
                    String::new()
                }
            )
        } else {
            format!(
                "COMPENSATION FAILED for {}, the instance may be OPEN TO THE INTERNET: run quarantine again",
                failed.join("; ")
            )
        })
    }

    /// For a job that died (panicked) mid-way: put whatever is on the allow-all group onto the
    /// isolation group, from what the journal and the account say now.
    pub async fn compensate_orphan(&mut self) -> String {
        let vpc = match self.journal.get(&self.target.key()) {
            Some(q) => Some(q.vpc_id.clone()),
            None => self
                .ops
                .describe(&self.target.instance_id)
                .await
                .ok()
                .and_then(|f| f.vpc_id),
        };
        let found = match &vpc {
            Some(v) => self.find_groups(v).await.unwrap_or((None, None)),
            None => (None, None),
        };
        self.compensate(&found, false)
            .await
            .unwrap_or_else(|| "no interface was on the allow-all group".into())
    }

    /// Plan and DryRun checks of quarantine: each interface's move with its real target group,
    /// each rule change that makes the groups exact, the attributes, the tag count.
    pub(super) async fn preview_quarantine(
        &mut self,
        f: &Facts,
        p: &mut Preview,
    ) -> Result<(), TriageError> {
        let ops = self.ops;
        let id = self.target.instance_id.clone();
        let case = self.ctx.case_id.clone();
        let member = ops.asg_membership(&id).await;
        if let Ok(Some((asg, _))) = &member {
            p.plan.push(format!(
                "Put it in Standby in Auto Scaling group {asg} (desired capacity decremented) so the group does not replace it."
            ));
        }
        let mirror_keys = f.enis.len() + 3;
        let tags = f.tags.len();
        p.plan.push(format!(
            "Journal the groups of {} interface(s) locally first (tags mirror them, best-effort: {tags}/{TAG_LIMIT} tags used, the mirror adds up to {mirror_keys}).",
            f.enis.len()
        ));
        p.plan.push(
            "Keep evidence: termination protection on, shutdown → stop, volumes kept on termination."
                .into(),
        );
        p.plan.push(format!(
            "Every interface → allow-all group, wait {}s, → isolation group (no ingress{}, no egress); done only once all are seen there.",
            self.ctx.quarantine_wait.as_secs(),
            self.ctx
                .examiner_cidr
                .as_deref()
                .map(|c| format!(" but {c} on port 22"))
                .unwrap_or_default()
        ));
        p.plan.push(
            "Cannot cut: flows tracked through NAT gateways or load balancers, and ICMP (only the subnet's network ACL cuts those, for the whole subnet)."
                .into(),
        );
        if f.enis.is_empty() {
            p.checks.push(Check::new(
                "network interfaces",
                Verdict::Error(
                    "the instance has no network interface attached: nothing to isolate".into(),
                ),
            ));
        }
        // The tag mirror: counted, and never a blocker.
        if tags + mirror_keys > TAG_LIMIT {
            p.checks.push(Check::new(
                "CreateTags (mirror)",
                Verdict::Warning(format!(
                    "{tags} tags already: the mirror will be skipped; quarantine goes on (the journal keeps the record)"
                )),
            ));
        } else {
            // The mirror as it will be written.
            let mut mirror: Vec<(String, String)> = f
                .enis
                .iter()
                .flat_map(|(eni, groups)| original_tags(eni, groups))
                .collect();
            mirror.push((TAG_CASE.into(), case.clone()));
            mirror.push((TAG_AT.into(), Utc::now().to_rfc3339()));
            mirror.push((TAG_STATE.into(), "recorded".into()));
            let v = Verdict::of(&ops.create_tags(&id, &mirror, true).await)
                .or_warning("the mirror will be skipped, quarantine goes on");
            p.checks.push(Check::new("CreateTags (mirror)", v));
        }
        match member {
            Ok(Some((asg, life))) if life == "InService" => p.checks.push(Check::new(
                format!("EnterStandby ({asg})"),
                Verdict::Unchecked("Auto Scaling has no DryRun".into()),
            )),
            Ok(Some((asg, life))) if life == "Standby" || life == "EnteringStandby" => {
                p.checks.push(Check::new(
                    format!("EnterStandby ({asg})"),
                    Verdict::Unchecked("already in Standby".into()),
                ))
            }
            Ok(Some((asg, life))) => p.checks.push(Check::new(
                format!("EnterStandby ({asg})"),
                Verdict::Warning(format!(
                    "the instance is {life} in {asg}: no Standby now; it is isolated all the same"
                )),
            )),
            Ok(None) => {}
            Err(e) => p.checks.push(Check::new(
                "DescribeAutoScalingInstances",
                Verdict::Warning(format!(
                    "{}: if it is in a group, the group may replace it; it is isolated all the same",
                    e.message
                )),
            )),
        }
        // The evidence steps are kept when they can be, never at the cost of the cut.
        let evidence = "isolation goes on without it";
        let v = Verdict::of(&ops.set_termination_protection(&id, true, true).await)
            .or_warning(evidence);
        p.checks.push(Check::new(
            "ModifyInstanceAttribute DisableApiTermination=true",
            v,
        ));
        if f.shutdown_behavior.as_deref() != Some("stop") {
            let v = Verdict::of(&ops.set_shutdown_behavior(&id, "stop", true).await)
                .or_warning(evidence);
            p.checks.push(Check::new(
                "ModifyInstanceAttribute InstanceInitiatedShutdownBehavior=stop",
                v,
            ));
        }
        for vol in f
            .volumes
            .iter()
            .filter(|v| v.delete_on_termination != Some(false))
        {
            let v = Verdict::of(
                &ops.set_delete_on_termination(&id, &vol.device, false, true)
                    .await,
            )
            .or_warning(evidence);
            p.checks.push(Check::new(
                format!(
                    "ModifyInstanceAttribute {} DeleteOnTermination=false",
                    vol.device
                ),
                v,
            ));
        }
        let Some(vpc) = f.vpc_id.clone() else {
            p.checks.push(Check::new(
                "VPC",
                Verdict::Error("the instance has no VPC: nothing to isolate with".into()),
            ));
            return Ok(());
        };
        let found = self.find_groups(&vpc).await?;
        let examiner = self.ctx.examiner_cidr.clone();
        let wants = [
            ("isolation", &found.0, isolation_rules(examiner.as_deref())),
            ("allow-all", &found.1, allow_all_rules()),
        ];
        let mut missing = false;
        for (label, group, want) in wants {
            match group {
                Some(g) => {
                    let info = self.group_info(g).await?;
                    for (dir, add_it, rules) in changes(&info, &want) {
                        let v = Verdict::of(&ops.change_rules(g, dir, add_it, &rules, true).await);
                        p.checks.push(Check::new(
                            format!(
                                "{}SecurityGroup{} {label} {g} ({} rule(s))",
                                if add_it { "Authorize" } else { "Revoke" },
                                if dir == Direction::Ingress {
                                    "Ingress"
                                } else {
                                    "Egress"
                                },
                                rules.len()
                            ),
                            v,
                        ));
                    }
                    let mut v = Verdict::Allowed;
                    for (eni, _) in &f.enis {
                        let one = Verdict::of(
                            &ops.set_eni_groups(eni, std::slice::from_ref(g), true).await,
                        );
                        if v == Verdict::Allowed {
                            v = one;
                        }
                    }
                    p.checks.push(Check::new(
                        format!(
                            "ModifyNetworkInterfaceAttribute → {label} {g} ({} interface(s))",
                            f.enis.len()
                        ),
                        v,
                    ));
                }
                None => {
                    let v = Verdict::of(
                        &ops.create_group(
                            &vpc,
                            &format!("watchfloor-dry-run-{label}"),
                            label,
                            &case,
                            true,
                        )
                        .await,
                    );
                    p.checks.push(Check::new(
                        format!("CreateSecurityGroup {label} (rules set and read back at run time, before any interface moves)"),
                        v,
                    ));
                    missing = true;
                }
            }
        }
        if missing {
            // A group that does not exist yet cannot be named in a DryRun: the permission on
            // each interface is checked with its current groups.
            let mut v = Verdict::Allowed;
            for (eni, groups) in &f.enis {
                let one = Verdict::of(&ops.set_eni_groups(eni, groups, true).await);
                if v == Verdict::Allowed {
                    v = one;
                }
            }
            p.checks.push(Check::new(
                format!(
                    "ModifyNetworkInterfaceAttribute ({} interface(s), with their current groups)",
                    f.enis.len()
                ),
                v,
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(p: &str, from: Option<i32>, to: Option<i32>, src: &str) -> IngressRule {
        IngressRule {
            protocol: p.into(),
            from_port: from,
            to_port: to,
            source: if src.contains(':') {
                RuleSource::Cidr6(src.into())
            } else {
                RuleSource::Cidr4(src.into())
            },
        }
    }

    #[test]
    fn a_trap_allow_all_group_is_diffed_to_exactly_all_traffic_both_ways() {
        // Pre-created under the predictable name with one harmless rule, no IPv6, and an
        // egress rule to the attacker's C2 only.
        let have_in = vec![rule("tcp", Some(443), Some(443), "0.0.0.0/0")];
        let have_out = vec![rule("tcp", Some(4444), Some(4444), "198.51.100.9/32")];
        let want = allow_all_rules();
        let (revoke, add) = diff(&have_in, &want.ingress);
        assert_eq!(revoke, have_in);
        assert_eq!(add, want.ingress);
        let (revoke, add) = diff(&have_out, &want.egress);
        assert_eq!(revoke, have_out);
        assert_eq!(add.len(), 2);
        // Ports an emulator or AWS reports on an all-protocols rule do not make it different.
        let exact = vec![
            rule("-1", Some(-1), Some(-1), "0.0.0.0/0"),
            rule("-1", None, None, "::/0"),
        ];
        assert_eq!(diff(&exact, &want.ingress), (vec![], vec![]));
    }

    #[test]
    fn the_isolation_group_keeps_only_the_examiner() {
        let want = isolation_rules(Some("203.0.113.7/32"));
        let have = vec![
            rule("tcp", Some(22), Some(22), "203.0.113.7/32"),
            rule("tcp", Some(22), Some(22), "0.0.0.0/0"),
        ];
        let (revoke, add) = diff(&have, &want.ingress);
        assert_eq!(revoke, vec![have[1].clone()]);
        assert!(add.is_empty());
        assert!(isolation_rules(None).ingress.is_empty());
        assert!(isolation_rules(None).egress.is_empty());
    }
}
