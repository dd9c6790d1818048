//! End to end, the operator's console features: the real binary in a pseudo-terminal on the
//! demo fleet: OSC 52 copy (the bytes decoded), `:findings`, a `port:22` filter, two marks and a
//! bulk quarantine panel listing both, and the wall.

mod support;

use base64::Engine;
use support::pty::{Term, wrapped};

fn demo(name: &str, extra: &str) -> Term {
    let t = Term::start(
        name,
        &wrapped(
            "",
            &format!("demo --seed 3 --speed 40 --color never {extra}"),
        ),
    );
    t.wait_for("the fleet table", 30, |s| {
        s.contains("RISK") && s.contains(" inst")
    });
    t
}

/// Table rows (after the column header) of a fleet screen.
fn rows(s: &str) -> Vec<&str> {
    s.lines()
        .skip_while(|l| !l.contains("RISK"))
        .skip(1)
        .filter(|l| l.contains("i-0") || l.contains("task/"))
        .collect()
}

/// The instance id on a table row.
fn id_on(row: &str) -> &str {
    row.split_whitespace()
        .find(|w| w.starts_with("i-0"))
        .unwrap_or_else(|| panic!("no instance id on {row:?}"))
}

#[test]
fn y_copies_the_selected_id_with_osc52() {
    let t = demo("osc52", "");
    // Sort by name so the top row stays put while the campaign plays.
    t.keys(&[":", "s", "o", "r", "t", " ", "n", "a", "m", "e", "Enter"]);
    let s = t.wait_for("the name sort", 10, |s| s.contains("sort name↑"));
    let first = id_on(rows(&s)[0]).to_string();
    t.keys(&["y"]);
    t.wait_for("the copy notice", 10, |s| {
        s.contains(&format!("copied id: {first}"))
    });
    let raw = t.raw();
    let start = raw
        .windows(7)
        .position(|w| w == b"\x1b]52;c;")
        .expect("an OSC 52 sequence was written");
    let rest = &raw[start + 7..];
    let end = rest.iter().position(|b| *b == 0x07).expect("BEL ends it");
    let copied = base64::engine::general_purpose::STANDARD
        .decode(&rest[..end])
        .expect("base64 payload");
    assert_eq!(String::from_utf8(copied).unwrap(), first);
    t.keys(&["q"]);
    t.wait_for("the process to exit", 10, |s| s.contains("EXIT=0"));
}

#[test]
fn command_mode_opens_the_findings_board() {
    let t = demo("findings", "");
    t.wait_for("findings to arrive", 30, |s| {
        s.contains(" H ") || s.contains(" C ")
    });
    t.keys(&[":", "f", "i", "n", "Tab"]);
    t.wait_for("the completed command", 10, |s| s.contains(":findings"));
    t.keys(&["Enter"]);
    let s = t.wait_for("the findings board", 10, |s| s.contains("TYPE / FINDING"));
    assert!(
        s.contains("└ i-0"),
        "findings listed under their type:\n{s}"
    );
    assert!(s.contains("prod"), "{s}");
    t.keys(&["Escape"]);
    t.wait_for("the fleet again", 10, |s| s.contains("sort risk"));
}

/// True when an OPEN cell (`22`, `0-65535`, `all`, `22,80,443`, `2375-2376`) includes TCP 22.
fn opens_22(cell: &str) -> bool {
    cell.trim_end_matches('?').split(',').any(|p| {
        p == "all"
            || match p.split_once('-') {
                Some((a, b)) => {
                    a.parse::<u32>().is_ok_and(|a| a <= 22)
                        && b.trim_end_matches('…')
                            .parse::<u32>()
                            .is_ok_and(|b| b >= 22)
                }
                None => p == "22",
            }
    })
}

#[test]
fn a_port_22_filter_shows_only_rows_with_22_reachable() {
    let t = demo("port22", "");
    t.wait_for("world-open rows", 30, |s| rows(s).len() > 10);
    let before = rows(&t.screen()).len();
    t.keys(&["/", "p", "o", "r", "t", ":", "2", "2", "Enter"]);
    let s = t.wait_for("the filtered view", 10, |s| s.contains("/port:22 ("));
    let shown = rows(&s);
    assert!(!shown.is_empty() && shown.len() < before, "{s}");
    for r in &shown {
        // OPEN is the second-to-last column, PUB the last: reachable means a public address.
        let cols: Vec<&str> = r.split_whitespace().collect();
        let (open, public) = (cols[cols.len() - 2], cols[cols.len() - 1]);
        assert!(opens_22(open), "row does not open 22: {r}");
        assert_eq!(public, "pub", "reachable needs a public address: {r}");
    }
    // A typo is named inline, with its column.
    t.keys(&["/", " ", "s", "e", "v", ">", "=", "x"]);
    t.wait_for("the inline error", 10, |s| {
        s.contains("col 14: unknown severity `x`")
    });
    t.keys(&["C-c"]);
    t.wait_for("the process to exit", 10, |s| s.contains("EXIT=0"));
}

#[test]
fn two_marks_and_q_list_both_in_one_panel() {
    let dir = tempfile::tempdir().unwrap();
    let t = demo(
        "marks",
        &format!(
            "--case IR-9 --audit-log {}",
            dir.path().join("audit.jsonl").display()
        ),
    );
    t.keys(&[":", "s", "o", "r", "t", " ", "n", "a", "m", "e", "Enter"]);
    let s = t.wait_for("the name sort", 10, |s| s.contains("sort name↑"));
    let r = rows(&s);
    let (a, b) = (id_on(r[0]).to_string(), id_on(r[1]).to_string());
    t.keys(&["Space", "j", "Space"]);
    t.wait_for("two marks in the header", 10, |s| s.contains(" 2 MARKED "));
    t.keys(&["Q"]);
    let s = t.wait_for("the bulk panel with verdicts", 30, |s| {
        s.contains("QUARANTINE · 2 target(s)") && s.contains("type QUARANTINE 2 to act on 2")
    });
    assert!(
        s.contains(&a) && s.contains(&b),
        "both targets listed:\n{s}"
    );
    assert!(s.contains("account "), "grouped by account:\n{s}");
    assert!(s.contains("case IR-9"), "{s}");
    t.keys(&["Escape", "q"]);
    t.wait_for("the process to exit", 10, |s| s.contains("EXIT=0"));
}

#[test]
fn the_wall_shows_counters_and_only_quits() {
    let t = Term::start_sized(
        "wall",
        &wrapped("", "wall --demo --seed 3 --speed 40 --color never"),
        200,
        50,
    );
    let s = t.wait_for("the wall", 30, |s| {
        s.contains("WATCHFLOOR WALL") && s.contains("SATURATED")
    });
    assert!(
        s.contains("CRITICAL+HIGH FINDINGS") && s.contains("WORST") && s.contains("ALERTS"),
        "{s}"
    );
    assert!(s.contains("█"), "block digits:\n{s}");
    // Triage keys do nothing on the wall.
    t.keys(&["Space", "Q", "S"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let s = t.screen();
    assert!(
        !s.contains("MARKED") && !s.contains("QUARANTINE ·") && !s.contains("case id"),
        "{s}"
    );
    t.keys(&["q"]);
    t.wait_for("the process to exit", 10, |s| s.contains("EXIT=0"));
}
