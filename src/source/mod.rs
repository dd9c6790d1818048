//! Fleet data sources: the AWS feeds, the simulated demo feeds, and MFA prompts in the console.

pub mod aws;
pub mod demo;
pub mod mfa;
