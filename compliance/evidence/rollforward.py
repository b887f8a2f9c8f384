"""The deferred revenue rollforward the evidence pack carries (rollforward.csv), read from the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from django.db.models import Q, Sum

from revops.money import stored_sum

ZERO = Decimal(0)
BALANCE_ROLES = ["deferred", "unbilled"]
COLUMNS = ("opening", "billed", "recognized", "closing")


def _net(credit, debit) -> Decimal:
    """Credits less debits of a group; 0 when the group has no line (its sums are NULL)."""
    if credit is None and debit is None:
        return ZERO
    return stored_sum(credit) - stored_sum(debit)


class Rollforward:
    """Deferred revenue rollforward from the ledger: per contract, the contract balance (deferred credit
    minus unbilled debit) at the period's start and end, billed and recognized in between. ``rows``
    streams the contracts from one grouped query (in contract order); ``totals`` is their sum, added up
    as they pass."""

    def __init__(self) -> None:
        self.total = dict.fromkeys(COLUMNS, ZERO)

    def rows(self, period: str) -> Iterator[dict]:
        from revrec.models import JournalLine

        before = Q(entry__period__lt=period)
        billed = Q(entry__period=period) & ~Q(entry__source="recognition")
        recognized = Q(entry__period=period, entry__source="recognition")
        grouped = (
            JournalLine.objects.filter(account__role__in=BALANCE_ROLES, entry__period__lte=period)
            .values("contract_id", "contract__number")
            .annotate(
                oc=Sum("credit", filter=before),
                od=Sum("debit", filter=before),
                cc=Sum("credit"),
                cd=Sum("debit"),
                bc=Sum("credit", filter=billed),
                bd=Sum("debit", filter=billed),
                rc=Sum("credit", filter=recognized),
                rd=Sum("debit", filter=recognized),
            )
            .order_by("contract_id")
        )
        for g in grouped.iterator(chunk_size=2000):
            o, b, r, c = (
                _net(g["oc"], g["od"]),
                _net(g["bc"], g["bd"]),
                -_net(g["rc"], g["rd"]),
                _net(g["cc"], g["cd"]),
            )
            row = {
                "contract": g["contract__number"] if g["contract_id"] is not None else None,
                "opening": o,
                "billed": b,
                "recognized": r,
                "closing": c,
                "ties": o + b - r == c,
            }
            for k in COLUMNS:
                self.total[k] += row[k]
            yield row

    def totals(self) -> dict:
        total = self.total
        return {
            **total,
            "ties": total["opening"] + total["billed"] - total["recognized"] == total["closing"],
        }


def rollforward(period: str) -> dict:
    """The whole rollforward as one document (per contract in ``by_contract``, and the totals)."""
    roll = Rollforward()
    rows = list(roll.rows(period))
    return {**roll.totals(), "by_contract": rows}
