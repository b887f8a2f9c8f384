"""Audit changes and stored field names read as finance words (issue 16 §8): a before → after table,
never a dict or JSON; "Tier 2 unit price", not "tiers[1].unit_amount"; "Sum of tokens", not "SUM OF A
PROPERTY"."""

from __future__ import annotations

from revops.core.audit.display import action_label, change_items, change_rows, path_label


def test_a_from_to_pair_is_one_row_with_both_sides_and_facts_have_only_an_after():
    table = change_rows(
        {"status": {"from": "draft", "to": "active"}, "transaction_price": "1305.41000", "version": 2}
    )
    assert table["rows"] == [
        {"field": "Status", "before": "draft", "after": "active"},
        {"field": "Transaction price", "before": None, "after": "1,305.41"},
        {"field": "Version", "before": None, "after": "2"},
    ]
    assert table["has_before"] and table["more"] == 0


def test_nested_records_spell_out_their_path_in_words_and_long_changes_are_cut():
    table = change_rows(
        {"changes": [{"key": "seats", "unit_amount": {"old": "6.50", "new": "6.00"}}], "tiers": {"up_to": 10}}
    )
    assert table["rows"] == [
        {"field": "Changes 1 · Key", "before": None, "after": "seats"},
        {"field": "Changes 1 · Unit price", "before": "6.50", "after": "6.00"},
        {"field": "Tiers · Up to", "before": None, "after": "10"},
    ]
    many = change_rows({f"field_{n}": n for n in range(20)})
    assert len(many["rows"]) == 14 and many["more"] == 6 and not many["has_before"]
    assert change_items({"total": {"from": "1.5", "to": "2"}}) == [("Total", "1.50 → 2")]
    assert change_rows({}) == {"rows": [], "has_before": False, "more": 0}


def test_field_paths_and_actions_read_as_words():
    assert path_label("tiers[1].unit_amount") == "tier 2 unit price"
    assert path_label("tiers[0].flat_amount") == "tier 1 flat fee"
    assert action_label("billing_run.completed") == "Billing run completed"


def test_a_meter_says_what_it_sums():
    from billing.models import Meter

    assert Meter(aggregation="sum", field="tokens").aggregation_label == "Sum of tokens"
    assert Meter(aggregation="max", field="active_seats").aggregation_label == "Maximum of active seats"
    assert Meter(aggregation="count").aggregation_label == "Count of events"


def test_a_tier_error_in_a_dimension_names_the_tier_and_the_price_in_words():
    from billing.catalog.forms.charge_editor import _json_path_label

    assert _json_path_label("[1].unit_amount") == "tier 2 unit price"
    assert _json_path_label("[2].up_to") == "tier 3 up to"
