//! Custom resources against their CRD's structural schema, and CRDs against apiextensions'
//! rules, as kube-apiserver 1.32 does: on every write of a custom resource unknown fields are
//! pruned, defaults applied, then the value is validated (types, formats, bounds, list types,
//! CEL `x-kubernetes-validations`), with ratcheting on update; a CRD is refused unless its
//! names, versions and schemas are valid and structural.
//!
//! One job a module: `prune` (unknown fields), `defaulting` (`default`), `validate` (value
//! validation and ratcheting), `format` (the string-format registry), `cel` (rules),
//! `structural` (a CRD schema's own checks), `crd` (the CRD object), `errors` (field-error
//! wording).
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apiextensions-apiserver/pkg/{apiserver/validation,apiserver/schema,apis/apiextensions/validation},
//! k8s.io/kube-openapi/pkg/validation/{validate,errors,strfmt}.
//! Not modelled: see each module's list.

mod cel;
mod crd;
mod defaulting;
mod errors;
mod format;
mod prune;
mod structural;
mod validate;

pub use crd::validate as validate_crd;
pub use defaulting::apply_defaults;
pub use prune::prune;
pub use validate::validate;
