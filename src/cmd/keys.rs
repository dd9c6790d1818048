//! `watchfloor keys`: prints the active key bindings, one per line.

use std::io::Write;

use super::Outcome;
use crate::keymap::Keymap;

/// Prints each binding as `keys  what it does  action name`, in aligned columns.
pub fn run(keymap: &Keymap) -> anyhow::Result<Outcome> {
    let lines = crate::ui::help_lines(keymap);
    let w = lines.iter().map(|l| l.1.chars().count()).max().unwrap_or(0);
    let dw = lines.iter().map(|l| l.2.chars().count()).max().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    for (name, keys, what) in lines {
        writeln!(out, "{keys:<w$}  {what:<dw$}  {name}")?;
    }
    Ok(Outcome::Success)
}
