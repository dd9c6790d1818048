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

/// Presses `key` until the screen shows `done`. A key that acts on the selected row waits when
/// a poll changed that row less than 2 s ago (the demo campaign re-ranks often): the operator's
/// answer, looking again and pressing again, is what this does.
fn press(t: &Term, key: &str, what: &str, done: impl Fn(&str) -> bool) -> String {
    for _ in 0..10 {
        t.keys(&[key]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while std::time::Instant::now() < deadline {
            let s = t.screen();
            if done(&s) {
                return s;
            }
            if s.contains("just changed") {
                std::thread::sleep(std::time::Duration::from_millis(2100));
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    panic!("{what}: never happened; screen:\n{}", t.screen());
}

/// The id a `copied id: ID` notice names.
fn copied(s: &str) -> String {
    let at = s.find("copied id: ").expect("a copy notice") + "copied id: ".len();
    s[at..].split_whitespace().next().unwrap().to_string()
}

/// Ids of the marked rows (`✓` in the first column).
fn marked(s: &str) -> Vec<String> {
    rows(s)
        .into_iter()
        .filter(|r| r.starts_with('✓'))
        .map(|r| id_on(r).to_string())
        .collect()
}

/// `:sort name`: the top of the table changes less while the campaign plays.
fn sort_by_name(t: &Term) {
    t.keys(&[":", "s", "o", "r", "t", " ", "n", "a", "m", "e", "Enter"]);
    t.wait_for("the name sort", 10, |s| s.contains("sort name↑"));
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
    sort_by_name(&t);
    let s = press(&t, "y", "the copy", |s| s.contains("copied id: "));
    let copied_id = copied(&s);
    assert!(
        rows(&s).iter().any(|r| r.contains(&copied_id)),
        "the copied id is a row of the table: {copied_id}\n{s}"
    );
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
    assert_eq!(String::from_utf8(copied).unwrap(), copied_id);
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
        // OPEN then PUB, and the $/H column last when it shows a price (tasks leave it empty):
        // reachable means a public address.
        let mut cols: Vec<&str> = r.split_whitespace().collect();
        if cols
            .last()
            .is_some_and(|c| c.starts_with('$') || *c == "unknown")
        {
            cols.pop();
        }
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
    sort_by_name(&t);
    press(&t, "Space", "the first mark", |s| s.contains(" 1 MARKED "));
    t.keys(&["j"]);
    let s = press(&t, "Space", "the second mark", |s| s.contains(" 2 MARKED "));
    let m = marked(&s);
    assert_eq!(m.len(), 2, "{s}");
    let (a, b) = (m[0].clone(), m[1].clone());
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
    // Keys other than quit change nothing (the unit test `the_wall_ignores_triage_keys` checks
    // the state); the wall is still drawn, and q quits.
    t.keys(&["Space", "Q", "S", ":", "/"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(t.screen().contains("WATCHFLOOR WALL"));
    t.keys(&["q"]);
    t.wait_for("the process to exit", 10, |s| s.contains("EXIT=0"));
}

#[test]
fn with_mouse_a_click_selects_the_row() {
    let t = demo("mouse", "--mouse");
    sort_by_name(&t);
    // A click on the third table row selects it; `y` then copies what is selected. The campaign
    // may re-rank between the click and the copy: then click again.
    for attempt in 0..5 {
        let s = t.screen();
        let lines: Vec<&str> = s.lines().collect();
        let y = lines
            .iter()
            .position(|l| l.contains("RISK"))
            .expect("the column header")
            + 3;
        let third = id_on(lines[y]).to_string();
        // An SGR mouse press and release of the left button on that line, column 10.
        t.keys(&[
            &format!("\x1b[<0;10;{}M", y + 1),
            &format!("\x1b[<0;10;{}m", y + 1),
        ]);
        let s = press(&t, "y", "the copy", |s| s.contains("copied id: "));
        if copied(&s) == third {
            break;
        }
        assert!(
            attempt < 4,
            "the clicked row was never the one copied:\n{s}"
        );
    }
    t.keys(&["q"]);
    t.wait_for("the process to exit", 10, |s| s.contains("EXIT=0"));
    // The terminal's mouse mode was turned on, and off again on the way out.
    let raw = t.raw();
    let at = |seq: &[u8]| raw.windows(seq.len()).position(|w| w == seq);
    let on = at(b"\x1b[?1000h").expect("mouse capture enabled");
    let off = at(b"\x1b[?1000l").expect("mouse capture disabled on exit");
    assert!(on < off);
}
