//! Wire protocols, driven by AWS's published service models.
//!
//! ```text
//! HTTP form body ──params::ParamNode──▶ <codec>::parse(model, op) ──▶ JSON input ──▶ service
//! service ──▶ JSON output ──▶ <codec>::serialize(model, op) ──▶ XML   (errors: serialize_error)
//! ```
//! One codec per protocol, not per service: `ec2` here; the `query` protocol (ELBv2, Auto Scaling)
//! shares [`params`] and [`xml`] and differs only in the places its module names.
//! This module never imports a service.

pub mod ec2;
pub mod json_input;
pub mod model;
pub mod params;
pub mod query;
pub mod render;
pub mod sigv4;
pub mod xml;
