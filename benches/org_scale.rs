//! The console with a simulated Organization in state (`demo --accounts 200 --instances
//! 100000`'s world): resident memory, idle CPU, keystroke-to-frame latency and the cost of
//! applying one scope's full inventory. Targets (issue 11): at most 400 MB, at most 2 % of one
//! core idle, p99 keystroke-to-frame at most 30 ms, an inventory apply well under a frame.
//!
//! Method, in one process, single-threaded, release build:
//! - The demo world is built and polled once at the campaign's end (every feed of every
//!   scope), every report applied through `update` as the console does; then the world and the
//!   reports are dropped. Memory is the process's resident set (VmRSS) after that, and again
//!   once the freed heap is returned to the system (`malloc_trim`), against the resident set
//!   before anything was built: what the console's state costs.
//!   Then every CPU and credit series is filled to its full history (120 samples, hours of
//!   polling) and the resident set is read again: the steady state.
//! - Idle: 120 one-second ticks with nothing arriving, each followed by a frame when the state
//!   says it changed (as the event loop does), at 200x50 into ratatui's TestBackend; CPU per
//!   second of wall time (getrusage) as a share of one core.
//! - Keystrokes: a script of 400 operator keys (moving, paging, filtering with `/` and the
//!   filter language, `:account`, sorting, opening and closing the detail view), each timed
//!   from `update` to the end of the frame it causes; p50, p99, max.
//! - Apply: one scope's full EC2 inventory (the largest scope) applied 50 times, each with the
//!   view rebuilt and alerts looked for over every row, as one burst of the event loop; p50 and
//!   max.
//!
//! Run: `cargo bench --bench org_scale` (`-- ACCOUNTS INSTANCES` to change the size).

use std::time::Instant;

