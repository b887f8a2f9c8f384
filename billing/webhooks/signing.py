"""Standard Webhooks signatures (symmetric, ``v1``): what Concord sends and what a receiver checks.

Pure module: no ORM, no I/O, no clock (``verify`` takes ``now``). Follows the Standard Webhooks
specification 1.0.0 (github.com/standard-webhooks/standard-webhooks, ``spec/standard-webhooks.md``):

- the signed content is ``{webhook-id}.{webhook-timestamp}.{body}``;
- the key is the secret after its ``whsec_`` prefix, base64-decoded;
- the signature is HMAC-SHA256, base64-encoded, prefixed ``v1,``; the ``webhook-signature`` header is a
  space-delimited list of such signatures (several during a key rotation);
- ``webhook-timestamp`` is integer Unix seconds; receivers reject timestamps outside a tolerance
  (5 minutes in the reference libraries) to stop replays, and compare signatures in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's secret prefix, not a secret
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE = 300  # seconds


class WebhookVerificationError(Exception):
    """A webhook that must not be trusted: missing headers, bad signature or stale timestamp."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret (the prefix is optional, as in the reference libraries)."""
    raw = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("A webhook secret is 'whsec_' followed by base64.")
    if not key:
        raise ValueError("A webhook secret may not be empty.")
    return key


def _check_metadata(msg_id: str, timestamp: int) -> None:
    # The spec: the id and the timestamp must not contain "." (they delimit the signed content).
    if not msg_id or "." in msg_id or any(c.isspace() for c in msg_id):
        raise ValueError("webhook-id must be non-empty and contain no '.' or whitespace.")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError("webhook-timestamp must be a non-negative integer (Unix seconds).")


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    return hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">`` keyed with the decoded secret."""
    _check_metadata(msg_id, timestamp)
    digest = _digest(secret_key(secret), msg_id, timestamp, body)
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The request headers of one delivery attempt (the timestamp is the attempt's, not the event's)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
        "content-type": "application/json",
    }


def verify(
    secret: str,
    headers: dict[str, str],
    body: bytes,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """What a receiver does. Raises :class:`WebhookVerificationError` unless one ``v1`` signature in
    ``webhook-signature`` matches and ``webhook-timestamp`` is within ``tolerance`` seconds of ``now``."""
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    stamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError("Missing webhook-id, webhook-timestamp or webhook-signature.")
    try:
        timestamp = int(stamp)
        _check_metadata(msg_id, timestamp)
    except ValueError:
        raise WebhookVerificationError("Invalid webhook-id or webhook-timestamp.")
    if timestamp < now - tolerance:
        raise WebhookVerificationError("Message timestamp too old.")
    if timestamp > now + tolerance:
        raise WebhookVerificationError("Message timestamp too new.")
    expected = _digest(secret_key(secret), msg_id, timestamp, body)
    for candidate in signatures.split(" "):
        version, _, encoded = candidate.partition(",")
        if version != SIGNATURE_VERSION or not encoded:
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(expected, given):
            return
    raise WebhookVerificationError("No matching signature found.")
