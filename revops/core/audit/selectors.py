from collections.abc import Iterable

from django.db.models import Q, QuerySet

from revops.core.audit.models import AuditEvent


def audit_event_list(
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    refs: Iterable[tuple[str, str]] | None = None,
) -> QuerySet[AuditEvent]:
    """Events, newest first. ``refs`` — (object_type, object_id) pairs, e.g. a document's trail from
    revops.core.search — keeps the events of those records only (an empty list: none)."""
    qs = AuditEvent.objects.all()
    if refs is not None:
        match = Q(pk__in=[])
        for ref_type, ref_id in refs:
            match |= Q(object_type=ref_type, object_id=str(ref_id))
        qs = qs.filter(match)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=str(object_id))
    if action:
        qs = qs.filter(action__startswith=action)
    if actor:
        qs = qs.filter(actor_label=actor)
    return qs.order_by("-seq")
