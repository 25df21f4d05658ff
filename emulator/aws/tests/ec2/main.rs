//! EC2 through the real aws-sdk-ec2 client, in process: every rule asserts AWS's exact error
//! code. One test binary (link once), one module per resource family.

mod enis;
mod instances;
mod network;
mod properties;
mod support;
mod volumes;
