//! Security groups and their rules: Create/Delete/DescribeSecurityGroups,
//! Authorize/Revoke ingress and egress, DescribeSecurityGroupRules.
//!
//! A rule is stored per (protocol, port range, one peer); Describe groups them back into
//! `IpPermissions` as AWS does. Each VPC has an undeletable `default` group.

use super::domain::all_egress;
use super::filter::{self, Filterable, PageLimits};
use super::input::{check_tag_spec_types, tag_specs, Input};
use super::state::{RegionState, SecurityGroup, SgRule, Tags};
use crate::aws_err;
use crate::error::{AwsError, AwsResult, Code};
use crate::members::ec2 as m;
use serde_json::{json, Value};

// Re-export for code written against the old path; new code uses ec2::domain.
pub use super::domain::defaults::new_default_group;
// Re-export for code written against the old path; new code uses ec2::domain.
pub use super::domain::lookup::get_group;

fn group_arn(st: &RegionState, id: &str) -> String {
    st.arn("ec2", &format!("security-group/{id}"))
}

fn permissions_json(st: &RegionState, rules: &[SgRule]) -> Vec<Value> {
    type Group<'a> = (String, Option<i64>, Option<i64>, Vec<&'a SgRule>);
    let mut groups: Vec<Group> = Vec::new();
    for r in rules {
        match groups
            .iter_mut()
            .find(|g| g.0 == r.protocol && g.1 == r.from && g.2 == r.to)
        {
            Some(g) => g.3.push(r),
            None => groups.push((r.protocol.clone(), r.from, r.to, vec![r])),
        }
    }
    groups
        .into_iter()
        .map(|(proto, from, to, rs)| {
            json!({
                "IpProtocol": proto,
                "FromPort": from,
                "ToPort": to,
                "IpRanges": rs.iter().filter_map(|r| r.cidr.as_ref().map(|c| json!({"CidrIp": c, "Description": r.description}))).collect::<Vec<_>>(),
                "Ipv6Ranges": rs.iter().filter_map(|r| r.cidr_v6.as_ref().map(|c| json!({"CidrIpv6": c, "Description": r.description}))).collect::<Vec<_>>(),
                "PrefixListIds": rs.iter().filter_map(|r| r.prefix_list_id.as_ref().map(|c| json!({"PrefixListId": c, "Description": r.description}))).collect::<Vec<_>>(),
                "UserIdGroupPairs": rs.iter().filter_map(|r| r.group_id.as_ref().map(|g| json!({"GroupId": g, "UserId": st.account, "Description": r.description}))).collect::<Vec<_>>(),
            })
        })
        .collect()
}

fn group_json(st: &RegionState, g: &SecurityGroup) -> Value {
    json!({
        "GroupId": g.id,
        "GroupName": g.name,
        "Description": g.description,
        "VpcId": g.vpc_id,
        "OwnerId": st.account,
        "SecurityGroupArn": group_arn(st, &g.id),
        "IpPermissions": permissions_json(st, &g.ingress),
        "IpPermissionsEgress": permissions_json(st, &g.egress),
        "Tags": filter::tag_list(st.tags.get(&g.id)),
    })
}

fn rule_json(st: &RegionState, g: &SecurityGroup, r: &SgRule, egress: bool) -> Value {
    json!({
        "SecurityGroupRuleId": r.id,
        "GroupId": g.id,
        "GroupOwnerId": st.account,
        "IsEgress": egress,
        "IpProtocol": r.protocol,
        "FromPort": r.from.unwrap_or(-1),
        "ToPort": r.to.unwrap_or(-1),
        "CidrIpv4": r.cidr,
        "CidrIpv6": r.cidr_v6,
        "PrefixListId": r.prefix_list_id,
        "ReferencedGroupInfo": r.group_id.as_ref().map(|gid| json!({"GroupId": gid, "UserId": st.account})),
        "Description": r.description,
        "SecurityGroupRuleArn": st.arn("ec2", &format!("security-group-rule/{}", r.id)),
        "Tags": filter::tag_list(st.tags.get(&r.id)),
    })
}

