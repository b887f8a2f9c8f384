"""MRR movements and retention (issue 17 §6; accounting.md "Subscription metrics"), on the pure core
``revrec.reports.mrr``: one golden case per movement kind with exact figures, NRR/GRR golden numbers,
and a property — for random contract histories, every customer's and every month's opening +
movements = closing, and each kind only where its definition allows it."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from revrec.reports import mrr

D = Decimal
MONTHS = ["2026-01", "2026-02", "2026-03"]


def _moves(series, months=MONTHS, renewals=None):
    return mrr.movements(series, months, renewals=renewals)


def _only(move) -> dict:
    return {k: v for k, v in move.amounts.items() if v}


def test_new_is_the_first_mrr():
    moves = _moves({"acme": {"2026-02": {1: D("100.00")}}})
    assert moves["2026-02"][0].opening == 0 and moves["2026-02"][0].closing == D("100.00")
    assert _only(moves["2026-02"][0]) == {"new": D("100.00")}
    assert moves["2026-03"][0].amounts["churn"] == D("-100.00")  # gone at the end of March


def test_expansion_and_contraction_are_changes_of_a_paying_customer():
    moves = _moves(
        {"acme": {"2026-01": {1: D("100.00")}, "2026-02": {1: D("250.50")}, "2026-03": {1: D("80.25")}}}
    )
    assert _only(moves["2026-02"][0]) == {"expansion": D("150.50")}
    assert _only(moves["2026-03"][0]) == {"contraction": D("-170.25")}


def test_a_second_contract_is_expansion_and_ending_one_of_two_is_contraction_not_churn():
    moves = _moves(
        {
            "acme": {
                "2026-01": {1: D("300.00")},
                "2026-02": {1: D("300.00"), 2: D("50.00")},
                "2026-03": {2: D("50.00")},
            }
        }
    )
    assert _only(moves["2026-02"][0]) == {"expansion": D("50.00")}
    assert _only(moves["2026-03"][0]) == {"contraction": D("-300.00")}


def test_churn_is_to_zero_and_reactivation_is_back_after_churn():
    series = {"acme": {"2026-01": {1: D("60.00")}, "2026-03": {2: D("70.00")}}}
    moves = _moves(series)
    assert _only(moves["2026-02"][0]) == {"churn": D("-60.00")}
    assert _only(moves["2026-03"][0]) == {"reactivation": D("70.00")}


def test_reactivation_counts_churn_before_the_range():
    """The customer paid in 2025 and churned then: coming back in the range is a reactivation."""
    series = {"acme": {"2025-06": {1: D("10.00")}, "2026-02": {2: D("20.00")}}}
    assert _only(_moves(series)["2026-02"][0]) == {"reactivation": D("20.00")}


def test_renewal_uplift_is_the_change_of_the_renewed_chain_and_the_rest_is_expansion_or_contraction():
    series = {
        "acme": {
            "2026-01": {1: D("100.00"), 2: D("40.00")},
            "2026-02": {
                1: D("105.00"),
                2: D("30.00"),
            },  # chain 1 renewed with a 5 % uplift, chain 2 downsized
        }
    }
    moves = _moves(series, renewals={("acme", "2026-02"): [1]})
    assert _only(moves["2026-02"][0]) == {"renewal": D("5.00"), "contraction": D("-10.00")}
    down = _moves(
        {"acme": {"2026-01": {1: D("100.00")}, "2026-02": {1: D("90.00")}}},
        renewals={("acme", "2026-02"): [1]},
    )
    assert _only(down["2026-02"][0]) == {"renewal": D("-10.00")}  # a renewal at a lower price


def test_a_renewal_that_ends_the_customer_is_churn():
    moves = _moves({"acme": {"2026-01": {1: D("100.00")}}}, renewals={("acme", "2026-02"): [1]})
    assert _only(moves["2026-02"][0]) == {"churn": D("-100.00")}


def test_month_and_cohort_retention_golden_numbers():
    # Opening 1,200.00: A 500, B 500, C 200. February: A +50, C churns, D new 100.
    # March: A −50, C back at 200.
    series = {
        "a": {"2026-01": {1: D("500")}, "2026-02": {1: D("550")}, "2026-03": {1: D("500")}},
        "b": {"2026-01": {2: D("500")}, "2026-02": {2: D("500")}, "2026-03": {2: D("500")}},
        "c": {"2026-01": {3: D("200")}, "2026-03": {4: D("200")}},
        "d": {"2026-02": {5: D("100")}, "2026-03": {5: D("100")}},
    }
    moves = _moves(series)
    feb, mar = mrr.totals(moves["2026-02"]), mrr.totals(moves["2026-03"])
    assert (feb["opening"], feb["new"], feb["expansion"], feb["churn"], feb["closing"]) == (
        D("1200"),
        D("100"),
        D("50"),
        D("-200"),
        D("1150"),
    )
    assert mrr.month_retention(feb) == {"nrr": D("87.50"), "grr": D("83.33")}  # 1,050 / 1,200; 1,000 / 1,200
    assert (mar["contraction"], mar["reactivation"], mar["closing"]) == (D("-50"), D("200"), D("1300"))
    assert mrr.month_retention(mar) == {"nrr": D("95.65"), "grr": D("95.65")}  # 1,100 / 1,150
    opening = {c: sum(s.get("2026-01", {}).values(), D(0)) for c, s in series.items()}
    closing = {c: sum(s.get("2026-03", {}).values(), D(0)) for c, s in series.items()}
    assert mrr.cohort_retention(opening, closing) == {
        "customers": 3,
        "opening_mrr": D("1200"),
        "closing_mrr": D("1200"),  # D is not in the cohort; C came back
        "retained_mrr": D("1200"),
        "nrr": D("100.00"),
        "grr": D("100.00"),
    }
    # A cohort that expanded and lost: NRR above GRR, GRR capped per customer.
    assert mrr.cohort_retention(
        {"a": D("300"), "b": D("100"), "c": D("0")}, {"a": D("450"), "b": D("40"), "c": D("90")}
    ) == {
        "customers": 2,
        "opening_mrr": D("400"),
        "closing_mrr": D("490"),
        "retained_mrr": D("340"),
        "nrr": D("122.50"),
        "grr": D("85.00"),
    }
    assert mrr.month_retention(mrr.totals([]))["nrr"] is None  # nobody paying: no ratio


def test_percentages_round_half_up_to_two_places():
    assert mrr.percent(D("2"), D("3")) == D("66.67")
    assert mrr.percent(D("1"), D("8")) == D("12.50")
    assert mrr.percent(D("0.00125"), D("1")) == D("0.13")


# --- property: random contract histories ----------------------------------------------------------------

N_MONTHS = 14
ALL_MONTHS = [f"{2026 + i // 12}-{i % 12 + 1:02d}" for i in range(N_MONTHS)]
AMOUNT = st.integers(min_value=0, max_value=500_000).map(lambda n: D(n) / 100)


@st.composite
def histories(draw):
    """Customers with contracts: each runs from a start month to an end month (or on), starting at an
    amount and changed by amendments (any amount, zero included: a paused or free line), some renewed."""
    series: dict = {}
    renewals: dict = {}
    for customer in range(draw(st.integers(min_value=1, max_value=6))):
        by_month: dict = {}
        for chain in range(draw(st.integers(min_value=1, max_value=3))):
            start = draw(st.integers(min_value=0, max_value=N_MONTHS - 1))
            end = draw(st.integers(min_value=start, max_value=N_MONTHS))
            amount = draw(AMOUNT)
            changes = dict(draw(st.lists(st.tuples(st.integers(start, N_MONTHS), AMOUNT), max_size=3)))
            for index in range(start, end):
                amount = changes.get(index, amount)
                if amount:
                    by_month.setdefault(ALL_MONTHS[index], {})[chain] = amount
                if index in changes and draw(st.booleans()):
                    renewals.setdefault((customer, ALL_MONTHS[index]), []).append(chain)
        series[customer] = by_month
    return series, renewals


@settings(max_examples=300, deadline=None)
@given(history=histories(), first=st.integers(min_value=0, max_value=N_MONTHS - 2))
def test_opening_plus_movements_is_closing_for_random_contract_histories(history, first):
    series, renewals = history
    months = ALL_MONTHS[first:]
    moves = mrr.movements(series, months, renewals=renewals)

    def mrr_at(customer, month):
        return sum(series[customer].get(month, {}).values(), D(0))

    for previous, month in zip(months, months[1:], strict=False):
        total = mrr.totals(moves[month])
        assert total["opening"] == sum(mrr_at(c, previous) for c in series)
        assert total["closing"] == sum(mrr_at(c, month) for c in series)
        assert total["opening"] + sum(total[k] for k in mrr.KINDS) == total["closing"]
        for move in moves[month]:
            assert move.opening + sum(move.amounts.values()) == move.closing
            a = move.amounts
            assert a["new"] >= 0 and a["expansion"] >= 0 and a["reactivation"] >= 0
            assert a["contraction"] <= 0 and a["churn"] <= 0
            assert not (a["expansion"] and a["contraction"])
            if a["churn"]:
                assert move.closing == 0 and a["churn"] == -move.opening
            if a["new"] or a["reactivation"]:
                assert move.opening == 0
                earlier = [m for m in series[move.customer] if m < previous and mrr_at(move.customer, m) > 0]
                assert bool(a["reactivation"]) == bool(earlier)
            if a["renewal"]:
                assert (move.customer, month) in renewals
        retention = mrr.month_retention(total)
        if total["opening"]:
            assert retention["grr"] <= 100
            assert retention["grr"] <= retention["nrr"]  # NRR − GRR = expansion + any renewal uplift
