"""Input-method progress (accounting.md §10a, IFRS 15.B18–B19): total expected costs and costs incurred
per period, recorded append-only; every record revises the obligation's schedule so that progress =
costs incurred ÷ total expected costs, with the cumulative catch-up in the first open period. The
measure itself and the lines it gives are in ``input_progress``, which the schedules read too."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from django.db import transaction

from billing.contracts.models import Contract
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import InvalidTransition, ValidationFailed
from revops.money import MoneyError, parse_decimal, round_money
from revops.parties.models import RecognitionMethod
from revrec import recognition
from revrec.models import ObligationCost, PerformanceObligation, RevenueSchedule
from revrec.services.input_progress import Progress, input_lines, progress_of
from revrec.services.judgements import judgement_request, register_judgement
from revrec.services.schedules import schedule_revise

ZERO = Decimal(0)
RATABLE = (RecognitionMethod.RATABLE_DAILY, RecognitionMethod.RATABLE_MONTHLY)


def percent(measure: Fraction | None) -> str:
    """A measure of progress shown as a percentage (display only; 4 decimals, never a float)."""
    if measure is None:
        return "—"
    exact = Decimal(measure.numerator * 100) / Decimal(measure.denominator)
    return format(exact.quantize(Decimal("0.0001")).normalize(), "f")


def live_schedule(po: PerformanceObligation) -> RevenueSchedule | None:
    scheds = list(
        po.schedules.filter(
            status__in=[RevenueSchedule.Status.APPROVED, RevenueSchedule.Status.PENDING_APPROVAL]
        )
    )
    approved = [s for s in scheds if s.status == RevenueSchedule.Status.APPROVED]
    pool = approved or scheds
    return max(pool, key=lambda s: s.version) if pool else None


def existing_lines(po: PerformanceObligation) -> tuple[list[recognition.ScheduleLine], list[str]]:
    """The live schedule's lines and the periods of them already posted."""
    sched = live_schedule(po)
    if sched is None:
        return [], []
    rows = list(sched.lines.order_by("period"))
    lines = [recognition.ScheduleLine(ln.period, ln.start, ln.end, ln.amount) for ln in rows]
    return lines, [ln.period for ln in rows if ln.posted_entry_id]


def cut_off(posted: list[str], as_of_period: str | None = None) -> str | None:
    """Lines through this period are kept: everything posted, and (for a change as of a date) the months
    before the change, so the catch-up lands in the change's period or the first unposted one after."""
    candidates = list(posted)
    if as_of_period:
        candidates.append(_shift(as_of_period, -1))
    return max(candidates) if candidates else None


def _shift(key: str, months: int) -> str:
    year, month = (int(x) for x in key.split("-"))
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def revised_lines(po: PerformanceObligation, *, amount: Decimal, existing, cut: str | None) -> list:
    """The obligation's schedule for a new ``amount``: lines through ``cut`` kept, the cumulative
    catch-up in the next period, the rest re-spread — by costs (input), time (ratable) or at the
    satisfaction date (point in time, milestone)."""
    amount = round_money(amount, po.currency)
    if po.progress_measure == "input":
        return input_lines(po, amount=amount, existing=existing, cut=cut)
    if po.recognition in RATABLE:
        if cut is None:
            return recognition.schedule(
                currency=po.currency, amount=amount, method=po.recognition, start=po.start, end=po.end
            )
        return list(
            recognition.cumulative_catch_up(
                currency=po.currency,
                method=po.recognition,
                start=po.start,
                new_end=po.end,
                new_amount=amount,
                existing=existing,
                recognized_through=cut,
            ).lines
        )
    day = po.start if po.recognition == RecognitionMethod.POINT_IN_TIME else po.end - timedelta(days=1)
    fresh = recognition.schedule(
        currency=po.currency,
        amount=amount,
        method="point_in_time",
        start=po.start,
        end=po.end,
        satisfied_on=day,
    )
    if cut is None:
        return fresh
    past = [ln for ln in existing if ln.period <= cut]
    adjustment = sum((ln.amount for ln in fresh if ln.period <= cut), ZERO) - sum(
        (ln.amount for ln in past), ZERO
    )
    later: dict[str, recognition.ScheduleLine] = {ln.period: ln for ln in fresh if ln.period > cut}
    if adjustment:
        first = _shift(cut, 1)
        start = recognition.parse_period(first)
        prior = later.get(first)
        later[first] = recognition.ScheduleLine(
            first,
            prior.start if prior else start,
            prior.end if prior else (start.replace(day=28) + timedelta(days=4)).replace(day=1),
            (prior.amount if prior else ZERO) + adjustment,
        )
    return past + [later[p] for p in sorted(later)]


