//! Addresses: private IPv4 addresses of a subnet's address book, MAC addresses and public IPv4
//! addresses, all picked by the region's seeded generator so runs are reproducible.
//!
//! AWS reserves the first four addresses of a subnet and the last; a request for more
//! addresses than are free fails whole with `InsufficientFreeAddressesInSubnet`.

use crate::aws_err;
use crate::ec2::cidr::parse_ip;
use crate::ec2::state::RegionState;
use crate::error::{AwsError, AwsResult};

/// Takes a specific address of a subnet for an ENI.
pub fn claim_ip(st: &mut RegionState, subnet_id: &str, eni_id: &str, raw: &str) -> AwsResult<u32> {
    let ip = check_free_ip(st, subnet_id, raw)?;
    if let Some(s) = st.subnets.get_mut(subnet_id) {
        s.used.insert(ip, eni_id.to_string());
    }
    Ok(ip)
}

/// Checks that an address can be taken in a subnet, without taking it.
pub fn check_free_ip(st: &RegionState, subnet_id: &str, raw: &str) -> AwsResult<u32> {
    let s = st.subnet(subnet_id)?;
    let ip = parse_ip(raw).ok_or_else(|| {
        aws_err!(
            InvalidParameterValue,
            "Value ({raw}) for parameter privateIpAddress is invalid. Invalid format."
        )
    })?;
    if !s.cidr.contains_ip(ip) {
        return Err(aws_err!(
            InvalidParameterValue,
            "Address {raw} does not fall within the subnet's address range"
        ));
    }
    if s.is_reserved(ip) {
        return Err(aws_err!(
            InvalidParameterValue,
            "The address {raw} is reserved by AWS and cannot be assigned"
        ));
    }
    if s.used.contains_key(&ip) {
        return Err(aws_err!(InvalidIpAddressInUse, "Address {raw} is in use."));
    }
    Ok(ip)
}

/// The `InsufficientFreeAddressesInSubnet` error.
pub fn exhausted(subnet_id: &str) -> AwsError {
    aws_err!(
        InsufficientFreeAddressesInSubnet,
        "There are not enough free addresses in subnet '{subnet_id}' to satisfy the requested number of instances."
    )
}

/// Takes `n` free addresses of a subnet for an ENI, or none if fewer are free.
pub fn allocate_ips(
    st: &mut RegionState,
    subnet_id: &str,
    eni_id: &str,
    n: usize,
) -> AwsResult<Vec<u32>> {
    let s = st.subnet(subnet_id)?;
    if (s.available() as usize) < n {
        return Err(exhausted(subnet_id));
    }
    let (first, last) = (s.cidr.base + 4, s.cidr.last() - 1);
    let span = u64::from(last - first + 1);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = first + st.ids.below(span) as u32;
        let Some(sub) = st.subnets.get_mut(subnet_id) else {
            break;
        };
        let mut ip = start;
        while sub.used.contains_key(&ip) {
            ip = if ip == last { first } else { ip + 1 };
        }
        sub.used.insert(ip, eni_id.to_string());
        out.push(ip);
    }
    Ok(out)
}

/// Returns addresses to a subnet.
pub fn release_ips(st: &mut RegionState, subnet_id: &str, ips: &[u32]) {
    if let Some(s) = st.subnets.get_mut(subnet_id) {
        for ip in ips {
            s.used.remove(ip);
        }
    }
}

/// A seeded MAC address (AWS uses locally administered `02:`/`0a:` addresses).
pub fn new_mac(st: &mut RegionState) -> String {
    let h = st.ids.hex(10);
    format!(
        "02:{}:{}:{}:{}:{}",
        &h[0..2],
        &h[2..4],
        &h[4..6],
        &h[6..8],
        &h[8..10]
    )
}

/// A seeded public address from a documentation-free public range (3.0.0.0/8 or, in China,
/// 52.80.0.0/12), unique in the region.
pub fn new_public_ip(st: &mut RegionState) -> String {
    loop {
        let r = st.ids.next_u64();
        let ip = if st.region.partition == "aws-cn" {
            format!(
                "52.{}.{}.{}",
                80 + (r & 0xf),
                (r >> 8) & 0xff,
                1 + ((r >> 16) % 254)
            )
        } else {
            format!(
                "3.{}.{}.{}",
                (r >> 8) & 0xff,
                (r >> 16) & 0xff,
                1 + ((r >> 24) % 254)
            )
        };
        if !st.public_ips.contains_key(&ip) {
            return ip;
        }
    }
}
