"""Gapless document numbers per legal entity: taken from a locked counter row inside the finalizing
transaction (never max+1), so a rollback returns the number and concurrent finalizations queue.

One invoice takes one number (:func:`next_number`); a finalization batch locks the counter once
(:func:`counter_lock`), hands out consecutive numbers in its invoices' order — a number only to an
invoice that is finalized, so a draft parked with an error leaves no gap — and writes the counter
back once (:func:`counter_advance`), in the same transaction.

Lock order (docs/architecture.md, "Lock order"): document rows → counter → accounting period →
audit chain head. The counter is taken before anything that audits or posts."""

from __future__ import annotations

from django.db import connection

from billing.models import DocumentCounter

PREFIXES = {"invoice": None, "credit_note": "CN"}


def counter_lock(*, legal_entity, series: str) -> DocumentCounter:
    """The series' counter row, locked until the caller's transaction ends."""
    if not connection.in_atomic_block:
        raise RuntimeError("Numbers are taken inside the finalizing transaction.")
    DocumentCounter.objects.get_or_create(legal_entity=legal_entity, series=series)
    return DocumentCounter.objects.select_for_update().get(legal_entity=legal_entity, series=series)


def number_format(*, legal_entity, series: str, sequence: int) -> str:
    prefix = PREFIXES.get(series) or legal_entity.invoice_prefix
    return f"{prefix}-{sequence:06d}"


def counter_advance(counter: DocumentCounter, *, next_number: int) -> None:
    """Write back a locked counter after a batch took the numbers below ``next_number``."""
    if next_number < counter.next_number:
        raise ValueError("A document counter never goes back.")
    counter.next_number = next_number
    counter.save(update_fields=["next_number"])


def next_number(*, legal_entity, series: str) -> tuple[int, str]:
    counter = counter_lock(legal_entity=legal_entity, series=series)
    sequence = counter.next_number
    counter_advance(counter, next_number=sequence + 1)
    return sequence, number_format(legal_entity=legal_entity, series=series, sequence=sequence)
