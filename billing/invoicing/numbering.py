"""Gapless document numbers per legal entity: taken from a locked counter row inside the finalizing
transaction (never max+1), so a rollback returns the number and concurrent finalizations queue."""

from __future__ import annotations

from django.db import connection

from billing.models import DocumentCounter

PREFIXES = {"invoice": None, "credit_note": "CN"}


def next_number(*, legal_entity, series: str) -> tuple[int, str]:
    if not connection.in_atomic_block:
        raise RuntimeError("Numbers are taken inside the finalizing transaction.")
    DocumentCounter.objects.get_or_create(legal_entity=legal_entity, series=series)
    counter = DocumentCounter.objects.select_for_update().get(legal_entity=legal_entity, series=series)
    sequence = counter.next_number
    counter.next_number = sequence + 1
    counter.save(update_fields=["next_number"])
    prefix = PREFIXES.get(series) or legal_entity.invoice_prefix
    return sequence, f"{prefix}-{sequence:06d}"
