//! Colour themes: built-in `themes/*.toml`, user themes, truecolor / 256-colour / NO_COLOR output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::span::FileError;

/// Built-in themes, compiled in from `themes/`.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../themes/default.toml")),
    ("light", include_str!("../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.toml"),
    ),
];

/// How many colours the terminal gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// 24-bit colour.
    TrueColor,
    /// xterm 256-colour palette.
    Ansi256,
    /// No colour at all (NO_COLOR): meaning carried by glyphs, bold and reverse.
    None,
}

impl ColorMode {
    /// Picks the mode from NO_COLOR and COLORTERM, as the terminal advertises.
    pub fn detect() -> Self {
        Self::from_env(
            std::env::var_os("NO_COLOR")
                .map(|v| !v.is_empty())
                .unwrap_or(false),
            std::env::var("COLORTERM").ok().as_deref(),
        )
    }

    /// Pure form of [`ColorMode::detect`].
    pub fn from_env(no_color: bool, colorterm: Option<&str>) -> Self {
        if no_color {
            Self::None
        } else if matches!(colorterm, Some("truecolor" | "24bit")) {
            Self::TrueColor
        } else {
            Self::Ansi256
        }
    }
}

/// Every colour role a theme defines (kebab-case in the TOML).
pub const ROLES: &[&str] = &[
    "bg",
    "fg",
    "muted",
    "border",
    "title",
    "header-bg",
    "header-fg",
    "selected-bg",
    "selected-fg",
    "accent",
    "critical",
    "high",
    "medium",
    "low",
    "ok",
    "loading",
    "error",
    "stale",
    "cpu-low",
    "cpu-mid",
    "cpu-high",
    "world-open",
];

/// A colour as written in a theme: truecolor with a 256-colour fallback, or a palette index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThemeColor {
    /// 24-bit value, if given.
    pub rgb: Option<(u8, u8, u8)>,
    /// Palette index used without truecolor (derived from `rgb` when not given).
    pub ansi: Option<u8>,
}

impl ThemeColor {
    /// Terminal default colour.
    pub const RESET: ThemeColor = ThemeColor {
        rgb: None,
        ansi: None,
    };

    /// The ratatui colour for a mode.
    pub fn to_color(self, mode: ColorMode) -> Color {
        match mode {
            ColorMode::None => Color::Reset,
            ColorMode::TrueColor => match (self.rgb, self.ansi) {
                (Some((r, g, b)), _) => Color::Rgb(r, g, b),
                (None, Some(i)) => Color::Indexed(i),
                _ => Color::Reset,
            },
            ColorMode::Ansi256 => match (self.ansi, self.rgb) {
                (Some(i), _) => Color::Indexed(i),
                (None, Some(rgb)) => Color::Indexed(nearest_ansi256(rgb)),
                _ => Color::Reset,
            },
        }
    }
}

/// Nearest xterm-256 palette index (cube 16-231 or grey ramp 232-255) for an RGB value.
pub fn nearest_ansi256((r, g, b): (u8, u8, u8)) -> u8 {
    const STEPS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let idx = |v: u8| {
        STEPS
            .iter()
            .enumerate()
            .min_by_key(|(_, s)| (i32::from(**s) - i32::from(v)).abs())
            .map_or(0, |(i, _)| i as u8)
    };
    let (ri, gi, bi) = (idx(r), idx(g), idx(b));
    let cube = (STEPS[ri as usize], STEPS[gi as usize], STEPS[bi as usize]);
    let dist = |(a, b2, c): (u8, u8, u8)| {
        let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).pow(2);
        d(a, r) + d(b2, g) + d(c, b)
    };
    let avg = (u32::from(r) + u32::from(g) + u32::from(b)) / 3;
    let grey_i = (((avg as i32 - 8).max(0) + 5) / 10).min(23) as u8;
    let grey_v = 8 + 10 * grey_i;
    if dist((grey_v, grey_v, grey_v)) < dist(cube) {
        232 + grey_i
    } else {
        16 + 36 * ri + 6 * gi + bi
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    extends: Option<toml::Spanned<String>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    colors: BTreeMap<String, toml::Spanned<toml::Value>>,
}

/// A resolved theme: one style per role, ready for rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// Theme name.
    pub name: String,
    /// Colour mode it was resolved for.
    pub mode: ColorMode,
    colors: BTreeMap<String, ThemeColor>,
}

