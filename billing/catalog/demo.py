"""Demo data for the catalog: products, meters and the four published plans the demo starts with
(the "catalog" seeder, registered in ``billing.catalog.registrations``)."""

from __future__ import annotations

from datetime import date

DEMO_PRODUCTS = [
    ("platform", "Platform fee", "ratable_daily"),
    ("seats", "Seats", "ratable_daily"),
    ("api", "API calls", "usage"),
    ("tokens", "AI tokens", "usage"),
    ("onboarding", "Onboarding", "point_in_time"),
    ("support", "Premium support", "ratable_monthly"),
]
DEMO_METERS = [
    {"code": "api_calls", "name": "API calls", "aggregation": "count", "group_by": ["endpoint"]},
    {
        "code": "llm_tokens",
        "name": "LLM tokens",
        "aggregation": "sum",
        "field": "tokens",
        "group_by": ["model", "token_type"],
    },
]
V1 = date(2026, 1, 1)


def _platform(amount: str) -> dict:
    return {
        "code": "platform",
        "name": "Platform fee",
        "product": "platform",
        "model": "flat",
        "timing": "in_advance",
        "properties": {"amount": amount},
    }


def _api_calls(over: str) -> dict:
    return {
        "code": "api_calls",
        "name": "API calls",
        "product": "api",
        "meter": "api_calls",
        "model": "graduated",
        "timing": "in_arrears",
        "properties": {
            "tiers": [
                {"up_to": "10000", "unit_amount": "0"},
                {"up_to": "100000", "unit_amount": "0.002"},
                {"up_to": None, "unit_amount": over},
            ]
        },
    }


TOKEN_PRICES = [
    ("gpt-4o", "input", "0.0000025", "GPT-4o input tokens"),
    ("gpt-4o", "output", "0.00001", "GPT-4o output tokens"),
    ("gpt-4o-mini", "input", "0.00000015", "GPT-4o mini input tokens"),
    ("gpt-4o-mini", "output", "0.0000006", "GPT-4o mini output tokens"),
]


def _tokens() -> dict:
    """LLM tokens priced per model and direction (one filter per price)."""
    return {
        "code": "tokens",
        "name": "LLM tokens",
        "product": "tokens",
        "meter": "llm_tokens",
        "model": "standard",
        "timing": "in_arrears",
        "properties": {"unit_amount": "0"},
        "filters": [
            {"match": {"model": m, "token_type": t}, "properties": {"unit_amount": p}, "name": n}
            for m, t, p, n in TOKEN_PRICES
        ],
    }


DEMO_PLANS = [
    {
        "code": "ai-tokens",
        "name": "AI Tokens",
        "description": "Platform fee plus tokens priced per model and direction.",
        "currency": "USD",
        "interval": "month",
        "minimum_amount": "100.00",
        "charges": [
            _platform("49.00"),
            _tokens(),
        ],
    },
    {
        "code": "ai-enterprise",
        "name": "AI Enterprise",
        "description": "Hybrid: a 1,500.00 platform fee and a 5,000.00 monthly token commitment; tokens "
        "beyond the commitment are billed as overage at the same per-model prices.",
        "currency": "USD",
        "interval": "month",
        "minimum_amount": "6500.00",
        "charges": [
            _platform("1500.00"),
            _tokens(),
        ],
    },
    {
        "code": "api-growth",
        "name": "API Growth",
        "description": "10,000 free API calls a month, then graduated tiers.",
        "currency": "USD",
        "interval": "month",
        "charges": [_platform("199.00"), _api_calls("0.001")],
    },
    {
        "code": "platform-annual",
        "name": "Platform (annual)",
        "description": "The platform billed yearly in advance; multi-year deals ramp its price (issue 17).",
        "currency": "USD",
        "interval": "year",
        "charges": [_platform("120000.00")],
    },
    {
        "code": "team-seats",
        "name": "Team Seats",
        "description": "Per-seat pricing.",
        "currency": "USD",
        "interval": "month",
        "charges": [
            {
                "code": "seats",
                "name": "Seats",
                "product": "seats",
                "model": "standard",
                "timing": "in_advance",
                "properties": {"unit_amount": "25.00"},
            }
        ],
    },
]


def seed_catalog() -> str:
    """Products, meters and four published plans: token-priced, API (with a second published version
    and a draft), seats, and a hybrid one (platform fee, commitment, overage). Idempotent: anything
    that already exists is left alone.

    The price list starts on 1 January 2026, so its versions are back-dated: the pricing user submits
    them and the demo approver signs them off (maker-checker, like any back-dated price version)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from billing.catalog import services
    from billing.models import Meter, Plan, PlanVersion
    from revops.core.approvals.models import Approval
    from revops.core.approvals.services import approval_decide
    from revops.parties.models import Product
    from revops.parties.services.products import product_create

    users = get_user_model().objects
    actor = users.filter(username="pricing").first() or "seed_demo"
    approver = users.filter(username="approver").first()

    def sign_off() -> None:
        if approver is None:
            return  # left in the approval queue
        for approval in Approval.objects.filter(kind=services.PUBLISH_KIND, status=Approval.Status.PENDING):
            approval_decide(
                approval=approval, user=approver, approve=True, comment="Checked against the rate card."
            )

    made: list[str] = []
    with transaction.atomic():
        for code, name, recognition in DEMO_PRODUCTS:
            if not Product.objects.filter(code=code).exists():
                product_create(code=code, name=name, recognition=recognition, actor=actor)
                made.append(f"product {code}")
        for meter in DEMO_METERS:
            if not Meter.objects.filter(code=meter["code"]).exists():
                services.meter_create(actor=actor, **meter)
                made.append(f"meter {meter['code']}")
        for spec in DEMO_PLANS:
            if not Plan.objects.filter(code=spec["code"]).exists():
                services.plan_create(actor=actor, effective_from=V1, **spec)
                made.append(f"plan {spec['code']}")
        sign_off()
        growth = Plan.objects.get(code="api-growth")
        if not growth.versions.filter(effective_from=date(2026, 7, 1)).exists():
            services.plan_version_create(
                plan=growth,
                effective_from=date(2026, 7, 1),
                charges=[_platform("249.00"), _api_calls("0.001")],
                notes="Platform fee 199.00 → 249.00.",
                actor=actor,
            )
            sign_off()
            made.append("api-growth v2")
        if (
            not growth.versions.filter(status=PlanVersion.Status.DRAFT).exists()
            and growth.versions.count() < 3
        ):
            services.plan_version_create(
                plan=growth,
                effective_from=date(2027, 1, 1),
                charges=[_platform("249.00"), _api_calls("0.0008")],
                notes="Proposal: cheaper calls over 100,000.",
                publish=False,
                actor=actor,
            )
            made.append("api-growth draft v3")
    return ", ".join(made) or "nothing new"
