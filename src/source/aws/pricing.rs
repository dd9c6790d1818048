//! Pricing feed: the on-demand price of every (instance type, platform, tenancy) in use, from
//! the Price List API (GetProducts in its home region), and the Spot price of a Spot instance's
//! AZ (DescribeSpotPriceHistory). Each price is asked once and kept in a [`PriceBook`] shared by
//! every scope and saved in the XDG cache dir with its date; on-demand prices are asked again
//! the next UTC day, Spot prices after an hour. When AWS cannot be asked, the last cached price
//! is used and says so; with none, the price is unknown and says why.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_pricing::types::{Filter, FilterType};
use chrono::{DateTime, TimeDelta, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::ec2::Shared;
use crate::aws::Clients;
use crate::aws::error::describe;
use crate::feed::{Data, Feed, FeedError, PRICING, Polled};
use crate::model::price::{PriceKey, Quote};
use crate::model::{Instance, Scope};

/// The feed's name in every layer.
pub const NAME: &str = PRICING;

/// How long a Spot price is used before it is asked again.
const SPOT_FRESH: TimeDelta = TimeDelta::hours(1);

/// One saved price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Saved {
    /// Dollars per hour; None: AWS gave no single price (see `note`).
    usd_per_hour: Option<f64>,
    /// When AWS said so.
    as_of: DateTime<Utc>,
    /// Why there is no price (products that disagree); None: no such product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

/// The prices known to this process, by `origin|region|key label` (a Spot price's region is
/// `account/region`), saved to disk after each poll that learnt one of AWS's.
#[derive(Debug, Default)]
pub struct PriceBook {
    /// The cache file (None: memory only).
    path: Option<PathBuf>,
    entries: Mutex<BTreeMap<String, Saved>>,
    /// Keys some scope is asking AWS about right now: the others wait for the answer in the book,
    /// so a price is asked once and no lock is held across a call.
    asking: Mutex<std::collections::HashSet<String>>,
    /// AWS's own prices were recorded since the last save.
    unsaved: std::sync::atomic::AtomicBool,
    /// Held while the file is written and renamed: two scopes never save at once.
    saving: Mutex<()>,
}

/// How long a scope waits for another scope asking AWS for the same price, and how often it
/// looks.
const ASK_WAIT: Duration = Duration::from_secs(30);
const ASK_POLL: Duration = Duration::from_millis(50);

/// Days a saved price is kept (and used, saying its date, while AWS cannot be asked).
const KEEP_DAYS: i64 = 30;

/// A cached Spot price older than this is not used: Spot prices move.
const SPOT_CACHED_MAX: TimeDelta = TimeDelta::hours(24);

/// The origin of AWS's own prices in the book's keys.
const AWS: &str = "aws|";

/// The cache file: `$XDG_CACHE_HOME/watchfloor/prices.json`.
pub fn default_path() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("watchfloor").join("prices.json"))
}

impl PriceBook {
    /// A book backed by `path`, loaded from it when it exists (an unreadable or corrupt cache
    /// is set aside with a warning in the log: prices are asked again).
    pub fn open(path: Option<PathBuf>) -> Arc<PriceBook> {
        let entries = path
            .as_ref()
            .and_then(|p| match std::fs::read(p) {
                Ok(bytes) => match serde_json::from_slice(&bytes) {
                    Ok(e) => Some(e),
                    Err(e) => {
                        tracing::warn!(path = %p.display(), "price cache unreadable, ignored: {e}");
                        None
                    }
                },
                Err(_) => None,
            })
            .unwrap_or_default();
        Arc::new(PriceBook {
            path,
            entries: Mutex::new(entries),
            asking: Mutex::default(),
            unsaved: Default::default(),
            saving: Mutex::default(),
        })
    }

    /// `aws|us-east-1|m5.large linux shared`; a custom endpoint's prices are keyed by it.
    fn key(origin: &str, region: &str, k: &PriceKey) -> String {
        format!("{origin}|{region}|{}", k.label())
    }

    fn get(&self, origin: &str, region: &str, k: &PriceKey) -> Option<Saved> {
        self.entries
            .lock()
            .ok()?
            .get(&Self::key(origin, region, k))
            .cloned()
    }

