"""Verify the audit chain: recompute every keyed hash in sequence order and check it against the
chain head and signed checkpoints (stored, and exported ones given back)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from revops.core.audit.chain import (
    GENESIS,
    SCHEME_KEYED,
    SCHEME_LEGACY,
    CheckpointInvalid,
    chain_key,
    checkpoint_body,
    checkpoint_parse,
    checkpoint_sign,
    event_hash,
    head_mac,
    keyed_event_hash,
)
from revops.core.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent


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
            body = checkpoint_body(
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
