"""Monthly RANGE partitions of ``billing_usageevent`` on PostgreSQL (SQLite keeps one table).

Partitions are named ``billing_usageevent_pYYYY_MM`` and cover ``[first of month, first of next
month)`` in UTC. A DEFAULT partition catches anything outside them (very late events for a month
that has no partition yet), so ingestion never fails for want of a partition.

:func:`ensure_partitions` is idempotent and safe to run concurrently (an advisory lock serialises
it). When the DEFAULT partition already holds rows of a month being created, PostgreSQL refuses a
plain ``CREATE … PARTITION OF`` (the rows would violate the default's new constraint), so those rows
are moved in one transaction: detach DEFAULT, create the month, re-insert its rows through the parent,
delete them from DEFAULT, re-attach DEFAULT. That takes a short ACCESS EXCLUSIVE lock on the parent;
the daily beat task creates months three ahead, so in practice it only happens for back-filled history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import connections, transaction

PARENT = "billing_usageevent"
DEFAULT = f"{PARENT}_default"
_LOCK_KEY = 0x55534147  # "USAG": pg_advisory_xact_lock key for partition maintenance


def partition_name(month: date) -> str:
    return f"{PARENT}_p{month.year:04d}_{month.month:02d}"


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + (month.month - 1) + n
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    nxt = add_months(month, 1)
    return start, datetime(nxt.year, nxt.month, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PartitionResult:
    created: list[str]
    moved_rows: int


def is_partitioned(using: str = "default") -> bool:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [PARENT])
        row = cursor.fetchone()
    return bool(row and row[0] == "p")


def ensure_partitions(
    *, months_ahead: int = 3, months_back: int = 1, today: date | None = None, using: str = "default"
) -> PartitionResult:
    """Create the monthly partitions from ``months_back`` months before ``today``'s month to
    ``months_ahead`` months after it. Does nothing on SQLite or when the table is not partitioned."""
    if not is_partitioned(using):
        return PartitionResult([], 0)
    today = today or datetime.now(UTC).date()
    current = date(today.year, today.month, 1)
    created, moved = [], 0
    for offset in range(-months_back, months_ahead + 1):
        name, rows = _ensure_month(add_months(current, offset), using=using)
        if name:
            created.append(name)
            moved += rows
    return PartitionResult(created, moved)


def _ensure_month(month: date, *, using: str) -> tuple[str | None, int]:
    name = partition_name(month)
    start, end = month_bounds(month)
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cursor.fetchone()[0]:
            return None, 0
        cursor.execute(
            f'SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE "timestamp" >= %s AND "timestamp" < %s)',  # noqa: S608
            [start, end],
        )
        if not cursor.fetchone()[0]:
            cursor.execute(_create_sql(name, start, end))
            return name, 0
        # Rows of this month wait in DEFAULT: move them with the partition, in this one transaction.
        cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {DEFAULT}")
        cursor.execute(_create_sql(name, start, end))
        cursor.execute(
            f'INSERT INTO {PARENT} SELECT * FROM {DEFAULT} WHERE "timestamp" >= %s AND "timestamp" < %s',  # noqa: S608
            [start, end],
        )
        moved = cursor.rowcount
        cursor.execute(f'DELETE FROM {DEFAULT} WHERE "timestamp" >= %s AND "timestamp" < %s', [start, end])  # noqa: S608
        cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {DEFAULT} DEFAULT")
        return name, moved


def _create_sql(name: str, start: datetime, end: datetime) -> str:
    # DDL takes no bind parameters; the bounds are generated here from dates, never from input.
    lo, hi = start.strftime("%Y-%m-%d 00:00:00+00"), end.strftime("%Y-%m-%d 00:00:00+00")
    return f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES FROM ('{lo}') TO ('{hi}')"


def partition_list(using: str = "default") -> list[dict]:
    """Partitions with their bounds and estimated row counts (for operators and the docs)."""
    if not is_partitioned(using):
        return []
    with connections[using].cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = to_regclass(%s)
            ORDER BY c.relname
            """,
            [PARENT],
        )
        return [{"name": n, "bounds": b, "estimated_rows": max(r, 0)} for n, b, r in cursor.fetchall()]
