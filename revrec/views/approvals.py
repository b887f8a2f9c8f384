"""What approving a revenue request would do, shown under it in the one approval queue
(compliance/views/approvals.py): a schedule's months against the approved version, a contract
modification's treatments side by side. Registered in revrec/registrations.py."""

from __future__ import annotations

from decimal import Decimal

from revrec.models import RevenueSchedule
from revrec.views.display import ZERO, Amt


def schedule_previews(approvals) -> dict[int, dict]:
    """{approval pk: preview} for revenue-schedule requests."""
    by_schedule = {int(a.object_id): a.pk for a in approvals if a.object_id.isdigit()}
    ids = list(by_schedule)
    schedules = (
        RevenueSchedule.objects.filter(pk__in=ids)
        .select_related("obligation__contract__customer", "obligation__product", "prepared_by")
        .prefetch_related("lines")
    )
    previous = {
        s.obligation_id: {ln.period: ln.amount for ln in s.lines.all()}
        for s in RevenueSchedule.objects.filter(
            obligation_id__in=[s.obligation_id for s in schedules], status=RevenueSchedule.Status.APPROVED
        ).prefetch_related("lines")
    }
    out = {}
    for s in schedules:
        c = s.currency
        before = previous.get(s.obligation_id, {})
        periods = sorted({ln.period for ln in s.lines.all()} | set(before))
        amounts = {ln.period: ln.amount for ln in s.lines.all()}
        out[by_schedule[s.pk]] = {
            "schedule": s,
            "amount": Amt(s.amount, c),
            "has_previous": bool(before),
            "lines": [
                {
                    "period": p,
                    "amount": Amt(amounts.get(p, ZERO), c, quiet_zero=True),
                    "previous": Amt(before.get(p, ZERO), c, quiet_zero=True),
                    "change": Amt(amounts.get(p, ZERO) - before.get(p, ZERO), c, quiet_zero=True),
                }
                for p in periods
            ],
        }
    return out


OPTION_LABELS = {
    "separate_contract": "Separate",
    "prospective": "Prospective",
    "cumulative_catch_up": "Catch-up",
}


def modification_previews(approvals) -> dict[int, dict]:
    """Contract modifications: the three treatments side by side (from the stored analysis) — each
    one's allocation per obligation and the catch-up it books in the modification's period, whether it
    applies at all, and which one the standard requires (accounting.md §10)."""
    from revrec.models import ContractModification

    wanted = {
        int(a.object_id): a.pk
        for a in approvals
        if a.object_type == "revrec.contractmodification" and a.object_id.isdigit()
    }
    out = {}
    for m in ContractModification.objects.filter(pk__in=wanted).select_related("contract"):
        analysis = m.analysis or {}
        c = m.contract.currency
        treatments = analysis.get("treatments") or {
            k: {"applicable": True}
            for k in OPTION_LABELS
            if any(k in (o.get("options") or {}) for o in analysis.get("obligations", []))
        }
        options = [k for k in OPTION_LABELS if k in treatments]

        def amt(value, c=c):
            try:
                return Amt(Decimal(str(value)), c)
            except (ArithmeticError, ValueError, TypeError):
                return "—"

        columns = [
            {
                "key": k,
                "label": OPTION_LABELS[k],
                "applicable": treatments[k].get("applicable", True),
                "note": treatments[k].get("note", ""),
                "proposed": k == m.proposed_treatment,
                "chosen": k == m.chosen_treatment,
                "total": amt(treatments[k]["total"]) if "total" in treatments[k] else "—",
            }
            for k in options
        ]

        def cells(o, columns=columns):
            row = []
            for col in columns:
                option = (o.get("options") or {}).get(col["key"])
                if not col["applicable"] or option is None:
                    row.append({"allocation": "n/a", "adjustment": "", "applicable": False})
                    continue
                adjustment = Decimal(str(option.get("adjustment") or 0))
                row.append(
                    {
                        "allocation": amt(option.get("allocation", o.get("new_allocation", 0))),
                        "adjustment": amt(adjustment) if adjustment else "",
                        "applicable": True,
                        "proposed": col["proposed"],
                    }
                )
            return row

        out[wanted[m.pk]] = {
            "contract_id": m.contract_id,
            "contract_number": m.contract.number,
            "effective_date": m.effective_date,
            "reason": m.reason,
            "proposed_label": m.get_proposed_treatment_display(),
            "chosen_label": m.get_chosen_treatment_display(),
            "option_labels": [OPTION_LABELS[k] for k in options],
            "columns": columns,
            "price_from": amt((analysis.get("transaction_price") or {}).get("from")),
            "price_to": amt((analysis.get("transaction_price") or {}).get("to")),
            "obligations": [
                {
                    "key": o.get("key", "?"),
                    "new": o.get("new", False),
                    "removed": o.get("removed", False),
                    "satisfied": o.get("satisfied", False),
                    "series": o.get("series", False),
                    "old": amt(o.get("old_allocation", 0)),
                    "new_allocation": amt(o.get("new_allocation", 0)),
                    "recognized": amt(o.get("recognized_to_date", 0)),
                    "kept": amt(o.get("satisfied_to_date", o.get("recognized_to_date", 0))),
                    "cells": cells(o),
                    "adjustments": [c["adjustment"] or amt(0) for c in cells(o)],
                }
                for o in analysis.get("obligations", [])
            ],
        }
    return out


