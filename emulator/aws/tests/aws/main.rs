//! The AWS endpoint through the real aws-sdk-rust clients (EC2, ELBv2, Auto Scaling, STS), in
//! process over the axum router (no socket), plus the in-process client and IMDS over HTTP.
//! One test binary for the crate (it links once); one module per service.

mod autoscaling;
mod client;
mod ec2;
mod elb;
mod elbv2;
mod imds;
mod sts;
mod support;
