//! `watchfloor audit --case ID --format md|json`: one case of the audit log as an incident
//! timeline (who did what to which target, when; groups before and after; snapshot ids; results
//! and failures), readable as is in a ticket.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::{Phase, Record};

/// One step of a run, its intent and outcome joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepOut {
    /// When it was asked for (the intent), or recorded.
    pub time: DateTime<Utc>,
    /// The step, e.g. `move eni-1 to isolation group sg-2`.
    pub step: String,
    /// A DryRun call.
    pub dry_run: bool,
    /// `ok`, `allowed`, `denied: ...`, `error: ...`; None when the intent has no outcome (the
    /// run was interrupted at that step).
    pub result: Option<String>,
    /// AWS request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl StepOut {
    /// True when the step failed or never got an outcome.
    pub fn failed(&self) -> bool {
        match &self.result {
            None => true,
            Some(r) => r.starts_with("error") || r.starts_with("denied"),
        }
    }
}

/// What a run acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetOut {
    /// Account alias.
    pub alias: String,
    /// Account id.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// Instance id, task ARN or service ARN.
    pub id: String,
}

/// One action on one target: its checks, steps and result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    /// The target.
    pub target: TargetOut,
    /// `quarantine`, `stop`, ...
    pub action: String,
    /// Who acted (STS identity ARN, or `demo`).
    pub operator: String,
    /// First record.
    pub started: DateTime<Utc>,
    /// Last record.
    pub ended: DateTime<Utc>,
    /// The original groups the quarantine recorded (`eni=sg,sg ...`), if any.
    pub groups_before: Option<String>,
    /// Where each interface was moved (`eni-1 → isolation group sg-2`), in order.
    pub groups_after: Vec<String>,
    /// The result line (`ok: ...`, `error: ...`); None when the run has no result record (it was
    /// interrupted, or is still running).
    pub result: Option<String>,
    /// Every step, in order.
    pub steps: Vec<StepOut>,
}

impl Run {
    /// True when the result says ok and no step failed.
    pub fn ok(&self) -> bool {
        self.result.as_deref().is_some_and(|r| r.starts_with("ok"))
    }

    /// True when it was a preview only (every step a DryRun or check, no result).
    pub fn preview_only(&self) -> bool {
        self.result.is_none() && self.steps.iter().all(|s| s.dry_run)
    }
}

/// The case report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseReport {
    /// Case id.
    pub case: String,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// The audit log read.
    pub audit_log: String,
    /// Runs in the order they started.
    pub runs: Vec<Run>,
    /// Lines of the log that could not be read.
    pub unreadable: Vec<String>,
}