def estimate_previews(approvals) -> dict[int, dict]:
    """Variable-consideration re-estimates: the estimate and constrained amount now and after approval,
    and what approving would do to each obligation — its share of the change, allocation before →
    after and the catch-up recognized at once (computed now, without writing anything)."""
    from datetime import date

    from billing.contracts.models import Contract
    from billing.contracts.variable import variable_terms
    from revops.errors import DomainError
    from revrec.services.estimates import estimate_plan

    out = {}
    for approval in approvals:
        payload = approval.payload or {}
        previous = payload.get("previous") or {}
        contract = (
            Contract.objects.filter(pk=int(approval.object_id)).first()
            if approval.object_id.isdigit()
            else None
        )
        p = {
            "contract": contract,
            "line": payload.get("line"),
            "as_of": payload.get("as_of"),
            "method_before": previous.get("method") or "—",
            "method_after": payload.get("method"),
            "estimate_before": previous.get("estimate") or "—",
            "estimate_after": payload.get("estimate"),
            "constrained_before": previous.get("constrained"),
            "constrained_after": payload.get("constrained"),
            "reason": payload.get("reason"),
            "rows": [],
            "error": "",
        }
        if contract is not None:
            c = contract.currency
            revisions = list(contract.lines.filter(key=payload.get("line")).order_by("revision"))
            try:
                terms = variable_terms(revisions) or revisions[-1]
                plan = estimate_plan(
                    contract=contract,
                    terms=terms,
                    constrained=Decimal(payload["constrained"]),
                    as_of=date.fromisoformat(payload["as_of"]),
                )
            except (DomainError, IndexError, KeyError, ValueError) as exc:
                p["error"] = getattr(exc, "detail", "") or str(exc)
            else:
                p["change"] = Amt(plan["change"], c)
                p["price_before"] = Amt(contract.transaction_price, c)
                p["price_after"] = Amt(contract.transaction_price + plan["change"], c)
                p["rows"] = [
                    {
                        "key": row["po"].key,
                        "basis": row["basis"],
                        "share": Amt(row["share"], c),
                        "before": Amt(row["before"], c),
                        "after": Amt(row["after"], c),
                        "catch_up": Amt(row["at_once"], c, quiet_zero=True),
                        "catch_up_period": row["catch_up_period"],
                    }
                    for row in plan["rows"]
                ]
        out[approval.pk] = p
    return out


def expected_costs_previews(approvals) -> dict[int, dict]:
    """Total expected costs of an input-method obligation: before → after, progress before → after and
    the cumulative catch-up approving would recognize (computed now, without writing anything)."""
    from revrec.models import PerformanceObligation
    from revrec.services.progress import expected_costs_plan

    out = {}
    for approval in approvals:
        payload = approval.payload or {}
        po = (
            PerformanceObligation.objects.select_related("contract")
            .filter(pk=int(approval.object_id))
            .first()
            if approval.object_id.isdigit()
            else None
        )
        p = {"po": po, "payload": payload, "plan": None}
        if po is not None and payload.get("amount"):
            plan = expected_costs_plan(po, expected_total=Decimal(payload["amount"]))
            c = po.currency
            p["plan"] = {
                **plan,
                "allocated": Amt(po.allocated_amount, c),
                "catch_up": Amt(plan["catch_up"], c, quiet_zero=True),
            }
        out[approval.pk] = p
    return out
