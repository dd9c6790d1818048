//! Organization mode: the member accounts come from AWS Organizations (ListAccounts, again every
//! `discover_interval_secs`), each reached through the organization's role. EC2 and ECS stay per
//! member x region; GuardDuty runs once per region in the delegated administrator and CloudWatch
//! once per region in the monitoring account, each serving every member there.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::Utc;
use futures::future::BoxFuture;
use tokio::sync::{Mutex, Semaphore, mpsc};

use tokio::task::AbortHandle;

use super::{ec2, ecs, findings};
use crate::aws::org::{OrgAccount, accounts_under, alias_for, connect_member, list_accounts};
use crate::aws::{Accounts, AwsError, Clients, Connected, MfaPrompt, creds};
use crate::config::{Config, OrgConfig, Settings};
use crate::feed::{AccountInfo, Data, Feed, FeedError, OrgStatus, Polled, Report, Unmonitored};
use crate::model::Scope;

/// One member account's inputs in one region, for the organization-wide feeds.
#[derive(Clone)]
pub struct Member {
    /// The member's clients in the region (its own EC2 for credit modes).
    pub clients: Clients,
    /// Its EC2 feed's latest inventory.
    pub inventory: ec2::Shared,
    /// Its ECS feed's latest inventory.
    pub ecs: ecs::Shared,
}

/// The members polled in one region, by account id (shared by the organization-wide feeds of
/// that region and the member tasks that come and go).
#[derive(Clone, Default)]
pub struct RegionMembers(Arc<RwLock<BTreeMap<String, Member>>>);

impl RegionMembers {
    /// Every member, in account order.
    pub fn snapshot(&self) -> Vec<Member> {
        self.0
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Every member's scope in the region.
    pub fn scopes(&self) -> Vec<Scope> {
        self.snapshot()
            .into_iter()
            .map(|m| m.clients.scope)
            .collect()
    }

    /// Adds (or replaces) a member.
    pub fn insert(&self, m: Member) {
        if let Ok(mut map) = self.0.write() {
            map.insert(m.clients.scope.account_id.clone(), m);
        }
    }

    /// Removes a member.
    pub fn remove(&self, account_id: &str) {
        if let Ok(mut map) = self.0.write() {
            map.remove(account_id);
        }
    }
}

/// The members of every region.
#[derive(Clone, Default)]
pub struct MembersByRegion(Arc<std::sync::Mutex<HashMap<String, RegionMembers>>>);

impl MembersByRegion {
    /// The members of `region` (created empty).
    pub fn get(&self, region: &str) -> RegionMembers {
        self.0
            .lock()
            .map(|mut m| m.entry(region.to_string()).or_default().clone())
            .unwrap_or_default()
    }
}

/// GuardDuty through the delegated administrator, one region: one ListFindings/GetFindings
/// stream for every member, each finding given to its account's scope by `accountId`; and
/// every [`findings::FULL_EVERY`] polls, ListMembers, for the members GuardDuty does not watch.
pub struct OrgFindingsFeed {
    clients: Clients,
    interval: Duration,
    poller: findings::FindingsPoller,
    members: RegionMembers,
    /// Every account announced (members that did not connect among them: their findings are
    /// shown even without rows).
    announced: Announced,
    /// The members the last complete set was fetched for.
    complete_for: HashSet<String>,
    polls: u32,
}

/// The accounts announced so far, `[[account]]` entries included.
pub type Announced = Arc<Mutex<Vec<AccountInfo>>>;

impl OrgFindingsFeed {
    /// The feed of the administrator's `clients` in their region, serving `members`.
    pub fn new(
        clients: Clients,
        interval: Duration,
        members: RegionMembers,
        announced: Announced,
    ) -> Self {
        OrgFindingsFeed {
            clients,
            interval,
            poller: findings::FindingsPoller::default(),
            members,
            announced,
            complete_for: HashSet::new(),
            polls: 0,
        }
    }

