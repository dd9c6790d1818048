//! AWS source: every configured account x region polled concurrently by three feeds (EC2, CPU,
//! GuardDuty), each on its own tokio task with its own schedule and backoff.

pub mod cloudwatch;
pub mod creds;
pub mod ec2;
pub mod error;
pub mod guardduty;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::Region;
use chrono::Utc;
use rand::Rng;
use tokio::sync::{mpsc, watch};

use crate::config::{Config, Regions, Settings};
use crate::model::{InstanceState, Scope};
use crate::source::{AccountInfo, Feed, Update};
pub use creds::{Connected, MfaPrompt, TerminalPrompt};
pub use error::AwsError;

/// Placeholder id for an account whose identity could not be verified.
pub const UNVERIFIED: &str = "unverified";

/// Regional clients of one account x region.
#[derive(Clone, Debug)]
pub struct Clients {
    /// Account x region.
    pub scope: Scope,
    /// EC2.
    pub ec2: aws_sdk_ec2::Client,
    /// CloudWatch.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// GuardDuty.
    pub guardduty: aws_sdk_guardduty::Client,
}

impl Clients {
    /// Clients for `region` sharing the account's credentials.
    pub fn new(acct: &Connected, region: &str) -> Self {
        let r = Region::new(region.to_string());
        Clients {
            scope: Scope::new(&acct.account_id, region),
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(&acct.sdk)
                    .region(r.clone())
                    .build(),
            ),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(&acct.sdk)
                    .region(r.clone())
                    .build(),
            ),
            guardduty: aws_sdk_guardduty::Client::from_conf(
                aws_sdk_guardduty::config::Builder::from(&acct.sdk)
                    .region(r)
                    .build(),
            ),
        }
    }
}

/// The account as announced to the app; failed accounts keep their alias and configured regions.
fn info(acct: &Connected) -> AccountInfo {
    AccountInfo {
        alias: acct.alias.clone(),
        account_id: acct.account_id.clone(),
        regions: acct.regions.clone(),
        home_regions: acct.home_regions.clone(),
    }
}

fn failed_info(cfg: &crate::config::AccountConfig) -> AccountInfo {
    AccountInfo {
        alias: cfg.alias.clone(),
        account_id: cfg
            .expected_account_id()
            .map_or_else(|| format!("{UNVERIFIED}:{}", cfg.alias), str::to_string),
        regions: match &cfg.regions {
            Regions::List(v) if !v.is_empty() => v.clone(),
            _ => vec!["(regions unknown)".into()],
        },
        home_regions: cfg.home_regions.clone(),
    }
}

/// Connects every account concurrently; failures come back as (config index, error).
pub async fn connect_all(
    config: &Config,
    prompt: Arc<dyn MfaPrompt>,
) -> Vec<Result<Connected, (usize, AwsError)>> {
    let futs = config.accounts.iter().enumerate().map(|(i, a)| {
        let prompt = prompt.clone();
        async move {
            creds::connect(a, &config.settings, prompt)
                .await
                .map_err(|e| (i, e))
        }
    });
    futures::future::join_all(futs).await
}

/// Delay before retrying after `failures` consecutive failures: exponential with jitter,
/// shorter caps for throttling (the token bucket refills in seconds).
pub fn backoff(err: &AwsError, failures: u32, interval: Duration) -> Duration {
    let (base, cap) = if err.throttled {
        (2.0, 120.0)
    } else {
        (5.0_f64.min(interval.as_secs_f64()), 300.0)
    };
    let exp = (base * 2f64.powi(failures.saturating_sub(1).min(16) as i32)).min(cap);
    let jitter = rand::rng().random_range(0.5..1.0);
    Duration::from_secs_f64((exp * jitter).max(0.5))
}

/// One poll's outcome: the update to send, API calls made, metrics requested.
type PollResult = Result<(Update, u64, u64), AwsError>;

