//! Group tags and the tag filters cluster-autoscaler's auto-discovery uses.

use super::*;
use aws_sdk_autoscaling::types::{Filter, Tag};

fn tag(group: &str, k: &str, v: &str, propagate: bool) -> Tag {
    Tag::builder()
        .resource_id(group)
        .resource_type("auto-scaling-group")
        .key(k)
        .value(v)
        .propagate_at_launch(propagate)
        .build()
}

fn asg_filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| v.to_string()).collect()))
        .build()
}

async fn names(w: &World, filters: Vec<Filter>) -> Vec<String> {
    w.asg
        .describe_auto_scaling_groups()
        .set_filters(Some(filters))
        .send()
        .await
        .expect("DescribeAutoScalingGroups")
        .auto_scaling_groups()
        .iter()
        .filter_map(|g| g.auto_scaling_group_name().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn cluster_autoscaler_auto_discovery_by_tag_filters() {
    let w = World::new("us-east-1");
    let (a, _, lt) = setup(&w).await;
    for g in ["workers", "gpu", "other"] {
        group(&w, g, &lt, &[&a], 0, 3, 0).await;
    }
    w.asg
        .create_or_update_tags()
        .tags(tag(
            "workers",
            "k8s.io/cluster-autoscaler/enabled",
            "true",
            true,
        ))
        .tags(tag(
            "workers",
            "k8s.io/cluster-autoscaler/int32bit-kubernetes",
            "owned",
            true,
        ))
        .tags(tag(
            "gpu",
            "k8s.io/cluster-autoscaler/enabled",
            "true",
            false,
        ))
        .tags(tag("other", "team", "infra", false))
        .send()
        .await
        .expect("CreateOrUpdateTags");
    assert_eq!(
        names(
            &w,
            vec![asg_filter(
                "tag-key",
                &["k8s.io/cluster-autoscaler/enabled"]
            )]
        )
        .await,
        ["gpu", "workers"]
    );
    assert_eq!(
        names(
            &w,
            vec![
                asg_filter("tag-key", &["k8s.io/cluster-autoscaler/enabled"]),
                asg_filter(
                    "tag-key",
                    &["k8s.io/cluster-autoscaler/int32bit-kubernetes"]
                ),
            ]
        )
        .await,
        ["workers"]
    );
    assert_eq!(
        names(&w, vec![asg_filter("tag:team", &["infra", "x"])]).await,
        ["other"]
    );
    assert_eq!(
        names(&w, vec![asg_filter("tag-value", &["owned"])]).await,
        ["workers"]
    );
    let bad = w
        .asg
        .describe_auto_scaling_groups()
        .filters(asg_filter("instance-type", &["x"]))
        .send()
        .await;
    assert_eq!(code(bad), "ValidationError");
    let g = describe(&w, "workers").await;
    assert_eq!(g.tags().len(), 2);
    assert_eq!(g.tags()[0].resource_type(), Some("auto-scaling-group"));
    assert_eq!(g.tags()[0].propagate_at_launch(), Some(true));
}

#[tokio::test]
async fn describe_and_delete_tags_with_filters_and_rules() {
    let w = World::new("us-east-1");
    let (a, _, lt) = setup(&w).await;
    group(&w, "g1", &lt, &[&a], 0, 3, 0).await;
    group(&w, "g2", &lt, &[&a], 0, 3, 0).await;
    w.asg
        .create_or_update_tags()
        .tags(tag("g1", "env", "prod", true))
        .tags(tag("g1", "team", "infra", false))
        .tags(tag("g2", "env", "dev", true))
        .send()
        .await
        .expect("tags");
    let describe_tags =
        |filters: Vec<Filter>| w.asg.describe_tags().set_filters(Some(filters)).send();
    let all = describe_tags(vec![]).await.expect("all");
    assert_eq!(all.tags().len(), 3);
    let g1 = describe_tags(vec![asg_filter("auto-scaling-group", &["g1"])])
        .await
        .expect("g1");
    assert_eq!(g1.tags().len(), 2);
    let env = describe_tags(vec![
        asg_filter("key", &["env"]),
        asg_filter("value", &["dev"]),
    ])
    .await
    .expect("env=dev");
    assert_eq!(env.tags().len(), 1);
    assert_eq!(env.tags()[0].resource_id(), Some("g2"));
    let prop = describe_tags(vec![asg_filter("propagate-at-launch", &["false"])])
        .await
        .expect("not propagated");
    assert_eq!(prop.tags()[0].key(), Some("team"));
    assert_eq!(
        code(describe_tags(vec![asg_filter("tag-key", &["env"])]).await),
        "ValidationError"
    );
    // Update in place, then delete.
    w.asg
        .create_or_update_tags()
        .tags(tag("g1", "env", "staging", false))
        .send()
        .await
        .expect("update");
    let g1 = describe_tags(vec![
        asg_filter("auto-scaling-group", &["g1"]),
        asg_filter("key", &["env"]),
    ])
    .await
    .expect("g1 env");
    assert_eq!(g1.tags()[0].value(), Some("staging"));
    assert_eq!(g1.tags()[0].propagate_at_launch(), Some(false));
    w.asg
        .delete_tags()
        .tags(tag("g1", "env", "", false))
        .send()
        .await
        .expect("DeleteTags");
    assert_eq!(describe_tags(vec![]).await.expect("after").tags().len(), 2);
    // Rules.
    let unknown = w
        .asg
        .create_or_update_tags()
        .tags(tag("nope", "k", "v", false))
        .send()
        .await;
    assert_eq!(code(unknown), "ValidationError");
    let reserved = w
        .asg
        .create_or_update_tags()
        .tags(tag("g1", "aws:autoscaling:groupName", "x", false))
        .send()
        .await;
    assert_eq!(code(reserved), "ValidationError");
    let mut many = w.asg.create_or_update_tags();
    for i in 0..50 {
        many = many.tags(tag("g2", &format!("k{i}"), "v", false));
    }
    assert_eq!(code(many.send().await), "LimitExceeded");
    assert_eq!(describe(&w, "g2").await.tags().len(), 1, "nothing applied");
}
