//! Route tables: routes (local, internet gateway, NAT gateway, ENI, instance), subnet
//! associations and the VPC's main table. Controllers tell public subnets from private ones by
//! a `0.0.0.0/0` route to an `igw-`; a subnet without an explicit association uses the main table.

use super::cidr::Cidr;
use super::filter::{self, Filterable, PageLimits};
use super::input::{check_tag_spec_types, tag_specs, Input};
use super::state::{RegionState, Route, RouteTable, RtAssociation, Tags};
use crate::aws_err;
use crate::error::AwsResult;
use crate::members::ec2 as m;
use serde_json::{json, Value};

// Re-export for code written against the old path; new code uses ec2::domain.
pub use super::domain::defaults::{new_main_route_table, rt_route};

fn route_state(st: &RegionState, rt: &RouteTable, r: &Route) -> &'static str {
    if let Some(g) = &r.gateway_id {
        let attached = st
            .igws
            .get(g)
            .is_some_and(|i| i.vpc_id.as_deref() == Some(rt.vpc_id.as_str()));
        if g.starts_with("igw-") && !attached {
            return "blackhole";
        }
    }
    if let Some(n) = &r.nat_gateway_id {
        if !st
            .nat_gateways
            .get(n)
            .is_some_and(|n| n.state == "available" || n.state == "pending")
        {
            return "blackhole";
        }
    }
    if let Some(e) = &r.eni_id {
        if !st.enis.contains_key(e) {
            return "blackhole";
        }
    }
    "active"
}

fn rt_json(st: &RegionState, rt: &RouteTable) -> Value {
    let routes: Vec<Value> = rt
        .routes
        .iter()
        .map(|r| {
            json!({
                "DestinationCidrBlock": r.destination,
                "GatewayId": r.gateway_id,
                "NatGatewayId": r.nat_gateway_id,
                "NetworkInterfaceId": r.eni_id,
                "InstanceId": r.instance_id,
                "InstanceOwnerId": r.instance_id.as_ref().map(|_| st.account.clone()),
                "State": route_state(st, rt, r),
                "Origin": r.origin,
            })
        })
        .collect();
    let assocs: Vec<Value> = rt
        .associations
        .iter()
        .map(|a| {
            json!({
                "RouteTableAssociationId": a.id,
                "RouteTableId": rt.id,
                "SubnetId": a.subnet_id,
                "Main": a.main,
                "AssociationState": {"State": "associated"},
            })
        })
        .collect();
    json!({
        "RouteTableId": rt.id,
        "VpcId": rt.vpc_id,
        "OwnerId": st.account,
        "Routes": routes,
        "Associations": assocs,
        "PropagatingVgws": [],
        "Tags": filter::tag_list(st.tags.get(&rt.id)),
    })
}

struct RtView<'a>(&'a RouteTable, Option<&'a Tags>, &'a RegionState);

impl Filterable for RtView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let rt = self.0;
        let a = &rt.associations;
        let r = &rt.routes;
        Some(match name {
            "route-table-id" => vec![rt.id.clone()],
            "vpc-id" => vec![rt.vpc_id.clone()],
            "owner-id" => vec![self.2.account.clone()],
            "association.route-table-association-id" => a.iter().map(|x| x.id.clone()).collect(),
            "association.route-table-id" => a.iter().map(|_| rt.id.clone()).collect(),
            "association.subnet-id" => a.iter().filter_map(|x| x.subnet_id.clone()).collect(),
            "association.main" => vec![a.iter().any(|x| x.main).to_string()],
            "route.destination-cidr-block" => r.iter().map(|x| x.destination.clone()).collect(),
            "route.gateway-id" => r.iter().filter_map(|x| x.gateway_id.clone()).collect(),
            "route.nat-gateway-id" => r.iter().filter_map(|x| x.nat_gateway_id.clone()).collect(),
            "route.instance-id" => r.iter().filter_map(|x| x.instance_id.clone()).collect(),
            "route.network-interface-id" => r.iter().filter_map(|x| x.eni_id.clone()).collect(),
            "route.origin" => r.iter().map(|x| x.origin.to_string()).collect(),
            "route.state" => r
                .iter()
                .map(|x| route_state(self.2, rt, x).to_string())
                .collect(),
            _ => return None,
        })
    }
    fn tags(&self) -> Option<&Tags> {
        self.1
    }
}

fn get_rt<'a>(st: &'a RegionState, id: &str) -> AwsResult<&'a RouteTable> {
    st.route_tables.get(id).ok_or_else(|| {
        aws_err!(
            InvalidRouteTableIdNotFound,
            "The routeTable ID '{id}' does not exist"
        )
    })
}