def catch_up(old: list, new: list, cut: str | None) -> Decimal:
    """What the revision recognizes at once: the change in the first period after the cut-off."""
    first = _shift(cut, 1) if cut else None

    def upto(lines):
        return sum((ln.amount for ln in lines if first is None or ln.period <= first), ZERO)

    return upto(new) - upto(old) if first else ZERO


def _amount(value, field: str) -> Decimal:
    try:
        return parse_decimal(value, field=field)
    except MoneyError as exc:
        raise ValidationFailed(str(exc).split(": ", 1)[-1], field=field) from None


EXPECTED_COSTS = "obligation_expected_costs"


def _validated_cost(po: PerformanceObligation, *, kind: str, period: str, amount) -> Decimal:
    if po.status != PerformanceObligation.Status.ACTIVE or po.variable:
        raise InvalidTransition("Costs are recorded on an active obligation with fixed consideration.")
    if po.progress_measure != "input":
        raise InvalidTransition(
            f"{po.key} measures progress by output (time elapsed); costs drive only input-method obligations."
        )
    if kind not in ObligationCost.Kind.values:
        raise ValidationFailed("Must be 'expected_total' or 'incurred'.", field="kind")
    try:
        recognition.parse_period(period)
    except recognition.RecognitionError:
        raise ValidationFailed("An accounting period YYYY-MM is required.", field="period") from None
    value = _amount(amount, "amount")
    if round_money(value, po.currency) != value:
        raise ValidationFailed(f"More decimals than {po.currency} allows.", field="amount")
    before = progress_of(po)
    if kind == ObligationCost.Kind.EXPECTED_TOTAL:
        if value <= 0:
            raise ValidationFailed("Total expected costs must be positive.", field="amount")
    else:
        if before.expected_total is None:
            raise InvalidTransition("Record the total expected costs before costs incurred.")
        if before.incurred_to_date + value < 0:
            raise ValidationFailed("Costs incurred to date cannot become negative.", field="amount")
    return value


def expected_costs_plan(po: PerformanceObligation, *, expected_total: Decimal) -> dict:
    """What a new total expected costs would do, without writing: progress before / after and the
    revised schedule with its cumulative catch-up (the approval preview; approving applies it)."""
    progress = progress_of(po)
    existing, posted = existing_lines(po)
    cut = cut_off(posted)
    lines = recognition.input_schedule(
        currency=po.currency,
        amount=round_money(po.allocated_amount, po.currency),
        start=po.start,
        end=po.end,
        incurred=progress.incurred,
        expected_total=expected_total,
        existing=existing,
        recognized_through=cut,
        places=po.progress_places,
    )
    after = Progress(expected_total, progress.incurred)
    return {
        "expected_before": progress.expected_total,
        "expected_after": expected_total,
        "incurred_to_date": progress.incurred_to_date,
        "progress_before": percent(progress.measure(po.progress_places)),
        "progress_after": percent(after.measure(po.progress_places)),
        "catch_up": catch_up(existing, lines, cut),
        "catch_up_period": _shift(cut, 1) if cut else None,
        "lines": lines,
        "existing": existing,
    }


@transaction.atomic
def obligation_cost_request(
    *, obligation: PerformanceObligation, kind: str, period: str, amount, note: str = "", actor=None
):
    """Record costs for an input-method obligation. Costs incurred in a period are facts from the cost
    ledger: they are appended and advance progress at once (an ``ObligationCost``). Total expected costs
    are a judgement that moves revenue (IFRS 15.B19, a change in estimate): they are submitted for
    approval (maker-checker) and recorded only when someone other than the requester approves them —
    the return value is then the pending ``Approval``. Different figures while one waits → 409."""
    if kind != ObligationCost.Kind.EXPECTED_TOTAL:
        return _cost_record(
            obligation=obligation, kind=kind, period=period, amount=amount, note=note, actor=actor
        )
    Contract.objects.select_for_update().get(pk=obligation.contract_id)
    po = PerformanceObligation.objects.select_related("contract").get(pk=obligation.pk)
    value = _validated_cost(po, kind=kind, period=period, amount=amount)
    before = progress_of(po)
    payload = {
        "contract": po.contract.number,
        "obligation": po.key,
        "kind": kind,
        "period": period,
        "amount": str(value),
        "note": note or "",
        "expected_before": str(before.expected_total) if before.expected_total is not None else None,
    }
    return judgement_request(
        kind=EXPECTED_COSTS,
        obj=po,
        summary=f"{po.contract.number} · {po.key}: total expected costs "
        f"{before.expected_total if before.expected_total is not None else '—'} → {value} ({po.currency})",
        payload=payload,
        actor=actor,
        what=f"A change of {po.key}'s total expected costs",
    )


