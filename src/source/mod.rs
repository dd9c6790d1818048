//! Fleet data sources: the AWS feeds, the simulated demo feeds, on-demand lookups, and MFA
//! prompts in the console.

pub mod aws;
pub mod demo;
pub mod lookups;
pub mod mfa;
