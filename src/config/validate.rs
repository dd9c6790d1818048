//! Validation: turns the raw, spanned config into the checked types, every mistake reported
//! as `file:line:col: what is wrong: what is expected`.

use std::collections::HashMap;
use std::ops::{Range, RangeInclusive};
use std::path::Path;

use toml::Spanned;

use super::ids::{
    bad_region, check_cidr, check_endpoint_url, check_mfa_serial, is_iam_name_char,
    is_valid_region, parse_role_arn, region_partition,
};
use super::raw::{
    RawAccount, RawAlerts, RawConfig, RawOrganization, RawRegions, RawRule, RawSettings,
};
use super::{
    AccountConfig, AlertSettings, Config, Credentials, DEFAULT_SESSION_NAME, DOCS, ORG_ALIAS,
    OrgConfig, Regions, Secret, Settings,
};
use crate::span::FileError;

/// Validates `raw`, read from `src` (the contents of `file`), into a [`Config`].
pub(super) fn config(file: &Path, src: &str, raw: RawConfig) -> Result<Config, FileError> {
    Cx { file, src }.config(raw)
}

/// Validation context: the file and its text, to turn spans into locations.
struct Cx<'a> {
    file: &'a Path,
    src: &'a str,
}

/// True when `program` names a file (a path), or a file in a `PATH` directory (a bare name).
fn program_exists(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(program).is_file()))
}

