//! Copy over SSH: `y` copies the selected id, `c` opens a menu (id, ARN, IPs, row JSON, finding
//! id). The text reaches the local clipboard through OSC 52, wrapped for tmux and screen.

use base64::Engine;

use crate::keymap::{Action, Key, KeyCode};

use super::{Command, Screen, State};

/// Largest text copied, in bytes: the whole sequence, wrapped for tmux or screen too, stays under
/// the 100,000 bytes terminals (hterm,
/// tmux's default `set-clipboard` buffer) accept in one OSC 52 sequence.
pub const MAX_COPY: usize = 74_000;

/// The terminal multiplexer between watchfloor and the terminal emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mux {
    /// None: the sequence goes to the terminal as is.
    None,
    /// tmux (`$TMUX` set): wrapped in a DCS passthrough, which tmux 3.3 and later pass on to
    /// the outer terminal only with `set -g allow-passthrough on`.
    Tmux,
    /// GNU screen (`$STY` set, no `$TMUX`): wrapped in DCS, in chunks screen accepts.
    Screen,
}

impl Mux {
    /// From the environment: `$TMUX`, then `$STY` (GNU screen's session). Not `$TERM`: over SSH
    /// from a tmux on the operator's machine the remote `$TERM` is often `screen-256color` with
    /// neither variable set, and the bare sequence is what that tmux forwards.
    pub fn detect(tmux: Option<&str>, sty: Option<&str>) -> Mux {
        if tmux.is_some_and(|t| !t.is_empty()) {
            Mux::Tmux
        } else if sty.is_some_and(|t| !t.is_empty()) {
            Mux::Screen
        } else {
            Mux::None
        }
    }
}

/// The bytes that put `text` on the clipboard (OSC 52, selection `c`), wrapped for `mux`.
pub fn osc52(text: &str, mux: Mux) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let seq = format!("\x1b]52;c;{b64}\x07");
    match mux {
        Mux::None => seq.into_bytes(),
        // Every ESC inside the passthrough is doubled.
        Mux::Tmux => format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b")).into_bytes(),
        // screen limits a DCS string to 768 bytes: one DCS per chunk, which it joins.
        Mux::Screen => {
            let mut out = Vec::new();
            for chunk in seq.as_bytes().chunks(760) {
                out.extend_from_slice(b"\x1bP");
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\x1b\\");
            }
            out
        }
    }
}

/// One thing the copy menu offers: its key, label and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Key that picks it.
    pub key: char,
    /// What it is.
    pub label: &'static str,
    /// The text copied.
    pub text: String,
}

/// What can be copied from the row (or finding) on screen; empty when nothing is selected.
pub fn choices(state: &State) -> Vec<Choice> {
    let mut out = Vec::new();
    let mut add = |key, label, text: Option<String>| {
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            out.push(Choice { key, label, text });
        }
    };
    let (row, finding) = match &state.ui.screen {
        Screen::Detail {
            scope, id, finding, ..
        } => (state.fleet.row(*scope, id), finding.clone()),
        Screen::Findings { selected, .. } => {
            let groups = super::findings::board(&state.fleet);
            let entries = super::findings::entries(&groups);
            match entries.get(super::findings::position(&entries, selected.as_ref())) {
                Some(super::findings::Entry::Finding(_, id)) => (None, Some(id.clone())),
                Some(super::findings::Entry::Group(kind)) => {
                    add('t', "finding type", Some(kind.clone()));
                    (None, None)
                }
                None => (None, None),
            }
        }
        Screen::Fleet => (state.selected_row(), None),
        Screen::Help { .. } => (None, None),
    };
    if let Some(r) = row {
        let sd = &state.fleet.scopes[r.scope];
        add('i', "id", Some(r.id().to_string()));
        let arn = match r.instance() {
            Some(i) => format!(
                "arn:{}:ec2:{}:{}:instance/{}",
                crate::config::region_partition(&sd.scope.region),
                sd.scope.region,
                sd.scope.account_id,
                i.instance_id
            ),
            None => r.id().to_string(),
        };
        add('a', "ARN", Some(arn));
        let private = r
            .subject
            .interfaces()
            .iter()
            .find_map(|n| n.private_ip.clone());
        add('p', "private IP", private);
        add('P', "public IP", r.subject.public_ip().map(str::to_string));
        let json = match (r.instance(), r.task()) {
            (Some(i), _) => serde_json::to_string_pretty(&crate::snapshot::instance_out(
                &state.fleet,
                r,
                i,
                state.now,
            )),
            (_, Some(t)) => serde_json::to_string_pretty(&crate::snapshot::task_out(
                &state.fleet,
                r,
                t,
                state.now,
            )),
            _ => Ok(String::new()),
        };
        add('j', "row as JSON", json.ok());
    }
    add('f', "finding id", finding);
    out
}

