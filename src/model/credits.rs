//! Burstable instances (t2, t3, t3a, t4g): their CPU baseline, credit mode and credit metrics, and
//! when a zero balance holds one at its baseline (saturated although its CPU % looks modest).

use serde::Serialize;

use super::CpuSeries;

/// A balance below this many credits counts as none left (CloudWatch reports fractions).
pub const EMPTY_BALANCE: f64 = 1.0;
/// CPU between these shares of the baseline counts as pinned at it.
pub const PINNED_SHARE: f64 = 0.8;
/// Upper share (plus [`PINNED_SLACK`] points): well above the baseline it is not being held.
pub const PINNED_SHARE_MAX: f64 = 1.2;
/// Points of CPU % above the upper share still counted as at the baseline (noise).
pub const PINNED_SLACK: f64 = 2.0;
/// Period of the credit metrics: AWS publishes them every 5 minutes whatever the monitoring.
pub const CREDIT_PERIOD_SECS: u32 = 300;

/// How a burstable instance pays for CPU above its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CreditMode {
    /// Held at the baseline once the credits are spent.
    Standard,
    /// Bursts on, charged for surplus credits.
    Unlimited,
    /// DescribeInstanceCreditSpecifications did not say (denied, failed).
    Unknown,
}

impl CreditMode {
    /// From the API's `CpuCredits` value.
    pub fn parse(s: &str) -> CreditMode {
        match s {
            "standard" => CreditMode::Standard,
            "unlimited" => CreditMode::Unlimited,
            _ => CreditMode::Unknown,
        }
    }

    /// `standard`, `unlimited`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            CreditMode::Standard => "standard",
            CreditMode::Unlimited => "unlimited",
            CreditMode::Unknown => "unknown",
        }
    }
}

/// Credit metrics of one burstable instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Credits {
    /// Credit mode, when known.
    pub mode: Option<CreditMode>,
    /// CPUCreditBalance samples (credits).
    pub balance: CpuSeries,
    /// CPUSurplusCreditsCharged samples (credits charged per period; unlimited mode only).
    pub surplus: CpuSeries,
}

impl Credits {
    /// Merges newer samples (and the mode, when the poll knew it).
    pub fn merge(&mut self, new: Credits) {
        if new.mode.is_some() {
            self.mode = new.mode;
        }
        self.balance.period_secs = CREDIT_PERIOD_SECS;
        self.surplus.period_secs = CREDIT_PERIOD_SECS;
        self.balance.merge(new.balance.points);
        self.surplus.merge(new.surplus.points);
    }

    /// Surplus credits charged over the samples held.
    pub fn surplus_charged(&self) -> f64 {
        self.surplus.points.iter().map(|p| p.1).sum()
    }
}

/// Baseline CPU % (per vCPU, which is what CloudWatch's CPUUtilization shows at the baseline) of
/// a burstable type; None for every other type.
pub fn baseline_pct(instance_type: &str) -> Option<f64> {
    let (family, size) = instance_type.split_once('.')?;
    let pct = match (family, size) {
        ("t2", "nano") => 5.0,
        ("t2", "micro") => 10.0,
        ("t2", "small") => 20.0,
        ("t2", "medium") => 20.0,
        ("t2", "large") => 30.0,
        ("t2", "xlarge") => 22.5,
        ("t2", "2xlarge") => 17.0,
        ("t3" | "t3a" | "t4g", "nano") => 5.0,
        ("t3" | "t3a" | "t4g", "micro") => 10.0,
        ("t3" | "t3a" | "t4g", "small") => 20.0,
        ("t3" | "t3a" | "t4g", "medium") => 20.0,
        ("t3" | "t3a" | "t4g", "large") => 30.0,
        ("t3" | "t3a" | "t4g", "xlarge") => 40.0,
        ("t3" | "t3a" | "t4g", "2xlarge") => 40.0,
        _ => return None,
    };
    Some(pct)
}

/// True for the burstable families.
pub fn is_burstable(instance_type: &str) -> bool {
    baseline_pct(instance_type).is_some()
}

/// US dollars for surplus credits (one vCPU-minute each): $0.05 per vCPU-hour, $0.04 for
/// Graviton t4g, $0.096 on Windows.
pub fn surplus_usd(
    instance_type: &str,
    platform: crate::model::price::Platform,
    credits: f64,
) -> f64 {
    use crate::model::price::Platform;
    let per_vcpu_hour = match platform {
        Platform::Windows
        | Platform::WindowsSqlStd
        | Platform::WindowsSqlEnt
        | Platform::WindowsSqlWeb => 0.096,
        _ if instance_type.starts_with("t4g.") => 0.04,
        _ => 0.05,
    };
    credits / 60.0 * per_vcpu_hour
}

