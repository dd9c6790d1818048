//! `watchfloor rules`: polls once like `snapshot`, then lists every configured rule with the
//! rows it matches now (the demo's own rules with `--demo`).

use std::fmt::Write as _;
use std::io::Write;

use super::Outcome;
use super::snapshot::{outcome, polled};
use crate::app::Fleet;
use crate::cli::{Cli, RulesArgs};
use crate::keymap::Keymap;

/// Prints the rules table; [`Outcome::ScopeFailed`] when some account x region failed (its
/// rows could not be checked).
pub async fn run(cli: &Cli, args: &RulesArgs, keymap: Keymap) -> anyhow::Result<Outcome> {
    let (state, _) = polled(cli, args.poll.demo(), false, keymap).await?;
    let text = table(&state.fleet, args.matches);
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(outcome(&state))
}

/// One line per rule (name, severity, alert, matches, when); with `list`, the matching rows
/// under each rule.
pub fn table(fleet: &Fleet, list: bool) -> String {
    let rules = &fleet.rules;
    if rules.is_empty() {
        return "no rules: add [[rule]] tables to the config (docs/rules.md)\n".into();
    }
    let width = rules.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let mut out = format!(
        "{:<width$}  {:<8}  {:<5}  {:>7}  when\n",
        "rule", "severity", "alert", "matches"
    );
    for (i, r) in rules.iter().enumerate() {
        let rows: Vec<&crate::app::Row> = fleet.matching(i).collect();
        let _ = writeln!(
            out,
            "{:<width$}  {:<8}  {:<5}  {:>7}  {}",
            r.name,
            r.severity.name(),
            if r.alert { "yes" } else { "no" },
            rows.len(),
            r.when
        );
        if list {
            for row in rows {
                let sd = &fleet.scopes[row.scope];
                let _ = writeln!(
                    out,
                    "    {} {} {} {}",
                    sd.alias,
                    sd.scope.region,
                    row.subject.display_id(),
                    row.subject.name()
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "checked against {} instances and {} tasks",
        fleet.totals.instances, fleet.totals.tasks
    );
    out
}
