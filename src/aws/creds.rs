//! Credentials per account: default chain, profile, assume-role (aws-config), and assume-role
//! with MFA done by watchfloor itself (aws-config ignores mfa_serial). Identity is verified
//! with STS GetCallerIdentity. No secret is ever logged or written.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use futures::future::BoxFuture;
use tokio::sync::Mutex;

use super::error::{AwsError, ErrorKind, describe};
use crate::config::{AccountConfig, Credentials as CredSpec, Regions, Settings};

/// Asks the operator for an MFA token code (TUI prompt or terminal).
pub trait MfaPrompt: Send + Sync {
    /// Returns the code typed for `alias`'s MFA device `serial`, or why none was given.
    fn code<'a>(&'a self, alias: &'a str, serial: &'a str)
    -> BoxFuture<'a, Result<String, String>>;
}

/// Reads MFA codes from the controlling terminal (for `snapshot` and `triage`).
pub struct TerminalPrompt;

impl MfaPrompt for TerminalPrompt {
    fn code<'a>(
        &'a self,
        alias: &'a str,
        serial: &'a str,
    ) -> BoxFuture<'a, Result<String, String>> {
        let question = format!("MFA code for account `{alias}` ({serial}): ");
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                use std::io::{BufRead, Write};
                let mut err = std::io::stderr();
                let _ = write!(err, "{question}");
                let _ = err.flush();
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| format!("cannot read the MFA code: {e}"))?;
                let code = line.trim().to_string();
                if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) {
                    Ok(code)
                } else {
                    Err("an MFA code is 6 digits".to_string())
                }
            })
            .await
            .map_err(|e| e.to_string())?
        })
    }
}

/// Assumes a role with an MFA token code, asking again when the session expires.
struct MfaRoleProvider {
    alias: String,
    sts: aws_sdk_sts::Client,
    role_arn: String,
    serial: String,
    session_name: String,
    external_id: Option<String>,
    prompt: Arc<dyn MfaPrompt>,
    cached: Mutex<Option<Credentials>>,
    /// The operator declined the prompt: do not ask again (every feed would) until restart.
    declined: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for MfaRoleProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print credentials.
        f.debug_struct("MfaRoleProvider")
            .field("alias", &self.alias)
            .field("role_arn", &self.role_arn)
            .finish_non_exhaustive()
    }
}

impl MfaRoleProvider {
    /// The operator declined this account's MFA prompt: no code will be asked again.
    fn declined(&self) -> bool {
        self.declined.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn get(&self) -> Result<Credentials, CredentialsError> {
        self.valid_for(Duration::from_secs(120)).await
    }

    /// Credentials valid for at least `margin`, asking for a new code when they are not.
    async fn valid_for(&self, margin: Duration) -> Result<Credentials, CredentialsError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && c.expiry().is_some_and(|e| e > SystemTime::now() + margin)
        {
            return Ok(c.clone());
        }
        use std::sync::atomic::Ordering;
        if self.declined.load(Ordering::Relaxed) {
            return Err(CredentialsError::not_loaded(format!(
                "no MFA code given for `{}` (declined earlier): restart watchfloor to connect it",
                self.alias
            )));
        }
        let code = match self.prompt.code(&self.alias, &self.serial).await {
            Ok(c) => c,
            Err(e) => {
                self.declined.store(true, Ordering::Relaxed);
                return Err(CredentialsError::not_loaded(e));
            }
        };
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(&self.session_name)
            .serial_number(&self.serial)
            .token_code(code)
            .set_external_id(self.external_id.clone())
            .send()
            .await
            .map_err(|e| {
                CredentialsError::provider_error(describe("AssumeRole (MFA)", &e).message)
            })?;
        let c = out
            .credentials()
            .ok_or_else(|| CredentialsError::unhandled("AssumeRole returned no credentials"))?;
        let creds = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            SystemTime::try_from(*c.expiration()).ok(),
            "watchfloor-mfa",
        );
        *cached = Some(creds.clone());
        Ok(creds)
    }
}

/// How long a renewal before a triage run waits for the operator to type a code.
const RENEWAL_WAIT: Duration = Duration::from_secs(300);

/// The MFA session of an account, shared by its SDK clients and by triage.
#[derive(Clone, Debug)]
struct MfaSession(Arc<MfaRoleProvider>);

impl ProvideCredentials for MfaSession {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.0.get())
    }
}

