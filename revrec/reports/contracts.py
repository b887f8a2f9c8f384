"""Per contract and per obligation: the contract revenue tab, the overview's balances and the
headline figures."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import F, Q, Sum

from revrec.models import JournalLine, PerformanceObligation
from revrec.reports.common import BILLING_SOURCES, POSITION_ROLES, REVENUE_ROLES, ZERO, _account_ids, _net

# --- contract revenue tab and overview ---------------------------------------------------------------------


def billed_by_obligation(po_ids) -> dict[int, Decimal]:
    rows = (
        JournalLine.objects.filter(
            obligation_id__in=list(po_ids),
            account__role__in=POSITION_ROLES,
            entry__source_type__in=BILLING_SOURCES,
        )
        .values("obligation_id")
        .annotate(c=Sum("credit"), d=Sum("debit"))
    )
    return {r["obligation_id"]: _net(r) for r in rows}


def contract_balances(contract_ids) -> dict[int, dict[str, Decimal]]:
    """Per contract: recognized to date, billed, deferred, unbilled (ledger, all periods)."""
    rows = (
        JournalLine.objects.filter(contract_id__in=list(contract_ids))
        .values("contract_id")
        .annotate(
            rec=Sum(F("credit") - F("debit"), filter=Q(account__role__in=REVENUE_ROLES)),
            billed=Sum(
                F("credit") - F("debit"),
                filter=Q(account__role__in=POSITION_ROLES, entry__source_type__in=BILLING_SOURCES),
            ),
            deferred=Sum(F("credit") - F("debit"), filter=Q(account__role="deferred")),
            unbilled=Sum(F("debit") - F("credit"), filter=Q(account__role="unbilled")),
        )
    )
    return {
        r["contract_id"]: {k: r[k] or ZERO for k in ("rec", "billed", "deferred", "unbilled")} for r in rows
    }


def contract_revenue_detail(contract) -> dict:
    """Everything the contract revenue tab shows, from revrec.selectors and the ledger."""
    from revops.core.approvals.models import Approval
    from revrec.selectors import current_schedule, obligations_of, po_balances

    currency = contract.currency
    all_pos = list(obligations_of(contract, active_only=False))
    active = [po for po in all_pos if po.status == PerformanceObligation.Status.ACTIVE]
    balances = po_balances([po.pk for po in all_pos])
    billed = billed_by_obligation([po.pk for po in all_pos])
    schedules = {po.pk: current_schedule(po) for po in active}
    rows = []
    for po in active:
        bal = balances.get(po.pk, {})
        rows.append(
            {
                "po": po,
                "line_keys": sorted({ln.key for ln in po.lines.all()}),
                "recognized": -bal.get("revenue", ZERO),
                "billed": billed.get(po.pk, ZERO),
                "deferred": -bal.get("deferred", ZERO),
                "unbilled": bal.get("unbilled", ZERO),
                "schedule": schedules[po.pk],
            }
        )
    # Schedule by month: the current schedule of each fixed PO (✓ = posted) next to what the ledger
    # recognized in the month (fixed and usage obligations apart).
    fixed = [r for r in rows if not r["po"].variable]
    variable_ids = {po.pk for po in all_pos if po.variable}
    ledger_by_period: dict[str, dict[str, Decimal]] = defaultdict(lambda: {"fixed": ZERO, "usage": ZERO})
    for r in (
        JournalLine.objects.filter(
            obligation_id__in=[po.pk for po in all_pos], account__role__in=REVENUE_ROLES
        )
        .values("obligation_id", "entry__period")
        .annotate(c=Sum("credit"), d=Sum("debit"))
    ):
        kind = "usage" if r["obligation_id"] in variable_ids else "fixed"
        ledger_by_period[r["entry__period"]][kind] += _net(r)
    line_maps = [{ln.period: ln for ln in r["schedule"].lines.all()} if r["schedule"] else {} for r in fixed]
    periods = sorted({p for m in line_maps for p in m} | set(ledger_by_period))
    months = []
    for period in periods:
        cells, scheduled, remaining = [], ZERO, ZERO
        for line_map in line_maps:
            line = line_map.get(period)
            posted = bool(line and line.posted_entry_id)
            cells.append({"line": line, "posted": posted})
            if line:
                scheduled += line.amount
                if not posted:
                    remaining += line.amount
        ledger = ledger_by_period.get(period, {"fixed": ZERO, "usage": ZERO})
        months.append(
            {
                "period": period,
                "cells": cells,
                "scheduled": scheduled,
                "recognized": ledger["fixed"],
                "usage": ledger["usage"],
                "remaining": remaining,
            }
        )
    schedule_ids = [s.pk for po in all_pos for s in po.schedules.all()]
    approvals = {}
    for a in (
        Approval.objects.filter(
            object_type="revrec.revenueschedule", object_id__in=[str(i) for i in schedule_ids]
        )
        .select_related("requested_by", "decided_by")
        .order_by("id")
    ):
        approvals[int(a.object_id)] = a
    versions = []
    for po in all_pos:
        for s in po.schedules.all():
            versions.append({"po": po, "schedule": s, "approval": approvals.get(s.pk)})
    totals = {
        "allocated": sum((r["po"].allocated_amount for r in fixed), ZERO),
        "recognized": sum((r["recognized"] for r in rows), ZERO),
        "billed": sum((r["billed"] for r in rows), ZERO),
        "deferred": sum((r["deferred"] for r in rows), ZERO),
        "unbilled": sum((r["unbilled"] for r in rows), ZERO),
        "scheduled": sum((m["scheduled"] for m in months), ZERO),
        "month_recognized": sum((m["recognized"] for m in months), ZERO),
        "usage": sum((m["usage"] for m in months), ZERO),
        "remaining": sum((m["remaining"] for m in months), ZERO),
    }
    superseded = [po for po in all_pos if po.status != PerformanceObligation.Status.ACTIVE]
    return {
        "contract": contract,
        "currency": currency,
        "rows": rows,
        "fixed": fixed,
        "months": months,
        "has_usage": bool(variable_ids),
        "versions": versions,
        "superseded": superseded,
        "totals": totals,
        "chart": {
            "labels": periods,
            "recognized": [str(m["recognized"]) for m in months],
            "usage": [str(m["usage"]) for m in months],
            "remaining": [str(m["remaining"]) for m in months],
        },
    }


def revenue_kpis(*, currency: str, period: str) -> dict:
    """Headline figures: recognized in the period and the year to date, deferred and unbilled balances."""
    revenue = _account_ids(REVENUE_ROLES)
    year_start = f"{period[:4]}-01"
    rec = JournalLine.objects.filter(
        entry__currency=currency,
        account_id__in=revenue,
        entry__period__gte=year_start,
        entry__period__lte=period,
    ).aggregate(
        m_c=Sum("credit", filter=Q(entry__period=period)),
        m_d=Sum("debit", filter=Q(entry__period=period)),
        y_c=Sum("credit"),
        y_d=Sum("debit"),
    )
    bal = JournalLine.objects.filter(
        entry__currency=currency, account__role__in=POSITION_ROLES, entry__period__lte=period
    ).aggregate(
        dc=Sum("credit", filter=Q(account__role="deferred")),
        dd=Sum("debit", filter=Q(account__role="deferred")),
        uc=Sum("credit", filter=Q(account__role="unbilled")),
        ud=Sum("debit", filter=Q(account__role="unbilled")),
    )
    last = (
        JournalLine.objects.filter(entry__currency=currency, account_id__in=revenue)
        .order_by("-entry__period")
        .values_list("entry__period", flat=True)
        .first()
    )
    return {
        "currency": currency,
        "period": period,
        "recognized_period": _net(rec, "m_c", "m_d"),
        "recognized_ytd": _net(rec, "y_c", "y_d"),
        "deferred": _net(bal, "dc", "dd"),
        "unbilled": -_net(bal, "uc", "ud"),
        "last_recognized_period": last,
    }
