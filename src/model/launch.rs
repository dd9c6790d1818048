//! Who launched an instance, from CloudTrail's RunInstances event. Everything here was written
//! by whoever made the call (the user agent above all): shown escaped, never trusted.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

/// How far back CloudTrail's event history (LookupEvents) reaches.
pub const HISTORY_DAYS: i64 = 90;

/// The caller of RunInstances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Launcher {
    /// userIdentity.arn.
    pub principal: String,
    /// userIdentity.accessKeyId.
    pub access_key_id: String,
    /// sourceIPAddress (an IP, or an AWS service name).
    pub source_ip: String,
    /// userAgent.
    pub user_agent: String,
    /// eventTime.
    pub at: DateTime<Utc>,
}

/// What the lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchedBy {
    /// The RunInstances event.
    Found(Launcher),
    /// Launched before CloudTrail's 90 days of event history: not looked up.
    BeyondHistory,
    /// No RunInstances event names the instance (another region's trail, or not recorded).
    NotFound,
    /// The lookup failed (denied, throttled, unreachable).
    Failed(String),
}

impl LaunchedBy {
    /// One line for the detail view and `--launched-by` progress (the caller escapes it).
    pub fn describe(&self) -> String {
        match self {
            LaunchedBy::Found(l) => format!(
                "{} from {} at {} (key {}, user agent {})",
                l.principal,
                l.source_ip,
                l.at.format("%Y-%m-%d %H:%M:%SZ"),
                l.access_key_id,
                l.user_agent
            ),
            LaunchedBy::BeyondHistory => format!(
                "launched more than {HISTORY_DAYS} days ago: beyond CloudTrail's event history"
            ),
            LaunchedBy::NotFound => "no RunInstances event names this instance".into(),
            LaunchedBy::Failed(m) => format!("lookup failed: {m}"),
        }
    }
}

/// True when a launch at `launched` is older than CloudTrail's event history at `now`.
pub fn beyond_history(launched: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - launched > TimeDelta::days(HISTORY_DAYS)
}
