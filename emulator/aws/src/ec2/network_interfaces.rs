//! Elastic network interfaces and their private IPv4 addresses: Create, Delete, Describe,
//! Attach, Detach, ModifyNetworkInterfaceAttribute, Assign/UnassignPrivateIpAddresses.
//!
//! The rules the VPC CNI's ipamd branches on are enforced with AWS's codes:
//! - ENIs per instance type (`AttachmentLimitExceeded`, "Interface count 4 exceeds the limit for
//!   t3.medium"); one ENI per device index; ENI and instance in the same AZ and VPC;
//! - IPv4 addresses per ENI for the instance type it is attached to
//!   (`PrivateIpAddressLimitExceeded`);
//! - subnet exhaustion (`InsufficientFreeAddressesInSubnet`), all-or-nothing;
//! - the primary ENI (device index 0) cannot be detached; an attached ENI cannot be deleted;
//!   a primary address cannot be unassigned.
//!
//! Simplified: attach and detach complete at once (AWS shows `attaching`/`detaching` for a few
//! seconds); IPv6 and prefix delegation are refused with an error naming them.

use super::cidr::{ip_to_string, parse_ip};
use super::domain::{
    allocate_ips, association, check_free_ip, claim_ip, create_eni, eni_groups, exhausted,
    group_pairs, release_ips, NewEni,
};
use super::filter::{self, Filterable, PageLimits};
use super::input::{check_tag_spec_types, tag_specs, Input};
use super::state::{Eni, EniAttachment, InstanceState, RegionState, Tags};
use crate::aws_err;
use crate::error::{AwsError, AwsResult};
use crate::members::ec2 as m;
use serde_json::{json, Value};

// Re-export for code written against the old path; new code uses ec2::domain.
pub use super::domain::addresses::new_mac;
// Re-export for code written against the old path; new code uses ec2::domain.
pub use super::domain::eni_shapes::private_ips_json;
// Re-export for code written against the old path; new code uses ec2::domain.
pub use super::domain::enis::{
    attachment_limit, check_groups, default_group, insert_eni, ip_limit, remove_eni,
    requested_addresses, EniAddresses,
};
// Re-export for code written against the old path; new code uses ec2::domain.
pub use super::domain::lookup::get_eni;

fn eni_json(st: &RegionState, e: &Eni) -> Value {
    let primary = e.ips.first().map(|ip| ip_to_string(*ip));
    let mut v = json!({
        "NetworkInterfaceId": e.id,
        "SubnetId": e.subnet_id,
        "VpcId": e.vpc_id,
        "AvailabilityZone": e.az,
        "Description": e.description,
        "OwnerId": st.account,
        "RequesterId": if e.requester_managed { Some("AIDAEXAMPLEMANAGED") } else { None },
        "RequesterManaged": e.requester_managed,
        "Status": if e.attachment.is_some() { "in-use" } else { "available" },
        "MacAddress": e.mac,
        "PrivateIpAddress": primary,
        "PrivateDnsName": primary.as_ref().map(|p| st.region.private_dns(p)),
        "SourceDestCheck": e.source_dest_check,
        "Ipv6Addresses": [],
        "Ipv4Prefixes": [],
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
            "InstanceId": a.instance_id,
            "InstanceOwnerId": st.account,
            "Status": a.status,
        })
    }));
    v["Association"] = Value::from(association(st, e));
    v["PrivateIpAddresses"] = Value::from(private_ips_json(st, e));
    v["TagSet"] = filter::tag_list(st.tags.get(&e.id));
    v
}

struct EniView<'a>(&'a Eni, Option<&'a Tags>, &'a RegionState);

