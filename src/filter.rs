//! The filter language of `/`: plain words and `key:value` terms, all of which must match.
//!
//! ```text
//! prod web            rows whose text contains "prod" and "web"
//! acct:prod           alias or account id (glob: `*` any run, `?` one character)
//! region:eu-*         region (glob)
//! type:p3*            instance type, or a task's family:revision (glob)
//! state:running       instance or task state (glob)
//! kind:task           kind:task or kind:instance
//! sev>=high           worst finding severity (low, medium, high, critical; > >= < <= = :)
//! port:22             TCP port reachable from the internet (port:53/udp for UDP)
//! cpu>90              latest CPU % (> >= < <= =)
//! new:24h             launched in the last 24 h (m, h, d)
//! flag:foreign-ami    a flag of the snapshot JSON
//! finding:Crypto*     a live finding of this type (glob)
//! tag:Role=bastion    an instance tag: tag:KEY or tag:KEY=VALUE (globs; the account writes tags)
//! cost>5              on-demand or Spot price in $/h (> >= < <= =); cost:unknown when unpriced
//! dns:*.minergate.com a live DNS-family finding naming a domain that matches (dns:* any)
//! rule:ssh-*          a row one of the configured [[rule]]s matches (glob)
//! !term               negation of any term
//! "two words"         text with spaces or a colon
//! ```
//!
//! Parsing never panics: a bad term is an error naming its character position and the fix.

use chrono::{DateTime, Duration, Utc};

use crate::app::{Fleet, Row};
use crate::model::flags::Flag;
use crate::model::{Kind, SeverityBand, exposure::Protocol};

/// Keys a term may have, in the order the error message and completion list them.
pub const KEYS: [&str; 15] = [
    "acct", "region", "type", "state", "kind", "sev", "port", "cpu", "new", "flag", "finding",
    "tag", "cost", "rule", "dns",
];

/// A parsed filter: every term must match (AND). Empty matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    terms: Vec<(bool, Term)>,
    /// Character position of each term in the text.
    positions: Vec<usize>,
}

/// A comparison in `sev>=high` or `cpu>90`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `=` or `:`
    Eq,
}

impl Cmp {
    fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Eq => a == b,
        }
    }
}

/// One term of a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// Lower-cased text the row's search text must contain.
    Text(String),
    /// Alias or account id (lower-cased glob).
    Account(String),
    /// Region (lower-cased glob).
    Region(String),
    /// Instance type or task family:revision (lower-cased glob).
    Type(String),
    /// State (lower-cased glob).
    State(String),
    /// Instance or task.
    Kind(Kind),
    /// Worst finding severity against a band.
    Severity(Cmp, SeverityBand),
    /// A port reachable from the internet: protocol (TCP or UDP) and number.
    Port(Protocol, i32),
    /// Latest CPU percent.
    Cpu(Cmp, f64),
    /// Launched within this long.
    New(Duration),
    /// Has this flag.
    Flag(Flag),
    /// Has a live finding of this type (lower-cased glob).
    Finding(String),
    /// An instance tag: key and, when given, value (globs, case-sensitive as EC2's tags are:
    /// `role` is not `Role`). Tags are the account's to write (an attacker's too): a hint to
    /// narrow by, never a verdict.
    Tag(String, Option<String>),
    /// Price in $/h against a figure; `None`: no price is known (`cost:unknown`).
    Cost(Option<(Cmp, f64)>),
    /// Matched by a configured rule whose name matches (lower-cased glob).
    Rule(String),
    /// Has a live DNS-family finding (a mining pool's domain asked) whose domain matches
    /// (lower-cased glob; `*` also matches one whose domain is not known).
    Dns(String),
}

/// A filter that does not parse: where, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// Character position (0-based) of the offending term in the filter text.
    pub pos: usize,
    /// What is wrong and the fix.
    pub message: String,
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "col {}: {}", self.pos + 1, self.message)
    }
}

impl std::error::Error for FilterError {}

/// Parses filter text. Whitespace separates terms; `"..."` quotes text.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    let mut terms = Vec::new();
    let mut positions = Vec::new();
    for (pos, token) in tokens(input)? {
        let (negated, body, at) = match token.strip_prefix('!') {
            Some(rest) => (true, rest, pos + 1),
            None => (false, token.as_str(), pos),
        };
        if body.is_empty() {
            return Err(err(pos, "`!` needs a term after it, e.g. !flag:spot"));
        }
        let term = if token.starts_with('"') || body.starts_with('"') {
            Term::Text(body.trim_matches('"').to_lowercase())
        } else {
            term(body, at)?
        };
        terms.push((negated, term));
        positions.push(pos);
    }
    Ok(Filter { terms, positions })
}

