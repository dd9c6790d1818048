//! End to end on the console's AWS path: the real binary in a pseudo-terminal against the AWS emulator with
//! the real SDK. A quarantine whose terminal is closed during the allow-all wait still ends with
//! every interface isolated (the process finishes headless); an unfinished quarantine in the
//! journal is offered for resume at start-up and finished with one key.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::Emulator;
use support::pty::{Term, wrapped};
use support::triage::*;
use watchfloor::triage::aws_ops::AwsOps;
use watchfloor::triage::{Action, AuditLog, Journal, Ops};

fn config(dir: &Path, emu: &Emulator, wait_secs: u32) -> PathBuf {
    let conf = dir.join("config.toml");
    std::fs::write(
        &conf,
        format!(
            "[settings]\nquarantine_wait_secs = {wait_secs}\n\n[[account]]\nalias = \"main\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\n",
            emu.url()
        ),
    )
    .unwrap();
    conf
}

async fn on_group(ops: &AwsOps, fx: &Fixture, prefix: &str) -> bool {
    let Some(g) = ops
        .find_group(&fx.vpc, &format!("{prefix}-{}", fx.vpc))
        .await
        .unwrap()
    else {
        return false;
    };
    let f = ops.describe(&fx.instance).await.unwrap();
    !f.enis.is_empty() && f.enis.iter().all(|(_, gs)| gs == &vec![g.clone()])
}

fn console_args(conf: &Path, audit: &Path) -> String {
    format!(
        "--config {} --audit-log {} --case IR-77 --color never",
        conf.display(),
        audit.display()
    )
}

fn filter_to(t: &Term, instance: &str) {
    t.wait_for("the instance in the fleet", 90, |s| s.contains(instance));
    let mut keys = vec!["/".to_string()];
    keys.extend(instance.chars().map(|c| c.to_string()));
    keys.push("Enter".into());
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    t.keys(&keys);
    let footer = format!("/{instance}");
    t.wait_for("the filtered view", 10, |s| s.contains(&footer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_terminal_during_the_allow_all_wait_still_isolates() {
    let (emu, ops, dir) = setup().await;
    let fx = fixture(&ops).await;
    let conf = config(dir.path(), &emu, 30);
    let audit = dir.path().join("audit.jsonl");
    let t = Term::start("close", &wrapped("", &console_args(&conf, &audit)));
    filter_to(&t, &fx.instance);
    // Cases are given on the command line: Q opens the panel straight away.
    t.keys(&["Q"]);
    t.wait_for("the confirmation panel", 60, |s| {
        s.contains("press Y to quarantine")
    });
    t.keys(&["Y"]);
    t.wait_for("the allow-all wait", 60, |s| s.contains("waiting 30s"));
    assert!(
        on_group(&ops, &fx, "watchfloor-allow-all").await,
        "the interfaces are on the allow-all group during the wait: {:?}\n{}\n{}",
        ops.describe(&fx.instance).await.unwrap().enis,
        t.screen(),
        AuditLog::read(&audit)
            .unwrap()
            .0
            .iter()
            .map(|r| format!("{} {:?} {}", r.time, r.phase, r.step))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let closed = Instant::now();
    t.close();
    // The process finishes headless: the wait is cut short and every interface is isolated.
    let deadline = closed + Duration::from_secs(25);
    while !on_group(&ops, &fx, "watchfloor-isolation").await {
        assert!(
            Instant::now() < deadline,
            "the interfaces were left on the allow-all group after the terminal closed: {:?}",
            ops.describe(&fx.instance).await.unwrap().enis
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The outcome is in the audit log, and the journal says it is done.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (recs, bad) = AuditLog::read(&audit).unwrap();
        assert!(bad.is_empty(), "{bad:?}");
        if recs.iter().any(|r| {
            r.step == "result"
                && r.result
                    .as_deref()
                    .is_some_and(|x| x.starts_with("ok: ") && x.contains("quarantined"))
        }) {
            break;
        }
        assert!(Instant::now() < deadline, "no outcome record: {recs:#?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        Journal::path_beside(&audit).exists(),
        "no journal was written"
    );
    let log = AuditLog::open(&audit).unwrap();
    let j = journal(&log);
    assert!(j.get(&target(&fx.instance).key()).unwrap().isolated);
    assert!(j.unfinished().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_quarantine_is_offered_for_resume_at_start_up() {
    let (emu, ops, dir) = setup().await;
    let fx = fixture(&ops).await;
    let audit = dir.path().join("audit.jsonl");
    let mut log = AuditLog::open(&audit).unwrap();
    // A run that died right after the interfaces went to allow-all (as a kill would leave it).
    act(
        &ops,
        &mut log,
        &fx.instance,
        Action::Quarantine,
        Some("to allow-all"),
    )
    .await
    .unwrap_err();
    assert!(!on_group(&ops, &fx, "watchfloor-isolation").await);
    let conf = config(dir.path(), &emu, 0);
    let t = Term::start("resume", &wrapped("", &console_args(&conf, &audit)));
    let s = t.wait_for("the resume offer", 90, |s| {
        s.contains("RESUME QUARANTINE") && s.contains("press Y to quarantine")
    });
    assert!(
        s.contains("UNFINISHED QUARANTINE") && s.contains(&fx.instance),
        "{s}"
    );
    assert!(s.contains("account main (123456789012)"), "{s}");
    t.keys(&["Y"]);
    t.wait_for("the resumed quarantine to finish", 60, |s| {
        s.contains("quarantined: 2 interface(s) verified")
    });
    assert!(on_group(&ops, &fx, "watchfloor-isolation").await);
    let j = journal(&log);
    assert!(j.get(&target(&fx.instance).key()).unwrap().isolated);
    assert!(j.unfinished().is_empty());
    t.keys(&["Escape", "q"]);
    let s = t.wait_for("the process to exit", 15, |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
}
