"""Usage write services besides the fast path: quarantine replay and discard, file import.

Replay re-validates a kept event with the same code as the API and ingests it through the same path
(``store_valid``). Its ``received_at`` is the replay time: that is when Concord first counted it, so
a period already invoiced gets it as a late event (an adjustment), never silently. A replayed event
whose ``transaction_id`` was counted meanwhile is closed as a duplicate and not counted again.
Every replay and discard is audited, in its own transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from django.db import transaction
from django.utils import timezone

from billing.models import IngestionBatch, QuarantinedEvent
from billing.usage.ingest import IngestResult, ingest_events, store_valid
from billing.usage.validation import validate_events
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from revops.jsonsafe import loads_bounded


@dataclass
class ReplayOutcome:
    item_id: int
    result: str  # "accepted" | "duplicate" | "invalid" | "already_replayed"
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = {"id": self.item_id, "result": self.result}
        if self.errors:
            data["errors"] = self.errors
        return data


@dataclass
class ReplaySummary:
    accepted: int = 0
    duplicates: int = 0
    still_invalid: int = 0

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "still_invalid": self.still_invalid}


class StillInvalid(DomainError):
    slug = "still-invalid"
    title = "The quarantined event is still invalid"


def quarantine_replay(*, item_ids: list[int], actor) -> list[ReplayOutcome]:
    """Replay open quarantined events, in one transaction. Items already replayed are reported as
    such and changed no further; discarded ones cannot be replayed."""
    now = timezone.now()
    user = actor if getattr(actor, "is_authenticated", False) else None
    outcomes: list[ReplayOutcome] = []
    with transaction.atomic():
        items = list(QuarantinedEvent.objects.select_for_update().filter(pk__in=item_ids).order_by("pk"))
        found = {item.pk for item in items}
        missing = [pk for pk in item_ids if pk not in found]
        if missing:
            raise NotFound(f"No quarantined event #{missing[0]}.")
        open_items = []
        for item in items:
            if item.status == QuarantinedEvent.Status.DISCARDED:
                raise Conflict(f"Quarantined event #{item.pk} was discarded; it cannot be replayed.")
            if item.status == QuarantinedEvent.Status.REPLAYED:
                outcomes.append(ReplayOutcome(item.pk, "already_replayed"))
            else:
                open_items.append(item)
        if not open_items:
            return outcomes
        checked = validate_events([item.payload for item in open_items], now=now)
        inserted = store_valid(checked.valid, now=now)
        valid_by_index = {e.index: e for e in checked.valid}
        rejected_by_index = {r.index: r for r in checked.rejected}
        duplicates_in_batch = set(checked.duplicate_indexes)
        accepted = duplicates = 0
        for position, item in enumerate(open_items):
            if position in rejected_by_index:
                item.errors = rejected_by_index[position].errors
                item.save(update_fields=["errors"])
                outcomes.append(ReplayOutcome(item.pk, "invalid", item.errors))
                continue
            event = valid_by_index.get(position)
            is_new = (
                event is not None and position not in duplicates_in_batch and event.transaction_id in inserted
            )
            item.status = QuarantinedEvent.Status.REPLAYED
            item.outcome = QuarantinedEvent.Outcome.ACCEPTED if is_new else QuarantinedEvent.Outcome.DUPLICATE
            item.resolved_at, item.resolved_by = now, user
            item.save(update_fields=["status", "outcome", "resolved_at", "resolved_by"])
            audit_record(
                actor=actor,
                action=AuditAction.USAGE_QUARANTINE_REPLAYED,
                obj=item,
                changes={"transaction_id": item.transaction_id, "outcome": item.outcome},
            )
            accepted += is_new
            duplicates += not is_new
            outcomes.append(ReplayOutcome(item.pk, "accepted" if is_new else "duplicate"))
        if accepted or duplicates:
            IngestionBatch.objects.create(
                received_at=now,
                source=IngestionBatch.Source.REPLAY,
                accepted=accepted,
                duplicates=duplicates,
                rejected=0,
                user=user,
            )
    return outcomes


def quarantine_replay_one(*, item_id: int, actor) -> ReplayOutcome:
    """Replay one item; raises :class:`StillInvalid` (422, with the reasons) when it is still bad."""
    outcome = quarantine_replay(item_ids=[item_id], actor=actor)[0]
    if outcome.result == "invalid":
        raise StillInvalid(
            f"Quarantined event #{item_id} is still invalid; fix the cause, then replay it again.",
            errors=[FieldError(e["field"], e["message"]) for e in outcome.errors],
        )
    return outcome


def quarantine_replay_open(
    *, actor, customer_ref: str | None = None, meter_code: str | None = None, chunk_size: int = 500
) -> ReplaySummary:
    """Replay every open item (optionally of one customer and/or meter), a chunk per transaction."""
    qs = QuarantinedEvent.objects.filter(status=QuarantinedEvent.Status.OPEN)
    if customer_ref:
        qs = qs.filter(customer_ref=customer_ref)
    if meter_code:
        qs = qs.filter(meter_code=meter_code)
    summary, after = ReplaySummary(), 0
    while True:
        ids = list(qs.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:chunk_size])
        if not ids:
            return summary
        after = ids[-1]
        for outcome in quarantine_replay(item_ids=ids, actor=actor):
            if outcome.result == "accepted":
                summary.accepted += 1
            elif outcome.result == "duplicate":
                summary.duplicates += 1
            elif outcome.result == "invalid":
                summary.still_invalid += 1


def quarantine_discard(*, item_id: int, actor, reason: str) -> QuarantinedEvent:
    """Close an open item without counting it (e.g. test traffic). Audited; the payload is kept."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the event is discarded.", field="reason")
    with transaction.atomic():
        item = QuarantinedEvent.objects.select_for_update().filter(pk=item_id).first()
        if item is None:
            raise NotFound(f"No quarantined event #{item_id}.")
        if item.status != QuarantinedEvent.Status.OPEN:
            raise Conflict(f"Quarantined event #{item.pk} is already {item.status}.")
        item.status = QuarantinedEvent.Status.DISCARDED
        item.resolved_at = timezone.now()
        item.resolved_by = actor if getattr(actor, "is_authenticated", False) else None
        item.note = reason[:500]
        item.save(update_fields=["status", "resolved_at", "resolved_by", "note"])
        audit_record(
            actor=actor,
            action=AuditAction.USAGE_QUARANTINE_DISCARDED,
            obj=item,
            changes={"transaction_id": item.transaction_id, "reason": item.note},
        )
    return item


