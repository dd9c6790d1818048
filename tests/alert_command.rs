//! The `[alerts] command` runner with real programs: a script that records its stdin gets each
//! alert as JSON, rate-limited (alerts in between counted as `suppressed`); a failing program
//! and a hanging one are reported, never waited on by the caller.

use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::mpsc;
use watchfloor::app::alerts::{Alert, AlertKind};
use watchfloor::config::AlertSettings;

fn alert(id: &str) -> Alert {
    Alert {
        time: Utc::now(),
        kind: if id.starts_with("crit") {
            AlertKind::CriticalFinding
        } else {
            AlertKind::Saturated
        },
        account_alias: "prod".into(),
        account_id: "111111111111".into(),
        region: "us-east-1".into(),
        id: id.into(),
        finding_id: None,
        text: format!("{id} saturated (99% CPU)"),
    }
}

fn settings(command: Vec<String>, min_interval_secs: u32, timeout_secs: u32) -> AlertSettings {
    AlertSettings {
        bell: false,
        title: false,
        command,
        min_interval_secs,
        timeout_secs,
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Result<String, String>>) -> Result<String, String> {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a result within 20 s")
        .expect("runner alive")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_gets_the_worst_alert_as_json_rate_limited_without_secrets() {
    // The console's own credentials must not reach the program.
    // SAFETY: set before any thread of this test reads the environment.
    unsafe { std::env::set_var("AWS_SECRET_ACCESS_KEY", "console-secret-must-not-leak") };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stdin.log");
    let env = dir.path().join("env.log");
    let script = format!("cat >> '{}'; env >> '{}'", out.display(), env.display());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let n = watchfloor::notify::spawn(&settings(vec!["sh".into(), "-c".into(), script], 2, 10), tx)
        .expect("a command is configured");
    let started = Instant::now();
    let send_started = Instant::now();
    n.send(alert("i-1"));
    n.send(alert("i-2"));
    n.send(alert("crit-i-3"));
    n.send(alert("i-4"));
    assert!(
        send_started.elapsed() < Duration::from_millis(50),
        "sending never waits"
    );
    assert_eq!(
        next(&mut rx).await,
        Ok("alert sent: i-1 saturated (99% CPU)".into())
    );
    assert_eq!(
        next(&mut rx).await,
        Ok("alert sent: crit-i-3 saturated (99% CPU)".into())
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the second run waited out the interval"
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "one run per interval: {lines:?}");
    assert_eq!(lines[0]["id"], "i-1");
    assert_eq!(lines[0]["kind"], "saturated");
    assert_eq!(lines[0]["account_alias"], "prod");
    assert_eq!(lines[0]["suppressed"], 0);
    assert_eq!(
        lines[1]["id"], "crit-i-3",
        "the critical one, not the first in line"
    );
    assert_eq!(lines[1]["kind"], "critical-finding");
    assert_eq!(lines[1]["suppressed"], 2, "i-2 and i-4 counted");
    let env = std::fs::read_to_string(&env).unwrap();
    assert!(
        !env.contains("console-secret-must-not-leak") && !env.contains("AWS_"),
        "{env}"
    );
    assert!(env.contains("PATH="), "{env}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_and_hangs_are_reported() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let n = watchfloor::notify::spawn(
        &settings(
            vec![
                "sh".into(),
                "-c".into(),
                "echo starting >&2; echo 'chat: 401 bad token' >&2; exit 3".into(),
            ],
            1,
            10,
        ),
        tx,
    )
    .unwrap();
    n.send(alert("i-1"));
    let e = next(&mut rx).await.unwrap_err();
    assert!(e.contains("failed") && e.contains('3'), "{e}");
    assert!(
        e.ends_with(": chat: 401 bad token"),
        "the last stderr line: {e}"
    );

    let (tx, mut rx) = mpsc::unbounded_channel();
    let n = watchfloor::notify::spawn(
        &settings(vec!["sh".into(), "-c".into(), "sleep 30".into()], 1, 1),
        tx,
    )
    .unwrap();
    let t = Instant::now();
    n.send(alert("i-1"));
    let e = next(&mut rx).await.unwrap_err();
    assert!(e.contains("killed after 1 s"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(10));

    let (tx, mut rx) = mpsc::unbounded_channel();
    let n = watchfloor::notify::spawn(&settings(vec!["/nonexistent/notify-chat".into()], 1, 1), tx)
        .unwrap();
    n.send(alert("i-1"));
    let e = next(&mut rx).await.unwrap_err();
    assert!(e.contains("cannot start"), "{e}");
    assert!(
        watchfloor::notify::spawn(&settings(vec![], 1, 1), mpsc::unbounded_channel().0).is_none()
    );
}