/// Builds the report of `case` from the whole log. Records with the same run id are one run
/// (older records without one: those of one target and action, until its `result` record);
/// intents are joined with the outcome that follows them.
pub fn build(
    records: &[Record],
    case: &str,
    audit_log: &str,
    unreadable: Vec<String>,
    now: DateTime<Utc>,
) -> CaseReport {
    let mut runs: Vec<Run> = Vec::new();
    // Index of the open run per key: the run id records carry; for records written before run
    // ids existed, (account, region, id, action) until the run's result record.
    let mut open: std::collections::HashMap<String, usize> = Default::default();
    for r in records.iter().filter(|r| r.case == case) {
        let key = match &r.run {
            Some(id) => format!("run {id}"),
            None => format!(
                "{} {} {} {}",
                r.account_id, r.region, r.instance_id, r.action
            ),
        };
        let ix = *open.entry(key.clone()).or_insert_with(|| {
            runs.push(Run {
                target: TargetOut {
                    alias: r.alias.clone(),
                    account_id: r.account_id.clone(),
                    region: r.region.clone(),
                    id: r.instance_id.clone(),
                },
                action: r.action.clone(),
                operator: r.operator.clone(),
                started: r.time,
                ended: r.time,
                groups_before: None,
                groups_after: Vec::new(),
                result: None,
                steps: Vec::new(),
            });
            runs.len() - 1
        });
        let run = &mut runs[ix];
        run.ended = r.time;
        if r.step == "result" && r.phase == Phase::Outcome {
            run.result = r.result.clone();
            open.remove(&key);
            continue;
        }
        if let Some(g) = r.step.strip_prefix("original groups ") {
            run.groups_before = Some(g.to_string());
        }
        match r.phase {
            Phase::Intent => run.steps.push(StepOut {
                time: r.time,
                step: r.step.clone(),
                dry_run: r.dry_run,
                result: None,
                request_id: None,
            }),
            Phase::Outcome => {
                // The outcome of the last intent of the same step, else a step of its own
                // (a DryRun verdict, a recorded fact).
                match run
                    .steps
                    .iter_mut()
                    .rev()
                    .find(|s| s.step == r.step && s.result.is_none())
                {
                    Some(s) => {
                        s.result = r.result.clone();
                        s.request_id = r.request_id.clone();
                    }
                    None => run.steps.push(StepOut {
                        time: r.time,
                        step: r.step.clone(),
                        dry_run: r.dry_run,
                        result: r.result.clone(),
                        request_id: r.request_id.clone(),
                    }),
                }
                if !r.dry_run
                    && r.result.as_deref() == Some("ok")
                    && let Some(rest) = r.step.strip_prefix("move ")
                {
                    run.groups_after.push(rest.replacen(" to ", " → ", 1));
                }
            }
        }
    }
    CaseReport {
        case: case.to_string(),
        generated_at: now,
        audit_log: audit_log.to_string(),
        runs,
        unreadable,
    }
}

/// Escapes what Markdown would read as markup (text from the log may come from the account:
/// error messages, names), and control characters.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in super::escape_controls(s).chars() {
        if "\\`*_{}[]()<>#|!~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn hms(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// The report as Markdown.
