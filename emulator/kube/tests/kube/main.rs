//! The API server's tests, one module per area in one test binary (one link instead of eight):
//! each module talks to `cloudbox_kube::app(state)` the way clients do — raw requests through the
//! router (`tower::ServiceExt::oneshot`), kube-rs over the in-process service or HTTP.

mod api;
mod crd;
mod field_selectors;
mod kinds;
mod kube_rs;
mod list_rv;
mod openapi;
mod quota_prop;
mod robustness;
mod support;
mod watch_prop;