def _expected_costs_content(approval) -> dict:
    """Bound into the request: the obligation's allocation and total expected costs now (another
    change approved in between, or a modification, makes the request be reviewed again)."""
    po = PerformanceObligation.objects.get(pk=int(approval.object_id))
    Contract.objects.select_for_update().get(pk=po.contract_id)
    return {
        "status": po.status,
        "allocated_amount": po.allocated_amount,
        "expected_total": progress_of(po).expected_total,
    }


def _expected_costs_approved(approval, user) -> None:
    payload = approval.payload or {}
    po = PerformanceObligation.objects.get(pk=int(approval.object_id))
    _cost_record(
        obligation=po,
        kind=ObligationCost.Kind.EXPECTED_TOTAL,
        period=payload["period"],
        amount=payload["amount"],
        note=payload.get("note", ""),
        actor=user,
        approval=approval,
    )


def _expected_costs_rejected_changes(payload: dict) -> dict:
    return {
        "po": payload.get("obligation"),
        "contract": payload.get("contract"),
        "expected_total": {"from": payload.get("expected_before"), "to": payload.get("amount")},
    }


def register() -> None:
    register_judgement(
        EXPECTED_COSTS,
        label="Total expected costs (input method)",
        on_approved=_expected_costs_approved,
        content=_expected_costs_content,
        rejected_action=AuditAction.OBLIGATION_EXPECTED_COSTS_REJECTED,
        rejected_changes=_expected_costs_rejected_changes,
    )


@transaction.atomic
def _cost_record(
    *,
    obligation: PerformanceObligation,
    kind: str,
    period: str,
    amount,
    note: str = "",
    actor=None,
    approval=None,
) -> ObligationCost:
    """Append a cost record (total expected costs — only from an approved request — or costs incurred
    in ``period``) and revise the schedule: progress = incurred ÷ expected, catch-up in the first period
    not yet recognized."""
    from revops.core.approvals.models import Approval

    Contract.objects.select_for_update().get(pk=obligation.contract_id)
    po = PerformanceObligation.objects.select_related("contract").get(pk=obligation.pk)
    if kind == ObligationCost.Kind.EXPECTED_TOTAL and (
        approval is None
        or approval.kind != EXPECTED_COSTS
        or approval.status != Approval.Status.APPROVED
        or approval.object_id != str(po.pk)
    ):
        raise InvalidTransition("Total expected costs are recorded only from an approved request.")
    value = _validated_cost(po, kind=kind, period=period, amount=amount)
    requester = approval.requested_by if approval is not None else None
    cost = ObligationCost.objects.create(
        obligation=po,
        kind=kind,
        period=period,
        amount=value,
        currency=po.currency,
        note=note or "",
        recorded_by=requester if approval is not None else (actor if getattr(actor, "pk", None) else None),
    )
    after = progress_of(po)
    changes = {
        "po": po.key,
        "contract": po.contract.number,
        "kind": kind,
        "period": period,
        "amount": value,
        "expected_total": after.expected_total,
        "incurred_to_date": after.incurred_to_date,
    }
    if approval is not None:
        changes |= {
            "approval": approval.pk,
            "requested_by": requester.username if requester is not None else None,
            "approved_by": getattr(actor, "username", None),
        }
    audit_record(actor=actor, action=AuditAction.OBLIGATION_COST_RECORDED, obj=cost, changes=changes)
    existing, posted = existing_lines(po)
    cut = cut_off(posted)
    lines = input_lines(po, amount=po.allocated_amount, existing=existing, cut=cut)
    measure = after.measure(po.progress_places)
    schedule_revise(
        po=po,
        lines=lines,
        treatment=RevenueSchedule.Treatment.CATCH_UP,
        note=f"Input progress {percent(measure)} %: incurred "
        f"{after.incurred_to_date} of expected {after.expected_total}; catch-up "
        f"{catch_up(existing, lines, cut)}"
        + (f"; approval #{approval.pk}." if approval is not None else "."),
        actor=actor,
    )
    return cost
