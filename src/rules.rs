//! The team's own rules (`[[rule]]`): a filter of the console's `/` language that marks the rows
//! it matches with `rule:<name>`, adds risk like a finding of its severity, and may alert.
//!
//! A rule is checked against what watchfloor computed (ports from the groups' rules, findings,
//! CPU, prices); tags in a rule narrow it (`!tag:Role=bastion`) but remain the account's to
//! write, so a rule that exempts by tag is only as strong as the tag's integrity (docs/rules.md).

use crate::filter::{Filter, FilterError, Term, parse};
use crate::model::SeverityBand;

/// Most rules one configuration may hold (a row keeps its matches in 64 bits).
pub const MAX_RULES: usize = 64;

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique name: lower-case letters, digits and `-`, at most 40 characters.
    pub name: String,
    /// The filter text as written.
    pub when: String,
    /// The compiled filter.
    pub filter: Filter,
    /// Adds risk like a finding of this band.
    pub severity: SeverityBand,
    /// A new match raises an alert.
    pub alert: bool,
}

impl PartialEq for Rule {
    fn eq(&self, o: &Self) -> bool {
        // The filter is compiled from `when`: comparing the text compares the rule.
        (&self.name, &self.when, self.severity, self.alert)
            == (&o.name, &o.when, o.severity, o.alert)
    }
}

impl Eq for Rule {}

/// Why a rule does not compile: the field, the character position inside it, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// `name`, `when` or `severity`.
    pub field: &'static str,
    /// Character position (0-based) inside the field's text.
    pub pos: usize,
    /// What is wrong and the fix.
    pub message: String,
}

impl Rule {
    /// Compiles a rule; every mistake names its field and position.
    pub fn compile(name: &str, when: &str, severity: &str, alert: bool) -> Result<Rule, RuleError> {
        let bad = |field, pos, message: String| RuleError {
            field,
            pos,
            message,
        };
        if name.is_empty() || name.len() > 40 {
            return Err(bad(
                "name",
                0,
                "a rule name is 1 to 40 characters (e.g. ssh-world-not-bastion)".into(),
            ));
        }
        if let Some((i, c)) = name
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(bad(
                "name",
                i,
                format!(
                    "`{c}` in a rule name: use lower-case letters, digits and `-` (it becomes \
                     the flag rule:{name})"
                ),
            ));
        }
        let filter =
            parse(when).map_err(|FilterError { pos, message }| bad("when", pos, message))?;
        if filter.is_empty() {
            return Err(bad(
                "when",
                0,
                "an empty `when` would match every row: write the filter the rule stands for \
                 (e.g. \"port:22 !tag:Role=bastion\")"
                    .into(),
            ));
        }
        if let Some(pos) = filter.position_of(|t| matches!(t, Term::Rule(_))) {
            return Err(bad(
                "when",
                pos,
                "a rule cannot test other rules (`rule:`): write their terms instead".into(),
            ));
        }
        let severity = match severity.to_ascii_lowercase().as_str() {
            "low" => SeverityBand::Low,
            "medium" => SeverityBand::Medium,
            "high" => SeverityBand::High,
            "critical" => SeverityBand::Critical,
            _ => {
                return Err(bad(
                    "severity",
                    0,
                    format!("unknown severity `{severity}`: low, medium, high or critical"),
                ));
            }
        };
        Ok(Rule {
            name: name.to_string(),
            when: when.to_string(),
            filter,
            severity,
            alert,
        })
    }

    /// Risk points a match adds: those of a GuardDuty finding at the bottom of the band
    /// (severity × 5, as in docs/risk.md).
    pub fn points(&self) -> i32 {
        match self.severity {
            SeverityBand::Low => 5,
            SeverityBand::Medium => 20,
            SeverityBand::High => 35,
            SeverityBand::Critical => 45,
        }
    }

    /// The flag a matching row carries (snapshot `flags`, the filter's `rule:`).
    pub fn flag(&self) -> String {
        format!("rule:{}", self.name)
    }
}

