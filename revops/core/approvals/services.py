"""The one approval service (maker-checker) for schedules, modifications, discounts, SSP changes,
overrides, waivers and period reopen. The requester can never decide their own request; every
decision is audited with its comment, in the same transaction as what approving does.

An approval is bound to content: when it is requested, the exact thing approving will apply — the
kind, the object, the payload and, for kinds whose handler applies the object's current state, that
state as the kind's ``content(approval)`` returns it — is recorded with its SHA-256 over canonical JSON
(``content`` and ``content_hash``). Deciding recomputes it first; if anything changed, the decision is
refused (409 ``approval-content-changed``), the request is voided (status ``superseded``, audited) and
a new one is opened for the new content. Services that change a request's object call
:func:`approval_rebind` at that moment, so the queue never shows stale content."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from revops.books import lock_for_posting
from revops.core.approvals.models import Approval
from revops.core.approvals.registry import approval_handler
from revops.core.approvals.selectors import approval_makers
from revops.core.approvals.settle import approval_settle
from revops.core.approvals.sod import sod_refusal
from revops.core.audit.actions import AuditAction
from revops.core.audit.models import AuditEvent
from revops.core.audit.services import audit_record, audit_record_many, object_ref
from revops.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from revops.jsonsafe import jsonable
from revops.roles import can_decide


class SelfApproval(Conflict):
    slug = "self-approval"
    title = "You cannot decide your own request"


class ContentChanged(Conflict):
    slug = "approval-content-changed"
    title = "What this request would apply has changed"

    def __init__(self, detail: str, *, replacement: Approval | None = None):
        super().__init__(detail)
        self.replacement = replacement
        # Problem extension members (RFC 9457 §3.2): the request that now carries the current content.
        self.extra = (
            {"replacement": replacement.pk, "content_hash": replacement.content_hash} if replacement else {}
        )


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def approval_content(approval: Approval) -> dict:
    """What approving ``approval`` applies right now: kind, object, payload and the kind's content."""
    document = {
        "kind": approval.kind,
        "object_type": approval.object_type,
        "object_id": str(approval.object_id),
        "payload": jsonable(approval.payload or {}),
    }
    handler = approval_handler(approval.kind)
    if handler is not None and handler.content is not None:
        with transaction.atomic():  # a kind's content may lock its object (select_for_update)
            document["content"] = jsonable(handler.content(approval))
    return document


def content_hash(document: dict) -> str:
    """SHA-256 over the canonical JSON (sorted keys, no spaces, UTF-8) of a bound document."""
    return hashlib.sha256(_canonical(document)).hexdigest()


def _pending(kind: str, object_type: str, object_id) -> Approval | None:
    return (
        Approval.objects.select_for_update()
        .filter(kind=kind, object_type=object_type, object_id=str(object_id), status=Approval.Status.PENDING)
        .first()
    )


def _open(
    *,
    template: Approval,
    document: dict,
    digest: str,
    requested_by,
    supersedes: Approval | None,
    exclude=(),
) -> Approval:
    user = requested_by if getattr(requested_by, "pk", None) else None
    approval = Approval.objects.create(
        kind=template.kind,
        object_type=template.object_type,
        object_id=str(template.object_id),
        summary=template.summary[:300],
        payload=template.payload,
        requested_by=user,
        content=document,
        content_hash=digest,
        supersedes=supersedes,
    )
    audit_record(
        actor=requested_by,
        action=AuditAction.APPROVAL_REQUESTED,
        obj=approval,
        changes=_requested_changes(approval, digest, supersedes),
    )
    from revops.core.approvals.outcomes import approval_requested_notify

    approval_requested_notify(approval, exclude=exclude)
    return approval


def _requested_changes(approval: Approval, digest: str, supersedes: Approval | None) -> dict:
    """The body of the ``approval.requested`` event (one request or many: the same event)."""
    return {
        "kind": approval.kind,
        "object": f"{approval.object_type}:{approval.object_id}",
        "summary": approval.summary,
        "content_hash": digest,
        "supersedes": supersedes.pk if supersedes else None,
    }