async fn run_feed<P, F>(
    scope: Scope,
    feed: Feed,
    interval: Duration,
    tx: mpsc::Sender<Update>,
    mut poll: P,
) where
    P: FnMut() -> F,
    F: Future<Output = PollResult>,
{
    let _ = tx
        .send(Update::Schedule {
            scope: scope.clone(),
            feed,
            interval_secs: interval.as_secs() as u32,
        })
        .await;
    let mut failures = 0u32;
    loop {
        if tx
            .send(Update::Loading {
                scope: scope.clone(),
                feed,
            })
            .await
            .is_err()
        {
            return;
        }
        let (wait, calls, metrics) = match poll().await {
            Ok((u, calls, metrics)) => {
                failures = 0;
                if tx.send(u).await.is_err() {
                    return;
                }
                (interval, calls, metrics)
            }
            Err(e) => {
                failures += 1;
                let wait = backoff(&e, failures, interval);
                let message = format!("{} (retry in {}s)", e.message, wait.as_secs().max(1));
                if tx.send(failed(&scope, feed, message)).await.is_err() {
                    return;
                }
                (wait, 1, 0)
            }
        };
        let _ = tx
            .send(Update::Requests {
                scope: scope.clone(),
                feed,
                calls,
                metrics,
            })
            .await;
        tokio::time::sleep(wait).await;
    }
}

/// CPU targets from an inventory: instances that can report CPU.
fn targets(inv: &ec2::Inventory) -> Vec<cloudwatch::Target> {
    inv.instances
        .iter()
        .filter(|i| {
            matches!(
                i.state,
                InstanceState::Running | InstanceState::Pending | InstanceState::Stopping
            )
        })
        .map(|i| cloudwatch::Target {
            instance_id: i.instance_id.clone(),
            detailed: i.detailed_monitoring,
        })
        .collect()
}

/// Polls EC2 once for a scope.
pub async fn poll_ec2(c: &Clients) -> Result<(ec2::Inventory, Update), AwsError> {
    let inv = ec2::poll(&c.ec2).await?;
    let u = Update::Ec2 {
        scope: c.scope.clone(),
        at: Utc::now(),
        instances: inv.instances.clone(),
        groups: inv.groups.clone(),
    };
    Ok((inv, u))
}

/// Polls CPU once for `targets` with the scope's schedule.
async fn poll_cpu(
    c: &Clients,
    schedule: &mut cloudwatch::Schedule,
    targets: &[cloudwatch::Target],
) -> PollResult {
    let p = schedule.poll(&c.cloudwatch, targets, Utc::now()).await?;
    let u = Update::Cpu {
        scope: c.scope.clone(),
        at: Utc::now(),
        series: p.series,
    };
    Ok((u, p.calls, p.metrics))
}

/// Polls GuardDuty once with the scope's poller.
async fn poll_findings(c: &Clients, poller: &mut guardduty::FindingsPoller) -> PollResult {
    let r = poller.poll(&c.guardduty, Utc::now()).await?;
    let u = Update::Findings {
        scope: c.scope.clone(),
        at: Utc::now(),
        findings: r.findings,
        complete: r.complete,
    };
    Ok((u, r.calls, 0))
}

/// The updates one poll of `feed` produces: its data and request counts, or its failure.
fn outcome(scope: &Scope, feed: Feed, r: PollResult) -> Vec<Update> {
    match r {
        Ok((u, calls, metrics)) => vec![
            u,
            Update::Requests {
                scope: scope.clone(),
                feed,
                calls,
                metrics,
            },
        ],
        Err(e) => vec![failed(scope, feed, e.message)],
    }
}

fn failed(scope: &Scope, feed: Feed, message: String) -> Update {
    Update::Failed {
        scope: scope.clone(),
        feed,
        at: Utc::now(),
        message,
    }
}

/// `Failed` on every region of an account that did not connect.
fn account_failed(fi: &AccountInfo, message: &str) -> Vec<Update> {
    fi.regions
        .iter()
        .map(|r| {
            failed(
                &Scope::new(&fi.account_id, r),
                Feed::Ec2,
                message.to_string(),
            )
        })
        .collect()
}