fn err(pos: usize, message: impl Into<String>) -> FilterError {
    FilterError {
        pos,
        message: message.into(),
    }
}

/// Splits on whitespace, keeping `"quoted text"` (with its quotes) as one token; positions are
/// character offsets.
fn tokens(input: &str) -> Result<Vec<(usize, String)>, FilterError> {
    let mut out = Vec::new();
    let mut chars = input.chars().enumerate().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut tok = String::new();
        let mut quoted = false;
        while let Some(&(_, c)) = chars.peek() {
            if c == '"' {
                quoted = !quoted;
            } else if c.is_whitespace() && !quoted {
                break;
            }
            tok.push(c);
            chars.next();
        }
        if quoted {
            return Err(err(start, "unclosed quote: end the text with \""));
        }
        out.push((start, tok));
    }
    Ok(out)
}

/// The terms of filter text as written (quotes kept); text with an unclosed quote splits on
/// whitespace.
pub fn split_terms(input: &str) -> Vec<String> {
    match tokens(input) {
        Ok(t) => t.into_iter().map(|(_, s)| s).collect(),
        Err(_) => input.split_whitespace().map(String::from).collect(),
    }
}

/// Splits `key<op>value` where key is letters only; None when the token is plain text.
fn split_key(token: &str) -> Option<(&str, &str, &str)> {
    let end = token.find(|c: char| !c.is_ascii_alphabetic())?;
    let (key, rest) = token.split_at(end);
    if key.is_empty() {
        return None;
    }
    for op in [">=", "<=", ">", "<", "=", ":"] {
        if let Some(value) = rest.strip_prefix(op) {
            return Some((key, op, value));
        }
    }
    None
}

fn cmp_of(op: &str) -> Cmp {
    match op {
        ">" => Cmp::Gt,
        ">=" => Cmp::Ge,
        "<" => Cmp::Lt,
        "<=" => Cmp::Le,
        _ => Cmp::Eq,
    }
}

