//! Triage actions (stop, quarantine, release, snapshot, archive a finding): DryRun-previewed,
//! audited step by step, and, for quarantine, driven by watchfloor's own journal and the live
//! interface groups, never by tags an attacker can write. See docs/triage.md.

pub mod audit;
pub mod aws_ops;
pub mod demo_ops;
pub mod executor;
pub mod headless;
pub mod journal;
pub mod jsonl;
mod quarantine;
mod release;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use chrono::Utc;

pub use audit::{AuditLog, Phase, Record};
pub use journal::{Journal, Key};

use crate::aws::{AwsError, ErrorKind};
use crate::model::{IngressRule, InstanceState};

/// Tag holding the case id (a mirror for other responders; never read back as truth).
pub const TAG_CASE: &str = "watchfloor:case";
/// Tag mirroring the quarantine state: `recorded`, `allow-all`, `isolated`.
pub const TAG_STATE: &str = "watchfloor:quarantine";
/// Tag mirroring when quarantine started.
pub const TAG_AT: &str = "watchfloor:quarantined-at";
/// Prefix of the tags mirroring each ENI's original groups (`...:eni-123` = `sg-a,sg-b`).
pub const TAG_ORIGINAL: &str = "watchfloor:original-groups:";
/// Tag mirroring the Auto Scaling group the instance was put in Standby in.
pub const TAG_ASG: &str = "watchfloor:asg-standby";
/// Name prefix of the per-VPC isolation group (no ingress but the examiner CIDR, no egress).
pub const ISOLATION_GROUP: &str = "watchfloor-isolation";
/// Name prefix of the per-VPC allow-all group used to untrack existing flows before isolating.
pub const ALLOW_ALL_GROUP: &str = "watchfloor-allow-all";
/// True for the name of a VPC's isolation group as watchfloor makes it: `watchfloor-isolation-
/// <vpc>`, or that with a `-<number>` suffix (a fresh group, when the one found under the plain
/// name would not become exact). A name is still only a hint: the rules decide.
pub fn is_isolation_name(name: &str, vpc: &str) -> bool {
    name.strip_prefix(ISOLATION_GROUP)
        .and_then(|r| r.strip_prefix('-'))
        .and_then(|r| r.strip_prefix(vpc))
        .is_some_and(|r| {
            r.is_empty()
                || r.strip_prefix('-')
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
}

/// Tags AWS allows on one resource.
pub const TAG_LIMIT: usize = 50;

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
    /// Restore every ENI's journaled groups (and the attributes quarantine changed).
    Release {
        /// Without a journal record: the groups per interface, read from the instance tags,
        /// checked and shown to the operator, who typed the instance id having seen them. The
        /// run refuses if the tags say anything else by then.
        from_tags: Option<BTreeMap<String, Vec<String>>>,
    },
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
            Action::Release { .. } => "release",
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

impl Target {
    /// The journal key of the instance.
    pub fn key(&self) -> Key {
        Key {
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            instance_id: self.instance_id.clone(),
        }
    }
}

/// Session settings of triage.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Case id stamped on every tag, snapshot and audit record.
    pub case_id: String,
    /// Who acts (STS identity ARN, or `demo`).
    pub operator: String,
    /// Pause between the allow-all and the isolation group.
    pub quarantine_wait: Duration,
    /// CIDR allowed to reach port 22 of isolated instances.
    pub examiner_cidr: Option<String>,
    /// Set to true to cut the allow-all wait short (the console is going away): the run goes
    /// straight on to isolation.
    pub hurry: Option<tokio::sync::watch::Receiver<bool>>,
}

/// One attached EBS volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// Device name (`/dev/xvda`).
    pub device: String,
    /// `vol-...`
    pub volume_id: String,
    /// DeleteOnTermination.
    pub delete_on_termination: Option<bool>,
}

/// What DescribeInstances (and attributes) say about the instance right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Lifecycle state.
    pub state: Option<InstanceState>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Attached ENIs with their groups, primary first.
    pub enis: Vec<(String, Vec<String>)>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// DisableApiStop.
    pub stop_protection: Option<bool>,
    /// DisableApiTermination.
    pub termination_protection: Option<bool>,
    /// InstanceInitiatedShutdownBehavior (`stop` / `terminate`).
    pub shutdown_behavior: Option<String>,
    /// Attached EBS volumes.
    pub volumes: Vec<Volume>,
}

