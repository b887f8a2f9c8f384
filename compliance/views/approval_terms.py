"""Approval requests in business terms (issue 16 §4): for each request, the customer and contract it
concerns, what changes (before → after), the amount with its currency and the effect on revenue, and
a link that opens the changed object itself. Read with a few queries per page of the queue; kinds
without a specific reading still show their customer and contract (from the object or the payload).
Also the queue's period filter: the requests that stand between a period and its close."""

from __future__ import annotations

from collections import defaultdict

from django.apps import apps
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.urls import reverse

from compliance.views.display import PERIOD_TYPE, object_link
from revops.formatting import money

SCHEDULE_TYPE = "revrec.revenueschedule"
MODIFICATION_TYPE = "revrec.contractmodification"
CONTRACT_TYPE = "contracts.contract"
CUSTOMER_TYPE = "contracts.customer"


def _refs(qs):
    return qs.annotate(ref=Cast("pk", CharField())).values("ref")


def period_scope(key: str) -> Q:
    """The requests of ``key``: what its close checklist waits for (schedules with a line in or before
    it, modifications effective before its end, as ``close_checklist`` counts them) and its own close
    or reopen requests."""
    from revrec.models import AccountingPeriod, ContractModification, RevenueSchedule
    from revrec.services.periods import period_bounds

    _start, end = period_bounds(key)
    schedules = RevenueSchedule.objects.filter(lines__period__lte=key).distinct()
    modifications = ContractModification.objects.filter(effective_date__lt=end)
    return (
        Q(object_type=SCHEDULE_TYPE, object_id__in=_refs(schedules))
        | Q(object_type=MODIFICATION_TYPE, object_id__in=_refs(modifications))
        | Q(object_type=PERIOD_TYPE, object_id__in=_refs(AccountingPeriod.objects.filter(period=key)))
    )


def _link(url_name: str, pk) -> str:
    return reverse(url_name, args=[pk])


def _party(contract=None, customer=None) -> dict:
    if contract is not None and customer is None:
        customer = contract.customer
    return {
        "customer": {
            "label": f"{customer.name} ({customer.external_id})",
            "url": _link("customer", customer.pk),
        }
        if customer is not None
        else None,
        "contract": {"label": contract.number, "url": _link("contract", contract.pk)}
        if contract is not None
        else None,
    }


def _schedule_terms(approvals) -> dict[int, dict]:
    from revrec.models import RevenueSchedule

    ids = [int(a.object_id) for a in approvals if str(a.object_id).isdigit()]
    schedules = {
        s.pk: s
        for s in RevenueSchedule.objects.filter(pk__in=ids).select_related(
            "obligation__contract__customer", "obligation__product"
        )
    }
    previous = defaultdict(lambda: None)
    obligations = {s.obligation_id for s in schedules.values()}
    for s in RevenueSchedule.objects.filter(obligation_id__in=obligations, status="approved").order_by(
        "version"
    ):
        previous[s.obligation_id] = s
    out = {}
    for a in approvals:
        s = schedules.get(int(a.object_id)) if str(a.object_id).isdigit() else None
        if s is None:
            continue
        lines = (a.content or {}).get("content", {}).get("lines") or []
        first, last = (lines[0][0], lines[-1][0]) if lines else ("—", "—")
        before = previous[s.obligation_id]
        obligation = f"{s.obligation.product.name if s.obligation.product_id else s.obligation.key}"
        out[a.pk] = {
            **_party(s.obligation.contract),
            "changes": [
                (
                    f"Revenue schedule of {obligation}",
                    f"v{before.version}: {money(before.amount, before.currency)}"
                    if before
                    else "none approved",
                    f"v{s.version}: {money(s.amount, s.currency)}",
                ),
                ("Schedule status", "pending approval", "approved"),
            ],
            "amount": money(s.amount, s.currency),
            "effect": f"Recognizes {money(s.amount, s.currency)} over {len(lines)} period"
            f"{'s' if len(lines) != 1 else ''} ({first} to {last}) when revenue runs"
            + (f"; replaces v{before.version}." if before else "."),
            "url": _link("revenue-contract", s.obligation.contract_id),
        }
    return out


def _modification_terms(approvals) -> dict[int, dict]:
    from revrec.models import ContractModification

    ids = [int(a.object_id) for a in approvals if str(a.object_id).isdigit()]
    mods = {
        m.pk: m for m in ContractModification.objects.filter(pk__in=ids).select_related("contract__customer")
    }
    out = {}
    for a in approvals:
        m = mods.get(int(a.object_id)) if str(a.object_id).isdigit() else None
        if m is None:
            continue
        analysis = m.analysis or {}
        price = analysis.get("transaction_price") or {}
        before, after = price.get("from"), price.get("to")
        cur = m.contract.currency
        changes = [
            ("Contract version", f"v{m.contract_version - 1}", f"v{m.contract_version}"),
            ("Accounting treatment", "—", m.get_chosen_treatment_display()),
        ]
        if before is not None and after is not None:
            changes.insert(1, ("Transaction price", money(before, cur), money(after, cur)))
        out[a.pk] = {
            **_party(m.contract),
            "changes": changes,
            "amount": money(after, cur) if after is not None else "",
            "effect": f"{m.get_chosen_treatment_display()} from {m.effective_date}: the contract's schedules "
            "are re-cut as shown below; a catch-up posts in the first open period.",
            "url": _link("revenue-contract", m.contract_id),
        }
    return out


