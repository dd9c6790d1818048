//! A pseudo-terminal driving the real binary for the end-to-end suites: no tmux needed. What
//! the program writes goes through a terminal emulator (vt100) to read the screen back, and is
//! kept raw too (escape sequences such as OSC 52 are checked as bytes).

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};

/// What the program wrote: parsed into a screen, and raw.
struct Output {
    parser: vt100::Parser,
    raw: Vec<u8>,
}

/// The program in a pseudo-terminal; closed (SIGHUP) on drop.
pub struct Term {
    master: Mutex<Option<Box<dyn MasterPty + Send>>>,
    writer: Mutex<Option<Box<dyn Write + Send>>>,
    out: Arc<Mutex<Output>>,
    closed: Arc<AtomicBool>,
    _home: tempfile::TempDir,
    child: Mutex<Box<dyn portable_pty::Child + Send + Sync>>,
}

impl Term {
    /// Runs `cmd` (a shell line) in a 100x30 terminal.
    pub fn start(name: &str, cmd: &str) -> Term {
        Self::start_sized(name, cmd, 100, 30)
    }

    /// Runs `cmd` (a shell line) in a `cols` x `rows` terminal.
    pub fn start_sized(_name: &str, cmd: &str, cols: u16, rows: u16) -> Term {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pseudo-terminal");
        let mut c = CommandBuilder::new("sh");
        c.args(["-c", cmd]);
        c.env("TERM", "xterm-256color");
        // Not inside tmux or screen, whatever runs the tests: OSC 52 goes out bare.
        c.env_remove("TMUX");
        c.env_remove("STY");
        // Nothing of the developer's own config, keymaps, themes, journal or audit log.
        let home = tempfile::tempdir().expect("a temporary home");
        for (var, dir) in [
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_STATE_HOME", "state"),
            ("XDG_DATA_HOME", "data"),
            ("XDG_CACHE_HOME", "cache"),
        ] {
            c.env(var, home.path().join(dir));
        }
        c.cwd(std::env::current_dir().unwrap());
        let child = pty.slave.spawn_command(c).expect("spawn in the pty");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let writer = pty.master.take_writer().expect("pty writer");
        let out = Arc::new(Mutex::new(Output {
            parser: vt100::Parser::new(rows, cols, 0),
            raw: Vec::new(),
        }));
        let out2 = out.clone();
        let closed = Arc::new(AtomicBool::new(false));
        let closed2 = closed.clone();
        let fd = pty.master.as_raw_fd().expect("the pty master's descriptor");
        // The reader polls so that it notices `close` and drops its descriptor: only when the
        // last descriptor of the master is closed does the program get its SIGHUP.
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while !closed2.load(Ordering::SeqCst) {
                let mut p = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd, for the duration of the call.
                let ready = unsafe { libc::poll(&mut p, 1, 50) };
                if ready <= 0 || closed2.load(Ordering::SeqCst) {
                    continue;
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        let mut o = out2.lock().unwrap();
                        o.parser.process(&buf[..n]);
                        o.raw.extend_from_slice(&buf[..n]);
                    }
                }
            }
        });
        Term {
            master: Mutex::new(Some(pty.master)),
            writer: Mutex::new(Some(writer)),
            out,
            closed,
            _home: home,
            child: Mutex::new(child),
        }
    }

    /// Closes the terminal: the program gets SIGHUP, as when an SSH session drops.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.writer.lock().unwrap().take();
        self.master.lock().unwrap().take();
    }

    /// The visible screen, as text (one line per row).
    pub fn screen(&self) -> String {
        self.out.lock().unwrap().parser.screen().contents()
    }

    /// Every byte the program wrote so far.
    pub fn raw(&self) -> Vec<u8> {
        self.out.lock().unwrap().raw.clone()
    }

    /// Types `keys`, one at a time: a key name (tmux's: `Enter`, `Escape`, `Space`, `Tab`,
    /// `BSpace`, `Up`, `Down`, `C-c`, `C-Space`, ...) or literal text.
    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let bytes: Vec<u8> = match *k {
                "Enter" => b"\r".to_vec(),
                "Escape" => b"\x1b".to_vec(),
                "Space" => b" ".to_vec(),
                "Tab" => b"\t".to_vec(),
                "BSpace" => b"\x7f".to_vec(),
                "Up" => b"\x1b[A".to_vec(),
                "Down" => b"\x1b[B".to_vec(),
                "Right" => b"\x1b[C".to_vec(),
                "Left" => b"\x1b[D".to_vec(),
                "C-Space" => b"\x00".to_vec(),
                k if k.len() == 3 && k.starts_with("C-") => {
                    vec![k.as_bytes()[2].to_ascii_lowercase() & 0x1f]
                }
                k => k.as_bytes().to_vec(),
            };
            if let Some(w) = self.writer.lock().unwrap().as_mut() {
                w.write_all(&bytes).expect("type into the pty");
                w.flush().unwrap();
            }
            // A lone ESC must not merge with the next key into an escape sequence.
            std::thread::sleep(Duration::from_millis(if bytes == b"\x1b" {
                120
            } else {
                40
            }));
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

impl Drop for Term {
    fn drop(&mut self) {
        self.close();
        let mut c = self.child.lock().unwrap();
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// Shell line that runs watchfloor, then reports its exit code and the tty's canonical mode.
pub fn wrapped(env: &str, args: &str) -> String {
    let bin = env!("CARGO_BIN_EXE_watchfloor");
    format!(
        "{env} {bin} {args}; echo EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo; sleep 60"
    )
}
