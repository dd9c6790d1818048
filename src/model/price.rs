//! What an instance costs: the platform and tenancy its price depends on, the price keys the
//! pricing feed looks up, the quotes it finds, and the burn (fleet $/h and its change in 24 h).
//!
//! Prices are on-demand list prices (Spot: the AZ's current Spot price). Savings plans, reserved
//! instances, EBS, data transfer and taxes are not counted (docs/cost.md).

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The software an instance is billed for (EC2 `PlatformDetails`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    /// `Linux/UNIX` (and an unset platform).
    #[default]
    Linux,
    /// `Windows`.
    Windows,
    /// `Red Hat Enterprise Linux`.
    Rhel,
    /// `SUSE Linux`.
    Suse,
    /// `Ubuntu Pro`.
    UbuntuPro,
    /// `Windows with SQL Server Standard`.
    WindowsSqlStd,
    /// `Windows with SQL Server Enterprise`.
    WindowsSqlEnt,
    /// `Windows with SQL Server Web`.
    WindowsSqlWeb,
    /// `Linux with SQL Server Standard`.
    LinuxSqlStd,
    /// `Linux with SQL Server Enterprise`.
    LinuxSqlEnt,
    /// `Linux with SQL Server Web`.
    LinuxSqlWeb,
    /// Anything else (priced as unknown, never guessed).
    Other,
}

impl Platform {
    /// From EC2's `PlatformDetails` (None: Linux/UNIX, what EC2 leaves unset).
    pub fn from_details(details: Option<&str>) -> Platform {
        match details.map(str::trim) {
            None | Some("") | Some("Linux/UNIX") => Platform::Linux,
            Some("Windows") => Platform::Windows,
            Some("Red Hat Enterprise Linux") => Platform::Rhel,
            Some("SUSE Linux") => Platform::Suse,
            Some("Ubuntu Pro") => Platform::UbuntuPro,
            Some("Windows with SQL Server Standard") => Platform::WindowsSqlStd,
            Some("Windows with SQL Server Enterprise") => Platform::WindowsSqlEnt,
            Some("Windows with SQL Server Web") => Platform::WindowsSqlWeb,
            Some("Linux with SQL Server Standard") => Platform::LinuxSqlStd,
            Some("Linux with SQL Server Enterprise") => Platform::LinuxSqlEnt,
            Some("Linux with SQL Server Web") => Platform::LinuxSqlWeb,
            Some(_) => Platform::Other,
        }
    }

    /// The Price List's `operatingSystem` and `preInstalledSw`; None for [`Platform::Other`].
    pub fn price_list(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Platform::Linux => ("Linux", "NA"),
            Platform::Windows => ("Windows", "NA"),
            Platform::Rhel => ("RHEL", "NA"),
            Platform::Suse => ("SUSE", "NA"),
            Platform::UbuntuPro => ("Ubuntu Pro", "NA"),
            Platform::WindowsSqlStd => ("Windows", "SQL Std"),
            Platform::WindowsSqlEnt => ("Windows", "SQL Ent"),
            Platform::WindowsSqlWeb => ("Windows", "SQL Web"),
            Platform::LinuxSqlStd => ("Linux", "SQL Std"),
            Platform::LinuxSqlEnt => ("Linux", "SQL Ent"),
            Platform::LinuxSqlWeb => ("Linux", "SQL Web"),
            Platform::Other => return None,
        })
    }

    /// The Spot price history's `ProductDescription`; None where Spot has no such product.
    pub fn spot_product(self) -> Option<&'static str> {
        match self {
            Platform::Linux => Some("Linux/UNIX"),
            Platform::Windows => Some("Windows"),
            Platform::Rhel => Some("Red Hat Enterprise Linux"),
            Platform::Suse => Some("SUSE Linux"),
            _ => None,
        }
    }

    /// Short label for the detail view and the cache key.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Linux => "linux",
            Platform::Windows => "windows",
            Platform::Rhel => "rhel",
            Platform::Suse => "suse",
            Platform::UbuntuPro => "ubuntu-pro",
            Platform::WindowsSqlStd => "windows-sql-std",
            Platform::WindowsSqlEnt => "windows-sql-ent",
            Platform::WindowsSqlWeb => "windows-sql-web",
            Platform::LinuxSqlStd => "linux-sql-std",
            Platform::LinuxSqlEnt => "linux-sql-ent",
            Platform::LinuxSqlWeb => "linux-sql-web",
            Platform::Other => "other",
        }
    }
}

/// Placement tenancy (the Price List's `tenancy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tenancy {
    /// `default`: shared hardware.
    #[default]
    Shared,
    /// `dedicated`: a dedicated instance.
    Dedicated,
    /// `host`: on a Dedicated Host, billed per host (no per-instance price).
    Host,
}

