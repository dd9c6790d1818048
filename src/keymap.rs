//! Key bindings: key strings like `ctrl+d`, built-in keymaps (`keymaps/*.toml`) and user overrides.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode as CtKeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use serde::Deserialize;

use crate::span::FileError;

/// Something the user can ask for with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Select the next row (or scroll down).
    MoveDown,
    /// Select the previous row (or scroll up).
    MoveUp,
    /// One page down.
    PageDown,
    /// One page up.
    PageUp,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// Drill into the selected instance.
    Open,
    /// Leave the current screen, clear the filter.
    Back,
    /// Type a filter.
    Filter,
    /// Sort by the next column.
    SortNext,
    /// Reverse the sort order.
    SortReverse,
    /// Show the key bindings.
    Help,
    /// Quit.
    Quit,
    /// Stop the selected instance (opens the confirmation panel).
    Stop,
    /// Quarantine the selected instance (opens the confirmation panel).
    Quarantine,
    /// Release the selected instance from quarantine (opens the confirmation panel).
    Release,
    /// Snapshot the selected instance's volumes (opens the confirmation panel).
    Snapshot,
    /// Confirm the action in the confirmation panel (the second, deliberate key).
    Confirm,
    /// Select the next finding in the detail screen.
    NextFinding,
    /// Archive the selected GuardDuty finding (opens the confirmation panel).
    ArchiveFinding,
    /// Look up who launched the instance (CloudTrail), in the detail screen.
    LaunchedBy,
    /// Open the command line (`:findings`, `:account prod`, ...).
    Command,
    /// Show the findings board.
    Findings,
    /// Mark or unmark the selected row (bulk triage acts on the marked rows).
    Mark,
    /// Clear every mark.
    ClearMarks,
    /// Copy the selected row's id to the clipboard (OSC 52).
    Copy,
    /// Open the copy menu (id, ARN, IPs, row JSON, finding id).
    CopyMenu,
}

impl Action {
    /// Every action, in help order.
    pub const ALL: &'static [Action] = &[
        Action::MoveDown,
        Action::MoveUp,
        Action::PageDown,
        Action::PageUp,
        Action::Top,
        Action::Bottom,
        Action::Open,
        Action::Back,
        Action::Filter,
        Action::SortNext,
        Action::SortReverse,
        Action::Help,
        Action::Quit,
        Action::Stop,
        Action::Quarantine,
        Action::Release,
        Action::Snapshot,
        Action::Confirm,
        Action::NextFinding,
        Action::ArchiveFinding,
        Action::LaunchedBy,
        Action::Command,
        Action::Findings,
        Action::Mark,
        Action::ClearMarks,
        Action::Copy,
        Action::CopyMenu,
    ];

    /// Name used in keymap files.
    pub fn name(self) -> &'static str {
        match self {
            Action::MoveDown => "move-down",
            Action::MoveUp => "move-up",
            Action::PageDown => "page-down",
            Action::PageUp => "page-up",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Open => "open",
            Action::Back => "back",
            Action::Filter => "filter",
            Action::SortNext => "sort-next",
            Action::SortReverse => "sort-reverse",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::Stop => "stop",
            Action::Quarantine => "quarantine",
            Action::Release => "release",
            Action::Snapshot => "snapshot",
            Action::Confirm => "confirm",
            Action::NextFinding => "next-finding",
            Action::ArchiveFinding => "archive-finding",
            Action::LaunchedBy => "launched-by",
            Action::Command => "command",
            Action::Findings => "findings",
            Action::Mark => "mark",
            Action::ClearMarks => "clear-marks",
            Action::Copy => "copy",
            Action::CopyMenu => "copy-menu",
        }
    }

    /// One-line description for the help screen.
    pub fn describe(self) -> &'static str {
        match self {
            Action::MoveDown => "next row / scroll down",
            Action::MoveUp => "previous row / scroll up",
            Action::PageDown => "page down",
            Action::PageUp => "page up",
            Action::Top => "first row",
            Action::Bottom => "last row",
            Action::Open => "drill into the instance or task",
            Action::Back => "go back / clear filter",
            Action::Filter => "filter rows (text, acct:, port:22 …)",
            Action::SortNext => "sort by next column",
            Action::SortReverse => "reverse sort order",
            Action::Help => "show this help",
            Action::Quit => "quit",
            Action::Stop => "stop instance / task (confirmed)",
            Action::Quarantine => "quarantine / scale service to 0",
            Action::Release => "release / restore service count",
            Action::Snapshot => "snapshot EBS volumes",
            Action::Confirm => "confirm the action shown",
            Action::NextFinding => "select next finding (detail)",
            Action::ArchiveFinding => "archive selected finding",
            Action::LaunchedBy => "who launched it (CloudTrail)",
            Action::Command => "command line (:findings, :account …)",
            Action::Findings => "findings board",
            Action::Mark => "mark / unmark row (bulk triage)",
            Action::ClearMarks => "clear all marks",
            Action::Copy => "copy id (OSC 52)",
            Action::CopyMenu => "copy menu: id, ARN, IP, JSON",
        }
    }

    /// Looks an action up by its keymap name.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }
}