impl Filterable for EniView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let e = self.0;
        let a = e.attachment.as_ref();
        let one = |s: String| vec![s];
        Some(match name {
            "network-interface-id" => one(e.id.clone()),
            "subnet-id" => one(e.subnet_id.clone()),
            "vpc-id" => one(e.vpc_id.clone()),
            "availability-zone" => one(e.az.clone()),
            "description" => one(e.description.clone()),
            "status" => one(if a.is_some() { "in-use" } else { "available" }.into()),
            "mac-address" => one(e.mac.clone()),
            "interface-type" => one(e.interface_type.clone()),
            "requester-managed" => one(e.requester_managed.to_string()),
            "source-dest-check" => one(e.source_dest_check.to_string()),
            "owner-id" => one(self.2.account.clone()),
            "private-ip-address" | "addresses.private-ip-address" => {
                e.ips.iter().map(|i| ip_to_string(*i)).collect()
            }
            "addresses.primary" => vec!["true".into(), "false".into()],
            "private-dns-name" => e
                .ips
                .first()
                .map(|i| self.2.region.private_dns(&ip_to_string(*i)))
                .into_iter()
                .collect(),
            "group-id" => e.groups.clone(),
            "group-name" => e
                .groups
                .iter()
                .filter_map(|g| self.2.security_groups.get(g).map(|s| s.name.clone()))
                .collect(),
            "attachment.instance-id" => a.map(|a| a.instance_id.clone()).into_iter().collect(),
            "attachment.attachment-id" => a.map(|a| a.id.clone()).into_iter().collect(),
            "attachment.status" => a.map(|a| a.status.to_string()).into_iter().collect(),
            "attachment.device-index" => {
                a.map(|a| a.device_index.to_string()).into_iter().collect()
            }
            "attachment.delete-on-termination" => a
                .map(|a| a.delete_on_termination.to_string())
                .into_iter()
                .collect(),
            "attachment.instance-owner-id" => {
                a.map(|_| self.2.account.clone()).into_iter().collect()
            }
            "association.public-ip" => e.public_ip.iter().cloned().collect(),
            _ => return None,
        })
    }
    fn tags(&self) -> Option<&Tags> {
        self.1
    }
}

/// CreateNetworkInterface.
pub fn create_network_interface(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    check_tag_spec_types(input, &["network-interface"])?;
    let subnet_id = input.req_str(m::SubnetId)?;
    let groups = eni_groups(st, subnet_id, input.str_list(m::Groups))?;
    if let Some(t) = input.opt_str(m::InterfaceType) {
        if t != "interface" {
            return Err(aws_err!(
                InvalidParameterValue,
                "Interface type '{t}' is not supported by cloudbox."
            ));
        }
    }
    let addrs = requested_addresses(input)?;
    addrs.check(st, subnet_id)?;
    let tags = tag_specs(input, "network-interface")?;
    let id = create_eni(
        st,
        NewEni {
            subnet_id,
            description: input.opt_str(m::Description).unwrap_or_default(),
            interface_type: "interface",
            groups,
            addresses: addrs,
            requester_managed: false,
        },
    )?;
    st.add_tags(&id, tags);
    Ok(
        json!({"NetworkInterface": eni_json(st, &st.enis[&id]), "ClientToken": input.opt_str(m::ClientToken)}),
    )
}

/// DeleteNetworkInterface.
pub fn delete_network_interface(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::NetworkInterfaceId)?;
    let e = st.eni(id)?;
    if e.attachment.is_some() {
        return Err(aws_err!(
            InvalidNetworkInterfaceInUse,
            "The network interface '{id}' is currently in use."
        ));
    }
    if e.requester_managed {
        return Err(aws_err!(
            OperationNotPermitted,
            "You do not have permission to access the specified resource: {id} is managed by AWS."
        ));
    }
    remove_eni(st, id);
    Ok(json!({}))
}

