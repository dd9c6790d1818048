//! CloudWatch metrics per day for a fleet of 10,000 instances, 30 % of them burstable, as the CPU
//! feed polls them (each metric at its own period, credit metrics only for burstable instances,
//! the surplus only in unlimited mode), against the naive figure (every instance's CPU every 60 s).
//! Prints the figures; `cargo bench --bench cloudwatch_cost`.

use watchfloor::feed::cloudwatch_usd;
use watchfloor::model::credits::CreditMode;
use watchfloor::source::aws::cpu::{Target, Watched, metrics_per_day};

fn fleet(
    n: usize,
    burstable_pct: usize,
    unlimited_share: usize,
    detailed_pct: usize,
) -> Vec<Target> {
    (0..n)
        .map(|i| {
            let burstable = i % 100 < burstable_pct;
            Target {
                key: format!("i-{i:017x}"),
                account: None,
                watched: Watched::Instance,
                detailed: (i / 7) % 100 < detailed_pct,
                credits: burstable.then_some(if (i / 100) % 100 < unlimited_share {
                    CreditMode::Unlimited
                } else {
                    CreditMode::Standard
                }),
            }
        })
        .collect()
}

fn main() {
    let n = 10_000;
    let naive = n as f64 * 86_400.0 / 60.0;
    println!("CloudWatch GetMetricData metrics per day, {n} instances, 30 % burstable:");
    println!(
        "  naive (CPU of every instance every 60 s): {naive:>12.0}  ${:.2}/day",
        cloudwatch_usd(naive)
    );
    for (label, unlimited, detailed) in [
        ("basic monitoring, burstable all unlimited", 100, 0),
        ("basic monitoring, burstable all standard ", 0, 0),
        ("basic monitoring, burstable half/half    ", 50, 0),
        ("10 % detailed, burstable half/half       ", 50, 10),
    ] {
        let t = fleet(n, 30, unlimited, detailed);
        let cpu_only: Vec<Target> = t
            .iter()
            .cloned()
            .map(|mut x| {
                x.credits = None;
                x
            })
            .collect();
        let m = metrics_per_day(&t);
        let c = metrics_per_day(&cpu_only);
        println!(
            "  {label}: {m:>12.0}  ${:.2}/day  (CPU alone {c:.0}, credits +{:.0} = +{:.0} %; {:.1} % of naive)",
            cloudwatch_usd(m),
            m - c,
            (m - c) / c * 100.0,
            m / naive * 100.0
        );
    }
}
