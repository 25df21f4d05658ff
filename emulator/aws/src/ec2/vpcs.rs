//! VPCs: CreateVpc, DeleteVpc, DescribeVpcs, Modify/DescribeVpcAttribute, and the account's
//! default VPC (172.31.0.0/16 with a /20 default subnet per AZ, an attached internet gateway,
//! a main route table and a default security group), which every region starts with as in AWS.

use super::cidr::Cidr;
use super::domain::{new_default_group, new_main_route_table, rt_route};
use super::filter::{self, Filterable, PageLimits};
use super::input::{check_tag_spec_types, tag_specs, Input};
use super::state::{InternetGateway, RegionState, Subnet, Tags, Vpc};
use crate::aws_err;
use crate::error::AwsResult;
use crate::members::ec2 as m;
use serde_json::{json, Value};

// Re-export for code written against the old path; new code uses ec2::domain.
pub use super::domain::lookup::get_vpc;

struct VpcView<'a>(&'a Vpc, Option<&'a Tags>, &'a str);

impl Filterable for VpcView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let v = self.0;
        Some(match name {
            "vpc-id" => vec![v.id.clone()],
            "cidr" | "cidr-block-association.cidr-block" | "cidrBlock" => vec![v.cidr.to_string()],
            "state" => vec!["available".into()],
            "is-default" | "isDefault" => vec![v.is_default.to_string()],
            "owner-id" => vec![self.2.to_string()],
            "dhcp-options-id" => vec![v.dhcp_options_id.clone()],
            "instance-tenancy" => vec![v.tenancy.clone()],
            "cidr-block-association.state" => vec!["associated".into()],
            _ => return None,
        })
    }
    fn tags(&self) -> Option<&Tags> {
        self.1
    }
}

fn vpc_json(st: &RegionState, v: &Vpc) -> Value {
    json!({
        "VpcId": v.id,
        "CidrBlock": v.cidr.to_string(),
        "DhcpOptionsId": v.dhcp_options_id,
        "State": "available",
        "OwnerId": st.account,
        "InstanceTenancy": v.tenancy,
        "IsDefault": v.is_default,
        "CidrBlockAssociationSet": [{
            "AssociationId": format!("vpc-cidr-assoc-{}", &v.id[4..]),
            "CidrBlock": v.cidr.to_string(),
            "CidrBlockState": {"State": "associated"},
        }],
        "Tags": filter::tag_list(st.tags.get(&v.id)),
    })
}

/// Creates a VPC with its main route table and default security group.
pub fn insert_vpc(st: &mut RegionState, cidr: Cidr, is_default: bool, tenancy: &str) -> String {
    let id = st.new_id("vpc");
    let dhcp = format!("dopt-{}", &st.new_id("x")[2..]);
    st.vpcs.insert(
        id.clone(),
        Vpc {
            id: id.clone(),
            cidr,
            is_default,
            dns_support: true,
            dns_hostnames: is_default,
            tenancy: tenancy.to_string(),
            dhcp_options_id: dhcp,
        },
    );
    new_main_route_table(st, &id, cidr);
    new_default_group(st, &id);
    id
}

/// The default VPC of a new account/region.
pub fn create_default_vpc(st: &mut RegionState) {
    let Some(cidr) = Cidr::parse("172.31.0.0/16") else {
        return;
    };
    let vpc_id = insert_vpc(st, cidr, true, "default");
    let igw = st.new_id("igw");
    st.igws.insert(
        igw.clone(),
        InternetGateway {
            id: igw.clone(),
            vpc_id: Some(vpc_id.clone()),
        },
    );
    if let Some(main) = st
        .route_tables
        .values_mut()
        .find(|r| r.vpc_id == vpc_id && r.associations.iter().any(|a| a.main))
    {
        main.routes
            .push(rt_route("0.0.0.0/0", Some(igw), None, "CreateRoute"));
    }
    let azs: Vec<(String, String)> = st
        .region
        .azs
        .iter()
        .map(|a| (a.name.clone(), a.id.clone()))
        .collect();
    for (i, (az, az_id)) in azs.into_iter().enumerate() {
        let id = st.new_id("subnet");
        st.subnets.insert(
            id.clone(),
            Subnet {
                id,
                vpc_id: vpc_id.clone(),
                cidr: Cidr {
                    base: cidr.base + ((i as u32) << 12),
                    prefix: 20,
                },
                az,
                az_id,
                default_for_az: true,
                map_public_ip: true,
                used: Default::default(),
            },
        );
    }
}