/// DescribeNetworkInterfaces.
pub fn describe_network_interfaces(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let ids = input.str_list(m::NetworkInterfaceIds);
    for id in &ids {
        st.eni(id)?;
    }
    if !ids.is_empty() && input.get(m::MaxResults).is_some() {
        return Err(aws_err!(
            InvalidParameterCombination,
            "The parameter NetworkInterfaceIds cannot be used with the parameter MaxResults"
        ));
    }
    filter::describe(
        input,
        "NetworkInterfaces",
        PageLimits {
            min: 5,
            max: 1000,
            default: None,
        },
        st.enis.values().filter(|e| filter::wanted(&ids, &e.id)),
        |e| EniView(e, st.tags.get(&e.id), st),
        |e| eni_json(st, e),
    )
}

/// AttachNetworkInterface.
pub fn attach_network_interface(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let eni_id = input.req_str(m::NetworkInterfaceId)?;
    let instance_id = input.req_str(m::InstanceId)?;
    let device_index = input
        .opt_i64(m::DeviceIndex)
        .ok_or_else(|| AwsError::missing("DeviceIndex"))?;
    if input.opt_i64(m::NetworkCardIndex).unwrap_or(0) != 0 {
        return Err(aws_err!(
            InvalidParameterValue,
            "Network card index other than 0 is not supported by cloudbox."
        ));
    }
    let eni = st.eni(eni_id)?;
    let inst = st.instance(instance_id)?;
    if !matches!(inst.state, InstanceState::Running | InstanceState::Stopped) {
        return Err(aws_err!(
            IncorrectInstanceState,
            "The instance '{instance_id}' is not in a valid state for this operation."
        ));
    }
    if eni.attachment.is_some() {
        return Err(aws_err!(
            InvalidNetworkInterfaceInUse,
            "Interface: [{eni_id}] in use."
        ));
    }
    if eni.vpc_id != inst.vpc_id {
        return Err(aws_err!(
            InvalidParameterValue,
            "Network interface '{eni_id}' and instance '{instance_id}' are not in the same VPC."
        ));
    }
    if eni.az != inst.az {
        return Err(aws_err!(
            InvalidParameterCombination,
            "You may not attach a network interface to an instance if they are not in the same availability zone"
        ));
    }
    if !(0..=31).contains(&device_index) {
        return Err(aws_err!(
            InvalidParameterValue,
            "Value ({device_index}) for parameter deviceIndex is invalid."
        ));
    }
    if inst.enis.contains_key(&device_index) {
        return Err(aws_err!(
            InvalidParameterValue,
            "Instance '{instance_id}' already has an interface attached at device index '{device_index}'."
        ));
    }
    let ty = RegionState::instance_type(&inst.instance_type).ok_or_else(|| {
        aws_err!(
            InvalidParameterValue,
            "Invalid value '{}' for InstanceType.",
            inst.instance_type
        )
    })?;
    if inst.enis.len() + 1 > ty.max_enis as usize {
        return Err(attachment_limit(inst.enis.len() + 1, &ty.name));
    }
    if eni.ips.len() > ty.ipv4_per_eni as usize {
        return Err(ip_limit());
    }
    let attach_id = st.new_id("eni-attach");
    let now = st.now;
    if let Some(e) = st.enis.get_mut(eni_id) {
        e.attachment = Some(EniAttachment {
            id: attach_id.clone(),
            instance_id: instance_id.to_string(),
            device_index,
            status: "attached",
            time: now,
            delete_on_termination: false,
        });
    }
    if let Some(i) = st.instances.get_mut(instance_id) {
        i.enis.insert(device_index, eni_id.to_string());
    }
    Ok(json!({"AttachmentId": attach_id, "NetworkCardIndex": 0}))
}

/// Detaches an ENI from its instance (no checks).
pub fn detach_eni(st: &mut RegionState, eni_id: &str) {
    let Some(e) = st.enis.get_mut(eni_id) else {
        return;
    };
    if let Some(a) = e.attachment.take() {
        if let Some(i) = st.instances.get_mut(&a.instance_id) {
            i.enis.remove(&a.device_index);
        }
    }
}

