//! The one loop every feed runs in, for AWS and demo alike: schedule, loading, data or failure,
//! request counts, backoff. Also the one-shot version `snapshot` uses.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::AbortHandle;

use super::{Feed, FeedError, Polled, Report};
use crate::model::Scope;

/// Announces every feed's schedule, in the order given, then runs each feed on its own task
/// until the receiving side closes. Returns the tasks' handles (aborting them stops the feeds).
pub async fn start(feeds: Vec<Box<dyn Feed>>, tx: mpsc::Sender<Report>) -> Vec<AbortHandle> {
    start_with(feeds, tx, Drive::default()).await
}

/// How the driver runs a set of feeds beyond their own schedule.
#[derive(Clone, Default)]
pub struct Drive {
    /// At most as many polls in flight at once as it has permits (shared by every feed given
    /// it: an organization's thousands of scopes never storm the network).
    pub limit: Option<Arc<Semaphore>>,
    /// Where each feed registers, so an event naming its scope polls it before its interval
    /// ends.
    pub wakers: Option<Wakers>,
}

/// A poll woken by an event comes at least this long after the previous one began (a burst of
/// events is one poll).
pub const WAKE_MIN_GAP: Duration = Duration::from_secs(5);

/// A feed by its home scope and name.
type FeedKey = (Scope, &'static str);

/// Feeds that an event can wake, by home scope and feed name.
#[derive(Clone, Default)]
pub struct Wakers(Arc<std::sync::Mutex<HashMap<FeedKey, Arc<Notify>>>>);

impl Wakers {
    fn register(&self, scope: &Scope, feed: &'static str) -> Arc<Notify> {
        let n = Arc::new(Notify::new());
        if let Ok(mut m) = self.0.lock() {
            m.insert((scope.clone(), feed), n.clone());
        }
        n
    }

    /// Wakes feed `feed` of `scope`; false when no such feed runs.
    pub fn wake(&self, scope: &Scope, feed: &'static str) -> bool {
        let n = self
            .0
            .lock()
            .ok()
            .and_then(|m| m.get(&(scope.clone(), feed)).cloned());
        match n {
            Some(n) => {
                n.notify_one();
                true
            }
            None => false,
        }
    }

    /// Forgets every feed of `account_id` (the account left).
    pub fn forget(&self, account_id: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.retain(|(s, _), _| s.account_id != account_id);
        }
    }
}

/// [`start`], driven as `drive` says.
pub async fn start_with(
    feeds: Vec<Box<dyn Feed>>,
    tx: mpsc::Sender<Report>,
    drive: Drive,
) -> Vec<AbortHandle> {
    let schedules: Vec<Report> = feeds.iter().map(|f| schedule(&**f)).collect();
    for s in schedules {
        if tx.send(s).await.is_err() {
            return Vec::new();
        }
    }
    feeds
        .into_iter()
        .map(|f| {
            let wake = drive
                .wakers
                .as_ref()
                .map(|w| w.register(f.home(), f.name()));
            tokio::spawn(run(f, tx.clone(), drive.limit.clone(), wake)).abort_handle()
        })
        .collect()
}

/// What one feed's one-shot poll took (for `snapshot --timings`).
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Feed name.
    pub feed: &'static str,
    /// The feed's home.
    pub scope: Scope,
    /// API calls made.
    pub calls: u64,
    /// Seconds the poll took.
    pub secs: f64,
    /// It succeeded.
    pub ok: bool,
    /// Scopes it served besides its home (an organization-wide feed's members).
    pub serves: usize,
}

/// Polls every feed once, concurrently: their schedules (in the order given), then each feed's
/// data and requests or its failure, in the order given.
pub async fn poll_once(feeds: Vec<Box<dyn Feed>>) -> Vec<Report> {
    poll_once_timed(feeds).await.0
}

/// Polls in flight at once in a one-shot poll (a thousand accounts must not storm the network
/// any more than the console does).
pub const ONE_SHOT_CONCURRENCY: usize = 64;

