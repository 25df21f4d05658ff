//! Admin routes of `cloudbox up` over the built-in controllers' state, merged into the AWS
//! endpoint's `/_cloudbox/` API:
//!
//! | route | what |
//! |---|---|
//! | `GET /_cloudbox/nodes/<node>/network` | the node's VPC CNI data plane as JSON: ENIs, pods with their veths, `ip route`, `ip rule`, per-ENI tables (docs/vpc-cni.md) |
//! | `GET /_cloudbox/nodes/<node>/network?format=text` | the same as the shell listings the seed shows |

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cloudbox_integrations::vpc_cni::dataplane;
use cloudbox_integrations::Context;
use serde_json::json;
use std::collections::HashMap;

/// The routes; none without built-in controllers (no cluster in the topology).
pub fn routes(ctx: Option<Context>) -> Router {
    match ctx {
        None => Router::new(),
        Some(ctx) => Router::new()
            .route("/_cloudbox/nodes/{node}/network", get(node_network))
            .with_state(ctx),
    }
}

async fn node_network(
    State(ctx): State<Context>,
    Path(node): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match dataplane::node_network(&ctx, &node) {
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!(
                "node '{node}' has no VPC CNI data plane (unknown node, or the cluster runs no VPC CNI)"
            )})),
        )
            .into_response(),
        Some(view) if q.get("format").is_some_and(|f| f == "text") => view.to_text().into_response(),
        Some(view) => Json(view).into_response(),
    }
}