# --- import -----------------------------------------------------------------------------------------


class ImportFormatError(ValidationFailed):
    pass


def _ndjson_events(stream: IO[str]) -> Iterator[object]:
    for line in stream:
        if not line.strip():
            continue
        try:
            yield loads_bounded(line)
        except ValueError:
            # Kept (quarantined) like any other bad event: the line exactly as read, "not an object".
            yield line.rstrip("\n")


def _csv_events(stream: IO[str]) -> Iterator[object]:
    reader = csv.DictReader(stream)
    for row in reader:
        event: dict = {}
        properties: dict = {}
        for column, value in row.items():
            if column is None or value is None:
                continue
            if column == "properties":
                if value.strip():
                    try:
                        properties.update(loads_bounded(value))
                    except (ValueError, TypeError):
                        event["properties"] = value  # rejected with a reason: not an object
            elif column.startswith("properties."):
                if value != "":
                    properties[column.removeprefix("properties.")] = value
            else:
                event[column] = value
        event.setdefault("properties", properties)
        yield event


def read_events(stream: IO[str], fmt: str) -> Iterator[object]:
    if fmt == "ndjson":
        return _ndjson_events(stream)
    if fmt == "csv":
        return _csv_events(stream)
    raise ImportFormatError(f"Unknown format '{fmt}': use ndjson or csv.", field="format")


def _batches(events: Iterable[object], size: int) -> Iterator[list[object]]:
    batch: list[object] = []
    for event in events:
        batch.append(event)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def usage_import(
    *,
    stream: IO[str] | io.TextIOBase,
    fmt: str,
    user=None,
    batch_size: int = 5000,
    progress: Callable[[int, IngestResult], None] | None = None,
) -> IngestResult:
    """Ingest a file through the same service and rules as the API (source "import"), one batch per
    transaction. Returns the totals; ``progress(events_done, batch_result)`` is called per batch."""
    batch_size = max(1, min(batch_size, 10_000))
    total = IngestResult(0, 0, [])
    done = 0
    for batch in _batches(read_events(stream, fmt), batch_size):
        offset = done
        result = ingest_events(events=batch, source=IngestionBatch.Source.IMPORT, user=user)
        total.accepted += result.accepted
        total.duplicates += result.duplicates
        total.rejected.extend({**r, "index": r["index"] + offset} for r in result.rejected)
        done += len(batch)
        if progress:
            progress(done, result)
    return total
