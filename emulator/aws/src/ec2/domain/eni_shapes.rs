//! The JSON shapes of an ENI that DescribeNetworkInterfaces and DescribeInstances share:
//! group pairs, the public-address association, the address list, and the
//! `InstanceNetworkInterface` shape.

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

/// An ENI as the `InstanceNetworkInterface` shape inside DescribeInstances.
pub fn instance_eni_json(st: &RegionState, e: &Eni) -> Value {
    let primary = e.ips.first().map(|ip| ip_to_string(*ip));
    let mut v = json!({
        "NetworkInterfaceId": e.id,
        "SubnetId": e.subnet_id,
        "VpcId": e.vpc_id,
        "Description": e.description,
        "OwnerId": st.account,
        "Status": if e.attachment.is_some() { "in-use" } else { "available" },
        "MacAddress": e.mac,
        "PrivateIpAddress": primary,
        "PrivateDnsName": primary.as_ref().map(|p| st.region.private_dns(p)),
        "SourceDestCheck": e.source_dest_check,
        "Ipv6Addresses": [],
        "InterfaceType": e.interface_type,
    });
    v["Groups"] = Value::from(group_pairs(st, &e.groups));
    v["Attachment"] = Value::from(e.attachment.as_ref().map(|a| {
        json!({
            "AttachmentId": a.id,
            "AttachTime": a.time.to_iso8601_millis(),
            "DeleteOnTermination": a.delete_on_termination,
            "DeviceIndex": a.device_index,
            "NetworkCardIndex": 0,
            "Status": a.status,
        })
    }));
    v["Association"] = Value::from(association(st, e));
    v["PrivateIpAddresses"] = Value::from(private_ips_json(st, e));
    v
}
