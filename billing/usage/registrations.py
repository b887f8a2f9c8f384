"""Registers the usage feature with the kernel: navigation, the dashboard card, the demo seeder."""

from __future__ import annotations


def usage_widgets(user) -> list[dict]:
    from django.db.models import Sum
    from django.urls import reverse
    from django.utils import timezone

    from billing.models import IngestionBatch
    from billing.usage.selectors import quarantine_open_count

    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    accepted = IngestionBatch.objects.filter(received_at__gte=today).aggregate(n=Sum("accepted"))["n"] or 0
    open_items = quarantine_open_count()
    return [
        {
            "title": "Usage events today",
            "value": f"{accepted:,}",
            "tone": "warn" if open_items else None,
            "note": f"{open_items:,} event(s) waiting in quarantine."
            if open_items
            else "Nothing in quarantine.",
            "url": reverse("usage-quarantine") if open_items else reverse("usage-ingestion"),
            "link_label": "Quarantine" if open_items else "Ingestion",
        }
    ]


def register() -> None:
    from billing.usage.demo import seed_usage
    from revops.core.dashboard import register_widgets
    from revops.core.demo import register_seeder
    from revops.navigation import NavItem
    from revops.navigation import register as register_nav

    register_nav(
        "Usage",
        NavItem("Usage explorer", "usage-explorer", "usage", "▥"),
        NavItem("Quarantine", "usage-quarantine", "usage", "⚠"),
        NavItem("Ingestion", "usage-ingestion", "usage", "⇣"),
        before="Operations",
    )
    register_widgets("usage", usage_widgets)
    register_seeder("usage", seed_usage)
