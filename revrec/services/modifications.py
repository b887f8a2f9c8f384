"""Contract modifications (accounting.md §10, IFRS 15.18–21 / ASC 606-10-25-10–13).

An amendment is analysed under each of the three treatments, side by side, with the same pure
functions that will apply it, and the one the standard requires is proposed:

* **separate contract** (15.20): the amendment only adds distinct goods, priced at their SSP as of the
  modification date (unit SSP × units added). Nothing already allocated moves.
* **prospective** — termination + new contract (15.21(a)): the remaining goods are distinct from those
  transferred. Satisfied obligations (and the satisfied part of a series or any over-time obligation)
  keep what they have recognized; the remaining consideration = transaction price not yet recognized
  + consideration added is allocated over the remaining obligations only, at their SSPs as of the
  modification date (the remaining part of each).
* **cumulative catch-up** (15.21(b)): the remaining goods are part of a single, partly satisfied
  obligation (over time and not a series): its new price and progress are caught up in the
  modification's period. Satisfied obligations keep what they have recognized.

A satisfied obligation whose own consideration the amendment changes (a price concession on goods
already delivered, IE Example 5 Case B) takes that change at once (15.88). Nothing changes in
revenue until an approver signs the modification off (maker-checker); old schedules keep running
meanwhile. The grain is the accounting month: the satisfied part is what the schedule holds through
the month before the modification (or the last posted month, if later); a point-in-time obligation
delivered before the effective date is satisfied."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from compliance.approvals import approval_rebind, approval_request, register_approval_kind
from compliance.audit import audit_record
from compliance.models import Approval
from revops.contracts.models import Contract, ContractLine, ContractVersion, RecognitionMethod
from revops.errors import Conflict, InvalidTransition, ValidationFailed
from revops.jsonsafe import jsonable
from revops.money import round_money
from revrec import recognition
from revrec.allocation import AllocationError, AllocationLine, allocate
from revrec.models import ContractModification, PerformanceObligation, RevenueSchedule, ScheduleLine
from revrec.services.obligations import (
    _dec,
    active_obligations,
    obligation_specs,
    spec_ssp_line,
    spec_units,
    ssp_in_force,
)

ZERO = Decimal(0)
KIND = "contract_modification"
RATABLE = (RecognitionMethod.RATABLE_DAILY, RecognitionMethod.RATABLE_MONTHLY)
T = RevenueSchedule.Treatment
TREATMENTS = (T.SEPARATE, T.PROSPECTIVE, T.CATCH_UP)


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


def _removed_keys(contract: Contract) -> set[str]:
    """The lines the latest amendment removes (``{"remove": key}``): their obligations end there."""
    latest = ContractVersion.objects.filter(contract=contract).order_by("-version").first()
    if latest is None or latest.kind != "amendment":
        return set()
    return {c["line"] for c in latest.changes or [] if isinstance(c, dict) and c.get("removed")}


def _earned_by(existing: list, cut_off: str, effective: date, currency: str) -> list[tuple[str, Decimal]]:
    """The schedule lines an obligation removed on ``effective`` keeps: every month through the
    cut-off, and the days of the removal month before ``effective`` (by days, §3), nothing after."""
    kept = [(ln.period, ln.amount) for ln in existing if ln.period <= cut_off]
    month = recognition.period_key(effective)
    if month > cut_off:
        for ln in existing:
            if ln.period == month and ln.start < effective < ln.end:
                part = round_money(
                    Decimal(ln.amount) * (effective - ln.start).days / (ln.end - ln.start).days, currency
                )
                if part:
                    kept.append((month, part))
    return kept


def _satisfied_on(spec: dict) -> date:
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


def _pairs(lines) -> list[tuple[str, Decimal]]:
    return [(ln.period, ln.amount) for ln in lines]


def _catch_up(spec: dict, amount: Decimal, existing: list, cut_off: str, currency: str) -> dict:
    """The new terms as if they had always applied; the difference to what the schedule holds through
    the cut-off lands in the first open month (15.21(b))."""
    if spec.get("progress_measure") == "input":  # progress by costs (§10a, IE Example 8)
        from revrec.services.progress import input_option

        return input_option(spec, amount, existing, cut_off, currency)
    if spec["recognition"] in RATABLE:
        result = recognition.cumulative_catch_up(
            currency=currency,
            method=spec["recognition"],
            start=spec["start"],
            new_end=spec["end"],
            new_amount=amount,
            existing=existing,
            recognized_through=cut_off,
        )
        return {"lines": _pairs(result.lines), "adjustment": result.adjustment}
    fresh = _fresh(spec, amount, currency)
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
    return {"lines": past + sorted(later.items()), "adjustment": adjustment}


def _prospective(spec: dict, amount: Decimal, existing: list, cut_off: str, currency: str) -> dict:
    """The schedule through the cut-off stays; the rest of ``amount`` is spread over what remains."""
    if spec.get("progress_measure") == "input":  # progress by costs is measured cumulatively (§10a)
        from revrec.services.progress import input_option

        return input_option(spec, amount, existing, cut_off, currency)
    if spec["recognition"] in RATABLE:
        result = recognition.prospective_reallocation(
            currency=currency,
            method=spec["recognition"],
            start=spec["start"],
            new_end=spec["end"],
            new_amount=amount,
            existing=existing,
            recognized_through=cut_off,
        )
        return {"lines": _pairs(result.lines), "adjustment": ZERO}
    past = [(ln.period, ln.amount) for ln in existing if ln.period <= cut_off]
    rest = amount - sum((a for _p, a in past), ZERO)
    later = [(ln.period, ln.amount) for ln in _fresh(spec, rest, currency)] if rest else []
    return {"lines": past + later, "adjustment": ZERO}


class _State:
    """One obligation key as the modification finds it: its PO (None if added), its new spec (None if
    removed), the live schedule, the cut-off month and what the schedule holds through it."""

    def __init__(self, key, po, spec, effective: date, mod_period: str, currency: str, removed=False):
        self.key, self.po, self.spec = key, po, spec
        self.removed = spec is None or bool(removed and po)
        sched = _live_schedule(po) if po else None
        rows = list(sched.lines.order_by("period")) if sched else []
        self.existing = [
            recognition.ScheduleLine(ln.period, ln.start, ln.end, round_money(ln.amount, currency))
            for ln in rows
        ]
        posted = [ln.period for ln in rows if ln.posted_entry_id]
        self.recognized = round_money(sum((ln.amount for ln in rows if ln.posted_entry_id), ZERO), currency)
        self.cut_off = max([_shift(mod_period, -1), *posted])
        self.remaining_from = recognition.parse_period(_shift(self.cut_off, 1))
        self.old_allocation = round_money(po.allocated_amount, currency) if po else ZERO
        self.old_fixed = round_money(po.fixed_price, currency) if po else ZERO
        self.new_fixed = round_money(spec["fixed"], currency) if spec else ZERO
        method = (spec or {}).get("recognition") or (po.recognition if po else "")
        self.over_time = method in RATABLE
        if self.removed:
            self.open = False
        elif self.over_time:
            self.open = spec["end"] > self.remaining_from
        else:
            day = _satisfied_on(spec)
            self.open = not (day < effective or recognition.period_key(day) <= self.cut_off)
        self.kept_lines = [(ln.period, ln.amount) for ln in self.existing if ln.period <= self.cut_off]
        through = sum((a for _p, a in self.kept_lines), ZERO)
        if po and spec and not self.over_time and not self.open:
            day = _satisfied_on(spec)
            delivered = day < effective or recognition.period_key(day) <= self.cut_off
            through = self.old_allocation if delivered else ZERO  # delivered before the effective date: all
            self.kept_lines = _pairs(self.existing) if delivered else []
        if self.removed and spec is not None and self.over_time:
            # F4: a removed obligation keeps what it earned through the removal date, nothing after
            self.kept_lines = _earned_by(self.existing, self.cut_off, effective, currency)
            through = sum((a for _p, a in self.kept_lines), ZERO)
        self.satisfied = round_money(through, currency)
        self.changed = bool(
            po
            and spec
            and (self.new_fixed != self.old_fixed or (po.start, po.end) != (spec["start"], spec["end"]))
        )
        self.partly_satisfied = bool(po and self.open and self.satisfied and self.over_time)


def _unchanged(st: _State) -> dict:
    return {
        "allocation": st.old_allocation,
        "lines": _pairs(st.existing),
        "adjustment": ZERO,
        "unchanged": True,
    }


def _closed_option(st: _State, currency: str) -> dict:
    """A satisfied obligation: unchanged, unless the amendment changed its own consideration (a
    concession on goods already delivered), which it takes at once (15.88). A removed obligation keeps
    only what it has satisfied (its lines through the cut-off); it is superseded when applied."""
    if st.removed:
        return {
            "allocation": st.satisfied,
            "lines": st.kept_lines,
            "adjustment": ZERO,
            "removed": True,
            "note": "removed: keeps what it earned through the removal date; the rest of its "
            "consideration goes to the remaining obligations (IFRS 15.21(a))",
        }
    if not st.po or st.new_fixed == st.old_fixed:
        return _unchanged(st)
    amount = st.old_allocation + st.new_fixed - st.old_fixed
    return {
        "allocation": amount,
        **_catch_up(st.spec, amount, st.existing, st.cut_off, currency),
        "note": "its own consideration changed; recognized at once (IFRS 15.88)",
    }


def _allocate_open(keys, weights, amount: Decimal, currency: str) -> dict[str, Decimal]:
    result = allocate(currency=currency, transaction_price=amount, lines=[weights[k] for k in keys])
    return {a.key: a.allocated for a in result}


def _at_ssp(spec: dict, contract: Contract, on: date) -> bool:
    """15.20: the price of goods added reflects their SSP as of the modification date (per unit)."""
    line = spec["lines"][-1]
    if spec["ssp_override"] is not None:
        return round_money(spec["ssp_override"], contract.currency) == round_money(
            spec["fixed"], contract.currency
        )
    entry = ssp_in_force(spec["product"], contract.currency, on)
    if entry is None:
        return True
    if line.billing == ContractLine.Billing.ONE_TIME:
        amount = line.amount if line.amount is not None else (line.unit_price or ZERO) * line.quantity
        own = Decimal(amount) / (line.quantity or 1)
    elif line.unit_price is not None:
        own = line.unit_price
    else:
        units = spec_units(spec, contract)
        own = Decimal(spec["fixed"]) / _dec(units) if units else ZERO
    if entry.ssp is not None:
        return abs(own - entry.ssp) < Decimal("0.005")
    low, high = entry.ssp_low, entry.ssp_high
    return (low is None or own >= low) and (high is None or own <= high)


def modification_analyze(*, contract: Contract) -> dict:
    """Every treatment's effect of the contract's latest amendment, and the one the standard requires
    (nothing saved). Each option keeps Σ allocations == the new transaction price."""
    currency = contract.currency
    specs = [s for s in obligation_specs(contract) if not s["variable"]]
    by_key = {s["key"]: s for s in specs}
    current = {po.key: po for po in active_obligations(contract) if not po.variable}
    effective = _effective(contract)
    mod_period = recognition.period_key(effective)
    keys = list(by_key) + [k for k in current if k not in by_key]
    gone = _removed_keys(contract)
    states = {
        k: _State(k, current.get(k), by_key.get(k), effective, mod_period, currency, removed=k in gone)
        for k in keys
    }
    # the transaction price includes the constrained variable consideration (§10a)
    price = sum((round_money(s["fixed"] + s.get("variable_amount", ZERO), currency) for s in specs), ZERO)
    added = [st for st in states.values() if st.po is None]
    changed = [st for st in states.values() if st.changed]
    removed = [st.key for st in states.values() if st.removed]

    options: dict[str, dict] = {}
    per_key: dict[str, dict] = {k: {} for k in keys}

    # -- separate contract (15.20) --
    if changed or removed or not added:
        options[T.SEPARATE] = {
            "applicable": False,
            "note": "Not only goods added: the amendment changes goods already in the contract."
            if (changed or removed)
            else "Nothing was added.",
        }
    else:
        options[T.SEPARATE] = {"applicable": True, "note": "Goods added are accounted for on their own."}
        for st in states.values():
            if st.po is None:
                per_key[st.key][T.SEPARATE] = {
                    "allocation": st.new_fixed,
                    **_prospective(st.spec, st.new_fixed, [], st.cut_off, currency),
                }
            else:
                per_key[st.key][T.SEPARATE] = _unchanged(st)

    # -- prospective (15.21(a)) and catch-up (15.21(b)) --
    closed = {st.key: _closed_option(st, currency) for st in states.values() if not st.open}
    open_states = [st for st in states.values() if st.open]
    kept = sum((o["allocation"] for o in closed.values()), ZERO)
    for treatment in (T.PROSPECTIVE, T.CATCH_UP):
        partial = sum((st.satisfied for st in open_states), ZERO) if treatment == T.PROSPECTIVE else ZERO
        remaining = price - kept - partial
        weights, sources = {}, {}
        for st in open_states:
            since = st.remaining_from if treatment == T.PROSPECTIVE else None
            line, source = spec_ssp_line(st.spec, contract, on=effective, since=since)
            weights[st.key], sources[st.key] = line, source[0]
        # A price change that what remains cannot absorb (nothing remains, or the price fell below
        # what is satisfied) is a change in the transaction price of satisfied goods: allocated over
        # them in proportion to their allocations and recognized at once (15.87–88).
        orphan = ZERO
        if remaining < 0 or (not open_states and remaining):
            orphan, remaining = remaining, ZERO
        targets = [k for k, o in closed.items() if not o.get("removed") and o["allocation"] > 0] or [
            k for k, o in closed.items() if o["allocation"] > 0 and states[k].spec is not None
        ]
        try:
            if orphan and not targets:
                raise AllocationError(f"Nothing can absorb the change in price of {orphan}.")
            shares = (
                _allocate_open([st.key for st in open_states], weights, remaining, currency)
                if open_states
                else {}
            )
        except AllocationError as exc:
            options[treatment] = {"applicable": False, "note": exc.message}
            continue
        options[treatment] = {
            "applicable": True,
            "remaining_consideration": remaining,
            "note": "",
        }
        for key, option in closed.items():
            per_key[key][treatment] = option
        if orphan:
            split = allocate(
                currency=currency,
                transaction_price=abs(orphan),
                lines=[AllocationLine(key=k, ssp=closed[k]["allocation"]) for k in targets],
            )
            for part in split:
                st = states[part.key]
                amount = closed[part.key]["allocation"] + (part.allocated if orphan > 0 else -part.allocated)
                per_key[part.key][treatment] = {
                    "allocation": amount,
                    **_catch_up(st.spec, amount, st.existing, st.cut_off, currency),
                    "absorbs_price_change": True,
                    "note": "the change in price falls on satisfied goods; recognized at once (IFRS 15.88)",
                }
            options[treatment]["note"] = f"{orphan} of the change in price falls on satisfied goods."
        for st in open_states:
            if treatment == T.PROSPECTIVE:
                amount = st.satisfied + shares[st.key]
                try:
                    option = _prospective(st.spec, amount, st.existing, st.cut_off, currency)
                except recognition.RecognitionError:
                    option = {
                        **_catch_up(st.spec, amount, st.existing, st.cut_off, currency),
                        "note": "no service period remains; caught up at once",
                    }
            else:
                amount = shares[st.key]
                option = _catch_up(st.spec, amount, st.existing, st.cut_off, currency)
            per_key[st.key][treatment] = {
                "allocation": amount,
                "remaining_ssp": weights[st.key].ssp,
                "ssp_source": sources[st.key],
                **option,
            }
    for treatment, option in options.items():
        if option["applicable"]:
            option["total"] = sum((per_key[k][treatment]["allocation"] for k in keys), ZERO)

    # -- what the standard requires --
    if added and not changed and not removed and all(_at_ssp(st.spec, contract, effective) for st in added):
        proposed, reason = (
            T.SEPARATE,
            "Only distinct goods were added, priced at their stand-alone selling price as of the "
            "modification date (IFRS 15.20): a separate contract.",
        )
    elif any(st.partly_satisfied and not st.spec["series"] for st in changed):
        names = ", ".join(st.key for st in changed if st.partly_satisfied and not st.spec["series"])
        proposed, reason = (
            T.CATCH_UP,
            f"The remaining goods are part of a single, partly satisfied performance obligation "
            f"({names}): cumulative catch-up (IFRS 15.21(b)).",
        )
    else:
        proposed, reason = (
            T.PROSPECTIVE,
            "The remaining goods are distinct from those already transferred (point-in-time goods "
            "or the remaining periods of a series): termination of the old contract and a new one, "
            "prospectively (IFRS 15.21(a)).",
        )
    if not options[proposed]["applicable"]:
        fallback = (
            next(t for t in (T.PROSPECTIVE, T.CATCH_UP) if options[t]["applicable"])
            if any(options[t]["applicable"] for t in (T.PROSPECTIVE, T.CATCH_UP))
            else proposed
        )
        reason += f" Not computable ({options[proposed]['note']}); proposing {fallback}."
        proposed = fallback

    rows = []
    for key in keys:
        st = states[key]
        spec = st.spec or {}
        chosen = per_key[key].get(proposed, {})
        rows.append(
            {
                "key": key,
                "product": spec["product"].code if spec else st.po.product.code,
                "method": spec.get("recognition") or st.po.recognition,
                "series": bool(spec.get("series")) if spec else st.po.series,
                "new": st.po is None,
                "removed": st.removed,
                "changed": st.changed,
                "satisfied": not st.open,
                "old_fixed_price": st.old_fixed,
                "new_fixed_price": st.new_fixed,
                "old_allocation": st.old_allocation,
                "new_allocation": chosen.get("allocation", st.old_allocation),
                "recognized_to_date": st.recognized,
                "satisfied_to_date": st.satisfied,
                "start": spec.get("start") if spec else st.po.start,
                "end": spec.get("end") if spec else st.po.end,
                "cut_off": st.cut_off,
                "options": per_key[key],
            }
        )
    return {
        "contract": contract.pk,
        "contract_version": contract.version,
        "effective_date": effective,
        "modification_period": mod_period,
        "transaction_price": {
            "from": sum((st.old_allocation for st in states.values() if st.po), ZERO),
            "to": price,
        },
        "proposed": proposed,
        "reason": reason,
        "treatments": options,
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
    pending = (
        ContractModification.objects.filter(
            contract=contract, status=ContractModification.Status.PENDING_APPROVAL
        )
        .exclude(contract_version=contract.version)
        .first()
    )
    if pending is not None:
        # F5: each modification keeps its own effective date. Folding a second amendment into one still
        # waiting would re-date the first (the combined analysis takes the later date), so the new
        # version is refused — this runs inline in the amendment's transaction, which rolls back.
        approval = Approval.objects.filter(
            kind=KIND,
            object_type="revrec.contractmodification",
            object_id=str(pending.pk),
            status=Approval.Status.PENDING,
        ).first()
        raise Conflict(
            f"Contract {contract.number}: the modification of version {pending.contract_version} "
            f"(effective {pending.effective_date}) waits for approval"
            f"{f' #{approval.pk}' if approval else ''}; approve or reject it before changing the "
            "contract again.",
            field="effective_date",
        )
    analysis = modification_analyze(contract=contract)
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
    option = (mod.analysis or {}).get("treatments", {}).get(treatment)
    if option is not None and not option.get("applicable", True):
        raise ValidationFailed(
            f"{treatment} does not apply to this modification: {option.get('note', '')}", field="treatment"
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
                actor=user, action="obligation.modified", obj=po, changes={"modification": mod.pk, **diff}
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
    register_approval_kind(
        KIND, on_approved=_apply, on_rejected=_reject, label="Contract modification", content=_content
    )
