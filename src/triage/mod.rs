//! Triage actions (stop, quarantine, release, snapshot): planned, dry-run first, audited step by
//! step, and, for quarantine, resumable from instance tags after a crash. See docs/triage.md.

pub mod audit;
pub mod aws_ops;
pub mod demo_ops;
pub mod executor;
pub mod headless;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use chrono::Utc;

pub use audit::{AuditLog, Phase, Record};

use crate::model::InstanceState;
use crate::source::aws::AwsError;

/// Tag holding the case id.
pub const TAG_CASE: &str = "watchfloor:case";
/// Tag holding the quarantine state: `recorded`, `allow-all`, `isolated`.
pub const TAG_STATE: &str = "watchfloor:quarantine";
/// Tag holding when quarantine started.
pub const TAG_AT: &str = "watchfloor:quarantined-at";
/// Prefix of the tags recording each ENI's original groups (`...:eni-123` = `sg-a,sg-b`).
pub const TAG_ORIGINAL: &str = "watchfloor:original-groups:";
/// Tag recording the Auto Scaling group the instance was put in Standby in.
pub const TAG_ASG: &str = "watchfloor:asg-standby";
/// Name prefix of the per-VPC isolation group (no ingress but the examiner CIDR, no egress).
pub const ISOLATION_GROUP: &str = "watchfloor-isolation";
/// Name prefix of the per-VPC allow-all group used to untrack existing flows before isolating.
pub const ALLOW_ALL_GROUP: &str = "watchfloor-allow-all";

/// What an action does to the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// StopInstances.
    Stop {
        /// Force stop (no OS shutdown; use when the OS is hostile or hung).
        force: bool,
        /// Hibernate (keeps RAM on the root volume, where enabled).
        hibernate: bool,
        /// Clear DisableApiStop first (attackers set it to block responders).
        clear_stop_protection: bool,
    },
    /// Isolate: allow-all group (cuts untracked flows), then the isolation group.
    Quarantine,
    /// Restore every ENI's recorded groups, remove the quarantine tags.
    Release,
    /// Snapshot every EBS volume, tagged with the case.
    Snapshot,
    /// Archive a GuardDuty finding about the instance.
    ArchiveFinding {
        /// Finding id.
        finding_id: String,
        /// Finding type (shown in the panel).
        kind: String,
    },
}

impl Action {
    /// Name in audit records and the CLI.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Stop { .. } => "stop",
            Action::Quarantine => "quarantine",
            Action::Release => "release",
            Action::Snapshot => "snapshot",
            Action::ArchiveFinding { .. } => "archive-finding",
        }
    }
}

/// The instance acted on, named as the operator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Account alias.
    pub alias: String,
    /// Verified account id.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// Instance id.
    pub instance_id: String,
}

/// Session settings of triage.
#[derive(Debug, Clone)]
pub struct Context {
    /// Case id stamped on every tag, snapshot and audit record.
    pub case_id: String,
    /// Who acts (STS identity ARN, or `demo`).
    pub operator: String,
    /// Pause between the allow-all and the isolation group.
    pub quarantine_wait: Duration,
    /// CIDR allowed to reach port 22 of isolated instances.
    pub examiner_cidr: Option<String>,
}

/// What DescribeInstances (and attributes) say about the instance right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Lifecycle state.
    pub state: Option<InstanceState>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// ENIs with their groups, primary first.
    pub enis: Vec<(String, Vec<String>)>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// DisableApiStop.
    pub stop_protection: Option<bool>,
    /// DisableApiTermination.
    pub termination_protection: Option<bool>,
    /// Attached EBS volume ids.
    pub volumes: Vec<String>,
}

impl Facts {
    /// Auto Scaling group, from its tag.
    pub fn asg(&self) -> Option<&str> {
        self.tags
            .get("aws:autoscaling:groupName")
            .map(String::as_str)
    }

    /// Recorded original groups per ENI.
    pub fn originals(&self) -> BTreeMap<String, Vec<String>> {
        // `...:eni-1` holds the first chunk, `...:eni-1:1`, `:2` the rest (see original_tags).
        let mut chunks: BTreeMap<String, BTreeMap<u32, &str>> = BTreeMap::new();
        for (k, v) in &self.tags {
            if let Some(rest) = k.strip_prefix(TAG_ORIGINAL) {
                let (eni, n) = match rest.split_once(':') {
                    Some((eni, n)) => (eni, n.parse().unwrap_or(u32::MAX)),
                    None => (rest, 0),
                };
                chunks.entry(eni.to_string()).or_default().insert(n, v);
            }
        }
        chunks
            .into_iter()
            .map(|(eni, parts)| {
                let groups = parts
                    .values()
                    .flat_map(|v| v.split(','))
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                (eni, groups)
            })
            .collect()
    }

