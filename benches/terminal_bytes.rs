//! Bytes the real binary writes to its terminal: the console (`demo --seed 7`) and the wall
//! (`wall --demo --seed 7`) in a 200x50 pseudo-terminal for a minute each (WF_BYTES_SECS to
//! change it), the campaign at its real speed. What the war room's screen (often a remote
//! session) has to carry.
//!
//! Run: `cargo bench --bench terminal_bytes`.

use std::io::Read;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// Runs `args` for `secs` in a `cols` x `rows` terminal; returns the bytes written.
fn bytes_written(args: &[&str], secs: u64, cols: u16, rows: u16) -> usize {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pseudo-terminal");
    let mut c = CommandBuilder::new(env!("CARGO_BIN_EXE_watchfloor"));
    c.args(args);
    c.env("TERM", "xterm-256color");
    c.env_remove("TMUX");
    let mut child = pty.slave.spawn_command(c).expect("spawn");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("reader");
    let counter = std::thread::spawn(move || {
        let mut n = 0usize;
        let mut buf = [0u8; 65536];
        while let Ok(k) = reader.read(&mut buf) {
            if k == 0 {
                break;
            }
            n += k;
        }
        n
    });
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let _ = child.kill();
    let _ = child.wait();
    drop(pty.master);
    let n = counter.join().unwrap_or(0);
    eprintln!(
        "  {:<40} {:>9} bytes in {:>3} s = {:>7.1} KB/min",
        args.join(" "),
        n,
        start.elapsed().as_secs(),
        n as f64 / 1024.0 / start.elapsed().as_secs_f64() * 60.0
    );
    n
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    let secs: u64 = std::env::var("WF_BYTES_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    eprintln!("terminal bytes at 200x50, {secs} s each:");
    for args in [
        &["demo", "--seed", "7", "--read-only"][..],
        &["wall", "--demo", "--seed", "7"][..],
        &["wall", "--demo", "--seed", "7", "--color", "never"][..],
    ] {
        bytes_written(args, secs, 200, 50);
    }
}
