//! Test harness for the AWS emulator (tests/support/emulator): provisions its venv once,
//! starts one emulator per test on a free loopback port, and talks to its extension endpoints.
#![allow(dead_code)]

pub mod pty;
pub mod seed;
pub mod triage;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs setup.sh once per test process; returns the venv's python.
fn python() -> &'static PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let out = Command::new("bash")
            .arg(repo().join("tests/support/emulator/setup.sh"))
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run bash for tests/support/emulator/setup.sh: {e}"));
        assert!(
            out.status.success(),
            "the AWS emulator could not be provisioned (tests/support/emulator/setup.sh failed; \
             it needs python3 with venv and access to PyPI). These tests never skip."
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("WATCHFLOOR_EMULATOR_PYTHON="))
            .expect("setup.sh printed no WATCHFLOOR_EMULATOR_PYTHON= line");
        PathBuf::from(line.trim())
    })
}

/// A running emulator; killed on drop.
pub struct Emulator {
    child: Child,
    _stdin: Option<ChildStdin>,
    /// Loopback port.
    pub port: u16,
}

impl Emulator {
    /// Starts an emulator on a free port.
    pub fn start() -> Emulator {
        Self::start_on(0)
    }

    /// Starts an emulator on `port` (0 = free).
    pub fn start_on(port: u16) -> Emulator {
        let mut child = Command::new(python())
            .arg(repo().join("tests/support/emulator/watchfloor_emulator.py"))
            .args(["--port", &port.to_string(), "--exit-on-stdin-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the emulator");
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the emulator's port line");
        let port = line
            .trim()
            .strip_prefix("WATCHFLOOR_EMULATOR_PORT=")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("emulator did not print its port, got {line:?}"));
        Emulator {
            child,
            _stdin: stdin,
            port,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the process (for outage tests).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends a request to an extension endpoint; returns (status, body).
    pub fn http(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to emulator");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("read response");
        let status = resp
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = resp
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// POSTs JSON and asserts success.
    pub fn post(&self, path: &str, json: &serde_json::Value) -> serde_json::Value {
        let (st, body) = self.http("POST", path, &json.to_string());
        assert!((200..300).contains(&st), "POST {path} -> {st}: {body}");
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
    }

    /// The emulator's record of AWS requests.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        let (st, body) = self.http("GET", "/_watchfloor/requests", "");
        assert_eq!(st, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v.as_array()
            .cloned()
            .or_else(|| v.get("requests").and_then(|r| r.as_array()).cloned())
            .unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Fails the test with every `feed: message` when a poll reported a failure.
pub fn assert_no_failure(reports: &[watchfloor::feed::Report]) {
    let failures: Vec<String> = reports
        .iter()
        .filter_map(|r| match r {
            watchfloor::feed::Report::Failed { feed, message, .. } => {
                Some(format!("{feed}: {message}"))
            }
            _ => None,
        })
        .collect();
    assert!(failures.is_empty(), "{failures:?}");
}

/// Static credentials for the emulator (the signature is not checked; the access key maps
/// to moto's default account 123456789012).
pub fn set_test_credentials() {
    // SAFETY: every test sets the same values; nothing reads them concurrently in a way
    // that observes a half-written state on Linux glibc for these short strings.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIAWATCHFLOORTEST01");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "watchfloor-test-secret");
        std::env::remove_var("AWS_SESSION_TOKEN");
        std::env::remove_var("AWS_PROFILE");
        std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/watchfloor-test");
        std::env::set_var(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/watchfloor-test",
        );
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        // The price cache of the tests' own, never the developer's.
        std::env::set_var(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("watchfloor-test-cache"),
        );
    }
}
