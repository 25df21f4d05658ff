//! Elastic network interfaces as other parts of the region make and remove them: the checks an
//! ENI must pass (groups in the subnet's VPC, free addresses), creation, removal, and the
//! per-instance-type limit errors.
//!
//! [`create_eni`] is the core of CreateNetworkInterface; load balancers and NAT-like services
//! use it to make requester-managed ENIs in a subnet.

use crate::aws_err;
use crate::ec2::input::Input;
use crate::ec2::state::{Eni, RegionState};
use crate::error::{AwsError, AwsResult};
use crate::members::ec2 as m;
use serde_json::Value;

use super::addresses::{allocate_ips, check_free_ip, claim_ip, exhausted, new_mac, release_ips};

/// Checks security groups exist and belong to a VPC.
pub fn check_groups(
    st: &RegionState,
    groups: &[String],
    vpc_id: &str,
    subnet_id: &str,
) -> AwsResult<()> {
    for g in groups {
        let sg = st.security_group(g)?;
        if sg.vpc_id != vpc_id {
            return Err(aws_err!(
                InvalidParameter,
                "Security group {g} and subnet {subnet_id} belong to different networks."
            ));
        }
    }
    Ok(())
}

/// The VPC's default security group.
pub fn default_group(st: &RegionState, vpc_id: &str) -> Vec<String> {
    st.security_groups
        .values()
        .find(|g| g.vpc_id == vpc_id && g.name == "default")
        .map(|g| vec![g.id.clone()])
        .unwrap_or_default()
}

/// The groups of a new ENI in a subnet: the given ones, or the VPC's default group when none
/// are given; checked with [`check_groups`].
pub fn eni_groups(
    st: &RegionState,
    subnet_id: &str,
    groups: Vec<String>,
) -> AwsResult<Vec<String>> {
    let vpc_id = st.subnet(subnet_id)?.vpc_id.clone();
    let groups = if groups.is_empty() {
        default_group(st, &vpc_id)
    } else {
        groups
    };
    check_groups(st, &groups, &vpc_id, subnet_id)?;
    Ok(groups)
}

/// What an ENI needs from its subnet: a primary address (given or picked) and secondaries.
#[derive(Debug, Default, Clone)]
pub struct EniAddresses {
    /// Explicit addresses; the first is the primary.
    pub explicit: Vec<String>,
    /// How many more addresses to pick.
    pub secondary_count: usize,
}

impl EniAddresses {
    /// `n` addresses (at least one), all picked from the subnet.
    pub fn count(n: usize) -> EniAddresses {
        EniAddresses {
            explicit: Vec::new(),
            secondary_count: n.saturating_sub(1),
        }
    }
    /// Total addresses the ENI will hold.
    pub fn total(&self) -> usize {
        self.explicit.len().max(1) + self.secondary_count
    }
    /// Checks explicit addresses are free and the subnet has room for the rest.
    pub fn check(&self, st: &RegionState, subnet_id: &str) -> AwsResult<()> {
        for (i, ip) in self.explicit.iter().enumerate() {
            check_free_ip(st, subnet_id, ip)?;
            if self.explicit[..i].contains(ip) {
                return Err(aws_err!(
                    InvalidParameterValue,
                    "Address {ip} is specified more than once"
                ));
            }
        }
        if (st.subnet(subnet_id)?.available() as usize) < self.total() {
            return Err(exhausted(subnet_id));
        }
        Ok(())
    }
}

/// Creates an ENI after [`EniAddresses::check`] passed.
pub fn insert_eni(
    st: &mut RegionState,
    subnet_id: &str,
    description: &str,
    groups: Vec<String>,
    addrs: &EniAddresses,
) -> AwsResult<String> {
    let subnet = st.subnet(subnet_id)?;
    let (vpc_id, az) = (subnet.vpc_id.clone(), subnet.az.clone());
    let id = st.new_id("eni");
    let mut ips = Vec::new();
    for ip in &addrs.explicit {
        ips.push(claim_ip(st, subnet_id, &id, ip)?);
    }
    let picked = addrs.total() - addrs.explicit.len();
    ips.extend(allocate_ips(st, subnet_id, &id, picked)?);
    let mac = new_mac(st);
    st.enis.insert(
        id.clone(),
        Eni {
            id: id.clone(),
            subnet_id: subnet_id.to_string(),
            vpc_id,
            az,
            description: description.to_string(),
            mac,
            ips,
            groups,
            attachment: None,
            interface_type: "interface".into(),
            requester_managed: false,
            source_dest_check: true,
            public_ip: None,
        },
    );
    Ok(id)
}

