//! CertificateSigningRequest's strategy: the requester recorded from the request's user, an
//! immutable spec, and approval conditions changed only through `approval`.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/certificates/certificates/strategy.go`
//! (`PrepareForCreate`: `spec.username`, `uid`, `groups` and `extra` cleared, then set from the
//! request's user, the status emptied; `PrepareForUpdate`: spec and status kept from the stored
//! object; the status strategy keeps the spec and the `Approved`/`Denied` conditions; the
//! approval strategy keeps the spec and `status.certificate`).
//!
//! Not modelled: signing (no csrsigning controller: an approved request gets no
//! `status.certificate`), `extra` (the users here carry none), the conditions' timestamp
//! population and the approval/denial validation rules.

use super::rbac::UserInfo;
use super::strategy::{Described, Strategy};
use crate::error::KubeResult;
use crate::ops::Sub;
use crate::selectors::FieldLabels;
use crate::table::TableConvertor;
use serde_json::{json, Value};

/// The CSR strategy: a [`Described`] kind with the requester and immutability rules.
pub struct CertificateSigningRequests(pub Described);

/// Whether a condition is an approval decision (only `approval` sets them).
fn is_decision(c: &Value) -> bool {
    c["type"] == "Approved" || c["type"] == "Denied"
}

impl Strategy for CertificateSigningRequests {
    fn prepare_for_create(&self, obj: &mut Value, requester: Option<&UserInfo>) -> KubeResult<()> {
        if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
            for k in ["username", "uid", "groups", "extra"] {
                spec.remove(k);
            }
            if let Some(u) = requester {
                spec.insert("username".into(), json!(u.name));
                if !u.uid.is_empty() {
                    spec.insert("uid".into(), json!(u.uid));
                }
                spec.insert("groups".into(), json!(u.groups));
            }
        }
        obj["status"] = json!({});
        Ok(())
    }

    fn prepare_for_update(&self, sub: Sub, obj: &mut Value, old: &Value) -> KubeResult<()> {
        obj["spec"] = old["spec"].clone();
        match sub {
            Sub::Main => obj["status"] = old["status"].clone(),
            Sub::Status => {
                // The decisions stay as `approval` left them.
                let kept: Vec<Value> = old["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|c| is_decision(c))
                    .cloned()
                    .collect();
                let mut conds: Vec<Value> = obj["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|c| !is_decision(c))
                    .cloned()
                    .collect();
                conds.splice(0..0, kept);
                if !obj["status"].is_object() {
                    obj["status"] = json!({});
                }
                if conds.is_empty() {
                    if let Some(s) = obj["status"].as_object_mut() {
                        s.remove("conditions");
                    }
                } else {
                    obj["status"]["conditions"] = json!(conds);
                }
            }
            Sub::Approval => match old.pointer("/status/certificate") {
                Some(c) => obj["status"]["certificate"] = c.clone(),
                None => {
                    if let Some(s) = obj["status"].as_object_mut() {
                        s.remove("certificate");
                    }
                }
            },
            _ => {}
        }
        Ok(())
    }

    fn table(&self) -> &'static dyn TableConvertor {
        self.0.table()
    }
    fn field_labels(&self) -> &'static dyn FieldLabels {
        self.0.field_labels()
    }
    fn subresources(&self) -> &'static [(&'static str, Sub)] {
        self.0.subresources()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::catalog::CSR_FIELDS;
    use crate::kinds::printers::CERTIFICATE_SIGNING_REQUEST;

    fn strategy() -> CertificateSigningRequests {
        CertificateSigningRequests(Described {
            fields: &CSR_FIELDS,
            ..Described::printed(&CERTIFICATE_SIGNING_REQUEST)
        })
    }

    #[test]
    fn the_requester_is_the_requests_user_whatever_the_body_says() -> KubeResult<()> {
        let mut csr = json!({"spec": {"request": "x", "username": "forged", "groups": ["system:masters"]},
                             "status": {"conditions": [{"type": "Approved", "status": "True"}]}});
        let sa = UserInfo::service_account("ns", "bot", "u-1");
        strategy().prepare_for_create(&mut csr, Some(&sa))?;
        assert_eq!(csr["spec"]["username"], "system:serviceaccount:ns:bot");
        assert_eq!(csr["spec"]["uid"], "u-1");
        assert_eq!(csr["spec"]["groups"][2], "system:authenticated");
        assert_eq!(csr["status"], json!({}));
        Ok(())
    }

    #[test]
    fn updates_keep_the_spec_and_the_decisions() -> KubeResult<()> {
        let old = json!({"spec": {"request": "x", "username": "jane"},
                         "status": {"conditions": [{"type": "Approved", "status": "True"}]}});
        let mut main = json!({"spec": {"request": "y", "username": "eve"}, "status": {}});
        strategy().prepare_for_update(Sub::Main, &mut main, &old)?;
        assert_eq!(main["spec"]["username"], "jane");
        assert_eq!(main["status"], old["status"]);
        let mut status = json!({"spec": {}, "status": {"conditions": [
            {"type": "Denied", "status": "True"}, {"type": "Failed", "status": "True"}],
            "certificate": "Y2VydA=="}});
        strategy().prepare_for_update(Sub::Status, &mut status, &old)?;
        let types: Vec<&str> = status["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["type"].as_str())
            .collect();
        assert_eq!(types, ["Approved", "Failed"]);
        assert_eq!(status["status"]["certificate"], "Y2VydA==");
        Ok(())
    }
}
