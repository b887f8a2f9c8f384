"""Contract modifications (accounting.md §5, ASC 606-10-25-12/13).

An amendment is classified — added distinct goods at SSP → separate contract; otherwise distinct
remaining goods → prospective; otherwise → cumulative catch-up — and the effect of each treatment is
computed side by side with the same pure functions that will apply it. Nothing changes in revenue
until an approver signs the modification off (maker-checker); old schedules keep running meanwhile."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from compliance.approvals import approval_rebind, approval_request, register_approval_kind
from compliance.audit import audit_record
from compliance.models import Approval
from revops.contracts.models import Contract, ContractVersion, RecognitionMethod
from revops.errors import InvalidTransition, ValidationFailed
from revops.jsonsafe import jsonable
from revops.money import round_money
from revrec import recognition
from revrec.models import ContractModification, PerformanceObligation, RevenueSchedule, ScheduleLine
from revrec.services.obligations import active_obligations, allocate_specs, obligation_specs, ssp_in_force

ZERO = Decimal(0)
KIND = "contract_modification"
RATABLE = (RecognitionMethod.RATABLE_DAILY, RecognitionMethod.RATABLE_MONTHLY)
T = RevenueSchedule.Treatment


def _live_schedule(po: PerformanceObligation) -> RevenueSchedule | None:
    return (
        po.schedules.filter(
            status__in=[RevenueSchedule.Status.APPROVED, RevenueSchedule.Status.PENDING_APPROVAL]
        )
        .order_by("-version")
        .first()
    )


def _shift(key: str, months: int) -> str:
    year, month = (int(x) for x in key.split("-"))
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _effective(contract: Contract):
    latest = ContractVersion.objects.filter(contract=contract).order_by("-version").first()
    return latest.effective_date if latest else contract.start_date


def _satisfied_on(spec: dict):
    return (
        spec["start"]
        if spec["recognition"] == RecognitionMethod.POINT_IN_TIME
        else spec["end"] - timedelta(days=1)
    )


def _fresh(spec: dict, amount: Decimal, currency: str) -> list[recognition.ScheduleLine]:
    method = spec["recognition"] if spec["recognition"] in RATABLE else "point_in_time"
    return recognition.schedule(
        currency=currency,
        amount=amount,
        method=method,
        start=spec["start"],
        end=spec["end"],
        satisfied_on=None if method in RATABLE else _satisfied_on(spec),
    )


def _options(
    po: PerformanceObligation | None, spec: dict, new_amount: Decimal, currency: str, cut_off: str
) -> dict:
    """The schedule under each treatment for one PO: lines as (period, amount), and the catch-up."""
    if po is None:
        plain = {
            "lines": [(ln.period, ln.amount) for ln in _fresh(spec, new_amount, currency)],
            "adjustment": ZERO,
        }
        return {T.SEPARATE: plain, T.PROSPECTIVE: plain, T.CATCH_UP: plain}
    sched = _live_schedule(po)
    existing = (
        [
            recognition.ScheduleLine(ln.period, ln.start, ln.end, ln.amount)
            for ln in sched.lines.order_by("period")
        ]
        if sched
        else []
    )
    out: dict = {}
    if spec["recognition"] in RATABLE:
        for treatment, fn in (
            (T.CATCH_UP, recognition.cumulative_catch_up),
            (T.PROSPECTIVE, recognition.prospective_reallocation),
        ):
            try:
                result = fn(
                    currency=currency,
                    method=spec["recognition"],
                    start=spec["start"],
                    new_end=spec["end"],
                    new_amount=new_amount,
                    existing=existing,
                    recognized_through=cut_off,
                )
            except recognition.RecognitionError:
                # No service period remains (a termination, say): what is left is caught up at once.
                out[treatment] = {**out[T.CATCH_UP], "note": "no service period remains; caught up at once"}
                continue
            out[treatment] = {
                "lines": [(ln.period, ln.amount) for ln in result.lines],
                "adjustment": result.adjustment,
            }
    else:
        # Point in time / milestone: what should have been recognized by the cut-off is caught up at once.
        fresh = _fresh(spec, new_amount, currency)
        past = [(ln.period, ln.amount) for ln in existing if ln.period <= cut_off]
        adjustment = sum((ln.amount for ln in fresh if ln.period <= cut_off), ZERO) - sum(
            (a for _p, a in past), ZERO
        )
        later: dict[str, Decimal] = {}
        for ln in fresh:
            if ln.period > cut_off:
                later[ln.period] = later.get(ln.period, ZERO) + ln.amount
        if adjustment:
            first = _shift(cut_off, 1)
            later[first] = later.get(first, ZERO) + adjustment
        out[T.CATCH_UP] = {"lines": past + sorted(later.items()), "adjustment": adjustment}
        out[T.PROSPECTIVE] = out[T.CATCH_UP]
    out[T.SEPARATE] = out[T.PROSPECTIVE]
    return out


def _at_ssp(spec: dict, contract: Contract) -> bool:
    entry = ssp_in_force(spec["product"], contract.currency, contract.start_date)
    if entry is None or entry.ssp is None:
        return True
    return abs(spec["fixed"] - entry.ssp) <= entry.ssp * Decimal("0.01")


def modification_analyze(*, contract: Contract) -> dict:
    """Classify the contract's latest amendment and compute every treatment's effect (nothing saved)."""
    specs = obligation_specs(contract)
    allocations, _sources = allocate_specs(contract, specs)
    current = {po.key: po for po in active_obligations(contract)}
    effective = _effective(contract)
    mod_period = recognition.period_key(effective)
    rows, added, changed = [], [], []
    for spec in (s for s in specs if not s["variable"]):
        po = current.get(spec["key"])
        new_amount = allocations[spec["key"]].allocated
        sched = _live_schedule(po) if po else None
        posted = [ln.period for ln in sched.lines.all() if ln.posted_entry_id] if sched else []
        cut_off = max([_shift(mod_period, -1), *posted])
        old_amount = round_money(po.allocated_amount, contract.currency) if po else ZERO
        if po is None:
            added.append(spec)
        elif new_amount != old_amount or (po.start, po.end) != (spec["start"], spec["end"]):
            changed.append(spec)
        recognized = (
            sum((ln.amount for ln in sched.lines.all() if ln.posted_entry_id), ZERO) if sched else ZERO
        )
        recognized = round_money(recognized, contract.currency)
        rows.append(
            {
                "key": spec["key"],
                "product": spec["product"].code,
                "method": spec["recognition"],
                "old_allocation": old_amount,
                "new_allocation": new_amount,
                "recognized_to_date": recognized,
                "start": spec["start"],
                "end": spec["end"],
                "cut_off": cut_off,
                "new": po is None,
                "options": _options(po, spec, new_amount, contract.currency, cut_off),
            }
        )
    keys = {s["key"] for s in specs}
    removed = [key for key, po in current.items() if not po.variable and key not in keys]
    if added and not changed and not removed and all(_at_ssp(spec, contract) for spec in added):
        proposed, reason = (
            T.SEPARATE,
            "Only distinct goods were added, priced at their standalone selling price.",
        )
    elif all(row["method"] in RATABLE for row in rows if not row["new"]):
        proposed, reason = (
            T.PROSPECTIVE,
            (
                "The remaining services are distinct from those already transferred "
                "(a series of distinct service periods)."
            ),
        )
    else:
        proposed, reason = (
            T.CATCH_UP,
            (
                "The remaining promises are not distinct from what was already transferred "
                "(a point-in-time or milestone obligation is affected)."
            ),
        )
    return {
        "contract": contract.pk,
        "contract_version": contract.version,
        "effective_date": effective,
        "modification_period": mod_period,
        "proposed": proposed,
        "reason": reason,
        "obligations": rows,
        "removed": removed,
    }


@transaction.atomic
def modification_propose(*, contract: Contract, actor=None) -> ContractModification | None:
    """Record the amendment's analysis and ask for approval (one per contract version)."""
    if not PerformanceObligation.objects.filter(contract=contract).exists():
        return None
    existing = ContractModification.objects.filter(
        contract=contract, contract_version=contract.version
    ).first()
    if existing:
        return existing
    analysis = modification_analyze(contract=contract)
    for stale in ContractModification.objects.filter(
        contract=contract, status=ContractModification.Status.PENDING_APPROVAL
    ):
        stale.status = ContractModification.Status.REJECTED
        stale.save(update_fields=["status"])
        Approval.objects.filter(
            kind=KIND,
            object_type="revrec.contractmodification",
            object_id=str(stale.pk),
            status=Approval.Status.PENDING,
        ).update(status=Approval.Status.CANCELLED, comment=f"Superseded by version {contract.version}")
        audit_record(
            actor=actor, action="modification.superseded", obj=stale, changes={"by_version": contract.version}
        )
    mod = ContractModification.objects.create(
        contract=contract,
        contract_version=contract.version,
        effective_date=analysis["effective_date"],
        proposed_treatment=analysis["proposed"],
        chosen_treatment=analysis["proposed"],
        reason=analysis["reason"],
        analysis=jsonable(analysis),
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_record(
        actor=actor,
        action="modification.proposed",
        obj=mod,
        changes={
            "contract": contract.number,
            "version": contract.version,
            "treatment": mod.proposed_treatment,
        },
    )
    approval_request(
        kind=KIND,
        obj=mod,
        requested_by=actor,
        summary=f"{contract.number} v{contract.version}: {mod.get_proposed_treatment_display()} "
        f"from {analysis['effective_date']}",
    )
    return mod


@transaction.atomic
def modification_choose(
    *, modification: ContractModification, treatment: str, actor=None
) -> ContractModification:
    mod = ContractModification.objects.select_for_update().get(pk=modification.pk)
    if mod.status != ContractModification.Status.PENDING_APPROVAL:
        raise InvalidTransition("The modification was already decided.")
    if treatment not in (T.SEPARATE, T.PROSPECTIVE, T.CATCH_UP):
        raise ValidationFailed(
            "Choose separate_contract, prospective or cumulative_catch_up.", field="treatment"
        )
    before = mod.chosen_treatment
    mod.chosen_treatment = treatment
    mod.save(update_fields=["chosen_treatment"])
    audit_record(
        actor=actor,
        action="modification.treatment_chosen",
        obj=mod,
        changes={"from": before, "to": treatment},
    )
    # The pending approval was for the old treatment: void it and ask again for what will now apply.
    approval_rebind(
        kind=KIND,
        obj=mod,
        actor=actor,
        reason=f"Treatment changed from {before} to {treatment}.",
        summary=f"{mod.contract.number} v{mod.contract_version}: {mod.get_chosen_treatment_display()} "
        f"from {mod.effective_date}",
    )
    return mod


def _replace_schedule(po, lines, *, treatment: str, user, note: str) -> RevenueSchedule:
    """Supersede the live schedule with a new approved version; periods already posted keep their entry."""
    posted: dict[str, tuple[int, Decimal]] = {}
    for sched in po.schedules.filter(
        status__in=[RevenueSchedule.Status.APPROVED, RevenueSchedule.Status.PENDING_APPROVAL]
    ):
        for ln in sched.lines.all():
            if ln.posted_entry_id:
                posted[ln.period] = (ln.posted_entry_id, ln.amount)
        sched.status = RevenueSchedule.Status.SUPERSEDED
        sched.save(update_fields=["status"])
        Approval.objects.filter(
            kind="revenue_schedule",
            object_type="revrec.revenueschedule",
            object_id=str(sched.pk),
            status=Approval.Status.PENDING,
        ).update(status=Approval.Status.CANCELLED)
        audit_record(
            actor=user, action="schedule.superseded", obj=sched, changes={"by": "contract modification"}
        )
    version = max([s.version for s in po.schedules.all()] or [0]) + 1
    new = RevenueSchedule.objects.create(
        obligation=po,
        version=version,
        status=RevenueSchedule.Status.APPROVED,
        treatment=treatment,
        treatment_note=note[:2000],
        method=po.recognition,
        amount=sum((Decimal(a) for _p, a in lines), ZERO),
        currency=po.currency,
        decided_by=user if getattr(user, "pk", None) else None,
        decided_at=timezone.now(),
        decision_comment="Approved with the contract modification",
    )
    rows = []
    for period, amount in lines:
        start = recognition.parse_period(period)
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        amount = round_money(Decimal(amount), po.currency)
        kept = posted.get(period)
        rows.append(
            ScheduleLine(
                schedule=new,
                period=period,
                start=start,
                end=end,
                amount=amount,
                posted_entry_id=kept[0] if kept and kept[1] == amount else None,
            )
        )
    ScheduleLine.objects.bulk_create(rows)
    audit_record(
        actor=user,
        action="schedule.created",
        obj=new,
        changes={
            "po": po.key,
            "version": version,
            "treatment": treatment,
            "amount": new.amount,
            "lines": [[p, a] for p, a in lines],
        },
    )
    return new


def _apply(approval: Approval, user) -> None:
    mod = ContractModification.objects.select_for_update().get(pk=approval.object_id)
    contract = Contract.objects.select_for_update().get(pk=mod.contract_id)
    analysis = modification_analyze(contract=contract)
    specs = {s["key"]: s for s in obligation_specs(contract)}
    allocations, sources = allocate_specs(contract, list(specs.values()))
    current = {po.key: po for po in active_obligations(contract)}
    for row in analysis["obligations"]:
        spec = specs[row["key"]]
        source, entry = sources.get(row["key"], ("", None))
        fields = {
            "allocated_amount": row["new_allocation"],
            "fixed_price": spec["fixed"],
            "start": spec["start"],
            "end": spec["end"],
            "ssp": allocations[row["key"]].ssp,
            "ssp_source": source,
            "contract_version": contract.version,
        }
        po = current.get(row["key"])
        if po is None:
            po = PerformanceObligation.objects.create(
                contract=contract,
                key=row["key"],
                currency=contract.currency,
                recognition=spec["recognition"],
                product=spec["product"],
                ssp_entry=entry,
                variable=False,
                **fields,
            )
        else:
            diff = {k: {"from": getattr(po, k), "to": v} for k, v in fields.items() if getattr(po, k) != v}
            PerformanceObligation.objects.filter(pk=po.pk).update(ssp_entry=entry, **fields)
            po.refresh_from_db()
            audit_record(
                actor=user, action="obligation.modified", obj=po, changes={"modification": mod.pk, **diff}
            )
        po.lines.set(spec["lines"])
        chosen = row["options"][mod.chosen_treatment]
        _replace_schedule(
            po,
            chosen["lines"],
            treatment=mod.chosen_treatment,
            user=user,
            note=f"{mod.get_chosen_treatment_display()} from {analysis['effective_date']}; "
            f"catch-up {chosen['adjustment']}. {analysis['reason']}",
        )
    for key, spec in specs.items():
        if spec["variable"] and key not in current:
            created = PerformanceObligation.objects.create(
                contract=contract,
                contract_version=contract.version,
                key=key,
                product=spec["product"],
                currency=contract.currency,
                recognition=spec["recognition"],
                start=spec["start"],
                end=spec["end"],
                variable=True,
                ssp_source="variable consideration",
            )
            created.lines.set(spec["lines"])
    for key in analysis["removed"]:
        PerformanceObligation.objects.filter(pk=current[key].pk).update(
            status=PerformanceObligation.Status.SUPERSEDED
        )
    mod.status = ContractModification.Status.APPLIED
    mod.applied_at = timezone.now()
    mod.analysis = jsonable(analysis)
    mod.save(update_fields=["status", "applied_at", "analysis"])
    audit_record(
        actor=user,
        action="modification.applied",
        obj=mod,
        changes={"treatment": mod.chosen_treatment, "effective_date": mod.effective_date},
    )


def _reject(approval: Approval, user) -> None:
    mod = ContractModification.objects.select_for_update().get(pk=approval.object_id)
    mod.status = ContractModification.Status.REJECTED
    mod.save(update_fields=["status"])
    audit_record(actor=user, action="modification.rejected", obj=mod, changes={"comment": approval.comment})


def _content(approval: Approval) -> dict:
    """What approving applies (bound into the request's hash): the chosen treatment and, per obligation,
    the allocation and the schedule lines and catch-up of that treatment as :func:`_apply` computes them."""
    mod = ContractModification.objects.select_for_update().get(pk=approval.object_id)
    contract = Contract.objects.get(pk=mod.contract_id)
    analysis = modification_analyze(contract=contract)
    treatment = mod.chosen_treatment
    return {
        "contract": contract.number,
        "contract_version": contract.version,
        "modification_version": mod.contract_version,
        "effective_date": analysis["effective_date"],
        "treatment": treatment,
        "obligations": [
            {
                "key": row["key"],
                "allocation": row["new_allocation"],
                "start": row["start"],
                "end": row["end"],
                "lines": (row["options"].get(treatment) or {}).get("lines"),
                "adjustment": (row["options"].get(treatment) or {}).get("adjustment"),
            }
            for row in analysis["obligations"]
        ],
        "removed": analysis["removed"],
    }


def register() -> None:
    register_approval_kind(
        KIND, on_approved=_apply, on_rejected=_reject, label="Contract modification", content=_content
    )