/// The rules a row matches, as a bit set over the configured rules' order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Matches(pub u64);

impl Matches {
    /// True when no rule matches.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when rule `i` matches.
    pub fn has(self, i: usize) -> bool {
        i < 64 && self.0 & (1 << i) != 0
    }

    /// Marks rule `i` as matching.
    pub fn set(&mut self, i: usize) {
        if i < 64 {
            self.0 |= 1 << i;
        }
    }

    /// The matching rules, in configured order.
    pub fn of<'r>(self, rules: &'r [Rule]) -> impl Iterator<Item = &'r Rule> + 'r {
        self.of_indexed(rules).map(|(_, r)| r)
    }

    /// The matching rules with their index, in configured order.
    pub fn of_indexed<'r>(self, rules: &'r [Rule]) -> impl Iterator<Item = (usize, &'r Rule)> + 'r {
        rules.iter().enumerate().filter(move |(i, _)| self.has(*i))
    }
}

/// Rules the demo runs when no configuration gives its own: one matches the campaign's
/// world-open SSH, one its GPU launches outside the home regions.
pub fn demo_rules() -> Vec<Rule> {
    [
        (
            "ssh-world-not-bastion",
            "port:22 !tag:Role=bastion",
            "high",
            true,
        ),
        (
            "gpu-outside-home",
            "flag:gpu flag:unusual-region",
            "critical",
            true,
        ),
        ("expensive-and-pinned", "cost>1 cpu>90", "medium", false),
    ]
    .into_iter()
    .map(|(n, w, s, a)| Rule::compile(n, w, s, a).expect("the demo's rules compile"))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_compile_or_name_field_position_and_fix() {
        let ok = Rule::compile(
            "ssh-world-not-bastion",
            "port:22 !tag:Role=bastion",
            "High",
            true,
        )
        .unwrap();
        assert_eq!(ok.severity, SeverityBand::High);
        assert_eq!(ok.flag(), "rule:ssh-world-not-bastion");
        assert_eq!(ok.points(), 35);
        // (name, when, severity) -> (field, pos, words in the message)
        let table: &[(&str, &str, &str, &str, usize, &str)] = &[
            ("", "port:22", "high", "name", 0, "1 to 40"),
            ("SSH", "port:22", "high", "name", 0, "lower-case"),
            (
                "ssh world",
                "port:22",
                "high",
                "name",
                3,
                "` ` in a rule name",
            ),
            (
                "a",
                "port:22 cpu>x",
                "high",
                "when",
                12,
                "not a CPU percent",
            ),
            (
                "a",
                "port:22 bogus:1",
                "high",
                "when",
                8,
                "unknown filter key",
            ),
            ("a", "cost>cheap", "high", "when", 5, "not a price"),
            ("a", "port:22 !", "high", "when", 8, "`!` needs a term"),
            ("a", "   ", "high", "when", 0, "empty `when`"),
            (
                "a",
                "port:22 rule:b",
                "high",
                "when",
                8,
                "cannot test other rules",
            ),
            (
                "a",
                "port:22",
                "severe",
                "severity",
                0,
                "unknown severity `severe`",
            ),
        ];
        for (name, when, sev, field, pos, words) in table {
            let e = Rule::compile(name, when, sev, false).expect_err(when);
            assert_eq!(
                (e.field, e.pos),
                (*field, *pos),
                "{name} {when} {sev}: {e:?}"
            );
            assert!(e.message.contains(words), "{e:?} lacks {words}");
        }
    }

    #[test]
    fn match_sets_keep_the_configured_order() {
        let rules = demo_rules();
        let mut m = Matches::default();
        assert!(m.is_empty());
        m.set(2);
        m.set(0);
        m.set(64); // out of range: ignored, never a panic
        let names: Vec<&str> = m.of(&rules).map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["ssh-world-not-bastion", "expensive-and-pinned"]);
        assert!(!m.has(1) && !m.has(99));
    }
}
