"""What each approval kind does, registered by the app that owns it: the handler run when a request
is approved or rejected, the content bound into the request's hash, and the preview the approval queue
shows. The engine (:mod:`revops.core.approvals.services`) and the queue import no app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from revops.core.approvals.models import Approval


@dataclass(frozen=True)
class Handler:
    on_approved: Callable[[Approval, object], None]
    on_rejected: Callable[[Approval, object], None] | None = None
    label: str = ""
    # content(approval) -> dict: what approving applies beyond the payload (the object's current state
    # that ``on_approved`` reads), bound into the request's hash.
    content: Callable[[Approval], dict] | None = None
    # content_many(approvals) -> [dict, …]: the same documents as ``content`` for many requests at once
    # (in order), read with a few queries; used when requests are opened in bulk.
    content_many: Callable[[list[Approval]], list[dict]] | None = None


_HANDLERS: dict[str, Handler] = {}
# kind -> (build, template): the approval queue shows, under a request of that kind, ``template``
# rendered with ``p`` = build(approvals)[approval.pk] (one call per page, for all requests of the kind).
_PREVIEWS: dict[str, tuple[Callable[[list[Approval]], dict[int, dict]], str]] = {}


def register_approval_preview(kind: str, *, build, template: str) -> None:
    """Let the app that owns a kind show what approving it would do (a schedule's months, a
    modification's treatments) in the one approval queue, without the queue importing that app."""
    _PREVIEWS[kind] = (build, template)


def approval_previews(approvals: list[Approval]) -> dict[int, dict]:
    """{approval pk: {"template", "p"}} for the requests whose kind has a registered preview."""
    out: dict[int, dict] = {}
    for kind, (build, template) in _PREVIEWS.items():
        of_kind = [a for a in approvals if a.kind == kind]
        if of_kind:
            for pk, context in build(of_kind).items():
                out[pk] = {"template": template, "p": context}
    return out


def register_approval_kind(
    kind: str, *, on_approved, on_rejected=None, label: str = "", content=None, content_many=None
) -> None:
    """``content(approval) -> dict``: for a kind whose ``on_approved`` applies the object's current
    state rather than the payload, that state (everything approving would apply); it is hashed into
    the request and recomputed when it is decided. Without it, the kind, object and payload are bound.
    ``content_many(approvals) -> list[dict]``: optional, the same documents for many requests at once
    (:func:`revops.core.approvals.services.approval_request_many`); it must equal ``content`` for each."""
    _HANDLERS[kind] = Handler(
        on_approved, on_rejected, label or kind.replace("_", " "), content, content_many
    )


def approval_kinds() -> dict[str, Handler]:
    return dict(_HANDLERS)


def approval_handler(kind: str) -> Handler | None:
    return _HANDLERS.get(kind)