/// `y` copies the first choice (the id); `c` opens the menu.
pub fn start(state: &mut State, action: Action) -> Vec<Command> {
    let c = choices(state);
    match (action, c.first()) {
        (_, None) => {
            state.triage.notice = Some("nothing selected to copy".into());
            Vec::new()
        }
        (Action::CopyMenu, Some(_)) => {
            state.ui.copy_menu = true;
            Vec::new()
        }
        (_, Some(first)) => copy(state, first.label, first.text.clone()),
    }
}

/// Keys while the copy menu is open: a choice's key copies it, esc closes.
pub fn menu_key(state: &mut State, key: Key) -> Vec<Command> {
    if key.code == KeyCode::Esc {
        state.ui.copy_menu = false;
        return Vec::new();
    }
    let KeyCode::Char(k) = key.code else {
        return Vec::new();
    };
    match choices(state).into_iter().find(|c| c.key == k) {
        Some(c) => {
            state.ui.copy_menu = false;
            copy(state, c.label, c.text)
        }
        None => Vec::new(),
    }
}

/// The copy command, or a notice when the text is over the cap.
fn copy(state: &mut State, label: &str, text: String) -> Vec<Command> {
    if text.len() > MAX_COPY {
        state.triage.notice = Some(format!(
            "not copied: the {label} is {} bytes, over the {MAX_COPY}-byte clipboard cap",
            text.len()
        ));
        return Vec::new();
    }
    let shown: String = text
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(60)
        .collect();
    state.triage.notice = Some(format!(
        "copied {label}: {shown}{}",
        if shown.len() < text.len() { "…" } else { "" }
    ));
    vec![Command::Copy(text)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(b64: &[u8]) -> String {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn bare_sequence_decodes_to_the_text() {
        let b = osc52("i-0abc", Mux::None);
        assert!(b.starts_with(b"\x1b]52;c;") && b.ends_with(b"\x07"));
        assert_eq!(decode(&b[7..b.len() - 1]), "i-0abc");
    }

    #[test]
    fn tmux_wraps_in_passthrough_with_escapes_doubled() {
        let b = String::from_utf8(osc52("i-0abc", Mux::Tmux)).unwrap();
        assert!(b.starts_with("\x1bPtmux;\x1b\x1b]52;c;"), "{b:?}");
        assert!(b.ends_with("\x07\x1b\\"));
        let inner = &b["\x1bPtmux;\x1b\x1b]52;c;".len()..b.len() - 3];
        assert_eq!(decode(inner.as_bytes()), "i-0abc");
    }

    #[test]
    fn screen_chunks_stay_under_its_limit() {
        let text = "x".repeat(3000);
        let b = osc52(&text, Mux::Screen);
        let s = String::from_utf8(b).unwrap();
        let chunks: Vec<&str> = s
            .split("\x1b\\")
            .filter(|c| !c.is_empty())
            .map(|c| c.strip_prefix("\x1bP").expect("each chunk is a DCS"))
            .collect();
        assert!(chunks.len() > 1 && chunks.iter().all(|c| c.len() <= 768));
        let joined = chunks.concat();
        let b64 = joined
            .strip_prefix("\x1b]52;c;")
            .and_then(|j| j.strip_suffix('\x07'))
            .unwrap();
        assert_eq!(decode(b64.as_bytes()), text);
    }

    #[test]
    fn mux_detection() {
        assert_eq!(
            Mux::detect(Some("/tmp/tmux-0/default,1,0"), Some("1234.pts-0.host")),
            Mux::Tmux
        );
        assert_eq!(Mux::detect(Some(""), Some("1234.pts-0.host")), Mux::Screen);
        assert_eq!(Mux::detect(None, None), Mux::None);
        assert_eq!(Mux::detect(None, Some("")), Mux::None);
    }

    #[test]
    fn the_cap_keeps_the_sequence_under_100k() {
        for mux in [Mux::None, Mux::Tmux, Mux::Screen] {
            assert!(osc52(&"x".repeat(MAX_COPY), mux).len() < 100_000, "{mux:?}");
        }
    }
}
