//! Load balancers: CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer, SetSubnets,
//! SetSecurityGroups, SetIpAddressType.
//!
//! What AWS does and cloudbox enforces with AWS's codes:
//! - names of 1–32 alphanumerics and hyphens, not starting or ending with a hyphen, not starting
//!   with `internal-` (`ValidationError`); a second create with the same name and settings answers
//!   the existing load balancer, with other settings `DuplicateLoadBalancerName`;
//! - an ALB needs subnets in at least two AZs (`ValidationError`), an NLB one; one subnet per AZ
//!   and one VPC (`InvalidConfigurationRequest`); unknown subnets `SubnetNotFound`; an
//!   internet-facing load balancer needs an internet gateway on its VPC and every subnet needs 8
//!   free addresses (`InvalidSubnet`);
//! - security groups must exist in the VPC (`InvalidSecurityGroup`); an ALB without any gets the
//!   VPC's default group, an NLB may have none (and then can never get any);
//! - one requester-managed ENI per subnet (description `ELB app/<name>/<id>`), its address taken
//!   from the subnet through the EC2 domain functions and given back on delete;
//! - `provisioning` for [`super::PROVISIONING`] on the clock, then `active`;
//! - DNS names as AWS forms them (`<name>-<10 digits>.<region>.elb.amazonaws.com` for an ALB,
//!   `<name>-<16 hex>.elb.<region>.amazonaws.com` for an NLB, `internal-` before internal ones,
//!   `.com.cn` in the China partition) and the regions' real ELB hosted zone ids.
//!
//! Simplified: gateway load balancers and IPv6 (dual-stack) are refused with an error naming
//! them; an ALB holds one address per subnet (AWS scales to more under load).

use super::attributes::lb_defaults;
use super::tags::{read_tags, set_tags};
use super::{
    check_arn, get_lb, page, page_window, refresh_usage, validation, LbType, LbZone, LoadBalancer,
    Timer, PROVISIONING,
};
use crate::aws_err;
use crate::ec2::cidr::{ip_to_string, parse_ip};
use crate::ec2::input::Input;
use crate::ec2::network_interfaces::{default_group, insert_eni, remove_eni, EniAddresses};
use crate::ec2::subnets::{check_free_ip, get_subnet};
use crate::error::{AwsError, AwsResult};
use crate::members::elbv2 as m;
use crate::region::{RegionState, Timer as RegionTimer};
use serde_json::{json, Value};

/// Free addresses AWS wants in every subnet of a load balancer.
pub const MIN_FREE_IPS: u64 = 8;

/// The most load balancers of one type in a region (AWS's default quota).
pub const MAX_LOAD_BALANCERS: usize = 50;

/// The Route 53 hosted zone ids of ELB in each region: (region, ALB/CLB zone, NLB zone).
const HOSTED_ZONES: &[(&str, &str, &str)] = &[
    ("us-east-1", "Z35SXDOTRQ7X7K", "Z26RNL4JYFTOTI"),
    ("us-east-2", "Z3AADJGX6KTTL2", "ZLMOA37VPKANP"),
    ("us-west-1", "Z368ELLRRE2KJ0", "Z24FKFUX50B4VW"),
    ("us-west-2", "Z1H1FL5HABSF5", "Z18D5FSROUN65G"),
    ("ca-central-1", "ZQSVJUPU6J1EY", "Z2EPGBW3API2WT"),
    ("sa-east-1", "Z2P70J7HTTTPLU", "ZTK26PT1VY4CU"),
    ("eu-west-1", "Z32O12XQLNTSW2", "Z2IFOLAFXWLO4F"),
    ("eu-west-2", "ZHURV8PSTC4K8", "ZD4D7Y8KGAS4G"),
    ("eu-west-3", "Z3Q77PNBQS71R4", "Z1CMS0P5QUZ6D5"),
    ("eu-central-1", "Z215JYRZR1TBD5", "Z3F0SRJ5LGBH90"),
    ("eu-north-1", "Z23TAZ7KRBS7LN", "Z1UDT6IFJ4EJM"),
    ("ap-south-1", "ZP97RAFLXTNZK", "ZVDDRBQ08TROA"),
    ("ap-northeast-1", "Z14GRHDCWA56QT", "Z31USIVHYNEOWT"),
    ("ap-northeast-2", "ZWKZPGTI48KDX", "ZIBE1TIR4HY56"),
    ("ap-southeast-1", "Z1LMS91P8CMLE5", "ZKVM4W9LS7TM"),
    ("ap-southeast-2", "Z1GM3OXH4ZPM65", "ZCT6FZBF4DROD"),
    ("cn-north-1", "Z1GDH35T77C1KE", "Z3QFB96KMJ7ED6"),
    ("cn-northwest-1", "ZM7IZAIOVVDZF", "ZQEIKTCZ8352D"),
    ("us-gov-west-1", "Z33AYJ8TM3BH4J", "ZMG1MZ2THAWF1"),
    ("us-gov-east-1", "Z166TLBEWOO7G0", "Z1ZSMQQ6Q24QQ8"),
];

