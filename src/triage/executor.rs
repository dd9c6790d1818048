//! Runs the console's triage jobs on tasks of their own (the UI never waits): previews (plan +
//! DryRun) and, once confirmed, runs, in parallel across accounts and one at a time per
//! instance, streaming `TriageEvent`s back. It does not live and die with the UI: the process
//! calls [`Executor::drain`] on every way out of the console, which waits for every run under
//! way (cutting the allow-all wait short when asked), so no quarantine is abandoned mid-way.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::aws_ops::AwsOps;
use super::demo_ops::DemoOps;
use super::{Action, AuditLog, Check, Context, Journal, Key, Ops, Runner, Step, Target};
use crate::aws::Connected;
use crate::model::Scope;
use crate::source::demo::DemoWorld;

use crate::aws::Accounts;

/// How long a run waits for its account to connect (a resumed quarantine right at start-up).
const CONNECT_WAIT: Duration = Duration::from_secs(90);

/// How long credentials must stay valid beyond the allow-all wait when a run starts.
pub const RUN_MARGIN: Duration = Duration::from_secs(15 * 60);

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

/// What the executor reports to the console (separate from feed data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriageEvent {
    /// A preview finished: the plan and each DryRun verdict.
    Plan {
        /// Job id.
        id: u64,
        /// What will happen, in plain words.
        plan: Vec<String>,
        /// Each DryRun call (or check) with its verdict.
        checks: Vec<Check>,
        /// The run must be confirmed by typing the instance id.
        typed_confirmation: bool,
        /// The action to run once confirmed.
        action: Action,
    },
    /// A step completed.
    Progress {
        /// Job id.
        id: u64,
        /// The step and how it went.
        step: Step,
    },
    /// A job ended.
    Done {
        /// Job id.
        id: u64,
        /// Summary, or why it failed (the audit log has every step).
        result: Result<String, String>,
    },
}

/// Settings of the executor.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Audit log path (the journal lives beside it).
    pub audit_path: PathBuf,
    /// Allow-all to isolation pause.
    pub quarantine_wait: Duration,
    /// Examiner CIDR for the isolation group.
    pub examiner_cidr: Option<String>,
    /// `--dry-run`: run jobs are refused here too, not only by the console (defence in depth).
    pub dry_run: bool,
}

struct Inner {
    backend: Backend,
    settings: Settings,
    tx: mpsc::UnboundedSender<TriageEvent>,
    /// One lock per instance: runs on one instance go one at a time.
    locks: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
    /// Runs started and not finished (previews are not counted).
    active: watch::Sender<usize>,
    /// Set when the console goes away: running quarantines skip the rest of their wait.
    hurry: watch::Sender<bool>,
}

/// The triage executor; cheap to clone.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

