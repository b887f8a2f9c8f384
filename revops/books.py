"""The books as the kernel and billing see them, without importing revrec (house style: dependency
direction ``revops`` ← ``billing`` ← ``revrec``).

Revrec owns the ledger (accounts, accounting periods, journal entries). At app ready it registers the
answers to the few questions the layers below must ask to enforce a control:

- which day the latest closed accounting period ends on (a price version may not take effect in it);
- what type an account code is (a product's revenue maps only to a revenue account);
- whether a product already has postings (changing its mapping then needs an approver).

With no provider registered (revrec not installed) nothing is closed, no account is known and no
product has postings."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from revops.errors import FieldError

REVENUE = "revenue"
# A code not in the chart yet may be mapped only if it is a revenue sub-account number (4000–4799):
# it is created as a revenue account on first posting. 4800–4999 are breakage and contra revenue.
NEW_REVENUE_CODE = re.compile(r"^4[0-7][0-9]{2}$")


@dataclass(frozen=True)
class Books:
    closed_through: Callable[[], date | None]
    account: Callable[[str], tuple[str, str] | None]  # code -> (type, name) or None
    product_has_postings: Callable[[object], bool]
    lock_for_posting: Callable[[], None] | None = None


_BOOKS: Books | None = None


def register_books(
    *,
    closed_through: Callable[[], date | None],
    account: Callable[[str], tuple[str, str] | None],
    product_has_postings: Callable[[object], bool],
    lock_for_posting: Callable[[], None] | None = None,
) -> None:
    global _BOOKS
    _BOOKS = Books(closed_through, account, product_has_postings, lock_for_posting)


def lock_for_posting() -> None:
    """Take the accounting-period lock up front in a transaction that will post (and audit): call it
    right after the document rows and counters it locks, before anything audits. Lock order
    (docs/architecture.md, "Lock order"): invoice rows → document counter → accounting period →
    audit chain head. No provider registered: nothing to lock."""
    if _BOOKS and _BOOKS.lock_for_posting:
        _BOOKS.lock_for_posting()


def closed_through() -> date | None:
    """The last day of the latest closed accounting period (None when nothing is closed)."""
    return _BOOKS.closed_through() if _BOOKS else None


def in_closed_period(day: date) -> bool:
    """True when ``day`` is on or before the end of the latest closed period: what is closed stays
    closed, so nothing may take effect there (an earlier period that was never closed is behind a
    closed one and counts as closed too)."""
    end = closed_through()
    return end is not None and day <= end


def posting_period_for(day: date) -> tuple[str, str]:
    """(period a posting dated ``day`` goes into, the closed period it corrects or ""): a day on or
    before the end of the latest closed period posts into the first open period (the month after) as
    a correction for its own period (accounting.md §9)."""
    own = f"{day.year:04d}-{day.month:02d}"
    end = closed_through()
    if end is None or day > end:
        return own, ""
    after = date(end.year + end.month // 12, end.month % 12 + 1, 1)
    return f"{after.year:04d}-{after.month:02d}", own


def account_info(code: str) -> tuple[str, str] | None:
    return _BOOKS.account(code) if _BOOKS else None


def product_has_postings(product) -> bool:
    return bool(_BOOKS and product.pk and _BOOKS.product_has_postings(product))


def revenue_account_errors(code, field: str = "revenue_account") -> list[FieldError]:
    """Why ``code`` cannot be a product's revenue account ([] when it can): it must be a revenue-type
    account in the chart, or a new revenue sub-account number (4000–4799) not yet in the chart."""
    code = str(code or "").strip()
    if not code:
        return [FieldError(field, "A revenue account code is required.")]
    info = account_info(code)
    if info is not None:
        kind, name = info
        if kind != REVENUE:
            label = kind.replace("_", " ")
            return [
                FieldError(
                    field,
                    f"Account {code} ({name}) is a{'n' if label[0] in 'aeiou' else ''} {label} account; "
                    "a product's revenue maps only to a revenue account.",
                )
            ]
        return []
    if not NEW_REVENUE_CODE.match(code):
        return [
            FieldError(
                field,
                f"There is no account {code}. Use a revenue account of the chart, or a new revenue "
                "sub-account number from 4000 to 4799.",
            )
        ]
    return []
