//! What a DryRun call (or a check) said (`Verdict`, `Check`), and the preview shown before a
//! run (`Preview`).

use super::Action;
use crate::aws::{AwsError, ErrorKind};

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

/// One DryRun call (or check) of a preview with its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked: the call (`StopInstances`, `CreateTags (mirror)`) or the condition
    /// (`VPC`, `network interfaces`).
    pub what: String,
    /// What it said.
    pub verdict: Verdict,
}

impl Check {
    /// A check of `what` with its verdict.
    pub fn new(what: impl Into<String>, verdict: Verdict) -> Check {
        Check {
            what: what.into(),
            verdict,
        }
    }
}

/// What the confirmation panel (and headless `triage`) shows before a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// What will happen, in plain words.
    pub plan: Vec<String>,
    /// Each DryRun call (or check) with its verdict.
    pub checks: Vec<Check>,
    /// The run must be confirmed by typing the instance id, whatever the settings say (release
    /// from unverified instance tags).
    pub typed_confirmation: bool,
    /// The action to run once confirmed (release becomes release-from-tags when that is the only
    /// record).
    pub action: Action,
}
