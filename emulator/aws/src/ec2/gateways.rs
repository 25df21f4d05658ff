//! Internet gateways, Elastic IPs and NAT gateways.
//!
//! A NAT gateway takes an address of its subnet through a requester-managed ENI
//! (`interface_type = nat_gateway`) and moves pending → available, deleting → deleted on the
//! clock. A public NAT gateway needs an unassociated Elastic IP.

use super::domain::{allocate_ips, check_free_ip, claim_ip, exhausted, new_mac, release_ips};
use super::filter::{self, Filterable, PageLimits};
use super::input::{check_tag_spec_types, tag_specs, Input};
use super::state::{Address, Eni, InternetGateway, NatGateway, RegionState, Tags, Timer};
use crate::aws_err;
use crate::error::{AwsError, AwsResult};
use crate::members::ec2 as m;
use serde_json::{json, Value};

// Re-export for code written against the old path; new code uses ec2::domain.
pub use super::domain::addresses::new_public_ip;

fn igw_json(st: &RegionState, g: &InternetGateway) -> Value {
    let attachments: Vec<Value> = g
        .vpc_id
        .iter()
        .map(|v| json!({"State": "available", "VpcId": v}))
        .collect();
    json!({
        "InternetGatewayId": g.id,
        "OwnerId": st.account,
        "Attachments": attachments,
        "Tags": filter::tag_list(st.tags.get(&g.id)),
    })
}

struct IgwView<'a>(&'a InternetGateway, Option<&'a Tags>, &'a str);

impl Filterable for IgwView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        Some(match name {
            "internet-gateway-id" => vec![self.0.id.clone()],
            "attachment.vpc-id" => self.0.vpc_id.iter().cloned().collect(),
            "attachment.state" => self
                .0
                .vpc_id
                .iter()
                .map(|_| "available".to_string())
                .collect(),
            "owner-id" => vec![self.2.to_string()],
            _ => return None,
        })
    }
    fn tags(&self) -> Option<&Tags> {
        self.1
    }
}

fn get_igw<'a>(st: &'a RegionState, id: &str) -> AwsResult<&'a InternetGateway> {
    st.igws.get(id).ok_or_else(|| {
        aws_err!(
            InvalidInternetGatewayIdNotFound,
            "The internetGateway ID '{id}' does not exist"
        )
    })
}

/// CreateInternetGateway.
pub fn create_internet_gateway(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    check_tag_spec_types(input, &["internet-gateway"])?;
    let tags = tag_specs(input, "internet-gateway")?;
    let id = st.new_id("igw");
    st.igws.insert(
        id.clone(),
        InternetGateway {
            id: id.clone(),
            vpc_id: None,
        },
    );
    st.add_tags(&id, tags);
    Ok(json!({"InternetGateway": igw_json(st, &st.igws[&id])}))
}

/// DeleteInternetGateway: refused while attached.
pub fn delete_internet_gateway(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::InternetGatewayId)?;
    if get_igw(st, id)?.vpc_id.is_some() {
        return Err(aws_err!(
            DependencyViolation,
            "The internetGateway '{id}' has dependencies and cannot be deleted."
        ));
    }
    st.igws.remove(id);
    st.tags.remove(id);
    Ok(json!({}))
}

/// AttachInternetGateway: one gateway per VPC, one VPC per gateway.
pub fn attach_internet_gateway(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::InternetGatewayId)?;
    let vpc = input.req_str(m::VpcId)?;
    st.vpc(vpc)?;
    if let Some(v) = &get_igw(st, id)?.vpc_id {
        return Err(aws_err!(
            ResourceAlreadyAssociated,
            "resource {id} is already attached to network {v}"
        ));
    }
    if let Some(other) = st.igws.values().find(|g| g.vpc_id.as_deref() == Some(vpc)) {
        return Err(aws_err!(
            ResourceAlreadyAssociated,
            "network {vpc} already has an internet gateway attached ({})",
            other.id
        ));
    }
    if let Some(g) = st.igws.get_mut(id) {
        g.vpc_id = Some(vpc.to_string());
    }
    Ok(json!({}))
}