def _void(approval: Approval, *, actor, reason: str, new_hash: str) -> None:
    """Mark a pending request superseded (before its replacement exists: one pending per object)."""
    approval.status = Approval.Status.SUPERSEDED
    approval.decided_at = timezone.now()
    approval.comment = reason[:2000]
    approval.save(update_fields=["status", "decided_at", "comment"])
    audit_record(
        actor=actor,
        action=AuditAction.APPROVAL_SUPERSEDED,
        obj=approval,
        changes={
            "kind": approval.kind,
            "object": f"{approval.object_type}:{approval.object_id}",
            "reason": reason,
            "content_hash": approval.content_hash,
            "new_content_hash": new_hash,
        },
    )


def _replace(
    approval: Approval, *, document: dict, digest: str, actor, reason: str, requested_by
) -> Approval:
    _void(approval, actor=actor, reason=reason, new_hash=digest)
    new = _open(
        template=approval,
        document=document,
        digest=digest,
        requested_by=requested_by,
        supersedes=approval,
        exclude=(actor,),
    )
    Approval.objects.filter(pk=approval.pk).update(comment=f"{reason} Replaced by request #{new.pk}."[:2000])
    approval.comment = f"{reason} Replaced by request #{new.pk}."
    return new


def approval_request(
    *,
    kind: str,
    obj=None,
    object_type: str | None = None,
    object_id=None,
    summary: str,
    payload: dict | None = None,
    requested_by=None,
    replace_pending: bool = False,
) -> Approval:
    """Open a request (inside the caller's transaction), bound to what approving it will apply.
    One pending request per object and kind: asking again for the same content returns the pending
    one. Asking for different content returns the pending one unchanged too (still bound to its own
    content; the caller may compare its payload and refuse) — unless ``replace_pending``, which voids
    it (``superseded``, audited) and opens a new request for the new content."""
    if approval_handler(kind) is None:
        raise ValidationFailed(f"Unknown approval kind '{kind}'.", field="kind")
    if obj is not None:
        object_type, object_id = object_ref(obj)
    draft = Approval(
        kind=kind,
        object_type=object_type,
        object_id=str(object_id),
        summary=summary[:300],
        payload=jsonable(payload or {}),
    )
    document = approval_content(draft)
    digest = content_hash(document)
    existing = _pending(kind, object_type, object_id)
    if existing is not None:
        if existing.content_hash == digest or not replace_pending:
            return existing
        existing.summary, existing.payload = draft.summary, draft.payload
        return _replace(
            existing,
            document=document,
            digest=digest,
            actor=requested_by,
            reason="The request changed before it was decided.",
            requested_by=requested_by,
        )
    return _open(template=draft, document=document, digest=digest, requested_by=requested_by, supersedes=None)


def approval_contents(approvals: list[Approval]) -> list[dict]:
    """:func:`approval_content` of many requests of one kind, in order: with the kind's
    ``content_many`` (a few queries for all of them) when it registered one, else one by one."""
    if not approvals:
        return []
    kinds = {a.kind for a in approvals}
    if len(kinds) != 1:
        raise ValueError(f"approval_contents takes requests of one kind, not {sorted(kinds)}")
    handler = approval_handler(approvals[0].kind)
    if handler is None or handler.content is None or handler.content_many is None:
        return [approval_content(a) for a in approvals]
    with transaction.atomic():
        contents = handler.content_many(approvals)
    if len(contents) != len(approvals):
        raise ValueError(
            f"{approvals[0].kind}: content_many returned {len(contents)} documents for {len(approvals)}"
        )
    return [
        {
            "kind": a.kind,
            "object_type": a.object_type,
            "object_id": str(a.object_id),
            "payload": jsonable(a.payload or {}),
            "content": jsonable(content),
        }
        for a, content in zip(approvals, contents, strict=True)
    ]


