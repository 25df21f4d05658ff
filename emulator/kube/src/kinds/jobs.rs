//! Job strategy: the generated selector and labels, which need the new Job's uid; columns and
//! field labels.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/batch/job/strategy.go` (`generateSelector`,
//! `JobToSelectableFields`: `status.successful` is `status.succeeded` as a number),
//! `pkg/apis/batch/v1/conversion.go` (its error wording).
//!
//! Not modelled: the job tracking finalizer annotations, `batch.kubernetes.io/job-tracking`.

use super::strategy::{generate_job_selector, Strategy};
use crate::selectors::{field_or, FieldLabels, KindFields, Unsupported};
use crate::table::TableConvertor;
use serde_json::Value;

/// The Job field labels.
pub static JOB_FIELDS: KindFields = KindFields {
    cluster_scoped: false,
    fields: &[field_or("status.successful", "/status/succeeded", "0")],
    unsupported: Unsupported::NotSupportedFor("batchv1.Job"),
};

/// The Job strategy.
pub struct JobStrategy;

impl Strategy for JobStrategy {
    fn prepare_with_uid(&self, obj: &mut Value, uid: &str) {
        generate_job_selector(obj, uid);
    }

    fn table(&self) -> &'static dyn TableConvertor {
        &super::printers::JOB
    }

    fn field_labels(&self) -> &'static dyn FieldLabels {
        &JOB_FIELDS
    }
}