struct SgView<'a>(&'a SecurityGroup, Option<&'a Tags>, &'a RegionState);

impl Filterable for SgView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let g = self.0;
        let ports = |rules: &[SgRule], f: fn(&SgRule) -> Option<i64>| -> Vec<String> {
            rules
                .iter()
                .map(|r| f(r).unwrap_or(-1).to_string())
                .collect()
        };
        Some(match name {
            "group-id" => vec![g.id.clone()],
            "group-name" => vec![g.name.clone()],
            "description" => vec![g.description.clone()],
            "vpc-id" => vec![g.vpc_id.clone()],
            "owner-id" => vec![self.2.account.clone()],
            "ip-permission.cidr" => g.ingress.iter().filter_map(|r| r.cidr.clone()).collect(),
            "ip-permission.group-id" => g
                .ingress
                .iter()
                .filter_map(|r| r.group_id.clone())
                .collect(),
            "ip-permission.protocol" => g.ingress.iter().map(|r| r.protocol.clone()).collect(),
            "ip-permission.from-port" => ports(&g.ingress, |r| r.from),
            "ip-permission.to-port" => ports(&g.ingress, |r| r.to),
            "egress.ip-permission.cidr" => g.egress.iter().filter_map(|r| r.cidr.clone()).collect(),
            "egress.ip-permission.group-id" => {
                g.egress.iter().filter_map(|r| r.group_id.clone()).collect()
            }
            "egress.ip-permission.protocol" => {
                g.egress.iter().map(|r| r.protocol.clone()).collect()
            }
            _ => return None,
        })
    }
    fn tags(&self) -> Option<&Tags> {
        self.1
    }
}

/// The default VPC's id, for requests that omit `VpcId`.
fn default_vpc(st: &RegionState) -> AwsResult<String> {
    st.vpcs
        .values()
        .find(|v| v.is_default)
        .map(|v| v.id.clone())
        .ok_or_else(|| aws_err!(InvalidParameterValue, "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC."))
}

/// CreateSecurityGroup.
pub fn create_security_group(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    check_tag_spec_types(input, &["security-group"])?;
    let name = input.req_str(m::GroupName)?;
    let description = input.req_str(m::Description)?;
    let vpc_id = match input.opt_str(m::VpcId) {
        Some(v) => {
            st.vpc(v)?;
            v.to_string()
        }
        None => default_vpc(st)?,
    };
    if name.is_empty() || name.len() > 255 || description.len() > 255 {
        return Err(aws_err!(
            InvalidParameterValue,
            "Invalid value '{name}' for groupName. Length must be 1-255 characters."
        ));
    }
    if name.starts_with("sg-") {
        return Err(aws_err!(
            InvalidParameterValue,
            "Group names may not be in the format sg-*"
        ));
    }
    if name == "default"
        || st
            .security_groups
            .values()
            .any(|g| g.vpc_id == vpc_id && g.name == name)
    {
        return Err(aws_err!(
            InvalidGroupDuplicate,
            "The security group '{name}' already exists for VPC '{vpc_id}'"
        ));
    }
    let tags = tag_specs(input, "security-group")?;
    let id = st.new_id("sg");
    let egress = all_egress(st);
    st.security_groups.insert(
        id.clone(),
        SecurityGroup {
            id: id.clone(),
            name: name.to_string(),
            description: description.to_string(),
            vpc_id,
            ingress: vec![],
            egress: vec![egress],
        },
    );
    st.add_tags(&id, tags);
    Ok(json!({
        "GroupId": id,
        "SecurityGroupArn": group_arn(st, &id),
        "Tags": filter::tag_list(st.tags.get(&id)),
    }))
}

fn resolve_group(st: &RegionState, input: &Value) -> AwsResult<String> {
    if let Some(id) = input.opt_str(m::GroupId) {
        return st.security_group(id).map(|g| g.id.clone());
    }
    let name = input
        .opt_str(m::GroupName)
        .ok_or_else(|| AwsError::missing("GroupId"))?;
    let vpc = default_vpc(st)?;
    st.security_groups
        .values()
        .find(|g| g.vpc_id == vpc && g.name == name)
        .map(|g| g.id.clone())
        .ok_or_else(|| {
            aws_err!(
                InvalidGroupNotFound,
                "The security group '{name}' does not exist in default VPC '{vpc}'"
            )
        })
}

