//! AWS source: every configured account x region polled concurrently by its feeds (see
//! [`feeds`]), each on its own task in the feed driver with its own schedule and backoff.

pub mod costs;
pub mod cpu;
pub mod ec2;
pub mod ecs;
pub mod events;
pub mod findings;
pub mod images;
pub mod launched_by;
pub mod org;
pub mod pricing;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use crate::aws::{AwsError, Clients, Connected, ErrorKind, MfaPrompt, connect_all, creds};
use crate::config::{Config, Regions, Settings};
use crate::feed::{AccountInfo, Feed, Report};
use crate::model::Scope;
use pricing::PriceBook;

/// Stand-in id, shown in the id column, for an account that never connected (its
/// [`AccountInfo::verified`] is false; nothing reads this text back).
fn unverified_id(alias: &str) -> String {
    format!("unverified:{alias}")
}

/// A connected account as announced to the app, with the colour and read-only flag its entry
/// (or the organization) gives it.
fn info(acct: &Connected, color: Option<crate::theme::ThemeColor>, read_only: bool) -> AccountInfo {
    AccountInfo {
        alias: acct.alias.clone(),
        account_id: acct.account_id.clone(),
        verified: true,
        regions: acct.regions.clone(),
        home_regions: acct.home_regions.clone(),
        color,
        read_only,
    }
}

fn failed_info(cfg: &crate::config::AccountConfig) -> AccountInfo {
    AccountInfo {
        alias: cfg.alias.clone(),
        account_id: cfg
            .expected_account_id()
            .map_or_else(|| unverified_id(&cfg.alias), str::to_string),
        verified: false,
        regions: match &cfg.regions {
            Regions::List(v) if !v.is_empty() => v.clone(),
            _ => vec!["(regions unknown)".into()],
        },
        home_regions: cfg.home_regions.clone(),
        color: cfg.color,
        read_only: cfg.read_only,
    }
}

/// The feeds of one account x region, in display order: adding a feed is one line here.
pub fn feeds(c: &Clients, settings: &Settings, book: &Arc<PriceBook>) -> Vec<Box<dyn Feed>> {
    let secs = |s: u32| Duration::from_secs(u64::from(s));
    let (ec2, inventory) = ec2::Ec2Feed::new(c.clone(), secs(settings.ec2_interval_secs));
    let (ecs, tasks) = ecs::EcsFeed::new(c.clone(), secs(settings.ec2_interval_secs));
    let mut feeds: Vec<Box<dyn Feed>> = vec![
        Box::new(ec2),
        Box::new(cpu::CpuFeed::new(
            c.clone(),
            secs(settings.cpu_interval_secs),
            inventory.clone(),
            tasks,
        )),
        Box::new(images::ImagesFeed::new(
            c.clone(),
            secs(settings.ec2_interval_secs),
            inventory.clone(),
        )),
        Box::new(findings::FindingsFeed::new(
            c.clone(),
            secs(settings.findings_interval_secs),
        )),
        Box::new(ecs),
    ];
    feeds.extend(pricing_feed(c, settings, inventory, book));
    feeds
}

/// The pricing feed of a scope, unless `[settings] pricing = false`.
pub fn pricing_feed(
    c: &Clients,
    settings: &Settings,
    inventory: ec2::Shared,
    book: &Arc<PriceBook>,
) -> Option<Box<dyn Feed>> {
    settings.pricing.then(|| {
        Box::new(pricing::PricingFeed::new(
            c.clone(),
            Duration::from_secs(u64::from(settings.ec2_interval_secs)),
            inventory,
            book.clone(),
        )) as Box<dyn Feed>
    })
}

fn failed(scope: &Scope, message: String) -> Report {
    Report::Failed {
        scope: scope.clone(),
        feed: ec2::NAME,
        at: Utc::now(),
        message,
    }
}