impl Tenancy {
    /// From EC2's `Placement.Tenancy`.
    pub fn parse(s: Option<&str>) -> Tenancy {
        match s {
            Some("dedicated") => Tenancy::Dedicated,
            Some("host") => Tenancy::Host,
            _ => Tenancy::Shared,
        }
    }

    /// `shared`, `dedicated` or `host`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tenancy::Shared => "shared",
            Tenancy::Dedicated => "dedicated",
            Tenancy::Host => "host",
        }
    }

    /// The Price List's value; None for a Dedicated Host.
    pub fn price_list(self) -> Option<&'static str> {
        match self {
            Tenancy::Shared => Some("Shared"),
            Tenancy::Dedicated => Some("Dedicated"),
            Tenancy::Host => None,
        }
    }
}

/// What one price is for, within a region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PriceKey {
    /// Instance type.
    pub instance_type: String,
    /// Billed software.
    pub platform: Platform,
    /// Tenancy.
    pub tenancy: Tenancy,
    /// For a Spot price: its availability zone (None: the on-demand price).
    pub spot_az: Option<String>,
}

impl PriceKey {
    /// What the price of an instance is looked up by: its AZ's Spot price for a Spot instance,
    /// else the on-demand price of its type, platform and tenancy.
    pub fn of(i: &super::Instance) -> PriceKey {
        PriceKey {
            instance_type: i.instance_type.clone(),
            platform: i.platform,
            tenancy: i.tenancy,
            spot_az: i.availability_zone.clone().filter(|_| i.spot),
        }
    }

    /// `m5.large linux shared` / `m5.large linux spot us-east-1a`: the cache's key and the
    /// detail view's words.
    pub fn label(&self) -> String {
        match &self.spot_az {
            Some(az) => format!(
                "{} {} spot {az}",
                self.instance_type,
                self.platform.as_str()
            ),
            None => format!(
                "{} {} {}",
                self.instance_type,
                self.platform.as_str(),
                self.tenancy.as_str()
            ),
        }
    }
}

/// A price found (or not) for a key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quote {
    /// Dollars per hour; None: unknown, with `note` saying why.
    pub usd_per_hour: Option<f64>,
    /// When the price was read from AWS.
    pub as_of: DateTime<Utc>,
    /// Taken from the disk cache because AWS could not be asked (its reason in `note`).
    pub cached: bool,
    /// Why the price is unknown, or why a cached one is used.
    pub note: Option<String>,
}

/// The price a row shows (copied into the row; the quote stays in its scope).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowPrice {
    /// Dollars per hour.
    pub usd_per_hour: f64,
    /// The Spot price of its AZ (else on-demand).
    pub spot: bool,
    /// A price saved earlier, used because AWS could not be asked.
    pub cached: bool,
}

/// Burn of a set of instances: what runs now, and what of it ran 24 hours ago.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Burn {
    /// $/h of the live instances with a known price.
    pub now: f64,
    /// $/h of those of them launched more than 24 h ago.
    pub day_ago: f64,
    /// Live instances whose price is unknown (not in `now`).
    pub unpriced: usize,
    /// `day_ago` is Cost Explorer's (yesterday's EC2 instance cost per hour), not the launch
    /// times'.
    pub from_cost_explorer: bool,
}

impl Burn {
    /// Adds one live instance launched at `launched` with price `p` (None: unknown).
    pub fn add(&mut self, p: Option<f64>, launched: Option<DateTime<Utc>>, now: DateTime<Utc>) {
        match p {
            Some(p) => {
                self.now += p;
                if launched.is_none_or(|l| now - l >= chrono::TimeDelta::hours(24)) {
                    self.day_ago += p;
                }
            }
            None => self.unpriced += 1,
        }
    }

    /// Sums two burns.
    pub fn plus(self, o: Burn) -> Burn {
        Burn {
            now: self.now + o.now,
            day_ago: self.day_ago + o.day_ago,
            unpriced: self.unpriced + o.unpriced,
            from_cost_explorer: self.from_cost_explorer || o.from_cost_explorer,
        }
    }

    /// Change against 24 h ago as a ratio (`5.4` is +540 %); None when nothing ran then.
    pub fn change_24h(self) -> Option<f64> {
        (self.day_ago > 0.0).then(|| self.now / self.day_ago - 1.0)
    }

    /// `$412/h (+540 % vs 24 h)`, `$3.06/h (nothing ran 24 h ago)`: the burn with its change,
    /// as the header and alerts word it.
    pub fn label(self) -> String {
        let now = format!("{}/h", usd(self.now));
        match self.change_24h() {
            Some(c) => format!("{now} ({:+.0} % vs 24 h)", c * 100.0),
            None if self.now > 0.0 => format!("{now} (nothing ran 24 h ago)"),
            None => now,
        }
    }

