//! Release, with its plan and DryRun preview next to the run: restores each interface's groups
//! (and the attributes quarantine changed) from the local journal. Without a local record it may
//! fall back to the instance tags, only after checking every group they name and with the
//! instance id typed by an operator who saw what each group opens to the internet.

use std::collections::BTreeMap;

use super::journal::{Event, Quarantine};
use super::quarantine::rules_label;
use super::runner::{api, tolerated};
use super::{
    Check, Facts, Ops, Preview, Runner, Step, TAG_ASG, TAG_AT, TAG_STATE, TriageError, Verdict,
};

/// A step release can go on without: its failure is collected (and reported at the end).
/// True when it worked.
fn collect(r: Result<(), TriageError>, failed: &mut Vec<String>) -> Result<bool, TriageError> {
    Ok(match tolerated(r)? {
        None => true,
        Some(e) => {
            failed.push(e.to_string());
            false
        }
    })
}

/// Up to eight rules, then how many more.
fn some_rules(rules: &[crate::model::IngressRule]) -> String {
    const SHOWN: usize = 8;
    if rules.is_empty() {
        return "nothing".into();
    }
    let mut out = rules_label(&rules[..rules.len().min(SHOWN)]);
    if rules.len() > SHOWN {
        out.push_str(&format!(" (+{} more)", rules.len() - SHOWN));
    }
    out
}

/// A group named in instance tags, as checked.
struct Checked {
    /// What is wrong with the tag record (empty: it may be used).
    problems: Vec<String>,
    /// `eni -> [(group, description of what it opens to the internet)]`.
    groups: BTreeMap<String, Vec<(String, String)>>,
}

impl<'a, O: Ops> Runner<'a, O> {
    /// Checks original groups read from tags: every interface attached to this instance, every
    /// group existing in its VPC, none of them watchfloor's.
    async fn check_tag_originals(
        &self,
        f: &Facts,
        originals: &BTreeMap<String, Vec<String>>,
    ) -> Result<Checked, TriageError> {
        let id = &self.target.instance_id;
        let mut problems = Vec::new();
        let ids: Vec<String> = originals.values().flatten().cloned().collect();
        let infos = self
            .ops
            .describe_groups(&ids)
            .await
            .map_err(api("read the groups named in the instance tags"))?;
        let mut groups = BTreeMap::new();
        for (eni, gs) in originals {
            if !f.enis.iter().any(|(e, _)| e == eni) {
                problems.push(format!("{eni} is not attached to {id}"));
            }
            if gs.is_empty() {
                problems.push(format!("{eni} has no recorded group"));
            }
            let mut shown = Vec::new();
            for g in gs {
                let Some(info) = infos.iter().find(|i| &i.group_id == g) else {
                    problems.push(format!("{g} does not exist"));
                    continue;
                };
                if info.vpc_id != f.vpc_id {
                    problems.push(format!(
                        "{g} is in {}, not in the instance's VPC",
                        info.vpc_id.as_deref().unwrap_or("no VPC")
                    ));
                }
                if info.name.starts_with("watchfloor-") {
                    problems.push(format!("{g} ({}) is a watchfloor group", info.name));
                }
                let world: Vec<_> = info
                    .ingress
                    .iter()
                    .filter(|r| r.source.is_world())
                    .cloned()
                    .collect();
                let opens = if world.is_empty() {
                    "no rule from 0.0.0.0/0 or ::/0".to_string()
                } else {
                    format!("OPENS {} TO THE INTERNET", rules_label(&world))
                };
                // Every rule is shown: a near-world CIDR, another account's group or a prefix
                // list can open as much as 0.0.0.0/0; the operator judges.
                shown.push((
                    g.clone(),
                    format!(
                        "{} — {opens}; in: {}; out: {}",
                        info.name,
                        some_rules(&info.ingress),
                        some_rules(&info.egress)
                    ),
                ));
            }
            groups.insert(eni.clone(), shown);
        }
        Ok(Checked { problems, groups })
    }

