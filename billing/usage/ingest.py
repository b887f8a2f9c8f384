"""The ingestion fast path: validate a batch in bulk, then write it in one short transaction.

No serializer and no ``save()`` per event. Validation is plain Python over the parsed JSON with one
query for all the batch's customers and one for its meters. The write is, on PostgreSQL::

    INSERT INTO billing_eventkey … SELECT … FROM unnest(…) ORDER BY transaction_id
        ON CONFLICT DO NOTHING RETURNING transaction_id
    COPY billing_usageevent (…) FROM STDIN          -- only the rows whose key was new

in the same transaction, so a ``transaction_id`` is counted once, forever, whatever the concurrency:
a second writer of the same key waits on the first one's uncommitted key row, then skips it. Keys are
inserted in sorted order, so two overlapping batches always wait on each other in the same order and
can never deadlock. SQLite (single writer, IMMEDIATE transactions) selects the existing keys and
inserts the rest with ``executemany``. Rejected events are quarantined in the same transaction; a
valid event is never lost because of an invalid neighbour. Nothing here needs the task broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import JSONField, Value
from django.utils import timezone

from billing.models import IngestionBatch, QuarantinedEvent
from billing.usage.validation import MAX_TEXT, Rejection, ValidEvent, dumps_compact, validate_events
from revops.errors import DomainError
from revops.jsonsafe import has_surrogate, jsonable, nul_visible

MAX_BATCH = 10_000
STATEMENT_TIMEOUT_SECONDS = 60  # bounds how long an ingestion can hold received_at before it commits
_STATEMENT_TIMEOUT = f"{STATEMENT_TIMEOUT_SECONDS}s"


class BatchTooLarge(DomainError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


@dataclass
class IngestResult:
    accepted: int
    duplicates: int
    rejected: list[dict]
    batch_id: int | None = None

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


# --- writing ------------------------------------------------------------------------------------

# The key insert decides which events are new. Keys travel as three array literals (cheaper to build
# than dumped Python lists) and are inserted in sorted order, so two overlapping batches always wait on
# each other in the same order (never a deadlock); only the events whose key was new are then COPYed
# into the partitioned table.
_KEYS_SQL = """
INSERT INTO billing_eventkey (transaction_id, customer_id, "timestamp", received_at)
SELECT k.t, k.c, k.ts, %(now)s
FROM unnest(%(t)s::varchar[], %(c)s::bigint[], %(ts)s::timestamptz[]) AS k (t, c, ts)
ORDER BY k.t
ON CONFLICT (transaction_id) DO NOTHING
RETURNING transaction_id
"""
_COPY_SQL = (
    'COPY billing_usageevent (transaction_id, customer_id, meter_id, "timestamp", received_at, '
    "properties, value, dim) FROM STDIN"
)


def _by_transaction_id(event: ValidEvent) -> str:
    return event.transaction_id


def _array_literal(texts) -> str:
    """A PostgreSQL array literal of strings (each quoted; backslash and double quote escaped).
    Cheaper to build and to send than a dumped Python list."""
    return "{" + ",".join(['"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"' for t in texts]) + "}"


def _insert_postgresql(valid: list[ValidEvent], now: datetime) -> set[str]:
    import psycopg

    valid = sorted(valid, key=_by_transaction_id)  # presorted: the ORDER BY below is then cheap
    keys = {
        "now": now,
        "t": _array_literal(e.transaction_id for e in valid),
        "c": "{" + ",".join([str(e.customer_id) for e in valid]) + "}",
        "ts": "{" + ",".join([e.timestamp.isoformat() for e in valid]) + "}",
    }
    raw = connection.connection
    with psycopg.Cursor(raw) as cursor:  # server-side binding: three text parameters
        with raw.pipeline():  # one round trip for both statements
            cursor.execute(f"SET LOCAL statement_timeout = '{_STATEMENT_TIMEOUT}'")
            cursor.execute(_KEYS_SQL, keys)
        new = {row[0] for row in cursor.fetchall()}
        if new:
            with cursor.copy(_COPY_SQL) as copy:
                write = copy.write_row
                for e in valid:
                    if e.transaction_id in new:
                        write(
                            (
                                e.transaction_id,
                                e.customer_id,
                                e.meter_id,
                                e.timestamp,
                                now,
                                e.properties,
                                e.value,
                                e.dim,
                            )
                        )
    return new


def _insert_sqlite(valid: list[ValidEvent], now: datetime) -> set[str]:
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        existing: set[str] = set()
        tids = [e.transaction_id for e in valid]
        for start in range(0, len(tids), 500):
            chunk = tids[start : start + 500]
            marks = ",".join(["%s"] * len(chunk))
            query = f"SELECT transaction_id FROM billing_eventkey WHERE transaction_id IN ({marks})"  # noqa: S608
            cursor.execute(query, chunk)
            existing.update(row[0] for row in cursor.fetchall())
        new = [e for e in valid if e.transaction_id not in existing]
        if not new:
            return set()
        cursor.executemany(
            'INSERT INTO billing_eventkey (transaction_id, customer_id, "timestamp", received_at) '
            "VALUES (%s, %s, %s, %s)",
            [
                (e.transaction_id, e.customer_id, ops.adapt_datetimefield_value(e.timestamp), stamp)
                for e in new
            ],
        )
        cursor.executemany(
            "INSERT INTO billing_usageevent (transaction_id, customer_id, meter_id, "
            '"timestamp", received_at, properties, value, dim) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)',
            [
                (
                    e.transaction_id,
                    e.customer_id,
                    e.meter_id,
                    ops.adapt_datetimefield_value(e.timestamp),
                    stamp,
                    e.properties,
                    None if e.value is None else str(e.value),
                    e.dim,
                )
                for e in new
            ],
        )
    return {e.transaction_id for e in new}


def store_valid(valid: list[ValidEvent], *, now: datetime) -> set[str]:
    """Insert the keys and the new events; return the transaction_ids that were new (the others were
    counted before). Call inside a transaction."""
    if not valid:
        return set()
    if connection.vendor == "postgresql":
        return _insert_postgresql(valid, now)
    return _insert_sqlite(valid, now)


def _storable(value) -> str:
    return nul_visible(value)[:MAX_TEXT] if isinstance(value, str) else ""


def _quarantine_rows(
    rejected: list[Rejection], batch: IngestionBatch, now: datetime
) -> list[QuarantinedEvent]:
    rows = []
    for r in rejected:
        # As received, except that a fractional JSON number (a Decimal, as the API parser reads it)
        # is kept as its exact decimal string: a JSON column cannot hold a Decimal.
        payload = jsonable(r.payload)
        ref = payload.get("customer") if isinstance(payload, dict) else None
        code = payload.get("code") if isinstance(payload, dict) else None
        text = dumps_compact(payload)
        if "\\u0000" in text or has_surrogate(text):  # the database cannot store either: visible text
            payload = nul_visible(payload)
        if payload is None:  # a JSON null event: store JSON null, not SQL NULL (the column is NOT NULL)
            payload = Value(None, JSONField())
        rows.append(
            QuarantinedEvent(
                batch=batch,
                index=r.index,
                transaction_id=_storable(r.transaction_id) or None,
                customer_ref=_storable(ref),
                meter_code=_storable(code),
                payload=payload,
                errors=nul_visible(r.errors),  # the messages may quote the bad value
                received_at=now,
            )
        )
    return rows


def ingest_events(*, events: list, source: str, user=None, now: datetime | None = None) -> IngestResult:
    """Validate and store a batch (the API, the importer and the demo seeder all come here).

    Valid events are stored once (a ``transaction_id`` seen before, or earlier in the same batch, is
    a duplicate); invalid ones are quarantined with their reasons. One short transaction."""
    if len(events) > MAX_BATCH:
        raise BatchTooLarge(
            f"A batch holds at most {MAX_BATCH:,} events; this one has {len(events):,}. Split it into "
            "smaller batches.",
            field="events",
        )
    now = now or timezone.now()
    checked = validate_events(events, now=now)
    user = user if getattr(user, "is_authenticated", False) else None
    with transaction.atomic():
        inserted = len(store_valid(checked.valid, now=now))
        duplicates = len(checked.valid) - inserted + len(checked.duplicate_indexes)
        batch = IngestionBatch.objects.create(
            received_at=now,
            source=source,
            accepted=inserted,
            duplicates=duplicates,
            rejected=len(checked.rejected),
            user=user,
        )
        if checked.rejected:
            QuarantinedEvent.objects.bulk_create(_quarantine_rows(checked.rejected, batch, now))
    return IngestResult(inserted, duplicates, [r.as_dict() for r in checked.rejected], batch.pk)
