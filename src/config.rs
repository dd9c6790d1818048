//! The accounts, regions and settings file (`config.toml`): parsed, validated, every mistake located.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

use crate::span::FileError;

/// Session name for assumed roles when an account sets no `session_name`.
pub const DEFAULT_SESSION_NAME: &str = "watchfloor";

/// AWS partitions accepted in ARNs.
pub const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

/// Direction words of region codes (`us-EAST-1`).
const DIRECTIONS: [&str; 9] = [
    "east",
    "west",
    "north",
    "south",
    "central",
    "northeast",
    "southeast",
    "northwest",
    "southwest",
];

const DOCS: &str = "docs/configuration.md";
const ROLE_ARN_FORM: &str = "expected arn:PARTITION:iam::ACCOUNT_ID(12 digits):role/NAME";
const MFA_FORM: &str =
    "expected arn:PARTITION:iam::ACCOUNT_ID:mfa/NAME or a hardware token serial like GAHT12345678";
const REGION_FORM: &str = "expected a region code like us-east-1, eu-central-2 or us-gov-west-1";

/// A validated configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Global settings (`[settings]`), defaults filled in.
    pub settings: Settings,
    /// The `[[account]]` entries in file order; never empty.
    pub accounts: Vec<AccountConfig>,
    /// The file this came from; empty for [`Config::default_chain`].
    pub path: PathBuf,
}

/// Global settings (`[settings]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Regions for accounts that set no `regions`; `None`: every account must set its own.
    pub regions: Option<Vec<String>>,
    /// Seconds between EC2 inventory polls of one account x region (10..=3600, default 60).
    pub ec2_interval_secs: u32,
    /// Seconds between GuardDuty findings polls (10..=3600, default 60).
    pub findings_interval_secs: u32,
    /// Seconds between wake-ups of the CPU feed; each instance is still only queried once per
    /// metric period (10..=3600, default 60).
    pub cpu_interval_secs: u32,
    /// Timeout of one AWS request in seconds (1..=300, default 20).
    pub request_timeout_secs: u32,
    /// Disables every triage action (default false).
    pub read_only: bool,
    /// CIDR allowed to reach port 22 of quarantined instances; `None`: no ingress at all.
    pub examiner_cidr: Option<String>,
    /// Seconds to hold an instance on the allow-all group before the isolation group, so tracked
    /// connections are dropped (0..=600, default 5).
    pub quarantine_wait_secs: u32,
    /// Console triage is confirmed by typing the instance id instead of a second key (default false).
    pub confirm_by_typing_id: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            regions: None,
            ec2_interval_secs: 60,
            findings_interval_secs: 60,
            cpu_interval_secs: 60,
            request_timeout_secs: 20,
            read_only: false,
            examiner_cidr: None,
            quarantine_wait_secs: 5,
            confirm_by_typing_id: false,
        }
    }
}

/// Which regions of an account to poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regions {
    /// These regions, in file order, without duplicates. Empty only in
    /// [`Config::default_chain`], where it means "the SDK's default region" (`AWS_REGION`, the
    /// profile's `region`, or the instance's region).
    List(Vec<String>),
    /// Every region enabled for the account (the file says `regions = "all"`).
    All,
}

/// How watchfloor gets credentials for an account.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// The SDK's default chain: environment, shared profile files, SSO, `credential_process`,
    /// web identity, container and instance roles.
    DefaultChain,
    /// A named profile of `~/.aws/config` / `~/.aws/credentials`.
    Profile(String),
    /// STS AssumeRole, from `source_profile` (or the default chain when absent).
    AssumeRole {
        /// ARN of the role to assume (validated by [`parse_role_arn`]).
        role_arn: String,
        /// External id required by the role's trust policy, if any (never shown by `Debug`).
        external_id: Option<String>,
        /// Profile whose credentials call AssumeRole; `None`: the default chain.
        source_profile: Option<String>,
        /// MFA device (ARN or hardware serial); watchfloor then prompts for a token code.
        mfa_serial: Option<String>,
        /// Role session name, visible in CloudTrail (default [`DEFAULT_SESSION_NAME`]).
        session_name: String,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DefaultChain => f.write_str("DefaultChain"),
            Self::Profile(p) => f.debug_tuple("Profile").field(p).finish(),
            Self::AssumeRole {
                role_arn,
                external_id,
                source_profile,
                mfa_serial,
                session_name,
            } => f
                .debug_struct("AssumeRole")
                .field("role_arn", role_arn)
                .field("external_id", &external_id.as_ref().map(|_| "<redacted>"))
                .field("source_profile", source_profile)
                .field("mfa_serial", mfa_serial)
                .field("session_name", session_name)
                .finish(),
        }
    }
}

/// One validated `[[account]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountConfig {
    /// Unique (ignoring case) short name shown in the UI, `[A-Za-z0-9_.-]{1,32}`.
    pub alias: String,
    /// Where credentials come from.
    pub credentials: Credentials,
    /// Regions to poll: the account's own `regions`, else `[settings] regions`.
    pub regions: Regions,
    /// Regions where the account normally runs; activity elsewhere is flagged unusual. Defaults
    /// to `regions` when that is a list, empty (nothing flagged) when it is `"all"`.
    pub home_regions: Vec<String>,
    /// Endpoint override for every service of this account (an emulator such as moto).
    pub endpoint_url: Option<String>,
    /// 1-based line of the `[[account]]` entry in the file, 0 when there is no file.
    pub line: usize,
}

impl AccountConfig {
    /// The 12-digit account id named by the role ARN, if credentials assume a role.
    pub fn expected_account_id(&self) -> Option<&str> {
        match &self.credentials {
            Credentials::AssumeRole { role_arn, .. } => role_arn.split(':').nth(4),
            _ => None,
        }
    }
}

impl Config {
    /// Parses and validates `src`, the contents of `path`; errors point at the offending value.
    pub fn parse(path: &Path, src: &str) -> Result<Config, FileError> {
        let raw: RawConfig = toml::from_str(src).map_err(|e| toml_error(path, src, &e))?;
        let cx = Cx { file: path, src };
        let settings = cx.settings(raw.settings.unwrap_or_default())?;
        if raw.account.is_empty() {
            return Err(FileError::whole(
                path,
                format!("no accounts: add at least one [[account]] with an alias (see {DOCS})"),
            ));
        }
        let mut aliases: HashMap<String, (String, usize)> = HashMap::new();
        let mut default_chain: Option<(String, usize)> = None;
        let mut accounts = Vec::with_capacity(raw.account.len());
        for entry in &raw.account {
            let acc = cx.account(entry, &settings)?;
            let alias_span = entry
                .get_ref()
                .alias
                .as_ref()
                .map_or(entry.span(), |a| a.span());
            if let Some((first, line)) = aliases.get(&acc.alias.to_ascii_lowercase()) {
                return Err(cx.err(
                    alias_span,
                    format!(
                        "duplicate alias `{}`: the account on line {line} is already `{first}` \
                         (aliases ignore case); expected a unique alias",
                        acc.alias
                    ),
                ));
            }
            aliases.insert(
                acc.alias.to_ascii_lowercase(),
                (acc.alias.clone(), acc.line),
            );
            if acc.credentials == Credentials::DefaultChain {
                if let Some((first, line)) = &default_chain {
                    return Err(cx.err(
                        entry.span(),
                        format!(
                            "account `{}` has neither `profile` nor `role_arn`, like account \
                             `{first}` on line {line}: only one account may use the default \
                             credential chain; expected profile = \"NAME\" or role_arn = \"ARN\"",
                            acc.alias
                        ),
                    ));
                }
                default_chain = Some((acc.alias.clone(), acc.line));
            }
            accounts.push(acc);
        }
        Ok(Config {
            settings,
            accounts,
            path: path.to_path_buf(),
        })
    }