    pub(super) async fn release(
        &mut self,
        reviewed: Option<&BTreeMap<String, Vec<String>>>,
    ) -> Result<String, TriageError> {
        let id = self.target.instance_id.clone();
        let f = self.facts().await?;
        let record = self.journal.get(&self.target.key()).cloned();
        let originals = match &record {
            Some(q) => {
                // Interfaces that appeared during quarantine may be the attacker's: they stay
                // isolated (their record is closed with the rest).
                for eni in &q.late {
                    self.warn(
                        "release",
                        format!(
                            "{eni} was attached during quarantine (groups then: {}): left isolated; restore it by hand if it is yours",
                            q.enis[eni].join(",")
                        ),
                    );
                }
                q.enis
                    .iter()
                    .filter(|(e, _)| !q.late.contains(*e))
                    .map(|(e, g)| (e.clone(), g.clone()))
                    .collect()
            }
            None => {
                let tags = f.originals();
                if tags.is_empty() {
                    return Ok(format!("{id} is not quarantined (no change)"));
                }
                let checked = self.check_tag_originals(&f, &tags).await?;
                if !checked.problems.is_empty() {
                    return Err(TriageError::Refused(format!(
                        "no local record, and the instance tags name groups watchfloor will not restore: {}",
                        checked.problems.join("; ")
                    )));
                }
                let Some(reviewed) = reviewed else {
                    return Err(TriageError::Refused(format!(
                        "no local journal record of {id}'s quarantine (quarantined from another machine?): releasing from its tags needs the groups reviewed and the instance id typed (console) or --from-tags (headless)"
                    )));
                };
                if *reviewed != tags {
                    return Err(TriageError::Refused(format!(
                        "the instance tags changed since their groups were shown to you (now: {}): nothing was done; review them again",
                        tags.iter()
                            .map(|(e, g)| format!("{e}={}", g.join(",")))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )));
                }
                self.warn(
                    "release",
                    "restoring from instance tags, not from the journal: the groups were checked, but who wrote the tags is unknown".into(),
                );
                tags
            }
        };
        let ops = self.ops;
        for (eni, _) in f.enis.iter().filter(|(e, _)| !originals.contains_key(e)) {
            self.note(Step::warning(format!(
                "{eni} has no recorded groups (attached after quarantine?): left as is"
            )));
        }
        // Restore by recorded ENI id, attached or not (a detached ENI keeps its groups).
        let mut restored: Vec<String> = Vec::new();
        let mut failed: Vec<String> = Vec::new();
        for (eni, orig) in &originals {
            if f.enis.iter().any(|(e, g)| e == eni && g == orig) {
                restored.push(eni.clone());
                continue;
            }
            let r = self
                .step(
                    "release",
                    &format!("restore {eni} groups {}", orig.join(",")),
                    || async { ops.set_eni_groups(eni, orig, false).await.map(|r| ((), r)) },
                )
                .await;
            if collect(r, &mut failed)? {
                restored.push(eni.clone());
            }
        }
        if let Err(e) = self.exit_standby(&f, record.as_ref()).await {
            failed.push(e.to_string());
        }
        // A late interface is left isolated only if it is: otherwise the record stays open.
        if let Some(q) = &record {
            for eni in &q.late {
                let Some((_, groups)) = f.enis.iter().find(|(e, _)| e == eni) else {
                    continue;
                };
                let isolated =
                    groups.len() == 1 && self.is_isolation_group(&groups[0], &q.vpc_id).await;
                if !isolated {
                    failed.push(format!(
                        "{eni} (attached during quarantine) is not on the isolation group: run quarantine again first"
                    ));
                }
            }
        }
        if let Some(q) = &record {
            failed.extend(self.restore_evidence(&f, q).await?);
            let mut done = restored.clone();
            if failed.is_empty() {
                done.extend(q.late.iter().cloned());
            }
            self.journal(Event::Restored {
                enis: done,
                complete: failed.is_empty(),
            })?;
        }
        // The tag mirror of what was restored goes, best-effort.
        // Only what this release accounts for: another responder's records stay.
        let mut keys: Vec<String> = restored.iter().flat_map(|e| f.original_keys(e)).collect();
        if failed.is_empty() {
            if let Some(q) = &record {
                keys.extend(q.late.iter().flat_map(|e| f.original_keys(e)));
            }
            keys.extend(
                [TAG_STATE, TAG_AT, TAG_ASG]
                    .iter()
                    .filter(|k| f.tags.contains_key(**k))
                    .map(|k| k.to_string()),
            );
        }
        if !keys.is_empty() {
            let id2 = id.clone();
            let r = self
                .step("release", "remove the quarantine tag mirror", || async {
                    ops.delete_tags(&id2, &keys, false).await.map(|r| ((), r))
                })
                .await;
            match r {
                Ok(()) => {}
                Err(e @ TriageError::Interrupted(_)) => return Err(e),
                Err(e) => self.warn("release", format!("tag mirror not removed: {e}")),
            }
        }
        if !failed.is_empty() {
            return Err(TriageError::Api {
                step: "release".into(),
                error: format!(
                    "restored {} interface(s); not done: {} (records kept: run release again)",
                    restored.len(),
                    failed.join("; ")
                ),
                kind: crate::aws::ErrorKind::Other,
            });
        }
        Ok(format!(
            "{id} released: original groups restored on {} interface(s); termination protection left on",
            restored.len()
        ))
    }

