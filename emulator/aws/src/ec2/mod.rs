//! The EC2 service (API 2016-11-15): resources, rules and error codes as AWS has them.
//!
//! One file per resource family; each exposes plain functions
//! `fn(&mut RegionState, &Value) -> AwsResult<Value>` taking the parsed request (member names as
//! keys) and returning the output structure as JSON for the `ec2` codec to serialize.
//! [`operation`] is the table from operation name to handler: an operation of the model that is
//! absent here is answered with `UnsupportedOperation` naming it.
//!
//! Handlers validate everything before they change anything, so a failed request leaves the
//! state as it was.
//!
//! Layering: handlers → [`domain`] → [`RegionState`].
//! - Handler modules (`vpcs`, `subnets`, `gateways`, `route_tables`, `security_groups`,
//!   `instances`, `launch_templates`, `network_interfaces`, `volumes`, `tags`, `regions`) read
//!   the request, call the domain layer and render the output. They import [`domain`] and the
//!   helpers (`state`, `catalog`, `cidr`, `filter`, `input`), never each other; a unit test in
//!   [`domain`] fails if one does.
//! - [`domain`] holds what more than one handler module, or another service (ELBv2, classic ELB,
//!   Auto Scaling), needs: lookups with AWS's NotFound errors (`st.subnet(id)`, ...), subnet
//!   addresses, ENI creation and removal, volume specifications, the checked core of
//!   RunInstances ([`domain::launch()`]), launch template resolution and the defaults of a new VPC.
//! - [`RegionState`] (in `crate::region`) holds the resources and the timer queue.
//!
//! Functions that moved to [`domain`] stay reachable at their old paths (`subnets::get_subnet`,
//! `network_interfaces::insert_eni`, ...) through re-exports.

pub mod catalog;
pub mod cidr;
pub mod domain;
pub mod filter;
pub mod gateways;
pub mod input;
pub mod instance_output;
pub mod instances;
pub mod launch_templates;
pub mod network_interfaces;
pub mod regions;
pub mod route_tables;
pub mod security_groups;
pub mod state;
pub mod subnets;
pub mod tags;
pub mod volumes;
pub mod vpcs;

use serde_json::Value;
use state::RegionState;

pub use crate::service::{Handler, RenderHandler};

/// The operations whose output is written straight into a sink (see `protocol::render`) rather
/// than built as JSON: the big listings. Each also has a JSON [`operation`] for the in-process
/// client, built through the same writer.
pub fn render_operation(name: &str) -> Option<RenderHandler> {
    Some(match name {
        "DescribeInstances" => instances::write_describe_instances,
        "RunInstances" => instances::write_run_instances,
        _ => return None,
    })
}