    /// Members GuardDuty does not watch in this region: not a member of the administrator's
    /// detector, or a member whose relationship is not `Enabled`. Returns them and the calls.
    async fn coverage(&self, detector: &str) -> Result<(Vec<Unmonitored>, u64), AwsError> {
        let mut status: HashMap<String, String> = HashMap::new();
        let mut calls = 0;
        let mut pages = self
            .clients
            .guardduty
            .list_members()
            .detector_id(detector)
            .only_associated("false")
            .max_results(50)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            calls += 1;
            let page = page.map_err(|e| crate::aws::error::describe("ListMembers", &e))?;
            for m in page.members() {
                status.insert(
                    m.account_id().unwrap_or_default().to_string(),
                    m.relationship_status().unwrap_or_default().to_string(),
                );
            }
        }
        let admin = &self.clients.scope.account_id;
        let unmonitored = self
            .members
            .scopes()
            .into_iter()
            .filter(|s| &s.account_id != admin)
            .filter_map(|s| match status.get(&s.account_id) {
                Some(st) if st.eq_ignore_ascii_case("enabled") => None,
                Some(st) => Some(Unmonitored {
                    account_id: s.account_id,
                    status: st.clone(),
                }),
                None => Some(Unmonitored {
                    account_id: s.account_id,
                    status: "not a member".into(),
                }),
            })
            .collect();
        Ok((unmonitored, calls))
    }
}

impl Feed for OrgFindingsFeed {
    fn name(&self) -> &'static str {
        findings::NAME
    }
    fn home(&self) -> &Scope {
        &self.clients.scope
    }
    fn interval(&self) -> Duration {
        self.interval
    }
    fn serves(&self) -> Vec<Scope> {
        self.members.scopes()
    }
    fn poll(&mut self) -> BoxFuture<'_, Result<Polled, FeedError>> {
        Box::pin(async move {
            let scopes = self.members.scopes();
            // A member that joined since the last complete set never had its findings.
            if scopes
                .iter()
                .any(|s| !self.complete_for.contains(&s.account_id))
            {
                self.poller.refetch_all();
            }
            let r = self
                .poller
                .poll(&self.clients.guardduty, Utc::now())
                .await?;
            if r.complete {
                self.complete_for = scopes.iter().map(|s| s.account_id.clone()).collect();
            }
            self.polls += 1;
            let mut calls = r.calls;
            let mut by_account: BTreeMap<String, Vec<crate::model::Finding>> = scopes
                .iter()
                .map(|s| (s.account_id.clone(), Vec::new()))
                .collect();
            // Findings of an announced account that is not polled (its role cannot be assumed:
            // an attacker may have broken its trust policy) still go to its scope: the board
            // shows them even without rows. Others (excluded accounts) are left out.
            let announced: HashSet<String> = self
                .announced
                .lock()
                .await
                .iter()
                .map(|a| a.account_id.clone())
                .collect();
            let mut strays = 0usize;
            for f in r.findings {
                let Some(account) = r.owners.get(&f.id) else {
                    strays += 1;
                    continue;
                };
                if !by_account.contains_key(account) && announced.contains(account) {
                    by_account.insert(account.clone(), Vec::new());
                }
                match by_account.get_mut(account) {
                    Some(v) => v.push(f),
                    None => strays += 1,
                }
            }
            if strays > 0 {
                tracing::debug!(
                    region = %self.clients.scope.region,
                    strays,
                    "findings of accounts not announced (excluded) were left out"
                );
            }
            let mut data: Vec<Data> = by_account
                .into_iter()
                .map(|(account, findings)| Data::Findings {
                    scope: Scope::new(account, &self.clients.scope.region),
                    findings,
                    complete: r.complete,
                })
                .collect();
            let coverage = match (r.enabled, self.poller.detector()) {
                (false, _) | (_, None) => Some((
                    scopes
                        .iter()
                        .map(|s| Unmonitored {
                            account_id: s.account_id.clone(),
                            status: "no GuardDuty detector in the administrator account".into(),
                        })
                        .collect(),
                    None,
                )),
                (true, Some(detector)) if (self.polls - 1).is_multiple_of(findings::FULL_EVERY) => {
                    let detector = detector.to_string();
                    // A refused ListMembers costs the coverage, never the findings.
                    match self.coverage(&detector).await {
                        Ok((u, c)) => {
                            calls += c;
                            Some((u, None))
                        }
                        Err(e) => {
                            calls += 1;
                            Some((Vec::new(), Some(e.message)))
                        }
                    }
                }
                _ => None,
            };
            if let Some((unmonitored, error)) = coverage {
                data.push(Data::Coverage {
                    scope: self.clients.scope.clone(),
                    unmonitored,
                    error,
                });
            }
            Ok(Polled {
                at: Utc::now(),
                data,
                calls,
                metrics: 0,
                metrics_per_day: None,
            })
        })
    }
}