/// DeleteSecurityGroup.
pub fn delete_security_group(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = resolve_group(st, input)?;
    let g = st.security_group(&id)?;
    if g.name == "default" {
        return Err(AwsError::new(
            Code::InvalidParameterValue,
            format!("the specified group: \"{id}\" name: \"default\" cannot be deleted by a user"),
        ));
    }
    let in_use = st.enis.values().any(|e| e.groups.contains(&id))
        || st.security_groups.values().any(|o| {
            o.id != id
                && o.ingress
                    .iter()
                    .chain(o.egress.iter())
                    .any(|r| r.group_id.as_deref() == Some(id.as_str()))
        });
    if in_use {
        return Err(aws_err!(
            DependencyViolation,
            "resource {id} has a dependent object"
        ));
    }
    st.security_groups.remove(&id);
    st.tags.remove(&id);
    Ok(json!({"Return": true, "GroupId": id}))
}

/// DescribeSecurityGroups.
pub fn describe_security_groups(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let ids = input.str_list(m::GroupIds);
    for id in &ids {
        st.security_group(id)?;
    }
    let names = input.str_list(m::GroupNames);
    if !names.is_empty() {
        let vpc = default_vpc(st)?;
        for n in &names {
            if !st
                .security_groups
                .values()
                .any(|g| g.vpc_id == vpc && &g.name == n)
            {
                return Err(aws_err!(
                    InvalidGroupNotFound,
                    "The security group '{n}' does not exist in default VPC '{vpc}'"
                ));
            }
        }
    }
    let filters = filter::filters(input)?;
    let mut out = Vec::new();
    for g in st.security_groups.values() {
        if !ids.is_empty() && !ids.contains(&g.id) {
            continue;
        }
        if !names.is_empty() && !names.contains(&g.name) {
            continue;
        }
        if filter::matches(&SgView(g, st.tags.get(&g.id), st), &filters)? {
            out.push(group_json(st, g));
        }
    }
    let (page, next) = filter::page(
        out,
        input,
        PageLimits {
            min: 5,
            max: 1000,
            default: None,
        },
    )?;
    Ok(filter::page_output("SecurityGroups", page, next))
}

/// DescribeSecurityGroupRules.
pub fn describe_security_group_rules(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let ids = input.str_list(m::SecurityGroupRuleIds);
    let filters = filter::filters(input)?;
    let mut group_filter = Vec::new();
    let mut rule_filter = Vec::new();
    for f in &filters {
        match f.name.as_str() {
            "group-id" => group_filter.extend(f.values.clone()),
            "security-group-rule-id" => rule_filter.extend(f.values.clone()),
            other => {
                return Err(aws_err!(
                    InvalidParameterValue,
                    "The filter '{other}' is invalid"
                ))
            }
        }
    }
    let mut out = Vec::new();
    for g in st.security_groups.values() {
        if !group_filter.is_empty() && !group_filter.contains(&g.id) {
            continue;
        }
        for (rules, egress) in [(&g.ingress, false), (&g.egress, true)] {
            for r in rules {
                if (!ids.is_empty() && !ids.contains(&r.id))
                    || (!rule_filter.is_empty() && !rule_filter.contains(&r.id))
                {
                    continue;
                }
                out.push(rule_json(st, g, r, egress));
            }
        }
    }
    for id in &ids {
        if !out.iter().any(|r| r["SecurityGroupRuleId"] == id.as_str()) {
            return Err(aws_err!(
                InvalidSecurityGroupRuleIdNotFound,
                "The security group rule ID '{id}' does not exist"
            ));
        }
    }
    let (page, next) = filter::page(
        out,
        input,
        PageLimits {
            min: 5,
            max: 1000,
            default: None,
        },
    )?;
    Ok(filter::page_output("SecurityGroupRules", page, next))
}

