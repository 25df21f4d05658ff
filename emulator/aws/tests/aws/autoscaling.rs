//! autoscaling tests.
