"""Analysis of a contract's latest amendment under each treatment, side by side (accounting.md §10):
what each obligation is at the modification date (``_State``), the allocations of every treatment and
the one the standard requires. Nothing is saved."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing.contracts.models import Contract, ContractLine, ContractVersion
from revops.money import round_money
from revrec import recognition
from revrec.allocation import AllocationError, AllocationLine, allocate
from revrec.models import PerformanceObligation, RevenueSchedule
from revrec.services.input_progress import Progress, progress_of
from revrec.services.modifications.treatments import (
    RATABLE,
    ZERO,
    _catch_up,
    _closed_option,
    _earned_by,
    _pairs,
    _prospective,
    _removal,
    _satisfied_on,
    _shift,
    _unchanged,
)
from revrec.services.obligations import (
    _dec,
    active_obligations,
    obligation_specs,
    spec_ssp_line,
    spec_units,
    ssp_in_force,
)

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


def _effective(contract: Contract):
    latest = ContractVersion.objects.filter(contract=contract).order_by("-version").first()
    return latest.effective_date if latest else contract.start_date


def _removed_keys(contract: Contract) -> set[str]:
    """The lines the latest amendment removes (``{"remove": key}``): their obligations end there."""
    latest = ContractVersion.objects.filter(contract=contract).order_by("-version").first()
    if latest is None or latest.kind != "amendment":
        return set()
    return {c["line"] for c in latest.changes or [] if isinstance(c, dict) and c.get("removed")}


class _State:
    """One obligation key as the modification finds it: its PO (None if added), its new spec (None if
    removed), the live schedule, the cut-off month and what the schedule holds through it."""

    def __init__(self, key, po, spec, effective: date, mod_period: str, currency: str, removed=False):
        self.key, self.po, self.spec = key, po, spec
        # an input-method obligation's recorded costs (§10a): read here, used by the pure treatments
        measured = po is not None and (spec or {}).get("progress_measure") == "input"
        self.progress = progress_of(po) if measured else Progress(None, {})
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
        self.removal_adjustment = ZERO
        if self.removed and spec is not None and self.over_time:
            # F4: a removed obligation keeps what it earned through the removal date, nothing after
            # (a backdated removal reverses what posted months recognized beyond it)
            self.kept_lines, through, self.removal_adjustment = _removal(
                self.existing, self.cut_off, effective, currency
            )
        elif self.over_time and spec is not None and self.open and not measured:
            # day-exact (§3): an open one's satisfied part takes the days of the modification month
            # before its date
            self.kept_lines = _earned_by(self.existing, self.cut_off, effective, currency)
            through = sum((a for _p, a in self.kept_lines), ZERO)
            if any(p > self.cut_off for p, _a in self.kept_lines):
                self.remaining_from = effective
        self.satisfied = round_money(through, currency)
        self.changed = bool(
            po
            and spec
            and (self.new_fixed != self.old_fixed or (po.start, po.end) != (spec["start"], spec["end"]))
        )
        self.partly_satisfied = bool(po and self.open and self.satisfied and self.over_time)


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
                    **_catch_up(st.spec, amount, st.existing, st.cut_off, currency, st.progress),
                    "absorbs_price_change": True,
                    "note": "the change in price falls on satisfied goods; recognized at once (IFRS 15.88)",
                }
            options[treatment]["note"] = f"{orphan} of the change in price falls on satisfied goods."
        for st in open_states:
            if treatment == T.PROSPECTIVE:
                amount = st.satisfied + shares[st.key]
                try:
                    option = _prospective(
                        st.spec,
                        amount,
                        st.existing,
                        st.cut_off,
                        currency,
                        st.progress,
                        kept=st.kept_lines,
                        since=st.remaining_from,
                    )
                except recognition.RecognitionError:
                    option = {
                        **_catch_up(st.spec, amount, st.existing, st.cut_off, currency, st.progress),
                        "note": "no service period remains; caught up at once",
                    }
            else:
                amount = shares[st.key]
                option = _catch_up(
                    st.spec,
                    amount,
                    st.existing,
                    st.cut_off,
                    currency,
                    st.progress,
                    kept=st.kept_lines,
                    since=effective,
                )
            per_key[st.key][treatment] = {
                "allocation": amount,
                "remaining_ssp": weights[st.key].ssp,
                "ssp_source": sources[st.key],
                **option,
            }
    for column in per_key.values():  # amounts at the currency's minor unit ("0.00", not "0")
        for option in column.values():
            option["adjustment"] = round_money(Decimal(option.get("adjustment") or ZERO), currency)
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
                # a removed obligation is what it is — removed, having earned satisfied_to_date of
                # old_allocation — never "satisfied" (it may have been delivered only in part)
                "satisfied": not st.open and not st.removed,
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
