"""Reads of renewals (issue 17 §1): a contract's renewal policy, whether and when it renews, the last
day to give notice of non-renewal, and what its next renewal would be priced at. Writes are in
``billing.contracts.services.renewals``.

The notice rule: a notice of non-renewal (or cancellation at the term's end) is on time when it is
given at least ``notice_days`` days before the term's end date (``Contract.end_date``, the first day
of the next term): on or before ``end_date − notice_days``."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from billing.contracts.models import Contract, ContractLine, ContractRenewal, RenewalPolicy
from billing.contracts.overrides import plan_list_fee
from billing.contracts.selectors import current_lines
from billing.contracts.terms import line_range, plan_interval
from revops.fields import UNIT_PRICE_PLACES

HUNDRED = Decimal(100)
INTERVAL_MONTHS = {"month": 1, "quarter": 3, "year": 12}
RENEWABLE_BILLING = (ContractLine.Billing.RECURRING, ContractLine.Billing.USAGE)


def add_months(day: date, months: int, *, anchor_day: int | None = None) -> date:
    """``day`` moved by ``months`` calendar months, on ``anchor_day`` (default: its own day), clamped
    to the month's last day (31 Jan + 1 month = 28/29 Feb; with anchor 31, + 2 months = 31 Mar)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(anchor_day or day.day, calendar.monthrange(year, month)[1]))


def months_between(start: date, end: date) -> int | None:
    """Whole calendar months from ``start`` to ``end`` (anchored on start's day), None when uneven."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    return months if months > 0 and add_months(start, months) == end else None


def policy_of(contract: Contract) -> RenewalPolicy | None:
    try:
        return contract.renewal_policy
    except RenewalPolicy.DoesNotExist:
        return None


def renewable_lines(contract: Contract) -> list[ContractLine]:
    """The current lines that run to the term's end: recurring and usage lines renew; one-time items
    and lines ended earlier do not."""
    out = []
    for line in current_lines(contract).values():
        start, end = line_range(line, contract)
        if line.billing in RENEWABLE_BILLING and end == contract.end_date and start < end:
            out.append(line)
    return sorted(out, key=lambda ln: (ln.position, ln.key))


def term_months(contract: Contract, policy: RenewalPolicy, lines: list[ContractLine] | None = None) -> int:
    """The length of the next term: ``term_months`` (termed), or the longest billing interval of the
    recurring lines renewed (evergreen; a month when none has a plan)."""
    if policy.policy == RenewalPolicy.Policy.TERMED:
        return int(policy.term_months or 12)
    lines = renewable_lines(contract) if lines is None else lines
    months = [
        INTERVAL_MONTHS.get(plan_interval(ln), 1)
        for ln in lines
        if ln.billing == ContractLine.Billing.RECURRING
    ]
    return max(months or [1])


def current_term_start(contract: Contract) -> date:
    last = (
        ContractRenewal.objects.filter(contract=contract, status=ContractRenewal.Status.APPLIED)
        .order_by("-sequence")
        .first()
    )
    return last.term_start if last else contract.start_date


def next_term(contract: Contract, policy: RenewalPolicy, lines=None) -> tuple[date, date, int]:
    """(start, end, months) of the term the next renewal would add."""
    start = contract.end_date
    months = term_months(contract, policy, lines)
    # a term that ends on the contract's start day (clamped to short months) keeps that day
    last = calendar.monthrange(start.year, start.month)[1]
    anchor = contract.start_date.day if start.day == min(contract.start_date.day, last) else None
    return start, add_months(start, months, anchor_day=anchor), months


@dataclass(frozen=True)
class RenewalOutlook:
    """What the contract page, the API and cancellation at term end need to know."""

    policy: str
    will_renew: bool  # renews on ``renews_on`` unless notice is given (or it is cancelled)
    renews_on: date | None  # the first day of the next term
    notice_deadline: date | None  # the last day a non-renewal notice is on time
    notice_open: bool  # notice can still be given on time (as of the day asked)
    next_term_end: date | None


def cancellation_scheduled(contract: Contract) -> bool:
    """A cancellation (end of period or term, ``POST /contracts/{id}/cancel``) waits to apply by the
    term's end: the contract ends there and does not renew."""
    from billing.contracts.models import ScheduledChange

    return ScheduledChange.objects.filter(
        contract=contract,
        kind=ScheduledChange.Kind.CANCELLATION,
        status=ScheduledChange.Status.SCHEDULED,
        effective_date__lte=contract.end_date,
    ).exists()


def renewal_outlook(contract: Contract, *, today: date | None = None) -> RenewalOutlook:
    """Whether ``contract`` will renew and the last day to give notice: the function cancellation at
    term end (and anything else) asks. A contract renews when it is active (or about to be), not
    terminated, and its policy is termed or evergreen."""
    from django.utils import timezone

    today = today or timezone.localdate()
    policy = policy_of(contract)
    name = policy.policy if policy else RenewalPolicy.Policy.NONE
    live = contract.status in (
        Contract.Status.DRAFT,
        Contract.Status.PENDING_APPROVAL,
        Contract.Status.ACTIVE,
    )
    renews = bool(policy and name != RenewalPolicy.Policy.NONE and live and contract.terminated_on is None)
    renews = renews and not cancellation_scheduled(contract)
    if not renews:
        return RenewalOutlook(name, False, None, None, False, None)
    start, end, _months = next_term(contract, policy)
    deadline = start - timedelta(days=policy.notice_days)
    return RenewalOutlook(name, True, start, deadline, today <= deadline, end)


def notice_on_time(contract: Contract, *, on: date) -> bool:
    """Whether a notice of non-renewal given on ``on`` is on time (see the module docstring); True
    for a contract that does not renew."""
    outlook = renewal_outlook(contract, today=on)
    return not outlook.will_renew or on <= outlook.notice_deadline


def renewed_price(line: ContractLine, policy: RenewalPolicy, on: date) -> Decimal | None:
    """The unit price a renewed line carries from ``on`` (the renewal date): the plan's list fee in
    force then (``uplift_to_list``), or the price it pays now raised by ``uplift_percent`` — its own
    unit price; else, for a plan that moves contracts at renewal (``at_renewal``), the list fee in
    force on the renewal date; else its plan's list fee on the term's last day. None keeps following
    the plan's prices (no uplift on a plan line without its own price, or a plan with no flat or
    per-unit fee to override, e.g. tiered or usage only)."""
    then = plan_list_fee(line.plan, on) if line.plan_id else None
    if policy.uplift_to_list:
        return then[0] if then is not None else line.unit_price
    uplift = Decimal(policy.uplift_percent or 0)
    if line.unit_price is not None:
        base = Decimal(line.unit_price)
    elif line.plan_id and line.plan.version_policy == "at_renewal":
        if then is None:
            return None
        base = then[0]  # the version in force at renewal, pinned for the new term
    else:
        now = plan_list_fee(line.plan, on - timedelta(days=1)) if line.plan_id else None
        if not uplift or now is None:
            return None
        base = now[0]
    if not uplift:
        return base
    exact = base * (HUNDRED + uplift) / HUNDRED
    return exact.quantize(Decimal(1).scaleb(-UNIT_PRICE_PLACES)).normalize()
