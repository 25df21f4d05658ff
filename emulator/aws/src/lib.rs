//! The fake AWS endpoint of cloudbox.
//!
//! ```text
//! server (axum, HTTP) ─▶ protocol (SigV4 scope routing, model-driven codecs) ─▶ services (ec2, …)
//! ```
//! - [`protocol`]: AWS's service models and the wire codecs; never imports a service.
//! - [`ec2`]: the EC2 service: VPCs, subnets, gateways, route tables, security groups, instances,
//!   launch templates, ENIs and private IPs, EBS volumes, tags; with the real limits and codes.
//! - [`server`]: the axum app (`app()`), the admin API under `/_cloudbox/`, and `serve()`.
//!
//! Everything runs on the simulation clock of `cloudbox_sim`: resource state changes
//! (pending → running, creating → available, …) are timers on it.

#![recursion_limit = "256"]

pub mod autoscaling;
pub mod client;
pub mod ec2;
pub mod elb;
pub mod elbv2;
pub mod error;
pub mod imds;
pub mod members;
pub mod protocol;
pub mod region;
pub mod regions;
pub mod server;
pub mod service;
pub mod sts;

pub use client::AwsClient;
pub use error::{AwsError, AwsResult, Code};
pub use server::{app, serve, serve_with, AwsState};
