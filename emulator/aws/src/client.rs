//! The in-process AWS client the built-in controllers (and scenario `aws` steps) use: an
//! operation by its model name with model-shaped input, the aws CLI's JSON shape —
//!
//! ```
//! # use cloudbox_aws::{AwsClient, AwsState};
//! # use cloudbox_sim::Clock;
//! # use serde_json::json;
//! let aws = AwsClient::new(&AwsState::new(Clock::manual(), 1), "cn-northwest-1").unwrap();
//! let out = aws.call("ec2:DescribeVpcs", &json!({})).unwrap();
//! assert_eq!(out["Vpcs"][0]["IsDefault"], true);
//! let err = aws.call("ec2:AttachVolume", &json!({"VolumeId": "vol-0", "InstanceId": "i-0", "Device": "/dev/xvdf"})).unwrap_err();
//! assert_eq!(err.code.as_str(), "InvalidVolume.NotFound");
//! ```
//!
//! — through the same input checks (against the model, with the form parser's codes), handlers,
//! error codes and call log as the HTTP path, without the XML round trip and without the
//! aws-sdk crates. Output is the operation's output structure keyed by member names.

use crate::ec2::catalog::{self, Region};
use crate::error::{AwsError, AwsResult, Code};
use crate::server::AwsState;
use crate::service;
use serde_json::Value;

/// The access key the in-process client signs with unless told otherwise (default account).
pub const DEFAULT_ACCESS_KEY: &str = "AKIACLOUDBOXINPROCESS";

/// A client of one region, acting as one access key's identity. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AwsClient {
    state: AwsState,
    region: &'static Region,
    access_key: String,
}

impl AwsClient {
    /// A client of `region` (`cn-northwest-1`) with the default account's credentials.
    pub fn new(state: &AwsState, region: &str) -> AwsResult<AwsClient> {
        let region = catalog::region(region).ok_or_else(|| {
            AwsError::new(
                Code::AuthFailure,
                format!("Credential should be scoped to a valid region, not '{region}'."),
            )
        })?;
        Ok(AwsClient {
            state: state.clone(),
            region,
            access_key: DEFAULT_ACCESS_KEY.to_string(),
        })
    }

    /// The same client signing with another access key (a 12-digit key selects that account; an
    /// STS session key acts as its assumed role).
    pub fn with_access_key(mut self, access_key: &str) -> AwsClient {
        self.access_key = access_key.to_string();
        self
    }

    /// The region this client calls.
    pub fn region(&self) -> &'static str {
        self.region.name
    }

    /// Calls `service:Operation` (`ec2:AttachVolume`, `elbv2:CreateLoadBalancer`,
    /// `autoscaling:SetDesiredCapacity`, `sts:GetCallerIdentity`) with model-shaped input.
    pub fn call(&self, operation: &str, input: &Value) -> AwsResult<Value> {
        let (svc_name, op) = operation.split_once(':').ok_or_else(|| {
            AwsError::new(
                Code::InvalidAction,
                format!("'{operation}' is not of the form service:Operation (ec2:DescribeVpcs)"),
            )
        })?;
        let svc = service::by_name(svc_name).ok_or_else(|| {
            AwsError::new(
                Code::InvalidAction,
                format!(
                    "The service '{svc_name}' is not served by cloudbox (known: {}).",
                    service::all().map(|s| s.name()).join(", ")
                ),
            )
        })?;
        self.state
            .invoke(svc, &self.access_key, self.region, op, input)
    }
}
