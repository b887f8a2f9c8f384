"""Catalog services: meters, plans, price versions. One transaction each, audited.

A published version is immutable; a price change is a new version with an effective date. Drafts can
be edited, simulated and compared (impact view) before they are published. One module per concern:
``meters``, ``plans`` (plans, versions, drafts), ``publication`` (publishing and its approval, issue 12
§3) and ``guards`` (what every write refuses). Callers use this package's names."""

from billing.catalog.services.guards import closed_period_errors
from billing.catalog.services.meters import AGGREGATIONS, meter_create, meter_update
from billing.catalog.services.plans import (
    plan_create,
    plan_update,
    plan_version_create,
    plan_version_discard_draft,
    plan_version_update_draft,
)
from billing.catalog.services.publication import (
    PUBLISH_KIND,
    content_fingerprint,
    plan_version_publish,
    publish_reasons,
    publish_request_for,
    register,
    version_content,
)

__all__ = [
    "AGGREGATIONS",
    "PUBLISH_KIND",
    "closed_period_errors",
    "content_fingerprint",
    "meter_create",
    "meter_update",
    "plan_create",
    "plan_update",
    "plan_version_create",
    "plan_version_discard_draft",
    "plan_version_publish",
    "plan_version_update_draft",
    "publish_reasons",
    "publish_request_for",
    "register",
    "version_content",
]
