"""What a customer reads about a line or an invoice, the same on the page and in the documents (pure:
no database, no clock — the caller passes "today")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

END_EXCLUSIVE = "end exclusive"
_PRORATED = re.compile(r"^Prorated (\d+)/(\d+) days$")


def proration_note(*, kind: str, breakdown: Iterable, service_start: date, service_end: date) -> str:
    """How a prorated line was computed, or "": a fee charged for part of its period says
    "Prorated: 26 of 30 days"; an amendment's credit for time no longer used says how many days it
    covers ("Prorated: 12 unused days")."""
    for step in breakdown or ():
        found = _PRORATED.match(str(step.get("description", "")) if isinstance(step, dict) else "")
        if found:
            return f"Prorated: {found.group(1)} of {found.group(2)} days"
    if kind == "proration" and service_end > service_start:
        days = (service_end - service_start).days
        return f"Prorated: {days} unused day{'s' if days != 1 else ''}"
    return ""


def overdue_days(*, status: str, due_date: date | None, balance_due, today: date) -> int:
    """Days past its due date of an issued invoice with something still to pay (0 when it is not
    overdue: paid, void, a draft, nothing owed, or not due yet)."""
    if status != "finalized" or due_date is None or balance_due <= 0 or today <= due_date:
        return 0
    return (today - due_date).days
