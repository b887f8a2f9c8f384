"""Applying an approved modification (its chosen treatment, as analysed at approval), rejecting one
(the contract reverts), and what the approval binds (accounting.md §10)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from billing.contracts.models import Contract
from revops.core.approvals.models import Approval
from revops.core.approvals.registry import register_approval_kind
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import InvalidTransition
from revops.jsonsafe import jsonable
from revops.money import round_money
from revrec import recognition
from revrec.models import ContractModification, PerformanceObligation, RevenueSchedule, ScheduleLine
from revrec.services.modifications.analysis import modification_analyze
from revrec.services.modifications.requests import KIND
from revrec.services.modifications.treatments import ZERO
from revrec.services.obligations import active_obligations, obligation_specs, spec_ssp_line


def _live_schedules(po):
    return po.schedules.filter(
        status__in=[RevenueSchedule.Status.APPROVED, RevenueSchedule.Status.PENDING_APPROVAL]
    )


def _supersede_schedule(sched: RevenueSchedule, *, user, changes: dict) -> None:
    """The schedule is superseded by a contract modification; its pending approval is cancelled."""
    sched.status = RevenueSchedule.Status.SUPERSEDED
    sched.save(update_fields=["status"])
    Approval.objects.filter(
        kind="revenue_schedule",
        object_type="revrec.revenueschedule",
        object_id=str(sched.pk),
        status=Approval.Status.PENDING,
    ).update(status=Approval.Status.CANCELLED)
    audit_record(actor=user, action=AuditAction.SCHEDULE_SUPERSEDED, obj=sched, changes=changes)


def _replace_schedule(po, lines, *, treatment: str, user, note: str) -> RevenueSchedule:
    """Supersede the live schedule with a new approved version; periods already posted keep their entry."""
    posted: dict[str, tuple[int, Decimal]] = {}
    for sched in _live_schedules(po):
        for ln in sched.lines.all():
            if ln.posted_entry_id:
                posted[ln.period] = (ln.posted_entry_id, ln.amount)
        _supersede_schedule(sched, user=user, changes={"by": "contract modification"})
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
        action=AuditAction.SCHEDULE_CREATED,
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


def _retire_schedules(po, *, user) -> None:
    """An obligation removed before it started (a trial canceled before conversion, a future line
    removed) earns nothing: its live schedules are superseded, their pending approvals cancelled."""
    for sched in _live_schedules(po):
        _supersede_schedule(
            sched,
            user=user,
            changes={"by": "contract modification", "obligation_removed_before_start": po.key},
        )


def _apply(approval: Approval, user) -> None:
    mod = ContractModification.objects.select_for_update().get(pk=approval.object_id)
    contract = Contract.objects.select_for_update().get(pk=mod.contract_id)
    analysis = modification_analyze(contract=contract)
    option = analysis["treatments"][mod.chosen_treatment]
    if not option["applicable"]:
        raise InvalidTransition(
            f"{mod.get_chosen_treatment_display()} does not apply to this modification: {option['note']}"
        )
    effective = analysis["effective_date"]
    specs = {s["key"]: s for s in obligation_specs(contract)}
    current = {po.key: po for po in active_obligations(contract)}
    for row in analysis["obligations"]:
        if row["key"] not in specs:  # removed before it started: superseded below
            continue
        chosen = row["options"][mod.chosen_treatment]
        if chosen.get("unchanged"):
            continue
        spec = specs[row["key"]]
        whole, (source, entry) = spec_ssp_line(spec, contract, on=effective)
        fields = {
            "allocated_amount": chosen["allocation"],
            "fixed_price": spec["fixed"],
            "start": spec["start"],
            "end": spec["end"],
            "ssp": whole.ssp if whole.ssp is not None else chosen["allocation"],
            "ssp_source": source[:200],
            "ssp_as_of": effective,
            "series": spec["series"],
            "contract_version": contract.version,
            "variable_consideration": spec.get("variable_amount", ZERO),
            "progress_measure": spec.get("progress_measure", "output"),
            "progress_places": spec.get("progress_places"),
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
                actor=user,
                action=AuditAction.OBLIGATION_MODIFIED,
                obj=po,
                changes={"modification": mod.pk, **diff},
            )
        po.lines.set(spec["lines"])
        _replace_schedule(
            po,
            chosen["lines"],
            treatment=mod.chosen_treatment,
            user=user,
            note=f"{mod.get_chosen_treatment_display()} from {effective}; "
            f"catch-up {chosen['adjustment']}. {chosen.get('note') or analysis['reason']}",
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
    for key in (k for k in analysis["removed"] if k not in specs):
        PerformanceObligation.objects.filter(pk=current[key].pk).update(
            status=PerformanceObligation.Status.SUPERSEDED
        )
        _retire_schedules(current[key], user=user)  # a revenue run must not post them any more
    mod.status = ContractModification.Status.APPLIED
    mod.applied_at = timezone.now()
    mod.analysis = jsonable(analysis)
    mod.save(update_fields=["status", "applied_at", "analysis"])
    audit_record(
        actor=user,
        action=AuditAction.MODIFICATION_APPLIED,
        obj=mod,
        changes={"treatment": mod.chosen_treatment, "effective_date": mod.effective_date},
    )


def _reject(approval: Approval, user) -> None:
    mod = ContractModification.objects.select_for_update().get(pk=approval.object_id)
    mod.status = ContractModification.Status.REJECTED
    mod.save(update_fields=["status"])
    audit_record(
        actor=user, action=AuditAction.MODIFICATION_REJECTED, obj=mod, changes={"comment": approval.comment}
    )
    # A rejected amendment leaves the contract as it was: a reverting version is appended (billing
    # must not bill terms that were rejected, and the price must match the obligations again).
    from billing.contracts.services import contract_amendment_revert

    contract_amendment_revert(
        contract=mod.contract,
        version=mod.contract_version,
        actor=user,
        reason=f"Contract modification #{mod.pk} rejected: {approval.comment}",
    )


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
                "allocation": (row["options"].get(treatment) or {}).get("allocation"),
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
    from billing.contracts.extensions import register_contract_change_guard
    from revrec.services.modifications.requests import modification_pending_guard

    register_approval_kind(
        KIND, on_approved=_apply, on_rejected=_reject, label="Contract modification", content=_content
    )
    register_contract_change_guard(modification_pending_guard)