/// Starts the three feeds of one account x region.
pub fn spawn_scope(c: Clients, settings: &Settings, tx: mpsc::Sender<Update>) {
    let (targets_tx, targets_rx) = watch::channel::<Option<Vec<cloudwatch::Target>>>(None);
    let secs = |s: u32| Duration::from_secs(u64::from(s));

    let c1 = c.clone();
    tokio::spawn(run_feed(
        c.scope.clone(),
        Feed::Ec2,
        secs(settings.ec2_interval_secs),
        tx.clone(),
        move || {
            let c = c1.clone();
            let targets_tx = targets_tx.clone();
            async move {
                let (inv, u) = poll_ec2(&c).await?;
                let _ = targets_tx.send(Some(targets(&inv)));
                Ok((u, inv.calls, 0))
            }
        },
    ));

    let c2 = c.clone();
    let tx_cost = tx.clone();
    let schedule = Arc::new(tokio::sync::Mutex::new(cloudwatch::Schedule::default()));
    tokio::spawn(run_feed(
        c.scope.clone(),
        Feed::Cpu,
        secs(settings.cpu_interval_secs),
        tx.clone(),
        move || {
            let c = c2.clone();
            let tx_cost = tx_cost.clone();
            let mut rx = targets_rx.clone();
            let schedule = schedule.clone();
            async move {
                // Wait for the first inventory: CPU needs the instance list.
                let targets = loop {
                    if let Some(t) = rx.borrow_and_update().clone() {
                        break t;
                    }
                    if rx.changed().await.is_err() {
                        return Err(AwsError::other("EC2 feed stopped"));
                    }
                };
                let _ = tx_cost
                    .send(Update::CpuCost {
                        scope: c.scope.clone(),
                        metrics_per_day: cloudwatch::metrics_per_day(&targets),
                    })
                    .await;
                poll_cpu(&c, &mut *schedule.lock().await, &targets).await
            }
        },
    ));

    let poller = Arc::new(tokio::sync::Mutex::new(guardduty::FindingsPoller::default()));
    tokio::spawn(run_feed(
        c.scope.clone(),
        Feed::Findings,
        secs(settings.findings_interval_secs),
        tx,
        move || {
            let c = c.clone();
            let poller = poller.clone();
            async move { poll_findings(&c, &mut *poller.lock().await).await }
        },
    ));
}

/// Delay before reconnecting an account that failed to connect (`attempt` from 1): the EC2
/// interval capped at 30 s, doubling up to 10 minutes.
fn reconnect_delay(attempt: u32, ec2_interval_secs: u32) -> Duration {
    let base = u64::from(ec2_interval_secs.clamp(1, 30));
    Duration::from_secs((base << attempt.saturating_sub(1).min(6)).min(600))
}