    /// Reads and parses `path`; a missing file is an error that points to the documentation.
    pub fn load(path: &Path) -> Result<Config, FileError> {
        let src = std::fs::read_to_string(path).map_err(|e| {
            let msg = if e.kind() == io::ErrorKind::NotFound {
                format!("no such config file: create it as described in {DOCS}")
            } else {
                format!("cannot read config: {e}")
            };
            FileError::whole(path, msg)
        })?;
        Self::parse(path, &src)
    }

    /// `watchfloor/config.toml` in the user's config directory (`$XDG_CONFIG_HOME` on Linux).
    pub fn default_path() -> Option<PathBuf> {
        dirs::config_dir().map(|d| d.join("watchfloor").join("config.toml"))
    }

    /// The configuration without a file: one account `default` on the default credential chain,
    /// polling only the SDK's default region (`Regions::List(vec![])`), default settings.
    pub fn default_chain() -> Config {
        Config {
            settings: Settings::default(),
            accounts: vec![AccountConfig {
                alias: "default".to_string(),
                credentials: Credentials::DefaultChain,
                regions: Regions::List(Vec::new()),
                home_regions: Vec::new(),
                endpoint_url: None,
                line: 0,
            }],
            path: PathBuf::new(),
        }
    }
}

/// True for region codes shaped like `us-east-1`, `us-gov-west-1`, `ap-southeast-4`: two
/// letters, optional `-gov`, a direction word, a number 1-99.
pub fn is_valid_region(s: &str) -> bool {
    let mut parts = s.split('-');
    let cc = parts.next().unwrap_or_default();
    if cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_lowercase()) {
        return false;
    }
    let mut dir = parts.next();
    if dir == Some("gov") {
        dir = parts.next();
    }
    let (Some(dir), Some(num), None) = (dir, parts.next(), parts.next()) else {
        return false;
    };
    DIRECTIONS.contains(&dir)
        && (1..=2).contains(&num.len())
        && num.bytes().all(|b| b.is_ascii_digit())
        && !num.starts_with('0')
}

/// The partition a (valid) region code belongs to: `aws-cn`, `aws-us-gov` or `aws`.
pub fn region_partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.contains("-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Splits a role ARN into (partition, account id, role name without path); the error is a
/// complete message saying what is wrong and what is expected.
pub fn parse_role_arn(s: &str) -> Result<(String, String, String), String> {
    let fail = |why: String| format!("bad role ARN `{s}`: {why}; {ROLE_ARN_FORM}");
    let (partition, account, resource) = split_iam_arn(s).map_err(fail)?;
    let Some(rest) = resource.strip_prefix("role/") else {
        return Err(fail(format!(
            "resource `{resource}` does not start with `role/`"
        )));
    };
    let (path, name) = rest.rsplit_once('/').unwrap_or(("", rest));
    if !(1..=64).contains(&name.len()) || !name.chars().all(is_iam_name_char) {
        return Err(fail(format!(
            "role name `{name}` is not 1-64 characters of letters, digits and _+=,.@-"
        )));
    }
    let path_ok = |seg: &str| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_graphic());
    if !path.is_empty() && !path.split('/').all(path_ok) {
        return Err(fail(format!("bad role path `/{path}/`")));
    }
    Ok((partition.to_string(), account.to_string(), name.to_string()))
}

/// Checks the common part of IAM ARNs: `arn:PARTITION:iam::ACCOUNT_ID:RESOURCE`.
fn split_iam_arn(s: &str) -> Result<(&str, &str, &str), String> {
    let fields: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = fields[..] else {
        return Err("not an ARN (six `:`-separated fields)".to_string());
    };
    if arn != "arn" {
        return Err("does not start with `arn:`".to_string());
    }
    if !PARTITIONS.contains(&partition) {
        return Err(format!(
            "unknown partition `{partition}` (aws, aws-cn or aws-us-gov)"
        ));
    }
    if service == "sts" {
        return Err("that is an STS session ARN, not the IAM role or device".to_string());
    }
    if service != "iam" {
        return Err(format!("service is `{service}`, not `iam`"));
    }
    if !region.is_empty() {
        return Err(format!("IAM ARNs have no region, found `{region}`"));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("account id `{account}` is not 12 digits"));
    }
    Ok((partition, account, resource))
}

/// `[\w+=,.@-]`: characters of IAM names and role session names.
fn is_iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// Checks an `mfa_serial`; returns the partition when it is an ARN.
fn check_mfa_serial(s: &str) -> Result<Option<&str>, String> {
    if s.starts_with("arn:") {
        let fail = |why: String| format!("bad mfa_serial `{s}`: {why}; {MFA_FORM}");
        let (partition, _, resource) = split_iam_arn(s).map_err(fail)?;
        let ok = resource.strip_prefix("mfa/").is_some_and(|name| {
            !name.is_empty()
                && !name.ends_with('/')
                && name.chars().all(|c| c == '/' || is_iam_name_char(c))
        });
        if !ok {
            return Err(fail(format!("resource `{resource}` is not `mfa/NAME`")));
        }
        return Ok(Some(partition));
    }
    let serial_char = |c: char| is_iam_name_char(c) || c == '/' || c == ':';
    if (9..=256).contains(&s.len()) && s.chars().all(serial_char) {
        Ok(None)
    } else {
        Err(format!("bad mfa_serial `{s}`: {MFA_FORM}"))
    }
}

/// Checks `http(s)://HOST[:PORT][/PATH]`.
fn check_endpoint_url(s: &str) -> Result<(), &'static str> {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .ok_or("the scheme must be http:// or https://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err("user:password@ does not belong in a URL here");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (ip, after) = v6.split_once(']').ok_or("unclosed `[` in the host")?;
        ip.parse::<std::net::Ipv6Addr>()
            .map_err(|_| "bad IPv6 address in the host")?;
        (ip, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let host_char = |c: char| c.is_ascii_alphanumeric() || ".-_:".contains(c);
    if host.is_empty() || !host.chars().all(host_char) {
        return Err("the host is missing or has characters other than letters, digits and .-_");
    }
    if port.is_some_and(|p| p.parse::<u16>().map_or(true, |p| p == 0)) {
        return Err("the port is not a number 1-65535");
    }
    if path.contains(|c: char| c.is_whitespace() || c.is_control() || c == '#' || c == '?') {
        return Err("the path has spaces, `?` or `#`");
    }
    Ok(())
}

/// Checks an IPv4 or IPv6 CIDR meant for one examiner.
fn check_cidr(s: &str) -> Result<(), String> {
    let expected = "expected an IPv4 or IPv6 CIDR like 203.0.113.7/32 or 2001:db8::7/128";
    let bad = || format!("bad examiner_cidr `{s}`: {expected}");
    let (addr, len) = s.split_once('/').ok_or_else(bad)?;
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let len: u32 = len.parse().map_err(|_| bad())?;
    let (bits, max) = match addr {
        IpAddr::V4(a) => (u128::from(a.to_bits()) << 96, 32),
        IpAddr::V6(a) => (a.to_bits(), 128),
    };
    if len > max {
        return Err(bad());
    }
    if len == 0 {
        return Err(format!(
            "examiner_cidr `{s}` would open SSH on quarantined instances to the whole internet: \
             expected the examiner's own address, e.g. 203.0.113.7/32"
        ));
    }
    // IPv4 addresses sit in the top 32 bits, so the prefix always counts from bit 127.
    let keep = u128::MAX << (128 - len);
    if bits & !keep != 0 {
        let net = bits & keep;
        let net: IpAddr = match addr {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::from_bits((net >> 96) as u32)),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::from_bits(net)),
        };
        return Err(format!(
            "examiner_cidr `{s}` has host bits set: expected {net}/{len}, or {addr}/{max} for one host"
        ));
    }
    Ok(())
}

