//! Push instead of poll: an SQS queue fed by an organization-wide EventBridge rule (EC2 instance
//! state changes, GuardDuty findings, CloudTrail RunInstances), long-polled 20 s at a time. An
//! event only says *where* to look: it wakes the feed of the scope it names, which reads the
//! truth from the API as always (an event's content is never shown nor trusted).

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use chrono::Utc;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::aws::error::describe;
use crate::feed::driver::Wakers;
use crate::feed::{EventsStatus, FeedError, Report, backoff};
use crate::model::Scope;

/// The feed an event wakes, in which scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wake {
    /// Account x region the event names.
    pub scope: Scope,
    /// The feed to poll there.
    pub feed: &'static str,
}

/// The parts of an EventBridge event watchfloor reads (everything else is ignored).
#[derive(Deserialize)]
struct Event {
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    source: Option<String>,
    account: Option<String>,
    region: Option<String>,
    #[serde(default)]
    detail: serde_json::Value,
}

/// What an SQS message body asks for: the EC2 feed of the scope of an instance state change or
/// a RunInstances call, the findings feed for a GuardDuty finding (the delegated
/// administrator's, when `admin` is set). None for anything else, or a body that is not an
/// event.
///
/// Only AWS's own events count: their `source` is `aws.ec2` or `aws.guardduty`, which nobody can
/// put on a bus with PutEvents; anyone in the organization can put custom events there. The
/// scope is the envelope's `account` and `region` (what EventBridge stamped; for a GuardDuty
/// finding seen by the administrator, the finding's account), never a field of the detail alone.
pub fn wake_for(body: &str, admin: Option<&str>) -> Option<Wake> {
    let e: Event = serde_json::from_str(body).ok()?;
    let detail = |k: &str| e.detail.get(k).and_then(|v| v.as_str());
    let valid = |a: &str| crate::config::is_account_id(a);
    let source = e.source.as_deref()?;
    let (account, region, feed) = match e.detail_type.as_deref()? {
        "EC2 Instance State-change Notification" if source == "aws.ec2" => {
            (e.account.clone()?, e.region.clone()?, super::ec2::NAME)
        }
        "AWS API Call via CloudTrail"
            if source == "aws.ec2" && detail("eventName") == Some("RunInstances") =>
        {
            (e.account.clone()?, e.region.clone()?, super::ec2::NAME)
        }
        "GuardDuty Finding" if source == "aws.guardduty" => {
            let member = detail("accountId")
                .map(str::to_string)
                .or(e.account.clone())?;
            let region = e.region.clone()?;
            (
                admin.map_or(member, str::to_string),
                region,
                super::findings::NAME,
            )
        }
        _ => return None,
    };
    (valid(&account) && crate::config::is_valid_region(&region)).then(|| Wake {
        scope: Scope::new(account, region),
        feed,
    })
}

/// The region of a queue URL (`https://sqs.REGION.amazonaws.com/...`), if it names one.
pub fn queue_region(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split('/').next()?;
    host.split('.')
        .find(|p| crate::config::is_valid_region(p))
        .map(str::to_string)
}

/// The SQS client of `sdk` for a queue, with a timeout longer than the 20-second long poll.
pub fn client(sdk: &aws_config::SdkConfig, url: &str) -> aws_sdk_sqs::Client {
    let mut b = aws_sdk_sqs::config::Builder::from(sdk)
        .interceptor(crate::diag::CallLog)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(LONG_POLL_SECS as u64 + 15))
                .build(),
        );
    if let Some(r) = queue_region(url) {
        b = b.region(aws_config::Region::new(r));
    }
    aws_sdk_sqs::Client::from_conf(b.build())
}

/// Seconds one ReceiveMessage waits for messages (SQS's longest).
pub const LONG_POLL_SECS: i32 = 20;

