//! The accounts, regions and settings file (`config.toml`): parsed, validated, every mistake located.
//!
//! `raw` reads the TOML into spanned serde types, `validate` turns those into the checked
//! types below with `file:line:col` messages, and `ids` checks AWS identifiers.

mod ids;
mod raw;
mod validate;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::span::FileError;

pub use ids::{PARTITIONS, is_account_id, is_valid_region, parse_role_arn, region_partition};

/// Session name for assumed roles when an account sets no `session_name`.
pub const DEFAULT_SESSION_NAME: &str = "watchfloor";

/// Where the configuration file is documented (named in error messages).
const DOCS: &str = "docs/configuration.md";

/// A validated configuration file.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Global settings (`[settings]`), defaults filled in.
    pub settings: Settings,
    /// The `[[account]]` entries in file order; empty only beside an `[organization]`.
    pub accounts: Vec<AccountConfig>,
    /// `[organization]`: member accounts discovered through AWS Organizations.
    pub organization: Option<OrgConfig>,
    /// What an alert does (`[alerts]`), defaults filled in.
    pub alerts: AlertSettings,
    /// The team's rules (`[[rule]]`), in file order.
    pub rules: Vec<crate::rules::Rule>,
    /// The file this came from; empty for [`Config::default_chain`].
    pub path: PathBuf,
}

/// Global settings (`[settings]`).
#[derive(Debug, Clone, PartialEq)]
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
    /// Look up instance prices (Price List, Spot price history; default true).
    pub pricing: bool,
    /// A burn more than this many times the burn of 24 h ago is a spike (1.1..=100, default 2).
    pub burn_spike_ratio: f64,
    /// Read daily cost and anomalies from Cost Explorer ($0.01 a request; default false).
    pub cost_explorer: bool,
}

/// `[alerts]`: what a new critical finding, a newly saturated instance or a new GPU/foreign-AMI
/// launch does besides showing on the wall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSettings {
    /// Ring the terminal bell (default true).
    pub bell: bool,
    /// Put the alert in the terminal title (default true).
    pub title: bool,
    /// Program and arguments run with the alert as JSON on stdin (empty: none).
    pub command: Vec<String>,
    /// At most one run of the command per this many seconds; alerts in between are counted in
    /// the next run's `suppressed` (1..=3600, default 30).
    pub min_interval_secs: u32,
    /// A run still going after this many seconds is killed and reported (1..=300, default 10).
    pub timeout_secs: u32,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            bell: true,
            title: true,
            command: Vec::new(),
            min_interval_secs: 30,
            timeout_secs: 10,
        }
    }
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
            pricing: true,
            burn_spike_ratio: 2.0,
            cost_explorer: false,
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
    /// Colour of the account's name in the header, table, panels and detail title.
    pub color: Option<crate::theme::ThemeColor>,
    /// No triage action on this account, from the console or headless (resuming an interrupted
    /// quarantine, which only closes it further, still works).
    pub read_only: bool,
    /// 1-based line of the `[[account]]` entry in the file, 0 when there is no file.
    pub line: usize,
}

/// `[organization]`: every ACTIVE account of an AWS Organization (ListAccounts), each reached by
/// assuming `role_name` in it, with org-wide GuardDuty and CloudWatch when their aggregating
/// accounts are named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgConfig {
    /// Who calls Organizations (the management or a delegated administrator account): its
    /// credentials and endpoint, as for an `[[account]]`; its `regions`, `home_regions` and
    /// `read_only` apply to every member. Its alias is [`ORG_ALIAS`].
    pub access: AccountConfig,
    /// Role assumed in every member account (`arn:PARTITION:iam::ID:role/ROLE_NAME`).
    pub role_name: String,
    /// External id the member roles require, if any (never shown by `Debug`).
    pub member_external_id: Option<Secret>,
    /// GuardDuty delegated administrator: one findings feed per region there serves every member.
    pub guardduty_admin: Option<String>,
    /// CloudWatch cross-account observability monitoring account: one CPU feed per region there
    /// reads every member's metrics.
    pub monitoring_account: Option<String>,
    /// Account ids and OU ids (`ou-...`) never polled.
    pub exclude: Vec<String>,
    /// SQS queue fed by an org-wide EventBridge rule (state changes, findings, launches).
    pub events_queue_url: Option<String>,
    /// Seconds between ListAccounts runs (60..=86400, default 900).
    pub discover_interval_secs: u32,
    /// Feed polls in flight at once across the organization (1..=1024, default 64).
    pub max_concurrent_polls: u32,
    /// 1-based line of `[organization]`.
    pub line: usize,
}