fn term(token: &str, pos: usize) -> Result<Term, FilterError> {
    let Some((key, op, value)) = split_key(token) else {
        return Ok(Term::Text(token.to_lowercase()));
    };
    let lower = key.to_ascii_lowercase();
    // An ARN pasted as text (`arn:aws:ecs:...`) is text, not a term.
    if lower == "arn" && op == ":" {
        return Ok(Term::Text(token.to_lowercase()));
    }
    if !KEYS.contains(&lower.as_str()) {
        return Err(err(
            pos,
            format!(
                "unknown filter key `{key}` (keys: {}); quote text that contains `{op}`",
                KEYS.join(", ")
            ),
        ));
    }
    let vpos = pos + key.chars().count() + op.chars().count();
    if value.is_empty() {
        return Err(err(vpos, format!("`{key}{op}` needs a value")));
    }
    let ordered = matches!(lower.as_str(), "sev" | "cpu" | "cost");
    if !ordered && op != ":" {
        return Err(err(
            pos + key.chars().count(),
            format!("`{key}` takes `:` (e.g. {key}:VALUE), not `{op}`"),
        ));
    }
    let glob = || value.trim_matches('"').to_lowercase();
    Ok(match lower.as_str() {
        "acct" => Term::Account(glob()),
        "region" => Term::Region(glob()),
        "type" => Term::Type(glob()),
        "state" => Term::State(glob()),
        "kind" => match value.to_ascii_lowercase().as_str() {
            "task" | "tasks" => Term::Kind(Kind::Task),
            "instance" | "instances" | "inst" => Term::Kind(Kind::Instance),
            _ => {
                return Err(err(
                    vpos,
                    format!("unknown kind `{value}` (instance, task)"),
                ));
            }
        },
        "sev" => {
            let band = match value.to_ascii_lowercase().as_str() {
                "low" | "l" => SeverityBand::Low,
                "medium" | "med" | "m" => SeverityBand::Medium,
                "high" | "h" => SeverityBand::High,
                "critical" | "crit" | "c" => SeverityBand::Critical,
                _ => {
                    return Err(err(
                        vpos,
                        format!("unknown severity `{value}` (low, medium, high, critical)"),
                    ));
                }
            };
            Term::Severity(cmp_of(op), band)
        }
        "cpu" => {
            if op == ":" {
                return Err(err(
                    pos + 3,
                    "`cpu` compares: write cpu>90, cpu>=90, cpu<5 or cpu=0",
                ));
            }
            let v = value.trim_end_matches('%');
            match v.parse::<f64>() {
                Ok(n) if n.is_finite() && (0.0..=100.0).contains(&n) => Term::Cpu(cmp_of(op), n),
                _ => {
                    return Err(err(
                        vpos,
                        format!("`{value}` is not a CPU percent (0 to 100)"),
                    ));
                }
            }
        }
        "port" => {
            let (num, proto) = match value.to_ascii_lowercase().split_once('/') {
                None => (value.to_string(), Protocol::Tcp),
                Some((n, "tcp")) => (n.to_string(), Protocol::Tcp),
                Some((n, "udp")) => (n.to_string(), Protocol::Udp),
                Some(_) => {
                    return Err(err(
                        vpos,
                        format!(
                            "unknown protocol in `{value}` (port:22, port:22/tcp, port:53/udp)"
                        ),
                    ));
                }
            };
            match num.parse::<i32>() {
                Ok(n) if (0..=65535).contains(&n) => Term::Port(proto, n),
                _ => {
                    return Err(err(
                        vpos,
                        format!("`{num}` is not a port number (0 to 65535)"),
                    ));
                }
            }
        }
        "new" => Term::New(duration(value).ok_or_else(|| {
            err(
                vpos,
                format!("`{value}` is not a duration: a number and m, h or d (new:24h, new:7d)"),
            )
        })?),
        "finding" => Term::Finding(glob()),
        "rule" => Term::Rule(glob()),
        "dns" => Term::Dns(glob()),
        "cost" => {
            if op == ":" {
                if value.eq_ignore_ascii_case("unknown") {
                    return Ok(Term::Cost(None));
                }
                return Err(err(
                    pos + 4,
                    "`cost` compares $/h: write cost>5, cost>=0.5, cost<1 or cost:unknown",
                ));
            }
            match value.trim_start_matches('$').parse::<f64>() {
                Ok(n) if n.is_finite() && n >= 0.0 => Term::Cost(Some((cmp_of(op), n))),
                _ => {
                    return Err(err(
                        vpos,
                        format!("`{value}` is not a price in $/h (e.g. cost>5 or cost>0.5)"),
                    ));
                }
            }
        }
        "tag" => {
            // Split first, then unquote each side: tag:"Cost Center"=x, tag:Env="a b".
            let unquote = |s: &str| s.trim_matches('"').to_string();
            let v = unquote(value);
            match value
                .split_once('=')
                .map(|(k, val)| (unquote(k), unquote(val)))
            {
                Some((k, _)) if k.is_empty() => {
                    return Err(err(
                        vpos,
                        "a tag needs a key: tag:KEY or tag:KEY=VALUE (tag:Role=bastion)",
                    ));
                }
                Some((k, val)) => Term::Tag(k, Some(val)),
                None if v.is_empty() => {
                    return Err(err(
                        vpos,
                        "a tag needs a key: tag:KEY or tag:KEY=VALUE (tag:Role=bastion)",
                    ));
                }
                None => Term::Tag(v, None),
            }
        }
        "flag" => {
            let v = value.to_ascii_lowercase();
            match Flag::ALL.iter().find(|f| f.as_str() == v) {
                Some(f) => Term::Flag(*f),
                None => {
                    let names: Vec<&str> = Flag::ALL.iter().map(|f| f.as_str()).collect();
                    return Err(err(
                        vpos,
                        format!("unknown flag `{value}` ({})", names.join(", ")),
                    ));
                }
            }
        }
        _ => unreachable!("KEYS checked above"),
    })
}

/// `30m`, `24h`, `7d` (a bare number is hours).
fn duration(s: &str) -> Option<Duration> {
    let s = s.to_ascii_lowercase();
    let (num, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s.as_str(), "h"),
    };
    let n: i64 = num.parse().ok().filter(|n| *n > 0 && *n <= 100_000)?;
    match unit {
        "m" | "min" => Some(Duration::minutes(n)),
        "h" => Some(Duration::hours(n)),
        "d" => Some(Duration::days(n)),
        _ => None,
    }
}

/// Matches `text` against a lower-cased glob (`*` any run, `?` one character), ignoring case.
pub fn glob(pattern: &str, text: &str) -> bool {
    glob_chars(pattern, &text.to_lowercase())
}

/// Matches `text` against a glob, case and all.
pub fn glob_exact(pattern: &str, text: &str) -> bool {
    glob_chars(pattern, text)
}