/// The hosted zone of load balancers of a type in a region; a stable made-up id where the real
/// one is not known.
pub fn hosted_zone(region: &str, t: LbType) -> &'static str {
    HOSTED_ZONES
        .iter()
        .find(|(r, _, _)| *r == region)
        .map(|(_, alb, nlb)| match t {
            LbType::Application => *alb,
            LbType::Network => *nlb,
        })
        .unwrap_or(match t {
            LbType::Application => "ZCLOUDBOXALB0001",
            LbType::Network => "ZCLOUDBOXNLB0001",
        })
}

/// The DNS name AWS gives a load balancer.
pub fn dns_name(st: &mut RegionState, name: &str, t: LbType, scheme: &str) -> String {
    let prefix = if scheme == "internal" {
        "internal-"
    } else {
        ""
    };
    let suffix = st.region.dns_suffix();
    let region = st.region.name;
    match t {
        LbType::Application => {
            let n = 1_000_000_000 + st.ids.below(9_000_000_000);
            format!("{prefix}{name}-{n}.{region}.elb.{suffix}")
        }
        LbType::Network => {
            let h = st.ids.hex(16);
            format!("{prefix}{name}-{h}.elb.{region}.{suffix}")
        }
    }
}

/// Checks a load balancer name against AWS's rules.
pub fn check_name(name: &str) -> AwsResult<()> {
    if name.is_empty() {
        return Err(validation("The load balancer name cannot be empty"));
    }
    if name.chars().count() > 32 {
        return Err(validation(format!(
            "The load balancer name '{name}' cannot be longer than '32' characters"
        )));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(validation(format!(
            "The load balancer name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(validation(format!(
            "The load balancer name '{name}' cannot begin or end with a hyphen(-)"
        )));
    }
    if name.starts_with("internal-") {
        return Err(validation(format!(
            "The load balancer name '{name}' cannot begin with 'internal-'"
        )));
    }
    Ok(())
}

fn enum_error(value: &str, member: &str, allowed: &str) -> AwsError {
    validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{allowed}]"
    ))
}

fn lb_type(input: &Value) -> AwsResult<LbType> {
    match input.opt_str(m::Type).unwrap_or("application") {
        "application" => Ok(LbType::Application),
        "network" => Ok(LbType::Network),
        "gateway" => Err(validation(
            "Load balancers of type 'gateway' are not supported by cloudbox",
        )),
        other => Err(enum_error(other, "type", "application, network, gateway")),
    }
}

fn scheme(input: &Value) -> AwsResult<String> {
    match input.opt_str(m::Scheme).unwrap_or("internet-facing") {
        s @ ("internet-facing" | "internal") => Ok(s.to_string()),
        other => Err(enum_error(other, "scheme", "internet-facing, internal")),
    }
}

/// Checks an `IpAddressType`; only `ipv4` can be served (cloudbox subnets have no IPv6 block).
fn check_ip_type(value: Option<&str>, subnet: Option<&str>) -> AwsResult<()> {
    match value.unwrap_or("ipv4") {
        "ipv4" => Ok(()),
        "dualstack" | "dualstack-without-public-ipv4" => Err(aws_err!(
            InvalidSubnet,
            "Subnet '{}' does not have an IPv6 CIDR block; dual-stack needs one (cloudbox does not model IPv6)",
            subnet.unwrap_or_default()
        )),
        other => Err(enum_error(
            other,
            "ipAddressType",
            "ipv4, dualstack, dualstack-without-public-ipv4",
        )),
    }
}