/// DetachNetworkInterface.
pub fn detach_network_interface(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let attach_id = input.req_str(m::AttachmentId)?;
    let Some(eni) = st
        .enis
        .values()
        .find(|e| e.attachment.as_ref().is_some_and(|a| a.id == attach_id))
    else {
        return Err(aws_err!(
            InvalidAttachmentIdNotFound,
            "The attachment ID '{attach_id}' does not exist"
        ));
    };
    if eni.attachment.as_ref().is_some_and(|a| a.device_index == 0) {
        return Err(aws_err!(
            OperationNotPermitted,
            "The network interface at device index 0 and networkCard index 0 cannot be detached."
        ));
    }
    let id = eni.id.clone();
    detach_eni(st, &id);
    Ok(json!({}))
}

/// ModifyNetworkInterfaceAttribute (one attribute per call).
pub fn modify_network_interface_attribute(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::NetworkInterfaceId)?;
    let e = st.eni(id)?;
    let description = input.obj(m::Description).and_then(|v| v.opt_str(m::Value));
    let sdc = input
        .obj(m::SourceDestCheck)
        .and_then(|v| v.opt_bool(m::Value));
    let groups = input.str_list(m::Groups);
    let dot = input.obj(m::Attachment).map(|a| {
        (
            a.opt_str(m::AttachmentId).unwrap_or_default().to_string(),
            a.opt_bool(m::DeleteOnTermination),
        )
    });
    let n = [
        description.is_some(),
        sdc.is_some(),
        !groups.is_empty(),
        dot.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if n != 1 {
        return Err(aws_err!(
            InvalidParameterCombination,
            "Exactly one attribute must be specified per request."
        ));
    }
    if !groups.is_empty() {
        check_groups(st, &groups, &e.vpc_id, &e.subnet_id)?;
    }
    if let Some((aid, _)) = &dot {
        if e.attachment.as_ref().map(|a| &a.id) != Some(aid) {
            return Err(aws_err!(
                InvalidAttachmentIdNotFound,
                "The attachment ID '{aid}' does not exist"
            ));
        }
    }
    let Some(e) = st.enis.get_mut(id) else {
        return Ok(json!({}));
    };
    if let Some(d) = description {
        e.description = d.to_string();
    }
    if let Some(s) = sdc {
        e.source_dest_check = s;
    }
    if !groups.is_empty() {
        e.groups = groups;
    }
    if let (Some((_, Some(flag))), Some(a)) = (dot, e.attachment.as_mut()) {
        a.delete_on_termination = flag;
    }
    Ok(json!({}))
}

/// The per-ENI address limit that applies now: the attached instance type's, else none.
fn ip_cap(st: &RegionState, e: &Eni) -> Option<usize> {
    let a = e.attachment.as_ref()?;
    let inst = st.instances.get(&a.instance_id)?;
    RegionState::instance_type(&inst.instance_type).map(|t| t.ipv4_per_eni as usize)
}

