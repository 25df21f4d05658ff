//! Scaling activities: real records with AWS's wording, statuses on the clock, and failed
//! launches (a full subnet) retried with backoff.

use super::*;
use aws_sdk_autoscaling::types::Activity;

async fn activities(w: &World, name: &str) -> Vec<Activity> {
    w.asg
        .describe_scaling_activities()
        .auto_scaling_group_name(name)
        .send()
        .await
        .expect("DescribeScalingActivities")
        .activities()
        .to_vec()
}

fn status(a: &Activity) -> &str {
    a.status_code().map(|s| s.as_str()).unwrap_or_default()
}

#[tokio::test]
async fn launches_and_terminations_are_recorded_with_aws_wording() {
    let w = World::new("us-east-1");
    let (a, b, lt) = setup(&w).await;
    group(&w, "g", &lt, &[&a, &b], 0, 10, 0).await;
    w.asg
        .update_auto_scaling_group()
        .auto_scaling_group_name("g")
        .min_size(1)
        .desired_capacity(4)
        .send()
        .await
        .expect("update");
    let acts = activities(&w, "g").await;
    assert_eq!(acts.len(), 4);
    for act in &acts {
        assert_eq!(status(act), "InProgress");
        assert!(act
            .description()
            .is_some_and(|d| d.starts_with("Launching a new EC2 instance: i-")));
        assert_eq!(
            act.cause(),
            Some("At 2026-01-01T00:00:00Z a user request update of AutoScalingGroup constraints to min: 1, max: 10, desired: 4 changing the desired capacity from 0 to 4.  At 2026-01-01T00:00:00Z an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 0 to 4.")
        );
        assert!(act.activity_id().is_some_and(|id| id.len() == 36));
        assert_eq!(act.progress(), Some(0));
        assert!(act.end_time().is_none());
        assert!(act
            .details()
            .is_some_and(|d| d.contains("Availability Zone")));
    }
    w.advance(20);
    let acts = activities(&w, "g").await;
    assert!(acts
        .iter()
        .all(|a| status(a) == "Successful" && a.progress() == Some(100) && a.end_time().is_some()));
    w.asg
        .set_desired_capacity()
        .auto_scaling_group_name("g")
        .desired_capacity(3)
        .send()
        .await
        .expect("set 3");
    let acts = activities(&w, "g").await;
    assert_eq!(acts.len(), 5);
    let newest = &acts[0];
    assert!(newest
        .description()
        .is_some_and(|d| d.starts_with("Terminating EC2 instance: i-")));
    let cause = newest.cause().unwrap_or_default();
    assert!(cause.starts_with("At 2026-01-01T00:00:20Z a user request explicitly set group desired capacity changing the desired capacity from 4 to 3.  At 2026-01-01T00:00:20Z an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from 4 to 3.  At 2026-01-01T00:00:20Z instance i-"), "{cause}");
    assert!(cause.ends_with("was selected for termination."), "{cause}");
    assert_eq!(status(newest), "InProgress");
    w.advance(30);
    assert_eq!(status(&activities(&w, "g").await[0]), "Successful");
    // Filters and ids.
    let id = acts[0].activity_id().expect("id").to_string();
    let one = w
        .asg
        .describe_scaling_activities()
        .activity_ids(&id)
        .send()
        .await
        .expect("by id");
    assert_eq!(one.activities().len(), 1);
    let paged = w
        .asg
        .describe_scaling_activities()
        .auto_scaling_group_name("g")
        .max_records(2)
        .send()
        .await
        .expect("paged");
    assert_eq!(paged.activities().len(), 2);
    assert!(paged.next_token().is_some());
}

#[tokio::test]
async fn a_launch_into_a_full_subnet_fails_and_is_retried_with_backoff() {
    let w = World::new("us-east-1");
    let v = vpc(&w.ec2, "10.0.0.0/16").await;
    // A /28 has 11 usable addresses; an ENI takes one of them.
    let small = subnet(&w.ec2, &v, "10.0.9.0/28", "us-east-1a").await;
    let eni = w
        .ec2
        .create_network_interface()
        .subnet_id(&small)
        .send()
        .await
        .expect("CreateNetworkInterface")
        .network_interface()
        .and_then(|e| e.network_interface_id())
        .expect("eni")
        .to_string();
    let lt = template(&w, "workers").await;
    group(&w, "full", &lt, &[&small], 0, 11, 11).await;
    w.advance(1);
    let acts = activities(&w, "full").await;
    let failed: Vec<&Activity> = acts.iter().filter(|a| status(a) == "Failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(acts.len(), 11);
    let f = failed[0];
    assert_eq!(
        f.status_message(),
        Some(format!("There are not enough free addresses in subnet '{small}' to satisfy the requested number of instances. Launching EC2 instance failed.").as_str())
    );
    assert!(f.description().is_some_and(|d| d.starts_with(
        "Launching a new EC2 instance.  Status Reason: There are not enough free addresses"
    )));
    assert!(f.end_time().is_some());
    assert_eq!(describe(&w, "full").await.instances().len(), 10);
    // Retried after 10 s (fails again), then after 20 s more.
    w.advance(9);
    assert_eq!(activities(&w, "full").await.len(), 12);
    w.advance(1);
    assert_eq!(
        activities(&w, "full")
            .await
            .iter()
            .filter(|a| status(a) == "Failed")
            .count(),
        2
    );
    w.ec2
        .delete_network_interface()
        .network_interface_id(&eni)
        .send()
        .await
        .expect("DeleteNetworkInterface");
    w.advance(18);
    assert_eq!(
        describe(&w, "full").await.instances().len(),
        10,
        "still backing off"
    );
    w.advance(1);
    assert_eq!(
        describe(&w, "full").await.instances().len(),
        11,
        "retry succeeded"
    );
    assert_eq!(available_ips(&w.ec2, &small).await, 0);
    let acts = activities(&w, "full").await;
    assert!(acts[0]
        .description()
        .is_some_and(|d| d.starts_with("Launching a new EC2 instance: i-")));
}