/// What the organization's tasks share.
#[derive(Clone)]
pub struct Shared {
    /// The organization table.
    pub org: Arc<OrgConfig>,
    /// Global settings.
    pub settings: Settings,
    /// Where reports go.
    pub tx: mpsc::Sender<Report>,
    /// Connected accounts by id (triage and lookups find them here).
    pub registry: Accounts,
    /// Every account announced so far, `[[account]]` entries included.
    pub announced: Announced,
    /// Members per region, for the organization-wide feeds.
    pub regions: MembersByRegion,
    /// Polls (and connections) in flight at once.
    pub limit: Arc<Semaphore>,
    /// The members' feeds an event can wake.
    pub wakers: crate::feed::driver::Wakers,
    /// Prices, shared by every scope.
    pub book: Arc<super::pricing::PriceBook>,
}

/// Aborts a member's feeds and takes it out of the organization-wide feeds when its task ends
/// (the account left the organization, or was excluded).
struct MemberGuard {
    account_id: String,
    feeds: Vec<AbortHandle>,
    regions: Vec<RegionMembers>,
    wakers: crate::feed::driver::Wakers,
}

impl Drop for MemberGuard {
    fn drop(&mut self) {
        for h in &self.feeds {
            h.abort();
        }
        self.wakers.forget(&self.account_id);
        for r in &self.regions {
            r.remove(&self.account_id);
        }
    }
}

/// The feeds of one member x region in organization mode: EC2, images and ECS always; CPU and
/// findings only when no organization-wide feed serves them. Registers the member's inputs in
/// `members`.
fn member_feeds(
    c: &Clients,
    org: &OrgConfig,
    settings: &Settings,
    members: &RegionMembers,
    book: &Arc<super::pricing::PriceBook>,
) -> Vec<Box<dyn Feed>> {
    let secs = |s: u32| Duration::from_secs(u64::from(s));
    let (ec2, inventory) =
        ec2::Ec2Feed::new(c.clone(), pushed(org, secs(settings.ec2_interval_secs)));
    let (ecs, tasks) = ecs::EcsFeed::new(c.clone(), secs(settings.ec2_interval_secs));
    let mut feeds: Vec<Box<dyn Feed>> = vec![Box::new(ec2)];
    if org.monitoring_account.is_none() {
        feeds.push(Box::new(super::cpu::CpuFeed::new(
            c.clone(),
            secs(settings.cpu_interval_secs),
            inventory.clone(),
            tasks.clone(),
        )));
    }
    feeds.push(Box::new(super::images::ImagesFeed::new(
        c.clone(),
        secs(settings.ec2_interval_secs),
        inventory.clone(),
    )));
    if org.guardduty_admin.is_none() {
        feeds.push(Box::new(findings::FindingsFeed::new(
            c.clone(),
            pushed(org, secs(settings.findings_interval_secs)),
        )));
    }
    feeds.push(Box::new(ecs));
    feeds.extend(super::pricing_feed(c, settings, inventory.clone(), book));
    members.insert(Member {
        clients: c.clone(),
        inventory,
        ecs: tasks,
    });
    feeds
}

/// The interval of a feed the event queue wakes (EC2, findings): with a queue, full polls run
/// [`ec2::EMPTY_FACTOR`] times less often (at most every 15 minutes), events doing the rest.
fn pushed(org: &OrgConfig, interval: Duration) -> Duration {
    if org.events_queue_url.is_some() {
        ec2::empty_interval(interval)
    } else {
        interval
    }
}

/// The organization-wide feeds an aggregating account runs in `region`: findings in the
/// GuardDuty administrator, CPU in the monitoring account.
fn org_feeds(
    c: &Clients,
    org: &OrgConfig,
    settings: &Settings,
    members: &RegionMembers,
    announced: &Announced,
) -> Vec<Box<dyn Feed>> {
    let secs = |s: u32| Duration::from_secs(u64::from(s));
    let id = &c.scope.account_id;
    let mut feeds: Vec<Box<dyn Feed>> = Vec::new();
    if org.guardduty_admin.as_ref() == Some(id) {
        feeds.push(Box::new(OrgFindingsFeed::new(
            c.clone(),
            pushed(org, secs(settings.findings_interval_secs)),
            members.clone(),
            announced.clone(),
        )));
    }
    if org.monitoring_account.as_ref() == Some(id) {
        feeds.push(Box::new(super::cpu::CpuFeed::org(
            c.clone(),
            secs(settings.cpu_interval_secs),
            members.clone(),
        )));
    }
    feeds
}