/// DetachInternetGateway: refused while the VPC has public addresses mapped.
pub fn detach_internet_gateway(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::InternetGatewayId)?;
    let vpc = input.req_str(m::VpcId)?;
    if get_igw(st, id)?.vpc_id.as_deref() != Some(vpc) {
        return Err(aws_err!(
            GatewayNotAttached,
            "resource {id} is not attached to network {vpc}"
        ));
    }
    if st
        .enis
        .values()
        .any(|e| e.vpc_id == vpc && e.public_ip.is_some())
    {
        return Err(aws_err!(
            DependencyViolation,
            "Network {vpc} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway."
        ));
    }
    if let Some(g) = st.igws.get_mut(id) {
        g.vpc_id = None;
    }
    Ok(json!({}))
}

/// DescribeInternetGateways.
pub fn describe_internet_gateways(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let ids = input.str_list(m::InternetGatewayIds);
    for id in &ids {
        get_igw(st, id)?;
    }
    filter::describe(
        input,
        "InternetGateways",
        PageLimits {
            min: 5,
            max: 1000,
            default: None,
        },
        st.igws.values().filter(|g| filter::wanted(&ids, &g.id)),
        |g| IgwView(g, st.tags.get(&g.id), &st.account),
        |g| igw_json(st, g),
    )
}

fn address_json(st: &RegionState, a: &Address) -> Value {
    let eni = a.eni_id.as_ref().and_then(|e| st.enis.get(e));
    json!({
        "AllocationId": a.allocation_id,
        "PublicIp": a.public_ip,
        "Domain": "vpc",
        "AssociationId": a.association_id,
        "NetworkInterfaceId": a.eni_id,
        "NetworkInterfaceOwnerId": eni.map(|_| st.account.clone()),
        "PrivateIpAddress": eni.and_then(|e| e.ips.first()).map(|ip| super::cidr::ip_to_string(*ip)),
        "InstanceId": eni.and_then(|e| e.attachment.as_ref()).map(|a| a.instance_id.clone()),
        "PublicIpv4Pool": "amazon",
        "NetworkBorderGroup": st.region.name,
        "Tags": filter::tag_list(st.tags.get(&a.allocation_id)),
    })
}

/// AllocateAddress (VPC domain).
pub fn allocate_address(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    check_tag_spec_types(input, &["elastic-ip"])?;
    let tags = tag_specs(input, "elastic-ip")?;
    let ip = new_public_ip(st);
    let id = st.new_id("eipalloc");
    st.public_ips.insert(ip.clone(), id.clone());
    st.addresses.insert(
        id.clone(),
        Address {
            allocation_id: id.clone(),
            public_ip: ip.clone(),
            association_id: None,
            eni_id: None,
        },
    );
    st.add_tags(&id, tags);
    Ok(json!({
        "AllocationId": id,
        "PublicIp": ip,
        "Domain": "vpc",
        "PublicIpv4Pool": "amazon",
        "NetworkBorderGroup": st.region.name,
    }))
}

fn get_address<'a>(st: &'a RegionState, id: &str) -> AwsResult<&'a Address> {
    st.addresses.get(id).ok_or_else(|| {
        aws_err!(
            InvalidAllocationIdNotFound,
            "The allocation ID '{id}' does not exist"
        )
    })
}

/// ReleaseAddress: refused while associated.
pub fn release_address(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::AllocationId)?;
    let a = get_address(st, id)?;
    if a.association_id.is_some() {
        return Err(aws_err!(
            InvalidIpAddressInUse,
            "Address {} is in use.",
            a.public_ip
        ));
    }
    let ip = a.public_ip.clone();
    st.public_ips.remove(&ip);
    st.addresses.remove(id);
    st.tags.remove(id);
    Ok(json!({}))
}

struct AddrView<'a>(&'a Address, Option<&'a Tags>);

