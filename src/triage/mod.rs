//! Triage actions (stop, quarantine, release, snapshot, archive a finding): DryRun-previewed,
//! audited step by step, and, for quarantine, driven by watchfloor's own journal and the live
//! interface groups, never by tags an attacker can write. See docs/triage.md.
//!
//! Each action has a file holding its plan and DryRun preview next to its run (`stop`,
//! `quarantine`, `release`, `snapshot`, `archive`); `runner` drives them with audit records for
//! every step; `ops` is the EC2 backend they call, `facts` what it says about the instance, and
//! `verdict` what a DryRun said, `step` how each step of a run went.

mod archive;
pub mod audit;
pub mod aws_ops;
pub mod demo_ops;
mod ecs;
pub mod executor;
mod facts;
pub mod headless;
pub mod journal;
pub mod jsonl;
mod ops;
mod quarantine;
mod release;
pub mod report;
mod runner;
mod snapshot;
mod step;
mod stop;
mod verdict;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::aws::ErrorKind;

pub use audit::{AuditLog, Phase, Record};
pub use facts::{Facts, Volume, original_tags};
pub use journal::{Journal, Key};
pub use ops::{Direction, GroupInfo, OpResult, Ops, ServiceCounts, TaskFacts};
pub use runner::Runner;
pub use step::{Step, StepOutcome};
pub use verdict::{Check, Preview, Verdict};

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
    /// ECS StopTask (the target is the task ARN), the case id in the reason; the task and its
    /// task definition are written to the case's evidence folder first.
    StopTask {
        /// Cluster name.
        cluster: String,
    },
    /// ECS UpdateService desiredCount=0 (the target is the service ARN), the count before
    /// recorded in the journal first; `task`'s evidence written first when given.
    ScaleToZero {
        /// Cluster name.
        cluster: String,
        /// Service name.
        service: String,
        /// The task the operator acted from (its evidence is kept), if any.
        task: Option<String>,
    },
    /// Puts back the desired count the journal recorded at scale-to-zero (the target is the
    /// service ARN).
    RestoreService {
        /// Cluster name.
        cluster: String,
        /// Service name.
        service: String,
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
            Action::StopTask { .. } => "stop-task",
            Action::ScaleToZero { .. } => "scale-to-zero",
            Action::RestoreService { .. } => "restore-service",
        }
    }

    /// True for the ECS actions (their target is a task or service ARN, not an instance).
    pub fn is_ecs(&self) -> bool {
        matches!(
            self,
            Action::StopTask { .. } | Action::ScaleToZero { .. } | Action::RestoreService { .. }
        )
    }
}

/// The ARN of an ECS service, the target of scale-to-zero and restore-service.
pub fn service_arn(region: &str, account_id: &str, cluster: &str, service: &str) -> String {
    let partition = crate::config::region_partition(region);
    format!("arn:{partition}:ecs:{region}:{account_id}:service/{cluster}/{service}")
}

/// The instance (or ECS task or service) acted on, named as the operator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Account alias.
    pub alias: String,
    /// Verified account id.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// Instance id; the task ARN of stop-task, the service ARN of scale-to-zero and
    /// restore-service.
    pub instance_id: String,
}

impl Target {
    /// What the target is: `instance`, ECS `task` or `service` (told by its ARN).
    pub fn noun(&self) -> &'static str {
        let id = &self.instance_id;
        if !id.starts_with("arn:") {
            "instance"
        } else if id.contains(":service/") {
            "service"
        } else {
            "task"
        }
    }

    /// What the operator types to confirm: the instance id, the task id (an ARN is too long to
    /// type) or the service name.
    pub fn typed_id(&self) -> &str {
        crate::model::task::name_of(&self.instance_id)
    }

    /// The words that ask for it: `the task id`, `the service name`, ...
    pub fn typed_what(&self) -> String {
        let what = if self.noun() == "service" {
            "name"
        } else {
            "id"
        };
        format!("the {} {what}", self.noun())
    }

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
        /// What kind of failure the AWS error was (`Other` when no AWS call said so): decide
        /// on this, never on the text.
        kind: ErrorKind,
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
            TriageError::Api { step, error, .. } => write!(f, "{step} failed: {error}"),
            TriageError::Refused(m) => f.write_str(m),
            TriageError::Interrupted(s) => write!(f, "interrupted after {s}"),
        }
    }
}

impl std::error::Error for TriageError {}

/// A file name made from an id that came from the account or the command line: letters,
/// digits, `-` and `.` kept, everything else `_` (never a path separator, never `.` or `..`);
/// cut to at most `max` bytes with a digest of the whole id at the end, so that two long ids
/// stay apart and no name reaches the file system's limit.
pub fn safe_file_name(id: &str, max: usize) -> String {
    use sha2::Digest;
    let mut out: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.chars().all(|c| c == '.') {
        out.insert(0, '_');
    }
    if out.len() > max {
        let digest = sha2::Sha256::digest(id.as_bytes());
        let tag: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        out.truncate(max.saturating_sub(tag.len() + 1));
        out.push('-');
        out.push_str(&tag);
    }
    out
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
    fn file_names_from_ids_are_safe_and_bounded() {
        assert_eq!(safe_file_name("IR-42/../etc", 100), "IR-42_.._etc");
        assert_eq!(safe_file_name("..", 100), "_..");
        assert_eq!(safe_file_name("", 100), "_");
        let long = format!("arn:aws:ecs:us-east-1:1:task/{}/abc", "c".repeat(300));
        let a = safe_file_name(&long, 120);
        let b = safe_file_name(&long.replace("abc", "abd"), 120);
        assert!(a.len() <= 120 && b.len() <= 120, "{a}");
        assert_ne!(a, b, "long ids stay apart");
        assert_eq!(a, safe_file_name(&long, 120), "stable");
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
