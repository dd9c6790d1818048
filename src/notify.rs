//! The `[alerts] command`: runs a program with each alert as JSON on its stdin, one run at a
//! time, at most one per `min_interval_secs` (alerts in between are counted in the next run's
//! `suppressed`), killed after `timeout_secs`. It runs on its own task: the console never waits
//! for it. Every run's result comes back to be shown.

use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::app::alerts::Alert;
use crate::config::AlertSettings;

/// What the program reads on stdin: the alert, and how many were not sent since the last run.
#[derive(Debug, Serialize)]
struct Payload<'a> {
    #[serde(flatten)]
    alert: &'a Alert,
    /// Alerts raised since the previous run and not sent (rate limit).
    suppressed: u32,
}

/// Hands alerts to the runner task.
#[derive(Debug, Clone)]
pub struct Notifier {
    tx: mpsc::UnboundedSender<Alert>,
}

impl Notifier {
    /// Queues an alert (never blocks).
    pub fn send(&self, a: Alert) {
        let _ = self.tx.send(a);
    }
}

/// Starts the runner when a command is configured; each run's result (`Ok` summary or `Err`
/// why) goes to `results`.
pub fn spawn(
    settings: &AlertSettings,
    results: mpsc::UnboundedSender<Result<String, String>>,
) -> Option<Notifier> {
    if settings.command.is_empty() {
        return None;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Alert>();
    let command = settings.command.clone();
    let every = Duration::from_secs(u64::from(settings.min_interval_secs));
    let timeout = Duration::from_secs(u64::from(settings.timeout_secs));
    tokio::spawn(async move {
        let mut last: Option<Instant> = None;
        while let Some(first) = rx.recv().await {
            // Wait out the interval, counting what arrives meanwhile.
            let mut suppressed = 0u32;
            if let Some(t) = last
                && Instant::now() < t + every
            {
                let until = t + every;
                loop {
                    tokio::select! {
                        more = rx.recv() => match more {
                            Some(_) => suppressed += 1,
                            None => break,
                        },
                        _ = tokio::time::sleep_until(until) => break,
                    }
                }
            }
            last = Some(Instant::now());
            let r = run(&command, &first, suppressed, timeout).await;
            if results.send(r).is_err() {
                return;
            }
        }
    });
    Some(Notifier { tx })
}

/// One run: the payload on stdin, then the exit status within `timeout`.
async fn run(
    command: &[String],
    alert: &Alert,
    suppressed: u32,
    timeout: Duration,
) -> Result<String, String> {
    let json = serde_json::to_vec(&Payload { alert, suppressed })
        .map_err(|e| format!("alert command: cannot encode the alert: {e}"))?;
    let mut child = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("alert command `{}` cannot start: {e}", command[0]))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A program that does not read its stdin is not an error.
        let _ = stdin.write_all(&json).await;
        let _ = stdin.write_all(b"\n").await;
    }
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(s)) if s.success() => Ok(format!("alert sent: {}", alert.text)),
        Ok(Ok(s)) => Err(format!("alert command `{}` failed: {s}", command[0])),
        Ok(Err(e)) => Err(format!("alert command `{}`: {e}", command[0])),
        Err(_) => {
            let _ = child.kill().await;
            Err(format!(
                "alert command `{}` killed after {} s",
                command[0],
                timeout.as_secs()
            ))
        }
    }
}