/// A subnet a request asks for, with its mapping options.
#[derive(Debug, Clone)]
pub struct ZoneRequest {
    /// The subnet.
    pub subnet_id: String,
    /// Its AZ.
    pub az: String,
    /// A fixed private address (internal NLB).
    pub private_ip: Option<String>,
    /// An Elastic IP (internet-facing NLB).
    pub allocation_id: Option<String>,
}

/// Reads and checks `Subnets`/`SubnetMappings`: (VPC, zones).
pub fn resolve_subnets(
    st: &RegionState,
    input: &Value,
    t: LbType,
    scheme: &str,
) -> AwsResult<(String, Vec<ZoneRequest>)> {
    let subnets = input.str_list(m::Subnets);
    let mappings = input.obj_list(m::SubnetMappings);
    if !subnets.is_empty() && !mappings.is_empty() {
        return Err(validation(
            "You can specify subnets or subnet mappings, not both",
        ));
    }
    let mut reqs: Vec<ZoneRequest> = Vec::new();
    let mut raw: Vec<(String, Option<String>, Option<String>)> =
        subnets.into_iter().map(|s| (s, None, None)).collect();
    for m in mappings {
        if m.opt_str(m::IPv6Address).is_some() || m.opt_str(m::SourceNatIpv6Prefix).is_some() {
            return Err(validation(
                "IPv6 subnet mappings are not supported by cloudbox",
            ));
        }
        raw.push((
            m.opt_str(m::SubnetId).unwrap_or_default().to_string(),
            m.opt_str(m::PrivateIPv4Address).map(str::to_string),
            m.opt_str(m::AllocationId).map(str::to_string),
        ));
    }
    if raw.is_empty() {
        return Err(match t {
            LbType::Application => validation(
                "At least two subnets in two different Availability Zones must be specified",
            ),
            LbType::Network => validation("At least one subnet must be specified"),
        });
    }
    let mut vpc: Option<(String, String)> = None;
    for (subnet_id, private_ip, allocation_id) in raw {
        let s = st
            .subnets
            .get(&subnet_id)
            .ok_or_else(|| aws_err!(SubnetNotFound, "The subnet ID '{subnet_id}' is not valid"))?;
        match &vpc {
            None => vpc = Some((s.vpc_id.clone(), s.id.clone())),
            Some((v, first)) if *v != s.vpc_id => {
                return Err(aws_err!(
                    InvalidConfigurationRequest,
                    "The subnets '{first}' and '{subnet_id}' are not in the same VPC; all subnets of a load balancer must belong to one VPC"
                ))
            }
            Some(_) => {}
        }
        if reqs.iter().any(|r| r.az == s.az) {
            return Err(aws_err!(
                InvalidConfigurationRequest,
                "A load balancer cannot be attached to multiple subnets in the same Availability Zone"
            ));
        }
        if let Some(ip) = &private_ip {
            if t != LbType::Network || scheme != "internal" {
                return Err(validation(
                    "Private IPv4 addresses can be specified only for internal Network Load Balancers",
                ));
            }
            check_free_ip(st, &subnet_id, ip).map_err(|e| {
                AwsError::new(crate::error::Code::InvalidConfigurationRequest, e.message)
            })?;
        }
        if let Some(a) = &allocation_id {
            if t != LbType::Network || scheme != "internet-facing" {
                return Err(validation(
                    "Elastic IP addresses can be specified only for internet-facing Network Load Balancers",
                ));
            }
            if !st.addresses.contains_key(a) {
                return Err(aws_err!(
                    AllocationIdNotFound,
                    "The allocation ID '{a}' does not exist"
                ));
            }
            let used = st
                .elbv2
                .load_balancers
                .values()
                .flat_map(|l| l.zones.iter())
                .any(|z| z.allocation_id.as_deref() == Some(a))
                || reqs.iter().any(|r| r.allocation_id.as_deref() == Some(a))
                || st
                    .addresses
                    .get(a)
                    .is_some_and(|x| x.association_id.is_some());
            if used {
                return Err(aws_err!(
                    InvalidConfigurationRequest,
                    "The allocation ID '{a}' is already associated"
                ));
            }
        }
        reqs.push(ZoneRequest {
            subnet_id: s.id.clone(),
            az: s.az.clone(),
            private_ip,
            allocation_id,
        });
    }
    if t == LbType::Application && reqs.len() < 2 {
        return Err(validation(
            "At least two subnets in two different Availability Zones must be specified",
        ));
    }
    let vpc_id = vpc.map(|(v, _)| v).unwrap_or_default();
    Ok((vpc_id, reqs))
}