    /// Takes the instance out of Standby when quarantine put it there: the group from the
    /// journal (or, restoring from tags, the tag hint) must match what
    /// DescribeAutoScalingInstances says.
    async fn exit_standby(
        &mut self,
        f: &Facts,
        record: Option<&Quarantine>,
    ) -> Result<(), TriageError> {
        let wanted = match record {
            Some(q) => q.standby.clone(),
            None => f.tags.get(TAG_ASG).cloned(),
        };
        let Some(asg) = wanted else {
            return Ok(());
        };
        let id = self.target.instance_id.clone();
        let ops = self.ops;
        let member = ops
            .asg_membership(&id)
            .await
            .map_err(api("read Auto Scaling membership"))?;
        match member {
            Some((name, life)) if name == asg && life == "Standby" => {
                self.step(
                    "release",
                    &format!("exit standby in Auto Scaling group {asg}"),
                    || async { ops.asg_standby(&id, &asg, false).await.map(|r| ((), r)) },
                )
                .await
            }
            _ => Ok(()),
        }
    }

    /// Puts back the shutdown behaviour and DeleteOnTermination flags quarantine changed;
    /// returns what could not be restored. Termination protection stays on.
    async fn restore_evidence(
        &mut self,
        f: &Facts,
        q: &Quarantine,
    ) -> Result<Vec<String>, TriageError> {
        let id = self.target.instance_id.clone();
        let ops = self.ops;
        let mut failed = Vec::new();
        if let Some(before) = q.shutdown_behavior.clone()
            && f.shutdown_behavior.as_deref() != Some(before.as_str())
        {
            let r = self
                .step(
                    "release",
                    &format!("shutdown behaviour back to {before}"),
                    || async {
                        ops.set_shutdown_behavior(&id, &before, false)
                            .await
                            .map(|r| ((), r))
                    },
                )
                .await;
            collect(r, &mut failed)?;
        }
        for (device, before) in &q.delete_on_termination {
            let now = f.delete_on_termination(device);
            if now.is_none() || now == Some(*before) {
                continue;
            }
            let r = self
                .step(
                    "release",
                    &format!("{device} DeleteOnTermination back to {before}"),
                    || async {
                        ops.set_delete_on_termination(&id, device, *before, false)
                            .await
                            .map(|r| ((), r))
                    },
                )
                .await;
            collect(r, &mut failed)?;
        }
        Ok(failed)
    }

