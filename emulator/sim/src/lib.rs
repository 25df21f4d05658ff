//! Simulation primitives shared by every part of cloudbox: the virtual clock, seeded ids and
//! randomness, and the timestamp formats AWS and Kubernetes print.
//!
//! Nothing in cloudbox reads the wall clock or an unseeded random source directly; it asks a
//! [`Clock`] and an [`IdGen`] so that a scenario run twice with the same seed behaves the same.

pub mod clock;
pub mod ids;
pub mod time_fmt;

pub use clock::{Clock, SimTime};
pub use ids::IdGen;
