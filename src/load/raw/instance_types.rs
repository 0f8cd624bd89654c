//! Every EC2 instance type, as plain data: what the stack file accepts, `validate`
//! checks against and the schema completes. The list is the AWS SDK's
//! (`aws_sdk_ec2::types::InstanceType::values()`), kept in `instance_types.txt`; a test in
//! `aws/` fails when the SDK knows another list, and writes the new one with
//! `UPDATE_INSTANCE_TYPES=1 cargo test --lib instance_types`.

use std::sync::LazyLock;

/// The list, one type a line.
pub const LIST: &str = include_str!("instance_types.txt");

/// An EC2 instance type, as the schema describes it.
pub struct InstanceType;

impl schemars::JsonSchema for InstanceType {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "InstanceType".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The EC2 instance type, e.g. `t3.small`.",
            "type": "string",
            "enum": instance_types()
        })
    }
}

/// Every instance type, in the SDK's order.
pub fn instance_types() -> &'static [&'static str] {
    static TYPES: LazyLock<Vec<&'static str>> =
        LazyLock::new(|| LIST.lines().filter(|l| !l.is_empty()).collect());
    &TYPES
}
