//! The binary's own command line: shell completions, the man page, `audit` argument checks and
//! a read-only account refusing headless triage (no AWS needed for any of them).

use std::process::{Command, Output};

fn watchfloor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(args)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn completions_cover_every_subcommand_in_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let o = watchfloor(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {o:?}");
        let text = stdout(&o);
        for sub in [
            "demo",
            "snapshot",
            "triage",
            "audit",
            "wall",
            "completions",
            "man",
        ] {
            assert!(text.contains(sub), "{shell} completion lacks `{sub}`");
        }
        assert!(
            text.contains("log-file"),
            "{shell} completion lacks --log-file"
        );
    }
    let o = watchfloor(&["completions", "tcsh"]);
    assert_eq!(
        o.status.code(),
        Some(64),
        "an unknown shell is a usage error"
    );
}

#[test]
fn the_man_page_is_roff_with_the_options() {
    let o = watchfloor(&["man"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.contains(".TH watchfloor 1"), "{text}");
    assert!(
        text.contains("log\\-file") && text.contains("read\\-only"),
        "{text}"
    );
}

#[test]
fn audit_reports_need_a_case() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let o = watchfloor(&[
        "audit",
        "--format",
        "md",
        "--audit-log",
        log.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("add --case ID"),
        "{o:?}"
    );
}

#[test]
fn a_read_only_account_refuses_headless_triage() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fleet.toml");
    std::fs::write(
        &config,
        "[[account]]\nalias = \"prod\"\nprofile = \"p\"\nregions = [\"us-east-1\"]\nread_only = true\n",
    )
    .unwrap();
    let o = watchfloor(&[
        "triage",
        "quarantine",
        "--config",
        config.to_str().unwrap(),
        "--account",
        "prod",
        "--region",
        "us-east-1",
        "--instance",
        "i-0abc",
        "--case",
        "IR-1",
        "--yes",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("account `prod` is read-only"), "{err}");
    assert!(
        err.contains("fleet.toml:1"),
        "names the file and line: {err}"
    );
}
