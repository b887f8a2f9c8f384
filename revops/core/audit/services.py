"""The audit trail's write service: record events inside the caller's transaction (any layer calls
:func:`audit_record`; this package imports no app) and anchor the chain's head in signed checkpoints.
The hash scheme is in :mod:`revops.core.audit.chain`, verification in :mod:`revops.core.audit.verify`."""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from revops.core.audit.actions import AuditAction
from revops.core.audit.chain import (
    GENESIS,
    SCHEME_KEYED,
    chain_key,
    checkpoint_body,
    checkpoint_sign,
    head_mac,
    keyed_event_hash,
)
from revops.core.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent


class AuditOutsideTransaction(RuntimeError):
    pass


def _jsonable(value):
    return json.loads(json.dumps(value if value is not None else {}, cls=DjangoJSONEncoder))


def object_ref(obj) -> tuple[str, str]:
    """(object_type, object_id) naming a record in events and approval requests: ``app_label.model``
    unless the model fixes its ``REFERENCE_TYPE`` (the kernel's own records, named before they moved)."""
    meta = obj._meta
    return getattr(type(obj), "REFERENCE_TYPE", None) or f"{meta.app_label}.{meta.model_name}", str(obj.pk)


def audit_record(
    *,
    actor,
    action: AuditAction,
    obj=None,
    object_type: str | None = None,
    object_id=None,
    changes: dict | None = None,
) -> AuditEvent:
    """Append one event. Must run inside the transaction that makes the change, so the change and
    its audit record commit or roll back together."""
    return audit_record_many(
        [
            {
                "actor": actor,
                "action": action,
                "obj": obj,
                "object_type": object_type,
                "object_id": object_id,
                "changes": changes,
            }
        ]
    )[0]


def audit_record_many(records: Sequence[dict]) -> list[AuditEvent]:
    """Append several events, in order: each record takes :func:`audit_record`'s keyword arguments.
    The same events, sequence numbers and hashes as one :func:`audit_record` call per record, written
    with one lock of the chain head, one INSERT and one head update — so a batch of changes (a
    billing-run batch's invoices) holds the head, which every writer of the chain waits for, for a
    few statements rather than one round of them per change. Must run inside the transaction that
    makes the changes.

    The chain head is the LAST lock a transaction takes (docs/architecture.md, "Lock order": document
    rows → counter → accounting period → chain head); a service that posts after it audits takes the
    period first with :func:`revops.books.lock_for_posting`."""
    if not connection.in_atomic_block:
        raise AuditOutsideTransaction("audit_record must be called inside the service's transaction.")
    prepared = []
    for record in records:
        action = record["action"]
        if not isinstance(action, AuditAction):
            raise TypeError(
                f"audit action {action!r} is not an AuditAction member (revops.core.audit.actions)"
            )
        obj = record.get("obj")
        object_type, object_id = record.get("object_type"), record.get("object_id")
        if obj is not None:
            object_type, object_id = object_ref(obj)
        if not object_type:
            raise ValueError("audit_record needs obj or object_type/object_id")
        actor = record.get("actor")
        actor_user = actor if getattr(actor, "is_authenticated", False) else None
        actor_label = (
            actor_user.get_username() if actor_user else (actor if isinstance(actor, str) else "system")
        )
        prepared.append(
            (
                actor_user,
                actor_user.pk if actor_user else None,
                actor_label,
                action.value,
                object_type,
                str(object_id),
                _jsonable(record.get("changes")),
            )
        )
    if not prepared:
        return []
    head = AuditChainHead.objects.select_for_update().filter(id=1).first()
    if head is None:  # the very first event: create the head row, then lock it
        AuditChainHead.objects.get_or_create(id=1)
        head = AuditChainHead.objects.select_for_update().get(id=1)
    seq, prev_hash = head.last_seq, head.last_hash
    key = chain_key()
    events = []
    for actor_user, actor_id, actor_label, action, object_type, object_id, body in prepared:
        seq += 1
        occurred_at = timezone.now()
        digest = keyed_event_hash(
            seq=seq,
            occurred_at=occurred_at,
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            changes=body,
            prev_hash=prev_hash,
            key=key,
        )
        events.append(
            AuditEvent(
                scheme=SCHEME_KEYED,
                seq=seq,
                occurred_at=occurred_at,
                actor=actor_user,
                actor_label=actor_label,
                action=action,
                object_type=object_type,
                object_id=object_id,
                changes=body,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        prev_hash = digest
    AuditEvent.objects.bulk_create(events)
    AuditChainHead.objects.filter(id=1).update(
        last_seq=seq, last_hash=prev_hash, mac=head_mac(seq, prev_hash, key)
    )
    return events


def checkpoint_document(checkpoint: AuditCheckpoint) -> dict:
    """The exportable JSON of a stored checkpoint (what ``audit_anchor`` prints)."""
    return {
        **checkpoint_body(
            seq=checkpoint.seq,
            head_hash=checkpoint.head_hash,
            created_at=checkpoint.created_at.isoformat(),
            source=checkpoint.source,
        ),
        "algorithm": "HMAC-SHA256",
        "signature": checkpoint.signature,
    }


def audit_checkpoint_document(*, source: str) -> dict:
    """A signed checkpoint of the head as it is now, not stored (the evidence pack's ``as built``)."""
    head = AuditChainHead.objects.filter(id=1).first()
    seq, last = (head.last_seq, head.last_hash) if head else (0, GENESIS)
    body = checkpoint_body(seq=seq, head_hash=last, created_at=timezone.now().isoformat(), source=source)
    return {**body, "algorithm": "HMAC-SHA256", "signature": checkpoint_sign(body)}


def audit_checkpoint_create(*, source: str) -> AuditCheckpoint:
    """Anchor the chain: store (append-only) a signed checkpoint of the head, taken under the head's
    lock so it names a committed, consistent tip. Run inside or outside a transaction."""
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().filter(id=1).first()
        seq, last = (head.last_seq, head.last_hash) if head else (0, GENESIS)
        created_at = timezone.now()
        body = checkpoint_body(seq=seq, head_hash=last, created_at=created_at.isoformat(), source=source)
        return AuditCheckpoint.objects.create(
            seq=seq,
            head_hash=last,
            created_at=created_at,
            source=source[:100],
            signature=checkpoint_sign(body),
        )