impl Filterable for AddrView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let a = self.0;
        Some(match name {
            "allocation-id" => vec![a.allocation_id.clone()],
            "public-ip" => vec![a.public_ip.clone()],
            "domain" => vec!["vpc".into()],
            "association-id" => a.association_id.iter().cloned().collect(),
            "network-interface-id" => a.eni_id.iter().cloned().collect(),
            _ => return None,
        })
    }
    fn tags(&self) -> Option<&Tags> {
        self.1
    }
}

/// DescribeAddresses.
pub fn describe_addresses(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let ids = input.str_list(m::AllocationIds);
    for id in &ids {
        get_address(st, id)?;
    }
    let ips = input.str_list(m::PublicIps);
    let filters = filter::filters(input)?;
    let mut out = Vec::new();
    for a in st.addresses.values() {
        if (!ids.is_empty() && !ids.contains(&a.allocation_id))
            || (!ips.is_empty() && !ips.contains(&a.public_ip))
        {
            continue;
        }
        if filter::matches(&AddrView(a, st.tags.get(&a.allocation_id)), &filters)? {
            out.push(address_json(st, a));
        }
    }
    Ok(json!({"Addresses": out}))
}

fn nat_json(st: &RegionState, n: &NatGateway) -> Value {
    let eni = st.enis.get(&n.eni_id);
    let address = n.allocation_id.as_ref().and_then(|a| st.addresses.get(a));
    json!({
        "NatGatewayId": n.id,
        "SubnetId": n.subnet_id,
        "VpcId": n.vpc_id,
        "State": n.state,
        "ConnectivityType": n.connectivity,
        "CreateTime": n.created.to_iso8601_millis(),
        "DeleteTime": n.deleted.map(|d| d.to_iso8601_millis()),
        "NatGatewayAddresses": [{
            "AllocationId": n.allocation_id,
            "NetworkInterfaceId": n.eni_id,
            "PrivateIp": eni.and_then(|e| e.ips.first()).map(|ip| super::cidr::ip_to_string(*ip)),
            "PublicIp": address.map(|a| a.public_ip.clone()),
            "IsPrimary": true,
            "Status": if n.state == "deleted" { "disassociated" } else { "succeeded" },
        }],
        "Tags": filter::tag_list(st.tags.get(&n.id)),
    })
}

/// CreateNatGateway.
pub fn create_nat_gateway(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    check_tag_spec_types(input, &["natgateway"])?;
    let subnet_id = input.req_str(m::SubnetId)?;
    let subnet = st.subnet(subnet_id)?;
    let (vpc_id, az) = (subnet.vpc_id.clone(), subnet.az.clone());
    let connectivity = input.opt_str(m::ConnectivityType).unwrap_or("public");
    let allocation = input.opt_str(m::AllocationId);
    match (connectivity, allocation) {
        ("public", None) => return Err(AwsError::missing("AllocationId")),
        ("private", Some(_)) => {
            return Err(aws_err!(
                InvalidParameterCombination,
                "AllocationId is not supported for a private NAT gateway."
            ))
        }
        ("public" | "private", _) => {}
        (other, _) => {
            return Err(aws_err!(
                InvalidParameterValue,
                "Value ({other}) for parameter connectivityType is invalid."
            ))
        }
    }
    if let Some(a) = allocation {
        let addr = get_address(st, a)?;
        if addr.association_id.is_some() {
            return Err(aws_err!(
                ResourceAlreadyAssociated,
                "Elastic IP address [{a}] is already associated"
            ));
        }
    }
    if let Some(ip) = input.opt_str(m::PrivateIpAddress) {
        check_free_ip(st, subnet_id, ip)?;
    } else if st.subnet(subnet_id)?.available() == 0 {
        return Err(exhausted(subnet_id));
    }
    let tags = tag_specs(input, "natgateway")?;
    let id = st.new_id("nat");
    let eni_id = st.new_id("eni");
    let ips = match input.opt_str(m::PrivateIpAddress) {
        Some(ip) => vec![claim_ip(st, subnet_id, &eni_id, ip)?],
        None => allocate_ips(st, subnet_id, &eni_id, 1)?,
    };
    let mac = new_mac(st);
    let public_ip = allocation
        .and_then(|a| st.addresses.get(a))
        .map(|a| a.public_ip.clone());
    st.enis.insert(
        eni_id.clone(),
        Eni {
            id: eni_id.clone(),
            subnet_id: subnet_id.to_string(),
            vpc_id: vpc_id.clone(),
            az,
            description: format!("Interface for NAT Gateway {id}"),
            mac,
            ips,
            groups: vec![],
            attachment: None,
            interface_type: "nat_gateway".into(),
            requester_managed: true,
            source_dest_check: false,
            public_ip,
        },
    );
    if let Some(a) = allocation {
        let assoc = st.new_id("eipassoc");
        if let Some(addr) = st.addresses.get_mut(a) {
            addr.association_id = Some(assoc);
            addr.eni_id = Some(eni_id.clone());
        }
    }
    st.nat_gateways.insert(
        id.clone(),
        NatGateway {
            id: id.clone(),
            subnet_id: subnet_id.to_string(),
            vpc_id,
            state: "pending",
            connectivity: connectivity.to_string(),
            allocation_id: allocation.map(str::to_string),
            eni_id,
            created: st.now,
            deleted: None,
        },
    );
    st.add_tags(&id, tags);
    let d = st.delays.nat_create;
    st.schedule(d, Timer::NatAvailable(id.clone()));
    Ok(
        json!({"NatGateway": nat_json(st, &st.nat_gateways[&id]), "ClientToken": input.opt_str(m::ClientToken)}),
    )
}

