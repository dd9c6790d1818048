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
    /// Launched so recently that CloudTrail may not show the event yet (it takes up to about
    /// 15 minutes): may be looked up again.
    NotRecordedYet,
    /// The lookup failed (denied, throttled, unreachable).
    Failed(String),
}

impl LaunchedBy {
    /// True when looking again may find more (a failed lookup, or an event not recorded yet).
    pub fn retry(&self) -> bool {
        matches!(self, LaunchedBy::Failed(_) | LaunchedBy::NotRecordedYet)
    }

    /// `found`, `beyond-history`, `not-found`, `not-recorded-yet` or `failed: why` (snapshot).
    pub fn status(&self) -> String {
        match self {
            LaunchedBy::Found(_) => "found".into(),
            LaunchedBy::BeyondHistory => "beyond-history".into(),
            LaunchedBy::NotFound => "not-found".into(),
            LaunchedBy::NotRecordedYet => "not-recorded-yet".into(),
            LaunchedBy::Failed(m) => format!("failed: {m}"),
        }
    }

    /// One line for the detail view (the caller escapes it).
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
            LaunchedBy::NotRecordedYet => {
                "no event yet: CloudTrail can take 15 minutes to show a launch (press again later)"
                    .into()
            }
            LaunchedBy::Failed(m) => format!("lookup failed: {m}"),
        }
    }
}

/// CloudTrail shows a management event within about this long of the call.
pub const RECORDING_DELAY_MINUTES: i64 = 20;

/// True when a launch at `launched` is older than CloudTrail's event history at `now`.
pub fn beyond_history(launched: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - launched > TimeDelta::days(HISTORY_DAYS)
}
