//! Alerts: a new critical finding, a newly saturated instance or task, a new GPU or foreign-AMI
//! launch. Detected in `update` from the fleet as it changes; each scope's first data of a kind
//! only primes what is known (starting the console mid-incident rings no bell for what was
//! already there).

use std::collections::{HashMap, HashSet, VecDeque};

use rustc_hash::FxHashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::flags::Flag;

/// Most alerts kept for the wall.
const RECENT: usize = 50;

/// Accounts first judged within this many minutes of the first burn judgement only record a
/// spike that is already there; later ones (new members) alert for it.
const STARTUP_MINUTES: i64 = 10;

/// How long a row must stay below saturation before saturating again alerts again (a flapping
/// miner rings once, not every cycle).
const CALM_MINUTES: i64 = 10;

/// What raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    /// A finding of critical severity (9.0 and up) appeared.
    CriticalFinding,
    /// An instance or task became saturated.
    Saturated,
    /// An instance launched in the last 24 h of a GPU type or from a foreign AMI appeared.
    SuspiciousLaunch,
    /// A row newly matches a configured rule with `alert = true`.
    Rule,
    /// An account's burn more than doubled (`burn_spike_ratio`) against 24 h ago.
    BurnSpike,
}

/// One alert, as the wall shows it and the alert command receives it (JSON on stdin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// When it was raised.
    pub time: DateTime<Utc>,
    /// What raised it.
    pub kind: AlertKind,
    /// Account alias.
    pub account_alias: String,
    /// Account id.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// Instance id or task ARN.
    pub id: String,
    /// The finding id, for a finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    /// One line for people.
    pub text: String,
}

/// What has been seen, and the recent alerts.
#[derive(Debug, Clone, Default)]
pub struct Alerts {
    /// Keys already known: `f|scope|finding`, `s|scope|row`, `l|scope|row`, `b|account`.
    seen: HashSet<String>,
    /// (scope, kind) whose first data has been seen: `f` findings, `s` instance and `t` task
    /// saturation, `l` launches, `r` rule matches (every feed of the scope answered), `p` prices.
    primed: HashSet<(usize, char)>,
    /// Saturation and burn keys no longer true, since when.
    calm_since: HashMap<String, DateTime<Utc>>,
    /// Accounts whose burn has been judged once (a spike then was only recorded).
    burn_primed: HashSet<String>,
    /// When the first burn was looked at (the start of [`STARTUP_MINUTES`]).
    burn_started: Option<DateTime<Utc>>,
    /// Rule matches known (alerting rules only), and since when each is gone (None: matching).
    rules_seen: HashMap<RuleKey, Option<DateTime<Utc>>>,
    /// Newest first.
    pub recent: VecDeque<Alert>,
}

/// A rule match: scope, a hash of the row id, rule index.
type RuleKey = (usize, u64, usize);

/// A 64-bit hash of a row id (instance ids and task ARNs are AWS's to choose).
fn id_hash(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    id.hash(&mut h);
    h.finish()
}

impl AlertKind {
    /// How much it matters (the most severe is what a title or a rate-limited command shows).
    pub fn rank(self) -> u8 {
        match self {
            AlertKind::CriticalFinding => 3,
            AlertKind::Rule | AlertKind::BurnSpike => 2,
            AlertKind::SuspiciousLaunch => 1,
            AlertKind::Saturated => 0,
        }
    }
}