/// The handler of an operation, by its model name.
pub fn operation(name: &str) -> Option<Handler> {
    Some(match name {
        "DescribeRegions" => regions::describe_regions,
        "DescribeAvailabilityZones" => regions::describe_availability_zones,
        "DescribeInstanceTypes" => regions::describe_instance_types,
        "DescribeInstanceTypeOfferings" => regions::describe_instance_type_offerings,
        "DescribeAccountAttributes" => regions::describe_account_attributes,
        "CreateVpc" => vpcs::create_vpc,
        "DeleteVpc" => vpcs::delete_vpc,
        "DescribeVpcs" => vpcs::describe_vpcs,
        "ModifyVpcAttribute" => vpcs::modify_vpc_attribute,
        "DescribeVpcAttribute" => vpcs::describe_vpc_attribute,
        "CreateSubnet" => subnets::create_subnet,
        "DeleteSubnet" => subnets::delete_subnet,
        "DescribeSubnets" => subnets::describe_subnets,
        "ModifySubnetAttribute" => subnets::modify_subnet_attribute,
        "CreateInternetGateway" => gateways::create_internet_gateway,
        "DeleteInternetGateway" => gateways::delete_internet_gateway,
        "AttachInternetGateway" => gateways::attach_internet_gateway,
        "DetachInternetGateway" => gateways::detach_internet_gateway,
        "DescribeInternetGateways" => gateways::describe_internet_gateways,
        "AllocateAddress" => gateways::allocate_address,
        "ReleaseAddress" => gateways::release_address,
        "DescribeAddresses" => gateways::describe_addresses,
        "CreateNatGateway" => gateways::create_nat_gateway,
        "DeleteNatGateway" => gateways::delete_nat_gateway,
        "DescribeNatGateways" => gateways::describe_nat_gateways,
        "CreateRouteTable" => route_tables::create_route_table,
        "DeleteRouteTable" => route_tables::delete_route_table,
        "DescribeRouteTables" => route_tables::describe_route_tables,
        "CreateRoute" => route_tables::create_route,
        "ReplaceRoute" => route_tables::replace_route,
        "DeleteRoute" => route_tables::delete_route,
        "AssociateRouteTable" => route_tables::associate_route_table,
        "DisassociateRouteTable" => route_tables::disassociate_route_table,
        "ReplaceRouteTableAssociation" => route_tables::replace_route_table_association,
        "CreateSecurityGroup" => security_groups::create_security_group,
        "DeleteSecurityGroup" => security_groups::delete_security_group,
        "DescribeSecurityGroups" => security_groups::describe_security_groups,
        "DescribeSecurityGroupRules" => security_groups::describe_security_group_rules,
        "AuthorizeSecurityGroupIngress" => security_groups::authorize_ingress,
        "AuthorizeSecurityGroupEgress" => security_groups::authorize_egress,
        "RevokeSecurityGroupIngress" => security_groups::revoke_ingress,
        "RevokeSecurityGroupEgress" => security_groups::revoke_egress,
        "CreateTags" => tags::create_tags,
        "DeleteTags" => tags::delete_tags,
        "DescribeTags" => tags::describe_tags,
        "RunInstances" => instances::run_instances,
        "DescribeInstances" => instances::describe_instances,
        "DescribeInstanceStatus" => instances::describe_instance_status,
        "TerminateInstances" => instances::terminate_instances,
        "StopInstances" => instances::stop_instances,
        "StartInstances" => instances::start_instances,
        "ModifyInstanceAttribute" => instances::modify_instance_attribute,
        "DescribeInstanceAttribute" => instances::describe_instance_attribute,
        "CreateLaunchTemplate" => launch_templates::create_launch_template,
        "CreateLaunchTemplateVersion" => launch_templates::create_launch_template_version,
        "ModifyLaunchTemplate" => launch_templates::modify_launch_template,
        "DeleteLaunchTemplate" => launch_templates::delete_launch_template,
        "DescribeLaunchTemplates" => launch_templates::describe_launch_templates,
        "DescribeLaunchTemplateVersions" => launch_templates::describe_launch_template_versions,
        "CreateNetworkInterface" => network_interfaces::create_network_interface,
        "DeleteNetworkInterface" => network_interfaces::delete_network_interface,
        "DescribeNetworkInterfaces" => network_interfaces::describe_network_interfaces,
        "AttachNetworkInterface" => network_interfaces::attach_network_interface,
        "DetachNetworkInterface" => network_interfaces::detach_network_interface,
        "ModifyNetworkInterfaceAttribute" => network_interfaces::modify_network_interface_attribute,
        "AssignPrivateIpAddresses" => network_interfaces::assign_private_ip_addresses,
        "UnassignPrivateIpAddresses" => network_interfaces::unassign_private_ip_addresses,
        "CreateVolume" => volumes::create_volume,
        "DeleteVolume" => volumes::delete_volume,
        "DescribeVolumes" => volumes::describe_volumes,
        "AttachVolume" => volumes::attach_volume,
        "DetachVolume" => volumes::detach_volume,
        "ModifyVolume" => volumes::modify_volume,
        "DescribeVolumesModifications" => volumes::describe_volumes_modifications,
        _ => return None,
    })
}

/// Names of the implemented operations (for docs and tests).
pub fn implemented_operations() -> Vec<&'static str> {
    use crate::service::Service;
    crate::service::Ec2.implemented_operations()
}

/// A JSON summary of a region's resources (admin API).
pub fn summary(st: &RegionState, account: &str, region: &str) -> Value {
    use cidr::ip_to_string;
    serde_json::json!({
        "account": account,
        "region": region,
        "vpcs": st.vpcs.values().map(|v| serde_json::json!({"id": v.id, "cidr": v.cidr.to_string(), "default": v.is_default})).collect::<Vec<_>>(),
        "subnets": st.subnets.values().map(|s| serde_json::json!({"id": s.id, "vpc": s.vpc_id, "az": s.az, "cidr": s.cidr.to_string(), "available": s.available()})).collect::<Vec<_>>(),
        "instances": st.instances.values().map(|i| serde_json::json!({"id": i.id, "type": i.instance_type, "state": i.state.name(), "az": i.az, "enis": i.enis.values().collect::<Vec<_>>(), "volumes": i.devices})).collect::<Vec<_>>(),
        "networkInterfaces": st.enis.values().map(|e| serde_json::json!({"id": e.id, "subnet": e.subnet_id, "ips": e.ips.iter().map(|ip| ip_to_string(*ip)).collect::<Vec<_>>(), "instance": e.attachment.as_ref().map(|a| a.instance_id.clone())})).collect::<Vec<_>>(),
        "volumes": st.volumes.values().map(|v| serde_json::json!({"id": v.id, "az": v.az, "size": v.size, "type": v.volume_type, "state": v.state, "instance": v.attachment.as_ref().map(|a| a.instance_id.clone())})).collect::<Vec<_>>(),
    })
}
