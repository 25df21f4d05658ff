//! Classic Elastic Load Balancing (2012-06-01).

use crate::region::RegionState;
use crate::service::Handler;

/// This service's resources in one account and region (a part of [`RegionState`]).
#[derive(Debug, Default)]
pub struct ElbState {}

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