/// The announced account of a member.
fn member_info(acct: &Connected, org: &OrgConfig) -> AccountInfo {
    super::info(acct, None, org.access.read_only)
}

/// The announced account of a member that did not connect (logged).
fn failed_member(org: &OrgConfig, acct: &OrgAccount, alias: &str, e: &AwsError) -> AccountInfo {
    tracing::warn!(account = %alias, id = %acct.id, "member failed to connect: {}", e.message);
    AccountInfo {
        alias: alias.to_string(),
        account_id: acct.id.clone(),
        verified: false,
        regions: match &org.access.regions {
            crate::config::Regions::List(v) if !v.is_empty() => v.clone(),
            _ => vec!["(regions unknown)".into()],
        },
        home_regions: org.access.home_regions.clone(),
        color: None,
        read_only: org.access.read_only,
    }
}

/// Why a member is not polled, for its tiles.
fn cannot_assume(org: &OrgConfig, acct: &OrgAccount, e: &AwsError) -> String {
    format!(
        "cannot assume {} in {}: {}",
        org.role_name, acct.id, e.message
    )
}

/// Replaces `alias`'s entry in the announced list and sends the list.
async fn announce(sh: &Shared, info: AccountInfo) -> bool {
    let list = {
        let mut a = sh.announced.lock().await;
        a.retain(|x| x.alias != info.alias);
        a.push(info);
        a.clone()
    };
    sh.tx.send(Report::Accounts(list)).await.is_ok()
}

