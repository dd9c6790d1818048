//! A private tmux server driving the real binary, for the end-to-end suites.

use std::process::Command;
use std::time::{Duration, Instant};

/// A private tmux server (own socket) killed on drop.
pub struct Tmux {
    /// Name of the tmux socket (`tmux -L NAME`).
    pub socket: String,
}

impl Tmux {
    /// Starts `cmd` in a new 100x30 session on a private socket.
    pub fn start(name: &str, cmd: &str) -> Tmux {
        let ok = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "tmux not found: this end-to-end test drives the real binary in tmux. \
             Install it (apt-get install tmux); .ci/run installs it on CI."
        );
        let socket = format!("wf-e2e-{}-{name}", std::process::id());
        let t = Tmux { socket };
        let status = Command::new("tmux")
            .args([
                "-L",
                &t.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "100",
                "-y",
                "30",
            ])
            .args(["-s", name, cmd])
            .env("TERM", "xterm-256color")
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux new-session failed");
        t
    }

    /// Closes the terminal: the tmux server goes, its pty closes, the program gets SIGHUP.
    pub fn close(&self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .stderr(std::process::Stdio::null())
            .status();
    }

    /// The visible screen, as text.
    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `keys` (tmux key names), one at a time.
    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let st = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", k])
                .status()
                .expect("send-keys");
            assert!(st.success());
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    /// Waits until the screen satisfies `pred`; panics with the last screen after `secs`.
    pub fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen was:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.close();
    }
}

/// Shell line that runs watchfloor, then reports its exit code and the tty's canonical mode.
pub fn wrapped(env: &str, args: &str) -> String {
    let bin = env!("CARGO_BIN_EXE_watchfloor");
    format!(
        "sh -c '{env} {bin} {args}; echo EXIT=$?; stty -a | tr \" ;\" \"\\n\\n\" | grep -x -e icanon -e -icanon -e echo -e -echo | tr \"\\n\" \" \"; echo; sleep 60'"
    )
}
