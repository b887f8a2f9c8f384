"""The audit chain's pure part: the keyed event hash, the head's MAC and signed checkpoints' form.
No ORM here; ``services`` writes events and checkpoints, ``verify`` checks the chain.

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

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_datetime

GENESIS = "0" * 64
SCHEME_LEGACY = 1  # unkeyed SHA-256 over the actor's label and the event (before the chain was keyed)
SCHEME_KEYED = 2  # HMAC-SHA256 under AUDIT_CHAIN_KEY over every identifying field
CHECKPOINT_TYPE = "concord.audit-checkpoint"
CHECKPOINT_VERSION = 1


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


# --- signed checkpoints ---------------------------------------------------------------------------------


def checkpoint_body(*, seq: int, head_hash: str, created_at: str, source: str) -> dict:
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


class CheckpointInvalid(ValueError):
    pass


def checkpoint_parse(document: dict) -> dict:
    """Validate an exported checkpoint's form and signature (a forged or foreign one is refused)."""
    try:
        if document.get("type") != CHECKPOINT_TYPE or document.get("version") != CHECKPOINT_VERSION:
            raise CheckpointInvalid("not a Concord audit checkpoint (type/version)")
        body = checkpoint_body(
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
