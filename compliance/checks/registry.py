"""Check registry: each check is a function returning findings; the runner turns them into exceptions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection

# Rows a check streams from the database at a time: its memory stays bounded whatever the book's size.
CHUNK = 2000


@dataclass(frozen=True)
class Finding:
    object_type: str
    object_id: str
    explanation: str
    details: dict = field(default_factory=dict)
    severity: str | None = None  # default: the check's severity


@dataclass(frozen=True)
class Check:
    code: str
    title: str
    invariant: str  # what must hold (shown to users and auditors)
    severity: str
    run: Callable[[], list[Finding]]


CHECKS: dict[str, Check] = {}


def check(code: str, *, title: str, invariant: str, severity: str = "high"):
    def decorator(fn: Callable[[], list[Finding]]):
        CHECKS[code] = Check(code, title, invariant, severity, fn)
        return fn

    return decorator


def order_checks(codes: tuple[str, ...]) -> None:
    """Put the registry in the order ``codes`` names (the order a run raises exceptions and the
    controls page lists the checks); a check ``codes`` does not name keeps its place after them."""
    rank = {code: i for i, code in enumerate(codes)}
    ordered = sorted(CHECKS.items(), key=lambda item: rank.get(item[0], len(codes)))
    CHECKS.clear()
    CHECKS.update(ordered)


def ref(obj) -> tuple[str, str]:
    return f"{obj._meta.app_label}.{obj._meta.model_name}", str(obj.pk)


def model_ref(model) -> str:
    """``app_label.model_name`` of ``model``: the object type of a finding built from a values row."""
    return f"{model._meta.app_label}.{model._meta.model_name}"


def failing_rows(qs, having=None, *, chunk_size: int = CHUNK):
    """The rows of ``qs`` (a grouped ``values()`` query) a check compares. On
    PostgreSQL ``having`` (a ``Q`` over the aggregates) is applied in SQL first, so only the failing
    groups leave the database: it sums NUMERIC exactly. SQLite sums in floating point, so there every
    group is streamed; either way the caller's exact comparison (on ``stored_sum`` values) decides."""
    if having is not None and connection.vendor == "postgresql":
        # Only failing groups come back (as many as the findings the check returns anyway): read them
        # with a plain cursor, planned for the whole result, not a server-side cursor planned for its
        # first rows (which picks a sorted aggregate over a hash one).
        return iter(qs.filter(having))
    return qs.iterator(chunk_size=chunk_size)


def in_chunks(items, size: int = 500):
    """``items`` in lists of at most ``size`` (for ``pk__in`` lookups that stay within SQLite's
    parameter limit)."""
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