    /// Keys of every tag recording `eni`'s original groups.
    pub fn original_keys(&self, eni: &str) -> Vec<String> {
        let first = format!("{TAG_ORIGINAL}{eni}");
        let more = format!("{first}:");
        self.tags
            .keys()
            .filter(|k| **k == first || k.starts_with(&more))
            .cloned()
            .collect()
    }
}

/// Tags recording one ENI's original groups, split so no value exceeds what AWS accepts
/// (256 characters): `...:eni` holds the first chunk, `...:eni:1`, `...:eni:2` the rest.
pub fn original_tags(eni: &str, groups: &[String]) -> Vec<(String, String)> {
    const MAX: usize = 255;
    let mut chunks: Vec<String> = vec![String::new()];
    for g in groups {
        let last = chunks.last().map_or(0, String::len);
        if last > 0 && last + 1 + g.len() > MAX {
            chunks.push(String::new());
        }
        let c = chunks.last_mut().expect("at least one chunk");
        if !c.is_empty() {
            c.push(',');
        }
        c.push_str(g);
    }
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let key = if i == 0 {
                format!("{TAG_ORIGINAL}{eni}")
            } else {
                format!("{TAG_ORIGINAL}{eni}:{i}")
            };
            (key, c)
        })
        .collect()
}

/// Result of a mutating call: the request id, when the service returned one.
pub type OpResult = Result<Option<String>, AwsError>;

