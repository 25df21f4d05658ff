//! DescribeAccountLimits: the ELBv2 quotas of an account, AWS's defaults. The ones cloudbox
//! enforces (load balancers per type, listeners per load balancer, rules per load balancer,
//! target groups, targets per group, target groups per action, condition values per rule,
//! certificates per listener) answer with the same numbers their errors use.

use super::{page, page_window};
use crate::error::AwsResult;
use crate::region::RegionState;
use serde_json::{json, Value};

/// (name, maximum) as AWS lists them.
const LIMITS: &[(&str, u32)] = &[
    ("application-load-balancers", 50),
    ("condition-values-per-alb-rule", 5),
    ("condition-wildcards-per-alb-rule", 5),
    ("gateway-load-balancers", 100),
    ("gateway-load-balancers-per-vpc", 100),
    ("geneve-target-groups", 100),
    ("listeners-per-application-load-balancer", 50),
    ("listeners-per-network-load-balancer", 50),
    ("network-load-balancer-enis-per-vpc", 1200),
    ("network-load-balancers", 50),
    ("rules-per-application-load-balancer", 100),
    ("target-groups", 3000),
    ("target-groups-per-action-on-application-load-balancer", 5),
    ("target-groups-per-action-on-network-load-balancer", 1),
    ("target-groups-per-application-load-balancer", 100),
    ("targets-per-application-load-balancer", 1000),
    (
        "targets-per-availability-zone-per-gateway-load-balancer",
        300,
    ),
    (
        "targets-per-availability-zone-per-network-load-balancer",
        500,
    ),
    ("targets-per-network-load-balancer", 3000),
];

/// DescribeAccountLimits.
pub fn describe_account_limits(_st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let (offset, size) = page_window(input)?;
    let items = LIMITS
        .iter()
        .map(|(n, m)| json!({"Name": n, "Max": m.to_string()}))
        .collect();
    let (items, next) = page(items, offset, size)?;
    let mut out = json!({"Limits": items});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}