fn normalize_protocol(p: &str) -> AwsResult<String> {
    Ok(match p.to_ascii_lowercase().as_str() {
        "tcp" | "6" => "tcp".into(),
        "udp" | "17" => "udp".into(),
        "icmp" | "1" => "icmp".into(),
        "icmpv6" | "58" => "icmpv6".into(),
        "-1" | "all" => "-1".into(),
        n if n.parse::<u8>().is_ok() => n.to_string(),
        _ => {
            return Err(aws_err!(
                InvalidParameterValue,
                "Invalid value '{p}' for IP protocol. Unknown protocol."
            ))
        }
    })
}

/// Expands the request's permissions into single-peer rules (without ids yet).
fn requested_rules(st: &RegionState, input: &Value) -> AwsResult<Vec<SgRule>> {
    let mut perms: Vec<Value> = input.obj_list(m::IpPermissions).to_vec();
    if let Some(proto) = input.opt_str(m::IpProtocol) {
        let mut p = json!({"IpProtocol": proto, "FromPort": input.get(m::FromPort), "ToPort": input.get(m::ToPort)});
        if let Some(c) = input.opt_str(m::CidrIp) {
            p["IpRanges"] = json!([{"CidrIp": c}]);
        }
        perms.push(p);
    }
    let mut out = Vec::new();
    for p in &perms {
        let protocol = normalize_protocol(
            p.opt_str(m::IpProtocol)
                .ok_or_else(|| AwsError::missing("IpPermissions.N.IpProtocol"))?,
        )?;
        let (from, to) = if protocol == "-1" {
            (None, None)
        } else {
            let from = p.opt_i64(m::FromPort);
            let to = p.opt_i64(m::ToPort);
            if matches!(protocol.as_str(), "tcp" | "udp") {
                match (from, to) {
                    (Some(f), Some(t)) if (0..=65535).contains(&f) && (0..=65535).contains(&t) && f <= t => {}
                    _ => {
                        return Err(aws_err!(
                            InvalidParameterValue,
                            "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange"
                        ))
                    }
                }
            }
            (from, to)
        };
        let base = SgRule {
            id: String::new(),
            protocol,
            from,
            to,
            cidr: None,
            cidr_v6: None,
            group_id: None,
            prefix_list_id: None,
            description: None,
        };
        for r in p.obj_list(m::IpRanges) {
            let c = r
                .opt_str(m::CidrIp)
                .ok_or_else(|| AwsError::missing("IpRanges.N.CidrIp"))?;
            if super::cidr::Cidr::parse(c).is_none() {
                return Err(aws_err!(
                    InvalidParameterValue,
                    "CIDR block {c} is malformed"
                ));
            }
            out.push(SgRule {
                cidr: Some(c.into()),
                description: r.opt_str(m::Description).map(Into::into),
                ..base.clone()
            });
        }
        for r in p.obj_list(m::Ipv6Ranges) {
            let c = r
                .opt_str(m::CidrIpv6)
                .ok_or_else(|| AwsError::missing("Ipv6Ranges.N.CidrIpv6"))?;
            out.push(SgRule {
                cidr_v6: Some(c.into()),
                description: r.opt_str(m::Description).map(Into::into),
                ..base.clone()
            });
        }
        for r in p.obj_list(m::PrefixListIds) {
            let c = r
                .opt_str(m::PrefixListId)
                .ok_or_else(|| AwsError::missing("PrefixListIds.N.PrefixListId"))?;
            out.push(SgRule {
                prefix_list_id: Some(c.into()),
                description: r.opt_str(m::Description).map(Into::into),
                ..base.clone()
            });
        }
        for r in p.obj_list(m::UserIdGroupPairs) {
            let gid = r
                .opt_str(m::GroupId)
                .ok_or_else(|| AwsError::missing("UserIdGroupPairs.N.GroupId"))?;
            st.security_group(gid)?;
            out.push(SgRule {
                group_id: Some(gid.into()),
                description: r.opt_str(m::Description).map(Into::into),
                ..base.clone()
            });
        }
    }
    if out.is_empty() {
        return Err(AwsError::missing("IpPermissions"));
    }
    Ok(out)
}