    /// Claims `key` for this scope to ask about; None when another scope is asking. The claim
    /// is given back when dropped, also when the poll is cancelled mid-request.
    fn claim(&self, key: &str) -> Option<Claim<'_>> {
        let new = self
            .asking
            .lock()
            .map(|mut a| a.insert(key.to_string()))
            .unwrap_or(false);
        new.then(|| Claim {
            book: self,
            key: key.to_string(),
        })
    }

    /// Records what AWS said (scopes waiting for it see it at once).
    fn record(&self, key: String, saved: Saved) {
        if key.starts_with(AWS) {
            self.unsaved
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if let Ok(mut e) = self.entries.lock() {
            e.insert(key, saved);
        }
    }

    /// Saves the book when AWS's own prices were recorded since the last save (a failed save is
    /// logged; memory keeps it). Entries older than [`KEEP_DAYS`] are dropped.
    fn save(&self) {
        if !self
            .unsaved
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        let Ok(_saving) = self.saving.lock() else {
            return;
        };
        let Ok(mut e) = self.entries.lock() else {
            return;
        };
        let cutoff = Utc::now() - TimeDelta::days(KEEP_DAYS);
        e.retain(|_, s| s.as_of > cutoff);
        let Some(path) = self.path.as_ref() else {
            return;
        };
        // Only AWS's own prices are saved: an emulator's would be taken for them later.
        let aws: BTreeMap<&String, &Saved> = e.iter().filter(|(k, _)| k.starts_with(AWS)).collect();
        let json = match serde_json::to_vec_pretty(&aws) {
            Ok(j) => j,
            Err(_) => return,
        };
        drop(e);
        // One temporary file per process: a console and a snapshot may save at once.
        let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        let saved = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&tmp, json))
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = saved {
            tracing::warn!(path = %path.display(), "price cache not saved: {e}");
        }
    }
}

/// A scope's claim to ask AWS for one price ([`PriceBook::claim`]).
struct Claim<'a> {
    book: &'a PriceBook,
    key: String,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Ok(mut a) = self.book.asking.lock() {
            a.remove(&self.key);
        }
    }
}

/// True when a saved price is recent enough to use without asking.
fn fresh(k: &PriceKey, s: &Saved, now: DateTime<Utc>) -> bool {
    if k.spot_az.is_some() {
        now - s.as_of < SPOT_FRESH
    } else {
        s.as_of.date_naive() == now.date_naive()
    }
}

