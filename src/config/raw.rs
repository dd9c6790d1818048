//! The config file as TOML gives it: serde `Raw*` types with the span of every value, and the
//! few TOML errors reworded to say what to write instead.

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

use crate::span::FileError;

/// Reads `src` (the contents of `file`) into the raw types; a TOML error points at its place.
pub(super) fn parse(file: &Path, src: &str) -> Result<RawConfig, FileError> {
    toml::from_str(src).map_err(|e| toml_error(file, src, &e))
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

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) settings: Option<RawSettings>,
    pub(super) alerts: Option<RawAlerts>,
    #[serde(default)]
    pub(super) account: Vec<Spanned<RawAccount>>,
    pub(super) organization: Option<Spanned<RawOrganization>>,
    #[serde(default)]
    pub(super) rule: Vec<Spanned<RawRule>>,
}

/// `[organization]`: the member accounts come from Organizations ListAccounts.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOrganization {
    pub(super) role_name: Option<Spanned<String>>,
    pub(super) member_external_id: Option<Spanned<String>>,
    pub(super) guardduty_admin: Option<Spanned<String>>,
    pub(super) monitoring_account: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) exclude: Vec<Spanned<String>>,
    pub(super) events_queue_url: Option<Spanned<String>>,
    pub(super) discover_interval_secs: Option<Spanned<u32>>,
    pub(super) max_concurrent_polls: Option<Spanned<u32>>,
    // The Organizations caller, exactly as an [[account]]'s (and the member regions).
    pub(super) profile: Option<Spanned<String>>,
    pub(super) role_arn: Option<Spanned<String>>,
    pub(super) external_id: Option<Spanned<String>>,
    pub(super) source_profile: Option<Spanned<String>>,
    pub(super) mfa_serial: Option<Spanned<String>>,
    pub(super) session_name: Option<Spanned<String>>,
    pub(super) regions: Option<Spanned<RawRegions<true>>>,
    pub(super) home_regions: Option<Spanned<RawRegions<false>>>,
    pub(super) endpoint_url: Option<Spanned<String>>,
    pub(super) read_only: Option<bool>,
}

impl RawOrganization {
    /// The caller's part as an `[[account]]` entry named `alias` (validated the same way).
    pub(super) fn access(&mut self, alias: Spanned<String>) -> RawAccount {
        RawAccount {
            alias: Some(alias),
            profile: self.profile.take(),
            role_arn: self.role_arn.take(),
            external_id: self.external_id.take(),
            source_profile: self.source_profile.take(),
            mfa_serial: self.mfa_serial.take(),
            session_name: self.session_name.take(),
            regions: self.regions.take(),
            home_regions: self.home_regions.take(),
            endpoint_url: self.endpoint_url.take(),
            color: None,
            read_only: self.read_only,
        }
    }
}

/// `[settings]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSettings {
    pub(super) regions: Option<Spanned<RawRegions<false>>>,
    pub(super) ec2_interval_secs: Option<Spanned<u32>>,
    pub(super) findings_interval_secs: Option<Spanned<u32>>,
    pub(super) cpu_interval_secs: Option<Spanned<u32>>,
    pub(super) request_timeout_secs: Option<Spanned<u32>>,
    pub(super) read_only: Option<bool>,
    pub(super) examiner_cidr: Option<Spanned<String>>,
    pub(super) quarantine_wait_secs: Option<Spanned<u32>>,
    pub(super) confirm_by_typing_id: Option<bool>,
    pub(super) pricing: Option<bool>,
    pub(super) burn_spike_ratio: Option<Spanned<f64>>,
    pub(super) cost_explorer: Option<bool>,
}

/// One `[[rule]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) name: Option<Spanned<String>>,
    pub(super) when: Option<Spanned<String>>,
    pub(super) severity: Option<Spanned<String>>,
    pub(super) alert: Option<bool>,
}

/// `[alerts]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerts {
    pub(super) bell: Option<bool>,
    pub(super) title: Option<bool>,
    pub(super) command: Option<Spanned<Vec<String>>>,
    pub(super) min_interval_secs: Option<Spanned<u32>>,
    pub(super) timeout_secs: Option<Spanned<u32>>,
}

/// One `[[account]]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccount {
    pub(super) alias: Option<Spanned<String>>,
    pub(super) profile: Option<Spanned<String>>,
    pub(super) role_arn: Option<Spanned<String>>,
    pub(super) external_id: Option<Spanned<String>>,
    pub(super) source_profile: Option<Spanned<String>>,
    pub(super) mfa_serial: Option<Spanned<String>>,
    pub(super) session_name: Option<Spanned<String>>,
    pub(super) regions: Option<Spanned<RawRegions<true>>>,
    pub(super) home_regions: Option<Spanned<RawRegions<false>>>,
    pub(super) endpoint_url: Option<Spanned<String>>,
    pub(super) color: Option<Spanned<String>>,
    pub(super) read_only: Option<bool>,
}

/// A region list, or a word (`"all"`, valid only where `ALL`), each element with its span.
pub(super) enum RawRegions<const ALL: bool> {
    /// A string where a list belongs: `"all"`, or a mistake.
    Word(String),
    /// The listed region codes.
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

#[cfg(test)]
mod tests {
    use super::super::test_util::{check, err};

    #[test]
    fn unknown_keys_are_located_and_list_the_expected_ones() {
        check(&[
            (
                "[[account]]\nalias = \"prod\"\nprofile = \"p\"\nregoins = [\"us-east-1\"]\n",
                "config.toml:4:1: unknown field `regoins`, expected one of `alias`, `profile`, \
                 `role_arn`, `external_id`, `source_profile`, `mfa_serial`, `session_name`, \
                 `regions`, `home_regions`, `endpoint_url`, `color`, `read_only`",
            ),
            (
                "[settings]\nec2_interval = 60\n",
                "config.toml:2:1: unknown field `ec2_interval`, expected one of `regions`, \
                 `ec2_interval_secs`, `findings_interval_secs`, `cpu_interval_secs`, \
                 `request_timeout_secs`, `read_only`, `examiner_cidr`, `quarantine_wait_secs`, \
                 `confirm_by_typing_id`, `pricing`, `burn_spike_ratio`, `cost_explorer`",
            ),
            (
                "[[accounts]]\nalias = \"a\"\n",
                "config.toml:1:3: unknown field `accounts`, expected one of `settings`, `alerts`, `account`, `organization`, `rule`",
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
}