impl Alerts {
    /// Compares the fleet with what was seen and returns the new alerts (also kept in `recent`).
    pub fn detect(&mut self, fleet: &super::Fleet, now: DateTime<Utc>) -> Vec<Alert> {
        let mut out = Vec::new();
        for (s, sd) in fleet
            .scopes
            .iter()
            .enumerate()
            .filter(|(_, sd)| !sd.retired)
        {
            let ready = |feed: &str| sd.feed(feed).is_some_and(|f| f.last_ok.is_some());
            // Findings.
            if ready("findings") {
                let first = self.primed.insert((s, 'f'));
                for f in sd.findings.values().filter(|f| f.severity >= 9.0) {
                    if self.seen.insert(format!("f|{s}|{}", f.id)) && !first {
                        out.push(Alert {
                            time: now,
                            kind: AlertKind::CriticalFinding,
                            account_alias: sd.alias.clone(),
                            account_id: sd.scope.account_id.clone(),
                            region: sd.scope.region.clone(),
                            id: f
                                .instance_id
                                .clone()
                                .or_else(|| f.task_arn.clone())
                                .unwrap_or_default(),
                            finding_id: Some(f.id.clone()),
                            text: format!("critical finding {} ({:.1})", f.kind, f.severity),
                        });
                    }
                }
            }
        }
        // Rows: saturation (again after it ended) and suspicious launches.
        let mut saturated_now: HashSet<String> = HashSet::new();
        for r in &fleet.rows {
            let sd = &fleet.scopes[r.scope];
            let s = r.scope;
            let alert = |kind, text: String| Alert {
                time: now,
                kind,
                account_alias: sd.alias.clone(),
                account_id: sd.scope.account_id.clone(),
                region: sd.scope.region.clone(),
                id: r.id().to_string(),
                finding_id: None,
                text,
            };
            // Saturation is primed per kind of row: a scope's tasks may arrive after its CPU.
            let kind = if r.task().is_some() { 't' } else { 's' };
            if r.saturated && sd.feed("cpu").is_some_and(|f| f.last_ok.is_some()) {
                let key = format!("s|{s}|{}", r.id());
                let first = !self.primed.contains(&(s, kind));
                if self.seen.insert(key.clone()) && !first {
                    out.push(alert(
                        AlertKind::Saturated,
                        format!(
                            "{} saturated ({})",
                            r.subject.display_id(),
                            r.cpu_now
                                .map_or("CPU held at baseline".into(), |c| format!("{c:.0}% CPU"))
                        ),
                    ));
                }
                saturated_now.insert(key);
            }
            if r.flags.has(Flag::NewLaunch)
                && (r.flags.has(Flag::Gpu) || r.flags.has(Flag::ForeignAmi))
            {
                let first = !self.primed.contains(&(s, 'l'));
                if self.seen.insert(format!("l|{s}|{}", r.id())) && !first {
                    let why = if r.flags.has(Flag::Gpu) {
                        "GPU"
                    } else {
                        "foreign-AMI"
                    };
                    out.push(alert(
                        AlertKind::SuspiciousLaunch,
                        format!(
                            "new {why} launch {} ({})",
                            r.subject.display_id(),
                            r.subject.type_label()
                        ),
                    ));
                }
            }
        }
        // Rules with `alert = true`: a row that newly matches, once every feed of its scope has
        // answered (a match that was there at start rings no bell). Kept by (scope, a hash of
        // the row id, rule): no string per match per burst at 100,000 rows.
        let mut matching: FxHashSet<RuleKey> = FxHashSet::default();
        for r in &fleet.rows {
            if r.rules.is_empty() {
                continue;
            }
            for (i, rule) in r.rules.of_indexed(&fleet.rules).filter(|(_, x)| x.alert) {
                let s = r.scope;
                let key = (s, id_hash(r.id()), i);
                matching.insert(key);
                let new = match self.rules_seen.get_mut(&key) {
                    Some(since) => {
                        *since = None;
                        false
                    }
                    None => {
                        self.rules_seen.insert(key, None);
                        true
                    }
                };
                if new && self.primed.contains(&(s, 'r')) {
                    let sd = &fleet.scopes[s];
                    out.push(Alert {
                        time: now,
                        kind: AlertKind::Rule,
                        account_alias: sd.alias.clone(),
                        account_id: sd.scope.account_id.clone(),
                        region: sd.scope.region.clone(),
                        id: r.id().to_string(),
                        finding_id: None,
                        text: format!(
                            "rule {} ({}) matches {}",
                            rule.name,
                            rule.severity.name(),
                            r.subject.display_id()
                        ),
                    });
                }
            }
        }
        // A match gone for a while may alert again when it comes back.
        self.rules_seen.retain(|k, since| {
            if matching.contains(k) {
                return true;
            }
            let t = *since.get_or_insert(now);
            now - t < chrono::TimeDelta::minutes(CALM_MINUTES)
        });
        // Burn spikes, per account, once every scope of the account has been priced (or its
        // inventory failed) and Cost Explorer, when it runs, has answered: the spikes there
        // at that moment are only recorded.
        let ratio = fleet.spike_ratio.0;
        let mut priced: HashMap<&str, bool> = HashMap::new();
        for (s, sd) in fleet
            .scopes
            .iter()
            .enumerate()
            .filter(|(_, sd)| !sd.retired)
        {
            *priced.entry(sd.scope.account_id.as_str()).or_insert(true) &=
                self.primed.contains(&(s, 'p'));
        }
        // Accounts judged in the first minutes are the ones the console started with (their
        // spikes were there already); one that appears later (an organization's new member)
        // alerts for a spike at once.
        let started = *self.burn_started.get_or_insert(now);
        for (account_id, &burn) in fleet.account_burns() {
            let key = format!("b|{account_id}");
            if priced.get(account_id.as_str()) != Some(&true) {
                // Not judged now: a spike recorded before keeps its state.
                if self.seen.contains(&key) {
                    saturated_now.insert(key);
                }
                continue;
            }
            let first = self.burn_primed.insert(account_id.clone())
                && now - started < chrono::TimeDelta::minutes(STARTUP_MINUTES);
            if !burn.is_spike(ratio) {
                continue;
            }
            if self.seen.insert(key.clone()) && !first {
                let alias = fleet
                    .account(account_id)
                    .map_or(account_id.clone(), |a| a.alias.clone());
                out.push(Alert {
                    time: now,
                    kind: AlertKind::BurnSpike,
                    account_alias: alias,
                    account_id: account_id.clone(),
                    region: String::new(),
                    id: String::new(),
                    finding_id: None,
                    text: format!("burn spike: {}", burn.label()),
                });
            }
            saturated_now.insert(key);
        }
        // A row calm for a while may alert again when it saturates again.
        for k in &saturated_now {
            self.calm_since.remove(k);
        }
        let calm_since = &mut self.calm_since;
        self.seen.retain(|k| {
            let calms = k.starts_with("s|") || k.starts_with("b|");
            if !calms || saturated_now.contains(k) {
                return true;
            }
            let since = *calm_since.entry(k.clone()).or_insert(now);
            let keep = now - since < chrono::TimeDelta::minutes(CALM_MINUTES);
            if !keep {
                calm_since.remove(k);
            }
            keep
        });
        for (s, sd) in fleet.scopes.iter().enumerate() {
            let cpu = sd.feed("cpu").is_some_and(|f| f.last_ok.is_some());
            if cpu && sd.inventory_at.is_some() {
                self.primed.insert((s, 's'));
            }
            if cpu && sd.feed("ecs").is_some_and(|f| f.last_ok.is_some()) {
                self.primed.insert((s, 't'));
            }
            // The foreign-AMI flag comes with the images feed: launches are primed once both
            // the inventory and (where the scope has one) the images feed have answered.
            let images = sd.feed("images").is_none_or(|f| f.last_ok.is_some());
            if sd.inventory_at.is_some() && images {
                self.primed.insert((s, 'l'));
            }
            // Rules may name any feed's data: primed once every feed has answered or failed.
            let answered = |f: &super::fleet::FeedStatus| {
                f.last_ok.is_some() || matches!(f.state, super::fleet::FeedState::Error(_))
            };
            if sd.inventory_at.is_some() && sd.feeds.iter().all(answered) {
                self.primed.insert((s, 'r'));
            }
            // Prices (and Cost Explorer's figures) are in, or the region has no inventory to
            // price: its EC2 feed failed.
            let ec2_failed = sd
                .feed("ec2")
                .is_some_and(|f| matches!(f.state, super::fleet::FeedState::Error(_)));
            let priced =
                sd.inventory_at.is_some() && sd.feed(crate::feed::PRICING).is_none_or(answered);
            if (priced || ec2_failed) && sd.feed(crate::feed::COSTS).is_none_or(answered) {
                self.primed.insert((s, 'p'));
            }
        }
        // The most severe last: the terminal title keeps the last one set.
        out.sort_by_key(|a| a.kind.rank());
        for a in &out {
            self.recent.push_front(a.clone());
        }
        self.recent.truncate(RECENT);
        out
    }
}
