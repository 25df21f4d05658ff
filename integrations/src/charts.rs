//! What the add-ons' Helm charts install before their pods start: the ServiceAccounts,
//! ClusterRoles, Roles and bindings the add-on controllers call the API server under, so a pass
//! of cloud-controller-manager, the EBS CSI controller's sidecars or ipamd is authorized by the
//! chart's own RBAC, as on a real cluster, and a refused request fails it with kube-apiserver's
//! 403.
//!
//! The objects are the charts' templates rendered with their default values, kept as YAML beside
//! the crate (`integrations/charts/*.yaml`, each file naming its chart, version and templates):
//! - kubernetes/cloud-provider-aws `charts/aws-cloud-controller-manager` (tag v1.32.4, chart
//!   0.0.8): cloud-controller-manager runs without `--use-service-account-credentials`, so the
//!   cloud node controllers ([`crate::cloud_node`]) call as `cloud-controller-manager`;
//! - kubernetes-sigs/aws-ebs-csi-driver chart 2.37.0 (driver v1.37.0): external-provisioner,
//!   external-attacher and external-resizer ([`crate::ebs`]) call as `ebs-csi-controller-sa`;
//! - aws/amazon-vpc-cni-k8s chart 1.19.6: ipamd ([`crate::vpc_cni`]) calls as `aws-node`.
//!
//! How: [`Context::as_addon`] installs a chart's objects once per controller process (the
//! first pass that needs them) through the cluster admin's client, as `helm install` would,
//! leaving any object that already exists as it is, then hands out the chart account's client
//! ([`Context::as_account`]: a bound token renewed on the simulation clock). Nothing re-creates
//! an object a user deleted afterwards: Helm does not either, and the add-on's next request
//! is refused.
//!
//! Not modelled: the charts' Deployments and DaemonSets (the controllers run in process), Helm's
//! release records and ownership labels checks, values other than the defaults.

use crate::context::{Context, Error};
use crate::identity::Account;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

/// One add-on chart: its rendered RBAC objects and the account its controllers call as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chart {
    /// The chart's name (`aws-ebs-csi-driver`).
    pub name: &'static str,
    /// The rendered objects (multi-document YAML).
    manifest: &'static str,
    /// The namespace and name of the ServiceAccount the add-on's controllers call as.
    service_account: (&'static str, &'static str),
}

/// kubernetes/cloud-provider-aws's `aws-cloud-controller-manager` chart.
pub const CLOUD_CONTROLLER_MANAGER: Chart = Chart {
    name: "aws-cloud-controller-manager",
    manifest: include_str!("../charts/aws-cloud-controller-manager.yaml"),
    service_account: ("kube-system", "cloud-controller-manager"),
};

/// The aws-ebs-csi-driver chart (the controller's account; the node plugin's
/// `ebs-csi-node-sa` is installed beside it).
pub const EBS_CSI_DRIVER: Chart = Chart {
    name: "aws-ebs-csi-driver",
    manifest: include_str!("../charts/aws-ebs-csi-driver.yaml"),
    service_account: ("kube-system", "ebs-csi-controller-sa"),
};

/// The aws-vpc-cni chart (the `aws-node` DaemonSet's account).
pub const VPC_CNI: Chart = Chart {
    name: "aws-vpc-cni",
    manifest: include_str!("../charts/aws-vpc-cni.yaml"),
    service_account: ("kube-system", "aws-node"),
};

impl Chart {
    /// The account the add-on's controllers call the API server as.
    pub fn account(&self) -> Account {
        Account::ServiceAccount {
            namespace: self.service_account.0.into(),
            name: self.service_account.1.into(),
        }
    }

    /// The chart's objects, in the order they are installed.
    pub fn objects(&self) -> Result<Vec<Value>, Error> {
        let mut out = Vec::new();
        for doc in serde_yaml_ng::Deserializer::from_str(self.manifest) {
            let v = Value::deserialize(doc).map_err(|e| Error::Chart {
                chart: self.name,
                what: format!("parse manifest: {e}"),
                source: None,
            })?;
            if !v.is_null() {
                out.push(v);
            }
        }
        Ok(out)
    }
}

/// Creates every object of `chart` that does not exist yet through `admin`; how many were
/// created.
pub async fn install(admin: &kube::Client, chart: &Chart) -> Result<usize, Error> {
    let mut created = 0;
    for obj in chart.objects()? {
        let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or_default();
        let (api_version, kind, name, ns) = (
            s("/apiVersion"),
            s("/kind"),
            s("/metadata/name"),
            s("/metadata/namespace"),
        );
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        let api: Api<DynamicObject> = if ns.is_empty() {
            Api::all_with(admin.clone(), &ar)
        } else {
            Api::namespaced_with(admin.clone(), ns, &ar)
        };
        let what = format!("create {kind} {name}");
        let dynamic: DynamicObject =
            serde_json::from_value(obj.clone()).map_err(|e| Error::Chart {
                chart: chart.name,
                what: format!("{what}: {e}"),
                source: None,
            })?;
        match api.create(&PostParams::default(), &dynamic).await {
            Ok(_) => created += 1,
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => {
                return Err(Error::Chart {
                    chart: chart.name,
                    what,
                    source: Some(Box::new(e)),
                })
            }
        }
    }
    Ok(created)
}

/// The charts this controller process installed already.
#[derive(Default)]
struct Installed(Mutex<BTreeSet<&'static str>>);

impl Context {
    /// This context calling the API server as `chart`'s account, the chart's RBAC objects
    /// installed first if this process has not done so yet.
    pub async fn as_addon(&self, chart: &Chart) -> Result<Context, Error> {
        let installed = self.memory.get::<Installed>();
        let done = installed
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(chart.name);
        if !done {
            install(self.identities().admin(), chart).await?;
            installed
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(chart.name);
        }
        self.as_account(&chart.account()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chart_parses_and_binds_its_account() -> Result<(), Error> {
        for chart in [CLOUD_CONTROLLER_MANAGER, EBS_CSI_DRIVER, VPC_CNI] {
            let objs = chart.objects()?;
            let (ns, sa) = chart.service_account;
            assert!(
                objs.iter().any(|o| o["kind"] == "ServiceAccount"
                    && o["metadata"]["name"] == sa
                    && o["metadata"]["namespace"] == ns),
                "{}",
                chart.name
            );
            // Some binding names the account, and every object has a kind and a name.
            assert!(objs.iter().any(|o| o["kind"] == "ClusterRoleBinding"
                && o["subjects"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|s| s["name"] == sa && s["namespace"] == ns)));
            for o in &objs {
                assert!(
                    o["kind"].is_string() && o["metadata"]["name"].is_string(),
                    "{o}"
                );
            }
        }
        Ok(())
    }
}