/// AssignPrivateIpAddresses (by count or by address; `AllowReassignment` moves a secondary
/// address from another ENI of the subnet).
pub fn assign_private_ip_addresses(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::NetworkInterfaceId)?;
    let e = st.eni(id)?;
    if input.get(m::Ipv4PrefixCount).is_some() || input.get(m::Ipv4Prefixes).is_some() {
        return Err(aws_err!(
            InvalidParameterValue,
            "IPv4 prefix delegation is not supported by cloudbox."
        ));
    }
    let addrs = input.str_list(m::PrivateIpAddresses);
    let count = input.opt_i64(m::SecondaryPrivateIpAddressCount);
    let n = match (count, addrs.is_empty()) {
        (Some(_), false) => {
            return Err(aws_err!(
                InvalidParameterCombination,
                "Either SecondaryPrivateIpAddressCount or PrivateIpAddresses may be specified, not both"
            ))
        }
        (None, true) => return Err(AwsError::missing("SecondaryPrivateIpAddressCount")),
        (Some(c), true) if c < 1 => {
            return Err(aws_err!(
                InvalidParameterValue,
                "Value ({c}) for parameter secondaryPrivateIpAddressCount is invalid. Expecting a value greater than 0."
            ))
        }
        (Some(c), true) => c as usize,
        (None, false) => addrs.len(),
    };
    if let Some(cap) = ip_cap(st, e) {
        if e.ips.len() + n > cap {
            return Err(ip_limit());
        }
    }
    let subnet_id = e.subnet_id.clone();
    let allow_reassign = input.opt_bool(m::AllowReassignment).unwrap_or(false);
    let mut moves: Vec<(u32, String)> = Vec::new();
    for (i, raw) in addrs.iter().enumerate() {
        if addrs[..i].contains(raw) {
            return Err(aws_err!(
                InvalidParameterValue,
                "Address {raw} is specified more than once"
            ));
        }
        match check_free_ip(st, &subnet_id, raw) {
            Ok(_) => {}
            Err(err) if err.code == crate::error::Code::InvalidIpAddressInUse => {
                let ip = parse_ip(raw).unwrap_or_default();
                let owner = st
                    .subnet(&subnet_id)?
                    .used
                    .get(&ip)
                    .cloned()
                    .unwrap_or_default();
                let owner_eni = st.eni(&owner)?;
                if owner == id || !allow_reassign || owner_eni.ips.first() == Some(&ip) {
                    return Err(err);
                }
                moves.push((ip, owner));
            }
            Err(err) => return Err(err),
        }
    }
    if count.is_some() && (st.subnet(&subnet_id)?.available() as usize) < n {
        return Err(exhausted(&subnet_id));
    }
    let mut assigned = Vec::new();
    for (ip, owner) in moves {
        if let Some(o) = st.enis.get_mut(&owner) {
            o.ips.retain(|x| *x != ip);
        }
        release_ips(st, &subnet_id, &[ip]);
    }
    for raw in &addrs {
        assigned.push(claim_ip(st, &subnet_id, id, raw)?);
    }
    if count.is_some() {
        assigned = allocate_ips(st, &subnet_id, id, n)?;
    }
    if let Some(e) = st.enis.get_mut(id) {
        e.ips.extend(assigned.iter().copied());
    }
    let out: Vec<Value> = assigned
        .iter()
        .map(|ip| json!({"PrivateIpAddress": ip_to_string(*ip)}))
        .collect();
    Ok(
        json!({"NetworkInterfaceId": id, "AssignedPrivateIpAddresses": out, "AssignedIpv4Prefixes": []}),
    )
}

/// UnassignPrivateIpAddresses.
pub fn unassign_private_ip_addresses(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::NetworkInterfaceId)?;
    let e = st.eni(id)?;
    let addrs = input.str_list(m::PrivateIpAddresses);
    if addrs.is_empty() {
        return Err(AwsError::missing("PrivateIpAddress"));
    }
    let mut ips = Vec::new();
    for raw in &addrs {
        let ip = parse_ip(raw)
            .ok_or_else(|| aws_err!(InvalidParameterValue, "Invalid IPv4 address: {raw}"))?;
        match e.ips.iter().position(|x| *x == ip) {
            Some(0) => {
                return Err(aws_err!(
                    InvalidParameterValue,
                    "The primary IP address of an interface cannot be unassigned."
                ))
            }
            Some(_) => ips.push(ip),
            None => {
                return Err(aws_err!(
                    InvalidParameterValue,
                    "Some of the specified addresses are not assigned to interface {id}"
                ))
            }
        }
    }
    let subnet_id = e.subnet_id.clone();
    if let Some(e) = st.enis.get_mut(id) {
        e.ips.retain(|x| !ips.contains(x));
    }
    release_ips(st, &subnet_id, &ips);
    Ok(json!({}))
}