/// Connects every account in the background and starts all feeds; the UI never waits for it.
/// An account that fails to connect is shown with its error and retried with backoff (except
/// when the operator declined its MFA prompt). Connected accounts are also registered in
/// `registry` (for triage) when one is given.
pub fn spawn(
    config: Config,
    prompt: Arc<dyn MfaPrompt>,
    tx: mpsc::Sender<Update>,
    registry: Option<crate::triage::executor::Accounts>,
) {
    let announced: Arc<tokio::sync::Mutex<Vec<AccountInfo>>> = Arc::default();
    for cfg in config.accounts.clone() {
        let (prompt, tx, registry, announced) = (
            prompt.clone(),
            tx.clone(),
            registry.clone(),
            announced.clone(),
        );
        let settings = config.settings.clone();
        tokio::spawn(async move {
            let mut attempt = 0u32;
            loop {
                attempt += 1;
                let res = creds::connect(&cfg, &settings, prompt.clone()).await;
                let res = match res {
                    Ok(acct) => {
                        let a = announced.lock().await;
                        match a
                            .iter()
                            .find(|x| x.account_id == acct.account_id && x.alias != acct.alias)
                        {
                            // Two aliases for one account would merge their rows and confuse
                            // which alias an action names: the later one is refused.
                            Some(other) => Err(AwsError::other(format!(
                                "`{}` is the same account ({}) as `{}`: remove one of the two aliases",
                                acct.alias, acct.account_id, other.alias
                            ))),
                            None => Ok(acct),
                        }
                    }
                    Err(e) => Err(e),
                };
                match res {
                    Ok(acct) => {
                        if let Some(r) = &registry
                            && let Ok(mut m) = r.lock()
                        {
                            m.insert(acct.account_id.clone(), acct.clone());
                        }
                        let list = {
                            let mut a = announced.lock().await;
                            a.retain(|x| x.alias != acct.alias);
                            a.push(info(&acct));
                            a.clone()
                        };
                        if tx.send(Update::Accounts(list)).await.is_err() {
                            return;
                        }
                        for r in &acct.regions {
                            spawn_scope(Clients::new(&acct, r), &settings, tx.clone());
                        }
                        return;
                    }
                    Err(e) => {
                        let mut fi = failed_info(&cfg);
                        if e.message.contains("is the same account") {
                            // Never report this error on the other alias's real scopes.
                            fi.account_id = format!("{UNVERIFIED}:{}", cfg.alias);
                        }
                        let list = {
                            let mut a = announced.lock().await;
                            a.retain(|x| x.alias != fi.alias);
                            a.push(fi.clone());
                            a.clone()
                        };
                        let _ = tx.send(Update::Accounts(list)).await;
                        let declined = e.message.contains("no MFA code given")
                            || e.message.contains("is the same account");
                        let wait = reconnect_delay(attempt, settings.ec2_interval_secs);
                        let message = if declined {
                            format!(
                                "{} (not retried: restart watchfloor to connect it)",
                                e.message
                            )
                        } else {
                            format!("{} (retry in {}s)", e.message, wait.as_secs())
                        };
                        for u in account_failed(&fi, &message) {
                            if tx.send(u).await.is_err() {
                                return;
                            }
                        }
                        if declined {
                            return;
                        }
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        });
    }
}

/// Polls every account x region once, all feeds, concurrently (for `snapshot`).
pub async fn poll_once(config: &Config, prompt: Arc<dyn MfaPrompt>) -> Vec<Update> {
    let connected = connect_all(config, prompt).await;
    let mut accounts = Vec::new();
    let mut out = Vec::new();
    let mut scopes = Vec::new();
    for r in connected {
        match r {
            Ok(acct) => {
                accounts.push(info(&acct));
                for region in &acct.regions {
                    scopes.push(Clients::new(&acct, region));
                }
            }
            Err((i, e)) => {
                let fi = failed_info(&config.accounts[i]);
                out.extend(account_failed(&fi, &e.message));
                accounts.push(fi);
            }
        }
    }
    let polls = scopes.iter().map(|c| async move {
        let ec2_then_cpu = async {
            match poll_ec2(c).await {
                Ok((inv, u)) => {
                    let mut v = outcome(&c.scope, Feed::Ec2, Ok((u, inv.calls, 0)));
                    let mut schedule = cloudwatch::Schedule::default();
                    let cpu = poll_cpu(c, &mut schedule, &targets(&inv)).await;
                    v.extend(outcome(&c.scope, Feed::Cpu, cpu));
                    v
                }
                Err(e) => vec![
                    failed(&c.scope, Feed::Ec2, e.message),
                    failed(
                        &c.scope,
                        Feed::Cpu,
                        "not polled: EC2 inventory failed".into(),
                    ),
                ],
            }
        };
        let findings = async {
            let r = poll_findings(c, &mut guardduty::FindingsPoller::default()).await;
            outcome(&c.scope, Feed::Findings, r)
        };
        let (mut a, b) = tokio::join!(ec2_then_cpu, findings);
        a.extend(b);
        a
    });
    let results = futures::future::join_all(polls).await;
    let mut all = vec![Update::Accounts(accounts)];
    all.extend(out);
    all.extend(results.into_iter().flatten());
    all
}
