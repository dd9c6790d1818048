//! The ECS actions, each with its plan and preview next to its run: stop a task (StopTask, the
//! case id in the reason), scale a service to zero (UpdateService desiredCount=0, the count
//! before journaled first) and restore it (the journaled count). ECS has no DryRun: the preview
//! reads the task or service and says the call is not checkable in advance. Before a task is
//! stopped, its description and task definition, as ECS wrote them, go to the case's evidence
//! folder beside the audit log, and the audit log names the files.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::journal::Event;
use super::runner::api;
use super::{Check, Ops, Phase, Preview, Runner, TaskFacts, TriageError, Verdict};
use crate::aws::ErrorKind;

/// StopTask's reason is at most this long.
const REASON_MAX: usize = 255;

/// The verdict of an ECS call: it cannot be checked in advance.
fn unchecked() -> Verdict {
    Verdict::Unchecked("ECS has no DryRun".into())
}

/// The folder a case's evidence goes to: `evidence/<case>` beside the audit log (the case id
/// made a safe file name).
pub fn evidence_dir(audit: &Path, case: &str) -> PathBuf {
    let dir = audit.parent().unwrap_or_else(|| Path::new("."));
    dir.join("evidence").join(super::safe_file_name(case, 120))
}

/// Writes one evidence file, never over an earlier one (a second capture of the same task gets
/// `-2`, `-3`... before `.json`), 0600 in 0700 folders, fsynced. Returns its path and the
/// SHA-256 of what it holds. An empty capture is an error, not evidence.
fn write_evidence(dir: &Path, name: &str, text: &str) -> std::io::Result<(PathBuf, String)> {
    use sha2::Digest;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if text.trim().is_empty() {
        return Err(std::io::Error::other("the answer was empty"));
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let stem = super::safe_file_name(name, 120);
    for n in 1..1000 {
        let path = dir.join(if n == 1 {
            format!("{stem}.json")
        } else {
            format!("{stem}-{n}.json")
        });
        let mut f = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        // A partial file is no evidence: removed, and the error reported.
        if let Err(e) = f.write_all(text.as_bytes()).and_then(|()| f.sync_all()) {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        // The folder entry too, so the file the audit log names survives a crash.
        std::fs::File::open(dir)?.sync_all()?;
        let digest: String = sha2::Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        return Ok((path, digest));
    }
    Err(std::io::Error::other("999 captures of it already"))
}

impl<'a, O: Ops> Runner<'a, O> {
    /// Plan and checks of stop-task: what ECS says of the task now, and StopTask (unchecked).
    pub(super) async fn preview_stop_task(
        &mut self,
        p: &mut Preview,
        cluster: &str,
    ) -> Result<(), TriageError> {
        let arn = self.target.instance_id.clone();
        let facts = self
            .ops
            .describe_task(cluster, &arn)
            .await
            .map_err(api("describe task"))?;
        let service = facts
            .as_ref()
            .and_then(|f| f.group.as_deref())
            .and_then(crate::model::task::service_of);
        p.plan.push(format!(
            "Write the task's description and its task definition to the case's evidence folder, then stop task {} in cluster {cluster} (StopTask, the case id in the reason). Its containers' memory is lost.",
            crate::model::task::name_of(&arn)
        ));
        if let Some(s) = &service {
            p.plan.push(format!(
                "Its group names service {s}. If that service started it (the fleet view flags a forged claim: forged-service), the service starts a replacement: scale the service to zero to keep it down."
            ));
        }
        p.checks.push(Check::new(
            "task",
            match &facts {
                None => Verdict::Error("ECS does not know this task".into()),
                Some(f) if f.last_status == "STOPPED" => {
                    Verdict::Warning("already stopped: nothing to do".into())
                }
                Some(_) => Verdict::Allowed,
            },
        ));
        p.checks.push(Check::new("StopTask", unchecked()));
        Ok(())
    }

    /// Describes a task to keep it as evidence: a failure is a warning (the action goes on).
    async fn describe_for_evidence(
        &mut self,
        action: &str,
        cluster: &str,
        arn: &str,
    ) -> Option<TaskFacts> {
        let id = crate::model::task::name_of(arn);
        match self.ops.describe_task(cluster, arn).await {
            Ok(Some(f)) => Some(f),
            Ok(None) => {
                self.warn(
                    action,
                    format!("evidence of task {id}: ECS does not know it"),
                );
                None
            }
            Err(e) => {
                self.warn(action, format!("evidence of task {id}: {}", e.message));
                None
            }
        }
    }

    /// Keeps the task's description (as `facts` holds it) and its task definition as evidence
    /// (a failure is a warning: the miner is stopped all the same).
    async fn keep_task_evidence(&mut self, action: &str, arn: &str, facts: TaskFacts) {
        let dir = evidence_dir(self.audit.path(), &self.ctx.case_id);
        let id = crate::model::task::name_of(arn).to_string();
        let definition = self
            .ops
            .task_definition_json(&facts.task_definition_arn)
            .await;
        let files = [
            (format!("task-{id}"), "task description", Ok(facts.json)),
            (
                format!(
                    "task-definition-{}",
                    crate::model::task::family_revision(&facts.task_definition_arn)
                ),
                "task definition",
                definition.map_err(|e| e.message),
            ),
        ];
        for (name, what, text) in files {
            let written = text.and_then(|t| {
                write_evidence(&dir, &name, &t).map_err(|e| format!("{}: {e}", dir.display()))
            });
            match written {
                Ok((path, sha256)) => {
                    let step = format!(
                        "evidence: {what} of task {id} written to {} (sha256 {sha256})",
                        path.display()
                    );
                    if let Err(e) = self.record(
                        action,
                        &step,
                        Phase::Outcome,
                        false,
                        Some("ok".into()),
                        None,
                    ) {
                        self.warn(action, e.to_string());
                    }
                    self.note(super::Step::done(step));
                }
                Err(e) => self.warn(
                    action,
                    format!("evidence: {what} of task {id} not kept: {e}"),
                ),
            }
        }
    }

    /// Stops the task: evidence first, then StopTask with the case id in the reason.
    pub(super) async fn stop_task(&mut self, cluster: &str) -> Result<String, TriageError> {
        let arn = self.target.instance_id.clone();
        let id = crate::model::task::name_of(&arn).to_string();
        // The description that decides is the one kept as evidence: one DescribeTasks.
        let facts = match self
            .ops
            .describe_task(cluster, &arn)
            .await
            .map_err(api("describe task"))?
        {
            None => {
                return Err(TriageError::Refused(format!(
                    "ECS does not know task {id} in cluster {cluster}: nothing was done"
                )));
            }
            Some(f) if f.last_status == "STOPPED" => {
                return Ok(format!("task {id} is already stopped"));
            }
            Some(f) => f,
        };
        self.keep_task_evidence("stop-task", &arn, facts).await;
        let mut reason = format!(
            "watchfloor case {}: stopped by {}",
            self.ctx.case_id, self.ctx.operator
        );
        if reason.len() > REASON_MAX {
            let mut cut = REASON_MAX;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
        }
        let ops = self.ops;
        self.step("stop-task", &format!("stop task {id}"), || async {
            ops.stop_task(cluster, &arn, &reason).await.map(|r| ((), r))
        })
        .await?;
        Ok(format!("task {id} stopping"))
    }

    /// Plan and checks of scale-to-zero: the service's counts now, and UpdateService
    /// (unchecked).
    pub(super) async fn preview_scale_to_zero(
        &mut self,
        p: &mut Preview,
        cluster: &str,
        service: &str,
    ) -> Result<(), TriageError> {
        let counts = self
            .ops
            .service_counts(cluster, service)
            .await
            .map_err(api("describe service"))?;
        let recorded = self.journal.scaled(&self.target.key()).map(|s| s.desired);
        p.plan.push(format!(
            "Scale service {service} in cluster {cluster} to zero (UpdateService desiredCount=0): ECS stops its tasks and starts none (unless an Application Auto Scaling policy with a minimum above 0 raises the count again)."
        ));
        p.plan.push(match (counts, recorded) {
            (_, Some(d)) => format!(
                "The journal already holds its count from before ({d}): release puts that back."
            ),
            (Some(c), None) => format!(
                "Its desired count now, {} ({} running), is written to the journal first: release puts it back.",
                c.desired, c.running
            ),
            (None, None) => "ECS does not know this service.".into(),
        });
        p.checks.push(Check::new(
            "service",
            match counts {
                None => Verdict::Error("ECS does not know this service (or it is inactive)".into()),
                Some(c) if c.desired == 0 && recorded.is_none() => {
                    Verdict::Warning("already at zero: nothing to do".into())
                }
                Some(_) => Verdict::Allowed,
            },
        ));
        p.checks.push(Check::new("UpdateService", unchecked()));
        Ok(())
    }

    /// Scales the service to zero: the count before journaled (fsynced) first, the evidence of
    /// the task acted from, then UpdateService.
    pub(super) async fn scale_to_zero(
        &mut self,
        cluster: &str,
        service: &str,
        task: Option<&str>,
    ) -> Result<String, TriageError> {
        let counts = self
            .ops
            .service_counts(cluster, service)
            .await
            .map_err(api("describe service"))?
            .ok_or_else(|| {
                TriageError::Refused(format!(
                    "ECS does not know service {service} in cluster {cluster}: nothing was done"
                ))
            })?;
        let key = self.target.key();
        let had_record = self.journal.scaled(&key).is_some();
        if counts.desired == 0 && !had_record {
            return Ok(format!("service {service} is already at zero"));
        }
        self.journal(Event::ScaledDown {
            desired: counts.desired,
        })?;
        if let Some(t) = task
            && let Some(facts) = self
                .describe_for_evidence("scale-to-zero", cluster, t)
                .await
        {
            self.keep_task_evidence("scale-to-zero", t, facts).await;
        }
        let ops = self.ops;
        let scaled = self
            .step(
                "scale-to-zero",
                &format!(
                    "scale service {service} to 0 (was {} desired)",
                    counts.desired
                ),
                || async {
                    ops.set_service_desired(cluster, service, 0)
                        .await
                        .map(|r| ((), r))
                },
            )
            .await;
        // Refused outright (denied, no such service): nothing changed, so a record this run
        // opened is closed again; a failure that may have gone through keeps it.
        if let Err(TriageError::Api { kind, .. }) = &scaled
            && !had_record
            && matches!(kind, ErrorKind::Denied | ErrorKind::NotFound)
        {
            self.journal(Event::ScaleRestored)?;
        }
        scaled?;
        let before = self
            .journal
            .scaled(&key)
            .map_or(counts.desired, |s| s.desired);
        // Its tasks leave the fleet view with the next poll, and with them the row to press
        // release on: say how to put it back.
        Ok(format!(
            "service {service} scaled to 0 (release puts back {before}: watchfloor triage release --account {} --region {} --cluster {cluster} --service {service} --case {})",
            self.target.alias, self.target.region, self.ctx.case_id
        ))
    }

    /// Plan and checks of restore-service: the journaled count, and UpdateService (unchecked).
    pub(super) async fn preview_restore_service(
        &mut self,
        p: &mut Preview,
        cluster: &str,
        service: &str,
    ) -> Result<(), TriageError> {
        let record = self.journal.scaled(&self.target.key()).cloned();
        let recorded = record.as_ref().map(|s| s.desired);
        let counts = self
            .ops
            .service_counts(cluster, service)
            .await
            .map_err(api("describe service"))?;
        p.plan.push(match (&record, counts) {
            (Some(r), now) => format!(
                "Put service {service} in cluster {cluster} back to {} desired tasks, the count the journal recorded when it was scaled to zero at {} (case {}); ECS says {} desired now (UpdateService). Its tasks start again.",
                r.desired,
                r.started.format("%Y-%m-%d %H:%M:%SZ"),
                r.case,
                now.map_or_else(|| "?".to_string(), |c| c.desired.to_string())
            ),
            (None, _) => format!(
                "The journal has no scale-to-zero of service {service}: nothing to put back."
            ),
        });
        p.checks.push(Check::new(
            "journal record",
            match (recorded, counts) {
                (None, _) => Verdict::Error("no scale-to-zero recorded for this service".into()),
                (Some(_), None) => Verdict::Warning(
                    "ECS no longer knows this service: the record is closed, nothing is called"
                        .into(),
                ),
                (Some(_), Some(_)) => Verdict::Allowed,
            },
        ));
        p.checks.push(Check::new("UpdateService", unchecked()));
        Ok(())
    }

    /// Puts the journaled desired count back, then closes the record.
    pub(super) async fn restore_service(
        &mut self,
        cluster: &str,
        service: &str,
    ) -> Result<String, TriageError> {
        let key = self.target.key();
        let Some(desired) = self.journal.scaled(&key).map(|s| s.desired) else {
            return Err(TriageError::Refused(format!(
                "the journal has no scale-to-zero of service {service}: nothing was done"
            )));
        };
        // A service deleted meanwhile has nothing to put back: the record is closed, so it is
        // not offered for ever.
        let gone = self
            .ops
            .service_counts(cluster, service)
            .await
            .map_err(api("describe service"))?
            .is_none();
        if gone {
            self.journal(Event::ScaleRestored)?;
            return Ok(format!(
                "service {service} no longer exists: its scale-to-zero record is closed"
            ));
        }
        let ops = self.ops;
        self.step(
            "restore-service",
            &format!("restore service {service} to {desired} desired"),
            || async {
                ops.set_service_desired(cluster, service, desired)
                    .await
                    .map(|r| ((), r))
            },
        )
        .await?;
        self.journal(Event::ScaleRestored)?;
        Ok(format!("service {service} back to {desired} desired"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_stays_in_its_folder_and_is_never_overwritten() {
        let d = evidence_dir(Path::new("/state/audit.jsonl"), "IR-42/../../etc");
        assert_eq!(d, Path::new("/state/evidence/IR-42_.._.._etc"));
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("evidence").join("IR-1");
        let (a, sum) = write_evidence(&dir, "task-abc", "{\"running\":1}").unwrap();
        let (b, _) = write_evidence(&dir, "task-abc", "{\"stopped\":1}").unwrap();
        assert_eq!(a, dir.join("task-abc.json"));
        assert_eq!(b, dir.join("task-abc-2.json"));
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "{\"running\":1}");
        assert_eq!(sum.len(), 64);
        assert!(
            write_evidence(&dir, "task-x", "  ").is_err(),
            "empty is no evidence"
        );
        let (long, _) = write_evidence(&dir, &"f".repeat(400), "{}").unwrap();
        assert!(long.file_name().unwrap().len() <= 130);
    }
}