/// Connects one member (retrying with backoff) and runs its feeds until the task is aborted.
async fn member(sh: Shared, access: Connected, acct: OrgAccount, alias: String) {
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let res = {
            let _permit = sh.limit.acquire().await;
            connect_member(&access, &sh.org, &acct.id, &alias).await
        };
        match res {
            Ok(c) => {
                if let Ok(mut m) = sh.registry.lock() {
                    m.insert(c.account_id.clone(), c.clone());
                }
                if !announce(&sh, member_info(&c, &sh.org)).await {
                    return;
                }
                let mut guard = MemberGuard {
                    account_id: c.account_id.clone(),
                    feeds: Vec::new(),
                    regions: Vec::new(),
                    wakers: sh.wakers.clone(),
                };
                for r in &c.regions {
                    let clients = Clients::new(&c, r);
                    let members = sh.regions.get(r);
                    let feeds = member_feeds(&clients, &sh.org, &sh.settings, &members, &sh.book);
                    let wide = org_feeds(&clients, &sh.org, &sh.settings, &members, &sh.announced);
                    guard.regions.push(members);
                    // The organization-wide feeds serve every member: they never queue behind
                    // the members' polls for a permit.
                    for (feeds, limit) in [(feeds, Some(sh.limit.clone())), (wide, None)] {
                        guard.feeds.extend(
                            crate::feed::driver::start_with(
                                feeds,
                                sh.tx.clone(),
                                crate::feed::driver::Drive {
                                    limit,
                                    wakers: Some(sh.wakers.clone()),
                                },
                            )
                            .await,
                        );
                    }
                }
                // Runs until discovery drops the account (the guard then stops its feeds).
                std::future::pending::<()>().await;
                drop(guard);
                return;
            }
            Err(e) => {
                let info = failed_member(&sh.org, &acct, &alias, &e);
                if !announce(&sh, info.clone()).await {
                    return;
                }
                let wait = super::reconnect_delay(attempt, sh.settings.ec2_interval_secs);
                let message = format!(
                    "{} (retry in {}s)",
                    cannot_assume(&sh.org, &acct, &e),
                    wait.as_secs()
                );
                for u in super::account_failed(&info, &message) {
                    if sh.tx.send(u).await.is_err() {
                        return;
                    }
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// What one poll of the whole organization brought (for `snapshot`).
pub struct Once {
    /// Members announced (connected or not).
    pub accounts: Vec<AccountInfo>,
    /// Discovery, failures, and every feed's reports.
    pub reports: Vec<Report>,
    /// What each poll took, discovery included.
    pub timings: Vec<crate::feed::driver::Timing>,
}

/// Polls every member once: discovery, each member connected (at most `max_concurrent_polls`
/// at once), their feeds, then the organization-wide feeds (which read the members'
/// inventories). Accounts in `explicit` (the `[[account]]` entries that connected) are left out.
pub async fn poll_once(
    config: &Config,
    org: &OrgConfig,
    prompt: Arc<dyn MfaPrompt>,
    registry: &Accounts,
    explicit: &[AccountInfo],
    book: &Arc<super::pricing::PriceBook>,
) -> Once {
    let mut once = Once {
        accounts: Vec::new(),
        reports: Vec::new(),
        timings: Vec::new(),
    };
    let access = match creds::connect(&org.access, &config.settings, prompt).await {
        Ok(a) => a,
        Err(e) => {
            once.reports.push(Report::Organization(OrgStatus {
                error: Some(format!("cannot connect to Organizations: {}", e.message)),
                ..aggregators(org)
            }));
            return once;
        }
    };
    let client = crate::aws::org::client(&access);
    let started = std::time::Instant::now();
    let found = discover(&client, org).await;
    let home = Scope::new(&access.account_id, "organizations");
    let (accounts, mut status) = match found {
        Ok(x) => x,
        Err(e) => {
            once.timings.push(crate::feed::driver::Timing {
                feed: "discovery",
                scope: home,
                calls: 1,
                secs: started.elapsed().as_secs_f64(),
                ok: false,
                serves: 0,
            });
            once.reports.push(Report::Organization(OrgStatus {
                error: Some(format!("discovery failed: {}", e.message)),
                ..aggregators(org)
            }));
            return once;
        }
    };
    once.timings.push(crate::feed::driver::Timing {
        feed: "discovery",
        scope: home,
        calls: status.calls,
        secs: started.elapsed().as_secs_f64(),
        ok: true,
        serves: accounts.len(),
    });
    let wanted = unclaimed(accounts, config, explicit.iter(), &mut status);
    let mut taken: Vec<String> = explicit
        .iter()
        .map(|a| a.alias.clone())
        .chain(config.accounts.iter().map(|a| a.alias.clone()))
        .collect();
    let named: Vec<(OrgAccount, String)> = wanted
        .into_iter()
        .map(|a| {
            let alias = alias_for(&a.name, &a.id, |x| {
                taken.iter().any(|t| t.eq_ignore_ascii_case(x))
            });
            taken.push(alias.clone());
            (a, alias)
        })
        .collect();
    let limit = Semaphore::new(org.max_concurrent_polls as usize);
    let connected = futures::future::join_all(named.iter().map(|(a, alias)| {
        let (limit, access) = (&limit, &access);
        async move {
            let _permit = limit.acquire().await;
            connect_member(access, org, &a.id, alias).await
        }
    }))
    .await;
    let regions = MembersByRegion::default();
    let announced: Announced = Arc::default();
    let mut member: Vec<Box<dyn Feed>> = Vec::new();
    let mut wide: Vec<Box<dyn Feed>> = Vec::new();
    for ((acct, alias), res) in named.iter().zip(connected) {
        match res {
            Ok(c) => {
                once.accounts.push(member_info(&c, org));
                for r in &c.regions {
                    let clients = Clients::new(&c, r);
                    let members = regions.get(r);
                    member.extend(member_feeds(
                        &clients,
                        org,
                        &config.settings,
                        &members,
                        book,
                    ));
                    wide.extend(org_feeds(
                        &clients,
                        org,
                        &config.settings,
                        &members,
                        &announced,
                    ));
                }
                if let Ok(mut m) = registry.lock() {
                    m.insert(c.account_id.clone(), c);
                }
            }
            Err(e) => {
                let info = failed_member(org, acct, alias, &e);
                once.reports
                    .extend(super::account_failed(&info, &cannot_assume(org, acct, &e)));
                once.accounts.push(info);
            }
        }
    }
    once.reports.push(Report::Organization(status));
    announced
        .lock()
        .await
        .extend(explicit.iter().chain(&once.accounts).cloned());
    for feeds in [member, wide] {
        let (reports, timings) = crate::feed::driver::poll_once_timed(feeds).await;
        once.reports.extend(reports);
        once.timings.extend(timings);
    }
    once
}

/// The discovered accounts no `[[account]]` entry polls already (by the id its role names, or
/// the id it connected as: `entries` are the announced `[[account]]` entries); counts the
/// others in `status.configured`.
fn unclaimed<'a>(
    accounts: Vec<OrgAccount>,
    config: &Config,
    entries: impl Iterator<Item = &'a AccountInfo>,
    status: &mut OrgStatus,
) -> Vec<OrgAccount> {
    let claimed: HashSet<String> = entries
        .filter(|a| a.verified)
        .map(|a| a.account_id.clone())
        .chain(
            config
                .accounts
                .iter()
                .filter_map(|a| a.expected_account_id().map(str::to_string)),
        )
        .collect();
    let before = accounts.len();
    let wanted: Vec<OrgAccount> = accounts
        .into_iter()
        .filter(|a| !claimed.contains(&a.id))
        .collect();
    status.configured = before - wanted.len();
    wanted
}

/// A status naming the organization's aggregating accounts, nothing discovered yet.
fn aggregators(org: &OrgConfig) -> OrgStatus {
    OrgStatus {
        guardduty_admin: org.guardduty_admin.clone(),
        monitoring_account: org.monitoring_account.clone(),
        ..OrgStatus::default()
    }
}

/// One discovery: the ACTIVE accounts minus the excluded ones (ids and every account under an
/// excluded OU), and the counts for the status line.
pub async fn discover(
    client: &aws_sdk_organizations::Client,
    org: &OrgConfig,
) -> Result<(Vec<OrgAccount>, OrgStatus), AwsError> {
    let (all, mut calls) = list_accounts(client).await?;
    let mut excluded: HashSet<String> = org
        .exclude
        .iter()
        .filter(|x| !x.starts_with("ou-"))
        .cloned()
        .collect();
    for ou in org.exclude.iter().filter(|x| x.starts_with("ou-")) {
        let (ids, c) = accounts_under(client, ou).await?;
        calls += c;
        excluded.extend(ids);
    }
    let active = all.len();
    let kept: Vec<OrgAccount> = all
        .into_iter()
        .filter(|a| !excluded.contains(&a.id))
        .collect();
    let status = OrgStatus {
        active,
        excluded: active - kept.len(),
        discovered_at: Some(Utc::now()),
        calls,
        ..aggregators(org)
    };
    Ok((kept, status))
}

/// How long discovery waits for the `[[account]]` entries' first connection attempts.
const FIRST_ATTEMPTS_WAIT: Duration = Duration::from_secs(60);

/// Runs organization mode until the receiver closes: connects the caller, then discovers every
/// `discover_interval_secs`, starting a task for each new member and stopping the task of each
/// member gone. Waits for `explicit` (the `[[account]]` entries' first connection attempts)
/// first, so an account configured by hand keeps its own settings (colour, read-only).
pub async fn run(
    config: Config,
    prompt: Arc<dyn MfaPrompt>,
    sh: Shared,
    explicit: Vec<tokio::sync::oneshot::Receiver<()>>,
) {
    // Not forever: an MFA prompt nobody answers must not keep the organization unpolled.
    let _ = tokio::time::timeout(FIRST_ATTEMPTS_WAIT, futures::future::join_all(explicit)).await;
    let org = sh.org.clone();
    let mut attempt = 0u32;
    let access = loop {
        attempt += 1;
        match creds::connect(&org.access, &sh.settings, prompt.clone()).await {
            Ok(a) => break a,
            Err(e) => {
                let wait = super::reconnect_delay(attempt, sh.settings.ec2_interval_secs);
                let status = OrgStatus {
                    error: Some(format!(
                        "cannot connect to Organizations: {} (retry in {}s)",
                        e.message,
                        wait.as_secs()
                    )),
                    ..aggregators(&org)
                };
                if sh.tx.send(Report::Organization(status)).await.is_err() {
                    return;
                }
                tokio::time::sleep(wait).await;
            }
        }
    };
    let client = crate::aws::org::client(&access);
    if let Some(url) = &org.events_queue_url {
        tokio::spawn(super::events::run(
            super::events::client(&access.sdk, url),
            url.clone(),
            org.guardduty_admin.clone(),
            sh.wakers.clone(),
            sh.tx.clone(),
        ));
    }
    // Running members: id -> (alias, task).
    let mut running: HashMap<String, (String, AbortHandle)> = HashMap::new();
    // Members gone at the last discovery (id, alias): shown as gone until this one.
    let mut leaving: Vec<(String, String)> = Vec::new();
    let mut last = aggregators(&org);
    loop {
        let status = match discover(&client, &org).await {
            Ok((accounts, mut status)) => {
                status.calls += last.calls;
                let wanted = {
                    let a = sh.announced.lock().await;
                    let members: HashSet<&str> =
                        running.values().map(|(alias, _)| alias.as_str()).collect();
                    let entries = a.iter().filter(|x| !members.contains(x.alias.as_str()));
                    unclaimed(accounts, &config, entries, &mut status)
                };
                let keep: HashSet<&str> = wanted.iter().map(|a| a.id.as_str()).collect();
                let gone: Vec<String> = running
                    .keys()
                    .filter(|id| !keep.contains(id.as_str()))
                    .cloned()
                    .collect();
                // An account that left is shown as such until the next discovery, then goes:
                // a member that takes itself out of the organization must not just vanish.
                let mut changed = !leaving.is_empty();
                let gone_before: Vec<String> = std::mem::take(&mut leaving)
                    .into_iter()
                    .map(|(_, alias)| alias)
                    .collect();
                let mut now_leaving: Vec<AccountInfo> = Vec::new();
                for id in &gone {
                    let Some((alias, task)) = running.remove(id) else {
                        continue;
                    };
                    task.abort();
                    // Only the member's own connection: an [[account]] entry that took the
                    // account over keeps its own.
                    if let Ok(mut m) = sh.registry.lock()
                        && m.get(id).is_some_and(|c| c.alias == alias)
                    {
                        m.remove(id);
                    }
                    leaving.push((id.clone(), alias));
                    changed = true;
                }
                if changed {
                    let list = {
                        let mut a = sh.announced.lock().await;
                        a.retain(|x| !gone_before.contains(&x.alias));
                        for x in a.iter_mut() {
                            if leaving.iter().any(|(_, alias)| *alias == x.alias) {
                                // Not connected any more: triage refuses it.
                                x.verified = false;
                                now_leaving.push(x.clone());
                            }
                        }
                        a.clone()
                    };
                    if sh.tx.send(Report::Accounts(list)).await.is_err() {
                        return;
                    }
                    let at = Utc::now().format("%H:%MZ");
                    for info in &now_leaving {
                        let why = format!(
                            "left the organization (no longer ACTIVE, or excluded) at {at}: \
                             not polled any more; leaves the console at the next discovery"
                        );
                        for r in super::account_failed(info, &why) {
                            if sh.tx.send(r).await.is_err() {
                                return;
                            }
                        }
                    }
                }
                for acct in wanted {
                    if running.contains_key(&acct.id) {
                        continue;
                    }
                    let alias = {
                        let a = sh.announced.lock().await;
                        let taken = |x: &str| {
                            a.iter().any(|i| i.alias.eq_ignore_ascii_case(x))
                                || config
                                    .accounts
                                    .iter()
                                    .any(|c| c.alias.eq_ignore_ascii_case(x))
                                || running.values().any(|(r, _)| r.eq_ignore_ascii_case(x))
                        };
                        alias_for(&acct.name, &acct.id, taken)
                    };
                    let task = tokio::spawn(member(
                        sh.clone(),
                        access.clone(),
                        acct.clone(),
                        alias.clone(),
                    ));
                    running.insert(acct.id, (alias, task.abort_handle()));
                }
                status
            }
            Err(e) => OrgStatus {
                error: Some(format!(
                    "discovery failed: {} (the accounts found before are kept; retry in {}s)",
                    e.message, org.discover_interval_secs
                )),
                calls: last.calls + 1,
                ..last.clone()
            },
        };
        last = status.clone();
        if sh.tx.send(Report::Organization(status)).await.is_err() {
            for (_, task) in running.values() {
                task.abort();
            }
            return;
        }
        tokio::time::sleep(Duration::from_secs(u64::from(org.discover_interval_secs))).await;
    }
}
