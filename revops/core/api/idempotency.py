"""``Idempotency-Key`` on POST: the first successful response is stored with the key, in the same
transaction as the effect; a replay with the same body returns it with ``Idempotent-Replayed: true``;
the same key with another body (or another endpoint) is refused with 422.

Concurrency: the key row is inserted *first*, inside the transaction. A second request with the same
key blocks on the unique index until the first commits (then replays) or rolls back (then runs)."""

from __future__ import annotations

import hashlib
import json

from django.db import IntegrityError, transaction
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from revops.core.models import IdempotencyKey
from revops.errors import Conflict, DomainError, ValidationFailed
from revops.jsonsafe import loads_bounded, nul_visible

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("Location",)


class IdempotencyMismatch(DomainError):
    slug = "idempotency-key-reused"
    title = "Idempotency key reused with a different request"


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(loads_bounded(body or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def _replay(record: IdempotencyKey) -> Response:
    response = Response(record.response_body, status=record.response_status)
    for name, value in (record.response_headers or {}).items():
        response[name] = value
    response[REPLAYED] = "true"
    return response


def _without_secrets(body, fields: tuple[str, ...]):
    """The response body as stored: the top-level ``fields`` (a signing secret, shown once) nulled."""
    if fields and isinstance(body, dict):
        return {k: (None if k in fields else v) for k, v in body.items()}
    return body


def run_idempotent(
    *, user, key: str, method: str, path: str, body: bytes, call, secret_fields: tuple[str, ...] = ()
) -> Response:
    """Run ``call`` once per key. ``secret_fields`` name response fields that are shown once and never
    stored (a webhook signing secret): a replay answers them with null (rotate the secret if lost)."""
    if len(key) > 255 or not key.strip():
        raise ValidationFailed("Idempotency-Key must be 1–255 characters.", field=HEADER)
    fingerprint = request_fingerprint(method, path, body)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    owner=user, key=key, method=method, path=path, request_hash=fingerprint
                )
        except IntegrityError:
            record = IdempotencyKey.objects.get(owner=user, key=key)
            if record.request_hash != fingerprint:
                raise IdempotencyMismatch(
                    "This Idempotency-Key was already used with a different request body or endpoint. "
                    "Use a new key for a new request."
                )
            if record.response_status is None:
                raise Conflict("A request with this Idempotency-Key is still being processed; retry shortly.")
            return _replay(record)
        response = call()
        if not 200 <= response.status_code < 300:
            # Errors are not remembered: the client may fix the request and retry with the same key.
            transaction.set_rollback(True)
            return response
        # jsonb cannot store U+0000 (only usage ingestion may echo it back, in its rejections)
        stored = _without_secrets(response.data, secret_fields)
        body_json = nul_visible(json.loads(json.dumps(stored, cls=JSONEncoder)))
        record.response_status = response.status_code
        record.response_body = body_json
        record.response_headers = {h: response[h] for h in KEPT_HEADERS if h in response}
        record.save(update_fields=["response_status", "response_body", "response_headers"])
        return response
