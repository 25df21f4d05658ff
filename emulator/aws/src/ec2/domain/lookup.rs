//! Lookups by id on [`RegionState`]: the resource, or the NotFound error AWS answers with.
//!
//! `st.vpc(id)`, `st.subnet(id)`, `st.instance(id)`, `st.eni(id)` and `st.security_group(id)`
//! (and their `_mut` twins) are the one place each NotFound code and message is spelled. The
//! `get_*` functions are the same lookups under the names handlers used before this layer.

use crate::aws_err;
use crate::ec2::state::{Eni, Instance, RegionState, SecurityGroup, Subnet, Vpc};
use crate::error::{AwsError, AwsResult};

fn vpc_not_found(id: &str) -> AwsError {
    aws_err!(InvalidVpcIdNotFound, "The vpc ID '{id}' does not exist")
}

fn subnet_not_found(id: &str) -> AwsError {
    aws_err!(
        InvalidSubnetIdNotFound,
        "The subnet ID '{id}' does not exist"
    )
}

/// `InvalidInstanceID.Malformed` for an id that cannot be an instance id.
fn check_instance_id(id: &str) -> AwsResult<()> {
    if !id.starts_with("i-") || id.len() < 4 {
        return Err(aws_err!(InvalidInstanceIdMalformed, "Invalid id: \"{id}\""));
    }
    Ok(())
}

fn instance_not_found(id: &str) -> AwsError {
    aws_err!(
        InvalidInstanceIdNotFound,
        "The instance ID '{id}' does not exist"
    )
}

fn eni_not_found(id: &str) -> AwsError {
    aws_err!(
        InvalidNetworkInterfaceIdNotFound,
        "The networkInterface ID '{id}' does not exist"
    )
}

fn group_not_found(id: &str) -> AwsError {
    aws_err!(
        InvalidGroupNotFound,
        "The security group '{id}' does not exist"
    )
}

impl RegionState {
    /// The VPC or `InvalidVpcID.NotFound`.
    pub fn vpc(&self, id: &str) -> AwsResult<&Vpc> {
        self.vpcs.get(id).ok_or_else(|| vpc_not_found(id))
    }

    /// The VPC, mutable, or `InvalidVpcID.NotFound`.
    pub fn vpc_mut(&mut self, id: &str) -> AwsResult<&mut Vpc> {
        self.vpcs.get_mut(id).ok_or_else(|| vpc_not_found(id))
    }

    /// The subnet or `InvalidSubnetID.NotFound`.
    pub fn subnet(&self, id: &str) -> AwsResult<&Subnet> {
        self.subnets.get(id).ok_or_else(|| subnet_not_found(id))
    }

    /// The subnet, mutable, or `InvalidSubnetID.NotFound`.
    pub fn subnet_mut(&mut self, id: &str) -> AwsResult<&mut Subnet> {
        self.subnets.get_mut(id).ok_or_else(|| subnet_not_found(id))
    }

    /// The instance or `InvalidInstanceID.NotFound` / `.Malformed`.
    pub fn instance(&self, id: &str) -> AwsResult<&Instance> {
        check_instance_id(id)?;
        self.instances.get(id).ok_or_else(|| instance_not_found(id))
    }

    /// The instance, mutable, or `InvalidInstanceID.NotFound` / `.Malformed`.
    pub fn instance_mut(&mut self, id: &str) -> AwsResult<&mut Instance> {
        check_instance_id(id)?;
        self.instances
            .get_mut(id)
            .ok_or_else(|| instance_not_found(id))
    }

    /// The ENI or `InvalidNetworkInterfaceID.NotFound`.
    pub fn eni(&self, id: &str) -> AwsResult<&Eni> {
        self.enis.get(id).ok_or_else(|| eni_not_found(id))
    }

    /// The ENI, mutable, or `InvalidNetworkInterfaceID.NotFound`.
    pub fn eni_mut(&mut self, id: &str) -> AwsResult<&mut Eni> {
        self.enis.get_mut(id).ok_or_else(|| eni_not_found(id))
    }

    /// The security group or `InvalidGroup.NotFound`.
    pub fn security_group(&self, id: &str) -> AwsResult<&SecurityGroup> {
        self.security_groups
            .get(id)
            .ok_or_else(|| group_not_found(id))
    }

    /// The security group, mutable, or `InvalidGroup.NotFound`.
    pub fn security_group_mut(&mut self, id: &str) -> AwsResult<&mut SecurityGroup> {
        self.security_groups
            .get_mut(id)
            .ok_or_else(|| group_not_found(id))
    }
}

/// The VPC or `InvalidVpcID.NotFound` (same as [`RegionState::vpc`]).
pub fn get_vpc<'a>(st: &'a RegionState, id: &str) -> AwsResult<&'a Vpc> {
    st.vpc(id)
}

/// The subnet or `InvalidSubnetID.NotFound` (same as [`RegionState::subnet`]).
pub fn get_subnet<'a>(st: &'a RegionState, id: &str) -> AwsResult<&'a Subnet> {
    st.subnet(id)
}

/// The instance or `InvalidInstanceID.NotFound` / `.Malformed` (same as
/// [`RegionState::instance`]).
pub fn get_instance<'a>(st: &'a RegionState, id: &str) -> AwsResult<&'a Instance> {
    st.instance(id)
}

/// The ENI or `InvalidNetworkInterfaceID.NotFound` (same as [`RegionState::eni`]).
pub fn get_eni<'a>(st: &'a RegionState, id: &str) -> AwsResult<&'a Eni> {
    st.eni(id)
}

/// The group or `InvalidGroup.NotFound` (same as [`RegionState::security_group`]).
pub fn get_group<'a>(st: &'a RegionState, id: &str) -> AwsResult<&'a SecurityGroup> {
    st.security_group(id)
}