impl Facts {
    /// Original groups per ENI as the instance tags claim them (a hint: anyone who can write
    /// tags can forge these).
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

    /// Keys of every tag mirroring `eni`'s original groups.
    pub fn original_keys(&self, eni: &str) -> Vec<String> {
        let first = format!("{TAG_ORIGINAL}{eni}");
        let more = format!("{first}:");
        self.tags
            .keys()
            .filter(|k| **k == first || k.starts_with(&more))
            .cloned()
            .collect()
    }

    /// DeleteOnTermination of the volume attached at `device`, if known.
    pub fn delete_on_termination(&self, device: &str) -> Option<bool> {
        self.volumes
            .iter()
            .find(|v| v.device == device)
            .and_then(|v| v.delete_on_termination)
    }

    /// Every tag key of the quarantine mirror on this instance.
    pub fn mirror_keys(&self) -> Vec<String> {
        self.tags
            .keys()
            .filter(|k| {
                k.starts_with(TAG_ORIGINAL) || [TAG_STATE, TAG_AT, TAG_ASG].contains(&k.as_str())
            })
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

/// A security group with the rules both ways (each rule flattened to one source; for egress the
/// `source` is the destination).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupInfo {
    /// `sg-...`
    pub group_id: String,
    /// GroupName.
    pub name: String,
    /// VPC of the group.
    pub vpc_id: Option<String>,
    /// Inbound rules.
    pub ingress: Vec<IngressRule>,
    /// Outbound rules.
    pub egress: Vec<IngressRule>,
}

/// Which rules of a group a change touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Inbound.
    Ingress,
    /// Outbound.
    Egress,
}

