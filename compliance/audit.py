"""The audit trail service: record an event inside the caller's transaction, verify the chain, anchor
its head in signed checkpoints.

Generic by design: any app may call :func:`audit_record`; this module imports no app.

The chain is keyed (scheme 2): each event's ``hash`` is HMAC-SHA256, under ``settings.AUDIT_CHAIN_KEY``
(from the environment, never stored in the database), over the canonical JSON of every field that
identifies the event — scheme, sequence, time, actor id and username, action, object type and id,
changes and the previous hash. Whoever can write to the database but does not hold the key cannot
recompute the chain after an edit. Events written before the key existed keep their original unkeyed
SHA-256 (scheme 1) and still verify as such; they are accepted only as the prefix of the chain sealed
by a keyed event (the migration that introduced the key appended ``audit.chain_keyed`` after them), so
any later rewrite of them breaks a keyed link. The chain head carries a keyed MAC too (truncating the
newest events and moving the head back is detected). Signed checkpoints (:func:`audit_checkpoint_create`,
``manage.py audit_anchor``, every period close, the evidence pack) record the head at a moment; checked
against an earlier exported checkpoint, even a rewrite made with the key is detected.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from compliance.models import AuditChainHead, AuditCheckpoint, AuditEvent

GENESIS = "0" * 64
SCHEME_LEGACY = 1  # unkeyed SHA-256 over the actor's label and the event (before the chain was keyed)
SCHEME_KEYED = 2  # HMAC-SHA256 under AUDIT_CHAIN_KEY over every identifying field
CHECKPOINT_TYPE = "concord.audit-checkpoint"
CHECKPOINT_VERSION = 1


class AuditOutsideTransaction(RuntimeError):
    pass


def _jsonable(value):
    return json.loads(json.dumps(value if value is not None else {}, cls=DjangoJSONEncoder))


def _canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_key() -> bytes:
    """The chain's HMAC key, from the environment via settings (never from the database)."""
    key = getattr(settings, "AUDIT_CHAIN_KEY", "") or ""
    if not key:
        raise ImproperlyConfigured(
            "AUDIT_CHAIN_KEY is not set: the audit chain cannot be written or verified."
        )
    return key.encode() if isinstance(key, str) else bytes(key)


def _mac(label: str, payload: dict, key: bytes | None = None) -> str:
    """HMAC-SHA256 of a domain label and the canonical JSON of ``payload`` (labels keep an event's
    MAC, the head's MAC and a checkpoint's signature from ever standing in for one another)."""
    message = label.encode() + b"\n" + _canonical(payload)
    return hmac.new(key or chain_key(), message, hashlib.sha256).hexdigest()


def keyed_event_hash(
    *,
    seq: int,
    occurred_at,
    actor_id: int | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    changes,
    prev_hash: str,
    key: bytes | None = None,
) -> str:
    """Scheme 2: HMAC-SHA256 over every field that identifies the event, the actor's id included."""
    payload = {
        "scheme": SCHEME_KEYED,
        "seq": seq,
        "occurred_at": occurred_at.isoformat(),
        "actor_id": actor_id,
        "actor": actor_label,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "changes": changes,
        "prev_hash": prev_hash,
    }
    return _mac("concord.audit-event.v2", payload, key)


def head_mac(seq: int, last_hash: str, key: bytes | None = None) -> str:
    return _mac("concord.audit-head.v1", {"seq": seq, "hash": last_hash}, key)


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
    """Scheme 1 (legacy, unkeyed): kept only to verify the events written before the chain was keyed."""
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
                actor_user.pk if actor_user else None,
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


@dataclass(frozen=True)
class ChainVerification:
    valid: bool
    checked: int
    first_bad: int | None = None
    first_bad_seq: int | None = None
    reason: str = ""
    legacy: int = 0  # events under the unkeyed scheme 1 (written before the chain was keyed)
    checkpoints: int = 0  # signed checkpoints the chain was checked against

    def as_dict(self) -> dict:
        data = {
            "valid": self.valid,
            "checked": self.checked,
            "legacy_unkeyed": self.legacy,
            "checkpoints": self.checkpoints,
        }
        if not self.valid:
            data["first_bad"] = self.first_bad
            data["first_bad_seq"] = self.first_bad_seq
            data["reason"] = self.reason
        return data


