//! The local AWS endpoint works with the real SDK: EC2 and S3 round trips.

#![allow(clippy::too_many_lines)] // a scenario reads top to bottom, as one test

mod support;

#[tokio::test]
async fn real_sdk_lists_images_and_round_trips_an_s3_object() {
    let support::Clients { ec2, s3, .. } = support::moto().clients().await;

    let images = ec2
        .describe_images()
        .owners("amazon")
        .send()
        .await
        .expect("DescribeImages");
    assert!(!images.images().is_empty(), "moto serves its default AMIs");

    let bucket = "smoke-test-bucket";
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket");
    s3.put_object()
        .bucket(bucket)
        .key("rollstack/smoke/hello.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"hello"))
        .send()
        .await
        .expect("PutObject");
    let object = s3
        .get_object()
        .bucket(bucket)
        .key("rollstack/smoke/hello.txt")
        .send()
        .await
        .expect("GetObject");
    let body = object.body.collect().await.expect("body").into_bytes();
    assert_eq!(&body[..], b"hello");
}