/// `Failed` on every region of an account that did not connect.
fn account_failed(fi: &AccountInfo, message: &str) -> Vec<Report> {
    fi.regions
        .iter()
        .map(|r| failed(&Scope::new(&fi.account_id, r), message.to_string()))
        .collect()
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
    tx: mpsc::Sender<Report>,
    registry: crate::aws::Accounts,
) {
    let announced: Arc<tokio::sync::Mutex<Vec<AccountInfo>>> = Arc::default();
    let book = PriceBook::open(pricing::default_path());
    // The organization's event queue can wake an [[account]] entry's feeds too.
    let wakers = crate::feed::driver::Wakers::default();
    let mut first_attempts = Vec::new();
    for cfg in config.accounts.clone() {
        let (prompt, tx, registry, announced) = (
            prompt.clone(),
            tx.clone(),
            registry.clone(),
            announced.clone(),
        );
        let settings = config.settings.clone();
        let wakers = wakers.clone();
        let book = book.clone();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        first_attempts.push(done_rx);
        tokio::spawn(async move {
            let mut attempt = 0u32;
            // Organization discovery waits for every entry's first attempt.
            let mut first = Some(done_tx);
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
                            Some(other) => Err(AwsError::new(
                                ErrorKind::DuplicateAccount,
                                format!(
                                    "`{}` is the same account ({}) as `{}`: remove one of the two aliases",
                                    acct.alias, acct.account_id, other.alias
                                ),
                            )),
                            None => Ok(acct),
                        }
                    }
                    Err(e) => Err(e),
                };
                match res {
                    Ok(acct) => {
                        if let Ok(mut m) = registry.lock() {
                            m.insert(acct.account_id.clone(), acct.clone());
                        }
                        let list = {
                            let mut a = announced.lock().await;
                            a.retain(|x| x.alias != acct.alias);
                            a.push(info(&acct, cfg.color, cfg.read_only));
                            a.clone()
                        };
                        if tx.send(Report::Accounts(list)).await.is_err() {
                            return;
                        }
                        if let Some(d) = first.take() {
                            let _ = d.send(());
                        }
                        for r in &acct.regions {
                            let feeds = feeds(&Clients::new(&acct, r), &settings, &book);
                            let drive = crate::feed::driver::Drive {
                                limit: None,
                                wakers: Some(wakers.clone()),
                            };
                            tokio::spawn(crate::feed::driver::start_with(feeds, tx.clone(), drive));
                        }
                        if let Some(f) = costs::feed(&acct, &settings) {
                            tokio::spawn(crate::feed::driver::start(vec![f], tx.clone()));
                        }
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(account = %cfg.alias, "account failed to connect: {}", e.message);
                        let mut fi = failed_info(&cfg);
                        if e.kind == ErrorKind::DuplicateAccount {
                            // Never report this error on the other alias's real scopes.
                            fi.account_id = unverified_id(&cfg.alias);
                        }
                        let list = {
                            let mut a = announced.lock().await;
                            a.retain(|x| x.alias != fi.alias);
                            a.push(fi.clone());
                            a.clone()
                        };
                        let _ = tx.send(Report::Accounts(list)).await;
                        let declined =
                            matches!(e.kind, ErrorKind::MfaDeclined | ErrorKind::DuplicateAccount);
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
                        if let Some(d) = first.take() {
                            let _ = d.send(());
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
    if let Some(o) = config.organization.clone() {
        let limit = Arc::new(tokio::sync::Semaphore::new(o.max_concurrent_polls as usize));
        let sh = org::Shared {
            org: Arc::new(o),
            settings: config.settings.clone(),
            tx,
            registry,
            announced,
            regions: org::MembersByRegion::default(),
            limit,
            wakers,
            book,
        };
        tokio::spawn(org::run(config, prompt, sh, first_attempts));
    }
}

/// Polls every account x region once, all feeds, concurrently (for `snapshot`); the accounts
/// that connected are left in `registry` (for lookups).
pub async fn poll_once(
    config: &Config,
    prompt: Arc<dyn MfaPrompt>,
    registry: &crate::aws::Accounts,
) -> Vec<Report> {
    poll_once_timed(config, prompt, registry).await.0
}

/// [`poll_once`], with what each feed's poll took (and the organization's discovery).
pub async fn poll_once_timed(
    config: &Config,
    prompt: Arc<dyn MfaPrompt>,
    registry: &crate::aws::Accounts,
) -> (Vec<Report>, Vec<crate::feed::driver::Timing>) {
    let connected = connect_all(config, prompt.clone()).await;
    let book = PriceBook::open(pricing::default_path());
    let mut accounts = Vec::new();
    let mut out = Vec::new();
    let mut all = Vec::new();
    for r in connected {
        match r {
            Ok(acct) => {
                let cfg = config.accounts.iter().find(|c| c.alias == acct.alias);
                accounts.push(info(
                    &acct,
                    cfg.and_then(|c| c.color),
                    cfg.is_some_and(|c| c.read_only),
                ));
                for region in &acct.regions {
                    all.extend(feeds(&Clients::new(&acct, region), &config.settings, &book));
                }
                all.extend(costs::feed(&acct, &config.settings));
                if let Ok(mut m) = registry.lock() {
                    m.insert(acct.account_id.clone(), acct);
                }
            }
            Err((i, e)) => {
                tracing::warn!(
                    account = %config.accounts[i].alias,
                    "account failed to connect: {}",
                    e.message
                );
                let fi = failed_info(&config.accounts[i]);
                out.extend(account_failed(&fi, &e.message));
                accounts.push(fi);
            }
        }
    }
    let org = match &config.organization {
        Some(o) => Some(org::poll_once(config, o, prompt, registry, &accounts, &book).await),
        None => None,
    };
    let (reports, mut timings) = crate::feed::driver::poll_once_timed(all).await;
    if let Some(o) = &org {
        accounts.extend(o.accounts.iter().cloned());
    }
    let mut all_reports = vec![Report::Accounts(accounts)];
    all_reports.extend(out);
    all_reports.extend(reports);
    if let Some(o) = org {
        all_reports.extend(o.reports);
        timings.extend(o.timings);
    }
    (all_reports, timings)
}