/// Checks the subnets a load balancer would newly take: an internet gateway for an
/// internet-facing one, and room for its ENI.
fn check_room(
    st: &RegionState,
    vpc_id: &str,
    scheme: &str,
    zones: &[&ZoneRequest],
) -> AwsResult<()> {
    if scheme == "internet-facing"
        && !zones.is_empty()
        && !st
            .igws
            .values()
            .any(|g| g.vpc_id.as_deref() == Some(vpc_id))
    {
        return Err(aws_err!(
            InvalidSubnet,
            "VPC {vpc_id} has no internet gateway"
        ));
    }
    for z in zones {
        let s = get_subnet(st, &z.subnet_id)?;
        if s.available() < MIN_FREE_IPS {
            return Err(aws_err!(
                InvalidSubnet,
                "Not enough IP space available in {}. ELB requires at least {MIN_FREE_IPS} free IP addresses in each subnet.",
                z.subnet_id
            ));
        }
    }
    Ok(())
}

/// Reads and checks `SecurityGroups` for a load balancer in a VPC.
fn resolve_groups(st: &RegionState, groups: &[String], vpc_id: &str) -> AwsResult<Vec<String>> {
    if groups.len() > 5 {
        return Err(validation(
            "1 validation error detected: Value at 'securityGroups' failed to satisfy constraint: Member must have length less than or equal to 5",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for g in groups {
        let sg = st
            .security_groups
            .get(g)
            .ok_or_else(|| aws_err!(InvalidSecurityGroup, "Security group '{g}' does not exist"))?;
        if sg.vpc_id != vpc_id {
            return Err(aws_err!(
                InvalidSecurityGroup,
                "Security group '{g}' does not belong to VPC '{vpc_id}'"
            ));
        }
        if !out.contains(g) {
            out.push(g.clone());
        }
    }
    Ok(out)
}

/// Creates the ENI of a load balancer in one subnet (after the checks passed).
fn take_zone(
    st: &mut RegionState,
    lb_desc: &str,
    t: LbType,
    groups: &[String],
    z: &ZoneRequest,
) -> AwsResult<LbZone> {
    let addrs = EniAddresses {
        explicit: z.private_ip.iter().cloned().collect(),
        secondary_count: 0,
    };
    let eni_id = insert_eni(st, &z.subnet_id, lb_desc, groups.to_vec(), &addrs)?;
    let mut ip = 0;
    if let Some(e) = st.enis.get_mut(&eni_id) {
        e.requester_managed = true;
        e.source_dest_check = true;
        e.interface_type = match t {
            LbType::Application => "interface".into(),
            LbType::Network => "network_load_balancer".into(),
        };
        ip = e.ips.first().copied().unwrap_or_default();
    }
    let public_ip = z
        .allocation_id
        .as_ref()
        .and_then(|a| st.addresses.get(a))
        .map(|a| a.public_ip.clone());
    if let Some(a) = &z.allocation_id {
        let assoc = st.new_id("eipassoc");
        if let Some(addr) = st.addresses.get_mut(a) {
            addr.association_id = Some(assoc);
            addr.eni_id = Some(eni_id.clone());
        }
        if let Some(e) = st.enis.get_mut(&eni_id) {
            e.public_ip = public_ip.clone();
        }
    }
    Ok(LbZone {
        subnet_id: z.subnet_id.clone(),
        az: z.az.clone(),
        eni_id,
        ip,
        allocation_id: z.allocation_id.clone(),
        public_ip,
        fixed_ip: z.private_ip.is_some(),
    })
}

/// Gives back the ENI (and the Elastic IP association) of a load balancer in one subnet.
fn release_zone(st: &mut RegionState, z: &LbZone) {
    if let Some(a) = z
        .allocation_id
        .as_ref()
        .and_then(|a| st.addresses.get_mut(a))
    {
        a.association_id = None;
        a.eni_id = None;
    }
    remove_eni(st, &z.eni_id);
}

fn zones_json(lb: &LoadBalancer) -> Value {
    Value::Array(
        lb.zones
            .iter()
            .map(|z| {
                let mut v = json!({"ZoneName": z.az, "SubnetId": z.subnet_id});
                if lb.lb_type == LbType::Network {
                    let mut addrs = Vec::new();
                    if let (Some(a), Some(ip)) = (&z.allocation_id, &z.public_ip) {
                        addrs.push(json!({"IpAddress": ip, "AllocationId": a}));
                    } else if z.fixed_ip {
                        addrs.push(json!({"PrivateIPv4Address": ip_to_string(z.ip)}));
                    }
                    v["LoadBalancerAddresses"] = Value::Array(addrs);
                }
                v
            })
            .collect(),
    )
}

/// A load balancer as the `LoadBalancer` shape.
pub fn lb_json(lb: &LoadBalancer) -> Value {
    let mut v = json!({
        "LoadBalancerArn": lb.arn,
        "DNSName": lb.dns_name,
        "CanonicalHostedZoneId": lb.hosted_zone,
        "CreatedTime": lb.created.to_iso8601_millis(),
        "LoadBalancerName": lb.name,
        "Scheme": lb.scheme,
        "VpcId": lb.vpc_id,
        "State": {"Code": if lb.active_at.is_some() { "active" } else { "provisioning" }},
        "Type": lb.lb_type.as_str(),
        "AvailabilityZones": zones_json(lb),
        "IpAddressType": lb.ip_address_type,
    });
    if lb.lb_type == LbType::Application || !lb.security_groups.is_empty() {
        v["SecurityGroups"] = json!(lb.security_groups);
    }
    if lb.lb_type == LbType::Network && !lb.security_groups.is_empty() {
        v["EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"] = json!("on");
    }
    v
}

fn unsupported(input: &Value) -> AwsResult<()> {
    for member in ["CustomerOwnedIpv4Pool", "IpamPools"] {
        if input.get(member).is_some() {
            return Err(validation(format!("{member} is not supported by cloudbox")));
        }
    }
    if input.opt_str(m::EnablePrefixForIpv6SourceNat) == Some("on") {
        return Err(validation(
            "EnablePrefixForIpv6SourceNat is not supported by cloudbox (no IPv6)",
        ));
    }
    Ok(())
}

/// CreateLoadBalancer.
pub fn create_load_balancer(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::Name)?;
    check_name(name)?;
    let t = lb_type(input)?;
    let scheme = scheme(input)?;
    unsupported(input)?;
    let (vpc_id, zones) = resolve_subnets(st, input, t, &scheme)?;
    check_ip_type(
        input.opt_str(m::IpAddressType),
        zones.first().map(|z| z.subnet_id.as_str()),
    )?;
    let asked_groups = input.str_list(m::SecurityGroups);
    let groups = if asked_groups.is_empty() && t == LbType::Application {
        default_group(st, &vpc_id)
    } else {
        resolve_groups(st, &asked_groups, &vpc_id)?
    };
    let tags = read_tags(input)?;
    if let Some(existing) = st.elbv2.load_balancers.values().find(|l| l.name == name) {
        let mut a: Vec<&str> = existing
            .zones
            .iter()
            .map(|z| z.subnet_id.as_str())
            .collect();
        let mut b: Vec<&str> = zones.iter().map(|z| z.subnet_id.as_str()).collect();
        a.sort_unstable();
        b.sort_unstable();
        let mut ga = existing.security_groups.clone();
        let mut gb = groups.clone();
        ga.sort();
        gb.sort();
        if existing.lb_type == t && existing.scheme == scheme && a == b && ga == gb {
            return Ok(json!({"LoadBalancers": [lb_json(existing)]}));
        }
        return Err(aws_err!(
            DuplicateLoadBalancerName,
            "A load balancer with the same name '{name}' exists, but with different settings"
        ));
    }
    if st
        .elbv2
        .load_balancers
        .values()
        .filter(|l| l.lb_type == t)
        .count()
        >= MAX_LOAD_BALANCERS
    {
        return Err(aws_err!(
            TooManyLoadBalancers,
            "The quota for the number of load balancers has been reached"
        ));
    }
    check_room(st, &vpc_id, &scheme, &zones.iter().collect::<Vec<_>>())?;

    let id = st.ids.hex(16);
    let arn = st.arn(
        "elasticloadbalancing",
        &format!("loadbalancer/{}/{name}/{id}", t.arn_part()),
    );
    let desc = format!("ELB {}/{name}/{id}", t.arn_part());
    let mut taken = Vec::new();
    for z in &zones {
        taken.push(take_zone(st, &desc, t, &groups, z)?);
    }
    let dns = dns_name(st, name, t, &scheme);
    let seq = st.elbv2.next_seq();
    let lb = LoadBalancer {
        arn: arn.clone(),
        name: name.to_string(),
        lb_type: t,
        scheme: scheme.clone(),
        vpc_id,
        zones: taken,
        security_groups: groups,
        ip_address_type: "ipv4".into(),
        created: st.now,
        active_at: None,
        dns_name: dns,
        hosted_zone: hosted_zone(st.region.name, t),
        attributes: lb_defaults(t, &scheme),
        seq,
    };
    let out = lb_json(&lb);
    st.elbv2.load_balancers.insert(arn.clone(), lb);
    set_tags(st, &arn, tags);
    st.schedule(
        PROVISIONING,
        RegionTimer::Elbv2(Timer::LoadBalancerActive(arn)),
    );
    Ok(json!({"LoadBalancers": [out]}))
}

/// DescribeLoadBalancers: by ARNs, by names, or all, in creation order, paged.
pub fn describe_load_balancers(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arns = input.str_list(m::LoadBalancerArns);
    let names = input.str_list(m::Names);
    if !arns.is_empty() && !names.is_empty() {
        return Err(validation(
            "Load balancer names and load balancer ARNs cannot be specified at the same time",
        ));
    }
    if arns.len() > 20 || names.len() > 20 {
        return Err(validation(
            "1 validation error detected: Value at 'names' or 'loadBalancerArns' failed to satisfy constraint: Member must have length less than or equal to 20",
        ));
    }
    let (offset, size) = page_window(input)?;
    let mut lbs: Vec<&LoadBalancer> = st.elbv2.load_balancers.values().collect();
    lbs.sort_by_key(|l| l.seq);
    let picked: Vec<&LoadBalancer> = if !arns.is_empty() {
        for a in &arns {
            check_arn(a, "loadbalancer", "load balancer")?;
        }
        if arns
            .iter()
            .any(|a| !st.elbv2.load_balancers.contains_key(a))
        {
            return Err(aws_err!(
                LoadBalancerNotFound,
                "One or more load balancers not found"
            ));
        }
        lbs.into_iter().filter(|l| arns.contains(&l.arn)).collect()
    } else if !names.is_empty() {
        let missing: Vec<&String> = names
            .iter()
            .filter(|n| !lbs.iter().any(|l| &l.name == *n))
            .collect();
        if !missing.is_empty() {
            let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            return Err(aws_err!(
                LoadBalancerNotFound,
                "Load balancers '[{}]' not found",
                list.join(", ")
            ));
        }
        lbs.into_iter()
            .filter(|l| names.contains(&l.name))
            .collect()
    } else {
        lbs
    };
    let items = picked.into_iter().map(lb_json).collect();
    let (items, next) = page(items, offset, size)?;
    let mut out = json!({"LoadBalancers": items});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

/// Removes a load balancer, its listeners and rules, their tags, and gives its ENIs back.
fn remove_lb(st: &mut RegionState, arn: &str) {
    let Some(lb) = st.elbv2.load_balancers.remove(arn) else {
        return;
    };
    let listeners: Vec<String> = st
        .elbv2
        .listeners
        .values()
        .filter(|l| l.lb_arn == arn)
        .map(|l| l.arn.clone())
        .collect();
    for l in listeners {
        super::listeners::remove_listener(st, &l);
    }
    for z in &lb.zones {
        release_zone(st, z);
    }
    st.elbv2.tags.remove(arn);
    refresh_usage(st);
}

/// DeleteLoadBalancer: succeeds for a load balancer that does not exist (as AWS); refused while
/// deletion protection is on.
pub fn delete_load_balancer(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::LoadBalancerArn)?;
    check_arn(arn, "loadbalancer", "load balancer")?;
    let Some(lb) = st.elbv2.load_balancers.get(arn) else {
        return Ok(json!({}));
    };
    if lb
        .attributes
        .get("deletion_protection.enabled")
        .map(String::as_str)
        == Some("true")
    {
        return Err(aws_err!(
            OperationNotPermitted,
            "Load balancer '{arn}' cannot be deleted because deletion protection is enabled"
        ));
    }
    remove_lb(st, arn);
    Ok(json!({}))
}

/// SetSubnets: the new set follows the create rules; kept subnets keep their ENIs, new ones get
/// one, dropped ones give theirs back.
pub fn set_subnets(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::LoadBalancerArn)?;
    let lb = get_lb(st, arn)?.clone();
    unsupported(input)?;
    let (vpc_id, zones) = resolve_subnets(st, input, lb.lb_type, &lb.scheme)?;
    if vpc_id != lb.vpc_id {
        return Err(aws_err!(
            InvalidConfigurationRequest,
            "The subnets must belong to the load balancer's VPC '{}'",
            lb.vpc_id
        ));
    }
    check_ip_type(
        input.opt_str(m::IpAddressType),
        zones.first().map(|z| z.subnet_id.as_str()),
    )?;
    let kept = |z: &ZoneRequest| {
        lb.zones.iter().any(|o| {
            o.subnet_id == z.subnet_id
                && (z.private_ip.is_none()
                    || z.private_ip.as_deref().and_then(parse_ip) == Some(o.ip))
                && (z.allocation_id.is_none() || z.allocation_id == o.allocation_id)
        })
    };
    let new: Vec<&ZoneRequest> = zones.iter().filter(|z| !kept(z)).collect();
    if new
        .iter()
        .any(|z| lb.zones.iter().any(|o| o.subnet_id == z.subnet_id))
    {
        return Err(aws_err!(
            InvalidConfigurationRequest,
            "The address or Elastic IP of a subnet the load balancer is in cannot be changed"
        ));
    }
    check_room(st, &vpc_id, &lb.scheme, &new)?;
    let id = lb.arn.rsplit('/').next().unwrap_or_default().to_string();
    let desc = format!("ELB {}/{}/{id}", lb.lb_type.arn_part(), lb.name);
    let mut next_zones = Vec::new();
    for z in &zones {
        if let Some(o) = lb.zones.iter().find(|o| o.subnet_id == z.subnet_id) {
            next_zones.push(o.clone());
        } else {
            next_zones.push(take_zone(st, &desc, lb.lb_type, &lb.security_groups, z)?);
        }
    }
    for o in &lb.zones {
        if !next_zones.iter().any(|z| z.eni_id == o.eni_id) {
            release_zone(st, o);
        }
    }
    let mut out_lb = lb;
    out_lb.zones = next_zones.clone();
    if let Some(l) = st.elbv2.load_balancers.get_mut(arn) {
        l.zones = next_zones;
    }
    Ok(json!({"AvailabilityZones": zones_json(&out_lb), "IpAddressType": out_lb.ip_address_type}))
}

/// SetSecurityGroups.
pub fn set_security_groups(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::LoadBalancerArn)?;
    let lb = get_lb(st, arn)?;
    let asked = input.str_list(m::SecurityGroups);
    if lb.lb_type == LbType::Network && lb.security_groups.is_empty() {
        return Err(aws_err!(
            InvalidConfigurationRequest,
            "You cannot set security groups on a Network Load Balancer which was created without any security groups."
        ));
    }
    if asked.is_empty() {
        return Err(match lb.lb_type {
            LbType::Application => validation("At least one security group must be specified"),
            LbType::Network => aws_err!(
                InvalidConfigurationRequest,
                "You cannot remove all security groups from a Network Load Balancer which was created with security groups."
            ),
        });
    }
    let groups = resolve_groups(st, &asked, &lb.vpc_id)?;
    let network = lb.lb_type == LbType::Network;
    let enis: Vec<String> = lb.zones.iter().map(|z| z.eni_id.clone()).collect();
    for e in enis {
        if let Some(eni) = st.enis.get_mut(&e) {
            eni.groups = groups.clone();
        }
    }
    if let Some(l) = st.elbv2.load_balancers.get_mut(arn) {
        l.security_groups = groups.clone();
    }
    let mut out = json!({"SecurityGroupIds": groups});
    if network {
        out["EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"] = json!("on");
    }
    Ok(out)
}

/// SetIpAddressType: `ipv4` only (dual-stack needs IPv6 subnets).
pub fn set_ip_address_type(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::LoadBalancerArn)?;
    let lb = get_lb(st, arn)?;
    check_ip_type(
        Some(input.req_str(m::IpAddressType)?),
        lb.zones.first().map(|z| z.subnet_id.as_str()),
    )?;
    Ok(json!({"IpAddressType": "ipv4"}))
}
