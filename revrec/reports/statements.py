"""The reports of issue 6 §8: waterfall, deferred revenue rollforward, unbilled receivables, RPO,
revenue by product or customer, and the trial balance."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Q, Sum

from revops.errors import ValidationFailed
from revops.money import from_minor
from revrec.models import JournalLine, PerformanceObligation, RevenueSchedule, ScheduleLine
from revrec.reports.common import (
    AGE_BUCKETS,
    BILLING_SOURCES,
    CONTRA_ROLES,
    POSITION_ROLES,
    REVENUE_BASIS,
    REVENUE_ROLES,
    ROLLFORWARD_BASIS,
    RPO_BANDS,
    RPO_BASIS,
    UNBILLED_BASIS,
    WATERFALL_BASIS,
    ZERO,
    _account_ids,
    _index,
    _net,
    _q,
    add_months,
    last_day,
    months_between,
    parse_period,
    parse_range,
    period_of,
)
from revrec.reports.fifo import obligation_flows

# --- waterfall -----------------------------------------------------------------------------------------


def waterfall(*, start: str, end: str, currency: str) -> dict:
    """Revenue waterfall: billed month (rows) × recognized month (columns). See WATERFALL_BASIS."""
    start, end = parse_range(start, end)
    months = months_between(start, end)
    index = {p: i for i, p in enumerate(months)}

    def row_key(period):
        return "before" if period < start else period

    # Merge every obligation's attribution by (billed period, recognized period) first: a few hundred
    # keys, whatever the number of obligations.
    cells: dict[tuple[str, str], int] = defaultdict(int)
    deferred: dict[str, int] = defaultdict(int)
    unbilled: dict[str, int] = defaultdict(int)
    for item in obligation_flows(currency=currency, end=end):
        for key, amount in item.cells.items():
            cells[key] += amount
        for bp, amount in item.deferred_by_billed().items():
            deferred[bp] += amount
        for rp, amount in item.unbilled_by_recognized().items():
            unbilled[rp] += amount

    rows: dict[str, dict] = {}

    def row(key):
        if key not in rows:
            rows[key] = {"before": 0, "cells": [0] * len(months), "deferred": 0, "total": 0}
        return rows[key]

    def put(target, rp, amount):
        if rp < start:
            target["before"] += amount
        else:
            target["cells"][index[rp]] += amount
        target["total"] += amount

    for (bp, rp), amount in cells.items():
        put(row(row_key(bp)), rp, amount)
    for bp, amount in deferred.items():
        target = row(row_key(bp))
        target["deferred"] += amount
        target["total"] += amount
    for rp, amount in unbilled.items():
        put(row("unbilled"), rp, amount)

    out_rows = []
    order = (["before"] if "before" in rows else []) + months + ["unbilled"]
    for key in order:
        r = rows.get(key) or {"before": 0, "cells": [0] * len(months), "deferred": 0, "total": 0}
        label = (
            f"Billed before {start}" if key == "before" else "Not yet billed" if key == "unbilled" else key
        )
        out_rows.append(
            {
                "billed_period": key,
                "label": label,
                "recognized_before": from_minor(r["before"], currency),
                "cells": [
                    {"period": p, "amount": from_minor(a, currency)}
                    for p, a in zip(months, r["cells"], strict=True)
                ],
                "deferred": from_minor(r["deferred"], currency),
                "total": from_minor(r["total"], currency),
            }
        )
    totals = {
        "recognized_before": sum((r["recognized_before"] for r in out_rows), ZERO),
        "cells": [
            {"period": p, "amount": sum((r["cells"][i]["amount"] for r in out_rows), ZERO)}
            for i, p in enumerate(months)
        ],
        "deferred": sum((r["deferred"] for r in out_rows), ZERO),
        "total": sum((r["total"] for r in out_rows), ZERO),
    }
    in_range = [r for r in out_rows if r["billed_period"] in index]
    return {
        "start": start,
        "end": end,
        "currency": currency,
        "basis": WATERFALL_BASIS,
        "months": months,
        "rows": out_rows,
        "totals": totals,
        "billed_in_range": sum((r["total"] for r in in_range), ZERO),
        "recognized_in_range": sum((c["amount"] for c in totals["cells"]), ZERO),
    }


# --- deferred revenue rollforward ------------------------------------------------------------------------


def deferred_rollforward(*, period: str, currency: str) -> dict:
    """Opening + billed − recognized = closing, per contract and in total. See ROLLFORWARD_BASIS."""
    period = parse_period(period)
    position, revenue = _account_ids(POSITION_ROLES), _account_ids(REVENUE_ROLES)
    net = F("credit") - F("debit")
    in_position = Q(account_id__in=position)
    this_period = Q(entry__period=period)
    rows = (
        JournalLine.objects.filter(entry__currency=currency, entry__period__lte=period)
        .filter(Q(account_id__in=position) | Q(account_id__in=revenue, entry__period=period))
        .values("contract_id")
        .annotate(
            opening=Sum(net, filter=in_position & Q(entry__period__lt=period)),
            billed=Sum(net, filter=in_position & this_period & Q(entry__source_type__in=BILLING_SOURCES)),
            recognized=Sum(net, filter=Q(account_id__in=revenue) & this_period),
            ledger_closing=Sum(net, filter=in_position),
        )
    )
    contracts = _contract_labels({r["contract_id"] for r in rows if r["contract_id"]})
    by_contract = []
    totals = defaultdict(lambda: ZERO)
    for r in rows:
        values = {k: _q(r[k], currency) for k in ("opening", "billed", "recognized", "ledger_closing")}
        if not any(values.values()):
            continue
        closing = values["opening"] + values["billed"] - values["recognized"]
        label = contracts.get(
            r["contract_id"], {"number": "(no contract)", "customer": "", "customer_id": None}
        )
        by_contract.append(
            {
                "contract": r["contract_id"],
                "number": label["number"],
                "customer": label["customer"],
                "customer_id": label["customer_id"],
                "opening": values["opening"],
                "billed": values["billed"],
                "recognized": values["recognized"],
                "closing": closing,
                "ledger_closing": values["ledger_closing"],
                "ties": closing == values["ledger_closing"],
                "position": "liability" if closing > 0 else "asset" if closing < 0 else "none",
                "contract_liability": max(closing, ZERO),
                "contract_asset": max(-closing, ZERO),
            }
        )
        for k in ("opening", "billed", "recognized", "ledger_closing"):
            totals[k] += values[k]
        totals["assets"] += max(-closing, ZERO)
        totals["liabilities"] += max(closing, ZERO)
    by_contract.sort(key=lambda c: (c["number"] or "", c["contract"] or 0))
    closing = totals["opening"] + totals["billed"] - totals["recognized"]
    gross = (
        JournalLine.objects.filter(
            entry__currency=currency, entry__period__lte=period, account_id__in=position
        )
        .values("account__role")
        .annotate(c=Sum("credit"), d=Sum("debit"))
    )
    gross_by_role = {g["account__role"]: _net(g) for g in gross}
    return {
        "period": period,
        "currency": currency,
        "basis": ROLLFORWARD_BASIS,
        "opening": totals["opening"],
        "billed": totals["billed"],
        "recognized": totals["recognized"],
        "closing": closing,
        "contract_assets": totals["assets"],
        "contract_liabilities": totals["liabilities"],
        "tie_out": {
            "computed_closing": closing,
            "ledger_closing": totals["ledger_closing"],
            "difference": totals["ledger_closing"] - closing,
            "ties": closing == totals["ledger_closing"]
            and totals["liabilities"] - totals["assets"] == closing
            and all(c["ties"] for c in by_contract),
        },
        "ledger_accounts": {
            "deferred": _q(gross_by_role.get("deferred", ZERO), currency),
            "unbilled": _q(-gross_by_role.get("unbilled", ZERO), currency),
        },
        "by_contract": by_contract,
    }


def _contract_labels(ids) -> dict[int, dict]:
    from billing.contracts.models import Contract

    return {
        pk: {"number": number, "customer": name, "customer_id": cid}
        for pk, number, name, cid in Contract.objects.filter(pk__in=list(ids)).values_list(
            "pk", "number", "customer__name", "customer_id"
        )
    }


# --- unbilled receivables ----------------------------------------------------------------------------------


def _age_bucket(days: int) -> str:
    if days <= 30:
        return AGE_BUCKETS[0]
    if days <= 60:
        return AGE_BUCKETS[1]
    if days <= 90:
        return AGE_BUCKETS[2]
    return AGE_BUCKETS[3]


def unbilled_receivables(*, period: str, currency: str) -> dict:
    """Recognized − billed where positive, per contract and PO, aged. See UNBILLED_BASIS."""
    period = parse_period(period)
    as_of = last_day(period)
    flows = obligation_flows(currency=currency, end=add_months(period, 1))
    contracts = _contract_labels({f.contract_id for f in flows if f.contract_id})
    rows = []
    buckets_total = {b: 0 for b in AGE_BUCKETS}
    for item in flows:
        pieces = item.unbilled_by_recognized()
        amount = from_minor(sum(pieces.values()), currency)
        if amount <= 0:
            continue
        buckets = {b: 0 for b in AGE_BUCKETS}
        for rp, piece in pieces.items():
            buckets[_age_bucket((as_of - last_day(rp)).days)] += piece
        oldest = min(rp for rp, piece in pieces.items() if piece > 0)
        label = contracts.get(
            item.contract_id, {"number": "(no contract)", "customer": "", "customer_id": None}
        )
        rows.append(
            {
                "contract": item.contract_id,
                "number": label["number"],
                "customer": label["customer"],
                "po_key": item.key or "(no obligation)",
                "product": item.product,
                "recognized": from_minor(sum(item.recognized.values()), currency),
                "billed": from_minor(sum(item.billed.values()), currency),
                "amount": amount,
                "oldest_period": oldest,
                "age_days": (as_of - last_day(oldest)).days,
                "buckets": [{"label": b, "amount": from_minor(buckets[b], currency)} for b in AGE_BUCKETS],
            }
        )
        for b in AGE_BUCKETS:
            buckets_total[b] += buckets[b]
    rows.sort(key=lambda r: (-r["age_days"], r["number"], r["po_key"]))
    total = sum((r["amount"] for r in rows), ZERO)
    billed_ahead = from_minor(sum(sum(f.deferred_by_billed().values()) for f in flows), currency)
    totals = JournalLine.objects.filter(
        entry__currency=currency, entry__period__lte=period, account_id__in=_account_ids(POSITION_ROLES)
    ).aggregate(
        uc=Sum("credit", filter=Q(account__role="unbilled")),
        ud=Sum("debit", filter=Q(account__role="unbilled")),
        dc=Sum("credit", filter=Q(account__role="deferred")),
        dd=Sum("debit", filter=Q(account__role="deferred")),
    )
    ledger_unbilled = _q(-_net(totals, "uc", "ud"), currency)
    ledger_deferred = _q(_net(totals, "dc", "dd"), currency)
    # Σ per obligation (unbilled − billed ahead) = recognized − billed = −(net contract position): this
    # always ties to the ledger. The 1200 account alone equals the unbilled total only when every
    # recognition was posted before the invoices of later periods (otherwise part of the asset sits
    # as a debit on 2100 at period end: a reclassification, the net position is the same).
    return {
        "period": period,
        "as_of": as_of,
        "currency": currency,
        "basis": UNBILLED_BASIS,
        "total": total,
        "billed_ahead": billed_ahead,
        "net": total - billed_ahead,
        "buckets": [{"label": b, "amount": from_minor(buckets_total[b], currency)} for b in AGE_BUCKETS],
        "ledger_balance": ledger_unbilled,
        "ledger_deferred": ledger_deferred,
        "ledger_net": ledger_unbilled - ledger_deferred,
        "ties": total - billed_ahead == ledger_unbilled - ledger_deferred,
        "matches_unbilled_account": total == ledger_unbilled,
        "rows": rows,
    }


# --- remaining performance obligations -------------------------------------------------------------------


def rpo_band(as_of: date, period: str) -> str:
    months = _index(period) - _index(period_of(as_of))
    if months <= 12:
        return RPO_BANDS[0]
    if months <= 24:
        return RPO_BANDS[1]
    return RPO_BANDS[2]


def rpo(*, as_of: date, currency: str) -> dict:
    """Remaining performance obligations, banded. See RPO_BASIS."""
    fixed_active = Q(
        schedule__status=RevenueSchedule.Status.APPROVED,
        schedule__obligation__status=PerformanceObligation.Status.ACTIVE,
        schedule__obligation__variable=False,
        schedule__currency=currency,
    )
    remaining = (
        ScheduleLine.objects.filter(fixed_active)
        .filter(Q(posted_entry__isnull=True) | Q(posted_entry__date__gt=as_of))
        .values("schedule__obligation__contract_id", "period")
        .annotate(s=Sum("amount"))
    )
    per_contract: dict[int, dict[str, Decimal]] = defaultdict(lambda: {b: ZERO for b in RPO_BANDS})
    for r in remaining:
        per_contract[r["schedule__obligation__contract_id"]][rpo_band(as_of, r["period"])] += r["s"] or ZERO
    labels = _contract_labels(per_contract)
    by_contract = []
    bands = {b: ZERO for b in RPO_BANDS}
    for contract_id, amounts in per_contract.items():
        rounded = {b: _q(amounts[b], currency) for b in RPO_BANDS}
        total = sum(rounded.values(), ZERO)
        if not total:
            continue
        label = labels.get(contract_id, {"number": str(contract_id), "customer": "", "customer_id": None})
        by_contract.append(
            {
                "contract": contract_id,
                "number": label["number"],
                "customer": label["customer"],
                "total": total,
                "bands": [{"label": b, "amount": rounded[b]} for b in RPO_BANDS],
            }
        )
        for b in RPO_BANDS:
            bands[b] += rounded[b]
    by_contract.sort(key=lambda c: c["number"])
    active = PerformanceObligation.objects.filter(
        status=PerformanceObligation.Status.ACTIVE, currency=currency
    )
    pending = (
        active.filter(variable=False)
        .exclude(schedules__status=RevenueSchedule.Status.APPROVED)
        .aggregate(n=Count("id"), s=Sum("allocated_amount"))
    )
    return {
        "as_of": as_of,
        "currency": currency,
        "basis": RPO_BASIS,
        "total": sum(bands.values(), ZERO),
        "bands": [{"label": b, "amount": bands[b]} for b in RPO_BANDS],
        "by_contract": by_contract,
        "excluded": {
            "usage_obligations": active.filter(variable=True).count(),
            "awaiting_approval_obligations": pending["n"] or 0,
            "awaiting_approval_amount": _q(pending["s"] or ZERO, currency),
        },
    }


# --- revenue by product / customer ------------------------------------------------------------------------


def revenue_by(*, start: str, end: str, group_by: str, currency: str) -> dict:
    """Recognized revenue in [start, end) grouped by product or customer. See REVENUE_BASIS."""
    start, end = parse_range(start, end)
    if group_by not in ("product", "customer"):
        raise ValidationFailed("group_by must be 'product' or 'customer'.", field="group_by")
    revenue, contra = _account_ids(REVENUE_ROLES), _account_ids(CONTRA_ROLES)
    qs = JournalLine.objects.filter(
        entry__currency=currency,
        entry__period__gte=start,
        entry__period__lt=end,
        account_id__in=revenue + contra,
    )
    key = "product_id" if group_by == "product" else "contract__customer_id"
    rows = qs.values(key).annotate(
        rc=Sum("credit", filter=Q(account_id__in=revenue)),
        rd=Sum("debit", filter=Q(account_id__in=revenue)),
        cc=Sum("credit", filter=Q(account_id__in=contra)),
        cd=Sum("debit", filter=Q(account_id__in=contra)),
    )
    rows = list(rows)
    ids = [r[key] for r in rows if r[key]]
    if group_by == "product":
        from revops.parties.models import Product

        names = {
            pk: (code, name)
            for pk, code, name in Product.objects.filter(pk__in=ids).values_list("pk", "code", "name")
        }
    else:
        from revops.parties.models import Customer

        names = {
            pk: (ext, name)
            for pk, ext, name in Customer.objects.filter(pk__in=ids).values_list("pk", "external_id", "name")
        }
    groups = []
    for r in rows:
        recognized = _q(_net(r, "rc", "rd"), currency)
        contra_amt = _q(-_net(r, "cc", "cd"), currency)
        code, name = names.get(r[key], ("", f"(no {group_by})"))
        groups.append(
            {
                "id": r[key],
                "code": code,
                "name": name,
                "recognized": recognized,
                "contra": contra_amt,
                "net": recognized - contra_amt,
            }
        )
    groups = [g for g in groups if g["recognized"] or g["contra"]]
    groups.sort(key=lambda g: (-g["net"], g["name"]))
    total_net = sum((g["net"] for g in groups), ZERO)
    for g in groups:
        g["share"] = (g["net"] * 100 / total_net).quantize(Decimal("0.1")) if total_net else None
    return {
        "start": start,
        "end": end,
        "group_by": group_by,
        "currency": currency,
        "basis": REVENUE_BASIS,
        "groups": groups,
        "recognized": sum((g["recognized"] for g in groups), ZERO),
        "contra": sum((g["contra"] for g in groups), ZERO),
        "net": total_net,
    }