fn glob_chars(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl Filter {
    /// True when the filter has no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Character position of the first term `pick` chooses.
    pub fn position_of(&self, pick: impl Fn(&Term) -> bool) -> Option<usize> {
        self.terms
            .iter()
            .zip(&self.positions)
            .find(|((_, t), _)| pick(t))
            .map(|(_, p)| *p)
    }

    /// True when every term matches the row. Structured terms run first; the row's search text
    /// is built only when a text term needs it.
    pub fn matches(&self, fleet: &Fleet, row: &Row, now: DateTime<Utc>) -> bool {
        let structured = self
            .terms
            .iter()
            .filter(|(_, t)| !matches!(t, Term::Text(_)));
        let texts = self
            .terms
            .iter()
            .filter(|(_, t)| matches!(t, Term::Text(_)));
        structured.chain(texts).all(|(negated, t)| {
            let hit = match t {
                Term::Text(needle) => row.search.contains(needle.as_str()),
                other => term_matches(other, fleet, row, now),
            };
            hit != *negated
        })
    }
}

fn term_matches(t: &Term, fleet: &Fleet, row: &Row, now: DateTime<Utc>) -> bool {
    let sd = &fleet.scopes[row.scope];
    match t {
        Term::Text(_) => unreachable!("text terms are matched by the caller"),
        Term::Account(g) => glob(g, &sd.alias) || glob(g, &sd.scope.account_id),
        Term::Region(g) => glob(g, &sd.scope.region),
        Term::Type(g) => glob(g, row.subject.type_label()),
        Term::State(g) => glob(g, &row.subject.state_label()),
        Term::Kind(k) => row.subject.kind() == *k,
        Term::Severity(cmp, band) => row
            .worst_severity
            .is_some_and(|s| cmp.holds(SeverityBand::of(s), *band)),
        Term::Port(proto, port) => row
            .exposure
            .reachable_part(row.subject.interfaces())
            .ports
            .iter()
            .any(|p| covers(p, proto, *port)),
        Term::Cpu(cmp, n) => row.cpu_now.is_some_and(|c| cmp.holds(c, *n)),
        Term::New(d) => row.subject.launched().is_some_and(|l| now - l <= *d),
        Term::Flag(f) => row.flags.has(*f),
        Term::Finding(g) => fleet.findings_of(row).iter().any(|f| glob(g, &f.kind)),
        Term::Tag(key, value) => row.instance().is_some_and(|i| {
            i.tags.iter().any(|(k, v)| {
                glob_exact(key, k) && value.as_ref().is_none_or(|want| glob_exact(want, v))
            })
        }),
        Term::Cost(None) => {
            row.instance().is_some() && row.subject.is_live() && row.price.is_none()
        }
        Term::Cost(Some((cmp, n))) => row.price.is_some_and(|p| cmp.holds(p.usd_per_hour, *n)),
        Term::Rule(g) => row.rules.of(&fleet.rules).any(|r| glob(g, &r.name)),
        Term::Dns(g) => fleet.findings_of(row).iter().any(|f| {
            f.is_dns_mining() && (g == "*" || f.dns_domain.as_deref().is_some_and(|d| glob(g, d)))
        }),
    }
}

fn covers(p: &crate::model::exposure::OpenPort, proto: &Protocol, port: i32) -> bool {
    match (&p.protocol, proto) {
        (Protocol::All, _) => true,
        (Protocol::Tcp, Protocol::Tcp) | (Protocol::Udp, Protocol::Udp) => {
            p.from_port.unwrap_or(0) <= port && port <= p.to_port.unwrap_or(65535)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Vec<(bool, Term)> {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).terms
    }

    fn fails(s: &str) -> FilterError {
        parse(s).expect_err(s)
    }

    #[test]
    fn parses_every_term() {
        use Term::*;
        let table: &[(&str, Term)] = &[
            ("web", Text("web".into())),
            ("WEB", Text("web".into())),
            ("acct:Prod", Account("prod".into())),
            ("region:eu-*", Region("eu-*".into())),
            ("type:p3*", Type("p3*".into())),
            ("state:running", State("running".into())),
            ("kind:task", Kind(crate::model::Kind::Task)),
            ("kind:instance", Kind(crate::model::Kind::Instance)),
            ("sev>=high", Severity(Cmp::Ge, SeverityBand::High)),
            ("sev:critical", Severity(Cmp::Eq, SeverityBand::Critical)),
            ("sev<medium", Severity(Cmp::Lt, SeverityBand::Medium)),
            ("port:22", Port(Protocol::Tcp, 22)),
            ("port:53/udp", Port(Protocol::Udp, 53)),
            ("cpu>90", Cpu(Cmp::Gt, 90.0)),
            ("cpu<=5%", Cpu(Cmp::Le, 5.0)),
            ("new:24h", New(Duration::hours(24))),
            ("new:30m", New(Duration::minutes(30))),
            ("new:7d", New(Duration::days(7))),
            (
                "flag:foreign-ami",
                Flag(crate::model::flags::Flag::ForeignAmi),
            ),
            (
                "tag:Role=Bastion",
                Tag("Role".into(), Some("Bastion".into())),
            ),
            ("tag:\"Cost Center\"", Tag("Cost Center".into(), None)),
            (
                "tag:\"Cost Center\"=\"R&D ops\"",
                Tag("Cost Center".into(), Some("R&D ops".into())),
            ),
            ("tag:env=prod*", Tag("env".into(), Some("prod*".into()))),
            ("cost>5", Cost(Some((Cmp::Gt, 5.0)))),
            ("cost<=$0.1", Cost(Some((Cmp::Le, 0.1)))),
            ("cost:unknown", Cost(None)),
            ("rule:ssh-*", Rule("ssh-*".into())),
            ("dns:*.NanoPool.org", Dns("*.nanopool.org".into())),
            ("\"two words\"", Text("two words".into())),
            ("\"a:b\"", Text("a:b".into())),
            (
                "arn:aws:ecs:us-east-1:1:task/x",
                Text("arn:aws:ecs:us-east-1:1:task/x".into()),
            ),
            ("10.0.0.1:22", Text("10.0.0.1:22".into())),
        ];
        for (input, want) in table {
            assert_eq!(ok(input), vec![(false, want.clone())], "{input}");
        }
        assert_eq!(
            ok("  acct:prod   !flag:spot web "),
            vec![
                (false, Account("prod".into())),
                (true, Flag(crate::model::flags::Flag::Spot)),
                (false, Text("web".into())),
            ]
        );
        assert!(ok("").is_empty() && ok("   ").is_empty());
    }

    #[test]
    fn errors_name_the_position_and_the_fix() {
        let table: &[(&str, usize, &str)] = &[
            ("acct:prod regin:eu", 10, "unknown filter key `regin`"),
            (
                "sev>=hgh",
                5,
                "unknown severity `hgh` (low, medium, high, critical)",
            ),
            ("cpu>abc", 4, "not a CPU percent"),
            ("tag:=bastion", 4, "a tag needs a key"),
            ("cpu>150", 4, "not a CPU percent"),
            ("cpu:90", 3, "write cpu>90"),
            ("port:99999", 5, "not a port number"),
            ("port:22/sctp", 5, "unknown protocol"),
            ("new:yesterday", 4, "not a duration"),
            ("new:0h", 4, "not a duration"),
            ("flag:miner", 5, "unknown flag `miner` (saturated,"),
            ("kind:pod", 5, "unknown kind `pod`"),
            ("region>eu", 6, "`region` takes `:`"),
            ("web acct:", 9, "`acct:` needs a value"),
            ("x \"open", 2, "unclosed quote"),
            ("! web", 0, "`!` needs a term"),
            ("cost:5", 4, "`cost` compares $/h"),
            ("cost>-1", 5, "not a price in $/h"),
            ("cost>NaN", 5, "not a price in $/h"),
            ("rule>x", 4, "`rule` takes `:`"),
            ("dns:", 4, "`dns:` needs a value"),
        ];
        for (input, pos, msg) in table {
            let e = fails(input);
            assert_eq!(e.pos, *pos, "{input}: {e}");
            assert!(e.message.contains(msg), "{input}: {e}");
        }
        // Positions count characters, not bytes.
        assert_eq!(fails("é flag:nope").pos, 7);
        assert_eq!(fails("sev>=x").to_string().split(':').next(), Some("col 6"));
    }

    #[test]
    fn globs() {
        for (p, t, want) in [
            ("eu-*", "eu-west-1", true),
            ("eu-*", "us-east-1", false),
            ("p3*", "p3.16xlarge", true),
            ("prod", "prod", true),
            ("prod", "prod-eu", false),
            ("*-east-?", "us-east-1", true),
            ("*", "", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("prod", "PROD", true),
        ] {
            assert_eq!(glob(p, t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration("24"), Some(Duration::hours(24)));
        assert_eq!(duration("90min"), Some(Duration::minutes(90)));
        assert_eq!(duration("1w"), None);
        assert_eq!(duration("-1h"), None);
    }
}
