"""Property (issue 13 acceptance, accounting.md §7 and §10): any random sequence of modifications on a
random contract, each signed off under any treatment that applies, keeps

* Σ allocations == the transaction price (invariant 1) and Σ schedule lines == allocation (invariant 2);
* recognized ≤ allocated per obligation from the modification's period on (invariant 5);
* history: no schedule line before the modification's period ever changes (closed periods never change);
* a satisfied obligation's allocation and schedule as they were — unless the amendment changed its own
  consideration (a concession on delivered goods), or the change in price cannot fall on anything that
  remains (it is then a change in the price of satisfied goods, IFRS 15.88). Only a cumulative
  catch-up inside a single partly satisfied obligation moves what that obligation has recognized.

Driven through the services (contract_amend → the modification → approval_decide), one database
savepoint per example."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from billing.contracts.models import Contract
from billing.contracts.services import contract_activate, contract_create
from revops.core.approvals.models import Approval
from revops.core.approvals.services import approval_decide
from revops.errors import DomainError
from revops.parties.models import Product
from revrec.models import ContractModification, PerformanceObligation, RevenueSchedule, SSPEntry
from revrec.recognition import period_key
from revrec.services.modifications import modification_choose
from revrec.services.schedules import schedule_decide, schedules_generate
from tests.builders import amend_approved

pytestmark = pytest.mark.django_db

START, END = date(2026, 1, 1), date(2027, 1, 1)
PRICES = st.integers(min_value=1, max_value=5000).map(lambda n: Decimal(n) * 10)
MONTH = st.integers(min_value=0, max_value=11)


def _month(i: int, day: int = 1) -> date:
    return date(2026 + i // 12, i % 12 + 1, day)


@st.composite
def lines(draw):
    out = []
    for i in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["recurring", "delivery", "project"]))
        key = f"l{i}"
        if kind == "recurring":
            out.append({"key": key, "product": "platform", "unit_price": str(draw(PRICES))})
        elif kind == "delivery":
            out.append(
                {
                    "key": key,
                    "product": "onboarding",
                    "billing": "one_time",
                    "quantity": str(draw(st.integers(min_value=1, max_value=50))),
                    "unit_price": str(draw(PRICES)),
                    "service_start": str(_month(draw(MONTH), draw(st.integers(1, 28)))),
                }
            )
        else:  # one obligation satisfied over time, not a series (a build project)
            first = draw(st.integers(min_value=0, max_value=9))
            out.append(
                {
                    "key": key,
                    "product": "seats",
                    "billing": "one_time",
                    "amount": str(draw(PRICES) * 10),
                    "recognition": "ratable_monthly",
                    "service_start": str(_month(first)),
                    "service_end": str(_month(draw(st.integers(min_value=first + 1, max_value=12)))),
                }
            )
    return out


@st.composite
def amendments(draw):
    steps = []
    month = 0
    for n in range(draw(st.integers(min_value=1, max_value=3))):
        if month >= 11:
            break
        month = draw(st.integers(min_value=month + 1, max_value=11))
        day = draw(st.sampled_from([1, 1, 15]))
        change = draw(st.sampled_from(["price", "amount", "add-delivery", "add-service", "remove", "extend"]))
        target = f"l{draw(st.integers(min_value=0, max_value=3))}"
        if change == "price":
            body = [{"line": target, "unit_price": str(draw(PRICES))}]
        elif change == "amount":
            body = [{"line": target, "amount": str(draw(PRICES) * 10)}]
        elif change == "add-delivery":
            body = [
                {
                    "add": {
                        "key": f"a{n}",
                        "product": "onboarding",
                        "billing": "one_time",
                        "quantity": str(draw(st.integers(min_value=1, max_value=30))),
                        "unit_price": str(draw(st.sampled_from([Decimal("95.00"), Decimal("80.00")]))),
                        "service_start": str(_month(draw(st.integers(month, 11)), 20)),
                    }
                }
            ]
        elif change == "add-service":
            body = [{"add": {"key": f"a{n}", "product": "platform", "unit_price": str(draw(PRICES))}}]
        elif change == "remove":
            body = [{"remove": target}]
        else:
            body = [{"line": target, "unit_price": str(draw(PRICES))}]
        treatment = draw(
            st.sampled_from(["proposed", "separate_contract", "prospective", "cumulative_catch_up"])
        )
        steps.append((_month(month, day), body, change == "extend", treatment))
    return steps


def _state(contract):
    out = {}
    for po in PerformanceObligation.objects.filter(contract=contract, status="active", variable=False):
        sched = po.schedules.get(status=RevenueSchedule.Status.APPROVED)
        out[po.key] = {
            "allocated": po.allocated_amount,
            "fixed": po.fixed_price,
            "lines": {ln.period: ln.amount for ln in sched.lines.all()},
        }
    return out


@settings(
    deadline=None,
    max_examples=25,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # shrinking a database example takes minutes
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(contract_lines=lines(), steps=amendments(), book=st.booleans())
def test_random_modifications_keep_the_invariants(make_user, catalog, contract_lines, steps, book):
    with transaction.atomic():
        _run(make_user, contract_lines, steps, book)
        transaction.set_rollback(True)


def _run(make_user, contract_lines, steps, book):
    from revops.parties.models import Customer

    approver = make_user(f"prop-approver-{Approval.objects.count()}-{id(steps)}", "approver")
    if book:  # unit SSPs, one changing mid-year (the entry in force at the modification date counts)
        for code, ssp, since in (
            ("onboarding", "100.00", "2025-01-01"),
            ("onboarding", "95.00", "2026-06-01"),
            ("platform", "120.00", "2025-01-01"),
        ):
            SSPEntry.objects.create(
                product=Product.objects.get(code=code),
                currency="USD",
                version=SSPEntry.objects.filter(product__code=code).count() + 1,
                effective_from=date.fromisoformat(since),
                ssp=Decimal(ssp),
                method="observable",
                status="approved",
            )
    if not Customer.objects.filter(external_id="prop").exists():
        from revops.parties.services.customers import customer_create

        customer_create(external_id="prop", name="Prop Co", currency="USD")
    contract = contract_create(
        customer="prop", currency="USD", start_date=START, end_date=END, lines=contract_lines
    )
    contract_activate(contract=contract)
    for sched in schedules_generate(contract=contract):
        schedule_decide(schedule=sched, user=approver, approve=True)
    for effective, changes, extend, treatment in steps:
        contract = Contract.objects.get(pk=contract.pk)
        before = _state(contract)
        mod_period = period_key(effective)
        try:
            with transaction.atomic():
                # a cut beyond the override threshold first waits for a second person, who approves it
                amend_approved(
                    contract=contract,
                    effective_date=effective,
                    changes=changes,
                    end_date=contract.end_date + timedelta(days=181) if extend else None,
                )
        except DomainError:
            continue  # not a valid amendment of this contract (a line not in service, say)
        mod = ContractModification.objects.get(contract=contract, contract_version=contract.version + 1)
        options = mod.analysis["treatments"]
        assert options[mod.proposed_treatment]["applicable"], (mod.reason, options, changes, contract_lines)
        if treatment != "proposed" and options[treatment]["applicable"]:
            modification_choose(modification=mod, treatment=treatment)
        mod.refresh_from_db()
        approval = Approval.objects.get(kind="contract_modification", object_id=str(mod.pk), status="pending")
        approval_decide(approval=approval, user=approver, approve=True)
        mod.refresh_from_db()
        assert mod.status == "applied"
        event(f"proposed {mod.proposed_treatment}, applied {mod.chosen_treatment}")
        contract = Contract.objects.get(pk=contract.pk)
        after = _state(contract)

        # Invariant 1 and 2.
        assert sum((po["allocated"] for po in after.values()), Decimal(0)) == contract.transaction_price
        for key, po in after.items():
            assert sum(po["lines"].values(), Decimal(0)) == po["allocated"], key
            # Invariant 5 from the modification's period on.
            running = sum((a for p, a in po["lines"].items() if p < mod_period), Decimal(0))
            for period in sorted(p for p in po["lines"] if p >= mod_period):
                running += po["lines"][period]
                assert running <= po["allocated"], (key, period)
        for key, old in before.items():
            new = after.get(key)
            if new is None:
                continue
            # History never changes.
            assert {p: a for p, a in new["lines"].items() if p < mod_period} == {
                p: a for p, a in old["lines"].items() if p < mod_period
            }, key
            satisfied = all(p < mod_period for p in old["lines"])
            row = next(r for r in mod.analysis["obligations"] if r["key"] == key)
            absorbs = row["options"][mod.chosen_treatment].get("absorbs_price_change")
            if satisfied and new["fixed"] == old["fixed"] and not absorbs:
                assert new["allocated"] == old["allocated"] and new["lines"] == old["lines"], key
            if mod.chosen_treatment != "cumulative_catch_up" and new["fixed"] == old["fixed"] and not absorbs:
                # Prospective / separate: what the schedule held before the modification is kept.
                kept = sum((a for p, a in old["lines"].items() if p < mod_period), Decimal(0))
                assert new["allocated"] >= kept, key
