//! Subnets and their address books: CreateSubnet, DeleteSubnet, DescribeSubnets,
//! ModifySubnetAttribute. Private IPv4 allocation lives in `ec2::domain::addresses`.
//!
//! Rules: the block must be a /16–/28 inside the VPC and overlap no other subnet
//! (`InvalidSubnet.Range`, `InvalidSubnet.Conflict`); AWS reserves the first four addresses and
//! the last; `AvailableIpAddressCount` is exact and never negative: a request for more addresses
//! than are free fails whole with `InsufficientFreeAddressesInSubnet`. Free addresses are picked
//! by the seeded generator (AWS picks them at random too), so runs are reproducible.

use super::cidr::Cidr;
use super::filter::{self, Filterable, PageLimits};
use super::input::{check_tag_spec_types, tag_specs, Input};
use super::state::{RegionState, Subnet, Tags};
use crate::aws_err;
use crate::error::AwsResult;
use crate::members::ec2 as m;
use serde_json::{json, Value};

// Re-export for code written against the old path; new code uses ec2::domain.
pub use super::domain::addresses::{allocate_ips, check_free_ip, claim_ip, exhausted, release_ips};
// Re-export for code written against the old path; new code uses ec2::domain.
pub use super::domain::lookup::get_subnet;

struct SubnetView<'a>(&'a Subnet, Option<&'a Tags>, &'a RegionState);

impl Filterable for SubnetView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let s = self.0;
        Some(match name {
            "subnet-id" => vec![s.id.clone()],
            "vpc-id" | "vpcId" => vec![s.vpc_id.clone()],
            "cidr-block" | "cidr" | "cidrBlock" => vec![s.cidr.to_string()],
            "availability-zone" | "availabilityZone" => vec![s.az.clone()],
            "availability-zone-id" | "availabilityZoneId" => vec![s.az_id.clone()],
            "available-ip-address-count" => vec![s.available().to_string()],
            "default-for-az" | "defaultForAz" => vec![s.default_for_az.to_string()],
            "map-public-ip-on-launch" => vec![s.map_public_ip.to_string()],
            "state" => vec!["available".into()],
            "owner-id" => vec![self.2.account.clone()],
            "subnet-arn" => vec![subnet_arn(self.2, &s.id)],
            _ => return None,
        })
    }
    fn tags(&self) -> Option<&Tags> {
        self.1
    }
}

fn subnet_arn(st: &RegionState, id: &str) -> String {
    st.arn("ec2", &format!("subnet/{id}"))
}

/// A subnet as the `Subnet` shape.
pub fn subnet_json(st: &RegionState, s: &Subnet) -> Value {
    json!({
        "SubnetId": s.id,
        "SubnetArn": subnet_arn(st, &s.id),
        "VpcId": s.vpc_id,
        "CidrBlock": s.cidr.to_string(),
        "AvailabilityZone": s.az,
        "AvailabilityZoneId": s.az_id,
        "AvailableIpAddressCount": s.available(),
        "DefaultForAz": s.default_for_az,
        "MapPublicIpOnLaunch": s.map_public_ip,
        "MapCustomerOwnedIpOnLaunch": false,
        "State": "available",
        "OwnerId": st.account,
        "AssignIpv6AddressOnCreation": false,
        "Ipv6CidrBlockAssociationSet": [],
        "EnableDns64": false,
        "Ipv6Native": false,
        "PrivateDnsNameOptionsOnLaunch": {
            "HostnameType": "ip-name",
            "EnableResourceNameDnsARecord": false,
            "EnableResourceNameDnsAAAARecord": false,
        },
        "Tags": filter::tag_list(st.tags.get(&s.id)),
    })
}