fn get_nat<'a>(st: &'a RegionState, id: &str) -> AwsResult<&'a NatGateway> {
    st.nat_gateways.get(id).ok_or_else(|| {
        aws_err!(
            NatGatewayNotFound,
            "The natGateway ID '{id}' does not exist"
        )
    })
}

/// DeleteNatGateway.
pub fn delete_nat_gateway(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::NatGatewayId)?;
    let n = get_nat(st, id)?;
    if matches!(n.state, "deleting" | "deleted") {
        return Ok(json!({"NatGatewayId": id}));
    }
    let now = st.now;
    if let Some(n) = st.nat_gateways.get_mut(id) {
        n.state = "deleting";
        n.deleted = Some(now);
    }
    let d = st.delays.nat_delete;
    st.schedule(d, Timer::NatDeleted(id.to_string()));
    Ok(json!({"NatGatewayId": id}))
}

/// deleting → deleted: the ENI and its address go back, the Elastic IP is disassociated.
pub fn on_nat_deleted(st: &mut RegionState, id: &str) {
    let Some(n) = st.nat_gateways.get_mut(id) else {
        return;
    };
    if n.state != "deleting" {
        return;
    }
    n.state = "deleted";
    let (eni_id, alloc) = (n.eni_id.clone(), n.allocation_id.clone());
    if let Some(eni) = st.enis.remove(&eni_id) {
        release_ips(st, &eni.subnet_id, &eni.ips);
    }
    if let Some(a) = alloc.and_then(|a| st.addresses.get_mut(&a)) {
        a.association_id = None;
        a.eni_id = None;
    }
}

struct NatView<'a>(&'a NatGateway, Option<&'a Tags>);

impl Filterable for NatView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let n = self.0;
        Some(match name {
            "nat-gateway-id" => vec![n.id.clone()],
            "state" => vec![n.state.to_string()],
            "subnet-id" => vec![n.subnet_id.clone()],
            "vpc-id" => vec![n.vpc_id.clone()],
            _ => return None,
        })
    }
    fn tags(&self) -> Option<&Tags> {
        self.1
    }
}

/// DescribeNatGateways.
pub fn describe_nat_gateways(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let ids = input.str_list(m::NatGatewayIds);
    for id in &ids {
        get_nat(st, id)?;
    }
    filter::describe(
        input,
        "NatGateways",
        PageLimits {
            min: 5,
            max: 1000,
            default: None,
        },
        st.nat_gateways
            .values()
            .filter(|n| filter::wanted(&ids, &n.id)),
        |n| NatView(n, st.tags.get(&n.id)),
        |n| nat_json(st, n),
    )
}
