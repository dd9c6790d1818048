//! Plain-words AWS errors with a kind to decide on (back off, refuse, retry), never a secret.

use std::error::Error as StdError;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

/// Error codes AWS services use for throttling.
const THROTTLING: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
];

/// Codes meaning the credentials are no longer valid.
const EXPIRED: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
];

/// Codes meaning the identity lacks permission.
const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
];

/// What kind of failure an [`AwsError`] is: callers decide on this, never on the message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The service throttled the call: back off.
    Throttled,
    /// The credentials expired or are not valid.
    Expired,
    /// The identity lacks permission.
    Denied,
    /// A DryRun call that would have succeeded (`DryRunOperation`).
    DryRunOk,
    /// The operator gave no MFA code for the account: not retried until restart.
    MfaDeclined,
    /// The account is already connected under another alias: not retried.
    DuplicateAccount,
    /// No answer: network error, timeout, endpoint down.
    Unreachable,
    /// The resource does not exist (any more): a `...NotFound` code such as
    /// `InvalidNetworkInterfaceID.NotFound` or `InvalidInstanceID.NotFound`.
    NotFound,
    /// Anything else (bad parameter, unexpected reply).
    Other,
}

/// A failed AWS call, described for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AwsError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The service's error code, when it answered.
    pub code: Option<String>,
    /// One line: what happened and, where known, what to do.
    pub message: String,
}

impl AwsError {
    /// An error of `kind` that did not come from an SDK call.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        AwsError {
            kind,
            code: None,
            message: message.into(),
        }
    }

    /// An error that did not come from an SDK call.
    pub fn other(message: impl Into<String>) -> Self {
        AwsError::new(ErrorKind::Other, message)
    }

    /// True when the caller should back off as for throttling.
    pub fn throttled(&self) -> bool {
        self.kind == ErrorKind::Throttled
    }
}

/// Describes an SDK error of any operation of any service.
pub fn describe<E, R>(op: &str, err: &SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let code = e.code().map(str::to_string);
            let msg = e.message().unwrap_or("no message");
            let out = classify(op, code, msg);
            tracing::warn!(
                op,
                code = e.code().unwrap_or("-"),
                request_id = e.meta().extra("aws_request_id").unwrap_or("-"),
                kind = ?out.kind,
                "AWS error{}: {}",
                if out.throttled() { " (throttled)" } else { "" },
                out.message
            );
            out
        }
        SdkError::TimeoutError(_) => AwsError::new(
            ErrorKind::Unreachable,
            format!("{op}: timed out (no answer in time)"),
        ),
        SdkError::DispatchFailure(df) => {
            let why = if df.is_io() {
                "network error"
            } else if df.is_timeout() {
                "connection timed out"
            } else {
                "cannot send request"
            };
            AwsError::new(
                ErrorKind::Unreachable,
                format!("{op}: {why}: {}", chain(err)),
            )
        }
        SdkError::ConstructionFailure(_) => AwsError::other(format!(
            "{op}: cannot build the request (credentials or region missing?): {}",
            chain(err)
        )),
        _ => AwsError::other(format!("{op}: {}", chain(err))),
    }
}

/// ECS's codes for a cluster or service that is not there (or no longer active).
const ECS_NOT_FOUND: &[&str] = &[
    "ClusterNotFoundException",
    "ServiceNotFoundException",
    "ServiceNotActiveException",
];

/// Classifies a service error code and message.
pub fn classify(op: &str, code: Option<String>, message: &str) -> AwsError {
    let c = code.as_deref().unwrap_or("");
    let kind = if THROTTLING.contains(&c) {
        ErrorKind::Throttled
    } else if EXPIRED.contains(&c) {
        ErrorKind::Expired
    } else if DENIED.contains(&c) || c.contains("Unauthorized") || c.contains("AccessDenied") {
        ErrorKind::Denied
    } else if c == "DryRunOperation" {
        ErrorKind::DryRunOk
    } else if c.ends_with("NotFound") || ECS_NOT_FOUND.contains(&c) {
        // `InvalidNetworkInterfaceID.NotFound`, `InvalidGroup.NotFound`, `NotFound`, ECS's
        // `ServiceNotFoundException`, ...
        ErrorKind::NotFound
    } else {
        ErrorKind::Other
    };
    let hint = match kind {
        ErrorKind::Throttled => " (throttled: backing off)",
        ErrorKind::Expired => {
            " (credentials expired or invalid: refresh them, e.g. `aws sso login`)"
        }
        ErrorKind::Denied => " (permission missing: see docs/iam.md)",
        _ => "",
    };
    AwsError {
        kind,
        message: format!(
            "{op}: {}{}{hint}",
            if c.is_empty() {
                String::new()
            } else {
                format!("{c}: ")
            },
            one_line(message)
        ),
        code,
    }
}

/// The error's source chain as `a: b: c`, each level once (no Debug dumps).
fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        let s = e.to_string();
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    one_line(&parts.join(": "))
}

/// Collapses whitespace and caps length so a message fits a status line.
pub fn one_line(s: &str) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 300 {
        s.chars().take(299).collect::<String>() + "…"
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        let t = classify(
            "DescribeInstances",
            Some("RequestLimitExceeded".into()),
            "Request limit exceeded.",
        );
        assert_eq!(t.kind, ErrorKind::Throttled);
        assert_eq!(
            t.message,
            "DescribeInstances: RequestLimitExceeded: Request limit exceeded. (throttled: backing off)"
        );
        let e = classify(
            "GetMetricData",
            Some("ExpiredToken".into()),
            "The security token included in the request is expired",
        );
        assert_eq!(e.kind, ErrorKind::Expired);
        assert!(e.message.contains("credentials expired"));
        let d = classify("ListFindings", Some("AccessDeniedException".into()), "no");
        assert_eq!(d.kind, ErrorKind::Denied);
        let dry = classify(
            "StopInstances",
            Some("DryRunOperation".into()),
            "would succeed",
        );
        assert_eq!(dry.kind, ErrorKind::DryRunOk);
        assert!(d.message.ends_with("(permission missing: see docs/iam.md)"));
        let n = classify("X", None, "  multi\n line  ");
        assert_eq!(n.message, "X: multi line");
        assert_eq!(n.kind, ErrorKind::Other);
    }

    #[test]
    fn missing_resources_are_not_found() {
        for code in [
            "InvalidNetworkInterfaceID.NotFound",
            "InvalidInstanceID.NotFound",
            "InvalidGroup.NotFound",
            "NotFound",
            "ServiceNotFoundException",
            "ClusterNotFoundException",
        ] {
            let e = classify(
                "ModifyNetworkInterfaceAttribute",
                Some(code.into()),
                "does not exist",
            );
            assert_eq!(e.kind, ErrorKind::NotFound, "{code}");
            assert_eq!(
                e.message,
                format!("ModifyNetworkInterfaceAttribute: {code}: does not exist"),
                "no hint is added"
            );
        }
        // Only the code decides: a message saying "NotFound" is not enough, nor is a code that
        // merely contains it.
        for (code, msg) in [
            (
                Some("InvalidParameterValue"),
                "InvalidNetworkInterfaceID.NotFound",
            ),
            (None, "InvalidInstanceID.NotFound"),
            (Some("NotFoundYet"), "x"),
        ] {
            let e = classify("X", code.map(str::to_string), msg);
            assert_eq!(e.kind, ErrorKind::Other, "{code:?} {msg}");
        }
    }
}