/// CreateRouteTable.
pub fn create_route_table(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    check_tag_spec_types(input, &["route-table"])?;
    let vpc_id = input.req_str(m::VpcId)?;
    let cidr = st.vpc(vpc_id)?.cidr;
    let tags = tag_specs(input, "route-table")?;
    let id = st.new_id("rtb");
    st.route_tables.insert(
        id.clone(),
        RouteTable {
            id: id.clone(),
            vpc_id: vpc_id.to_string(),
            routes: vec![rt_route(
                &cidr.to_string(),
                Some("local".into()),
                None,
                "CreateRouteTable",
            )],
            associations: vec![],
        },
    );
    st.add_tags(&id, tags);
    Ok(json!({"RouteTable": rt_json(st, &st.route_tables[&id])}))
}

/// DeleteRouteTable: refused while associated (the main table is always associated).
pub fn delete_route_table(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::RouteTableId)?;
    if !get_rt(st, id)?.associations.is_empty() {
        return Err(aws_err!(
            DependencyViolation,
            "The routeTable '{id}' has dependencies and cannot be deleted."
        ));
    }
    st.route_tables.remove(id);
    st.tags.remove(id);
    Ok(json!({}))
}

/// DescribeRouteTables.
pub fn describe_route_tables(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let ids = input.str_list(m::RouteTableIds);
    for id in &ids {
        get_rt(st, id)?;
    }
    filter::describe(
        input,
        "RouteTables",
        PageLimits {
            min: 5,
            max: 100,
            default: None,
        },
        st.route_tables
            .values()
            .filter(|rt| filter::wanted(&ids, &rt.id)),
        |rt| RtView(rt, st.tags.get(&rt.id), st),
        |rt| rt_json(st, rt),
    )
}

/// Reads and checks the one target of a CreateRoute/ReplaceRoute.
fn route_target(st: &RegionState, rt: &RouteTable, input: &Value, dest: &str) -> AwsResult<Route> {
    let gw = input.opt_str(m::GatewayId);
    let nat = input.opt_str(m::NatGatewayId);
    let eni = input.opt_str(m::NetworkInterfaceId);
    let inst = input.opt_str(m::InstanceId);
    let n = [gw, nat, eni, inst].iter().filter(|x| x.is_some()).count();
    if n != 1 {
        return Err(aws_err!(
            InvalidParameterCombination,
            "The request must contain exactly one of gatewayId, natGatewayId, networkInterfaceId or instanceId"
        ));
    }
    let mut route = rt_route(dest, None, None, "CreateRoute");
    if let Some(g) = gw {
        let igw = st.igws.get(g).ok_or_else(|| {
            aws_err!(
                InvalidInternetGatewayIdNotFound,
                "The internetGateway ID '{g}' does not exist"
            )
        })?;
        if igw.vpc_id.as_deref() != Some(rt.vpc_id.as_str()) {
            return Err(aws_err!(
                InvalidParameterValue,
                "route table {} and network gateway {g} belong to different networks",
                rt.id
            ));
        }
        route.gateway_id = Some(g.to_string());
    }
    if let Some(n) = nat {
        let ng = st.nat_gateways.get(n).ok_or_else(|| {
            aws_err!(NatGatewayNotFound, "The natGateway ID '{n}' does not exist")
        })?;
        if ng.vpc_id != rt.vpc_id {
            return Err(aws_err!(
                InvalidParameterValue,
                "route table {} and network gateway {n} belong to different networks",
                rt.id
            ));
        }
        route.nat_gateway_id = Some(n.to_string());
    }
    if let Some(e) = eni {
        st.eni(e)?;
        route.eni_id = Some(e.to_string());
    }
    if let Some(i) = inst {
        let instance = st.instance(i)?;
        route.instance_id = Some(i.to_string());
        route.eni_id = instance.enis.get(&0).cloned();
    }
    Ok(route)
}

fn destination(input: &Value) -> AwsResult<String> {
    let dest = input.req_str(m::DestinationCidrBlock)?;
    Cidr::parse(dest).ok_or_else(|| {
        aws_err!(InvalidParameterValue, "Value ({dest}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.")
    })?;
    Ok(dest.to_string())
}

/// CreateRoute.
pub fn create_route(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::RouteTableId)?;
    let dest = destination(input)?;
    let rt = get_rt(st, id)?;
    if rt.routes.iter().any(|r| r.destination == dest) {
        return Err(aws_err!(
            RouteAlreadyExists,
            "The route identified by {dest} already exists."
        ));
    }
    let route = route_target(st, rt, input, &dest)?;
    if let Some(rt) = st.route_tables.get_mut(id) {
        rt.routes.push(route);
    }
    Ok(json!({"Return": true}))
}