impl Theme {
    /// Loads `spec`: a built-in name, `NAME.toml` in `user_dir`, or a file path.
    pub fn load(spec: &str, user_dir: Option<&Path>, mode: ColorMode) -> Result<Theme, FileError> {
        Self::load_at(spec, user_dir, mode, 0)
    }

    fn load_at(
        spec: &str,
        user_dir: Option<&Path>,
        mode: ColorMode,
        depth: usize,
    ) -> Result<Theme, FileError> {
        match crate::span::read_user_file(spec, user_dir, "theme")? {
            Some((p, src)) => Self::parse_at(&p, &src, user_dir, mode, depth),
            None => Self::builtin(spec, mode),
        }
    }

    /// A built-in theme.
    pub fn builtin(name: &str, mode: ColorMode) -> Result<Theme, FileError> {
        let (_, src) = BUILTIN.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            FileError::whole(
                Path::new(name),
                format!(
                    "no theme `{name}` (built-in: {}; or a path to a .toml file)",
                    builtin_names()
                ),
            )
        })?;
        Self::parse(
            &PathBuf::from(format!("themes/{name}.toml")),
            src,
            None,
            mode,
        )
    }

    /// The default dark theme.
    pub fn default_theme(mode: ColorMode) -> Theme {
        Self::builtin("default", mode).expect("built-in default theme is valid (tested)")
    }

    /// Parses theme TOML. Without `extends` every role must be given; with it, any subset. A user
    /// file named like a built-in (e.g. `default.toml`) extends that built-in.
    pub fn parse(
        file: &Path,
        src: &str,
        user_dir: Option<&Path>,
        mode: ColorMode,
    ) -> Result<Theme, FileError> {
        Self::parse_at(file, src, user_dir, mode, 0)
    }

    fn parse_at(
        file: &Path,
        src: &str,
        user_dir: Option<&Path>,
        mode: ColorMode,
        depth: usize,
    ) -> Result<Theme, FileError> {
        let parsed: ThemeFile =
            toml::from_str(src).map_err(|e| FileError::from_toml(file, src, &e))?;
        let _ = parsed.description;
        let mut colors = match &parsed.extends {
            Some(base) => {
                crate::span::resolve_extends(
                    file,
                    src,
                    base,
                    depth,
                    |own| Theme::builtin(own, mode),
                    |name, d| Theme::load_at(name, user_dir, mode, d),
                )?
                .colors
            }
            None => BTreeMap::new(),
        };
        for (role, value) in &parsed.colors {
            let at = value.span().start;
            if !ROLES.contains(&role.as_str()) {
                return Err(FileError::at(
                    file,
                    src,
                    at,
                    format!(
                        "unknown colour role `{role}` (allowed: {})",
                        ROLES.join(", ")
                    ),
                ));
            }
            let c = parse_color(value.get_ref())
                .map_err(|m| FileError::at(file, src, at, format!("`{role}`: {m}")))?;
            colors.insert(role.clone(), c);
        }
        let missing: Vec<&str> = ROLES
            .iter()
            .copied()
            .filter(|r| !colors.contains_key(*r))
            .collect();
        if !missing.is_empty() {
            return Err(FileError::whole(
                file,
                format!(
                    "missing colour roles: {} (set them, or start the file with extends = \"default\")",
                    missing.join(", ")
                ),
            ));
        }
        Ok(Theme {
            name: file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("theme")
                .to_string(),
            mode,
            colors,
        })
    }

    /// The colour of a role (Reset under NO_COLOR).
    pub fn color(&self, role: &str) -> Color {
        self.colors
            .get(role)
            .copied()
            .unwrap_or(ThemeColor::RESET)
            .to_color(self.mode)
    }

    /// True when colours are off.
    pub fn no_color(&self) -> bool {
        self.mode == ColorMode::None
    }

    /// Base style: fg on bg.
    pub fn base(&self) -> Style {
        Style::new().fg(self.color("fg")).bg(self.color("bg"))
    }

    /// Foreground-only style of a role.
    pub fn fg(&self, role: &str) -> Style {
        Style::new().fg(self.color(role))
    }

    /// Selected row: reversed video under NO_COLOR so the cursor is always visible.
    pub fn selected(&self) -> Style {
        if self.no_color() {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
                .fg(self.color("selected-fg"))
                .bg(self.color("selected-bg"))
                .add_modifier(Modifier::BOLD)
        }
    }

    /// An account's name in its configured colour (bold, so it stands out without colour too).
    pub fn account(&self, color: Option<ThemeColor>) -> Style {
        let s = Style::new().add_modifier(Modifier::BOLD);
        match color {
            Some(c) if !self.no_color() => s.fg(c.to_color(self.mode)),
            _ => s,
        }
    }

    /// Header bar style.
    pub fn header(&self) -> Style {
        if self.no_color() {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
                .fg(self.color("header-fg"))
                .bg(self.color("header-bg"))
        }
    }

    /// Style for a severity band (bold for high/critical so NO_COLOR still shows weight).
    pub fn severity(&self, band: crate::model::SeverityBand) -> Style {
        use crate::model::SeverityBand::*;
        let s = self.fg(match band {
            Critical => "critical",
            High => "high",
            Medium => "medium",
            Low => "low",
        });
        match band {
            Critical | High => s.add_modifier(Modifier::BOLD),
            _ => s,
        }
    }
}

