//! Event strategy (core/v1 and events.k8s.io/v1): PUT of a missing event creates it
//! (AllowCreateOnUpdate), the `kubectl get events` columns, and each group's field labels. Both
//! groups share one stored form (the core one), so the events.k8s.io labels read the core
//! fields (`regarding` is stored as `involvedObject`, `reportingController` as
//! `reportingComponent`).
//!
//! Upstream: kubernetes v1.32, pkg/registry/core/event/strategy.go (`AllowCreateOnUpdate`,
//! `ToSelectableFields`: `source` is `source.component`), pkg/apis/core/v1/conversion.go
//! (`AddFieldLabelConversionsForEvent`), pkg/apis/events/v1/conversion.go (the events.k8s.io
//! label mapping).
//!
//! Not modelled: events.k8s.io labels beyond `regarding.*`, `reason`, `reportingController`,
//! `type` and metadata.

use super::strategy::Described;
use crate::selectors::{field, KindFields, Unsupported};

/// The core/v1 Event field labels.
pub static CORE_EVENT_FIELDS: KindFields = KindFields {
    cluster_scoped: false,
    fields: &[
        field("involvedObject.kind", "/involvedObject/kind"),
        field("involvedObject.namespace", "/involvedObject/namespace"),
        field("involvedObject.name", "/involvedObject/name"),
        field("involvedObject.uid", "/involvedObject/uid"),
        field("involvedObject.apiVersion", "/involvedObject/apiVersion"),
        field(
            "involvedObject.resourceVersion",
            "/involvedObject/resourceVersion",
        ),
        field("involvedObject.fieldPath", "/involvedObject/fieldPath"),
        field("reason", "/reason"),
        field("reportingComponent", "/reportingComponent"),
        field("source", "/source/component"),
        field("type", "/type"),
    ],
    unsupported: Unsupported::NotSupported,
};

/// The events.k8s.io/v1 Event field labels, read from the stored core form.
pub static EVENT_FIELDS: KindFields = KindFields {
    cluster_scoped: false,
    fields: &[
        field("regarding.kind", "/involvedObject/kind"),
        field("regarding.namespace", "/involvedObject/namespace"),
        field("regarding.name", "/involvedObject/name"),
        field("regarding.uid", "/involvedObject/uid"),
        field("regarding.apiVersion", "/involvedObject/apiVersion"),
        field(
            "regarding.resourceVersion",
            "/involvedObject/resourceVersion",
        ),
        field("regarding.fieldPath", "/involvedObject/fieldPath"),
        field("reason", "/reason"),
        field("reportingController", "/reportingComponent"),
        field("type", "/type"),
    ],
    unsupported: Unsupported::NotSupported,
};

/// core/v1 Events.
pub static CORE_EVENTS: Described = Described {
    fields: &CORE_EVENT_FIELDS,
    create_on_update: true,
    ..Described::printed(&super::core_printers::EVENT)
};

/// events.k8s.io/v1 Events.
pub static EVENTS: Described = Described {
    fields: &EVENT_FIELDS,
    create_on_update: true,
    ..Described::printed(&super::core_printers::EVENT)
};
