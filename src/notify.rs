//! The `[alerts] command`: runs a program with an alert as JSON on its stdin, one run at a time,
//! at most one per `min_interval_secs` (of the alerts in between, the most severe is sent and
//! the others counted in `suppressed`), killed after `timeout_secs`, with a minimal environment
//! (no AWS credentials). It runs on its own task: the console never waits for it. Every run's
//! result comes back to be shown, a failure with the last line of the program's stderr.

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
        while let Some(mut chosen) = rx.recv().await {
            // Wait out the interval. Of what arrives meanwhile the most severe is sent (a decoy
            // cannot bury a critical finding), the rest counted.
            let mut suppressed = 0u32;
            if let Some(t) = last
                && Instant::now() < t + every
            {
                let until = t + every;
                loop {
                    tokio::select! {
                        more = rx.recv() => match more {
                            Some(a) => {
                                suppressed += 1;
                                if a.kind.rank() > chosen.kind.rank() {
                                    chosen = a;
                                }
                            }
                            None => break,
                        },
                        _ = tokio::time::sleep_until(until) => break,
                    }
                }
            }
            last = Some(Instant::now());
            let r = match tokio::time::timeout(timeout, run(&command, &chosen, suppressed)).await {
                Ok(r) => r,
                Err(_) => Err(format!(
                    "alert command `{}` killed after {} s",
                    command[0],
                    timeout.as_secs()
                )),
            };
            if results.send(r).is_err() {
                return;
            }
        }
    });
    Some(Notifier { tx })
}

/// What the program's environment keeps: it gets no AWS credentials or other secrets of the
/// console, only what a program needs to run and to reach a chat service.
const ENV_KEPT: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// One run: the payload on stdin, then the exit status (the caller bounds it with the timeout;
/// dropping the future kills the program). A failure carries the last line of its stderr.
async fn run(command: &[String], alert: &Alert, suppressed: u32) -> Result<String, String> {
    let json = serde_json::to_vec(&Payload { alert, suppressed })
        .map_err(|e| format!("alert command: cannot encode the alert: {e}"))?;
    let mut cmd = tokio::process::Command::new(&command[0]);
    cmd.args(&command[1..])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for k in ENV_KEPT {
        if let Some(v) = std::env::var_os(k) {
            cmd.env(k, v);
        }
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("alert command `{}` cannot start: {e}", command[0]))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A program that does not read its stdin is not an error.
        let _ = stdin.write_all(&json).await;
        let _ = stdin.write_all(b"\n").await;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| format!("alert command `{}`: {e}", command[0]))?;
    if out.status.success() {
        return Ok(format!("alert sent: {}", alert.text));
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    Err(crate::triage::escape_controls(&format!(
        "alert command `{}` failed: {}{}",
        command[0],
        out.status,
        if last.is_empty() {
            String::new()
        } else {
            format!(": {}", crate::aws::error::one_line(last))
        }
    )))
}