/// The baseline a burstable instance is held at when its credits are spent and its CPU sits at
/// that baseline: the instance works as hard as it is allowed to. None otherwise, and always in
/// unlimited mode, where a spent balance holds nothing back (the surplus is charged instead).
pub fn exhausted_at(instance_type: &str, credits: &Credits, cpu: &CpuSeries) -> Option<f64> {
    if credits.mode == Some(CreditMode::Unlimited) {
        return None;
    }
    let baseline = baseline_pct(instance_type)?;
    let balance = credits.balance.latest()?;
    let mean = cpu.recent_mean(super::risk::SATURATION_WINDOW)?;
    let pinned =
        mean >= baseline * PINNED_SHARE && mean <= baseline * PINNED_SHARE_MAX + PINNED_SLACK;
    (balance < EMPTY_BALANCE && pinned).then_some(baseline)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone, Utc};

    fn series(values: &[f64]) -> CpuSeries {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        CpuSeries {
            period_secs: 300,
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| (t0 + TimeDelta::minutes(5 * i as i64), *v))
                .collect(),
        }
    }

    fn credits(balance: &[f64]) -> Credits {
        Credits {
            mode: Some(CreditMode::Standard),
            balance: series(balance),
            surplus: CpuSeries::default(),
        }
    }

    #[test]
    fn baselines_of_the_burstable_families() {
        assert_eq!(baseline_pct("t3.large"), Some(30.0));
        assert_eq!(baseline_pct("t3a.micro"), Some(10.0));
        assert_eq!(baseline_pct("t4g.xlarge"), Some(40.0));
        assert_eq!(baseline_pct("t2.xlarge"), Some(22.5));
        for other in ["m5.large", "t3", "p3.2xlarge", "t3.metal", "c6i.large", ""] {
            assert_eq!(baseline_pct(other), None, "{other}");
        }
    }

    #[test]
    fn a_spent_balance_at_the_baseline_is_exhaustion() {
        // A t3.large held at 30 % with no credits left.
        let at_baseline = series(&[29.0, 30.0, 30.0]);
        assert_eq!(
            exhausted_at("t3.large", &credits(&[3.0, 0.4, 0.0]), &at_baseline),
            Some(30.0)
        );
        // Credits left: bursting by choice, not held.
        assert_eq!(
            exhausted_at("t3.large", &credits(&[0.0, 2.0, 57.0]), &at_baseline),
            None
        );
        // No credits, but idle: nothing is being held back.
        assert_eq!(
            exhausted_at("t3.large", &credits(&[0.0]), &series(&[3.0, 2.0, 4.0])),
            None
        );
        // Not burstable: never.
        assert_eq!(
            exhausted_at("m5.large", &credits(&[0.0]), &at_baseline),
            None
        );
        // Balance unknown: never guessed.
        assert_eq!(exhausted_at("t3.large", &credits(&[]), &at_baseline), None);
        // Unlimited mode: a spent balance holds nothing back.
        let unlimited = Credits {
            mode: Some(CreditMode::Unlimited),
            ..credits(&[0.0])
        };
        assert_eq!(exhausted_at("t3.large", &unlimited, &at_baseline), None);
        // Well above the baseline with no credits: not held there.
        assert_eq!(
            exhausted_at("t3.large", &credits(&[0.0]), &series(&[60.0, 61.0, 60.0])),
            None
        );
        // Mode not known: a box sitting at its baseline with nothing left is still flagged.
        let unknown = Credits {
            mode: Some(CreditMode::Unknown),
            ..credits(&[0.0])
        };
        assert_eq!(exhausted_at("t3.large", &unknown, &at_baseline), Some(30.0));
    }

    #[test]
    fn surplus_is_priced_per_vcpu_hour() {
        use crate::model::price::Platform;
        assert!((surplus_usd("t3.large", Platform::Linux, 120.0) - 0.10).abs() < 1e-9);
        assert!((surplus_usd("t4g.large", Platform::Linux, 120.0) - 0.08).abs() < 1e-9);
        assert!((surplus_usd("t3.large", Platform::Windows, 120.0) - 0.192).abs() < 1e-9);
    }
}
