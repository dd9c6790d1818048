#!/usr/bin/env python3
"""CPU and memory of the real binary in a 200x50 pseudo-terminal (issue 11 measurements).

Usage: WARM=75 python3 benches/live_cpu.py target/release/watchfloor demo --accounts 200 --instances 100000
Runs the command, discards its output for WARM seconds, then reports the process's CPU (utime +
stime from /proc) over the next 60 s as a share of one core, the bytes it wrote, and VmRSS/VmHWM;
then sends q and kills it. Linux only; no dependencies."""
import os, pty, time, select, sys, struct, fcntl, termios
args = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm-256color"
    os.execv(args[0], args)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
def drain(secs):
    end = time.time() + secs
    n = 0
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                n += len(os.read(fd, 65536))
            except OSError:
                break
    return n
def cpu():
    f = open(f"/proc/{pid}/stat").read().split(")")[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS") or l.startswith("VmHWM"):
            print(" ", l.strip())
warm = float(os.environ.get("WARM", "75"))
drain(warm)
c0, t0 = cpu(), time.time()
b = drain(60)
c1, t1 = cpu(), time.time()
print(f"after {warm:.0f} s warm-up: CPU {100*(c1-c0)/(t1-t0):.1f} % of one core over {t1-t0:.0f} s, {b} bytes written")
rss()
os.write(fd, b"q")
drain(2)
os.kill(pid, 9)