/// Long-polls the queue until the receiver closes: each message wakes the feed it names and is
/// deleted (a message that names nothing is deleted too: it would come back forever). Sends
/// [`Report::Events`] when something changed.
pub async fn run(
    client: aws_sdk_sqs::Client,
    url: String,
    admin: Option<String>,
    wakers: Wakers,
    tx: mpsc::Sender<Report>,
) {
    let mut st = EventsStatus::default();
    let mut failures = 0u32;
    loop {
        let got = client
            .receive_message()
            .queue_url(&url)
            .wait_time_seconds(LONG_POLL_SECS)
            .max_number_of_messages(10)
            .send()
            .await;
        let before = st.clone();
        match got {
            Ok(out) => {
                failures = 0;
                st.error = None;
                let mut done = Vec::new();
                for (i, m) in out.messages().iter().enumerate() {
                    st.received += 1;
                    match m.body().and_then(|b| wake_for(b, admin.as_deref())) {
                        Some(w) if wakers.wake(&w.scope, w.feed) => st.woke += 1,
                        _ => st.ignored += 1,
                    }
                    if let Some(h) = m.receipt_handle() {
                        done.push(
                            aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                                .id(i.to_string())
                                .receipt_handle(h)
                                .build(),
                        );
                    }
                }
                if !done.is_empty() {
                    st.last_at = Some(Utc::now());
                    let entries: Vec<_> = done.into_iter().filter_map(Result::ok).collect();
                    if let Err(e) = client
                        .delete_message_batch()
                        .queue_url(&url)
                        .set_entries(Some(entries))
                        .send()
                        .await
                    {
                        st.error = Some(describe("DeleteMessageBatch", &e).message);
                    }
                }
            }
            Err(e) => {
                failures += 1;
                let err = FeedError::from(describe("ReceiveMessage", &e));
                let wait = backoff(&err, failures, Duration::from_secs(60));
                st.error = Some(format!("{} (retry in {}s)", err.message, wait.as_secs()));
                if st != before && tx.send(Report::Events(st.clone())).await.is_err() {
                    return;
                }
                tokio::time::sleep(wait).await;
                continue;
            }
        }
        if st != before && tx.send(Report::Events(st.clone())).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCT: &str = "111122223333";

    fn event(detail_type: &str, detail: serde_json::Value) -> String {
        let source = if detail_type == "GuardDuty Finding" {
            "aws.guardduty"
        } else {
            "aws.ec2"
        };
        serde_json::json!({
            "version": "0",
            "detail-type": detail_type,
            "source": source,
            "account": ACCT,
            "region": "eu-west-1",
            "detail": detail,
        })
        .to_string()
    }

    #[test]
    fn events_wake_the_feed_of_the_scope_they_name() {
        let w = |s: &str, admin| wake_for(s, admin).map(|w| (w.scope, w.feed));
        let scope = |a: &str, r: &str| Scope::new(a, r);
        let state = event(
            "EC2 Instance State-change Notification",
            serde_json::json!({"instance-id": "i-0abc", "state": "running"}),
        );
        assert_eq!(w(&state, None), Some((scope(ACCT, "eu-west-1"), "ec2")));
        let launch = event(
            "AWS API Call via CloudTrail",
            serde_json::json!({"eventName": "RunInstances", "recipientAccountId": "444455556666", "awsRegion": "ap-south-1"}),
        );
        // The envelope names the place, whatever the detail claims.
        assert_eq!(w(&launch, None), Some((scope(ACCT, "eu-west-1"), "ec2")));
        // A custom event (any source but AWS's own) wakes nothing.
        let forged = state.replace("\"aws.ec2\"", "\"custom.miner\"");
        assert_eq!(w(&forged, None), None);
        let unsourced = serde_json::json!({"detail-type": "EC2 Instance State-change Notification", "account": ACCT, "region": "eu-west-1"}).to_string();
        assert_eq!(w(&unsourced, None), None);
        let other_call = event(
            "AWS API Call via CloudTrail",
            serde_json::json!({"eventName": "CreateTags"}),
        );
        assert_eq!(w(&other_call, None), None);
        let finding = event(
            "GuardDuty Finding",
            serde_json::json!({"accountId": "444455556666", "region": "us-east-1", "type": "CryptoCurrency:EC2/BitcoinTool.B!DNS"}),
        );
        assert_eq!(
            w(&finding, None),
            Some((scope("444455556666", "eu-west-1"), "findings"))
        );
        // Through the delegated administrator, its findings feed of the region.
        assert_eq!(
            w(&finding, Some("999988887777")),
            Some((scope("999988887777", "eu-west-1"), "findings"))
        );
        // Not events, or events naming no real place: nothing.
        for bad in [
            "not json".to_string(),
            "{}".to_string(),
            event("Some Other Event", serde_json::json!({})),
            serde_json::json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "account": "../../etc", "region": "eu-west-1"}).to_string(),
            serde_json::json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "account": ACCT, "region": "mars-1"}).to_string(),
        ] {
            assert_eq!(w(&bad, None), None, "{bad}");
        }
    }

    #[test]
    fn the_queue_region_comes_from_its_url() {
        assert_eq!(
            queue_region("https://sqs.eu-west-1.amazonaws.com/111122223333/wf").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(queue_region("http://127.0.0.1:5000/111122223333/wf"), None);
    }
}
