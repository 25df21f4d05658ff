//! Tags on every resource: CreateTags, DeleteTags, DescribeTags. A tag request naming a resource
//! that does not exist fails whole with that resource's own `*.NotFound` code.

use super::filter::{self, Filterable, PageLimits};
use super::input::{validate_tag, Input};
use super::state::RegionState;
use crate::aws_err;
use crate::error::{AwsError, AwsResult, Code};
use crate::members::ec2 as m;
use serde_json::{json, Value};

/// The resource type AWS reports for an id prefix.
pub fn resource_type(id: &str) -> &'static str {
    match id.split('-').next().unwrap_or_default() {
        "i" => "instance",
        "vpc" => "vpc",
        "subnet" => "subnet",
        "sg" => "security-group",
        "sgr" => "security-group-rule",
        "eni" => "network-interface",
        "vol" => "volume",
        "rtb" => "route-table",
        "igw" => "internet-gateway",
        "nat" => "natgateway",
        "eipalloc" => "elastic-ip",
        "lt" => "launch-template",
        "dopt" => "dhcp-options",
        _ => "",
    }
}

fn not_found(id: &str) -> AwsError {
    let (code, what) = match resource_type(id) {
        "instance" => (Code::InvalidInstanceIdNotFound, "instance ID"),
        "vpc" => (Code::InvalidVpcIdNotFound, "vpc ID"),
        "subnet" => (Code::InvalidSubnetIdNotFound, "subnet ID"),
        "security-group" => (Code::InvalidGroupNotFound, "security group"),
        "security-group-rule" => (
            Code::InvalidSecurityGroupRuleIdNotFound,
            "security group rule ID",
        ),
        "network-interface" => (
            Code::InvalidNetworkInterfaceIdNotFound,
            "networkInterface ID",
        ),
        "volume" => (Code::InvalidVolumeNotFound, "volume"),
        "route-table" => (Code::InvalidRouteTableIdNotFound, "routeTable ID"),
        "internet-gateway" => (Code::InvalidInternetGatewayIdNotFound, "internetGateway ID"),
        "natgateway" => (Code::NatGatewayNotFound, "natGateway ID"),
        "elastic-ip" => (Code::InvalidAllocationIdNotFound, "allocation ID"),
        "launch-template" => (Code::InvalidLaunchTemplateIdNotFound, "launch template ID"),
        _ => return AwsError::new(Code::InvalidId, format!("The ID '{id}' is not valid")),
    };
    AwsError::new(code, format!("The {what} '{id}' does not exist"))
}

fn exists(st: &RegionState, id: &str) -> bool {
    st.exists(id)
        || (id.starts_with("sgr-")
            && st
                .security_groups
                .values()
                .any(|g| g.ingress.iter().chain(g.egress.iter()).any(|r| r.id == id)))
}

/// CreateTags.
pub fn create_tags(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let resources = input.str_list(m::Resources);
    if resources.is_empty() {
        return Err(AwsError::missing("ResourceId.1"));
    }
    let mut tags = Vec::new();
    for t in input.obj_list(m::Tags) {
        let k = t.opt_str(m::Key).unwrap_or_default();
        let v = t.opt_str(m::Value).unwrap_or_default();
        validate_tag(k, v)?;
        tags.push((k.to_string(), v.to_string()));
    }
    if tags.is_empty() {
        return Err(AwsError::missing("Tag.1"));
    }
    for r in &resources {
        if !exists(st, r) {
            return Err(not_found(r));
        }
        let current = st.tags.get(r);
        let new_keys = tags
            .iter()
            .filter(|(k, _)| !current.is_some_and(|c| c.contains_key(k)))
            .map(|(k, _)| k)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        if current.map_or(0, |c| c.len()) + new_keys > 50 {
            return Err(aws_err!(
                TagLimitExceeded,
                "The maximum number of Tags for a resource has been reached."
            ));
        }
    }
    for r in resources {
        st.add_tags(&r, tags.iter().cloned().collect());
    }
    Ok(json!({}))
}

/// DeleteTags: a tag given without a value is removed whatever its value; with a value, only if
/// it matches. No tags at all removes every tag.
pub fn delete_tags(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let resources = input.str_list(m::Resources);
    if resources.is_empty() {
        return Err(AwsError::missing("ResourceId.1"));
    }
    for r in &resources {
        if !exists(st, r) {
            return Err(not_found(r));
        }
    }
    let spec = input.obj_list(m::Tags).to_vec();
    for r in resources {
        let Some(tags) = st.tags.get_mut(&r) else {
            continue;
        };
        if input.get(m::Tags).is_none() {
            tags.clear();
            continue;
        }
        for t in &spec {
            let key = t.opt_str(m::Key).unwrap_or_default();
            match t.opt_str(m::Value) {
                Some(v) if tags.get(key).map(String::as_str) != Some(v) => {}
                _ => {
                    tags.remove(key);
                }
            }
        }
    }
    Ok(json!({}))
}

struct TagRow<'a> {
    id: &'a str,
    key: &'a str,
    value: &'a str,
}

impl Filterable for TagRow<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        Some(match name {
            "key" => vec![self.key.to_string()],
            "value" => vec![self.value.to_string()],
            "resource-id" => vec![self.id.to_string()],
            "resource-type" => vec![resource_type(self.id).to_string()],
            _ => return None,
        })
    }
}

/// DescribeTags.
pub fn describe_tags(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let filters = filter::filters(input)?;
    let mut ids: Vec<&String> = st.tags.keys().collect();
    ids.sort();
    let mut out = Vec::new();
    for id in ids {
        for (k, v) in &st.tags[id] {
            let row = TagRow {
                id,
                key: k,
                value: v,
            };
            if filter::matches(&row, &filters)? {
                out.push(json!({"ResourceId": id, "ResourceType": resource_type(id), "Key": k, "Value": v}));
            }
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
    Ok(filter::page_output("Tags", page, next))
}