/// The EC2 operations triage needs; implemented over aws-sdk-ec2 and over the demo fleet.
pub trait Ops: Send + Sync {
    /// Reads the instance's facts.
    fn describe(&self, instance: &str) -> impl Future<Output = Result<Facts, AwsError>> + Send;
    /// Replaces an ENI's security groups.
    fn set_eni_groups(
        &self,
        eni: &str,
        groups: &[String],
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Sets DisableApiTermination.
    fn set_termination_protection(
        &self,
        instance: &str,
        on: bool,
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Sets DisableApiStop.
    fn set_stop_protection(
        &self,
        instance: &str,
        on: bool,
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Adds or overwrites tags.
    fn create_tags(
        &self,
        resource: &str,
        tags: &[(String, String)],
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Removes tags.
    fn delete_tags(
        &self,
        resource: &str,
        keys: &[String],
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Finds a group by name in a VPC.
    fn find_group(
        &self,
        vpc: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, AwsError>> + Send;
    /// Creates the bare isolation group; `harden_isolation_group` (run right after, and on every
    /// quarantine) revokes its default egress and sets the examiner rule.
    fn create_isolation_group(
        &self,
        vpc: &str,
        name: &str,
        case: &str,
        dry_run: bool,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;
    /// Makes a found isolation group what it must be, whoever made it: every egress rule and every
    /// ingress rule but the examiner's TCP 22 revoked, the examiner rule present.
    fn harden_isolation_group(
        &self,
        group: &str,
        examiner: Option<&str>,
    ) -> impl Future<Output = OpResult> + Send;
    /// Creates the allow-all group (all traffic in and out from 0.0.0.0/0 and ::/0).
    fn create_allow_all_group(
        &self,
        vpc: &str,
        name: &str,
        case: &str,
        dry_run: bool,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;
    /// StopInstances.
    fn stop(
        &self,
        instance: &str,
        force: bool,
        hibernate: bool,
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Lifecycle state of the instance in its Auto Scaling group (`InService`, `Standby`, ...).
    fn asg_lifecycle(
        &self,
        instance: &str,
    ) -> impl Future<Output = Result<Option<String>, AwsError>> + Send;
    /// EnterStandby (decrementing desired capacity) or ExitStandby.
    fn asg_standby(
        &self,
        instance: &str,
        asg: &str,
        enter: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Archives a GuardDuty finding (the region's detector).
    fn archive_finding(&self, finding_id: &str) -> impl Future<Output = OpResult> + Send;
    /// CreateSnapshot with tags; returns the snapshot id.
    fn snapshot_volume(
        &self,
        volume: &str,
        description: &str,
        tags: &[(String, String)],
        dry_run: bool,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;
}

/// What a DryRun call said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `DryRunOperation`: the call would succeed.
    Allowed,
    /// `UnauthorizedOperation` / access denied, with the reason.
    Denied(String),
    /// Any other failure (instance gone, bad parameter, unreachable).
    Error(String),
    /// The API has no DryRun (Auto Scaling): cannot be checked in advance.
    Unchecked(String),
}

impl Verdict {
    /// From the outcome of a call made with DryRun=true.
    pub fn of<T>(r: &Result<T, AwsError>) -> Verdict {
        match r {
            Ok(_) => Verdict::Allowed,
            Err(e) => match e.code.as_deref() {
                Some("DryRunOperation") => Verdict::Allowed,
                Some(c) if c.contains("Unauthorized") || c.contains("AccessDenied") => {
                    Verdict::Denied(e.message.clone())
                }
                _ => Verdict::Error(e.message.clone()),
            },
        }
    }

    /// True when the action may go ahead: allowed, or not checkable in advance (no DryRun API).
    pub fn permits(&self) -> bool {
        matches!(self, Verdict::Allowed | Verdict::Unchecked(_))
    }

    /// `allowed`, `denied: ...`, `error: ...`
    pub fn label(&self) -> String {
        match self {
            Verdict::Allowed => "allowed".into(),
            Verdict::Denied(m) => format!("denied: {m}"),
            Verdict::Error(m) => format!("error: {m}"),
            Verdict::Unchecked(m) => format!("not checkable in advance: {m}"),
        }
    }
}

/// Why an action stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriageError {
    /// The audit record could not be written: nothing was called.
    Audit(String),
    /// An API call failed (the instance is left in the state the audit log shows).
    Api {
        /// Step that failed.
        step: String,
        /// Why.
        error: String,
    },
    /// The action cannot be done as asked (e.g. stop protection set and not cleared).
    Refused(String),
    /// Test hook: the process "crashed" after this step.
    Interrupted(String),
}

impl std::fmt::Display for TriageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TriageError::Audit(m) => write!(f, "audit log unwritable (stopped here): {m}"),
            TriageError::Api { step, error } => write!(f, "{step} failed: {error}"),
            TriageError::Refused(m) => f.write_str(m),
            TriageError::Interrupted(s) => write!(f, "interrupted after {s}"),
        }
    }
}

impl std::error::Error for TriageError {}

/// Runs one action on one instance with audit records for every step.
pub struct Runner<'a, O: Ops> {
    /// The operations backend.
    pub ops: &'a O,
    /// The audit log.
    pub audit: &'a mut AuditLog,
    /// The instance.
    pub target: Target,
    /// Case, operator, settings.
    pub ctx: Context,
    /// Progress lines, as steps complete.
    pub progress: Vec<String>,
    /// Test hook: stop (as if killed) right after the first step whose name contains this.
    pub interrupt_after: Option<String>,
    /// Receives each progress line as it happens (the console shows them live).
    pub notify: Option<tokio::sync::mpsc::UnboundedSender<String>>,
}

impl<'a, O: Ops> Runner<'a, O> {
    fn record(
        &mut self,
        action: &str,
        step: &str,
        phase: Phase,
        dry_run: bool,
        result: Option<String>,
        request_id: Option<String>,
    ) -> Result<(), TriageError> {
        let rec = Record {
            time: Utc::now(),
            case: self.ctx.case_id.clone(),
            operator: self.ctx.operator.clone(),
            alias: self.target.alias.clone(),
            account_id: self.target.account_id.clone(),
            region: self.target.region.clone(),
            instance_id: self.target.instance_id.clone(),
            action: action.to_string(),
            step: step.to_string(),
            phase,
            dry_run,
            result,
            request_id,
        };
        self.audit
            .append(&rec)
            .map_err(|e| TriageError::Audit(format!("{}: {e}", self.audit.path().display())))
    }

    fn note(&mut self, line: String) {
        if let Some(n) = &self.notify {
            let _ = n.send(line.clone());
        }
        self.progress.push(line);
    }

    /// Writes the intent, runs the call, writes the outcome.
    async fn step<T, F, Fut>(&mut self, action: &str, step: &str, f: F) -> Result<T, TriageError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(T, Option<String>), AwsError>>,
    {
        self.record(action, step, Phase::Intent, false, None, None)?;
        let r = f().await;
        let (res, req) = match &r {
            Ok((_, req)) => ("ok".to_string(), req.clone()),
            Err(e) => (format!("error: {}", e.message), None),
        };
        if let Err(TriageError::Audit(m)) =
            self.record(action, step, Phase::Outcome, false, Some(res), req)
        {
            return Err(TriageError::Audit(format!(
                "the call of step `{step}` returned but its outcome could not be recorded: {m}"
            )));
        }
        match r {
            Ok((v, _)) => {
                self.note(format!("✓ {step}"));
                if self
                    .interrupt_after
                    .as_deref()
                    .is_some_and(|p| step.contains(p))
                {
                    return Err(TriageError::Interrupted(step.to_string()));
                }
                Ok(v)
            }
            Err(e) => {
                self.note(format!("✗ {step}: {}", e.message));
                Err(TriageError::Api {
                    step: step.to_string(),
                    error: e.message,
                })
            }
        }
    }

    async fn facts(&self) -> Result<Facts, TriageError> {
        self.ops
            .describe(&self.target.instance_id)
            .await
            .map_err(|e| TriageError::Api {
                step: "describe instance".into(),
                error: e.message,
            })
    }

    /// Runs every mutating call of the plan with DryRun=true, recording each verdict.
    pub async fn preview(
        &mut self,
        action: &Action,
    ) -> Result<Vec<(String, Verdict)>, TriageError> {
        let f = self.facts().await?;
        let id = self.target.instance_id.clone();
        let case = self.ctx.case_id.clone();
        let mut checks: Vec<(String, Verdict)> = Vec::new();
        match action {
            Action::Stop {
                force,
                hibernate,
                clear_stop_protection,
            } => {
                if *clear_stop_protection && f.stop_protection == Some(true) {
                    let v = Verdict::of(&self.ops.set_stop_protection(&id, false, true).await);
                    checks.push(("ModifyInstanceAttribute DisableApiStop=false".into(), v));
                }
                let v = Verdict::of(&self.ops.stop(&id, *force, *hibernate, true).await);
                checks.push(("StopInstances".into(), v));
            }
            Action::Quarantine | Action::Release => {
                let v = Verdict::of(
                    &self
                        .ops
                        .create_tags(&id, &[(TAG_CASE.into(), case.clone())], true)
                        .await,
                );
                checks.push(("CreateTags".into(), v));
                if let Some((eni, groups)) = f.enis.first() {
                    let v = Verdict::of(&self.ops.set_eni_groups(eni, groups, true).await);
                    checks.push(("ModifyNetworkInterfaceAttribute".into(), v));
                }
                if *action == Action::Quarantine {
                    if let Some(asg) = f.asg() {
                        checks.push((
                            format!("EnterStandby ({asg})"),
                            Verdict::Unchecked("Auto Scaling has no DryRun".into()),
                        ));
                    }
                    let v =
                        Verdict::of(&self.ops.set_termination_protection(&id, true, true).await);
                    checks.push((
                        "ModifyInstanceAttribute DisableApiTermination=true".into(),
                        v,
                    ));
                    if let Some(vpc) = &f.vpc_id
                        && self
                            .ops
                            .find_group(vpc, &format!("{ISOLATION_GROUP}-{vpc}"))
                            .await
                            .ok()
                            .flatten()
                            .is_none()
                    {
                        let v = Verdict::of(
                            &self
                                .ops
                                .create_allow_all_group(vpc, "watchfloor-dry-run", &case, true)
                                .await,
                        );
                        checks.push(("CreateSecurityGroup".into(), v));
                    }
                } else {
                    let v =
                        Verdict::of(&self.ops.delete_tags(&id, &[TAG_STATE.into()], true).await);
                    checks.push(("DeleteTags".into(), v));
                }
            }
            Action::ArchiveFinding { .. } => {
                checks.push((
                    "ArchiveFindings".into(),
                    Verdict::Unchecked("GuardDuty has no DryRun".into()),
                ));
            }
            Action::Snapshot => {
                if let Some(vol) = f.volumes.first() {
                    let v = Verdict::of(&self.ops.snapshot_volume(vol, "dry run", &[], true).await);
                    checks.push(("CreateSnapshot".into(), v));
                }
            }
        }
        for (op, v) in &checks {
            self.record(
                action.name(),
                op,
                Phase::Outcome,
                true,
                Some(v.label()),
                None,
            )?;
        }
        Ok(checks)
    }

    /// Runs the action for real.
    pub async fn run(&mut self, action: &Action) -> Result<String, TriageError> {
        match action {
            Action::Stop {
                force,
                hibernate,
                clear_stop_protection,
            } => self.stop(*force, *hibernate, *clear_stop_protection).await,
            Action::Quarantine => self.quarantine().await,
            Action::Release => self.release().await,
            Action::Snapshot => self.snapshot().await,
            Action::ArchiveFinding { finding_id, kind } => {
                let ops = self.ops;
                self.step(
                    "archive-finding",
                    &format!("archive finding {kind} {finding_id}"),
                    || async { ops.archive_finding(finding_id).await.map(|r| ((), r)) },
                )
                .await?;
                Ok(format!("finding {finding_id} archived"))
            }
        }
    }

    async fn stop(
        &mut self,
        force: bool,
        hibernate: bool,
        clear: bool,
    ) -> Result<String, TriageError> {
        let f = self.facts().await?;
        let id = self.target.instance_id.clone();
        if matches!(
            f.state,
            Some(InstanceState::Stopped | InstanceState::Stopping)
        ) {
            return Ok(format!(
                "{id} is already {}",
                f.state.map_or("stopped", |s| s.as_str())
            ));
        }
        if f.stop_protection == Some(true) {
            if !clear {
                return Err(TriageError::Refused(format!(
                    "{id} has stop protection (DisableApiStop) set — attackers use it to block responders; confirm clearing it to stop"
                )));
            }
            let ops = self.ops;
            self.step(
                "stop",
                "clear stop protection (DisableApiStop=false)",
                || async {
                    ops.set_stop_protection(&id, false, false)
                        .await
                        .map(|r| ((), r))
                },
            )
            .await?;
        }
        let ops = self.ops;
        let what = match (force, hibernate) {
            (_, true) => "stop instance (hibernate)",
            (true, _) => "stop instance (force)",
            _ => "stop instance",
        };
        self.step("stop", what, || async {
            ops.stop(&id, force, hibernate, false)
                .await
                .map(|r| ((), r))
        })
        .await?;
        Ok(format!("{id} stopping"))
    }

    /// Finds or creates the VPC's isolation and allow-all groups.
    async fn groups(&mut self, vpc: &str) -> Result<(String, String), TriageError> {
        let ops = self.ops;
        let case = self.ctx.case_id.clone();
        let examiner = self.ctx.examiner_cidr.clone();
        let iso_name = format!("{ISOLATION_GROUP}-{vpc}");
        let all_name = format!("{ALLOW_ALL_GROUP}-{vpc}");
        let find = |name: String| async move {
            ops.find_group(vpc, &name)
                .await
                .map_err(|e| TriageError::Api {
                    step: format!("find group {name}"),
                    error: e.message,
                })
        };
        let iso = match find(iso_name.clone()).await? {
            Some(g) => g,
            None => {
                self.step(
                    "quarantine",
                    &format!("create isolation group {iso_name}"),
                    || async {
                        ops.create_isolation_group(vpc, &iso_name, &case, false)
                            .await
                            .map(|g| (g, None))
                    },
                )
                .await?
            }
        };
        // Rules are set here, on every run, whether the group was just created or found: a
        // half-built group or one an attacker pre-created under the predictable name is reset.
        self.step(
            "quarantine",
            &format!("verify isolation group {iso} rules"),
            || async {
                ops.harden_isolation_group(&iso, examiner.as_deref())
                    .await
                    .map(|r| ((), r))
            },
        )
        .await?;
        let all = match find(all_name.clone()).await? {
            Some(g) => g,
            None => {
                self.step(
                    "quarantine",
                    &format!("create allow-all group {all_name}"),
                    || async {
                        ops.create_allow_all_group(vpc, &all_name, &case, false)
                            .await
                            .map(|g| (g, None))
                    },
                )
                .await?
            }
        };
        Ok((iso, all))
    }

    async fn move_enis(&mut self, f: &Facts, group: &str, label: &str) -> Result<(), TriageError> {
        let ops = self.ops;
        // An ENI attached since the record was taken gets its groups recorded before it moves.
        let known = f.originals();
        let unrecorded: Vec<&(String, Vec<String>)> = f
            .enis
            .iter()
            .filter(|(eni, g)| {
                let on_target = g.len() == 1 && g[0] == group;
                !known.contains_key(eni) && !on_target
            })
            .collect();
        let what = unrecorded
            .iter()
            .map(|(eni, g)| format!("{eni}={}", g.join(",")))
            .collect::<Vec<_>>()
            .join(" ");
        let missing: Vec<(String, String)> = unrecorded
            .iter()
            .flat_map(|(eni, g)| original_tags(eni, g))
            .collect();
        if !missing.is_empty() {
            let id = self.target.instance_id.clone();
            self.step(
                "quarantine",
                &format!("record original groups of new interfaces {what}"),
                || async { ops.create_tags(&id, &missing, false).await.map(|r| ((), r)) },
            )
            .await?;
        }
        for (eni, groups) in &f.enis {
            if groups.len() == 1 && groups[0] == group {
                continue;
            }
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
            .await?;
        }
        Ok(())
    }

    async fn set_state(&mut self, state: &str) -> Result<(), TriageError> {
        let ops = self.ops;
        let id = self.target.instance_id.clone();
        let tags = vec![(TAG_STATE.to_string(), state.to_string())];
        self.step("quarantine", &format!("tag state {state}"), || async {
            ops.create_tags(&id, &tags, false).await.map(|r| ((), r))
        })
        .await
    }

    async fn quarantine(&mut self) -> Result<String, TriageError> {
        let id = self.target.instance_id.clone();
        let f = self.facts().await?;
        let vpc = f.vpc_id.clone().ok_or_else(|| {
            TriageError::Refused(format!("{id} has no VPC: nothing to isolate with"))
        })?;
        let state = f.tags.get(TAG_STATE).cloned();
        let ops = self.ops;

        // 1. Record the original groups of every ENI before touching anything (never overwrite
        //    a record left by an interrupted run: those are the real originals).
        if state.is_none() {
            let mut tags: Vec<(String, String)> = f
                .enis
                .iter()
                .flat_map(|(eni, groups)| original_tags(eni, groups))
                .collect();
            tags.push((TAG_CASE.into(), self.ctx.case_id.clone()));
            if let Some(asg) = f.asg() {
                tags.push((TAG_ASG.into(), asg.to_string()));
            }
            tags.push((
                TAG_AT.into(),
                Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ));
            tags.push((TAG_STATE.into(), "recorded".into()));
            let what = f
                .enis
                .iter()
                .map(|(eni, g)| format!("{eni}={}", g.join(",")))
                .collect::<Vec<_>>()
                .join(" ");
            self.step(
                "quarantine",
                &format!("record original groups (tags) {what}"),
                || async { ops.create_tags(&id, &tags, false).await.map(|r| ((), r)) },
            )
            .await?;
        }
        // 2. An Auto Scaling member goes to Standby first, or the group replaces it.
        let asg = f
            .tags
            .get(TAG_ASG)
            .cloned()
            .or_else(|| f.asg().map(str::to_string));
        if let Some(asg) = asg {
            let life = ops.asg_lifecycle(&id).await.map_err(|e| TriageError::Api {
                step: "read Auto Scaling lifecycle".into(),
                error: e.message,
            })?;
            match life.as_deref() {
                Some("Standby") | None => {}
                Some("InService") => {
                    self.step(
                        "quarantine",
                        &format!("enter standby in Auto Scaling group {asg}"),
                        || async { ops.asg_standby(&id, &asg, true).await.map(|r| ((), r)) },
                    )
                    .await?;
                }
                Some(other) => {
                    return Err(TriageError::Refused(format!(
                        "{id} is {other} in Auto Scaling group {asg}: cannot put it in Standby now; retry when it is InService"
                    )));
                }
            }
        }
        // 3. Termination protection on (evidence must survive).
        if f.termination_protection != Some(true) {
            self.step("quarantine", "termination protection on", || async {
                ops.set_termination_protection(&id, true, false)
                    .await
                    .map(|r| ((), r))
            })
            .await?;
        }
        // 4. The VPC's groups.
        let (iso, all) = self.groups(&vpc).await?;
        match self.isolate(&id, state.as_deref(), &iso, &all).await {
            Err(TriageError::Interrupted(s)) => Err(TriageError::Interrupted(s)),
            Err(e) => {
                // Never leave an instance on the allow-all group: put every interface that is on
                // it straight onto the isolation group, and say so.
                let on_all = match self.facts().await {
                    Ok(f) if f.enis.iter().any(|(_, g)| g.contains(&all)) => Some(f),
                    _ => None,
                };
                let comp = match on_all {
                    Some(f) => {
                        self.note(format!(
                            "!! {e}: moving every interface on allow-all to isolation"
                        ));
                        match self.move_enis(&f, &iso, "isolation (compensating)").await {
                            Ok(()) => {
                                "compensated: every interface is on the isolation group".to_string()
                            }
                            Err(c) => format!(
                                "COMPENSATION FAILED, the instance may be OPEN TO THE INTERNET: {c}"
                            ),
                        }
                    }
                    None => "no interface is on the allow-all group".to_string(),
                };
                Err(TriageError::Api {
                    step: "quarantine".into(),
                    error: format!("{e}; {comp}"),
                })
            }
            ok => ok,
        }
    }

    /// Steps 5 and 6: allow-all, wait, isolation.
    async fn isolate(
        &mut self,
        id: &str,
        state: Option<&str>,
        iso: &str,
        all: &str,
    ) -> Result<String, TriageError> {
        // 5. Allow-all first: existing flows become untracked, so the next swap cuts them.
        if matches!(state, None | Some("recorded")) {
            let f = self.facts().await?;
            self.move_enis(&f, all, "allow-all").await?;
            self.set_state("allow-all").await?;
            if !self.ctx.quarantine_wait.is_zero() {
                self.note(format!(
                    "… waiting {}s before isolating (the instance is open to the internet meanwhile)",
                    self.ctx.quarantine_wait.as_secs()
                ));
                tokio::time::sleep(self.ctx.quarantine_wait).await;
            }
        }
        // 6. Isolation.
        let f = self.facts().await?;
        let already =
            state == Some("isolated") && f.enis.iter().all(|(_, g)| g.len() == 1 && g[0] == iso);
        if already {
            return Ok(format!("{id} is already quarantined (no change)"));
        }
        self.move_enis(&f, iso, "isolation").await?;
        if state != Some("isolated") {
            self.set_state("isolated").await?;
        }
        Ok(format!(
            "{id} quarantined: {} interface(s) on {iso}",
            f.enis.len()
        ))
    }

    async fn release(&mut self) -> Result<String, TriageError> {
        let id = self.target.instance_id.clone();
        let f = self.facts().await?;
        let originals = f.originals();
        if !f.tags.contains_key(TAG_STATE) && originals.is_empty() {
            return Ok(format!("{id} is not quarantined (no change)"));
        }
        let ops = self.ops;
        for (eni, _) in f.enis.iter().filter(|(e, _)| !originals.contains_key(e)) {
            self.note(format!(
                "! {eni} has no recorded groups (attached after quarantine?): left as is"
            ));
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
            match r {
                Ok(()) => restored.push(eni.clone()),
                Err(TriageError::Interrupted(s)) => return Err(TriageError::Interrupted(s)),
                Err(e) => failed.push(format!("{eni}: {e}")),
            }
        }
        let mut keep_state = !failed.is_empty();
        if let Some(asg) = f.tags.get(TAG_ASG).cloned() {
            let life = ops.asg_lifecycle(&id).await.map_err(|e| TriageError::Api {
                step: "read Auto Scaling lifecycle".into(),
                error: e.message,
            });
            match life {
                Ok(Some(l)) if l == "Standby" => {
                    let r = self
                        .step(
                            "release",
                            &format!("exit standby in Auto Scaling group {asg}"),
                            || async { ops.asg_standby(&id, &asg, false).await.map(|r| ((), r)) },
                        )
                        .await;
                    if let Err(e) = r {
                        failed.push(e.to_string());
                        keep_state = true;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    failed.push(e.to_string());
                    keep_state = true;
                }
            }
        }
        // Only the records of what was restored go; the rest stay for the next attempt.
        let mut keys: Vec<String> = restored.iter().flat_map(|e| f.original_keys(e)).collect();
        if !keep_state {
            keys.extend(
                [TAG_STATE, TAG_AT, TAG_ASG]
                    .iter()
                    .filter(|k| f.tags.contains_key(**k))
                    .map(|k| k.to_string()),
            );
        }
        if !keys.is_empty() {
            self.step("release", "remove quarantine tags", || async {
                ops.delete_tags(&id, &keys, false).await.map(|r| ((), r))
            })
            .await?;
        }
        if !failed.is_empty() {
            return Err(TriageError::Api {
                step: "release".into(),
                error: format!(
                    "restored {} interface(s); not done: {} (records kept: run release again)",
                    restored.len(),
                    failed.join("; ")
                ),
            });
        }
        Ok(format!(
            "{id} released: original groups restored on {} interface(s); termination protection left on",
            restored.len()
        ))
    }

    async fn snapshot(&mut self) -> Result<String, TriageError> {
        let id = self.target.instance_id.clone();
        let f = self.facts().await?;
        if f.volumes.is_empty() {
            return Err(TriageError::Refused(format!(
                "{id} has no EBS volume to snapshot"
            )));
        }
        let ops = self.ops;
        let mut ids = Vec::new();
        for vol in &f.volumes {
            let tags = vec![
                (TAG_CASE.to_string(), self.ctx.case_id.clone()),
                ("watchfloor:instance".to_string(), id.clone()),
                (
                    "Name".to_string(),
                    format!("{} {id} {vol}", self.ctx.case_id),
                ),
            ];
            let desc = format!(
                "watchfloor case {} evidence of {id} ({vol})",
                self.ctx.case_id
            );
            let snap = self
                .step("snapshot", &format!("snapshot {vol}"), || async {
                    ops.snapshot_volume(vol, &desc, &tags, false)
                        .await
                        .map(|s| (s, None))
                })
                .await?;
            ids.push(snap);
        }
        Ok(format!(
            "{id}: {} snapshot(s) {}",
            ids.len(),
            ids.join(", ")
        ))
    }
}

/// What an action will do, in plain words, for the confirmation panel and `triage` without --yes.
pub fn plan(action: &Action, f: &Facts, ctx: &Context) -> Vec<String> {
    let mut v = Vec::new();
    match action {
        Action::Stop {
            force,
            hibernate,
            clear_stop_protection,
        } => {
            if f.stop_protection == Some(true) {
                v.push(if *clear_stop_protection {
                    "Stop protection (DisableApiStop) is SET: it will be cleared first.".into()
                } else {
                    "Stop protection (DisableApiStop) is SET: the stop will be refused unless you clear it.".into()
                });
            }
            v.push(format!(
                "Stop the instance{}{}. RAM contents are lost (snapshot first for disk evidence).",
                if *force {
                    " (force: no clean OS shutdown)"
                } else {
                    ""
                },
                if *hibernate {
                    " (hibernate: RAM kept on the root volume)"
                } else {
                    ""
                }
            ));
        }
        Action::Quarantine => {
            if let Some(asg) = f.asg() {
                v.push(format!(
                    "Put it in Standby in Auto Scaling group {asg} (desired capacity decremented) so the group does not replace it."
                ));
            }
            v.push(format!(
                "Record the original groups of {} interface(s) in instance tags (case {}).",
                f.enis.len(),
                ctx.case_id
            ));
            v.push("Turn termination protection on.".into());
            v.push(format!(
                "Move every interface to the allow-all group, wait {}s, then to the isolation group \
                 (no ingress{}, no egress).",
                ctx.quarantine_wait.as_secs(),
                ctx.examiner_cidr.as_deref().map(|c| format!(" but {c} on port 22")).unwrap_or_default()
            ));
            v.push("Cannot cut: connections tracked through NAT gateways or load balancers, and ICMP. \
                    The subnet network ACL is the only immediate cut (it affects the whole subnet)."
                .into());
        }
        Action::Release => {
            let o = f.originals();
            if o.is_empty() {
                v.push("Not quarantined: nothing to restore.".into());
            }
            for (eni, g) in o {
                v.push(format!("Restore {eni} to {}.", g.join(", ")));
            }
            if let Some(asg) = f.tags.get(TAG_ASG) {
                v.push(format!("Exit Standby in Auto Scaling group {asg}."));
            }
            v.push("Remove the quarantine tags. Termination protection stays on.".into());
        }
        Action::ArchiveFinding { finding_id, kind } => v.push(format!(
            "Archive GuardDuty finding {kind} ({finding_id}): it leaves the fleet view and GuardDuty's \
             current findings; it can be unarchived in GuardDuty. Only archive what you have triaged."
        )),
        Action::Snapshot => v.push(format!(
            "Snapshot {} EBS volume(s) ({}), tagged with case {}.",
            f.volumes.len(),
            f.volumes.join(", "),
            ctx.case_id
        )),
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_groups_split_across_tags_and_read_back() {
        let groups: Vec<String> = (0..16).map(|i| format!("sg-{i:017x}")).collect();
        let tags = original_tags("eni-1", &groups);
        assert!(tags.len() >= 2, "16 groups do not fit one 256-char value");
        assert!(tags.iter().all(|(_, v)| v.len() <= 255));
        assert_eq!(tags[0].0, "watchfloor:original-groups:eni-1");
        assert_eq!(tags[1].0, "watchfloor:original-groups:eni-1:1");
        let mut f = Facts::default();
        f.tags.extend(tags.clone());
        f.tags.extend(original_tags("eni-2", &["sg-a".to_string()]));
        let o = f.originals();
        assert_eq!(o["eni-1"], groups);
        assert_eq!(o["eni-2"], vec!["sg-a".to_string()]);
        assert_eq!(f.original_keys("eni-1").len(), tags.len());
        // An ENI with no group at all is recorded too (an empty value).
        assert_eq!(
            original_tags("eni-3", &[]),
            vec![(
                "watchfloor:original-groups:eni-3".to_string(),
                String::new()
            )]
        );
    }
}