/// Named colours an account may take (`color = "red"`), as truecolor with a 256-colour index.
pub const ACCOUNT_COLORS: &[(&str, (u8, u8, u8), u8)] = &[
    ("red", (0xff, 0x00, 0x00), 196),
    ("orange", (0xff, 0x87, 0x00), 208),
    ("yellow", (0xff, 0xd7, 0x00), 220),
    ("green", (0x00, 0xd7, 0x5f), 41),
    ("cyan", (0x00, 0xd7, 0xd7), 44),
    ("blue", (0x5f, 0x87, 0xff), 69),
    ("magenta", (0xd7, 0x5f, 0xd7), 170),
    ("white", (0xff, 0xff, 0xff), 231),
    ("grey", (0xa8, 0xa8, 0xa8), 248),
];

/// An account's `color`: a name of [`ACCOUNT_COLORS`] or `#rrggbb`.
pub fn account_color(s: &str) -> Result<ThemeColor, String> {
    if let Some((_, rgb, ansi)) = ACCOUNT_COLORS
        .iter()
        .find(|(n, ..)| n.eq_ignore_ascii_case(s))
    {
        return Ok(ThemeColor {
            rgb: Some(*rgb),
            ansi: Some(*ansi),
        });
    }
    let names: Vec<&str> = ACCOUNT_COLORS.iter().map(|(n, ..)| *n).collect();
    parse_hex(s)
        .map(|rgb| ThemeColor {
            rgb: Some(rgb),
            ansi: None,
        })
        .map_err(|_| format!("`{s}`: expected one of {} or \"#rrggbb\"", names.join(", ")))
}

/// Parses one colour value: `"#rrggbb"`, a palette index 0-255, `"default"`, or
/// `{ hex = "#rrggbb", ansi = N }` (explicit 256-colour fallback).
fn parse_color(v: &toml::Value) -> Result<ThemeColor, String> {
    const HELP: &str = "expected \"#rrggbb\", a 256-colour index 0-255, \"default\", or { hex = \"#rrggbb\", ansi = 0-255 }";
    match v {
        toml::Value::String(s) if s == "default" || s == "reset" => Ok(ThemeColor::RESET),
        toml::Value::String(s) => Ok(ThemeColor {
            rgb: Some(parse_hex(s).map_err(|m| format!("{m}; {HELP}"))?),
            ansi: None,
        }),
        toml::Value::Integer(i) => Ok(ThemeColor {
            rgb: None,
            ansi: Some(u8::try_from(*i).map_err(|_| format!("index {i} out of range; {HELP}"))?),
        }),
        toml::Value::Table(t) => {
            let mut c = ThemeColor::RESET;
            for (k, v) in t {
                match (k.as_str(), v) {
                    ("hex", toml::Value::String(s)) => {
                        c.rgb = Some(parse_hex(s).map_err(|m| format!("{m}; {HELP}"))?)
                    }
                    ("ansi", toml::Value::Integer(i)) => {
                        c.ansi = Some(
                            u8::try_from(*i)
                                .map_err(|_| format!("index {i} out of range; {HELP}"))?,
                        )
                    }
                    _ => return Err(format!("unexpected `{k}`; {HELP}")),
                }
            }
            Ok(c)
        }
        _ => Err(HELP.to_string()),
    }
}

