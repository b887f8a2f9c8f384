"""Contract lifecycle work that falls due on a date: renewals, trial conversions, scheduled changes,
pauses that end (issue 17).

One entry point, :func:`contracts_apply_due`, runs every step in order for a date. The daily task
(``billing.apply_due_lifecycle``, before the daily billing run) calls it, and so does a billing run's
planning for the run's own date and customers, so a run is never wrong because the daily task has not
run yet.

A step is a service ``step(*, as_of: date, customers: list[str] | None) -> int`` (how many contracts it
changed) that finds its due rows set-based (never a loop over every contract), applies each in its
own transaction with its audit event, and is idempotent: a second call on the same date changes
nothing. Steps are named by dotted path in :data:`DUE_STEPS`, in the order they must run — a contract
renews before its new term's trial or scheduled change is looked at.
"""

from __future__ import annotations

import logging
from datetime import date

from django.utils.module_loading import import_string

log = logging.getLogger(__name__)

# In order. Each entry is the dotted path of a step (see the module docstring).
DUE_STEPS: list[str] = [
    "billing.contracts.services.renewals.contracts_renew_due",  # renewals first (issue 17 §1)
    # Trials: the 3-day notice, then conversions to paid (issue 17 §2).
    "billing.contracts.services.trials.contracts_notify_trials_ending",
    "billing.contracts.services.trials.contracts_convert_trials",
    # Scheduled amendments and end-of-period/term cancellations, in date order (issue 17 §4).
    "billing.contracts.services.scheduled.scheduled_changes_apply_due",
]


def contracts_apply_due(*, as_of: date, customers: list[str] | None = None) -> dict[str, int]:
    """Run every due step for ``as_of`` (all customers, or only those external ids). Returns the number
    of contracts each step changed, by step path. A failing step is raised: the caller (the daily task,
    or the billing run's planning, which retries) must not bill a contract whose due change failed."""
    changed: dict[str, int] = {}
    for path in DUE_STEPS:
        step = import_string(path)
        changed[path] = step(as_of=as_of, customers=customers or None)
        if changed[path]:
            log.info("%s: %s contract(s) as of %s", path, changed[path], as_of)
    return changed