/// Closest valid-looking region code for a near miss (`US_EAST1`, `eu-centrl-1`, `us-east-1a`).
fn suggest_region(s: &str) -> Option<String> {
    let compact: String = s
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let cc = compact.get(..2)?;
    if !cc.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let rest = &compact[2..];
    let (gov, rest) = rest.strip_prefix("gov").map_or(("", rest), |r| ("-gov", r));
    let (word, tail) = rest.split_at(rest.find(|c: char| c.is_ascii_digit())?);
    let num: String = tail.chars().take_while(char::is_ascii_digit).collect();
    let dir = DIRECTIONS.iter().min_by_key(|d| edit_distance(d, word))?;
    let candidate = format!("{cc}{gov}-{dir}-{num}");
    (edit_distance(dir, word) <= 2 && is_valid_region(&candidate) && candidate != s)
        .then_some(candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut cur = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

fn bad_region(s: &str) -> String {
    let hint = suggest_region(s).map(|c| format!(" (did you mean `{c}`?)"));
    format!(
        "bad region `{s}`: {REGION_FORM}{}",
        hint.unwrap_or_default()
    )
}

/// Rewords the few TOML errors that have a better explanation.
fn toml_error(file: &Path, src: &str, e: &toml::de::Error) -> FileError {
    let mut err = FileError::from_toml(file, src, e);
    let msg = e.message();
    let at = e.span().and_then(|s| src.get(s)).unwrap_or_default();
    for key in [
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
    ] {
        if msg.starts_with(&format!("unknown field `{key}`")) {
            err.message = format!(
                "unknown field `{key}`: watchfloor never reads keys from its config; put them in \
                 ~/.aws/credentials (or use SSO) and name the profile with profile = \"NAME\""
            );
        }
    }
    if msg.starts_with("invalid type: map, expected a sequence") && at.starts_with("[account]") {
        err.message = "`[account]` must be `[[account]]`: one such entry per account".to_string();
    }
    err
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    settings: Option<RawSettings>,
    #[serde(default)]
    account: Vec<Spanned<RawAccount>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    regions: Option<Spanned<RawRegions<false>>>,
    ec2_interval_secs: Option<Spanned<u32>>,
    findings_interval_secs: Option<Spanned<u32>>,
    cpu_interval_secs: Option<Spanned<u32>>,
    request_timeout_secs: Option<Spanned<u32>>,
    read_only: Option<bool>,
    examiner_cidr: Option<Spanned<String>>,
    quarantine_wait_secs: Option<Spanned<u32>>,
    confirm_by_typing_id: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    alias: Option<Spanned<String>>,
    profile: Option<Spanned<String>>,
    role_arn: Option<Spanned<String>>,
    external_id: Option<Spanned<String>>,
    source_profile: Option<Spanned<String>>,
    mfa_serial: Option<Spanned<String>>,
    session_name: Option<Spanned<String>>,
    regions: Option<Spanned<RawRegions<true>>>,
    home_regions: Option<Spanned<RawRegions<false>>>,
    endpoint_url: Option<Spanned<String>>,
}

/// A region list, or a word (`"all"`, valid only where `ALL`), each element with its span.
enum RawRegions<const ALL: bool> {
    Word(String),
    List(Vec<Spanned<String>>),
}

impl<'de, const ALL: bool> Deserialize<'de> for RawRegions<ALL> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const ALL: bool>;
        impl<'de, const ALL: bool> Visitor<'de> for V<ALL> {
            type Value = RawRegions<ALL>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(if ALL {
                    "a list like [\"us-east-1\"] or \"all\""
                } else {
                    "a list like [\"us-east-1\"]"
                })
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(RawRegions::Word(s.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut list = Vec::new();
                while let Some(r) = seq.next_element::<Spanned<String>>()? {
                    list.push(r);
                }
                Ok(RawRegions::List(list))
            }
        }
        d.deserialize_any(V::<ALL>)
    }
}

/// Validation context: the file and its text, to turn spans into locations.
struct Cx<'a> {
    file: &'a Path,
    src: &'a str,
}

