//! End to end: the real binary in a pseudo-terminal, driven with keys, its screen read back.

mod support;

use support::pty::{Term, wrapped};

#[test]
fn demo_console_end_to_end() {
    let t = Term::start(
        "demo",
        &wrapped("", "demo --seed 3 --speed 40 --color never"),
    );
    let s = t.wait_for("the fleet table", 30, |s| {
        s.contains("RISK") && s.contains(" inst")
    });
    assert!(s.contains("watchfloor"), "{s}");
    // The campaign plays fast at --speed 40: the bastion gets its findings and pinned CPU.
    t.wait_for("the bastion to rank at the top with findings", 30, |s| {
        s.lines()
            .skip_while(|l| !l.contains("RISK"))
            .take(12)
            .any(|l| l.contains("bastion-legacy") && l.contains(" H "))
    });

    // Filter to the bastion.
    t.keys(&["/", "b", "a", "s", "t", "i", "o", "n", "Enter"]);
    let s = t.wait_for("the filtered view", 10, |s| s.contains("/bastion (1 of"));
    let rows: Vec<&str> = s.lines().filter(|l| l.contains("i-0")).collect();
    assert_eq!(rows.len(), 1, "one row after filtering:\n{s}");
    assert!(
        rows[0].contains("bastion-legacy") && rows[0].contains("22"),
        "{s}"
    );

    // Drill in: ENIs, groups, the world-open rule.
    t.keys(&["Enter"]);
    let s = t.wait_for("the detail screen", 10, |s| {
        s.contains("NETWORK (") || s.contains("RISK ")
    });
    assert!(
        s.contains("bastion-legacy · prod (210987654321) · us-east-1"),
        "{s}"
    );
    t.keys(&[
        "G", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j",
    ]);
    t.wait_for("the world-open rule", 10, |s| {
        s.contains("legacy-ssh") && s.contains("◀ WORLD")
    });

    // Back, help, back.
    t.keys(&["Escape"]);
    t.wait_for("the fleet table again", 10, |s| {
        s.contains("RISK") && s.contains("sort risk")
    });
    t.keys(&["?"]);
    t.wait_for("the help screen", 10, |s| {
        s.contains("keymap default") && s.contains("drill into the instance or task")
    });
    t.keys(&["Escape", "q"]);
    let s = t.wait_for("the process to exit", 10, |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
    assert!(
        s.contains(" icanon ") || s.contains("icanon echo"),
        "terminal left in raw mode:\n{s}"
    );
    assert!(!s.contains("-icanon"), "terminal left in raw mode:\n{s}");
}

#[test]
fn terminal_is_restored_after_a_panic() {
    let t = Term::start(
        "panic",
        &wrapped(
            "RUST_BACKTRACE=0 WATCHFLOOR_TEST_PANIC=1",
            "demo --color never",
        ),
    );
    let s = t.wait_for("the process to exit", 30, |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=101"), "expected a panic exit:\n{s}");
    assert!(
        s.contains("WATCHFLOOR_TEST_PANIC is set"),
        "panic message shown after restore:\n{s}"
    );
    assert!(
        !s.contains("-icanon") && !s.contains("-echo"),
        "terminal left in raw mode:\n{s}"
    );
}

#[test]
fn ctrl_c_quits_even_while_filtering() {
    let t = Term::start("ctrlc", &wrapped("", "demo --keymap vim --color never"));
    t.wait_for("the fleet table", 30, |s| s.contains("RISK"));
    // While typing a filter, ctrl+c still quits at once.
    t.keys(&["/", "x", "C-c"]);
    let s = t.wait_for("the process to exit", 10, |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
    assert!(!s.contains("-icanon"), "{s}");
}

#[test]
fn quarantine_from_the_console_is_confirmed_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let t = Term::start(
        "triage",
        &wrapped(
            "",
            &format!(
                "demo --seed 3 --speed 40 --color never --audit-log {}",
                audit.display()
            ),
        ),
    );
    quarantine_the_bastion(&t);
    t.wait_for("the case prompt", 10, |s| {
        s.contains("Case id for this session")
    });
    t.keys(&["I", "R", "-", "5", "Enter"]);
    let s = t.wait_for("the confirmation panel", 20, |s| {
        s.contains("press Y to quarantine")
    });
    // The panel names the account alias AND id, the region, the instance and its Name.
    assert!(
        s.contains("account prod (210987654321)") && s.contains("region us-east-1"),
        "{s}"
    );
    assert!(
        s.contains("bastion-legacy") && s.contains("case IR-5"),
        "{s}"
    );
    assert!(s.contains("check(s) passed"), "{s}");
    let (before, _) = watchfloor::triage::AuditLog::read(&audit).unwrap();
    assert!(
        !before.is_empty() && before.iter().all(|r| r.dry_run),
        "only dry runs before the second key: {before:#?}"
    );
    t.keys(&["Y"]);
    t.wait_for("the quarantine to finish", 30, |s| {
        s.contains("quarantined: 1 interface")
    });
    t.keys(&["Escape"]);
    t.wait_for("the row marked QUARANTINED", 15, |s| {
        s.lines()
            .any(|l| l.contains("QUARANTINED") && l.contains("i-0"))
    });
    t.keys(&["q"]);
    let s = t.wait_for("the process to exit", 10, |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
    let (recs, bad) = watchfloor::triage::AuditLog::read(&audit).unwrap();
    assert!(bad.is_empty());
    assert!(
        recs.iter()
            .all(|r| r.case == "IR-5" && r.account_id == "210987654321")
    );
    assert!(
        recs.iter()
            .any(|r| r.step == "mirror state isolated in tags" && r.result.as_deref() == Some("ok"))
    );
    // The case as an incident report, readable in a ticket.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["audit", "--case", "IR-5", "--format", "md", "--audit-log"])
        .arg(&audit)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("# Incident report: case IR-5\n"), "{md}");
    let bastion = recs[0].instance_id.clone();
    assert!(
        md.lines().any(|l| l.starts_with('|')
            && l.contains("prod (210987654321)")
            && l.contains(&bastion)
            && l.contains("quarantine")
            && l.contains("ok: ")),
        "summary row: {md}"
    );
    assert!(md.contains("- Groups before: eni-"), "{md}");
    assert!(
        md.contains("- Groups after: eni-") && md.contains("isolation group"),
        "{md}"
    );
    assert!(md.contains("- **Result:** ok: "), "{md}");
    assert!(!md.contains("FAILED") && !md.contains("NO RESULT"), "{md}");
}

#[test]
fn read_only_console_shows_badge_and_refuses_actions() {
    let t = Term::start("ro", &wrapped("", "demo --read-only --color never"));
    let s = t.wait_for("the fleet table", 30, |s| s.contains("RISK"));
    assert!(s.lines().next().unwrap_or("").contains(" RO "), "{s}");
    t.keys(&["Q"]);
    t.wait_for("the read-only notice", 10, |s| {
        s.contains("read-only: triage actions are disabled")
    });
    t.keys(&["?"]);
    t.wait_for("help marking actions disabled", 10, |s| {
        s.contains("read-only: disabled")
    });
    t.keys(&["q"]);
    let s = t.wait_for("the process to exit", 10, |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
}

#[test]
fn a_panic_in_an_action_is_compensated_and_reported_while_the_console_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let t = Term::start(
        "jobpanic",
        &wrapped(
            "RUST_BACKTRACE=0 WATCHFLOOR_TEST_PANIC_AFTER=\"to allow-all\"",
            &format!(
                "demo --seed 3 --speed 40 --color never --case IR-8 --audit-log {}",
                audit.display()
            ),
        ),
    );
    quarantine_the_bastion(&t);
    t.wait_for("the confirmation panel", 20, |s| {
        s.contains("press Y to quarantine")
    });
    t.keys(&["Y"]);
    // The job panicked mid-way: compensated onto isolation, failed visibly; the console is intact
    // and says a background task panicked.
    let s = t.wait_for("the failed job", 30, |s| {
        s.contains("panicked") && s.contains("compensated: 1 interface(s)")
    });
    assert!(s.contains("QUARANTINE"), "{s}");
    t.wait_for("the background panic notice", 10, |s| {
        s.contains("a background task panicked")
    });
    let (recs, bad) = watchfloor::triage::AuditLog::read(&audit).unwrap();
    assert!(bad.is_empty(), "{bad:?}");
    assert!(
        recs.iter()
            .any(|r| r.step.contains("(compensating)") && r.result.as_deref() == Some("ok")),
        "{recs:#?}"
    );
    t.keys(&["Escape", "q"]);
    let s = t.wait_for("the process to exit", 10, |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
    assert!(!s.contains("-icanon"), "terminal left in raw mode:\n{s}");
}

/// Waits for the fleet, filters it to the bastion and presses `Q` on it.
fn quarantine_the_bastion(t: &Term) {
    t.wait_for("the fleet table", 30, |s| s.contains("RISK"));
    t.keys(&["/", "b", "a", "s", "t", "i", "o", "n", "Enter"]);
    t.wait_for("the filtered view", 10, |s| s.contains("/bastion (1 of"));
    t.keys(&["Q"]);
}

/// Starts a quarantine of the bastion in the demo (5 s allow-all wait) and quits during its
/// wait; returns the pane and the audit log path (in `dir`).
fn quit_during_a_quarantine(name: &str, dir: &std::path::Path) -> (Term, std::path::PathBuf) {
    let audit = dir.join("audit.jsonl");
    let t = Term::start(
        name,
        &wrapped(
            "",
            &format!(
                "demo --seed 3 --speed 40 --color never --case IR-7 --audit-log {}",
                audit.display()
            ),
        ),
    );
    quarantine_the_bastion(&t);
    t.wait_for("the confirmation panel", 20, |s| {
        s.contains("press Y to quarantine")
    });
    t.keys(&["Y"]);
    t.wait_for("the allow-all wait", 20, |s| s.contains("waiting 5s"));
    t.keys(&["Escape", "q"]);
    (t, audit)
}

/// True once the audit log holds the successful outcome of the quarantine.
fn quarantined(audit: &std::path::Path) -> bool {
    let (recs, bad) = watchfloor::triage::AuditLog::read(audit).unwrap();
    assert!(bad.is_empty(), "{bad:?}");
    recs.iter().any(|r| {
        r.step == "result"
            && r.result
                .as_deref()
                .is_some_and(|x| x.starts_with("ok: ") && x.contains("quarantined"))
    })
}

#[test]
fn quit_during_an_action_waits_for_it_and_starts_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let (t, audit) = quit_during_a_quarantine("quitwait", dir.path());
    t.wait_for("the quit notice", 5, |s| {
        s.contains("an action is running: quitting")
    });
    // No new action starts while the console waits to leave.
    t.keys(&["S"]);
    t.wait_for("the refusal", 5, |s| {
        s.contains("quitting: no new action starts")
    });
    // The quarantine ends its wait and isolates; then the console leaves on its own.
    let s = t.wait_for("the process to exit", 20, |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
    assert!(
        !s.contains("finishing them now"),
        "nothing was left to finish: {s}"
    );
    assert!(!s.contains("-icanon"), "terminal left in raw mode:\n{s}");
    assert!(quarantined(&audit), "no outcome record");
    let (recs, _) = watchfloor::triage::AuditLog::read(&audit).unwrap();
    assert!(
        !recs.iter().any(|r| r.action == "stop"),
        "a stop was started while quitting: {recs:#?}"
    );
}

#[test]
fn a_second_quit_during_an_action_isolates_now_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let (t, audit) = quit_during_a_quarantine("quitforce", dir.path());
    t.wait_for("the quit notice", 5, |s| {
        s.contains("an action is running: quitting")
    });
    t.keys(&["q"]);
    let s = t.wait_for("the process to exit", 20, |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
    assert!(
        s.contains("finishing them now") && s.contains("running actions finished"),
        "{s}"
    );
    assert!(!s.contains("-icanon"), "terminal left in raw mode:\n{s}");
    assert!(quarantined(&audit), "no outcome record");
}

#[test]
fn credits_and_the_launch_radar_end_to_end() {
    let t = Term::start(
        "radar",
        &wrapped("", "demo --seed 3 --speed 40 --color never"),
    );
    // The legacy bastion mines its credits away and is then held at its 30 % baseline: the
    // row says `0 cr`, not a modest-looking CPU bar.
    t.wait_for("the bastion held at its baseline", 60, |s| {
        s.lines()
            .any(|l| l.contains("bastion-legacy") && l.contains("0 cr"))
    });
    // Flags are filter terms: the GPU boxes run a stranger's AMI.
    t.keys(&["/"]);
    t.keys(&[
        "f", "o", "r", "e", "i", "g", "n", "-", "a", "m", "i", "Enter",
    ]);
    let s = t.wait_for("the foreign-AMI boxes", 30, |s| {
        s.contains("/foreign-ami (") && s.lines().filter(|l| l.contains("i-0")).count() >= 4
    });
    assert!(
        s.lines()
            .filter(|l| l.contains("i-0"))
            .all(|l| !l.contains("bastion-legacy")),
        "{s}"
    );
    t.keys(&["Enter"]);
    t.wait_for("the detail screen", 10, |s| {
        s.contains("flags") && s.contains("foreign-ami") && s.contains("press L to look up")
    });
    // Who launched it, looked up on demand: a leaked CI key from a VPS, an odd user agent.
    t.keys(&["L"]);
    let s = t.wait_for("the launcher", 10, |s| s.contains("xmr-autoscale"));
    assert!(
        s.contains("user/ci-deploy") && s.contains("45.9.148.113"),
        "{s}"
    );
    t.keys(&["Escape", "q"]);
    let s = t.wait_for("the process to exit", 10, |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
}

#[test]
fn ecs_task_triage_from_the_demo_console() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let t = Term::start(
        "ecs",
        &wrapped(
            "",
            &format!(
                "demo --seed 3 --speed 40 --color never --audit-log {}",
                audit.display()
            ),
        ),
    );
    t.wait_for("the fleet table", 30, |s| s.contains("RISK"));
    // The attacker's standalone task shows up partway through the campaign.
    t.keys(&[
        "/", "s", "t", "a", "n", "d", "a", "l", "o", "n", "e", "Enter",
    ]);
    t.wait_for("the standalone miner task", 60, |s| {
        s.contains("/standalone (1 of") && s.contains("task/")
    });
    t.keys(&["S"]);
    t.wait_for("the case prompt", 10, |s| {
        s.contains("Case id for this session")
    });
    t.keys(&["I", "R", "-", "7", "Enter"]);
    let s = t.wait_for("the confirmation panel", 20, |s| {
        s.contains("press Y to stop-task")
    });
    assert!(s.contains("account prod (210987654321)"), "{s}");
    assert!(s.contains("not checkable in advance"), "{s}");
    t.keys(&["Y"]);
    t.wait_for("the stop to finish", 30, |s| s.contains("stopping"));
    t.keys(&["Escape"]);
    // The next ECS poll no longer lists it.
    t.wait_for("the task gone", 30, |s| s.contains("/standalone (0 of"));
    // A service's task: Q scales the service to zero, and its tasks leave.
    t.keys(&["Escape", "/"]);
    t.keys(&[
        "m", "e", "t", "r", "i", "c", "s", "-", "a", "g", "e", "n", "t", "Enter",
    ]);
    t.wait_for("the miner service's three tasks", 30, |s| {
        s.contains("/metrics-agent (3 of")
    });
    // A poll that re-ranks the rows makes the console refuse the key for 2 s (the row under
    // the cursor just changed): press again until the panel opens.
    let mut opened = false;
    for _ in 0..10 {
        t.keys(&["Q"]);
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let s = t.screen();
        if s.contains("press Y to scale-to-zero") {
            opened = true;
            break;
        }
        assert!(
            !s.contains("Case id for this session"),
            "the case is asked once per session:\n{s}"
        );
    }
    assert!(opened, "no scale-to-zero panel:\n{}", t.screen());
    t.keys(&["Y"]);
    t.wait_for("the scale to finish", 30, |s| s.contains("scaled to 0"));
    t.keys(&["Escape"]);
    t.wait_for("the service's tasks gone", 30, |s| {
        s.contains("/metrics-agent (0 of")
    });
    t.keys(&["q"]);
    let s = t.wait_for("the process to exit", 10, |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
    let (recs, bad) = watchfloor::triage::AuditLog::read(&audit).unwrap();
    assert!(bad.is_empty());
    for action in ["stop-task", "scale-to-zero"] {
        assert!(
            recs.iter().any(|r| r.action == action
                && r.step == "result"
                && r.result.as_deref().is_some_and(|x| x.starts_with("ok"))),
            "{action}: {recs:#?}"
        );
    }
    assert!(recs.iter().any(|r| r.step.starts_with("evidence:")));
}
