"""The audit trail service: record an event inside the caller's transaction, verify the chain.

Generic by design: any app may call :func:`audit_record`; this module imports no app.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from compliance.models import AuditChainHead, AuditEvent

GENESIS = "0" * 64


class AuditOutsideTransaction(RuntimeError):
    pass


def _jsonable(value):
    return json.loads(json.dumps(value if value is not None else {}, cls=DjangoJSONEncoder))


def _canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(
    *,
    seq: int,
    occurred_at,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    changes,
    prev_hash: str,
) -> str:
    payload = {
        "seq": seq,
        "occurred_at": occurred_at.isoformat(),
        "actor": actor_label,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "changes": changes,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(_canonical(payload)).hexdigest()


def _object_ref(obj) -> tuple[str, str]:
    meta = obj._meta
    return f"{meta.app_label}.{meta.model_name}", str(obj.pk)


def audit_record(
    *,
    actor,
    action: str,
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
    makes the changes."""
    if not connection.in_atomic_block:
        raise AuditOutsideTransaction("audit_record must be called inside the service's transaction.")
    prepared = []
    for record in records:
        obj = record.get("obj")
        object_type, object_id = record.get("object_type"), record.get("object_id")
        if obj is not None:
            object_type, object_id = _object_ref(obj)
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
                actor_label,
                record["action"],
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
    events = []
    for actor_user, actor_label, action, object_type, object_id, body in prepared:
        seq += 1
        occurred_at = timezone.now()
        digest = event_hash(
            seq=seq,
            occurred_at=occurred_at,
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            changes=body,
            prev_hash=prev_hash,
        )
        events.append(
            AuditEvent(
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
    AuditChainHead.objects.filter(id=1).update(last_seq=seq, last_hash=prev_hash)
    return events


@dataclass(frozen=True)
class ChainVerification:
    valid: bool
    checked: int
    first_bad: int | None = None
    first_bad_seq: int | None = None
    reason: str = ""

    def as_dict(self) -> dict:
        data = {"valid": self.valid, "checked": self.checked}
        if not self.valid:
            data["first_bad"] = self.first_bad
            data["first_bad_seq"] = self.first_bad_seq
            data["reason"] = self.reason
        return data


def audit_verify_chain(*, batch_size: int = 5000) -> ChainVerification:
    """Recompute every hash in sequence order. Detects an edited row (its hash no longer matches),
    a deleted row (a gap in ``seq`` or a broken ``prev_hash`` link) and a truncated tail (the chain
    head names a later event than the last one found)."""
    with transaction.atomic():
        head = AuditChainHead.objects.filter(id=1).first()
        expected_prev, expected_seq, checked = GENESIS, 1, 0
        qs = AuditEvent.objects.order_by("seq").values_list(
            "id",
            "seq",
            "occurred_at",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "changes",
            "prev_hash",
            "hash",
        )
        for row in qs.iterator(chunk_size=batch_size):
            pk, seq, occurred_at, actor_label, action, otype, oid, changes, prev_hash, stored = row
            checked += 1
            if seq != expected_seq:
                return ChainVerification(
                    False, checked, pk, seq, f"sequence gap: expected #{expected_seq}, found #{seq}"
                )
            if prev_hash != expected_prev:
                return ChainVerification(False, checked, pk, seq, "previous-hash link broken")
            recomputed = event_hash(
                seq=seq,
                occurred_at=occurred_at,
                actor_label=actor_label,
                action=action,
                object_type=otype,
                object_id=oid,
                changes=changes,
                prev_hash=prev_hash,
            )
            if recomputed != stored:
                return ChainVerification(False, checked, pk, seq, "content does not match its hash")
            expected_prev, expected_seq = stored, seq + 1
        if head is not None and (head.last_seq != expected_seq - 1 or head.last_hash != expected_prev):
            return ChainVerification(
                False,
                checked,
                None,
                head.last_seq,
                f"chain head expects #{head.last_seq}; the newest events are missing",
            )
        return ChainVerification(True, checked)
