//! Classic load balancers: CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer,
//! ApplySecurityGroupsToLoadBalancer, AttachLoadBalancerToSubnets, DetachLoadBalancerFromSubnets.
//!
//! Rules (AWS's codes): names of 1-32 alphanumerics and hyphens (`ValidationError`); exactly one
//! of `Subnets` and `AvailabilityZones` (`ValidationError`); subnets exist (`SubnetNotFound`), in
//! one VPC (`InvalidSubnet`), at most one per AZ (`InvalidConfigurationRequest`, HTTP 409), with
//! at least 8 free addresses (`InvalidSubnet`); an internet-facing load balancer needs an internet
//! gateway on its VPC (`InvalidSubnet`); security groups exist in the VPC
//! (`InvalidSecurityGroup`; none given means the VPC's default group). Creating a load balancer
//! that exists with the same listeners, scheme and subnets answers its DNS name again (AWS's
//! idempotency); otherwise `DuplicateLoadBalancerName`. The load balancer takes one ENI
//! (`ELB <name>`, requester-managed) per subnet, from the subnet's free addresses, and gives it
//! back on delete or detach.

use super::listeners::{listener_json, parse_listeners};
use super::{get_lb, get_lb_mut, not_found, Attributes, HealthCheck, LoadBalancer};
use crate::aws_err;
use crate::ec2::input::Input;
use crate::ec2::network_interfaces::{default_group, insert_eni, remove_eni, EniAddresses};
use crate::error::AwsResult;
use crate::members::elb as m;
use crate::region::RegionState;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Free addresses a subnet must have for a classic load balancer.
const MIN_FREE_ADDRESSES: u64 = 8;

/// Checks a load balancer name: 1-32 characters, alphanumerics and hyphens, no hyphen at
/// either end.
pub fn check_name(name: &str) -> AwsResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(aws_err!(
            ValidationError,
            "LoadBalancerName '{name}' is not valid: it must have 1 to 32 characters, only alphanumeric characters and hyphens, and must not begin or end with a hyphen."
        ))
    }
}

/// The hosted zone of classic load balancers' DNS names in a region.
pub fn hosted_zone_id(region: &str) -> &'static str {
    match region {
        "us-east-2" => "Z3AADJGX6KTTL2",
        "us-west-1" => "Z368ELLRRE2KJ0",
        "us-west-2" => "Z1H1FL5HABSF5",
        "ca-central-1" => "ZQSVJUPU6J1EY",
        "sa-east-1" => "Z2P70J7HTTTPLU",
        "eu-west-1" => "Z32O12XQLNTSW2",
        "eu-west-2" => "ZHURV8PSTC4K8",
        "eu-west-3" => "Z3Q77PNBQS71R4",
        "eu-central-1" => "Z215JYRZR1TBD5",
        "eu-north-1" => "Z23TAZ7KSJTRU9",
        "ap-south-1" => "ZP97RAFLXTNZK",
        "ap-northeast-1" => "Z14GRHDCWA56QT",
        "ap-northeast-2" => "ZWKZPGTI48KDX",
        "ap-southeast-1" => "Z1LMS91P8CMLE5",
        "ap-southeast-2" => "Z1GM3OXH4ZPM65",
        "cn-north-1" => "Z1GDH35T77C1KE",
        "cn-northwest-1" => "ZM7IZAIOVVDZF",
        "us-gov-west-1" => "Z33AYJ8TM3BH4J",
        "us-gov-east-1" => "Z166TLBEWOO7G0",
        _ => "Z35SXDOTRQ7X7K",
    }
}

/// The subnets a request names, checked: they exist, share one VPC, cover each AZ at most once
/// (together with `existing`), and have room for the load balancer. Returns the VPC.
fn check_subnets(st: &RegionState, subnets: &[String], existing: &[String]) -> AwsResult<String> {
    let mut vpc: Option<String> = existing
        .first()
        .and_then(|s| st.subnets.get(s))
        .map(|s| s.vpc_id.clone());
    let mut azs: BTreeMap<String, String> = existing
        .iter()
        .filter_map(|s| st.subnets.get(s).map(|x| (x.az.clone(), s.clone())))
        .collect();
    for id in subnets {
        let s = st.subnets.get(id).ok_or_else(|| {
            aws_err!(
                ElbSubnetNotFound,
                "One or more subnets specified do not exist: {id}"
            )
        })?;
        match &vpc {
            Some(v) if *v != s.vpc_id => {
                return Err(aws_err!(
                    ElbInvalidSubnet,
                    "Subnet {id} is in VPC {} but the load balancer is in VPC {v}; all subnets must be in one VPC.",
                    s.vpc_id
                ))
            }
            _ => vpc = Some(s.vpc_id.clone()),
        }
        if existing.contains(id) || azs.get(&s.az) == Some(id) {
            continue;
        }
        if azs.contains_key(&s.az) {
            return Err(aws_err!(
                ElbInvalidConfigurationRequest,
                "ELB cannot be attached to multiple subnets in the same AZ."
            ));
        }
        azs.insert(s.az.clone(), id.clone());
        if s.available() < MIN_FREE_ADDRESSES {
            return Err(aws_err!(
                ElbInvalidSubnet,
                "Not enough IP space available in {id}. ELB requires at least {MIN_FREE_ADDRESSES} free IP addresses in each subnet."
            ));
        }
    }
    vpc.ok_or_else(|| {
        aws_err!(
            ValidationError,
            "Either AvailabilityZones or SubnetIds must be specified"
        )
    })
}

