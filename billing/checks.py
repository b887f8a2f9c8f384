"""System checks for billing settings (``manage.py check`` and every management command)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register


@register()
def usage_settle_outlasts_ingestion(app_configs=None, **kwargs) -> list[Error]:
    from billing.usage.ingest import STATEMENT_TIMEOUT_SECONDS

    value = settings.USAGE_SETTLE_SECONDS
    if value < STATEMENT_TIMEOUT_SECONDS:
        return [
            Error(
                f"USAGE_SETTLE_SECONDS is {value}; it must be at least {STATEMENT_TIMEOUT_SECONDS} "
                "(the ingestion statement timeout).",
                hint="A shorter cut-off lets an ingestion that is still committing land behind an invoice "
                "already billed up to it, and its events would never be billed. Use 300 (the default).",
                id="billing.E001",
            )
        ]
    return []