impl Cx<'_> {
    fn err(&self, span: Range<usize>, msg: impl Into<String>) -> FileError {
        FileError::at(self.file, self.src, span.start, msg)
    }

    fn line(&self, span: Range<usize>) -> usize {
        crate::span::line_col(self.src, span.start).0
    }

    fn settings(&self, raw: RawSettings) -> Result<Settings, FileError> {
        let d = Settings::default();
        let secs =
            |v: Option<Spanned<u32>>, key: &str, default: u32, range: RangeInclusive<u32>| {
                let Some(v) = v else { return Ok(default) };
                if range.contains(v.get_ref()) {
                    Ok(*v.get_ref())
                } else {
                    let (lo, hi) = (range.start(), range.end());
                    let n = v.get_ref();
                    let msg =
                        format!("`{key} = {n}` is out of range: expected {lo} to {hi} seconds");
                    Err(self.err(v.span(), msg))
                }
            };
        let regions = match &raw.regions {
            None => None,
            Some(r) => Some(self.region_list("regions", r, false)?.unwrap_or_default()),
        };
        if let Some(c) = &raw.examiner_cidr {
            check_cidr(c.get_ref()).map_err(|m| self.err(c.span(), m))?;
        }
        Ok(Settings {
            regions: regions.map(|l| l.iter().map(|r| r.get_ref().clone()).collect()),
            ec2_interval_secs: secs(
                raw.ec2_interval_secs,
                "ec2_interval_secs",
                d.ec2_interval_secs,
                10..=3600,
            )?,
            findings_interval_secs: secs(
                raw.findings_interval_secs,
                "findings_interval_secs",
                d.findings_interval_secs,
                10..=3600,
            )?,
            cpu_interval_secs: secs(
                raw.cpu_interval_secs,
                "cpu_interval_secs",
                d.cpu_interval_secs,
                10..=3600,
            )?,
            request_timeout_secs: secs(
                raw.request_timeout_secs,
                "request_timeout_secs",
                d.request_timeout_secs,
                1..=300,
            )?,
            read_only: raw.read_only.unwrap_or(d.read_only),
            examiner_cidr: raw.examiner_cidr.map(Spanned::into_inner),
            quarantine_wait_secs: secs(
                raw.quarantine_wait_secs,
                "quarantine_wait_secs",
                d.quarantine_wait_secs,
                0..=600,
            )?,
            confirm_by_typing_id: raw.confirm_by_typing_id.unwrap_or(d.confirm_by_typing_id),
        })
    }

    /// A validated region list (`None` for `"all"`): non-empty unless `allow_empty`, valid codes,
    /// no duplicates.
    fn region_list<'r, const ALL: bool>(
        &self,
        key: &str,
        raw: &'r Spanned<RawRegions<ALL>>,
        allow_empty: bool,
    ) -> Result<Option<&'r [Spanned<String>]>, FileError> {
        let expected = if ALL {
            "a list like [\"us-east-1\"] or \"all\""
        } else {
            "a list like [\"us-east-1\"]"
        };
        let list = match raw.get_ref() {
            RawRegions::Word(w) if ALL && w == "all" => return Ok(None),
            RawRegions::Word(w) => {
                let msg = if is_valid_region(w) {
                    format!(
                        "`{key}` must be a list: expected [\"{w}\"]{}",
                        if ALL { " or \"all\"" } else { "" }
                    )
                } else if w == "all" {
                    format!("`{key}` cannot be \"all\" here: expected {expected}")
                } else {
                    format!("bad `{key}` value \"{w}\": expected {expected}")
                };
                return Err(self.err(raw.span(), msg));
            }
            RawRegions::List(list) => list,
        };
        if list.is_empty() && !allow_empty {
            let msg = format!("`{key}` is empty: expected at least one region, {expected}");
            return Err(self.err(raw.span(), msg));
        }
        for (i, r) in list.iter().enumerate() {
            if !is_valid_region(r.get_ref()) {
                return Err(self.err(r.span(), bad_region(r.get_ref())));
            }
            if list[..i].iter().any(|p| p.get_ref() == r.get_ref()) {
                let msg = format!(
                    "duplicate region `{}` in `{key}`: expected each region once",
                    r.get_ref()
                );
                return Err(self.err(r.span(), msg));
            }
        }
        Ok(Some(list))
    }

    /// A string that must be non-empty and pass `ok`, else `bad KEY `VALUE`: EXPECTED`.
    fn string(
        &self,
        key: &str,
        v: &Spanned<String>,
        ok: fn(&str) -> bool,
        expected: &str,
    ) -> Result<String, FileError> {
        if ok(v.get_ref()) {
            Ok(v.get_ref().clone())
        } else {
            Err(self.err(
                v.span(),
                format!("bad {key} `{}`: expected {expected}", v.get_ref()),
            ))
        }
    }

    fn account(
        &self,
        entry: &Spanned<RawAccount>,
        settings: &Settings,
    ) -> Result<AccountConfig, FileError> {
        let raw = entry.get_ref();
        let line = self.line(entry.span());
        let alias_ok = |s: &str| {
            (1..=32).contains(&s.len())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        };
        let alias_form = "1-32 characters of letters, digits and _.-";
        let alias = match &raw.alias {
            Some(a) => self.string("alias", a, alias_ok, alias_form)?,
            None => {
                let msg = format!(
                    "this [[account]] has no `alias`: expected alias = \"NAME\" ({alias_form})"
                );
                return Err(self.err(entry.span(), msg));
            }
        };
        let (credentials, partition) = self.credentials(raw)?;

        let own = match &raw.regions {
            Some(r) => Some(self.region_list("regions", r, false)?),
            None => None,
        };
        let regions = match (own, &settings.regions) {
            (Some(None), _) => Regions::All,
            (Some(Some(list)), _) => {
                if let Some(p) = partition {
                    self.same_partition(list, p)?;
                }
                Regions::List(list.iter().map(|r| r.get_ref().clone()).collect())
            }
            (None, Some(list)) => {
                if let (Some(p), Some(arn)) = (partition, &raw.role_arn)
                    && let Some(r) = list.iter().find(|r| region_partition(r) != p)
                {
                    let msg = format!(
                        "role_arn is in partition {p} but region `{r}` (from [settings] regions) \
                         is in {}: expected this account's own `regions` of partition {p}",
                        region_partition(r)
                    );
                    return Err(self.err(arn.span(), msg));
                }
                Regions::List(list.clone())
            }
            (None, None) => {
                let msg = format!(
                    "account `{alias}` has no regions: set regions here or in [settings] \
                     (a list like [\"us-east-1\"] or \"all\")"
                );
                return Err(self.err(entry.span(), msg));
            }
        };

        let home_regions = match (&raw.home_regions, &regions) {
            (Some(h), _) => {
                let list = self
                    .region_list("home_regions", h, true)?
                    .unwrap_or_default();
                if let Some(p) = partition {
                    self.same_partition(list, p)?;
                }
                if let Regions::List(all) = &regions
                    && let Some(r) = list.iter().find(|r| !all.contains(r.get_ref()))
                {
                    let msg = format!(
                        "home region `{}` is not in this account's regions [{}]: expected one of \
                         them (or add it to regions)",
                        r.get_ref(),
                        all.join(", ")
                    );
                    return Err(self.err(r.span(), msg));
                }
                list.iter().map(|r| r.get_ref().clone()).collect()
            }
            (None, Regions::List(all)) => all.clone(),
            (None, Regions::All) => Vec::new(),
        };

        let endpoint_url = match &raw.endpoint_url {
            Some(u) => {
                check_endpoint_url(u.get_ref()).map_err(|why| {
                    let msg = format!(
                        "bad endpoint_url `{}`: {why}; expected http(s)://HOST[:PORT][/PATH], \
                         e.g. http://127.0.0.1:5000",
                        u.get_ref()
                    );
                    self.err(u.span(), msg)
                })?;
                Some(u.get_ref().clone())
            }
            None => None,
        };

        Ok(AccountConfig {
            alias,
            credentials,
            regions,
            home_regions,
            endpoint_url,
            line,
        })
    }

    /// Every region of `list` is in partition `p` (that of the role ARN).
    fn same_partition(&self, list: &[Spanned<String>], p: &str) -> Result<(), FileError> {
        match list.iter().find(|r| region_partition(r.get_ref()) != p) {
            Some(r) => Err(self.err(
                r.span(),
                format!(
                    "region `{}` is in partition {} but role_arn is in partition {p}: expected \
                     regions of partition {p}",
                    r.get_ref(),
                    region_partition(r.get_ref())
                ),
            )),
            None => Ok(()),
        }
    }

    /// The credentials of an account and, when it assumes a role, the role's partition.
    fn credentials<'r>(
        &self,
        raw: &'r RawAccount,
    ) -> Result<(Credentials, Option<&'r str>), FileError> {
        let profile_ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
        };
        let profile_form = "the name of a profile in ~/.aws/config (letters, digits and _-/.%@:+)";
        let Some(arn) = &raw.role_arn else {
            let role_only = [
                ("external_id", &raw.external_id),
                ("source_profile", &raw.source_profile),
                ("mfa_serial", &raw.mfa_serial),
                ("session_name", &raw.session_name),
            ];
            if let Some((key, Some(v))) = role_only.into_iter().find(|(_, v)| v.is_some()) {
                let hint = if key == "mfa_serial" {
                    "; to assume a role with MFA set role_arn (and source_profile) here: aws-config \
                     ignores mfa_serial in ~/.aws/config"
                } else if raw.profile.is_some() {
                    "; for a profile, set it in that profile's section of ~/.aws/config"
                } else {
                    ""
                };
                let msg = format!(
                    "`{key}` is only used with `role_arn`: expected role_arn = \
                     \"arn:aws:iam::ACCOUNT_ID:role/NAME\" in this account, or no {key}{hint}"
                );
                return Err(self.err(v.span(), msg));
            }
            return Ok(match &raw.profile {
                Some(p) => (
                    Credentials::Profile(self.string("profile", p, profile_ok, profile_form)?),
                    None,
                ),
                None => (Credentials::DefaultChain, None),
            });
        };
        if let Some(p) = &raw.profile {
            let later = if p.span().start > arn.span().start {
                p.span()
            } else {
                arn.span()
            };
            let msg = "both `profile` and `role_arn` are set: expected one of them (to assume a role \
                       with a profile's credentials, write source_profile instead of profile)";
            return Err(self.err(later, msg));
        }
        let partition = match parse_role_arn(arn.get_ref()) {
            Ok(_) => arn.get_ref().split(':').nth(1).unwrap_or_default(),
            Err(msg) => return Err(self.err(arn.span(), msg)),
        };
        let external_id = match &raw.external_id {
            Some(x) => {
                let s = x.get_ref();
                let ok = (2..=1224).contains(&s.len())
                    && s.chars()
                        .all(|c| is_iam_name_char(c) || c == ':' || c == '/');
                if !ok {
                    // The value is not echoed: it may be meant to stay private.
                    let msg = "bad external_id: expected 2-1224 characters of letters, digits and _+=,.@:/-";
                    return Err(self.err(x.span(), msg));
                }
                Some(s.clone())
            }
            None => None,
        };
        let source_profile = match &raw.source_profile {
            Some(p) => Some(self.string("source_profile", p, profile_ok, profile_form)?),
            None => None,
        };
        let mfa_serial = match &raw.mfa_serial {
            Some(m) => {
                match check_mfa_serial(m.get_ref()) {
                    Ok(Some(mp)) if mp != partition => {
                        let msg = format!(
                            "mfa_serial is in partition {mp} but role_arn is in {partition}: \
                             expected an MFA device of partition {partition}"
                        );
                        return Err(self.err(m.span(), msg));
                    }
                    Ok(_) => {}
                    Err(msg) => return Err(self.err(m.span(), msg)),
                }
                Some(m.get_ref().clone())
            }
            None => None,
        };
        let session_ok = |s: &str| (2..=64).contains(&s.len()) && s.chars().all(is_iam_name_char);
        let session_name = match &raw.session_name {
            Some(s) => self.string(
                "session_name",
                s,
                session_ok,
                "2-64 characters of letters, digits and _+=,.@-",
            )?,
            None => DEFAULT_SESSION_NAME.to_string(),
        };
        let credentials = Credentials::AssumeRole {
            role_arn: arn.get_ref().clone(),
            external_id,
            source_profile,
            mfa_serial,
            session_name,
        };
        Ok((credentials, Some(partition)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Config, FileError> {
        Config::parse(Path::new("config.toml"), src)
    }

    fn err(src: &str) -> String {
        match parse(src) {
            Ok(c) => panic!("expected an error, parsed {c:?}\n{src}"),
            Err(e) => e.to_string(),
        }
    }

    /// Runs a table of (source, exact `file:line:col: message`).
    fn check(cases: &[(&str, &str)]) {
        for (src, want) in cases {
            assert_eq!(err(src), *want, "\nsource:\n{src}");
        }
    }

    const OK_ACCOUNT: &str =
        "[[account]]\nalias = \"a\"\nprofile = \"p\"\nregions = [\"us-east-1\"]\n";

    #[test]
    fn unknown_keys_are_located_and_list_the_expected_ones() {
        check(&[
            (
                "[[account]]\nalias = \"prod\"\nprofile = \"p\"\nregoins = [\"us-east-1\"]\n",
                "config.toml:4:1: unknown field `regoins`, expected one of `alias`, `profile`, \
                 `role_arn`, `external_id`, `source_profile`, `mfa_serial`, `session_name`, \
                 `regions`, `home_regions`, `endpoint_url`",
            ),
            (
                "[settings]\nec2_interval = 60\n",
                "config.toml:2:1: unknown field `ec2_interval`, expected one of `regions`, \
                 `ec2_interval_secs`, `findings_interval_secs`, `cpu_interval_secs`, \
                 `request_timeout_secs`, `read_only`, `examiner_cidr`, `quarantine_wait_secs`, \
                 `confirm_by_typing_id`",
            ),
            (
                "[[accounts]]\nalias = \"a\"\n",
                "config.toml:1:3: unknown field `accounts`, expected `settings` or `account`",
            ),
            (
                "[[account]]\nalias = \"a\"\naws_secret_access_key = \"hunter2\"\n",
                "config.toml:3:1: unknown field `aws_secret_access_key`: watchfloor never reads \
                 keys from its config; put them in ~/.aws/credentials (or use SSO) and name the \
                 profile with profile = \"NAME\"",
            ),
        ]);
    }

    #[test]
    fn secrets_in_unknown_keys_are_not_echoed() {
        let e = err("[[account]]\nalias = \"a\"\naws_secret_access_key = \"hunter2\"\n");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn wrong_types_and_toml_syntax() {
        check(&[
            (
                "[settings]\nec2_interval_secs = \"60\"\n",
                "config.toml:2:21: invalid type: string \"60\", expected u32",
            ),
            (
                "[settings]\nquarantine_wait_secs = -1\n",
                "config.toml:2:24: invalid value: integer `-1`, expected u32",
            ),
            (
                "[[account]]\nalias = 5\n",
                "config.toml:2:9: invalid type: integer `5`, expected a string",
            ),
            (
                "[[account]]\nalias = \"a\"\nregions = 5\n",
                "config.toml:3:11: invalid type: integer `5`, expected a list like [\"us-east-1\"] or \"all\"",
            ),
            (
                "[[account]]\nalias = \"a\"\nregions = [\"us-east-1\", 5]\n",
                "config.toml:3:25: invalid type: integer `5`, expected a string",
            ),
            (
                "[[account]]\nalias = \"a\"\nhome_regions = {}\n",
                "config.toml:3:16: invalid type: map, expected a list like [\"us-east-1\"]",
            ),
            (
                "[account]\nalias = \"a\"\n",
                "config.toml:1:1: `[account]` must be `[[account]]`: one such entry per account",
            ),
            (
                "[[account]\nalias = \"a\"\n",
                "config.toml:1:11: unclosed array table, expected `]`",
            ),
        ]);
    }

    #[test]
    fn missing_and_bad_alias() {
        check(&[
            (
                "[[account]]\nprofile = \"p\"\n",
                "config.toml:1:1: this [[account]] has no `alias`: expected alias = \"NAME\" (1-32 \
                 characters of letters, digits and _.-)",
            ),
            (
                "[[account]]\nalias = \"prod env\"\n",
                "config.toml:2:9: bad alias `prod env`: expected 1-32 characters of letters, digits and _.-",
            ),
            (
                "[[account]]\nalias = \"\"\n",
                "config.toml:2:9: bad alias ``: expected 1-32 characters of letters, digits and _.-",
            ),
        ]);
        let long = format!("[[account]]\nalias = \"{}\"\n", "a".repeat(33));
        assert!(err(&long).starts_with("config.toml:2:9: bad alias `aaaa"));
    }

    #[test]
    fn duplicate_alias_ignores_case_and_names_the_first_line() {
        let src = format!(
            "{OK_ACCOUNT}\n[[account]]\nalias = \"A\"\nprofile = \"q\"\nregions = [\"us-east-1\"]\n"
        );
        assert_eq!(
            err(&src),
            "config.toml:7:9: duplicate alias `A`: the account on line 1 is already `a` (aliases \
             ignore case); expected a unique alias"
        );
    }

    #[test]
    fn credential_key_combinations() {
        let arn = "arn:aws:iam::123456789012:role/r";
        check(&[
            (
                &format!("[[account]]\nalias = \"a\"\nprofile = \"p\"\nrole_arn = \"{arn}\"\n"),
                "config.toml:4:12: both `profile` and `role_arn` are set: expected one of them (to \
                 assume a role with a profile's credentials, write source_profile instead of profile)",
            ),
            (
                &format!("[[account]]\nalias = \"a\"\nrole_arn = \"{arn}\"\nprofile = \"p\"\n"),
                "config.toml:4:11: both `profile` and `role_arn` are set: expected one of them (to \
                 assume a role with a profile's credentials, write source_profile instead of profile)",
            ),
            (
                "[[account]]\nalias = \"a\"\nprofile = \"p\"\nexternal_id = \"xyz\"\n",
                "config.toml:4:15: `external_id` is only used with `role_arn`: expected role_arn = \
                 \"arn:aws:iam::ACCOUNT_ID:role/NAME\" in this account, or no external_id; for a \
                 profile, set it in that profile's section of ~/.aws/config",
            ),
            (
                "[[account]]\nalias = \"a\"\nsource_profile = \"p\"\n",
                "config.toml:3:18: `source_profile` is only used with `role_arn`: expected role_arn \
                 = \"arn:aws:iam::ACCOUNT_ID:role/NAME\" in this account, or no source_profile",
            ),
            (
                "[[account]]\nalias = \"a\"\nprofile = \"p\"\nmfa_serial = \"GAHT12345678\"\n",
                "config.toml:4:14: `mfa_serial` is only used with `role_arn`: expected role_arn = \
                 \"arn:aws:iam::ACCOUNT_ID:role/NAME\" in this account, or no mfa_serial; to assume \
                 a role with MFA set role_arn (and source_profile) here: aws-config ignores \
                 mfa_serial in ~/.aws/config",
            ),
            (
                "[[account]]\nalias = \"a\"\nsession_name = \"s1\"\n",
                "config.toml:3:16: `session_name` is only used with `role_arn`: expected role_arn = \
                 \"arn:aws:iam::ACCOUNT_ID:role/NAME\" in this account, or no session_name",
            ),
            (
                "[[account]]\nalias = \"a\"\nprofile = \"my profile\"\n",
                "config.toml:3:11: bad profile `my profile`: expected the name of a profile in \
                 ~/.aws/config (letters, digits and _-/.%@:+)",
            ),
            (
                &format!(
                    "[[account]]\nalias = \"a\"\nrole_arn = \"{arn}\"\nsource_profile = \"\"\n"
                ),
                "config.toml:4:18: bad source_profile ``: expected the name of a profile in \
                 ~/.aws/config (letters, digits and _-/.%@:+)",
            ),
            (
                &format!(
                    "[[account]]\nalias = \"a\"\nrole_arn = \"{arn}\"\nsession_name = \"my session\"\n"
                ),
                "config.toml:4:16: bad session_name `my session`: expected 2-64 characters of \
                 letters, digits and _+=,.@-",
            ),
            (
                &format!(
                    "[[account]]\nalias = \"a\"\nrole_arn = \"{arn}\"\nexternal_id = \"secret value\"\n"
                ),
                "config.toml:4:15: bad external_id: expected 2-1224 characters of letters, digits and _+=,.@:/-",
            ),
            (
                &format!(
                    "[[account]]\nalias = \"a\"\nrole_arn = \"{arn}\"\nmfa_serial = \"arn:aws:iam::123456789012:user/alice\"\n"
                ),
                "config.toml:4:14: bad mfa_serial `arn:aws:iam::123456789012:user/alice`: resource \
                 `user/alice` is not `mfa/NAME`; expected arn:PARTITION:iam::ACCOUNT_ID:mfa/NAME or \
                 a hardware token serial like GAHT12345678",
            ),
            (
                &format!(
                    "[[account]]\nalias = \"a\"\nrole_arn = \"{arn}\"\nmfa_serial = \"123456\"\n"
                ),
                "config.toml:4:14: bad mfa_serial `123456`: expected \
                 arn:PARTITION:iam::ACCOUNT_ID:mfa/NAME or a hardware token serial like GAHT12345678",
            ),
            (
                &format!(
                    "[[account]]\nalias = \"a\"\nrole_arn = \"{arn}\"\nmfa_serial = \"arn:aws-cn:iam::123456789012:mfa/alice\"\n"
                ),
                "config.toml:4:14: mfa_serial is in partition aws-cn but role_arn is in aws: \
                 expected an MFA device of partition aws",
            ),
        ]);
    }

    #[test]
    fn default_chain_at_most_once() {
        let src = "[settings]\nregions = [\"us-east-1\"]\n\n[[account]]\nalias = \"one\"\n\n[[account]]\nalias = \"two\"\n";
        assert_eq!(
            err(src),
            "config.toml:7:1: account `two` has neither `profile` nor `role_arn`, like account `one` \
             on line 4: only one account may use the default credential chain; expected profile = \
             \"NAME\" or role_arn = \"ARN\""
        );
    }

    #[test]
    fn bad_role_arns() {
        let form = "expected arn:PARTITION:iam::ACCOUNT_ID(12 digits):role/NAME";
        let cases = [
            ("arn:aws:iam::12:role/x", "account id `12` is not 12 digits"),
            (
                "arn:aws:iam::12345678901a:role/x",
                "account id `12345678901a` is not 12 digits",
            ),
            (
                "arn:azure:iam::123456789012:role/x",
                "unknown partition `azure` (aws, aws-cn or aws-us-gov)",
            ),
            (
                "arn:aws:iam::123456789012:user/x",
                "resource `user/x` does not start with `role/`",
            ),
            (
                "arn:aws:iam::123456789012:role/",
                "role name `` is not 1-64 characters of letters, digits and _+=,.@-",
            ),
            (
                "arn:aws:iam::123456789012:role/a b",
                "role name `a b` is not 1-64 characters of letters, digits and _+=,.@-",
            ),
            (
                "arn:aws:iam::123456789012:role/ops//x",
                "bad role path `/ops//`",
            ),
            (
                "arn:aws:iam:us-east-1:123456789012:role/x",
                "IAM ARNs have no region, found `us-east-1`",
            ),
            (
                "arn:aws:s3::123456789012:role/x",
                "service is `s3`, not `iam`",
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/x/s",
                "that is an STS session ARN, not the IAM role or device",
            ),
            ("role/x", "not an ARN (six `:`-separated fields)"),
            (
                "ARN:aws:iam::123456789012:role/x",
                "does not start with `arn:`",
            ),
        ];
        for (arn, why) in cases {
            let want = format!("bad role ARN `{arn}`: {why}; {form}");
            assert_eq!(parse_role_arn(arn), Err(want.clone()));
            let src = format!("[[account]]\nalias = \"a\"\nrole_arn = \"{arn}\"\n");
            assert_eq!(err(&src), format!("config.toml:3:12: {want}"));
        }
    }

    #[test]
    fn good_role_arns() {
        let cases = [
            (
                "arn:aws:iam::123456789012:role/r",
                ("aws", "123456789012", "r"),
            ),
            (
                "arn:aws-cn:iam::123456789012:role/ops/team/Read+Only",
                ("aws-cn", "123456789012", "Read+Only"),
            ),
            (
                "arn:aws-us-gov:iam::000000000000:role/a=b,c.d@e-f_g",
                ("aws-us-gov", "000000000000", "a=b,c.d@e-f_g"),
            ),
        ];
        for (arn, (p, a, n)) in cases {
            assert_eq!(
                parse_role_arn(arn),
                Ok((p.to_string(), a.to_string(), n.to_string())),
                "{arn}"
            );
        }
    }

    #[test]
    fn region_codes() {
        for r in [
            "us-east-1",
            "eu-central-2",
            "ap-southeast-4",
            "us-gov-west-1",
            "cn-north-1",
            "il-central-1",
            "mx-central-1",
            "ap-northeast-3",
            "ca-west-1",
            "sa-east-1",
            "af-south-1",
            "me-south-1",
        ] {
            assert!(is_valid_region(r), "{r}");
        }
        for r in [
            "",
            "us-east",
            "us-east-1a",
            "US-EAST-1",
            "us_east_1",
            "use-east-1",
            "us-up-1",
            "us-east-01",
            "us-east-100",
            "us-gov-1",
            "us-east-1-1",
            "u1-east-1",
            "us-east-0",
        ] {
            assert!(!is_valid_region(r), "{r}");
        }
        assert_eq!(region_partition("cn-northwest-1"), "aws-cn");
        assert_eq!(region_partition("us-gov-east-1"), "aws-us-gov");
        assert_eq!(region_partition("eu-west-1"), "aws");
    }

    #[test]
    fn region_suggestions() {
        let cases = [
            ("us-east1", Some("us-east-1")),
            ("US_EAST_1", Some("us-east-1")),
            ("eu-centrl-1", Some("eu-central-1")),
            ("us-east-1a", Some("us-east-1")),
            ("usgovwest1", Some("us-gov-west-1")),
            ("ap-south-east-2", Some("ap-southeast-2")),
            ("us-east", None),
            ("virginia", None),
            ("us-east-1", None),
        ];
        for (input, want) in cases {
            assert_eq!(suggest_region(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn region_lists() {
        let acct = "[[account]]\nalias = \"a\"\nprofile = \"p\"\n";
        let form = "expected a region code like us-east-1, eu-central-2 or us-gov-west-1";
        check(&[
            (
                &format!("{acct}regions = [\"us-east-1\", \"us-east1\"]\n"),
                &format!(
                    "config.toml:4:25: bad region `us-east1`: {form} (did you mean `us-east-1`?)"
                ),
            ),
            (
                &format!("{acct}regions = [\"us-east-1a\"]\n"),
                &format!(
                    "config.toml:4:12: bad region `us-east-1a`: {form} (did you mean `us-east-1`?)"
                ),
            ),
            (
                &format!("{acct}regions = [\"mars-1\"]\n"),
                &format!("config.toml:4:12: bad region `mars-1`: {form}"),
            ),
            (
                &format!("{acct}regions = []\n"),
                "config.toml:4:11: `regions` is empty: expected at least one region, a list like \
                 [\"us-east-1\"] or \"all\"",
            ),
            (
                &format!("{acct}regions = [\"us-east-1\", \"eu-west-1\", \"us-east-1\"]\n"),
                "config.toml:4:38: duplicate region `us-east-1` in `regions`: expected each region once",
            ),
            (
                &format!("{acct}regions = \"everywhere\"\n"),
                "config.toml:4:11: bad `regions` value \"everywhere\": expected a list like \
                 [\"us-east-1\"] or \"all\"",
            ),
            (
                &format!("{acct}regions = \"us-east-1\"\n"),
                "config.toml:4:11: `regions` must be a list: expected [\"us-east-1\"] or \"all\"",
            ),
            (
                "[settings]\nregions = \"all\"\n",
                "config.toml:2:11: `regions` cannot be \"all\" here: expected a list like [\"us-east-1\"]",
            ),
            (
                "[settings]\nregions = []\n",
                "config.toml:2:11: `regions` is empty: expected at least one region, a list like [\"us-east-1\"]",
            ),
            (
                "[settings]\nregions = [\"eu-west-9x\"]\n",
                &format!(
                    "config.toml:2:12: bad region `eu-west-9x`: {form} (did you mean `eu-west-9`?)"
                ),
            ),
            (
                "[[account]]\nalias = \"a\"\nprofile = \"p\"\n",
                "config.toml:1:1: account `a` has no regions: set regions here or in [settings] (a \
                 list like [\"us-east-1\"] or \"all\")",
            ),
        ]);
    }

    #[test]
    fn home_regions() {
        let acct = "[[account]]\nalias = \"a\"\nprofile = \"p\"\n";
        check(&[
            (
                &format!(
                    "{acct}regions = [\"us-east-1\", \"eu-west-1\"]\nhome_regions = [\"eu-west-2\"]\n"
                ),
                "config.toml:5:17: home region `eu-west-2` is not in this account's regions \
                 [us-east-1, eu-west-1]: expected one of them (or add it to regions)",
            ),
            (
                &format!(
                    "{acct}regions = \"all\"\nhome_regions = [\"eu-west-2\", \"eu-west-2\"]\n"
                ),
                "config.toml:5:30: duplicate region `eu-west-2` in `home_regions`: expected each region once",
            ),
            (
                &format!("{acct}regions = \"all\"\nhome_regions = \"all\"\n"),
                "config.toml:5:16: `home_regions` cannot be \"all\" here: expected a list like [\"us-east-1\"]",
            ),
            (
                &format!("{acct}regions = \"all\"\nhome_regions = \"eu-west-1\"\n"),
                "config.toml:5:16: `home_regions` must be a list: expected [\"eu-west-1\"]",
            ),
        ]);
        let c = parse(&format!("{acct}regions = \"all\"\nhome_regions = []\n")).unwrap();
        assert!(c.accounts[0].home_regions.is_empty());
    }

    #[test]
    fn partitions_must_match_the_role() {
        let acct =
            "[[account]]\nalias = \"a\"\nrole_arn = \"arn:aws-cn:iam::123456789012:role/r\"\n";
        check(&[
            (
                &format!("{acct}regions = [\"cn-north-1\", \"us-east-1\"]\n"),
                "config.toml:4:26: region `us-east-1` is in partition aws but role_arn is in \
                 partition aws-cn: expected regions of partition aws-cn",
            ),
            (
                &format!("{acct}regions = \"all\"\nhome_regions = [\"us-gov-west-1\"]\n"),
                "config.toml:5:17: region `us-gov-west-1` is in partition aws-us-gov but role_arn is \
                 in partition aws-cn: expected regions of partition aws-cn",
            ),
            (
                &format!("[settings]\nregions = [\"us-east-1\"]\n\n{acct}"),
                "config.toml:6:12: role_arn is in partition aws-cn but region `us-east-1` (from \
                 [settings] regions) is in aws: expected this account's own `regions` of partition aws-cn",
            ),
        ]);
    }

    #[test]
    fn endpoint_urls() {
        let acct = "[[account]]\nalias = \"a\"\nregions = [\"us-east-1\"]\n";
        let form = "expected http(s)://HOST[:PORT][/PATH], e.g. http://127.0.0.1:5000";
        let bad = [
            ("ftp://x", "the scheme must be http:// or https://"),
            ("127.0.0.1:5000", "the scheme must be http:// or https://"),
            (
                "http://",
                "the host is missing or has characters other than letters, digits and .-_",
            ),
            (
                "http://:5000",
                "the host is missing or has characters other than letters, digits and .-_",
            ),
            (
                "http://local host",
                "the host is missing or has characters other than letters, digits and .-_",
            ),
            ("http://localhost:0", "the port is not a number 1-65535"),
            ("http://localhost:99999", "the port is not a number 1-65535"),
            ("http://localhost:", "the port is not a number 1-65535"),
            ("http://a:b:1", "the port is not a number 1-65535"),
            ("http://[::1", "unclosed `[` in the host"),
            ("http://[zz]:80", "bad IPv6 address in the host"),
            (
                "http://user:pw@host",
                "user:password@ does not belong in a URL here",
            ),
            ("http://host/a b", "the path has spaces, `?` or `#`"),
        ];
        for (url, why) in bad {
            let src = format!("{acct}endpoint_url = \"{url}\"\n");
            assert_eq!(
                err(&src),
                format!("config.toml:4:16: bad endpoint_url `{url}`: {why}; {form}")
            );
        }
        for url in [
            "http://127.0.0.1:5000",
            "https://moto.internal",
            "http://[::1]:4566/",
            "http://localhost:4566/aws",
        ] {
            assert_eq!(check_endpoint_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn examiner_cidrs() {
        check(&[
            (
                "[settings]\nexaminer_cidr = \"203.0.113.7\"\n",
                "config.toml:2:17: bad examiner_cidr `203.0.113.7`: expected an IPv4 or IPv6 CIDR \
                 like 203.0.113.7/32 or 2001:db8::7/128",
            ),
            (
                "[settings]\nexaminer_cidr = \"0.0.0.0/0\"\n",
                "config.toml:2:17: examiner_cidr `0.0.0.0/0` would open SSH on quarantined instances \
                 to the whole internet: expected the examiner's own address, e.g. 203.0.113.7/32",
            ),
            (
                "[settings]\nexaminer_cidr = \"10.1.2.3/16\"\n",
                "config.toml:2:17: examiner_cidr `10.1.2.3/16` has host bits set: expected \
                 10.1.0.0/16, or 10.1.2.3/32 for one host",
            ),
        ]);
        for ok in [
            "203.0.113.7/32",
            "10.0.0.0/8",
            "2001:db8::7/128",
            "2001:db8::/32",
            "198.51.100.0/24",
        ] {
            assert_eq!(check_cidr(ok), Ok(()), "{ok}");
        }
        for bad in [
            "10.0.0.0/33",
            "::1/129",
            "10.0.0.0/+8",
            "10.0.0.0/",
            "/8",
            "x/8",
        ] {
            assert!(
                check_cidr(bad)
                    .unwrap_err()
                    .starts_with("bad examiner_cidr"),
                "{bad}"
            );
        }
        assert_eq!(
            check_cidr("2001:db8::7/64").unwrap_err(),
            "examiner_cidr `2001:db8::7/64` has host bits set: expected 2001:db8::/64, or 2001:db8::7/128 for one host"
        );
    }

    #[test]
    fn intervals_out_of_range() {
        let cases = [
            (
                "ec2_interval_secs = 5",
                "`ec2_interval_secs = 5` is out of range: expected 10 to 3600 seconds",
            ),
            (
                "findings_interval_secs = 3601",
                "`findings_interval_secs = 3601` is out of range: expected 10 to 3600 seconds",
            ),
            (
                "cpu_interval_secs = 9",
                "`cpu_interval_secs = 9` is out of range: expected 10 to 3600 seconds",
            ),
            (
                "request_timeout_secs = 0",
                "`request_timeout_secs = 0` is out of range: expected 1 to 300 seconds",
            ),
            (
                "quarantine_wait_secs = 601",
                "`quarantine_wait_secs = 601` is out of range: expected 0 to 600 seconds",
            ),
        ];
        for (line, msg) in cases {
            let col = line.find('=').unwrap() + 3;
            let src = format!("[settings]\n{line}\n\n{OK_ACCOUNT}");
            assert_eq!(err(&src), format!("config.toml:2:{col}: {msg}"));
        }
    }

    #[test]
    fn no_accounts() {
        let want = "config.toml: no accounts: add at least one [[account]] with an alias (see docs/configuration.md)";
        assert_eq!(err(""), want);
        assert_eq!(err("[settings]\nread_only = true\n"), want);
        assert_eq!(err("account = []\n"), want);
    }

    #[test]
    fn full_example_parses() {
        let src = r#"
[settings]
regions = ["us-east-1"]
ec2_interval_secs = 120
findings_interval_secs = 300
cpu_interval_secs = 60
request_timeout_secs = 15
read_only = true
examiner_cidr = "203.0.113.7/32"
quarantine_wait_secs = 10

[[account]]
alias = "prod"
profile = "prod-admin"
regions = ["us-east-1", "eu-west-1"]
home_regions = ["us-east-1"]
endpoint_url = "http://127.0.0.1:5000"

[[account]]
alias = "staging"
role_arn = "arn:aws:iam::345678901234:role/watchfloor-read"
external_id = "xyz"
source_profile = "default"
mfa_serial = "arn:aws:iam::111111111111:mfa/alice"
session_name = "wf-alice"
regions = "all"

[[account]]
alias = "dev"
role_arn = "arn:aws:iam::456789012345:role/ops/watchfloor"

[[account]]
alias = "local"
"#;
        let c = parse(src).unwrap();
        assert_eq!(c.path, PathBuf::from("config.toml"));
        assert_eq!(
            c.settings,
            Settings {
                regions: Some(vec!["us-east-1".into()]),
                ec2_interval_secs: 120,
                findings_interval_secs: 300,
                cpu_interval_secs: 60,
                request_timeout_secs: 15,
                read_only: true,
                examiner_cidr: Some("203.0.113.7/32".into()),
                quarantine_wait_secs: 10,
                confirm_by_typing_id: false,
            }
        );
        let us = || vec!["us-east-1".to_string()];
        assert_eq!(
            c.accounts,
            vec![
                AccountConfig {
                    alias: "prod".into(),
                    credentials: Credentials::Profile("prod-admin".into()),
                    regions: Regions::List(vec!["us-east-1".into(), "eu-west-1".into()]),
                    home_regions: us(),
                    endpoint_url: Some("http://127.0.0.1:5000".into()),
                    line: 12,
                },
                AccountConfig {
                    alias: "staging".into(),
                    credentials: Credentials::AssumeRole {
                        role_arn: "arn:aws:iam::345678901234:role/watchfloor-read".into(),
                        external_id: Some("xyz".into()),
                        source_profile: Some("default".into()),
                        mfa_serial: Some("arn:aws:iam::111111111111:mfa/alice".into()),
                        session_name: "wf-alice".into(),
                    },
                    regions: Regions::All,
                    home_regions: vec![],
                    endpoint_url: None,
                    line: 19,
                },
                AccountConfig {
                    alias: "dev".into(),
                    credentials: Credentials::AssumeRole {
                        role_arn: "arn:aws:iam::456789012345:role/ops/watchfloor".into(),
                        external_id: None,
                        source_profile: None,
                        mfa_serial: None,
                        session_name: "watchfloor".into(),
                    },
                    regions: Regions::List(us()),
                    home_regions: us(),
                    endpoint_url: None,
                    line: 28,
                },
                AccountConfig {
                    alias: "local".into(),
                    credentials: Credentials::DefaultChain,
                    regions: Regions::List(us()),
                    home_regions: us(),
                    endpoint_url: None,
                    line: 32,
                },
            ]
        );
        let ids: Vec<_> = c
            .accounts
            .iter()
            .map(AccountConfig::expected_account_id)
            .collect();
        assert_eq!(
            ids,
            [None, Some("345678901234"), Some("456789012345"), None]
        );
    }

    #[test]
    fn defaults_and_inline_tables() {
        let c =
            parse("account = [{ alias = \"a\", profile = \"p\", regions = [\"eu-west-1\"] }]\n")
                .unwrap();
        assert_eq!(c.settings, Settings::default());
        assert_eq!(c.accounts[0].line, 1);
        assert_eq!(
            c.accounts[0].regions,
            Regions::List(vec!["eu-west-1".into()])
        );
        let hw = "[[account]]\nalias = \"a\"\nrole_arn = \"arn:aws:iam::123456789012:role/r\"\nmfa_serial = \"GAHT12345678\"\nregions = [\"us-east-1\"]\n";
        assert!(parse(hw).is_ok());
    }

    #[test]
    fn debug_hides_the_external_id() {
        let c = Credentials::AssumeRole {
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            external_id: Some("very-private-id".into()),
            source_profile: None,
            mfa_serial: None,
            session_name: DEFAULT_SESSION_NAME.into(),
        };
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("very-private-id") && shown.contains("<redacted>"),
            "{shown}"
        );
    }

    #[test]
    fn default_chain_config() {
        let c = Config::default_chain();
        assert_eq!(c.accounts.len(), 1);
        let a = &c.accounts[0];
        assert_eq!(
            (a.alias.as_str(), &a.credentials),
            ("default", &Credentials::DefaultChain)
        );
        assert_eq!(a.regions, Regions::List(vec![]));
        assert_eq!(a.expected_account_id(), None);
        assert_eq!(c.settings, Settings::default());
    }

    #[test]
    fn load_reads_files_and_explains_a_missing_one() {
        let dir =
            std::env::temp_dir().join(format!("watchfloor-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.toml");
        assert_eq!(
            Config::load(&missing).unwrap_err(),
            FileError::whole(
                &missing,
                "no such config file: create it as described in docs/configuration.md"
            )
        );
        let file = dir.join("config.toml");
        std::fs::write(&file, OK_ACCOUNT).unwrap();
        let c = Config::load(&file).unwrap();
        assert_eq!(
            (c.path.as_path(), c.accounts[0].alias.as_str()),
            (file.as_path(), "a")
        );
        std::fs::write(&file, "[[account]]\nalias = 1\n").unwrap();
        assert_eq!(Config::load(&file).unwrap_err().line, 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn default_path_is_in_the_config_dir() {
        if let Some(p) = Config::default_path() {
            assert!(p.ends_with("watchfloor/config.toml"), "{}", p.display());
        }
    }

    /// Every ```toml block of docs/configuration.md is a complete, valid config file.
    #[test]
    fn documentation_examples_parse() {
        let doc = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/configuration.md"
        ));
        let mut blocks = 0;
        for (i, chunk) in doc.split("```toml\n").enumerate().skip(1) {
            let block = chunk.split("```").next().unwrap();
            let path = PathBuf::from(format!("docs/configuration.md block {i}"));
            if let Err(e) = Config::parse(&path, block) {
                panic!("{e}\n{block}");
            }
            blocks += 1;
        }
        assert!(blocks >= 6, "only {blocks} toml examples");
    }
}