/// CreateVpc.
pub fn create_vpc(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    check_tag_spec_types(input, &["vpc"])?;
    let raw = input.req_str(m::CidrBlock)?;
    let cidr = Cidr::parse(raw).ok_or_else(|| {
        aws_err!(
            InvalidParameterValue,
            "Value ({raw}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
        )
    })?;
    if !(16..=28).contains(&cidr.prefix) {
        return Err(aws_err!(InvalidVpcRange, "The CIDR '{raw}' is invalid."));
    }
    let tenancy = input.opt_str(m::InstanceTenancy).unwrap_or("default");
    if !["default", "dedicated"].contains(&tenancy) {
        return Err(aws_err!(
            InvalidParameterValue,
            "Value ({tenancy}) for parameter instanceTenancy is invalid."
        ));
    }
    let tags = tag_specs(input, "vpc")?;
    let id = insert_vpc(st, cidr, false, tenancy);
    st.add_tags(&id, tags);
    let vpc = &st.vpcs[&id];
    Ok(json!({"Vpc": vpc_json(st, vpc)}))
}

/// DeleteVpc: refused with `DependencyViolation` while subnets, attached gateways, ENIs,
/// non-default security groups or non-main route tables remain.
pub fn delete_vpc(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::VpcId)?;
    st.vpc(id)?;
    let busy = st.subnets.values().any(|s| s.vpc_id == id)
        || st.igws.values().any(|g| g.vpc_id.as_deref() == Some(id))
        || st.enis.values().any(|e| e.vpc_id == id)
        || st
            .security_groups
            .values()
            .any(|g| g.vpc_id == id && g.name != "default")
        || st
            .route_tables
            .values()
            .any(|r| r.vpc_id == id && !r.associations.iter().any(|a| a.main));
    if busy {
        return Err(aws_err!(
            DependencyViolation,
            "The vpc '{id}' has dependencies and cannot be deleted."
        ));
    }
    let owned: Vec<String> = st
        .route_tables
        .values()
        .filter(|r| r.vpc_id == id)
        .map(|r| r.id.clone())
        .chain(
            st.security_groups
                .values()
                .filter(|g| g.vpc_id == id)
                .map(|g| g.id.clone()),
        )
        .collect();
    for o in owned {
        st.route_tables.remove(&o);
        st.security_groups.remove(&o);
        st.tags.remove(&o);
    }
    st.vpcs.remove(id);
    st.tags.remove(id);
    Ok(json!({}))
}

/// DescribeVpcs.
pub fn describe_vpcs(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let ids = input.str_list(m::VpcIds);
    for id in &ids {
        st.vpc(id)?;
    }
    filter::describe(
        input,
        "Vpcs",
        PageLimits {
            min: 5,
            max: 1000,
            default: None,
        },
        st.vpcs.values().filter(|v| filter::wanted(&ids, &v.id)),
        |v| VpcView(v, st.tags.get(&v.id), &st.account),
        |v| vpc_json(st, v),
    )
}

/// ModifyVpcAttribute (`EnableDnsSupport`, `EnableDnsHostnames`; one per call).
pub fn modify_vpc_attribute(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::VpcId)?.to_string();
    st.vpc(&id)?;
    let support = input
        .obj(m::EnableDnsSupport)
        .and_then(|v| v.opt_bool(m::Value));
    let hostnames = input
        .obj(m::EnableDnsHostnames)
        .and_then(|v| v.opt_bool(m::Value));
    if support.is_some() == hostnames.is_some() {
        return Err(aws_err!(
            InvalidParameterCombination,
            "Exactly one attribute must be specified per request."
        ));
    }
    let vpc = st.vpc_mut(&id)?;
    if let Some(s) = support {
        vpc.dns_support = s;
    }
    if let Some(h) = hostnames {
        vpc.dns_hostnames = h;
    }
    Ok(json!({}))
}

/// DescribeVpcAttribute.
pub fn describe_vpc_attribute(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::VpcId)?;
    let vpc = st.vpc(id)?;
    match input.req_str(m::Attribute)? {
        "enableDnsSupport" => {
            Ok(json!({"VpcId": id, "EnableDnsSupport": {"Value": vpc.dns_support}}))
        }
        "enableDnsHostnames" => {
            Ok(json!({"VpcId": id, "EnableDnsHostnames": {"Value": vpc.dns_hostnames}}))
        }
        other => Err(aws_err!(
            InvalidParameterValue,
            "Value ({other}) for parameter attribute is invalid. Unknown attribute."
        )),
    }
}
