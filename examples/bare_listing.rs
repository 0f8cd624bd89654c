//! The floor `scripts/bench-plan.sh` measures `rollstack plan` against: one filtered,
//! paginated `DescribeInstances` listing of a stack's instances with the same SDK, and
//! nothing else.
//!
//! `bare_listing STACK ENV` (endpoint and credentials from the standard variables).

use aws_sdk_ec2::types::Filter;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(stack), Some(env)) = (args.next(), args.next()) else {
        eprintln!("usage: bare_listing STACK ENV");
        std::process::exit(1);
    };
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let filter = |name: &str, values: &[&str]| {
        Filter::builder()
            .name(name)
            .set_values(Some(values.iter().map(|v| v.to_string()).collect()))
            .build()
    };
    let mut pages = ec2
        .describe_instances()
        .filters(filter("tag:rollstack:stack", &[&stack]))
        .filters(filter("tag:rollstack:env", &[&env]))
        .filters(filter(
            "instance-state-name",
            &["pending", "running", "stopping", "stopped"],
        ))
        .max_results(1000)
        .into_paginator()
        .send();
    let mut count = 0;
    while let Some(page) = pages.next().await {
        let page = page.expect("DescribeInstances");
        count += page
            .reservations()
            .iter()
            .map(|r| r.instances().len())
            .sum::<usize>();
    }
    println!("{count}");
}