fn peer(r: &SgRule) -> String {
    r.cidr
        .clone()
        .or_else(|| r.cidr_v6.clone())
        .or_else(|| r.group_id.clone())
        .or_else(|| r.prefix_list_id.clone())
        .unwrap_or_default()
}

fn authorize(st: &mut RegionState, input: &Value, egress: bool) -> AwsResult<Value> {
    let id = resolve_group(st, input)?;
    let rules = requested_rules(st, input)?;
    let g = st.security_group(&id)?;
    let existing = if egress { &g.egress } else { &g.ingress };
    for (i, r) in rules.iter().enumerate() {
        if existing
            .iter()
            .chain(rules[..i].iter())
            .any(|e| e.same_permission(r))
        {
            let ports = match (r.from, r.to) {
                (Some(f), Some(t)) => format!(", from port: {f}, to port: {t}"),
                _ => String::new(),
            };
            return Err(aws_err!(
                InvalidPermissionDuplicate,
                "the specified rule \"peer: {}, {}{ports}, ALLOW\" already exists",
                peer(r),
                if r.protocol == "-1" {
                    "ALL".to_string()
                } else {
                    r.protocol.to_uppercase()
                }
            ));
        }
    }
    let mut added = Vec::new();
    for mut r in rules {
        r.id = st.new_id("sgr");
        added.push(r);
    }
    let tags = tag_specs(input, "security-group-rule")?;
    for r in &added {
        st.add_tags(&r.id, tags.clone());
    }
    let Some(g) = st.security_groups.get_mut(&id) else {
        return Err(aws_err!(
            InvalidGroupNotFound,
            "The security group '{id}' does not exist"
        ));
    };
    if egress {
        g.egress.extend(added.iter().cloned());
    } else {
        g.ingress.extend(added.iter().cloned());
    }
    let g = &st.security_groups[&id];
    let rules: Vec<Value> = added.iter().map(|r| rule_json(st, g, r, egress)).collect();
    Ok(json!({"Return": true, "SecurityGroupRules": rules}))
}

fn revoke(st: &mut RegionState, input: &Value, egress: bool) -> AwsResult<Value> {
    let id = resolve_group(st, input)?;
    let rule_ids = input.str_list(m::SecurityGroupRuleIds);
    let g = st.security_group(&id)?;
    let existing = if egress { &g.egress } else { &g.ingress };
    let mut remove: Vec<String> = Vec::new();
    let mut unknown = Vec::new();
    if !rule_ids.is_empty() {
        for rid in &rule_ids {
            if !existing.iter().any(|r| &r.id == rid) {
                return Err(aws_err!(
                    InvalidSecurityGroupRuleIdNotFound,
                    "The security group rule ID '{rid}' does not exist"
                ));
            }
            remove.push(rid.clone());
        }
    } else {
        for r in requested_rules(st, input)? {
            match existing.iter().find(|e| e.same_permission(&r)) {
                Some(e) => remove.push(e.id.clone()),
                None => unknown.push(r),
            }
        }
        if remove.is_empty() {
            return Err(aws_err!(
                InvalidPermissionNotFound,
                "The specified rule does not exist in this security group."
            ));
        }
    }
    if let Some(g) = st.security_groups.get_mut(&id) {
        let list = if egress {
            &mut g.egress
        } else {
            &mut g.ingress
        };
        list.retain(|r| !remove.contains(&r.id));
    }
    let unknown = permissions_json(st, &unknown);
    Ok(json!({"Return": true, "UnknownIpPermissions": unknown}))
}

/// AuthorizeSecurityGroupIngress.
pub fn authorize_ingress(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    authorize(st, input, false)
}
/// AuthorizeSecurityGroupEgress.
pub fn authorize_egress(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    authorize(st, input, true)
}
/// RevokeSecurityGroupIngress.
pub fn revoke_ingress(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    revoke(st, input, false)
}
/// RevokeSecurityGroupEgress.
pub fn revoke_egress(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    revoke(st, input, true)
}
