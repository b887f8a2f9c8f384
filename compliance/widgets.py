from django.urls import reverse

from revops.core.audit.models import AuditChainHead


def audit_widgets(user) -> list[dict]:
    head = AuditChainHead.objects.filter(id=1).first()
    count = head.last_seq if head else 0
    return [
        {
            "title": "Audit events",
            "value": f"{count:,}",
            "note": "Hash-chained under a key (HMAC), append-only.",
            "url": reverse("audit-trail"),
            "link_label": "Audit trail",
        }
    ]
