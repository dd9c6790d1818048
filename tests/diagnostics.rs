//! `--log-file`: the real binary polls the emulator through an MFA role, with one throttled
//! call and one role that cannot be assumed; the log names AWS calls with their request ids,
//! the retry, the throttling, feed timings and the errors, and never a credential, session
//! token or MFA code.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;
use support::Emulator;
use support::seed::{assume, seed};

const MAIN: &str = "123456789012";
const PROD: &str = "222222222222";
const BROKEN: &str = "333333333333";
const SECRET: &str = "wfSecretKeyThatMustNeverBeLogged0123456789";
const TOKEN: &str = "wfSessionTokenThatMustNeverBeLogged9876543210";
const MFA_CODE: &str = "806451";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_has_request_ids_retries_and_timings_and_no_secrets() {
    let emu = Emulator::start();
    support::set_test_credentials();
    let creds = assume(&emu, PROD).await;
    seed(&emu, PROD, "us-east-1", Some(creds)).await;
    emu.post(
        "/_watchfloor/sts/deny-role",
        &json!({"role_arn": format!("arn:aws:iam::{BROKEN}:role/watchfloor-read")}),
    );
    // The first DescribeInstances is throttled: the SDK retries it.
    emu.post(
        "/_watchfloor/faults",
        &json!({"service": "ec2", "action": "DescribeInstances", "code": "RequestLimitExceeded", "status": 503, "count": 1}),
    );
    // ECS throttles as HTTP 400 with a code in the body: named in the log all the same.
    emu.post(
        "/_watchfloor/faults",
        &json!({"service": "ecs", "action": "ListClusters", "code": "ThrottlingException", "status": 400, "count": 1}),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fleet.toml");
    std::fs::write(
        &config,
        format!(
            "[[account]]\nalias = \"prod\"\nrole_arn = \"arn:aws:iam::{PROD}:role/needs-mfa\"\n\
             mfa_serial = \"arn:aws:iam::{MAIN}:mfa/alice\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{url}\"\n\n\
             [[account]]\nalias = \"broken\"\nrole_arn = \"arn:aws:iam::{BROKEN}:role/watchfloor-read\"\n\
             regions = [\"us-east-1\"]\nendpoint_url = \"{url}\"\n",
            url = emu.url()
        ),
    )
    .unwrap();
    let log = dir.path().join("watchfloor.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["snapshot", "--config"])
        .arg(&config)
        .arg("--log-file")
        .arg(&log)
        .env("AWS_ACCESS_KEY_ID", "AKIAWATCHFLOORDIAG01")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", TOKEN)
        .env("AWS_CONFIG_FILE", "/nonexistent/watchfloor-test")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/watchfloor-test",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The MFA code, typed at the prompt.
    writeln!(child.stdin.take().unwrap(), "{MFA_CODE}").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "broken failed, prod polled: {stderr}"
    );
    let text = std::fs::read_to_string(&log).expect("the log file exists");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "owner-only log file");
    }
    // Calls with their request ids (moto answers with x-amzn-requestid).
    let call = text
        .lines()
        .find(|l| l.contains("AWS call") && l.contains("operation=\"DescribeSecurityGroups\""))
        .unwrap_or_else(|| panic!("no DescribeSecurityGroups call in:\n{text}"));
    assert!(call.contains("status=200"), "{call}");
    let rid = call
        .split("request_id=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or("-");
    assert!(
        rid.len() > 8 && rid != "-" && rid != "\"-\"",
        "request id logged: {call}"
    );
    // The throttled attempt, then its retry; throttling named by its code at HTTP 400 too.
    let logged = |what: &str, parts: &[&str]| {
        assert!(
            text.lines().any(|l| parts.iter().all(|p| l.contains(p))),
            "{what}: no line with {parts:?} in:\n{text}"
        );
    };
    logged(
        "throttled attempt",
        &["operation=\"DescribeInstances\"", "status=503", "throttled"],
    );
    logged(
        "retry",
        &["operation=\"DescribeInstances\"", "attempt=2", "retried"],
    );
    logged(
        "throttling by code",
        &[
            "operation=\"ListClusters\"",
            "status=400",
            "throttled (ThrottlingException)",
        ],
    );
    // Feed timings, and the account that failed.
    logged("feed timing", &["feed polled", "feed=\"ec2\"", "ms="]);
    logged(
        "the denied role",
        &["account failed to connect", "broken", "AccessDenied"],
    );
    assert!(
        text.contains("AssumeRole"),
        "the MFA role was assumed:\n{text}"
    );
    // Never a secret, a session token or the MFA code; nor the credentials AssumeRole returned
    // (temporary access keys start ASIA; the words of their fields never appear).
    for word in [
        "ASIA",
        "SecretAccessKey",
        "SessionToken",
        "secret_access_key",
        "session_token",
    ] {
        assert!(!text.contains(word), "`{word}` in the log:\n{text}");
    }
    for (what, secret) in [
        ("secret key", SECRET),
        ("session token", TOKEN),
        ("MFA code", MFA_CODE),
    ] {
        assert!(!text.contains(secret), "the {what} is in the log:\n{text}");
    }
}