/// A key without modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCode {
    /// A printable character (case matters: `G` is shift+g).
    Char(char),
    /// Enter / Return.
    Enter,
    /// Escape.
    Esc,
    /// Tab.
    Tab,
    /// Shift+Tab.
    BackTab,
    /// Backspace.
    Backspace,
    /// Delete.
    Delete,
    /// Insert.
    Insert,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Home.
    Home,
    /// End.
    End,
    /// Function key F1-F12.
    F(u8),
}

/// A key with modifiers, as bound in keymaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Control held.
    pub ctrl: bool,
    /// Alt/Option held.
    pub alt: bool,
    /// Shift held (only for non-character keys; characters carry their case).
    pub shift: bool,
}

impl Key {
    /// A plain key with no modifiers.
    pub const fn plain(code: KeyCode) -> Self {
        Key {
            code,
            ctrl: false,
            alt: false,
            shift: false,
        }
    }

    /// Ctrl + a character.
    pub const fn ctrl(c: char) -> Self {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
            alt: false,
            shift: false,
        }
    }

    /// Parses `ctrl+d`, `shift+tab`, `G`, `pgdown`, `space`, `?`, `f5`.
    pub fn parse(s: &str) -> Result<Key, String> {
        if s.is_empty() {
            return Err("empty key string".into());
        }
        let mut key = Key::plain(KeyCode::Esc);
        // "+" alone, or a trailing "++" means the plus character.
        let (mods, last) = if s == "+" {
            ("", "+")
        } else if let Some(m) = s.strip_suffix("++") {
            (m, "+")
        } else {
            match s.rsplit_once('+') {
                Some((m, l)) => (m, l),
                None => ("", s),
            }
        };
        if !mods.is_empty() {
            for m in mods.split('+') {
                match m.to_ascii_lowercase().as_str() {
                    "ctrl" | "control" => key.ctrl = true,
                    "alt" | "meta" | "option" => key.alt = true,
                    "shift" => key.shift = true,
                    other => {
                        return Err(format!(
                            "unknown modifier `{other}` in `{s}` (allowed: ctrl, alt, shift)"
                        ));
                    }
                }
            }
        }
        let mut chars = last.chars();
        key.code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match last.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" | "ins" => KeyCode::Insert,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdown" | "pgdn" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "space" => KeyCode::Char(' '),
                "plus" => KeyCode::Char('+'),
                f if f.starts_with('f')
                    && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
                {
                    KeyCode::F(f[1..].parse().unwrap_or(1))
                }
                _ => {
                    return Err(format!(
                        "unknown key `{last}` in `{s}` (use one character, or one of: enter, esc, tab, backtab, \
                         backspace, delete, insert, up, down, left, right, pageup, pagedown, home, end, space, f1-f12)"
                    ));
                }
            },
        };
        Ok(key.normalized())
    }

    /// Folds shift into the character's case and shift+tab into backtab.
    pub fn normalized(mut self) -> Key {
        match self.code {
            KeyCode::Char(c) if self.shift && c.is_ascii_lowercase() => {
                self.code = KeyCode::Char(c.to_ascii_uppercase());
                self.shift = false;
            }
            KeyCode::Char(_) => self.shift = false,
            KeyCode::Tab if self.shift => {
                self.code = KeyCode::BackTab;
                self.shift = false;
            }
            KeyCode::BackTab => self.shift = false,
            _ => {}
        }
        if self.ctrl
            && let KeyCode::Char(c) = self.code
        {
            self.code = KeyCode::Char(c.to_ascii_lowercase());
        }
        self
    }

    /// Converts a terminal key press; None for releases and keys we never bind.
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        if ev.kind == KeyEventKind::Release {
            return None;
        }
        let code = match ev.code {
            CtKeyCode::Char(c) => KeyCode::Char(c),
            CtKeyCode::Enter => KeyCode::Enter,
            CtKeyCode::Esc => KeyCode::Esc,
            CtKeyCode::Tab => KeyCode::Tab,
            CtKeyCode::BackTab => KeyCode::BackTab,
            CtKeyCode::Backspace => KeyCode::Backspace,
            CtKeyCode::Delete => KeyCode::Delete,
            CtKeyCode::Insert => KeyCode::Insert,
            CtKeyCode::Up => KeyCode::Up,
            CtKeyCode::Down => KeyCode::Down,
            CtKeyCode::Left => KeyCode::Left,
            CtKeyCode::Right => KeyCode::Right,
            CtKeyCode::PageUp => KeyCode::PageUp,
            CtKeyCode::PageDown => KeyCode::PageDown,
            CtKeyCode::Home => KeyCode::Home,
            CtKeyCode::End => KeyCode::End,
            CtKeyCode::F(n) => KeyCode::F(n),
            _ => return None,
        };
        Some(
            Key {
                code,
                ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
                alt: ev.modifiers.contains(KeyModifiers::ALT),
                shift: ev.modifiers.contains(KeyModifiers::SHIFT),
            }
            .normalized(),
        )
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl+")?;
        }
        if self.alt {
            f.write_str("alt+")?;
        }
        if self.shift {
            f.write_str("shift+")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift+tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdown"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::F(n) => write!(f, "f{n}"),
        }
    }
}