/// A new ENI, as [`create_eni`] takes it.
#[derive(Debug, Clone)]
pub struct NewEni<'a> {
    /// The subnet it takes its addresses from.
    pub subnet_id: &'a str,
    /// Its description.
    pub description: &'a str,
    /// `interface` for CreateNetworkInterface; services name their own (`network_load_balancer`, ...).
    pub interface_type: &'a str,
    /// Security groups; none means the VPC's default group.
    pub groups: Vec<String>,
    /// The addresses it holds (see [`EniAddresses::count`]).
    pub addresses: EniAddresses,
    /// Whether a service manages it (users cannot delete it).
    pub requester_managed: bool,
}

/// Checks and creates an ENI (validate, then mutate): the subnet exists, the groups belong to its
/// VPC, the addresses are free. Returns the new ENI's id.
pub fn create_eni(st: &mut RegionState, new: NewEni<'_>) -> AwsResult<String> {
    let groups = eni_groups(st, new.subnet_id, new.groups)?;
    new.addresses.check(st, new.subnet_id)?;
    let id = insert_eni(st, new.subnet_id, new.description, groups, &new.addresses)?;
    if let Some(e) = st.enis.get_mut(&id) {
        e.interface_type = new.interface_type.to_string();
        e.requester_managed = new.requester_managed;
    }
    Ok(id)
}

/// Reads the address part of a CreateNetworkInterface-like request.
pub fn requested_addresses(spec: &Value) -> AwsResult<EniAddresses> {
    let mut explicit: Vec<String> = Vec::new();
    if let Some(p) = spec.opt_str(m::PrivateIpAddress) {
        explicit.push(p.to_string());
    }
    let mut listed: Vec<(bool, String)> = spec
        .obj_list(m::PrivateIpAddresses)
        .iter()
        .filter_map(|a| {
            a.opt_str(m::PrivateIpAddress)
                .map(|ip| (a.opt_bool(m::Primary).unwrap_or(false), ip.to_string()))
        })
        .collect();
    if listed.iter().filter(|(p, _)| *p).count() > 1 {
        return Err(aws_err!(
            InvalidParameterValue,
            "Only one primary private IP address may be specified"
        ));
    }
    listed.sort_by_key(|(p, _)| !*p);
    for (primary, ip) in listed {
        if primary && !explicit.is_empty() && explicit[0] != ip {
            return Err(aws_err!(
                InvalidParameterCombination,
                "The primary IP address is specified twice with different values"
            ));
        }
        if !explicit.contains(&ip) {
            explicit.push(ip);
        }
    }
    let secondary = spec.opt_i64(m::SecondaryPrivateIpAddressCount).unwrap_or(0);
    if secondary < 0 {
        return Err(aws_err!(
            InvalidParameterValue,
            "Value ({secondary}) for parameter secondaryPrivateIpAddressCount is invalid."
        ));
    }
    if spec.opt_i64(m::Ipv6AddressCount).unwrap_or(0) > 0
        || !spec.obj_list(m::Ipv6Addresses).is_empty()
    {
        return Err(aws_err!(
            InvalidParameterValue,
            "IPv6 addresses are not supported by cloudbox."
        ));
    }
    if spec.get(m::Ipv4PrefixCount).is_some() || spec.get(m::Ipv4Prefixes).is_some() {
        return Err(aws_err!(
            InvalidParameterValue,
            "IPv4 prefix delegation is not supported by cloudbox."
        ));
    }
    Ok(EniAddresses {
        explicit,
        secondary_count: secondary as usize,
    })
}

/// Deletes an ENI and returns its addresses (no checks).
pub fn remove_eni(st: &mut RegionState, id: &str) {
    if let Some(e) = st.enis.remove(id) {
        release_ips(st, &e.subnet_id, &e.ips);
        if let Some(ip) = &e.public_ip {
            if !st.addresses.values().any(|a| &a.public_ip == ip) {
                st.public_ips.remove(ip);
            }
        }
        st.tags.remove(id);
    }
}

/// The `AttachmentLimitExceeded` error for an instance type.
pub fn attachment_limit(count: usize, instance_type: &str) -> AwsError {
    aws_err!(
        AttachmentLimitExceeded,
        "Interface count {count} exceeds the limit for {instance_type}"
    )
}

/// The `PrivateIpAddressLimitExceeded` error.
pub fn ip_limit() -> AwsError {
    aws_err!(
        PrivateIpAddressLimitExceeded,
        "Number of private addresses will exceed limit."
    )
}