/// The security groups of a request, checked against the VPC; none means the default group.
fn check_groups(st: &RegionState, groups: &[String], vpc_id: &str) -> AwsResult<Vec<String>> {
    if groups.is_empty() {
        return Ok(default_group(st, vpc_id));
    }
    for g in groups {
        match st.security_groups.get(g) {
            Some(sg) if sg.vpc_id == vpc_id => {}
            Some(_) => {
                return Err(aws_err!(
                    ElbInvalidSecurityGroup,
                    "Security group {g} does not belong to VPC {vpc_id}"
                ))
            }
            None => {
                return Err(aws_err!(
                    ElbInvalidSecurityGroup,
                    "One or more security groups are invalid: {g}"
                ))
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    for g in groups {
        if !out.contains(g) {
            out.push(g.clone());
        }
    }
    Ok(out)
}

/// The default subnets of the default VPC for the named AZs.
fn default_subnets(st: &RegionState, azs: &[String]) -> AwsResult<Vec<String>> {
    let mut out = Vec::new();
    for az in azs {
        if st.az(az).is_none() {
            return Err(aws_err!(ValidationError, "Invalid Availability Zone: {az}"));
        }
        let id = st
            .subnets
            .values()
            .find(|s| s.az == *az && s.default_for_az)
            .map(|s| s.id.clone())
            .ok_or_else(|| {
                aws_err!(
                    ValidationError,
                    "No default subnet for availability zone: '{az}'."
                )
            })?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Takes one ENI per subnet for a load balancer (checks done).
fn take_enis(
    st: &mut RegionState,
    name: &str,
    groups: &[String],
    subnets: &[String],
) -> AwsResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for s in subnets {
        let eni = insert_eni(
            st,
            s,
            &format!("ELB {name}"),
            groups.to_vec(),
            &EniAddresses::default(),
        )?;
        if let Some(e) = st.enis.get_mut(&eni) {
            e.requester_managed = true;
        }
        out.insert(s.clone(), eni);
    }
    Ok(out)
}

/// The DNS name of a new load balancer.
fn dns_name(st: &mut RegionState, name: &str, internal: bool) -> String {
    let n = 1_000_000_000 + st.ids.below(9_000_000_000);
    format!(
        "{}{name}-{n}.{}.elb.{}",
        if internal { "internal-" } else { "" },
        st.region.name,
        st.region.dns_suffix()
    )
}

/// CreateLoadBalancer.
pub fn create_load_balancer(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::LoadBalancerName)?;
    check_name(name)?;
    let listeners = parse_listeners(input.obj_list(m::Listeners))?;
    if listeners.is_empty() {
        return Err(aws_err!(
            ValidationError,
            "At least one listener must be specified"
        ));
    }
    let scheme = input.opt_str(m::Scheme).unwrap_or("internet-facing");
    if scheme != "internet-facing" && scheme != "internal" {
        return Err(aws_err!(
            ValidationError,
            "Invalid value for Scheme: '{scheme}'. Valid values: internet-facing, internal"
        ));
    }
    let (subnets, azs) = (
        input.str_list(m::Subnets),
        input.str_list(m::AvailabilityZones),
    );
    let subnets = match (subnets.is_empty(), azs.is_empty()) {
        (true, true) => {
            return Err(aws_err!(
                ValidationError,
                "Either AvailabilityZones or SubnetIds must be specified"
            ))
        }
        (false, false) => {
            return Err(aws_err!(
                ValidationError,
                "Only one of SubnetIds or AvailabilityZones may be specified"
            ))
        }
        (false, true) => subnets,
        (true, false) => default_subnets(st, &azs)?,
    };
    let mut subnets = subnets;
    let mut seen = std::collections::BTreeSet::new();
    subnets.retain(|s| seen.insert(s.clone()));
    let tags = super::tags::parse_tags(input.obj_list(m::Tags))?;
    super::tags::check_count(name, tags.len())?;
    if let Some(lb) = st.elb.lbs.get(name) {
        let mut a = lb.subnets.clone();
        let mut b = subnets.clone();
        a.sort();
        b.sort();
        let same_listeners = lb.listeners.len() == listeners.len()
            && listeners.iter().all(|l| {
                lb.listeners.get(&l.port).is_some_and(|x| {
                    x.protocol == l.protocol
                        && x.instance_port == l.instance_port
                        && x.instance_protocol == l.instance_protocol
                        && x.certificate == l.certificate
                })
            });
        if same_listeners && lb.scheme == scheme && a == b {
            return Ok(json!({"DNSName": lb.dns_name}));
        }
        return Err(aws_err!(
            ElbDuplicateLoadBalancerName,
            "Load Balancer named '{name}' already exists and it is configured with different parameters."
        ));
    }
    let vpc_id = check_subnets(st, &subnets, &[])?;
    let groups = check_groups(st, &input.str_list(m::SecurityGroups), &vpc_id)?;
    if scheme == "internet-facing"
        && !st
            .igws
            .values()
            .any(|g| g.vpc_id.as_deref() == Some(vpc_id.as_str()))
    {
        return Err(aws_err!(
            ElbInvalidSubnet,
            "VPC {vpc_id} has no internet gateway"
        ));
    }
    let enis = take_enis(st, name, &groups, &subnets)?;
    let dns = dns_name(st, name, scheme == "internal");
    let first_port = listeners.first().map_or(80, |l| l.instance_port);
    let lb = LoadBalancer {
        name: name.to_string(),
        dns_name: dns.clone(),
        scheme: scheme.to_string(),
        vpc_id,
        subnets,
        enis,
        security_groups: groups,
        listeners: listeners.into_iter().map(|l| (l.port, l)).collect(),
        instances: Vec::new(),
        health_check: HealthCheck {
            target: format!("TCP:{first_port}"),
            interval: 30,
            timeout: 5,
            unhealthy_threshold: 2,
            healthy_threshold: 10,
        },
        attributes: Attributes::default(),
        policies: Vec::new(),
        backend_policies: BTreeMap::new(),
        tags: tags.into_iter().collect(),
        created: st.now,
    };
    st.elb.lbs.insert(name.to_string(), lb);
    Ok(json!({"DNSName": dns}))
}

/// A load balancer as the `LoadBalancerDescription` shape.
pub fn lb_json(st: &RegionState, lb: &LoadBalancer) -> Value {
    let azs: Vec<String> = lb
        .subnets
        .iter()
        .filter_map(|s| st.subnets.get(s).map(|x| x.az.clone()))
        .collect();
    let source_group = lb
        .security_groups
        .first()
        .and_then(|g| st.security_groups.get(g))
        .map(|g| json!({"OwnerAlias": st.account, "GroupName": g.name}));
    let mut v = json!({
        "LoadBalancerName": lb.name,
        "DNSName": lb.dns_name,
        "CanonicalHostedZoneNameID": hosted_zone_id(st.region.name),
        "ListenerDescriptions": lb.listeners.values().map(|l| json!({"Listener": listener_json(l), "PolicyNames": l.policies})).collect::<Vec<_>>(),
        "Policies": {
            "AppCookieStickinessPolicies": [],
            "LBCookieStickinessPolicies": [],
            "OtherPolicies": lb.policies.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
        },
        "BackendServerDescriptions": lb.backend_policies.iter().map(|(port, names)| json!({"InstancePort": port, "PolicyNames": names})).collect::<Vec<_>>(),
        "AvailabilityZones": azs,
        "Subnets": lb.subnets,
        "VPCId": lb.vpc_id,
        "Instances": lb.instances.iter().map(|r| json!({"InstanceId": r.instance_id})).collect::<Vec<_>>(),
        "HealthCheck": super::instances::health_check_json(&lb.health_check),
        "SecurityGroups": lb.security_groups,
        "CreatedTime": lb.created.to_iso8601_millis(),
        "Scheme": lb.scheme,
    });
    if lb.scheme == "internet-facing" {
        v["CanonicalHostedZoneName"] = json!(lb.dns_name);
    }
    if let Some(g) = source_group {
        v["SourceSecurityGroup"] = g;
    }
    v
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

/// DescribeLoadBalancers: by names (each must exist) or all, `PageSize` 1-400 with `Marker`.
pub fn describe_load_balancers(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let names = input.str_list(m::LoadBalancerNames);
    for n in &names {
        get_lb(st, n)?;
    }
    let page_size = match input.opt_i64(m::PageSize) {
        Some(p) if !(1..=400).contains(&p) => {
            return Err(aws_err!(
                ValidationError,
                "1 validation error detected: Value '{p}' at 'pageSize' failed to satisfy constraint: Member must have value between 1 and 400"
            ))
        }
        Some(p) => p as usize,
        None => 400,
    };
    let start = match input.opt_str(m::Marker) {
        Some(m) => Some(unhex(m).ok_or_else(|| aws_err!(ValidationError, "Invalid Marker"))?),
        None => None,
    };
    let selected: Vec<&LoadBalancer> = st
        .elb
        .lbs
        .values()
        .filter(|lb| names.is_empty() || names.contains(&lb.name))
        .filter(|lb| start.as_ref().is_none_or(|s| lb.name >= *s))
        .collect();
    let next = selected.get(page_size).map(|lb| hex(&lb.name));
    let out: Vec<Value> = selected
        .iter()
        .take(page_size)
        .map(|lb| lb_json(st, lb))
        .collect();
    let mut v = json!({ "LoadBalancerDescriptions": out });
    if let Some(n) = next {
        v["NextMarker"] = json!(n);
    }
    Ok(v)
}

/// DeleteLoadBalancer: gives back its ENIs; an unknown name succeeds (as in AWS).
pub fn delete_load_balancer(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::LoadBalancerName)?;
    if let Some(lb) = st.elb.lbs.remove(name) {
        for eni in lb.enis.values() {
            remove_eni(st, eni);
        }
    }
    Ok(json!({}))
}

/// ApplySecurityGroupsToLoadBalancer: replaces the groups (of the load balancer and its ENIs).
pub fn apply_security_groups(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::LoadBalancerName)?;
    let lb = get_lb(st, name)?;
    let requested = input.str_list(m::SecurityGroups);
    if requested.is_empty() {
        return Err(aws_err!(
            ValidationError,
            "SecurityGroups must contain at least one security group"
        ));
    }
    let groups = check_groups(st, &requested, &lb.vpc_id.clone())?;
    let enis: Vec<String> = lb.enis.values().cloned().collect();
    for e in enis {
        if let Some(e) = st.enis.get_mut(&e) {
            e.groups = groups.clone();
        }
    }
    let lb = get_lb_mut(st, name)?;
    lb.security_groups = groups.clone();
    Ok(json!({ "SecurityGroups": groups }))
}

/// AttachLoadBalancerToSubnets: adds subnets (one per AZ), taking an ENI in each.
pub fn attach_to_subnets(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::LoadBalancerName)?;
    let lb = get_lb(st, name)?;
    let existing = lb.subnets.clone();
    let groups = lb.security_groups.clone();
    let requested = input.str_list(m::Subnets);
    check_subnets(st, &requested, &existing)?;
    let mut new: Vec<String> = Vec::new();
    for s in requested {
        if !existing.contains(&s) && !new.contains(&s) {
            new.push(s);
        }
    }
    let enis = take_enis(st, name, &groups, &new)?;
    let lb = st.elb.lbs.get_mut(name).ok_or_else(|| not_found(name))?;
    lb.subnets.extend(new);
    lb.enis.extend(enis);
    Ok(json!({ "Subnets": lb.subnets }))
}

/// DetachLoadBalancerFromSubnets: removes subnets (at least one must remain), giving back
/// their ENIs. Subnets the load balancer is not in are ignored.
pub fn detach_from_subnets(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::LoadBalancerName)?;
    let lb = get_lb(st, name)?;
    let requested = input.str_list(m::Subnets);
    let remaining: Vec<String> = lb
        .subnets
        .iter()
        .filter(|s| !requested.contains(s))
        .cloned()
        .collect();
    if remaining.is_empty() {
        return Err(aws_err!(
            ElbInvalidConfigurationRequest,
            "Requested configuration change is invalid: a load balancer must remain attached to at least one subnet."
        ));
    }
    let lb = get_lb_mut(st, name)?;
    let mut freed = Vec::new();
    for s in &requested {
        if let Some(e) = lb.enis.remove(s) {
            freed.push(e);
        }
    }
    lb.subnets = remaining.clone();
    for e in freed {
        remove_eni(st, &e);
    }
    Ok(json!({ "Subnets": remaining }))
}
