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

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal
from json.encoder import c_make_encoder, encode_basestring

from django.db import connection, transaction
from django.db.models import JSONField, Value
from django.utils import timezone

from billing.models import IngestionBatch, Meter, QuarantinedEvent
from revops.contracts.models import Customer
from revops.errors import DomainError
from revops.jsonsafe import has_surrogate, nul_visible
from revops.money import MoneyError, parse_decimal


def _compact_json():
    """``json.dumps(o, separators=(",", ":"), ensure_ascii=False)``, ~3x faster: one C encoder built
    once instead of one per call (no circular-reference check: the input comes from a JSON parser)."""
    if c_make_encoder is None:  # pragma: no cover - CPython always has it
        return json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode
    encoder = c_make_encoder(None, str, encode_basestring, None, ":", ",", False, False, True)
    return lambda value: "".join(encoder(value, 0))


MAX_BATCH = 10_000
FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_TEXT = 255
_MAX_VALUE = Decimal(10) ** 26  # numeric(38, 12)
_SCALE = Decimal("1e-12")
_WIDE = Context(prec=80)
_NUMERIC = frozenset({"sum", "max", "latest"})
_DUMPS = _compact_json()
STATEMENT_TIMEOUT_SECONDS = 60  # bounds how long an ingestion can hold received_at before it commits
_STATEMENT_TIMEOUT = f"{STATEMENT_TIMEOUT_SECONDS}s"
_CUSTOMERS = Customer._meta.db_table
_METERS = Meter._meta.db_table