/// Renews credentials that need a person (an MFA code) before a long action starts, so that
/// they do not expire mid-way, when nobody may be there to type a code (the console may be
/// gone). Other credentials renew themselves and need nothing.
#[derive(Clone, Debug)]
pub struct Renewal(Arc<MfaRoleProvider>);

impl Renewal {
    /// Makes sure the session is valid for at least `min` from now, asking for a code if not.
    /// Called outside any request, so the per-request timeout never cuts the prompt off.
    pub async fn ensure(&self, min: Duration) -> Result<(), AwsError> {
        let fail = |why: String| {
            let kind = if self.0.declined() {
                ErrorKind::MfaDeclined
            } else {
                ErrorKind::Other
            };
            AwsError::new(
                kind,
                format!(
                    "`{}`: the MFA session could not be renewed before the action: {why}",
                    self.0.alias
                ),
            )
        };
        match tokio::time::timeout(RENEWAL_WAIT, self.0.valid_for(min)).await {
            Ok(Ok(c)) if c.expiry().is_some_and(|e| e < SystemTime::now() + min) => {
                Err(fail(format!(
                    "the new session ends in {} minutes, before the action could finish: lower quarantine_wait_secs",
                    c.expiry()
                        .and_then(|e| e.duration_since(SystemTime::now()).ok())
                        .map_or(0, |d| d.as_secs() / 60)
                )))
            }
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(fail(super::error::one_line(&e.to_string()))),
            Err(_) => Err(fail(format!(
                "no code typed within {} minutes",
                RENEWAL_WAIT.as_secs() / 60
            ))),
        }
    }
}

/// An account with working credentials and a verified identity.
#[derive(Clone, Debug)]
pub struct Connected {
    /// Alias from the config.
    pub alias: String,
    /// Account id as STS reports it.
    pub account_id: String,
    /// ARN of the identity in use (shown where actions are confirmed).
    pub identity_arn: String,
    /// Regions to poll.
    pub regions: Vec<String>,
    /// Regions considered normal for this account.
    pub home_regions: Vec<String>,
    /// SDK configuration (credentials, endpoint, timeouts); clients override the region.
    pub sdk: SdkConfig,
    /// For an MFA role: renews the session before a triage run (None: renews itself).
    pub renewal: Option<Renewal>,
}

impl Connected {
    /// Makes sure the credentials stay valid for `min` (see [`Renewal`]).
    pub async fn ensure_valid_for(&self, min: Duration) -> Result<(), AwsError> {
        match &self.renewal {
            Some(r) => r.ensure(min).await,
            None => Ok(()),
        }
    }
}

/// For the zero-config case: checks that the default chain finds credentials and a region, so a
/// missing set-up is one clear line instead of a console full of errors.
pub async fn preflight_default_chain() -> Result<(), String> {
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let hint = "see docs/configuration.md, or try `watchfloor demo` for the simulated fleet";
    let Some(provider) = sdk.credentials_provider() else {
        return Err(format!("no AWS credentials found; {hint}"));
    };
    if let Err(e) = provider.provide_credentials().await {
        return Err(format!(
            "no AWS credentials found (environment, profile, SSO, credential_process, instance role: {}); {hint}",
            super::error::one_line(&e.to_string())
        ));
    }
    if sdk.region().is_none() {
        return Err(format!(
            "no AWS region configured (set AWS_REGION or a region in your profile); {hint}"
        ));
    }
    Ok(())
}

fn loader(
    settings: &Settings,
    endpoint: Option<&str>,
    profile: Option<&str>,
) -> aws_config::ConfigLoader {
    let mut l = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(u64::from(
                    settings.request_timeout_secs,
                )))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3));
    if let Some(e) = endpoint {
        l = l.endpoint_url(e);
    }
    if let Some(p) = profile {
        l = l.profile_name(p);
    }
    l
}

