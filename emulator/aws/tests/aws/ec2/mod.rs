//! EC2 through the real aws-sdk-ec2 client, in process: every rule asserts AWS's exact error
//! code. One module per resource family.

mod coverage;
mod enis;
mod instances;
mod network;
mod properties;
mod volumes;

/// docs/ec2.md lists every implemented operation (and nothing claims more than is served).
#[test]
fn docs_list_every_implemented_operation() {
    let doc = include_str!("../../../../../docs/ec2.md");
    for op in cloudbox_aws::ec2::implemented_operations() {
        assert!(doc.contains(op), "docs/ec2.md does not mention {op}");
    }
    assert_eq!(cloudbox_aws::ec2::implemented_operations().len(), 74);
}
