//! The EC2 domain layer: every operation on a region's EC2 resources that more than one handler
//! module, or another service (ELBv2, classic ELB, Auto Scaling), needs.
//!
//! Layering: handlers (`ec2::vpcs`, `ec2::instances`, ...) parse a request, call into this
//! layer and render the answer; this layer reads and changes [`RegionState`]. Handler modules
//! import only `ec2::domain` (and the helpers `state`, `catalog`, `cidr`, `filter`, `input`,
//! `instance_output`),
//! never each other; the test below fails if one does. Each file has one job:
//!
//! - [`lookup`]: `st.vpc(id)`, `st.subnet(id)`, `st.instance(id)`, `st.eni(id)`,
//!   `st.security_group(id)` (and `_mut`), with AWS's NotFound codes;
//! - [`addresses`]: private addresses of subnets, MACs, public addresses;
//! - [`enis`]: ENI checks, [`create_eni`], removal and per-type limit errors;
//! - [`eni_shapes`]: ENI JSON shapes shared by DescribeNetworkInterfaces and DescribeInstances;
//! - [`volumes`]: volume specifications, creation, device names, [`ROOT_DEVICE`];
//! - [`templates`]: launch template lookup and version resolution;
//! - [`launch`](mod@launch): the checked core of RunInstances ([`launch()`]);
//! - [`defaults`]: the main route table and default security group of a new VPC.
//!
//! Like the handlers, functions here that can fail check everything before they change
//! anything.
//!
//! [`RegionState`]: crate::ec2::state::RegionState

pub mod addresses;
pub mod defaults;
pub mod eni_shapes;
pub mod enis;
pub mod launch;
pub mod lookup;
pub mod templates;
pub mod volumes;

pub use addresses::{
    allocate_ips, check_free_ip, claim_ip, exhausted, new_mac, new_public_ip, release_ips,
};
pub use defaults::{all_egress, new_default_group, new_main_route_table, rt_route};
pub use eni_shapes::{association, group_pairs, private_ips_json};
pub use enis::{
    attachment_limit, check_groups, create_eni, default_group, eni_groups, insert_eni, ip_limit,
    remove_eni, requested_addresses, EniAddresses, NewEni,
};
pub use launch::{effective_spec, is_base64, launch, LaunchSpec, Launched};
pub use lookup::{get_eni, get_group, get_instance, get_subnet, get_vpc};
pub use templates::resolve;
pub use volumes::{
    insert_volume, performance, size_range, valid_device, volume_spec, VolumeSpec, ROOT_DEVICE,
};

#[cfg(test)]
mod tests {
    use crate::ec2::state::RegionState;
    use serde_json::json;

    /// The handler modules of `src/ec2/`, one per resource family.
    const HANDLERS: &[&str] = &[
        "gateways",
        "instances",
        "launch_templates",
        "network_interfaces",
        "regions",
        "route_tables",
        "security_groups",
        "subnets",
        "tags",
        "volumes",
        "vpcs",
    ];

    /// No handler module reaches into another: shared code lives in `ec2::domain`.
    #[test]
    fn handlers_import_only_the_domain_layer() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ec2");
        let mut found = Vec::new();
        for file in HANDLERS {
            let path = dir.join(format!("{file}.rs"));
            let text = std::fs::read_to_string(&path).expect("handler module is readable");
            for other in HANDLERS {
                let needles = [
                    format!("super::{other}::"),
                    format!("super::{other}}}"),
                    format!("super::{other};"),
                    format!("super::{other},"),
                    format!("super::{{{other}"),
                    format!("ec2::{other}::"),
                ];
                for (n, line) in text.lines().enumerate() {
                    if needles.iter().any(|x| line.contains(x.as_str())) {
                        found.push(format!("src/ec2/{file}.rs:{}: {}", n + 1, line.trim()));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "handler modules must import shared code from ec2::domain, not from each other:\n{}",
            found.join("\n")
        );
    }

    /// Every `src/ec2/*.rs` that is not a helper is listed in `HANDLERS` (so the check above
    /// covers new handler modules too).
    #[test]
    fn every_handler_module_is_checked() {
        let helpers = [
            "mod",
            "catalog",
            "cidr",
            "filter",
            "input",
            "instance_output",
            "state",
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ec2");
        for entry in std::fs::read_dir(dir).expect("src/ec2 is readable") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "rs") {
                let stem = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string();
                assert!(
                    helpers.contains(&stem.as_str()) || HANDLERS.contains(&stem.as_str()),
                    "src/ec2/{stem}.rs is neither a helper nor listed in HANDLERS"
                );
            }
        }
    }

    fn region() -> RegionState {
        let region = crate::ec2::catalog::region("us-east-1").expect("us-east-1");
        let ids = cloudbox_sim::IdGen::derived(7, "domain-test");
        let mut st = RegionState::new(region, "123456789012", ids, cloudbox_sim::SimTime(0), 1.0);
        crate::ec2::vpcs::create_default_vpc(&mut st);
        st
    }

    /// Auto Scaling's path: launch one instance into a chosen subnet without the handler.
    #[test]
    fn launch_into_a_chosen_subnet() {
        let mut st = region();
        let subnet = st.subnets.keys().nth(1).cloned().expect("a default subnet");
        let request = json!({
            "ImageId": "ami-0123456789abcdef0",
            "InstanceType": "t3.medium",
            "MinCount": 1,
            "MaxCount": 1,
            "SubnetId": subnet,
        });
        let done = super::launch(
            &mut st,
            &super::LaunchSpec {
                request: &request,
                launch_template: None,
                client_token: None,
            },
        )
        .expect("launch");
        assert_eq!(done.instance_ids.len(), 1);
        let i = st.instance(&done.instance_ids[0]).expect("instance");
        assert_eq!(i.subnet_id, subnet);
        assert_eq!(i.reservation_id, done.reservation_id);
        let eni = st.eni(&i.enis[&0]).expect("primary ENI");
        assert_eq!(eni.subnet_id, subnet);
        assert!(i.devices.contains_key(super::ROOT_DEVICE));
    }

    /// A load balancer's path: a requester-managed ENI with two picked addresses.
    #[test]
    fn create_requester_managed_eni() {
        let mut st = region();
        let subnet = st.subnets.keys().next().cloned().expect("a default subnet");
        let before = st.subnet(&subnet).expect("subnet").available();
        let id = super::create_eni(
            &mut st,
            super::NewEni {
                subnet_id: &subnet,
                description: "ELB app/web/0123456789abcdef",
                interface_type: "interface",
                groups: vec![],
                addresses: super::EniAddresses::count(2),
                requester_managed: true,
            },
        )
        .expect("create_eni");
        let eni = st.eni(&id).expect("eni");
        assert!(eni.requester_managed);
        assert_eq!(eni.ips.len(), 2);
        assert_eq!(eni.groups.len(), 1, "the VPC's default group");
        assert_eq!(st.subnet(&subnet).expect("subnet").available(), before - 2);
        let err = st.eni("eni-missing").expect_err("not found");
        assert_eq!(
            err.message,
            "The networkInterface ID 'eni-missing' does not exist"
        );
    }
}
