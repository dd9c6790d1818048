//! Who launched an instance: CloudTrail LookupEvents (ResourceName = the instance id), the
//! RunInstances event's caller. Looked up on demand, paced to CloudTrail's 2 lookups a second per
//! account and region.

use std::time::Duration;

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::aws::error::describe;
use crate::model::launch::{LaunchedBy, Launcher, RECORDING_DELAY_MINUTES, beyond_history};

/// The lookup's name in every layer.
pub const NAME: &str = "launched-by";
/// Time between two LookupEvents calls to one account x region (CloudTrail allows 2 a second).
pub const SPACING: Duration = Duration::from_millis(500);
/// Pages of events read per lookup before giving up (50 events a page).
const MAX_PAGES: u32 = 4;
/// The RunInstances event is looked for this long either side of the launch time.
const WINDOW: TimeDelta = TimeDelta::minutes(15);

/// Paces LookupEvents calls to one account x region.
#[derive(Debug)]
pub struct Pace {
    next: Mutex<Instant>,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            next: Mutex::new(Instant::now()),
        }
    }
}

impl Pace {
    /// Waits for the next free slot and takes it.
    pub async fn wait(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        }
        *next = (*next).max(now) + SPACING;
    }
}

/// Looks up who launched `instance_id` (launched at `launched`, when known). Returns what was
/// found and the calls made.
pub async fn lookup(
    client: &aws_sdk_cloudtrail::Client,
    pace: &Pace,
    instance_id: &str,
    launched: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (LaunchedBy, u64) {
    if launched.is_some_and(|t| beyond_history(t, now)) {
        return (LaunchedBy::BeyondHistory, 0);
    }
    let mut token: Option<String> = None;
    let mut calls = 0;
    for _ in 0..MAX_PAGES {
        pace.wait().await;
        calls += 1;
        let mut req = client
            .lookup_events()
            .lookup_attributes(
                LookupAttribute::builder()
                    .attribute_key(LookupAttributeKey::ResourceName)
                    .attribute_value(instance_id)
                    .build()
                    .expect("key and value are set"),
            )
            .max_results(50)
            .set_next_token(token.take());
        if let Some(t) = launched {
            // The event is written when the call is made, a moment before the launch time. A
            // window around the launch keeps later calls on the instance (an attacker can make
            // hundreds) from pushing it off the pages read.
            let from = t - WINDOW;
            let to = t + WINDOW;
            req = req
                .start_time(aws_smithy_types::DateTime::from_secs(from.timestamp()))
                .end_time(aws_smithy_types::DateTime::from_secs(to.timestamp()));
        }
        let out = match req.send().await {
            Ok(o) => o,
            Err(e) => {
                return (
                    LaunchedBy::Failed(describe("LookupEvents", &e).message),
                    calls,
                );
            }
        };
        if let Some(l) = out
            .events()
            .iter()
            .filter(|e| e.event_name() == Some("RunInstances"))
            .find_map(|e| launcher(e.cloud_trail_event()?, e.event_time()))
        {
            return (LaunchedBy::Found(l), calls);
        }
        match out.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    let recent = launched.is_some_and(|t| now - t < TimeDelta::minutes(RECORDING_DELAY_MINUTES));
    let none = if recent {
        LaunchedBy::NotRecordedYet
    } else {
        LaunchedBy::NotFound
    };
    (none, calls)
}

/// The caller of a RunInstances event, from its CloudTrail record (a JSON string). Missing
/// fields are empty, never guessed.
pub fn launcher(record: &str, event_time: Option<&aws_smithy_types::DateTime>) -> Option<Launcher> {
    let v: Value = serde_json::from_str(record).ok()?;
    let text = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let at = v
        .pointer("/eventTime")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
        .or_else(|| event_time.and_then(crate::aws::convert::to_chrono))?;
    Some(Launcher {
        principal: text("/userIdentity/arn"),
        access_key_id: text("/userIdentity/accessKeyId"),
        source_ip: text("/sourceIPAddress"),
        user_agent: text("/userAgent"),
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_comes_from_the_record() {
        let rec = r#"{"userIdentity":{"arn":"arn:aws:iam::1:user/ci","accessKeyId":"AKIA1"},
            "sourceIPAddress":"203.0.113.9","userAgent":"python-requests/2.31","eventTime":"2026-11-30T01:02:03Z"}"#;
        let l = launcher(rec, None).unwrap();
        assert_eq!(l.principal, "arn:aws:iam::1:user/ci");
        assert_eq!(l.access_key_id, "AKIA1");
        assert_eq!(l.source_ip, "203.0.113.9");
        assert_eq!(l.user_agent, "python-requests/2.31");
        assert_eq!(l.at.to_rfc3339(), "2026-11-30T01:02:03+00:00");
        assert_eq!(launcher("not json", None), None);
        assert_eq!(launcher("{}", None), None, "no time: not a usable event");
    }

    #[tokio::test(start_paused = true)]
    async fn two_lookups_a_second_at_most() {
        let pace = Pace::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            pace.wait().await;
        }
        assert_eq!(t0.elapsed(), SPACING * 4);
    }
}