/// Alias of the organization's caller in prompts and messages.
pub const ORG_ALIAS: &str = "organization";

/// A value that must never be printed (an external id).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
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
        let raw = raw::parse(path, src)?;
        validate::config(path, src, raw)
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
            alerts: AlertSettings::default(),
            accounts: vec![AccountConfig {
                alias: "default".to_string(),
                credentials: Credentials::DefaultChain,
                regions: Regions::List(Vec::new()),
                home_regions: Vec::new(),
                endpoint_url: None,
                color: None,
                read_only: false,
                line: 0,
            }],
            organization: None,
            rules: Vec::new(),
            path: PathBuf::new(),
        }
    }
}

/// Helpers shared by the unit tests of every config module.
#[cfg(test)]
mod test_util {
    use std::path::Path;

    use super::Config;
    use crate::span::FileError;

    /// Parses `src` as `config.toml`.
    pub(super) fn parse(src: &str) -> Result<Config, FileError> {
        Config::parse(Path::new("config.toml"), src)
    }

    /// The error message `src` must give.
    pub(super) fn err(src: &str) -> String {
        match parse(src) {
            Ok(c) => panic!("expected an error, parsed {c:?}\n{src}"),
            Err(e) => e.to_string(),
        }
    }

    /// Runs a table of (source, exact `file:line:col: message`).
    pub(super) fn check(cases: &[(&str, &str)]) {
        for (src, want) in cases {
            assert_eq!(err(src), *want, "\nsource:\n{src}");
        }
    }

    /// One valid account, for tests about something else.
    pub(super) const OK_ACCOUNT: &str =
        "[[account]]\nalias = \"a\"\nprofile = \"p\"\nregions = [\"us-east-1\"]\n";
}

#[cfg(test)]
mod tests {
    use super::test_util::{OK_ACCOUNT, parse};
    use super::*;

    #[test]
    fn full_example_parses() {
        let src = r##"
[settings]
regions = ["us-east-1"]
ec2_interval_secs = 120
findings_interval_secs = 300
cpu_interval_secs = 60
request_timeout_secs = 15
read_only = true
examiner_cidr = "203.0.113.7/32"
quarantine_wait_secs = 10
pricing = false
burn_spike_ratio = 3.5
cost_explorer = true

[[rule]]
name = "ssh-world-not-bastion"
when = "port:22 !tag:Role=bastion"
severity = "high"
alert = true

[[rule]]
name = "pinned-with-findings"
when = "sev>=high cpu>90"

[[account]]
alias = "prod"
profile = "prod-admin"
regions = ["us-east-1", "eu-west-1"]
home_regions = ["us-east-1"]
endpoint_url = "http://127.0.0.1:5000"
color = "red"

[[account]]
alias = "staging"
role_arn = "arn:aws:iam::345678901234:role/watchfloor-read"
external_id = "xyz"
source_profile = "default"
mfa_serial = "arn:aws:iam::111111111111:mfa/alice"
session_name = "wf-alice"
regions = "all"
read_only = true
color = "#00ff00"

[[account]]
alias = "dev"
role_arn = "arn:aws:iam::456789012345:role/ops/watchfloor"

[[account]]
alias = "local"
"##;
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
                pricing: false,
                burn_spike_ratio: 3.5,
                cost_explorer: true,
            }
        );
        let rules: Vec<(&str, &str, crate::model::SeverityBand, bool)> = c
            .rules
            .iter()
            .map(|r| (r.name.as_str(), r.when.as_str(), r.severity, r.alert))
            .collect();
        assert_eq!(
            rules,
            [
                (
                    "ssh-world-not-bastion",
                    "port:22 !tag:Role=bastion",
                    crate::model::SeverityBand::High,
                    true
                ),
                (
                    "pinned-with-findings",
                    "sev>=high cpu>90",
                    crate::model::SeverityBand::Medium,
                    false
                ),
            ]
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
                    color: Some(crate::theme::ThemeColor {
                        rgb: Some((255, 0, 0)),
                        ansi: Some(196),
                    }),
                    read_only: false,
                    line: 25,
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
                    color: Some(crate::theme::ThemeColor {
                        rgb: Some((0, 255, 0)),
                        ansi: None,
                    }),
                    read_only: true,
                    line: 33,
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
                    color: None,
                    read_only: false,
                    line: 44,
                },
                AccountConfig {
                    alias: "local".into(),
                    credentials: Credentials::DefaultChain,
                    regions: Regions::List(us()),
                    home_regions: us(),
                    endpoint_url: None,
                    color: None,
                    read_only: false,
                    line: 48,
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