impl Cx<'_> {
    /// The whole file: settings, then every account (aliases unique, at most one account on the
    /// default credential chain).
    fn config(&self, raw: RawConfig) -> Result<Config, FileError> {
        let settings = self.settings(raw.settings.unwrap_or_default())?;
        let alerts = self.alerts(raw.alerts.unwrap_or_default())?;
        let rules = self.rules(&raw.rule, settings.pricing)?;
        if raw.account.is_empty() && raw.organization.is_none() {
            return Err(FileError::whole(
                self.file,
                format!(
                    "no accounts: add at least one [[account]] with an alias, or an \
                     [organization] (see {DOCS})"
                ),
            ));
        }
        let organization = match raw.organization {
            Some(o) => {
                let span = o.span();
                Some((self.organization(o, &settings)?, span))
            }
            None => None,
        };
        let mut aliases: HashMap<String, (String, usize)> = HashMap::new();
        let mut default_chain: Option<(String, usize)> = None;
        let mut accounts = Vec::with_capacity(raw.account.len());
        for entry in &raw.account {
            let acc = self.account(entry, &settings)?;
            let alias_span = entry
                .get_ref()
                .alias
                .as_ref()
                .map_or(entry.span(), |a| a.span());
            if let Some((first, line)) = aliases.get(&acc.alias.to_ascii_lowercase()) {
                return Err(self.err(
                    alias_span,
                    format!(
                        "duplicate alias `{}`: the account on line {line} is already `{first}` \
                         (aliases ignore case); expected a unique alias",
                        acc.alias
                    ),
                ));
            }
            if let Some((org, _)) = &organization
                && let Some(id) = acc.expected_account_id()
            {
                for (key, named) in [
                    ("guardduty_admin", &org.guardduty_admin),
                    ("monitoring_account", &org.monitoring_account),
                ] {
                    if named.as_deref() == Some(id) {
                        let msg = format!(
                            "account `{}` ({id}) is the [organization]'s {key}: expected it only \
                             there (the organization-wide feeds run in the member watchfloor \
                             discovers; remove this [[account]])",
                            acc.alias
                        );
                        return Err(self.err(alias_span, msg));
                    }
                }
            }
            aliases.insert(
                acc.alias.to_ascii_lowercase(),
                (acc.alias.clone(), acc.line),
            );
            if acc.credentials == Credentials::DefaultChain {
                if let Some((first, line)) = &default_chain {
                    return Err(self.err(
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
        if let Some((org, span)) = &organization
            && org.access.credentials == Credentials::DefaultChain
            && let Some((first, line)) = &default_chain
        {
            let msg = format!(
                "[organization] has neither `profile` nor `role_arn`, like account `{first}` on \
                 line {line}: only one of them may use the default credential chain; expected \
                 profile = \"NAME\" or role_arn = \"ARN\""
            );
            return Err(self.err(span.clone(), msg));
        }
        let organization = organization.map(|(o, _)| o);
        Ok(Config {
            settings,
            accounts,
            organization,
            alerts,
            rules,
            path: self.file.to_path_buf(),
        })
    }

    fn err(&self, span: Range<usize>, msg: impl Into<String>) -> FileError {
        FileError::at(self.file, self.src, span.start, msg)
    }

    /// The offset `pos` characters inside the quoted string at `span` (exact for strings
    /// without escapes; the string's start otherwise past its end).
    fn inside(&self, span: Range<usize>, pos: usize) -> usize {
        let start = (span.start + 1).min(self.src.len());
        self.src
            .get(start..)
            .and_then(|rest| rest.char_indices().nth(pos))
            .map_or(span.start, |(i, _)| start + i)
    }

    fn line(&self, span: Range<usize>) -> usize {
        crate::span::line_col(self.src, span.start).0
    }

    /// A number of seconds within `range`, or `default` when not given.
    fn secs(
        &self,
        v: Option<Spanned<u32>>,
        key: &str,
        default: u32,
        range: RangeInclusive<u32>,
    ) -> Result<u32, FileError> {
        let Some(v) = v else { return Ok(default) };
        if range.contains(v.get_ref()) {
            Ok(*v.get_ref())
        } else {
            let (lo, hi) = (range.start(), range.end());
            let n = v.get_ref();
            let msg = format!("`{key} = {n}` is out of range: expected {lo} to {hi} seconds");
            Err(self.err(v.span(), msg))
        }
    }

    fn alerts(&self, raw: RawAlerts) -> Result<AlertSettings, FileError> {
        let d = AlertSettings::default();
        let command = match raw.command {
            Some(c) if c.get_ref().first().is_none_or(|p| p.trim().is_empty()) => {
                return Err(self.err(
                    c.span(),
                    "`command` needs a program: expected command = [\"/path/to/program\", \"arg\", ...]",
                ));
            }
            Some(c) => {
                let program = &c.get_ref()[0];
                if !program_exists(program) {
                    return Err(self.err(
                        c.span(),
                        format!(
                            "alert command `{program}` not found (no such file, and not on PATH): \
                             expected the program's full path"
                        ),
                    ));
                }
                c.into_inner()
            }
            None => Vec::new(),
        };
        Ok(AlertSettings {
            bell: raw.bell.unwrap_or(d.bell),
            title: raw.title.unwrap_or(d.title),
            command,
            min_interval_secs: self.secs(
                raw.min_interval_secs,
                "min_interval_secs",
                d.min_interval_secs,
                1..=3600,
            )?,
            timeout_secs: self.secs(raw.timeout_secs, "timeout_secs", d.timeout_secs, 1..=300)?,
        })
    }

    fn settings(&self, raw: RawSettings) -> Result<Settings, FileError> {
        let d = Settings::default();
        let regions = match &raw.regions {
            None => None,
            Some(r) => Some(self.region_list("regions", r, false)?.unwrap_or_default()),
        };
        if let Some(c) = &raw.examiner_cidr {
            check_cidr(c.get_ref()).map_err(|m| self.err(c.span(), m))?;
        }
        Ok(Settings {
            regions: regions.map(|l| l.iter().map(|r| r.get_ref().clone()).collect()),
            ec2_interval_secs: self.secs(
                raw.ec2_interval_secs,
                "ec2_interval_secs",
                d.ec2_interval_secs,
                10..=3600,
            )?,
            findings_interval_secs: self.secs(
                raw.findings_interval_secs,
                "findings_interval_secs",
                d.findings_interval_secs,
                10..=3600,
            )?,
            cpu_interval_secs: self.secs(
                raw.cpu_interval_secs,
                "cpu_interval_secs",
                d.cpu_interval_secs,
                10..=3600,
            )?,
            request_timeout_secs: self.secs(
                raw.request_timeout_secs,
                "request_timeout_secs",
                d.request_timeout_secs,
                1..=300,
            )?,
            read_only: raw.read_only.unwrap_or(d.read_only),
            examiner_cidr: raw.examiner_cidr.map(Spanned::into_inner),
            quarantine_wait_secs: self.secs(
                raw.quarantine_wait_secs,
                "quarantine_wait_secs",
                d.quarantine_wait_secs,
                0..=600,
            )?,
            confirm_by_typing_id: raw.confirm_by_typing_id.unwrap_or(d.confirm_by_typing_id),
            pricing: raw.pricing.unwrap_or(d.pricing),
            burn_spike_ratio: match raw.burn_spike_ratio {
                None => d.burn_spike_ratio,
                Some(v) if (1.1..=100.0).contains(v.get_ref()) => *v.get_ref(),
                Some(v) => {
                    return Err(self.err(
                        v.span(),
                        format!(
                            "`burn_spike_ratio = {}` is out of range: expected 1.1 to 100 (2 \
                             flags a burn that more than doubled in 24 h)",
                            v.get_ref()
                        ),
                    ));
                }
            },
            cost_explorer: raw.cost_explorer.unwrap_or(d.cost_explorer),
        })
    }

    /// The `[[rule]]` tables: names unique, every field checked, a `when` error located at
    /// its character.
    fn rules(
        &self,
        raw: &[Spanned<RawRule>],
        pricing: bool,
    ) -> Result<Vec<crate::rules::Rule>, FileError> {
        use crate::rules::{MAX_RULES, Rule};
        if let Some(extra) = raw.get(MAX_RULES) {
            return Err(self.err(
                extra.span(),
                format!("more than {MAX_RULES} [[rule]] tables: merge some (a rule's `when` can hold several terms)"),
            ));
        }
        let mut out: Vec<(Rule, usize)> = Vec::with_capacity(raw.len());
        for entry in raw {
            let r = entry.get_ref();
            let need = |v: &Option<Spanned<String>>, key: &str, example: &str| {
                v.clone().ok_or_else(|| {
                    self.err(
                        entry.span(),
                        format!("[[rule]] without `{key}`: expected {key} = {example}"),
                    )
                })
            };
            let name = need(&r.name, "name", "\"ssh-world-not-bastion\"")?;
            let when = need(&r.when, "when", "\"port:22 !tag:Role=bastion\"")?;
            let severity = match &r.severity {
                Some(s) => s.clone(),
                None => Spanned::new(entry.span(), "medium".to_string()),
            };
            let rule = Rule::compile(
                name.get_ref(),
                when.get_ref(),
                severity.get_ref(),
                r.alert.unwrap_or(false),
            )
            .map_err(|e| {
                let at = match e.field {
                    "name" => &name,
                    "when" => &when,
                    _ => &severity,
                };
                let offset = self.inside(at.span(), e.pos);
                let msg = if e.field == "when" {
                    format!(
                        "rule `{}`: `when` at character {}: {}",
                        name.get_ref(),
                        e.pos + 1,
                        e.message
                    )
                } else {
                    format!("rule `{}`: {}", name.get_ref(), e.message)
                };
                FileError::at(self.file, self.src, offset, msg)
            })?;
            // Without prices a `cost` term would never match (or, `cost:unknown`, match every
            // instance): refused rather than silently useless.
            if let (false, Some(pos)) = (
                pricing,
                rule.filter
                    .position_of(|t| matches!(t, crate::filter::Term::Cost(_))),
            ) {
                return Err(FileError::at(
                    self.file,
                    self.src,
                    self.inside(when.span(), pos),
                    format!(
                        "rule `{}`: `when` at character {}: `cost` needs prices, and [settings] \
                         pricing = false: remove the term or turn pricing on",
                        rule.name,
                        pos + 1
                    ),
                ));
            }
            if let Some((_, line)) = out.iter().find(|(o, _)| o.name == rule.name) {
                return Err(self.err(
                    name.span(),
                    format!(
                        "duplicate rule name `{}`: the rule on line {line} has it (names become \
                         the flag rule:NAME and must be unique)",
                        rule.name
                    ),
                ));
            }
            out.push((rule, self.line(entry.span())));
        }
        Ok(out.into_iter().map(|(r, _)| r).collect())
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

        let color = match &raw.color {
            Some(c) => Some(
                crate::theme::account_color(c.get_ref())
                    .map_err(|why| self.err(c.span(), format!("bad color: {why}")))?,
            ),
            None => None,
        };

        Ok(AccountConfig {
            alias,
            credentials,
            regions,
            home_regions,
            endpoint_url,
            color,
            read_only: raw.read_only.unwrap_or(false),
            line,
        })
    }

    /// `[organization]`: the caller validated as an account, then the member role, the
    /// aggregating accounts and the exclusions.
    fn organization(
        &self,
        mut raw: Spanned<RawOrganization>,
        settings: &Settings,
    ) -> Result<OrgConfig, FileError> {
        let span = raw.span();
        let line = self.line(span.clone());
        let r = raw.get_mut();
        let access = Spanned::new(
            span.clone(),
            r.access(Spanned::new(span.clone(), ORG_ALIAS.into())),
        );
        let access = self.account(&access, settings).map_err(|mut e| {
            // The caller's checks speak of an account: say which table.
            e.message = e
                .message
                .replace(&format!("account `{ORG_ALIAS}`"), "[organization]");
            e
        })?;
        let role_ok =
            |s: &str| (1..=64).contains(&s.len()) && s.chars().all(super::ids::is_iam_name_char);
        let role_name = match &r.role_name {
            Some(v) => self.string(
                "role_name",
                v,
                role_ok,
                "the name of the role to assume in every member, 1-64 characters of letters, \
                 digits and _+=,.@- (no ARN, no path)",
            )?,
            None => {
                return Err(self.err(
                    span,
                    "[organization] has no `role_name`: expected role_name = \"NAME\", the role \
                     watchfloor assumes in every member account",
                ));
            }
        };
        let member_external_id = match &r.member_external_id {
            Some(x) => {
                let s = x.get_ref();
                let ok = (2..=1224).contains(&s.len())
                    && s.chars()
                        .all(|c| super::ids::is_iam_name_char(c) || c == ':' || c == '/');
                if !ok {
                    let msg = "bad member_external_id: expected 2-1224 characters of letters, \
                               digits and _+=,.@:/-";
                    return Err(self.err(x.span(), msg));
                }
                Some(Secret(s.clone()))
            }
            None => None,
        };
        let account_id = |key: &str, v: &Spanned<String>| {
            self.string(key, v, super::ids::is_account_id, "a 12-digit account id")
        };
        let guardduty_admin = match &r.guardduty_admin {
            Some(v) => Some(account_id("guardduty_admin", v)?),
            None => None,
        };
        let monitoring_account = match &r.monitoring_account {
            Some(v) => Some(account_id("monitoring_account", v)?),
            None => None,
        };
        let mut exclude: Vec<String> = Vec::new();
        for x in &r.exclude {
            let v = self.string(
                "exclude",
                x,
                |s| super::ids::is_account_id(s) || super::ids::is_ou_id(s),
                "a 12-digit account id or an OU id like ou-ab12-cd34ef56",
            )?;
            for (key, named) in [
                ("guardduty_admin", &guardduty_admin),
                ("monitoring_account", &monitoring_account),
            ] {
                if named.as_deref() == Some(v.as_str()) {
                    let msg = format!(
                        "`{v}` is both excluded and the {key}: expected it out of `exclude` (the \
                         org-wide feeds run there)"
                    );
                    return Err(self.err(x.span(), msg));
                }
            }
            if !exclude.contains(&v) {
                exclude.push(v);
            }
        }
        let events_queue_url = match &r.events_queue_url {
            Some(u) => {
                let ok = super::ids::check_endpoint_url(u.get_ref()).is_ok()
                    && u.get_ref()
                        .trim_end_matches('/')
                        .rsplit('/')
                        .nth(1)
                        .is_some_and(super::ids::is_account_id);
                if !ok {
                    let msg = format!(
                        "bad events_queue_url `{}`: expected the queue's URL, \
                         https://sqs.REGION.amazonaws.com/ACCOUNT_ID/NAME",
                        u.get_ref()
                    );
                    return Err(self.err(u.span(), msg));
                }
                Some(u.get_ref().clone())
            }
            None => None,
        };
        Ok(OrgConfig {
            access,
            role_name,
            member_external_id,
            guardduty_admin,
            monitoring_account,
            exclude,
            events_queue_url,
            discover_interval_secs: self.secs(
                r.discover_interval_secs.take(),
                "discover_interval_secs",
                900,
                60..=86_400,
            )?,
            max_concurrent_polls: self.secs(
                r.max_concurrent_polls.take(),
                "max_concurrent_polls",
                64,
                1..=1024,
            )?,
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
    use super::super::test_util::{OK_ACCOUNT, check, err, parse};

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
        let want = "config.toml: no accounts: add at least one [[account]] with an alias, or an [organization] (see docs/configuration.md)";
        assert_eq!(err(""), want);
        assert_eq!(err("[settings]\nread_only = true\n"), want);
        assert_eq!(err("account = []\n"), want);
    }

    #[test]
    fn a_bad_account_color_names_the_spot_and_the_choices() {
        let src = format!("{OK_ACCOUNT}color = \"crimson\"\n");
        assert_eq!(
            err(&src),
            "config.toml:5:9: bad color: `crimson`: expected one of red, orange, yellow, green, \
             cyan, blue, magenta, white, grey or \"#rrggbb\""
        );
    }

    #[test]
    fn the_alerts_table_is_checked() {
        let src = format!(
            "[alerts]\ncommand = [\"/nonexistent/notify-chat\", \"--room\", \"ir\"]\n\n{OK_ACCOUNT}"
        );
        assert_eq!(
            err(&src),
            "config.toml:2:11: alert command `/nonexistent/notify-chat` not found (no such file, \
             and not on PATH): expected the program's full path"
        );
        let src = format!("[alerts]\ncommand = []\n\n{OK_ACCOUNT}");
        assert!(err(&src).starts_with("config.toml:2:11: `command` needs a program"));
        let src = format!("[alerts]\nmin_interval_secs = 0\n\n{OK_ACCOUNT}");
        assert!(err(&src).contains("`min_interval_secs = 0` is out of range"));
        let c = super::super::test_util::parse(&format!(
            "[alerts]\nbell = false\ncommand = [\"sh\", \"-c\", \"cat\"]\n\n{OK_ACCOUNT}"
        ))
        .unwrap();
        assert!(!c.alerts.bell && c.alerts.title);
        assert_eq!(c.alerts.command, ["sh", "-c", "cat"]);
        assert_eq!(
            (c.alerts.min_interval_secs, c.alerts.timeout_secs),
            (30, 10)
        );
    }

    #[test]
    fn an_organization_replaces_the_account_list() {
        let src = r#"
[organization]
role_name = "watchfloor-read"
regions = ["us-east-1", "eu-west-1"]
home_regions = ["us-east-1"]
guardduty_admin = "111111111111"
monitoring_account = "222222222222"
exclude = ["333333333333", "ou-ab12-cd34ef56", "333333333333"]
events_queue_url = "https://sqs.us-east-1.amazonaws.com/111111111111/watchfloor-events"
role_arn = "arn:aws:iam::999999999999:role/org-reader"
member_external_id = "very-private"
read_only = true
"#;
        let c = parse(src).unwrap();
        assert!(c.accounts.is_empty());
        let o = c.organization.unwrap();
        assert_eq!(o.role_name, "watchfloor-read");
        assert_eq!(o.guardduty_admin.as_deref(), Some("111111111111"));
        assert_eq!(o.monitoring_account.as_deref(), Some("222222222222"));
        assert_eq!(o.exclude, ["333333333333", "ou-ab12-cd34ef56"]);
        assert_eq!(
            (o.discover_interval_secs, o.max_concurrent_polls),
            (900, 64)
        );
        assert_eq!(o.access.alias, super::super::ORG_ALIAS);
        assert_eq!(o.access.expected_account_id(), Some("999999999999"));
        assert_eq!(o.access.home_regions, ["us-east-1"]);
        assert!(o.access.read_only);
        assert_eq!(o.line, 2);
        assert!(!format!("{o:?}").contains("very-private"));
        // Beside [[account]] entries.
        let both =
            format!("{OK_ACCOUNT}\n[organization]\nrole_name = \"r\"\nregions = [\"us-east-1\"]\n");
        let c = parse(&both).unwrap();
        assert_eq!((c.accounts.len(), c.organization.is_some()), (1, true));
    }

    #[test]
    fn organization_mistakes_are_located() {
        let head = "[organization]\nregions = [\"us-east-1\"]\n";
        check(&[
            (
                head,
                "config.toml:1:1: [organization] has no `role_name`: expected role_name = \"NAME\", \
                 the role watchfloor assumes in every member account",
            ),
            (
                &format!("{head}role_name = \"arn:aws:iam::1:role/x\"\n"),
                "config.toml:3:13: bad role_name `arn:aws:iam::1:role/x`: expected the name of the \
                 role to assume in every member, 1-64 characters of letters, digits and _+=,.@- (no \
                 ARN, no path)",
            ),
            (
                &format!("{head}role_name = \"r\"\nguardduty_admin = \"12345\"\n"),
                "config.toml:4:19: bad guardduty_admin `12345`: expected a 12-digit account id",
            ),
            (
                &format!("{head}role_name = \"r\"\nexclude = [\"ou-x\"]\n"),
                "config.toml:4:12: bad exclude `ou-x`: expected a 12-digit account id or an OU id \
                 like ou-ab12-cd34ef56",
            ),
            (
                &format!(
                    "{head}role_name = \"r\"\nmonitoring_account = \"111111111111\"\nexclude = [\"111111111111\"]\n"
                ),
                "config.toml:5:12: `111111111111` is both excluded and the monitoring_account: \
                 expected it out of `exclude` (the org-wide feeds run there)",
            ),
            (
                &format!("{head}role_name = \"r\"\nevents_queue_url = \"https://example.com/q\"\n"),
                "config.toml:4:20: bad events_queue_url `https://example.com/q`: expected the \
                 queue's URL, https://sqs.REGION.amazonaws.com/ACCOUNT_ID/NAME",
            ),
            (
                "[organization]\nrole_name = \"r\"\n",
                "config.toml:1:1: [organization] has no regions: set regions here or in [settings] \
                 (a list like [\"us-east-1\"] or \"all\")",
            ),
            (
                &format!("{head}role_name = \"r\"\ncolor = \"red\"\n"),
                "config.toml:4:1: unknown field `color`, expected one of `role_name`, \
                 `member_external_id`, `guardduty_admin`, `monitoring_account`, `exclude`, \
                 `events_queue_url`, `discover_interval_secs`, `max_concurrent_polls`, `profile`, \
                 `role_arn`, `external_id`, `source_profile`, `mfa_serial`, `session_name`, \
                 `regions`, `home_regions`, `endpoint_url`, `read_only`",
            ),
            (
                &format!(
                    "{head}role_name = \"r\"\nguardduty_admin = \"111111111111\"\n\n[[account]]\nalias = \"sec\"\nrole_arn = \"arn:aws:iam::111111111111:role/x\"\nregions = [\"us-east-1\"]\n"
                ),
                "config.toml:7:9: account `sec` (111111111111) is the [organization]'s \
                 guardduty_admin: expected it only there (the organization-wide feeds run in the \
                 member watchfloor discovers; remove this [[account]])",
            ),
            (
                &format!("{head}role_name = \"r\"\ndiscover_interval_secs = 5\n"),
                "config.toml:4:26: `discover_interval_secs = 5` is out of range: expected 60 to \
                 86400 seconds",
            ),
            (
                &format!(
                    "[[account]]\nalias = \"a\"\nregions = [\"us-east-1\"]\n\n{head}role_name = \"r\"\n"
                ),
                "config.toml:5:1: [organization] has neither `profile` nor `role_arn`, like account \
                 `a` on line 1: only one of them may use the default credential chain; expected \
                 profile = \"NAME\" or role_arn = \"ARN\"",
            ),
        ]);
    }

    #[test]
    fn rules_are_checked_with_the_position_inside_when() {
        let rule = |body: &str| format!("{OK_ACCOUNT}\n[[rule]]\n{body}");
        // OK_ACCOUNT is four lines, then a blank: the rule's table header is on line 6.
        let cases: &[(&str, &str)] = &[
            (
                &rule("name = \"a\"\nwhen = \"port:22 cpu>x\"\n"),
                "config.toml:8:21: rule `a`: `when` at character 13: `x` is not a CPU percent (0 to 100)",
            ),
            (
                &rule("name = \"a\"\nwhen = \"prot:22\"\n"),
                "config.toml:8:9: rule `a`: `when` at character 1: unknown filter key `prot`",
            ),
            (
                &rule("name = \"a\"\nwhen = \"port:22 !tag:Role=bastion rule:b\"\n"),
                "config.toml:8:35: rule `a`: `when` at character 27: a rule cannot test other rules",
            ),
            (
                &rule("name = \"a\"\nwhen = \"cost>cheap\"\n"),
                "config.toml:8:14: rule `a`: `when` at character 6: `cheap` is not a price in $/h",
            ),
            (
                &rule("name = \"ssh world\"\nwhen = \"port:22\"\n"),
                "config.toml:7:12: rule `ssh world`: ` ` in a rule name",
            ),
            (
                &rule("name = \"a\"\nwhen = \"port:22\"\nseverity = \"severe\"\n"),
                "config.toml:9:13: rule `a`: unknown severity `severe`: low, medium, high or critical",
            ),
            (
                &rule("when = \"port:22\"\n"),
                "config.toml:6:1: [[rule]] without `name`: expected name = \"ssh-world-not-bastion\"",
            ),
            (
                &rule("name = \"a\"\nwhen = \"port:22\"\nalarm = true\n"),
                "config.toml:9:1: unknown field `alarm`",
            ),
            (
                &format!(
                    "{}\n[[rule]]\nname = \"b\"\nwhen = \"port:23\"\n",
                    rule("name = \"b\"\nwhen = \"port:22\"\n")
                ),
                "config.toml:11:8: duplicate rule name `b`: the rule on line 6 has it",
            ),
            (
                &format!(
                    "[settings]\npricing = false\n\n{}",
                    rule("name = \"a\"\nwhen = \"cpu>90 cost>5\"\n")
                ),
                "config.toml:11:16: rule `a`: `when` at character 8: `cost` needs prices",
            ),
            (
                &format!("[settings]\nburn_spike_ratio = 1.0\n\n{OK_ACCOUNT}"),
                "config.toml:2:20: `burn_spike_ratio = 1` is out of range: expected 1.1 to 100",
            ),
        ];
        for (src, want) in cases {
            let got = super::super::test_util::err(src);
            assert!(got.starts_with(want), "\n got: {got}\nwant: {want}…\n{src}");
        }
    }
}
