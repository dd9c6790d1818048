//! Append-only audit log (JSON lines): each step's intent is written and fsynced before the API
//! call, its outcome after, so a crash at any point loses no record.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::jsonl::JsonlFile;

/// `intent` before a call, `outcome` after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// About to call the API.
    Intent,
    /// The call returned (or failed).
    Outcome,
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// When it was written.
    pub time: DateTime<Utc>,
    /// Case id stamped on everything of this incident.
    pub case: String,
    /// Who acted: the STS identity ARN (or `demo`).
    pub operator: String,
    /// Account alias.
    pub alias: String,
    /// Account id.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// Instance id.
    pub instance_id: String,
    /// `stop`, `quarantine`, `release`, `snapshot`, `archive-finding`.
    pub action: String,
    /// The step, e.g. `move-eni-to-isolation eni-123`.
    pub step: String,
    /// Intent or outcome.
    pub phase: Phase,
    /// True for DryRun calls.
    pub dry_run: bool,
    /// Outcome: `ok`, `allowed`, `denied: ...`, `error: ...`; None for intents.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub result: Option<String>,
    /// AWS request id, when the service returned one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_id: Option<String>,
    /// The run (one preview or one action on one target) this record belongs to: random, the
    /// same on every record of the run (absent in logs written before it existed).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub run: Option<String>,
}

/// The open audit log.
#[derive(Debug)]
pub struct AuditLog {
    file: JsonlFile,
}

impl AuditLog {
    /// Default location: `$XDG_STATE_HOME/watchfloor/audit.jsonl` (falls back to the data dir).
    pub fn default_path() -> Option<PathBuf> {
        dirs::state_dir()
            .or_else(dirs::data_local_dir)
            .map(|d| d.join("watchfloor").join("audit.jsonl"))
    }

    /// Opens (creating, 0600 in a 0700 directory) the log for appending.
    pub fn open(path: &Path) -> std::io::Result<AuditLog> {
        Ok(AuditLog {
            file: JsonlFile::open(path)?,
        })
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Appends one record (under the file lock) and fsyncs it before returning.
    pub fn append(&mut self, rec: &Record) -> std::io::Result<()> {
        self.file.append(rec)
    }

    /// Reads every record; a torn or non-UTF-8 line is reported and skipped, not fatal.
    pub fn read(path: &Path) -> std::io::Result<(Vec<Record>, Vec<String>)> {
        JsonlFile::read(path)
    }
}

/// One line per record for `watchfloor audit`.
pub fn format_record(r: &Record) -> String {
    let what = match (&r.phase, &r.result) {
        (Phase::Intent, _) => "→".to_string(),
        (Phase::Outcome, Some(res)) => format!("← {res}"),
        (Phase::Outcome, None) => "←".to_string(),
    };
    format!(
        "{} case={} {} {}({}) {} {} {}{} {}{}{}",
        r.time.format("%Y-%m-%dT%H:%M:%SZ"),
        r.case,
        r.operator,
        r.alias,
        r.account_id,
        r.region,
        r.instance_id,
        r.action,
        if r.dry_run { " [dry-run]" } else { "" },
        r.step,
        if what.is_empty() {
            String::new()
        } else {
            format!(" {what}")
        },
        r.request_id
            .as_deref()
            .map(|id| format!(" (request {id})"))
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn rec(phase: Phase, result: Option<&str>) -> Record {
        Record {
            time: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            case: "IR-7".into(),
            operator: "arn:aws:sts::1:assumed-role/r/alice".into(),
            alias: "prod".into(),
            account_id: "210987654321".into(),
            region: "us-east-1".into(),
            instance_id: "i-1".into(),
            action: "quarantine".into(),
            step: "move eni-1 to isolation".into(),
            phase,
            dry_run: false,
            result: result.map(str::to_string),
            request_id: None,
            run: None,
        }
    }

    #[test]
    fn appends_and_reads_back_with_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/audit.jsonl");
        {
            let mut log = AuditLog::open(&p).unwrap();
            log.append(&rec(Phase::Intent, None)).unwrap();
            log.append(&rec(Phase::Outcome, Some("ok"))).unwrap();
        }
        // Reopening appends, never truncates.
        AuditLog::open(&p)
            .unwrap()
            .append(&rec(Phase::Intent, None))
            .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"time\":")
            .unwrap();
        let (recs, bad) = AuditLog::read(&p).unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[1].result.as_deref(), Some("ok"));
        assert_eq!(bad.len(), 1);
        assert!(bad[0].contains("audit.jsonl:4: unreadable record"));
        assert_eq!(
            format_record(&recs[1]),
            "2027-01-15T08:00:00Z case=IR-7 arn:aws:sts::1:assumed-role/r/alice prod(210987654321) us-east-1 i-1 quarantine move eni-1 to isolation ← ok"
        );
    }
}
