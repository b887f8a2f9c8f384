"""The kernel's own records in the global search: approvals (by number, by what they are about, by
their summary) and audit events (the trail of the document an exact number names). Registered from
``CoreConfig.ready()``."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse

from revops.core.approvals.models import Approval
from revops.core.audit.display import action_label
from revops.core.audit.models import AuditEvent
from revops.core.search.query import Query
from revops.core.search.registry import Hit, Provider, register_provider, resolvers
from revops.formatting import day

APPROVAL_PREFIXES = ("A", "APPROVAL", "REQUEST")


def _trails(query: Query):
    return [trail for resolve in resolvers() for trail in resolve(query)]


def _refs_q(refs) -> Q:
    q = Q(pk__in=[])
    for object_type, object_id in refs:
        q |= Q(object_type=object_type, object_id=object_id)
    return q


def find_approvals(query: Query, limit: int) -> list[Hit]:
    if query.is_number and query.has_prefix(*APPROVAL_PREFIXES):
        matches, exact = Approval.objects.filter(pk=query.sequence), True
    else:
        refs = [ref for trail in _trails(query) for ref in trail.refs]
        exact = bool(refs)
        matches = Approval.objects.filter(_refs_q(refs)) if refs else Approval.objects.none()
        if not refs and not query.is_number and query.text:
            matches = Approval.objects.filter(summary__icontains=query.text)
    queue = reverse("approvals")
    return [
        Hit(
            title=f"Approval #{a.pk}",
            # A decided request opens itself (the queue filtered to it, with the link to its change).
            url=f"{queue}#approval-{a.pk}"
            if a.status == Approval.Status.PENDING
            else f"{queue}?{urlencode({'request': a.pk})}#approval-{a.pk}",
            subtitle=f"{a.summary} · requested {day(a.requested_at.date())}",
            badge=a.get_status_display(),
            exact=exact,
        )
        for a in matches.select_related("requested_by").order_by("-id")[:limit]
    ]


def find_audit_trails(query: Query, limit: int) -> list[Hit]:
    hits = []
    for trail in _trails(query)[:limit]:
        events = AuditEvent.objects.filter(_refs_q(trail.refs))
        count = events.count()
        last = events.order_by("-seq").values_list("action", "occurred_at").first()
        hits.append(
            Hit(
                title=f"Audit trail of {trail.number}",
                url=f"{reverse('audit-trail')}?{urlencode({'ref': trail.number})}",
                subtitle=f"{trail.label} · {count} event{'s' if count != 1 else ''}"
                + (f" · last: {action_label(last[0]).lower()} on {day(last[1].date())}" if last else ""),
                exact=True,
                links=[],
            )
        )
    return hits


def register() -> None:
    register_provider(Provider("approvals", "Approvals", "approvals", find_approvals, order=60))
    register_provider(Provider("audit", "Audit trail", "audit", find_audit_trails, order=70))