def approval_request_many(*, kind: str, requests: Sequence[dict], requested_by=None) -> list[Approval]:
    """:func:`approval_request` (without ``replace_pending``) for many objects of one kind at once,
    inside the caller's transaction: the same requests, content hashes and ``approval.requested``
    events, in the same order, as one call per request — with one read of the pending requests, one
    read of the contents (the kind's ``content_many``), one INSERT and one :func:`audit_record_many`.

    Each request is a dict with ``obj`` (or ``object_type`` and ``object_id``), ``summary``, optional
    ``payload`` and optional ``audit_before``: audit records (``audit_record``'s keyword arguments)
    written just before that request's own event, so a service that records "change, request" per
    object in the single path writes the same hash chain in bulk. An object with a pending request of
    this kind gets that request back unchanged (as :func:`approval_request` does); maker-checker is
    untouched: the requester is recorded on each request and can never decide it."""
    if approval_handler(kind) is None:
        raise ValidationFailed(f"Unknown approval kind '{kind}'.", field="kind")
    drafts: list[Approval] = []
    for request in requests:
        object_type, object_id = request.get("object_type"), request.get("object_id")
        if request.get("obj") is not None:
            object_type, object_id = object_ref(request["obj"])
        drafts.append(
            Approval(
                kind=kind,
                object_type=object_type,
                object_id=str(object_id),
                summary=request["summary"][:300],
                payload=jsonable(request.get("payload") or {}),
            )
        )
    refs = {(d.object_type, d.object_id) for d in drafts}
    pending: dict[tuple[str, str], Approval] = {
        (a.object_type, a.object_id): a
        for a in Approval.objects.select_for_update()
        .filter(kind=kind, status=Approval.Status.PENDING, object_id__in={ref[1] for ref in refs})
        .order_by("id")
        if (a.object_type, a.object_id) in refs
    }
    fresh: list[Approval] = []
    for draft in drafts:
        ref = (draft.object_type, draft.object_id)
        if ref not in pending:
            pending[ref] = draft  # a second request for the same object in this call gets this one
            fresh.append(draft)
    documents = approval_contents(fresh)
    user = requested_by if getattr(requested_by, "pk", None) else None
    for draft, document in zip(fresh, documents, strict=True):
        draft.requested_by = user
        draft.content = document
        draft.content_hash = content_hash(document)
    Approval.objects.bulk_create(fresh)
    opened = {id(d) for d in fresh}
    records, out = [], []
    for request, draft in zip(requests, drafts, strict=True):
        records.extend(request.get("audit_before") or ())
        approval = pending[(draft.object_type, draft.object_id)]
        if id(approval) in opened:
            opened.discard(id(approval))
            records.append(
                {
                    "actor": requested_by,
                    "action": AuditAction.APPROVAL_REQUESTED,
                    "obj": approval,
                    "changes": _requested_changes(approval, approval.content_hash, None),
                }
            )
        out.append(approval)
    audit_record_many(records)
    from revops.core.approvals.outcomes import approvals_requested_notify

    approvals_requested_notify(fresh)
    return out


def approval_rebind(
    *,
    kind: str,
    obj=None,
    object_type: str | None = None,
    object_id=None,
    actor=None,
    reason: str = "",
    summary: str | None = None,
) -> Approval | None:
    """Call (inside the changing service's transaction) after changing an object a request of ``kind``
    may be pending for: if what approving would apply changed, the pending request is voided and a new
    one opened, requested by ``actor`` (or the original requester). Returns the pending request, if any."""
    if obj is not None:
        object_type, object_id = object_ref(obj)
    pending = _pending(kind, object_type, object_id)
    if pending is None:
        return None
    document = approval_content(pending)
    digest = content_hash(document)
    if digest == pending.content_hash:
        return pending
    if summary:
        pending.summary = summary[:300]
    return _replace(
        pending,
        document=document,
        digest=digest,
        actor=actor,
        reason=reason or "What approving would apply changed before a decision.",
        requested_by=actor if getattr(actor, "pk", None) else pending.requested_by,
    )


