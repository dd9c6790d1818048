//! Diagnostics (`--log-file PATH`): AWS calls (service, operation, attempt, status, request id,
//! duration), retries and throttling, feed timings and errors, written with `tracing`.
//!
//! Only watchfloor's own events are logged at debug; other crates (the SDK, hyper) only from
//! warn up, so no request or response body, header or signature reaches the file. Nothing
//! logged carries credentials, session tokens or MFA codes (tests/diagnostics.rs checks).

use std::fs::OpenOptions;
use std::path::Path;
use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// Sends every event of watchfloor (debug and up) and of other crates (warn and up) to `path`,
/// appended, readable by the owner only.
pub fn init(path: &Path) -> anyhow::Result<()> {
    use anyhow::Context as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let file = opts
        .open(path)
        .with_context(|| format!("cannot open the log file {} (--log-file)", path.display()))?;
    // An existing file keeps no wider mode than a new one.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make the log file {} private", path.display()))?;
    }
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_target(true);
    let filter = Targets::new()
        .with_target("watchfloor", Level::DEBUG)
        .with_default(Level::WARN);
    tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init()
        .context("cannot start logging (a logger is already set)")?;
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "watchfloor log opened");
    Ok(())
}

/// Error codes of throttling, as the services spell them.
const THROTTLING: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "SlowDown",
];

/// When the current attempt of an AWS call started.
#[derive(Debug, Clone)]
struct AttemptStart(Instant);

impl Storable for AttemptStart {
    type Storer = StoreReplace<Self>;
}

/// Logs every attempt of every AWS call: service, operation, attempt number (a retry is
/// attempt 2 and up), HTTP status, request id and duration. Never the request or response.
#[derive(Debug, Clone, Copy)]
pub struct CallLog;

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "watchfloor-call-log"
    }

    fn read_before_attempt(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state()
            .store_put(AttemptStart(Instant::now()));
        Ok(())
    }

    fn read_after_attempt(
        &self,
        ctx: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map_or(("?", "?"), |m| (m.service(), m.name()));
        let attempt = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
        let ms = cfg
            .load::<AttemptStart>()
            .map_or(0, |s| s.0.elapsed().as_millis() as u64);
        match ctx.response() {
            Some(r) => {
                let h = r.headers();
                let request_id = h
                    .get("x-amzn-requestid")
                    .or_else(|| h.get("x-amz-request-id"))
                    .unwrap_or("-");
                let status = r.status().as_u16();
                // The throttling codes the SDKs retry, found in an error answer's body (only the
                // code is logged, never the body).
                let throttled = (status >= 400)
                    .then(|| r.body().bytes())
                    .flatten()
                    .and_then(|b| {
                        let text = String::from_utf8_lossy(b);
                        THROTTLING
                            .iter()
                            .find(|c| text.contains(*c))
                            .map(|c| c.to_string())
                    });
                // Throttling also comes as HTTP 400 with a code in the body (ThrottlingException,
                // RequestLimitExceeded): the error line that follows names it.
                if status >= 400 || attempt > 1 {
                    tracing::warn!(
                        service,
                        operation,
                        attempt,
                        status,
                        request_id,
                        ms,
                        "AWS call {}",
                        match &throttled {
                            Some(code) => format!("throttled ({code})"),
                            None if status == 429 || status == 503 => {
                                "throttled or unavailable".to_string()
                            }
                            None if status >= 400 => "answered with an error".to_string(),
                            None => "retried".to_string(),
                        }
                    );
                } else {
                    tracing::debug!(
                        service, operation, attempt, status, request_id, ms, "AWS call"
                    );
                }
            }
            None => tracing::warn!(
                service,
                operation,
                attempt,
                ms,
                "AWS call got no response (no credentials, network error or timeout)"
            ),
        }
        Ok(())
    }
}
