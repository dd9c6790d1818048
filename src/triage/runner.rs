//! The runner: one action on one instance (or ECS task or service), every step written to the
//! audit log before and after its call, the account verified first, one run at a time per
//! target. It dispatches to the action files (`stop`, `quarantine`, `release`, `snapshot`,
//! `archive`, `ecs`).

use std::future::Future;

use chrono::Utc;

use super::archive::preview_archive;
use super::{
    Action, AuditLog, Context, Facts, Journal, Ops, Phase, Preview, Record, Step, Target,
    TriageError, journal,
};
use crate::aws::AwsError;

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
    /// Progress, as steps complete.
    pub progress: Vec<Step>,
    /// Warnings (tag mirror skipped, audit record lost during compensation, ...).
    pub warnings: Vec<String>,
    /// Test hook: stop (as if killed) right after the first step whose name contains this.
    pub interrupt_after: Option<String>,
    /// Receives each progress step as it happens (the console shows them live).
    pub notify: Option<tokio::sync::mpsc::UnboundedSender<Step>>,
    /// Set once a tag-mirror write failed: the rest of the run skips the mirror.
    pub(super) mirror_off: bool,
    /// Stamped on every audit record of this runner (the incident report groups by it).
    run_id: String,
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
            run_id: format!("{:016x}", rand::random::<u64>()),
        }
    }

    pub(super) fn record(
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
            run: Some(self.run_id.clone()),
        };
        self.audit
            .append(&rec)
            .map_err(|e| TriageError::Audit(format!("{}: {e}", self.audit.path().display())))
    }

    /// A progress step: sent live to `notify` and kept in `progress`.
    pub(super) fn note(&mut self, step: Step) {
        if let Some(n) = &self.notify {
            let _ = n.send(step.clone());
        }
        self.progress.push(step);
    }

    /// A warning: shown live, kept for the summary, and written to the audit log when it can
    /// be (a failing audit log never blocks what is running).
    pub(super) fn warn(&mut self, action: &str, msg: String) {
        if self.warnings.contains(&msg) {
            return;
        }
        self.note(Step::warning(msg.clone()));
        if let Err(e) = self.record(
            action,
            &msg,
            Phase::Outcome,
            false,
            Some("warning".into()),
            None,
        ) {
            self.note(Step::warning(e.to_string()));
        }
        self.warnings.push(msg);
    }

    /// Writes the intent, runs the call, writes the outcome.
    pub(super) async fn step<T, F, Fut>(
        &mut self,
        action: &str,
        step: &str,
        f: F,
    ) -> Result<T, TriageError>
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
    pub(super) async fn step_lenient<T, F, Fut>(
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
            self.note(Step::warning(format!("audit record of `{step}` lost: {e}")));
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
                self.note(Step::done(step));
                if crash {
                    self.crash_point(step)?;
                }
                Ok(v)
            }
            Err(e) => {
                self.note(Step::failed(step, e.message.clone()));
                Err(TriageError::Api {
                    step: step.to_string(),
                    error: e.message,
                    kind: e.kind,
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
    pub(super) fn soft(
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
    pub(super) fn journal(&mut self, event: journal::Event) -> Result<(), TriageError> {
        let key = self.target.key();
        let case = self.ctx.case_id.clone();
        self.journal
            .append(&key, &case, event)
            .map_err(|e| TriageError::Audit(format!("{}: {e}", self.journal.path().display())))
    }

    /// Best-effort tag mirror for other responders: a failure (50-tag limit, CreateTags denied)
    /// is a warning and turns the mirror off for the rest of the run; it never blocks (only the
    /// crash test hook comes back as an error).
    pub(super) async fn mirror(
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

    pub(super) async fn facts(&self) -> Result<Facts, TriageError> {
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
        // The ECS actions read their task or service themselves; archiving a finding needs
        // nothing of the instance (the finding may be about a task).
        let f = if action.is_ecs() || matches!(action, Action::ArchiveFinding { .. }) {
            Facts::default()
        } else {
            self.facts().await?
        };
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
                self.preview_stop(&f, &mut p, *force, *hibernate, *clear_stop_protection)
                    .await;
            }
            Action::Quarantine => self.preview_quarantine(&f, &mut p).await?,
            Action::Release { .. } => self.preview_release(&f, &mut p).await?,
            Action::ArchiveFinding { finding_id, kind } => {
                preview_archive(&mut p, finding_id, kind);
            }
            Action::Snapshot => self.preview_snapshot(&f, &mut p).await,
            Action::StopTask { cluster } => self.preview_stop_task(&mut p, cluster).await?,
            Action::ScaleToZero {
                cluster, service, ..
            } => self.preview_scale_to_zero(&mut p, cluster, service).await?,
            Action::RestoreService { cluster, service } => {
                self.preview_restore_service(&mut p, cluster, service)
                    .await?;
            }
        }
        for c in &p.checks {
            self.record(
                action.name(),
                &c.what,
                Phase::Outcome,
                true,
                Some(c.verdict.label()),
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
            self.note(Step::warning(format!(
                "the outcome could not be recorded: {e}"
            )));
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
            self.note(Step::wait(
                "waited for another watchfloor process acting on this instance",
            ));
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
                self.archive_finding(finding_id, kind).await
            }
            Action::StopTask { cluster } => self.stop_task(cluster).await,
            Action::ScaleToZero {
                cluster,
                service,
                task,
            } => self.scale_to_zero(cluster, service, task.as_deref()).await,
            Action::RestoreService { cluster, service } => {
                self.restore_service(cluster, service).await
            }
        }
    }
}

/// Turns an AWS error into the failure of `step`.
pub(super) fn api(step: impl Into<String>) -> impl FnOnce(AwsError) -> TriageError {
    let step = step.into();
    move |e| TriageError::Api {
        step,
        error: e.message,
        kind: e.kind,
    }
}

/// How a step the action can go on without ended: `Ok(None)` done, `Ok(Some(e))` failed and
/// tolerated, `Err(e)` the run must stop all the same (a lost audit record, the crash test hook).
pub(super) fn tolerated<T>(r: Result<T, TriageError>) -> Result<Option<TriageError>, TriageError> {
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