fn parse_hex(s: &str) -> Result<(u8, u8, u8), String> {
    let h = s
        .strip_prefix('#')
        .filter(|h| h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()))
        .ok_or_else(|| format!("`{s}` is not a colour"))?;
    let p = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).map_err(|e| e.to_string());
    Ok((p(0)?, p(2)?, p(4)?))
}

/// Names of the built-in themes, comma separated.
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

    fn parse(src: &str) -> Result<Theme, String> {
        Theme::parse(Path::new("t.toml"), src, None, ColorMode::TrueColor)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn builtins_define_every_role() {
        for (name, _) in BUILTIN {
            for mode in [ColorMode::TrueColor, ColorMode::Ansi256, ColorMode::None] {
                Theme::builtin(name, mode).unwrap();
            }
        }
    }

    #[test]
    fn modes_pick_truecolor_fallback_or_nothing() {
        let src = "extends = \"default\"\n[colors]\ncritical = { hex = \"#ff0000\", ansi = 196 }\nhigh = \"#ff8700\"\nlow = 33\n";
        let tc = Theme::parse(Path::new("t.toml"), src, None, ColorMode::TrueColor).unwrap();
        assert_eq!(tc.color("critical"), Color::Rgb(255, 0, 0));
        assert_eq!(tc.color("low"), Color::Indexed(33));
        let a = Theme::parse(Path::new("t.toml"), src, None, ColorMode::Ansi256).unwrap();
        assert_eq!(a.color("critical"), Color::Indexed(196));
        assert_eq!(a.color("high"), Color::Indexed(208));
        let n = Theme::parse(Path::new("t.toml"), src, None, ColorMode::None).unwrap();
        assert_eq!(n.color("critical"), Color::Reset);
        assert!(n.selected().add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn nearest_palette_entries() {
        assert_eq!(nearest_ansi256((255, 0, 0)), 196);
        assert_eq!(nearest_ansi256((0, 0, 0)), 16);
        assert_eq!(nearest_ansi256((255, 255, 255)), 231);
        assert_eq!(nearest_ansi256((128, 128, 128)), 244);
    }

    #[test]
    fn no_color_and_colorterm() {
        assert_eq!(
            ColorMode::from_env(true, Some("truecolor")),
            ColorMode::None
        );
        assert_eq!(
            ColorMode::from_env(false, Some("24bit")),
            ColorMode::TrueColor
        );
        assert_eq!(ColorMode::from_env(false, None), ColorMode::Ansi256);
    }

    #[test]
    fn extends_cycle_is_an_error_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "extends = \"b\"\n").unwrap();
        std::fs::write(dir.path().join("b.toml"), "extends = \"a\"\n").unwrap();
        let e = Theme::load("a", Some(dir.path()), ColorMode::None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is there a cycle?"), "{e}");
        std::fs::write(
            dir.path().join("default.toml"),
            "extends = \"default\"\n[colors]\nhigh = 1\n",
        )
        .unwrap();
        let t = Theme::load("default", Some(dir.path()), ColorMode::Ansi256).unwrap();
        assert_eq!(t.color("high"), Color::Indexed(1));
    }

    #[test]
    fn errors_name_line_and_fix() {
        let e = parse("extends = \"default\"\n[colors]\ncritcal = \"#ff0000\"\n").unwrap_err();
        assert!(
            e.starts_with("t.toml:3:11: unknown colour role `critcal` (allowed: bg, fg"),
            "{e}"
        );
        let e = parse("extends = \"default\"\n[colors]\nhigh = \"#ff00\"\n").unwrap_err();
        assert!(
            e.starts_with("t.toml:3:8: `high`: `#ff00` is not a colour; expected"),
            "{e}"
        );
        let e = parse("extends = \"default\"\n[colors]\nlow = 300\n").unwrap_err();
        assert!(e.contains("index 300 out of range"), "{e}");
        let e = parse("[colors]\nfg = \"#ffffff\"\n").unwrap_err();
        assert!(
            e.starts_with("t.toml: missing colour roles: bg, muted"),
            "{e}"
        );
        let e = parse("extends = \"solarized\"\n").unwrap_err();
        assert!(e.contains("cannot extend `solarized`"), "{e}");
        let e = parse("colours = 1\n").unwrap_err();
        assert!(
            e.starts_with("t.toml:1:1:") && e.contains("unknown field `colours`"),
            "{e}"
        );
        let e = parse("[colors\n").unwrap_err();
        assert!(e.starts_with("t.toml:1:"), "{e}");
    }
}
