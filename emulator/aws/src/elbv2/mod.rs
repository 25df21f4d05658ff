//! Elastic Load Balancing v2 (2015-12-01): application and network load balancers, target groups, listeners and rules.

use crate::region::RegionState;
use crate::service::Handler;

/// This service's resources in one account and region (a part of [`RegionState`]).
#[derive(Debug, Default)]
pub struct Elbv2State {}

/// A scheduled state change of this service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {}

/// Fires one of this service's timers.
pub fn fire(_st: &mut RegionState, t: Timer) {
    match t {}
}

/// The handler of an operation, by its model name.
pub fn operation(_name: &str) -> Option<Handler> {
    None
}
