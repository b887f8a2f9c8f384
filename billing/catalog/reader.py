"""The catalog as one piece of billing work reads it: an explicit object, passed to what prices.

A :class:`Catalog` answers the catalog reads pricing makes (a plan's published versions and their
ids, products and meters by code, the default legal entity) and keeps each answer for its own
lifetime, so they happen once instead of once per contract line, item or invoice line. One is made
for one invoice build, one planning pass of a billing run and a billing-run worker's next
``CATALOG_BATCH`` items, and handed down in the build context. Published versions never change, so
the only difference its lifetime makes is when a version published meanwhile is first seen: by the
next catalog (within that many items of a run) rather than half-way through this one, which is also
what gives one invoice a single, consistent view of its prices. A caller that passes none gets a
fresh catalog, which reads everything anew.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from billing.catalog.selectors import published_versions, version_def
from billing.models import Meter, Plan, PlanVersion
from billing.pricing import VersionDef

T = TypeVar("T")


class Catalog:
    def __init__(self) -> None:
        self._answers: dict[tuple, object] = {}

    def _read(self, key: tuple, compute: Callable[[], T]) -> T:
        if key not in self._answers:
            self._answers[key] = compute()
        return self._answers[key]  # type: ignore[return-value]

    def published_versions(self, plan: Plan) -> list[VersionDef]:
        """The plan's published versions as pure definitions (newest first)."""
        return self._read(
            ("published_versions", plan.pk), lambda: [version_def(v) for v in published_versions(plan)]
        )

    def version_ids(self, plan_id: int) -> dict[int, int]:
        """The plan's version ids by version number."""
        return self._read(
            ("version_ids", plan_id),
            lambda: dict(PlanVersion.objects.filter(plan_id=plan_id).values_list("number", "id")),
        )

    def product(self, code: str):
        from revops.parties.models import Product

        return self._read(("product", code), lambda: Product.objects.filter(code=code).first())

    def meter(self, code: str) -> Meter:
        return self._read(("meter", code), lambda: Meter.objects.get(code=code))

    def default_legal_entity(self):
        from revops.parties.services.customers import default_legal_entity

        return self._read(("legal_entity",), default_legal_entity)