def approval_void(*, approval: Approval, actor=None, reason: str) -> Approval:
    """Void a pending request whose object no longer needs a decision (a schedule replaced by a newer
    version): status ``superseded``, audited, nothing opened in its place."""
    approval = Approval.objects.select_for_update().get(pk=approval.pk)
    if approval.status == Approval.Status.PENDING:
        _void(approval, actor=actor, reason=reason, new_hash="")
    return approval


def check_can_decide(approval: Approval, user) -> None:
    if not can_decide(user):
        raise Forbidden("Only approvers can decide approval requests.")
    makers = approval_makers(approval)
    if getattr(user, "pk", None) in makers:
        raise SelfApproval("You requested this; someone else must approve or reject it (maker-checker).")
    refusal = sod_refusal(user, kind=approval.kind, requester_ids=makers)
    if refusal:
        raise SelfApproval(refusal)


def _audited_hash(approval: Approval) -> str | None:
    """The content hash recorded in the (hash-chained) audit event that opened the request."""
    event = (
        AuditEvent.objects.filter(
            action=AuditAction.APPROVAL_REQUESTED,
            object_type=Approval.REFERENCE_TYPE,
            object_id=str(approval.pk),
        )
        .order_by("seq")
        .first()
    )
    return (event.changes or {}).get("content_hash") if event else None


@transaction.atomic
def _decide(*, approval: Approval, user, approve: bool, comment: str):
    approval = Approval.objects.get(pk=approval.pk)
    if approval.status != Approval.Status.PENDING:
        raise InvalidTransition(f"This request was already {approval.status}.")
    check_can_decide(approval, user)
    if not approve and not comment.strip():
        raise ValidationFailed("Say why you reject it.", field="comment")
    # The content first (a kind may lock its object, as the services that change it do), then the
    # request: the same lock order as a change that rebinds the request, so the two never deadlock.
    document = approval_content(approval)
    digest = content_hash(document)
    approval = Approval.objects.select_for_update().get(pk=approval.pk)
    if approval.status != Approval.Status.PENDING:
        raise InvalidTransition(f"This request was already {approval.status}.")
    audited = _audited_hash(approval)
    if digest != approval.content_hash or (audited is not None and audited != approval.content_hash):
        new = _replace(
            approval,
            document=document,
            digest=digest,
            actor=user,
            reason="What approving would apply changed after the request; nothing was decided.",
            requested_by=approval.requested_by,
        )
        return ContentChanged(
            f"Request #{approval.pk} was voided: what approving it would apply changed since it was "
            f"requested (hash {approval.content_hash[:12] or 'none'}… is now {digest[:12]}…). Review "
            f"request #{new.pk} for the current content.",
            replacement=new,
        )
    if approve:  # what it applies may post: the period before the audit (docs/architecture.md, "Lock order")
        lock_for_posting()
    approval_settle(
        approval,
        user=user,
        status=Approval.Status.APPROVED if approve else Approval.Status.REJECTED,
        comment=comment,
        action=AuditAction.APPROVAL_APPROVED if approve else AuditAction.APPROVAL_REJECTED,
        audited={"comment": comment},
    )
    from revops.core.approvals.outcomes import approval_outcome_notify

    approval_outcome_notify(approval)
    return approval


def approval_decide(*, approval: Approval, user, approve: bool, comment: str = "") -> Approval:
    """Decide a pending request. What approving applies is recomputed first: if it is no longer what
    was requested (and hashed), nothing is decided — the request is voided, a new one opened (both
    committed) and :class:`ContentChanged` (409) raised, naming the new request."""
    outcome = _decide(approval=approval, user=user, approve=approve, comment=comment)
    if isinstance(outcome, ContentChanged):
        raise outcome
    return outcome


def approval_for(obj, *, kind: str | None = None):
    object_type, object_id = object_ref(obj)
    qs = Approval.objects.filter(object_type=object_type, object_id=object_id)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-id").first()
