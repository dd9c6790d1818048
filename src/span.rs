//! Turning byte spans in TOML files into `file:line:column` messages.

use std::fmt;
use std::path::{Path, PathBuf};

/// An error in a user-editable file, located precisely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// File the error is in (or the built-in name, e.g. `<built-in keymap vim>`).
    pub file: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl FileError {
    /// Builds an error located at byte offset `offset` of `src`.
    pub fn at(file: &Path, src: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_col(src, offset);
        Self {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    /// Builds an error for the whole file (unreadable, missing).
    pub fn whole(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
        }
    }

    /// Converts a TOML parse/deserialize error, keeping its location.
    pub fn from_toml(file: &Path, src: &str, err: &toml::de::Error) -> Self {
        let msg = err.message().trim().to_string();
        match err.span() {
            Some(span) => Self::at(file, src, span.start, msg),
            None => Self::whole(file, msg),
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        } else {
            write!(f, "{}: {}", self.file.display(), self.message)
        }
    }
}

impl std::error::Error for FileError {}

/// Finds what a theme or keymap name means: a path (ends in `.toml` or contains `/`), else
/// `NAME.toml` in `user_dir` when it exists; then reads it. None: it names a built-in.
pub fn read_user_file(
    spec: &str,
    user_dir: Option<&Path>,
    what: &str,
) -> Result<Option<(PathBuf, String)>, FileError> {
    let path = if spec.ends_with(".toml") || spec.contains('/') {
        Some(PathBuf::from(spec))
    } else {
        user_dir
            .map(|d| d.join(format!("{spec}.toml")))
            .filter(|p| p.is_file())
    };
    path.map(|p| {
        std::fs::read_to_string(&p)
            .map(|src| (p.clone(), src))
            .map_err(|e| FileError::whole(&p, format!("cannot read {what}: {e}")))
    })
    .transpose()
}

/// Deepest chain of `extends` followed in themes and keymaps (a cycle stops here with an error).
pub const MAX_EXTENDS: usize = 8;

/// Resolves the `extends = "NAME"` of `file`: the built-in of the same name when a user file
/// extends its own name, else `load(name, depth + 1)`; errors point at the `extends` value.
pub fn resolve_extends<T>(
    file: &Path,
    src: &str,
    base: &toml::Spanned<String>,
    depth: usize,
    builtin: impl FnOnce(&str) -> Result<T, FileError>,
    load: impl FnOnce(&str, usize) -> Result<T, FileError>,
) -> Result<T, FileError> {
    let at = base.span().start;
    if depth >= MAX_EXTENDS {
        return Err(FileError::at(
            file,
            src,
            at,
            format!("more than {MAX_EXTENDS} levels of `extends`: is there a cycle?"),
        ));
    }
    let own = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let name = base.get_ref().as_str();
    if name == own {
        builtin(own)
    } else {
        load(name, depth + 1)
    }
    .map_err(|e| FileError::at(file, src, at, format!("cannot extend `{name}`: {e}")))
}

/// 1-based (line, column) of a byte offset; columns count characters.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..floor_char_boundary(src, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit_once('\n')
        .map_or(before, |(_, rest)| rest)
        .chars()
        .count()
        + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let s = "a = 1\nbé = 2\n";
        assert_eq!(line_col(s, 0), (1, 1));
        assert_eq!(line_col(s, 6), (2, 1));
        assert_eq!(line_col(s, 9), (2, 3));
        assert_eq!(line_col(s, 999), (3, 1));
    }

    #[test]
    fn display_names_file_line_column() {
        let e = FileError::at(Path::new("k.toml"), "x\ny = 2", 2, "bad");
        assert_eq!(e.to_string(), "k.toml:2:1: bad");
    }
}