    /// Plan and DryRun checks of release: from the journal, or from checked instance tags
    /// (then typed confirmation is required).
    pub(super) async fn preview_release(
        &mut self,
        f: &Facts,
        p: &mut Preview,
    ) -> Result<(), TriageError> {
        let ops = self.ops;
        let id = self.target.instance_id.clone();
        let originals = match self.journal.get(&self.target.key()).cloned() {
            Some(q) => {
                for (eni, g) in &q.enis {
                    p.plan.push(if q.late.contains(eni) {
                        format!(
                            "Leave {eni} isolated: it was attached during quarantine (groups then: {}).",
                            g.join(", ")
                        )
                    } else {
                        format!("Restore {eni} to {} (from the local journal).", g.join(", "))
                    });
                }
                if let Some(asg) = &q.standby {
                    p.plan
                        .push(format!("Exit Standby in Auto Scaling group {asg}."));
                }
                if let Some(b) = &q.shutdown_behavior
                    && f.shutdown_behavior.as_deref() != Some(b.as_str())
                {
                    p.plan.push(format!("Shutdown behaviour back to {b}."));
                    let v = Verdict::of(&ops.set_shutdown_behavior(&id, b, true).await);
                    p.checks.push(Check::new(
                        format!("ModifyInstanceAttribute InstanceInitiatedShutdownBehavior={b}"),
                        v,
                    ));
                }
                for (device, before) in &q.delete_on_termination {
                    let now = f.delete_on_termination(device);
                    if now.is_some() && now != Some(*before) {
                        p.plan
                            .push(format!("{device} DeleteOnTermination back to {before}."));
                        let v = Verdict::of(
                            &ops.set_delete_on_termination(&id, device, *before, true)
                                .await,
                        );
                        p.checks.push(Check::new(
                            format!(
                                "ModifyInstanceAttribute {device} DeleteOnTermination={before}"
                            ),
                            v,
                        ));
                    }
                }
                q.enis
                    .into_iter()
                    .filter(|(e, _)| !q.late.contains(e))
                    .collect()
            }
            None => {
                let tags = f.originals();
                if tags.is_empty() {
                    p.plan.push("Not quarantined: nothing to restore.".into());
                    return Ok(());
                }
                let checked = self.check_tag_originals(f, &tags).await?;
                p.plan.push(
                    "No local journal record (quarantined from another machine?). The groups below come \
                     FROM INSTANCE TAGS, NOT VERIFIED: anyone who can write tags could have set them."
                        .into(),
                );
                for (eni, gs) in &checked.groups {
                    for (g, what) in gs {
                        p.plan.push(format!("Restore {eni} to {g} ({what})."));
                    }
                }
                if checked.problems.is_empty() {
                    p.checks.push(Check::new(
                        "groups named in the tags",
                        Verdict::Warning(
                            "exist in the VPC, none is watchfloor's, interfaces attached; type the instance id to confirm".into(),
                        ),
                    ));
                } else {
                    p.checks.push(Check::new(
                        "groups named in the tags",
                        Verdict::Error(checked.problems.join("; ")),
                    ));
                }
                p.typed_confirmation = true;
                p.action = super::Action::Release {
                    from_tags: Some(tags.clone()),
                };
                tags
            }
        };
        p.plan.push(
            "Remove the tag mirror of what is restored. Termination protection stays on.".into(),
        );
        for (eni, groups) in &originals {
            let v = Verdict::of(&ops.set_eni_groups(eni, groups, true).await);
            p.checks.push(Check::new(
                format!("ModifyNetworkInterfaceAttribute {eni}"),
                v,
            ));
        }
        let keys = f.mirror_keys();
        if !keys.is_empty() {
            let v = Verdict::of(&ops.delete_tags(&id, &keys, true).await)
                .or_warning("the tag mirror would stay, release goes on");
            p.checks.push(Check::new("DeleteTags (mirror)", v));
        }
        Ok(())
    }
}
