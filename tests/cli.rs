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

#[test]
fn rules_lists_each_rule_with_its_matches_on_the_demo() {
    let o = watchfloor(&["rules", "--demo", "--matches"]);
    assert!(o.status.success(), "{o:?}");
    let text = stdout(&o);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no line for {name}:\n{text}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // name, severity, alert, matches, when...
    let gpu = line("gpu-outside-home");
    assert_eq!(gpu[1..4], ["critical", "yes", "4"], "{text}");
    assert_eq!(gpu[4..], ["flag:gpu", "flag:unusual-region"]);
    let ssh = line("ssh-world-not-bastion");
    assert!(ssh[3].parse::<usize>().unwrap() > 0, "{text}");
    // The matching rows are listed under their rule: the campaign's GPU boxes in ap-south-1.
    let under_gpu: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("gpu-outside-home"))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .collect();
    assert_eq!(under_gpu.len(), 4, "{text}");
    assert!(under_gpu.iter().all(|l| l.contains("prod ap-south-1 i-")));
    assert!(
        text.ends_with("checked against 123 instances and 12 tasks\n"),
        "{text}"
    );
}

#[test]
fn a_bad_rule_names_the_file_line_and_the_place_in_when() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        "[[account]]\nalias = \"a\"\nregions = [\"us-east-1\"]\n\n[[rule]]\nname = \"pinned\"\nwhen = \"cpu>90 cots>5\"\n",
    )
    .unwrap();
    let o = watchfloor(&["rules", "--config", cfg.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "config.toml:7:16: rule `pinned`: `when` at character 8: unknown filter key `cots`"
        ),
        "{err}"
    );
}