use chrono::{TimeDelta, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use watchfloor::app::{Msg, State, update};
use watchfloor::feed::{Data, Report};
use watchfloor::keymap::{Key, KeyCode, Keymap};
use watchfloor::source::demo::{DemoWorld, poll_all};
use watchfloor::theme::{ColorMode, Theme};

/// Resident set size of this process, in MB.
fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds this process used so far (user + system).
fn cpu_secs() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn keys(script: &str) -> Vec<Key> {
    script
        .split(' ')
        .map(|k| match k {
            "SPACE" => Key::plain(KeyCode::Char(' ')),
            k if k.chars().count() == 1 => Key::plain(KeyCode::Char(k.chars().next().unwrap())),
            k => Key::parse(k).unwrap_or_else(|e| panic!("{k}: {e}")),
        })
        .collect()
}

fn typed(text: &str) -> Vec<Key> {
    text.chars().map(|c| Key::plain(KeyCode::Char(c))).collect()
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (accounts, instances) = (
        args.first().copied().unwrap_or(200),
        args.get(1).copied().unwrap_or(100_000),
    );
    let base_rss = rss_mb();
    let origin = Utc::now() - TimeDelta::seconds(300);
    let t0 = Instant::now();
    let world = std::sync::Arc::new(DemoWorld::sized(7, origin, accounts, instances));
    let built = t0.elapsed();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t0 = Instant::now();
    let reports = rt.block_on(poll_all(&world, 300.0, Utc::now()));
    let polled = t0.elapsed();
    drop(world);

    let mut state = State::new("demo", Keymap::default_map(), Utc::now());
    // As `watchfloor demo` runs it: the demo's three rules are checked on every row.
    state.fleet.configure(watchfloor::rules::demo_rules(), 2.0);
    // The largest scope's inventory, kept for the apply measurement.
    let biggest = reports
        .iter()
        .filter_map(|r| match r {
            Report::Data {
                data: Data::Inventory { instances, .. },
                ..
            } => Some((instances.len(), r.clone())),
            _ => None,
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, r)| r)
        .expect("an inventory");
    let n_reports = reports.len();
    // As the event loop does: bursts of up to 4,096 reports at once.
    let t0 = Instant::now();
    let mut reports = reports.into_iter().peekable();
    while reports.peek().is_some() {
        let burst: Vec<Report> = reports.by_ref().take(4096).collect();
        update(&mut state, Msg::Feeds(burst));
    }
    let applied = t0.elapsed();
    let rows = state.fleet.rows.len();
    let scopes = state.fleet.scopes.len();

    let backend = TestBackend::new(200, 50);
    let mut term = Terminal::new(backend).unwrap();
    let theme = Theme::default_theme(ColorMode::TrueColor);
    term.draw(|f| watchfloor::ui::render(f, &state, &theme))
        .unwrap();
    state.dirty = false;
    let state_rss = rss_mb();
    // The world and the reports are gone: give their freed heap back to the system, so what
    // stays resident is the state (and the allocator's own overhead).
    // SAFETY: malloc_trim only releases free heap memory.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::malloc_trim(0);
    }
    let trimmed_rss = rss_mb();
    // Every CPU and credit series at its full history, as after hours of polling (the
    // samples a poll would merge, merged directly).
    for sd in &mut state.fleet.scopes {
        let series = sd.cpu.values_mut().chain(
            sd.credits
                .values_mut()
                .flat_map(|c| [&mut c.balance, &mut c.surplus]),
        );
        for c in series {
            let Some((last, v)) = c.points.last() else {
                continue;
            };
            let more: Vec<_> = (1..=watchfloor::model::CpuSeries::CAPACITY as i64)
                .map(|k| (last + TimeDelta::seconds(10 * k), v))
                .collect();
            c.merge(more);
        }
    }
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::malloc_trim(0);
    }
    let full_rss = rss_mb();
    let samples = state
        .fleet
        .scopes
        .iter()
        .flat_map(|s| s.cpu.values())
        .map(|c| c.points.len())
        .max()
        .unwrap_or(0);

    // Idle: ticks and the frames they cause.
    let mut now = state.now;
    let cpu0 = cpu_secs();
    let mut frames = 0;
    for _ in 0..120 {
        now += TimeDelta::seconds(1);
        update(&mut state, Msg::Tick(now));
        if state.dirty {
            term.draw(|f| watchfloor::ui::render(f, &state, &theme))
                .unwrap();
            state.dirty = false;
            frames += 1;
        }
    }
    let idle_cpu = cpu_secs() - cpu0;

    // Keystrokes.
    let mut script = Vec::new();
    for _ in 0..4 {
        script.extend(keys(
            "j j j j j j j j j j k k k k k PageDown PageDown PageUp G g",
        ));
        script.extend(keys("/"));
        script.extend(typed("cpu>90 port:22"));
        script.extend(keys("Enter j j Enter Esc Esc /"));
        script.extend(typed("member-01"));
        script.extend(keys("Esc :"));
        script.extend(typed("account member-0100"));
        script.extend(keys("Enter j j :"));
        script.extend(typed("account"));
        script.extend(keys("Enter s s s s Enter Esc"));
    }
    let mut lat = Vec::with_capacity(script.len());
    for k in script {
        let t = Instant::now();
        update(&mut state, Msg::Key(k));
        if state.dirty {
            term.draw(|f| watchfloor::ui::render(f, &state, &theme))
                .unwrap();
            state.dirty = false;
        }
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(f64::total_cmp);

    // Apply one scope's full inventory.
    let Report::Data {
        data: Data::Inventory { ref instances, .. },
        ..
    } = biggest
    else {
        unreachable!()
    };
    let scope_rows = instances.len();
    let mut apply = Vec::new();
    for _ in 0..50 {
        let r = biggest.clone();
        let t = Instant::now();
        update(&mut state, Msg::Feed(r));
        apply.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    apply.sort_by(f64::total_cmp);

    // Where a burst's time goes: the fleet (rows of the scope recomputed, totals), the view
    // (filter and sort of every row), the alert scan (every row).
    let time = |f: &mut dyn FnMut()| {
        let mut v: Vec<f64> = (0..20)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        v.sort_by(f64::total_cmp);
        pct(&v, 0.5)
    };
    let now = state.now;
    let fleet_ms = time(&mut || {
        state.fleet.apply(biggest.clone(), now);
    });
    let view_ms = time(&mut || state.rebuild_view());
    let alerts_ms = time(&mut || {
        let _ = state.alerts.detect(&state.fleet, now);
    });
    let mut by_name = |k: watchfloor::app::SortKey| {
        state.ui.sort = k;
        time(&mut || state.rebuild_view())
    };
    let name_ms = by_name(watchfloor::app::SortKey::Name);
    let account_ms = by_name(watchfloor::app::SortKey::Account);
    state.ui.sort = watchfloor::app::SortKey::Risk;
    let text_ms = time(&mut || state.set_filter("member-01".into()));
    let terms_ms = time(&mut || state.set_filter("cpu>90 port:22 !acct:prod".into()));
    state.set_filter(String::new());

    println!("org_scale: {accounts} accounts, {scopes} scopes, {rows} rows in state");
    println!(
        "  world built in {:.2} s, polled once in {:.2} s ({n_reports} reports), applied in {:.2} s",
        built.as_secs_f64(),
        polled.as_secs_f64(),
        applied.as_secs_f64()
    );
    println!(
        "  resident memory: {state_rss:.0} MB with the state, {trimmed_rss:.0} MB once freed heap is returned (process before: {base_rss:.0} MB)"
    );
    println!("  with every CPU series at its full history ({samples} samples): {full_rss:.0} MB");
    println!(
        "  idle: {:.3} % of one core ({frames} frames in 120 ticks, {:.1} ms CPU)",
        idle_cpu / 120.0 * 100.0,
        idle_cpu * 1000.0
    );
    println!(
        "  keystroke to frame ({} keys): p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        lat.len(),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat[lat.len() - 1]
    );
    println!(
        "  apply one scope's inventory ({scope_rows} instances): p50 {:.2} ms  max {:.2} ms",
        pct(&apply, 0.5),
        apply[apply.len() - 1]
    );
    println!(
        "    of which: fleet {fleet_ms:.2} ms, view (risk sort) {view_ms:.2} ms, alert scan {alerts_ms:.2} ms"
    );
    println!(
        "  view rebuilt: sorted by name {name_ms:.2} ms, by account {account_ms:.2} ms; filtered by text {text_ms:.2} ms, by terms {terms_ms:.2} ms"
    );
}
