//! What every new VPC starts with: a main route table holding the `local` route, and a
//! `default` security group; also the plain route and egress-rule values they are made of.

use crate::ec2::cidr::Cidr;
use crate::ec2::state::{RegionState, Route, RouteTable, RtAssociation, SecurityGroup, SgRule};

/// A route.
pub fn rt_route(
    dest: &str,
    gateway: Option<String>,
    nat: Option<String>,
    origin: &'static str,
) -> Route {
    Route {
        destination: dest.to_string(),
        gateway_id: gateway,
        nat_gateway_id: nat,
        eni_id: None,
        instance_id: None,
        origin,
    }
}

/// The main route table of a new VPC (one `local` route).
pub fn new_main_route_table(st: &mut RegionState, vpc_id: &str, cidr: Cidr) -> String {
    let id = st.new_id("rtb");
    let assoc = st.new_id("rtbassoc");
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
            associations: vec![RtAssociation {
                id: assoc,
                subnet_id: None,
                main: true,
            }],
        },
    );
    id
}

/// The rule every new group starts with: all traffic out to 0.0.0.0/0.
pub fn all_egress(st: &mut RegionState) -> SgRule {
    SgRule {
        id: st.new_id("sgr"),
        protocol: "-1".into(),
        from: None,
        to: None,
        cidr: Some("0.0.0.0/0".into()),
        cidr_v6: None,
        group_id: None,
        prefix_list_id: None,
        description: None,
    }
}

/// The `default` group of a new VPC: all traffic from itself in, all traffic out.
pub fn new_default_group(st: &mut RegionState, vpc_id: &str) -> String {
    let id = st.new_id("sg");
    let egress = all_egress(st);
    let ingress = SgRule {
        id: st.new_id("sgr"),
        protocol: "-1".into(),
        from: None,
        to: None,
        cidr: None,
        cidr_v6: None,
        group_id: Some(id.clone()),
        prefix_list_id: None,
        description: None,
    };
    st.security_groups.insert(
        id.clone(),
        SecurityGroup {
            id: id.clone(),
            name: "default".into(),
            description: "default VPC security group".into(),
            vpc_id: vpc_id.to_string(),
            ingress: vec![ingress],
            egress: vec![egress],
        },
    );
    id
}
