"""Display helpers shared by the compliance pages: generic object links, finance-friendly numbers,
audit changes as readable pairs, the posted decision of an approval form. Reads only."""

from __future__ import annotations

import json
import re

from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from compliance.models import ComplianceException
from revops.core.approvals.registry import approval_kinds
from revops.core.audit.display import change_items, change_rows, number  # noqa: F401 - shown here too
from revops.errors import ValidationFailed

PERIOD_RE = re.compile(r"(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])")  # 1900-01 to 2199-12 (revops.dates)
SEVERITIES = [s.value for s in ComplianceException.Severity]
EXCEPTION_TYPE = "compliance.complianceexception"
PERIOD_TYPE = "revrec.accountingperiod"


# object type -> (label, url name, field holding the url argument); the url is shown only when the
# page exists in this deployment (NoReverseMatch otherwise) and the record is found.
OBJECT_ROUTES = {
    "billing.invoice": ("Invoice", "invoice", "pk"),
    "billing.invoiceline": ("Invoice line", "invoice", "invoice_id"),
    "contracts.contract": ("Contract", "contract", "pk"),
    "contracts.contractline": ("Contract line", "contract", "contract_id"),
    "contracts.customer": ("Customer", "customer", "pk"),
    "contracts.legalentity": ("Legal entity", None, None),
    "revrec.journalentry": ("Journal entry", "revenue-ledger-entry", "pk"),
    "revrec.performanceobligation": ("Performance obligation", "revenue-contract", "contract_id"),
    "revrec.revenueschedule": ("Revenue schedule", "revenue-contract", "obligation__contract_id"),
    "revrec.contractmodification": ("Contract modification", "revenue-contract", "contract_id"),
    "revrec.sspentry": ("SSP entry", "revenue-ssp", None),
    PERIOD_TYPE: ("Accounting period", "compliance-period", "period"),
    EXCEPTION_TYPE: ("Compliance exception", "compliance-exception", "pk"),
    "compliance.checkrun": ("Check run", "compliance", None),
    "compliance.auditevent": ("Audit event", None, None),
}


def object_link(object_type: str, object_id: str, *, lookup: bool = True) -> dict:
    """{"label", "ref", "id", "url"} for a generic (type, id) reference. ``lookup=False`` links only
    what needs no query (lists stay free of N+1)."""
    label, url_name, field = OBJECT_ROUTES.get(object_type, (object_type, None, None))
    shown = f"#{object_id}" if str(object_id).isdigit() else str(object_id)
    link = {"label": label, "ref": f"{object_type}:{object_id}", "id": object_id, "shown": shown, "url": None}
    if not url_name:
        return link
    try:
        if object_type == PERIOD_TYPE and PERIOD_RE.fullmatch(str(object_id)):
            arg = object_id
        elif field == "pk":
            arg = int(object_id)
        elif field and not lookup:
            return link
        elif field:
            model = apps.get_model(object_type)
            arg = model.objects.filter(pk=object_id).values_list(field, flat=True).first()
            if arg is None:
                return link
            if object_type == PERIOD_TYPE:
                link["shown"] = arg
        link["url"] = reverse(url_name, args=[arg] if field else [])
    except (NoReverseMatch, LookupError, ValueError):
        pass
    return link


def readable(details) -> list[tuple[str, str, bool]]:
    """(label, text, is_block) rows for a finding's JSON details."""
    if not isinstance(details, dict):
        return [("Details", json.dumps(details, indent=2), True)] if details else []
    rows = []
    for key, value in details.items():
        label = str(key).replace("_", " ").capitalize()
        if isinstance(value, dict) or (
            isinstance(value, list) and any(isinstance(v, dict | list) for v in value)
        ):
            rows.append((label, json.dumps(value, indent=2, sort_keys=True), True))
        elif isinstance(value, list):
            rows.append((label, ", ".join(str(v) for v in value) or "none", False))
        else:
            rows.append((label, "—" if value in (None, "") else number(value), False))
    return rows


def with_items(events) -> list:
    events = list(events)
    for event in events:
        event.items = change_items(event.changes)
        event.table = change_rows(event.changes)
    return events


def trigger_label(trigger: str) -> str:
    return trigger.replace("_", " ").capitalize()


def kind_label(kind: str) -> str:
    handler = approval_kinds().get(kind)
    return handler.label if handler else kind.replace("_", " ").capitalize()


def decision(request) -> tuple[bool, str]:
    action = request.POST.get("action")
    if action not in ("approve", "reject"):
        raise ValidationFailed("Choose approve or reject.", field="action")
    return action == "approve", (request.POST.get("comment") or "").strip()


def recent_periods(count: int = 6) -> list[str]:
    today = timezone.localdate()
    year, month, keys = today.year, today.month, []
    for _ in range(count):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return keys
