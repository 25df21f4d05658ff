//! Instance metadata (IMDSv1 and v2) per instance, served under `/_cloudbox/imds/<instance-id>/`.

use crate::server::AwsState;
use axum::Router;

/// The IMDS routes, merged into the endpoint's router.
pub fn routes() -> Router<AwsState> {
    Router::new()
}
