"""Registers the catalog feature with the kernel: navigation, the dashboard card, the demo seeder
(``billing.catalog.demo``), the price-publication approval kind and its preview. Called from
``BillingConfig.ready()``."""

from __future__ import annotations


def register() -> None:
    from billing.catalog.demo import seed_catalog
    from revops.core.dashboard import register_widgets
    from revops.core.demo import register_seeder
    from revops.navigation import NavItem
    from revops.navigation import register as register_nav

    register_nav(
        "Pricing",
        NavItem("Price plans", "pricing-plans", "catalog", "▤"),
        NavItem("Simulator", "pricing-simulator", "pricing", "≈"),
        NavItem("Products & meters", "pricing-catalog", "catalog", "▦"),
        NavItem("Coupons", "pricing-coupons", "catalog", "%"),
        before="Operations",
    )
    register_widgets("catalog", catalog_widgets)
    register_seeder("catalog", seed_catalog)

    from billing.catalog import services
    from revops.core.approvals.registry import register_approval_preview

    services.register()
    register_approval_preview(
        services.PUBLISH_KIND,
        build=publish_previews,
        template="billing/catalog/_approval_preview_version.html",
    )


def publish_previews(approvals) -> dict[int, dict]:
    """The impact view (old vs new per customer) under each price-version publication request."""
    from billing.catalog.services import content_fingerprint, version_content
    from billing.models import PlanVersion

    wanted = {
        int(a.object_id): a
        for a in approvals
        if a.object_type == "billing.planversion" and a.object_id.isdigit()
    }
    out = {}
    for version in PlanVersion.objects.filter(pk__in=wanted).select_related("plan"):
        approval = wanted[version.pk]
        out[approval.pk] = {
            "plan_code": version.plan.code,
            "number": version.number,
            "effective_from": version.effective_from,
            "reasons": approval.payload.get("reasons", []),
            "changed": approval.status == "pending"
            and content_fingerprint(version_content(version)) != approval.payload.get("fingerprint"),
            **_impact_or_error(version),
        }
    return out


def _impact_or_error(version) -> dict:
    """The approver's preview of the impact view, or why it cannot be computed (a price that cannot
    rate a contract on the plan) — never a 500 on the approvals page."""
    from billing.catalog.impact import version_impact
    from revops.errors import DomainError

    try:
        return {"impact": version_impact(version=version), "impact_error": None}
    except DomainError as exc:
        return {"impact": None, "impact_error": "; ".join(e.message for e in exc.errors) or exc.detail}


def catalog_widgets(user) -> list[dict]:
    from django.urls import reverse

    from billing.catalog.ui_support import catalog_counts

    counts = catalog_counts()
    drafts = counts["drafts"]
    return [
        {
            "title": "Price plans",
            "value": counts["plans"],
            "tone": "warn" if drafts else None,
            "note": (
                f"{counts['published']} published version{'s' if counts['published'] != 1 else ''} · "
                + (
                    f"{drafts} draft{'s' if drafts != 1 else ''} awaiting publication"
                    if drafts
                    else "no drafts pending"
                )
            ),
            "url": reverse("pricing-plans"),
            "link_label": "Price plans",
        }
    ]