# --- signed checkpoints ---------------------------------------------------------------------------------


def _checkpoint_body(*, seq: int, head_hash: str, created_at: str, source: str) -> dict:
    return {
        "type": CHECKPOINT_TYPE,
        "version": CHECKPOINT_VERSION,
        "seq": seq,
        "head_hash": head_hash,
        "created_at": created_at,
        "source": source,
    }


def checkpoint_sign(body: dict, key: bytes | None = None) -> str:
    fields = {k: body[k] for k in ("type", "version", "seq", "head_hash", "created_at", "source")}
    return _mac("concord.audit-checkpoint.v1", fields, key)


def checkpoint_document(checkpoint: AuditCheckpoint) -> dict:
    """The exportable JSON of a stored checkpoint (what ``audit_anchor`` prints)."""
    return {
        **_checkpoint_body(
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
    body = _checkpoint_body(seq=seq, head_hash=last, created_at=timezone.now().isoformat(), source=source)
    return {**body, "algorithm": "HMAC-SHA256", "signature": checkpoint_sign(body)}


def audit_checkpoint_create(*, source: str) -> AuditCheckpoint:
    """Anchor the chain: store (append-only) a signed checkpoint of the head, taken under the head's
    lock so it names a committed, consistent tip. Run inside or outside a transaction."""
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().filter(id=1).first()
        seq, last = (head.last_seq, head.last_hash) if head else (0, GENESIS)
        created_at = timezone.now()
        body = _checkpoint_body(seq=seq, head_hash=last, created_at=created_at.isoformat(), source=source)
        return AuditCheckpoint.objects.create(
            seq=seq,
            head_hash=last,
            created_at=created_at,
            source=source[:100],
            signature=checkpoint_sign(body),
        )


class CheckpointInvalid(ValueError):
    pass


def checkpoint_parse(document: dict) -> dict:
    """Validate an exported checkpoint's form and signature (a forged or foreign one is refused)."""
    try:
        if document.get("type") != CHECKPOINT_TYPE or document.get("version") != CHECKPOINT_VERSION:
            raise CheckpointInvalid("not a Concord audit checkpoint (type/version)")
        body = _checkpoint_body(
            seq=int(document["seq"]),
            head_hash=str(document["head_hash"]),
            created_at=str(document["created_at"]),
            source=str(document.get("source", "")),
        )
        signature = str(document["signature"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, CheckpointInvalid):
            raise
        raise CheckpointInvalid(f"malformed checkpoint: {exc}") from exc
    if parse_datetime(body["created_at"]) is None:
        raise CheckpointInvalid("malformed checkpoint: created_at")
    if not hmac.compare_digest(checkpoint_sign(body), signature):
        raise CheckpointInvalid(
            f"checkpoint #{body['seq']} has a bad signature (forged, altered, or signed with another key)"
        )
    return {**body, "signature": signature}


# --- verification --------------------------------------------------------------------------------------


def audit_verify_chain(
    *, batch_size: int = 5000, checkpoints: Iterable[dict] | None = None
) -> ChainVerification:
    """Recompute every hash in sequence order, with the key. Detects an edited row (its HMAC no longer
    matches — the actor's id included), a deleted row (a gap in ``seq`` or a broken ``prev_hash``
    link), a truncated tail (the keyed chain head names a later event), a downgrade to the unkeyed
    scheme, and — against signed checkpoints, the stored ones and any given (exported earlier) — a
    rewrite of the chain, even one made with the key, up to the checkpoint's sequence number."""
    key = chain_key()
    with transaction.atomic():
        anchors: dict[int, list[dict]] = {}
        stored = list(AuditCheckpoint.objects.order_by("seq", "id"))
        for cp in stored:
            body = _checkpoint_body(
                seq=cp.seq, head_hash=cp.head_hash, created_at=cp.created_at.isoformat(), source=cp.source
            )
            if not hmac.compare_digest(checkpoint_sign(body, key), cp.signature):
                return ChainVerification(
                    False, 0, None, cp.seq, f"stored checkpoint #{cp.pk} (seq #{cp.seq}) has a bad signature"
                )
            anchors.setdefault(cp.seq, []).append({**body, "label": f"stored checkpoint #{cp.pk}"})
        for document in checkpoints or ():
            try:
                body = checkpoint_parse(document)
            except CheckpointInvalid as exc:
                return ChainVerification(False, 0, None, None, str(exc))
            anchors.setdefault(body["seq"], []).append({**body, "label": "the given checkpoint"})
        count = sum(len(v) for v in anchors.values())
        for anchor in anchors.get(0, []):
            if anchor["head_hash"] != GENESIS:
                return ChainVerification(False, 0, None, 0, f"{anchor['label']} names a non-empty genesis")

        head = AuditChainHead.objects.filter(id=1).first()
        expected_prev, expected_seq, checked, legacy, keyed_seen = GENESIS, 1, 0, 0, False
        qs = AuditEvent.objects.order_by("seq").values_list(
            "id",
            "scheme",
            "seq",
            "occurred_at",
            "actor_id",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "changes",
            "prev_hash",
            "hash",
        )
        for row in qs.iterator(chunk_size=batch_size):
            (
                pk,
                scheme,
                seq,
                occurred_at,
                actor_id,
                actor_label,
                action,
                otype,
                oid,
                changes,
                prev_hash,
                mac,
            ) = row
            checked += 1
            reason = ""
            if seq != expected_seq:
                reason = f"sequence gap: expected #{expected_seq}, found #{seq}"
            elif prev_hash != expected_prev:
                reason = "previous-hash link broken"
            elif scheme == SCHEME_KEYED:
                keyed_seen = True
                recomputed = keyed_event_hash(
                    seq=seq,
                    occurred_at=occurred_at,
                    actor_id=actor_id,
                    actor_label=actor_label,
                    action=action,
                    object_type=otype,
                    object_id=oid,
                    changes=changes,
                    prev_hash=prev_hash,
                    key=key,
                )
                if not hmac.compare_digest(recomputed, mac):
                    reason = "content does not match its keyed hash (HMAC)"
            elif scheme == SCHEME_LEGACY and not keyed_seen:
                legacy += 1
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
                if recomputed != mac:
                    reason = "content does not match its hash"
            else:
                reason = f"scheme {scheme} is not allowed here (an unkeyed event after keyed ones)"
            for anchor in anchors.get(seq, []) if not reason else []:
                if anchor["head_hash"] != mac:
                    reason = (
                        f"rewritten since {anchor['label']} of {anchor['created_at']}: event #{seq} no "
                        f"longer has the hash it had then"
                    )
                    break
            if reason:
                return ChainVerification(False, checked, pk, seq, reason, legacy, count)
            expected_prev, expected_seq = mac, seq + 1
        last_seq = expected_seq - 1
        if legacy and not keyed_seen:
            return ChainVerification(
                False,
                checked,
                None,
                last_seq,
                "unkeyed events with no keyed event sealing them: the chain may have been recomputed "
                "without the key",
                legacy,
                count,
            )
        beyond = [a for s, found in anchors.items() if s > last_seq for a in found]
        if beyond:
            a = beyond[0]
            return ChainVerification(
                False,
                checked,
                None,
                a["seq"],
                f"{a['label']} names event #{a['seq']} but the chain ends at #{last_seq}: events were removed",
                legacy,
                count,
            )
        if head is not None:
            if head.last_seq != last_seq or head.last_hash != expected_prev:
                return ChainVerification(
                    False,
                    checked,
                    None,
                    head.last_seq,
                    f"chain head expects #{head.last_seq}; the newest events are missing",
                    legacy,
                    count,
                )
            if last_seq and not hmac.compare_digest(
                head.mac or "", head_mac(head.last_seq, head.last_hash, key)
            ):
                return ChainVerification(
                    False,
                    checked,
                    None,
                    head.last_seq,
                    "the chain head's keyed MAC does not match: the head was moved without the key",
                    legacy,
                    count,
                )
        return ChainVerification(True, checked, legacy=legacy, checkpoints=count)