/// [`poll_once`], with what each poll took, at most [`ONE_SHOT_CONCURRENCY`] at once. A feed
/// serving other scopes announces its schedule in each, and its failure reaches each, as in
/// [`run`].
pub async fn poll_once_timed(feeds: Vec<Box<dyn Feed>>) -> (Vec<Report>, Vec<Timing>) {
    use futures::StreamExt;
    let mut out: Vec<Report> = feeds.iter().map(|f| schedule(&**f)).collect();
    let polls = feeds.into_iter().map(|mut f| async move {
        f.ready().await;
        let started = std::time::Instant::now();
        let r = f.poll().await;
        let secs = started.elapsed().as_secs_f64();
        log_poll(&*f, &r, started);
        let serves: Vec<Scope> = f.serves().into_iter().filter(|s| s != f.home()).collect();
        let timing = Timing {
            feed: f.name(),
            scope: f.home().clone(),
            calls: match &r {
                Ok(p) => p.calls,
                Err(e) => e.calls,
            },
            secs,
            ok: r.is_ok(),
            serves: serves.len(),
        };
        let mut reports: Vec<Report> = serves.iter().map(|s| schedule_in(&*f, s.clone())).collect();
        for report in outcome(&*f, r, None) {
            let copies = served_failures(&report, &serves);
            reports.push(report);
            reports.extend(copies);
        }
        (reports, timing)
    });
    let mut timings = Vec::new();
    let done: Vec<(Vec<Report>, Timing)> = futures::stream::iter(polls)
        .buffered(ONE_SHOT_CONCURRENCY)
        .collect()
        .await;
    for (reports, timing) in done {
        out.extend(reports);
        timings.push(timing);
    }
    (out, timings)
}