impl Direction {
    /// `ingress` / `egress`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// Result of a mutating call: the request id, when the service returned one.
pub type OpResult = Result<Option<String>, AwsError>;

/// The EC2 operations triage needs; implemented over the AWS SDK and over the demo fleet.
pub trait Ops: Send + Sync {
    /// The account id the credentials act in (STS GetCallerIdentity).
    fn caller_account(&self) -> impl Future<Output = Result<String, AwsError>> + Send;
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
    /// Sets InstanceInitiatedShutdownBehavior (`stop` / `terminate`).
    fn set_shutdown_behavior(
        &self,
        instance: &str,
        behavior: &str,
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// Sets DeleteOnTermination of the volume attached at `device`.
    fn set_delete_on_termination(
        &self,
        instance: &str,
        device: &str,
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
    /// Finds a group by name in a VPC (a name is a hint: the rules are checked separately).
    fn find_group(
        &self,
        vpc: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, AwsError>> + Send;
    /// Reads groups with their rules both ways; a group that does not exist is left out.
    fn describe_groups(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<GroupInfo>, AwsError>> + Send;
    /// Creates a bare group (its rules are set by the caller afterwards).
    fn create_group(
        &self,
        vpc: &str,
        name: &str,
        role: &str,
        case: &str,
        dry_run: bool,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;
    /// Authorizes (`add`) or revokes rules of a group.
    fn change_rules(
        &self,
        group: &str,
        direction: Direction,
        add: bool,
        rules: &[IngressRule],
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// StopInstances.
    fn stop(
        &self,
        instance: &str,
        force: bool,
        hibernate: bool,
        dry_run: bool,
    ) -> impl Future<Output = OpResult> + Send;
    /// The Auto Scaling group and lifecycle state (`InService`, `Standby`, ...) of the instance,
    /// from DescribeAutoScalingInstances (never from a tag).
    fn asg_membership(
        &self,
        instance: &str,
    ) -> impl Future<Output = Result<Option<(String, String)>, AwsError>> + Send;
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

/// What a DryRun call (or a check) said.
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
    /// Would fail or be skipped, but the action goes on without it (e.g. the tag mirror).
    Warning(String),
}

impl Verdict {
    /// From the outcome of a call made with DryRun=true.
    pub fn of<T>(r: &Result<T, AwsError>) -> Verdict {
        match r {
            Ok(_) => Verdict::Allowed,
            Err(e) => match e.kind {
                ErrorKind::DryRunOk => Verdict::Allowed,
                ErrorKind::Denied => Verdict::Denied(e.message.clone()),
                _ => Verdict::Error(e.message.clone()),
            },
        }
    }

    /// For a call the action can do without (the tag mirror): anything but allowed becomes a
    /// warning saying what happens instead.
    pub fn or_warning(self, instead: &str) -> Verdict {
        match self {
            Verdict::Allowed => Verdict::Allowed,
            other => Verdict::Warning(format!("{}; {instead}", other.label())),
        }
    }

    /// True when the action may go ahead: allowed, not checkable in advance, or only a warning.
    pub fn permits(&self) -> bool {
        matches!(
            self,
            Verdict::Allowed | Verdict::Unchecked(_) | Verdict::Warning(_)
        )
    }

    /// `allowed`, `denied: ...`, `error: ...`, `warning: ...`
    pub fn label(&self) -> String {
        match self {
            Verdict::Allowed => "allowed".into(),
            Verdict::Denied(m) => format!("denied: {m}"),
            Verdict::Error(m) => format!("error: {m}"),
            Verdict::Unchecked(m) => format!("not checkable in advance: {m}"),
            Verdict::Warning(m) => format!("warning: {m}"),
        }
    }
}

/// What the confirmation panel (and headless `triage`) shows before a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// What will happen, in plain words.
    pub plan: Vec<String>,
    /// Each DryRun call (or check) with its verdict.
    pub checks: Vec<(String, Verdict)>,
    /// The run must be confirmed by typing the instance id, whatever the settings say (release
    /// from unverified instance tags).
    pub typed_confirmation: bool,
    /// The action to run once confirmed (release becomes release-from-tags when that is the only
    /// record).
    pub action: Action,
}

/// Why an action stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriageError {
    /// The audit record or the journal could not be written.
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
            TriageError::Audit(m) => write!(f, "audit log or journal unwritable: {m}"),
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
    /// The quarantine journal.
    pub journal: &'a mut Journal,
    /// The instance.
    pub target: Target,
    /// Case, operator, settings.
    pub ctx: Context,
    /// Progress lines, as steps complete.
    pub progress: Vec<String>,
    /// Warnings (tag mirror skipped, audit record lost during compensation, ...).
    pub warnings: Vec<String>,
    /// Test hook: stop (as if killed) right after the first step whose name contains this.
    pub interrupt_after: Option<String>,
    /// Receives each progress line as it happens (the console shows them live).
    pub notify: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    /// Set once a tag-mirror write failed: the rest of the run skips the mirror.
    mirror_off: bool,
}

impl<'a, O: Ops> Runner<'a, O> {
    /// A runner with no progress sink and no test hook.
    pub fn new(
        ops: &'a O,
        audit: &'a mut AuditLog,
        journal: &'a mut Journal,
        target: Target,
        ctx: Context,
    ) -> Self {
        Runner {
            ops,
            audit,
            journal,
            target,
            ctx,
            progress: Vec::new(),
            warnings: Vec::new(),
            interrupt_after: None,
            notify: None,
            mirror_off: false,
        }
    }

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

    /// A warning: shown live, kept for the summary, and written to the audit log when it can
    /// be (a failing audit log never blocks what is running).
    fn warn(&mut self, action: &str, msg: String) {
        if self.warnings.contains(&msg) {
            return;
        }
        self.note(format!("! {msg}"));
        if let Err(e) = self.record(
            action,
            &msg,
            Phase::Outcome,
            false,
            Some("warning".into()),
            None,
        ) {
            self.note(format!("! {e}"));
        }
        self.warnings.push(msg);
    }

    /// Writes the intent, runs the call, writes the outcome.
    async fn step<T, F, Fut>(&mut self, action: &str, step: &str, f: F) -> Result<T, TriageError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(T, Option<String>), AwsError>>,
    {
        self.record(action, step, Phase::Intent, false, None, None)?;
        let r = f().await;
        let (res, req) = outcome(&r);
        if let Err(TriageError::Audit(m)) =
            self.record(action, step, Phase::Outcome, false, Some(res), req)
        {
            return Err(TriageError::Audit(format!(
                "the call of step `{step}` returned but its outcome could not be recorded: {m}"
            )));
        }
        self.finish_step(step, r, true)
    }

    /// Like `step`, but an audit record that cannot be written is a warning, never a block:
    /// for compensation, which must work when everything else is failing.
    async fn step_lenient<T, F, Fut>(
        &mut self,
        action: &str,
        step: &str,
        f: F,
    ) -> Result<T, TriageError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(T, Option<String>), AwsError>>,
    {
        let intent = self.record(action, step, Phase::Intent, false, None, None);
        let r = f().await;
        let (res, req) = outcome(&r);
        let recorded = self.record(action, step, Phase::Outcome, false, Some(res), req);
        if let Some(Err(e)) = [intent, recorded].into_iter().find(Result::is_err) {
            self.note(format!("! audit record of `{step}` lost: {e}"));
            self.warnings
                .push(format!("audit record of `{step}` lost: {e}"));
        }
        self.finish_step(step, r, false)
    }

    /// Notes how a step ended; `crash` enables the test hooks (never during compensation).
    fn finish_step<T>(
        &mut self,
        step: &str,
        r: Result<(T, Option<String>), AwsError>,
        crash: bool,
    ) -> Result<T, TriageError> {
        match r {
            Ok((v, _)) => {
                self.note(format!("✓ {step}"));
                if crash {
                    self.crash_point(step)?;
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

    /// Test hooks after a completed step: `interrupt_after` returns as if the process died
    /// there; `WATCHFLOOR_TEST_HANG_AFTER` (set by the SIGKILL tests of the real binary) prints
    /// the step on stderr and hangs so the test can kill the process at exactly that point;
    /// `WATCHFLOOR_TEST_PANIC_AFTER` panics there (the console's panic handling is tested so).
    fn crash_point(&self, step: &str) -> Result<(), TriageError> {
        if let Some(p) = std::env::var_os("WATCHFLOOR_TEST_PANIC_AFTER")
            && step.contains(p.to_string_lossy().as_ref())
        {
            panic!("WATCHFLOOR_TEST_PANIC_AFTER: panicking after {step}");
        }
        if self
            .interrupt_after
            .as_deref()
            .is_some_and(|p| step.contains(p))
        {
            return Err(TriageError::Interrupted(step.to_string()));
        }
        if let Some(p) = std::env::var_os("WATCHFLOOR_TEST_HANG_AFTER")
            && step.contains(p.to_string_lossy().as_ref())
        {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "WATCHFLOOR_TEST_HUNG after {step}");
            loop {
                std::thread::park();
            }
        }
        Ok(())
    }

    /// For a step the action goes on without: a failure becomes a warning naming what it
    /// means; a lost audit record or the crash test hook still stop the run.
    fn soft(
        &mut self,
        action: &str,
        r: Result<(), TriageError>,
        meaning: &str,
    ) -> Result<(), TriageError> {
        if let Some(e) = tolerated(r)? {
            self.warn(action, format!("{e}: {meaning}"));
        }
        Ok(())
    }

    /// Writes a journal entry (fsynced) before what it describes happens.
    fn journal(&mut self, event: journal::Event) -> Result<(), TriageError> {
        let key = self.target.key();
        let case = self.ctx.case_id.clone();
        self.journal
            .append(&key, &case, event)
            .map_err(|e| TriageError::Audit(format!("{}: {e}", self.journal.path().display())))
    }

    /// Best-effort tag mirror for other responders: a failure (50-tag limit, CreateTags denied)
    /// is a warning and turns the mirror off for the rest of the run; it never blocks (only the
    /// crash test hook comes back as an error).
    async fn mirror(
        &mut self,
        action: &str,
        what: &str,
        tags: Vec<(String, String)>,
    ) -> Result<(), TriageError> {
        if self.mirror_off || tags.is_empty() {
            return Ok(());
        }
        let ops = self.ops;
        let id = self.target.instance_id.clone();
        let r = self
            .step(action, &format!("mirror {what} in tags"), || async {
                ops.create_tags(&id, &tags, false).await.map(|r| ((), r))
            })
            .await;
        if let Some(e) = tolerated(r)? {
            self.mirror_off = true;
            self.warn(
                action,
                format!(
                    "tag mirror skipped ({e}): the journal keeps the record; other responders will not see it in tags"
                ),
            );
        }
        Ok(())
    }

    async fn facts(&self) -> Result<Facts, TriageError> {
        self.ops
            .describe(&self.target.instance_id)
            .await
            .map_err(api("describe instance"))
    }

    /// Refuses unless STS says the credentials act in the account the operator saw named.
    async fn verify_account(&mut self, action: &str) -> Result<(), TriageError> {
        let got = self
            .ops
            .caller_account()
            .await
            .map_err(api("verify account (STS GetCallerIdentity)"))?;
        if got != self.target.account_id {
            let msg = format!(
                "STS says these credentials act in account {got}, not {} ({}) that was shown: nothing was done",
                self.target.account_id, self.target.alias
            );
            self.record(
                action,
                &msg,
                Phase::Outcome,
                false,
                Some("refused".into()),
                None,
            )?;
            return Err(TriageError::Refused(msg));
        }
        Ok(())
    }

    /// The plan and every DryRun check of an action, with its verdicts recorded.
    pub async fn preview(&mut self, action: &Action) -> Result<Preview, TriageError> {
        let f = self.facts().await?;
        let id = self.target.instance_id.clone();
        let mut p = Preview {
            plan: Vec::new(),
            checks: Vec::new(),
            typed_confirmation: false,
            action: action.clone(),
        };
        match action {
            Action::Stop {
                force,
                hibernate,
                clear_stop_protection,
            } => {
                p.plan = stop_plan(&f, *force, *hibernate, *clear_stop_protection);
                if *clear_stop_protection && f.stop_protection == Some(true) {
                    let v = Verdict::of(&self.ops.set_stop_protection(&id, false, true).await);
                    p.checks
                        .push(("ModifyInstanceAttribute DisableApiStop=false".into(), v));
                }
                let v = Verdict::of(&self.ops.stop(&id, *force, *hibernate, true).await);
                p.checks.push(("StopInstances".into(), v));
            }
            Action::Quarantine => self.preview_quarantine(&f, &mut p).await?,
            Action::Release { .. } => self.preview_release(&f, &mut p).await?,
            Action::ArchiveFinding { finding_id, kind } => {
                p.plan.push(format!(
                    "Archive GuardDuty finding {kind} ({finding_id}): it leaves the fleet view and GuardDuty's \
                     current findings; it can be unarchived in GuardDuty. Only archive what you have triaged."
                ));
                p.checks.push((
                    "ArchiveFindings".into(),
                    Verdict::Unchecked("GuardDuty has no DryRun".into()),
                ));
            }
            Action::Snapshot => {
                let vols: Vec<&str> = f.volumes.iter().map(|v| v.volume_id.as_str()).collect();
                p.plan.push(format!(
                    "Snapshot {} EBS volume(s) ({}), tagged with case {}.",
                    vols.len(),
                    vols.join(", "),
                    self.ctx.case_id
                ));
                if let Some(vol) = vols.first() {
                    let v = Verdict::of(&self.ops.snapshot_volume(vol, "dry run", &[], true).await);
                    p.checks.push(("CreateSnapshot".into(), v));
                }
            }
        }
        for (op, v) in p.checks.clone() {
            self.record(
                action.name(),
                &op,
                Phase::Outcome,
                true,
                Some(v.label()),
                None,
            )?;
        }
        Ok(p)
    }

    /// Runs the action for real, once STS has confirmed the account, and writes its outcome
    /// (with any warnings) to the audit log.
    pub async fn run(&mut self, action: &Action) -> Result<String, TriageError> {
        let r = self.run_inner(action).await;
        if matches!(r, Err(TriageError::Interrupted(_))) {
            return r;
        }
        let mut res = match &r {
            Ok(m) => format!("ok: {m}"),
            Err(e) => format!("error: {e}"),
        };
        if !self.warnings.is_empty() {
            res.push_str(&format!(" (warnings: {})", self.warnings.join("; ")));
        }
        if let Err(e) = self.record(
            action.name(),
            "result",
            Phase::Outcome,
            false,
            Some(res),
            None,
        ) {
            self.note(format!("! the outcome could not be recorded: {e}"));
        }
        r
    }

    /// Records the outcome of a run that could not start (the MFA session was not renewed),
    /// best-effort: nothing was done, and the audit log says so.
    pub fn record_not_started(&mut self, action: &Action, why: &str) {
        let _ = self.record(
            action.name(),
            "result",
            Phase::Outcome,
            false,
            Some(format!("error: {why}; nothing was done")),
            None,
        );
    }

    async fn run_inner(&mut self, action: &Action) -> Result<String, TriageError> {
        // One action at a time per instance, across processes too.
        let key = self.target.key();
        let mut waited = false;
        let lock = self.journal.lock_instance(&key, || waited = true).await;
        if waited {
            self.note("… waited for another watchfloor process acting on this instance".into());
        }
        let _lock =
            lock.map_err(|e| TriageError::Refused(format!("{e}: nothing was done (try again)")))?;
        // What another process wrote while this one waited counts.
        self.journal
            .reload()
            .map_err(|e| TriageError::Audit(format!("{}: {e}", self.journal.path().display())))?;
        self.verify_account(action.name()).await?;
        match action {
            Action::Stop {
                force,
                hibernate,
                clear_stop_protection,
            } => self.stop(*force, *hibernate, *clear_stop_protection).await,
            Action::Quarantine => self.quarantine().await,
            Action::Release { from_tags } => self.release(from_tags.as_ref()).await,
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
        for vol in f.volumes.iter().map(|v| &v.volume_id) {
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

/// Turns an AWS error into the failure of `step`.
fn api(step: impl Into<String>) -> impl FnOnce(AwsError) -> TriageError {
    let step = step.into();
    move |e| TriageError::Api {
        step,
        error: e.message,
    }
}

/// How a step the action can go on without ended: `Ok(None)` done, `Ok(Some(e))` failed and
/// tolerated, `Err(e)` the run must stop all the same (a lost audit record, the crash test hook).
fn tolerated<T>(r: Result<T, TriageError>) -> Result<Option<TriageError>, TriageError> {
    match r {
        Ok(_) => Ok(None),
        Err(e @ (TriageError::Interrupted(_) | TriageError::Audit(_))) => Err(e),
        Err(e) => Ok(Some(e)),
    }
}

/// The audit result (`ok` / `error: ...`) and request id of a call.
fn outcome<T>(r: &Result<(T, Option<String>), AwsError>) -> (String, Option<String>) {
    match r {
        Ok((_, req)) => ("ok".to_string(), req.clone()),
        Err(e) => (format!("error: {}", e.message), None),
    }
}

fn stop_plan(f: &Facts, force: bool, hibernate: bool, clear: bool) -> Vec<String> {
    let mut v = Vec::new();
    if f.stop_protection == Some(true) {
        v.push(if clear {
            "Stop protection (DisableApiStop) is SET: it will be cleared first.".into()
        } else {
            "Stop protection (DisableApiStop) is SET: the stop will be refused unless you clear it."
                .into()
        });
    }
    v.push(format!(
        "Stop the instance{}{}. RAM contents are lost (snapshot first for disk evidence).",
        if force {
            " (force: no clean OS shutdown)"
        } else {
            ""
        },
        if hibernate {
            " (hibernate: RAM kept on the root volume)"
        } else {
            ""
        }
    ));
    v
}

/// Replaces control characters (ESC, CR, BEL...) in text that came from the account (tags,
/// names, ids) or the operator (case id) before it is written to a terminal.
pub fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
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

    #[test]
    fn isolation_group_names() {
        assert!(is_isolation_name("watchfloor-isolation-vpc-1", "vpc-1"));
        assert!(is_isolation_name(
            "watchfloor-isolation-vpc-1-1765000000",
            "vpc-1"
        ));
        assert!(!is_isolation_name("watchfloor-isolation-vpc-1-x", "vpc-1"));
        assert!(!is_isolation_name("watchfloor-isolation-vpc-2", "vpc-1"));
        assert!(!is_isolation_name("watchfloor-isolation-anything", "vpc-1"));
        assert!(!is_isolation_name("watchfloor-isolation-vpc-1-", "vpc-1"));
    }

    #[test]
    fn control_characters_from_the_account_are_escaped() {
        assert_eq!(
            escape_controls("web\u{1b}]52;c;ZXZpbA==\u{7}\r\nok"),
            "web\\u{1b}]52;c;ZXZpbA==\\u{7}\\r\\nok"
        );
        assert_eq!(escape_controls("plain — ünï"), "plain — ünï");
    }
}