/// Builds credentials for an account, verifies its identity, and resolves its regions.
pub async fn connect(
    acct: &AccountConfig,
    settings: &Settings,
    prompt: Arc<dyn MfaPrompt>,
) -> Result<Connected, AwsError> {
    let endpoint = acct.endpoint_url.as_deref();
    let profile = match &acct.credentials {
        CredSpec::Profile(p) => Some(p.as_str()),
        CredSpec::AssumeRole { source_profile, .. } => source_profile.as_deref(),
        CredSpec::DefaultChain => None,
    };
    let first_region = match &acct.regions {
        Regions::List(v) => v.first().cloned(),
        Regions::All => None,
    };
    let mut l = loader(settings, endpoint, profile);
    if let Some(r) = &first_region {
        l = l.region(Region::new(r.clone()));
    }
    let base = l.load().await;
    // A bootstrap region for STS and DescribeRegions when none is configured.
    let base = if base.region().is_none() {
        base.to_builder()
            .region(Region::from_static("us-east-1"))
            .build()
    } else {
        base
    };
    if base.credentials_provider().is_none() {
        return Err(AwsError::other(
            "no AWS credentials found (env, profile, SSO, credential_process, instance role); \
             see docs/configuration.md, or try `watchfloor demo`",
        ));
    }
    let mut renewal = None;
    let sdk = match &acct.credentials {
        CredSpec::AssumeRole {
            role_arn,
            external_id,
            mfa_serial: None,
            session_name,
            ..
        } => {
            let mut b = AssumeRoleProvider::builder(role_arn).session_name(session_name);
            if let Some(x) = external_id {
                b = b.external_id(x);
            }
            let provider = b.configure(&base).build().await;
            base.to_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build()
        }
        CredSpec::AssumeRole {
            role_arn,
            external_id,
            mfa_serial: Some(serial),
            session_name,
            ..
        } => {
            let provider = Arc::new(MfaRoleProvider {
                alias: acct.alias.clone(),
                sts: aws_sdk_sts::Client::from_conf(
                    aws_sdk_sts::config::Builder::from(&base)
                        .interceptor(crate::diag::CallLog)
                        .build(),
                ),
                role_arn: role_arn.clone(),
                serial: serial.clone(),
                session_name: session_name.clone(),
                external_id: external_id.clone(),
                prompt,
                cached: Mutex::new(None),
                declined: Default::default(),
            });
            renewal = Some(Renewal(provider.clone()));
            base.to_builder()
                .credentials_provider(SharedCredentialsProvider::new(MfaSession(provider)))
                // A person types the code: the SDK's default 5 s credential load timeout is too short.
                .identity_cache(
                    aws_config::identity::IdentityCache::lazy()
                        .load_timeout(Duration::from_secs(600))
                        .build(),
                )
                .build()
        }
        _ => base,
    };
    verify(
        &acct.alias,
        sdk,
        acct.expected_account_id(),
        &acct.regions,
        &acct.home_regions,
        renewal,
    )
    .await
}

/// Verifies who `sdk`'s credentials are (STS GetCallerIdentity), refusing them when they are not
/// `expected`, and resolves the regions to poll.
pub(super) async fn verify(
    alias: &str,
    sdk: SdkConfig,
    expected: Option<&str>,
    regions: &Regions,
    home_regions: &[String],
    renewal: Option<Renewal>,
) -> Result<Connected, AwsError> {
    let who = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&sdk)
            .interceptor(crate::diag::CallLog)
            .build(),
    )
    .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            let mut err = describe("GetCallerIdentity (verifying the account)", &e);
            if renewal.as_ref().is_some_and(|r| r.0.declined()) {
                err.kind = ErrorKind::MfaDeclined;
            }
            if let aws_sdk_sts::error::SdkError::DispatchFailure(_) | aws_sdk_sts::error::SdkError::ConstructionFailure(_) = &e
                && let Some(inner) = std::error::Error::source(&e)
                && inner.to_string().contains("credentials")
            {
                err.message = format!(
                    "no usable AWS credentials for `{}`: {}; see docs/configuration.md, or try `watchfloor demo`",
                    alias,
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                );
            }
            err
        })?;
    let account_id = who.account().unwrap_or_default().to_string();
    if let Some(expected) = expected
        && expected != account_id
    {
        return Err(AwsError::other(format!(
            "role ARN names account {expected} but STS says these credentials are for {account_id}: refusing to guess"
        )));
    }
    let regions = match regions {
        Regions::List(v) if !v.is_empty() => v.clone(),
        Regions::List(_) => vec![sdk.region().map(|r| r.to_string()).ok_or_else(|| {
            AwsError::other("no region: set AWS_REGION, or `regions` in the config")
        })?],
        Regions::All => {
            super::enabled_regions(&aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(&sdk)
                    .interceptor(crate::diag::CallLog)
                    .build(),
            ))
            .await?
        }
    };
    Ok(Connected {
        alias: alias.to_string(),
        account_id,
        identity_arn: who.arn().unwrap_or_default().to_string(),
        home_regions: home_regions.to_vec(),
        regions,
        sdk,
        renewal,
    })
}
