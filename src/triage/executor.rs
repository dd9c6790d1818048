//! Runs the console's triage jobs on their own task (the UI never waits): preview (plan + DryRun),
//! then, once confirmed, the action, streaming progress back as `Update`s.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::aws_ops::AwsOps;
use super::demo_ops::DemoOps;
use super::{Action, AuditLog, Context, Ops, Runner, Target, plan};
use crate::model::Scope;
use crate::source::Update;
use crate::source::aws::Connected;
use crate::source::demo::DemoWorld;

/// Connected AWS accounts by id, filled in by the AWS source as accounts connect.
pub type Accounts = Arc<Mutex<HashMap<String, Connected>>>;

/// Where actions go.
#[derive(Clone)]
pub enum Backend {
    /// The simulated fleet.
    Demo(Arc<DemoWorld>),
    /// Real accounts.
    Aws(Accounts),
}

/// A job from the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Id the console tracks it by.
    pub id: u64,
    /// True: plan and DryRun only; false: do it.
    pub preview: bool,
    /// What.
    pub action: Action,
    /// On which instance.
    pub target: Target,
    /// Case id.
    pub case_id: String,
}

/// Settings of the executor.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Audit log path.
    pub audit_path: PathBuf,
    /// Allow-all to isolation pause.
    pub quarantine_wait: Duration,
    /// Examiner CIDR for the isolation group.
    pub examiner_cidr: Option<String>,
    /// `--dry-run`: run jobs are refused here too, not only by the console (defence in depth).
    pub dry_run: bool,
}

/// Starts the executor; jobs go in the returned sender, results come out on `tx`.
pub fn spawn(backend: Backend, settings: Settings, tx: mpsc::Sender<Update>) -> mpsc::Sender<Job> {
    let (jobs_tx, mut jobs) = mpsc::channel::<Job>(16);
    tokio::spawn(async move {
        while let Some(job) = jobs.recv().await {
            let id = job.id;
            let result = run_job(&backend, &settings, job, &tx).await;
            if let Err(e) = result
                && tx
                    .send(Update::TriageDone { id, result: Err(e) })
                    .await
                    .is_err()
            {
                return;
            }
        }
    });
    jobs_tx
}

async fn run_job(
    backend: &Backend,
    settings: &Settings,
    job: Job,
    tx: &mpsc::Sender<Update>,
) -> Result<(), String> {
    if settings.dry_run && !job.preview {
        return Err("dry-run mode: actions stop at the DryRun check; nothing was done".into());
    }
    let mut audit = AuditLog::open(&settings.audit_path).map_err(|e| {
        format!(
            "cannot open the audit log {}: {e} — nothing was done",
            settings.audit_path.display()
        )
    })?;
    match backend {
        Backend::Demo(world) => {
            let ops = DemoOps {
                world: world.clone(),
                scope: Scope::new(&job.target.account_id, &job.target.region),
            };
            drive(&ops, &mut audit, settings, job, "demo".into(), tx).await
        }
        Backend::Aws(accounts) => {
            let acct = accounts
                .lock()
                .map_err(|_| "account registry poisoned".to_string())?
                .get(&job.target.account_id)
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "account {} is not connected (verified) yet: nothing was done",
                        job.target.account_id
                    )
                })?;
            let ops = AwsOps::for_region(&acct, &job.target.region);
            drive(
                &ops,
                &mut audit,
                settings,
                job,
                acct.identity_arn.clone(),
                tx,
            )
            .await
        }
    }
}

async fn drive<O: Ops>(
    ops: &O,
    audit: &mut AuditLog,
    settings: &Settings,
    job: Job,
    operator: String,
    tx: &mpsc::Sender<Update>,
) -> Result<(), String> {
    let ctx = Context {
        case_id: job.case_id.clone(),
        operator,
        quarantine_wait: settings.quarantine_wait,
        examiner_cidr: settings.examiner_cidr.clone(),
    };
    let (ntx, mut nrx) = mpsc::unbounded_channel::<String>();
    let mut runner = Runner {
        ops,
        audit,
        target: job.target.clone(),
        ctx: ctx.clone(),
        progress: Vec::new(),
        interrupt_after: None,
        notify: Some(ntx),
    };
    if job.preview {
        let facts = ops
            .describe(&job.target.instance_id)
            .await
            .map_err(|e| e.message)?;
        let steps = plan(&job.action, &facts, &ctx);
        let checks = runner
            .preview(&job.action)
            .await
            .map_err(|e| e.to_string())?;
        let checks = checks
            .into_iter()
            .map(|(op, v)| (op, v.label(), v.permits()))
            .collect();
        let _ = tx
            .send(Update::TriagePlan {
                id: job.id,
                plan: steps,
                checks,
            })
            .await;
        return Ok(());
    }
    let forward = {
        let tx = tx.clone();
        let id = job.id;
        tokio::spawn(async move {
            while let Some(line) = nrx.recv().await {
                if tx.send(Update::TriageProgress { id, line }).await.is_err() {
                    return;
                }
            }
        })
    };
    let result = runner.run(&job.action).await.map_err(|e| e.to_string());
    drop(runner);
    let _ = forward.await;
    let _ = tx.send(Update::TriageDone { id: job.id, result }).await;
    Ok(())
}