/// A failure of a feed, repeated in every scope it serves (their data did not come either).
fn served_failures(report: &Report, serves: &[Scope]) -> Vec<Report> {
    match report {
        Report::Failed {
            feed, at, message, ..
        } => serves
            .iter()
            .map(|s| Report::Failed {
                scope: s.clone(),
                feed,
                at: *at,
                message: message.clone(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Runs one feed until the receiving side closes. Each poll waits for a permit of `limit`,
/// when given; `wake`, when given, cuts the wait after a good poll short (not before
/// [`WAKE_MIN_GAP`] since that poll began; never a backoff after a failure).
pub async fn run(
    mut feed: Box<dyn Feed>,
    tx: mpsc::Sender<Report>,
    limit: Option<Arc<Semaphore>>,
    wake: Option<Arc<Notify>>,
) {
    tokio::time::sleep(feed.start_after()).await;
    let mut failures = 0u32;
    let mut interval = feed.interval();
    let mut served: HashSet<Scope> = HashSet::new();
    loop {
        feed.ready().await;
        let permit = match &limit {
            Some(l) => match l.clone().acquire_owned().await {
                Ok(p) => Some(p),
                Err(_) => return,
            },
            None => None,
        };
        let loading = Report::Loading {
            scope: feed.home().clone(),
            feed: feed.name(),
        };
        if tx.send(loading).await.is_err() {
            return;
        }
        let started = std::time::Instant::now();
        let began = tokio::time::Instant::now();
        let r = feed.poll().await;
        drop(permit);
        log_poll(&*feed, &r, started);
        // A feed's cadence may change (an empty region is polled less often): its schedule is
        // announced again, so staleness is judged by the interval in force.
        let mut announce = Vec::new();
        if feed.interval() != interval {
            interval = feed.interval();
            served.clear();
            announce.push(schedule(&*feed));
        }
        let serves = feed.serves();
        for scope in &serves {
            if served.insert(scope.clone()) {
                announce.push(schedule_in(&*feed, scope.clone()));
            }
        }
        served.retain(|s| serves.contains(s));
        for report in announce {
            if tx.send(report).await.is_err() {
                return;
            }
        }
        let wait = match &r {
            Ok(_) => {
                failures = 0;
                feed.interval()
            }
            Err(e) => {
                failures += 1;
                feed.retry_after(e, failures)
            }
        };
        let others: Vec<Scope> = serves.into_iter().filter(|s| s != feed.home()).collect();
        for report in outcome(&*feed, r, Some(wait)) {
            let copies = served_failures(&report, &others);
            for report in std::iter::once(report).chain(copies) {
                if tx.send(report).await.is_err() {
                    return;
                }
            }
        }
        match (&wake, failures) {
            (Some(n), 0) => {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = n.notified() => {
                        tokio::time::sleep_until(began + WAKE_MIN_GAP).await;
                    }
                }
            }
            _ => tokio::time::sleep(wait).await,
        }
    }
}

/// One line per poll in the `--log-file`: feed, scope, time taken, calls, and the error.
fn log_poll(f: &dyn Feed, r: &Result<Polled, FeedError>, started: std::time::Instant) {
    let ms = started.elapsed().as_millis() as u64;
    let (scope, feed) = (f.home(), f.name());
    match r {
        Ok(p) => tracing::debug!(
            feed,
            account = %scope.account_id,
            region = %scope.region,
            ms,
            calls = p.calls,
            "feed polled"
        ),
        Err(e) => tracing::warn!(
            feed,
            account = %scope.account_id,
            region = %scope.region,
            ms,
            calls = e.calls,
            "feed failed: {}",
            e.message
        ),
    }
}

fn schedule(f: &dyn Feed) -> Report {
    schedule_in(f, f.home().clone())
}

/// The feed's schedule, announced in `scope`.
fn schedule_in(f: &dyn Feed, scope: Scope) -> Report {
    Report::Schedule {
        scope,
        feed: f.name(),
        interval_secs: u32::try_from(f.interval().as_secs()).unwrap_or(u32::MAX),
        essential: f.essential(),
    }
}

/// The reports of one poll: its data then its requests, or its failure then its requests. A
/// failure says when it is retried, when it will be.
fn outcome(f: &dyn Feed, r: Result<Polled, FeedError>, retry: Option<Duration>) -> Vec<Report> {
    let (scope, feed) = (f.home().clone(), f.name());
    match r {
        Ok(p) => {
            let at = p.at;
            let mut out: Vec<Report> = p
                .data
                .into_iter()
                .map(|data| Report::Data { feed, at, data })
                .collect();
            out.push(Report::Requests {
                scope,
                feed,
                calls: p.calls,
                metrics: p.metrics,
                metrics_per_day: p.metrics_per_day,
            });
            out
        }
        Err(e) => {
            let message = match retry {
                Some(w) => format!("{} (retry in {}s)", e.message, w.as_secs().max(1)),
                None => e.message,
            };
            vec![
                Report::Failed {
                    scope: scope.clone(),
                    feed,
                    at: Utc::now(),
                    message,
                },
                Report::Requests {
                    scope,
                    feed,
                    calls: e.calls,
                    metrics: 0,
                    metrics_per_day: None,
                },
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::Data;
    use crate::model::Scope;
    use futures::future::BoxFuture;
    use std::collections::VecDeque;

    /// A feed that plays a script of poll results.
    struct Scripted {
        home: Scope,
        script: VecDeque<Result<Polled, FeedError>>,
    }

    impl Feed for Scripted {
        fn name(&self) -> &'static str {
            "scripted"
        }
        fn home(&self) -> &Scope {
            &self.home
        }
        fn interval(&self) -> Duration {
            Duration::from_secs(60)
        }
        fn poll(&mut self) -> BoxFuture<'_, Result<Polled, FeedError>> {
            let next = self
                .script
                .pop_front()
                .unwrap_or_else(|| Err(FeedError::local("script ended")));
            Box::pin(async move { next })
        }
        fn retry_after(&self, _: &FeedError, failures: u32) -> Duration {
            Duration::from_secs(u64::from(failures) * 7)
        }
    }

    fn ok(n: usize) -> Result<Polled, FeedError> {
        Ok(Polled {
            at: Utc::now(),
            data: vec![Data::Cpu {
                scope: Scope::new("111111111111", "us-east-1"),
                series: (0..n)
                    .map(|i| (format!("i-{i}"), Default::default()))
                    .collect(),
                credits: Vec::new(),
            }],
            calls: 2,
            metrics: n as u64,
            metrics_per_day: Some(288.0 * n as f64),
        })
    }

    fn failed(msg: &str) -> Result<Polled, FeedError> {
        Err(FeedError {
            message: msg.into(),
            throttled: false,
            calls: 1,
        })
    }

    /// Report kinds as short strings, with the fields that matter here.
    fn describe(r: &Report) -> String {
        match r {
            Report::Accounts(_)
            | Report::Organization(_)
            | Report::Events(_)
            | Report::LaunchedBy { .. } => "not from a feed".into(),
            Report::Schedule { interval_secs, .. } => format!("schedule {interval_secs}"),
            Report::Loading { .. } => "loading".into(),
            Report::Data { data, .. } => match data {
                Data::Cpu { series, .. } => format!("cpu {}", series.len()),
                _ => "other data".into(),
            },
            Report::Failed { message, .. } => format!("failed {message}"),
            Report::Requests {
                calls,
                metrics,
                metrics_per_day,
                ..
            } => format!("requests {calls} {metrics} {metrics_per_day:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn schedule_loading_data_failure_backoff_recovery() {
        let feed = Scripted {
            home: Scope::new("111111111111", "us-east-1"),
            script: VecDeque::from([ok(3), failed("boom"), failed("boom again"), ok(1)]),
        };
        let (tx, mut rx) = mpsc::channel(64);
        let t0 = tokio::time::Instant::now();
        start(vec![Box::new(feed)], tx).await;
        let mut seen = Vec::new();
        while seen.len() < 13 {
            let r = rx.recv().await.expect("driver keeps running");
            seen.push((t0.elapsed().as_secs(), describe(&r)));
        }
        let want: Vec<(u64, String)> = [
            (0, "schedule 60"),
            (0, "loading"),
            (0, "cpu 3"),
            (0, "requests 2 3 Some(864.0)"),
            // The interval after a success, then the feed's own backoff after each failure.
            (60, "loading"),
            (60, "failed boom (retry in 7s)"),
            (60, "requests 1 0 None"),
            (67, "loading"),
            (67, "failed boom again (retry in 14s)"),
            (67, "requests 1 0 None"),
            (81, "loading"),
            (81, "cpu 1"),
            (81, "requests 2 1 Some(288.0)"),
        ]
        .into_iter()
        .map(|(t, s)| (t, s.to_string()))
        .collect();
        assert_eq!(seen, want);
    }

    /// A feed serving two member scopes, slower once its first poll found nothing.
    struct Serving {
        inner: Scripted,
        polls: u32,
    }

    impl Feed for Serving {
        fn name(&self) -> &'static str {
            "serving"
        }
        fn home(&self) -> &Scope {
            &self.inner.home
        }
        fn interval(&self) -> Duration {
            Duration::from_secs(if self.polls > 0 { 300 } else { 60 })
        }
        fn serves(&self) -> Vec<Scope> {
            vec![
                Scope::new("222222222222", "us-east-1"),
                Scope::new("333333333333", "us-east-1"),
            ]
        }
        fn poll(&mut self) -> BoxFuture<'_, Result<Polled, FeedError>> {
            self.polls += 1;
            self.inner.poll()
        }
        fn retry_after(&self, _: &FeedError, _: u32) -> Duration {
            Duration::from_secs(10)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn served_scopes_get_the_schedule_and_the_failures_and_a_new_cadence_is_announced() {
        let feed = Serving {
            inner: Scripted {
                home: Scope::new("111111111111", "us-east-1"),
                script: VecDeque::from([ok(1), failed("denied")]),
            },
            polls: 0,
        };
        let (tx, mut rx) = mpsc::channel(64);
        start(vec![Box::new(feed)], tx).await;
        let mut seen = Vec::new();
        while seen.len() < 13 {
            let r = rx.recv().await.expect("driver keeps running");
            let scope = match &r {
                Report::Schedule { scope, .. }
                | Report::Failed { scope, .. }
                | Report::Loading { scope, .. } => scope.account_id[..1].to_string(),
                _ => "-".into(),
            };
            seen.push(format!("{scope} {}", describe(&r)));
        }
        assert_eq!(
            seen,
            [
                "1 schedule 60",
                "1 loading",
                // After the first poll: the cadence changed, and two scopes are served.
                "1 schedule 300",
                "2 schedule 300",
                "3 schedule 300",
                "- cpu 1",
                "- requests 2 1 Some(288.0)",
                "1 loading",
                "1 failed denied (retry in 10s)",
                "2 failed denied (retry in 10s)",
                "3 failed denied (retry in 10s)",
                "- requests 1 0 None",
                "1 loading",
            ]
        );
    }

    /// A feed that needs another's first data (as CPU needs the inventory), or gives it.
    struct Linked {
        home: Scope,
        name: &'static str,
        needs: Option<tokio::sync::watch::Receiver<bool>>,
        gives: Option<tokio::sync::watch::Sender<bool>>,
    }

    impl Feed for Linked {
        fn name(&self) -> &'static str {
            self.name
        }
        fn home(&self) -> &Scope {
            &self.home
        }
        fn interval(&self) -> Duration {
            Duration::from_secs(60)
        }
        fn ready(&mut self) -> BoxFuture<'_, ()> {
            Box::pin(async move {
                if let Some(rx) = &mut self.needs {
                    let _ = rx.wait_for(|v| *v).await;
                }
            })
        }
        fn poll(&mut self) -> BoxFuture<'_, Result<Polled, FeedError>> {
            if let Some(tx) = &self.gives {
                tx.send_replace(true);
            }
            Box::pin(async move { ok(1) })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_feed_waiting_for_another_never_holds_the_only_permit() {
        let (give, need) = tokio::sync::watch::channel(false);
        let home = Scope::new("111111111111", "us-east-1");
        // The dependant first, as the CPU feed comes before the ECS feed it waits for.
        let feeds: Vec<Box<dyn Feed>> = vec![
            Box::new(Linked {
                home: home.clone(),
                name: "dependant",
                needs: Some(need),
                gives: None,
            }),
            Box::new(Linked {
                home,
                name: "source",
                needs: None,
                gives: Some(give),
            }),
        ];
        let (tx, mut rx) = mpsc::channel(64);
        let drive = Drive {
            limit: Some(Arc::new(Semaphore::new(1))),
            wakers: None,
        };
        start_with(feeds, tx, drive).await;
        let mut polled = HashSet::new();
        tokio::time::timeout(Duration::from_secs(30), async {
            while polled.len() < 2 {
                if let Some(Report::Data { feed, .. }) = rx.recv().await {
                    polled.insert(feed);
                }
            }
        })
        .await
        .expect("both feeds poll with a single permit");
    }

    #[tokio::test(start_paused = true)]
    async fn the_driver_stops_when_the_app_is_gone() {
        let feed = Scripted {
            home: Scope::new("111111111111", "us-east-1"),
            script: VecDeque::from([ok(1), ok(1)]),
        };
        let (tx, mut rx) = mpsc::channel(64);
        let task = tokio::spawn(run(Box::new(feed), tx, None, None));
        assert!(matches!(rx.recv().await, Some(Report::Loading { .. })));
        drop(rx);
        tokio::time::timeout(Duration::from_secs(3600), task)
            .await
            .expect("run returns once nobody listens")
            .expect("no panic");
    }

    #[tokio::test]
    async fn one_shot_keeps_order_and_reports_failures_without_a_retry() {
        let a = Scripted {
            home: Scope::new("111111111111", "us-east-1"),
            script: VecDeque::from([failed("denied")]),
        };
        let b = Scripted {
            home: Scope::new("111111111111", "eu-west-1"),
            script: VecDeque::from([ok(2)]),
        };
        let out: Vec<String> = poll_once(vec![Box::new(a), Box::new(b)])
            .await
            .iter()
            .map(describe)
            .collect();
        assert_eq!(
            out,
            [
                "schedule 60",
                "schedule 60",
                "failed denied",
                "requests 1 0 None",
                "cpu 2",
                "requests 2 2 Some(576.0)",
            ]
        );
    }
}