/// CreateSubnet.
pub fn create_subnet(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    check_tag_spec_types(input, &["subnet"])?;
    let vpc_id = input.req_str(m::VpcId)?;
    let vpc_cidr = st.vpc(vpc_id)?.cidr;
    let raw = input.req_str(m::CidrBlock)?;
    let cidr = Cidr::parse(raw).ok_or_else(|| {
        aws_err!(
            InvalidParameterValue,
            "Value ({raw}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
        )
    })?;
    if !(16..=28).contains(&cidr.prefix) || !vpc_cidr.contains(&cidr) {
        return Err(aws_err!(InvalidSubnetRange, "The CIDR '{raw}' is invalid."));
    }
    if st
        .subnets
        .values()
        .any(|s| s.vpc_id == vpc_id && s.cidr.overlaps(&cidr))
    {
        return Err(aws_err!(
            InvalidSubnetConflict,
            "The CIDR '{raw}' conflicts with another subnet"
        ));
    }
    let region = st.region;
    let az = match (
        input.opt_str(m::AvailabilityZone),
        input.opt_str(m::AvailabilityZoneId),
    ) {
        (Some(_), Some(_)) => {
            return Err(aws_err!(
                InvalidParameterCombination,
                "Only one of AvailabilityZone or AvailabilityZoneId may be specified."
            ))
        }
        (Some(name), None) => region.az(name),
        (None, Some(id)) => region.az_by_id(id),
        (None, None) => {
            let i = st.ids.below(region.azs.len() as u64) as usize;
            region.azs.get(i)
        }
    };
    let Some(az) = az else {
        let given = input
            .opt_str(m::AvailabilityZone)
            .or(input.opt_str(m::AvailabilityZoneId))
            .unwrap_or_default();
        let names: Vec<&str> = region.azs.iter().map(|a| a.name.as_str()).collect();
        return Err(aws_err!(
            InvalidParameterValue,
            "Value ({given}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: {}.",
            names.join(", ")
        ));
    };
    let tags = tag_specs(input, "subnet")?;
    let id = st.new_id("subnet");
    st.subnets.insert(
        id.clone(),
        Subnet {
            id: id.clone(),
            vpc_id: vpc_id.to_string(),
            cidr,
            az: az.name.clone(),
            az_id: az.id.clone(),
            default_for_az: false,
            map_public_ip: false,
            used: Default::default(),
        },
    );
    st.add_tags(&id, tags);
    Ok(json!({"Subnet": subnet_json(st, &st.subnets[&id])}))
}

/// DeleteSubnet: refused while ENIs (instances, NAT gateways) use it.
pub fn delete_subnet(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::SubnetId)?;
    let s = st.subnet(id)?;
    if !s.used.is_empty() || st.enis.values().any(|e| e.subnet_id == id) {
        return Err(aws_err!(
            DependencyViolation,
            "The subnet '{id}' has dependencies and cannot be deleted."
        ));
    }
    for rt in st.route_tables.values_mut() {
        rt.associations
            .retain(|a| a.subnet_id.as_deref() != Some(id));
    }
    st.subnets.remove(id);
    st.tags.remove(id);
    Ok(json!({}))
}

/// DescribeSubnets.
pub fn describe_subnets(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let ids = input.str_list(m::SubnetIds);
    for id in &ids {
        st.subnet(id)?;
    }
    filter::describe(
        input,
        "Subnets",
        PageLimits {
            min: 5,
            max: 1000,
            default: None,
        },
        st.subnets.values().filter(|s| filter::wanted(&ids, &s.id)),
        |s| SubnetView(s, st.tags.get(&s.id), st),
        |s| subnet_json(st, s),
    )
}

/// ModifySubnetAttribute (`MapPublicIpOnLaunch`).
pub fn modify_subnet_attribute(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::SubnetId)?.to_string();
    st.subnet(&id)?;
    let map_public = input
        .obj(m::MapPublicIpOnLaunch)
        .and_then(|v| v.opt_bool(m::Value));
    if let (Some(v), Some(s)) = (map_public, st.subnets.get_mut(&id)) {
        s.map_public_ip = v;
    }
    Ok(json!({}))
}
