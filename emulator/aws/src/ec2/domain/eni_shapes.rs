//! The JSON shapes of an ENI that DescribeNetworkInterfaces and other JSON outputs share:
//! group pairs, the public-address association, the address list. (DescribeInstances writes its
//! `InstanceNetworkInterface` items through `ec2::instance_output`.)

use crate::ec2::cidr::ip_to_string;
use crate::ec2::state::{Eni, RegionState};
use serde_json::{json, Value};

/// Security groups as `GroupIdentifier` items (id and name).
pub fn group_pairs(st: &RegionState, groups: &[String]) -> Vec<Value> {
    groups
        .iter()
        .map(|g| {
            json!({
                "GroupId": g,
                "GroupName": st.security_groups.get(g).map(|s| s.name.clone()).unwrap_or_default(),
            })
        })
        .collect()
}

/// The public address of an ENI as its `Association`, if it has one.
pub fn association(st: &RegionState, e: &Eni) -> Option<Value> {
    e.public_ip.as_ref().map(|ip| {
        json!({"PublicIp": ip, "PublicDnsName": st.region.public_dns(ip), "IpOwnerId": "amazon"})
    })
}

/// The addresses of an ENI as `PrivateIpAddresses` items.
pub fn private_ips_json(st: &RegionState, e: &Eni) -> Vec<Value> {
    e.ips
        .iter()
        .enumerate()
        .map(|(i, ip)| {
            let s = ip_to_string(*ip);
            let mut v = json!({
                "Primary": i == 0,
                "PrivateIpAddress": s,
                "PrivateDnsName": st.region.private_dns(&s),
            });
            if i == 0 {
                if let Some(a) = association(st, e) {
                    v["Association"] = a;
                }
            }
            v
        })
        .collect()
}