/// Built-in keymaps, compiled in from `keymaps/`.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../keymaps/default.toml")),
    ("vim", include_str!("../keymaps/vim.toml")),
];

/// An active set of bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    /// Name (built-in name or file path).
    pub name: String,
    bindings: BTreeMap<Key, Action>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    extends: Option<toml::Spanned<String>>,
    #[serde(default)]
    keys: BTreeMap<String, toml::Spanned<toml::Value>>,
}

impl Keymap {
    /// The action bound to `key`, if any. Ctrl+C always quits, whatever the keymap says.
    pub fn action(&self, key: &Key) -> Option<Action> {
        if *key == Key::ctrl('c') {
            return Some(Action::Quit);
        }
        self.bindings.get(key).copied()
    }

    /// Keys bound to `action`, in key order.
    pub fn keys_for(&self, action: Action) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|(_, a)| **a == action)
            .map(|(k, _)| *k)
            .collect()
    }

    /// Keys for `action` joined for display (`j, down`), or `unbound`.
    pub fn keys_label(&self, action: Action) -> String {
        let keys = self.keys_for(action);
        if keys.is_empty() {
            "unbound".into()
        } else {
            keys.iter()
                .map(Key::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    /// The default keymap.
    pub fn default_map() -> Keymap {
        Self::builtin("default").expect("built-in default keymap is valid (tested)")
    }

    /// A built-in keymap by name.
    pub fn builtin(name: &str) -> Result<Keymap, FileError> {
        let (_, src) = BUILTIN.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            FileError::whole(
                Path::new(name),
                format!(
                    "no built-in keymap `{name}` (built-in: {})",
                    builtin_names()
                ),
            )
        })?;
        Self::parse(&PathBuf::from(format!("keymaps/{name}.toml")), src, None)
    }

    /// Loads `spec`: a built-in name, a name found in `user_dir` as `NAME.toml`, or a file path.
    pub fn load(spec: &str, user_dir: Option<&Path>) -> Result<Keymap, FileError> {
        Self::load_at(spec, user_dir, 0)
    }

    fn load_at(spec: &str, user_dir: Option<&Path>, depth: usize) -> Result<Keymap, FileError> {
        match crate::span::read_user_file(spec, user_dir, "keymap")? {
            Some((p, src)) => Self::parse_at(&p, &src, user_dir, depth),
            None => Self::builtin(spec),
        }
    }

    /// Parses keymap TOML. `extends` (a built-in or user keymap name) is applied first; a user
    /// file named like a built-in (e.g. `default.toml`) extends that built-in.
    pub fn parse(file: &Path, src: &str, user_dir: Option<&Path>) -> Result<Keymap, FileError> {
        Self::parse_at(file, src, user_dir, 0)
    }

    fn parse_at(
        file: &Path,
        src: &str,
        user_dir: Option<&Path>,
        depth: usize,
    ) -> Result<Keymap, FileError> {
        let parsed: KeymapFile =
            toml::from_str(src).map_err(|e| FileError::from_toml(file, src, &e))?;
        let mut bindings = BTreeMap::new();
        if let Some(base) = &parsed.extends {
            let base_map =
                crate::span::resolve_extends(file, src, base, depth, Self::builtin, |name, d| {
                    Self::load_at(name, user_dir, d)
                })?;
            bindings = base_map.bindings;
        }
        // Actions redefined here replace the base's keys for that action.
        let mut seen: BTreeMap<Key, (Action, usize)> = BTreeMap::new();
        let mut entries: Vec<(&String, &toml::Spanned<toml::Value>)> = parsed.keys.iter().collect();
        entries.sort_by_key(|(_, v)| v.span().start);
        for (name, value) in entries {
            let at = value.span().start;
            let action = Action::from_name(name).ok_or_else(|| {
                FileError::at(
                    file,
                    src,
                    at,
                    format!(
                        "unknown action `{name}` (allowed: {})",
                        Action::ALL
                            .iter()
                            .map(|a| a.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
            let strings: Vec<&str> = match value.get_ref() {
                toml::Value::String(s) => vec![s.as_str()],
                toml::Value::Array(items) => items
                    .iter()
                    .map(|v| {
                        v.as_str().ok_or_else(|| {
                            FileError::at(
                                file,
                                src,
                                at,
                                format!(
                                    "keys for `{name}` must be strings, like [\"j\", \"down\"]"
                                ),
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?,
                _ => {
                    return Err(FileError::at(
                        file,
                        src,
                        at,
                        format!(
                            "keys for `{name}` must be a string or a list of strings, like [\"j\", \"down\"]"
                        ),
                    ));
                }
            };
            bindings.retain(|_, a| *a != action);
            for s in strings {
                let key = Key::parse(s).map_err(|m| FileError::at(file, src, at, m))?;
                if let Some((other, other_at)) = seen.get(&key) {
                    let (line, _) = crate::span::line_col(src, *other_at);
                    return Err(FileError::at(
                        file,
                        src,
                        at,
                        format!(
                            "key `{key}` is bound twice: to `{}` (line {line}) and to `{name}`; remove one",
                            other.name()
                        ),
                    ));
                }
                seen.insert(key, (action, at));
                bindings.insert(key, action);
            }
        }
        // A key inherited from the base and rebound here: the new binding wins (checked above only
        // within this file), but two actions on one key can never happen because it is a map.
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("keymap")
            .to_string();
        let km = Keymap { name, bindings };
        if km.keys_for(Action::Quit).is_empty() {
            return Err(FileError::whole(
                file,
                "no key is bound to `quit`; add e.g. quit = [\"q\"]",
            ));
        }
        Ok(km)
    }
}

/// Names of the built-in keymaps, comma separated.
pub fn builtin_names() -> String {
    BUILTIN
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Keymap, String> {
        Keymap::parse(Path::new("my.toml"), src, None).map_err(|e| e.to_string())
    }

    #[test]
    fn builtins_parse_and_bind_every_action() {
        for (name, _) in BUILTIN {
            let km = Keymap::builtin(name).unwrap();
            for a in Action::ALL {
                assert!(!km.keys_for(*a).is_empty(), "{name}: {} unbound", a.name());
            }
        }
    }

    #[test]
    fn key_strings() {
        let cases = [
            ("j", "j"),
            ("G", "G"),
            ("shift+g", "G"),
            ("ctrl+d", "ctrl+d"),
            ("Ctrl+D", "ctrl+d"),
            ("ctrl+shift+x", "ctrl+x"),
            ("shift+tab", "shift+tab"),
            ("pgdown", "pgdown"),
            ("PageUp", "pgup"),
            ("space", "space"),
            ("?", "?"),
            ("+", "+"),
            ("ctrl++", "ctrl++"),
            ("f5", "f5"),
            ("alt+enter", "alt+enter"),
        ];
        for (input, shown) in cases {
            assert_eq!(Key::parse(input).unwrap().to_string(), shown, "{input}");
        }
    }

    #[test]
    fn bad_key_strings_say_what_is_allowed() {
        assert_eq!(
            Key::parse("ctrl+shfit+x").unwrap_err(),
            "unknown modifier `shfit` in `ctrl+shfit+x` (allowed: ctrl, alt, shift)"
        );
        assert!(
            Key::parse("ctrl+pgdwn")
                .unwrap_err()
                .starts_with("unknown key `pgdwn`")
        );
        assert!(Key::parse("f13").is_err());
        assert!(Key::parse("").is_err());
    }

    #[test]
    fn unknown_action_names_line_and_allowed() {
        let e = parse("[keys]\nquit = \"q\"\nmvoe-down = [\"j\"]\n").unwrap_err();
        assert!(
            e.starts_with("my.toml:3:13: unknown action `mvoe-down` (allowed: move-down,"),
            "{e}"
        );
    }

    #[test]
    fn unknown_top_level_key_is_rejected() {
        let e = parse("[bindings]\nquit = \"q\"\n").unwrap_err();
        assert!(e.starts_with("my.toml:1:2:"), "{e}");
        assert!(e.contains("unknown field `bindings`"), "{e}");
    }

    #[test]
    fn duplicate_binding_names_both() {
        let e = parse("[keys]\nquit = \"q\"\ntop = [\"g\", \"q\"]\n").unwrap_err();
        assert_eq!(
            e,
            "my.toml:3:7: key `q` is bound twice: to `quit` (line 2) and to `top`; remove one"
        );
    }

    #[test]
    fn bad_key_in_file_names_line() {
        let e = parse("[keys]\nquit = [\"ctrl+qq\"]\n").unwrap_err();
        assert!(e.starts_with("my.toml:2:8: unknown key `qq`"), "{e}");
    }

    #[test]
    fn wrong_value_type() {
        let e = parse("[keys]\nquit = 5\n").unwrap_err();
        assert!(e.contains("must be a string or a list of strings"), "{e}");
    }

    #[test]
    fn extends_overrides_one_action() {
        let km = parse("extends = \"default\"\n[keys]\nmove-down = [\"n\"]\n").unwrap();
        let def = Keymap::default_map();
        assert_eq!(km.action(&Key::parse("n").unwrap()), Some(Action::MoveDown));
        assert_eq!(km.action(&Key::parse("j").unwrap()), None);
        assert_eq!(km.keys_for(Action::Quit), def.keys_for(Action::Quit));
    }

    #[test]
    fn extends_unknown_base() {
        let e = parse("extends = \"emacs\"\n").unwrap_err();
        assert!(e.starts_with("my.toml:1:11: cannot extend `emacs`"), "{e}");
        assert!(e.contains("built-in: default, vim"), "{e}");
    }

    #[test]
    fn extends_cycles_and_self_named_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "extends = \"b\"\n").unwrap();
        std::fs::write(dir.path().join("b.toml"), "extends = \"a\"\n").unwrap();
        let e = Keymap::load("a", Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("levels of `extends`: is there a cycle?"), "{e}");
        // A user `default.toml` extends the built-in default.
        std::fs::write(
            dir.path().join("default.toml"),
            "extends = \"default\"\n[keys]\nquit = [\"x\"]\n",
        )
        .unwrap();
        let km = Keymap::load("default", Some(dir.path())).unwrap();
        assert_eq!(km.action(&Key::parse("x").unwrap()), Some(Action::Quit));
        assert_eq!(km.action(&Key::parse("j").unwrap()), Some(Action::MoveDown));
    }

    #[test]
    fn extends_cannot_leave_quit_unbound() {
        let e = parse("extends = \"default\"\n[keys]\nquit = []\n").unwrap_err();
        assert!(e.contains("no key is bound to `quit`"), "{e}");
    }

    #[test]
    fn ctrl_c_always_quits() {
        let km = parse("[keys]\nquit = \"x\"\n").unwrap();
        assert_eq!(km.action(&Key::ctrl('c')), Some(Action::Quit));
    }

    #[test]
    fn missing_quit_is_an_error() {
        let e = parse("[keys]\ntop = \"g\"\n").unwrap_err();
        assert!(e.contains("no key is bound to `quit`"), "{e}");
    }
}
