//! kube-controller-manager's ServiceAccounts controller: every active Namespace gets a
//! ServiceAccount named `default`, recreated when it is deleted, so pods that name no account
//! and `kubectl create token default` work as on a real cluster.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4 `pkg/controller/serviceaccount/serviceaccounts_controller.go`
//! (`syncNamespace`: skip a namespace that is terminating, create each managed account that is
//! missing, ignore `AlreadyExists`; the managed accounts are `DefaultServiceAccountsControllerOptions`:
//! just `default`).
//!
//! Not modelled: the root CA publisher's `kube-root-ca.crt` ConfigMap, legacy token Secrets
//! (none since 1.24), the namespace informer's resync.

use crate::{Context, Error};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, PostParams};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The accounts every namespace gets.
pub const MANAGED: &[&str] = &["default"];

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Accounts created (`namespace/name`).
    pub created: Vec<String>,
}

/// One pass over every Namespace.
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    let ctx = &ctx
        .as_account(&crate::Account::controller("service-account-controller"))
        .await?;
    let err = |what: String| {
        move |source: kube::Error| Error::Workload {
            what,
            source: Box::new(source),
        }
    };
    let namespaces = ctx
        .cache
        .list::<Namespace>()
        .await
        .map_err(err("list Namespaces".into()))?;
    let accounts: BTreeSet<(String, String)> = ctx
        .cache
        .list::<ServiceAccount>()
        .await
        .map_err(err("list ServiceAccounts".into()))?
        .iter()
        .map(|a| {
            (
                str_at(a, "/metadata/namespace"),
                str_at(a, "/metadata/name"),
            )
        })
        .collect();
    let mut summary = Summary::default();
    for ns in &namespaces {
        let name = str_at(ns, "/metadata/name");
        let terminating = ns["metadata"]["deletionTimestamp"].is_string()
            || ns["status"]["phase"] == "Terminating";
        if name.is_empty() || terminating {
            continue;
        }
        for account in MANAGED {
            if accounts.contains(&(name.clone(), (*account).to_string())) {
                continue;
            }
            let api: Api<ServiceAccount> = Api::namespaced(ctx.kube.clone(), &name);
            let sa: ServiceAccount = serde_json::from_value(json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": account, "namespace": name},
            }))
            .map_err(|source| Error::Build {
                what: "ServiceAccount",
                source,
            })?;
            match api.create(&PostParams::default(), &sa).await {
                Ok(_) => summary.created.push(format!("{name}/{account}")),
                // Created meanwhile, or the namespace began terminating: as upstream, not an error.
                Err(kube::Error::Api(e)) if e.code == 409 || e.code == 403 => {}
                Err(e) => return Err(err(format!("create ServiceAccount {name}/{account}"))(e)),
            }
        }
    }
    Ok(summary)
}

fn str_at(v: &Value, ptr: &str) -> String {
    crate::json::str_at(v, ptr).to_string()
}