fn route_index(rt: &RouteTable, dest: &str) -> AwsResult<usize> {
    rt.routes
        .iter()
        .position(|r| r.destination == dest)
        .ok_or_else(|| {
            aws_err!(
                InvalidRouteNotFound,
                "no route with destination-cidr-block {dest} in route table {}",
                rt.id
            )
        })
}

/// ReplaceRoute.
pub fn replace_route(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::RouteTableId)?;
    let dest = destination(input)?;
    let rt = get_rt(st, id)?;
    let i = route_index(rt, &dest)?;
    if rt.routes[i].origin == "CreateRouteTable" {
        return Err(aws_err!(
            InvalidParameterValue,
            "cannot replace local route {dest} in route table {id}"
        ));
    }
    let route = route_target(st, rt, input, &dest)?;
    if let Some(rt) = st.route_tables.get_mut(id) {
        rt.routes[i] = route;
    }
    Ok(json!({}))
}

/// DeleteRoute.
pub fn delete_route(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::RouteTableId)?;
    let dest = destination(input)?;
    let rt = get_rt(st, id)?;
    let i = route_index(rt, &dest)?;
    if rt.routes[i].origin == "CreateRouteTable" {
        return Err(aws_err!(
            InvalidParameterValue,
            "cannot remove local route {dest} in route table {id}"
        ));
    }
    if let Some(rt) = st.route_tables.get_mut(id) {
        rt.routes.remove(i);
    }
    Ok(json!({}))
}

/// AssociateRouteTable (subnets).
pub fn associate_route_table(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::RouteTableId)?;
    let subnet_id = input.req_str(m::SubnetId)?;
    let rt = get_rt(st, id)?;
    let subnet = st.subnet(subnet_id)?;
    if subnet.vpc_id != rt.vpc_id {
        return Err(aws_err!(
            InvalidParameterValue,
            "Route table {id} and subnet {subnet_id} belong to different networks"
        ));
    }
    if let Some(other) = st.route_tables.values().find(|r| {
        r.associations
            .iter()
            .any(|a| a.subnet_id.as_deref() == Some(subnet_id))
    }) {
        return Err(aws_err!(
            ResourceAlreadyAssociated,
            "the specified association for route table {} conflicts with an existing association",
            other.id
        ));
    }
    let assoc = st.new_id("rtbassoc");
    if let Some(rt) = st.route_tables.get_mut(id) {
        rt.associations.push(RtAssociation {
            id: assoc.clone(),
            subnet_id: Some(subnet_id.to_string()),
            main: false,
        });
    }
    Ok(json!({"AssociationId": assoc, "AssociationState": {"State": "associated"}}))
}

fn find_assoc(st: &RegionState, assoc: &str) -> AwsResult<(String, usize)> {
    st.route_tables
        .values()
        .find_map(|rt| {
            rt.associations
                .iter()
                .position(|a| a.id == assoc)
                .map(|i| (rt.id.clone(), i))
        })
        .ok_or_else(|| {
            aws_err!(
                InvalidAssociationIdNotFound,
                "The association ID '{assoc}' does not exist"
            )
        })
}

/// DisassociateRouteTable.
pub fn disassociate_route_table(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let assoc = input.req_str(m::AssociationId)?;
    let (rt_id, i) = find_assoc(st, assoc)?;
    if let Some(rt) = st.route_tables.get_mut(&rt_id) {
        if rt.associations[i].main {
            return Err(aws_err!(
                InvalidParameterValue,
                "cannot disassociate the main route table association {assoc}"
            ));
        }
        rt.associations.remove(i);
    }
    Ok(json!({}))
}

/// ReplaceRouteTableAssociation (also how the main table is changed).
pub fn replace_route_table_association(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let assoc = input.req_str(m::AssociationId)?;
    let new_rt = input.req_str(m::RouteTableId)?;
    let (old_rt, i) = find_assoc(st, assoc)?;
    let target_vpc = get_rt(st, new_rt)?.vpc_id.clone();
    if st.route_tables[&old_rt].vpc_id != target_vpc {
        return Err(aws_err!(
            InvalidParameterValue,
            "Route table {new_rt} belongs to a different network"
        ));
    }
    let new_id = st.new_id("rtbassoc");
    let mut a = match st.route_tables.get_mut(&old_rt) {
        Some(rt) => rt.associations.remove(i),
        None => {
            return Err(aws_err!(
                InvalidAssociationIdNotFound,
                "The association ID '{assoc}' does not exist"
            ))
        }
    };
    a.id = new_id.clone();
    if let Some(rt) = st.route_tables.get_mut(new_rt) {
        rt.associations.push(a);
    }
    Ok(json!({"NewAssociationId": new_id, "AssociationState": {"State": "associated"}}))
}