class BatchTooLarge(DomainError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


@dataclass(slots=True)
class ValidEvent:
    index: int
    transaction_id: str
    customer_id: int
    meter_id: int
    timestamp: datetime
    properties: str  # the properties object as compact JSON text (what is stored)
    value: Decimal | None
    dim: str | None


@dataclass(slots=True)
class Rejection:
    index: int
    transaction_id: str | None
    errors: list[dict]
    payload: object

    def as_dict(self) -> dict:
        tid = self.transaction_id
        if has_surrogate(tid):  # echoed back: a lone surrogate cannot be encoded in the response
            tid = nul_visible(tid)
        return {"index": self.index, "transaction_id": tid, "errors": self.errors}


@dataclass
class Validation:
    valid: list[ValidEvent] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    duplicate_indexes: list[int] = field(default_factory=list)  # repeated earlier in the same batch


@dataclass
class IngestResult:
    accepted: int
    duplicates: int
    rejected: list[dict]
    batch_id: int | None = None

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


@dataclass(slots=True)
class _MeterInfo:
    id: int
    aggregation: str
    field: str
    allow_negative: bool = False


_SURROGATE = "must not contain a lone surrogate (an unpaired \\ud800–\\udfff escape is not a character)"


def _err(field_path: str, message: str) -> dict:
    return {"field": field_path, "message": message}


def _dim_text(raw) -> str | None:
    """A scalar property as the string ``unique_count`` compares (JSON text for non-strings)."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float | Decimal):
        return json.dumps(raw) if isinstance(raw, float) else str(raw)
    return None


def _lookup(events: list) -> tuple[dict[str, int], dict[str, _MeterInfo]]:
    """One query for every customer and one for every meter named in the batch."""
    refs, codes = set(), set()
    for event in events:
        if type(event) is dict:
            ref, code = event.get("customer"), event.get("code")
            if type(ref) is str:
                refs.add(ref)
            if type(code) is str:
                codes.add(code)
    # Neither U+0000 nor a lone surrogate can be sent to the database (nor match anything there).
    refs = [r for r in refs if "\x00" not in r and not has_surrogate(r)]
    codes = [c for c in codes if "\x00" not in c and not has_surrogate(c)]
    customers, meters = {}, {}
    with connection.cursor() as cursor:  # plain SQL: this runs on every request
        for start in range(0, len(refs), 1000):
            chunk = refs[start : start + 1000]
            marks = ",".join(["%s"] * len(chunk))
            cursor.execute(f"SELECT external_id, id FROM {_CUSTOMERS} WHERE external_id IN ({marks})", chunk)  # noqa: S608
            customers.update(cursor.fetchall())
        if codes:
            marks = ",".join(["%s"] * len(codes))
            query = (
                f"SELECT code, id, aggregation, field, allow_negative FROM {_METERS} WHERE code IN ({marks})"  # noqa: S608,E501
            )
            cursor.execute(query, codes)
            for code, mid, aggregation, meter_field, allow_negative in cursor.fetchall():
                meters[code] = _MeterInfo(mid, aggregation, meter_field, bool(allow_negative))
    return customers, meters


_INT_LIMIT = 10**26
# The fields of an event (api.md "Customers, contracts, usage"); any other is a rejection naming it.
EVENT_FIELDS = frozenset({"transaction_id", "customer", "code", "timestamp", "properties"})


def _fast(event, customers: dict, meters: dict, latest_allowed: datetime) -> tuple | None:
    """The common case in as few operations as possible: a well-formed event is returned as
    ``(transaction_id, customer_id, meter_id, timestamp, properties, value, dim)``; anything unusual
    returns None and goes through the full checks (which give the reasons). Never accepts more."""
    if type(event) is not dict or not event.keys() <= EVENT_FIELDS:
        return None
    tid = event.get("transaction_id")
    if type(tid) is not str or not tid or len(tid) > MAX_TEXT or tid.isspace():
        return None
    ref, code = event.get("customer"), event.get("code")
    if type(ref) is not str or type(code) is not str:
        return None
    customer_id = customers.get(ref)
    meter = meters.get(code)
    stamp = event.get("timestamp")
    properties = event.get("properties")
    if customer_id is None or meter is None or type(stamp) is not str or type(properties) is not dict:
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if when.tzinfo is not UTC:
        if when.utcoffset() is None:
            return None
        when = when.astimezone(UTC)
    if when > latest_allowed:
        return None
    text = _DUMPS(properties)
    if "\\u0000" in text or "\x00" in tid or has_surrogate(text) or has_surrogate(tid):
        return None
    aggregation = meter.aggregation
    if aggregation == "count":
        return tid, customer_id, meter.id, when, text, None, None
    raw = properties.get(meter.field)
    if aggregation == "unique_count":
        if type(raw) is str and len(raw) <= MAX_TEXT:
            return tid, customer_id, meter.id, when, text, None, raw
        return None
    if (
        type(raw) is int
        and raw < _INT_LIMIT
        and (raw >= 0 if not meter.allow_negative else raw > -_INT_LIMIT)
    ):
        return tid, customer_id, meter.id, when, text, Decimal(raw), None
    return None


def validate_events(events: list, *, now: datetime) -> Validation:
    """Check every event; collect all the reasons of each rejected one. Field paths are relative to
    the event (``properties.tokens``); the event itself is ``""``."""
    customers, meters = _lookup(events)
    latest_allowed = now + FUTURE_TOLERANCE
    out = Validation()
    seen: set[str] = set()
    for index, event in enumerate(events):
        fast = _fast(event, customers, meters, latest_allowed)
        if fast is not None:
            tid = fast[0]
            if tid in seen:
                out.duplicate_indexes.append(index)
            else:
                seen.add(tid)
                out.valid.append(ValidEvent(index, *fast))
            continue
        # Not obviously valid: the careful checks below name every reason (or accept it after all).
        if not isinstance(event, dict):
            out.rejected.append(Rejection(index, None, [_err("", "an event must be a JSON object")], event))
            continue
        errors: list[dict] = [_err(str(key), "unknown field") for key in event if key not in EVENT_FIELDS]
        tid = event.get("transaction_id")
        if not isinstance(tid, str) or not tid.strip():
            errors.append(_err("transaction_id", "required: a non-empty string"))
        elif len(tid) > MAX_TEXT:
            errors.append(_err("transaction_id", f"at most {MAX_TEXT} characters"))
        elif "\x00" in tid:
            errors.append(_err("transaction_id", "must not contain the NUL character"))
        elif has_surrogate(tid):
            errors.append(_err("transaction_id", _SURROGATE))
        ref = event.get("customer")
        customer_id = None
        if not isinstance(ref, str) or not ref:
            errors.append(_err("customer", "required: the customer's external_id"))
        elif has_surrogate(ref):
            errors.append(_err("customer", _SURROGATE))
        else:
            customer_id = customers.get(ref)
            if customer_id is None:
                errors.append(_err("customer", f"unknown customer '{ref[:100]}'"))
        code = event.get("code")
        meter = None
        if not isinstance(code, str) or not code:
            errors.append(_err("code", "required: a meter code"))
        elif has_surrogate(code):
            errors.append(_err("code", _SURROGATE))
        else:
            meter = meters.get(code)
            if meter is None:
                errors.append(_err("code", f"unknown meter code '{code[:100]}'"))
        stamp = event.get("timestamp")
        when = None
        if not isinstance(stamp, str):
            errors.append(_err("timestamp", "required: an ISO 8601 timestamp with a UTC offset"))
        else:
            try:
                when = datetime.fromisoformat(stamp)
            except ValueError:
                shown = nul_visible(stamp[:64])
                errors.append(_err("timestamp", f"'{shown}' is not an ISO 8601 timestamp"))
            else:
                if when.utcoffset() is None:
                    errors.append(
                        _err("timestamp", "must include a UTC offset, e.g. 2026-03-31T16:30:00Z or +09:00")
                    )
                    when = None
                else:
                    when = when.astimezone(UTC)
                    if when > latest_allowed:
                        errors.append(_err("timestamp", "is more than 5 minutes in the future"))
        properties = event.get("properties", {})
        value = dim = None
        if properties is None:
            properties = {}
        text = ""
        if not isinstance(properties, dict):
            errors.append(_err("properties", "must be a JSON object"))
        elif "\\u0000" in (text := _DUMPS(properties)):
            errors.append(_err("properties", "must not contain the NUL character (\\u0000)"))
        elif has_surrogate(text):
            errors.append(_err("properties", _SURROGATE))
        elif meter is not None and meter.aggregation != "count":
            name = meter.field
            raw = properties.get(name)
            path = f"properties.{name}"
            if raw is None:
                errors.append(_err(path, f"required by meter '{code}' ({meter.aggregation} of {name})"))
            elif meter.aggregation in _NUMERIC:
                try:
                    value = parse_decimal(raw, field=path)
                except MoneyError as exc:
                    message = str(exc).removeprefix(f"{path}: ")
                    errors.append(_err(path, f"must be a number: {message}"))
                else:
                    if abs(value) >= _MAX_VALUE:
                        errors.append(_err(path, "is too large (at most 26 digits before the point)"))
                    elif value < 0 and not meter.allow_negative:
                        errors.append(
                            _err(
                                path, f"must not be negative (meter '{code}' does not allow negative values)"
                            )
                        )
                    elif value.as_tuple().exponent < -12 and value != value.quantize(_SCALE, context=_WIDE):
                        errors.append(_err(path, "has more than 12 decimal places"))
            else:
                dim = _dim_text(raw)
                if dim is None:
                    errors.append(_err(path, "must be a single value (a string, number or boolean)"))
                elif len(dim) > MAX_TEXT:
                    errors.append(_err(path, f"at most {MAX_TEXT} characters"))
        if errors:
            out.rejected.append(Rejection(index, tid if isinstance(tid, str) else None, errors, event))
            continue
        if tid in seen:
            out.duplicate_indexes.append(index)
            continue
        seen.add(tid)
        out.valid.append(ValidEvent(index, tid, customer_id, meter.id, when, text, value, dim))
    return out


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
        payload = r.payload
        ref = payload.get("customer") if isinstance(payload, dict) else None
        code = payload.get("code") if isinstance(payload, dict) else None
        text = _DUMPS(payload)
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