    /// A spike: more than `ratio` times the burn of 24 h ago, and at least $1/h more (a
    /// fleet that ran nothing a day ago spikes once it burns $1/h).
    pub fn is_spike(self, ratio: f64) -> bool {
        self.now - self.day_ago >= 1.0 && self.now > ratio * self.day_ago
    }
}

/// One day of an account's bill from Cost Explorer (unblended).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyCost {
    /// The UTC day.
    pub day: chrono::NaiveDate,
    /// Dollars, every service.
    pub total: f64,
    /// Dollars of EC2 instance hours (`Amazon Elastic Compute Cloud - Compute`).
    pub compute: f64,
    /// Cost Explorer still estimates the day.
    pub estimated: bool,
}

/// A cost anomaly Cost Explorer's anomaly detection found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostAnomaly {
    /// Its id.
    pub id: String,
    /// The day it started (`YYYY-MM-DD`).
    pub start: String,
    /// The day it ended; None while it goes on.
    pub end: Option<String>,
    /// Dollars above the expected spend so far.
    pub impact_usd: f64,
    /// The service its first root cause names.
    pub service: Option<String>,
    /// The region its first root cause names.
    pub region: Option<String>,
}

/// One account's Cost Explorer figures (`[settings] cost_explorer = true`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AccountCosts {
    /// The last days, oldest first.
    pub daily: Vec<DailyCost>,
    /// Anomalies still open (no end date), or that ended today or yesterday.
    pub anomalies: Vec<CostAnomaly>,
}

impl AccountCosts {
    /// What EC2 instances cost per hour on the day before yesterday (or the last day before
    /// it Cost Explorer has, within [`CE_DAYS_BACK`] days): yesterday's bill is
    /// still coming in. Cost Explorer calls every day of an open month estimated, so that flag
    /// is not a test.
    pub fn compute_per_hour_before(&self, today: chrono::NaiveDate) -> Option<f64> {
        let last = today - chrono::TimeDelta::days(2);
        let oldest = today - chrono::TimeDelta::days(CE_DAYS_BACK);
        self.daily
            .iter()
            .rev()
            .find(|d| d.day <= last && d.day >= oldest)
            .map(|d| d.compute / 24.0)
            .filter(|v| *v > 0.0)
    }
}

/// Oldest day (in days before today) Cost Explorer's EC2 cost may stand for "24 hours ago".
pub const CE_DAYS_BACK: i64 = 4;

/// `$0.0116`, `$1.23`, `$412`: dollars with the precision their size needs.
pub fn usd(v: f64) -> String {
    if v < 0.1 {
        format!("${v:.4}")
    } else if v < 100.0 {
        format!("${v:.2}")
    } else {
        format!("${v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn platform_details_map_to_price_list_values_or_unknown() {
        let table = [
            (None, Some(("Linux", "NA")), Some("Linux/UNIX")),
            (
                Some("Linux/UNIX"),
                Some(("Linux", "NA")),
                Some("Linux/UNIX"),
            ),
            (Some("Windows"), Some(("Windows", "NA")), Some("Windows")),
            (
                Some("Windows with SQL Server Enterprise"),
                Some(("Windows", "SQL Ent")),
                None,
            ),
            (
                Some("Red Hat Enterprise Linux"),
                Some(("RHEL", "NA")),
                Some("Red Hat Enterprise Linux"),
            ),
            (Some("Red Hat BYOL Linux"), None, None),
        ];
        for (details, list, spot) in table {
            let p = Platform::from_details(details);
            assert_eq!(
                (p.price_list(), p.spot_product()),
                (list, spot),
                "{details:?}"
            );
        }
        assert_eq!(Tenancy::parse(Some("host")).price_list(), None);
        assert_eq!(Tenancy::parse(None).price_list(), Some("Shared"));
    }

    #[test]
    fn burn_counts_what_ran_a_day_ago_and_spikes_past_the_ratio() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
        let old = Some(now - chrono::TimeDelta::days(3));
        let fresh = Some(now - chrono::TimeDelta::hours(2));
        let mut b = Burn::default();
        b.add(Some(1.0), old, now);
        b.add(Some(3.06), fresh, now);
        b.add(None, fresh, now);
        assert_eq!((b.day_ago, b.unpriced), (1.0, 1));
        assert!((b.change_24h().unwrap() - 3.06).abs() < 1e-9);
        assert!(b.is_spike(2.0));
        assert!(!b.is_spike(5.0));
        // Nothing a day ago: no ratio, a spike only from $1/h up.
        let mut n = Burn::default();
        n.add(Some(0.5), fresh, now);
        assert_eq!(n.change_24h(), None);
        assert!(!n.is_spike(2.0));
        n.add(Some(0.5), fresh, now);
        assert!(n.is_spike(2.0));
        assert_eq!(usd(0.0116), "$0.0116");
        assert_eq!(usd(3.06), "$3.06");
        assert_eq!(usd(412.4), "$412");
    }
}
