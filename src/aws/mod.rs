//! The one AWS layer the feeds and triage both use: regional clients, credentials and verified
//! identity, and typed errors. Neither side imports the other.

pub mod convert;
pub mod creds;
pub mod error;
pub mod limit;
pub mod org;

use std::sync::Arc;

use aws_config::Region;

use crate::config::Config;
use crate::model::Scope;
pub use creds::{Connected, MfaPrompt, TerminalPrompt};
use error::describe;
pub use error::{AwsError, ErrorKind};

/// Connected AWS accounts by id, filled in by the AWS source as accounts connect (triage and
/// lookups find their credentials here).
pub type Accounts = Arc<std::sync::Mutex<std::collections::HashMap<String, Connected>>>;

/// Where a partition's global services (the Price List, Cost Explorer) answer; None for a
/// partition without them.
pub fn global_region(partition: &str) -> Option<&'static str> {
    match partition {
        "aws" => Some("us-east-1"),
        "aws-cn" => Some("cn-northwest-1"),
        _ => None,
    }
}

/// Regional clients of one account x region.
#[derive(Clone, Debug)]
pub struct Clients {
    /// Account x region.
    pub scope: Scope,
    /// EC2.
    pub ec2: aws_sdk_ec2::Client,
    /// CloudWatch.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// GuardDuty.
    pub guardduty: aws_sdk_guardduty::Client,
    /// CloudTrail (event history lookups).
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    /// ECS.
    pub ecs: aws_sdk_ecs::Client,
    /// Paces this scope's EC2 describe calls (shared by its feeds).
    pub ec2_bucket: Arc<limit::TokenBucket>,
    /// The Price List API in its home region for this region's partition (None: the partition
    /// has none).
    pub pricing: Option<aws_sdk_pricing::Client>,
    /// Cost Explorer in its home region for this region's partition (None: none there).
    pub costexplorer: Option<aws_sdk_costexplorer::Client>,
    /// The account's custom endpoint (tests, emulators), when it has one: prices it answers are
    /// never saved with AWS's.
    pub endpoint: Option<String>,
}

impl Clients {
    /// Clients for `region` sharing the account's credentials.
    pub fn new(acct: &Connected, region: &str) -> Self {
        let r = Region::new(region.to_string());
        Clients {
            scope: Scope::new(&acct.account_id, region),
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(&acct.sdk)
                    .interceptor(crate::diag::CallLog)
                    .region(r.clone())
                    .build(),
            ),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(&acct.sdk)
                    .interceptor(crate::diag::CallLog)
                    .region(r.clone())
                    .build(),
            ),
            guardduty: aws_sdk_guardduty::Client::from_conf(
                aws_sdk_guardduty::config::Builder::from(&acct.sdk)
                    .interceptor(crate::diag::CallLog)
                    .region(r.clone())
                    .build(),
            ),
            cloudtrail: aws_sdk_cloudtrail::Client::from_conf(
                aws_sdk_cloudtrail::config::Builder::from(&acct.sdk)
                    .interceptor(crate::diag::CallLog)
                    .region(r.clone())
                    .build(),
            ),
            ecs: aws_sdk_ecs::Client::from_conf(
                aws_sdk_ecs::config::Builder::from(&acct.sdk)
                    .interceptor(crate::diag::CallLog)
                    .region(r)
                    .build(),
            ),
            ec2_bucket: Arc::new(limit::TokenBucket::ec2()),
            pricing: global_region(crate::config::region_partition(region)).map(|home| {
                aws_sdk_pricing::Client::from_conf(
                    aws_sdk_pricing::config::Builder::from(&acct.sdk)
                        .interceptor(crate::diag::CallLog)
                        .region(Region::new(home))
                        .build(),
                )
            }),
            costexplorer: global_region(crate::config::region_partition(region)).map(|home| {
                aws_sdk_costexplorer::Client::from_conf(
                    aws_sdk_costexplorer::config::Builder::from(&acct.sdk)
                        .interceptor(crate::diag::CallLog)
                        .region(Region::new(home))
                        .build(),
                )
            }),
            // The environment can point the Price List elsewhere without the account saying so.
            endpoint: acct.sdk.endpoint_url().map(str::to_string).or_else(|| {
                [
                    "AWS_ENDPOINT_URL_PRICING",
                    "AWS_ENDPOINT_URL_EC2",
                    "AWS_ENDPOINT_URL",
                ]
                .into_iter()
                .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
            }),
        }
    }
}

/// Accounts connected at once (STS has a request budget too).
const CONNECT_CONCURRENCY: usize = 32;

/// Connects every account, at most [`CONNECT_CONCURRENCY`] at once, in config order;
/// failures come back as (config index, error).
pub async fn connect_all(
    config: &Config,
    prompt: Arc<dyn MfaPrompt>,
) -> Vec<Result<Connected, (usize, AwsError)>> {
    use futures::StreamExt;
    let futs = config.accounts.iter().enumerate().map(|(i, a)| {
        let prompt = prompt.clone();
        async move {
            creds::connect(a, &config.settings, prompt)
                .await
                .map_err(|e| (i, e))
        }
    });
    futures::stream::iter(futs)
        .buffered(CONNECT_CONCURRENCY)
        .collect()
        .await
}

/// Lists the regions enabled for the account (for `regions = "all"`).
pub async fn enabled_regions(client: &aws_sdk_ec2::Client) -> Result<Vec<String>, AwsError> {
    let out = client
        .describe_regions()
        .send()
        .await
        .map_err(|e| describe("DescribeRegions", &e))?;
    let mut v: Vec<String> = out
        .regions()
        .iter()
        .filter(|r| r.opt_in_status() != Some("not-opted-in"))
        .filter_map(|r| r.region_name().map(str::to_string))
        .collect();
    v.sort();
    Ok(v)
}
