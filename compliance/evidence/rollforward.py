"""The deferred revenue rollforward the evidence pack carries (rollforward.csv), read from the ledger."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from revops.money import stored_sum

ZERO = Decimal(0)


def rollforward(period: str) -> dict:
    """Deferred revenue rollforward from the ledger: per contract, the contract balance (deferred
    credit minus unbilled debit) at the period's start and end, billed and recognized in between."""
    from revrec.models import JournalLine

    def by_contract(qs):
        out = {}
        for row in qs.values("contract_id").annotate(d=Sum("debit"), c=Sum("credit")):
            out[row["contract_id"]] = stored_sum(row["c"]) - stored_sum(row["d"])
        return out

    balance_roles = ["deferred", "unbilled"]
    opening = by_contract(
        JournalLine.objects.filter(account__role__in=balance_roles, entry__period__lt=period)
    )
    closing = by_contract(
        JournalLine.objects.filter(account__role__in=balance_roles, entry__period__lte=period)
    )
    billed = by_contract(
        JournalLine.objects.filter(account__role__in=balance_roles, entry__period=period).exclude(
            entry__source="recognition"
        )
    )
    recognized = by_contract(
        JournalLine.objects.filter(
            account__role__in=balance_roles, entry__period=period, entry__source="recognition"
        )
    )
    from billing.contracts.models import Contract

    numbers = dict(Contract.objects.filter(pk__in=set(closing) | set(opening)).values_list("pk", "number"))
    rows = []
    for cid in sorted(set(opening) | set(closing)):
        o, b, r, c = (
            opening.get(cid, ZERO),
            billed.get(cid, ZERO),
            -recognized.get(cid, ZERO),
            closing.get(cid, ZERO),
        )
        rows.append(
            {
                "contract": numbers.get(cid, cid),
                "opening": o,
                "billed": b,
                "recognized": r,
                "closing": c,
                "ties": o + b - r == c,
            }
        )
    total = {k: sum((row[k] for row in rows), ZERO) for k in ("opening", "billed", "recognized", "closing")}
    return {
        **total,
        "ties": total["opening"] + total["billed"] - total["recognized"] == total["closing"],
        "by_contract": rows,
    }