/// Decrements the active-run count however the run ends.
struct ActiveGuard(Arc<Inner>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Executor {
    /// An executor; its events go to `tx`.
    pub fn new(
        backend: Backend,
        settings: Settings,
        tx: mpsc::UnboundedSender<TriageEvent>,
    ) -> Executor {
        Executor {
            inner: Arc::new(Inner {
                backend,
                settings,
                tx,
                locks: Mutex::new(HashMap::new()),
                active: watch::Sender::new(0),
                hurry: watch::Sender::new(false),
            }),
        }
    }

    /// Starts a job on its own task and returns at once.
    pub fn submit(&self, job: Job) {
        let inner = self.inner.clone();
        let guard = (!job.preview).then(|| {
            inner.active.send_modify(|n| *n += 1);
            ActiveGuard(inner.clone())
        });
        tokio::spawn(async move {
            let _guard = guard;
            let id = job.id;
            let lock = {
                let mut locks = inner.locks.lock().unwrap_or_else(|e| e.into_inner());
                locks.entry(job.target.key()).or_default().clone()
            };
            let _one = lock.lock().await;
            // The job body runs on a task of its own so that a panic in it is caught here, the
            // instance compensated, and the failure reported.
            let body = tokio::spawn(run_job(inner.clone(), job.clone()));
            let result = match body.await {
                Ok(r) => r,
                Err(e) if e.is_panic() => {
                    let what = panic_text(e.into_panic());
                    let comp = if job.action == Action::Quarantine && !job.preview {
                        compensate_after_panic(&inner, &job).await
                    } else {
                        "nothing to compensate".into()
                    };
                    Err(format!("the action panicked ({what}); {comp}"))
                }
                Err(e) => Err(format!("the action was cancelled: {e}")),
            };
            if let Err(e) = result {
                if !job.preview {
                    // The console may be gone: the audit log must have the outcome too.
                    record_failure(&inner.settings, &job, &e);
                }
                let _ = inner.tx.send(TriageEvent::Done { id, result: Err(e) });
            }
        });
    }

    /// Runs under way (previews not counted).
    pub fn active(&self) -> usize {
        *self.inner.active.borrow()
    }

    /// Cuts the allow-all wait of every running quarantine short: they isolate now.
    pub fn hurry(&self) {
        self.inner.hurry.send_replace(true);
    }

    /// Waits until no run is under way.
    pub async fn drain(&self) {
        let mut rx = self.inner.active.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

/// Writes the outcome of a run that failed before (or outside) its runner, best-effort.
fn record_failure(settings: &Settings, job: &Job, error: &str) {
    let rec = super::Record {
        time: chrono::Utc::now(),
        case: job.case_id.clone(),
        operator: "watchfloor".into(),
        alias: job.target.alias.clone(),
        account_id: job.target.account_id.clone(),
        region: job.target.region.clone(),
        instance_id: job.target.instance_id.clone(),
        action: job.action.name().into(),
        step: "result".into(),
        phase: super::Phase::Outcome,
        dry_run: false,
        result: Some(format!("error: {error}")),
        request_id: None,
        run: None,
    };
    if let Ok(mut log) = AuditLog::open(&settings.audit_path) {
        let _ = log.append(&rec);
    }
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// Opens the audit log and the journal beside it; also returns the journal lines that could
/// not be read (shown in the panel: printing them would scribble over the console).
fn open_files(settings: &Settings) -> Result<(AuditLog, Journal, Vec<String>), String> {
    let audit = AuditLog::open(&settings.audit_path).map_err(|e| {
        format!(
            "cannot open the audit log {}: {e} — nothing was done",
            settings.audit_path.display()
        )
    })?;
    let jpath = Journal::path_beside(&settings.audit_path);
    let (journal, bad) = Journal::open(&jpath).map_err(|e| {
        format!(
            "cannot open the journal {}: {e} — nothing was done",
            jpath.display()
        )
    })?;
    Ok((audit, journal, bad))
}

/// The connected account of a job, waiting a while for it to connect.
async fn account(accounts: &Accounts, id: &str) -> Result<Connected, String> {
    let deadline = tokio::time::Instant::now() + CONNECT_WAIT;
    loop {
        if let Some(a) = accounts
            .lock()
            .map_err(|_| "account registry poisoned".to_string())?
            .get(id)
            .cloned()
        {
            return Ok(a);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "account {id} is not connected (verified): nothing was done"
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn run_job(inner: Arc<Inner>, job: Job) -> Result<(), String> {
    let settings = &inner.settings;
    if settings.dry_run && !job.preview {
        return Err("dry-run mode: actions stop at the DryRun check; nothing was done".into());
    }
    let (mut audit, mut journal, bad) = open_files(settings)?;
    let files = (&mut audit, &mut journal, bad);
    match &inner.backend {
        Backend::Demo(world) => {
            let ops = DemoOps {
                world: world.clone(),
                scope: Scope::new(&job.target.account_id, &job.target.region),
            };
            drive(&ops, files, &inner, job, "demo".into()).await
        }
        Backend::Aws(accounts) => {
            let acct = account(accounts, &job.target.account_id).await?;
            if !job.preview {
                // An MFA session that would expire mid-run is renewed now, while the console
                // can still ask for a code.
                acct.ensure_valid_for(settings.quarantine_wait + RUN_MARGIN)
                    .await
                    .map_err(|e| format!("{}: nothing was done", e.message))?;
            }
            let ops = AwsOps::for_region(&acct, &job.target.region);
            let operator = acct.identity_arn.clone();
            drive(&ops, files, &inner, job, operator).await
        }
    }
}

async fn drive<O: Ops>(
    ops: &O,
    (audit, journal, bad): (&mut AuditLog, &mut Journal, Vec<String>),
    inner: &Inner,
    job: Job,
    operator: String,
) -> Result<(), String> {
    let settings = &inner.settings;
    let ctx = Context {
        case_id: job.case_id.clone(),
        operator,
        quarantine_wait: settings.quarantine_wait,
        examiner_cidr: settings.examiner_cidr.clone(),
        hurry: Some(inner.hurry.subscribe()),
    };
    let (ntx, mut nrx) = mpsc::unbounded_channel::<Step>();
    let mut runner = Runner::new(ops, audit, journal, job.target.clone(), ctx);
    runner.notify = Some(ntx);
    if job.preview {
        let p = runner
            .preview(&job.action)
            .await
            .map_err(|e| e.to_string())?;
        let mut plan: Vec<String> = bad
            .iter()
            .map(|b| format!("Journal line skipped (unreadable): {b}"))
            .collect();
        plan.extend(p.plan);
        let _ = inner.tx.send(TriageEvent::Plan {
            id: job.id,
            plan,
            checks: p.checks,
            typed_confirmation: p.typed_confirmation,
            action: p.action,
        });
        return Ok(());
    }
    let forward = {
        let tx = inner.tx.clone();
        let id = job.id;
        tokio::spawn(async move {
            while let Some(step) = nrx.recv().await {
                if tx.send(TriageEvent::Progress { id, step }).is_err() {
                    return;
                }
            }
        })
    };
    for b in &bad {
        let _ = inner.tx.send(TriageEvent::Progress {
            id: job.id,
            step: Step::warning(format!("journal line skipped (unreadable): {b}")),
        });
    }
    let result = runner.run(&job.action).await.map_err(|e| e.to_string());
    drop(runner);
    let _ = forward.await;
    let _ = inner.tx.send(TriageEvent::Done { id: job.id, result });
    Ok(())
}

/// After a panic mid-quarantine: whatever is on the allow-all group goes to isolation.
async fn compensate_after_panic(inner: &Inner, job: &Job) -> String {
    let Ok((mut audit, mut journal, _)) = open_files(&inner.settings) else {
        return "could not open the audit log or journal to compensate".into();
    };
    let ctx = Context {
        case_id: job.case_id.clone(),
        operator: "watchfloor (compensating after a panic)".into(),
        ..Context::default()
    };
    match &inner.backend {
        Backend::Demo(world) => {
            let ops = DemoOps {
                world: world.clone(),
                scope: Scope::new(&job.target.account_id, &job.target.region),
            };
            Runner::new(&ops, &mut audit, &mut journal, job.target.clone(), ctx)
                .compensate_orphan()
                .await
        }
        Backend::Aws(accounts) => match account(accounts, &job.target.account_id).await {
            Ok(acct) => {
                let ops = AwsOps::for_region(&acct, &job.target.region);
                Runner::new(&ops, &mut audit, &mut journal, job.target.clone(), ctx)
                    .compensate_orphan()
                    .await
            }
            Err(e) => format!("could not compensate: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn target(world: &DemoWorld, account: &str, name: &str) -> Target {
        let scope = Scope::new(account, "us-east-1");
        let (instances, _) = world.ec2_at(&scope, 300.0);
        let i = instances.iter().find(|i| i.name.starts_with(name)).unwrap();
        Target {
            alias: "x".into(),
            account_id: account.into(),
            region: "us-east-1".into(),
            instance_id: i.instance_id.clone(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_in_parallel_across_accounts_and_drain_waits_with_hurry_cutting_the_wait() {
        let world = Arc::new(DemoWorld::new(
            3,
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        ));
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let exec = Executor::new(
            Backend::Demo(world.clone()),
            Settings {
                audit_path: dir.path().join("audit.jsonl"),
                quarantine_wait: Duration::from_secs(600),
                examiner_cidr: None,
                dry_run: false,
            },
            tx,
        );
        let q = target(&world, "210987654321", "bastion-legacy");
        let job = |id, action, target: &Target| Job {
            id,
            preview: false,
            action,
            target: target.clone(),
            case_id: "IR-1".into(),
        };
        exec.submit(job(1, Action::Quarantine, &q));
        // A stop in another account finishes while the quarantine sits in its 600 s wait.
        let s = target(&world, "345678901234", "staging-web");
        let stop = Action::Stop {
            force: false,
            hibernate: false,
            clear_stop_protection: false,
        };
        exec.submit(job(2, stop, &s));
        let mut waiting = false;
        let mut stopped = false;
        while !(waiting && stopped) {
            match tokio::time::timeout(Duration::from_secs(20), rx.recv()).await {
                Ok(Some(TriageEvent::Progress { id: 1, step }))
                    if step.text.contains("waiting") =>
                {
                    waiting = true
                }
                Ok(Some(TriageEvent::Done { id: 2, result })) => {
                    assert!(result.is_ok(), "{result:?}");
                    stopped = true;
                }
                Ok(Some(_)) => {}
                other => panic!("no progress: {other:?} (waiting {waiting}, stopped {stopped})"),
            }
        }
        assert_eq!(exec.active(), 1);
        // The console goes away: the wait is cut short and drain returns once it is isolated.
        exec.hurry();
        tokio::time::timeout(Duration::from_secs(20), exec.drain())
            .await
            .expect("drain waits for the quarantine, not for its 600 s wait");
        assert_eq!(exec.active(), 0);
        let mut done = None;
        while let Ok(e) = rx.try_recv() {
            if let TriageEvent::Done { id: 1, result } = e {
                done = Some(result);
            }
        }
        let msg = done.expect("quarantine reported").unwrap();
        assert!(msg.contains("quarantined"), "{msg}");
    }
}
