//! On-demand lookups the console asks for (who launched an instance), run in the background and
//! answered as feed reports, so only feed data reaches the fleet model. CloudTrail's pace (2 a
//! second per account and region) is kept per scope.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::aws::{Accounts, Clients};
use crate::feed::Report;
use crate::model::Scope;
use crate::model::launch::LaunchedBy;
use crate::source::aws::launched_by::{Pace, lookup};
use crate::source::demo::DemoWorld;

/// Where lookups are answered from.
#[derive(Clone)]
pub enum Backend {
    /// The connected AWS accounts.
    Aws(Accounts),
    /// The simulated fleet.
    Demo(Arc<DemoWorld>),
}

/// A lookup to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// Account x region of the instance.
    pub scope: Scope,
    /// Instance id.
    pub instance_id: String,
    /// Its launch time, when known (older than CloudTrail's history: not looked up).
    pub launched: Option<DateTime<Utc>>,
}

/// Runs lookups, paced per scope (the console asks once per instance: `app::update` keeps
/// which lookups are pending).
#[derive(Clone)]
pub struct Lookups {
    backend: Backend,
    tx: mpsc::Sender<Report>,
    paces: Arc<Mutex<HashMap<Scope, Arc<Pace>>>>,
}

impl Lookups {
    /// Lookups answered from `backend`, reported on `tx` (the feeds' channel).
    pub fn new(backend: Backend, tx: mpsc::Sender<Report>) -> Self {
        Lookups {
            backend,
            tx,
            paces: Arc::default(),
        }
    }

    /// Starts a lookup in the background; its answer comes back on the feeds' channel.
    pub fn submit(&self, job: Lookup) {
        let me = self.clone();
        tokio::spawn(async move {
            let (result, calls) = me.run(&job).await;
            let _ = me
                .tx
                .send(Report::LaunchedBy {
                    scope: job.scope,
                    instance_id: job.instance_id,
                    result,
                    calls,
                })
                .await;
        });
    }

    /// Runs one lookup now (also used by `snapshot --launched-by`).
    pub async fn run(&self, job: &Lookup) -> (LaunchedBy, u64) {
        match &self.backend {
            Backend::Demo(w) => (w.launched_by(&job.instance_id, Utc::now()), 0),
            Backend::Aws(accounts) => {
                let acct = accounts
                    .lock()
                    .ok()
                    .and_then(|m| m.get(&job.scope.account_id).cloned());
                let Some(acct) = acct else {
                    return (LaunchedBy::Failed("the account is not connected".into()), 0);
                };
                let pace = self
                    .paces
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(job.scope.clone())
                    .or_default()
                    .clone();
                let c = Clients::new(&acct, &job.scope.region);
                lookup(
                    &c.cloudtrail,
                    &pace,
                    &job.instance_id,
                    job.launched,
                    Utc::now(),
                )
                .await
            }
        }
    }
}
