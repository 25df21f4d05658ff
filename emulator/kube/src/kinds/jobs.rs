//! Job strategy: the generated selector and labels, which need the new Job's uid.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/batch/job/strategy.go` (`generateSelector`).
//!
//! Not modelled: the job tracking finalizer annotations, `batch.kubernetes.io/job-tracking`.

use super::strategy::{generate_job_selector, Strategy};
use serde_json::Value;

/// The Job strategy.
pub struct JobStrategy;

impl Strategy for JobStrategy {
    fn prepare_with_uid(&self, obj: &mut Value, uid: &str) {
        generate_job_selector(obj, uid);
    }
}