pub fn markdown(r: &CaseReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Incident report: case {}\n", md(&r.case));
    let operators: std::collections::BTreeSet<&str> =
        r.runs.iter().map(|x| x.operator.as_str()).collect();
    let _ = writeln!(
        o,
        "Generated {} from `{}`: {} run(s) by {}.\n",
        hms(r.generated_at),
        r.audit_log.replace('`', "'"),
        r.runs.len(),
        if operators.is_empty() {
            "nobody".to_string()
        } else {
            operators
                .iter()
                .map(|s| md(s))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    if r.runs.is_empty() {
        let _ = writeln!(o, "No audit record carries this case id.");
    } else {
        let _ = writeln!(o, "## Summary\n");
        let _ = writeln!(
            o,
            "| Started | Account | Region | Target | Action | Outcome |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|");
        for run in &r.runs {
            let outcome = match (&run.result, run.preview_only()) {
                (Some(res), _) if run.ok() => md(res),
                (Some(res), _) => format!("**FAILED** {}", md(res)),
                (None, true) => "preview only (not run)".into(),
                (None, false) => "**NO RESULT** (interrupted, or still running)".into(),
            };
            let _ = writeln!(
                o,
                "| {} | {} ({}) | {} | {} | {} | {} |",
                hms(run.started),
                md(&run.target.alias),
                md(&run.target.account_id),
                md(&run.target.region),
                md(&run.target.id),
                md(&run.action),
                outcome
            );
        }
        let _ = writeln!(o, "\n## Timeline");
        for run in &r.runs {
            let _ = writeln!(
                o,
                "\n### {} · {} {} · {} ({}) {}\n",
                hms(run.started),
                md(&run.action),
                md(&run.target.id),
                md(&run.target.alias),
                md(&run.target.account_id),
                md(&run.target.region)
            );
            let _ = writeln!(o, "By {}.\n", md(&run.operator));
            if let Some(g) = &run.groups_before {
                let _ = writeln!(o, "- Groups before: {}", md(g));
            }
            if !run.groups_after.is_empty() {
                let _ = writeln!(o, "- Groups after: {}", md(&run.groups_after.join("; ")));
            }
            for s in &run.steps {
                let what = if s.dry_run {
                    format!("dry run {}", md(&s.step))
                } else {
                    md(&s.step)
                };
                let res = match &s.result {
                    Some(x) => md(x),
                    None => "no outcome recorded (interrupted at this step)".into(),
                };
                let req = s
                    .request_id
                    .as_deref()
                    .map(|id| format!(" (request {})", md(id)))
                    .unwrap_or_default();
                let flag = if s.failed() { "**✗** " } else { "" };
                let _ = writeln!(
                    o,
                    "- {} {flag}{what}: {res}{req}",
                    s.time.format("%H:%M:%SZ")
                );
            }
            let _ = match &run.result {
                Some(res) if run.ok() => writeln!(o, "- **Result:** {}", md(res)),
                Some(res) => writeln!(o, "- **Result: FAILED** {}", md(res)),
                None if run.preview_only() => writeln!(o, "- Preview only: not run."),
                None => writeln!(
                    o,
                    "- **No result recorded**: interrupted, or still running."
                ),
            };
        }
    }
    if !r.unreadable.is_empty() {
        let _ = writeln!(o, "\n## Unreadable lines of the log\n");
        for u in &r.unreadable {
            let _ = writeln!(o, "- {}", md(u));
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(
        t: i64,
        id: &str,
        action: &str,
        step: &str,
        phase: Phase,
        result: Option<&str>,
    ) -> Record {
        Record {
            time: DateTime::from_timestamp(1_800_000_000 + t, 0).unwrap(),
            case: "IR-7".into(),
            operator: "arn:aws:sts::1:assumed-role/r/alice".into(),
            alias: "prod".into(),
            account_id: "210987654321".into(),
            region: "us-east-1".into(),
            instance_id: id.into(),
            action: action.into(),
            step: step.into(),
            phase,
            dry_run: step.starts_with("ModifyNetwork"),
            result: result.map(str::to_string),
            request_id: None,
            run: None,
        }
    }

    /// The allowed DryRun verdict of a quarantine of i-1 at `t`.
    fn allowed(t: i64) -> Record {
        rec(
            t,
            "i-1",
            "quarantine",
            "ModifyNetworkInterfaceAttribute",
            Phase::Outcome,
            Some("allowed"),
        )
    }

    fn log() -> Vec<Record> {
        use Phase::*;
        let mut other = rec(0, "i-9", "stop", "stop", Intent, None);
        other.case = "IR-8".into();
        vec![
            allowed(0),
            rec(
                1,
                "i-1",
                "quarantine",
                "original groups eni-1=sg-web,sg-ssh",
                Outcome,
                Some("journaled"),
            ),
            rec(
                2,
                "i-1",
                "quarantine",
                "move eni-1 to allow-all group sg-aa",
                Intent,
                None,
            ),
            rec(
                2,
                "i-1",
                "quarantine",
                "move eni-1 to allow-all group sg-aa",
                Outcome,
                Some("ok"),
            ),
            rec(
                3,
                "i-1",
                "quarantine",
                "move eni-1 to isolation group sg-iso",
                Intent,
                None,
            ),
            rec(
                3,
                "i-1",
                "quarantine",
                "move eni-1 to isolation group sg-iso",
                Outcome,
                Some("ok"),
            ),
            rec(
                4,
                "i-1",
                "quarantine",
                "result",
                Outcome,
                Some("ok: i-1 quarantined"),
            ),
            other,
            rec(5, "i-2", "snapshot", "snapshot vol-1", Intent, None),
            rec(
                6,
                "i-2",
                "snapshot",
                "snapshot vol-1",
                Outcome,
                Some("error: [x](http://evil) | boom"),
            ),
            rec(
                6,
                "i-2",
                "snapshot",
                "result",
                Outcome,
                Some("error: snapshot failed"),
            ),
            rec(7, "i-3", "stop", "stop i-3", Intent, None),
        ]
    }

    #[test]
    fn runs_join_intents_and_outcomes_and_keep_the_case_only() {
        let r = build(&log(), "IR-7", "/tmp/audit.jsonl", vec![], Utc::now());
        assert_eq!(r.runs.len(), 3, "IR-8 left out");
        let q = &r.runs[0];
        assert!(q.ok());
        assert_eq!(q.groups_before.as_deref(), Some("eni-1=sg-web,sg-ssh"));
        assert_eq!(
            q.groups_after,
            [
                "eni-1 → allow-all group sg-aa",
                "eni-1 → isolation group sg-iso"
            ]
        );
        assert_eq!(q.steps.len(), 4, "dry run, groups, two moves");
        assert!(q.steps.iter().all(|s| !s.failed()));
        assert!(!r.runs[1].ok());
        let stop = &r.runs[2];
        assert_eq!(stop.result, None);
        assert!(stop.steps[0].failed(), "an intent with no outcome");
    }

    #[test]
    fn run_ids_keep_a_cancelled_preview_apart_from_a_later_run() {
        use Phase::*;
        let mut preview = allowed(0);
        preview.run = Some("aaaa".into());
        preview.operator = "arn:aws:sts::1:assumed-role/r/bob".into();
        let mut later: Vec<Record> = vec![
            allowed(60),
            rec(
                61,
                "i-1",
                "quarantine",
                "result",
                Outcome,
                Some("ok: i-1 quarantined"),
            ),
        ];
        for r in &mut later {
            r.run = Some("bbbb".into());
        }
        let mut log = vec![preview];
        log.extend(later);
        let r = build(&log, "IR-7", "a.jsonl", vec![], Utc::now());
        assert_eq!(r.runs.len(), 2);
        assert!(r.runs[0].preview_only());
        assert_eq!(r.runs[0].operator, "arn:aws:sts::1:assumed-role/r/bob");
        assert!(r.runs[1].ok());
        assert_eq!(r.runs[1].operator, "arn:aws:sts::1:assumed-role/r/alice");
        assert_eq!(r.runs[1].started, log[1].time);
    }

    #[test]
    fn markdown_names_failures_and_escapes_account_text() {
        let md = markdown(&build(
            &log(),
            "IR-7",
            "/tmp/audit.jsonl",
            vec![],
            Utc::now(),
        ));
        assert!(md.starts_with("# Incident report: case IR-7\n"), "{md}");
        assert!(
            md.contains(
                "| prod (210987654321) | us-east-1 | i-1 | quarantine | ok: i-1 quarantined |"
            ),
            "{md}"
        );
        assert!(md.contains("- Groups before: eni-1=sg-web,sg-ssh"), "{md}");
        assert!(md.contains("**FAILED** error: snapshot failed"), "{md}");
        assert!(md.contains("**NO RESULT**"), "{md}");
        assert!(
            md.contains("no outcome recorded (interrupted at this step)"),
            "{md}"
        );
        // A hostile message cannot become a link or break the table.
        assert!(md.contains("\\[x\\]\\(http://evil\\) \\| boom"), "{md}");
        assert!(!md.contains("[x](http"), "{md}");
    }

    #[test]
    fn json_is_the_same_report() {
        let r = build(
            &log(),
            "IR-7",
            "/tmp/audit.jsonl",
            vec!["bad line".into()],
            Utc::now(),
        );
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["case"], "IR-7");
        assert_eq!(v["runs"][0]["groups_before"], "eni-1=sg-web,sg-ssh");
        assert_eq!(
            v["runs"][1]["steps"][0]["result"],
            "error: [x](http://evil) | boom"
        );
        assert_eq!(v["unreadable"][0], "bad line");
    }
}