def _period_terms(approvals) -> dict[int, dict]:
    from revrec.models import AccountingPeriod

    ids = [int(a.object_id) for a in approvals if str(a.object_id).isdigit()]
    periods = {p.pk: p.period for p in AccountingPeriod.objects.filter(pk__in=ids)}
    out = {}
    for a in approvals:
        key = periods.get(int(a.object_id)) if str(a.object_id).isdigit() else None
        if key is None:
            continue
        closing = a.kind == "period_close"
        out[a.pk] = {
            "customer": None,
            "contract": None,
            "changes": [
                ("Period " + key, "open", "closed") if closing else ("Period " + key, "closed", "open")
            ],
            "amount": "",
            "effect": f"None recognized or reversed. Locks {key}: nothing posts into it any more; later "
            "corrections post in the next open period."
            if closing
            else f"Unlocks {key}: postings dated in it land in it again until it closes again.",
            "url": reverse("compliance-period", args=[key]),
        }
    return out


def _payload_terms(approval) -> dict:
    """What a request's payload says in business terms (overrides, credits, coupons, product changes)."""
    payload = approval.payload or {}
    currency = payload.get("currency") or ""
    changes = []
    for line in payload.get("overrides") or []:
        if isinstance(line, dict):
            changes.append(
                (
                    f"Line {line.get('key', '')} pays",
                    money(line.get("previous_pays") or line.get("list_pays"), currency)
                    if (line.get("previous_pays") or line.get("list_pays")) is not None
                    else "list price",
                    money(line.get("pays"), currency) if line.get("pays") is not None else "—",
                )
            )
    for field, value in payload.items():
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            changes.append((field.replace("_", " ").capitalize(), str(value["from"]), str(value["to"])))
    amount = payload.get("amount") or payload.get("value")
    return {
        "changes": changes,
        "amount": money(amount, currency)
        if amount is not None and currency
        else (str(amount) if amount else ""),
        "effect": {
            "price_override": "Changes what the contract bills; its transaction price is allocated to its "
            "obligations from the new prices, so recognized revenue follows.",
            "goodwill_credit": "No revenue at grant: credit applied to later invoices reduces what they bill.",
            "purchased_credit": "Deferred until the credit is consumed; recognized as it is used.",
            "exception_waiver": "None: the finding is accepted as it is; nothing posts.",
        }.get(approval.kind, ""),
    }


def _parties(approvals) -> dict[int, dict]:
    """Customer and contract from the object (a contract or customer) or the payload's numbers."""
    contract_model = apps.get_model("contracts", "Contract")
    customer_model = apps.get_model("contracts", "Customer")
    by_pk = [
        int(a.object_id) for a in approvals if a.object_type == CONTRACT_TYPE and str(a.object_id).isdigit()
    ]
    numbers = [str((a.payload or {}).get("contract")) for a in approvals if (a.payload or {}).get("contract")]
    contracts = {
        **{c.number: c for c in contract_model.objects.filter(number__in=numbers).select_related("customer")},
        **{str(c.pk): c for c in contract_model.objects.filter(pk__in=by_pk).select_related("customer")},
    }
    customer_ids = [
        int(a.object_id) for a in approvals if a.object_type == CUSTOMER_TYPE and str(a.object_id).isdigit()
    ]
    customers = {str(c.pk): c for c in customer_model.objects.filter(pk__in=customer_ids)}
    out = {}
    for a in approvals:
        contract = contracts.get(str(a.object_id)) if a.object_type == CONTRACT_TYPE else None
        contract = contract or contracts.get(str((a.payload or {}).get("contract")))
        customer = customers.get(str(a.object_id)) if a.object_type == CUSTOMER_TYPE else None
        out[a.pk] = _party(contract, customer)
    return out


SPECIFIC = {
    "revenue_schedule": _schedule_terms,
    "contract_modification": _modification_terms,
    "period_close": _period_terms,
    "period_reopen": _period_terms,
}


def approval_terms(approvals) -> dict[int, dict]:
    """{approval pk: {"customer", "contract", "changes": [(what, before, after)], "amount", "effect",
    "url"}} for every request (``customer``/``contract``: {"label", "url"} or None)."""
    out: dict[int, dict] = {}
    for kind, build in SPECIFIC.items():
        of_kind = [a for a in approvals if a.kind == kind]
        if of_kind:
            out.update(build(of_kind))
    rest = [a for a in approvals if a.pk not in out]
    parties = _parties(rest) if rest else {}
    for a in rest:
        link = object_link(a.object_type, a.object_id)
        out[a.pk] = {**parties[a.pk], **_payload_terms(a), "url": link["url"]}
    return out