/// The price keys of an inventory, sorted, each once.
pub fn keys_of(instances: &[Instance]) -> Vec<PriceKey> {
    let mut keys: Vec<PriceKey> = instances
        .iter()
        .filter(|i| !i.instance_type.is_empty())
        .map(PriceKey::of)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The pricing feed of one account x region.
pub struct PricingFeed {
    clients: Clients,
    interval: Duration,
    inventory: Shared,
    book: Arc<PriceBook>,
    /// What was last reported per key (only changes are sent again).
    sent: HashMap<PriceKey, Quote>,
    /// The last poll found no inventory to work from.
    waiting: bool,
}

impl PricingFeed {
    /// The feed, pricing the EC2 feed's `inventory` every `interval` through `book`.
    pub fn new(
        clients: Clients,
        interval: Duration,
        inventory: Shared,
        book: Arc<PriceBook>,
    ) -> Self {
        PricingFeed {
            clients,
            interval,
            inventory,
            book,
            sent: HashMap::new(),
            waiting: false,
        }
    }

    /// Asks AWS for one price: Ok((None, None)) when AWS has no such product, Ok((None,
    /// Some(why))) when its products disagree; Err when AWS could not be asked.
    async fn ask(&self, k: &PriceKey) -> Result<(Option<f64>, Option<String>), FeedError> {
        let region = &self.clients.scope.region;
        match &k.spot_az {
            Some(az) => {
                let Some(product) = k.platform.spot_product() else {
                    return Ok((None, None));
                };
                self.clients.ec2_bucket.take().await;
                let out = self
                    .clients
                    .ec2
                    .describe_spot_price_history()
                    .instance_types(aws_sdk_ec2::types::InstanceType::from(
                        k.instance_type.as_str(),
                    ))
                    .product_descriptions(product)
                    .availability_zone(az)
                    .start_time(aws_smithy_types::DateTime::from_secs(
                        Utc::now().timestamp(),
                    ))
                    .send()
                    .await
                    .map_err(|e| FeedError::from(describe("DescribeSpotPriceHistory", &e)))?;
                let history = out.spot_price_history().iter().filter_map(|p| {
                    Some((
                        p.availability_zone()?,
                        p.product_description()?.as_str(),
                        p.timestamp().map_or(0, |t| t.secs()),
                        p.spot_price()?,
                    ))
                });
                Ok((latest_spot(history, az, product), None))
            }
            None => {
                let (Some((os, sw)), Some(tenancy)) =
                    (k.platform.price_list(), k.tenancy.price_list())
                else {
                    return Ok((None, None));
                };
                let Some(client) = &self.clients.pricing else {
                    return Err(FeedError::local(format!(
                        "the Price List API does not serve the partition of {region}"
                    )));
                };
                let term = |field: &str, value: &str| {
                    Filter::builder()
                        .r#type(FilterType::TermMatch)
                        .field(field)
                        .value(value)
                        .build()
                        .expect("type, field and value are set")
                };
                let out = client
                    .get_products()
                    .service_code("AmazonEC2")
                    .format_version("aws_v1")
                    .max_results(10)
                    .filters(term("instanceType", &k.instance_type))
                    .filters(term("regionCode", region))
                    .filters(term("operatingSystem", os))
                    .filters(term("tenancy", tenancy))
                    .filters(term("preInstalledSw", sw))
                    .filters(term("capacitystatus", "Used"))
                    .filters(term("licenseModel", "No License required"))
                    .send()
                    .await
                    .map_err(|e| FeedError::from(describe("GetProducts", &e)))?;
                // Products that disagree make this one price unknown, not the poll failed.
                Ok(match on_demand_price(out.price_list()) {
                    Ok(p) => (p, None),
                    Err(why) => (None, Some(why)),
                })
            }
        }
    }
}

/// The newest Spot price of `az` for `product` (`Linux/UNIX` matches `Linux/UNIX (Amazon VPC)`
/// too) among (AZ, product description, epoch seconds, price) entries.
pub fn latest_spot<'a>(
    entries: impl Iterator<Item = (&'a str, &'a str, i64, &'a str)>,
    az: &str,
    product: &str,
) -> Option<f64> {
    entries
        .filter(|(a, p, _, _)| {
            *a == az && (*p == product || p.strip_prefix(product) == Some(" (Amazon VPC)"))
        })
        .filter_map(|(_, _, at, price)| Some((at, price.parse::<f64>().ok()?)))
        .filter(|(_, p)| p.is_finite() && *p >= 0.0)
        .max_by_key(|(at, _)| *at)
        .map(|(_, p)| p)
}

/// The hourly on-demand price in a GetProducts answer: Ok(None) when no product matched; an
/// error when the products disagree (never a guess).
pub fn on_demand_price(price_list: &[String]) -> Result<Option<f64>, String> {
    let mut prices: Vec<f64> = Vec::new();
    for doc in price_list {
        let v: serde_json::Value = serde_json::from_str(doc)
            .map_err(|e| format!("GetProducts: unreadable product: {e}"))?;
        let Some(terms) = v.pointer("/terms/OnDemand").and_then(|t| t.as_object()) else {
            continue;
        };
        for term in terms.values() {
            let Some(dims) = term.get("priceDimensions").and_then(|d| d.as_object()) else {
                continue;
            };
            for d in dims.values() {
                let hourly = d.get("unit").and_then(|u| u.as_str()) == Some("Hrs");
                let usd = d
                    .pointer("/pricePerUnit/USD")
                    .and_then(|u| u.as_str())
                    .and_then(|u| u.parse::<f64>().ok())
                    .filter(|u| u.is_finite() && *u >= 0.0);
                if let (true, Some(usd)) = (hourly, usd) {
                    prices.push(usd);
                }
            }
        }
    }
    prices.sort_by(f64::total_cmp);
    prices.dedup();
    match prices.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(format!(
            "the Price List has {} different hourly prices for it ({})",
            many.len(),
            many.iter()
                .map(|p| format!("${p}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

impl Feed for PricingFeed {
    fn name(&self) -> &'static str {
        NAME
    }
    fn ready(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(super::ec2::first(&mut self.inventory))
    }
    fn home(&self) -> &Scope {
        &self.clients.scope
    }
    fn interval(&self) -> Duration {
        self.interval
    }
    /// Rows stand without prices: a denied GetProducts degrades the scope.
    fn essential(&self) -> bool {
        false
    }
    fn poll(&mut self) -> BoxFuture<'_, Result<Polled, FeedError>> {
        Box::pin(async move {
            let instances = super::ec2::latest(&mut self.inventory).await;
            self.waiting = instances.is_err();
            let keys = keys_of(&instances?);
            let region = self.clients.scope.region.clone();
            let origin = self
                .clients
                .endpoint
                .clone()
                .unwrap_or_else(|| "aws".into());
            let book = self.book.clone();
            let now = Utc::now();
            let mut calls = 0;
            let mut failure: Option<FeedError> = None;
            let mut quotes = Vec::with_capacity(keys.len());
            for k in keys {
                // AZ names differ from account to account (us-east-1a is not the same zone
                // everywhere): a Spot price is the account's own.
                let place = match &k.spot_az {
                    Some(_) => format!("{}/{region}", self.clients.scope.account_id),
                    None => region.clone(),
                };
                let id = PriceBook::key(&origin, &place, &k);
                let fresh_now = || book.get(&origin, &place, &k).filter(|s| fresh(&k, s, now));
                let mut answer = fresh_now();
                // Another scope asking AWS for this price right now: wait for its answer (no lock
                // is held meanwhile), at most ASK_WAIT, then ask too.
                let mut claim = None;
                if answer.is_none() && failure.is_none() {
                    let mut waited = Duration::ZERO;
                    loop {
                        answer = fresh_now();
                        if answer.is_none() {
                            claim = book.claim(&id);
                        }
                        if answer.is_some() || claim.is_some() || waited >= ASK_WAIT {
                            break;
                        }
                        tokio::time::sleep(ASK_POLL).await;
                        waited += ASK_POLL;
                    }
                }
                let quote = match answer {
                    Some(s) => quote(&k, &s, false, None),
                    // AWS already failed this poll: do not ask again for every key.
                    None if failure.is_some() => {
                        stale_or_unknown(&k, book.get(&origin, &place, &k), failure.as_ref(), now)
                    }
                    None => {
                        let asked = self.ask(&k).await;
                        let q = match asked {
                            Ok((usd, note)) => {
                                calls += 1;
                                let s = Saved {
                                    usd_per_hour: usd,
                                    as_of: now,
                                    note,
                                };
                                book.record(id.clone(), s.clone());
                                quote(&k, &s, false, None)
                            }
                            Err(e) => {
                                calls += e.calls;
                                let q = stale_or_unknown(
                                    &k,
                                    book.get(&origin, &place, &k),
                                    Some(&e),
                                    now,
                                );
                                failure = Some(e);
                                q
                            }
                        };
                        drop(claim);
                        q
                    }
                };
                quotes.push((k, quote));
            }
            book.save();
            // Every key is priced or explained; a failure shows in the scope while the rows
            // keep the cached prices (or "unknown", with the reason).
            let changed: Vec<(PriceKey, Quote)> = quotes
                .into_iter()
                .filter(|(k, q)| self.sent.get(k) != Some(q))
                .collect();
            for (k, q) in &changed {
                self.sent.insert(k.clone(), q.clone());
            }
            Ok(Polled {
                at: now,
                data: vec![Data::Prices {
                    scope: self.clients.scope.clone(),
                    quotes: changed,
                    error: failure
                        .map(|e| format!("Price List or Spot price history: {}", e.message)),
                }],
                calls,
                metrics: 0,
                metrics_per_day: None,
            })
        })
    }
    fn retry_after(&self, err: &FeedError, failures: u32) -> Duration {
        super::ec2::dependant_retry(self.waiting, err, failures, self.interval)
    }
}

/// A quote from a saved price.
fn quote(k: &PriceKey, s: &Saved, cached: bool, why: Option<&str>) -> Quote {
    let note = match (s.usd_per_hour, why) {
        (_, Some(w)) => Some(w.to_string()),
        (None, None) if s.note.is_some() => s.note.clone(),
        (None, None) if k.tenancy.price_list().is_none() => {
            Some("a Dedicated Host is billed per host, not per instance".into())
        }
        (None, None) if k.platform.price_list().is_none() => {
            Some("its platform is not one the Price List is asked for".into())
        }
        (None, None) if k.spot_az.is_some() => Some(format!(
            "no Spot price for {} in {}",
            k.instance_type,
            k.spot_az.as_deref().unwrap_or("")
        )),
        (None, None) => Some("the Price List has no such product".into()),
        (Some(_), None) => None,
    };
    Quote {
        usd_per_hour: s.usd_per_hour,
        as_of: s.as_of,
        cached,
        note,
    }
}

/// When AWS cannot be asked: the last saved price, saying so (a Spot price only for a day);
/// else unknown with the reason.
fn stale_or_unknown(
    k: &PriceKey,
    saved: Option<Saved>,
    err: Option<&FeedError>,
    now: DateTime<Utc>,
) -> Quote {
    let why = err.map_or_else(|| "not asked".to_string(), |e| e.message.clone());
    let usable = |s: &Saved| k.spot_az.is_none() || now - s.as_of < SPOT_CACHED_MAX;
    match saved.filter(usable) {
        Some(s) => {
            let note = format!(
                "AWS could not be asked ({why}): price of {}",
                s.as_of.format("%Y-%m-%d")
            );
            quote(k, &s, true, Some(&note))
        }
        None => Quote {
            usd_per_hour: None,
            as_of: now,
            cached: false,
            note: Some(format!("unknown: {why}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(prices: &[(&str, &str)]) -> String {
        let dims: serde_json::Map<String, serde_json::Value> = prices
            .iter()
            .enumerate()
            .map(|(i, (unit, usd))| {
                (
                    format!("RATE{i}"),
                    serde_json::json!({"unit": unit, "pricePerUnit": {"USD": usd}}),
                )
            })
            .collect();
        serde_json::json!({
            "product": {"attributes": {"instanceType": "m5.large"}},
            "terms": {"OnDemand": {"TERM": {"priceDimensions": dims}}}
        })
        .to_string()
    }

    #[test]
    fn on_demand_prices_are_read_never_guessed() {
        assert_eq!(on_demand_price(&[]), Ok(None));
        assert_eq!(
            on_demand_price(&[product(&[("Hrs", "0.0960000000")])]),
            Ok(Some(0.096))
        );
        // Two products at the same price agree; a non-hourly dimension is not a price per hour.
        assert_eq!(
            on_demand_price(&[
                product(&[("Hrs", "0.096"), ("Quantity", "500")]),
                product(&[("Hrs", "0.0960")])
            ]),
            Ok(Some(0.096))
        );
        let e = on_demand_price(&[product(&[("Hrs", "0.096")]), product(&[("Hrs", "0.192")])])
            .unwrap_err();
        assert!(e.contains("2 different hourly prices"), "{e}");
        assert!(on_demand_price(&["{not json".into()]).is_err());
        assert_eq!(on_demand_price(&[product(&[("Hrs", "-1")])]), Ok(None));
    }

    #[test]
    fn the_newest_spot_price_of_the_az_and_product_wins() {
        let h = [
            ("us-east-1a", "Linux/UNIX", 100, "0.030"),
            ("us-east-1a", "Linux/UNIX (Amazon VPC)", 200, "0.035"),
            ("us-east-1b", "Linux/UNIX", 300, "0.050"),
            ("us-east-1a", "Windows", 400, "0.090"),
            ("us-east-1a", "Linux/UNIX", 500, "garbage"),
        ];
        let it = || h.iter().map(|(a, p, t, v)| (*a, *p, *t as i64, *v));
        assert_eq!(latest_spot(it(), "us-east-1a", "Linux/UNIX"), Some(0.035));
        assert_eq!(latest_spot(it(), "us-east-1a", "Windows"), Some(0.09));
        assert_eq!(latest_spot(it(), "us-east-1c", "Linux/UNIX"), None);
        assert_eq!(latest_spot(it(), "us-east-1a", "SUSE Linux"), None);
    }

    #[test]
    fn a_cached_price_is_used_with_its_date_but_not_a_day_old_spot_price() {
        let now = Utc::now();
        let err = FeedError::local("AccessDeniedException: no");
        let key = |spot: bool| PriceKey {
            instance_type: "p3.2xlarge".into(),
            platform: Default::default(),
            tenancy: Default::default(),
            spot_az: spot.then(|| "us-east-1a".into()),
        };
        let saved = |hours: i64| Saved {
            usd_per_hour: Some(3.06),
            as_of: now - TimeDelta::hours(hours),
            note: None,
        };
        let q = stale_or_unknown(&key(false), Some(saved(72)), Some(&err), now);
        assert_eq!((q.usd_per_hour, q.cached), (Some(3.06), true));
        assert!(q.note.unwrap().contains("AccessDeniedException"));
        let q = stale_or_unknown(&key(true), Some(saved(2)), Some(&err), now);
        assert_eq!(q.usd_per_hour, Some(3.06), "a Spot price of 2 h ago");
        let q = stale_or_unknown(&key(true), Some(saved(30)), Some(&err), now);
        assert_eq!(
            (q.usd_per_hour, q.cached),
            (None, false),
            "not one of 30 h ago"
        );
        assert!(
            q.note
                .unwrap()
                .starts_with("unknown: AccessDeniedException")
        );
    }

    #[test]
    fn one_scope_at_a_time_asks_for_a_price_and_a_dropped_claim_is_given_back() {
        let book = PriceBook::open(None);
        let first = book.claim("aws|us-east-1|m5.large linux shared");
        assert!(first.is_some());
        assert!(book.claim("aws|us-east-1|m5.large linux shared").is_none());
        assert!(book.claim("aws|eu-west-1|m5.large linux shared").is_some());
        // A cancelled poll drops its claim with its future.
        drop(first);
        assert!(book.claim("aws|us-east-1|m5.large linux shared").is_some());
    }

    #[test]
    fn the_book_saves_with_dates_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("prices.json");
        let k = PriceKey {
            instance_type: "m5.large".into(),
            platform: Default::default(),
            tenancy: Default::default(),
            spot_az: None,
        };
        let day = Utc::now() - TimeDelta::days(1);
        let book = PriceBook::open(Some(path.clone()));
        book.record(
            PriceBook::key("http://127.0.0.1:1", "us-east-1", &k),
            Saved {
                usd_per_hour: Some(1.0),
                as_of: day,
                note: None,
            },
        );
        book.save();
        assert!(!path.exists(), "nothing of AWS's to save");
        book.record(
            PriceBook::key("aws", "us-east-1", &k),
            Saved {
                usd_per_hour: Some(0.096),
                as_of: day,
                note: None,
            },
        );
        // Too old to keep.
        book.record(
            PriceBook::key(
                "aws",
                "us-east-1",
                &PriceKey {
                    instance_type: "t2.nano".into(),
                    ..k.clone()
                },
            ),
            Saved {
                usd_per_hour: Some(0.0058),
                as_of: day - TimeDelta::days(KEEP_DAYS),
                note: None,
            },
        );
        book.save();
        let again = PriceBook::open(Some(path.clone()));
        let s = again.get("aws", "us-east-1", &k).expect("reloaded");
        assert_eq!(s.usd_per_hour, Some(0.096));
        assert!(
            !fresh(&k, &s, Utc::now()),
            "yesterday's price is asked again"
        );
        assert!(
            again.get("aws", "eu-west-1", &k).is_none(),
            "prices are per region"
        );
        assert!(
            again.get("http://127.0.0.1:1", "us-east-1", &k).is_none(),
            "an emulator's prices are never saved"
        );
        assert!(
            book.get("http://127.0.0.1:1", "us-east-1", &k).is_some(),
            "but used"
        );
        assert!(
            again
                .get(
                    "aws",
                    "us-east-1",
                    &PriceKey {
                        instance_type: "t2.nano".into(),
                        ..k.clone()
                    }
                )
                .is_none(),
            "a price older than {KEEP_DAYS} days is dropped"
        );
        // A corrupt cache is ignored, not fatal.
        std::fs::write(&path, "{").unwrap();
        assert!(
            PriceBook::open(Some(path))
                .get("aws", "us-east-1", &k)
                .is_none()
        );
    }
}
