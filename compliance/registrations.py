"""Registers the compliance pages with the kernel: the "Compliance" navigation section (in the order a
controller works: dashboard, exceptions, approvals, month end, close, audit trail, evidence), the dashboard
cards "open exceptions by severity" and "month end" and the "close" demo seeder (after "revenue"). Called from ``ComplianceConfig.ready()``."""

from __future__ import annotations

ORDER = (
    "compliance",
    "compliance-exceptions",
    "approvals",
    "compliance-month-end-current",
    "compliance-periods",
    "audit-trail",
    "compliance-evidence",
)


def register() -> None:
    from compliance.demo import seed_close
    from revops.core.dashboard import register_widgets
    from revops.core.demo import register_seeder
    from revops.navigation import NAV, NavItem, NavSection
    from revops.navigation import register as register_nav

    register_nav(
        "Compliance",
        NavItem("Compliance", "compliance", "compliance", "✔"),
        NavItem("Exceptions", "compliance-exceptions", "compliance", "⚠"),
        NavItem("Approvals", "approvals", "approvals", "✓"),
        NavItem("Month end", "compliance-month-end-current", "periods", "◴"),
        NavItem("Period close", "compliance-periods", "periods", "▦"),
        NavItem("Evidence", "compliance-evidence", "audit", "⇩"),
    )
    # register() appends; put the section's items (incl. the core "Audit trail") in working order.
    for index, section in enumerate(NAV):
        if section.title == "Compliance":
            rank = {name: i for i, name in enumerate(ORDER)}
            items = sorted(section.items, key=lambda item: rank.get(item.url_name, len(ORDER)))
            NAV[index] = NavSection(section.title, tuple(items))
    register_widgets("compliance", compliance_widgets)
    register_widgets("periods", month_end_widgets)
    register_seeder("close", seed_close, after="revenue")


def compliance_widgets(user) -> list[dict]:
    """Open exceptions by severity (one card), linking to the filtered exception list."""
    from django.db.models import Count
    from django.urls import reverse

    from compliance.models import ComplianceException

    counts = dict(
        ComplianceException.objects.filter(status=ComplianceException.Status.OPEN)
        .values_list("severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    total = sum(counts.values())
    note = (
        "Open: "
        + " · ".join(f"{counts.get(s.value, 0)} {s.label.lower()}" for s in ComplianceException.Severity)
        + "."
        if total
        else "None open: every check passes, or its findings were resolved or waived."
    )
    return [
        {
            "title": "Compliance exceptions",
            "value": f"{total:,}",
            "tone": "bad" if counts.get("critical") else ("warn" if total else "ok"),
            "note": note,
            "url": reverse("compliance-exceptions") + "?status=open",
            "link_label": "Exceptions",
        }
    ]


def month_end_widgets(user) -> list[dict]:
    """The month end under way (one card): its period and how many drafts still hold it — a few cheap
    queries; the month-end page has the stages."""
    from django.urls import reverse

    from compliance.month_end import month_end_key, period_drafts
    from revrec.services.periods import period_bounds

    key = month_end_key()
    drafts = period_drafts(period_bounds(key)[1])["n"]
    note = (
        f"{drafts:,} draft invoice{'s' if drafts != 1 else ''} still hold{'s' if drafts == 1 else ''} fees or usage of {key}."
        if drafts
        else f"No draft left for {key}: see what else stands between it and its close."
    )
    return [
        {
            "title": "Month end",
            "value": key,
            "tone": "warn" if drafts else "",
            "note": note,
            "url": reverse("compliance-month-end", args=[key]),
            "link_label": "Stages and blockers",
        }
    ]
