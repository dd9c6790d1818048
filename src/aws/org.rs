//! AWS Organizations: the ACTIVE member accounts (ListAccounts), the accounts under excluded
//! OUs, and a member reached by assuming the organization's role in it.

use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{AccountState, AccountStatus};

use super::creds::{Connected, verify};
use super::error::{AwsError, describe};
use crate::config::{DEFAULT_SESSION_NAME, OrgConfig, Regions, is_account_id};

/// One account as ListAccounts gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccount {
    /// 12-digit id.
    pub id: String,
    /// Account name (set by the organization; a hint, shown as the alias).
    pub name: String,
}

/// The Organizations client of the organization's caller.
pub fn client(access: &Connected) -> Client {
    Client::from_conf(
        aws_sdk_organizations::config::Builder::from(&access.sdk)
            .interceptor(crate::diag::CallLog)
            .build(),
    )
}

/// Every ACTIVE account of the organization (paged), and the calls made.
pub async fn list_accounts(client: &Client) -> Result<(Vec<OrgAccount>, u64), AwsError> {
    let mut out = Vec::new();
    let mut calls = 0;
    let mut pages = client.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        calls += 1;
        let page = page.map_err(|e| describe("ListAccounts", &e))?;
        for a in page.accounts() {
            // `State` replaces the deprecated `Status`; either says ACTIVE.
            #[allow(deprecated)]
            let active = match (a.state(), a.status()) {
                (Some(s), _) => *s == AccountState::Active,
                (None, Some(s)) => *s == AccountStatus::Active,
                (None, None) => false,
            };
            let Some(id) = a.id().filter(|id| is_account_id(id)) else {
                continue;
            };
            if active {
                out.push(OrgAccount {
                    id: id.to_string(),
                    name: a.name().unwrap_or_default().to_string(),
                });
            }
        }
    }
    Ok((out, calls))
}

/// The ids of every account under organizational unit `ou`, at any depth, and the calls made.
pub async fn accounts_under(client: &Client, ou: &str) -> Result<(Vec<String>, u64), AwsError> {
    let mut ids = Vec::new();
    let mut calls = 0;
    let mut parents = vec![ou.to_string()];
    while let Some(parent) = parents.pop() {
        let mut pages = client
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            calls += 1;
            let page = page.map_err(|e| describe("ListAccountsForParent", &e))?;
            ids.extend(
                page.accounts()
                    .iter()
                    .filter_map(|a| a.id().map(str::to_string)),
            );
        }
        let mut pages = client
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            calls += 1;
            let page = page.map_err(|e| describe("ListOrganizationalUnitsForParent", &e))?;
            parents.extend(
                page.organizational_units()
                    .iter()
                    .filter_map(|u| u.id().map(str::to_string)),
            );
        }
    }
    Ok((ids, calls))
}

/// The role ARN assumed in member `account_id`, in the caller's partition.
pub fn member_role_arn(access: &Connected, role_name: &str, account_id: &str) -> String {
    let partition = access
        .identity_arn
        .split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws");
    format!("arn:{partition}:iam::{account_id}:role/{role_name}")
}

/// Connects member `account_id` as `alias` by assuming the organization's role in it with the
/// caller's credentials, and checks that STS names that very account.
pub async fn connect_member(
    access: &Connected,
    org: &OrgConfig,
    account_id: &str,
    alias: &str,
) -> Result<Connected, AwsError> {
    let role_arn = member_role_arn(access, &org.role_name, account_id);
    let session_name = match &org.access.credentials {
        crate::config::Credentials::AssumeRole { session_name, .. } => session_name.clone(),
        _ => DEFAULT_SESSION_NAME.to_string(),
    };
    let mut b = AssumeRoleProvider::builder(&role_arn).session_name(session_name);
    if let Some(x) = &org.member_external_id {
        b = b.external_id(&x.0);
    }
    let provider = b.configure(&access.sdk).build().await;
    // One credentials cache for all the member's clients: AssumeRole once per session, not
    // once per client.
    let sdk = access
        .sdk
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .identity_cache(aws_config::identity::IdentityCache::lazy().build())
        .build();
    let regions = match &org.access.regions {
        Regions::List(v) if !v.is_empty() => Regions::List(v.clone()),
        Regions::List(_) => Regions::List(access.regions.clone()),
        Regions::All => Regions::All,
    };
    verify(
        alias,
        sdk,
        Some(account_id),
        &regions,
        &org.access.home_regions,
        // Member sessions are chained on the caller's: an MFA caller is renewed before a
        // triage run on a member, as on the caller itself.
        access.renewal.clone(),
    )
    .await
}

/// An alias for a discovered account: its name reduced to the alias characters
/// (`[A-Za-z0-9_.-]`), then `-` and the id's last four digits, 32 characters at most. The name
/// is the member's to write (PutAccountName): the id's digits keep two accounts named alike
/// apart, and a name made of digits (one that could pass for another account's id) is not
/// used. The id itself when that alias is taken (`taken` compares ignoring case).
pub fn alias_for(name: &str, id: &str, taken: impl Fn(&str) -> bool) -> String {
    let suffix = format!("-{}", &id[id.len().saturating_sub(4)..]);
    let base: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(32 - suffix.len())
        .collect();
    let meaningless =
        base.trim_matches('-').is_empty() || base.chars().all(|c| c.is_ascii_digit() || c == '-');
    let base = if meaningless { "account".into() } else { base };
    let alias = base + &suffix;
    if taken(&alias) { id.to_string() } else { alias }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_come_from_names_and_stay_unique() {
        let none = |_: &str| false;
        let id = "111122223333";
        assert_eq!(alias_for("Payments Prod", id, none), "Payments-Prod-3333");
        assert_eq!(alias_for("   ", id, none), "account-3333");
        assert_eq!(alias_for("ÜÜ", id, none), "account-3333");
        // A name that could pass for another account's id is not used.
        assert_eq!(alias_for("444455556666", id, none), "account-3333");
        let long = "a".repeat(40);
        assert_eq!(
            alias_for(&long, id, none),
            format!("{}-3333", "a".repeat(27))
        );
        let taken = |a: &str| a.eq_ignore_ascii_case("prod-3333");
        assert_eq!(alias_for("PROD", id, taken), id);
    }
}
